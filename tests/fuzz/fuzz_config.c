// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_parse() on arbitrary bytes. Beyond "no crash, no sanitizer report": a parse that succeeds
 * must give a policy the kernel maps can be filled from (sorted, non-overlapping ranges within
 * their bounds, no root tenant, known enum values, every reservation pointing at its section and
 * found by policy_port()), and writing that policy back as a config must parse to the very same
 * policy. A parse that fails must say where and why. Every config is freed (cfg_free): the
 * sanitizers' leak check runs too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"

#include "fuzz.h"

static void check_uid_list(const struct tg_uid_range *r, __u32 n, bool tenant, const char *key)
{
	FUZZ_CHECK(n == 0 || r, "%s: %u ranges and no list", key, n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first <= r[i].last, "%s[%u] %u-%u reversed", key, i, r[i].first,
			   r[i].last);
		FUZZ_CHECK(r[i].last != UINT32_MAX, "%s[%u] holds (uid_t)-1", key, i);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last, "%s[%u] unsorted or overlapping",
			   key, i);
	}
	FUZZ_CHECK(!tenant || n == 0 || r[0].first != 0, "%s: root is a tenant", key);
}

static void check_port_list(const struct tg_port_range *r, __u32 n)
{
	FUZZ_CHECK(n == 0 || r, "allow-ports: %u ranges and no list", n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first >= 1 && r[i].first <= r[i].last, "allow-ports[%u] %u-%u", i,
			   r[i].first, r[i].last);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last,
			   "allow-ports[%u] unsorted or overlapping", i);
	}
}

/*
 * Sections, reservations and allow rules: reservations sorted by port and never overlapping,
 * each naming a section of the same uid, every section with at least one; non-empty ranges.
 */
static void check_grants(const struct tg_config *cfg)
{
	const struct tg_policy *p = &cfg->policy;

	FUZZ_CHECK(p->bind_policy == TG_BIND_OPEN || p->bind_policy == TG_BIND_RESERVED_ONLY,
		   "bind_policy %u", p->bind_policy);
	FUZZ_CHECK(cfg->n_group <= CFG_MAX_GROUPS, "%u groups", cfg->n_group);
	FUZZ_CHECK((p->n_section == 0) == (p->n_reservation == 0), "%u sections, %u reservations",
		   p->n_section, p->n_reservation);
	for (__u32 i = 0; i < p->n_section; i++) {
		const struct tg_tenant_name *sec = &p->section[i];
		bool has_ports = false;

		FUZZ_CHECK(sec->name[0] && memchr(sec->name, '\0', sizeof(sec->name)),
			   "section[%u] without a name", i);
		FUZZ_CHECK(sec->uid != 0, "section[%u] for root", i);
		FUZZ_CHECK((sec->uid == CFG_UID_UNRESOLVED) == (cfg->section_user[i].name[0] != 0),
			   "section[%u]: uid %u with user name '%s'", i, sec->uid,
			   cfg->section_user[i].name);
		for (__u32 j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(sec->name, p->section[j].name) != 0,
				   "section[%u] and [%u] are both '%s'", j, i, sec->name);
		for (__u32 r = 0; r < p->n_reservation && !has_ports; r++)
			has_ports = p->reservation_section[r] == i;
		FUZZ_CHECK(has_ports, "section[%u] '%s' reserves nothing", i, sec->name);
	}
	for (__u32 i = 0; i < p->n_reservation; i++) {
		const struct tg_port_grant *r = &p->reservation[i];
		__u32 sec = p->reservation_section[i];
		struct tg_port_policy first, last;

		FUZZ_CHECK(r->first >= 1 && r->first <= r->last, "reservation[%u] %u-%u", i,
			   r->first, r->last);
		FUZZ_CHECK(sec < p->n_section, "reservation[%u] of section %u of %u", i, sec,
			   p->n_section);
		FUZZ_CHECK(r->uid == p->section[sec].uid,
			   "reservation[%u] uid %u, its section's %u", i, r->uid,
			   p->section[sec].uid);
		FUZZ_CHECK(i == 0 || r->first > p->reservation[i - 1].last,
			   "reservation[%u] unsorted or overlapping", i);
		first = policy_port(p, r->first);
		last = policy_port(p, r->last);
		FUZZ_CHECK(first.reserved_for == r->uid && first.tenant == sec + 1 &&
				   last.reserved_for == r->uid && last.tenant == sec + 1,
			   "policy_port misses reservation[%u] %u-%u", i, r->first, r->last);
	}
	for (__u32 i = 0; i < p->n_allow_rule; i++) {
		const struct tg_port_grant *r = &p->allow_rule[i];

		FUZZ_CHECK(r->first >= 1 && r->first <= r->last && r->uid != 0,
			   "allow_rule[%u] {%u, %u, %u}", i, r->uid, r->first, r->last);
	}
}

/* The written-back config: a growing buffer. */
struct text {
	char *buf;
	size_t len, cap;
};

static void out(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0, "vsnprintf failed");
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *bigger = realloc(t->buf, cap);

		FUZZ_CHECK(bigger, "out of memory writing back %zu bytes", cap);
		t->buf = bigger;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void out_user(struct text *t, const struct cfg_user_ref *ref, __u32 uid)
{
	if (ref->name[0])
		out(t, "%s", ref->name);
	else
		out(t, "%u", uid);
}

/* Ranges as cfg_format_*_ranges() print them, into a buffer big enough for any list. */
static char *uid_ranges(const struct tg_uid_range *r, __u32 n)
{
	size_t len = (size_t)n * 24 + 1;
	char *buf = malloc(len);

	FUZZ_CHECK(buf, "out of memory");
	cfg_format_uid_ranges(r, n, buf, len);
	return buf;
}

static char *port_ranges(const struct tg_port_range *r, __u32 n)
{
	size_t len = (size_t)n * 14 + 1;
	char *buf = malloc(len);

	FUZZ_CHECK(buf, "out of memory");
	cfg_format_port_ranges(r, n, buf, len);
	return buf;
}

/* The config written back, in the config's own words. */
static void write_back(const struct tg_config *cfg, struct text *t)
{
	const struct tg_policy *p = &cfg->policy;
	char *tenant = uid_ranges(p->tenant, p->n_tenant);
	char *exempt = uid_ranges(p->exempt, p->n_exempt);
	char *ports = port_ranges(p->allow_port, p->n_allow_port);

	out(t,
	    "mode = %s\npolicy = %s\ndeny-errno = %s\ntenant-uids = %s\n"
	    "exempt-uids = %s\nallow-ports = %s\nbind-policy = %s\ntenant-group =",
	    cfg_mode_name(p->mode), cfg_policy_name(p->policy), cfg_errno_name(p->deny_errno),
	    tenant, exempt, ports, cfg_bind_policy_name(p->bind_policy));
	free(tenant);
	free(exempt);
	free(ports);
	for (unsigned int g = 0; g < cfg->n_group; g++)
		out(t, "%s %s", g ? "," : "", cfg->group[g]);
	out(t, "\nmax-tunnels = %u\n", p->max_tunnels);
	for (__u32 i = 0; i < p->n_allow_rule; i++) {
		out(t, "allow = ");
		out_user(t, &cfg->allow_user[i], p->allow_rule[i].uid);
		out(t, ":%u-%u\n", p->allow_rule[i].first, p->allow_rule[i].last);
	}
	/* Sections in config order, each with its reservations in port order. */
	for (__u32 s = 0; s < p->n_section; s++) {
		bool first = true;

		out(t, "[tenant %s]\nuser = ", p->section[s].name);
		out_user(t, &cfg->section_user[s], p->section[s].uid);
		out(t, "\nports = ");
		for (__u32 i = 0; i < p->n_reservation; i++) {
			if (p->reservation_section[i] != s)
				continue;
			out(t, "%s%u-%u", first ? "" : ", ", p->reservation[i].first,
			    p->reservation[i].last);
			first = false;
		}
		out(t, "\n");
		if (p->section[s].max_tunnels != TG_MAX_TUNNELS_UNSET)
			out(t, "max-tunnels = %u\n", p->section[s].max_tunnels);
	}
}

#define SAME_LIST(a, b, n, list) \
	((a)->n == (b)->n &&     \
	 (!(a)->n || !memcmp((a)->list, (b)->list, (a)->n * sizeof(*(a)->list))))

/* What cfg_resolve() and the kernel get is the same after a write-back (lines aside). */
static bool same_config(const struct tg_config *a, const struct tg_config *b)
{
	const struct tg_policy *x = &a->policy, *y = &b->policy;

	if (x->mode != y->mode || x->policy != y->policy || x->deny_errno != y->deny_errno ||
	    x->bind_policy != y->bind_policy || x->max_tunnels != y->max_tunnels)
		return false;
	if (!SAME_LIST(x, y, n_tenant, tenant) || !SAME_LIST(x, y, n_exempt, exempt) ||
	    !SAME_LIST(x, y, n_allow_port, allow_port) || !SAME_LIST(x, y, n_section, section) ||
	    !SAME_LIST(x, y, n_reservation, reservation) ||
	    !SAME_LIST(x, y, n_reservation, reservation_section) ||
	    !SAME_LIST(x, y, n_allow_rule, allow_rule))
		return false;
	if (a->n_group != b->n_group || memcmp(a->group, b->group, sizeof(a->group)))
		return false;
	for (__u32 i = 0; i < x->n_section; i++)
		if (strcmp(a->section_user[i].name, b->section_user[i].name))
			return false;
	for (__u32 i = 0; i < x->n_allow_rule; i++)
		if (strcmp(a->allow_user[i].name, b->allow_user[i].name))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_config cfg, again;
	struct text text = { 0 };
	struct cfg_error err;
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

	write_back(&cfg, &text);
	memset(&again, 0x5a, sizeof(again));
	ret = cfg_parse(text.buf, text.len, &again, &err);
	FUZZ_CHECK(ret == 0, "written-back config refused, line %u: %s\n%.*s", err.line,
		   err.message, (int)text.len, text.buf);
	FUZZ_CHECK(same_config(&again, &cfg), "written-back config differs:\n%.*s", (int)text.len,
		   text.buf);
	free(text.buf);
	cfg_free(&cfg);
	cfg_free(&again);
	return 0;
}
