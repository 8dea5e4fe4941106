// SPDX-License-Identifier: GPL-2.0-only
/*
 * quote.h - strings that tenants or the system chose (comm, user names, netns names) into JSON
 * strings and logfmt values, UTF-8 safe.
 *
 * Valid UTF-8 passes through as it is ("é" stays "é"). Escaped: '"' and '\' (\" and \\), control
 * characters C0, DEL and C1 (\u001b, \u007f, \u0085: the code point, as JSON and logfmt parsers
 * read it), and every byte of an invalid or truncated sequence (\ufffd, the replacement
 * character, as any UTF-8 decoder would show it). So a value can neither split nor forge a line.
 */
#ifndef TG_QUOTE_H
#define TG_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Write s (up to max bytes or its NUL) escaped into buf, without quotes, NUL-terminated. Returns
 * the length written, or -ENOSPC when buf is too small (buf then holds a shorter, valid prefix).
 */
int quote_escape(const char *s, size_t max, char *buf, size_t len);

/*
 * Must s be quoted as a logfmt value (key="v a l")? When it is empty, or holds a space, '=',
 * '"', '\', or anything quote_escape() escapes. Unquoted values are written as they are.
 */
bool quote_logfmt_needed(const char *s, size_t max);

/* s as a JSON string, with its quotes; null when s is NULL. */
void quote_json_fputs(FILE *out, const char *s);

#endif /* TG_QUOTE_H */
