// SPDX-License-Identifier: GPL-2.0-only
/* check.h - `tunnelguard check`: the kernel's verdict, computed in userspace from live facts. */
#ifndef TG_CHECK_H
#define TG_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tg_policy.h"

#include "policy.h"

struct guard_state;

struct check_request {
	uint32_t uid;
	uint16_t port;
	const char *addr;    /* NULL: both 127.0.0.1 and ::1, where ssh -R listens */
	const char *pin_dir; /* the loaded guard: which namespaces it knows */
	/* the guard read from pin_dir (guard_read), NULL when none is loaded there */
	const struct guard_state *guard;
	bool json; /* print one JSON object instead of lines */
};

/*
 * Judge a connect by uid to addr:port with tg_decide_connect() against the listeners alive now
 * (sock_diag) and this namespace's local addresses, and print one line per address, naming the
 * network namespace it was judged in (the caller's) by cookie and name (netns_view.h):
 *	deny 127.0.0.1:8001 deny_other_tenant owner=2001(alice) netns=4097(tg-ctr): listener
 *	owned by another tenant
 * As in the kernel, a namespace other than the loaded guard's whose addresses the guard does not
 * know (no daemon has learned them yet) counts every destination as local; a note says so.
 * With req->json, one JSON object on one line instead, an entry per address in "results":
 *	{"check":"connect","uid":2002,"port":8001,"verdict":"deny","results":[{"addr":"127.0.0.1",
 *	"port":8001,"verdict":"deny","reason":"deny_other_tenant","text":"listener owned by another
 *	tenant","owner_uid":2001,"owner":"alice","netns":4097,"netns_name":"tg-ctr",
 *	"netns_addrs_known":true}, ...]}
 * owner_uid and owner are null when no listener was found, owner alone when the uid has no name;
 * netns_addrs_known false replaces the text's note.
 * Returns 0 when every address is allowed, 1 when one is denied, -errno on error.
 */
int check_run(const struct tg_policy *policy, const struct check_request *req, FILE *out);

/*
 * Judge a bind() of req->port by req->uid (on any address: reservations hold a port on all of
 * them) with tg_decide_bind(), and print one line:
 *	deny bind port 8001 deny_bind_reserved owner=2001(alice): port reserved for another tenant
 * With req->json, the same object as check_run() with "check":"bind" and one result whose addr
 * and netns fields are null.
 * Returns 0 when allowed, 1 when denied.
 */
int check_bind_run(const struct tg_policy *policy, const struct check_request *req, FILE *out);

#endif /* TG_CHECK_H */
