// SPDX-License-Identifier: GPL-2.0-only
/* util.h - clocks, order statistics, the stop flag and running the CLI, for the benchmark. */
#ifndef TG_BENCH_UTIL_H
#define TG_BENCH_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set by SIGINT, SIGTERM, SIGHUP or SIGALRM (the time limit): every loop of the benchmark stops and
 * cleans up. */
extern volatile sig_atomic_t bench_stop;

/* Install the handlers that set bench_stop (no SA_RESTART, so blocking calls return EINTR). */
int bench_catch_signals(void);

uint64_t now_ns(void);

/* Median of n values; reorders v. NaN when n is 0. */
double median(double *v, size_t n);

/* The p-th percentile (0..100, nearest rank) of n samples; sorts v. 0 when n is 0. */
uint32_t percentile_sorted(const uint32_t *v, size_t n, double p);
void sort_u32(uint32_t *v, size_t n);

/*
 * Run argv (argv[0] a path) in its own process group, so that a Ctrl-C lets it finish instead of
 * killing it half-way, with stdout and stderr captured into out (NUL-terminated, truncated).
 * Returns its exit status, or -errno when it could not be run; *elapsed_ns is the wall time from
 * fork to reaping it.
 */
int run_command(char *const argv[], uint64_t *elapsed_ns, char *out, size_t out_len);

/* Is pid a live (not zombie) tg-bench process? Decides whether its leftovers may be swept. */
bool bench_pid_alive(long pid);

/* Write text to an existing file such as a cgroup or sysctl file. 0 or -errno. */
int write_text(const char *path, const char *text);

/* Read the first line of a file into buf without its newline. 0 or -errno. */
int read_line(const char *path, char *buf, size_t len);

#endif /* TG_BENCH_UTIL_H */
