// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_addr.h - where a connect really goes, shared by the kernel program and userspace.
 *
 * A connect hook sees the destination as the caller wrote it; the kernel rewrites some forms
 * afterwards. These pure functions turn what the caller wrote into the address whose listener
 * the connection will reach, so the listener lookup cannot be dodged by spelling:
 *	0.0.0.0            -> the socket's bound source address, else 127.0.0.1 (ip_route_connect)
 *	::                 -> ::1, or 127.0.0.1 when the socket is bound to a v4-mapped address
 *	::ffff:a.b.c.d     -> IPv4 a.b.c.d (tcp_v6_connect hands mapped addresses to tcp_v4_connect)
 *	::ffff:0.0.0.0     -> as 0.0.0.0
 * Worked example: connect6 to ::ffff:0.0.0.0 port 8001 on an unbound socket gives
 *	{ .family = TG_AF_INET, .ip = { 0x0100007f (127.0.0.1 in network order) }, .port = 8001 }.
 */
#ifndef TG_ADDR_H
#define TG_ADDR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TG_AF_INET  2  /* AF_INET, without needing libc or kernel headers */
#define TG_AF_INET6 10 /* AF_INET6 */

/* A destination as the lookup must see it. Addresses are in network byte order. */
struct tg_dest {
	__u32 family; /* TG_AF_INET or TG_AF_INET6 */
	__u32 ip[4];  /* IPv4 uses ip[0] only; IPv6 uses all four words */
	__u16 port;   /* host byte order */
	__u16 pad;
};

static inline __u32 tg_ntohl(__u32 x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32(x);
#else
	return x;
#endif
}

#define tg_htonl(x) tg_ntohl(x)

static inline int tg_ip6_is_any(const __u32 *a)
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

static inline int tg_ip6_is_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == tg_htonl(0x0000ffff);
}

static inline int tg_ip6_is_loopback(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == tg_htonl(1);
}

/* daddr and bound_saddr in network order, port in host order. */
static inline void tg_dest_from_v4(struct tg_dest *d, __u32 daddr, __u32 bound_saddr, __u16 port)
{
	d->family = TG_AF_INET;
	if (daddr == 0)
		daddr = bound_saddr ? bound_saddr : tg_htonl(0x7f000001);
	d->ip[0] = daddr;
	d->ip[1] = 0;
	d->ip[2] = 0;
	d->ip[3] = 0;
	d->port = port;
	d->pad = 0;
}

/* daddr and bound_saddr are four network-order words each. */
static inline void tg_dest_from_v6(struct tg_dest *d, const __u32 *daddr, const __u32 *bound_saddr,
				   __u16 port)
{
	__u32 bound_v4 = tg_ip6_is_v4mapped(bound_saddr) ? bound_saddr[3] : 0;

	if (tg_ip6_is_any(daddr)) {
		if (tg_ip6_is_v4mapped(bound_saddr)) {
			tg_dest_from_v4(d, tg_htonl(0x7f000001), 0, port);
			return;
		}
		d->family = TG_AF_INET6;
		d->ip[0] = 0;
		d->ip[1] = 0;
		d->ip[2] = 0;
		d->ip[3] = tg_htonl(1);
		d->port = port;
		d->pad = 0;
		return;
	}
	if (tg_ip6_is_v4mapped(daddr)) {
		tg_dest_from_v4(d, daddr[3], bound_v4, port);
		return;
	}
	d->family = TG_AF_INET6;
	d->ip[0] = daddr[0];
	d->ip[1] = daddr[1];
	d->ip[2] = daddr[2];
	d->ip[3] = daddr[3];
	d->port = port;
	d->pad = 0;
}

/* Addresses that are this host's whatever the interfaces say: 127.0.0.0/8 and ::1. */
static inline int tg_dest_is_loopback(const struct tg_dest *d)
{
	if (d->family == TG_AF_INET)
		return (tg_ntohl(d->ip[0]) >> 24) == 127;
	return tg_ip6_is_loopback(d->ip);
}

#endif /* TG_ADDR_H */
