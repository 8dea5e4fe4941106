// SPDX-License-Identifier: GPL-2.0-only
/*
 * load, swap, status, check and unload through the real CLI on the real kernel. Needs root;
 * each test runs in its own network namespace and cgroup (fixture.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_policy.h"
#include "tg_maps.h"

#include "config.h"
#include "fixture.h"
#include "loader.h"

#define TENANT_A 2001
#define TENANT_B 2002
/* The BPF layer alone: without a daemon the nft sets do not follow listeners made after load, and
 * status would report that as drift. Both layers are tested in test_layers.c. */
#define CONFIG "tenant-uids = 2001-2003\nlayers = bpf\n"

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static void assert_pinned(const char *name, int expected)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, name);
	cr_assert_eq(access(path, F_OK) == 0, expected, "%s should %sbe pinned", path,
		     expected ? "" : "not ");
}

/* The value of "key":NUMBER in status --json output, or -1. */
static long long json_number(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

static long long status_number(const char *key)
{
	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status: %s", fx.output);
	return json_number(fx.output, key);
}

Test(lifecycle, load_pins_attaches_and_unload_removes_all, .init = setup, .fini = teardown)
{
	static const char *const pins[] = {
		TG_PIN_LINK_CONNECT4, TG_PIN_LINK_CONNECT6, TG_PIN_LINK_RELEASE,
		TG_PIN_PROG_CONNECT4, TG_PIN_PROG_CONNECT6, TG_PIN_COUNTERS,
		TG_PIN_LOCAL_ADDRS,   TG_PIN_CONFIG,	    TG_PIN_PORT_OWNER,
		TG_PIN_EVENTS,	      TG_PIN_EVENT_RATE,    TG_PIN_STATS,
	};

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		assert_pinned(pins[i], 1);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 1);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET6_CONNECT), 1);

	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0, "%s",
		     fx.output);
	cr_assert(strstr(fx.output, "\"loaded\":true"), "status: %s", fx.output);
	cr_assert(strstr(fx.output, "\"mode\":\"enforce\""), "status: %s", fx.output);
	cr_assert(strstr(fx.output, "\"policy\":\"isolate\""), "status: %s", fx.output);
	cr_assert(strstr(fx.output, "\"deny_errno\":\"ECONNREFUSED\""), "status: %s", fx.output);
	cr_assert(strstr(fx.output, "\"tenant_uids\":[{\"first\":2001,\"last\":2003}]"),
		  "status: %s", fx.output);
	cr_assert(strstr(fx.output, fx.cgroup), "status names the cgroup: %s", fx.output);

	cr_assert_eq(fx_unload(&fx), 0, "unload: %s", fx.output);
	cr_assert_eq(access(fx.pin_dir, F_OK), -1, "pin dir %s still exists", fx.pin_dir);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 0);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET6_CONNECT), 0);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 3,
		     "status after unload: %s", fx.output);
	cr_assert_eq(fx_unload(&fx), 0, "a second unload is not an error: %s", fx.output);
}

Test(lifecycle, enforcement_outlives_the_loader_and_is_counted, .init = setup, .fini = teardown)
{
	struct fx_listener v4, v6;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	v4 = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	v6 = fx_listen(TENANT_A, "::1", 8001, true);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", 8001), ECONNREFUSED);
	cr_expect_eq(fx_connect_as(&fx, TENANT_A, AF_INET, "127.0.0.1", 8001), 0);
	cr_expect_eq(fx_connect_as(&fx, 0, AF_INET6, "::1", 8001), 0);
	fx_listener_stop(&v4);
	fx_listener_stop(&v6);
	/* Two refusals, and load's own self-test probe. */
	cr_assert_eq(status_number("deny_other_tenant"), 2 + 1, "status: %s", fx.output);
	cr_assert_eq(status_number("allow_own"), 1, "status: %s", fx.output);
}

Test(lifecycle, bad_config_leaves_the_loaded_guard_untouched, .init = setup, .fini = teardown)
{
	char expected[PATH_MAX + 16];
	long long prog4;
	struct fx_listener l;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	prog4 = status_number("connect4");
	fx_write_config(&fx, "# a typo\ntenant-uids = 2001-2003\nbogus-key = 1\n");
	cr_assert_eq(fx_load(&fx), 2, "load of a bad config must exit 2: %s", fx.output);
	snprintf(expected, sizeof(expected), "%s:3:", fx.config);
	cr_assert(strstr(fx.output, expected), "error names FILE:LINE (%s): %s", expected,
		  fx.output);
	cr_assert_eq(status_number("connect4"), prog4, "the program changed: %s", fx.output);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
}

Test(lifecycle, missing_config_file_is_an_error, .init = setup, .fini = teardown)
{
	cr_assert_eq(fx_load(&fx), 2, "load with a missing explicit config: %s", fx.output);
	cr_assert(strstr(fx.output, fx.config), "error names the file: %s", fx.output);
	cr_assert_eq(access(fx.pin_dir, F_OK), -1, "nothing may be pinned");
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 0);
}

/*
 * The CLI refuses a --cgroup that is not cgroup v2 before anything happens; the loader itself,
 * given one, fails at attach and rolls back what it pinned.
 */
Test(lifecycle, failed_attach_rolls_back, .init = setup, .fini = teardown)
{
	struct loader_opts opts = { .pin_dir = fx.pin_dir, .cgroup = "/proc" };
	struct tg_config cfg;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_cli(&fx, "load", "-c", fx.config, "--pin-dir", fx.pin_dir, "--cgroup",
			    "/proc", NULL),
		     2, "attaching to a non-cgroup must be refused: %s", fx.output);
	cr_assert(strstr(fx.output, "--cgroup /proc is not a cgroup"), "%s", fx.output);
	cr_assert_eq(access(fx.pin_dir, F_OK), -1, "pin dir %s left behind", fx.pin_dir);
	cr_assert_eq(cfg_load(fx.config, &cfg), 0);
	cr_assert_neq(loader_load(&cfg, &opts), 0, "the loader attached to /proc");
	cr_assert_eq(access(fx.pin_dir, F_OK), -1, "pin dir %s left behind by the loader",
		     fx.pin_dir);
}

Test(lifecycle, load_repairs_a_half_removed_guard, .init = setup, .fini = teardown)
{
	char path[PATH_MAX + 64];
	struct fx_listener l;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	snprintf(path, sizeof(path), "%s/" TG_PIN_LINK_CONNECT6, fx.pin_dir);
	cr_assert_eq(unlink(path), 0, "unlink %s", path);
	/* The kernel frees an unpinned link after an RCU grace period, not at once. */
	for (int i = 0; i < 200 && fx_cgroup_prog_count(&fx, BPF_CGROUP_INET6_CONNECT); i++)
		usleep(10000);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET6_CONNECT), 0);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 1,
		     "status must report the missing link: %s", fx.output);
	cr_assert(strstr(fx.output, TG_PIN_LINK_CONNECT6), "status: %s", fx.output);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET6_CONNECT), 1);
	l = fx_listen(TENANT_A, "::1", 8001, true);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
}

/*
 * A tenant hammers another tenant's port while the config is swapped again and again: not one
 * connect may succeed, and the deny counter must equal the number of attempts.
 */
Test(lifecycle, swap_has_no_gap, .init = setup, .fini = teardown)
{
	static const char *const configs[] = {
		CONFIG,
		CONFIG "policy = strict\nallow-ports = 9999\n",
		CONFIG "deny-errno = econnrefused\nexempt-uids = 2003\n",
	};
	int stop[2], result[2], status;
	long counts[3] = {}, link4, prog4;
	struct fx_listener l;
	pid_t pid;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	link4 = status_number("connect4");
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_assert_eq(pipe(stop), 0);
	cr_assert_eq(pipe(result), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* counts: attempts, refused, succeeded; at most 200000 attempts */
		close(stop[1]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		do {
			int got = fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001);

			counts[0]++;
			counts[got == ECONNREFUSED ? 1 : 2]++;
		} while (counts[0] < 200000 && read(stop[0], &status, 1) < 0 && errno == EAGAIN);
		_exit(write(result[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
	}
	close(stop[0]);
	close(result[1]);
	for (int i = 0; i < 30; i++) {
		fx_write_config(&fx, configs[i % 3]);
		cr_assert_eq(fx_load(&fx), 0, "swap %d: %s", i, fx.output);
	}
	prog4 = status_number("connect4");
	close(stop[1]);
	cr_assert_eq(read(result[0], counts, sizeof(counts)), (ssize_t)sizeof(counts));
	waitpid(pid, &status, 0);
	fx_listener_stop(&l);

	cr_assert_gt(counts[0], 30, "the loop ran only %ld connects", counts[0]);
	cr_assert_eq(counts[2], 0, "%ld of %ld connects slipped through during swaps", counts[2],
		     counts[0]);
	cr_assert_eq(counts[1], counts[0], "every connect must be refused");
	/* Every one of the 31 loads refused its own self-test probe as well. */
	cr_assert_eq(status_number("deny_other_tenant"), counts[0] + 31,
		     "deny counter must equal the %ld attempts + 31 probes: %s", counts[0],
		     fx.output);
	cr_assert_eq(status_number("connect4"), prog4);
	cr_assert_neq(prog4, link4, "the program was never swapped");
}

Test(lifecycle, check_answers_from_live_listeners, .init = setup, .fini = teardown)
{
	struct fx_listener v4, v6;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	v4 = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	v6 = fx_listen(TENANT_A, "::1", 8001, true);

	cr_assert_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2002", "--port",
			    "8001", NULL),
		     1, "check uid 2002: %s", fx.output);
	cr_assert(strstr(fx.output, "deny 127.0.0.1:8001 deny_other_tenant owner=2001"), "%s",
		  fx.output);
	cr_assert(strstr(fx.output, "deny [::1]:8001 deny_other_tenant owner=2001"), "%s",
		  fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2001", "--port",
			    "8001", NULL),
		     0, "check uid 2001: %s", fx.output);
	cr_assert(strstr(fx.output, "allow 127.0.0.1:8001 allow_own"), "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2002", "--port",
			    "8001", "--addr", "::ffff:127.0.0.1", NULL),
		     1, "check v4-mapped: %s", fx.output);
	cr_assert_eq(
		fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "0", "--port", "8001", NULL),
		0, "check root: %s", fx.output);
	cr_assert(strstr(fx.output, "allow_not_tenant"), "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2002", "--port",
			    "8002", NULL),
		     0, "check a port nobody listens on: %s", fx.output);
	cr_assert(strstr(fx.output, "allow_no_listener"), "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--uid", "2002", "--port", "8001", "--addr", "nope",
			    "--pin-dir", fx.pin_dir, NULL),
		     2, "a bad address is a usage error: %s", fx.output);
	fx_listener_stop(&v4);
	fx_listener_stop(&v6);
}

/* An address of this host other than loopback, on a veth inside the test's own netns. */
Test(lifecycle, host_address_reaches_a_wildcard_listener, .init = setup, .fini = teardown)
{
	struct fx_listener l;

	cr_assert_eq(system("ip link add tgv0 type veth peer name tgv1 && "
			    "ip addr add 192.0.2.10/24 dev tgv0 && ip link set tgv0 up && "
			    "ip link set tgv1 up"),
		     0, "cannot create a veth pair in the test netns");
	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	l = fx_listen(TENANT_A, "0.0.0.0", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "192.0.2.10", 8001), ECONNREFUSED);
	cr_expect_eq(fx_connect_as(&fx, TENANT_A, AF_INET, "192.0.2.10", 8001), 0);
	fx_listener_stop(&l);
	/* Added after load: not in the trie, but a listener bound to it exactly is still found. */
	cr_assert_eq(system("ip addr add 192.0.2.11/24 dev tgv0"), 0);
	l = fx_listen(TENANT_A, "192.0.2.11", 8002, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "192.0.2.11", 8002), ECONNREFUSED);
	fx_listener_stop(&l);
}

Test(lifecycle, cli_rejects_bad_usage, .init = setup, .fini = teardown)
{
	cr_assert_eq(fx_cli(&fx, "frobnicate", NULL), 2, "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--bogus", NULL), 2, "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--uid", "2001", NULL), 2, "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--uid", "-1", "--port", "80", NULL), 2, "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "check", "--uid", "1", "--port", "65536", NULL), 2, "%s",
		     fx.output);
	cr_assert_eq(fx_cli(&fx, "unload", "--json", NULL), 2, "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, NULL), 2, "%s", fx.output);
}

/* A load whose probe is not refused must fail and leave the previous state (issue: self-test). */
Test(lifecycle, failed_self_test_rolls_back, .init = setup, .fini = teardown)
{
	char elsewhere[PATH_MAX + 16];
	long long prog4;
	struct fx_listener l;

	snprintf(elsewhere, sizeof(elsewhere), "%s-probe", fx.cgroup);
	cr_assert_eq(mkdir(elsewhere, 0755), 0, "mkdir %s", elsewhere);
	fx_write_config(&fx, CONFIG);
	/* Fresh load: the probe runs outside the guarded cgroup, so it gets through. */
	setenv("TUNNELGUARD_SELFTEST_CGROUP", elsewhere, 1);
	cr_expect_eq(fx_load(&fx), 1, "a failed self-test must fail load: %s", fx.output);
	cr_expect(strstr(fx.output, "self-test FAILED"), "%s", fx.output);
	cr_expect_eq(access(fx.pin_dir, F_OK), -1, "nothing may stay pinned");
	cr_expect_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 0);
	unsetenv("TUNNELGUARD_SELFTEST_CGROUP");

	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_expect(strstr(fx.output, "self-test:   passed"), "%s", fx.output);
	prog4 = status_number("connect4");
	/* Swap: the new programs fail their self-test, the old ones must stay. */
	fx_write_config(&fx, CONFIG "policy = strict\n");
	setenv("TUNNELGUARD_SELFTEST_CGROUP", elsewhere, 1);
	cr_expect_eq(fx_load(&fx), 1, "%s", fx.output);
	unsetenv("TUNNELGUARD_SELFTEST_CGROUP");
	cr_expect_eq(status_number("connect4"), prog4, "the previous program must stay");
	cr_expect(strstr(fx.output, "\"policy\":\"isolate\""), "previous policy: %s", fx.output);
	/* The failed record is of the programs rolled back, not of the ones that run. */
	cr_expect(strstr(fx.output, "\"self_test\":{\"result\":\"not run for the running "
				    "programs\",\"recorded\":\"FAILED\""),
		  "%s", fx.output);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
	rmdir(elsewhere);
}

/*
 * A self-test that cannot set itself up names the step and what it needs: here load runs with
 * CAP_SETUID and CAP_SETGID out of its bounding set (as under a unit that forgot them), so the
 * probe cannot become the caller. The load fails and leaves nothing behind.
 */
Test(lifecycle, self_test_names_a_missing_capability, .init = setup, .fini = teardown)
{
	char cmd[3 * PATH_MAX + 256], out[4096];

	fx_write_config(&fx, CONFIG);
	snprintf(cmd, sizeof(cmd),
		 "setpriv --bounding-set -setuid,-setgid %s load -c %s --pin-dir %s --cgroup %s "
		 "2>&1",
		 fx_binary(), fx.config, fx.pin_dir, fx.cgroup);
	cr_expect_eq(fx_run(cmd, out, sizeof(out)), 1, "load without CAP_SETUID: %s", out);
	cr_expect(strstr(out, "self-test probe could not drop to uid 200"), "%s", out);
	cr_expect(strstr(out, "(needs CAP_SETUID and CAP_SETGID): Operation not permitted"), "%s",
		  out);
	cr_expect_null(strstr(out, "network namespace"), "blames namespaces: %s", out);
	cr_expect_eq(access(fx.pin_dir, F_OK), -1, "nothing may stay pinned");
	cr_expect_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 0);
}

Test(lifecycle, no_self_test_says_what_it_skips, .init = setup, .fini = teardown)
{
	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_cli(&fx, "load", "--no-self-test", "-c", fx.config, "--pin-dir", fx.pin_dir,
			    "--cgroup", fx.cgroup, NULL),
		     0, "%s", fx.output);
	cr_expect(strstr(fx.output, "self-test skipped"), "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_expect(strstr(fx.output, "self-test:   skipped"), "%s", fx.output);
}

/*
 * The self-test picks its probe with the decision function: an allow rule that opens every port
 * to one tenant must not make load fail (the probe then uses another caller), and a policy that
 * opens everything to every tenant skips the self-test rather than failing it.
 */
Test(lifecycle, self_test_probes_where_the_policy_refuses, .init = setup, .fini = teardown)
{
	static const struct {
		const char *config;
		const char *want;
	} cases[] = {
		{ "tenant-uids = 2001-2003\nlayers = bpf\nallow = 2002:1-65535\n", "passed" },
		{ "tenant-uids = 2001-2003\nlayers = bpf\nallow-ports = 1-47111\n", "passed" },
		{ "tenant-uids = 2001-2002\nlayers = bpf\nallow = 2001:1-65535\n"
		  "allow = 2002:1-65535\n",
		  "skipped" },
	};
	char want[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_write_config(&fx, cases[i].config);
		cr_assert_eq(fx_load(&fx), 0, "case %zu: load: %s", i, fx.output);
		cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s",
			     fx.output);
		snprintf(want, sizeof(want), "self-test:   %s", cases[i].want);
		cr_expect(strstr(fx.output, want), "case %zu: %s", i, fx.output);
		cr_assert_eq(fx_unload(&fx), 0, "%s", fx.output);
	}
}
