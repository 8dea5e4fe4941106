// SPDX-License-Identifier: GPL-2.0-only
/*
 * What an operator sees with bpftool: the pinned maps carry BTF in which the mode, policy,
 * layers and self-test result are enums, so `bpftool map dump` prints their names, the config
 * map is named ".rodata.config", and addresses are also bytes. Needs root and bpftool; each test
 * runs in its own network namespace and cgroup (fixture.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"

static struct fx fx;
static char out[1 << 16];

static void setup(void)
{
	fx_setup(&fx);
	if (fx_run("command -v bpftool", out, sizeof(out)) != 0)
		cr_skip_test("bpftool is not installed (Debian: apt-get install bpftool)");
}

static void teardown(void)
{
	fx_teardown(&fx);
}

/* `bpftool -j ARGS` on the pin NAME of the fixture's guard; its JSON in out. */
static void bpftool_pin(const char *args, const char *name)
{
	char cmd[PATH_MAX + 256];

	snprintf(cmd, sizeof(cmd), "bpftool -j %s pinned %s/%s 2>&1", args, fx.pin_dir, name);
	cr_assert_eq(fx_run(cmd, out, sizeof(out)), 0, "%s failed: %s", cmd, out);
}

/* The JSON value of the first "key": in json, a string without its quotes or a bare number. */
static const char *json_value(const char *json, const char *key, char *buf, size_t len)
{
	char needle[64];
	const char *p;
	size_t n;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	if (!p)
		return "(absent)";
	p += strlen(needle);
	if (*p == '"')
		p++;
	n = strcspn(p, "\",}]");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

struct inspect_case {
	const char *name;
	const char *config;
	const char *mode, *policy, *bind_policy, *layers;
};

static const struct inspect_case cases[] = {
	{ "enforce isolate, bpf only", "tenant-uids = 2001-2003\nlayers = bpf\n", "TG_MODE_ENFORCE",
	  "TG_POLICY_ISOLATE", "TG_BIND_OPEN", "TG_LAYER_BPF" },
	{ "audit strict reserved-only, both layers",
	  "mode = audit\npolicy = strict\nbind-policy = reserved-only\ntenant-uids = 2001-2003\n",
	  "TG_MODE_AUDIT", "TG_POLICY_STRICT", "TG_BIND_RESERVED_ONLY", "TG_LAYERS_BPF_NFT" },
};

Test(inspect, bpftool_prints_names_for_mode_policy_layers_and_selftest, .init = setup,
     .fini = teardown, .timeout = 60)
{
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct inspect_case *c = &cases[i];

		fx_write_config(&fx, c->config);
		cr_assert_eq(fx_load(&fx), 0, "%s: load: %s", c->name, fx.output);

		bpftool_pin("map show", TG_PIN_CONFIG);
		cr_assert_str_eq(json_value(out, "name", buf, sizeof(buf)), ".rodata.config",
				 "%s: the config map is not named .rodata.config: %s", c->name,
				 out);

		bpftool_pin("map dump", TG_PIN_CONFIG);
		cr_assert_not_null(strstr(out, "\".rodata.config\":"),
				   "%s: no .rodata.config section in the dump: %.300s", c->name,
				   out);
		cr_assert_str_eq(json_value(out, "mode", buf, sizeof(buf)), c->mode,
				 "%s: mode: %.300s", c->name, out);
		cr_assert_str_eq(json_value(out, "policy", buf, sizeof(buf)), c->policy,
				 "%s: policy: %.300s", c->name, out);
		cr_assert_str_eq(json_value(out, "bind_policy", buf, sizeof(buf)), c->bind_policy,
				 "%s: bind_policy", c->name);
		cr_assert_str_eq(json_value(out, "tg_layers", buf, sizeof(buf)), c->layers,
				 "%s: tg_layers", c->name);
		/* A number stays a number: the enums did not swallow plain fields. */
		cr_assert_str_eq(json_value(out, "deny_errno", buf, sizeof(buf)), "111",
				 "%s: deny_errno", c->name);

		bpftool_pin("map dump", TG_PIN_SELFTEST);
		cr_assert_str_eq(json_value(out, "result", buf, sizeof(buf)), "TG_SELFTEST_PASSED",
				 "%s: self-test result: %s", c->name, out);

		cr_assert_eq(fx_unload(&fx), 0, "%s: unload: %s", c->name, fx.output);
	}
}

Test(inspect, bpftool_prints_local_addresses_as_bytes, .init = setup, .fini = teardown,
     .timeout = 60)
{
	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = bpf\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);

	/* The test netns has lo only: 127.0.0.1 is in the trie, v4-mapped. */
	bpftool_pin("map dump", TG_PIN_LOCAL_ADDRS);
	cr_assert_not_null(strstr(out, "\"addr\":[0,0,0,0,0,0,0,0,0,0,255,255,127,0,0,1]"),
			   "127.0.0.1 is not printed as the bytes of ::ffff:127.0.0.1: %s", out);
}
