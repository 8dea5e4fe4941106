// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listeners.h"
#include "util.h"

#define ADDRS_PER_PORT	     1000
#define FIRST_PORT	     40000
#define LISTENERS_PER_HOLDER 15000

static void listener_addr(size_t i, struct sockaddr_in *sin)
{
	size_t a = i % ADDRS_PER_PORT;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr =
		htonl(0x7f0a0000u | (uint32_t)(a / 250) << 8 | (uint32_t)(a % 250 + 1));
	sin->sin_port = htons((uint16_t)(FIRST_PORT + i / ADDRS_PER_PORT));
}

static int open_one(size_t i, uid_t owner)
{
	struct sockaddr_in sin;
	int fd, err = 0;

	listener_addr(i, &sin);
	/* A socket's owner (sk_uid) is the fsuid of the task that creates it. */
	setfsuid(owner);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		err = -errno;
	setfsuid(0);
	if (err)
		return err;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Keep the holder's sockets with index < active listening, the others not. 0 or -errno. */
static int holder_set_active(int *fds, size_t first, size_t last, size_t active)
{
	size_t i;

	for (i = first; i < last; i++) {
		bool want = i < active;

		if (want && listen(fds[i - first], 16) < 0)
			return -errno;
		/* ENOTCONN: it was not listening already. */
		if (!want && shutdown(fds[i - first], SHUT_RD) < 0 && errno != ENOTCONN)
			return -errno;
	}
	return 0;
}

/*
 * Holder process: open listeners first..last-1 and report; then, for every size_t received,
 * keep that many (counted from listener 0) listening and report; exit when the pipe closes.
 */
static void __attribute__((noreturn))
holder_main(int fd, size_t first, size_t last, const uid_t *owners, size_t nowners, pid_t parent)
{
	static int fds[LISTENERS_PER_HOLDER];
	struct rlimit lim;
	size_t i, active;
	int err = 0, sock;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Descriptors inherited from the parent (BPF objects, pipes) are not ours to keep. */
	if (dup2(fd, 3) < 0)
		_exit(1);
	fd = 3;
	close_range(4, ~0u, 0);
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	for (i = first; i < last && !err; i++) {
		sock = open_one(i, owners[i % nowners]);
		if (sock < 0) {
			struct sockaddr_in sin;
			char text[INET_ADDRSTRLEN];

			err = sock;
			listener_addr(i, &sin);
			inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
			fprintf(stderr, "tg-bench: cannot listen on %s:%u (listener %zu): %s\n",
				text, ntohs(sin.sin_port), i + 1, strerror(-err));
		}
		fds[i - first] = sock;
	}
	if (write(fd, &err, sizeof(err)) != sizeof(err) || err)
		_exit(1);
	while (read(fd, &active, sizeof(active)) == sizeof(active)) {
		err = holder_set_active(fds, first, last, active);
		if (write(fd, &err, sizeof(err)) != sizeof(err))
			break;
	}
	_exit(0);
}

static int start_holder(struct listeners *l, size_t first, size_t last, const uid_t *owners,
			size_t nowners)
{
	pid_t parent = getpid();
	int sv[2], status = 0;
	pid_t pid;

	if (l->nholders == LISTENERS_MAX_HOLDERS)
		return -ENOSPC;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		status = -errno;
		close(sv[0]);
		close(sv[1]);
		return status;
	}
	if (pid == 0) {
		close(sv[0]);
		holder_main(sv[1], first, last, owners, nowners, parent);
	}
	close(sv[1]);
	l->holder[l->nholders] = pid;
	l->holder_fd[l->nholders++] = sv[0];
	for (;;) {
		ssize_t r = read(sv[0], &status, sizeof(status));

		if (r == sizeof(status))
			return status;
		if (r >= 0 || errno != EINTR)
			return -EIO; /* the holder died; it said why */
		if (bench_stop)
			return -EINTR;
	}
}

int listeners_open(struct listeners *l, size_t n, const uid_t *owners, size_t nowners)
{
	size_t last;
	int err;

	while (l->n < n) {
		if (bench_stop)
			return -EINTR;
		last = l->n + LISTENERS_PER_HOLDER < n ? l->n + LISTENERS_PER_HOLDER : n;
		err = start_holder(l, l->n, last, owners, nowners);
		if (err)
			return err;
		l->n = last;
	}
	l->active = n;
	return 0;
}

int listeners_set_active(struct listeners *l, size_t n)
{
	unsigned int i;
	int err = 0, status;

	if (n > l->n)
		return -ERANGE;
	/* All holders at once: they toggle in parallel. */
	for (i = 0; i < l->nholders; i++)
		if (write(l->holder_fd[i], &n, sizeof(n)) != sizeof(n))
			err = -EIO;
	for (i = 0; i < l->nholders; i++) {
		ssize_t r;

		while ((r = read(l->holder_fd[i], &status, sizeof(status))) < 0 && errno == EINTR)
			;
		if (r != sizeof(status))
			err = -EIO;
		else if (status && !err)
			err = status;
	}
	if (err) {
		fprintf(stderr, "tg-bench: cannot set %zu listeners listening: %s\n", n,
			strerror(-err));
		return err;
	}
	l->active = n;
	return 0;
}

void listeners_close(struct listeners *l)
{
	unsigned int i;

	for (i = 0; i < l->nholders; i++) {
		kill(l->holder[i], SIGKILL);
		while (waitpid(l->holder[i], NULL, 0) < 0 && errno == EINTR)
			;
		close(l->holder_fd[i]);
	}
	l->nholders = 0;
	l->n = 0;
	l->active = 0;
}
