// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft/internal.h - what the parts of the nft layer share; nothing outside userspace/nft/
 * includes it (the public interface is nft.h).
 *
 * The parts, as in libmnl's and libnftnl's examples:
 *	content.c  the content algebra: owners and ports, sorted and unique, diffs, set keys
 *	build.c    pure builders that put libnftnl objects into a batch on a caller buffer
 *	rules.c    the rule compiler: the chain and its rules for a policy (pure, like build.c)
 *	reply.c    pure parsers that check every length of a reply before using it
 *	io.c       the only code that owns a socket: queries, the handle's batch socket, sending
 *	ops.c      the public operations (apply, remove, read, owner set changes)
 * Changes to the owner sets read the sets first and send only the difference, in a batch that
 * carries the ruleset generation it was computed against, so the kernel refuses it if anything
 * changed in between; the read and the diff are then redone.
 */
#ifndef TG_NFT_INTERNAL_H
#define TG_NFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "nft.h"

struct nftnl_udata_buf;

#define TG_NFT_FAMILY	     NFPROTO_INET
#define TG_NFT_CHAIN_NAME    "output"
#define TG_NFT_ELEMS_PER_MSG 1024
/* Worst case for one element in a message: nest, key nest, an 8-byte value, flags. */
#define TG_NFT_ELEM_BYTES 32
/* Table, counters, sets, chain and rules, with room to spare. */
#define TG_NFT_FIXED_BYTES   65536
#define TG_NFT_MAX_ERRNO     4095
#define TG_NFT_RECV_BUF_SIZE 32768
/* A batch refused because the ruleset changed meanwhile is recomputed this many times. */
#define TG_NFT_ATTEMPTS 5

/* The table's comment ends with this and the guard id (the pin dir of the guard that made it). */
#define TG_NFT_GUARD_MARK ", pin dir "

#define LOOPBACK_IFINDEX 1
#define TCP_FLAG_SYN	 0x02
#define TCP_FLAG_ACK	 0x10
#define TCP_FLAGS_OFFSET 13
#define TCP_DPORT_OFFSET 2

/* nftables' datatype numbers (what `nft` prints a key as); a concatenation packs 6 bits each. */
#define TG_NFT_DT_INET_PROTOCOL 12
#define TG_NFT_DT_INET_SERVICE	13
#define TG_NFT_DT_UID		24
#define TG_NFT_DT_CONCAT(a, b)	(((a) << 6) | (b))
/* nftables' byte order tags in set userdata. */
#define TG_NFT_BYTEORDER_HOST 1
#define TG_NFT_BYTEORDER_BIG  2

#define TG_NFT_COUNTER_OTHER_TENANT "tenant_to_tenant"
#define TG_NFT_COUNTER_SERVICE	    "tenant_to_service"
#define TG_NFT_AUDIT_PREFIX	    "tunnelguard audit: "

enum nft_set_index {
	SET_TENANT_UIDS,
	SET_ALLOW_PORTS,
	SET_OWNED,
	SET_SERVICES,
	SET_TUNNEL_PORTS,
	SET_SERVICE_PORTS,
	SET_ALLOWED, /* policy, not owners: the uid . port pairs of allow = USER:PORTS */
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

extern const struct nft_set_spec nft_sets[SET_COUNT];

/* One element of a set: its key and whether it ends an interval. */
struct nft_elem {
	uint8_t key[8];
	bool interval_end;
};

/* An inclusive range of uids or ports, wide enough to hold last + 1. */
struct nft_range {
	uint64_t first;
	uint64_t last;
};

struct parse_ctx {
	int err; /* first, as in struct nlreply_status: -errno a callback stopped the run with */
	const char *set;
	struct nft_state *out;
	uint32_t genid;
	bool got;
};

/* content.c */
uint32_t nft_set_id(enum nft_set_index i);
int nft_append_owner(struct nft_state *s, const struct nft_owner *o);
int nft_append_port(uint16_t **ports, size_t *n, uint16_t port);
int nft_append_bound(struct nft_state *s, uint32_t uid, bool end);
void nft_sort_content(struct nft_state *s);
bool nft_content_empty(const struct nft_state *c);
void nft_key_pair(uint8_t key[8], uint32_t uid, uint16_t port);
void nft_key_port(uint8_t key[8], uint16_t port);

/* build.c, for rules.c */
int nft_batch_commit(struct mnl_nlmsg_batch *b, uint32_t *seq);
struct nlmsghdr *nft_put_header(struct mnl_nlmsg_batch *b, uint16_t type, uint16_t flags,
				uint32_t seq);
struct nftnl_udata_buf *nft_comment_udata(uint8_t type, const char *comment, uint32_t byteorder);

/* rules.c, for build.c's nft_put_table() */
int nft_put_chain(struct mnl_nlmsg_batch *b, uint32_t *seq);
int nft_put_rules(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *p);

/* reply.c, for io.c's queries */
int nft_parse_reply(const void *buf, size_t len, uint16_t data_type, mnl_cb_t data_cb,
		    struct parse_ctx *ctx);
int nft_elements_cb(const struct nlmsghdr *nlh, void *data);
int nft_counters_cb(const struct nlmsghdr *nlh, void *data);
int nft_gen_cb(const struct nlmsghdr *nlh, void *data);
int nft_table_cb(const struct nlmsghdr *nlh, void *data);

/* io.c, for ops.c */
struct mnl_socket *nft_socket(void);
uint32_t nft_next_seq(struct nft_handle *h);
int nft_read_state(struct nft_handle *h, struct mnl_socket *nl, bool elements,
		   struct nft_state *out, uint32_t *genid);
/* Build a batch of the given size with put(), send it, and log what failed (unless quiet). */
typedef int (*nft_put_fn)(struct mnl_nlmsg_batch *b, uint32_t *seq, const void *arg);
int nft_build_and_send_logged(struct nft_handle *h, size_t size, uint32_t genid, nft_put_fn put,
			      const void *arg, bool quiet);
int nft_build_and_send(struct nft_handle *h, size_t size, uint32_t genid, nft_put_fn put,
		       const void *arg);

#endif /* TG_NFT_INTERNAL_H */
