// SPDX-License-Identifier: GPL-2.0-only
/*
 * status_netns.h - the `namespaces` part of `tunnelguard status`: every network namespace other
 * than the guard's own where a tenant listens or that the guard follows, by cookie and name, with
 * whether the guard knows its addresses and the tunnels (tenant listeners) in it:
 *	namespaces (other than the guard's):
 *	  netns 4097 (tg-ctr): addresses known yes (3 local prefixes), 1 tunnel
 *	    0.0.0.0:8001             uid 2001   alice
 */
#ifndef TG_STATUS_NETNS_H
#define TG_STATUS_NETNS_H

#include <stdio.h>

#include "guard.h"

void status_print_namespaces_text(FILE *out, const struct guard_state *st, const char *pin_dir);

/*
 * ,"namespaces":[{"netns":4097,"name":"tg-ctr","followed":true,"addrs_known":true,"prefixes":3,
 * "tunnels":[{"endpoint":"0.0.0.0:8001","uid":2001,"user":"alice"}]}]
 * name is null when no process is left in the namespace, user when the uid has no account,
 * tunnels when they cannot be read, namespaces when the guard's maps cannot be.
 */
void status_print_namespaces_json(FILE *out, const struct guard_state *st, const char *pin_dir);

#endif /* TG_STATUS_NETNS_H */
