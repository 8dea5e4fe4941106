// SPDX-License-Identifier: GPL-2.0-only
/* local_addrs_parse_reply() on canned RTM_GETROUTE dump replies built with libmnl. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "local_addrs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A reply buffer, aligned as a recv buffer is, and the bytes used so far. */
struct canned {
	uint32_t words[2048];
	size_t len;
};

/* One route as the kernel would dump it. dst NULL leaves RTA_DST out. */
struct route_spec {
	int family;
	const char *dst;
	uint8_t dst_len;
	uint8_t table;
	uint8_t type;
};

/* The key the route should become, or prefixlen -1 when it should be skipped. */
struct key_spec {
	int prefixlen;
	const char *ip6; /* the key's address written as IPv6 */
};

static struct nlmsghdr *canned_put_header(struct canned *c, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	cr_assert_leq(c->len + 512, sizeof(c->words), "canned buffer full");
	nlh = mnl_nlmsg_put_header((char *)c->words + c->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 1;
	return nlh;
}

static void canned_end(struct canned *c, const struct nlmsghdr *nlh)
{
	c->len += nlh->nlmsg_len;
}

static struct nlmsghdr *put_route(struct canned *c, const struct route_spec *s)
{
	struct nlmsghdr *nlh = canned_put_header(c, RTM_NEWROUTE, NLM_F_MULTI);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	uint32_t addr[4] = {};

	rtm->rtm_family = s->family;
	rtm->rtm_dst_len = s->dst_len;
	rtm->rtm_table = s->table;
	rtm->rtm_protocol = RTPROT_KERNEL;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = s->type;
	/* The attributes a 6.x kernel sends with a local route, RTA_DST among them. */
	mnl_attr_put_u32(nlh, RTA_TABLE, s->table);
	if (s->dst) {
		cr_assert_eq(inet_pton(s->family, s->dst, addr), 1, "bad address in test: %s",
			     s->dst);
		mnl_attr_put(nlh, RTA_DST, s->family == AF_INET ? 4 : 16, addr);
	}
	mnl_attr_put_u32(nlh, RTA_OIF, 1);
	canned_end(c, nlh);
	return nlh;
}

static struct nlmsghdr *put_done(struct canned *c, int status)
{
	struct nlmsghdr *nlh = canned_put_header(c, NLMSG_DONE, NLM_F_MULTI);
	int *payload = mnl_nlmsg_put_extra_header(nlh, sizeof(*payload));

	*payload = status;
	canned_end(c, nlh);
	return nlh;
}

static struct nlmsghdr *put_error(struct canned *c, int error)
{
	struct nlmsghdr *nlh = canned_put_header(c, NLMSG_ERROR, 0);
	struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));

	err->error = error;
	err->msg.nlmsg_len = sizeof(err->msg) + sizeof(struct rtmsg);
	err->msg.nlmsg_type = RTM_GETROUTE;
	canned_end(c, nlh);
	return nlh;
}

static void assert_key(const struct tg_lpm_key *got, const struct key_spec *want, const char *name)
{
	uint32_t ip[4] = {};
	char text[INET6_ADDRSTRLEN];

	cr_assert_eq(inet_pton(AF_INET6, want->ip6, ip), 1, "bad address in test: %s", want->ip6);
	inet_ntop(AF_INET6, got->ip, text, sizeof(text));
	cr_assert_eq(got->prefixlen, (uint32_t)want->prefixlen, "%s: %s/%u, want %s/%d", name, text,
		     got->prefixlen, want->ip6, want->prefixlen);
	cr_assert_arr_eq(got->ip, ip, sizeof(ip), "%s: %s/%u, want %s/%d", name, text,
			 got->prefixlen, want->ip6, want->prefixlen);
}

/* Parse a copy of exactly len bytes, so that ASan and valgrind see any read past the end. */
static int parse_exact(const void *buf, size_t len, struct local_addr_list *out)
{
	void *copy = malloc(len ? len : 1);
	int ret;

	cr_assert_not_null(copy, "out of memory");
	memcpy(copy, buf, len);
	ret = local_addrs_parse_reply(copy, len, out);
	free(copy);
	return ret;
}

struct route_case {
	const char *name;
	struct route_spec route;
	struct key_spec want;
};

static const struct route_case route_cases[] = {
	{ "host address",
	  { AF_INET, "192.0.2.7", 32, RT_TABLE_LOCAL, RTN_LOCAL },
	  { 128, "::ffff:192.0.2.7" } },
	{ "loopback /8",
	  { AF_INET, "127.0.0.0", 8, RT_TABLE_LOCAL, RTN_LOCAL },
	  { 104, "::ffff:127.0.0.0" } },
	{ "AnyIP in main table",
	  { AF_INET, "10.9.0.0", 16, RT_TABLE_MAIN, RTN_LOCAL },
	  { 112, "::ffff:10.9.0.0" } },
	{ "AnyIP in table 100",
	  { AF_INET, "10.8.0.0", 24, 100, RTN_LOCAL },
	  { 120, "::ffff:10.8.0.0" } },
	{ "IPv4 local default",
	  { AF_INET, NULL, 0, RT_TABLE_LOCAL, RTN_LOCAL },
	  { 96, "::ffff:0.0.0.0" } },
	{ "IPv4 local default with RTA_DST",
	  { AF_INET, "0.0.0.0", 0, RT_TABLE_LOCAL, RTN_LOCAL },
	  { 96, "::ffff:0.0.0.0" } },
	{ "IPv6 loopback", { AF_INET6, "::1", 128, RT_TABLE_LOCAL, RTN_LOCAL }, { 128, "::1" } },
	{ "IPv6 host address",
	  { AF_INET6, "2001:db8::7", 128, RT_TABLE_LOCAL, RTN_LOCAL },
	  { 128, "2001:db8::7" } },
	{ "IPv6 AnyIP",
	  { AF_INET6, "2001:db8:1::", 48, RT_TABLE_MAIN, RTN_LOCAL },
	  { 48, "2001:db8:1::" } },
	{ "IPv6 local default", { AF_INET6, NULL, 0, RT_TABLE_LOCAL, RTN_LOCAL }, { 0, "::" } },
	{ "IPv4 broadcast skipped",
	  { AF_INET, "127.255.255.255", 32, RT_TABLE_LOCAL, RTN_BROADCAST },
	  { -1, "::" } },
	{ "IPv4 unicast skipped",
	  { AF_INET, "10.0.0.0", 8, RT_TABLE_MAIN, RTN_UNICAST },
	  { -1, "::" } },
	{ "IPv4 default skipped", { AF_INET, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST }, { -1, "::" } },
	{ "IPv6 multicast skipped",
	  { AF_INET6, "ff00::", 8, RT_TABLE_LOCAL, RTN_MULTICAST },
	  { -1, "::" } },
	{ "IPv6 anycast skipped",
	  { AF_INET6, "2001:db8::", 64, RT_TABLE_LOCAL, RTN_ANYCAST },
	  { -1, "::" } },
	{ "IPv4 multicast routing skipped",
	  { RTNL_FAMILY_IPMR, NULL, 0, RT_TABLE_DEFAULT, RTN_LOCAL },
	  { -1, "::" } },
};

Test(local_addrs, parse_routes)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(route_cases); i++) {
		const struct route_case *tc = &route_cases[i];
		struct canned c = {};
		struct local_addr_list list = {};
		int ret;

		put_route(&c, &tc->route);
		ret = parse_exact(c.words, c.len, &list);
		cr_assert_eq(ret, 1, "%s: got %d, want 1 (more expected)", tc->name, ret);
		if (tc->want.prefixlen < 0) {
			cr_assert_eq(list.count, 0, "%s: %zu keys, want it skipped", tc->name,
				     list.count);
		} else {
			cr_assert_eq(list.count, 1, "%s: %zu keys, want 1", tc->name, list.count);
			assert_key(&list.keys[0], &tc->want, tc->name);
		}
		local_addrs_free(&list);
		cr_assert_null(list.keys);
		cr_assert_eq(list.count, 0);
	}
}

Test(local_addrs, parse_several_messages_in_one_buffer)
{
	struct canned c = {};
	struct local_addr_list list = {};
	size_t i, n = 0;

	/* Every case twice: more than the first allocation holds, so that the list has to grow. */
	for (i = 0; i < 2 * ARRAY_SIZE(route_cases); i++)
		put_route(&c, &route_cases[i % ARRAY_SIZE(route_cases)].route);
	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	for (i = 0; i < 2 * ARRAY_SIZE(route_cases); i++) {
		const struct route_case *tc = &route_cases[i % ARRAY_SIZE(route_cases)];

		if (tc->want.prefixlen < 0)
			continue;
		cr_assert_lt(n, list.count, "%s: missing", tc->name);
		assert_key(&list.keys[n++], &tc->want, tc->name);
	}
	cr_assert_eq(list.count, n, "%zu keys, want %zu", list.count, n);
	cr_assert_gt(n, 16);
	local_addrs_free(&list);
}

Test(local_addrs, parse_done_alone)
{
	struct canned c = {};
	struct local_addr_list list = {};

	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	cr_assert_eq(list.count, 0);
	cr_assert_eq(parse_exact(c.words, 0, &list), 1, "an empty buffer: more expected");
	local_addrs_free(&list);
}

struct error_case {
	const char *name;
	bool done; /* NLMSG_DONE carrying the status, else NLMSG_ERROR */
	int status;
	int want;
};

Test(local_addrs, parse_kernel_errors)
{
	static const struct error_case cases[] = {
		{ "NLMSG_ERROR -EPERM", false, -EPERM, -EPERM },
		{ "NLMSG_ERROR -EOPNOTSUPP", false, -EOPNOTSUPP, -EOPNOTSUPP },
		{ "NLMSG_DONE -ENOBUFS", true, -ENOBUFS, -ENOBUFS },
	};
	static const struct route_spec before = { AF_INET6, "::1", 128, RT_TABLE_LOCAL, RTN_LOCAL };
	static const struct route_spec after = { AF_INET, "127.0.0.1", 32, RT_TABLE_LOCAL,
						 RTN_LOCAL };
	static const struct key_spec before_key = { 128, "::1" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct error_case *tc = &cases[i];
		struct canned c = {};
		struct local_addr_list list = {};
		int ret;

		put_route(&c, &before);
		cr_assert_eq(parse_exact(c.words, c.len, &list), 1, "%s: setup", tc->name);
		c.len = 0;
		put_route(&c, &after);
		if (tc->done)
			put_done(&c, tc->status);
		else
			put_error(&c, tc->status);
		ret = parse_exact(c.words, c.len, &list);
		cr_assert_eq(ret, tc->want, "%s: got %d, want %d", tc->name, ret, tc->want);
		cr_assert_eq(list.count, 1, "%s: %zu keys kept, want the 1 from before", tc->name,
			     list.count);
		assert_key(&list.keys[0], &before_key, tc->name);
		local_addrs_free(&list);
	}
}

Test(local_addrs, parse_every_truncation)
{
	static const struct route_spec v4 = { AF_INET, "127.0.0.0", 8, RT_TABLE_LOCAL, RTN_LOCAL };
	static const struct route_spec v6 = { AF_INET6, "::1", 128, RT_TABLE_LOCAL, RTN_LOCAL };
	struct canned c = {};
	struct local_addr_list list = {};
	size_t b1, b2, len, want_count;
	int ret, want;

	put_route(&c, &v4);
	b1 = c.len;
	put_route(&c, &v6);
	b2 = c.len;
	put_done(&c, 0);

	for (len = 0; len <= c.len; len++) {
		list.count = 0;
		ret = parse_exact(c.words, len, &list);
		if (len == c.len) {
			want = 0;
			want_count = 2;
		} else if (len == 0 || len == b1 || len == b2) {
			want = 1;
			want_count = len == 0 ? 0 : len == b1 ? 1 : 2;
		} else {
			want = -EBADMSG;
			want_count = 0;
		}
		cr_assert_eq(ret, want, "truncated to %zu of %zu bytes: got %d, want %d", len,
			     c.len, ret, want);
		cr_assert_eq(list.count, want_count, "truncated to %zu: %zu keys, want %zu", len,
			     list.count, want_count);
	}
	local_addrs_free(&list);
}

static const struct route_spec local_v4 = { AF_INET, "192.0.2.7", 32, RT_TABLE_LOCAL, RTN_LOCAL };
static const struct route_spec local_v6 = { AF_INET6, "::1", 128, RT_TABLE_LOCAL, RTN_LOCAL };

/* RTA_DST is the middle attribute: RTA_TABLE (8 bytes) comes first. */
static struct nlattr *dst_attr(const struct nlmsghdr *nlh)
{
	return (struct nlattr *)((char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(struct rtmsg)) +
				 8);
}

/* The last attribute is RTA_OIF: 4 bytes of header, 4 of payload. */
static struct nlattr *last_attr(const struct nlmsghdr *nlh)
{
	return (struct nlattr *)((char *)mnl_nlmsg_get_payload_tail(nlh) - 8);
}

static void bad_len_misaligned(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len -= 1;
}

static void bad_len_misaligned_buffer_too(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len -= 3;
	c->len -= 3;
}

static void bad_len_beyond_buffer(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len += 4;
}

static void bad_len_2g(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len = 0x80000000u;
}

static void bad_len_4g(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len = 0xfffffffcu;
}

static void bad_len_zero(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_len = 0;
}

static void bad_trailing_bytes(struct canned *c)
{
	put_route(c, &local_v4);
	put_done(c, 0);
	c->len += 8;
}

static void bad_short_payload(struct canned *c)
{
	struct nlmsghdr *nlh = canned_put_header(c, RTM_NEWROUTE, NLM_F_MULTI);

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg) - 4);
	canned_end(c, nlh);
}

static void bad_empty_payload(struct canned *c)
{
	canned_end(c, canned_put_header(c, RTM_NEWROUTE, NLM_F_MULTI));
}

static void bad_attr_beyond_message(struct canned *c)
{
	last_attr(put_route(c, &local_v4))->nla_len = 64;
	put_done(c, 0);
}

static void bad_attr_beyond_buffer(struct canned *c)
{
	last_attr(put_route(c, &local_v4))->nla_len = 0xfffc;
}

static void bad_attr_len_below_header(struct canned *c)
{
	dst_attr(put_route(c, &local_v4))->nla_len = 3;
}

static void bad_attr_len_zero(struct canned *c)
{
	dst_attr(put_route(c, &local_v6))->nla_len = 0;
}

static void bad_dst_v4_too_long(struct canned *c)
{
	static const struct route_spec s = { AF_INET6, "::ffff:192.0.2.7", 32, RT_TABLE_LOCAL,
					     RTN_LOCAL };

	/* An IPv4 route carrying a 16-byte RTA_DST. */
	((struct rtmsg *)mnl_nlmsg_get_payload(put_route(c, &s)))->rtm_family = AF_INET;
}

static void bad_dst_v6_too_short(struct canned *c)
{
	struct nlmsghdr *nlh = put_route(c, &local_v4);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	/* An IPv6 route carrying a 4-byte RTA_DST. */
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 32;
}

static void bad_dst_v4_shortened(struct canned *c)
{
	dst_attr(put_route(c, &local_v4))->nla_len -= 1;
}

static void bad_dst_len_v4(struct canned *c)
{
	((struct rtmsg *)mnl_nlmsg_get_payload(put_route(c, &local_v4)))->rtm_dst_len = 33;
}

static void bad_dst_len_v6(struct canned *c)
{
	((struct rtmsg *)mnl_nlmsg_get_payload(put_route(c, &local_v6)))->rtm_dst_len = 129;
}

static void bad_dst_missing(struct canned *c)
{
	static const struct route_spec s = { AF_INET, NULL, 24, RT_TABLE_LOCAL, RTN_LOCAL };

	put_route(c, &s);
}

static void bad_dst_in_unicast(struct canned *c)
{
	struct route_spec s = local_v4;

	/* Checked even in a route that would be skipped. */
	s.type = RTN_UNICAST;
	((struct rtmsg *)mnl_nlmsg_get_payload(put_route(c, &s)))->rtm_dst_len = 40;
}

static void bad_type_newaddr(struct canned *c)
{
	put_route(c, &local_v4)->nlmsg_type = RTM_NEWADDR;
}

static void bad_type_overrun(struct canned *c)
{
	put_done(c, 0)->nlmsg_type = NLMSG_OVERRUN;
}

static void bad_type_zero(struct canned *c)
{
	put_done(c, 0)->nlmsg_type = 0;
}

static void bad_error_ack(struct canned *c)
{
	put_route(c, &local_v4);
	put_error(c, 0);
}

static void bad_error_int_min(struct canned *c)
{
	put_error(c, INT_MIN);
}

static void bad_error_short(struct canned *c)
{
	struct nlmsghdr *nlh = canned_put_header(c, NLMSG_ERROR, 0);
	int *error = mnl_nlmsg_put_extra_header(nlh, sizeof(*error));

	*error = -EPERM;
	canned_end(c, nlh);
}

static void bad_done_short(struct canned *c)
{
	canned_end(c, canned_put_header(c, NLMSG_DONE, NLM_F_MULTI));
}

static void bad_dump_intr(struct canned *c)
{
	put_route(c, &local_v4);
	put_route(c, &local_v6);
	put_done(c, 0)->nlmsg_flags |= NLM_F_DUMP_INTR;
}

struct malformed_case {
	const char *name;
	void (*build)(struct canned *c);
	int want;
};

static const struct malformed_case malformed_cases[] = {
	{ "nlmsg_len misaligned", bad_len_misaligned, -EBADMSG },
	{ "nlmsg_len and buffer misaligned", bad_len_misaligned_buffer_too, -EBADMSG },
	{ "nlmsg_len beyond buffer", bad_len_beyond_buffer, -EBADMSG },
	{ "nlmsg_len 2^31", bad_len_2g, -EBADMSG },
	{ "nlmsg_len 2^32-4", bad_len_4g, -EBADMSG },
	{ "nlmsg_len 0", bad_len_zero, -EBADMSG },
	{ "trailing bytes after NLMSG_DONE", bad_trailing_bytes, -EBADMSG },
	{ "payload shorter than rtmsg", bad_short_payload, -EBADMSG },
	{ "empty payload", bad_empty_payload, -EBADMSG },
	{ "attribute beyond message", bad_attr_beyond_message, -EBADMSG },
	{ "attribute beyond buffer", bad_attr_beyond_buffer, -EBADMSG },
	{ "attribute length below header", bad_attr_len_below_header, -EBADMSG },
	{ "attribute length 0", bad_attr_len_zero, -EBADMSG },
	{ "IPv4 RTA_DST of 16 bytes", bad_dst_v4_too_long, -EBADMSG },
	{ "IPv6 RTA_DST of 4 bytes", bad_dst_v6_too_short, -EBADMSG },
	{ "IPv4 RTA_DST of 3 bytes", bad_dst_v4_shortened, -EBADMSG },
	{ "IPv4 rtm_dst_len 33", bad_dst_len_v4, -EBADMSG },
	{ "IPv6 rtm_dst_len 129", bad_dst_len_v6, -EBADMSG },
	{ "rtm_dst_len 24 without RTA_DST", bad_dst_missing, -EBADMSG },
	{ "bad unicast route", bad_dst_in_unicast, -EBADMSG },
	{ "message type RTM_NEWADDR", bad_type_newaddr, -EBADMSG },
	{ "message type NLMSG_OVERRUN", bad_type_overrun, -EBADMSG },
	{ "message type 0", bad_type_zero, -EBADMSG },
	{ "NLMSG_ERROR 0 (an ack) in a dump", bad_error_ack, -EBADMSG },
	{ "NLMSG_ERROR INT_MIN", bad_error_int_min, -EBADMSG },
	{ "NLMSG_ERROR shorter than nlmsgerr", bad_error_short, -EBADMSG },
	{ "NLMSG_DONE without status", bad_done_short, -EBADMSG },
	{ "NLM_F_DUMP_INTR", bad_dump_intr, -EINTR },
};

Test(local_addrs, parse_malformed)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(malformed_cases); i++) {
		const struct malformed_case *tc = &malformed_cases[i];
		struct canned c = {};
		struct local_addr_list list = {};
		int ret;

		tc->build(&c);
		ret = parse_exact(c.words, c.len, &list);
		cr_assert_eq(ret, tc->want, "%s: got %d, want %d", tc->name, ret, tc->want);
		cr_assert_eq(list.count, 0, "%s: %zu keys kept from a bad reply", tc->name,
			     list.count);
		local_addrs_free(&list);
	}
}

Test(local_addrs, parse_bad_arguments)
{
	struct canned c = {};
	struct local_addr_list list = {};

	put_done(&c, 0);
	cr_assert_eq(local_addrs_parse_reply(c.words, c.len, NULL), -EINVAL);
	cr_assert_eq(local_addrs_parse_reply(NULL, 16, &list), -EINVAL);
	cr_assert_eq(local_addrs_parse_reply((char *)c.words + 1, c.len, &list), -EINVAL,
		     "a misaligned buffer");
	cr_assert_eq(local_addrs_parse_reply(c.words, (size_t)INT_MAX + 1, &list), -EMSGSIZE);
}

/* xorshift32: a fixed seed keeps a failure reproducible. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

Test(local_addrs, parse_garbage)
{
	struct canned valid = {};
	uint32_t seed = 0xc0ffee11;
	struct local_addr_list list = {};
	uint32_t words[256];
	uint8_t *bytes = (uint8_t *)words;
	size_t i, j, len, before;
	int ret;

	put_route(&valid, &local_v4);
	put_route(&valid, &local_v6);
	put_route(&valid, &route_cases[2].route);
	put_done(&valid, 0);

	for (i = 0; i < 6000; i++) {
		switch (i % 3) {
		case 0: /* random bytes */
			len = next_random(&seed) % sizeof(words);
			for (j = 0; j < len; j++)
				bytes[j] = next_random(&seed);
			break;
		case 1: /* random bytes under a plausible header, to get past the framing */
			len = (sizeof(struct nlmsghdr) + next_random(&seed) % 128) & ~3u;
			for (j = 0; j < len; j++)
				bytes[j] = next_random(&seed);
			((struct nlmsghdr *)words)->nlmsg_len = len;
			((struct nlmsghdr *)words)->nlmsg_type = RTM_NEWROUTE;
			((struct nlmsghdr *)words)->nlmsg_flags = NLM_F_MULTI;
			break;
		default: /* a valid reply with a few bytes changed, perhaps cut short */
			len = valid.len;
			memcpy(bytes, valid.words, len);
			for (j = next_random(&seed) % 4 + 1; j > 0; j--)
				bytes[next_random(&seed) % len] = next_random(&seed);
			if (next_random(&seed) % 4 == 0)
				len = next_random(&seed) % (len + 1);
			break;
		}
		before = list.count;
		ret = parse_exact(bytes, len, &list);
		cr_assert(ret == 0 || ret == 1 || (ret < 0 && ret >= -4095),
			  "garbage %zu: return %d is neither a status nor -errno", i, ret);
		if (ret < 0)
			cr_assert_eq(list.count, before, "garbage %zu: list changed on error %d", i,
				     ret);
		cr_assert_leq(list.count - before, len / NLMSG_SPACE(sizeof(struct rtmsg)),
			      "garbage %zu: more keys than messages", i);
		for (j = before; j < list.count; j++)
			cr_assert_leq(list.keys[j].prefixlen, 128, "garbage %zu: prefixlen %u", i,
				      list.keys[j].prefixlen);
	}
	local_addrs_free(&list);
}
