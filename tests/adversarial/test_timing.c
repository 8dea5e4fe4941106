// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adversarial: B prepares before the guard is loaded and strikes after. The programs hang on the
 * cgroup and run at every connect, so a process or socket older than the guard is judged like a
 * new one. What the guard cannot take back is a connect that already happened: a connection
 * established before load, or a TCP_FASTOPEN_CONNECT connect() whose SYN waits for the first
 * write, keeps working (documented limit; `tunnelguard load` does not cut connections).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "adv.h"

enum before_load {
	PRE_PROCESS,	 /* B only exists */
	PRE_SOCKET,	 /* socket() */
	PRE_BIND,	 /* socket(), bind(loopback:0) */
	PRE_TFO_CONNECT, /* socket(), TCP_FASTOPEN_CONNECT, connect(): no SYN yet */
	PRE_CONNECTED,	 /* socket(), connect(): established */
};

enum after_load {
	POST_CONNECT, /* connect(A's port) on the socket (a new one if none) */
	POST_USE,     /* send "ping", receive A's echo, then connect a new socket */
};

struct timing_case {
	const char *name;
	int family;
	const char *addr; /* A listens and B connects here */
	enum before_load pre;
	enum after_load post;
	int steps;
	int expect[ADV_MAX_STEPS]; /* the pre step, then each post step */
	unsigned int delta[TG_REASON_COUNT];
};

struct timing_arg {
	const struct timing_case *c;
	uint16_t port;
};

static int new_socket(int family)
{
	struct timeval timeout = { .tv_sec = 2 };
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int fd, const struct timing_arg *a, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(a->c->family, a->c->addr, port, &ss);

	return connect(fd, (struct sockaddr *)&ss, len);
}

/* Send "ping" and expect it back: two steps. */
static void use(int fd, struct adv_result *out)
{
	char buf[8] = { 0 };
	ssize_t n;

	adv_step(out, send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n >= 0 && (n != 4 || memcmp(buf, "ping", 4) != 0))
		errno = EBADMSG;
	adv_step(out, n == 4 && memcmp(buf, "ping", 4) == 0);
}

static void before_and_after(void *arg, struct adv_result *out)
{
	const struct timing_arg *a = arg;
	const struct timing_case *c = a->c;
	struct sockaddr_storage ss;
	int one = 1, fd = -1, fresh;

	if (c->pre != PRE_PROCESS && (fd = new_socket(c->family)) < 0) {
		adv_setup_failed(out, "socket");
		return;
	}
	switch (c->pre) {
	case PRE_BIND:
		adv_step(out, bind(fd, (struct sockaddr *)&ss,
				   adv_addr(c->family, c->addr, 0, &ss)) == 0);
		break;
	case PRE_TFO_CONNECT:
		adv_step(out, setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
					 sizeof(one)) == 0 &&
				      connect_to(fd, a, a->port) == 0);
		break;
	case PRE_CONNECTED:
		adv_step(out, connect_to(fd, a, a->port) == 0);
		break;
	default:
		adv_step(out, 1);
	}
	adv_ready(0);
	adv_wait_go(); /* the guard is loaded now */
	if (c->post == POST_CONNECT) {
		if (fd < 0 && (fd = new_socket(c->family)) < 0) {
			adv_setup_failed(out, "socket");
			return;
		}
		adv_step(out, connect_to(fd, a, a->port) == 0);
	} else {
		use(fd, out);
		fresh = new_socket(c->family);
		adv_step(out, fresh >= 0 && connect_to(fresh, a, a->port) == 0);
		close(fresh);
	}
	close(fd);
}

/* clang-format off */
#define DENY { [TG_DENY_OTHER_TENANT] = 1 }
/* clang-format on */

/* clang-format off */
static const struct timing_case timing_cases[] = {
	{ "process forked before load", AF_INET, "127.0.0.1", PRE_PROCESS, POST_CONNECT, 2,
	  { 0, ECONNREFUSED }, DENY },
	{ "socket made before load", AF_INET6, "::1", PRE_SOCKET, POST_CONNECT, 2,
	  { 0, ECONNREFUSED }, DENY },
	{ "socket bound before load, v4", AF_INET, "127.0.0.1", PRE_BIND, POST_CONNECT, 2,
	  { 0, ECONNREFUSED }, DENY },
	{ "socket bound before load, v6", AF_INET6, "::1", PRE_BIND, POST_CONNECT, 2,
	  { 0, ECONNREFUSED }, DENY },
	/* Limit: the connection made before load carries data; only the new connect is refused. */
	{ "limit: connected before load", AF_INET, "127.0.0.1", PRE_CONNECTED, POST_USE, 4,
	  { 0, 0, 0, ECONNREFUSED }, DENY },
	/* Limit: the decision is at connect(); the deferred SYN goes out after load unjudged. */
	{ "limit: TCP_FASTOPEN_CONNECT before load, first write after", AF_INET, "127.0.0.1",
	  PRE_TFO_CONNECT, POST_USE, 4, { 0, 0, 0, ECONNREFUSED }, DENY },
	{ "limit: TCP_FASTOPEN_CONNECT before load, v6", AF_INET6, "::1", PRE_TFO_CONNECT,
	  POST_USE, 4, { 0, 0, 0, ECONNREFUSED }, DENY },
};
/* clang-format on */

Test(adversarial, prepared_before_load_struck_after, .init = adv_setup, .fini = adv_teardown,
     .timeout = 90)
{
	struct adv_who b = { .cgroup = adv_fx.cgroup, .ruid = TENANT_B, .euid = TENANT_B };

	fx_write_config(&adv_fx, ADV_BASE_CONFIG);
	for (size_t i = 0; i < sizeof(timing_cases) / sizeof(timing_cases[0]); i++) {
		const struct timing_case *c = &timing_cases[i];
		struct timing_arg arg = { .c = c, .port = 13000 + i };
		struct adv_counts before, after;
		struct adv_result got;
		struct adv_proc a, attacker;

		cr_assert_eq(adv_listen(&a, TENANT_A, TENANT_A, c->addr, arg.port,
					ADV_ECHO | (c->family == AF_INET6 ? ADV_V6ONLY : 0)),
			     0, "%s: A's listener", c->name);
		attacker = adv_spawn(&b, before_and_after, &arg);
		cr_assert_eq(adv_wait_ready(&attacker), 0, "%s: B did not get ready", c->name);
		cr_assert_eq(fx_load(&adv_fx), 0, "%s: load failed: %s", c->name, adv_fx.output);
		adv_counts_read(&adv_fx, &before);
		adv_go(&attacker);
		adv_finish(&attacker, c->name, &got);
		adv_counts_read(&adv_fx, &after);
		adv_stop(&a);
		cr_assert_eq(fx_unload(&adv_fx), 0, "%s: unload failed: %s", c->name,
			     adv_fx.output);
		adv_expect_steps(c->name, &got, c->expect, c->steps);
		adv_expect_deltas(c->name, &before, &after, c->delta);
	}
}
