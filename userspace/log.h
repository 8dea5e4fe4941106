// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.h - the one logging module: levels, syslog priorities, and the libbpf print callback that
 * respects -v.
 *
 * Every message goes to stderr as "tunnelguard: message". When stderr is the systemd journal
 * (JOURNAL_STREAM names stderr's device and inode, as systemd sets it for StandardError=journal),
 * each line starts with its syslog priority, "<3>tunnelguard: ...", which journald strips and
 * files as PRIORITY=3, so `journalctl -p warning` finds warnings and errors. We chose these
 * prefixes over sd_journal_send(): they need no libsystemd, and they degrade to plain text on a
 * terminal or in a file (the prefix is only written when the journal reads it).
 *
 *	level	priority	for
 *	error	<3> err		the guard is not (fully) in force, or the command failed
 *	warn	<4> warning	degraded, a repair was made, something is not followed
 *	notice	<5> notice	normal but worth a line by default: daemon started, config reloaded
 *	info	<6> info	normal operation (-v)
 *	debug	<7> debug	libbpf's debug output (-vv)
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_NOTICE = 2,
	LOG_LEVEL_INFO = 3,
	LOG_LEVEL_DEBUG = 4,
};

/*
 * The most verbose level shown: errors, warnings and notices always are; -v shows info, -vv
 * debug. The default is LOG_LEVEL_WARN (which shows notices too).
 */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Route libbpf's own output through log_level (warnings with -v, debug with -vv). */
void log_setup_libbpf(void);

/* The syslog priority of level: 3 err, 4 warning, 5 notice, 6 info, 7 debug. */
int log_priority(enum log_level level);

/*
 * Is fd the journal's stream? journal_stream is the value of JOURNAL_STREAM ("DEV:INO" in
 * decimal, sd_journal_stream_fd(3) and systemd.exec(5)); NULL or malformed: no.
 */
bool log_is_journal_stream(int fd, const char *journal_stream);

/* Look at JOURNAL_STREAM and stderr again (the first message does it once by itself). */
void log_detect_journal(void);

/* "tunnelguard: " + the message, each line with its priority prefix when stderr is journald. */
void log_print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message with tag (e.g. "libbpf: ") in place of "tunnelguard: ". */
void log_vprint_tagged(enum log_level level, const char *tag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* The same without "tunnelguard: " (config errors are FILE:LINE: message). */
void log_print_plain(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vprint_plain(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define pr_err(...)    log_print(LOG_LEVEL_ERROR, __VA_ARGS__)
#define pr_warn(...)   log_print(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_notice(...) log_print(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define pr_info(...)   log_print(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...)  log_print(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* TG_LOG_H */
