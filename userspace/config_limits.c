// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_limits.c - the config key max-tunnels: how many ports one tenant may hold through bind()
 * on TCP sockets at once (tg_limits.h). In the global section it is every tenant's limit; in a
 * [tenant NAME] section it is that section's user's, instead. 0 means no limit, also in a
 * section (which lifts the global limit for that user). Parsed purely with the rest of the
 * config (cfg_parse); one limit per user is checked once the sections' users are resolved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	ps->cfg.max_tunnels_line = ps->line;
	return parse_count(ps, value, &ps->cfg.policy.max_tunnels);
}

int cfg_parse_section_max_tunnels(struct cfg_parser *ps, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;

	ps->cfg.section_limit_line[p->n_section - 1] = ps->line;
	return parse_count(ps, value, &p->section[p->n_section - 1].max_tunnels);
}

static const struct tg_tenant_name *sort_sections;

static int by_uid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	if (sort_sections[x].uid != sort_sections[y].uid)
		return sort_sections[x].uid < sort_sections[y].uid ? -1 : 1;
	return x < y ? -1 : x > y;
}

int cfg_resolve_tunnel_limits(struct tg_config *cfg, struct cfg_error *err)
{
	const struct tg_policy *p = &cfg->policy;
	__u32 *order, last = 0;
	int ret = 0;

	if (p->n_section < 2)
		return 0;
	order = calloc(p->n_section, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (__u32 i = 0; i < p->n_section; i++)
		order[i] = i;
	sort_sections = p->section;
	qsort(order, p->n_section, sizeof(*order), by_uid);
	/* Sections of one uid: their set limits must agree (the first set one is the reference). */
	for (__u32 i = 0; i < p->n_section && !ret; i++) {
		const struct tg_tenant_name *s = &p->section[order[i]];

		if (i == 0 || s->uid != p->section[order[i - 1]].uid)
			last = order[i];
		if (s->max_tunnels == TG_MAX_TUNNELS_UNSET)
			continue;
		if (p->section[last].max_tunnels == TG_MAX_TUNNELS_UNSET) {
			last = order[i];
			continue;
		}
		if (p->section[last].max_tunnels != s->max_tunnels)
			ret = cfg_error_set(
				err, cfg->section_limit_line[order[i]],
				"max-tunnels: uid %u has max-tunnels = %u in [tenant %s] (line %u): one limit per user",
				s->uid, p->section[last].max_tunnels, p->section[last].name,
				cfg->section_limit_line[last]);
	}
	free(order);
	return ret;
}
