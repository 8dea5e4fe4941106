// SPDX-License-Identifier: GPL-2.0-only
/*
 * profile.h - where tg_connect4's time goes, from perf samples (bpftool prog profile needs a
 * bpftool built with BPF skeletons, which Debian's is not).
 *
 * While one caller's worker runs in the guard cgroup, `perf record -g` samples cycles on its
 * CPU; every sample of the worker whose stack passes through tg_connect4 is the program's, split
 * into its own instructions (and, of those, the first bytes: the stall fetching its code) and
 * the kernel functions it calls. perf slows the connects down, so the figures are shares of
 * tg_connect4's samples, not times.
 */
#ifndef TG_BENCH_PROFILE_H
#define TG_BENCH_PROFILE_H

#include <stdbool.h>
#include <sys/types.h>

#define PROFILE_TOP 6

struct profile {
	bool done;
	char skipped[96];	      /* why there is no profile, when !done */
	unsigned long worker_samples; /* all kernel samples of the worker */
	unsigned long hook_samples;   /* stacks through __cgroup_bpf_run_filter_sock_addr */
	unsigned long prog_samples;   /* stacks through tg_connect4 */
	unsigned long self_samples;   /* in tg_connect4's own instructions */
	unsigned long entry_samples;  /* of which in its first 16 bytes */
	struct profile_callee {
		char name[48];
		unsigned long samples;
	} top[PROFILE_TOP],	   /* functions tg_connect4 calls, by samples below them */
		leaf[PROFILE_TOP]; /* functions the CPU was in below tg_connect4 */
};

/*
 * Record cpu for record_ms while run(arg) runs, keeping samples of pid only. 0 when a profile
 * was made or skipped (out->skipped says why), -errno only for a stop request.
 */
int profile_run(int cpu, pid_t pid, unsigned int record_ms, int (*run)(void *arg), void *arg,
		struct profile *out);

#endif /* TG_BENCH_PROFILE_H */
