// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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

int nlreply_run(const void *buf, size_t len, uint16_t data_type, uint32_t seq, uint32_t portid,
		mnl_cb_t msg_cb, struct nlreply_status *status)
{
	mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nlreply_error_cb,
		[NLMSG_DONE] = nlreply_done_cb,
	};
	int ret;

	if (!buf && len)
		return -EINVAL;
	/* Headers are read in place, so the buffer must be aligned as the kernel's is. */
	if ((uintptr_t)buf % NLMSG_ALIGNTO)
		return -EINVAL;
	if (len > INT_MAX)
		return -EMSGSIZE;
	ret = nlreply_check_framing(buf, len, data_type);
	if (ret)
		return ret;
	status->err = 0;
	errno = 0;
	ret = mnl_cb_run2(buf, len, seq, portid, msg_cb, status, ctl_cb, MNL_ARRAY_SIZE(ctl_cb));
	if (ret == MNL_CB_STOP)
		return 0;
	if (ret > MNL_CB_STOP)
		return 1;
	if (status->err)
		return status->err;
	return errno ? -errno : -EBADMSG;
}

int nlreply_dump(int protocol, struct nlmsghdr *req, void *buf, size_t buf_size,
		 nlreply_parse_fn parse, void *arg)
{
	struct mnl_socket *nl = mnl_socket_open(protocol);
	uint32_t portid, seq = (uint32_t)time(NULL);
	ssize_t n;
	int ret;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);
	req->nlmsg_seq = seq; /* req may lie in buf, which the reply overwrites */
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, buf_size);
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		/* A reply that ends without NLMSG_DONE is cut short. */
		if (n == 0) {
			ret = -EBADMSG;
			goto cleanup;
		}
		ret = parse(buf, (size_t)n, seq, portid, arg);
	} while (ret == 1);
cleanup:
	mnl_socket_close(nl);
	return ret;
}
