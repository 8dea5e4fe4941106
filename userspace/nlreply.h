// SPDX-License-Identifier: GPL-2.0-only
/*
 * nlreply.h - the checks every netlink dump parser here makes before it trusts a reply
 * (sock_diag in diag.c, rtnetlink in local_addrs.c), and the NLMSG_ERROR / NLMSG_DONE
 * callbacks for mnl_cb_run2(). A parser's callback data starts with struct nlreply_status, so
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

#endif /* TG_NLREPLY_H */
