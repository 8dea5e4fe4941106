// SPDX-License-Identifier: GPL-2.0-only
/* Before and after the whole run, remove what a crashed kernel test may have left behind. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "fixture.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	fx_sweep();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	fx_sweep();
}
