// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's own port pick on the real kernel (issue 13, item 4). The test namespace's
 * ephemeral range is narrowed around alice's reserved port, so that the kernel would offer it
 * often:
 *  - load puts the port in net.ipv4.ip_local_reserved_ports: neither listen() without bind()
 *    nor bind(port 0) ever yields it (audit mode leaves the sysctl alone);
 *  - with that sysctl emptied by hand, the programs alone: bob's bind(port 0) never yields it
 *    (tg_post_bind4/6 refuse the pick with EACCES, deny_bind_reserved counts each refusal once);
 *    alice's bind(port 0) gets it, and is never refused; listen() without bind() picks its port
 *    with no hook that can refuse (README, Limits): how often bob lands on alice's port is
 *    measured, and what the guard does to connects that reach such a listener is asserted.
 * Needs root; each test runs in its own network namespace and cgroup (fixture.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "tg_policy.h"

#include "fixture.h"
#include "reasons.h"

#define ALICE 2001
#define BOB   2002
#define CAROL 2003

#define RESERVED 40123
/*
 * bind(port 0) and listen() scan the range from low + an odd offset first (inet_csk_find_open_port
 * leaves the ports of low's parity to connect()), so with low even only the odd ports 40121,
 * 40123, 40125 and 40127 are offered while one of them is free: alice's port about one time in 4.
 */
#define NARROW_RANGE "40120 40127"
#define TRIES	     10000

#define CONFIG "tenant-uids = 2001-2003\n[tenant a]\nuser = 2001\nports = 40123\n"

/* A child that could not join the cgroup or change uid; no socket call returns it as errno. */
#define SETUP_FAILED 250

enum pick { PICK_BIND, PICK_LISTEN };

/* What a loop of kernel port picks gave; written by the child through a pipe. */
struct pick_result {
	long tries;
	long landed;	 /* the socket got RESERVED */
	long refused;	 /* the call failed with EACCES */
	long failed;	 /* the call failed otherwise */
	int first_errno; /* of the first such failure */
};

static struct fx fx;

/* In a child: join the test cgroup and become uid, or give up. */
static void become(uid_t uid)
{
	if (fx_enter_as(&fx, uid, 0) < 0)
		_exit(SETUP_FAILED);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* One kernel pick: bind to loopback port 0, or listen() on an unbound socket. */
static int pick_port(int fd, int family, enum pick how)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (how == PICK_LISTEN)
		return listen(fd, 16);
	if (family == AF_INET)
		return bind(fd, (struct sockaddr *)&in, sizeof(in));
	return bind(fd, (struct sockaddr *)&in6, sizeof(in6));
}

static struct pick_result pick_loop_child(int family, enum pick how, long tries)
{
	struct pick_result r = { 0 };

	for (long i = 0; i < tries; i++) {
		int fd = socket(family, SOCK_STREAM, 0);

		if (fd < 0)
			_exit(SETUP_FAILED);
		r.tries++;
		if (pick_port(fd, family, how) == 0) {
			if (local_port(fd) == RESERVED)
				r.landed++;
		} else if (errno == EACCES) {
			r.refused++;
		} else if (r.failed++ == 0) {
			r.first_errno = errno;
		}
		close(fd);
	}
	return r;
}

/* tries kernel picks as uid in the test cgroup, one new socket each. */
static struct pick_result pick_loop(uid_t uid, int family, enum pick how, long tries)
{
	struct pick_result r = { 0 };
	int status, pipefd[2];
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0, "pipe");
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pipefd[0]);
		become(uid);
		r = pick_loop_child(family, how, tries);
		_exit(write(pipefd[1], &r, sizeof(r)) == sizeof(r) ? 0 : SETUP_FAILED);
	}
	close(pipefd[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "pick loop of uid %u could not set itself up", uid);
	cr_assert_eq(read(pipefd[0], &r, sizeof(r)), (ssize_t)sizeof(r),
		     "pick loop of uid %u gave no result", uid);
	close(pipefd[0]);
	return r;
}

/* Narrow the ephemeral range of the test's own namespace, never the host's. */
static void narrow_port_range(void)
{
	char runner_ns[64], got[64] = "";
	struct stat ours, runner;
	FILE *f;

	/* criterion's runner, our parent, stays in the namespace the tests were started in. */
	snprintf(runner_ns, sizeof(runner_ns), "/proc/%d/ns/net", (int)getppid());
	cr_assert_eq(stat("/proc/self/ns/net", &ours), 0, "stat /proc/self/ns/net: %s",
		     strerror(errno));
	cr_assert_eq(stat(runner_ns, &runner), 0, "stat %s: %s", runner_ns, strerror(errno));
	cr_assert_neq(ours.st_ino, runner.st_ino,
		      "the test is in its runner's network namespace: it will not narrow that "
		      "namespace's ephemeral range");
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");
	cr_assert_not_null(f, "open ip_local_port_range: %s", strerror(errno));
	cr_assert_gt(fprintf(f, "%s\n", NARROW_RANGE), 0, "write ip_local_port_range");
	cr_assert_eq(fclose(f), 0, "write ip_local_port_range: %s", strerror(errno));
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	cr_assert_not_null(f, "open ip_local_port_range: %s", strerror(errno));
	cr_assert_not_null(fgets(got, sizeof(got), f), "read ip_local_port_range");
	fclose(f);
	cr_assert(strncmp(got, "40120\t40127", 11) == 0, "ip_local_port_range is %s", got);
}

/* Is port in the test namespace's net.ipv4.ip_local_reserved_ports? */
static bool reserved_ports_sysctl_has(unsigned int port)
{
	char text[4096] = "", *p;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");

	cr_assert_not_null(f, "open ip_local_reserved_ports: %s", strerror(errno));
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	for (p = text; *p && *p != '\n';) {
		unsigned long first = strtoul(p, &p, 10), last = first;

		if (*p == '-')
			last = strtoul(p + 1, &p, 10);
		if (port >= first && port <= last)
			return true;
		if (*p == ',')
			p++;
		else
			break;
	}
	return false;
}

static void setup(void)
{
	fx_setup(&fx);
	narrow_port_range();
	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
	/* load writes the sysctl of the namespace it runs in: the test's. */
	cr_expect(strstr(fx.output, "net.ipv4.ip_local_reserved_ports is now 40123"),
		  "load did not say it reserved the port: %s", fx.output);
	cr_expect(reserved_ports_sysctl_has(RESERVED), "load left %u out of the sysctl", RESERVED);
}

static void write_reserved_ports(const char *text)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "w");

	/* setup() checked that this is the test's namespace, not its runner's. */
	cr_assert_not_null(f, "open ip_local_reserved_ports: %s", strerror(errno));
	cr_assert_gt(fprintf(f, "%s\n", text), 0, "write ip_local_reserved_ports");
	cr_assert_eq(fclose(f), 0, "write ip_local_reserved_ports: %s", strerror(errno));
}

/*
 * As if an admin emptied net.ipv4.ip_local_reserved_ports after load: the kernel offers the
 * reserved port again, and only the guard's programs stand between it and another tenant.
 */
static void clear_reserved_ports(void)
{
	write_reserved_ports("");
	cr_assert(!reserved_ports_sysctl_has(RESERVED), "the sysctl still holds %u", RESERVED);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

/* The same guard in audit mode: it records what it would refuse, and refuses nothing. */
static void setup_audit(void)
{
	fx_setup(&fx);
	narrow_port_range();
	fx_write_config(&fx, "mode = audit\n" CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
	cr_expect(!reserved_ports_sysctl_has(RESERVED),
		  "audit mode changed net.ipv4.ip_local_reserved_ports");
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* bob's bind(port 0) never yields alice's reservation: the guard refuses the kernel's pick. */
Test(ephemeral, bind_port_0_never_yields_another_tenants_port, .init = setup, .fini = teardown)
{
	static const int families[] = { AF_INET, AF_INET6 };

	clear_reserved_ports();

	for (size_t i = 0; i < 2; i++) {
		uint64_t deny = fx_counter(&fx, TG_DENY_BIND_RESERVED);
		uint64_t ephemeral = fx_counter(&fx, TG_ALLOW_BIND_EPHEMERAL);
		const char *name = family_name(families[i]);
		struct timespec start;
		struct pick_result r;

		clock_gettime(CLOCK_MONOTONIC, &start);
		r = pick_loop(BOB, families[i], PICK_BIND, TRIES);
		deny = fx_counter(&fx, TG_DENY_BIND_RESERVED) - deny;
		ephemeral = fx_counter(&fx, TG_ALLOW_BIND_EPHEMERAL) - ephemeral;
		cr_log_info(
			"bob bind(port 0) %s: %ld tries, %ld on %u, %ld EACCES, %ld other "
			"failures, deny_bind_reserved +%llu, allow_bind_ephemeral +%llu, %.2f s",
			name, r.tries, r.landed, RESERVED, r.refused, r.failed,
			(unsigned long long)deny, (unsigned long long)ephemeral,
			seconds_since(&start));
		cr_expect_eq(r.landed, 0, "%s: bob's bind(port 0) got alice's port %u %ld times",
			     name, RESERVED, r.landed);
		cr_expect_eq(r.failed, 0, "%s: %ld binds failed otherwise, the first with %s", name,
			     r.failed, strerror(r.first_errno));
		cr_expect_gt(r.refused, 0,
			     "%s: no pick landed on %u in %ld tries: the narrowed range was not "
			     "exercised",
			     name, RESERVED, r.tries);
		cr_expect_eq(deny, (uint64_t)r.refused,
			     "%s: deny_bind_reserved rose by %llu for %ld refusals", name,
			     (unsigned long long)deny, r.refused);
		/* tg_bind4/6 judged every bind(port 0) before the kernel picked, once each. */
		cr_expect_eq(ephemeral, (uint64_t)r.tries,
			     "%s: allow_bind_ephemeral rose by %llu for %ld binds", name,
			     (unsigned long long)ephemeral, r.tries);
	}
}

/*
 * In audit mode bob's bind(port 0) may land on alice's port, and each landing is recorded once as
 * audit_bind_reserved by tg_post_bind4/6 (tg_bind4/6 saw port 0 and could not know); an explicit
 * bind to the port is recorded once too, after the bind, by the same hook.
 */
Test(ephemeral, audit_records_each_pick_of_a_reserved_port_once, .init = setup_audit,
     .fini = teardown)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < 2; i++) {
		uint64_t audit = fx_counter(&fx, TG_AUDIT_BIND_RESERVED);
		uint64_t deny = fx_counter(&fx, TG_DENY_BIND_RESERVED);
		const char *name = family_name(families[i]);
		struct pick_result r = pick_loop(BOB, families[i], PICK_BIND, TRIES / 4);

		audit = fx_counter(&fx, TG_AUDIT_BIND_RESERVED) - audit;
		deny = fx_counter(&fx, TG_DENY_BIND_RESERVED) - deny;
		cr_log_info("audit, bob bind(port 0) %s: %ld tries, %ld on %u, audit_bind_reserved "
			    "+%llu",
			    name, r.tries, r.landed, RESERVED, (unsigned long long)audit);
		cr_expect_eq(r.refused + r.failed, 0, "%s: audit mode refused %ld binds", name,
			     r.refused + r.failed);
		cr_expect_gt(r.landed, 0, "%s: no pick landed on %u in %ld tries", name, RESERVED,
			     r.tries);
		cr_expect_eq(audit, (uint64_t)r.landed,
			     "%s: audit_bind_reserved rose by %llu for %ld landings", name,
			     (unsigned long long)audit, r.landed);
		cr_expect_eq(deny, 0, "%s: deny_bind_reserved rose in audit mode", name);
	}
	/* An explicit bind to the reserved port: one record. */
	{
		uint64_t audit = fx_counter(&fx, TG_AUDIT_BIND_RESERVED);
		int got = fx_bind_as(&fx, BOB, AF_INET, SOCK_STREAM, "127.0.0.1", RESERVED, false);

		cr_expect_eq(got, 0, "audit mode refused bob's explicit bind: %s", strerror(got));
		cr_expect_eq(fx_counter(&fx, TG_AUDIT_BIND_RESERVED), audit + 1,
			     "an explicit bind was recorded %llu times",
			     (unsigned long long)(fx_counter(&fx, TG_AUDIT_BIND_RESERVED) - audit));
	}
}

/* alice's bind(port 0) may get her own port, and is never refused. */
Test(ephemeral, owner_bind_port_0_gets_its_port, .init = setup, .fini = teardown)
{
	static const int families[] = { AF_INET, AF_INET6 };

	clear_reserved_ports();

	for (size_t i = 0; i < 2; i++) {
		uint64_t deny = fx_counter(&fx, TG_DENY_BIND_RESERVED);
		const char *name = family_name(families[i]);
		struct pick_result r = pick_loop(ALICE, families[i], PICK_BIND, TRIES);

		deny = fx_counter(&fx, TG_DENY_BIND_RESERVED) - deny;
		cr_log_info("alice bind(port 0) %s: %ld tries, %ld on %u, %ld EACCES, %ld other "
			    "failures",
			    name, r.tries, r.landed, RESERVED, r.refused, r.failed);
		cr_expect_eq(r.refused, 0, "%s: alice's bind(port 0) refused %ld times", name,
			     r.refused);
		cr_expect_eq(r.failed, 0, "%s: %ld binds failed, the first with %s", name, r.failed,
			     strerror(r.first_errno));
		cr_expect_gt(r.landed, 0, "%s: alice never got her port %u in %ld tries", name,
			     RESERVED, r.tries);
		cr_expect_eq(deny, 0, "%s: deny_bind_reserved rose by %llu for the owner", name,
			     (unsigned long long)deny);
	}
}

/* In a child, as bob: listen() without bind() until the kernel picks RESERVED, then hold it. */
static void hold_reserved_listener_child(int family, int ready_fd)
{
	for (long i = 0; i < 100 * TRIES; i++) {
		int fd = socket(family, SOCK_STREAM, 0);

		if (fd < 0)
			_exit(SETUP_FAILED);
		if (listen(fd, 16) == 0 && local_port(fd) == RESERVED) {
			if (write(ready_fd, "R", 1) != 1)
				_exit(SETUP_FAILED);
			for (;;) {
				int c = accept(fd, NULL, NULL);

				if (c >= 0)
					close(c);
			}
		}
		close(fd);
	}
	_exit(write(ready_fd, "N", 1) == 1 ? 0 : SETUP_FAILED);
}

/* bob listening on alice's port by listen() without bind(); pid -1 if the kernel never gave it. */
static struct fx_listener hold_reserved_listener(int family)
{
	struct fx_listener l = { .pid = -1 };
	int ready[2];
	char c = 0;

	cr_assert_eq(pipe(ready), 0, "pipe");
	l.pid = fork();
	cr_assert_geq(l.pid, 0, "fork: %s", strerror(errno));
	if (l.pid == 0) {
		close(ready[0]);
		become(BOB);
		hold_reserved_listener_child(family, ready[1]);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || c != 'R') {
		fx_listener_stop(&l);
		l.pid = -1;
	}
	close(ready[0]);
	return l;
}

/*
 * listen() without bind() runs no hook that can refuse, so bob may end up on alice's port: the
 * count is measured and reported, not asserted. What the guard then does with such a listener:
 * another tenant's connect is refused as deny_other_tenant, as for any listener of bob; root's
 * (a hub service) reaches bob, not alice, under isolate.
 */
Test(ephemeral, listen_without_bind_is_measured, .init = setup, .fini = teardown)
{
	static const struct {
		const char *name;
		uid_t uid;
		int family;
		const char *addr;
	} connects[] = {
		{ "carol", CAROL, AF_INET, "127.0.0.1" },
		{ "carol, v4-mapped", CAROL, AF_INET6, "::ffff:127.0.0.1" },
		{ "alice (the port is hers)", ALICE, AF_INET, "127.0.0.1" },
		{ "root", 0, AF_INET, "127.0.0.1" },
	};
	static const int families[] = { AF_INET, AF_INET6 };
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];
	struct fx_listener l;

	clear_reserved_ports();

	for (size_t i = 0; i < 2; i++) {
		uint64_t deny = fx_counter(&fx, TG_DENY_BIND_RESERVED);
		struct timespec start;
		struct pick_result r;

		clock_gettime(CLOCK_MONOTONIC, &start);
		r = pick_loop(BOB, families[i], PICK_LISTEN, TRIES);
		deny = fx_counter(&fx, TG_DENY_BIND_RESERVED) - deny;
		cr_log_info("bob listen() without bind() %s: %ld tries, %ld on %u, %ld EACCES, "
			    "%ld other failures, deny_bind_reserved +%llu, %.2f s",
			    family_name(families[i]), r.tries, r.landed, RESERVED, r.refused,
			    r.failed, (unsigned long long)deny, seconds_since(&start));
		cr_expect_eq(r.failed, 0, "%s: %ld listens failed, the first with %s",
			     family_name(families[i]), r.failed, strerror(r.first_errno));
	}

	/* An IPv4 listener: the same port on :: would take the v4-mapped connects too. */
	l = hold_reserved_listener(AF_INET);
	cr_assert_gt(l.pid, 0, "bob's listen() without bind() never got %u", RESERVED);
	for (size_t i = 0; i < sizeof(connects) / sizeof(connects[0]); i++) {
		int got;

		for (unsigned int reason = 0; reason < TG_REASON_COUNT; reason++)
			before[reason] = fx_counter(&fx, reason);
		got = fx_connect_as(&fx, connects[i].uid, connects[i].family, connects[i].addr,
				    RESERVED);
		for (unsigned int reason = 0; reason < TG_REASON_COUNT; reason++) {
			after[reason] = fx_counter(&fx, reason);
			if (after[reason] != before[reason])
				cr_log_info("connect as %s to bob's listener on %u: %s (%d), "
					    "counter %s +%llu",
					    connects[i].name, RESERVED,
					    got ? strerror(got) : "connected", got,
					    reason_name(reason),
					    (unsigned long long)(after[reason] - before[reason]));
		}
		if (connects[i].uid == 0) {
			cr_log_info("connect as root to bob's listener on %u: %s", RESERVED,
				    got ? strerror(got) : "connected (reached bob, not alice)");
			continue;
		}
		cr_expect_eq(got, ECONNREFUSED,
			     "%s: connect to bob's listener on %u gave %s, expected ECONNREFUSED",
			     connects[i].name, RESERVED, strerror(got));
		cr_expect_eq(after[TG_DENY_OTHER_TENANT], before[TG_DENY_OTHER_TENANT] + 1,
			     "%s: deny_other_tenant went %llu -> %llu", connects[i].name,
			     (unsigned long long)before[TG_DENY_OTHER_TENANT],
			     (unsigned long long)after[TG_DENY_OTHER_TENANT]);
	}
	fx_listener_stop(&l);
}

/* The mitigation the README and load's warning give: the kernel never picks a reserved port. */
/*
 * With the sysctl as load left it, the kernel never picks the reserved port, for listen()
 * without bind() (which no hook can refuse) nor for bind(port 0): 10,000 tries each, per
 * family, as bob; alice's own bind() naming her port still works.
 */
Test(ephemeral, load_keeps_kernel_picks_off_reserved_ports, .init = setup, .fini = teardown)
{
	static const int families[] = { AF_INET, AF_INET6 };
	static const enum pick picks[] = { PICK_LISTEN, PICK_BIND };

	for (size_t i = 0; i < 2; i++) {
		for (size_t k = 0; k < 2; k++) {
			const char *name = family_name(families[i]);
			const char *how = picks[k] == PICK_LISTEN ? "listen() without bind()"
								  : "bind(port 0)";
			struct pick_result r = pick_loop(BOB, families[i], picks[k], TRIES);

			cr_log_info("bob %s %s with load's ip_local_reserved_ports: %ld tries, %ld "
				    "on %u, %ld EACCES",
				    how, name, r.tries, r.landed, RESERVED, r.refused);
			cr_expect_eq(r.landed, 0, "%s %s: got %u %ld times", how, name, RESERVED,
				     r.landed);
			cr_expect_eq(r.refused + r.failed, 0, "%s %s: %ld failed", how, name,
				     r.refused + r.failed);
		}
	}
	cr_expect_eq(fx_bind_as(&fx, ALICE, AF_INET, SOCK_STREAM, "127.0.0.1", RESERVED, false), 0,
		     "alice's bind() naming her reserved port failed");
}
