// SPDX-License-Identifier: GPL-2.0-only
/*
 * scale.h - the guard at hub scale: configs of many tenants, written into a temp dir.
 *
 * Part 5 reloads the benchmark's guard with the workers' `tenant-uids = 3001-3004` plus N
 * synthetic tenants, and measures the BPF layer's throughput and own cost at each N. Part 4 at
 * scale times `tunnelguard load` (fresh and over itself), `status` and `check` and reads the
 * RSS of a `tunnelguard daemon` with 50,000 [tenant] sections of one reserved port each, and
 * with 100,000 scattered tenant uids. A config the CLI refuses (a cap of today's code) makes its
 * rows say "not run: <the CLI's first line>", not the benchmark fail.
 *
 * Example of a synthetic tenant (uids from 3000000, which no account uses; checked):
 *	[tenant t00007]
 *	user = 3000007
 *	ports = 10007
 */
#ifndef TG_BENCH_SCALE_H
#define TG_BENCH_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SCALE_FIRST_UID	    3000000u
#define SCALE_LAST_UID	    3300000u /* above every uid the configs use */
#define SCALE_SKIP_LEN	    96
#define SCALE_STATUS_REPEAT 3
#define SCALE_CHECK_REPEAT  21

/* One config's control-plane figures. */
struct scale_case {
	const char *what; /* e.g. "50,000 [tenant] sections, one port each" */
	size_t tenants;
	char skipped[SCALE_SKIP_LEN]; /* "not run: ..." when the CLI refused the config */
	double load_ms, swap_ms, status_ms, check_ms, config_kib;
	unsigned int checks; /* `check` calls timed (check_ms is their median) */
	char check_answer[48];
	long rss_kib; /* VmRSS of the settled daemon; 0 when not read */
	char rss_skipped[SCALE_SKIP_LEN];
};

#define SCALE_CASES 2

struct scale_results {
	struct scale_case c[SCALE_CASES];
};

/* Remove /tmp/tg-bench-<pid>.scale, the configs' temp dir, and what is in it. */
void scale_remove_dir(pid_t pid);

#endif /* TG_BENCH_SCALE_H */
