// SPDX-License-Identifier: GPL-2.0-only
/* test_addr.c - destination normalisation and loopback classification of include/tg_addr.h. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "tg_addr.h"

struct addr_case {
	const char *name;
	const char *daddr; /* as the caller wrote it */
	const char *bound; /* the socket's bound source; NULL: unbound */
	__u16 port;	   /* host order */
	__u32 want_family; /* TG_AF_INET or TG_AF_INET6 */
	const char *want;  /* the address the listener lookup must use */
	int want_loopback; /* tg_dest_is_loopback() of the result */
};

static void pton(const char *name, int af, const char *text, __u32 *out)
{
	memset(out, 0, 16);
	cr_assert_eq(inet_pton(af, text, out), 1, "%s: inet_pton(\"%s\") failed", name, text);
}

/* Assert d is exactly { family, want, port } with every unused word zeroed. */
static void assert_dest(const char *name, const struct tg_dest *d, __u32 family, const char *want,
			__u16 port, int loopback)
{
	char got_text[INET6_ADDRSTRLEN] = "?";
	__u32 want_ip[4];

	pton(name, family == TG_AF_INET ? AF_INET : AF_INET6, want, want_ip);
	inet_ntop(d->family == TG_AF_INET ? AF_INET : AF_INET6, d->ip, got_text, sizeof(got_text));
	cr_assert_eq(d->family, family, "%s: family %u (%s), want %u (%s)", name, d->family,
		     got_text, family, want);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(d->ip[i], want_ip[i], "%s: ip[%d] %#x, want %#x (got %s, want %s)",
			     name, i, d->ip[i], want_ip[i], got_text, want);
	cr_assert_eq(d->port, port, "%s: port %u, want %u", name, d->port, port);
	cr_assert_eq(d->pad, 0, "%s: pad %u, want 0", name, d->pad);
	cr_assert_eq(tg_dest_is_loopback(d), loopback, "%s: tg_dest_is_loopback is %d, want %d",
		     name, tg_dest_is_loopback(d), loopback);
}

static const struct addr_case v4_cases[] = {
	{ "0.0.0.0 unbound", "0.0.0.0", NULL, 8001, TG_AF_INET, "127.0.0.1", 1 },
	{ "0.0.0.0 bound to 10.1.2.3", "0.0.0.0", "10.1.2.3", 8001, TG_AF_INET, "10.1.2.3", 0 },
	{ "0.0.0.0 bound to 127.0.0.5", "0.0.0.0", "127.0.0.5", 22, TG_AF_INET, "127.0.0.5", 1 },
	{ "127.0.0.1 kept", "127.0.0.1", NULL, 80, TG_AF_INET, "127.0.0.1", 1 },
	{ "127.0.0.2 kept", "127.0.0.2", NULL, 8001, TG_AF_INET, "127.0.0.2", 1 },
	{ "127.0.0.2 kept despite a bound source", "127.0.0.2", "10.1.2.3", 8001, TG_AF_INET,
	  "127.0.0.2", 1 },
	{ "127.0.0.0 is in 127/8", "127.0.0.0", NULL, 1, TG_AF_INET, "127.0.0.0", 1 },
	{ "127.255.255.254 is loopback", "127.255.255.254", NULL, 8001, TG_AF_INET,
	  "127.255.255.254", 1 },
	{ "127.255.255.255 is in 127/8", "127.255.255.255", NULL, 8001, TG_AF_INET,
	  "127.255.255.255", 1 },
	{ "126.255.255.255 is not loopback", "126.255.255.255", NULL, 8001, TG_AF_INET,
	  "126.255.255.255", 0 },
	{ "128.0.0.1 is not loopback", "128.0.0.1", NULL, 8001, TG_AF_INET, "128.0.0.1", 0 },
	{ "10.1.2.3 kept", "10.1.2.3", NULL, 65535, TG_AF_INET, "10.1.2.3", 0 },
	{ "port 0 kept", "127.0.0.1", NULL, 0, TG_AF_INET, "127.0.0.1", 1 },
};

Test(addr, from_v4)
{
	for (size_t i = 0; i < sizeof(v4_cases) / sizeof(v4_cases[0]); i++) {
		const struct addr_case *c = &v4_cases[i];
		__u32 daddr[4], bound[4] = { 0 };
		struct tg_dest d;

		pton(c->name, AF_INET, c->daddr, daddr);
		if (c->bound)
			pton(c->name, AF_INET, c->bound, bound);
		memset(&d, 0xa5, sizeof(d));
		tg_dest_from_v4(&d, daddr[0], bound[0], c->port);
		assert_dest(c->name, &d, c->want_family, c->want, c->port, c->want_loopback);
	}
}

static const struct addr_case v6_cases[] = {
	{ ":: unbound", "::", NULL, 8001, TG_AF_INET6, "::1", 1 },
	{ ":: bound to a global v6", "::", "2001:db8::1", 8001, TG_AF_INET6, "::1", 1 },
	{ ":: bound to ::ffff:10.1.2.3", "::", "::ffff:10.1.2.3", 8001, TG_AF_INET, "127.0.0.1",
	  1 },
	{ ":: bound to ::ffff:127.0.0.9", "::", "::ffff:127.0.0.9", 8001, TG_AF_INET, "127.0.0.1",
	  1 },
	{ "::ffff:127.0.0.1 is IPv4", "::ffff:127.0.0.1", NULL, 8001, TG_AF_INET, "127.0.0.1", 1 },
	{ "::ffff:127.0.0.2 is IPv4", "::ffff:127.0.0.2", NULL, 8001, TG_AF_INET, "127.0.0.2", 1 },
	{ "::ffff:10.1.2.3 is IPv4", "::ffff:10.1.2.3", NULL, 8001, TG_AF_INET, "10.1.2.3", 0 },
	{ "::ffff:10.1.2.3 ignores a mapped bound source", "::ffff:10.1.2.3", "::ffff:127.0.0.9",
	  8001, TG_AF_INET, "10.1.2.3", 0 },
	{ "::ffff:0.0.0.0 unbound", "::ffff:0.0.0.0", NULL, 8001, TG_AF_INET, "127.0.0.1", 1 },
	{ "::ffff:0.0.0.0 bound to ::ffff:10.1.2.3", "::ffff:0.0.0.0", "::ffff:10.1.2.3", 8001,
	  TG_AF_INET, "10.1.2.3", 0 },
	{ "::ffff:0.0.0.0 bound to ::ffff:127.0.0.9", "::ffff:0.0.0.0", "::ffff:127.0.0.9", 8001,
	  TG_AF_INET, "127.0.0.9", 1 },
	{ "::ffff:0.0.0.0 bound to a global v6", "::ffff:0.0.0.0", "2001:db8::1", 8001, TG_AF_INET,
	  "127.0.0.1", 1 },
	{ "::1 kept", "::1", NULL, 8001, TG_AF_INET6, "::1", 1 },
	{ "::1 kept despite a bound source", "::1", "::ffff:10.1.2.3", 8001, TG_AF_INET6, "::1",
	  1 },
	{ "::2 is not loopback", "::2", NULL, 8001, TG_AF_INET6, "::2", 0 },
	{ "global v6 kept", "2001:db8::1", NULL, 443, TG_AF_INET6, "2001:db8::1", 0 },
	{ "link-local kept", "fe80::1", NULL, 443, TG_AF_INET6, "fe80::1", 0 },
	{ "v4-compatible ::127.0.0.1 is not mapped", "::127.0.0.1", NULL, 8001, TG_AF_INET6,
	  "::127.0.0.1", 0 },
	{ "::fffe:127.0.0.1 is not mapped", "::fffe:127.0.0.1", NULL, 8001, TG_AF_INET6,
	  "::fffe:127.0.0.1", 0 },
	{ "::1:0:0:1 is not ::1", "::1:0:0:1", NULL, 8001, TG_AF_INET6, "::1:0:0:1", 0 },
	{ "worked example of tg_addr.h", "::ffff:0.0.0.0", "::", 8001, TG_AF_INET, "127.0.0.1", 1 },
};

Test(addr, from_v6)
{
	for (size_t i = 0; i < sizeof(v6_cases) / sizeof(v6_cases[0]); i++) {
		const struct addr_case *c = &v6_cases[i];
		__u32 daddr[4], bound[4] = { 0 };
		struct tg_dest d;

		pton(c->name, AF_INET6, c->daddr, daddr);
		if (c->bound)
			pton(c->name, AF_INET6, c->bound, bound);
		memset(&d, 0xa5, sizeof(d));
		tg_dest_from_v6(&d, daddr, bound, c->port);
		assert_dest(c->name, &d, c->want_family, c->want, c->port, c->want_loopback);
	}
}

/* Classification alone, on destinations that were not normalised. */
Test(addr, is_loopback)
{
	static const struct {
		const char *name;
		__u32 family;
		const char *addr;
		int want;
	} cases[] = {
		{ "127.0.0.1", TG_AF_INET, "127.0.0.1", 1 },
		{ "127.255.255.254", TG_AF_INET, "127.255.255.254", 1 },
		{ "128.0.0.1", TG_AF_INET, "128.0.0.1", 0 },
		{ "0.0.0.0", TG_AF_INET, "0.0.0.0", 0 },
		{ "::1", TG_AF_INET6, "::1", 1 },
		{ "::2", TG_AF_INET6, "::2", 0 },
		{ "::", TG_AF_INET6, "::", 0 },
		/* Why normalisation comes first: the mapped spelling alone is not loopback. */
		{ "::ffff:127.0.0.1 not normalised", TG_AF_INET6, "::ffff:127.0.0.1", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_dest d = { .family = cases[i].family };

		pton(cases[i].name, cases[i].family == TG_AF_INET ? AF_INET : AF_INET6,
		     cases[i].addr, d.ip);
		cr_assert_eq(tg_dest_is_loopback(&d), cases[i].want,
			     "%s: tg_dest_is_loopback is %d, want %d", cases[i].name,
			     tg_dest_is_loopback(&d), cases[i].want);
	}
}

/* The byte-order helpers against libc's. */
Test(addr, byte_order)
{
	static const struct {
		const char *name;
		__u32 host;
	} cases[] = {
		{ "zero", 0 },
		{ "loopback", 0x7f000001 },
		{ "mapped marker", 0x0000ffff },
		{ "all ones", 0xffffffff },
		{ "mixed", 0x01020304 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(tg_htonl(cases[i].host), htonl(cases[i].host), "%s: tg_htonl(%#x)",
			     cases[i].name, cases[i].host);
		cr_assert_eq(tg_ntohl(htonl(cases[i].host)), cases[i].host, "%s: tg_ntohl(%#x)",
			     cases[i].name, htonl(cases[i].host));
	}
}
