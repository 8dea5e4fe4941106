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
#include <string.h>

#include "config_internal.h"
#include "escape.h"

#define CFG_MAX_LINE 4096 /* bytes in one line, not counting its '\n' */

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

void cfg_defaults(struct tg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy.mode = TG_MODE_ENFORCE;
	cfg->policy.policy = TG_POLICY_ISOLATE;
	cfg->policy.deny_errno = ECONNREFUSED;
	cfg->policy.n_tenant = 1;
	cfg->policy.tenant[0].first = 1000;
	cfg->policy.tenant[0].last = 59999;
	cfg->layers = TG_LAYER_BPF | TG_LAYER_NFT;
	cfg->port_owner_max = TG_PORT_OWNER_MAX;
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
	for (unsigned int i = sec->first; i < p->n_reservation; i++) {
		p->reservation[i].uid = sec->uid;
		ps->cfg.reservation_user[i] = sec->user;
	}
	cfg_finish_section_limits(ps);
	return 0;
}

/* `[tenant NAME]`: ends the section before it and starts a new one. */
static int parse_section(struct cfg_parser *ps, struct span line)
{
	struct span inner, name;
	unsigned int prev_line = 0;
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
	for (unsigned int i = 0; i < ps->cfg.policy.n_reservation; i++)
		if (span_eq(name, ps->cfg.names.reservation[i]))
			prev_line = ps->reservation_line[i];
	if (prev_line)
		return cfg_parse_error(ps, "duplicate [tenant %.*s] (its ports are on line %u)",
				       (int)name.len, name.p, prev_line);
	if (!ps->cfg.first_section_line)
		ps->cfg.first_section_line = ps->line;
	memset(&ps->section, 0, sizeof(ps->section));
	ps->section.line = ps->line;
	cfg_span_copy(ps->section.name, sizeof(ps->section.name), name);
	/* user defaults to NAME */
	ret = cfg_parse_user(ps, "user", name, &ps->section.user, &ps->section.uid);
	if (ret)
		return ret;
	ps->section.first = ps->cfg.policy.n_reservation;
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
		return cfg_parse_uid_list(ps, key, value, p->tenant, &p->n_tenant);
	case CFG_KEY_EXEMPT_UIDS:
		return cfg_parse_uid_list(ps, key, value, p->exempt, &p->n_exempt);
	case CFG_KEY_ALLOW_PORTS:
		return cfg_parse_port_list(ps, value, p->allow_port, &p->n_allow_port);
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

int cfg_parse(const char *text, size_t len, struct tg_config *cfg, struct cfg_error *err)
{
	struct cfg_error dummy;
	struct cfg_parser ps;
	size_t pos = 0;
	int ret;

	memset(&ps, 0, sizeof(ps));
	ps.err = err ? err : &dummy;
	ps.err->line = 0;
	ps.err->message[0] = '\0';
	if (!cfg || (!text && len))
		return cfg_parse_error(&ps, "internal error: cfg_parse called without %s",
				       cfg ? "text" : "a config to fill");

	cfg_defaults(&ps.cfg);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		ps.line++;
		ret = parse_line(&ps, (struct span){ text + pos, end - pos });
		if (ret)
			return ret;
		pos = end + 1;
	}
	ret = finish_section(&ps);
	if (ret)
		return ret;
	*cfg = ps.cfg;
	return 0;
}
