// SPDX-License-Identifier: GPL-2.0-only
/*
 * user_names.h - user names by uid for what status, check and the daemon print, at hub scale: the
 * first lookups ask getpwuid() (which, through NSS, may open several files each time); past
 * USER_NAMES_DIRECT distinct uids one getpwent() walk fills a sorted table that answers the
 * rest, so naming 50,000 tenants costs one walk, not 50,000. Not thread-safe: one thread asks.
 */
#ifndef TG_USER_NAMES_H
#define TG_USER_NAMES_H

#include <stdint.h>

#define USER_NAMES_DIRECT 64

/* The name of uid, or "" when it has none (or, past the direct lookups, none getpwent lists). */
const char *user_name_of(uint32_t uid);

/* Forget everything looked up (the user database changed, or before exiting). */
void user_names_reset(void);

#endif /* TG_USER_NAMES_H */
