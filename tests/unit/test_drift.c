// SPDX-License-Identifier: GPL-2.0-only
/* test_drift.c - the drift kinds' one name table (drift.h), both ways. */
#include <criterion/criterion.h>

#include "drift.h"
#include "util.h"

Test(drift, names_round_trip)
{
	static const struct {
		enum drift_kind kind;
		const char *name;
	} cases[] = {
		{ DRIFT_MISSING, "missing" },
		{ DRIFT_STALE, "stale" },
		{ DRIFT_WRONG_OWNER, "wrong owner" },
	};

	cr_assert_eq(ARRAY_SIZE(cases), DRIFT_KIND_COUNT, "a kind has no case");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_str_eq(drift_kind_name(cases[i].kind), cases[i].name, "%s: wrong name",
				 cases[i].name);
		cr_assert_eq(drift_kind_of(cases[i].name), cases[i].kind, "%s: wrong kind",
			     cases[i].name);
	}
}

/* nft.h passes the kind by name: an unknown or absent name is no kind, never a wrong one. */
Test(drift, unknown_names)
{
	cr_assert_null(drift_kind_name(DRIFT_KIND_COUNT));
	cr_assert_null(drift_kind_name((enum drift_kind)99));
	cr_assert_eq(drift_kind_of("Missing"), DRIFT_KIND_COUNT);
	cr_assert_eq(drift_kind_of("m"), DRIFT_KIND_COUNT);
	cr_assert_eq(drift_kind_of(""), DRIFT_KIND_COUNT);
	cr_assert_eq(drift_kind_of(NULL), DRIFT_KIND_COUNT);
}
