// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns_view.h - the network namespaces of this host as a person names them, and the TCP
 * listeners in each, for `status` and `check` (issue 13: they name the namespace).
 *
 * Namespaces are found once per call from /proc/<pid>/ns/net (a command run on demand, not a
 * timer: the daemon learns namespaces from the bind and close hooks). Each one is entered from a
 * short-lived thread, which reads its cookie (SO_NETNS_COOKIE, the id events and the BPF maps
 * use) and, when asked, its TCP listeners (sock_diag). Names, in order of preference:
 *	"tg-ctr"             a /run/netns entry (ip netns add tg-ctr)
 *	"host"               the initial namespace (where kernel threads are)
 *	"pid 1's"            the namespace of PID 1, when it is another one
 *	"pid 4242 (sshd)"    the lowest pid inside it
 */
#ifndef TG_NETNS_VIEW_H
#define TG_NETNS_VIEW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct netns_view {
	uint64_t cookie;	    /* 0 when it could not be entered (err says why) */
	uint64_t inode;		    /* of its nsfs file, as stat() gives it */
	char name[NAME_MAX + 32];   /* see above */
	bool here;		    /* the namespace of the calling thread */
	struct diag_list listeners; /* with listeners = true; empty when err */
	int err;		    /* 0 or -errno of entering it or listing its listeners */
};

struct netns_view_list {
	struct netns_view *items; /* sorted by cookie */
	size_t count;
};

/* Every namespace a process of this host is in. 0 or -errno; free with netns_view_free(). */
int netns_view_collect(struct netns_view_list *out, bool listeners);
void netns_view_free(struct netns_view_list *list);

/* The entry of cookie, or NULL. */
const struct netns_view *netns_view_find(const struct netns_view_list *list, uint64_t cookie);

/* The calling thread's namespace: its cookie and name. 0 or -errno. */
int netns_view_here(uint64_t *cookie, char *name, size_t len);

#endif /* TG_NETNS_VIEW_H */
