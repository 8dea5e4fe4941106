// SPDX-License-Identifier: GPL-2.0-only
/* netns_view.c - the host's network namespaces, named, with their listeners (netns_view.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns_view.h"
#include "pins.h"
#include "util.h"

/* One namespace being looked at: what the thread inside it is asked and finds. */
struct netns_visit {
	int ns_fd;
	bool listeners;
	struct netns_view *view;
};

/* A socket belongs to the namespace it was made in: enter it from a thread of our own. */
static void *visit_thread(void *arg)
{
	struct netns_visit *v = arg;

	if (setns(v->ns_fd, CLONE_NEWNET) < 0) {
		v->view->err = -errno;
		return NULL;
	}
	v->view->err = pins_netns_cookie((__u64 *)&v->view->cookie);
	if (!v->view->err && v->listeners)
		v->view->err = diag_dump_listeners(&v->view->listeners);
	return NULL;
}

static void visit(const char *ns_path, struct netns_view *view, bool listeners)
{
	struct netns_visit v = { .listeners = listeners, .view = view };
	pthread_t thread;
	int err;

	v.ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (v.ns_fd < 0) {
		view->err = -errno;
		return;
	}
	err = pthread_create(&thread, NULL, visit_thread, &v);
	if (err)
		view->err = -err;
	else
		pthread_join(thread, NULL);
	close(v.ns_fd);
}

static int ns_inode(const char *path, uint64_t *inode)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*inode = st.st_ino;
	return 0;
}

/* "tg-ctr" when /run/netns/tg-ctr is this namespace. */
static bool run_netns_name(uint64_t inode, char *name, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint64_t ino = 0;
	bool found = false;
	DIR *dir = opendir("/run/netns");

	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (ns_inode(path, &ino) == 0 && ino == inode) {
			snprintf(name, len, "%s", de->d_name);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	/* A task names itself: keep only what prints safely. */
	for (char *c = buf; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
}

static void name_view(struct netns_view *v, pid_t lowest_pid)
{
	uint64_t host = 0;
	char comm[32];

	if (run_netns_name(v->inode, v->name, sizeof(v->name)))
		return;
	/* Kernel threads live in the initial namespace, the host's, even if PID 1 is elsewhere. */
	comm_of(2, comm, sizeof(comm));
	if (strcmp(comm, "kthreadd") == 0 && ns_inode("/proc/2/ns/net", &host) == 0 &&
	    host == v->inode) {
		snprintf(v->name, sizeof(v->name), "host");
		return;
	}
	if (ns_inode("/proc/1/ns/net", &host) == 0 && host == v->inode) {
		snprintf(v->name, sizeof(v->name), "pid 1's");
		return;
	}
	comm_of(lowest_pid, comm, sizeof(comm));
	snprintf(v->name, sizeof(v->name), "pid %d (%s)", (int)lowest_pid, comm[0] ? comm : "?");
}

static int compare_cookie(const void *a, const void *b)
{
	const struct netns_view *x = a, *y = b;

	return (x->cookie > y->cookie) - (x->cookie < y->cookie);
}

/* One namespace per distinct inode of /proc/<pid>/ns/net, with the lowest pid found in it. */
struct found {
	uint64_t inode;
	pid_t pid;
};

static int add_found(struct found **items, size_t *n, size_t *cap, uint64_t inode, pid_t pid)
{
	for (size_t i = 0; i < *n; i++) {
		if ((*items)[i].inode == inode) {
			if (pid < (*items)[i].pid)
				(*items)[i].pid = pid;
			return 0;
		}
	}
	if (util_grow((void **)items, cap, *n + 1, sizeof(**items)))
		return -ENOMEM;
	(*items)[(*n)++] = (struct found){ .inode = inode, .pid = pid };
	return 0;
}

static int scan_proc(struct found **items, size_t *n)
{
	char path[64];
	struct dirent *de;
	size_t cap = 0;
	uint64_t inode = 0;
	int err = 0;
	DIR *dir = opendir("/proc");

	if (!dir)
		return -errno;
	while (!err && (de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		/* A task that exited meanwhile, or a kernel thread: nothing to add. */
		if (ns_inode(path, &inode) == 0)
			err = add_found(items, n, &cap, inode, (pid_t)pid);
	}
	closedir(dir);
	return err;
}

int netns_view_collect(struct netns_view_list *out, bool listeners)
{
	struct found *found = NULL;
	uint64_t here = 0;
	size_t n = 0;
	char path[64];
	int err;

	memset(out, 0, sizeof(*out));
	err = ns_inode("/proc/thread-self/ns/net", &here);
	if (!err)
		err = scan_proc(&found, &n);
	if (!err && n) {
		out->items = calloc(n, sizeof(*out->items));
		if (!out->items)
			err = -ENOMEM;
	}
	for (size_t i = 0; !err && i < n; i++) {
		struct netns_view *v = &out->items[out->count++];

		v->inode = found[i].inode;
		v->here = found[i].inode == here;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)found[i].pid);
		visit(path, v, listeners);
		name_view(v, found[i].pid);
	}
	free(found);
	if (err) {
		netns_view_free(out);
		return err;
	}
	qsort(out->items, out->count, sizeof(*out->items), compare_cookie);
	return 0;
}

void netns_view_free(struct netns_view_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		diag_list_free(&list->items[i].listeners);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

const struct netns_view *netns_view_find(const struct netns_view_list *list, uint64_t cookie)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].cookie == cookie && cookie)
			return &list->items[i];
	return NULL;
}

int netns_view_here(uint64_t *cookie, char *name, size_t len)
{
	struct netns_view v = {};
	struct found *found = NULL;
	pid_t lowest = getpid();
	size_t n = 0;
	int err = pins_netns_cookie((__u64 *)cookie);

	if (!err)
		err = ns_inode("/proc/thread-self/ns/net", &v.inode);
	if (!err)
		err = scan_proc(&found, &n);
	if (err) {
		free(found);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		if (found[i].inode == v.inode)
			lowest = found[i].pid;
	free(found);
	name_view(&v, lowest);
	snprintf(name, len, "%s", v.name);
	return 0;
}
