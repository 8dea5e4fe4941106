// SPDX-License-Identifier: GPL-2.0-only
/*
 * scale.c - the guard with many tenants (scale.h): part 5's throughput and own cost at 10 to
 * 100,000 tenants, and part 4's control plane at 50,000 [tenant] sections and 100,000 tenant uids.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util.h"

/* Part 5: reserved ports below the ephemeral range (the workers' listeners) and part 3's
 * 40000-40099; tenants beyond TENANT_SECTIONS_MAX are tenant uids without a section. */
#define TENANT_FIRST_PORT   1024
#define TENANT_SECTIONS_MAX 30000
#define TENANT_VISITS	    2 /* up and back down */
/* Part 4 at scale, as issue 16 asks: ports 10000 + i, and every 3rd uid. */
#define CONTROL_SECTIONS   50000
#define CONTROL_FIRST_PORT 10000
#define CONTROL_UIDS	   100000
#define CONTROL_UID_STEP   3
#define RSS_POLL_NS	   100000000ull
#define RSS_SETTLED_POLLS  10		  /* unchanged for 1 s */
#define RSS_DEADLINE_NS	   20000000000ull /* 20 s */
#define CLI_OUT_LEN	   (64 * 1024)

/* The temp dir of the configs: /tmp/tg-bench-<pid>.scale, removed by scale_remove_dir(). */
static int config_path(char *buf, size_t len, const char *name)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/" BENCH_PREFIX "%d.scale", getpid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(buf, len, "%s/%s", dir, name);
	return 0;
}

/*
 * A config of the workers' tenant-uids, sections [tenant tNNNNN] (user SCALE_FIRST_UID + i, one
 * port first_port + i) for i < nsections, and nuids more tenant uids listed one by one
 * (SCALE_FIRST_UID + step * j, after the sections' uids). 0 or -errno; *kib its size.
 */
static int write_tenants(const char *path, const char *workers, size_t nsections,
			 unsigned int first_port, size_t nuids, unsigned int step, double *kib)
{
	uint32_t first_listed = SCALE_FIRST_UID + (uint32_t)nsections;
	FILE *f = fopen(path, "we");
	struct stat st;
	size_t i;

	if (!f)
		return -errno;
	fprintf(f, "# tg-bench: %zu synthetic tenants (%zu with a [tenant] section)\n",
		nsections + nuids, nsections);
	if (workers || nuids)
		fprintf(f, "tenant-uids = %s", workers ? workers : "");
	for (i = 0; i < nuids; i++)
		fprintf(f, "%s%u", i || workers ? ", " : "", first_listed + (uint32_t)(step * i));
	fprintf(f, "%slayers = %s\n", workers || nuids ? "\n" : "", workers ? "bpf" : "bpf nft");
	for (i = 0; i < nsections; i++)
		fprintf(f, "\n[tenant t%05zu]\nuser = %u\nports = %zu\n", i,
			SCALE_FIRST_UID + (uint32_t)i, first_port + i);
	if (fclose(f))
		return -errno;
	if (stat(path, &st) == 0)
		*kib = (double)st.st_size / 1024;
	return 0;
}

void scale_remove_dir(pid_t pid)
{
	char dir[64], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/tmp/" BENCH_PREFIX "%d.scale", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

/* "not run: <the first line of out that is not a warning>", the config's dir left out. */
static void not_run(char *buf, size_t len, const char *out, int rc)
{
	const char *line = out, *end, *slash;

	while (*line) {
		end = strchrnul(line, '\n');
		if (end > line && !memmem(line, (size_t)(end - line), "warning", 7))
			break;
		line = *end ? end + 1 : end;
	}
	end = strchrnul(line, '\n');
	slash = memmem(line, (size_t)(end - line), ".scale/", 7);
	if (slash)
		line = slash + 7;
	if (end > line)
		snprintf(buf, len, "not run: %.*s", (int)(end - line), line);
	else
		snprintf(buf, len, "not run: exit status %d, no message", rc);
}

static int visit_tenants(struct bench *b, size_t i, unsigned int rounds)
{
	unsigned int r;
	int c, err = 0;

	for (r = 0; !err && r < rounds; r++) {
		for (c = 0; !err && c < CALLER_COUNT; c++) {
			struct block *k = &b->tenant_scale[i][c];

			if (!k->rounds)
				err = block_warm_up(b, k);
			if (!err)
				err = block_run_round(b, k);
		}
		if (!err)
			err = cost_run_round(b, b->cost5[i]);
	}
	return err;
}

/* Swap the guard to counts[i] tenants; a refusal is recorded, not an error. 1 if loaded. */
static int load_tenants(struct bench *b, const size_t *counts, size_t i, const char *path)
{
	static char out[CLI_OUT_LEN];
	size_t n = counts[i], sections = n < TENANT_SECTIONS_MAX ? n : TENANT_SECTIONS_MAX;
	double kib = 0;
	int err;

	err = write_tenants(path, "3001-3004", sections, TENANT_FIRST_PORT, n - sections,
			    CONTROL_UID_STEP, &kib);
	if (err)
		return err;
	err = bench_load(b, path, &b->tenant_load_ms[i], out, sizeof(out));
	if (err == -EIO) {
		not_run(b->tenant_skipped[i], sizeof(b->tenant_skipped[i]), out, 1);
		fprintf(stderr, "tg-bench: %zu tenants: %s\n", n, b->tenant_skipped[i]);
		return 0;
	}
	if (!err)
		err = open_guard_progs(b);
	return err ? err : 1;
}

int measure_tenant_scale(struct bench *b, const size_t *counts, size_t npoints)
{
	unsigned int rounds = b->opt.scale_rounds / 6 ? b->opt.scale_rounds / 6 : 1;
	char path[PATH_MAX];
	size_t i, s;
	int c, err;

	err = config_path(path, sizeof(path), "tenants.conf");
	if (err)
		return err;
	for (i = 0; i < npoints; i++) {
		b->tenants[i] = counts[i];
		for (c = 0; c < CALLER_COUNT; c++)
			block_init(&b->tenant_scale[i][c], c, 1, counts[i], 1u << V_GUARD);
	}
	/* 10, 1000, 100000, 100000, 1000, 10: drift weighs on each count alike. */
	for (s = 0; !err && s < TENANT_VISITS * npoints; s++) {
		i = s < npoints ? s : TENANT_VISITS * npoints - 1 - s;
		if (b->tenant_skipped[i][0])
			continue;
		progress(b, "part 5: %zu tenants in the config, %u rounds\n", counts[i], rounds);
		err = load_tenants(b, counts, i, path);
		if (err > 0)
			err = visit_tenants(b, i, rounds);
	}
	for (i = 0; !err && i < npoints; i++)
		for (c = 0; c < CALLER_COUNT; c++)
			if (!b->tenant_skipped[i][0]) {
				block_summarize(&b->tenant_scale[i][c]);
				cost_summarize(&b->cost5[i][c]);
			}
	return err;
}

static int run_timed(char *const argv[], double *ms, char *out, size_t len)
{
	uint64_t ns = 0;
	int rc = run_command(argv, &ns, out, len);

	*ms = (double)ns / 1e6;
	return rc;
}

static long read_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* `tunnelguard daemon` with config, until its RSS has not changed for a second: that RSS. */
static void measure_daemon_rss(struct bench *b, const char *config, struct scale_case *sc)
{
	const struct timespec poll = { .tv_nsec = RSS_POLL_NS };
	char *argv[] = { (char *)b->opt.tunnelguard,
			 "daemon",
			 "-c",
			 (char *)config,
			 "--pin-dir",
			 b->pin_dir,
			 "--cgroup",
			 b->cgroup[V_GUARD],
			 NULL };
	uint64_t start = now_ns();
	unsigned int same = 0;
	long rss = 0, last = -1;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(sc->rss_skipped, sizeof(sc->rss_skipped), "not run: fork: %s",
			 strerror(errno));
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	while (same < RSS_SETTLED_POLLS && now_ns() - start < RSS_DEADLINE_NS && !bench_stop) {
		nanosleep(&poll, NULL);
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			snprintf(sc->rss_skipped, sizeof(sc->rss_skipped),
				 "not run: the daemon exited (last RSS %ld KiB)", rss);
			return;
		}
		rss = read_rss_kib(pid);
		same = rss == last ? same + 1 : 0;
		last = rss;
	}
	sc->rss_kib = rss;
	if (same < RSS_SETTLED_POLLS)
		snprintf(sc->rss_skipped, sizeof(sc->rss_skipped), "still changing after %.0f s",
			 RSS_DEADLINE_NS / 1e9);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* load fresh, load over itself, status, check and the daemon's RSS for one config. check_flag is
 * --bind (check_addr NULL) or --port (a connect to check_addr). */
static int measure_case(struct bench *b, const char *path, const char *check_uid,
			const char *check_flag, const char *check_port, const char *check_addr,
			struct scale_case *sc)
{
	static char out[CLI_OUT_LEN];
	char *unload[] = { (char *)b->opt.tunnelguard, "unload", "--pin-dir", b->pin_dir, NULL };
	char *status[] = { (char *)b->opt.tunnelguard,
			   "status",
			   "-c",
			   (char *)path,
			   "--pin-dir",
			   b->pin_dir,
			   NULL };
	char *check[] = { (char *)b->opt.tunnelguard,
			  "check",
			  "-c",
			  (char *)path,
			  "--pin-dir",
			  b->pin_dir,
			  "--uid",
			  (char *)check_uid,
			  (char *)check_flag,
			  (char *)check_port,
			  check_addr ? "--addr" : NULL,
			  (char *)check_addr,
			  NULL };
	double ms[SCALE_CHECK_REPEAT];
	unsigned int i;
	int err, rc = 0;

	run_timed(unload, &ms[0], out, sizeof(out)); /* the previous case's guard, if any */
	err = bench_load(b, path, &sc->load_ms, out, sizeof(out));
	if (!err)
		err = bench_load(b, path, &sc->swap_ms, out, sizeof(out));
	if (err == -EIO) {
		not_run(sc->skipped, sizeof(sc->skipped), out, 1);
		fprintf(stderr, "tg-bench: %s: %s\n", sc->what, sc->skipped);
		return 0;
	}
	if (err)
		return err;
	for (i = 0; i < SCALE_STATUS_REPEAT; i++)
		rc = run_timed(status, &ms[i], out, sizeof(out));
	qsort(ms, SCALE_STATUS_REPEAT, sizeof(ms[0]), cmp_double);
	sc->status_ms = ms[SCALE_STATUS_REPEAT / 2];
	if (rc)
		snprintf(sc->check_answer, sizeof(sc->check_answer), "status exit %d", rc);
	for (i = 0; i < SCALE_CHECK_REPEAT; i++)
		rc = run_timed(check, &ms[i], out, sizeof(out));
	qsort(ms, SCALE_CHECK_REPEAT, sizeof(ms[0]), cmp_double);
	sc->check_ms = ms[SCALE_CHECK_REPEAT / 2];
	sc->checks = SCALE_CHECK_REPEAT;
	if (!sc->check_answer[0])
		snprintf(sc->check_answer, sizeof(sc->check_answer), "%s",
			 rc == 0   ? "allow"
			 : rc == 1 ? "deny"
				   : "error");
	else if (rc > 1)
		snprintf(sc->check_answer, sizeof(sc->check_answer), "check exit %d", rc);
	measure_daemon_rss(b, path, sc);
	return 0;
}

int measure_control_scale(struct bench *b)
{
	struct scale_results *res = &b->control;
	char path[PATH_MAX], uid[16], port[16];
	int err;

	progress(b, "part 4 at scale: %d [tenant] sections, then %d tenant uids\n",
		 CONTROL_SECTIONS, CONTROL_UIDS);
	res->c[0].what = "50,000 [tenant] sections";
	res->c[0].tenants = CONTROL_SECTIONS;
	res->c[1].what = "100,000 tenant uids";
	res->c[1].tenants = CONTROL_UIDS;
	err = config_path(path, sizeof(path), "sections.conf");
	if (!err)
		err = write_tenants(path, NULL, CONTROL_SECTIONS, CONTROL_FIRST_PORT, 0, 1,
				    &res->c[0].config_kib);
	/* Tenant 7 binding tenant 8's port: a reservation lookup, refused. */
	snprintf(uid, sizeof(uid), "%u", SCALE_FIRST_UID + 7);
	snprintf(port, sizeof(port), "%u", CONTROL_FIRST_PORT + 8);
	if (!err)
		err = measure_case(b, path, uid, "--bind", port, NULL, &res->c[0]);
	if (!err)
		err = config_path(path, sizeof(path), "uids.conf");
	if (!err)
		err = write_tenants(path, NULL, 0, 0, CONTROL_UIDS, CONTROL_UID_STEP,
				    &res->c[1].config_kib);
	/* A listed tenant's connect to a port nobody reserved. */
	snprintf(uid, sizeof(uid), "%u", SCALE_FIRST_UID + CONTROL_UID_STEP * 777);
	if (!err)
		err = measure_case(b, path, uid, "--port", "22", "127.0.0.1", &res->c[1]);
	return err;
}
