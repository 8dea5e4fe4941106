// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ops.c - what `make install` ships: one Test per scenario of tests/ops/ops.sh, which says
 * what each checks (install layout, systemd-analyze verify, man pages, bash completion). The
 * script works in its own temp dir and never touches the host's /etc, units or pin dir.
 *
 * Exit 0 passes; 77 is a skip with the reason on the script's "SKIP: " line; anything else
 * fails and prints the script's output. None needs root: `install` writes to a DESTDIR, and
 * `units` verifies with --root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define OPS_SCRIPT    "tests/ops/ops.sh"
#define OPS_EXIT_SKIP 77

static void run_scenario(const char *scenario)
{
	char out_path[] = "/tmp/tg-ops-out.XXXXXX";
	char command[512], output[16384] = "", *skip;
	size_t n = 0;
	FILE *f;
	int fd, status;

	fd = mkstemp(out_path);
	cr_assert_geq(fd, 0, "%s: cannot create an output file in /tmp", scenario);
	close(fd);
	/* The install scenario runs make: 120 s covers a rebuild of the binary if it is stale. */
	snprintf(command, sizeof(command), "timeout 120 bash %s %s >%s 2>&1", OPS_SCRIPT, scenario,
		 out_path);
	status = system(command);
	f = fopen(out_path, "r");
	if (f) {
		n = fread(output, 1, sizeof(output) - 1, f);
		fclose(f);
	}
	output[n] = '\0';
	unlink(out_path);
	cr_assert(WIFEXITED(status), "%s: the script did not exit normally (status %d)", scenario,
		  status);
	if (WEXITSTATUS(status) == OPS_EXIT_SKIP) {
		skip = strstr(output, "SKIP: ");
		cr_skip_test("%s: %.*s", scenario, skip ? (int)strcspn(skip + 6, "\n") : 20,
			     skip ? skip + 6 : "no reason given");
	}
	cr_assert_eq(WEXITSTATUS(status), 0, "%s: exit %d:\n%s", scenario, WEXITSTATUS(status),
		     output);
}

Test(ops, install, .timeout = 150)
{
	run_scenario("install");
}

Test(ops, units, .timeout = 150)
{
	run_scenario("units");
}

Test(ops, man, .timeout = 60)
{
	run_scenario("man");
}

Test(ops, completion, .timeout = 60)
{
	run_scenario("completion");
}
