// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_limits.c - the config key max-tunnels: how many ports one tenant may hold through bind()
 * on TCP sockets at once (tg_limits.h). In the global section it is every tenant's limit; in a
 * [tenant NAME] section it is that section's user's, instead. 0 means no limit, also in a
 * section (which lifts the global limit for that user). Parsed purely with the rest of the
 * config (cfg_parse); a section's user is resolved with the others (cfg_resolve).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_internal.h"

/* A plain decimal from 0 to TG_MAX_TUNNELS_HIGHEST. */
static int parse_count(struct cfg_parser *ps, struct span value, __u32 *out)
{
	unsigned long long n = 0;

	if (!value.len)
		return cfg_parse_error(
			ps,
			"max-tunnels: empty (expected a number of ports a tenant may hold, 0 for no limit)");
	for (size_t i = 0; i < value.len; i++) {
		if (value.p[i] < '0' || value.p[i] > '9')
			return cfg_parse_error(
				ps, "max-tunnels: '%.*s%s' is not a whole number of ports",
				SPAN_ARG(value));
		n = n * 10 + (unsigned long long)(value.p[i] - '0');
		if (n > TG_MAX_TUNNELS_HIGHEST)
			break;
	}
	if (n > TG_MAX_TUNNELS_HIGHEST)
		return cfg_parse_error(
			ps, "max-tunnels: '%.*s%s' is out of range (0 to %u; 0: no limit)",
			SPAN_ARG(value), TG_MAX_TUNNELS_HIGHEST);
	*out = (__u32)n;
	return 0;
}

int cfg_parse_max_tunnels(struct cfg_parser *ps, struct span value)
{
	return parse_count(ps, value, &ps->cfg.tunnels.global);
}

int cfg_parse_section_max_tunnels(struct cfg_parser *ps, struct span value)
{
	struct cfg_tunnel_limits *t = &ps->cfg.tunnels;
	struct cfg_tunnel_limit *e;
	__u32 max = 0;
	int ret = parse_count(ps, value, &max);

	if (ret)
		return ret;
	if (t->n >= CFG_MAX_TUNNEL_LIMITS)
		return cfg_parse_error(ps, "max-tunnels: more than %d [tenant] sections set one",
				       CFG_MAX_TUNNEL_LIMITS);
	e = &t->entry[t->n++];
	memset(e, 0, sizeof(*e));
	e->max = max;
	e->line = ps->line;
	e->section = ps->section.line;
	e->uid = CFG_UID_UNRESOLVED;
	snprintf(e->name, sizeof(e->name), "%s", ps->section.name);
	return 0;
}

/* The section is complete: its user (which may follow max-tunnels) is known now. */
void cfg_finish_section_limits(struct cfg_parser *ps)
{
	struct cfg_tunnel_limits *t = &ps->cfg.tunnels;

	if (!t->n || t->entry[t->n - 1].section != ps->section.line)
		return;
	t->entry[t->n - 1].uid = ps->section.uid;
	t->entry[t->n - 1].user = ps->section.user;
}

int cfg_resolve_tunnel_limits(struct tg_config *cfg, const struct cfg_directory *dir,
			      struct cfg_error *err)
{
	struct cfg_tunnel_limits *t = &cfg->tunnels;

	for (unsigned int i = 0; i < t->n; i++) {
		struct cfg_tunnel_limit *e = &t->entry[i];
		int ret = 0;

		if (e->user.name[0])
			ret = dir->user_uid(dir->ctx, e->user.name, &e->uid);
		if (ret == -ENOENT)
			return cfg_error_set(
				err, e->user.line,
				"[tenant %s]: no user '%s' on this host (create the account, or give its uid)",
				e->name, e->user.name);
		if (ret)
			return cfg_error_set(err, e->user.line,
					     "[tenant %s]: cannot look up user '%s': %s", e->name,
					     e->user.name, strerror(-ret));
		if (e->uid == 0)
			return cfg_error_set(
				err, e->line,
				"max-tunnels: [tenant %s] is uid 0 (root), which is never restricted",
				e->name);
		for (unsigned int j = 0; j < i; j++)
			if (t->entry[j].uid == e->uid && t->entry[j].max != e->max)
				return cfg_error_set(
					err, e->line,
					"max-tunnels: uid %u has max-tunnels = %u in [tenant %s] (line %u): one limit per user",
					e->uid, t->entry[j].max, t->entry[j].name,
					t->entry[j].line);
	}
	return 0;
}
