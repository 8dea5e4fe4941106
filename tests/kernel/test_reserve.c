// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port reservations on the real kernel: the bind4/bind6 programs refuse another tenant's bind()
 * of a reserved port on every address form, with EACCES and exactly one counter; the owner,
 * root and services keep binding; bind-policy reserved-only, audit mode, allow rules, group
 * membership at reload and a swap under load. Needs root; each test runs in its own network
 * namespace and cgroup (fixture.h), with test-only uids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tg_policy.h"

#include "fixture.h"
#include "reasons.h"

#define ALICE	  2001
#define BOB	  2002
#define CAROL	  2003
#define SERVICE	  2999
#define NO_REASON -1

/* alice holds 8001-8002 and 9001, carol 8005; tenants are 2001-2003. */
#define RESERVE_CONFIG_SECTIONS                                  \
	"[tenant alice]\nuser = 2001\nports = 8001-8002, 9001\n" \
	"[tenant carol]\nuser = 2003\nports = 8005\n"
#define RESERVE_CONFIG "tenant-uids = 2001-2003\n" RESERVE_CONFIG_SECTIONS

#define HOST_V4 "192.0.2.7"
#define HOST_V6 "2001:db8::7"

struct bind_case {
	const char *name;
	uid_t uid;
	int family;
	int type;
	const char *addr;
	uint16_t port;
	bool v6only;
	int expect_errno; /* 0: bind() succeeds */
	int reason;	  /* the one counter that rises by exactly one, or NO_REASON */
};

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
	/* A host address of this namespace besides loopback, as a hub's public address. */
	cr_assert_eq(system("ip addr add " HOST_V4 "/32 dev lo && "
			    "ip addr add " HOST_V6 "/128 dev lo nodad"),
		     0, "cannot add test addresses to lo in the test netns");
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static void snapshot(uint64_t *counts)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++)
		counts[r] = fx_counter(&fx, r);
}

static void expect_one_counter(const char *name, const uint64_t *before, const uint64_t *after,
			       int reason)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++) {
		uint64_t want = before[r] + ((int)r == reason ? 1 : 0);

		cr_expect_eq(after[r], want, "%s: counter %s went %llu -> %llu, expected %llu",
			     name, reason_name(r), (unsigned long long)before[r],
			     (unsigned long long)after[r], (unsigned long long)want);
	}
}

static void run_binds(const struct bind_case *cases, size_t n)
{
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];

	for (size_t i = 0; i < n; i++) {
		const struct bind_case *c = &cases[i];
		int got;

		snapshot(before);
		got = fx_bind_as(&fx, c->uid, c->family, c->type, c->addr, c->port, c->v6only);
		snapshot(after);
		cr_expect_eq(got, c->expect_errno, "%s: bind gave %s (%d), expected %s (%d)",
			     c->name, strerror(got), got, strerror(c->expect_errno),
			     c->expect_errno);
		expect_one_counter(c->name, before, after, c->reason);
	}
}

static void load_config(const char *config)
{
	fx_write_config(&fx, config);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
}

#define TCP SOCK_STREAM

/* clang-format off */
static const struct bind_case squat_cases[] = {
	{ "bob 127.0.0.1", BOB, AF_INET, TCP, "127.0.0.1", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob 127.0.0.2", BOB, AF_INET, TCP, "127.0.0.2", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob 127.255.255.254", BOB, AF_INET, TCP, "127.255.255.254", 8002, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob 0.0.0.0", BOB, AF_INET, TCP, "0.0.0.0", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob host address v4", BOB, AF_INET, TCP, HOST_V4, 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob ::1", BOB, AF_INET6, TCP, "::1", 8001, true, EACCES, TG_DENY_BIND_RESERVED },
	{ "bob :: v6only", BOB, AF_INET6, TCP, "::", 8001, true, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob :: dual-stack (IPV6_V6ONLY=0)", BOB, AF_INET6, TCP, "::", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob ::ffff:127.0.0.1", BOB, AF_INET6, TCP, "::ffff:127.0.0.1", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob ::ffff:0.0.0.0", BOB, AF_INET6, TCP, "::ffff:0.0.0.0", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob host address v6", BOB, AF_INET6, TCP, HOST_V6, 9001, true, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "carol on alice's port", CAROL, AF_INET, TCP, "127.0.0.1", 9001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "alice on carol's port", ALICE, AF_INET6, TCP, "::1", 8005, true, EACCES,
	  TG_DENY_BIND_RESERVED },
	/* The owner binds its ports on every address. */
	{ "alice 127.0.0.1", ALICE, AF_INET, TCP, "127.0.0.1", 8001, false, 0,
	  TG_ALLOW_BIND_OWN },
	{ "alice 0.0.0.0", ALICE, AF_INET, TCP, "0.0.0.0", 8002, false, 0, TG_ALLOW_BIND_OWN },
	{ "alice ::1", ALICE, AF_INET6, TCP, "::1", 8001, true, 0, TG_ALLOW_BIND_OWN },
	{ "alice :: dual-stack", ALICE, AF_INET6, TCP, "::", 9001, false, 0, TG_ALLOW_BIND_OWN },
	{ "alice host address", ALICE, AF_INET, TCP, HOST_V4, 9001, false, 0, TG_ALLOW_BIND_OWN },
	{ "carol own port", CAROL, AF_INET6, TCP, "::ffff:127.0.0.1", 8005, false, 0,
	  TG_ALLOW_BIND_OWN },
	/* Root and services are not restricted and not counted. */
	{ "root 127.0.0.1", 0, AF_INET, TCP, "127.0.0.1", 8001, false, 0, NO_REASON },
	{ "root ::", 0, AF_INET6, TCP, "::", 8001, false, 0, NO_REASON },
	{ "service 0.0.0.0", SERVICE, AF_INET, TCP, "0.0.0.0", 8002, false, 0, NO_REASON },
	/* Unreserved ports stay open under bind-policy open; port 0 always. */
	{ "bob unreserved", BOB, AF_INET, TCP, "127.0.0.1", 8003, false, 0, TG_ALLOW_BIND_OPEN },
	{ "bob unreserved v6", BOB, AF_INET6, TCP, "::1", 8004, true, 0, TG_ALLOW_BIND_OPEN },
	{ "bob port 0", BOB, AF_INET, TCP, "127.0.0.1", 0, false, 0, TG_ALLOW_BIND_EPHEMERAL },
	{ "bob port 0 v6", BOB, AF_INET6, TCP, "::", 0, false, 0, TG_ALLOW_BIND_EPHEMERAL },
	/* Not TCP: out of scope, counted as such. */
	{ "bob UDP on a reserved port", BOB, AF_INET, SOCK_DGRAM, "127.0.0.1", 8001, false, 0,
	  TG_ALLOW_NOT_TCP },
};
/* clang-format on */

Test(reserve, squatting_refused_on_every_address, .init = setup, .fini = teardown)
{
	load_config(RESERVE_CONFIG);
	run_binds(squat_cases, sizeof(squat_cases) / sizeof(squat_cases[0]));
}

/* The acceptance case, end to end: bob cannot take alice's port while she is away, and
 * cannot stand beside her listener on the other family either. */
Test(reserve, tenant_cannot_take_a_dropped_tunnel_port, .init = setup, .fini = teardown)
{
	struct fx_listener l;

	load_config(RESERVE_CONFIG);
	cr_expect_eq(fx_bind_as(&fx, BOB, AF_INET, TCP, "127.0.0.1", 8001, false), EACCES,
		     "bob took 127.0.0.1:8001 while alice's tunnel was down");
	l = fx_listen(ALICE, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_bind_as(&fx, BOB, AF_INET6, TCP, "::1", 8001, true), EACCES,
		     "bob bound [::1]:8001 beside alice's 127.0.0.1-only listener");
	fx_listener_stop(&l);
}

static const struct bind_case reserved_only_cases[] = {
	{ "bob unreserved", BOB, AF_INET, TCP, "127.0.0.1", 8003, false, EACCES,
	  TG_DENY_BIND_UNRESERVED },
	{ "bob unreserved ::", BOB, AF_INET6, TCP, "::", 8004, false, EACCES,
	  TG_DENY_BIND_UNRESERVED },
	{ "bob reserved for alice", BOB, AF_INET, TCP, "0.0.0.0", 8001, false, EACCES,
	  TG_DENY_BIND_RESERVED },
	{ "bob port 0", BOB, AF_INET, TCP, "127.0.0.1", 0, false, 0, TG_ALLOW_BIND_EPHEMERAL },
	{ "bob port 0 v6", BOB, AF_INET6, TCP, "::1", 0, true, 0, TG_ALLOW_BIND_EPHEMERAL },
	{ "alice own port", ALICE, AF_INET, TCP, "127.0.0.1", 8002, false, 0, TG_ALLOW_BIND_OWN },
	{ "carol own port", CAROL, AF_INET6, TCP, "::1", 8005, true, 0, TG_ALLOW_BIND_OWN },
	{ "alice unreserved", ALICE, AF_INET6, TCP, "::1", 8003, true, EACCES,
	  TG_DENY_BIND_UNRESERVED },
	{ "root unreserved", 0, AF_INET, TCP, "127.0.0.1", 8003, false, 0, NO_REASON },
	{ "service unreserved", SERVICE, AF_INET6, TCP, "::1", 8003, true, 0, NO_REASON },
};

Test(reserve, reserved_only_policy, .init = setup, .fini = teardown)
{
	/* bind-policy is global: it goes before the sections. */
	load_config("bind-policy = reserved-only\n" RESERVE_CONFIG);
	run_binds(reserved_only_cases,
		  sizeof(reserved_only_cases) / sizeof(reserved_only_cases[0]));
}

static const struct bind_case audit_cases[] = {
	{ "bob reserved, audited", BOB, AF_INET, TCP, "127.0.0.1", 8001, false, 0,
	  TG_AUDIT_BIND_RESERVED },
	{ "bob reserved ::, audited", BOB, AF_INET6, TCP, "::", 8002, false, 0,
	  TG_AUDIT_BIND_RESERVED },
	{ "bob unreserved, audited", BOB, AF_INET, TCP, "127.0.0.1", 8003, false, 0,
	  TG_AUDIT_BIND_UNRESERVED },
	{ "alice own port", ALICE, AF_INET, TCP, "127.0.0.1", 8001, false, 0, TG_ALLOW_BIND_OWN },
};

Test(reserve, audit_mode_counts_but_allows, .init = setup, .fini = teardown)
{
	load_config("mode = audit\nbind-policy = reserved-only\n" RESERVE_CONFIG);
	run_binds(audit_cases, sizeof(audit_cases) / sizeof(audit_cases[0]));
}

/* deny-errno is for connects; a refused bind is EACCES either way. */
Test(reserve, bind_errno_ignores_deny_errno, .init = setup, .fini = teardown)
{
	static const struct bind_case cases[] = {
		{ "bob reserved, deny-errno eperm", BOB, AF_INET, TCP, "127.0.0.1", 8001, false,
		  EACCES, TG_DENY_BIND_RESERVED },
	};

	load_config("deny-errno = eperm\n" RESERVE_CONFIG);
	run_binds(cases, 1);
}

/* An allow rule lets bob's connect through to alice's listener on 8001 only. */
Test(reserve, allow_rule_lets_a_connect_through, .init = setup, .fini = teardown)
{
	static const struct {
		const char *name;
		uid_t caller;
		int family;
		const char *addr;
		uint16_t port;
		int expect_errno;
		int reason;
	} cases[] = {
		{ "bob to 8001 by rule", BOB, AF_INET, "127.0.0.1", 8001, 0, TG_ALLOW_RULE },
		{ "bob to [::1]:8001 by rule", BOB, AF_INET6, "::1", 8001, 0, TG_ALLOW_RULE },
		{ "bob to 8002, no rule", BOB, AF_INET, "127.0.0.1", 8002, ECONNREFUSED,
		  TG_DENY_OTHER_TENANT },
		{ "carol to 8001, rule is bob's", CAROL, AF_INET, "127.0.0.1", 8001, ECONNREFUSED,
		  TG_DENY_OTHER_TENANT },
	};
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];
	struct fx_listener v4[2], v6[2];

	load_config("allow = 2002:8001\n" RESERVE_CONFIG);
	for (int i = 0; i < 2; i++) {
		v4[i] = fx_listen(ALICE, "127.0.0.1", 8001 + i, false);
		v6[i] = fx_listen(ALICE, "::1", 8001 + i, true);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got;

		snapshot(before);
		got = fx_connect_as(&fx, cases[i].caller, cases[i].family, cases[i].addr,
				    cases[i].port);
		snapshot(after);
		cr_expect_eq(got, cases[i].expect_errno, "%s: connect gave %s, expected %s",
			     cases[i].name, strerror(got), strerror(cases[i].expect_errno));
		expect_one_counter(cases[i].name, before, after, cases[i].reason);
	}
	for (int i = 0; i < 2; i++) {
		fx_listener_stop(&v4[i]);
		fx_listener_stop(&v6[i]);
	}
}

/* status and check --bind read the loaded policy; events name the reserving uid. */
Test(reserve, status_check_and_events, .init = setup, .fini = teardown)
{
	load_config("allow = 2002:8001\n" RESERVE_CONFIG);
	cr_assert_eq(fx_bind_as(&fx, BOB, AF_INET, TCP, "127.0.0.1", 8001, false), EACCES,
		     "bob's bind was not refused");

	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status: %s", fx.output);
	cr_expect(strstr(fx.output,
			 "\"bind_policy\":\"open\",\"reservations\":["
			 "{\"tenant\":\"alice\",\"user\":null,\"uid\":2001,\"ports\":["
			 "{\"first\":8001,\"last\":8002},{\"first\":9001,\"last\":9001}]},"
			 "{\"tenant\":\"carol\",\"user\":null,\"uid\":2003,"
			 "\"ports\":[{\"first\":8005,\"last\":8005}]}],"
			 "\"allow_rules\":[{\"user\":null,\"uid\":2002,"
			 "\"ports\":[{\"first\":8001,\"last\":8001}]}]"),
		  "status --json lacks the reservations and allow rules: %s", fx.output);
	cr_expect(strstr(fx.output, "\"deny_bind_reserved\":1"),
		  "status --json: deny_bind_reserved is not 1: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "status: %s",
		     fx.output);
	cr_expect(strstr(fx.output, "    [tenant alice] user - uid 2001 ports 8001-8002, 9001\n"),
		  "status lacks alice's reservation: %s", fx.output);
	cr_expect(strstr(fx.output, "    user - uid 2002 may reach ports 8001\n"),
		  "status lacks bob's allow rule: %s", fx.output);

	cr_expect_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2002", "--bind",
			    "8001", NULL),
		     1, "check --bind 8001 as bob: %s", fx.output);
	cr_expect(strstr(fx.output, "deny bind port 8001 deny_bind_reserved owner=2001(?)"),
		  "check --bind output: %s", fx.output);
	cr_expect_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2001", "--bind",
			    "8001", NULL),
		     0, "check --bind 8001 as alice: %s", fx.output);
	cr_expect_eq(fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", "2002", "--bind",
			    "8003", NULL),
		     0, "check --bind 8003 as bob: %s", fx.output);

	cr_assert_eq(fx_cli(&fx, "events", "--pin-dir", fx.pin_dir, NULL), 0, "events: %s",
		     fx.output);
	cr_expect(strstr(fx.output, "verdict=deny reason=deny_bind_reserved caller_uid=2002"),
		  "no bind event: %s", fx.output);
	cr_expect(strstr(fx.output, "dst=127.0.0.1 port=8001 owner_uid=2001 "),
		  "bind event lacks the port or the reserving uid: %s", fx.output);
}

/* ------------------------------------------------------------------ tenant groups */

/* Throwaway accounts: uids and gids 2201-2202, names with the fixture's prefix. */
#define GROUP	     "tg-test-grp"
#define OTHER	     "tg-test-oth"
#define MEMBER	     "tg-test-g1" /* primary group GROUP from the start */
#define NEWCOMER     "tg-test-g2" /* primary group OTHER; joins GROUP's gr_mem later */
#define MEMBER_UID   2201
#define NEWCOMER_UID 2202

static void remove_accounts(void)
{
	/* Only our test-only names; each may be absent. */
	if (system("userdel " MEMBER " 2>/dev/null; userdel " NEWCOMER " 2>/dev/null; "
		   "groupdel " GROUP " 2>/dev/null; groupdel " OTHER " 2>/dev/null; true"))
		fprintf(stderr, "reserve: removing the test accounts failed\n");
}

static void group_setup(void)
{
	setup();
	remove_accounts(); /* a crashed run's leftovers: the names are ours alone */
	for (uid_t id = MEMBER_UID; id <= NEWCOMER_UID; id++) {
		cr_assert_null(getpwuid(id),
			       "uid %u belongs to a real account; the test will not "
			       "touch it",
			       id);
		cr_assert_null(getgrgid(id), "gid %u belongs to a real group", id);
	}
	cr_assert_eq(system("groupadd -g 2201 " GROUP " && groupadd -g 2202 " OTHER
			    " && useradd -M -N -u 2201 -g " GROUP " -s /usr/sbin/nologin " MEMBER
			    " && useradd -M -N -u 2202 -g " OTHER
			    " -s /usr/sbin/nologin " NEWCOMER),
		     0, "cannot create the test group and users");
}

static void group_teardown(void)
{
	remove_accounts();
	teardown();
}

static bool wait_lines(const char *path, const char *text, long n, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (fx_count_lines(path, text) >= n)
			return true;
		usleep(20000);
	}
	return false;
}

/*
 * tenant-group members are tenants: by primary group from the first load, by gr_mem once a
 * reload (load again, or the daemon's SIGHUP) has looked the group up again, and no longer once
 * a reload sees them gone. bind-policy reserved-only makes "is a tenant" visible.
 */
Test(reserve, group_membership_follows_reloads, .init = group_setup, .fini = group_teardown,
     .timeout = 60)
{
	pid_t daemon;

	load_config("tenant-uids = 2001-2003\nbind-policy = reserved-only\n"
		    "tenant-group = " GROUP "\n" RESERVE_CONFIG_SECTIONS);
	cr_expect_eq(fx_bind_as(&fx, MEMBER_UID, AF_INET, TCP, "127.0.0.1", 8003, false), EACCES,
		     "a member by primary group is not a tenant");
	cr_expect_eq(fx_bind_as(&fx, MEMBER_UID, AF_INET6, TCP, "::1", 8001, true), EACCES,
		     "a member took alice's port");
	cr_expect_eq(fx_bind_as(&fx, NEWCOMER_UID, AF_INET, TCP, "127.0.0.1", 8003, false), 0,
		     "a non-member is restricted");

	cr_assert_eq(system("usermod -a -G " GROUP " " NEWCOMER), 0, "usermod -a -G failed");
	cr_expect_eq(fx_bind_as(&fx, NEWCOMER_UID, AF_INET, TCP, "127.0.0.1", 8003, false), 0,
		     "membership changed the loaded policy before a reload");
	cr_assert_eq(fx_load(&fx), 0, "reload failed: %s", fx.output);
	cr_expect_eq(fx_bind_as(&fx, NEWCOMER_UID, AF_INET, TCP, "127.0.0.1", 8003, false), EACCES,
		     "a gr_mem member is not a tenant after the reload");
	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status: %s", fx.output);
	cr_expect(strstr(fx.output, "\"tenant_uids\":[{\"first\":2001,\"last\":2003},{\"first\":"
				    "2201,\"last\":2202}]"),
		  "status: tenant uids: %s", fx.output);

	daemon = fx_daemon_start(&fx, NULL);
	usleep(500000); /* let it block SIGHUP into its signalfd */
	cr_assert_eq(system("gpasswd -d " NEWCOMER " " GROUP " >/dev/null"), 0,
		     "gpasswd -d failed");
	kill(daemon, SIGHUP);
	cr_expect(wait_lines(fx.daemon_err, "SIGHUP: config reloaded", 1, 10000),
		  "the daemon did not reload on SIGHUP");
	cr_expect_eq(fx_bind_as(&fx, NEWCOMER_UID, AF_INET, TCP, "127.0.0.1", 8003, false), 0,
		     "a former member is still a tenant after SIGHUP");
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0, "daemon exit status");
}

/* ------------------------------------------------------------------ no gap on a swap */

/* In a child, as bob in the test cgroup: bind 127.0.0.1:8001 until told to stop. */
static void squat_loop(const char *cgroup, int stop_fd, int result_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8001) };
	long results[3] = { 0, 0, 0 }; /* attempts, bound, refused with EACCES */
	char path[4200];
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		_exit(2);
	close(fd);
	if (setgroups(0, NULL) || setresgid(BOB, BOB, BOB) || setresuid(BOB, BOB, BOB))
		_exit(2);
	for (;;) {
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };

		for (int i = 0; i < 100; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);

			if (s < 0)
				_exit(2);
			results[0]++;
			if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				results[1]++;
			else if (errno == EACCES)
				results[2]++;
			close(s);
		}
		if (poll(&p, 1, 0) > 0)
			break;
	}
	_exit(write(result_fd, results, sizeof(results)) == sizeof(results) ? 0 : 2);
}

/* load over a loaded guard swaps the bind programs too, with no moment unguarded. */
Test(reserve, swap_keeps_bind_enforcement, .init = setup, .fini = teardown, .timeout = 120)
{
	uint64_t before, after;
	long results[3] = { 0, 0, 0 };
	int stop[2], result[2], status;
	pid_t pid;

	load_config(RESERVE_CONFIG);
	before = fx_counter(&fx, TG_DENY_BIND_RESERVED);
	cr_assert_eq(pipe(stop), 0, "pipe");
	cr_assert_eq(pipe(result), 0, "pipe");
	pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (pid == 0) {
		close(stop[1]);
		close(result[0]);
		squat_loop(fx.cgroup, stop[0], result[1]);
	}
	close(stop[0]);
	close(result[1]);
	for (int i = 0; i < 10; i++) {
		/* alternate two policies, so that every load is a real swap */
		fx_write_config(&fx, i % 2 ? RESERVE_CONFIG
					   : "mode = enforce\n" RESERVE_CONFIG
					     "[tenant dave]\nuser = 2999\n"
					     "ports = 7000\n");
		cr_assert_eq(fx_load(&fx), 0, "swap %d failed: %s", i, fx.output);
	}
	cr_assert_eq(write(stop[1], "x", 1), 1, "stop");
	cr_assert_eq(read(result[0], results, sizeof(results)), (ssize_t)sizeof(results),
		     "the squatting loop gave no result");
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	after = fx_counter(&fx, TG_DENY_BIND_RESERVED);
	close(stop[1]);
	close(result[0]);
	cr_assert_gt(results[0], 0, "no bind attempted");
	cr_expect_eq(results[1], 0, "%ld of %ld binds of alice's port slipped through the swaps",
		     results[1], results[0]);
	cr_expect_eq(results[2], results[0], "%ld of %ld binds refused with EACCES", results[2],
		     results[0]);
	cr_expect_eq(after - before, (uint64_t)results[0],
		     "deny_bind_reserved rose by %llu for %ld attempts",
		     (unsigned long long)(after - before), results[0]);
}
