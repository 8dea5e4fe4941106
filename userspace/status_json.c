// SPDX-License-Identifier: GPL-2.0-only
/* status_json.c - `tunnelguard status --json` (status.h; shapes in README, JSON output). */
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

static void json_grant_ports(FILE *out, const struct tg_port_grant *g, const __u32 *order,
			     unsigned int i, unsigned int end)
{
	fputc('[', out);
	for (unsigned int k = i; k < end; k++) {
		const struct tg_port_grant *r = &g[order ? order[k] : k];

		fprintf(out, "%s{\"first\":%u,\"last\":%u}", k > i ? "," : "", r->first, r->last);
	}
	fputc(']', out);
}

static void print_json_grants(FILE *out, const struct guard_state *st)
{
	const struct tg_policy *p = &st->policy;
	__u32 *order = status_reservations_by_section(p);
	char user[64], name[TG_NAME_LEN + 1];
	unsigned int i, end;

	fprintf(out, ",\"bind_policy\":\"%s\",\"reservations\":[",
		cfg_bind_policy_name(p->bind_policy) ?: "?");
	for (i = 0; order && i < p->n_reservation; i = end) {
		const struct tg_port_grant *first = &p->reservation[order[i]];

		end = status_reservation_run(p, order, i);
		snprintf(name, sizeof(name), "%.*s", TG_NAME_LEN, status_section_name(p, order[i]));
		fputs(i ? ",{\"tenant\":" : "{\"tenant\":", out);
		quote_json_fputs(out, name);
		fputs(",\"user\":", out);
		json_name(out, status_user_of(first->uid, user, sizeof(user)));
		fprintf(out, ",\"uid\":%u,\"ports\":", first->uid);
		json_grant_ports(out, p->reservation, order, i, end);
		fputc('}', out);
	}
	free(order);
	fputs("],\"allow_rules\":[", out);
	for (i = 0; i < p->n_allow_rule; i++) {
		fputs(i ? ",{\"user\":" : "{\"user\":", out);
		json_name(out, status_user_of(p->allow_rule[i].uid, user, sizeof(user)));
		fprintf(out, ",\"uid\":%u,\"ports\":", p->allow_rule[i].uid);
		json_grant_ports(out, p->allow_rule, NULL, i, i + 1);
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
			r->nft.n_owners - status_count_service_owners(&r->nft),
			status_count_service_owners(&r->nft), r->nft.n_tunnel_ports,
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
	/* Read without the lock, a load being under way: who holds it (pid 0: not known). */
	if (r->load_busy)
		fprintf(out, ",\"busy\":{\"pid\":%d,\"stopped\":%s}", (int)r->load_holder.pid,
			r->load_holder.stopped ? "true" : "false");
	else
		fputs(",\"busy\":null", out);
	print_nft_json(out, r);
	if (!status_loaded(r)) {
		fputs("}\n", out);
		return;
	}
	fputs(",\"cgroup\":", out);
	json_name(out, st->cgroup);
	fprintf(out,
		",\"cgroup_id\":%llu,\"programs\":{\"connect4\":%u,\"connect6\":%u,\"bind4\":%u,\"bind6\":%u,\"syn_in\":%u,\"post_bind4\":%u,\"post_bind6\":%u,\"syn_out\":%u,\"sock_release\":%u}",
		st->cgroup_id, st->prog_id[0], st->prog_id[1], st->prog_id[2], st->prog_id[3],
		st->prog_id[4], st->prog_id[5], st->prog_id[6], st->prog_id[7], st->prog_id[8]);
	if (st->have_config) {
		fprintf(out, ",\"mode\":\"%s\",\"policy\":\"%s\",\"deny_errno\":\"%s\"",
			cfg_mode_name(st->policy.mode), cfg_policy_name(st->policy.policy),
			status_errno_label(guard_effective_errno(st)));
		fprintf(out, ",\"set_retval\":%s", st->use_set_retval ? "true" : "false");
		fputs(",\"tenant_uids\":", out);
		json_uid_ranges(out, st->policy.tenant, st->policy.n_tenant);
		fputs(",\"exempt_uids\":", out);
		json_uid_ranges(out, st->policy.exempt, st->policy.n_exempt);
		fputs(",\"allow_ports\":", out);
		json_port_ranges(out, st->policy.allow_port, st->policy.n_allow_port);
		print_json_grants(out, st);
	}
	status_format_unix_time(st->selftest.time_unix, buf, sizeof(buf));
	fprintf(out, ",\"self_test\":{\"result\":\"%s\",\"recorded\":\"%s\",\"time\":",
		st->selftest_stale ? "not run for the running programs"
				   : status_selftest_label(st->selftest.result),
		status_selftest_label(st->selftest.result));
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
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", status_stat_names[i], st->stats[i]);
	fputs("},\"refusals_by_stage\":{", out);
	for (i = 0; i < TG_STAGE_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", status_stage_names[i], st->stages[i]);
	fputc('}', out);
	print_capacity_json(out, r);
	status_print_tunnels_json(out, st, pin_dir);
	status_print_namespaces_json(out, st, pin_dir);
	fputs("}\n", out);
}
