// SPDX-License-Identifier: GPL-2.0-only
/*
 * The instant a listener appears (issue 13, item 0). Tenant A's listener flaps (bind, listen,
 * hold H, close, wait H) while tenant B connects to the same address and port in a tight loop
 * from two threads. B's connect hook may find no listener and allow; the SYN then meets a
 * listener made microseconds later, and tg_syn_in must drop it. A drop cannot set an errno, so
 * B's connects carry SO_SNDTIMEO (CONNECT_TIMEOUT_MS): a connect counts as completed only when
 * connect() returned 0, and one that ran out of time counts as dropped at the SYN.
 *
 * What runs: layers `bpf`, `bpf nft` and `nft`, each on 127.0.0.1 and on [::1] (six tests), each
 * flapping H = 1 ms x 2000 cycles, 10 ms x 75 and 50 ms x 15 (about 7 s a test, under 60 s for
 * the file), with the daemon running as on a real hub (it follows listeners into the nft sets:
 * by the BPF hooks' events with `bpf nft`, by polling sock_diag every 100 ms with `nft`).
 *  - With the BPF layer: asserted 0 completed connects of B, 0 connections accepted by A, no
 *    other errno, and every connect of B that timed out lost its SYN to tg_syn_in
 *    (tg_stages[syn]) or to the kernel itself (TcpExt ListenDrops).
 *  - With nft alone: measured and logged (cr_log_info, --verbose), not asserted: the sets trail
 *    a new listener by up to a poll period.
 * Afterwards A listens steadily: A itself, root and a hub service (2999) connect, B is refused.
 * Each test logs, per H, B's attempts: completed, refused at once (ECONNREFUSED) and dropped
 * (timed out). Needs root; each test runs in its own network namespace and cgroup (fixture.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "tg_maps.h"

#include "fixture.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define SERVICE	 2999
/* Below the ephemeral range, so that B's own port is never the listener's (a self-connect). */
#define PORT 8001

/* Far above a loopback handshake; far below the first SYN retransmission (1 s). */
#define CONNECT_TIMEOUT_MS 50
#define CONNECT_THREADS	   2
/* A child that could not join the cgroup or change uid. */
#define SETUP_FAILED 250
/* The parent's wait for any one step of the children. */
#define STEP_TIMEOUT_MS 30000

struct race_hold {
	int hold_ms; /* H: the listener is up H ms, then down H ms */
	long cycles;
};

static const struct race_hold holds[] = {
	{ .hold_ms = 1, .cycles = 2000 },
	{ .hold_ms = 10, .cycles = 75 },
	{ .hold_ms = 50, .cycles = 15 },
};

#define N_HOLDS (sizeof(holds) / sizeof(holds[0]))

struct race_case {
	const char *name;
	const char *config;
	bool bpf; /* the BPF layer is up: assert 0 completed; otherwise measure */
	int family;
	const char *addr;
};

enum race_case_index { BPF_V4, BPF_V6, BOTH_V4, BOTH_V6, NFT_V4, NFT_V6 };

static const struct race_case cases[] = {
	[BPF_V4] = { "layers=bpf 127.0.0.1", "tenant-uids = 2001-2003\nlayers = bpf\n", true,
		     AF_INET, "127.0.0.1" },
	[BPF_V6] = { "layers=bpf [::1]", "tenant-uids = 2001-2003\nlayers = bpf\n", true, AF_INET6,
		     "::1" },
	[BOTH_V4] = { "layers=bpf nft 127.0.0.1", "tenant-uids = 2001-2003\nlayers = bpf nft\n",
		      true, AF_INET, "127.0.0.1" },
	[BOTH_V6] = { "layers=bpf nft [::1]", "tenant-uids = 2001-2003\nlayers = bpf nft\n", true,
		      AF_INET6, "::1" },
	[NFT_V4] = { "layers=nft 127.0.0.1", "tenant-uids = 2001-2003\nlayers = nft\n", false,
		     AF_INET, "127.0.0.1" },
	[NFT_V6] = { "layers=nft [::1]", "tenant-uids = 2001-2003\nlayers = nft\n", false, AF_INET6,
		     "::1" },
};

/* What B's connects gave during one hold length. */
struct race_counts {
	long attempts;
	long completed; /* connect() returned 0: the handshake finished */
	long refused;	/* ECONNREFUSED at once: the connect hook, nft's reset or no listener */
	long timed_out; /* no answer within CONNECT_TIMEOUT_MS: the SYN was dropped */
	long other;	/* any other errno; last_errno is one of them */
	int last_errno;
};

/* Shared by the test, the flapper (A) and the connector (B) through a MAP_SHARED mapping. */
struct race_shared {
	int phase;	      /* index in holds[] the flapper is in */
	int connectors_ready; /* B's threads that are looping */
	int flapping_done;    /* the flapper finished its cycles */
	int stop;	      /* the test ends B's loops */
	int go_steady;	      /* the test lets the flapper listen for good */
	int steady;	      /* A's steady listener is up */
	int flapper_errno;    /* socket, bind or listen failure of the flapper; 0 if none */
	long cycles[N_HOLDS];
	long accepted[N_HOLDS]; /* connections A accepted while it listened */
	long long took_ns[N_HOLDS];
	struct race_counts b[N_HOLDS];
};

static struct fx fx;
static struct race_shared *shared;
static pid_t flapper = -1, connector = -1, daemon_pid = -1;

static void setup(void)
{
	fx_setup(&fx);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	cr_assert_neq(shared, MAP_FAILED, "mmap: %s", strerror(errno));
}

static void stop_child(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

static void teardown(void)
{
	stop_child(&flapper);
	stop_child(&connector);
	if (daemon_pid > 0)
		fx_daemon_stop(daemon_pid, SIGKILL);
	daemon_pid = -1;
	if (shared && shared != MAP_FAILED)
		munmap(shared, sizeof(*shared));
	shared = NULL;
	fx_teardown(&fx);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ns_to_timespec(long long ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
}

static int load_flag(int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static void store_flag(int *flag, int value)
{
	__atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

static void add(long *counter, long n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static socklen_t make_addr(const struct race_case *c, struct sockaddr_storage *ss)
{
	return fx_make_addr(c->family, c->addr, PORT, ss);
}

/* In a child: join the test cgroup, where the guard judges, and become uid. */
static void enter_as(uid_t uid, pid_t parent)
{
	if (fx_enter_as(&fx, uid, parent) < 0)
		_exit(SETUP_FAILED);
}

/* A listening socket of the case's address; -errno when a step fails. */
static int listen_on(const struct race_case *c)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);
	int one = 1, fd, err;

	fd = socket(c->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (c->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Accept and reset whatever waits on fd; the number accepted. */
static long accept_all(int fd)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	long n = 0;
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		/* A reset leaves no TIME_WAIT on the port, which the next bind() needs free. */
		setsockopt(c, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
		close(c);
		n++;
	}
	return n;
}

/* One cycle: listen for hold_ns, accepting what comes, close, then stay closed hold_ns. */
static int flap_once(const struct race_case *c, long long hold_ns, long *accepted)
{
	int fd = listen_on(c);
	long long deadline, left;
	struct timespec ts;

	if (fd < 0)
		return fd;
	deadline = now_ns() + hold_ns;
	while ((left = deadline - now_ns()) > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ts = ns_to_timespec(left);
		if (ppoll(&p, 1, &ts, NULL) > 0)
			*accepted += accept_all(fd);
	}
	*accepted += accept_all(fd);
	close(fd);
	ts = ns_to_timespec(hold_ns);
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	return 0;
}

/* Tenant A: flap through holds[], then listen for good when told. */
static void flapper_child(const struct race_case *c, pid_t parent)
{
	struct pollfd p;
	int err = 0, fd;

	/* B's two threads keep both CPUs busy: A must still wake on time for holds of 1 ms. */
	if (setpriority(PRIO_PROCESS, 0, -10) < 0 || prctl(PR_SET_TIMERSLACK, 1UL) < 0)
		_exit(SETUP_FAILED);
	enter_as(TENANT_A, parent);
	for (size_t h = 0; h < N_HOLDS && !err; h++) {
		long long hold_ns = holds[h].hold_ms * 1000000LL;
		long long start = now_ns();
		long accepted = 0, n;

		store_flag(&shared->phase, (int)h);
		for (n = 0; n < holds[h].cycles && !err; n++)
			err = flap_once(c, hold_ns, &accepted);
		shared->cycles[h] = n - (err ? 1 : 0);
		shared->accepted[h] = accepted;
		shared->took_ns[h] = now_ns() - start;
	}
	store_flag(&shared->flapper_errno, -err);
	store_flag(&shared->flapping_done, 1);
	if (err)
		_exit(0);
	while (!load_flag(&shared->go_steady))
		usleep(1000);
	fd = listen_on(c);
	if (fd < 0) {
		store_flag(&shared->flapper_errno, -fd);
		_exit(0);
	}
	store_flag(&shared->steady, 1);
	for (;;) {
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&p, 1, -1) > 0)
			accept_all(fd);
	}
}

/* One of B's threads: connect, and reset what connected, until the test says stop. */
static void *connect_loop(void *arg)
{
	const struct race_case *c = arg;
	struct timeval timeout = { .tv_usec = CONNECT_TIMEOUT_MS * 1000 };
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);

	__atomic_fetch_add(&shared->connectors_ready, 1, __ATOMIC_RELEASE);
	while (!load_flag(&shared->stop)) {
		struct race_counts *b = &shared->b[load_flag(&shared->phase)];
		int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

		if (fd < 0) {
			err = errno;
		} else {
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
			err = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
			/* No TIME_WAIT: the loop would run out of ports. */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
			close(fd);
		}
		add(&b->attempts, 1);
		if (err == 0) {
			add(&b->completed, 1);
		} else if (err == ECONNREFUSED) {
			add(&b->refused, 1);
		} else if (err == EINPROGRESS) {
			add(&b->timed_out, 1);
		} else {
			add(&b->other, 1);
			__atomic_store_n(&b->last_errno, err, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Tenant B: CONNECT_THREADS threads in a tight connect loop. */
static void connector_child(const struct race_case *c, pid_t parent)
{
	pthread_t threads[CONNECT_THREADS];

	enter_as(TENANT_B, parent);
	for (int i = 0; i < CONNECT_THREADS; i++)
		if (pthread_create(&threads[i], NULL, connect_loop, (void *)c) != 0)
			_exit(SETUP_FAILED);
	for (int i = 0; i < CONNECT_THREADS; i++)
		pthread_join(threads[i], NULL);
	_exit(0);
}

static pid_t start_child(const struct race_case *c, void (*child)(const struct race_case *, pid_t))
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		child(c, parent);
	return pid;
}

/* Wait until *flag reaches want while child lives; a child that ended first fails the test. */
static void wait_flag(const struct race_case *c, int *flag, int want, pid_t *child,
		      const char *what)
{
	long long deadline = now_ns() + STEP_TIMEOUT_MS * 1000000LL;
	int status;

	while (load_flag(flag) < want) {
		if (waitpid(*child, &status, WNOHANG) == *child) {
			*child = -1;
			cr_assert_fail("%s: %s: the child ended first (status %#x%s)", c->name,
				       what, status,
				       WIFEXITED(status) && WEXITSTATUS(status) == SETUP_FAILED
					       ? ", could not join the cgroup or change uid"
					       : "");
		}
		cr_assert_lt(now_ns(), deadline, "%s: %s: not within %d ms", c->name, what,
			     STEP_TIMEOUT_MS);
		usleep(1000);
	}
}

/* Refusals by stage (tg_stages, summed over CPUs). 0, or -errno when the map is not pinned. */
static int read_stages(__u64 stages[TG_STAGE_COUNT])
{
	char path[PATH_MAX + 32];
	int ncpu = libbpf_num_possible_cpus();
	__u64 values[256];
	int fd, err = 0;

	cr_assert(ncpu > 0 && ncpu <= 256, "unexpected CPU count %d", ncpu);
	snprintf(path, sizeof(path), "%s/" TG_PIN_STAGES, fx.pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	for (__u32 key = 0; key < TG_STAGE_COUNT; key++) {
		stages[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, values) < 0) {
			err = -errno;
			break;
		}
		for (int i = 0; i < ncpu; i++)
			stages[key] += values[i];
	}
	close(fd);
	return err;
}

/*
 * TcpExt ListenDrops of the test's network namespace: SYNs the kernel itself dropped at a
 * listener (a full accept queue, a listener closing as the SYN met it). -1 when not found.
 */
static long listen_drops(void)
{
	char names[8192], values[8192], *name_pos, *value_pos, *name, *value;
	FILE *f = fopen("/proc/self/net/netstat", "re");
	long found = -1;

	if (!f)
		return -1;
	/* Pairs of lines: "TcpExt: Name1 Name2 ...", then "TcpExt: value1 value2 ...". */
	while (found < 0 && fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "TcpExt:", 7) != 0)
			continue;
		name = strtok_r(names, " \n", &name_pos);
		value = strtok_r(values, " \n", &value_pos);
		while (name && value && found < 0) {
			if (strcmp(name, "ListenDrops") == 0)
				found = atol(value);
			name = strtok_r(NULL, " \n", &name_pos);
			value = strtok_r(NULL, " \n", &value_pos);
		}
	}
	fclose(f);
	return found;
}

static void start_daemon(const struct race_case *c)
{
	daemon_pid = fx_daemon_start(&fx, NULL);
	cr_assert(fx_daemon_ready(&fx, 3000), "%s: the daemon did not start", c->name);
}

static void log_counts(const struct race_case *c, const char *what, long cycles, long long took_ns,
		       long accepted, const struct race_counts *b)
{
	double rate = b->attempts ? 100.0 * b->completed / b->attempts : 0;

	cr_log_info(
		"%s %s: %ld cycles in %.2f s; B %ld attempts: %ld completed (%.3f%%), %ld refused "
		"at "
		"once, %ld dropped (timed out after %d ms), %ld other (errno %d); A accepted %ld",
		c->name, what, cycles, took_ns / 1e9, b->attempts, b->completed, rate, b->refused,
		b->timed_out, CONNECT_TIMEOUT_MS, b->other, b->last_errno, accepted);
}

/* A listens for good: A itself, root and a hub service connect; B is refused. */
static void check_steady(const struct race_case *c)
{
	int err = -1;

	store_flag(&shared->go_steady, 1);
	wait_flag(c, &shared->steady, 1, &flapper, "A's steady listener");
	cr_assert_eq(load_flag(&shared->flapper_errno), 0, "%s: A's steady listener: %s", c->name,
		     strerror(load_flag(&shared->flapper_errno)));
	cr_expect_eq(fx_connect_as(&fx, TENANT_A, c->family, c->addr, PORT), 0,
		     "%s: A cannot reach its own listener", c->name);
	cr_expect_eq(fx_connect_as(&fx, 0, c->family, c->addr, PORT), 0,
		     "%s: root cannot reach A's listener", c->name);
	cr_expect_eq(fx_connect_as(&fx, SERVICE, c->family, c->addr, PORT), 0,
		     "%s: the service uid %d cannot reach A's listener", c->name, SERVICE);
	/* nft alone learns the listener at the daemon's next poll (100 ms). */
	for (int tries = 0; tries < 100 && err != ECONNREFUSED; tries++) {
		err = fx_connect_as(&fx, TENANT_B, c->family, c->addr, PORT);
		if (err != ECONNREFUSED)
			usleep(10000);
	}
	cr_expect_eq(err, ECONNREFUSED, "%s: B reached A's steady listener (%s)", c->name,
		     strerror(err));
}

/* Sum B's counts over holds[], logging each hold; the cycles A made and what it accepted. */
static void sum_and_log(const struct race_case *c, struct race_counts *total, long *cycles,
			long *accepted)
{
	long long took_ns = 0;

	for (size_t h = 0; h < N_HOLDS; h++) {
		const struct race_counts *b = &shared->b[h];
		char what[32];

		snprintf(what, sizeof(what), "H=%d ms", holds[h].hold_ms);
		log_counts(c, what, shared->cycles[h], shared->took_ns[h], shared->accepted[h], b);
		total->attempts += b->attempts;
		total->completed += b->completed;
		total->refused += b->refused;
		total->timed_out += b->timed_out;
		total->other += b->other;
		if (b->other)
			total->last_errno = b->last_errno;
		*accepted += shared->accepted[h];
		*cycles += shared->cycles[h];
		took_ns += shared->took_ns[h];
	}
	log_counts(c, "all", *cycles, took_ns, *accepted, total);
}

static void run_race(const struct race_case *c)
{
	__u64 before[TG_STAGE_COUNT] = {}, after[TG_STAGE_COUNT] = {}, syn_drops;
	long accepted = 0, cycles = 0, expected_cycles = 0, kernel_drops;
	struct race_counts total = {};
	long long start = now_ns();

	for (size_t h = 0; h < N_HOLDS; h++)
		expected_cycles += holds[h].cycles;
	fx_write_config(&fx, c->config);
	cr_assert_eq(fx_load(&fx), 0, "%s: load: %s", c->name, fx.output);
	start_daemon(c);
	if (c->bpf)
		cr_assert_eq(read_stages(before), 0, "%s: cannot read %s/" TG_PIN_STAGES, c->name,
			     fx.pin_dir);
	kernel_drops = listen_drops();
	cr_assert_geq(kernel_drops, 0, "%s: no ListenDrops in /proc/self/net/netstat", c->name);

	connector = start_child(c, connector_child);
	wait_flag(c, &shared->connectors_ready, CONNECT_THREADS, &connector, "B's threads");
	flapper = start_child(c, flapper_child);
	wait_flag(c, &shared->flapping_done, 1, &flapper, "A's flapping");
	store_flag(&shared->stop, 1);
	cr_assert_eq(waitpid(connector, NULL, 0), connector, "waitpid: %s", strerror(errno));
	connector = -1;
	kernel_drops = listen_drops() - kernel_drops;
	if (c->bpf)
		cr_assert_eq(read_stages(after), 0, "%s: cannot read %s/" TG_PIN_STAGES, c->name,
			     fx.pin_dir);
	cr_assert_eq(load_flag(&shared->flapper_errno), 0, "%s: A's listener failed: %s", c->name,
		     strerror(load_flag(&shared->flapper_errno)));

	sum_and_log(c, &total, &cycles, &accepted);
	syn_drops = after[TG_STAGE_SYN] - before[TG_STAGE_SYN];
	if (c->bpf)
		cr_log_info(
			"%s: BPF refusals at connect() %llu, SYNs dropped by tg_syn_in %llu",
			c->name,
			(unsigned long long)(after[TG_STAGE_SYSCALL] - before[TG_STAGE_SYSCALL]),
			(unsigned long long)syn_drops);
	cr_log_info("%s: SYNs the kernel itself dropped at a listener (TcpExt ListenDrops) %ld",
		    c->name, kernel_drops);
	cr_expect_eq(cycles, expected_cycles, "%s: A flapped %ld cycles of %ld", c->name, cycles,
		     expected_cycles);
	cr_expect_gt(total.attempts, 0, "%s: B made no attempt", c->name);
	if (c->bpf) {
		cr_expect_eq(total.completed, 0, "%s: %ld of B's %ld connects completed", c->name,
			     total.completed, total.attempts);
		cr_expect_eq(accepted, 0, "%s: A accepted %ld connections from B", c->name,
			     accepted);
		cr_expect_eq(total.other, 0, "%s: %ld of B's connects failed otherwise (errno %d)",
			     c->name, total.other, total.last_errno);
		/* Each connect of B that timed out lost its SYN: to tg_syn_in, or to the kernel at
		 * a listener that was closing (none in the runs we saw, so this is exact). */
		cr_expect((__u64)total.timed_out >= syn_drops &&
				  (__u64)total.timed_out <= syn_drops + (__u64)kernel_drops,
			  "%s: B timed out %ld times; tg_syn_in dropped %llu SYNs, the kernel %ld",
			  c->name, total.timed_out, (unsigned long long)syn_drops, kernel_drops);
	}
	check_steady(c);
	cr_expect_eq(fx_daemon_stop(daemon_pid, SIGTERM), 0, "%s: the daemon did not exit 0",
		     c->name);
	daemon_pid = -1;
	cr_log_info("%s: %.1f s in all", c->name, (now_ns() - start) / 1e9);
}

Test(race, bpf_v4_b_never_connects, .init = setup, .fini = teardown)
{
	run_race(&cases[BPF_V4]);
}

Test(race, bpf_v6_b_never_connects, .init = setup, .fini = teardown)
{
	run_race(&cases[BPF_V6]);
}

Test(race, bpf_nft_v4_b_never_connects, .init = setup, .fini = teardown)
{
	run_race(&cases[BOTH_V4]);
}

Test(race, bpf_nft_v6_b_never_connects, .init = setup, .fini = teardown)
{
	run_race(&cases[BOTH_V6]);
}

Test(race, nft_v4_is_measured, .init = setup, .fini = teardown)
{
	run_race(&cases[NFT_V4]);
}

Test(race, nft_v6_is_measured, .init = setup, .fini = teardown)
{
	run_race(&cases[NFT_V6]);
}
