// SPDX-License-Identifier: GPL-2.0-only
/* status.h - `tunnelguard status`: what is loaded, with what policy, and what it decided. */
#ifndef TG_STATUS_H
#define TG_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include "guard.h"

/* Exit codes of `status`: in force, not loaded, or loaded with pieces missing. */
#define STATUS_LOADED	  0
#define STATUS_DEGRADED	  1
#define STATUS_NOT_LOADED 3

void status_print_text(FILE *out, const struct guard_state *st, const char *pin_dir);
void status_print_json(FILE *out, const struct guard_state *st, const char *pin_dir);
int status_exit_code(const struct guard_state *st);

#endif /* TG_STATUS_H */
