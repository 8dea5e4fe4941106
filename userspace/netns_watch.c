// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns_watch.c - the local addresses of the other network namespaces, followed from the listen
 * bind and close hooks' tg_netns_events and from rtnetlink events (netns_watch.h).
 *
 * A socket stays in the namespace where it was made, so everything namespace-bound (the cookie
 * check, the subscribed rtnetlink socket, the dumps) happens in a short-lived thread that
 * setns()s into the namespace; the daemon's own thread never leaves its namespace. A known
 * namespace is held by one fd only, its rtnetlink socket: SIOCGSKNS on it gives the namespace
 * back when a dump is due.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "diag.h"
#include "local_addrs.h"
#include "log.h"
#include "guard.h"
#include "netns_probe.h"
#include "netns_watch.h"
#include "reserved_ports.h"
#include "sync.h"
#include "pins.h"
#include "util.h"

/* ---- pure helpers ---- */

void netns_watch_key(const struct tg_lpm_key *local, __u64 cookie, struct tg_netns_lpm_key *out)
{
	memset(out, 0, sizeof(*out));
	out->prefixlen = TG_NETNS_LPM_PREFIX + local->prefixlen;
	out->netns_cookie = cookie;
	memcpy(out->ip, local->ip, sizeof(out->ip));
}

int netns_watch_parse_event(const void *data, size_t size, struct tg_netns_event *out)
{
	if (!data || size < sizeof(*out))
		return -EBADMSG;
	memcpy(out, data, sizeof(*out));
	if (out->added > 1 || !out->netns_cookie)
		return -EBADMSG;
	return 0;
}

/* ---- the maps ---- */

/* Every key of tg_netns_addrs, of namespace cookie only (0: of every namespace). */
static int read_addr_keys(int fd, __u64 cookie, struct tg_netns_lpm_key **out, size_t *count)
{
	struct tg_netns_lpm_key *keys = NULL, key, *prev = NULL, last;
	size_t n = 0, cap = 0;
	int err = 0;

	for (;;) {
		if (bpf_map_get_next_key(fd, prev, &key) < 0) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		last = key;
		prev = &last;
		if (cookie && key.netns_cookie != cookie)
			continue;
		err = util_grow((void **)&keys, &cap, n + 1, sizeof(*keys));
		if (err)
			break;
		keys[n++] = key;
	}
	if (err) {
		free(keys);
		return err;
	}
	*out = keys;
	*count = n;
	return 0;
}

static bool has_addr_key(const struct tg_netns_lpm_key *keys, size_t n,
			 const struct tg_netns_lpm_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&keys[i], key, sizeof(*key)) == 0)
			return true;
	return false;
}

static bool is_full(int err)
{
	return err == -ENOSPC || err == -E2BIG;
}

/* Make k's entries in tg_netns_addrs the prefixes of live: add first, then delete. */
static int write_addrs(struct netns_watch *w, const struct netns_known *k,
		       const struct local_addr_list *live)
{
	struct tg_netns_lpm_key *have = NULL, *want = NULL;
	size_t n_have = 0;
	__u8 one = 1;
	int err;

	err = read_addr_keys(w->addrs_fd, k->cookie, &have, &n_have);
	if (err)
		goto cleanup;
	want = calloc(live->count + 1, sizeof(*want));
	if (!want) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < live->count && !err; i++) {
		netns_watch_key(&live->keys[i], k->cookie, &want[i]);
		if (!has_addr_key(have, n_have, &want[i]) &&
		    bpf_map_update_elem(w->addrs_fd, &want[i], &one, BPF_ANY) < 0)
			err = -errno;
	}
	for (size_t i = 0; i < n_have && !err; i++)
		if (!has_addr_key(want, live->count, &have[i]) &&
		    bpf_map_delete_elem(w->addrs_fd, &have[i]) < 0 && errno != ENOENT)
			err = -errno;
	if (is_full(err))
		pr_warn("map netns_addrs is full (%d prefixes): network namespace %llu stays fail-closed (every destination counts as local)\n",
			TG_NETNS_ADDRS_MAX, (unsigned long long)k->cookie);
cleanup:
	free(have);
	free(want);
	return err;
}

/* Write what the dump found, then tg_netns: addrs_known only when all of it is in the trie. */
static void apply_dump(struct netns_watch *w, struct netns_known *k,
		       const struct local_addr_list *live, int dump_err)
{
	struct tg_netns_info info = { .addrs_known = 1 };
	int err = dump_err ? dump_err : write_addrs(w, k, live);

	if (err)
		info.addrs_known = 0;
	if (bpf_map_update_elem(w->netns_fd, &k->cookie, &info, BPF_ANY) < 0) {
		if (!err)
			err = -errno;
		if (is_full(-errno))
			pr_warn("map netns is full (%d namespaces): network namespace %llu stays fail-closed\n",
				TG_NETNS_MAX, (unsigned long long)k->cookie);
		info.addrs_known = 0;
	}
	k->addrs_known = info.addrs_known;
	if (err && !k->warned) {
		pr_warn("cannot learn the local addresses of network namespace %llu: %s; connects there fail closed until its next address change\n",
			(unsigned long long)k->cookie, strerror(-err));
		k->warned = true;
	} else if (!err && k->warned) {
		pr_notice("network namespace %llu: local addresses known again\n",
			  (unsigned long long)k->cookie);
		k->warned = false;
	}
	if (!err)
		pr_debug("network namespace %llu: %zu local prefixes\n",
			 (unsigned long long)k->cookie, live->count);
}

/* ---- the namespaces followed ---- */

static struct netns_known *find_known(const struct netns_watch *w, __u64 cookie, size_t *index)
{
	for (size_t i = 0; i < w->n_known; i++) {
		if (w->known[i]->cookie == cookie) {
			if (index)
				*index = i;
			return w->known[i];
		}
	}
	return NULL;
}

/* Follow the namespace p found: take its socket, write its addresses. */
static void track(struct netns_watch *w, struct netns_probe *p)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct netns_known *k;

	if (w->n_known >= TG_NETNS_MAX) {
		if (!w->full_warned)
			pr_warn("already following %d network namespaces: namespace %llu stays fail-closed\n",
				TG_NETNS_MAX, (unsigned long long)p->cookie);
		w->full_warned = true;
		return;
	}
	if (util_grow((void **)&w->known, &w->cap_known, w->n_known + 1, sizeof(*w->known)))
		return;
	k = calloc(1, sizeof(*k));
	if (!k)
		return;
	k->cookie = p->cookie;
	k->listeners = p->listeners;
	ev.data.ptr = k;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, mnl_socket_get_fd(p->nl), &ev) < 0) {
		pr_warn("cannot follow network namespace %llu: epoll: %s\n",
			(unsigned long long)p->cookie, strerror(errno));
		free(k);
		return;
	}
	k->nl = p->nl;
	p->nl = NULL;
	w->known[w->n_known++] = k;
	pr_info("following network namespace %llu (listeners: %u)\n", (unsigned long long)k->cookie,
		k->listeners);
	apply_dump(w, k, &p->addrs, p->dump_err);
}

/* Every entry of namespace cookie leaves both maps: tg_netns first, so it fails closed. */
static void drop_entries(struct netns_watch *w, __u64 cookie)
{
	struct tg_netns_lpm_key *keys = NULL;
	size_t n = 0;

	if (bpf_map_delete_elem(w->netns_fd, &cookie) < 0 && errno != ENOENT)
		pr_warn("cannot delete network namespace %llu from map netns: %s\n",
			(unsigned long long)cookie, strerror(errno));
	if (read_addr_keys(w->addrs_fd, cookie, &keys, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(w->addrs_fd, &keys[i]) < 0 && errno != ENOENT)
			pr_warn("cannot delete a prefix of network namespace %llu: %s\n",
				(unsigned long long)cookie, strerror(errno));
	free(keys);
}

static void forget(struct netns_watch *w, size_t index)
{
	struct netns_known *k = w->known[index];

	pr_info("network namespace %llu has no listener left: no longer followed\n",
		(unsigned long long)k->cookie);
	drop_entries(w, k->cookie);
	mnl_socket_close(k->nl); /* closing drops it from the epoll set too */
	free(k);
	w->known[index] = w->known[--w->n_known];
}

/* A listener appeared in a namespace not followed yet: the task that listens is inside it. */
static void learn(struct netns_watch *w, const struct tg_netns_event *ev)
{
	struct netns_probe p = {
		.want_cookie = ev->netns_cookie,
		.count = true,
		.assume_listener = true,
		.follow = true,
		.dump = true,
	};
	struct guard_state st;
	char path[64];
	int err;

	if (guard_read(w->pin_dir, &st) == 0 && st.have_config)
		p.reserve = &st.policy;
	snprintf(path, sizeof(path), "/proc/%u/ns/net", ev->pid);
	p.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p.ns_fd < 0) {
		pr_debug("network namespace %llu: %s: %s (the next listener retries)\n",
			 (unsigned long long)ev->netns_cookie, path, strerror(errno));
		guard_free(&st);
		return;
	}
	err = probe_run(&p);
	close(p.ns_fd);
	if (err == -ESTALE)
		pr_debug("network namespace %llu: pid %u is elsewhere now\n",
			 (unsigned long long)ev->netns_cookie, ev->pid);
	else if (err)
		pr_warn("cannot enter network namespace %llu of pid %u: %s\n",
			(unsigned long long)ev->netns_cookie, ev->pid, strerror(-err));
	else if (p.nl)
		track(w, &p);
	probe_free(&p);
	guard_free(&st);
}

/*
 * Listeners closed: count again (one sock_diag dump per namespace and batch of events, so a
 * storm of closes costs a few dumps, and a count the events got wrong is put right), and let
 * the namespace go when none is left.
 */
static void recount(struct netns_watch *w, size_t index)
{
	struct netns_known *k = w->known[index];
	struct netns_probe p = { .count = true };

	if (probe_known(k->nl, k->cookie, &p))
		return; /* keep following: the next event tries again */
	k->listeners = p.listeners;
	if (!p.listeners)
		forget(w, index);
}

/* The address or route events of k's namespace: dump it again. */
static void resync_known(struct netns_watch *w, struct netns_known *k)
{
	struct netns_probe p = { .dump = true };
	int err = probe_known(k->nl, k->cookie, &p);

	apply_dump(w, k, &p.addrs, err ? err : p.dump_err);
	probe_free(&p);
}

static int on_netns_event(void *ctx, void *data, size_t size)
{
	struct netns_watch *w = ctx;
	struct tg_netns_event ev;
	struct netns_known *k;

	if (netns_watch_parse_event(data, size, &ev))
		return 0; /* not ours: skip rather than misread */
	k = find_known(w, ev.netns_cookie, NULL);
	if (ev.added && k)
		k->listeners++;
	else if (ev.added && ev.pid)
		learn(w, &ev);
	else if (!ev.added && k) {
		k->listeners -= k->listeners > 0;
		k->recount_due = true;
	}
	return 0;
}

/* Read every pending message; true when there was any (an overrun counts: something changed). */
static bool drain(struct mnl_socket *nl)
{
	char buf[8192];
	bool any = false;
	ssize_t n;

	for (;;) {
		n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == ENOBUFS))
			any = true;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			return any;
	}
}

static void resync_own(struct netns_watch *w)
{
	struct sync_report r = { 0 };

	if (sync_local_addrs_from_routes(w->local_addrs_fd, false, &r) == 0 &&
	    (r.added || r.removed))
		pr_info("local addresses changed: %zu added, %zu removed\n", r.added, r.removed);
}

/* ---- start: the listeners that already exist ---- */

/* Follow every other namespace that has a TCP listener now (one pass over /proc). */
static void scan_proc(struct netns_watch *w, __u64 own_cookie)
{
	const struct tg_policy *reserve = NULL;
	struct guard_state guard;
	struct stat self, st;
	ino_t *seen = NULL;
	size_t n_seen = 0, cap = 0;
	struct dirent *de;
	char path[PATH_MAX];
	DIR *dir;

	if (stat("/proc/self/ns/net", &self) < 0)
		return;
	dir = opendir("/proc");
	if (!dir)
		return;
	if (guard_read(w->pin_dir, &guard) == 0 && guard.have_config)
		reserve = &guard.policy;
	while ((de = readdir(dir))) {
		struct netns_probe p = { .count = true, .follow = true, .dump = true };
		bool dup = false;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		p.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p.ns_fd < 0)
			continue;
		if (fstat(p.ns_fd, &st) < 0 || st.st_ino == self.st_ino) {
			close(p.ns_fd);
			continue;
		}
		for (size_t i = 0; i < n_seen && !dup; i++)
			dup = seen[i] == st.st_ino;
		if (dup || util_grow((void **)&seen, &cap, n_seen + 1, sizeof(*seen))) {
			close(p.ns_fd);
			continue;
		}
		seen[n_seen++] = st.st_ino;
		p.reserve = reserve;
		if (probe_run(&p) == 0 && p.nl && p.cookie != own_cookie &&
		    !find_known(w, p.cookie, NULL))
			track(w, &p);
		close(p.ns_fd);
		probe_free(&p);
	}
	closedir(dir);
	free(seen);
	guard_free(&guard);
}

/* Entries a previous daemon left for namespaces that have no listener now, or are gone. */
static void purge_unknown(struct netns_watch *w)
{
	struct tg_netns_lpm_key *keys = NULL;
	__u64 key, *prev = NULL, last, *stale = NULL;
	size_t n = 0, n_stale = 0, cap = 0;

	while (bpf_map_get_next_key(w->netns_fd, prev, &key) == 0) {
		last = key;
		prev = &last;
		if (find_known(w, key, NULL))
			continue;
		if (util_grow((void **)&stale, &cap, n_stale + 1, sizeof(*stale)))
			break;
		stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(w->netns_fd, &stale[i]);
	free(stale);
	if (read_addr_keys(w->addrs_fd, 0, &keys, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!find_known(w, keys[i].netns_cookie, NULL))
			bpf_map_delete_elem(w->addrs_fd, &keys[i]);
	free(keys);
}

/* One fd per followed namespace: make room for TG_NETNS_MAX of them where the hard limit lets. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = TG_NETNS_MAX + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		pr_info("cannot raise the open file limit: %s\n", strerror(errno));
}

int netns_watch_open(struct netns_watch *w, const char *pin_dir)
{
	struct epoll_event ev = { .events = EPOLLIN };
	__u64 own_cookie = 0;
	int ring_fd = -1, err = 0;

	memset(w, 0, sizeof(*w));
	w->epoll_fd = w->netns_fd = w->addrs_fd = w->local_addrs_fd = -1;
	if ((size_t)snprintf(w->pin_dir, sizeof(w->pin_dir), "%s", pin_dir) >= sizeof(w->pin_dir))
		return -ENAMETOOLONG;
	w->netns_fd = pins_open(pin_dir, TG_PIN_NETNS);
	w->addrs_fd = pins_open(pin_dir, TG_PIN_NETNS_ADDRS);
	w->local_addrs_fd = pins_open(pin_dir, TG_PIN_LOCAL_ADDRS);
	ring_fd = pins_open(pin_dir, TG_PIN_NETNS_EVENTS);
	if (w->netns_fd < 0 || w->addrs_fd < 0 || w->local_addrs_fd < 0 || ring_fd < 0) {
		err = w->netns_fd < 0	      ? w->netns_fd
		      : w->addrs_fd < 0	      ? w->addrs_fd
		      : w->local_addrs_fd < 0 ? w->local_addrs_fd
					      : ring_fd;
		goto cleanup;
	}
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	w->own_nl = probe_subscribe_here();
	if (w->epoll_fd < 0 || !w->own_nl) {
		err = -errno;
		goto cleanup;
	}
	err = pins_socket_netns_cookie(mnl_socket_get_fd(w->own_nl), &own_cookie);
	if (err)
		goto cleanup;
	w->rb = ring_buffer__new(ring_fd, on_netns_event, w, NULL);
	if (!w->rb) {
		err = -errno;
		goto cleanup;
	}
	ev.data.ptr = &w->rb;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(w->rb), &ev) < 0) {
		err = -errno;
		goto cleanup;
	}
	ev.data.ptr = &w->own_nl;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, mnl_socket_get_fd(w->own_nl), &ev) < 0) {
		err = -errno;
		goto cleanup;
	}
	raise_fd_limit();
	scan_proc(w, own_cookie);
	purge_unknown(w);
cleanup:
	if (ring_fd >= 0)
		close(ring_fd); /* the ring buffer keeps its own mapping */
	if (err)
		netns_watch_close(w);
	return err;
}

int netns_watch_fd(const struct netns_watch *w)
{
	return w->epoll_fd;
}

int netns_watch_poll(struct netns_watch *w)
{
	struct epoll_event ev[16];
	bool own = false;
	int n, err;

	n = epoll_wait(w->epoll_fd, ev, 16, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	/* Sockets first: the ring's events may forget a namespace (and free it). */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == &w->rb)
			continue;
		if (ev[i].data.ptr == &w->own_nl)
			own = drain(w->own_nl);
		else if (drain(((struct netns_known *)ev[i].data.ptr)->nl))
			resync_known(w, ev[i].data.ptr);
	}
	if (own)
		resync_own(w);
	err = ring_buffer__consume(w->rb);
	/* Backwards: forget() moves the last namespace into the slot it frees. */
	for (size_t i = w->n_known; i-- > 0;) {
		if (w->known[i]->recount_due) {
			w->known[i]->recount_due = false;
			recount(w, i);
		}
	}
	return err < 0 ? err : 0;
}

void netns_watch_close(struct netns_watch *w)
{
	ring_buffer__free(w->rb);
	w->rb = NULL;
	for (size_t i = 0; i < w->n_known; i++) {
		mnl_socket_close(w->known[i]->nl);
		free(w->known[i]);
	}
	free(w->known);
	w->known = NULL;
	w->n_known = w->cap_known = 0;
	if (w->own_nl)
		mnl_socket_close(w->own_nl);
	w->own_nl = NULL;
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	if (w->netns_fd >= 0)
		close(w->netns_fd);
	if (w->addrs_fd >= 0)
		close(w->addrs_fd);
	if (w->local_addrs_fd >= 0)
		close(w->local_addrs_fd);
	w->epoll_fd = w->netns_fd = w->addrs_fd = w->local_addrs_fd = -1;
}

/* ---- status ---- */

static int compare_info(const void *a, const void *b)
{
	const struct netns_watch_info *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

int netns_watch_read(const char *pin_dir, struct netns_watch_info **out, size_t *count)
{
	struct netns_watch_info *list = NULL;
	struct tg_netns_lpm_key *keys = NULL;
	struct tg_netns_info info;
	__u64 key, last, *prev = NULL;
	size_t n = 0, cap = 0, n_keys = 0;
	int netns_fd, addrs_fd = -1, err = 0;

	netns_fd = pins_open(pin_dir, TG_PIN_NETNS);
	if (netns_fd < 0)
		return netns_fd;
	addrs_fd = pins_open(pin_dir, TG_PIN_NETNS_ADDRS);
	if (addrs_fd < 0) {
		err = addrs_fd;
		goto cleanup;
	}
	while (bpf_map_get_next_key(netns_fd, prev, &key) == 0) {
		last = key;
		prev = &last;
		if (bpf_map_lookup_elem(netns_fd, &key, &info) < 0)
			continue;
		err = util_grow((void **)&list, &cap, n + 1, sizeof(*list));
		if (err)
			goto cleanup;
		list[n++] = (struct netns_watch_info){ .cookie = key,
						       .addrs_known = info.addrs_known != 0 };
	}
	err = read_addr_keys(addrs_fd, 0, &keys, &n_keys);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < n_keys; i++)
		for (size_t j = 0; j < n; j++)
			if (list[j].cookie == keys[i].netns_cookie)
				list[j].prefixes++;
	if (n)
		qsort(list, n, sizeof(*list), compare_info);
cleanup:
	free(keys);
	if (addrs_fd >= 0)
		close(addrs_fd);
	close(netns_fd);
	if (err) {
		free(list);
		return err;
	}
	*out = list;
	*count = n;
	return 0;
}
