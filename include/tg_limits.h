// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_limits.h - per-tenant limits: how many ports a tenant may hold through bind() (max-tunnels),
 * and how much of tg_port_owner one uid may take. Shared by the kernel program, the loader and
 * status; pure, like tg_policy.h.
 *
 * Worked example. With
 *	max-tunnels = 2
 *	[tenant alice]
 *	user = 2001
 *	ports = 8001-8010
 *	max-tunnels = 5
 * the programs' rodata holds tg_max_tunnels = 2 and the map tg_tunnel_max holds 2001 -> 5. After
 * uid 2002 (a tenant without a section) bound two TCP sockets, tg_tunnels holds 2002 -> { 2 } and
 * each of the two sockets carries tg_bound { .uid = 2002, .counted = 1 }; its third bind() fails
 * with EDQUOT (tg_tunnel_refuses(2, 2)) and is counted as TG_DENY_TUNNEL_LIMIT. Closing one of
 * the two sockets (cgroup/sock_release) brings tg_tunnels back to 2002 -> { 1 }.
 */
#ifndef TG_LIMITS_H
#define TG_LIMITS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "tg_maps.h" /* struct tg_port_key */

/* What a bind() over the limit fails with: "Disk quota exceeded", a quota and not a policy. */
#define TG_TUNNEL_ERRNO 122 /* EDQUOT */

/* Bounds of max-tunnels; 0 means no limit. */
#define TG_MAX_TUNNELS_HIGHEST 1000000U

/* A [tenant] section's max-tunnels when it sets none: the global value applies. */
#define TG_MAX_TUNNELS_UNSET 0xffffffffU

/* Value of tg_tunnels (hash keyed by uid): TCP sockets the uid holds a port with through bind(). */
struct tg_tunnel_count {
	__u32 count;
};

/* Uids tg_tunnels can count; entries stay (at 0) once made, so that no increment is lost. */
#define TG_TUNNELS_UIDS (1 << 17)

/*
 * Socket local storage tg_bound: this socket is counted in tg_tunnels under uid (the uid that
 * called bind(), which may not be the one that closes it). Example: { .uid = 2002, .counted = 1 }.
 */
struct tg_bound {
	__u32 uid;
	__u32 counted;		/* 1 while the socket holds one unit of tg_tunnels[uid] */
	__u32 owner_uid;	/* sk_uid the socket was recorded with (port_owner, netns event) */
	__u32 recorded;		/* TG_BOUND_* bits: what its close must undo */
	__u64 netns_cookie;	/* of the namespace it was bound in */
	struct tg_port_key key; /* its tg_port_owner key (TG_BOUND_PORT_OWNER) */
	__u32 pad;
};

/* tg_bound.recorded: the socket made the tg_port_owner entry key, or a netns event. */
#define TG_BOUND_PORT_OWNER 1U
#define TG_BOUND_NETNS	    2U

/*
 * One uid other than root may own at most max_entries / TG_OWNER_CAP_DIVISOR entries of
 * tg_port_owner, so that one tenant's listeners cannot fill it and blind the guard to the others'.
 * The share is a constant, not policy: the map and the counts outlive every swap.
 */
#define TG_OWNER_CAP_DIVISOR 4

/* Value of tg_owner_count (hash keyed by uid): entries of tg_port_owner the uid owns. */
struct tg_owner_count {
	__u32 count;
};

/* Cap of one uid in a tg_port_owner of max_entries entries (root has none: 0xffffffff). */
static inline __u32 tg_owner_cap(__u32 uid, __u32 max_entries)
{
	if (uid == 0)
		return 0xffffffffU;
	return max_entries / TG_OWNER_CAP_DIVISOR;
}

/*
 * The limit for uid: its [tenant] max-tunnels when it has one (per_uid_found), else the global
 * one. 0: no limit.
 */
static inline __u32 tg_tunnel_limit(__u32 global, int per_uid_found, __u32 per_uid)
{
	return per_uid_found ? per_uid : global;
}

/* Does taking one more port, with old ports held already, break limit? */
static inline int tg_tunnel_refuses(__u32 old, __u32 limit)
{
	return limit != 0 && old >= limit;
}

#endif /* TG_LIMITS_H */
