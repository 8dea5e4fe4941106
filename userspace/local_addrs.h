// SPDX-License-Identifier: GPL-2.0-only
/*
 * local_addrs.h - the prefixes this host delivers locally: the RTN_LOCAL routes of its "local"
 * routing table (interface addresses, and AnyIP routes such as `local 10.9.0.0/16 dev lo`),
 * dumped over rtnetlink with libmnl, as keys for the tg_local_addrs LPM trie.
 */
#ifndef TG_LOCAL_ADDRS_H
#define TG_LOCAL_ADDRS_H

#include <stddef.h>

#include "tg_maps.h"

struct local_addr_list {
	struct tg_lpm_key *keys; /* IPv4 prefixes v4-mapped, prefixlen 96 + len */
	size_t count;
	size_t capacity;
};

/* Dump the local routes of the current network namespace, both families. 0 or -errno. */
int local_addrs_dump(struct local_addr_list *out);

/*
 * Parse one buffer of an RTM_GETROUTE dump reply and append the RTN_LOCAL routes to out.
 * Returns 1 when more messages are expected, 0 at NLMSG_DONE, -EBADMSG for a malformed message,
 * or -errno from an NLMSG_ERROR. Never reads past len.
 */
int local_addrs_parse_reply(const void *buf, size_t len, struct local_addr_list *out);

void local_addrs_free(struct local_addr_list *list);

#endif /* TG_LOCAL_ADDRS_H */
