// SPDX-License-Identifier: GPL-2.0-only
/*
 * adv.h - helpers for the adversarial suite, on top of tests/kernel/fixture.h.
 *
 * Every attack runs in a forked child that joins a cgroup, takes the attacker's identity with
 * setresuid() and reports the errno of each step it took through a pipe. A case of the attack
 * table names the listener, the attacker, the attack and what must happen, for example
 *	{ .name = "TFO sendto v4", .owner = TENANT_A, .listen = "127.0.0.1",
 *	  .caller = TENANT_B, .attack = adv_attack_tfo_sendto, .family = AF_INET,
 *	  .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = { [TG_DENY_OTHER_TENANT] = 1 } }
 * and adv_run_cases() checks the errnos and that every counter moved by exactly .delta.
 *
 * Every process a helper starts is remembered and killed by adv_cleanup(), and every cgroup
 * made by adv_cgroup_make() is removed by it, so a test's .fini cleans up on every path.
 */
#ifndef TG_TEST_ADV_H
#define TG_TEST_ADV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "tg_policy.h"

#include "kernel/fixture.h"

#define TENANT_A   2001
#define TENANT_B   2002
#define TENANT_C   2003
#define SERVICE	   2999
#define ADV_NOBODY ((uid_t)-1) /* no listener at all */

#define ADV_BASE_CONFIG "tenant-uids = 2001-2003\n"

#define ADV_MAX_STEPS 4

/* What a child did: the errno of each step (0: it succeeded), or where its setup failed. */
struct adv_result {
	int steps;		/* -1 when the setup failed */
	int err[ADV_MAX_STEPS]; /* errno of each step */
	int setup_errno;	/* when steps == -1 */
	char setup_what[48];	/* the call that failed */
};

/* A child started by adv_spawn(). */
struct adv_proc {
	pid_t pid;
	int from_child; /* ready and done messages */
	int to_child;	/* the go byte */
};

/* Who a child is: the cgroup it joins (NULL: stays where the test runs) and its uids. */
struct adv_who {
	const char *cgroup;
	uid_t ruid;
	uid_t euid; /* the saved uid is 0 when ruid and euid differ, else euid */
};

typedef void (*adv_child_fn)(void *arg, struct adv_result *out);

/* Fork a child as who that runs fn(arg, out) and reports out. */
struct adv_proc adv_spawn(const struct adv_who *who, adv_child_fn fn, void *arg);
/* Wait for the child's adv_ready(err); returns err. */
int adv_wait_ready(struct adv_proc *p);
/* Let a child blocked in adv_wait_go() go on. */
void adv_go(struct adv_proc *p);
/* Wait for the child's result and reap it; a failed setup fails the test. */
void adv_finish(struct adv_proc *p, const char *name, struct adv_result *out);
/* Kill and reap. */
void adv_stop(struct adv_proc *p);
/* adv_spawn() + adv_finish(). */
void adv_run(const struct adv_who *who, adv_child_fn fn, void *arg, const char *name,
	     struct adv_result *out);

/* In a child: report readiness (err 0) or a failure (then exit), and wait for the go byte. */
void adv_ready(int err);
void adv_wait_go(void);
/* In a child: record that the setup step `what` failed with errno. */
void adv_setup_failed(struct adv_result *out, const char *what);
/* In a child: append one step's result (0 on success, else the errno now set). */
void adv_step(struct adv_result *out, int ok);

enum adv_listen_flags {
	ADV_V6ONLY = 1 << 0,	/* IPV6_V6ONLY on an IPv6 listener */
	ADV_REUSEPORT = 1 << 1, /* SO_REUSEPORT */
	ADV_BIND_LO = 1 << 2,	/* SO_BINDTODEVICE "lo" */
	ADV_ECHO = 1 << 3,	/* echo each connection until EOF instead of closing it */
	ADV_UDP = 1 << 4,	/* a UDP socket: counts datagrams, reported after adv_go() */
	ADV_NO_REUSEADDR = 1 << 5,
};

/*
 * A listener of ruid/euid on addr:port (not in any test cgroup). Returns 0 with *p running, or
 * the errno its bind() or listen() failed with (then the child is gone).
 */
int adv_listen(struct adv_proc *p, uid_t ruid, uid_t euid, const char *addr, uint16_t port,
	       unsigned int flags);

/* Fill ss for family from text; an IPv4 text for AF_INET6 is v4-mapped. Returns the length. */
socklen_t adv_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* Counters of the fixture's guard, and the exact-delta check. */
struct adv_counts {
	uint64_t n[TG_REASON_COUNT];
};
void adv_counts_read(struct fx *fx, struct adv_counts *c);
void adv_expect_deltas(const char *name, const struct adv_counts *before,
		       const struct adv_counts *after, const unsigned int *delta);
void adv_expect_steps(const char *name, const struct adv_result *got, const int *want, int steps);

/* mkdir fx->cgroup/rel (parents first); removed by adv_cleanup(). Path in out. */
void adv_cgroup_make(struct fx *fx, const char *rel, char *out, size_t len);
/* Kill every child still running, remove the cgroups made. Call before fx_teardown(). */
void adv_cleanup(void);

/* The fixture every adversarial test runs in, and its .init and .fini: fx_setup(), and
 * adv_cleanup() then fx_teardown(). */
extern struct fx adv_fx;
void adv_setup(void);
void adv_teardown(void);

/* SCM_RIGHTS over a unix socket. 0 or -errno; adv_recv_fd returns the fd or -errno. */
int adv_send_fd(int unix_fd, int fd);
int adv_recv_fd(int unix_fd);

/*
 * A cgroup/connect4 program built from raw instructions: it rewrites a destination port
 * `from` to `to` (both host order) and allows. from == to: allow everything unchanged.
 * Returns the program fd or -errno.
 */
int adv_port_rewriter(uint16_t from, uint16_t to);

/* ------------------------------------------------------------------ the attack table */

/* The ports of one case: the listener's, one where nothing listens, the caller's own. */
struct adv_target {
	uint16_t port;
	uint16_t closed_port;
	uint16_t own_port;
};

struct adv_case;
typedef void (*adv_attack_fn)(const struct adv_case *c, const struct adv_target *t,
			      struct adv_result *out);
/* Run as the caller before the attack (e.g. unshare); 0 or an errno (a setup failure). */
typedef int (*adv_prelude_fn)(const struct adv_case *c);

enum adv_socket_flags {
	ADV_SOCK_BIND_LO = 1 << 0, /* SO_BINDTODEVICE "lo" on the caller's socket */
};

struct adv_case {
	const char *name;
	uid_t owner;	     /* the listener's uid, ADV_NOBODY for none */
	const char *listen;  /* its address */
	unsigned int lflags; /* enum adv_listen_flags */
	const char *own;     /* when set, the caller also listens here, on own_port */
	uid_t caller;	     /* ruid = euid of the caller */
	const char *cgroup;  /* the caller's cgroup below the test cgroup; NULL: the test cgroup */
	adv_prelude_fn prelude;
	adv_attack_fn attack;
	int family;
	int protocol;	     /* 0 or IPPROTO_MPTCP */
	const char *to;	     /* destination address */
	const char *bind;    /* bind the caller's socket here (port 0) before anything else */
	unsigned int sflags; /* enum adv_socket_flags */
	int steps;
	int expect[ADV_MAX_STEPS]; /* errno of each step the attack reports */
	unsigned int delta[TG_REASON_COUNT];
};

#define EXPECT(...) \
	.expect = { __VA_ARGS__ }, .steps = (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int))

/* Run every case against the fixture's loaded guard, ports from base_port up. */
void adv_run_cases(struct fx *fx, const struct adv_case *cases, size_t n, uint16_t base_port);

/* The caller's socket for a case: family, protocol, sflags and bind applied. fd or -1. */
int adv_case_socket(const struct adv_case *c, int type, struct adv_result *out);

/* Attacks. Each reports the steps named in its comment. */
/* connect(port) */
void adv_attack_connect(const struct adv_case *c, const struct adv_target *t,
			struct adv_result *out);
/* connect(port 0) */
void adv_attack_connect_port0(const struct adv_case *c, const struct adv_target *t,
			      struct adv_result *out);
/* sendto(MSG_FASTOPEN) on a fresh socket */
void adv_attack_tfo_sendto(const struct adv_case *c, const struct adv_target *t,
			   struct adv_result *out);
/* TCP_FASTOPEN_CONNECT, connect(port) */
void adv_attack_tfo_connect(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out);
/* O_NONBLOCK connect(port); SO_ERROR once writable (2 s at most) */
void adv_attack_nonblocking(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out);
/* connect(closed_port); connect(port) on the same socket */
void adv_attack_closed_then(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out);
/* connect(own_port); connect(AF_UNSPEC); connect(port) on the same socket */
void adv_attack_disconnect_then(const struct adv_case *c, const struct adv_target *t,
				struct adv_result *out);

#endif /* TG_TEST_ADV_H */
