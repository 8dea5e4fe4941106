// SPDX-License-Identifier: GPL-2.0-only
/* reserved_ports_merge(): the sysctl's list and the reservations, merged as the kernel prints. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reserved_ports.h"

static struct tg_policy with_reservations(const struct tg_port_grant *g, unsigned int n)
{
	/* reserved_ports_merge() only reads the list. */
	return (struct tg_policy){ .mode = TG_MODE_ENFORCE,
				   .n_reservation = n,
				   .reservation = (struct tg_port_grant *)g };
}

Test(reserved_ports, merges_sorts_and_joins)
{
	static const struct tg_port_grant g[] = { { 2001, 8001, 8010 },
						  { 2002, 8443, 8443 },
						  { 2003, 8011, 8011 } };
	struct tg_policy p = with_reservations(g, 3);
	char out[256];

	cr_assert_eq(reserved_ports_merge("9000\n", &p, out, sizeof(out)), 12);
	cr_assert_str_eq(out, "8001-8011,8443,9000");
	/* Already there: nothing added, the text comes back the same. */
	cr_assert_eq(reserved_ports_merge("8001-8011,8443,9000", &p, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "8001-8011,8443,9000");
	/* Partly there, overlapping an admin's range. */
	cr_assert_eq(reserved_ports_merge("8005-8020\n", &p, out, sizeof(out)), 5);
	cr_assert_str_eq(out, "8001-8020,8443");
	cr_assert_eq(reserved_ports_merge("\n", &p, out, sizeof(out)), 12);
	cr_assert_str_eq(out, "8001-8011,8443");
	cr_assert_eq(reserved_ports_merge("", &p, out, sizeof(out)), 12);
}

Test(reserved_ports, edges_of_the_port_space)
{
	static const struct tg_port_grant g[] = { { 2001, 65535, 65535 }, { 2002, 0, 0 } };
	struct tg_policy p = with_reservations(g, 2);
	char out[64];

	cr_assert_eq(reserved_ports_merge("1", &p, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "0-1,65535");
}

Test(reserved_ports, refuses_what_the_kernel_would_not_print)
{
	struct tg_policy p = with_reservations(NULL, 0);
	static const char *const bad[] = {
		"abc", "1-", "5-3", "65536", "1,,2", "1 2", "-4", "1;2"
	};
	char out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(reserved_ports_merge(bad[i], &p, out, sizeof(out)), -EINVAL, "'%s'",
			     bad[i]);
}

Test(reserved_ports, says_when_the_buffer_is_too_small)
{
	static const struct tg_port_grant g[] = { { 2001, 8001, 8010 } };
	struct tg_policy p = with_reservations(g, 1);
	char out[6];

	cr_assert_eq(reserved_ports_merge("", &p, out, sizeof(out)), -ENOSPC);
}
