// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: cgroups below the guarded one. The guard's BPF links apply to every descendant,
 * and a descendant's own connect4 programs run before the guard's, on the same context: so
 * whatever a child program rewrites, the guard judges the destination the connect will really
 * use, and no attach flag in a child (ALLOW_OVERRIDE, none) can displace a link above it.
 * Attaching programs needs root; these tests show that even root's child programs do not
 * open a hole for B.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "adv.h"

/* clang-format off */
#define DENY { [TG_DENY_OTHER_TENANT] = 1 }
/* clang-format on */

/* clang-format off */
static const struct adv_case nested_cases[] = {
	{ .name = "B in a child cgroup, v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .cgroup = "n1", .attack = adv_attack_connect, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "B in a child cgroup, v6", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .cgroup = "n1",
	  .attack = adv_attack_connect, .family = AF_INET6, .to = "::1", EXPECT(ECONNREFUSED),
	  .delta = DENY },
	{ .name = "B in a grandchild cgroup, TFO", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .cgroup = "n1/n2", .attack = adv_attack_tfo_sendto,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "B in a grandchild cgroup, own port (control)", .owner = TENANT_B,
	  .listen = "127.0.0.1", .caller = TENANT_B, .cgroup = "n1/n2",
	  .attack = adv_attack_connect, .family = AF_INET, .to = "127.0.0.1", EXPECT(0),
	  .delta = { [TG_ALLOW_OWN] = 1 } },
};
/* clang-format on */

Test(adversarial, nested_cgroups_are_guarded, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	char path[PATH_MAX * 2];

	adv_cgroup_make(&adv_fx, "n1", path, sizeof(path));
	adv_cgroup_make(&adv_fx, "n1/n2", path, sizeof(path));
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	adv_run_cases(&adv_fx, nested_cases, sizeof(nested_cases) / sizeof(nested_cases[0]), 14000);
}

enum which_port {
	PORT_A,	     /* A's listener */
	PORT_CLOSED, /* nothing listens */
	PORT_OWN,    /* B's own listener */
};

struct child_prog_case {
	const char *name;
	enum which_port from, to; /* the child's program rewrites from -> to; equal: allow all */
	unsigned int attach_flags;
	enum which_port dest; /* where B connects */
	int expect;
	unsigned int delta[TG_REASON_COUNT];
};

/* clang-format off */
static const struct child_prog_case child_prog_cases[] = {
	/* The child's rewrite runs first: the guard sees A's port, not the innocent one. */
	{ "child rewrites a closed port to A's", PORT_CLOSED, PORT_A, BPF_F_ALLOW_MULTI,
	  PORT_CLOSED, ECONNREFUSED, DENY },
	{ "child rewrites a closed port to A's, ALLOW_OVERRIDE", PORT_CLOSED, PORT_A,
	  BPF_F_ALLOW_OVERRIDE, PORT_CLOSED, ECONNREFUSED, DENY },
	/* ...and in the other direction, the guard allows where the connect really goes. */
	{ "child rewrites A's port to B's own (control)", PORT_A, PORT_OWN, BPF_F_ALLOW_MULTI,
	  PORT_A, 0, { [TG_ALLOW_OWN] = 1 } },
	/* An allow-all program in a child cannot override the guard's link above it. */
	{ "child allow-all, ALLOW_OVERRIDE", PORT_A, PORT_A, BPF_F_ALLOW_OVERRIDE, PORT_A,
	  ECONNREFUSED, DENY },
	{ "child allow-all, no flags", PORT_A, PORT_A, 0, PORT_A, ECONNREFUSED, DENY },
	{ "child allow-all, ALLOW_MULTI", PORT_A, PORT_A, BPF_F_ALLOW_MULTI, PORT_A,
	  ECONNREFUSED, DENY },
};
/* clang-format on */

static void connect_to_port(void *arg, struct adv_result *out)
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

Test(adversarial, child_cgroup_programs_cannot_open_a_hole, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	for (size_t i = 0; i < sizeof(child_prog_cases) / sizeof(child_prog_cases[0]); i++) {
		const struct child_prog_case *c = &child_prog_cases[i];
		uint16_t ports[] = {
			[PORT_A] = 14100 + i, [PORT_CLOSED] = 14300 + i, [PORT_OWN] = 14500 + i
		};
		uint16_t dest = ports[c->dest];
		char rel[32], path[PATH_MAX * 2];
		struct adv_who b = { .cgroup = path, .ruid = TENANT_B, .euid = TENANT_B };
		struct adv_counts before, after;
		struct adv_proc a, own;
		struct adv_result got;
		int prog, cgroup_fd;

		snprintf(rel, sizeof(rel), "prog%zu", i);
		adv_cgroup_make(&adv_fx, rel, path, sizeof(path));
		prog = adv_port_rewriter(ports[c->from], ports[c->to]);
		cr_assert_geq(prog, 0, "%s: cannot load the child's program: %s", c->name,
			      strerror(-prog));
		cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cr_assert_geq(cgroup_fd, 0, "open %s: %s", path, strerror(errno));
		cr_assert_eq(
			bpf_prog_attach(prog, cgroup_fd, BPF_CGROUP_INET4_CONNECT, c->attach_flags),
			0, "%s: root cannot attach under the guard (flags %u): %s", c->name,
			c->attach_flags, strerror(errno));
		cr_assert_eq(adv_listen(&a, TENANT_A, TENANT_A, "127.0.0.1", ports[PORT_A], 0), 0);
		cr_assert_eq(adv_listen(&own, TENANT_B, TENANT_B, "127.0.0.1", ports[PORT_OWN], 0),
			     0);
		adv_counts_read(&adv_fx, &before);
		adv_run(&b, connect_to_port, &dest, c->name, &got);
		adv_counts_read(&adv_fx, &after);
		adv_stop(&a);
		adv_stop(&own);
		cr_assert_eq(bpf_prog_detach2(prog, cgroup_fd, BPF_CGROUP_INET4_CONNECT), 0,
			     "%s: detach: %s", c->name, strerror(errno));
		close(cgroup_fd);
		close(prog);
		adv_expect_steps(c->name, &got, &c->expect, 1);
		adv_expect_deltas(c->name, &before, &after, c->delta);
	}
}
