// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader_internal.h - what the parts of the loader share (loader.c, loader_pins.c), and nothing
 * else includes.
 */
#ifndef TG_LOADER_INTERNAL_H
#define TG_LOADER_INTERNAL_H

struct bpf_map;
struct tg_config;
struct tunnelguard;

/* Pin fd as pin_dir/name, replacing an existing pin in one rename() (bpffs refuses dots). */
int loader_replace_pin(int fd, const char *pin_dir, const char *name);

/* Remove pin_dir/name, if it is there. */
void loader_unpin(const char *pin_dir, const char *name);

/*
 * Make map use the one pinned as pin_dir/name, the one the programs in force hold when its pin
 * was deleted (pinned again), or a new one libbpf pins at load (*pinned = 1 for both). 0 or
 * -errno.
 */
int loader_reuse_or_pin_map(struct bpf_map *map, const char *pin_dir, const char *name,
			    int *pinned);

/*
 * max-tunnels (loader_limits.c): set the rodata and size tg_tunnel_max before load; fill it after
 * load, before any hook runs the new programs; pin it as tunnel_max with the other inspection
 * objects (*old_fd: the pin it replaced, -1 if none), and put that pin back on roll back. Each 0
 * or -errno.
 */
int loader_limits_prepare(struct tunnelguard *skel, const struct tg_config *cfg);
int loader_limits_fill(struct tunnelguard *skel, const struct tg_config *cfg);
int loader_limits_pin(struct tunnelguard *skel, const char *pin_dir, int *old_fd);
void loader_limits_roll_back(int old_fd, const char *pin_dir);

#endif /* TG_LOADER_INTERNAL_H */
