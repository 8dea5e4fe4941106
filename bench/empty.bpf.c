// SPDX-License-Identifier: GPL-2.0-only
/*
 * empty.bpf.c - a cgroup/connect4, a cgroup_skb/ingress, a cgroup_skb/egress and a
 * cgroup/sock_release program that allow everything and do nothing else.
 *
 * The benchmark attaches them beside tg_connect4, tg_syn_in, tg_syn_out and tg_sock_release while
 * kernel BPF stats are on: their ns per call is what the hook and the stats clock cost by
 * themselves, so a guard program's ns per call minus its empty twin's is the guard's own cost.
 * Attached alone to a cgroup, the connect4 one also shows what running any connect4 program costs
 * in throughput; all four together on one cgroup are the floor of the BPF layer: the hooks a
 * loopback connect+accept+close runs the guard on (the connect, each packet out and in, each
 * socket's close), each with nothing in it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/connect4")
int empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup_skb/ingress")
int empty_skb_in(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int empty_skb_out(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/sock_release")
int empty_sock_release(struct bpf_sock *sk)
{
	return 1;
}
