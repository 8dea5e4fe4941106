// SPDX-License-Identifier: GPL-2.0-only
/*
 * worker.h - a forked process of connector/acceptor pairs running as one uid.
 *
 * The process drops to its uid with setresuid() before it creates anything, so its listeners
 * are owned by that uid ("own port" for a tenant) and its connects are judged as that uid. Pair
 * i is a connector thread and, per listener set, a listener on 127.0.0.1 with its acceptor
 * thread, all pinned to the i-th allowed CPU. A socket stays in the cgroup it was created in, and
 * cgroup ingress programs run for the receiving socket's cgroup, so the parent opens one listener
 * set in each cgroup it measures (worker_listen()) and each slot connects to the set of the
 * cgroup the process is in. The parent moves the whole process between cgroups and runs timed
 * slots; results come back through shared memory.
 */
#ifndef TG_BENCH_WORKER_H
#define TG_BENCH_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#define WORKER_MAX_PAIRS   2
#define WORKER_MAX_SETS	   10	      /* listener sets, one per cgroup measured */
#define WORKER_MAX_SAMPLES (1u << 17) /* latency samples kept per connector per slot */

/* What one connector did in the last slot. */
struct connector_result {
	uint64_t connects;   /* connect() calls that succeeded */
	uint64_t errors;     /* socket() or connect() failures */
	int first_errno;     /* errno of the first failure, 0 if none */
	uint64_t elapsed_ns; /* from the slot's start to the end of the last connect+close */
	uint32_t nsamples;   /* connect() latencies kept, at most WORKER_MAX_SAMPLES */
	uint32_t samples[WORKER_MAX_SAMPLES];
};

struct worker_shared {
	struct connector_result conn[WORKER_MAX_PAIRS];
};

struct worker {
	pid_t pid; /* 0 when not running */
	uid_t uid;
	int cmd_fd;	  /* parent writes commands */
	int ack_fd;	  /* worker answers each command */
	unsigned int set; /* the listener set worker_run()'s connectors connect to */
	struct worker_shared *shm;
};

/*
 * Fork a worker that runs as uid (and gid uid, no supplementary groups) with WORKER_MAX_PAIRS
 * pairs on the given CPUs (cpus[i % ncpus]). 0 or -errno, with the reason printed.
 */
int worker_start(struct worker *w, uid_t uid, const int *cpus, unsigned int ncpus);

/*
 * Open listener set (< WORKER_MAX_SETS) for every pair, in the cgroup the worker is in now, and
 * start its acceptors. 0 or -errno.
 */
int worker_listen(struct worker *w, unsigned int set);

/*
 * Run connectors 0..n-1 against listener set w->set for duration_ns and wait for them; results are
 * in w->shm->conn[]. 0, -EINTR when a stop was requested, or -EIO when the worker died.
 */
int worker_run(struct worker *w, unsigned int n, uint64_t duration_ns);

/* Kill the worker (if running) and reap it. */
void worker_stop(struct worker *w);

#endif /* TG_BENCH_WORKER_H */
