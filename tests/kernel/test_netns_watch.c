// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon learns the local addresses of another network namespace where a tenant listens,
 * follows them from rtnetlink events (not a poll: the reconciliation interval is a minute here),
 * and forgets the namespace when its last listener closes (userspace/netns_watch.c). The second
 * namespace belongs to a forked child, so the kernel removes it with the child on every path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"

#define TENANT_A 2001
/* A reservation the daemon must put in each namespace's ip_local_reserved_ports. */
#define CONFIG		"tenant-uids = 2001-2003\nlayers = bpf\n[tenant a]\nuser = 2001\nports = 8500\n"
#define HAS_RESERVATION "grep -qx 8500 /proc/sys/net/ipv4/ip_local_reserved_ports"
/* Far beyond every wait below: what the tests see comes from events, not the reconciliation. */
#define INTERVAL "60000"
#define WAIT_MS	 1000
/* Listeners a storm of closes is made of. */
#define NW_MANY 200

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static struct fx fx;

/* A child in its own network namespace that listens as TENANT_A on command (see main). */
struct nw_child {
	pid_t pid;
	int cmd; /* parent -> child: 'L' listen, 'C' close */
	int ack; /* child -> parent: the cookie, then one byte per command */
	__u64 cookie;
};

static struct nw_child child = { .pid = -1, .cmd = -1, .ack = -1 };

static void nw_child_main(int cmd, int ack)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, fd, lfd[1 + NW_MANY], n = 0;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* In the guard's cgroup, as every process is under a guard at the root. */
	if (fx_join_cgroup(&fx) < 0 || unshare(CLONE_NEWNET) < 0 || fx_link_up("lo") < 0)
		_exit(1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		_exit(1);
	close(fd);
	if (setresgid(TENANT_A, TENANT_A, TENANT_A) < 0 ||
	    setresuid(TENANT_A, TENANT_A, TENANT_A) < 0)
		_exit(1);
	if (write(ack, &cookie, sizeof(cookie)) != sizeof(cookie))
		_exit(1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (read(cmd, &c, 1) == 1) {
		/* 'L': a listener on 8001; 'M': NW_MANY more on the next ports; 'C': close all */
		for (int want = c == 'L' ? 1 : c == 'M' ? NW_MANY : 0; want > 0; want--) {
			if (n == 1 + NW_MANY) {
				c = 'E';
				break;
			}
			sa.sin_port = htons(8001 + n);
			lfd[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (lfd[n] < 0 ||
			    setsockopt(lfd[n], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
			    bind(lfd[n], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    listen(lfd[n], 8) < 0) {
				c = 'E';
				break;
			}
			n++;
		}
		if (c == 'C')
			while (n > 0)
				close(lfd[--n]);
		if (write(ack, &c, 1) != 1)
			_exit(1);
	}
	_exit(0);
}

static void nw_child_start(void)
{
	int cmd[2], ack[2];

	cr_assert_eq(pipe2(cmd, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(ack, O_CLOEXEC), 0);
	child.pid = fork();
	cr_assert_geq(child.pid, 0, "fork: %s", strerror(errno));
	if (child.pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		nw_child_main(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	child.cmd = cmd[1];
	child.ack = ack[0];
	cr_assert_eq(read(child.ack, &child.cookie, sizeof(child.cookie)), sizeof(child.cookie),
		     "the namespace child did not start");
}

static void nw_child_do(char c)
{
	char got = 0;

	cr_assert_eq(write(child.cmd, &c, 1), 1);
	cr_assert_eq(read(child.ack, &got, 1), 1, "the namespace child died");
	cr_assert_eq(got, c, "the namespace child could not do '%c'", c);
}

static void nw_child_stop(void)
{
	if (child.pid > 0) {
		kill(child.pid, SIGKILL);
		waitpid(child.pid, NULL, 0);
	}
	if (child.cmd >= 0)
		close(child.cmd);
	if (child.ack >= 0)
		close(child.ack);
	child = (struct nw_child){ .pid = -1, .cmd = -1, .ack = -1 };
}

/* Run cmd inside the child's namespace; its exit status. */
static int nw_run_in_child(const char *cmd)
{
	char line[512], out[1024];

	snprintf(line, sizeof(line), "nsenter --net=/proc/%d/ns/net sh -c '%s' 2>&1", child.pid,
		 cmd);
	return fx_run(line, out, sizeof(out));
}

static int nw_open_pin(const char *name)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, name);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "bpf_obj_get %s: %s", path, strerror(errno));
	return fd;
}

/* netns[cookie].addrs_known, or -1 without an entry. */
static int nw_addrs_known(__u64 cookie)
{
	struct tg_netns_info info;
	int fd = nw_open_pin(TG_PIN_NETNS), known;

	known = bpf_map_lookup_elem(fd, &cookie, &info) == 0 ? (int)info.addrs_known : -1;
	close(fd);
	return known;
}

static bool nw_wait_addrs_known(__u64 cookie, int want)
{
	for (int waited = 0; waited <= WAIT_MS; waited += 10) {
		if (nw_addrs_known(cookie) == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* The exact key of addr/len (IPv4 v4-mapped) in the namespace cookie. */
static struct tg_netns_lpm_key nw_key(__u64 cookie, int family, const char *addr, unsigned len)
{
	struct tg_netns_lpm_key key = { .netns_cookie = cookie };

	if (family == AF_INET) {
		key.prefixlen = TG_NETNS_LPM_PREFIX + 96 + len;
		key.ip[2] = htonl(0xffff);
		cr_assert_eq(inet_pton(AF_INET, addr, &key.ip[3]), 1);
	} else {
		key.prefixlen = TG_NETNS_LPM_PREFIX + len;
		cr_assert_eq(inet_pton(AF_INET6, addr, key.ip), 1);
	}
	return key;
}

/* Is key exactly in the trie (not only covered by a shorter prefix)? */
static bool nw_has_key(int fd, const struct tg_netns_lpm_key *want)
{
	struct tg_netns_lpm_key key, last, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (memcmp(&key, want, sizeof(key)) == 0)
			return true;
		last = key;
		prev = &last;
	}
	return false;
}

static size_t nw_count_keys(int fd, __u64 cookie)
{
	struct tg_netns_lpm_key key, last, *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		n += key.netns_cookie == cookie;
		last = key;
		prev = &last;
	}
	return n;
}

static bool nw_wait_key(const struct tg_netns_lpm_key *key, bool present)
{
	int fd = nw_open_pin(TG_PIN_NETNS_ADDRS);
	bool ok = false;

	for (int waited = 0; waited <= WAIT_MS && !ok; waited += 10) {
		ok = nw_has_key(fd, key) == present;
		if (!ok)
			usleep(10000);
	}
	close(fd);
	return ok;
}

static bool nw_daemon_ready(void)
{
	return fx_daemon_ready(&fx, 5000);
}

static pid_t daemon_pid = -1;

static void setup(void)
{
	fx_setup(&fx);
	fx_write_config(&fx, CONFIG);
}

static void teardown(void)
{
	nw_child_stop();
	if (daemon_pid > 0)
		fx_daemon_stop(daemon_pid, SIGTERM);
	daemon_pid = -1;
	fx_teardown(&fx);
}

static void start_daemon(void)
{
	daemon_pid = fx_daemon_start(&fx, "--interval", INTERVAL, NULL);
	cr_assert(nw_daemon_ready(), "daemon did not start");
}

/*
 * status lists the child's namespace (text and JSON), by cookie and name, with its tunnel,
 * exactly while it is followed; `check` run inside it names it and judges by the guard's view.
 */
static void check_status(bool listed)
{
	char text[160], json[200], cmd[PATH_MAX + 256], out[4096];
	int fd = nw_open_pin(TG_PIN_NETNS_ADDRS);
	size_t prefixes = nw_count_keys(fd, child.cookie);
	unsigned long long cookie = (unsigned long long)child.cookie;

	close(fd);
	fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL);
	snprintf(text, sizeof(text), "    netns %llu (pid %d (", cookie, (int)child.pid);
	cr_expect_eq(strstr(fx.output, text) != NULL, listed, "status %s '%s':\n%s",
		     listed ? "lacks" : "still has", text, fx.output);
	snprintf(text, sizeof(text),
		 "addresses known yes (%zu local prefixes), 1 tunnel\n      127.0.0.1:8001 ",
		 prefixes);
	cr_expect_eq(strstr(fx.output, text) != NULL, listed, "status %s '%s':\n%s",
		     listed ? "lacks" : "still has", text, fx.output);
	cr_expect(strstr(fx.output, "  refusals by stage: syscall "), "no stages in:\n%s",
		  fx.output);
	fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL);
	snprintf(json, sizeof(json),
		 "\"followed\":true,\"addrs_known\":true,\"prefixes\":%zu,\"tunnels\":"
		 "[{\"endpoint\":\"127.0.0.1:8001\",\"uid\":%d,\"user\":null}]}",
		 prefixes, TENANT_A);
	cr_expect_eq(strstr(fx.output, json) != NULL, listed, "status --json %s '%s':\n%s",
		     listed ? "lacks" : "still has", json, fx.output);
	snprintf(json, sizeof(json), "{\"netns\":%llu,", cookie);
	cr_expect_eq(strstr(fx.output, json) != NULL, listed, "status --json %s '%s':\n%s",
		     listed ? "lacks" : "still has", json, fx.output);
	cr_expect(strstr(fx.output, "\"refusals_by_stage\":{\"syscall\":"), "%s", fx.output);
	if (!listed)
		return;
	snprintf(cmd, sizeof(cmd),
		 "nsenter --net=/proc/%d/ns/net %s check --pin-dir %s --uid 2002 --port 8001 "
		 "--addr 127.0.0.1 2>&1",
		 (int)child.pid, fx_binary(), fx.pin_dir);
	cr_expect_eq(fx_run(cmd, out, sizeof(out)), 1, "check in the namespace: %s", out);
	snprintf(text, sizeof(text), "deny 127.0.0.1:8001 deny_other_tenant owner=%d(", TENANT_A);
	cr_expect(strstr(out, text), "check in the namespace: %s", out);
	snprintf(text, sizeof(text), " netns=%llu(pid %d (", cookie, (int)child.pid);
	cr_expect(strstr(out, text), "check does not name the namespace as '%s': %s", text, out);
	cr_expect(!strstr(out, "note: the guard does not know"),
		  "check in a followed namespace says it is not known: %s", out);
}

/* What an address change in the namespace must do to tg_netns_addrs, one case each. */
static const struct {
	const char *name;
	const char *add;
	const char *del;
	int family;
	const char *addr;
	unsigned int len;
} changes[] = {
	{ "anyip4", "ip route add local 10.77.0.0/24 dev lo table local",
	  "ip route del local 10.77.0.0/24 dev lo table local", AF_INET, "10.77.0.0", 24 },
	{ "anyip6", "ip -6 route add local fd00:77::/64 dev lo table local",
	  "ip -6 route del local fd00:77::/64 dev lo table local", AF_INET6, "fd00:77::", 64 },
	{ "veth_addr",
	  "ip link add tg-nw0 type veth peer name tg-nw1 && ip addr add 10.78.0.1/24 dev tg-nw0",
	  "ip addr del 10.78.0.1/24 dev tg-nw0", AF_INET, "10.78.0.1", 32 },
};

Test(netns_watch, listener_namespace_learnt_followed_and_forgotten, .init = setup, .fini = teardown)
{
	struct tg_netns_lpm_key key;
	int fd;

	start_daemon();
	nw_child_start();
	cr_expect_eq(nw_addrs_known(child.cookie), -1, "namespace known before any listener");
	nw_child_do('L');
	cr_assert(nw_wait_addrs_known(child.cookie, 1), "namespace not known within %d ms",
		  WAIT_MS);
	key = nw_key(child.cookie, AF_INET, "127.0.0.1", 32);
	cr_expect(nw_wait_key(&key, true), "127.0.0.1 missing in the namespace's prefixes");
	key = nw_key(child.cookie, AF_INET6, "::1", 128);
	cr_expect(nw_wait_key(&key, true), "::1 missing in the namespace's prefixes");
	cr_expect_eq(nw_run_in_child(HAS_RESERVATION), 0,
		     "the namespace's ip_local_reserved_ports lacks the reservation 8500");
	check_status(true);

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		key = nw_key(child.cookie, changes[i].family, changes[i].addr, changes[i].len);
		cr_assert_eq(nw_run_in_child(changes[i].add), 0, "%s: %s failed", changes[i].name,
			     changes[i].add);
		cr_expect(nw_wait_key(&key, true), "%s: %s/%u not there within %d ms",
			  changes[i].name, changes[i].addr, changes[i].len, WAIT_MS);
		cr_expect_eq(nw_addrs_known(child.cookie), 1, "%s: addrs_known dropped",
			     changes[i].name);
		cr_assert_eq(nw_run_in_child(changes[i].del), 0, "%s: %s failed", changes[i].name,
			     changes[i].del);
		cr_expect(nw_wait_key(&key, false), "%s: %s/%u still there after %d ms",
			  changes[i].name, changes[i].addr, changes[i].len, WAIT_MS);
	}

	nw_child_do('C');
	cr_expect(nw_wait_addrs_known(child.cookie, -1),
		  "namespace still known %d ms after its "
		  "last listener closed",
		  WAIT_MS);
	fd = nw_open_pin(TG_PIN_NETNS_ADDRS);
	cr_expect_eq(nw_count_keys(fd, child.cookie), 0, "prefixes of a forgotten namespace left");
	close(fd);
	check_status(false);
	cr_assert_eq(fx_daemon_stop(daemon_pid, SIGTERM), 0);
	daemon_pid = -1;
}

Test(netns_watch, existing_listener_learnt_at_start, .init = setup, .fini = teardown)
{
	struct tg_netns_lpm_key key;

	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	nw_child_start();
	nw_child_do('L');
	usleep(100000);
	cr_expect_eq(nw_addrs_known(child.cookie), -1, "known with no daemon running");
	start_daemon();
	cr_assert(nw_wait_addrs_known(child.cookie, 1), "namespace not known at start");
	key = nw_key(child.cookie, AF_INET, "127.0.0.1", 32);
	cr_expect(nw_wait_key(&key, true), "127.0.0.1 missing in the namespace's prefixes");
	cr_expect_eq(nw_run_in_child(HAS_RESERVATION), 0,
		     "the namespace's ip_local_reserved_ports lacks the reservation 8500");
	/* The child dies without closing: the kernel closes its listener, the namespace goes. */
	nw_child_stop();
	cr_expect(nw_wait_addrs_known(child.cookie, -1), "a dead namespace is still known");
}

Test(netns_watch, own_namespace_follows_address_events, .init = setup, .fini = teardown)
{
	char out[256];
	struct {
		__u32 prefixlen;
		__u32 ip[4];
	} key = { .prefixlen = 96 + 24, .ip = { 0, 0, htonl(0xffff), htonl(0x0a4f0000) } };
	__u8 value;
	int fd, waited;

	start_daemon();
	fd = nw_open_pin(TG_PIN_LOCAL_ADDRS);
	cr_assert_neq(bpf_map_lookup_elem(fd, &key, &value), 0, "10.79.0.0/24 known too early");
	cr_assert_eq(
		fx_run("ip route add local 10.79.0.0/24 dev lo table local 2>&1", out, sizeof(out)),
		0, "ip route add: %s", out);
	for (waited = 0; waited <= WAIT_MS && bpf_map_lookup_elem(fd, &key, &value); waited += 10)
		usleep(10000);
	cr_expect_leq(waited, WAIT_MS, "10.79.0.0/24 not in local_addrs within %d ms", WAIT_MS);
	cr_assert_eq(
		fx_run("ip route del local 10.79.0.0/24 dev lo table local 2>&1", out, sizeof(out)),
		0, "ip route del: %s", out);
	for (waited = 0; waited <= WAIT_MS && !bpf_map_lookup_elem(fd, &key, &value); waited += 10)
		usleep(10000);
	cr_expect_leq(waited, WAIT_MS, "10.79.0.0/24 still in local_addrs after %d ms", WAIT_MS);
	close(fd);
}

Test(netns_watch, storm_of_closes_forgets_the_namespace, .init = setup, .fini = teardown)
{
	start_daemon();
	nw_child_start();
	nw_child_do('L');
	cr_assert(nw_wait_addrs_known(child.cookie, 1), "namespace not known within %d ms",
		  WAIT_MS);
	nw_child_do('M');
	usleep(100000);
	cr_expect_eq(nw_addrs_known(child.cookie), 1, "namespace dropped while listeners remain");
	nw_child_do('C');
	cr_expect(nw_wait_addrs_known(child.cookie, -1),
		  "namespace still known %d ms after %d listeners closed at once", WAIT_MS,
		  1 + NW_MANY);
}
