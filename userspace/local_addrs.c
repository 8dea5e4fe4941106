// SPDX-License-Identifier: GPL-2.0-only
/*
 * local_addrs.c - the prefixes this host delivers locally, from an RTM_GETROUTE dump over libmnl.
 *
 * local_addrs_build_request() builds the dump request on a buffer, local_addrs_parse() parses
 * one buffer of the reply through nlreply_run() (which checks it first), and nlreply_dump() owns a
 * socket. Every length in the reply is checked before it is used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "local_addrs.h"
#include "nlreply.h"
#include "util.h"

/* Large enough for any skb the kernel builds for a dump, so recvmsg never sees MSG_TRUNC. */
#define LOCAL_ADDRS_RECV_BUF_SIZE 32768
/* A dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is started over this many times. */
#define LOCAL_ADDRS_DUMP_ATTEMPTS 3

struct local_addrs_parse_ctx {
	struct nlreply_status status; /* first: nlreply's callbacks report through it */
	struct local_addr_list *out;
};

static int local_addrs_append(struct local_addr_list *list, const struct tg_lpm_key *key)
{
	int err = util_grow((void **)&list->keys, &list->capacity, list->count + 1,
			    sizeof(*list->keys));

	if (err)
		return err;
	list->keys[list->count++] = *key;
	return 0;
}

void local_addrs_free(struct local_addr_list *list)
{
	if (!list)
		return;
	free(list->keys);
	list->keys = NULL;
	list->count = 0;
	list->capacity = 0;
}

static int local_addrs_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **dst = data;

	if (mnl_attr_get_type(attr) == RTA_DST)
		*dst = attr;
	return MNL_CB_OK;
}

/* The prefix of one IPv4 or IPv6 route as an LPM key; IPv4 is stored v4-mapped. */
static int local_addrs_route_key(const struct rtmsg *rtm, const struct nlattr *dst,
				 struct tg_lpm_key *key)
{
	size_t addr_len = rtm->rtm_family == AF_INET ? 4 : 16;

	if (rtm->rtm_dst_len > addr_len * 8)
		return -EBADMSG;
	/* The kernel leaves RTA_DST out only for a zero-length prefix. */
	if (dst && mnl_attr_validate2(dst, MNL_TYPE_BINARY, addr_len) < 0)
		return -EBADMSG;
	if (!dst && rtm->rtm_dst_len)
		return -EBADMSG;

	memset(key, 0, sizeof(*key));
	if (rtm->rtm_family == AF_INET6) {
		key->prefixlen = rtm->rtm_dst_len;
		if (dst)
			memcpy(key->ip, mnl_attr_get_payload(dst), addr_len);
	} else {
		key->prefixlen = 96 + rtm->rtm_dst_len;
		key->ip[2] = htonl(0xffff);
		if (dst)
			memcpy(&key->ip[3], mnl_attr_get_payload(dst), addr_len);
	}
	return 0;
}

static int local_addrs_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct local_addrs_parse_ctx *ctx = data;
	const struct nlattr *dst = NULL;
	struct tg_lpm_key key;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    nlreply_check_attrs(nlh, sizeof(*rtm)) < 0 ||
	    mnl_attr_parse(nlh, sizeof(*rtm), local_addrs_attr_cb, &dst) < 0) {
		ctx->status.err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	/* An AF_UNSPEC dump also brings multicast (RTNL_FAMILY_IPMR...) and MPLS routes. */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	ctx->status.err = local_addrs_route_key(rtm, dst, &key);
	if (ctx->status.err)
		return MNL_CB_ERROR;
	if (rtm->rtm_type != RTN_LOCAL)
		return MNL_CB_OK;
	ctx->status.err = local_addrs_append(ctx->out, &key);
	return ctx->status.err ? MNL_CB_ERROR : MNL_CB_OK;
}

/*
 * Parse one buffer of the reply to the dump with sequence number seq sent from portid (0 and 0
 * accept any). On error, out is left as it was.
 */
static int local_addrs_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *arg)
{
	struct local_addrs_parse_ctx ctx = { .out = arg };
	size_t count;
	int ret;

	if (!ctx.out)
		return -EINVAL;
	count = ctx.out->count;
	ret = nlreply_run(buf, len, RTM_NEWROUTE, seq, portid, local_addrs_msg_cb, &ctx.status);
	if (ret < 0)
		ctx.out->count = count;
	return ret;
}

int local_addrs_parse_reply(const void *buf, size_t len, struct local_addr_list *out)
{
	return local_addrs_parse(buf, len, 0, 0, out);
}

/* A dump request for every route of every table and family. buf needs MNL_SOCKET_BUFFER_SIZE. */
static struct nlmsghdr *local_addrs_build_request(void *buf, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	/*
	 * One AF_UNSPEC dump rather than one per family: a family the kernel lacks (IPv6 disabled)
	 * would fall back to AF_UNSPEC and bring the IPv4 routes twice.
	 */
	rtm->rtm_family = AF_UNSPEC;
	return nlh;
}

static int local_addrs_dump_once(void *buf, struct local_addr_list *out)
{
	return nlreply_dump(NETLINK_ROUTE, local_addrs_build_request(buf, 0), buf,
			    LOCAL_ADDRS_RECV_BUF_SIZE, local_addrs_parse, out);
}

int local_addrs_dump(struct local_addr_list *out)
{
	size_t count;
	int attempt, ret = 0;
	void *buf;

	if (!out)
		return -EINVAL;
	count = out->count;
	buf = malloc(LOCAL_ADDRS_RECV_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	for (attempt = 1; attempt <= LOCAL_ADDRS_DUMP_ATTEMPTS; attempt++) {
		ret = local_addrs_dump_once(buf, out);
		if (!ret)
			break;
		/* Partial results are dropped whatever the reason; only -EINTR is retried. */
		out->count = count;
		if (ret != -EINTR)
			break;
	}
	free(buf);
	return ret;
}
