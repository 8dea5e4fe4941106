// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/build.c - pure message builders: the batch, the table, counters, sets and their elements.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"
#include "internal.h"

/* ---- builders ---- */

size_t nft_batch_size(const struct nft_state *c)
{
	/* Interval sets: two elements per uid range and port range, one more each. */
	size_t elems =
		c->n_owners + c->n_tunnel_ports + c->n_service_ports + 2 * (c->n_policy_ranges + 2);
	size_t msgs = elems / TG_NFT_ELEMS_PER_MSG + SET_COUNT + 1;

	return TG_NFT_MSG_MAX + TG_NFT_FIXED_BYTES + elems * TG_NFT_ELEM_BYTES + msgs * 256;
}

struct mnl_nlmsg_batch *nft_batch_start(void *buf, size_t size)
{
	if (!buf || size <= TG_NFT_MSG_MAX) {
		errno = EINVAL;
		return NULL;
	}
	return mnl_nlmsg_batch_start(buf, size - TG_NFT_MSG_MAX);
}

/* Commit the message just written at the batch's current position, if it fits. */
int nft_batch_commit(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	if (!mnl_nlmsg_batch_next(b))
		return -EMSGSIZE;
	(*seq)++;
	return 0;
}

struct nlmsghdr *nft_put_header(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags,
				uint32_t seq)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, TG_NFT_FAMILY,
				     flags | NLM_F_ACK, seq);
}

static int put_batch_marker(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type, uint32_t genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = *seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	return nft_batch_commit(b, seq);
}

int nft_put_begin(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t genid)
{
	return put_batch_marker(b, seq, NFNL_MSG_BATCH_BEGIN, genid);
}

int nft_put_end(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	return put_batch_marker(b, seq, NFNL_MSG_BATCH_END, 0);
}

/* A userdata buffer holding one comment, for a table, chain, set, counter or rule. */
struct nftnl_udata_buf *nft_comment_udata(uint8_t type, const char *comment, uint32_t byteorder)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

	if (!ud)
		return NULL;
	if ((byteorder &&
	     !nftnl_udata_put_u32(ud, 0 /* NFTNL_UDATA_SET_KEYBYTEORDER */, byteorder)) ||
	    !nftnl_udata_put_strz(ud, type, comment)) {
		nftnl_udata_buf_free(ud);
		return NULL;
	}
	return ud;
}

static int put_table_msg(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type, uint16_t flags,
			 const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *ud = NULL;
	int err = -ENOMEM;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, TG_NFT_TABLE_NAME) < 0)
		goto cleanup;
	if (comment) {
		ud = nft_comment_udata(NFTNL_UDATA_TABLE_COMMENT, comment, 0);
		if (!ud || nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
						nftnl_udata_buf_len(ud)) < 0)
			goto cleanup;
	}
	nftnl_table_nlmsg_build_payload(nft_put_header(b, type, flags, *seq), t);
	err = nft_batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_table_free(t);
	return err;
}

/* NEWTABLE without NLM_F_EXCL is a no-op on an existing table: with DELTABLE after it, the pair
 * deletes the table whether or not it existed, in a batch that cannot fail for its absence. */
static int put_table_delete(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	int err = put_table_msg(b, seq, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);

	return err ? err : put_table_msg(b, seq, NFT_MSG_DELTABLE, 0, NULL);
}

int nft_put_remove(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	return put_table_delete(b, seq);
}

static int put_counter(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *name,
		       const struct nft_counter *start, const char *comment)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nftnl_udata_buf *ud = nft_comment_udata(NFTNL_UDATA_OBJ_COMMENT, comment, 0);
	int err = -ENOMEM;

	if (!o || !ud)
		goto cleanup;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, TG_NFT_TABLE_NAME);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, start->packets);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, start->bytes);
	nftnl_obj_set_data(o, NFTNL_OBJ_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	if (!nftnl_obj_is_set(o, NFTNL_OBJ_NAME) || !nftnl_obj_is_set(o, NFTNL_OBJ_USERDATA))
		goto cleanup;
	nftnl_obj_nlmsg_build_payload(nft_put_header(b, NFT_MSG_NEWOBJ, NLM_F_CREATE, *seq), o);
	err = nft_batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_obj_free(o);
	return err;
}

static int put_set(struct mnl_nlmsg_batch *b, uint32_t *seq, enum nft_set_index i)
{
	const struct nft_set_spec *spec = &nft_sets[i];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud =
		nft_comment_udata(NFTNL_UDATA_SET_COMMENT, spec->comment, spec->byteorder);
	int err = -ENOMEM;

	if (!s || !ud || nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name) < 0 ||
	    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			       nftnl_udata_buf_len(ud)) < 0)
		goto cleanup;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, spec->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, spec->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, spec->key_len);
	nftnl_set_set_u32(s, NFTNL_SET_ID, nft_set_id(i));
	nftnl_set_nlmsg_build_payload(nft_put_header(b, NFT_MSG_NEWSET, NLM_F_CREATE, *seq), s);
	err = nft_batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
	return err;
}

/* One element of a set: its key and whether it ends an interval. */

/*
 * Put elements of set i, TG_NFT_ELEMS_PER_MSG to a message. by_id: the set is created in this
 * batch, so it is also named by its batch-local id (as nft does).
 */
static int put_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add, enum nft_set_index i,
		     const struct nft_elem *elems, size_t n, bool by_id)
{
	const struct nft_set_spec *spec = &nft_sets[i];

	for (size_t first = 0; first < n; first += TG_NFT_ELEMS_PER_MSG) {
		size_t last = first + TG_NFT_ELEMS_PER_MSG < n ? first + TG_NFT_ELEMS_PER_MSG : n;
		struct nftnl_set *s = nftnl_set_alloc();
		struct nlmsghdr *nlh;
		int err = -ENOMEM;

		if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME) < 0 ||
		    nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name) < 0)
			goto fail;
		if (by_id)
			nftnl_set_set_u32(s, NFTNL_SET_ID, nft_set_id(i));
		for (size_t k = first; k < last; k++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();

			if (!e)
				goto fail;
			nftnl_set_elem_add(s, e);
			if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, elems[k].key, spec->key_len) <
			    0)
				goto fail;
			if (elems[k].interval_end)
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
						       NFT_SET_ELEM_INTERVAL_END);
		}
		nlh = nft_put_header(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				     add ? NLM_F_CREATE : 0, *seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		err = nft_batch_commit(b, seq);
	fail:
		nftnl_set_free(s);
		if (err)
			return err;
	}
	return 0;
}

/* Put a sorted list of pair or port keys of the content into set i. */
static int put_content_set(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add, enum nft_set_index i,
			   const struct nft_state *c, bool by_id)
{
	struct nft_elem *elems;
	size_t n = 0, max;
	int err;

	max = i == SET_TUNNEL_PORTS    ? c->n_tunnel_ports
	      : i == SET_SERVICE_PORTS ? c->n_service_ports
				       : c->n_owners;
	if (max == 0)
		return 0;
	elems = calloc(max, sizeof(*elems));
	if (!elems)
		return -ENOMEM;
	if (i == SET_TUNNEL_PORTS || i == SET_SERVICE_PORTS) {
		const uint16_t *ports = i == SET_TUNNEL_PORTS ? c->tunnel_ports : c->service_ports;

		for (size_t k = 0; k < max; k++)
			nft_key_port(elems[n++].key, ports[k]);
	} else {
		for (size_t k = 0; k < max; k++)
			if (c->owners[k].tenant == (i == SET_OWNED))
				nft_key_pair(elems[n++].key, c->owners[k].uid, c->owners[k].port);
	}
	err = put_elems(b, seq, add, i, elems, n, by_id);
	free(elems);
	return err;
}

/* The sets that hold owners, in the order their elements go into a batch. */
static int put_owner_sets(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add,
			  const struct nft_state *c, bool by_id)
{
	int err = 0;

	for (int i = SET_OWNED; i <= SET_SERVICE_PORTS && !err; i++)
		err = put_content_set(b, seq, add, (enum nft_set_index)i, c, by_id);
	return err;
}

int nft_put_elements(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add,
		     const struct nft_state *content)
{
	if (!b || !seq || !content)
		return -EINVAL;
	return put_owner_sets(b, seq, add, content, false);
}

/* An inclusive range of uids or ports, wide enough to hold last + 1. */

static int range_cmp(const void *a, const void *b)
{
	const struct nft_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

/* Sort and merge overlapping or adjacent ranges in place; returns the new count. */
static size_t merge_ranges(struct nft_range *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].first <= r[out].last + 1) {
			if (r[i].last > r[out].last)
				r[out].last = r[i].last;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Tenant uid ranges minus exempt ones, sorted and merged: *out is malloc'd. */
static int tenant_ranges(const struct tg_policy *p, struct nft_range **out, size_t *n_out)
{
	struct tg_uid_range *r;
	size_t n;
	int err;

	for (uint32_t i = 0; i < p->n_tenant; i++)
		if (p->tenant[i].first > p->tenant[i].last)
			return -EINVAL;
	for (uint32_t i = 0; i < p->n_exempt; i++)
		if (p->exempt[i].first > p->exempt[i].last)
			return -EINVAL;
	err = policy_restricted(p, &r, &n);
	if (err)
		return err;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		(*out)[i] = (struct nft_range){ r[i].first, r[i].last };
	free(r);
	*n_out = merge_ranges(*out, n);
	return 0;
}

/*
 * Elements of an interval set, as nft writes them: an interval-end element at 0 when the first
 * range does not start there, then each range's start and, unless it reaches the top of the key
 * space, an end element one past its last value. Keys are in network byte order.
 */
static int put_intervals(struct mnl_nlmsg_batch *b, uint32_t *seq, enum nft_set_index i,
			 const struct nft_range *r, size_t n, uint64_t max)
{
	size_t key_len = nft_sets[i].key_len, count = 0;
	struct nft_elem *elems;
	int err;

	if (n == 0)
		return 0;
	elems = calloc(2 * n + 1, sizeof(*elems));
	if (!elems)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		uint64_t keys[2] = { r[k].first, r[k].last + 1 };

		if (k == 0 && r[k].first != 0)
			elems[count++].interval_end = true;
		for (int j = 0; j < 2; j++) {
			if (j == 1 && r[k].last >= max)
				break;
			if (key_len == 4) {
				uint32_t be = htonl((uint32_t)keys[j]);

				memcpy(elems[count].key, &be, sizeof(be));
			} else {
				uint16_t be = htons((uint16_t)keys[j]);

				memcpy(elems[count].key, &be, sizeof(be));
			}
			elems[count++].interval_end = j == 1;
		}
	}
	err = put_elems(b, seq, true, i, elems, count, true);
	free(elems);
	return err;
}

/* The allow rules as uid . port pairs (the BPF layer's tg_allow_rules, in nft). */
static int put_allowed(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p)
{
	size_t n = policy_allow_pairs(p), k = 0;
	struct nft_elem *elems;
	int err;

	if (n == 0)
		return 0;
	elems = calloc(n, sizeof(*elems));
	if (!elems)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n_allow_rule; i++)
		for (uint32_t port = p->allow_rule[i].first; port <= p->allow_rule[i].last; port++)
			nft_key_pair(elems[k++].key, p->allow_rule[i].uid, (uint16_t)port);
	err = put_elems(b, seq, true, SET_ALLOWED, elems, k, true);
	free(elems);
	return err;
}

static int check_policy(const struct tg_policy *p)
{
	if (p->mode != TG_MODE_ENFORCE && p->mode != TG_MODE_AUDIT)
		return -EINVAL;
	if (p->policy != TG_POLICY_ISOLATE && p->policy != TG_POLICY_STRICT)
		return -EINVAL;
	for (uint32_t i = 0; i < p->n_allow_port; i++)
		if (p->allow_port[i].first > p->allow_port[i].last)
			return -EINVAL;
	for (uint32_t i = 0; i < p->n_allow_rule; i++)
		if (p->allow_rule[i].first > p->allow_rule[i].last)
			return -EINVAL;
	return 0;
}

int nft_put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p,
		  const struct nft_state *c, const char *guard_id)
{
	struct nft_range *uids = NULL, *ports = NULL;
	size_t n_uids = 0, n_ports = 0;
	char comment[256]; /* the kernel keeps at most 256 bytes of table userdata */
	int err;

	if (!b || !seq || !p || !c)
		return -EINVAL;
	err = check_policy(p);
	if (!err)
		err = tenant_ranges(p, &uids, &n_uids);
	if (err)
		return err;
	ports = calloc(p->n_allow_port ? p->n_allow_port : 1, sizeof(*ports));
	if (!ports) {
		free(uids);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->n_allow_port; i++)
		ports[n_ports++] =
			(struct nft_range){ p->allow_port[i].first, p->allow_port[i].last };
	n_ports = merge_ranges(ports, n_ports);
	snprintf(comment, sizeof(comment), "tunnelguard: policy %s, mode %s%s%s",
		 p->policy == TG_POLICY_STRICT ? "strict" : "isolate",
		 p->mode == TG_MODE_AUDIT ? "audit" : "enforce",
		 guard_id && guard_id[0] ? TG_NFT_GUARD_MARK : "", guard_id ? guard_id : "");

	err = put_table_delete(b, seq);
	if (!err)
		err = put_table_msg(b, seq, NFT_MSG_NEWTABLE, NLM_F_CREATE, comment);
	if (!err)
		err = put_counter(b, seq, TG_NFT_COUNTER_OTHER_TENANT, &c->other_tenant,
				  "tenants' connection openings to another tenant's tunnel");
	if (!err)
		err = put_counter(b, seq, TG_NFT_COUNTER_SERVICE, &c->service,
				  "tenants' connection openings to a hub service (policy strict)");
	for (int i = 0; i < SET_COUNT && !err; i++)
		err = put_set(b, seq, (enum nft_set_index)i);
	if (!err)
		err = put_intervals(b, seq, SET_TENANT_UIDS, uids, n_uids, UINT32_MAX);
	if (!err)
		err = put_intervals(b, seq, SET_ALLOW_PORTS, ports, n_ports, UINT16_MAX);
	if (!err)
		err = put_owner_sets(b, seq, true, c, true);
	if (!err)
		err = put_allowed(b, seq, p);
	if (!err)
		err = nft_put_chain(b, seq);
	if (!err)
		err = nft_put_rules(b, seq, p);
	free(uids);
	free(ports);
	return err;
}
