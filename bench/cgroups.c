// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"

#include "cgroups.h"
#include "util.h"

int cgroups_create(struct bench_cgroups *cg)
{
	char root[PATH_MAX / 4];
	int err = mounts_find_cgroup2(root, sizeof(root));

	cg->parent[0] = '\0';
	if (err)
		return err;
	snprintf(cg->parent, sizeof(cg->parent), "%s/" BENCH_PREFIX "%d", root, getpid());
	if (mkdir(cg->parent, 0755) < 0) {
		err = -errno;
		fprintf(stderr, "tg-bench: cannot create cgroup %s: %s\n", cg->parent,
			strerror(-err));
		cg->parent[0] = '\0';
		return err;
	}
	return 0;
}

int cgroups_add(struct bench_cgroups *cg, const char *name, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", cg->parent, name) >= len)
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) < 0) {
		int err = -errno;

		fprintf(stderr, "tg-bench: cannot create cgroup %s: %s\n", path, strerror(-err));
		return err;
	}
	return 0;
}

int cgroups_current(char *path, size_t len)
{
	char root[PATH_MAX / 4], line[PATH_MAX / 2];
	int err = mounts_find_cgroup2(root, sizeof(root));
	FILE *f;

	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	err = -ENOENT;
	while (err && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0)
			err = (size_t)snprintf(path, len, "%s%s", root, line + 3) >= len
				      ? -ENAMETOOLONG
				      : 0;
	}
	fclose(f);
	return err;
}

int cgroups_move(const char *path, pid_t pid)
{
	char file[PATH_MAX], text[32];
	int err;

	if ((size_t)snprintf(file, sizeof(file), "%s/cgroup.procs", path) >= sizeof(file))
		return -ENAMETOOLONG;
	snprintf(text, sizeof(text), "%d\n", pid);
	err = write_text(file, text);
	if (err)
		fprintf(stderr, "tg-bench: cannot move pid %d into %s: %s\n", pid, path,
			strerror(-err));
	return err;
}

/* rmdir, waiting a little for killed processes to leave the cgroup. */
static int remove_dir(const char *path)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int tries;

	for (tries = 0; tries < 200; tries++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "tg-bench: cannot remove cgroup %s: %s\n", path, strerror(errno));
	return -errno;
}

/* Remove every child cgroup of dir, then dir. */
static int remove_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (remove_dir(path) && !err)
			err = -EBUSY;
	}
	closedir(d);
	if (remove_dir(dir) && !err)
		err = -EBUSY;
	return err;
}

int cgroups_remove(struct bench_cgroups *cg)
{
	int err;

	if (!cg->parent[0])
		return 0;
	err = remove_tree(cg->parent);
	cg->parent[0] = '\0';
	return err;
}

void cgroups_sweep(void)
{
	char root[PATH_MAX / 4], path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	long pid;

	if (mounts_find_cgroup2(root, sizeof(root)))
		return;
	d = opendir(root);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, BENCH_PREFIX, strlen(BENCH_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(BENCH_PREFIX), NULL, 10);
		if (bench_pid_alive(pid))
			continue; /* another benchmark is running */
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (!remove_tree(path))
			fprintf(stderr, "tg-bench: removed stale cgroup %s\n", path);
	}
	if (d)
		closedir(d);
}
