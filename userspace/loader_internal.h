// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader_internal.h - what the parts of the loader share (loader.c, loader_pins.c), and nothing
 * else includes.
 */
#ifndef TG_LOADER_INTERNAL_H
#define TG_LOADER_INTERNAL_H

struct bpf_map;

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

#endif /* TG_LOADER_INTERNAL_H */
