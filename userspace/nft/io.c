// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/io.c - the only code that owns a socket: queries, the cached batch socket, sending a batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "log.h"
#include "nft.h"
#include "internal.h"

/* ---- the socket ---- */

struct mnl_socket *nft_socket(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	struct timeval timeout = { .tv_sec = 5 };
	int one = 1, err;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	/* Errors name the failing attribute and do not echo the (possibly 64 KiB) message. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A kernel that never answers a query is an error, not a hang. */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return nl;
}

/*
 * Send one request and run data_cb over the reply, made of nf_tables messages of type
 * reply_msg (NFT_MSG_NEW...), until it is complete. 0 or -errno.
 */
static int nft_query(struct mnl_socket *nl, struct nlmsghdr *req, uint16_t reply_msg,
		     mnl_cb_t data_cb, struct parse_ctx *ctx)
{
	uint16_t data_type = NFNL_SUBSYS_NFTABLES << 8 | reply_msg;
	uint32_t buf[TG_NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	ssize_t n;
	int ret;

	req->nlmsg_pid = 0;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return -ETIMEDOUT;
		if (n < 0)
			return errno == ENOSPC ? -EMSGSIZE : -errno;
		ret = nft_parse_reply(buf, (size_t)n, data_type, data_cb, ctx);
		if (ret <= 0)
			return ret;
	}
}

uint32_t nft_next_seq(struct nft_handle *h)
{
	if (!h->seq)
		h->seq = (uint32_t)time(NULL);
	return h->seq += 1 << 20;
}

/* The header of a dump request of msg (NFT_MSG_GET...) for the guard's table family, in buf. */
static struct nlmsghdr *dump_header(struct nft_handle *h, char *buf, uint16_t msg)
{
	return nftnl_nlmsg_build_hdr(buf, msg, TG_NFT_FAMILY, NLM_F_DUMP, nft_next_seq(h));
}

static int query_genid(struct nft_handle *h, struct mnl_socket *nl, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, nft_next_seq(h));
	struct parse_ctx ctx = {};
	int err = nft_query(nl, nlh, NFT_MSG_NEWGEN, nft_gen_cb, &ctx);

	if (!err && !ctx.got)
		err = -EBADMSG;
	*genid = ctx.genid;
	return err;
}

static int query_table(struct nft_handle *h, struct mnl_socket *nl, struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct parse_ctx ctx = { .out = out };
	bool *present = &out->present;
	struct nlmsghdr *nlh;
	int err;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, TG_NFT_TABLE_NAME) < 0) {
		nftnl_table_free(t);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, TG_NFT_FAMILY, 0, nft_next_seq(h));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	err = nft_query(nl, nlh, NFT_MSG_NEWTABLE, nft_table_cb, &ctx);
	*present = err == 0 && ctx.got;
	return err == -ENOENT ? 0 : err;
}

static int query_elements(struct nft_handle *h, struct mnl_socket *nl, const char *set,
			  struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct parse_ctx ctx = { .set = set, .out = out };
	struct nlmsghdr *nlh;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nlh = dump_header(h, buf, NFT_MSG_GETSETELEM);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nft_query(nl, nlh, NFT_MSG_NEWSETELEM, nft_elements_cb, &ctx);
}

static int query_counters(struct nft_handle *h, struct mnl_socket *nl, struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct parse_ctx ctx = { .out = out };
	struct nlmsghdr *nlh;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, TG_NFT_TABLE_NAME);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = dump_header(h, buf, NFT_MSG_GETOBJ);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return nft_query(nl, nlh, NFT_MSG_NEWOBJ, nft_counters_cb, &ctx);
}

/*
 * Read the table as of one ruleset generation (*genid): the generation is read before and after,
 * and a read that straddles a change, or a dump the kernel marks interrupted, is redone.
 */
int nft_read_state(struct nft_handle *h, struct mnl_socket *nl, bool elements,
		   struct nft_state *out, uint32_t *genid)
{
	uint32_t after = 0;
	int err = -EINTR;

	for (int attempt = 0; attempt < TG_NFT_ATTEMPTS && err == -EINTR; attempt++) {
		nft_state_free(out);
		err = query_genid(h, nl, genid);
		if (!err)
			err = query_table(h, nl, out);
		for (int i = SET_TENANT_UIDS;
		     i <= SET_SERVICE_PORTS && elements && !err && out->present; i++)
			if (i != SET_ALLOW_PORTS)
				err = query_elements(h, nl, nft_sets[i].name, out);
		if (!err && out->present)
			err = query_counters(h, nl, out);
		if (!err)
			err = query_genid(h, nl, &after);
		if (!err && after != *genid)
			err = -EINTR;
		/* ENOENT from a dump: the table vanished meanwhile (read again), or a set is gone.
		 */
		if (err == -ENOENT && query_genid(h, nl, &after) == 0 && after != *genid)
			err = -EINTR;
	}
	if (err) {
		nft_state_free(out);
		return err;
	}
	nft_sort_content(out);
	return 0;
}

static void batch_socket_drop(struct nft_handle *h)
{
	if (h->batch_nl)
		mnl_socket_close(h->batch_nl);
	h->batch_nl = NULL;
}

void nft_handle_init(struct nft_handle *h, const char *pin_dir)
{
	size_t n;

	memset(h, 0, sizeof(*h));
	snprintf(h->guard_id, sizeof(h->guard_id), "%s", pin_dir ? pin_dir : "");
	n = strlen(h->guard_id);
	while (n > 1 && h->guard_id[n - 1] == '/')
		h->guard_id[--n] = '\0';
}

void nft_handle_close(struct nft_handle *h)
{
	if (h)
		batch_socket_drop(h);
}

/* A non-blocking socket with nothing left to read from an earlier batch, or NULL and errno. */
static struct mnl_socket *batch_socket(struct nft_handle *h)
{
	uint32_t junk[TG_NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	struct stat ns;
	bool here = stat("/proc/self/ns/net", &ns) == 0;

	if (h->batch_nl &&
	    (!here || h->batch_nl_pid != getpid() || h->batch_nl_netns_dev != ns.st_dev ||
	     h->batch_nl_netns_ino != ns.st_ino))
		batch_socket_drop(h);
	if (h->batch_nl) {
		/* Acks an earlier, failed batch left unread would be taken for this one's. */
		while (recv(mnl_socket_get_fd(h->batch_nl), junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		return h->batch_nl;
	}
	h->batch_nl = nft_socket();
	if (!h->batch_nl)
		return NULL;
	if (fcntl(mnl_socket_get_fd(h->batch_nl), F_SETFL, O_NONBLOCK) < 0) {
		int err = errno;

		batch_socket_drop(h);
		errno = err;
		return NULL;
	}
	h->batch_nl_pid = getpid();
	h->batch_nl_netns_dev = here ? ns.st_dev : 0;
	h->batch_nl_netns_ino = here ? ns.st_ino : 0;
	return h->batch_nl;
}

/* TUNNELGUARD_TEST_NFT_BATCH_MAX, or 0 when unset. */
static size_t test_batch_max(void)
{
	const char *v = getenv("TUNNELGUARD_TEST_NFT_BATCH_MAX");

	return v ? strtoul(v, NULL, 10) : 0;
}

int nft_batch_send(struct nft_handle *h, struct mnl_nlmsg_batch *b, char *why, size_t why_len)
{
	uint32_t reply[TG_NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	const void *buf = mnl_nlmsg_batch_head(b);
	size_t len = mnl_nlmsg_batch_size(b), expected = 0, acked = 0;
	const struct nlmsghdr *nlh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;
	struct mnl_socket *nl;
	int err = 0, size;
	ssize_t n;

	if (why && why_len)
		why[0] = '\0';
	/* Test hook: refuse batches over a byte count, as a kernel limit would (EMSGSIZE), so
	 * that the tests can prove a refused batch is split. */
	if (test_batch_max() && len > test_batch_max()) {
		if (why && why_len)
			snprintf(why, why_len,
				 "batch of %zu bytes refused: over TUNNELGUARD_TEST_NFT_BATCH_MAX",
				 len);
		return -EMSGSIZE;
	}
	while (mnl_nlmsg_ok(nlh, left)) {
		if (nlh->nlmsg_flags & NLM_F_ACK)
			expected++;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	nl = batch_socket(h);
	if (!nl) {
		err = -errno;
		if (why && why_len)
			snprintf(why, why_len, "cannot open a netfilter netlink socket: %s%s",
				 strerror(-err), err == -EPERM ? " (are you root?)" : "");
		return err;
	}
	/* The kernel takes the batch in one sendmsg and queues every ack before it returns. */
	size = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len + 4096;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	size = expected > (size_t)(INT_MAX / 2048) ? INT_MAX / 2 : (int)(expected * 1024 + 65536);
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (mnl_socket_sendto(nl, buf, len) < 0) {
		err = -errno;
		if (why && why_len)
			snprintf(why, why_len, "cannot send %zu bytes to nftables: %s", len,
				 strerror(-err));
		goto cleanup;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			err = -errno;
			if (why && why_len)
				snprintf(why, why_len,
					 "cannot read nftables' answer to the batch: %s%s",
					 strerror(-err),
					 err == -ENOBUFS ? " (acknowledgements were lost)" : "");
			goto cleanup;
		}
		err = nft_parse_acks(reply, (size_t)n, buf, len, &acked, why, why_len);
		if (err == -EBADMSG && why && why_len && !why[0])
			snprintf(why, why_len,
				 "nftables answered the batch with a malformed reply");
		if (err)
			goto cleanup;
	}
	if (acked != expected) {
		err = -EPROTO;
		if (why && why_len)
			snprintf(why, why_len,
				 "nftables acknowledged %zu of the %zu messages of the batch",
				 acked, expected);
	}
cleanup:
	/* A socket that lost acknowledgements or could not send starts afresh next time. */
	if (err && err != -ENOENT && err != -EEXIST && err != -ERESTART)
		batch_socket_drop(h);
	return err;
}

int nft_build_and_send_logged(struct nft_handle *h, size_t size, uint32_t genid, nft_put_fn put,
			      const void *arg, bool quiet)
{
	struct mnl_nlmsg_batch *b;
	char why[512] = "";
	uint32_t seq = nft_next_seq(h);
	void *buf = malloc(size);
	int err = -ENOMEM;

	if (!buf)
		return -ENOMEM;
	b = nft_batch_start(buf, size);
	if (b) {
		err = nft_put_begin(b, &seq, genid);
		if (!err)
			err = put(b, &seq, arg);
		if (!err)
			err = nft_put_end(b, &seq);
		if (err)
			pr_err("cannot build the nftables batch for table inet tunnelguard: %s\n",
			       strerror(-err));
		else
			err = nft_batch_send(h, b, why, sizeof(why));
		if (err && err != -ERESTART && why[0]) {
			if (quiet)
				pr_debug("%s\n", why);
			else
				pr_err("%s\n", why);
		}
		mnl_nlmsg_batch_stop(b);
	}
	free(buf);
	return err;
}

int nft_build_and_send(struct nft_handle *h, size_t size, uint32_t genid, nft_put_fn put,
		       const void *arg)
{
	return nft_build_and_send_logged(h, size, genid, put, arg, false);
}
