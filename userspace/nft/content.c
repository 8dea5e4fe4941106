// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/content.c - the content algebra: owners and ports, sorted and unique, their diffs, and the
 * keys they become.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nft.h"
#include "internal.h"

/*
 * Owner pairs and ports are concatenations, so their keys are 8 bytes and the kernel picks a hash:
 * a plain 2-byte inet_service set gets the bitmap backend, whose insert is linear in the set size
 * (50,000 ports took 19 s of system time here; `tcp . port` pairs took 0.24 s).
 */
const struct nft_set_spec nft_sets[SET_COUNT] = {
	[SET_TENANT_UIDS] = { "tenant_uids", TG_NFT_DT_UID, 4, NFT_SET_INTERVAL,
			      TG_NFT_BYTEORDER_HOST, "tenant-uids minus exempt-uids" },
	[SET_ALLOW_PORTS] = { "allow_ports", TG_NFT_DT_INET_SERVICE, 2, NFT_SET_INTERVAL,
			      TG_NFT_BYTEORDER_BIG, "allow-ports: every tenant may reach them" },
	[SET_OWNED] = { "owned", TG_NFT_DT_CONCAT(TG_NFT_DT_UID, TG_NFT_DT_INET_SERVICE), 8, 0, 0,
			"tenants' listeners: uid . port" },
	[SET_SERVICES] = { "services", TG_NFT_DT_CONCAT(TG_NFT_DT_UID, TG_NFT_DT_INET_SERVICE), 8,
			   0, 0,
			   "hub services' listeners: uid . port (bookkeeping for service_ports)" },
	[SET_TUNNEL_PORTS] = { "tunnel_ports",
			       TG_NFT_DT_CONCAT(TG_NFT_DT_INET_PROTOCOL, TG_NFT_DT_INET_SERVICE), 8,
			       0, 0, "ports where a tenant listens" },
	[SET_SERVICE_PORTS] = { "service_ports",
				TG_NFT_DT_CONCAT(TG_NFT_DT_INET_PROTOCOL, TG_NFT_DT_INET_SERVICE),
				8, 0, 0, "ports where a hub service listens" },
	[SET_ALLOWED] = { "allowed", TG_NFT_DT_CONCAT(TG_NFT_DT_UID, TG_NFT_DT_INET_SERVICE), 8, 0,
			  0, "allow = USER:PORTS: uid . port a tenant may reach whoever listens" },
};

uint32_t nft_set_id(enum nft_set_index i)
{
	return (uint32_t)i + 1;
}

/* ---- contents: owners and ports, sorted and unique ---- */

int nft_owner_pair_cmp(const void *a, const void *b)
{
	const struct nft_owner *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (int)x->port - (int)y->port;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct nft_owner *x = a, *y = b;
	int c = nft_owner_pair_cmp(a, b);

	return c ? c : (int)x->tenant - (int)y->tenant;
}

static int port_cmp(const void *a, const void *b)
{
	const uint16_t *x = a, *y = b;

	return (int)*x - (int)*y;
}

/*
 * items with room for element n: arrays grow by doubling from 16, so the capacity follows from
 * the count (and stays enough when a count shrinks). NULL with errno when it cannot grow.
 */
static void *grow(void *items, size_t n, size_t size)
{
	void *p;

	if (n != 0 && (n < 16 || (n & (n - 1)) != 0))
		return items;
	if (n >= TG_NFT_MAX_INPUT) {
		errno = E2BIG;
		return NULL;
	}
	p = realloc(items, (n == 0 ? 16 : n * 2) * size);
	if (!p)
		errno = ENOMEM;
	return p;
}

int nft_append_owner(struct nft_state *s, const struct nft_owner *o)
{
	struct nft_owner *owners = grow(s->owners, s->n_owners, sizeof(*owners));

	if (!owners)
		return -errno;
	s->owners = owners;
	s->owners[s->n_owners++] = *o;
	return 0;
}

int nft_append_port(uint16_t **ports, size_t *n, uint16_t port)
{
	uint16_t *grown = grow(*ports, *n, sizeof(*grown));

	if (!grown)
		return -errno;
	*ports = grown;
	grown[(*n)++] = port;
	return 0;
}

int nft_append_bound(struct nft_state *s, uint32_t uid, bool end)
{
	struct nft_bound *bounds = grow(s->tenant_bounds, s->n_tenant_bounds, sizeof(*bounds));

	if (!bounds)
		return -errno;
	s->tenant_bounds = bounds;
	s->tenant_bounds[s->n_tenant_bounds++] = (struct nft_bound){ .uid = uid, .end = end };
	return 0;
}

/* By uid; at one uid an end sorts before a start, so a range that starts where another ends
 * (had nft not merged them) still counts as inside. */
static int bound_cmp(const void *a, const void *b)
{
	const struct nft_bound *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (int)y->end - (int)x->end;
}

bool nft_state_is_tenant(const struct nft_state *s, uint32_t uid)
{
	const struct nft_bound *last = NULL;

	/* The last boundary at or below uid says whether uid is inside an interval. */
	for (size_t i = 0; i < s->n_tenant_bounds && s->tenant_bounds[i].uid <= uid; i++)
		last = &s->tenant_bounds[i];
	return last && !last->end;
}

size_t nft_state_tenant_ranges(const struct nft_state *s, struct tg_uid_range *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_tenant_bounds; i++) {
		const struct nft_bound *b = &s->tenant_bounds[i];

		if (b->end)
			continue;
		if (n < max) {
			out[n].first = b->uid;
			out[n].last = i + 1 < s->n_tenant_bounds && s->tenant_bounds[i + 1].end
					      ? s->tenant_bounds[i + 1].uid - 1
					      : UINT32_MAX;
		}
		n++;
	}
	return n;
}

static size_t unique(void *items, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *p = items;
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(items, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		if (cmp(p + out * size, p + i * size) != 0) {
			out++;
			memmove(p + out * size, p + i * size, size);
		}
	}
	return out + 1;
}

void nft_sort_content(struct nft_state *s)
{
	s->n_owners = unique(s->owners, s->n_owners, sizeof(*s->owners), owner_cmp);
	s->n_tunnel_ports =
		unique(s->tunnel_ports, s->n_tunnel_ports, sizeof(*s->tunnel_ports), port_cmp);
	s->n_service_ports =
		unique(s->service_ports, s->n_service_ports, sizeof(*s->service_ports), port_cmp);
	s->n_tenant_bounds =
		unique(s->tenant_bounds, s->n_tenant_bounds, sizeof(*s->tenant_bounds), bound_cmp);
}

void nft_state_free(struct nft_state *state)
{
	if (!state)
		return;
	free(state->owners);
	free(state->tunnel_ports);
	free(state->service_ports);
	free(state->tenant_bounds);
	memset(state, 0, sizeof(*state));
}

int nft_content_from_owners(const struct nft_owner *owners, size_t n, struct nft_state *out)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	/* The limit is on distinct owners: a uid listens on one port over several addresses. */
	if (n > TG_NFT_MAX_INPUT)
		return -E2BIG;
	if (n && !owners)
		return -EINVAL;
	for (size_t i = 0; i < n && !err; i++) {
		err = nft_append_owner(out, &owners[i]);
		if (!err && owners[i].tenant)
			err = nft_append_port(&out->tunnel_ports, &out->n_tunnel_ports,
					      owners[i].port);
		else if (!err)
			err = nft_append_port(&out->service_ports, &out->n_service_ports,
					      owners[i].port);
	}
	if (err) {
		nft_state_free(out);
		return err;
	}
	nft_sort_content(out);
	if (out->n_owners > TG_NFT_MAX_OWNERS) {
		nft_state_free(out);
		return -E2BIG;
	}
	return 0;
}

/* Sorted-merge difference of two sorted unique arrays: what only a has goes to only_a. */
int nft_content_for_deletion(const struct nft_owner *del, size_t ndel, const struct nft_owner *last,
			     size_t nlast, struct nft_state *out)
{
	struct nft_state ports = {};
	int err;

	memset(out, 0, sizeof(*out));
	err = nft_content_from_owners(del, ndel, out);
	if (!err)
		err = nft_content_from_owners(last, nlast, &ports);
	if (err) {
		nft_state_free(out);
		return err;
	}
	/* Only the ports whose last owner of that kind goes: another pair may still hold the
	 * others. */
	free(out->tunnel_ports);
	free(out->service_ports);
	out->tunnel_ports = ports.tunnel_ports;
	out->n_tunnel_ports = ports.n_tunnel_ports;
	out->service_ports = ports.service_ports;
	out->n_service_ports = ports.n_service_ports;
	free(ports.owners);
	free(ports.tenant_bounds);
	return 0;
}

static int diff_owners(const struct nft_owner *a, size_t na, const struct nft_owner *b, size_t nb,
		       struct nft_state *only_a, struct nft_state *only_b)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (!err && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : owner_cmp(&a[i], &b[j]);

		if (c < 0)
			err = nft_append_owner(only_a, &a[i++]);
		else if (c > 0)
			err = nft_append_owner(only_b, &b[j++]);
		else
			i++, j++;
	}
	return err;
}

static int diff_ports(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, uint16_t **only_a,
		      size_t *n_only_a, uint16_t **only_b, size_t *n_only_b)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (!err && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : port_cmp(&a[i], &b[j]);

		if (c < 0)
			err = nft_append_port(only_a, n_only_a, a[i++]);
		else if (c > 0)
			err = nft_append_port(only_b, n_only_b, b[j++]);
		else
			i++, j++;
	}
	return err;
}

int nft_content_diff(const struct nft_state *have, const struct nft_state *want,
		     struct nft_state *add, struct nft_state *del)
{
	int err;

	memset(add, 0, sizeof(*add));
	memset(del, 0, sizeof(*del));
	err = diff_owners(want->owners, want->n_owners, have->owners, have->n_owners, add, del);
	if (!err)
		err = diff_ports(want->tunnel_ports, want->n_tunnel_ports, have->tunnel_ports,
				 have->n_tunnel_ports, &add->tunnel_ports, &add->n_tunnel_ports,
				 &del->tunnel_ports, &del->n_tunnel_ports);
	if (!err)
		err = diff_ports(want->service_ports, want->n_service_ports, have->service_ports,
				 have->n_service_ports, &add->service_ports, &add->n_service_ports,
				 &del->service_ports, &del->n_service_ports);
	if (err) {
		nft_state_free(add);
		nft_state_free(del);
	}
	return err;
}

bool nft_content_empty(const struct nft_state *c)
{
	return !c->n_owners && !c->n_tunnel_ports && !c->n_service_ports;
}

/* ---- keys ---- */

/* `meta skuid . tcp dport`: the uid in host order, the port in network order, each padded to 4. */
void nft_key_pair(uint8_t key[8], uint32_t uid, uint16_t port)
{
	uint16_t be = htons(port);

	memset(key, 0, 8);
	memcpy(key, &uid, sizeof(uid));
	memcpy(key + 4, &be, sizeof(be));
}

/* `meta l4proto . tcp dport`: the protocol byte, then the port in network order. */
void nft_key_port(uint8_t key[8], uint16_t port)
{
	uint16_t be = htons(port);

	memset(key, 0, 8);
	key[0] = IPPROTO_TCP;
	memcpy(key + 4, &be, sizeof(be));
}
