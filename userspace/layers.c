// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "guard.h"
#include "layers.h"
#include "log.h"

const char *layers_name(unsigned int layers)
{
	switch (layers & (TG_LAYER_BPF | TG_LAYER_NFT)) {
	case TG_LAYER_BPF | TG_LAYER_NFT:
		return "bpf nft";
	case TG_LAYER_BPF:
		return "bpf";
	case TG_LAYER_NFT:
		return "nft";
	default:
		return "none";
	}
}

int layers_live_owners(const struct tg_policy *policy, struct nft_owner **owners, size_t *n,
		       struct diag_list *listeners)
{
	struct diag_list list = {};
	struct nft_owner *out;
	int err;

	*owners = NULL;
	*n = 0;
	err = diag_dump_listeners(&list);
	if (err) {
		pr_err("cannot list TCP listeners with sock_diag: %s\n", strerror(-err));
		return err;
	}
	out = calloc(list.count + 1, sizeof(*out));
	if (!out) {
		diag_list_free(&list);
		return -ENOMEM;
	}
	/* Every listener counts, device-bound ones too: a port no tenant may reach by the BPF
	 * layer's lookup is still one the nft layer can guard. */
	for (size_t i = 0; i < list.count; i++)
		out[i] = nft_owner_of(policy, list.items[i].uid, list.items[i].port);
	*owners = out;
	*n = list.count;
	if (listeners)
		*listeners = list;
	else
		diag_list_free(&list);
	return 0;
}

static int apply_nft(struct nft_handle *nft, const struct tg_config *cfg)
{
	struct nft_owner *owners;
	size_t n;
	int err = layers_live_owners(&cfg->policy, &owners, &n, NULL);

	if (!err)
		err = nft_apply(nft, &cfg->policy, owners, n);
	free(owners);
	if (!err)
		pr_info("nft layer in force: table inet tunnelguard with %zu listeners\n", n);
	return err;
}

int layers_nft_owner_check(const char *pin_dir)
{
	struct nft_handle nft;
	char owner[200];
	const char *mine;
	bool present = false;
	int err;

	nft_handle_init(&nft, pin_dir);
	mine = nft.guard_id;
	err = nft_table_present(&nft, &present, owner, sizeof(owner));
	nft_handle_close(&nft);
	if (err)
		return err;
	if (present && owner[0] && strcmp(owner, mine) != 0) {
		pr_err("table inet tunnelguard in this network namespace belongs to the guard of pin dir %s, not %s: there is one table per namespace; use that pin dir, or layers = bpf for this guard\n",
		       owner, mine);
		return -EBUSY;
	}
	return 0;
}

/*
 * The nft table lives in a network namespace, the pins do not: a BPF guard loaded from another
 * namespace owns the table there, and this namespace's table (if any) is not its.
 */
static bool guard_netns_is_here(const char *pin_dir)
{
	struct guard_state st;
	bool here;

	if (guard_read(pin_dir, &st) || !st.have_config) {
		guard_free(&st);
		return true;
	}
	here = guard_in_my_netns(&st);
	guard_free(&st);
	return here;
}

/* Nor is a table another guard of this namespace made (the check says so). */
static bool nft_table_is_ours(const char *pin_dir)
{
	return layers_nft_owner_check(pin_dir) == 0 && guard_netns_is_here(pin_dir);
}

static int load_locked(struct nft_handle *nft, const struct tg_config *cfg,
		       const struct loader_opts *opts)
{
	int err;

	/* Before anything changes: a table another guard made is not ours to replace. */
	if (cfg->layers & TG_LAYER_NFT) {
		err = layers_nft_owner_check(opts->pin_dir);
		if (err)
			return err;
	}
	if (cfg->layers & TG_LAYER_BPF) {
		err = loader_load(cfg, opts);
		if (err)
			return err;
	}
	if (cfg->layers & TG_LAYER_NFT) {
		err = apply_nft(nft, cfg);
		if (err) {
			pr_err("the nft layer was not put up: %s; %s\n", strerror(-err),
			       cfg->layers & TG_LAYER_BPF
				       ? "the BPF layer is in force with the new config, the nft layer keeps its previous table (if any)"
				       : "nothing was changed");
			return err;
		}
		loader_test_pause("nft_applied");
	} else if (nft_table_is_ours(opts->pin_dir)) {
		err = nft_remove(nft);
		if (err)
			return err;
	}
	if (!(cfg->layers & TG_LAYER_BPF)) {
		/* layers = nft: the nft wall stands, so the BPF one may come down. */
		err = loader_unload(opts->pin_dir);
		if (err)
			return err;
		pr_info("BPF layer not in the config: removed what was pinned in %s\n",
			opts->pin_dir);
	}
	return 0;
}

/*
 * One hold of /run/tunnelguard.lock spans both layers, from the owner check to the last nft
 * batch, and layers_unload() takes the same lock: a load and an unload that race end in one of
 * the two states they asked for, never with one layer of each.
 */
int layers_load(const struct tg_config *cfg, const struct loader_opts *opts)
{
	struct nft_handle nft;
	int err;

	if (!(cfg->layers & (TG_LAYER_BPF | TG_LAYER_NFT))) {
		pr_err("the config names no layer: nothing to load\n");
		return -EINVAL;
	}
	err = loader_lock();
	if (err)
		return err;
	nft_handle_init(&nft, opts->pin_dir);
	err = load_locked(&nft, cfg, opts);
	nft_handle_close(&nft);
	loader_unlock();
	return err;
}

static int unload_locked(const char *pin_dir)
{
	int err = 0, ret;

	if (layers_nft_owner_check(pin_dir) != 0) {
		/* another guard's table: left alone, the check said why */
	} else if (guard_netns_is_here(pin_dir)) {
		struct nft_handle nft;

		nft_handle_init(&nft, pin_dir);
		err = nft_remove(&nft);
		nft_handle_close(&nft);
	} else {
		pr_err("the guard in %s was loaded from another network namespace: its nft table is there; run unload in that namespace to remove it\n",
		       pin_dir);
	}
	ret = loader_unload(pin_dir);
	return err ? err : ret;
}

int layers_unload(const char *pin_dir)
{
	int err = loader_lock();

	if (err)
		return err;
	err = unload_locked(pin_dir);
	loader_unlock();
	return err;
}
