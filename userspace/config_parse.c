// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_parse.c - the grammar of tunnelguard.conf: lines, keys and [tenant] sections, read into
 * the struct tg_policy the kernel program gets (cfg_parse). Pure: no files, no user database; the
 * values of the keys are config_values.c's, names are resolved by config_resolve.c and the file
 * read by config_load.c.
 *
 * The parser is strict on purpose: a config that means something other than what its author
 * thinks is worse than one that fails to load, so every doubtful byte is an error that names
 * the line and what is wrong with it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "escape.h"
#include "util.h"

/* Bytes in one line, not counting its '\n': a tenant-uids list of 100,000 uids fits. */
#define CFG_MAX_LINE (8 * 1024 * 1024)

const char *const cfg_key_names[CFG_KEY_COUNT] = {
	[CFG_KEY_MODE] = "mode",
	[CFG_KEY_POLICY] = "policy",
	[CFG_KEY_DENY_ERRNO] = "deny-errno",
	[CFG_KEY_TENANT_UIDS] = "tenant-uids",
	[CFG_KEY_EXEMPT_UIDS] = "exempt-uids",
	[CFG_KEY_ALLOW_PORTS] = "allow-ports",
	[CFG_KEY_LAYERS] = "layers",
	[CFG_KEY_BIND_POLICY] = "bind-policy",
	[CFG_KEY_TENANT_GROUP] = "tenant-group",
	[CFG_KEY_ALLOW] = "allow",
	[CFG_KEY_PORT_OWNER_MAX] = "port-owner-max",
	[CFG_KEY_MAX_TUNNELS] = "max-tunnels",
	[CFG_KEY_USER] = "user",
	[CFG_KEY_PORTS] = "ports",
	[CFG_KEY_TENANT_MAX_TUNNELS] = "max-tunnels",
};

int cfg_error_set(struct cfg_error *err, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	char raw[sizeof(err->message)];

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_text(err->message, sizeof(err->message), raw);
	return -EINVAL;
}

static const struct tg_uid_range default_tenants = { 1000, 59999 };

void cfg_defaults(struct tg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy.mode = TG_MODE_ENFORCE;
	cfg->policy.policy = TG_POLICY_ISOLATE;
	cfg->policy.deny_errno = ECONNREFUSED;
	cfg->policy.tenant = malloc(sizeof(*cfg->policy.tenant));
	if (cfg->policy.tenant) {
		cfg->policy.tenant[0] = default_tenants;
		cfg->policy.n_tenant = 1;
	}
	cfg->layers = TG_LAYER_BPF | TG_LAYER_NFT;
	cfg->port_owner_max = TG_PORT_OWNER_MAX;
}

void cfg_free(struct tg_config *cfg)
{
	policy_free(&cfg->policy);
	free(cfg->section_user);
	free(cfg->allow_user);
	free(cfg->section_line);
	free(cfg->section_limit_line);
	cfg->section_user = cfg->allow_user = NULL;
	cfg->section_line = cfg->section_limit_line = NULL;
}

/* The section being read is complete: give its reservations their user. */
static int finish_section(struct cfg_parser *ps)
{
	struct cfg_section *sec = &ps->section;
	struct tg_policy *p = &ps->cfg.policy;

	if (!sec->line)
		return 0;
	if (!ps->key_line[CFG_KEY_PORTS]) {
		ps->line = sec->line;
		return cfg_parse_error(
			ps, "[tenant %s] has no 'ports =' line (which ports are reserved for it?)",
			sec->name);
	}
	for (__u32 i = p->n_reservation; i > 0 && p->reservation_section[i - 1] == p->n_section - 1;
	     i--)
		p->reservation[i - 1].uid = sec->uid;
	p->section[p->n_section - 1].uid = sec->uid;
	ps->cfg.section_user[p->n_section - 1] = sec->user;
	memset(sec, 0, sizeof(*sec));
	return 0;
}

/* `[tenant NAME]`: ends the section before it and starts a new one. */
static int parse_section(struct cfg_parser *ps, struct span line)
{
	struct tg_policy *p = &ps->cfg.policy;
	struct span inner, name;
	int ret;

	if (line.p[line.len - 1] != ']')
		return cfg_parse_error(ps,
				       "invalid section header '%.*s%s' (expected [tenant NAME])",
				       SPAN_ARG(line));
	inner = span_trim((struct span){ line.p + 1, line.len - 2 });
	if (inner.len < 7 || memcmp(inner.p, "tenant", 6) != 0 || !is_blank(inner.p[6]))
		return cfg_parse_error(ps,
				       "invalid section header '%.*s%s' (expected [tenant NAME])",
				       SPAN_ARG(line));
	name = span_trim((struct span){ inner.p + 7, inner.len - 7 });
	if (!cfg_is_name(name))
		return cfg_parse_error(
			ps,
			"invalid tenant name '%.*s%s' (expected at most %d of A-Z a-z 0-9 . _ -, not only digits)",
			SPAN_ARG(name), TG_NAME_LEN - 1);
	ret = finish_section(ps);
	if (ret)
		return ret;
	if (util_grow((void **)&p->section, &ps->cap_section, p->n_section + 1,
		      sizeof(*p->section)) ||
	    util_grow((void **)&ps->cfg.section_user, &ps->cap_section_user, p->n_section + 1,
		      sizeof(*ps->cfg.section_user)) ||
	    util_grow((void **)&ps->cfg.section_line, &ps->cap_section_line, p->n_section + 1,
		      sizeof(*ps->cfg.section_line)) ||
	    util_grow((void **)&ps->cfg.section_limit_line, &ps->cap_section_limit_line,
		      p->n_section + 1, sizeof(*ps->cfg.section_limit_line)))
		return cfg_parse_error(ps, "out of memory at [tenant %.*s]", (int)name.len, name.p);
	if (!ps->cfg.first_section_line)
		ps->cfg.first_section_line = ps->line;
	ps->section.line = ps->line;
	cfg_span_copy(ps->section.name, sizeof(ps->section.name), name);
	/* user defaults to NAME */
	ret = cfg_parse_user(ps, "user", name, &ps->section.user, &ps->section.uid);
	if (ret)
		return ret;
	memset(&p->section[p->n_section], 0, sizeof(p->section[0]));
	memcpy(p->section[p->n_section].name, ps->section.name, sizeof(ps->section.name));
	p->section[p->n_section].max_tunnels = TG_MAX_TUNNELS_UNSET;
	ps->cfg.section_line[p->n_section] = ps->line;
	ps->cfg.section_limit_line[p->n_section] = 0;
	p->n_section++;
	ps->key_line[CFG_KEY_USER] = 0;
	ps->key_line[CFG_KEY_PORTS] = 0;
	ps->key_line[CFG_KEY_TENANT_MAX_TUNNELS] = 0;
	return 0;
}

static int parse_value(struct cfg_parser *ps, enum cfg_key key, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;

	switch (key) {
	case CFG_KEY_MODE:
		return cfg_parse_choice(ps, key, value, cfg_mode_choices, &p->mode);
	case CFG_KEY_POLICY:
		return cfg_parse_choice(ps, key, value, cfg_policy_choices, &p->policy);
	case CFG_KEY_DENY_ERRNO:
		return cfg_parse_choice(ps, key, value, cfg_errno_choices, &p->deny_errno);
	case CFG_KEY_TENANT_UIDS:
		ps->cfg.tenant_uids_line = ps->line;
		return cfg_parse_uid_list(ps, key, value, &p->tenant, &p->n_tenant);
	case CFG_KEY_EXEMPT_UIDS:
		return cfg_parse_uid_list(ps, key, value, &p->exempt, &p->n_exempt);
	case CFG_KEY_ALLOW_PORTS:
		return cfg_parse_port_list(ps, value, &p->allow_port, &p->n_allow_port);
	case CFG_KEY_LAYERS:
		return cfg_parse_layers(ps, value, &ps->cfg.layers);
	case CFG_KEY_BIND_POLICY:
		return cfg_parse_choice(ps, key, value, cfg_bind_policy_choices, &p->bind_policy);
	case CFG_KEY_TENANT_GROUP:
		return cfg_parse_groups(ps, value);
	case CFG_KEY_ALLOW:
		return cfg_parse_allow(ps, value);
	case CFG_KEY_PORT_OWNER_MAX:
		return cfg_parse_port_owner_max(ps, value, &ps->cfg.port_owner_max);
	case CFG_KEY_USER:
		return cfg_parse_user(ps, "user", value, &ps->section.user, &ps->section.uid);
	case CFG_KEY_PORTS:
		return cfg_parse_reserved_ports(ps, value);
	case CFG_KEY_MAX_TUNNELS:
		return cfg_parse_max_tunnels(ps, value);
	case CFG_KEY_TENANT_MAX_TUNNELS:
		return cfg_parse_section_max_tunnels(ps, value);
	default:
		return cfg_parse_error(ps, "internal error: key %d has no parser", (int)key);
	}
}

static int parse_line(struct cfg_parser *ps, struct span raw)
{
	struct span line = raw, key, value;
	const char *hash, *eq;
	int k;

	if (raw.len > CFG_MAX_LINE)
		return cfg_parse_error(ps, "line is %zu bytes long, more than %d", raw.len,
				       CFG_MAX_LINE);
	if (memchr(raw.p, '\0', raw.len))
		return cfg_parse_error(ps, "NUL byte in the text (is this a binary file?)");
	if (line.len && line.p[line.len - 1] == '\r')
		line.len--;
	hash = memchr(line.p, '#', line.len);
	if (hash)
		line.len = (size_t)(hash - line.p);
	line = span_trim(line);
	if (!line.len)
		return 0;
	if (line.p[0] == '[')
		return parse_section(ps, line);

	eq = memchr(line.p, '=', line.len);
	if (!eq)
		return cfg_parse_error(ps, "no '=' in '%.*s%s' (expected 'key = value')",
				       SPAN_ARG(line));
	key = span_trim((struct span){ line.p, (size_t)(eq - line.p) });
	value = span_trim((struct span){ eq + 1, line.len - (size_t)(eq - line.p) - 1 });
	if (!key.len)
		return cfg_parse_error(ps, "empty key before '=' (expected 'key = value')");

	for (k = 0; k < CFG_KEY_COUNT; k++) {
		if (span_eq(key, cfg_key_names[k]))
			break;
	}
	if (ps->in_dropin && !ps->section.line)
		return cfg_parse_error(
			ps,
			"'%.*s%s' outside a [tenant NAME] section: a file of tenants.d holds only [tenant] sections (global keys go in the main config)",
			SPAN_ARG(key));
	if (ps->section.line && k == CFG_KEY_MAX_TUNNELS)
		k = CFG_KEY_TENANT_MAX_TUNNELS; /* the section's own limit */
	if (!ps->section.line && (k == CFG_KEY_COUNT || k >= CFG_KEY_GLOBAL_COUNT))
		return cfg_parse_error(
			ps,
			"unknown key '%.*s%s' (valid keys: mode, policy, deny-errno, tenant-uids, exempt-uids, allow-ports, layers, bind-policy, tenant-group, allow, port-owner-max, max-tunnels; user and ports belong in a [tenant NAME] section)",
			SPAN_ARG(key));
	if (ps->section.line && k < CFG_KEY_GLOBAL_COUNT)
		return cfg_parse_error(
			ps,
			"key '%s' is global: move it above the first [tenant] section (line %u)",
			cfg_key_names[k], ps->cfg.first_section_line);
	if (ps->section.line && k == CFG_KEY_COUNT)
		return cfg_parse_error(
			ps,
			"unknown key '%.*s%s' in [tenant %s] (valid keys: user, ports, max-tunnels)",
			SPAN_ARG(key), ps->section.name);
	if (ps->key_line[k] && k != CFG_KEY_ALLOW)
		return cfg_parse_error(ps, "duplicate key '%s'%s%s%s (first set on line %u)",
				       cfg_key_names[k], ps->section.line ? " in [tenant " : "",
				       ps->section.line ? ps->section.name : "",
				       ps->section.line ? "]" : "", ps->key_line[k]);
	ps->key_line[k] = ps->line;
	return parse_value(ps, (enum cfg_key)k, value);
}

/* Sort order of tg_policy.reservation[] (by first port), with what travels with each entry. */
struct reservation_entry {
	struct tg_port_grant grant;
	__u32 section;
	unsigned int line;
};

static int compare_reservation(const void *a, const void *b)
{
	const struct reservation_entry *x = a, *y = b;

	if (x->grant.first != y->grant.first)
		return x->grant.first < y->grant.first ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Reservations sorted by port, as the lookups want them; two that overlap are an error at the
 * later of their lines, naming the other's section and line.
 */
static int check_reservations(struct cfg_parser *ps)
{
	struct tg_policy *p = &ps->cfg.policy;
	struct reservation_entry *e;
	int ret = 0;

	if (p->n_reservation < 2)
		return 0;
	e = calloc(p->n_reservation, sizeof(*e));
	if (!e)
		return cfg_parse_error(ps, "out of memory sorting the reserved ports");
	for (__u32 i = 0; i < p->n_reservation; i++)
		e[i] = (struct reservation_entry){ p->reservation[i], p->reservation_section[i],
						   ps->reservation_line[i] };
	qsort(e, p->n_reservation, sizeof(*e), compare_reservation);
	for (__u32 i = 1; i < p->n_reservation && !ret; i++) {
		const struct reservation_entry *a = &e[i - 1], *b = &e[i];
		char range[24];

		if (b->grant.first > a->grant.last)
			continue;
		if (b->line < a->line) {
			const struct reservation_entry *t = a;

			a = b;
			b = t;
		}
		if (b->grant.first == b->grant.last)
			snprintf(range, sizeof(range), "%u", b->grant.first);
		else
			snprintf(range, sizeof(range), "%u-%u", b->grant.first, b->grant.last);
		char where[300];

		ps->line = b->line;
		ret = cfg_parse_error(ps, "ports %s overlap [tenant %s] at %s", range,
				      p->section[a->section].name,
				      cfg_line_ref(ps, a->line, where, sizeof(where)));
	}
	/* reservation_line travels too: check_section_names() reads it by the sorted index. */
	for (__u32 i = 0; i < p->n_reservation && !ret; i++) {
		p->reservation[i] = e[i].grant;
		p->reservation_section[i] = e[i].section;
		ps->reservation_line[i] = e[i].line;
	}
	free(e);
	return ret;
}

static int compare_section_name(const void *a, const void *b, void *arg)
{
	const struct tg_tenant_name *sections = arg;
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	int c = strcmp(sections[x].name, sections[y].name);

	return c ? c : (x < y ? -1 : x > y);
}

/* Two sections of one name: an error at the second, naming the first's ports line. */
static int check_section_names(struct cfg_parser *ps)
{
	const struct tg_policy *p = &ps->cfg.policy;
	__u32 *order;
	int ret = 0;

	if (p->n_section < 2)
		return 0;
	order = calloc(p->n_section, sizeof(*order));
	if (!order)
		return cfg_parse_error(ps, "out of memory sorting the [tenant] sections");
	for (__u32 i = 0; i < p->n_section; i++)
		order[i] = i;
	qsort_r(order, p->n_section, sizeof(*order), compare_section_name, p->section);
	for (__u32 i = 1; i < p->n_section && !ret; i++) {
		__u32 first = order[i - 1], second = order[i];
		unsigned int ports_line = ps->cfg.section_line[first];

		if (strcmp(p->section[first].name, p->section[second].name))
			continue;
		for (__u32 r = 0; r < p->n_reservation; r++)
			if (p->reservation_section[r] == first)
				ports_line = ps->reservation_line[r];
		char where[300];

		ps->line = ps->cfg.section_line[second];
		ret = cfg_parse_error(ps, "duplicate [tenant %s] (its ports are on %s)",
				      p->section[second].name,
				      cfg_line_ref(ps, ports_line, where, sizeof(where)));
	}
	free(order);
	return ret;
}

static int parse_text(struct cfg_parser *ps, const char *text, size_t len)
{
	size_t pos = 0;
	int ret;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		ps->line++;
		ret = parse_line(ps, (struct span){ text + pos, end - pos });
		if (ret)
			return ret;
		pos = end + 1;
	}
	/* A text that does not end in a newline still ends its last line. */
	return finish_section(ps);
}

/* Index of the text that holds line (numbered across the texts). */
static size_t text_of(const struct cfg_parser *ps, unsigned int line)
{
	size_t i = 0;

	while (i + 1 < ps->n_texts && line > ps->text_start[i + 1])
		i++;
	return i;
}

const char *cfg_line_ref(const struct cfg_parser *ps, unsigned int line, char *buf, size_t len)
{
	size_t here = ps->n_texts ? text_of(ps, ps->line) : 0;
	size_t there = ps->n_texts ? text_of(ps, line) : 0;
	unsigned int local = ps->n_texts ? line - ps->text_start[there] : line;

	if (here == there)
		snprintf(buf, len, "line %u", local);
	else if (ps->texts[there].name)
		snprintf(buf, len, "%s:%u", ps->texts[there].name, local);
	else
		snprintf(buf, len, "text %zu line %u", there + 1, local);
	return buf;
}

int cfg_parse_texts(const struct cfg_text *texts, size_t n, struct tg_config *cfg,
		    struct cfg_error *err)
{
	unsigned int *start = calloc(n ? n : 1, sizeof(*start));
	struct cfg_error dummy;
	struct cfg_parser ps;
	int ret = 0;

	memset(&ps, 0, sizeof(ps));
	ps.err = err ? err : &dummy;
	ps.err->line = 0;
	ps.err->message[0] = '\0';
	if (!cfg)
		return cfg_parse_error(&ps, "internal error: cfg_parse called without a config");
	memset(cfg, 0, sizeof(*cfg));
	cfg_defaults(&ps.cfg);
	ps.texts = texts;
	ps.text_start = start;
	ps.n_texts = n;
	if (!ps.cfg.policy.tenant || !start) {
		free(start);
		cfg_free(&ps.cfg);
		return cfg_parse_error(&ps, "out of memory");
	}
	for (size_t i = 0; i < n && !ret; i++) {
		if (!texts[i].text && texts[i].len) {
			ret = cfg_parse_error(&ps, "internal error: cfg_parse called without text");
			break;
		}
		/* ps.line goes on counting from the text before: cfg_load maps it back. */
		ps.in_dropin = i > 0;
		if (start)
			start[i] = ps.line;
		ret = parse_text(&ps, texts[i].text, texts[i].len);
	}
	ret = ret ?: check_reservations(&ps);
	ret = ret ?: check_section_names(&ps);
	free(ps.reservation_line);
	free(start);
	if (ret) {
		cfg_free(&ps.cfg);
		return ret;
	}
	*cfg = ps.cfg;
	return 0;
}

int cfg_parse(const char *text, size_t len, struct tg_config *cfg, struct cfg_error *err)
{
	const struct cfg_text one = { text, len };

	return cfg_parse_texts(&one, 1, cfg, err);
}
