// SPDX-License-Identifier: GPL-2.0-only
/*
 * fixture.h - throwaway kernel test fixtures, in the spirit of the kernel selftests'
 * cgroup_helpers: every test gets its own network namespace, cgroup, pin dir and config file,
 * and all of them are removed on every exit path (a sweep in the runner removes what a crashed
 * test left). Tests never touch the host's config, the default pin dir or the root cgroup.
 *
 * Connectors and listeners are forked children that join the test cgroup and drop to a
 * test-only uid with setresuid(); the uids used (2001-2003, 2999) must belong to no account.
 */
#ifndef TG_TEST_FIXTURE_H
#define TG_TEST_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct tg_netns_info; /* tg_maps.h */

#define FX_PREFIX "tg-test-"

struct fx {
	char cgroup[PATH_MAX];	   /* throwaway cgroup under the cgroup v2 mount */
	char pin_dir[PATH_MAX];	   /* throwaway dir under /sys/fs/bpf */
	char config[PATH_MAX];	   /* throwaway config file */
	char daemon_out[PATH_MAX]; /* stdout of fx_daemon_start() */
	char daemon_err[PATH_MAX];
	char output[16384]; /* stdout and stderr of the last fx_cli() */
	bool ready;
};

struct fx_listener {
	pid_t pid; /* killed by fx_listener_stop(), and by the kernel if the test dies */
};

/* Set up, or cr_skip_test() with the reason when not root or the kernel lacks a feature. */
void fx_setup(struct fx *fx);
void fx_teardown(struct fx *fx);

/* Remove every FX_PREFIX cgroup and pin dir left behind by a crashed test. */
void fx_sweep(void);

void fx_write_config(struct fx *fx, const char *text);

/* Run build/tunnelguard with the NULL-terminated arguments; returns its exit status. */
int fx_cli(struct fx *fx, ...) __attribute__((sentinel));

/* load/unload/status with the fixture's config, pin dir and cgroup. */
int fx_load(struct fx *fx);
int fx_unload(struct fx *fx);

/* A listener of uid on addr:port (IPv4 or IPv6 text form) that accepts and closes forever. */
struct fx_listener fx_listen(uid_t uid, const char *addr, uint16_t port, bool v6only);
void fx_listener_stop(struct fx_listener *l);

/*
 * In a forked child: join the test cgroup (where the guard judges), become uid (groups cleared)
 * and die with the parent (PR_SET_PDEATHSIG, set after the uid change, which clears it). With
 * parent != 0, a child whose parent is already gone fails. 0, or -1 when a step failed.
 */
/*
 * fx_listen() children join the test cgroup, as every process is in a root-attached guard's;
 * a test that needs listeners outside the guard's cgroup (where no SYN check runs for them) sets
 * this after fx_setup(). fx_teardown() clears it.
 */
extern bool fx_listen_outside;

/* Move the calling process into fx's test cgroup: 0 or -1. */
int fx_join_cgroup(const struct fx *fx);

int fx_enter_as(const struct fx *fx, uid_t uid, pid_t parent);

/*
 * connect() as uid from inside the test cgroup, with a socket of the given family (AF_INET or
 * AF_INET6) to addr:port. Returns 0 on success or the errno connect() failed with.
 */
int fx_connect_as(struct fx *fx, uid_t uid, int family, const char *addr, uint16_t port);

/*
 * bind() as uid from inside the test cgroup: a socket of the given family and type
 * (SOCK_STREAM or SOCK_DGRAM), IPV6_V6ONLY set to v6only on IPv6, to addr:port. Returns 0 on
 * success or the errno bind() failed with.
 */
int fx_bind_as(struct fx *fx, uid_t uid, int family, int type, const char *addr, uint16_t port,
	       bool v6only);

/*
 * count connects as uid (inside the test cgroup), one new socket each; returns how many failed
 * with ECONNREFUSED in *refused and how many succeeded in *succeeded.
 */
void fx_connect_many(struct fx *fx, uid_t uid, int family, const char *addr, uint16_t port,
		     long count, long *refused, long *succeeded);

/* The owner recorded in the fixture's port_owner map for addr:port. 0, or -ENOENT. */
int fx_port_owner(struct fx *fx, const char *addr, uint16_t port, uint32_t *uid);

/* Poll fx_port_owner() up to timeout_ms until it is present (want_present) or absent. */
bool fx_wait_port_owner(struct fx *fx, const char *addr, uint16_t port, bool want_present,
			uint32_t *uid, int timeout_ms);

/* Whether the daemon fx_daemon_start() started has said "daemon running", within timeout_ms. */
bool fx_daemon_ready(const struct fx *fx, int timeout_ms);

/* Start `tunnelguard daemon` with the fixture's config and pin dir and extra arguments (NULL
 * terminated); its stdout goes to fx->daemon_out, stderr to fx->daemon_err. */
pid_t fx_daemon_start(struct fx *fx, ...) __attribute__((sentinel));
/* Send sig and reap. Returns the exit status (128+signal when killed). */
int fx_daemon_stop(pid_t pid, int sig);
/* Count the lines of a file. */
long fx_count_lines(const char *path, const char *containing);

/* Sum over CPUs of one tg_counters entry of the fixture's guard. */
uint64_t fx_counter(struct fx *fx, unsigned int reason);

/* Number of programs of the given attach type on the fixture's cgroup. */
unsigned int fx_cgroup_prog_count(struct fx *fx, int attach_type);

/* Run a shell command (in the test's namespace); its stdout in out. Returns the exit status. */
int fx_run(const char *cmd, char *out, size_t len);

/* A sockaddr of family for addr:port (an IPv4 text for AF_INET6 is v4-mapped); its length, or 0
 * when addr does not parse. */
socklen_t fx_make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* A forked child that could not set itself up exits with this; no socket call returns it. */
#define CHILD_SETUP_FAILED 250

/* In a forked child: become uid (groups cleared), or _exit(CHILD_SETUP_FAILED). */
void fx_drop_to(uid_t uid);

/*
 * Run argv (argv[0] found on PATH) with stdout and stderr into out (len bytes, NUL-terminated;
 * what does not fit is read and dropped), killed after timeout_s seconds when not 0. Its exit
 * status, or 128 + the signal that ended it.
 */
int fx_run_argv(const char *const *argv, char *out, size_t len, unsigned int timeout_s);

/* fx_run_argv() without assertions (for a child that is not the test): -1 when it cannot run. */
int fx_try_run_argv(const char *const *argv, char *out, size_t len, unsigned int timeout_s);

/* The tunnelguard binary under test: $TG_BINARY, else build/tunnelguard. */
const char *fx_binary(void);

/* Bring a link up by name in the current network namespace. 0 or -errno. */
int fx_link_up(const char *ifname);

/*
 * A second network namespace, as on a real host where the guard is loaded from one namespace
 * and tenants listen and connect in another. The test process stays in its own; children
 * setns() into this one. Removing it is closing fd: the kernel frees the namespace (and the
 * veths, routes and nft tables made in it) once the last process in it has gone, so a crashed
 * test leaves nothing behind.
 */
struct fx_netns {
	int fd;		 /* open /proc/self/ns/net of the namespace; -1 when none */
	uint64_t cookie; /* its SO_NETNS_COOKIE */
	char path[64];	 /* /proc/PID/fd/FD, for nsenter --net= */
};

/* Make a namespace with lo up; the caller stays in its own. Asserts on failure. */
void fx_netns_new(struct fx_netns *ns);
void fx_netns_delete(struct fx_netns *ns);

/* Run a shell command as root inside ns; its stdout and stderr in out. Returns the status. */
int fx_run_in(const struct fx_netns *ns, const char *cmd, char *out, size_t len);

/*
 * A listener of uid inside ns and the test cgroup (so that the guard's SYN check sees it) on
 * addr:port. addr may carry a scope, "fe80::1%veth0". device, when not NULL, is set with
 * SO_BINDTODEVICE by the listener itself (after the uid change). Accepts and closes forever.
 */
struct fx_listener fx_listen_in(struct fx *fx, const struct fx_netns *ns, uid_t uid,
				const char *addr, uint16_t port, bool v6only, const char *device);

/*
 * connect() as uid from inside ns and the test cgroup, SO_SNDTIMEO timeout_ms; addr may carry a
 * scope ("fe80::1%veth0"), and an IPv4 text is v4-mapped for AF_INET6. device, when not NULL, is
 * set with SO_BINDTODEVICE by the connector itself. Returns 0 on success or the errno connect()
 * failed with (EINPROGRESS when the timeout ran out).
 */
int fx_connect_in(struct fx *fx, const struct fx_netns *ns, uid_t uid, int family, const char *addr,
		  uint16_t port, const char *device, int timeout_ms);

/* The fixture's tg_netns entry for cookie: 0 and *info, or -ENOENT. */
int fx_netns_info(struct fx *fx, uint64_t cookie, struct tg_netns_info *info);

/* Poll fx_netns_info() up to timeout_ms until the namespace's addresses are known. */
bool fx_wait_netns_addrs_known(struct fx *fx, uint64_t cookie, int timeout_ms);

#endif /* TG_TEST_FIXTURE_H */
