// SPDX-License-Identifier: GPL-2.0-only
/*
 * `ip netns exec` gives the command a mount namespace with a fresh /sys: a bpffs there (or one
 * load would mount) dies with the command. load must refuse there rather than print "guard in
 * force" and leave nothing attached, and status/unload must not report a state they cannot see.
 * `nsenter --net=` keeps the host's mounts and must work. Everything is checked from the host's
 * view. Needs root, ip(8) and nsenter(1); each test has its own named netns, cgroup and pin dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"

#include "config.h"
#include "fixture.h"
#include "loader.h"
#include "mounts.h"

#define CONFIG	     "tenant-uids = 2001-2003\nlayers = bpf\n"
#define NETNS_PREFIX FX_PREFIX "mnt-"
#define HINT	     "nsenter --net=/run/netns/NAME tunnelguard"

static struct fx fx;
static char netns[64];
static char output[16384];

/* Every hook the guard attaches to its cgroup. */
static const struct {
	const char *name;
	int type;
} hooks[] = {
	{ "connect4", BPF_CGROUP_INET4_CONNECT },     { "connect6", BPF_CGROUP_INET6_CONNECT },
	{ "bind4", BPF_CGROUP_INET4_BIND },	      { "bind6", BPF_CGROUP_INET6_BIND },
	{ "post_bind4", BPF_CGROUP_INET4_POST_BIND }, { "post_bind6", BPF_CGROUP_INET6_POST_BIND },
	{ "syn_in", BPF_CGROUP_INET_INGRESS },	      { "syn_out", BPF_CGROUP_INET_EGRESS },
};

static const char *binary(void)
{
	const char *b = getenv("TG_BINARY");

	return b ? b : "build/tunnelguard";
}

/* Run argv with stdout and stderr into output, at most 60 s. Returns the exit status. */
static int run(const char *const *argv)
{
	return fx_run_argv(argv, output, sizeof(output), 60);
}

/* Named namespaces of earlier runs whose test process is gone (a crash skips the fini). */
static void sweep_netns(void)
{
	char out[4096], cmd[128], sink[256], *line, *save = NULL;

	if (fx_run("ip netns list 2>/dev/null", out, sizeof(out)))
		return;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long pid;

		if (strncmp(line, NETNS_PREFIX, strlen(NETNS_PREFIX)) != 0)
			continue;
		pid = strtol(line + strlen(NETNS_PREFIX), NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
			snprintf(cmd, sizeof(cmd), "ip netns del %.60s 2>/dev/null",
				 strtok(line, " "));
			fx_run(cmd, sink, sizeof(sink));
		}
	}
}

static void setup(void)
{
	char out[512], cmd[128];

	fx_setup(&fx);
	if (access("/usr/bin/nsenter", X_OK) < 0 && access("/bin/nsenter", X_OK) < 0)
		cr_skip_test("no nsenter(1) (util-linux)");
	sweep_netns();
	snprintf(netns, sizeof(netns), NETNS_PREFIX "%d", getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s 2>&1", netns);
	cr_assert_eq(fx_run(cmd, out, sizeof(out)), 0, "%s: %s", cmd, out);
	fx_write_config(&fx, CONFIG);
}

static void teardown(void)
{
	char out[512], cmd[128];

	if (netns[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>&1", netns);
		fx_run(cmd, out, sizeof(out));
		netns[0] = '\0';
	}
	fx_teardown(&fx);
}

static void assert_nothing_left(const char *after)
{
	struct stat st;

	cr_assert_eq(stat(fx.pin_dir, &st), -1, "%s: %s exists in the host's view", after,
		     fx.pin_dir);
	cr_assert_eq(errno, ENOENT, "%s: stat %s: %s", after, fx.pin_dir, strerror(errno));
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		cr_assert_eq(fx_cgroup_prog_count(&fx, hooks[i].type), 0,
			     "%s: a %s program is attached to %s", after, hooks[i].name, fx.cgroup);
}

static void assert_guard_in_force(const char *after)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, TG_PIN_LINK_CONNECT4);
	cr_assert_eq(access(path, F_OK), 0, "%s: %s is not pinned in the host's view", after, path);
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		cr_assert_eq(fx_cgroup_prog_count(&fx, hooks[i].type), 1, "%s: no %s program on %s",
			     after, hooks[i].name, fx.cgroup);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s: host status: %s",
		     after, fx.output);
	cr_assert(strstr(fx.output, "tunnelguard: loaded\n"), "%s: %s", after, fx.output);
}

/* The refusal names the way that works and does not claim a guard. */
static void assert_refused_with_hint(int status, const char *what)
{
	cr_assert_eq(status, 1, "%s must exit 1: %s", what, output);
	cr_assert(strstr(output, HINT), "%s must say to use nsenter: %s", what, output);
	cr_assert(strstr(output, "ip netns exec"), "%s must name what not to use: %s", what,
		  output);
	cr_assert_null(strstr(output, "guard in force"), "%s: %s", what, output);
}

Test(mountns, ip_netns_exec_load_refuses_and_leaves_nothing, .init = setup, .fini = teardown)
{
	const char *argv[] = { "ip",	   "netns",   "exec",	 netns,	      binary(),
			       "load",	   "-c",      fx.config, "--pin-dir", fx.pin_dir,
			       "--cgroup", fx.cgroup, NULL };

	assert_refused_with_hint(run(argv), "load under ip netns exec");
	cr_assert(strstr(output, "refusing to load"), "%s", output);
	assert_nothing_left("after load under ip netns exec");
}

/*
 * What the issue saw: inside the command's namespace a bpffs and the cgroup2 hierarchy are
 * mounted, so load finds everything it needs, and its pins die with the namespace.
 */
Test(mountns, ip_netns_exec_load_over_a_private_bpffs_refuses, .init = setup, .fini = teardown)
{
	char script[PATH_MAX * 4];
	const char *argv[] = { "ip", "netns", "exec", netns, "sh", "-c", script, NULL };
	const char *cgroup = strrchr(fx.cgroup, '/') + 1;

	snprintf(script, sizeof(script),
		 "mount -t bpf bpf " MOUNTS_BPFFS_ROOT
		 " && mount -t cgroup2 none /sys/fs/cgroup && "
		 "exec '%s' load -c '%s' --pin-dir '%s' --cgroup /sys/fs/cgroup/%s",
		 binary(), fx.config, fx.pin_dir, cgroup);
	assert_refused_with_hint(run(argv), "load over a private bpffs");
	cr_assert(strstr(output, "is not mounted in PID 1's"), "%s", output);
	assert_nothing_left("after load over a private bpffs");
}

Test(mountns, ip_netns_exec_status_and_unload_do_not_guess, .init = setup, .fini = teardown)
{
	const char *status[] = { "ip",	   "netns",	"exec",	    netns, binary(),
				 "status", "--pin-dir", fx.pin_dir, NULL };
	const char *json[] = { "ip",	 "netns",  "exec",	netns,	    binary(),
			       "status", "--json", "--pin-dir", fx.pin_dir, NULL };
	const char *unload[] = { "ip",	   "netns",	"exec",	    netns, binary(),
				 "unload", "--pin-dir", fx.pin_dir, NULL };
	const char *check[] = { "ip",	"netns",  "exec", netns,       binary(),   "check", "--uid",
				"2002", "--port", "8001", "--pin-dir", fx.pin_dir, NULL };
	const char *check_c[] = { "ip",	   "netns",   "exec",	   netns,      binary(),
				  "check", "--uid",   "2002",	   "--port",   "8001",
				  "-c",	   fx.config, "--pin-dir", fx.pin_dir, NULL };

	cr_assert_eq(fx_load(&fx), 0, "load from the host: %s", fx.output);
	cr_assert_eq(run(status), 4, "status exits 4 (cannot tell), not 0, 1 or 3: %s", output);
	cr_assert(strstr(output, "cannot see the pins"), "%s", output);
	cr_assert(strstr(output, HINT), "%s", output);
	cr_assert_null(strstr(output, "not loaded"), "%s", output);
	cr_assert_null(strstr(output, "tunnelguard: loaded"), "%s", output);
	cr_assert_eq(run(json), 4, "status --json: %s", output);
	cr_assert_null(strstr(output, "\"loaded\""), "no JSON verdict: %s", output);
	/* check without -c would judge by the default config, not the guard's policy. */
	cr_assert_eq(run(check), 2, "check that cannot see the policy (1 would be deny): %s",
		     output);
	cr_assert(strstr(output, "give -c FILE"), "%s", output);
	cr_assert_eq(run(check_c), 0, "check with -c judges by the file: %s", output);
	cr_assert(strstr(output, "allow 127.0.0.1:8001 allow_no_listener"), "%s", output);
	cr_assert_eq(run(unload), 1, "unload that cannot see the pins: %s", output);
	cr_assert(strstr(output, HINT), "%s", output);
	assert_guard_in_force("after status and unload under ip netns exec");
}

Test(mountns, nsenter_load_persists_and_unloads, .init = setup, .fini = teardown)
{
	char net[128];
	const char *load[] = { "nsenter",   net,	binary(),   "load",    "-c", fx.config,
			       "--pin-dir", fx.pin_dir, "--cgroup", fx.cgroup, NULL };
	const char *status[] = {
		"nsenter", net, binary(), "status", "--pin-dir", fx.pin_dir, NULL
	};
	const char *unload[] = {
		"nsenter", net, binary(), "unload", "--pin-dir", fx.pin_dir, NULL
	};

	snprintf(net, sizeof(net), "--net=/run/netns/%s", netns);
	cr_assert_eq(run(load), 0, "load under nsenter --net: %s", output);
	cr_assert(strstr(output, "guard in force"), "%s", output);
	assert_guard_in_force("after load under nsenter --net");
	cr_assert_eq(run(status), 0, "status under nsenter --net: %s", output);
	cr_assert(strstr(output, "tunnelguard: loaded\n"), "%s", output);
	cr_assert_eq(run(unload), 0, "unload under nsenter --net: %s", output);
	assert_nothing_left("after unload under nsenter --net");
}

/* What the child of private_namespace_child() found; 0 when all was as it must be. */
enum private_ns_result {
	PRIVATE_NS_OK,
	PRIVATE_NS_SETUP_FAILED,
	PRIVATE_NS_BPFFS_MOUNTED,	/* mounts_prepare_pin_dir() mounted a bpffs anyway */
	PRIVATE_NS_PREPARE_NOT_REFUSED, /* ... or did not return -EXDEV */
	PRIVATE_NS_LOAD_NOT_REFUSED, /* loader_load() over a private bpffs did not return -EXDEV */
};

/*
 * In a mount namespace of its own (no ip(8) in between): over a tmpfs where the bpffs belongs,
 * the pin dir preparation must not mount one; over a private bpffs, loader_load() must refuse
 * before anything else.
 */
static int private_namespace_child(void)
{
	struct loader_opts opts = { .pin_dir = fx.pin_dir, .cgroup = fx.cgroup };
	struct tg_config cfg;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", MOUNTS_BPFFS_ROOT, "tmpfs", 0, NULL) < 0)
		return PRIVATE_NS_SETUP_FAILED;
	if (mounts_prepare_pin_dir(fx.pin_dir) != -EXDEV)
		return PRIVATE_NS_PREPARE_NOT_REFUSED;
	if (mounts_is_bpffs(MOUNTS_BPFFS_ROOT) != 0)
		return PRIVATE_NS_BPFFS_MOUNTED;
	if (mount("bpf", MOUNTS_BPFFS_ROOT, "bpf", 0, NULL) < 0 || cfg_load(fx.config, &cfg))
		return PRIVATE_NS_SETUP_FAILED;
	if (loader_load(&cfg, &opts) != -EXDEV)
		return PRIVATE_NS_LOAD_NOT_REFUSED;
	return PRIVATE_NS_OK;
}

Test(mountns, a_private_mount_namespace_never_mounts_or_pins, .init = setup, .fini = teardown)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(private_namespace_child());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child died: status %d", status);
	cr_assert_eq(WEXITSTATUS(status), PRIVATE_NS_OK, "child result %d (enum private_ns_result)",
		     WEXITSTATUS(status));
	assert_nothing_left("after a private mount namespace");
}
