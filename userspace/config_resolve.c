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
static int merge_tenants(struct tg_policy *p, const struct uid_set *set, unsigned int *needed)
{
	size_t n = p->n_tenant + set->n, out = 0;
	struct cfg_range *r = calloc(n ? n : 1, sizeof(*r));

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
	*needed = (unsigned int)out;
	if (out <= TG_MAX_RANGES) {
		memset(p->tenant, 0, sizeof(p->tenant));
		for (size_t i = 0; i < out; i++)
			p->tenant[i] = (struct tg_uid_range){ r[i].first, r[i].last };
		p->n_tenant = (__u32)out;
	}
	free(r);
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
	unsigned int needed = 0;
	char what[TG_NAME_LEN + 16];
	int ret = 0;

	err->line = 0;
	err->message[0] = '\0';
	for (__u32 i = 0; i < p->n_reservation && !ret; i++) {
		snprintf(what, sizeof(what), "[tenant %s]", cfg->names.reservation[i]);
		ret = resolve_user(dir, what, &cfg->reservation_user[i], &p->reservation[i].uid,
				   err);
		if (!ret)
			ret = uid_set_add(&set, p->reservation[i].uid) ? -ENOMEM : 0;
	}
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
	if (!ret && merge_tenants(p, &set, &needed))
		ret = -ENOMEM;
	if (!ret && needed > TG_MAX_RANGES)
		ret = cfg_error_set(
			err, cfg->n_group ? cfg->group_line : cfg->first_section_line,
			"tenant-uids, [tenant] users and tenant-group members make %u uid ranges, more than %d: widen tenant-uids to cover them",
			needed, TG_MAX_RANGES);
	if (!ret)
		ret = cfg_resolve_tunnel_limits(cfg, dir, err);
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

/* gr_mem names, then every account whose primary group it is (getpwent). */
static int system_group_members(void *ctx, const char *name,
				int (*add)(void *arg, const char *member, __u32 uid), void *arg)
{
	char **members = NULL;
	struct passwd *pw;
	struct group *gr;
	size_t n = 0;
	gid_t gid;
	int ret = 0;

	(void)ctx;
	errno = 0;
	gr = getgrnam(name);
	if (!gr)
		return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
	gid = gr->gr_gid;
	/* getpwnam() may reuse getgrnam()'s buffers: copy the member names first. */
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
	for (size_t i = 0; i < n && !ret; i++) {
		pw = getpwnam(members[i]);
		if (pw) /* a member without an account is a stale line in /etc/group */
			ret = add(arg, members[i], pw->pw_uid);
	}
	setpwent();
	while (!ret && (pw = getpwent()))
		if (pw->pw_gid == gid)
			ret = add(arg, pw->pw_name, pw->pw_uid);
	endpwent();
cleanup:
	for (size_t i = 0; i < n; i++)
		free(members[i]);
	free(members);
	return ret;
}

const struct cfg_directory cfg_system_directory = {
	.user_uid = system_user_uid,
	.group_members = system_group_members,
};
