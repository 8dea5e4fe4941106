// SPDX-License-Identifier: GPL-2.0-only
/*
 * layers.h - the walls the config's `layers` key names, put up and taken down together: the BPF
 * layer (loader.h: cgroup connect hooks, pinned) and the nft layer (nft.h: table inet
 * tunnelguard in the loader's network namespace).
 *
 * With `layers = bpf nft`, layers_load() first puts the BPF layer in force (which proves itself
 * and rolls itself back on failure), then replaces the nft table in one batch; with one layer
 * only, it removes the other one after the named one is in force, so no step leaves the host
 * with fewer walls than the config asks for.
 */
#ifndef TG_LAYERS_H
#define TG_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "loader.h"
#include "nft.h"

/* Put up the layers cfg names and take down the others. 0 or -errno, with the reason printed. */
int layers_load(const struct tg_config *cfg, const struct loader_opts *opts);

/* Take down both layers. 0 or -errno. */
int layers_unload(const char *pin_dir);

/*
 * The owners of the live TCP listeners of this network namespace (sock_diag), classified by
 * policy, for the nft sets; *listeners (optional) receives the dump itself. 0 or -errno.
 */
int layers_live_owners(const struct tg_policy *policy, struct nft_owner **owners, size_t *n,
		       struct diag_list *listeners);

/*
 * Check that table inet tunnelguard of this namespace, if any, is the guard of pin_dir's own
 * (its guard id, nft.h, is pin_dir) or was made for no guard. 0, -EBUSY (printed) when another
 * guard's, or -errno.
 */
int layers_nft_owner_check(const char *pin_dir);

/* "bpf nft", "bpf", "nft" or "none". */
const char *layers_name(unsigned int layers);

#endif /* TG_LAYERS_H */
