// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "escape.h"

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes) that is printable: 1-4, or 0 when the
 * first byte must be escaped (a control, DEL, a C1 control, or not valid UTF-8). The ranges are
 * those of RFC 3629's UTF8-octets grammar.
 */
static size_t printable_sequence(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0; /* a continuation byte, C0/C1 (overlong), or F5-FF */
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	if (c == 0xc2 && p[1] <= 0x9f)
		return 0; /* U+0080-U+009F: C1 controls (CSI is U+009B) */
	return need;
}

const char *escape_bytes(char *out, size_t len, const char *in, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t used = 0, i = 0;

	if (!len)
		return out;
	while (i < n) {
		size_t unit = printable_sequence(p + i, n - i);
		size_t width = unit ? unit : 4;

		/* Room for this unit, and for "..." should a later one not fit. */
		if (used + width + (i + (unit ? unit : 1) < n ? 3 : 0) >= len) {
			if (used + 3 < len) {
				memcpy(out + used, "...", 3);
				used += 3;
			}
			break;
		}
		if (unit) {
			memcpy(out + used, p + i, unit);
			i += unit;
		} else {
			snprintf(out + used, 5, "\\x%02x", p[i]);
			i++;
		}
		used += width;
	}
	out[used] = '\0';
	return out;
}

const char *escape_text(char *out, size_t len, const char *in)
{
	return escape_bytes(out, len, in, strlen(in));
}

bool escape_needed(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), unit;

	for (size_t i = 0; i < n; i += unit) {
		unit = printable_sequence(p + i, n - i);
		if (!unit)
			return true;
	}
	return false;
}
