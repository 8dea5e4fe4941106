// SPDX-License-Identifier: GPL-2.0-only
/* log_libbpf.c - libbpf's output through log.h; apart from log.c so that code linked without
 * libbpf (the config fuzzer) can log. */
#include <stdarg.h>

#include <bpf/libbpf.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN   ? LOG_LEVEL_INFO
			      : level == LIBBPF_INFO ? LOG_LEVEL_DEBUG
						     : LOG_LEVEL_DEBUG + 1;

	/* libbpf warns about things we handle ourselves (a probe that fails, a missing pin), so
	 * its warnings are shown with -v at info priority; our own message says what failed. */
	if (ours > log_get_level())
		return 0;
	log_vprint_tagged(ours > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : ours, "libbpf: ", fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
