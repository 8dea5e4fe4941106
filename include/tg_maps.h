// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_maps.h - map layouts and pin names shared by the kernel program and userspace.
 */
#ifndef TG_MAPS_H
#define TG_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "tg_policy.h" /* enum tg_reason, the type of tg_caller.reason */

/*
 * Typed for bpftool. The BTF of these structs is what `bpftool map dump` prints with, so fields
 * that hold an enum have the enum's type (it prints the name), and addresses are also bytes: an
 * anonymous union gives the 16 address bytes ("addr": [0,0,0,0,0,0,0,0,0,0,255,255,127,0,0,1])
 * beside the 32-bit words the code uses, in the same 16 bytes; the words come first, so that a
 * positional initializer still fills words (write them designated: `.ip = { ... }`). Sizes and
 * offsets are those of the all-__u32 layout (asserted below), so maps pinned by an older build are
 * still reused.
 */

/*
 * Key of tg_local_addrs, an LPM trie of the prefixes the kernel delivers locally (its "local"
 * routing table: every interface address, and AnyIP routes such as `local 10.9.0.0/16 dev lo`).
 * IPv4 prefixes are stored v4-mapped, so one trie serves both families. Example entry for the
 * host address 192.0.2.7/32:
 *	{ .prefixlen = 128, .ip = { 0, 0, htonl(0xffff), htonl(0xc0000207) } } -> 1
 */
struct tg_lpm_key {
	__u32 prefixlen; /* bits of ip[] that must match, 0..128 */
	union {
		__u32 ip[4];   /* network byte order */
		__u8 addr[16]; /* the same address as bytes, for bpftool */
	};
};

_Static_assert(sizeof(struct tg_lpm_key) == 20, "the pinned local_addrs key changed size");

#define TG_LOCAL_ADDRS_MAX 4096

/*
 * Key of tg_netns_addrs, the local prefixes of network namespaces other than the guard's own
 * (whose prefixes are in tg_local_addrs). The daemon fills it for every namespace where a tenant
 * listens, from rtnetlink, and follows address and route events there. The 32 pad bits (always
 * 0) and the 64 cookie bits come first, so prefixlen is 96 + the address prefix length (IPv4
 * v4-mapped). Example, 10.0.0.5/32 in the namespace whose cookie is 4097:
 *	{ .prefixlen = 224, .netns_cookie = 4097, .ip = { 0, 0, htonl(0xffff), htonl(0x0a000005) } }
 *	-> 1
 */
struct tg_netns_lpm_key {
	__u32 prefixlen;    /* 96 + bits of ip[] that must match */
	__u32 pad;	    /* 0 */
	__u64 netns_cookie; /* SO_NETNS_COOKIE of the namespace */
	union {
		__u32 ip[4];   /* network byte order */
		__u8 addr[16]; /* the same address as bytes, for bpftool */
	};
};

_Static_assert(sizeof(struct tg_netns_lpm_key) == 32, "the pinned netns_addrs key changed size");

#define TG_NETNS_LPM_PREFIX 96
#define TG_NETNS_ADDRS_MAX  65536

/*
 * Value of tg_netns (hash keyed by network namespace cookie): what the guard knows of a namespace
 * other than its own. A connect hook in a namespace whose addresses are not known (no entry, or
 * addrs_known 0) fails closed: any listener found there counts as local. Example, after the daemon
 * dumped the addresses of the namespace with cookie 4097: 4097 -> { .addrs_known = 1 }.
 */
struct tg_netns_info {
	__u32 addrs_known; /* 1 when tg_netns_addrs holds this namespace's local prefixes */
	__u32 pad;
};

#define TG_NETNS_MAX 4096

/*
 * Key of tg_traced_syns: a SYN as the listener sees it (after NAT), in one network namespace.
 * Value: the struct tg_caller of the socket that sent it. Example, tenant 2002's connect to
 * 127.0.0.1:9001 that an nft rule redirected to port 8001:
 *	{ .netns_cookie = 1, .family = AF_INET, .saddr = { 0x0100007f }, .daddr = { 0x0100007f },
 *	  .sport = htons(40000), .dport = htons(8001) } -> { .caller_uid = 2002, ... }
 */
struct tg_syn_key {
	__u64 netns_cookie;
	__u32 family;
	union {
		__u32 saddr[4];	      /* network byte order; IPv4 in [0] */
		__u8 saddr_bytes[16]; /* saddr as bytes, for bpftool */
	};
	union {
		__u32 daddr[4];
		__u8 daddr_bytes[16];
	};
	__u16 sport; /* network byte order */
	__u16 dport;
};

_Static_assert(sizeof(struct tg_syn_key) == 48, "the pinned traced_syns key changed size");

#define TG_TRACED_SYNS_MAX 16384

/*
 * What a connect hook remembers on a tenant's socket (socket local storage tg_caller), so that
 * the check where the SYN meets the listener (tg_syn_in) knows who connected, with what verdict,
 * even when it runs in softirq context for another task. Example, tenant 2002's nc allowed
 * because nothing listened yet: { .caller_uid = 2002, .pid = 4242, .reason = TG_ALLOW_NO_LISTENER,
 * .comm = "nc" }.
 */
struct tg_caller {
	__u32 caller_uid;      /* real uid of the task that called connect() */
	__u32 pid;	       /* its tgid */
	enum tg_reason reason; /* of the connect-time decision (already counted) */
	__u32 pad;
	char comm[16];
};

_Static_assert(sizeof(struct tg_caller) == 32, "the pinned callers value changed size");

/*
 * Key of tg_port_owner: one listening TCP socket's bound address and port in the guard's network
 * namespace. The address is part of the key because 127.0.0.1:8001 and 127.0.0.2:8001 (or
 * 0.0.0.0:8001 and a v6only [::]:8001) can be held by different users at once. IPv4 addresses
 * are stored v4-mapped. Example, tenant 2001's `ssh -R 8001:...` on 127.0.0.1:
 *	{ .addr = { 0,0,0,0, 0,0,0,0, 0,0,255,255, 127,0,0,1 }, .port = 8001, .family = AF_INET }
 *	-> { .uid = 2001 }
 * The address is bytes, so that `bpftool map dump` prints it in a form a person can read.
 */
struct tg_port_key {
	__u8 addr[16]; /* network byte order, IPv4 v4-mapped (::ffff:a.b.c.d) */
	__u16 port;    /* host byte order */
	__u16 family;  /* AF_INET (2) or AF_INET6 (10): how the socket was made */
};

struct tg_port_owner {
	__u32 uid; /* sk_uid of the listener */
};

#define TG_PORT_OWNER_MAX (1 << 18)

/*
 * The policy maps: created with the programs of every load, filled from the config before the
 * programs run, then frozen (and read-only to the programs), and swapped in with the programs, so
 * a decision never reads a mixture of two loads. All lookups are O(1) whatever the number of
 * tenants.
 *
 * tg_tenant_uids: array of __u64, entry uid / 64, bit uid % 64 set when uid is a restricted
 * tenant (tenant-uids, tenant-group members and [tenant] users, minus exempt-uids), for uids
 * below tg_settings.uid_bitmap_limit. Example, `tenant-uids = 2001-2003`: entry 31 = 0xe0000.
 *
 * tg_tenant_uids_high: hash of __u32 uid -> __u8 1, the restricted uids at or above
 * TG_UID_BITMAP_MAX in runs of at most TG_HIGH_UID_SPAN (tg_policy.h); wider runs are ranges in
 * tg_settings.high. Example, `tenant-uids = 1500000000, 1500000007`: two entries.
 *
 * tg_ports: array of struct tg_port_policy indexed by port (65536 entries): the reservation and
 * the allow-ports flag of every port. Example, [tenant alice] (the first section) with
 * `user = 2001` and `ports = 8001`: tg_ports[8001] = { .reserved_for = 2001, .tenant = 1 }.
 */
struct tg_port_policy {
	__u32 reserved_for; /* uid of the [tenant] that reserved the port, 0: none */
	__u32 tenant;	    /* its index in tg_tenant_names + 1, 0: none */
	__u32 flags;	    /* TG_PORT_OPEN: in allow-ports, any tenant may reach it */
};

#define TG_PORT_OPEN  1U
#define TG_PORT_COUNT 65536

/*
 * Key of tg_allow_rules, a hash with one entry per uid and port an `allow = USER:PORTS` grants
 * (ranges are expanded). Example, `allow = 2002:8001`: { .uid = 2002, .port = 8001 } -> 1.
 */
struct tg_allow_key {
	__u32 uid;
	__u16 port; /* host byte order */
	__u16 pad;  /* 0 */
};

/* Most uid-port pairs all `allow` lines may expand to. */
#define TG_ALLOW_PAIRS_MAX (1U << 22)

/*
 * Value of tg_tenant_names (array, index = tg_port_policy.tenant - 1): the [tenant NAME] section,
 * for status and bpftool; no program reads it. Example: { .name = "alice", .uid = 2001 }.
 */
struct tg_tenant_name {
	char name[TG_NAME_LEN];
	__u32 uid;
	__u32 max_tunnels; /* max-tunnels of the section (0: none), or TG_MAX_TUNNELS_UNSET */
};

/* Indexes of tg_stats, a per-CPU array of what the guard could not do. */
enum tg_stat {
	TG_STAT_EVENTS_RATE_LIMITED = 0, /* events not sent: the caller exceeded its rate */
	TG_STAT_EVENTS_LOST = 1,	 /* events not sent: the ring buffer was full */
	TG_STAT_PORT_OWNER_FULL = 2,	 /* listeners not recorded: tg_port_owner was full */
	TG_STAT_OWNER_EVENTS_LOST = 3,	 /* owner changes not sent: no reader, or it fell behind */
	TG_STAT_PORT_OWNER_UID_CAP = 4,	 /* listeners not recorded: their uid holds its share */
	TG_STAT_COUNT = 5,
	/* tg_stats keeps TG_STAT_COUNT entries so a pinned map is reused across builds; the kinds
	 * of refusal below are counted in tg_stages instead. A map pinned by a build with fewer
	 * entries is reused as it is (bpf_map__reuse_fd takes its size): the indexes it lacks are
	 * not counted until an unload, and status reads only the entries it has. */
};

/* Value of tg_event_rate (LRU hash keyed by caller uid): events sent in the current second. */
struct tg_event_rate {
	__u64 window_start_ns; /* start of the one-second window, CLOCK_BOOTTIME */
	__u32 sent;	       /* events sent in that window */
	__u32 pad;
};

#define TG_EVENT_RATE_UIDS 4096

#define TG_SELFTEST_PROGS 8

/*
 * The one value of tg_selftest: how the last `load` proved that the guard refuses, and which
 * programs it proved (status shows the record only while those programs run). Example after a
 * good load in enforce mode:
 *	{ .time_unix = 1795000000, .result = TG_SELFTEST_PASSED, .probe_errno = 111,
 *	  .prog_id = { 801, 802, 803, 804, 805, 806, 807, 808 } }
 */
enum tg_selftest_result {
	TG_SELFTEST_NEVER = 0,	 /* no load has run a self-test */
	TG_SELFTEST_PASSED = 1,	 /* the probe was refused (enforce) or recorded (audit) */
	TG_SELFTEST_FAILED = 2,	 /* the probe got through: that load was rolled back */
	TG_SELFTEST_SKIPPED = 3, /* --no-self-test, or fewer than two tenant uids */
};

struct tg_selftest {
	__u64 time_unix;		/* when, in seconds since the epoch */
	enum tg_selftest_result result; /* "result": "TG_SELFTEST_PASSED" in bpftool */
	__u32 probe_errno; /* what the probe connect returned: 0 (connected) or an errno */
	__u32 prog_id[TG_SELFTEST_PROGS]; /* kernel ids of the cgroup programs tested, 0: none */
};

/* 16 bytes before the program ids: load replaces such a record (loader.c, drop_if_other_layout). */
_Static_assert(sizeof(struct tg_selftest) == 48, "the pinned selftest value changed size");

/*
 * A change to tg_port_owner made by the bind and close hooks, sent on the ring buffer
 *tg_owner_events so that the daemon can add or delete the same owner in the nft layer's sets at
 *once. Example, tenant 2001's sshd starts listening on 127.0.0.1:8001: { .uid = 2001, .port = 8001,
 *.family = AF_INET, .added = 1 } The ring buffer has no reader while no daemon runs; the events are
 *then dropped (counted in TG_STAT_OWNER_EVENTS_LOST) and the daemon's full reconciliation covers
 *them when it starts.
 */
#define TG_OWNER_EVENTS_RING_BYTES (64 * 1024)

struct tg_owner_event {
	__u32 uid;
	__u16 port;    /* host byte order */
	__u8 family;   /* AF_INET or AF_INET6 */
	__u8 added;    /* 1: listening now, 0: closed */
	__u8 addr[16]; /* as in tg_port_key */
};

/*
 * A listener appeared in, or left, a network namespace other than the guard's, sent on the ring
 * buffer tg_netns_events so that the daemon can learn that namespace's addresses (through the
 * pid's /proc/PID/ns/net) before, or just after, a tenant's connect needs them. Example:
 *	{ .netns_cookie = 4097, .pid = 5150, .uid = 2001, .port = 8001, .added = 1 }
 */
#define TG_NETNS_EVENTS_RING_BYTES (64 * 1024)

struct tg_netns_event {
	__u64 netns_cookie;
	__u32 pid; /* tgid of the task that called listen() (0 when it closed from softirq) */
	__u32 uid; /* sk_uid of the listener */
	__u16 port;
	__u8 added; /* 1: listening now, 0: closed */
	__u8 pad;
	__u32 pad2;
};

/*
 * Where a refusal was taken, index of the per-CPU array tg_stages: at connect() or bind() (the
 * usual case),
 * where the SYN meets the listener (a listener that appeared after connect() looked, NAT, a
 * device-bound listener, an address the connect hook did not know as local), or after a bind to
 * port 0 landed on a reserved port.
 */
enum tg_stage {
	TG_STAGE_SYSCALL = 0,
	TG_STAGE_SYN = 1,
	TG_STAGE_POST_BIND = 2,
	TG_STAGE_COUNT = 3,
};

/*
 * Which walls a load put up: bits of the config key `layers`, recorded in the config map. Both
 * bits together have a name too, so that bpftool prints "tg_layers": "TG_LAYERS_BPF_NFT".
 */
enum tg_layer {
	TG_LAYER_BPF = 1,				 /* cgroup connect hooks */
	TG_LAYER_NFT = 2,				 /* table inet tunnelguard */
	TG_LAYERS_BPF_NFT = TG_LAYER_BPF | TG_LAYER_NFT, /* both: the default */
};

/* Per caller uid, at most this many events per second reach the ring buffer. */
#define TG_EVENTS_PER_UID_PER_SEC 20

/* Names under the pin dir. Maps and programs keep these names across a config swap. */
#define TG_PIN_LINK_CONNECT4 "link_connect4"
#define TG_PIN_LINK_CONNECT6 "link_connect6"
#define TG_PIN_PROG_CONNECT4 "prog_connect4"
#define TG_PIN_PROG_CONNECT6 "prog_connect6"
#define TG_PIN_LINK_BIND4    "link_bind4"
#define TG_PIN_LINK_BIND6    "link_bind6"
#define TG_PIN_PROG_BIND4    "prog_bind4"
#define TG_PIN_PROG_BIND6    "prog_bind6"
#define TG_PIN_COUNTERS	     "counters"
#define TG_PIN_LOCAL_ADDRS   "local_addrs"
#define TG_PIN_CONFIG	     "config"
#define TG_PIN_PORT_OWNER    "port_owner"
#define TG_PIN_EVENTS	     "events"
#define TG_PIN_EVENT_RATE    "event_rate"
#define TG_PIN_STATS	     "stats"
#define TG_PIN_SELFTEST	     "selftest"
/* The listen tracer of builds before 16, which load detaches (not in TG_PIN_ALL). */
#define TG_PIN_LINK_LISTEN	"link_listen"
#define TG_PIN_OWNER_EVENTS	"owner_events"
#define TG_PIN_LINK_SYN_IN	"link_syn_in"
#define TG_PIN_PROG_SYN_IN	"prog_syn_in"
#define TG_PIN_LINK_POST_BIND4	"link_post_bind4"
#define TG_PIN_LINK_POST_BIND6	"link_post_bind6"
#define TG_PIN_PROG_POST_BIND4	"prog_post_bind4"
#define TG_PIN_PROG_POST_BIND6	"prog_post_bind6"
#define TG_PIN_NETNS		"netns"
#define TG_PIN_NETNS_ADDRS	"netns_addrs"
#define TG_PIN_NETNS_EVENTS	"netns_events"
#define TG_PIN_CALLERS		"callers"
#define TG_PIN_STAGES		"stages"
#define TG_PIN_LINK_SYN_OUT	"link_syn_out"
#define TG_PIN_PROG_SYN_OUT	"prog_syn_out"
#define TG_PIN_TRACED_SYNS	"traced_syns"
#define TG_PIN_TENANT_UIDS	"tenant_uids"
#define TG_PIN_TENANT_UIDS_HIGH "tenant_uids_high"
#define TG_PIN_PORTS		"ports"
#define TG_PIN_ALLOW_RULES	"allow_rules"
#define TG_PIN_TENANT_NAMES	"tenant_names"
#define TG_PIN_LINK_RELEASE	"link_sock_release"
#define TG_PIN_PROG_RELEASE	"prog_sock_release"
#define TG_PIN_TUNNELS		"tunnels"
#define TG_PIN_TUNNEL_MAX	"tunnel_max"
#define TG_PIN_BOUND		"bound"
#define TG_PIN_OWNER_COUNT	"owner_count"

/*
 * Every name a load pins, for code that must walk them all (unload, tests): a new pin goes here
 * too. Use as an array initializer: static const char *const names[] = { TG_PIN_ALL };
 */
#define TG_PIN_ALL                                                                                \
	TG_PIN_LINK_CONNECT4, TG_PIN_LINK_CONNECT6, TG_PIN_LINK_BIND4, TG_PIN_LINK_BIND6,         \
		TG_PIN_PROG_CONNECT4, TG_PIN_PROG_CONNECT6, TG_PIN_PROG_BIND4, TG_PIN_PROG_BIND6, \
		TG_PIN_CONFIG, TG_PIN_COUNTERS, TG_PIN_LOCAL_ADDRS, TG_PIN_PORT_OWNER,            \
		TG_PIN_EVENTS, TG_PIN_EVENT_RATE, TG_PIN_STATS, TG_PIN_SELFTEST,                  \
		TG_PIN_OWNER_EVENTS, TG_PIN_LINK_SYN_IN, TG_PIN_PROG_SYN_IN,                      \
		TG_PIN_LINK_POST_BIND4, TG_PIN_LINK_POST_BIND6, TG_PIN_PROG_POST_BIND4,           \
		TG_PIN_PROG_POST_BIND6, TG_PIN_NETNS, TG_PIN_NETNS_ADDRS, TG_PIN_NETNS_EVENTS,    \
		TG_PIN_CALLERS, TG_PIN_STAGES, TG_PIN_LINK_SYN_OUT, TG_PIN_PROG_SYN_OUT,          \
		TG_PIN_TRACED_SYNS, TG_PIN_TENANT_UIDS, TG_PIN_PORTS, TG_PIN_ALLOW_RULES,         \
		TG_PIN_TENANT_NAMES, TG_PIN_LINK_RELEASE, TG_PIN_PROG_RELEASE, TG_PIN_TUNNELS,    \
		TG_PIN_TUNNEL_MAX, TG_PIN_BOUND, TG_PIN_OWNER_COUNT, TG_PIN_TENANT_UIDS_HIGH

#endif /* TG_MAPS_H */
