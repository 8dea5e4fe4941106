// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: every syscall path and address spelling by which tenant B (2002), inside the
 * guarded cgroup, may try to reach tenant A's (2001) loopback listener, each with the exact errno
 * of every step and the exact counter deltas. Rows marked "control" show that the same path works
 * when it is allowed, so a refusal is the guard's and not the path's own failure. Rows marked
 * "limit" assert what the kernel does where the guard cannot refuse, so that a change shows up.
 * Needs root; each test has its own netns, cgroup and pin dir (tests/kernel/fixture.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "adv.h"

/* clang-format off */
#define DENY	  { [TG_DENY_OTHER_TENANT] = 1 }
#define OWN	  { [TG_ALLOW_OWN] = 1 }
#define NOBODY_IS { [TG_ALLOW_NO_LISTENER] = 1 }
/* clang-format on */

/* clang-format off */
static const struct adv_case path_cases[] = {
	{ .name = "plain connect v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "plain connect v6", .owner = TENANT_A, .listen = "::1", .lflags = ADV_V6ONLY,
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET6, .to = "::1",
	  EXPECT(ECONNREFUSED), .delta = DENY },

	/* TCP Fast Open: sendto(MSG_FASTOPEN) connects inside sendmsg; the hook still runs. */
	{ .name = "TFO sendto v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_tfo_sendto, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "TFO sendto v6", .owner = TENANT_A, .listen = "::1", .lflags = ADV_V6ONLY,
	  .caller = TENANT_B, .attack = adv_attack_tfo_sendto, .family = AF_INET6, .to = "::1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "TFO sendto own port (control)", .owner = TENANT_B, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_tfo_sendto, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(0), .delta = OWN },
	/* TCP_FASTOPEN_CONNECT defers the SYN to the first write; the hook runs at connect(). */
	{ .name = "TCP_FASTOPEN_CONNECT v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_tfo_connect, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "TCP_FASTOPEN_CONNECT v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .attack = adv_attack_tfo_connect,
	  .family = AF_INET6, .to = "::1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "TCP_FASTOPEN_CONNECT own port (control)", .owner = TENANT_B,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_tfo_connect,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(0), .delta = OWN },

	/*
	 * O_NONBLOCK: the refusal is synchronous, connect() itself fails with ECONNREFUSED and
	 * SO_ERROR stays 0. Limit: a closed port answers EINPROGRESS, then SO_ERROR ECONNREFUSED,
	 * so a non-blocking connect tells a guarded port from a closed one (see also
	 * listeners_and_owners_are_visible_to_other_tenants: the port is no secret anyway).
	 */
	{ .name = "non-blocking v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_nonblocking, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(ECONNREFUSED, 0), .delta = DENY },
	{ .name = "non-blocking v6", .owner = TENANT_A, .listen = "::1", .lflags = ADV_V6ONLY,
	  .caller = TENANT_B, .attack = adv_attack_nonblocking, .family = AF_INET6, .to = "::1",
	  EXPECT(ECONNREFUSED, 0), .delta = DENY },
	{ .name = "limit: non-blocking to a closed port differs", .owner = ADV_NOBODY,
	  .caller = TENANT_B, .attack = adv_attack_nonblocking, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(EINPROGRESS, ECONNREFUSED), .delta = NOBODY_IS },
	{ .name = "non-blocking own port (control)", .owner = TENANT_B, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_nonblocking, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(EINPROGRESS, 0), .delta = OWN },

	/* A socket whose connect failed can connect again; every connect is judged. */
	{ .name = "closed port then A's port v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_closed_then, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(ECONNREFUSED, ECONNREFUSED),
	  .delta = { [TG_ALLOW_NO_LISTENER] = 1, [TG_DENY_OTHER_TENANT] = 1 } },
	{ .name = "closed port then A's port v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .attack = adv_attack_closed_then,
	  .family = AF_INET6, .to = "::1", EXPECT(ECONNREFUSED, ECONNREFUSED),
	  .delta = { [TG_ALLOW_NO_LISTENER] = 1, [TG_DENY_OTHER_TENANT] = 1 } },
	{ .name = "closed port then A's port, v4-mapped", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_closed_then,
	  .family = AF_INET6, .to = "::ffff:127.0.0.1", EXPECT(ECONNREFUSED, ECONNREFUSED),
	  .delta = { [TG_ALLOW_NO_LISTENER] = 1, [TG_DENY_OTHER_TENANT] = 1 } },
	{ .name = "closed port then own port (control)", .owner = TENANT_B,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_closed_then,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(ECONNREFUSED, 0),
	  .delta = { [TG_ALLOW_NO_LISTENER] = 1, [TG_ALLOW_OWN] = 1 } },
	/* connect(AF_UNSPEC) disconnects without running the hook; the reconnect runs it. */
	{ .name = "own port, AF_UNSPEC, then A's port v4", .owner = TENANT_A,
	  .listen = "127.0.0.1", .own = "127.0.0.1", .caller = TENANT_B,
	  .attack = adv_attack_disconnect_then, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(0, 0, ECONNREFUSED),
	  .delta = { [TG_ALLOW_OWN] = 1, [TG_DENY_OTHER_TENANT] = 1 } },
	{ .name = "own port, AF_UNSPEC, then A's port v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .own = "::1", .caller = TENANT_B,
	  .attack = adv_attack_disconnect_then, .family = AF_INET6, .to = "::1",
	  EXPECT(0, 0, ECONNREFUSED),
	  .delta = { [TG_ALLOW_OWN] = 1, [TG_DENY_OTHER_TENANT] = 1 } },

	/* Address spellings the kernel rewrites after the hook. */
	{ .name = "::ffff:127.0.0.1 to a v4 listener", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::ffff:127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "::ffff:0.0.0.0 to a 127.0.0.1 listener", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::ffff:0.0.0.0", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = ":: to a ::1 listener", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "::ffff:127.0.0.1 to a dual-stack [::] listener", .owner = TENANT_A,
	  .listen = "::", .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET6,
	  .to = "::ffff:127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "0.0.0.0 from a socket bound to 127.0.0.2", .owner = TENANT_A,
	  .listen = "0.0.0.0", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET, .to = "0.0.0.0", .bind = "127.0.0.2", EXPECT(ECONNREFUSED),
	  .delta = { [TG_DENY_OTHER_TENANT] = 1, [TG_ALLOW_BIND_EPHEMERAL] = 1 } },
	{ .name = ":: from a socket bound to ::ffff:127.0.0.2", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::", .bind = "::ffff:127.0.0.2", EXPECT(ECONNREFUSED),
	  .delta = { [TG_DENY_OTHER_TENANT] = 1, [TG_ALLOW_BIND_EPHEMERAL] = 1 } },
	/* IPv4-compatible ::127.0.0.1 is a plain (unrouted) IPv6 address, not 127.0.0.1. */
	{ .name = "::127.0.0.1 (v4-compatible) is not loopback", .owner = TENANT_A,
	  .listen = "0.0.0.0", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::127.0.0.1", EXPECT(ENETUNREACH),
	  .delta = { [TG_ALLOW_REMOTE] = 1 } },
	/* Port 0 reaches no listener: nothing can listen on it. */
	{ .name = "port 0", .owner = TENANT_A, .listen = "0.0.0.0", .caller = TENANT_B,
	  .attack = adv_attack_connect_port0, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = NOBODY_IS },
	{ .name = "127.0.0.53 to A's wildcard listener", .owner = TENANT_A,
	  .listen = "0.0.0.0", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET, .to = "127.0.0.53", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "veth address to A's wildcard listener", .owner = TENANT_A,
	  .listen = "0.0.0.0", .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET, .to = "192.0.2.10", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "veth address to A's dual-stack listener", .owner = TENANT_A, .listen = "::",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET6,
	  .to = "2001:db8::10", EXPECT(ECONNREFUSED), .delta = DENY },

	/* SO_BINDTODEVICE on the attacker's socket does not hide A's listener from the lookup. */
	{ .name = "B's socket bound to lo, v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET,
	  .to = "127.0.0.1", .sflags = ADV_SOCK_BIND_LO, EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "B's socket bound to lo, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::1", .sflags = ADV_SOCK_BIND_LO, EXPECT(ECONNREFUSED),
	  .delta = DENY },
	/*
	 * Limit: a listener bound to a device is not found by bpf_sk_lookup_tcp() without an
	 * interface, so the guard sees no listener and the connect reaches A. Only A can bind
	 * its own listener so. When the lookup learns devices these rows must become refusals.
	 */
	{ .name = "limit: A's listener bound to lo, v4", .owner = TENANT_A,
	  .listen = "127.0.0.1", .lflags = ADV_BIND_LO, .caller = TENANT_B,
	  .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1", EXPECT(0),
	  .delta = NOBODY_IS },
	{ .name = "limit: A's listener bound to lo, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY | ADV_BIND_LO, .caller = TENANT_B, .attack = adv_attack_connect,
	  .family = AF_INET6, .to = "::1", EXPECT(0), .delta = NOBODY_IS },
};
/* clang-format on */

/* A host address other than loopback, on a veth in the test netns, before load. */
static void add_veth(void)
{
	cr_assert_eq(system("ip link add tgv0 type veth peer name tgv1 && "
			    "ip addr add 192.0.2.10/24 dev tgv0 && "
			    "ip addr add 2001:db8::10/64 dev tgv0 nodad && "
			    "ip link set tgv0 up && ip link set tgv1 up"),
		     0, "cannot create a veth pair in the test netns");
}

Test(adversarial, syscall_paths_and_spellings, .init = adv_setup, .fini = adv_teardown,
     .timeout = 120)
{
	add_veth();
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	adv_run_cases(&adv_fx, path_cases, sizeof(path_cases) / sizeof(path_cases[0]), 10000);
}

struct udp_arg {
	int family;
	const char *to;
	uint16_t port;
	bool connected;
};

static void udp_sender(void *arg, struct adv_result *out)
{
	const struct udp_arg *u = arg;
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(u->family, u->to, u->port, &ss);
	int fd = socket(u->family, SOCK_DGRAM, 0);

	if (fd < 0) {
		adv_setup_failed(out, "socket");
		return;
	}
	if (u->connected) {
		adv_step(out, connect(fd, (struct sockaddr *)&ss, len) == 0);
		adv_step(out, send(fd, "x", 1, 0) == 1);
	} else {
		adv_step(out, sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1);
	}
	close(fd);
}

/*
 * Out of scope, documented: UDP. A connected UDP socket runs connect4 and is counted as
 * allow_not_tcp; an unconnected sendto() runs no connect hook at all. Both datagrams reach A.
 */
Test(adversarial, udp_reaches_a_and_is_out_of_scope, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	/* clang-format off */
	static const struct {
		const char *name;
		int family;
		const char *listen, *to;
		bool connected;
		int expect_steps;
		unsigned int not_tcp;
	} cases[] = {
		{ "udp connect+send v4", AF_INET, "127.0.0.1", "127.0.0.1", true, 2, 1 },
		{ "udp connect+send v6", AF_INET6, "::1", "::1", true, 2, 1 },
		{ "udp sendto v4", AF_INET, "127.0.0.1", "127.0.0.1", false, 1, 0 },
	};
	/* clang-format on */

	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct udp_arg arg = { cases[i].family, cases[i].to, 10300 + i,
				       cases[i].connected };
		struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };
		unsigned int delta[TG_REASON_COUNT] = { [TG_ALLOW_NOT_TCP] = cases[i].not_tcp };
		const int ok[] = { 0, 0 };
		struct adv_counts before, after;
		struct adv_result sent, got;
		struct adv_proc a;

		cr_assert_eq(adv_listen(&a, TENANT_A, TENANT_A, cases[i].listen, arg.port,
					ADV_UDP | (cases[i].family == AF_INET6 ? ADV_V6ONLY : 0)),
			     0, "%s: A's UDP socket", cases[i].name);
		adv_counts_read(&adv_fx, &before);
		adv_run(&b, udp_sender, &arg, cases[i].name, &sent);
		adv_counts_read(&adv_fx, &after);
		adv_go(&a);
		adv_finish(&a, cases[i].name, &got);
		adv_expect_steps(cases[i].name, &sent, ok, cases[i].expect_steps);
		adv_expect_deltas(cases[i].name, &before, &after, delta);
		cr_expect_eq(got.err[0], 1, "%s: A received %d datagrams, expected 1",
			     cases[i].name, got.err[0]);
	}
}

/* Does /proc/net/<file>, read as the caller, list a listener on port with owner uid? */
static void find_listener_line(void *arg, struct adv_result *out)
{
	const char *const *what = arg; /* { file, port in hex, uid } */
	char line[512], path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", what[0]);
	f = fopen(path, "r");
	if (!f) {
		adv_setup_failed(out, path);
		return;
	}
	out->steps = 1;
	out->err[0] = ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char local[64], state[8];
		unsigned int uid;

		if (sscanf(line, "%*s %63s %*s %7s %*s %*s %*s %u", local, state, &uid) != 3)
			continue;
		if (strcmp(state, "0A") == 0 && strstr(local, what[1]) &&
		    uid == (unsigned int)atoi(what[2]))
			out->err[0] = 0;
	}
	fclose(f);
}

/*
 * Documented: the errno disguises a refusal as a closed port, but it hides nothing. Any tenant
 * can read every listener of its network namespace, with its owner's uid, from /proc/net/tcp and
 * /proc/net/tcp6 (and sock_diag, i.e. `ss -ltne`).
 */
Test(adversarial, listeners_and_owners_are_visible_to_other_tenants, .init = adv_setup,
     .fini = adv_teardown, .timeout = 30)
{
	static const char *const v4[] = { "tcp", "0100007F:2904", "2001" }; /* 10500 */
	static const char *const v6[] = { "tcp6", ":2904", "2001" };
	struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };
	struct adv_proc l4, l6;
	struct adv_result r;

	cr_assert_eq(adv_listen(&l4, TENANT_A, TENANT_A, "127.0.0.1", 10500, 0), 0);
	cr_assert_eq(adv_listen(&l6, TENANT_A, TENANT_A, "::1", 10500, ADV_V6ONLY), 0);
	adv_run(&b, find_listener_line, (void *)v4, "/proc/net/tcp", &r);
	cr_expect_eq(r.err[0], 0, "B does not see A's 127.0.0.1:10500 in /proc/net/tcp");
	adv_run(&b, find_listener_line, (void *)v6, "/proc/net/tcp6", &r);
	cr_expect_eq(r.err[0], 0, "B does not see A's [::1]:10500 in /proc/net/tcp6");
	adv_stop(&l4);
	adv_stop(&l6);
}
