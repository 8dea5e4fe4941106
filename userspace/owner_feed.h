// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_feed.h - the daemon's event-driven path into the nft layer: the listen tracer reports
 * each change to tg_port_owner on the ring buffer tg_owner_events (struct tg_owner_event), and
 * the feed turns a burst of them into one nft element batch, so a new tunnel port is in the
 * nft sets within a ring-buffer wakeup, not a reconciliation period.
 *
 * Example: tenant 2001's sshd listens on 127.0.0.1:8001 and [::1]:8001 -> two events with
 * added = 1 -> nft_update_owners({ 2001, 8001, tenant }) once. When one of the two closes, the
 * pair stays (tg_port_owner still holds [::1]:8001 for 2001); when both have, it is deleted.
 */
#ifndef TG_OWNER_FEED_H
#define TG_OWNER_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "nft.h"
#include "tg_maps.h"
#include "tg_policy.h"

struct ring_buffer;

struct owner_feed {
	struct ring_buffer *rb;
	int port_owner_fd;
	struct tg_owner_event *pending; /* events read, not yet applied */
	size_t n_pending;
	size_t cap_pending;
	unsigned long long applied; /* owners added or deleted in the sets so far */
};

/* Open pin_dir's owner_events ring buffer and port_owner map. 0 or -errno. */
int owner_feed_open(struct owner_feed *f, const char *pin_dir);

/* The fd to poll for new events. */
int owner_feed_fd(const struct owner_feed *f);

/*
 * Read what is there and, with to_nft (the guard has an nft layer), apply it to the nft sets:
 * additions in one batch, then deletions of pairs none of whose listeners remain in tg_port_owner.
 * Owners are classified by policy. Number of events read, or -errno (events are then dropped:
 * reconciliation repairs).
 */
int owner_feed_apply(struct owner_feed *f, const struct tg_policy *policy, bool to_nft);

void owner_feed_close(struct owner_feed *f);

/* The pairs in evs that are deletions, less those port_owner (the entries in keys/uids) still
 * holds for the same uid and port. Pure, for the tests. Returns the count written to out. */
size_t owner_feed_deletions(const struct tg_owner_event *evs, size_t n,
			    const struct tg_port_owner *live, const struct tg_port_key *live_keys,
			    size_t n_live, const struct tg_policy *policy, struct nft_owner *out);

#endif /* TG_OWNER_FEED_H */
