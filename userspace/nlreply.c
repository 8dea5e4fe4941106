// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "nlreply.h"

/*
 * The buffer must be a whole number of aligned messages. mnl_nlmsg_ok() alone does not ensure
 * it: it compares nlmsg_len as an int, so a length of 2^31 or more passes, and mnl_cb_run()
 * stops quietly at a short tail. Only the types a dump of data_type can carry are accepted.
 */
int nlreply_check_framing(const void *buf, size_t len, uint16_t data_type)
{
	const struct nlmsghdr *nlh = buf;
	size_t left = len;

	while (left > 0) {
		if (!mnl_nlmsg_ok(nlh, (int)left) || nlh->nlmsg_len > left ||
		    nlh->nlmsg_len != MNL_ALIGN(nlh->nlmsg_len))
			return -EBADMSG;
		if (nlh->nlmsg_type != data_type && nlh->nlmsg_type != NLMSG_NOOP &&
		    nlh->nlmsg_type != NLMSG_ERROR && nlh->nlmsg_type != NLMSG_DONE)
			return -EBADMSG;
		/* Checked here: not every libmnl release checks it in mnl_cb_run(). */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			return -EINTR;
		left -= nlh->nlmsg_len;
		nlh = (const struct nlmsghdr *)((const char *)nlh + nlh->nlmsg_len);
	}
	return 0;
}

/* mnl_attr_parse() stops quietly at a bad attribute; insist that the attributes fill the tail. */
int nlreply_check_attrs(const struct nlmsghdr *nlh, unsigned int offset)
{
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);
	const struct nlattr *attr = mnl_nlmsg_get_payload_offset(nlh, offset);

	while (mnl_attr_ok(attr, tail - (const char *)attr))
		attr = mnl_attr_next(attr);
	return (const char *)attr == tail ? 0 : -EBADMSG;
}

int nlreply_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	struct nlreply_status *ctx = data;

	/* An acknowledgement (error 0) has no place in a dump; -error must not overflow. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err) || err->error >= 0 ||
	    err->error < -NLREPLY_MAX_ERRNO)
		ctx->err = -EBADMSG;
	else
		ctx->err = err->error;
	return MNL_CB_ERROR;
}

int nlreply_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlreply_status *ctx = data;
	int status;

	/* A dump that fails part way ends with NLMSG_DONE carrying the negative errno. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(status)) {
		ctx->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status == 0)
		return MNL_CB_STOP;
	ctx->err = status < 0 && status >= -NLREPLY_MAX_ERRNO ? status : -EBADMSG;
	return MNL_CB_ERROR;
}
