// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "log.h"
#include "owner_feed.h"

/* A burst beyond this is left to the reconciliation: the sets are repaired there anyway. */
#define FEED_MAX_PENDING 65536

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

static int open_pinned(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (loader_pin_path(path, sizeof(path), pin_dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int owner_feed_open(struct owner_feed *f, const char *pin_dir)
{
	int ring_fd, err;

	memset(f, 0, sizeof(*f));
	f->port_owner_fd = open_pinned(pin_dir, TG_PIN_PORT_OWNER);
	if (f->port_owner_fd < 0)
		return f->port_owner_fd;
	ring_fd = open_pinned(pin_dir, TG_PIN_OWNER_EVENTS);
	if (ring_fd < 0) {
		err = ring_fd;
		goto fail;
	}
	f->rb = ring_buffer__new(ring_fd, feed_event, f, NULL);
	err = f->rb ? 0 : -errno;
	close(ring_fd); /* the ring buffer holds its own reference */
	if (!err)
		return 0;
fail:
	close(f->port_owner_fd);
	f->port_owner_fd = -1;
	return err;
}

int owner_feed_fd(const struct owner_feed *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct nft_owner *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (int)x->port - (int)y->port;
}

size_t owner_feed_deletions(const struct tg_owner_event *evs, size_t n,
			    const struct tg_port_owner *live, const struct tg_port_key *live_keys,
			    size_t n_live, const struct tg_policy *policy, struct nft_owner *out)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		bool remains = false;

		if (evs[i].added)
			continue;
		for (size_t k = 0; k < n_live && !remains; k++)
			remains = live[k].uid == evs[i].uid && live_keys[k].port == evs[i].port;
		if (!remains)
			out[count++] = nft_owner_of(policy, evs[i].uid, evs[i].port);
	}
	qsort(out, count, sizeof(*out), pair_cmp);
	/* One deletion per pair. */
	for (size_t i = 1, j = 0; i <= count; i++) {
		if (i == count) {
			count = count ? j + 1 : 0;
			break;
		}
		if (pair_cmp(&out[i], &out[j]) != 0)
			out[++j] = out[i];
	}
	return count;
}

/* Every entry of port_owner. 0 or -errno. */
static int read_port_owners(int fd, struct tg_port_key **keys, struct tg_port_owner **owners,
			    size_t *n)
{
	struct tg_port_key key, next, *k = NULL;
	struct tg_port_owner *o = NULL;
	size_t count = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (count == cap) {
			size_t c = cap ? cap * 2 : 64;
			void *nk = realloc(k, c * sizeof(*k));
			void *no = nk ? realloc(o, c * sizeof(*o)) : NULL;

			if (nk)
				k = nk;
			if (no)
				o = no;
			if (!nk || !no) {
				free(k);
				free(o);
				return -ENOMEM;
			}
			cap = c;
		}
		if (bpf_map_lookup_elem(fd, &next, &o[count]) == 0)
			k[count++] = next;
		key = next;
		prev = &key;
	}
	*keys = k;
	*owners = o;
	*n = count;
	return 0;
}

int owner_feed_apply(struct owner_feed *f, const struct tg_policy *policy, bool to_nft)
{
	struct nft_owner *add = NULL, *del = NULL;
	struct tg_port_key *keys = NULL;
	struct tg_port_owner *live = NULL;
	size_t nadd = 0, ndel = 0, nlive = 0, read;
	bool any_del = false;
	int err;

	err = ring_buffer__consume(f->rb);
	read = f->n_pending;
	if (err < 0 || !read || !to_nft)
		goto out;
	add = calloc(read, sizeof(*add));
	del = calloc(read, sizeof(*del));
	if (!add || !del) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < read; i++) {
		if (f->pending[i].added)
			add[nadd++] = nft_owner_of(policy, f->pending[i].uid, f->pending[i].port);
		else
			any_del = true;
	}
	/* A pair that closed and came back within the burst is both added and kept. */
	if (any_del) {
		err = read_port_owners(f->port_owner_fd, &keys, &live, &nlive);
		if (err)
			goto out;
		ndel = owner_feed_deletions(f->pending, read, live, keys, nlive, policy, del);
	}
	err = nadd ? nft_update_owners(add, nadd, NULL, 0) : 0;
	if (!err && ndel)
		err = nft_update_owners(NULL, 0, del, ndel);
	if (!err)
		f->applied += nadd + ndel;
out:
	if (err < 0)
		pr_warn("nft sets not updated from %zu listener changes: %s (the reconciliation "
			"repairs them)\n",
			read, strerror(-err));
	f->n_pending = 0;
	free(add);
	free(del);
	free(keys);
	free(live);
	return err < 0 ? err : (int)read;
}

void owner_feed_close(struct owner_feed *f)
{
	ring_buffer__free(f->rb);
	f->rb = NULL;
	if (f->port_owner_fd >= 0)
		close(f->port_owner_fd);
	f->port_owner_fd = -1;
	free(f->pending);
	f->pending = NULL;
	f->n_pending = f->cap_pending = 0;
}
