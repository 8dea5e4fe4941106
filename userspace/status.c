// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tg_maps.h"

#include "config.h"
#include "drift.h"
#include "escape.h"
#include "layers.h"
#include "quote.h"
#include "status_netns.h"
#include "reasons.h"
#include "mounts.h"
#include "status.h"
#include "status_internal.h"
#include "sync.h"
#include "pins.h"
#include "util.h"

bool status_loaded(const struct status_report *r)
{
	return r->guard.loaded || r->nft.present;
}

/* A BPF layer that is there at all must be whole, whatever layers its config names. */
bool status_complete(const struct status_report *r)
{
	if (((r->layers & TG_LAYER_BPF) || r->guard.loaded) && !r->guard.complete)
		return false;
	return !r->nft_missing;
}

int status_exit_code(const struct status_report *r)
{
	if (!status_loaded(r))
		return STATUS_NOT_LOADED;
	return status_complete(r) && r->drift_count == 0 && !capacity_exceeded(&r->findings)
		       ? STATUS_LOADED
		       : STATUS_DEGRADED;
}

static void port_key_endpoint(const struct tg_port_key *key, char *buf, size_t len)
{
	if (key->family == AF_INET)
		tunnels_format_endpoint(AF_INET, &key->addr[12], key->port, buf, len);
	else
		tunnels_format_endpoint(AF_INET6, key->addr, key->port, buf, len);
}

static char *next_drift(struct status_report *r)
{
	return r->drift_count++ < STATUS_MAX_DRIFT ? r->drift[r->drift_count - 1] : NULL;
}

static void note_drift(void *ctx, enum drift_kind kind, const struct tg_port_key *key,
		       unsigned int uid)
{
	struct status_report *r = ctx;
	char where[INET6_ADDRSTRLEN + 16];

	port_key_endpoint(key, where, sizeof(where));
	if (r->drift_count < STATUS_MAX_DRIFT) {
		if (kind == DRIFT_STALE)
			snprintf(r->drift[r->drift_count], sizeof(r->drift[0]),
				 "port_owner holds %s uid %u, which no longer listens", where, uid);
		else if (kind == DRIFT_MISSING)
			snprintf(r->drift[r->drift_count], sizeof(r->drift[0]),
				 "port_owner lacks %s uid %u", where, uid);
		else
			snprintf(r->drift[r->drift_count], sizeof(r->drift[0]),
				 "port_owner has the wrong owner for %s (live uid %u)", where, uid);
	}
	r->drift_count++;
}

struct nft_drift_ctx {
	struct status_report *report;
	const struct diag_list *listeners;
};

/* The nft sets know uid and port; name a live listener of them so the operator can find it. */
static void note_nft_drift(void *ctx, enum drift_kind kind, const char *set, uint32_t uid,
			   uint16_t port)
{
	struct nft_drift_ctx *c = ctx;
	char where[INET6_ADDRSTRLEN + 16];
	bool pair = strcmp(set, "owned") == 0 || strcmp(set, "services") == 0;
	char *line = next_drift(c->report);

	if (!line)
		return;
	snprintf(where, sizeof(where), "port %u", port);
	for (size_t i = 0; i < c->listeners->count; i++) {
		const struct diag_listener *l = &c->listeners->items[i];

		if (l->port == port && (!pair || l->uid == uid)) {
			tunnels_format_endpoint(l->family, l->ip, l->port, where, sizeof(where));
			break;
		}
	}
	if (kind == DRIFT_MISSING && pair)
		snprintf(line, sizeof(c->report->drift[0]), "nft set %s lacks %s uid %u", set,
			 where, uid);
	else if (kind == DRIFT_MISSING)
		snprintf(line, sizeof(c->report->drift[0]), "nft set %s lacks %s", set, where);
	else if (pair)
		snprintf(line, sizeof(c->report->drift[0]),
			 "nft set %s holds uid %u port %u, which no longer listens", set, uid,
			 port);
	else
		snprintf(line, sizeof(c->report->drift[0]),
			 "nft set %s holds port %u, where nothing that belongs there listens", set,
			 port);
}

/* The third view: the nft sets against the live listeners (sock_diag). */
static void collect_nft_drift(struct status_report *r, const struct diag_list *listeners)
{
	struct nft_drift_ctx ctx = { .report = r, .listeners = listeners };
	struct nft_sync_report report = { .on_drift = note_nft_drift, .ctx = &ctx };
	struct nft_owner *owners = calloc(listeners->count + 1, sizeof(*owners));
	size_t n = listeners->count;
	char *line;
	int err = owners ? 0 : -ENOMEM;

	/* As layers_live_owners() makes them, from the dump status already has. */
	for (size_t i = 0; owners && i < n; i++)
		owners[i] = nft_owner_of(&r->guard.policy, listeners->items[i].uid,
					 listeners->items[i].port);
	/* Against the table status_collect() read: a second read of 100,000 elements costs
	 * the kernel a quadratic walk again. */
	if (!err)
		err = nft_compare_owners(&r->nft, owners, n, &report);
	line = err && err != -ENOENT ? next_drift(r) : NULL;
	if (line)
		snprintf(line, sizeof(r->drift[0]),
			 "nft sets could not be compared with the %zu listeners: %s", n,
			 strerror(-err));
	free(owners);
}

/* The cgroup ids under the guard's attach cgroup (ids are the directories' inode numbers). */
struct hooked_cgroups {
	bool all; /* attached at the root: every socket is the guard's */
	unsigned long long *ids;
	size_t n, cap;
};

static struct hooked_cgroups *walking;

static int note_cgroup(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_D && !util_grow((void **)&walking->ids, &walking->cap, walking->n + 1,
					sizeof(*walking->ids)))
		walking->ids[walking->n++] = (unsigned long long)sb->st_ino;
	return 0;
}

static void read_hooked_cgroups(const struct status_report *r, struct hooked_cgroups *h)
{
	char root[PATH_MAX];

	memset(h, 0, sizeof(*h));
	if (!r->guard.cgroup[0] || mounts_find_cgroup2(root, sizeof(root)) < 0 ||
	    strcmp(root, r->guard.cgroup) == 0) {
		h->all = true;
		return;
	}
	walking = h;
	if (nftw(r->guard.cgroup, note_cgroup, 16, FTW_PHYS) < 0)
		h->all = true; /* cannot tell: report every missing entry, as before */
	walking = NULL;
}

struct drift_ctx {
	struct status_report *r;
	struct hooked_cgroups cgroups;
};

static void note_drift_ctx(void *ctx, enum drift_kind kind, const struct tg_port_key *key,
			   unsigned int uid)
{
	note_drift(((struct drift_ctx *)ctx)->r, kind, key, uid);
}

/*
 * A listener whose socket is outside the guard's cgroup took its port without the guard's bind
 * hook: port_owner learns it from the daemon's reconciliation, and its absence is not drift.
 */
static bool listener_hooked(void *ctx, const struct diag_listener *l)
{
	const struct hooked_cgroups *h = &((struct drift_ctx *)ctx)->cgroups;

	if (h->all || !l->cgroup_id)
		return true;
	for (size_t i = 0; i < h->n; i++)
		if (h->ids[i] == l->cgroup_id)
			return true;
	return false;
}

static void collect_drift(const char *pin_dir, struct status_report *r,
			  const struct diag_list *listeners)
{
	struct drift_ctx dc = { .r = r };
	struct sync_report report = { .on_drift = note_drift_ctx,
				      .hooked = listener_hooked,
				      .ctx = &dc };
	int fd = pins_open(pin_dir, TG_PIN_PORT_OWNER);

	if (fd < 0)
		return; /* reported as a missing pin */
	read_hooked_cgroups(r, &dc.cgroups);
	if (sync_port_owner_from_listeners(fd, true, &report, listeners, NULL) == 0) {
		r->capacity.port_owner_known = r->capacity.port_owner_max != 0;
		r->capacity.port_owner_entries = report.entries;
		r->capacity.untracked_known = true;
		r->capacity.untracked = report.untracked;
	}
	close(fd);
	free(dc.cgroups.ids);
}

/* port_owner's size, the kernel's loss counters and what a running daemon saw. */
static void collect_capacity(const char *pin_dir, struct status_report *r)
{
	struct capacity_facts *c = &r->capacity;

	if (!r->guard.loaded)
		return;
	if (capacity_port_owner_max(pin_dir, &c->port_owner_max))
		c->port_owner_max = 0;
	c->full_total = r->guard.stats[TG_STAT_PORT_OWNER_FULL];
	c->events_lost = r->guard.stats[TG_STAT_EVENTS_LOST];
	c->owner_events_lost = r->guard.stats[TG_STAT_OWNER_EVENTS_LOST];
	c->have_daemon = capacity_state_read(pin_dir, &c->daemon) == 0;
}

struct tunnels_job {
	struct status_report *r;
	const struct diag_list *listeners;
	size_t with_process;
	pthread_t thread;
	bool started;
};

/* Writes only r->tunnels and r->tunnels_known, which nothing else touches meanwhile. */
static void *list_tunnels(void *arg)
{
	struct tunnels_job *job = arg;

	job->r->tunnels_known = tunnels_from_listeners(&job->r->guard.policy, job->listeners,
						       job->with_process, &job->r->tunnels) == 0;
	return NULL;
}

int status_collect(const char *pin_dir, struct status_report *r)
{
	return status_collect_view(pin_dir, STATUS_VIEW_JSON, r);
}

static int collect(const char *pin_dir, enum status_view view, struct status_report *r)
{
	struct tunnels_job tunnels = {};
	struct diag_list listeners = {};
	struct nft_handle nft;
	char *line;
	int err;

	err = guard_read(pin_dir, &r->guard);
	if (err)
		return err;
	/* The table lives in the namespace load ran in; this one's table is not the guard's. */
	r->nft_checked = !r->guard.loaded || guard_in_my_netns(&r->guard);
	nft_handle_init(&nft, pin_dir);
	if (r->nft_checked && nft_read(&nft, &r->nft))
		r->nft_checked = false;
	nft_handle_close(&nft);
	if (r->nft.present && r->nft.guard_id[0] && strcmp(r->nft.guard_id, nft.guard_id) != 0) {
		/* One table per namespace, and this one is another guard's. */
		snprintf(r->nft_foreign_owner, sizeof(r->nft_foreign_owner), "%s", r->nft.guard_id);
		nft_state_free(&r->nft);
	}
	if (!status_loaded(r))
		return 0;
	if (r->guard.have_config) {
		r->layers = r->guard.layers;
	} else if (r->guard.loaded) {
		r->layers = TG_LAYER_BPF; /* links without a readable config: incomplete */
	} else {
		/* nft alone: the table's own tenant set is the policy it enforces. */
		r->layers = TG_LAYER_NFT;
		size_t n = nft_state_tenant_ranges(&r->nft, NULL, 0);

		policy_free(&r->guard.policy);
		r->guard.policy.tenant = calloc(n ? n : 1, sizeof(*r->guard.policy.tenant));
		if (!r->guard.policy.tenant)
			return -ENOMEM;
		r->guard.policy.n_tenant =
			(__u32)nft_state_tenant_ranges(&r->nft, r->guard.policy.tenant, n);
	}
	r->nft_missing = (r->layers & TG_LAYER_NFT) && r->nft_checked && !r->nft.present;
	/* One sock_diag dump for the tunnels and both drift checks: at 300,000 listeners each
	 * dump is a third of a second. */
	err = diag_dump_listeners(&listeners);
	tunnels.r = r;
	tunnels.listeners = &listeners;
	tunnels.with_process = view == STATUS_VIEW_JSON	  ? SIZE_MAX
			       : view == STATUS_VIEW_TEXT ? STATUS_MAX_TUNNELS_SHOWN
							  : 0;
	/* Finding each tunnel's process reads every socket link in /proc (a second of work at
	 * 300,000 tunnels): do it on another CPU while the drift checks run. */
	if (!err && (r->guard.have_config || !r->guard.loaded))
		tunnels.started =
			pthread_create(&tunnels.thread, NULL, list_tunnels, &tunnels) == 0;
	if (!err && (r->guard.have_config || !r->guard.loaded) && !tunnels.started)
		list_tunnels(&tunnels);
	/* port_owner follows the listeners of the namespace load ran in; elsewhere sock_diag
	 * shows other listeners, and a comparison would report false drift. */
	r->drift_checked = r->guard.loaded ? guard_in_my_netns(&r->guard) : r->nft_checked;
	collect_capacity(pin_dir, r);
	if (err && r->drift_checked) {
		line = next_drift(r);
		if (line)
			snprintf(line, sizeof(r->drift[0]),
				 "listeners could not be read with sock_diag: %s", strerror(-err));
	}
	if (!err && r->drift_checked && r->guard.loaded)
		collect_drift(pin_dir, r, &listeners);
	if (!err && r->drift_checked && r->nft.present)
		collect_nft_drift(r, &listeners);
	if (tunnels.started)
		pthread_join(tunnels.thread, NULL);
	diag_list_free(&listeners);
	capacity_assess(&r->capacity, time(NULL), &r->findings);
	return 0;
}

int status_collect_view(const char *pin_dir, enum status_view view, struct status_report *r)
{
	bool locked;
	int err;

	memset(r, 0, sizeof(*r));
	/*
	 * A snapshot between loads: a swap replaces pins, maps and the nft table one after
	 * another, and status read in the middle would call a load that is running "interrupted".
	 * Held shared, so statuses run side by side; a load waits for them (35 ms at 50,000
	 * tenants), and the daemon defers a pass.
	 */
	err = loader_lock_shared(STATUS_LOCK_WAIT_MS, &r->load_holder);
	r->load_busy = err == -EWOULDBLOCK;
	locked = err == 0;
	err = collect(pin_dir, view, r);
	if (locked)
		loader_unlock();
	return err;
}

void status_free(struct status_report *r)
{
	tunnels_free(&r->tunnels);
	nft_state_free(&r->nft);
	guard_free(&r->guard);
}
