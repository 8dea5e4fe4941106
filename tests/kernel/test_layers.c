// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config key `layers` through the real CLI and daemon: the nft layer alone refuses the
 * cross-tenant connect, both layers show in bpftool and nft, a hand-deleted set element is drift
 * that status reports and the daemon repairs, the daemon moves listener changes into the nft
 * sets from the bind and close hooks' events (not its reconciliation), switching layers never
 * leaves a gap, and unload leaves `nft list ruleset` (with an iptables-nft rule in it) exactly as
 * before load. Needs root; every test runs in the fixture's own network namespace, cgroup and pin
 * dir.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "nft.h"

#include "fixture.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define PORT	 8001

/* Reads only, as no guard: a read keeps no socket open, so there is nothing to close. */
static struct nft_handle nft_h;

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
	if (access("/usr/sbin/nft", X_OK) != 0)
		cr_skip_test("the nft command (Debian package nftables) is not installed");
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static bool table_present(void)
{
	char out[256];

	return fx_run("nft list table inet tunnelguard >/dev/null 2>&1; echo $?", out,
		      sizeof(out)) == 0 &&
	       atoi(out) == 0;
}

static bool bpf_link_pinned(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/link_connect4", fx.pin_dir);
	return access(path, F_OK) == 0;
}

static bool nft_has_owner(uint32_t uid, uint16_t port)
{
	struct nft_state st;
	bool found = false;

	cr_assert_eq(nft_read(&nft_h, &st), 0, "nft_read failed");
	for (size_t i = 0; i < st.n_owners; i++)
		found |= st.owners[i].uid == uid && st.owners[i].port == port;
	nft_state_free(&st);
	return found;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Poll the nft sets until uid . port is there (want) or gone; microseconds waited, or -1. */
static long long wait_nft_owner(uint32_t uid, uint16_t port, bool want, int timeout_ms)
{
	long long start = now_us();

	while (now_us() - start < timeout_ms * 1000LL) {
		if (nft_has_owner(uid, port) == want)
			return now_us() - start;
		usleep(1000);
	}
	return -1;
}

/* The cross-tenant connect is refused over IPv4 and IPv6; the owner and root get through. */
static void expect_isolation(const char *when)
{
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", PORT), ECONNREFUSED,
		     "%s: tenant B reached A's 127.0.0.1:%d", when, PORT);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", PORT), ECONNREFUSED,
		     "%s: tenant B reached A's [::1]:%d", when, PORT);
	cr_expect_eq(fx_connect_as(&fx, TENANT_A, AF_INET, "127.0.0.1", PORT), 0,
		     "%s: A cannot reach its own port", when);
	cr_expect_eq(fx_connect_as(&fx, 0, AF_INET6, "::1", PORT), 0,
		     "%s: root cannot reach A's port", when);
}

Test(layers, nft_alone_refuses_the_cross_tenant_connect, .init = setup, .fini = teardown)
{
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	struct fx_listener a6 = fx_listen(TENANT_A, "::1", PORT, true);

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_expect(!bpf_link_pinned(), "layers = nft pinned a BPF link");
	cr_expect_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 0,
		     "a BPF program is attached");
	cr_assert(table_present(), "no table inet tunnelguard after load");
	expect_isolation("layers = nft");
	cr_expect_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "status: %s",
		     fx.output);
	cr_expect(strstr(fx.output, "layers:      nft\n"), "status: %s", fx.output);
	cr_expect(strstr(fx.output, "tenant_to_tenant     2 packets"),
		  "status does not count the two resets: %s", fx.output);
	cr_assert_eq(fx_unload(&fx), 0, "unload: %s", fx.output);
	cr_expect(!table_present(), "table left after unload");
	cr_expect_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 3, "status: %s",
		     fx.output);
	fx_listener_stop(&a4);
	fx_listener_stop(&a6);
}

Test(layers, both_show_in_bpftool_and_nft, .init = setup, .fini = teardown)
{
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	char cmd[PATH_MAX + 64], out[16384];

	fx_write_config(&fx, "tenant-uids = 2001-2003\n"); /* layers: the default, both */
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	snprintf(cmd, sizeof(cmd), "bpftool cgroup show %s", fx.cgroup);
	cr_assert_eq(fx_run(cmd, out, sizeof(out)), 0, "%s failed", cmd);
	cr_expect(strstr(out, "tg_connect4") && strstr(out, "tg_connect6"), "bpftool: %s", out);
	cr_assert_eq(fx_run("nft list table inet tunnelguard", out, sizeof(out)), 0, "nft failed");
	cr_expect(strstr(out, "elements = { 2001-2003 }"), "nft: %s", out);
	cr_expect(strstr(out, "2001 . 8001"), "A's port is not in set owned: %s", out);
	cr_expect(strstr(out, "reject with tcp reset"), "nft: %s", out);
	cr_expect_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0, "%s",
		     fx.output);
	cr_expect(strstr(fx.output, "\"layers\":[\"bpf\",\"nft\"]"), "status: %s", fx.output);
	cr_expect(strstr(fx.output, "\"nft\":{\"checked\":true,\"present\":true"), "status: %s",
		  fx.output);
	fx_listener_stop(&a4);
}

Test(layers, hand_deleted_element_is_drift_and_the_daemon_repairs_it, .init = setup,
     .fini = teardown)
{
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	char out[256];
	pid_t daemon;
	int status = -1;

	fx_write_config(&fx, "tenant-uids = 2001-2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_assert_eq(fx_run("nft delete element inet tunnelguard owned '{ 2001 . 8001 }'", out,
			    sizeof(out)),
		     0, "nft delete element failed");
	cr_expect_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 1, "%s", fx.output);
	cr_expect(strstr(fx.output, "drift: nft set owned lacks 127.0.0.1:8001 uid 2001\n"),
		  "status: %s", fx.output);
	/* The hand-made hole is real: only the BPF layer stops B now (nft would let it pass). */
	cr_expect(!nft_has_owner(TENANT_A, PORT));

	daemon = fx_daemon_start(&fx, "--interval", "200", NULL);
	for (int waited = 0; waited < 3000 && status != 0; waited += 50) {
		usleep(50000);
		status = fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL);
	}
	cr_expect_eq(status, 0, "drift not repaired within 3 s: %s", fx.output);
	cr_expect(nft_has_owner(TENANT_A, PORT), "set owned still lacks 2001 . 8001");
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
	cr_expect_eq(fx_count_lines(fx.daemon_err,
				    "drift repaired: nft set owned lacked uid 2001 port 8001"),
		     1, "the daemon did not log the repair");
	fx_listener_stop(&a4);
}

/*
 * With a reconciliation period of an hour, only the hooks' owner events can move a new
 * listener into the sets: this is the event-driven path the BPF map has too.
 */
Test(layers, daemon_follows_listeners_into_the_sets_by_events, .init = setup, .fini = teardown)
{
	struct fx_listener a4;
	long long in, out;
	pid_t daemon;

	fx_write_config(&fx, "tenant-uids = 2001-2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	daemon = fx_daemon_start(&fx, "--interval", "3600000", NULL);
	cr_assert(fx_daemon_ready(&fx, 3000), "daemon did not start");
	cr_assert(!nft_has_owner(TENANT_A, PORT));

	a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	in = wait_nft_owner(TENANT_A, PORT, true, 1000);
	cr_expect_geq(in, 0, "listener not in set owned within 1 s");
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", PORT), ECONNREFUSED);
	fx_listener_stop(&a4);
	out = wait_nft_owner(TENANT_A, PORT, false, 1000);
	cr_expect_geq(out, 0, "closed listener still in set owned after 1 s");
	cr_log_info("listen -> nft set: %lld us; close -> gone: %lld us", in, out);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
}

static bool nft_has_tunnel_port(uint16_t port)
{
	struct nft_state st;
	bool found = false;

	cr_assert_eq(nft_read(&nft_h, &st), 0, "nft_read failed");
	for (size_t i = 0; i < st.n_tunnel_ports; i++)
		found |= st.tunnel_ports[i] == port;
	nft_state_free(&st);
	return found;
}

/* A daemon that acts on events only (an hour between reconciliations), once it is running. */
static pid_t start_event_daemon(void)
{
	pid_t daemon = fx_daemon_start(&fx, "--interval", "3600000", NULL);

	cr_assert(fx_daemon_ready(&fx, 3000), "daemon did not start");
	return daemon;
}

/* One pair, two addresses: the pair leaves set owned, and its port tunnel_ports, with the
 * second close only. */
Test(layers, daemon_deletes_a_pair_with_its_last_address, .init = setup, .fini = teardown)
{
	struct fx_listener a4, a6;
	long long out;
	pid_t daemon;

	fx_write_config(&fx, "tenant-uids = 2001-2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	daemon = start_event_daemon();
	a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	a6 = fx_listen(TENANT_A, "::1", PORT, true);
	cr_assert_geq(wait_nft_owner(TENANT_A, PORT, true, 1000), 0, "A not in set owned");

	fx_listener_stop(&a4);
	/* The close event comes within milliseconds; give a wrong deletion time to show. */
	usleep(300000);
	cr_expect(nft_has_owner(TENANT_A, PORT), "A left set owned with [::1]:%d listening", PORT);
	cr_expect(nft_has_tunnel_port(PORT), "%d left tunnel_ports with A still listening", PORT);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET6, "::1", PORT), ECONNREFUSED);

	fx_listener_stop(&a6);
	out = wait_nft_owner(TENANT_A, PORT, false, 1000);
	cr_expect_geq(out, 0, "A still in set owned 1 s after its last close");
	cr_expect(!nft_has_tunnel_port(PORT), "%d still in tunnel_ports", PORT);
	cr_log_info("last close -> gone: %lld us", out);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
	cr_expect_eq(fx_count_lines(fx.daemon_err, "not updated"), 0,
		     "the daemon failed an update");
}

/* Two tenants on one port at different addresses: one leaving keeps the port a tunnel port. */
Test(layers, daemon_keeps_a_port_another_tenant_holds, .init = setup, .fini = teardown)
{
	struct fx_listener a, b;
	pid_t daemon;

	fx_write_config(&fx, "tenant-uids = 2001-2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	daemon = start_event_daemon();
	a = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	b = fx_listen(TENANT_B, "127.0.0.2", PORT, false);
	cr_assert_geq(wait_nft_owner(TENANT_A, PORT, true, 1000), 0, "A not in set owned");
	cr_assert_geq(wait_nft_owner(TENANT_B, PORT, true, 1000), 0, "B not in set owned");

	fx_listener_stop(&a);
	cr_expect_geq(wait_nft_owner(TENANT_A, PORT, false, 1000), 0, "A still in set owned");
	cr_expect(nft_has_owner(TENANT_B, PORT), "B left set owned");
	cr_expect(nft_has_tunnel_port(PORT), "tcp . %d left tunnel_ports with B listening", PORT);
	cr_expect_eq(fx_connect_as(&fx, 2003, AF_INET, "127.0.0.2", PORT), ECONNREFUSED);

	fx_listener_stop(&b);
	cr_expect_geq(wait_nft_owner(TENANT_B, PORT, false, 1000), 0, "B still in set owned");
	cr_expect(!nft_has_tunnel_port(PORT), "%d still in tunnel_ports", PORT);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
	cr_expect_eq(fx_count_lines(fx.daemon_err, "not updated"), 0,
		     "the daemon failed an update");
}

Test(layers, switching_layers_keeps_a_wall_up_at_every_step, .init = setup, .fini = teardown)
{
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	struct fx_listener a6 = fx_listen(TENANT_A, "::1", PORT, true);

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = bpf nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_expect(bpf_link_pinned() && table_present());
	expect_isolation("bpf nft");

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = bpf\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_expect(bpf_link_pinned(), "layers = bpf: no BPF link");
	cr_expect(!table_present(), "layers = bpf: the nft table stays");
	expect_isolation("bpf");

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_expect(!bpf_link_pinned(), "layers = nft: the BPF link stays");
	cr_expect(table_present(), "layers = nft: no table");
	expect_isolation("nft");

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = bpf, nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_expect(bpf_link_pinned() && table_present());
	expect_isolation("bpf, nft again");
	fx_listener_stop(&a4);
	fx_listener_stop(&a6);
}

Test(layers, unload_leaves_the_ruleset_as_before_load, .init = setup, .fini = teardown)
{
	char before[16384], after[16384];

	if (access("/usr/sbin/iptables", X_OK) != 0)
		cr_skip_test("iptables (Debian package iptables) is not installed");
	/* What an operator may already have: an iptables-nft rule and a table of their own. */
	cr_assert_eq(
		fx_run("iptables -A OUTPUT -p tcp --dport 9 -j ACCEPT && "
		       "nft add table inet operator && "
		       "nft add chain inet operator out '{ type filter hook output priority 10; }' "
		       "&& nft add rule inet operator out tcp dport 7 counter accept",
		       before, sizeof(before)),
		0, "cannot set up the operator's rules");
	cr_assert_eq(fx_run("nft list ruleset", before, sizeof(before)), 0);
	cr_assert(strstr(before, "dport 9") && strstr(before, "table inet operator"), "%s", before);

	fx_write_config(&fx, "tenant-uids = 2001-2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert(table_present());
	cr_assert_eq(fx_unload(&fx), 0, "unload: %s", fx.output);
	cr_assert_eq(fx_run("nft list ruleset", after, sizeof(after)), 0);
	cr_expect_str_eq(after, before, "unload changed the ruleset");
}

/* `allow = USER:PORTS` opens the nft layer too: B may reach A's 8001, C may not. */
Test(layers, allow_rule_opens_the_nft_layer_for_one_tenant, .init = setup, .fini = teardown)
{
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	char out[16384];

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = nft\nallow = 2002:8000-8001\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_run("nft list chain inet tunnelguard output", out, sizeof(out)), 0);
	cr_expect(strstr(out, "meta skuid . tcp dport @allowed accept comment \"allow rules\""),
		  "nft: %s", out);
	/* One element per uid . port the rule grants, whatever the number of rules. */
	cr_assert_eq(fx_run("nft list set inet tunnelguard allowed", out, sizeof(out)), 0);
	cr_expect(strstr(out, "2002 . 8000") && strstr(out, "2002 . 8001") &&
			  !strstr(out, "2002 . 7999") && !strstr(out, "2002 . 8002"),
		  "set allowed: %s", out);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", PORT), 0,
		     "the allow rule did not let B through the nft layer");
	cr_expect_eq(fx_connect_as(&fx, 2003, AF_INET, "127.0.0.1", PORT), ECONNREFUSED,
		     "tenant C reached A's port without an allow rule");
	fx_listener_stop(&a4);
}

/*
 * One nft table per network namespace: a second guard (another pin dir) may neither replace
 * nor delete the first one's. Both use layers = nft, so the refused load creates nothing.
 */
Test(layers, a_second_guard_leaves_the_first_ones_table_alone, .init = setup, .fini = teardown)
{
	char other[PATH_MAX + 8], before[16384], after[16384];
	struct fx_listener a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);

	snprintf(other, sizeof(other), "%s-b", fx.pin_dir);
	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_run("nft list table inet tunnelguard", before, sizeof(before)), 0);
	cr_expect(strstr(before, fx.pin_dir), "the table does not name its guard: %s", before);

	cr_expect_eq(fx_cli(&fx, "load", "-c", fx.config, "--pin-dir", other, NULL), 1,
		     "a second guard replaced the table: %s", fx.output);
	cr_expect(strstr(fx.output, "belongs to the guard of pin dir"), "%s", fx.output);
	cr_expect_eq(fx_cli(&fx, "unload", "--pin-dir", other, NULL), 0, "%s", fx.output);
	cr_expect_eq(fx_cli(&fx, "status", "--pin-dir", other, NULL), 3, "%s", fx.output);
	cr_assert_eq(fx_run("nft list table inet tunnelguard", after, sizeof(after)), 0,
		     "the second guard's unload deleted the first one's table");
	cr_expect_str_eq(after, before);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", PORT), ECONNREFUSED);
	cr_expect_eq(access(other, F_OK), -1, "the refused load left %s", other);
	fx_listener_stop(&a4);
}

/*
 * layers = nft alone has no BPF bind and close hooks: the daemon polls sock_diag instead. With a
 * reconciliation period of an hour, only those polls can move a listener in and out.
 */
Test(layers, nft_alone_daemon_follows_listeners_by_polling, .init = setup, .fini = teardown)
{
	struct fx_listener a4;
	long long in, out;
	pid_t daemon;

	fx_write_config(&fx, "tenant-uids = 2001-2003\nlayers = nft\n");
	daemon = fx_daemon_start(&fx, "--interval", "3600000", NULL);
	cr_assert(fx_daemon_ready(&fx, 3000), "daemon did not start");
	cr_assert(table_present(), "the daemon did not load the nft-only guard");
	cr_expect(!bpf_link_pinned());

	a4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	in = wait_nft_owner(TENANT_A, PORT, true, 1000);
	cr_expect_geq(in, 0, "listener not in set owned within 1 s");
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", PORT), ECONNREFUSED);
	fx_listener_stop(&a4);
	out = wait_nft_owner(TENANT_A, PORT, false, 1000);
	cr_expect_geq(out, 0, "closed listener still in set owned after 1 s");
	cr_log_info("nft alone: listen -> set %lld us, close -> gone %lld us", in, out);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
	cr_assert_eq(fx_unload(&fx), 0, "%s", fx.output);
}
