// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "log.h"
#include "sync.h"

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

static int compare_keys(const void *a, const void *b)
{
	return memcmp(&((const struct keyed_listener *)a)->key,
		      &((const struct keyed_listener *)b)->key, sizeof(struct tg_port_key));
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

/* Every key of a hash or trie map, in a malloc'ed array. */
static int read_keys(int map_fd, size_t key_size, void **keys, size_t *count)
{
	size_t cap = 64, n = 0;
	char *buf = malloc(cap * key_size), *grown;
	void *prev = NULL;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			grown = cap < (1u << 24) ? realloc(buf, cap * 2 * key_size) : NULL;
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		if (bpf_map_get_next_key(map_fd, prev, buf + n * key_size) < 0) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		prev = buf + n * key_size;
		n++;
	}
	if (err) {
		free(buf);
		return err;
	}
	*keys = buf;
	*count = n;
	return 0;
}

static int apply_owner(int map_fd, const struct tg_port_key *key, uint32_t uid)
{
	struct tg_port_owner owner = { .uid = uid };

	return bpf_map_update_elem(map_fd, key, &owner, BPF_ANY) < 0 ? -errno : 0;
}

int sync_port_owners(int map_fd, bool dry_run, struct sync_report *report)
{
	struct diag_list before = {}, after = {};
	struct keyed_list before_index = {}, after_index = {};
	struct tg_port_key *keys = NULL, key;
	struct tg_port_owner owner;
	const struct diag_listener *l, *l2;
	const char *what;
	size_t count = 0;
	int err;

	report->added = report->removed = report->changed = 0;
	err = diag_dump_listeners(&before);
	if (!err)
		err = read_keys(map_fd, sizeof(*keys), (void **)&keys, &count);
	if (!err)
		err = diag_dump_listeners(&after);
	if (!err)
		err = index_listeners(&before, &before_index);
	if (!err)
		err = index_listeners(&after, &after_index);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < count && !err; i++) {
		if (find_listener(&before_index, &keys[i]) || find_listener(&after_index, &keys[i]))
			continue;
		report->removed++;
		if (report->on_drift && bpf_map_lookup_elem(map_fd, &keys[i], &owner) == 0)
			report->on_drift(report->ctx, "stale", &keys[i], owner.uid);
		if (!dry_run && bpf_map_delete_elem(map_fd, &keys[i]) < 0 && errno != ENOENT)
			err = -errno;
	}
	for (size_t i = 0; i < before.count && !err; i++) {
		l = &before.items[i];
		sync_port_key(l, &key);
		l2 = find_listener(&after_index, &key);
		if (!l2 || l2->uid != l->uid)
			continue;
		if (bpf_map_lookup_elem(map_fd, &key, &owner) < 0) {
			report->added++;
			what = "missing";
		} else if (owner.uid != l->uid) {
			report->changed++;
			what = "wrong owner";
		} else {
			continue;
		}
		if (report->on_drift)
			report->on_drift(report->ctx, what, &key, l->uid);
		if (!dry_run)
			err = apply_owner(map_fd, &key, l->uid);
	}
	if (err)
		pr_warn("cannot update map tg_port_owner: %s\n", strerror(-err));
cleanup:
	free(keys);
	free(before_index.items);
	free(after_index.items);
	diag_list_free(&before);
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

int sync_local_addrs(int map_fd, bool dry_run, struct sync_report *report)
{
	struct local_addr_list live = {};
	struct local_addr_list in_map = {};
	struct tg_lpm_key *keys = NULL;
	size_t count = 0;
	__u8 one = 1;
	int err;

	report->added = report->removed = report->changed = 0;
	err = local_addrs_dump(&live);
	if (!err)
		err = read_keys(map_fd, sizeof(*keys), (void **)&keys, &count);
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
		pr_warn("cannot update map tg_local_addrs: %s\n", strerror(-err));
cleanup:
	free(keys);
	local_addrs_free(&live);
	return err;
}
