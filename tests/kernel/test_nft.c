// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nftables layer alone (no BPF program) on the real kernel: tenant-to-tenant connection
 * openings are reset over IPv4 and IPv6 while own, root and hub service connects pass; element
 * updates follow listeners; remove touches no other table; a batch the kernel refuses leaves
 * the previous table in force. Needs root; each test runs in its own network namespace, and
 * nftables rulesets are per namespace, so the host's ruleset is never touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"

#include "fixture.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define TENANT_C 2003
#define SERVICE	 2999 /* not a tenant: a hub service account */

static const struct tg_policy isolate = {
	.mode = TG_MODE_ENFORCE,
	.policy = TG_POLICY_ISOLATE,
	.deny_errno = 111,
	.n_tenant = 1,
	.tenant = (struct tg_uid_range[]){ { TENANT_A, TENANT_C } },
	.n_allow_port = 1,
	.allow_port = (struct tg_port_range[]){ { 8053, 8053 } },
};

/* The nft layer as no guard: the tables these tests make name no pin dir. */
static struct nft_handle nft_h;

static void setup(void)
{
	static const uid_t uids[] = { TENANT_A, TENANT_B, TENANT_C, SERVICE };

	if (geteuid() != 0)
		cr_skip_test("nft kernel tests need root (CAP_NET_ADMIN)");
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++)
		cr_assert_null(getpwuid(uids[i]),
			       "test uid %u belongs to a real account; tests refuse to run",
			       uids[i]);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(fx_link_up("lo"), 0, "cannot bring lo up in the test netns");
	nft_handle_init(&nft_h, NULL);
	if (nft_remove(&nft_h) != 0)
		cr_skip_test("nf_tables is not usable in a network namespace here");
}

/*
 * Listeners still running when a test stops early. Their parent-death signal does not help:
 * setresuid() to the test uid clears it, so teardown kills them (criterion runs .fini after a
 * failed assertion too).
 */
static pid_t running[16];

static struct fx_listener listen_as(uid_t uid, const char *addr, uint16_t port, bool v6only)
{
	struct fx_listener l = fx_listen(uid, addr, port, v6only);

	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
		if (running[i] == 0) {
			running[i] = l.pid;
			return l;
		}
	}
	cr_assert_fail("more than %zu listeners", sizeof(running) / sizeof(running[0]));
	return l;
}

static void listener_stop(struct fx_listener *l)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (running[i] == l->pid)
			running[i] = 0;
	fx_listener_stop(l);
}

static void teardown(void)
{
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
		struct fx_listener l = { .pid = running[i] };

		listener_stop(&l);
	}
	nft_handle_close(&nft_h);
}

/*
 * connect() as uid (no cgroup: only the nft layer judges), from src_port when non-zero, then
 * wait for the listener's FIN (the test listeners close at once), so that the listener's own
 * packets to the caller are checked too. 0 on success, or the errno that connect() failed with
 * (ETIMEDOUT when no FIN came).
 */
static int connect_from(uid_t uid, int family, const char *addr, uint16_t port, uint16_t src_port)
{
	struct timeval timeout = { .tv_sec = 2 };
	struct sockaddr_storage ss, src;
	int status, fd, one = 1;
	socklen_t len;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fx_drop_to(uid);
		len = fx_make_addr(family, addr, port, &ss);
		fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0 || !len)
			_exit(CHILD_SETUP_FAILED);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		if (src_port) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&src,
				 fx_make_addr(family, addr, src_port, &src)) < 0)
				_exit(CHILD_SETUP_FAILED);
		}
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			_exit(errno);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
		_exit(recv(fd, &one, sizeof(one), 0) == 0 ? 0 : ETIMEDOUT);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(WIFEXITED(status), "connector uid %u to %s:%u crashed", uid, addr, port);
	cr_assert_neq(WEXITSTATUS(status), CHILD_SETUP_FAILED,
		      "connector uid %u to %s:%u could not set itself up", uid, addr, port);
	return WEXITSTATUS(status);
}

static int connect_as(uid_t uid, int family, const char *addr, uint16_t port)
{
	return connect_from(uid, family, addr, port, 0);
}

static void need_nft_cli(void)
{
	if (access("/usr/sbin/nft", X_OK) != 0)
		cr_skip_test("the nft command (Debian package nftables) is not installed");
}

static bool has_owner(const struct nft_state *st, uint32_t uid, uint16_t port, bool tenant)
{
	for (size_t i = 0; i < st->n_owners; i++)
		if (st->owners[i].uid == uid && st->owners[i].port == port &&
		    st->owners[i].tenant == tenant)
			return true;
	return false;
}

static bool has_port(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static struct nft_state read_state(void)
{
	struct nft_state st;

	cr_assert_eq(nft_read(&nft_h, &st), 0, "nft_read failed");
	return st;
}

struct connect_case {
	const char *name;
	uid_t caller;
	int family;
	const char *addr;
	uint16_t port;
	uint16_t src_port; /* 0: any */
	int expect_errno;  /* 0: the connect succeeds */
};

static void run_cases(const struct connect_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct connect_case *c = &cases[i];
		int got = connect_from(c->caller, c->family, c->addr, c->port, c->src_port);

		cr_expect_eq(got, c->expect_errno, "%s: connect gave %s (%d), expected %s (%d)",
			     c->name, strerror(got), got, strerror(c->expect_errno),
			     c->expect_errno);
	}
}

Test(nft, resets_tenant_to_tenant_over_ipv4_and_ipv6, .init = setup, .fini = teardown)
{
	static const struct connect_case cases[] = {
		{ "B to A's tunnel, IPv4", TENANT_B, AF_INET, "127.0.0.1", 8001, 0, ECONNREFUSED },
		{ "B to A's tunnel, IPv6", TENANT_B, AF_INET6, "::1", 8001, 0, ECONNREFUSED },
		{ "A to its own tunnel, IPv4", TENANT_A, AF_INET, "127.0.0.1", 8001, 0, 0 },
		{ "A to its own tunnel, IPv6", TENANT_A, AF_INET6, "::1", 8001, 0, 0 },
		{ "root to A's tunnel, IPv4", 0, AF_INET, "127.0.0.1", 8001, 0, 0 },
		{ "root to A's tunnel, IPv6", 0, AF_INET6, "::1", 8001, 0, 0 },
		{ "service uid to A's tunnel", SERVICE, AF_INET, "127.0.0.1", 8001, 0, 0 },
		{ "B to a hub service, isolate", TENANT_B, AF_INET, "127.0.0.1", 8022, 0, 0 },
		{ "B to an allow-port", TENANT_B, AF_INET, "127.0.0.1", 8053, 0, 0 },
		/* A's SYN-ACK and FIN go to port 8002, C's tunnel: replies are not judged. */
		{ "root from C's port to A's tunnel", 0, AF_INET, "127.0.0.1", 8001, 8002, 0 },
	};
	static const struct nft_owner owners[] = {
		{ TENANT_A, 8001, true }, { TENANT_A, 8001, true }, { TENANT_C, 8002, true },
		{ 0, 8022, false },	  { TENANT_C, 8053, true },
	};
	struct fx_listener a4 = listen_as(TENANT_A, "127.0.0.1", 8001, false);
	struct fx_listener a6 = listen_as(TENANT_A, "::1", 8001, true);
	struct fx_listener c6 = listen_as(TENANT_C, "::1", 8002, true);
	struct fx_listener svc = listen_as(0, "127.0.0.1", 8022, false);
	struct fx_listener allow = listen_as(TENANT_C, "127.0.0.1", 8053, false);
	struct nft_state st;

	/* Without the table every connect works: the cases below are the nft layer's doing. */
	cr_assert_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), 0);
	cr_assert_eq(nft_apply(&nft_h, &isolate, owners, sizeof(owners) / sizeof(owners[0])), 0);
	st = read_state();
	cr_expect(st.present);
	cr_expect_eq(st.n_owners, 4, "owners: %zu", st.n_owners);
	cr_expect(has_owner(&st, TENANT_A, 8001, true) && has_owner(&st, 0, 8022, false));
	cr_expect_eq(st.other_tenant.packets, 0);
	nft_state_free(&st);

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));

	st = read_state();
	cr_expect_eq(st.other_tenant.packets, 2, "tenant_to_tenant counted %lu SYNs, expected 2",
		     (unsigned long)st.other_tenant.packets);
	cr_expect_eq(st.service.packets, 0);
	nft_state_free(&st);

	/* A new policy replaces the table whole; the counts carry over. */
	struct tg_policy strict = isolate;

	strict.policy = TG_POLICY_STRICT;
	cr_assert_eq(nft_apply(&nft_h, &strict, owners, sizeof(owners) / sizeof(owners[0])), 0);
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8022), ECONNREFUSED,
		     "strict: B to a hub service");
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8053), 0, "strict: allow-port");
	cr_expect_eq(connect_as(SERVICE, AF_INET, "127.0.0.1", 8022), 0, "strict: non-tenant");
	st = read_state();
	cr_expect_eq(st.other_tenant.packets, 2, "counter lost across apply");
	cr_expect_eq(st.service.packets, 1);
	nft_state_free(&st);
	listener_stop(&a4);
	listener_stop(&a6);
	listener_stop(&c6);
	listener_stop(&svc);
	listener_stop(&allow);
}

Test(nft, audit_counts_and_does_not_reset, .init = setup, .fini = teardown)
{
	static const struct nft_owner owners[] = { { TENANT_A, 8001, true } };
	struct fx_listener a = listen_as(TENANT_A, "127.0.0.1", 8001, false);
	struct tg_policy audit = isolate;
	struct nft_state st;

	audit.mode = TG_MODE_AUDIT;
	cr_assert_eq(nft_apply(&nft_h, &audit, owners, 1), 0);
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), 0, "audit must not reset");
	cr_expect_eq(connect_as(TENANT_B, AF_INET6, "::ffff:127.0.0.1", 8001), 0);
	st = read_state();
	cr_expect_eq(st.other_tenant.packets, 2, "audit counted %lu, expected 2",
		     (unsigned long)st.other_tenant.packets);
	nft_state_free(&st);
	listener_stop(&a);
}

Test(nft, update_owners_follows_listeners, .init = setup, .fini = teardown)
{
	struct fx_listener a, c, svc;
	struct nft_state st;

	cr_assert_eq(nft_apply(&nft_h, &isolate, NULL, 0), 0);
	a = listen_as(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), 0, "not yet told");

	cr_assert_eq(
		nft_update_owners(&nft_h, &(struct nft_owner){ TENANT_A, 8001, true }, 1, NULL, 0),
		0);
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	cr_expect_eq(connect_as(TENANT_A, AF_INET, "127.0.0.1", 8001), 0);
	/* Adding again is a no-op, not an error. */
	cr_assert_eq(
		nft_update_owners(&nft_h, &(struct nft_owner){ TENANT_A, 8001, true }, 1, NULL, 0),
		0);

	/* C on the same port at another address: 8001 stays a tunnel port when A leaves. */
	c = listen_as(TENANT_C, "::1", 8001, true);
	cr_assert_eq(
		nft_update_owners(&nft_h, &(struct nft_owner){ TENANT_C, 8001, true }, 1, NULL, 0),
		0);
	listener_stop(&a);
	cr_assert_eq(
		nft_update_owners(&nft_h, NULL, 0, &(struct nft_owner){ TENANT_A, 8001, true }, 1),
		0);
	st = read_state();
	cr_expect(!has_owner(&st, TENANT_A, 8001, true), "A's pair stayed");
	cr_expect(has_owner(&st, TENANT_C, 8001, true), "C's pair went");
	cr_expect(has_port(st.tunnel_ports, st.n_tunnel_ports, 8001), "8001 left tunnel_ports");
	nft_state_free(&st);
	cr_expect_eq(connect_as(TENANT_B, AF_INET6, "::1", 8001), ECONNREFUSED);
	cr_expect_eq(connect_as(TENANT_A, AF_INET6, "::1", 8001), ECONNREFUSED,
		     "A no longer owns 8001");
	cr_expect_eq(connect_as(TENANT_C, AF_INET6, "::1", 8001), 0);

	/* C leaves; a hub service takes the port, in one batch. */
	listener_stop(&c);
	svc = listen_as(0, "127.0.0.1", 8001, false);
	cr_assert_eq(nft_update_owners(&nft_h, &(struct nft_owner){ 0, 8001, false }, 1,
				       &(struct nft_owner){ TENANT_C, 8001, true }, 1),
		     0);
	st = read_state();
	cr_expect_eq(st.n_owners, 1);
	cr_expect(has_owner(&st, 0, 8001, false));
	cr_expect_eq(st.n_tunnel_ports, 0, "tunnel_ports still holds %zu", st.n_tunnel_ports);
	cr_expect(has_port(st.service_ports, st.n_service_ports, 8001));
	nft_state_free(&st);
	cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), 0, "isolate: service open");
	/* Deleting an absent owner changes nothing. */
	cr_expect_eq(
		nft_update_owners(&nft_h, NULL, 0, &(struct nft_owner){ TENANT_B, 9999, true }, 1),
		0);
	listener_stop(&svc);

	cr_assert_eq(nft_remove(&nft_h), 0);
	cr_expect_eq(
		nft_update_owners(&nft_h, NULL, 0, &(struct nft_owner){ TENANT_A, 8001, true }, 1),
		-ENOENT, "update without a table");
}

/*
 * A blind deletion trusts its caller; when the caller's view is off (an element it names is not
 * there), the kernel refuses the batch and the exact path decides from the sets instead.
 */
Test(nft, blind_deletion_falls_back_when_an_element_is_missing, .init = setup, .fini = teardown)
{
	const struct nft_owner owners[] = { { TENANT_A, 8001, true },
					    { TENANT_C, 8001, true },
					    { TENANT_A, 8002, true } };
	const struct nft_owner a1 = { TENANT_A, 8001, true }, c1 = { TENANT_C, 8001, true };
	struct nft_state st;

	cr_assert_eq(nft_apply(&nft_h, &isolate, owners, 3), 0);
	/* A hand-made hole: tcp . 8001 is gone from tunnel_ports while C still owns 8001. */
	cr_assert_eq(nft_delete_owners(&nft_h, NULL, 0, &c1, 1), 0);
	st = read_state();
	cr_assert(!has_port(st.tunnel_ports, st.n_tunnel_ports, 8001));
	cr_expect_eq(st.n_owners, 3, "a port-only deletion took an owner");
	nft_state_free(&st);

	/* The caller thinks A was the last on 8001: tcp . 8001 is missing, so the blind batch is
	 * refused, and the exact path deletes A's pair and puts 8001 back for C. */
	cr_assert_eq(nft_delete_owners(&nft_h, &a1, 1, &a1, 1), 0);
	st = read_state();
	cr_expect(!has_owner(&st, TENANT_A, 8001, true), "A's pair stayed");
	cr_expect(has_owner(&st, TENANT_C, 8001, true), "C's pair went");
	cr_expect(has_owner(&st, TENANT_A, 8002, true), "A's other pair went");
	cr_expect(has_port(st.tunnel_ports, st.n_tunnel_ports, 8001), "the fallback left a hole");
	nft_state_free(&st);

	/* A right view goes through blind: C's pair and its port. */
	cr_assert_eq(nft_delete_owners(&nft_h, &c1, 1, &c1, 1), 0);
	st = read_state();
	cr_expect_eq(st.n_owners, 1);
	cr_expect_eq(st.n_tunnel_ports, 1);
	cr_expect(has_port(st.tunnel_ports, st.n_tunnel_ports, 8002));
	nft_state_free(&st);
	/* Deleting an absent pair: refused blind, a no-op exactly. */
	cr_expect_eq(nft_delete_owners(&nft_h, &c1, 1, NULL, 0), 0);

	cr_assert_eq(nft_remove(&nft_h), 0);
	cr_expect_eq(nft_delete_owners(&nft_h, &a1, 1, NULL, 0), -ENOENT,
		     "deletion without a table");
}

Test(nft, remove_leaves_every_other_table, .init = setup, .fini = teardown)
{
	char before[8192], during[8192], after[8192];
	struct nft_state st;

	need_nft_cli();
	cr_assert_eq(
		fx_run("nft add table ip keepme && nft add chain ip keepme c '{ type filter hook "
		       "output priority 10; }' && nft add rule ip keepme c tcp dport 9 counter "
		       "2>&1",
		       before, sizeof(before)),
		0, "cannot set up table ip keepme: %s", before);
	cr_assert_eq(fx_run("nft list tables 2>&1", before, sizeof(before)), 0);
	cr_assert_eq(nft_apply(&nft_h, &isolate, &(struct nft_owner){ TENANT_A, 8001, true }, 1),
		     0);
	cr_assert_eq(fx_run("nft list tables 2>&1", during, sizeof(during)), 0);
	cr_expect_str_eq(during, "table ip keepme\ntable inet tunnelguard\n");
	cr_assert_eq(fx_run("nft list table ip keepme 2>&1", during, sizeof(during)), 0);

	cr_assert_eq(nft_remove(&nft_h), 0);
	cr_assert_eq(fx_run("nft list tables 2>&1", after, sizeof(after)), 0);
	cr_expect_str_eq(after, before, "nft list tables changed:\nbefore:\n%s\nafter:\n%s", before,
			 after);
	cr_assert_eq(fx_run("nft list table ip keepme 2>&1", after, sizeof(after)), 0);
	cr_expect_str_eq(after, during, "table ip keepme changed");
	st = read_state();
	cr_expect(!st.present);
	nft_state_free(&st);
	cr_expect_eq(nft_remove(&nft_h), 0, "removing an absent table is not an error");
}

Test(nft, listing_reads_as_nft_syntax, .init = setup, .fini = teardown)
{
	static const char *const lines[] = {
		"set owned {",
		"elements = { 2001 . 8001 }",
		"elements = { tcp . 8001 }",
		"elements = { 2001-2003 }",
		"type filter hook output priority filter; policy accept;",
		"oif != \"lo\" accept",
		"tcp flags != syn / syn,ack accept",
		"meta skuid != @tenant_uids accept comment \"caller is not a tenant\"",
		"meta skuid . tcp dport @owned accept",
		"meta l4proto . tcp dport @tunnel_ports counter name \"tenant_to_tenant\" reject "
		"with tcp reset comment \"tenant to another tenant's tunnel\"",
	};
	static char out[16384];

	need_nft_cli();
	cr_assert_eq(nft_apply(&nft_h, &isolate, &(struct nft_owner){ TENANT_A, 8001, true }, 1),
		     0);
	cr_assert_eq(fx_run("nft list table inet tunnelguard 2>&1", out, sizeof(out)), 0, "%s",
		     out);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_expect_not_null(strstr(out, lines[i]), "listing lacks '%s':\n%s", lines[i], out);
}

/* A test-only message the kernel refuses: set `owned` again, exclusively. */
static void put_duplicate_set(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "owned");
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 24 << 6 | 13);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 8);
	nftnl_set_set_u32(s, NFTNL_SET_ID, 99);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWSET, NFPROTO_INET,
				    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, (*seq)++);
	nftnl_set_nlmsg_build_payload(nlh, s);
	cr_assert(mnl_nlmsg_batch_next(b));
	nftnl_set_free(s);
}

/* A test-only message the kernel refuses: a 3-byte key in the 8-byte set `owned`. */
static void put_bad_element(struct mnl_nlmsg_batch *b, uint32_t *seq)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nlmsghdr *nlh;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, TG_NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "owned");
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, "abc", 3);
	nftnl_set_elem_add(s, e);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWSETELEM, NFPROTO_INET,
				    NLM_F_CREATE | NLM_F_ACK, (*seq)++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	cr_assert(mnl_nlmsg_batch_next(b));
	nftnl_set_free(s);
}

struct refused_case {
	const char *name;
	void (*inject)(struct mnl_nlmsg_batch *b, uint32_t *seq);
	int expect_err;
	const char *expect_why;
};

Test(nft, refused_batch_keeps_the_previous_table, .init = setup, .fini = teardown)
{
	static const struct refused_case cases[] = {
		{ "duplicate set", put_duplicate_set, -EEXIST,
		  "cannot add set owned to table inet tunnelguard: File exists" },
		{ "bad element", put_bad_element, -EINVAL,
		  "cannot add elements to set owned in table inet tunnelguard: Invalid argument" },
	};
	static const struct nft_owner old_owners[] = { { TENANT_A, 8001, true } };
	static const struct nft_owner new_owners[] = { { TENANT_C, 8003, true } };
	struct fx_listener a = listen_as(TENANT_A, "127.0.0.1", 8001, false);
	char before[16384], after[16384];
	size_t size = 16 * TG_NFT_MSG_MAX;
	void *buf = malloc(size);

	need_nft_cli();
	cr_assert_eq(nft_apply(&nft_h, &isolate, old_owners, 1), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refused_case *c = &cases[i];
		struct tg_policy strict = isolate;
		struct mnl_nlmsg_batch *b = nft_batch_start(buf, size);
		struct nft_state content;
		char why[512];
		uint32_t seq = 1;
		int err;

		/* Taken again each time: the connect below moves a counter. */
		cr_assert_eq(fx_run("nft list table inet tunnelguard 2>&1", before, sizeof(before)),
			     0);
		strict.policy = TG_POLICY_STRICT;
		cr_assert_eq(nft_content_from_owners(new_owners, 1, &content), 0);
		cr_assert_eq(nft_put_begin(b, &seq, 0), 0);
		cr_assert_eq(nft_put_table(b, &seq, &strict, &content, NULL), 0);
		c->inject(b, &seq);
		cr_assert_eq(nft_put_end(b, &seq), 0);
		err = nft_batch_send(&nft_h, b, why, sizeof(why));
		cr_expect_eq(err, c->expect_err, "%s: send gave %d (%s)", c->name, err, why);
		cr_expect_str_eq(why, c->expect_why, "%s", c->name);
		mnl_nlmsg_batch_stop(b);
		nft_state_free(&content);

		cr_assert_eq(fx_run("nft list table inet tunnelguard 2>&1", after, sizeof(after)),
			     0);
		cr_expect_str_eq(after, before, "%s: the table changed", c->name);
		cr_expect_eq(connect_as(TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED,
			     "%s: the old rules no longer apply", c->name);
	}
	free(buf);
	listener_stop(&a);
}

struct drift_log {
	char lines[8][96];
	size_t n;
};

static void on_drift(void *ctx, enum drift_kind kind, const char *set, uint32_t uid, uint16_t port)
{
	struct drift_log *log = ctx;

	if (log->n < 8)
		snprintf(log->lines[log->n++], sizeof(log->lines[0]), "%s %s %u %u",
			 drift_kind_name(kind), set, uid, port);
}

Test(nft, sync_reports_and_repairs_a_hand_deleted_element, .init = setup, .fini = teardown)
{
	static const struct nft_owner owners[] = { { TENANT_A, 8001, true },
						   { TENANT_B, 8002, true } };
	struct drift_log log = {};
	struct nft_sync_report r = { .on_drift = on_drift, .ctx = &log };
	struct nft_state st;
	char out[1024];

	need_nft_cli();
	cr_assert_eq(nft_apply(&nft_h, &isolate, owners, 2), 0);
	cr_assert_eq(fx_run("nft delete element inet tunnelguard owned '{ 2001 . 8001 }' 2>&1 && "
			    "nft add element inet tunnelguard tunnel_ports '{ tcp . 9000 }' 2>&1",
			    out, sizeof(out)),
		     0, "hand edit failed: %s", out);

	cr_assert_eq(nft_sync_owners(&nft_h, owners, 2, true, &r), 0);
	cr_expect_eq(r.added, 1);
	cr_expect_eq(r.removed, 1);
	cr_assert_eq(log.n, 2);
	cr_expect_str_eq(log.lines[0], "missing owned 2001 8001");
	cr_expect_str_eq(log.lines[1], "stale tunnel_ports 0 9000");
	st = read_state();
	cr_expect(!has_owner(&st, TENANT_A, 8001, true), "dry run wrote");
	nft_state_free(&st);

	memset(&r, 0, sizeof(r));
	cr_assert_eq(nft_sync_owners(&nft_h, owners, 2, false, &r), 0);
	cr_expect_eq(r.added + r.removed, 2);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(nft_sync_owners(&nft_h, owners, 2, true, &r), 0);
	cr_expect_eq(r.added + r.removed, 0, "drift left after repair");
	st = read_state();
	cr_expect(has_owner(&st, TENANT_A, 8001, true));
	cr_expect(!has_port(st.tunnel_ports, st.n_tunnel_ports, 9000));
	nft_state_free(&st);
}
