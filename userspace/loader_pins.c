// SPDX-License-Identifier: GPL-2.0-only
/* loader_pins.c - pinning what a load makes, and reusing what is pinned (loader_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_maps.h"

#include "guard.h"
#include "loader_internal.h"
#include "log.h"
#include "pins.h"

/* Pin fd as pin_dir/name, replacing an existing pin in one rename() (bpffs refuses dots). */
int loader_replace_pin(int fd, const char *pin_dir, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err = pins_path(path, sizeof(path), pin_dir, name);

	if (!err && (size_t)snprintf(tmp, sizeof(tmp), "%s_new", path) >= sizeof(tmp))
		err = -ENAMETOOLONG;
	if (err)
		return err;
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) < 0 || rename(tmp, path) < 0) {
		err = -errno;
		pr_err("cannot pin %s: %s\n", path, strerror(-err));
		unlink(tmp);
		return err;
	}
	return 0;
}

void loader_unpin(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];

	if (!pins_path(path, sizeof(path), pin_dir, name))
		unlink(path);
}

/* A record from an older build is no use to this one: drop it, a fresh one is pinned. */
static int drop_if_other_layout(int fd, struct bpf_map *map, const char *pin_dir, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (strcmp(name, TG_PIN_SELFTEST) != 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
	    info.value_size == bpf_map__value_size(map))
		return fd;
	close(fd);
	loader_unpin(pin_dir, name);
	return -ENOENT;
}

/*
 * Reuse a pinned map, so counters and addresses survive a config swap. A map whose pin was
 * deleted is still held by the programs in force: pin that one again rather than a new empty
 * map, so that repair keeps counters, listeners and addresses.
 */
int loader_reuse_or_pin_map(struct bpf_map *map, const char *pin_dir, const char *name, int *pinned)
{
	char path[PATH_MAX];
	int fd = pins_open(pin_dir, name);
	int err;

	*pinned = 0;
	if (fd >= 0)
		fd = drop_if_other_layout(fd, map, pin_dir, name);
	if (fd >= 0) {
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			pr_err("cannot reuse pinned map %s/%s: %s (unload first if the layout changed)\n",
			       pin_dir, name, strerror(-err));
		return err;
	}
	if (fd != -ENOENT) {
		pr_err("cannot open pinned map %s/%s: %s\n", pin_dir, name, strerror(-fd));
		return fd;
	}
	err = pins_path(path, sizeof(path), pin_dir, name);
	if (err)
		return err;
	fd = guard_running_map(pin_dir, bpf_map__name(map));
	if (fd >= 0) {
		err = bpf_map__reuse_fd(map, fd);
		if (!err && bpf_obj_pin(fd, path) < 0)
			err = -errno;
		close(fd);
		if (err) {
			pr_err("cannot pin the map in force as %s: %s\n", path, strerror(-err));
			return err;
		}
		pr_info("pin %s was missing: pinned the map the guard runs with again\n", path);
		*pinned = 1;
		return 0;
	}
	err = bpf_map__set_pin_path(map, path);
	if (!err)
		*pinned = 1; /* libbpf pins it during load */
	return err;
}
