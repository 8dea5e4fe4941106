// SPDX-License-Identifier: GPL-2.0-only
/* reasons.h - names for enum tg_reason, as printed by status, check and events. */
#ifndef TG_REASONS_H
#define TG_REASONS_H

#include "tg_policy.h"

#include "policy.h"

/* "deny_other_tenant", "allow_own", ...; "unknown" outside the enum. */
const char *reason_name(unsigned int reason);

/* One line for a person: "listener owned by another tenant". */
const char *reason_text(unsigned int reason);

#endif /* TG_REASONS_H */
