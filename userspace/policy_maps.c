// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_maps.c - the policy into the kernel's policy maps (sized, filled with batch updates,
 * frozen) and back (batch lookups), and the facts of one decision looked up in them as the
 * kernel program does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "policy_maps.h"
#include "util.h"

/* The kernel's "operation not supported" for a map without batch operations. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

static __u32 at_least_one(size_t n)
{
	return n ? (__u32)n : 1;
}

int policy_maps_size(const struct policy_map_set *m, const struct tg_policy *p,
		     const struct tg_settings *s)
{
	int err = bpf_map__set_max_entries(m->tenant_uids, at_least_one(s->uid_bitmap_limit / 64));
	__u32 *listed = NULL;
	size_t n_listed = 0;

	err = err ?: policy_high_listed(p, &listed, &n_listed);
	free(listed);
	err = err ?: bpf_map__set_max_entries(m->tenant_uids_high, at_least_one(n_listed));
	err = err ?: bpf_map__set_max_entries(m->allow_rules, at_least_one(policy_allow_pairs(p)));
	err = err ?: bpf_map__set_max_entries(m->tenant_names, at_least_one(p->n_section));
	return err;
}

/* count entries at once; where the kernel has no batch updates, one by one. */
static int update_all(int fd, const void *keys, size_t key_size, const void *values,
		      size_t value_size, __u32 count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 done = count;

	if (!count)
		return 0;
	if (bpf_map_update_batch(fd, keys, values, &done, &opts) == 0)
		return 0;
	if (errno != EINVAL && errno != EOPNOTSUPP && errno != ENOTSUPP)
		return -errno;
	for (__u32 i = 0; i < count; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)values + i * value_size, BPF_ANY) < 0)
			return -errno;
	return 0;
}

static __u32 *index_keys(size_t n)
{
	__u32 *keys = calloc(n ? n : 1, sizeof(*keys));

	for (size_t i = 0; keys && i < n; i++)
		keys[i] = (__u32)i;
	return keys;
}

static int fill_tenant_uids(int fd, const struct tg_policy *p, const struct tg_settings *s)
{
	size_t words = s->uid_bitmap_limit / 64, n;
	__u64 *bits = calloc(words ? words : 1, sizeof(*bits));
	__u32 *keys = index_keys(words);
	struct tg_uid_range *r = NULL;
	int err = bits && keys ? policy_restricted(p, &r, &n) : -ENOMEM;

	for (size_t i = 0; !err && i < n; i++) {
		__u64 last = r[i].last;

		if (r[i].first >= s->uid_bitmap_limit)
			continue;
		if (last >= s->uid_bitmap_limit)
			last = s->uid_bitmap_limit - 1;
		for (__u64 uid = r[i].first; uid <= last;) {
			if ((uid & 63) == 0 && last - uid >= 63) {
				bits[uid / 64] = ~0ULL;
				uid += 64;
			} else {
				bits[uid / 64] |= 1ULL << (uid & 63);
				uid++;
			}
		}
	}
	if (!err)
		err = update_all(fd, keys, sizeof(*keys), bits, sizeof(*bits), (__u32)words);
	free(r);
	free(keys);
	free(bits);
	return err;
}

static int fill_tenant_uids_high(int fd, const struct tg_policy *p)
{
	__u32 *uids = NULL;
	size_t n = 0;
	__u8 *ones = NULL;
	int err = policy_high_listed(p, &uids, &n);

	if (!err && n) {
		ones = malloc(n);
		err = ones ? 0 : -ENOMEM;
	}
	if (!err && n) {
		memset(ones, 1, n);
		err = update_all(fd, uids, sizeof(*uids), ones, 1, (__u32)n);
	}
	free(uids);
	free(ones);
	return err;
}

static int fill_ports(int fd, const struct tg_policy *p)
{
	struct tg_port_policy *v = calloc(TG_PORT_COUNT, sizeof(*v));
	__u32 *keys = index_keys(TG_PORT_COUNT);
	int err = v && keys ? 0 : -ENOMEM;

	for (__u32 i = 0; !err && i < p->n_reservation; i++)
		for (__u32 port = p->reservation[i].first; port <= p->reservation[i].last; port++) {
			v[port].reserved_for = p->reservation[i].uid;
			v[port].tenant = p->reservation_section[i] + 1;
		}
	for (__u32 i = 0; !err && i < p->n_allow_port; i++)
		for (__u32 port = p->allow_port[i].first; port <= p->allow_port[i].last; port++)
			v[port].flags |= TG_PORT_OPEN;
	if (!err)
		err = update_all(fd, keys, sizeof(*keys), v, sizeof(*v), TG_PORT_COUNT);
	free(keys);
	free(v);
	return err;
}

static int fill_allow_rules(int fd, const struct tg_policy *p)
{
	size_t n = policy_allow_pairs(p), k = 0;
	struct tg_allow_key *keys = calloc(n ? n : 1, sizeof(*keys));
	__u8 *ones = malloc(n ? n : 1);
	int err = keys && ones ? 0 : -ENOMEM;

	if (!err)
		memset(ones, 1, n ? n : 1);
	for (__u32 i = 0; !err && i < p->n_allow_rule; i++)
		for (__u32 port = p->allow_rule[i].first; port <= p->allow_rule[i].last; port++)
			keys[k++] = (struct tg_allow_key){ .uid = p->allow_rule[i].uid,
							   .port = (__u16)port };
	if (!err)
		err = update_all(fd, keys, sizeof(*keys), ones, 1, (__u32)k);
	free(keys);
	free(ones);
	return err;
}

static int fill_tenant_names(int fd, const struct tg_policy *p)
{
	__u32 *keys = index_keys(p->n_section);
	int err = keys ? update_all(fd, keys, sizeof(*keys), p->section, sizeof(*p->section),
				    p->n_section)
		       : -ENOMEM;

	free(keys);
	return err;
}

int policy_maps_fill(const struct policy_map_fds *fds, const struct tg_policy *p,
		     const struct tg_settings *s)
{
	const int all[] = { fds->tenant_uids, fds->tenant_uids_high, fds->ports, fds->allow_rules,
			    fds->tenant_names };
	int err = fill_tenant_uids(fds->tenant_uids, p, s);

	err = err ?: fill_tenant_uids_high(fds->tenant_uids_high, p);
	err = err ?: fill_ports(fds->ports, p);
	err = err ?: fill_allow_rules(fds->allow_rules, p);
	err = err ?: fill_tenant_names(fds->tenant_names, p);
	if (err) {
		pr_err("cannot fill the policy maps: %s\n", strerror(-err));
		return err;
	}
	/* Frozen: nothing changes the policy of a running program; a new policy is a new load. */
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (bpf_map_freeze(all[i]) < 0) {
			err = -errno;
			pr_err("cannot freeze the policy maps: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Every entry of an array map, by batches (one by one where the kernel has none). */
static int read_array(int fd, __u32 n, void *values, size_t value_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 *keys = index_keys(n), got = 0, batch = 0;
	int err = keys ? 0 : -ENOMEM;

	while (!err && got < n) {
		__u32 count = n - got;

		if (bpf_map_lookup_batch(fd, got ? &batch : NULL, &batch, keys + got,
					 (char *)values + (size_t)got * value_size, &count,
					 &opts) < 0 &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
		got += count;
		if (!count)
			break;
	}
	if (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP) {
		err = 0;
		for (__u32 i = 0; !err && i < n; i++)
			if (bpf_map_lookup_elem(fd, &keys[i], (char *)values + i * value_size) < 0)
				err = -errno;
	}
	free(keys);
	return err;
}

static int map_entries(int fd, __u32 *max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*max_entries = info.max_entries;
	return 0;
}

static int push_uid_range(struct tg_policy *p, size_t *cap, __u32 first, __u32 last)
{
	if (p->n_tenant && p->tenant[p->n_tenant - 1].last + 1 == first) {
		p->tenant[p->n_tenant - 1].last = last;
		return 0;
	}
	if (util_grow((void **)&p->tenant, cap, p->n_tenant + 1, sizeof(*p->tenant)))
		return -ENOMEM;
	p->tenant[p->n_tenant++] = (struct tg_uid_range){ first, last };
	return 0;
}

static int compare_uid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The keys of hash map fd one by one, where the kernel has no batch lookups: 0 or -errno. */
static int walk_keys(int fd, size_t key_size, char *keys, __u32 max, __u32 *n)
{
	char key[16], next[16];
	const void *prev = NULL;
	__u32 k = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (k < max && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(keys + (size_t)k++ * key_size, next, key_size);
		memcpy(key, next, key_size);
		prev = key;
	}
	if (k < max && errno != ENOENT && prev)
		return -errno;
	*n = k;
	return 0;
}

/*
 * Every key of hash map fd (keys of key_size bytes, values of value_size), sorted by compare,
 * in *out (malloc'd): by batches, 100,000 keys in a few ms. 0 or -errno.
 */
static int read_keys(int fd, size_t key_size, size_t value_size,
		     int (*compare)(const void *, const void *), void **out, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
	__u32 max = 0, got = 0, batch = 0;
	char *keys = NULL, *values = NULL;
	int err = map_entries(fd, &max);

	if (!err) {
		keys = calloc(max ? max : 1, key_size);
		values = calloc(max ? max : 1, value_size);
		err = keys && values ? 0 : -ENOMEM;
	}
	while (!err && got < max) {
		__u32 count = max - got;
		int ret = bpf_map_lookup_batch(fd, got ? &batch : NULL, &batch,
					       keys + (size_t)got * key_size,
					       values + (size_t)got * value_size, &count, &opts);

		if (ret < 0 && errno != ENOENT) {
			err = -errno;
			break;
		}
		got += count;
		if (ret < 0 || !count)
			break; /* ENOENT: that was the last batch */
	}
	if (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP)
		err = walk_keys(fd, key_size, keys, max, &got);
	free(values);
	if (err) {
		free(keys);
		return err;
	}
	if (got)
		qsort(keys, got, key_size, compare);
	*out = keys;
	*n = got;
	return 0;
}

/*
 * The restricted uids above the bitmap, in order: the listed ones (tg_tenant_uids_high; -1 for
 * a guard loaded before it existed) merged with the settings' wide ranges.
 */
static int read_tenant_uids_high(int fd, const struct tg_settings *s, struct tg_policy *p,
				 size_t *cap)
{
	__u32 n_wide = s->n_high < TG_MAX_HIGH_RANGES ? s->n_high : TG_MAX_HIGH_RANGES;
	__u32 *listed = NULL, w = 0;
	size_t n_listed = 0, l = 0;
	int err = fd >= 0 ? read_keys(fd, sizeof(*listed), 1, compare_uid, (void **)&listed,
				      &n_listed)
			  : 0;

	while (!err && (l < n_listed || w < n_wide)) {
		if (w == n_wide || (l < n_listed && listed[l] < s->high[w].first)) {
			err = push_uid_range(p, cap, listed[l], listed[l]);
			l++;
		} else {
			err = push_uid_range(p, cap, s->high[w].first, s->high[w].last);
			w++;
		}
	}
	free(listed);
	return err;
}

static int read_tenant_uids(int fd, int high_fd, const struct tg_settings *s, struct tg_policy *p)
{
	__u32 words = 0;
	size_t cap = 0;
	__u64 *bits;
	int err = map_entries(fd, &words);

	if (err)
		return err;
	if (words > s->uid_bitmap_limit / 64)
		words = s->uid_bitmap_limit / 64;
	bits = calloc(words ? words : 1, sizeof(*bits));
	if (!bits)
		return -ENOMEM;
	err = read_array(fd, words, bits, sizeof(*bits));
	for (__u32 w = 0; !err && w < words; w++) {
		for (__u32 b = 0; bits[w] && b < 64 && !err; b++)
			if (bits[w] & (1ULL << b))
				err = push_uid_range(p, &cap, w * 64 + b, w * 64 + b);
	}
	free(bits);
	return err ?: read_tenant_uids_high(high_fd, s, p, &cap);
}

static int read_ports(int fd, struct tg_policy *p)
{
	struct tg_port_policy *v = calloc(TG_PORT_COUNT, sizeof(*v));
	size_t cap_r = 0, cap_rs = 0, cap_a = 0;
	int err = v ? read_array(fd, TG_PORT_COUNT, v, sizeof(*v)) : -ENOMEM;

	for (__u32 port = 0; !err && port < TG_PORT_COUNT; port++) {
		if (v[port].reserved_for) {
			struct tg_port_grant *last =
				p->n_reservation ? &p->reservation[p->n_reservation - 1] : NULL;

			if (last && last->last + 1U == port && last->uid == v[port].reserved_for &&
			    p->reservation_section[p->n_reservation - 1] + 1 == v[port].tenant) {
				last->last = (__u16)port;
			} else if (util_grow((void **)&p->reservation, &cap_r, p->n_reservation + 1,
					     sizeof(*p->reservation)) ||
				   util_grow((void **)&p->reservation_section, &cap_rs,
					     p->n_reservation + 1,
					     sizeof(*p->reservation_section))) {
				err = -ENOMEM;
			} else {
				p->reservation[p->n_reservation] =
					(struct tg_port_grant){ v[port].reserved_for, (__u16)port,
								(__u16)port };
				p->reservation_section[p->n_reservation++] =
					v[port].tenant ? v[port].tenant - 1 : 0;
			}
		}
		if (!err && (v[port].flags & TG_PORT_OPEN)) {
			if (p->n_allow_port && p->allow_port[p->n_allow_port - 1].last + 1U == port)
				p->allow_port[p->n_allow_port - 1].last = (__u16)port;
			else if (util_grow((void **)&p->allow_port, &cap_a, p->n_allow_port + 1,
					   sizeof(*p->allow_port)))
				err = -ENOMEM;
			else
				p->allow_port[p->n_allow_port++] =
					(struct tg_port_range){ (__u16)port, (__u16)port };
		}
	}
	free(v);
	return err;
}

static int compare_allow_key(const void *a, const void *b)
{
	const struct tg_allow_key *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int read_allow_rules(int fd, struct tg_policy *p)
{
	struct tg_allow_key *keys = NULL;
	size_t n = 0, cap_r = 0;
	int err = read_keys(fd, sizeof(*keys), 1, compare_allow_key, (void **)&keys, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct tg_port_grant *last =
			p->n_allow_rule ? &p->allow_rule[p->n_allow_rule - 1] : NULL;

		if (last && last->uid == keys[i].uid && last->last + 1U == keys[i].port)
			last->last = keys[i].port;
		else if (util_grow((void **)&p->allow_rule, &cap_r, p->n_allow_rule + 1,
				   sizeof(*p->allow_rule)))
			err = -ENOMEM;
		else
			p->allow_rule[p->n_allow_rule++] =
				(struct tg_port_grant){ keys[i].uid, keys[i].port, keys[i].port };
	}
	free(keys);
	return err;
}

static int read_tenant_names(int fd, struct tg_policy *p)
{
	__u32 n = 0;
	int err = map_entries(fd, &n);

	if (err)
		return err;
	p->section = calloc(n ? n : 1, sizeof(*p->section));
	if (!p->section)
		return -ENOMEM;
	err = read_array(fd, n, p->section, sizeof(*p->section));
	/* The map has at least one entry: an empty one is no section. */
	while (!err && n && !p->section[n - 1].name[0])
		n--;
	p->n_section = n;
	return err;
}

int policy_maps_read(const struct policy_map_fds *fds, const struct tg_settings *s,
		     struct tg_policy *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->mode = s->mode;
	p->policy = s->policy;
	p->deny_errno = s->deny_errno;
	p->bind_policy = s->bind_policy;
	p->max_tunnels = s->max_tunnels;
	err = read_tenant_uids(fds->tenant_uids, fds->tenant_uids_high, s, p);
	err = err ?: read_ports(fds->ports, p);
	err = err ?: read_allow_rules(fds->allow_rules, p);
	err = err ?: read_tenant_names(fds->tenant_names, p);
	if (err)
		policy_free(p);
	return err;
}
