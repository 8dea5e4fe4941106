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

#include "policy.h"

#include "check.h"
#include "diag.h"
#include "guard.h"
#include "local_addrs.h"
#include "log.h"
#include "netns_view.h"
#include "netns_watch.h"
#include "quote.h"
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

/* One judged address, printed as a text line or a JSON object. */
struct check_result {
	char where[INET6_ADDRSTRLEN + 16]; /* 127.0.0.1:8001, [::1]:8001; "" for a bind */
	char addr[INET6_ADDRSTRLEN];	   /* the address alone */
	enum tg_reason reason;
	bool have_owner;
	uint32_t owner_uid;
	bool owner_named;
	char owner[64];
};

static void name_owner(struct check_result *res, uint32_t uid)
{
	struct passwd *pw = getpwuid(uid);

	res->have_owner = true;
	res->owner_uid = uid;
	res->owner_named = pw != NULL;
	snprintf(res->owner, sizeof(res->owner), "%s", pw ? pw->pw_name : "?");
}

static int judge_one(const struct tg_policy *policy, const struct check_request *req,
		     const char *addr, const struct diag_list *listeners,
		     const struct local_addr_list *local, const struct check_netns *ns,
		     struct check_result *res)
{
	struct tg_facts f = { .caller_uid = req->uid, .port = req->port };
	const struct diag_listener *l;
	struct tg_dest d;
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
		name_owner(res, l->uid);
	}
	res->reason = policy_decide_connect(policy, &f, local_dest);
	format_dest(&d, res->where, sizeof(res->where));
	inet_ntop(d.family == TG_AF_INET ? AF_INET : AF_INET6, d.ip, res->addr, sizeof(res->addr));
	return tg_reason_refuses(res->reason) ? 1 : 0;
}

static const char *verdict_name(enum tg_reason reason)
{
	return tg_reason_refuses(reason) ? "deny" : "allow";
}

static void print_text_result(FILE *out, const struct check_result *res,
			      const struct check_netns *ns)
{
	char owner[96] = "";

	if (res->have_owner)
		snprintf(owner, sizeof(owner), " owner=%u(%s)", res->owner_uid, res->owner);
	fprintf(out, "%s %s %s%s netns=%llu(%s): %s\n", verdict_name(res->reason), res->where,
		reason_name(res->reason), owner, (unsigned long long)ns->cookie, ns->name,
		reason_text(res->reason));
}

/*
 * {"addr":"127.0.0.1","port":8001,"verdict":"deny","reason":"deny_other_tenant","text":"...",
 *  "owner_uid":2001,"owner":"alice","netns":4097,"netns_name":"tg-ctr","netns_addrs_known":true}
 * owner_uid and owner are null when no listener is there, owner alone when the uid has no name;
 * for a bind, addr and the netns fields are null (a reservation holds on every address).
 */
static void print_json_result(FILE *out, const struct check_request *req,
			      const struct check_result *res, const struct check_netns *ns)
{
	fputs("{\"addr\":", out);
	quote_json_fputs(out, ns ? res->addr : NULL);
	fprintf(out, ",\"port\":%u,\"verdict\":\"%s\",\"reason\":\"%s\",\"text\":", req->port,
		verdict_name(res->reason), reason_name(res->reason));
	quote_json_fputs(out, reason_text(res->reason));
	if (res->have_owner)
		fprintf(out, ",\"owner_uid\":%u,\"owner\":", res->owner_uid);
	else
		fputs(",\"owner_uid\":null,\"owner\":", out);
	quote_json_fputs(out, res->have_owner && res->owner_named ? res->owner : NULL);
	if (ns) {
		fprintf(out, ",\"netns\":%llu,\"netns_name\":", (unsigned long long)ns->cookie);
		quote_json_fputs(out, ns->name[0] ? ns->name : NULL);
		fprintf(out, ",\"netns_addrs_known\":%s}", ns->all_local ? "false" : "true");
	} else {
		fputs(",\"netns\":null,\"netns_name\":null,\"netns_addrs_known\":null}", out);
	}
}

/* {"check":"connect","uid":2002,"port":8001,"verdict":"deny","results":[...]} */
static void print_json(FILE *out, const struct check_request *req, const char *kind,
		       const struct check_result *res, size_t n, const struct check_netns *ns)
{
	bool denied = false;

	for (size_t i = 0; i < n; i++)
		denied |= tg_reason_refuses(res[i].reason);
	fprintf(out, "{\"check\":\"%s\",\"uid\":%u,\"port\":%u,\"verdict\":\"%s\",\"results\":[",
		kind, req->uid, req->port, denied ? "deny" : "allow");
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		print_json_result(out, req, &res[i], ns);
	}
	fputs("]}\n", out);
}

/*
 * Which namespace this is, and whether the guard loaded from req->pin_dir (req->guard) knows its
 * addresses (its own namespace, or one in tg_netns with addrs_known): the kernel fails closed in
 * any other.
 */
static int find_netns(const struct check_request *req, struct check_netns *ns, FILE *out)
{
	struct netns_watch_info *known = NULL;
	size_t n = 0;
	int err = netns_view_here(&ns->cookie, ns->name, sizeof(ns->name));

	if (err) {
		pr_err("cannot tell which network namespace this is: %s\n", strerror(-err));
		return err;
	}
	if (!req->guard || req->guard->netns_cookie == ns->cookie)
		return 0;
	ns->all_local = true;
	if (netns_watch_read(req->pin_dir, &known, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (known[i].cookie == ns->cookie && known[i].addrs_known)
				ns->all_local = false;
	free(known);
	if (ns->all_local && !req->json) /* JSON says it in netns_addrs_known */
		fprintf(out,
			"note: the guard does not know the addresses of netns %llu (%s) yet (is the daemon running?): as in the kernel, every destination counts as local\n",
			(unsigned long long)ns->cookie, ns->name);
	return 0;
}

int check_run(const struct tg_policy *policy, const struct check_request *req, FILE *out)
{
	struct check_netns ns = {};
	static const char *const loopbacks[] = { "127.0.0.1", "::1" };
	struct check_result results[2] = {};
	struct diag_list listeners = {};
	struct local_addr_list local = {};
	size_t n = req->addr ? 1 : 2;
	int err, verdict = 0;

	err = find_netns(req, &ns, out);
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
	for (size_t i = 0; i < n; i++) {
		err = judge_one(policy, req, req->addr ? req->addr : loopbacks[i], &listeners,
				&local, &ns, &results[i]);
		if (err < 0)
			goto cleanup;
		verdict |= err;
	}
	if (req->json)
		print_json(out, req, "connect", results, n, &ns);
	else
		for (size_t i = 0; i < n; i++)
			print_text_result(out, &results[i], &ns);
	err = verdict;
cleanup:
	diag_list_free(&listeners);
	local_addrs_free(&local);
	return err;
}

int check_bind_run(const struct tg_policy *policy, const struct check_request *req, FILE *out)
{
	__u32 owner_uid = 0;
	struct check_result res = {
		.reason = policy_decide_bind(policy, req->uid, req->port, &owner_uid),
	};

	if (owner_uid)
		name_owner(&res, owner_uid);
	if (req->json) {
		print_json(out, req, "bind", &res, 1, NULL);
	} else {
		char owner[96] = "";

		if (res.have_owner)
			snprintf(owner, sizeof(owner), " owner=%u(%s)", res.owner_uid, res.owner);
		fprintf(out, "%s bind port %u %s%s: %s\n", verdict_name(res.reason), req->port,
			reason_name(res.reason), owner, reason_text(res.reason));
	}
	return tg_reason_refuses(res.reason) ? 1 : 0;
}
