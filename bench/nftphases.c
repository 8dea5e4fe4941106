// SPDX-License-Identifier: GPL-2.0-only
/*
 * nftphases.c - the nft layer's own phases: packets per connect, the layer at 10 to 100,000
 * owners (throughput, nft_apply() and nft_update_owners() times), and the daemon's event path
 * into set owned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layers.h"
#include "nft.h"

#include "bench.h"
#include "util.h"

#define PACKET_SLOT_NS	  50000000ull
#define SYNTH_FIRST_UID	  3002 /* the other tenants: 3002-3004 */
#define SYNTH_UIDS	  3
#define UPDATE_UID	  3002
#define UPDATE_FIRST_PORT 60000 /* above the synthetic owners' ports */
/* Daemon events: 127.20.0.2, apart from port_owner's 127.20.0.1 events. */
#define EVENT_ADDR	 0x7f140002u
#define EVENT_FIRST_PORT 21000
#define EVENT_LISTENERS	 100 /* per listener count */
#define EVENT_OWNER	 3002
/* Past the daemon's reconciliation pass (it handles no event meanwhile); a change not seen
 * then is missed, and the daemon's next reconciliation (2 s) repairs it. */
#define EVENT_DEADLINE_NS 1000000000ull
#define EVENT_MAX_MISSED  5
#define POLL_PAUSE_NS	  20000 /* between gets: leave the daemon a CPU */
#define EVENT_GAP_MS	  50	/* between one pair's close() seen and the next listen() */
#define READY_DEADLINE_NS 5000000000ull
#define GET_RUNS	  200

/* TX packets of lo in this network namespace (/proc/self/net/dev is per namespace). */
static int lo_tx_packets(unsigned long long *out)
{
	char line[512];
	FILE *f = fopen("/proc/self/net/dev", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[10];
		char *p = strstr(line, "lo:");

		if (!p || p != line + strspn(line, " "))
			continue;
		if (sscanf(p + 3, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) == 10) {
			*out = v[9];
			err = 0;
		}
		break;
	}
	fclose(f);
	return err;
}

int nft_count_packets(struct bench *b)
{
	unsigned long long before, after;
	int c, err = nft_quiet(b);

	for (c = 0; !err && c < CALLER_COUNT; c++) {
		struct worker *w = &b->worker[c];
		uint64_t connects;

		err = variant_enter(b, w, V_BASE);
		if (!err)
			err = lo_tx_packets(&before);
		if (!err)
			err = worker_run(w, 1, PACKET_SLOT_NS);
		if (!err)
			err = lo_tx_packets(&after);
		if (err)
			break;
		connects = w->shm->conn[0].connects;
		b->nftres.packets_per_connect[c] =
			connects ? (double)(after - before) / (double)connects : 0;
	}
	if (err)
		fprintf(stderr, "tg-bench: counting packets per connect: %s\n", strerror(-err));
	return err;
}

/* nft_apply() of the live owners and n synthetic ones; leaves the table dormant. */
static int apply_owners(struct bench *b, struct nft_owner *owners, size_t nlive, size_t n,
			struct nft_timing *t)
{
	struct nft_timing unused;
	int err;

	nftlayer_synthetic_owners(owners, nlive, n, SYNTH_FIRST_UID, SYNTH_UIDS);
	err = nftlayer_time_apply(&b->nft, &b->cfg.policy, owners, nlive + n, t ? t : &unused);
	b->nft.active = true; /* a new table is hooked */
	return err ? err : nft_quiet(b);
}

/* Part 4: fresh (the table removed first, untimed) and over the same table, each repeat. */
static int time_applies(struct bench *b, struct nft_owner *owners, size_t nlive, size_t n, size_t i)
{
	unsigned int r;
	int err = 0;

	for (r = 0; !err && r < NFT_APPLY_REPEAT && !bench_stop; r++) {
		err = nft_remove(&b->nft.handle);
		if (!err)
			err = apply_owners(b, owners, nlive, n, &b->nftres.apply_fresh[i][r]);
		if (!err)
			err = apply_owners(b, owners, nlive, n, &b->nftres.apply_swap[i][r]);
	}
	b->nftres.set_owners[i] = nlive + n;
	return err ? err : bench_stop ? -EINTR : 0;
}

/* The daemon's event path into the sets: one owner added to, then deleted from, the largest. */
static int time_updates(struct bench *b)
{
	unsigned int r;
	int err = 0;

	for (r = 0; !err && r < NFT_UPDATE_REPEAT; r++) {
		struct nft_owner o =
			nft_owner_of(&b->cfg.policy, UPDATE_UID, (uint16_t)(UPDATE_FIRST_PORT + r));

		err = nftlayer_time_update(&b->nft, &o, 1, NULL, 0, &b->nftres.add_one[r]);
		if (!err)
			err = nftlayer_time_update(&b->nft, NULL, 0, &o, 1, &b->nftres.del_one[r]);
	}
	return err;
}

static int run_visit(struct bench *b, size_t i, unsigned int rounds)
{
	unsigned int r;
	int c, err = 0;

	for (c = 0; !err && c < CALLER_COUNT; c++) {
		struct block *k = &b->nft_scale[i][c];

		err = block_warm_up(b, k);
		for (r = 0; !err && r < rounds; r++)
			err = block_run_round(b, k);
	}
	return err;
}

/*
 * The sets hold the live listeners' owners (the workers') and counts[i] synthetic tenant owners.
 * A set cannot change size between slots the way part 3's listeners do (a reload of 100,000
 * owners takes about a second), so the counts are visited in blocks, up and back down
 * (10, 1000, 100000, 100000, 1000, 10): drift weighs on each count alike, and every ratio is
 * still to no-guard slots of the same round.
 */
int nft_measure_scale(struct bench *b, const size_t *counts, size_t npoints)
{
	unsigned int rounds = b->opt.scale_rounds / 3 ? b->opt.scale_rounds / 3 : 1;
	struct nft_owner *owners = NULL, *live = NULL;
	size_t nlive = 0, i;
	int c, err;

	err = layers_live_owners(&b->cfg.policy, &live, &nlive, NULL);
	if (err)
		return err;
	owners = calloc(nlive + counts[npoints - 1], sizeof(*owners));
	if (!owners) {
		free(live);
		return -ENOMEM;
	}
	memcpy(owners, live, nlive * sizeof(*owners));
	free(live);
	for (i = 0; i < npoints; i++)
		for (c = 0; c < CALLER_COUNT; c++)
			block_init(&b->nft_scale[i][c], c, 1, counts[i],
				   1u << V_NFT | 1u << V_NFT_EMPTY | 1u << V_BOTH);
	for (i = 0; !err && i < npoints; i++) {
		progress(b, "nft layer: %zu owners: nft_apply() timed, then %u rounds\n", counts[i],
			 rounds);
		err = time_applies(b, owners, nlive, counts[i], i);
		if (!err && i == npoints - 1)
			err = time_updates(b);
		if (!err)
			err = run_visit(b, i, rounds);
	}
	for (i = npoints; !err && i-- > 0;) {
		progress(b, "nft layer: %zu owners again: %u rounds\n", counts[i], rounds);
		if (i != npoints - 1)
			err = apply_owners(b, owners, nlive, counts[i], NULL);
		if (!err)
			err = run_visit(b, i, rounds);
	}
	/* Back to the real table: the live listeners' owners only. */
	if (!err)
		err = apply_owners(b, owners, nlive, 0, NULL);
	for (i = 0; !err && i < npoints; i++)
		for (c = 0; c < CALLER_COUNT; c++)
			block_summarize(&b->nft_scale[i][c]);
	free(owners);
	return err;
}

static int start_daemon(struct bench *b)
{
	char *argv[] = { (char *)b->opt.tunnelguard,
			 "daemon",
			 "-c",
			 b->config_both,
			 "--pin-dir",
			 b->pin_dir,
			 "--cgroup",
			 b->cgroup[V_GUARD],
			 NULL };
	pid_t parent = getpid();
	int fd;

	b->daemon_pid = fork();
	if (b->daemon_pid < 0) {
		b->daemon_pid = 0;
		return -errno;
	}
	if (b->daemon_pid == 0) {
		/* Dies with us; its refusal lines and warnings go nowhere. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		setpgid(0, 0);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return 0;
}

void nft_stop_daemon(struct bench *b)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int tries;

	if (b->daemon_pid <= 0)
		return;
	kill(b->daemon_pid, SIGTERM);
	for (tries = 0; tries < 300; tries++) {
		if (waitpid(b->daemon_pid, NULL, WNOHANG) == b->daemon_pid)
			goto done;
		nanosleep(&pause, NULL);
	}
	kill(b->daemon_pid, SIGKILL);
	waitpid(b->daemon_pid, NULL, 0);
done:
	b->daemon_pid = 0;
}

/* Poll set owned until uid . port is (or is not) there; ns from start to the deciding get. */
static int wait_for_owner(struct bench *b, uint16_t port, bool present, uint64_t start,
			  uint64_t deadline_ns, uint32_t *ns)
{
	const struct timespec pause = { .tv_nsec = POLL_PAUSE_NS };
	unsigned int gets = 0;
	uint64_t now;
	bool seen;
	int err;

	for (;;) {
		if (gets)
			nanosleep(&pause, NULL);
		err = nftlayer_has_owner(&b->nft, EVENT_OWNER, port, &seen);
		now = now_ns();
		gets++;
		if (err)
			return err;
		if (seen == present)
			break;
		if (now - start > deadline_ns)
			return -ETIMEDOUT;
		if (bench_stop)
			return -EINTR;
	}
	*ns = (uint32_t)(now - start);
	return 0;
}

/* A listener of EVENT_OWNER on 127.20.0.2:port. fd or -errno. */
static int event_listener(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(EVENT_ADDR),
				   .sin_port = htons(port) };
	int fd, err = 0;

	setfsuid(EVENT_OWNER);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = -errno;
	setfsuid(0);
	if (err)
		return err;
	if (bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void summarize(uint32_t *v, unsigned int n, struct spread *s)
{
	sort_u32(v, n);
	s->n = n;
	s->p50 = percentile_sorted(v, n, 50) / 1e3;
	s->p99 = percentile_sorted(v, n, 99) / 1e3;
	s->max = n ? v[n - 1] / 1e3 : 0;
}

/* The daemon is ready when a first listener's owner reaches the set; also time a get. */
static int await_daemon(struct bench *b)
{
	static uint32_t get_ns[GET_RUNS];
	uint16_t port = EVENT_FIRST_PORT - 1;
	uint32_t ns;
	int fd = event_listener(port), err, i;

	if (fd < 0)
		return fd;
	err = wait_for_owner(b, port, true, now_ns(), READY_DEADLINE_NS, &ns);
	for (i = 0; !err && i < GET_RUNS; i++) {
		uint64_t t = now_ns();
		bool seen;

		err = nftlayer_has_owner(&b->nft, EVENT_OWNER, port, &seen);
		get_ns[i] = (uint32_t)(now_ns() - t);
	}
	if (!err) {
		sort_u32(get_ns, GET_RUNS);
		b->nftres.get_us = percentile_sorted(get_ns, GET_RUNS, 50) / 1e3;
	}
	close(fd);
	if (!err)
		err = wait_for_owner(b, port, false, now_ns(), READY_DEADLINE_NS, &ns);
	return err;
}

/* EVENT_LISTENERS listen()/close() pairs on ports from first_port. 0 or -errno. */
static int time_events(struct bench *b, uint16_t first_port, struct nft_events *out)
{
	static uint32_t listen_ns[EVENT_LISTENERS], close_ns[EVENT_LISTENERS];
	unsigned int i, n = 0;
	int err = 0;

	for (i = 0; !err && i < EVENT_LISTENERS && out->missed < EVENT_MAX_MISSED; i++) {
		const struct timespec gap = { .tv_nsec = (long)out->gap_ms * 1000000L };
		uint16_t port = (uint16_t)(first_port + i);
		int fd;

		if (out->gap_ms)
			nanosleep(&gap, NULL);
		fd = event_listener(port);

		if (fd < 0) {
			err = fd;
			break;
		}
		err = wait_for_owner(b, port, true, now_ns(), EVENT_DEADLINE_NS, &listen_ns[n]);
		close(fd);
		if (!err)
			err = wait_for_owner(b, port, false, now_ns(), EVENT_DEADLINE_NS,
					     &close_ns[n]);
		if (err == -ETIMEDOUT) {
			out->missed++;
			err = 0;
			continue;
		}
		if (!err)
			n++;
	}
	out->events = n;
	summarize(listen_ns, n, &out->listen_us);
	summarize(close_ns, n, &out->close_us);
	return err;
}

/*
 * Events EVENT_GAP_MS apart (after the previous pair's close was seen), with few listeners and
 * with PORTOWNER_LISTENERS: the daemon's deletion path reads all of port_owner (is another
 * listener of the pair left?), so its cost grows with the listeners. Then back to back, with few
 * listeners: a listen() right after a close() was seen.
 */
static int events_in_guard(struct bench *b, void *arg)
{
	const struct {
		size_t listeners;
		unsigned int gap_ms;
	} runs[NFT_EVENT_RUNS] = { { 10, EVENT_GAP_MS },
				   { PORTOWNER_LISTENERS, EVENT_GAP_MS },
				   { 10, 0 } };
	struct nft_results *res = &b->nftres;
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	unsigned int i;
	int err;

	(void)arg;
	progress(b, "nft layer: listen()/close() -> set owned, with `tunnelguard daemon`\n");
	err = listeners_set_active(&b->listeners, runs[0].listeners);
	if (!err)
		err = nftlayer_set_active(&b->nft, true);
	if (!err)
		err = start_daemon(b);
	if (!err) {
		err = await_daemon(b);
		if (err == -ETIMEDOUT) {
			snprintf(res->daemon_skipped, sizeof(res->daemon_skipped),
				 "the daemon put no listener into set owned within %.0f s",
				 READY_DEADLINE_NS / 1e9);
			nft_stop_daemon(b);
			return 0;
		}
	}
	res->daemon_ran = !err;
	/* Sleeps between gets end when asked, not up to 50 µs later. */
	prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	for (i = 0; !err && i < NFT_EVENT_RUNS; i++) {
		res->ev[i].listeners = runs[i].listeners;
		res->ev[i].gap_ms = runs[i].gap_ms;
		err = listeners_set_active(&b->listeners, runs[i].listeners);
		if (!err)
			err = time_events(b, (uint16_t)(EVENT_FIRST_PORT + i * EVENT_LISTENERS),
					  &res->ev[i]);
	}
	if (slack > 0)
		prctl(PR_SET_TIMERSLACK, slack, 0, 0, 0);
	nft_stop_daemon(b);
	if (err)
		fprintf(stderr, "tg-bench: nft event latency: %s\n", strerror(-err));
	return err ? err : nft_quiet(b);
}

/* The event listeners are bound in the guard's cgroup, as a hub's sshd sessions bind theirs: the
 * daemon learns of them from the post_bind hooks' events (and the daemon runs there too). */
int nft_measure_events(struct bench *b)
{
	return in_guard_cgroup(b, events_in_guard, NULL);
}
