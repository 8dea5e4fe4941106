// SPDX-License-Identifier: GPL-2.0-only
/*
 * escape.h - making text that came from outside (config values, paths, command-line arguments,
 * process and user names) safe to echo in a message: a terminal must not run its escape
 * sequences, and a log must not be split or overwritten by its CR/LF.
 *
 * Valid UTF-8 stays as it is; every byte of a C0 control (ESC, CR, LF, TAB, ...), of DEL, of a C1
 * control (U+0080-U+009F, whose UTF-8 form is C2 80-C2 9F) and every byte that is not part of a
 * valid UTF-8 sequence (overlong forms, surrogates, past U+10FFFF, truncated) becomes \xNN:
 *	"a\x1b[31mb"	-> a\x1b[31mb	(the ESC byte as four characters)
 *	"caf\xc3\xa9"	-> café
 *	"x\xff\r"	-> x\xff\x0d
 */
#ifndef TG_ESCAPE_H
#define TG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Output size that holds any escaped string of n input bytes, with its NUL. */
#define ESCAPE_SIZE(n) (4 * (n) + 1)

/*
 * Escape the first n bytes of in (it may hold NULs, which are escaped too) into out, which holds
 * len bytes. Always NUL-terminated; when out is too small the output is cut between two units
 * (never inside a sequence or an \xNN) and ends with "...". Returns out.
 */
const char *escape_bytes(char *out, size_t len, const char *in, size_t n);

/* escape_bytes() of a NUL-terminated string. */
const char *escape_text(char *out, size_t len, const char *in);

/* Would escape_text() change s? */
bool escape_needed(const char *s);

#endif /* TG_ESCAPE_H */
