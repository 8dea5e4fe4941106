// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
		pr_err("no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup, or boot with systemd.unified_cgroup_hierarchy=1)\n");
	return err;
}

int mounts_check_cgroup_dir(const char *path)
{
	char v2[PATH_MAX] = "";
	struct statfs st;

	if (statfs(path, &st) < 0) {
		pr_err("--cgroup %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (st.f_type == CGROUP2_SUPER_MAGIC)
		return 0;
	/* Quietly: a host with no cgroup2 mount gets its own message below. */
	if (mounts_find_cgroup2(v2, sizeof(v2)))
		v2[0] = '\0';
	pr_err("--cgroup %s is %s, not a cgroup v2 directory: cgroup BPF programs attach only to cgroup v2%s%s\n",
	       path, st.f_type == CGROUP_SUPER_MAGIC ? "a cgroup v1 directory" : "not a cgroup",
	       v2[0] ? ", mounted here at " : " (no cgroup2 mount found)", v2);
	return -ENOTDIR;
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
	char why[PATH_MAX + 256];
	struct stat st;

	if (err == 1)
		return 0;
	if (err < 0 && err != -ENOENT) {
		pr_err("cannot examine %s: %s\n", MOUNTS_BPFFS_ROOT, strerror(-err));
		return err;
	}
	/* A bpffs mounted from another mount namespace would die with it, and the pins with it. */
	err = mounts_check_pin_view(MOUNTS_BPFFS_ROOT, why, sizeof(why));
	if (err) {
		pr_err("refusing to mount a bpffs on %s: %s\n", MOUNTS_BPFFS_ROOT, why);
		return err;
	}
	if (stat(MOUNTS_BPFFS_ROOT, &st) < 0 && mkdir(MOUNTS_BPFFS_ROOT, 0700) < 0 &&
	    errno != EEXIST) {
		err = -errno;
		pr_err("cannot create %s: %s\n", MOUNTS_BPFFS_ROOT, strerror(-err));
		return err;
	}
	if (mount("bpf", MOUNTS_BPFFS_ROOT, "bpf", 0, "mode=0700") < 0) {
		err = -errno;
		pr_err("cannot mount bpffs on %s: %s (are you root? does the kernel have CONFIG_BPF_SYSCALL?)\n",
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

/* ---- is this mount namespace's view of the pin dir PID 1's? */

/* /proc/PID/ns/mnt of both name the same namespace: 1 yes, 0 no, -errno unreadable. */
static int same_mnt_ns_by_link(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/mnt", &self) < 0 || stat("/proc/1/ns/mnt", &init) < 0)
		return -errno;
	return self.st_dev == init.st_dev && self.st_ino == init.st_ino;
}

struct mount_table {
	int *ids;
	unsigned int *majors, *minors;
	bool *is_bpf;
	size_t n, cap;
};

static void mount_table_free(struct mount_table *t)
{
	free(t->ids);
	free(t->majors);
	free(t->minors);
	free(t->is_bpf);
	memset(t, 0, sizeof(*t));
}

/* The mount ids, devices and bpffs-ness of a /proc/PID/mountinfo. 0 or -errno. */
static int mount_table_read(const char *path, struct mount_table *t)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *sep;
	size_t line_len = 0;
	int err = 0;

	memset(t, 0, sizeof(*t));
	if (!f)
		return -errno;
	while (getline(&line, &line_len, f) > 0) {
		int id, parent;
		unsigned int major_nr, minor_nr;

		if (sscanf(line, "%d %d %u:%u", &id, &parent, &major_nr, &minor_nr) != 4)
			continue;
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			int *ids = realloc(t->ids, cap * sizeof(*ids));
			unsigned int *majors =
				ids ? realloc(t->majors, cap * sizeof(*majors)) : NULL;
			unsigned int *minors =
				majors ? realloc(t->minors, cap * sizeof(*minors)) : NULL;
			bool *is_bpf = minors ? realloc(t->is_bpf, cap * sizeof(*is_bpf)) : NULL;

			if (ids)
				t->ids = ids;
			if (majors)
				t->majors = majors;
			if (minors)
				t->minors = minors;
			if (!is_bpf) {
				err = -ENOMEM;
				break;
			}
			t->is_bpf = is_bpf;
			t->cap = cap;
		}
		/* "... - FSTYPE SOURCE OPTIONS": the fields before the separator vary in number. */
		sep = strstr(line, " - ");
		t->ids[t->n] = id;
		t->majors[t->n] = major_nr;
		t->minors[t->n] = minor_nr;
		t->is_bpf[t->n] = sep && strncmp(sep + 3, "bpf ", 4) == 0;
		t->n++;
	}
	free(line);
	fclose(f);
	if (err)
		mount_table_free(t);
	return err;
}

/* Mount ids are unique across namespaces: a mount of ours in PID 1's table is the same mount. */
static bool tables_share_a_mount(const struct mount_table *a, const struct mount_table *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (a->ids[i] == b->ids[j])
				return true;
	return false;
}

/* The nearest ancestor of path (path itself included) that this process can stat. */
static int statable_ancestor(const char *path, char *buf, size_t len, struct stat *st)
{
	char *slash;

	if ((size_t)snprintf(buf, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	while (stat(buf, st) < 0) {
		slash = strrchr(buf, '/');
		if (!slash)
			return -errno;
		if (slash == buf) {
			buf[1] = '\0';
			return stat(buf, st) < 0 ? -errno : 0;
		}
		*slash = '\0';
	}
	return 0;
}

int mounts_check_pin_view(const char *pin_dir, char *why, size_t len)
{
	struct mount_table init = {}, self = {};
	char ancestor[PATH_MAX];
	struct stat st;
	int err, bpffs;

	why[0] = '\0';
	err = same_mnt_ns_by_link();
	if (err == 1)
		return 0;
	/* /proc/1/ns/mnt needs ptrace rights over PID 1; its mountinfo does not. */
	err = mount_table_read("/proc/1/mountinfo", &init);
	if (err) {
		snprintf(
			why, len,
			"cannot read /proc/1/mountinfo (%s), so cannot tell whether pins in %s outlive this command",
			strerror(-err), pin_dir);
		return err;
	}
	err = mount_table_read("/proc/self/mountinfo", &self);
	if (err) {
		snprintf(why, len, "cannot read /proc/self/mountinfo: %s", strerror(-err));
		goto out;
	}
	if (tables_share_a_mount(&self, &init))
		goto out; /* the same mount namespace */
	err = statable_ancestor(pin_dir, ancestor, sizeof(ancestor), &st);
	if (err) {
		snprintf(why, len, "cannot examine %s: %s", pin_dir, strerror(-err));
		goto out;
	}
	bpffs = mounts_is_bpffs(ancestor);
	if (bpffs == 1) {
		for (size_t i = 0; i < init.n; i++)
			if (init.is_bpf[i] && init.majors[i] == major(st.st_dev) &&
			    init.minors[i] == minor(st.st_dev))
				goto out; /* PID 1 holds the same bpffs: pins outlive us */
		snprintf(
			why, len,
			"this process has a mount namespace of its own, and the bpffs at %s (device %u:%u) is not mounted in PID 1's: pins there die with this command",
			ancestor, major(st.st_dev), minor(st.st_dev));
	} else {
		snprintf(
			why, len,
			"this process has a mount namespace of its own, and %s is not on a bpffs PID 1 has mounted: a bpffs mounted from here dies with this command",
			ancestor);
	}
	err = -EXDEV;
out:
	mount_table_free(&init);
	mount_table_free(&self);
	return err;
}

int mounts_require_persistent_pins(const char *pin_dir)
{
	char why[PATH_MAX + 256];
	int err = mounts_check_pin_view(pin_dir, why, sizeof(why));

	if (err)
		pr_err("refusing to load into %s: %s; %s\n", pin_dir, why, MOUNTS_NSENTER_HINT);
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
