// SPDX-License-Identifier: GPL-2.0-only
/*
 * tunnels.h - the tunnels of a hub: live TCP listeners (sock_diag) owned by a tenant, with the
 * process that holds each one (for `ssh -R`, the tenant's "sshd: alice" session process).
 */
#ifndef TG_TUNNELS_H
#define TG_TUNNELS_H

#include <stddef.h>
#include <sys/types.h>

#include "diag.h"
#include "tg_policy.h"

#include "policy.h"

struct tunnel {
	struct diag_listener listener;
	pid_t pid;	  /* 0 when no process could be found */
	char process[64]; /* command line, e.g. "sshd: alice" */
	char user[64];	  /* owner's user name, or "" */
};

struct tunnel_list {
	struct tunnel *items;
	size_t count;
};

/* List the tunnels under policy, sorted by port then address. 0 or -errno. */
int tunnels_list(const struct tg_policy *policy, struct tunnel_list *out);

/*
 * The same from a sock_diag dump the caller already has, finding the process of the first
 * with_process tunnels only (SIZE_MAX: all): each costs a /proc socket link read, a second in
 * all at 300,000 tunnels. The others have pid 0 and process "". 0 or -errno.
 */
int tunnels_from_listeners(const struct tg_policy *policy, const struct diag_list *all,
			   size_t with_process, struct tunnel_list *out);
void tunnels_free(struct tunnel_list *list);

/* "127.0.0.1:8001" or "[::1]:8001" */
void tunnels_format_endpoint(int family, const void *ip, unsigned int port, char *buf, size_t len);

#endif /* TG_TUNNELS_H */
