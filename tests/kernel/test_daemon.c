// SPDX-License-Identifier: GPL-2.0-only
/*
 * The port-owner map, the daemon and its events on the real kernel. Needs root; each test runs
 * in its own network namespace and cgroup (fixture.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "tg_maps.h"
#include "tg_policy.h"

#include "fixture.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define TENANT_C 2003
/* The BPF layer alone: without a daemon the nft sets do not follow listeners made after load, and
 * status would report that as drift. Both layers are tested in test_layers.c. */
#define CONFIG "tenant-uids = 2001-2003\nlayers = bpf\n"
/* comm of the test's forked connectors: "tunnelguard-tests" cut to 15 characters */
#define TEST_COMM "comm=tunnelguard-tes"

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static void load(const char *config)
{
	fx_write_config(&fx, config);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
}

/* Wait until the daemon's stdout has `lines` lines containing text, up to timeout_ms. */
static long wait_lines(const char *text, long lines, int timeout_ms)
{
	long n = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		n = fx_count_lines(fx.daemon_out, text);
		if (n >= lines)
			break;
		usleep(10000);
	}
	return n;
}

static bool daemon_ready(void)
{
	return fx_daemon_ready(&fx, 3000);
}

Test(port_owner, follows_listeners_within_50ms, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	uint32_t uid = 0;

	load(CONFIG);
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8001, &uid), -ENOENT);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 50),
		  "listener not in port_owner within 50 ms");
	cr_assert_eq(uid, TENANT_A);
	fx_listener_stop(&l);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, false, &uid, 50),
		  "closed listener still in port_owner after 50 ms");

	l = fx_listen(TENANT_B, "::1", 8002, true);
	cr_assert(fx_wait_port_owner(&fx, "::1", 8002, true, &uid, 50), "v6 listener missing");
	cr_assert_eq(uid, TENANT_B);
	fx_listener_stop(&l);
	cr_assert(fx_wait_port_owner(&fx, "::1", 8002, false, &uid, 50), "v6 entry stays");
}

Test(port_owner, same_port_on_two_addresses_is_told_apart, .init = setup, .fini = teardown)
{
	struct fx_listener a, b, c;
	uint32_t uid = 0;

	load(CONFIG);
	a = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	b = fx_listen(TENANT_B, "127.0.0.2", 8001, false);
	c = fx_listen(TENANT_C, "::1", 8001, true);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 50));
	cr_expect_eq(uid, TENANT_A, "127.0.0.1:8001 owner %u", uid);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.2", 8001, true, &uid, 50));
	cr_expect_eq(uid, TENANT_B, "127.0.0.2:8001 owner %u", uid);
	cr_assert(fx_wait_port_owner(&fx, "::1", 8001, true, &uid, 50));
	cr_expect_eq(uid, TENANT_C, "[::1]:8001 owner %u", uid);
	fx_listener_stop(&b);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.2", 8001, false, &uid, 50));
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8001, &uid), 0, "the other entry went too");
	cr_expect_eq(uid, TENANT_A);
	fx_listener_stop(&a);
	fx_listener_stop(&c);
}

/* A child of uid in the test cgroup that binds 127.0.0.1:port with SO_REUSEADDR, never listens. */
static pid_t bind_only(uid_t uid, uint16_t port)
{
	int ready[2];
	char ok = 0;
	pid_t parent = getpid(), pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1, fd;

		close(ready[0]);
		if (fx_enter_as(&fx, uid, parent) < 0)
			_exit(CHILD_SETUP_FAILED);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(CHILD_SETUP_FAILED);
		ok = 1;
		if (write(ready[1], &ok, 1) != 1)
			_exit(CHILD_SETUP_FAILED);
		for (;;)
			pause();
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &ok, 1), 1, "uid %u could not bind port %u", uid, port);
	close(ready[0]);
	return pid;
}

/*
 * Two tenants bound to one address and port with SO_REUSEADDR: the one that listens (the newer
 * binder: the kernel refuses a bind onto a listener) holds the entry, and the other's close
 * leaves it alone.
 */
Test(port_owner, the_binder_that_listens_holds_the_entry, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	uint32_t uid = 0;
	pid_t squatter;

	load(CONFIG);
	squatter = bind_only(TENANT_A, 8004);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8004, true, &uid, 50),
		  "a bound socket is not recorded");
	cr_expect_eq(uid, TENANT_A, "127.0.0.1:8004 owner %u before B binds", uid);
	l = fx_listen(TENANT_B, "127.0.0.1", 8004, false);
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8004, &uid), 0, "entry gone");
	cr_expect_eq(uid, TENANT_B, "the listener's entry is uid %u, want %u", uid, TENANT_B);
	kill(squatter, SIGKILL);
	waitpid(squatter, NULL, 0);
	usleep(50000);
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8004, &uid), 0,
		     "the older binder's close took the listener's entry");
	cr_expect_eq(uid, TENANT_B);
	fx_listener_stop(&l);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8004, false, &uid, 50),
		  "the listener's entry stays after its close");
}

Test(port_owner, listeners_older_than_the_guard_are_found_at_load, .init = setup, .fini = teardown)
{
	struct fx_listener l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	uint32_t uid = 0;

	load(CONFIG);
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8001, &uid), 0, "pre-existing listener");
	cr_assert_eq(uid, TENANT_A);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
}

Test(daemon, prints_exactly_one_line_per_refusal, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	char line[1024] = "";
	pid_t pid;
	FILE *f;

	fx_write_config(&fx, CONFIG);
	pid = fx_daemon_start(&fx, NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	cr_expect_eq(fx_connect_as(&fx, TENANT_A, AF_INET, "127.0.0.1", 8001), 0);
	cr_expect_eq(fx_connect_as(&fx, 0, AF_INET, "127.0.0.1", 8001), 0);
	fx_listener_stop(&l);
	/* The load's self-test probe (comm tg-selftest) is a real refusal with its own line. */
	cr_assert_eq(wait_lines(TEST_COMM, 1, 2000), 1, "no event line");
	usleep(300000); /* and no second one */
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0, "SIGTERM must exit 0");
	cr_assert_eq(fx_count_lines(fx.daemon_out, TEST_COMM), 1, "exactly one line expected");
	cr_assert_eq(fx_count_lines(fx.daemon_out, NULL) -
			     fx_count_lines(fx.daemon_out, "comm=tg-selftest"),
		     1, "no other line expected");
	f = fopen(fx.daemon_out, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) && !strstr(line, TEST_COMM))
		;
	fclose(f);
	static const char *const fields[] = {
		"time=",
		" verdict=deny",
		" reason=deny_other_tenant",
		" caller_uid=2002",
		" caller=",
		" pid=",
		" comm=",
		" dst=127.0.0.1",
		" port=8001",
		" owner_uid=2001",
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_expect(strstr(line, fields[i]), "field '%s' missing in: %s", fields[i], line);
	/* SIGTERM leaves the guard in force. */
	l = fx_listen(TENANT_A, "::1", 8001, true);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
}

Test(daemon, json_events, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	pid_t pid;

	fx_write_config(&fx, CONFIG);
	pid = fx_daemon_start(&fx, "--json", NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	l = fx_listen(TENANT_A, "::1", 8001, true);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", 8001), ECONNREFUSED);
	fx_listener_stop(&l);
	cr_assert_eq(wait_lines("\"comm\":\"tunnelguard-tes\"", 1, 2000), 1, "no JSON event");
	cr_expect_eq(fx_count_lines(fx.daemon_out, "\"dst\":\"::1\",\"port\":8001"), 1);
	cr_expect_eq(fx_count_lines(fx.daemon_out, "\"verdict\":\"deny\",\"reason\":"
						   "\"deny_other_tenant\",\"caller_uid\":2002"),
		     2, "the test's refusal and the self-test's");
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
}

Test(daemon, sigkill_keeps_enforcement_and_restart_resyncs, .init = setup, .fini = teardown)
{
	char path[PATH_MAX + 32], cmd[PATH_MAX + 128];
	struct fx_listener l;
	uint32_t uid = 0;
	pid_t pid;

	fx_write_config(&fx, CONFIG);
	pid = fx_daemon_start(&fx, "--interval", "200", NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	cr_assert_eq(fx_daemon_stop(pid, SIGKILL), 128 + SIGKILL);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED,
		     "enforcement must outlive the daemon");
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 50));
	/* Drift made while no daemon runs: remove the entry by hand. */
	snprintf(path, sizeof(path), "%s/" TG_PIN_PORT_OWNER, fx.pin_dir);
	snprintf(cmd, sizeof(cmd),
		 "bpftool map delete pinned %s key 0 0 0 0 0 0 0 0 0 0 255 255 127 0 0 1 "
		 "0x41 0x1f 2 0",
		 path);
	cr_assert_eq(system(cmd), 0, "bpftool map delete failed");
	cr_assert_eq(fx_port_owner(&fx, "127.0.0.1", 8001, &uid), -ENOENT);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 1,
		     "status must report the drift: %s", fx.output);
	cr_assert(strstr(fx.output, "drift: port_owner lacks 127.0.0.1:8001 uid 2001"), "%s",
		  fx.output);
	pid = fx_daemon_start(&fx, "--interval", "200", NULL);
	cr_assert(daemon_ready(), "daemon did not restart");
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 1000),
		  "restarted daemon did not restore the entry");
	cr_assert_eq(uid, TENANT_A);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
	cr_assert_gt(fx_count_lines(fx.daemon_err, "drift repaired"), 0, "repair not logged");
	fx_listener_stop(&l);
}

Test(daemon, sighup_swaps_the_config, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	pid_t pid;

	fx_write_config(&fx, CONFIG);
	pid = fx_daemon_start(&fx, NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	fx_write_config(&fx, CONFIG "deny-errno = eperm\n");
	kill(pid, SIGHUP);
	for (int i = 0; i < 200 && fx_count_lines(fx.daemon_err, "config reloaded") < 1; i++)
		usleep(10000);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), EPERM);
	fx_write_config(&fx, "bogus = 1\n");
	kill(pid, SIGHUP);
	for (int i = 0; i < 200 && fx_count_lines(fx.daemon_err, "not reloaded") < 1; i++)
		usleep(10000);
	cr_expect_eq(fx_count_lines(fx.daemon_err, "not reloaded"), 1, "bad config not reported");
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), EPERM,
		     "a bad config must leave the previous policy");
	fx_listener_stop(&l);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
}

Test(daemon, events_command_defers_to_a_running_daemon, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	pid_t pid;

	load(CONFIG);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	cr_assert_eq(fx_cli(&fx, "events", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_assert(strstr(fx.output, "reason=deny_other_tenant caller_uid=2002"), "%s", fx.output);
	pid = fx_daemon_start(&fx, NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	cr_assert_eq(fx_cli(&fx, "events", "--pin-dir", fx.pin_dir, NULL), 1, "%s", fx.output);
	cr_assert(strstr(fx.output, "daemon"), "must explain where events go: %s", fx.output);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
	fx_listener_stop(&l);
}

/* 10,000 refusals: an exact counter, and a log bounded by the per-uid event budget. */
Test(daemon, burst_is_counted_exactly_and_logged_boundedly, .init = setup, .fini = teardown,
     .timeout = 120)
{
	struct timespec start, end;
	long refused = 0, succeeded = 0, lines, seconds;
	unsigned long long before;
	struct fx_listener l;
	pid_t pid;

	fx_write_config(&fx, CONFIG);
	pid = fx_daemon_start(&fx, "--interval", "200", NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	before = fx_counter(&fx, TG_DENY_OTHER_TENANT);
	clock_gettime(CLOCK_MONOTONIC, &start);
	fx_connect_many(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001, 10000, &refused, &succeeded);
	clock_gettime(CLOCK_MONOTONIC, &end);
	fx_listener_stop(&l);
	usleep(500000);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);

	cr_assert_eq(succeeded, 0, "%ld connects slipped through", succeeded);
	cr_assert_eq(refused, 10000);
	cr_assert_eq(fx_counter(&fx, TG_DENY_OTHER_TENANT) - before, 10000, "deny counter");
	seconds = end.tv_sec - start.tv_sec + 2;
	lines = fx_count_lines(fx.daemon_out, "verdict=deny");
	cr_assert_geq(lines, 1, "no event at all");
	cr_assert_leq(lines, TG_EVENTS_PER_UID_PER_SEC * seconds,
		      "%ld event lines in about %ld s exceed the per-uid budget", lines, seconds);
	cr_assert_geq(fx_count_lines(fx.daemon_out, "suppressed rate_limited="), 1,
		      "suppressed events must be reported");
}

Test(status, lists_tunnels_with_their_process, .init = setup, .fini = teardown)
{
	struct fx_listener l;
	char expected[64];

	load(CONFIG);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	snprintf(expected, sizeof(expected), "pid %-7d", l.pid);
	cr_assert(strstr(fx.output, "127.0.0.1:8001"), "%s", fx.output);
	cr_assert(strstr(fx.output, "uid 2001"), "%s", fx.output);
	cr_assert(strstr(fx.output, expected), "status must name pid %d: %s", l.pid, fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0);
	cr_assert(strstr(fx.output, "\"tunnels\":[{\"addr\":\"127.0.0.1\",\"port\":8001,"
				    "\"uid\":2001"),
		  "%s", fx.output);
	fx_listener_stop(&l);
}
