// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns_probe.h - what the namespace watch does inside another network namespace, from a
 * short-lived thread that setns()s into it (a socket stays in the namespace it was made in, and
 * the daemon's own thread never leaves its own): check the namespace's cookie, count its TCP
 * listeners, put the reservations in its sysctl, subscribe to its address and route events,
 * dump its local routes. Only netns_watch.c includes it.
 */
#ifndef TG_NETNS_PROBE_H
#define TG_NETNS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "tg_policy.h"

#include "policy.h"

#include "local_addrs.h"

struct mnl_socket;

/* What to do inside one namespace, and what was found there. */
struct netns_probe {
	int ns_fd;	      /* in: the namespace (nsfs fd) */
	__u64 want_cookie;    /* in: 0, or the cookie it must have */
	bool count;	      /* in: count its TCP listeners; stop there when there are none */
	bool assume_listener; /* in: a failed count means "one", not "none" */
	bool follow;	      /* in: subscribe to its address and route events */
	const struct tg_policy *reserve; /* in, with count: where a tenant listens, put these
					  * reservations in the namespace's sysctl */
	bool dump;			 /* in: dump its local routes */
	__u64 cookie;			 /* out */
	size_t listeners;		 /* out */
	struct mnl_socket *nl;		 /* out, with follow */
	struct local_addr_list addrs;	 /* out, with dump */
	int err;			 /* out: entering, checking or subscribing failed */
	int dump_err;			 /* out: the dump failed */
};

/* A NETLINK_ROUTE socket of the calling thread's namespace that hears of address and route
 * changes, or NULL with errno set. */
struct mnl_socket *probe_subscribe_here(void);

/* Run p in its namespace. 0 or -errno (p->err). */
int probe_run(struct netns_probe *p);

/* Close and free what p found (its socket, unless taken, and its addresses). */
void probe_free(struct netns_probe *p);

/* Probe the namespace of socket nl, made there (it holds the namespace), whose cookie must be
 * cookie. 0 or -errno. */
int probe_known(struct mnl_socket *nl, __u64 cookie, struct netns_probe *p);

#endif /* TG_NETNS_PROBE_H */
