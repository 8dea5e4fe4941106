// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <linux/bpf.h>

#include "adv.h"
#include "reasons.h"

#define MSG_READY     1
#define MSG_DONE      2
#define MAX_CHILDREN  32
#define MAX_CGROUPS   8
#define REPLY_TIMEOUT 10000 /* ms a child may take to report */
#define CLOSED_OFFSET 200
#define OWN_OFFSET    400

/* One message from a child; small enough for an atomic pipe write. */
struct adv_msg {
	int kind;  /* MSG_READY or MSG_DONE */
	int value; /* MSG_READY: 0 or the errno of the failed setup */
	struct adv_result result;
};

static pid_t live[MAX_CHILDREN];
static char cgroups_made[MAX_CGROUPS][PATH_MAX * 2];
static int n_cgroups_made;

/* In a child: where to report, where the go byte comes from. */
static int child_report_fd = -1;
static int child_go_fd = -1;

static const char *errno_name(int err)
{
	const char *name = err ? strerrorname_np(err) : "success";

	return name ? name : "?";
}

static void remember(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (live[i] <= 0) {
			live[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_fail("more than %d children alive at once", MAX_CHILDREN);
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void send_msg(int kind, int value, const struct adv_result *result)
{
	struct adv_msg m = { .kind = kind, .value = value };

	if (result)
		m.result = *result;
	if (write(child_report_fd, &m, sizeof(m)) != sizeof(m))
		_exit(1);
}

void adv_ready(int err)
{
	send_msg(MSG_READY, err, NULL);
	if (err)
		_exit(0);
}

void adv_wait_go(void)
{
	char c;

	if (read(child_go_fd, &c, 1) != 1)
		_exit(1); /* the test is gone */
}

void adv_setup_failed(struct adv_result *out, const char *what)
{
	out->steps = -1;
	out->setup_errno = errno;
	snprintf(out->setup_what, sizeof(out->setup_what), "%s", what);
}

void adv_step(struct adv_result *out, int ok)
{
	int err = ok ? 0 : errno;

	if (out->steps >= 0 && out->steps < ADV_MAX_STEPS)
		out->err[out->steps++] = err;
}

static int join_cgroup(const char *cgroup)
{
	char path[PATH_MAX + 16];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, "0\n", 2) != 2)
		err = -1;
	close(fd);
	return err;
}

static int become(const struct adv_who *who)
{
	uid_t suid = who->ruid == who->euid ? who->euid : 0;
	gid_t gid = who->euid;

	if (who->ruid == 0 && who->euid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(who->ruid, who->euid, suid) < 0)
		return -1;
	return 0;
}

struct adv_proc adv_spawn(const struct adv_who *who, adv_child_fn fn, void *arg)
{
	struct adv_proc p = { .pid = -1, .from_child = -1, .to_child = -1 };
	pid_t parent = getpid();
	int up[2], down[2];

	cr_assert_eq(pipe2(up, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	p.pid = fork();
	cr_assert_geq(p.pid, 0, "fork: %s", strerror(errno));
	if (p.pid == 0) {
		struct adv_result out = { 0 };

		close(up[0]);
		close(down[1]);
		child_report_fd = up[1];
		child_go_fd = down[0];
		signal(SIGPIPE, SIG_IGN);
		if (who->cgroup && join_cgroup(who->cgroup) < 0) {
			adv_setup_failed(&out, "join the cgroup");
		} else if (become(who) < 0) {
			adv_setup_failed(&out, "setresuid");
		} else {
			/* After the uid change: a credential change clears the death signal. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			fn(arg, &out);
		}
		send_msg(MSG_DONE, 0, &out);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	p.from_child = up[0];
	p.to_child = down[1];
	remember(p.pid);
	return p;
}

static void read_msg(struct adv_proc *p, const char *name, struct adv_msg *m)
{
	struct pollfd pfd = { .fd = p->from_child, .events = POLLIN };
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t n;

		cr_assert_gt(poll(&pfd, 1, REPLY_TIMEOUT), 0, "%s: child %d silent for %d ms", name,
			     p->pid, REPLY_TIMEOUT);
		n = read(p->from_child, (char *)m + got, sizeof(*m) - got);
		cr_assert_gt(n, 0, "%s: child %d died without reporting", name, p->pid);
		got += n;
	}
	if (m->kind == MSG_DONE && m->result.steps < 0)
		cr_assert_fail("%s: child setup failed at %s: %s", name, m->result.setup_what,
			       strerror(m->result.setup_errno));
}

static void reap(struct adv_proc *p)
{
	if (p->pid > 0) {
		waitpid(p->pid, NULL, 0);
		forget(p->pid);
	}
	if (p->from_child >= 0)
		close(p->from_child);
	if (p->to_child >= 0)
		close(p->to_child);
	p->pid = -1;
	p->from_child = -1;
	p->to_child = -1;
}

int adv_wait_ready(struct adv_proc *p)
{
	struct adv_msg m;

	read_msg(p, "ready", &m);
	cr_assert_eq(m.kind, MSG_READY, "child %d finished instead of getting ready", p->pid);
	if (m.value)
		reap(p);
	return m.value;
}

void adv_go(struct adv_proc *p)
{
	cr_assert_eq(write(p->to_child, "G", 1), 1, "cannot wake child %d", p->pid);
}

void adv_finish(struct adv_proc *p, const char *name, struct adv_result *out)
{
	struct adv_msg m;

	read_msg(p, name, &m);
	cr_assert_eq(m.kind, MSG_DONE, "%s: unexpected message %d", name, m.kind);
	*out = m.result;
	reap(p);
}

void adv_stop(struct adv_proc *p)
{
	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	reap(p);
}

void adv_run(const struct adv_who *who, adv_child_fn fn, void *arg, const char *name,
	     struct adv_result *out)
{
	struct adv_proc p = adv_spawn(who, fn, arg);

	adv_finish(&p, name, out);
}

socklen_t adv_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1 ? sizeof(*in) : 0;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char mapped[64];

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	if (!strchr(addr, ':')) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
		addr = mapped;
	}
	return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1 ? sizeof(*in6) : 0;
}

struct listen_arg {
	const char *addr;
	uint16_t port;
	unsigned int flags;
};

static void echo(int fd)
{
	char buf[256];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			break;
}

/* Datagrams already queued after adv_go(): loopback delivery is synchronous. */
static int count_datagrams(int fd)
{
	char buf[64];
	int n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

static void listener_child(void *arg, struct adv_result *out)
{
	const struct listen_arg *l = arg;
	int family = strchr(l->addr, ':') ? AF_INET6 : AF_INET;
	int udp = l->flags & ADV_UDP;
	int one = 1, v6only = !!(l->flags & ADV_V6ONLY);
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(family, l->addr, l->port, &ss);
	int fd = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);

	if (fd < 0 || !len)
		adv_ready(fd < 0 ? errno : EINVAL);
	if (!(l->flags & ADV_NO_REUSEADDR) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		adv_ready(errno);
	if ((l->flags & ADV_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		adv_ready(errno);
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		adv_ready(errno);
	if ((l->flags & ADV_BIND_LO) && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0)
		adv_ready(errno);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		adv_ready(errno);
	if (!udp && listen(fd, 128) < 0)
		adv_ready(errno);
	adv_ready(0);
	if (udp) {
		adv_wait_go();
		out->steps = 1;
		out->err[0] = count_datagrams(fd); /* a count, not an errno */
		return;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		if (l->flags & ADV_ECHO)
			echo(c);
		close(c);
	}
}

int adv_listen(struct adv_proc *p, uid_t ruid, uid_t euid, const char *addr, uint16_t port,
	       unsigned int flags)
{
	struct listen_arg arg = { .addr = addr, .port = port, .flags = flags };
	struct adv_who who = { .cgroup = NULL, .ruid = ruid, .euid = euid };

	*p = adv_spawn(&who, listener_child, &arg);
	return adv_wait_ready(p);
}

void adv_counts_read(struct fx *fx, struct adv_counts *c)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++)
		c->n[r] = fx_counter(fx, r);
}

void adv_expect_deltas(const char *name, const struct adv_counts *before,
		       const struct adv_counts *after, const unsigned int *delta)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++) {
		uint64_t want = before->n[r] + delta[r];

		cr_expect_eq(after->n[r], want, "%s: counter %s went %llu -> %llu, expected %llu",
			     name, reason_name(r), (unsigned long long)before->n[r],
			     (unsigned long long)after->n[r], (unsigned long long)want);
	}
}

void adv_expect_steps(const char *name, const struct adv_result *got, const int *want, int steps)
{
	cr_expect_eq(got->steps, steps, "%s: %d steps reported, expected %d", name, got->steps,
		     steps);
	for (int i = 0; i < steps && i < got->steps; i++)
		cr_expect_eq(got->err[i], want[i], "%s: step %d gave %s (%d), expected %s (%d)",
			     name, i + 1, errno_name(got->err[i]), got->err[i], errno_name(want[i]),
			     want[i]);
}

void adv_cgroup_make(struct fx *fx, const char *rel, char *out, size_t len)
{
	cr_assert_lt(n_cgroups_made, MAX_CGROUPS, "too many cgroups");
	snprintf(out, len, "%s/%s", fx->cgroup, rel);
	cr_assert_eq(mkdir(out, 0755), 0, "mkdir %s: %s", out, strerror(errno));
	snprintf(cgroups_made[n_cgroups_made++], sizeof(cgroups_made[0]), "%s", out);
}

void adv_cleanup(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	}
	while (n_cgroups_made > 0)
		rmdir(cgroups_made[--n_cgroups_made]);
}

int adv_send_fd(int unix_fd, int fd)
{
	char data = 'F';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = { 0 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(unix_fd, &msg, 0) == 1 ? 0 : -errno;
}

int adv_recv_fd(int unix_fd)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(unix_fd, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
}

int adv_port_rewriter(uint16_t from, uint16_t to)
{
	const int16_t port = offsetof(struct bpf_sock_addr, user_port);
	/* user_port holds the port in network order, as the caller wrote it. */
	struct bpf_insn rewrite[] = {
		insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, port, 0),
		insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 2, htons(from)),
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, htons(to)),
		insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_2, port, 0),
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1),
		insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	size_t skip = from == to ? 4 : 0; /* allow everything unchanged */
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "adv_rewrite", "GPL", rewrite + skip,
			       sizeof(rewrite) / sizeof(rewrite[0]) - skip, &opts);

	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------ the attack table */

struct case_arg {
	const struct adv_case *c;
	struct adv_target t;
};

static void case_child(void *arg, struct adv_result *out)
{
	const struct case_arg *a = arg;

	if (a->c->prelude) {
		int err = a->c->prelude(a->c);

		if (err) {
			errno = err;
			adv_setup_failed(out, "prelude");
			return;
		}
	}
	a->c->attack(a->c, &a->t, out);
}

void adv_run_cases(struct fx *fx, const struct adv_case *cases, size_t n, uint16_t base_port)
{
	cr_assert_lt(n, (size_t)CLOSED_OFFSET, "too many cases for the port plan");
	for (size_t i = 0; i < n; i++) {
		const struct adv_case *c = &cases[i];
		struct case_arg arg = { .c = c };
		struct adv_proc owner = { .pid = -1, .from_child = -1, .to_child = -1 };
		struct adv_proc own = owner;
		struct adv_counts before, after;
		struct adv_result res;
		char cgroup[PATH_MAX * 2];
		struct adv_who who = { .cgroup = cgroup, .ruid = c->caller, .euid = c->caller };

		arg.t.port = base_port + i;
		arg.t.closed_port = arg.t.port + CLOSED_OFFSET;
		arg.t.own_port = arg.t.port + OWN_OFFSET;
		if (c->cgroup)
			snprintf(cgroup, sizeof(cgroup), "%s/%s", fx->cgroup, c->cgroup);
		else
			snprintf(cgroup, sizeof(cgroup), "%s", fx->cgroup);
		if (c->owner != ADV_NOBODY)
			cr_assert_eq(adv_listen(&owner, c->owner, c->owner, c->listen, arg.t.port,
						c->lflags),
				     0, "%s: listener of uid %u on %s:%u failed", c->name, c->owner,
				     c->listen, arg.t.port);
		if (c->own)
			cr_assert_eq(adv_listen(&own, c->caller, c->caller, c->own, arg.t.own_port,
						strchr(c->own, ':') ? ADV_V6ONLY : 0),
				     0, "%s: the caller's own listener failed", c->name);
		adv_counts_read(fx, &before);
		adv_run(&who, case_child, &arg, c->name, &res);
		adv_counts_read(fx, &after);
		adv_stop(&owner);
		adv_stop(&own);
		adv_expect_steps(c->name, &res, c->expect, c->steps);
		adv_expect_deltas(c->name, &before, &after, c->delta);
	}
}

int adv_case_socket(const struct adv_case *c, int type, struct adv_result *out)
{
	struct timeval timeout = { .tv_sec = 2 };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(c->family, type, c->protocol);

	if (fd < 0) {
		adv_setup_failed(out, "socket");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
		adv_setup_failed(out, "SO_SNDTIMEO");
		goto fail;
	}
	if ((c->sflags & ADV_SOCK_BIND_LO) &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0) {
		adv_setup_failed(out, "SO_BINDTODEVICE lo");
		goto fail;
	}
	if (c->bind) {
		len = adv_addr(c->family, c->bind, 0, &ss);
		if (!len || bind(fd, (struct sockaddr *)&ss, len) < 0) {
			adv_setup_failed(out, "bind");
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* connect() to addr:port as step; returns whether it succeeded. */
static int connect_step(int fd, int family, const char *addr, uint16_t port, struct adv_result *out)
{
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(family, addr, port, &ss);
	int ok = len && connect(fd, (struct sockaddr *)&ss, len) == 0;

	if (!len)
		errno = EINVAL;
	adv_step(out, ok);
	return ok;
}

void adv_attack_connect(const struct adv_case *c, const struct adv_target *t,
			struct adv_result *out)
{
	int fd = adv_case_socket(c, SOCK_STREAM, out);

	if (fd < 0)
		return;
	connect_step(fd, c->family, c->to, t->port, out);
	close(fd);
}

void adv_attack_connect_port0(const struct adv_case *c, const struct adv_target *t,
			      struct adv_result *out)
{
	int fd = adv_case_socket(c, SOCK_STREAM, out);

	(void)t;
	if (fd < 0)
		return;
	connect_step(fd, c->family, c->to, 0, out);
	close(fd);
}

void adv_attack_tfo_sendto(const struct adv_case *c, const struct adv_target *t,
			   struct adv_result *out)
{
	struct sockaddr_storage ss;
	socklen_t len = adv_addr(c->family, c->to, t->port, &ss);
	int fd = adv_case_socket(c, SOCK_STREAM, out);

	if (fd < 0)
		return;
	adv_step(out,
		 sendto(fd, "x", 1, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss, len) == 1);
	close(fd);
}

void adv_attack_tfo_connect(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out)
{
	int one = 1, fd = adv_case_socket(c, SOCK_STREAM, out);

	if (fd < 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)) < 0)
		adv_setup_failed(out, "TCP_FASTOPEN_CONNECT");
	else
		connect_step(fd, c->family, c->to, t->port, out);
	close(fd);
}

void adv_attack_nonblocking(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out)
{
	struct pollfd pfd = { .events = POLLOUT };
	int so_error = 0;
	socklen_t len = sizeof(so_error);
	int fd = adv_case_socket(c, SOCK_STREAM | SOCK_NONBLOCK, out);

	if (fd < 0)
		return;
	if (!connect_step(fd, c->family, c->to, t->port, out) && out->err[0] == EINPROGRESS) {
		pfd.fd = fd;
		poll(&pfd, 1, 2000);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
		so_error = errno;
	out->err[out->steps++] = so_error;
	close(fd);
}

void adv_attack_closed_then(const struct adv_case *c, const struct adv_target *t,
			    struct adv_result *out)
{
	int fd = adv_case_socket(c, SOCK_STREAM, out);

	if (fd < 0)
		return;
	connect_step(fd, c->family, c->to, t->closed_port, out);
	connect_step(fd, c->family, c->to, t->port, out);
	close(fd);
}

void adv_attack_disconnect_then(const struct adv_case *c, const struct adv_target *t,
				struct adv_result *out)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int fd = adv_case_socket(c, SOCK_STREAM, out);

	if (fd < 0)
		return;
	connect_step(fd, c->family, c->to, t->own_port, out);
	adv_step(out, connect(fd, &unspec, sizeof(unspec)) == 0);
	connect_step(fd, c->family, c->to, t->port, out);
	close(fd);
}

struct fx adv_fx;

void adv_setup(void)
{
	fx_setup(&adv_fx);
}

void adv_teardown(void)
{
	adv_cleanup();
	fx_teardown(&adv_fx);
}
