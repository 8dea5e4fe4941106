// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cross_loop.h"

/* How long the parent waits for the loop to show progress before it calls the loop stuck. */
#define PROGRESS_TIMEOUT_MS 10000

static long load_long(const long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store_long(long *p, long v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void child_fail(struct cross_loop_counts *c)
{
	__atomic_store_n(&c->end, CROSS_LOOP_SETUP_FAILED, __ATOMIC_RELEASE);
	_exit(1);
}

static void child_setup(struct fx *fx, uid_t uid, struct cross_loop_counts *c)
{
	if (fx_enter_as(fx, uid, 0) < 0)
		child_fail(c);
}

static void child_loop(struct fx *fx, uid_t uid, uint16_t port, struct cross_loop_counts *c)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct timeval timeout = { .tv_sec = 2 };
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct cross_loop_counts n = { 0 };
	struct timespec start, now;
	int end = CROSS_LOOP_STOPPED;

	child_setup(fx, uid, c);
	in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in6.sin6_addr = in6addr_loopback;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		bool v6 = n.attempts & 1;
		int fd, ret;

		if (n.attempts >= CROSS_LOOP_MAX_ATTEMPTS) {
			end = CROSS_LOOP_MAX_COUNT;
			break;
		}
		if ((n.attempts & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec >= CROSS_LOOP_MAX_SECONDS) {
				end = CROSS_LOOP_MAX_TIME;
				break;
			}
		}
		n.attempts++;
		if (v6)
			n.v6++;
		else
			n.v4++;
		fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			ret = errno;
		} else {
			/* Bounds a connect that would hang instead of being refused at once. */
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
			if (v6)
				ret = connect(fd, (struct sockaddr *)&in6, sizeof(in6)) ? errno : 0;
			else
				ret = connect(fd, (struct sockaddr *)&in4, sizeof(in4)) ? errno : 0;
		}
		if (ret == 0) {
			n.succeeded++;
			/* Reset instead of TIME_WAIT, so that a leak cannot exhaust ports. */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
		} else if (ret == ECONNREFUSED) {
			n.refused++;
		} else if (n.other++ == 0) {
			c->first_other_errno = ret;
		}
		if (fd >= 0)
			close(fd);
		store_long(&c->refused, n.refused);
		store_long(&c->other, n.other);
		store_long(&c->succeeded, n.succeeded);
		store_long(&c->v4, n.v4);
		store_long(&c->v6, n.v6);
		store_long(&c->attempts, n.attempts);
	}
	__atomic_store_n(&c->end, end, __ATOMIC_RELEASE);
	_exit(0);
}

void cross_loop_start(struct cross_loop *loop, struct fx *fx, uid_t uid, uint16_t port)
{
	loop->shared = mmap(NULL, sizeof(*loop->shared), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(loop->shared, MAP_FAILED, "mmap: %s", strerror(errno));
	memset(loop->shared, 0, sizeof(*loop->shared));
	loop->pid = fork();
	cr_assert_geq(loop->pid, 0, "fork: %s", strerror(errno));
	if (loop->pid == 0)
		child_loop(fx, uid, port, loop->shared);
	cross_loop_wait_progress(loop, 100);
}

long cross_loop_attempts(const struct cross_loop *loop)
{
	return load_long(&loop->shared->attempts);
}

void cross_loop_wait_progress(const struct cross_loop *loop, long n)
{
	long target = cross_loop_attempts(loop) + n;

	for (int waited = 0; cross_loop_attempts(loop) < target; waited++) {
		int end = __atomic_load_n(&loop->shared->end, __ATOMIC_ACQUIRE);

		cr_assert_eq(end, CROSS_LOOP_RUNNING,
			     "the connect loop ended early (end %d, %ld attempts): %s", end,
			     cross_loop_attempts(loop),
			     end == CROSS_LOOP_SETUP_FAILED
				     ? "it could not join the cgroup or "
				       "drop its uid"
				     : "raise its bounds or shorten the test");
		cr_assert_lt(waited, PROGRESS_TIMEOUT_MS,
			     "the connect loop is stuck at %ld attempts",
			     cross_loop_attempts(loop));
		usleep(1000);
	}
}

void cross_loop_stop(struct cross_loop *loop, struct cross_loop_counts *out)
{
	int status;

	__atomic_store_n(&loop->shared->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(waitpid(loop->pid, &status, 0), loop->pid, "waitpid: %s", strerror(errno));
	loop->pid = -1;
	*out = *loop->shared;
	munmap(loop->shared, sizeof(*loop->shared));
	loop->shared = NULL;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the connect loop died (status 0x%x, end %d)", status, out->end);
	cr_assert_eq(out->end, CROSS_LOOP_STOPPED,
		     "the connect loop hit a bound (end %d) before the faults were over", out->end);
}
