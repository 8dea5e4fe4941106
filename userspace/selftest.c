// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "selftest.h"
#include "pins.h"

/* Exit codes of the probe besides an errno (all errnos are below 134). */
#define PROBE_CONNECTED	   0
#define PROBE_SETUP_FAILED 200

#define PROBE_CANDIDATES 8

/* Up to max uids the policy treats as tenants, lowest first. Returns how many. */
static unsigned int pick_tenants(const struct tg_policy *p, uint32_t *out, unsigned int max)
{
	unsigned int found = 0;

	for (uint32_t r = 0; r < p->n_tenant && found < max; r++) {
		for (uint64_t uid = p->tenant[r].first; uid <= p->tenant[r].last && found < max;
		     uid++) {
			if (uid - p->tenant[r].first > 4096)
				break; /* a range of exempt uids this long: try the next range */
			if (policy_is_tenant(p, (uint32_t)uid))
				out[found++] = (uint32_t)uid;
		}
	}
	return found;
}

/*
 * A port where the policy itself says caller's connect to owner's listener is refused (or, in
 * audit mode, recorded): asked of tg_decide_connect_local(), so that allow-ports and allow rules
 * are skipped the way the kernel will. 0 when there is none.
 */
static uint16_t pick_port(const struct tg_policy *p, uint32_t owner, uint32_t caller,
			  enum tg_reason want)
{
	for (uint32_t i = 0; i < 65535; i++) {
		uint16_t port = (uint16_t)(1024 + (46087 + i) % 64512); /* 47111 first, then up */
		struct tg_facts f = { .caller_uid = caller,
				      .port = port,
				      .listener = TG_LISTENER_FOUND,
				      .owner_uid = owner };

		if (policy_decide_connect_local(p, &f) == want)
			return port;
	}
	return 0;
}

/* Two tenants and a port the probe must be refused on; -ENOENT when the policy has none. */
static int pick_probe(const struct tg_policy *p, enum tg_reason want, uint32_t *owner,
		      uint32_t *caller, uint16_t *port)
{
	uint32_t uids[PROBE_CANDIDATES];
	unsigned int n = pick_tenants(p, uids, PROBE_CANDIDATES);

	/* The lowest tenant listens and the next one connects, as far as the policy allows. */
	for (unsigned int o = 0; o < n; o++) {
		for (unsigned int c = 0; c < n; c++) {
			if (o == c)
				continue;
			*port = pick_port(p, uids[o], uids[c], want);
			if (*port) {
				*owner = uids[o];
				*caller = uids[c];
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int join_cgroup(const char *cgroup)
{
	char path[PATH_MAX];
	int fd, ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup) >= sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, "0\n", 2) == 2;
	close(fd);
	return ok ? 0 : -1;
}

static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return err;
}

/* The probe's set-up steps, so that a failure names the one that failed and what it needs. */
enum probe_step {
	STEP_CGROUP,   /* join the attach cgroup */
	STEP_NETNS,    /* a network namespace of its own */
	STEP_LOOPBACK, /* lo up in it */
	STEP_LISTEN,   /* the owner's listener */
	STEP_UID,      /* become the caller */
	STEP_SOCKET,   /* the caller's socket */
};

/* What the probe tells its parent before it exits with PROBE_SETUP_FAILED. */
struct probe_failure {
	int step; /* enum probe_step */
	int err;  /* errno */
};

static void probe_failed(int report_fd, enum probe_step step)
{
	struct probe_failure f = { .step = step, .err = errno };

	if (write(report_fd, &f, sizeof(f)) != sizeof(f))
		_exit(PROBE_SETUP_FAILED);
	_exit(PROBE_SETUP_FAILED);
}

/* The probe itself, in a forked child: never returns. */
static void probe(const char *cgroup, uint32_t owner, uint32_t caller, uint16_t port, int report_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, listener, fd;

	prctl(PR_SET_NAME, "tg-selftest");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (join_cgroup(cgroup) < 0)
		probe_failed(report_fd, STEP_CGROUP);
	if (unshare(CLONE_NEWNET) < 0)
		probe_failed(report_fd, STEP_NETNS);
	if (loopback_up() < 0)
		probe_failed(report_fd, STEP_LOOPBACK);
	/* sk_uid comes from the fsuid at socket creation: the listener is the owner's. */
	setfsuid(owner);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	setfsuid(0);
	if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener, 1) < 0)
		probe_failed(report_fd, STEP_LISTEN);
	if (setgroups(0, NULL) < 0 || setresgid(caller, caller, caller) < 0 ||
	    setresuid(caller, caller, caller) < 0)
		probe_failed(report_fd, STEP_UID);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		probe_failed(report_fd, STEP_SOCKET);
	_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? PROBE_CONNECTED : errno);
}

/* "self-test probe could not drop to uid 2002 (needs ...): Operation not permitted" */
static void describe_failure(int report_fd, const char *cgroup, uint32_t owner, uint32_t caller,
			     char *message, size_t len)
{
	struct probe_failure f = { .step = -1 };
	char what[PATH_MAX + 64];

	if (read(report_fd, &f, sizeof(f)) != sizeof(f) || f.step < 0 || f.step > STEP_SOCKET) {
		snprintf(message, len, "self-test probe died before it could say why");
		return;
	}
	switch (f.step) {
	case STEP_CGROUP:
		snprintf(what, sizeof(what), "join the cgroup %s", cgroup);
		break;
	case STEP_NETNS:
		snprintf(
			what, sizeof(what),
			"make a network namespace of its own (needs CAP_SYS_ADMIN; use --no-self-test where there is none)");
		break;
	case STEP_LOOPBACK:
		snprintf(what, sizeof(what),
			 "bring up lo in its network namespace (needs CAP_NET_ADMIN)");
		break;
	case STEP_LISTEN:
		snprintf(what, sizeof(what), "listen on 127.0.0.1 as uid %u", owner);
		break;
	case STEP_UID:
		snprintf(what, sizeof(what), "drop to uid %u (needs CAP_SETUID and CAP_SETGID)",
			 caller);
		break;
	default:
		snprintf(what, sizeof(what), "make a socket as uid %u", caller);
	}
	snprintf(message, len, "self-test probe could not %s: %s", what, strerror(f.err));
}

int selftest_run(const struct tg_policy *policy, unsigned int deny_errno, const char *cgroup,
		 const char *pin_dir, struct tg_selftest *out, char *message, size_t len)
{
	const char *probe_cgroup = getenv(SELFTEST_CGROUP_ENV);
	unsigned long long before[TG_REASON_COUNT], after[TG_REASON_COUNT];
	bool audit = policy->mode == TG_MODE_AUDIT;
	enum tg_reason want = audit ? TG_AUDIT_OTHER_TENANT : TG_DENY_OTHER_TENANT;
	uint32_t owner = 0, caller = 0;
	uint16_t port = 0;
	int status, got, err, report[2];
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->time_unix = (uint64_t)time(NULL);
	if (pick_probe(policy, want, &owner, &caller, &port) < 0) {
		out->result = TG_SELFTEST_SKIPPED;
		snprintf(
			message, len,
			"self-test skipped: the policy has fewer than two tenant uids, or lets every tenant reach every other's ports");
		return 0;
	}
	err = pins_sum_percpu(pin_dir, TG_PIN_COUNTERS, before, TG_REASON_COUNT);
	if (err) {
		snprintf(message, len, "self-test cannot read the counters: %s", strerror(-err));
		return err;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		snprintf(message, len, "self-test cannot make a pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		snprintf(message, len, "self-test cannot fork: %s", strerror(-err));
		close(report[0]);
		close(report[1]);
		return err;
	}
	if (pid == 0) {
		close(report[0]);
		probe(probe_cgroup ? probe_cgroup : cgroup, owner, caller, port, report[1]);
	}
	close(report[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == PROBE_SETUP_FAILED) {
		describe_failure(report[0], probe_cgroup ? probe_cgroup : cgroup, owner, caller,
				 message, len);
		close(report[0]);
		return -ECHILD;
	}
	close(report[0]);
	got = WEXITSTATUS(status);
	out->probe_errno = got;
	err = pins_sum_percpu(pin_dir, TG_PIN_COUNTERS, after, TG_REASON_COUNT);
	if (!err && (audit ? got == PROBE_CONNECTED : got == (int)deny_errno) &&
	    after[want] > before[want]) {
		out->result = TG_SELFTEST_PASSED;
		snprintf(message, len, "self-test passed: uid %u's connect to uid %u's listener %s",
			 caller, owner, audit ? "was recorded" : "was refused");
		return 0;
	}
	out->result = TG_SELFTEST_FAILED;
	snprintf(
		message, len,
		"self-test FAILED: uid %u's connect to uid %u's listener gave %s and the %s counter did not rise: the guard does not hold here",
		caller, owner, got ? strerror(got) : "success", audit ? "audit" : "deny");
	return -EPERM;
}
