// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guard never lies about its state (issue 14 items 2-4):
 *  - a `load` and an `unload` started together end in one of the two states they asked for
 *    (all pins and the nft table, or none of them), and status says which; the daemon skips
 *    its passes while a load holds the lock instead of waiting deaf for it;
 *  - a `load` killed at any step boundary (TG_TEST_PAUSE_AT stops it there) leaves a state
 *    that status reports as the kernel runs it: the links' program ids, the policy those
 *    programs carry, and a self-test record only if it is of those programs;
 *  - every pin (and the nft table) deleted by hand is named by status (exit 1) and put back by
 *    `load`, while a cross-tenant connect loop counts no connect slipping through.
 *
 * Needs root. Each test runs in its own network namespace (fx_setup() unshares one: the CLI the
 * tests start inherits it, so the nft table they make is never the host's), cgroup and pin dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"

#include "faults/cross_loop.h"
#include "kernel/fixture.h"
#include "nft.h"

#define TENANT_A 2001 /* owns the listeners */
#define TENANT_B 2002 /* connects to them */
#define PORT	 8001

#define CONFIG_BOTH   "tenant-uids = 2001-2003\nlayers = bpf nft\n"
#define CONFIG_BPF    "tenant-uids = 2001-2003\nlayers = bpf\n"
#define CONFIG_STRICT "tenant-uids = 2001-2003\nlayers = bpf nft\npolicy = strict\n"

/* Reads only, as no guard: a read keeps no socket open, so there is nothing to close. */
static struct nft_handle nft_h;

/* The cgroup hooks in the order status prints them ("programs" in status --json). */
static const struct {
	const char *json;
	const char *link;
	const char *prog;
} hooks[] = {
	{ "connect4", TG_PIN_LINK_CONNECT4, TG_PIN_PROG_CONNECT4 },
	{ "connect6", TG_PIN_LINK_CONNECT6, TG_PIN_PROG_CONNECT6 },
	{ "bind4", TG_PIN_LINK_BIND4, TG_PIN_PROG_BIND4 },
	{ "bind6", TG_PIN_LINK_BIND6, TG_PIN_PROG_BIND6 },
	{ "syn_in", TG_PIN_LINK_SYN_IN, TG_PIN_PROG_SYN_IN },
	{ "post_bind4", TG_PIN_LINK_POST_BIND4, TG_PIN_PROG_POST_BIND4 },
	{ "post_bind6", TG_PIN_LINK_POST_BIND6, TG_PIN_PROG_POST_BIND6 },
	{ "syn_out", TG_PIN_LINK_SYN_OUT, TG_PIN_PROG_SYN_OUT },
};

#define NR_HOOKS (sizeof(hooks) / sizeof(hooks[0]))

/* Every name load pins (loader.c pin_names). */
static const char *const pins[] = { TG_PIN_ALL };

#define NR_PINS (sizeof(pins) / sizeof(pins[0]))

static struct fx fx;
static struct cross_loop loop = { .pid = -1 };
static struct fx_listener v4 = { .pid = -1 }, v6 = { .pid = -1 };
static pid_t stopped_load = -1;
static char status_out[1 << 20]; /* the last run_status() */
static char load_log[PATH_MAX];

static void setup(void)
{
	fx_setup(&fx);
	snprintf(load_log, sizeof(load_log), "/tmp/" FX_PREFIX "%d.load", getpid());
}

static void teardown(void)
{
	if (stopped_load > 0) {
		kill(stopped_load, SIGKILL);
		waitpid(stopped_load, NULL, 0);
		stopped_load = -1;
	}
	if (loop.pid > 0) {
		kill(loop.pid, SIGKILL);
		waitpid(loop.pid, NULL, 0);
		loop.pid = -1;
	}
	fx_listener_stop(&v4);
	fx_listener_stop(&v6);
	if (fx.ready)
		fx_unload(&fx); /* the nft table too: fx_teardown() removes the BPF layer only */
	unlink(load_log);
	status_out[0] = '\0';
	fx_teardown(&fx);
}

static const char *binary(void)
{
	const char *b = getenv("TG_BINARY");

	return b ? b : "build/tunnelguard";
}

/*
 * Start `tunnelguard VERB` (load with the fixture's config) in the background, output to
 * load_log; pause_at, when not NULL, is passed as TG_TEST_PAUSE_AT. go, when not NULL, is a pipe
 * whose end of file the child waits for before its exec, so that two children can be released
 * together.
 */
static pid_t spawn(const char *verb, const char *pause_at, const int *go)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int out = open(load_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		char c;

		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		if (pause_at)
			setenv("TG_TEST_PAUSE_AT", pause_at, 1);
		if (go) {
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(126);
		}
		if (strcmp(verb, "load") == 0)
			execl(binary(), binary(), "load", "-c", fx.config, "--pin-dir", fx.pin_dir,
			      "--cgroup", fx.cgroup, (char *)NULL);
		else
			execl(binary(), binary(), "unload", "--pin-dir", fx.pin_dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The value of "key":NUMBER in json, or -1. */
static long long json_number(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	return p ? strtoll(p + strlen(needle), NULL, 10) : -1;
}

/*
 * status's output, into a buffer far larger than fx_cli()'s: the listeners of other namespaces
 * on this machine (other test runs') show in it.
 */
static int run_status(bool json)
{
	const char *argv[] = { binary(), "status", "--pin-dir", fx.pin_dir, json ? "--json" : NULL,
			       NULL };

	return fx_run_argv(argv, status_out, sizeof(status_out), 0);
}

static int status_json(void)
{
	return run_status(true);
}

static bool pinned(const char *name)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, name);
	return access(path, F_OK) == 0;
}

/* The program id each pinned link runs, read from the kernel; 0 where no link is pinned. */
static void link_prog_ids(unsigned int ids[NR_HOOKS])
{
	char path[PATH_MAX * 2];

	for (size_t i = 0; i < NR_HOOKS; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, hooks[i].link);
		ids[i] = 0;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "link info of %s: %s",
			     path, strerror(errno));
		ids[i] = info.prog_id;
		close(fd);
	}
}

static bool nft_table(void)
{
	bool present = false;

	cr_assert_eq(nft_table_present(&nft_h, &present, NULL, 0), 0,
		     "cannot read the nft ruleset");
	return present;
}

/* The end of a long output, where status puts drift and namespaces. */
static const char *tail_of(const char *text)
{
	size_t n = strlen(text);

	return n > 700 ? text + n - 700 : text;
}

static void release(int go_write)
{
	cr_assert_eq(close(go_write), 0, "close: %s", strerror(errno));
}

/*
 * Item 2: 50 rounds of a load and an unload released together from one pipe, in alternating
 * start states and with a varying head start for one of them. After each round the state is
 * exactly one of the two requested ones, and status says which.
 */
Test(state, load_racing_unload_ends_in_one_requested_state, .init = setup, .fini = teardown,
     .timeout = 120)
{
	int loaded_end = 0, unloaded_end = 0;

	fx_write_config(&fx, CONFIG_BOTH);
	srand((unsigned int)getpid());
	for (int round = 0; round < 50; round++) {
		int go[2], load_rc, unload_rc, status_rc;
		pid_t l, u;
		bool all = true, none = true;

		if (round % 2)
			cr_assert_eq(fx_load(&fx), 0, "round %d: load before: %s", round,
				     fx.output);
		cr_assert_eq(pipe2(go, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
		l = spawn("load", NULL, go);
		if (round % 4 >= 2)
			usleep((useconds_t)(rand() % 20000)); /* one of them starts first */
		u = spawn("unload", NULL, go);
		close(go[0]);
		release(go[1]);
		load_rc = reap(l);
		unload_rc = reap(u);
		cr_assert_eq(load_rc, 0, "round %d: load exited %d (see %s)", round, load_rc,
			     load_log);
		cr_assert_eq(unload_rc, 0, "round %d: unload exited %d (see %s)", round, unload_rc,
			     load_log);
		for (size_t i = 0; i < NR_PINS; i++) {
			all &= pinned(pins[i]);
			none &= !pinned(pins[i]);
		}
		status_rc = status_json();
		if (all && nft_table()) {
			cr_assert_eq(status_rc, 0, "round %d: fully loaded, but status exit %d: %s",
				     round, status_rc, tail_of(status_out));
			cr_assert(
				strstr(status_out,
				       "\"loaded\":true,\"complete\":true,\"layers\":[\"bpf\",\"nft\"]"),
				"round %d: %s", round, status_out);
			loaded_end++;
		} else {
			cr_assert(none, "round %d: neither state: some pins are left (%s)", round,
				  status_out);
			cr_assert_not(nft_table(), "round %d: no pins but the nft table stays",
				      round);
			cr_assert_eq(access(fx.pin_dir, F_OK), -1, "round %d: pin dir left", round);
			cr_assert_eq(status_rc, 3, "round %d: unloaded, but status exit %d: %s",
				     round, status_rc, status_out);
			cr_assert(strstr(status_out, "\"loaded\":false"), "round %d: %s", round,
				  status_out);
			unloaded_end++;
		}
	}
	fprintf(stderr, "state: 50 load/unload races: %d ended loaded, %d unloaded\n", loaded_end,
		unloaded_end);
}

/* The ids of the self-test record status shows: "programs":[...] inside "self_test". */
static void selftest_prog_ids(const char *json, unsigned int ids[TG_SELFTEST_PROGS])
{
	const char *p = strstr(json, "\"self_test\":{");

	memset(ids, 0, sizeof(ids[0]) * TG_SELFTEST_PROGS);
	cr_assert_not_null(p, "no self_test in %s", json);
	p = strstr(p, "\"programs\":[");
	cr_assert_not_null(p, "no self-test programs in %s", json);
	p += strlen("\"programs\":[");
	for (int i = 0; i < TG_SELFTEST_PROGS; i++) {
		char *end;

		ids[i] = (unsigned int)strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
}

static bool id_in(unsigned int id, const unsigned int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

/* The id of the program pinned as name, 0 when none is. */
static unsigned int pinned_prog_id(const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "prog info of %s: %s", path,
		     strerror(errno));
	close(fd);
	return info.id;
}

/* Does the JSON array of strings "key":["a","b"] hold word? */
static bool json_list_has(const char *json, const char *key, const char *word)
{
	char needle[64], quoted[80];
	const char *p, *end;

	snprintf(needle, sizeof(needle), "\"%s\":[", key);
	snprintf(quoted, sizeof(quoted), "\"%s\"", word);
	p = strstr(json, needle);
	if (!p)
		return false;
	p += strlen(needle);
	end = strchr(p, ']');
	for (const char *q = strstr(p, quoted); q && end; q = strstr(q + 1, quoted))
		if (q < end)
			return true;
	return false;
}

static bool id_in_any(const unsigned int ids[NR_HOOKS])
{
	for (size_t i = 0; i < NR_HOOKS; i++)
		if (ids[i])
			return true;
	return false;
}

/*
 * status == kernel: the program ids status shows are the links' (read here from the kernel),
 * the policy it shows is the one the connect4 program carries (old_ids: the programs of the
 * "isolate" load; any other program is the "strict" one being loaded), the self-test shown is
 * of those programs or reported as not run for them, and links running programs of two loads
 * are reported (exit 1).
 */
static void assert_status_is_kernel(const char *when, const unsigned int old_ids[NR_HOOKS])
{
	unsigned int ids[NR_HOOKS], tested[TG_SELFTEST_PROGS];
	int rc = status_json(), n_old = 0, n_new = 0;
	bool stale = false;

	link_prog_ids(ids);
	if (!id_in_any(ids)) {
		/* A fresh load killed before its first attach: nothing is in force. */
		cr_assert_eq(rc, 3, "%s: no link is pinned, status exit %d: %s", when, rc,
			     status_out);
		cr_assert(strstr(status_out, "\"loaded\":false"), "%s: %s", when, status_out);
		return;
	}
	for (size_t i = 0; i < NR_HOOKS; i++) {
		cr_assert_eq(json_number(status_out, hooks[i].json), (long long)ids[i],
			     "%s: status shows %s program %lld, the link runs %u: %s", when,
			     hooks[i].json, json_number(status_out, hooks[i].json), ids[i],
			     status_out);
		if (ids[i] && id_in(ids[i], old_ids, NR_HOOKS))
			n_old++;
		else if (ids[i])
			n_new++;
	}
	if (!ids[0]) {
		/* Nothing runs connect4: only a fresh load killed early; never "loaded" exit 0. */
		cr_assert_neq(rc, 0, "%s: connect4 is not attached, status exit 0: %s", when,
			      status_out);
		return;
	}
	cr_assert(strstr(status_out, id_in(ids[0], old_ids, NR_HOOKS) ? "\"policy\":\"isolate\""
								      : "\"policy\":\"strict\""),
		  "%s: status shows another policy than program %u carries: %s", when, ids[0],
		  status_out);
	if (n_old && n_new) {
		cr_assert_eq(rc, 1, "%s: links run programs of two loads, status exit %d: %s", when,
			     rc, status_out);
		cr_assert(strstr(status_out, "\"inconsistent\":[\"programs\""), "%s: %s", when,
			  status_out);
	}
	/* Pins that name other programs than the links run, or links that are gone. */
	for (size_t i = 0; i < NR_HOOKS; i++) {
		unsigned int pinned_id = pinned_prog_id(hooks[i].prog);

		if (!ids[i]) {
			cr_assert_eq(rc, 1, "%s: %s is not pinned, status exit %d: %s", when,
				     hooks[i].link, rc, status_out);
			cr_assert(json_list_has(status_out, "detached", hooks[i].link),
				  "%s: status does not call %s detached: %s", when, hooks[i].link,
				  status_out);
		} else if (pinned_id != ids[i]) {
			cr_assert_eq(
				rc, 1,
				"%s: pin %s is program %u, the link runs %u, status exit %d: %s",
				when, hooks[i].prog, pinned_id, ids[i], rc, status_out);
			cr_assert(json_list_has(status_out, pinned_id ? "inconsistent" : "missing",
						hooks[i].prog),
				  "%s: status does not name %s: %s", when, hooks[i].prog,
				  status_out);
		}
	}
	selftest_prog_ids(status_out, tested);
	for (size_t i = 0; i < NR_HOOKS; i++)
		stale |= ids[i] && !id_in(ids[i], tested, TG_SELFTEST_PROGS);
	if (stale)
		cr_assert(strstr(status_out,
				 "\"self_test\":{\"result\":\"not run for the running programs\""),
			  "%s: the self-test record is of other programs: %s", when, status_out);
	else
		cr_assert_not(strstr(status_out, "not run for the running programs"),
			      "%s: the record is of these programs: %s", when, status_out);
}

static const char *const steps[] = {
	"programs_loaded", "maps_synced", "objects_pinned", "hook_connect4", "hook_connect6",
	"hook_bind4",	   "hook_bind6",  "hook_syn_in",    "hook_syn_out",  "hook_post_bind4",
	"hook_post_bind6", "self_tested", "nft_applied",
};

/* Start load paused at step, check status there, SIGKILL it, check again. */
static void kill_load_at(const char *scenario, const char *step, const unsigned int old[])
{
	char when[128], busy[64];
	int status;

	stopped_load = spawn("load", step, NULL);
	cr_assert_eq(waitpid(stopped_load, &status, WUNTRACED), stopped_load, "waitpid: %s",
		     strerror(errno));
	cr_assert(WIFSTOPPED(status), "%s: load never reached step %s (exit %d, see %s)", scenario,
		  step, WIFEXITED(status) ? WEXITSTATUS(status) : -1, load_log);
	snprintf(when, sizeof(when), "%s, paused at %s", scenario, step);
	assert_status_is_kernel(when, old);
	/* Status did not wait for the stopped load, and named it. */
	snprintf(busy, sizeof(busy), "\"busy\":{\"pid\":%d,\"stopped\":true}", (int)stopped_load);
	cr_assert(strstr(status_out, busy), "%s: status does not name the stopped load: %s", when,
		  status_out);
	kill(stopped_load, SIGKILL);
	cr_assert_eq(reap(stopped_load), 128 + SIGKILL);
	stopped_load = -1;
	snprintf(when, sizeof(when), "%s, killed at %s", scenario, step);
	assert_status_is_kernel(when, old);
	cr_assert(strstr(status_out, "\"busy\":null"), "%s: nothing holds the lock: %s", when,
		  status_out);
}

/*
 * Item 3: load killed at every step boundary, as a fresh load and as a swap from the "isolate"
 * guard to a "strict" one. The swap runs under tenant B's connect loop against tenant A: after
 * the first complete load no connect may get through at any instant.
 */
Test(state, load_killed_at_every_step_leaves_status_equal_to_kernel, .init = setup,
     .fini = teardown, .timeout = 120)
{
	unsigned int none[NR_HOOKS] = { 0 }, old[NR_HOOKS];
	struct cross_loop_counts c;

	v4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	v6 = fx_listen(TENANT_A, "::1", PORT, true);
	fx_write_config(&fx, CONFIG_STRICT);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		kill_load_at("fresh load", steps[s], none);
		cr_assert_eq(fx_unload(&fx), 0, "unload: %s", fx.output);
	}

	fx_write_config(&fx, CONFIG_BOTH);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cross_loop_start(&loop, &fx, TENANT_B, PORT);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		link_prog_ids(old);
		fx_write_config(&fx, CONFIG_STRICT);
		kill_load_at("swap", steps[s], old);
		cross_loop_wait_progress(&loop, 20);
		/* Back to a complete "isolate" guard for the next step (this also repairs). */
		fx_write_config(&fx, CONFIG_BOTH);
		cr_assert_eq(fx_load(&fx), 0, "load after the kill at %s: %s", steps[s], fx.output);
		cr_assert_eq(status_json(), 0, "after the kill at %s, load left: %s", steps[s],
			     status_out);
	}
	cross_loop_wait_progress(&loop, 100);
	cross_loop_stop(&loop, &c);
	fprintf(stderr, "state: %zu killed swaps: %ld attempts, %ld refused, %ld slipped through\n",
		sizeof(steps) / sizeof(steps[0]), c.attempts, c.refused, c.succeeded);
	cr_assert_eq(c.succeeded, 0, "%ld of %ld cross-tenant connects got through", c.succeeded,
		     c.attempts);
	cr_assert_eq(c.refused, c.attempts, "every connect must be refused (%ld other, first %s)",
		     c.other, strerror(c.first_other_errno));
}

/*
 * A swap under way is not an interrupted one: status polled all through 20 swaps (between an
 * "isolate" and a "strict" guard) waits for each to end and always finds the guard loaded and
 * complete, with the policy of one of the two loads.
 */
Test(state, status_during_swaps_always_finds_the_guard_complete, .init = setup, .fini = teardown,
     .timeout = 120)
{
	int polls = 0, rc;

	fx_write_config(&fx, CONFIG_BOTH);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	for (int swap = 0; swap < 20; swap++) {
		int load_status = 0;
		pid_t load;

		fx_write_config(&fx, swap % 2 ? CONFIG_BOTH : CONFIG_STRICT);
		load = spawn("load", NULL, NULL);
		do {
			rc = status_json();
			polls++;
			cr_assert_eq(rc, 0, "swap %d: status exit %d during a load: %s", swap, rc,
				     status_out);
			cr_assert(strstr(status_out, "\"policy\":\"isolate\"") ||
					  strstr(status_out, "\"policy\":\"strict\""),
				  "swap %d: %s", swap, status_out);
		} while (waitpid(load, &load_status, WNOHANG) == 0);
		cr_assert(WIFEXITED(load_status) && WEXITSTATUS(load_status) == 0,
			  "swap %d: load failed (see %s)", swap, load_log);
		cr_assert_eq(status_json(), 0, "after swap %d: %s", swap, status_out);
		cr_assert(strstr(status_out,
				 swap % 2 ? "\"policy\":\"isolate\"" : "\"policy\":\"strict\""),
			  "swap %d is not in force: %s", swap, status_out);
	}
	fprintf(stderr, "state: 20 swaps, %d status polls during them, all exit 0\n", polls);
}

/* Item 4: delete one pin (or the nft table), status names it, load repairs it. */
static void delete_and_repair(const char *name, bool table)
{
	struct cross_loop_counts c;
	char path[PATH_MAX * 2], out[256];
	long slipped_before_load = 0;
	bool link = strncmp(name, "link_", 5) == 0;
	int rc;

	cr_assert_eq(fx_load(&fx), 0, "%s: load: %s", name, fx.output);
	cr_assert_eq(status_json(), 0, "%s: before: %s", name, status_out);
	/*
	 * A deleted link pin with no other holder destroys the link, which detaches its hook at
	 * once: that deletion opens a gap until load attaches it again. For a link the loop is
	 * judged from the end of the repairing load on (the connects that got through before are
	 * printed, not asserted); for every other pin from before the deletion on.
	 */
	cross_loop_start(&loop, &fx, TENANT_B, PORT);
	if (table) {
		cr_assert_eq(fx_run("nft delete table inet " TG_NFT_TABLE_NAME " 2>&1", out,
				    sizeof(out)),
			     0, "nft delete table: %s", out);
	} else {
		snprintf(path, sizeof(path), "%s/%s", fx.pin_dir, name);
		cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
	}
	rc = run_status(false);
	cr_assert_eq(rc, 1, "%s deleted: status exit %d: %s", name, rc, status_out);
	cr_assert(strstr(status_out, "DEGRADED"), "%s deleted: %s", name, status_out);
	cr_assert(strstr(status_out, table ? "missing:     table inet " TG_NFT_TABLE_NAME : name),
		  "%s deleted: status does not name it: %s", name, status_out);
	if (link)
		cr_assert(strstr(status_out, "detached:"), "%s: %s", name, status_out);
	cross_loop_wait_progress(&loop, 20);
	cr_assert_eq(fx_load(&fx), 0, "%s deleted: load does not repair: %s", name, fx.output);
	/* The loop's attempts run one after another: two more, and the one that may have begun
	 * before the hook was attached again is counted. */
	cross_loop_wait_progress(&loop, 2);
	slipped_before_load = __atomic_load_n(&loop.shared->succeeded, __ATOMIC_SEQ_CST);
	cr_assert_eq(status_json(), 0, "%s deleted, after load: %s", name, status_out);
	cr_assert(strstr(status_out, "\"loaded\":true,\"complete\":true"), "%s: %s", name,
		  status_out);
	cr_assert(table ? nft_table() : pinned(name), "%s: not put back", name);
	cross_loop_wait_progress(&loop, 50);
	cross_loop_stop(&loop, &c);
	if (link)
		fprintf(stderr, "state: %s deleted: %ld connects got through before load\n", name,
			slipped_before_load);
	else
		cr_assert_eq(slipped_before_load, 0, "%s: %ld connects got through", name,
			     slipped_before_load);
	cr_assert_eq(c.succeeded, slipped_before_load,
		     "%s: %ld connects got through after the repairing load", name,
		     c.succeeded - slipped_before_load);
}

/*
 * Pin by pin with the BPF layer alone (so that the nft layer cannot hide a BPF gap), then the
 * nft table with both layers.
 */
Test(state, every_deleted_pin_is_named_and_repaired_by_load, .init = setup, .fini = teardown,
     .timeout = 120)
{
	/* Outside the guard's cgroup: no SYN check for them, so a detached connect hook shows as
	 * connects that get through (printed), not as connects held up until they time out. */
	fx_listen_outside = true;
	v4 = fx_listen(TENANT_A, "127.0.0.1", PORT, false);
	v6 = fx_listen(TENANT_A, "::1", PORT, true);
	fx_write_config(&fx, CONFIG_BPF);
	for (size_t i = 0; i < NR_PINS; i++)
		delete_and_repair(pins[i], false);
	fx_write_config(&fx, CONFIG_BOTH);
	delete_and_repair("nft table", true);
}

/*
 * Item 2, the daemon: its reconciliation passes take the load lock per pass and skip a pass
 * while a load holds it, so a load stopped mid-way (TG_TEST_PAUSE_AT) neither blocks the daemon
 * nor is raced by it: the daemon still answers SIGTERM at once. Waiting for the lock instead
 * would leave it deaf until the load ends.
 */
Test(state, daemon_skips_passes_while_a_load_holds_the_lock, .init = setup, .fini = teardown)
{
	struct timespec start, now;
	int status = 0, daemon_exit = -1;
	pid_t daemon;

	fx_write_config(&fx, CONFIG_BPF);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	daemon = fx_daemon_start(&fx, "--interval", "100", "--no-self-test", NULL);
	for (int i = 0; i < 300 && fx_count_lines(fx.daemon_err, "daemon running") < 1; i++)
		usleep(10000);
	cr_assert_eq(fx_count_lines(fx.daemon_err, "daemon running"), 1,
		     "daemon did not start (%s)", fx.daemon_err);

	stopped_load = spawn("load", "objects_pinned", NULL);
	cr_assert_eq(waitpid(stopped_load, &status, WUNTRACED), stopped_load, "waitpid: %s",
		     strerror(errno));
	cr_assert(WIFSTOPPED(status), "load never reached objects_pinned (see %s)", load_log);
	usleep(500000); /* five reconciliation intervals with the lock held */

	clock_gettime(CLOCK_MONOTONIC, &start);
	kill(daemon, SIGTERM);
	for (int i = 0; i < 200 && daemon_exit < 0; i++) {
		if (waitpid(daemon, &status, WNOHANG) == daemon)
			daemon_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		else
			usleep(10000);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Release the lock before asserting, so that a deaf daemon can be reaped. */
	kill(stopped_load, SIGKILL);
	reap(stopped_load);
	stopped_load = -1;
	if (daemon_exit < 0)
		daemon_exit = fx_daemon_stop(daemon, SIGKILL) + 1000;
	cr_assert_eq(daemon_exit, 0,
		     "the daemon did not exit on SIGTERM while a load held the lock (%d; 1000+: "
		     "it only ended once the lock was free)",
		     daemon_exit);
	fprintf(stderr, "state: daemon exited %.0f ms after SIGTERM with the lock held\n",
		(now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6);
	/* The killed load left pins out of step with the links: the next load repairs them. */
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	cr_assert_eq(status_json(), 0, "after the repair: %.2000s", status_out);
}
