// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procs.h"

static int read_file(const char *path, char *buf, size_t len, size_t *used)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*used = n;
	return 0;
}

int procs_name(pid_t pid, char *buf, size_t len)
{
	char path[64];
	size_t used = 0;
	int err;

	if (len == 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	err = read_file(path, buf, len, &used);
	if (!err && used == 0) {
		/* Kernel threads and zombies have no command line. */
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		err = read_file(path, buf, len, &used);
	}
	if (err)
		return err;
	while (used > 0 && (buf[used - 1] == '\0' || buf[used - 1] == '\n' || buf[used - 1] == ' '))
		buf[--used] = '\0';
	for (size_t i = 0; i < used; i++)
		if (buf[i] == '\0' || !isprint((unsigned char)buf[i]))
			buf[i] = buf[i] == '\0' ? ' ' : '?';
	return 0;
}

/* "socket:[12345]" -> 12345 */
static int socket_inode(const char *link, uint64_t *inode)
{
	char *end;

	if (strncmp(link, "socket:[", 8) != 0)
		return -EINVAL;
	errno = 0;
	*inode = strtoull(link + 8, &end, 10);
	return errno || *end != ']' ? -EINVAL : 0;
}

/* Owners by inode, so that each socket link of /proc costs a binary search, not a scan: a hub
 * with 300,000 tunnels has as many links and as many owners. */
struct owner_by_inode {
	uint64_t inode;
	size_t index; /* in the caller's array */
};

static int compare_inode(const void *a, const void *b)
{
	uint64_t x = ((const struct owner_by_inode *)a)->inode;
	uint64_t y = ((const struct owner_by_inode *)b)->inode;

	return x < y ? -1 : x > y;
}

static void scan_process(pid_t pid, struct proc_socket_owner *owners,
			 const struct owner_by_inode *sorted, size_t count, size_t *unresolved)
{
	char dir_path[64], target[64], name[sizeof(owners->name)];
	bool named = false;
	struct dirent *de;
	uint64_t inode;
	ssize_t n;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", pid);
	dir = opendir(dir_path);
	if (!dir)
		return; /* gone, or not ours to read */
	while (*unresolved && (de = readdir(dir))) {
		struct owner_by_inode probe, *hit;

		if (de->d_name[0] == '.')
			continue;
		/* Relative to the open directory: no path walk through /proc per link. */
		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (socket_inode(target, &inode))
			continue;
		probe.inode = inode;
		hit = bsearch(&probe, sorted, count, sizeof(*sorted), compare_inode);
		if (!hit)
			continue;
		/* The first entry of this inode; inodes are unique per socket but the caller may
		 * list one twice. */
		while (hit > sorted && hit[-1].inode == inode)
			hit--;
		for (; hit < sorted + count && hit->inode == inode; hit++) {
			struct proc_socket_owner *o = &owners[hit->index];

			if (o->pid)
				continue;
			if (!named && procs_name(pid, name, sizeof(name)))
				name[0] = '\0';
			named = true;
			o->pid = pid;
			memcpy(o->name, name, sizeof(o->name));
			(*unresolved)--;
		}
	}
	closedir(dir);
}

int procs_find_socket_owners(struct proc_socket_owner *owners, size_t count)
{
	struct owner_by_inode *sorted;
	size_t unresolved = count;
	struct dirent *de;
	DIR *proc;

	for (size_t i = 0; i < count; i++) {
		owners[i].pid = 0;
		owners[i].name[0] = '\0';
	}
	if (count == 0)
		return 0;
	sorted = calloc(count, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		sorted[i] = (struct owner_by_inode){ .inode = owners[i].inode, .index = i };
	qsort(sorted, count, sizeof(*sorted), compare_inode);
	proc = opendir("/proc");
	if (!proc) {
		free(sorted);
		return -errno;
	}
	while (unresolved && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		scan_process((pid_t)pid, owners, sorted, count, &unresolved);
	}
	closedir(proc);
	free(sorted);
	return 0;
}
