// SPDX-License-Identifier: GPL-2.0-only
/*
 * events.h - turning tg_events records into log lines, and reading the ring buffer.
 *
 * key=value (default):
 *	time=2026-11-26T01:02:03.456Z verdict=deny reason=deny_other_tenant caller_uid=2002
 *	caller=bob pid=4242 comm=nc dst=127.0.0.1 port=8001 owner_uid=2001 owner=alice
 * Text lines are logfmt: a value with a space, '=', '"', '\\', a control character or invalid
 * UTF-8 is quoted and escaped as logfmt parsers read it (comm="evil \\" x=1"); others are written
 * as they are; "-" stands for an unknown name.
 * --json: the same fields in one JSON object per line, always with "time" (RFC 3339 UTC, ms);
 * unknown names (caller, owner) are null.
 * Every field that a tenant controls (comm, names) is escaped the UTF-8-safe way of quote.h:
 * valid UTF-8 passes ("é"), control bytes and invalid sequences are escaped, so an event cannot
 * forge or split log lines.
 */
#ifndef TG_EVENTS_OUT_H
#define TG_EVENTS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tg_events.h"

struct ring_buffer;

/* Now as RFC 3339 UTC with milliseconds: 2026-11-26T01:02:03.456Z. */
void events_time_now(char *buf, size_t len);

/*
 * The daemon's report of events the kernel held back, with its time, as one line:
 *	time=2026-11-26T01:02:03.456Z suppressed rate_limited=3 lost=0
 *	{"time":"2026-11-26T01:02:03.456Z","suppressed":{"rate_limited":3,"lost":0}}
 * Returns the length, or -ENOSPC.
 */
int events_format_suppressed(unsigned long long rate_limited, unsigned long long lost, bool json,
			     char *buf, size_t len);

/* Format e into buf as one line with its newline. Returns the length, or -ENOSPC. */
int events_format(const struct tg_event *e, bool json, char *buf, size_t len);

struct events_reader {
	struct ring_buffer *rb;
	FILE *out;
	bool json;
	unsigned long long printed;
};

/* Open the pinned ring buffer of pin_dir for reading into out. 0 or -errno. */
int events_open(struct events_reader *r, const char *pin_dir, bool json, FILE *out);

/* Wait up to timeout_ms for events and print them. Number printed, or -errno. */
int events_poll(struct events_reader *r, int timeout_ms);

void events_close(struct events_reader *r);

/*
 * The lock that makes one reader of a pin dir's events: the ring buffer has a single consumer.
 * Returns an fd holding the lock, -EWOULDBLOCK with *holder set to the pid of the holder, or
 * another -errno.
 */
int events_lock(const char *pin_dir, pid_t *holder);

#endif /* TG_EVENTS_OUT_H */
