// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.c - the policy's lookups by binary search, the facts the decisions of tg_policy.h are
 * handed, and the settings the kernel programs get.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

void policy_free(struct tg_policy *p)
{
	free(p->tenant);
	free(p->exempt);
	free(p->allow_port);
	free(p->section);
	free(p->reservation);
	free(p->reservation_section);
	free(p->allow_rule);
	p->tenant = p->exempt = NULL;
	p->allow_port = NULL;
	p->section = NULL;
	p->reservation = p->allow_rule = NULL;
	p->reservation_section = NULL;
	p->n_tenant = p->n_exempt = p->n_allow_port = p->n_section = 0;
	p->n_reservation = p->n_allow_rule = 0;
}

static int dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int policy_copy(struct tg_policy *dst, const struct tg_policy *src)
{
	int err;

	*dst = *src;
	err = dup_array((void **)&dst->tenant, src->tenant, src->n_tenant, sizeof(*src->tenant));
	err = err
		      ?: dup_array((void **)&dst->exempt, src->exempt, src->n_exempt,
				   sizeof(*src->exempt));
	err = err
		      ?: dup_array((void **)&dst->allow_port, src->allow_port, src->n_allow_port,
				   sizeof(*src->allow_port));
	err = err
		      ?: dup_array((void **)&dst->section, src->section, src->n_section,
				   sizeof(*src->section));
	err = err
		      ?: dup_array((void **)&dst->reservation, src->reservation, src->n_reservation,
				   sizeof(*src->reservation));
	err = err
		      ?: dup_array((void **)&dst->reservation_section, src->reservation_section,
				   src->n_reservation, sizeof(*src->reservation_section));
	err = err
		      ?: dup_array((void **)&dst->allow_rule, src->allow_rule, src->n_allow_rule,
				   sizeof(*src->allow_rule));
	if (err) {
		/* The lists not reached yet still point at src's: drop them before freeing. */
		if (dst->allow_rule == src->allow_rule)
			dst->allow_rule = NULL;
		if (dst->reservation_section == src->reservation_section)
			dst->reservation_section = NULL;
		if (dst->reservation == src->reservation)
			dst->reservation = NULL;
		if (dst->section == src->section)
			dst->section = NULL;
		if (dst->allow_port == src->allow_port)
			dst->allow_port = NULL;
		if (dst->exempt == src->exempt)
			dst->exempt = NULL;
		if (dst->tenant == src->tenant)
			dst->tenant = NULL;
		policy_free(dst);
	}
	return err;
}

/* Index of the range of r[0..n) that holds v, or -1. r is sorted and without overlaps. */
static long find_uid(const struct tg_uid_range *r, size_t n, __u32 v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < r[mid].first)
			hi = mid;
		else if (v > r[mid].last)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

static long find_port(const struct tg_port_range *r, size_t n, __u16 v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < r[mid].first)
			hi = mid;
		else if (v > r[mid].last)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

bool policy_is_tenant(const struct tg_policy *p, __u32 uid)
{
	return find_uid(p->tenant, p->n_tenant, uid) >= 0 &&
	       find_uid(p->exempt, p->n_exempt, uid) < 0;
}

struct tg_port_policy policy_port(const struct tg_policy *p, __u16 port)
{
	struct tg_port_policy out = { 0 };
	size_t lo = 0, hi = p->n_reservation;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (port < p->reservation[mid].first) {
			hi = mid;
		} else if (port > p->reservation[mid].last) {
			lo = mid + 1;
		} else {
			out.reserved_for = p->reservation[mid].uid;
			out.tenant = p->reservation_section ? p->reservation_section[mid] + 1 : 0;
			break;
		}
	}
	if (find_port(p->allow_port, p->n_allow_port, port) >= 0)
		out.flags |= TG_PORT_OPEN;
	return out;
}

/* Rules are sorted by uid, then first port; one uid's ranges never overlap after the parser. */
bool policy_allow_rule(const struct tg_policy *p, __u32 uid, __u16 port)
{
	size_t lo = 0, hi = p->n_allow_rule;

	/* The first rule of uid. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->allow_rule[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < p->n_allow_rule && p->allow_rule[i].uid == uid; i++)
		if (port >= p->allow_rule[i].first && port <= p->allow_rule[i].last)
			return true;
	return false;
}

void policy_facts(const struct tg_policy *p, struct tg_facts *f)
{
	f->caller_tenant = policy_is_tenant(p, f->caller_uid);
	f->owner_tenant = f->listener == TG_LISTENER_FOUND && policy_is_tenant(p, f->owner_uid);
	f->port_open = policy_port(p, f->port).flags & TG_PORT_OPEN ? TG_FACT_YES : TG_FACT_NO;
	f->allow_rule = policy_allow_rule(p, f->caller_uid, f->port) ? TG_FACT_YES : TG_FACT_NO;
}

/* The settings the decisions read: only the scalars matter to them. */
static struct tg_settings scalars(const struct tg_policy *p)
{
	return (struct tg_settings){ .mode = p->mode,
				     .policy = p->policy,
				     .deny_errno = p->deny_errno,
				     .bind_policy = p->bind_policy,
				     .max_tunnels = p->max_tunnels };
}

enum tg_reason policy_decide_connect(const struct tg_policy *p, struct tg_facts *f,
				     int dest_is_local)
{
	struct tg_settings s = scalars(p);

	policy_facts(p, f);
	return tg_decide_connect(&s, f, dest_is_local);
}

enum tg_reason policy_decide_connect_local(const struct tg_policy *p, struct tg_facts *f)
{
	struct tg_settings s = scalars(p);

	policy_facts(p, f);
	return tg_decide_connect_local(&s, f);
}

enum tg_reason policy_decide_bind(const struct tg_policy *p, __u32 caller_uid, __u16 port,
				  __u32 *reserved_for)
{
	struct tg_settings s = scalars(p);
	int tenant = policy_is_tenant(p, caller_uid);

	*reserved_for = tenant ? policy_port(p, port).reserved_for : 0;
	return tg_decide_bind(&s, tenant, caller_uid, port, *reserved_for);
}

int policy_restricted(const struct tg_policy *p, struct tg_uid_range **out, size_t *n)
{
	/* Each exempt range splits at most one tenant range in two. */
	size_t cap = (size_t)p->n_tenant + p->n_exempt + 1, k = 0, e = 0;
	struct tg_uid_range *r = calloc(cap, sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_tenant; i++) {
		__u64 first = p->tenant[i].first, last = p->tenant[i].last;

		while (e < p->n_exempt && p->exempt[e].last < first)
			e++;
		for (size_t j = e; j < p->n_exempt && p->exempt[j].first <= last; j++) {
			if (p->exempt[j].first > first && k < cap)
				r[k++] = (struct tg_uid_range){ (__u32)first,
								p->exempt[j].first - 1 };
			first = (__u64)p->exempt[j].last + 1;
		}
		if (first <= last && k < cap)
			r[k++] = (struct tg_uid_range){ (__u32)first, (__u32)last };
	}
	*out = r;
	*n = k;
	return 0;
}

/*
 * The part of restricted range r above the bitmap's reach: 0 when there is none, else 1 with
 * *high set to it.
 */
static int high_part(const struct tg_uid_range *r, struct tg_uid_range *high)
{
	if (r->last < TG_UID_BITMAP_MAX)
		return 0;
	*high = (struct tg_uid_range){ r->first < TG_UID_BITMAP_MAX ? TG_UID_BITMAP_MAX : r->first,
				       r->last };
	return 1;
}

int policy_settings(const struct tg_policy *p, struct tg_settings *s)
{
	struct tg_uid_range *r, high;
	size_t n, listed = 0;
	__u64 limit = 0;
	int err = policy_restricted(p, &r, &n);

	if (err)
		return err;
	*s = scalars(p);
	for (size_t i = 0; i < n; i++) {
		if (r[i].first < TG_UID_BITMAP_MAX)
			limit = r[i].last < TG_UID_BITMAP_MAX ? (__u64)r[i].last + 1
							      : TG_UID_BITMAP_MAX;
		if (!high_part(&r[i], &high))
			continue;
		if (tg_high_range_listed(high.first, high.last))
			listed += (size_t)(high.last - high.first) + 1;
		else if (s->n_high < TG_MAX_HIGH_RANGES)
			s->high[s->n_high++] = high;
		else
			err = -E2BIG;
	}
	free(r);
	if (!err && listed > TG_HIGH_UIDS_MAX)
		err = -E2BIG;
	if (err)
		return err;
	s->uid_bitmap_limit = (__u32)((limit + 63) / 64 * 64);
	for (size_t i = 0; i < p->n_reservation; i++)
		s->n_reserved_ports +=
			(__u32)(p->reservation[i].last - p->reservation[i].first) + 1;
	return 0;
}

int policy_high_listed(const struct tg_policy *p, __u32 **out, size_t *n)
{
	struct tg_uid_range *r, high;
	size_t nr, k = 0, cap = 0;
	__u32 *uids = NULL;
	int err = policy_restricted(p, &r, &nr);

	for (size_t i = 0; !err && i < nr; i++) {
		if (!high_part(&r[i], &high) || !tg_high_range_listed(high.first, high.last))
			continue;
		if (util_grow((void **)&uids, &cap, k + (high.last - high.first) + 1,
			      sizeof(*uids))) {
			err = -ENOMEM;
			break;
		}
		for (__u64 uid = high.first; uid <= high.last; uid++)
			uids[k++] = (__u32)uid;
	}
	if (!err) {
		free(r);
		*out = uids;
		*n = k;
		return 0;
	}
	free(r);
	free(uids);
	return err;
}

size_t policy_allow_pairs(const struct tg_policy *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_allow_rule; i++)
		n += (size_t)(p->allow_rule[i].last - p->allow_rule[i].first) + 1;
	return n;
}
