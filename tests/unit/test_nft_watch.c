// SPDX-License-Identifier: GPL-2.0-only
/* nft_watch_diff(): what one sock_diag poll changes in the nft sets, table-driven. */
#include <criterion/criterion.h>

#include "nft_watch.h"

#define MAX 8

struct watch_case {
	const char *name;
	struct nft_owner before[MAX], now[MAX];
	size_t nb, nn;
	struct nft_owner add[MAX], del[MAX], last[MAX];
	size_t nadd, ndel, nlast;
};

static const struct watch_case cases[] = {
	{ .name = "nothing changed",
	  .before = { { 2001, 8001, true } },
	  .nb = 1,
	  .now = { { 2001, 8001, true } },
	  .nn = 1 },
	{ .name = "a tunnel opens",
	  .before = { { 0, 22, false } },
	  .nb = 1,
	  .now = { { 0, 22, false }, { 2001, 8001, true } },
	  .nn = 2,
	  .add = { { 2001, 8001, true } },
	  .nadd = 1 },
	{ .name = "a tunnel drops: its port goes too",
	  .before = { { 2001, 8001, true } },
	  .nb = 1,
	  .del = { { 2001, 8001, true } },
	  .ndel = 1,
	  .last = { { 2001, 8001, true } },
	  .nlast = 1 },
	{ .name = "another tenant still holds the port",
	  .before = { { 2001, 8001, true }, { 2002, 8001, true } },
	  .nb = 2,
	  .now = { { 2002, 8001, true } },
	  .nn = 1,
	  .del = { { 2001, 8001, true } },
	  .ndel = 1 },
	{ .name = "a service on the same port does not keep the tunnel port",
	  .before = { { 0, 8001, false }, { 2001, 8001, true } },
	  .nb = 2,
	  .now = { { 0, 8001, false } },
	  .nn = 1,
	  .del = { { 2001, 8001, true } },
	  .ndel = 1,
	  .last = { { 2001, 8001, true } },
	  .nlast = 1 },
	{ .name = "one drops, one opens",
	  .before = { { 2001, 8001, true } },
	  .nb = 1,
	  .now = { { 2002, 8002, true } },
	  .nn = 1,
	  .add = { { 2002, 8002, true } },
	  .nadd = 1,
	  .del = { { 2001, 8001, true } },
	  .ndel = 1,
	  .last = { { 2001, 8001, true } },
	  .nlast = 1 },
};

static void expect_owners(const char *name, const char *what, const struct nft_owner *got,
			  size_t ngot, const struct nft_owner *want, size_t nwant)
{
	cr_expect_eq(ngot, nwant, "%s: %zu %s, expected %zu", name, ngot, what, nwant);
	for (size_t i = 0; i < ngot && i < nwant; i++)
		cr_expect(got[i].uid == want[i].uid && got[i].port == want[i].port &&
				  got[i].tenant == want[i].tenant,
			  "%s: %s[%zu] is %u . %u, expected %u . %u", name, what, i, got[i].uid,
			  got[i].port, want[i].uid, want[i].port);
}

Test(nft_watch, diff)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct watch_case *c = &cases[i];
		struct nft_owner add[MAX], del[MAX], last[MAX];
		size_t nadd, ndel, nlast;

		nft_watch_diff(c->before, c->nb, c->now, c->nn, add, &nadd, del, &ndel, last,
			       &nlast);
		expect_owners(c->name, "added", add, nadd, c->add, c->nadd);
		expect_owners(c->name, "deleted", del, ndel, c->del, c->ndel);
		expect_owners(c->name, "last of their port", last, nlast, c->last, c->nlast);
	}
}
