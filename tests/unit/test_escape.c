// SPDX-License-Identifier: GPL-2.0-only
/* escape_bytes() / escape_text() (userspace/escape.c): what an error message may echo. */
#include <criterion/criterion.h>
#include <string.h>

#include "escape.h"

static const struct {
	const char *name;
	const char *in;
	size_t n; /* 0: strlen(in) */
	const char *out;
} cases[] = {
	{ "plain ASCII", "tenant-uids", 0, "tenant-uids" },
	{ "ESC of a colour sequence", "a\x1b[31mb", 0, "a\\x1b[31mb" },
	{ "CR that would overwrite the line", "bad\rgood", 0, "bad\\x0dgood" },
	{ "LF that would split the line", "one\ntwo", 0, "one\\x0atwo" },
	{ "TAB", "a\tb", 0, "a\\x09b" },
	{ "DEL", "a\x7f", 0, "a\\x7f" },
	{ "0xff is never UTF-8", "x\xff", 0, "x\\xff" },
	{ "valid UTF-8 stays: e acute", "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "valid UTF-8 stays: 3 and 4 bytes", "\xe2\x82\xac\xf0\x9f\x94\x92", 0,
	  "\xe2\x82\xac\xf0\x9f\x94\x92" },
	{ "C1 CSI in UTF-8 form",
	  "a\xc2\x9b"
	  "2J",
	  0, "a\\xc2\\x9b2J" },
	{ "C1 CSI as a lone byte",
	  "a\x9b"
	  "2J",
	  0, "a\\x9b2J" },
	{ "U+00A0 is past C1 and stays", "\xc2\xa0", 0, "\xc2\xa0" },
	{ "overlong slash", "\xc0\xaf", 0, "\\xc0\\xaf" },
	{ "overlong 3-byte", "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },
	{ "surrogate", "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
	{ "truncated sequence at the end", "ab\xc3", 0, "ab\\xc3" },
	{ "lead byte then ASCII",
	  "\xc3"
	  "A",
	  0, "\\xc3A" },
	{ "NUL inside the bytes", "a\0b", 3, "a\\x00b" },
	{ "empty", "", 0, "" },
};

Test(escape, table)
{
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);

		escape_bytes(out, sizeof(out), cases[i].in, n);
		cr_expect_str_eq(out, cases[i].out, "%s: got '%s'", cases[i].name, out);
		if (!cases[i].n)
			cr_expect_eq(escape_needed(cases[i].in),
				     strcmp(cases[i].in, cases[i].out) != 0, "%s: escape_needed",
				     cases[i].name);
	}
}

Test(escape, text_is_bytes_to_the_nul)
{
	char out[64];

	cr_assert_str_eq(escape_text(out, sizeof(out), "\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
}

/* Cut between units, never inside a UTF-8 sequence or an \xNN, and say so with "...". */
Test(escape, small_buffer_cuts_between_units)
{
	char out[9];

	cr_assert_str_eq(escape_text(out, sizeof(out), "ab\x1b\x1b\x1b"), "ab...");
	cr_assert_str_eq(escape_text(out, sizeof(out), "abcd\xc3\xa9xyz"), "abcd...");
	cr_assert_str_eq(escape_text(out, sizeof(out), "\xc3\xa9\xc3\xa9"), "\xc3\xa9\xc3\xa9");
	cr_assert_str_eq(escape_text(out, sizeof(out), "a\x1b"), "a\\x1b");
	cr_assert_str_eq(escape_text(out, 1, "abc"), "");
}

Test(escape, worst_case_fits_escape_size)
{
	char in[16], out[ESCAPE_SIZE(16)];

	memset(in, 0x1b, sizeof(in));
	escape_bytes(out, sizeof(out), in, sizeof(in));
	cr_assert_eq(strlen(out), 64, "16 ESC bytes become 64 characters, not cut: %s", out);
}
