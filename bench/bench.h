// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench.h - what the benchmark's phases share: configurations, callers, results.
 *
 * A configuration ("variant") is a sibling throwaway cgroup: the worker process is moved into it
 * (one write to cgroup.procs, tens of microseconds) and runs one short timed slot. A block
 * compares the variants for one caller, N and listener count. A cycle visits every variant in a
 * rotated order and back (A B C D D C B A), so that drift weighs on each alike; a round is a
 * few cycles, and a variant's figure for the round pools its slots. Each reported figure is the
 * median over rounds of the per-round ratio to V_BASE. V_NULL is a second cgroup with nothing
 * attached: its ratio shows the method's noise. Slots are short because this machine's speed
 * wanders within a second (other work, the host): alternating fast keeps A and B under the same
 * conditions. A socket stays in the cgroup it was created in and cgroup ingress programs run for
 * the receiving socket's cgroup, so each worker opens its listeners once in every variant's
 * cgroup (variant_open_listeners()) and a slot connects to those of its own cgroup: in V_GUARD
 * both ends of a connection are guarded, and tg_syn_in meets every SYN.
 *
 * The nft layer acts on a whole network namespace, not on a cgroup, so its configurations differ
 * in time instead (nftlayer.h): the real table stays loaded, dormant (no hook) in every slot but
 * those of V_NFT and V_BOTH, and before every slot of a block that has them one batch sets the
 * dormant flag as that slot needs, whether or not it changes, so every slot follows the same
 * kind of netlink round trip. A slot that follows a change of the flag is preceded by an
 * unrecorded settle slot in the same configuration, so that what the change leaves behind (RCU
 * callbacks, the cache lines of the commit) falls outside the measurement; the null comparison,
 * which is also toggled around, shows whether it worked. V_NFT's cgroup has nothing attached;
 * V_BOTH's is V_GUARD's.
 *
 * Nothing of tunnelguard is attached in the V_BASE and V_NULL slots. The guard loads nothing
 * host-wide any more (the listen tracer of builds before issue 16, a raw tracepoint on every TCP
 * state change of the host, is gone: port_owner is fed by the cgroup post_bind hooks and
 * tg_sock_release), so a cgroup without the guard's programs is a host without the guard. The
 * BPF layer's floor is V_FLOOR: empty programs on every cgroup hook a connect+accept+close runs
 * it on (connect4, skb ingress and egress, sock_release). The nft layer has its floor too:
 * V_NFT_EMPTY hooks an empty base chain in a dormant table of our own. In a block with nft
 * configurations both tables' flags are set before every slot.
 *
 * Adding a layer: give it a variant here and in variant_names, a cgroup in make_cgroups(), add
 * it in block_init(), and rows in results.c.
 *
 * The port_owner map's costs (portowner.h) are measurements of their own, not configurations:
 * they run once the listeners of part 3 are open, with the workers idle.
 */
#ifndef TG_BENCH_H
#define TG_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#include "cgroups.h"
#include "listeners.h"
#include "nftlayer.h"
#include "portowner.h"
#include "profile.h"
#include "progstats.h"
#include "report.h"
#include "scale.h"
#include "worker.h"

#define BENCH_MAX_ROUNDS   200
#define BENCH_POOL_SAMPLES (1u << 18)

enum caller {
	CALLER_SERVICE, /* a hub service: not a tenant, takes the one-range-check path */
	CALLER_TENANT,	/* a tenant connecting to its own listener: the full lookup path */
	CALLER_COUNT,
};

enum variant {
	V_BASE,	     /* no guard: nothing of tunnelguard attached */
	V_NULL,	     /* no guard either: the null comparison */
	V_GUARD,     /* the BPF layer: tunnelguard's cgroup programs (all it loads) */
	V_EMPTY,     /* an empty connect4 program: what any program on the hook costs */
	V_FLOOR,     /* empty connect4, ingress, egress and sock_release programs: the BPF layer's
			cgroup hooks on the connect path, nothing in them */
	V_NFT,	     /* the nft layer alone: table inet tunnelguard hooked, no BPF */
	V_NFT_EMPTY, /* an empty base chain of the same type, hook and priority: its floor */
	V_BOTH,	     /* the BPF layer and the nft layer */
	V_COUNT,
};

enum metric {
	M_TPUT, /* connect+accept+close per second, summed over the connectors */
	M_P50,	/* connect() latency, ns */
	M_P99,
	M_COUNT,
};

/* A variant's figures in one round. */
struct round_value {
	double m[M_COUNT];
};

struct block {
	enum caller caller;
	unsigned int n; /* parallel connectors */
	size_t listeners;
	unsigned int nvariants;
	enum variant v[V_COUNT]; /* v[0] is V_BASE */
	bool nft;		 /* has V_NFT or V_BOTH: the table's flag is set before each slot */
	unsigned int rounds;
	struct round_value val[BENCH_MAX_ROUNDS][V_COUNT];
	/* Summaries, indexed by enum variant. */
	double value[V_COUNT][M_COUNT]; /* median over rounds */
	double ratio[V_COUNT][M_COUNT]; /* median over rounds of value / V_BASE value */
	double ratio_q1[V_COUNT][M_COUNT], ratio_q3[V_COUNT][M_COUNT];
	uint64_t errors;
	int first_errno;
};

/* The guard's programs a loopback connect+accept+close runs, each beside an empty twin. */
enum prog_kind {
	PK_CONNECT4, /* tg_connect4, beside an empty cgroup/connect4 program */
	PK_SYN_IN,   /* tg_syn_in, beside an empty cgroup_skb/ingress program */
	PK_SYN_OUT,  /* tg_syn_out, beside an empty cgroup_skb/egress program */
	PK_RELEASE,  /* tg_sock_release, beside an empty cgroup/sock_release program */
	PK_COUNT,
};

/* One program's figures from kernel BPF stats, round by round and summarized. */
struct prog_cost {
	double prog[BENCH_MAX_ROUNDS];	/* run_time_ns / run_cnt of the guard's program */
	double empty[BENCH_MAX_ROUNDS]; /* the same for its empty twin, on the same slots */
	double calls[BENCH_MAX_ROUNDS]; /* calls per connect+accept+close */
	/* Summaries: medians over rounds, and the interquartile range of own. */
	double prog_ns, empty_ns, own_ns, own_q1, own_q3;
	double per_connect;	/* median calls per connect */
	double own_per_connect; /* median over rounds of own per call x calls per connect */
	bool counts_differ;	/* the program and its twin counted different calls */
};

/* Per-invocation cost of the guard's programs from kernel BPF stats (part 2). The cgroup_skb
 * programs run on every packet a socket of the guard's cgroup sends or receives, and
 * tg_sock_release on every inet socket's close there, so their figures per call average their
 * early returns with their real work. */
struct cost {
	unsigned int rounds;
	struct prog_cost p[PK_COUNT];
	uint64_t calls; /* tg_connect4 calls measured */
};

/* How the part 3 figures at one listener count compare with those at the smallest count. */
struct flatness {
	double ratio_change; /* median over rounds of throughput ratio / ratio at the smallest */
	double own_change;   /* median over rounds of own cost - own cost at the smallest, ns */
	double own_rel;	     /* median over rounds of own cost / own cost at the smallest */
};

#define SCALE_POINTS 3

/* What the nft layer's control plane and event path cost (part 4). */
#define NFT_APPLY_REPEAT  3
#define NFT_UPDATE_REPEAT 5
#define NFT_EVENT_RUNS	  3
struct nft_results {
	double load_both_ms; /* `tunnelguard load`, both layers */
	struct nft_timing apply_fresh[SCALE_POINTS][NFT_APPLY_REPEAT]; /* table absent before */
	struct nft_timing apply_swap[SCALE_POINTS][NFT_APPLY_REPEAT];  /* over the same table */
	size_t set_owners[SCALE_POINTS]; /* owners each apply was given */
	struct nft_timing add_one[NFT_UPDATE_REPEAT], del_one[NFT_UPDATE_REPEAT];
	double packets_per_connect[CALLER_COUNT]; /* on lo, through the output hook */
	/* listen() / close() -> uid . port in / out of set owned, with `tunnelguard daemon`, with
	 * ev[i].listeners of part 3's listeners listening, ev[i].gap_ms between a pair's close()
	 * seen and the next listen(). */
	struct nft_events {
		size_t listeners;
		unsigned int gap_ms;
		struct spread listen_us, close_us;
		unsigned int events, missed;
	} ev[NFT_EVENT_RUNS];
	double get_us; /* one element get of a present key, median */
	bool daemon_ran;
	char daemon_skipped[64];
};

struct options {
	const char *tunnelguard;   /* the CLI to load the guard with */
	const char *output;	   /* Markdown file, or NULL */
	unsigned int rounds;	   /* rounds per part 1 line */
	unsigned int scale_rounds; /* rounds of part 3 (each visits every listener count) */
	unsigned int cycles;	   /* A B C D D C B A cycles per round */
	unsigned int slot_us;	   /* length of one slot */
	unsigned int cost_rounds;
	unsigned int cost_slot_ms;
	size_t max_listeners;
	bool verbose; /* every slot on stderr */
};

/* Listeners open while discovery and reconciliation are timed. */
#define PORTOWNER_LISTENERS 10000

struct bench {
	struct options opt;
	struct bench_cgroups cg;
	char cgroup[V_COUNT][PATH_MAX];
	char pin_dir[PATH_MAX];
	char config[PATH_MAX];	    /* layers = bpf: part 4's `tunnelguard load` rows */
	char config_both[PATH_MAX]; /* layers = bpf nft: the guard the rest runs with */
	struct tg_config cfg;	    /* config_both, parsed: the policy for nft_apply() */
	struct nftlayer nft;
	pid_t daemon_pid;
	int cpus[WORKER_MAX_PAIRS];
	unsigned int ncpus;
	struct worker worker[CALLER_COUNT];
	struct empty_prog *empty;
	struct stats_switch stats;
	struct listeners listeners;
	size_t part3_synced; /* port_owner entries the sync after opening part 3's listeners made */
	int guard_fd[PK_COUNT]; /* the guard's programs, from their pins */
	struct sample_pool {
		uint32_t *v;
		size_t n, cap;
		uint64_t dropped;
	} pool[V_COUNT]; /* latency samples of one round, per variant */

	/* Results. */
	struct block part1[2][CALLER_COUNT]; /* [N-1][caller] */
	struct cost cost0[CALLER_COUNT];     /* no extra listeners */
	size_t scale[SCALE_POINTS];
	struct block part3[SCALE_POINTS][CALLER_COUNT];
	struct cost cost3[SCALE_POINTS][CALLER_COUNT];
	struct flatness flat[SCALE_POINTS][CALLER_COUNT];
	/* The nft layer at SCALE_POINTS owner counts: blocks V_BASE, V_NULL, V_NFT, V_BOTH. */
	struct block nft_scale[SCALE_POINTS][CALLER_COUNT];
	struct nft_results nftres;
	/* Part 5: the BPF layer with 10, 1,000 and 100,000 tenants in its config. */
	size_t tenants[SCALE_POINTS];
	struct block tenant_scale[SCALE_POINTS][CALLER_COUNT];
	struct cost cost5[SCALE_POINTS][CALLER_COUNT];
	char tenant_skipped[SCALE_POINTS][REPORT_VALUE_LEN]; /* "not run: ..." when refused */
	double tenant_load_ms[SCALE_POINTS];
	struct scale_results control;	      /* part 4 at 50,000 tenants */
	struct profile profile[CALLER_COUNT]; /* no extra listeners */
	struct profile profile_scale;	      /* the tenant, at the largest listener count */
	double load_ms, swap_ms;
	double load_ms_all[8], swap_ms_all[8];
	unsigned int nloads;
	struct portowner_results portowner; /* at PORTOWNER_LISTENERS listeners */
	uint64_t allow_own_before, allow_own_after;
	unsigned int inherited_progs;
	/* The guard's BPF links after `load` (bpf_link_get_next_id(), by program id): how many,
	 * how many are cgroup links, and their attach types, e.g. "cgroup_inet4_connect, ...". */
	unsigned int guard_links, guard_cgroup_links;
	char guard_link_types[512];
	char foreign_progs[512]; /* other BPF programs on the host: "name (type), ..." */
	char loadavg_start[64], loadavg_end[64];
	bool stats_were_on;
	uint64_t started_ns;
};

extern const char *const caller_names[CALLER_COUNT];
extern const char *const variant_names[V_COUNT];

/* measure.c */
/* Open w's listener sets, one in each configuration's cgroup (before any slot). 0 or -errno. */
int variant_open_listeners(struct bench *b, struct worker *w);
/* Move w into v's cgroup; its slots then connect to the listeners opened there. 0 or -errno. */
int variant_enter(struct bench *b, struct worker *w, enum variant v);
/* A block of V_BASE, V_NULL and the variants in the bit mask extra (1u << V_GUARD | ...). */
void block_init(struct block *k, enum caller c, unsigned int n, size_t listeners,
		unsigned int extra);
/* Unrecorded slots in each of the block's cgroups, so first-touch costs stay out of round 0. */
int block_warm_up(struct bench *b, struct block *k);
/* Run round k->rounds of the block (its cycles) and record it. */
int block_run_round(struct bench *b, struct block *k);
void block_summarize(struct block *k);

/* One cost round per caller, into out[caller]: stats on, empty program beside the guard. */
int cost_run_round(struct bench *b, struct cost out[CALLER_COUNT]);
void cost_summarize(struct cost *c);

int measure_control_plane(struct bench *b);
/* Make the nft table dormant if it is not: before anything measured without it. 0 or -errno. */
int nft_quiet(struct bench *b);
/* Put the host as v's slots have it (nft tables), without moving a worker; *changed tells
 * whether a hook came or went (then a settle slot is due). 0 or -errno. */
int variant_apply(struct bench *b, enum variant v, bool every_flag, bool *changed);
/* Run fn(arg) with the benchmark's own process in the guard's cgroup, as a hub's sshd sessions
 * are, and back where it was: its binds then meet tg_post_bind4 and its closes tg_sock_release.
 * fn's result, or -errno when a move failed. */
int in_guard_cgroup(struct bench *b, int (*fn)(struct bench *b, void *arg), void *arg);
/* `tunnelguard load -c config` into the benchmark's pin dir and guard cgroup. 0 or -errno; the
 * CLI's output in out. */
int bench_load(struct bench *b, const char *config, double *ms, char *out, size_t out_len);
/* After a `load`: the programs the guard now runs (a swap replaces them). 0 or -errno. */
int open_guard_progs(struct bench *b);

/* nftphases.c */
/* `tunnelguard load` with both layers over the loaded guard: puts up the real table. */
int nft_put_up(struct bench *b);
/* Lo packets per connect, per caller (part 2's per-packet figure). */
int nft_count_packets(struct bench *b);
/* Part 3 and 4 for the nft layer: owner counts, nft_apply() and nft_update_owners() timings. */
int nft_measure_scale(struct bench *b, const size_t *counts, size_t npoints);
/* Part 4: listen()/close() to set owned with a running `tunnelguard daemon`. */
int nft_measure_events(struct bench *b);
void nft_stop_daemon(struct bench *b);
void progress(const struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* scale.c */
/* Part 5: the BPF layer's throughput and own cost with 10 to 100,000 tenants in the config. */
int measure_tenant_scale(struct bench *b, const size_t *counts, size_t npoints);
/* Part 4 at scale: load, swap, status, check and the daemon's RSS with 50,000 [tenant]
 * sections, and with 100,000 tenant uids. Last: it leaves its own guard loaded. */
int measure_control_scale(struct bench *b);

/* results.c */
void build_report(const struct bench *b, struct report *r);

#endif /* TG_BENCH_H */
