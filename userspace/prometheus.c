// SPDX-License-Identifier: GPL-2.0-only
/*
 * prometheus.c - a status report in the Prometheus text exposition format (prometheus.h).
 *
 * Every family gets its HELP and TYPE lines before its samples, and each family's samples are
 * contiguous, as the format requires. Counters are the kernel's per-CPU counts summed, so they
 * only go back to zero when the guard is loaded anew (not on a swap), which Prometheus' rate()
 * treats as a counter reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "prometheus.h"
#include "status_internal.h"
#include "reasons.h"

/* Names and help of enum tg_stat; a stat added there without a line here is printed by number. */
static const struct {
	const char *name;
	const char *help;
} stats[TG_STAT_COUNT] = {
	[TG_STAT_EVENTS_RATE_LIMITED] = { "tunnelguard_events_rate_limited_total",
					  "Refusal events not sent because the caller uid exceeded its event rate (the connect counters stay exact)." },
	[TG_STAT_EVENTS_LOST] = { "tunnelguard_events_lost_total",
				  "Refusal events not sent because the ring buffer was full." },
	[TG_STAT_PORT_OWNER_FULL] = { "tunnelguard_port_owner_full_total",
				      "Listeners not recorded because the port_owner map was full." },
	[TG_STAT_OWNER_EVENTS_LOST] = { "tunnelguard_owner_events_lost_total",
					"Listener changes not sent to the daemon (none running, or it fell behind); its reconciliation covers them." },
	[TG_STAT_PORT_OWNER_UID_CAP] = { "tunnelguard_port_owner_uid_cap_total",
					 "Listeners not recorded because their uid holds a quarter of the port_owner map already." },
};

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s does not start one. */
static size_t utf8_sequence_length(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0; /* a continuation byte, an overlong lead (c0, c1) or beyond U+10FFFF */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void prometheus_label_value(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_sequence_length(p);

		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (n)
			fwrite(p, 1, n, out);
		else
			fputs("\xef\xbf\xbd", out); /* U+FFFD REPLACEMENT CHARACTER */
		p += n ? n : 1;
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(FILE *out, const char *name, const char *help, unsigned long long value)
{
	family(out, name, "gauge", help);
	fprintf(out, "%s %llu\n", name, value);
}

static void print_info(FILE *out, const struct guard_state *st)
{
	family(out, "tunnelguard_info", "gauge",
	       "Version of this tunnelguard and the mode, policy and refusal errno the loaded programs run (labels absent when nothing is loaded); always 1.");
	fputs("tunnelguard_info{version=\"", out);
	prometheus_label_value(out, TG_VERSION);
	if (st->loaded && st->have_config) {
		const char *errno_name = cfg_errno_name(guard_effective_errno(st));

		fprintf(out, "\",mode=\"%s\",policy=\"%s\",deny_errno=\"%s",
			cfg_mode_name(st->policy.mode), cfg_policy_name(st->policy.policy),
			errno_name ? errno_name : "unknown");
	}
	fputs("\"} 1\n", out);
}

static int compare_uid(const void *a, const void *b)
{
	const struct tunnel *x = a, *y = b;

	return x->listener.uid < y->listener.uid ? -1 : x->listener.uid > y->listener.uid;
}

/* One sample per tenant uid, in uid order, counting its listeners. */
static void print_tunnels(FILE *out, const struct status_report *r)
{
	struct tunnel *sorted;
	size_t i, start;

	gauge(out, "tunnelguard_tunnels_known",
	      "Whether the live listeners could be read through sock_diag (1); when 0, tunnelguard_tunnels is absent.",
	      r->tunnels_known);
	if (!r->tunnels_known)
		return;
	family(out, "tunnelguard_tunnels", "gauge",
	       "Live TCP listeners owned by each tenant uid (an ssh -R on 127.0.0.1 and ::1 is 2); uids without one are absent.");
	if (!r->tunnels.count)
		return;
	/* A copy, since the report is const and its tunnels are in port order. */
	sorted = malloc(r->tunnels.count * sizeof(*sorted));
	if (!sorted) {
		fputs("# tunnelguard_tunnels omitted: out of memory\n", out);
		return;
	}
	memcpy(sorted, r->tunnels.items, r->tunnels.count * sizeof(*sorted));
	qsort(sorted, r->tunnels.count, sizeof(*sorted), compare_uid);
	for (start = 0; start < r->tunnels.count; start = i) {
		for (i = start;
		     i < r->tunnels.count && sorted[i].listener.uid == sorted[start].listener.uid;
		     i++)
			;
		fprintf(out, "tunnelguard_tunnels{uid=\"%u\",user=\"", sorted[start].listener.uid);
		prometheus_label_value(out, sorted[start].user);
		fprintf(out, "\"} %zu\n", i - start);
	}
	free(sorted);
}

/* Which walls stand, and what the nft layer reset (its counters survive a reload). */
static void print_layers(FILE *out, const struct status_report *r)
{
	family(out, "tunnelguard_layer_up", "gauge",
	       "Whether a layer is in force: bpf (the pinned connect and bind hooks) or nft (table inet tunnelguard).");
	fprintf(out, "tunnelguard_layer_up{layer=\"bpf\"} %d\n", r->guard.loaded ? 1 : 0);
	fprintf(out, "tunnelguard_layer_up{layer=\"nft\"} %d\n", r->nft.present ? 1 : 0);
	family(out, "tunnelguard_layer_configured", "gauge",
	       "Whether the loaded guard's config names a layer (layers = bpf, nft or both), so that a layer down can be told from one never asked for.");
	fprintf(out, "tunnelguard_layer_configured{layer=\"bpf\"} %d\n",
		r->layers & TG_LAYER_BPF ? 1 : 0);
	fprintf(out, "tunnelguard_layer_configured{layer=\"nft\"} %d\n",
		r->layers & TG_LAYER_NFT ? 1 : 0);
	gauge(out, "tunnelguard_nft_drift_checked",
	      "Whether the nft table could be read here (1); 0 outside the guard's network namespace.",
	      r->nft_checked);
	if (!r->nft.present)
		return;
	family(out, "tunnelguard_nft_resets_total", "counter",
	       "Tenants' connection openings the nft layer reset (or logged, in audit mode), by rule.");
	fprintf(out, "tunnelguard_nft_resets_total{rule=\"tenant_to_tenant\"} %llu\n",
		(unsigned long long)r->nft.other_tenant.packets);
	fprintf(out, "tunnelguard_nft_resets_total{rule=\"tenant_to_service\"} %llu\n",
		(unsigned long long)r->nft.service.packets);
}

/* port_owner's size and use, and which fixed-size part is exceeded now (capacity.h). */
static void print_capacity(FILE *out, const struct status_report *r)
{
	const struct capacity_facts *c = &r->capacity;

	gauge(out, "tunnelguard_port_owner_max_entries",
	      "Listeners the port_owner map can hold (config key port-owner-max).",
	      c->port_owner_max);
	if (c->port_owner_known)
		gauge(out, "tunnelguard_port_owner_entries",
		      "Listeners the port_owner map holds now.", c->port_owner_entries);
	if (c->untracked_known)
		gauge(out, "tunnelguard_listeners_untracked",
		      "Live listeners the full port_owner map cannot hold (the nft sets are filled from sock_diag for them; raise port-owner-max).",
		      c->untracked);
	family(out, "tunnelguard_capacity_exceeded", "gauge",
	       "Whether a fixed-size part of the guard is exceeded now (1): port_owner full, a ring buffer that overflowed while the daemon read it, or an nft batch refused for its size even in parts (the last two for 10 minutes).");
	for (int i = 0; i < CAPACITY_COUNT; i++)
		fprintf(out, "tunnelguard_capacity_exceeded{resource=\"%s\"} %d\n",
			capacity_resource_name(i), r->findings.exceeded[i] ? 1 : 0);
	if (!c->have_daemon)
		return;
	family(out, "tunnelguard_daemon_lost_total", "counter",
	       "Ring buffer records lost while the running daemon read, since it started.");
	fprintf(out, "tunnelguard_daemon_lost_total{ring=\"events\"} %llu\n",
		c->daemon.events_lost);
	fprintf(out, "tunnelguard_daemon_lost_total{ring=\"owner_events\"} %llu\n",
		c->daemon.owner_events_lost);
	family(out, "tunnelguard_nft_batches_split_total", "counter",
	       "nft element batches the kernel refused for their size, sent again in parts, since the daemon started.");
	fprintf(out, "tunnelguard_nft_batches_split_total %llu\n", c->daemon.nft_batches_split);
	family(out, "tunnelguard_nft_batches_refused_total", "counter",
	       "Parts of split nft batches refused even so (the sets were incomplete), since the daemon started.");
	fprintf(out, "tunnelguard_nft_batches_refused_total %llu\n", c->daemon.nft_batches_refused);
}

void prometheus_print(FILE *out, const struct status_report *r)
{
	const struct guard_state *st = &r->guard;
	unsigned int i;

	print_info(out, st);
	gauge(out, "tunnelguard_loaded",
	      "Whether a guard is in force, by either layer (1) or not (0).", status_loaded(r));
	if (!status_loaded(r))
		return;
	gauge(out, "tunnelguard_complete",
	      "Whether every layer the guard was loaded with is whole (0: degraded, `tunnelguard load` repairs it).",
	      status_complete(r));
	print_layers(out, r);
	if (!st->loaded)
		return;
	gauge(out, "tunnelguard_selftest_ok",
	      "Whether the last load's self-test proved the guard refuses (1); 0 when it failed, was skipped, never ran, or proved other programs than the links run.",
	      st->selftest.result == TG_SELFTEST_PASSED && !st->selftest_stale);
	gauge(out, "tunnelguard_selftest_timestamp_seconds",
	      "When the last load's self-test ran, in seconds since the epoch; 0 when never.",
	      st->selftest.time_unix);
	gauge(out, "tunnelguard_drift_checked",
	      "Whether drift could be checked (1); 0 outside the guard's network namespace.",
	      r->drift_checked);
	gauge(out, "tunnelguard_drift_entries",
	      "Entries where the port_owner map or the nft sets disagree with the live listeners.",
	      r->drift_count);
	print_tunnels(out, r);
	print_capacity(out, r);
	family(out, "tunnelguard_connects_total", "counter",
	       "Tenant TCP connects since load, by decision (non-tenant connects are not counted; allow_not_tcp also counts tenants' binds of non-stream sockets).");
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		if (!tg_reason_is_bind(i))
			fprintf(out, "tunnelguard_connects_total{reason=\"%s\"} %llu\n",
				reason_name(i), st->counters[i]);
	family(out, "tunnelguard_binds_total", "counter",
	       "Tenant TCP binds since load, by decision, ports the kernel picked for bind(port 0) included (non-tenant binds are not counted).");
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		if (tg_reason_is_bind(i))
			fprintf(out, "tunnelguard_binds_total{reason=\"%s\"} %llu\n",
				reason_name(i), st->counters[i]);
	family(out, "tunnelguard_refusals_by_stage_total", "counter",
	       "Tenant connects and binds refused (or recorded, in audit mode), by where: at the connect() or bind() call, where the SYN met the listener, or after a bind to port 0.");
	for (i = 0; i < TG_STAGE_COUNT; i++)
		fprintf(out, "tunnelguard_refusals_by_stage_total{stage=\"%s\"} %llu\n",
			status_stage_names[i], st->stages[i]);
	for (i = 0; i < TG_STAT_COUNT; i++) {
		char name[64];

		if (stats[i].name)
			snprintf(name, sizeof(name), "%s", stats[i].name);
		else
			snprintf(name, sizeof(name), "tunnelguard_stat_%u_total", i);
		family(out, name, "counter",
		       stats[i].help ? stats[i].help : "A kernel statistic (enum tg_stat).");
		fprintf(out, "%s %llu\n", name, st->stats[i]);
	}
}
