// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "procs.h"
#include "tunnels.h"
#include "util.h"

void tunnels_format_endpoint(int family, const void *ip, unsigned int port, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, ip, text, sizeof(text));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, port);
}

static int by_port_then_address(const void *a, const void *b)
{
	const struct diag_listener *x = &((const struct tunnel *)a)->listener;
	const struct diag_listener *y = &((const struct tunnel *)b)->listener;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->ip, y->ip, sizeof(x->ip));
}

/* User names by uid, looked up once each: a hub has few tenants and many tunnels, and each
 * getpwuid() may read the whole of /etc/passwd. */
struct user_cache {
	struct {
		uint32_t uid;
		char name[sizeof(((struct tunnel *)0)->user)];
	} entries[256];
	size_t n;
};

static const char *cached_user(struct user_cache *c, uint32_t uid)
{
	struct passwd *pw;

	for (size_t i = 0; i < c->n; i++)
		if (c->entries[i].uid == uid)
			return c->entries[i].name;
	pw = getpwuid(uid);
	if (c->n == ARRAY_SIZE(c->entries))
		c->n = 0; /* more distinct uids than slots: start over */
	c->entries[c->n].uid = uid;
	snprintf(c->entries[c->n].name, sizeof(c->entries[0].name), "%s", pw ? pw->pw_name : "");
	return c->entries[c->n++].name;
}

int tunnels_list(const struct tg_policy *policy, struct tunnel_list *out)
{
	struct diag_list all = {};
	int err;

	memset(out, 0, sizeof(*out));
	err = diag_dump_listeners(&all);
	if (err)
		return err;
	err = tunnels_from_listeners(policy, &all, SIZE_MAX, out);
	diag_list_free(&all);
	return err;
}

int tunnels_from_listeners(const struct tg_policy *policy, const struct diag_list *all_list,
			   size_t with_process, struct tunnel_list *out)
{
	const struct diag_list all = *all_list;
	struct proc_socket_owner *owners = NULL;
	struct user_cache *users = NULL;
	size_t n = 0, resolve;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->items = calloc(all.count ? all.count : 1, sizeof(*out->items));
	users = calloc(1, sizeof(*users));
	if (!out->items || !users) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < all.count; i++) {
		if (!policy_is_tenant(policy, all.items[i].uid))
			continue;
		out->items[n].listener = all.items[i];
		snprintf(out->items[n].user, sizeof(out->items[n].user), "%s",
			 cached_user(users, all.items[i].uid));
		n++;
	}
	out->count = n;
	qsort(out->items, n, sizeof(*out->items), by_port_then_address);
	/* The processes of the first with_process tunnels, in the order they are listed. */
	resolve = n < with_process ? n : with_process;
	owners = calloc(resolve ? resolve : 1, sizeof(*owners));
	if (!owners) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < resolve; i++)
		owners[i].inode = out->items[i].listener.inode;
	err = procs_find_socket_owners(owners, resolve);
	for (size_t i = 0; i < resolve && !err; i++) {
		out->items[i].pid = owners[i].pid;
		snprintf(out->items[i].process, sizeof(out->items[i].process), "%s",
			 owners[i].name);
	}
cleanup:
	free(owners);
	free(users);
	if (err)
		tunnels_free(out);
	return err;
}

void tunnels_free(struct tunnel_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
