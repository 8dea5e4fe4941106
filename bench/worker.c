// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "worker.h"

/*
 * A connector yields to its acceptor when this many of its connections wait in the accept queue,
 * and the acceptor is SCHED_BATCH, so it never preempts the connector on wakeup: the two take
 * turns in batches, a connect() is timed without an accept() inside it, and the queue never
 * overflows (an overflow drops a SYN: a 1 s retransmit).
 */
#define ACCEPT_SLACK   64
#define LISTEN_BACKLOG 4096

enum worker_op {
	WORKER_RUN = 1,
	WORKER_LISTEN,
};

struct worker_cmd {
	uint32_t op;
	uint32_t n;
	uint32_t set;
	uint32_t pad;
	uint64_t duration_ns;
};

/* A connector and its listeners (one per set) with their acceptors; in the worker process only. */
struct pair {
	unsigned int index;
	int cpu;
	int listen_fd[WORKER_MAX_SETS]; /* -1 until the set is opened */
	struct sockaddr_in addr[WORKER_MAX_SETS];
	uint64_t connected; /* by the connector, over the worker's life */
	uint64_t accepted;  /* by the acceptors (only one set is in use at a time) */
};

/* What one acceptor thread serves. */
struct acceptor {
	struct pair *pair;
	int listen_fd;
};

/* The worker process's state; the parent never touches it. */
static struct {
	struct pair pairs[WORKER_MAX_PAIRS];
	struct acceptor acceptors[WORKER_MAX_PAIRS][WORKER_MAX_SETS];
	pthread_barrier_t start, done;
	unsigned int active, set;
	uint64_t duration_ns;
	struct worker_shared *shm;
} wk;

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void note_error(struct connector_result *r, int err)
{
	if (!r->errors++)
		r->first_errno = err;
}

/* Yield to the acceptor until at most slack connections wait (bounded: 1 s past deadline). */
static void wait_for_acceptor(struct pair *p, uint64_t slack, uint64_t deadline)
{
	while (p->connected - __atomic_load_n(&p->accepted, __ATOMIC_RELAXED) > slack &&
	       now_ns() < deadline + 1000000000ull)
		sched_yield();
}

static void run_slot(struct pair *p, struct connector_result *r)
{
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	uint64_t start = now_ns(), deadline = start + wk.duration_ns, t0, t1 = start;
	int fd, rc;

	r->connects = 0;
	r->errors = 0;
	r->first_errno = 0;
	r->nsamples = 0;
	while (t1 < deadline) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			note_error(r, errno);
			t1 = now_ns();
			continue;
		}
		/* Close with a reset: no TIME_WAIT, so ports never run out. */
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) < 0)
			note_error(r, errno);
		t0 = now_ns();
		rc = connect(fd, (struct sockaddr *)&p->addr[wk.set], sizeof(p->addr[wk.set]));
		t1 = now_ns();
		if (rc == 0) {
			r->connects++;
			p->connected++;
			if (r->nsamples < WORKER_MAX_SAMPLES)
				r->samples[r->nsamples++] = (uint32_t)(t1 - t0);
		} else {
			note_error(r, errno);
		}
		close(fd);
		wait_for_acceptor(p, ACCEPT_SLACK, deadline);
	}
	/* The slot's connections are accepted and closed within the slot. */
	wait_for_acceptor(p, 0, deadline);
	r->elapsed_ns = now_ns() - start;
}

static void *connector_main(void *arg)
{
	struct pair *p = arg;

	pin_to_cpu(p->cpu);
	for (;;) {
		pthread_barrier_wait(&wk.start);
		if (p->index < wk.active)
			run_slot(p, &wk.shm->conn[p->index]);
		pthread_barrier_wait(&wk.done);
	}
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct sched_param param = { .sched_priority = 0 };
	struct acceptor *a = arg;
	struct pair *p = a->pair;
	int fd;

	pin_to_cpu(p->cpu);
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
	for (;;) {
		fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		/* A connection reset before accept() may come back as ECONNABORTED: still one
		 * connection off the queue. */
		if (fd >= 0 || errno == ECONNABORTED)
			__atomic_add_fetch(&p->accepted, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Listener set of pair p, created in the worker's cgroup of the moment, and its acceptor. */
static int open_listener(struct pair *p, unsigned int set)
{
	struct sockaddr_in *addr = &p->addr[set];
	struct acceptor *a = &wk.acceptors[p->index][set];
	socklen_t len = sizeof(*addr);
	pthread_t thread;
	int fd;

	if (p->listen_fd[set] >= 0)
		return -EEXIST;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 || getsockname(fd, (struct sockaddr *)addr, &len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	p->listen_fd[set] = fd;
	a->pair = p;
	a->listen_fd = fd;
	if (pthread_create(&thread, NULL, acceptor_main, a))
		return -EAGAIN;
	return 0;
}

/* Drop to uid, then ask to die with the parent (a credential change clears that setting). */
static int become(uid_t uid, pid_t parent)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	if (getppid() != parent)
		return -ESRCH;
	return 0;
}

static int setup_child(uid_t uid, pid_t parent, const int *cpus, unsigned int ncpus)
{
	pthread_t thread;
	unsigned int i, set;
	int err;

	err = become(uid, parent);
	if (err)
		return err;
	if (pthread_barrier_init(&wk.start, NULL, WORKER_MAX_PAIRS + 1) ||
	    pthread_barrier_init(&wk.done, NULL, WORKER_MAX_PAIRS + 1))
		return -ENOMEM;
	for (i = 0; i < WORKER_MAX_PAIRS; i++) {
		struct pair *p = &wk.pairs[i];

		p->index = i;
		p->cpu = cpus[i % ncpus];
		for (set = 0; set < WORKER_MAX_SETS; set++)
			p->listen_fd[set] = -1;
		if (pthread_create(&thread, NULL, connector_main, p))
			return -EAGAIN;
	}
	return 0;
}

static void __attribute__((noreturn))
worker_child(const struct worker *w, pid_t parent, const int *cpus, unsigned int ncpus)
{
	struct worker_cmd cmd;
	int status;

	/* The parent decides when a Ctrl-C ends a slot; it kills us in its cleanup. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	wk.shm = w->shm;
	status = setup_child(w->uid, parent, cpus, ncpus);
	if (write(w->ack_fd, &status, sizeof(status)) != sizeof(status) || status)
		_exit(1);
	while (read(w->cmd_fd, &cmd, sizeof(cmd)) == sizeof(cmd)) {
		unsigned int i;

		status = cmd.set < WORKER_MAX_SETS ? 0 : -EINVAL;
		if (!status && cmd.op == WORKER_LISTEN) {
			for (i = 0; !status && i < WORKER_MAX_PAIRS; i++)
				status = open_listener(&wk.pairs[i], cmd.set);
		} else if (!status && cmd.op == WORKER_RUN) {
			for (i = 0; !status && i < cmd.n && i < WORKER_MAX_PAIRS; i++)
				if (wk.pairs[i].listen_fd[cmd.set] < 0)
					status = -ENOTCONN; /* worker_listen() first */
			if (!status) {
				wk.active = cmd.n;
				wk.set = cmd.set;
				wk.duration_ns = cmd.duration_ns;
				pthread_barrier_wait(&wk.start);
				pthread_barrier_wait(&wk.done);
			}
		} else if (!status) {
			break;
		}
		if (write(w->ack_fd, &status, sizeof(status)) != sizeof(status))
			break;
	}
	_exit(0);
}

int worker_start(struct worker *w, uid_t uid, const int *cpus, unsigned int ncpus)
{
	int cmd[2] = { -1, -1 }, ack[2] = { -1, -1 };
	pid_t parent = getpid();
	int status, err = 0;

	w->pid = 0;
	w->uid = uid;
	w->set = 0;
	w->shm = mmap(NULL, sizeof(*w->shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	if (w->shm == MAP_FAILED) {
		w->shm = NULL;
		return -errno;
	}
	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0) {
		err = -errno;
		goto fail;
	}
	w->pid = fork();
	if (w->pid < 0) {
		err = -errno;
		w->pid = 0;
		goto fail;
	}
	if (w->pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		w->cmd_fd = cmd[0];
		w->ack_fd = ack[1];
		worker_child(w, parent, cpus, ncpus);
	}
	close(cmd[0]);
	close(ack[1]);
	w->cmd_fd = cmd[1];
	w->ack_fd = ack[0];
	cmd[0] = cmd[1] = ack[0] = ack[1] = -1;
	if (read(w->ack_fd, &status, sizeof(status)) != sizeof(status)) {
		err = -EIO;
		fprintf(stderr, "tg-bench: worker for uid %u died while starting\n", uid);
		goto fail;
	}
	if (status) {
		err = status;
		fprintf(stderr, "tg-bench: worker for uid %u could not start: %s\n", uid,
			strerror(-err));
		goto fail;
	}
	return 0;
fail:
	if (cmd[0] >= 0)
		close(cmd[0]);
	if (cmd[1] >= 0)
		close(cmd[1]);
	if (ack[0] >= 0)
		close(ack[0]);
	if (ack[1] >= 0)
		close(ack[1]);
	worker_stop(w);
	return err;
}

/* Send cmd and wait for the worker's answer. */
static int worker_command(struct worker *w, const struct worker_cmd *cmd)
{
	int status;
	ssize_t r;

	if (bench_stop)
		return -EINTR;
	if (write(w->cmd_fd, cmd, sizeof(*cmd)) != sizeof(*cmd))
		return bench_stop ? -EINTR : -EIO;
	r = read(w->ack_fd, &status, sizeof(status));
	if (r < 0 && errno == EINTR)
		return -EINTR;
	if (r != sizeof(status)) {
		fprintf(stderr, "tg-bench: worker for uid %u died\n", w->uid);
		return -EIO;
	}
	return status;
}

int worker_listen(struct worker *w, unsigned int set)
{
	struct worker_cmd cmd = { .op = WORKER_LISTEN, .set = set };
	int err = worker_command(w, &cmd);

	if (err)
		fprintf(stderr, "tg-bench: worker for uid %u cannot open listener set %u: %s\n",
			w->uid, set, strerror(-err));
	return err;
}

int worker_run(struct worker *w, unsigned int n, uint64_t duration_ns)
{
	struct worker_cmd cmd = {
		.op = WORKER_RUN, .n = n, .set = w->set, .duration_ns = duration_ns
	};

	return worker_command(w, &cmd);
}

void worker_stop(struct worker *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(w->cmd_fd);
		close(w->ack_fd);
	}
	w->pid = 0;
	if (w->shm)
		munmap(w->shm, sizeof(*w->shm));
	w->shm = NULL;
}
