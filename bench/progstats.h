// SPDX-License-Identifier: GPL-2.0-only
/*
 * progstats.h - kernel BPF run-time statistics, and the empty connect4, cgroup_skb and
 * sock_release programs they are compared against.
 *
 * The kernel counts run_cnt and run_time_ns per program only while stats are enabled. They are
 * enabled with BPF_ENABLE_STATS, whose file descriptor turns them off again when it is closed,
 * also when the benchmark is killed; only a kernel without it falls back to the sysctl
 * kernel.bpf_stats_enabled, restored by stats_restore().
 */
#ifndef TG_BENCH_PROGSTATS_H
#define TG_BENCH_PROGSTATS_H

#include <stdbool.h>
#include <stdint.h>

#define STATS_SWITCH_INIT \
	{                 \
		.fd = -1  \
	}

struct stats_switch {
	int fd;		    /* from bpf_enable_stats(), -1 when not in use */
	bool sysctl_set;    /* we wrote kernel.bpf_stats_enabled ... */
	char sysctl_old[8]; /* ... and this was its value */
};

/* Turn run-time stats on. 0 or -errno, with the reason printed. */
int stats_enable(struct stats_switch *s);

/* Put stats back as they were. Safe to call when stats_enable() was not. */
void stats_restore(struct stats_switch *s);

/* Was kernel.bpf_stats_enabled already 1 (throughput then includes the stats clock)? */
bool stats_sysctl_on(void);

struct prog_run {
	uint64_t run_time_ns;
	uint64_t run_cnt;
};

/* Read the program's counters. 0 or -errno. */
int prog_run_read(int prog_fd, struct prog_run *out);

struct empty_prog;

/* Load the empty program. NULL and errno set on failure, with the reason printed. */
struct empty_prog *empty_prog_load(void);

/* Attach the empty program to the cgroup at path with a new link; slot 0 or 1. 0 or -errno. */
int empty_prog_attach(struct empty_prog *e, unsigned int slot, const char *cgroup);

/* Destroy the link of slot (detaching it); no-op when not attached. */
void empty_prog_detach(struct empty_prog *e, unsigned int slot);

int empty_prog_fd(const struct empty_prog *e);

/* The same for the empty cgroup_skb/ingress program: attach it to cgroup (one link). */
int empty_prog_attach_ingress(struct empty_prog *e, const char *cgroup);
void empty_prog_detach_ingress(struct empty_prog *e);
int empty_prog_ingress_fd(const struct empty_prog *e);

/*
 * The floor of the BPF layer: the empty connect4, ingress, egress and sock_release programs all
 * attached to cgroup (links kept until empty_prog_destroy()). 0 or -errno.
 */
int empty_prog_attach_floor(struct empty_prog *e, const char *cgroup);
int empty_prog_egress_fd(const struct empty_prog *e);

/* The same for the empty cgroup/sock_release program. */
int empty_prog_attach_release(struct empty_prog *e, const char *cgroup);
void empty_prog_detach_release(struct empty_prog *e);
int empty_prog_release_fd(const struct empty_prog *e);

/* Attach the empty cgroup_skb/egress program to cgroup (one link), and detach it. */
int empty_prog_attach_egress(struct empty_prog *e, const char *cgroup);
void empty_prog_detach_egress(struct empty_prog *e);

/* Detach everything and unload. NULL is fine. */
void empty_prog_destroy(struct empty_prog *e);

#endif /* TG_BENCH_PROGSTATS_H */
