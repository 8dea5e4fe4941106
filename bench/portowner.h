// SPDX-License-Identifier: GPL-2.0-only
/*
 * portowner.h - what keeping the pinned port_owner map right costs, and how soon it is right.
 *
 * Discovery and reconciliation (issue 4): diag_dump_listeners() and sync_port_owner_from_diag()
 * over the listeners open in the benchmark's network namespace, timed call by call: a map already
 * in sync (dry run, then writing), and an emptied map that the sync refills. Event to map (issue 8,
 * part 4): how long after listen() returns the listener's entry is visible to
 * bpf_map_lookup_elem(), and after close() returns that it is gone, measured in the same thread
 * by looking it up in a tight loop from the moment the call returns.
 */
#ifndef TG_BENCH_PORTOWNER_H
#define TG_BENCH_PORTOWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Median and 99th percentile (nearest rank) and largest of n timings. */
struct spread {
	unsigned int n;
	double p50, p99, max;
};

enum sync_case {
	SYNC_IN_SYNC_DRY, /* the map already matches: dry run */
	SYNC_IN_SYNC,	  /* the map already matches: writing */
	SYNC_EMPTY,	  /* the map emptied first: the sync adds every listener */
	SYNC_CASES,
};

struct portowner_results {
	size_t listeners;		   /* TCP listeners sock_diag reported */
	struct spread dump_ms;		   /* diag_dump_listeners() */
	struct spread sync_ms[SYNC_CASES]; /* sync_port_owner_from_diag() */
	size_t first_drift;   /* what the unmeasured first sync found: what the hooks did not see */
	size_t in_sync_drift; /* drift the in-sync runs found, summed: 0 if nothing moved */
	size_t empty_added_min, empty_added_max; /* entries each empty-map run added */
	unsigned int events;			 /* listen()/close() pairs measured */
	struct spread listen_us, close_us;	 /* call returned -> lookup saw the change */
	unsigned int listen_first, close_first;	 /* seen by the very first lookup */
	unsigned int missed;	  /* changes not seen within the deadline (not in the spreads) */
	unsigned int wrong_owner; /* entries whose uid was not the listener's owner */
};

/*
 * Discovery and reconciliation against the guard pinned at pin_dir, in the current network
 * namespace. Leaves the map in sync. 0 or -errno, with the reason printed.
 */
int portowner_measure(const char *pin_dir, struct portowner_results *out);

/*
 * Event to map: listeners created with owner as their uid, by the calling process (which must be
 * in the guard's cgroup for its binds to meet the post_bind hooks). 0 or -errno.
 */
int portowner_measure_events(const char *pin_dir, uid_t owner, struct portowner_results *out);

/* One sync_port_owner_from_diag() into the pinned map; *changed: entries it added, removed or
 * changed. 0 or -errno, with the reason printed. */
int portowner_sync(const char *pin_dir, size_t *changed);

#endif /* TG_BENCH_PORTOWNER_H */
