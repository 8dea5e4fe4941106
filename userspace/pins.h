// SPDX-License-Identifier: GPL-2.0-only
/*
 * pins.h - the bottom of the house: pinned objects by name, per-CPU sums, the current network
 * namespace's cookie, and one map dump. Everything that reads or writes the guard's pins (loader,
 * guard state, status, daemon, self-test, sync) comes here; this module includes no other of
 * ours but util.h, so no include cycle can pass through it.
 */
#ifndef TG_PINS_H
#define TG_PINS_H

#include <stddef.h>

#include <linux/types.h>

/* Write pin_dir/name into buf. 0 or -ENAMETOOLONG. */
int pins_path(char *buf, size_t len, const char *pin_dir, const char *name);

/* Open the pinned object pin_dir/name. An fd, or -errno (-ENOENT when it is not pinned). */
int pins_open(const char *pin_dir, const char *name);

/* Sum the per-CPU values of entries 0..count-1 of the pinned array pin_dir/name. 0 or -errno. */
int pins_sum_percpu(const char *pin_dir, const char *name, unsigned long long *sums,
		    unsigned int count);

/* SO_NETNS_COOKIE of the calling thread's network namespace. 0 or -errno. */
int pins_netns_cookie(__u64 *cookie);

/* SO_NETNS_COOKIE of socket fd: the namespace it was made in. 0 or -errno. */
int pins_socket_netns_cookie(int fd, __u64 *cookie);

/*
 * Every entry of map fd: keys and values, key_size and value_size bytes each, into *keys and
 * *values (malloc'd, NULL when empty; free both), their number in *count. One
 * BPF_MAP_LOOKUP_BATCH call per 4,096 entries where the kernel has it, else key by key
 * (an entry deleted meanwhile is skipped). 0 or -errno.
 */
int pins_dump_map(int fd, size_t key_size, size_t value_size, void **keys, void **values,
		  size_t *count);

#endif /* TG_PINS_H */
