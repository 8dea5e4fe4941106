// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_values.c - the value of each key of tunnelguard.conf, one parser each (the words of the
 * enum keys, uid and port lists, layers, port-owner-max, users, reserved ports, allow rules,
 * groups), for the grammar in config_parse.c. Pure, like it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "util.h"

const struct cfg_choice cfg_mode_choices[] = {
	{ "enforce", TG_MODE_ENFORCE },
	{ "audit", TG_MODE_AUDIT },
};

const struct cfg_choice cfg_policy_choices[] = {
	{ "isolate", TG_POLICY_ISOLATE },
	{ "strict", TG_POLICY_STRICT },
};

const struct cfg_choice cfg_errno_choices[] = {
	{ "econnrefused", ECONNREFUSED },
	{ "eperm", EPERM },
};

const struct cfg_choice cfg_bind_policy_choices[] = {
	{ "open", TG_BIND_OPEN },
	{ "reserved-only", TG_BIND_RESERVED_ONLY },
};

/* Every enum key has exactly two choices, which keeps the "expected A or B" message simple. */
int cfg_parse_choice(struct cfg_parser *ps, enum cfg_key key, struct span value,
		     const struct cfg_choice choices[2], __u32 *out)
{
	for (int i = 0; i < 2; i++) {
		if (span_eq(value, choices[i].name)) {
			*out = choices[i].value;
			return 0;
		}
	}
	return cfg_parse_error(ps, "invalid %s '%.*s%s' (expected %s or %s)", cfg_key_names[key],
			       SPAN_ARG(value), choices[0].name, choices[1].name);
}

/*
 * Read a run of decimal digits at *pos (no sign, no base prefix). *out saturates above
 * UINT32_MAX so that any over-long number is reported as out of range, not wrapped.
 * Returns the number of digits read.
 */
static size_t parse_digits(struct span s, size_t *pos, __u64 *out)
{
	size_t start = *pos;
	__u64 v = 0;

	while (*pos < s.len && s.p[*pos] >= '0' && s.p[*pos] <= '9') {
		v = v * 10 + (__u64)(s.p[*pos] - '0');
		if (v > UINT32_MAX)
			v = (__u64)UINT32_MAX + 1;
		(*pos)++;
	}
	*out = v;
	return *pos - start;
}

static void skip_blanks(struct span s, size_t *pos)
{
	while (*pos < s.len && is_blank(s.p[*pos]))
		(*pos)++;
}

/* How one list key names and bounds its numbers. */
struct cfg_list_kind {
	const char *unit; /* "uid" or "port" */
	__u32 min;
	__u32 max;
};

static const struct cfg_list_kind uid_kind = { "uid", 0, CFG_UID_MAX };
static const struct cfg_list_kind port_kind = { "port", 1, CFG_PORT_MAX };

static int check_bound(struct cfg_parser *ps, enum cfg_key key, const struct cfg_list_kind *kind,
		       struct span digits, __u64 v)
{
	if (v >= kind->min && v <= kind->max)
		return 0;
	return cfg_parse_error(ps, "%s: %s %.*s%s is out of range (%u-%u)", cfg_key_names[key],
			       kind->unit, SPAN_ARG(digits), kind->min, kind->max);
}

/* One entry of a list: "N" or "A-B", blanks allowed around the dash only. */
static int parse_entry(struct cfg_parser *ps, enum cfg_key key, const struct cfg_list_kind *kind,
		       struct span entry, struct cfg_range *out)
{
	struct span first_digits, last_digits;
	size_t pos = 0;
	__u64 first, last;
	int ret;

	first_digits.p = entry.p;
	first_digits.len = parse_digits(entry, &pos, &first);
	if (!first_digits.len)
		goto invalid;
	last = first;
	last_digits = first_digits;
	skip_blanks(entry, &pos);
	if (pos < entry.len && entry.p[pos] == '-') {
		pos++;
		skip_blanks(entry, &pos);
		last_digits.p = entry.p + pos;
		last_digits.len = parse_digits(entry, &pos, &last);
		if (!last_digits.len)
			goto invalid;
	}
	if (pos != entry.len)
		goto invalid;

	ret = check_bound(ps, key, kind, first_digits, first);
	if (ret)
		return ret;
	ret = check_bound(ps, key, kind, last_digits, last);
	if (ret)
		return ret;
	if (first > last)
		return cfg_parse_error(
			ps, "%s: range %llu-%llu is reversed (did you mean %llu-%llu?)",
			cfg_key_names[key], (unsigned long long)first, (unsigned long long)last,
			(unsigned long long)last, (unsigned long long)first);
	if (key == CFG_KEY_TENANT_UIDS && first == 0)
		return cfg_parse_error(ps, "%s: uid 0 is root and cannot be a tenant",
				       cfg_key_names[key]);
	out->first = (__u32)first;
	out->last = (__u32)last;
	return 0;

invalid:
	return cfg_parse_error(
		ps, "%s: invalid entry '%.*s%s' (expected a %s or a range A-B, in decimal)",
		cfg_key_names[key], SPAN_ARG(entry), kind->unit);
}

static void format_range(char *buf, size_t len, const struct cfg_range *r)
{
	if (r->first == r->last)
		snprintf(buf, len, "%u", r->first);
	else
		snprintf(buf, len, "%u-%u", r->first, r->last);
}

static int compare_range(const void *a, const void *b)
{
	const struct cfg_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/*
 * A comma-separated list of entries; an empty value is an empty list. The result (*out, malloc'd,
 * NULL when empty) is sorted and checked for overlaps, since the lookups assume neither.
 */
static int parse_list(struct cfg_parser *ps, enum cfg_key key, const struct cfg_list_kind *kind,
		      struct span value, struct cfg_range **out, size_t *n_out)
{
	struct cfg_range *r = NULL;
	size_t n = 0, cap = 0, pos = 0;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	if (!value.len)
		return 0;
	for (;;) {
		const char *comma = memchr(value.p + pos, ',', value.len - pos);
		size_t end = comma ? (size_t)(comma - value.p) : value.len;
		struct span entry = span_trim((struct span){ value.p + pos, end - pos });

		if (!entry.len) {
			ret = cfg_parse_error(ps, "%s: empty entry (stray comma?)",
					      cfg_key_names[key]);
			goto fail;
		}
		if (util_grow((void **)&r, &cap, n + 1, sizeof(*r))) {
			ret = cfg_parse_error(ps, "%s: out of memory", cfg_key_names[key]);
			goto fail;
		}
		ret = parse_entry(ps, key, kind, entry, &r[n]);
		if (ret)
			goto fail;
		n++;
		if (!comma)
			break;
		pos = end + 1;
	}

	qsort(r, n, sizeof(*r), compare_range);
	for (size_t i = 1; i < n; i++) {
		char a[24], b[24];

		if (r[i].first > r[i - 1].last)
			continue;
		format_range(a, sizeof(a), &r[i - 1]);
		format_range(b, sizeof(b), &r[i]);
		ret = cfg_parse_error(ps, "%s: %s overlaps %s", cfg_key_names[key], a, b);
		goto fail;
	}
	*out = r;
	*n_out = n;
	return 0;
fail:
	free(r);
	return ret;
}

int cfg_parse_uid_list(struct cfg_parser *ps, enum cfg_key key, struct span value,
		       struct tg_uid_range **out, __u32 *n_out)
{
	struct tg_uid_range *uids = NULL;
	struct cfg_range *r;
	size_t n;
	int ret = parse_list(ps, key, &uid_kind, value, &r, &n);

	if (ret)
		return ret;
	if (n && !(uids = calloc(n, sizeof(*uids)))) {
		free(r);
		return cfg_parse_error(ps, "%s: out of memory", cfg_key_names[key]);
	}
	for (size_t i = 0; i < n; i++)
		uids[i] = (struct tg_uid_range){ r[i].first, r[i].last };
	free(r);
	free(*out);
	*out = uids;
	*n_out = (__u32)n;
	return 0;
}

int cfg_parse_port_list(struct cfg_parser *ps, struct span value, struct tg_port_range **out,
			__u32 *n_out)
{
	struct tg_port_range *ports = NULL;
	struct cfg_range *r;
	size_t n;
	int ret = parse_list(ps, CFG_KEY_ALLOW_PORTS, &port_kind, value, &r, &n);

	if (ret)
		return ret;
	if (n && !(ports = calloc(n, sizeof(*ports)))) {
		free(r);
		return cfg_parse_error(ps, "allow-ports: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		ports[i] = (struct tg_port_range){ (__u16)r[i].first, (__u16)r[i].last };
	free(r);
	free(*out);
	*out = ports;
	*n_out = (__u32)n;
	return 0;
}

/* "bpf nft", "bpf, nft", "nft": each layer at most once, at least one. */
int cfg_parse_layers(struct cfg_parser *ps, struct span value, __u32 *out)
{
	size_t pos = 0;

	*out = 0;
	while (pos < value.len) {
		size_t start = pos;
		struct span word;
		__u32 layer;

		while (pos < value.len && !is_blank(value.p[pos]) && value.p[pos] != ',')
			pos++;
		word = (struct span){ value.p + start, pos - start };
		if (span_eq(word, "bpf"))
			layer = TG_LAYER_BPF;
		else if (span_eq(word, "nft"))
			layer = TG_LAYER_NFT;
		else
			return cfg_parse_error(
				ps, "layers: unknown layer '%.*s%s' (expected bpf, nft or both)",
				SPAN_ARG(word));
		if (*out & layer)
			return cfg_parse_error(ps, "layers: %.*s is named twice", (int)word.len,
					       word.p);
		*out |= layer;
		skip_blanks(value, &pos);
		if (pos < value.len && value.p[pos] == ',') {
			pos++;
			skip_blanks(value, &pos);
			if (pos == value.len)
				return cfg_parse_error(ps, "layers: nothing after the last ','");
		}
	}
	if (!*out)
		return cfg_parse_error(ps, "layers: empty (expected bpf, nft or both)");
	return 0;
}

/* port-owner-max: a plain decimal count of listeners within the bounds config.h states. */
int cfg_parse_port_owner_max(struct cfg_parser *ps, struct span value, __u32 *out)
{
	unsigned long long n = 0;

	if (!value.len)
		return cfg_parse_error(
			ps,
			"port-owner-max: empty (expected a number of listeners, default 262144)");
	for (size_t i = 0; i < value.len; i++) {
		if (value.p[i] < '0' || value.p[i] > '9')
			return cfg_parse_error(
				ps, "port-owner-max: '%.*s%s' is not a whole number of listeners",
				SPAN_ARG(value));
		n = n * 10 + (unsigned long long)(value.p[i] - '0');
		if (n > CFG_PORT_OWNER_MAX_HIGHEST)
			break;
	}
	if (n < CFG_PORT_OWNER_MAX_LOWEST || n > CFG_PORT_OWNER_MAX_HIGHEST)
		return cfg_parse_error(ps, "port-owner-max: '%.*s%s' is out of range (%u to %u)",
				       SPAN_ARG(value), CFG_PORT_OWNER_MAX_LOWEST,
				       CFG_PORT_OWNER_MAX_HIGHEST);
	*out = (__u32)n;
	return 0;
}

/* A user, group or section name: 1 to TG_NAME_LEN - 1 of [A-Za-z0-9._-], not only digits. */
int cfg_is_name(struct span s)
{
	bool digits_only = true;

	if (!s.len || s.len >= TG_NAME_LEN)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c >= '0' && c <= '9')
			continue;
		digits_only = false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return !digits_only;
}

void cfg_span_copy(char *dst, size_t len, struct span s)
{
	size_t n = s.len < len - 1 ? s.len : len - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/*
 * USER of `user = USER` or `allow = USER:...`: a decimal uid (not root: root is never
 * restricted), or a name that cfg_resolve() looks up.
 */
int cfg_parse_user(struct cfg_parser *ps, const char *what, struct span user,
		   struct cfg_user_ref *ref, __u32 *uid)
{
	size_t pos = 0;
	__u64 v;

	memset(ref, 0, sizeof(*ref));
	ref->line = ps->line;
	if (parse_digits(user, &pos, &v) && pos == user.len) {
		if (v > CFG_UID_MAX)
			return cfg_parse_error(ps, "%s: uid '%.*s%s' is out of range (1-%u)", what,
					       SPAN_ARG(user), CFG_UID_MAX);
		if (v == 0)
			return cfg_parse_error(ps, "%s: uid 0 is root, which is never restricted",
					       what);
		*uid = (__u32)v;
		return 0;
	}
	if (!cfg_is_name(user))
		return cfg_parse_error(
			ps,
			"%s: invalid user '%.*s%s' (expected a user name of at most %d of A-Z a-z 0-9 . _ -, or a uid)",
			what, SPAN_ARG(user), TG_NAME_LEN - 1);
	cfg_span_copy(ref->name, sizeof(ref->name), user);
	*uid = CFG_UID_UNRESOLVED;
	return 0;
}

/*
 * `ports =` of a [tenant] section: reserved for that tenant alone, on every address. Overlaps
 * between sections are found once the whole config is read (cfg_check_reservations), so that
 * tens of thousands of sections cost a sort, not a scan per line.
 */
int cfg_parse_reserved_ports(struct cfg_parser *ps, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;
	struct cfg_range *r;
	size_t n;
	int ret;

	ret = parse_list(ps, CFG_KEY_PORTS, &port_kind, value, &r, &n);
	if (ret)
		return ret;
	if (!n)
		return cfg_parse_error(ps,
				       "ports: empty (which ports are reserved for [tenant %s]?)",
				       ps->section.name);
	if (util_grow((void **)&p->reservation, &ps->cap_reservation, p->n_reservation + n,
		      sizeof(*p->reservation)) ||
	    util_grow((void **)&p->reservation_section, &ps->cap_reservation_section,
		      p->n_reservation + n, sizeof(*p->reservation_section)) ||
	    util_grow((void **)&ps->reservation_line, &ps->cap_reservation_line,
		      p->n_reservation + n, sizeof(*ps->reservation_line))) {
		free(r);
		return cfg_parse_error(ps, "ports: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		p->reservation[p->n_reservation] =
			(struct tg_port_grant){ ps->section.uid, (__u16)r[i].first,
						(__u16)r[i].last };
		p->reservation_section[p->n_reservation] = p->n_section - 1;
		ps->reservation_line[p->n_reservation] = ps->line;
		p->n_reservation++;
	}
	free(r);
	return 0;
}

/* `allow = USER:PORTS`: may repeat; each range is one allow rule. */
int cfg_parse_allow(struct cfg_parser *ps, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;
	const char *colon = memchr(value.p, ':', value.len);
	struct cfg_user_ref ref;
	struct span user, ports;
	struct cfg_range *r;
	size_t n;
	__u32 uid;
	int ret;

	if (!colon)
		return cfg_parse_error(
			ps, "allow: expected USER:PORTS (e.g. bob:8001-8002), not '%.*s%s'",
			SPAN_ARG(value));
	user = span_trim((struct span){ value.p, (size_t)(colon - value.p) });
	ports = span_trim((struct span){ colon + 1, value.len - (size_t)(colon - value.p) - 1 });
	ret = cfg_parse_user(ps, "allow", user, &ref, &uid);
	if (ret)
		return ret;
	ret = parse_list(ps, CFG_KEY_ALLOW, &port_kind, ports, &r, &n);
	if (ret)
		return ret;
	if (!n)
		return cfg_parse_error(ps, "allow: no ports after '%.*s%s' (expected USER:PORTS)",
				       SPAN_ARG(user));
	if (util_grow((void **)&p->allow_rule, &ps->cap_allow_rule, p->n_allow_rule + n,
		      sizeof(*p->allow_rule)) ||
	    util_grow((void **)&ps->cfg.allow_user, &ps->cap_allow_user, p->n_allow_rule + n,
		      sizeof(*ps->cfg.allow_user))) {
		free(r);
		return cfg_parse_error(ps, "allow: out of memory");
	}
	ps->cfg.last_allow_line = ps->line;
	for (size_t i = 0; i < n; i++) {
		p->allow_rule[p->n_allow_rule] =
			(struct tg_port_grant){ uid, (__u16)r[i].first, (__u16)r[i].last };
		ps->cfg.allow_user[p->n_allow_rule] = ref;
		p->n_allow_rule++;
	}
	free(r);
	return 0;
}

/* `tenant-group = GROUP[, GROUP]`: names only, looked up by cfg_resolve(). */
int cfg_parse_groups(struct cfg_parser *ps, struct span value)
{
	struct tg_config *cfg = &ps->cfg;
	size_t pos = 0;

	cfg->n_group = 0;
	cfg->group_line = ps->line;
	if (!value.len)
		return 0;
	for (;;) {
		const char *comma = memchr(value.p + pos, ',', value.len - pos);
		size_t end = comma ? (size_t)(comma - value.p) : value.len;
		struct span name = span_trim((struct span){ value.p + pos, end - pos });

		if (!name.len)
			return cfg_parse_error(ps, "tenant-group: empty entry (stray comma?)");
		if (!cfg_is_name(name))
			return cfg_parse_error(
				ps,
				"tenant-group: invalid group '%.*s%s' (expected a group name of at most %d of A-Z a-z 0-9 . _ -)",
				SPAN_ARG(name), TG_NAME_LEN - 1);
		for (unsigned int i = 0; i < cfg->n_group; i++)
			if (span_eq(name, cfg->group[i]))
				return cfg_parse_error(ps,
						       "tenant-group: group '%s' is listed twice",
						       cfg->group[i]);
		if (cfg->n_group == CFG_MAX_GROUPS)
			return cfg_parse_error(ps, "tenant-group: more than %d groups",
					       CFG_MAX_GROUPS);
		cfg_span_copy(cfg->group[cfg->n_group], TG_NAME_LEN, name);
		cfg->n_group++;
		if (!comma)
			break;
		pos = end + 1;
	}
	return 0;
}
