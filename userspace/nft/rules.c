// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/rules.c - the rule compiler: the chain and its rules for a policy, and the whole table.
 */
#include <arpa/inet.h>
#include <errno.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "internal.h"

/* ---- rules ---- */

struct rule_builder {
	struct nftnl_rule *rule;
	bool failed;
};

static void add_expr(struct rule_builder *rb, struct nftnl_expr *e)
{
	if (!e)
		rb->failed = true;
	else
		nftnl_rule_add_expr(rb->rule, e);
}

static struct nftnl_expr *expr_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_bitwise_u8(uint8_t mask)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint8_t zero = 0;

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1) < 0 ||
	    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

/* Interval sets hold keys in network order; meta skuid is in host order. */
static struct nftnl_expr *expr_hton32(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("byteorder");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	}
	return e;
}

static struct nftnl_expr *expr_lookup(enum nft_set_index i, bool invert)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, nft_set_id(i));
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_sets[i].name) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_accept(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
	return e;
}

static struct nftnl_expr *expr_counter_ref(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_reset(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
	}
	return e;
}

static struct nftnl_expr *expr_log(const char *prefix)
{
	struct nftnl_expr *e = nftnl_expr_alloc("log");

	if (e && nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

/* `meta l4proto tcp`: the dependency nft itself puts before `tcp ...`, so it prints them so. */
static void add_tcp_dependency(struct rule_builder *rb)
{
	uint8_t tcp = IPPROTO_TCP;

	add_expr(rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(rb, expr_cmp(NFT_CMP_EQ, &tcp, sizeof(tcp)));
}

/* Start a rule; a failure is recorded in rb and reported by rule_put(). */
static void rule_start(struct rule_builder *rb, const char *comment)
{
	struct nftnl_udata_buf *ud = nft_comment_udata(NFTNL_UDATA_RULE_COMMENT, comment, 0);

	rb->failed = false;
	rb->rule = nftnl_rule_alloc();
	if (!ud || !rb->rule ||
	    nftnl_rule_set_str(rb->rule, NFTNL_RULE_TABLE, TG_NFT_TABLE_NAME) < 0 ||
	    nftnl_rule_set_str(rb->rule, NFTNL_RULE_CHAIN, TG_NFT_CHAIN_NAME) < 0 ||
	    nftnl_rule_set_data(rb->rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				nftnl_udata_buf_len(ud)) < 0)
		rb->failed = true;
	nftnl_udata_buf_free(ud);
}

static int rule_put(struct mnl_nlmsg_batch *b, uint32_t *seq, struct rule_builder *rb)
{
	int err = -ENOMEM;

	if (!rb->failed) {
		nftnl_rule_nlmsg_build_payload(
			nft_put_header(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, *seq),
			rb->rule);
		err = nft_batch_commit(b, seq);
	}
	nftnl_rule_free(rb->rule);
	rb->rule = NULL;
	return err;
}

/* `meta l4proto . tcp dport @set counter name ... reject with tcp reset` (or log, accept). */
static int put_deny_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, bool audit,
			 enum nft_set_index set, const char *counter, const char *comment)
{
	struct rule_builder rb;

	rule_start(&rb, comment);
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG32_01));
	add_expr(&rb, expr_lookup(set, false));
	add_expr(&rb, expr_counter_ref(counter));
	if (audit) {
		add_expr(&rb, expr_log(TG_NFT_AUDIT_PREFIX));
		add_expr(&rb, expr_accept());
	} else {
		add_expr(&rb, expr_reset());
	}
	return rule_put(b, seq, &rb);
}

/*
 * The chain, in the order that lets the common packets out first: anything not on lo (the
 * only way to the host's own addresses), then established traffic and replies (which, from a
 * tenant's listener, carry the tenant's uid), then non-TCP, then non-tenants.
 */

int nft_put_rules(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p)
{
	bool audit = p->mode == TG_MODE_AUDIT;
	uint32_t lo = LOOPBACK_IFINDEX;
	uint8_t tcp = IPPROTO_TCP, syn = TCP_FLAG_SYN;
	struct rule_builder rb;
	int err;

	rule_start(&rb, "not to this host: local destinations go through lo");
	add_expr(&rb, expr_meta(NFT_META_OIF, NFT_REG_1));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &lo, sizeof(lo)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "not a connection opening: only SYN without ACK is judged");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_payload(TCP_FLAGS_OFFSET, 1, NFT_REG_1));
	add_expr(&rb, expr_bitwise_u8(TCP_FLAG_SYN | TCP_FLAG_ACK));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &syn, sizeof(syn)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "not TCP: out of scope");
	add_expr(&rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &tcp, sizeof(tcp)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "caller is not a tenant");
	add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
	add_expr(&rb, expr_hton32());
	add_expr(&rb, expr_lookup(SET_TENANT_UIDS, true));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "allow-ports");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG_1));
	add_expr(&rb, expr_lookup(SET_ALLOW_PORTS, false));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	/* allow = USER:PORTS, expanded to pairs in the set allowed: one lookup, any number. */
	rule_start(&rb, "allow rules");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG32_01));
	add_expr(&rb, expr_lookup(SET_ALLOWED, false));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "tenant to its own listener");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG32_01));
	add_expr(&rb, expr_lookup(SET_OWNED, false));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	err = put_deny_rule(b, seq, audit, SET_TUNNEL_PORTS, TG_NFT_COUNTER_OTHER_TENANT,
			    audit ? "audit: tenant to another tenant's tunnel (logged, not reset)"
				  : "tenant to another tenant's tunnel");
	if (err || p->policy != TG_POLICY_STRICT)
		return err;
	return put_deny_rule(
		b, seq, audit, SET_SERVICE_PORTS, TG_NFT_COUNTER_SERVICE,
		audit ? "audit: tenant to a hub service, policy strict (logged, not reset)"
		      : "tenant to a hub service (policy strict)");
}

int nft_put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_udata_buf *ud = nft_comment_udata(
		NFTNL_UDATA_CHAIN_COMMENT, "tenants' connection openings to local ports", 0);
	int err = -ENOMEM;

	if (!c || !ud || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, TG_NFT_TABLE_NAME) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, TG_NFT_CHAIN_NAME) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0 ||
	    nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0)
		goto cleanup;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(nft_put_header(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, *seq), c);
	err = nft_batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_chain_free(c);
	return err;
}
