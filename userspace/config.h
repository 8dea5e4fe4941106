// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.h - tunnelguard.conf: `key = value` lines, `#` comments, then `[tenant NAME]` sections.
 *
 *	mode         = enforce | audit              (default enforce)
 *	policy       = isolate | strict             (default isolate)
 *	deny-errno   = econnrefused | eperm         (default econnrefused)
 *	tenant-uids  = 1000-59999                   (UIDs and ranges A-B, comma-separated)
 *	exempt-uids  = 1500, 2000-2010              (never restricted; default none)
 *	allow-ports  = 53, 5432                     (ports and ranges any tenant may reach)
 *	layers       = bpf nft                      (enforcing layers, default both; or one alone)
 *	bind-policy  = open | reserved-only         (default open: tenants may bind any port
 *	                                             not reserved for another tenant)
 *	tenant-group = tunnels, partners            (every member of these Unix groups is a
 *	                                             tenant; gr_mem and primary gid; default none)
 *	allow        = bob:8001-8002                (USER:PORTS, USER a name or uid: that tenant
 *	                                             may reach those ports; may repeat)
 *	port-owner-max = 262144                     (listeners the BPF map port_owner can track,
 *	                                             16 to 4194304; 16 bytes of kernel memory
 *	                                             each, 88 more per listener held)
 *	max-tunnels  = 20                           (ports one tenant may hold through bind() on
 *	                                             TCP sockets at once, 0 to 1000000; default 0:
 *	                                             no limit; config_limits.c)
 *
 *	[tenant alice]                              (a tenant with reserved ports; the global keys
 *	user  = alice                                above must come before the first section)
 *	ports = 8001-8010, 9001                     (only alice's uid may bind these; a [tenant]
 *	                                             user is a tenant; user defaults to NAME)
 *	max-tunnels = 50                            (alice's own limit, instead of the global one;
 *	                                             0 lifts it)
 *
 * cfg_parse() is pure (text in, struct out). User and group names are looked up afterwards by
 * cfg_resolve(), at every load and reload, so group membership changes take effect then.
 *
 * The files: config_parse.c (the grammar: lines, keys, sections) and config_values.c (one
 * parser per value) are cfg_parse(), pure, what the unit tests and the fuzzer exercise;
 * config_resolve.c is cfg_resolve() through NSS; config_load.c reads the file (cfg_load);
 * config_format.c writes values back as the config would (cfg_format_*, cfg_*_name).
 * config_internal.h is theirs alone.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "policy.h"
#include "tg_limits.h"

#define CFG_DEFAULT_PATH "/etc/tunnelguard/tunnelguard.conf"

#define CFG_MAX_GROUPS 16

/* Bounds of port-owner-max: a test-sized map up to 16 times the default. */
#define CFG_PORT_OWNER_MAX_LOWEST  16U
#define CFG_PORT_OWNER_MAX_HIGHEST (1U << 22)
/* uid of a user named in the config until cfg_resolve() looks it up: (uid_t)-1, never valid. */
#define CFG_UID_UNRESOLVED 4294967295U

/* A user named in the config. */
struct cfg_user_ref {
	char name[TG_NAME_LEN]; /* "" when the config gave a uid */
	unsigned int line;	/* the line that named it */
};

struct tg_config {
	struct tg_policy policy; /* what load gives the kernel (policy.h); its lists are ours */
	__u32 layers;		 /* enum tg_layer bits: which walls load puts up */
	__u32 port_owner_max;	 /* max_entries of tg_port_owner (port-owner-max) */
	/* who policy.section[i] and policy.allow_rule[i] were given to, until resolved */
	struct cfg_user_ref *section_user;
	struct cfg_user_ref *allow_user;
	unsigned int n_group; /* tenant-group */
	char group[CFG_MAX_GROUPS][TG_NAME_LEN];
	unsigned int group_line;
	unsigned int tenant_uids_line;	 /* of the last tenant-uids, 0 when none */
	unsigned int first_section_line; /* 0 when there is no [tenant] section */
	unsigned int last_allow_line;	 /* of the last `allow =`, 0 when none */
	unsigned int max_tunnels_line;	 /* of the global max-tunnels, 0 when unset */
	/* the header line of each policy.section[], and of its max-tunnels (0: none) */
	unsigned int *section_line;
	unsigned int *section_limit_line;
};

/* Free what a parsed config holds (not cfg itself); cfg is empty afterwards. */
void cfg_free(struct tg_config *cfg);

/*
 * Where cfg_resolve() looks names up: the host's user database (cfg_system_directory), or a
 * fake one in the unit tests. Each returns 0, -ENOENT when the name is unknown, or -errno.
 * group_members calls add() for every member (gr_mem, and users whose primary group it is);
 * a non-zero return from add() stops the walk and is returned.
 */
struct cfg_directory {
	int (*user_uid)(void *ctx, const char *name, __u32 *uid);
	int (*group_members)(void *ctx, const char *name,
			     int (*add)(void *arg, const char *member, __u32 uid), void *arg);
	void *ctx;
};

extern const struct cfg_directory cfg_system_directory;

/*
 * Where a parse failed: "NAME:LINE: message". line is 0 when the file could not be read. Text
 * quoted from the config is escaped (escape.h): the message is safe to print as it is.
 */
struct cfg_error {
	unsigned int line;
	char message[512];
};

/* The built-in defaults (used when the default file is absent). */
void cfg_defaults(struct tg_config *cfg);

/*
 * Parse the text of a config file. On success fills cfg (cfg_free() it) and returns 0; on the
 * first error fills err and returns -EINVAL (or -ENOMEM), leaving cfg empty.
 */
int cfg_parse(const char *text, size_t len, struct tg_config *cfg, struct cfg_error *err);

/* One file of a config: the main file, then its drop-ins. */
struct cfg_text {
	const char *text;
	size_t len;
	const char *name; /* for messages that point into another text; NULL: "text N" */
};

/*
 * Parse a main config text followed by drop-in texts (tenants.d/ *.conf), which may hold only
 * [tenant] sections. Lines are numbered across the texts, one after another: err->line L is
 * line L - (lines of the texts before it) of its text (cfg_load prints FILE:LINE so).
 */
int cfg_parse_texts(const struct cfg_text *texts, size_t n, struct tg_config *cfg,
		    struct cfg_error *err);

/*
 * Look up the user and group names of a parsed config: fill the uids of reservations and allow
 * rules, and make every [tenant] user and tenant-group member a tenant (merged into
 * policy.tenant). 0, or -EINVAL with err naming the line (unknown user or group, root, too
 * many tenant ranges).
 */
int cfg_resolve(struct tg_config *cfg, const struct cfg_directory *dir, struct cfg_error *err);

/*
 * Read, parse and resolve path. When path is NULL the default path is used, and a missing default
 * file means the built-in defaults. Errors are printed as "FILE:LINE: message" (or "FILE: message"
 * when unreadable) and returned as -errno.
 */
int cfg_load(const char *path, struct tg_config *cfg);

/* The drop-in directory of a config file: "DIR/tenants.d" beside it. */
#define CFG_DROPIN_DIR "tenants.d"

/* Print ranges as the config would write them ("1000-59999, 60010"); "" when none. */
void cfg_format_uid_ranges(const struct tg_uid_range *r, unsigned int n, char *buf, size_t len);
void cfg_format_port_ranges(const struct tg_port_range *r, unsigned int n, char *buf, size_t len);

const char *cfg_mode_name(unsigned int mode);
const char *cfg_policy_name(unsigned int policy);
const char *cfg_bind_policy_name(unsigned int bind_policy);
/* "econnrefused" or "eperm" as in the config; NULL for an errno the config cannot express. */
const char *cfg_errno_name(unsigned int deny_errno);

#endif /* TG_CONFIG_H */
