// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loud at capacity, on the real kernel: a guard whose port_owner holds 64 listeners
 * (port-owner-max = 64, so each uid may take 16) and 70 tenant listeners of five tenants, 14
 * each: every tenant within its share, the map full. status exits 1 and says in words that
 * port_owner is full and how many listeners it lacks, the Prometheus metrics say the same, the
 * daemon logs the warning, and the nft set `owned` holds every tenant listener's uid . port
 * anyway (the daemon fills it from sock_diag). A loaded map of 64 is not resized by a load
 * asking for 128; and an nft batch the kernel refuses for its size is split and sent.
 * Needs root; runs in the fixture's own network namespace (unshare, bpffs stays visible), with
 * its own cgroup and pin dir.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nft.h"

#include "fixture.h"

#define TENANTS	   5	/* 2001-2005, each listening on 9000 + 100 * i, PER_TENANT ports */
#define PER_TENANT 14	/* within a uid's share of 64 / 4 */
#define TENANT_C   2006 /* its LATE listeners, after the map is full */
#define PORT_C	   9600
#define LATE	   10
#define MAP_SIZE   64
#define UNTRACKED  (TENANTS * PER_TENANT - MAP_SIZE)

#define CONFIG "tenant-uids = 2001-2006\nlayers = bpf nft\nport-owner-max = 64\n"

/* Reads only, as no guard: a read keeps no socket open, so there is nothing to close. */
static struct nft_handle nft_h;

static struct fx fx;
static pid_t holders[TENANTS + 1];

static void setup(void)
{
	fx_setup(&fx);
	if (access("/usr/sbin/nft", X_OK) != 0)
		cr_skip_test("the nft command (Debian package nftables) is not installed");
}

static void teardown(void)
{
	for (int i = 0; i < TENANTS + 1; i++) {
		if (holders[i] > 0) {
			kill(holders[i], SIGKILL);
			waitpid(holders[i], NULL, 0);
		}
		holders[i] = 0;
	}
	unsetenv("TUNNELGUARD_TEST_NFT_BATCH_MAX");
	fx_teardown(&fx);
}

/* A child of uid that listens on 127.0.0.1:first .. first+n-1 and waits to be killed. */
static pid_t listen_many(uid_t uid, uint16_t first, int n)
{
	int ready[2];
	char ok = 0;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		if (fx_join_cgroup(&fx) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(1);
		for (int i = 0; i < n; i++) {
			struct sockaddr_in sa = { .sin_family = AF_INET,
						  .sin_port = htons((uint16_t)(first + i)),
						  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			int fd = socket(AF_INET, SOCK_STREAM, 0);

			if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    listen(fd, 4) < 0)
				_exit(2);
		}
		ok = 1;
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &ok, 1), 1, "listener child of uid %u failed", uid);
	close(ready[0]);
	return pid;
}

/* How many of uid's ports first..first+n-1 the nft set owned holds. */
static int owned_count(const struct nft_state *st, uint32_t uid, uint16_t first, int n)
{
	int found = 0;

	for (size_t i = 0; i < st->n_owners; i++)
		found += st->owners[i].tenant && st->owners[i].uid == uid &&
			 st->owners[i].port >= first && st->owners[i].port < first + n;
	return found;
}

/* How many of TENANT_C's late listeners owned holds. */
static int late_owned(void)
{
	struct nft_state st;
	int n;

	cr_assert_eq(nft_read(&nft_h, &st), 0, "nft_read failed");
	n = owned_count(&st, TENANT_C, PORT_C, LATE);
	nft_state_free(&st);
	return n;
}

/* Wait up to timeout_ms until owned holds every tenant listener; how many it held last. */
static int wait_owned_complete(int timeout_ms)
{
	int have = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		struct nft_state st;

		cr_assert_eq(nft_read(&nft_h, &st), 0, "nft_read failed");
		have = 0;
		for (int t = 0; t < TENANTS; t++)
			have += owned_count(&st, (uint32_t)(2001 + t), (uint16_t)(9000 + 100 * t),
					    PER_TENANT);
		nft_state_free(&st);
		if (have == TENANTS * PER_TENANT)
			break;
		usleep(50000);
	}
	return have;
}

static bool wait_log(const char *path, const char *text, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		if (fx_count_lines(path, text) > 0)
			return true;
		usleep(50000);
	}
	return false;
}

static void start_listeners(void)
{
	for (int t = 0; t < TENANTS; t++)
		holders[t] = listen_many((uid_t)(2001 + t), (uint16_t)(9000 + 100 * t), PER_TENANT);
}

Test(capacity, full_port_owner_is_loud_and_nft_stays_complete, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char want[PATH_MAX + 200];
	pid_t daemon;
	int status;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0,
		     "status before the listeners: %s", fx.output);
	cr_expect(strstr(fx.output, "port_owner:  0 of 64 entries") != NULL, "%s", fx.output);

	/* One reconciliation at start, none after: what follows is the daemon noticing the full
	 * map by itself and feeding the nft sets from sock_diag. */
	daemon = fx_daemon_start(&fx, "--interval", "3600000", NULL);
	cr_assert(wait_log(fx.daemon_err, "daemon running", 5000), "daemon did not start");
	start_listeners();

	/* The daemon's warning, in words. (It counts what it saw when the map filled, which may
	 * be before the second tenant's last listener: status below checks the exact count.) */
	snprintf(want, sizeof(want), "listeners are not tracked; raise port-owner-max in %s",
		 fx.config);
	cr_expect(wait_log(fx.daemon_err, "port_owner is full (64 entries): ", 10000),
		  "daemon never logged that port_owner is full");
	cr_expect_eq(fx_count_lines(fx.daemon_err, want), 1, "daemon never logged '%s'", want);

	/* The nft layer is complete although port_owner lacks UNTRACKED of the listeners. */
	cr_expect_eq(wait_owned_complete(10000), TENANTS * PER_TENANT,
		     "nft set owned lacks tenant listeners (port_owner holds %d)", MAP_SIZE);
	/* Listeners that come now send no event (the map is full) and no reconciliation is due:
	 * only the daemon's sock_diag polls can put them into the set. */
	holders[TENANTS] = listen_many(TENANT_C, PORT_C, LATE);
	for (int waited = 0; waited <= 5000 && late_owned() < LATE; waited += 50)
		usleep(50000);
	cr_expect_eq(late_owned(), LATE, "nft set owned has %d of %d late listeners", late_owned(),
		     LATE);

	status = fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL);
	cr_expect_eq(status, 1, "status exit %d: %s", status, fx.output);
	snprintf(want, sizeof(want),
		 "port_owner is full (64 entries): %d listeners are not tracked", UNTRACKED + LATE);
	cr_expect(strstr(fx.output, want) != NULL, "status lacks '%s': %s", want, fx.output);
	cr_expect(strstr(fx.output, "CAPACITY EXCEEDED: port_owner") != NULL, "%s", fx.output);
	cr_expect(strstr(fx.output, "port_owner:  64 of 64 entries") != NULL, "%s", fx.output);
	cr_expect(strstr(fx.output, "nft set owned lacks") == NULL,
		  "status reports nft drift although the sets are complete: %s", fx.output);

	status = fx_cli(&fx, "status", "--prometheus", "--pin-dir", fx.pin_dir, NULL);
	cr_expect(strstr(fx.output, "\ntunnelguard_capacity_exceeded{resource=\"port_owner\"} 1\n"),
		  "%s", fx.output);
	cr_expect(strstr(fx.output, "\ntunnelguard_port_owner_max_entries 64\n"), "%s", fx.output);
	snprintf(want, sizeof(want), "\ntunnelguard_listeners_untracked %d\n", UNTRACKED + LATE);
	cr_expect(strstr(fx.output, want), "no '%s' in %s", want + 1, fx.output);
	cr_expect(strstr(fx.output, "\ntunnelguard_port_owner_full_total 0\n") == NULL,
		  "the kernel did not count the listeners it could not record: %s", fx.output);

	/* Room again: the listeners go. */
	for (int i = 0; i < TENANTS + 1; i++) {
		kill(holders[i], SIGKILL);
		waitpid(holders[i], NULL, 0);
		holders[i] = 0;
	}
	/* The map empties by events: port_owner is no longer exceeded. (Not "status exits 0":
	 * listener churn in other tests' namespaces can overflow netns_events meanwhile, which
	 * the kernel counts with owner_events, and status rightly reports that.) */
	for (int waited = 0; waited <= 10000; waited += 100) {
		fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL);
		if (strstr(fx.output, "port_owner:  0 of 64 entries"))
			break;
		usleep(100000);
	}
	cr_expect(strstr(fx.output, "port_owner:  0 of 64 entries") &&
			  !strstr(fx.output, "port_owner is full") &&
			  !strstr(fx.output, "CAPACITY EXCEEDED: port_owner"),
		  "status after the listeners left: %s", fx.output);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
}

/* A loaded map is never resized under the running hooks: load refuses, the guard stays. */
Test(capacity, loaded_map_is_not_resized, .init = setup, .fini = teardown, .timeout = 60)
{
	char before[256], *ids;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	ids = strstr(fx.output, "programs:");
	cr_assert_not_null(ids, "%s", fx.output);
	snprintf(before, sizeof(before), "%.*s", (int)strcspn(ids, "\n"), ids);

	fx_write_config(&fx, "tenant-uids = 2001-2006\nlayers = bpf nft\nport-owner-max = 128\n");
	cr_expect_neq(fx_load(&fx), 0, "load resized a loaded map: %s", fx.output);
	cr_expect(strstr(fx.output, "port-owner-max = 128, but the loaded guard's map") &&
			  strstr(fx.output, "holds 64 entries") &&
			  strstr(fx.output, "run `tunnelguard unload` and `tunnelguard load`"),
		  "%s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_expect(strstr(fx.output, before) != NULL, "the programs changed: was '%s', now %s",
		  before, fx.output);
	cr_expect(strstr(fx.output, "port_owner:  0 of 64 entries") != NULL, "%s", fx.output);

	/* Unload and load applies it. */
	cr_assert_eq(fx_unload(&fx), 0, "%s", fx.output);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL), 0, "%s", fx.output);
	cr_expect(strstr(fx.output, "port_owner:  0 of 128 entries") != NULL, "%s", fx.output);
}

/* An nft batch refused for its size (the test hook refuses batches over 1,500 bytes) is sent
 * in parts: the sets are complete, the daemon says so, and status and the metrics count it. */
Test(capacity, nft_batch_refused_for_size_is_split, .init = setup, .fini = teardown, .timeout = 60)
{
	pid_t daemon;

	fx_write_config(&fx, "tenant-uids = 2001-2006\nlayers = bpf nft\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	/* Listeners the table does not have yet: the daemon's first sync adds 70 pairs. */
	start_listeners();
	setenv("TUNNELGUARD_TEST_NFT_BATCH_MAX", "1500", 1);
	daemon = fx_daemon_start(&fx, "--interval", "500", NULL);
	unsetenv("TUNNELGUARD_TEST_NFT_BATCH_MAX");
	cr_assert(wait_log(fx.daemon_err, "daemon running", 10000), "daemon did not start");
	cr_expect(wait_log(fx.daemon_err, "nftables refused a batch of", 5000),
		  "the daemon did not say it split a batch");
	cr_expect_eq(wait_owned_complete(10000), TENANTS * PER_TENANT, "nft set owned incomplete");
	cr_expect_eq(fx_count_lines(fx.daemon_err, "nft sets incomplete"), 0,
		     "a part was refused too");
	/* The daemon's state file reaches status after its next check (once a second). */
	for (int i = 0; i < 40; i++) {
		fx_cli(&fx, "status", "--prometheus", "--pin-dir", fx.pin_dir, NULL);
		if (strstr(fx.output, "\ntunnelguard_nft_batches_split_total ") &&
		    !strstr(fx.output, "\ntunnelguard_nft_batches_split_total 0\n"))
			break;
		usleep(100000);
	}
	cr_expect(strstr(fx.output, "\ntunnelguard_nft_batches_split_total ") &&
			  !strstr(fx.output, "\ntunnelguard_nft_batches_split_total 0\n"),
		  "%s", fx.output);
	cr_expect(strstr(fx.output, "\ntunnelguard_nft_batches_refused_total 0\n"), "%s",
		  fx.output);
	/* Split and sent is reported, not exceeded. (Exit 1 may still come from netns_events
	 * overflowing under other tests' listener churn, counted with owner_events.) */
	fx_cli(&fx, "status", "--pin-dir", fx.pin_dir, NULL);
	cr_expect(
		strstr(fx.output, "element batches for their size; the daemon sent each in parts"),
		"%s", fx.output);
	cr_expect(!strstr(fx.output, "CAPACITY EXCEEDED: nft_batch") &&
			  !strstr(fx.output, "nft set owned lacks"),
		  "%s", fx.output);
	cr_expect_eq(fx_daemon_stop(daemon, SIGTERM), 0);
}
