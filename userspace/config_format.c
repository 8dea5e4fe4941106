// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_format.c - a config's values -> the words and ranges the config would write, for status,
 * check and the fuzzer's round trip: cfg_format_uid_ranges(), cfg_mode_name(), ...
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "config_internal.h"

/* Appends to a fixed buffer; output past the end is dropped, the result always terminated. */
struct cfg_out {
	char *buf;
	size_t len;
	size_t pos;
};

/* An empty string in buf to append to; without a buffer, one that drops everything. */
static struct cfg_out out_open(char *buf, size_t len)
{
	if (!buf || !len)
		return (struct cfg_out){ NULL, 0, 0 };
	buf[0] = '\0';
	return (struct cfg_out){ buf, len, 0 };
}

static void out_printf(struct cfg_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct cfg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->pos + 1 >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > o->len - 1 - o->pos)
		n = (int)(o->len - 1 - o->pos);
	o->pos += (size_t)n;
}

static void out_range(struct cfg_out *o, unsigned int i, __u32 first, __u32 last)
{
	if (first == last)
		out_printf(o, "%s%u", i ? ", " : "", first);
	else
		out_printf(o, "%s%u-%u", i ? ", " : "", first, last);
}

void cfg_format_uid_ranges(const struct tg_uid_range *r, unsigned int n, char *buf, size_t len)
{
	struct cfg_out o = out_open(buf, len);

	for (unsigned int i = 0; i < n; i++)
		out_range(&o, i, r[i].first, r[i].last);
}

void cfg_format_port_ranges(const struct tg_port_range *r, unsigned int n, char *buf, size_t len)
{
	struct cfg_out o = out_open(buf, len);

	for (unsigned int i = 0; i < n; i++)
		out_range(&o, i, r[i].first, r[i].last);
}

static const char *choice_name(const struct cfg_choice choices[2], unsigned int value)
{
	for (int i = 0; i < 2; i++) {
		if (choices[i].value == value)
			return choices[i].name;
	}
	errno = EINVAL;
	return NULL;
}

const char *cfg_mode_name(unsigned int mode)
{
	return choice_name(cfg_mode_choices, mode);
}

const char *cfg_policy_name(unsigned int policy)
{
	return choice_name(cfg_policy_choices, policy);
}

const char *cfg_bind_policy_name(unsigned int bind_policy)
{
	return choice_name(cfg_bind_policy_choices, bind_policy);
}

const char *cfg_errno_name(unsigned int deny_errno)
{
	return choice_name(cfg_errno_choices, deny_errno);
}
