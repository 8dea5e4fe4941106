// SPDX-License-Identifier: GPL-2.0-only
/* status_text.c - `tunnelguard status` for a person (status.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tg_maps.h"

#include "config.h"
#include "escape.h"
#include "layers.h"
#include "quote.h"
#include "reasons.h"
#include "mounts.h"
#include "status.h"
#include "status_internal.h"
#include "status_netns.h"
#include "status_tunnels.h"
#include "util.h"

/* The ports of reservations order[i..end) (or of allow_rule i alone), as the config writes them. */
static void grant_ports(const struct tg_port_grant *g, const __u32 *order, unsigned int i,
			unsigned int end, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int k = i; k < end && used < len; k++) {
		const struct tg_port_grant *r = &g[order ? order[k] : k];
		int n = r->first == r->last ? snprintf(buf + used, len - used, "%s%u",
						       k > i ? ", " : "", r->first)
					    : snprintf(buf + used, len - used, "%s%u-%u",
						       k > i ? ", " : "", r->first, r->last);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static void print_text_grants(FILE *out, const struct guard_state *st)
{
	const struct tg_policy *p = &st->policy;
	__u32 *order = status_reservations_by_section(p);
	char ports[512], user[64];
	unsigned int i, end, shown = 0;

	fprintf(out, "  bind policy: %s\n", cfg_bind_policy_name(p->bind_policy) ?: "?");
	fprintf(out, "  reservations:%s\n", p->n_reservation ? "" : " (none)");
	for (i = 0; order && i < p->n_reservation; i = end, shown++) {
		end = status_reservation_run(p, order, i);
		if (shown >= STATUS_MAX_SECTIONS_SHOWN)
			continue;
		grant_ports(p->reservation, order, i, end, ports, sizeof(ports));
		fprintf(out, "    [tenant %.*s] user %s uid %u ports %s\n", TG_NAME_LEN,
			status_section_name(p, order[i]),
			status_user_of(p->reservation[order[i]].uid, user, sizeof(user))[0] ? user
											    : "-",
			p->reservation[order[i]].uid, ports);
	}
	if (shown > STATUS_MAX_SECTIONS_SHOWN)
		fprintf(out,
			"    ... and %u more [tenant] sections (status --json lists them all)\n",
			shown - STATUS_MAX_SECTIONS_SHOWN);
	free(order);
	fprintf(out, "  allow rules:%s\n", p->n_allow_rule ? "" : " (none)");
	for (i = 0; i < p->n_allow_rule; i++) {
		if (i == STATUS_MAX_SECTIONS_SHOWN) {
			fprintf(out, "    ... and %u more (status --json lists them all)\n",
				p->n_allow_rule - i);
			break;
		}
		grant_ports(p->allow_rule, NULL, i, i + 1, ports, sizeof(ports));
		fprintf(out, "    user %s uid %u may reach ports %s\n",
			status_user_of(p->allow_rule[i].uid, user, sizeof(user))[0] ? user : "-",
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
		r->nft.n_owners - status_count_service_owners(&r->nft), r->nft.n_tunnel_ports,
		status_count_service_owners(&r->nft), r->nft.n_service_ports);
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

/* Read without the lock: a load, unload or repair was under way all the while status waited. */
static void print_load_busy(FILE *out, const struct status_report *r)
{
	char pid[32] = "";

	if (!r->load_busy)
		return;
	if (r->load_holder.pid)
		snprintf(pid, sizeof(pid), " (pid %d)", (int)r->load_holder.pid);
	if (r->load_holder.stopped)
		fprintf(out,
			"  busy:        a load, unload or repair%s is stopped holding the load lock: this is the state it left so far\n",
			pid);
	else
		fprintf(out,
			"  busy:        a load, unload or repair%s has held the load lock for over %d s: this is the state mid-way\n",
			pid, STATUS_LOCK_WAIT_MS / 1000);
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
		print_load_busy(out, r);
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
	print_load_busy(out, r);
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
			"  programs:    connect4 id %u, connect6 id %u, bind4 id %u, bind6 id %u, syn_in id %u, post_bind4 id %u, post_bind6 id %u, syn_out id %u, sock_release id %u\n",
			st->prog_id[0], st->prog_id[1], st->prog_id[2], st->prog_id[3],
			st->prog_id[4], st->prog_id[5], st->prog_id[6], st->prog_id[7],
			st->prog_id[8]);
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
		fprintf(out, "  deny errno:  %s%s\n", status_errno_label(guard_effective_errno(st)),
			st->use_set_retval ? "" : " (kernel lacks bpf_set_retval)");
		/* The kernel holds the restricted uids: exempt-uids are already taken out. */
		cfg_format_uid_ranges(st->policy.tenant, st->policy.n_tenant, buf, sizeof(buf));
		fprintf(out, "  tenant uids: %s%s\n", buf[0] ? buf : "(none)",
			buf[0] ? " (exempt-uids taken out)" : "");
		cfg_format_port_ranges(st->policy.allow_port, st->policy.n_allow_port, buf,
				       sizeof(buf));
		fprintf(out, "  allow ports: %s\n", buf[0] ? buf : "(none)");
		print_text_grants(out, st);
	}
	status_format_unix_time(st->selftest.time_unix, buf, sizeof(buf));
	if (st->loaded && st->selftest_stale)
		fprintf(out,
			"  self-test:   not run for the running programs (the last record, %s at %s, is of other programs)\n",
			status_selftest_label(st->selftest.result), buf);
	else if (st->loaded)
		fprintf(out, "  self-test:   %s at %s\n",
			status_selftest_label(st->selftest.result), buf);
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
	status_print_tunnels_text(out, st, pin_dir);
	fprintf(out, "  refusals by stage:");
	for (i = 0; i < TG_STAGE_COUNT; i++)
		fprintf(out, "%s %s %llu", i ? "," : "", status_stage_names[i], st->stages[i]);
	fputc('\n', out);
	fprintf(out, "  counters (tenant connects and binds since load):\n");
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		fprintf(out, "    %-22s %llu\n", reason_name(i), st->counters[i]);
	for (i = 0; i < TG_STAT_COUNT; i++)
		fprintf(out, "    %-22s %llu\n", status_stat_names[i], st->stats[i]);
}

/* A name, or null when it is unknown (""). */
