// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: who the guard thinks the caller is. The caller is the real uid of the task that
 * calls connect() (bpf_get_current_uid_gid(), mapped to the initial user namespace), whoever
 * made the socket; a listener's owner is its sk_uid, the fsuid of the task that made it. So a
 * socket handed to B is judged as B's, a user namespace changes nothing, and a new network
 * namespace holds no listener of A's at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "adv.h"

/* clang-format off */
#define DENY	  { [TG_DENY_OTHER_TENANT] = 1 }
#define NO_COUNTS { 0 }
/* clang-format on */

static void load(void)
{
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
}

/* ------------------------------------------------------------------ SCM_RIGHTS */

struct pass_arg {
	int unix_fd; /* this child's end of the socketpair */
	uint16_t port;
};

static void make_and_send(void *arg, struct adv_result *out)
{
	const struct pass_arg *p = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		adv_setup_failed(out, "socket");
		return;
	}
	errno = -adv_send_fd(p->unix_fd, fd);
	adv_step(out, errno == 0);
	close(fd);
}

static void receive_and_connect(void *arg, struct adv_result *out)
{
	const struct pass_arg *p = arg;
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(AF_INET, "127.0.0.1", p->port, &ss);
	int fd = adv_recv_fd(p->unix_fd);

	if (fd < 0) {
		errno = -fd;
		adv_setup_failed(out, "receive the socket");
		return;
	}
	adv_step(out, connect(fd, (struct sockaddr *)&ss, len) == 0);
	close(fd);
}

Test(adversarial, passed_sockets_are_judged_by_who_connects, .init = adv_setup,
     .fini = adv_teardown, .timeout = 60)
{
	/* in_cgroup false: the socket is made outside the cgroup the guard is attached to. */
	/* clang-format off */
	static const struct {
		const char *name;
		uid_t maker;
		bool maker_in_cgroup;
		uid_t connector;
		int expect;
		unsigned int delta[TG_REASON_COUNT];
	} cases[] = {
		{ "root's socket, B connects", 0, true, TENANT_B, ECONNREFUSED, DENY },
		{ "A's own socket, B connects", TENANT_A, true, TENANT_B, ECONNREFUSED, DENY },
		/*
		 * Limit, the confused deputy: a tenant's socket connected by root is root's
		 * connect. The decision belongs to the task, not to the socket's maker.
		 */
		{ "limit: B's socket, root connects", TENANT_B, true, 0, 0, NO_COUNTS },
		/*
		 * Limit: a socket runs the programs of the cgroup it was made in. With the guard on
		 * the root cgroup (the default) every socket is covered; with --cgroup DIR a
		 * socket made outside DIR and handed to B is not judged at all.
		 */
		{ "limit: root's socket made outside the cgroup, B connects", 0, false, TENANT_B, 0,
		  NO_COUNTS },
	};
	/* clang-format on */

	load();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct adv_who maker = { .cgroup = cases[i].maker_in_cgroup ? adv_fx.cgroup : NULL,
					 .ruid = cases[i].maker,
					 .euid = cases[i].maker };
		struct adv_who connector = { .cgroup = adv_fx.cgroup,
					     .ruid = cases[i].connector,
					     .euid = cases[i].connector };
		struct pass_arg send_arg, recv_arg;
		struct adv_counts before, after;
		struct adv_result sent, got;
		const int ok[] = { 0 };
		struct adv_proc a;
		int sv[2];

		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		send_arg = (struct pass_arg){ .unix_fd = sv[0], .port = 12000 + i };
		recv_arg = (struct pass_arg){ .unix_fd = sv[1], .port = 12000 + i };
		cr_assert_eq(adv_listen(&a, TENANT_A, TENANT_A, "127.0.0.1", recv_arg.port, 0), 0);
		adv_run(&maker, make_and_send, &send_arg, cases[i].name, &sent);
		adv_counts_read(&adv_fx, &before);
		adv_run(&connector, receive_and_connect, &recv_arg, cases[i].name, &got);
		adv_counts_read(&adv_fx, &after);
		adv_stop(&a);
		close(sv[0]);
		close(sv[1]);
		adv_expect_steps(cases[i].name, &sent, ok, 1);
		adv_expect_steps(cases[i].name, &got, &cases[i].expect, 1);
		adv_expect_deltas(cases[i].name, &before, &after, cases[i].delta);
	}
}

/* ------------------------------------------------------------------ setresuid */

static void connect_v4(void *arg, struct adv_result *out)
{
	const uint16_t *port = arg;
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(AF_INET, "127.0.0.1", *port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		adv_setup_failed(out, "socket");
		return;
	}
	adv_step(out, connect(fd, (struct sockaddr *)&ss, len) == 0);
	close(fd);
}

Test(adversarial, caller_is_the_real_uid_owner_is_the_fsuid, .init = adv_setup,
     .fini = adv_teardown, .timeout = 60)
{
	/* clang-format off */
	static const struct {
		const char *name;
		uid_t listener_ruid, listener_euid;
		uid_t caller_ruid, caller_euid;
		int expect;
		unsigned int delta[TG_REASON_COUNT];
	} cases[] = {
		/* Root with euid B (setresuid(0, 2002, 0)) is root: not judged, not counted. */
		{ "caller ruid 0 euid 2002 is root", TENANT_A, TENANT_A, 0, TENANT_B, 0,
		  NO_COUNTS },
		/* B running a setuid-root program (ruid 2002, euid 0) is still B. */
		{ "caller ruid 2002 euid 0 is B", TENANT_A, TENANT_A, TENANT_B, 0, ECONNREFUSED,
		  DENY },
		{ "caller ruid 2002 euid 2002 is B", TENANT_A, TENANT_A, TENANT_B, TENANT_B,
		  ECONNREFUSED, DENY },
		/* sk_uid is the fsuid at socket(): a listener root made as euid A is A's... */
		{ "listener by ruid 0 euid 2001 is A's", 0, TENANT_A, TENANT_B, TENANT_B,
		  ECONNREFUSED, DENY },
		/* ...and one A made while euid 0 (a setuid-root program) is root's, a service. */
		{ "listener by ruid 2001 euid 0 is root's", TENANT_A, 0, TENANT_B, TENANT_B, 0,
		  { [TG_ALLOW_SERVICE] = 1 } },
	};
	/* clang-format on */

	load();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct adv_who caller = { .cgroup = adv_fx.cgroup,
					  .ruid = cases[i].caller_ruid,
					  .euid = cases[i].caller_euid };
		uint16_t port = 12100 + i;
		struct adv_counts before, after;
		struct adv_result got;
		struct adv_proc l;

		cr_assert_eq(adv_listen(&l, cases[i].listener_ruid, cases[i].listener_euid,
					"127.0.0.1", port, 0),
			     0, "%s: listener", cases[i].name);
		adv_counts_read(&adv_fx, &before);
		adv_run(&caller, connect_v4, &port, cases[i].name, &got);
		adv_counts_read(&adv_fx, &after);
		adv_stop(&l);
		adv_expect_steps(cases[i].name, &got, &cases[i].expect, 1);
		adv_expect_deltas(cases[i].name, &before, &after, cases[i].delta);
	}
}

/* ------------------------------------------------------------------ user namespaces */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = errno;
	close(fd);
	return err;
}

/* After setresuid() the caller is not dumpable, and /proc/self/uid_map would be root's. */
static int enter_userns(int extra_flags)
{
	if (prctl(PR_SET_DUMPABLE, 1) < 0 || unshare(CLONE_NEWUSER | extra_flags) < 0)
		return errno;
	return 0;
}

/* Become uid 0 of the new namespace, i.e. B mapped to 0. */
static int map_to_root(void)
{
	char map[32];
	int err;

	snprintf(map, sizeof(map), "0 %d 1\n", TENANT_B);
	if ((err = write_file("/proc/self/uid_map", map)) ||
	    (err = write_file("/proc/self/setgroups", "deny")) ||
	    (err = write_file("/proc/self/gid_map", map)))
		return err;
	return getuid() == 0 ? 0 : EPERM;
}

static int prelude_userns(const struct adv_case *c)
{
	(void)c;
	return enter_userns(0);
}

static int prelude_userns_root(const struct adv_case *c)
{
	int err = enter_userns(0);

	(void)c;
	return err ? err : map_to_root();
}

static int prelude_userns_netns(const struct adv_case *c)
{
	(void)c;
	return enter_userns(CLONE_NEWNET);
}

static int prelude_userns_netns_lo_up(const struct adv_case *c)
{
	int err = enter_userns(CLONE_NEWNET);

	(void)c;
	if (!err)
		err = map_to_root();
	return err ? err : -fx_link_up("lo");
}

/* clang-format off */
#define NO_LISTENER { [TG_ALLOW_NO_LISTENER] = 1 }
/* clang-format on */

/* clang-format off */
static const struct adv_case userns_cases[] = {
	{ .name = "new user namespace, v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .prelude = prelude_userns, .attack = adv_attack_connect,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "uid 0 of a new user namespace, v4", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .prelude = prelude_userns_root,
	  .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "uid 0 of a new user namespace, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .prelude = prelude_userns_root,
	  .attack = adv_attack_connect, .family = AF_INET6, .to = "::1", EXPECT(ECONNREFUSED),
	  .delta = DENY },
	{ .name = "uid 0 of a new user namespace, TFO", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .prelude = prelude_userns_root,
	  .attack = adv_attack_tfo_sendto, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	/* A new network namespace has its own loopback: A's listener is not in it. */
	{ .name = "new user+net namespace, lo down, v4", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .prelude = prelude_userns_netns,
	  .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ENETUNREACH), .delta = NO_LISTENER },
	/* ::1 exists only while lo is up: no source address. */
	{ .name = "new user+net namespace, lo down, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .prelude = prelude_userns_netns,
	  .attack = adv_attack_connect, .family = AF_INET6, .to = "::1", EXPECT(EADDRNOTAVAIL),
	  .delta = NO_LISTENER },
	{ .name = "new user+net namespace, lo up, v4", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .prelude = prelude_userns_netns_lo_up,
	  .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = NO_LISTENER },
	{ .name = "new user+net namespace, lo up, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .prelude = prelude_userns_netns_lo_up,
	  .attack = adv_attack_connect, .family = AF_INET6, .to = "::1", EXPECT(ECONNREFUSED),
	  .delta = NO_LISTENER },
};
/* clang-format on */

static void probe_userns(void *arg, struct adv_result *out)
{
	(void)arg;
	out->steps = 1;
	out->err[0] = enter_userns(CLONE_NEWNET);
}

Test(adversarial, user_namespaces_change_nothing, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };
	struct adv_result probe;

	adv_run(&b, probe_userns, NULL, "user namespace probe", &probe);
	if (probe.err[0])
		cr_skip_test("uid %d cannot unshare(CLONE_NEWUSER | CLONE_NEWNET): %s "
			     "(user.max_user_namespaces, or a distribution switch)",
			     TENANT_B, strerror(probe.err[0]));
	load();
	adv_run_cases(&adv_fx, userns_cases, sizeof(userns_cases) / sizeof(userns_cases[0]), 12200);
}
