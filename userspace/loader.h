// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.h - putting the guard in force, replacing it, and removing it.
 *
 * Everything lives under the pin dir (default /sys/fs/bpf/tunnelguard), see tg_maps.h for names.
 * Enforcement is held by the pinned links, so it outlives the process that loaded it.
 */
#ifndef TG_LOADER_H
#define TG_LOADER_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

#define LOADER_DEFAULT_PIN_DIR "/sys/fs/bpf/tunnelguard"

struct loader_opts {
	const char *pin_dir;
	const char *cgroup; /* NULL: the root of the cgroup v2 hierarchy */
	bool no_self_test;  /* skip proving the guard with a probe connect (selftest.h) */
};

/*
 * Load the programs with cfg and attach them, or, when a guard is already pinned in pin_dir,
 * swap its programs for new ones through bpf_link_update(): the kernel switches each hook from
 * the old program to the new one in one step, so no connect runs without a guard. Counters and
 * the local address trie are reused across a swap. On failure everything this call changed is
 * undone and the previous guard (if any) stays in force. 0 or -errno, with the reason printed.
 * A pin that was deleted is put back: programs, config and maps from what the links run, links
 * by attaching the hook again.
 */
int loader_load(const struct tg_config *cfg, const struct loader_opts *opts);

/* Detach and unpin everything under pin_dir, then remove it. 0 (also when nothing was loaded). */
int loader_unload(const char *pin_dir);

/*
 * Take /run/tunnelguard.lock, which serialises every load, unload and daemon repair on the
 * host; nested calls in one process only count. 0 or -errno (printed). loader_unlock() drops one.
 */
int loader_lock(void);
/* The same without waiting: -EWOULDBLOCK (not printed) while another process holds it. */
int loader_trylock(void);
void loader_unlock(void);

/* Who holds the lock that loader_lock_shared() gave up on: pid 0 when it did not say. */
struct loader_lock_holder {
	pid_t pid;
	bool stopped; /* stopped mid-way (SIGSTOP, ^Z, a debugger): waiting would not end */
};

/*
 * Take the lock shared, for a reader that must not see a load, unload or repair half done:
 * waits up to wait_ms for the holder to finish, and never for a stopped one. 0 (release with
 * loader_unlock()), -EWOULDBLOCK with *holder filled, -ENOENT when no load ever made the lock
 * file, or another -errno. Prints nothing: the reader goes on without the lock and says so.
 */
int loader_lock_shared(unsigned int wait_ms, struct loader_lock_holder *holder);

/* Test-only pause at a named step boundary of load (TG_TEST_PAUSE_AT); inert unless set. */
void loader_test_pause(const char *step);

#endif /* TG_LOADER_H */
