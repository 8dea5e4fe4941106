// SPDX-License-Identifier: GPL-2.0-only
/* status_netns.c - status's view of the other network namespaces (status_netns.h). */
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tg_policy.h"

#include "policy.h"

#include "netns_view.h"
#include "netns_watch.h"
#include "quote.h"
#include "status_netns.h"
#include "tunnels.h"

/* One namespace to show: what the guard's maps say and what the host shows. */
struct shown_netns {
	unsigned long long cookie;
	const struct netns_watch_info *known; /* NULL: not in tg_netns */
	const struct netns_view *view;	      /* NULL: no process found in it */
	size_t tunnels;
};

/* The next tunnel (a tenant's listener) of v from *i on, and its endpoint; NULL at the end. */
static const struct diag_listener *next_tunnel(const struct guard_state *st,
					       const struct netns_view *v, size_t *i,
					       char *endpoint, size_t len)
{
	for (; v && *i < v->listeners.count; (*i)++) {
		const struct diag_listener *dl = &v->listeners.items[*i];

		if (!policy_is_tenant(&st->policy, dl->uid))
			continue;
		(*i)++;
		tunnels_format_endpoint(dl->family, dl->ip, dl->port, endpoint, len);
		return dl;
	}
	return NULL;
}

static size_t count_tunnels(const struct guard_state *st, const struct netns_view *v)
{
	char endpoint[64];
	size_t n = 0, i = 0;

	while (next_tunnel(st, v, &i, endpoint, sizeof(endpoint)))
		n++;
	return n;
}

/*
 * The namespaces to show, sorted by cookie: those in tg_netns, and those where a tenant listens,
 * the guard's own left out (its tunnels are status's main list).
 */
static size_t gather(const struct guard_state *st, const struct netns_watch_info *known,
		     size_t n_known, const struct netns_view_list *views, struct shown_netns *out)
{
	size_t n = 0, k = 0, v = 0;

	while (k < n_known || v < views->count) {
		const struct netns_view *view = v < views->count ? &views->items[v] : NULL;
		unsigned long long kc = k < n_known ? known[k].cookie : ~0ULL;
		unsigned long long vc = view ? view->cookie : ~0ULL;
		struct shown_netns s = { .cookie = kc < vc ? kc : vc };

		if (kc <= vc)
			s.known = &known[k++];
		if (vc <= kc) {
			s.view = view;
			v++;
		}
		s.tunnels = count_tunnels(st, s.view);
		if (!s.cookie || s.cookie == st->netns_cookie || (!s.known && !s.tunnels))
			continue;
		out[n++] = s;
	}
	return n;
}

static void user_name(unsigned int uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "-");
}

/* Both sources, or what could be read of them; *shown is NULL when there is nothing. */
static size_t collect(const struct guard_state *st, const char *pin_dir,
		      struct netns_watch_info **known, struct netns_view_list *views,
		      struct shown_netns **shown, bool *maps_read)
{
	size_t n_known = 0;

	*maps_read = netns_watch_read(pin_dir, known, &n_known) == 0;
	if (!*maps_read) {
		*known = NULL;
		n_known = 0;
	}
	if (netns_view_collect(views, true))
		memset(views, 0, sizeof(*views));
	*shown = calloc(n_known + views->count + 1, sizeof(**shown));
	if (!*shown)
		return 0;
	return gather(st, *known, n_known, views, *shown);
}

void status_print_namespaces_text(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	struct netns_watch_info *known = NULL;
	struct netns_view_list views = {};
	struct shown_netns *shown = NULL;
	const struct diag_listener *dl;
	char endpoint[64], user[64];
	bool maps_read;
	size_t n = collect(st, pin_dir, &known, &views, &shown, &maps_read);

	fprintf(out, "  namespaces:%s\n",
		!maps_read ? "  (the guard's netns maps cannot be read)"
		: n	   ? " (other than the guard's)"
			   : "  (no other network namespace has a tunnel or is followed)");
	for (size_t i = 0; i < n; i++) {
		const struct shown_netns *s = &shown[i];

		fprintf(out, "    netns %llu (%s): addresses known %s", s->cookie,
			s->view ? s->view->name : "no process left in it",
			s->known && s->known->addrs_known ? "yes" : "no");
		if (s->known)
			fprintf(out, " (%zu local prefixes)", s->known->prefixes);
		else
			fprintf(out,
				" (not followed: connects there count every destination as local)");
		if (s->view && s->view->err)
			fprintf(out, ", tunnels unknown (%s)\n", strerror(-s->view->err));
		else
			fprintf(out, ", %zu tunnel%s\n", s->tunnels, s->tunnels == 1 ? "" : "s");
		for (size_t l = 0;
		     (dl = next_tunnel(st, s->view, &l, endpoint, sizeof(endpoint)));) {
			user_name(dl->uid, user, sizeof(user));
			fprintf(out, "      %-24s uid %-6u %s\n", endpoint, dl->uid, user);
		}
	}
	free(shown);
	free(known);
	netns_view_free(&views);
}

void status_print_namespaces_json(FILE *out, const struct guard_state *st, const char *pin_dir)
{
	struct netns_watch_info *known = NULL;
	struct netns_view_list views = {};
	struct shown_netns *shown = NULL;
	const struct diag_listener *dl;
	char endpoint[64];
	struct passwd *pw;
	bool maps_read;
	size_t n = collect(st, pin_dir, &known, &views, &shown, &maps_read);

	if (!maps_read) {
		fputs(",\"namespaces\":null", out);
		goto out;
	}
	fputs(",\"namespaces\":[", out);
	for (size_t i = 0; i < n; i++) {
		const struct shown_netns *s = &shown[i];
		bool first = true;

		fprintf(out, "%s{\"netns\":%llu,\"name\":", i ? "," : "", s->cookie);
		if (s->view)
			quote_json_fputs(out, s->view->name);
		else
			fputs("null", out);
		fprintf(out, ",\"followed\":%s,\"addrs_known\":%s,\"prefixes\":%zu,\"tunnels\":",
			s->known ? "true" : "false",
			s->known && s->known->addrs_known ? "true" : "false",
			s->known ? s->known->prefixes : 0);
		if (s->view && s->view->err) {
			fputs("null}", out);
			continue;
		}
		fputc('[', out);
		for (size_t l = 0;
		     (dl = next_tunnel(st, s->view, &l, endpoint, sizeof(endpoint)));) {
			fprintf(out,
				"%s{\"endpoint\":\"%s\",\"uid\":%u,\"user\":", first ? "" : ",",
				endpoint, dl->uid);
			pw = getpwuid(dl->uid);
			quote_json_fputs(out, pw ? pw->pw_name : NULL); /* null: no account */
			fputc('}', out);
			first = false;
		}
		fputs("]}", out);
	}
	fputc(']', out);
out:
	free(shown);
	free(known);
	netns_view_free(&views);
}
