// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/reply.c - pure reply parsing: acknowledgements, error descriptions, dumps of sets, counters
 * and the table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"
#include "internal.h"
#include "nlreply.h"

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
		snprintf(out, len, "apply a batch to table inet tunnelguard");
		return;
	}
	type = nlh->nlmsg_type;
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END ||
	    NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg)) {
		snprintf(out, len, "apply the batch to table inet tunnelguard");
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
	if (e->error > 0 || e->error < -TG_NFT_MAX_ERRNO)
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

/* Run data_cb over one buffer of a reply of data_type. 1 more expected, 0 done, or -errno. */
int nft_parse_reply(const void *buf, size_t len, uint16_t data_type, mnl_cb_t data_cb,
		    struct parse_ctx *ctx)
{
	mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		/* ctx starts with int err, as struct nlreply_status does */
		[NLMSG_DONE] = nlreply_done_cb,
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

int nft_elements_cb(const struct nlmsghdr *nlh, void *data)
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
			err = nft_append_bound(ctx->out, ntohl(uid_be), end);
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
			err = nft_append_owner(ctx->out, &o);
		} else if (key[0] != IPPROTO_TCP) {
			err = -EBADMSG;
		} else if (tenant) {
			err = nft_append_port(&ctx->out->tunnel_ports, &ctx->out->n_tunnel_ports,
					      ntohs(be));
		} else {
			err = nft_append_port(&ctx->out->service_ports, &ctx->out->n_service_ports,
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
	return nft_parse_reply(reply, len, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM,
			       nft_elements_cb, &ctx);
}

int nft_counters_cb(const struct nlmsghdr *nlh, void *data)
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
		if (!strcmp(name, TG_NFT_COUNTER_OTHER_TENANT))
			c = &ctx->out->other_tenant;
		else if (!strcmp(name, TG_NFT_COUNTER_SERVICE))
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

int nft_gen_cb(const struct nlmsghdr *nlh, void *data)
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

/* The pin dir named in the table's comment, "" when none (a table made for no guard). */
static void table_guard_id(const struct nlmsghdr *nlh, char *guard_id, size_t len)
{
	struct nftnl_table *t = nftnl_table_alloc();
	const char *comment = NULL, *mark;
	const void *ud;
	uint32_t ud_len = 0;

	guard_id[0] = '\0';
	if (!t || nftnl_table_nlmsg_parse(nlh, t) < 0 ||
	    !nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		goto out;
	ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &ud_len);
	if (ud && nftnl_udata_parse(ud, ud_len, table_udata_cb, &comment) >= 0 && comment) {
		mark = strstr(comment, TG_NFT_GUARD_MARK);
		if (mark)
			snprintf(guard_id, len, "%s", mark + strlen(TG_NFT_GUARD_MARK));
	}
out:
	nftnl_table_free(t);
}

int nft_table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;

	ctx->got = true;
	if (ctx->out)
		table_guard_id(nlh, ctx->out->guard_id, sizeof(ctx->out->guard_id));
	return MNL_CB_STOP;
}
