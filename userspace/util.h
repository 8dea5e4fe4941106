// SPDX-License-Identifier: GPL-2.0-only
/* util.h - the helpers every module wants: the length of an array, room in one, the time. */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Make room for at least need items of size bytes each in the heap array *items, whose capacity
 * is *cap items: doubled (from 8) until it fits, with every multiplication checked for overflow.
 * *items and *cap change only on success. 0, or -ENOMEM (also on overflow).
 */
int util_grow(void **items, size_t *cap, size_t need, size_t size);

/* CLOCK_MONOTONIC in milliseconds, for deadlines and intervals. */
long long util_now_ms(void);

#endif /* TG_UTIL_H */
