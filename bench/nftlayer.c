// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nftlayer.h"
#include "util.h"

/* A batch of three small messages; nft_batch_start() wants room for one TG_NFT_MSG_MAX beyond. */
#define SWITCH_BATCH_SIZE (TG_NFT_MSG_MAX + 4096)

static void record(uint32_t *samples, unsigned int *n, uint64_t start)
{
	uint64_t us = (now_ns() - start) / 1000;

	if (*n < NFTLAYER_MAX_TIMED)
		samples[*n] = us < UINT32_MAX ? (uint32_t)us : UINT32_MAX;
	(*n)++;
}

/* The header of the batch's next message (its payload is built after it). 0 or -errno. */
static int put_message(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags, uint32_t *seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFPROTO_INET,
						     flags | NLM_F_ACK, (*seq)++);

	return nlh ? 0 : -EMSGSIZE;
}

/*
 * Set or clear the dormant flag of table inet name, in one batch; *state follows it. The batch
 * is timed into l's samples like every switch. 0 or -errno with the reason printed.
 */
static int set_table(struct nftlayer *l, const char *name, bool active, bool *state)
{
	static char buf[SWITCH_BATCH_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct mnl_nlmsg_batch *b = NULL;
	uint64_t start = now_ns();
	uint32_t seq = (uint32_t)start;
	char why[256] = "";
	int err = -ENOMEM;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0)
		goto cleanup;
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, active ? 0 : NFT_TABLE_F_DORMANT);
	b = nft_batch_start(buf, sizeof(buf));
	if (!b) {
		err = -errno;
		goto cleanup;
	}
	err = nft_put_begin(b, &seq, 0);
	if (err)
		goto cleanup;
	/* No NLM_F_CREATE: an update of the existing table, ENOENT when it is gone. */
	nftnl_table_nlmsg_build_payload(nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
							      NFT_MSG_NEWTABLE, NFPROTO_INET,
							      NLM_F_ACK, seq),
					t);
	if (!mnl_nlmsg_batch_next(b)) {
		err = -EMSGSIZE;
		goto cleanup;
	}
	seq++;
	err = nft_put_end(b, &seq);
	if (!err)
		err = nft_batch_send(&l->handle, b, why, sizeof(why));
	if (!err) {
		if (active != *state)
			record(l->change_us, &l->nchange, start);
		else
			record(l->same_us, &l->nsame, start);
		*state = active;
	}
cleanup:
	if (err)
		fprintf(stderr, "tg-bench: cannot %s table inet %s: %s\n",
			active ? "wake" : "make dormant", name, why[0] ? why : strerror(-err));
	if (b)
		mnl_nlmsg_batch_stop(b);
	nftnl_table_free(t);
	return err;
}

int nftlayer_set_active(struct nftlayer *l, bool active)
{
	return set_table(l, TG_NFT_TABLE_NAME, active, &l->active);
}

int nftlayer_set_empty_active(struct nftlayer *l, bool active)
{
	return l->empty_made ? set_table(l, NFTLAYER_EMPTY_TABLE, active, &l->empty_active) : 0;
}

int nftlayer_make_empty(struct nftlayer *l)
{
	static char buf[SWITCH_BATCH_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct mnl_nlmsg_batch *b = NULL;
	uint32_t seq = (uint32_t)now_ns();
	char why[256] = "";
	int err = -ENOMEM;

	if (!t || !c || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFTLAYER_EMPTY_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFTLAYER_EMPTY_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "output") < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, NFTLAYER_EMPTY_CHAIN_TYPE) < 0)
		goto cleanup;
	/* Made dormant, as the real table is between its slots. */
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_DORMANT);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NFTLAYER_EMPTY_CHAIN_HOOK);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFTLAYER_EMPTY_CHAIN_PRIO);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	b = nft_batch_start(buf, sizeof(buf));
	if (!b) {
		err = -errno;
		goto cleanup;
	}
	err = nft_put_begin(b, &seq, 0);
	if (!err)
		err = put_message(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, &seq);
	if (err)
		goto cleanup;
	nftnl_table_nlmsg_build_payload(mnl_nlmsg_batch_current(b), t);
	if (!mnl_nlmsg_batch_next(b) ||
	    put_message(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, &seq)) {
		err = -EMSGSIZE;
		goto cleanup;
	}
	nftnl_chain_nlmsg_build_payload(mnl_nlmsg_batch_current(b), c);
	if (!mnl_nlmsg_batch_next(b)) {
		err = -EMSGSIZE;
		goto cleanup;
	}
	err = nft_put_end(b, &seq);
	if (!err)
		err = nft_batch_send(&l->handle, b, why, sizeof(why));
	if (!err)
		l->empty_made = true;
cleanup:
	if (err)
		fprintf(stderr, "tg-bench: cannot create table inet %s: %s\n", NFTLAYER_EMPTY_TABLE,
			why[0] ? why : strerror(-err));
	if (b)
		mnl_nlmsg_batch_stop(b);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	return err;
}

static int element_cb(const struct nlmsghdr *nlh, void *data)
{
	bool *present = data;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM)
		*present = true;
	return MNL_CB_OK;
}

static int open_socket(struct nftlayer *l)
{
	struct timeval timeout = { .tv_sec = 1 };

	if (l->nl)
		return 0;
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!l->nl)
		return -errno;
	if (mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(l->nl);
		l->nl = NULL;
		return err;
	}
	setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return 0;
}

int nftlayer_has_owner(struct nftlayer *l, uint32_t uid, uint16_t port, bool *present)
{
	static uint32_t seq;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = NULL;
	struct nftnl_set_elem *e;
	struct nlmsghdr *nlh;
	uint8_t key[8] = { 0 };
	uint16_t be = htons(port);
	ssize_t n;
	int err, ret;

	*present = false;
	err = open_socket(l);
	if (err)
		return err;
	s = nftnl_set_alloc();
	e = nftnl_set_elem_alloc();
	if (!s || !e) {
		nftnl_set_free(s);
		nftnl_set_elem_free(e);
		return -ENOMEM;
	}
	/* `meta skuid . tcp dport`: uid in host order, port in network order, each in 4 bytes. */
	memcpy(key, &uid, sizeof(uid));
	memcpy(key + 4, &be, sizeof(be));
	nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "owned");
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
	nftnl_set_elem_add(s, e);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, ++seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(l->nl, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(l->nl), element_cb,
				 present);
	} while (ret > MNL_CB_STOP);
	if (ret == MNL_CB_ERROR)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

void nftlayer_close(struct nftlayer *l)
{
	if (l->nl)
		mnl_socket_close(l->nl);
	l->nl = NULL;
	nft_handle_close(&l->handle);
}

static double sys_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

int nftlayer_time_apply(struct nftlayer *l, const struct tg_policy *policy,
			const struct nft_owner *owners, size_t n, struct nft_timing *out)
{
	double s0 = sys_ms();
	uint64_t t0 = now_ns();
	int err = nft_apply(&l->handle, policy, owners, n);

	out->wall_ms = (double)(now_ns() - t0) / 1e6;
	out->sys_ms = sys_ms() - s0;
	if (err)
		fprintf(stderr, "tg-bench: nft_apply() of %zu owners failed: %s\n", n,
			strerror(-err));
	return err;
}

int nftlayer_time_update(struct nftlayer *l, const struct nft_owner *add, size_t nadd,
			 const struct nft_owner *del, size_t ndel, struct nft_timing *out)
{
	double s0 = sys_ms();
	uint64_t t0 = now_ns();
	int err = nft_update_owners(&l->handle, add, nadd, del, ndel);

	out->wall_ms = (double)(now_ns() - t0) / 1e6;
	out->sys_ms = sys_ms() - s0;
	if (err)
		fprintf(stderr, "tg-bench: nft_update_owners() failed: %s\n", strerror(-err));
	return err;
}

void nftlayer_synthetic_owners(struct nft_owner *out, size_t keep, size_t n, uint32_t first_uid,
			       unsigned int nuids)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[keep + i] = (struct nft_owner){ .uid = first_uid + (uint32_t)(i % nuids),
						    .port = (uint16_t)(1024 + i / nuids),
						    .tenant = true };
}
