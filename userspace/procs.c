// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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

static void scan_process(pid_t pid, struct proc_socket_owner *owners, size_t count,
			 size_t *unresolved)
{
	char dir_path[64], link_path[PATH_MAX], target[64];
	struct dirent *de;
	uint64_t inode;
	ssize_t n;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", pid);
	dir = opendir(dir_path);
	if (!dir)
		return; /* gone, or not ours to read */
	while (*unresolved && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link_path, sizeof(link_path), "%s/%s", dir_path, de->d_name);
		n = readlink(link_path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (socket_inode(target, &inode))
			continue;
		for (size_t i = 0; i < count; i++) {
			if (owners[i].pid || owners[i].inode != inode)
				continue;
			owners[i].pid = pid;
			if (procs_name(pid, owners[i].name, sizeof(owners[i].name)))
				owners[i].name[0] = '\0';
			(*unresolved)--;
		}
	}
	closedir(dir);
}

int procs_find_socket_owners(struct proc_socket_owner *owners, size_t count)
{
	size_t unresolved = count;
	struct dirent *de;
	DIR *proc;

	for (size_t i = 0; i < count; i++) {
		owners[i].pid = 0;
		owners[i].name[0] = '\0';
	}
	if (count == 0)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (unresolved && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		scan_process((pid_t)pid, owners, count, &unresolved);
	}
	closedir(proc);
	return 0;
}
