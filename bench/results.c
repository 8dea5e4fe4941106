// SPDX-License-Identifier: GPL-2.0-only
/*
 * results.c - turning the measurements into the one table, with PASS/MISS against issue 8's
 * targets (recorded, never a failure), and the notes that explain it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"

/* Targets of issue 8 (the BPF layer) and issue 5 (both layers; the nft layer alone has none). */
static const double min_tput_ratio[CALLER_COUNT] = { 0.99, 0.98 };
static const double min_both_ratio[CALLER_COUNT] = { 0.95, 0.93 };
static const double max_own_ns[CALLER_COUNT] = { 15, 100 };
#define FLAT_TOLERANCE 0.10
#define MAX_EVENT_MS   5.0 /* listen() or close() to port_owner, p99 */
#define NULL_WARN      0.02

/* 84213.4 -> "84,213" */
static void thousands(char *buf, size_t len, double v)
{
	unsigned long long n = (unsigned long long)llround(v);

	if (n >= 1000000)
		snprintf(buf, len, "%llu,%03llu,%03llu", n / 1000000, n / 1000 % 1000, n % 1000);
	else if (n >= 1000)
		snprintf(buf, len, "%llu,%03llu", n / 1000, n % 1000);
	else
		snprintf(buf, len, "%llu", n);
}

static const char *verdict(bool pass)
{
	return pass ? "PASS" : "MISS";
}

/* The target of variant v for caller c, or 0 when it has none. */
static double tput_target(enum variant v, enum caller c)
{
	return v == V_GUARD ? min_tput_ratio[c] : v == V_BOTH ? min_both_ratio[c] : 0;
}

/* A block's rows; what_count names k->listeners ("listeners", "nft set owners"). */
static void add_block_rows(struct report *r, const struct block *k, const char *what_count)
{
	static const char *const mnames[M_COUNT] = { "throughput", "connect p50", "connect p99" };
	static const enum variant latency_rows[] = { V_GUARD, V_NFT, V_BOTH };
	const char *who = caller_names[k->caller];
	char what[64], cfg[64], num[32];
	struct report_row *row;
	unsigned int i, j;
	double target;
	int m;

	snprintf(what, sizeof(what), "throughput, N=%u", k->n);
	if (k->listeners)
		snprintf(what, sizeof(what), "throughput, N=%u, %zu %s", k->n, k->listeners,
			 what_count);
	for (i = 0; i < k->nvariants; i++) {
		enum variant v = k->v[i];

		if (v == V_NULL)
			continue; /* shown in the null column */
		snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[v], who);
		row = report_add(r, k->listeners ? "3" : "1", what, cfg);
		thousands(num, sizeof(num), k->value[v][M_TPUT]);
		row_set(row->value, "%s conn/s", num);
		row_set(row->null, "%.3fx", k->ratio[V_NULL][M_TPUT]);
		if (v == V_BASE) {
			row_set(row->ratio, "1 (baseline)");
			continue;
		}
		row_set(row->ratio, "%.3fx", k->ratio[v][M_TPUT]);
		target = tput_target(v, k->caller);
		if (target > 0) {
			row_set(row->target, "≥ %.2fx", target);
			row_set(row->verdict, "%s", verdict(k->ratio[v][M_TPUT] >= target));
		}
	}
	if (k->listeners)
		return;
	for (j = 0; j < sizeof(latency_rows) / sizeof(latency_rows[0]); j++) {
		enum variant v = latency_rows[j];

		for (m = M_P50; m < M_COUNT; m++) {
			snprintf(what, sizeof(what), "%s, N=%u", mnames[m], k->n);
			snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[v], who);
			row = report_add(r, "1", what, cfg);
			row_set(row->value, "%.2f µs (no guard %.2f)", k->value[v][m] / 1e3,
				k->value[V_BASE][m] / 1e3);
			row_set(row->ratio, "%.3fx", k->ratio[v][m]);
			row_set(row->null, "%.3fx", k->ratio[V_NULL][m]);
		}
	}
}

/*
 * Part 2 for the nft layer: what it adds to one connect+accept+close (from the N=1 throughput
 * ratio), over the packets each connect sends through the output hook.
 */
static void add_nft_packet_row(struct report *r, const struct bench *b, enum caller c)
{
	const struct block *k = &b->part1[0][c];
	double t = 1e9 / k->value[V_BASE][M_TPUT], ppc = b->nftres.packets_per_connect[c];
	double added = t * (1 / k->ratio[V_NFT][M_TPUT] - 1);
	double noise = t * (1 / k->ratio[V_NULL][M_TPUT] - 1);
	char cfg[64];
	struct report_row *row;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_NFT], caller_names[c]);
	row = report_add(r, "2", "own cost per packet (from throughput)", cfg);
	if (ppc <= 0) {
		row_set(row->value, "not measured: no packets counted on lo");
		return;
	}
	row_set(row->value, "%+.0f ns (%+.0f ns per connect / %.1f packets; null %+.0f ns)",
		added / ppc, added, ppc, noise / ppc);
}

static void add_cost_row(struct report *r, const char *part, const char *what, enum caller c,
			 const struct cost *cost)
{
	char cfg[64];
	struct report_row *row;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], caller_names[c]);
	row = report_add(r, part, what, cfg);
	row_set(row->value, "%.1f ns (%.1f − empty %.1f ns/call)", cost->own_ns, cost->prog_ns,
		cost->empty_ns);
	row_set(row->target, "≤ %.0f ns", max_own_ns[c]);
	row_set(row->verdict, "%s", verdict(cost->own_ns <= max_own_ns[c]));
}

/* tg_syn_in per call, and per connect from its calls per connect (part 2: no target). */
static void add_syn_cost_rows(struct report *r, enum caller c, const struct cost *cost)
{
	char cfg[64];
	struct report_row *row;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], caller_names[c]);
	row = report_add(r, "2", "own cost per tg_syn_in call (every packet)", cfg);
	row_set(row->value, "%.1f ns (%.1f − empty ingress %.1f ns/call)", cost->syn_own_ns,
		cost->syn_ns, cost->syn_empty_ns);
	row = report_add(r, "2", "tg_syn_in calls and own cost per connect", cfg);
	row_set(row->value, "%.2f calls, %.1f ns per connect+accept+close", cost->syn_per_connect,
		cost->syn_own_per_connect);
}

static size_t scale_count(const struct bench *b)
{
	size_t n = 0;

	while (n < SCALE_POINTS && b->scale[n])
		n++;
	return n;
}

static void add_flatness_row(struct report *r, const struct bench *b, enum caller c)
{
	size_t n = scale_count(b), i, worst_i = 1;
	double worst = 0, d;
	char cfg[64], what[64], first[16], last[16];
	struct report_row *row;
	bool flat = true;

	for (i = 1; i < n; i++) {
		const struct flatness *f = &b->flat[i][c];

		d = fmax(fabs(f->ratio_change - 1), fabs(f->own_rel - 1));
		if (d > worst) {
			worst = d;
			worst_i = i;
		}
		flat = flat && fabs(f->ratio_change - 1) <= FLAT_TOLERANCE &&
		       fabs(f->own_rel - 1) <= FLAT_TOLERANCE;
	}
	thousands(first, sizeof(first), (double)b->scale[0]);
	thousands(last, sizeof(last), (double)b->scale[n - 1]);
	snprintf(what, sizeof(what), "flat from %s to %s listeners", first, last);
	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], caller_names[c]);
	row = report_add(r, "3", what, cfg);
	thousands(last, sizeof(last), (double)b->scale[worst_i]);
	row_set(row->value, "at %s: throughput ratio %+.1f%%, own cost %+.1f ns (%+.1f%%)", last,
		(b->flat[worst_i][c].ratio_change - 1) * 100, b->flat[worst_i][c].own_change,
		(b->flat[worst_i][c].own_rel - 1) * 100);
	row_set(row->target, "±10%%");
	row_set(row->verdict, "%s", verdict(flat));
}

/* Part 3 for the nft layer: the throughput ratio at the largest owner count over the smallest. */
static void add_nft_flatness_row(struct report *r, const struct bench *b, enum variant v,
				 enum caller c)
{
	size_t n = scale_count(b), i, worst_i = 1;
	double worst = 0, d;
	char cfg[64], what[64], first[16], last[16];
	struct report_row *row;
	bool flat = true;

	for (i = 1; i < n; i++) {
		d = b->nft_scale[i][c].ratio[v][M_TPUT] / b->nft_scale[0][c].ratio[v][M_TPUT] - 1;
		if (fabs(d) >= fabs(worst)) {
			worst = d;
			worst_i = i;
		}
		flat = flat && fabs(d) <= FLAT_TOLERANCE;
	}
	thousands(first, sizeof(first), (double)b->scale[0]);
	thousands(last, sizeof(last), (double)b->scale[n - 1]);
	snprintf(what, sizeof(what), "flat from %s to %s nft set owners", first, last);
	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[v], caller_names[c]);
	row = report_add(r, "3", what, cfg);
	thousands(last, sizeof(last), (double)b->scale[worst_i]);
	row_set(row->value, "at %s: throughput ratio %+.1f%% (%.3fx, at %s %.3fx)", last,
		worst * 100, b->nft_scale[worst_i][c].ratio[v][M_TPUT], first,
		b->nft_scale[0][c].ratio[v][M_TPUT]);
	row_set(row->target, "±10%%");
	row_set(row->verdict, "%s", verdict(flat));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n timings' wall and system times. */
static struct nft_timing median_timing(const struct nft_timing *t, unsigned int n)
{
	double wall[16], sys[16];
	unsigned int i;

	for (i = 0; i < n && i < 16; i++) {
		wall[i] = t[i].wall_ms;
		sys[i] = t[i].sys_ms;
	}
	qsort(wall, i, sizeof(double), cmp_double);
	qsort(sys, i, sizeof(double), cmp_double);
	return (struct nft_timing){ .wall_ms = wall[i / 2], .sys_ms = sys[i / 2] };
}

static void add_nft_control_rows(struct report *r, const struct bench *b)
{
	const struct nft_results *res = &b->nftres;
	size_t i, n = scale_count(b);
	struct report_row *row;
	struct nft_timing t;
	char what[64], num[16];

	row = report_add(r, "4", "`tunnelguard load` over a loaded guard (swap)",
			 "BPF + nft layers");
	row_set(row->value, "%.0f ms (once; the sets hold the workers' listeners)",
		res->load_both_ms);
	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)res->set_owners[i]);
		snprintf(what, sizeof(what), "nft_apply(), %s owners, fresh", num);
		row = report_add(r, "4", what, "nft layer");
		t = median_timing(res->apply_fresh[i], NFT_APPLY_REPEAT);
		row_set(row->value, "%.1f ms wall, %.1f ms system (median of %d)", t.wall_ms,
			t.sys_ms, NFT_APPLY_REPEAT);
		snprintf(what, sizeof(what), "nft_apply(), %s owners, over the table", num);
		row = report_add(r, "4", what, "nft layer");
		t = median_timing(res->apply_swap[i], NFT_APPLY_REPEAT);
		row_set(row->value, "%.1f ms wall, %.1f ms system (median of %d)", t.wall_ms,
			t.sys_ms, NFT_APPLY_REPEAT);
	}
	if (!n)
		return;
	thousands(num, sizeof(num), (double)res->set_owners[n - 1]);
	snprintf(what, sizeof(what), "nft_update_owners(), add 1 to %s", num);
	row = report_add(r, "4", what, "nft layer (daemon's event path)");
	t = median_timing(res->add_one, NFT_UPDATE_REPEAT);
	row_set(row->value, "%.2f ms wall, %.2f ms system (median of %d)", t.wall_ms, t.sys_ms,
		NFT_UPDATE_REPEAT);
	snprintf(what, sizeof(what), "nft_update_owners(), delete 1 of %s", num);
	row = report_add(r, "4", what, "nft layer (daemon's event path)");
	t = median_timing(res->del_one, NFT_UPDATE_REPEAT);
	row_set(row->value, "%.0f ms wall, %.0f ms system (median of %d)", t.wall_ms, t.sys_ms,
		NFT_UPDATE_REPEAT);
}

/* Part 4: listen() or close() to nft set owned, through `tunnelguard daemon`. */
static void add_nft_event_row(struct report *r, const struct nft_results *res,
			      const struct nft_events *ev, bool on_listen)
{
	const struct spread *s = on_listen ? &ev->listen_us : &ev->close_us;
	char what[96], num[16];
	struct report_row *row;
	bool pass = ev->events && !ev->missed && s->p99 < MAX_EVENT_MS * 1e3;

	thousands(num, sizeof(num), (double)ev->listeners);
	snprintf(what, sizeof(what), "%s, %s listeners%s",
		 on_listen ? "listen() → in nft set owned" : "close() → out of nft set owned", num,
		 ev->gap_ms ? "" : ", back to back");
	row = report_add(r, "4", what, "nft layer (`tunnelguard daemon`)");
	row_set(row->target, "p99 < %.0f ms", MAX_EVENT_MS);
	if (!res->daemon_ran) {
		row_set(row->value, "not measured: %.60s",
			res->daemon_skipped[0] ? res->daemon_skipped : "the daemon did not start");
		return;
	}
	if (ev->events)
		row_set(row->value, "%.0f µs median, p99 %.0f µs, max %.0f µs (%u; %u missed)",
			s->p50, s->p99, s->max, ev->events, ev->missed);
	else
		row_set(row->value, "none seen within 1 s");
	row_set(row->verdict, "%s", verdict(pass));
}

/* Part 4: listen() and close() to port_owner. */
static void add_event_row(struct report *r, const char *what, const struct portowner_results *p,
			  const struct spread *s, unsigned int first)
{
	struct report_row *row = report_add(r, "4", what, "BPF layer (tg_listen_state)");
	bool pass = p->events && !p->missed && s->p99 < MAX_EVENT_MS * 1e3;

	if (p->events)
		row_set(row->value, "%.1f µs median, p99 %.1f µs; %u of %u at 1st lookup%s", s->p50,
			s->p99, first, p->events, p->missed ? "; some missed" : "");
	else
		row_set(row->value, "none seen within 100 ms");
	row_set(row->target, "p99 < %.0f ms", MAX_EVENT_MS);
	row_set(row->verdict, "%s", verdict(pass));
}

/* Issue 4: discovery and full reconciliation. */
static void add_portowner_rows(struct report *r, const struct portowner_results *p)
{
	static const char *const what[SYNC_CASES] = {
		[SYNC_IN_SYNC_DRY] = "reconcile, map in sync, dry run",
		[SYNC_IN_SYNC] = "reconcile, map in sync",
		[SYNC_EMPTY] = "reconcile, empty map",
	};
	struct report_row *row;
	char label[64], num[16];
	int c;

	thousands(num, sizeof(num), (double)p->listeners);
	snprintf(label, sizeof(label), "sock_diag discovery, %s listeners", num);
	row = report_add(r, "i4", label, "userspace, diag_dump_listeners()");
	row_set(row->value, "%.2f ms median, p99 %.2f ms (%u runs)", p->dump_ms.p50, p->dump_ms.p99,
		p->dump_ms.n);
	for (c = 0; c < SYNC_CASES; c++) {
		const struct spread *s = &p->sync_ms[c];

		row = report_add(r, "i4", what[c], "userspace, sync_port_owner_from_diag()");
		row_set(row->value, "%.0f ms median, max %.0f ms (%u runs)", s->p50, s->max, s->n);
	}
}

static void add_preamble(const struct bench *b, struct report *r)
{
	report_preamble(
		r,
		"Produced by `sudo make bench` (bench/, see bench/bench.h for the method) in "
		"%.0f s. Everything ran in the same run, in a private network namespace "
		"(loopback only), with `tenant-uids = 3001-3004`:\n\n",
		(double)(now_ns() - b->started_ns) / 1e9);
	report_preamble(
		r,
		"- Callers: *non-tenant* is uid 3999 (a hub service: one range check); *tenant, "
		"own port* is uid 3001 connecting to its own listener on 127.0.0.1 (the full "
		"path: `bpf_sk_lookup_tcp`, owner read, decision, counter, socket storage; then "
		"tg_syn_in's reverse lookup where the SYN meets the listener). Each worker process "
		"holds N connector/acceptor pairs, each pair pinned to one CPU (CPUs");
	for (unsigned int i = 0; i < b->ncpus; i++)
		report_preamble(r, " %d", b->cpus[i]);
	report_preamble(
		r,
		"); a connector does socket, connect, close with `SO_LINGER {1,0}`, in a loop. A "
		"socket stays in the cgroup it was created in, and a cgroup ingress program "
		"(tg_syn_in) runs for the receiving socket's cgroup, so each worker opened one "
		"listener (with its acceptor) per pair in each configuration's cgroup and a slot "
		"connects to the listener of the cgroup it runs in: in *BPF layer* slots both ends "
		"of every connection are in the guard's cgroup, as when the guard is attached to "
		"the root cgroup.\n"
		"- Configurations are sibling throwaway cgroups: *no guard*, a second *no guard* "
		"(the null comparison), *BPF layer* (`tunnelguard load --cgroup`), *empty connect4 "
		"prog* (a program that returns 1), *empty progs, all BPF layer hooks* (the floor "
		"of the BPF layer: an empty connect4, cgroup_skb/ingress and cgroup_skb/egress "
		"program on one cgroup, the hooks a loopback connect+accept+close runs the guard "
		"on, with nothing in them), *nft layer* (a cgroup with nothing attached) "
		"and *BPF + nft layers* (the BPF layer's cgroup). The worker process is moved "
		"between them (a write to cgroup.procs) and runs a %.1f ms slot in each, in "
		"cycles that visit them in a rotated order and back (A B C D E F G G F E D C B A); "
		"%u "
		"cycles make a round and each line has %u rounds.\n"
		"- The nft layer is the real table inet tunnelguard, put up by `tunnelguard load` "
		"with `layers = bpf nft` (its sets hold the workers' own listeners). nft's output "
		"hook belongs to the network namespace, not to a cgroup, so the table stays "
		"loaded and its *dormant* flag takes its chain off the hook: before every slot of "
		"a line with nft configurations one small batch sets the flag as the slot needs "
		"(clear only for *nft layer* and *BPF + nft layers*), even when it is already so, "
		"so every slot follows the same netlink round trip; when the flag changed, an "
		"unrecorded 1 ms settle slot runs first. A dormant table has no hook and costs "
		"nothing, so *no guard* and the null are truly unguarded. (Alternatives "
		"rejected: a `socket cgroupv2` gate rule would run on the no-guard slots too; a "
		"second network namespace would need its own listeners and workers.)\n"
		"- *vs no guard* is the median over rounds of the per-round ratio to the *no "
		"guard* slots of the same round; *null* is the same for the second unguarded "
		"cgroup, so it shows how far a ratio moves by chance. Latency percentiles pool a "
		"round's slots.\n"
		"- Own cost: kernel BPF stats on (`BPF_ENABLE_STATS`, only during that phase), "
		"tg_connect4 and the empty program attached to the same cgroup (the empty one "
		"after it) so both run on every connect; own = run_time_ns/run_cnt of "
		"tg_connect4 minus the empty one's, median of %u rounds of %u ms, N=1. "
		"tg_syn_in is measured the same way in the same slots against an empty "
		"cgroup_skb/ingress program; it runs on every packet received by a socket of the "
		"guard's cgroup (the connector's SYN-ACK, the listener's SYN and ACK, the accepted "
		"socket's RST), so its figure per call averages its early returns with its one SYN "
		"check, and *per connect* is the median over rounds of own per call times calls "
		"per connect. tg_post_bind4/6 run only on bind(), which the connectors never call: "
		"the throughput rows do not contain them and no row measures them.\n"
		"- Part 3 opens the largest number of listeners once, over 1,000 addresses of "
		"127.10.0.0/16 and ports from 40000, owned by uids 3002-3004 (other tenants). "
		"Each of %u rounds sets each listener count in turn (rotated order): the first n "
		"listen, the rest are bound but taken out of the listener table with "
		"`shutdown(SHUT_RD)`; at each count it runs one round of throughput cycles per "
		"caller (N=1) and one cost slot per caller. *Flat* compares each count with the "
		"smallest round by round (median of per-round ratios).\n"
		"- Part 3 for the nft layer: its sets grow with owners (uid . port pairs), not "
		"with listener sockets, so the table is rebuilt by `nft_apply()` with the workers' "
		"owners plus 10, 1,000 or 100,000 synthetic tenant owners (uids 3002-3004, ports "
		"from 1024); a reload takes up to a second, so the counts are visited in blocks "
		"up and back down (10, 1000, 100000, 100000, 1000, 10) of %u rounds each, the "
		"nft configurations only; *flat* compares the median throughput ratios. Part 4 "
		"times the same `nft_apply()` calls (fresh after an untimed `nft_remove()`, and "
		"over the table) and `nft_update_owners()` adding and deleting one owner at the "
		"largest count; system time is getrusage's, which holds the kernel's batch "
		"processing (it runs in the caller) but not RCU-deferred freeing.\n"
		"- Own cost per packet of the nft layer: what it adds to a connect+accept+close in "
		"part 1 (N=1, from the throughput ratio, so it carries the null's noise, shown "
		"beside it) divided by the packets each connect sends through the output hook "
		"(lo TX packets over a 50 ms slot / connects: %.1f non-tenant, %.1f tenant).\n",
		b->opt.slot_us / 1e3, b->opt.cycles, b->opt.rounds, b->opt.cost_rounds,
		b->opt.cost_slot_ms, b->opt.scale_rounds,
		b->opt.scale_rounds / 3 ? b->opt.scale_rounds / 3 : 1,
		b->nftres.packets_per_connect[CALLER_SERVICE],
		b->nftres.packets_per_connect[CALLER_TENANT]);
	if (b->stats_were_on)
		report_preamble(r, "- kernel.bpf_stats_enabled was already 1: throughput "
				   "includes the stats clock for every program.\n");
	report_preamble(
		r,
		"- The port_owner map, once part 3 is done and the workers are idle, with %d of "
		"part 3's listeners listening (the others bound, not listening): rows *i4* answer "
		"issue 4's benchmark item (the # column is otherwise the part of issue 8). "
		"`diag_dump_listeners()` is timed call by call (up to 200 calls or 5 s, after one "
		"unmeasured); `sync_port_owner_from_diag()` on the pinned map (opened from the pin), up "
		"to 7 calls per case (at least 3, 8 s budget): map already in sync, dry run and "
		"then writing; and map emptied first (untimed), so that the sync adds every "
		"listener. "
		"Percentiles are nearest-rank.\n"
		"- Event to map (part 4): 1,000 times, a socket owned by uid 3002 is bound to "
		"127.20.0.1:(20000 + i) and `listen()` is called; from its return the same thread "
		"looks its key up in port_owner in a tight loop (`bpf_map_lookup_elem`) until the "
		"entry is there, then calls `close()` and does the same until it is gone. The "
		"figure runs from the call's return to the return of the lookup that saw the "
		"change, so it includes one lookup syscall; *at 1st lookup* counts changes already "
		"made when the call returned (tg_listen_state runs inside the call, on the "
		"socket's state change). A change not seen within 100 ms counts as missed.\n"
		"- Event to nft set (part 4): with the nft table hooked, `tunnelguard daemon` "
		"(both layers, following the guard's pin dir) is started; once a first listener "
		"reaches set owned, a socket owned by uid 3002 is bound to "
		"127.20.0.2:(21000 + i) and `listen()` is called; the same thread then asks for "
		"the one element 3002 . port of set owned (`NFT_MSG_GETSETELEM`, no dump) every "
		"20 µs (a pause leaves the daemon a CPU of the two) until it is there, calls "
		"`close()` and does the same until it is gone; 100 times with 10 of part 3's "
		"listeners listening, 100 times with 10,000, each pair 50 ms after the previous "
		"one was seen gone, and 100 times *back to back* (10 listeners, the next listen() "
		"as soon as the previous close() was seen). The path is tg_listen_state, the "
		"owner-events ring buffer, the daemon's epoll wakeup and one "
		"`nft_update_owners()` batch; a deletion first reads all of port_owner (is "
		"another listener of the pair left?). A change not seen within 1 s counts as "
		"missed (the daemon's 2 s reconciliation would repair it).\n",
		PORTOWNER_LISTENERS);
	report_preamble(r,
			"- connect4 programs attached above the benchmark's cgroups (running in "
			"every configuration alike): %u.\n",
			b->inherited_progs);
	if (b->foreign_progs[0])
		report_preamble(
			r,
			"- Other BPF programs loaded on the host during the run: %s. Tracing "
			"programs among them run in every configuration alike; cgroup programs "
			"run here only when attached above the benchmark's cgroups.\n",
			b->foreign_progs);
	report_preamble(r,
			"- /proc/loadavg at the start: %s; at the end: %s (the machine is shared: "
			"other work moves the absolute figures, the same-run ratios much less).\n",
			b->loadavg_start, b->loadavg_end);
	report_preamble(r, "\n");
}

/* Where the BPF layer's time per connect goes, from the N=1 ratios and the BPF stats. */
static void add_time_notes(const struct bench *b, struct report *r)
{
	int c;

	report_note(r, "## Where the time goes (N=1, no extra listeners)\n\n"
		       "Per connect+accept+close of one connector, in ns of wall time, from the "
		       "throughput ratios above (so each carries the null's noise, shown last) and "
		       "from BPF stats:\n\n"
		       "| caller | no guard | added by BPF layer | added by empty connect4 prog "
		       "(hook + run) | added by empty progs on all BPF layer hooks (the floor) | "
		       "tg_connect4's own (stats) | tg_syn_in's own per connect (stats) | "
		       "added by nft layer | added by both layers | null noise |\n"
		       "|---|---|---|---|---|---|---|---|---|---|\n");
	for (c = 0; c < CALLER_COUNT; c++) {
		const struct block *k = &b->part1[0][c];
		double t = 1e9 / k->value[V_BASE][M_TPUT];

		report_note(r,
			    "| %s | %.0f | %+.0f | %+.0f | %+.0f | %.1f | %.1f | %+.0f | %+.0f | "
			    "%+.0f |\n",
			    caller_names[c], t, t * (1 / k->ratio[V_GUARD][M_TPUT] - 1),
			    t * (1 / k->ratio[V_EMPTY][M_TPUT] - 1),
			    t * (1 / k->ratio[V_FLOOR][M_TPUT] - 1), b->cost0[c].own_ns,
			    b->cost0[c].syn_own_per_connect, t * (1 / k->ratio[V_NFT][M_TPUT] - 1),
			    t * (1 / k->ratio[V_BOTH][M_TPUT] - 1),
			    t * (1 / k->ratio[V_NULL][M_TPUT] - 1));
	}
	report_note(r, "\n");
}

static void note_callees(struct report *r, const char *intro, const struct profile_callee *list,
			 double n, double own)
{
	unsigned int i;

	for (i = 0; i < PROFILE_TOP && list[i].samples; i++)
		report_note(r, "%s `%s` %.0f%% (~%.0f ns)", i ? "," : intro, list[i].name,
			    100 * list[i].samples / n, own * list[i].samples / n);
}

static void note_profile(struct report *r, const char *who, const struct profile *p, double own)
{
	double n = (double)p->prog_samples;

	if (!p->done || !p->prog_samples) {
		report_note(r, "- %s: no profile (%s).\n", who,
			    p->done ? "no sample in tg_connect4" : p->skipped);
		return;
	}
	report_note(r,
		    "- %s: %lu of the worker's %lu kernel samples in tg_connect4 (and %lu more "
		    "in the hook around it). Its own instructions %.0f%% (~%.0f ns), %.0f%% (~%.0f "
		    "ns) on its first 16 bytes alone: fetching the program's code, cold again at "
		    "every connect",
		    who, p->prog_samples, p->worker_samples, p->hook_samples - p->prog_samples,
		    100 * p->self_samples / n, own * p->self_samples / n,
		    100 * p->entry_samples / n, own * p->entry_samples / n);
	note_callees(r, "; below its calls:", p->top, n, own);
	note_callees(r, "; where the CPU was in them:", p->leaf, n, own);
	report_note(r, ".\n");
}

static void add_profile_notes(const struct bench *b, struct report *r)
{
	size_t n = scale_count(b);
	char who[96], num[16];
	int c;

	report_note(r,
		    "Profile (`perf record -g`, kernel cycles on the connector's CPU, N=1, guard "
		    "on, stats off), as shares of the samples whose stack passes through "
		    "tg_connect4; the ns beside each share apply it to the program's own cost "
		    "measured by BPF stats at the same listener count (perf slows connects "
		    "down, so its own times are not used):\n\n");
	for (c = 0; c < CALLER_COUNT; c++)
		note_profile(r, caller_names[c], &b->profile[c], b->cost0[c].own_ns);
	if (n) {
		thousands(num, sizeof(num), (double)b->scale[n - 1]);
		snprintf(who, sizeof(who), "%s, %s listeners", caller_names[CALLER_TENANT], num);
		note_profile(r, who, &b->profile_scale, b->cost3[n - 1][CALLER_TENANT].own_ns);
	}
	report_note(r, "\n");
}

static void add_spread_notes(const struct bench *b, struct report *r)
{
	size_t i, n = scale_count(b);
	unsigned int v;
	int c, nn;

	report_note(r, "## Spread\n\nThroughput ratio to no guard, median [interquartile range] "
		       "over rounds:\n\n| line | null | BPF layer | empty prog | nft layer | BPF + "
		       "nft |\n|---|---|---|---|---|---|\n");
	for (nn = 0; nn < WORKER_MAX_PAIRS; nn++)
		for (c = 0; c < CALLER_COUNT; c++) {
			const struct block *k = &b->part1[nn][c];

			report_note(r, "| N=%u, %s |", k->n, caller_names[c]);
			for (v = V_NULL; v < V_COUNT; v++)
				report_note(r, " %.3f [%.3f, %.3f] |", k->ratio[v][M_TPUT],
					    k->ratio_q1[v][M_TPUT], k->ratio_q3[v][M_TPUT]);
			report_note(r, "\n");
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			const struct block *k = &b->part3[i][c];

			report_note(r, "| N=1, %zu listeners, %s |", k->listeners, caller_names[c]);
			for (v = V_NULL; v <= V_GUARD; v++)
				report_note(r, " %.3f [%.3f, %.3f] |", k->ratio[v][M_TPUT],
					    k->ratio_q1[v][M_TPUT], k->ratio_q3[v][M_TPUT]);
			report_note(r, " — | — | — |\n");
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			const struct block *k = &b->nft_scale[i][c];

			report_note(r,
				    "| N=1, %zu nft set owners, %s | %.3f [%.3f, %.3f] | — | — |",
				    k->listeners, caller_names[c], k->ratio[V_NULL][M_TPUT],
				    k->ratio_q1[V_NULL][M_TPUT], k->ratio_q3[V_NULL][M_TPUT]);
			for (v = V_NFT; v <= V_BOTH; v++)
				report_note(r, " %.3f [%.3f, %.3f] |", k->ratio[v][M_TPUT],
					    k->ratio_q1[v][M_TPUT], k->ratio_q3[v][M_TPUT]);
			report_note(r, "\n");
		}
	report_note(r, "\nOwn cost per call, median [interquartile range] over rounds, ns: "
		       "tg_connect4: ");
	for (c = 0; c < CALLER_COUNT; c++)
		report_note(r, "%s%s %.1f [%.1f, %.1f]", c ? "; " : "", caller_names[c],
			    b->cost0[c].own_ns, b->cost0[c].own_q1, b->cost0[c].own_q3);
	report_note(r, ". tg_syn_in: ");
	for (c = 0; c < CALLER_COUNT; c++)
		report_note(r, "%s%s %.1f [%.1f, %.1f]", c ? "; " : "", caller_names[c],
			    b->cost0[c].syn_own_ns, b->cost0[c].syn_own_q1, b->cost0[c].syn_own_q3);
	report_note(r, ".\n\n");
}

/* How the nft table's hooks came and went between slots, and the event run's details. */
static void add_nft_switch_note(const struct bench *b, struct report *r)
{
	const struct nftlayer *l = &b->nft;
	const struct nft_results *res = &b->nftres;
	uint32_t change[NFTLAYER_MAX_TIMED], same[NFTLAYER_MAX_TIMED];
	unsigned int nc = l->nchange < NFTLAYER_MAX_TIMED ? l->nchange : NFTLAYER_MAX_TIMED;
	unsigned int ns = l->nsame < NFTLAYER_MAX_TIMED ? l->nsame : NFTLAYER_MAX_TIMED;

	memcpy(change, l->change_us, nc * sizeof(change[0]));
	memcpy(same, l->same_us, ns * sizeof(same[0]));
	sort_u32(change, nc);
	sort_u32(same, ns);
	report_note(r,
		    "- The nft table's dormant flag, one batch before every slot of a block with "
		    "nft variants: %u batches switched the hooks (median %u µs, p99 %u µs, max %u "
		    "µs, each followed by a 1 ms unrecorded settle slot), %u found the flag "
		    "already set (median %u µs, p99 %u µs).\n",
		    l->nchange, percentile_sorted(change, nc, 50),
		    percentile_sorted(change, nc, 99), nc ? change[nc - 1] : 0, l->nsame,
		    percentile_sorted(same, ns, 50), percentile_sorted(same, ns, 99));
	if (res->daemon_ran)
		report_note(r,
			    "- nft event latency: one element get of a present key takes %.1f µs "
			    "(median); each figure includes the get that saw the change and up to "
			    "one pause between gets.\n",
			    res->get_us);
}

static void add_check_notes(const struct bench *b, struct report *r)
{
	const struct portowner_results *p = &b->portowner;
	uint64_t errors = 0;
	double worst[M_COUNT] = { 0 }, d;
	size_t i, n = scale_count(b);
	unsigned int j;
	int c, m;

	for (j = 0; j < WORKER_MAX_PAIRS; j++)
		for (c = 0; c < CALLER_COUNT; c++) {
			errors += b->part1[j][c].errors;
			for (m = 0; m < M_COUNT; m++) {
				d = b->part1[j][c].ratio[V_NULL][m] - 1;
				if (fabs(d) > fabs(worst[m]))
					worst[m] = d;
			}
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			errors += b->part3[i][c].errors + b->nft_scale[i][c].errors;
			d = b->part3[i][c].ratio[V_NULL][M_TPUT] - 1;
			if (fabs(d) > fabs(worst[M_TPUT]))
				worst[M_TPUT] = d;
			d = b->nft_scale[i][c].ratio[V_NULL][M_TPUT] - 1;
			if (fabs(d) > fabs(worst[M_TPUT]))
				worst[M_TPUT] = d;
		}
	report_note(r, "## Checks\n\n");
	report_note(r,
		    "- Null comparison, largest departure from 1: throughput %+.1f%%, connect p50 "
		    "%+.1f%%, p99 %+.1f%%%s.\n",
		    worst[M_TPUT] * 100, worst[M_P50] * 100, worst[M_P99] * 100,
		    fabs(worst[M_TPUT]) > NULL_WARN ? " — throughput beyond 2%: treat this run's "
						      "throughput ratios with that much doubt"
						    : "");
	report_note(r,
		    "- The guard counted %llu tenant connects as `allow_own` during the run, so "
		    "the tenant lines ran the full lookup path and were allowed.\n",
		    (unsigned long long)(b->allow_own_after - b->allow_own_before));
	report_note(r,
		    "- Failed connects in measured slots: %llu (a connect the nft layer reset "
		    "would be one).\n",
		    (unsigned long long)errors);
	add_nft_switch_note(b, r);
	for (i = 0; i < CALLER_COUNT; i++)
		if (b->cost0[i].counts_differ)
			report_note(r,
				    "- tg_connect4 and the empty program counted different "
				    "numbers of calls in a round (%s).\n",
				    caller_names[i]);
	for (i = 0; i < CALLER_COUNT; i++)
		if (b->cost0[i].syn_counts_differ)
			report_note(r,
				    "- tg_syn_in and the empty ingress program counted different "
				    "numbers of calls in a round (%s).\n",
				    caller_names[i]);
	report_note(r,
		    "- port_owner against sock_diag at %zu listeners: the first (unmeasured) sync "
		    "found %zu entries to repair (what tg_listen_state had missed while part 3 "
		    "opened and toggled its listeners); the in-sync runs then found %zu "
		    "differences in all; each empty-map run added %zu",
		    p->listeners, p->first_drift, p->in_sync_drift, p->empty_added_min);
	if (p->empty_added_max != p->empty_added_min)
		report_note(r, " to %zu", p->empty_added_max);
	report_note(r,
		    " entries. Event latency: %u listeners measured, %u changes missed, %u "
		    "entries with an owner other than the listener's (max listen %.1f µs, close "
		    "%.1f µs).\n",
		    p->events, p->missed, p->wrong_owner, p->listen_us.max, p->close_us.max);
	report_note(r,
		    "- `tunnelguard load`, each of %u: fresh %.0f %.0f %.0f %.0f %.0f ms; swap "
		    "%.0f %.0f %.0f %.0f %.0f ms.\n",
		    b->nloads, b->load_ms_all[0], b->load_ms_all[1], b->load_ms_all[2],
		    b->load_ms_all[3], b->load_ms_all[4], b->swap_ms_all[0], b->swap_ms_all[1],
		    b->swap_ms_all[2], b->swap_ms_all[3], b->swap_ms_all[4]);
}

void build_report(const struct bench *b, struct report *r)
{
	struct report_row *row;
	char what[64], num[16];
	size_t i, n = scale_count(b);
	unsigned int j;
	int c;

	report_init(r);
	add_preamble(b, r);
	for (j = 0; j < WORKER_MAX_PAIRS; j++)
		for (c = 0; c < CALLER_COUNT; c++)
			add_block_rows(r, &b->part1[j][c], "");
	for (c = 0; c < CALLER_COUNT; c++)
		add_cost_row(r, "2", "own cost per connect4 call", c, &b->cost0[c]);
	for (c = 0; c < CALLER_COUNT; c++)
		add_syn_cost_rows(r, c, &b->cost0[c]);
	for (c = 0; c < CALLER_COUNT; c++)
		add_nft_packet_row(r, b, c);
	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)b->scale[i]);
		for (c = 0; c < CALLER_COUNT; c++) {
			add_block_rows(r, &b->part3[i][c], "listeners");
			snprintf(what, sizeof(what), "own cost per call, %s listeners", num);
			add_cost_row(r, "3", what, c, &b->cost3[i][c]);
		}
	}
	for (c = 0; c < CALLER_COUNT && n; c++)
		add_flatness_row(r, b, c);
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++)
			add_block_rows(r, &b->nft_scale[i][c], "nft set owners");
	for (c = 0; c < CALLER_COUNT && n > 1; c++) {
		add_nft_flatness_row(r, b, V_NFT, c);
		add_nft_flatness_row(r, b, V_BOTH, c);
	}
	row = report_add(r, "4", "`tunnelguard load`, fresh", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->load_ms, b->nloads);
	row = report_add(r, "4", "`tunnelguard load` over a loaded guard (swap)", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->swap_ms, b->nloads);
	add_event_row(r, "listen() → entry in port_owner", &b->portowner, &b->portowner.listen_us,
		      b->portowner.listen_first);
	add_event_row(r, "close() → entry gone from port_owner", &b->portowner,
		      &b->portowner.close_us, b->portowner.close_first);
	add_nft_control_rows(r, b);
	for (i = 0; i < NFT_EVENT_RUNS; i++) {
		add_nft_event_row(r, &b->nftres, &b->nftres.ev[i], true);
		add_nft_event_row(r, &b->nftres, &b->nftres.ev[i], false);
	}
	add_portowner_rows(r, &b->portowner);
	add_time_notes(b, r);
	add_profile_notes(b, r);
	add_spread_notes(b, r);
	add_check_notes(b, r);
}
