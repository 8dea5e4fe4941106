// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

static int uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int uring_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		       unsigned int flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

int adv_uring_init(struct adv_uring *r, unsigned int setup_flags)
{
	struct io_uring_params p = { .flags = setup_flags, .sq_thread_idle = 1000 };
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = uring_setup(4, &p);
	if (r->fd < 0)
		return -errno;
	r->flags = setup_flags;
	r->sq_ring_size = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_ring_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq_ring = mmap(NULL, r->sq_ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  r->fd, IORING_OFF_SQ_RING);
	r->cq_ring = mmap(NULL, r->cq_ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (r->sq_ring == MAP_FAILED || r->cq_ring == MAP_FAILED || r->sqes == MAP_FAILED) {
		err = -errno;
		adv_uring_exit(r);
		return err;
	}
	r->sq_tail = (unsigned int *)((char *)r->sq_ring + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq_ring + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_ring + p.sq_off.array);
	r->sq_flags = (unsigned int *)((char *)r->sq_ring + p.sq_off.flags);
	r->cq_head = (unsigned int *)((char *)r->cq_ring + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_ring + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq_ring + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_ring + p.cq_off.cqes);
	return 0;
}

int adv_uring_run(struct adv_uring *r, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *r->sq_tail, head, index = tail & *r->sq_mask;
	unsigned int flags = IORING_ENTER_GETEVENTS;
	struct io_uring_cqe *cqe;
	int res;

	r->sqes[index] = *sqe;
	r->sq_array[index] = index;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (r->flags & IORING_SETUP_SQPOLL)
		flags |= IORING_ENTER_SQ_WAKEUP; /* the SQ thread submits; we only wait */
	for (;;) {
		head = *r->cq_head;
		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
			break;
		if (uring_enter(r->fd, 1, 1, flags) < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EBUSY)
			return -errno;
	}
	cqe = &r->cqes[head & *r->cq_mask];
	res = cqe->res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

void adv_uring_exit(struct adv_uring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_size);
	if (r->cq_ring && r->cq_ring != MAP_FAILED)
		munmap(r->cq_ring, r->cq_ring_size);
	if (r->sq_ring && r->sq_ring != MAP_FAILED)
		munmap(r->sq_ring, r->sq_ring_size);
	if (r->fd > 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
}
