// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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
	[V_NFT_EMPTY] = "empty nft output chain",
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
	int err = b->nft.active ? nftlayer_set_active(&b->nft, false) : 0;

	if (!err && b->nft.empty_active)
		err = nftlayer_set_empty_active(&b->nft, false);
	return err;
}

int in_guard_cgroup(struct bench *b, int (*fn)(struct bench *b, void *arg), void *arg)
{
	char home[PATH_MAX];
	int err = cgroups_current(home, sizeof(home)), ret;

	if (!err)
		err = cgroups_move(b->cgroup[V_GUARD], getpid());
	if (err) {
		fprintf(stderr, "tg-bench: cannot move the benchmark into %s: %s\n",
			b->cgroup[V_GUARD], strerror(-err));
		return err;
	}
	ret = fn(b, arg);
	err = cgroups_move(home, getpid());
	if (err)
		fprintf(stderr, "tg-bench: cannot move the benchmark back into %s: %s\n", home,
			strerror(-err));
	return ret ? ret : err;
}

int variant_apply(struct bench *b, enum variant v, bool every_flag, bool *changed)
{
	bool nft = v == V_NFT || v == V_BOTH, nft_empty = v == V_NFT_EMPTY;
	int err = 0;

	*changed = nft != b->nft.active || nft_empty != b->nft.empty_active;
	if (every_flag || nft != b->nft.active)
		err = nftlayer_set_active(&b->nft, nft);
	if (!err && (every_flag || nft_empty != b->nft.empty_active))
		err = nftlayer_set_empty_active(&b->nft, nft_empty);
	return err;
}

static int run_slot(struct bench *b, struct block *k, enum variant v, uint64_t ns)
{
	struct worker *w = &b->worker[k->caller];
	bool changed;
	int err;

	err = variant_apply(b, v, k->nft, &changed);
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
	k->nft = extra & (1u << V_NFT | 1u << V_NFT_EMPTY | 1u << V_BOTH);
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

/* The guard's program of each kind beside its empty twin. */
static void cost_fds(const struct bench *b, int prog[PK_COUNT], int empty[PK_COUNT])
{
	memcpy(prog, b->guard_fd, sizeof(b->guard_fd));
	empty[PK_CONNECT4] = empty_prog_fd(b->empty);
	empty[PK_SYN_IN] = empty_prog_ingress_fd(b->empty);
	empty[PK_SYN_OUT] = empty_prog_egress_fd(b->empty);
	empty[PK_RELEASE] = empty_prog_release_fd(b->empty);
}

static int read_runs(const int fd[PK_COUNT], struct prog_run out[PK_COUNT])
{
	int i, err = 0;

	for (i = 0; !err && i < PK_COUNT; i++)
		err = prog_run_read(fd[i], &out[i]);
	return err;
}

/*
 * The ns per call of the guard's programs and of their empty twins, on the same connects: all
 * are attached to the guard cgroup while stats are on, and both the connector and the listener it
 * reaches are in that cgroup, so each packet runs both ingress or both egress programs, each
 * connect both connect4 programs and each socket's close (the connector's, the accepted one's)
 * both sock_release programs.
 */
static int cost_slot(struct bench *b, enum caller c, struct cost *out)
{
	struct prog_run p0[PK_COUNT], p1[PK_COUNT], e0[PK_COUNT], e1[PK_COUNT];
	int prog_fd[PK_COUNT], empty_fd[PK_COUNT], i;
	struct worker *w = &b->worker[c];
	unsigned int r = out->rounds;
	uint64_t connects;
	int err;

	if (r >= BENCH_MAX_ROUNDS)
		return -E2BIG;
	cost_fds(b, prog_fd, empty_fd);
	err = variant_enter(b, w, V_GUARD);
	if (!err)
		err = worker_run(w, 1, slot_ns(b)); /* warm-up after the move */
	if (!err)
		err = read_runs(prog_fd, p0);
	if (!err)
		err = read_runs(empty_fd, e0);
	if (!err)
		err = worker_run(w, 1, cost_slot_ns(b));
	if (!err)
		err = read_runs(prog_fd, p1);
	if (!err)
		err = read_runs(empty_fd, e1);
	if (err)
		return err;
	connects = w->shm->conn[0].connects;
	for (i = 0; i < PK_COUNT; i++) {
		struct prog_cost *pc = &out->p[i];
		uint64_t n = p1[i].run_cnt - p0[i].run_cnt, ne = e1[i].run_cnt - e0[i].run_cnt;
		double calls = (double)n;

		if (!n || !ne || !connects) {
			fprintf(stderr,
				"tg-bench: BPF stats counted no call of program kind %d (0 connect4, 1 syn_in, 2 syn_out, 3 sock_release): are the programs attached?\n",
				i);
			return -ENODATA;
		}
		if (n != ne)
			pc->counts_differ = true;
		pc->prog[r] = (double)(p1[i].run_time_ns - p0[i].run_time_ns) / (double)n;
		pc->empty[r] = (double)(e1[i].run_time_ns - e0[i].run_time_ns) / (double)ne;
		pc->calls[r] = calls / (double)connects;
	}
	out->calls += p1[PK_CONNECT4].run_cnt - p0[PK_CONNECT4].run_cnt;
	out->rounds++;
	return 0;
}

int cost_run_round(struct bench *b, struct cost out[CALLER_COUNT])
{
	bool changed;
	int err, c;

	err = variant_apply(b, V_GUARD, false, &changed);
	if (!err)
		err = empty_prog_attach(b->empty, 1, b->cgroup[V_GUARD]);
	if (!err)
		err = empty_prog_attach_ingress(b->empty, b->cgroup[V_GUARD]);
	if (!err)
		err = empty_prog_attach_egress(b->empty, b->cgroup[V_GUARD]);
	if (!err)
		err = empty_prog_attach_release(b->empty, b->cgroup[V_GUARD]);
	if (!err)
		err = stats_enable(&b->stats);
	for (c = 0; !err && c < CALLER_COUNT; c++)
		err = cost_slot(b, c, &out[c]);
	stats_restore(&b->stats);
	empty_prog_detach_release(b->empty);
	empty_prog_detach_egress(b->empty);
	empty_prog_detach_ingress(b->empty);
	empty_prog_detach(b->empty, 1);
	return err;
}

static void prog_cost_summarize(struct prog_cost *pc, unsigned int rounds)
{
	double prog[BENCH_MAX_ROUNDS], empty[BENCH_MAX_ROUNDS], own[BENCH_MAX_ROUNDS];
	unsigned int r;

	for (r = 0; r < rounds; r++) {
		prog[r] = pc->prog[r];
		empty[r] = pc->empty[r];
		own[r] = pc->prog[r] - pc->empty[r];
	}
	pc->prog_ns = median(prog, rounds);
	pc->empty_ns = median(empty, rounds);
	pc->own_ns = median(own, rounds);
	pc->own_q1 = quantile_sorted(own, rounds, 0.25);
	pc->own_q3 = quantile_sorted(own, rounds, 0.75);
	for (r = 0; r < rounds; r++) {
		prog[r] = pc->calls[r];
		own[r] = (pc->prog[r] - pc->empty[r]) * pc->calls[r];
	}
	pc->per_connect = median(prog, rounds);
	pc->own_per_connect = median(own, rounds);
}

void cost_summarize(struct cost *c)
{
	int i;

	for (i = 0; i < PK_COUNT; i++)
		prog_cost_summarize(&c->p[i], c->rounds);
}

/* `tunnelguard VERB [-c config]` on the benchmark's pin dir (load: and guard cgroup), its output
 * in out. 0, the CLI's exit status (> 0), or -errno. */
static int run_cli_out(struct bench *b, const char *verb, const char *config, double *ms, char *out,
		       size_t out_len)
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
	uint64_t elapsed;
	int rc;

	rc = run_command(strcmp(verb, "load") == 0 ? load : unload, &elapsed, out, out_len);
	if (!rc && ms)
		*ms = (double)elapsed / 1e6;
	return rc;
}

static int run_cli(struct bench *b, const char *verb, const char *config, double *ms)
{
	char out[4096];
	int rc = run_cli_out(b, verb, config, ms, out, sizeof(out));

	if (rc) {
		fprintf(stderr, "tg-bench: tunnelguard %s failed (%d):\n%s", verb, rc, out);
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

int bench_load(struct bench *b, const char *config, double *ms, char *out, size_t out_len)
{
	int rc = run_cli_out(b, "load", config, ms, out, out_len);

	if (rc > 0)
		return -EIO;
	return rc;
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
