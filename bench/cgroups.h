// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroups.h - the benchmark's throwaway cgroups.
 *
 * One parent, <cgroup2 root>/tg-bench-<pid>, holds a child per configuration (e.g. "base",
 * "guard"). A worker process is moved between them by writing its pid to cgroup.procs: the
 * connect hooks run for sockets created after the move, so alternating configurations costs one
 * write, and no program is loaded or unloaded between rounds.
 */
#ifndef TG_BENCH_CGROUPS_H
#define TG_BENCH_CGROUPS_H

#include <limits.h>
#include <sys/types.h>

#define BENCH_PREFIX "tg-bench-"

struct bench_cgroups {
	char parent[PATH_MAX / 2]; /* <cgroup2 root>/tg-bench-<pid>; "" until created */
};

/* Create the parent cgroup. 0 or -errno, with the reason printed. */
int cgroups_create(struct bench_cgroups *cg);

/* Create child name under the parent and write its path into path. 0 or -errno. */
int cgroups_add(struct bench_cgroups *cg, const char *name, char *path, size_t len);

/* The full path of the calling process's cgroup v2 cgroup, e.g. "<cgroup2 root>/user.slice". 0
 * or -errno. */
int cgroups_current(char *path, size_t len);

/* Move every thread of pid into the cgroup at path. 0 or -errno. */
int cgroups_move(const char *path, pid_t pid);

/* Remove the children and the parent (they must hold no process). 0 or -errno. */
int cgroups_remove(struct bench_cgroups *cg);

/* Remove tg-bench-<pid> cgroups whose process is gone (left by a benchmark that was killed). */
void cgroups_sweep(void);

#endif /* TG_BENCH_CGROUPS_H */
