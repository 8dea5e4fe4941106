// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.h - the whole policy in userspace, at any scale: what the config gives (config.h), what
 * `load` writes into the kernel's policy maps (policy_maps.h) and what status and check read back
 * from the maps of the programs that run.
 *
 * The kernel answers each question with one map lookup (tg_maps.h); here the same answers come
 * from sorted arrays by binary search, and policy_facts() hands them to the pure decisions of
 * tg_policy.h exactly as the kernel program does. Example, for
 *	tenant-uids = 2001-2003
 *	allow-ports = 53
 *	[tenant alice]
 *	user = 2001
 *	ports = 8001
 * the policy is
 *	{ .mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111,
 *	  .n_tenant = 1, .tenant = { { 2001, 2003 } }, .n_allow_port = 1, .allow_port = { { 53, 53 }
 *}, .n_section = 1, .section = { { .name = "alice", .uid = 2001 } }, .n_reservation = 1,
 *.reservation = { { 2001, 8001, 8001 } }, .reservation_section = { 0 } }
 */
#ifndef TG_USER_POLICY_H
#define TG_USER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "tg_maps.h"
#include "tg_policy.h"

struct tg_policy {
	enum tg_mode mode;
	enum tg_policy_kind policy;
	__u32 deny_errno; /* ECONNREFUSED (111) or EPERM (1) */
	enum tg_bind_policy bind_policy;
	__u32 max_tunnels; /* per tenant uid unless its [tenant] section says otherwise; 0: none */
	/* Every list is sorted and without overlaps. */
	__u32 n_tenant;
	struct tg_uid_range *tenant; /* tenant-uids, [tenant] users, tenant-group members */
	__u32 n_exempt;
	struct tg_uid_range *exempt; /* exempt-uids: never restricted */
	__u32 n_allow_port;
	struct tg_port_range *allow_port; /* any tenant may reach these */
	__u32 n_section;
	struct tg_tenant_name *section; /* [tenant NAME] sections, in config order */
	__u32 n_reservation;
	struct tg_port_grant *reservation; /* by first port; uid is the section's */
	__u32 *reservation_section;	   /* index in section[] of reservation[i] */
	__u32 n_allow_rule;
	struct tg_port_grant *allow_rule; /* by uid, then first port */
};

/* Free the lists (not p itself) and zero them. */
void policy_free(struct tg_policy *p);

/* A deep copy of src into dst (which is overwritten): 0 or -ENOMEM. */
int policy_copy(struct tg_policy *dst, const struct tg_policy *src);

/* Is uid a restricted tenant: in tenant[] and not in exempt[]? */
bool policy_is_tenant(const struct tg_policy *p, __u32 uid);

/* What tg_ports holds for port: its reservation and allow-ports flag. */
struct tg_port_policy policy_port(const struct tg_policy *p, __u16 port);

/* Does an allow rule grant uid the port? */
bool policy_allow_rule(const struct tg_policy *p, __u32 uid, __u16 port);

/*
 * Fill the map answers of f (caller_tenant, owner_tenant, port_open, allow_rule) from p, for
 * f->caller_uid, f->port and (when f->listener is TG_LISTENER_FOUND) f->owner_uid.
 */
void policy_facts(const struct tg_policy *p, struct tg_facts *f);

/* The decisions of tg_policy.h for p: what the kernel decides with the same maps. */
enum tg_reason policy_decide_connect(const struct tg_policy *p, struct tg_facts *f,
				     int dest_is_local);
enum tg_reason policy_decide_connect_local(const struct tg_policy *p, struct tg_facts *f);
/* *reserved_for gets the uid port is reserved for, 0 when none. */
enum tg_reason policy_decide_bind(const struct tg_policy *p, __u32 caller_uid, __u16 port,
				  __u32 *reserved_for);

/*
 * The restricted tenant uids, tenant[] minus exempt[], as sorted ranges in *out (malloc'd, to
 * free): what tg_tenant_uids and tg_settings.high hold. 0 or -ENOMEM.
 */
int policy_restricted(const struct tg_policy *p, struct tg_uid_range **out, size_t *n);

/*
 * The rodata settings for p: scalars, and the uid bitmap's extent (the highest restricted uid
 * below TG_UID_BITMAP_MAX, rounded up to 64) with the wide ranges above it (the others are
 * listed: policy_high_listed()). -E2BIG when more than TG_MAX_HIGH_RANGES wide ranges or more
 * than TG_HIGH_UIDS_MAX listed uids lie above, -ENOMEM.
 */
int policy_settings(const struct tg_policy *p, struct tg_settings *s);

/*
 * The restricted uids at or above TG_UID_BITMAP_MAX in runs of at most TG_HIGH_UID_SPAN, one by
 * one and sorted, in *out (malloc'd, to free; NULL when none): what tg_tenant_uids_high holds.
 * 0 or -ENOMEM.
 */
int policy_high_listed(const struct tg_policy *p, __u32 **out, size_t *n);

/* Number of uid-port pairs the allow rules expand to (tg_allow_rules entries). */
size_t policy_allow_pairs(const struct tg_policy *p);

#endif /* TG_USER_POLICY_H */
