// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag_parse_reply() on canned sock_diag replies built with libmnl, well-formed and hostile, and
 * diag_select_listener() against a table of listener sets.
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

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "diag.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A reply buffer, aligned as a recv buffer is, and the bytes used so far. */
struct canned {
	uint32_t words[2048];
	size_t len;
};

/* One listener as the kernel would report it. v6only < 0 leaves INET_DIAG_SKV6ONLY out. */
struct listener_spec {
	int family;
	const char *addr;
	uint16_t port;
	uint32_t uid;
	uint32_t inode;
	uint32_t ifindex;
	int v6only;
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

static void ip_from_string(int family, const char *addr, uint32_t ip[4])
{
	memset(ip, 0, 4 * sizeof(uint32_t));
	cr_assert_eq(inet_pton(family, addr, ip), 1, "bad address in test: %s", addr);
}

static struct nlmsghdr *put_listener_state(struct canned *c, const struct listener_spec *s,
					   uint8_t state)
{
	struct nlmsghdr *nlh = canned_put_header(c, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI);
	struct inet_diag_msg *msg = mnl_nlmsg_put_extra_header(nlh, sizeof(*msg));

	msg->idiag_family = s->family;
	msg->idiag_state = state;
	msg->id.idiag_sport = htons(s->port);
	ip_from_string(s->family, s->addr, msg->id.idiag_src);
	msg->id.idiag_if = s->ifindex;
	msg->id.idiag_cookie[0] = 0x1234;
	msg->idiag_uid = s->uid;
	msg->idiag_inode = s->inode;
	/* What a 6.x kernel sends with every listener, unasked. */
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);
	if (s->v6only >= 0)
		mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, s->v6only);
	mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, 0x2a);
	canned_end(c, nlh);
	return nlh;
}

static struct nlmsghdr *put_listener(struct canned *c, const struct listener_spec *s)
{
	return put_listener_state(c, s, TCP_LISTEN);
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
	err->msg.nlmsg_len = sizeof(err->msg) + sizeof(struct inet_diag_req_v2);
	err->msg.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	canned_end(c, nlh);
	return nlh;
}

static const struct listener_spec v4_spec = {
	AF_INET, "127.0.0.1", 8001, 2001, 123456, 0, -1,
};
static const struct listener_spec v6_spec = {
	AF_INET6, "2001:db8::7", 8002, 2002, 654321, 0, 1,
};
static const struct listener_spec v6_dual_spec = {
	AF_INET6, "::", 22, 0, 1111, 0, 0,
};
static const struct listener_spec v4_dev_spec = {
	AF_INET, "0.0.0.0", 53, 101, 2222, 3, -1,
};

static void assert_listener(const struct diag_listener *got, const struct listener_spec *want,
			    const char *name)
{
	uint32_t ip[4];

	ip_from_string(want->family, want->addr, ip);
	cr_assert_eq(got->family, want->family, "%s: family %d, want %d", name, got->family,
		     want->family);
	cr_assert_arr_eq(got->ip, ip, sizeof(ip), "%s: address differs from %s", name, want->addr);
	cr_assert_eq(got->port, want->port, "%s: port %u, want %u", name, got->port, want->port);
	cr_assert_eq(got->uid, want->uid, "%s: uid %u, want %u", name, got->uid, want->uid);
	cr_assert_eq(got->inode, want->inode, "%s: inode %llu, want %u", name,
		     (unsigned long long)got->inode, want->inode);
	cr_assert_eq(got->ifindex, want->ifindex, "%s: ifindex %u, want %u", name, got->ifindex,
		     want->ifindex);
	cr_assert_eq(got->v6only, want->v6only > 0, "%s: v6only %d, want %d", name, got->v6only,
		     want->v6only > 0);
}

/* Parse a copy of exactly len bytes, so that ASan and valgrind see any read past the end. */
static int parse_exact(const void *buf, size_t len, struct diag_list *out)
{
	void *copy = malloc(len ? len : 1);
	int ret;

	cr_assert_not_null(copy, "out of memory");
	memcpy(copy, buf, len);
	ret = diag_parse_reply(copy, len, out);
	free(copy);
	return ret;
}

Test(diag, parse_ipv4_listener)
{
	struct canned c = {};
	struct diag_list list = {};

	put_listener(&c, &v4_spec);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 1, "no NLMSG_DONE yet: more expected");
	cr_assert_eq(list.count, 1);
	assert_listener(&list.items[0], &v4_spec, "ipv4");
	diag_list_free(&list);
	cr_assert_null(list.items);
	cr_assert_eq(list.count, 0);
}

Test(diag, parse_ipv6_v6only_listener)
{
	struct canned c = {};
	struct diag_list list = {};

	put_listener(&c, &v6_spec);
	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	cr_assert_eq(list.count, 1);
	assert_listener(&list.items[0], &v6_spec, "ipv6 v6only");
	diag_list_free(&list);
}

Test(diag, parse_several_messages_in_one_buffer)
{
	const struct listener_spec *specs[] = { &v4_spec, &v6_spec, &v6_dual_spec, &v4_dev_spec };
	struct canned c = {};
	struct diag_list list = {};
	size_t i;

	/* More than the first allocation holds, so that the list has to grow. */
	for (i = 0; i < 40; i++)
		put_listener(&c, specs[i % ARRAY_SIZE(specs)]);
	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	cr_assert_eq(list.count, 40);
	cr_assert_geq(list.capacity, list.count);
	for (i = 0; i < 40; i++)
		assert_listener(&list.items[i], specs[i % ARRAY_SIZE(specs)], "several");
	diag_list_free(&list);
}

Test(diag, parse_appends_across_buffers)
{
	struct canned first = {}, second = {};
	struct diag_list list = {};

	put_listener(&first, &v4_spec);
	put_listener(&second, &v6_spec);
	put_done(&second, 0);
	cr_assert_eq(parse_exact(first.words, first.len, &list), 1);
	cr_assert_eq(parse_exact(second.words, second.len, &list), 0);
	cr_assert_eq(list.count, 2);
	assert_listener(&list.items[0], &v4_spec, "first buffer");
	assert_listener(&list.items[1], &v6_spec, "second buffer");
	diag_list_free(&list);
}

Test(diag, parse_done_alone)
{
	struct canned c = {};
	struct diag_list list = {};

	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	cr_assert_eq(list.count, 0);
	cr_assert_eq(parse_exact(c.words, 0, &list), 1, "an empty buffer: more expected");
	diag_list_free(&list);
}

Test(diag, parse_skips_noop_and_non_listeners)
{
	struct canned c = {};
	struct diag_list list = {};
	struct nlmsghdr *nlh;

	nlh = canned_put_header(&c, NLMSG_NOOP, 0);
	canned_end(&c, nlh);
	put_listener_state(&c, &v4_spec, TCP_ESTABLISHED);
	put_listener(&c, &v6_spec);
	put_done(&c, 0);
	cr_assert_eq(parse_exact(c.words, c.len, &list), 0);
	cr_assert_eq(list.count, 1);
	assert_listener(&list.items[0], &v6_spec, "after noop and established");
	diag_list_free(&list);
}

/* Errors the kernel reports: the exact errno comes back, and the list is left as it was. */
struct error_case {
	const char *name;
	bool done; /* NLMSG_DONE carrying the status, else NLMSG_ERROR */
	int status;
	int want;
};

Test(diag, parse_kernel_errors)
{
	static const struct error_case cases[] = {
		{ "NLMSG_ERROR -EPERM", false, -EPERM, -EPERM },
		{ "NLMSG_ERROR -ENOENT", false, -ENOENT, -ENOENT },
		{ "NLMSG_ERROR -4095", false, -4095, -4095 },
		{ "NLMSG_DONE -ENOBUFS", true, -ENOBUFS, -ENOBUFS },
		{ "NLMSG_DONE -EMSGSIZE", true, -EMSGSIZE, -EMSGSIZE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct error_case *tc = &cases[i];
		struct canned c = {};
		struct diag_list list = {};
		int ret;

		put_listener(&c, &v4_spec);
		cr_assert_eq(parse_exact(c.words, c.len, &list), 1, "%s: setup", tc->name);
		c.len = 0;
		put_listener(&c, &v6_spec);
		if (tc->done)
			put_done(&c, tc->status);
		else
			put_error(&c, tc->status);
		ret = parse_exact(c.words, c.len, &list);
		cr_assert_eq(ret, tc->want, "%s: got %d, want %d", tc->name, ret, tc->want);
		cr_assert_eq(list.count, 1, "%s: %zu listeners kept, want the 1 from before",
			     tc->name, list.count);
		assert_listener(&list.items[0], &v4_spec, tc->name);
		diag_list_free(&list);
	}
}

Test(diag, parse_every_truncation)
{
	struct canned c = {};
	struct diag_list list = {};
	size_t b1, b2, len;
	int ret, want;
	size_t want_count;

	put_listener(&c, &v4_spec);
	b1 = c.len;
	put_listener(&c, &v6_spec);
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
		cr_assert_eq(list.count, want_count, "truncated to %zu: %zu listeners, want %zu",
			     len, list.count, want_count);
	}
	diag_list_free(&list);
}

/* Builders of malformed replies: each starts from an empty canned buffer. */
static void bad_len_misaligned(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len -= 1;
}

static void bad_len_misaligned_buffer_too(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len -= 1;
	c->len -= 1;
}

static void bad_len_misaligned_before_done(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);

	nlh->nlmsg_len -= 2;
	put_done(c, 0);
}

static void bad_len_beyond_buffer(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len += 4;
}

static void bad_len_2g(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len = 0x80000000u;
}

static void bad_len_4g(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len = 0xfffffffcu;
}

static void bad_len_zero(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len = 0;
}

static void bad_len_below_header(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_len = 8;
}

static void bad_trailing_bytes(struct canned *c)
{
	put_listener(c, &v4_spec);
	c->len += 4;
}

static void bad_short_payload(struct canned *c)
{
	struct nlmsghdr *nlh = canned_put_header(c, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI);
	struct inet_diag_msg *msg = mnl_nlmsg_put_extra_header(nlh, sizeof(*msg) - 4);

	msg->idiag_family = AF_INET;
	msg->idiag_state = TCP_LISTEN;
	canned_end(c, nlh);
}

static void bad_empty_payload(struct canned *c)
{
	canned_end(c, canned_put_header(c, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI));
}

/* The listener's last attribute is INET_DIAG_CGROUP_ID: 4 bytes of header, 8 of payload. */
static struct nlattr *last_attr(const struct nlmsghdr *nlh)
{
	return (struct nlattr *)((char *)mnl_nlmsg_get_payload_tail(nlh) - 12);
}

static void bad_attr_beyond_message(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);

	last_attr(nlh)->nla_len = 200;
	put_done(c, 0);
}

static void bad_attr_beyond_buffer(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);

	last_attr(nlh)->nla_len = 0xfff0;
}

static void bad_attr_len_below_header(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);

	last_attr(nlh)->nla_len = 2;
}

static void bad_attr_len_zero(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);

	last_attr(nlh)->nla_len = 0;
}

static void bad_v6only_wide(struct canned *c)
{
	struct listener_spec s = v6_spec;
	struct nlmsghdr *nlh;

	s.v6only = -1;
	nlh = put_listener(c, &s);
	c->len -= nlh->nlmsg_len;
	mnl_attr_put_u32(nlh, INET_DIAG_SKV6ONLY, 1);
	canned_end(c, nlh);
}

static void bad_v6only_empty(struct canned *c)
{
	struct listener_spec s = v6_spec;
	struct nlmsghdr *nlh;

	s.v6only = -1;
	nlh = put_listener(c, &s);
	c->len -= nlh->nlmsg_len;
	mnl_attr_put(nlh, INET_DIAG_SKV6ONLY, 0, NULL);
	canned_end(c, nlh);
}

static void bad_family(struct canned *c)
{
	struct nlmsghdr *nlh = put_listener(c, &v4_spec);
	struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);

	msg->idiag_family = AF_UNIX;
}

static void bad_type_route(struct canned *c)
{
	put_listener(c, &v4_spec)->nlmsg_type = RTM_NEWROUTE;
}

static void bad_type_overrun(struct canned *c)
{
	put_done(c, 0)->nlmsg_type = NLMSG_OVERRUN;
}

static void bad_type_zero(struct canned *c)
{
	put_done(c, 0)->nlmsg_type = 0;
}

static void bad_type_reserved_control(struct canned *c)
{
	put_done(c, 0)->nlmsg_type = NLMSG_MIN_TYPE - 1;
}

static void bad_error_ack(struct canned *c)
{
	put_listener(c, &v4_spec);
	put_error(c, 0);
}

static void bad_error_positive(struct canned *c)
{
	put_error(c, EPERM);
}

static void bad_error_int_min(struct canned *c)
{
	put_error(c, INT_MIN);
}

static void bad_error_beyond_errno(struct canned *c)
{
	put_error(c, -4096);
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

static void bad_done_positive(struct canned *c)
{
	put_done(c, 5);
}

static void bad_dump_intr(struct canned *c)
{
	put_listener(c, &v4_spec);
	put_listener(c, &v6_spec)->nlmsg_flags |= NLM_F_DUMP_INTR;
	put_done(c, 0);
}

struct malformed_case {
	const char *name;
	void (*build)(struct canned *c);
	int want;
};

static const struct malformed_case malformed_cases[] = {
	{ "nlmsg_len misaligned", bad_len_misaligned, -EBADMSG },
	{ "nlmsg_len and buffer misaligned", bad_len_misaligned_buffer_too, -EBADMSG },
	{ "nlmsg_len misaligned before NLMSG_DONE", bad_len_misaligned_before_done, -EBADMSG },
	{ "nlmsg_len beyond buffer", bad_len_beyond_buffer, -EBADMSG },
	{ "nlmsg_len 2^31", bad_len_2g, -EBADMSG },
	{ "nlmsg_len 2^32-4", bad_len_4g, -EBADMSG },
	{ "nlmsg_len 0", bad_len_zero, -EBADMSG },
	{ "nlmsg_len below header", bad_len_below_header, -EBADMSG },
	{ "trailing bytes", bad_trailing_bytes, -EBADMSG },
	{ "payload shorter than inet_diag_msg", bad_short_payload, -EBADMSG },
	{ "empty payload", bad_empty_payload, -EBADMSG },
	{ "attribute beyond message", bad_attr_beyond_message, -EBADMSG },
	{ "attribute beyond buffer", bad_attr_beyond_buffer, -EBADMSG },
	{ "attribute length below header", bad_attr_len_below_header, -EBADMSG },
	{ "attribute length 0", bad_attr_len_zero, -EBADMSG },
	{ "INET_DIAG_SKV6ONLY of 4 bytes", bad_v6only_wide, -EBADMSG },
	{ "INET_DIAG_SKV6ONLY empty", bad_v6only_empty, -EBADMSG },
	{ "family AF_UNIX", bad_family, -EBADMSG },
	{ "message type RTM_NEWROUTE", bad_type_route, -EBADMSG },
	{ "message type NLMSG_OVERRUN", bad_type_overrun, -EBADMSG },
	{ "message type 0", bad_type_zero, -EBADMSG },
	{ "message type 15", bad_type_reserved_control, -EBADMSG },
	{ "NLMSG_ERROR 0 (an ack) in a dump", bad_error_ack, -EBADMSG },
	{ "NLMSG_ERROR positive", bad_error_positive, -EBADMSG },
	{ "NLMSG_ERROR INT_MIN", bad_error_int_min, -EBADMSG },
	{ "NLMSG_ERROR -4096", bad_error_beyond_errno, -EBADMSG },
	{ "NLMSG_ERROR shorter than nlmsgerr", bad_error_short, -EBADMSG },
	{ "NLMSG_DONE without status", bad_done_short, -EBADMSG },
	{ "NLMSG_DONE positive status", bad_done_positive, -EBADMSG },
	{ "NLM_F_DUMP_INTR", bad_dump_intr, -EINTR },
};

Test(diag, parse_malformed)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(malformed_cases); i++) {
		const struct malformed_case *tc = &malformed_cases[i];
		struct canned c = {};
		struct diag_list list = {};
		int ret;

		tc->build(&c);
		ret = parse_exact(c.words, c.len, &list);
		cr_assert_eq(ret, tc->want, "%s: got %d, want %d", tc->name, ret, tc->want);
		cr_assert_eq(list.count, 0, "%s: %zu listeners kept from a bad reply", tc->name,
			     list.count);
		diag_list_free(&list);
	}
}

Test(diag, parse_bad_arguments)
{
	struct canned c = {};
	struct diag_list list = {};

	put_done(&c, 0);
	cr_assert_eq(diag_parse_reply(c.words, c.len, NULL), -EINVAL);
	cr_assert_eq(diag_parse_reply(NULL, 16, &list), -EINVAL);
	cr_assert_eq(diag_parse_reply((char *)c.words + 2, c.len, &list), -EINVAL,
		     "a misaligned buffer");
	cr_assert_eq(diag_parse_reply(c.words, (size_t)INT_MAX + 1, &list), -EMSGSIZE);
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

Test(diag, parse_garbage)
{
	struct canned valid = {};
	uint32_t seed = 0x5eed1e55;
	struct diag_list list = {};
	uint32_t words[256];
	uint8_t *bytes = (uint8_t *)words;
	size_t i, j, len, before;
	int ret;

	put_listener(&valid, &v4_spec);
	put_listener(&valid, &v6_spec);
	put_listener(&valid, &v6_dual_spec);
	put_done(&valid, 0);

	for (i = 0; i < 6000; i++) {
		switch (i % 3) {
		case 0: /* random bytes */
			len = next_random(&seed) % sizeof(words);
			for (j = 0; j < len; j++)
				bytes[j] = next_random(&seed);
			break;
		case 1: /* random bytes under a plausible header, to get past the framing */
			len = (sizeof(struct nlmsghdr) + next_random(&seed) % 256) & ~3u;
			for (j = 0; j < len; j++)
				bytes[j] = next_random(&seed);
			((struct nlmsghdr *)words)->nlmsg_len = len;
			((struct nlmsghdr *)words)->nlmsg_type = SOCK_DIAG_BY_FAMILY;
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
		cr_assert_leq(list.count - before, len / NLMSG_SPACE(sizeof(struct inet_diag_msg)),
			      "garbage %zu: more listeners than messages", i);
		for (j = before; j < list.count; j++)
			cr_assert(list.items[j].family == AF_INET ||
					  list.items[j].family == AF_INET6,
				  "garbage %zu: listener of family %d", i, list.items[j].family);
	}
	diag_list_free(&list);
}

/*
 * diag_select_listener() against the kernel's rules, one listener set per case. Endpoints are
 * written "a.b.c.d:port" or "[v6]:port", a listener's optionally followed by " v6only" or
 * " dev" (bound to a device).
 */
struct select_case {
	const char *name;
	const char *listeners[4]; /* NULL-terminated when fewer */
	const char *dest;
	int want; /* index into listeners, -1 for none */
};

static const struct select_case select_cases[] = {
	{ "v4 exact beats v4 wildcard", { "0.0.0.0:80", "127.0.0.1:80" }, "127.0.0.1:80", 1 },
	{ "v4 wildcard, exact is elsewhere", { "127.0.0.2:80", "0.0.0.0:80" }, "127.0.0.1:80", 1 },
	{ "v4 other address only", { "127.0.0.2:80" }, "127.0.0.1:80", -1 },
	{ "v4 wildcard beats dual-stack v6 wildcard",
	  { "[::]:80", "0.0.0.0:80" },
	  "127.0.0.1:80",
	  1 },
	{ "dual-stack v6 wildcard takes v4", { "[::]:80" }, "10.0.0.1:80", 0 },
	{ "v4 exact beats dual-stack v6 wildcard", { "[::]:80", "10.0.0.1:80" }, "10.0.0.1:80", 1 },
	{ "v6only wildcard does not take v4", { "[::]:80 v6only" }, "127.0.0.1:80", -1 },
	{ "v6only wildcard leaves v4 to v4",
	  { "[::]:80 v6only", "0.0.0.0:80" },
	  "127.0.0.1:80",
	  1 },
	{ "v4-mapped bound v6 takes v4", { "[::ffff:127.0.0.1]:80" }, "127.0.0.1:80", 0 },
	{ "v4-mapped exact beats v4 wildcard",
	  { "0.0.0.0:80", "[::ffff:127.0.0.1]:80" },
	  "127.0.0.1:80",
	  1 },
	{ "v4 exact beats v4-mapped exact",
	  { "[::ffff:127.0.0.1]:80", "127.0.0.1:80" },
	  "127.0.0.1:80",
	  1 },
	{ "v4-mapped other address", { "[::ffff:127.0.0.2]:80" }, "127.0.0.1:80", -1 },
	{ "v4-mapped any is a v4 wildcard", { "[::ffff:0.0.0.0]:80" }, "127.0.0.1:80", 0 },
	{ "v4-mapped any does not take v6", { "[::ffff:0.0.0.0]:80" }, "[::1]:80", -1 },
	{ "v6 bound to ::1 does not take v4", { "[::1]:80" }, "127.0.0.1:80", -1 },
	{ "v6 exact beats v6 wildcard", { "[::]:80", "[::1]:80 v6only" }, "[::1]:80", 1 },
	{ "v6only wildcard takes v6", { "0.0.0.0:80", "[::]:80 v6only" }, "[::1]:80", 1 },
	{ "v4 wildcard does not take v6", { "0.0.0.0:80" }, "[::1]:80", -1 },
	{ "v6 other address", { "[2001:db8::1]:80" }, "[2001:db8::2]:80", -1 },
	{ "bound to device skipped", { "127.0.0.1:80 dev", "0.0.0.0:80" }, "127.0.0.1:80", 1 },
	{ "bound to device only", { "0.0.0.0:80 dev", "[::]:80 dev" }, "127.0.0.1:80", -1 },
	{ "v6 bound to device skipped", { "[::1]:80 dev", "[::]:80" }, "[::1]:80", 1 },
	{ "port mismatch", { "127.0.0.1:81", "[::]:8080", "0.0.0.0:79" }, "127.0.0.1:80", -1 },
	{ "v6 port mismatch", { "[::1]:81" }, "[::1]:80", -1 },
	{ "first of equal best", { "0.0.0.0:80", "0.0.0.0:80" }, "127.0.0.1:80", 0 },
	{ "no listeners", { NULL }, "127.0.0.1:80", -1 },
};

/* "a.b.c.d:port [v6only] [dev]" or "[v6]:port [v6only] [dev]" into l. */
static void endpoint_from_string(const char *text, struct diag_listener *l)
{
	char addr[64];
	unsigned int port;
	int n;

	memset(l, 0, sizeof(*l));
	if (text[0] == '[') {
		n = sscanf(text, "[%63[^]]]:%u", addr, &port);
		l->family = AF_INET6;
	} else {
		n = sscanf(text, "%63[^:]:%u", addr, &port);
		l->family = AF_INET;
	}
	cr_assert_eq(n, 2, "bad endpoint in test: %s", text);
	ip_from_string(l->family, addr, l->ip);
	l->port = port;
	l->v6only = strstr(text, " v6only") != NULL;
	l->ifindex = strstr(text, " dev") ? 7 : 0;
}

Test(diag, select_listener)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(select_cases); i++) {
		const struct select_case *tc = &select_cases[i];
		struct diag_listener items[ARRAY_SIZE(tc->listeners)];
		struct diag_list list = { items, 0, ARRAY_SIZE(items) };
		const struct diag_listener *got;
		struct diag_listener dest;
		const char *chosen;
		struct tg_dest d = {};

		for (j = 0; j < ARRAY_SIZE(tc->listeners) && tc->listeners[j]; j++) {
			endpoint_from_string(tc->listeners[j], &items[j]);
			items[j].uid = 1000 + j;
			list.count++;
		}
		endpoint_from_string(tc->dest, &dest);
		d.family = dest.family == AF_INET ? TG_AF_INET : TG_AF_INET6;
		memcpy(d.ip, dest.ip, sizeof(d.ip));
		d.port = dest.port;

		errno = 0;
		got = diag_select_listener(&list, &d);
		chosen = got ? tc->listeners[got - items] : "none";
		if (tc->want < 0) {
			cr_assert_null(got, "%s: chose %s, want none", tc->name, chosen);
			cr_assert_eq(errno, ENOENT, "%s: errno %d, want ENOENT", tc->name, errno);
		} else {
			cr_assert_eq(got, &items[tc->want], "%s: chose %s, want %s (%d)", tc->name,
				     chosen, tc->listeners[tc->want], tc->want);
		}
	}
}

Test(diag, select_bad_arguments)
{
	struct diag_list list = {};
	struct tg_dest d = {};

	errno = 0;
	cr_assert_null(diag_select_listener(NULL, &d));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(diag_select_listener(&list, NULL));
	cr_assert_eq(errno, EINVAL);
}
