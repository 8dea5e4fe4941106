// SPDX-License-Identifier: GPL-2.0-only
/*
 * prometheus.h - `tunnelguard status --prometheus`: a status report in the Prometheus text
 * exposition format (version 0.0.4), for node_exporter's textfile collector or any scraper.
 *
 * Example, for a guard in force with one tenant tunnel:
 *	# HELP tunnelguard_loaded Whether a guard is pinned in the pin dir (1) or not (0).
 *	# TYPE tunnelguard_loaded gauge
 *	tunnelguard_loaded 1
 *	...
 *	tunnelguard_tunnels{uid="2001",user="alice"} 2
 *	tunnelguard_connects_total{reason="deny_other_tenant"} 7
 */
#ifndef TG_PROMETHEUS_H
#define TG_PROMETHEUS_H

#include <stdio.h>

#include "status.h"

/* Print every metric of r. A report of a guard that is not loaded gives tunnelguard_info and
 * tunnelguard_loaded 0 only: the rest would be made-up zeros. */
void prometheus_print(FILE *out, const struct status_report *r);

/*
 * Print s as the inside of a label value: backslash, double quote and line feed escaped as the
 * format requires, and each byte that is not part of valid UTF-8 replaced by U+FFFD, since a
 * label value must be UTF-8 and a user name comes from /etc/passwd unchecked.
 */
void prometheus_label_value(FILE *out, const char *s);

#endif /* TG_PROMETHEUS_H */
