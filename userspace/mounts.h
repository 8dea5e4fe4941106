// SPDX-License-Identifier: GPL-2.0-only
/* mounts.h - finding the cgroup v2 hierarchy and making sure the pin dir sits on a bpffs. */
#ifndef TG_MOUNTS_H
#define TG_MOUNTS_H

#include <stddef.h>

#define MOUNTS_BPFFS_ROOT "/sys/fs/bpf"

/*
 * The mount point of the cgroup v2 hierarchy, read from /proc/self/mounts: /sys/fs/cgroup on a
 * pure v2 host, /sys/fs/cgroup/unified on a hybrid one. 0, or -ENOENT when there is none.
 */
int mounts_find_cgroup2(char *buf, size_t len);

/*
 * Make pin_dir a directory on a bpffs, mounting bpffs at /sys/fs/bpf when that is where pin_dir
 * lives and nothing is mounted there yet. 0 or -errno, with the reason printed.
 */
int mounts_prepare_pin_dir(const char *pin_dir);

/* Is path on a bpffs? 1 yes, 0 no, -errno when it cannot be examined. */
int mounts_is_bpffs(const char *path);

/* Find the directory under the cgroup2 mount whose cgroup id is id. 0 or -ENOENT. */
int mounts_cgroup_path(unsigned long long id, char *buf, size_t len);

#endif /* TG_MOUNTS_H */
