// SPDX-License-Identifier: GPL-2.0-only
/*
 * listeners.h - many idle listening sockets, to show whether the guard's cost grows with them.
 *
 * Listener i is bound to 127.10.(a / 250).(a % 250 + 1):(40000 + i / 1000) with a = i % 1000,
 * so 1,000 addresses of 127.0.0.0/8 are filled one port at a time, and it is owned by
 * owners[i % nowners] (created under setfsuid(), which sets a socket's owner). They sit beside
 * the workers' own listeners on 127.0.0.1 and are never connected to.
 *
 * All of them are opened once; listeners_set_active() then keeps the first n listening and the
 * rest bound but not listening (shutdown(SHUT_RD) takes a listener out of the kernel's listener
 * table, listen() puts it back, a few microseconds each), so the listener counts can alternate
 * within one run like any other configuration.
 *
 * A process may hold only RLIMIT_NOFILE descriptors, and the hard limit cannot always be raised
 * (no CAP_SYS_RESOURCE in some sandboxes), so the sockets live in forked holder processes of at
 * most LISTENERS_PER_HOLDER each; a holder dies with the benchmark.
 */
#ifndef TG_BENCH_LISTENERS_H
#define TG_BENCH_LISTENERS_H

#include <stddef.h>
#include <sys/types.h>

#define LISTENERS_MAX_HOLDERS 64

struct listeners {
	size_t n;      /* sockets open */
	size_t active; /* of which listening: the first ones */
	unsigned int nholders;
	pid_t holder[LISTENERS_MAX_HOLDERS];
	int holder_fd[LISTENERS_MAX_HOLDERS]; /* its pipe: closing it lets the holder exit */
};

#define LISTENERS_INIT \
	{              \
		.n = 0 \
	}

/* Open n listeners, all listening. 0 or -errno, with the reason printed. */
int listeners_open(struct listeners *l, size_t n, const uid_t *owners, size_t nowners);

/* Keep the first n listening and the others not. 0 or -errno. */
int listeners_set_active(struct listeners *l, size_t n);

/* Close them all (kill and reap the holders). */
void listeners_close(struct listeners *l);

#endif /* TG_BENCH_LISTENERS_H */
