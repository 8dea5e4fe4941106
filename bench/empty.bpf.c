// SPDX-License-Identifier: GPL-2.0-only
/*
 * empty.bpf.c - a cgroup/connect4 program that allows everything and does nothing else.
 *
 * The benchmark attaches it beside tg_connect4 while kernel BPF stats are on: its ns per call is
 * what the hook and the stats clock cost by themselves, so tg_connect4's ns per call minus this
 * one's is the guard's own cost. Attached alone to a cgroup, it also shows what running any
 * connect4 program costs in throughput.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/connect4")
int empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}
