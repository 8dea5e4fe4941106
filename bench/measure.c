// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

#define CONTROL_PLANE_REPEAT 5

const char *const caller_names[CALLER_COUNT] = {
	[CALLER_SERVICE] = "non-tenant",
	[CALLER_TENANT] = "tenant, own port",
};

const char *const variant_names[V_COUNT] = {
	[V_BASE] = "no guard",
	[V_NULL] = "no guard (null)",
	[V_GUARD] = "BPF layer",
	[V_EMPTY] = "empty connect4 prog",
	[V_FLOOR] = "empty progs, all BPF layer hooks",
	[V_NFT] = "nft layer",
	[V_BOTH] = "BPF + nft layers",
};

_Static_assert(V_COUNT <= WORKER_MAX_SETS, "a listener set per variant's cgroup");

/* The listener set opened in v's cgroup: V_BOTH shares V_GUARD's cgroup, and so its listeners. */
static unsigned int listener_set(enum variant v)
{
	return v == V_BOTH ? V_GUARD : v;
}

int variant_enter(struct bench *b, struct worker *w, enum variant v)
{
	int err = cgroups_move(b->cgroup[v], w->pid);

	if (!err)
		w->set = listener_set(v);
	return err;
}

int variant_open_listeners(struct bench *b, struct worker *w)
{
	int v, err = 0;

	for (v = 0; !err && v < V_COUNT; v++)
		if (listener_set((enum variant)v) == (unsigned int)v) {
			err = cgroups_move(b->cgroup[v], w->pid);
			if (!err)
				err = worker_listen(w, (unsigned int)v);
		}
	return err;
}

/* Unrecorded run after the nft table's hooks came or went (see bench.h). */
#define NFT_SETTLE_NS 1000000ull

void progress(const struct bench *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%4.0fs] ", (double)(now_ns() - b->started_ns) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static uint64_t slot_ns(const struct bench *b)
{
	return (uint64_t)b->opt.slot_us * 1000ull;
}

static uint64_t cost_slot_ns(const struct bench *b)
{
	return (uint64_t)b->opt.cost_slot_ms * 1000000ull;
}

/* What a variant's slots in the current round add up to. */
struct round_acc {
	double tput_sum;
	unsigned int slots;
};

/* Add the slot that just ran on k->n connectors to the round's figures of variant v. */
static void collect_slot(struct bench *b, struct block *k, enum variant v, struct round_acc *acc)
{
	const struct worker *w = &b->worker[k->caller];
	struct sample_pool *pool = &b->pool[v];
	double tput = 0;
	unsigned int i;
	size_t n;

	for (i = 0; i < k->n; i++) {
		const struct connector_result *c = &w->shm->conn[i];

		if (c->elapsed_ns)
			tput += (double)c->connects * 1e9 / (double)c->elapsed_ns;
		n = c->nsamples;
		if (n > pool->cap - pool->n) {
			pool->dropped += n - (pool->cap - pool->n);
			n = pool->cap - pool->n;
		}
		memcpy(pool->v + pool->n, c->samples, n * sizeof(c->samples[0]));
		pool->n += n;
		if (c->errors && !k->errors)
			k->first_errno = c->first_errno;
		k->errors += c->errors;
	}
	acc->tput_sum += tput;
	acc->slots++;
}

int nft_quiet(struct bench *b)
{
	return b->nft.active ? nftlayer_set_active(&b->nft, false) : 0;
}

static int run_slot(struct bench *b, struct block *k, enum variant v, uint64_t ns)
{
	struct worker *w = &b->worker[k->caller];
	bool want = v == V_NFT || v == V_BOTH, changed = want != b->nft.active;
	int err = 0;

	if (k->nft)
		err = nftlayer_set_active(&b->nft, want);
	else if (changed)
		err = nft_quiet(b);
	if (!err)
		err = variant_enter(b, w, v);
	if (!err && changed)
		err = worker_run(w, k->n, NFT_SETTLE_NS);
	if (!err)
		err = worker_run(w, k->n, ns);
	return err;
}

static double quantile_sorted(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;

	if (!n)
		return NAN;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

void block_summarize(struct block *k)
{
	double values[BENCH_MAX_ROUNDS], ratios[BENCH_MAX_ROUNDS];
	unsigned int i, r;
	enum variant v;
	int m;

	for (i = 0; i < k->nvariants; i++) {
		v = k->v[i];
		for (m = 0; m < M_COUNT; m++) {
			for (r = 0; r < k->rounds; r++) {
				double base = k->val[r][V_BASE].m[m];

				values[r] = k->val[r][v].m[m];
				ratios[r] = base > 0 ? values[r] / base : NAN;
			}
			k->value[v][m] = median(values, k->rounds);
			k->ratio[v][m] = median(ratios, k->rounds); /* sorts ratios */
			k->ratio_q1[v][m] = quantile_sorted(ratios, k->rounds, 0.25);
			k->ratio_q3[v][m] = quantile_sorted(ratios, k->rounds, 0.75);
		}
	}
}

/* Close round r: each variant's throughput and pooled latency percentiles. */
static void finish_round(struct bench *b, struct block *k, unsigned int r,
			 struct round_acc acc[V_COUNT])
{
	unsigned int i;

	for (i = 0; i < k->nvariants; i++) {
		enum variant v = k->v[i];
		struct sample_pool *pool = &b->pool[v];
		struct round_value *val = &k->val[r][v];

		val->m[M_TPUT] = acc[v].slots ? acc[v].tput_sum / acc[v].slots : 0;
		sort_u32(pool->v, pool->n);
		val->m[M_P50] = percentile_sorted(pool->v, pool->n, 50);
		val->m[M_P99] = percentile_sorted(pool->v, pool->n, 99);
		if (b->opt.verbose)
			fprintf(stderr, "  round %3u %-20s %8.0f conn/s p50 %6.0f p99 %6.0f ns\n",
				r, variant_names[v], val->m[M_TPUT], val->m[M_P50], val->m[M_P99]);
		pool->n = 0;
	}
}

void block_init(struct block *k, enum caller c, unsigned int n, size_t listeners,
		unsigned int extra)
{
	int v;

	memset(k, 0, sizeof(*k));
	k->caller = c;
	k->n = n;
	k->listeners = listeners;
	k->v[k->nvariants++] = V_BASE;
	k->v[k->nvariants++] = V_NULL;
	for (v = V_NULL + 1; v < V_COUNT; v++)
		if (extra & (1u << v))
			k->v[k->nvariants++] = (enum variant)v;
	k->nft = extra & (1u << V_NFT | 1u << V_BOTH);
}

int block_warm_up(struct bench *b, struct block *k)
{
	unsigned int i, cycle;
	int err;

	for (cycle = 0; cycle < 4; cycle++) {
		for (i = 0; i < k->nvariants; i++) {
			err = run_slot(b, k, k->v[i], slot_ns(b));
			if (err)
				return err;
		}
	}
	return 0;
}

int block_run_round(struct bench *b, struct block *k)
{
	struct round_acc acc[V_COUNT];
	enum variant order[2 * V_COUNT];
	unsigned int i, cycle, nv = k->nvariants, r = k->rounds;
	int err;

	if (r >= BENCH_MAX_ROUNDS)
		return -E2BIG;
	memset(acc, 0, sizeof(acc));
	for (cycle = 0; cycle < b->opt.cycles; cycle++) {
		/* Rotate the first variant every cycle, then go back: A B C D D C B A. */
		for (i = 0; i < nv; i++) {
			order[i] = k->v[(i + r * b->opt.cycles + cycle) % nv];
			order[2 * nv - 1 - i] = order[i];
		}
		for (i = 0; i < 2 * nv; i++) {
			err = run_slot(b, k, order[i], slot_ns(b));
			if (err)
				return err;
			collect_slot(b, k, order[i], &acc[order[i]]);
		}
	}
	finish_round(b, k, r, acc);
	k->rounds++;
	return 0;
}

/*
 * tg_connect4's and tg_syn_in's ns per call and those of the empty programs of the same types, on
 * the same connects: all four are attached to the guard cgroup while stats are on, and both the
 * connector and the listener it reaches are in that cgroup, so each packet runs both ingress
 * programs and each connect both connect4 programs.
 */
static int cost_slot(struct bench *b, enum caller c, struct cost *out)
{
	struct prog_run p0, p1, e0, e1, s0, s1, i0, i1;
	struct worker *w = &b->worker[c];
	int efd = empty_prog_fd(b->empty), ifd = empty_prog_ingress_fd(b->empty);
	unsigned int r = out->rounds;
	uint64_t connects;
	int err;

	if (r >= BENCH_MAX_ROUNDS)
		return -E2BIG;
	err = variant_enter(b, w, V_GUARD);
	if (!err)
		err = worker_run(w, 1, slot_ns(b)); /* warm-up after the move */
	if (!err)
		err = prog_run_read(b->guard_prog_fd, &p0);
	if (!err)
		err = prog_run_read(efd, &e0);
	if (!err)
		err = prog_run_read(b->guard_syn_fd, &s0);
	if (!err)
		err = prog_run_read(ifd, &i0);
	if (!err)
		err = worker_run(w, 1, cost_slot_ns(b));
	if (!err)
		err = prog_run_read(b->guard_prog_fd, &p1);
	if (!err)
		err = prog_run_read(efd, &e1);
	if (!err)
		err = prog_run_read(b->guard_syn_fd, &s1);
	if (!err)
		err = prog_run_read(ifd, &i1);
	if (err)
		return err;
	connects = w->shm->conn[0].connects;
	if (p1.run_cnt == p0.run_cnt || e1.run_cnt == e0.run_cnt || s1.run_cnt == s0.run_cnt ||
	    i1.run_cnt == i0.run_cnt || !connects) {
		fprintf(stderr, "tg-bench: BPF stats counted no call: are the programs "
				"attached?\n");
		return -ENODATA;
	}
	if (p1.run_cnt - p0.run_cnt != e1.run_cnt - e0.run_cnt)
		out->counts_differ = true;
	if (s1.run_cnt - s0.run_cnt != i1.run_cnt - i0.run_cnt)
		out->syn_counts_differ = true;
	out->prog[r] =
		(double)(p1.run_time_ns - p0.run_time_ns) / (double)(p1.run_cnt - p0.run_cnt);
	out->empty[r] =
		(double)(e1.run_time_ns - e0.run_time_ns) / (double)(e1.run_cnt - e0.run_cnt);
	out->syn[r] = (double)(s1.run_time_ns - s0.run_time_ns) / (double)(s1.run_cnt - s0.run_cnt);
	out->syn_empty[r] =
		(double)(i1.run_time_ns - i0.run_time_ns) / (double)(i1.run_cnt - i0.run_cnt);
	out->syn_calls[r] = (double)(s1.run_cnt - s0.run_cnt) / (double)connects;
	out->calls += p1.run_cnt - p0.run_cnt;
	out->rounds++;
	return 0;
}

int cost_run_round(struct bench *b, struct cost out[CALLER_COUNT])
{
	int err, c;

	err = nft_quiet(b);
	if (!err)
		err = empty_prog_attach(b->empty, 1, b->cgroup[V_GUARD]);
	if (!err)
		err = empty_prog_attach_ingress(b->empty, b->cgroup[V_GUARD]);
	if (!err)
		err = stats_enable(&b->stats);
	for (c = 0; !err && c < CALLER_COUNT; c++)
		err = cost_slot(b, c, &out[c]);
	stats_restore(&b->stats);
	empty_prog_detach_ingress(b->empty);
	empty_prog_detach(b->empty, 1);
	return err;
}

void cost_summarize(struct cost *c)
{
	double prog[BENCH_MAX_ROUNDS], empty[BENCH_MAX_ROUNDS], own[BENCH_MAX_ROUNDS];
	unsigned int r;

	for (r = 0; r < c->rounds; r++) {
		prog[r] = c->prog[r];
		empty[r] = c->empty[r];
		own[r] = c->prog[r] - c->empty[r];
	}
	c->prog_ns = median(prog, c->rounds);
	c->empty_ns = median(empty, c->rounds);
	c->own_ns = median(own, c->rounds);
	c->own_q1 = quantile_sorted(own, c->rounds, 0.25);
	c->own_q3 = quantile_sorted(own, c->rounds, 0.75);

	for (r = 0; r < c->rounds; r++) {
		prog[r] = c->syn[r];
		empty[r] = c->syn_empty[r];
		own[r] = c->syn[r] - c->syn_empty[r];
	}
	c->syn_ns = median(prog, c->rounds);
	c->syn_empty_ns = median(empty, c->rounds);
	c->syn_own_ns = median(own, c->rounds);
	c->syn_own_q1 = quantile_sorted(own, c->rounds, 0.25);
	c->syn_own_q3 = quantile_sorted(own, c->rounds, 0.75);
	for (r = 0; r < c->rounds; r++) {
		prog[r] = c->syn_calls[r];
		own[r] = (c->syn[r] - c->syn_empty[r]) * c->syn_calls[r];
	}
	c->syn_per_connect = median(prog, c->rounds);
	c->syn_own_per_connect = median(own, c->rounds);
}

static int run_cli(struct bench *b, const char *verb, const char *config, double *ms)
{
	char *load[] = { (char *)b->opt.tunnelguard,
			 "load",
			 "-c",
			 (char *)config,
			 "--pin-dir",
			 b->pin_dir,
			 "--cgroup",
			 b->cgroup[V_GUARD],
			 NULL };
	char *unload[] = { (char *)b->opt.tunnelguard, "unload", "--pin-dir", b->pin_dir, NULL };
	char out[4096];
	uint64_t elapsed;
	int rc;

	rc = run_command(strcmp(verb, "load") == 0 ? load : unload, &elapsed, out, sizeof(out));
	if (rc) {
		fprintf(stderr, "tg-bench: tunnelguard %s failed (%d):\n%s", verb, rc, out);
		return rc < 0 ? rc : -EIO;
	}
	if (ms)
		*ms = (double)elapsed / 1e6;
	return 0;
}

/* `tunnelguard load` fresh (after an unload) and over a loaded guard; leaves the guard loaded. */
int measure_control_plane(struct bench *b)
{
	double fresh[CONTROL_PLANE_REPEAT], swap[CONTROL_PLANE_REPEAT];
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < CONTROL_PLANE_REPEAT; i++) {
		if (i)
			err = run_cli(b, "unload", NULL, NULL);
		if (!err)
			err = run_cli(b, "load", b->config, &fresh[i]);
		if (!err && bench_stop)
			err = -EINTR;
	}
	for (i = 0; !err && i < CONTROL_PLANE_REPEAT; i++) {
		err = run_cli(b, "load", b->config, &swap[i]);
		if (!err && bench_stop)
			err = -EINTR;
	}
	if (err)
		return err;
	for (i = 0; i < CONTROL_PLANE_REPEAT; i++) {
		b->load_ms_all[i] = fresh[i];
		b->swap_ms_all[i] = swap[i];
	}
	b->nloads = CONTROL_PLANE_REPEAT;
	b->load_ms = median(fresh, CONTROL_PLANE_REPEAT);
	b->swap_ms = median(swap, CONTROL_PLANE_REPEAT);
	return 0;
}

int nft_put_up(struct bench *b)
{
	int err;

	progress(b,
		 "nft layer: `tunnelguard load` with both layers, then the table made dormant\n");
	err = run_cli(b, "load", b->config_both, &b->nftres.load_both_ms);
	if (err)
		return err;
	b->nft.active = true; /* a new table is hooked */
	return nft_quiet(b);
}
