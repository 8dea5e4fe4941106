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
