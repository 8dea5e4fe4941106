// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_maps.h - the policy (policy.h) into the kernel's policy maps and back: load sizes and
 * fills the maps of its programs (tg_tenant_uids, tg_tenant_uids_high, tg_ports, tg_allow_rules,
 * tg_tenant_names; tg_maps.h) and freezes them; status and check read them back from the
 * programs that run, so what they show is what the kernel decides with.
 */
#ifndef TG_POLICY_MAPS_H
#define TG_POLICY_MAPS_H

#include "policy.h"

struct bpf_map;

/* The policy maps of one load, as the skeleton has them. */
struct policy_map_set {
	struct bpf_map *tenant_uids;
	struct bpf_map *tenant_uids_high;
	struct bpf_map *ports;
	struct bpf_map *allow_rules;
	struct bpf_map *tenant_names;
};

/* The same maps as fds (of a load's maps, or of the maps the running programs use). */
struct policy_map_fds {
	int tenant_uids;
	int tenant_uids_high; /* policy_maps_read(): -1 for a guard loaded before it existed */
	int ports;
	int allow_rules;
	int tenant_names;
};

/* Size the maps for p (before the object is loaded): 0 or -errno. */
int policy_maps_size(const struct policy_map_set *m, const struct tg_policy *p,
		     const struct tg_settings *s);

/* Fill the loaded maps from p and freeze them: 0 or -errno (the maps are then half filled). */
int policy_maps_fill(const struct policy_map_fds *fds, const struct tg_policy *p,
		     const struct tg_settings *s);

/*
 * Read the policy back from maps filled by policy_maps_fill() under settings s: p gets the
 * scalars of s, the restricted tenants as ranges (exemptions are already applied: n_exempt is
 * 0), allow-ports, the sections with their reservations, and the allow rules as ranges. 0 or
 * -errno; p is then to be freed with policy_free().
 */
int policy_maps_read(const struct policy_map_fds *fds, const struct tg_settings *s,
		     struct tg_policy *p);

#endif /* TG_POLICY_MAPS_H */
