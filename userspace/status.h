// SPDX-License-Identifier: GPL-2.0-only
/*
 * status.h - `tunnelguard status`: what is loaded, with what policy, what it decided, which
 * tunnels exist, and where the guard's view of listeners disagrees with the kernel's.
 */
#ifndef TG_STATUS_H
#define TG_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include "capacity.h"
#include "guard.h"
#include "loader.h"
#include "nft.h"
#include "tunnels.h"

/*
 * Exit codes of `status`, as LSB init scripts' status actions use them: in force; loaded with
 * pieces missing, drift, or a capacity exceeded (capacity.h); not loaded; and the state cannot be
 * told (LSB "unknown"): the pins cannot be read, or cannot be seen from this mount namespace.
 */
#define STATUS_LOADED	  0
#define STATUS_DEGRADED	  1
#define STATUS_NOT_LOADED 3
#define STATUS_UNREADABLE 4

#define STATUS_MAX_DRIFT 64
/* How long status waits for a running load to finish before it reads the state mid-way. */
#define STATUS_LOCK_WAIT_MS 10000

struct status_report {
	struct guard_state guard;
	struct tunnel_list tunnels;
	bool tunnels_known;		   /* sock_diag answered */
	char drift[STATUS_MAX_DRIFT][128]; /* "port_owner lacks 127.0.0.1:8001 uid 2001" */
	unsigned int drift_count;	   /* may exceed STATUS_MAX_DRIFT */
	bool drift_checked;   /* false outside the guard's network namespace: nothing to compare */
	unsigned int layers;  /* enum tg_layer bits the guard was loaded with */
	bool nft_checked;     /* the nft table was read (this is the guard's network namespace) */
	bool nft_missing;     /* the guard has an nft layer and its table is gone */
	struct nft_state nft; /* table inet tunnelguard as read, with counters */
	char nft_foreign_owner[200]; /* the table is another guard's: its pin dir (nft is empty) */
	struct capacity_facts capacity;	   /* port_owner's size, losses (capacity.h) */
	struct capacity_findings findings; /* what of it is exceeded, in words */
	/* A load, unload or repair held the lock all the while status waited (or is stopped in
	 * it): what status read may be that change half done. pid 0 when none, or not known. */
	bool load_busy;
	struct loader_lock_holder load_holder;
};

/* Is anything in force, by either layer? */
bool status_loaded(const struct status_report *r);

/* Is every layer the guard was loaded with whole (drift aside)? */
bool status_complete(const struct status_report *r);

/* Gather everything status shows. 0 or -errno (pin dir unreadable). */
int status_collect(const char *pin_dir, struct status_report *r);

/*
 * What will be printed, so that status finds the processes of only the tunnels it shows: the
 * text lists the first STATUS_MAX_TUNNELS_SHOWN (by port), JSON every one, the metrics none.
 * At 300,000 tunnels, finding them all is a second of reading /proc.
 */
enum status_view {
	STATUS_VIEW_TEXT,
	STATUS_VIEW_JSON,
	STATUS_VIEW_PROMETHEUS,
};

#define STATUS_MAX_TUNNELS_SHOWN 1000

int status_collect_view(const char *pin_dir, enum status_view view, struct status_report *r);
void status_free(struct status_report *r);

void status_print_text(FILE *out, const struct status_report *r, const char *pin_dir);
void status_print_json(FILE *out, const struct status_report *r, const char *pin_dir);
int status_exit_code(const struct status_report *r);

#endif /* TG_STATUS_H */
