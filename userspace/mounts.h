// SPDX-License-Identifier: GPL-2.0-only
/* mounts.h - finding the cgroup v2 hierarchy and making sure the pin dir sits on a bpffs. */
#ifndef TG_MOUNTS_H
#define TG_MOUNTS_H

#include <stddef.h>

#define MOUNTS_BPFFS_ROOT "/sys/fs/bpf"

/* What to do instead of `ip netns exec`, whose fresh /sys hides the pins (mounts_check_pin_view).
 */
#define MOUNTS_NSENTER_HINT \
	"to run tunnelguard in a network namespace, use `nsenter --net=/run/netns/NAME tunnelguard ...`, not `ip netns exec NAME tunnelguard ...`: nsenter keeps the host's /sys/fs/bpf"

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

/*
 * Is path (a --cgroup argument) a directory of the cgroup v2 hierarchy? 0, or -errno after a
 * message that names the cgroup v1 or other filesystem it is on and where cgroup2 is mounted
 * (attaching to a v1 directory would fail later with a bare "Bad file descriptor").
 */
int mounts_check_cgroup_dir(const char *path);

/*
 * Would pins made in pin_dir outlive this process? They do when this process sees the mounts of
 * PID 1 (of its PID namespace: the host's init, or a container's), or when the bpffs that holds
 * pin_dir is one PID 1 has mounted too. They do not under `ip netns exec`, which gives the command
 * a mount namespace with a fresh /sys: a bpffs there (or one we would mount) dies with it.
 * 0: they persist; -EXDEV: this view is private, with the reason in why; another -errno: it
 * cannot be told (/proc unreadable), with the reason in why. Prints nothing.
 */
int mounts_check_pin_view(const char *pin_dir, char *why, size_t len);

/* mounts_check_pin_view() for a loader: 0, or -errno with the refusal and what to do printed. */
int mounts_require_persistent_pins(const char *pin_dir);

/* Find the directory under the cgroup2 mount whose cgroup id is id. 0 or -ENOENT. */
int mounts_cgroup_path(unsigned long long id, char *buf, size_t len);

#endif /* TG_MOUNTS_H */
