// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag.c - the kernel's live TCP listeners, from NETLINK_SOCK_DIAG (inet_diag) over libmnl.
 *
 * diag_build_request() builds a dump request on a buffer, diag_parse() parses one buffer of the
 * reply through nlreply_run() (which checks it first), and nlreply_dump() owns the socket. The
 * reply is hostile input as far as the parser is concerned: every length is checked before it is
 * used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "diag.h"
#include "nlreply.h"
#include "util.h"

/* Large enough for any skb the kernel builds for a dump, so recvmsg never sees MSG_TRUNC. */
#define DIAG_RECV_BUF_SIZE 32768
/* A dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is started over this many times. */
#define DIAG_DUMP_ATTEMPTS 3

struct diag_parse_ctx {
	struct nlreply_status status; /* first: nlreply's callbacks report through it */
	struct diag_list *out;
};

static int diag_list_append(struct diag_list *list, const struct diag_listener *l)
{
	int err = util_grow((void **)&list->items, &list->capacity, list->count + 1,
			    sizeof(*list->items));

	if (err)
		return err;
	list->items[list->count++] = *l;
	return 0;
}

void diag_list_free(struct diag_list *list)
{
	if (!list)
		return;
	free(list->items);
	list->items = NULL;
	list->count = 0;
	list->capacity = 0;
}

/* INET_DIAG_CGROUP_ID (kernel 5.7), which the kernel adds unasked; older headers lack it. */
#define DIAG_ATTR_CGROUP_ID 21

static int diag_attr_cb(const struct nlattr *attr, void *data)
{
	struct diag_listener *l = data;

	if (mnl_attr_get_type(attr) == DIAG_ATTR_CGROUP_ID) {
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			return MNL_CB_ERROR;
		l->cgroup_id = mnl_attr_get_u64(attr);
		return MNL_CB_OK;
	}
	if (mnl_attr_get_type(attr) != INET_DIAG_SKV6ONLY)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;
	l->v6only = mnl_attr_get_u8(attr) != 0;
	return MNL_CB_OK;
}

static int diag_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	struct diag_parse_ctx *ctx = data;
	struct diag_listener l = {};

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg) ||
	    nlreply_check_attrs(nlh, sizeof(*msg)) < 0 ||
	    mnl_attr_parse(nlh, sizeof(*msg), diag_attr_cb, &l) < 0 ||
	    (msg->idiag_family != AF_INET && msg->idiag_family != AF_INET6)) {
		ctx->status.err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	/* The request asks for listeners only; anything else is not ours to report. */
	if (msg->idiag_state != TCP_LISTEN)
		return MNL_CB_OK;

	l.family = msg->idiag_family;
	if (l.family == AF_INET) {
		l.ip[0] = msg->id.idiag_src[0];
		l.v6only = false;
	} else {
		memcpy(l.ip, msg->id.idiag_src, sizeof(l.ip));
	}
	l.port = ntohs(msg->id.idiag_sport);
	l.uid = msg->idiag_uid;
	l.inode = msg->idiag_inode;
	l.ifindex = msg->id.idiag_if;
	ctx->status.err = diag_list_append(ctx->out, &l);
	return ctx->status.err ? MNL_CB_ERROR : MNL_CB_OK;
}

/*
 * Parse one buffer of the reply to the dump with sequence number seq sent from portid (0 and 0
 * accept any). On error, out is left as it was.
 */
static int diag_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *arg)
{
	struct diag_parse_ctx ctx = { .out = arg };
	size_t count;
	int ret;

	if (!ctx.out)
		return -EINVAL;
	count = ctx.out->count;
	ret = nlreply_run(buf, len, SOCK_DIAG_BY_FAMILY, seq, portid, diag_msg_cb, &ctx.status);
	if (ret < 0)
		ctx.out->count = count;
	return ret;
}

int diag_parse_reply(const void *buf, size_t len, struct diag_list *out)
{
	return diag_parse(buf, len, 0, 0, out);
}

/* A dump request for the TCP listeners of one family. buf needs MNL_SOCKET_BUFFER_SIZE bytes. */
static struct nlmsghdr *diag_build_request(void *buf, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1U << TCP_LISTEN;
	/* No idiag_ext bits: the kernel adds INET_DIAG_SKV6ONLY to every IPv6 listener unasked. */
	return nlh;
}

static int diag_dump_family(void *buf, uint8_t family, struct diag_list *out)
{
	return nlreply_dump(NETLINK_SOCK_DIAG, diag_build_request(buf, family, 0), buf,
			    DIAG_RECV_BUF_SIZE, diag_parse, out);
}

int diag_dump_listeners(struct diag_list *out)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	size_t count0, count;
	int attempt, ret = 0;
	void *buf;
	size_t i;

	if (!out)
		return -EINVAL;
	count0 = out->count;
	buf = malloc(DIAG_RECV_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < MNL_ARRAY_SIZE(families); i++) {
		count = out->count;
		for (attempt = 1; attempt <= DIAG_DUMP_ATTEMPTS; attempt++) {
			ret = diag_dump_family(buf, families[i], out);
			if (ret != -EINTR)
				break;
			out->count = count;
		}
		if (ret)
			goto cleanup;
	}

cleanup:
	if (ret)
		out->count = count0;
	free(buf);
	return ret;
}

/*
 * How well l matches d, as the kernel's listener lookup ranks sockets: it first looks for the
 * exact address and only then for the wildcard, and at equal footing an AF_INET socket scores
 * one more than an AF_INET6 one (compute_score() in net/ipv4/inet_hashtables.c). 0: no match.
 */
static int diag_score(const struct diag_listener *l, const struct tg_dest *d)
{
	if (l->port != d->port || l->ifindex != 0)
		return 0;

	if (d->family == TG_AF_INET && l->family == AF_INET) {
		if (l->ip[0] == d->ip[0])
			return 5;
		return l->ip[0] == 0 ? 3 : 0;
	}
	if (d->family == TG_AF_INET && l->family == AF_INET6) {
		/* An IPv4 lookup finds an IPv6 socket only when it is not v6only. */
		if (l->v6only)
			return 0;
		/* Bound to ::ffff:a.b.c.d, the socket holds a.b.c.d as its IPv4 address. */
		if (tg_ip6_is_v4mapped(l->ip)) {
			if (l->ip[3] == d->ip[0])
				return 4;
			return l->ip[3] == 0 ? 2 : 0;
		}
		return tg_ip6_is_any(l->ip) ? 2 : 0;
	}
	if (d->family == TG_AF_INET6 && l->family == AF_INET6) {
		if (!memcmp(l->ip, d->ip, sizeof(l->ip)))
			return 4;
		return tg_ip6_is_any(l->ip) ? 2 : 0;
	}
	return 0;
}

const struct diag_listener *diag_select_listener(const struct diag_list *list,
						 const struct tg_dest *d)
{
	const struct diag_listener *best = NULL;
	int score, best_score = 0;
	size_t i;

	if (!list || !d) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < list->count; i++) {
		score = diag_score(&list->items[i], d);
		if (score > best_score) {
			best = &list->items[i];
			best_score = score;
		}
	}
	if (!best)
		errno = ENOENT;
	return best;
}
