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
#include "tg_maps.h"
#include "tunnelguard.skel.h"

#include "guard.h"
#include "loader.h"
#include "mounts.h"

static void note_missing(struct guard_state *st, const char *name)
{
	size_t used = strlen(st->missing);

	st->complete = false;
	snprintf(st->missing + used, sizeof(st->missing) - used, "%s%s", used ? " " : "", name);
}

static void read_link(struct guard_state *st, const char *pin_dir, const char *name, int i)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = loader_open_pin(pin_dir, name);

	if (fd < 0) {
		note_missing(st, name);
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
static void read_config(struct guard_state *st, const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	int fd = loader_open_pin(pin_dir, TG_PIN_CONFIG);
	void *value = NULL;

	if (fd < 0) {
		note_missing(st, TG_PIN_CONFIG);
		return;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.value_size >= sizeof(struct tunnelguard__rodata_config))
		value = calloc(1, info.value_size);
	if (value && bpf_map_lookup_elem(fd, &key, value) == 0) {
		const struct tunnelguard__rodata_config *rodata = value;

		st->have_config = true;
		st->policy = rodata->tg_policy;
		st->names = rodata->tg_policy_names;
		st->use_set_retval = rodata->tg_use_set_retval;
		st->netns_cookie = rodata->tg_netns_cookie;
		st->layers = rodata->tg_layers;
	}
	free(value);
	close(fd);
}

int guard_sum_percpu(const char *pin_dir, const char *name, unsigned long long *sums,
		     unsigned int count)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = loader_open_pin(pin_dir, name);
	__u64 *values;
	int err = 0;

	if (fd < 0)
		return fd;
	values = ncpu > 0 ? calloc(ncpu, sizeof(*values)) : NULL;
	if (!values)
		err = ncpu > 0 ? -ENOMEM : ncpu;
	for (__u32 key = 0; !err && key < count; key++) {
		sums[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, values) != 0) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpu; cpu++)
			sums[key] += values[cpu];
	}
	free(values);
	close(fd);
	return err;
}

/* Pins that must exist but that guard_read() does not otherwise read. */
static const char *const other_pins[] = {
	TG_PIN_PROG_CONNECT4,	TG_PIN_PROG_CONNECT6, TG_PIN_PROG_BIND4,  TG_PIN_PROG_BIND6,
	TG_PIN_LOCAL_ADDRS,	TG_PIN_PORT_OWNER,    TG_PIN_EVENTS,	  TG_PIN_EVENT_RATE,
	TG_PIN_LINK_LISTEN,	TG_PIN_OWNER_EVENTS,  TG_PIN_PROG_SYN_IN, TG_PIN_PROG_POST_BIND4,
	TG_PIN_PROG_POST_BIND6, TG_PIN_NETNS,	      TG_PIN_NETNS_ADDRS, TG_PIN_NETNS_EVENTS,
	TG_PIN_CALLERS,
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
	read_link(st, pin_dir, TG_PIN_LINK_CONNECT4, 0);
	read_link(st, pin_dir, TG_PIN_LINK_CONNECT6, 1);
	read_link(st, pin_dir, TG_PIN_LINK_BIND4, 2);
	read_link(st, pin_dir, TG_PIN_LINK_BIND6, 3);
	read_link(st, pin_dir, TG_PIN_LINK_SYN_IN, 4);
	read_link(st, pin_dir, TG_PIN_LINK_POST_BIND4, 5);
	read_link(st, pin_dir, TG_PIN_LINK_POST_BIND6, 6);
	read_link(st, pin_dir, TG_PIN_LINK_SYN_OUT, 7);
	read_config(st, pin_dir);
	if (guard_sum_percpu(pin_dir, TG_PIN_COUNTERS, st->counters, TG_REASON_COUNT))
		note_missing(st, TG_PIN_COUNTERS);
	if (guard_sum_percpu(pin_dir, TG_PIN_STATS, st->stats, TG_STAT_COUNT))
		note_missing(st, TG_PIN_STATS);
	if (guard_sum_percpu(pin_dir, TG_PIN_STAGES, st->stages, TG_STAGE_COUNT))
		note_missing(st, TG_PIN_STAGES);
	fd = loader_open_pin(pin_dir, TG_PIN_SELFTEST);
	if (fd < 0) {
		note_missing(st, TG_PIN_SELFTEST);
	} else {
		__u32 key = 0;

		if (bpf_map_lookup_elem(fd, &key, &st->selftest) != 0)
			memset(&st->selftest, 0, sizeof(st->selftest));
		close(fd);
	}
	for (size_t i = 0; i < sizeof(other_pins) / sizeof(other_pins[0]); i++) {
		fd = loader_open_pin(pin_dir, other_pins[i]);
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
	return st->use_set_retval ? st->policy.deny_errno : 1 /* EPERM */;
}

bool guard_in_my_netns(const struct guard_state *st)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool same = false;

	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0)
		same = cookie == st->netns_cookie;
	if (fd >= 0)
		close(fd);
	return same;
}
