// SPDX-License-Identifier: GPL-2.0-only
/*
 * capacity.h - the guard's fixed-size parts, and saying so loudly when one is exceeded:
 * tg_port_owner (sized by the config key port-owner-max), the two ring buffers (refusal events
 * and listener changes) and the nft element batches.
 *
 * What each costs and where it is seen:
 * - tg_port_owner is a BPF hash map without preallocation: 16 bytes of kernel memory per entry
 *   of max_entries at once (its buckets), and 88 more per listener it holds (bpftool map show,
 *   memlock, measured here: 1,049,536 B empty at 65,536 entries, 6,065,536 B holding 57,000):
 *   4 MiB for the default 262,144 empty, 26 MiB full. When it is full the BPF connect hooks still
 *judge every listener (they look listeners up with bpf_sk_lookup_tcp()), but the daemon's listener
 *events and the nft layer's sets cannot follow the listeners the map lacks: the daemon then fills
 *the nft sets from sock_diag, and status, the metrics and the daemon's log say "port_owner is full
 *(262,144 entries): 10,276 listeners are not tracked; ...".
 * - A ring buffer that overflows while the daemon reads it loses refusal lines or listener
 *   changes (counted in tg_stats); the daemon notes when, and status reports it for
 *   CAPACITY_RECENT_SECS.
 * - An nft batch the kernel refuses for its size is split and sent again in parts; a part
 *   still refused is reported the same way.
 *
 * Facts only the daemon sees (overflows while it read, batches refused) reach status through a
 * small state file, CAPACITY_STATE_DIR/capacity<pin dir with '/' as '_'>, e.g.
 *	pid 4242
 *	updated 1795000000
 *	port_owner_untracked 10276
 *	events_lost 0
 *	owner_events_lost 12
 *	owner_events_lost_at 1794999990
 *	...
 * which status believes only while that pid is alive.
 */
#ifndef TG_CAPACITY_H
#define TG_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

struct bpf_map;

/* Kernel memory of tg_port_owner (bpftool map show: memlock), measured on kernel 6.18: per
 * entry of max_entries, and per listener held. */
#define CAPACITY_PORT_OWNER_SLOT_BYTES	16
#define CAPACITY_PORT_OWNER_ENTRY_BYTES 88
#define CAPACITY_PORT_OWNER_BYTES	(CAPACITY_PORT_OWNER_SLOT_BYTES + CAPACITY_PORT_OWNER_ENTRY_BYTES)

/* How long status keeps reporting an overflow or refused batch the daemon saw. */
#define CAPACITY_RECENT_SECS 600

#define CAPACITY_STATE_DIR "/run/tunnelguard"

/*
 * Give the skeleton's tg_port_owner max_entries = want (0: the default) before load. A pinned
 * map of another size is not resized, as it outlives a swap (every load's bind and close hooks
 * write it) and a new map would lose every listener it holds: -EEXIST, with the message saying to
 * unload and load. 0 or -errno.
 */
int capacity_size_port_owner(struct bpf_map *map, uint32_t want, const char *pin_dir);

/* max_entries of pin_dir's port_owner map. 0 or -errno. */
int capacity_port_owner_max(const char *pin_dir, uint32_t *max_entries);

/* n with thousands separators, "262,144". Returns buf. */
const char *capacity_number(unsigned long long n, char *buf, size_t len);

/* What the daemon saw; counts are since it started, times in seconds since the epoch. */
struct capacity_daemon_state {
	pid_t pid;
	time_t updated;
	unsigned long long port_owner_untracked; /* at its last reconciliation */
	unsigned long long events_lost;		 /* refusal events lost while it read */
	time_t events_lost_at;			 /* last time that count grew, or 0 */
	unsigned long long owner_events_lost;	 /* listener changes lost while it read */
	time_t owner_events_lost_at;
	unsigned long long nft_batches_split;	/* batches refused for size and split */
	unsigned long long nft_batches_refused; /* parts still refused: sets incomplete */
	time_t nft_refused_at;
};

/* Write st atomically for pin_dir's guard. 0 or -errno. */
int capacity_state_write(const char *pin_dir, const struct capacity_daemon_state *st);

/* Remove it (the daemon exits). */
void capacity_state_remove(const char *pin_dir);

/* Read it back: 0, -ENOENT when there is none or its daemon is gone, or -errno. */
int capacity_state_read(const char *pin_dir, struct capacity_daemon_state *st);

/* Parse the text of a state file (pure, for the tests). 0 or -EINVAL. */
int capacity_state_parse(const char *text, struct capacity_daemon_state *st);

/* Everything status knows about capacity, gathered by status_collect(). */
struct capacity_facts {
	bool port_owner_known;		      /* max and entries were read */
	uint32_t port_owner_max;	      /* max_entries */
	size_t port_owner_entries;	      /* entries now */
	bool untracked_known;		      /* listeners were compared with the map */
	size_t untracked;		      /* live listeners the map lacks */
	unsigned long long full_total;	      /* TG_STAT_PORT_OWNER_FULL since load */
	unsigned long long events_lost;	      /* TG_STAT_EVENTS_LOST since load */
	unsigned long long owner_events_lost; /* TG_STAT_OWNER_EVENTS_LOST since load */
	bool have_daemon;		      /* daemon holds a live state file */
	struct capacity_daemon_state daemon;
};

enum capacity_resource {
	CAPACITY_PORT_OWNER = 0,
	CAPACITY_EVENTS = 1,
	CAPACITY_OWNER_EVENTS = 2,
	CAPACITY_NFT_BATCH = 3,
	CAPACITY_COUNT = 4,
};

/* Label of a resource in metrics and JSON: "port_owner", "events", "owner_events", "nft_batch". */
const char *capacity_resource_name(enum capacity_resource r);

#define CAPACITY_MAX_NOTES 8

/*
 * The judgement: which resources are exceeded now (exceeded[], what makes status exit 1) and
 * a sentence for each finding, exceeded or merely worth knowing (losses with no daemon
 * reading). Pure. Example, a map of 64 with 70 tenant listeners:
 *	exceeded[CAPACITY_PORT_OWNER] = true, notes[0] = "port_owner is full (64 entries): 6
 *	listeners are not tracked; raise port-owner-max in the config and unload and load (about
 *	104 bytes of kernel memory each); the nft sets are filled from sock_diag meanwhile"
 */
struct capacity_findings {
	bool exceeded[CAPACITY_COUNT];
	char notes[CAPACITY_MAX_NOTES][320];
	unsigned int n_notes;
};

void capacity_assess(const struct capacity_facts *f, time_t now, struct capacity_findings *out);

/* Any resource exceeded? */
bool capacity_exceeded(const struct capacity_findings *f);

/* The daemon's warning for a full map: "port_owner is full (262,144 entries): N listeners are
 * not tracked; raise port-owner-max in CONFIG ...". */
void capacity_port_owner_message(uint32_t max, unsigned long long untracked, const char *config,
				 char *buf, size_t len);

#endif /* TG_CAPACITY_H */
