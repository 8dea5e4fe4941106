// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft_watch.h - sock_diag polls -> the nft sets (nft_watch_diag_to_nft): following listeners
 * into the nft sets when there are no BPF bind and close hooks (`layers = nft` alone): the daemon
 * polls sock_diag and sends the difference with its last poll as element batches, so a new tunnel
 * port is in the sets within a poll period (100 ms, longer on a hub where a poll costs more: never
 * more than 5% of the daemon's time) rather than at the next reconciliation.
 *
 * Example: the last poll saw { 2001 . 8001 }; tenant 2002 starts `ssh -R 8002:...` and 2001's
 * tunnel drops. The next poll sees { 2002 . 8002 } and sends an addition of 2002 . 8002
 * (tcp . 8002) and a deletion of 2001 . 8001 with tcp . 8001, the last tenant pair on 8001.
 */
#ifndef TG_NFT_WATCH_H
#define TG_NFT_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "nft.h"
#include "tg_policy.h"

#include "policy.h"

#define NFT_WATCH_MIN_PERIOD_MS 100

struct nft_watch {
	struct nft_owner *pairs; /* the last poll's owners: sorted by uid and port, unique */
	size_t n_pairs;
	bool primed;		  /* pairs is what the sets were last made to hold */
	unsigned int period_ms;	  /* until the next poll */
	unsigned long long polls; /* polls so far, for the tests and -v */
};

/*
 * One poll: dump the listeners, and push what changed since the last poll into the sets. An
 * unprimed watch (after nft_watch_reset()) first adds every live owner (adding a present element
 * changes nothing), which is what the sets must hold at least. The sets are changed through nft.
 * 0 or -errno.
 */
int nft_watch_diag_to_nft(struct nft_watch *w, struct nft_handle *nft,
			  const struct tg_policy *policy);

/* Forget the last poll: the reconciliation just rewrote the sets. */
void nft_watch_reset(struct nft_watch *w);

void nft_watch_free(struct nft_watch *w);

/*
 * The difference between two polls (both sorted by uid and port, unique): add are the pairs
 * only in now; del the pairs only in before; last the pairs of del whose port has no pair of the
 * same kind (tenant or service) left in now, so its port leaves tunnel_ports or service_ports.
 * Each output has room for the larger input. Pure, for the tests.
 */
void nft_watch_diff(const struct nft_owner *before, size_t nb, const struct nft_owner *now,
		    size_t nn, struct nft_owner *add, size_t *nadd, struct nft_owner *del,
		    size_t *ndel, struct nft_owner *last, size_t *nlast);

#endif /* TG_NFT_WATCH_H */
