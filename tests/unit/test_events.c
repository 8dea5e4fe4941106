// SPDX-License-Identifier: GPL-2.0-only
/* events_format() (userspace/events.c): the namespace and stage fields, in text and JSON. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

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
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":\"\",\"netns\":4097,\"stage\":\"connect\"}"
	  "\n" },
	{ "bind", TG_DENY_BIND_RESERVED, TG_STAGE_SYSCALL,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=bind\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":\"\",\"netns\":4097,\"stage\":\"bind\"}\n" },
	{ "syn", TG_DENY_OTHER_TENANT, TG_STAGE_SYN,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=syn\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":\"\",\"netns\":4097,\"stage\":\"syn\"}\n" },
	{ "post_bind", TG_DENY_BIND_UNRESERVED, TG_STAGE_POST_BIND,
	  " port=8001 netns=4097 stage=post_bind\n",
	  ",\"port\":8001,\"netns\":4097,\"stage\":\"post_bind\"}\n" },
	{ "out of range", TG_AUDIT_OTHER_TENANT, 7,
	  " port=8001 owner_uid=2001 owner=- netns=4097 stage=unknown\n",
	  ",\"port\":8001,\"owner_uid\":2001,\"owner\":\"\",\"netns\":4097,\"stage\":\"unknown\"}"
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
