// SPDX-License-Identifier: GPL-2.0-only
/*
 * events_format() (userspace/events.c): the namespace and stage fields, in text and JSON; logfmt
 * quoting and UTF-8 safety of tenant-chosen fields; every JSON line parses, with its time.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_addr.h"
#include "tg_maps.h"
#include "tg_policy.h"

#include "events.h"

static const struct {
	const char *name;
	unsigned int reason;
	unsigned int stage;
	const char *text; /* the line's end, from " port=" */
	const char *json;
} cases[] = {
	{ "connect", TG_DENY_OTHER_TENANT, TG_STAGE_SYSCALL,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=connect\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":null,\"netns\":4097,\"stage\":\"connect\"}"
	  "\n" },
	{ "bind", TG_DENY_BIND_RESERVED, TG_STAGE_SYSCALL,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=bind\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":null,\"netns\":4097,\"stage\":\"bind\"}\n" },
	{ "syn", TG_DENY_OTHER_TENANT, TG_STAGE_SYN,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=syn\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":null,\"netns\":4097,\"stage\":\"syn\"}\n" },
	{ "post_bind", TG_DENY_BIND_UNRESERVED, TG_STAGE_POST_BIND,
	  " port=8001 netns=4097 stage=post_bind\n",
	  ",\"port\":8001,\"netns\":4097,\"stage\":\"post_bind\"}\n" },
	{ "out of range", TG_AUDIT_OTHER_TENANT, 7,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=unknown\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":null,\"netns\":4097,\"stage\":\"unknown\"}"
	  "\n" },
};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

Test(events, netns_and_stage_fields)
{
	char line[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* uid 2001 belongs to no account (the tests check it), so owner prints "-". */
		struct tg_event e = { .caller_uid = 2002,
				      .pid = 4242,
				      .owner_uid = 2001,
				      .reason = cases[i].reason,
				      .family = TG_AF_INET,
				      .port = 8001,
				      .ip = { htonl(0x7f000001) },
				      .comm = "nc",
				      .netns_cookie = 4097,
				      .stage = cases[i].stage };

		cr_assert_gt(events_format(&e, false, line, sizeof(line)), 0, "%s", cases[i].name);
		cr_expect(ends_with(line, cases[i].text), "%s: text line %s", cases[i].name, line);
		cr_expect(strstr(line, " comm=nc dst=127.0.0.1 port=8001"), "%s: %s", cases[i].name,
			  line);
		cr_assert_gt(events_format(&e, true, line, sizeof(line)), 0, "%s", cases[i].name);
		cr_expect(ends_with(line, cases[i].json), "%s: json line %s", cases[i].name, line);
	}
}

/* A tenant picks comm: the text line stays one logfmt line, the JSON line one object. */
static const struct {
	const char *name;
	const char *comm;
	const char *text; /* " comm=... " as written */
	const char *json; /* ",\"comm\":...," as written */
} comms[] = {
	{ "plain", "nc", " comm=nc ", ",\"comm\":\"nc\"," },
	{ "utf-8 passes", "caf\xc3\xa9", " comm=caf\xc3\xa9 ", ",\"comm\":\"caf\xc3\xa9\"," },
	{ "space quoted", "a b", " comm=\"a b\" ", ",\"comm\":\"a b\"," },
	{ "forged field", "x dst=1.2.3.4", " comm=\"x dst=1.2.3.4\" ",
	  ",\"comm\":\"x dst=1.2.3.4\"," },
	{ "equals quoted", "k=v", " comm=\"k=v\" ", ",\"comm\":\"k=v\"," },
	{ "quote escaped", "a\"b", " comm=\"a\\\"b\" ", ",\"comm\":\"a\\\"b\"," },
	{ "backslash escaped", "a\\b", " comm=\"a\\\\b\" ", ",\"comm\":\"a\\\\b\"," },
	{ "escape sequence", "\x1b[31mred", " comm=\"\\u001b[31mred\" ",
	  ",\"comm\":\"\\u001b[31mred\"," },
	{ "newline", "a\nb", " comm=\"a\\u000ab\" ", ",\"comm\":\"a\\u000ab\"," },
	{ "invalid byte", "a\xff", " comm=\"a\\ufffd\" ", ",\"comm\":\"a\\ufffd\"," },
	{ "cut sequence", "ab\xe2\x82", " comm=\"ab\\ufffd\\ufffd\" ",
	  ",\"comm\":\"ab\\ufffd\\ufffd\"," },
	{ "empty", "", " comm=- ", ",\"comm\":\"\"," },
};

static struct tg_event event_with_comm(const char *comm)
{
	struct tg_event e = { .caller_uid = 2002,
			      .pid = 4242,
			      .owner_uid = 2001,
			      .reason = TG_DENY_OTHER_TENANT,
			      .family = TG_AF_INET,
			      .port = 8001,
			      .ip = { htonl(0x7f000001) },
			      .netns_cookie = 4097,
			      .stage = TG_STAGE_SYSCALL };

	memcpy(e.comm, comm, strnlen(comm, sizeof(e.comm)));
	return e;
}

Test(events, logfmt_quoting_and_utf8)
{
	char line[2048];

	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		struct tg_event e = event_with_comm(comms[i].comm);

		cr_assert_gt(events_format(&e, false, line, sizeof(line)), 0, "%s", comms[i].name);
		cr_expect(strstr(line, comms[i].text), "%s: text line lacks '%s': %s",
			  comms[i].name, comms[i].text, line);
		cr_expect_eq(strchr(line, '\n'), line + strlen(line) - 1, "%s: one line: %s",
			     comms[i].name, line);
		cr_assert_gt(events_format(&e, true, line, sizeof(line)), 0, "%s", comms[i].name);
		cr_expect(strstr(line, comms[i].json), "%s: json line lacks '%s': %s",
			  comms[i].name, comms[i].json, line);
		cr_expect(strstr(line, ",\"caller\":null,"), "%s: unknown caller is null: %s",
			  comms[i].name, line);
	}
}

/*
 * Every JSON line, the suppressed report too, parses as one JSON object with a "time" in RFC 3339
 * UTC with milliseconds, and comm decodes to what the tenant chose (U+FFFD for invalid bytes).
 * The parser is Python's json (scripts/deps.sh installs python3).
 */
Test(events, json_lines_parse_with_time)
{
	static const char check[] =
		"import json, re, sys\n"
		"n = 0\n"
		"for line in open(sys.argv[1], encoding='utf-8', errors='strict'):\n"
		"    o = json.loads(line)\n"
		"    assert isinstance(o, dict), line\n"
		"    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z', "
		"o['time']), line\n"
		"    if 'comm' in o:\n"
		"        assert o['comm'] == sys.argv[2 + n], (o['comm'], sys.argv[2 + n])\n"
		"        n += 1\n"
		"assert n == len(sys.argv) - 2, n\n";
	static const char *const decoded[] = {
		"nc",
		"caf\xc3\xa9",
		"a b",
		"x dst=1.2.3.4",
		"k=v",
		"a\"b",
		"a\\b",
		"\x1b[31mred",
		"a\nb",
		"a\xef\xbf\xbd",
		"ab\xef\xbf\xbd\xef\xbf\xbd",
		"",
	};
	char path[] = "/tmp/tg-test-events-XXXXXX", line[2048];
	char cmd[4096], quoted[256];
	int fd = mkstemp(path);
	size_t used;
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert(f);
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		struct tg_event e = event_with_comm(comms[i].comm);

		cr_assert_gt(events_format(&e, true, line, sizeof(line)), 0);
		fputs(line, f);
	}
	cr_assert_gt(events_format_suppressed(3, 1, true, line, sizeof(line)), 0);
	cr_expect(strstr(line, "\"suppressed\":{\"rate_limited\":3,\"lost\":1}}\n"), "%s", line);
	fputs(line, f);
	cr_assert_gt(events_format_suppressed(3, 1, false, line, sizeof(line)), 0);
	cr_expect(strncmp(line, "time=", 5) == 0 &&
			  strstr(line, "Z suppressed rate_limited=3 lost=1\n"),
		  "%s", line);
	fclose(f);
	/* python3 -c CHECK FILE COMM...: each comm single-quoted for the shell. */
	used = (size_t)snprintf(cmd, sizeof(cmd), "python3 -c \"$TG_CHECK\" %s", path);
	for (size_t i = 0; i < sizeof(decoded) / sizeof(decoded[0]); i++) {
		cr_assert_null(strchr(decoded[i], '\''));
		snprintf(quoted, sizeof(quoted), " '%s'", decoded[i]);
		cr_assert_lt(used + strlen(quoted), sizeof(cmd));
		strcpy(cmd + used, quoted);
		used += strlen(quoted);
	}
	setenv("TG_CHECK", check, 1);
	cr_expect_eq(system(cmd), 0, "python could not read every line as JSON with a time");
	unlink(path);
}
