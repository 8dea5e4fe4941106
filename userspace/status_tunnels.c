// SPDX-License-Identifier: GPL-2.0-only
/* status_tunnels.c - each tenant uid's tunnels against its max-tunnels (status_tunnels.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tg_limits.h"
#include "tg_maps.h"

#include "guard.h"
#include "pins.h"
#include "status_tunnels.h"

struct usage_row {
	__u32 uid;
	__u32 count;
	__u32 limit; /* 0: none */
	bool own;    /* the limit is the uid's [tenant] one */
};

struct usage {
	bool readable; /* tg_tunnels could be read */
	struct usage_row *rows;
	size_t n;
	unsigned long long ports; /* sum of the counts */
	size_t per_uid;		  /* entries of the running tg_tunnel_max */
};

/* Closest to its limit first (ratio; no limit counts as far), then the biggest count. */
static int compare_rows(const void *a, const void *b)
{
	const struct usage_row *x = a, *y = b;
	unsigned long long lx = x->limit ? x->limit : 0xffffffffULL;
	unsigned long long ly = y->limit ? y->limit : 0xffffffffULL;
	unsigned long long rx = (unsigned long long)x->count * ly;
	unsigned long long ry = (unsigned long long)y->count * lx;

	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int compare_uid(const void *a, const void *b)
{
	const struct usage_row *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The row of uid among the first n rows, sorted by uid: one search per limit, not a scan. */
static struct usage_row *row_of(struct usage *u, size_t n, __u32 uid)
{
	struct usage_row key = { .uid = uid };

	return bsearch(&key, u->rows, n, sizeof(key), compare_uid);
}

static void read_usage(const struct guard_state *st, const char *pin_dir, struct usage *u)
{
	__u32 *keys = NULL, *limits = NULL;
	struct tg_tunnel_count *counts = NULL;
	size_t n = 0, m = 0;
	int fd = pins_open(pin_dir, TG_PIN_TUNNELS);

	memset(u, 0, sizeof(*u));
	if (fd < 0)
		return;
	if (pins_dump_map(fd, sizeof(*keys), sizeof(*counts), (void **)&keys, (void **)&counts,
			  &n) == 0)
		u->readable = true;
	close(fd);
	/* The limits the programs run, not the pin: a load killed midway cannot mislead. */
	fd = guard_running_map(pin_dir, "tg_tunnel_max");
	u->rows = calloc(n + 1, sizeof(*u->rows));
	for (size_t i = 0; u->rows && i < n; i++) {
		if (!counts[i].count)
			continue;
		u->rows[u->n++] = (struct usage_row){ .uid = keys[i],
						      .count = counts[i].count,
						      .limit = st->settings.max_tunnels };
		u->ports += counts[i].count;
	}
	free(keys);
	free(counts);
	keys = NULL;
	if (fd >= 0 && u->rows &&
	    pins_dump_map(fd, sizeof(*keys), sizeof(*limits), (void **)&keys, (void **)&limits,
			  &m) == 0) {
		struct usage_row *grown = realloc(u->rows, (u->n + m + 1) * sizeof(*u->rows));
		size_t counted = u->n; /* the rows with a count, sorted by uid below */

		u->per_uid = m;
		if (grown)
			u->rows = grown;
		qsort(u->rows, counted, sizeof(*u->rows), compare_uid);
		for (size_t i = 0; grown && i < m; i++) {
			struct usage_row *r = row_of(u, counted, keys[i]);

			if (!r) {
				r = &u->rows[u->n++];
				*r = (struct usage_row){ .uid = keys[i] };
			}
			r->limit = limits[i];
			r->own = true;
		}
	}
	free(keys);
	free(limits);
	if (fd >= 0)
		close(fd);
	if (u->rows && u->n)
		qsort(u->rows, u->n, sizeof(*u->rows), compare_rows);
}

void status_print_tunnels_text(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	struct usage u;

	read_usage(st, pin_dir, &u);
	if (!u.readable) {
		fprintf(out, "  tunnels:     cannot read %s/%s\n", pin_dir, TG_PIN_TUNNELS);
		free(u.rows);
		return;
	}
	fprintf(out, "  tunnels:     %zu uids hold %llu ports through bind() (max-tunnels ", u.n,
		u.ports);
	if (st->settings.max_tunnels)
		fprintf(out, "%u", st->settings.max_tunnels);
	else
		fprintf(out, "none");
	fprintf(out, ", %zu per-tenant limit%s)\n", u.per_uid, u.per_uid == 1 ? "" : "s");
	for (size_t i = 0; i < u.n && i < STATUS_TUNNELS_TOP; i++) {
		const struct usage_row *r = &u.rows[i];

		fprintf(out, "    uid %-10u %u of ", r->uid, r->count);
		if (r->limit)
			fprintf(out, "%u%s%s\n", r->limit, r->own ? " ([tenant])" : "",
				r->count >= r->limit ? " (at its limit)" : "");
		else
			fprintf(out, "no limit%s\n", r->own ? " ([tenant])" : "");
	}
	if (u.n > STATUS_TUNNELS_TOP)
		fprintf(out, "    ... %zu more uids (status --json lists the top %d too)\n",
			u.n - STATUS_TUNNELS_TOP, STATUS_TUNNELS_TOP);
	free(u.rows);
}

void status_print_tunnels_json(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	struct usage u;

	read_usage(st, pin_dir, &u);
	fprintf(out,
		",\"tunnel_limits\":{\"readable\":%s,\"max_tunnels\":%u,\"per_tenant_limits\":%zu,\"uids\":%zu,\"ports\":%llu,\"top\":[",
		u.readable ? "true" : "false", st->settings.max_tunnels, u.per_uid, u.n, u.ports);
	for (size_t i = 0; i < u.n && i < STATUS_TUNNELS_TOP; i++)
		fprintf(out, "%s{\"uid\":%u,\"count\":%u,\"limit\":%u,\"own_limit\":%s}",
			i ? "," : "", u.rows[i].uid, u.rows[i].count, u.rows[i].limit,
			u.rows[i].own ? "true" : "false");
	fputs("]}", out);
	free(u.rows);
}
