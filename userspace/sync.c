// SPDX-License-Identifier: GPL-2.0-only
/*
 * sync.c - two of the paths that write the guard's state, source -> target: sock_diag listeners
 * -> tg_port_owner (sync_port_owner_from_diag, _from_listeners) and the local routing table ->
 * tg_local_addrs (sync_local_addrs_from_routes). The other two feed the nft sets: owner_feed.c
 * (owner events -> nft) and nft_watch.c (sock_diag polls -> nft); nft_sync_owners() (nft.c)
 * makes the sets match a listener list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pins.h"
#include "sync.h"
#include "sync_limits.h"

void sync_port_key(const struct diag_listener *l, struct tg_port_key *key)
{
	memset(key, 0, sizeof(*key));
	key->port = l->port;
	key->family = l->family;
	if (l->family == AF_INET) {
		key->addr[10] = 0xff;
		key->addr[11] = 0xff;
		memcpy(&key->addr[12], &l->ip[0], sizeof(l->ip[0]));
	} else {
		memcpy(key->addr, l->ip, sizeof(key->addr));
	}
}

/* A listener with its map key, so that lookups are a binary search, not a scan. */
struct keyed_listener {
	struct tg_port_key key;
	const struct diag_listener *listener;
};

struct keyed_list {
	struct keyed_listener *items;
	size_t count;
};

/* A total order on keys, by words rather than memcmp(): sync sorts and searches 300,000 keys
 * three times on a big hub, and a memcmp() call per comparison was a fifth of status's time. */
static int port_key_cmp(const struct tg_port_key *a, const struct tg_port_key *b)
{
	uint64_t x[2], y[2];

	memcpy(x, a->addr, sizeof(x));
	memcpy(y, b->addr, sizeof(y));
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->family < b->family ? -1 : a->family > b->family;
}

static int compare_keys(const void *a, const void *b)
{
	return port_key_cmp(&((const struct keyed_listener *)a)->key,
			    &((const struct keyed_listener *)b)->key);
}

static int index_listeners(const struct diag_list *list, struct keyed_list *out)
{
	out->count = list->count;
	out->items = calloc(list->count ? list->count : 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		sync_port_key(&list->items[i], &out->items[i].key);
		out->items[i].listener = &list->items[i];
	}
	qsort(out->items, out->count, sizeof(*out->items), compare_keys);
	return 0;
}

static const struct diag_listener *find_listener(const struct keyed_list *list,
						 const struct tg_port_key *key)
{
	struct keyed_listener probe = { .key = *key };
	const struct keyed_listener *hit =
		bsearch(&probe, list->items, list->count, sizeof(*list->items), compare_keys);

	return hit ? hit->listener : NULL;
}

/* One entry of tg_port_owner as read back. */
struct owner_entry {
	struct tg_port_key key;
	uint32_t uid;
};

static int compare_entries(const void *a, const void *b)
{
	return port_key_cmp(&((const struct owner_entry *)a)->key,
			    &((const struct owner_entry *)b)->key);
}

/* Every entry of tg_port_owner, sorted by key (pins_dump_map(): a batch lookup where it can). */
static int read_entries(int map_fd, struct owner_entry **out, size_t *count)
{
	struct tg_port_key *keys = NULL;
	struct tg_port_owner *owners = NULL;
	struct owner_entry *entries = NULL;
	size_t n = 0;
	int err = pins_dump_map(map_fd, sizeof(*keys), sizeof(*owners), (void **)&keys,
				(void **)&owners, &n);

	if (!err && n) {
		entries = calloc(n, sizeof(*entries));
		if (!entries)
			err = -ENOMEM;
	}
	for (size_t i = 0; !err && i < n; i++)
		entries[i] = (struct owner_entry){ .key = keys[i], .uid = owners[i].uid };
	if (!err && n) /* an empty map leaves entries NULL, which qsort() must not get */
		qsort(entries, n, sizeof(*entries), compare_entries);
	free(keys);
	free(owners);
	if (err) {
		free(entries);
		return err;
	}
	*out = entries;
	*count = n;
	return 0;
}
static int apply_owner(int map_fd, const struct tg_port_key *key, uint32_t uid)
{
	struct tg_port_owner owner = { .uid = uid };

	return bpf_map_update_elem(map_fd, key, &owner, BPF_ANY) < 0 ? -errno : 0;
}

/* The entries of each uid in the map as read (sync_limits.h). */
static int tally_entries(struct owner_tally **tally, size_t map_max,
			 const struct owner_entry *entries, size_t count)
{
	int err = 0;

	*tally = owner_tally_new((uint32_t)map_max);
	if (!*tally)
		return -ENOMEM;
	for (size_t i = 0; i < count && !err; i++)
		err = owner_tally_add(*tally, entries[i].uid, 1);
	return err;
}

/*
 * A listener whose uid holds its share of the map: not added, and an entry under another uid
 * for its key (a wrong owner) is removed rather than given to it.
 */
static int cap_entry(int map_fd, bool dry_run, struct sync_report *report,
		     struct owner_tally *tally, const struct owner_entry *have)
{
	report->capped++;
	if (!have)
		return 0;
	if (!dry_run && bpf_map_delete_elem(map_fd, &have->key) < 0 && errno != ENOENT)
		return -errno;
	return owner_tally_add(tally, have->uid, -1);
}

static int map_max_entries(int map_fd, size_t *max)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
		return -errno;
	*max = info.max_entries;
	return 0;
}

int sync_port_owner_from_diag(int map_fd, bool dry_run, struct sync_report *report)
{
	struct diag_list before = {};
	int err = diag_dump_listeners(&before);

	report->added = report->removed = report->changed = 0;
	report->entries = report->untracked = 0;
	if (!err)
		err = sync_port_owner_from_listeners(map_fd, dry_run, report, &before, NULL);
	diag_list_free(&before);
	return err;
}

int sync_port_owner_from_listeners(int map_fd, bool dry_run, struct sync_report *report,
				   const struct diag_list *before_list, struct diag_list *after_out)
{
	const struct diag_list before = *before_list;
	struct diag_list after = {};
	struct keyed_list before_index = {}, after_index = {};
	struct owner_entry *entries = NULL, probe;
	const struct owner_entry *have;
	struct tg_port_key key;
	const struct diag_listener *l, *l2;
	enum drift_kind kind;
	size_t count = 0, map_max = 0;
	struct owner_tally *tally = NULL;
	int err;

	report->added = report->removed = report->changed = 0;
	report->entries = report->untracked = report->capped = 0;
	err = read_entries(map_fd, &entries, &count);
	if (!err)
		err = diag_dump_listeners(&after);
	if (!err)
		err = map_max_entries(map_fd, &map_max);
	if (!err)
		err = tally_entries(&tally, map_max, entries, count);
	if (!err)
		err = index_listeners(&before, &before_index);
	if (!err)
		err = index_listeners(&after, &after_index);
	if (err)
		goto cleanup;
	report->entries = count;
	for (size_t i = 0; i < count && !err; i++) {
		if (find_listener(&before_index, &entries[i].key) ||
		    find_listener(&after_index, &entries[i].key))
			continue;
		report->removed++;
		if (report->on_drift)
			report->on_drift(report->ctx, DRIFT_STALE, &entries[i].key, entries[i].uid);
		if (!dry_run && bpf_map_delete_elem(map_fd, &entries[i].key) < 0 && errno != ENOENT)
			err = -errno;
		if (!err)
			err = owner_tally_add(tally, entries[i].uid, -1);
	}
	for (size_t i = 0; i < before.count && !err; i++) {
		l = &before.items[i];
		sync_port_key(l, &key);
		l2 = find_listener(&after_index, &key);
		if (!l2 || l2->uid != l->uid)
			continue;
		/* The listener was there before and after the map was read: the read saw its
		 * entry, if the bind hook made one. */
		probe.key = key;
		have = bsearch(&probe, entries, count, sizeof(*entries), compare_entries);
		if (!have && dry_run && report->entries >= map_max) {
			report->untracked++; /* not drift: it cannot fit */
			continue;
		} else if ((!have || have->uid != l->uid) && owner_tally_full(tally, l->uid)) {
			err = cap_entry(map_fd, dry_run, report, tally, have);
			continue;
		} else if (!have) {
			report->added++;
			kind = DRIFT_MISSING;
		} else if (have->uid != l->uid) {
			report->changed++;
			kind = DRIFT_WRONG_OWNER;
		} else {
			continue;
		}
		if (!dry_run) {
			err = apply_owner(map_fd, &key, l->uid);
			if (err == -E2BIG && !have) {
				/* Full: the rest cannot be added either; count, do not fail. */
				report->added--;
				report->untracked++;
				err = 0;
				continue;
			}
			if (!err && have)
				err = owner_tally_add(tally, have->uid, -1);
			if (!err)
				err = owner_tally_add(tally, l->uid, 1);
		}
		if (report->on_drift &&
		    !(kind == DRIFT_MISSING && report->hooked && !report->hooked(report->ctx, l)))
			report->on_drift(report->ctx, kind, &key, l->uid);
	}
	if (!err && !dry_run && report->owner_count_fd > 0)
		err = owner_tally_write(tally, report->owner_count_fd);
	if (err)
		pr_err("cannot update map tg_port_owner: %s\n", strerror(-err));
cleanup:
	owner_tally_free(tally);
	free(entries);
	free(before_index.items);
	free(after_index.items);
	if (after_out && !err)
		*after_out = after;
	else
		diag_list_free(&after);
	return err;
}

static bool has_key(const struct local_addr_list *list, const struct tg_lpm_key *key)
{
	for (size_t i = 0; i < list->count; i++)
		if (memcmp(&list->keys[i], key, sizeof(*key)) == 0)
			return true;
	return false;
}

int sync_local_addrs_from_routes(int map_fd, bool dry_run, struct sync_report *report)
{
	struct local_addr_list live = {};
	struct local_addr_list in_map = {};
	struct tg_lpm_key *keys = NULL;
	void *values = NULL;
	size_t count = 0;
	__u8 one = 1;
	int err;

	report->added = report->removed = report->changed = 0;
	err = local_addrs_dump(&live);
	if (!err)
		err = pins_dump_map(map_fd, sizeof(*keys), sizeof(one), (void **)&keys, &values,
				    &count);
	free(values);
	if (err)
		goto cleanup;
	in_map.keys = keys;
	in_map.count = count;
	/* Add before removing: the trie never lacks an address that is local now. A trie lookup
	 * answers with the longest matching prefix, so compare keys exactly instead. */
	for (size_t i = 0; i < live.count && !err; i++) {
		if (has_key(&in_map, &live.keys[i]))
			continue;
		report->added++;
		if (!dry_run && bpf_map_update_elem(map_fd, &live.keys[i], &one, BPF_ANY) < 0)
			err = -errno;
	}
	for (size_t i = 0; i < count && !err; i++) {
		if (has_key(&live, &keys[i]))
			continue;
		report->removed++;
		if (!dry_run && bpf_map_delete_elem(map_fd, &keys[i]) < 0 && errno != ENOENT)
			err = -errno;
	}
	if (err)
		pr_err("cannot update map tg_local_addrs: %s\n", strerror(-err));
cleanup:
	free(keys);
	local_addrs_free(&live);
	return err;
}
