// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "config.h"
#include "reasons.h"
#include "status.h"

int status_exit_code(const struct guard_state *st)
{
	if (!st->loaded)
		return STATUS_NOT_LOADED;
	return st->complete ? STATUS_LOADED : STATUS_DEGRADED;
}

static const char *errno_label(unsigned int e)
{
	return e == 111 ? "ECONNREFUSED" : e == 1 ? "EPERM" : "?";
}

void status_print_text(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	char buf[1024];
	unsigned int i;

	if (!st->loaded) {
		fprintf(out, "tunnelguard: not loaded (pin dir %s)\n", pin_dir);
		return;
	}
	fprintf(out, "tunnelguard: %s\n", st->complete ? "loaded" : "DEGRADED");
	if (!st->complete)
		fprintf(out, "  missing:     %s (run `tunnelguard load` to repair)\n", st->missing);
	fprintf(out, "  pin dir:     %s\n", pin_dir);
	fprintf(out, "  cgroup:      %s (id %llu)\n", st->cgroup[0] ? st->cgroup : "?",
		st->cgroup_id);
	fprintf(out, "  programs:    connect4 id %u, connect6 id %u\n", st->prog_id[0],
		st->prog_id[1]);
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
	}
	fprintf(out, "  counters (tenant connects since load):\n");
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		fprintf(out, "    %-20s %llu\n", reason_name(i), st->counters[i]);
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void status_print_json(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	char buf[1024];
	unsigned int i;

	fprintf(out, "{\"loaded\":%s,\"complete\":%s,\"pin_dir\":", st->loaded ? "true" : "false",
		st->complete ? "true" : "false");
	json_string(out, pin_dir);
	fputs(",\"missing\":", out);
	json_string(out, st->missing);
	if (!st->loaded) {
		fputs("}\n", out);
		return;
	}
	fputs(",\"cgroup\":", out);
	json_string(out, st->cgroup);
	fprintf(out, ",\"cgroup_id\":%llu,\"programs\":{\"connect4\":%u,\"connect6\":%u}",
		st->cgroup_id, st->prog_id[0], st->prog_id[1]);
	if (st->have_config) {
		fprintf(out, ",\"mode\":\"%s\",\"policy\":\"%s\",\"deny_errno\":\"%s\"",
			cfg_mode_name(st->policy.mode), cfg_policy_name(st->policy.policy),
			errno_label(guard_effective_errno(st)));
		fprintf(out, ",\"set_retval\":%s", st->use_set_retval ? "true" : "false");
		cfg_format_uid_ranges(st->policy.tenant, st->policy.n_tenant, buf, sizeof(buf));
		fputs(",\"tenant_uids\":", out);
		json_string(out, buf);
		cfg_format_uid_ranges(st->policy.exempt, st->policy.n_exempt, buf, sizeof(buf));
		fputs(",\"exempt_uids\":", out);
		json_string(out, buf);
		cfg_format_port_ranges(st->policy.allow_port, st->policy.n_allow_port, buf,
				       sizeof(buf));
		fputs(",\"allow_ports\":", out);
		json_string(out, buf);
	}
	fputs(",\"counters\":{", out);
	for (i = TG_ALLOW_NOT_TENANT + 1; i < TG_REASON_COUNT; i++)
		fprintf(out, "%s\"%s\":%llu", i == TG_ALLOW_NOT_TENANT + 1 ? "" : ",",
			reason_name(i), st->counters[i]);
	fputs("}}\n", out);
}
