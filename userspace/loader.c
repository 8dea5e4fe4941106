// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_policy.h"

#include "policy.h"
#include "tg_maps.h"
#include "tunnelguard.skel.h"

#include "capacity.h"
#include "config.h"
#include "guard.h"
#include "loader.h"
#include "loader_internal.h"
#include "local_addrs.h"
#include "selftest.h"
#include "sync.h"
#include "log.h"
#include "mounts.h"
#include "policy_maps.h"
#include "reserved_ports.h"
#include "pins.h"
#include "util.h"

#define ECONNREFUSED_VALUE 111
#define EPERM_VALUE	   1

/* One cgroup hook: its program in the skeleton and its pins. */
struct hook {
	const char *name;
	const char *link_pin;
	const char *prog_pin;
};

static const struct hook hooks[] = {
	{ "connect4", TG_PIN_LINK_CONNECT4, TG_PIN_PROG_CONNECT4 },
	{ "connect6", TG_PIN_LINK_CONNECT6, TG_PIN_PROG_CONNECT6 },
	{ "bind4", TG_PIN_LINK_BIND4, TG_PIN_PROG_BIND4 },
	{ "bind6", TG_PIN_LINK_BIND6, TG_PIN_PROG_BIND6 },
	{ "syn_in", TG_PIN_LINK_SYN_IN, TG_PIN_PROG_SYN_IN },
	{ "syn_out", TG_PIN_LINK_SYN_OUT, TG_PIN_PROG_SYN_OUT },
	{ "post_bind4", TG_PIN_LINK_POST_BIND4, TG_PIN_PROG_POST_BIND4 },
	{ "post_bind6", TG_PIN_LINK_POST_BIND6, TG_PIN_PROG_POST_BIND6 },
	{ "sock_release", TG_PIN_LINK_RELEASE, TG_PIN_PROG_RELEASE },
};

#define NR_HOOKS (ARRAY_SIZE(hooks))

/* Maps that outlive a config swap: the new programs reuse the pinned ones. */
static const char *const shared_maps[] = {
	TG_PIN_COUNTERS,    TG_PIN_LOCAL_ADDRS, TG_PIN_PORT_OWNER,   TG_PIN_EVENTS,
	TG_PIN_EVENT_RATE,  TG_PIN_STATS,	TG_PIN_SELFTEST,     TG_PIN_OWNER_EVENTS,
	TG_PIN_NETNS,	    TG_PIN_NETNS_ADDRS, TG_PIN_NETNS_EVENTS, TG_PIN_CALLERS,
	TG_PIN_STAGES,	    TG_PIN_TRACED_SYNS, TG_PIN_TUNNELS,	     TG_PIN_BOUND,
	TG_PIN_OWNER_COUNT,
};

#define NR_SHARED_MAPS (ARRAY_SIZE(shared_maps))

/* What one load changed, so that a failure can put everything back. */
#define NR_LOAD_MAPS 6

struct load_state {
	struct bpf_link *link[NR_HOOKS]; /* our link object for each hook */
	int old_prog_fd[NR_HOOKS]; /* program a swapped link ran before, -1 if attached anew */
	int old_load_map_fd[NR_LOAD_MAPS]; /* the load_maps[] pins before this load, -1: none */
	int pinned_objects;		   /* 1 once the new programs and config are pinned */
	int attached[NR_HOOKS];		   /* 1 when this load created and pinned the link */
	int pinned_map[NR_SHARED_MAPS];	   /* 1 when this load pinned a new map */
	int old_tunnel_max_fd;		   /* the tunnel_max pin before this load, -1 if none */
	int created_pin_dir;
};

/*
 * The maps each load makes anew and pins by name, replacing the previous load's: the programs'
 * settings and the policy maps. In the order of load_map().
 */
static const char *const load_maps[] = { TG_PIN_CONFIG, TG_PIN_TENANT_UIDS, TG_PIN_TENANT_UIDS_HIGH,
					 TG_PIN_PORTS,	TG_PIN_ALLOW_RULES, TG_PIN_TENANT_NAMES };

static struct bpf_map *load_map(struct tunnelguard *skel, size_t i)
{
	struct bpf_map *maps[NR_LOAD_MAPS] = {
		skel->maps.rodata_config, skel->maps.tg_tenant_uids, skel->maps.tg_tenant_uids_high,
		skel->maps.tg_ports,	  skel->maps.tg_allow_rules, skel->maps.tg_tenant_names,
	};

	return maps[i];
}

/* In the order of hooks[]. */
static struct bpf_program *hook_program(struct tunnelguard *skel, size_t i)
{
	struct bpf_program *progs[NR_HOOKS] = {
		skel->progs.tg_connect4,   skel->progs.tg_connect6,   skel->progs.tg_bind4,
		skel->progs.tg_bind6,	   skel->progs.tg_syn_in,     skel->progs.tg_syn_out,
		skel->progs.tg_post_bind4, skel->progs.tg_post_bind6, skel->progs.tg_sock_release,
	};

	return progs[i];
}

static struct bpf_map *shared_map(struct tunnelguard *skel, size_t i)
{
	struct bpf_map *maps[NR_SHARED_MAPS] = {
		skel->maps.tg_counters,	   skel->maps.tg_local_addrs,  skel->maps.tg_port_owner,
		skel->maps.tg_events,	   skel->maps.tg_event_rate,   skel->maps.tg_stats,
		skel->maps.tg_selftest,	   skel->maps.tg_owner_events, skel->maps.tg_netns,
		skel->maps.tg_netns_addrs, skel->maps.tg_netns_events, skel->maps.tg_callers,
		skel->maps.tg_stages,	   skel->maps.tg_traced_syns,  skel->maps.tg_tunnels,
		skel->maps.tg_bound,	   skel->maps.tg_owner_count,
	};

	return maps[i];
}

static int check_kernel(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0) {
		pr_err("kernel has no BTF (/sys/kernel/btf/vmlinux: %s): tunnelguard needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n",
		       strerror(errno));
		return -ENOTSUP;
	}
	return 0;
}

/* Bring the address trie and the listener map up to date before new programs rely on them. */
static int sync_maps(struct tunnelguard *skel)
{
	struct sync_report report = { .owner_count_fd = bpf_map__fd(skel->maps.tg_owner_count) };
	int err;

	err = sync_local_addrs_from_routes(bpf_map__fd(skel->maps.tg_local_addrs), false, &report);
	if (err) {
		pr_err("cannot list this host's local addresses: %s\n", strerror(-err));
		return err;
	}
	pr_debug("tg_local_addrs: %zu added, %zu removed\n", report.added, report.removed);
	err = sync_port_owner_from_diag(bpf_map__fd(skel->maps.tg_port_owner), false, &report);
	if (err) {
		pr_err("cannot list TCP listeners through sock_diag: %s\n", strerror(-err));
		return err;
	}
	pr_debug("tg_port_owner: %zu added, %zu removed, %zu changed\n", report.added,
		 report.removed, report.changed);
	return 0;
}

/*
 * The listen tracer of builds before 16 (raw_tp/inet_sock_set_state, pinned link_listen): the
 * bind and close hooks keep tg_port_owner now, and the tracer cost every TCP connection on the
 * host. Detached once the new hooks are in force.
 */
static void remove_legacy_tracer(const char *pin_dir)
{
	int fd = pins_open(pin_dir, TG_PIN_LINK_LISTEN);

	if (fd < 0)
		return;
	if (bpf_link_detach(fd) < 0 && errno != EOPNOTSUPP)
		pr_warn("cannot detach the listen tracer of an earlier build: %s\n",
			strerror(errno));
	close(fd);
	loader_unpin(pin_dir, TG_PIN_LINK_LISTEN);
	pr_info("the listen tracer of an earlier build is detached: bind() and close() hooks keep port_owner now\n");
}

/*
 * The programs' settings, and the sizes of their policy maps, from the config. Falls back to EPERM
 * where bpf_set_retval() is missing (kernels before 5.18).
 */
static int choose_settings(struct tunnelguard *skel, const struct tg_config *cfg)
{
	int has_set_retval =
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_set_retval, NULL);
	struct tg_settings s;
	int err = policy_settings(&cfg->policy, &s);

	if (err) {
		pr_err("cannot turn the config into the programs' settings: %s\n", strerror(-err));
		return err;
	}
	err = policy_maps_size(
		&(struct policy_map_set){ .tenant_uids = skel->maps.tg_tenant_uids,
					  .tenant_uids_high = skel->maps.tg_tenant_uids_high,
					  .ports = skel->maps.tg_ports,
					  .allow_rules = skel->maps.tg_allow_rules,
					  .tenant_names = skel->maps.tg_tenant_names },
		&cfg->policy, &s);
	if (err) {
		pr_err("cannot size the policy maps: %s\n", strerror(-err));
		return err;
	}
	skel->rodata_config->tg_settings = s;
	skel->rodata_config->tg_layers = cfg->layers;
	skel->rodata_config->tg_use_set_retval = has_set_retval == 1;
	if (has_set_retval != 1 && cfg->policy.deny_errno != EPERM_VALUE) {
		pr_warn("this kernel lacks bpf_set_retval(): refused connects fail with EPERM, not ECONNREFUSED\n");
		skel->rodata_config->tg_settings.deny_errno = EPERM_VALUE;
	}
	return 0;
}

/*
 * Where the reservations could not be put in net.ipv4.ip_local_reserved_ports (or audit mode
 * leaves that sysctl alone), the kernel may hand a reserved port to anyone's bind(port 0) or
 * listen() without bind(). Say so when a reservation lies in the ephemeral range.
 */
#define EPHEMERAL_WARNINGS_SHOWN 5

static void warn_ephemeral_reservations(const struct tg_policy *p)
{
	unsigned int low = 0, high = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (!f)
		return;
	if (fscanf(f, "%u %u", &low, &high) != 2)
		low = high = 0;
	fclose(f);
	for (__u32 i = 0, shown = 0; i < p->n_reservation; i++) {
		if (p->reservation[i].last < low || p->reservation[i].first > high)
			continue;
		/* A few lines, not one per [tenant] section of a 50,000-tenant hub. */
		if (shown++ == EPHEMERAL_WARNINGS_SHOWN) {
			pr_warn("more reserved ports lie in the ephemeral range %u-%u (status lists the reservations)\n",
				low, high);
			break;
		}
		pr_warn("reserved ports %u-%u lie in the ephemeral range %u-%u: the kernel may give them to any bind(port 0); add them to net.ipv4.ip_local_reserved_ports\n",
			p->reservation[i].first, p->reservation[i].last, low, high);
	}
}

static int cgroup_id_of_fd(int fd, unsigned long long *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*id = st.st_ino;
	return 0;
}

/* A guard already pinned must stay on its cgroup: a swap cannot move it. */
static int check_same_cgroup(const struct bpf_link_info *info, int cg_fd, const char *cgroup)
{
	unsigned long long id = 0;
	int err = cgroup_id_of_fd(cg_fd, &id);

	if (err)
		return err;
	if (info->cgroup.cgroup_id != id) {
		pr_err("the loaded guard is attached to another cgroup than %s: run `tunnelguard unload` first to move it\n",
		       cgroup);
		return -EEXIST;
	}
	return 0;
}

/*
 * Swap the program of a pinned link. The program it ran is taken from the link itself (by id),
 * not from its prog_* pin: a deleted pin must not stop load from repairing it, and the link is
 * what the kernel runs.
 */
static int swap_hook(struct bpf_program *prog, size_t i, int link_fd, int cg_fd, const char *cgroup,
		     const char *pin_dir, struct load_state *st)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int err;

	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0) {
		err = -errno;
		pr_err("cannot read the loaded %s link in %s: %s\n", hooks[i].name, pin_dir,
		       strerror(-err));
		return err;
	}
	err = check_same_cgroup(&info, cg_fd, cgroup);
	if (!err)
		err = pins_path(path, sizeof(path), pin_dir, hooks[i].link_pin);
	if (err)
		return err;
	if (st->old_prog_fd[i] < 0)
		st->old_prog_fd[i] = bpf_prog_get_fd_by_id(info.prog_id);
	if (st->old_prog_fd[i] < 0) {
		err = -errno;
		pr_err("cannot open program id %u of the loaded %s link: %s\n", info.prog_id,
		       hooks[i].name, strerror(-err));
		return err;
	}
	st->link[i] = bpf_link__open(path);
	if (!st->link[i]) {
		err = -errno;
		pr_err("cannot open the loaded %s link %s: %s\n", hooks[i].name, path,
		       strerror(-err));
		return err;
	}
	err = bpf_link__update_program(st->link[i], prog);
	if (err) {
		pr_err("cannot swap the %s program: %s\n", hooks[i].name, strerror(-err));
		return err;
	}
	pr_debug("swapped %s to program %s\n", hooks[i].name, bpf_program__name(prog));
	return 0;
}

/*
 * Put one hook under the new program: swap an existing link, or attach and pin a new one (also
 * when its link pin was deleted, which destroyed the link and detached the hook).
 */
static int install_hook(struct tunnelguard *skel, size_t i, int cg_fd, const char *cgroup,
			const char *pin_dir, struct load_state *st)
{
	struct bpf_program *prog = hook_program(skel, i);
	char path[PATH_MAX];
	int link_fd, err;

	link_fd = pins_open(pin_dir, hooks[i].link_pin);
	if (link_fd >= 0) {
		err = swap_hook(prog, i, link_fd, cg_fd, cgroup, pin_dir, st);
		close(link_fd);
		return err;
	}
	if (link_fd != -ENOENT) {
		pr_err("cannot open pinned link %s/%s: %s\n", pin_dir, hooks[i].link_pin,
		       strerror(-link_fd));
		return link_fd;
	}
	st->link[i] = bpf_program__attach_cgroup(prog, cg_fd);
	if (!st->link[i]) {
		err = -errno;
		pr_err("cannot attach %s to %s: %s%s\n", hooks[i].name, cgroup, strerror(-err),
		       err == -EPERM ? " (are you root?)" : "");
		return err;
	}
	err = pins_path(path, sizeof(path), pin_dir, hooks[i].link_pin);
	if (!err)
		err = bpf_link__pin(st->link[i], path);
	if (err) {
		pr_err("cannot pin the %s link in %s: %s\n", hooks[i].name, pin_dir,
		       strerror(-err));
		return err;
	}
	st->attached[i] = 1;
	return 0;
}

static void roll_back(struct load_state *st, const char *pin_dir)
{
	size_t i;

	for (i = 0; i < NR_HOOKS; i++) {
		if (st->attached[i]) {
			bpf_link__unpin(st->link[i]);
			bpf_link__detach(st->link[i]);
		} else if (st->link[i] && st->old_prog_fd[i] >= 0) {
			/* Put the previous program back; it is still alive through its pin. */
			if (bpf_link_update(bpf_link__fd(st->link[i]), st->old_prog_fd[i], NULL) <
			    0)
				pr_err("cannot restore the previous %s program: %s\n",
				       hooks[i].name, strerror(errno));
		}
	}
	/* The pins describe the programs in force again. */
	for (i = 0; st->pinned_objects && i < NR_HOOKS; i++) {
		if (st->old_prog_fd[i] < 0 ||
		    loader_replace_pin(st->old_prog_fd[i], pin_dir, hooks[i].prog_pin))
			loader_unpin(pin_dir, hooks[i].prog_pin);
	}
	for (i = 0; st->pinned_objects && i < NR_LOAD_MAPS; i++) {
		if (st->old_load_map_fd[i] < 0 ||
		    loader_replace_pin(st->old_load_map_fd[i], pin_dir, load_maps[i]))
			loader_unpin(pin_dir, load_maps[i]);
	}
	if (st->pinned_objects)
		loader_limits_roll_back(st->old_tunnel_max_fd, pin_dir);
	for (i = 0; i < NR_SHARED_MAPS; i++)
		if (st->pinned_map[i])
			loader_unpin(pin_dir, shared_maps[i]);
	if (st->created_pin_dir)
		rmdir(pin_dir);
}

/* Prove the new guard refuses before reporting success; the result is kept for status. */
static int prove_guard(struct tunnelguard *skel, const struct tg_policy *policy,
		       const struct loader_opts *opts, const char *cgroup)
{
	struct tg_selftest result = { .time_unix = (__u64)time(NULL),
				      .result = TG_SELFTEST_SKIPPED };
	char message[512] =
		"self-test skipped (--no-self-test): nothing proved that the guard refuses a cross-tenant connect";
	__u32 key = 0;
	int err = 0;

	if (!opts->no_self_test)
		err = selftest_run(policy,
				   skel->rodata_config->tg_use_set_retval
					   ? skel->rodata_config->tg_settings.deny_errno
					   : EPERM_VALUE,
				   cgroup, opts->pin_dir, &result, message, sizeof(message));
	/* The record names the programs it proved: status shows it only while they run. */
	for (size_t i = 0; i < NR_HOOKS && i < TG_SELFTEST_PROGS; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(hook_program(skel, i)), &info, &len) ==
		    0)
			result.prog_id[i] = info.id;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.tg_selftest), &key, &result, BPF_ANY) < 0)
		pr_warn("cannot record the self-test result: %s\n", strerror(errno));
	if (err)
		pr_err("%s\n", message);
	else if (result.result != TG_SELFTEST_PASSED)
		pr_warn("%s\n", message);
	else
		pr_info("%s\n", message);
	return err;
}

/*
 * Pin the new programs and their config under their names (each by a staging name and one
 * rename(), so a reader sees the old pin or the new one). load does this before the links
 * switch: a load killed at any point leaves pins that status can check against the links
 * (guard.c reads the policy from the program each link runs, not from these pins).
 */
static int pin_inspection_objects(struct tunnelguard *skel, const char *pin_dir,
				  struct load_state *st)
{
	int err = 0;

	/* What runs now, to put the pins back if this load fails. */
	for (size_t i = 0; i < NR_HOOKS; i++)
		st->old_prog_fd[i] = guard_link_prog_fd(pin_dir, hooks[i].link_pin);
	for (size_t i = 0; i < NR_LOAD_MAPS; i++)
		st->old_load_map_fd[i] = pins_open(pin_dir, load_maps[i]);
	st->pinned_objects = 1;
	for (size_t i = 0; i < NR_HOOKS && !err; i++)
		err = loader_replace_pin(bpf_program__fd(hook_program(skel, i)), pin_dir,
					 hooks[i].prog_pin);
	for (size_t i = 0; i < NR_LOAD_MAPS && !err; i++)
		err = loader_replace_pin(bpf_map__fd(load_map(skel, i)), pin_dir, load_maps[i]);
	if (!err)
		err = loader_limits_pin(skel, pin_dir, &st->old_tunnel_max_fd);
	return err;
}

int loader_load(const struct tg_config *cfg, const struct loader_opts *opts)
{
	struct load_state st = {};
	struct tunnelguard *skel = NULL;
	char cgroup[PATH_MAX];
	struct stat sb;
	int cg_fd = -1, err;
	size_t i;

	for (i = 0; i < NR_LOAD_MAPS; i++)
		st.old_load_map_fd[i] = -1;
	st.old_tunnel_max_fd = -1;
	for (i = 0; i < NR_HOOKS; i++)
		st.old_prog_fd[i] = -1;
	/* Pins in a bpffs private to this mount namespace would die with this process. */
	err = mounts_require_persistent_pins(opts->pin_dir);
	if (err)
		return err;
	err = check_kernel();
	if (err)
		return err;
	err = loader_lock();
	if (err)
		return err;

	if (opts->cgroup) {
		snprintf(cgroup, sizeof(cgroup), "%s", opts->cgroup);
	} else {
		err = mounts_find_cgroup2(cgroup, sizeof(cgroup));
		if (err)
			goto cleanup;
	}
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		pr_err("cannot open cgroup %s: %s\n", cgroup, strerror(-err));
		goto cleanup;
	}
	st.created_pin_dir = stat(opts->pin_dir, &sb) < 0;
	err = mounts_prepare_pin_dir(opts->pin_dir);
	if (err)
		goto cleanup;

	skel = tunnelguard__open();
	if (!skel) {
		err = -errno;
		pr_err("cannot open the embedded BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	err = choose_settings(skel, cfg);
	if (!err)
		err = loader_limits_prepare(skel, cfg);
	if (err)
		goto cleanup;
	if (reserved_ports_apply(&cfg->policy) || cfg->policy.mode == TG_MODE_AUDIT)
		warn_ephemeral_reservations(&cfg->policy);
	err = pins_netns_cookie((__u64 *)&skel->rodata_config->tg_netns_cookie);
	if (err) {
		pr_err("cannot read this network namespace's cookie: %s (kernel older than 5.14?)\n",
		       strerror(-err));
		goto cleanup;
	}
	err = capacity_size_port_owner(skel->maps.tg_port_owner, cfg->port_owner_max,
				       opts->pin_dir);
	for (i = 0; i < NR_SHARED_MAPS && !err; i++)
		err = loader_reuse_or_pin_map(shared_map(skel, i), opts->pin_dir, shared_maps[i],
					      &st.pinned_map[i]);
	if (err)
		goto cleanup;
	err = tunnelguard__load(skel);
	if (err) {
		pr_err("the kernel refused the BPF programs: %s (run with -vv for the verifier log; does the kernel have cgroup BPF and BTF?)\n",
		       strerror(-err));
		goto cleanup;
	}
	err = policy_maps_fill(
		&(struct policy_map_fds){ .tenant_uids = bpf_map__fd(skel->maps.tg_tenant_uids),
					  .tenant_uids_high =
						  bpf_map__fd(skel->maps.tg_tenant_uids_high),
					  .ports = bpf_map__fd(skel->maps.tg_ports),
					  .allow_rules = bpf_map__fd(skel->maps.tg_allow_rules),
					  .tenant_names = bpf_map__fd(skel->maps.tg_tenant_names) },
		&cfg->policy, (const struct tg_settings *)&skel->rodata_config->tg_settings);
	if (!err)
		err = loader_limits_fill(skel, cfg);
	if (err)
		goto cleanup;
	loader_test_pause("programs_loaded");
	/* The trie must be complete before a new program can consult it. */
	err = sync_maps(skel);
	if (err)
		goto cleanup;
	loader_test_pause("maps_synced");
	err = pin_inspection_objects(skel, opts->pin_dir, &st);
	if (err)
		goto cleanup;
	loader_test_pause("objects_pinned");
	for (i = 0; i < NR_HOOKS; i++) {
		char step[32];

		err = install_hook(skel, i, cg_fd, cgroup, opts->pin_dir, &st);
		if (err)
			goto cleanup;
		snprintf(step, sizeof(step), "hook_%s", hooks[i].name);
		loader_test_pause(step);
	}
	err = prove_guard(skel, &cfg->policy, opts, cgroup);
	if (err) {
		pr_err("load rolled back: the previous state stays\n");
		goto cleanup;
	}
	loader_test_pause("self_tested");
	remove_legacy_tracer(opts->pin_dir);
	pr_info("guard in force on %s, pinned in %s\n", cgroup, opts->pin_dir);

cleanup:
	if (err)
		roll_back(&st, opts->pin_dir);
	for (i = 0; i < NR_HOOKS; i++) {
		bpf_link__destroy(st.link[i]);
		if (st.old_prog_fd[i] >= 0)
			close(st.old_prog_fd[i]);
	}
	for (i = 0; i < NR_LOAD_MAPS; i++)
		if (st.old_load_map_fd[i] >= 0)
			close(st.old_load_map_fd[i]);
	if (st.old_tunnel_max_fd >= 0)
		close(st.old_tunnel_max_fd);
	tunnelguard__destroy(skel);
	if (cg_fd >= 0)
		close(cg_fd);
	loader_unlock();
	return err;
}

static const char *const pin_names[] = { TG_PIN_ALL };

int loader_unload(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int fd, err;
	size_t i;

	err = loader_lock();
	if (err)
		return err;
	/* Detach explicitly: a process still holding a link fd must not keep the guard alive. */
	for (i = 0; i < NR_HOOKS; i++) {
		fd = pins_open(pin_dir, hooks[i].link_pin);
		if (fd < 0)
			continue;
		if (bpf_link_detach(fd) < 0 && errno != EOPNOTSUPP) {
			err = -errno;
			pr_err("cannot detach %s: %s\n", hooks[i].name, strerror(-err));
		}
		close(fd);
	}
	remove_legacy_tracer(pin_dir);
	for (i = 0; i < ARRAY_SIZE(pin_names); i++)
		loader_unpin(pin_dir, pin_names[i]);
	/* Leftovers of an interrupted pin replacement. */
	dir = opendir(pin_dir);
	if (!dir) {
		if (errno != ENOENT)
			pr_err("cannot read pin dir %s: %s\n", pin_dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, "_new") == 0 &&
		    !pins_path(path, sizeof(path), pin_dir, de->d_name))
			unlink(path);
	}
	closedir(dir);
	if (rmdir(pin_dir) < 0 && errno != ENOENT) {
		err = -errno;
		pr_warn("pin dir %s is not empty after unload: %s (objects not made by tunnelguard are left alone)\n",
			pin_dir, strerror(-err));
	}
out:
	loader_unlock();
	return err;
}
