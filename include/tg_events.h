// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_events.h - one record in the tg_events ring buffer: a refused (or, in audit mode, a would-be
 * refused) connect or bind; the reason tells which (the *_BIND_* reasons are binds). Written by
 * the connect and bind programs, read by `tunnelguard daemon` and `tunnelguard events`. For a
 * bind, family, ip and port are the address the caller asked to bind and owner_uid is the uid
 * the port is reserved for (0 under TG_*_BIND_UNRESERVED). Example, tenant 2002's `nc 127.0.0.1
 *8001` against tenant 2001's tunnel: { .time_ns = 1234567890, .caller_uid = 2002, .pid = 4242,
 *.owner_uid = 2001, .reason = TG_DENY_OTHER_TENANT, .family = AF_INET, .port = 8001, .ip = {
 *htonl(0x7f000001) }, .comm = "nc", .netns_cookie = 1, .stage = TG_STAGE_SYSCALL }
 */
#ifndef TG_EVENTS_H
#define TG_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TG_COMM_LEN 16

struct tg_event {
	__u64 time_ns;	  /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns) */
	__u32 caller_uid; /* real uid of the connecting task */
	__u32 pid;	  /* its process id (tgid) */
	__u32 owner_uid;  /* owner of the listener; meaningless when reason is *_UNKNOWN_OWNER */
	__u32 reason;	  /* enum tg_reason */
	__u32 family;	  /* TG_AF_INET or TG_AF_INET6: of the destination after normalisation */
	__u32 port;	  /* destination port, host byte order */
	__u32 ip[4];	  /* destination address, network byte order; IPv4 in ip[0] */
	char comm[TG_COMM_LEN];
	__u64 netns_cookie; /* network namespace of the connect or bind (SO_NETNS_COOKIE) */
	__u32 stage;	    /* enum tg_stage: connect(), the SYN at the listener, or post-bind */
	__u32 pad;
};

#define TG_EVENTS_RING_BYTES (256 * 1024)

#endif /* TG_EVENTS_H */
