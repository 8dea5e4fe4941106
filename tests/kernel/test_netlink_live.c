// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag_dump_listeners() and local_addrs_dump() against the running kernel, and
 * diag_select_listener() against the listener the kernel really picks. Each test runs in its own
 * process (criterion forks one per test) and moves it to a new network namespace, which the
 * kernel removes with the process: the host's network is never touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "diag.h"
#include "local_addrs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Move this test's process into a fresh network namespace and bring its loopback up. */
static void enter_netns(void)
{
	struct ifreq ifr = {};
	int fd;

	if (geteuid() != 0)
		cr_skip_test("netlink_live needs root for unshare(CLONE_NEWNET)");
	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("unshare(CLONE_NEWNET): %s (no network namespaces here?)",
			     strerror(errno));

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket for SIOCSIFFLAGS: %s", strerror(errno));
	strcpy(ifr.ifr_name, "lo");
	cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0, "SIOCGIFFLAGS lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "SIOCSIFFLAGS lo up: %s", strerror(errno));
	close(fd);
}

/* A TCP listener on addr:port; v6only applies to AF_INET6 only. */
static int listen_on(int family, const char *addr, uint16_t port, int v6only, int reuseport)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;
	int fd;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket(%d) for %s:%u: %s", family, addr, port, strerror(errno));
	if (family == AF_INET6) {
		cr_assert_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), 0,
			     "IPV6_V6ONLY on [%s]:%u: %s", addr, port, strerror(errno));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1, "bad address %s",
			     addr);
		len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1, "bad address %s", addr);
		len = sizeof(*sin);
	}
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof(reuseport)), 0,
		     "SO_REUSEPORT on %s:%u: %s", addr, port, strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s:%u: %s", addr, port,
		     strerror(errno));
	cr_assert_eq(listen(fd, 8), 0, "listen %s:%u: %s", addr, port, strerror(errno));
	return fd;
}

static uint64_t socket_inode(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0, "fstat socket: %s", strerror(errno));
	return st.st_ino;
}

static const struct diag_listener *find_by_inode(const struct diag_list *list, uint64_t inode)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		if (list->items[i].inode == inode)
			return &list->items[i];
	return NULL;
}

struct live_listener {
	const char *name;
	int family;
	const char *addr;
	uint16_t port;
	int v6only;
	int reuseport; /* the only way to share a port with a listener of the same family */
};

Test(netlink_live, dump_listeners, .timeout = 20)
{
	static const struct live_listener want[] = {
		{ "127.0.0.1:18001", AF_INET, "127.0.0.1", 18001, 0 },
		{ "[::1]:18001 v6only", AF_INET6, "::1", 18001, 1 },
		{ "[::]:18002 dual-stack", AF_INET6, "::", 18002, 0 },
	};
	struct diag_list list = {};
	int fds[ARRAY_SIZE(want)];
	size_t i;
	int ret;

	enter_netns();
	ret = diag_dump_listeners(&list);
	cr_assert_eq(ret, 0, "diag_dump_listeners in an empty netns: %s", strerror(-ret));
	cr_assert_eq(list.count, 0, "%zu listeners in a new netns", list.count);

	for (i = 0; i < ARRAY_SIZE(want); i++)
		fds[i] = listen_on(want[i].family, want[i].addr, want[i].port, want[i].v6only,
				   want[i].reuseport);
	ret = diag_dump_listeners(&list);
	cr_assert_eq(ret, 0, "diag_dump_listeners: %s", strerror(-ret));
	cr_assert_eq(list.count, ARRAY_SIZE(want), "%zu listeners, want %zu", list.count,
		     ARRAY_SIZE(want));

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct diag_listener *got = find_by_inode(&list, socket_inode(fds[i]));
		uint32_t ip[4] = {};

		cr_assert_not_null(got, "%s: not in the dump", want[i].name);
		inet_pton(want[i].family, want[i].addr, ip);
		cr_assert_eq(got->family, want[i].family, "%s: family %d", want[i].name,
			     got->family);
		cr_assert_arr_eq(got->ip, ip, sizeof(ip), "%s: address differs", want[i].name);
		cr_assert_eq(got->port, want[i].port, "%s: port %u", want[i].name, got->port);
		cr_assert_eq(got->uid, 0, "%s: uid %u, want 0", want[i].name, got->uid);
		cr_assert_eq(got->ifindex, 0, "%s: ifindex %u", want[i].name, got->ifindex);
		cr_assert_eq(got->v6only, want[i].v6only != 0, "%s: v6only %d", want[i].name,
			     got->v6only);
		close(fds[i]);
	}
	diag_list_free(&list);
}

static bool has_key(const struct local_addr_list *list, uint32_t prefixlen, const char *ip6)
{
	uint32_t ip[4] = {};
	size_t i;

	cr_assert_eq(inet_pton(AF_INET6, ip6, ip), 1, "bad address %s", ip6);
	for (i = 0; i < list->count; i++)
		if (list->keys[i].prefixlen == prefixlen &&
		    !memcmp(list->keys[i].ip, ip, sizeof(ip)))
			return true;
	return false;
}

Test(netlink_live, dump_local_addrs, .timeout = 20)
{
	struct local_addr_list list = {};
	int ret;

	enter_netns();
	ret = local_addrs_dump(&list);
	cr_assert_eq(ret, 0, "local_addrs_dump: %s", strerror(-ret));
	cr_assert(has_key(&list, 104, "::ffff:127.0.0.0"), "127.0.0.0/8 missing (%zu keys)",
		  list.count);
	cr_assert(has_key(&list, 128, "::ffff:127.0.0.1"), "127.0.0.1/32 missing (%zu keys)",
		  list.count);
	cr_assert(has_key(&list, 128, "::1"), "::1/128 missing (%zu keys)", list.count);
	cr_assert(!has_key(&list, 128, "::ffff:127.255.255.255"),
		  "the broadcast route 127.255.255.255 is not local");
	local_addrs_free(&list);
}

/*
 * Connect to each destination for real and see which listener the kernel queues the connection
 * on; diag_select_listener() must name the same one.
 */
struct live_connect {
	const char *name;
	int family; /* of the connecting socket */
	const char *addr;
	uint16_t port;
	size_t want; /* index into the listeners below */
};

Test(netlink_live, select_matches_kernel, .timeout = 30)
{
	static const struct live_listener listeners[] = {
		{ "127.0.0.1:18001", AF_INET, "127.0.0.1", 18001, 0 },
		{ "[::1]:18001 v6only", AF_INET6, "::1", 18001, 1 },
		{ "[::]:18002 dual-stack", AF_INET6, "::", 18002, 0 },
		{ "0.0.0.0:18003 reuseport", AF_INET, "0.0.0.0", 18003, 0, 1 },
		{ "[::ffff:127.0.0.2]:18003 reuseport", AF_INET6, "::ffff:127.0.0.2", 18003, 0, 1 },
		{ "[::]:18004 v6only", AF_INET6, "::", 18004, 1 },
		{ "0.0.0.0:18004", AF_INET, "0.0.0.0", 18004, 0 },
		{ "[::ffff:0.0.0.0]:18005", AF_INET6, "::ffff:0.0.0.0", 18005, 0 },
		{ "[::]:18006 dual-stack reuseport", AF_INET6, "::", 18006, 0, 1 },
		{ "0.0.0.0:18006 reuseport", AF_INET, "0.0.0.0", 18006, 0, 1 },
	};
	static const struct live_connect cases[] = {
		{ "127.0.0.1:18001 to the v4 listener", AF_INET, "127.0.0.1", 18001, 0 },
		{ "[::1]:18001 to the v6only listener", AF_INET6, "::1", 18001, 1 },
		{ "127.0.0.1:18002 to the dual-stack wildcard", AF_INET, "127.0.0.1", 18002, 2 },
		{ "[::1]:18002 to the dual-stack wildcard", AF_INET6, "::1", 18002, 2 },
		{ "[::ffff:127.0.0.1]:18002 to the dual-stack wildcard", AF_INET6,
		  "::ffff:127.0.0.1", 18002, 2 },
		{ "127.0.0.2:18003 to the v4-mapped exact", AF_INET, "127.0.0.2", 18003, 4 },
		{ "127.0.0.1:18003 to the v4 wildcard", AF_INET, "127.0.0.1", 18003, 3 },
		{ "127.0.0.1:18004 to the v4 wildcard, not v6only", AF_INET, "127.0.0.1", 18004,
		  6 },
		{ "[::1]:18004 to the v6only wildcard", AF_INET6, "::1", 18004, 5 },
		{ "127.0.0.1:18005 to the v4-mapped wildcard", AF_INET, "127.0.0.1", 18005, 7 },
		{ "127.0.0.1:18006 to v4 before v6 at equal score", AF_INET, "127.0.0.1", 18006,
		  9 },
		{ "[::1]:18006 to the v6 wildcard", AF_INET6, "::1", 18006, 8 },
	};
	struct pollfd pfd[ARRAY_SIZE(listeners)];
	uint64_t inode[ARRAY_SIZE(listeners)];
	struct diag_list list = {};
	size_t i, j, ready, got_index;
	int ret;

	enter_netns();
	for (i = 0; i < ARRAY_SIZE(listeners); i++) {
		const struct live_listener *l = &listeners[i];

		pfd[i].fd = listen_on(l->family, l->addr, l->port, l->v6only, l->reuseport);
		pfd[i].events = POLLIN;
		inode[i] = socket_inode(pfd[i].fd);
	}
	ret = diag_dump_listeners(&list);
	cr_assert_eq(ret, 0, "diag_dump_listeners: %s", strerror(-ret));
	cr_assert_eq(list.count, ARRAY_SIZE(listeners), "%zu listeners, want %zu", list.count,
		     ARRAY_SIZE(listeners));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct live_connect *tc = &cases[i];
		const struct diag_listener *chosen;
		struct sockaddr_storage ss = {};
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		static const uint32_t unbound[4];
		struct tg_dest d;
		uint32_t ip[4] = {};
		socklen_t len;
		int fd, peer;

		cr_assert_eq(inet_pton(tc->family, tc->addr, ip), 1, "bad address %s", tc->addr);
		if (tc->family == AF_INET6) {
			tg_dest_from_v6(&d, ip, unbound, tc->port);
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(tc->port);
			memcpy(&sin6->sin6_addr, ip, sizeof(sin6->sin6_addr));
			len = sizeof(*sin6);
		} else {
			tg_dest_from_v4(&d, ip[0], 0, tc->port);
			sin->sin_family = AF_INET;
			sin->sin_port = htons(tc->port);
			sin->sin_addr.s_addr = ip[0];
			len = sizeof(*sin);
		}
		chosen = diag_select_listener(&list, &d);
		cr_assert_not_null(chosen, "%s: diag_select_listener chose none", tc->name);

		fd = socket(tc->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(fd, 0, "%s: socket: %s", tc->name, strerror(errno));
		cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "%s: connect: %s",
			     tc->name, strerror(errno));
		cr_assert_gt(poll(pfd, ARRAY_SIZE(pfd), 2000), 0, "%s: no listener got it",
			     tc->name);
		ready = 0;
		got_index = 0;
		for (j = 0; j < ARRAY_SIZE(pfd); j++) {
			if (!(pfd[j].revents & POLLIN))
				continue;
			ready++;
			got_index = j;
		}
		cr_assert_eq(ready, 1, "%s: %zu listeners ready, want 1", tc->name, ready);
		cr_assert_eq(got_index, tc->want, "%s: the kernel chose %s, the test expects %s",
			     tc->name, listeners[got_index].name, listeners[tc->want].name);
		cr_assert_eq(chosen->inode, inode[got_index],
			     "%s: the kernel chose %s, diag_select_listener another (port %u)",
			     tc->name, listeners[got_index].name, chosen->port);
		peer = accept(pfd[got_index].fd, NULL, NULL);
		cr_assert_geq(peer, 0, "%s: accept: %s", tc->name, strerror(errno));
		close(peer);
		close(fd);
	}
	for (i = 0; i < ARRAY_SIZE(listeners); i++)
		close(pfd[i].fd);
	diag_list_free(&list);
}
