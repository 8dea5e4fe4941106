// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft_watch.c - sock_diag polls -> the nft sets (nft_watch_diag_to_nft), for a guard without the
 * BPF bind and close hooks. See nft_watch.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layers.h"
#include "log.h"
#include "nft_watch.h"

/* A poll may take at most 1/NFT_WATCH_DUTY of the time. */
#define NFT_WATCH_DUTY		20
#define NFT_WATCH_MAX_PERIOD_MS 2000

/* Sort and drop repeats (the same uid on one port over several addresses). */
static size_t sort_unique(struct nft_owner *o, size_t n)
{
	size_t out = 0;

	qsort(o, n, sizeof(*o), nft_owner_pair_cmp);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || nft_owner_pair_cmp(&o[out - 1], &o[i]) != 0)
			o[out++] = o[i];
	return out;
}

static bool port_kind_in(const struct nft_owner *o, size_t n, uint16_t port, bool tenant)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].port == port && o[i].tenant == tenant)
			return true;
	return false;
}

void nft_watch_diff(const struct nft_owner *before, size_t nb, const struct nft_owner *now,
		    size_t nn, struct nft_owner *add, size_t *nadd, struct nft_owner *del,
		    size_t *ndel, struct nft_owner *last, size_t *nlast)
{
	size_t i = 0, j = 0;

	*nadd = *ndel = *nlast = 0;
	while (i < nb || j < nn) {
		int c = i == nb ? 1 : j == nn ? -1 : nft_owner_pair_cmp(&before[i], &now[j]);

		if (c < 0) {
			del[(*ndel)++] = before[i];
			/* A port with many pairs is rare; a linear look is fine here. */
			if (!port_kind_in(now, nn, before[i].port, before[i].tenant))
				last[(*nlast)++] = before[i];
			i++;
		} else if (c > 0) {
			add[(*nadd)++] = now[j++];
		} else {
			i++;
			j++;
		}
	}
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void set_period(struct nft_watch *w, long long took_us)
{
	long long ms = took_us * NFT_WATCH_DUTY / 1000;

	if (ms < NFT_WATCH_MIN_PERIOD_MS)
		ms = NFT_WATCH_MIN_PERIOD_MS;
	if (ms > NFT_WATCH_MAX_PERIOD_MS)
		ms = NFT_WATCH_MAX_PERIOD_MS;
	w->period_ms = (unsigned int)ms;
}

int nft_watch_diag_to_nft(struct nft_watch *w, struct nft_handle *nft,
			  const struct tg_policy *policy)
{
	struct nft_owner *now = NULL, *add = NULL, *del = NULL, *last = NULL;
	size_t nn = 0, nadd = 0, ndel = 0, nlast = 0, room;
	long long started = now_us();
	int err;

	w->polls++;
	err = layers_live_owners(policy, &now, &nn, NULL);
	if (err)
		goto out;
	nn = sort_unique(now, nn);
	if (!w->primed) {
		err = nn ? nft_update_owners(nft, now, nn, NULL, 0) : 0;
		goto keep;
	}
	room = (nn > w->n_pairs ? nn : w->n_pairs) + 1;
	add = calloc(room, sizeof(*add));
	del = calloc(room, sizeof(*del));
	last = calloc(room, sizeof(*last));
	if (!add || !del || !last) {
		err = -ENOMEM;
		goto out;
	}
	nft_watch_diff(w->pairs, w->n_pairs, now, nn, add, &nadd, del, &ndel, last, &nlast);
	if (nadd)
		err = nft_update_owners(nft, add, nadd, NULL, 0);
	if (!err && ndel)
		err = nft_delete_owners(nft, del, ndel, last, nlast);
	if (!err && (nadd || ndel))
		pr_info("nft sets follow the listeners: %zu owners added, %zu deleted\n", nadd,
			ndel);
keep:
	if (!err) {
		free(w->pairs);
		w->pairs = now;
		w->n_pairs = nn;
		w->primed = true;
		now = NULL;
	}
out:
	if (err)
		/* Unprimed, the next poll adds every live owner again; the reconciliation deletes.
		 */
		nft_watch_reset(w);
	set_period(w, now_us() - started);
	free(now);
	free(add);
	free(del);
	free(last);
	return err;
}

void nft_watch_reset(struct nft_watch *w)
{
	w->primed = false;
}

void nft_watch_free(struct nft_watch *w)
{
	free(w->pairs);
	memset(w, 0, sizeof(*w));
}
