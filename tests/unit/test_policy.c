// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_policy.c - tg_decide_connect(), tg_decide_bind() and their helpers in tg_policy.h, handed
 * the facts that policy.c looks up in a userspace struct tg_policy (as the kernel looks them up
 * in its maps), and policy.c's lookups and settings themselves.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "policy.h"

/* The settings the decisions read (scalars only), as the loader gives them to the kernel. */
static struct tg_settings settings_of(const struct tg_policy *p)
{
	struct tg_settings s;
	int err = policy_settings(p, &s);

	cr_assert_eq(err, 0, "policy_settings: %d", err);
	return s;
}

/*
 * tg_decide_connect_local() for p, as the kernel asks it: first without the allow-rule fact,
 * then, when it answers TG_NEED_ALLOW_RULE, again with it. policy_decide_connect_local() must
 * agree.
 */
static enum tg_reason decide_local(const struct tg_policy *p, const struct tg_facts *in)
{
	struct tg_settings s = settings_of(p);
	struct tg_facts f = *in, g = *in;
	enum tg_reason r;
	__u8 rule, open;

	policy_facts(p, &f);
	rule = f.allow_rule;
	open = f.port_open;
	f.allow_rule = TG_FACT_UNKNOWN;
	f.port_open = TG_FACT_UNKNOWN;
	r = tg_decide_connect_local(&s, &f);
	if (r == TG_NEED_PORT_OPEN) {
		f.port_open = open;
		r = tg_decide_connect_local(&s, &f);
	}
	if (r == TG_NEED_ALLOW_RULE) {
		cr_assert_neq(f.port_open, TG_FACT_UNKNOWN, "asked for the rule before the port");
		f.allow_rule = rule;
		r = tg_decide_connect_local(&s, &f);
	}
	cr_assert(r != TG_NEED_ALLOW_RULE && r != TG_NEED_PORT_OPEN, "asked with the facts known");
	cr_assert_eq(policy_decide_connect_local(p, &g), r,
		     "policy_decide_connect_local gave %d, the facts %d",
		     policy_decide_connect_local(p, &g), r);
	return r;
}

static enum tg_reason decide(const struct tg_policy *p, const struct tg_facts *in, int local)
{
	struct tg_settings s = settings_of(p);
	struct tg_facts f = *in, g = *in;
	enum tg_reason r;

	policy_facts(p, &f);
	r = tg_decide_connect(&s, &f, local);
	cr_assert_eq(policy_decide_connect(p, &g, local), r,
		     "policy_decide_connect gave %d, the facts %d",
		     policy_decide_connect(p, &g, local), r);
	return r;
}

/*
 * Tenants are 1000-1999 and 3000-3999 (two ranges, with service uids 2000-2999 between them);
 * 1500 is exempt; 53 and 8000-8099 are allow-ports.
 */
#define TENANTS                                                                                \
	.n_tenant = 2, .tenant = (struct tg_uid_range[]){ { 1000, 1999 }, { 3000, 3999 } },    \
	.n_exempt = 1, .exempt = (struct tg_uid_range[]){ { 1500, 1500 } }, .n_allow_port = 2, \
	.allow_port = (struct tg_port_range[])                                                 \
	{                                                                                      \
		{ 53, 53 },                                                                    \
		{                                                                              \
			8000, 8099                                                             \
		}                                                                              \
	}

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
	.tenant = (struct tg_uid_range[]){ { 2001, 2003 } },
	.n_allow_port = 1,
	.allow_port = (struct tg_port_range[]){ { 53, 53 } },
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
		enum tg_reason got = decide_local(c->policy, &c->facts);

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
		enum tg_reason got = decide(cases[i].policy, &cases[i].facts, cases[i].local);

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
		enforced = decide_local(&p, &c->facts);
		p.mode = TG_MODE_AUDIT;
		audited = decide_local(&p, &c->facts);
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
		cr_assert_eq(policy_is_tenant(&isolate, cases[i].uid), cases[i].want,
			     "%s: policy_is_tenant(%u) is %d, want %d", cases[i].name, cases[i].uid,
			     policy_is_tenant(&isolate, cases[i].uid), cases[i].want);
}

/* Entries past n are never read, even if they would match. */
Test(policy, counts_bound_the_lists)
{
	const struct tg_policy stale = {
		.mode = TG_MODE_ENFORCE,
		.policy = TG_POLICY_ISOLATE,
		.n_tenant = 1,
		.tenant = (struct tg_uid_range[]){ { 1000, 1999 }, { 5000, 5999 } },
		.n_exempt = 0,
		.exempt = (struct tg_uid_range[]){ { 1001, 1001 } },
		.n_allow_port = 0,
		.allow_port = (struct tg_port_range[]){ { 1, 65535 } },
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
		enum tg_reason got = decide_local(&stale, &cases[i].facts);

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
	const struct tg_settings enforce = { .mode = TG_MODE_ENFORCE },
				 audit = { .mode = TG_MODE_AUDIT };
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
		cr_assert_eq(tg_apply_mode(&audit, r), cases[i].audit_twin,
			     "%s: audit mode gives %d, want %d", cases[i].name,
			     tg_apply_mode(&audit, r), cases[i].audit_twin);
		cr_assert_eq(tg_apply_mode(&enforce, r), r, "%s: enforce mode changed it to %d",
			     cases[i].name, tg_apply_mode(&enforce, r));
	}
	cr_assert_eq(seen, (1u << TG_REASON_COUNT) - 1, "reasons: not every reason covered (%#x)",
		     seen);
}

/*
 * Reservations and allow rules. Tenants 1000-1999 and 3000-3999 as above; 1001 holds 8001-8010
 * and 9001, 3001 holds 8011; 1002 may reach 9101-9102 and 3000 may reach 9001 (allow-ports are
 * 53 and 8000-8099, so rules are tested outside them). Reservations are sorted by first port,
 * allow rules by uid, as the parser leaves them.
 */
#define GRANTS                                                           \
	.n_reservation = 3,                                              \
	.reservation = (struct tg_port_grant[]){ { 1001, 8001, 8010 },   \
						 { 3001, 8011, 8011 },   \
						 { 1001, 9001, 9001 } }, \
	.n_allow_rule = 2, .allow_rule = (struct tg_port_grant[])        \
	{                                                                \
		{ 1002, 9101, 9102 },                                    \
		{                                                        \
			3000, 9001, 9001                                 \
		}                                                        \
	}

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
		const struct tg_policy *p = cases[i].policy;
		struct tg_settings s = settings_of(p);
		__u32 owner = 12345;
		enum tg_reason got = policy_decide_bind(p, cases[i].caller, cases[i].port, &owner);
		enum tg_reason direct =
			tg_decide_bind(&s, policy_is_tenant(p, cases[i].caller), cases[i].caller,
				       cases[i].port, policy_port(p, cases[i].port).reserved_for);

		cr_assert_eq(direct, got, "%s: tg_decide_bind on the facts gave %d, policy %d",
			     cases[i].name, direct, got);

		cr_assert_eq(got, cases[i].want, "%s: tg_decide_bind gave %d, want %d",
			     cases[i].name, got, cases[i].want);
		cr_assert_eq(owner, cases[i].want_owner, "%s: owner %u, want %u", cases[i].name,
			     owner, cases[i].want_owner);
	}
}

/* Reservations and allow rules past their counts are never read. */
Test(policy, grant_counts_bound_the_lists)
{
	const struct tg_policy stale = {
		.bind_policy = TG_BIND_OPEN,
		.n_tenant = 1,
		.tenant = (struct tg_uid_range[]){ { 1000, 1999 } },
		.n_reservation = 1,
		.reservation = (struct tg_port_grant[]){ { 1001, 8001, 8001 }, { 1001, 1, 65535 } },
		.n_allow_rule = 0,
		.allow_rule = (struct tg_port_grant[]){ { 1002, 1, 65535 } },
	};
	__u32 owner;

	cr_assert_eq(policy_decide_bind(&stale, 1002, 8002, &owner), TG_ALLOW_BIND_OPEN,
		     "a reservation past n_reservation was read");
	cr_assert_eq(decide_local(&stale, &(struct tg_facts)FOUND(1002, 8001, 1001)),
		     TG_DENY_OTHER_TENANT, "an allow rule past n_allow_rule was read");
}

/* Allow rules in a local connect: after own listener and allow-ports, before the owner's kind. */
Test(policy, decide_allow_rules)
{
	const struct tg_policy strict_grants = {
		.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_STRICT, TENANTS, GRANTS
	};
	const struct tg_policy audit_grants = {
		.mode = TG_MODE_AUDIT, .policy = TG_POLICY_ISOLATE, TENANTS, GRANTS
	};
	const struct decide_case cases[] = {
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
		enum tg_reason got = decide_local(cases[i].policy, &cases[i].facts);

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
		const struct tg_policy *p = cases[i].policy;
		__u32 reserved_for = policy_port(p, cases[i].port).reserved_for;
		int got = tg_listener_squats(policy_is_tenant(p, cases[i].owner), cases[i].owner,
					     reserved_for);

		cr_assert_eq(got, cases[i].want, "%s: tg_listener_squats gave %d, want %d",
			     cases[i].name, got, cases[i].want);
		if (cases[i].want)
			cr_assert_eq(reserved_for, cases[i].want_reserved_for,
				     "%s: reserved for %u, want %u", cases[i].name, reserved_for,
				     cases[i].want_reserved_for);
	}
}

/*
 * TG_NEED_ALLOW_RULE: the kernel asks without the allow-rule fact (a map lookup) and looks it up
 * only when the decision says it needs it. Every path that does not reach the rule must answer
 * without it; every path that does must ask, in audit mode too, and never as a counted reason.
 */
Test(policy, need_allow_rule_protocol)
{
	const struct tg_settings isolate_s = { .mode = TG_MODE_ENFORCE,
					       .policy = TG_POLICY_ISOLATE },
				 strict_s = { .mode = TG_MODE_ENFORCE, .policy = TG_POLICY_STRICT },
				 audit_s = { .mode = TG_MODE_AUDIT, .policy = TG_POLICY_STRICT };
	/* caller 1001 (a tenant), the rest varies */
#define FACTS(listener_, owner_, owner_tenant_, open_, rule_)                                     \
	{                                                                                         \
		.caller_uid = 1001, .port = 9001, .listener = (listener_), .owner_uid = (owner_), \
		.caller_tenant = 1, .owner_tenant = (owner_tenant_),                              \
		.port_open = (open_) ? TG_FACT_YES : TG_FACT_NO, .allow_rule = (rule_)            \
	}
	const struct {
		const char *name;
		const struct tg_settings *s;
		struct tg_facts f;
		enum tg_reason want;
	} cases[] = {
		{ "other tenant, rule unknown", &isolate_s,
		  FACTS(TG_LISTENER_FOUND, 1002, 1, 0, TG_FACT_UNKNOWN), TG_NEED_ALLOW_RULE },
		{ "other tenant, no rule", &isolate_s,
		  FACTS(TG_LISTENER_FOUND, 1002, 1, 0, TG_FACT_NO), TG_DENY_OTHER_TENANT },
		{ "other tenant, rule", &isolate_s,
		  FACTS(TG_LISTENER_FOUND, 1002, 1, 0, TG_FACT_YES), TG_ALLOW_RULE },
		{ "service owner, isolate, rule unknown", &isolate_s,
		  FACTS(TG_LISTENER_FOUND, 0, 0, 0, TG_FACT_UNKNOWN), TG_NEED_ALLOW_RULE },
		{ "service owner, isolate, no rule", &isolate_s,
		  FACTS(TG_LISTENER_FOUND, 0, 0, 0, TG_FACT_NO), TG_ALLOW_SERVICE },
		{ "service owner, strict, rule unknown", &strict_s,
		  FACTS(TG_LISTENER_FOUND, 0, 0, 0, TG_FACT_UNKNOWN), TG_NEED_ALLOW_RULE },
		{ "service owner, strict, no rule", &strict_s,
		  FACTS(TG_LISTENER_FOUND, 0, 0, 0, TG_FACT_NO), TG_DENY_SERVICE },
		{ "unknown owner, rule unknown", &strict_s,
		  FACTS(TG_LISTENER_OWNER_UNKNOWN, 0, 0, 0, TG_FACT_UNKNOWN), TG_NEED_ALLOW_RULE },
		{ "unknown owner, no rule", &strict_s,
		  FACTS(TG_LISTENER_OWNER_UNKNOWN, 0, 0, 0, TG_FACT_NO), TG_DENY_UNKNOWN_OWNER },
		{ "audit asks too", &audit_s, FACTS(TG_LISTENER_FOUND, 1002, 1, 0, TG_FACT_UNKNOWN),
		  TG_NEED_ALLOW_RULE },
		{ "audit, no rule", &audit_s, FACTS(TG_LISTENER_FOUND, 1002, 1, 0, TG_FACT_NO),
		  TG_AUDIT_OTHER_TENANT },
		/* Answered before the rule: never asks. */
		{ "own listener never asks", &strict_s,
		  FACTS(TG_LISTENER_FOUND, 1001, 1, 0, TG_FACT_UNKNOWN), TG_ALLOW_OWN },
		{ "allow-port never asks", &strict_s,
		  FACTS(TG_LISTENER_FOUND, 1002, 1, 1, TG_FACT_UNKNOWN), TG_ALLOW_PORT },
		{ "no listener never asks", &strict_s,
		  FACTS(TG_LISTENER_NONE, 0, 0, 0, TG_FACT_UNKNOWN), TG_ALLOW_NO_LISTENER },
	};
#undef FACTS
	struct tg_facts f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tg_reason got = tg_decide_connect_local(cases[i].s, &cases[i].f);

		cr_assert_eq(got, cases[i].want, "%s: gave %d, want %d", cases[i].name, got,
			     cases[i].want);
	}
	/* A non-tenant caller never asks, whatever else is unknown. */
	f = (struct tg_facts){ .caller_uid = 2500,
			       .port = 9001,
			       .listener = TG_LISTENER_FOUND,
			       .owner_uid = 1002,
			       .owner_tenant = 1 };
	cr_assert_eq(tg_decide_connect_local(&strict_s, &f), TG_ALLOW_NOT_TENANT);
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 1), TG_ALLOW_NOT_TENANT);
	/* tg_decide_connect passes the questions on for a local destination, the port first ... */
	f.caller_tenant = 1;
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 1), TG_NEED_PORT_OPEN);
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 0), TG_NEED_PORT_OPEN);
	f.port_open = TG_FACT_NO;
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 1), TG_NEED_ALLOW_RULE);
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 0), TG_NEED_ALLOW_RULE,
		     "a listener bound to a remote address is judged as local");
	/* ... and never asks for a remote one with no listener. */
	f.listener = TG_LISTENER_NONE;
	cr_assert_eq(tg_decide_connect(&strict_s, &f, 0), TG_ALLOW_REMOTE);
	/* Not a reason: no counter, neither a refusal nor an audit. */
	cr_assert_geq(TG_NEED_ALLOW_RULE, TG_REASON_COUNT);
	cr_assert_not(tg_reason_refuses(TG_NEED_ALLOW_RULE));
	cr_assert_not(tg_reason_is_audit(TG_NEED_ALLOW_RULE));
	cr_assert_not(tg_reason_is_bind(TG_NEED_ALLOW_RULE));
	cr_assert_eq(tg_apply_mode(&audit_s, TG_NEED_ALLOW_RULE), TG_NEED_ALLOW_RULE);
	cr_assert_geq(TG_NEED_PORT_OPEN, TG_REASON_COUNT);
	cr_assert_not(tg_reason_refuses(TG_NEED_PORT_OPEN));
	cr_assert_not(tg_reason_is_audit(TG_NEED_PORT_OPEN));
	cr_assert_not(tg_reason_is_bind(TG_NEED_PORT_OPEN));
}

/* policy_facts() always settles the allow-rule fact: the decision never has to ask again. */
Test(policy, facts_settle_the_allow_rule)
{
	struct tg_facts f = FOUND(1002, 9101, 1001);

	f.allow_rule = TG_FACT_UNKNOWN;
	policy_facts(&open_binds, &f);
	cr_assert_eq(f.allow_rule, TG_FACT_YES, "1002 may reach 9101");
	cr_assert(f.caller_tenant && f.owner_tenant && f.port_open == TG_FACT_NO, "facts %d %d %d",
		  f.caller_tenant, f.owner_tenant, f.port_open);
	f = (struct tg_facts)FOUND(1002, 9103, 1001);
	policy_facts(&open_binds, &f);
	cr_assert_eq(f.allow_rule, TG_FACT_NO, "9103 is past the rule");
	f = (struct tg_facts)UNKNOWN(1002, 53);
	f.owner_uid = 1001; /* garbage: an unknown owner is never a tenant */
	policy_facts(&open_binds, &f);
	cr_assert(!f.owner_tenant && f.port_open == TG_FACT_YES,
		  "unknown owner: owner_tenant %d, port_open %d", f.owner_tenant, f.port_open);
}

static void assert_ranges(const char *name, const struct tg_uid_range *got, size_t n,
			  const struct tg_uid_range *want, size_t n_want)
{
	cr_assert_eq(n, n_want, "%s: %zu ranges, want %zu", name, n, n_want);
	for (size_t i = 0; i < n; i++)
		cr_assert(got[i].first == want[i].first && got[i].last == want[i].last,
			  "%s: range %zu is %u-%u, want %u-%u", name, i, got[i].first, got[i].last,
			  want[i].first, want[i].last);
}

/* policy_restricted(): tenant ranges minus exempt ones, split where an exempt range falls. */
Test(policy, restricted_splits_at_exemptions)
{
	static const struct {
		const char *name;
		struct tg_uid_range tenant[3];
		__u32 n_tenant;
		struct tg_uid_range exempt[4];
		__u32 n_exempt;
		struct tg_uid_range want[5];
		size_t n_want;
	} cases[] = {
		{ "no exemptions",
		  { { 1000, 1999 }, { 3000, 3999 } },
		  2,
		  {},
		  0,
		  { { 1000, 1999 }, { 3000, 3999 } },
		  2 },
		{ "one uid inside",
		  { { 1000, 1999 } },
		  1,
		  { { 1500, 1500 } },
		  1,
		  { { 1000, 1499 }, { 1501, 1999 } },
		  2 },
		{ "edges of a range",
		  { { 1000, 1999 } },
		  1,
		  { { 1000, 1000 }, { 1999, 1999 } },
		  2,
		  { { 1001, 1998 } },
		  1 },
		{ "three cuts in one range",
		  { { 1, 100 } },
		  1,
		  { { 10, 10 }, { 20, 20 }, { 30, 30 } },
		  3,
		  { { 1, 9 }, { 11, 19 }, { 21, 29 }, { 31, 100 } },
		  4 },
		{ "one exemption across two ranges",
		  { { 1000, 1999 }, { 3000, 3999 } },
		  2,
		  { { 1900, 3100 } },
		  1,
		  { { 1000, 1899 }, { 3101, 3999 } },
		  2 },
		{ "exemptions outside and overlapping the start",
		  { { 1000, 1999 } },
		  1,
		  { { 1, 5 }, { 900, 1000 }, { 5000, 6000 } },
		  3,
		  { { 1001, 1999 } },
		  1 },
		{ "all exempt", { { 2001, 2003 } }, 1, { { 2000, 2005 } }, 1, {}, 0 },
		{ "top of the uid space",
		  { { 5, 4294967294u } },
		  1,
		  { { 4294967294u, 4294967294u } },
		  1,
		  { { 5, 4294967293u } },
		  1 },
		{ "no tenants", {}, 0, { { 1, 10 } }, 1, {}, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_policy p = { .n_tenant = cases[i].n_tenant,
				       .tenant = (struct tg_uid_range *)cases[i].tenant,
				       .n_exempt = cases[i].n_exempt,
				       .exempt = (struct tg_uid_range *)cases[i].exempt };
		struct tg_uid_range *r = NULL;
		size_t n = 99;

		cr_assert_eq(policy_restricted(&p, &r, &n), 0, "%s", cases[i].name);
		assert_ranges(cases[i].name, r, n, cases[i].want, cases[i].n_want);
		/* The restricted ranges say exactly who policy_is_tenant() restricts. */
		for (size_t k = 0; k < n; k++)
			cr_assert(policy_is_tenant(&p, r[k].first) &&
					  policy_is_tenant(&p, r[k].last),
				  "%s: %u-%u not tenants", cases[i].name, r[k].first, r[k].last);
		free(r);
	}
}

/*
 * policy_settings(): scalars, the bitmap's extent rounded up to 64, the wide ranges above it;
 * policy_high_listed(): the uids of the narrow runs above it, one by one.
 */
Test(policy, settings_bitmap_and_high_ranges)
{
	static const struct {
		const char *name;
		struct tg_uid_range tenant[3];
		__u32 n_tenant;
		struct tg_uid_range exempt[2];
		__u32 n_exempt;
		__u32 limit;
		struct tg_uid_range high[2];
		__u32 n_high;
		struct tg_uid_range listed[2]; /* the listed uids, as ranges */
		__u32 n_listed;
	} cases[] = {
		{ "no tenants", {}, 0, {}, 0, 0, {}, 0, {}, 0 },
		{ "2001-2003: 2004 rounds up to 2048",
		  { { 2001, 2003 } },
		  1,
		  {},
		  0,
		  2048,
		  {},
		  0,
		  {},
		  0 },
		{ "last uid 1023: exactly 1024", { { 1000, 1023 } }, 1, {}, 0, 1024, {}, 0, {}, 0 },
		{ "last uid 1024: 1088", { { 1000, 1024 } }, 1, {}, 0, 1088, {}, 0, {}, 0 },
		{ "uid 0 only would be 64", { { 1, 1 } }, 1, {}, 0, 64, {}, 0, {}, 0 },
		{ "an exempt top lowers the extent",
		  { { 2001, 2100 } },
		  1,
		  { { 2040, 2100 } },
		  1,
		  2048,
		  {},
		  0,
		  {},
		  0 },
		{ "the highest of several ranges",
		  { { 10, 20 }, { 5000, 5000 } },
		  2,
		  {},
		  0,
		  5056,
		  {},
		  0,
		  {},
		  0 },
		{ "last uid below the top",
		  { { 1000, TG_UID_BITMAP_MAX - 1 } },
		  1,
		  {},
		  0,
		  TG_UID_BITMAP_MAX,
		  {},
		  0,
		  {},
		  0 },
		{ "a range across the top is cut there, and its narrow part listed",
		  { { TG_UID_BITMAP_MAX - 100, TG_UID_BITMAP_MAX + 100 } },
		  1,
		  {},
		  0,
		  TG_UID_BITMAP_MAX,
		  {},
		  0,
		  { { TG_UID_BITMAP_MAX, TG_UID_BITMAP_MAX + 100 } },
		  1 },
		{ "a wide range across the top stays a range",
		  { { TG_UID_BITMAP_MAX - 100, TG_UID_BITMAP_MAX + 1000 } },
		  1,
		  {},
		  0,
		  TG_UID_BITMAP_MAX,
		  { { TG_UID_BITMAP_MAX, TG_UID_BITMAP_MAX + 1000 } },
		  1,
		  {},
		  0 },
		{ "a narrow range above the top is listed",
		  { { 1000, 1999 }, { 20000000, 20000010 } },
		  2,
		  {},
		  0,
		  2048,
		  {},
		  0,
		  { { 20000000, 20000010 } },
		  1 },
		{ "TG_HIGH_UID_SPAN uids are listed, one more is a range",
		  { { 30000000, 30000000 + TG_HIGH_UID_SPAN - 1 },
		    { 40000000, 40000000 + TG_HIGH_UID_SPAN } },
		  2,
		  {},
		  0,
		  0,
		  { { 40000000, 40000000 + TG_HIGH_UID_SPAN } },
		  1,
		  { { 30000000, 30000000 + TG_HIGH_UID_SPAN - 1 } },
		  1 },
		{ "an exemption splits a wide range into narrow ones",
		  { { TG_UID_BITMAP_MAX, TG_UID_BITMAP_MAX + 300 } },
		  1,
		  { { TG_UID_BITMAP_MAX + 50, TG_UID_BITMAP_MAX + 50 } },
		  1,
		  0,
		  {},
		  0,
		  { { TG_UID_BITMAP_MAX, TG_UID_BITMAP_MAX + 49 },
		    { TG_UID_BITMAP_MAX + 51, TG_UID_BITMAP_MAX + 300 } },
		  2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_policy p = { .mode = TG_MODE_AUDIT,
				       .policy = TG_POLICY_STRICT,
				       .deny_errno = 1,
				       .bind_policy = TG_BIND_RESERVED_ONLY,
				       .max_tunnels = 7,
				       .n_tenant = cases[i].n_tenant,
				       .tenant = (struct tg_uid_range *)cases[i].tenant,
				       .n_exempt = cases[i].n_exempt,
				       .exempt = (struct tg_uid_range *)cases[i].exempt };
		struct tg_settings s;
		__u32 *listed = NULL;
		size_t n_listed = 0, k = 0;

		memset(&s, 0xa5, sizeof(s));
		cr_assert_eq(policy_settings(&p, &s), 0, "%s", cases[i].name);
		cr_assert(s.mode == TG_MODE_AUDIT && s.policy == TG_POLICY_STRICT &&
				  s.deny_errno == 1 && s.bind_policy == TG_BIND_RESERVED_ONLY &&
				  s.max_tunnels == 7,
			  "%s: scalars not copied", cases[i].name);
		cr_assert_eq(s.uid_bitmap_limit, cases[i].limit, "%s: limit %u, want %u",
			     cases[i].name, s.uid_bitmap_limit, cases[i].limit);
		cr_assert_eq(s.uid_bitmap_limit % 64, 0, "%s: limit %u", cases[i].name,
			     s.uid_bitmap_limit);
		assert_ranges(cases[i].name, s.high, s.n_high, cases[i].high, cases[i].n_high);
		cr_assert_eq(s.n_reserved_ports, 0, "%s: %u reserved ports", cases[i].name,
			     s.n_reserved_ports);
		cr_assert_eq(policy_high_listed(&p, &listed, &n_listed), 0, "%s", cases[i].name);
		for (__u32 j = 0; j < cases[i].n_listed; j++)
			for (__u32 uid = cases[i].listed[j].first; uid <= cases[i].listed[j].last;
			     uid++, k++)
				cr_assert(k < n_listed && listed[k] == uid,
					  "%s: listed uid %zu is %u, want %u (%zu listed)",
					  cases[i].name, k, k < n_listed ? listed[k] : 0, uid,
					  n_listed);
		cr_assert_eq(n_listed, k, "%s: %zu uids listed, want %zu", cases[i].name, n_listed,
			     k);
		free(listed);
	}
}

/*
 * Above the bitmap, TG_MAX_HIGH_RANGES wide ranges fit and one more is -E2BIG; narrow runs fit
 * up to TG_HIGH_UIDS_MAX uids in all, one more is -E2BIG. Below it, any number.
 */
Test(policy, settings_high_range_limit)
{
	struct tg_uid_range r[TG_MAX_HIGH_RANGES + 1 + 1000 + 1000];
	struct tg_policy p = { .tenant = r };
	struct tg_settings s;
	__u32 n = 0;

	/* 1000 scattered ranges below the bitmap's end: no limit there. */
	for (__u32 i = 0; i < 1000; i++)
		r[n++] = (struct tg_uid_range){ 100000 + 2 * i, 100000 + 2 * i };
	/* 1000 scattered single uids above it, as a directory service hands them out: listed. */
	for (__u32 i = 0; i < 1000; i++)
		r[n++] = (struct tg_uid_range){ 1500000000 + 7 * i, 1500000000 + 7 * i };
	for (__u32 i = 0; i < TG_MAX_HIGH_RANGES; i++)
		r[n++] =
			(struct tg_uid_range){ 2000000000 + 1000 * i, 2000000000 + 1000 * i + 500 };
	p.n_tenant = n;
	cr_assert_eq(policy_settings(&p, &s), 0, "32 wide high ranges and 1000 uids refused");
	cr_assert_eq(s.n_high, TG_MAX_HIGH_RANGES, "n_high %u", s.n_high);
	cr_assert_eq(s.uid_bitmap_limit,
		     100000 + 2 * 999 + 1 + 63 - (100000 + 2 * 999 + 1 + 63) % 64, "limit %u",
		     s.uid_bitmap_limit);
	r[n++] = (struct tg_uid_range){ 2000000000 + 1000 * TG_MAX_HIGH_RANGES,
					2000000000 + 1000 * TG_MAX_HIGH_RANGES + 500 };
	p.n_tenant = n;
	cr_assert_eq(policy_settings(&p, &s), -E2BIG, "33 wide high ranges accepted");
	/* Exempting most of one of the 33 leaves it narrow, listed: 32 wide ones again. */
	p.n_exempt = 1;
	p.exempt = &(struct tg_uid_range){ 2000000000, 2000000000 + 400 };
	cr_assert_eq(policy_settings(&p, &s), 0, "32 wide restricted high ranges refused");
	cr_assert_eq(s.n_high, TG_MAX_HIGH_RANGES);
	cr_assert_eq(s.high[0].first, 2000000000 + 1000, "high[0] starts at %u", s.high[0].first);
}

/* Narrow runs above the bitmap: TG_HIGH_UIDS_MAX uids are listed, one more is -E2BIG. */
Test(policy, settings_listed_uid_limit)
{
	__u32 runs = TG_HIGH_UIDS_MAX / TG_HIGH_UID_SPAN;
	struct tg_uid_range *r = calloc(runs + 1, sizeof(*r));
	struct tg_policy p = { .tenant = r, .n_tenant = runs };
	struct tg_settings s;
	__u32 *listed = NULL;
	size_t n_listed = 0;

	cr_assert_not_null(r);
	for (__u32 i = 0; i < runs; i++)
		r[i] = (struct tg_uid_range){ 100000000 + 1000 * i,
					      100000000 + 1000 * i + TG_HIGH_UID_SPAN - 1 };
	cr_assert_eq(policy_settings(&p, &s), 0, "%u listed uids refused", TG_HIGH_UIDS_MAX);
	cr_assert_eq(s.n_high, 0, "n_high %u", s.n_high);
	cr_assert_eq(policy_high_listed(&p, &listed, &n_listed), 0);
	cr_assert_eq(n_listed, TG_HIGH_UIDS_MAX, "%zu listed", n_listed);
	free(listed);
	r[runs] = (struct tg_uid_range){ 100000000 + 1000 * runs, 100000000 + 1000 * runs };
	p.n_tenant = runs + 1;
	cr_assert_eq(policy_settings(&p, &s), -E2BIG, "%u listed uids accepted",
		     TG_HIGH_UIDS_MAX + 1);
	free(r);
}

Test(policy, settings_count_reserved_ports)
{
	const struct tg_policy p = { .n_reservation = 3,
				     .reservation =
					     (struct tg_port_grant[]){ { 2001, 1, 1 },
								       { 2001, 8001, 8010 },
								       { 2002, 65535, 65535 } } };
	struct tg_settings s;

	cr_assert_eq(policy_settings(&p, &s), 0);
	cr_assert_eq(s.n_reserved_ports, 12, "n_reserved_ports %u", s.n_reserved_ports);
}

/* policy_port(): the reservation and allow-ports flag of a port, at every edge. */
Test(policy, port_lookup_edges)
{
	const struct tg_policy p = {
		.n_allow_port = 3,
		.allow_port = (struct tg_port_range[]){ { 1, 1 }, { 150, 160 }, { 65535, 65535 } },
		.n_section = 4,
		.n_reservation = 4,
		.reservation = (struct tg_port_grant[]){ { 2001, 1, 1 },
							 { 2002, 100, 200 },
							 { 2003, 201, 201 },
							 { 2004, 65535, 65535 } },
		.reservation_section = (__u32[]){ 3, 0, 2, 1 },
	};
	static const struct {
		__u16 port;
		__u32 reserved_for, tenant, flags;
	} cases[] = {
		{ 0, 0, 0, 0 },
		{ 1, 2001, 4, TG_PORT_OPEN },
		{ 2, 0, 0, 0 },
		{ 99, 0, 0, 0 },
		{ 100, 2002, 1, 0 },
		{ 149, 2002, 1, 0 },
		{ 150, 2002, 1, TG_PORT_OPEN },
		{ 160, 2002, 1, TG_PORT_OPEN },
		{ 161, 2002, 1, 0 },
		{ 200, 2002, 1, 0 },
		{ 201, 2003, 3, 0 },
		{ 202, 0, 0, 0 },
		{ 65534, 0, 0, 0 },
		{ 65535, 2004, 2, TG_PORT_OPEN },
	};
	struct tg_policy none = { 0 };
	struct tg_port_policy got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = policy_port(&p, cases[i].port);
		cr_assert(got.reserved_for == cases[i].reserved_for &&
				  got.tenant == cases[i].tenant && got.flags == cases[i].flags,
			  "port %u: {%u, %u, %u}, want {%u, %u, %u}", cases[i].port,
			  got.reserved_for, got.tenant, got.flags, cases[i].reserved_for,
			  cases[i].tenant, cases[i].flags);
	}
	got = policy_port(&none, 1);
	cr_assert(!got.reserved_for && !got.tenant && !got.flags, "empty policy");
	/* Without section indexes (a policy read back from an old guard): no tenant index. */
	none = p;
	none.reservation_section = NULL;
	got = policy_port(&none, 201);
	cr_assert(got.reserved_for == 2003 && got.tenant == 0, "{%u, %u}", got.reserved_for,
		  got.tenant);
}

/* policy_port() against a plain scan, over 10,000 reservations: every port of 0-20,005. */
Test(policy, port_lookup_matches_a_scan)
{
	enum { N = 10000 };
	struct tg_port_grant *g = calloc(N, sizeof(*g));
	__u32 *sec = calloc(N, sizeof(*sec));
	struct tg_policy p = { .n_reservation = N, .reservation = g, .reservation_section = sec };

	cr_assert(g && sec);
	/* Ranges of one or two ports with gaps of one: 1, 3-4, 6, 8-9, ... */
	for (__u32 i = 0, port = 1; i < N; i++) {
		__u16 len = i % 2 ? 2 : 1;

		g[i] = (struct tg_port_grant){ 3000 + i, (__u16)port, (__u16)(port + len - 1) };
		sec[i] = N - 1 - i;
		port += len + 1;
	}
	for (__u32 port = 0; port <= 20005 && port < 65536; port++) {
		struct tg_port_policy got = policy_port(&p, (__u16)port);
		__u32 want = 0, want_tenant = 0;

		for (__u32 i = 0; i < N; i++)
			if (port >= g[i].first && port <= g[i].last) {
				want = g[i].uid;
				want_tenant = sec[i] + 1;
			}
		cr_assert(got.reserved_for == want && got.tenant == want_tenant,
			  "port %u: reserved for %u (tenant %u), want %u (%u)", port,
			  got.reserved_for, got.tenant, want, want_tenant);
	}
	free(g);
	free(sec);
}

/* policy_allow_rule(): rules by uid then port; the first rule of a uid found at every edge. */
Test(policy, allow_rule_lookup_edges)
{
	const struct tg_policy p = {
		.n_allow_rule = 6,
		.allow_rule = (struct tg_port_grant[]){ { 5, 10, 20 },
							{ 5, 30, 30 },
							{ 7, 1, 65535 },
							{ 9, 100, 100 },
							{ 9, 200, 300 },
							{ 4294967294u, 1, 1 } },
	};
	static const struct {
		__u32 uid;
		__u16 port;
		bool want;
	} cases[] = {
		{ 0, 10, false },	  { 4, 10, false },	     { 5, 9, false },
		{ 5, 10, true },	  { 5, 20, true },	     { 5, 21, false },
		{ 5, 29, false },	  { 5, 30, true },	     { 5, 31, false },
		{ 6, 30, false },	  { 7, 0, false },	     { 7, 1, true },
		{ 7, 65535, true },	  { 8, 100, false },	     { 9, 99, false },
		{ 9, 100, true },	  { 9, 150, false },	     { 9, 200, true },
		{ 9, 300, true },	  { 9, 301, false },	     { 10, 100, false },
		{ 4294967294u, 1, true }, { 4294967294u, 2, false }, { 4294967295u, 1, false },
	};
	const struct tg_policy none = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(policy_allow_rule(&p, cases[i].uid, cases[i].port), cases[i].want,
			     "uid %u port %u: want %d", cases[i].uid, cases[i].port, cases[i].want);
	cr_assert_not(policy_allow_rule(&none, 5, 10), "empty policy");
	cr_assert_eq(policy_allow_pairs(&p), 11 + 1 + 65535 + 1 + 101 + 1, "pairs %zu",
		     policy_allow_pairs(&p));
}

/* policy_allow_rule() against a plain scan: 20,000 rules over 1,000 uids. */
Test(policy, allow_rule_lookup_matches_a_scan)
{
	enum { UIDS = 1000, PER = 20 };
	struct tg_port_grant *g = calloc(UIDS * PER, sizeof(*g));
	struct tg_policy p = { .n_allow_rule = UIDS * PER, .allow_rule = g };

	cr_assert_not_null(g);
	/* uid 1000 + 3k (gaps between uids); uid u's rules: ports 10j+(u%7) .. +1 + (j%3) */
	for (__u32 u = 0; u < UIDS; u++)
		for (__u32 j = 0; j < PER; j++) {
			__u16 first = (__u16)(10 * j + u % 7 + 1);

			g[u * PER + j] = (struct tg_port_grant){ 1000 + 3 * u, first,
								 (__u16)(first + 1 + j % 3) };
		}
	for (__u32 uid = 999; uid < 1000 + 3 * UIDS + 1; uid++)
		for (__u32 port = 0; port < 10 * PER + 12; port++) {
			bool want = false;

			if (uid >= 1000 && (uid - 1000) % 3 == 0 && uid < 1000 + 3 * UIDS)
				for (__u32 j = 0; j < PER; j++) {
					const struct tg_port_grant *r =
						&g[(uid - 1000) / 3 * PER + j];

					want |= port >= r->first && port <= r->last;
				}
			cr_assert_eq(policy_allow_rule(&p, uid, (__u16)port), want,
				     "uid %u port %u: want %d", uid, port, want);
		}
	free(g);
}
