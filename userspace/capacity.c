// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_maps.h"

#include "capacity.h"
#include "log.h"
#include "pins.h"
#include "util.h"

const char *capacity_number(unsigned long long n, char *buf, size_t len)
{
	char digits[32];
	size_t nd, out = 0;

	nd = (size_t)snprintf(digits, sizeof(digits), "%llu", n);
	for (size_t i = 0; i < nd && out + 1 < len; i++) {
		if (i && (nd - i) % 3 == 0)
			buf[out++] = ',';
		if (out + 1 < len)
			buf[out++] = digits[i];
	}
	if (len)
		buf[out < len ? out : len - 1] = '\0';
	return buf;
}

int capacity_port_owner_max(const char *pin_dir, uint32_t *max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pins_open(pin_dir, TG_PIN_PORT_OWNER), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		err = -errno;
	close(fd);
	if (!err)
		*max_entries = info.max_entries;
	return err;
}

int capacity_size_port_owner(struct bpf_map *map, uint32_t want, const char *pin_dir)
{
	char a[32], b[32];
	uint32_t have;
	int err;

	if (!want)
		want = TG_PORT_OWNER_MAX;
	err = capacity_port_owner_max(pin_dir, &have);
	if (err == -ENOENT)
		return bpf_map__set_max_entries(map, want); /* a new map is made at load */
	if (err) {
		pr_warn("cannot read pinned map %s/%s: %s\n", pin_dir, TG_PIN_PORT_OWNER,
			strerror(-err));
		return err;
	}
	if (have == want)
		return bpf_map__set_max_entries(map, want);
	/* Refused rather than swapped: the pinned map outlives a swap (the bind and close hooks
	 * of every load write it), and a fresh map would start without the listeners it holds. */
	pr_warn("port-owner-max = %s, but the loaded guard's map %s/%s holds %s entries: %s\n",
		capacity_number(want, a, sizeof(a)), pin_dir, TG_PIN_PORT_OWNER,
		capacity_number(have, b, sizeof(b)),
		"a loaded map cannot be resized; run `tunnelguard unload` and `tunnelguard load` to apply it (the guard is down in between), or keep the old size; the guard in force is unchanged");
	return -EEXIST;
}

/* ---- the daemon's state file ---- */

static int state_path(const char *pin_dir, char *path, size_t len)
{
	size_t n = (size_t)snprintf(path, len, CAPACITY_STATE_DIR "/capacity");

	for (const char *p = pin_dir; *p; p++) {
		if (n + 2 >= len)
			return -ENAMETOOLONG;
		path[n++] = *p == '/' ? '_' : *p;
	}
	path[n] = '\0';
	return 0;
}

int capacity_state_write(const char *pin_dir, const struct capacity_daemon_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int err = state_path(pin_dir, path, sizeof(path));

	if (err)
		return err;
	if (mkdir(CAPACITY_STATE_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"pid %d\nupdated %lld\nport_owner_untracked %llu\nevents_lost %llu\n"
		"events_lost_at %lld\nowner_events_lost %llu\nowner_events_lost_at %lld\n"
		"nft_batches_split %llu\nnft_batches_refused %llu\nnft_refused_at %lld\n",
		(int)st->pid, (long long)st->updated, st->port_owner_untracked, st->events_lost,
		(long long)st->events_lost_at, st->owner_events_lost,
		(long long)st->owner_events_lost_at, st->nft_batches_split, st->nft_batches_refused,
		(long long)st->nft_refused_at);
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void capacity_state_remove(const char *pin_dir)
{
	char path[PATH_MAX];

	if (state_path(pin_dir, path, sizeof(path)) == 0)
		unlink(path);
}

int capacity_state_parse(const char *text, struct capacity_daemon_state *st)
{
	static const char *const names[] = {
		"pid",
		"updated",
		"port_owner_untracked",
		"events_lost",
		"events_lost_at",
		"owner_events_lost",
		"owner_events_lost_at",
		"nft_batches_split",
		"nft_batches_refused",
		"nft_refused_at",
	};
	unsigned long long v[ARRAY_SIZE(names)] = { 0 };
	const char *line = text;

	memset(st, 0, sizeof(*st));
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char name[32];
		unsigned long long value;
		char tail;

		if (len && len < 64) {
			char copy[64];

			memcpy(copy, line, len);
			copy[len] = '\0';
			if (sscanf(copy, "%31s %llu%c", name, &value, &tail) != 2)
				return -EINVAL;
			for (size_t i = 0; i < ARRAY_SIZE(names); i++)
				if (strcmp(name, names[i]) == 0)
					v[i] = value;
		} else if (len) {
			return -EINVAL;
		}
		line = end ? end + 1 : NULL;
	}
	if (!v[0] || v[0] > INT_MAX)
		return -EINVAL;
	st->pid = (pid_t)v[0];
	st->updated = (time_t)v[1];
	st->port_owner_untracked = v[2];
	st->events_lost = v[3];
	st->events_lost_at = (time_t)v[4];
	st->owner_events_lost = v[5];
	st->owner_events_lost_at = (time_t)v[6];
	st->nft_batches_split = v[7];
	st->nft_batches_refused = v[8];
	st->nft_refused_at = (time_t)v[9];
	return 0;
}

int capacity_state_read(const char *pin_dir, struct capacity_daemon_state *st)
{
	char path[PATH_MAX], text[1024];
	ssize_t n;
	int fd, err = state_path(pin_dir, path, sizeof(path));

	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	text[n] = '\0';
	err = capacity_state_parse(text, st);
	if (err)
		return err;
	/* A daemon that is gone says nothing about now. */
	if (kill(st->pid, 0) < 0 && errno == ESRCH)
		return -ENOENT;
	return 0;
}

/* ---- the judgement ---- */

const char *capacity_resource_name(enum capacity_resource r)
{
	static const char *const names[CAPACITY_COUNT] = {
		[CAPACITY_PORT_OWNER] = "port_owner",
		[CAPACITY_EVENTS] = "events",
		[CAPACITY_OWNER_EVENTS] = "owner_events",
		[CAPACITY_NFT_BATCH] = "nft_batch",
	};

	return (unsigned int)r < CAPACITY_COUNT ? names[r] : "?";
}

void capacity_port_owner_message(uint32_t max, unsigned long long untracked, const char *config,
				 char *buf, size_t len)
{
	char m[32], u[32];

	snprintf(buf, len,
		 "port_owner is full (%s entries): %s listeners are not tracked; %s%s%s%d%s",
		 capacity_number(max, m, sizeof(m)), capacity_number(untracked, u, sizeof(u)),
		 "raise port-owner-max in ", config, " and unload and load (about ",
		 CAPACITY_PORT_OWNER_BYTES,
		 " bytes of kernel memory each); the nft sets are filled from sock_diag meanwhile");
}

static char *next_note(struct capacity_findings *out)
{
	return out->n_notes < CAPACITY_MAX_NOTES ? out->notes[out->n_notes++] : NULL;
}

static bool recent(time_t at, time_t now)
{
	return at && now - at < CAPACITY_RECENT_SECS;
}

/* An overflow of one ring buffer: recent while the daemon read it, or counted since load. */
static void assess_ring(const struct capacity_facts *f, time_t now, enum capacity_resource r,
			struct capacity_findings *out)
{
	bool events = r == CAPACITY_EVENTS;
	unsigned long long since_load = events ? f->events_lost : f->owner_events_lost;
	unsigned long long daemon = events ? f->daemon.events_lost : f->daemon.owner_events_lost;
	time_t at = events ? f->daemon.events_lost_at : f->daemon.owner_events_lost_at;
	const char *what = events ? "refusal events" : "listener changes";
	/* The kernel counts the two listener rings in one statistic. */
	const char *ring = events ? "ring buffer " TG_PIN_EVENTS
				  : "ring buffer " TG_PIN_OWNER_EVENTS " or " TG_PIN_NETNS_EVENTS;
	char n[32], *note;

	if (f->have_daemon && recent(at, now)) {
		out->exceeded[r] = true;
		note = next_note(out);
		if (note)
			snprintf(
				note, sizeof(out->notes[0]),
				"%s overflowed %llds ago while the daemon (pid %d) read it: %s %s were lost since it started%s",
				ring, (long long)(now - at), (int)f->daemon.pid,
				capacity_number(daemon, n, sizeof(n)), what,
				events ? "" : " (its reconciliation puts the nft sets right)");
		return;
	}
	if (!since_load)
		return;
	note = next_note(out);
	if (note)
		snprintf(
			note, sizeof(out->notes[0]),
			"%s %s were not sent on %s since load (no daemon was reading, or it fell behind)",
			capacity_number(since_load, n, sizeof(n)), what, ring);
}

void capacity_assess(const struct capacity_facts *f, time_t now, struct capacity_findings *out)
{
	char a[32], b[32], c[32], *note;

	memset(out, 0, sizeof(*out));
	if (f->port_owner_known && f->port_owner_max &&
	    ((f->untracked_known && f->untracked) || f->port_owner_entries >= f->port_owner_max)) {
		out->exceeded[CAPACITY_PORT_OWNER] = true;
		note = next_note(out);
		if (note)
			capacity_port_owner_message(f->port_owner_max, f->untracked, "the config",
						    note, sizeof(out->notes[0]));
	} else if (f->full_total) {
		note = next_note(out);
		if (note)
			snprintf(
				note, sizeof(out->notes[0]),
				"port_owner was full %s times since load (it has room now: %s of %s entries)",
				capacity_number(f->full_total, a, sizeof(a)),
				capacity_number(f->port_owner_entries, b, sizeof(b)),
				capacity_number(f->port_owner_max, c, sizeof(c)));
	}
	assess_ring(f, now, CAPACITY_EVENTS, out);
	assess_ring(f, now, CAPACITY_OWNER_EVENTS, out);
	if (f->have_daemon && recent(f->daemon.nft_refused_at, now)) {
		out->exceeded[CAPACITY_NFT_BATCH] = true;
		note = next_note(out);
		if (note)
			snprintf(
				note, sizeof(out->notes[0]),
				"nftables refused %s element batches for their size even split into parts (last %llds ago): the nft sets are incomplete; see the daemon's log",
				capacity_number(f->daemon.nft_batches_refused, a, sizeof(a)),
				(long long)(now - f->daemon.nft_refused_at));
	} else if (f->have_daemon && f->daemon.nft_batches_split) {
		note = next_note(out);
		if (note)
			snprintf(
				note, sizeof(out->notes[0]),
				"nftables refused %s element batches for their size; the daemon sent each in parts",
				capacity_number(f->daemon.nft_batches_split, a, sizeof(a)));
	}
}

bool capacity_exceeded(const struct capacity_findings *f)
{
	for (int i = 0; i < CAPACITY_COUNT; i++)
		if (f->exceeded[i])
			return true;
	return false;
}
