// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level current_level = LOG_LEVEL_WARN;
static int journal = -1; /* -1: not looked at yet; 0 or 1: is stderr the journal */

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_priority(enum log_level level)
{
	static const int priorities[] = { 3, 4, 5, 6, 7 };

	return (unsigned int)level < ARRAY_SIZE(priorities) ? priorities[level] : 7;
}

bool log_is_journal_stream(int fd, const char *journal_stream)
{
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!journal_stream || journal_stream[0] < '0' || journal_stream[0] > '9')
		return false;
	errno = 0;
	dev = strtoull(journal_stream, &end, 10);
	if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (errno || *end)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_detect_journal(void)
{
	journal = log_is_journal_stream(STDERR_FILENO, getenv("JOURNAL_STREAM"));
}

static bool shown(enum log_level level)
{
	return level <= LOG_LEVEL_NOTICE || level <= current_level;
}

/*
 * Write text (one or more lines) to stderr in one write, each line ending in a newline and, for
 * journald, starting with "<N>": journald reads the prefix per line.
 */
static void write_lines(enum log_level level, const char *tag, const char *text)
{
	size_t len = strlen(text), cap = len + 1 + (len + 1) * 4 + strlen(tag) + 1, used = 0;
	char *out = malloc(cap);
	const char *line = text;
	bool first = true;

	if (!out) {
		fprintf(stderr, "%s%s", tag, text);
		return;
	}
	if (journal < 0)
		log_detect_journal();
	do {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (!nl && n == 0 && !first)
			break; /* the message's own final newline */
		if (journal)
			used += snprintf(out + used, cap - used, "<%d>", log_priority(level));
		if (first)
			used += snprintf(out + used, cap - used, "%s", tag);
		memcpy(out + used, line, n);
		used += n;
		out[used++] = '\n';
		first = false;
		line = nl ? nl + 1 : line + n;
	} while (*line);
	fwrite(out, 1, used, stderr);
	fflush(stderr);
	free(out);
}

void log_vprint_tagged(enum log_level level, const char *tag, const char *fmt, va_list ap)
{
	/* Callers often log, then return -errno: logging must leave errno as it found it. */
	int saved_errno = errno;
	char *text = NULL;

	if (!shown(level))
		return;
	if (vasprintf(&text, fmt, ap) < 0) {
		fprintf(stderr, "%scannot format a message: out of memory\n", tag);
		errno = saved_errno;
		return;
	}
	write_lines(level, tag, text);
	free(text);
	errno = saved_errno;
}

void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint_tagged(level, "tunnelguard: ", fmt, ap);
	va_end(ap);
}

void log_vprint_plain(enum log_level level, const char *fmt, va_list ap)
{
	log_vprint_tagged(level, "", fmt, ap);
}

void log_print_plain(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint_tagged(level, "", fmt, ap);
	va_end(ap);
}
