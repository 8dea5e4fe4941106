// SPDX-License-Identifier: GPL-2.0-only
/* check.h - `tunnelguard check`: the kernel's verdict, computed in userspace from live facts. */
#ifndef TG_CHECK_H
#define TG_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "tg_policy.h"

struct check_request {
	uint32_t uid;
	uint16_t port;
	const char *addr;    /* NULL: both 127.0.0.1 and ::1, where ssh -R listens */
	const char *pin_dir; /* the loaded guard: which namespaces it knows */
};

/*
 * Judge a connect by uid to addr:port with tg_decide_dest() against the listeners alive now
 * (sock_diag) and this namespace's local addresses, and print one line per address, naming the
 * network namespace it was judged in (the caller's) by cookie and name (netns_view.h):
 *	deny 127.0.0.1:8001 deny_other_tenant owner=2001(alice) netns=4097(tg-ctr): listener
 *	owned by another tenant
 * As in the kernel, a namespace other than the loaded guard's whose addresses the guard does not
 * know (no daemon has learned them yet) counts every destination as local; a note says so.
 * Returns 0 when every address is allowed, 1 when one is denied, -errno on error.
 */
int check_run(const struct tg_policy *policy, const struct check_request *req, FILE *out);

/*
 * Judge a bind() of req->port by req->uid (on any address: reservations hold a port on all of
 * them) with tg_decide_bind(), and print one line:
 *	deny bind port 8001 deny_bind_reserved owner=2001(alice): port reserved for another tenant
 * Returns 0 when allowed, 1 when denied.
 */
int check_bind_run(const struct tg_policy *policy, const struct check_request *req, FILE *out);

#endif /* TG_CHECK_H */
