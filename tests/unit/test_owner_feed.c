// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's owner index, without privileges: which listener events take a uid . port pair
 * out of the nft sets, and when its port goes too (no other pair of that kind on it), with
 * tg_port_owner played by a list of live keys. Also the index's own hash table under churn, and
 * the contents of a blind deletion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "nft.h"
#include "owner_feed.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TENANT_A      2001
#define TENANT_B      2002
#define SERVICE	      0
#define PORT	      8001
#define MAX_EVENTS    8

static const struct tg_policy policy = {
	.mode = TG_MODE_ENFORCE,
	.policy = TG_POLICY_ISOLATE,
	.deny_errno = 111,
	.n_tenant = 1,
	.tenant = (struct tg_uid_range[]){ { 2001, 2003 } },
};

/* A listener: who, where. ip is "127.0.0.1" or "::1" style. */
struct sock {
	uint32_t uid;
	const char *ip;
	uint16_t port;
};

static struct tg_port_key key_of(const struct sock *s)
{
	struct tg_port_key k = { .port = s->port };
	struct in_addr v4;

	if (inet_pton(AF_INET, s->ip, &v4) == 1) {
		k.family = AF_INET;
		k.addr[10] = k.addr[11] = 0xff;
		memcpy(&k.addr[12], &v4, 4);
	} else {
		k.family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, s->ip, k.addr), 1, "bad address %s", s->ip);
	}
	return k;
}

static struct tg_owner_event event_of(const struct sock *s, bool added)
{
	struct tg_port_key k = key_of(s);
	struct tg_owner_event e = {
		.uid = s->uid, .port = s->port, .family = (uint8_t)k.family, .added = added
	};

	memcpy(e.addr, k.addr, sizeof(e.addr));
	return e;
}

/* tg_port_owner, as a list of listeners still there. */
struct live_set {
	const struct sock *socks;
	size_t n;
};

static bool live_in(void *ctx, const struct tg_port_key *key, uint32_t uid)
{
	const struct live_set *l = ctx;

	for (size_t i = 0; i < l->n; i++) {
		struct tg_port_key k = key_of(&l->socks[i]);

		if (l->socks[i].uid == uid && memcmp(&k, key, sizeof(k)) == 0)
			return true;
	}
	return false;
}

struct change {
	struct sock s;
	bool added;
};

struct feed_case {
	const char *name;
	struct sock before[MAX_EVENTS]; /* listening when the index was built */
	struct change burst[MAX_EVENTS];
	struct sock live[MAX_EVENTS]; /* in tg_port_owner after the burst */
	struct nft_owner want_del[MAX_EVENTS];
	struct nft_owner want_last[MAX_EVENTS];
	size_t want_add; /* owners in the add list */
};

static size_t count_socks(const struct sock *s)
{
	size_t n = 0;

	while (n < MAX_EVENTS && s[n].ip)
		n++;
	return n;
}

static size_t count_owners(const struct nft_owner *o)
{
	size_t n = 0;

	while (n < MAX_EVENTS && o[n].port)
		n++;
	return n;
}

static bool owner_in(const struct nft_owner *list, size_t n, const struct nft_owner *o)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].uid == o->uid && list[i].port == o->port && list[i].tenant == o->tenant)
			return true;
	return false;
}

static const struct feed_case cases[] = {
	{
		.name = "closing one of a pair's two addresses keeps the pair",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_A, "::1", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false } },
		.live = { { TENANT_A, "::1", PORT } },
	},
	{
		.name = "closing both addresses deletes the pair and its port",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_A, "::1", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false },
			   { { TENANT_A, "::1", PORT }, false } },
		.want_del = { { TENANT_A, PORT, true } },
		.want_last = { { TENANT_A, PORT, true } },
	},
	{
		.name = "a second tenant pair on the port keeps it a tunnel port",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_B, "127.0.0.2", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false } },
		.live = { { TENANT_B, "127.0.0.2", PORT } },
		.want_del = { { TENANT_A, PORT, true } },
	},
	{
		.name = "both tenant pairs of a port closing in one burst take the port once",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_B, "127.0.0.2", PORT } },
		.burst = { { { TENANT_B, "127.0.0.2", PORT }, false },
			   { { TENANT_A, "127.0.0.1", PORT }, false } },
		.want_del = { { TENANT_A, PORT, true }, { TENANT_B, PORT, true } },
		.want_last = { { TENANT_A, PORT, true }, { TENANT_B, PORT, true } },
	},
	{
		.name = "a service pair on the port does not keep it in tunnel_ports",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { SERVICE, "0.0.0.0", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false } },
		.live = { { SERVICE, "0.0.0.0", PORT } },
		.want_del = { { TENANT_A, PORT, true } },
		.want_last = { { TENANT_A, PORT, true } },
	},
	{
		.name = "closed and listening again within the burst: kept, and added",
		.before = { { TENANT_A, "127.0.0.1", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false },
			   { { TENANT_A, "127.0.0.1", PORT }, true } },
		.live = { { TENANT_A, "127.0.0.1", PORT } },
		.want_add = 1,
	},
	{
		.name = "a key whose close event was lost does not keep the pair",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_A, "::1", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false } },
		.want_del = { { TENANT_A, PORT, true } },
		.want_last = { { TENANT_A, PORT, true } },
	},
	{
		.name = "a key now another uid's does not keep the pair",
		.before = { { TENANT_A, "127.0.0.1", PORT }, { TENANT_A, "::1", PORT } },
		.burst = { { { TENANT_A, "127.0.0.1", PORT }, false } },
		.live = { { TENANT_B, "::1", PORT } },
		.want_del = { { TENANT_A, PORT, true } },
		.want_last = { { TENANT_A, PORT, true } },
	},
	{
		.name = "a pair the index never saw is deleted (the blind batch checks it)",
		.burst = { { { TENANT_B, "127.0.0.1", PORT }, false } },
		.want_del = { { TENANT_B, PORT, true } },
		.want_last = { { TENANT_B, PORT, true } },
	},
	{
		.name = "a new listener is added; its pair counts for the port",
		.before = { { TENANT_A, "127.0.0.1", PORT } },
		.burst = { { { TENANT_B, "127.0.0.2", PORT }, true },
			   { { TENANT_A, "127.0.0.1", PORT }, false } },
		.live = { { TENANT_B, "127.0.0.2", PORT } },
		.want_del = { { TENANT_A, PORT, true } },
		.want_add = 1,
	},
};

Test(owner_feed, deletions_follow_the_index_and_the_map)
{
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct feed_case *fc = &cases[c];
		struct live_set live = { fc->live, count_socks(fc->live) };
		struct tg_owner_event evs[MAX_EVENTS];
		size_t nb = count_socks(fc->before), n = 0;
		size_t want_del = count_owners(fc->want_del),
		       want_last = count_owners(fc->want_last);
		struct owner_changes out;
		struct owner_index ix;

		cr_assert_eq(owner_index_init(&ix), 0);
		for (size_t i = 0; i < nb; i++) {
			struct tg_port_key k = key_of(&fc->before[i]);

			cr_assert_geq(owner_index_add(&ix, &k, fc->before[i].uid,
						      policy_is_tenant(&policy, fc->before[i].uid)),
				      0);
		}
		while (n < MAX_EVENTS && fc->burst[n].s.ip) {
			evs[n] = event_of(&fc->burst[n].s, fc->burst[n].added);
			n++;
		}
		cr_assert_eq(owner_feed_changes(&ix, evs, n, &policy, live_in, &live, &out), 0,
			     "%s", fc->name);
		cr_expect_eq(out.n_add, fc->want_add, "%s: %zu added", fc->name, out.n_add);
		cr_expect_eq(out.n_del, want_del, "%s: %zu deleted, want %zu", fc->name, out.n_del,
			     want_del);
		cr_expect_eq(out.n_last, want_last, "%s: %zu ports go, want %zu", fc->name,
			     out.n_last, want_last);
		for (size_t i = 0; i < want_del; i++)
			cr_expect(owner_in(out.del, out.n_del, &fc->want_del[i]),
				  "%s: %u . %u not deleted", fc->name, fc->want_del[i].uid,
				  fc->want_del[i].port);
		for (size_t i = 0; i < want_last; i++)
			cr_expect(owner_in(out.last, out.n_last, &fc->want_last[i]),
				  "%s: port of %u . %u kept", fc->name, fc->want_last[i].uid,
				  fc->want_last[i].port);
		/* Every pair the index knew and that is still live stays indexed. */
		for (size_t i = 0; i < live.n; i++) {
			bool known = false;

			for (size_t j = 0; j < nb; j++)
				known |= fc->before[j].uid == live.socks[i].uid;
			for (size_t j = 0; j < n; j++)
				known |= fc->burst[j].added &&
					 fc->burst[j].s.uid == live.socks[i].uid;
			if (known)
				cr_expect_not_null(owner_index_find(&ix, live.socks[i].uid,
								    live.socks[i].port),
						   "%s: live %u . %u not indexed", fc->name,
						   live.socks[i].uid, live.socks[i].port);
		}
		for (size_t i = 0; i < want_del; i++)
			cr_expect_null(
				owner_index_find(&ix, fc->want_del[i].uid, fc->want_del[i].port),
				"%s: deleted pair still indexed", fc->name);
		owner_changes_free(&out);
		owner_index_free(&ix);
	}
}

/* One pair's two addresses as separate bursts, the way the daemon sees two close() calls. */
Test(owner_feed, pair_of_two_addresses_goes_with_the_second_close)
{
	const struct sock v4 = { TENANT_A, "127.0.0.1", PORT }, v6 = { TENANT_A, "::1", PORT };
	struct live_set live = { &v6, 1 };
	struct tg_owner_event ev[2] = { event_of(&v4, true), event_of(&v6, true) };
	struct owner_changes out;
	struct owner_index ix;

	cr_assert_eq(owner_index_init(&ix), 0);
	cr_assert_eq(owner_feed_changes(&ix, ev, 2, &policy, live_in, &live, &out), 0);
	cr_expect_eq(out.n_add, 2);
	cr_expect_eq(owner_index_port_pairs(&ix, PORT, true), 1, "one pair, two keys");
	cr_expect_eq(owner_index_find(&ix, TENANT_A, PORT)->n_keys, 2);
	owner_changes_free(&out);

	ev[0] = event_of(&v4, false);
	cr_assert_eq(owner_feed_changes(&ix, ev, 1, &policy, live_in, &live, &out), 0);
	cr_expect_eq(out.n_del, 0, "the pair went with [::1] still listening");
	owner_changes_free(&out);

	live.n = 0;
	ev[0] = event_of(&v6, false);
	cr_assert_eq(owner_feed_changes(&ix, ev, 1, &policy, live_in, &live, &out), 0);
	cr_expect_eq(out.n_del, 1);
	cr_expect_eq(out.n_last, 1, "the port stayed a tunnel port");
	cr_expect_eq(owner_index_port_pairs(&ix, PORT, true), 0);
	cr_expect_eq(ix.count, 0);
	owner_changes_free(&out);
	owner_index_free(&ix);
}

/* Many pairs in, every other one out: lookups and counts stay right across the table's
 * growth and its back-shifting removals. */
Test(owner_feed, index_survives_churn)
{
	enum { PAIRS = 20000 };
	struct owner_index ix;
	struct owner_changes out;
	struct live_set none = { NULL, 0 };

	cr_assert_eq(owner_index_init(&ix), 0);
	for (uint32_t i = 0; i < PAIRS; i++) {
		struct tg_port_key k = { .port = (uint16_t)(1000 + i % 50), .family = AF_INET6 };

		k.addr[15] = 1;
		cr_assert_eq(owner_index_add(&ix, &k, 2001 + i / 50, true), 1, "pair %u", i);
		cr_assert_eq(owner_index_add(&ix, &k, 2001 + i / 50, true), 0, "pair %u again", i);
	}
	cr_expect_eq(ix.count, PAIRS);
	cr_expect_eq(owner_index_port_pairs(&ix, 1000, true), PAIRS / 50);
	for (uint32_t i = 0; i < PAIRS; i += 2) {
		struct tg_owner_event e = { .uid = 2001 + i / 50,
					    .port = (uint16_t)(1000 + i % 50),
					    .family = AF_INET6 };

		e.addr[15] = 1;
		cr_assert_eq(owner_feed_changes(&ix, &e, 1, &policy, live_in, &none, &out), 0);
		cr_assert_eq(out.n_del, 1, "pair %u", i);
		owner_changes_free(&out);
	}
	cr_expect_eq(ix.count, PAIRS / 2);
	for (uint32_t i = 0; i < PAIRS; i++) {
		const struct owner_pair *p =
			owner_index_find(&ix, 2001 + i / 50, (uint16_t)(1000 + i % 50));

		cr_assert_eq(p != NULL, i % 2 == 1, "pair %u %s", i, p ? "kept" : "lost");
	}
	cr_expect_eq(owner_index_port_pairs(&ix, 1000, true), 0, "even ports emptied");
	cr_expect_eq(owner_index_port_pairs(&ix, 1001, true), PAIRS / 50);
	owner_index_clear(&ix);
	cr_expect_eq(ix.count, 0);
	cr_expect_null(owner_index_find(&ix, 2002, 1001));
	owner_index_free(&ix);
}

/* A blind deletion names the pairs, and only the ports whose last pair of that kind goes. */
Test(owner_feed, blind_deletion_takes_only_the_last_ports)
{
	const struct nft_owner del[] = { { TENANT_A, PORT, true },
					 { TENANT_B, 8002, true },
					 { SERVICE, 22, false } };
	const struct nft_owner last[] = { { SERVICE, 22, false } };
	struct nft_state c;

	cr_assert_eq(nft_content_for_deletion(del, 3, last, 1, &c), 0);
	cr_expect_eq(c.n_owners, 3);
	cr_expect_eq(c.n_tunnel_ports, 0, "a tunnel port went that others still hold");
	cr_expect_eq(c.n_service_ports, 1);
	cr_expect_eq(c.service_ports[0], 22);
	nft_state_free(&c);

	cr_assert_eq(nft_content_for_deletion(del, 3, del, 2, &c), 0);
	cr_expect_eq(c.n_tunnel_ports, 2);
	cr_expect_eq(c.n_service_ports, 0);
	nft_state_free(&c);

	cr_assert_eq(nft_content_for_deletion(NULL, 0, NULL, 0, &c), 0);
	cr_expect_eq(c.n_owners + c.n_tunnel_ports + c.n_service_ports, 0);
	nft_state_free(&c);
	/* Nothing to delete is no batch, and no fallback. */
	cr_expect_eq(nft_delete_owners(&(struct nft_handle){}, NULL, 0, NULL, 0), 0);
	cr_expect_eq(nft_delete_owners(&(struct nft_handle){}, NULL, 1, NULL, 0), -EINVAL);
}
