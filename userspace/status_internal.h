// SPDX-License-Identifier: GPL-2.0-only
/*
 * status_internal.h - what the parts of status share, and nothing outside them includes:
 * status.c collects the report, status_text.c and status_json.c print it, status_words.c has the
 * words all of them (and prometheus.c) use.
 */
#ifndef TG_STATUS_INTERNAL_H
#define TG_STATUS_INTERNAL_H

#include <stddef.h>

#include "guard.h"
#include "nft.h"

/* enum tg_stat and enum tg_stage, as status and the Prometheus labels name them. */
extern const char *const status_stat_names[TG_STAT_COUNT];
extern const char *const status_stage_names[TG_STAGE_COUNT];

/* Listeners of non-tenants in the nft layer's owner list. */
size_t status_count_service_owners(const struct nft_state *nft);

/* "never run", "passed", "FAILED" or "skipped". */
const char *status_selftest_label(unsigned int result);

/* 2026-12-03T12:00:00Z, or "-" for 0. */
void status_format_unix_time(unsigned long long t, char *buf, size_t len);

/* "ECONNREFUSED", "EPERM" or "?". */
const char *status_errno_label(unsigned int e);

/* uid's user name into buf, "" when it has none; returns buf. */
const char *status_user_of(unsigned int uid, char *buf, size_t len);

/* The end of the run of reservations that starts at i (one [tenant] section's ranges). */
/*
 * Reservations in section order (indexes into policy.reservation, malloc'd, NULL without memory):
 * a [tenant] section's ranges are adjacent in it, by port.
 */
__u32 *status_reservations_by_section(const struct tg_policy *p);

/* End of the run of order[] from i that belongs to one section. */
unsigned int status_reservation_run(const struct tg_policy *p, const __u32 *order, unsigned int i);

/* The [tenant NAME] of reservation (an index into policy.reservation). */
const char *status_section_name(const struct tg_policy *p, __u32 reservation);

/* How many [tenant] sections status text lists; JSON lists them all. */
#define STATUS_MAX_SECTIONS_SHOWN 20

#endif /* TG_STATUS_INTERNAL_H */
