// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunnelguard.bpf.c - refuse a tenant's TCP connect to a local listener another tenant owns,
 * and a tenant's bind() of a port reserved for another tenant.
 *
 * Guarantees, for every process in the cgroup the programs are attached to (the cgroup v2 root by
 * default, so every process on the host):
 *  - a caller that is not a tenant is allowed after one range check and nothing else;
 *  - a tenant's connect on a stream socket is matched to the listener it would reach, in the
 *    caller's network namespace, after undoing the address spellings the kernel rewrites later
 *    (tg_addr.h); the decision is tg_decide_connect() (tg_policy.h), shared with userspace;
 *  - a refusal returns the configured errno and raises a per-CPU counter; every tenant decision
 *    raises exactly one counter.
 * Not guaranteed: non-stream sockets (UDP, SCTP one-to-many), listeners bound to a device
 * (SO_BINDTODEVICE, VRF), and local addresses added after the local address trie was filled
 * when the listener is a wildcard one (see README, "Limits").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tg_policy.h"
#include "tg_addr.h"
#include "tg_maps.h"
#include "tg_events.h"
#include "tg_limits.h"

#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define TCP_LISTEN  10
#define ALLOW	    1
#define REFUSE	    0
/* What a refused bind() returns (when bpf_set_retval() exists): like a privileged port. */
#define BIND_ERRNO 13 /* EACCES */

char LICENSE[] SEC("license") = "GPL";

/*
 * The load-time settings live in their own section, so that their map (pinned as `config`) is
 * named ".rodata.config" in `bpftool map show` rather than after the object ("tunnelgu.rodata").
 * The skeleton calls it rodata_config.
 */
#define CONFIG SEC(".rodata.config")

/* Set by the loader before load, frozen after; see struct tg_settings. */
const volatile struct tg_settings tg_settings CONFIG = {};
/* 1 when bpf_set_retval() exists on this kernel: refusals then carry tg_policy.deny_errno. */
const volatile __u32 tg_use_set_retval CONFIG = 0;
/* Cookie of the network namespace whose listeners tg_port_owner records (the loader's). */
const volatile __u64 tg_netns_cookie CONFIG = 0;
/* enum tg_layer bits of the load: read back by status and the daemon, unused by the programs. */
const volatile enum tg_layer tg_layers CONFIG = 0;
/*
 * Unused: it rounds the map's value up to the 8-byte-aligned size of the skeleton's struct, which
 * a `status` of any build checks before reading the pin `config`.
 */
const volatile __u32 tg_config_pad CONFIG = 0;

/*
 * The policy maps (tg_maps.h): sized and filled by the loader before the programs run, frozen,
 * and read-only to the programs; each load makes new ones, swapped in with its programs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* uid_bitmap_limit / 64, set by the loader */
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u64);
} tg_tenant_uids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* the listed high tenant uids, set by the loader */
	__uint(map_flags, BPF_F_RDONLY_PROG | BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
} tg_tenant_uids_high SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_PORT_COUNT);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct tg_port_policy);
} tg_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* the allow rules' uid-port pairs, set by the loader */
	__uint(map_flags, BPF_F_RDONLY_PROG | BPF_F_NO_PREALLOC);
	__type(key, struct tg_allow_key);
	__type(value, __u8);
} tg_allow_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the [tenant] sections, set by the loader */
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct tg_tenant_name);
} tg_tenant_names SEC(".maps");

/*
 * Is uid a restricted tenant? One array lookup (inlined by the verifier) below the bitmap's end;
 * the hash of listed uids only for uids too high for any bitmap (below that, the bitmap holds
 * every tenant, so a service uid such as 65534 makes no hash lookup).
 */
static __always_inline int is_tenant(__u32 uid)
{
	__u32 key = uid >> 6;
	const __u64 *word = NULL;
	int listed = 0;

	if (uid < tg_settings.uid_bitmap_limit)
		word = bpf_map_lookup_elem(&tg_tenant_uids, &key);
	else if (uid >= TG_UID_BITMAP_MAX)
		listed = bpf_map_lookup_elem(&tg_tenant_uids_high, &uid) != NULL;
	return tg_uid_is_tenant(&tg_settings, word, listed, uid);
}

/* What tg_ports says of port: its reservation and allow-ports flag. */
static __always_inline const struct tg_port_policy *port_policy(__u16 port)
{
	__u32 key = port;

	return bpf_map_lookup_elem(&tg_ports, &key);
}

/* The uid port is reserved for, 0 when none. */
static __always_inline __u32 reserved_for(__u16 port)
{
	const struct tg_port_policy *pp = port_policy(port);

	return pp ? pp->reserved_for : 0;
}

/* Does an allow rule grant uid the port? */
static __always_inline int allow_rule(__u32 uid, __u16 port)
{
	struct tg_allow_key key = { .uid = uid, .port = port };

	return bpf_map_lookup_elem(&tg_allow_rules, &key) != NULL;
}

/*
 * tg_decide_connect(), or tg_decide_connect_local() when local is -1, with the allow-ports flag
 * and the allow rule looked up only when the decision asks for them: a tenant reaching its own
 * listener makes neither lookup.
 */
static __always_inline enum tg_reason decide_connect(struct tg_facts *f, int local)
{
	enum tg_reason reason;

	for (int ask = 0; ask < 3; ask++) {
		reason = local < 0 ? tg_decide_connect_local(&tg_settings, f)
				   : tg_decide_connect(&tg_settings, f, local);
		if (reason == TG_NEED_PORT_OPEN) {
			const struct tg_port_policy *pp = port_policy(f->port);

			f->port_open = pp && (pp->flags & TG_PORT_OPEN) ? TG_FACT_YES : TG_FACT_NO;
		} else if (reason == TG_NEED_ALLOW_RULE) {
			f->allow_rule =
				allow_rule(f->caller_uid, f->port) ? TG_FACT_YES : TG_FACT_NO;
		} else {
			break;
		}
	}
	return reason;
}

/* Per-CPU decision counters, indexed by enum tg_reason; userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_REASON_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tg_counters SEC(".maps");

/* Prefixes of this host's own addresses; see struct tg_lpm_key. Value is unused (1). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_LOCAL_ADDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm_key);
	__type(value, __u8);
} tg_local_addrs SEC(".maps");

/* Every listening TCP socket of the guard's netns; see struct tg_port_key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_PORT_OWNER_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_port_key);
	__type(value, struct tg_port_owner);
} tg_port_owner SEC(".maps");

/* Refusals and audit records for the daemon; see struct tg_event. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_EVENTS_RING_BYTES);
} tg_events SEC(".maps");

/* Changes to tg_port_owner for the daemon, which mirrors them into the nft layer's sets. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_OWNER_EVENTS_RING_BYTES);
} tg_owner_events SEC(".maps");

/* Per caller uid event budget, so one tenant cannot crowd the others out of tg_events. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_EVENT_RATE_UIDS);
	__type(key, __u32);
	__type(value, struct tg_event_rate);
} tg_event_rate SEC(".maps");

/* What the guard could not do, indexed by enum tg_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tg_stats SEC(".maps");

/* Local prefixes of the other network namespaces where tenants listen; see tg_netns_lpm_key. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_NETNS_ADDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_netns_lpm_key);
	__type(value, __u8);
} tg_netns_addrs SEC(".maps");

/* What the guard knows of each other network namespace; see struct tg_netns_info. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_NETNS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tg_netns_info);
} tg_netns SEC(".maps");

/* Listeners coming and going outside the guard's namespace, for the daemon; see tg_netns_event. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TG_NETNS_EVENTS_RING_BYTES);
} tg_netns_events SEC(".maps");

/* Who connected a tenant's socket, read where its SYN meets a listener; see struct tg_caller. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_caller);
} tg_callers SEC(".maps");

/* Refusals by where they were taken, indexed by enum tg_stage. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STAGE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tg_stages SEC(".maps");

/* Written by the loader only: the last self-test, for status. Declared here for its BTF. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_selftest);
} tg_selftest SEC(".maps");

static __always_inline void count_stat(enum tg_stat stat)
{
	__u32 key = stat;
	__u64 *n = bpf_map_lookup_elem(&tg_stats, &key);

	if (n)
		*n += 1;
}

/* One-second windows per uid; a race between CPUs may let a few extra events through. */
static __always_inline int event_budget_left(__u32 uid, __u64 now)
{
	struct tg_event_rate fresh = { .window_start_ns = now, .sent = 1 };
	struct tg_event_rate *rate = bpf_map_lookup_elem(&tg_event_rate, &uid);

	if (!rate || now - rate->window_start_ns >= 1000000000ULL) {
		bpf_map_update_elem(&tg_event_rate, &uid, &fresh, BPF_ANY);
		return 1;
	}
	if (rate->sent >= TG_EVENTS_PER_UID_PER_SEC)
		return 0;
	rate->sent++;
	return 1;
}

/* The task an event names: the current one, or the one a socket's tg_caller remembers. */
struct tg_who {
	__u32 pid;
	const char *comm; /* NULL: the current task's */
	__u64 netns_cookie;
	__u32 stage; /* enum tg_stage */
};

static __always_inline void count_stage(enum tg_stage stage)
{
	__u32 key = stage;
	__u64 *n = bpf_map_lookup_elem(&tg_stages, &key);

	if (n)
		*n += 1;
}

static __always_inline void send_event(const struct tg_facts *f, const struct tg_dest *d,
				       enum tg_reason reason, const struct tg_who *who)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct tg_event *e;

	if (!event_budget_left(f->caller_uid, now)) {
		count_stat(TG_STAT_EVENTS_RATE_LIMITED);
		return;
	}
	e = bpf_ringbuf_reserve(&tg_events, sizeof(*e), 0);
	if (!e) {
		count_stat(TG_STAT_EVENTS_LOST);
		return;
	}
	e->time_ns = now;
	e->caller_uid = f->caller_uid;
	e->pid = who->pid;
	e->owner_uid = f->owner_uid;
	e->reason = reason;
	e->family = d->family;
	e->port = d->port;
	e->ip[0] = d->ip[0];
	e->ip[1] = d->ip[1];
	e->ip[2] = d->ip[2];
	e->ip[3] = d->ip[3];
	if (who->comm)
		__builtin_memcpy(e->comm, who->comm, sizeof(e->comm));
	else
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->netns_cookie = who->netns_cookie;
	e->stage = who->stage;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void count(enum tg_reason reason)
{
	__u32 key = reason;
	__u64 *n = bpf_map_lookup_elem(&tg_counters, &key);

	if (n)
		*n += 1;
}

/*
 * Is d an address of the caller's network namespace? The guard's own namespace is answered by
 * tg_local_addrs; another one by tg_netns_addrs once the daemon has learnt it. A namespace whose
 * addresses are not known yet fails closed: every destination counts as local there, so a
 * listener found by the lookup is judged (a remote connect to a port where another tenant holds
 * a wildcard listener in that namespace is refused until its addresses are known).
 */
/* d's address as both local-address tries store it: IPv4 v4-mapped, network byte order. */
static __always_inline void lpm_address(__u32 ip[4], const struct tg_dest *d)
{
	if (d->family == TG_AF_INET) {
		ip[2] = bpf_htonl(0xffff);
		ip[3] = d->ip[0];
	} else {
		ip[0] = d->ip[0];
		ip[1] = d->ip[1];
		ip[2] = d->ip[2];
		ip[3] = d->ip[3];
	}
}

static __always_inline int is_local_in_netns(const struct tg_dest *d, __u64 cookie)
{
	struct tg_netns_lpm_key key = { .prefixlen = TG_NETNS_LPM_PREFIX + 128 };
	struct tg_netns_info *info = bpf_map_lookup_elem(&tg_netns, &cookie);

	if (!info || !info->addrs_known)
		return 1;
	key.netns_cookie = cookie;
	lpm_address(key.ip, d);
	return bpf_map_lookup_elem(&tg_netns_addrs, &key) != NULL;
}

static __always_inline int is_local(const struct tg_dest *d, __u64 cookie)
{
	struct tg_lpm_key key = { .prefixlen = 128 };

	if (tg_dest_is_loopback(d))
		return 1;
	if (cookie != tg_netns_cookie)
		return is_local_in_netns(d, cookie);
	lpm_address(key.ip, d);
	return bpf_map_lookup_elem(&tg_local_addrs, &key) != NULL;
}

/* Does the listener sk sit on exactly d's address (not a wildcard)? */
static __always_inline int bound_exactly(struct bpf_sock *sk, const struct tg_dest *d)
{
	if (d->family == TG_AF_INET)
		return sk->src_ip4 == d->ip[0] && d->ip[0] != 0;
	return sk->src_ip6[0] == d->ip[0] && sk->src_ip6[1] == d->ip[1] &&
	       sk->src_ip6[2] == d->ip[2] && sk->src_ip6[3] == d->ip[3];
}

/*
 * Find the listener a connect to d reaches, with the kernel's own listener lookup (exact address
 * before wildcard, dual-stack IPv6 wildcards for IPv4, reuseport groups share one uid). A listener
 * counts only when d is this host's (a wildcard listener would otherwise match any remote
 * address), or when it is bound to exactly d, which fails closed for addresses added after load.
 */
static __always_inline void find_listener(struct bpf_sock_addr *ctx, const struct tg_dest *d,
					  struct tg_facts *f, int local)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	struct tcp_sock *tp;

	if (d->family == TG_AF_INET) {
		tuple.ipv4.daddr = d->ip[0];
		tuple.ipv4.dport = bpf_htons(d->port);
		sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	} else {
		tuple.ipv6.daddr[0] = d->ip[0];
		tuple.ipv6.daddr[1] = d->ip[1];
		tuple.ipv6.daddr[2] = d->ip[2];
		tuple.ipv6.daddr[3] = d->ip[3];
		tuple.ipv6.dport = bpf_htons(d->port);
		sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
	}
	if (!sk)
		return;
	if (local || bound_exactly(sk, d)) {
		tp = bpf_skc_to_tcp_sock(sk);
		if (tp) {
			/* tp is a trusted BTF pointer: a direct load, no probe_read. */
			f->owner_uid = tp->inet_conn.icsk_inet.sk.sk_uid.val;
			f->listener = TG_LISTENER_FOUND;
		} else {
			f->listener = TG_LISTENER_OWNER_UNKNOWN;
		}
	}
	bpf_sk_release(sk);
}

/*
 * tg_syn_in takes a connecting socket's owner (sk_uid, the fsuid at socket()) for its caller.
 * Where connect() is called by someone else (a socket passed over SCM_RIGHTS, or made before a
 * setuid), remember the real caller on the socket. Only then: creating socket storage costs
 * about 0.4 us, more than the rest of a tenant's connect hook. A socket whose storage cannot be
 * made is refused, since the SYN check would then judge the wrong uid.
 */
static __always_inline int remember_caller(struct bpf_sock_addr *ctx, __u32 uid,
					   enum tg_reason reason)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(ctx->sk);
	struct tg_caller *c;

	if (tp && tp->inet_conn.icsk_inet.sk.sk_uid.val == uid)
		return 0;
	c = bpf_sk_storage_get(&tg_callers, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return -1;
	c->caller_uid = uid;
	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->reason = reason;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	return 0;
}

static __always_inline int judge(struct bpf_sock_addr *ctx, __u32 uid, const struct tg_dest *d)
{
	struct tg_facts f = { .caller_uid = uid, .port = d->port, .caller_tenant = 1 };
	struct tg_who who = { .stage = TG_STAGE_SYSCALL };
	int loopback = tg_dest_is_loopback(d), local;
	enum tg_reason reason;

	/* Loopback is local in every namespace: the namespace is asked for only when it matters,
	 * or for an event (a tenant reaching its own tunnel on lo makes neither call). */
	if (!loopback)
		who.netns_cookie = bpf_get_netns_cookie(ctx);
	local = loopback || is_local(d, who.netns_cookie);
	find_listener(ctx, d, &f, local);
	if (f.listener == TG_LISTENER_FOUND && f.owner_uid != uid)
		f.owner_tenant = is_tenant(f.owner_uid);
	reason = decide_connect(&f, local);
	if (!tg_reason_refuses(reason) && remember_caller(ctx, uid, reason) < 0)
		reason = tg_apply_mode(&tg_settings, TG_DENY_UNKNOWN_OWNER);
	/* In audit mode a bind onto another tenant's reservation is recorded once the bind is
	 * done, by tg_post_bind4/6, which also sees the ports the kernel picks (a bind that then
	 * fails, e.g. EADDRINUSE, took no port and leaves no record). */
	if (reason == TG_AUDIT_BIND_RESERVED)
		return ALLOW;
	count(reason);
	if (tg_reason_refuses(reason) || tg_reason_is_audit(reason)) {
		who.pid = bpf_get_current_pid_tgid() >> 32;
		if (loopback)
			who.netns_cookie = bpf_get_netns_cookie(ctx);
		send_event(&f, d, reason, &who);
	}
	if (!tg_reason_refuses(reason))
		return ALLOW;
	count_stage(TG_STAGE_SYSCALL);
	if (tg_use_set_retval)
		bpf_set_retval(-(int)tg_settings.deny_errno);
	return REFUSE;
}

/*
 * The caller's real uid as the initial user namespace sees it. A kuid is that value already, so
 * reading the task's credentials directly skips bpf_get_current_uid_gid()'s from_kuid()
 * translation, which was half the fast path's cost.
 */
static __always_inline __u32 caller_uid(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return task->cred->uid.val;
}

/*
 * No program reads tg_tenant_names, but status finds a load's policy maps through the maps its
 * running programs use: this reference, in a branch the verifier removes (the settings are
 * frozen and mode is never this value), makes tg_connect4 use it at no cost.
 */
static __always_inline void use_tenant_names(void)
{
	__u32 key = 0;

	if (tg_settings.mode == (enum tg_mode)0xffff)
		bpf_map_lookup_elem(&tg_tenant_names, &key);
}

SEC("cgroup/connect4")
int tg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 uid = caller_uid();
	struct tg_dest d;

	use_tenant_names();

	if (!is_tenant(uid))
		return ALLOW;
	if (ctx->type != SOCK_STREAM) {
		count(TG_ALLOW_NOT_TCP);
		return ALLOW;
	}
	tg_dest_from_v4(&d, ctx->user_ip4, ctx->sk->src_ip4, bpf_ntohs((__u16)ctx->user_port));
	return judge(ctx, uid, &d);
}

SEC("cgroup/connect6")
int tg_connect6(struct bpf_sock_addr *ctx)
{
	__u32 uid = caller_uid();
	__u32 daddr[4], bound[4];
	struct tg_dest d;

	if (!is_tenant(uid))
		return ALLOW;
	if (ctx->type != SOCK_STREAM) {
		count(TG_ALLOW_NOT_TCP);
		return ALLOW;
	}
	daddr[0] = ctx->user_ip6[0];
	daddr[1] = ctx->user_ip6[1];
	daddr[2] = ctx->user_ip6[2];
	daddr[3] = ctx->user_ip6[3];
	bound[0] = ctx->sk->src_ip6[0];
	bound[1] = ctx->sk->src_ip6[1];
	bound[2] = ctx->sk->src_ip6[2];
	bound[3] = ctx->sk->src_ip6[3];
	tg_dest_from_v6(&d, daddr, bound, bpf_ntohs((__u16)ctx->user_port));
	return judge(ctx, uid, &d);
}

/* Tunnel limits (the section at the end of this file). */
static __always_inline int tunnel_bind_full(__u32 uid, const struct tg_dest *d, __u64 netns_cookie);
static __always_inline int tunnel_post_bind(struct bpf_sock *sk, const struct tg_dest *d,
					    __u32 uid);

/*
 * What a bind hook does with its verdict: count it, report a refusal or an audit record as an
 * event, and refuse (with BIND_ERRNO where bpf_set_retval() exists) counted by who->stage.
 */
static __always_inline int bind_verdict(const struct tg_facts *f, const struct tg_dest *d,
					enum tg_reason reason, const struct tg_who *who)
{
	count(reason);
	if (tg_reason_refuses(reason) || tg_reason_is_audit(reason))
		send_event(f, d, reason, who);
	if (!tg_reason_refuses(reason))
		return ALLOW;
	count_stage(who->stage);
	if (tg_use_set_retval)
		bpf_set_retval(-BIND_ERRNO);
	return REFUSE;
}

/*
 * tg_bind4 and tg_bind6 refuse a tenant's bind() of a port reserved for another tenant (and,
 * under bind-policy reserved-only, of any port not reserved for it), on stream sockets (TCP,
 * MPTCP), whatever the address: tg_decide_bind() looks at the port alone, so 127.0.0.1,
 * 127.x, 0.0.0.0, ::1, ::, v4-mapped and host addresses are all the same port. A refusal is
 * EACCES (EPERM without bpf_set_retval()). Not guaranteed: the port the kernel picks for a
 * bind to port 0 or for listen() without bind() is not seen here (README, Limits).
 */
static __always_inline int judge_bind(__u32 uid, const struct tg_dest *d, __u64 netns_cookie)
{
	struct tg_facts f = { .caller_uid = uid, .port = d->port, .caller_tenant = 1 };
	enum tg_reason reason;
	struct tg_who who = { .pid = bpf_get_current_pid_tgid() >> 32,
			      .netns_cookie = netns_cookie,
			      .stage = TG_STAGE_SYSCALL };

	f.owner_uid = reserved_for(d->port);
	reason = tg_decide_bind(&tg_settings, 1, uid, d->port, f.owner_uid);
	/* In audit mode a bind onto another tenant's reservation is recorded once the bind is
	 * done, by tg_post_bind4/6, which also sees the ports the kernel picks (a bind that then
	 * fails, e.g. EADDRINUSE, took no port and leaves no record). */
	if (reason == TG_AUDIT_BIND_RESERVED)
		return ALLOW;
	if (!tg_reason_refuses(reason) && tunnel_bind_full(uid, d, netns_cookie))
		return REFUSE;
	return bind_verdict(&f, d, reason, &who);
}

SEC("cgroup/bind4")
int tg_bind4(struct bpf_sock_addr *ctx)
{
	__u32 uid = caller_uid();
	struct tg_dest d = { .family = TG_AF_INET };

	if (!is_tenant(uid))
		return ALLOW;
	if (ctx->type != SOCK_STREAM) {
		count(TG_ALLOW_NOT_TCP);
		return ALLOW;
	}
	d.ip[0] = ctx->user_ip4;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	return judge_bind(uid, &d, bpf_get_netns_cookie(ctx));
}

SEC("cgroup/bind6")
int tg_bind6(struct bpf_sock_addr *ctx)
{
	__u32 uid = caller_uid();
	struct tg_dest d = { .family = TG_AF_INET6 };

	if (!is_tenant(uid))
		return ALLOW;
	if (ctx->type != SOCK_STREAM) {
		count(TG_ALLOW_NOT_TCP);
		return ALLOW;
	}
	d.ip[0] = ctx->user_ip6[0];
	d.ip[1] = ctx->user_ip6[1];
	d.ip[2] = ctx->user_ip6[2];
	d.ip[3] = ctx->user_ip6[3];
	d.port = bpf_ntohs((__u16)ctx->user_port);
	return judge_bind(uid, &d, bpf_get_netns_cookie(ctx));
}

/*
 * tg_post_bind4 and tg_post_bind6 see the port a bind() finally got, including the one the
 * kernel picked for a bind to port 0, which tg_bind4/6 cannot see. A tenant's stream socket that
 * landed on a port reserved for another tenant is refused (EACCES; the kernel releases the port),
 * so bind(port 0) never yields another tenant's reservation whatever the ephemeral range. Only
 * that verdict (and its audit twin, for every bind) is taken here: every other one was taken, and
 * counted, by tg_bind4/6 on the same port, and a port the kernel picked is never "unreserved"
 * under bind-policy reserved-only.
 * Not covered: listen() without bind() picks its port without running these hooks (README,
 * Limits); tg_syn_in refuses every connection to such a listener.
 */
static __always_inline int judge_post_bind(struct bpf_sock *sk, struct tg_dest *d)
{
	__u32 uid = caller_uid();
	struct tg_facts f = { .caller_uid = uid, .port = d->port };
	struct tg_who who = { .pid = bpf_get_current_pid_tgid() >> 32,
			      .stage = TG_STAGE_POST_BIND };
	enum tg_reason reason;

	f.owner_uid = reserved_for(d->port);
	reason = tg_decide_bind(&tg_settings, 1, uid, d->port, f.owner_uid);
	if (reason != TG_DENY_BIND_RESERVED && reason != TG_AUDIT_BIND_RESERVED)
		return tunnel_post_bind(sk, d, uid);
	who.netns_cookie = bpf_get_netns_cookie(sk);
	if (bind_verdict(&f, d, reason, &who) == REFUSE)
		return REFUSE;
	return tunnel_post_bind(sk, d, uid);
}

static __always_inline void record_owner(struct bpf_sock *sk, const struct tg_dest *d);

/* A tenant's bind is judged; then every TCP socket's port is recorded (record_owner()). */
static __always_inline int post_bind(struct bpf_sock *sk, struct tg_dest *d)
{
	if (is_tenant(caller_uid()) && judge_post_bind(sk, d) == REFUSE)
		return REFUSE;
	record_owner(sk, d);
	return ALLOW;
}

/* Each entry point reads only its own family's address: the other is not in its context. */
SEC("cgroup/post_bind4")
int tg_post_bind4(struct bpf_sock *sk)
{
	struct tg_dest d = { .family = TG_AF_INET };

	if (sk->type != SOCK_STREAM)
		return ALLOW;
	d.ip[0] = sk->src_ip4;
	d.port = (__u16)sk->src_port;
	return post_bind(sk, &d);
}

SEC("cgroup/post_bind6")
int tg_post_bind6(struct bpf_sock *sk)
{
	struct tg_dest d = { .family = TG_AF_INET6 };

	if (sk->type != SOCK_STREAM)
		return ALLOW;
	d.ip[0] = sk->src_ip6[0];
	d.ip[1] = sk->src_ip6[1];
	d.ip[2] = sk->src_ip6[2];
	d.ip[3] = sk->src_ip6[3];
	d.port = (__u16)sk->src_port;
	return post_bind(sk, &d);
}

/* ---- the check where a SYN meets its listener ---- */

#define ETH_P_IP	       0x0800
#define ETH_P_IPV6	       0x86DD
#define TCP_FLAG_SYN	       0x02
#define TCP_FLAG_ACK	       0x10
#define BPF_TCP_SYN_SENT_STATE 2
#define BPF_TCP_LISTEN_STATE   10

/* The SYN's addresses and ports, as the listener sees them (after any NAT). */
struct syn_tuple {
	__u32 family;
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* network byte order */
	__u16 dport;
};

/* Read the addresses, ports and flags of a TCP segment; 0 when skb is not a pure SYN. */
static __always_inline int read_syn(struct __sk_buff *skb, struct syn_tuple *t)
{
	__u8 flags;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_TCP)
			return 0;
		t->family = TG_AF_INET;
		t->saddr[0] = ip.saddr;
		t->daddr[0] = ip.daddr;
		if (bpf_skb_load_bytes(skb, ip.ihl * 4, &t->sport, 4) ||
		    bpf_skb_load_bytes(skb, ip.ihl * 4 + 13, &flags, 1))
			return 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		/* A SYN to a TCP listener has no extension headers the kernel would skip here
		 * that we need: nexthdr must be TCP, or we let the kernel's own rules apply. */
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_TCP)
			return 0;
		t->family = TG_AF_INET6;
		__builtin_memcpy(t->saddr, &ip6.saddr, 16);
		__builtin_memcpy(t->daddr, &ip6.daddr, 16);
		if (bpf_skb_load_bytes(skb, sizeof(ip6), &t->sport, 4) ||
		    bpf_skb_load_bytes(skb, sizeof(ip6) + 13, &flags, 1))
			return 0;
	} else {
		return 0;
	}
	return (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/* The connecting socket of this host with local end (addr, port) and remote end (raddr, rport). */
static __always_inline struct bpf_sock *lookup_connector(struct __sk_buff *skb, __u32 family,
							 const __u32 *addr, __u16 port,
							 const __u32 *raddr, __u16 rport)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;

	/* The tuple is seen from the connector's side: a packet from raddr:rport to addr:port. */
	if (family == TG_AF_INET) {
		tuple.ipv4.saddr = raddr[0];
		tuple.ipv4.sport = rport;
		tuple.ipv4.daddr = addr[0];
		tuple.ipv4.dport = port;
		sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, raddr, 16);
		tuple.ipv6.sport = rport;
		__builtin_memcpy(tuple.ipv6.daddr, addr, 16);
		tuple.ipv6.dport = port;
		sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
	}
	if (sk && sk->state != BPF_TCP_SYN_SENT_STATE) {
		/* A listener on the connector's port, not the connector itself. */
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

/*
 * tg_syn_out records, for the SYNs that tg_syn_in could not trace back by the reverse tuple,
 * who sent them: a SYN whose destination a NAT rule rewrote (the connecting socket is hashed
 * under the original tuple), and one from a socket bound to a device (the reverse lookup at the
 * listener runs on lo and does not match it). Keyed by the SYN's tuple as the listener sees it
 * (after NAT), so tg_syn_in finds it. An LRU map: an entry is read once, at the SYN, and only
 * these rare SYNs make one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_TRACED_SYNS_MAX);
	__type(key, struct tg_syn_key);
	__type(value, struct tg_caller);
} tg_traced_syns SEC(".maps");

static __always_inline void syn_key(struct tg_syn_key *k, const struct syn_tuple *t, __u64 netns)
{
	k->netns_cookie = netns;
	k->family = t->family;
	k->sport = t->sport;
	k->dport = t->dport;
	__builtin_memcpy(k->saddr, t->saddr, 16);
	__builtin_memcpy(k->daddr, t->daddr, 16);
}

/* Does the SYN still go where the socket connected to? */
static __always_inline int syn_went_elsewhere(const struct bpf_sock *sk, const struct syn_tuple *t)
{
	/* Every field is read, volatile, before any branch: the verifier refuses the offset
	 * pointer clang would otherwise make to pick dst_ip4 or dst_ip6[0]. */
	__u32 ip4 = *(volatile __u32 *)&sk->dst_ip4;
	__u32 ip6_0 = *(volatile __u32 *)&sk->dst_ip6[0];
	__u32 ip6_1 = *(volatile __u32 *)&sk->dst_ip6[1];
	__u32 ip6_2 = *(volatile __u32 *)&sk->dst_ip6[2];
	__u32 ip6_3 = *(volatile __u32 *)&sk->dst_ip6[3];

	if ((__u16)sk->dst_port != t->dport)
		return 1;
	if (t->family == TG_AF_INET)
		return ip4 != t->daddr[0];
	return ip6_0 != t->daddr[0] || ip6_1 != t->daddr[1] || ip6_2 != t->daddr[2] ||
	       ip6_3 != t->daddr[3];
}

/*
 * tg_syn_out runs on every packet a socket of the attach cgroup sends (cgroup_skb/egress, after
 * the OUTPUT and POSTROUTING NAT hooks) and returns at once unless the socket is connecting.
 * It never refuses: it only tells tg_syn_in who sent a SYN that tg_syn_in could not trace.
 */
SEC("cgroup_skb/egress")
int tg_syn_out(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct tg_caller fallback = {}, *caller;
	struct syn_tuple t = {};
	struct tg_syn_key key = {};

	if (!sk || sk->state != BPF_TCP_SYN_SENT_STATE)
		return ALLOW;
	sk = bpf_sk_fullsock(sk);
	if (!sk || !read_syn(skb, &t))
		return ALLOW;
	if (!sk->bound_dev_if && !syn_went_elsewhere(sk, &t))
		return ALLOW;
	caller = bpf_sk_storage_get(&tg_callers, sk, 0, 0);
	if (!caller) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

		/* A socket connect() never saw: judged by its owner, as tg_syn_in would. */
		fallback.caller_uid = tp ? tp->inet_conn.icsk_inet.sk.sk_uid.val : 0;
		fallback.pid = bpf_get_current_pid_tgid() >> 32;
		fallback.reason = TG_ALLOW_NOT_TENANT;
		bpf_get_current_comm(fallback.comm, sizeof(fallback.comm));
		caller = &fallback;
	}
	if (!is_tenant(caller->caller_uid) && tg_settings.policy != TG_POLICY_STRICT &&
	    tg_settings.n_reserved_ports == 0)
		return ALLOW;
	syn_key(&key, &t, bpf_get_netns_cookie(skb));
	if (bpf_map_update_elem(&tg_traced_syns, &key, caller, BPF_ANY) != 0)
		count_stat(TG_STAT_OWNER_EVENTS_LOST);
	return ALLOW;
}

/*
 * A tenant listening on a port reserved for another tenant got there by listen() without bind(),
 * the one way the bind hooks cannot see: no connection may reach it, from anyone (a hub service
 * connecting to the reserved port expects the reservation's owner). Counted and reported as
 * deny_bind_reserved, with the squatter as caller and the reservation's owner as owner.
 */
static __always_inline int refuse_squatter(struct __sk_buff *skb, const struct syn_tuple *t,
					   struct tg_facts *f, struct tg_who *who)
{
	enum tg_reason reason = tg_apply_mode(&tg_settings, TG_DENY_BIND_RESERVED);
	struct tg_dest d = { .family = t->family, .port = f->port };
	__u32 squatter = f->owner_uid;

	f->owner_uid = f->caller_uid;
	f->caller_uid = squatter;
	__builtin_memcpy(d.ip, t->daddr, 16);
	count(reason);
	send_event(f, &d, reason, who);
	if (!tg_reason_refuses(reason))
		return ALLOW;
	count_stage(TG_STAGE_SYN);
	return REFUSE;
}

/*
 * tg_syn_in runs where a connection's first SYN meets the listener the kernel chose for it, after
 * every NAT rule and routing decision, in every network namespace (the hook belongs to the
 * listener's cgroup: the root, by default). It closes what connect() cannot see:
 *  - a listener that appears between the connect hook's lookup and the SYN's arrival;
 *  - a destination a NAT rule (nft or iptables-nft, redirect or DNAT) rewrote;
 *  - a listener bound to a device, or reached through an address the connect hook did not know
 *    as local.
 * The connecting socket is found by the reverse tuple (or conntrack's original one after NAT);
 * its caller is what connect() remembered in tg_callers, or the socket's owner for a socket
 * connect() never saw (made before load, or inside the kernel). A refusal drops the SYN: a cgroup
 * skb program cannot choose an errno, so the connector retries its SYN and its connect() fails
 * with ETIMEDOUT when the retries run out (net.ipv4.tcp_syn_retries). A SYN from another host or
 * namespace has no connector here: it is network traffic and passes.
 */
SEC("cgroup_skb/ingress")
int tg_syn_in(struct __sk_buff *skb)
{
	struct tg_facts f = { .listener = TG_LISTENER_FOUND };
	/* Without a remembered caller, the current task: for a SYN on lo, usually the connector. */
	struct tg_who who = { .pid = bpf_get_current_pid_tgid() >> 32, .stage = TG_STAGE_SYN };
	struct bpf_sock *listener = skb->sk, *conn;
	struct tg_caller *caller;
	enum tg_reason reason, before = TG_ALLOW_NOT_TENANT;
	struct syn_tuple t = {};
	struct tg_dest d = {};
	struct tcp_sock *tp;

	if (!listener || listener->state != BPF_TCP_LISTEN_STATE)
		return ALLOW;
	if (!read_syn(skb, &t))
		return ALLOW;
	tp = bpf_skc_to_tcp_sock(listener);
	if (!tp)
		return ALLOW;
	f.owner_uid = tp->inet_conn.icsk_inet.sk.sk_uid.val;
	f.port = bpf_ntohs(t.dport);
	/* A hub service's listener is open to everyone under isolate: no need to know who. */
	f.owner_tenant = is_tenant(f.owner_uid);
	if (!f.owner_tenant && tg_settings.policy != TG_POLICY_STRICT)
		return ALLOW;
	who.netns_cookie = bpf_get_netns_cookie(skb);
	f.caller_uid = reserved_for(f.port);
	if (tg_listener_squats(f.owner_tenant, f.owner_uid, f.caller_uid))
		return refuse_squatter(skb, &t, &f, &who);
	conn = lookup_connector(skb, t.family, t.saddr, t.sport, t.daddr, t.dport);
	if (conn) {
		caller = bpf_sk_storage_get(&tg_callers, conn, 0, 0);
		if (!caller) {
			struct tcp_sock *ctp = bpf_skc_to_tcp_sock(conn);

			/* A socket connect() never saw (made before load, or by the kernel). */
			f.caller_uid = ctp ? ctp->inet_conn.icsk_inet.sk.sk_uid.val : 0;
		}
	} else {
		struct tg_syn_key key = {};

		syn_key(&key, &t, who.netns_cookie);
		caller = bpf_map_lookup_elem(&tg_traced_syns, &key);
		if (!caller)
			return ALLOW; /* from another host or namespace: network traffic */
	}
	if (caller) {
		f.caller_uid = caller->caller_uid;
		before = caller->reason;
		who.pid = caller->pid;
		who.comm = caller->comm;
	}
	if (conn)
		bpf_sk_release(conn);
	f.caller_tenant = is_tenant(f.caller_uid);
	reason = decide_connect(&f, -1);
	/* connect() counted its verdict already: count here only a refusal, which connect() cannot
	 * have seen (the SYN would not exist), or an audit record connect() is known not to have
	 * made, so that each decision still raises exactly one counter. */
	if (!tg_reason_refuses(reason) &&
	    !(tg_reason_is_audit(reason) && caller && reason != before))
		return ALLOW;
	count(reason);
	d.family = t.family;
	d.port = f.port;
	__builtin_memcpy(d.ip, t.daddr, 16);
	send_event(&f, &d, reason, &who);
	if (!tg_reason_refuses(reason))
		return ALLOW;
	count_stage(TG_STAGE_SYN);
	return REFUSE;
}

/* ---- tunnel limits ---- */

/*
 * max-tunnels: how many ports one tenant may hold through bind() on TCP sockets at once. The
 * global value is rodata (0: no limit); a [tenant] section's value is in tg_tunnel_max, which the
 * loader makes and fills for each load, so that it swaps with the programs. tg_tunnels (the
 * counts) and tg_bound (which sockets are counted) outlive swaps: a limit changed by SIGHUP
 * applies to the ports held already.
 */
/* Per-uid max-tunnels of the [tenant] sections; sized by the loader, at least 1 entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tg_tunnel_max SEC(".maps");

/* Ports each uid holds through bind() on TCP sockets; see struct tg_tunnel_count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_TUNNELS_UIDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tg_tunnel_count);
} tg_tunnels SEC(".maps");

/* Which sockets are counted in tg_tunnels, and for whom; see struct tg_bound. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_bound);
} tg_bound SEC(".maps");

/* Entries of tg_port_owner per uid, for the per-uid cap; see struct tg_owner_count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TG_TUNNELS_UIDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tg_owner_count);
} tg_owner_count SEC(".maps");

static __always_inline __u32 tunnel_limit_of(__u32 uid)
{
	__u32 *per_uid = bpf_map_lookup_elem(&tg_tunnel_max, &uid);

	return tg_tunnel_limit(tg_settings.max_tunnels, per_uid != NULL, per_uid ? *per_uid : 0);
}

/* uid's count in tg_tunnels, made at 0 on its first bind; NULL when the map is full. */
static __always_inline struct tg_tunnel_count *tunnel_count_of(__u32 uid)
{
	struct tg_tunnel_count zero = {}, *c = bpf_map_lookup_elem(&tg_tunnels, &uid);

	if (c)
		return c;
	bpf_map_update_elem(&tg_tunnels, &uid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tg_tunnels, &uid);
}

/*
 * Refuse (or, in audit mode, record) one bind over the limit: counted, reported with owner_uid
 * = the limit (0 when the count could not be kept: tg_tunnels full, or no socket storage), and
 * refused with EDQUOT (EPERM without bpf_set_retval()).
 */
static __always_inline int tunnel_verdict(__u32 uid, __u32 limit, const struct tg_dest *d,
					  __u64 netns_cookie, enum tg_stage stage)
{
	enum tg_reason reason = tg_apply_mode(&tg_settings, TG_DENY_TUNNEL_LIMIT);
	struct tg_facts f = { .caller_uid = uid, .port = d->port, .owner_uid = limit };
	struct tg_who who = { .pid = bpf_get_current_pid_tgid() >> 32,
			      .netns_cookie = netns_cookie,
			      .stage = stage };

	count(reason);
	send_event(&f, d, reason, &who);
	if (!tg_reason_refuses(reason))
		return ALLOW;
	count_stage(stage);
	if (tg_use_set_retval)
		bpf_set_retval(-TG_TUNNEL_ERRNO);
	return REFUSE;
}

/*
 * tg_bind4/6: a tenant already at its limit is refused before the kernel takes a port (enforce
 * mode only: audit records what post-bind sees). Not exact (two binds may both pass here);
 * tunnel_post_bind() is. 1 when refused.
 */
static __always_inline int tunnel_bind_full(__u32 uid, const struct tg_dest *d, __u64 netns_cookie)
{
	struct tg_tunnel_count *c;
	__u32 limit;

	if (tg_settings.mode == TG_MODE_AUDIT)
		return 0;
	limit = tunnel_limit_of(uid);
	if (!limit)
		return 0;
	c = bpf_map_lookup_elem(&tg_tunnels, &uid);
	if (!c || !tg_tunnel_refuses(c->count, limit))
		return 0;
	return tunnel_verdict(uid, limit, d, netns_cookie, TG_STAGE_SYSCALL) == REFUSE;
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The kernel's struct sock of a cgroup_sock program's context, to read (a read-only cast). */
static __always_inline struct sock *kernel_sock(struct bpf_sock *ctx)
{
	return bpf_rdonly_cast(ctx, bpf_core_type_id_kernel(struct sock));
}

/*
 * A socket made inside the kernel (MPTCP's subflow, which is what bind() binds for an MPTCP
 * socket): inet_release() runs no sock_release program for it, so it must not be counted. The
 * context of a cgroup_sock program is the kernel's struct sock (a read-only cast: the helpers
 * that would give a typed pointer, such as bpf_skc_to_tcp_sock(), are not allowed here).
 */
static __always_inline int is_kernel_socket(struct bpf_sock *ctx)
{
	struct sock *sk = kernel_sock(ctx);

	return BPF_CORE_READ_BITFIELD(sk, sk_kern_sock);
}

/*
 * tg_post_bind4/6, after the kernel gave a tenant's TCP socket its port: count it, atomically,
 * and refuse the bind (the kernel then releases the port) when the count was at the limit
 * already, so that concurrent binds never hold more than the limit. Counted always, limit or
 * not, so that a limit a swap brings applies to the ports held then. Not counted: kernel
 * sockets (an MPTCP socket's subflow, whose release this hook does not see), and listen()
 * without bind(), which takes its port without running the bind hooks (README, Limits).
 */
static __always_inline int tunnel_post_bind(struct bpf_sock *sk, const struct tg_dest *d, __u32 uid)
{
	struct tg_tunnel_count *c;
	struct tg_bound *b;
	__u32 limit, old;

	if (sk->protocol != IPPROTO_TCP || is_kernel_socket(sk))
		return ALLOW;
	b = bpf_sk_storage_get(&tg_bound, sk, 0, 0);
	if (b && b->counted)
		return ALLOW; /* counted by an earlier bind that another program undid */
	limit = tunnel_limit_of(uid);
	c = tunnel_count_of(uid);
	if (!c)
		return tunnel_verdict(uid, 0, d, bpf_get_netns_cookie(sk), TG_STAGE_POST_BIND);
	old = __sync_fetch_and_add(&c->count, 1);
	if (tg_tunnel_refuses(old, limit) &&
	    tunnel_verdict(uid, limit, d, bpf_get_netns_cookie(sk), TG_STAGE_POST_BIND) == REFUSE) {
		__sync_fetch_and_sub(&c->count, 1);
		return REFUSE;
	}
	b = bpf_sk_storage_get(&tg_bound, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!b) {
		/* Uncounted, the port would never be given back: fail closed. */
		__sync_fetch_and_sub(&c->count, 1);
		return tunnel_verdict(uid, 0, d, bpf_get_netns_cookie(sk), TG_STAGE_POST_BIND);
	}
	b->uid = uid;
	b->counted = 1;
	return ALLOW;
}

/* ---- who holds a port: tg_port_owner from bind() and close() ---- */

/* The per-uid cap on tg_port_owner and its counts (the section at the end of this file). */
static __always_inline int owner_over_cap(__u32 uid, const struct tg_port_key *key);
static __always_inline void owner_count_add(__u32 uid, int delta);

static __always_inline void send_owner_event(const struct tg_port_key *key, __u32 uid, __u8 added)
{
	struct tg_owner_event e = {
		.uid = uid,
		.port = key->port,
		.family = (__u8)key->family,
		.added = added,
	};

	__builtin_memcpy(e.addr, key->addr, sizeof(e.addr));
	if (bpf_ringbuf_output(&tg_owner_events, &e, sizeof(e), 0) != 0)
		count_stat(TG_STAT_OWNER_EVENTS_LOST);
}

/* A port was taken, or given back, in a namespace other than the guard's. */
static __always_inline void send_netns_event(__u64 cookie, __u32 uid, __u16 port, __u8 added)
{
	struct tg_netns_event e = {
		.netns_cookie = cookie,
		.pid = added ? bpf_get_current_pid_tgid() >> 32 : 0,
		.uid = uid,
		.port = port,
		.added = added,
	};

	if (bpf_ringbuf_output(&tg_netns_events, &e, sizeof(e), 0) != 0)
		count_stat(TG_STAT_OWNER_EVENTS_LOST);
}

/*
 * tg_post_bind4/6 record every TCP socket that takes a port through bind() (any uid: hub services
 * are listeners too) in tg_port_owner, at once, and tell the daemon on tg_owner_events, so that
 * the nft layer's sets know a tunnel before its listen() (sshd binds, then listens); a socket
 * bound in another namespace is a tg_netns_events event instead. tg_sock_release undoes it when
 * the socket is closed. This replaces a tracer on every TCP state change, which cost every
 * connection on the host about half a microsecond: these hooks run on bind() and, for a socket
 * that was recorded, on close() only. Guarantees: an entry is never taken from a listener (the
 * kernel refuses a bind onto a listener's address and port; SO_REUSEPORT siblings share a uid);
 * of sockets bound to one address and port with SO_REUSEADDR, none listening yet, the newest
 * binder holds it; it is removed only by the socket that holds it, not while SO_REUSEPORT
 * siblings may still listen. Misses, which the daemon's
 * reconciliation (sock_diag, every 2 s) repairs: listen() without bind(), which takes its port
 * without running these hooks; a reuseport group's last close; a bound socket that never
 * listens, whose entry stays until its close or the next reconciliation. A full map, or a uid
 * over its share, is counted in tg_stats.
 */
static __always_inline void record_owner(struct bpf_sock *sk, const struct tg_dest *d)
{
	struct tg_port_owner owner = {}, *known;
	__u32 old;
	struct tg_port_key key = {};
	struct tg_bound *b;

	if (sk->protocol != IPPROTO_TCP || d->port == 0 || is_kernel_socket(sk))
		return;
	owner.uid = kernel_sock(sk)->sk_uid.val;
	b = bpf_sk_storage_get(&tg_bound, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!b) {
		/* Its close could not undo an entry: leave it to the reconciliation. */
		count_stat(TG_STAT_OWNER_EVENTS_LOST);
		return;
	}
	b->owner_uid = owner.uid;
	b->netns_cookie = bpf_get_netns_cookie(sk);
	if (b->netns_cookie != tg_netns_cookie) {
		send_netns_event(b->netns_cookie, owner.uid, d->port, 1);
		b->key.port = d->port;
		b->recorded |= TG_BOUND_NETNS;
		return;
	}
	key.port = d->port;
	key.family = d->family;
	if (d->family == TG_AF_INET) {
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &d->ip[0], 4);
	} else {
		__builtin_memcpy(key.addr, d->ip, 16);
	}
	if (owner_over_cap(owner.uid, &key))
		return;
	if (bpf_map_update_elem(&tg_port_owner, &key, &owner, BPF_NOEXIST) == 0) {
		owner_count_add(owner.uid, 1);
		send_owner_event(&key, owner.uid, 1);
		b->key = key;
		b->recorded |= TG_BOUND_PORT_OWNER;
		return;
	}
	known = bpf_map_lookup_elem(&tg_port_owner, &key);
	if (!known) {
		count_stat(TG_STAT_PORT_OWNER_FULL);
		return;
	}
	/*
	 * Another uid's entry: its socket cannot be listening, since the kernel refuses a bind onto
	 * a listener's address and port even with SO_REUSEADDR (and an SO_REUSEPORT group shares
	 * one uid). It is a socket that bound without listening, or one whose close was not seen:
	 * the newest binder is the one that can listen, so it takes the entry (the older socket's
	 * close leaves it alone: forget_owner() checks the uid).
	 */
	old = known->uid;
	if (old == owner.uid || bpf_map_update_elem(&tg_port_owner, &key, &owner, BPF_EXIST) != 0)
		return;
	owner_count_add(old, -1);
	send_owner_event(&key, old, 0);
	owner_count_add(owner.uid, 1);
	send_owner_event(&key, owner.uid, 1);
	b->key = key;
	b->recorded |= TG_BOUND_PORT_OWNER;
}

/* The socket b belongs to is being closed: undo what record_owner() did for it. */
static __always_inline void forget_owner(struct bpf_sock *sk, struct tg_bound *b)
{
	struct tg_port_owner *known;

	if (b->recorded & TG_BOUND_NETNS)
		send_netns_event(b->netns_cookie, b->owner_uid, b->key.port, 0);
	if ((b->recorded & TG_BOUND_PORT_OWNER) && !kernel_sock(sk)->sk_reuseport_cb) {
		known = bpf_map_lookup_elem(&tg_port_owner, &b->key);
		if (known && known->uid == b->owner_uid &&
		    bpf_map_delete_elem(&tg_port_owner, &b->key) == 0) {
			owner_count_add(b->owner_uid, -1);
			send_owner_event(&b->key, b->owner_uid, 0);
		}
	}
	b->recorded = 0;
}

/*
 * tg_sock_release gives a counted socket's port back to the uid that bound it, when the socket
 * is closed (its last file reference). Every other socket returns after one storage lookup.
 * Guarantees: a socket is given back at most once (counted is cleared). Not guaranteed: a
 * socket counted by programs attached to another cgroup than this one's.
 */
SEC("cgroup/sock_release")
int tg_sock_release(struct bpf_sock *sk)
{
	struct tg_tunnel_count *c;
	struct tg_bound *b;

	if (sk->type != SOCK_STREAM)
		return ALLOW;
	b = bpf_sk_storage_get(&tg_bound, sk, 0, 0);
	if (!b)
		return ALLOW;
	if (b->recorded)
		forget_owner(sk, b);
	if (!b->counted)
		return ALLOW;
	b->counted = 0;
	c = bpf_map_lookup_elem(&tg_tunnels, &b->uid);
	if (c && c->count > 0)
		__sync_fetch_and_sub(&c->count, 1);
	return ALLOW;
}

/*
 * The listen tracer's per-uid cap on tg_port_owner (tg_limits.h): 1 when uid holds its share
 * already and may not add the entry key. Counted in tg_stats when the entry is not there.
 */
static __always_inline int owner_over_cap(__u32 uid, const struct tg_port_key *key)
{
	struct tg_owner_count *c = bpf_map_lookup_elem(&tg_owner_count, &uid);

	/* The map's size is the loader's (port-owner-max): read it from the map itself. */
	__u32 max_entries = ((struct bpf_map *)&tg_port_owner)->max_entries;

	if (!c || c->count < tg_owner_cap(uid, max_entries))
		return 0;
	if (!bpf_map_lookup_elem(&tg_port_owner, key))
		count_stat(TG_STAT_PORT_OWNER_UID_CAP);
	return 1;
}

/* An entry of tg_port_owner was added (delta 1) or removed (-1) for uid. */
static __always_inline void owner_count_add(__u32 uid, int delta)
{
	struct tg_owner_count zero = {}, *c = bpf_map_lookup_elem(&tg_owner_count, &uid);

	if (!c && delta > 0) {
		bpf_map_update_elem(&tg_owner_count, &uid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&tg_owner_count, &uid);
	}
	if (!c)
		return;
	if (delta > 0)
		__sync_fetch_and_add(&c->count, 1);
	else if (c->count > 0)
		__sync_fetch_and_sub(&c->count, 1);
}
