// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_parse() on arbitrary bytes. Beyond "no crash, no sanitizer report": a parse that succeeds
 * must give a policy the kernel program can trust (sorted, non-overlapping ranges within their
 * bounds, no root tenant, known enum values, unused entries zero), and writing that policy back
 * as a config must parse to the very same policy. A parse that fails must say where and why.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"

#include "fuzz.h"

static void check_uid_list(const struct tg_uid_range *r, __u32 n, bool tenant, const char *key)
{
	FUZZ_CHECK(n <= TG_MAX_RANGES, "%s: %u ranges", key, n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first <= r[i].last, "%s[%u] %u-%u reversed", key, i, r[i].first,
			   r[i].last);
		FUZZ_CHECK(r[i].last != UINT32_MAX, "%s[%u] holds (uid_t)-1", key, i);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last, "%s[%u] unsorted or overlapping",
			   key, i);
	}
	FUZZ_CHECK(!tenant || n == 0 || r[0].first != 0, "%s: root is a tenant", key);
	for (__u32 i = n; i < TG_MAX_RANGES; i++)
		FUZZ_CHECK(r[i].first == 0 && r[i].last == 0, "%s[%u] unused but set", key, i);
}

static void check_port_list(const struct tg_port_range *r, __u32 n)
{
	FUZZ_CHECK(n <= TG_MAX_RANGES, "allow-ports: %u ranges", n);
	for (__u32 i = 0; i < n; i++) {
		FUZZ_CHECK(r[i].first >= 1 && r[i].first <= r[i].last, "allow-ports[%u] %u-%u", i,
			   r[i].first, r[i].last);
		FUZZ_CHECK(i == 0 || r[i].first > r[i - 1].last,
			   "allow-ports[%u] unsorted or overlapping", i);
	}
	for (__u32 i = n; i < TG_MAX_RANGES; i++)
		FUZZ_CHECK(r[i].first == 0 && r[i].last == 0, "allow-ports[%u] unused but set", i);
}

/* The policy written back as a config, in the config's own words. */
static size_t write_back(const struct tg_policy *p, char *buf, size_t len)
{
	char tenant[1024], exempt[1024], ports[1024];
	int n;

	cfg_format_uid_ranges(p->tenant, p->n_tenant, tenant, sizeof(tenant));
	cfg_format_uid_ranges(p->exempt, p->n_exempt, exempt, sizeof(exempt));
	cfg_format_port_ranges(p->allow_port, p->n_allow_port, ports, sizeof(ports));
	n = snprintf(buf, len,
		     "mode = %s\npolicy = %s\ndeny-errno = %s\ntenant-uids = %s\n"
		     "exempt-uids = %s\nallow-ports = %s\n",
		     cfg_mode_name(p->mode), cfg_policy_name(p->policy),
		     cfg_errno_name(p->deny_errno), tenant, exempt, ports);
	FUZZ_CHECK(n > 0 && (size_t)n < len, "written-back config of %d bytes", n);
	return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_config cfg, again;
	struct cfg_error err;
	char text[4096];
	size_t len;
	int ret;

	memset(&cfg, 0xa5, sizeof(cfg));
	ret = cfg_parse((const char *)data, size, &cfg, &err);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL, "cfg_parse returned %d", ret);
	FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)), "message not terminated");
	if (ret) {
		FUZZ_CHECK(err.line >= 1, "error on line %u", err.line);
		FUZZ_CHECK(err.message[0], "error on line %u without a message", err.line);
		return 0;
	}
	FUZZ_CHECK(err.line == 0 && !err.message[0], "success with an error message");

	const struct tg_policy *p = &cfg.policy;

	FUZZ_CHECK(p->mode == TG_MODE_ENFORCE || p->mode == TG_MODE_AUDIT, "mode %u", p->mode);
	FUZZ_CHECK(p->policy == TG_POLICY_ISOLATE || p->policy == TG_POLICY_STRICT, "policy %u",
		   p->policy);
	FUZZ_CHECK(cfg_errno_name(p->deny_errno), "deny_errno %u", p->deny_errno);
	check_uid_list(p->tenant, p->n_tenant, true, "tenant-uids");
	check_uid_list(p->exempt, p->n_exempt, false, "exempt-uids");
	check_port_list(p->allow_port, p->n_allow_port);

	len = write_back(p, text, sizeof(text));
	memset(&again, 0x5a, sizeof(again));
	ret = cfg_parse(text, len, &again, &err);
	FUZZ_CHECK(ret == 0, "written-back config refused, line %u: %s\n%.*s", err.line,
		   err.message, (int)len, text);
	FUZZ_CHECK(!memcmp(&again.policy, p, sizeof(*p)), "written-back config differs:\n%.*s",
		   (int)len, text);
	return 0;
}
