// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_prometheus.c - `status --prometheus` (userspace/prometheus.c) on hand-built status
 * reports: exact lines, label escaping, and the whole output through a strict checker of the
 * text exposition format (and, when installed, the reference Python client's parser).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prometheus.h"
#include "reasons.h"

/* The whole output of prometheus_print(r) as a string; the caller frees it. */
static char *render(const struct status_report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f, "open_memstream failed");
	prometheus_print(f, r);
	cr_assert_eq(fclose(f), 0, "fclose of the memstream failed");
	return text;
}

static char *render_label(const char *value)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f, "open_memstream failed");
	prometheus_label_value(f, value);
	cr_assert_eq(fclose(f), 0, "fclose of the memstream failed");
	return text;
}

/* Does text hold line as a whole line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* ---- a strict checker of the text exposition format, version 0.0.4 ---- */

static bool is_name(const char *s, size_t n, bool colon_ok)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || (colon_ok && s[i] == ':')))
			return false;
	return true;
}

#define MAX_SEEN 128

struct checker {
	char typed[MAX_SEEN][128]; /* families with a TYPE line */
	char helped[MAX_SEEN][128];
	char closed[MAX_SEEN][128]; /* families whose samples ended */
	char series[MAX_SEEN][256]; /* name{labels} of every sample */
	unsigned int n_typed, n_helped, n_closed, n_series;
	char current[128]; /* family of the previous line */
	char error[256];
};

static bool seen(char (*list)[128], unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* A new line of family name: the previous family is over unless it is the same one. */
static bool enter_family(struct checker *c, const char *name, unsigned int line)
{
	if (strcmp(c->current, name) == 0)
		return true;
	if (seen(c->closed, c->n_closed, name)) {
		snprintf(c->error, sizeof(c->error), "line %u: family %s is not contiguous", line,
			 name);
		return false;
	}
	if (c->current[0] && c->n_closed < MAX_SEEN)
		snprintf(c->closed[c->n_closed++], 128, "%s", c->current);
	snprintf(c->current, sizeof(c->current), "%s", name);
	return true;
}

/* Labels between { and }: name="value" pairs, escapes \\ \" \n only, no repeated name. */
static const char *check_labels(const char *p, unsigned int line, struct checker *c)
{
	char names[16][64];
	unsigned int n = 0;

	for (;;) {
		const char *start = p;

		while (*p && *p != '=')
			p++;
		if (!*p || !is_name(start, p - start, false) || p - start >= 64 || n == 16) {
			snprintf(c->error, sizeof(c->error), "line %u: bad label name", line);
			return NULL;
		}
		for (unsigned int i = 0; i < n; i++)
			if (strlen(names[i]) == (size_t)(p - start) &&
			    !strncmp(names[i], start, p - start)) {
				snprintf(c->error, sizeof(c->error), "line %u: repeated label %s",
					 line, names[i]);
				return NULL;
			}
		snprintf(names[n++], 64, "%.*s", (int)(p - start), start);
		if (*++p != '"') {
			snprintf(c->error, sizeof(c->error), "line %u: label value not quoted",
				 line);
			return NULL;
		}
		for (p++; *p != '"'; p++) {
			if (!*p || *p == '\n') {
				snprintf(c->error, sizeof(c->error), "line %u: unterminated value",
					 line);
				return NULL;
			}
			if (*p == '\\' && !strchr("\\\"n", *++p)) {
				snprintf(c->error, sizeof(c->error), "line %u: bad escape \\%c",
					 line, *p);
				return NULL;
			}
		}
		p++;
		if (*p == '}')
			return p + 1;
		if (*p != ',') {
			snprintf(c->error, sizeof(c->error), "line %u: expected , or }", line);
			return NULL;
		}
		p++;
	}
}

static bool check_sample(struct checker *c, const char *s, unsigned int line)
{
	const char *p = s, *after;
	char name[128], *end;

	while (*p && *p != '{' && *p != ' ')
		p++;
	if (!is_name(s, p - s, true) || p - s >= 128) {
		snprintf(c->error, sizeof(c->error), "line %u: bad metric name", line);
		return false;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(p - s), s);
	if (!seen(c->typed, c->n_typed, name)) {
		snprintf(c->error, sizeof(c->error), "line %u: %s has no TYPE line before it", line,
			 name);
		return false;
	}
	if (!enter_family(c, name, line))
		return false;
	after = *p == '{' ? check_labels(p + 1, line, c) : p;
	if (!after)
		return false;
	if (*after != ' ' || !after[1]) {
		snprintf(c->error, sizeof(c->error), "line %u: no value", line);
		return false;
	}
	for (unsigned int i = 0; i < c->n_series; i++)
		if (strlen(c->series[i]) == (size_t)(after - s) &&
		    !strncmp(c->series[i], s, after - s)) {
			snprintf(c->error, sizeof(c->error), "line %u: duplicate series", line);
			return false;
		}
	if (c->n_series < MAX_SEEN)
		snprintf(c->series[c->n_series++], 256, "%.*s", (int)(after - s), s);
	strtod(after + 1, &end);
	if (end == after + 1 || *end) {
		snprintf(c->error, sizeof(c->error), "line %u: value %s is not a number", line,
			 after + 1);
		return false;
	}
	return true;
}

static bool check_comment(struct checker *c, const char *s, unsigned int line)
{
	bool help = !strncmp(s, "# HELP ", 7), type = !strncmp(s, "# TYPE ", 7);
	const char *name = s + 7, *space;
	char fam[128];

	if (!help && !type)
		return true; /* a plain comment */
	space = strchr(name, ' ');
	if (!space || !is_name(name, space - name, true) || space - name >= 128) {
		snprintf(c->error, sizeof(c->error), "line %u: bad name in %.6s", line, s);
		return false;
	}
	snprintf(fam, sizeof(fam), "%.*s", (int)(space - name), name);
	if (!enter_family(c, fam, line))
		return false;
	if (help) {
		if (seen(c->helped, c->n_helped, fam)) {
			snprintf(c->error, sizeof(c->error), "line %u: second HELP for %s", line,
				 fam);
			return false;
		}
		for (const char *q = space + 1; *q; q++)
			if (*q == '\\' && !strchr("\\n", *++q)) {
				snprintf(c->error, sizeof(c->error), "line %u: bad escape in HELP",
					 line);
				return false;
			}
		snprintf(c->helped[c->n_helped++], 128, "%s", fam);
		return true;
	}
	if (seen(c->typed, c->n_typed, fam) || seen(c->closed, c->n_closed, fam)) {
		snprintf(c->error, sizeof(c->error),
			 "line %u: TYPE for %s after its samples or twice", line, fam);
		return false;
	}
	for (unsigned int i = 0; i < c->n_series; i++)
		if (!strncmp(c->series[i], fam, strlen(fam)) &&
		    (c->series[i][strlen(fam)] == '{' || !c->series[i][strlen(fam)])) {
			snprintf(c->error, sizeof(c->error), "line %u: TYPE after samples", line);
			return false;
		}
	if (strcmp(space + 1, "counter") && strcmp(space + 1, "gauge") &&
	    strcmp(space + 1, "histogram") && strcmp(space + 1, "summary") &&
	    strcmp(space + 1, "untyped")) {
		snprintf(c->error, sizeof(c->error), "line %u: unknown type %s", line, space + 1);
		return false;
	}
	if (!strcmp(space + 1, "counter") &&
	    (strlen(fam) < 6 || strcmp(fam + strlen(fam) - 6, "_total"))) {
		snprintf(c->error, sizeof(c->error), "line %u: counter %s lacks _total", line, fam);
		return false;
	}
	snprintf(c->typed[c->n_typed++], 128, "%s", fam);
	return true;
}

/* NULL when text is valid exposition format, else a message naming the line. */
static const char *check_format(const char *text, struct checker *c)
{
	unsigned int line = 0;
	const char *p = text;

	memset(c, 0, sizeof(*c));
	if (!*text || text[strlen(text) - 1] != '\n')
		return "output does not end with a line feed";
	while (*p) {
		const char *nl = strchr(p, '\n');
		char buf[1024];
		bool ok;

		line++;
		if (nl - p >= (long)sizeof(buf)) {
			snprintf(c->error, sizeof(c->error), "line %u: too long", line);
			return c->error;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)(nl - p), p);
		if (!buf[0]) {
			snprintf(c->error, sizeof(c->error), "line %u: empty", line);
			return c->error;
		}
		ok = buf[0] == '#' ? check_comment(c, buf, line) : check_sample(c, buf, line);
		if (!ok)
			return c->error;
		p = nl + 1;
	}
	return NULL;
}

/* ---- reports ---- */

static struct tunnel tunnels[] = {
	{ .listener = { .family = 2, .port = 8001, .uid = 2001 }, .user = "alice" },
	{ .listener = { .family = 10, .port = 8001, .uid = 2001 }, .user = "alice" },
	{ .listener = { .family = 2, .port = 8002, .uid = 2003 }, .user = "we\"ird\\na\nme\xff" },
	{ .listener = { .family = 2, .port = 8003, .uid = 2002 }, .user = "bob" },
};

/* Loaded, audit mode, strict policy, on a kernel without bpf_set_retval (EPERM). */
static void loaded_report(struct status_report *r)
{
	memset(r, 0, sizeof(*r));
	r->guard.loaded = true;
	r->guard.complete = true;
	r->guard.have_config = true;
	r->guard.policy.mode = TG_MODE_AUDIT;
	r->guard.policy.policy = TG_POLICY_STRICT;
	r->guard.policy.deny_errno = 111;
	/* The programs' rodata says the same as the policy read back from their maps. */
	r->guard.settings.mode = TG_MODE_AUDIT;
	r->guard.settings.policy = TG_POLICY_STRICT;
	r->guard.settings.deny_errno = 111;
	r->guard.use_set_retval = 0;
	r->guard.selftest.result = TG_SELFTEST_PASSED;
	r->guard.selftest.time_unix = 1795000000;
	for (unsigned int i = 0; i < TG_REASON_COUNT; i++)
		r->guard.counters[i] = 100 + i;
	r->guard.stats[TG_STAT_EVENTS_RATE_LIMITED] = 5;
	r->guard.stats[TG_STAT_EVENTS_LOST] = 6;
	r->guard.stats[TG_STAT_PORT_OWNER_FULL] = 7;
	r->guard.stages[TG_STAGE_SYSCALL] = 8;
	r->guard.stages[TG_STAGE_SYN] = 9;
	r->guard.stages[TG_STAGE_POST_BIND] = 10;
	r->tunnels.items = tunnels;
	r->tunnels.count = sizeof(tunnels) / sizeof(tunnels[0]);
	r->tunnels_known = true;
	r->drift_checked = true;
	r->drift_count = 3;
	r->layers = TG_LAYER_BPF;
	r->nft_checked = true;
}

Test(prometheus, not_loaded_is_info_and_loaded_0_exactly)
{
	struct status_report r = {};
	char *text = render(&r);
	const char *want =
		"# HELP tunnelguard_info Version of this tunnelguard and the mode, policy and "
		"refusal errno the loaded programs run (labels absent when nothing is loaded); "
		"always 1.\n"
		"# TYPE tunnelguard_info gauge\n"
		"tunnelguard_info{version=\"" TG_VERSION "\"} 1\n"
		"# HELP tunnelguard_loaded Whether a guard is in force, by either layer (1) or not "
		"(0).\n"
		"# TYPE tunnelguard_loaded gauge\n"
		"tunnelguard_loaded 0\n";

	cr_assert_str_eq(text, want, "not loaded: got\n%s", text);
	free(text);
}

Test(prometheus, loaded_report_lines)
{
	static const char *const want[] = {
		"tunnelguard_info{version=\"" TG_VERSION "\",mode=\"audit\",policy=\"strict\","
		"deny_errno=\"eperm\"} 1",
		"tunnelguard_loaded 1",
		"tunnelguard_complete 1",
		"tunnelguard_selftest_ok 1",
		"tunnelguard_selftest_timestamp_seconds 1795000000",
		"tunnelguard_drift_checked 1",
		"tunnelguard_drift_entries 3",
		"tunnelguard_tunnels_known 1",
		"tunnelguard_tunnels{uid=\"2001\",user=\"alice\"} 2",
		"tunnelguard_tunnels{uid=\"2002\",user=\"bob\"} 1",
		"tunnelguard_tunnels{uid=\"2003\",user=\"we\\\"ird\\\\na\\nme\xef\xbf\xbd\"} 1",
		"# TYPE tunnelguard_connects_total counter",
		"tunnelguard_connects_total{reason=\"allow_not_tcp\"} 101",
		"tunnelguard_connects_total{reason=\"deny_other_tenant\"} 107",
		"tunnelguard_connects_total{reason=\"audit_unknown_owner\"} 112",
		"# TYPE tunnelguard_events_rate_limited_total counter",
		"tunnelguard_events_rate_limited_total 5",
		"tunnelguard_events_lost_total 6",
		"tunnelguard_port_owner_full_total 7",
		"# TYPE tunnelguard_refusals_by_stage_total counter",
		"tunnelguard_refusals_by_stage_total{stage=\"syscall\"} 8",
		"tunnelguard_refusals_by_stage_total{stage=\"syn\"} 9",
		"tunnelguard_refusals_by_stage_total{stage=\"post_bind\"} 10",
	};
	struct status_report r;
	char *text;

	loaded_report(&r);
	text = render(&r);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(has_line(text, want[i]), "missing line %s in\n%s", want[i], text);
	/* Tunnels in uid order, whatever the report's (port) order. */
	cr_expect_lt(strstr(text, "uid=\"2002\""), strstr(text, "uid=\"2003\""),
		     "tunnels not in uid order:\n%s", text);
	/* Non-tenant connects are not counted by the kernel: no made-up zero for them. */
	cr_expect_null(strstr(text, "allow_not_tenant"), "allow_not_tenant printed:\n%s", text);
	free(text);
}

Test(prometheus, every_reason_and_stat_once)
{
	struct status_report r;
	char *text, needle[128];

	loaded_report(&r);
	text = render(&r);
	/* Each reason in one family: binds apart from connects. */
	for (unsigned int i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++) {
		const char *mine = tg_reason_is_bind(i) ? "binds" : "connects";
		const char *other = tg_reason_is_bind(i) ? "connects" : "binds";

		snprintf(needle, sizeof(needle), "tunnelguard_%s_total{reason=\"%s\"} %u", mine,
			 reason_name(i), 100 + i);
		cr_expect(has_line(text, needle), "reason %u: missing %s", i, needle);
		snprintf(needle, sizeof(needle), "tunnelguard_%s_total{reason=\"%s\"}", other,
			 reason_name(i));
		cr_expect_null(strstr(text, needle), "reason %u also under %s", i, other);
	}
	cr_expect(strstr(text, "tunnelguard_binds_total{reason=\"deny_bind_reserved\"} 117"), "%s",
		  text);
	/* Loaded with layers = bpf: nft is not down, it was never asked for. */
	cr_expect(has_line(text, "tunnelguard_layer_configured{layer=\"bpf\"} 1"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_layer_configured{layer=\"nft\"} 0"), "%s", text);
	/* A stat added to enum tg_stat without a name would print as tunnelguard_stat_N. */
	cr_expect_null(strstr(text, "tunnelguard_stat_"), "a stat has no name:\n%s", text);
	free(text);
}

Test(prometheus, degraded_failed_selftest_no_sock_diag)
{
	struct status_report r;
	char *text, *tunnels_family;

	loaded_report(&r);
	r.guard.complete = false;
	r.guard.selftest.result = TG_SELFTEST_FAILED;
	r.guard.use_set_retval = 1;
	r.guard.policy.mode = TG_MODE_ENFORCE;
	r.guard.settings.mode = TG_MODE_ENFORCE;
	r.tunnels_known = false;
	text = render(&r);
	cr_expect(has_line(text, "tunnelguard_complete 0"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_selftest_ok 0"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_tunnels_known 0"), "%s", text);
	cr_expect(strstr(text, "mode=\"enforce\",policy=\"strict\",deny_errno=\"econnrefused\""),
		  "%s", text);
	tunnels_family = strstr(text, "tunnelguard_tunnels{");
	cr_expect_null(tunnels_family, "tunnels printed although sock_diag failed:\n%s", text);
	free(text);
}

Test(prometheus, nft_layer_lines)
{
	struct status_report r;
	char *text;

	loaded_report(&r);
	r.layers = TG_LAYER_BPF | TG_LAYER_NFT;
	r.nft.present = true;
	r.nft.other_tenant.packets = 9;
	r.nft.service.packets = 4;
	text = render(&r);
	cr_expect(has_line(text, "tunnelguard_layer_up{layer=\"bpf\"} 1"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_layer_up{layer=\"nft\"} 1"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_nft_resets_total{rule=\"tenant_to_tenant\"} 9"), "%s",
		  text);
	cr_expect(has_line(text, "tunnelguard_nft_resets_total{rule=\"tenant_to_service\"} 4"),
		  "%s", text);
	cr_expect(has_line(text, "tunnelguard_complete 1"), "%s", text);
	free(text);

	/* The table is gone while the guard was loaded with it: degraded. */
	r.nft.present = false;
	r.nft_missing = true;
	text = render(&r);
	cr_expect(has_line(text, "tunnelguard_layer_up{layer=\"nft\"} 0"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_complete 0"), "%s", text);
	cr_expect_null(strstr(text, "tunnelguard_nft_resets_total"), "%s", text);
	free(text);

	/* nft alone: no BPF pins, the table stands. */
	loaded_report(&r);
	r.guard.loaded = false;
	r.layers = TG_LAYER_NFT;
	r.nft.present = true;
	text = render(&r);
	cr_expect(has_line(text, "tunnelguard_loaded 1"), "%s", text);
	cr_expect(has_line(text, "tunnelguard_layer_up{layer=\"bpf\"} 0"), "%s", text);
	cr_expect_null(strstr(text, "tunnelguard_connects_total"), "no BPF counters:\n%s", text);
	free(text);
}

struct label_case {
	const char *name, *in, *want;
};

Test(prometheus, label_value_escaping)
{
	static const struct label_case cases[] = {
		{ "plain", "alice", "alice" },
		{ "empty", "", "" },
		{ "quote", "a\"b", "a\\\"b" },
		{ "backslash", "a\\b", "a\\\\b" },
		{ "line feed", "a\nb", "a\\nb" },
		{ "backslash n is not a line feed", "a\\nb", "a\\\\nb" },
		{ "tab kept (valid UTF-8)", "a\tb", "a\tb" },
		{ "2-byte UTF-8 kept", "j\xc3\xb6rg", "j\xc3\xb6rg" },
		{ "4-byte UTF-8 kept", "\xf0\x9f\x90\xa7", "\xf0\x9f\x90\xa7" },
		{ "lone continuation", "a\x80z", "a\xef\xbf\xbdz" },
		{ "truncated sequence", "a\xc3", "a\xef\xbf\xbd" },
		{ "overlong slash", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "overlong 3-byte", "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "past U+10FFFF", "\xf4\x90\x80\x80",
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "latin-1 byte", "\xff", "\xef\xbf\xbd" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = render_label(cases[i].in);

		cr_expect_str_eq(got, cases[i].want, "%s: got \"%s\", want \"%s\"", cases[i].name,
				 got, cases[i].want);
		free(got);
	}
}

/* The checker must itself reject what the format forbids, or passing it proves nothing. */
Test(prometheus, checker_rejects_bad_text)
{
	static const struct label_case bad[] = {
		{ "no final line feed", "# TYPE a gauge\na 1", NULL },
		{ "sample before TYPE", "a 1\n# TYPE a gauge\n", NULL },
		{ "no TYPE", "a 1\n", NULL },
		{ "bad name", "# TYPE 1a gauge\n1a 1\n", NULL },
		{ "bad value", "# TYPE a gauge\na one\n", NULL },
		{ "no value", "# TYPE a gauge\na\n", NULL },
		{ "unquoted label", "# TYPE a gauge\na{x=1} 1\n", NULL },
		{ "bad escape", "# TYPE a gauge\na{x=\"\\t\"} 1\n", NULL },
		{ "repeated label", "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", NULL },
		{ "duplicate series", "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", NULL },
		{ "split family", "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na 2\n", NULL },
		{ "TYPE twice", "# TYPE a gauge\n# TYPE a gauge\na 1\n", NULL },
		{ "unknown type", "# TYPE a meter\na 1\n", NULL },
		{ "counter without _total", "# TYPE a counter\na 1\n", NULL },
		{ "empty line", "# TYPE a gauge\n\na 1\n", NULL },
	};
	struct checker c;

	cr_assert_null(check_format("# HELP a x\n# TYPE a gauge\na{x=\"\\\"\"} 1\n", &c),
		       "the checker rejects good text: %s", c.error);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not_null(check_format(bad[i].in, &c), "%s: accepted", bad[i].name);
}

Test(prometheus, output_passes_strict_checker)
{
	struct status_report loaded, unloaded = {};
	struct checker c;
	const char *err;
	char *text;

	loaded_report(&loaded);
	text = render(&loaded);
	err = check_format(text, &c);
	cr_expect_null(err, "loaded: %s in\n%s", err, text);
	free(text);
	loaded.tunnels.count = 0;
	text = render(&loaded);
	err = check_format(text, &c);
	cr_expect_null(err, "no tunnels: %s in\n%s", err, text);
	free(text);
	text = render(&unloaded);
	err = check_format(text, &c);
	cr_expect_null(err, "not loaded: %s in\n%s", err, text);
	free(text);
}

/*
 * The Python client's parser (python3-prometheus-client, from scripts/deps.sh) reads the output
 * back: its sample count and values must match ours. Skipped, and said so, where it is absent.
 */
#define PY "/usr/bin/python3"

Test(prometheus, reference_parser_reads_output_back)
{
	static const char script[] =
		"import sys\n"
		"from prometheus_client.parser import text_string_to_metric_families as parse\n"
		"n = 0\n"
		"for f in parse(open(sys.argv[1]).read()):\n"
		"    for s in f.samples:\n"
		"        n += 1\n"
		"        if s.name == 'tunnelguard_tunnels' and s.labels['uid'] == '2003':\n"
		"            assert s.labels['user'] == 'we\"ird\\\\na\\nme\\ufffd', s.labels\n"
		"        if s.labels.get('reason') == 'deny_other_tenant':\n"
		"            assert s.value == 107, s\n"
		"print(n)\n";
	char path[] = "/tmp/tg-prom-XXXXXX", command[512], result[32] = "", want[32];
	struct status_report r;
	char *text;
	FILE *f, *p;
	int fd, status;

	if (access(PY, X_OK) || system(PY " -c 'import prometheus_client' 2>/dev/null") != 0)
		cr_skip_test("python3-prometheus-client is not installed (scripts/deps.sh does)");
	loaded_report(&r);
	text = render(&r);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp failed");
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(command, sizeof(command), PY " -c \"$TG_PY\" %s 2>&1", path);
	setenv("TG_PY", script, 1);
	p = popen(command, "r");
	cr_assert_not_null(p, "popen failed");
	if (!fgets(result, sizeof(result), p))
		result[0] = 0;
	status = pclose(p);
	unlink(path);
	/* 1 info, 12 gauges (2 of them layer_up, 2 layer_configured), 3 tunnel uids,
	 * port_owner_max_entries, capacity_exceeded of every resource (port_owner's use and the
	 * daemon's counts are absent when unknown), every reason but allow_not_tenant (connects
	 * and binds), every stat, every stage. */
	snprintf(want, sizeof(want), "%d\n",
		 1 + 12 + 3 + 1 + CAPACITY_COUNT + (TG_REASON_COUNT - 1) + TG_STAT_COUNT +
			 TG_STAGE_COUNT);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the parser failed: %s", result);
	cr_expect_str_eq(result, want, "the parser read %s samples, want %s", result, want);
	free(text);
}

/* A full port_owner is a gauge a person can alert on, with its size and the listeners left out. */
Test(prometheus, capacity_exceeded_is_a_gauge)
{
	struct status_report r;
	char *text;

	loaded_report(&r);
	r.capacity = (struct capacity_facts){ .port_owner_known = true,
					      .port_owner_max = 64,
					      .port_owner_entries = 64,
					      .untracked_known = true,
					      .untracked = 6 };
	capacity_assess(&r.capacity, 1795000000, &r.findings);
	text = render(&r);
	cr_expect(strstr(text, "\ntunnelguard_port_owner_max_entries 64\n") != NULL, "%s", text);
	cr_expect(strstr(text, "\ntunnelguard_port_owner_entries 64\n") != NULL);
	cr_expect(strstr(text, "\ntunnelguard_listeners_untracked 6\n") != NULL);
	cr_expect(strstr(text, "\ntunnelguard_capacity_exceeded{resource=\"port_owner\"} 1\n") !=
		  NULL);
	cr_expect(strstr(text, "\ntunnelguard_capacity_exceeded{resource=\"events\"} 0\n") != NULL);
	cr_expect(strstr(text, "\ntunnelguard_capacity_exceeded{resource=\"nft_batch\"} 0\n") !=
		  NULL);
	free(text);
}
