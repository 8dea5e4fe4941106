// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.h - `tunnelguard daemon`: a foreground service that loads the guard when it is not in
 * force, prints one line per refused connect, keeps tg_port_owner and tg_local_addrs in step
 * with the kernel, and the nft layer's sets with the listeners (from the bind and close hooks'
 * owner events at once, and by a full sync every interval), repairing drift it finds. SIGHUP
 * reloads the config with the same no-gap swap as `load`; SIGTERM and SIGINT exit and leave the
 * guard in force. Killing it changes nothing in the kernel: a restarted daemon resynchronises.
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *config; /* NULL: the default path */
	const char *pin_dir;
	const char *cgroup; /* where to attach when it has to load; NULL: the v2 root */
	bool no_self_test;  /* passed to the loader */
	bool json;
	unsigned int interval_ms; /* full reconciliation period */
};

/* Runs until SIGTERM or SIGINT. 0, or -errno when it could not start. */
int daemon_run(const struct daemon_opts *opts);

#endif /* TG_DAEMON_H */
