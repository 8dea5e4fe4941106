// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: connects that do not come from connect(2) on a plain TCP socket. io_uring's
 * IORING_OP_CONNECT (inline, punted to an io-wq worker, from an SQPOLL kernel thread, and on a
 * socket io_uring made itself) and MPTCP sockets. Each runs the cgroup connect hook with the
 * submitter's uid, so each is refused. Skipped with the reason when the kernel or its settings
 * do not offer the feature.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "adv.h"
#include "uring.h"

/* clang-format off */
#define DENY { [TG_DENY_OTHER_TENANT] = 1 }
#define OWN  { [TG_ALLOW_OWN] = 1 }
/* clang-format on */

/* One IORING_OP_CONNECT of sock to the case's destination; returns the errno (0: connected). */
static int uring_connect(struct adv_uring *r, int sock, const struct adv_case *c, uint16_t port,
			 uint8_t sqe_flags)
{
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(c->family, c->to, port, &ss);
	struct io_uring_sqe sqe = { .opcode = IORING_OP_CONNECT,
				    .flags = sqe_flags,
				    .fd = sock,
				    .addr = (uintptr_t)&ss,
				    .off = len };

	return -adv_uring_run(r, &sqe);
}

static void uring_attack(const struct adv_case *c, const struct adv_target *t,
			 struct adv_result *out, unsigned int setup_flags, uint8_t sqe_flags)
{
	struct adv_uring r;
	int err = adv_uring_init(&r, setup_flags), fd;

	if (err) {
		errno = -err;
		adv_setup_failed(out, "io_uring_setup");
		return;
	}
	fd = adv_case_socket(c, SOCK_STREAM, out);
	if (fd >= 0) {
		out->err[out->steps++] = uring_connect(&r, fd, c, t->port, sqe_flags);
		close(fd);
	}
	adv_uring_exit(&r);
}

/* IORING_OP_CONNECT, completed inline in io_uring_enter() */
static void attack_uring(const struct adv_case *c, const struct adv_target *t,
			 struct adv_result *out)
{
	uring_attack(c, t, out, 0, 0);
}

/* IOSQE_ASYNC: the connect runs in an io-wq worker thread */
static void attack_uring_async(const struct adv_case *c, const struct adv_target *t,
			       struct adv_result *out)
{
	uring_attack(c, t, out, 0, IOSQE_ASYNC);
}

/* IORING_SETUP_SQPOLL: a kernel thread submits the connect */
static void attack_uring_sqpoll(const struct adv_case *c, const struct adv_target *t,
				struct adv_result *out)
{
	uring_attack(c, t, out, IORING_SETUP_SQPOLL, 0);
}

/* IORING_OP_SOCKET, then IORING_OP_CONNECT on it: io_uring makes the socket too */
static void attack_uring_socket(const struct adv_case *c, const struct adv_target *t,
				struct adv_result *out)
{
	struct io_uring_sqe sqe = {
		.opcode = IORING_OP_SOCKET, .fd = c->family, .off = SOCK_STREAM, .len = c->protocol
	};
	struct adv_uring r;
	int err = adv_uring_init(&r, 0), fd;

	if (err) {
		errno = -err;
		adv_setup_failed(out, "io_uring_setup");
		return;
	}
	fd = adv_uring_run(&r, &sqe);
	out->err[out->steps++] = fd < 0 ? -fd : 0;
	if (fd >= 0) {
		out->err[out->steps++] = uring_connect(&r, fd, c, t->port, 0);
		close(fd);
	}
	adv_uring_exit(&r);
}

/* clang-format off */
static const struct adv_case uring_cases[] = {
	{ .name = "io_uring connect v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = attack_uring, .family = AF_INET, .to = "127.0.0.1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring connect v6", .owner = TENANT_A, .listen = "::1", .lflags = ADV_V6ONLY,
	  .caller = TENANT_B, .attack = attack_uring, .family = AF_INET6, .to = "::1",
	  EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring connect v4-mapped", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = attack_uring, .family = AF_INET6,
	  .to = "::ffff:127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring connect IOSQE_ASYNC (io-wq worker)", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = attack_uring_async,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring connect from an SQPOLL thread", .owner = TENANT_A,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = attack_uring_sqpoll,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring socket + connect", .owner = TENANT_A, .listen = "::1",
	  .lflags = ADV_V6ONLY, .caller = TENANT_B, .attack = attack_uring_socket,
	  .family = AF_INET6, .to = "::1", EXPECT(0, ECONNREFUSED), .delta = DENY },
	{ .name = "io_uring connect own port (control)", .owner = TENANT_B,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = attack_uring, .family = AF_INET,
	  .to = "127.0.0.1", EXPECT(0), .delta = OWN },
	{ .name = "io_uring SQPOLL own port (control)", .owner = TENANT_B,
	  .listen = "127.0.0.1", .caller = TENANT_B, .attack = attack_uring_sqpoll,
	  .family = AF_INET, .to = "127.0.0.1", EXPECT(0), .delta = OWN },
};
/* clang-format on */

/* Can B set up a ring? 0, or the errno io_uring_setup() gave. */
static void probe_uring(void *arg, struct adv_result *out)
{
	struct adv_uring r;
	int err = adv_uring_init(&r, 0);

	(void)arg;
	out->steps = 1;
	out->err[0] = -err;
	if (!err)
		adv_uring_exit(&r);
}

Test(adversarial, io_uring_connects_are_refused, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };
	struct adv_result probe;
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int disabled = 0;

	if (f) {
		if (fscanf(f, "%d", &disabled) != 1)
			disabled = 0;
		fclose(f);
	}
	if (disabled == 2)
		cr_skip_test("io_uring is disabled (kernel.io_uring_disabled = 2)");
	if (disabled == 1)
		cr_skip_test("io_uring is for io_uring_group only (kernel.io_uring_disabled = 1)");
	adv_run(&b, probe_uring, NULL, "io_uring probe", &probe);
	if (probe.err[0])
		cr_skip_test("io_uring_setup() as uid %d fails: %s", TENANT_B,
			     strerror(probe.err[0]));
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	adv_run_cases(&adv_fx, uring_cases, sizeof(uring_cases) / sizeof(uring_cases[0]), 11000);
}

/* clang-format off */
static const struct adv_case mptcp_cases[] = {
	{ .name = "MPTCP connect v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET,
	  .protocol = IPPROTO_MPTCP, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "MPTCP connect v6", .owner = TENANT_A, .listen = "::1", .lflags = ADV_V6ONLY,
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET6,
	  .protocol = IPPROTO_MPTCP, .to = "::1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "MPTCP connect v4-mapped", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET6,
	  .protocol = IPPROTO_MPTCP, .to = "::ffff:127.0.0.1", EXPECT(ECONNREFUSED),
	  .delta = DENY },
	{ .name = "MPTCP TFO sendto v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_tfo_sendto, .family = AF_INET,
	  .protocol = IPPROTO_MPTCP, .to = "127.0.0.1", EXPECT(ECONNREFUSED), .delta = DENY },
	{ .name = "MPTCP non-blocking v4", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_nonblocking, .family = AF_INET,
	  .protocol = IPPROTO_MPTCP, .to = "127.0.0.1", EXPECT(ECONNREFUSED, 0),
	  .delta = DENY },
	{ .name = "MPTCP closed port then A's port", .owner = TENANT_A, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_closed_then, .family = AF_INET,
	  .protocol = IPPROTO_MPTCP, .to = "127.0.0.1", EXPECT(ECONNREFUSED, ECONNREFUSED),
	  .delta = { [TG_ALLOW_NO_LISTENER] = 1, [TG_DENY_OTHER_TENANT] = 1 } },
	{ .name = "MPTCP connect own port (control)", .owner = TENANT_B, .listen = "127.0.0.1",
	  .caller = TENANT_B, .attack = adv_attack_connect, .family = AF_INET,
	  .protocol = IPPROTO_MPTCP, .to = "127.0.0.1", EXPECT(0), .delta = OWN },
};
/* clang-format on */

Test(adversarial, mptcp_connects_are_refused, .init = adv_setup, .fini = adv_teardown,
     .timeout = 60)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);

	if (fd < 0 && (errno == EPROTONOSUPPORT || errno == ENOPROTOOPT))
		cr_skip_test("no MPTCP here: socket(IPPROTO_MPTCP) fails with %s%s",
			     strerror(errno),
			     errno == ENOPROTOOPT ? " (net.mptcp.enabled = 0)" : "");
	cr_assert_geq(fd, 0, "socket(IPPROTO_MPTCP): %s", strerror(errno));
	close(fd);
	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	cr_assert_eq(fx_load(&adv_fx), 0, "load failed: %s", adv_fx.output);
	adv_run_cases(&adv_fx, mptcp_cases, sizeof(mptcp_cases) / sizeof(mptcp_cases[0]), 11100);
}
