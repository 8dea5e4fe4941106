// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_maps.h - map layouts and pin names shared by the kernel program and userspace.
 */
#ifndef TG_MAPS_H
#define TG_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Key of tg_local_addrs, an LPM trie of the prefixes the kernel delivers locally (its "local"
 * routing table: every interface address, and AnyIP routes such as `local 10.9.0.0/16 dev lo`).
 * IPv4 prefixes are stored v4-mapped, so one trie serves both families. Example entry for the
 * host address 192.0.2.7/32:
 *	{ .prefixlen = 128, .ip = { 0, 0, htonl(0xffff), htonl(0xc0000207) } } -> 1
 */
struct tg_lpm_key {
	__u32 prefixlen; /* bits of ip[] that must match, 0..128 */
	__u32 ip[4];	 /* network byte order */
};

#define TG_LOCAL_ADDRS_MAX 4096

/* Names under the pin dir. Maps and programs keep these names across a config swap. */
#define TG_PIN_LINK_CONNECT4 "link_connect4"
#define TG_PIN_LINK_CONNECT6 "link_connect6"
#define TG_PIN_PROG_CONNECT4 "prog_connect4"
#define TG_PIN_PROG_CONNECT6 "prog_connect6"
#define TG_PIN_COUNTERS	     "counters"
#define TG_PIN_LOCAL_ADDRS   "local_addrs"
#define TG_PIN_CONFIG	     "config"

#endif /* TG_MAPS_H */
