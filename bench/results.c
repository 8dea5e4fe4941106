// SPDX-License-Identifier: GPL-2.0-only
/*
 * results.c - turning the measurements into the one table, with PASS/MISS against issue 8's
 * targets (recorded, never a failure), and the notes that explain it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "util.h"

/* Targets of issue 8. */
static const double min_tput_ratio[CALLER_COUNT] = { 0.99, 0.98 };
static const double max_own_ns[CALLER_COUNT] = { 15, 100 };
#define FLAT_TOLERANCE 0.10
#define MAX_EVENT_MS   5.0 /* listen() or close() to port_owner, p99 */
#define NULL_WARN      0.02

/* Layers the table will measure once they exist: their rows say so until then. */
static const struct pending_row {
	const char *part;
	const char *measurement;
	const char *layer;
	const char *why;
} pending_rows[] = {
	{ "1", "throughput and connect latency, N=1 and 2", "nft layer",
	  "not measured yet: no nft layer" },
	{ "1", "throughput and connect latency, N=1 and 2", "BPF + nft layers",
	  "not measured yet: no nft layer" },
	{ "2", "own cost per packet", "nft layer", "not measured yet: no nft layer" },
	{ "3", "flat from 10 to 100,000 listeners", "nft layer", "not measured yet: no nft layer" },
	{ "4", "ruleset load and swap", "nft layer", "not measured yet: no nft layer" },
};

static void add_pending(struct report *r, const char *part)
{
	size_t i;

	for (i = 0; i < sizeof(pending_rows) / sizeof(pending_rows[0]); i++) {
		const struct pending_row *p = &pending_rows[i];
		struct report_row *row;

		if (strcmp(p->part, part) != 0)
			continue;
		row = report_add(r, p->part, p->measurement, p->layer);
		row_set(row->value, "%s", p->why);
	}
}

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

static void add_block_rows(struct report *r, const struct block *k)
{
	static const char *const mnames[M_COUNT] = { "throughput", "connect p50", "connect p99" };
	const char *who = caller_names[k->caller];
	char what[64], cfg[64], num[32];
	struct report_row *row;
	unsigned int i;
	int m;

	snprintf(what, sizeof(what), "throughput, N=%u", k->n);
	if (k->listeners)
		snprintf(what, sizeof(what), "throughput, N=%u, %zu listeners", k->n, k->listeners);
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
		if (v == V_GUARD) {
			row_set(row->target, "≥ %.2fx", min_tput_ratio[k->caller]);
			row_set(row->verdict, "%s",
				verdict(k->ratio[v][M_TPUT] >= min_tput_ratio[k->caller]));
		}
	}
	if (k->listeners)
		return;
	for (m = M_P50; m < M_COUNT; m++) {
		snprintf(what, sizeof(what), "%s, N=%u", mnames[m], k->n);
		snprintf(cfg, sizeof(cfg), "%s, %s", variant_names[V_GUARD], who);
		row = report_add(r, "1", what, cfg);
		row_set(row->value, "%.2f µs (no guard %.2f)", k->value[V_GUARD][m] / 1e3,
			k->value[V_BASE][m] / 1e3);
		row_set(row->ratio, "%.3fx", k->ratio[V_GUARD][m]);
		row_set(row->null, "%.3fx", k->ratio[V_NULL][m]);
	}
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

		row = report_add(r, "i4", what[c], "userspace, sync_port_owners()");
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
		r, "- Callers: *non-tenant* is uid 3999 (a hub service: one range check); *tenant, "
		   "own port* is uid 3001 connecting to its own listener on 127.0.0.1 (the full "
		   "path: `bpf_sk_lookup_tcp`, owner read, decision, counter). Each worker process "
		   "holds N connector/acceptor pairs, each pair pinned to one CPU (CPUs");
	for (unsigned int i = 0; i < b->ncpus; i++)
		report_preamble(r, " %d", b->cpus[i]);
	report_preamble(
		r,
		"); a connector does socket, connect, close with `SO_LINGER {1,0}`, in a loop.\n"
		"- Configurations are sibling throwaway cgroups: *no guard*, a second *no guard* "
		"(the null comparison), *BPF layer* (`tunnelguard load --cgroup`), *empty connect4 "
		"prog* (a program that returns 1). The worker process is moved between them (a "
		"write to cgroup.procs) and runs a %.1f ms slot in each, in cycles that visit "
		"them in a rotated order and back (A B C D D C B A); %u cycles make a round and "
		"each line has %u rounds.\n"
		"- *vs no guard* is the median over rounds of the per-round ratio to the *no "
		"guard* slots of the same round; *null* is the same for the second unguarded "
		"cgroup, so it shows how far a ratio moves by chance. Latency percentiles pool a "
		"round's slots.\n"
		"- Own cost: kernel BPF stats on (`BPF_ENABLE_STATS`, only during that phase), "
		"tg_connect4 and the empty program attached to the same cgroup (the empty one "
		"after it) so both run on every connect; own = run_time_ns/run_cnt of "
		"tg_connect4 minus the empty one's, median of %u rounds of %u ms, N=1.\n"
		"- Part 3 opens the largest number of listeners once, over 1,000 addresses of "
		"127.10.0.0/16 and ports from 40000, owned by uids 3002-3004 (other tenants). "
		"Each of %u rounds sets each listener count in turn (rotated order): the first n "
		"listen, the rest are bound but taken out of the listener table with "
		"`shutdown(SHUT_RD)`; at each count it runs one round of throughput cycles per "
		"caller (N=1) and one cost slot per caller. *Flat* compares each count with the "
		"smallest round by round (median of per-round ratios).\n",
		b->opt.slot_us / 1e3, b->opt.cycles, b->opt.rounds, b->opt.cost_rounds,
		b->opt.cost_slot_ms, b->opt.scale_rounds);
	if (b->stats_were_on)
		report_preamble(r, "- kernel.bpf_stats_enabled was already 1: throughput "
				   "includes the stats clock for every program.\n");
	report_preamble(
		r,
		"- The port_owner map, once part 3 is done and the workers are idle, with %d of "
		"part 3's listeners listening (the others bound, not listening): rows *i4* answer "
		"issue 4's benchmark item (the # column is otherwise the part of issue 8). "
		"`diag_dump_listeners()` is timed call by call (up to 200 calls or 5 s, after one "
		"unmeasured); `sync_port_owners()` on the pinned map (opened from the pin), up "
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
		"socket's state change). A change not seen within 100 ms counts as missed.\n",
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
		       "| caller | no guard | added by BPF layer | added by empty prog (hook + "
		       "run) | program's own (stats) | null noise |\n"
		       "|---|---|---|---|---|---|\n");
	for (c = 0; c < CALLER_COUNT; c++) {
		const struct block *k = &b->part1[0][c];
		double t = 1e9 / k->value[V_BASE][M_TPUT];

		report_note(r, "| %s | %.0f | %+.0f | %+.0f | %.1f | %+.0f |\n", caller_names[c], t,
			    t * (1 / k->ratio[V_GUARD][M_TPUT] - 1),
			    t * (1 / k->ratio[V_EMPTY][M_TPUT] - 1), b->cost0[c].own_ns,
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
		       "over rounds:\n\n| line | null | BPF layer | empty prog |\n|---|---|---|---|"
		       "\n");
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
			report_note(r, " — |\n");
		}
	report_note(r, "\nOwn cost per call, median [interquartile range] over rounds, ns: ");
	for (c = 0; c < CALLER_COUNT; c++)
		report_note(r, "%s%s %.1f [%.1f, %.1f]", c ? "; " : "", caller_names[c],
			    b->cost0[c].own_ns, b->cost0[c].own_q1, b->cost0[c].own_q3);
	report_note(r, ".\n\n");
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
			errors += b->part3[i][c].errors;
			d = b->part3[i][c].ratio[V_NULL][M_TPUT] - 1;
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
	report_note(r, "- Failed connects in measured slots: %llu.\n", (unsigned long long)errors);
	for (i = 0; i < CALLER_COUNT; i++)
		if (b->cost0[i].counts_differ)
			report_note(r,
				    "- tg_connect4 and the empty program counted different "
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
			add_block_rows(r, &b->part1[j][c]);
	add_pending(r, "1");
	for (c = 0; c < CALLER_COUNT; c++)
		add_cost_row(r, "2", "own cost per connect4 call", c, &b->cost0[c]);
	add_pending(r, "2");
	for (i = 0; i < n; i++) {
		thousands(num, sizeof(num), (double)b->scale[i]);
		for (c = 0; c < CALLER_COUNT; c++) {
			add_block_rows(r, &b->part3[i][c]);
			snprintf(what, sizeof(what), "own cost per call, %s listeners", num);
			add_cost_row(r, "3", what, c, &b->cost3[i][c]);
		}
	}
	for (c = 0; c < CALLER_COUNT && n; c++)
		add_flatness_row(r, b, c);
	add_pending(r, "3");
	row = report_add(r, "4", "`tunnelguard load`, fresh", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->load_ms, b->nloads);
	row = report_add(r, "4", "`tunnelguard load` over a loaded guard (swap)", "BPF layer");
	row_set(row->value, "%.0f ms (median of %u)", b->swap_ms, b->nloads);
	add_event_row(r, "listen() → entry in port_owner", &b->portowner, &b->portowner.listen_us,
		      b->portowner.listen_first);
	add_event_row(r, "close() → entry gone from port_owner", &b->portowner,
		      &b->portowner.close_us, b->portowner.close_first);
	add_pending(r, "4");
	add_portowner_rows(r, &b->portowner);
	add_time_notes(b, r);
	add_profile_notes(b, r);
	add_spread_notes(b, r);
	add_check_notes(b, r);
}
