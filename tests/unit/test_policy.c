// SPDX-License-Identifier: GPL-2.0-only
/* test_policy.c - tg_decide_connect(), tg_decide_bind() and their helpers in tg_policy.h. */
#include <criterion/criterion.h>

#include "tg_policy.h"

/*
 * Tenants are 1000-1999 and 3000-3999 (two ranges, with service uids 2000-2999 between them);
 * 1500 is exempt; 53 and 8000-8099 are allow-ports.
 */
#define TENANTS                                                                     \
	.n_tenant = 2, .tenant = { { 1000, 1999 }, { 3000, 3999 } }, .n_exempt = 1, \
	.exempt = { { 1500, 1500 } }, .n_allow_port = 2,                            \
	.allow_port = { { 53, 53 }, { 8000, 8099 } }

static const struct tg_policy isolate = {
	.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111, TENANTS
};
static const struct tg_policy strict = {
	.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_STRICT, .deny_errno = 111, TENANTS
};
static const struct tg_policy audit_isolate = {
	.mode = TG_MODE_AUDIT, .policy = TG_POLICY_ISOLATE, .deny_errno = 111, TENANTS
};
static const struct tg_policy audit_strict = {
	.mode = TG_MODE_AUDIT, .policy = TG_POLICY_STRICT, .deny_errno = 111, TENANTS
};
/* No tenants at all: nobody is restricted. */
static const struct tg_policy no_tenants = { .mode = TG_MODE_ENFORCE,
					     .policy = TG_POLICY_STRICT,
					     .deny_errno = 111 };
/* The worked example at the top of tg_policy.h. */
static const struct tg_policy example = {
	.mode = TG_MODE_ENFORCE,
	.policy = TG_POLICY_ISOLATE,
	.deny_errno = 111,
	.n_tenant = 1,
	.tenant = { { 2001, 2003 } },
	.n_allow_port = 1,
	.allow_port = { { 53, 53 } },
};

#define FOUND(caller, p, owner)                                                     \
	{                                                                           \
		.caller_uid = (caller), .port = (p), .listener = TG_LISTENER_FOUND, \
		.owner_uid = (owner)                                                \
	}
#define NONE(caller, p)                                                           \
	{                                                                         \
		.caller_uid = (caller), .port = (p), .listener = TG_LISTENER_NONE \
	}
#define UNKNOWN(caller, p)                                                                 \
	{                                                                                  \
		.caller_uid = (caller), .port = (p), .listener = TG_LISTENER_OWNER_UNKNOWN \
	}

struct decide_case {
	const char *name;
	const struct tg_policy *policy;
	struct tg_facts facts;
	enum tg_reason want;
};

static const struct decide_case decide_cases[] = {
	/* Callers that are not tenants are allowed before anything else is looked at. */
	{ "root caller", &strict, FOUND(0, 9001, 1001), TG_ALLOW_NOT_TENANT },
	{ "service caller below the ranges", &strict, FOUND(999, 9001, 1001), TG_ALLOW_NOT_TENANT },
	{ "service caller between the ranges", &strict, FOUND(2000, 9001, 1001),
	  TG_ALLOW_NOT_TENANT },
	{ "service caller above the ranges", &strict, FOUND(4000, 9001, 1001),
	  TG_ALLOW_NOT_TENANT },
	{ "exempt caller", &strict, FOUND(1500, 9001, 1001), TG_ALLOW_NOT_TENANT },
	{ "exempt caller, unknown owner", &strict, UNKNOWN(1500, 9001), TG_ALLOW_NOT_TENANT },
	{ "no tenant ranges", &no_tenants, FOUND(1001, 9001, 1002), TG_ALLOW_NOT_TENANT },
	{ "audit, non-tenant caller", &audit_strict, FOUND(0, 9001, 1001), TG_ALLOW_NOT_TENANT },

	/* Nothing listens: the connect fails by itself. */
	{ "no listener, isolate", &isolate, NONE(1001, 9001), TG_ALLOW_NO_LISTENER },
	{ "no listener, strict", &strict, NONE(1001, 9001), TG_ALLOW_NO_LISTENER },
	{ "no listener on an allow-port", &strict, NONE(1001, 53), TG_ALLOW_NO_LISTENER },

	/* Own listener, before allow-ports. */
	{ "own listener", &strict, FOUND(1001, 9001, 1001), TG_ALLOW_OWN },
	{ "own listener on an allow-port", &strict, FOUND(1001, 53, 1001), TG_ALLOW_OWN },
	{ "own listener, second range", &strict, FOUND(3999, 1, 3999), TG_ALLOW_OWN },
	{ "unknown owner is never own", &isolate, UNKNOWN(1001, 9001), TG_DENY_UNKNOWN_OWNER },

	/* allow-ports, whatever the owner, at the range edges. */
	{ "allow-port 53, other tenant", &isolate, FOUND(1001, 53, 1002), TG_ALLOW_PORT },
	{ "allow-port range first, other tenant", &isolate, FOUND(1001, 8000, 1002),
	  TG_ALLOW_PORT },
	{ "allow-port range last, other tenant", &isolate, FOUND(1001, 8099, 1002), TG_ALLOW_PORT },
	{ "below allow-port range, other tenant", &isolate, FOUND(1001, 7999, 1002),
	  TG_DENY_OTHER_TENANT },
	{ "above allow-port range, other tenant", &isolate, FOUND(1001, 8100, 1002),
	  TG_DENY_OTHER_TENANT },
	{ "port 52, next to allow-port 53", &isolate, FOUND(1001, 52, 1002), TG_DENY_OTHER_TENANT },
	{ "port 54, next to allow-port 53", &isolate, FOUND(1001, 54, 1002), TG_DENY_OTHER_TENANT },
	{ "allow-port, service owner, strict", &strict, FOUND(1001, 8050, 0), TG_ALLOW_PORT },
	{ "allow-port, unknown owner", &strict, UNKNOWN(1001, 53), TG_ALLOW_PORT },

	/* Other tenants are denied under both policies, across both tenant ranges. */
	{ "other tenant, same range, isolate", &isolate, FOUND(1001, 9001, 1002),
	  TG_DENY_OTHER_TENANT },
	{ "other tenant, same range, strict", &strict, FOUND(1001, 9001, 1002),
	  TG_DENY_OTHER_TENANT },
	{ "other tenant in the second range", &isolate, FOUND(1001, 9001, 3000),
	  TG_DENY_OTHER_TENANT },
	{ "second-range caller, first-range owner", &isolate, FOUND(3999, 9001, 1000),
	  TG_DENY_OTHER_TENANT },
	{ "tenant range edges", &isolate, FOUND(1000, 9001, 1999), TG_DENY_OTHER_TENANT },
	{ "worked example of tg_policy.h", &example, FOUND(2002, 9001, 2001),
	  TG_DENY_OTHER_TENANT },
	{ "worked example, allow-port 53", &example, FOUND(2002, 53, 2001), TG_ALLOW_PORT },

	/* Non-tenant (service) owners: open under isolate, closed under strict. */
	{ "root owner, isolate", &isolate, FOUND(1001, 9001, 0), TG_ALLOW_SERVICE },
	{ "root owner, strict", &strict, FOUND(1001, 9001, 0), TG_DENY_SERVICE },
	{ "owner between the ranges, isolate", &isolate, FOUND(1001, 9001, 2500),
	  TG_ALLOW_SERVICE },
	{ "owner between the ranges, strict", &strict, FOUND(1001, 9001, 2500), TG_DENY_SERVICE },
	{ "owner just above the ranges, isolate", &isolate, FOUND(1001, 9001, 4000),
	  TG_ALLOW_SERVICE },
	{ "exempt owner is a service, isolate", &isolate, FOUND(1001, 9001, 1500),
	  TG_ALLOW_SERVICE },
	{ "exempt owner is a service, strict", &strict, FOUND(1001, 9001, 1500), TG_DENY_SERVICE },

	/* A listener whose owner cannot be read fails closed. */
	{ "unknown owner, isolate", &isolate, UNKNOWN(1001, 9001), TG_DENY_UNKNOWN_OWNER },
	{ "unknown owner, strict", &strict, UNKNOWN(1001, 9001), TG_DENY_UNKNOWN_OWNER },
	{ "unknown owner, owner_uid garbage equals caller",
	  &strict,
	  { .caller_uid = 1001,
	    .port = 9001,
	    .listener = TG_LISTENER_OWNER_UNKNOWN,
	    .owner_uid = 1001 },
	  TG_DENY_UNKNOWN_OWNER },

	/* Audit mode: every deny becomes its twin, every allow stays. */
	{ "audit, other tenant", &audit_isolate, FOUND(1001, 9001, 1002), TG_AUDIT_OTHER_TENANT },
	{ "audit, other tenant, strict", &audit_strict, FOUND(1001, 9001, 3001),
	  TG_AUDIT_OTHER_TENANT },
	{ "audit, service owner, strict", &audit_strict, FOUND(1001, 9001, 0), TG_AUDIT_SERVICE },
	{ "audit, exempt owner, strict", &audit_strict, FOUND(1001, 9001, 1500), TG_AUDIT_SERVICE },
	{ "audit, unknown owner", &audit_isolate, UNKNOWN(1001, 9001), TG_AUDIT_UNKNOWN_OWNER },
	{ "audit, service owner, isolate", &audit_isolate, FOUND(1001, 9001, 0), TG_ALLOW_SERVICE },
	{ "audit, own listener", &audit_strict, FOUND(1001, 9001, 1001), TG_ALLOW_OWN },
	{ "audit, allow-port", &audit_strict, FOUND(1001, 53, 1002), TG_ALLOW_PORT },
	{ "audit, no listener", &audit_strict, NONE(1001, 9001), TG_ALLOW_NO_LISTENER },
};

Test(policy, decide_connect_local)
{
	for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		const struct decide_case *c = &decide_cases[i];
		enum tg_reason got = tg_decide_connect_local(c->policy, &c->facts);

		cr_assert_eq(got, c->want, "%s: tg_decide_connect_local gave reason %d, want %d",
			     c->name, got, c->want);
	}
}

/*
 * tg_decide_connect(): a remote destination with no listener is out of scope; anything else is
 * judged by tg_decide_connect_local().
 */
Test(policy, decide_connect)
{
	static const struct {
		const char *name;
		const struct tg_policy *policy;
		struct tg_facts facts;
		int local;
		enum tg_reason want;
	} cases[] = {
		{ "remote, non-tenant caller", &strict, NONE(0, 9001), 0, TG_ALLOW_NOT_TENANT },
		{ "remote, exempt caller", &strict, NONE(1500, 9001), 0, TG_ALLOW_NOT_TENANT },
		{ "remote, no listener", &strict, NONE(1001, 9001), 0, TG_ALLOW_REMOTE },
		{ "remote, no listener, audit", &audit_strict, NONE(1001, 9001), 0,
		  TG_ALLOW_REMOTE },
		{ "remote, listener bound to it", &isolate, FOUND(1001, 9001, 1002), 0,
		  TG_DENY_OTHER_TENANT },
		{ "remote, listener of unknown owner", &isolate, UNKNOWN(1001, 9001), 0,
		  TG_DENY_UNKNOWN_OWNER },
		{ "local, no listener", &strict, NONE(1001, 9001), 1, TG_ALLOW_NO_LISTENER },
		{ "local, other tenant", &isolate, FOUND(1001, 9001, 1002), 1,
		  TG_DENY_OTHER_TENANT },
		{ "local, other tenant, audit", &audit_isolate, FOUND(1001, 9001, 1002), 1,
		  TG_AUDIT_OTHER_TENANT },
		{ "local, service owner, strict", &strict, FOUND(1001, 9001, 0), 1,
		  TG_DENY_SERVICE },
		{ "local, own listener", &strict, FOUND(1001, 9001, 1001), 1, TG_ALLOW_OWN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_reason got =
			tg_decide_connect(cases[i].policy, &cases[i].facts, cases[i].local);

		cr_assert_eq(got, cases[i].want, "%s: tg_decide_connect gave %d, want %d",
			     cases[i].name, got, cases[i].want);
	}
}

/* The same facts under audit mode: a deny turns into its twin and nothing is refused. */
Test(policy, audit_never_refuses)
{
	static const enum tg_reason twin[TG_REASON_COUNT] = {
		[TG_DENY_OTHER_TENANT] = TG_AUDIT_OTHER_TENANT,
		[TG_DENY_SERVICE] = TG_AUDIT_SERVICE,
		[TG_DENY_UNKNOWN_OWNER] = TG_AUDIT_UNKNOWN_OWNER,
	};

	for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct tg_policy p = *c->policy;
		enum tg_reason enforced, audited, want;

		p.mode = TG_MODE_ENFORCE;
		enforced = tg_decide_connect_local(&p, &c->facts);
		p.mode = TG_MODE_AUDIT;
		audited = tg_decide_connect_local(&p, &c->facts);
		want = tg_reason_refuses(enforced) ? twin[enforced] : enforced;
		cr_assert_eq(audited, want, "%s: audit gave %d, enforce %d, want %d", c->name,
			     audited, enforced, want);
		cr_assert_not(tg_reason_refuses(audited), "%s: audit mode refuses (reason %d)",
			      c->name, audited);
	}
}

Test(policy, is_tenant)
{
	static const struct {
		const char *name;
		__u32 uid;
		int want;
	} cases[] = {
		{ "root", 0, 0 },
		{ "below first range", 999, 0 },
		{ "first of first range", 1000, 1 },
		{ "exempt inside first range", 1500, 0 },
		{ "around the exempt uid", 1499, 1 },
		{ "after the exempt uid", 1501, 1 },
		{ "last of first range", 1999, 1 },
		{ "between ranges", 2000, 0 },
		{ "first of second range", 3000, 1 },
		{ "last of second range", 3999, 1 },
		{ "above second range", 4000, 0 },
		{ "nobody", 65534, 0 },
		{ "uid -1", 4294967295U, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(tg_is_tenant(&isolate, cases[i].uid), cases[i].want,
			     "%s: tg_is_tenant(%u) is %d, want %d", cases[i].name, cases[i].uid,
			     tg_is_tenant(&isolate, cases[i].uid), cases[i].want);
}

/* Entries past n are never read, even if they would match. */
Test(policy, counts_bound_the_lists)
{
	static const struct tg_policy stale = {
		.mode = TG_MODE_ENFORCE,
		.policy = TG_POLICY_ISOLATE,
		.n_tenant = 1,
		.tenant = { { 1000, 1999 }, { 5000, 5999 } },
		.n_exempt = 0,
		.exempt = { { 1001, 1001 } },
		.n_allow_port = 0,
		.allow_port = { { 1, 65535 } },
	};
	static const struct {
		const char *name;
		struct tg_facts facts;
		enum tg_reason want;
	} cases[] = {
		{ "stale tenant entry", FOUND(5001, 9001, 1002), TG_ALLOW_NOT_TENANT },
		{ "stale exempt entry", FOUND(1001, 9001, 1002), TG_DENY_OTHER_TENANT },
		{ "stale allow-port entry", FOUND(1003, 9001, 1002), TG_DENY_OTHER_TENANT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_reason got = tg_decide_connect_local(&stale, &cases[i].facts);

		cr_assert_eq(got, cases[i].want, "%s: reason %d, want %d", cases[i].name, got,
			     cases[i].want);
	}
}

Test(policy, reasons)
{
	static const struct {
		const char *name;
		enum tg_reason reason;
		int refuses;
		int is_audit;
		enum tg_reason audit_twin; /* tg_apply_mode() in audit mode */
	} cases[] = {
		{ "TG_ALLOW_NOT_TENANT", TG_ALLOW_NOT_TENANT, 0, 0, TG_ALLOW_NOT_TENANT },
		{ "TG_ALLOW_NOT_TCP", TG_ALLOW_NOT_TCP, 0, 0, TG_ALLOW_NOT_TCP },
		{ "TG_ALLOW_REMOTE", TG_ALLOW_REMOTE, 0, 0, TG_ALLOW_REMOTE },
		{ "TG_ALLOW_NO_LISTENER", TG_ALLOW_NO_LISTENER, 0, 0, TG_ALLOW_NO_LISTENER },
		{ "TG_ALLOW_OWN", TG_ALLOW_OWN, 0, 0, TG_ALLOW_OWN },
		{ "TG_ALLOW_PORT", TG_ALLOW_PORT, 0, 0, TG_ALLOW_PORT },
		{ "TG_ALLOW_SERVICE", TG_ALLOW_SERVICE, 0, 0, TG_ALLOW_SERVICE },
		{ "TG_DENY_OTHER_TENANT", TG_DENY_OTHER_TENANT, 1, 0, TG_AUDIT_OTHER_TENANT },
		{ "TG_DENY_SERVICE", TG_DENY_SERVICE, 1, 0, TG_AUDIT_SERVICE },
		{ "TG_DENY_UNKNOWN_OWNER", TG_DENY_UNKNOWN_OWNER, 1, 0, TG_AUDIT_UNKNOWN_OWNER },
		{ "TG_AUDIT_OTHER_TENANT", TG_AUDIT_OTHER_TENANT, 0, 1, TG_AUDIT_OTHER_TENANT },
		{ "TG_AUDIT_SERVICE", TG_AUDIT_SERVICE, 0, 1, TG_AUDIT_SERVICE },
		{ "TG_AUDIT_UNKNOWN_OWNER", TG_AUDIT_UNKNOWN_OWNER, 0, 1, TG_AUDIT_UNKNOWN_OWNER },
		{ "TG_ALLOW_RULE", TG_ALLOW_RULE, 0, 0, TG_ALLOW_RULE },
		{ "TG_ALLOW_BIND_OWN", TG_ALLOW_BIND_OWN, 0, 0, TG_ALLOW_BIND_OWN },
		{ "TG_ALLOW_BIND_OPEN", TG_ALLOW_BIND_OPEN, 0, 0, TG_ALLOW_BIND_OPEN },
		{ "TG_ALLOW_BIND_EPHEMERAL", TG_ALLOW_BIND_EPHEMERAL, 0, 0,
		  TG_ALLOW_BIND_EPHEMERAL },
		{ "TG_DENY_BIND_RESERVED", TG_DENY_BIND_RESERVED, 1, 0, TG_AUDIT_BIND_RESERVED },
		{ "TG_DENY_BIND_UNRESERVED", TG_DENY_BIND_UNRESERVED, 1, 0,
		  TG_AUDIT_BIND_UNRESERVED },
		{ "TG_AUDIT_BIND_RESERVED", TG_AUDIT_BIND_RESERVED, 0, 1, TG_AUDIT_BIND_RESERVED },
		{ "TG_AUDIT_BIND_UNRESERVED", TG_AUDIT_BIND_UNRESERVED, 0, 1,
		  TG_AUDIT_BIND_UNRESERVED },
		{ "TG_DENY_TUNNEL_LIMIT", TG_DENY_TUNNEL_LIMIT, 1, 0, TG_AUDIT_TUNNEL_LIMIT },
		{ "TG_AUDIT_TUNNEL_LIMIT", TG_AUDIT_TUNNEL_LIMIT, 0, 1, TG_AUDIT_TUNNEL_LIMIT },
	};
	unsigned int seen = 0;

	cr_assert_eq(sizeof(cases) / sizeof(cases[0]), TG_REASON_COUNT,
		     "reasons: table has %zu rows, the enum %d reasons",
		     sizeof(cases) / sizeof(cases[0]), TG_REASON_COUNT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_reason r = cases[i].reason;

		seen |= 1u << r;
		cr_assert_eq(tg_reason_refuses(r), cases[i].refuses,
			     "%s: tg_reason_refuses is %d, want %d", cases[i].name,
			     tg_reason_refuses(r), cases[i].refuses);
		cr_assert_eq(tg_reason_is_audit(r), cases[i].is_audit,
			     "%s: tg_reason_is_audit is %d, want %d", cases[i].name,
			     tg_reason_is_audit(r), cases[i].is_audit);
		cr_assert_eq(tg_apply_mode(&audit_isolate, r), cases[i].audit_twin,
			     "%s: audit mode gives %d, want %d", cases[i].name,
			     tg_apply_mode(&audit_isolate, r), cases[i].audit_twin);
		cr_assert_eq(tg_apply_mode(&isolate, r), r, "%s: enforce mode changed it to %d",
			     cases[i].name, tg_apply_mode(&isolate, r));
	}
	cr_assert_eq(seen, (1u << TG_REASON_COUNT) - 1, "reasons: not every reason covered (%#x)",
		     seen);
}

/*
 * Reservations and allow rules. Tenants 1000-1999 and 3000-3999 as above; 1001 holds 8001-8010
 * and 9001, 3001 holds 8011; 1002 may reach 9101-9102 and 3000 may reach 9001 (allow-ports are
 * 53 and 8000-8099, so rules are tested outside them).
 */
#define GRANTS                                                                               \
	.n_reservation = 3,                                                                  \
	.reservation = { { 1001, 8001, 8010 }, { 1001, 9001, 9001 }, { 3001, 8011, 8011 } }, \
	.n_allow_rule = 2, .allow_rule = { { 1002, 9101, 9102 }, { 3000, 9001, 9001 } }

static const struct tg_policy open_binds = {
	.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, TENANTS, GRANTS
};
static const struct tg_policy reserved_only = { .mode = TG_MODE_ENFORCE,
						.policy = TG_POLICY_ISOLATE,
						.bind_policy = TG_BIND_RESERVED_ONLY,
						TENANTS,
						GRANTS };
static const struct tg_policy audit_reserved_only = { .mode = TG_MODE_AUDIT,
						      .policy = TG_POLICY_ISOLATE,
						      .bind_policy = TG_BIND_RESERVED_ONLY,
						      TENANTS,
						      GRANTS };

Test(policy, decide_bind)
{
	static const struct {
		const char *name;
		const struct tg_policy *policy;
		__u32 caller;
		__u16 port;
		enum tg_reason want;
		__u32 want_owner;
	} cases[] = {
		/* Not tenants: never restricted, whatever the port. */
		{ "root on a reserved port", &open_binds, 0, 8001, TG_ALLOW_NOT_TENANT, 0 },
		{ "service on a reserved port", &reserved_only, 2500, 8005, TG_ALLOW_NOT_TENANT,
		  0 },
		{ "exempt tenant on a reserved port", &reserved_only, 1500, 8001,
		  TG_ALLOW_NOT_TENANT, 0 },
		/* The owner, at the edges of its ranges. */
		{ "owner, first port", &open_binds, 1001, 8001, TG_ALLOW_BIND_OWN, 1001 },
		{ "owner, last port", &open_binds, 1001, 8010, TG_ALLOW_BIND_OWN, 1001 },
		{ "owner, second range", &reserved_only, 1001, 9001, TG_ALLOW_BIND_OWN, 1001 },
		{ "owner in the second tenant range", &reserved_only, 3001, 8011, TG_ALLOW_BIND_OWN,
		  3001 },
		/* Another tenant: refused on every reserved port, under both bind policies. */
		{ "other tenant, first port", &open_binds, 1002, 8001, TG_DENY_BIND_RESERVED,
		  1001 },
		{ "other tenant, last port", &open_binds, 1002, 8010, TG_DENY_BIND_RESERVED, 1001 },
		{ "other tenant, 9001", &open_binds, 3999, 9001, TG_DENY_BIND_RESERVED, 1001 },
		{ "owner of another reservation", &open_binds, 3001, 8005, TG_DENY_BIND_RESERVED,
		  1001 },
		{ "allow rule does not open a bind", &open_binds, 3000, 9001, TG_DENY_BIND_RESERVED,
		  1001 },
		{ "other tenant, reserved-only", &reserved_only, 1002, 8011, TG_DENY_BIND_RESERVED,
		  3001 },
		/* Unreserved ports: open, or refused under reserved-only. */
		{ "port below a reservation", &open_binds, 1002, 8000, TG_ALLOW_BIND_OPEN, 0 },
		{ "port between reservations", &open_binds, 1001, 8012, TG_ALLOW_BIND_OPEN, 0 },
		{ "port 65535", &open_binds, 1001, 65535, TG_ALLOW_BIND_OPEN, 0 },
		{ "unreserved, reserved-only", &reserved_only, 1001, 8000, TG_DENY_BIND_UNRESERVED,
		  0 },
		{ "unreserved, reserved-only, no reservation of its own", &reserved_only, 1002, 22,
		  TG_DENY_BIND_UNRESERVED, 0 },
		/* Port 0: the kernel picks; allowed for every tenant. */
		{ "ephemeral, open", &open_binds, 1002, 0, TG_ALLOW_BIND_EPHEMERAL, 0 },
		{ "ephemeral, reserved-only", &reserved_only, 1002, 0, TG_ALLOW_BIND_EPHEMERAL, 0 },
		/* Audit: recorded, not refused. */
		{ "audit, reserved", &audit_reserved_only, 1002, 8001, TG_AUDIT_BIND_RESERVED,
		  1001 },
		{ "audit, unreserved", &audit_reserved_only, 1002, 8000, TG_AUDIT_BIND_UNRESERVED,
		  0 },
		{ "audit, owner", &audit_reserved_only, 1001, 8001, TG_ALLOW_BIND_OWN, 1001 },
		/* No reservations at all: the bind policy alone decides. */
		{ "no reservations, open", &isolate, 1001, 8001, TG_ALLOW_BIND_OPEN, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 owner = 12345;
		enum tg_reason got =
			tg_decide_bind(cases[i].policy, cases[i].caller, cases[i].port, &owner);

		cr_assert_eq(got, cases[i].want, "%s: tg_decide_bind gave %d, want %d",
			     cases[i].name, got, cases[i].want);
		cr_assert_eq(owner, cases[i].want_owner, "%s: owner %u, want %u", cases[i].name,
			     owner, cases[i].want_owner);
	}
}

/* Reservations and allow rules past their counts are never read. */
Test(policy, grant_counts_bound_the_lists)
{
	static const struct tg_policy stale = {
		.bind_policy = TG_BIND_OPEN,
		.n_tenant = 1,
		.tenant = { { 1000, 1999 } },
		.n_reservation = 1,
		.reservation = { { 1001, 8001, 8001 }, { 1001, 1, 65535 } },
		.n_allow_rule = 0,
		.allow_rule = { { 1002, 1, 65535 } },
	};
	__u32 owner;

	cr_assert_eq(tg_decide_bind(&stale, 1002, 8002, &owner), TG_ALLOW_BIND_OPEN,
		     "a reservation past n_reservation was read");
	cr_assert_eq(tg_decide_connect_local(&stale, &(struct tg_facts)FOUND(1002, 8001, 1001)),
		     TG_DENY_OTHER_TENANT, "an allow rule past n_allow_rule was read");
}

/* Allow rules in a local connect: after own listener and allow-ports, before the owner's kind. */
Test(policy, decide_allow_rules)
{
	static const struct tg_policy strict_grants = {
		.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_STRICT, TENANTS, GRANTS
	};
	static const struct tg_policy audit_grants = {
		.mode = TG_MODE_AUDIT, .policy = TG_POLICY_ISOLATE, TENANTS, GRANTS
	};
	static const struct decide_case cases[] = {
		{ "rule, first port", &open_binds, FOUND(1002, 9101, 1001), TG_ALLOW_RULE },
		{ "rule, last port", &open_binds, FOUND(1002, 9102, 1001), TG_ALLOW_RULE },
		{ "port past the rule", &open_binds, FOUND(1002, 9103, 1001),
		  TG_DENY_OTHER_TENANT },
		{ "another caller, same port", &open_binds, FOUND(1003, 9101, 1001),
		  TG_DENY_OTHER_TENANT },
		{ "rule of a second-range tenant", &open_binds, FOUND(3000, 9001, 1001),
		  TG_ALLOW_RULE },
		{ "rule opens a service port under strict", &strict_grants, FOUND(1002, 9101, 0),
		  TG_ALLOW_RULE },
		{ "rule covers an unknown owner", &strict_grants, UNKNOWN(1002, 9101),
		  TG_ALLOW_RULE },
		{ "own listener before the rule", &open_binds, FOUND(1002, 9101, 1002),
		  TG_ALLOW_OWN },
		{ "allow-port before the rule", &open_binds, FOUND(1002, 53, 1001), TG_ALLOW_PORT },
		{ "no listener before the rule", &open_binds, NONE(1002, 9101),
		  TG_ALLOW_NO_LISTENER },
		{ "non-tenant caller", &open_binds, FOUND(2500, 9101, 1001), TG_ALLOW_NOT_TENANT },
		{ "audit, rule", &audit_grants, FOUND(1002, 9101, 1001), TG_ALLOW_RULE },
		{ "audit, no rule", &audit_grants, FOUND(1002, 9109, 1001), TG_AUDIT_OTHER_TENANT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_reason got = tg_decide_connect_local(cases[i].policy, &cases[i].facts);

		cr_assert_eq(got, cases[i].want, "%s: tg_decide_connect_local gave %d, want %d",
			     cases[i].name, got, cases[i].want);
	}
}

/* A tenant listener on another tenant's reservation (listen() without bind()) is refused. */
Test(policy, listener_squats)
{
	static const struct {
		const char *name;
		const struct tg_policy *policy;
		__u32 owner;
		__u16 port;
		int want;
		__u32 want_reserved_for; /* checked when want is 1 */
	} cases[] = {
		{ "tenant on another's reservation", &open_binds, 1002, 8005, 1, 1001 },
		{ "tenant on another's single port", &open_binds, 3001, 9001, 1, 1001 },
		{ "owner on its own reservation", &open_binds, 1001, 8001, 0, 0 },
		{ "tenant on an unreserved port", &open_binds, 1002, 8000, 0, 0 },
		{ "non-tenant on a reservation", &open_binds, 2500, 8005, 0, 0 },
		{ "no reservations", &isolate, 1002, 8005, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 reserved_for = 12345;
		int got = tg_listener_squats(cases[i].policy, cases[i].owner, cases[i].port,
					     &reserved_for);

		cr_assert_eq(got, cases[i].want, "%s: tg_listener_squats gave %d, want %d",
			     cases[i].name, got, cases[i].want);
		if (cases[i].want)
			cr_assert_eq(reserved_for, cases[i].want_reserved_for,
				     "%s: reserved for %u, want %u", cases[i].name, reserved_for,
				     cases[i].want_reserved_for);
	}
}
