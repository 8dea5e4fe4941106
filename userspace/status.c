// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
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
#include "sync.h"
#include "pins.h"
#include "util.h"

static const char *const stat_names[TG_STAT_COUNT] = {
	[TG_STAT_EVENTS_RATE_LIMITED] = "events_rate_limited",
	[TG_STAT_EVENTS_LOST] = "events_lost",
	[TG_STAT_PORT_OWNER_FULL] = "port_owner_full",
	[TG_STAT_OWNER_EVENTS_LOST] = "owner_events_lost",
};

/* enum tg_stage, as status and the Prometheus label name them. */
static const char *const stage_names[TG_STAGE_COUNT] = {
	[TG_STAGE_SYSCALL] = "syscall",
	[TG_STAGE_SYN] = "syn",
	[TG_STAGE_POST_BIND] = "post_bind",
};

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

static void collect_drift(const char *pin_dir, struct status_report *r,
			  const struct diag_list *listeners)
{
	struct sync_report report = { .on_drift = note_drift, .ctx = r };
	int fd = pins_open(pin_dir, TG_PIN_PORT_OWNER);

	if (fd < 0)
		return; /* reported as a missing pin */
	if (sync_port_owner_from_listeners(fd, true, &report, listeners, NULL) == 0) {
		r->capacity.port_owner_known = r->capacity.port_owner_max != 0;
		r->capacity.port_owner_entries = report.entries;
		r->capacity.untracked_known = true;
		r->capacity.untracked = report.untracked;
	}
	close(fd);
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

int status_collect_view(const char *pin_dir, enum status_view view, struct status_report *r)
{
	struct tunnels_job tunnels = {};
	struct diag_list listeners = {};
	struct nft_handle nft;
	char *line;
	int err;

	memset(r, 0, sizeof(*r));
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
		r->guard.policy.n_tenant = (__u32)nft_state_tenant_ranges(
			&r->nft, r->guard.policy.tenant, TG_MAX_RANGES);
		if (r->guard.policy.n_tenant > TG_MAX_RANGES)
			r->guard.policy.n_tenant = TG_MAX_RANGES;
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

void status_free(struct status_report *r)
{
	tunnels_free(&r->tunnels);
	nft_state_free(&r->nft);
}

static size_t count_service_owners(const struct nft_state *nft)
{
	size_t n = 0;

	for (size_t i = 0; i < nft->n_owners; i++)
		n += !nft->owners[i].tenant;
	return n;
}

static const char *selftest_label(unsigned int result)
{
	static const char *const labels[] = { "never run", "passed", "FAILED", "skipped" };

	return result < ARRAY_SIZE(labels) ? labels[result] : "?";
}

static void format_unix_time(unsigned long long t, char *buf, size_t len)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&secs, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

static const char *errno_label(unsigned int e)
{
	return e == 111 ? "ECONNREFUSED" : e == 1 ? "EPERM" : "?";
}

static const char *user_of(unsigned int uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "");
	return buf;
}

/* Reservations are stored one port range each; a [tenant] section's ranges are adjacent. */
static unsigned int reservation_run(const struct guard_state *st, unsigned int i)
{
	unsigned int end = i + 1;

	while (end < st->policy.n_reservation && end < TG_MAX_RESERVATIONS &&
	       st->policy.reservation[end].uid == st->policy.reservation[i].uid &&
	       strncmp(st->names.reservation[end], st->names.reservation[i], TG_NAME_LEN) == 0)
		end++;
	return end;
}

static void grant_ports(const struct tg_port_grant *g, unsigned int n, char *buf, size_t len)
{
	struct tg_port_range r[TG_MAX_RESERVATIONS];

	for (unsigned int i = 0; i < n && i < TG_MAX_RESERVATIONS; i++)
		r[i] = (struct tg_port_range){ g[i].first, g[i].last };
	cfg_format_port_ranges(r, n, buf, len);
}

static void print_text_grants(FILE *out, const struct guard_state *st)
{
	const struct tg_policy *p = &st->policy;
	char ports[512], user[64];
	unsigned int i, end;

	fprintf(out, "  bind policy: %s\n", cfg_bind_policy_name(p->bind_policy) ?: "?");
	fprintf(out, "  reservations:%s\n", p->n_reservation ? "" : " (none)");
	for (i = 0; i < p->n_reservation && i < TG_MAX_RESERVATIONS; i = end) {
		end = reservation_run(st, i);
		grant_ports(&p->reservation[i], end - i, ports, sizeof(ports));
		fprintf(out, "    [tenant %.*s] user %s uid %u ports %s\n", TG_NAME_LEN,
			st->names.reservation[i],
			user_of(p->reservation[i].uid, user, sizeof(user))[0] ? user : "-",
			p->reservation[i].uid, ports);
	}
	fprintf(out, "  allow rules:%s\n", p->n_allow_rule ? "" : " (none)");
	for (i = 0; i < p->n_allow_rule && i < TG_MAX_ALLOW_RULES; i++) {
		grant_ports(&p->allow_rule[i], 1, ports, sizeof(ports));
		fprintf(out, "    user %s uid %u may reach ports %s\n",
			user_of(p->allow_rule[i].uid, user, sizeof(user))[0] ? user : "-",
			p->allow_rule[i].uid, ports);
	}
}

static void endpoint_of(const struct tunnel *t, char *buf, size_t len)
{
	tunnels_format_endpoint(t->listener.family, t->listener.ip, t->listener.port, buf, len);
}

static void print_nft_text(FILE *out, const struct status_report *r)
{
	char foreign[ESCAPE_SIZE(sizeof(r->nft_foreign_owner))];

	if (!r->nft_checked) {
		fprintf(out,
			"  nft layer:   not checked: run status in the network namespace the guard was loaded from\n");
		return;
	}
	if (!r->nft.present) {
		fprintf(out, "  nft layer:   %s%s%s\n",
			r->layers & TG_LAYER_NFT ? "MISSING" : "not loaded (layers = bpf)",
			r->nft_foreign_owner[0]
				? "; this namespace's table belongs to the guard of pin dir "
				: "",
			escape_text(foreign, sizeof(foreign), r->nft_foreign_owner));
		return;
	}
	fprintf(out,
		"  nft layer:   table inet tunnelguard: %zu tenant listeners on %zu ports, %zu service listeners on %zu ports\n",
		r->nft.n_owners - count_service_owners(&r->nft), r->nft.n_tunnel_ports,
		count_service_owners(&r->nft), r->nft.n_service_ports);
}

/* port_owner's use, and each finding in words: "CAPACITY EXCEEDED: port_owner is full ...". */
static void print_capacity_text(FILE *out, const struct status_report *r)
{
	const struct capacity_facts *c = &r->capacity;
	char a[32], b[32];

	if (c->port_owner_known)
		fprintf(out, "  port_owner:  %s of %s entries (port-owner-max)\n",
			capacity_number(c->port_owner_entries, a, sizeof(a)),
			capacity_number(c->port_owner_max, b, sizeof(b)));
	for (unsigned int i = 0; i < r->findings.n_notes; i++)
		fprintf(out, "  capacity:    %s\n", r->findings.notes[i]);
	for (int i = 0; i < CAPACITY_COUNT; i++)
		if (r->findings.exceeded[i])
			fprintf(out, "  CAPACITY EXCEEDED: %s (status exits 1)\n",
				capacity_resource_name(i));
}

void status_print_text(FILE *out, const struct status_report *r, const char *pin_dir)
{
	const struct guard_state *st = &r->guard;
	char user[ESCAPE_SIZE(sizeof(r->tunnels.items[0].user))];
	char process[ESCAPE_SIZE(sizeof(r->tunnels.items[0].process))];
	char cgroup[ESCAPE_SIZE(sizeof(st->cgroup))];
	char foreign[ESCAPE_SIZE(sizeof(r->nft_foreign_owner))];
	char buf[1024];
	unsigned int i;

	/* The pin dir another guard wrote into the table's comment. */
	escape_text(foreign, sizeof(foreign), r->nft_foreign_owner);
	if (!status_loaded(r)) {
		if (r->nft_foreign_owner[0])
			fprintf(out,
				"tunnelguard: not loaded (pin dir %s; this namespace's table inet tunnelguard belongs to the guard of pin dir %s)\n",
				pin_dir, foreign);
		else
			fprintf(out,
				"tunnelguard: not loaded (pin dir %s, no table inet tunnelguard)\n",
				pin_dir);
		if (mounts_is_bpffs(MOUNTS_BPFFS_ROOT) != 1)
			fprintf(out,
				"  no bpffs is mounted on " MOUNTS_BPFFS_ROOT
				": no BPF guard can be pinned here; `tunnelguard load` mounts one (or: mount -t bpf bpf " MOUNTS_BPFFS_ROOT
				")\n");
		return;
	}
	fprintf(out, "tunnelguard: %s\n",
		!status_complete(r)		  ? "DEGRADED"
		: capacity_exceeded(&r->findings) ? "loaded, CAPACITY EXCEEDED"
		: r->drift_count		  ? "loaded, with drift"
						  : "loaded");
	fprintf(out, "  layers:      %s\n", layers_name(r->layers));
	if (st->missing[0] && (st->loaded || (r->layers & TG_LAYER_BPF)))
		fprintf(out, "  missing:     %s (run `tunnelguard load` to repair)\n", st->missing);
	if (st->detached[0] && st->loaded)
		fprintf(out,
			"  detached:    %s: the link is gone and its hook enforces nothing until `tunnelguard load` attaches it again\n",
			st->detached);
	if (st->inconsistent[0])
		fprintf(out,
			"  interrupted: %s do not match the programs in force (a load was interrupted: run `tunnelguard load`)\n",
			st->inconsistent);
	if (r->nft_missing)
		fprintf(out,
			"  missing:     table inet tunnelguard (run `tunnelguard load`; the daemon puts it back)\n");
	if (st->loaded) {
		fprintf(out, "  pin dir:     %s\n", pin_dir);
		fprintf(out, "  cgroup:      %s (id %llu)\n",
			st->cgroup[0] ? escape_text(cgroup, sizeof(cgroup), st->cgroup) : "?",
			st->cgroup_id);
		fprintf(out,
			"  programs:    connect4 id %u, connect6 id %u, bind4 id %u, bind6 id %u, syn_in id %u, post_bind4 id %u, post_bind6 id %u, syn_out id %u\n",
			st->prog_id[0], st->prog_id[1], st->prog_id[2], st->prog_id[3],
			st->prog_id[4], st->prog_id[5], st->prog_id[6], st->prog_id[7]);
	}
	print_nft_text(out, r);
	if (!st->loaded) {
		cfg_format_uid_ranges(st->policy.tenant, st->policy.n_tenant, buf, sizeof(buf));
		fprintf(out, "  tenant uids: %s (the nft set tenant_uids)\n",
			buf[0] ? buf : "(none)");
	}
	if (st->have_config) {
		fprintf(out, "  mode:        %s\n", cfg_mode_name(st->policy.mode));
		fprintf(out, "  policy:      %s\n", cfg_policy_name(st->policy.policy));
		fprintf(out, "  deny errno:  %s%s\n", errno_label(guard_effective_errno(st)),
			st->use_set_retval ? "" : " (kernel lacks bpf_set_retval)");
		cfg_format_uid_ranges(st->policy.tenant, st->policy.n_tenant, buf, sizeof(buf));
		fprintf(out, "  tenant uids: %s\n", buf[0] ? buf : "(none)");
		cfg_format_uid_ranges(st->policy.exempt, st->policy.n_exempt, buf, sizeof(buf));
		fprintf(out, "  exempt uids: %s\n", buf[0] ? buf : "(none)");
		cfg_format_port_ranges(st->policy.allow_port, st->policy.n_allow_port, buf,
				       sizeof(buf));
		fprintf(out, "  allow ports: %s\n", buf[0] ? buf : "(none)");
		print_text_grants(out, st);
	}
	format_unix_time(st->selftest.time_unix, buf, sizeof(buf));
	if (st->loaded && st->selftest_stale)
		fprintf(out,
			"  self-test:   not run for the running programs (the last record, %s at %s, is of other programs)\n",
			selftest_label(st->selftest.result), buf);
	else if (st->loaded)
		fprintf(out, "  self-test:   %s at %s\n", selftest_label(st->selftest.result), buf);
	fprintf(out, "  tunnels:%s\n",
		!r->tunnels_known  ? " (unknown: sock_diag failed)"
		: r->tunnels.count ? ""
				   : " (none)");
	for (size_t t = 0; t < r->tunnels.count && t < STATUS_MAX_TUNNELS_SHOWN; t++) {
		const struct tunnel *tn = &r->tunnels.items[t];

		endpoint_of(tn, buf, sizeof(buf));
		/* A tenant names its own processes: no escape sequence of theirs reaches a tty. */
		escape_text(user, sizeof(user), tn->user[0] ? tn->user : "-");
		escape_text(process, sizeof(process), tn->process[0] ? tn->process : "-");
		fprintf(out, "    %-24s uid %-6u %-12s pid %-7d %s\n", buf, tn->listener.uid, user,
			tn->pid, process);
	}
	print_capacity_text(out, r);
	if (r->tunnels.count > STATUS_MAX_TUNNELS_SHOWN)
		fprintf(out, "    ... and %zu more tunnels (status --json lists every one)\n",
			r->tunnels.count - STATUS_MAX_TUNNELS_SHOWN);
	if (!r->drift_checked)
		fprintf(out,
			"  drift:       not checked: run status in the network namespace the guard was loaded from\n");
	for (i = 0; i < r->drift_count && i < STATUS_MAX_DRIFT; i++)
		fprintf(out, "  drift: %s\n", r->drift[i]);
	if (r->drift_count > STATUS_MAX_DRIFT)
		fprintf(out, "  drift: ... and %u more\n", r->drift_count - STATUS_MAX_DRIFT);
	if (r->nft.present) {
		fprintf(out,
			"  nft counters (connection openings reset, or logged in audit mode):\n");
		fprintf(out, "    %-20s %llu packets\n", "tenant_to_tenant",
			(unsigned long long)r->nft.other_tenant.packets);
		fprintf(out, "    %-20s %llu packets\n", "tenant_to_service",
			(unsigned long long)r->nft.service.packets);
	}
	if (!st->loaded)
		return;
	status_print_namespaces_text(out, st, pin_dir);
	fprintf(out, "  refusals by stage:");
	for (i = 0; i < TG_STAGE_COUNT; i++)
		fprintf(out, "%s %s %llu", i ? "," : "", stage_names[i], st->stages[i]);
	fputc('\n', out);
	fprintf(out, "  counters (tenant connects and binds since load):\n");
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		fprintf(out, "    %-22s %llu\n", reason_name(i), st->counters[i]);
	for (i = 0; i < TG_STAT_COUNT; i++)
		fprintf(out, "    %-22s %llu\n", stat_names[i], st->stats[i]);
}

/* A name, or null when it is unknown (""). */
static void json_name(FILE *out, const char *s)
{
	quote_json_fputs(out, s && s[0] ? s : NULL);
}

/* Space-separated words as an array of strings: "a b" -> ["a","b"]. */
static void json_words(FILE *out, const char *words)
{
	char word[256];
	bool first = true;

	fputc('[', out);
	while (*words) {
		size_t n = strcspn(words, " ");

		if (n) {
			snprintf(word, sizeof(word), "%.*s", (int)n, words);
			fputs(first ? "" : ",", out);
			quote_json_fputs(out, word);
			first = false;
		}
		words += n + (words[n] == ' ');
	}
	fputc(']', out);
}

/* Ranges as [{"first":2001,"last":2003},{"first":2005,"last":2005}]. */
static void json_uid_ranges(FILE *out, const struct tg_uid_range *r, unsigned int n)
{
	fputc('[', out);
	for (unsigned int i = 0; i < n; i++)
		fprintf(out, "%s{\"first\":%u,\"last\":%u}", i ? "," : "", r[i].first, r[i].last);
	fputc(']', out);
}

static void json_port_ranges(FILE *out, const struct tg_port_range *r, unsigned int n)
{
	fputc('[', out);
	for (unsigned int i = 0; i < n; i++)
		fprintf(out, "%s{\"first\":%u,\"last\":%u}", i ? "," : "", r[i].first, r[i].last);
	fputc(']', out);
}

static void json_grant_ports(FILE *out, const struct tg_port_grant *g, unsigned int n)
{
	struct tg_port_range r[TG_MAX_RESERVATIONS];

	for (unsigned int i = 0; i < n && i < TG_MAX_RESERVATIONS; i++)
		r[i] = (struct tg_port_range){ g[i].first, g[i].last };
	json_port_ranges(out, r, n < TG_MAX_RESERVATIONS ? n : TG_MAX_RESERVATIONS);
}

static void print_json_grants(FILE *out, const struct guard_state *st)
{
	const struct tg_policy *p = &st->policy;
	char user[64], name[TG_NAME_LEN + 1];
	unsigned int i, end;

	fprintf(out, ",\"bind_policy\":\"%s\",\"reservations\":[",
		cfg_bind_policy_name(p->bind_policy) ?: "?");
	for (i = 0; i < p->n_reservation && i < TG_MAX_RESERVATIONS; i = end) {
		end = reservation_run(st, i);
		snprintf(name, sizeof(name), "%.*s", TG_NAME_LEN, st->names.reservation[i]);
		fputs(i ? ",{\"tenant\":" : "{\"tenant\":", out);
		quote_json_fputs(out, name);
		fputs(",\"user\":", out);
		json_name(out, user_of(p->reservation[i].uid, user, sizeof(user)));
		fprintf(out, ",\"uid\":%u,\"ports\":", p->reservation[i].uid);
		json_grant_ports(out, &p->reservation[i], end - i);
		fputc('}', out);
	}
	fputs("],\"allow_rules\":[", out);
	for (i = 0; i < p->n_allow_rule && i < TG_MAX_ALLOW_RULES; i++) {
		fputs(i ? ",{\"user\":" : "{\"user\":", out);
		json_name(out, user_of(p->allow_rule[i].uid, user, sizeof(user)));
		fprintf(out, ",\"uid\":%u,\"ports\":", p->allow_rule[i].uid);
		json_grant_ports(out, &p->allow_rule[i], 1);
		fputc('}', out);
	}
	fputc(']', out);
}

static void print_json_tunnels(FILE *out, const struct status_report *r)
{
	char ip[INET6_ADDRSTRLEN];

	fputs(",\"tunnels\":[", out);
	for (size_t t = 0; t < r->tunnels.count; t++) {
		const struct tunnel *tn = &r->tunnels.items[t];

		inet_ntop(tn->listener.family, tn->listener.ip, ip, sizeof(ip));
		fprintf(out, "%s{\"addr\":\"%s\",\"port\":%u,\"uid\":%u,\"user\":", t ? "," : "",
			ip, tn->listener.port, tn->listener.uid);
		json_name(out, tn->user);
		/* pid and process are null when no process could be found (no CAP_SYS_PTRACE?) */
		if (tn->pid > 0)
			fprintf(out, ",\"pid\":%d,\"process\":", tn->pid);
		else
			fputs(",\"pid\":null,\"process\":", out);
		json_name(out, tn->process);
		fputc('}', out);
	}
	fputs("],\"drift\":[", out);
	for (unsigned int i = 0; i < r->drift_count && i < STATUS_MAX_DRIFT; i++) {
		fputs(i ? "," : "", out);
		quote_json_fputs(out, r->drift[i]);
	}
	fprintf(out, "],\"drift_count\":%u,\"drift_checked\":%s", r->drift_count,
		r->drift_checked ? "true" : "false");
}

static void print_nft_json(FILE *out, const struct status_report *r)
{
	fprintf(out, ",\"nft\":{\"checked\":%s,\"present\":%s,\"missing\":%s,\"owner_pin_dir\":",
		r->nft_checked ? "true" : "false", r->nft.present ? "true" : "false",
		r->nft_missing ? "true" : "false");
	/* Another guard's table in this namespace: its pin dir; null otherwise. */
	json_name(out, r->nft_foreign_owner);
	if (r->nft.present)
		fprintf(out,
			",\"tenant_listeners\":%zu,\"service_listeners\":%zu,\"tunnel_ports\":%zu,"
			"\"service_ports\":%zu,"
			"\"counters\":{\"tenant_to_tenant\":{\"packets\":%llu,\"bytes\":%llu},"
			"\"tenant_to_service\":{\"packets\":%llu,\"bytes\":%llu}}",
			r->nft.n_owners - count_service_owners(&r->nft),
			count_service_owners(&r->nft), r->nft.n_tunnel_ports,
			r->nft.n_service_ports, (unsigned long long)r->nft.other_tenant.packets,
			(unsigned long long)r->nft.other_tenant.bytes,
			(unsigned long long)r->nft.service.packets,
			(unsigned long long)r->nft.service.bytes);
	fputc('}', out);
}

static void print_capacity_json(FILE *out, const struct status_report *r)
{
	const struct capacity_facts *c = &r->capacity;

	fprintf(out, ",\"capacity\":{\"port_owner_max\":%u,\"port_owner_entries\":%zu,",
		c->port_owner_max, c->port_owner_entries);
	if (c->untracked_known)
		fprintf(out, "\"untracked_listeners\":%zu,", c->untracked);
	else
		fputs("\"untracked_listeners\":null,", out);
	fputs("\"exceeded\":[", out);
	for (int i = 0, n = 0; i < CAPACITY_COUNT; i++)
		if (r->findings.exceeded[i])
			fprintf(out, "%s\"%s\"", n++ ? "," : "", capacity_resource_name(i));
	fputs("],\"notes\":[", out);
	for (unsigned int i = 0; i < r->findings.n_notes; i++) {
		fputs(i ? "," : "", out);
		quote_json_fputs(out, r->findings.notes[i]);
	}
	fputs("]}", out);
}

void status_print_json(FILE *out, const struct status_report *r, const char *pin_dir)
{
	const struct guard_state *st = &r->guard;
	char buf[1024];
	unsigned int i;

	fprintf(out,
		"{\"loaded\":%s,\"complete\":%s,\"layers\":", status_loaded(r) ? "true" : "false",
		status_complete(r) && status_loaded(r) ? "true" : "false");
	json_words(out, (r->layers & (TG_LAYER_BPF | TG_LAYER_NFT)) ? layers_name(r->layers) : "");
	fputs(",\"pin_dir\":", out);
	quote_json_fputs(out, pin_dir);
	fputs(",\"missing\":", out);
	json_words(out, st->missing);
	fputs(",\"detached\":", out);
	json_words(out, st->loaded ? st->detached : "");
	fputs(",\"inconsistent\":", out);
	json_words(out, st->inconsistent);
	print_nft_json(out, r);
	if (!status_loaded(r)) {
		fputs("}\n", out);
		return;
	}
	fputs(",\"cgroup\":", out);
	json_name(out, st->cgroup);
	fprintf(out,
		",\"cgroup_id\":%llu,\"programs\":{\"connect4\":%u,\"connect6\":%u,\"bind4\":%u,\"bind6\":%u,\"syn_in\":%u,\"post_bind4\":%u,\"post_bind6\":%u,\"syn_out\":%u}",
		st->cgroup_id, st->prog_id[0], st->prog_id[1], st->prog_id[2], st->prog_id[3],
		st->prog_id[4], st->prog_id[5], st->prog_id[6], st->prog_id[7]);
	if (st->have_config) {
		fprintf(out, ",\"mode\":\"%s\",\"policy\":\"%s\",\"deny_errno\":\"%s\"",
			cfg_mode_name(st->policy.mode), cfg_policy_name(st->policy.policy),
			errno_label(guard_effective_errno(st)));
		fprintf(out, ",\"set_retval\":%s", st->use_set_retval ? "true" : "false");
		fputs(",\"tenant_uids\":", out);
		json_uid_ranges(out, st->policy.tenant, st->policy.n_tenant);
		fputs(",\"exempt_uids\":", out);
		json_uid_ranges(out, st->policy.exempt, st->policy.n_exempt);
		fputs(",\"allow_ports\":", out);
		json_port_ranges(out, st->policy.allow_port, st->policy.n_allow_port);
		print_json_grants(out, st);
	}
	format_unix_time(st->selftest.time_unix, buf, sizeof(buf));
	fprintf(out, ",\"self_test\":{\"result\":\"%s\",\"recorded\":\"%s\",\"time\":",
		st->selftest_stale ? "not run for the running programs"
				   : selftest_label(st->selftest.result),
		selftest_label(st->selftest.result));
	json_name(out, st->selftest.time_unix ? buf : NULL); /* null: never run */
	fprintf(out, ",\"probe_errno\":%u,\"programs\":[", st->selftest.probe_errno);
	for (i = 0; i < TG_SELFTEST_PROGS; i++)
		fprintf(out, "%s%u", i ? "," : "", st->selftest.prog_id[i]);
	fputs("]}", out);
	print_json_tunnels(out, r);
	fputs(",\"counters\":{", out);
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i == TG_ALLOW_NOT_TENANT + 1 ? "" : ",",
			reason_name(i), st->counters[i]);
	fputs("},\"stats\":{", out);
	for (i = 0; i < TG_STAT_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", stat_names[i], st->stats[i]);
	fputs("},\"refusals_by_stage\":{", out);
	for (i = 0; i < TG_STAGE_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", stage_names[i], st->stages[i]);
	fputc('}', out);
	print_capacity_json(out, r);
	status_print_namespaces_json(out, st, pin_dir);
	fputs("}\n", out);
}
