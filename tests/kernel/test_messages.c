// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the guard tells its operator, on the real kernel: a restarted daemon's "suppressed" counts
 * are news since its start, and status does not pass a tenant's escape sequences to the terminal.
 * Needs root; each test runs in its own network namespace and cgroup (fixture.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"
#include "guard.h"
#include "pins.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define CONFIG	 "tenant-uids = 2001-2003\nlayers = bpf\n"

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
	fx_write_config(&fx, CONFIG);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static unsigned long long rate_limited(void)
{
	unsigned long long stats[TG_STAT_COUNT];

	cr_assert_eq(pins_sum_percpu(fx.pin_dir, TG_PIN_STATS, stats, TG_STAT_COUNT), 0,
		     "cannot read the stats of %s", fx.pin_dir);
	return stats[TG_STAT_EVENTS_RATE_LIMITED];
}

/* Sum of N over the daemon's "time=T suppressed rate_limited=N lost=M" lines, and their number. */
static unsigned long long reported(long *lines)
{
	FILE *f = fopen(fx.daemon_out, "r");
	unsigned long long sum = 0, n, lost;
	char line[512];

	*lines = 0;
	cr_assert_not_null(f, "%s: %s", fx.daemon_out, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* "time=2026-...Z suppressed rate_limited=N lost=M" */
		const char *at = strstr(line, " suppressed rate_limited=");

		if (at && sscanf(at, " suppressed rate_limited=%llu lost=%llu", &n, &lost) == 2) {
			sum += n;
			(*lines)++;
		}
	}
	fclose(f);
	return sum;
}

static bool daemon_ready(void)
{
	return fx_daemon_ready(&fx, 3000);
}

static void burst(long count)
{
	long refused = 0, succeeded = 0;

	fx_connect_many(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001, count, &refused, &succeeded);
	cr_assert_eq(refused, count, "%ld of %ld connects refused", refused, count);
}

Test(daemon_counters, a_restarted_daemon_reports_news_only, .init = setup, .fini = teardown,
     .timeout = 60)
{
	unsigned long long before_start, after_burst, sum = 0;
	struct fx_listener l;
	long lines = 0;
	pid_t pid;

	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	/* History from before the daemon: at 20 events per second per uid, most are held back. */
	burst(500);
	before_start = rate_limited();
	cr_assert_gt(before_start, 100, "the burst should exceed the event budget");

	pid = fx_daemon_start(&fx, "--interval", "200", "-v", NULL);
	cr_assert(daemon_ready(), "daemon did not start");
	usleep(700000); /* three reports or more */
	reported(&lines);
	cr_expect_eq(lines, 0, "the history since load was reported as new (%s)", fx.daemon_out);
	cr_expect_eq(fx_count_lines(fx.daemon_err, "since load, before this daemon started"), 1,
		     "the daemon should say once what was held back before it started");

	/* News: exactly what the kernel held back while the daemon ran. */
	burst(300);
	after_burst = rate_limited();
	cr_assert_gt(after_burst, before_start, "the second burst should be held back too");
	for (int i = 0; i < 300 && sum != after_burst - before_start; i++) {
		usleep(10000);
		sum = reported(&lines);
	}
	fx_listener_stop(&l);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
	cr_assert_eq(sum, after_burst - before_start,
		     "reported %llu held back, the kernel counted %llu since the daemon started",
		     sum, after_burst - before_start);
	cr_assert_geq(lines, 1);
}

/*
 * A tenant chooses its process's command line, which status prints beside its listener. The
 * listener execs sleep with an argv[0] holding a terminal escape sequence and keeps its socket.
 * (procs_name() already shows unprintable bytes as '?', and status escapes what it prints; this
 * guards the end result: nothing raw reaches the terminal.)
 */
Test(status_messages, a_tenants_command_line_is_escaped, .init = setup, .fini = teardown)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8002) };
	int ready[2], status;
	char byte;
	pid_t pid;

	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd, one = 1;

		close(ready[0]);
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		if (setresgid(TENANT_A, TENANT_A, TENANT_A) ||
		    setresuid(TENANT_A, TENANT_A, TENANT_A))
			_exit(1);
		/* After the uid change: the socket's owner is the tenant. */
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
			_exit(2);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		close(ready[1]);
		execl("/bin/sleep", "\x1b[2J\x1b[31mevil\r", "30", (char *)NULL);
		_exit(4);
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &byte, 1), 1, "the listener did not start");
	close(ready[0]);
	usleep(100000); /* the exec */
	cr_expect_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_expect_eq(waitpid(pid, &status, WNOHANG), 0, "the listener exited early: status %d",
		     status);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert(strstr(fx.output, "127.0.0.1:8002"), "the tunnel is listed: %s", fx.output);
	cr_assert(strstr(fx.output, "evil"), "the command line is shown: %s", fx.output);
	cr_assert_null(strchr(fx.output, '\x1b'), "a raw ESC reached the output");
	cr_assert_null(strchr(fx.output, '\r'), "a raw CR reached the output");
}
