// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config_limits.c - the config key max-tunnels (global and per [tenant]) in cfg_parse() and
 * cfg_resolve(), and the pure limit functions of tg_limits.h the kernel program runs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tg_limits.h"

/* alice 2001, bob 2002, root 0. */
static int fake_user_uid(void *ctx, const char *name, __u32 *uid)
{
	static const struct {
		const char *name;
		__u32 uid;
	} users[] = { { "alice", 2001 }, { "bob", 2002 }, { "root", 0 } };

	(void)ctx;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strcmp(users[i].name, name) == 0) {
			*uid = users[i].uid;
			return 0;
		}
	}
	return -ENOENT;
}

static int no_groups(void *ctx, const char *name,
		     int (*add)(void *arg, const char *member, __u32 uid), void *arg)
{
	(void)ctx;
	(void)name;
	(void)add;
	(void)arg;
	return -ENOENT;
}

static const struct cfg_directory fake_directory = {
	.user_uid = fake_user_uid,
	.group_members = no_groups,
};

static void parse_and_resolve(const char *text, struct tg_config *cfg)
{
	struct cfg_error err = { 0 };
	int ret;

	memset(cfg, 0xa5, sizeof(*cfg));
	ret = cfg_parse(text, strlen(text), cfg, &err);
	cr_assert_eq(ret, 0, "cfg_parse('%s'): %d, line %u: %s", text, ret, err.line, err.message);
	ret = cfg_resolve(cfg, &fake_directory, &err);
	cr_assert_eq(ret, 0, "cfg_resolve('%s'): %d, line %u: %s", text, ret, err.line,
		     err.message);
}

Test(config_limits, global)
{
	static const struct {
		const char *text;
		__u32 want;
	} cases[] = {
		{ "", 0 },
		{ "max-tunnels = 0\n", 0 },
		{ "max-tunnels = 1\n", 1 },
		{ "max-tunnels=20 # per tenant\n", 20 },
		{ "max-tunnels = 1000000\n", 1000000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_config cfg;

		parse_and_resolve(cases[i].text, &cfg);
		cr_expect_eq(cfg.policy.max_tunnels, cases[i].want, "'%s': global %u, want %u",
			     cases[i].text, cfg.policy.max_tunnels, cases[i].want);
		cr_expect_eq(cfg.policy.n_section, 0, "'%s': %u sections, want 0", cases[i].text,
			     cfg.policy.n_section);
		cfg_free(&cfg);
	}
}

/* A section's max-tunnels belongs to its user, given before or after it, by name or uid. */
Test(config_limits, sections)
{
	static const char text[] = "tenant-uids = 2000-2999\n"
				   "max-tunnels = 2\n"
				   "[tenant alice]\n"
				   "max-tunnels = 5\n"
				   "ports = 8001\n"
				   "[tenant web]\n"
				   "user = 2003\n"
				   "ports = 8002\n"
				   "[tenant bob]\n"
				   "ports = 8003\n"
				   "user = 2002\n"
				   "max-tunnels = 0\n"
				   "[tenant alice2]\n"
				   "user = alice\n"
				   "ports = 8004\n"
				   "max-tunnels = 5\n";
	struct tg_config cfg;

	parse_and_resolve(text, &cfg);
	cr_assert_eq(cfg.policy.max_tunnels, 2, "global %u, want 2", cfg.policy.max_tunnels);
	cr_assert_eq(cfg.policy.n_section, 4, "%u sections, want 4", cfg.policy.n_section);
	cr_expect(cfg.policy.section[0].uid == 2001 && cfg.policy.section[0].max_tunnels == 5 &&
			  cfg.section_limit_line[0] == 4 &&
			  strcmp(cfg.policy.section[0].name, "alice") == 0,
		  "section 0 is uid %u max %u line %u [%s], want alice 2001 max 5 line 4",
		  cfg.policy.section[0].uid, cfg.policy.section[0].max_tunnels,
		  cfg.section_limit_line[0], cfg.policy.section[0].name);
	cr_expect(cfg.policy.section[1].uid == 2003 &&
			  cfg.policy.section[1].max_tunnels == TG_MAX_TUNNELS_UNSET &&
			  cfg.section_limit_line[1] == 0,
		  "section 1 (web) sets no limit: uid %u max %u", cfg.policy.section[1].uid,
		  cfg.policy.section[1].max_tunnels);
	cr_expect(cfg.policy.section[2].uid == 2002 && cfg.policy.section[2].max_tunnels == 0,
		  "section 2 is uid %u max %u, want 2002 max 0 (no limit)",
		  cfg.policy.section[2].uid, cfg.policy.section[2].max_tunnels);
	cr_expect(cfg.policy.section[3].uid == 2001 && cfg.policy.section[3].max_tunnels == 5,
		  "section 3 is uid %u max %u, want 2001 max 5", cfg.policy.section[3].uid,
		  cfg.policy.section[3].max_tunnels);
	cfg_free(&cfg);
}

static const struct {
	const char *name;
	const char *text;
	unsigned int line;
	const char *message;
} parse_bad[] = {
	{ "empty", "max-tunnels =\n", 1,
	  "max-tunnels: empty (expected a number of ports a tenant may hold, 0 for no limit)" },
	{ "negative", "max-tunnels = -1\n", 1, "max-tunnels: '-1' is not a whole number of ports" },
	{ "word", "\nmax-tunnels = many\n", 2,
	  "max-tunnels: 'many' is not a whole number of ports" },
	{ "too big", "max-tunnels = 1000001\n", 1,
	  "max-tunnels: '1000001' is out of range (0 to 1000000; 0: no limit)" },
	{ "huge", "max-tunnels = 99999999999999999999999\n", 1,
	  "max-tunnels: '99999999999999999999999' is out of range (0 to 1000000; 0: no limit)" },
	{ "duplicate global", "max-tunnels = 1\nmax-tunnels = 2\n", 2,
	  "duplicate key 'max-tunnels' (first set on line 1)" },
	{ "duplicate in a section", "[tenant alice]\nports = 1\nmax-tunnels = 1\nmax-tunnels = 2\n",
	  4, "duplicate key 'max-tunnels' in [tenant alice] (first set on line 3)" },
	{ "bad in a section", "[tenant alice]\nports = 1\nmax-tunnels = 1e3\n", 3,
	  "max-tunnels: '1e3' is not a whole number of ports" },
	{ "section without ports", "[tenant alice]\nmax-tunnels = 3\n", 1,
	  "[tenant alice] has no 'ports =' line (which ports are reserved for it?)" },
};

Test(config_limits, parse_bad)
{
	for (size_t i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		struct cfg_error err = { 0 };
		struct tg_config cfg;
		int ret = cfg_parse(parse_bad[i].text, strlen(parse_bad[i].text), &cfg, &err);

		cr_assert_eq(ret, -EINVAL, "%s: cfg_parse returned %d, want -EINVAL",
			     parse_bad[i].name, ret);
		cr_expect_eq(err.line, parse_bad[i].line, "%s: line %u, want %u (%s)",
			     parse_bad[i].name, err.line, parse_bad[i].line, err.message);
		cr_expect_str_eq(err.message, parse_bad[i].message, "%s: message \"%s\"",
				 parse_bad[i].name, err.message);
	}
}

Test(config_limits, resolve_bad)
{
	static const struct {
		const char *name;
		const char *text;
		unsigned int line;
		const char *message;
	} cases[] = {
		{ "two limits for one user",
		  "[tenant a]\nuser = alice\nports = 1\nmax-tunnels = 3\n"
		  "[tenant b]\nuser = 2001\nports = 2\nmax-tunnels = 4\n",
		  8,
		  "max-tunnels: uid 2001 has max-tunnels = 3 in [tenant a] (line 4): one limit per user" },
		{ "unknown user", "[tenant ghost]\nports = 1\nmax-tunnels = 3\n", 1,
		  "[tenant ghost]: no user 'ghost' on this host (create the account, or give its uid)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err = { 0 };
		struct tg_config cfg;
		int ret = cfg_parse(cases[i].text, strlen(cases[i].text), &cfg, &err);

		cr_assert_eq(ret, 0, "%s: cfg_parse: %s", cases[i].name, err.message);
		ret = cfg_resolve(&cfg, &fake_directory, &err);
		cr_assert_eq(ret, -EINVAL, "%s: cfg_resolve returned %d, want -EINVAL",
			     cases[i].name, ret);
		cr_expect_eq(err.line, cases[i].line, "%s: line %u, want %u (%s)", cases[i].name,
			     err.line, cases[i].line, err.message);
		cr_expect_str_eq(err.message, cases[i].message, "%s: message \"%s\"", cases[i].name,
				 err.message);
	}
}

/* The functions the kernel's post-bind check and its port_owner cap run. */
Test(config_limits, kernel_functions)
{
	static const struct {
		const char *name;
		__u32 global;
		int found;
		__u32 per_uid;
		__u32 old;
		__u32 want_limit;
		int want_refuses;
	} cases[] = {
		{ "no limit anywhere", 0, 0, 0, 100000, 0, 0 },
		{ "global, below", 3, 0, 0, 2, 3, 0 },
		{ "global, at", 3, 0, 0, 3, 3, 1 },
		{ "global, over (a swap lowered it)", 3, 0, 0, 7, 3, 1 },
		{ "per uid beats global", 3, 1, 5, 4, 5, 0 },
		{ "per uid at", 3, 1, 5, 5, 5, 1 },
		{ "per uid 0 lifts global", 3, 1, 0, 50, 0, 0 },
		{ "per uid below global", 10, 1, 1, 1, 1, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 limit = tg_tunnel_limit(cases[i].global, cases[i].found, cases[i].per_uid);

		cr_expect_eq(limit, cases[i].want_limit, "%s: limit %u, want %u", cases[i].name,
			     limit, cases[i].want_limit);
		cr_expect_eq(tg_tunnel_refuses(cases[i].old, limit), cases[i].want_refuses,
			     "%s: refuses %d, want %d", cases[i].name,
			     tg_tunnel_refuses(cases[i].old, limit), cases[i].want_refuses);
	}
	cr_expect_eq(tg_owner_cap(2001, 262144), 65536, "a tenant's share of 262144");
	cr_expect_eq(tg_owner_cap(2001, 16), 4, "a tenant's share of 16");
	cr_expect_eq(tg_owner_cap(0, 16), 0xffffffffU, "root has no cap");
}
