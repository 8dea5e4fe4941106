// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunnelguard.bpf.c - refuse a tenant's TCP connect to a local listener another tenant owns.
 *
 * Guarantees, for every process in the cgroup the programs are attached to (the cgroup v2 root by
 * default, so every process on the host):
 *  - a caller that is not a tenant is allowed after one range check and nothing else;
 *  - a tenant's connect on a stream socket is matched to the listener it would reach, in the
 *    caller's network namespace, after undoing the address spellings the kernel rewrites later
 *    (tg_addr.h); the decision is tg_decide() (tg_policy.h), shared with userspace;
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

#define SOCK_STREAM 1
#define TCP_LISTEN  10
#define ALLOW	    1
#define REFUSE	    0

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load, frozen after; see struct tg_policy. */
const volatile struct tg_policy tg_policy = {};
/* 1 when bpf_set_retval() exists on this kernel: refusals then carry tg_policy.deny_errno. */
const volatile __u32 tg_use_set_retval = 0;

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

static __always_inline void count(enum tg_reason reason)
{
	__u32 key = reason;
	__u64 *n = bpf_map_lookup_elem(&tg_counters, &key);

	if (n)
		*n += 1;
}

static __always_inline int is_local(const struct tg_dest *d)
{
	struct tg_lpm_key key = { .prefixlen = 128 };

	if (tg_dest_is_loopback(d))
		return 1;
	if (d->family == TG_AF_INET) {
		key.ip[2] = bpf_htonl(0xffff);
		key.ip[3] = d->ip[0];
	} else {
		key.ip[0] = d->ip[0];
		key.ip[1] = d->ip[1];
		key.ip[2] = d->ip[2];
		key.ip[3] = d->ip[3];
	}
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
			f->owner_uid = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_uid.val);
			f->listener = TG_LISTENER_FOUND;
		} else {
			f->listener = TG_LISTENER_OWNER_UNKNOWN;
		}
	}
	bpf_sk_release(sk);
}

static __always_inline int judge(struct bpf_sock_addr *ctx, __u32 uid, const struct tg_dest *d)
{
	struct tg_facts f = { .caller_uid = uid, .port = d->port };
	enum tg_reason reason;
	int local = is_local(d);

	find_listener(ctx, d, &f, local);
	reason = tg_decide_dest(&tg_policy, &f, local);
	count(reason);
	if (!tg_reason_refuses(reason))
		return ALLOW;
	if (tg_use_set_retval)
		bpf_set_retval(-(int)tg_policy.deny_errno);
	return REFUSE;
}

SEC("cgroup/connect4")
int tg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct tg_dest d;

	if (!tg_is_tenant(&tg_policy, uid))
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
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	__u32 daddr[4], bound[4];
	struct tg_dest d;

	if (!tg_is_tenant(&tg_policy, uid))
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
