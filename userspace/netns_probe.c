// SPDX-License-Identifier: GPL-2.0-only
/* netns_probe.c - inside another network namespace, from a thread (netns_probe.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "diag.h"
#include "netns_probe.h"
#include "pins.h"
#include "reserved_ports.h"
#include "util.h"

/* A NETLINK_ROUTE socket of the current namespace that hears of address and route changes. */
struct mnl_socket *probe_subscribe_here(void)
{
	static const int groups[] = { RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
				      RTNLGRP_IPV6_ROUTE };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int err = 0;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = errno;
	for (size_t i = 0; i < ARRAY_SIZE(groups) && !err; i++) {
		int group = groups[i];

		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
			err = errno;
	}
	if (err) {
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

static bool tenant_listens(const struct tg_policy *policy, const struct diag_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		if (policy_is_tenant(policy, list->items[i].uid))
			return true;
	return false;
}

static void *probe_thread(void *arg)
{
	struct netns_probe *p = arg;
	struct diag_list list = {};
	int fd, err;

	if (setns(p->ns_fd, CLONE_NEWNET) < 0) {
		p->err = -errno;
		return NULL;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		p->err = -errno;
		return NULL;
	}
	p->err = pins_socket_netns_cookie(fd, &p->cookie);
	close(fd);
	if (p->err)
		return NULL;
	/* A pid that exited, or was reused by a task elsewhere. */
	if (p->want_cookie && p->cookie != p->want_cookie) {
		p->err = -ESTALE;
		return NULL;
	}
	if (p->count) {
		err = diag_dump_listeners(&list);
		p->listeners = err ? (p->assume_listener ? 1 : 0) : list.count;
		/* Where a tenant listens (it says what failed and what is left); not elsewhere, so
		 * that a daemon never writes the sysctl of a namespace its tenants do not use. */
		if (p->reserve && tenant_listens(p->reserve, &list))
			reserved_ports_apply(p->reserve);
		diag_list_free(&list);
		if (!p->listeners)
			return NULL;
	}
	if (p->follow) {
		p->nl = probe_subscribe_here();
		if (!p->nl) {
			p->err = -errno;
			return NULL;
		}
	}
	if (p->dump)
		p->dump_err = local_addrs_dump(&p->addrs);
	return NULL;
}

/* Run p in its namespace. 0 or -errno (p->err). */
int probe_run(struct netns_probe *p)
{
	pthread_t thread;
	int err = pthread_create(&thread, NULL, probe_thread, p);

	if (err) {
		p->err = -err;
		return p->err;
	}
	pthread_join(thread, NULL);
	return p->err;
}

void probe_free(struct netns_probe *p)
{
	if (p->nl)
		mnl_socket_close(p->nl);
	p->nl = NULL;
	local_addrs_free(&p->addrs);
}

/* Probe the namespace of known socket nl (it holds the namespace). 0 or -errno. */
int probe_known(struct mnl_socket *nl, __u64 cookie, struct netns_probe *p)
{
	int err;

	p->ns_fd = ioctl(mnl_socket_get_fd(nl), SIOCGSKNS);
	if (p->ns_fd < 0)
		return -errno;
	p->want_cookie = cookie;
	err = probe_run(p);
	close(p->ns_fd);
	return err;
}
