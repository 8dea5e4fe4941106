// SPDX-License-Identifier: GPL-2.0-only
/*
 * tg_policy.h - the one truth for tunnelguard's connect policy.
 *
 * Included by bpf/tunnelguard.bpf.c (the kernel program) and by userspace/ (the CLI and the
 * unit tests), so that `tunnelguard check` and tests/unit run the very code the kernel runs.
 * Everything here is pure: no libc, no helpers, only fixed-width types.
 *
 * Worked example. With the config
 *	tenant-uids = 2001-2003
 *	allow-ports = 53
 * the loader fills struct tg_policy with
 *	{ .mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111,
 *	  .n_tenant = 1, .tenant = { { 2001, 2003 } },
 *	  .n_allow_port = 1, .allow_port = { { 53, 53 } } }
 * and a connect by uid 2002 to 127.0.0.1:8001, where uid 2001 listens, is judged by
 *	tg_decide_connect(&policy, &(struct tg_facts){ .caller_uid = 2002, .port = 8001,
 *		  .listener = TG_LISTENER_FOUND, .owner_uid = 2001 }, 1)
 * which returns TG_DENY_OTHER_TENANT.
 *
 * One pure function per decision, shared by the kernel program, `tunnelguard check` and the unit
 * tests: tg_decide_connect() for a connect (the connect hooks and check), tg_decide_bind() for a
 * bind (the bind hooks and check). tg_decide_connect_local() is the part of the connect decision
 * for a destination of this host, asked alone where locality is already known (a traced SYN).
 *
 * Port reservations and allow rules. With
 *	[tenant alice]
 *	user = 2001
 *	ports = 8001-8010
 * and `allow = 2002:8001` in the global section, the policy also holds
 *	.n_reservation = 1, .reservation = { { .uid = 2001, .first = 8001, .last = 8010 } },
 *	.n_allow_rule = 1, .allow_rule = { { .uid = 2002, .first = 8001, .last = 8001 } }
 * and a bind by uid 2002 to port 8005 is judged by tg_decide_bind(&policy, 2002, 8005, &owner),
 * which returns TG_DENY_BIND_RESERVED with owner 2001, while uid 2002's connect to uid 2001's
 * listener on 8001 is TG_ALLOW_RULE.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Tenant uids at or above this are too high for the membership bitmap (tg_tenant_uids: one bit
 * per uid below it, 2 MiB at most). Directory services hand out uids far above it (FreeIPA's
 * ranges start anywhere up to 2,000,000,000), and a group's members are scattered there: a run
 * of at most TG_HIGH_UID_SPAN uids is listed uid by uid in the hash tg_tenant_uids_high (at most
 * TG_HIGH_UIDS_MAX uids in all), and a wider range stays a range in the settings, at most
 * TG_MAX_HIGH_RANGES of them.
 */
#define TG_UID_BITMAP_MAX  (1U << 24)
#define TG_MAX_HIGH_RANGES 32
#define TG_HIGH_UID_SPAN   256
#define TG_HIGH_UIDS_MAX   (1U << 20)

/* Is the high range first-last listed uid by uid (tg_tenant_uids_high), not kept as a range? */
static inline int tg_high_range_listed(__u32 first, __u32 last)
{
	return last - first < TG_HIGH_UID_SPAN;
}

enum tg_mode {
	TG_MODE_ENFORCE = 0, /* refuse what the policy denies */
	TG_MODE_AUDIT = 1,   /* count and report what would be denied, refuse nothing */
};

enum tg_policy_kind {
	TG_POLICY_ISOLATE = 0, /* tenants may not reach other tenants; hub services are open */
	TG_POLICY_STRICT = 1,  /* tenants reach only their own ports and allow-ports */
};

enum tg_bind_policy {
	TG_BIND_OPEN = 0,	   /* tenants may bind any port not reserved for another tenant */
	TG_BIND_RESERVED_ONLY = 1, /* tenants may bind only the ports reserved for them */
};

/*
 * The enums above are the types of struct tg_policy's fields, so that its BTF (and `bpftool map
 * dump pinned .../config`) names them: "mode": "TG_MODE_ENFORCE", not "mode": 0. A C enum is an
 * int; the assertions keep the layout of the pinned config the same as when the fields were
 * __u32.
 */
_Static_assert(sizeof(enum tg_mode) == 4, "enum tg_mode must stay 4 bytes");
_Static_assert(sizeof(enum tg_policy_kind) == 4, "enum tg_policy_kind must stay 4 bytes");
_Static_assert(sizeof(enum tg_bind_policy) == 4, "enum tg_bind_policy must stay 4 bytes");

/* An inclusive range of UIDs, e.g. { 1000, 59999 }. */
struct tg_uid_range {
	__u32 first;
	__u32 last;
};

/* An inclusive range of ports in host byte order, e.g. { 53, 53 }. */
struct tg_port_range {
	__u16 first;
	__u16 last;
};

/* A port range granted to one uid: a reservation, or an allow rule. E.g. { 2001, 8001, 8010 }. */
struct tg_port_grant {
	__u32 uid;
	__u16 first; /* host byte order, inclusive */
	__u16 last;
};

/*
 * The load-time settings the kernel programs hold as `const volatile` rodata, set by the loader
 * before load and frozen afterwards. The rest of the policy (who is a tenant, which ports are
 * reserved or open, the allow rules) is in maps sized from the config (tg_maps.h: tg_tenant_uids,
 * tg_tenant_uids_high, tg_ports, tg_allow_rules), created with the programs of each load and
 *swapped in with them, so a decision reads one generation only. Example, for `tenant-uids =
 *2001-2003`: { .mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111,
 *	  .uid_bitmap_limit = 2048, .n_high = 0 }
 * with bits 2001-2003 set in tg_tenant_uids (entry 31, bits 17-19).
 */
struct tg_settings {
	enum tg_mode mode;
	enum tg_policy_kind policy;
	__u32 deny_errno; /* errno a refused caller sees: ECONNREFUSED (111) or EPERM (1) */
	enum tg_bind_policy bind_policy;
	__u32 uid_bitmap_limit; /* uids below: bit uid % 64 of tg_tenant_uids[uid / 64] */
	__u32 n_high;		/* used entries of high[] */
	/* restricted tenant uids at or above uid_bitmap_limit (exempt ones taken out) that are
	 * not listed in tg_tenant_uids_high: the ranges wider than TG_HIGH_UID_SPAN */
	struct tg_uid_range high[TG_MAX_HIGH_RANGES];
	__u32 n_reserved_ports; /* ports reserved by [tenant] sections, 0: none */
	__u32 max_tunnels; /* per tenant uid unless tg_tunnel_max says otherwise; 0: no limit */
};

_Static_assert(sizeof(struct tg_settings) == 288, "struct tg_settings changed size");

/* Longest [tenant NAME] and user or group name, with its NUL. */
#define TG_NAME_LEN 32

/*
 * Why a connect or a bind was allowed or denied. Each reason has a per-CPU counter in the kernel
 * (map tg_counters, indexed by this enum). TG_ALLOW_NOT_TENANT is never counted: the
 * non-tenant path returns before touching any map. TG_ALLOW_NOT_TCP counts both hooks; every
 * other reason belongs to one hook (the *_BIND_* ones to bind, the rest to connect). New
 * reasons go at the end, so that counter indexes and names stay stable.
 */
enum tg_reason {
	TG_ALLOW_NOT_TENANT = 0,      /* caller is not a tenant (root, hub services, exempt uids) */
	TG_ALLOW_NOT_TCP = 1,	      /* not a stream socket: out of scope */
	TG_ALLOW_REMOTE = 2,	      /* destination is not an address of this host */
	TG_ALLOW_NO_LISTENER = 3,     /* nothing listens there: the connect fails by itself */
	TG_ALLOW_OWN = 4,	      /* caller owns the listener */
	TG_ALLOW_PORT = 5,	      /* port is in allow-ports */
	TG_ALLOW_SERVICE = 6,	      /* listener owned by a non-tenant, policy isolate */
	TG_DENY_OTHER_TENANT = 7,     /* listener owned by another tenant */
	TG_DENY_SERVICE = 8,	      /* listener owned by a non-tenant, policy strict */
	TG_DENY_UNKNOWN_OWNER = 9,    /* a listener exists but its owner could not be read */
	TG_AUDIT_OTHER_TENANT = 10,   /* audit mode: would be TG_DENY_OTHER_TENANT */
	TG_AUDIT_SERVICE = 11,	      /* audit mode: would be TG_DENY_SERVICE */
	TG_AUDIT_UNKNOWN_OWNER = 12,  /* audit mode: would be TG_DENY_UNKNOWN_OWNER */
	TG_ALLOW_RULE = 13,	      /* an allow rule grants the caller this port */
	TG_ALLOW_BIND_OWN = 14,	      /* bind: the port is reserved for the caller */
	TG_ALLOW_BIND_OPEN = 15,      /* bind: the port is reserved for nobody, bind-policy open */
	TG_ALLOW_BIND_EPHEMERAL = 16, /* bind: port 0, the kernel picks one */
	TG_DENY_BIND_RESERVED = 17,   /* bind: the port is reserved for another tenant */
	TG_DENY_BIND_UNRESERVED = 18, /* bind: reserved for nobody, bind-policy reserved-only */
	TG_AUDIT_BIND_RESERVED = 19,  /* audit mode: would be TG_DENY_BIND_RESERVED */
	TG_AUDIT_BIND_UNRESERVED = 20, /* audit mode: would be TG_DENY_BIND_UNRESERVED */
	TG_DENY_TUNNEL_LIMIT = 21,     /* bind: the tenant holds max-tunnels ports already */
	TG_AUDIT_TUNNEL_LIMIT = 22,    /* audit mode: would be TG_DENY_TUNNEL_LIMIT */
	TG_REASON_COUNT = 23,
	/* Not reasons, never counted: tg_decide_connect_local() needs tg_facts.port_open or
	 * tg_facts.allow_rule. */
	TG_NEED_PORT_OPEN = 254,
	TG_NEED_ALLOW_RULE = 255,
};

_Static_assert(sizeof(enum tg_reason) == 4, "enum tg_reason must stay 4 bytes");

/* A reason only the bind hooks give (TG_ALLOW_NOT_TCP, which both give, counts as a connect's). */
static inline int tg_reason_is_bind(enum tg_reason r)
{
	return (r >= TG_ALLOW_BIND_OWN && r <= TG_AUDIT_BIND_UNRESERVED) ||
	       r == TG_DENY_TUNNEL_LIMIT || r == TG_AUDIT_TUNNEL_LIMIT;
}

enum tg_listener {
	TG_LISTENER_NONE = 0,	       /* no listener the connect would reach */
	TG_LISTENER_FOUND = 1,	       /* a listener, owner_uid is valid */
	TG_LISTENER_OWNER_UNKNOWN = 2, /* a listener whose owner could not be read */
};

/* A fact that costs a map lookup, looked up only when the decision needs it. */
enum tg_fact {
	TG_FACT_UNKNOWN = 0, /* not looked up: the decision asks for it (TG_NEED_*) */
	TG_FACT_NO = 1,
	TG_FACT_YES = 2,
};

/*
 * What the kernel program (or `tunnelguard check`) learned about one connect: the listener, and
 * the answers of the policy maps (tg_maps.h), which the decision is handed as facts so that it
 * stays pure. Example, uid 2002 connecting to uid 2001's listener on 8001, both tenants, 8001
 * not in allow-ports:
 *	{ .caller_uid = 2002, .port = 8001, .listener = TG_LISTENER_FOUND, .owner_uid = 2001,
 *	  .caller_tenant = 1, .owner_tenant = 1, .port_open = TG_FACT_UNKNOWN,
 *	  .allow_rule = TG_FACT_UNKNOWN }
 */
struct tg_facts {
	__u32 caller_uid;   /* real uid of the connecting task, in the initial user namespace */
	__u16 port;	    /* destination port, host byte order */
	__u16 listener;	    /* enum tg_listener */
	__u32 owner_uid;    /* sk_uid of the listener the connect would reach */
	__u8 caller_tenant; /* 1: caller_uid is a restricted tenant (tenant, not exempt) */
	__u8 owner_tenant;  /* 1: owner_uid is one */
	__u8 port_open;	    /* enum tg_fact: port is in allow-ports */
	__u8 allow_rule;    /* enum tg_fact: an allow rule grants caller_uid this port */
};

/* Is uid in one of the first n ranges of r? For the settings' high[] ranges. */
static inline int tg_uid_in(const volatile struct tg_uid_range *r, __u32 n, __u32 uid)
{
	for (__u32 i = 0; i < TG_MAX_HIGH_RANGES; i++) {
		if (i >= n)
			break;
		if (uid >= r[i].first && uid <= r[i].last)
			return 1;
	}
	return 0;
}

/*
 * Is uid a restricted tenant, given word, the tg_tenant_uids entry uid / 64 (NULL when uid is
 * past the bitmap or the entry could not be read), and listed, whether tg_tenant_uids_high
 * holds uid (looked up only past the bitmap)? The kernel's fast path: a non-tenant caller is
 * allowed on this answer alone. The settings are volatile because in the kernel they are
 * frozen rodata whose value the compiler must not assume.
 */
static inline int tg_uid_is_tenant(const volatile struct tg_settings *s, const __u64 *word,
				   int listed, __u32 uid)
{
	if (uid < s->uid_bitmap_limit)
		return word && ((*word >> (uid & 63)) & 1);
	return listed || tg_uid_in(s->high, s->n_high, uid);
}

static inline int tg_reason_refuses(enum tg_reason r)
{
	return r == TG_DENY_OTHER_TENANT || r == TG_DENY_SERVICE || r == TG_DENY_UNKNOWN_OWNER ||
	       r == TG_DENY_BIND_RESERVED || r == TG_DENY_BIND_UNRESERVED ||
	       r == TG_DENY_TUNNEL_LIMIT;
}

static inline int tg_reason_is_audit(enum tg_reason r)
{
	return r == TG_AUDIT_OTHER_TENANT || r == TG_AUDIT_SERVICE || r == TG_AUDIT_UNKNOWN_OWNER ||
	       r == TG_AUDIT_BIND_RESERVED || r == TG_AUDIT_BIND_UNRESERVED ||
	       r == TG_AUDIT_TUNNEL_LIMIT;
}

/* In audit mode a deny becomes its audit twin: recorded, not refused. */
static inline enum tg_reason tg_apply_mode(const volatile struct tg_settings *s, enum tg_reason r)
{
	if (s->mode != TG_MODE_AUDIT)
		return r;
	switch (r) {
	case TG_DENY_OTHER_TENANT:
		return TG_AUDIT_OTHER_TENANT;
	case TG_DENY_SERVICE:
		return TG_AUDIT_SERVICE;
	case TG_DENY_UNKNOWN_OWNER:
		return TG_AUDIT_UNKNOWN_OWNER;
	case TG_DENY_BIND_RESERVED:
		return TG_AUDIT_BIND_RESERVED;
	case TG_DENY_BIND_UNRESERVED:
		return TG_AUDIT_BIND_UNRESERVED;
	case TG_DENY_TUNNEL_LIMIT:
		return TG_AUDIT_TUNNEL_LIMIT;
	default:
		return r;
	}
}

/*
 * The decision for a connect whose destination is an address of this host (the local part of
 * tg_decide_connect(); a traced SYN asks it alone, its listener being local). The order is the
 * policy: own listener, then allow-ports, then the caller's allow rules, then the owner's kind. A
 * listener we cannot attribute is denied: failing closed is the only safe answer when we cannot
 * tell whose port it is. Returns TG_NEED_PORT_OPEN (TG_NEED_ALLOW_RULE) when it needs
 * f->port_open (f->allow_rule) and that is TG_FACT_UNKNOWN: the caller looks it up and asks
 * again, so the own-port path makes neither lookup.
 */
static inline enum tg_reason tg_decide_connect_local(const volatile struct tg_settings *s,
						     const struct tg_facts *f)
{
	enum tg_reason r;

	if (!f->caller_tenant)
		return TG_ALLOW_NOT_TENANT;
	if (f->listener == TG_LISTENER_NONE)
		return TG_ALLOW_NO_LISTENER;
	if (f->listener == TG_LISTENER_FOUND && f->owner_uid == f->caller_uid)
		return TG_ALLOW_OWN;
	if (f->port_open == TG_FACT_UNKNOWN)
		return TG_NEED_PORT_OPEN;
	if (f->port_open == TG_FACT_YES)
		return TG_ALLOW_PORT;
	if (f->allow_rule == TG_FACT_UNKNOWN)
		return TG_NEED_ALLOW_RULE;
	if (f->allow_rule == TG_FACT_YES)
		return TG_ALLOW_RULE;
	if (f->listener != TG_LISTENER_FOUND)
		r = TG_DENY_UNKNOWN_OWNER;
	else if (f->owner_tenant)
		r = TG_DENY_OTHER_TENANT;
	else if (s->policy == TG_POLICY_STRICT)
		r = TG_DENY_SERVICE;
	else
		r = TG_ALLOW_SERVICE;
	return tg_apply_mode(s, r);
}

/*
 * The decision for a connect, given whether its destination is an address of this host. The
 * caller reports a listener only when the destination is local or the listener is bound to
 * exactly that address: a wildcard listener matches any address in the kernel's lookup, but a
 * connect to a remote address never reaches it.
 */
static inline enum tg_reason tg_decide_connect(const volatile struct tg_settings *s,
					       const struct tg_facts *f, int dest_is_local)
{
	if (!f->caller_tenant)
		return TG_ALLOW_NOT_TENANT;
	if (!dest_is_local && f->listener == TG_LISTENER_NONE)
		return TG_ALLOW_REMOTE;
	return tg_decide_connect_local(s, f);
}

/*
 * The decision for a bind() of port (host byte order) by a caller, on any address: a
 * reservation holds the port on every address of the host, so that no spelling (127.0.0.2,
 * 0.0.0.0, ::, ::ffff:127.0.0.1, a host address) lets another tenant take it. reserved_for is
 * the uid the port is reserved for (tg_ports), 0 when none (root is never a tenant). Port 0 asks
 * the kernel for an ephemeral port, judged by the post-bind hooks once it is known.
 */
static inline enum tg_reason tg_decide_bind(const volatile struct tg_settings *s, int caller_tenant,
					    __u32 caller_uid, __u16 port, __u32 reserved_for)
{
	enum tg_reason r;

	if (!caller_tenant)
		return TG_ALLOW_NOT_TENANT;
	if (port == 0)
		return TG_ALLOW_BIND_EPHEMERAL;
	if (reserved_for) {
		if (reserved_for == caller_uid)
			return TG_ALLOW_BIND_OWN;
		r = TG_DENY_BIND_RESERVED;
	} else if (s->bind_policy == TG_BIND_RESERVED_ONLY) {
		r = TG_DENY_BIND_UNRESERVED;
	} else {
		r = TG_ALLOW_BIND_OPEN;
	}
	return tg_apply_mode(s, r);
}

/*
 * Does a listener of owner_uid (owner_tenant: a restricted tenant) on a port reserved for
 * reserved_for (0: none) sit on another tenant's reservation? Only listen() without bind() can
 * get a tenant there (the bind hooks refuse every other way); every connection to such a
 * listener is refused, whoever connects.
 */
static inline int tg_listener_squats(int owner_tenant, __u32 owner_uid, __u32 reserved_for)
{
	return owner_tenant && reserved_for && reserved_for != owner_uid;
}

#endif /* TG_POLICY_H */
