// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync_limits.h - the per-uid cap on tg_port_owner (tg_limits.h) in the reconciliation: a tally
 * of the entries each uid owns, built from the map as sync read it and kept in step with what
 * sync adds and removes, then written to tg_owner_count so that the bind hooks' counts
 * match the map again (any drift heals at each reconciliation).
 */
#ifndef TG_SYNC_LIMITS_H
#define TG_SYNC_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct owner_tally;

/* An empty tally for a tg_port_owner of max_entries entries. NULL (errno ENOMEM) on failure. */
struct owner_tally *owner_tally_new(uint32_t max_entries);
void owner_tally_free(struct owner_tally *t);

/* uid owns one entry more (delta 1) or less (-1). 0 or -ENOMEM. */
int owner_tally_add(struct owner_tally *t, uint32_t uid, int delta);

/* Does uid hold its share already (one more entry would break the cap)? */
bool owner_tally_full(const struct owner_tally *t, uint32_t uid);

/* Make tg_owner_count (count_fd) hold the tally: every uid's count, 0 for uids it lacks. */
int owner_tally_write(const struct owner_tally *t, int count_fd);

#endif /* TG_SYNC_LIMITS_H */
