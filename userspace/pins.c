// SPDX-License-Identifier: GPL-2.0-only
/* pins.c - pinned objects, per-CPU sums, the netns cookie and one map dump (pins.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pins.h"
#include "util.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define DUMP_BATCH	4096
#define ENOTSUPP_KERNEL 524 /* the kernel's ENOTSUPP, which libc does not define */

int pins_path(char *buf, size_t len, const char *pin_dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", pin_dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int pins_open(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd, err = pins_path(path, sizeof(path), pin_dir, name);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int pins_sum_percpu(const char *pin_dir, const char *name, unsigned long long *sums,
		    unsigned int count)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = pins_open(pin_dir, name);
	__u64 *values;
	int err = 0;

	if (fd < 0)
		return fd;
	values = ncpu > 0 ? calloc(ncpu, sizeof(*values)) : NULL;
	if (!values)
		err = ncpu > 0 ? -ENOMEM : ncpu;
	for (__u32 key = 0; !err && key < count; key++) {
		sums[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, values) != 0) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpu; cpu++)
			sums[key] += values[cpu];
	}
	free(values);
	close(fd);
	return err;
}

int pins_socket_netns_cookie(int fd, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0 ? -errno : 0;
}

int pins_netns_cookie(__u64 *cookie)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	err = pins_socket_netns_cookie(fd, cookie);
	close(fd);
	return err;
}

/* Capacities of a dump's two arrays, in entries. */
struct dump_room {
	size_t keys, values;
};

/* Room for at least want entries in *keys and *values. 0 or -ENOMEM. */
static int reserve(void **keys, void **values, struct dump_room *room, size_t want, size_t key_size,
		   size_t value_size)
{
	int err = util_grow(keys, &room->keys, want, key_size);

	return err ? err : util_grow(values, &room->values, want, value_size);
}

static int dump_batched(int fd, size_t key_size, size_t value_size, void **keys, void **values,
			size_t *count, struct dump_room *room)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t chunk = DUMP_BATCH;
	__u64 batch = 0;
	bool first = true;
	int err;

	for (;;) {
		__u32 n = (__u32)chunk;

		err = reserve(keys, values, room, *count + chunk, key_size, value_size);
		if (err)
			return err;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   (char *)*keys + *count * key_size,
					   (char *)*values + *count * value_size, &n, &opts);
		err = err < 0 ? -errno : 0;
		/* A hash bucket held more entries than chunk: nothing was read, ask for more. */
		if (err == -ENOSPC && chunk < (1u << 24)) {
			chunk *= 2;
			continue;
		}
		/* ENOENT: the last batch (n entries of it are valid). */
		if (err && err != -ENOENT)
			return err;
		first = false;
		*count += n;
		if (err == -ENOENT)
			return 0;
	}
}

static int dump_key_by_key(int fd, size_t key_size, size_t value_size, void **keys, void **values,
			   size_t *count, struct dump_room *room)
{
	char *prev = NULL, *key;
	int err;

	*count = 0;
	for (;;) {
		err = reserve(keys, values, room, *count + 1, key_size, value_size);
		if (err)
			return err;
		key = (char *)*keys + *count * key_size;
		prev = *count ? (char *)*keys + (*count - 1) * key_size : NULL;
		if (bpf_map_get_next_key(fd, prev, key) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (bpf_map_lookup_elem(fd, key, (char *)*values + *count * value_size) == 0)
			(*count)++;
		else if (errno != ENOENT)
			return -errno;
		/* A key deleted between the two calls is skipped; the walk goes on from prev. */
	}
}

int pins_dump_map(int fd, size_t key_size, size_t value_size, void **keys, void **values,
		  size_t *count)
{
	struct dump_room room = {};
	int err;

	*keys = *values = NULL;
	*count = 0;
	err = dump_batched(fd, key_size, value_size, keys, values, count, &room);
	/* Kernels or map types (an LPM trie) without batch operations. */
	if (err == -EINVAL || err == -ENOTSUPP_KERNEL || err == -EOPNOTSUPP)
		err = dump_key_by_key(fd, key_size, value_size, keys, values, count, &room);
	if (err || !*count) {
		free(*keys);
		free(*values);
		*keys = *values = NULL;
		*count = err ? 0 : *count;
	}
	return err;
}
