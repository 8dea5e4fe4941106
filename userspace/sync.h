// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync.h - bringing the guard's maps in line with the kernel's live state, source -> target:
 * sock_diag listeners -> tg_port_owner, the local routing table -> tg_local_addrs. The BPF programs
 * keep tg_port_owner current as listeners come and go; these functions are the safety net run at
 * load and periodically by the daemon, and the drift check of `status`.
 */
#ifndef TG_SYNC_H
#define TG_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "drift.h"
#include "local_addrs.h"
#include "tg_maps.h"

/* What a sync found: its kind (drift.h) and key, with the live uid (the map's when stale). */
typedef void (*sync_drift_fn)(void *ctx, enum drift_kind kind, const struct tg_port_key *key,
			      unsigned int uid);

struct sync_report {
	size_t added;		/* entries the map lacked */
	size_t removed;		/* entries the map had but the kernel does not */
	size_t changed;		/* entries with the wrong owner */
	size_t entries;		/* entries the map held when read (port_owner only) */
	size_t untracked;	/* missing entries that could not be added: the map is full */
	size_t capped;		/* missing entries not added: their uid holds its share */
	int owner_count_fd;	/* when > 0: tg_owner_count, rewritten from the map after sync */
	sync_drift_fn on_drift; /* optional: called for each port_owner disagreement */
	/*
	 * optional: false for a listener the guard's hooks do not see (its socket is in a cgroup
	 * outside the one the guard is attached to): its missing entry is added, not drift
	 */
	bool (*hooked)(void *ctx, const struct diag_listener *l);
	void *ctx;
};

/*
 * The per-uid cap (tg_limits.h) applies to what sync adds, as in the bind hooks: a listener
 * whose uid owns its share of the map already is not added (report->capped), and is not drift.
 */

/* The tg_port_owner key of a sock_diag listener. */
void sync_port_key(const struct diag_listener *l, struct tg_port_key *key);

/*
 * Make the tg_port_owner map (map_fd) match the live listeners. Stale entries go first, so a
 * full map makes what room it can; listeners that still do not fit (E2BIG) are counted in
 * report->untracked, not an error: the BPF hooks find listeners without the map. To avoid racing
 * listeners that appear or vanish during the run, an entry is removed only when two sock_diag
 * dumps, one before and one after reading the map, both lack it; an entry is added only when both
 * have it. With dry_run, nothing is written: the report is the drift. report->on_drift, when set,
 * hears of each disagreement. 0 or -errno.
 */
int sync_port_owner_from_diag(int map_fd, bool dry_run, struct sync_report *report);

/*
 * The same with the first dump given (before, which the caller keeps) and the second one
 * returned (*after, optional: freed when NULL), so that status lists tunnels and checks the nft
 * sets from the same dumps instead of two more.
 */
int sync_port_owner_from_listeners(int map_fd, bool dry_run, struct sync_report *report,
				   const struct diag_list *before, struct diag_list *after);

/* The same for tg_local_addrs from one dump of the local routing table. 0 or -errno. */
int sync_local_addrs_from_routes(int map_fd, bool dry_run, struct sync_report *report);

#endif /* TG_SYNC_H */
