// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader_limits.c - what a load gives the kernel of max-tunnels (tg_limits.h): the global value
 * in the programs' settings (tg_settings.max_tunnels), and the [tenant] values in the map
 * tg_tunnel_max, made for each load (it is policy: it swaps with the programs) and pinned as
 * `tunnel_max` for bpftool.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_limits.h"
#include "tg_maps.h"
#include "tunnelguard.skel.h"

#include "config.h"
#include "loader_internal.h"
#include "log.h"
#include "pins.h"

/* Sections that set their own max-tunnels: one tg_tunnel_max entry each. */
static __u32 limited_sections(const struct tg_config *cfg)
{
	__u32 n = 0;

	for (__u32 i = 0; i < cfg->policy.n_section; i++)
		n += cfg->policy.section[i].max_tunnels != TG_MAX_TUNNELS_UNSET;
	return n;
}

int loader_limits_prepare(struct tunnelguard *skel, const struct tg_config *cfg)
{
	__u32 n = limited_sections(cfg);
	int err;

	if (!n)
		n = 1; /* a hash map has at least one entry */
	err = bpf_map__set_max_entries(skel->maps.tg_tunnel_max, n);
	if (err)
		pr_err("cannot size map tg_tunnel_max to %u entries: %s\n", n, strerror(-err));
	return err;
}

int loader_limits_fill(struct tunnelguard *skel, const struct tg_config *cfg)
{
	int fd = bpf_map__fd(skel->maps.tg_tunnel_max);

	for (__u32 i = 0; i < cfg->policy.n_section; i++) {
		const struct tg_tenant_name *s = &cfg->policy.section[i];

		if (s->max_tunnels == TG_MAX_TUNNELS_UNSET)
			continue;
		if (bpf_map_update_elem(fd, &s->uid, &s->max_tunnels, BPF_ANY) < 0) {
			int err = -errno;

			pr_err("cannot put max-tunnels = %u of uid %u ([tenant %s]) in map tg_tunnel_max: %s\n",
			       s->max_tunnels, s->uid, s->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

int loader_limits_pin(struct tunnelguard *skel, const char *pin_dir, int *old_fd)
{
	*old_fd = pins_open(pin_dir, TG_PIN_TUNNEL_MAX);
	if (*old_fd < 0)
		*old_fd = -1;
	return loader_replace_pin(bpf_map__fd(skel->maps.tg_tunnel_max), pin_dir,
				  TG_PIN_TUNNEL_MAX);
}

void loader_limits_roll_back(int old_fd, const char *pin_dir)
{
	if (old_fd < 0 || loader_replace_pin(old_fd, pin_dir, TG_PIN_TUNNEL_MAX))
		loader_unpin(pin_dir, TG_PIN_TUNNEL_MAX);
}
