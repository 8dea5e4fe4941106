// SPDX-License-Identifier: GPL-2.0-only
/*
 * selftest.h - proving at load time that the guard refuses what it must.
 *
 * A forked probe joins the attach cgroup, moves to a throwaway network namespace, opens a
 * listener owned by one tenant uid (through its fsuid) and connects as another tenant uid. In
 * enforce mode the connect must fail with the guard's errno and the deny counter must rise; in
 * audit mode it must connect and the audit counter must rise. The probe touches nothing outside
 * its own network namespace.
 */
#ifndef TG_SELFTEST_H
#define TG_SELFTEST_H

#include <stddef.h>

#include "tg_maps.h"
#include "tg_policy.h"

#include "policy.h"

/* Test-only: run the probe in this cgroup instead of the attach cgroup (makes it fail). */
#define SELFTEST_CGROUP_ENV "TUNNELGUARD_SELFTEST_CGROUP"

/*
 * Run the probe against the guard pinned in pin_dir, attached to cgroup, running policy with
 * refusals carrying deny_errno. Fills *out (result, probe errno, time) and a message for a person.
 * Returns 0 when the probe passed or was skipped (too few tenant uids), -EPERM when it got
 * through, or another -errno when it could not run.
 */
int selftest_run(const struct tg_policy *policy, unsigned int deny_errno, const char *cgroup,
		 const char *pin_dir, struct tg_selftest *out, char *message, size_t len);

#endif /* TG_SELFTEST_H */
