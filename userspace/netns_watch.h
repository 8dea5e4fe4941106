// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns_watch.h - the daemon learns the local addresses of the other network namespaces where
 * listeners are, and keeps them current from rtnetlink events, so that the connect hook there
 * need not fail closed (tg_maps.h: tg_netns, tg_netns_addrs).
 *
 * The bind and close hooks report a port taken or given back outside the guard's namespace on
 * the ring buffer tg_netns_events. For a namespace it does not know, the watch opens
 * /proc/PID/ns/net of the listening task, checks that it is the event's namespace
 * (SO_NETNS_COOKIE of a socket made inside it), and from a short-lived thread inside it opens a
 * NETLINK_ROUTE socket subscribed to address and route events and dumps the local routes. The
 * prefixes go to tg_netns_addrs first, then tg_netns[cookie] = { .addrs_known = 1 }. Example, a
 * tenant listens in the namespace with cookie 4097, which has lo and 10.77.0.0/24 as AnyIP:
 *	tg_netns_addrs: { 224, 0, 4097, ::ffff:127.0.0.0 } ... { 216, 0, 4097, ::ffff:10.77.0.0 }
 *	tg_netns:       4097 -> { .addrs_known = 1 }
 * Any message on that socket makes the watch dump again and resynchronise (add before delete).
 * When the last listener there closes, the socket is closed (it held the namespace alive) and
 * both maps lose the namespace's entries. The guard's own namespace is followed the same way
 * into tg_local_addrs. In each namespace it starts to follow where a tenant listens, the watch
 * also puts the guard's reservations in that namespace's net.ipv4.ip_local_reserved_ports
 * (reserved_ports.h), as load does in its own, so that the kernel picks them for no one's
 * listen() there.
 */
#ifndef TG_NETNS_WATCH_H
#define TG_NETNS_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "tg_maps.h"

struct ring_buffer;
struct mnl_socket;

/* One namespace the watch follows. */
struct netns_known {
	__u64 cookie;
	struct mnl_socket *nl;	/* made inside it: its address and route events, and its netns */
	unsigned int listeners; /* listeners there, as last counted (sock_diag) and followed */
	bool addrs_known;	/* tg_netns says addrs_known = 1 */
	bool warned;		/* a failure there was logged; the next success is too */
	bool recount_due;	/* a listener closed: count them after this batch of events */
};

struct netns_watch {
	struct ring_buffer *rb; /* tg_netns_events */
	int epoll_fd;		/* the ring, own_nl, and every known namespace's socket */
	int netns_fd;		/* tg_netns */
	int addrs_fd;		/* tg_netns_addrs */
	int local_addrs_fd;	/* tg_local_addrs (the guard's own namespace) */
	struct mnl_socket *own_nl;
	struct netns_known **known;
	size_t n_known;
	size_t cap_known;
	bool full_warned;
	char pin_dir[PATH_MAX]; /* the guard's, for its policy when a namespace is learnt */
};

/* What status shows of one other namespace (from the pinned maps). */
struct netns_watch_info {
	__u64 cookie;
	bool addrs_known;
	size_t prefixes; /* its entries in tg_netns_addrs */
};

/*
 * Open pin_dir's netns maps and ring buffer, subscribe to the guard's own namespace's address
 * events, learn the namespaces of the listeners that already exist (one scan of /proc/<pid>/ns/net)
 * and drop map entries of namespaces no longer there. 0 or -errno (nothing is left open).
 */
int netns_watch_open(struct netns_watch *w, const char *pin_dir);

/* The fd to poll (an epoll fd: readable when any source has something). */
int netns_watch_fd(const struct netns_watch *w);

/* Handle what is waiting: listener events, address and route changes. 0 or -errno. */
int netns_watch_poll(struct netns_watch *w);

/* Close everything. The map entries stay: a restarted daemon takes them over. */
void netns_watch_close(struct netns_watch *w);

/* The namespaces recorded in pin_dir's tg_netns, sorted by cookie. 0 or -errno; free *out. */
int netns_watch_read(const char *pin_dir, struct netns_watch_info **out, size_t *count);

/* The tg_netns_addrs key of a tg_local_addrs key in the namespace cookie. */
void netns_watch_key(const struct tg_lpm_key *local, __u64 cookie, struct tg_netns_lpm_key *out);

/* A tg_netns_events record, checked: 0, or -EBADMSG when size or fields are wrong. */
int netns_watch_parse_event(const void *data, size_t size, struct tg_netns_event *out);

#endif /* TG_NETNS_WATCH_H */
