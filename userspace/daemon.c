// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_maps.h"

#include "capacity.h"
#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "drift.h"
#include "events.h"
#include "guard.h"
#include "layers.h"
#include "loader.h"
#include "log.h"
#include "netns_watch.h"
#include "nft_watch.h"
#include "owner_feed.h"
#include "sync.h"
#include "pins.h"
#include "util.h"

/*
 * What should be in force: the layers and policy of the loaded BPF guard (the kernel's record),
 * or, when no BPF guard is pinned, the config's (an nft-only guard, or nothing yet).
 */
struct intent {
	struct guard_state st;
	struct tg_config cfg; /* valid when have_cfg */
	bool have_cfg;
	unsigned int layers;
	const struct tg_policy *policy;
};

struct daemon {
	const struct daemon_opts *opts;
	struct intent intent;
	struct events_reader events; /* open while a BPF guard is (rings_open) */
	struct owner_feed feed;
	bool rings_open;
	struct netns_watch netns; /* other namespaces' addresses, open when netns_open */
	bool netns_open;
	struct nft_watch watch; /* layers = nft alone: sock_diag polls instead of the hooks */
	struct nft_handle nft;	/* the nft layer, as the guard of opts->pin_dir */
	int signal_fd;
	int epoll_fd;
	int lock_fd;
	/* The stats map the counts below were read from (0: none yet), and what it held then. */
	unsigned int stats_map_id;
	unsigned long long stats_seen[TG_STAT_COUNT];
	/* Capacity (capacity.h): what the daemon saw, and whether the nft sets must be fed from
	 * sock_diag because port_owner cannot carry every listener. */
	struct capacity_daemon_state cap;
	unsigned long long cap_stats[TG_STAT_COUNT]; /* tg_stats at the last check */
	bool cap_stats_known;
	bool fallback;		     /* nft sets fed by sock_diag polls too (watching()) */
	size_t port_owner_untracked; /* at the last reconciliation */
	long long next_cap_warn;     /* no second "port_owner is full" before this (ms) */
	long long next_cap_check;    /* ms */
};

/* Tell systemd (Type=notify) that the guard is in force; a no-op without NOTIFY_SOCKET. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	len = strlen(path);
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract socket */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + len) < 0)
		pr_info("cannot notify systemd: %s\n", strerror(errno));
	close(fd);
}

static int read_intent(const struct daemon_opts *opts, struct intent *in)
{
	int err;

	/* The previous read's (or a zeroed state, the first time). */
	guard_free(&in->st);
	if (in->have_cfg)
		cfg_free(&in->cfg);
	in->have_cfg = false;
	err = guard_read(opts->pin_dir, &in->st);
	if (err) {
		pr_err("cannot read pin dir %s: %s\n", opts->pin_dir, strerror(-err));
		return err;
	}
	if (in->st.loaded && in->st.have_config) {
		in->layers = in->st.layers;
		in->policy = &in->st.policy;
		return 0;
	}
	if (cfg_load(opts->config, &in->cfg))
		return -EINVAL;
	in->have_cfg = true;
	in->layers = in->cfg.layers;
	in->policy = &in->cfg.policy;
	return 0;
}

/* Load when the BPF layer the guard needs is missing or incomplete; otherwise leave it alone. */
static int ensure_loaded(struct nft_handle *nft, const struct daemon_opts *opts, struct intent *in)
{
	struct loader_opts lo = {
		.pin_dir = opts->pin_dir,
		.cgroup = opts->cgroup,
		.no_self_test = opts->no_self_test,
	};
	int err = read_intent(opts, in);
	bool table = true;

	if (err)
		return err;
	/* An nft-only guard is loaded when its table is there; a partial one is repaired by
	 * reconcile_nft() from the table's own state. */
	if (!(in->layers & TG_LAYER_BPF) && !in->st.loaded &&
	    nft_table_present(nft, &table, NULL, 0) == 0 && table)
		return 0;
	if ((in->layers & TG_LAYER_BPF) && in->st.loaded && in->st.complete)
		return 0;
	if (!in->have_cfg) {
		if (cfg_load(opts->config, &in->cfg))
			return -EINVAL;
		in->have_cfg = true;
	}
	pr_warn("%s: loading the guard\n", in->st.loaded ? "guard incomplete" : "guard not loaded");
	err = layers_load(&in->cfg, &lo);
	return err ? err : read_intent(opts, in);
}

/* Drift lines one reconciliation logs; the rest are counted (100,000 after a full map). */
#define DRIFT_LINES_MAX 20

static void log_nft_drift(void *ctx, enum drift_kind kind, const char *set, uint32_t uid,
			  uint16_t port)
{
	size_t *logged = ctx;
	const char *done = kind == DRIFT_MISSING ? "lacked" : "held a stale";

	if ((*logged)++ >= DRIFT_LINES_MAX)
		return;
	if (strcmp(set, "owned") == 0 || strcmp(set, "services") == 0)
		pr_warn("drift repaired: nft set %s %s uid %u port %u\n", set, done, uid, port);
	else
		pr_warn("drift repaired: nft set %s %s port %u\n", set, done, port);
}

/*
 * The nft layer: put the table back if it is gone, else make its sets match the listeners.
 * *listeners receives the sock_diag dump the sets were made from (empty if none was).
 */
static bool reconcile_nft(struct nft_handle *nft, const struct daemon_opts *opts,
			  const struct intent *in, struct diag_list *listeners)
{
	size_t logged = 0;
	struct nft_sync_report r = { .on_drift = log_nft_drift, .ctx = &logged };
	struct nft_owner *owners = NULL;
	size_t n;
	int err;

	/* Another guard's table (one per namespace) is left alone; load said so already. */
	if (layers_nft_owner_check(opts->pin_dir))
		return false;
	err = layers_live_owners(in->policy, &owners, &n, listeners);
	if (err)
		return false;
	err = nft_sync_owners(nft, owners, n, false, &r);
	if (logged > DRIFT_LINES_MAX)
		pr_warn("drift repaired: ... and %zu more nft set elements (%zu added, %zu removed in all)\n",
			logged - DRIFT_LINES_MAX, r.added, r.removed);
	if (err == -ENOENT) {
		err = nft_apply(nft, in->policy, owners, n);
		if (!err)
			pr_warn("drift repaired: table inet tunnelguard was missing; put back with the loaded policy and %zu listeners\n",
				n);
	}
	free(owners);
	return err == 0;
}

/* Listener changes that came in meanwhile: a reconciliation must not hold them up. */
static void pump_feed(struct daemon *d)
{
	if (d->rings_open)
		owner_events_to_nft(&d->feed, d->intent.policy,
				    d->intent.layers & TG_LAYER_NFT ? &d->nft : NULL);
}

/* The feed's index: what the nft sync just put into the sets, or (no sync) port_owner. */
static void rebuild_feed_index(struct daemon *d, const struct diag_list *listeners, bool synced)
{
	struct tg_port_key *keys;
	uint32_t *uids;

	if (!d->rings_open)
		return;
	keys = calloc(listeners->count + 1, sizeof(*keys));
	uids = calloc(listeners->count + 1, sizeof(*uids));
	if (keys && uids) {
		for (size_t i = 0; i < listeners->count; i++) {
			sync_port_key(&listeners->items[i], &keys[i]);
			uids[i] = listeners->items[i].uid;
		}
		owner_feed_rebuild(&d->feed, d->intent.policy, keys, uids, listeners->count,
				   !synced);
	} else {
		owner_feed_rebuild(&d->feed, d->intent.policy, NULL, NULL, 0, true);
	}
	free(keys);
	free(uids);
}

/* ---- capacity ---- */

/* The reconciliation counted listeners a full port_owner cannot hold: say so, in words. */
static void note_untracked(struct daemon *d, size_t untracked)
{
	char message[320], max_text[32];
	uint32_t max = 0;
	long long now = util_now_ms();

	capacity_port_owner_max(d->opts->pin_dir, &max);
	if (!untracked && d->port_owner_untracked)
		pr_notice("port_owner has room again (%s entries): every listener is tracked\n",
			  capacity_number(max, max_text, sizeof(max_text)));
	if (untracked && (!d->port_owner_untracked || now >= d->next_cap_warn ||
			  untracked > d->port_owner_untracked * 2)) {
		capacity_port_owner_message(max, untracked,
					    d->opts->config ? d->opts->config : CFG_DEFAULT_PATH,
					    message, sizeof(message));
		pr_warn("%s\n", message);
		d->next_cap_warn = now + 60 * 1000;
	}
	d->port_owner_untracked = untracked;
	d->cap.port_owner_untracked = untracked;
}

/*
 * Once a second and after each reconciliation: ring buffer losses and listeners the map could
 * not take since the last look, nft batches refused for size; warn in words, switch the nft
 * sets to sock_diag polls while port_owner cannot carry every listener, and tell status.
 * True when the reconciliation should run now: the map just filled up, and only it can count
 * (and say) how many listeners are left out.
 */
static bool check_capacity(struct daemon *d, bool reconciled)
{
	unsigned long long now[TG_STAT_COUNT], split, refused, lost, owner_lost = 0, full = 0;
	bool changed = reconciled, reconcile_now = false;
	time_t t = time(NULL);
	char n[32];

	nft_size_refusals(&d->nft, &split, &refused);
	if (refused > d->cap.nft_batches_refused)
		d->cap.nft_refused_at = t;
	changed |= split != d->cap.nft_batches_split || refused != d->cap.nft_batches_refused;
	d->cap.nft_batches_split = split;
	d->cap.nft_batches_refused = refused;
	if (d->rings_open &&
	    pins_sum_percpu(d->opts->pin_dir, TG_PIN_STATS, now, TG_STAT_COUNT) == 0) {
		if (!d->cap_stats_known)
			memcpy(d->cap_stats, now,
			       sizeof(now)); /* losses before the daemon: not its */
		lost = now[TG_STAT_EVENTS_LOST] - d->cap_stats[TG_STAT_EVENTS_LOST];
		owner_lost =
			now[TG_STAT_OWNER_EVENTS_LOST] - d->cap_stats[TG_STAT_OWNER_EVENTS_LOST];
		full = now[TG_STAT_PORT_OWNER_FULL] - d->cap_stats[TG_STAT_PORT_OWNER_FULL];
		memcpy(d->cap_stats, now, sizeof(now));
		d->cap_stats_known = true;
		if (lost) {
			d->cap.events_lost += lost;
			d->cap.events_lost_at = t;
			pr_warn("ring buffer %s overflowed: %s refusal events were lost %s\n",
				TG_PIN_EVENTS, capacity_number(lost, n, sizeof(n)),
				"(the daemon fell behind; the counters stay exact)");
		}
		if (owner_lost) {
			d->cap.owner_events_lost += owner_lost;
			d->cap.owner_events_lost_at = t;
			pr_warn("ring buffer %s or %s overflowed: %s listener changes were lost; %s\n",
				TG_PIN_OWNER_EVENTS, TG_PIN_NETNS_EVENTS,
				capacity_number(owner_lost, n, sizeof(n)),
				"the nft sets are filled from sock_diag until the next reconciliation");
		}
		changed |= lost || owner_lost;
	}
	/* A listener the map could not take sends no event: poll sock_diag for the nft sets. */
	if (full || owner_lost) {
		if (!d->fallback)
			pr_info("%s\n",
				"port_owner or its events cannot carry every listener: the nft sets follow sock_diag polls");
		reconcile_now = !d->fallback && !reconciled;
		d->fallback = true;
	} else if (reconciled && d->fallback != (d->port_owner_untracked > 0)) {
		d->fallback = d->port_owner_untracked > 0;
		pr_info("the nft sets follow %s\n", d->fallback
							    ? "sock_diag polls: port_owner is full"
							    : "the bind and close hooks again");
	}
	d->feed.adds_only = d->fallback;
	if (changed) {
		d->cap.pid = getpid();
		d->cap.updated = t;
		if (capacity_state_write(d->opts->pin_dir, &d->cap))
			pr_debug("cannot write the capacity state for status\n");
	}
	return reconcile_now;
}

/*
 * Safety net under the BPF bind and close hooks, and repair of anything removed by hand. Events are
 * applied between the heavy steps, never between the nft sync's sock_diag dump and its batch (a
 * listener added meanwhile would be taken out again as stale). Each pass holds the lock that
 * load and unload take, from reading the guard's state to the last repair, and only for that
 * pass: a repair never acts on a state that an unload has meanwhile taken away. The first pass
 * (before the daemon says it is ready) waits for the lock; later ones are skipped while a load
 * or unload holds it, so the daemon keeps answering signals and the next interval tries again.
 */
static void reconcile(struct daemon *d, bool wait)
{
	struct diag_list listeners = {};
	struct sync_report r = { 0 };
	bool synced = false;
	int fd, err;

	err = wait ? loader_lock() : loader_trylock();
	if (err) {
		if (err == -EWOULDBLOCK)
			pr_debug("a load or unload is running: reconciliation deferred\n");
		else
			pr_warn("reconciliation skipped: cannot take the load lock\n");
		return;
	}
	if (ensure_loaded(&d->nft, d->opts, &d->intent))
		pr_err("the guard is not complete and could not be repaired\n");
	pump_feed(d);
	if (d->intent.st.loaded) {
		fd = pins_open(d->opts->pin_dir, TG_PIN_PORT_OWNER);
		r.owner_count_fd = pins_open(d->opts->pin_dir, TG_PIN_OWNER_COUNT);
		if (fd >= 0 && sync_port_owner_from_diag(fd, false, &r) == 0) {
			if (r.added || r.removed || r.changed)
				pr_warn("drift repaired: port_owner %zu added, %zu removed, %zu changed\n",
					r.added, r.removed, r.changed);
			note_untracked(d, r.untracked);
		}
		if (fd >= 0)
			close(fd);
		if (r.owner_count_fd > 0)
			close(r.owner_count_fd);
		pump_feed(d);
		fd = pins_open(d->opts->pin_dir, TG_PIN_LOCAL_ADDRS);
		if (fd >= 0 && sync_local_addrs_from_routes(fd, false, &r) == 0 &&
		    (r.added || r.removed))
			pr_info("local addresses changed: %zu added, %zu removed\n", r.added,
				r.removed);
		if (fd >= 0)
			close(fd);
		pump_feed(d);
	}
	if (d->intent.layers & TG_LAYER_NFT)
		synced = reconcile_nft(&d->nft, d->opts, &d->intent, &listeners);
	loader_unlock();
	rebuild_feed_index(d, &listeners, synced);
	diag_list_free(&listeners);
	pump_feed(d);
}

/*
 * The pinned stats map's id and its sums over CPUs. The id tells a map apart from the one an
 * unload and load put in its place, whose counts start again from zero. 0 or -errno.
 */
static int read_stats(const char *pin_dir, unsigned int *map_id, unsigned long long *now)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pins_open(pin_dir, TG_PIN_STATS), err;

	if (fd < 0)
		return fd;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? -errno : 0;
	close(fd);
	if (!err)
		err = pins_sum_percpu(pin_dir, TG_PIN_STATS, now, TG_STAT_COUNT);
	*map_id = info.id;
	return err;
}

/*
 * The kernel counts held-back events from load; the daemon reports what rose while it ran. At
 * start the counts so far are the baseline (said once, as "since load"): a restarted daemon must
 * not report the whole history as new.
 */
static void take_stats_baseline(struct daemon *d)
{
	unsigned long long *seen = d->stats_seen;

	if (read_stats(d->opts->pin_dir, &d->stats_map_id, seen)) {
		d->stats_map_id = 0; /* no guard yet: whatever comes counts from its load */
		memset(seen, 0, sizeof(d->stats_seen));
		return;
	}
	if (seen[TG_STAT_EVENTS_RATE_LIMITED] || seen[TG_STAT_EVENTS_LOST])
		pr_warn("since load, before this daemon started: %llu events rate-limited, %llu lost (not reported again)\n",
			seen[TG_STAT_EVENTS_RATE_LIMITED], seen[TG_STAT_EVENTS_LOST]);
}

/* Say how many events the kernel held back since the last report (the first: since start). */
static void report_suppressed(struct daemon *d)
{
	unsigned long long now[TG_STAT_COUNT];
	unsigned long long limited, lost;
	char line[160];
	unsigned int map_id;

	if (!d->rings_open || read_stats(d->opts->pin_dir, &map_id, now))
		return;
	if (map_id != d->stats_map_id) {
		/* Loaded anew while this daemon ran: all of the new map's counts are news. */
		memset(d->stats_seen, 0, sizeof(d->stats_seen));
		d->stats_map_id = map_id;
	}
	limited = now[TG_STAT_EVENTS_RATE_LIMITED] - d->stats_seen[TG_STAT_EVENTS_RATE_LIMITED];
	lost = now[TG_STAT_EVENTS_LOST] - d->stats_seen[TG_STAT_EVENTS_LOST];
	memcpy(d->stats_seen, now, sizeof(now));
	if (!limited && !lost)
		return;
	if (events_format_suppressed(limited, lost, d->opts->json, line, sizeof(line)) > 0)
		fputs(line, stdout);
	fflush(stdout);
}

/* Follow the BPF guard's ring buffers: refusals to print, listener changes for the nft sets. */
static int open_rings(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!guard_in_my_netns(&d->intent.st)) {
		pr_err("the guard in %s was loaded from another network namespace: run the daemon there, or its reconciliation would fill port_owner with this one's listeners\n",
		       d->opts->pin_dir);
		return -EXDEV;
	}
	err = events_open(&d->events, d->opts->pin_dir, d->opts->json, stdout);
	if (err) {
		pr_warn("cannot open the events ring buffer in %s: %s\n", d->opts->pin_dir,
			strerror(-err));
		return err;
	}
	err = owner_feed_open(&d->feed, d->opts->pin_dir, d->intent.policy);
	if (err) {
		pr_warn("cannot open the owner events ring buffer in %s: %s\n", d->opts->pin_dir,
			strerror(-err));
		events_close(&d->events);
		return err;
	}
	d->rings_open = true;
	ev.data.fd = ring_buffer__epoll_fd(d->events.rb);
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	ev.data.fd = owner_feed_fd(&d->feed);
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	/* Without it connects in other namespaces fail closed: worse service, not a hole. */
	err = netns_watch_open(&d->netns, d->opts->pin_dir);
	if (err) {
		pr_warn("cannot follow other network namespaces' addresses from %s: %s; connects there treat every destination as local\n",
			d->opts->pin_dir, strerror(-err));
		return 0;
	}
	d->netns_open = true;
	ev.data.fd = netns_watch_fd(&d->netns);
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_rings(struct daemon *d)
{
	if (!d->rings_open)
		return;
	events_close(&d->events);
	owner_feed_close(&d->feed);
	d->rings_open = false;
	if (d->netns_open)
		netns_watch_close(&d->netns);
	d->netns_open = false;
}

/* After a reload or a repair the BPF layer may have come or gone (layers changed). */
static int follow_layers(struct daemon *d)
{
	if (d->intent.st.loaded && !d->rings_open)
		return open_rings(d);
	if (!d->intent.st.loaded && d->rings_open)
		close_rings(d);
	return 0;
}

static void reload(struct daemon *d)
{
	struct loader_opts lo = {
		.pin_dir = d->opts->pin_dir,
		.cgroup = d->opts->cgroup,
		.no_self_test = d->opts->no_self_test,
	};
	struct tg_config cfg;

	if (cfg_load(d->opts->config, &cfg)) {
		pr_err("SIGHUP: config not reloaded; the guard keeps its previous policy\n");
		return;
	}
	if (layers_load(&cfg, &lo))
		pr_err("SIGHUP: reload failed; the guard keeps its previous policy\n");
	else
		pr_notice("SIGHUP: config reloaded\n");
	cfg_free(&cfg); /* its lists now live in the kernel's maps; a 100,000-tenant one is MiBs */
	if (read_intent(d->opts, &d->intent) == 0 && follow_layers(d))
		pr_warn("SIGHUP: cannot follow the guard's ring buffers\n");
	/* The policy may class uids differently now: the index follows it. */
	if (d->rings_open)
		owner_feed_rebuild(&d->feed, d->intent.policy, NULL, NULL, 0, true);
}

static int setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	pid_t holder = 0;
	int err;

	d->lock_fd = events_lock(d->opts->pin_dir, &holder);
	if (d->lock_fd < 0) {
		if (d->lock_fd == -EWOULDBLOCK)
			pr_err("another tunnelguard (pid %d) is reading the events of %s\n", holder,
			       d->opts->pin_dir);
		else
			pr_err("cannot take the events lock: %s\n", strerror(-d->lock_fd));
		return d->lock_fd;
	}
	take_stats_baseline(d);
	err = ensure_loaded(&d->nft, d->opts, &d->intent);
	if (err)
		return err;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->signal_fd < 0 || d->epoll_fd < 0)
		return -errno;
	ev.data.fd = d->signal_fd;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->signal_fd, &ev) < 0)
		return -errno;
	return follow_layers(d);
}

/* Without the BPF hooks' events, poll for listener changes (nft_watch.h). */
static bool watching(const struct daemon *d)
{
	return (!d->rings_open || d->fallback) && (d->intent.layers & TG_LAYER_NFT);
}

static void watch_poll(struct daemon *d)
{
	if (layers_nft_owner_check(d->opts->pin_dir) == 0)
		nft_watch_diag_to_nft(&d->watch, &d->nft, d->intent.policy);
}

int daemon_run(const struct daemon_opts *opts)
{
	struct daemon d = { .opts = opts, .signal_fd = -1, .epoll_fd = -1, .lock_fd = -1 };
	long long next_reconcile = 0, next_watch = 0;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	nft_handle_init(&d.nft, opts->pin_dir);
	err = setup(&d);
	if (err)
		goto cleanup;
	reconcile(&d, true);
	check_capacity(&d, true);
	report_suppressed(&d);
	next_reconcile = util_now_ms() + opts->interval_ms;
	notify_ready();
	pr_notice("daemon running: pin dir %s, reconciliation every %u ms\n", opts->pin_dir,
		  opts->interval_ms);
	for (;;) {
		struct epoll_event ev[4];
		long long until =
			watching(&d) && next_watch < next_reconcile ? next_watch : next_reconcile;

		if (d.next_cap_check < until)
			until = d.next_cap_check;
		long long wait = until - util_now_ms();
		int n = epoll_wait(d.epoll_fd, ev, 4, wait < 0 ? 0 : (int)wait);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			pr_err("epoll_wait: %s\n", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (d.rings_open && ev[i].data.fd == owner_feed_fd(&d.feed)) {
				owner_events_to_nft(&d.feed, d.intent.policy,
						    d.intent.layers & TG_LAYER_NFT ? &d.nft : NULL);
				continue;
			}
			if (d.netns_open && ev[i].data.fd == netns_watch_fd(&d.netns)) {
				if (netns_watch_poll(&d.netns))
					pr_info("cannot read the network namespace events\n");
				continue;
			}
			if (ev[i].data.fd != d.signal_fd) {
				if (d.rings_open)
					events_poll(&d.events, 0);
				continue;
			}
			if (read(d.signal_fd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(&d);
				continue;
			}
			pr_notice("signal %u: exiting; the guard stays in force\n", si.ssi_signo);
			if (d.rings_open)
				events_poll(&d.events, 0);
			goto cleanup;
		}
		if (util_now_ms() >= next_reconcile) {
			reconcile(&d, false);
			if (follow_layers(&d))
				pr_warn("cannot follow the guard's ring buffers\n");
			check_capacity(&d, true);
			d.next_cap_check = util_now_ms() + 1000;
			report_suppressed(&d);
			next_reconcile = util_now_ms() + opts->interval_ms;
			/* The sync rewrote the sets: the next poll starts from the listeners. */
			nft_watch_reset(&d.watch);
		}
		if (util_now_ms() >= d.next_cap_check) {
			if (check_capacity(&d, false))
				next_reconcile = util_now_ms();
			d.next_cap_check = util_now_ms() + 1000;
		}
		if (watching(&d) && util_now_ms() >= next_watch) {
			watch_poll(&d);
			next_watch = util_now_ms() + d.watch.period_ms;
		}
	}
cleanup:
	if (d.cap.pid)
		capacity_state_remove(opts->pin_dir);
	close_rings(&d);
	nft_watch_free(&d.watch);
	nft_handle_close(&d.nft);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	if (d.epoll_fd >= 0)
		close(d.epoll_fd);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return err;
}
