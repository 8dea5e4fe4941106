// SPDX-License-Identifier: GPL-2.0-only
#include <stddef.h>
#include <string.h>

#include "drift.h"

static const char *const drift_kind_names[DRIFT_KIND_COUNT] = {
	[DRIFT_MISSING] = "missing",
	[DRIFT_STALE] = "stale",
	[DRIFT_WRONG_OWNER] = "wrong owner",
};

const char *drift_kind_name(enum drift_kind kind)
{
	return (unsigned int)kind < DRIFT_KIND_COUNT ? drift_kind_names[kind] : NULL;
}

enum drift_kind drift_kind_of(const char *name)
{
	for (unsigned int k = 0; name && k < DRIFT_KIND_COUNT; k++)
		if (strcmp(name, drift_kind_names[k]) == 0)
			return (enum drift_kind)k;
	return DRIFT_KIND_COUNT;
}
