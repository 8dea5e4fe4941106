// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_feed.h - the daemon's event-driven path into the nft layer, owner events -> nft sets
 * (owner_events_to_nft): the bind and close hooks report each change to tg_port_owner on the ring
 * buffer tg_owner_events (struct tg_owner_event), and the feed turns a burst of them into one nft
 * element batch, so a new tunnel port is in the nft sets within a ring-buffer wakeup, not a
 * reconciliation period.
 *
 * Example: tenant 2001's sshd listens on 127.0.0.1:8001 and [::1]:8001 -> two events with
 * added = 1 -> nft_update_owners({ 2001, 8001, tenant }) once. When one of the two closes, the
 * pair stays (tg_port_owner still holds [::1]:8001 for 2001); when both have, it is deleted.
 *
 * Deletions cost O(changes), not O(listeners): the feed keeps an owner index of what it
 * believes the sets hold, per uid . port pair the listener keys seen, per port how many tenant
 * and service pairs. It is rebuilt from tg_port_owner (and the listeners a reconciliation put
 * into the sets) at open and after each reconciliation, and kept by the events in between. A
 * pair is gone when none of its known keys is in tg_port_owner (one lookup each); its port
 * leaves tunnel_ports (service_ports) when no tenant (service) pair of it is left. The index
 * errs towards holding too much: a lost event or dropped burst makes the next apply rebuild it.
 */
#ifndef TG_OWNER_FEED_H
#define TG_OWNER_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft.h"
#include "tg_maps.h"
#include "tg_policy.h"

#include "policy.h"

struct ring_buffer;

/*
 * One uid . port pair in the owner index, e.g. tenant 2001's two listeners on 8001:
 *	{ .uid = 2001, .port = 8001, .tenant = true, .n_keys = 2,
 *	  .keys = { { ::ffff:127.0.0.1, 8001, AF_INET }, { ::1, 8001, AF_INET6 } } }
 * A slot with n_keys == 0 is empty.
 */
struct owner_pair {
	uint32_t uid;
	uint16_t port;
	bool tenant; /* by the policy at the time it was added: the set it is in */
	uint32_t n_keys;
	uint32_t cap_keys;
	struct tg_port_key *keys;
};

/* Pairs by uid . port (open addressing, linear probing), and pairs per port and kind. */
struct owner_index {
	struct owner_pair *slots;
	size_t cap; /* a power of two, or 0 before the first add */
	size_t count;
	uint32_t *port_pairs[2]; /* [tenant][port]: pairs on the port, 65536 each */
};

int owner_index_init(struct owner_index *ix);
void owner_index_free(struct owner_index *ix);

/* Forget every pair; the memory stays for the rebuild. */
void owner_index_clear(struct owner_index *ix);

/* Record that uid listens on key. 1 when the pair is new, 0 when it was known, or -ENOMEM. */
int owner_index_add(struct owner_index *ix, const struct tg_port_key *key, uint32_t uid,
		    bool tenant);

/* The pair uid . port, or NULL. */
const struct owner_pair *owner_index_find(const struct owner_index *ix, uint32_t uid,
					  uint16_t port);

/* How many tenant (or service) pairs the index holds on port. */
uint32_t owner_index_port_pairs(const struct owner_index *ix, uint16_t port, bool tenant);

/* Is key still uid's listener (tg_port_owner holds it for uid)? */
typedef bool (*owner_live_fn)(void *ctx, const struct tg_port_key *key, uint32_t uid);

/*
 * What a burst of events changes in the nft sets: owners to add; pairs to delete; and of those,
 * the ones that were the last of their kind on their port (the port goes too).
 */
struct owner_changes {
	struct nft_owner *add;
	size_t n_add;
	struct nft_owner *del;
	size_t n_del;
	struct nft_owner *last;
	size_t n_last;
};

/*
 * Apply evs (in order) to ix and say what the sets must change. A pair a deletion touched goes
 * when none of its remaining keys is live(); keys that are not are dropped. Example, the index
 * holds 2001 . 8001 with 127.0.0.1 and ::1, both tenant-pair counts of 8001 at 1: the event
 * { 2001, 8001, AF_INET, added = 0, 127.0.0.1 } with ::1 still live changes nothing; with ::1
 * gone too, del = last = { { 2001, 8001, true } }. Pure but for live(); 0 or -ENOMEM. Free out
 * with owner_changes_free().
 */
int owner_feed_changes(struct owner_index *ix, const struct tg_owner_event *evs, size_t n,
		       const struct tg_policy *policy, owner_live_fn live, void *ctx,
		       struct owner_changes *out);

void owner_changes_free(struct owner_changes *c);

struct owner_feed {
	struct ring_buffer *rb;
	int port_owner_fd;
	int stats_fd;			/* tg_stats: events the kernel could not send, or -1 */
	struct tg_owner_event *pending; /* events read, not yet applied */
	size_t n_pending;
	size_t cap_pending;
	unsigned long long applied; /* owners added or deleted in the sets so far */
	struct owner_index index;
	bool index_stale; /* events were lost: rebuild before trusting it */
	bool adds_only;	  /* port_owner lacks listeners: deletions are the sock_diag poll's */
	unsigned long long lost_seen; /* TG_STAT_OWNER_EVENTS_LOST at the last rebuild */
};

/* Open pin_dir's owner_events ring buffer and port_owner map, and build the index from the map
 * (tenants by policy). 0 or -errno. */
int owner_feed_open(struct owner_feed *f, const char *pin_dir, const struct tg_policy *policy);

/* The fd to poll for new events. */
int owner_feed_fd(const struct owner_feed *f);

/*
 * Rebuild the index from the listeners' keys and uids that a reconciliation just put into the
 * sets (n of each, may be 0) and, with from_map, from tg_port_owner too. After an nft sync the
 * index must be exactly what the sync wrote (from_map false): a listener that came after the
 * sync's listing is in the map but not in the sets, and its pending event must still add it.
 * 0 or -errno (the index is then marked stale, and the next apply tries again).
 */
int owner_feed_rebuild(struct owner_feed *f, const struct tg_policy *policy,
		       const struct tg_port_key *keys, const uint32_t *uids, size_t n,
		       bool from_map);

/*
 * Read what is there and, with to_nft (the guard's nft handle when it has an nft layer, else
 * NULL), apply it to the nft sets:
 * additions in one batch, then deletions of pairs none of whose listeners remain in tg_port_owner
 * (nft_delete_owners(): no read of the sets). Owners are classified by policy. Number of events
 * read, or -errno (events are then dropped: reconciliation repairs).
 */
int owner_events_to_nft(struct owner_feed *f, const struct tg_policy *policy,
			struct nft_handle *to_nft);

void owner_feed_close(struct owner_feed *f);

#endif /* TG_OWNER_FEED_H */
