// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: B tries to get into A's port from the listening side. SO_REUSEPORT groups are
 * per uid, and a TCP bind that overlaps a listener fails, so B cannot join A's group or sit in
 * front of A's wildcard listener with a more specific address. What B can bind is its own
 * port on another address (127.0.0.2, or the other family's loopback), and connecting there
 * reaches B's own listener. Without a reservation the guard lets every such bind() through
 * (one allow_bind_open each); these rows assert the kernel's answers so that the README can rely
 * on them. With a reservation (the second table) the guard refuses B's bind of A's port on
 * every address before the kernel looks at the port, with EACCES and deny_bind_reserved.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "adv.h"

struct bind_case {
	const char *name;
	const char *a_addr; /* A listens here */
	unsigned int a_flags;
	const char *b_addr; /* B binds and listens here, then connects to it */
	bool b_reuseport;
	int steps;
	int expect[ADV_MAX_STEPS]; /* bind, listen, connect */
	unsigned int delta[TG_REASON_COUNT];
};

struct bind_arg {
	const struct bind_case *c;
	uint16_t port;
};

/* bind() and listen() as B, then connect to that listener from a second socket. */
static void bind_listen_connect(void *arg, struct adv_result *out)
{
	const struct bind_arg *a = arg;
	const char *addr = a->c->b_addr;
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(family, addr, a->port, &ss);
	int one = 1, zero = 0, fd = socket(family, SOCK_STREAM, 0), client;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (a->c->b_reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, strcmp(addr, "::") ? &one : &zero,
			sizeof(one)) < 0)) {
		adv_setup_failed(out, "socket options");
		return;
	}
	adv_step(out, bind(fd, (struct sockaddr *)&ss, len) == 0);
	if (out->err[0] == 0)
		adv_step(out, listen(fd, 8) == 0);
	if (out->steps == 2 && out->err[1] == 0) {
		if (strcmp(addr, "::") == 0 || strcmp(addr, "0.0.0.0") == 0)
			len = adv_addr(family, family == AF_INET6 ? "::1" : "127.0.0.1", a->port,
				       &ss);
		client = socket(family, SOCK_STREAM, 0);
		adv_step(out, client >= 0 && connect(client, (struct sockaddr *)&ss, len) == 0);
		close(client);
	}
	close(fd);
}

/* clang-format off */
/* B's bind() itself counts one allow_bind_open (no reservation), before the kernel's checks. */
#define BIND { [TG_ALLOW_BIND_OPEN] = 1 }
#define OWN { [TG_ALLOW_BIND_OPEN] = 1, [TG_ALLOW_OWN] = 1 }
#define RESERVED { [TG_DENY_BIND_RESERVED] = 1 }
/* clang-format on */

/* clang-format off */
static const struct bind_case bind_cases[] = {
	/* SO_REUSEPORT groups are per uid: B cannot take a share of A's connections. */
	{ "B joins A's reuseport group, v4", "127.0.0.1", ADV_REUSEPORT, "127.0.0.1", true,
	  1, { EADDRINUSE }, BIND },
	{ "B joins A's reuseport group, v6", "::1", ADV_REUSEPORT | ADV_V6ONLY, "::1", true,
	  1, { EADDRINUSE }, BIND },
	{ "B joins A's wildcard reuseport group", "0.0.0.0", ADV_REUSEPORT, "0.0.0.0", true,
	  1, { EADDRINUSE }, BIND },
	/* A more specific address in front of A's wildcard listener is refused too... */
	{ "B binds 127.0.0.1 in front of A's 0.0.0.0", "0.0.0.0", 0, "127.0.0.1", false,
	  1, { EADDRINUSE }, BIND },
	{ "B binds 127.0.0.1 in front of A's 0.0.0.0, reuseport", "0.0.0.0", ADV_REUSEPORT,
	  "127.0.0.1", true, 1, { EADDRINUSE }, BIND },
	{ "B binds ::1 in front of A's dual-stack [::]", "::", 0, "::1", false,
	  1, { EADDRINUSE }, BIND },
	/* ...and so is a wildcard over A's address. */
	{ "B binds 0.0.0.0 over A's 127.0.0.1", "127.0.0.1", 0, "0.0.0.0", false,
	  1, { EADDRINUSE }, BIND },
	{ "B binds dual-stack [::] over A's 127.0.0.1", "127.0.0.1", 0, "::", false,
	  1, { EADDRINUSE }, BIND },
	/* B's own port on another address: B reaches its own listener, allowed. */
	{ "B reuseport on 127.0.0.2 beside A's 127.0.0.1", "127.0.0.1", ADV_REUSEPORT,
	  "127.0.0.2", true, 3, { 0, 0, 0 }, OWN },
	/*
	 * Worth knowing on a hub: without a reservation, when A holds only 127.0.0.1:P, B may
	 * bind [::1]:P, and a hub service that connects to "localhost" over IPv6 reaches B, not
	 * A. sshd binds both families for `ssh -R`, which closes this unless one fails. A
	 * [tenant] reservation of P closes it for good (reserved_ports_cannot_be_squatted).
	 */
	{ "B binds ::1 beside A's 127.0.0.1-only listener", "127.0.0.1", 0, "::1", false,
	  3, { 0, 0, 0 }, OWN },
};
/* clang-format on */

/* With every port of the cases reserved for A, each of B's binds is refused by the guard. */
static const struct bind_case reserved_cases[] = {
	{ "reserved: B binds ::1 beside A's 127.0.0.1-only listener",
	  "127.0.0.1",
	  0,
	  "::1",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B binds 127.0.0.1 beside A's ::1-only listener",
	  "::1",
	  ADV_V6ONLY,
	  "127.0.0.1",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B binds 127.0.0.2 beside A's 127.0.0.1",
	  "127.0.0.1",
	  0,
	  "127.0.0.2",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B joins A's reuseport group",
	  "127.0.0.1",
	  ADV_REUSEPORT,
	  "127.0.0.1",
	  true,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B binds 0.0.0.0 over A's 127.0.0.1",
	  "127.0.0.1",
	  0,
	  "0.0.0.0",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B binds dual-stack [::] over A's 127.0.0.1",
	  "127.0.0.1",
	  0,
	  "::",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
	{ "reserved: B binds ::ffff:127.0.0.1 beside A's ::1",
	  "::1",
	  ADV_V6ONLY,
	  "::ffff:127.0.0.1",
	  false,
	  1,
	  { EACCES },
	  RESERVED },
};

static void run_bind_cases(const struct bind_case *cases, size_t n, uint16_t base_port)
{
	struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };

	for (size_t i = 0; i < n; i++) {
		const struct bind_case *c = &cases[i];
		struct bind_arg arg = { .c = c, .port = base_port + i };
		struct adv_counts before, after;
		struct adv_result got;
		struct adv_proc a;

		cr_assert_eq(adv_listen(&a, TENANT_A, TENANT_A, c->a_addr, arg.port, c->a_flags), 0,
			     "%s: A's listener", c->name);
		adv_counts_read(&adv_fx, &before);
		adv_run(&b, bind_listen_connect, &arg, c->name, &got);
		adv_counts_read(&adv_fx, &after);
		adv_stop(&a);
		adv_expect_steps(c->name, &got, c->expect, c->steps);
		adv_expect_deltas(c->name, &before, &after, c->delta);
	}
}

Test(adversarial, b_cannot_squat_or_share_a_listener, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	run_bind_cases(bind_cases, sizeof(bind_cases) / sizeof(bind_cases[0]), 15000);
}

Test(adversarial, reserved_ports_cannot_be_squatted, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	fx_write_config(&adv_fx, ADV_BASE_CONFIG "[tenant a]\nuser = 2001\nports = 15100-15199\n");
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	run_bind_cases(reserved_cases, sizeof(reserved_cases) / sizeof(reserved_cases[0]), 15100);
}
