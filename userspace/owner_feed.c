// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_feed.c - the ring buffer tg_owner_events -> the nft sets (owner_events_to_nft), through
 * an owner index of what the sets hold (pure, for the tests). See owner_feed.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "owner_feed.h"
#include "pins.h"

/* A burst beyond this is left to the reconciliation: the sets are repaired there anyway. */
#define FEED_MAX_PENDING 65536

#define PORTS 65536

/* ---- the owner index (pure) ---- */

static size_t pair_slot_hash(uint32_t uid, uint16_t port)
{
	uint64_t x = (uint64_t)uid << 16 | port;

	/* splitmix64's finaliser: tenants' uids and ports are dense, so mix them. */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (size_t)x;
}

/* The slot of uid . port, or the empty slot where it would go. Needs cap > count. */
static size_t pair_slot(const struct owner_index *ix, uint32_t uid, uint16_t port)
{
	size_t mask = ix->cap - 1, i = pair_slot_hash(uid, port) & mask;

	while (ix->slots[i].n_keys && (ix->slots[i].uid != uid || ix->slots[i].port != port))
		i = (i + 1) & mask;
	return i;
}

int owner_index_init(struct owner_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->port_pairs[0] = calloc(PORTS, sizeof(uint32_t));
	ix->port_pairs[1] = calloc(PORTS, sizeof(uint32_t));
	if (!ix->port_pairs[0] || !ix->port_pairs[1]) {
		owner_index_free(ix);
		return -ENOMEM;
	}
	return 0;
}

void owner_index_clear(struct owner_index *ix)
{
	for (size_t i = 0; i < ix->cap; i++)
		free(ix->slots[i].keys);
	if (ix->cap)
		memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
	ix->count = 0;
	for (int t = 0; t < 2; t++)
		if (ix->port_pairs[t])
			memset(ix->port_pairs[t], 0, PORTS * sizeof(uint32_t));
}

void owner_index_free(struct owner_index *ix)
{
	owner_index_clear(ix);
	free(ix->slots);
	free(ix->port_pairs[0]);
	free(ix->port_pairs[1]);
	memset(ix, 0, sizeof(*ix));
}

/* Keep the table at most 3/4 full, so that probes stay short and one slot is always empty. */
static int index_reserve(struct owner_index *ix)
{
	struct owner_pair *old = ix->slots, *grown;
	size_t old_cap = ix->cap, cap = old_cap ? old_cap * 2 : 64;

	if ((ix->count + 1) * 4 <= ix->cap * 3)
		return 0;
	grown = calloc(cap, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ix->slots = grown;
	ix->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].n_keys)
			ix->slots[pair_slot(ix, old[i].uid, old[i].port)] = old[i];
	free(old);
	return 0;
}

/* Empty slot i by shifting back the pairs that probed past it (no tombstones to pile up). */
static void index_remove_slot(struct owner_index *ix, size_t i)
{
	size_t mask = ix->cap - 1, j = i;
	struct owner_pair *p = &ix->slots[i];

	ix->port_pairs[p->tenant][p->port]--;
	ix->count--;
	free(p->keys);
	for (;;) {
		size_t home;

		memset(&ix->slots[i], 0, sizeof(ix->slots[i]));
		do {
			j = (j + 1) & mask;
			if (!ix->slots[j].n_keys)
				return;
			home = pair_slot_hash(ix->slots[j].uid, ix->slots[j].port) & mask;
			/* j stays when its home lies cyclically in (i, j]. */
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		ix->slots[i] = ix->slots[j];
		i = j;
	}
}

int owner_index_add(struct owner_index *ix, const struct tg_port_key *key, uint32_t uid,
		    bool tenant)
{
	struct owner_pair *p;
	int err = index_reserve(ix);

	if (err)
		return err;
	p = &ix->slots[pair_slot(ix, uid, key->port)];
	for (uint32_t k = 0; k < p->n_keys; k++)
		if (memcmp(&p->keys[k], key, sizeof(*key)) == 0)
			return 0;
	if (p->n_keys == p->cap_keys) {
		uint32_t cap = p->cap_keys ? p->cap_keys * 2 : 2;
		struct tg_port_key *keys = realloc(p->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		p->keys = keys;
		p->cap_keys = cap;
	}
	p->keys[p->n_keys++] = *key;
	if (p->n_keys > 1)
		return 0;
	p->uid = uid;
	p->port = key->port;
	p->tenant = tenant;
	ix->count++;
	ix->port_pairs[tenant][key->port]++;
	return 1;
}

const struct owner_pair *owner_index_find(const struct owner_index *ix, uint32_t uid, uint16_t port)
{
	const struct owner_pair *p;

	if (!ix->cap)
		return NULL;
	p = &ix->slots[pair_slot(ix, uid, port)];
	return p->n_keys ? p : NULL;
}

uint32_t owner_index_port_pairs(const struct owner_index *ix, uint16_t port, bool tenant)
{
	return ix->port_pairs[tenant] ? ix->port_pairs[tenant][port] : 0;
}

/* Drop key from slot i or, with key NULL, the keys live() denies; a pair left without keys is
 * removed. Returns whether the pair is still there. */
static bool index_drop_keys(struct owner_index *ix, size_t i, const struct tg_port_key *key,
			    owner_live_fn live, void *ctx)
{
	struct owner_pair *p = &ix->slots[i];

	for (uint32_t k = 0; k < p->n_keys;) {
		bool drop = key ? memcmp(&p->keys[k], key, sizeof(*key)) == 0
				: !live(ctx, &p->keys[k], p->uid);

		if (drop)
			p->keys[k] = p->keys[--p->n_keys];
		else
			k++;
	}
	if (p->n_keys)
		return true;
	index_remove_slot(ix, i);
	return false;
}

static void event_key(const struct tg_owner_event *e, struct tg_port_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, e->addr, sizeof(key->addr));
	key->port = e->port;
	key->family = e->family;
}

void owner_changes_free(struct owner_changes *c)
{
	free(c->add);
	free(c->del);
	free(c->last);
	memset(c, 0, sizeof(*c));
}

int owner_feed_changes(struct owner_index *ix, const struct tg_owner_event *evs, size_t n,
		       const struct tg_policy *policy, owner_live_fn live, void *ctx,
		       struct owner_changes *out)
{
	struct nft_owner *touched;
	size_t n_touched = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	touched = calloc(n + 1, sizeof(*touched));
	out->add = calloc(n + 1, sizeof(*out->add));
	out->del = calloc(n + 1, sizeof(*out->del));
	out->last = calloc(n + 1, sizeof(*out->last));
	if (!touched || !out->add || !out->del || !out->last) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* In order: a pair that closed and came back within the burst ends up present. */
	for (size_t i = 0; i < n && !err; i++) {
		const struct tg_owner_event *e = &evs[i];
		struct nft_owner o = nft_owner_of(policy, e->uid, e->port);
		struct tg_port_key key;
		size_t slot;

		event_key(e, &key);
		if (e->added) {
			err = owner_index_add(ix, &key, e->uid, o.tenant);
			if (err >= 0)
				out->add[out->n_add++] = o;
			err = err < 0 ? err : 0;
			continue;
		}
		if (owner_index_find(ix, e->uid, e->port)) {
			slot = pair_slot(ix, e->uid, e->port);
			/* The set holds the pair in the kind it was added as. */
			o.tenant = ix->slots[slot].tenant;
			index_drop_keys(ix, slot, &key, NULL, NULL);
		}
		touched[n_touched++] = o;
	}
	if (err)
		goto cleanup;
	qsort(touched, n_touched, sizeof(*touched), nft_owner_pair_cmp);
	for (size_t i = 0; i < n_touched; i++) {
		const struct nft_owner *o = &touched[i];

		if (i > 0 && nft_owner_pair_cmp(&touched[i - 1], o) == 0)
			continue;
		/* Keys whose close event was lost must not keep the pair: ask the map. */
		if (owner_index_find(ix, o->uid, o->port) &&
		    index_drop_keys(ix, pair_slot(ix, o->uid, o->port), NULL, live, ctx))
			continue;
		out->del[out->n_del++] = *o;
	}
	/* After every removal, so that two pairs leaving one port take it along once. */
	for (size_t i = 0; i < out->n_del; i++)
		if (!owner_index_port_pairs(ix, out->del[i].port, out->del[i].tenant))
			out->last[out->n_last++] = out->del[i];
cleanup:
	free(touched);
	if (err)
		owner_changes_free(out);
	return err;
}

/* ---- the feed ---- */

static int feed_event(void *ctx, void *data, size_t size)
{
	struct owner_feed *f = ctx;
	struct tg_owner_event *grown;

	if (size < sizeof(struct tg_owner_event))
		return 0;
	if (f->n_pending == f->cap_pending) {
		size_t cap = f->cap_pending ? f->cap_pending * 2 : 64;

		if (cap > FEED_MAX_PENDING)
			return -E2BIG;
		grown = realloc(f->pending, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		f->pending = grown;
		f->cap_pending = cap;
	}
	memcpy(&f->pending[f->n_pending++], data, sizeof(struct tg_owner_event));
	return 0;
}

/* Owner events the kernel could not send so far (summed over CPUs). 0 or -errno. */
static int read_lost(const struct owner_feed *f, unsigned long long *lost)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = TG_STAT_OWNER_EVENTS_LOST;
	__u64 *values;
	int err = 0;

	*lost = 0;
	if (f->stats_fd < 0)
		return 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	values = calloc(ncpu, sizeof(*values));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(f->stats_fd, &key, values) != 0)
		err = -errno;
	for (int cpu = 0; !err && cpu < ncpu; cpu++)
		*lost += values[cpu];
	free(values);
	return err;
}

/* Every entry of port_owner (pins_dump_map(): a batch lookup where it can, not two calls each). */
static int read_port_owners(int fd, struct tg_port_key **keys, struct tg_port_owner **owners,
			    size_t *n)
{
	return pins_dump_map(fd, sizeof(**keys), sizeof(**owners), (void **)keys, (void **)owners,
			     n);
}

int owner_feed_rebuild(struct owner_feed *f, const struct tg_policy *policy,
		       const struct tg_port_key *keys, const uint32_t *uids, size_t n,
		       bool from_map)
{
	struct tg_port_key *mk = NULL;
	struct tg_port_owner *mo = NULL;
	unsigned long long lost = 0;
	size_t nmap = 0;
	int err;

	/* Before the walk: an event lost during it shows as a change at the next apply. */
	err = read_lost(f, &lost);
	if (!err && from_map)
		err = read_port_owners(f->port_owner_fd, &mk, &mo, &nmap);
	owner_index_clear(&f->index);
	for (size_t i = 0; !err && i < nmap; i++)
		err = owner_index_add(&f->index, &mk[i], mo[i].uid,
				      policy_is_tenant(policy, mo[i].uid));
	/* What the reconciliation put into the sets counts too, in the map or not. */
	for (size_t i = 0; !err && i < n; i++)
		err = owner_index_add(&f->index, &keys[i], uids[i],
				      policy_is_tenant(policy, uids[i]));
	free(mk);
	free(mo);
	f->index_stale = err < 0;
	if (err < 0) {
		pr_warn("cannot index the listeners of map tg_port_owner: %s (the next event retries)\n",
			strerror(-err));
		return err;
	}
	f->lost_seen = lost;
	return 0;
}

int owner_feed_open(struct owner_feed *f, const char *pin_dir, const struct tg_policy *policy)
{
	int ring_fd, err;

	memset(f, 0, sizeof(*f));
	f->stats_fd = -1;
	err = owner_index_init(&f->index);
	if (err)
		return err;
	f->port_owner_fd = pins_open(pin_dir, TG_PIN_PORT_OWNER);
	if (f->port_owner_fd < 0) {
		err = f->port_owner_fd;
		goto fail;
	}
	/* Without it lost events go unnoticed until the reconciliation; not worth failing for. */
	f->stats_fd = pins_open(pin_dir, TG_PIN_STATS);
	ring_fd = pins_open(pin_dir, TG_PIN_OWNER_EVENTS);
	if (ring_fd < 0) {
		err = ring_fd;
		goto fail;
	}
	f->rb = ring_buffer__new(ring_fd, feed_event, f, NULL);
	err = f->rb ? 0 : -errno;
	close(ring_fd); /* the ring buffer holds its own reference */
	if (!err)
		err = owner_feed_rebuild(f, policy, NULL, NULL, 0, true);
	if (!err)
		return 0;
fail:
	owner_feed_close(f);
	return err;
}

int owner_feed_fd(const struct owner_feed *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

static bool port_owner_live(void *ctx, const struct tg_port_key *key, uint32_t uid)
{
	const struct owner_feed *f = ctx;
	struct tg_port_owner owner;

	return bpf_map_lookup_elem(f->port_owner_fd, key, &owner) == 0 && owner.uid == uid;
}

int owner_events_to_nft(struct owner_feed *f, const struct tg_policy *policy,
			struct nft_handle *to_nft)
{
	struct owner_changes c = {};
	unsigned long long lost;
	size_t read;
	int err;

	err = ring_buffer__consume(f->rb);
	read = f->n_pending;
	if (err < 0) {
		f->index_stale = true; /* these events are dropped */
		goto out;
	}
	if (!read)
		goto out;
	/* An event the kernel could not send, or a failed rebuild, leaves the index short: the
	 * map is the truth, and a short index could take a port out of tunnel_ports early. */
	if (read_lost(f, &lost) == 0 && lost != f->lost_seen)
		f->index_stale = true;
	if (f->index_stale)
		owner_feed_rebuild(f, policy, NULL, NULL, 0, true);
	err = owner_feed_changes(&f->index, f->pending, read, policy, port_owner_live, f, &c);
	if (err || !to_nft)
		goto out;
	err = c.n_add ? nft_update_owners(to_nft, c.add, c.n_add, NULL, 0) : 0;
	/* A full port_owner lacks some listeners: the map cannot say a pair is gone, so a
	 * deletion could open a port another listener of it still holds. */
	if (f->adds_only)
		c.n_del = c.n_last = 0;
	/* Still no index: additions are safe, deletions judged by it are not. */
	if (!err && c.n_del && f->index_stale)
		err = -EAGAIN;
	if (!err && c.n_del)
		err = nft_delete_owners(to_nft, c.del, c.n_del, c.last, c.n_last);
	if (!err)
		f->applied += c.n_add + c.n_del;
out:
	if (err < 0)
		pr_warn("nft sets not updated from %zu listener changes: %s (the reconciliation repairs them)\n",
			read, strerror(-err));
	f->n_pending = 0;
	owner_changes_free(&c);
	return err < 0 ? err : (int)read;
}

void owner_feed_close(struct owner_feed *f)
{
	ring_buffer__free(f->rb);
	f->rb = NULL;
	if (f->port_owner_fd >= 0)
		close(f->port_owner_fd);
	f->port_owner_fd = -1;
	if (f->stats_fd >= 0)
		close(f->stats_fd);
	f->stats_fd = -1;
	free(f->pending);
	f->pending = NULL;
	f->n_pending = f->cap_pending = 0;
	owner_index_free(&f->index);
}
