// SPDX-License-Identifier: GPL-2.0-only
/* sync_limits.c - the reconciliation's tally of tg_port_owner entries per uid (sync_limits.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "tg_limits.h"

#include "pins.h"
#include "sync_limits.h"

/* Open addressing on uid; slot_used marks the slots in use (uid 0 is a valid key). */
struct owner_tally {
	uint32_t max_entries;
	size_t n, cap; /* used slots, slots (a power of two) */
	uint32_t *uid;
	uint32_t *count;
	bool *used;
};

static size_t slot_of(const struct owner_tally *t, uint32_t uid)
{
	size_t i = (uid * 2654435761u) & (t->cap - 1);

	while (t->used[i] && t->uid[i] != uid)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct owner_tally *t)
{
	struct owner_tally bigger = *t;

	bigger.cap = t->cap ? t->cap * 2 : 256;
	bigger.n = 0;
	bigger.uid = calloc(bigger.cap, sizeof(*bigger.uid));
	bigger.count = calloc(bigger.cap, sizeof(*bigger.count));
	bigger.used = calloc(bigger.cap, sizeof(*bigger.used));
	if (!bigger.uid || !bigger.count || !bigger.used) {
		free(bigger.uid);
		free(bigger.count);
		free(bigger.used);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->used[i])
			continue;
		j = slot_of(&bigger, t->uid[i]);
		bigger.used[j] = true;
		bigger.uid[j] = t->uid[i];
		bigger.count[j] = t->count[i];
		bigger.n++;
	}
	free(t->uid);
	free(t->count);
	free(t->used);
	*t = bigger;
	return 0;
}

struct owner_tally *owner_tally_new(uint32_t max_entries)
{
	struct owner_tally *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max_entries = max_entries;
	if (grow(t)) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void owner_tally_free(struct owner_tally *t)
{
	if (!t)
		return;
	free(t->uid);
	free(t->count);
	free(t->used);
	free(t);
}

int owner_tally_add(struct owner_tally *t, uint32_t uid, int delta)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap && grow(t))
		return -ENOMEM;
	i = slot_of(t, uid);
	if (!t->used[i]) {
		t->used[i] = true;
		t->uid[i] = uid;
		t->count[i] = 0;
		t->n++;
	}
	if (delta > 0)
		t->count[i]++;
	else if (t->count[i] > 0)
		t->count[i]--;
	return 0;
}

bool owner_tally_full(const struct owner_tally *t, uint32_t uid)
{
	size_t i = slot_of(t, uid);

	return t->used[i] && t->count[i] >= tg_owner_cap(uid, t->max_entries);
}

int owner_tally_write(const struct owner_tally *t, int count_fd)
{
	uint32_t *keys = NULL;
	struct tg_owner_count *values = NULL;
	size_t n = 0;
	int err = pins_dump_map(count_fd, sizeof(*keys), sizeof(*values), (void **)&keys,
				(void **)&values, &n);

	/* uids the map has and the tally lacks own no entry now. */
	for (size_t i = 0; !err && i < n; i++) {
		struct tg_owner_count zero = { 0 };
		size_t s = slot_of(t, keys[i]);

		if (!t->used[s] && values[i].count &&
		    bpf_map_update_elem(count_fd, &keys[i], &zero, BPF_EXIST) < 0 &&
		    errno != ENOENT)
			err = -errno;
	}
	for (size_t i = 0; !err && i < t->cap; i++) {
		struct tg_owner_count c = { .count = t->count[i] };

		/* A full map (more uids than TG_TUNNELS_UIDS) leaves the bind hooks uncapped for
		 * the rest: not an error of the reconciliation. */
		if (t->used[i] && bpf_map_update_elem(count_fd, &t->uid[i], &c, BPF_ANY) < 0 &&
		    errno != E2BIG)
			err = -errno;
	}
	free(keys);
	free(values);
	return err;
}
