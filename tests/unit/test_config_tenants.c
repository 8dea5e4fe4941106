// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config_tenants.c - [tenant NAME] sections, allow rules, bind-policy and tenant-group in
 * cfg_parse(), and name resolution in cfg_resolve() against a fake user database.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define TEXT(s)	   .text = (s), .len = sizeof(s) - 1
#define UNRESOLVED CFG_UID_UNRESOLVED

static void parse_ok(const char *name, const char *text, struct tg_config *cfg)
{
	struct cfg_error err = { 0 };
	int ret;

	memset(cfg, 0xa5, sizeof(*cfg));
	ret = cfg_parse(text, strlen(text), cfg, &err);
	cr_assert_eq(ret, 0, "%s: cfg_parse returned %d, line %u: %s", name, ret, err.line,
		     err.message);
}

static void assert_grant(const char *name, const char *what, unsigned int i,
			 const struct tg_port_grant *got, __u32 uid, __u16 first, __u16 last)
{
	cr_assert(got->uid == uid && got->first == first && got->last == last,
		  "%s: %s[%u] is {%u, %u, %u}, want {%u, %u, %u}", name, what, i, got->uid,
		  got->first, got->last, uid, first, last);
}

Test(config_tenants, sections_and_rules)
{
	static const char text[] = "tenant-uids = 2001-2003\n"
				   "bind-policy = reserved-only\n"
				   "tenant-group = tunnels, partners\n"
				   "allow = bob:8001-8002, 8005\n"
				   "allow = 2003 : 9001\n"
				   "\n"
				   "[tenant alice]\n"
				   "ports = 8005-8010, 8001 # two ranges, sorted\n"
				   "[ tenant  carol ]\n"
				   "user = 2003\n"
				   "ports = 9001\n"
				   "[tenant web.team]\n"
				   "ports = 7000\n"
				   "user = www-data\n";
	struct tg_config cfg;
	const struct tg_policy *p = &cfg.policy;

	parse_ok("sections", text, &cfg);
	cr_assert_eq(p->bind_policy, TG_BIND_RESERVED_ONLY, "bind_policy %u", p->bind_policy);
	cr_assert_eq(p->n_reservation, 4, "n_reservation %u", p->n_reservation);
	/* Sorted by first port across sections, each with the index of its section. */
	assert_grant("sections", "reservation", 0, &p->reservation[0], UNRESOLVED, 7000, 7000);
	assert_grant("sections", "reservation", 1, &p->reservation[1], UNRESOLVED, 8001, 8001);
	assert_grant("sections", "reservation", 2, &p->reservation[2], UNRESOLVED, 8005, 8010);
	assert_grant("sections", "reservation", 3, &p->reservation[3], 2003, 9001, 9001);
	cr_assert_eq(p->n_section, 3, "n_section %u", p->n_section);
	cr_assert_str_eq(p->section[0].name, "alice");
	cr_assert_str_eq(p->section[1].name, "carol");
	cr_assert_str_eq(p->section[2].name, "web.team");
	cr_assert_eq(p->section[1].uid, 2003, "carol's uid %u", p->section[1].uid);
	cr_assert_str_eq(p->section[p->reservation_section[0]].name, "web.team");
	cr_assert_str_eq(p->section[p->reservation_section[1]].name, "alice");
	cr_assert_str_eq(p->section[p->reservation_section[2]].name, "alice");
	cr_assert_str_eq(p->section[p->reservation_section[3]].name, "carol");
	/* user defaults to the section name, at the header's line */
	cr_assert_str_eq(cfg.section_user[0].name, "alice");
	cr_assert_eq(cfg.section_user[0].line, 7, "alice's user line %u", cfg.section_user[0].line);
	cr_assert_str_eq(cfg.section_user[1].name, "", "a uid needs no lookup");
	cr_assert_str_eq(cfg.section_user[2].name, "www-data");
	cr_assert_eq(cfg.section_user[2].line, 14, "www-data line %u", cfg.section_user[2].line);
	cr_assert_eq(p->n_allow_rule, 3, "n_allow_rule %u", p->n_allow_rule);
	assert_grant("sections", "allow_rule", 0, &p->allow_rule[0], UNRESOLVED, 8001, 8002);
	assert_grant("sections", "allow_rule", 1, &p->allow_rule[1], UNRESOLVED, 8005, 8005);
	assert_grant("sections", "allow_rule", 2, &p->allow_rule[2], 2003, 9001, 9001);
	cr_assert_str_eq(cfg.allow_user[0].name, "bob");
	cr_assert_eq(cfg.allow_user[1].line, 4, "allow line %u", cfg.allow_user[1].line);
	cr_assert_eq(cfg.n_group, 2, "n_group %u", cfg.n_group);
	cr_assert_str_eq(cfg.group[0], "tunnels");
	cr_assert_str_eq(cfg.group[1], "partners");
	cr_assert_eq(cfg.group_line, 3, "group line %u", cfg.group_line);
	cr_assert_eq(cfg.first_section_line, 7, "first section line %u", cfg.first_section_line);
	cfg_free(&cfg);
}

Test(config_tenants, defaults_have_none)
{
	struct tg_config cfg;

	parse_ok("empty", "", &cfg);
	cr_assert_eq(cfg.policy.bind_policy, TG_BIND_OPEN, "default bind policy %u",
		     cfg.policy.bind_policy);
	cr_assert_eq(cfg.policy.n_reservation + cfg.policy.n_allow_rule + cfg.n_group, 0,
		     "defaults reserve nothing");
	cfg_free(&cfg);
	parse_ok("open", "bind-policy = open\ntenant-group =\n", &cfg);
	cr_assert_eq(cfg.policy.bind_policy, TG_BIND_OPEN, "bind-policy = open");
	cr_assert_eq(cfg.n_group, 0, "empty tenant-group");
	cfg_free(&cfg);
}

/* The old cap (64 reserved port ranges in all) is gone: 1,000 sections with a port each load. */
Test(config_tenants, reservations_past_the_old_cap)
{
	size_t cap = 1000 * 40, used = 0;
	char *text = malloc(cap);
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	int ret;

	cr_assert_not_null(text);
	for (int i = 0; i < 1000; i++)
		used += (size_t)snprintf(text + used, cap - used, "[tenant t%d]\nports = %d\n", i,
					 10000 + i);
	ret = cfg_parse(text, used, &cfg, &err);
	free(text);
	cr_assert_eq(ret, 0, "1000 reservations: line %u: %s", err.line, err.message);
	cr_assert_eq(cfg.policy.n_reservation, 1000, "n_reservation %u", cfg.policy.n_reservation);
	cr_assert_eq(cfg.policy.n_section, 1000, "n_section %u", cfg.policy.n_section);
	cfg_free(&cfg);
}

struct bad_case {
	const char *name;
	const char *text;
	size_t len;
	unsigned int line;
	const char *message; /* the whole message */
};

static const struct bad_case bad_cases[] = {
	{ "overlap across sections",
	  TEXT("[tenant alice]\nports = 8001-8010\n\n[tenant bob]\nports = 9000, 8005-8020\n"), 5,
	  "ports 8005-8020 overlap [tenant alice] at line 2" },
	{ "overlap across sections, the later starting lower",
	  TEXT("[tenant alice]\nports = 8005\n[tenant bob]\nports = 8001-8010\n"), 4,
	  "ports 8001-8010 overlap [tenant alice] at line 2" },
	{ "duplicate section, its first out of port order",
	  TEXT("[tenant alice]\nports = 9000\n[tenant bob]\nports = 1\n[tenant alice]\nports = 2\n"),
	  5, "duplicate [tenant alice] (its ports are on line 2)" },
	{ "same port twice", TEXT("[tenant alice]\nports = 8001\n[tenant bob]\nports = 8001\n"), 4,
	  "ports 8001 overlap [tenant alice] at line 2" },
	{ "overlap inside a section", TEXT("[tenant alice]\nports = 8001-8010, 8010\n"), 2,
	  "ports: 8001-8010 overlaps 8010" },
	{ "section without ports", TEXT("[tenant alice]\nuser = alice\n[tenant bob]\nports = 1\n"),
	  1, "[tenant alice] has no 'ports =' line (which ports are reserved for it?)" },
	{ "last section without ports", TEXT("mode = audit\n[tenant alice]\n"), 2,
	  "[tenant alice] has no 'ports =' line (which ports are reserved for it?)" },
	{ "empty ports", TEXT("[tenant alice]\nports =\n"), 2,
	  "ports: empty (which ports are reserved for [tenant alice]?)" },
	{ "port 0 reserved", TEXT("[tenant alice]\nports = 0\n"), 2,
	  "ports: port 0 is out of range (1-65535)" },
	{ "duplicate section", TEXT("[tenant alice]\nports = 1\n[tenant alice]\nports = 2\n"), 3,
	  "duplicate [tenant alice] (its ports are on line 2)" },
	{ "duplicate ports", TEXT("[tenant alice]\nports = 1\nports = 2\n"), 3,
	  "duplicate key 'ports' in [tenant alice] (first set on line 2)" },
	{ "duplicate user", TEXT("[tenant alice]\nuser = a\nuser = 2001\nports = 1\n"), 3,
	  "duplicate key 'user' in [tenant alice] (first set on line 2)" },
	{ "global key in a section", TEXT("\n[tenant alice]\nports = 1\nmode = audit\n"), 4,
	  "key 'mode' is global: move it above the first [tenant] section (line 2)" },
	{ "allow in a section", TEXT("[tenant alice]\nports = 1\nallow = bob:1\n"), 3,
	  "key 'allow' is global: move it above the first [tenant] section (line 1)" },
	{ "unknown key in a section", TEXT("[tenant alice]\nport = 1\n"), 2,
	  "unknown key 'port' in [tenant alice] (valid keys: user, ports, max-tunnels)" },
	{ "ports outside a section", TEXT("ports = 8001\n"), 1,
	  "unknown key 'ports' (valid keys: mode, policy, deny-errno, tenant-uids, exempt-uids, "
	  "allow-ports, layers, bind-policy, tenant-group, allow, port-owner-max, max-tunnels; "
	  "user and ports "
	  "belong in a "
	  "[tenant "
	  "NAME] section)" },
	{ "other section kind", TEXT("[global]\n"), 1,
	  "invalid section header '[global]' (expected [tenant NAME])" },
	{ "unclosed header", TEXT("[tenant alice\n"), 1,
	  "invalid section header '[tenant alice' (expected [tenant NAME])" },
	{ "header without a name", TEXT("[tenant]\n"), 1,
	  "invalid section header '[tenant]' (expected [tenant NAME])" },
	{ "name with a blank", TEXT("[tenant al ice]\n"), 1,
	  "invalid tenant name 'al ice' (expected at most 31 of A-Z a-z 0-9 . _ -, not only "
	  "digits)" },
	{ "numeric name", TEXT("[tenant 2001]\n"), 1,
	  "invalid tenant name '2001' (expected at most 31 of A-Z a-z 0-9 . _ -, not only "
	  "digits)" },
	{ "root by uid", TEXT("[tenant admin]\nuser = 0\nports = 1\n"), 2,
	  "user: uid 0 is root, which is never restricted" },
	{ "bad user", TEXT("[tenant alice]\nuser = al:ice\nports = 1\n"), 2,
	  "user: invalid user 'al:ice' (expected a user name of at most 31 of A-Z a-z 0-9 . _ -, "
	  "or a uid)" },
	{ "uid too big", TEXT("[tenant alice]\nuser = 4294967295\nports = 1\n"), 2,
	  "user: uid '4294967295' is out of range (1-4294967294)" },
	{ "bad bind-policy", TEXT("bind-policy = strict\n"), 1,
	  "invalid bind-policy 'strict' (expected open or reserved-only)" },
	{ "allow without a colon", TEXT("allow = bob\n"), 1,
	  "allow: expected USER:PORTS (e.g. bob:8001-8002), not 'bob'" },
	{ "allow without ports", TEXT("allow = bob:\n"), 1,
	  "allow: no ports after 'bob' (expected USER:PORTS)" },
	{ "allow without a user", TEXT("allow = :8001\n"), 1,
	  "allow: invalid user '' (expected a user name of at most 31 of A-Z a-z 0-9 . _ -, or a "
	  "uid)" },
	{ "allow for root", TEXT("allow = 0:8001\n"), 1,
	  "allow: uid 0 is root, which is never restricted" },
	{ "allow with a bad port", TEXT("allow = bob:80x\n"), 1,
	  "allow: invalid entry '80x' (expected a port or a range A-B, in decimal)" },
	{ "tenant-group stray comma", TEXT("tenant-group = a,,b\n"), 1,
	  "tenant-group: empty entry (stray comma?)" },
	{ "tenant-group twice in one line", TEXT("tenant-group = a, a\n"), 1,
	  "tenant-group: group 'a' is listed twice" },
	{ "tenant-group bad name", TEXT("tenant-group = a b\n"), 1,
	  "tenant-group: invalid group 'a b' (expected a group name of at most 31 of A-Z a-z "
	  "0-9 . _ -)" },
	{ "duplicate tenant-group", TEXT("tenant-group = a\ntenant-group = b\n"), 2,
	  "duplicate key 'tenant-group' (first set on line 1)" },
};

Test(config_tenants, parse_bad)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cfg_error err;
		struct tg_config cfg;
		int ret;

		memset(&err, 0xa5, sizeof(err));
		ret = cfg_parse(c->text, c->len, &cfg, &err);
		cr_assert_eq(ret, -EINVAL, "%s: cfg_parse returned %d, want -EINVAL", c->name, ret);
		cr_assert_eq(err.line, c->line, "%s: error on line %u, want %u (%s)", c->name,
			     err.line, c->line, err.message);
		cr_assert_str_eq(err.message, c->message, "%s: message \"%s\", want \"%s\"",
				 c->name, err.message, c->message);
	}
}

/* ------------------------------------------------------------------ cfg_resolve */

/* A fake user database: alice 2001, bob 2002, root 0; group tunnels = bob + primary dave 2004;
 * group admins has root; group broken fails to list. */
static int fake_user_uid(void *ctx, const char *name, __u32 *uid)
{
	static const struct {
		const char *name;
		__u32 uid;
	} users[] = { { "alice", 2001 }, { "bob", 2002 }, { "root", 0 }, { "dave", 2004 } };

	(void)ctx;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strcmp(users[i].name, name) == 0) {
			*uid = users[i].uid;
			return 0;
		}
	}
	return -ENOENT;
}

static int fake_group_members(void *ctx, const char *name,
			      int (*add)(void *arg, const char *member, __u32 uid), void *arg)
{
	int ret;

	(void)ctx;
	if (strcmp(name, "tunnels") == 0) {
		ret = add(arg, "bob", 2002);
		return ret ? ret : add(arg, "dave", 2004);
	}
	if (strcmp(name, "many") == 0) {
		/* every other uid: no two are adjacent, so each needs a range of its own */
		for (__u32 uid = 5000; uid < 5000 + 2 * 40; uid += 2) {
			ret = add(arg, "m", uid);
			if (ret)
				return ret;
		}
		return 0;
	}
	if (strcmp(name, "many-high") == 0) {
		/* 40 runs of adjacent uids above the uid bitmap, each too wide to be listed uid by
		 * uid: at most TG_MAX_HIGH_RANGES such ranges fit */
		for (__u32 run = 0; run < 40; run++)
			for (__u32 uid = 0; uid <= TG_HIGH_UID_SPAN; uid++) {
				ret = add(arg, "m", TG_UID_BITMAP_MAX + run * 1000 + uid);
				if (ret)
					return ret;
			}
		return 0;
	}
	if (strcmp(name, "admins") == 0)
		return add(arg, "root", 0);
	if (strcmp(name, "broken") == 0)
		return -EIO;
	return -ENOENT;
}

static const struct cfg_directory fake_directory = {
	.user_uid = fake_user_uid,
	.group_members = fake_group_members,
};

Test(config_tenants, resolve_names_and_groups)
{
	static const char text[] = "tenant-uids = 1000-1999\n"
				   "tenant-group = tunnels\n"
				   "allow = bob:8001\n"
				   "[tenant alice]\n"
				   "ports = 8001\n"
				   "[tenant carol]\n"
				   "user = 3000\n"
				   "ports = 8002\n";
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	const struct tg_policy *p = &cfg.policy;
	char buf[256];

	parse_ok("resolve", text, &cfg);
	cr_assert_eq(cfg_resolve(&cfg, &fake_directory, &err), 0, "cfg_resolve: line %u: %s",
		     err.line, err.message);
	assert_grant("resolve", "reservation", 0, &p->reservation[0], 2001, 8001, 8001);
	assert_grant("resolve", "reservation", 1, &p->reservation[1], 3000, 8002, 8002);
	assert_grant("resolve", "allow_rule", 0, &p->allow_rule[0], 2002, 8001, 8001);
	/* [tenant] users (2001, 3000) and group members (2002, 2004) are tenants now; 2001 and
	 * 2002 join into one range. */
	cfg_format_uid_ranges(p->tenant, p->n_tenant, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1000-1999, 2001-2002, 2004, 3000", "tenant uids \"%s\"", buf);
	cr_assert(policy_is_tenant(p, 2004) && !policy_is_tenant(p, 2003),
		  "policy_is_tenant after resolve");
	cfg_free(&cfg);
}

/* 40 scattered members below the uid bitmap's end (the old cap was 32 ranges): all tenants. */
Test(config_tenants, resolve_scattered_group)
{
	struct cfg_error err = { 0 };
	struct tg_config cfg;

	parse_ok("scattered", "tenant-uids = 1000\ntenant-group = many\n", &cfg);
	cr_assert_eq(cfg_resolve(&cfg, &fake_directory, &err), 0, "cfg_resolve: line %u: %s",
		     err.line, err.message);
	cr_assert_eq(cfg.policy.n_tenant, 41, "n_tenant %u", cfg.policy.n_tenant);
	for (__u32 uid = 5000; uid < 5080; uid++)
		cr_assert_eq(policy_is_tenant(&cfg.policy, uid), uid % 2 == 0,
			     "policy_is_tenant(%u)", uid);
	cfg_free(&cfg);
}

Test(config_tenants, resolve_keeps_covered_uids)
{
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	char buf[256];

	parse_ok("covered", "tenant-group = tunnels\n[tenant alice]\nports = 1\n", &cfg);
	cr_assert_eq(cfg_resolve(&cfg, &fake_directory, &err), 0, "cfg_resolve: %s", err.message);
	cfg_format_uid_ranges(cfg.policy.tenant, cfg.policy.n_tenant, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1000-59999", "the default range already covers them: \"%s\"", buf);
	cfg_free(&cfg);
}

/* 33 ranges of 501 uids above the uid bitmap: one more than TG_MAX_HIGH_RANGES. */
#define WIDE_HIGH_RANGES                                                               \
	"20000000-20000500, 20001000-20001500, 20002000-20002500, 20003000-20003500, " \
	"20004000-20004500, 20005000-20005500, 20006000-20006500, 20007000-20007500, " \
	"20008000-20008500, 20009000-20009500, 20010000-20010500, 20011000-20011500, " \
	"20012000-20012500, 20013000-20013500, 20014000-20014500, 20015000-20015500, " \
	"20016000-20016500, 20017000-20017500, 20018000-20018500, 20019000-20019500, " \
	"20020000-20020500, 20021000-20021500, 20022000-20022500, 20023000-20023500, " \
	"20024000-20024500, 20025000-20025500, 20026000-20026500, 20027000-20027500, " \
	"20028000-20028500, 20029000-20029500, 20030000-20030500, 20031000-20031500, " \
	"20032000-20032500"

struct resolve_bad_case {
	const char *name;
	const char *text;
	unsigned int line;
	const char *message;
};

static const struct resolve_bad_case resolve_bad_cases[] = {
	{ "unknown tenant user", "mode = audit\n[tenant zed]\nports = 8001\n", 2,
	  "[tenant zed]: no user 'zed' on this host (create the account, or give its uid)" },
	{ "unknown explicit user", "[tenant a]\nports = 1\nuser = nobody-here\n", 3,
	  "[tenant a]: no user 'nobody-here' on this host (create the account, or give its uid)" },
	{ "root by name", "[tenant admin]\nuser = root\nports = 1\n", 2,
	  "[tenant admin]: user 'root' is uid 0 (root), which is never restricted" },
	{ "unknown allow user", "\nallow = zed:8001\n", 2,
	  "allow: no user 'zed' on this host (create the account, or give its uid)" },
	{ "allow for root by name", "allow = root:1\n", 1,
	  "allow: user 'root' is uid 0 (root), which is never restricted" },
	{ "unknown group", "tenant-group = tunnels, ghosts\n", 1,
	  "tenant-group: no group 'ghosts' on this host (create it with groupadd, or remove it "
	  "here)" },
	{ "group with root", "tenant-group = admins\n", 1,
	  "tenant-group: group 'admins' has member 'root' (uid 0), which cannot be a tenant" },
	{ "group lookup fails", "tenant-group = broken\n", 1,
	  "tenant-group: cannot list the members of group 'broken': Input/output error" },
	{ "too many wide tenant ranges above the bitmap, from a group",
	  "tenant-uids = 1000\n\ntenant-group = many-high\n", 3,
	  "tenant uids at or above 16777216 make more than 32 ranges of over 256 uids, or more than 1048576 uids in smaller runs (below it any number is fine): merge the wide ranges" },
	{ "too many wide tenant ranges above the bitmap, from tenant-uids",
	  "mode = enforce\ntenant-uids = 1000, " WIDE_HIGH_RANGES "\n", 2,
	  "tenant uids at or above 16777216 make more than 32 ranges of over 256 uids, or more than 1048576 uids in smaller runs (below it any number is fine): merge the wide ranges" },
};

Test(config_tenants, resolve_bad)
{
	for (size_t i = 0; i < sizeof(resolve_bad_cases) / sizeof(resolve_bad_cases[0]); i++) {
		const struct resolve_bad_case *c = &resolve_bad_cases[i];
		struct cfg_error err;
		struct tg_config cfg;
		int ret;

		parse_ok(c->name, c->text, &cfg);
		memset(&err, 0xa5, sizeof(err));
		ret = cfg_resolve(&cfg, &fake_directory, &err);
		cr_assert_eq(ret, -EINVAL, "%s: cfg_resolve returned %d, want -EINVAL", c->name,
			     ret);
		cr_assert_eq(err.line, c->line, "%s: error on line %u, want %u (%s)", c->name,
			     err.line, c->line, err.message);
		cr_assert_str_eq(err.message, c->message, "%s: message \"%s\"", c->name,
				 err.message);
		cfg_free(&cfg);
	}
}

/* cfg_load() resolves with the host's user database: root exists on every host. */
Test(config_tenants, load_resolves_with_the_host)
{
	char path[] = "/tmp/tg-test-config-tenants-XXXXXX";
	static const char text[] = "[tenant admin]\nuser = root\nports = 1\n";
	struct tg_config cfg;
	FILE *f;
	int fd, ret;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	f = fdopen(fd, "w");
	cr_assert_not_null(f, "fdopen");
	fputs(text, f);
	fclose(f);
	fflush(stderr);
	ret = cfg_load(path, &cfg);
	unlink(path);
	cr_assert_eq(ret, -EINVAL, "cfg_load of a root tenant returned %d", ret);
}
