// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"
#include "loader.h"
#include "mounts.h"

static const uid_t test_uids[] = { 2001, 2002, 2003, 2004, 2005, 2006, 2999 };

const char *fx_binary(void)
{
	const char *b = getenv("TG_BINARY");

	return b ? b : "build/tunnelguard";
}

int fx_link_up(const char *ifname)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

/*
 * The test cgroup of the running test, which fx_listen() children join: the guard is attached at
 * the cgroup root in production, where its bind and close hooks see every listener; in a test
 * they see those of its cgroup.
 */
static char listen_cgroup[PATH_MAX + 16];
bool fx_listen_outside = false;

void fx_setup(struct fx *fx)
{
	char root[PATH_MAX / 2];

	memset(fx, 0, sizeof(*fx));
	if (geteuid() != 0)
		cr_skip_test("kernel tests need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		cr_skip_test("kernel has no BTF at /sys/kernel/btf/vmlinux");
	if (access(fx_binary(), X_OK) < 0)
		cr_skip_test("no tunnelguard binary at %s (set TG_BINARY)", fx_binary());
	if (mounts_find_cgroup2(root, sizeof(root)) < 0)
		cr_skip_test("no cgroup v2 hierarchy mounted");
	for (size_t i = 0; i < sizeof(test_uids) / sizeof(test_uids[0]); i++)
		cr_assert_null(getpwuid(test_uids[i]),
			       "test uid %u belongs to a real account; tests refuse to run",
			       test_uids[i]);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(fx_link_up("lo"), 0, "cannot bring lo up in the test netns");

	snprintf(fx->cgroup, sizeof(fx->cgroup), "%s/" FX_PREFIX "%d", root, getpid());
	snprintf(fx->pin_dir, sizeof(fx->pin_dir), MOUNTS_BPFFS_ROOT "/" FX_PREFIX "%d", getpid());
	snprintf(fx->config, sizeof(fx->config), "/tmp/" FX_PREFIX "%d.conf", getpid());
	snprintf(fx->daemon_out, sizeof(fx->daemon_out), "/tmp/" FX_PREFIX "%d.out", getpid());
	snprintf(fx->daemon_err, sizeof(fx->daemon_err), "/tmp/" FX_PREFIX "%d.err", getpid());
	cr_assert_eq(mkdir(fx->cgroup, 0755), 0, "mkdir %s: %s", fx->cgroup, strerror(errno));
	snprintf(listen_cgroup, sizeof(listen_cgroup), "%s/cgroup.procs", fx->cgroup);
	fx->ready = true;
}

void fx_teardown(struct fx *fx)
{
	if (!fx->ready)
		return;
	char kill_path[PATH_MAX + 16];
	int fd;

	loader_unload(fx->pin_dir);
	/* Children left in the cgroup (listeners a failed test did not stop) go first. */
	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", fx->cgroup);
	fd = open(kill_path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		bool killed = write(fd, "1", 1) == 1;

		close(fd);
		if (!killed)
			fprintf(stderr, "fixture: cannot empty %s: %s\n", fx->cgroup,
				strerror(errno));
	}
	for (int i = 0; i < 100 && rmdir(fx->cgroup) < 0 && errno == EBUSY; i++)
		usleep(10000);
	listen_cgroup[0] = '\0';
	fx_listen_outside = false;
	unlink(fx->config);
	unlink(fx->daemon_out);
	unlink(fx->daemon_err);
	fx->ready = false;
}

/* Leftovers are named FX_PREFIX<pid>; a live pid's are another test run's, not leftovers. */
static bool owner_is_dead(const char *name)
{
	long pid = strtol(name + strlen(FX_PREFIX), NULL, 10);

	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void fx_sweep(void)
{
	char root[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	DIR *dir;

	if (geteuid() != 0)
		return;
	dir = opendir(MOUNTS_BPFFS_ROOT);
	while (dir && (de = readdir(dir))) {
		if (strncmp(de->d_name, FX_PREFIX, strlen(FX_PREFIX)) != 0 ||
		    !owner_is_dead(de->d_name))
			continue;
		snprintf(path, sizeof(path), MOUNTS_BPFFS_ROOT "/%s", de->d_name);
		loader_unload(path);
	}
	if (dir)
		closedir(dir);
	if (mounts_find_cgroup2(root, sizeof(root)) < 0)
		return;
	dir = opendir(root);
	while (dir && (de = readdir(dir))) {
		if (strncmp(de->d_name, FX_PREFIX, strlen(FX_PREFIX)) != 0 ||
		    !owner_is_dead(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		rmdir(path);
	}
	if (dir)
		closedir(dir);
}

void fx_write_config(struct fx *fx, const char *text)
{
	FILE *f = fopen(fx->config, "w");

	cr_assert_not_null(f, "cannot write %s: %s", fx->config, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0, "cannot write %s", fx->config);
}

int fx_try_run_argv(const char *const *argv, char *out, size_t len, unsigned int timeout_s)
{
	size_t used = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		if (timeout_s)
			alarm(timeout_s);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char drain[4096];
		size_t room = len - 1 - used;

		/* Past what out holds, read on and drop: a command cut off by a closed pipe would
		 * die of SIGPIPE and look like a failure of its own. */
		n = room ? read(pipefd[0], out + used, room)
			 : read(pipefd[0], drain, sizeof(drain));
		if (n <= 0)
			break;
		if (room)
			used += (size_t)n;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fx_run_argv(const char *const *argv, char *out, size_t len, unsigned int timeout_s)
{
	int rc = fx_try_run_argv(argv, out, len, timeout_s);

	cr_assert_neq(rc, -1, "cannot run %s: %s", argv[0], strerror(errno));
	return rc;
}

int fx_cli(struct fx *fx, ...)
{
	const char *argv[32];
	size_t argc = 0;
	va_list ap;

	argv[argc++] = fx_binary();
	va_start(ap, fx);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return fx_run_argv(argv, fx->output, sizeof(fx->output), 0);
}

int fx_load(struct fx *fx)
{
	return fx_cli(fx, "load", "-c", fx->config, "--pin-dir", fx->pin_dir, "--cgroup",
		      fx->cgroup, NULL);
}

int fx_unload(struct fx *fx)
{
	return fx_cli(fx, "unload", "--pin-dir", fx->pin_dir, NULL);
}

static int drop_uid(uid_t uid)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	return 0;
}

void fx_drop_to(uid_t uid)
{
	if (drop_uid(uid) < 0)
		_exit(CHILD_SETUP_FAILED);
}

/* Fill a sockaddr of the given family from text; an IPv4 text for AF_INET6 is v4-mapped. */
socklen_t fx_make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1 ? sizeof(*in) : 0;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1 ? sizeof(*in6) : 0;
}

static void listener_child(uid_t uid, const char *addr, uint16_t port, bool v6only, int ready_fd)
{
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t len = fx_make_addr(family, addr, port, &ss);
	int one = 1, v6 = v6only, fd, cg;

	cg = listen_cgroup[0] && !fx_listen_outside ? open(listen_cgroup, O_WRONLY | O_CLOEXEC)
						    : -1;
	if (cg >= 0 && write(cg, "0\n", 2) != 2)
		_exit(CHILD_SETUP_FAILED);
	if (cg >= 0)
		close(cg);
	fx_drop_to(uid);
	/* After the uid change: setresuid() clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(CHILD_SETUP_FAILED);
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || !len)
		_exit(CHILD_SETUP_FAILED);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 512) < 0)
		_exit(CHILD_SETUP_FAILED);
	if (write(ready_fd, "R", 1) != 1)
		_exit(CHILD_SETUP_FAILED);
	close(ready_fd);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

struct fx_listener fx_listen(uid_t uid, const char *addr, uint16_t port, bool v6only)
{
	struct fx_listener l = { .pid = -1 };
	int ready[2];
	char c = 0;

	cr_assert_eq(pipe(ready), 0, "pipe");
	l.pid = fork();
	cr_assert_geq(l.pid, 0, "fork: %s", strerror(errno));
	if (l.pid == 0) {
		close(ready[0]);
		listener_child(uid, addr, port, v6only, ready[1]);
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "listener uid %u on %s port %u did not start", uid,
		     addr, port);
	close(ready[0]);
	return l;
}

void fx_listener_stop(struct fx_listener *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
	l->pid = -1;
}

int fx_join_cgroup(const struct fx *fx)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", fx->cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int fx_enter_as(const struct fx *fx, uid_t uid, pid_t parent)
{
	if (fx_join_cgroup(fx) < 0)
		return -1;
	if (drop_uid(uid) < 0)
		return -1;
	/* After the uid change, which clears it; a parent already gone ends the child. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (parent && getppid() != parent))
		return -1;
	return 0;
}

int fx_connect_as(struct fx *fx, uid_t uid, int family, const char *addr, uint16_t port)
{
	struct timeval timeout = { .tv_sec = 2 };
	struct sockaddr_storage ss;
	socklen_t len;
	int status, fd;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (fx_enter_as(fx, uid, 0) < 0)
			_exit(CHILD_SETUP_FAILED);
		len = fx_make_addr(family, addr, port, &ss);
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0 || !len)
			_exit(CHILD_SETUP_FAILED);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		_exit(connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(WIFEXITED(status), "connector uid %u to %s:%u crashed", uid, addr, port);
	cr_assert_neq(WEXITSTATUS(status), CHILD_SETUP_FAILED,
		      "connector uid %u to %s:%u could not set itself up", uid, addr, port);
	return WEXITSTATUS(status);
}

int fx_bind_as(struct fx *fx, uid_t uid, int family, int type, const char *addr, uint16_t port,
	       bool v6only)
{
	struct sockaddr_storage ss;
	int status, fd, v6 = v6only;
	socklen_t len;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (fx_enter_as(fx, uid, 0) < 0)
			_exit(CHILD_SETUP_FAILED);
		len = fx_make_addr(family, addr, port, &ss);
		fd = socket(family, type, 0);
		if (fd < 0 || !len)
			_exit(CHILD_SETUP_FAILED);
		if (family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0)
			_exit(CHILD_SETUP_FAILED);
		_exit(bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(WIFEXITED(status), "binder uid %u to %s:%u crashed", uid, addr, port);
	cr_assert_neq(WEXITSTATUS(status), CHILD_SETUP_FAILED,
		      "binder uid %u to %s:%u could not set itself up", uid, addr, port);
	return WEXITSTATUS(status);
}

uint64_t fx_counter(struct fx *fx, unsigned int reason)
{
	char path[PATH_MAX + 32];
	int ncpu = libbpf_num_possible_cpus();
	uint64_t values[256] = {}, sum = 0;
	int fd;

	cr_assert(ncpu > 0 && ncpu <= 256, "unexpected CPU count %d", ncpu);
	snprintf(path, sizeof(path), "%s/" TG_PIN_COUNTERS, fx->pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(bpf_map_lookup_elem(fd, &reason, values), 0, "lookup counter %u", reason);
	close(fd);
	for (int i = 0; i < ncpu; i++)
		sum += values[i];
	return sum;
}

unsigned int fx_cgroup_prog_count(struct fx *fx, int attach_type)
{
	__u32 count = 0;
	int fd = open(fx->cgroup, O_RDONLY | O_DIRECTORY);

	cr_assert_geq(fd, 0, "open %s: %s", fx->cgroup, strerror(errno));
	cr_assert_eq(bpf_prog_query(fd, attach_type, 0, NULL, NULL, &count), 0,
		     "bpf_prog_query on %s: %s", fx->cgroup, strerror(errno));
	close(fd);
	return count;
}

void fx_connect_many(struct fx *fx, uid_t uid, int family, const char *addr, uint16_t port,
		     long count, long *refused, long *succeeded)
{
	long results[2] = { 0, 0 };
	struct sockaddr_storage ss;
	int status, pipefd[2], fd;
	socklen_t len;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0, "pipe");
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct linger linger = { .l_onoff = 1, .l_linger = 0 };

		close(pipefd[0]);
		if (fx_enter_as(fx, uid, 0) < 0)
			_exit(CHILD_SETUP_FAILED);
		len = fx_make_addr(family, addr, port, &ss);
		if (!len)
			_exit(CHILD_SETUP_FAILED);
		for (long i = 0; i < count; i++) {
			fd = socket(family, SOCK_STREAM, 0);
			if (fd < 0)
				_exit(CHILD_SETUP_FAILED);
			if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
				results[1]++;
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
			} else if (errno == ECONNREFUSED) {
				results[0]++;
			}
			close(fd);
		}
		_exit(write(pipefd[1], results, sizeof(results)) == sizeof(results) ? 0 : 1);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], results, sizeof(results)), (ssize_t)sizeof(results),
		     "connect loop of uid %u gave no result", uid);
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	*refused = results[0];
	*succeeded = results[1];
}

int fx_port_owner(struct fx *fx, const char *addr, uint16_t port, uint32_t *uid)
{
	struct tg_port_key key = { .port = port };
	struct tg_port_owner owner;
	char path[PATH_MAX + 32];
	int fd, err = 0;

	if (strchr(addr, ':')) {
		key.family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, addr, key.addr), 1, "bad address %s", addr);
	} else {
		key.family = AF_INET;
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		cr_assert_eq(inet_pton(AF_INET, addr, &key.addr[12]), 1, "bad address %s", addr);
	}
	snprintf(path, sizeof(path), "%s/" TG_PIN_PORT_OWNER, fx->pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	if (bpf_map_lookup_elem(fd, &key, &owner) == 0)
		*uid = owner.uid;
	else
		err = -ENOENT;
	close(fd);
	return err;
}

bool fx_wait_port_owner(struct fx *fx, const char *addr, uint16_t port, bool want_present,
			uint32_t *uid, int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		bool present = fx_port_owner(fx, addr, port, uid) == 0;

		if (present == want_present)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    timeout_ms)
			return false;
		usleep(1000);
	}
}

pid_t fx_daemon_start(struct fx *fx, ...)
{
	const char *argv[32] = { fx_binary(), "daemon",	   "-c",       fx->config,
				 "--pin-dir", fx->pin_dir, "--cgroup", fx->cgroup };
	size_t argc = 8;
	va_list ap;
	pid_t pid;

	va_start(ap, fx);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int out = open(fx->daemon_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(fx->daemon_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (out < 0 || err < 0)
			_exit(127);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

bool fx_daemon_ready(const struct fx *fx, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (fx_count_lines(fx->daemon_err, "daemon running") == 1)
			return true;
		usleep(10000);
	}
	return fx_count_lines(fx->daemon_err, "daemon running") == 1;
}

int fx_daemon_stop(pid_t pid, int sig)
{
	int status;

	kill(pid, sig);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long fx_count_lines(const char *path, const char *containing)
{
	char line[4096];
	long n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!containing || strstr(line, containing))
			n++;
	fclose(f);
	return n;
}

int fx_run(const char *cmd, char *out, size_t len)
{
	size_t used = 0, n;
	FILE *p = popen(cmd, "r");
	int status;

	cr_assert_not_null(p, "popen %s: %s", cmd, strerror(errno));
	while (used + 1 < len && (n = fread(out + used, 1, len - 1 - used, p)) > 0)
		used += n;
	out[used] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- a second network namespace ---- */

void fx_netns_new(struct fx_netns *ns)
{
	int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	socklen_t len = sizeof(ns->cookie);
	int fd;

	ns->fd = -1;
	cr_assert_geq(here, 0, "open /proc/self/ns/net: %s", strerror(errno));
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ns->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Back to the test's namespace before any assert can end the test in the new one. */
	cr_assert_eq(setns(here, CLONE_NEWNET), 0, "setns back to the test netns: %s",
		     strerror(errno));
	close(here);
	cr_assert_geq(ns->fd, 0, "open the new netns: %s", strerror(errno));
	cr_assert_geq(fd, 0, "socket in the new netns: %s", strerror(errno));
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &ns->cookie, &len), 0,
		     "SO_NETNS_COOKIE: %s", strerror(errno));
	close(fd);
	snprintf(ns->path, sizeof(ns->path), "/proc/%d/fd/%d", getpid(), ns->fd);
	cr_assert_eq(fx_run_in(ns, "ip link set lo up", NULL, 0), 0,
		     "cannot bring lo up in the second netns");
}

void fx_netns_delete(struct fx_netns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

int fx_run_in(const struct fx_netns *ns, const char *cmd, char *out, size_t len)
{
	size_t used = 0;
	int pipefd[2], status;
	char sink[4096];
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setns(ns->fd, CLONE_NEWNET) < 0)
			_exit(CHILD_SETUP_FAILED);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		if (out && used + 1 < len)
			n = read(pipefd[0], out + used, len - 1 - used);
		else
			n = read(pipefd[0], sink, sizeof(sink));
		if (n <= 0)
			break;
		if (out && used + 1 < len)
			used += n;
	}
	if (out && len)
		out[used] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Fill a sockaddr like fx_make_addr(), and take a scope after '%' ("fe80::1%veth0"), which must be
 * resolved in the namespace where the socket will live.
 */
static socklen_t make_scoped_addr(int family, const char *addr, uint16_t port,
				  struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *scope = strchr(addr, '%');
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	socklen_t len;

	if (!scope)
		return fx_make_addr(family, addr, port, ss);
	snprintf(text, sizeof(text), "%.*s", (int)(scope - addr), addr);
	len = family == AF_INET6 ? fx_make_addr(family, text, port, ss) : 0;
	if (len)
		in6->sin6_scope_id = if_nametoindex(scope + 1);
	return len && in6->sin6_scope_id ? len : 0;
}

/* The errno of the first step that failed, written to report_fd; 0 once listening. */
static void listener_in_child(struct fx *fx, const struct fx_netns *ns, uid_t uid, const char *addr,
			      uint16_t port, bool v6only, const char *device, int report_fd)
{
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	int one = 1, v6 = v6only, err = 0, fd;
	struct sockaddr_storage ss;
	socklen_t len;

	if (setns(ns->fd, CLONE_NEWNET) < 0)
		_exit(CHILD_SETUP_FAILED);
	if (fx_enter_as(fx, uid, 0) < 0)
		_exit(CHILD_SETUP_FAILED);
	/* After the uid change: setresuid() clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(CHILD_SETUP_FAILED);
	len = make_scoped_addr(family, addr, port, &ss);
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || !len)
		err = fd < 0 ? errno : EINVAL;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		err = errno;
	else if (family == AF_INET6 &&
		 setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0)
		err = errno;
	else if (device &&
		 setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, strlen(device) + 1) < 0)
		err = errno;
	else if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 512) < 0)
		err = errno;
	if (write(report_fd, &err, sizeof(err)) != sizeof(err) || err)
		_exit(CHILD_SETUP_FAILED);
	close(report_fd);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

struct fx_listener fx_listen_in(struct fx *fx, const struct fx_netns *ns, uid_t uid,
				const char *addr, uint16_t port, bool v6only, const char *device)
{
	struct fx_listener l = { .pid = -1 };
	int report[2], err = -1;

	cr_assert_eq(pipe2(report, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	l.pid = fork();
	cr_assert_geq(l.pid, 0, "fork: %s", strerror(errno));
	if (l.pid == 0) {
		close(report[0]);
		listener_in_child(fx, ns, uid, addr, port, v6only, device, report[1]);
	}
	close(report[1]);
	if (read(report[0], &err, sizeof(err)) != sizeof(err))
		err = -1;
	close(report[0]);
	if (err) {
		fx_listener_stop(&l);
		cr_assert_fail("listener uid %u on %s port %u%s%s did not start: %s", uid, addr,
			       port, device ? " device " : "", device ? device : "",
			       err < 0 ? "its setup failed" : strerror(err));
	}
	return l;
}

int fx_connect_in(struct fx *fx, const struct fx_netns *ns, uid_t uid, int family, const char *addr,
		  uint16_t port, const char *device, int timeout_ms)
{
	struct timeval timeout = { .tv_sec = timeout_ms / 1000,
				   .tv_usec = (timeout_ms % 1000) * 1000 };
	struct sockaddr_storage ss;
	socklen_t len;
	int status, fd;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setns(ns->fd, CLONE_NEWNET) < 0)
			_exit(CHILD_SETUP_FAILED);
		if (fx_enter_as(fx, uid, 0) < 0)
			_exit(CHILD_SETUP_FAILED);
		len = make_scoped_addr(family, addr, port, &ss);
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0 || !len)
			_exit(CHILD_SETUP_FAILED);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		if (device &&
		    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, strlen(device) + 1) < 0)
			_exit(CHILD_SETUP_FAILED);
		_exit(connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(WIFEXITED(status), "connector uid %u to %s:%u crashed", uid, addr, port);
	cr_assert_neq(WEXITSTATUS(status), CHILD_SETUP_FAILED,
		      "connector uid %u to %s:%u could not set itself up", uid, addr, port);
	return WEXITSTATUS(status);
}

int fx_netns_info(struct fx *fx, uint64_t cookie, struct tg_netns_info *info)
{
	char path[PATH_MAX + 32];
	__u64 key = cookie;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/" TG_PIN_NETNS, fx->pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	if (bpf_map_lookup_elem(fd, &key, info) < 0)
		err = -ENOENT;
	close(fd);
	return err;
}

bool fx_wait_netns_addrs_known(struct fx *fx, uint64_t cookie, int timeout_ms)
{
	struct tg_netns_info info;

	for (int waited = 0;; waited += 10) {
		if (fx_netns_info(fx, cookie, &info) == 0 && info.addrs_known == 1)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(10000);
	}
}
