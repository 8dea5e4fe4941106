// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real programs on the real kernel: every address form by which a connect reaches a local
 * listener, each under each policy setting, with exact errnos and exact counter deltas.
 * Needs root; each test runs in its own network namespace and cgroup (fixture.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "tg_policy.h"

#include "fixture.h"
#include "reasons.h"

#define TENANT_A  2001
#define TENANT_B  2002
#define TENANT_C  2003
#define SERVICE	  2999 /* not in tenant-uids: a hub service account */
#define NO_REASON -1   /* a non-tenant caller: no counter may move */

#define BASE_CONFIG "tenant-uids = 2001-2003\n"

struct connect_case {
	const char *name;
	uid_t listener_uid;
	const char *listen_addr;
	bool v6only;
	uid_t caller;
	int family;
	const char *connect_addr;
	int expect_errno; /* 0: the connect succeeds */
	int reason;	  /* the one counter that rises by exactly one, or NO_REASON */
};

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
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

static void run_cases(const char *config, const struct connect_case *cases, size_t n)
{
	uint64_t before[TG_REASON_COUNT], after[TG_REASON_COUNT];

	fx_write_config(&fx, config);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
	for (size_t i = 0; i < n; i++) {
		const struct connect_case *c = &cases[i];
		uint16_t port = 8000 + i;
		struct fx_listener l = fx_listen(c->listener_uid, c->listen_addr, port, c->v6only);
		int got;

		snapshot(before);
		got = fx_connect_as(&fx, c->caller, c->family, c->connect_addr, port);
		snapshot(after);
		fx_listener_stop(&l);

		cr_expect_eq(got, c->expect_errno, "%s: connect gave %s (%d), expected %s (%d)",
			     c->name, strerror(got), got, strerror(c->expect_errno),
			     c->expect_errno);
		for (unsigned int r = 0; r < TG_REASON_COUNT; r++) {
			uint64_t want = before[r] + ((int)r == c->reason ? 1 : 0);

			cr_expect_eq(after[r], want,
				     "%s: counter %s went %llu -> %llu, expected %llu", c->name,
				     reason_name(r), (unsigned long long)before[r],
				     (unsigned long long)after[r], (unsigned long long)want);
		}
	}
}

/* clang-format off */
static const struct connect_case isolate_cases[] = {
	{ "v4 cross-tenant", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v6 cross-tenant", TENANT_A, "::1", true, TENANT_B, AF_INET6, "::1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "third tenant", TENANT_C, "127.0.0.1", false, TENANT_A, AF_INET, "127.0.0.1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v4 own port", TENANT_A, "127.0.0.1", false, TENANT_A, AF_INET, "127.0.0.1",
	  0, TG_ALLOW_OWN },
	{ "v6 own port", TENANT_A, "::1", true, TENANT_A, AF_INET6, "::1", 0, TG_ALLOW_OWN },
	{ "v4 root caller", TENANT_A, "127.0.0.1", false, 0, AF_INET, "127.0.0.1",
	  0, NO_REASON },
	{ "v6 root caller", TENANT_A, "::1", true, 0, AF_INET6, "::1", 0, NO_REASON },
	{ "service caller", TENANT_A, "127.0.0.1", false, SERVICE, AF_INET, "127.0.0.1",
	  0, NO_REASON },
	{ "0.0.0.0 reaches 127.0.0.1", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET,
	  "0.0.0.0", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "127.0.0.2 reaches a wildcard", TENANT_A, "0.0.0.0", false, TENANT_B, AF_INET,
	  "127.0.0.2", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "127.255.255.254 reaches a wildcard", TENANT_A, "0.0.0.0", false, TENANT_B, AF_INET,
	  "127.255.255.254", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "127.0.0.2 misses a 127.0.0.1 listener", TENANT_A, "127.0.0.1", false, TENANT_B,
	  AF_INET, "127.0.0.2", ECONNREFUSED, TG_ALLOW_NO_LISTENER },
	{ "v4-mapped reaches a v4 listener", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET6,
	  "::ffff:127.0.0.1", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v4-mapped 127.0.0.9 reaches a wildcard", TENANT_A, "0.0.0.0", false, TENANT_B,
	  AF_INET6, "::ffff:127.0.0.9", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v4-mapped any reaches 127.0.0.1", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET6,
	  "::ffff:0.0.0.0", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ ":: reaches ::1", TENANT_A, "::1", true, TENANT_B, AF_INET6, "::",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "dual-stack wildcard via 127.0.0.1", TENANT_A, "::", false, TENANT_B, AF_INET,
	  "127.0.0.1", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "dual-stack wildcard via ::1", TENANT_A, "::", false, TENANT_B, AF_INET6, "::1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "dual-stack wildcard via 0.0.0.0", TENANT_A, "::", false, TENANT_B, AF_INET,
	  "0.0.0.0", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v6-mapped listener via 127.0.0.1", TENANT_A, "::ffff:127.0.0.1", false, TENANT_B,
	  AF_INET, "127.0.0.1", ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "v6only wildcard is not reached over v4", TENANT_A, "::", true, TENANT_B, AF_INET,
	  "127.0.0.1", ECONNREFUSED, TG_ALLOW_NO_LISTENER },
	{ "service listener under isolate", SERVICE, "127.0.0.1", false, TENANT_B, AF_INET,
	  "127.0.0.1", 0, TG_ALLOW_SERVICE },
	{ "root listener under isolate", 0, "::1", true, TENANT_B, AF_INET6, "::1",
	  0, TG_ALLOW_SERVICE },
	{ "remote address beside a tenant wildcard", TENANT_A, "0.0.0.0", false, TENANT_B,
	  AF_INET, "192.0.2.1", ENETUNREACH, TG_ALLOW_REMOTE },
};
/* clang-format on */

Test(enforce, isolate_every_address_form, .init = setup, .fini = teardown)
{
	run_cases(BASE_CONFIG, isolate_cases, sizeof(isolate_cases) / sizeof(isolate_cases[0]));
}

static const struct connect_case strict_cases[] = {
	{ "service listener under strict", SERVICE, "127.0.0.1", false, TENANT_B, AF_INET,
	  "127.0.0.1", ECONNREFUSED, TG_DENY_SERVICE },
	{ "root listener under strict", 0, "::1", true, TENANT_B, AF_INET6, "::1", ECONNREFUSED,
	  TG_DENY_SERVICE },
	{ "own port under strict", TENANT_B, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1", 0,
	  TG_ALLOW_OWN },
	{ "root caller under strict", SERVICE, "127.0.0.1", false, 0, AF_INET, "127.0.0.1", 0,
	  NO_REASON },
	{ "cross-tenant under strict", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
};

Test(enforce, strict_policy, .init = setup, .fini = teardown)
{
	run_cases(BASE_CONFIG "policy = strict\n", strict_cases,
		  sizeof(strict_cases) / sizeof(strict_cases[0]));
}

static const struct connect_case eperm_cases[] = {
	{ "v4 cross-tenant eperm", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  EPERM, TG_DENY_OTHER_TENANT },
	{ "v6 cross-tenant eperm", TENANT_A, "::1", true, TENANT_B, AF_INET6, "::1", EPERM,
	  TG_DENY_OTHER_TENANT },
	{ "own port eperm config", TENANT_A, "::1", true, TENANT_A, AF_INET6, "::1", 0,
	  TG_ALLOW_OWN },
};

Test(enforce, deny_errno_eperm, .init = setup, .fini = teardown)
{
	run_cases(BASE_CONFIG "deny-errno = eperm\n", eperm_cases,
		  sizeof(eperm_cases) / sizeof(eperm_cases[0]));
}

static const struct connect_case audit_cases[] = {
	{ "v4 cross-tenant audited", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  0, TG_AUDIT_OTHER_TENANT },
	{ "v6 cross-tenant audited", TENANT_A, "::1", true, TENANT_B, AF_INET6, "::1", 0,
	  TG_AUDIT_OTHER_TENANT },
	{ "service audited under strict", SERVICE, "127.0.0.1", false, TENANT_B, AF_INET,
	  "127.0.0.1", 0, TG_AUDIT_SERVICE },
};

Test(enforce, audit_mode, .init = setup, .fini = teardown)
{
	run_cases(BASE_CONFIG "mode = audit\npolicy = strict\n", audit_cases,
		  sizeof(audit_cases) / sizeof(audit_cases[0]));
}

/* Ports 8000 and 8001 are open to every tenant; 8002 is not. */
static const struct connect_case allow_cases[] = {
	{ "allow-ports opens a tenant port", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET,
	  "127.0.0.1", 0, TG_ALLOW_PORT },
	{ "allow-ports range end", TENANT_A, "::1", true, TENANT_B, AF_INET6, "::1", 0,
	  TG_ALLOW_PORT },
	{ "outside allow-ports", TENANT_A, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  ECONNREFUSED, TG_DENY_OTHER_TENANT },
	{ "exempt caller", TENANT_A, "127.0.0.1", false, TENANT_C, AF_INET, "127.0.0.1", 0,
	  NO_REASON },
	{ "exempt owner is a service", TENANT_C, "127.0.0.1", false, TENANT_B, AF_INET, "127.0.0.1",
	  0, TG_ALLOW_SERVICE },
};

Test(enforce, allow_ports_and_exempt_uids, .init = setup, .fini = teardown)
{
	run_cases(BASE_CONFIG "allow-ports = 8000-8001\nexempt-uids = 2003\n", allow_cases,
		  sizeof(allow_cases) / sizeof(allow_cases[0]));
}
