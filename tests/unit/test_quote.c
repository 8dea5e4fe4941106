// SPDX-License-Identifier: GPL-2.0-only
/* quote.c: UTF-8-safe escaping for JSON strings and logfmt values. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "quote.h"

static const struct {
	const char *name;
	const char *in;
	const char *out;   /* quote_escape() */
	bool needs_quotes; /* as a logfmt value */
} cases[] = {
	{ "ascii", "alice", "alice", false },
	{ "empty", "", "", true },
	{ "two-byte", "\xc3\xa9", "\xc3\xa9", false },
	{ "three-byte", "\xe2\x82\xac", "\xe2\x82\xac", false },
	{ "four-byte", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", false },
	{ "space", "a b", "a b", true },
	{ "equals", "a=b", "a=b", true },
	{ "quote", "\"", "\\\"", true },
	{ "backslash", "\\", "\\\\", true },
	{ "escape", "\x1b", "\\u001b", true },
	{ "tab", "\t", "\\u0009", true },
	{ "del", "\x7f", "\\u007f", true },
	{ "c1 control", "\xc2\x85", "\\u0085", true },
	{ "invalid byte", "\xff", "\\ufffd", true },
	{ "lone continuation", "\x80", "\\ufffd", true },
	{ "overlong slash", "\xc0\xaf", "\\ufffd\\ufffd", true },
	{ "surrogate", "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", true },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd", true },
	{ "truncated", "a\xe2\x82", "a\\ufffd\\ufffd", true },
};

Test(quote, table)
{
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = quote_escape(cases[i].in, 64, buf, sizeof(buf));

		cr_expect_eq(n, (int)strlen(cases[i].out), "%s: length %d", cases[i].name, n);
		cr_expect_str_eq(buf, cases[i].out, "%s", cases[i].name);
		cr_expect_eq(quote_logfmt_needed(cases[i].in, 64), cases[i].needs_quotes,
			     "%s: quotes", cases[i].name);
	}
}

Test(quote, bounds)
{
	char buf[8];

	/* max stops before the NUL: a fixed-size field such as comm need not be terminated. */
	cr_expect_eq(quote_escape("abcdef", 3, buf, sizeof(buf)), 3);
	cr_expect_str_eq(buf, "abc");
	/* Too small: -ENOSPC with a terminated prefix that never ends inside an escape. */
	cr_expect_eq(quote_escape("ab\xff", 8, buf, 6), -ENOSPC);
	cr_expect_str_eq(buf, "ab");
	cr_expect_eq(quote_escape("x", 8, buf, 0), -ENOSPC);
}
