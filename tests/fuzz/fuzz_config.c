// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_parse() on arbitrary bytes. Beyond "no crash, no sanitizer report": a parse that succeeds
 * must give a policy the kernel program can trust (sorted, non-overlapping ranges within their
 * bounds, no root tenant, known enum values, unused entries zero), and writing that policy back
 * as a config must parse to the very same policy. A parse that fails must say where and why.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"

#include "fuzz.h"

static void check_uid_list(const struct tg_uid_range *r, __u32 n, bool tenant, const char *key)
{
	FUZZ_CHECK(n <= TG_MAX_RANGES, "%s: %u ranges", key, n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first <= r[i].last, "%s[%u] %u-%u reversed", key, i, r[i].first,
			   r[i].last);
		FUZZ_CHECK(r[i].last != UINT32_MAX, "%s[%u] holds (uid_t)-1", key, i);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last, "%s[%u] unsorted or overlapping",
			   key, i);
	}
	FUZZ_CHECK(!tenant || n == 0 || r[0].first != 0, "%s: root is a tenant", key);
	for (__u32 i = n; i < TG_MAX_RANGES; i++)
		FUZZ_CHECK(r[i].first == 0 && r[i].last == 0, "%s[%u] unused but set", key, i);
}

static void check_port_list(const struct tg_port_range *r, __u32 n)
{
	FUZZ_CHECK(n <= TG_MAX_RANGES, "allow-ports: %u ranges", n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first >= 1 && r[i].first <= r[i].last, "allow-ports[%u] %u-%u", i,
			   r[i].first, r[i].last);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last,
			   "allow-ports[%u] unsorted or overlapping", i);
	}
	for (__u32 i = n; i < TG_MAX_RANGES; i++)
		FUZZ_CHECK(r[i].first == 0 && r[i].last == 0, "allow-ports[%u] unused but set", i);
}

/* Reservations and allow rules: non-empty port ranges, reservations never overlapping. */
static void check_grants(const struct tg_config *cfg)
{
	const struct tg_policy *p = &cfg->policy;

	FUZZ_CHECK(p->bind_policy == TG_BIND_OPEN || p->bind_policy == TG_BIND_RESERVED_ONLY,
		   "bind_policy %u", p->bind_policy);
	FUZZ_CHECK(p->n_reservation <= TG_MAX_RESERVATIONS, "%u reservations", p->n_reservation);
	FUZZ_CHECK(p->n_allow_rule <= TG_MAX_ALLOW_RULES, "%u allow rules", p->n_allow_rule);
	FUZZ_CHECK(cfg->n_group <= CFG_MAX_GROUPS, "%u groups", cfg->n_group);
	for (__u32 i = 0; i < p->n_reservation; i++) {
		const struct tg_port_grant *r = &p->reservation[i];

		FUZZ_CHECK(r->first >= 1 && r->first <= r->last, "reservation[%u] %u-%u", i,
			   r->first, r->last);
		FUZZ_CHECK(r->uid != 0, "reservation[%u] for root", i);
		FUZZ_CHECK((r->uid == CFG_UID_UNRESOLVED) ==
				   (cfg->reservation_user[i].name[0] != 0),
			   "reservation[%u]: uid %u with user name '%s'", i, r->uid,
			   cfg->reservation_user[i].name);
		FUZZ_CHECK(cfg->names.reservation[i][0], "reservation[%u] without a name", i);
		for (__u32 j = 0; j < i; j++)
			FUZZ_CHECK(r->last < p->reservation[j].first ||
					   r->first > p->reservation[j].last,
				   "reservation[%u] overlaps reservation[%u]", i, j);
	}
	for (__u32 i = 0; i < p->n_allow_rule; i++) {
		const struct tg_port_grant *r = &p->allow_rule[i];

		FUZZ_CHECK(r->first >= 1 && r->first <= r->last && r->uid != 0,
			   "allow_rule[%u] {%u, %u, %u}", i, r->uid, r->first, r->last);
	}
	for (__u32 i = p->n_reservation; i < TG_MAX_RESERVATIONS; i++)
		FUZZ_CHECK(!p->reservation[i].uid && !p->reservation[i].first &&
				   !p->reservation[i].last,
			   "reservation[%u] unused but set", i);
	for (__u32 i = p->n_allow_rule; i < TG_MAX_ALLOW_RULES; i++)
		FUZZ_CHECK(!p->allow_rule[i].uid && !p->allow_rule[i].first &&
				   !p->allow_rule[i].last,
			   "allow_rule[%u] unused but set", i);
}

static void out(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void out(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0 && (size_t)n < len - *used, "written-back config too long");
	*used += (size_t)n;
}

static void out_user(char *buf, size_t len, size_t *used, const struct cfg_user_ref *ref, __u32 uid)
{
	if (ref->name[0])
		out(buf, len, used, "%s", ref->name);
	else
		out(buf, len, used, "%u", uid);
}

/* The config written back, in the config's own words. */
static size_t write_back(const struct tg_config *cfg, char *buf, size_t len)
{
	const struct tg_policy *p = &cfg->policy;
	char tenant[1024], exempt[1024], ports[1024];
	size_t used = 0;

	cfg_format_uid_ranges(p->tenant, p->n_tenant, tenant, sizeof(tenant));
	cfg_format_uid_ranges(p->exempt, p->n_exempt, exempt, sizeof(exempt));
	cfg_format_port_ranges(p->allow_port, p->n_allow_port, ports, sizeof(ports));
	out(buf, len, &used,
	    "mode = %s\npolicy = %s\ndeny-errno = %s\ntenant-uids = %s\n"
	    "exempt-uids = %s\nallow-ports = %s\nbind-policy = %s\ntenant-group =",
	    cfg_mode_name(p->mode), cfg_policy_name(p->policy), cfg_errno_name(p->deny_errno),
	    tenant, exempt, ports, cfg_bind_policy_name(p->bind_policy));
	for (unsigned int g = 0; g < cfg->n_group; g++)
		out(buf, len, &used, "%s %s", g ? "," : "", cfg->group[g]);
	out(buf, len, &used, "\n");
	for (__u32 i = 0; i < p->n_allow_rule; i++) {
		out(buf, len, &used, "allow = ");
		out_user(buf, len, &used, &cfg->allow_user[i], p->allow_rule[i].uid);
		out(buf, len, &used, ":%u-%u\n", p->allow_rule[i].first, p->allow_rule[i].last);
	}
	/* A section's ranges are adjacent and share its name. */
	for (__u32 i = 0; i < p->n_reservation; i++) {
		if (!i || strcmp(cfg->names.reservation[i], cfg->names.reservation[i - 1]) != 0) {
			out(buf, len, &used, "[tenant %s]\nuser = ", cfg->names.reservation[i]);
			out_user(buf, len, &used, &cfg->reservation_user[i], p->reservation[i].uid);
			out(buf, len, &used, "\nports = ");
		} else {
			out(buf, len, &used, ", ");
		}
		out(buf, len, &used, "%u-%u", p->reservation[i].first, p->reservation[i].last);
		if (i + 1 == p->n_reservation ||
		    strcmp(cfg->names.reservation[i], cfg->names.reservation[i + 1]) != 0)
			out(buf, len, &used, "\n");
	}
	return used;
}

/* What cfg_resolve() and the kernel get is the same after a write-back (lines aside). */
static bool same_config(const struct tg_config *a, const struct tg_config *b)
{
	if (memcmp(&a->policy, &b->policy, sizeof(a->policy)) ||
	    memcmp(&a->names, &b->names, sizeof(a->names)) || a->n_group != b->n_group ||
	    memcmp(a->group, b->group, sizeof(a->group)))
		return false;
	for (__u32 i = 0; i < a->policy.n_reservation; i++)
		if (strcmp(a->reservation_user[i].name, b->reservation_user[i].name))
			return false;
	for (__u32 i = 0; i < a->policy.n_allow_rule; i++)
		if (strcmp(a->allow_user[i].name, b->allow_user[i].name))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_config cfg, again;
	struct cfg_error err;
	static char text[65536];
	size_t len;
	int ret;

	memset(&cfg, 0xa5, sizeof(cfg));
	ret = cfg_parse((const char *)data, size, &cfg, &err);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL, "cfg_parse returned %d", ret);
	FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)), "message not terminated");
	if (ret) {
		FUZZ_CHECK(err.line >= 1, "error on line %u", err.line);
		FUZZ_CHECK(err.message[0], "error on line %u without a message", err.line);
		return 0;
	}
	FUZZ_CHECK(err.line == 0 && !err.message[0], "success with an error message");

	const struct tg_policy *p = &cfg.policy;

	FUZZ_CHECK(p->mode == TG_MODE_ENFORCE || p->mode == TG_MODE_AUDIT, "mode %u", p->mode);
	FUZZ_CHECK(p->policy == TG_POLICY_ISOLATE || p->policy == TG_POLICY_STRICT, "policy %u",
		   p->policy);
	FUZZ_CHECK(cfg_errno_name(p->deny_errno), "deny_errno %u", p->deny_errno);
	check_uid_list(p->tenant, p->n_tenant, true, "tenant-uids");
	check_uid_list(p->exempt, p->n_exempt, false, "exempt-uids");
	check_port_list(p->allow_port, p->n_allow_port);
	check_grants(&cfg);

	len = write_back(&cfg, text, sizeof(text));
	memset(&again, 0x5a, sizeof(again));
	ret = cfg_parse(text, len, &again, &err);
	FUZZ_CHECK(ret == 0, "written-back config refused, line %u: %s\n%.*s", err.line,
		   err.message, (int)len, text);
	FUZZ_CHECK(same_config(&again, &cfg), "written-back config differs:\n%.*s", (int)len, text);
	return 0;
}
