// SPDX-License-Identifier: GPL-2.0-only
/* loader_lock.c - the one lock over load, unload and the daemon's repairs, and the test pause
 * (loader.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "util.h"

#define LOCK_PATH "/run/tunnelguard.lock"

/*
 * Serialise loaders, unloaders and the daemon's repairs across processes. layers_load() holds
 * the lock around both layers and calls loader_load() inside, so the lock counts how deep this
 * process holds it: flock() on a second open file would wait for ourselves.
 */
static int lock_fd = -1;
static unsigned int lock_depth;

static int take_lock(int how)
{
	int fd;

	if (lock_depth) {
		lock_depth++;
		return 0;
	}
	fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_err("cannot open lock file %s: %s\n", LOCK_PATH, strerror(errno));
		return -errno;
	}
	if (flock(fd, how) < 0) {
		int err = -errno;

		if (err != -EWOULDBLOCK)
			pr_err("cannot lock %s: %s\n", LOCK_PATH, strerror(-err));
		close(fd);
		return err;
	}
	lock_fd = fd;
	lock_depth = 1;
	/* Name the holder for status, which waits for it (loader_lock_shared()). */
	if (how & LOCK_EX && ftruncate(fd, 0) == 0 && dprintf(fd, "%d\n", (int)getpid()) < 0)
		pr_debug("cannot write our pid into %s\n", LOCK_PATH);
	return 0;
}

int loader_lock(void)
{
	return take_lock(LOCK_EX);
}

int loader_trylock(void)
{
	return take_lock(LOCK_EX | LOCK_NB);
}

/* The pid the holder wrote into the lock file, or 0 when it has not yet (or cannot be read). */
static pid_t lock_holder(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;
	char *end;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && *end == '\n' && pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* Is pid stopped (SIGSTOP, a debugger, ^Z)? Its state is the field after "(comm)" in stat. */
static bool stopped(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

int loader_lock_shared(unsigned int wait_ms, struct loader_lock_holder *holder)
{
	long long deadline = util_now_ms() + wait_ms;
	int fd;

	memset(holder, 0, sizeof(*holder));
	if (lock_depth) {
		lock_depth++;
		return 0;
	}
	fd = open(LOCK_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno; /* ENOENT: no load ever ran here */
	for (;;) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			lock_fd = fd;
			lock_depth = 1;
			return 0;
		}
		if (errno != EWOULDBLOCK) {
			int err = -errno;

			close(fd);
			return err;
		}
		holder->pid = lock_holder(fd);
		holder->stopped = holder->pid && stopped(holder->pid);
		if (holder->stopped || util_now_ms() >= deadline) {
			close(fd);
			return -EWOULDBLOCK;
		}
		usleep(5000);
	}
}

void loader_unlock(void)
{
	if (lock_depth && --lock_depth == 0) {
		close(lock_fd);
		lock_fd = -1;
	}
}

/*
 * Test-only: with TG_TEST_PAUSE_AT=<step> in the environment, load stops itself with SIGSTOP at
 * that step boundary so that a test can look at the state there and SIGKILL it
 * (tests/kernel/test_state.c). Compiled in but inert unless the variable is set; it never
 * changes what load does, only when it runs, which a root caller can do anyway.
 */
void loader_test_pause(const char *step)
{
	const char *at = getenv("TG_TEST_PAUSE_AT");

	if (at && strcmp(at, step) == 0)
		raise(SIGSTOP);
}
