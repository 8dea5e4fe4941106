// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.h - tunnelguard.conf: `key = value` lines, `#` comments.
 *
 *	mode        = enforce | audit              (default enforce)
 *	policy      = isolate | strict             (default isolate)
 *	deny-errno  = econnrefused | eperm         (default econnrefused)
 *	tenant-uids = 1000-59999                   (UIDs and ranges A-B, comma-separated)
 *	exempt-uids = 1500, 2000-2010              (never restricted; default none)
 *	allow-ports = 53, 5432                     (ports and ranges any tenant may reach)
 *	layers      = bpf nft                      (enforcing layers, default both; or one alone)
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tg_maps.h"
#include "tg_policy.h"

#define CFG_DEFAULT_PATH "/etc/tunnelguard/tunnelguard.conf"

struct tg_config {
	struct tg_policy policy; /* exactly what the kernel program gets */
	__u32 layers;		 /* enum tg_layer bits: which walls load puts up */
};

/* Where a parse failed: "NAME:LINE: message". line is 0 when the file could not be read. */
struct cfg_error {
	unsigned int line;
	char message[256];
};

/* The built-in defaults (used when the default file is absent). */
void cfg_defaults(struct tg_config *cfg);

/*
 * Parse the text of a config file (name is for messages). On success fills cfg and returns 0;
 * on the first error fills err and returns -EINVAL, leaving cfg unspecified.
 */
int cfg_parse(const char *text, size_t len, struct tg_config *cfg, struct cfg_error *err);

/*
 * Read and parse path. When path is NULL the default path is used, and a missing default file
 * means the built-in defaults. Errors are printed as "FILE:LINE: message" (or "FILE: message"
 * when unreadable) and returned as -errno.
 */
int cfg_load(const char *path, struct tg_config *cfg);

/* Print ranges as the config would write them ("1000-59999, 60010"); "" when none. */
void cfg_format_uid_ranges(const struct tg_uid_range *r, unsigned int n, char *buf, size_t len);
void cfg_format_port_ranges(const struct tg_port_range *r, unsigned int n, char *buf, size_t len);

const char *cfg_mode_name(unsigned int mode);
const char *cfg_policy_name(unsigned int policy);
/* "econnrefused" or "eperm" as in the config; NULL for an errno the config cannot express. */
const char *cfg_errno_name(unsigned int deny_errno);

#endif /* TG_CONFIG_H */
