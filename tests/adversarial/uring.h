// SPDX-License-Identifier: GPL-2.0-only
/*
 * uring.h - the least of io_uring an attacker needs, on raw syscalls (no liburing): a ring,
 * one request submitted, its completion awaited. Example:
 *	struct adv_uring r;
 *	struct io_uring_sqe sqe = { .opcode = IORING_OP_CONNECT, .fd = fd,
 *				    .addr = (uintptr_t)&sa, .off = sizeof(sa) };
 *	if (adv_uring_init(&r, 0) == 0)
 *		res = adv_uring_run(&r, &sqe);	(cqe->res: >= 0, or -errno)
 */
#ifndef TG_TEST_URING_H
#define TG_TEST_URING_H

#include <stddef.h>

#include <linux/io_uring.h>

struct adv_uring {
	int fd;
	unsigned int flags; /* IORING_SETUP_* */
	void *sq_ring, *cq_ring;
	size_t sq_ring_size, cq_ring_size;
	struct io_uring_sqe *sqes;
	size_t sqes_size;
	unsigned int *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

/* 0 or -errno (io_uring_setup's: EPERM when io_uring_disabled forbids it, ENOSYS). */
int adv_uring_init(struct adv_uring *r, unsigned int setup_flags);
/* Submit sqe, wait for its completion; cqe->res, or -errno when io_uring_enter failed. */
int adv_uring_run(struct adv_uring *r, const struct io_uring_sqe *sqe);
void adv_uring_exit(struct adv_uring *r);

#endif /* TG_TEST_URING_H */
