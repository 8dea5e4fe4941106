// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "diag.h"
#include "sync.h"
#include "tg_maps.h"

#include "portowner.h"
#include "util.h"
#include "pins.h"

/* Repeats, each bounded by a time budget too (at least the minimum runs whatever it takes). */
#define DUMP_RUNS	  200
#define DUMP_BUDGET_NS	  5000000000ull
#define SYNC_RUNS	  7
#define SYNC_MIN_RUNS	  3
#define SYNC_BUDGET_NS	  8000000000ull
#define EVENT_LISTENERS	  1000
#define EVENT_DEADLINE_NS 100000000ull /* 20 times the 5 ms target: past it, a change is missed */
#define EVENT_MAX_MISSED  5	       /* then stop: a broken hook must not cost minutes */
/* 127.20.0.1: apart from the holders' 127.10.0.0/16 and the workers' 127.0.0.1. */
#define EVENT_ADDR	 0x7f140001u
#define EVENT_FIRST_PORT 20000

static void summarize(uint32_t *v, unsigned int n, double unit, struct spread *s)
{
	sort_u32(v, n);
	s->n = n;
	s->p50 = percentile_sorted(v, n, 50) / unit;
	s->p99 = percentile_sorted(v, n, 99) / unit;
	s->max = n ? v[n - 1] / unit : 0;
}

static uint32_t elapsed_us(uint64_t start)
{
	uint64_t us = (now_ns() - start) / 1000;

	return us < UINT32_MAX ? (uint32_t)us : UINT32_MAX;
}

static int time_dumps(struct portowner_results *out)
{
	static uint32_t us[DUMP_RUNS];
	struct diag_list list = {};
	uint64_t start, t;
	unsigned int n = 0;
	int err;

	/* One unmeasured dump: the first one allocates what the others reuse. */
	err = diag_dump_listeners(&list);
	out->listeners = list.count;
	diag_list_free(&list);
	start = now_ns();
	while (!err && n < DUMP_RUNS && now_ns() - start < DUMP_BUDGET_NS && !bench_stop) {
		t = now_ns();
		err = diag_dump_listeners(&list);
		us[n++] = elapsed_us(t);
		diag_list_free(&list);
	}
	if (err) {
		fprintf(stderr, "tg-bench: sock_diag dump failed: %s\n", strerror(-err));
		return err;
	}
	summarize(us, n, 1e3, &out->dump_ms);
	return bench_stop ? -EINTR : 0;
}

/* Delete every entry of the map (not timed). 0 or -errno. */
static int empty_map(int map_fd)
{
	struct tg_port_key key;

	while (bpf_map_get_next_key(map_fd, NULL, &key) == 0)
		if (bpf_map_delete_elem(map_fd, &key) < 0 && errno != ENOENT)
			return -errno;
	return errno == ENOENT ? 0 : -errno;
}

static int time_syncs(int map_fd, enum sync_case c, struct portowner_results *out)
{
	uint32_t us[SYNC_RUNS];
	struct sync_report rep = {};
	uint64_t start = now_ns(), t;
	unsigned int n = 0;
	size_t drift;
	int err = 0;

	while (!err && n < SYNC_RUNS && !bench_stop &&
	       (n < SYNC_MIN_RUNS || now_ns() - start < SYNC_BUDGET_NS)) {
		if (c == SYNC_EMPTY)
			err = empty_map(map_fd);
		if (err)
			break;
		t = now_ns();
		err = sync_port_owner_from_diag(map_fd, c == SYNC_IN_SYNC_DRY, &rep);
		us[n++] = elapsed_us(t);
		drift = rep.added + rep.removed + rep.changed;
		if (c != SYNC_EMPTY) {
			out->in_sync_drift += drift;
		} else {
			if (n == 1 || rep.added < out->empty_added_min)
				out->empty_added_min = rep.added;
			if (rep.added > out->empty_added_max)
				out->empty_added_max = rep.added;
		}
	}
	if (err) {
		fprintf(stderr, "tg-bench: reconciling port_owner failed: %s\n", strerror(-err));
		return err;
	}
	summarize(us, n, 1e3, &out->sync_ms[c]);
	return bench_stop ? -EINTR : 0;
}

/*
 * Look key up until it is present (or absent, !present) and put the ns from start to the return
 * of the lookup that saw it in *ns. 0, -ETIMEDOUT past the deadline, or -errno.
 */
static int wait_for_entry(int map_fd, const struct tg_port_key *key, bool present, uint64_t start,
			  uint32_t *ns, bool *first, uint32_t *uid)
{
	struct tg_port_owner owner;
	unsigned int lookups = 0;
	uint64_t now;
	int r;

	for (;;) {
		r = bpf_map_lookup_elem(map_fd, key, &owner);
		now = now_ns();
		lookups++;
		if (r < 0 && errno != ENOENT)
			return -errno;
		if ((r == 0) == present)
			break;
		if (now - start > EVENT_DEADLINE_NS)
			return -ETIMEDOUT;
	}
	*ns = (uint32_t)(now - start);
	*first = lookups == 1;
	if (present)
		*uid = owner.uid;
	return 0;
}

/* A socket bound to sin and owned by owner (sk_uid is the fsuid of its creator). fd or -errno. */
static int bound_socket(const struct sockaddr_in *sin, uid_t owner)
{
	int fd, err = 0;

	setfsuid(owner);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = -errno;
	setfsuid(0);
	if (err)
		return err;
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* One listener: listen() -> entry visible, close() -> entry gone. 0, -ETIMEDOUT or -errno. */
static int time_one_event(int map_fd, unsigned int i, uid_t owner, uint32_t *listen_ns,
			  uint32_t *close_ns, struct portowner_results *out)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(EVENT_ADDR),
				   .sin_port = htons((uint16_t)(EVENT_FIRST_PORT + i)) };
	struct tg_port_key key = { .port = (__u16)(EVENT_FIRST_PORT + i), .family = AF_INET };
	uint32_t uid = 0;
	uint64_t t;
	bool first;
	int fd, err;

	key.addr[10] = key.addr[11] = 0xff;
	memcpy(&key.addr[12], &sin.sin_addr, 4);
	fd = bound_socket(&sin, owner);
	if (fd < 0)
		return fd;
	if (listen(fd, 16) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	t = now_ns();
	err = wait_for_entry(map_fd, &key, true, t, listen_ns, &first, &uid);
	if (!err) {
		out->listen_first += first;
		out->wrong_owner += uid != owner;
	}
	if (close(fd) < 0 && !err)
		return -errno;
	if (err)
		return err;
	t = now_ns();
	err = wait_for_entry(map_fd, &key, false, t, close_ns, &first, &uid);
	if (!err)
		out->close_first += first;
	return err;
}

static int time_events(int map_fd, uid_t owner, struct portowner_results *out)
{
	static uint32_t listen_ns[EVENT_LISTENERS], close_ns[EVENT_LISTENERS];
	unsigned int i, n = 0;
	int err = 0;

	for (i = 0; i < EVENT_LISTENERS && out->missed < EVENT_MAX_MISSED && !bench_stop; i++) {
		err = time_one_event(map_fd, i, owner, &listen_ns[n], &close_ns[n], out);
		if (err == -ETIMEDOUT) {
			out->missed++;
			err = 0;
			continue;
		}
		if (err) {
			fprintf(stderr, "tg-bench: listener %u for the event latency: %s\n", i,
				strerror(-err));
			return err;
		}
		n++;
	}
	out->events = n;
	summarize(listen_ns, n, 1e3, &out->listen_us);
	summarize(close_ns, n, 1e3, &out->close_us);
	return bench_stop ? -EINTR : 0;
}

/* The pinned port_owner map of the guard at pin_dir. fd or -errno, with the reason printed. */
static int open_map(const char *pin_dir)
{
	char path[PATH_MAX];
	int fd, err = pins_path(path, sizeof(path), pin_dir, TG_PIN_PORT_OWNER);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "tg-bench: cannot open %s: %s\n", path, strerror(-err));
		return err;
	}
	return fd;
}

int portowner_sync(const char *pin_dir, size_t *changed)
{
	struct sync_report rep = {};
	int map_fd = open_map(pin_dir), err;

	if (map_fd < 0)
		return map_fd;
	err = sync_port_owner_from_diag(map_fd, false, &rep);
	if (err)
		fprintf(stderr, "tg-bench: reconciling port_owner failed: %s\n", strerror(-err));
	*changed = rep.added + rep.removed + rep.changed;
	close(map_fd);
	return err;
}

int portowner_measure(const char *pin_dir, struct portowner_results *out)
{
	struct sync_report rep = {};
	int map_fd, err;
	enum sync_case c;

	memset(out, 0, sizeof(*out));
	map_fd = open_map(pin_dir);
	if (map_fd < 0)
		return map_fd;
	err = time_dumps(out);
	/* Unmeasured: what it repairs is what changed outside the guard's hooks since the last. */
	if (!err) {
		err = sync_port_owner_from_diag(map_fd, false, &rep);
		if (err)
			fprintf(stderr, "tg-bench: reconciling port_owner failed: %s\n",
				strerror(-err));
	}
	out->first_drift = rep.added + rep.removed + rep.changed;
	for (c = 0; !err && c < SYNC_CASES; c++)
		err = time_syncs(map_fd, c, out);
	close(map_fd);
	return err;
}

int portowner_measure_events(const char *pin_dir, uid_t owner, struct portowner_results *out)
{
	int map_fd = open_map(pin_dir), err;

	if (map_fd < 0)
		return map_fd;
	err = time_events(map_fd, owner, out);
	close(map_fd);
	return err;
}
