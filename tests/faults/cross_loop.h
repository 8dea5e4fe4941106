// SPDX-License-Identifier: GPL-2.0-only
/*
 * cross_loop.h - a tenant hammering another tenant's port while a fault test breaks things.
 *
 * One forked child joins the fixture's cgroup, drops to the caller uid and connects, as fast as
 * it can, alternately to 127.0.0.1:port and [::1]:port, one new socket each time, until the
 * parent stops it, CROSS_LOOP_MAX_ATTEMPTS is reached or CROSS_LOOP_MAX_SECONDS have passed.
 * Its counts live in shared memory, so the parent can watch the loop make progress while it
 * injects faults. Loopback only: it never sends a packet off the test's network namespace.
 *
 * Example after a clean run against tenant 2001's listener:
 *	{ .attempts = 5123, .refused = 5123, .other = 0, .succeeded = 0, .v4 = 2562, .v6 = 2561 }
 */
#ifndef TG_TEST_CROSS_LOOP_H
#define TG_TEST_CROSS_LOOP_H

#include <stdint.h>
#include <sys/types.h>

#include "kernel/fixture.h"

#define CROSS_LOOP_MAX_ATTEMPTS 100000000L
#define CROSS_LOOP_MAX_SECONDS	40

/* Why the child stopped. */
enum cross_loop_end {
	CROSS_LOOP_RUNNING = 0,
	CROSS_LOOP_STOPPED,   /* the parent asked: the only end a test accepts */
	CROSS_LOOP_MAX_COUNT, /* CROSS_LOOP_MAX_ATTEMPTS reached */
	CROSS_LOOP_MAX_TIME,  /* CROSS_LOOP_MAX_SECONDS passed */
	CROSS_LOOP_SETUP_FAILED,
};

/* Written by the child only; read by the parent while it runs and after it exits. */
struct cross_loop_counts {
	long attempts;
	long refused;	/* connect() failed with ECONNREFUSED */
	long other;	/* connect() or socket() failed with anything else */
	long succeeded; /* connect() succeeded: slipped through the guard */
	long v4;	/* attempts to 127.0.0.1 */
	long v6;	/* attempts to [::1] */
	int first_other_errno;
	int end;  /* enum cross_loop_end */
	int stop; /* set by the parent */
};

struct cross_loop {
	pid_t pid;
	struct cross_loop_counts *shared; /* MAP_SHARED between parent and child */
};

/* Start the loop as uid against port; returns once the child has made its first attempts. */
void cross_loop_start(struct cross_loop *loop, struct fx *fx, uid_t uid, uint16_t port);

/* Attempts so far, as seen now. */
long cross_loop_attempts(const struct cross_loop *loop);

/* Wait until at least n more attempts than now have been made (the loop is alive). */
void cross_loop_wait_progress(const struct cross_loop *loop, long n);

/* Stop the child, reap it and copy out its final counts. */
void cross_loop_stop(struct cross_loop *loop, struct cross_loop_counts *out);

#endif /* TG_TEST_CROSS_LOOP_H */
