// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_resolve.c - the user and group names of a parsed config -> uids, through the host's
 * user database (NSS: getpwnam, getgrnam, getpwent) or a fake one in the unit tests
 * (struct cfg_directory). Run at every load and reload, so group changes take effect then.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "util.h"

/* Uids that become tenants, gathered before they are merged into policy.tenant. */
struct uid_set {
	__u32 *uids;
	size_t n, cap;
	/* for group_members' add(): the group being walked and where a root member goes */
	const char *group;
	char root_member[TG_NAME_LEN];
};

static int uid_set_add(struct uid_set *set, __u32 uid)
{
	int err = util_grow((void **)&set->uids, &set->cap, set->n + 1, sizeof(*set->uids));

	if (err)
		return err;
	set->uids[set->n++] = uid;
	return 0;
}

static int add_member(void *arg, const char *member, __u32 uid)
{
	struct uid_set *set = arg;

	if (uid == 0) {
		snprintf(set->root_member, sizeof(set->root_member), "%s", member);
		return -EPERM;
	}
	return uid_set_add(set, uid);
}

static int compare_ranges(const void *a, const void *b)
{
	const struct cfg_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* policy.tenant plus set, sorted, with overlapping and adjacent ranges joined. */
static int merge_tenants(struct tg_policy *p, const struct uid_set *set)
{
	size_t n = p->n_tenant + set->n, out = 0;
	struct cfg_range *r = calloc(n ? n : 1, sizeof(*r));
	struct tg_uid_range *merged;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_tenant; i++)
		r[i] = (struct cfg_range){ p->tenant[i].first, p->tenant[i].last };
	for (size_t i = 0; i < set->n; i++)
		r[p->n_tenant + i] = (struct cfg_range){ set->uids[i], set->uids[i] };
	qsort(r, n, sizeof(*r), compare_ranges);
	for (size_t i = 0; i < n; i++) {
		if (out && (__u64)r[i].first <= (__u64)r[out - 1].last + 1) {
			if (r[i].last > r[out - 1].last)
				r[out - 1].last = r[i].last;
			continue;
		}
		r[out++] = r[i];
	}
	merged = calloc(out ? out : 1, sizeof(*merged));
	if (!merged) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < out; i++)
		merged[i] = (struct tg_uid_range){ r[i].first, r[i].last };
	free(p->tenant);
	p->tenant = merged;
	p->n_tenant = (__u32)out;
	free(r);
	return 0;
}

/* Allow rules by uid, then port, as policy_allow_rule() looks them up. */
struct allow_entry {
	struct tg_port_grant rule;
	struct cfg_user_ref user;
};

static int compare_allow(const void *a, const void *b)
{
	const struct allow_entry *x = a, *y = b;

	if (x->rule.uid != y->rule.uid)
		return x->rule.uid < y->rule.uid ? -1 : 1;
	return x->rule.first < y->rule.first ? -1 : x->rule.first > y->rule.first;
}

static int sort_allow_rules(struct tg_config *cfg)
{
	struct tg_policy *p = &cfg->policy;
	struct allow_entry *e;

	if (p->n_allow_rule < 2)
		return 0;
	e = calloc(p->n_allow_rule, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (__u32 i = 0; i < p->n_allow_rule; i++)
		e[i] = (struct allow_entry){ p->allow_rule[i], cfg->allow_user[i] };
	qsort(e, p->n_allow_rule, sizeof(*e), compare_allow);
	for (__u32 i = 0; i < p->n_allow_rule; i++) {
		p->allow_rule[i] = e[i].rule;
		cfg->allow_user[i] = e[i].user;
	}
	free(e);
	return 0;
}

/* One named user: its uid, which must not be root. */
static int resolve_user(const struct cfg_directory *dir, const char *what, struct cfg_user_ref *ref,
			__u32 *uid, struct cfg_error *err)
{
	int ret;

	if (!ref->name[0])
		return 0;
	ret = dir->user_uid(dir->ctx, ref->name, uid);
	if (ret == -ENOENT)
		return cfg_error_set(
			err, ref->line,
			"%s: no user '%s' on this host (create the account, or give its uid)", what,
			ref->name);
	if (ret)
		return cfg_error_set(err, ref->line, "%s: cannot look up user '%s': %s", what,
				     ref->name, strerror(-ret));
	if (*uid == 0)
		return cfg_error_set(err, ref->line,
				     "%s: user '%s' is uid 0 (root), which is never restricted",
				     what, ref->name);
	return 0;
}

int cfg_resolve(struct tg_config *cfg, const struct cfg_directory *dir, struct cfg_error *err)
{
	struct tg_policy *p = &cfg->policy;
	struct uid_set set = { 0 };
	char what[TG_NAME_LEN + 16];
	struct tg_settings settings;
	int ret = 0;

	err->line = 0;
	err->message[0] = '\0';
	for (__u32 i = 0; i < p->n_section && !ret; i++) {
		snprintf(what, sizeof(what), "[tenant %s]", p->section[i].name);
		ret = resolve_user(dir, what, &cfg->section_user[i], &p->section[i].uid, err);
		if (!ret)
			ret = uid_set_add(&set, p->section[i].uid) ? -ENOMEM : 0;
	}
	for (__u32 i = 0; i < p->n_reservation && !ret; i++)
		p->reservation[i].uid = p->section[p->reservation_section[i]].uid;
	for (__u32 i = 0; i < p->n_allow_rule && !ret; i++)
		ret = resolve_user(dir, "allow", &cfg->allow_user[i], &p->allow_rule[i].uid, err);
	for (unsigned int g = 0; g < cfg->n_group && !ret; g++) {
		set.group = cfg->group[g];
		ret = dir->group_members(dir->ctx, cfg->group[g], add_member, &set);
		if (ret == -ENOENT)
			ret = cfg_error_set(
				err, cfg->group_line,
				"tenant-group: no group '%s' on this host (create it with groupadd, or remove it here)",
				cfg->group[g]);
		else if (ret == -EPERM && set.root_member[0])
			ret = cfg_error_set(
				err, cfg->group_line,
				"tenant-group: group '%s' has member '%s' (uid 0), which cannot be a tenant",
				cfg->group[g], set.root_member);
		else if (ret)
			ret = cfg_error_set(
				err, cfg->group_line,
				"tenant-group: cannot list the members of group '%s': %s",
				cfg->group[g], strerror(-ret));
	}
	if (!ret && (merge_tenants(p, &set) || sort_allow_rules(cfg)))
		ret = -ENOMEM;
	if (!ret) {
		ret = policy_settings(p, &settings);
		if (ret == -E2BIG)
			ret = cfg_error_set(
				err,
				cfg->n_group		? cfg->group_line
				: cfg->tenant_uids_line ? cfg->tenant_uids_line
							: cfg->first_section_line,
				"tenant uids at or above %u make more than %d ranges of over %d uids, or more than %u uids in smaller runs (below it any number is fine): merge the wide ranges",
				TG_UID_BITMAP_MAX, TG_MAX_HIGH_RANGES, TG_HIGH_UID_SPAN,
				TG_HIGH_UIDS_MAX);
	}
	if (!ret && policy_allow_pairs(p) > TG_ALLOW_PAIRS_MAX)
		ret = cfg_error_set(
			err, cfg->last_allow_line,
			"allow rules grant %zu uid-port pairs in all, more than %u: grant ranges to fewer users, or use allow-ports",
			policy_allow_pairs(p), TG_ALLOW_PAIRS_MAX);
	if (!ret)
		ret = cfg_resolve_tunnel_limits(cfg, err);
	if (ret == -ENOMEM)
		cfg_error_set(err, 0, "out of memory resolving user and group names");
	free(set.uids);
	return ret;
}

static int system_user_uid(void *ctx, const char *name, __u32 *uid)
{
	struct passwd *pw;

	(void)ctx;
	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	return 0;
}

/* One account of the user database, as one getpwent() walk lists it. */
struct account {
	char *name;
	__u32 uid;
	gid_t gid;
};

/* Every account getpwent() lists, in its order: 0, or -ENOMEM (the list is then to free). */
static int accounts_read(struct account **accounts, size_t *n)
{
	size_t cap = 0;
	struct passwd *pw;
	int ret = 0;

	*accounts = NULL;
	*n = 0;
	setpwent();
	while (!ret && (pw = getpwent())) {
		ret = util_grow((void **)accounts, &cap, *n + 1, sizeof(**accounts));
		if (ret)
			break;
		(*accounts)[*n] = (struct account){ strdup(pw->pw_name), pw->pw_uid, pw->pw_gid };
		if (!(*accounts)[*n].name)
			ret = -ENOMEM;
		else
			(*n)++;
	}
	endpwent();
	return ret;
}

static void accounts_free(struct account *accounts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(accounts[i].name);
	free(accounts);
}

/* By name, then by position: the first of two accounts with one name is the one getpwnam() gives.
 */
static int compare_account_names(const void *a, const void *b)
{
	const struct account *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	if (c)
		return c;
	return *x < *y ? -1 : *x > *y;
}

/* The first account named name in by_name (sorted with compare_account_names), or NULL. */
static const struct account *account_find(struct account *const *by_name, size_t n,
					  const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(by_name[lo]->name, name) == 0 ? by_name[lo] : NULL;
}

/*
 * gr_mem names, then every account whose primary group it is. The user database is walked once
 * (getpwent) and the member names are looked up in it by binary search: a getpwnam() per member
 * scans the whole passwd file with the files backend, hours for a group of 100,000. A name the
 * walk did not list (a backend that does not enumerate, as LDAP or sssd often do not) is still
 * asked of getpwnam(), so that no member is left out.
 */
static int system_group_members(void *ctx, const char *name,
				int (*add)(void *arg, const char *member, __u32 uid), void *arg)
{
	struct account *accounts = NULL, **by_name = NULL;
	size_t n = 0, n_accounts = 0;
	const struct account *a;
	char **members = NULL;
	struct passwd *pw;
	struct group *gr;
	gid_t gid;
	int ret = 0;

	(void)ctx;
	errno = 0;
	gr = getgrnam(name);
	if (!gr)
		return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
	gid = gr->gr_gid;
	/* getpwent() and getpwnam() may reuse getgrnam()'s buffers: copy the member names first. */
	while (gr->gr_mem && gr->gr_mem[n])
		n++;
	members = calloc(n + 1, sizeof(*members));
	if (!members)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		members[i] = strdup(gr->gr_mem[i]);
		if (!members[i]) {
			ret = -ENOMEM;
			goto cleanup;
		}
	}
	ret = accounts_read(&accounts, &n_accounts);
	if (ret)
		goto cleanup;
	by_name = calloc(n_accounts ? n_accounts : 1, sizeof(*by_name));
	if (!by_name) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n_accounts; i++)
		by_name[i] = &accounts[i];
	qsort(by_name, n_accounts, sizeof(*by_name), compare_account_names);
	for (size_t i = 0; i < n && !ret; i++) {
		a = account_find(by_name, n_accounts, members[i]);
		if (a) {
			ret = add(arg, members[i], a->uid);
			continue;
		}
		pw = getpwnam(members[i]);
		if (pw) /* a member without an account is a stale line in /etc/group */
			ret = add(arg, members[i], pw->pw_uid);
	}
	for (size_t i = 0; i < n_accounts && !ret; i++)
		if (accounts[i].gid == gid)
			ret = add(arg, accounts[i].name, accounts[i].uid);
cleanup:
	for (size_t i = 0; i < n; i++)
		free(members[i]);
	free(members);
	free(by_name);
	accounts_free(accounts, n_accounts);
	return ret;
}

const struct cfg_directory cfg_system_directory = {
	.user_uid = system_user_uid,
	.group_members = system_group_members,
};
