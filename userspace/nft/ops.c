// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/ops.c - the public operations: apply, remove, read, and the changes of the owner sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nft.h"
#include "internal.h"

struct apply_arg {
	const struct tg_policy *policy;
	const struct nft_state *content;
	const char *guard_id;
};

static int put_apply(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg)
{
	const struct apply_arg *a = arg;

	return nft_put_table(b, seq, a->policy, a->content, a->guard_id);
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

int nft_apply(struct nft_handle *h, const struct tg_policy *policy, const struct nft_owner *owners,
	      size_t n)
{
	struct apply_arg arg = { .policy = policy, .guard_id = h->guard_id };
	struct nft_state content = {}, old = {};
	struct mnl_socket *nl;
	uint32_t genid = 0;
	int err;

	if (!policy)
		return -EINVAL;
	err = nft_content_from_owners(owners, n, &content);
	if (err) {
		pr_err("cannot build table inet tunnelguard: %s\n", strerror(-err));
		return err;
	}
	/* Carry the counters over; a read failure only costs them. */
	nl = nft_socket();
	if (!nl) {
		err = socket_error("write table inet tunnelguard");
		goto cleanup;
	}
	if (nft_read_state(h, nl, false, &old, &genid) == 0) {
		content.other_tenant = old.other_tenant;
		content.service = old.service;
	}
	mnl_socket_close(nl);
	arg.content = &content;
	content.n_policy_ranges = (size_t)policy->n_tenant + policy->n_exempt +
				  policy->n_allow_port + policy_allow_pairs(policy);
	err = nft_build_and_send(h, nft_batch_size(&content), 0, put_apply, &arg);
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

int nft_remove(struct nft_handle *h)
{
	return nft_build_and_send(h, 4 * TG_NFT_MSG_MAX, 0, put_remove, NULL);
}

int nft_table_present(struct nft_handle *h, bool *present, char *guard_id, size_t guard_id_len)
{
	struct nft_state st = {};
	struct mnl_socket *nl = nft_socket();
	uint32_t genid;
	int err;

	if (!nl)
		return socket_error("read table inet tunnelguard");
	err = nft_read_state(h, nl, false, &st, &genid);
	mnl_socket_close(nl);
	*present = !err && st.present;
	if (guard_id && guard_id_len)
		snprintf(guard_id, guard_id_len, "%s", err ? "" : st.guard_id);
	nft_state_free(&st);
	return err;
}

int nft_read(struct nft_handle *h, struct nft_state *out)
{
	struct mnl_socket *nl;
	uint32_t genid;
	int err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	nl = nft_socket();
	if (!nl)
		return socket_error("read table inet tunnelguard");
	err = nft_read_state(h, nl, true, out, &genid);
	mnl_socket_close(nl);
	if (err)
		pr_err("cannot read table inet tunnelguard: %s%s\n", strerror(-err),
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

static void report_drift(struct nft_sync_report *r, enum drift_kind kind, const struct nft_state *c)
{
	if (!r)
		return;
	if (kind == DRIFT_MISSING)
		r->added += c->n_owners + c->n_tunnel_ports + c->n_service_ports;
	else
		r->removed += c->n_owners + c->n_tunnel_ports + c->n_service_ports;
	if (!r->on_drift)
		return;
	for (size_t i = 0; i < c->n_owners; i++)
		r->on_drift(r->ctx, kind, c->owners[i].tenant ? "owned" : "services",
			    c->owners[i].uid, c->owners[i].port);
	for (size_t i = 0; i < c->n_tunnel_ports; i++)
		r->on_drift(r->ctx, kind, "tunnel_ports", 0, c->tunnel_ports[i]);
	for (size_t i = 0; i < c->n_service_ports; i++)
		r->on_drift(r->ctx, kind, "service_ports", 0, c->service_ports[i]);
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

	if (n > TG_NFT_MAX_INPUT)
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

	if (have->n_owners + nadd > TG_NFT_MAX_INPUT || ndel > TG_NFT_MAX_INPUT)
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
#define TG_NFT_SPLIT_ELEMS 8192

void nft_size_refusals(const struct nft_handle *h, unsigned long long *split,
		       unsigned long long *refused)
{
	*split = h->batches_split;
	*refused = h->batches_refused;
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
#define TG_NFT_SPLIT_MIN_ELEMS 16

/*
 * Send array which (0 owners, 1 tunnel ports, 2 service ports) of c in parts of at most
 * TG_NFT_SPLIT_ELEMS, halving a part the kernel still refuses for its size.
 */
static int send_parts(struct nft_handle *h, const struct nft_state *c, int which, bool add)
{
	size_t total = content_count(c, which), part_elems = TG_NFT_SPLIT_ELEMS, first = 0;
	int first_err = 0;

	while (first < total) {
		size_t n = total - first < part_elems ? total - first : part_elems;
		struct nft_state part = content_slice(c, which, first, n);
		struct change_arg arg = { .add = &part, .del = &part };
		int err = nft_build_and_send(h, nft_batch_size(&part), 0,
					     add ? put_add : put_delete, &arg);

		if (nft_refused_for_size(err) && n > TG_NFT_SPLIT_MIN_ELEMS) {
			part_elems = n / 2;
			continue;
		}
		if (err && nft_refused_for_size(err))
			h->batches_refused++;
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
static int send_split(struct nft_handle *h, const struct nft_state *add,
		      const struct nft_state *del)
{
	int err, first_err = 0;

	h->batches_split++;
	pr_warn("nftables refused a batch of %zu element changes for its size: sending it in parts of at most %d\n",
		add->n_owners + add->n_tunnel_ports + add->n_service_ports + del->n_owners +
			del->n_tunnel_ports + del->n_service_ports,
		TG_NFT_SPLIT_ELEMS);
	err = send_parts(h, add, 1, true);
	first_err = first_err ? first_err : err;
	err = send_parts(h, add, 2, true);
	first_err = first_err ? first_err : err;
	err = send_parts(h, del, 0, false);
	first_err = first_err ? first_err : err;
	err = send_parts(h, add, 0, true);
	first_err = first_err ? first_err : err;
	err = send_parts(h, del, 1, false);
	first_err = first_err ? first_err : err;
	err = send_parts(h, del, 2, false);
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
static int change_owners(struct nft_handle *h, const struct nft_owner *owners, size_t n,
			 const struct nft_owner *add, size_t nadd, const struct nft_owner *del,
			 size_t ndel, bool edit, bool dry_run, struct nft_sync_report *report)
{
	int err = -ERESTART;

	if ((n && !owners) || (nadd && !add) || (ndel && !del))
		return -EINVAL;
	for (int attempt = 0; attempt < TG_NFT_ATTEMPTS && err == -ERESTART; attempt++) {
		struct nft_state have = {}, want = {}, plus = {}, minus = {};
		struct change_arg arg = { .add = &plus, .del = &minus };
		struct mnl_socket *nl = nft_socket();
		uint32_t genid = 0;

		if (!nl)
			return socket_error("change table inet tunnelguard");
		err = nft_read_state(h, nl, true, &have, &genid);
		mnl_socket_close(nl);
		if (err)
			pr_err("cannot read table inet tunnelguard: %s%s\n", strerror(-err),
			       root_hint(err));
		if (!err && !have.present) {
			/* For a drift check, absence is an answer; the caller words it. */
			if (!dry_run)
				pr_err("table inet tunnelguard is not there (run tunnelguard load)\n");
			err = -ENOENT;
		}
		if (!err)
			err = edit ? edit_owners(&have, add, nadd, del, ndel, &want)
				   : classified_content(owners, n, &have, &want);
		if (!err)
			err = nft_content_diff(&have, &want, &plus, &minus);
		if (!err && !dry_run && !(nft_content_empty(&plus) && nft_content_empty(&minus)))
			err = nft_build_and_send(h, nft_batch_size(&plus) + nft_batch_size(&minus),
						 genid, put_change, &arg);
		if (nft_refused_for_size(err))
			err = send_split(h, &plus, &minus);
		if (!err) {
			report_drift(report, DRIFT_MISSING, &plus);
			report_drift(report, DRIFT_STALE, &minus);
		}
		nft_state_free(&have);
		nft_state_free(&want);
		nft_state_free(&plus);
		nft_state_free(&minus);
	}
	if (err == -ERESTART)
		pr_err("table inet tunnelguard kept changing under the update; gave up\n");
	return err;
}

int nft_update_owners(struct nft_handle *h, const struct nft_owner *add, size_t nadd,
		      const struct nft_owner *del, size_t ndel)
{
	struct nft_state plus = {};
	struct change_arg arg = { .add = &plus, .del = &plus };
	int err;

	if (ndel)
		return change_owners(h, NULL, 0, add, nadd, del, ndel, true, false, NULL);
	/*
	 * Additions alone need no read: adding a present element is a no-op, so a new tunnel is
	 * guarded after one batch however large the sets are. (A dump of a 50,000-element set
	 * costs the kernel about 0.2 s, since it walks the hash from the start for each part.)
	 */
	err = nft_content_from_owners(add, nadd, &plus);
	if (!err && !nft_content_empty(&plus))
		err = nft_build_and_send(h, nft_batch_size(&plus), 0, put_add, &arg);
	if (nft_refused_for_size(err)) {
		struct nft_state none = {};

		err = send_split(h, &plus, &none);
	}
	nft_state_free(&plus);
	return err;
}

int nft_delete_owners(struct nft_handle *h, const struct nft_owner *del, size_t ndel,
		      const struct nft_owner *last, size_t nlast)
{
	struct nft_state minus = {};
	struct change_arg arg = { .add = &minus, .del = &minus };
	int err;

	if ((ndel && !del) || (nlast && !last))
		return -EINVAL;
	err = nft_content_for_deletion(del, ndel, last, nlast, &minus);
	if (err || nft_content_empty(&minus)) {
		nft_state_free(&minus);
		return err;
	}
	/* No read and no genid: deleting an element that is there is the same at any generation,
	 * and one that is not makes the kernel refuse the whole batch (ENOENT), which changes
	 * nothing. */
	err = nft_build_and_send_logged(h, nft_batch_size(&minus), 0, put_delete, &arg, true);
	nft_state_free(&minus);
	if (!err)
		return 0;
	pr_debug("blind deletion of %zu owners refused (%s): reading the sets instead\n", ndel,
		 strerror(-err));
	return nft_update_owners(h, NULL, 0, del, ndel);
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
		report_drift(report, DRIFT_MISSING, &plus);
		report_drift(report, DRIFT_STALE, &minus);
	}
	nft_state_free(&want);
	nft_state_free(&plus);
	nft_state_free(&minus);
	return err;
}

int nft_sync_owners(struct nft_handle *h, const struct nft_owner *owners, size_t n, bool dry_run,
		    struct nft_sync_report *report)
{
	return change_owners(h, owners, n, NULL, 0, NULL, 0, false, dry_run, report);
}
