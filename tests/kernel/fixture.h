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
#include <sys/types.h>

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

/* Bring a link up by name in the current network namespace. 0 or -errno. */
int fx_link_up(const char *ifname);

#endif /* TG_TEST_FIXTURE_H */
