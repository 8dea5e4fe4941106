// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pure parts of userspace/netns_watch.c: a tg_local_addrs key moved into a namespace's
 * tg_netns_addrs key, and the checks on a tg_netns_events record.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "netns_watch.h"

static const struct {
	const char *name;
	struct tg_lpm_key local;
	__u64 cookie;
	__u32 want_prefixlen;
} keys[] = {
	{ "ipv4 host", { .prefixlen = 128, .ip = { 0, 0, 0xffff0000, 0x0500000a } }, 4097, 224 },
	{ "ipv4 anyip /24",
	  { .prefixlen = 120, .ip = { 0, 0, 0xffff0000, 0x00004d0a } },
	  4097,
	  216 },
	{ "ipv6 ::1", { .prefixlen = 128, .ip = { 0, 0, 0, 0x01000000 } }, 1ull << 40, 224 },
	{ "ipv6 /64", { .prefixlen = 64, .ip = { 0x000000fd, 0x77000000, 0, 0 } }, 7, 160 },
	{ "default", { .prefixlen = 0, .ip = { 0, 0, 0, 0 } }, 9, 96 },
};

Test(netns_watch, key_prefix_cookie_and_address)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct tg_netns_lpm_key out;

		memset(&out, 0xaa, sizeof(out));
		netns_watch_key(&keys[i].local, keys[i].cookie, &out);
		cr_expect_eq(out.prefixlen, keys[i].want_prefixlen, "%s: prefixlen %u",
			     keys[i].name, out.prefixlen);
		cr_expect_eq(out.pad, 0, "%s: pad not zero", keys[i].name);
		cr_expect_eq(out.netns_cookie, keys[i].cookie, "%s: cookie", keys[i].name);
		cr_expect_arr_eq(out.ip, keys[i].local.ip, sizeof(out.ip), "%s: address",
				 keys[i].name);
	}
}

Test(netns_watch, key_matches_the_worked_example)
{
	/* tg_maps.h: 10.0.0.5/32 in the namespace whose cookie is 4097. */
	struct tg_lpm_key local = { .prefixlen = 128,
				    .ip = { 0, 0, htonl(0xffff), htonl(0x0a000005) } };
	struct tg_netns_lpm_key want = { .prefixlen = 224,
					 .netns_cookie = 4097,
					 .ip = { 0, 0, htonl(0xffff), htonl(0x0a000005) } };
	struct tg_netns_lpm_key out;

	netns_watch_key(&local, 4097, &out);
	cr_expect_eq(memcmp(&out, &want, sizeof(out)), 0);
}

Test(netns_watch, event_parse)
{
	struct tg_netns_event ok = {
		.netns_cookie = 4097, .pid = 5150, .uid = 2001, .port = 8001, .added = 1
	};
	struct tg_netns_event bad, out;
	unsigned char big[sizeof(ok) + 8] = {};

	cr_expect_eq(netns_watch_parse_event(&ok, sizeof(ok), &out), 0);
	cr_expect_eq(out.netns_cookie, 4097);
	cr_expect_eq(out.pid, 5150);
	cr_expect_eq(out.added, 1);
	/* A longer record (a newer kernel side) is read by its known prefix. */
	memcpy(big, &ok, sizeof(ok));
	cr_expect_eq(netns_watch_parse_event(big, sizeof(big), &out), 0);
	cr_expect_eq(netns_watch_parse_event(&ok, sizeof(ok) - 1, &out), -EBADMSG, "short");
	cr_expect_eq(netns_watch_parse_event(NULL, 0, &out), -EBADMSG, "empty");
	bad = ok;
	bad.added = 2;
	cr_expect_eq(netns_watch_parse_event(&bad, sizeof(bad), &out), -EBADMSG, "added 2");
	bad = ok;
	bad.netns_cookie = 0;
	cr_expect_eq(netns_watch_parse_event(&bad, sizeof(bad), &out), -EBADMSG, "cookie 0");
}
