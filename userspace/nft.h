// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft.h - the nftables layer: a second wall, built on netfilter instead of cgroup BPF, that
 * resets a tenant's TCP connection opening to a local port the policy does not let it reach.
 *
 * Everything lives in one table, `inet tunnelguard`, written from libnftnl objects sent over
 * libmnl. Every change is one atomic netlink batch: the kernel applies all of it or none of it.
 * With the config
 *	tenant-uids = 2001-2003
 *	allow-ports = 53
 * and two listeners, tenant 2001's `ssh -R 8001:...` (127.0.0.1:8001 and [::1]:8001) and root's
 * sshd on port 22, nft_apply() leaves (`nft list table inet tunnelguard`, abridged):
 *
 *	table inet tunnelguard {
 *		counter tenant_to_tenant { packets 0 bytes 0 }
 *		counter tenant_to_service { packets 0 bytes 0 }
 *		set tenant_uids { type uid; flags interval; elements = { 2001-2003 } }
 *		set allow_ports { type inet_service; flags interval; elements = { 53 } }
 *		set owned { type uid . inet_service; elements = { 2001 . 8001 } }
 *		set services { type uid . inet_service; elements = { 0 . 22 } }
 *		set tunnel_ports { type inet_proto . inet_service; elements = { tcp . 8001 } }
 *		set service_ports { type inet_proto . inet_service; elements = { tcp . 22 } }
 *		set allowed { type uid . inet_service; elements = { 2002 . 8001 } }
 *		chain output {
 *			type filter hook output priority filter; policy accept;
 *			oif != "lo" accept
 *			tcp flags != syn / syn,ack accept
 *			meta l4proto != tcp accept
 *			meta skuid != @tenant_uids accept
 *			tcp dport @allow_ports accept
 *			meta skuid . tcp dport @allowed accept
 *			meta skuid . tcp dport @owned accept
 *			meta l4proto . tcp dport @tunnel_ports counter name "tenant_to_tenant"
 *				reject with tcp reset
 *		}
 *	}
 *
 * so a SYN from uid 2002 to port 8001 is answered with a TCP reset (connect() fails with
 * ECONNREFUSED) while 2001's own and root's connects pass. `allow = USER:PORTS` lines are the
 * set allowed, one uid . port element per port they grant (here allow = 2002:8001), so any
 * number of them costs one lookup. Policy strict adds a rule that resets tenants' SYNs to
 * @service_ports too; mode audit replaces each reset with `log prefix "tunnelguard audit: "
 * accept`. Traffic that leaves the host is out
 *after one comparison; established TCP on lo after three (oif, protocol, flags); a non-tenant's SYN
 * after four and one lookup in the interval set tenant_uids.
 *
 * What the nft layer judges is coarser than the BPF layer: it sees ports, not listener
 * addresses (a port any tenant owns on any address counts as a tunnel), and the caller is the
 * socket's owner (`meta skuid`, the creator's fsuid), not the task that calls connect().
 */
#ifndef TG_NFT_H
#define TG_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tg_policy.h"

#include "policy.h"

#include "drift.h"

struct mnl_nlmsg_batch;
struct mnl_socket;

#define TG_NFT_TABLE_NAME "tunnelguard" /* in family inet */

/* Most distinct listener owners the layer takes: as many as the largest port_owner map
 * (CFG_PORT_OWNER_MAX_HIGHEST); an input list may hold each several times (one per address). */
#define TG_NFT_MAX_OWNERS (1u << 22)
#define TG_NFT_MAX_INPUT  (4 * (size_t)TG_NFT_MAX_OWNERS)

/*
 * The owner of local TCP listeners on a port, e.g. tenant 2001's `ssh -R 8001:...`:
 *	{ .uid = 2001, .port = 8001, .tenant = true }
 * From a tg_port_owner entry: { .uid = owner.uid, .port = key.port,
 * .tenant = policy_is_tenant(policy, owner.uid) }; the address is not part of it, and one entry
 * stands for every listener of that uid on that port. Duplicates are allowed in input.
 */
struct nft_owner {
	uint32_t uid;
	uint16_t port; /* host byte order */
	bool tenant;   /* policy_is_tenant(): its port is a tunnel, not a hub service */
};

/* The owner entry of a listener of uid on port, e.g. from a tg_port_owner entry:
 * nft_owner_of(&policy, owner.uid, key.port) or from sock_diag: nft_owner_of(&policy, l->uid,
 * l->port). */
static inline struct nft_owner nft_owner_of(const struct tg_policy *policy, uint32_t uid,
					    uint16_t port)
{
	return (struct nft_owner){ .uid = uid,
				   .port = port,
				   .tenant = policy_is_tenant(policy, uid) };
}

/* One boundary of the interval set tenant_uids as the kernel stores it: a range [a, b] is a
 * start at a and an end at b + 1 (none when b is the top uid). */
struct nft_bound {
	uint32_t uid;
	bool end;
};

/* qsort/bsearch order of owners by uid and port only, whatever their kind: a pair names the
 * listeners of one uid on one port, as a deletion does. */
int nft_owner_pair_cmp(const void *a, const void *b);

struct nft_counter {
	uint64_t packets;
	uint64_t bytes;
};

/*
 * What the kernel holds in table inet tunnelguard, e.g. right after the apply in the example:
 *	{ .present = true,
 *	  .owners = { { 0, 22, false }, { 2001, 8001, true } }, .n_owners = 2,
 *	  .tunnel_ports = { 8001 }, .n_tunnel_ports = 1,
 *	  .service_ports = { 22 }, .n_service_ports = 1,
 *	  .other_tenant = { 0, 0 }, .service = { 0, 0 } }
 * owners holds set owned (tenant = true) and set services (tenant = false), sorted by uid, port
 * and tenant; the port arrays are sorted. other_tenant and service are the counters of the
 * tenant-to-tenant and tenant-to-service rules (what was reset, or in audit mode what would
 * have been); they survive an nft_apply() over a loaded table.
 */
struct nft_state {
	bool present; /* the table exists */
	struct nft_owner *owners;
	size_t n_owners;
	uint16_t *tunnel_ports;
	size_t n_tunnel_ports;
	uint16_t *service_ports;
	size_t n_service_ports;
	/* uid and port ranges and allow rules of the policy a batch writes (sizes the batch) */
	size_t n_policy_ranges;
	struct nft_counter other_tenant;
	struct nft_counter service;
	char guard_id[200]; /* pin dir of the guard that made the table (its comment), or "" */
	struct nft_bound *tenant_bounds; /* set tenant_uids, sorted (nft_read() only) */
	size_t n_tenant_bounds;
};

/*
 * One guard's way into the nft layer, passed to every call that talks to the kernel:
 *	struct nft_handle nft;
 *	nft_handle_init(&nft, "/sys/fs/bpf/tunnelguard");
 *	nft_apply(&nft, &policy, owners, n);
 *	nft_handle_close(&nft);
 * guard_id names the guard it acts for (a guard is known by its pin dir): nft_apply() writes it
 * into the table's comment ("tunnelguard: policy isolate, mode enforce, pin dir
 * /sys/fs/bpf/tunnelguard"), so that a second guard in the same network namespace (one table per
 * namespace) can see the table is not its own. It is not an "owner" in the nft_owner sense (the
 * uid of a listener).
 *
 * The handle keeps the socket batches go through open across batches: closing a netfilter socket
 * makes the kernel finish freeing the last transaction's deleted elements first (an RCU grace
 * period, 4-16 ms here), which would hold up the daemon's next event. A forked child or an
 * unshare() gets a socket of its own. It also counts the batches refused for their size.
 */
struct nft_handle {
	char guard_id[192];	     /* normalised pin dir (no trailing slash), "" for none */
	struct mnl_socket *batch_nl; /* NULL until the first batch */
	pid_t batch_nl_pid;
	dev_t batch_nl_netns_dev;
	ino_t batch_nl_netns_ino;
	uint32_t seq;			  /* last sequence number handed out, 0: none yet */
	unsigned long long batches_split; /* see nft_size_refusals() */
	unsigned long long batches_refused;
};

/* Act for the guard of pin_dir (NULL or "": no guard); trailing slashes are dropped. Opens
 * nothing. A zeroed handle is the same as one initialised for no guard. */
void nft_handle_init(struct nft_handle *h, const char *pin_dir);

/* Close the handle's socket, if any. The handle may be initialised again. */
void nft_handle_close(struct nft_handle *h);

/* Is uid in the table's set tenant_uids (the tenants the nft rules restrict)? */
bool nft_state_is_tenant(const struct nft_state *s, uint32_t uid);

/* The set tenant_uids as ranges, e.g. { { 2001, 2003 } }; writes at most max, returns how many
 * there are. */
size_t nft_state_tenant_ranges(const struct nft_state *s, struct tg_uid_range *out, size_t max);

/*
 * Create table inet tunnelguard, or replace it whole, for the policy and the listeners' owners:
 * one batch deletes the table if it exists and builds the new one, so a batch the kernel
 * refuses leaves the previous table in force. Counters carry over. Example, the table above:
 *	nft_apply(h, &policy, (struct nft_owner[]){ { 2001, 8001, true }, { 2001, 8001, true },
 *		  { 0, 22, false } }, 3)
 * 0, or -errno (the failing object is logged: "cannot add set owned to table inet
 * tunnelguard: File exists").
 */
int nft_apply(struct nft_handle *h, const struct tg_policy *policy, const struct nft_owner *owners,
	      size_t n);

/*
 * Change the owner sets in one batch of element additions and deletions (no rebuild). add:
 * owners that appeared; del: owners (uid and port) none of whose listeners remain. A port
 * leaves tunnel_ports or service_ports only when no owner of it remains, so a deletion reads
 * the sets first (about 0.3 s of CPU at 50,000 owners); additions alone are one small batch.
 * Adding a present owner or deleting an absent one changes nothing. Example, tenant 2003
 * starts `ssh -R 8003:...`:
 *	nft_update_owners(h, &(struct nft_owner){ 2003, 8003, true }, 1, NULL, 0)
 * 0, -ENOENT when the table is absent, or -errno.
 */
int nft_update_owners(struct nft_handle *h, const struct nft_owner *add, size_t nadd,
		      const struct nft_owner *del, size_t ndel);

/*
 * Delete owners without reading the sets, for a caller that knows what they hold (the daemon's
 * owner index): one batch deletes each pair of del from owned or services (by its tenant flag),
 * and the port of each owner of last (owners of del that were the last of their kind on their
 * port) from tunnel_ports or service_ports; the other ports of del stay. When the kernel refuses
 * the batch (ENOENT: an element was not there, so the caller's view was off), nothing changed
 * and nft_update_owners(h, NULL, 0, del, ndel) decides from the sets instead. Example, tenant
 * 2001's last listener on 8001 closes while 2002 still listens on 127.0.0.2:8001:
 *	nft_delete_owners(h, &(struct nft_owner){ 2001, 8001, true }, 1, NULL, 0)
 * deletes 2001 . 8001 from owned and keeps tcp . 8001 in tunnel_ports. 0 or -errno.
 */
int nft_delete_owners(struct nft_handle *h, const struct nft_owner *del, size_t ndel,
		      const struct nft_owner *last, size_t nlast);

/* Called for each disagreement nft_sync_owners() finds: DRIFT_MISSING (the set lacks it) or
 * DRIFT_STALE (the set has it, no listener does). uid is 0 for tunnel_ports and service_ports. */
typedef void (*nft_drift_fn)(void *ctx, enum drift_kind kind, const char *set, uint32_t uid,
			     uint16_t port);

struct nft_sync_report {
	size_t added;	       /* elements the sets lacked */
	size_t removed;	       /* elements the sets had but no listener owns */
	nft_drift_fn on_drift; /* optional */
	void *ctx;
};

/*
 * Make the owner sets hold exactly owners (the live listeners' owners, e.g. from tg_port_owner),
 * in one batch of element changes. With dry_run nothing is written: the report is the drift.
 * Example: after `nft delete element inet tunnelguard owned { 2001 . 8001 }`, a dry run calls
 *	on_drift(ctx, "missing", "owned", 2001, 8001)
 * 0, -ENOENT when the table is absent (logged unless dry_run), or -errno.
 */
int nft_sync_owners(struct nft_handle *h, const struct nft_owner *owners, size_t n, bool dry_run,
		    struct nft_sync_report *report);

/* The dry run of nft_sync_owners() against a table already read with nft_read(), so that a
 * caller that has it does not read the sets twice. 0, -ENOENT (no table) or -errno. */
int nft_compare_owners(const struct nft_state *have, const struct nft_owner *owners, size_t n,
		       struct nft_sync_report *report);

/*
 * An element change the kernel refuses for its size (nft_refused_for_size(): EMSGSIZE, ENOBUFS,
 * E2BIG, ERANGE) is sent again in parts of at most 8192 elements (halved while still refused,
 * down to 16), in an order that never lets more through than the end state. How many batches
 * were split, and how many parts were refused even so (the sets are then incomplete), through
 * handle h since it was initialised.
 */
void nft_size_refusals(const struct nft_handle *h, unsigned long long *split,
		       unsigned long long *refused);
bool nft_refused_for_size(int err);

/* Delete table inet tunnelguard, and nothing else. An absent table is not an error. 0/-errno. */
int nft_remove(struct nft_handle *h);

/* Does table inet tunnelguard exist (one cheap query, no elements), and which guard made it
 * (guard_id, may be NULL: the pin dir in its comment, "" for none)? 0 or -errno. */
int nft_table_present(struct nft_handle *h, bool *present, char *guard_id, size_t guard_id_len);

/* Read the table: out->present false and the rest empty when it is absent. 0 or -errno. */
int nft_read(struct nft_handle *h, struct nft_state *out);

void nft_state_free(struct nft_state *state);

/*
 * Building blocks, exposed for the tests. Builders are pure: they write netlink messages into a
 * batch on a caller buffer and touch nothing else. A batch starts with nft_batch_start(), then
 * nft_put_begin(), one or more nft_put_*(), nft_put_end(); *seq is the next message's sequence
 * number and is advanced. Every builder returns 0, -EMSGSIZE when the buffer is full (nothing
 * beyond the buffer is written), -ENOMEM, or -EINVAL.
 */

/* Largest single message a builder writes; a batch buffer must be larger than this. */
#define TG_NFT_MSG_MAX 65536

/* A batch on buf[0..size): messages are accepted while they end before size - TG_NFT_MSG_MAX.
 * NULL with errno EINVAL when size <= TG_NFT_MSG_MAX. Free with mnl_nlmsg_batch_stop(). */
struct mnl_nlmsg_batch *nft_batch_start(void *buf, size_t size);

/* Buffer size nft_apply() uses for a table with these contents. */
size_t nft_batch_size(const struct nft_state *content);

/* genid non-zero: the kernel refuses the batch with ERESTART if the ruleset changed since. */
int nft_put_begin(struct mnl_nlmsg_batch *b, uint32_t *seq, uint32_t genid);
int nft_put_end(struct mnl_nlmsg_batch *b, uint32_t *seq);

/* Delete-if-exists and create the table with its sets, counters (starting at content's), chain
 * and rules, and content's owner elements; guard_id (may be NULL or "") goes into its comment. */
int nft_put_table(struct mnl_nlmsg_batch *b, uint32_t *seq, const struct tg_policy *policy,
		  const struct nft_state *content, const char *guard_id);

/* Delete-if-exists the table. */
int nft_put_remove(struct mnl_nlmsg_batch *b, uint32_t *seq);

/* Add (add = true) or delete every element of content in the owner sets; 1024 per message. */
int nft_put_elements(struct mnl_nlmsg_batch *b, uint32_t *seq, bool add,
		     const struct nft_state *content);

/*
 * The contents of the owner sets for a list of owners: deduplicated, sorted, ports derived.
 * Counters and present are zero. 0, -E2BIG beyond TG_NFT_MAX_OWNERS, or -ENOMEM.
 */
int nft_content_from_owners(const struct nft_owner *owners, size_t n, struct nft_state *out);

/*
 * The contents of a deletion by nft_delete_owners(): the pairs of del, and only the ports of
 * last. E.g. del = { { 2001, 8001, true }, { 0, 22, false } }, last = { { 0, 22, false } } ->
 * owners both, tunnel_ports none, service_ports { 22 }. 0, -E2BIG, or -ENOMEM.
 */
int nft_content_for_deletion(const struct nft_owner *del, size_t ndel, const struct nft_owner *last,
			     size_t nlast, struct nft_state *out);

/* What to add to and delete from have to reach want. 0 or -ENOMEM. */
int nft_content_diff(const struct nft_state *have, const struct nft_state *want,
		     struct nft_state *add, struct nft_state *del);

/*
 * Send a batch and read every acknowledgement. 0 when the kernel applied the whole batch;
 * otherwise -errno of the first failure, with why[] naming it, e.g. "cannot add set owned to
 * table inet tunnelguard: File exists".
 */
int nft_batch_send(struct nft_handle *h, struct mnl_nlmsg_batch *b, char *why, size_t why_len);

/*
 * Check one buffer of acknowledgements to a batch (batch[0..batch_len), as sent). Counts the
 * positive ones in *acked. 0, -errno of the first error (why[] names the message), or -EBADMSG
 * for a reply that is truncated, misaligned or not about this batch. Never reads past len.
 */
int nft_parse_acks(const void *reply, size_t len, const void *batch, size_t batch_len,
		   size_t *acked, char *why, size_t why_len);

/*
 * Append the elements of one buffer of a set element dump of set `set` to out. 1 when more is
 * expected, 0 at the end, -EBADMSG for a malformed reply, -errno from the kernel.
 */
int nft_parse_elements(const void *reply, size_t len, const char *set, struct nft_state *out);

#endif /* TG_NFT_H */
