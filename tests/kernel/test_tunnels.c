// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-tenant limits on the real kernel: max-tunnels refuses a tenant's bind() of one TCP port
 * more than its limit with EDQUOT (IPv4 and IPv6, bind(0) and an explicit port), exactly one
 * counter and an event; closing a socket gives its port back; another tenant is unaffected; a
 * [tenant] section's limit beats the global one; audit mode records and allows; concurrent
 * binds from several processes never hold more than the limit. And the per-uid cap on
 * port_owner: one uid other than root cannot take more than a quarter of it, in the bind
 * hooks as in the load's reconciliation. Needs root; each test runs in its own network
 * namespace and cgroup (fixture.h), with test-only uids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_limits.h"
#include "tg_maps.h"
#include "tg_policy.h"

#include "fixture.h"
#include "pins.h"
#include "reasons.h"

#define ALICE	 2001
#define BOB	 2002
#define CAROL	 2003
#define EDQUOT_V 122

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
}

static void teardown(void)
{
	fx_teardown(&fx);
}

static void load_config(const char *config)
{
	fx_write_config(&fx, config);
	cr_assert_eq(fx_load(&fx), 0, "load failed: %s", fx.output);
}

/*
 * A process of uid in the test cgroup that holds TCP listeners and takes orders on a pipe:
 * 'b' + family + port binds and listens one more (answers the errno, 0 on success), 'c' closes
 * the oldest it holds (answers 0). It exits, closing them all, when its order pipe closes.
 */
struct holder {
	pid_t pid;
	int order; /* write end */
	int reply; /* read end */
};

struct order {
	char what;
	int family;
	uint16_t port;
};

#define HOLD_MAX 64

static void holder_serve(int order, int reply)
{
	int fds[HOLD_MAX], n = 0, first = 0;
	struct order o;

	while (read(order, &o, sizeof(o)) == sizeof(o)) {
		int answer = 0;

		if (o.what == 'b') {
			struct sockaddr_storage ss;
			socklen_t len = fx_make_addr(
				o.family, o.family == AF_INET ? "127.0.0.1" : "::1", o.port, &ss);
			int fd = socket(o.family, SOCK_STREAM, 0);

			if (fd < 0 || !len || n >= HOLD_MAX)
				_exit(CHILD_SETUP_FAILED);
			if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0) {
				answer = errno;
				close(fd);
			} else {
				fds[n++] = fd;
			}
		} else if (o.what == 'c' && first < n) {
			close(fds[first++]);
		}
		if (write(reply, &answer, sizeof(answer)) != sizeof(answer))
			_exit(CHILD_SETUP_FAILED);
	}
	_exit(0);
}

static struct holder holder_start(uid_t uid)
{
	int order[2], reply[2];
	struct holder h;

	cr_assert_eq(pipe(order), 0, "pipe");
	cr_assert_eq(pipe(reply), 0, "pipe");
	h.pid = fork();
	cr_assert_geq(h.pid, 0, "fork: %s", strerror(errno));
	if (h.pid == 0) {
		/* Only its own pipe ends: an order pipe of another holder kept open here would
		 * never let that holder see its end. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != order[0] && fd != reply[1])
				close(fd);
		if (fx_enter_as(&fx, uid, 0) < 0)
			_exit(CHILD_SETUP_FAILED);
		holder_serve(order[0], reply[1]);
	}
	close(order[0]);
	close(reply[1]);
	h.order = order[1];
	h.reply = reply[0];
	return h;
}

static int holder_ask(struct holder *h, char what, int family, uint16_t port)
{
	struct order o = { .what = what, .family = family, .port = port };
	int answer = -1;

	cr_assert_eq(write(h->order, &o, sizeof(o)), (ssize_t)sizeof(o), "holder %d is gone",
		     (int)h->pid);
	cr_assert_eq(read(h->reply, &answer, sizeof(answer)), (ssize_t)sizeof(answer),
		     "holder %d did not answer (could not set itself up?)", (int)h->pid);
	return answer;
}

static int holder_bind(struct holder *h, int family, uint16_t port)
{
	return holder_ask(h, 'b', family, port);
}

static void holder_stop(struct holder *h)
{
	int status;

	close(h->order);
	close(h->reply);
	cr_assert_eq(waitpid(h->pid, &status, 0), h->pid, "waitpid");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder ended with %d", status);
}

/* uid's count in the fixture's tg_tunnels, 0 when it has no entry. */
static uint32_t tunnel_count(uid_t uid)
{
	char path[PATH_MAX + 32];
	struct tg_tunnel_count c = {};
	__u32 key = uid;
	int fd;

	snprintf(path, sizeof(path), "%s/" TG_PIN_TUNNELS, fx.pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	if (bpf_map_lookup_elem(fd, &key, &c) != 0)
		c.count = 0;
	close(fd);
	return c.count;
}

/* sock_release runs when the holder's close() returns: no wait needed, but allow a moment. */
static bool wait_tunnel_count(uid_t uid, uint32_t want)
{
	for (int i = 0; i < 200; i++) {
		if (tunnel_count(uid) == want)
			return true;
		usleep(10000);
	}
	return false;
}

static void snapshot(uint64_t *counts)
{
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++)
		counts[r] = fx_counter(&fx, r);
}

/* Every counter as before except reason, up by exactly by. */
static void expect_counters(const char *name, const uint64_t *before, int reason, uint64_t by)
{
	uint64_t after[TG_REASON_COUNT];

	snapshot(after);
	for (unsigned int r = 0; r < TG_REASON_COUNT; r++) {
		uint64_t want = before[r] + ((int)r == reason ? by : 0);

		cr_expect_eq(after[r], want, "%s: counter %s went %llu -> %llu, expected %llu",
			     name, reason_name(r), (unsigned long long)before[r],
			     (unsigned long long)after[r], (unsigned long long)want);
	}
}

#define LIMIT_CONFIG "tenant-uids = 2001-2003\nmax-tunnels = 2\n"

/* At the limit: one more bind is EDQUOT, on IPv4 and IPv6, with one counter and an event. */
Test(tunnels, limit_refuses_one_more, .init = setup, .fini = teardown, .timeout = 60)
{
	static const struct {
		const char *name;
		int family;
		uint16_t port;
	} over[] = {
		{ "IPv4 bind(0)", AF_INET, 0 },
		{ "IPv4 port 8101", AF_INET, 8101 },
		{ "IPv6 bind(0)", AF_INET6, 0 },
		{ "IPv6 port 8102", AF_INET6, 8102 },
	};
	uint64_t before[TG_REASON_COUNT];
	struct holder alice, bob;

	load_config(LIMIT_CONFIG);
	alice = holder_start(ALICE);
	cr_assert_eq(holder_bind(&alice, AF_INET, 0), 0, "alice's first bind failed");
	cr_assert_eq(holder_bind(&alice, AF_INET6, 8100), 0, "alice's second bind failed");
	cr_assert_eq(tunnel_count(ALICE), 2, "tg_tunnels[alice] is %u, expected 2",
		     tunnel_count(ALICE));
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		int got;

		snapshot(before);
		got = holder_bind(&alice, over[i].family, over[i].port);
		cr_expect_eq(got, EDQUOT_V, "%s: alice's third bind gave %s, expected EDQUOT",
			     over[i].name, strerror(got));
		expect_counters(over[i].name, before, TG_DENY_TUNNEL_LIMIT, 1);
	}
	cr_expect_eq(tunnel_count(ALICE), 2, "refused binds changed tg_tunnels[alice] to %u",
		     tunnel_count(ALICE));

	/* Another tenant is unaffected by alice's count. */
	bob = holder_start(BOB);
	cr_expect_eq(holder_bind(&bob, AF_INET, 0), 0, "bob's first bind failed");
	cr_expect_eq(holder_bind(&bob, AF_INET6, 0), 0, "bob's second bind failed");
	cr_expect_eq(holder_bind(&bob, AF_INET, 0), EDQUOT_V, "bob's third bind was not refused");
	holder_stop(&bob);
	cr_expect(wait_tunnel_count(BOB, 0), "bob's count is %u after his holder exited",
		  tunnel_count(BOB));

	/* Closing one gives one back. */
	cr_assert_eq(holder_ask(&alice, 'c', 0, 0), 0, "close");
	cr_assert(wait_tunnel_count(ALICE, 1), "tg_tunnels[alice] is %u after a close, expected 1",
		  tunnel_count(ALICE));
	cr_expect_eq(holder_bind(&alice, AF_INET6, 8102), 0,
		     "after a close, alice's bind of [::1]:8102 still failed");
	cr_expect_eq(holder_bind(&alice, AF_INET, 0), EDQUOT_V,
		     "alice at her limit again was not refused");
	holder_stop(&alice);
	cr_expect(wait_tunnel_count(ALICE, 0), "alice's count is %u after her holder exited",
		  tunnel_count(ALICE));

	cr_assert_eq(fx_cli(&fx, "events", "--pin-dir", fx.pin_dir, NULL), 0, "events: %s",
		     fx.output);
	cr_expect(strstr(fx.output, "verdict=deny reason=deny_tunnel_limit caller_uid=2001"),
		  "no tunnel limit event for alice: %s", fx.output);
	cr_expect(strstr(fx.output, "dst=::1 port=8102 max_tunnels=2 netns="),
		  "no event for alice's refused [::1]:8102: %s", fx.output);
	cr_expect(strstr(fx.output, " max_tunnels=2 "), "the events lack the limit: %s", fx.output);
}

/* Root and non-tenants are never counted nor limited. */
Test(tunnels, non_tenants_not_counted, .init = setup, .fini = teardown, .timeout = 60)
{
	struct holder root, service;

	load_config("tenant-uids = 2001-2003\nmax-tunnels = 1\n");
	root = holder_start(0);
	service = holder_start(2999);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(holder_bind(&root, AF_INET, 0), 0, "root's bind %d failed", i);
		cr_expect_eq(holder_bind(&service, AF_INET6, 0), 0, "2999's bind %d failed", i);
	}
	cr_expect_eq(tunnel_count(0), 0, "root is counted");
	cr_expect_eq(tunnel_count(2999), 0, "a non-tenant is counted");
	holder_stop(&root);
	holder_stop(&service);
}

/* A [tenant] section's max-tunnels beats the global one, for that section's user only. */
Test(tunnels, section_overrides_global, .init = setup, .fini = teardown, .timeout = 60)
{
	struct holder alice, bob, carol;

	load_config("tenant-uids = 2001-2003\nmax-tunnels = 1\n"
		    "[tenant alice]\nuser = 2001\nports = 9001\nmax-tunnels = 3\n"
		    "[tenant carol]\nuser = 2003\nports = 9003\nmax-tunnels = 0\n");
	alice = holder_start(ALICE);
	bob = holder_start(BOB);
	carol = holder_start(CAROL);
	cr_expect_eq(holder_bind(&alice, AF_INET, 9001), 0, "alice 1");
	cr_expect_eq(holder_bind(&alice, AF_INET, 0), 0, "alice 2");
	cr_expect_eq(holder_bind(&alice, AF_INET6, 0), 0, "alice 3");
	cr_expect_eq(holder_bind(&alice, AF_INET, 0), EDQUOT_V, "alice's 4th was not refused");
	cr_expect_eq(holder_bind(&bob, AF_INET, 0), 0, "bob 1");
	cr_expect_eq(holder_bind(&bob, AF_INET6, 0), EDQUOT_V, "bob's 2nd was not refused");
	for (int i = 0; i < 4; i++)
		cr_expect_eq(holder_bind(&carol, AF_INET, 0), 0,
			     "carol (max-tunnels = 0: no limit) bind %d failed", i);
	cr_expect_eq(tunnel_count(CAROL), 4, "carol's count is %u, expected 4",
		     tunnel_count(CAROL));

	/* A swap that lowers alice's limit applies to the ports she holds already. */
	load_config("tenant-uids = 2001-2003\nmax-tunnels = 2\n");
	cr_expect_eq(holder_bind(&alice, AF_INET, 0), EDQUOT_V,
		     "alice holding 3 was not refused under a swapped-in limit of 2");
	cr_expect_eq(holder_bind(&bob, AF_INET, 0), 0, "bob's 2nd under the new limit failed");
	cr_assert_eq(holder_ask(&alice, 'c', 0, 0), 0, "close");
	cr_assert_eq(holder_ask(&alice, 'c', 0, 0), 0, "close");
	cr_expect(wait_tunnel_count(ALICE, 1), "after a swap, closes were not counted (%u)",
		  tunnel_count(ALICE));
	cr_expect_eq(holder_bind(&alice, AF_INET, 0), 0, "alice at 1 of 2 was refused");
	holder_stop(&alice);
	holder_stop(&bob);
	holder_stop(&carol);
	cr_expect(wait_tunnel_count(ALICE, 0) && wait_tunnel_count(BOB, 0) &&
			  wait_tunnel_count(CAROL, 0),
		  "counts left after every holder exited: %u %u %u", tunnel_count(ALICE),
		  tunnel_count(BOB), tunnel_count(CAROL));
}

/* Audit mode records the bind over the limit and lets it through. */
Test(tunnels, audit_records_and_allows, .init = setup, .fini = teardown, .timeout = 60)
{
	uint64_t before[TG_REASON_COUNT];
	struct holder alice;

	load_config("mode = audit\ntenant-uids = 2001-2003\nmax-tunnels = 1\n");
	alice = holder_start(ALICE);
	cr_assert_eq(holder_bind(&alice, AF_INET, 0), 0, "alice 1");
	snapshot(before);
	cr_expect_eq(holder_bind(&alice, AF_INET6, 8201), 0, "audit mode refused alice's 2nd");
	/* bind(8201) is counted at bind() (allow_bind_open) and the audit record after it. */
	cr_expect_eq(fx_counter(&fx, TG_AUDIT_TUNNEL_LIMIT), before[TG_AUDIT_TUNNEL_LIMIT] + 1,
		     "audit_tunnel_limit did not rise by one");
	cr_expect_eq(fx_counter(&fx, TG_DENY_TUNNEL_LIMIT), before[TG_DENY_TUNNEL_LIMIT],
		     "deny_tunnel_limit rose in audit mode");
	cr_expect_eq(tunnel_count(ALICE), 2, "audit mode: count %u, expected 2 (both held)",
		     tunnel_count(ALICE));
	holder_stop(&alice);
	cr_assert_eq(fx_cli(&fx, "events", "--pin-dir", fx.pin_dir, NULL), 0, "events: %s",
		     fx.output);
	cr_expect(strstr(fx.output, "verdict=audit reason=audit_tunnel_limit caller_uid=2001"),
		  "no audit event: %s", fx.output);
}

#define RACERS	  8
#define PER_RACER 4
#define RACE_MAX  3

/*
 * RACERS processes of one tenant, released together, each bind RACE_MAX + 1 ports and hold what
 * they got: the tenant never holds more than RACE_MAX (post_bind counts atomically), and holds
 * exactly RACE_MAX, since every refusal saw the limit reached.
 */
Test(tunnels, concurrent_binds_never_exceed, .init = setup, .fini = teardown, .timeout = 60)
{
	int go[2], hold[2], results[2], held = 0, status;
	pid_t pids[RACERS];

	load_config("tenant-uids = 2001-2003\nmax-tunnels = 3\n");
	cr_assert_eq(pipe(go), 0, "pipe");
	cr_assert_eq(pipe(hold), 0, "pipe");
	cr_assert_eq(pipe(results), 0, "pipe");
	for (int r = 0; r < RACERS; r++) {
		pids[r] = fork();
		cr_assert_geq(pids[r], 0, "fork");
		if (pids[r] == 0) {
			int fds[PER_RACER], got = 0;
			char c;

			close(go[1]);
			close(hold[1]);
			close(results[0]);
			if (fx_enter_as(&fx, ALICE, 0) < 0)
				_exit(CHILD_SETUP_FAILED);
			for (int i = 0; i < PER_RACER; i++)
				fds[i] = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
			if (read(go[0], &c, 1) != 1)
				_exit(CHILD_SETUP_FAILED);
			for (int i = 0; i < PER_RACER; i++) {
				struct sockaddr_storage ss;
				socklen_t len = fx_make_addr(i % 2 ? AF_INET6 : AF_INET,
							     i % 2 ? "::1" : "127.0.0.1", 0, &ss);
				int ret = bind(fds[i], (struct sockaddr *)&ss, len);

				if (ret == 0 && listen(fds[i], 8) == 0)
					got++;
				else if (ret < 0 && errno != EDQUOT)
					_exit(CHILD_SETUP_FAILED);
			}
			if (write(results[1], &got, sizeof(got)) != sizeof(got))
				_exit(CHILD_SETUP_FAILED);
			/* Hold until the parent closes hold. */
			while (read(hold[0], &c, 1) > 0)
				;
			_exit(0);
		}
	}
	close(results[1]);
	close(hold[0]);
	cr_assert_eq(write(go[1], "gggggggg", RACERS), RACERS, "release the racers");
	for (int r = 0; r < RACERS; r++) {
		int got = 0;

		cr_assert_eq(read(results[0], &got, sizeof(got)), (ssize_t)sizeof(got),
			     "racer %d did not report (setup failed or an errno not EDQUOT)", r);
		held += got;
	}
	cr_expect_eq(held, RACE_MAX, "%d racers held %d ports together, limit %d", RACERS, held,
		     RACE_MAX);
	cr_expect_eq(tunnel_count(ALICE), RACE_MAX, "tg_tunnels[alice] is %u, expected %d",
		     tunnel_count(ALICE), RACE_MAX);
	close(go[1]);
	close(hold[1]);
	close(results[0]);
	for (int r = 0; r < RACERS; r++) {
		cr_assert_eq(waitpid(pids[r], &status, 0), pids[r], "waitpid");
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "racer %d: status %d", r,
			  status);
	}
	cr_expect(wait_tunnel_count(ALICE, 0), "count %u left after every racer exited",
		  tunnel_count(ALICE));
}

/* status shows each uid's count against its limit, from the running programs' limits. */
Test(tunnels, status_shows_counts, .init = setup, .fini = teardown, .timeout = 60)
{
	struct holder alice, bob;

	load_config("tenant-uids = 2001-2003\nmax-tunnels = 2\n"
		    "[tenant alice]\nuser = 2001\nports = 9001\nmax-tunnels = 5\n");
	alice = holder_start(ALICE);
	bob = holder_start(BOB);
	cr_assert_eq(holder_bind(&alice, AF_INET, 0), 0, "alice 1");
	cr_assert_eq(holder_bind(&bob, AF_INET, 0), 0, "bob 1");
	cr_assert_eq(holder_bind(&bob, AF_INET6, 0), 0, "bob 2");
	fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL); /* drift (no daemon) exits 1 */
	cr_expect(strstr(fx.output, "  tunnels:     2 uids hold 3 ports through bind() "
				    "(max-tunnels 2, 1 per-tenant limit)\n"),
		  "status lacks the tunnels summary: %s", fx.output);
	cr_expect(strstr(fx.output, "    uid 2002       2 of 2 (at its limit)\n"),
		  "status lacks bob's count: %s", fx.output);
	cr_expect(strstr(fx.output, "    uid 2001       1 of 5 ([tenant])\n"),
		  "status lacks alice's count: %s", fx.output);
	fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL);
	cr_expect(strstr(fx.output, "\"tunnel_limits\":{\"readable\":true,\"max_tunnels\":2,"
				    "\"per_tenant_limits\":1,\"uids\":2,\"ports\":3,\"top\":["
				    "{\"uid\":2002,\"count\":2,\"limit\":2,\"own_limit\":false},"
				    "{\"uid\":2001,\"count\":1,\"limit\":5,\"own_limit\":true}]}"),
		  "status --json lacks tunnel_limits: %s", fx.output);
	holder_stop(&alice);
	holder_stop(&bob);
}

/* Entries of the fixture's port_owner owned by uid. */
static unsigned int owner_entries(uid_t uid)
{
	char path[PATH_MAX + 32];
	struct tg_port_key key, next;
	struct tg_port_owner owner;
	unsigned int n = 0;
	int fd, more;

	snprintf(path, sizeof(path), "%s/" TG_PIN_PORT_OWNER, fx.pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	for (more = bpf_map_get_next_key(fd, NULL, &next) == 0; more;
	     more = bpf_map_get_next_key(fd, &key, &next) == 0) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &owner) == 0 && owner.uid == uid)
			n++;
	}
	close(fd);
	return n;
}

static uint64_t stat_uid_cap(void)
{
	unsigned long long sums[TG_STAT_COUNT] = {};

	cr_assert_eq(pins_sum_percpu(fx.pin_dir, TG_PIN_STATS, sums, TG_STAT_COUNT), 0,
		     "cannot read tg_stats");
	return sums[TG_STAT_PORT_OWNER_UID_CAP];
}

/*
 * With port-owner-max = 16, one uid other than root owns at most 4 entries: the bind hook refuses
 * the rest (counted), the load's reconciliation does not add them back, and root is not capped.
 */
Test(tunnels, port_owner_uid_cap, .init = setup, .fini = teardown, .timeout = 60)
{
	struct holder alice, root;

	load_config("tenant-uids = 2001-2003\nport-owner-max = 16\n");
	alice = holder_start(ALICE);
	root = holder_start(0);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(holder_bind(&alice, AF_INET, 0), 0, "alice's listener %d", i);
		cr_assert_eq(holder_bind(&root, AF_INET, 0), 0, "root's listener %d", i);
	}
	cr_expect_eq(owner_entries(ALICE), 4, "alice owns %u entries of 16, want 4",
		     owner_entries(ALICE));
	cr_expect_eq(owner_entries(0), 6, "root owns %u entries, want 6", owner_entries(0));
	cr_expect_eq(stat_uid_cap(), 2, "port_owner_uid_cap is %llu, want 2",
		     (unsigned long long)stat_uid_cap());
	/* A swap reconciles port_owner with sock_diag: the cap holds there too. */
	load_config("tenant-uids = 2001-2003\nport-owner-max = 16\nmode = audit\n");
	cr_expect_eq(owner_entries(ALICE), 4, "after a reconciliation alice owns %u entries",
		     owner_entries(ALICE));
	/* Closing one of alice's recorded listeners: the reconciliation drops its entry and adds
	 * one of the listeners the cap left out, and alice still owns 4. */
	cr_assert_eq(holder_ask(&alice, 'c', 0, 0), 0, "close");
	load_config("tenant-uids = 2001-2003\nport-owner-max = 16\n");
	cr_expect_eq(owner_entries(ALICE), 4, "alice owns %u entries after close and sync",
		     owner_entries(ALICE));
	fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL); /* drift (no daemon) exits 1 */
	cr_expect(strstr(fx.output, "    port_owner_uid_cap     "),
		  "status lacks the port_owner_uid_cap stat: %s", fx.output);
	holder_stop(&alice);
	holder_stop(&root);
}
