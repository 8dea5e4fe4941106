// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

/*
 * The length of the valid UTF-8 sequence at s (n bytes available), or 0 when it is invalid:
 * overlong forms, surrogates, code points past U+10FFFF and truncated sequences are invalid.
 * *cp receives the code point.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t min, c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		min = 0x80;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		min = 0x800;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		min = 0x10000;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int quote_escape(const char *s, size_t max, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), used = 0;

	if (len == 0)
		return -ENOSPC;
	for (size_t i = 0; i < n;) {
		char piece[8];
		size_t plen;
		uint32_t cp;
		size_t seq = utf8_sequence(p + i, n - i, &cp);

		if (seq == 0) {
			memcpy(piece, "\\ufffd", plen = 6);
			seq = 1;
		} else if (cp == '"' || cp == '\\') {
			piece[0] = '\\';
			piece[1] = (char)cp;
			plen = 2;
		} else if (is_control(cp)) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", (unsigned int)cp);
		} else {
			memcpy(piece, p + i, plen = seq);
		}
		if (used + plen >= len) {
			buf[used] = '\0';
			return -ENOSPC;
		}
		memcpy(buf + used, piece, plen);
		used += plen;
		i += seq;
	}
	buf[used] = '\0';
	return (int)used;
}

bool quote_logfmt_needed(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	if (n == 0)
		return true;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t seq = utf8_sequence(p + i, n - i, &cp);

		if (seq == 0 || is_control(cp) || cp == ' ' || cp == '=' || cp == '"' || cp == '\\')
			return true;
		i += seq;
	}
	return false;
}

void quote_json_fputs(FILE *out, const char *s)
{
	char buf[4096];
	size_t n;

	if (!s) {
		fputs("null", out);
		return;
	}
	/* Long strings in pieces, cut where a piece's escaping fits (6 bytes per input byte). */
	fputc('"', out);
	for (n = strlen(s); n > 0;) {
		size_t take = n < (sizeof(buf) - 1) / 6 ? n : (sizeof(buf) - 1) / 6;

		/* Do not cut a valid sequence in two: back off to its first byte. */
		for (int k = 0;
		     k < 3 && take < n && take > 1 && ((unsigned char)s[take] & 0xc0) == 0x80; k++)
			take--;
		quote_escape(s, take, buf, sizeof(buf));
		fputs(buf, out);
		s += take;
		n -= take;
	}
	fputc('"', out);
}
