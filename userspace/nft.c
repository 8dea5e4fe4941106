// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft.c - the nftables layer (see nft.h for the table it builds).
 *
 * Three parts, as in libmnl's and libnftnl's examples: pure builders that put libnftnl objects
 * into a batch on a caller buffer (nft_put_*), pure parsers that check every length of a reply
 * before using it (nft_parse_*), and the only code that owns a socket (nft_batch_send(),
 * nft_query()). Changes to the owner sets read the sets first and send only the difference, in a
 * batch that carries the ruleset generation it was computed against, so the kernel refuses it if
 * anything changed in between; the read and the diff are then redone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "log.h"
#include "nft.h"
#include "nlreply.h"

#define NFT_FAMILY	  NFPROTO_INET
#define NFT_CHAIN_NAME	  "output"
#define NFT_ELEMS_PER_MSG 1024
/* Worst case for one element in a message: nest, key nest, an 8-byte value, flags. */
#define NFT_ELEM_BYTES 32
/* Table, counters, sets, chain and rules, with room to spare. */
#define NFT_FIXED_BYTES	  65536
#define NFT_MAX_ERRNO	  4095
#define NFT_RECV_BUF_SIZE 32768
/* A batch refused because the ruleset changed meanwhile is recomputed this many times. */
#define NFT_ATTEMPTS 5

/* The table's comment ends with this and the owning guard's pin dir. */
#define NFT_OWNER_MARK ", pin dir "

/* Pin dir of the guard this process acts for, written into the table comment (nft_set_owner). */
static char nft_owner[192];

#define LOOPBACK_IFINDEX 1
#define TCP_FLAG_SYN	 0x02
#define TCP_FLAG_ACK	 0x10
#define TCP_FLAGS_OFFSET 13
#define TCP_DPORT_OFFSET 2

/* nftables' datatype numbers (what `nft` prints a key as); a concatenation packs 6 bits each. */
#define NFT_DT_INET_PROTOCOL 12
#define NFT_DT_INET_SERVICE  13
#define NFT_DT_UID	     24
#define NFT_DT_CONCAT(a, b)  (((a) << 6) | (b))
/* nftables' byte order tags in set userdata. */
#define NFT_BYTEORDER_HOST 1
#define NFT_BYTEORDER_BIG  2

#define NFT_COUNTER_OTHER_TENANT "tenant_to_tenant"
#define NFT_COUNTER_SERVICE	 "tenant_to_service"
#define NFT_AUDIT_PREFIX	 "tunnelguard audit: "

enum nft_set_index {
	SET_TENANT_UIDS,
	SET_ALLOW_PORTS,
	SET_OWNED,
	SET_SERVICES,
	SET_TUNNEL_PORTS,
	SET_SERVICE_PORTS,
	SET_COUNT,
};

struct nft_set_spec {
	const char *name;
	uint32_t key_type;
	uint32_t key_len;
	uint32_t flags;
	uint32_t byteorder; /* 0: none stored, as nft does for concatenations */
	const char *comment;
};

/*
 * Owner pairs and ports are concatenations, so their keys are 8 bytes and the kernel picks a hash:
 * a plain 2-byte inet_service set gets the bitmap backend, whose insert is linear in the set size
 * (50,000 ports took 19 s of system time here; `tcp . port` pairs took 0.24 s).
 */
static const struct nft_set_spec nft_sets[SET_COUNT] = {
	[SET_TENANT_UIDS] = { "tenant_uids", NFT_DT_UID, 4, NFT_SET_INTERVAL, NFT_BYTEORDER_HOST,
			      "tenant-uids minus exempt-uids" },
	[SET_ALLOW_PORTS] = { "allow_ports", NFT_DT_INET_SERVICE, 2, NFT_SET_INTERVAL,
			      NFT_BYTEORDER_BIG, "allow-ports: every tenant may reach them" },
	[SET_OWNED] = { "owned", NFT_DT_CONCAT(NFT_DT_UID, NFT_DT_INET_SERVICE), 8, 0, 0,
			"tenants' listeners: uid . port" },
	[SET_SERVICES] = { "services", NFT_DT_CONCAT(NFT_DT_UID, NFT_DT_INET_SERVICE), 8, 0, 0,
			   "hub services' listeners: uid . port (bookkeeping for service_ports)" },
	[SET_TUNNEL_PORTS] = { "tunnel_ports",
			       NFT_DT_CONCAT(NFT_DT_INET_PROTOCOL, NFT_DT_INET_SERVICE), 8, 0, 0,
			       "ports where a tenant listens" },
	[SET_SERVICE_PORTS] = { "service_ports",
				NFT_DT_CONCAT(NFT_DT_INET_PROTOCOL, NFT_DT_INET_SERVICE), 8, 0, 0,
				"ports where a hub service listens" },
};

static uint32_t nft_set_id(enum nft_set_index i)
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
	if (n >= NFT_MAX_INPUT) {
		errno = E2BIG;
		return NULL;
	}
	p = realloc(items, (n == 0 ? 16 : n * 2) * size);
	if (!p)
		errno = ENOMEM;
	return p;
}

static int append_owner(struct nft_state *s, const struct nft_owner *o)
{
	struct nft_owner *owners = grow(s->owners, s->n_owners, sizeof(*owners));

	if (!owners)
		return -errno;
	s->owners = owners;
	s->owners[s->n_owners++] = *o;
	return 0;
}

static int append_port(uint16_t **ports, size_t *n, uint16_t port)
{
	uint16_t *grown = grow(*ports, *n, sizeof(*grown));

	if (!grown)
		return -errno;
	*ports = grown;
	grown[(*n)++] = port;
	return 0;
}

static int append_bound(struct nft_state *s, uint32_t uid, bool end)
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

static void sort_content(struct nft_state *s)
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
	if (n > NFT_MAX_INPUT)
		return -E2BIG;
	if (n && !owners)
		return -EINVAL;
	for (size_t i = 0; i < n && !err; i++) {
		err = append_owner(out, &owners[i]);
		if (!err && owners[i].tenant)
			err = append_port(&out->tunnel_ports, &out->n_tunnel_ports, owners[i].port);
		else if (!err)
			err = append_port(&out->service_ports, &out->n_service_ports,
					  owners[i].port);
	}
	if (err) {
		nft_state_free(out);
		return err;
	}
	sort_content(out);
	if (out->n_owners > NFT_MAX_OWNERS) {
		nft_state_free(out);
		return -E2BIG;
	}
	return 0;
}

/* Sorted-merge difference of two sorted unique arrays: what only a has goes to only_a. */
static int diff_owners(const struct nft_owner *a, size_t na, const struct nft_owner *b, size_t nb,
		       struct nft_state *only_a, struct nft_state *only_b)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (!err && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : owner_cmp(&a[i], &b[j]);

		if (c < 0)
			err = append_owner(only_a, &a[i++]);
		else if (c > 0)
			err = append_owner(only_b, &b[j++]);
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
			err = append_port(only_a, n_only_a, a[i++]);
		else if (c > 0)
			err = append_port(only_b, n_only_b, b[j++]);
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

static bool content_empty(const struct nft_state *c)
{
	return !c->n_owners && !c->n_tunnel_ports && !c->n_service_ports;
}

/* ---- keys ---- */

/* `meta skuid . tcp dport`: the uid in host order, the port in network order, each padded to 4. */
static void key_pair(uint8_t key[8], uint32_t uid, uint16_t port)
{
	uint16_t be = htons(port);

	memset(key, 0, 8);
	memcpy(key, &uid, sizeof(uid));
	memcpy(key + 4, &be, sizeof(be));
}

/* `meta l4proto . tcp dport`: the protocol byte, then the port in network order. */
static void key_port(uint8_t key[8], uint16_t port)
{
	uint16_t be = htons(port);

	memset(key, 0, 8);
	key[0] = IPPROTO_TCP;
	memcpy(key + 4, &be, sizeof(be));
}

/* ---- builders ---- */

size_t nft_batch_size(const struct nft_state *c)
{
	/* Interval sets: at most 2 * TG_MAX_RANGES uid pieces and TG_MAX_RANGES port ranges. */
	size_t elems = c->n_owners + c->n_tunnel_ports + c->n_service_ports + 6 * TG_MAX_RANGES + 4;
	size_t msgs = elems / NFT_ELEMS_PER_MSG + SET_COUNT + 1;

	return NFT_MSG_MAX + NFT_FIXED_BYTES + elems * NFT_ELEM_BYTES + msgs * 256;
}

struct mnl_nlmsg_batch *nft_batch_start(void *buf, size_t size)
{
	if (!buf || size <= NFT_MSG_MAX) {
		errno = EINVAL;
		return NULL;
	}
	return mnl_nlmsg_batch_start(buf, size - NFT_MSG_MAX);
}

/* Commit the message just written at the batch's current position, if it fits. */
static int batch_commit(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	if (!mnl_nlmsg_batch_next(b))
		return -EMSGSIZE;
	(*seq)++;
	return 0;
}

static struct nlmsghdr *put_header(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags,
				   uint32_t seq)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFT_FAMILY,
				     flags | NLM_F_ACK, seq);
}

static int put_batch_marker(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type, uint32_t genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = *seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	return batch_commit(b, seq);
}

int nft_put_begin(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t genid)
{
	return put_batch_marker(b, seq, NFNL_MSG_BATCH_BEGIN, genid);
}

int nft_put_end(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	return put_batch_marker(b, seq, NFNL_MSG_BATCH_END, 0);
}

/* A userdata buffer holding one comment, for a table, chain, set, counter or rule. */
static struct nftnl_udata_buf *comment_udata(uint8_t type, const char *comment, uint32_t byteorder)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

	if (!ud)
		return NULL;
	if ((byteorder &&
	     !nftnl_udata_put_u32(ud, 0 /* NFTNL_UDATA_SET_KEYBYTEORDER */, byteorder)) ||
	    !nftnl_udata_put_strz(ud, type, comment)) {
		nftnl_udata_buf_free(ud);
		return NULL;
	}
	return ud;
}

static int put_table_msg(struct mnl_nlmsg_batch *b, uint32_t *seq, uint16_t type, uint16_t flags,
			 const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_udata_buf *ud = NULL;
	int err = -ENOMEM;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME) < 0)
		goto cleanup;
	if (comment) {
		ud = comment_udata(NFTNL_UDATA_TABLE_COMMENT, comment, 0);
		if (!ud || nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
						nftnl_udata_buf_len(ud)) < 0)
			goto cleanup;
	}
	nftnl_table_nlmsg_build_payload(put_header(b, type, flags, *seq), t);
	err = batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_table_free(t);
	return err;
}

/* NEWTABLE without NLM_F_EXCL is a no-op on an existing table: with DELTABLE after it, the pair
 * deletes the table whether or not it existed, in a batch that cannot fail for its absence. */
static int put_table_delete(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	int err = put_table_msg(b, seq, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);

	return err ? err : put_table_msg(b, seq, NFT_MSG_DELTABLE, 0, NULL);
}

int nft_put_remove(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	return put_table_delete(b, seq);
}

static int put_counter(struct mnl_nlmsg_batch *b, uint32_t *seq, const char *name,
		       const struct nft_counter *start, const char *comment)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nftnl_udata_buf *ud = comment_udata(NFTNL_UDATA_OBJ_COMMENT, comment, 0);
	int err = -ENOMEM;

	if (!o || !ud)
		goto cleanup;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFT_TABLE_NAME);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, start->packets);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, start->bytes);
	nftnl_obj_set_data(o, NFTNL_OBJ_USERDATA, nftnl_udata_buf_data(ud),
			   nftnl_udata_buf_len(ud));
	if (!nftnl_obj_is_set(o, NFTNL_OBJ_NAME) || !nftnl_obj_is_set(o, NFTNL_OBJ_USERDATA))
		goto cleanup;
	nftnl_obj_nlmsg_build_payload(put_header(b, NFT_MSG_NEWOBJ, NLM_F_CREATE, *seq), o);
	err = batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_obj_free(o);
	return err;
}

static int put_set(struct mnl_nlmsg_batch *b, uint32_t *seq, enum nft_set_index i)
{
	const struct nft_set_spec *spec = &nft_sets[i];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud =
		comment_udata(NFTNL_UDATA_SET_COMMENT, spec->comment, spec->byteorder);
	int err = -ENOMEM;

	if (!s || !ud || nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name) < 0 ||
	    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			       nftnl_udata_buf_len(ud)) < 0)
		goto cleanup;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, spec->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, spec->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, spec->key_len);
	nftnl_set_set_u32(s, NFTNL_SET_ID, nft_set_id(i));
	nftnl_set_nlmsg_build_payload(put_header(b, NFT_MSG_NEWSET, NLM_F_CREATE, *seq), s);
	err = batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_set_free(s);
	return err;
}

/* One element of a set: its key and whether it ends an interval. */
struct nft_elem {
	uint8_t key[8];
	bool interval_end;
};

/*
 * Put elements of set i, NFT_ELEMS_PER_MSG to a message. by_id: the set is created in this
 * batch, so it is also named by its batch-local id (as nft does).
 */
static int put_elems(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add, enum nft_set_index i,
		     const struct nft_elem *elems, size_t n, bool by_id)
{
	const struct nft_set_spec *spec = &nft_sets[i];

	for (size_t first = 0; first < n; first += NFT_ELEMS_PER_MSG) {
		size_t last = first + NFT_ELEMS_PER_MSG < n ? first + NFT_ELEMS_PER_MSG : n;
		struct nftnl_set *s = nftnl_set_alloc();
		struct nlmsghdr *nlh;
		int err = -ENOMEM;

		if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME) < 0 ||
		    nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name) < 0)
			goto fail;
		if (by_id)
			nftnl_set_set_u32(s, NFTNL_SET_ID, nft_set_id(i));
		for (size_t k = first; k < last; k++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();

			if (!e)
				goto fail;
			nftnl_set_elem_add(s, e);
			if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, elems[k].key, spec->key_len) <
			    0)
				goto fail;
			if (elems[k].interval_end)
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
						       NFT_SET_ELEM_INTERVAL_END);
		}
		nlh = put_header(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				 add ? NLM_F_CREATE : 0, *seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		err = batch_commit(b, seq);
	fail:
		nftnl_set_free(s);
		if (err)
			return err;
	}
	return 0;
}

/* Put a sorted list of pair or port keys of the content into set i. */
static int put_content_set(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add, enum nft_set_index i,
			   const struct nft_state *c, bool by_id)
{
	struct nft_elem *elems;
	size_t n = 0, max;
	int err;

	max = i == SET_TUNNEL_PORTS    ? c->n_tunnel_ports
	      : i == SET_SERVICE_PORTS ? c->n_service_ports
				       : c->n_owners;
	if (max == 0)
		return 0;
	elems = calloc(max, sizeof(*elems));
	if (!elems)
		return -ENOMEM;
	if (i == SET_TUNNEL_PORTS || i == SET_SERVICE_PORTS) {
		const uint16_t *ports = i == SET_TUNNEL_PORTS ? c->tunnel_ports : c->service_ports;

		for (size_t k = 0; k < max; k++)
			key_port(elems[n++].key, ports[k]);
	} else {
		for (size_t k = 0; k < max; k++)
			if (c->owners[k].tenant == (i == SET_OWNED))
				key_pair(elems[n++].key, c->owners[k].uid, c->owners[k].port);
	}
	err = put_elems(b, seq, add, i, elems, n, by_id);
	free(elems);
	return err;
}

/* The sets that hold owners, in the order their elements go into a batch. */
static int put_owner_sets(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add,
			  const struct nft_state *c, bool by_id)
{
	int err = 0;

	for (int i = SET_OWNED; i <= SET_SERVICE_PORTS && !err; i++)
		err = put_content_set(b, seq, add, (enum nft_set_index)i, c, by_id);
	return err;
}

int nft_put_elements(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add,
		     const struct nft_state *content)
{
	if (!b || !seq || !content)
		return -EINVAL;
	return put_owner_sets(b, seq, add, content, false);
}

/* An inclusive range of uids or ports, wide enough to hold last + 1. */
struct nft_range {
	uint64_t first;
	uint64_t last;
};

static int range_cmp(const void *a, const void *b)
{
	const struct nft_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

/* Sort and merge overlapping or adjacent ranges in place; returns the new count. */
static size_t merge_ranges(struct nft_range *r, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].first <= r[out].last + 1) {
			if (r[i].last > r[out].last)
				r[out].last = r[i].last;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Tenant uid ranges minus exempt ones, sorted and merged. out holds 2 * TG_MAX_RANGES + 1. */
static int tenant_ranges(const struct tg_policy *p, struct nft_range *out, size_t *n_out)
{
	struct nft_range ex[TG_MAX_RANGES];
	size_t n = 0, n_ex = 0;

	if (p->n_tenant > TG_MAX_RANGES || p->n_exempt > TG_MAX_RANGES)
		return -EINVAL;
	for (uint32_t i = 0; i < p->n_tenant; i++) {
		if (p->tenant[i].first > p->tenant[i].last)
			return -EINVAL;
		out[n++] = (struct nft_range){ p->tenant[i].first, p->tenant[i].last };
	}
	for (uint32_t i = 0; i < p->n_exempt; i++) {
		if (p->exempt[i].first > p->exempt[i].last)
			return -EINVAL;
		ex[n_ex++] = (struct nft_range){ p->exempt[i].first, p->exempt[i].last };
	}
	n = merge_ranges(out, n);
	n_ex = merge_ranges(ex, n_ex);
	/* Each disjoint exempt range splits at most one tenant range in two. */
	for (size_t e = 0; e < n_ex; e++) {
		for (size_t i = 0; i < n; i++) {
			struct nft_range *r = &out[i];

			if (ex[e].last < r->first || ex[e].first > r->last)
				continue;
			if (ex[e].first > r->first && ex[e].last < r->last) {
				memmove(&out[i + 2], &out[i + 1], (n - i - 1) * sizeof(*out));
				out[i + 1] = (struct nft_range){ ex[e].last + 1, r->last };
				r->last = ex[e].first - 1;
				n++;
				break;
			}
			if (ex[e].first <= r->first && ex[e].last >= r->last) {
				memmove(r, r + 1, (n - i - 1) * sizeof(*out));
				n--;
				i--;
			} else if (ex[e].first <= r->first) {
				r->first = ex[e].last + 1;
			} else {
				r->last = ex[e].first - 1;
			}
		}
	}
	*n_out = n;
	return 0;
}

/*
 * Elements of an interval set, as nft writes them: an interval-end element at 0 when the first
 * range does not start there, then each range's start and, unless it reaches the top of the key
 * space, an end element one past its last value. Keys are in network byte order.
 */
static int put_intervals(struct mnl_nlmsg_batch *b, uint32_t *seq, enum nft_set_index i,
			 const struct nft_range *r, size_t n, uint64_t max)
{
	struct nft_elem elems[4 * TG_MAX_RANGES + 4];
	size_t key_len = nft_sets[i].key_len, count = 0;

	if (n == 0)
		return 0;
	if (n > 2 * TG_MAX_RANGES + 1)
		return -EINVAL;
	memset(elems, 0, sizeof(elems));
	for (size_t k = 0; k < n; k++) {
		uint64_t keys[2] = { r[k].first, r[k].last + 1 };

		if (k == 0 && r[k].first != 0)
			elems[count++].interval_end = true;
		for (int j = 0; j < 2; j++) {
			if (j == 1 && r[k].last >= max)
				break;
			if (key_len == 4) {
				uint32_t be = htonl((uint32_t)keys[j]);

				memcpy(elems[count].key, &be, sizeof(be));
			} else {
				uint16_t be = htons((uint16_t)keys[j]);

				memcpy(elems[count].key, &be, sizeof(be));
			}
			elems[count++].interval_end = j == 1;
		}
	}
	return put_elems(b, seq, true, i, elems, count, true);
}

/* ---- rules ---- */

struct rule_builder {
	struct nftnl_rule *rule;
	bool failed;
};

static void add_expr(struct rule_builder *rb, struct nftnl_expr *e)
{
	if (!e)
		rb->failed = true;
	else
		nftnl_rule_add_expr(rb->rule, e);
}

static struct nftnl_expr *expr_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_payload(uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *expr_bitwise_u8(uint8_t mask)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint8_t zero = 0;

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1) < 0 ||
	    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

/* Interval sets hold keys in network order; meta skuid is in host order. */
static struct nftnl_expr *expr_hton32(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("byteorder");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	}
	return e;
}

static struct nftnl_expr *expr_lookup(enum nft_set_index i, bool invert)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, nft_set_id(i));
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_sets[i].name) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_accept(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
	return e;
}

static struct nftnl_expr *expr_counter_ref(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *expr_reset(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
	}
	return e;
}

static struct nftnl_expr *expr_log(const char *prefix)
{
	struct nftnl_expr *e = nftnl_expr_alloc("log");

	if (e && nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

/* `meta l4proto tcp`: the dependency nft itself puts before `tcp ...`, so it prints them so. */
static void add_tcp_dependency(struct rule_builder *rb)
{
	uint8_t tcp = IPPROTO_TCP;

	add_expr(rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(rb, expr_cmp(NFT_CMP_EQ, &tcp, sizeof(tcp)));
}

/* Start a rule; a failure is recorded in rb and reported by rule_put(). */
static void rule_start(struct rule_builder *rb, const char *comment)
{
	struct nftnl_udata_buf *ud = comment_udata(NFTNL_UDATA_RULE_COMMENT, comment, 0);

	rb->failed = false;
	rb->rule = nftnl_rule_alloc();
	if (!ud || !rb->rule ||
	    nftnl_rule_set_str(rb->rule, NFTNL_RULE_TABLE, NFT_TABLE_NAME) < 0 ||
	    nftnl_rule_set_str(rb->rule, NFTNL_RULE_CHAIN, NFT_CHAIN_NAME) < 0 ||
	    nftnl_rule_set_data(rb->rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				nftnl_udata_buf_len(ud)) < 0)
		rb->failed = true;
	nftnl_udata_buf_free(ud);
}

static int rule_put(struct mnl_nlmsg_batch *b, uint32_t *seq, struct rule_builder *rb)
{
	int err = -ENOMEM;

	if (!rb->failed) {
		nftnl_rule_nlmsg_build_payload(
			put_header(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, *seq),
			rb->rule);
		err = batch_commit(b, seq);
	}
	nftnl_rule_free(rb->rule);
	rb->rule = NULL;
	return err;
}

/* `meta l4proto . tcp dport @set counter name ... reject with tcp reset` (or log, accept). */
static int put_deny_rule(struct mnl_nlmsg_batch *b, uint32_t *seq, bool audit,
			 enum nft_set_index set, const char *counter, const char *comment)
{
	struct rule_builder rb;

	rule_start(&rb, comment);
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG32_01));
	add_expr(&rb, expr_lookup(set, false));
	add_expr(&rb, expr_counter_ref(counter));
	if (audit) {
		add_expr(&rb, expr_log(NFT_AUDIT_PREFIX));
		add_expr(&rb, expr_accept());
	} else {
		add_expr(&rb, expr_reset());
	}
	return rule_put(b, seq, &rb);
}

/*
 * The chain, in the order that lets the common packets out first: anything not on lo (the
 * only way to the host's own addresses), then established traffic and replies (which, from a
 * tenant's listener, carry the tenant's uid), then non-TCP, then non-tenants.
 */
/*
 * One rule per `allow = USER:PORTS` range: at most TG_MAX_ALLOW_RULES, and only a tenant's SYN
 * gets this far, so a linear walk costs nobody else anything.
 */
static int put_allow_rules(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p)
{
	for (uint32_t i = 0; i < p->n_allow_rule; i++) {
		const struct tg_port_grant *g = &p->allow_rule[i];
		uint16_t first = htons(g->first), last = htons(g->last);
		struct rule_builder rb;
		char comment[64];
		int err;

		snprintf(comment, sizeof(comment), "allow = %u:%u-%u", g->uid, g->first, g->last);
		rule_start(&rb, comment);
		add_tcp_dependency(&rb);
		add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
		add_expr(&rb, expr_cmp(NFT_CMP_EQ, &g->uid, sizeof(g->uid)));
		/* Big-endian ports compare byte by byte in numeric order. */
		add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG_1));
		add_expr(&rb, expr_cmp(NFT_CMP_GTE, &first, sizeof(first)));
		add_expr(&rb, expr_cmp(NFT_CMP_LTE, &last, sizeof(last)));
		add_expr(&rb, expr_accept());
		err = rule_put(b, seq, &rb);
		if (err)
			return err;
	}
	return 0;
}

static int put_rules(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p)
{
	bool audit = p->mode == TG_MODE_AUDIT;
	uint32_t lo = LOOPBACK_IFINDEX;
	uint8_t tcp = IPPROTO_TCP, syn = TCP_FLAG_SYN;
	struct rule_builder rb;
	int err;

	rule_start(&rb, "not to this host: local destinations go through lo");
	add_expr(&rb, expr_meta(NFT_META_OIF, NFT_REG_1));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &lo, sizeof(lo)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "not a connection opening: only SYN without ACK is judged");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_payload(TCP_FLAGS_OFFSET, 1, NFT_REG_1));
	add_expr(&rb, expr_bitwise_u8(TCP_FLAG_SYN | TCP_FLAG_ACK));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &syn, sizeof(syn)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "not TCP: out of scope");
	add_expr(&rb, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	add_expr(&rb, expr_cmp(NFT_CMP_NEQ, &tcp, sizeof(tcp)));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "caller is not a tenant");
	add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
	add_expr(&rb, expr_hton32());
	add_expr(&rb, expr_lookup(SET_TENANT_UIDS, true));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	rule_start(&rb, "allow-ports");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG_1));
	add_expr(&rb, expr_lookup(SET_ALLOW_PORTS, false));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	err = put_allow_rules(b, seq, p);
	if (err)
		return err;

	rule_start(&rb, "tenant to its own listener");
	add_tcp_dependency(&rb);
	add_expr(&rb, expr_meta(NFT_META_SKUID, NFT_REG_1));
	add_expr(&rb, expr_payload(TCP_DPORT_OFFSET, 2, NFT_REG32_01));
	add_expr(&rb, expr_lookup(SET_OWNED, false));
	add_expr(&rb, expr_accept());
	err = rule_put(b, seq, &rb);
	if (err)
		return err;

	err = put_deny_rule(b, seq, audit, SET_TUNNEL_PORTS, NFT_COUNTER_OTHER_TENANT,
			    audit ? "audit: tenant to another tenant's tunnel (logged, not reset)"
				  : "tenant to another tenant's tunnel");
	if (err || p->policy != TG_POLICY_STRICT)
		return err;
	return put_deny_rule(b, seq, audit, SET_SERVICE_PORTS, NFT_COUNTER_SERVICE,
			     audit ? "audit: tenant to a hub service, policy strict (logged, "
				     "not reset)"
				   : "tenant to a hub service (policy strict)");
}

static int put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_udata_buf *ud = comment_udata(
		NFTNL_UDATA_CHAIN_COMMENT, "tenants' connection openings to local ports", 0);
	int err = -ENOMEM;

	if (!c || !ud || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFT_CHAIN_NAME) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0 ||
	    nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0)
		goto cleanup;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(put_header(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, *seq), c);
	err = batch_commit(b, seq);
cleanup:
	nftnl_udata_buf_free(ud);
	nftnl_chain_free(c);
	return err;
}

static int check_policy(const struct tg_policy *p)
{
	if (p->mode != TG_MODE_ENFORCE && p->mode != TG_MODE_AUDIT)
		return -EINVAL;
	if (p->policy != TG_POLICY_ISOLATE && p->policy != TG_POLICY_STRICT)
		return -EINVAL;
	if (p->n_allow_port > TG_MAX_RANGES)
		return -EINVAL;
	for (uint32_t i = 0; i < p->n_allow_port; i++)
		if (p->allow_port[i].first > p->allow_port[i].last)
			return -EINVAL;
	if (p->n_allow_rule > TG_MAX_ALLOW_RULES)
		return -EINVAL;
	for (uint32_t i = 0; i < p->n_allow_rule; i++)
		if (p->allow_rule[i].first > p->allow_rule[i].last)
			return -EINVAL;
	return 0;
}

int nft_put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p,
		  const struct nft_state *c)
{
	struct nft_range uids[2 * TG_MAX_RANGES + 1], ports[TG_MAX_RANGES];
	size_t n_uids = 0, n_ports = 0;
	char comment[256]; /* the kernel keeps at most 256 bytes of table userdata */
	int err;

	if (!b || !seq || !p || !c)
		return -EINVAL;
	err = check_policy(p);
	if (!err)
		err = tenant_ranges(p, uids, &n_uids);
	if (err)
		return err;
	for (uint32_t i = 0; i < p->n_allow_port; i++)
		ports[n_ports++] =
			(struct nft_range){ p->allow_port[i].first, p->allow_port[i].last };
	n_ports = merge_ranges(ports, n_ports);
	snprintf(comment, sizeof(comment), "tunnelguard: policy %s, mode %s%s%s",
		 p->policy == TG_POLICY_STRICT ? "strict" : "isolate",
		 p->mode == TG_MODE_AUDIT ? "audit" : "enforce", nft_owner[0] ? NFT_OWNER_MARK : "",
		 nft_owner);

	err = put_table_delete(b, seq);
	if (!err)
		err = put_table_msg(b, seq, NFT_MSG_NEWTABLE, NLM_F_CREATE, comment);
	if (!err)
		err = put_counter(b, seq, NFT_COUNTER_OTHER_TENANT, &c->other_tenant,
				  "tenants' connection openings to another tenant's tunnel");
	if (!err)
		err = put_counter(b, seq, NFT_COUNTER_SERVICE, &c->service,
				  "tenants' connection openings to a hub service (policy strict)");
	for (int i = 0; i < SET_COUNT && !err; i++)
		err = put_set(b, seq, (enum nft_set_index)i);
	if (!err)
		err = put_intervals(b, seq, SET_TENANT_UIDS, uids, n_uids, UINT32_MAX);
	if (!err)
		err = put_intervals(b, seq, SET_ALLOW_PORTS, ports, n_ports, UINT16_MAX);
	if (!err)
		err = put_owner_sets(b, seq, true, c, true);
	if (!err)
		err = put_chain(b, seq);
	if (!err)
		err = put_rules(b, seq, p);
	return err;
}

/* ---- describing a message of our batch, for error reports ---- */

struct attr_table {
	const struct nlattr *tb[16];
};

static int attr_collect_cb(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type < 16)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

static const char *attr_str(const struct nlattr *attr)
{
	if (!attr || mnl_attr_validate((struct nlattr *)attr, MNL_TYPE_NUL_STRING) < 0)
		return "?";
	return mnl_attr_get_str(attr);
}

/* The comment in a rule's userdata (type 0, NUL-terminated), or NULL. */
static const char *rule_comment(const struct nlattr *attr)
{
	const uint8_t *ud;
	uint16_t len;

	if (!attr)
		return NULL;
	ud = mnl_attr_get_payload(attr);
	len = mnl_attr_get_payload_len(attr);
	if (len < 3 || ud[0] != NFTNL_UDATA_RULE_COMMENT || ud[1] == 0 || ud[1] > len - 2 ||
	    ud[2 + ud[1] - 1] != '\0')
		return NULL;
	return (const char *)&ud[2];
}

/* The key of the element whose attribute starts at offset in the message, as nft prints it. */
static void describe_element(const struct nlmsghdr *nlh, uint32_t offset, const char *set,
			     char *out, size_t len)
{
	const struct nlattr *elem, *key;
	struct attr_table t = {};
	const uint8_t *v;
	uint16_t vlen;

	snprintf(out, len, "elements");
	if (offset < NLMSG_HDRLEN + sizeof(struct nfgenmsg) ||
	    (uint64_t)offset + sizeof(struct nlattr) > nlh->nlmsg_len)
		return;
	elem = (const struct nlattr *)((const char *)nlh + offset);
	if (elem->nla_len < sizeof(struct nlattr) || offset + elem->nla_len > nlh->nlmsg_len ||
	    mnl_attr_parse_nested(elem, attr_collect_cb, &t) < 0 || !t.tb[NFTA_SET_ELEM_KEY])
		return;
	key = t.tb[NFTA_SET_ELEM_KEY];
	memset(&t, 0, sizeof(t));
	if (mnl_attr_parse_nested(key, attr_collect_cb, &t) < 0 || !t.tb[NFTA_DATA_VALUE])
		return;
	v = mnl_attr_get_payload(t.tb[NFTA_DATA_VALUE]);
	vlen = mnl_attr_get_payload_len(t.tb[NFTA_DATA_VALUE]);
	if (vlen == 8 && (!strcmp(set, "owned") || !strcmp(set, "services"))) {
		uint32_t uid;
		uint16_t port;

		memcpy(&uid, v, sizeof(uid));
		memcpy(&port, v + 4, sizeof(port));
		snprintf(out, len, "element %u . %u", uid, ntohs(port));
	} else if (vlen == 8) {
		uint16_t port;

		memcpy(&port, v + 4, sizeof(port));
		snprintf(out, len, "element %s . %u", v[0] == IPPROTO_TCP ? "tcp" : "?",
			 ntohs(port));
	} else if (vlen == 4) {
		uint32_t be;

		memcpy(&be, v, sizeof(be));
		snprintf(out, len, "element %u", ntohl(be));
	} else if (vlen == 2) {
		uint16_t be;

		memcpy(&be, v, sizeof(be));
		snprintf(out, len, "element %u", ntohs(be));
	}
}

static const char *family_name(uint8_t family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	default:
		return "?";
	}
}

/* "add set owned to table inet tunnelguard", for one message of a batch we built. */
static void describe_msg(const struct nlmsghdr *nlh, uint32_t offset, char *out, size_t len)
{
	const struct nfgenmsg *nfg;
	struct attr_table t = {};
	char what[96];
	const char *fam, *table, *verb;
	uint16_t type;

	if (!nlh) {
		snprintf(out, len, "apply a batch to table inet " NFT_TABLE_NAME);
		return;
	}
	type = nlh->nlmsg_type;
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END ||
	    NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg)) {
		snprintf(out, len, "apply the batch to table inet " NFT_TABLE_NAME);
		return;
	}
	nfg = mnl_nlmsg_get_payload(nlh);
	fam = family_name(nfg->nfgen_family);
	mnl_attr_parse(nlh, sizeof(*nfg), attr_collect_cb, &t);
	table = attr_str(t.tb[1]); /* NFTA_*_TABLE (NFTA_TABLE_NAME) is attribute 1 of each */
	switch (NFNL_MSG_TYPE(type)) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		snprintf(out, len, "%s table %s %s",
			 NFNL_MSG_TYPE(type) == NFT_MSG_NEWTABLE ? "add" : "delete", fam, table);
		return;
	case NFT_MSG_NEWCHAIN:
		snprintf(out, len, "add chain %s to table %s %s", attr_str(t.tb[NFTA_CHAIN_NAME]),
			 fam, table);
		return;
	case NFT_MSG_NEWRULE: {
		const char *comment = rule_comment(t.tb[NFTA_RULE_USERDATA]);

		snprintf(out, len, "add rule \"%s\" to chain %s of table %s %s",
			 comment ? comment : "?", attr_str(t.tb[NFTA_RULE_CHAIN]), fam, table);
		return;
	}
	case NFT_MSG_NEWSET:
		snprintf(out, len, "add set %s to table %s %s", attr_str(t.tb[NFTA_SET_NAME]), fam,
			 table);
		return;
	case NFT_MSG_NEWOBJ:
		snprintf(out, len, "add counter %s to table %s %s", attr_str(t.tb[NFTA_OBJ_NAME]),
			 fam, table);
		return;
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		verb = NFNL_MSG_TYPE(type) == NFT_MSG_NEWSETELEM ? "add" : "delete";
		describe_element(nlh, offset, attr_str(t.tb[NFTA_SET_ELEM_LIST_SET]), what,
				 sizeof(what));
		snprintf(out, len, "%s %s %s set %s in table %s %s", verb, what,
			 verb[0] == 'a' ? "to" : "from", attr_str(t.tb[NFTA_SET_ELEM_LIST_SET]),
			 fam, table);
		return;
	default:
		snprintf(out, len, "send message type %u to table %s %s", NFNL_MSG_TYPE(type), fam,
			 table);
	}
}

/* The message of our batch with sequence number seq, or NULL. */
static const struct nlmsghdr *find_msg(const void *batch, size_t len, uint32_t seq)
{
	const struct nlmsghdr *nlh = batch;
	int left = len > INT_MAX ? INT_MAX : (int)len;

	while (mnl_nlmsg_ok(nlh, left)) {
		if (nlh->nlmsg_seq == seq)
			return nlh;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return NULL;
}

/* ---- parsing replies ---- */

/* The buffer must start aligned and be a whole number of messages of the allowed types. */
static int check_framing(const void *buf, size_t len, uint16_t data_type)
{
	if ((uintptr_t)buf % NLMSG_ALIGNTO || len > INT_MAX)
		return -EBADMSG;
	return nlreply_check_framing(buf, len, data_type);
}

/* An NLMSG_ERROR's code: 0, a negative errno, or -EBADMSG when it is neither. */
static int ack_error(const struct nlmsghdr *nlh, const struct nlmsgerr **out)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	*out = e;
	if (e->error > 0 || e->error < -NFT_MAX_ERRNO)
		return -EBADMSG;
	return e->error;
}

/* The extended ack's offset and message, when the kernel sent them. */
static void ack_tlvs(const struct nlmsghdr *nlh, const struct nlmsgerr *e, uint32_t *offset,
		     const char **msg)
{
	size_t skip = sizeof(*e), payload = mnl_nlmsg_get_payload_len(nlh);
	struct attr_table t = {};

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NLM_F_CAPPED the failing message's payload is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		skip += MNL_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	if (skip > payload || mnl_attr_parse(nlh, skip, attr_collect_cb, &t) < 0)
		return;
	if (t.tb[NLMSGERR_ATTR_OFFS] &&
	    mnl_attr_validate((struct nlattr *)t.tb[NLMSGERR_ATTR_OFFS], MNL_TYPE_U32) == 0)
		*offset = mnl_attr_get_u32(t.tb[NLMSGERR_ATTR_OFFS]);
	if (t.tb[NLMSGERR_ATTR_MSG] &&
	    mnl_attr_validate((struct nlattr *)t.tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(t.tb[NLMSGERR_ATTR_MSG]);
}

int nft_parse_acks(const void *reply, size_t len, const void *batch, size_t batch_len,
		   size_t *acked, char *why, size_t why_len)
{
	const struct nlmsghdr *first = batch, *nlh = reply;
	size_t left = len;
	int err;

	if (!acked || (!reply && len) || !batch || batch_len < NLMSG_HDRLEN)
		return -EINVAL;
	err = check_framing(reply, len, NLMSG_ERROR);
	if (err)
		return err == -EINTR ? -EBADMSG : err;
	while (left > 0) {
		const struct nlmsgerr *e = NULL;
		const struct nlmsghdr *orig;
		const char *ext = NULL;
		uint32_t offset = 0;
		char what[256];

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			err = ack_error(nlh, &e);
			if (err == -EBADMSG)
				return err;
			/* Sequence numbers of one batch are consecutive from the first. */
			if (e->msg.nlmsg_seq - first->nlmsg_seq > batch_len / NLMSG_HDRLEN)
				return -EBADMSG;
			if (err == 0) {
				(*acked)++;
			} else {
				ack_tlvs(nlh, e, &offset, &ext);
				orig = find_msg(batch, batch_len, e->msg.nlmsg_seq);
				describe_msg(orig, offset, what, sizeof(what));
				if (err == -EPERM && !ext)
					ext = "are you root?";
				if (why && why_len)
					snprintf(why, why_len, "cannot %s: %s%s%s%s", what,
						 strerror(-err), ext ? " (" : "", ext ? ext : "",
						 ext ? ")" : "");
				return err;
			}
		} else if (nlh->nlmsg_type != NLMSG_NOOP) {
			return -EBADMSG;
		}
		left -= nlh->nlmsg_len;
		nlh = (const struct nlmsghdr *)((const char *)nlh + nlh->nlmsg_len);
	}
	return 0;
}

struct parse_ctx {
	int err; /* -errno a callback stopped the run with */
	const char *set;
	struct nft_state *out;
	uint32_t genid;
	bool got;
};

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = NULL;
	struct parse_ctx *ctx = data;
	int err = ack_error(nlh, &e);

	if (err == 0)
		return MNL_CB_STOP; /* the acknowledgement of a request: the reply is complete */
	ctx->err = err;
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	int status;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(status)) {
		ctx->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
	if (status == 0)
		return MNL_CB_STOP;
	ctx->err = status < 0 && status >= -NFT_MAX_ERRNO ? status : -EBADMSG;
	return MNL_CB_ERROR;
}

/* Run data_cb over one buffer of a reply of data_type. 1 more expected, 0 done, or -errno. */
static int parse_reply(const void *buf, size_t len, uint16_t data_type, mnl_cb_t data_cb,
		       struct parse_ctx *ctx)
{
	mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	int ret;

	if (!buf && len)
		return -EINVAL;
	ret = check_framing(buf, len, data_type);
	if (ret)
		return ret;
	ctx->err = 0;
	ret = mnl_cb_run2(buf, len, 0, 0, data_cb, ctx, ctl_cb, NLMSG_MIN_TYPE);
	if (ret == MNL_CB_ERROR)
		return ctx->err ? ctx->err : -EBADMSG;
	return ret == MNL_CB_STOP ? 0 : 1;
}

static int elements_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;
	bool tenant_uids = !strcmp(ctx->set, nft_sets[SET_TENANT_UIDS].name);
	bool pairs = !strcmp(ctx->set, "owned") || !strcmp(ctx->set, "services");
	bool tenant = !strcmp(ctx->set, "owned") || !strcmp(ctx->set, "tunnel_ports");
	int err = 0;

	if (!s)
		err = -ENOMEM;
	else if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0 || !nftnl_set_is_set(s, NFTNL_SET_NAME) ||
		 strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), ctx->set) != 0)
		err = -EBADMSG;
	if (!err)
		it = nftnl_set_elems_iter_create(s);
	if (!err && !it)
		err = -ENOMEM;
	for (e = it ? nftnl_set_elems_iter_next(it) : NULL; e && !err;
	     e = nftnl_set_elems_iter_next(it)) {
		uint32_t klen = 0;
		const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
		uint16_t be;

		if (tenant_uids && key && klen == 4) {
			uint32_t uid_be;
			bool end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
				   (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
				    NFT_SET_ELEM_INTERVAL_END);

			memcpy(&uid_be, key, sizeof(uid_be));
			err = append_bound(ctx->out, ntohl(uid_be), end);
			continue;
		}
		if (!key || klen != 8 || tenant_uids) {
			err = -EBADMSG;
			break;
		}
		memcpy(&be, key + 4, sizeof(be));
		if (pairs) {
			struct nft_owner o = { .port = ntohs(be), .tenant = tenant };

			memcpy(&o.uid, key, sizeof(o.uid));
			err = append_owner(ctx->out, &o);
		} else if (key[0] != IPPROTO_TCP) {
			err = -EBADMSG;
		} else if (tenant) {
			err = append_port(&ctx->out->tunnel_ports, &ctx->out->n_tunnel_ports,
					  ntohs(be));
		} else {
			err = append_port(&ctx->out->service_ports, &ctx->out->n_service_ports,
					  ntohs(be));
		}
	}
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	ctx->err = err;
	return err ? MNL_CB_ERROR : MNL_CB_OK;
}

static bool known_owner_set(const char *set)
{
	for (int i = SET_TENANT_UIDS; i <= SET_SERVICE_PORTS; i++)
		if (i != SET_ALLOW_PORTS && set && !strcmp(set, nft_sets[i].name))
			return true;
	return false;
}

int nft_parse_elements(const void *reply, size_t len, const char *set, struct nft_state *out)
{
	struct parse_ctx ctx = { .set = set, .out = out };

	if (!out || !known_owner_set(set))
		return -EINVAL;
	return parse_reply(reply, len, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM, elements_cb,
			   &ctx);
}

static int counters_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nft_counter *c = NULL;
	const char *name;
	int err = 0;

	if (!o) {
		ctx->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0 || !nftnl_obj_is_set(o, NFTNL_OBJ_NAME) ||
	    !nftnl_obj_is_set(o, NFTNL_OBJ_TYPE)) {
		err = -EBADMSG;
	} else if (nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER) {
		name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
		if (!strcmp(name, NFT_COUNTER_OTHER_TENANT))
			c = &ctx->out->other_tenant;
		else if (!strcmp(name, NFT_COUNTER_SERVICE))
			c = &ctx->out->service;
	}
	if (c) {
		c->packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		c->bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	}
	nftnl_obj_free(o);
	ctx->err = err;
	return err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	struct nftnl_gen *g = nftnl_gen_alloc();

	if (!g) {
		ctx->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_gen_nlmsg_parse(nlh, g) < 0 || !nftnl_gen_is_set(g, NFTNL_GEN_ID)) {
		nftnl_gen_free(g);
		ctx->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	ctx->genid = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	ctx->got = true;
	nftnl_gen_free(g);
	return MNL_CB_STOP;
}

static int table_udata_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	const char *value = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_TABLE_COMMENT && len && value[len - 1] == '\0')
		*comment = value;
	return 0;
}

/* The pin dir named in the table's comment, "" when none (a table made without an owner). */
static void table_owner(const struct nlmsghdr *nlh, char *owner, size_t len)
{
	struct nftnl_table *t = nftnl_table_alloc();
	const char *comment = NULL, *mark;
	const void *ud;
	uint32_t ud_len = 0;

	owner[0] = '\0';
	if (!t || nftnl_table_nlmsg_parse(nlh, t) < 0 ||
	    !nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		goto out;
	ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &ud_len);
	if (ud && nftnl_udata_parse(ud, ud_len, table_udata_cb, &comment) >= 0 && comment) {
		mark = strstr(comment, NFT_OWNER_MARK);
		if (mark)
			snprintf(owner, len, "%s", mark + strlen(NFT_OWNER_MARK));
	}
out:
	nftnl_table_free(t);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;

	ctx->got = true;
	if (ctx->out)
		table_owner(nlh, ctx->out->owner, sizeof(ctx->out->owner));
	return MNL_CB_STOP;
}

/* ---- the socket ---- */

static struct mnl_socket *nft_socket(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	struct timeval timeout = { .tv_sec = 5 };
	int one = 1, err;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	/* Errors name the failing attribute and do not echo the (possibly 64 KiB) message. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A kernel that never answers a query is an error, not a hang. */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return nl;
}

/* Send one request and run data_cb over the reply until it is complete. 0 or -errno. */
static int nft_query(struct mnl_socket *nl, struct nlmsghdr *req, uint16_t data_type,
		     mnl_cb_t data_cb, struct parse_ctx *ctx)
{
	uint32_t buf[NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	ssize_t n;
	int ret;

	req->nlmsg_pid = 0;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return -ETIMEDOUT;
		if (n < 0)
			return errno == ENOSPC ? -EMSGSIZE : -errno;
		ret = parse_reply(buf, (size_t)n, data_type, data_cb, ctx);
		if (ret <= 0)
			return ret;
	}
}

static uint32_t next_seq(void)
{
	static uint32_t seq;

	if (!seq)
		seq = (uint32_t)time(NULL);
	return seq += 1 << 20;
}

static int query_genid(struct mnl_socket *nl, uint32_t *genid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, next_seq());
	struct parse_ctx ctx = {};
	int err = nft_query(nl, nlh, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN, gen_cb, &ctx);

	if (!err && !ctx.got)
		err = -EBADMSG;
	*genid = ctx.genid;
	return err;
}

static int query_table(struct mnl_socket *nl, struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct parse_ctx ctx = { .out = out };
	bool *present = &out->present;
	struct nlmsghdr *nlh;
	int err;

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME) < 0) {
		nftnl_table_free(t);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFT_FAMILY, 0, next_seq());
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	err = nft_query(nl, nlh, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE, table_cb, &ctx);
	*present = err == 0 && ctx.got;
	return err == -ENOENT ? 0 : err;
}

static int query_elements(struct mnl_socket *nl, const char *set, struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct parse_ctx ctx = { .set = set, .out = out };
	struct nlmsghdr *nlh;

	if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFT_FAMILY, NLM_F_DUMP, next_seq());
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nft_query(nl, nlh, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM, elements_cb,
			 &ctx);
}

static int query_counters(struct mnl_socket *nl, struct nft_state *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct parse_ctx ctx = { .out = out };
	struct nlmsghdr *nlh;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFT_TABLE_NAME);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFT_FAMILY, NLM_F_DUMP, next_seq());
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return nft_query(nl, nlh, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWOBJ, counters_cb, &ctx);
}

/*
 * Read the table as of one ruleset generation (*genid): the generation is read before and after,
 * and a read that straddles a change, or a dump the kernel marks interrupted, is redone.
 */
static int read_state(struct mnl_socket *nl, bool elements, struct nft_state *out, uint32_t *genid)
{
	uint32_t after = 0;
	int err = -EINTR;

	for (int attempt = 0; attempt < NFT_ATTEMPTS && err == -EINTR; attempt++) {
		nft_state_free(out);
		err = query_genid(nl, genid);
		if (!err)
			err = query_table(nl, out);
		for (int i = SET_TENANT_UIDS;
		     i <= SET_SERVICE_PORTS && elements && !err && out->present; i++)
			if (i != SET_ALLOW_PORTS)
				err = query_elements(nl, nft_sets[i].name, out);
		if (!err && out->present)
			err = query_counters(nl, out);
		if (!err)
			err = query_genid(nl, &after);
		if (!err && after != *genid)
			err = -EINTR;
		/* ENOENT from a dump: the table vanished meanwhile (read again), or a set is gone.
		 */
		if (err == -ENOENT && query_genid(nl, &after) == 0 && after != *genid)
			err = -EINTR;
	}
	if (err) {
		nft_state_free(out);
		return err;
	}
	sort_content(out);
	return 0;
}

/*
 * The socket batches go through, kept open across batches: closing a netfilter socket makes
 * the kernel finish freeing the last transaction's deleted elements first (an RCU grace period,
 * 4-16 ms here), which would hold up the daemon's next event. One per process and network
 * namespace: a forked child or an unshare() gets its own.
 */
static struct mnl_socket *batch_nl;
static pid_t batch_nl_pid;
static dev_t batch_nl_netns_dev;
static ino_t batch_nl_netns_ino;

static void batch_socket_drop(void)
{
	if (batch_nl)
		mnl_socket_close(batch_nl);
	batch_nl = NULL;
}

/* A non-blocking socket with nothing left to read from an earlier batch, or NULL and errno. */
static struct mnl_socket *batch_socket(void)
{
	uint32_t junk[NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	struct stat ns;
	bool here = stat("/proc/self/ns/net", &ns) == 0;

	if (batch_nl && (!here || batch_nl_pid != getpid() || batch_nl_netns_dev != ns.st_dev ||
			 batch_nl_netns_ino != ns.st_ino))
		batch_socket_drop();
	if (batch_nl) {
		/* Acks an earlier, failed batch left unread would be taken for this one's. */
		while (recv(mnl_socket_get_fd(batch_nl), junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		return batch_nl;
	}
	batch_nl = nft_socket();
	if (!batch_nl)
		return NULL;
	if (fcntl(mnl_socket_get_fd(batch_nl), F_SETFL, O_NONBLOCK) < 0) {
		int err = errno;

		batch_socket_drop();
		errno = err;
		return NULL;
	}
	batch_nl_pid = getpid();
	batch_nl_netns_dev = here ? ns.st_dev : 0;
	batch_nl_netns_ino = here ? ns.st_ino : 0;
	return batch_nl;
}

/* TUNNELGUARD_TEST_NFT_BATCH_MAX, or 0 when unset. */
static size_t test_batch_max(void)
{
	const char *v = getenv("TUNNELGUARD_TEST_NFT_BATCH_MAX");

	return v ? strtoul(v, NULL, 10) : 0;
}

int nft_batch_send(struct mnl_nlmsg_batch *b, char *why, size_t why_len)
{
	uint32_t reply[NFT_RECV_BUF_SIZE / sizeof(uint32_t)];
	const void *buf = mnl_nlmsg_batch_head(b);
	size_t len = mnl_nlmsg_batch_size(b), expected = 0, acked = 0;
	const struct nlmsghdr *nlh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;
	struct mnl_socket *nl;
	int err = 0, size;
	ssize_t n;

	if (why && why_len)
		why[0] = '\0';
	/* Test hook: refuse batches over a byte count, as a kernel limit would (EMSGSIZE), so
	 * that the tests can prove a refused batch is split. */
	if (test_batch_max() && len > test_batch_max()) {
		if (why && why_len)
			snprintf(why, why_len,
				 "batch of %zu bytes refused: over TUNNELGUARD_TEST_NFT_BATCH_MAX",
				 len);
		return -EMSGSIZE;
	}
	while (mnl_nlmsg_ok(nlh, left)) {
		if (nlh->nlmsg_flags & NLM_F_ACK)
			expected++;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	nl = batch_socket();
	if (!nl) {
		err = -errno;
		if (why && why_len)
			snprintf(why, why_len, "cannot open a netfilter netlink socket: %s%s",
				 strerror(-err), err == -EPERM ? " (are you root?)" : "");
		return err;
	}
	/* The kernel takes the batch in one sendmsg and queues every ack before it returns. */
	size = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len + 4096;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	size = expected > (size_t)(INT_MAX / 2048) ? INT_MAX / 2 : (int)(expected * 1024 + 65536);
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (mnl_socket_sendto(nl, buf, len) < 0) {
		err = -errno;
		if (why && why_len)
			snprintf(why, why_len, "cannot send %zu bytes to nftables: %s", len,
				 strerror(-err));
		goto cleanup;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			err = -errno;
			if (why && why_len)
				snprintf(why, why_len,
					 "cannot read nftables' answer to the batch: %s%s",
					 strerror(-err),
					 err == -ENOBUFS ? " (acknowledgements were lost)" : "");
			goto cleanup;
		}
		err = nft_parse_acks(reply, (size_t)n, buf, len, &acked, why, why_len);
		if (err == -EBADMSG && why && why_len && !why[0])
			snprintf(why, why_len,
				 "nftables answered the batch with a malformed reply");
		if (err)
			goto cleanup;
	}
	if (acked != expected) {
		err = -EPROTO;
		if (why && why_len)
			snprintf(why, why_len,
				 "nftables acknowledged %zu of the %zu messages of "
				 "the batch",
				 acked, expected);
	}
cleanup:
	/* A socket that lost acknowledgements or could not send starts afresh next time. */
	if (err && err != -ENOENT && err != -EEXIST && err != -ERESTART)
		batch_socket_drop();
	return err;
}

/* Build a batch of the given size with put(), send it, and log what failed (unless quiet). */
typedef int (*nft_put_fn)(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg);

static int build_and_send_logged(size_t size, uint32_t genid, nft_put_fn put, const void *arg,
				 bool quiet)
{
	struct mnl_nlmsg_batch *b;
	char why[512] = "";
	uint32_t seq = next_seq();
	void *buf = malloc(size);
	int err = -ENOMEM;

	if (!buf)
		return -ENOMEM;
	b = nft_batch_start(buf, size);
	if (b) {
		err = nft_put_begin(b, &seq, genid);
		if (!err)
			err = put(b, &seq, arg);
		if (!err)
			err = nft_put_end(b, &seq);
		if (err)
			pr_err("cannot build the nftables batch for table inet " NFT_TABLE_NAME
			       ": %s\n",
			       strerror(-err));
		else
			err = nft_batch_send(b, why, sizeof(why));
		if (err && err != -ERESTART && why[0]) {
			if (quiet)
				pr_debug("%s\n", why);
			else
				pr_err("%s\n", why);
		}
		mnl_nlmsg_batch_stop(b);
	}
	free(buf);
	return err;
}

static int build_and_send(size_t size, uint32_t genid, nft_put_fn put, const void *arg)
{
	return build_and_send_logged(size, genid, put, arg, false);
}

struct apply_arg {
	const struct tg_policy *policy;
	const struct nft_state *content;
};

static int put_apply(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct apply_arg *a = arg;

	return nft_put_table(b, seq, a->policy, a->content);
}

static const char *root_hint(int err)
{
	return err == -EPERM ? " (are you root?)" : "";
}

static int socket_error(const char *what)
{
	int err = -errno;

	pr_err("cannot open a netfilter netlink socket to %s: %s%s\n", what, strerror(-err),
	       root_hint(err));
	return err;
}

int nft_apply(const struct tg_policy *policy, const struct nft_owner *owners, size_t n)
{
	struct apply_arg arg = { .policy = policy };
	struct nft_state content = {}, old = {};
	struct mnl_socket *nl;
	uint32_t genid = 0;
	int err;

	if (!policy)
		return -EINVAL;
	err = nft_content_from_owners(owners, n, &content);
	if (err) {
		pr_err("cannot build table inet " NFT_TABLE_NAME ": %s\n", strerror(-err));
		return err;
	}
	/* Carry the counters over; a read failure only costs them. */
	nl = nft_socket();
	if (!nl) {
		err = socket_error("write table inet " NFT_TABLE_NAME);
		goto cleanup;
	}
	if (read_state(nl, false, &old, &genid) == 0) {
		content.other_tenant = old.other_tenant;
		content.service = old.service;
	}
	mnl_socket_close(nl);
	arg.content = &content;
	err = build_and_send(nft_batch_size(&content), 0, put_apply, &arg);
cleanup:
	nft_state_free(&old);
	nft_state_free(&content);
	return err;
}

static int put_remove(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	(void)arg;
	return nft_put_remove(b, seq);
}

int nft_remove(void)
{
	return build_and_send(4 * NFT_MSG_MAX, 0, put_remove, NULL);
}

int nft_table_present(bool *present, char *owner, size_t owner_len)
{
	struct nft_state st = {};
	struct mnl_socket *nl = nft_socket();
	uint32_t genid;
	int err;

	if (!nl)
		return socket_error("read table inet " NFT_TABLE_NAME);
	err = read_state(nl, false, &st, &genid);
	mnl_socket_close(nl);
	*present = !err && st.present;
	if (owner && owner_len)
		snprintf(owner, owner_len, "%s", err ? "" : st.owner);
	nft_state_free(&st);
	return err;
}

const char *nft_owner_name(void)
{
	return nft_owner;
}

void nft_set_owner(const char *pin_dir)
{
	size_t n;

	snprintf(nft_owner, sizeof(nft_owner), "%s", pin_dir ? pin_dir : "");
	n = strlen(nft_owner);
	while (n > 1 && nft_owner[n - 1] == '/')
		nft_owner[--n] = '\0';
}

int nft_read(struct nft_state *out)
{
	struct mnl_socket *nl;
	uint32_t genid;
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	nl = nft_socket();
	if (!nl)
		return socket_error("read table inet " NFT_TABLE_NAME);
	err = read_state(nl, true, out, &genid);
	mnl_socket_close(nl);
	if (err)
		pr_err("cannot read table inet " NFT_TABLE_NAME ": %s%s\n", strerror(-err),
		       root_hint(err));
	return err;
}

struct change_arg {
	const struct nft_state *add;
	const struct nft_state *del;
};

static int put_change(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct change_arg *c = arg;
	int err = nft_put_elements(b, seq, false, c->del);

	return err ? err : nft_put_elements(b, seq, true, c->add);
}

static int put_add(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct change_arg *c = arg;

	return nft_put_elements(b, seq, true, c->add);
}

static void report_drift(struct nft_sync_report *r, const char *what, const struct nft_state *c)
{
	if (!r)
		return;
	if (what[0] == 'm')
		r->added += c->n_owners + c->n_tunnel_ports + c->n_service_ports;
	else
		r->removed += c->n_owners + c->n_tunnel_ports + c->n_service_ports;
	if (!r->on_drift)
		return;
	for (size_t i = 0; i < c->n_owners; i++)
		r->on_drift(r->ctx, what, c->owners[i].tenant ? "owned" : "services",
			    c->owners[i].uid, c->owners[i].port);
	for (size_t i = 0; i < c->n_tunnel_ports; i++)
		r->on_drift(r->ctx, what, "tunnel_ports", 0, c->tunnel_ports[i]);
	for (size_t i = 0; i < c->n_service_ports; i++)
		r->on_drift(r->ctx, what, "service_ports", 0, c->service_ports[i]);
}

/* Tenant or service, as the table's own set tenant_uids says: the rules judge by that set, so the
 * owner sets must agree with it whatever policy the caller had in mind. */
static void classify(struct nft_owner *owners, size_t n, const struct nft_state *have)
{
	for (size_t i = 0; i < n; i++)
		owners[i].tenant = nft_state_is_tenant(have, owners[i].uid);
}

/* owners, classified by have. 0 or -errno. */
static int classified_content(const struct nft_owner *owners, size_t n,
			      const struct nft_state *have, struct nft_state *want)
{
	struct nft_owner *copy;
	int err;

	if (n > NFT_MAX_INPUT)
		return -E2BIG;
	copy = calloc(n + 1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, owners, n * sizeof(*copy));
	classify(copy, n, have);
	err = nft_content_from_owners(copy, n, want);
	free(copy);
	return err;
}

/* The owners of have, less del, plus add. */
static int edit_owners(const struct nft_state *have, const struct nft_owner *add, size_t nadd,
		       const struct nft_owner *del, size_t ndel, struct nft_state *want)
{
	struct nft_owner *all, *gone = NULL;
	size_t n = 0;
	int err = -ENOMEM;

	if (have->n_owners + nadd > NFT_MAX_INPUT || ndel > NFT_MAX_INPUT)
		return -E2BIG;
	all = calloc(have->n_owners + nadd + 1, sizeof(*all));
	gone = calloc(ndel + 1, sizeof(*gone));
	if (!all || !gone)
		goto cleanup;
	if (ndel)
		memcpy(gone, del, ndel * sizeof(*gone));
	qsort(gone, ndel, sizeof(*gone), nft_owner_pair_cmp);
	for (size_t i = 0; i < have->n_owners; i++)
		if (!bsearch(&have->owners[i], gone, ndel, sizeof(*gone), nft_owner_pair_cmp))
			all[n++] = have->owners[i];
	for (size_t i = 0; i < nadd; i++)
		all[n++] = add[i];
	classify(all, n, have);
	err = nft_content_from_owners(all, n, want);
cleanup:
	free(gone);
	free(all);
	return err;
}

/* ---- batches refused for their size ---- */

static int put_delete(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct change_arg *c = arg;

	return nft_put_elements(b, seq, false, c->del);
}

/* Elements per part when a batch is split. */
#define NFT_SPLIT_ELEMS 8192

static unsigned long long batches_split, batches_refused;

void nft_size_refusals(unsigned long long *split, unsigned long long *refused)
{
	*split = batches_split;
	*refused = batches_refused;
}

bool nft_refused_for_size(int err)
{
	/* EMSGSIZE: more than one netlink message can carry; ENOBUFS: the acks overflowed the
	 * socket; E2BIG and ERANGE: a set or the batch over a kernel limit. */
	return err == -EMSGSIZE || err == -ENOBUFS || err == -E2BIG || err == -ERANGE;
}

/* One slice of one array of c, as a content of its own (borrowing c's memory). */
static struct nft_state content_slice(const struct nft_state *c, int which, size_t first, size_t n)
{
	struct nft_state s = {};

	if (which == 0) {
		s.owners = c->owners + first;
		s.n_owners = n;
	} else if (which == 1) {
		s.tunnel_ports = c->tunnel_ports + first;
		s.n_tunnel_ports = n;
	} else {
		s.service_ports = c->service_ports + first;
		s.n_service_ports = n;
	}
	return s;
}

static size_t content_count(const struct nft_state *c, int which)
{
	return which == 0 ? c->n_owners : which == 1 ? c->n_tunnel_ports : c->n_service_ports;
}

/* Smallest part: below this a refusal is not about size. */
#define NFT_SPLIT_MIN_ELEMS 16

/*
 * Send array which (0 owners, 1 tunnel ports, 2 service ports) of c in parts of at most
 * NFT_SPLIT_ELEMS, halving a part the kernel still refuses for its size.
 */
static int send_parts(const struct nft_state *c, int which, bool add)
{
	size_t total = content_count(c, which), part_elems = NFT_SPLIT_ELEMS, first = 0;
	int first_err = 0;

	while (first < total) {
		size_t n = total - first < part_elems ? total - first : part_elems;
		struct nft_state part = content_slice(c, which, first, n);
		struct change_arg arg = { .add = &part, .del = &part };
		int err =
			build_and_send(nft_batch_size(&part), 0, add ? put_add : put_delete, &arg);

		if (nft_refused_for_size(err) && n > NFT_SPLIT_MIN_ELEMS) {
			part_elems = n / 2;
			continue;
		}
		if (err && nft_refused_for_size(err))
			batches_refused++;
		if (err && !first_err)
			first_err = err;
		first += n;
	}
	return first_err;
}

/*
 * A change the kernel refused for its size, sent again in parts. The parts are no longer one
 * transaction, so they go in the order that never lets more through than the end state: ports
 * join tunnel_ports and service_ports first, stale owners leave, new owners join, and ports
 * leave last. 0, or the first part's error (the others are still sent).
 */
static int send_split(const struct nft_state *add, const struct nft_state *del)
{
	int err, first_err = 0;

	batches_split++;
	pr_warn("nftables refused a batch of %zu element changes for its size: sending it in "
		"parts of at most %d\n",
		add->n_owners + add->n_tunnel_ports + add->n_service_ports + del->n_owners +
			del->n_tunnel_ports + del->n_service_ports,
		NFT_SPLIT_ELEMS);
	err = send_parts(add, 1, true);
	first_err = first_err ? first_err : err;
	err = send_parts(add, 2, true);
	first_err = first_err ? first_err : err;
	err = send_parts(del, 0, false);
	first_err = first_err ? first_err : err;
	err = send_parts(add, 0, true);
	first_err = first_err ? first_err : err;
	err = send_parts(del, 1, false);
	first_err = first_err ? first_err : err;
	err = send_parts(del, 2, false);
	first_err = first_err ? first_err : err;
	if (first_err)
		pr_err("nft sets incomplete: a part of the split batch failed too: %s\n",
		       strerror(-first_err));
	return first_err;
}

/*
 * The one path that changes elements: read the table at generation g, compute want from what
 * is there, send the difference as a batch valid only at g, and start over if the kernel says
 * the ruleset moved on (ERESTART).
 */
static int change_owners(const struct nft_owner *owners, size_t n, const struct nft_owner *add,
			 size_t nadd, const struct nft_owner *del, size_t ndel, bool edit,
			 bool dry_run, struct nft_sync_report *report)
{
	int err = -ERESTART;

	if ((n && !owners) || (nadd && !add) || (ndel && !del))
		return -EINVAL;
	for (int attempt = 0; attempt < NFT_ATTEMPTS && err == -ERESTART; attempt++) {
		struct nft_state have = {}, want = {}, plus = {}, minus = {};
		struct change_arg arg = { .add = &plus, .del = &minus };
		struct mnl_socket *nl = nft_socket();
		uint32_t genid = 0;

		if (!nl)
			return socket_error("change table inet " NFT_TABLE_NAME);
		err = read_state(nl, true, &have, &genid);
		mnl_socket_close(nl);
		if (err)
			pr_err("cannot read table inet " NFT_TABLE_NAME ": %s%s\n", strerror(-err),
			       root_hint(err));
		if (!err && !have.present) {
			/* For a drift check, absence is an answer; the caller words it. */
			if (!dry_run)
				pr_err("table inet " NFT_TABLE_NAME
				       " is not there (run tunnelguard load)\n");
			err = -ENOENT;
		}
		if (!err)
			err = edit ? edit_owners(&have, add, nadd, del, ndel, &want)
				   : classified_content(owners, n, &have, &want);
		if (!err)
			err = nft_content_diff(&have, &want, &plus, &minus);
		if (!err && !dry_run && !(content_empty(&plus) && content_empty(&minus)))
			err = build_and_send(nft_batch_size(&plus) + nft_batch_size(&minus), genid,
					     put_change, &arg);
		if (nft_refused_for_size(err))
			err = send_split(&plus, &minus);
		if (!err) {
			report_drift(report, "missing", &plus);
			report_drift(report, "stale", &minus);
		}
		nft_state_free(&have);
		nft_state_free(&want);
		nft_state_free(&plus);
		nft_state_free(&minus);
	}
	if (err == -ERESTART)
		pr_err("table inet " NFT_TABLE_NAME " kept changing under the update; gave up\n");
	return err;
}

int nft_update_owners(const struct nft_owner *add, size_t nadd, const struct nft_owner *del,
		      size_t ndel)
{
	struct nft_state plus = {};
	struct change_arg arg = { .add = &plus, .del = &plus };
	int err;

	if (ndel)
		return change_owners(NULL, 0, add, nadd, del, ndel, true, false, NULL);
	/*
	 * Additions alone need no read: adding a present element is a no-op, so a new tunnel is
	 * guarded after one batch however large the sets are. (A dump of a 50,000-element set
	 * costs the kernel about 0.2 s, since it walks the hash from the start for each part.)
	 */
	err = nft_content_from_owners(add, nadd, &plus);
	if (!err && !content_empty(&plus))
		err = build_and_send(nft_batch_size(&plus), 0, put_add, &arg);
	if (nft_refused_for_size(err)) {
		struct nft_state none = {};

		err = send_split(&plus, &none);
	}
	nft_state_free(&plus);
	return err;
}

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

int nft_delete_owners(const struct nft_owner *del, size_t ndel, const struct nft_owner *last,
		      size_t nlast)
{
	struct nft_state minus = {};
	struct change_arg arg = { .add = &minus, .del = &minus };
	int err;

	if ((ndel && !del) || (nlast && !last))
		return -EINVAL;
	err = nft_content_for_deletion(del, ndel, last, nlast, &minus);
	if (err || content_empty(&minus)) {
		nft_state_free(&minus);
		return err;
	}
	/* No read and no genid: deleting an element that is there is the same at any generation,
	 * and one that is not makes the kernel refuse the whole batch (ENOENT), which changes
	 * nothing. */
	err = build_and_send_logged(nft_batch_size(&minus), 0, put_delete, &arg, true);
	nft_state_free(&minus);
	if (!err)
		return 0;
	pr_debug("blind deletion of %zu owners refused (%s): reading the sets instead\n", ndel,
		 strerror(-err));
	return nft_update_owners(NULL, 0, del, ndel);
}

int nft_compare_owners(const struct nft_state *have, const struct nft_owner *owners, size_t n,
		       struct nft_sync_report *report)
{
	struct nft_state want = {}, plus = {}, minus = {};
	int err;

	if (!have->present)
		return -ENOENT;
	err = classified_content(owners, n, have, &want);
	if (!err)
		err = nft_content_diff(have, &want, &plus, &minus);
	if (!err) {
		report_drift(report, "missing", &plus);
		report_drift(report, "stale", &minus);
	}
	nft_state_free(&want);
	nft_state_free(&plus);
	nft_state_free(&minus);
	return err;
}

int nft_sync_owners(const struct nft_owner *owners, size_t n, bool dry_run,
		    struct nft_sync_report *report)
{
	return change_owners(owners, n, NULL, 0, NULL, 0, false, dry_run, report);
}
