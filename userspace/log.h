// SPDX-License-Identifier: GPL-2.0-only
/* log.h - the one logging module: levels, and the libbpf print callback that respects -v. */
#ifndef TG_LOG_H
#define TG_LOG_H

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
};

/* Messages above this level are dropped; -v raises it by one each time. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Route libbpf's own output through log_level (warnings always, debug with -vv). */
void log_setup_libbpf(void);

void log_print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Every message is prefixed "tunnelguard: " and goes to stderr. */
#define pr_warn(...)  log_print(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_info(...)  log_print(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* TG_LOG_H */
