// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - read tunnelguard.conf into the struct tg_policy the kernel program gets.
 *
 * The parser is strict on purpose: a config that means something other than what its author
 * thinks is worse than one that fails to load, so every doubtful byte is an error that names
 * the line and what is wrong with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "escape.h"
#include "log.h"

#define CFG_MAX_LINE  4096	    /* bytes in one line, not counting its '\n' */
#define CFG_MAX_FILE  (1024 * 1024) /* a config is small; anything bigger is the wrong file */
#define CFG_UID_MAX   4294967294U   /* (uid_t)-1 means "no uid" to the kernel */
#define CFG_PORT_MAX  65535U
#define CFG_QUOTE_MAX 40 /* bytes of user text quoted in a message */

enum cfg_key {
	CFG_KEY_MODE,
	CFG_KEY_POLICY,
	CFG_KEY_DENY_ERRNO,
	CFG_KEY_TENANT_UIDS,
	CFG_KEY_EXEMPT_UIDS,
	CFG_KEY_ALLOW_PORTS,
	CFG_KEY_LAYERS,
	CFG_KEY_BIND_POLICY,
	CFG_KEY_TENANT_GROUP,
	CFG_KEY_ALLOW,
	CFG_KEY_PORT_OWNER_MAX,
	CFG_KEY_GLOBAL_COUNT, /* keys of a [tenant] section follow */
	CFG_KEY_USER = CFG_KEY_GLOBAL_COUNT,
	CFG_KEY_PORTS,
	CFG_KEY_COUNT,
};

static const char *const cfg_key_names[CFG_KEY_COUNT] = {
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
	[CFG_KEY_USER] = "user",
	[CFG_KEY_PORTS] = "ports",
};

/* A piece of the config text; never NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* Quote at most CFG_QUOTE_MAX bytes of a span in a message: "'%.*s%s'". */
#define SPAN_FMT "'%.*s%s'"
#define SPAN_ARG(s)                                                      \
	(int)((s).len < CFG_QUOTE_MAX ? (s).len : CFG_QUOTE_MAX), (s).p, \
		((s).len > CFG_QUOTE_MAX ? "..." : "")

/* One inclusive range, wide enough for uids and ports alike. */
struct cfg_range {
	__u32 first;
	__u32 last;
};

/* The [tenant NAME] section being read. */
struct cfg_section {
	unsigned int line;	   /* of its header, 0 before the first section */
	char name[TG_NAME_LEN];	   /* NAME */
	struct cfg_user_ref user;  /* user = (defaults to NAME at the header line) */
	__u32 uid;		   /* the uid given, or CFG_UID_UNRESOLVED for a name */
	unsigned int first;	   /* its entries in policy.reservation[], from first */
	unsigned int section_keys; /* key_line[] of section keys is per section */
};

struct cfg_parser {
	struct tg_config cfg;
	struct cfg_error *err;
	unsigned int line;
	unsigned int key_line[CFG_KEY_COUNT]; /* line that set each key, 0 while unset */
	struct cfg_section section;
	unsigned int reservation_line[TG_MAX_RESERVATIONS]; /* the ports line of each entry */
};

static int parse_error(struct cfg_parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct cfg_parser *ps, const char *fmt, ...)
{
	va_list ap;

	char raw[sizeof(ps->err->message)];

	ps->err->line = ps->line;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* The format is ours; only what it quotes from the config can hold controls. */
	escape_text(ps->err->message, sizeof(ps->err->message), raw);
	return -EINVAL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span span_trim(struct span s)
{
	while (s.len && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static int span_eq(struct span s, const char *word)
{
	size_t n = strlen(word);

	return s.len == n && memcmp(s.p, word, n) == 0;
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

/* Values of an enum key, in the order the config documents them. */
struct cfg_choice {
	const char *name;
	__u32 value;
};

static const struct cfg_choice mode_choices[] = {
	{ "enforce", TG_MODE_ENFORCE },
	{ "audit", TG_MODE_AUDIT },
};

static const struct cfg_choice policy_choices[] = {
	{ "isolate", TG_POLICY_ISOLATE },
	{ "strict", TG_POLICY_STRICT },
};

static const struct cfg_choice errno_choices[] = {
	{ "econnrefused", ECONNREFUSED },
	{ "eperm", EPERM },
};

static const struct cfg_choice bind_policy_choices[] = {
	{ "open", TG_BIND_OPEN },
	{ "reserved-only", TG_BIND_RESERVED_ONLY },
};

/* Every enum key has exactly two choices, which keeps the "expected A or B" message simple. */
static int parse_choice(struct cfg_parser *ps, enum cfg_key key, struct span value,
			const struct cfg_choice choices[2], __u32 *out)
{
	for (int i = 0; i < 2; i++) {
		if (span_eq(value, choices[i].name)) {
			*out = choices[i].value;
			return 0;
		}
	}
	return parse_error(ps, "invalid %s " SPAN_FMT " (expected %s or %s)", cfg_key_names[key],
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
	return parse_error(ps, "%s: %s %.*s%s is out of range (%u-%u)", cfg_key_names[key],
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
		return parse_error(ps, "%s: range %llu-%llu is reversed (did you mean %llu-%llu?)",
				   cfg_key_names[key], (unsigned long long)first,
				   (unsigned long long)last, (unsigned long long)last,
				   (unsigned long long)first);
	if (key == CFG_KEY_TENANT_UIDS && first == 0)
		return parse_error(ps, "%s: uid 0 is root and cannot be a tenant",
				   cfg_key_names[key]);
	out->first = (__u32)first;
	out->last = (__u32)last;
	return 0;

invalid:
	return parse_error(
		ps, "%s: invalid entry " SPAN_FMT " (expected a %s or a range A-B, in decimal)",
		cfg_key_names[key], SPAN_ARG(entry), kind->unit);
}

static void format_range(char *buf, size_t len, const struct cfg_range *r)
{
	if (r->first == r->last)
		snprintf(buf, len, "%u", r->first);
	else
		snprintf(buf, len, "%u-%u", r->first, r->last);
}

/* Insertion sort: lists hold at most TG_MAX_RANGES entries. */
static void sort_ranges(struct cfg_range *r, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		struct cfg_range cur = r[i];
		unsigned int j = i;

		while (j > 0 && (r[j - 1].first > cur.first ||
				 (r[j - 1].first == cur.first && r[j - 1].last > cur.last))) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = cur;
	}
}

/*
 * A comma-separated list of entries; an empty value is an empty list. The result is sorted and
 * checked for overlaps, since the kernel's range walk assumes neither.
 */
static int parse_list(struct cfg_parser *ps, enum cfg_key key, const struct cfg_list_kind *kind,
		      struct span value, struct cfg_range *out, unsigned int *n_out)
{
	unsigned int n = 0;
	size_t pos = 0;
	int ret;

	*n_out = 0;
	if (!value.len)
		return 0;
	for (;;) {
		const char *comma = memchr(value.p + pos, ',', value.len - pos);
		size_t end = comma ? (size_t)(comma - value.p) : value.len;
		struct span entry = span_trim((struct span){ value.p + pos, end - pos });

		if (!entry.len)
			return parse_error(ps, "%s: empty entry (stray comma?)",
					   cfg_key_names[key]);
		if (n == TG_MAX_RANGES)
			return parse_error(ps, "%s: more than %d entries", cfg_key_names[key],
					   TG_MAX_RANGES);
		ret = parse_entry(ps, key, kind, entry, &out[n]);
		if (ret)
			return ret;
		n++;
		if (!comma)
			break;
		pos = end + 1;
	}

	sort_ranges(out, n);
	for (unsigned int i = 1; i < n; i++) {
		char a[24], b[24];

		if (out[i].first > out[i - 1].last)
			continue;
		format_range(a, sizeof(a), &out[i - 1]);
		format_range(b, sizeof(b), &out[i]);
		return parse_error(ps, "%s: %s overlaps %s", cfg_key_names[key], a, b);
	}
	*n_out = n;
	return 0;
}

static int parse_uid_list(struct cfg_parser *ps, enum cfg_key key, struct span value,
			  struct tg_uid_range *out, __u32 *n_out)
{
	struct cfg_range r[TG_MAX_RANGES];
	unsigned int n;
	int ret;

	ret = parse_list(ps, key, &uid_kind, value, r, &n);
	if (ret)
		return ret;
	/* Clear what the defaults put there: the kernel gets the whole array. */
	memset(out, 0, sizeof(*out) * TG_MAX_RANGES);
	for (unsigned int i = 0; i < n; i++) {
		out[i].first = r[i].first;
		out[i].last = r[i].last;
	}
	*n_out = n;
	return 0;
}

static int parse_port_list(struct cfg_parser *ps, struct span value, struct tg_port_range *out,
			   __u32 *n_out)
{
	struct cfg_range r[TG_MAX_RANGES];
	unsigned int n;
	int ret;

	ret = parse_list(ps, CFG_KEY_ALLOW_PORTS, &port_kind, value, r, &n);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out) * TG_MAX_RANGES);
	for (unsigned int i = 0; i < n; i++) {
		out[i].first = (__u16)r[i].first;
		out[i].last = (__u16)r[i].last;
	}
	*n_out = n;
	return 0;
}

/* "bpf nft", "bpf, nft", "nft": each layer at most once, at least one. */
static int parse_layers(struct cfg_parser *ps, struct span value, __u32 *out)
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
			return parse_error(ps,
					   "layers: unknown layer " SPAN_FMT
					   " (expected bpf, nft or both)",
					   SPAN_ARG(word));
		if (*out & layer)
			return parse_error(ps, "layers: %.*s is named twice", (int)word.len,
					   word.p);
		*out |= layer;
		skip_blanks(value, &pos);
		if (pos < value.len && value.p[pos] == ',') {
			pos++;
			skip_blanks(value, &pos);
			if (pos == value.len)
				return parse_error(ps, "layers: nothing after the last ','");
		}
	}
	if (!*out)
		return parse_error(ps, "layers: empty (expected bpf, nft or both)");
	return 0;
}

/* port-owner-max: a plain decimal count of listeners within the bounds config.h states. */
static int parse_port_owner_max(struct cfg_parser *ps, struct span value, __u32 *out)
{
	unsigned long long n = 0;

	if (!value.len)
		return parse_error(ps, "port-owner-max: empty (expected a number of listeners, "
				       "default 262144)");
	for (size_t i = 0; i < value.len; i++) {
		if (value.p[i] < '0' || value.p[i] > '9')
			return parse_error(ps,
					   "port-owner-max: " SPAN_FMT
					   " is not a whole number of listeners",
					   SPAN_ARG(value));
		n = n * 10 + (unsigned long long)(value.p[i] - '0');
		if (n > CFG_PORT_OWNER_MAX_HIGHEST)
			break;
	}
	if (n < CFG_PORT_OWNER_MAX_LOWEST || n > CFG_PORT_OWNER_MAX_HIGHEST)
		return parse_error(ps, "port-owner-max: " SPAN_FMT " is out of range (%u to %u)",
				   SPAN_ARG(value), CFG_PORT_OWNER_MAX_LOWEST,
				   CFG_PORT_OWNER_MAX_HIGHEST);
	*out = (__u32)n;
	return 0;
}

/* A user, group or section name: 1 to TG_NAME_LEN - 1 of [A-Za-z0-9._-], not only digits. */
static int is_name(struct span s)
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

static void span_copy(char *dst, size_t len, struct span s)
{
	size_t n = s.len < len - 1 ? s.len : len - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/*
 * USER of `user = USER` or `allow = USER:...`: a decimal uid (not root: root is never
 * restricted), or a name that cfg_resolve() looks up.
 */
static int parse_user(struct cfg_parser *ps, const char *what, struct span user,
		      struct cfg_user_ref *ref, __u32 *uid)
{
	size_t pos = 0;
	__u64 v;

	memset(ref, 0, sizeof(*ref));
	ref->line = ps->line;
	if (parse_digits(user, &pos, &v) && pos == user.len) {
		if (v > CFG_UID_MAX)
			return parse_error(ps, "%s: uid " SPAN_FMT " is out of range (1-%u)", what,
					   SPAN_ARG(user), CFG_UID_MAX);
		if (v == 0)
			return parse_error(ps, "%s: uid 0 is root, which is never restricted",
					   what);
		*uid = (__u32)v;
		return 0;
	}
	if (!is_name(user))
		return parse_error(ps,
				   "%s: invalid user " SPAN_FMT
				   " (expected a user name of at most %d of A-Z a-z 0-9 . _ -, "
				   "or a uid)",
				   what, SPAN_ARG(user), TG_NAME_LEN - 1);
	span_copy(ref->name, sizeof(ref->name), user);
	*uid = CFG_UID_UNRESOLVED;
	return 0;
}

/* `ports =` of a [tenant] section: reserved for that tenant alone, on every address. */
static int parse_reserved_ports(struct cfg_parser *ps, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;
	struct cfg_range r[TG_MAX_RANGES];
	unsigned int n;
	int ret;

	ret = parse_list(ps, CFG_KEY_PORTS, &port_kind, value, r, &n);
	if (ret)
		return ret;
	if (!n)
		return parse_error(ps, "ports: empty (which ports are reserved for [tenant %s]?)",
				   ps->section.name);
	for (unsigned int i = 0; i < n; i++) {
		char range[24];

		format_range(range, sizeof(range), &r[i]);
		for (unsigned int j = 0; j < p->n_reservation; j++) {
			if (r[i].first > p->reservation[j].last ||
			    r[i].last < p->reservation[j].first)
				continue;
			return parse_error(ps, "ports %s overlap [tenant %s] at line %u", range,
					   ps->cfg.names.reservation[j], ps->reservation_line[j]);
		}
		if (p->n_reservation == TG_MAX_RESERVATIONS)
			return parse_error(ps,
					   "ports: more than %d reserved port ranges in all "
					   "[tenant] sections",
					   TG_MAX_RESERVATIONS);
		p->reservation[p->n_reservation].first = (__u16)r[i].first;
		p->reservation[p->n_reservation].last = (__u16)r[i].last;
		snprintf(ps->cfg.names.reservation[p->n_reservation], TG_NAME_LEN, "%s",
			 ps->section.name);
		ps->reservation_line[p->n_reservation] = ps->line;
		p->n_reservation++;
	}
	return 0;
}

/* `allow = USER:PORTS`: may repeat; each range is one allow rule. */
static int parse_allow(struct cfg_parser *ps, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;
	const char *colon = memchr(value.p, ':', value.len);
	struct cfg_range r[TG_MAX_RANGES];
	struct cfg_user_ref ref;
	struct span user, ports;
	unsigned int n;
	__u32 uid;
	int ret;

	if (!colon)
		return parse_error(ps,
				   "allow: expected USER:PORTS (e.g. bob:8001-8002), not " SPAN_FMT,
				   SPAN_ARG(value));
	user = span_trim((struct span){ value.p, (size_t)(colon - value.p) });
	ports = span_trim((struct span){ colon + 1, value.len - (size_t)(colon - value.p) - 1 });
	ret = parse_user(ps, "allow", user, &ref, &uid);
	if (ret)
		return ret;
	ret = parse_list(ps, CFG_KEY_ALLOW, &port_kind, ports, r, &n);
	if (ret)
		return ret;
	if (!n)
		return parse_error(ps, "allow: no ports after " SPAN_FMT " (expected USER:PORTS)",
				   SPAN_ARG(user));
	if (p->n_allow_rule + n > TG_MAX_ALLOW_RULES)
		return parse_error(ps, "allow: more than %d allow rules (port ranges) in all",
				   TG_MAX_ALLOW_RULES);
	for (unsigned int i = 0; i < n; i++) {
		p->allow_rule[p->n_allow_rule] =
			(struct tg_port_grant){ uid, (__u16)r[i].first, (__u16)r[i].last };
		ps->cfg.allow_user[p->n_allow_rule] = ref;
		p->n_allow_rule++;
	}
	return 0;
}

/* `tenant-group = GROUP[, GROUP]`: names only, looked up by cfg_resolve(). */
static int parse_groups(struct cfg_parser *ps, struct span value)
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
			return parse_error(ps, "tenant-group: empty entry (stray comma?)");
		if (!is_name(name))
			return parse_error(ps,
					   "tenant-group: invalid group " SPAN_FMT
					   " (expected a group name of at most %d of A-Z a-z "
					   "0-9 . _ -)",
					   SPAN_ARG(name), TG_NAME_LEN - 1);
		for (unsigned int i = 0; i < cfg->n_group; i++)
			if (span_eq(name, cfg->group[i]))
				return parse_error(ps, "tenant-group: group '%s' is listed twice",
						   cfg->group[i]);
		if (cfg->n_group == CFG_MAX_GROUPS)
			return parse_error(ps, "tenant-group: more than %d groups", CFG_MAX_GROUPS);
		span_copy(cfg->group[cfg->n_group], TG_NAME_LEN, name);
		cfg->n_group++;
		if (!comma)
			break;
		pos = end + 1;
	}
	return 0;
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
		return parse_error(ps,
				   "[tenant %s] has no 'ports =' line (which ports are "
				   "reserved for it?)",
				   sec->name);
	}
	for (unsigned int i = sec->first; i < p->n_reservation; i++) {
		p->reservation[i].uid = sec->uid;
		ps->cfg.reservation_user[i] = sec->user;
	}
	return 0;
}

/* `[tenant NAME]`: ends the section before it and starts a new one. */
static int parse_section(struct cfg_parser *ps, struct span line)
{
	struct span inner, name;
	unsigned int prev_line = 0;
	int ret;

	if (line.p[line.len - 1] != ']')
		return parse_error(ps,
				   "invalid section header " SPAN_FMT " (expected [tenant NAME])",
				   SPAN_ARG(line));
	inner = span_trim((struct span){ line.p + 1, line.len - 2 });
	if (inner.len < 7 || memcmp(inner.p, "tenant", 6) != 0 || !is_blank(inner.p[6]))
		return parse_error(ps,
				   "invalid section header " SPAN_FMT " (expected [tenant NAME])",
				   SPAN_ARG(line));
	name = span_trim((struct span){ inner.p + 7, inner.len - 7 });
	if (!is_name(name))
		return parse_error(ps,
				   "invalid tenant name " SPAN_FMT
				   " (expected at most %d of A-Z a-z 0-9 . _ -, not only digits)",
				   SPAN_ARG(name), TG_NAME_LEN - 1);
	ret = finish_section(ps);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < ps->cfg.policy.n_reservation; i++)
		if (span_eq(name, ps->cfg.names.reservation[i]))
			prev_line = ps->reservation_line[i];
	if (prev_line)
		return parse_error(ps, "duplicate [tenant %.*s] (its ports are on line %u)",
				   (int)name.len, name.p, prev_line);
	if (!ps->cfg.first_section_line)
		ps->cfg.first_section_line = ps->line;
	memset(&ps->section, 0, sizeof(ps->section));
	ps->section.line = ps->line;
	span_copy(ps->section.name, sizeof(ps->section.name), name);
	/* user defaults to NAME */
	ret = parse_user(ps, "user", name, &ps->section.user, &ps->section.uid);
	if (ret)
		return ret;
	ps->section.first = ps->cfg.policy.n_reservation;
	ps->key_line[CFG_KEY_USER] = 0;
	ps->key_line[CFG_KEY_PORTS] = 0;
	return 0;
}

static int parse_value(struct cfg_parser *ps, enum cfg_key key, struct span value)
{
	struct tg_policy *p = &ps->cfg.policy;

	switch (key) {
	case CFG_KEY_MODE:
		return parse_choice(ps, key, value, mode_choices, &p->mode);
	case CFG_KEY_POLICY:
		return parse_choice(ps, key, value, policy_choices, &p->policy);
	case CFG_KEY_DENY_ERRNO:
		return parse_choice(ps, key, value, errno_choices, &p->deny_errno);
	case CFG_KEY_TENANT_UIDS:
		return parse_uid_list(ps, key, value, p->tenant, &p->n_tenant);
	case CFG_KEY_EXEMPT_UIDS:
		return parse_uid_list(ps, key, value, p->exempt, &p->n_exempt);
	case CFG_KEY_ALLOW_PORTS:
		return parse_port_list(ps, value, p->allow_port, &p->n_allow_port);
	case CFG_KEY_LAYERS:
		return parse_layers(ps, value, &ps->cfg.layers);
	case CFG_KEY_BIND_POLICY:
		return parse_choice(ps, key, value, bind_policy_choices, &p->bind_policy);
	case CFG_KEY_TENANT_GROUP:
		return parse_groups(ps, value);
	case CFG_KEY_ALLOW:
		return parse_allow(ps, value);
	case CFG_KEY_PORT_OWNER_MAX:
		return parse_port_owner_max(ps, value, &ps->cfg.port_owner_max);
	case CFG_KEY_USER:
		return parse_user(ps, "user", value, &ps->section.user, &ps->section.uid);
	case CFG_KEY_PORTS:
		return parse_reserved_ports(ps, value);
	default:
		return parse_error(ps, "internal error: key %d has no parser", (int)key);
	}
}

static int parse_line(struct cfg_parser *ps, struct span raw)
{
	struct span line = raw, key, value;
	const char *hash, *eq;
	int k;

	if (raw.len > CFG_MAX_LINE)
		return parse_error(ps, "line is %zu bytes long, more than %d", raw.len,
				   CFG_MAX_LINE);
	if (memchr(raw.p, '\0', raw.len))
		return parse_error(ps, "NUL byte in the text (is this a binary file?)");
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
		return parse_error(ps, "no '=' in " SPAN_FMT " (expected 'key = value')",
				   SPAN_ARG(line));
	key = span_trim((struct span){ line.p, (size_t)(eq - line.p) });
	value = span_trim((struct span){ eq + 1, line.len - (size_t)(eq - line.p) - 1 });
	if (!key.len)
		return parse_error(ps, "empty key before '=' (expected 'key = value')");

	for (k = 0; k < CFG_KEY_COUNT; k++) {
		if (span_eq(key, cfg_key_names[k]))
			break;
	}
	if (!ps->section.line && (k == CFG_KEY_COUNT || k >= CFG_KEY_GLOBAL_COUNT))
		return parse_error(
			ps,
			"unknown key " SPAN_FMT
			" (valid keys: mode, policy, deny-errno, tenant-uids, exempt-uids, allow-ports, layers, bind-policy, tenant-group, allow, port-owner-max; user and ports belong in a [tenant NAME] section)",
			SPAN_ARG(key));
	if (ps->section.line && k < CFG_KEY_GLOBAL_COUNT)
		return parse_error(ps,
				   "key '%s' is global: move it above the first [tenant] section "
				   "(line %u)",
				   cfg_key_names[k], ps->cfg.first_section_line);
	if (ps->section.line && k == CFG_KEY_COUNT)
		return parse_error(
			ps, "unknown key " SPAN_FMT " in [tenant %s] (valid keys: user, ports)",
			SPAN_ARG(key), ps->section.name);
	if (ps->key_line[k] && k != CFG_KEY_ALLOW)
		return parse_error(ps, "duplicate key '%s'%s%s%s (first set on line %u)",
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
		return parse_error(&ps, "internal error: cfg_parse called without %s",
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

/* ------------------------------------------------------------------ resolving names */

static int resolve_error(struct cfg_error *err, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int resolve_error(struct cfg_error *err, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	char raw[sizeof(err->message)];

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Names from the user and group databases are echoed: escape them as config text. */
	escape_text(err->message, sizeof(err->message), raw);
	return -EINVAL;
}

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
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		__u32 *bigger = realloc(set->uids, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		set->uids = bigger;
		set->cap = cap;
	}
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
		return resolve_error(err, ref->line,
				     "%s: no user '%s' on this host (create the account, or give "
				     "its uid)",
				     what, ref->name);
	if (ret)
		return resolve_error(err, ref->line, "%s: cannot look up user '%s': %s", what,
				     ref->name, strerror(-ret));
	if (*uid == 0)
		return resolve_error(err, ref->line,
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
			ret = resolve_error(err, cfg->group_line,
					    "tenant-group: no group '%s' on this host (create it "
					    "with groupadd, or remove it here)",
					    cfg->group[g]);
		else if (ret == -EPERM && set.root_member[0])
			ret = resolve_error(err, cfg->group_line,
					    "tenant-group: group '%s' has member '%s' (uid 0), "
					    "which cannot be a tenant",
					    cfg->group[g], set.root_member);
		else if (ret)
			ret = resolve_error(err, cfg->group_line,
					    "tenant-group: cannot list the members of group '%s': "
					    "%s",
					    cfg->group[g], strerror(-ret));
	}
	if (!ret && merge_tenants(p, &set, &needed))
		ret = -ENOMEM;
	if (!ret && needed > TG_MAX_RANGES)
		ret = resolve_error(err, cfg->n_group ? cfg->group_line : cfg->first_section_line,
				    "tenant-uids, [tenant] users and tenant-group members make %u "
				    "uid ranges, more than %d: widen tenant-uids to cover them",
				    needed, TG_MAX_RANGES);
	if (ret == -ENOMEM)
		resolve_error(err, 0, "out of memory resolving user and group names");
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

/* Read all of an open file, refusing more than CFG_MAX_FILE bytes. */
static int read_fd(int fd, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *bigger;
	struct stat st;
	ssize_t got;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && st.st_size > CFG_MAX_FILE)
		return -EFBIG;
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			/* The file grew, or is not a regular file: grow up to one byte past the
			 * limit. */
			cap = cap * 2 > CFG_MAX_FILE + 1 ? CFG_MAX_FILE + 1 : cap * 2;
			if (n == cap) {
				ret = -EFBIG;
				goto cleanup;
			}
			bigger = realloc(buf, cap);
			if (!bigger) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = bigger;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > CFG_MAX_FILE) {
		ret = -EFBIG;
		goto cleanup;
	}
	*text = buf;
	*len = n;
	return 0;

cleanup:
	free(buf);
	return ret;
}

/* 0, -errno, or -EINVAL when path is not a regular file (a FIFO, a device, a directory). */
static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO with no writer must not hang before fstat() can refuse it. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else
		ret = read_fd(fd, text, len);
	close(fd);
	return ret;
}

static const char *read_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "check the path";
	case EACCES:
	case EPERM:
		return "are you root?";
	case EISDIR:
		return "give the path of the file, not of its directory";
	case EFBIG:
		return "a config file is at most 1 MiB; is this the right file?";
	default:
		return "check the file";
	}
}

int cfg_load(const char *path, struct tg_config *cfg)
{
	const char *name = path ? path : CFG_DEFAULT_PATH;
	char shown[ESCAPE_SIZE(PATH_MAX)];
	struct cfg_error err;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(name, &text, &len);
	if (ret == -ENOENT && !path) {
		cfg_defaults(cfg);
		return 0;
	}
	escape_text(shown, sizeof(shown), name);
	if (ret == -EINVAL) {
		log_print_plain(LOG_LEVEL_ERROR, "%s: not a regular file\n", shown);
		return ret;
	}
	if (ret) {
		log_print_plain(LOG_LEVEL_ERROR, "%s: cannot read: %s (%s)\n", shown,
				strerror(-ret), read_hint(-ret));
		return ret;
	}
	ret = cfg_parse(text, len, cfg, &err);
	if (!ret)
		ret = cfg_resolve(cfg, &cfg_system_directory, &err);
	if (ret)
		log_print_plain(LOG_LEVEL_ERROR, "%s:%u: %s\n", shown, err.line, err.message);
	free(text);
	return ret;
}

/* Appends to a fixed buffer; output past the end is dropped, the result always terminated. */
struct cfg_out {
	char *buf;
	size_t len;
	size_t pos;
};

static void out_printf(struct cfg_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct cfg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->pos + 1 >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > o->len - 1 - o->pos)
		n = (int)(o->len - 1 - o->pos);
	o->pos += (size_t)n;
}

static void out_range(struct cfg_out *o, unsigned int i, __u32 first, __u32 last)
{
	if (first == last)
		out_printf(o, "%s%u", i ? ", " : "", first);
	else
		out_printf(o, "%s%u-%u", i ? ", " : "", first, last);
}

void cfg_format_uid_ranges(const struct tg_uid_range *r, unsigned int n, char *buf, size_t len)
{
	struct cfg_out o = { buf, len, 0 };

	if (!buf || !len)
		return;
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++)
		out_range(&o, i, r[i].first, r[i].last);
}

void cfg_format_port_ranges(const struct tg_port_range *r, unsigned int n, char *buf, size_t len)
{
	struct cfg_out o = { buf, len, 0 };

	if (!buf || !len)
		return;
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++)
		out_range(&o, i, r[i].first, r[i].last);
}

static const char *choice_name(const struct cfg_choice choices[2], unsigned int value)
{
	for (int i = 0; i < 2; i++) {
		if (choices[i].value == value)
			return choices[i].name;
	}
	errno = EINVAL;
	return NULL;
}

const char *cfg_mode_name(unsigned int mode)
{
	return choice_name(mode_choices, mode);
}

const char *cfg_policy_name(unsigned int policy)
{
	return choice_name(policy_choices, policy);
}

const char *cfg_bind_policy_name(unsigned int bind_policy)
{
	return choice_name(bind_policy_choices, bind_policy);
}

const char *cfg_errno_name(unsigned int deny_errno)
{
	return choice_name(errno_choices, deny_errno);
}
