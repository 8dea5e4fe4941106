// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracer.h - the guard's host-wide tracer (tg_listen_state on the raw tracepoint
 * inet_sock_set_state) and an empty program on the same tracepoint, switched on and off between
 * slots.
 *
 * A raw tracepoint is not tied to a cgroup: while tg_listen_state is attached it runs on every TCP
 * state change of the host, in every configuration. So, like the nft table's dormant flag, it is
 * attached only for the slots that measure it. `tunnelguard load` pins its link as link_listen in
 * the guard's pin dir; tracer_open() takes the program from that link, and the first
 * tracer_set(t, false) removes the pin and closes the link (detaching it at once: the last
 * reference goes with close(), not with a deferred bpffs eviction). From then on each
 * tracer_set(t, true) makes a link of our own with bpf_raw_tracepoint_open() and each
 * tracer_set(t, false) closes it. tracer_pin_back() attaches it and pins the link again under
 * link_listen, so that the CLI, the daemon and the listeners' state changes of the other phases
 * see the guard as `load` left it.
 *
 * Example: a block with the slots BASE GUARD GUARD BASE: before BASE tracer_set(false) (pin
 * removed, link closed), before GUARD tracer_set(true) (a new link), before the second GUARD
 * nothing changes, before BASE tracer_set(false) (the link closed).
 */
#ifndef TG_BENCH_TRACER_H
#define TG_BENCH_TRACER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define TRACER_TRACEPOINT "inet_sock_set_state"

struct raw_tp {
	int prog_fd; /* -1 when none */
	int link_fd; /* our link, -1 when none */
};

struct tracer {
	char pin[PATH_MAX];   /* <pin dir>/link_listen */
	bool pinned;	      /* the pin holds an attached link (as `load` left it) */
	struct raw_tp guard;  /* tg_listen_state */
	struct raw_tp empty;  /* the empty raw_tp program (prog_fd borrowed from the skeleton) */
	unsigned int changes; /* attach or detach calls made between slots */
};

#define TRACER_INIT                                        \
	{                                                  \
		.guard = { .prog_fd = -1, .link_fd = -1 }, \
		.empty = { .prog_fd = -1, .link_fd = -1 }, \
	}

/* Take tg_listen_state from the link pinned in pin_dir (pinned, attached). 0 or -errno, with the
 * reason printed. Again after a `load` that may have replaced the program. */
int tracer_open(struct tracer *t, const char *pin_dir);

/* Is tg_listen_state attached now? */
bool tracer_attached(const struct tracer *t);

/* Attach or detach tg_listen_state; nothing when it already is as asked. 1 when it changed, 0
 * when not, or -errno with the reason printed. */
int tracer_set(struct tracer *t, bool on);

/* The same for the empty program on the same tracepoint (empty_fd: its program). */
int tracer_set_empty(struct tracer *t, int empty_fd, bool on);

/* Attach tg_listen_state and pin its link as `load` does, if it is not so already. 0 or -errno. */
int tracer_pin_back(struct tracer *t);

/* Detach the empty program, put the guard's tracer back under its pin, close the fds. */
void tracer_close(struct tracer *t);

#endif /* TG_BENCH_TRACER_H */
