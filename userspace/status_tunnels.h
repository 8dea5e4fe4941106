// SPDX-License-Identifier: GPL-2.0-only
/*
 * status_tunnels.h - status's view of max-tunnels (tg_limits.h): each tenant uid's count of
 * ports held through bind() (the pinned tg_tunnels) against the limit the running programs
 * apply (their rodata and their tg_tunnel_max). Short for thousands of tenants: a summary line,
 * then the uids closest to their limit.
 *
 *	  tunnels:     3 uids hold 7 ports through bind() (max-tunnels 2, 1 per-tenant limit)
 *	    uid 2001   2 of 5
 *	    uid 2002   2 of 2 (at its limit)
 */
#ifndef TG_STATUS_TUNNELS_H
#define TG_STATUS_TUNNELS_H

#include <stdio.h>

#include "guard.h"

/* How many uids the text and JSON list after the summary. */
#define STATUS_TUNNELS_TOP 10

void status_print_tunnels_text(FILE *out, const struct guard_state *st, const char *pin_dir);
/* ,"tunnel_limits":{...} */
void status_print_tunnels_json(FILE *out, const struct guard_state *st, const char *pin_dir);

#endif /* TG_STATUS_TUNNELS_H */
