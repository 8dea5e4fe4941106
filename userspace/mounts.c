// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "log.h"
#include "mounts.h"

int mounts_find_cgroup2(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "r");
	int err = -ENOENT;

	if (!f) {
		err = -errno;
		pr_err("cannot read /proc/self/mounts: %s (is /proc mounted?)\n", strerror(-err));
		return err;
	}
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if ((size_t)snprintf(buf, len, "%s", m->mnt_dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	endmntent(f);
	if (err == -ENOENT)
		pr_err("no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup, "
		       "or "
		       "boot with systemd.unified_cgroup_hierarchy=1)\n");
	return err;
}

int mounts_is_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st) < 0)
		return -errno;
	return st.f_type == BPF_FS_MAGIC;
}

/* The nearest existing ancestor of path (path itself included). */
static int existing_ancestor(const char *path, char *buf, size_t len)
{
	struct stat st;
	char *slash;

	if ((size_t)snprintf(buf, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	while (stat(buf, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash)
			return -ENOENT;
		if (slash == buf) {
			buf[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int mount_bpffs_root(void)
{
	int err = mounts_is_bpffs(MOUNTS_BPFFS_ROOT);

	if (err == 1)
		return 0;
	if (err < 0 && err != -ENOENT) {
		pr_err("cannot examine %s: %s\n", MOUNTS_BPFFS_ROOT, strerror(-err));
		return err;
	}
	if (err == -ENOENT && mkdir(MOUNTS_BPFFS_ROOT, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		pr_err("cannot create %s: %s\n", MOUNTS_BPFFS_ROOT, strerror(-err));
		return err;
	}
	if (mount("bpf", MOUNTS_BPFFS_ROOT, "bpf", 0, "mode=0700") < 0) {
		err = -errno;
		pr_err("cannot mount bpffs on %s: %s (are you root? does the kernel have "
		       "CONFIG_BPF_SYSCALL?)\n",
		       MOUNTS_BPFFS_ROOT, strerror(-err));
		return err;
	}
	pr_info("mounted bpffs on %s\n", MOUNTS_BPFFS_ROOT);
	return 0;
}

int mounts_prepare_pin_dir(const char *pin_dir)
{
	char ancestor[PATH_MAX];
	size_t root_len = strlen(MOUNTS_BPFFS_ROOT);
	int err;

	if (pin_dir[0] != '/') {
		pr_err("pin dir %s must be an absolute path\n", pin_dir);
		return -EINVAL;
	}
	if (strncmp(pin_dir, MOUNTS_BPFFS_ROOT, root_len) == 0 &&
	    (pin_dir[root_len] == '/' || pin_dir[root_len] == '\0')) {
		err = mount_bpffs_root();
		if (err)
			return err;
	}
	err = existing_ancestor(pin_dir, ancestor, sizeof(ancestor));
	if (!err)
		err = mounts_is_bpffs(ancestor);
	if (err < 0) {
		pr_err("cannot examine pin dir %s: %s\n", pin_dir, strerror(-err));
		return err;
	}
	if (err == 0) {
		pr_err("pin dir %s is not on a bpffs (%s is not; mount -t bpf bpf DIR first)\n",
		       pin_dir, ancestor);
		return -ENOTSUP;
	}
	err = mkdir_p(pin_dir);
	if (err)
		pr_err("cannot create pin dir %s: %s\n", pin_dir, strerror(-err));
	return err;
}

static unsigned long long wanted_id;
static char *found_path;
static size_t found_len;

static int match_cgroup_id(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || (unsigned long long)st->st_ino != wanted_id)
		return 0;
	snprintf(found_path, found_len, "%s", path);
	return 1;
}

int mounts_cgroup_path(unsigned long long id, char *buf, size_t len)
{
	char root[PATH_MAX];
	int err = mounts_find_cgroup2(root, sizeof(root));

	if (err)
		return err;
	/* A cgroup's id is its kernfs inode number; nftw's callback has no user pointer. */
	wanted_id = id;
	found_path = buf;
	found_len = len;
	err = nftw(root, match_cgroup_id, 16, FTW_PHYS | FTW_MOUNT);
	return err == 1 ? 0 : -ENOENT;
}
