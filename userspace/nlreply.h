// SPDX-License-Identifier: GPL-2.0-only
/*
 * nlreply.h - the one netlink dump driver: the checks every dump parser here makes before it
 * trusts a reply (sock_diag in diag.c, rtnetlink in local_addrs.c), the NLMSG_ERROR /
 * NLMSG_DONE callbacks for mnl_cb_run2(), one buffer's run, and the socket that sends a dump
 * request and reads its reply. A parser's callback data starts with struct nlreply_status, so
 * these callbacks can report through it: { .err = -EPERM } after an NLMSG_ERROR of EPERM.
 */
#ifndef TG_NLREPLY_H
#define TG_NLREPLY_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* Largest errno a reply may carry; anything beyond is a malformed reply. */
#define NLREPLY_MAX_ERRNO 4095

struct nlreply_status {
	int err; /* -errno a callback stopped the run with; 0 when libmnl itself stopped it */
};

/*
 * Walk buf[0..len) message by message before libmnl does: every header must fit, be aligned
 * and lie within the buffer (mnl_nlmsg_ok() takes an int and stops quietly at a short tail), and
 * only data_type, NLMSG_NOOP, NLMSG_ERROR and NLMSG_DONE are accepted. 0, -EBADMSG, or -EINTR
 * for an interrupted dump (NLM_F_DUMP_INTR).
 */
int nlreply_check_framing(const void *buf, size_t len, uint16_t data_type);

/* mnl_attr_parse() stops quietly at a bad attribute: insist the attributes fill the tail. */
int nlreply_check_attrs(const struct nlmsghdr *nlh, unsigned int offset);

/* Callbacks for NLMSG_ERROR and NLMSG_DONE; data points at a struct nlreply_status. */
int nlreply_error_cb(const struct nlmsghdr *nlh, void *data);
int nlreply_done_cb(const struct nlmsghdr *nlh, void *data);

/*
 * Check and run one buffer of a dump of data_type (sequence seq from portid; 0 and 0 accept any)
 * through msg_cb, whose data starts with the struct nlreply_status at status: the alignment and
 * framing checks above, NLMSG_ERROR and NLMSG_DONE handled. 1 when more messages are expected,
 * 0 at NLMSG_DONE, or -errno (what a callback set, an NLMSG_ERROR's, or -EBADMSG). The caller
 * undoes what msg_cb added when it fails.
 */
int nlreply_run(const void *buf, size_t len, uint16_t data_type, uint32_t seq, uint32_t portid,
		mnl_cb_t msg_cb, struct nlreply_status *status);

/* Parse one buffer of a reply (seq and portid as above): 1 more expected, 0 done, -errno. */
typedef int (*nlreply_parse_fn)(const void *buf, size_t len, uint32_t seq, uint32_t portid,
				void *arg);

/*
 * One dump on a fresh socket of netlink protocol, so that a dump started over never reads the
 * tail of the last: req (its nlmsg_seq is set here) is sent, and every buffer of the reply, read
 * into buf (buf_size bytes, MNL_SOCKET_BUFFER_SIZE or more), goes to parse until it says done. A
 * reply that ends without NLMSG_DONE is -EBADMSG. 0 or -errno.
 */
int nlreply_dump(int protocol, struct nlmsghdr *req, void *buf, size_t buf_size,
		 nlreply_parse_fn parse, void *arg);

#endif /* TG_NLREPLY_H */
