// SPDX-License-Identifier: GPL-2.0-only
/* procs.h - which process holds a socket: /proc/PID/fd links "socket:[INODE]" for display. */
#ifndef TG_PROCS_H
#define TG_PROCS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_socket_owner {
	uint64_t inode; /* in: socket inode from sock_diag */
	pid_t pid;	/* out: first process found holding it, 0 when none */
	char name[64];	/* out: its command line as ps shows it ("sshd: alice"), or "" */
};

/* Fill pid and name for each entry, scanning /proc once. 0 or -errno. */
int procs_find_socket_owners(struct proc_socket_owner *owners, size_t count);

/* The command line of pid as one line (NULs as spaces), or its comm. 0 or -errno. */
int procs_name(pid_t pid, char *buf, size_t len);

#endif /* TG_PROCS_H */
