// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag.c - the kernel's live TCP listeners, from NETLINK_SOCK_DIAG (inet_diag) over libmnl.
 *
 * diag_build_request() builds a dump request on a buffer, diag_parse() checks and parses one
 * buffer of the reply, and diag_dump_family() is the only code that owns a socket. The reply is
 * hostile input as far as the parser is concerned: every length is checked before it is used.
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

static int diag_attr_cb(const struct nlattr *attr, void *data)
{
	bool *v6only = data;

	if (mnl_attr_get_type(attr) != INET_DIAG_SKV6ONLY)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;
	*v6only = mnl_attr_get_u8(attr) != 0;
	return MNL_CB_OK;
}

static int diag_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	struct diag_parse_ctx *ctx = data;
	struct diag_listener l = {};

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg) ||
	    nlreply_check_attrs(nlh, sizeof(*msg)) < 0 ||
	    mnl_attr_parse(nlh, sizeof(*msg), diag_attr_cb, &l.v6only) < 0 ||
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
static int diag_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		      struct diag_list *out)
{
	mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nlreply_error_cb,
		[NLMSG_DONE] = nlreply_done_cb,
	};
	struct diag_parse_ctx ctx = { .out = out };
	size_t count;
	int ret;

	if (!out || (!buf && len))
		return -EINVAL;
	/* Headers are read in place, so the buffer must be aligned as the kernel's is. */
	if ((uintptr_t)buf % NLMSG_ALIGNTO)
		return -EINVAL;
	if (len > INT_MAX)
		return -EMSGSIZE;
	ret = nlreply_check_framing(buf, len, SOCK_DIAG_BY_FAMILY);
	if (ret)
		return ret;

	count = out->count;
	errno = 0;
	ret = mnl_cb_run2(buf, len, seq, portid, diag_msg_cb, &ctx, ctl_cb, MNL_ARRAY_SIZE(ctl_cb));
	if (ret == MNL_CB_STOP)
		return 0;
	if (ret > MNL_CB_STOP)
		return 1;
	out->count = count;
	if (ctx.status.err)
		return ctx.status.err;
	return errno ? -errno : -EBADMSG;
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

/* One dump on a fresh socket, so that a dump started over never reads the tail of the last. */
static int diag_dump_family(void *buf, uint8_t family, struct diag_list *out)
{
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint32_t seq, portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (uint32_t)time(NULL);
	nlh = diag_build_request(buf, family, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, DIAG_RECV_BUF_SIZE);
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		/* A reply that ends without NLMSG_DONE is cut short. */
		if (n == 0) {
			ret = -EBADMSG;
			goto cleanup;
		}
		ret = diag_parse(buf, n, seq, portid, out);
	} while (ret == 1);

cleanup:
	mnl_socket_close(nl);
	return ret;
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
