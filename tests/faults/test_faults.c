// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault loops (issue 7 item 4): tenant 2002 hammers tenant 2001's listeners on 127.0.0.1 and
 * [::1] from inside the test cgroup while the guard's userspace is broken in every way an
 * operator or a crash can break it: the daemon SIGKILLed and restarted, the config reloaded
 * through SIGHUP and through `load`, the policy swapped, bad configs offered. Whatever happens
 * in userspace, the kernel must refuse every single connect and count every refusal.
 *
 * Needs root; each test runs in its own network namespace and cgroup (kernel/fixture.h). Each
 * prints one line such as `faults: daemon-kill: 5123 attempts, 5123 refused, 0 slipped through`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"
#include "tg_policy.h"

#include "cross_loop.h"
#include "kernel/fixture.h"

#define TENANT_A 2001 /* owns the listeners */
#define TENANT_B 2002 /* hammers them */
#define PORT	 8001
/* The BPF layer alone: without a daemon the nft sets do not follow listeners made after load, and
 * status would report that as drift. Both layers are tested in test_layers.c. */
#define CONFIG "tenant-uids = 2001-2003\nlayers = bpf\n"

static struct fx fx;

/*
 * Every load here runs without its self-test: the probe is a real refusal that would add one
 * to the deny counter per successful load (and SIGHUPs may coalesce, so the number of loads is
 * not known exactly), while these tests demand deny counter == attempts exactly. The self-test
 * has its own tests in tests/kernel/test_lifecycle.c.
 */
static int load_without_probe(void)
{
	return fx_cli(&fx, "load", "--no-self-test", "-c", fx.config, "--pin-dir", fx.pin_dir,
		      "--cgroup", fx.cgroup, NULL);
}
static struct cross_loop loop = { .pid = -1 };
static struct fx_listener v4 = { .pid = -1 }, v6 = { .pid = -1 };
static pid_t daemon_pid = -1;
static unsigned long long deny_before;
static __u32 counters_id_before;

static void setup(void)
{
	fx_setup(&fx);
}

/* Whatever an assertion left running goes before the fixture removes the cgroup. */
static void teardown(void)
{
	if (loop.pid > 0) {
		kill(loop.pid, SIGKILL);
		waitpid(loop.pid, NULL, 0);
		loop.pid = -1;
	}
	if (daemon_pid > 0) {
		fx_daemon_stop(daemon_pid, SIGKILL);
		daemon_pid = -1;
	}
	fx_listener_stop(&v4);
	fx_listener_stop(&v6);
	fx_teardown(&fx);
}

static void load(const char *config)
{
	fx_write_config(&fx, config);
	cr_assert_eq(load_without_probe(), 0, "load: %s", fx.output);
}

/* Write exactly len bytes, NULs included, as the config. */
static void write_config_bytes(const char *text, size_t len)
{
	int fd = open(fx.config, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert_geq(fd, 0, "cannot write %s: %s", fx.config, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len, "short write to %s", fx.config);
	close(fd);
}

/* status --json of the fixture's guard; it must be loaded and complete. */
static const char *status_json(void)
{
	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status: %s", fx.output);
	cr_assert(strstr(fx.output, "\"loaded\":true,\"complete\":true"), "status: %s", fx.output);
	return fx.output;
}

/* The value of "key":NUMBER in JSON, or -1. */
static long long json_number(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

static long long prog_id(void)
{
	return json_number(status_json(), "connect4");
}

static void assert_policy(const char *policy, const char *what)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"policy\":\"%s\"", policy);
	cr_assert(strstr(status_json(), needle), "%s: expected policy %s: %s", what, policy,
		  fx.output);
}

static bool daemon_ready(void)
{
	return fx_daemon_ready(&fx, 5000);
}

static void daemon_start(void)
{
	daemon_pid = fx_daemon_start(&fx, "--interval", "200", "--no-self-test", NULL);
	cr_assert(daemon_ready(), "daemon did not start: see %s", fx.daemon_err);
}

static void daemon_stop(void)
{
	cr_assert_eq(fx_daemon_stop(daemon_pid, SIGTERM), 0, "SIGTERM must exit 0");
	daemon_pid = -1;
}

/* SIGHUP the daemon and wait until it has logged the `want`-th line containing text. */
static void sighup_and_wait(const char *text, long want)
{
	cr_assert_eq(kill(daemon_pid, SIGHUP), 0, "kill SIGHUP: %s", strerror(errno));
	for (int i = 0; i < 500 && fx_count_lines(fx.daemon_err, text) < want; i++)
		usleep(10000);
	cr_assert_eq(fx_count_lines(fx.daemon_err, text), want,
		     "SIGHUP %ld: the daemon did not log '%s'", want, text);
}

/*
 * The kernel id of the pinned counters map. Swaps and daemon restarts reuse it; only a guard
 * unloaded and loaded anew gets a new one.
 */
static __u32 counters_map_id(void)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/" TG_PIN_COUNTERS, fx.pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "map info of %s: %s", path,
		     strerror(errno));
	close(fd);
	return info.id;
}

/* Tenant A's listeners, then the loop of tenant B against them, with the counter noted. */
static void hammer_start(void)
{
	v4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	v6 = fx_listen(TENANT_A, "::1", PORT, true);
	counters_id_before = counters_map_id();
	deny_before = fx_counter(&fx, TG_DENY_OTHER_TENANT);
	cross_loop_start(&loop, &fx, TENANT_B, PORT);
}

/*
 * Stop the loop once it has run on past the last fault, print the line and assert that the
 * kernel refused and counted every attempt.
 */
static void hammer_finish(const char *name)
{
	struct cross_loop_counts c;
	unsigned long long denied;
	__u32 counters_id;

	cross_loop_wait_progress(&loop, 100);
	cross_loop_stop(&loop, &c);
	denied = fx_counter(&fx, TG_DENY_OTHER_TENANT) - deny_before;
	counters_id = counters_map_id();
	fprintf(stderr,
		"faults: %s: %ld attempts, %ld refused, %ld slipped through "
		"(%ld to 127.0.0.1, %ld to [::1], %ld other errors, deny counter +%llu)\n",
		name, c.attempts, c.refused, c.succeeded, c.v4, c.v6, c.other, denied);
	/* Checked first: it names the likely cause of what the checks below would report. */
	cr_assert_eq(counters_id, counters_id_before,
		     "%s: the counters map was replaced (id %u -> %u): the guard was unloaded and "
		     "loaded anew during the test. Another test run on this machine does that: "
		     "its fx_sweep() unloads every " FX_PREFIX "* pin dir, live ones included",
		     name, counters_id_before, counters_id);
	cr_assert_eq(c.succeeded, 0, "%s: %ld of %ld connects slipped through", name, c.succeeded,
		     c.attempts);
	cr_assert_eq(c.other, 0, "%s: %ld connects failed otherwise, the first with %s", name,
		     c.other, strerror(c.first_other_errno));
	cr_assert_eq(c.refused, c.attempts, "%s: every connect must be refused", name);
	cr_assert_eq(denied, (unsigned long long)c.attempts,
		     "%s: deny counter +%llu for %ld attempts", name, denied, c.attempts);
	cr_assert_gt(c.v4, 0, "%s: no IPv4 attempt", name);
	cr_assert_gt(c.v6, 0, "%s: no IPv6 attempt", name);
}

/* The daemon SIGKILLed 10 times, at random points of its start-up and of its steady state. */
Test(faults, daemon_killed_and_restarted, .init = setup, .fini = teardown, .timeout = 60)
{
	long long prog;

	load(CONFIG);
	prog = prog_id();
	hammer_start();
	srandom((unsigned int)getpid());
	for (int i = 0; i < 10; i++) {
		long before = cross_loop_attempts(&loop);

		if (i % 2) {
			/* Anywhere in start-up: reading pins, syncing maps, opening the ring. */
			daemon_pid =
				fx_daemon_start(&fx, "--interval", "200", "--no-self-test", NULL);
			usleep(5000 + (useconds_t)(random() % 35000));
		} else {
			/* Steady state, past at least one reconciliation. */
			daemon_start();
			usleep(250000 + (useconds_t)(random() % 100000));
		}
		cr_assert_eq(fx_daemon_stop(daemon_pid, SIGKILL), 128 + SIGKILL, "kill %d", i);
		daemon_pid = -1;
		cross_loop_wait_progress(&loop, 50);
		cr_assert_gt(cross_loop_attempts(&loop), before, "kill %d: the loop stalled", i);
	}
	/* A last start must still come up on what the killed ones left, and stop cleanly. */
	daemon_start();
	usleep(300000);
	daemon_stop();
	hammer_finish("daemon-kill");
	cr_assert_eq(prog_id(), prog, "no daemon start should have replaced a complete guard");
}

/* 100 SIGHUPs, each with the other of two valid configs. */
Test(faults, sighup_reloads_valid_configs, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const configs[] = {
		CONFIG,
		CONFIG "exempt-uids = 2999\nmode = enforce\n",
	};
	long long first, last;

	load(CONFIG);
	daemon_start();
	first = prog_id();
	hammer_start();
	for (long i = 1; i <= 100; i++) {
		fx_write_config(&fx, configs[i % 2]);
		sighup_and_wait("config reloaded", i);
	}
	hammer_finish("sighup-reload");
	cr_assert_eq(fx_count_lines(fx.daemon_err, "not reloaded"), 0, "%s", fx.daemon_err);
	cr_assert_eq(fx_count_lines(fx.daemon_err, "reload failed"), 0, "%s", fx.daemon_err);
	last = prog_id();
	cr_assert_neq(last, first, "the program was never swapped");
	cr_assert(strstr(fx.output, "\"exempt_uids\":[]"), "last config not in force: %s",
		  fx.output);
	daemon_stop();
}

/* 100 loads over the loaded guard, alternating two valid configs. */
Test(faults, load_reloads_valid_configs, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const configs[] = {
		CONFIG,
		"# reloaded\ntenant-uids = 2001, 2002, 2003\nexempt-uids = 2999\nlayers = bpf\n",
	};
	long long first;

	load(CONFIG);
	first = prog_id();
	hammer_start();
	for (int i = 1; i <= 100; i++) {
		fx_write_config(&fx, configs[i % 2]);
		cr_assert_eq(load_without_probe(), 0, "load %d: %s", i, fx.output);
	}
	hammer_finish("load-reload");
	cr_assert_neq(prog_id(), first, "the program was never swapped");
	cr_assert(strstr(fx.output,
			 "\"tenant_uids\":[{\"first\":2001,\"last\":2003}],\"exempt_uids\":[]"),
		  "last config not in force: %s", fx.output);
}

/*
 * load swaps between policies that all deny the cross-tenant connect: isolate and strict,
 * allow-ports lists around (never on) the hammered port, reshaped tenant and exempt lists.
 * Every swap must replace the program and leave the connect denied as deny_other_tenant.
 */
Test(faults, load_swaps_policies, .init = setup, .fini = teardown, .timeout = 60)
{
	static const struct {
		const char *config;
		const char *policy;
	} swaps[] = {
		{ CONFIG "policy = strict\n", "strict" },
		{ CONFIG "policy = isolate\nallow-ports = 8000, 8002-9000\n", "isolate" },
		{ CONFIG "policy = strict\nallow-ports = 53, 5432\n", "strict" },
		{ "tenant-uids = 2001-2002, 2003-2010\nexempt-uids = 2999\nlayers = bpf\n",
		  "isolate" },
		{ CONFIG "policy = strict\nallow-ports = 1-8000\ndeny-errno = econnrefused\n",
		  "strict" },
		{ CONFIG "allow-ports = 8002-65535\n", "isolate" },
	};
	const size_t n = sizeof(swaps) / sizeof(swaps[0]);
	long long prev, now;

	load(CONFIG);
	prev = prog_id();
	hammer_start();
	for (size_t i = 0; i < 8 * n; i++) {
		fx_write_config(&fx, swaps[i % n].config);
		cr_assert_eq(load_without_probe(), 0, "swap %zu: %s", i, fx.output);
		assert_policy(swaps[i % n].policy, "after swap");
		now = json_number(fx.output, "connect4");
		cr_assert_neq(now, prev, "swap %zu did not replace the program", i);
		prev = now;
	}
	hammer_finish("policy-swap");
}

/* Configs that load must refuse with exit 2, the loaded guard untouched. */
static const struct {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
} bad_configs[] = {
	{ "unknown key", CONFIG "bogus-key = 1\n", 0 },
	{ "reversed range", "tenant-uids = 2003-2001\n", 0 },
	{ "root as tenant", "tenant-uids = 0-2003\n", 0 },
	{ "duplicate key", CONFIG "tenant-uids = 2001\n", 0 },
	{ "overlap", "tenant-uids = 2001-2003, 2002\n", 0 },
	{ "port 0", CONFIG "allow-ports = 0\n", 0 },
	{ "port too big", CONFIG "allow-ports = 70000\n", 0 },
	{ "bad mode", CONFIG "mode = permissive\n", 0 },
	{ "bad policy", CONFIG "policy = strict isolate\n", 0 },
	{ "bad errno", CONFIG "deny-errno = enoent\n", 0 },
	{ "no equals", "tenant-uids 2001-2003\n", 0 },
	{ "empty key", " = 2001\n", 0 },
	{ "stray comma", "tenant-uids = 2001,,2003\n", 0 },
	{ "uid overflow", "tenant-uids = 2001-99999999999\n", 0 },
	{ "NUL byte", "tenant-uids = 2001-2003\0\n", 25 },
	{ "binary",
	  "\x7f"
	  "ELF\x02\x01\x01\0\0\0",
	  10 },
	/* Tenant uids past the membership bitmap (1 << 24) in runs wider than 256 are ranges in
	 * the settings: 32 at most (narrower runs are listed one by one, any number). */
	{ "33 wide high uid ranges",
	  "tenant-uids = 2001-2003, "
	  "16777300-16777600, 16778300-16778600, 16779300-16779600, 16780300-16780600, "
	  "16781300-16781600, 16782300-16782600, 16783300-16783600, 16784300-16784600, "
	  "16785300-16785600, 16786300-16786600, 16787300-16787600, 16788300-16788600, "
	  "16789300-16789600, 16790300-16790600, 16791300-16791600, 16792300-16792600, "
	  "16793300-16793600, 16794300-16794600, 16795300-16795600, 16796300-16796600, "
	  "16797300-16797600, 16798300-16798600, 16799300-16799600, 16800300-16800600, "
	  "16801300-16801600, 16802300-16802600, 16803300-16803600, 16804300-16804600, "
	  "16805300-16805600, 16806300-16806600, 16807300-16807600, 16808300-16808600, "
	  "16809300-16809600\n",
	  0 },
};

#define N_BAD (sizeof(bad_configs) / sizeof(bad_configs[0]))

static void write_bad_config(size_t i)
{
	size_t len = bad_configs[i].len ? bad_configs[i].len : strlen(bad_configs[i].text);

	write_config_bytes(bad_configs[i].text, len);
}

Test(faults, load_refuses_bad_configs, .init = setup, .fini = teardown, .timeout = 60)
{
	/* One byte over the longest line (8 MiB), a comment. */
	static char long_line[8 * 1024 * 1024 + 2];
	char expected[PATH_MAX + 16];
	long long prog;
	int offered = 0;

	load(CONFIG "policy = strict\n");
	prog = prog_id();
	hammer_start();
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < N_BAD; i++, offered++) {
			write_bad_config(i);
			cr_assert_eq(fx_load(&fx), 2, "%s: load must exit 2: %s",
				     bad_configs[i].name, fx.output);
			snprintf(expected, sizeof(expected), "%s:", fx.config);
			cr_assert(strstr(fx.output, expected), "%s: error must name %s: %s",
				  bad_configs[i].name, fx.config, fx.output);
		}
		/* A line over the limit, a missing file and a directory. */
		memset(long_line, '#', sizeof(long_line) - 1);
		long_line[sizeof(long_line) - 1] = '\n';
		write_config_bytes(long_line, sizeof(long_line));
		cr_assert_eq(fx_load(&fx), 2, "long line: %s", fx.output);
		unlink(fx.config);
		cr_assert_eq(fx_load(&fx), 2, "missing file: %s", fx.output);
		cr_assert_eq(fx_cli(&fx, "load", "-c", "/tmp", "--pin-dir", fx.pin_dir, "--cgroup",
				    fx.cgroup, NULL),
			     2, "directory: %s", fx.output);
		offered += 3;
		cr_assert_eq(prog_id(), prog, "round %d: a bad config replaced the program", round);
		assert_policy("strict", "after bad configs");
	}
	hammer_finish("bad-config-load");
	fprintf(stderr,
		"faults: bad-config-load: %d bad configs offered, all refused with exit 2\n",
		offered);
}

/*
 * SIGHUP alternates a bad config with a good one that changes the policy: each bad one must
 * leave the policy of the good one before it, program and all.
 */
Test(faults, sighup_keeps_policy_on_bad_config, .init = setup, .fini = teardown, .timeout = 60)
{
	static const struct {
		const char *config;
		const char *policy;
	} goods[] = {
		{ CONFIG "policy = strict\n", "strict" },
		{ CONFIG "policy = isolate\nallow-ports = 9999\n", "isolate" },
	};
	long good = 0, bad = 0;
	long long prog;

	load(CONFIG);
	daemon_start();
	hammer_start();
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < N_BAD; i++) {
			const char *policy = goods[good % 2].policy;

			fx_write_config(&fx, goods[good % 2].config);
			sighup_and_wait("config reloaded", ++good);
			assert_policy(policy, "after a good SIGHUP");
			prog = json_number(fx.output, "connect4");

			write_bad_config(i);
			sighup_and_wait("not reloaded", ++bad);
			assert_policy(policy, bad_configs[i].name);
			cr_assert_eq(json_number(fx.output, "connect4"), prog,
				     "%s: a bad config replaced the program", bad_configs[i].name);
		}
	}
	hammer_finish("bad-config-sighup");
	cr_assert_eq(fx_count_lines(fx.daemon_err, "reload failed"), 0, "%s", fx.daemon_err);
	fprintf(stderr,
		"faults: bad-config-sighup: %ld bad configs refused, %ld good ones swapped in\n",
		bad, good);
	daemon_stop();
}
