// SPDX-License-Identifier: GPL-2.0-only
/* guard.h - reading back what is loaded: the kernel's pins are the truth, not the config file. */
#ifndef TG_GUARD_H
#define TG_GUARD_H

#include <limits.h>
#include <stdbool.h>

#include "tg_policy.h"
#include "tg_maps.h"

#include "policy.h"

struct guard_state {
	bool loaded;	    /* at least one link is pinned */
	bool complete;	    /* every object tunnelguard pins is there and describes what runs */
	char missing[512];  /* names of the pins that are not, space-separated */
	char detached[128]; /* the link pins among them: those hooks enforce nothing */
	/* pins that name other objects than the links run (a load was interrupted), and
	 * "programs" when the links run programs of different loads */
	char inconsistent[256];
	/* connect4, connect6, bind4, bind6, syn_in, post_bind4, post_bind6, syn_out,
	 * sock_release; 0: missing */
	unsigned int prog_id[9];
	unsigned int link_id[9];
	unsigned long long cgroup_id;
	char cgroup[PATH_MAX]; /* attach cgroup path, or "" when it cannot be found */
	bool have_config;
	bool config_from_programs;   /* read from the programs the links run, not the config pin */
	struct tg_settings settings; /* the programs' rodata settings */
	struct tg_policy policy;     /* read back from their policy maps (guard_free() it) */
	unsigned int use_set_retval; /* 0: refusals are EPERM whatever the config says */
	unsigned long long netns_cookie; /* network namespace whose listeners port_owner follows */
	unsigned int layers;		 /* enum tg_layer bits the load was asked for */
	unsigned long long counters[TG_REASON_COUNT]; /* summed over CPUs */
	unsigned long long stats[TG_STAT_COUNT];      /* enum tg_stat, summed over CPUs */
	struct tg_selftest selftest;		      /* the last load's self-test */
	bool selftest_stale; /* it proved other programs than the links run: not run for these */
	unsigned long long stages[TG_STAGE_COUNT]; /* refusals by enum tg_stage */
};

/*
 * Fill st from pin_dir. 0 (also when nothing is loaded: st->loaded false) or -errno. st holds
 * memory either way: guard_free() it.
 */
int guard_read(const char *pin_dir, struct guard_state *st);

/* Free what guard_read() put in st. */
void guard_free(struct guard_state *st);

/* The program the link pinned as pin_dir/link_pin runs: an fd, or -errno. */
int guard_link_prog_fd(const char *pin_dir, const char *link_pin);

/*
 * A map that a program of one of the guard's links uses, found by its name (first 15
 * characters, as the kernel keeps them): an fd, or -ENOENT.
 */
int guard_running_map(const char *pin_dir, const char *map_name);

/* Is this process in the network namespace the guard was loaded from (whose listeners
 * port_owner follows)? */
bool guard_in_my_netns(const struct guard_state *st);

/* The errno a refused connect really sees under st. */
unsigned int guard_effective_errno(const struct guard_state *st);

#endif /* TG_GUARD_H */
