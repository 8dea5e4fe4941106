// SPDX-License-Identifier: GPL-2.0-only
/*
 * nftlayer.h - the nft layer in the benchmark: table inet tunnelguard as the library builds it
 * (`tunnelguard load` with `layers = bpf nft`, or nft_apply()), in the benchmark's own network
 * namespace, switched on and off between slots.
 *
 * nft's output hook is per network namespace, not per cgroup: while the table's chain is
 * hooked, it runs on every connect of the namespace, whatever cgroup the worker is in. So the
 * table is kept and only its hooks come and go: the table's dormant flag (NFT_MSG_NEWTABLE with
 * NFT_TABLE_F_DORMANT) unregisters its base chain from the output hook and clearing it registers
 * the chain again, in one small batch, with every set element kept (a set of 100,000 owners
 * would take a second to reload). A dormant table costs a packet nothing: the hook is gone. The
 * configurations with the nft layer are the slots in which the flag is clear.
 *
 * The floor of the layer is a table of our own, inet tg_bench_empty, with one base chain of the
 * real table's type, hook and priority (userspace/nft/rules.c: filter, output, 0) and no rule:
 * what any nft output chain costs a packet. It is made dormant and woken the same way.
 *
 * Example: before a slot of V_NFT, nftlayer_set_active(l, true) sends
 *	BATCH_BEGIN, NEWTABLE inet tunnelguard flags 0, BATCH_END
 * and before a slot of V_BASE nftlayer_set_active(l, false) the same with flags dormant.
 */
#ifndef TG_BENCH_NFTLAYER_H
#define TG_BENCH_NFTLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netfilter.h>

#include "nft.h"

#define NFTLAYER_MAX_TIMED 8192

/* The empty chain: the same type, hook and priority as table inet tunnelguard's chain. */
#define NFTLAYER_EMPTY_TABLE	  "tg_bench_empty"
#define NFTLAYER_EMPTY_CHAIN_TYPE "filter"
#define NFTLAYER_EMPTY_CHAIN_HOOK NF_INET_LOCAL_OUT
#define NFTLAYER_EMPTY_CHAIN_PRIO 0

struct mnl_socket;

struct nftlayer {
	bool active;	   /* the table's chain is hooked (not dormant) */
	bool empty_made;   /* table inet tg_bench_empty exists (dormant unless empty_active) */
	bool empty_active; /* its empty chain is hooked */
	/* Batches nftlayer_set_active() sent, timed (wall, µs) from build to the last ack: those
	 * that switched the hooks, and those that found the flag already as asked. */
	unsigned int nchange, nsame;
	uint32_t change_us[NFTLAYER_MAX_TIMED], same_us[NFTLAYER_MAX_TIMED];
	struct mnl_socket *nl; /* for element gets; opened on first use */
	/* For nft.h's calls: zeroed, it acts for no guard, as the benchmark's table is made. */
	struct nft_handle handle;
};

/* Set or clear the table's dormant flag, in one batch even when it is already as asked. 0, or
 * -errno (-ENOENT: no table), with the reason printed. */
int nftlayer_set_active(struct nftlayer *l, bool active);

/* Create table inet tg_bench_empty, dormant, with its empty base chain (it dies with the
 * benchmark's network namespace). 0 or -errno, with the reason printed. */
int nftlayer_make_empty(struct nftlayer *l);

/* nftlayer_set_active() for the empty chain's table; 0 and nothing sent before it is made. */
int nftlayer_set_empty_active(struct nftlayer *l, bool active);

/* Is uid . port in set owned? One NFT_MSG_GETSETELEM of that one key (no dump). 0 or -errno. */
int nftlayer_has_owner(struct nftlayer *l, uint32_t uid, uint16_t port, bool *present);

void nftlayer_close(struct nftlayer *l);

/* Wall and system time of one control-plane call, in ms. */
struct nft_timing {
	double wall_ms, sys_ms;
};

/* Time nft_apply(policy, owners, n) (system time from getrusage: the kernel's share that runs
 * in our thread, which is the whole batch; deferred freeing runs in a kworker and is not in
 * it). 0 or -errno. */
int nftlayer_time_apply(struct nftlayer *l, const struct tg_policy *policy,
			const struct nft_owner *owners, size_t n, struct nft_timing *out);

/* The same for nft_update_owners(add, nadd, del, ndel). */
int nftlayer_time_update(struct nftlayer *l, const struct nft_owner *add, size_t nadd,
			 const struct nft_owner *del, size_t ndel, struct nft_timing *out);

/*
 * Owners for a set of n synthetic tunnels: tenant uids first_uid .. first_uid + nuids - 1 in
 * turn, ports from 1024 up, each pair once; e.g. n = 4, first_uid 3002, nuids 3:
 * { 3002, 1024 }, { 3003, 1024 }, { 3004, 1024 }, { 3002, 1025 }. Written after the `keep`
 * first entries already in out (the live listeners' owners). */
void nftlayer_synthetic_owners(struct nft_owner *out, size_t keep, size_t n, uint32_t first_uid,
			       unsigned int nuids);

#endif /* TG_BENCH_NFTLAYER_H */
