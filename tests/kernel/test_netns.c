// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guard loaded from one network namespace, as on a real host, judging tenants who listen and
 * connect in another: every address form of that namespace (loopback, other 127.x, ::1, veth
 * addresses IPv4, IPv6 global and link-local, AnyIP, wildcards dual-stack and v6only, v4-mapped,
 * a device-bound listener), NAT rules a root user made there, and a remote destination beside a
 * same-port wildcard once the daemon has learnt the namespace's addresses.
 *
 * A refusal at connect() carries the configured errno (EPERM here, so that it cannot be mistaken
 * for the kernel's own ECONNREFUSED). A refusal where the SYN meets the listener (NAT, device-bound
 * listeners) drops the SYN: the connect does not complete, and connect() counted its own allow
 * reason before the SYN check counted the refusal. Connects time out after CONNECT_TIMEOUT_MS,
 * less than TCP's first SYN retransmission (1 s), so a dropped SYN is judged exactly once.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "tg_maps.h"
#include "tg_policy.h"

#include "fixture.h"
#include "reasons.h"

#define TENANT_A  2001
#define TENANT_B  2002
#define SERVICE	  2999 /* not in tenant-uids: a hub service account */
#define NO_REASON -1   /* no counter may move at this stage */
/* The connect does not complete, whatever the errno (a dropped SYN: EINPROGRESS on timeout). */
#define NOT_CONNECTED -1

#define CONNECT_TIMEOUT_MS 700
#define MAX_LISTENERS	   2

#define BASE_CONFIG  "tenant-uids = 2001-2003\n"
#define EPERM_CONFIG BASE_CONFIG "deny-errno = eperm\n"

/*
 * The second namespace: a veth pair whose tgv0 end holds the host addresses, and an AnyIP
 * range in the local table. tgv1 has no address, so 10.77.0.2 and 2001:db8:77::2 are remote
 * destinations whose neighbour never answers.
 */
#define NETNS_SETUP                                            \
	"set -e\n"                                             \
	"ip link add tgv0 type veth peer name tgv1\n"          \
	"ip link set tgv0 up\n"                                \
	"ip link set tgv1 up\n"                                \
	"ip addr add 10.77.0.1/24 dev tgv0\n"                  \
	"ip -6 addr add 2001:db8:77::1/64 dev tgv0 nodad\n"    \
	"ip -6 addr add fe80::77:1/64 dev tgv0 nodad\n"        \
	"ip route add local 10.88.0.0/24 dev lo table local\n" \
	"ip -6 route add local 2001:db8:88::/64 dev lo table local\n"

struct ns_case {
	const char *name;
	uid_t listener_uid;
	const char *listen_addr; /* may carry a scope: fe80::77:1%tgv0 */
	bool v6only;
	const char *device; /* SO_BINDTODEVICE of the listener, or NULL */
	uid_t caller;
	int family;
	const char *connect_addr;
	int expect_errno;   /* 0: connected; NOT_CONNECTED; or the errno connect() gives */
	int connect_reason; /* the counter connect() raises by exactly one, or NO_REASON */
	int syn_reason;	    /* the counter the SYN check raises by exactly one, or NO_REASON */
	const char *connect_device; /* SO_BINDTODEVICE of the connector, or NULL */
};

static struct fx fx;
static struct fx_netns ns = { .fd = -1 };
static struct fx_listener listeners[MAX_LISTENERS];
static pid_t daemon_pid = -1;

static void setup(void)
{
	char out[4096];

	for (int i = 0; i < MAX_LISTENERS; i++)
		listeners[i].pid = -1;
	fx_setup(&fx);
	fx_netns_new(&ns);
	cr_assert_eq(fx_run_in(&ns, NETNS_SETUP, out, sizeof(out)), 0,
		     "cannot set up the second netns: %s", out);
}

/* Listeners sit in the test cgroup: stop them before fx_teardown() removes it. */
static void teardown(void)
{
	for (int i = 0; i < MAX_LISTENERS; i++)
		fx_listener_stop(&listeners[i]);
	if (daemon_pid > 0)
		fx_daemon_stop(daemon_pid, SIGTERM);
	daemon_pid = -1;
	fx_netns_delete(&ns);
	fx_teardown(&fx);
}

static void snapshot(uint64_t *counts)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++)
		counts[r] = fx_counter(&fx, r);
}

/* Every counter moved as the case says: its reasons by one each, every other one not at all. */
static void expect_counters(const char *name, const uint64_t *before, const uint64_t *after,
			    int connect_reason, int syn_reason)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++) {
		uint64_t want = before[r] + ((int)r == connect_reason) + ((int)r == syn_reason);

		cr_expect_eq(after[r], want, "%s: counter %s went %llu -> %llu, expected %llu",
			     name, reason_name(r), (unsigned long long)before[r],
			     (unsigned long long)after[r], (unsigned long long)want);
	}
}

static void expect_result(const char *name, int got, int expect_errno)
{
	if (expect_errno == NOT_CONNECTED) {
		cr_expect_neq(got, 0, "%s: connected, expected the SYN to be dropped", name);
		if (got)
			cr_log_info("%s: not connected: %s (%d)", name, strerror(got), got);
		return;
	}
	cr_expect_eq(got, expect_errno, "%s: connect gave %s (%d), expected %s (%d)", name,
		     strerror(got), got, strerror(expect_errno), expect_errno);
}

static void run_case(const struct ns_case *c, uint16_t port)
{
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];
	int got;

	listeners[0] =
		fx_listen_in(&fx, &ns, c->listener_uid, c->listen_addr, port, c->v6only, c->device);
	snapshot(before);
	got = fx_connect_in(&fx, &ns, c->caller, c->family, c->connect_addr, port,
			    c->connect_device, CONNECT_TIMEOUT_MS);
	snapshot(after);
	fx_listener_stop(&listeners[0]);
	expect_result(c->name, got, c->expect_errno);
	expect_counters(c->name, before, after, c->connect_reason, c->syn_reason);
}

static void run_cases(const struct ns_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i], 8000 + i);
}

/* clang-format off */
#define CROSS(name, laddr, v6only, family, caddr) \
	{ name, TENANT_A, laddr, v6only, NULL, TENANT_B, family, caddr, EPERM, \
	  TG_DENY_OTHER_TENANT, NO_REASON }

/* Every address form of the second namespace, cross-tenant and the connects that must work. */
static const struct ns_case address_cases[] = {
	CROSS("127.0.0.1", "127.0.0.1", false, AF_INET, "127.0.0.1"),
	CROSS("other 127.x reaches a wildcard", "0.0.0.0", false, AF_INET, "127.3.4.5"),
	CROSS("0.0.0.0 reaches 127.0.0.1", "127.0.0.1", false, AF_INET, "0.0.0.0"),
	CROSS("::1", "::1", true, AF_INET6, "::1"),
	CROSS(":: reaches ::1", "::1", true, AF_INET6, "::"),
	CROSS("veth v4 address", "10.77.0.1", false, AF_INET, "10.77.0.1"),
	CROSS("veth v4 address reaches 0.0.0.0", "0.0.0.0", false, AF_INET, "10.77.0.1"),
	CROSS("veth v4 address reaches dual-stack ::", "::", false, AF_INET, "10.77.0.1"),
	CROSS("veth v6 global", "2001:db8:77::1", true, AF_INET6, "2001:db8:77::1"),
	CROSS("veth v6 global reaches v6only ::", "::", true, AF_INET6, "2001:db8:77::1"),
	CROSS("veth v6 global reaches dual-stack ::", "::", false, AF_INET6, "2001:db8:77::1"),
	CROSS("link-local reaches v6only ::", "::", true, AF_INET6, "fe80::77:1%tgv0"),
	CROSS("link-local reaches dual-stack ::", "::", false, AF_INET6, "fe80::77:1%tgv0"),
	CROSS("AnyIP v4 reaches 0.0.0.0", "0.0.0.0", false, AF_INET, "10.88.0.9"),
	CROSS("AnyIP v4 bound exactly", "10.88.0.9", false, AF_INET, "10.88.0.9"),
	CROSS("AnyIP v4 reaches dual-stack ::", "::", false, AF_INET, "10.88.0.9"),
	CROSS("AnyIP v6 reaches v6only ::", "::", true, AF_INET6, "2001:db8:88::9"),
	CROSS("v4-mapped veth address", "10.77.0.1", false, AF_INET6, "::ffff:10.77.0.1"),
	CROSS("v4-mapped AnyIP reaches 0.0.0.0", "0.0.0.0", false, AF_INET6, "::ffff:10.88.0.9"),
	CROSS("v4-mapped 127.0.0.1 reaches dual-stack ::", "::", false, AF_INET6,
	      "::ffff:127.0.0.1"),
	CROSS("0.0.0.0 reaches dual-stack ::", "::", false, AF_INET, "0.0.0.0"),
	/* The connect hook's lookup has no interface and misses a device-bound listener: the
	 * SYN check refuses it where the SYN meets the listener. */
	{ "device-bound v4 listener", TENANT_A, "10.77.0.1", false, "tgv0", TENANT_B, AF_INET,
	  "10.77.0.1", NOT_CONNECTED, TG_ALLOW_NO_LISTENER, TG_DENY_OTHER_TENANT },
	{ "device-bound v6 listener", TENANT_A, "2001:db8:77::1", true, "tgv0", TENANT_B,
	  AF_INET6, "2001:db8:77::1", NOT_CONNECTED, TG_ALLOW_NO_LISTENER, TG_DENY_OTHER_TENANT },
	/* Binding a link-local address with its scope binds the listener to the device, and a
	 * connect to a scoped link-local address binds the connector to it. */
	{ "link-local listener bound with scope", TENANT_A, "fe80::77:1%tgv0", true, NULL,
	  TENANT_B, AF_INET6, "fe80::77:1%tgv0", NOT_CONNECTED, TG_ALLOW_NO_LISTENER,
	  TG_DENY_OTHER_TENANT },
	{ "device-bound v4 listener, device-bound connector", TENANT_A, "10.77.0.1", false,
	  "tgv0", TENANT_B, AF_INET, "10.77.0.1", NOT_CONNECTED, TG_ALLOW_NO_LISTENER,
	  TG_DENY_OTHER_TENANT, "tgv0" },
	{ "device-bound v6 listener, device-bound connector", TENANT_A, "2001:db8:77::1", true,
	  "tgv0", TENANT_B, AF_INET6, "2001:db8:77::1", NOT_CONNECTED, TG_ALLOW_NO_LISTENER,
	  TG_DENY_OTHER_TENANT, "tgv0" },
	{ "device-bound connector, unbound listener", TENANT_A, "0.0.0.0", false, NULL, TENANT_B,
	  AF_INET, "10.77.0.1", EPERM, TG_DENY_OTHER_TENANT, NO_REASON, "tgv0" },
	{ "own link-local listener bound with scope", TENANT_A, "fe80::77:1%tgv0", true, NULL,
	  TENANT_A, AF_INET6, "fe80::77:1%tgv0", 0, TG_ALLOW_NO_LISTENER, NO_REASON },
	{ "own device-bound listener, device-bound connector", TENANT_A, "10.77.0.1", false,
	  "tgv0", TENANT_A, AF_INET, "10.77.0.1", 0, TG_ALLOW_NO_LISTENER, NO_REASON, "tgv0" },
	{ "own veth v4 address", TENANT_A, "10.77.0.1", false, NULL, TENANT_A, AF_INET,
	  "10.77.0.1", 0, TG_ALLOW_OWN, NO_REASON },
	{ "own link-local via ::", TENANT_A, "::", false, NULL, TENANT_A, AF_INET6,
	  "fe80::77:1%tgv0", 0, TG_ALLOW_OWN, NO_REASON },
	{ "own AnyIP", TENANT_A, "0.0.0.0", false, NULL, TENANT_A, AF_INET, "10.88.0.9", 0,
	  TG_ALLOW_OWN, NO_REASON },
	{ "own device-bound v4 listener", TENANT_A, "10.77.0.1", false, "tgv0", TENANT_A,
	  AF_INET, "10.77.0.1", 0, TG_ALLOW_NO_LISTENER, NO_REASON },
	{ "own device-bound v6 listener", TENANT_A, "2001:db8:77::1", true, "tgv0", TENANT_A,
	  AF_INET6, "2001:db8:77::1", 0, TG_ALLOW_NO_LISTENER, NO_REASON },
	{ "root caller to a tenant", TENANT_A, "0.0.0.0", false, NULL, 0, AF_INET, "10.77.0.1", 0,
	  NO_REASON, NO_REASON },
	{ "root caller to a tenant over v6", TENANT_A, "::", true, NULL, 0, AF_INET6,
	  "2001:db8:77::1", 0, NO_REASON, NO_REASON },
	{ "service caller to a tenant", TENANT_A, "::", false, NULL, SERVICE, AF_INET,
	  "10.88.0.9", 0, NO_REASON, NO_REASON },
	{ "hub service listener", SERVICE, "0.0.0.0", false, NULL, TENANT_B, AF_INET,
	  "10.77.0.1", 0, TG_ALLOW_SERVICE, NO_REASON },
	{ "root listener over link-local", 0, "::", true, NULL, TENANT_B, AF_INET6,
	  "fe80::77:1%tgv0", 0, TG_ALLOW_SERVICE, NO_REASON },
	{ "device-bound hub service listener", SERVICE, "10.77.0.1", false, "tgv0", TENANT_B,
	  AF_INET, "10.77.0.1", 0, TG_ALLOW_NO_LISTENER, NO_REASON },
};

/* A namespace the guard has not learnt fails closed: every destination counts as local. */
static const struct ns_case unknown_remote_cases[] = {
	CROSS("remote v4 beside a wildcard, netns unknown", "0.0.0.0", false, AF_INET,
	      "10.77.0.2"),
	CROSS("remote v6 beside a wildcard, netns unknown", "::", false, AF_INET6,
	      "2001:db8:77::2"),
};

/* Once the daemon has learnt the namespace's addresses, a remote destination is not judged. */
static const struct ns_case known_remote_cases[] = {
	{ "remote v4 beside a 0.0.0.0 listener", TENANT_A, "0.0.0.0", false, NULL, TENANT_B,
	  AF_INET, "10.77.0.2", EINPROGRESS, TG_ALLOW_REMOTE, NO_REASON },
	{ "remote v4 beside a dual-stack listener", TENANT_A, "::", false, NULL, TENANT_B,
	  AF_INET, "10.77.0.2", EINPROGRESS, TG_ALLOW_REMOTE, NO_REASON },
	{ "remote v6 beside a :: listener", TENANT_A, "::", true, NULL, TENANT_B, AF_INET6,
	  "2001:db8:77::2", EINPROGRESS, TG_ALLOW_REMOTE, NO_REASON },
};

/* The default errno, for the forms new to this file. */
static const struct ns_case default_errno_cases[] = {
	{ "veth v4 address, default errno", TENANT_A, "0.0.0.0", false, NULL, TENANT_B, AF_INET,
	  "10.77.0.1", ECONNREFUSED, TG_DENY_OTHER_TENANT, NO_REASON },
	{ "link-local, default errno", TENANT_A, "::", true, NULL, TENANT_B, AF_INET6,
	  "fe80::77:1%tgv0", ECONNREFUSED, TG_DENY_OTHER_TENANT, NO_REASON },
	{ "AnyIP, default errno", TENANT_A, "::", false, NULL, TENANT_B, AF_INET, "10.88.0.9",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT, NO_REASON },
};
/* clang-format on */

#define COUNT(cases) (sizeof(cases) / sizeof((cases)[0]))

static void load(const char *config)
{
	fx_write_config(&fx, config);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
}

Test(netns, every_address_form, .init = setup, .fini = teardown)
{
	load(EPERM_CONFIG);
	run_cases(address_cases, COUNT(address_cases));
}

Test(netns, default_errno, .init = setup, .fini = teardown)
{
	load(BASE_CONFIG);
	run_cases(default_errno_cases, COUNT(default_errno_cases));
}

Test(netns, unknown_netns_fails_closed, .init = setup, .fini = teardown)
{
	struct tg_netns_info info;

	load(EPERM_CONFIG);
	cr_assert_eq(fx_netns_info(&fx, ns.cookie, &info), -ENOENT,
		     "the guard knows netns %llu without a daemon", (unsigned long long)ns.cookie);
	run_cases(unknown_remote_cases, COUNT(unknown_remote_cases));
}

/*
 * Needs the daemon to learn a namespace's addresses when a tenant listens there (it fills the
 * pinned maps netns and netns_addrs). The address forms are run again with the addresses known:
 * a known namespace must refuse as much as an unknown one.
 */
Test(netns, known_netns_remote_not_refused, .init = setup, .fini = teardown)
{
	load(EPERM_CONFIG);
	daemon_pid = fx_daemon_start(&fx, NULL);
	listeners[1] = fx_listen_in(&fx, &ns, TENANT_A, "127.0.0.1", 7999, false, NULL);
	cr_assert(fx_wait_netns_addrs_known(&fx, ns.cookie, 5000),
		  "DAEMON PART MISSING: tunnelguard daemon did not record netns %llu with "
		  "addrs_known=1 in %s/" TG_PIN_NETNS " within 5 s of a tenant listening there "
		  "(is the daemon's netns learning in this build?)",
		  (unsigned long long)ns.cookie, fx.pin_dir);
	run_cases(known_remote_cases, COUNT(known_remote_cases));
	run_cases(address_cases, COUNT(address_cases));
}

struct nat_case {
	const char *name;
	const char *table_family; /* ip or ip6 */
	const char *rule;	  /* sends tcp dport 9001 to the listener on 8001 */
	const char *listen_addr;
	uid_t caller;
	int family;
	const char *connect_addr;
	int expect_errno;
	int syn_reason;
};

#define NAT_TO_PORT   8001
#define NAT_FROM_PORT 9001

/* clang-format off */
/* connect() sees no listener on 9001 (allow_no_listener); the SYN check sees A's on 8001. */
static const struct nat_case nat_cases[] = {
	{ "v4 redirect to another tenant", "ip", "redirect to :8001", "127.0.0.1", TENANT_B,
	  AF_INET, "127.0.0.1", NOT_CONNECTED, TG_DENY_OTHER_TENANT },
	{ "v4 redirect to own listener", "ip", "redirect to :8001", "127.0.0.1", TENANT_A,
	  AF_INET, "127.0.0.1", 0, NO_REASON },
	{ "v4 dnat to another tenant", "ip", "dnat to 127.0.0.1:8001", "127.0.0.1", TENANT_B,
	  AF_INET, "127.0.0.1", NOT_CONNECTED, TG_DENY_OTHER_TENANT },
	{ "v4 dnat to own listener", "ip", "dnat to 127.0.0.1:8001", "127.0.0.1", TENANT_A,
	  AF_INET, "127.0.0.1", 0, NO_REASON },
	{ "v6 redirect to another tenant", "ip6", "redirect to :8001", "::1", TENANT_B, AF_INET6,
	  "::1", NOT_CONNECTED, TG_DENY_OTHER_TENANT },
	{ "v6 redirect to own listener", "ip6", "redirect to :8001", "::1", TENANT_A, AF_INET6,
	  "::1", 0, NO_REASON },
	{ "v6 dnat to another tenant", "ip6", "dnat to [::1]:8001", "::1", TENANT_B, AF_INET6,
	  "::1", NOT_CONNECTED, TG_DENY_OTHER_TENANT },
	{ "v6 dnat to own listener", "ip6", "dnat to [::1]:8001", "::1", TENANT_A, AF_INET6,
	  "::1", 0, NO_REASON },
};
/* clang-format on */

Test(netns, nat_redirect_and_dnat, .init = setup, .fini = teardown)
{
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];
	char cmd[1024], out[4096];

	load(EPERM_CONFIG);
	for (size_t i = 0; i < COUNT(nat_cases); i++) {
		const struct nat_case *c = &nat_cases[i];
		int got;

		/* A root user's rule in the tenants' namespace, through nsenter as an admin would.
		 */
		snprintf(cmd, sizeof(cmd),
			 "nsenter --net=%s nft 'add table %s tgtestnat; "
			 "add chain %s tgtestnat out { type nat hook output priority -100; }; "
			 "add rule %s tgtestnat out tcp dport %d %s' 2>&1",
			 ns.path, c->table_family, c->table_family, c->table_family, NAT_FROM_PORT,
			 c->rule);
		cr_assert_eq(fx_run(cmd, out, sizeof(out)), 0, "%s: %s failed: %s", c->name, cmd,
			     out);
		listeners[0] = fx_listen_in(&fx, &ns, TENANT_A, c->listen_addr, NAT_TO_PORT,
					    c->family == AF_INET6, NULL);
		snapshot(before);
		got = fx_connect_in(&fx, &ns, c->caller, c->family, c->connect_addr, NAT_FROM_PORT,
				    NULL, CONNECT_TIMEOUT_MS);
		snapshot(after);
		fx_listener_stop(&listeners[0]);
		snprintf(cmd, sizeof(cmd), "nft delete table %s tgtestnat", c->table_family);
		cr_assert_eq(fx_run_in(&ns, cmd, out, sizeof(out)), 0, "%s: %s failed: %s", c->name,
			     cmd, out);
		expect_result(c->name, got, c->expect_errno);
		expect_counters(c->name, before, after, TG_ALLOW_NO_LISTENER, c->syn_reason);
	}
}
