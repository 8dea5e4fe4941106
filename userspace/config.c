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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

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

struct cfg_parser {
	struct tg_config cfg;
	struct cfg_error *err;
	unsigned int line;
	unsigned int key_line[CFG_KEY_COUNT]; /* line that set each key, 0 while unset */
};

static int parse_error(struct cfg_parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct cfg_parser *ps, const char *fmt, ...)
{
	va_list ap;

	ps->err->line = ps->line;
	va_start(ap, fmt);
	vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
	va_end(ap);
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
	if (k == CFG_KEY_COUNT)
		return parse_error(ps,
				   "unknown key " SPAN_FMT
				   " (valid keys: mode, policy, deny-errno, "
				   "tenant-uids, exempt-uids, allow-ports, layers)",
				   SPAN_ARG(key));
	if (ps->key_line[k])
		return parse_error(ps, "duplicate key '%s' (first set on line %u)",
				   cfg_key_names[k], ps->key_line[k]);
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
	*cfg = ps.cfg;
	return 0;
}

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

static int read_file(const char *path, char **text, size_t *len)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
	struct cfg_error err;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(name, &text, &len);
	if (ret == -ENOENT && !path) {
		cfg_defaults(cfg);
		return 0;
	}
	if (ret) {
		fprintf(stderr, "%s: cannot read: %s (%s)\n", name, strerror(-ret),
			read_hint(-ret));
		return ret;
	}
	ret = cfg_parse(text, len, cfg, &err);
	if (ret)
		fprintf(stderr, "%s:%u: %s\n", name, err.line, err.message);
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

const char *cfg_errno_name(unsigned int deny_errno)
{
	return choice_name(errno_choices, deny_errno);
}
