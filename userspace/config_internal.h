// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_internal.h - what the files of the config module share, and nothing outside it includes:
 * the parser's state and spans (config_parse.c, the grammar; config_values.c, one parser per
 * value), the words of the enum keys (also config_format.c) and the error setter (also
 * config_resolve.c).
 */
#ifndef TG_CONFIG_INTERNAL_H
#define TG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "config.h"

#define CFG_UID_MAX   4294967294U /* (uid_t)-1 means "no uid" to the kernel */
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
	CFG_KEY_MAX_TUNNELS,
	CFG_KEY_GLOBAL_COUNT, /* keys of a [tenant] section follow */
	CFG_KEY_USER = CFG_KEY_GLOBAL_COUNT,
	CFG_KEY_PORTS,
	CFG_KEY_TENANT_MAX_TUNNELS, /* max-tunnels again, inside a [tenant] section */
	CFG_KEY_COUNT,
};

extern const char *const cfg_key_names[CFG_KEY_COUNT];

/* A piece of the config text; never NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* Quote at most CFG_QUOTE_MAX bytes of a span in a message, written '%.*s%s' in the format. */
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
	unsigned int section_keys; /* key_line[] of section keys is per section */
};

struct cfg_parser {
	struct tg_config cfg;
	struct cfg_error *err;
	unsigned int line;		      /* numbered across the texts (cfg_parse_texts) */
	unsigned int key_line[CFG_KEY_COUNT]; /* line that set each key, 0 while unset */
	struct cfg_section section;
	bool in_dropin;			/* a drop-in text: [tenant] sections only */
	const struct cfg_text *texts;	/* what cfg_parse_texts() reads, and where each starts: */
	const unsigned int *text_start; /* lines before text i */
	size_t n_texts;
	unsigned int *reservation_line; /* the ports line of each policy.reservation[] */
	size_t cap_reservation, cap_reservation_section, cap_reservation_line;
	size_t cap_section, cap_section_user, cap_section_line, cap_section_limit_line;
	size_t cap_allow_rule, cap_allow_user;
};

/*
 * Fill err with line and the message, its controls escaped (escape.h): the formats are ours, only
 * what they quote from the config or the user and group databases can hold controls. -EINVAL.
 */
int cfg_error_set(struct cfg_error *err, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * "line N" for a line (numbered across the texts) in the text being parsed, or "NAME:N" for one
 * in another text (a drop-in), for messages that point at a second line. Returns buf.
 */
const char *cfg_line_ref(const struct cfg_parser *ps, unsigned int line, char *buf, size_t len);

/* An error at the line being parsed: "invalid mode 'x' (expected enforce or audit)". -EINVAL. */
#define cfg_parse_error(ps, ...) cfg_error_set((ps)->err, (ps)->line, __VA_ARGS__)

static inline int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline struct span span_trim(struct span s)
{
	while (s.len && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static inline int span_eq(struct span s, const char *word)
{
	size_t n = strlen(word);

	return s.len == n && memcmp(s.p, word, n) == 0;
}

/* Values of an enum key, in the order the config documents them. */
struct cfg_choice {
	const char *name;
	__u32 value;
};

/* The two words of each enum key (config_values.c). */
extern const struct cfg_choice cfg_mode_choices[2];
extern const struct cfg_choice cfg_policy_choices[2];
extern const struct cfg_choice cfg_errno_choices[2];
extern const struct cfg_choice cfg_bind_policy_choices[2];

/* The values of the keys (config_values.c): each 0, or -EINVAL with ps->err filled. */
int cfg_parse_choice(struct cfg_parser *ps, enum cfg_key key, struct span value,
		     const struct cfg_choice choices[2], __u32 *out);
int cfg_parse_uid_list(struct cfg_parser *ps, enum cfg_key key, struct span value,
		       struct tg_uid_range **out, __u32 *n_out);
int cfg_parse_port_list(struct cfg_parser *ps, struct span value, struct tg_port_range **out,
			__u32 *n_out);
int cfg_parse_layers(struct cfg_parser *ps, struct span value, __u32 *out);
int cfg_parse_port_owner_max(struct cfg_parser *ps, struct span value, __u32 *out);
int cfg_parse_user(struct cfg_parser *ps, const char *what, struct span user,
		   struct cfg_user_ref *ref, __u32 *uid);
int cfg_parse_reserved_ports(struct cfg_parser *ps, struct span value);
int cfg_parse_allow(struct cfg_parser *ps, struct span value);
int cfg_parse_groups(struct cfg_parser *ps, struct span value);
int cfg_is_name(struct span s);
/* max-tunnels (config_limits.c): the global one, and the section's. */
int cfg_parse_max_tunnels(struct cfg_parser *ps, struct span value);
int cfg_parse_section_max_tunnels(struct cfg_parser *ps, struct span value);
/* After cfg_resolve() resolved the sections' users: one limit per uid. */
int cfg_resolve_tunnel_limits(struct tg_config *cfg, struct cfg_error *err);
void cfg_span_copy(char *dst, size_t len, struct span s);

#endif /* TG_CONFIG_INTERNAL_H */
