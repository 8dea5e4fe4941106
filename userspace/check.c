// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tg_addr.h"
#include "tg_policy.h"

#include "check.h"
#include "diag.h"
#include "guard.h"
#include "local_addrs.h"
#include "log.h"
#include "netns_view.h"
#include "netns_watch.h"
#include "reasons.h"

/* The namespace a check runs in, as the loaded guard sees it. */
struct check_netns {
	uint64_t cookie;
	char name[NAME_MAX + 32];
	bool all_local; /* the guard does not know its addresses: every destination is local */
};

/* Accepts 127.0.0.1, ::1 and [::1]. */
static int parse_dest(const char *text, uint16_t port, struct tg_dest *d)
{
	static const uint32_t unbound[4];
	char buf[INET6_ADDRSTRLEN + 2];
	uint32_t ip6[4];
	uint32_t ip4;
	size_t n = strlen(text);

	if (inet_pton(AF_INET, text, &ip4) == 1) {
		tg_dest_from_v4(d, ip4, 0, port);
		return 0;
	}
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		text = buf;
	}
	if (inet_pton(AF_INET6, text, ip6) == 1) {
		tg_dest_from_v6(d, ip6, unbound, port);
		return 0;
	}
	return -EINVAL;
}

static bool prefix_contains(const struct tg_lpm_key *k, const uint32_t *ip)
{
	uint32_t bits = k->prefixlen > 128 ? 128 : k->prefixlen;

	for (int w = 0; w < 4 && bits > 0; w++) {
		uint32_t take = bits >= 32 ? 32 : bits;
		uint32_t mask = take == 32 ? 0xffffffffu : ~(0xffffffffu >> take);

		if ((ntohl(k->ip[w]) & mask) != (ntohl(ip[w]) & mask))
			return false;
		bits -= take;
	}
	return true;
}

static bool dest_is_local(const struct local_addr_list *local, const struct tg_dest *d)
{
	uint32_t ip[4];

	if (tg_dest_is_loopback(d))
		return true;
	if (d->family == TG_AF_INET) {
		ip[0] = 0;
		ip[1] = 0;
		ip[2] = htonl(0xffff);
		ip[3] = d->ip[0];
	} else {
		memcpy(ip, d->ip, sizeof(ip));
	}
	for (size_t i = 0; i < local->count; i++)
		if (prefix_contains(&local->keys[i], ip))
			return true;
	return false;
}

static bool bound_exactly(const struct diag_listener *l, const struct tg_dest *d)
{
	/* An IPv6 socket bound to ::ffff:a.b.c.d takes IPv4 connects to a.b.c.d. */
	if (d->family == TG_AF_INET)
		return (l->family == AF_INET && l->ip[0] == d->ip[0]) ||
		       (l->family == AF_INET6 && tg_ip6_is_v4mapped(l->ip) && l->ip[3] == d->ip[0]);
	return l->family == AF_INET6 && memcmp(l->ip, d->ip, sizeof(l->ip)) == 0;
}

static void format_dest(const struct tg_dest *d, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(d->family == TG_AF_INET ? AF_INET : AF_INET6, d->ip, ip, sizeof(ip));
	snprintf(buf, len, d->family == TG_AF_INET ? "%s:%u" : "[%s]:%u", ip, d->port);
}

static int judge_one(const struct tg_policy *policy, const struct check_request *req,
		     const char *addr, const struct diag_list *listeners,
		     const struct local_addr_list *local, const struct check_netns *ns, FILE *out)
{
	struct tg_facts f = { .caller_uid = req->uid, .port = req->port };
	const struct diag_listener *l;
	struct passwd *pw;
	enum tg_reason reason;
	struct tg_dest d;
	char where[INET6_ADDRSTRLEN + 16];
	char owner[96] = "";
	bool local_dest;

	if (parse_dest(addr, req->port, &d) < 0) {
		pr_err("--addr %s is not an IPv4 or IPv6 address\n", addr);
		return -EINVAL;
	}
	local_dest = ns->all_local || dest_is_local(local, &d);
	l = diag_select_listener(listeners, &d);
	if (l && (local_dest || bound_exactly(l, &d))) {
		f.listener = TG_LISTENER_FOUND;
		f.owner_uid = l->uid;
		pw = getpwuid(l->uid);
		snprintf(owner, sizeof(owner), " owner=%u(%s)", l->uid, pw ? pw->pw_name : "?");
	}
	reason = tg_decide_dest(policy, &f, local_dest);
	format_dest(&d, where, sizeof(where));
	fprintf(out, "%s %s %s%s netns=%llu(%s): %s\n",
		tg_reason_refuses(reason) ? "deny" : "allow", where, reason_name(reason), owner,
		(unsigned long long)ns->cookie, ns->name, reason_text(reason));
	return tg_reason_refuses(reason) ? 1 : 0;
}

/*
 * Which namespace this is, and whether the guard loaded from pin_dir knows its addresses (its own
 * namespace, or one in tg_netns with addrs_known): the kernel fails closed in any other.
 */
static int find_netns(const char *pin_dir, struct check_netns *ns, FILE *out)
{
	struct netns_watch_info *known = NULL;
	struct guard_state st;
	size_t n = 0;
	int err = netns_view_here(&ns->cookie, ns->name, sizeof(ns->name));

	if (err) {
		pr_err("cannot tell which network namespace this is: %s\n", strerror(-err));
		return err;
	}
	if (!pin_dir || guard_read(pin_dir, &st) || !st.have_config ||
	    st.netns_cookie == ns->cookie)
		return 0;
	ns->all_local = true;
	if (netns_watch_read(pin_dir, &known, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (known[i].cookie == ns->cookie && known[i].addrs_known)
				ns->all_local = false;
	free(known);
	if (ns->all_local)
		fprintf(out,
			"note: the guard does not know the addresses of netns %llu (%s) yet (is "
			"the "
			"daemon running?): as in the kernel, every destination counts as local\n",
			(unsigned long long)ns->cookie, ns->name);
	return 0;
}

int check_run(const struct tg_policy *policy, const struct check_request *req, FILE *out)
{
	struct check_netns ns = {};
	static const char *const loopbacks[] = { "127.0.0.1", "::1" };
	struct diag_list listeners = {};
	struct local_addr_list local = {};
	int err, verdict = 0;

	err = find_netns(req->pin_dir, &ns, out);
	if (err)
		return err;
	err = diag_dump_listeners(&listeners);
	if (err) {
		pr_err("cannot list TCP listeners through sock_diag: %s\n", strerror(-err));
		goto cleanup;
	}
	err = local_addrs_dump(&local);
	if (err) {
		pr_err("cannot list this host's local addresses: %s\n", strerror(-err));
		goto cleanup;
	}
	for (size_t i = 0; i < (req->addr ? 1 : 2); i++) {
		err = judge_one(policy, req, req->addr ? req->addr : loopbacks[i], &listeners,
				&local, &ns, out);
		if (err < 0)
			goto cleanup;
		verdict |= err;
	}
	err = verdict;
cleanup:
	diag_list_free(&listeners);
	local_addrs_free(&local);
	return err;
}

int check_bind_run(const struct tg_policy *policy, const struct check_request *req, FILE *out)
{
	__u32 owner_uid = 0;
	enum tg_reason reason = tg_decide_bind(policy, req->uid, req->port, &owner_uid);
	struct passwd *pw;
	char owner[96] = "";

	if (owner_uid) {
		pw = getpwuid(owner_uid);
		snprintf(owner, sizeof(owner), " owner=%u(%s)", owner_uid, pw ? pw->pw_name : "?");
	}
	fprintf(out, "%s bind port %u %s%s: %s\n", tg_reason_refuses(reason) ? "deny" : "allow",
		req->port, reason_name(reason), owner, reason_text(reason));
	return tg_reason_refuses(reason) ? 1 : 0;
}
