// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config_scale.c - the config at hub scale (issue 16): 50,000 [tenant] sections, a
 * 100,000-member tenant-group, errors found among them, and drop-ins (cfg_parse_texts, and
 * cfg_load with a tenants.d directory).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define SECTIONS 50000
#define MEMBERS	 100000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The port of section i: a permutation of 10000-59999, so that port order is not config order. */
static __u16 port_of(unsigned int i)
{
	return (__u16)(10000 + (i * 7919u) % SECTIONS);
}

/*
 * SECTIONS sections "[tenant tNNNNN]\nuser = UID\nports = PORT\n" (3 lines each: section i's
 * header is line 3i+1, its ports line 3i+3); dup_of >= 0 names section last like section dup_of,
 * overlap_of >= 0 gives section last the port of section overlap_of.
 */
static char *sections_text(size_t *len, int dup_of, int overlap_of)
{
	size_t cap = (size_t)SECTIONS * 64, used = 0;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	for (unsigned int i = 0; i < SECTIONS; i++) {
		unsigned int name = i, port = i;

		if (i == SECTIONS - 1 && dup_of >= 0)
			name = (unsigned int)dup_of;
		if (i == SECTIONS - 1 && overlap_of >= 0)
			port = (unsigned int)overlap_of;
		used += (size_t)snprintf(text + used, cap - used,
					 "[tenant t%05u]\nuser = %u\nports = %u\n", name,
					 100000 + i, port_of(port));
	}
	*len = used;
	return text;
}

/* A fake user database: group "hub" has MEMBERS members with scattered uids. */
static __u32 member_uid(unsigned int i)
{
	/* Every third uid (no two adjacent: one range each): the first half from 100,000, the
	 * second far above the uid bitmap, as a directory service's uids are (FreeIPA's from
	 * about 1,500,000,000). */
	if (i >= MEMBERS / 2)
		return 1500000000 + 3 * (i - MEMBERS / 2);
	return 100000 + 3 * i;
}

static int fake_user_uid(void *ctx, const char *name, __u32 *uid)
{
	(void)ctx;
	(void)name;
	(void)uid;
	return -ENOENT;
}

static int fake_group_members(void *ctx, const char *name,
			      int (*add)(void *arg, const char *member, __u32 uid), void *arg)
{
	(void)ctx;
	if (strcmp(name, "hub") != 0)
		return -ENOENT;
	for (unsigned int i = 0; i < MEMBERS; i++) {
		char member[16];
		int ret;

		snprintf(member, sizeof(member), "m%u", i);
		ret = add(arg, member, member_uid(i));
		if (ret)
			return ret;
	}
	return 0;
}

static const struct cfg_directory fake_directory = {
	.user_uid = fake_user_uid,
	.group_members = fake_group_members,
};

Test(config_scale, fifty_thousand_sections)
{
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	const struct tg_policy *p = &cfg.policy;
	size_t len;
	char *text = sections_text(&len, -1, -1);
	double t0, parse, resolve;
	int ret;

	t0 = now();
	ret = cfg_parse(text, len, &cfg, &err);
	parse = now() - t0;
	free(text);
	cr_assert_eq(ret, 0, "line %u: %s", err.line, err.message);
	t0 = now();
	ret = cfg_resolve(&cfg, &fake_directory, &err);
	resolve = now() - t0;
	cr_assert_eq(ret, 0, "cfg_resolve: line %u: %s", err.line, err.message);
	fprintf(stderr,
		"config_scale: %d sections (%zu bytes): cfg_parse %.3f s, cfg_resolve %.3f s\n",
		SECTIONS, len, parse, resolve);
	cr_assert_lt(parse, 2.0, "cfg_parse of %d sections took %.3f s", SECTIONS, parse);
	cr_assert_lt(resolve, 2.0, "cfg_resolve of %d sections took %.3f s", SECTIONS, resolve);
	cr_assert_eq(p->n_section, SECTIONS, "n_section %u", p->n_section);
	cr_assert_eq(p->n_reservation, SECTIONS, "n_reservation %u", p->n_reservation);
	/* Every reservation maps back to its section, and the port lookup finds it. */
	for (unsigned int r = 0; r < p->n_reservation; r++) {
		__u32 s = p->reservation_section[r];
		char want[TG_NAME_LEN];
		struct tg_port_policy pp;

		cr_assert_lt(s, p->n_section, "reservation %u of section %u", r, s);
		snprintf(want, sizeof(want), "t%05u", s);
		cr_assert_str_eq(p->section[s].name, want, "section %u is '%s'", s,
				 p->section[s].name);
		cr_assert_eq(p->reservation[r].first, port_of(s), "section %s: port %u, want %u",
			     want, p->reservation[r].first, port_of(s));
		cr_assert_eq(p->reservation[r].uid, 100000 + s, "section %s: uid %u", want,
			     p->reservation[r].uid);
		cr_assert(r == 0 || p->reservation[r].first > p->reservation[r - 1].last,
			  "reservation %u not sorted", r);
		pp = policy_port(p, port_of(s));
		cr_assert(pp.reserved_for == 100000 + s && pp.tenant == s + 1,
			  "policy_port(%u): {%u, %u}", port_of(s), pp.reserved_for, pp.tenant);
	}
	/* Each [tenant] user is a tenant now. */
	cr_assert(policy_is_tenant(p, 100000) && policy_is_tenant(p, 100000 + SECTIONS - 1) &&
			  !policy_is_tenant(p, 100000 + SECTIONS),
		  "the section users are not all tenants");
	cfg_free(&cfg);
}

/* Among 50,000 sections, the last overlapping the 8th: reported at the last, naming the 8th. */
Test(config_scale, overlap_among_many)
{
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	char want[128];
	size_t len;
	char *text = sections_text(&len, -1, 7);
	int ret = cfg_parse(text, len, &cfg, &err);

	free(text);
	cr_assert_eq(ret, -EINVAL, "an overlap among %d sections parsed", SECTIONS);
	cr_assert_eq(err.line, 3 * (SECTIONS - 1) + 3, "error on line %u", err.line);
	snprintf(want, sizeof(want), "ports %u overlap [tenant t00007] at line %u", port_of(7),
		 3 * 7 + 3);
	cr_assert_str_eq(err.message, want);
}

Test(config_scale, duplicate_among_many)
{
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	size_t len;
	char *text = sections_text(&len, 3, -1);
	int ret = cfg_parse(text, len, &cfg, &err);

	free(text);
	cr_assert_eq(ret, -EINVAL, "a duplicate section among %d parsed", SECTIONS);
	cr_assert_eq(err.line, 3 * (SECTIONS - 1) + 1, "error on line %u", err.line);
	cr_assert_str_eq(err.message, "duplicate [tenant t00003] (its ports are on line 12)");
}

Test(config_scale, hundred_thousand_member_group)
{
	static const char text[] = "tenant-uids = 1000-1999\ntenant-group = hub\n";
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	struct tg_settings s;
	__u32 *listed = NULL;
	size_t n_listed = 0;
	double t0, took;
	int ret;

	cr_assert_eq(cfg_parse(text, sizeof(text) - 1, &cfg, &err), 0, "%s", err.message);
	t0 = now();
	ret = cfg_resolve(&cfg, &fake_directory, &err);
	took = now() - t0;
	fprintf(stderr, "config_scale: tenant-group of %d members: cfg_resolve %.3f s\n", MEMBERS,
		took);
	cr_assert_eq(ret, 0, "cfg_resolve: line %u: %s", err.line, err.message);
	cr_assert_str_empty(err.message, "a message on success: %s", err.message);
	cr_assert_eq(cfg.policy.n_tenant, MEMBERS + 1, "n_tenant %u", cfg.policy.n_tenant);
	for (unsigned int i = 0; i < MEMBERS; i++) {
		__u32 uid = member_uid(i);

		cr_assert(policy_is_tenant(&cfg.policy, uid), "member %u (uid %u) is no tenant", i,
			  uid);
		cr_assert(!policy_is_tenant(&cfg.policy, uid + 1), "uid %u is a tenant", uid + 1);
	}
	cr_assert(policy_is_tenant(&cfg.policy, 1500) && !policy_is_tenant(&cfg.policy, 99999) &&
			  !policy_is_tenant(&cfg.policy, 100000 - 1) &&
			  !policy_is_tenant(&cfg.policy, 100002),
		  "non-members");
	/* The kernel gets them too: a bitmap below TG_UID_BITMAP_MAX, the others listed. */
	cr_assert_eq(policy_settings(&cfg.policy, &s), 0);
	cr_assert_eq(s.n_high, 0, "n_high %u", s.n_high);
	cr_assert_eq(s.uid_bitmap_limit, (100000 + 3 * (MEMBERS / 2 - 1) + 1 + 63) / 64 * 64,
		     "uid_bitmap_limit %u", s.uid_bitmap_limit);
	cr_assert_eq(policy_high_listed(&cfg.policy, &listed, &n_listed), 0);
	cr_assert_eq(n_listed, MEMBERS - MEMBERS / 2, "%zu uids listed", n_listed);
	cr_assert(listed[0] == 1500000000 && listed[n_listed - 1] == member_uid(MEMBERS - 1),
		  "listed %u..%u", listed[0], listed[n_listed - 1]);
	free(listed);
	cfg_free(&cfg);
}

/* ------------------------------------------------------------------ drop-ins */

#define T(s)                       \
	{                          \
		(s), sizeof(s) - 1 \
	}

Test(config_scale, texts_number_lines_across_files)
{
	static const struct {
		const char *name;
		struct cfg_text texts[3];
		size_t n;
		unsigned int line;
		const char *message;
	} cases[] = {
		{ "error in the third text",
		  { T("mode = audit\n[tenant a]\nports = 1\n"), T("[tenant b]\nports = 2\n"),
		    T("[tenant c]\nports = x\n") },
		  3,
		  7,
		  "ports: invalid entry 'x' (expected a port or a range A-B, in decimal)" },
		{ "a text without a final newline ends its line",
		  { T("mode = audit\n[tenant a]\nports = 1\n"), T("[tenant b]\nports = 2"),
		    T("bogus = 1\n") },
		  3,
		  6,
		  "'bogus' outside a [tenant NAME] section: a file of tenants.d holds only [tenant] sections (global keys go in the main config)" },
		{ "a global key in a drop-in",
		  { T("mode = audit\n"), T("\nmode = enforce\n") },
		  2,
		  3,
		  "'mode' outside a [tenant NAME] section: a file of tenants.d holds only [tenant] sections (global keys go in the main config)" },
		{ "a section does not go on into the next file",
		  { T("\n"), T("[tenant b]\n"), T("ports = 2\n") },
		  3,
		  2,
		  "[tenant b] has no 'ports =' line (which ports are reserved for it?)" },
		{ "overlap across files, at the later file's line",
		  { T("[tenant a]\nports = 8001-8010\n"), T("# b\n[tenant b]\nports = 8005\n") },
		  2,
		  5,
		  "ports 8005 overlap [tenant a] at text 1 line 2" },
		{ "duplicate across files",
		  { T("[tenant a]\nports = 1\n"), T("[tenant a]\nports = 2\n") },
		  2,
		  3,
		  "duplicate [tenant a] (its ports are on text 1 line 2)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err;
		struct tg_config cfg;
		int ret;

		memset(&err, 0xa5, sizeof(err));
		ret = cfg_parse_texts(cases[i].texts, cases[i].n, &cfg, &err);
		cr_assert_eq(ret, -EINVAL, "%s: returned %d", cases[i].name, ret);
		cr_assert_eq(err.line, cases[i].line, "%s: line %u, want %u (%s)", cases[i].name,
			     err.line, cases[i].line, err.message);
		cr_assert_str_eq(err.message, cases[i].message, "%s: \"%s\"", cases[i].name,
				 err.message);
	}
}

Test(config_scale, texts_sections_from_every_file)
{
	static const struct cfg_text texts[] = {
		T("mode = audit\n[tenant a]\nuser = 2001\nports = 9\n"),
		T(""),
		T("[tenant b]\nuser = 2002\nports = 3\n[tenant c]\nuser = 2003\nports = 5-6\n"),
	};
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	const struct tg_policy *p = &cfg.policy;

	cr_assert_eq(cfg_parse_texts(texts, 3, &cfg, &err), 0, "line %u: %s", err.line,
		     err.message);
	cr_assert_eq(p->mode, TG_MODE_AUDIT);
	cr_assert_eq(p->n_section, 3, "n_section %u", p->n_section);
	cr_assert_str_eq(p->section[0].name, "a");
	cr_assert_str_eq(p->section[1].name, "b");
	cr_assert_str_eq(p->section[2].name, "c");
	cr_assert_eq(p->n_reservation, 3);
	cr_assert(policy_port(p, 3).reserved_for == 2002 && policy_port(p, 3).tenant == 2,
		  "port 3");
	cr_assert(policy_port(p, 6).reserved_for == 2003 && policy_port(p, 6).tenant == 3,
		  "port 6");
	cr_assert(policy_port(p, 9).reserved_for == 2001 && policy_port(p, 9).tenant == 1,
		  "port 9");
	cfg_free(&cfg);
}

/* A temp dir with main.conf and tenants.d/; removed on every path. */
static char dir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void setup_dir(void)
{
	char path[256];

	snprintf(dir, sizeof(dir), "/tmp/tg-test-dropins-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/tenants.d", dir);
	cr_assert_eq(mkdir(path, 0700), 0, "mkdir: %s", strerror(errno));
}

static void cleanup_dir(void)
{
	char cmd[128];

	if (!dir[0] || strncmp(dir, "/tmp/tg-test-dropins-", 21) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	dir[0] = '\0';
}

static int load_capturing(const char *path, struct tg_config *cfg, char *out, size_t out_len)
{
	FILE *capture = tmpfile();
	int saved, ret;
	size_t n;

	cr_assert_not_null(capture);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	cr_assert(saved >= 0 && dup2(fileno(capture), STDERR_FILENO) >= 0);
	ret = cfg_load(path, cfg);
	fflush(stderr);
	cr_assert(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(capture);
	n = fread(out, 1, out_len - 1, capture);
	out[n] = '\0';
	fclose(capture);
	return ret;
}

static void write_dropins(void)
{
	write_file("main.conf", "mode = audit\ntenant-uids = 2001-2010\n[tenant m]\nuser = 2001\n"
				"ports = 7001\n");
	write_file("tenants.d/a.conf", "[tenant a]\nuser = 2002\nports = 7002\n");
	write_file("tenants.d/b.conf", "# b\n[tenant b]\nuser = 2003\nports = 7003\n");
	/* Not drop-ins: hidden, or not ending in .conf. Each would fail the load if read. */
	write_file("tenants.d/.hidden.conf", "bogus\n");
	write_file("tenants.d/c.conf.bak", "bogus\n");
	write_file("tenants.d/notes.txt", "bogus\n");
	write_file("tenants.d/.conf", "bogus\n");
}

Test(config_scale, load_with_dropins, .init = setup_dir, .fini = cleanup_dir)
{
	struct tg_config cfg;
	const struct tg_policy *p = &cfg.policy;
	char path[256], out[2048];
	int ret;

	write_dropins();
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	ret = load_capturing(path, &cfg, out, sizeof(out));
	cr_assert_eq(ret, 0, "cfg_load: %d: %s", ret, out);
	cr_assert_str_empty(out, "stderr: %s", out);
	cr_assert_eq(p->mode, TG_MODE_AUDIT);
	cr_assert_eq(p->n_section, 3, "n_section %u", p->n_section);
	/* The main file's sections first, then the drop-ins in name order. */
	cr_assert_str_eq(p->section[0].name, "m");
	cr_assert_str_eq(p->section[1].name, "a");
	cr_assert_str_eq(p->section[2].name, "b");
	for (unsigned int i = 0; i < 3; i++) {
		struct tg_port_policy pp = policy_port(p, (__u16)(7001 + i));

		cr_assert(pp.reserved_for == 2001 + i && pp.tenant == i + 1, "port %u: {%u, %u}",
			  7001 + i, pp.reserved_for, pp.tenant);
	}
	cfg_free(&cfg);
}

Test(config_scale, load_dropin_error_names_its_file, .init = setup_dir, .fini = cleanup_dir)
{
	struct tg_config cfg;
	char path[256], out[2048], want[1024];
	int ret;

	write_dropins();
	write_file("tenants.d/b.conf", "# b\nmode = enforce\n[tenant b]\nports = 7003\n");
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	ret = load_capturing(path, &cfg, out, sizeof(out));
	cr_assert_eq(ret, -EINVAL, "cfg_load: %d: %s", ret, out);
	snprintf(
		want, sizeof(want),
		"%s/tenants.d/b.conf:2: 'mode' outside a [tenant NAME] section: a file of tenants.d holds only [tenant] sections (global keys go in the main config)\n",
		dir);
	cr_assert_str_eq(out, want);

	/* An error in the main file keeps its own line. */
	write_file("tenants.d/b.conf", "# b\n[tenant b]\nuser = 2003\nports = 7003\n");
	write_file("main.conf", "mode = audit\n\nbogus = 1\n");
	ret = load_capturing(path, &cfg, out, sizeof(out));
	cr_assert_eq(ret, -EINVAL, "cfg_load: %d: %s", ret, out);
	cr_assert(strncmp(out, path, strlen(path)) == 0 &&
			  strncmp(out + strlen(path), ":3: ", 4) == 0,
		  "stderr: %s", out);

	/* An overlap between two drop-ins: at the later file's own line, naming the earlier file
	 * and its own line. */
	write_file("main.conf", "mode = audit\n");
	write_file("tenants.d/b.conf", "[tenant b]\nuser = 2003\nports = 7002\n");
	ret = load_capturing(path, &cfg, out, sizeof(out));
	cr_assert_eq(ret, -EINVAL, "cfg_load: %d: %s", ret, out);
	snprintf(want, sizeof(want),
		 "%s/tenants.d/b.conf:3: ports 7002 overlap [tenant a] at %s/tenants.d/a.conf:3\n",
		 dir, dir);
	cr_assert(strncmp(out, want, strlen(want)) == 0, "the overlap: \"%s\", want \"%s...\"", out,
		  want);
}
