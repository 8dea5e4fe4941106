// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nftables layer's pure parts, without privileges: the batches nft_put_*() build (message
 * types, order, counts, keys, rules), the bounds of a batch buffer, the owner-set arithmetic,
 * and the parsers on canned replies, well-formed and hostile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nft.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NFT_TYPE(t)   ((uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | (t)))
#define BATCH_SIZE    (8 * TG_NFT_MSG_MAX)
/* More than the 1024 elements nft/build.c puts in one message. */
#define NFT_ELEMS_PER_MSG_TEST 1100

/* A batch on an aligned heap buffer. */
struct built {
	uint32_t *buf;
	size_t size;
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	uint32_t first_seq;
};

static void built_start(struct built *t, size_t size)
{
	t->size = size;
	t->buf = calloc(1, size);
	cr_assert_not_null(t->buf);
	t->b = nft_batch_start(t->buf, size);
	cr_assert_not_null(t->b, "nft_batch_start(%zu): %s", size, strerror(errno));
	t->seq = t->first_seq = 1000;
}

static void built_free(struct built *t)
{
	mnl_nlmsg_batch_stop(t->b);
	free(t->buf);
}

static const struct tg_policy example = {
	.mode = TG_MODE_ENFORCE,
	.policy = TG_POLICY_ISOLATE,
	.deny_errno = 111,
	.n_tenant = 1,
	.tenant = (struct tg_uid_range[]){ { 2001, 2003 } },
	.n_allow_port = 1,
	.allow_port = (struct tg_port_range[]){ { 53, 53 } },
};

/* Tenant 2001 on 127.0.0.1:8001 and [::1]:8001 (two map entries, one owner), root's sshd. */
static const struct nft_owner example_owners[] = {
	{ 2001, 8001, true },
	{ 2001, 8001, true },
	{ 0, 22, false },
};

static void build_apply(struct built *t, const struct tg_policy *p, const struct nft_owner *o,
			size_t n)
{
	struct nft_state c;

	cr_assert_eq(nft_content_from_owners(o, n, &c), 0);
	cr_assert_eq(nft_put_begin(t->b, &t->seq, 0), 0);
	cr_assert_eq(nft_put_table(t->b, &t->seq, p, &c, NULL), 0);
	cr_assert_eq(nft_put_end(t->b, &t->seq), 0);
	nft_state_free(&c);
}

/* The messages of a batch, in order. */
static size_t batch_messages(struct built *t, const struct nlmsghdr **out, size_t max)
{
	const struct nlmsghdr *nlh = mnl_nlmsg_batch_head(t->b);
	int left = (int)mnl_nlmsg_batch_size(t->b);
	size_t n = 0;

	while (mnl_nlmsg_ok(nlh, left)) {
		cr_assert_lt(n, max, "more messages than expected");
		out[n++] = nlh;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	cr_assert_eq(left, 0, "the batch ends in a partial message");
	return n;
}

/*
 * Set element messages are read with libmnl here: libnftnl numbers the element attributes it
 * builds 1, 2, 3... (the kernel ignores the number) but its parser accepts only NFTA_LIST_ELEM.
 */
static const char *set_of(const struct nlmsghdr *nlh)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_SET)
			return mnl_attr_get_str(attr);
	}
	cr_assert_fail("element message without a set name");
	return NULL;
}

/* The element keys and flags of one set element message. */
static size_t elements_of(const struct nlmsghdr *nlh, uint8_t keys[][8], uint32_t *klen,
			  uint32_t *flags, size_t max)
{
	const struct nlattr *list, *elem, *attr, *value;
	size_t n = 0;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(elem, list)
		{
			cr_assert_lt(n, max);
			klen[n] = 0;
			flags[n] = 0;
			memset(keys[n], 0, 8);
			mnl_attr_for_each_nested(attr, elem)
			{
				if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_FLAGS)
					flags[n] = ntohl(mnl_attr_get_u32(attr));
				if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(value, attr)
				{
					klen[n] = mnl_attr_get_payload_len(value);
					cr_assert_leq(klen[n], 8);
					memcpy(keys[n], mnl_attr_get_payload(value), klen[n]);
				}
			}
			n++;
		}
	}
	return n;
}

Test(nft_build, apply_batch_has_every_message_in_order)
{
	static const uint16_t want[] = {
		NFNL_MSG_BATCH_BEGIN,	      NFT_TYPE(NFT_MSG_NEWTABLE),
		NFT_TYPE(NFT_MSG_DELTABLE),   NFT_TYPE(NFT_MSG_NEWTABLE),
		NFT_TYPE(NFT_MSG_NEWOBJ),     NFT_TYPE(NFT_MSG_NEWOBJ),
		NFT_TYPE(NFT_MSG_NEWSET),     NFT_TYPE(NFT_MSG_NEWSET),
		NFT_TYPE(NFT_MSG_NEWSET),     NFT_TYPE(NFT_MSG_NEWSET),
		NFT_TYPE(NFT_MSG_NEWSET),     NFT_TYPE(NFT_MSG_NEWSET),
		NFT_TYPE(NFT_MSG_NEWSET), /* allowed: empty, no allow rule in the example */
		NFT_TYPE(NFT_MSG_NEWSETELEM), NFT_TYPE(NFT_MSG_NEWSETELEM),
		NFT_TYPE(NFT_MSG_NEWSETELEM), NFT_TYPE(NFT_MSG_NEWSETELEM),
		NFT_TYPE(NFT_MSG_NEWSETELEM), NFT_TYPE(NFT_MSG_NEWSETELEM),
		NFT_TYPE(NFT_MSG_NEWCHAIN),   NFT_TYPE(NFT_MSG_NEWRULE),
		NFT_TYPE(NFT_MSG_NEWRULE),    NFT_TYPE(NFT_MSG_NEWRULE),
		NFT_TYPE(NFT_MSG_NEWRULE),    NFT_TYPE(NFT_MSG_NEWRULE),
		NFT_TYPE(NFT_MSG_NEWRULE),    NFT_TYPE(NFT_MSG_NEWRULE),
		NFT_TYPE(NFT_MSG_NEWRULE),    NFNL_MSG_BATCH_END,
	};
	static const char *const elem_sets[] = { "tenant_uids", "allow_ports",	"owned",
						 "services",	"tunnel_ports", "service_ports" };
	const struct nlmsghdr *msgs[64];
	struct built t;
	size_t n, e = 0;

	built_start(&t, BATCH_SIZE);
	build_apply(&t, &example, example_owners, ARRAY_SIZE(example_owners));
	n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
	cr_assert_eq(n, ARRAY_SIZE(want), "%zu messages, expected %zu", n, ARRAY_SIZE(want));
	cr_assert_eq(t.seq, t.first_seq + n, "seq advanced by %u", t.seq - t.first_seq);
	for (size_t i = 0; i < n; i++) {
		bool marker = i == 0 || i == n - 1;

		cr_expect_eq(msgs[i]->nlmsg_type, want[i], "message %zu is type %#x, expected %#x",
			     i, msgs[i]->nlmsg_type, want[i]);
		cr_expect_eq(msgs[i]->nlmsg_seq, t.first_seq + i, "message %zu seq", i);
		cr_expect_eq(!!(msgs[i]->nlmsg_flags & NLM_F_ACK), !marker,
			     "message %zu: only the markers go unacknowledged", i);
		if (msgs[i]->nlmsg_type == NFT_TYPE(NFT_MSG_NEWSETELEM))
			cr_expect_str_eq(set_of(msgs[i]), elem_sets[e++], "element message %zu", i);
	}
	/* The table is deleted then created: only the last NEWTABLE may be exclusive of nothing. */
	cr_expect_eq(msgs[1]->nlmsg_flags & NLM_F_EXCL, 0, "the no-op NEWTABLE must not be EXCL");
	built_free(&t);
}

struct rules_case {
	const char *name;
	uint32_t policy;
	uint32_t mode;
	size_t rules;
	const char *last_exprs; /* expression names of the last rule */
	const char *last_comment;
};

static void rule_exprs(const struct nlmsghdr *nlh, char *names, size_t len, char *comment,
		       size_t clen)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	const uint8_t *ud;
	uint32_t udlen = 0;

	cr_assert_eq(nftnl_rule_nlmsg_parse(nlh, r), 0);
	names[0] = '\0';
	it = nftnl_expr_iter_create(r);
	while ((e = nftnl_expr_iter_next(it))) {
		strncat(names, nftnl_expr_get_str(e, NFTNL_EXPR_NAME), len - strlen(names) - 2);
		strcat(names, " ");
	}
	nftnl_expr_iter_destroy(it);
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	cr_assert(ud && udlen > 2 && ud[0] == NFTNL_UDATA_RULE_COMMENT, "rule without a comment");
	snprintf(comment, clen, "%s", (const char *)&ud[2]);
	nftnl_rule_free(r);
}

Test(nft_build, rules_follow_policy_and_mode)
{
	static const struct rules_case cases[] = {
		{ "isolate enforce", TG_POLICY_ISOLATE, TG_MODE_ENFORCE, 8,
		  "meta cmp meta payload lookup objref reject ",
		  "tenant to another tenant's tunnel" },
		{ "strict enforce", TG_POLICY_STRICT, TG_MODE_ENFORCE, 9,
		  "meta cmp meta payload lookup objref reject ",
		  "tenant to a hub service (policy strict)" },
		{ "isolate audit", TG_POLICY_ISOLATE, TG_MODE_AUDIT, 8,
		  "meta cmp meta payload lookup objref log immediate ",
		  "audit: tenant to another tenant's tunnel (logged, not reset)" },
		{ "strict audit", TG_POLICY_STRICT, TG_MODE_AUDIT, 9,
		  "meta cmp meta payload lookup objref log immediate ",
		  "audit: tenant to a hub service, policy strict (logged, not reset)" },
	};
	static const char *const first[] = {
		"meta cmp immediate ",
		"meta cmp payload bitwise cmp immediate ",
		"meta cmp immediate ",
		"meta byteorder lookup immediate ",
		"meta cmp payload lookup immediate ",
		"meta cmp meta payload lookup immediate ", /* allow rules: @allowed */
		"meta cmp meta payload lookup immediate ", /* own listener: @owned */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct rules_case *c = &cases[i];
		struct tg_policy p = example;
		const struct nlmsghdr *msgs[64], *rules[16];
		char names[256], comment[128];
		size_t n, nr = 0;
		struct built t;

		p.policy = c->policy;
		p.mode = c->mode;
		built_start(&t, BATCH_SIZE);
		build_apply(&t, &p, example_owners, ARRAY_SIZE(example_owners));
		n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
		for (size_t k = 0; k < n; k++)
			if (msgs[k]->nlmsg_type == NFT_TYPE(NFT_MSG_NEWRULE))
				rules[nr++] = msgs[k];
		cr_expect_eq(nr, c->rules, "%s: %zu rules, expected %zu", c->name, nr, c->rules);
		for (size_t k = 0; k < ARRAY_SIZE(first) && k < nr; k++) {
			rule_exprs(rules[k], names, sizeof(names), comment, sizeof(comment));
			cr_expect_str_eq(names, first[k], "%s: rule %zu", c->name, k);
		}
		rule_exprs(rules[nr - 1], names, sizeof(names), comment, sizeof(comment));
		cr_expect_str_eq(names, c->last_exprs, "%s: last rule", c->name);
		cr_expect_str_eq(comment, c->last_comment, "%s: last rule's comment", c->name);
		built_free(&t);
	}
}

/* The message that fills set `name` (the first one, if several). */
static const struct nlmsghdr *elements_message(struct built *t, const char *name)
{
	static const struct nlmsghdr *msgs[512];
	size_t n = batch_messages(t, msgs, ARRAY_SIZE(msgs));

	for (size_t i = 0; i < n; i++)
		if ((msgs[i]->nlmsg_type == NFT_TYPE(NFT_MSG_NEWSETELEM) ||
		     msgs[i]->nlmsg_type == NFT_TYPE(NFT_MSG_DELSETELEM)) &&
		    !strcmp(set_of(msgs[i]), name))
			return msgs[i];
	return NULL;
}

struct interval_case {
	const char *name;
	struct tg_uid_range tenant[3];
	uint32_t n_tenant;
	struct tg_uid_range exempt[3];
	uint32_t n_exempt;
	uint32_t keys[8]; /* host order; the message holds them in network order */
	uint32_t ends[8]; /* 1: the element ends an interval */
	size_t n;
};

Test(nft_build, tenant_uids_are_tenants_minus_exempt_as_intervals)
{
	static const struct interval_case cases[] = {
		{ "one range", { { 2001, 2003 } }, 1, {}, 0, { 0, 2001, 2004 }, { 1, 0, 1 }, 3 },
		{ "default with two exempt",
		  { { 1000, 59999 } },
		  1,
		  { { 1500, 1500 }, { 2000, 2999 } },
		  2,
		  { 0, 1000, 1500, 1501, 2000, 3000, 60000 },
		  { 1, 0, 1, 0, 1, 0, 1 },
		  7 },
		{ "exempt trims both ends",
		  { { 1000, 1999 } },
		  1,
		  { { 900, 1099 }, { 1900, 2100 } },
		  2,
		  { 0, 1100, 1900 },
		  { 1, 0, 1 },
		  3 },
		{ "adjacent ranges merge, unsorted input",
		  { { 3000, 3999 }, { 1000, 2999 } },
		  2,
		  {},
		  0,
		  { 0, 1000, 4000 },
		  { 1, 0, 1 },
		  3 },
		{ "range to the top has no end",
		  { { 4000000000u, UINT32_MAX } },
		  1,
		  {},
		  0,
		  { 0, 4000000000u },
		  { 1, 0 },
		  2 },
		{ "all exempt", { { 2001, 2003 } }, 1, { { 2000, 2005 } }, 1, {}, {}, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct interval_case *c = &cases[i];
		struct tg_policy p = example;
		const struct nlmsghdr *nlh;
		uint8_t keys[16][8];
		uint32_t klen[16], flags[16];
		struct built t;
		size_t n;

		p.tenant = (struct tg_uid_range *)c->tenant;
		p.n_tenant = c->n_tenant;
		p.exempt = (struct tg_uid_range *)c->exempt;
		p.n_exempt = c->n_exempt;
		built_start(&t, BATCH_SIZE);
		build_apply(&t, &p, NULL, 0);
		nlh = elements_message(&t, "tenant_uids");
		if (c->n == 0) {
			cr_expect_null(nlh, "%s: no elements, no message", c->name);
			built_free(&t);
			continue;
		}
		cr_assert_not_null(nlh, "%s: no tenant_uids elements", c->name);
		n = elements_of(nlh, keys, klen, flags, ARRAY_SIZE(keys));
		cr_expect_eq(n, c->n, "%s: %zu elements, expected %zu", c->name, n, c->n);
		for (size_t k = 0; k < n && k < c->n; k++) {
			uint32_t be;

			memcpy(&be, keys[k], sizeof(be));
			cr_expect_eq(klen[k], 4, "%s: key length", c->name);
			cr_expect_eq(ntohl(be), c->keys[k], "%s: element %zu is %u, expected %u",
				     c->name, k, ntohl(be), c->keys[k]);
			cr_expect_eq(flags[k], c->ends[k] ? NFT_SET_ELEM_INTERVAL_END : 0,
				     "%s: element %zu flags", c->name, k);
		}
		built_free(&t);
	}
}

Test(nft_build, owner_elements_are_deduplicated_with_nft_key_layout)
{
	const struct nlmsghdr *nlh;
	uint8_t keys[8][8];
	uint32_t klen[8], flags[8];
	uint8_t want_pair[8] = { 0 }, want_port[8] = { IPPROTO_TCP, 0, 0, 0, 0x1f, 0x41, 0, 0 };
	uint32_t uid = 2001;
	struct built t;

	memcpy(want_pair, &uid, sizeof(uid)); /* meta skuid: host order */
	want_pair[4] = 0x1f;		      /* tcp dport 8001: network order */
	want_pair[5] = 0x41;
	built_start(&t, BATCH_SIZE);
	build_apply(&t, &example, example_owners, ARRAY_SIZE(example_owners));

	nlh = elements_message(&t, "owned");
	cr_assert_not_null(nlh);
	cr_assert_eq(elements_of(nlh, keys, klen, flags, 8), 1, "two listeners, one owner");
	cr_expect_eq(klen[0], 8);
	cr_expect_arr_eq(keys[0], want_pair, 8, "owned key is not 2001 . 8001");

	nlh = elements_message(&t, "tunnel_ports");
	cr_assert_not_null(nlh);
	cr_assert_eq(elements_of(nlh, keys, klen, flags, 8), 1);
	cr_expect_arr_eq(keys[0], want_port, 8, "tunnel_ports key is not tcp . 8001");

	nlh = elements_message(&t, "services");
	cr_assert_not_null(nlh);
	cr_assert_eq(elements_of(nlh, keys, klen, flags, 8), 1, "root's sshd is a service");
	built_free(&t);
}

Test(nft_build, element_batches_split_at_1024_and_delete_with_delsetelem)
{
	static const struct nlmsghdr *msgs[64];
	struct nft_owner *o = calloc(3000, sizeof(*o));
	size_t n, per_set[2][4] = {}, sizes[2][4][4] = {};
	static const char *const sets[] = { "owned", "services", "tunnel_ports", "service_ports" };
	struct nft_state c;

	for (uint32_t i = 0; i < 3000; i++)
		o[i] = (struct nft_owner){ 10000 + i, (uint16_t)(20000 + i), true };
	cr_assert_eq(nft_content_from_owners(o, 3000, &c), 0);
	for (int add = 0; add < 2; add++) {
		struct built t;

		built_start(&t, BATCH_SIZE);
		cr_assert_eq(nft_put_begin(t.b, &t.seq, 7), 0);
		cr_assert_eq(nft_put_elements(t.b, &t.seq, add, &c), 0);
		cr_assert_eq(nft_put_end(t.b, &t.seq), 0);
		n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
		cr_expect_eq(n, 8, "begin, 3 + 3 element messages, end: got %zu", n);
		for (size_t i = 1; i + 1 < n; i++) {
			uint8_t keys[NFT_ELEMS_PER_MSG_TEST][8];
			uint32_t klen[NFT_ELEMS_PER_MSG_TEST], flags[NFT_ELEMS_PER_MSG_TEST];
			const char *set = set_of(msgs[i]);

			cr_expect_eq(msgs[i]->nlmsg_type,
				     NFT_TYPE(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM));
			for (int s = 0; s < 4; s++)
				if (!strcmp(set, sets[s]) && per_set[add][s] < 4)
					sizes[add][s][per_set[add][s]++] = elements_of(
						msgs[i], keys, klen, flags, NFT_ELEMS_PER_MSG_TEST);
		}
		cr_expect_eq(per_set[add][0], 3, "owned in 3 messages");
		cr_expect_eq(sizes[add][0][0], 1024);
		cr_expect_eq(sizes[add][0][1], 1024);
		cr_expect_eq(sizes[add][0][2], 952);
		cr_expect_eq(per_set[add][1], 0, "no services, no message");
		cr_expect_eq(per_set[add][2], 3, "tunnel_ports in 3 messages");
		built_free(&t);
	}
	nft_state_free(&c);
	free(o);
}

Test(nft_build, full_buffer_is_an_error_not_an_overflow)
{
	size_t n = 50000, small = TG_NFT_MSG_MAX + 8192;
	struct nft_owner *o = calloc(n, sizeof(*o));
	uint8_t *buf = malloc(small + 4096);
	struct mnl_nlmsg_batch *b;
	struct nft_state c;
	uint32_t seq = 1;
	struct built t;
	int err;

	for (uint32_t i = 0; i < n; i++)
		o[i] = (struct nft_owner){ 100000 + i, (uint16_t)(10000 + i), i % 2 == 0 };
	cr_assert_eq(nft_content_from_owners(o, n, &c), 0);

	/* A canary right after the buffer the batch was given. */
	memset(buf + small, 0xa5, 4096);
	b = nft_batch_start(buf, small);
	cr_assert_not_null(b);
	cr_assert_eq(nft_put_begin(b, &seq, 0), 0);
	err = nft_put_table(b, &seq, &example, &c, NULL);
	cr_expect_eq(err, -EMSGSIZE, "50,000 owners in %zu bytes gave %d", small, err);
	cr_expect_leq(mnl_nlmsg_batch_size(b), small - TG_NFT_MSG_MAX);
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(buf[small + i], 0xa5, "byte %zu past the buffer was written", i);
	mnl_nlmsg_batch_stop(b);

	/* The size nft_apply() uses is enough. */
	built_start(&t, nft_batch_size(&c));
	cr_assert_eq(nft_put_begin(t.b, &t.seq, 0), 0);
	cr_expect_eq(nft_put_table(t.b, &t.seq, &example, &c, NULL), 0);
	cr_expect_eq(nft_put_end(t.b, &t.seq), 0);
	built_free(&t);

	errno = 0;
	cr_expect_null(nft_batch_start(buf, TG_NFT_MSG_MAX), "a buffer must exceed one message");
	cr_expect_eq(errno, EINVAL);
	nft_state_free(&c);
	free(buf);
	free(o);
}

Test(nft_build, owner_of_follows_the_policy)
{
	struct tg_policy p = example;
	struct nft_owner o;

	p.n_exempt = 1;
	p.exempt = (struct tg_uid_range[]){ { 2002, 2002 } };
	o = nft_owner_of(&p, 2001, 8001);
	cr_expect(o.uid == 2001 && o.port == 8001 && o.tenant);
	cr_expect(!nft_owner_of(&p, 2002, 8002).tenant, "exempt uids own hub services");
	cr_expect(!nft_owner_of(&p, 0, 22).tenant);
	cr_expect(!nft_owner_of(&p, 2004, 80).tenant);
}

Test(nft_build, owner_count_is_bounded)
{
	struct nft_owner *o = calloc(TG_NFT_MAX_OWNERS + 1, sizeof(*o));
	struct nft_state c;

	cr_assert_not_null(o);
	for (size_t i = 0; i <= TG_NFT_MAX_OWNERS; i++)
		o[i] = (struct nft_owner){ .uid = 2001 + (uint32_t)(i >> 16),
					   .port = (uint16_t)i,
					   .tenant = true };
	cr_expect_eq(nft_content_from_owners(o, TG_NFT_MAX_OWNERS + 1, &c), -E2BIG,
		     "one distinct owner more than TG_NFT_MAX_OWNERS");
	cr_expect_eq(nft_content_from_owners(NULL, 3, &c), -EINVAL);
	free(o);
}

/* The limit is on distinct owners: 272,420 listeners of 64,111 uid . port pairs (two or more
 * addresses each) once made every sync fail with E2BIG while port_owner was full. */
Test(nft_build, repeated_owners_count_once)
{
	size_t n = (size_t)TG_NFT_MAX_OWNERS + 1000;
	struct nft_owner *o = calloc(n, sizeof(*o));
	struct nft_state c;

	cr_assert_not_null(o);
	for (size_t i = 0; i < n; i++)
		o[i] = (struct nft_owner){ .uid = 2001 + (uint32_t)(i % 4),
					   .port = 8001,
					   .tenant = true };
	cr_assert_eq(nft_content_from_owners(o, n, &c), 0);
	cr_expect_eq(c.n_owners, 4);
	cr_expect_eq(c.n_tunnel_ports, 1);
	nft_state_free(&c);
	free(o);
}

Test(nft_build, invalid_policy_is_refused)
{
	struct tg_policy bad[4];
	struct nft_state c = {};
	struct built t;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		bad[i] = example;
	bad[0].mode = 7;
	bad[1].policy = 9;
	bad[2].n_exempt = 1;
	bad[2].exempt = (struct tg_uid_range[]){ { 2500, 2400 } };
	bad[3].tenant = (struct tg_uid_range[]){ { 3000, 2000 } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		built_start(&t, BATCH_SIZE);
		cr_expect_eq(nft_put_table(t.b, &t.seq, &bad[i], &c, NULL), -EINVAL, "policy %zu",
			     i);
		built_free(&t);
	}
}

/* No cap on tenant ranges any more: 100 scattered ranges (the old cap was 32) are built. */
Test(nft_build, many_tenant_ranges_are_built)
{
	struct tg_policy p = example;
	struct tg_uid_range r[100];
	struct nft_state c = {};
	struct built t;

	for (__u32 i = 0; i < ARRAY_SIZE(r); i++)
		r[i] = (struct tg_uid_range){ 100000 + 10 * i, 100000 + 10 * i + 4 };
	p.n_tenant = ARRAY_SIZE(r);
	p.tenant = r;
	built_start(&t, BATCH_SIZE);
	cr_expect_eq(nft_put_table(t.b, &t.seq, &p, &c, NULL), 0, "100 tenant ranges refused");
	built_free(&t);
}

Test(nft_build, content_diff_is_exact)
{
	static const struct nft_owner have_o[] = {
		{ 0, 22, false }, { 2001, 8001, true }, { 2001, 8002, true }, { 2002, 8002, true }
	};
	static const struct nft_owner want_o[] = {
		{ 0, 22, false }, { 2002, 8002, true }, { 2003, 8003, true }, { 2999, 80, false }
	};
	struct nft_state have, want, add, del;

	cr_assert_eq(nft_content_from_owners(have_o, ARRAY_SIZE(have_o), &have), 0);
	cr_assert_eq(nft_content_from_owners(want_o, ARRAY_SIZE(want_o), &want), 0);
	cr_assert_eq(nft_content_diff(&have, &want, &add, &del), 0);
	cr_assert_eq(add.n_owners, 2);
	cr_expect(add.owners[0].uid == 2003 && add.owners[0].port == 8003 && add.owners[0].tenant);
	cr_expect(add.owners[1].uid == 2999 && add.owners[1].port == 80 && !add.owners[1].tenant);
	cr_assert_eq(del.n_owners, 2);
	cr_expect(del.owners[0].uid == 2001 && del.owners[0].port == 8001);
	cr_expect(del.owners[1].uid == 2001 && del.owners[1].port == 8002);
	/* 8002 stays a tunnel port: 2002 still listens there. */
	cr_assert_eq(add.n_tunnel_ports, 1);
	cr_expect_eq(add.tunnel_ports[0], 8003);
	cr_assert_eq(del.n_tunnel_ports, 1);
	cr_expect_eq(del.tunnel_ports[0], 8001);
	cr_assert_eq(add.n_service_ports, 1);
	cr_expect_eq(add.service_ports[0], 80);
	cr_expect_eq(del.n_service_ports, 0);
	nft_state_free(&have);
	nft_state_free(&want);
	nft_state_free(&add);
	nft_state_free(&del);
}

/* ---- canned replies ---- */

struct canned {
	uint32_t words[4096];
	size_t len;
};

/* An ack of msg with the given error; with offset > 0 an extended ack pointing there. */
static void put_ack(struct canned *c, const struct nlmsghdr *msg, int error, uint32_t offset,
		    const char *text)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header((char *)c->words + c->len);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = msg->nlmsg_seq;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg = *msg;
	if (offset || text)
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	if (offset)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, offset);
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	c->len += nlh->nlmsg_len;
}

/* Offset of the first element attribute in a set element message. */
static uint32_t first_element_offset(const struct nlmsghdr *nlh)
{
	const struct nlattr *attr, *elem;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		elem = mnl_attr_get_payload(attr);
		return (uint32_t)((const char *)elem - (const char *)nlh);
	}
	cr_assert_fail("no element list");
	return 0;
}

Test(nft_build, acks_are_counted_and_errors_name_the_object)
{
	const struct nlmsghdr *msgs[64], *owned, *owned_set = NULL;
	struct canned c = {};
	char why[256] = "";
	size_t n, acked = 0, sets = 0;
	struct built t;
	int err;

	built_start(&t, BATCH_SIZE);
	build_apply(&t, &example, example_owners, ARRAY_SIZE(example_owners));
	n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
	for (size_t i = 1; i + 1 < n; i++)
		put_ack(&c, msgs[i], 0, 0, NULL);
	err = nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b), mnl_nlmsg_batch_size(t.b),
			     &acked, why, sizeof(why));
	cr_expect_eq(err, 0);
	cr_expect_eq(acked, n - 2, "%zu acks counted of %zu", acked, n - 2);

	/* The set owned (the third set) exists already. */
	for (size_t i = 0; i < n && !owned_set; i++)
		if (msgs[i]->nlmsg_type == NFT_TYPE(NFT_MSG_NEWSET) && ++sets == 3)
			owned_set = msgs[i];
	cr_assert_not_null(owned_set);
	memset(&c, 0, sizeof(c));
	acked = 0;
	put_ack(&c, msgs[1], 0, 0, NULL);
	put_ack(&c, owned_set, -EEXIST, 0, NULL);
	err = nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b), mnl_nlmsg_batch_size(t.b),
			     &acked, why, sizeof(why));
	cr_expect_eq(err, -EEXIST);
	cr_expect_str_eq(why, "cannot add set owned to table inet tunnelguard: File exists");

	/* An element, pointed at by the extended ack. */
	owned = elements_message(&t, "owned");
	memset(&c, 0, sizeof(c));
	put_ack(&c, owned, -EEXIST, first_element_offset(owned), NULL);
	err = nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b), mnl_nlmsg_batch_size(t.b),
			     &acked, why, sizeof(why));
	cr_expect_eq(err, -EEXIST);
	cr_expect_str_eq(why, "cannot add element 2001 . 8001 to set owned in table inet "
			      "tunnelguard: File exists");

	/* A rule, named by its comment, with the kernel's own words. */
	memset(&c, 0, sizeof(c));
	put_ack(&c, msgs[n - 2], -EOPNOTSUPP, 0, "no reject here");
	err = nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b), mnl_nlmsg_batch_size(t.b),
			     &acked, why, sizeof(why));
	cr_expect_eq(err, -EOPNOTSUPP);
	cr_expect_str_eq(why,
			 "cannot add rule \"tenant to another tenant's tunnel\" to chain output "
			 "of table inet tunnelguard: Operation not supported (no reject here)");
	built_free(&t);
}

Test(nft_build, hostile_acks_are_refused_without_reading_past_the_end)
{
	const struct nlmsghdr *msgs[64];
	struct canned good = {}, c;
	size_t n, acked;
	struct built t;
	char why[256];
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;

	built_start(&t, BATCH_SIZE);
	build_apply(&t, &example, example_owners, ARRAY_SIZE(example_owners));
	n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
	put_ack(&good, msgs[3], 0, 0, NULL);

	/* Every truncation of a valid ack. */
	for (size_t len = 1; len < good.len; len++) {
		memcpy(&c, &good, sizeof(c));
		acked = 0;
		cr_expect_eq(nft_parse_acks(c.words, len, mnl_nlmsg_batch_head(t.b),
					    mnl_nlmsg_batch_size(t.b), &acked, why, sizeof(why)),
			     -EBADMSG, "ack cut at %zu bytes", len);
		cr_expect_eq(acked, 0);
	}

	struct {
		const char *name;
		int error;
		uint32_t seq_delta;
		uint32_t nlmsg_len_delta;
		uint16_t type;
	} cases[] = {
		{ "positive error", 5, 0, 0, NLMSG_ERROR },
		{ "error beyond any errno", -100000, 0, 0, NLMSG_ERROR },
		{ "seq of another batch", 0, 100000, 0, NLMSG_ERROR },
		{ "header longer than the buffer", 0, 0, 64, NLMSG_ERROR },
		{ "unexpected type", 0, 0, 0, NFT_TYPE(NFT_MSG_NEWTABLE) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(&c, &good, sizeof(c));
		nlh = (struct nlmsghdr *)c.words;
		e = mnl_nlmsg_get_payload(nlh);
		e->error = cases[i].error;
		e->msg.nlmsg_seq += cases[i].seq_delta;
		nlh->nlmsg_len += cases[i].nlmsg_len_delta;
		nlh->nlmsg_type = cases[i].type;
		acked = 0;
		cr_expect_eq(nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b),
					    mnl_nlmsg_batch_size(t.b), &acked, why, sizeof(why)),
			     -EBADMSG, "%s", cases[i].name);
	}

	/* An ack too short for struct nlmsgerr. */
	memset(&c, 0, sizeof(c));
	nlh = mnl_nlmsg_put_header(c.words);
	nlh->nlmsg_type = NLMSG_ERROR;
	mnl_nlmsg_put_extra_header(nlh, 4);
	c.len = nlh->nlmsg_len;
	cr_expect_eq(nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b),
				    mnl_nlmsg_batch_size(t.b), &acked, why, sizeof(why)),
		     -EBADMSG);

	/* An extended ack whose offset points outside the message still yields a message. */
	memset(&c, 0, sizeof(c));
	put_ack(&c, elements_message(&t, "owned"), -EINVAL, 0xfffffff0u, NULL);
	cr_expect_eq(nft_parse_acks(c.words, c.len, mnl_nlmsg_batch_head(t.b),
				    mnl_nlmsg_batch_size(t.b), &acked, why, sizeof(why)),
		     -EINVAL);
	cr_expect_str_eq(why, "cannot add elements to set owned in table inet tunnelguard: "
			      "Invalid argument");
	(void)n;
	built_free(&t);
}

/* A set element dump message for set `name` with the given keys, as the kernel writes it. */
static void put_dump(struct canned *c, const char *name, const uint8_t (*keys)[8], size_t n,
		     uint32_t klen)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr((char *)c->words + c->len, NFT_MSG_NEWSETELEM,
						     NFPROTO_INET, NLM_F_MULTI, 1);
	struct nlattr *list, *elem, *key;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, TG_NFT_TABLE_NAME);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (size_t i = 0; i < n; i++) {
		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, keys[i]);
		mnl_attr_nest_end(nlh, key);
		mnl_attr_nest_end(nlh, elem);
	}
	mnl_attr_nest_end(nlh, list);
	c->len += nlh->nlmsg_len;
}

static void put_done(struct canned *c, int status)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header((char *)c->words + c->len);

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(status)), &status, sizeof(status));
	c->len += nlh->nlmsg_len;
}

Test(nft_build, element_dumps_parse_and_hostile_ones_are_refused)
{
	uint8_t pairs[2][8] = { { 0 } }, ports[1][8] = { { IPPROTO_TCP, 0, 0, 0, 0x1f, 0x41 } };
	uint32_t uid = 2001;
	struct nft_state st = {};
	struct canned c = {};

	memcpy(pairs[0], &uid, 4);
	pairs[0][4] = 0x1f, pairs[0][5] = 0x41;
	uid = 2002;
	memcpy(pairs[1], &uid, 4);
	pairs[1][4] = 0x1f, pairs[1][5] = 0x42;

	put_dump(&c, "owned", pairs, 2, 8);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), 1, "more expected");
	memset(&c, 0, sizeof(c));
	put_done(&c, 0);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), 0, "done");
	cr_assert_eq(st.n_owners, 2);
	cr_expect(st.owners[0].uid == 2001 && st.owners[0].port == 8001 && st.owners[0].tenant);
	cr_expect(st.owners[1].uid == 2002 && st.owners[1].port == 8002 && st.owners[1].tenant);

	memset(&c, 0, sizeof(c));
	put_dump(&c, "tunnel_ports", ports, 1, 8);
	put_done(&c, 0);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "tunnel_ports", &st), 0);
	cr_assert_eq(st.n_tunnel_ports, 1);
	cr_expect_eq(st.tunnel_ports[0], 8001);

	/* A key of the wrong length, a dump of another set, a failed dump, every truncation. */
	memset(&c, 0, sizeof(c));
	put_dump(&c, "owned", pairs, 1, 6);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), -EBADMSG);
	memset(&c, 0, sizeof(c));
	put_dump(&c, "services", pairs, 1, 8);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), -EBADMSG);
	memset(&c, 0, sizeof(c));
	put_done(&c, -ENOENT);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), -ENOENT);
	memset(&c, 0, sizeof(c));
	put_done(&c, 77777);
	cr_expect_eq(nft_parse_elements(c.words, c.len, "owned", &st), -EBADMSG);
	memset(&c, 0, sizeof(c));
	put_dump(&c, "owned", pairs, 2, 8);
	for (size_t len = 1; len < c.len; len++)
		cr_expect_eq(nft_parse_elements(c.words, len, "owned", &st), -EBADMSG,
			     "dump cut at %zu bytes", len);
	cr_expect_eq(nft_parse_elements((char *)c.words + 1, 16, "owned", &st), -EBADMSG,
		     "misaligned");
	cr_expect_eq(nft_parse_elements(c.words, c.len, "allow_ports", &st), -EINVAL,
		     "not a set the layer reads back");
	cr_expect_eq(nft_parse_elements(c.words, c.len, "tenant_uids", &st), -EBADMSG,
		     "a dump of another set");
	cr_expect_eq(st.n_owners, 2, "refused replies appended nothing");
	nft_state_free(&st);
}

/* `meta skuid . tcp dport` as the kernel compares it: uid in host order, port in network order. */
static void pair_key(uint8_t key[8], uint32_t uid, uint16_t port)
{
	uint16_t be = htons(port);

	memset(key, 0, 8);
	memcpy(key, &uid, sizeof(uid));
	memcpy(key + 4, &be, sizeof(be));
}

/* allow = USER:PORTS goes into the set allowed as uid . port pairs, one element each. */
Test(nft_build, allow_rules_are_pairs_in_one_set)
{
	struct tg_policy p = example;
	const struct nlmsghdr *msgs[64];
	uint8_t keys[16][8], want[3][8];
	uint32_t klen[16], flags[16];
	size_t n, found = 0, got = 0;
	struct built t;

	p.n_allow_rule = 2;
	p.allow_rule = (struct tg_port_grant[]){ { 2002, 8000, 8001 }, { 2003, 53, 53 } };
	pair_key(want[0], 2002, 8000);
	pair_key(want[1], 2002, 8001);
	pair_key(want[2], 2003, 53);
	built_start(&t, BATCH_SIZE);
	build_apply(&t, &p, example_owners, ARRAY_SIZE(example_owners));
	n = batch_messages(&t, msgs, ARRAY_SIZE(msgs));
	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->nlmsg_type != NFT_TYPE(NFT_MSG_NEWSETELEM) ||
		    strcmp(set_of(msgs[i]), "allowed") != 0)
			continue;
		got = elements_of(msgs[i], keys, klen, flags, ARRAY_SIZE(keys));
		for (size_t k = 0; k < got; k++) {
			cr_expect_eq(klen[k], 8, "element %zu: key of %u bytes", k, klen[k]);
			for (size_t w = 0; w < ARRAY_SIZE(want); w++)
				found += memcmp(keys[k], want[w], 8) == 0;
		}
	}
	cr_expect_eq(got, 3, "set allowed has %zu elements, want 3 (8000, 8001, 53)", got);
	cr_expect_eq(found, 3, "%zu of the 3 pairs found", found);
	built_free(&t);
}
