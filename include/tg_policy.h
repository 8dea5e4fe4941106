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

/* Upper bound on each list of ranges; a config with more is refused at parse time. */
#define TG_MAX_RANGES 32
/* Upper bounds on reserved port ranges (all [tenant] sections) and on allow rules. */
#define TG_MAX_RESERVATIONS 64
#define TG_MAX_ALLOW_RULES  64

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
 * The whole load-time policy. The kernel program holds it as `const volatile` rodata that the
 * loader sets before load; it is frozen afterwards, and a new policy is a new program swapped in
 * atomically with bpf_link_update(). Ranges are sorted and do not overlap (the parser checks).
 */
struct tg_policy {
	enum tg_mode mode;
	enum tg_policy_kind policy;
	__u32 deny_errno; /* errno a refused caller sees: ECONNREFUSED (111) or EPERM (1) */
	__u32 n_tenant;	  /* used entries of tenant[] */
	__u32 n_exempt;	  /* used entries of exempt[] */
	__u32 n_allow_port;
	struct tg_uid_range tenant[TG_MAX_RANGES];	/* tenant-uids */
	struct tg_uid_range exempt[TG_MAX_RANGES];	/* exempt-uids: never restricted */
	struct tg_port_range allow_port[TG_MAX_RANGES]; /* allow-ports: any tenant may reach */
	enum tg_bind_policy bind_policy;
	__u32 n_reservation; /* used entries of reservation[] */
	__u32 n_allow_rule;  /* used entries of allow_rule[] */
	__u32 pad;
	/* [tenant] ports: only that uid's tenants may bind them; they never overlap */
	struct tg_port_grant reservation[TG_MAX_RESERVATIONS];
	/* allow = USER:PORTS: that uid may connect to those ports whoever listens */
	struct tg_port_grant allow_rule[TG_MAX_ALLOW_RULES];
};

/* The size of the config map's value depends on it: a change needs an unload, not a swap. */
_Static_assert(sizeof(struct tg_policy) == 1704, "struct tg_policy changed size");

/* Longest [tenant NAME] and user or group name, with its NUL. */
#define TG_NAME_LEN 32

/*
 * Names for the operator, beside the policy in the programs' rodata (map `config`) so that
 * `status` can say whose reservation is whose; the programs never read them. reservation[i]
 * names the [tenant NAME] section of tg_policy.reservation[i], e.g. "alice".
 */
struct tg_policy_names {
	char reservation[TG_MAX_RESERVATIONS][TG_NAME_LEN];
};

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

/* What the kernel program (or `tunnelguard check`) learned about one connect. */
struct tg_facts {
	__u32 caller_uid; /* real uid of the connecting task, in the initial user namespace */
	__u16 port;	  /* destination port, host byte order */
	__u16 listener;	  /* enum tg_listener */
	__u32 owner_uid;  /* sk_uid of the listener the connect would reach */
};

static inline int tg_uid_in(const volatile struct tg_uid_range *r, __u32 n, __u32 uid)
{
	for (__u32 i = 0; i < TG_MAX_RANGES; i++) {
		if (i >= n)
			break;
		if (uid >= r[i].first && uid <= r[i].last)
			return 1;
	}
	return 0;
}

static inline int tg_port_in(const volatile struct tg_port_range *r, __u32 n, __u16 port)
{
	for (__u32 i = 0; i < TG_MAX_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= r[i].first && port <= r[i].last)
			return 1;
	}
	return 0;
}

/* Index of the reservation that holds port, or -1. Reservations never overlap. */
static inline int tg_reservation_of(const volatile struct tg_policy *p, __u16 port)
{
	for (__u32 i = 0; i < TG_MAX_RESERVATIONS; i++) {
		if (i >= p->n_reservation)
			break;
		if (port >= p->reservation[i].first && port <= p->reservation[i].last)
			return (int)i;
	}
	return -1;
}

/* Does an allow rule let uid reach port? */
static inline int tg_allow_rule_in(const volatile struct tg_policy *p, __u32 uid, __u16 port)
{
	for (__u32 i = 0; i < TG_MAX_ALLOW_RULES; i++) {
		if (i >= p->n_allow_rule)
			break;
		if (p->allow_rule[i].uid == uid && port >= p->allow_rule[i].first &&
		    port <= p->allow_rule[i].last)
			return 1;
	}
	return 0;
}

/*
 * Is uid a restricted tenant? The kernel's fast path: a non-tenant caller is allowed on this
 * answer alone. The pointer is volatile because in the kernel it points at frozen rodata whose
 * value the compiler must not assume.
 */
static inline int tg_is_tenant(const volatile struct tg_policy *p, __u32 uid)
{
	return tg_uid_in(p->tenant, p->n_tenant, uid) && !tg_uid_in(p->exempt, p->n_exempt, uid);
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
static inline enum tg_reason tg_apply_mode(const volatile struct tg_policy *p, enum tg_reason r)
{
	if (p->mode != TG_MODE_AUDIT)
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
 * tell whose port it is.
 */
static inline enum tg_reason tg_decide_connect_local(const volatile struct tg_policy *p,
						     const struct tg_facts *f)
{
	enum tg_reason r;

	if (!tg_is_tenant(p, f->caller_uid))
		return TG_ALLOW_NOT_TENANT;
	if (f->listener == TG_LISTENER_NONE)
		return TG_ALLOW_NO_LISTENER;
	if (f->listener == TG_LISTENER_FOUND && f->owner_uid == f->caller_uid)
		return TG_ALLOW_OWN;
	if (tg_port_in(p->allow_port, p->n_allow_port, f->port))
		return TG_ALLOW_PORT;
	if (tg_allow_rule_in(p, f->caller_uid, f->port))
		return TG_ALLOW_RULE;
	if (f->listener != TG_LISTENER_FOUND)
		r = TG_DENY_UNKNOWN_OWNER;
	else if (tg_is_tenant(p, f->owner_uid))
		r = TG_DENY_OTHER_TENANT;
	else if (p->policy == TG_POLICY_STRICT)
		r = TG_DENY_SERVICE;
	else
		r = TG_ALLOW_SERVICE;
	return tg_apply_mode(p, r);
}

/*
 * The decision for a connect, given whether its destination is an address of this host. The
 * caller reports a listener only when the destination is local or the listener is bound to
 * exactly that address: a wildcard listener matches any address in the kernel's lookup, but a
 * connect to a remote address never reaches it.
 */
static inline enum tg_reason tg_decide_connect(const volatile struct tg_policy *p,
					       const struct tg_facts *f, int dest_is_local)
{
	if (!tg_is_tenant(p, f->caller_uid))
		return TG_ALLOW_NOT_TENANT;
	if (!dest_is_local && f->listener == TG_LISTENER_NONE)
		return TG_ALLOW_REMOTE;
	return tg_decide_connect_local(p, f);
}

/*
 * The decision for a bind() of port (host byte order) by caller_uid, on any address: a
 * reservation holds the port on every address of the host, so that no spelling (127.0.0.2,
 * 0.0.0.0, ::, ::ffff:127.0.0.1, a host address) lets another tenant take it. *owner_uid gets
 * the uid the port is reserved for, 0 when none. Port 0 asks the kernel for an ephemeral port;
 * the kernel's choice is not seen here (README, Limits), so it is allowed.
 */
static inline enum tg_reason tg_decide_bind(const volatile struct tg_policy *p, __u32 caller_uid,
					    __u16 port, __u32 *owner_uid)
{
	enum tg_reason r;
	int i;

	*owner_uid = 0;
	if (!tg_is_tenant(p, caller_uid))
		return TG_ALLOW_NOT_TENANT;
	if (port == 0)
		return TG_ALLOW_BIND_EPHEMERAL;
	i = tg_reservation_of(p, port);
	if (i >= 0 && i < TG_MAX_RESERVATIONS) {
		*owner_uid = p->reservation[i].uid;
		if (*owner_uid == caller_uid)
			return TG_ALLOW_BIND_OWN;
		r = TG_DENY_BIND_RESERVED;
	} else if (p->bind_policy == TG_BIND_RESERVED_ONLY) {
		r = TG_DENY_BIND_UNRESERVED;
	} else {
		r = TG_ALLOW_BIND_OPEN;
	}
	return tg_apply_mode(p, r);
}

/*
 * Does a listener of owner_uid on port sit on another tenant's reservation? Only listen()
 * without bind() can get a tenant there (the bind hooks refuse every other way); every
 * connection to such a listener is refused, whoever connects. *reserved_for gets the
 * reservation's uid.
 */
static inline int tg_listener_squats(const volatile struct tg_policy *p, __u32 owner_uid,
				     __u16 port, __u32 *reserved_for)
{
	int i;

	if (!tg_is_tenant(p, owner_uid))
		return 0;
	i = tg_reservation_of(p, port);
	if (i < 0 || i >= TG_MAX_RESERVATIONS)
		return 0;
	*reserved_for = p->reservation[i].uid;
	return *reserved_for != owner_uid;
}

#endif /* TG_POLICY_H */
