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

/* Targets of issue 16: the BPF layer, both layers, tg_connect4's own cost, the nft layer over its
 * empty chain, the control plane. */
static const double min_tput_ratio[CALLER_COUNT] = { 0.995, 0.99 };
static const double min_both_ratio[CALLER_COUNT] = { 0.97, 0.95 };
static const double max_own_ns[CALLER_COUNT] = { 10, 60 };
#define MAX_NFT_OVER_EMPTY 1.25
#define MAX_CONTROL_MS	   1000.0
#define MAX_CHECK_MS	   50.0
#define FLAT_TOLERANCE	   0.10
#define MAX_EVENT_MS	   5.0 /* listen() or close() to port_owner, p99 */
#define NULL_WARN	   0.02

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

static const char *const prog_names[PK_COUNT] = {
	[PK_CONNECT4] = "tg_connect4",
	[PK_SYN_IN] = "tg_syn_in",
	[PK_SYN_OUT] = "tg_syn_out",
	[PK_RELEASE] = "tg_sock_release",
};

static const char *const twin_names[PK_COUNT] = {
	[PK_CONNECT4] = "empty connect4",
	[PK_SYN_IN] = "empty ingress",
	[PK_SYN_OUT] = "empty egress",
	[PK_RELEASE] = "empty sock_release",
};

/* The target of variant v for caller c, or 0 when it has none. */
static double tput_target(enum variant v, enum caller c)
{
	return v == V_GUARD ? min_tput_ratio[c] : v == V_BOTH ? min_both_ratio[c] : 0;
}

/* A block's rows; what_count names k->listeners ("listeners", "nft set owners"). */
static void add_block_rows(struct report *r, const struct block *k, const char *part,
			   const char *what_count)
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
		row = report_add(r, part, what, cfg);
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
			row_set(row->target, "≥ %.3gx", target);
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

/* What variant v adds to one connect+accept+close of block k, in ns (from the throughput ratio). */
static double added_ns(const struct block *k, enum variant v)
{
	return 1e9 / k->value[V_BASE][M_TPUT] * (1 / k->ratio[v][M_TPUT] - 1);
}

/*
 * The nft layer per packet through the output hook, beside the empty chain's (both from the
 * throughput ratios of block k, so each carries the null's noise), and the first over the second
 * against the target.
 */
static void add_nft_packet_rows(struct report *r, const struct bench *b, const struct block *k,
				const char *part, const char *what)
{
	double ppc = b->nftres.packets_per_connect[k->caller];
	double nft = added_ns(k, V_NFT) / ppc, floor = added_ns(k, V_NFT_EMPTY) / ppc;
	double noise = added_ns(k, V_NULL) / ppc;
	char cfg[64];
	struct report_row *row;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_NFT], caller_names[k->caller]);
	row = report_add(r, part, what, cfg);
	if (ppc <= 0) {
		row_set(row->value, "not measured: no packets counted on lo");
		return;
	}
	row_set(row->value,
		"%+.0f ns, empty chain %+.0f ns: own %+.0f ns (%.1f pkt/conn; null %+.0f)", nft,
		floor, nft - floor, ppc, noise);
	row_set(row->target, "≤ %.2fx empty", MAX_NFT_OVER_EMPTY);
	if (floor <= fabs(noise)) {
		row_set(row->ratio, "—");
		row_set(row->verdict, "n/a");
		return;
	}
	row_set(row->ratio, "%.2fx empty", nft / floor);
	row_set(row->verdict, "%s", verdict(nft / floor <= MAX_NFT_OVER_EMPTY));
}

static void add_cost_row(struct report *r, const char *part, const char *what, enum caller c,
			 const struct cost *cost)
{
	const struct prog_cost *pc = &cost->p[PK_CONNECT4];
	char cfg[64];
	struct report_row *row;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], caller_names[c]);
	row = report_add(r, part, what, cfg);
	row_set(row->value, "%.1f ns (%.1f − empty %.1f ns/call)", pc->own_ns, pc->prog_ns,
		pc->empty_ns);
	row_set(row->target, "≤ %.0f ns", max_own_ns[c]);
	row_set(row->verdict, "%s", verdict(pc->own_ns <= max_own_ns[c]));
}

/* Part 2, per program: calls per connect x own cost per call over its empty twin. */
static void add_prog_cost_rows(struct report *r, enum caller c, const struct cost *cost)
{
	char cfg[64], what[64];
	struct report_row *row;
	int i;

	snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], caller_names[c]);
	for (i = 0; i < PK_COUNT; i++) {
		const struct prog_cost *pc = &cost->p[i];

		snprintf(what, sizeof(what), "%s: calls × own ns per connect", prog_names[i]);
		row = report_add(r, "2", what, cfg);
		row_set(row->value, "%.2f × %.1f (%.1f − %s %.1f) = %.1f ns", pc->per_connect,
			pc->own_ns, pc->prog_ns, twin_names[i], pc->empty_ns, pc->own_per_connect);
	}
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
	struct report_row *row =
		report_add(r, "4", what, "BPF layer (tg_post_bind4, tg_sock_release)");
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
		"- Configurations are sibling throwaway cgroups: *no guard* and a second *no "
		"guard* (the null comparison), with nothing of tunnelguard attached anywhere; "
		"*BPF layer* (`tunnelguard load --cgroup`: the cgroup programs, which are all the "
		"guard loads: %u links, %u of them cgroup links: %s); *empty connect4 prog* (a "
		"program that returns 1); *empty progs, all BPF layer hooks* (an empty connect4, "
		"cgroup_skb/ingress, cgroup_skb/egress and cgroup/sock_release program on one "
		"cgroup: the hooks a loopback connect+accept+close runs the guard on, with nothing "
		"in them); *nft layer* (table inet tunnelguard hooked, no BPF) and *empty nft "
		"output chain* (its floor: table inet tg_bench_empty with one base chain of the "
		"same type, hook and priority, filter/output/0, and no rule); *BPF + nft layers* "
		"(all of the guard: cgroup programs and table). The worker process is moved "
		"between them (a write to cgroup.procs) and runs a %.1f ms slot in each, in cycles "
		"that visit them in a rotated order and back (A B C ... C B A); %u cycles make a "
		"round and each line has %u rounds. At N=1 every configuration runs; at N=2 only "
		"no guard, null, BPF layer, nft layer and both layers (trimmed to keep `make "
		"bench` within 10 minutes: the floors are N=1's).\n"
		"- No listen tracer any more: builds before issue 16 learned listeners from a raw "
		"tracepoint on inet_sock_set_state, which ran on every TCP state change of the "
		"host (6 to 6.5 calls per loopback connect+accept+close); the previous run "
		"measured it at +471 to +517 ns per connect alone (about 0.47 µs, its empty raw_tp "
		"floor +384 to +468 ns) and 71 to 75 ns of own cost per connect. port_owner is now "
		"fed by the cgroup post_bind4/6 hooks at bind() and given back by tg_sock_release "
		"(cgroup/sock_release) when the socket closes: nothing host-wide is attached, so "
		"the tracer's rows are gone and *no guard* is a host without any of the guard.\n"
		"- The nft layer is the real table inet tunnelguard, put up by `tunnelguard load` "
		"with `layers = bpf nft` (its sets hold the workers' own listeners). nft's output "
		"hook belongs to the network namespace, not to a cgroup, so the table stays "
		"loaded and its *dormant* flag takes its chain off the hook: before every slot of "
		"a line with nft configurations one small batch per table (the real one and the "
		"empty chain's) sets the flag as the slot needs, even when it is already so, so "
		"every slot follows the same netlink round trips; when a flag changed, an "
		"unrecorded 1 ms settle slot runs first. A dormant table has no hook and costs "
		"nothing, so *no guard* and the null are truly unguarded. (Alternatives "
		"rejected: a `socket cgroupv2` gate rule would run on the no-guard slots too; a "
		"second network namespace would need its own listeners and workers.)\n"
		"- *vs no guard* is the median over rounds of the per-round ratio to the *no "
		"guard* slots of the same round; *null* is the same for the second unguarded "
		"cgroup, so it shows how far a ratio moves by chance. Latency percentiles pool a "
		"round's slots.\n"
		"- Own cost: kernel BPF stats on (`BPF_ENABLE_STATS`, only during that phase); "
		"each program of the guard on the connect path runs beside an empty twin of the "
		"same type attached after it on the same hook, so both run on the same events: "
		"tg_connect4 beside an empty connect4 program, tg_syn_in and tg_syn_out beside "
		"empty cgroup_skb/ingress and egress programs, tg_sock_release beside an empty "
		"cgroup/sock_release program. Own = run_time_ns/run_cnt of the program minus its "
		"twin's, median of %u rounds of %u ms, N=1; calls per connect = run_cnt / "
		"connects of the slot; *per connect* is the median over rounds of own per call "
		"times calls per connect. The cgroup_skb programs run on every packet a socket of "
		"the guard's cgroup sends or receives and tg_sock_release on every inet socket's "
		"close there (the connector's and the accepted socket's: 2 per connect), so their "
		"figures per call average early returns with real work. tg_bind4/6 and "
		"tg_post_bind4/6 run only on bind(), which the connectors never call (their "
		"listeners were bound once): no throughput row contains them.\n"
		"- Part 3 opens the largest number of listeners once, over 1,000 addresses of "
		"127.10.0.0/16 and ports from 40000, owned by uids 3002-3004 (other tenants). "
		"Each of %u rounds sets each listener count in turn (rotated order): the first n "
		"listen, the rest are bound but taken out of the listener table with "
		"`shutdown(SHUT_RD)`; at each count it runs one round of throughput cycles per "
		"caller (N=1) and one cost slot per caller. *Flat* compares each count with the "
		"smallest round by round (median of per-round ratios). The listeners are bound by "
		"holder processes outside the guard's cgroup, so their binds meet no post_bind "
		"hook: one `sync_port_owner_from_diag()` after they are opened puts them into "
		"port_owner (%zu entries), as the daemon does for such listeners, so port_owner "
		"grows with the listener count as on a hub.\n"
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
		"- Own cost per packet of the nft layer: what it adds to a connect+accept+close "
		"(from the throughput ratio, so it carries the null's noise, shown beside it) "
		"divided by the packets each connect sends through the output hook (lo TX packets "
		"over a 50 ms slot / connects: %.1f non-tenant, %.1f tenant), beside the same for "
		"the empty output chain in the same rounds; *own* is the difference, and the "
		"target compares the two (≤ 1.25x; n/a when the empty chain's cost is within the "
		"null's noise).\n"
		"- Part 5: the guard is reloaded (`load` over itself, `layers = bpf`) with the "
		"workers' `tenant-uids = 3001-3004` plus 10, 1,000 or 100,000 synthetic tenants: "
		"up to 30,000 `[tenant tNNNNN]` sections (user 3000000 + i, one reserved port "
		"1024 + i, below the ephemeral range the workers' listeners use) and the rest as "
		"single uids in `tenant-uids` (every 3rd uid after the sections'); the counts are "
		"visited up and back down (10, 1000, 100000, 100000, 1000, 10), %u rounds of "
		"throughput and own cost each. A config the CLI refuses gets one row \"not run: "
		"<its first error line>\".\n"
		"- Part 4 at scale, last: `tunnelguard unload`, then `load` (fresh) and `load` "
		"again (swap) of a config with 50,000 `[tenant tNNNNN]` sections (user 3000000 + "
		"i, ports 10000 + i, default `layers = bpf nft`), `status` (median of %d), "
		"`check` (median of %d; tenant 7 binding tenant 8's port) and the VmRSS of a "
		"`tunnelguard daemon` on the benchmark's pin dir once unchanged for 1 s; then the "
		"same with 100,000 single uids in `tenant-uids` (every 3rd from 3000000; `check` "
		"of a listed uid's connect to port 22). A refusal reads \"not run: ...\".\n",
		b->guard_links, b->guard_cgroup_links,
		b->guard_link_types[0] ? b->guard_link_types : "none found", b->opt.slot_us / 1e3,
		b->opt.cycles, b->opt.rounds, b->opt.cost_rounds, b->opt.cost_slot_ms,
		b->opt.scale_rounds, b->part3_synced,
		b->opt.scale_rounds / 3 ? b->opt.scale_rounds / 3 : 1,
		b->nftres.packets_per_connect[CALLER_SERVICE],
		b->nftres.packets_per_connect[CALLER_TENANT],
		b->opt.scale_rounds / 6 ? b->opt.scale_rounds / 6 : 1, SCALE_STATUS_REPEAT,
		SCALE_CHECK_REPEAT);

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
		"- Event to map (part 4): 1,000 times, the benchmark's process, moved into the "
		"guard's cgroup for this (as a hub's sshd sessions are), binds a socket owned by "
		"uid 3002 to 127.20.0.1:(20000 + i) and calls `listen()`; from its return the same "
		"thread "
		"looks its key up in port_owner in a tight loop (`bpf_map_lookup_elem`) until the "
		"entry is there, then calls `close()` and does the same until it is gone. The "
		"figure runs from the call's return to the return of the lookup that saw the "
		"change, so it includes one lookup syscall; *at 1st lookup* counts changes already "
		"made when the call returned (tg_post_bind4 runs inside bind(), before listen(), "
		"and tg_sock_release inside close()). A change not seen within 100 ms counts as "
		"missed.\n"
		"- Event to nft set (part 4): with the nft table hooked and the benchmark's process "
		"in the guard's cgroup, `tunnelguard daemon` (both layers, following the guard's "
		"pin dir) is started there; once a first listener "
		"reaches set owned, a socket owned by uid 3002 is bound to "
		"127.20.0.2:(21000 + i) and `listen()` is called; the same thread then asks for "
		"the one element 3002 . port of set owned (`NFT_MSG_GETSETELEM`, no dump) every "
		"20 µs (a pause leaves the daemon a CPU of the two) until it is there, calls "
		"`close()` and does the same until it is gone; 100 times with 10 of part 3's "
		"listeners listening, 100 times with 10,000, each pair 50 ms after the previous "
		"one was seen gone, and 100 times *back to back* (10 listeners, the next listen() "
		"as soon as the previous close() was seen). The path is tg_post_bind4 (at bind(), "
		"before listen()) or tg_sock_release, the owner-events ring buffer, the daemon's epoll wakeup and one "
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

/* Where the guard's time per connect goes, from the N=1 ratios and the BPF stats. */
static void add_time_notes(const struct bench *b, struct report *r)
{
	static const enum variant added[] = {
		V_GUARD, V_EMPTY, V_FLOOR, V_NFT, V_NFT_EMPTY, V_BOTH
	};
	unsigned int i;
	int c, p;

	report_note(r,
		    "## Where the time goes (N=1, no extra listeners)\n\n"
		    "Per connect+accept+close of one connector, in ns of wall time: *added by* "
		    "each configuration from the throughput ratios above (so each carries the "
		    "null's noise, shown last), and each program's own cost per connect from BPF "
		    "stats (calls per connect × ns per call over its empty twin):\n\n"
		    "| caller | no guard |");
	for (i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		report_note(r, " %s |", variant_names[added[i]]);
	for (p = 0; p < PK_COUNT; p++)
		report_note(r, " %s own |", prog_names[p]);
	report_note(r, " null noise |\n|---|---|");
	for (i = 0; i < sizeof(added) / sizeof(added[0]) + PK_COUNT + 1; i++)
		report_note(r, "---|");
	report_note(r, "\n");
	for (c = 0; c < CALLER_COUNT; c++) {
		const struct block *k = &b->part1[0][c];

		report_note(r, "| %s | %.0f |", caller_names[c], 1e9 / k->value[V_BASE][M_TPUT]);
		for (i = 0; i < sizeof(added) / sizeof(added[0]); i++)
			report_note(r, " %+.0f |", added_ns(k, added[i]));
		for (p = 0; p < PK_COUNT; p++)
			report_note(r, " %.1f |", b->cost0[c].p[p].own_per_connect);
		report_note(r, " %+.0f |\n", added_ns(k, V_NULL));
	}
	report_note(r, "\n");
	for (c = 0; c < CALLER_COUNT; c++) {
		double own = 0;

		for (p = 0; p < PK_COUNT; p++)
			own += b->cost0[c].p[p].own_per_connect;
		report_note(r,
			    "- %s: the guard's programs' own cost adds up to %.1f ns per connect; "
			    "the BPF layer adds %+.0f ns over no guard, of which its hooks' floor "
			    "(empty programs on the same four hooks) is %+.0f ns.\n",
			    caller_names[c], own, added_ns(&b->part1[0][c], V_GUARD),
			    added_ns(&b->part1[0][c], V_FLOOR));
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
		    who, p->prog_samples, p->worker_samples,
		    p->hook_samples > p->prog_samples ? p->hook_samples - p->prog_samples : 0,
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
		note_profile(r, caller_names[c], &b->profile[c], b->cost0[c].p[PK_CONNECT4].own_ns);
	if (n) {
		thousands(num, sizeof(num), (double)b->scale[n - 1]);
		snprintf(who, sizeof(who), "%s, %s listeners", caller_names[CALLER_TENANT], num);
		note_profile(r, who, &b->profile_scale,
			     b->cost3[n - 1][CALLER_TENANT].p[PK_CONNECT4].own_ns);
	}
	report_note(r, "\n");
}

/* One spread row: the ratio and its interquartile range of each variant, "—" where absent. */
static void spread_row(struct report *r, const struct block *k, const char *fmt_line)
{
	unsigned int i, v;

	report_note(r, "| %s |", fmt_line);
	for (v = V_NULL; v < V_COUNT; v++) {
		for (i = 0; i < k->nvariants && k->v[i] != v; i++)
			;
		if (i == k->nvariants)
			report_note(r, " — |");
		else
			report_note(r, " %.3f [%.3f, %.3f] |", k->ratio[v][M_TPUT],
				    k->ratio_q1[v][M_TPUT], k->ratio_q3[v][M_TPUT]);
	}
	report_note(r, "\n");
}

static void add_spread_notes(const struct bench *b, struct report *r)
{
	size_t i, n = scale_count(b);
	char line[96];
	unsigned int v;
	int c, nn, p;

	report_note(r, "## Spread\n\nThroughput ratio to no guard, median [interquartile range] "
		       "over rounds:\n\n| line |");
	for (v = V_NULL; v < V_COUNT; v++)
		report_note(r, " %s |", v == V_NULL ? "null" : variant_names[v]);
	report_note(r, "\n|---|");
	for (v = V_NULL; v < V_COUNT; v++)
		report_note(r, "---|");
	report_note(r, "\n");
	for (nn = 0; nn < WORKER_MAX_PAIRS; nn++)
		for (c = 0; c < CALLER_COUNT; c++) {
			snprintf(line, sizeof(line), "N=%u, %s", nn + 1, caller_names[c]);
			spread_row(r, &b->part1[nn][c], line);
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			snprintf(line, sizeof(line), "N=1, %zu listeners, %s", b->scale[i],
				 caller_names[c]);
			spread_row(r, &b->part3[i][c], line);
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			snprintf(line, sizeof(line), "N=1, %zu nft set owners, %s", b->scale[i],
				 caller_names[c]);
			spread_row(r, &b->nft_scale[i][c], line);
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < CALLER_COUNT; c++) {
			if (b->tenant_skipped[i][0] || !b->tenant_scale[i][c].rounds)
				continue;
			snprintf(line, sizeof(line), "N=1, %zu tenants, %s", b->tenants[i],
				 caller_names[c]);
			spread_row(r, &b->tenant_scale[i][c], line);
		}
	report_note(r, "\nOwn cost per call over the empty twin, median [interquartile range] over "
		       "rounds, ns (no extra listeners):");
	for (p = 0; p < PK_COUNT; p++) {
		report_note(r, "%s %s: ", p ? "." : "", prog_names[p]);
		for (c = 0; c < CALLER_COUNT; c++)
			report_note(r, "%s%s %.1f [%.1f, %.1f]", c ? "; " : "", caller_names[c],
				    b->cost0[c].p[p].own_ns, b->cost0[c].p[p].own_q1,
				    b->cost0[c].p[p].own_q3);
	}
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
			errors += b->part3[i][c].errors + b->nft_scale[i][c].errors +
				  b->tenant_scale[i][c].errors;
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
		for (m = 0; m < PK_COUNT; m++)
			if (b->cost0[i].p[m].counts_differ)
				report_note(r,
					    "- %s and its twin (%s) counted different numbers of "
					    "calls in a round (%s).\n",
					    prog_names[m], twin_names[m], caller_names[i]);
	report_note(
		r,
		"- The guard's BPF links after `load` (every link of the host whose program "
		"is one of the guard's pinned programs): %u, of which %u cgroup links (%s)%s.\n",
		b->guard_links, b->guard_cgroup_links,
		b->guard_link_types[0] ? b->guard_link_types : "none found",
		b->guard_links == b->guard_cgroup_links ? ": nothing host-wide"
							: " — **not all cgroup links**");
	report_note(r,
		    "- port_owner against sock_diag at %zu listeners: the first (unmeasured) sync "
		    "found %zu entries to repair (what changed since the sync after part 3's "
		    "listeners were opened without a hook seeing it: part 3's listeners beyond "
		    "these stopped listening, and port_owner follows sock_diag's listeners); the "
		    "in-sync runs then found %zu "
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

/* Part 5: the BPF layer at 10 to 100,000 tenants in the config, or why not. */
static void add_tenant_rows(struct report *r, const struct bench *b)
{
	size_t i, n = scale_count(b);
	struct report_row *row;
	char what[64], num[16];
	int c;

	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)b->tenants[i]);
		if (b->tenant_skipped[i][0]) {
			snprintf(what, sizeof(what), "throughput and own cost, %s tenants", num);
			row = report_add(r, "5", what, variant_names[V_GUARD]);
			row_set(row->value, "%s", b->tenant_skipped[i]);
			row_set(row->target, "≤ %.0f / %.0f ns", max_own_ns[0], max_own_ns[1]);
			row_set(row->verdict, "MISS");
			continue;
		}
		for (c = 0; c < CALLER_COUNT; c++) {
			add_block_rows(r, &b->tenant_scale[i][c], "5", "tenants");
			snprintf(what, sizeof(what), "own cost per call, %s tenants", num);
			add_cost_row(r, "5", what, c, &b->cost5[i][c]);
		}
		snprintf(what, sizeof(what), "`tunnelguard load` (swap), %s tenants", num);
		row = report_add(r, "5", what, variant_names[V_GUARD]);
		row_set(row->value, "%.0f ms (the last of its visits)", b->tenant_load_ms[i]);
		row_set(row->target, "< %.0f s", MAX_CONTROL_MS / 1e3);
		row_set(row->verdict, "%s", verdict(b->tenant_load_ms[i] < MAX_CONTROL_MS));
	}
}

static void add_timing_row(struct report *r, const char *what, const char *cfg, double ms,
			   double max_ms)
{
	struct report_row *row = report_add(r, "4", what, cfg);

	row_set(row->value, "%.0f ms", ms);
	row_set(row->target, max_ms >= 1000 ? "< %.0f s" : "< %.0f ms",
		max_ms >= 1000 ? max_ms / 1e3 : max_ms);
	row_set(row->verdict, "%s", verdict(ms < max_ms));
}

/* Part 4 at scale: each case's load, swap, status, check and daemon RSS, or why not. */
static void add_control_scale_rows(struct report *r, const struct bench *b)
{
	struct report_row *row;
	char what[128];
	int i;

	for (i = 0; i < SCALE_CASES; i++) {
		const struct scale_case *sc = &b->control.c[i];

		if (!sc->what)
			continue;
		if (sc->skipped[0]) {
			snprintf(what, sizeof(what), "control plane, %.40s", sc->what);
			row = report_add(r, "4", what, "BPF + nft layers");
			row_set(row->value, "%s", sc->skipped);
			row_set(row->target, "< 1 s each");
			row_set(row->verdict, "MISS");
			continue;
		}
		snprintf(what, sizeof(what), "`load` fresh, %.40s", sc->what);
		add_timing_row(r, what, "BPF + nft layers", sc->load_ms, MAX_CONTROL_MS);
		snprintf(what, sizeof(what), "`load` over itself (swap), %.40s", sc->what);
		add_timing_row(r, what, "BPF + nft layers", sc->swap_ms, MAX_CONTROL_MS);
		snprintf(what, sizeof(what), "`status`, %.40s", sc->what);
		add_timing_row(r, what, "CLI", sc->status_ms, MAX_CONTROL_MS);
		snprintf(what, sizeof(what), "`check` (%s), %.40s", sc->check_answer, sc->what);
		add_timing_row(r, what, "CLI", sc->check_ms, MAX_CHECK_MS);
		snprintf(what, sizeof(what), "daemon RSS, %.40s", sc->what);
		row = report_add(r, "4", what, "`tunnelguard daemon`");
		if (sc->rss_kib && !sc->rss_skipped[0])
			row_set(row->value, "%.1f MiB (config %.0f KiB)", sc->rss_kib / 1024.0,
				sc->config_kib);
		else
			row_set(row->value, "%.1f MiB: %s", sc->rss_kib / 1024.0,
				sc->rss_skipped[0] ? sc->rss_skipped : "not read");
	}
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
			add_block_rows(r, &b->part1[j][c], "1", "");
	for (c = 0; c < CALLER_COUNT; c++)
		add_cost_row(r, "2", "own cost per connect4 call", c, &b->cost0[c]);
	for (c = 0; c < CALLER_COUNT; c++)
		add_prog_cost_rows(r, c, &b->cost0[c]);
	row = report_add(r, "2", "tg_bind4/6, tg_post_bind4/6", variant_names[V_GUARD]);
	row_set(row->value, "not on the connect path: they run on bind() only (0 per connect)");
	for (c = 0; c < CALLER_COUNT; c++)
		add_nft_packet_rows(r, b, &b->part1[0][c], "2", "nft own cost per packet, N=1");
	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)b->scale[i]);
		for (c = 0; c < CALLER_COUNT; c++) {
			add_block_rows(r, &b->part3[i][c], "3", "listeners");
			snprintf(what, sizeof(what), "own cost per call, %s listeners", num);
			add_cost_row(r, "3", what, c, &b->cost3[i][c]);
		}
	}
	for (c = 0; c < CALLER_COUNT && n; c++)
		add_flatness_row(r, b, c);
	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)b->scale[i]);
		for (c = 0; c < CALLER_COUNT; c++) {
			add_block_rows(r, &b->nft_scale[i][c], "3", "nft set owners");
			snprintf(what, sizeof(what), "nft own cost per packet, %s owners", num);
			add_nft_packet_rows(r, b, &b->nft_scale[i][c], "3", what);
		}
	}
	for (c = 0; c < CALLER_COUNT && n > 1; c++) {
		add_nft_flatness_row(r, b, V_NFT, c);
		add_nft_flatness_row(r, b, V_BOTH, c);
	}
	row = report_add(r, "4", "`tunnelguard load`, fresh", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->load_ms, b->nloads);
	row = report_add(r, "4", "`tunnelguard load` over a loaded guard (swap)", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->swap_ms, b->nloads);
	add_event_row(r, "bind()+listen() → entry in port_owner", &b->portowner,
		      &b->portowner.listen_us, b->portowner.listen_first);
	add_event_row(r, "close() → entry gone from port_owner", &b->portowner,
		      &b->portowner.close_us, b->portowner.close_first);
	add_nft_control_rows(r, b);
	for (i = 0; i < NFT_EVENT_RUNS; i++) {
		add_nft_event_row(r, &b->nftres, &b->nftres.ev[i], true);
		add_nft_event_row(r, &b->nftres, &b->nftres.ev[i], false);
	}
	add_control_scale_rows(r, b);
	add_tenant_rows(r, b);
	add_portowner_rows(r, &b->portowner);
	add_time_notes(b, r);
	add_profile_notes(b, r);
	add_spread_notes(b, r);
	add_check_notes(b, r);
}
