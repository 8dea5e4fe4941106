// SPDX-License-Identifier: GPL-2.0-only
/* test_capacity.c - the pure parts of userspace/capacity.c: the judgement of what is exceeded,
 * its words, the daemon's state file format and number formatting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "capacity.h"

#define NOW 1795000000

static bool notes_contain(const struct capacity_findings *f, const char *text)
{
	for (unsigned int i = 0; i < f->n_notes; i++)
		if (strstr(f->notes[i], text))
			return true;
	return false;
}

Test(capacity_report, number_groups_thousands)
{
	static const struct {
		unsigned long long n;
		const char *want;
	} cases[] = {
		{ 0, "0" },	   { 64, "64" },	  { 999, "999" },
		{ 1000, "1,000" }, { 262144, "262,144" }, { 4194304, "4,194,304" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(capacity_number(cases[i].n, buf, sizeof(buf)), cases[i].want);
	cr_expect_str_eq(capacity_number(262144, buf, 4), "262", "cut to the buffer");
}

Test(capacity_report, judgement_table)
{
	static const struct {
		const char *name;
		struct capacity_facts facts;
		bool exceeded[CAPACITY_COUNT];
		const char *note; /* a piece of some note, or NULL for no note at all */
	} cases[] = {
		{ "room",
		  { .port_owner_known = true,
		    .port_owner_max = 64,
		    .port_owner_entries = 10,
		    .untracked_known = true },
		  { false },
		  NULL },
		{ "full with untracked listeners",
		  { .port_owner_known = true,
		    .port_owner_max = 64,
		    .port_owner_entries = 64,
		    .untracked_known = true,
		    .untracked = 6 },
		  { [CAPACITY_PORT_OWNER] = true },
		  "port_owner is full (64 entries): 6 listeners are not tracked; raise "
		  "port-owner-max" },
		{ "exactly full",
		  { .port_owner_known = true,
		    .port_owner_max = 262144,
		    .port_owner_entries = 262144,
		    .untracked_known = true },
		  { [CAPACITY_PORT_OWNER] = true },
		  "port_owner is full (262,144 entries)" },
		{ "was full, has room now",
		  { .port_owner_known = true,
		    .port_owner_max = 64,
		    .port_owner_entries = 3,
		    .untracked_known = true,
		    .full_total = 9 },
		  { false },
		  "port_owner was full 9 times since load (it has room now: 3 of 64" },
		{ "overflow with no daemon: words, no failure",
		  { .events_lost = 1200 },
		  { false },
		  "1,200 refusal events were not sent on ring buffer events since load" },
		{ "overflow while the daemon read, 10 s ago",
		  { .owner_events_lost = 5,
		    .have_daemon = true,
		    .daemon = { .pid = 42,
				.owner_events_lost = 5,
				.owner_events_lost_at = NOW - 10 } },
		  { [CAPACITY_OWNER_EVENTS] = true },
		  "ring buffer owner_events or netns_events overflowed 10s ago while the daemon "
		  "(pid 42)" },
		{ "overflow while the daemon read, long ago",
		  { .events_lost = 5,
		    .have_daemon = true,
		    .daemon = { .pid = 42,
				.events_lost = 5,
				.events_lost_at = NOW - CAPACITY_RECENT_SECS } },
		  { false },
		  "5 refusal events were not sent" },
		{ "batch split and sent",
		  { .have_daemon = true, .daemon = { .pid = 42, .nft_batches_split = 2 } },
		  { false },
		  "nftables refused 2 element batches for their size; the daemon sent each in "
		  "parts" },
		{ "batch refused even in parts",
		  { .have_daemon = true,
		    .daemon = { .pid = 42,
				.nft_batches_split = 1,
				.nft_batches_refused = 3,
				.nft_refused_at = NOW - 1 } },
		  { [CAPACITY_NFT_BATCH] = true },
		  "the nft sets are incomplete" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capacity_findings f;

		capacity_assess(&cases[i].facts, NOW, &f);
		for (int r = 0; r < CAPACITY_COUNT; r++)
			cr_expect_eq(f.exceeded[r], cases[i].exceeded[r], "%s: %s exceeded %d",
				     cases[i].name, capacity_resource_name(r), f.exceeded[r]);
		if (cases[i].note)
			cr_expect(notes_contain(&f, cases[i].note),
				  "%s: no note with '%s' (%u notes%s%s)", cases[i].name,
				  cases[i].note, f.n_notes, f.n_notes ? ": " : "",
				  f.n_notes ? f.notes[0] : "");
		else
			cr_expect_eq(f.n_notes, 0, "%s: unexpected note '%s'", cases[i].name,
				     f.notes[0]);
	}
}

Test(capacity_report, state_file_round_trip)
{
	struct capacity_daemon_state st;

	cr_assert_eq(
		capacity_state_parse("pid 4242\nupdated 1795000000\nport_owner_untracked 10276\n"
				     "owner_events_lost 12\nowner_events_lost_at 1794999990\n"
				     "some_future_key 7\n",
				     &st),
		0);
	cr_expect_eq(st.pid, 4242);
	cr_expect_eq(st.port_owner_untracked, 10276);
	cr_expect_eq(st.owner_events_lost, 12);
	cr_expect_eq(st.owner_events_lost_at, 1794999990);
	cr_expect_eq(st.events_lost, 0);
	cr_expect_eq(capacity_state_parse("updated 1\n", &st), -EINVAL, "no pid");
	cr_expect_eq(capacity_state_parse("pid 12 junk\n", &st), -EINVAL);
	cr_expect_eq(capacity_state_parse("pid abc\n", &st), -EINVAL);
}
