// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tenant uids far above the uid bitmap, as directory services hand them out (FreeIPA's ranges
 * start anywhere up to 2,000,000,000): scattered ones, as a group's members are, listed uid by
 * uid in tg_tenant_uids_high, and a wide range kept in the settings. On the real kernel each is
 * a tenant, a uid between the scattered ones is not, an exempt one is not; status shows them
 * all and check agrees with the kernel. Needs root; each test runs in its own network
 * namespace and cgroup (fixture.h), with test-only uids no account uses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "tg_policy.h"

#include "fixture.h"

/* 40 scattered tenants, every 7th uid from HIGH_BASE: one more than fits as ranges. */
#define HIGH_BASE   4170100000U
#define HIGH_COUNT  (TG_MAX_HIGH_RANGES + 8)
#define HIGH_OWNER  HIGH_BASE	    /* listens */
#define HIGH_CALLER (HIGH_BASE + 7) /* another scattered tenant */
#define HIGH_EXEMPT (HIGH_BASE + 14)
#define HIGH_NOT    (HIGH_BASE + 8) /* between two tenants: a hub service */
#define WIDE_FIRST  4170200000U
#define WIDE_LAST   4170300000U
#define WIDE_CALLER 4170250000U
#define PORT	    8601

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static void write_config(void)
{
	char text[2048];
	int n = snprintf(text, sizeof(text), "tenant-uids = ");

	for (unsigned int i = 0; i < HIGH_COUNT; i++)
		n += snprintf(text + n, sizeof(text) - n, "%u, ", HIGH_BASE + 7 * i);
	snprintf(text + n, sizeof(text) - n, "%u-%u\nexempt-uids = %u\n", WIDE_FIRST, WIDE_LAST,
		 HIGH_EXEMPT);
	fx_write_config(&fx, text);
}

/* `check` of uid's connect to PORT: 1 deny, 0 allow. */
static int check(uid_t uid)
{
	char arg[16];

	snprintf(arg, sizeof(arg), "%u", (unsigned int)uid);
	return fx_cli(&fx, "check", "--pin-dir", fx.pin_dir, "--uid", arg, "--port", "8601", NULL);
}

Test(high_uids, scattered_and_wide_tenants_are_refused_as_the_kernel_says, .init = setup,
     .fini = teardown)
{
	static const struct {
		const char *who;
		uid_t uid;
		int want; /* connect()'s errno, 0: connected */
	} callers[] = {
		{ "a scattered tenant", HIGH_CALLER, ECONNREFUSED },
		{ "the last scattered tenant", HIGH_BASE + 7 * (HIGH_COUNT - 1), ECONNREFUSED },
		{ "a tenant of the wide range", WIDE_CALLER, ECONNREFUSED },
		{ "the wide range's last uid", WIDE_LAST, ECONNREFUSED },
		{ "an exempt scattered uid", HIGH_EXEMPT, 0 },
		{ "a uid between two tenants", HIGH_NOT, 0 },
		{ "the first uid past the wide range", WIDE_LAST + 1, 0 },
		{ "the owner", HIGH_OWNER, 0 },
		{ "root", 0, 0 },
	};
	struct fx_listener v4, v6;
	char want[64];

	write_config();
	cr_assert_eq(fx_load(&fx), 0, "load refused %u scattered high uids: %s", HIGH_COUNT,
		     fx.output);
	v4 = fx_listen(HIGH_OWNER, "127.0.0.1", PORT, false);
	v6 = fx_listen(HIGH_OWNER, "::1", PORT, true);
	for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
		int got4 = fx_connect_as(&fx, callers[i].uid, AF_INET, "127.0.0.1", PORT);
		int got6 = fx_connect_as(&fx, callers[i].uid, AF_INET6, "::1", PORT);

		cr_expect_eq(got4, callers[i].want, "%s (uid %u), IPv4: %s, want %s",
			     callers[i].who, (unsigned int)callers[i].uid, strerror(got4),
			     strerror(callers[i].want));
		cr_expect_eq(got6, callers[i].want, "%s (uid %u), IPv6: %s, want %s",
			     callers[i].who, (unsigned int)callers[i].uid, strerror(got6),
			     strerror(callers[i].want));
		/* check reads the policy back from the running programs' maps. */
		cr_expect_eq(check(callers[i].uid), callers[i].want ? 1 : 0,
			     "%s (uid %u): check says otherwise than the kernel: %s",
			     callers[i].who, (unsigned int)callers[i].uid, fx.output);
	}
	fx_listener_stop(&v4);
	fx_listener_stop(&v6);

	cr_assert_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status: %s", fx.output);
	snprintf(want, sizeof(want), "{\"first\":%u,\"last\":%u}", HIGH_CALLER, HIGH_CALLER);
	cr_expect(strstr(fx.output, want), "status lacks %s: %s", want, fx.output);
	snprintf(want, sizeof(want), "{\"first\":%u,\"last\":%u}", WIDE_FIRST, WIDE_LAST);
	cr_expect(strstr(fx.output, want), "status lacks %s: %s", want, fx.output);
	snprintf(want, sizeof(want), "%u", HIGH_EXEMPT);
	cr_expect_not(strstr(fx.output, want), "status shows the exempt uid: %s", fx.output);
}
