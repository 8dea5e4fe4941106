// SPDX-License-Identifier: GPL-2.0-only
/* util.c - room in a heap array, the monotonic clock (util.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

int util_grow(void **items, size_t *cap, size_t need, size_t size)
{
	size_t grown = *cap ? *cap : 8;
	void *more;

	if (need <= *cap)
		return 0;
	while (grown < need) {
		if (grown > SIZE_MAX / 2)
			return -ENOMEM;
		grown *= 2;
	}
	if (size && grown > SIZE_MAX / size)
		return -ENOMEM;
	more = realloc(*items, grown * size);
	if (!more)
		return -ENOMEM;
	*items = more;
	*cap = grown;
	return 0;
}

long long util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
