// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_policy.h"

#include "policy.h"
#include "tg_maps.h"
#include "tunnelguard.skel.h"

#include "guard.h"
#include "mounts.h"
#include "pins.h"
#include "policy_maps.h"
#include "util.h"

/* The cgroup hooks in the order of guard_state.prog_id. */
static const struct {
	const char *link;
	const char *prog;
} guard_hooks[] = {
	{ TG_PIN_LINK_CONNECT4, TG_PIN_PROG_CONNECT4 },
	{ TG_PIN_LINK_CONNECT6, TG_PIN_PROG_CONNECT6 },
	{ TG_PIN_LINK_BIND4, TG_PIN_PROG_BIND4 },
	{ TG_PIN_LINK_BIND6, TG_PIN_PROG_BIND6 },
	{ TG_PIN_LINK_SYN_IN, TG_PIN_PROG_SYN_IN },
	{ TG_PIN_LINK_POST_BIND4, TG_PIN_PROG_POST_BIND4 },
	{ TG_PIN_LINK_POST_BIND6, TG_PIN_PROG_POST_BIND6 },
	{ TG_PIN_LINK_SYN_OUT, TG_PIN_PROG_SYN_OUT },
	{ TG_PIN_LINK_RELEASE, TG_PIN_PROG_RELEASE },
};

#define NR_GUARD_HOOKS 9

/* The kernel's name of the programs' config map (SEC(".rodata.config") in the BPF object). */
#define CONFIG_MAP_NAME ".rodata.config"

static void append_name(char *list, size_t size, const char *name)
{
	size_t used = strlen(list);

	snprintf(list + used, size - used, "%s%s", used ? " " : "", name);
}

static void note_missing(struct guard_state *st, const char *name)
{
	st->complete = false;
	append_name(st->missing, sizeof(st->missing), name);
}

static void note_inconsistent(struct guard_state *st, const char *name)
{
	st->complete = false;
	append_name(st->inconsistent, sizeof(st->inconsistent), name);
}

/* The kernel id of a program or map: the second field of bpf_prog_info and bpf_map_info. */
static int obj_id(int fd, unsigned int *id)
{
	struct {
		__u32 type;
		__u32 id;
	} head = {};
	__u32 len = sizeof(head);

	if (bpf_obj_get_info_by_fd(fd, &head, &len) < 0)
		return -errno;
	*id = head.id;
	return 0;
}

static int link_prog_id(int link_fd, unsigned int *prog_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0)
		return -errno;
	*prog_id = info.prog_id;
	return 0;
}

int guard_link_prog_fd(const char *pin_dir, const char *link_pin)
{
	unsigned int prog_id = 0;
	int fd = pins_open(pin_dir, link_pin), err;

	if (fd < 0)
		return fd;
	err = link_prog_id(fd, &prog_id);
	close(fd);
	if (err)
		return err;
	fd = bpf_prog_get_fd_by_id(prog_id);
	return fd < 0 ? -errno : fd;
}

/* The map of program prog_id named name (as the kernel keeps it, 15 characters). An fd or -errno.
 */
static int prog_map_fd(unsigned int prog_id, const char *name)
{
	__u32 map_ids[64], len;
	struct bpf_prog_info info = {};
	int prog_fd = bpf_prog_get_fd_by_id(prog_id), found = -ENOENT;

	if (prog_fd < 0)
		return -errno;
	info.nr_map_ids = ARRAY_SIZE(map_ids);
	info.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0) {
		found = -errno;
		info.nr_map_ids = 0;
	}
	close(prog_fd);
	for (__u32 i = 0; i < info.nr_map_ids && i < 64 && found < 0; i++) {
		struct bpf_map_info map = {};
		__u32 map_len = sizeof(map);
		int fd = bpf_map_get_fd_by_id(map_ids[i]);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &map, &map_len) == 0 &&
		    strncmp(map.name, name, sizeof(map.name) - 1) == 0) {
			found = fd;
			continue;
		}
		close(fd);
	}
	return found;
}

int guard_running_map(const char *pin_dir, const char *map_name)
{
	for (size_t i = 0; i < ARRAY_SIZE(guard_hooks); i++) {
		unsigned int prog_id = 0;
		int fd = pins_open(pin_dir, guard_hooks[i].link), err;

		if (fd < 0)
			continue;
		err = link_prog_id(fd, &prog_id);
		close(fd);
		fd = err ? err : prog_map_fd(prog_id, map_name);
		if (fd >= 0)
			return fd;
	}
	return -ENOENT;
}

static void read_link(struct guard_state *st, const char *pin_dir, const char *name, int i)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = pins_open(pin_dir, name);

	if (fd < 0) {
		note_missing(st, name);
		append_name(st->detached, sizeof(st->detached), name);
		return;
	}
	st->loaded = true;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		st->link_id[i] = info.id;
		st->prog_id[i] = info.prog_id;
		st->cgroup_id = info.cgroup.cgroup_id;
	}
	close(fd);
}

/* The rodata map may hold more than the skeleton's struct (compiler constants): size it. */
static bool read_rodata(struct guard_state *st, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	void *value = NULL;
	bool ok = false;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.value_size >= sizeof(struct tunnelguard__rodata_config))
		value = calloc(1, info.value_size);
	if (value && bpf_map_lookup_elem(fd, &key, value) == 0) {
		const struct tunnelguard__rodata_config *rodata = value;

		st->settings = rodata->tg_settings;
		st->use_set_retval = rodata->tg_use_set_retval;
		st->netns_cookie = rodata->tg_netns_cookie;
		st->layers = rodata->tg_layers;
		ok = true;
	}
	free(value);
	return ok;
}

/* The policy maps of one load, by their kernel names, in policy_map_fds order. */
static const char *const policy_map_names[] = { "tg_tenant_uids", "tg_tenant_uids_high", "tg_ports",
						"tg_allow_rules", "tg_tenant_names" };
static const char *const policy_map_pins[] = { TG_PIN_TENANT_UIDS, TG_PIN_TENANT_UIDS_HIGH,
					       TG_PIN_PORTS, TG_PIN_ALLOW_RULES,
					       TG_PIN_TENANT_NAMES };
/* policy_map_names[] index of the one map a guard loaded by an earlier build does not have. */
#define POLICY_MAP_HIGH 1

/*
 * The policy the settings in st go with, from the maps of program prog_id (or, when 0, from the
 * pins): the same load's maps, as the kernel decides with them.
 */
static bool read_policy_maps(struct guard_state *st, unsigned int prog_id, const char *pin_dir)
{
	int fd[ARRAY_SIZE(policy_map_names)];
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(fd); i++) {
		fd[i] = prog_id ? prog_map_fd(prog_id, policy_map_names[i])
				: pins_open(pin_dir, policy_map_pins[i]);
		ok &= fd[i] >= 0 || (i == POLICY_MAP_HIGH && fd[i] == -ENOENT);
	}
	if (ok) {
		struct policy_map_fds fds = { fd[0], fd[1], fd[2], fd[3], fd[4] };

		policy_free(&st->policy);
		ok = policy_maps_read(&fds, &st->settings, &st->policy) == 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fd); i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return ok;
}

/*
 * The policy status shows is read from the program each link runs (its .rodata.config map and
 * its policy maps), not from the pins: the kernel's own view cannot be stale, whatever instant a
 * load was killed at. The pins are then checked against it. Only with no link left do the pins
 * speak.
 */
static void read_config(struct guard_state *st, const char *pin_dir)
{
	unsigned int running = 0, running_prog = 0, pinned = 0;
	bool from_pin = false;
	int fd;

	for (int i = 0; i < NR_GUARD_HOOKS; i++) {
		unsigned int id = 0;

		if (!st->prog_id[i])
			continue;
		fd = prog_map_fd(st->prog_id[i], CONFIG_MAP_NAME);
		if (fd < 0 || obj_id(fd, &id)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (!running && read_rodata(st, fd)) {
			running = id;
			running_prog = st->prog_id[i];
			st->config_from_programs = true;
		} else if (running && id != running && !strstr(st->inconsistent, "programs")) {
			note_inconsistent(st, "programs");
		}
		close(fd);
	}
	fd = pins_open(pin_dir, TG_PIN_CONFIG);
	if (fd < 0) {
		note_missing(st, TG_PIN_CONFIG);
	} else {
		if (!running)
			from_pin = read_rodata(st, fd);
		else if (obj_id(fd, &pinned) == 0 && pinned != running)
			note_inconsistent(st, TG_PIN_CONFIG);
		close(fd);
	}
	if (running || from_pin)
		st->have_config = read_policy_maps(st, running_prog, pin_dir);
	for (size_t i = 0; i < ARRAY_SIZE(policy_map_pins); i++) {
		fd = pins_open(pin_dir, policy_map_pins[i]);
		if (fd < 0)
			note_missing(st, policy_map_pins[i]);
		else
			close(fd);
	}
}

/* Each prog_* pin must be the program its link runs. */
static void read_prog_pins(struct guard_state *st, const char *pin_dir)
{
	for (int i = 0; i < NR_GUARD_HOOKS; i++) {
		unsigned int id = 0;
		int fd = pins_open(pin_dir, guard_hooks[i].prog);

		if (fd < 0) {
			note_missing(st, guard_hooks[i].prog);
			continue;
		}
		if (st->prog_id[i] && obj_id(fd, &id) == 0 && id != st->prog_id[i])
			note_inconsistent(st, guard_hooks[i].prog);
		close(fd);
	}
}

/* The self-test record counts only for the programs it proved (sock_release refuses nothing
 * and has no slot in it). */
static bool selftest_is_stale(const struct guard_state *st)
{
	for (int i = 0; i < NR_GUARD_HOOKS && i < TG_SELFTEST_PROGS; i++) {
		bool tested = false;

		for (int j = 0; j < TG_SELFTEST_PROGS && st->prog_id[i]; j++)
			tested |= st->selftest.prog_id[j] == st->prog_id[i];
		if (st->prog_id[i] && !tested)
			return true;
	}
	return false;
}

/* Pins that must exist but that guard_read() does not otherwise read. */
static const char *const other_pins[] = {
	TG_PIN_LOCAL_ADDRS,  TG_PIN_PORT_OWNER,	 TG_PIN_EVENTS,	     TG_PIN_EVENT_RATE,
	TG_PIN_OWNER_EVENTS, TG_PIN_NETNS,	 TG_PIN_NETNS_ADDRS, TG_PIN_NETNS_EVENTS,
	TG_PIN_CALLERS,	     TG_PIN_TRACED_SYNS, TG_PIN_TUNNELS,     TG_PIN_TUNNEL_MAX,
	TG_PIN_BOUND,	     TG_PIN_OWNER_COUNT,
};

int guard_read(const char *pin_dir, struct guard_state *st)
{
	int fd;

	memset(st, 0, sizeof(*st));
	st->complete = true;
	if (access(pin_dir, F_OK) < 0) {
		st->complete = false;
		return errno == ENOENT ? 0 : -errno;
	}
	for (int i = 0; i < NR_GUARD_HOOKS; i++)
		read_link(st, pin_dir, guard_hooks[i].link, i);
	read_config(st, pin_dir);
	read_prog_pins(st, pin_dir);
	if (pins_sum_percpu(pin_dir, TG_PIN_COUNTERS, st->counters, TG_REASON_COUNT))
		note_missing(st, TG_PIN_COUNTERS);
	/* A stats map pinned before TG_STAT_PORT_OWNER_UID_CAP has one entry less. */
	if (pins_sum_percpu(pin_dir, TG_PIN_STATS, st->stats, TG_STAT_COUNT) &&
	    pins_sum_percpu(pin_dir, TG_PIN_STATS, st->stats, TG_STAT_PORT_OWNER_UID_CAP))
		note_missing(st, TG_PIN_STATS);
	if (pins_sum_percpu(pin_dir, TG_PIN_STAGES, st->stages, TG_STAGE_COUNT))
		note_missing(st, TG_PIN_STAGES);
	fd = pins_open(pin_dir, TG_PIN_SELFTEST);
	if (fd < 0) {
		note_missing(st, TG_PIN_SELFTEST);
	} else {
		__u32 key = 0;

		if (bpf_map_lookup_elem(fd, &key, &st->selftest) != 0)
			memset(&st->selftest, 0, sizeof(st->selftest));
		close(fd);
	}
	st->selftest_stale = st->loaded && selftest_is_stale(st);
	for (size_t i = 0; i < ARRAY_SIZE(other_pins); i++) {
		fd = pins_open(pin_dir, other_pins[i]);
		if (fd < 0)
			note_missing(st, other_pins[i]);
		else
			close(fd);
	}
	if (st->cgroup_id && mounts_cgroup_path(st->cgroup_id, st->cgroup, sizeof(st->cgroup)))
		st->cgroup[0] = '\0';
	return 0;
}

unsigned int guard_effective_errno(const struct guard_state *st)
{
	return st->use_set_retval ? st->settings.deny_errno : 1 /* EPERM */;
}

void guard_free(struct guard_state *st)
{
	policy_free(&st->policy);
}

bool guard_in_my_netns(const struct guard_state *st)
{
	__u64 cookie = 0;

	return pins_netns_cookie(&cookie) == 0 && cookie == st->netns_cookie;
}
