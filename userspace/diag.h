// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag.h - the kernel's live TCP listeners, from NETLINK_SOCK_DIAG (inet_diag) over libmnl.
 *
 * Example entry, for tenant 2001's `ssh -R 8001:...` on 127.0.0.1:
 *	{ .family = AF_INET, .ip = { htonl(0x7f000001) }, .port = 8001, .uid = 2001,
 *	  .inode = 123456, .ifindex = 0, .v6only = false }
 */
#ifndef TG_DIAG_H
#define TG_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_addr.h"

struct diag_listener {
	int family;	    /* AF_INET or AF_INET6 */
	uint32_t ip[4];	    /* network byte order; IPv4 uses ip[0] */
	uint16_t port;	    /* host byte order */
	uint32_t uid;	    /* owner (sk_uid) */
	uint64_t inode;	    /* socket inode, to find the owning process in /proc */
	uint32_t ifindex;   /* bound device (SO_BINDTODEVICE), 0 when none */
	bool v6only;	    /* IPV6_V6ONLY: an IPv6 wildcard that does not take IPv4 */
	uint64_t cgroup_id; /* cgroup v2 id of the socket (INET_DIAG_CGROUP_ID), 0: unknown */
};

struct diag_list {
	struct diag_listener *items;
	size_t count;
	size_t capacity;
};

/* Dump every TCP listener of the current network namespace, IPv4 and IPv6. 0 or -errno. */
int diag_dump_listeners(struct diag_list *out);

/*
 * Parse one buffer of a sock_diag dump reply (one or more netlink messages) and append the
 * listeners to out. Returns 1 when more messages are expected, 0 at NLMSG_DONE, -EBADMSG for a
 * truncated, misaligned or malformed message, or -errno from an NLMSG_ERROR. Never reads past len.
 */
int diag_parse_reply(const void *buf, size_t len, struct diag_list *out);

void diag_list_free(struct diag_list *list);

/*
 * The listener a connect to d would reach, chosen as the kernel's listener lookup chooses: an
 * exact address match before a wildcard, IPv4 sockets before IPv6 ones at equal score, IPv6
 * wildcards (not v6only) for IPv4 destinations; listeners bound to a device are skipped (a
 * lookup without an interface does not find them). NULL when none.
 */
const struct diag_listener *diag_select_listener(const struct diag_list *list,
						 const struct tg_dest *d);

#endif /* TG_DIAG_H */
