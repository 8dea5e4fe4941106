// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy at hub scale on the real kernel (issue 16): a config of 50,000 [tenant] sections with one
 * reserved port each, and a tenant-group of 100,000 members, load with no cap message, and what
 * `tunnelguard check` answers for a seeded random sample of 1,000 uids and ports (read back from
 * the running guard's maps) is what the kernel does to a real bind() or connect() of that uid;
 * then 20 `load` swaps between two such policies while a tenant hammers a refused connect and a
 * refused bind: nothing slips through. Load, check, status and swap times are printed
 * (`scale: ...` lines) and asserted only loosely, so that a busy CI machine does not fail them.
 *
 * Needs root; each test runs in the fixture's own network namespace and cgroup (fixture.h). The
 * synthetic tenants are uids from 3100000 up and, for the second half of the group's members
 * (scattered far above the uid bitmap, as a directory service's uids are), from 4170500000 up,
 * which the test checks no account uses; the 100,000 members of the group exist only in copies of
 * /etc/passwd and /etc/group bind-mounted in a private mount namespace of a child: the host's user
 * database is never touched. Set TG_SCALE_SEED=N to replay a sample.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"
#include "mounts.h"

#define ALICE 2001 /* tenant with a listener and a reservation */
#define BOB   2002 /* tenant who tries the other tenants' ports */
#define CAROL 2003 /* tenant who holds 9001 in policy B of the swap test */

#define SYNTH_UID   3100000U /* first synthetic tenant uid: no account may use it or above */
#define SYNTH_SPAN  400000U  /* synthetic uids are SYNTH_UID .. SYNTH_UID + SYNTH_SPAN - 1 */
#define N_SECTIONS  50000U
#define PORT_BASE   10000U /* synthetic tenant i reserves PORT_BASE + i: 10000-59999 */
#define N_MEMBERS   100000U
#define MEMBER_STEP 3U /* group member i is uid SYNTH_UID + 3 * i, the second half ... */
#define HIGH_SYNTH_UID                                                    \
	4170500000U /* ... HIGH_SYNTH_UID + 3 * (i - N_MEMBERS / 2), as a \
		     * directory service's uids are: far above the uid bitmap */
#define HIGH_SYNTH_SPAN (MEMBER_STEP * N_MEMBERS / 2 + 3)
#define PRIMARY_STEP	1000U	  /* every 1000th i also has an account member_uid(i) + 2 ... */
#define SCALE_GROUP	"tgscale" /* ... whose primary group is SCALE_GROUP, not listed in it */
#define SCALE_GID	3100000U
#define N_SAMPLE	1000U
#define LISTEN_PORT	8001 /* ALICE's listener: outside every reservation */

/* Targets of the issue, and the much looser bounds asserted here (a shared 2-vCPU machine). */
#define LOAD_TARGET_MS	   1000.0
#define LOAD_BOUND_MS	   5000.0
#define CHECK_TARGET_MS	   50.0
#define CHECK_BOUND_MS	   500.0
#define STATUS_TARGET_MS   1000.0
#define STATUS_BOUND_MS	   10000.0
#define SWAPS		   20
#define MIN_ATTEMPTS	   1000
#define HAMMER_MAX_SECONDS 50

static struct fx fx;
static char files[4][PATH_MAX]; /* generated configs and user database copies, removed at fini */
static pid_t helper_pid = -1;	/* the mount-namespace child or the hammer loop */
static struct fx_listener listener = { .pid = -1 };
static char *big; /* output of status --json and of the namespace child */
#define BIG_LEN (32 << 20)

static void setup(void)
{
	fx_setup(&fx);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		snprintf(files[i], sizeof(files[i]), "/tmp/" FX_PREFIX "%d-scale-%zu", getpid(), i);
	big = mmap(NULL, BIG_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(big, MAP_FAILED, "mmap: %s", strerror(errno));
	big[0] = '\0';
}

static void teardown(void)
{
	if (helper_pid > 0) {
		kill(helper_pid, SIGKILL);
		waitpid(helper_pid, NULL, 0);
		helper_pid = -1;
	}
	fx_listener_stop(&listener);
	fx_teardown(&fx);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][0])
			unlink(files[i]);
	if (big && big != MAP_FAILED)
		munmap(big, BIG_LEN);
	big = NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* xorshift64*: the same sample from the same seed on any libc. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t seed_sample(const char *test)
{
	const char *env = getenv("TG_SCALE_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();

	rng_state = seed ? seed : 1;
	fprintf(stderr, "scale: %s: seed %llu (TG_SCALE_SEED=%llu replays it)\n", test,
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

/*
 * Run argv with stdout and stderr into out (NUL-terminated, the rest dropped); *ms gets the wall
 * time. Its exit status, 128 + signal, or -1 when it could not be run. No assertion: the
 * mount-namespace child uses it too.
 */
static int run_timed(const char *const *argv, char *out, size_t len, double *ms)
{
	double start = now_ms();
	int rc = fx_try_run_argv(argv, out, len, 60);

	*ms = now_ms() - start;
	return rc;
}

static int load_file(const char *config, char *out, size_t len, double *ms)
{
	const char *argv[] = { fx_binary(), "load",	"-c",	   config, "--pin-dir",
			       fx.pin_dir,  "--cgroup", fx.cgroup, NULL };

	return run_timed(argv, out, len, ms);
}

/* `check --uid uid --bind port` (bind) or `--port port --addr 127.0.0.1` against the guard. */
static int check(uid_t uid, uint16_t port, bool bind, char *out, size_t len, double *ms)
{
	char uid_text[16], port_text[8];
	const char *argv[] = { fx_binary(),
			       "check",
			       "--pin-dir",
			       fx.pin_dir,
			       "--uid",
			       uid_text,
			       bind ? "--bind" : "--port",
			       port_text,
			       "--addr",
			       "127.0.0.1",
			       NULL };

	snprintf(uid_text, sizeof(uid_text), "%u", uid);
	snprintf(port_text, sizeof(port_text), "%u", port);
	if (bind)
		argv[8] = NULL; /* a reservation holds on every address: no --addr */
	return run_timed(argv, out, len, ms);
}

/* A message about a cap or a limit that a hub-scale config must not meet. */
static void assert_no_cap_message(const char *what, const char *text)
{
	static const char *const words[] = { "more than", "at most", "too many", "too large",
					     "cap " };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		cr_assert_null(strcasestr(text, words[i]), "%s says '%s': %.2000s", what, words[i],
			       strcasestr(text, words[i]));
}

/* No account of the host's user database has a uid in the synthetic range, nor the group. */
static void assert_synthetic_ids_unused(void)
{
	struct passwd *pw;

	cr_assert_null(getpwuid(SYNTH_UID), "uid %u belongs to an account: the test refuses to run",
		       SYNTH_UID);
	cr_assert_null(getpwuid(SYNTH_UID + SYNTH_SPAN - 1),
		       "uid %u belongs to an account: the test refuses to run",
		       SYNTH_UID + SYNTH_SPAN - 1);
	setpwent();
	while ((pw = getpwent())) {
		cr_assert(
			pw->pw_uid < SYNTH_UID || pw->pw_uid >= SYNTH_UID + SYNTH_SPAN,
			"account %s has uid %u, in the test's synthetic range %u-%u: the test refuses to run",
			pw->pw_name, pw->pw_uid, SYNTH_UID, SYNTH_UID + SYNTH_SPAN - 1);
		cr_assert(
			pw->pw_uid < HIGH_SYNTH_UID ||
				pw->pw_uid >= HIGH_SYNTH_UID + HIGH_SYNTH_SPAN,
			"account %s has uid %u, in the test's synthetic range %u-%u: the test refuses to run",
			pw->pw_name, pw->pw_uid, HIGH_SYNTH_UID,
			HIGH_SYNTH_UID + HIGH_SYNTH_SPAN - 1);
	}
	endpwent();
	cr_assert_null(getgrnam(SCALE_GROUP), "group %s exists on this host", SCALE_GROUP);
	cr_assert_null(getgrgid(SCALE_GID), "gid %u exists on this host", SCALE_GID);
}

static FILE *create_file(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static void close_file(FILE *f, const char *path)
{
	cr_assert_eq(fclose(f), 0, "cannot write %s: %s", path, strerror(errno));
}

/* head, then N_SECTIONS sections: [tenant tNNNNN], user = SYNTH_UID + i, ports = PORT_BASE + i. */
static void write_scale_config(const char *path, const char *head)
{
	FILE *f = create_file(path);

	fputs(head, f);
	for (unsigned int i = 0; i < N_SECTIONS; i++)
		fprintf(f, "[tenant t%05u]\nuser = %u\nports = %u\n", i, SYNTH_UID + i,
			PORT_BASE + i);
	close_file(f, path);
}

static uid_t synth_uid(unsigned int i)
{
	return SYNTH_UID + i;
}

static uint16_t synth_port(unsigned int i)
{
	return (uint16_t)(PORT_BASE + i);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), compare_doubles);
	return n ? v[n / 2] : 0;
}

/* ---- 50,000 [tenant] sections ---- */

#define ACTOR_SECTIONS                                \
	"[tenant alice]\nuser = 2001\nports = 9001\n" \
	"[tenant bob]\nuser = 2002\nports = 9002\n"

struct bind_sample {
	uid_t uid;
	uint16_t port;
	bool own; /* the port is reserved for uid: allowed; else another's: EACCES */
};

/*
 * Load 50,000 sections, then for 1,000 random (tenant, port) pairs, half the tenant's own port
 * and half another tenant's, `check --bind` must answer what the construction says and the
 * kernel must do the same to a real bind() of that uid on 127.0.0.1:port.
 */
Test(scale, fifty_thousand_sections, .init = setup, .fini = teardown, .timeout = 120)
{
	struct bind_sample samples[N_SAMPLE + 2] = {
		{ ALICE, 9001, true }, /* the actors, then the random sample */
		{ BOB, 9001, false },
	};
	static double check_ms[N_SAMPLE + 2];
	double load_ms, status_ms, check_max = 0;
	const char *status_argv[] = {
		fx_binary(), "status", "--json", "--pin-dir", fx.pin_dir, NULL
	};
	char out[4096], section[64];
	size_t n = 2;
	int ret;

	assert_synthetic_ids_unused();
	write_scale_config(fx.config, ACTOR_SECTIONS);
	ret = load_file(fx.config, fx.output, sizeof(fx.output), &load_ms);
	fprintf(stderr,
		"scale: fifty_thousand_sections: load of %u sections: %.0f ms (target < %.0f)\n",
		N_SECTIONS + 2, load_ms, LOAD_TARGET_MS);
	cr_assert_eq(ret, 0, "load of %u sections failed (%d): %s", N_SECTIONS + 2, ret, fx.output);
	assert_no_cap_message("load", fx.output);
	cr_assert_lt(load_ms, LOAD_BOUND_MS, "load took %.0f ms", load_ms);

	seed_sample("fifty_thousand_sections");
	for (; n < N_SAMPLE + 2; n++) {
		unsigned int i = (unsigned int)(rng_next() % N_SECTIONS), j = i;
		bool own = rng_next() & 1;

		while (!own && j == i)
			j = (unsigned int)(rng_next() % N_SECTIONS);
		samples[n] = (struct bind_sample){ synth_uid(i), synth_port(j), own };
	}
	for (size_t k = 0; k < n; k++) {
		const struct bind_sample *s = &samples[k];
		const char *want = s->own ? "allow_bind_own" : "deny_bind_reserved";
		int got;

		ret = check(s->uid, s->port, true, out, sizeof(out), &check_ms[k]);
		if (check_ms[k] > check_max)
			check_max = check_ms[k];
		cr_assert_eq(ret, s->own ? 0 : 1, "check --uid %u --bind %u exited %d: %s", s->uid,
			     s->port, ret, out);
		cr_assert(strstr(out, want), "check --uid %u --bind %u: expected %s: %s", s->uid,
			  s->port, want, out);
		assert_no_cap_message("check", out);
		got = fx_bind_as(&fx, s->uid, AF_INET, SOCK_STREAM, "127.0.0.1", s->port, false);
		cr_assert_eq(got, s->own ? 0 : EACCES,
			     "uid %u bind 127.0.0.1:%u: check said %s, the kernel gave %s", s->uid,
			     s->port, ret ? "deny" : "allow", got ? strerror(got) : "success");
	}
	fprintf(stderr,
		"scale: fifty_thousand_sections: %zu checks agree with the kernel's bind(); check median %.1f ms, max %.1f ms (target < %.0f)\n",
		n, median(check_ms, n), check_max, CHECK_TARGET_MS);
	cr_assert_lt(median(check_ms, n), CHECK_BOUND_MS, "check median %.1f ms",
		     median(check_ms, n));

	ret = run_timed(status_argv, big, BIG_LEN, &status_ms);
	fprintf(stderr,
		"scale: fifty_thousand_sections: status --json: %.0f ms, %zu bytes (target < %.0f)\n",
		status_ms, strlen(big), STATUS_TARGET_MS);
	cr_assert_eq(ret, 0, "status --json exited %d: %.2000s", ret, big);
	cr_assert(strstr(big, "\"loaded\":true,\"complete\":true"), "status: %.2000s", big);
	snprintf(section, sizeof(section), "\"t%05u\"", N_SECTIONS - 1);
	cr_assert(strstr(big, section), "status --json does not name the last section %s", section);
	assert_no_cap_message("status --json", big);
	cr_assert_lt(status_ms, STATUS_BOUND_MS, "status --json took %.0f ms", status_ms);
}

/* ---- a tenant-group of 100,000 members ---- */

enum member_kind {
	LISTED,	 /* in the group's member list: a tenant */
	PRIMARY, /* the group is its primary group: a tenant */
	OUTSIDE, /* no account, not in the group: not a tenant (a hub service, to the guard) */
};

struct member_sample {
	uid_t uid;
	int kind;	/* enum member_kind */
	int check_exit; /* of `check --uid U --port LISTEN_PORT` in the namespace child */
	bool check_said_other_tenant; /* its reason was deny_other_tenant */
	bool check_said_not_tenant;   /* allow_not_tenant */
	double check_ms;
};

/* What the namespace child reports through shared memory (no assertion can run there). */
struct ns_report {
	int load_exit;
	double load_ms;
	size_t group_members; /* gr_mem of SCALE_GROUP as the child sees it */
	bool bpffs_visible, cgroup_visible, pins_visible;
	char failure[512]; /* empty when every step ran */
	char load_output[8192];
	struct member_sample samples[N_SAMPLE];
};

static uid_t member_uid(unsigned int i)
{
	if (i >= N_MEMBERS / 2)
		return HIGH_SYNTH_UID + MEMBER_STEP * (i - N_MEMBERS / 2);
	return SYNTH_UID + MEMBER_STEP * i;
}

/* Copies of the host's passwd and group with N_MEMBERS accounts and SCALE_GROUP listing them. */
static void write_user_database(const char *passwd_path, const char *group_path)
{
	FILE *f = create_file(passwd_path), *host;
	char line[4096];

	host = fopen("/etc/passwd", "re");
	cr_assert_not_null(host, "cannot read /etc/passwd: %s", strerror(errno));
	while (fgets(line, sizeof(line), host))
		fputs(line, f);
	fclose(host);
	for (unsigned int i = 0; i < N_MEMBERS; i++) {
		fprintf(f, "tgs%06u:x:%u:65534::/nonexistent:/usr/sbin/nologin\n", i,
			member_uid(i));
		if (i % PRIMARY_STEP == 0)
			fprintf(f, "tgp%06u:x:%u:%u::/nonexistent:/usr/sbin/nologin\n", i,
				member_uid(i) + 2, SCALE_GID);
	}
	close_file(f, passwd_path);

	f = create_file(group_path);
	host = fopen("/etc/group", "re");
	cr_assert_not_null(host, "cannot read /etc/group: %s", strerror(errno));
	while (fgets(line, sizeof(line), host))
		fputs(line, f);
	fclose(host);
	fprintf(f, SCALE_GROUP ":x:%u:", SCALE_GID);
	for (unsigned int i = 0; i < N_MEMBERS; i++)
		fprintf(f, "%stgs%06u", i ? "," : "", i);
	fputc('\n', f);
	close_file(f, group_path);
}

static void ns_fail(struct ns_report *r, const char *what)
{
	snprintf(r->failure, sizeof(r->failure), "%s: %s", what, strerror(errno));
	_exit(1);
}

/*
 * The child: a private mount namespace where /etc/passwd and /etc/group are the generated copies;
 * the bpffs and the cgroup mount are the host's (the copy of the mount table shares them). Loads
 * the config there (the group resolved through NSS), then runs check for every sample.
 */
static void ns_child(struct ns_report *r, const char *passwd_path, const char *group_path)
{
	char path[PATH_MAX + 32], out[4096];
	struct statfs sfs;
	struct group *gr;
	double ms;

	if (unshare(CLONE_NEWNS) < 0)
		ns_fail(r, "unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		ns_fail(r, "make / private");
	if (mount(passwd_path, "/etc/passwd", NULL, MS_BIND, NULL) < 0)
		ns_fail(r, "bind-mount the generated /etc/passwd");
	if (mount(group_path, "/etc/group", NULL, MS_BIND, NULL) < 0)
		ns_fail(r, "bind-mount the generated /etc/group");
	gr = getgrnam(SCALE_GROUP);
	while (gr && gr->gr_mem[r->group_members])
		r->group_members++;
	r->bpffs_visible = statfs(MOUNTS_BPFFS_ROOT, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
	snprintf(path, sizeof(path), "%s/cgroup.procs", fx.cgroup);
	r->cgroup_visible = access(path, W_OK) == 0;

	r->load_exit = load_file(fx.config, r->load_output, sizeof(r->load_output), &ms);
	r->load_ms = ms;
	if (r->load_exit != 0)
		_exit(0);
	snprintf(path, sizeof(path), "%s/" TG_PIN_LINK_CONNECT4, fx.pin_dir);
	r->pins_visible = access(path, F_OK) == 0;
	for (unsigned int k = 0; k < N_SAMPLE; k++) {
		struct member_sample *s = &r->samples[k];

		s->check_exit = check(s->uid, LISTEN_PORT, false, out, sizeof(out), &ms);
		s->check_ms = ms;
		s->check_said_other_tenant = strstr(out, "deny_other_tenant") != NULL;
		s->check_said_not_tenant = strstr(out, "allow_not_tenant") != NULL;
		if (strcasestr(out, "more than") || strcasestr(out, "at most")) {
			snprintf(r->failure, sizeof(r->failure), "check --uid %u: %.400s", s->uid,
				 out);
			_exit(1);
		}
	}
	_exit(0);
}

static const char *kind_name(int kind)
{
	return kind == LISTED	 ? "listed member"
	       : kind == PRIMARY ? "primary-group member"
				 : "non-member";
}

/*
 * tenant-group with 100,000 members (and 100 more through their primary group), resolved through
 * NSS in a private mount namespace: load succeeds with no cap message; for 1,000 random uids
 * (members and non-members), `check` of a connect to ALICE's listener answers deny_other_tenant
 * for members and allow_not_tenant for the others (to the guard they are hub services), and
 * the kernel refuses exactly the members' connects.
 */
Test(scale, hundred_thousand_member_group, .init = setup, .fini = teardown, .timeout = 120)
{
	struct ns_report *r = (struct ns_report *)big;
	static double check_ms[N_SAMPLE];
	char path[PATH_MAX + 32];
	size_t counts[3] = { 0 };
	int status;

	_Static_assert(sizeof(struct ns_report) <= BIG_LEN, "ns_report must fit in big");
	assert_synthetic_ids_unused();
	write_user_database(files[0], files[1]);
	fx_write_config(&fx, "tenant-uids = 2001-2004\ntenant-group = " SCALE_GROUP "\n");
	listener = fx_listen(ALICE, "127.0.0.1", LISTEN_PORT, false);

	memset(r, 0, sizeof(*r));
	seed_sample("hundred_thousand_member_group");
	for (unsigned int k = 0; k < N_SAMPLE; k++) {
		unsigned int i = (unsigned int)(rng_next() % N_MEMBERS);
		int kind = (int)(rng_next() % 3);

		if (kind == PRIMARY)
			i -= i % PRIMARY_STEP;
		r->samples[k] = (struct member_sample){
			.uid = member_uid(i) + (kind == LISTED	  ? 0
						: kind == PRIMARY ? 2
								  : 1),
			.kind = kind,
		};
		counts[kind]++;
	}

	helper_pid = fork();
	cr_assert_geq(helper_pid, 0, "fork: %s", strerror(errno));
	if (helper_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ns_child(r, files[0], files[1]);
	}
	cr_assert_eq(waitpid(helper_pid, &status, 0), helper_pid, "waitpid: %s", strerror(errno));
	helper_pid = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the mount-namespace child failed (status 0x%x): %s", status, r->failure);
	cr_assert_eq(r->group_members, N_MEMBERS,
		     "in the namespace, group %s has %zu listed members, expected %u", SCALE_GROUP,
		     r->group_members, N_MEMBERS);
	cr_assert(r->bpffs_visible, "the bpffs at %s is not visible in the mount namespace",
		  MOUNTS_BPFFS_ROOT);
	cr_assert(r->cgroup_visible, "the test cgroup %s is not visible in the mount namespace",
		  fx.cgroup);
	fprintf(stderr,
		"scale: hundred_thousand_member_group: load of tenant-group with %u listed + %u primary-group members: %.0f ms (target < %.0f)\n",
		N_MEMBERS, N_MEMBERS / PRIMARY_STEP, r->load_ms, LOAD_TARGET_MS);
	cr_assert_eq(r->load_exit, 0, "load in the mount namespace failed (%d): %s", r->load_exit,
		     r->load_output);
	assert_no_cap_message("load", r->load_output);
	cr_assert_lt(r->load_ms, LOAD_BOUND_MS, "load took %.0f ms", r->load_ms);
	cr_assert(r->pins_visible, "the pins are not visible in the mount namespace after load");
	/* The namespace is gone: the guard it loaded must still be there, on the host's mounts. */
	snprintf(path, sizeof(path), "%s/" TG_PIN_LINK_CONNECT4, fx.pin_dir);
	cr_assert_eq(access(path, F_OK), 0, "%s is gone with the mount namespace", path);
	cr_assert_eq(fx_cgroup_prog_count(&fx, BPF_CGROUP_INET4_CONNECT), 1,
		     "connect4 is not attached to %s", fx.cgroup);
	cr_assert_null(getgrnam(SCALE_GROUP), "the host's /etc/group now has %s", SCALE_GROUP);

	for (unsigned int k = 0; k < N_SAMPLE; k++) {
		const struct member_sample *s = &r->samples[k];
		bool member = s->kind != OUTSIDE;
		int got;

		check_ms[k] = s->check_ms;
		cr_assert_eq(s->check_exit, member ? 1 : 0,
			     "check --uid %u (%s) --port %u exited %d", s->uid, kind_name(s->kind),
			     LISTEN_PORT, s->check_exit);
		cr_assert(member ? s->check_said_other_tenant : s->check_said_not_tenant,
			  "check --uid %u (%s): expected %s", s->uid, kind_name(s->kind),
			  member ? "deny_other_tenant" : "allow_not_tenant");
		got = fx_connect_as(&fx, s->uid, AF_INET, "127.0.0.1", LISTEN_PORT);
		cr_assert_eq(
			got, member ? ECONNREFUSED : 0,
			"uid %u (%s) connect to uid %u's 127.0.0.1:%u: check said %s, the kernel gave %s",
			s->uid, kind_name(s->kind), ALICE, LISTEN_PORT,
			s->check_exit ? "deny" : "allow", got ? strerror(got) : "success");
	}
	fprintf(stderr,
		"scale: hundred_thousand_member_group: %u checks (%zu listed, %zu primary-group, %zu non-members) agree with the kernel's connect(); check median %.1f ms (target < %.0f)\n",
		N_SAMPLE, counts[LISTED], counts[PRIMARY], counts[OUTSIDE],
		median(check_ms, N_SAMPLE), CHECK_TARGET_MS);
	cr_assert_lt(median(check_ms, N_SAMPLE), CHECK_BOUND_MS, "check median %.1f ms",
		     median(check_ms, N_SAMPLE));
}

/* ---- 20 swaps of 50,000-tenant policies under a connect + bind loop ---- */

/* Policy A: alice holds 9001. Policy B: alice holds 9002, carol 9001. */
#define HEAD_A "tenant-uids = 2001-2004\n[tenant alice]\nuser = 2001\nports = 9001\n"
#define HEAD_B                                                                 \
	"tenant-uids = 2001-2004\n[tenant alice]\nuser = 2001\nports = 9002\n" \
	"[tenant carol]\nuser = 2003\nports = 9001\n"

/* Written by the hammer child only. */
struct hammer_counts {
	long attempts;	      /* connect + bind pairs */
	long connect_refused; /* ECONNREFUSED, as both policies demand */
	long bind_refused;    /* EACCES, as both policies demand */
	long connect_slipped; /* the connect succeeded */
	long bind_slipped;    /* the bind succeeded */
	long other;	      /* anything else */
	int first_other_errno;
	int setup_failed;
	int stop; /* set by the parent */
};

static void hammer(struct hammer_counts *c)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(LISTEN_PORT) };
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons(9001) };
	double start = now_ms();

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fx_enter_as(&fx, BOB, 0) < 0) {
		__atomic_store_n(&c->setup_failed, 1, __ATOMIC_RELEASE);
		_exit(1);
	}
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) &&
	       now_ms() - start < HAMMER_MAX_SECONDS * 1000.0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

		err = fd < 0 ? errno : connect(fd, (struct sockaddr *)&to, sizeof(to)) ? errno : 0;
		if (err == 0) {
			__atomic_add_fetch(&c->connect_slipped, 1, __ATOMIC_RELAXED);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
		} else if (err == ECONNREFUSED) {
			__atomic_add_fetch(&c->connect_refused, 1, __ATOMIC_RELAXED);
		} else if (__atomic_fetch_add(&c->other, 1, __ATOMIC_RELAXED) == 0) {
			c->first_other_errno = err;
		}
		if (fd >= 0)
			close(fd);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		err = fd < 0 ? errno : bind(fd, (struct sockaddr *)&at, sizeof(at)) ? errno : 0;
		if (err == 0)
			__atomic_add_fetch(&c->bind_slipped, 1, __ATOMIC_RELAXED);
		else if (err == EACCES)
			__atomic_add_fetch(&c->bind_refused, 1, __ATOMIC_RELAXED);
		else if (__atomic_fetch_add(&c->other, 1, __ATOMIC_RELAXED) == 0)
			c->first_other_errno = err;
		if (fd >= 0)
			close(fd);
		__atomic_add_fetch(&c->attempts, 1, __ATOMIC_RELEASE);
	}
	_exit(0);
}

static long hammer_attempts(struct hammer_counts *c)
{
	return __atomic_load_n(&c->attempts, __ATOMIC_ACQUIRE);
}

/* Wait until the loop has made n more attempts: it ran under the policy now in force. */
static void hammer_wait(struct hammer_counts *c, long n)
{
	long target = hammer_attempts(c) + n;

	for (int waited = 0; hammer_attempts(c) < target; waited++) {
		cr_assert(!__atomic_load_n(&c->setup_failed, __ATOMIC_ACQUIRE),
			  "the hammer could not join the cgroup or become uid %u", BOB);
		cr_assert_lt(waited, 10000, "the hammer is stuck at %ld attempts",
			     hammer_attempts(c));
		usleep(1000);
	}
}

/* The id of the program behind the pinned connect4 link: a new one at every swap. */
static __u32 connect4_prog_id(void)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/" TG_PIN_LINK_CONNECT4, fx.pin_dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "link info of %s: %s", path,
		     strerror(errno));
	close(fd);
	return info.prog_id;
}

/*
 * Where A and B differ: bob's bind of 9002 is open under A and alice's under B. check and the
 * kernel must both say which policy runs.
 */
static void assert_policy_in_force(int swap, bool b)
{
	char out[4096];
	double ms;
	int ret = check(BOB, 9002, true, out, sizeof(out), &ms), got;

	cr_assert_eq(ret, b ? 1 : 0,
		     "swap %d to policy %c: check --uid %u --bind 9002 exited %d: %s", swap,
		     b ? 'B' : 'A', BOB, ret, out);
	got = fx_bind_as(&fx, BOB, AF_INET, SOCK_STREAM, "127.0.0.1", 9002, false);
	cr_assert_eq(got, b ? EACCES : 0,
		     "swap %d to policy %c: uid %u bind 127.0.0.1:9002 gave %s", swap,
		     b ? 'B' : 'A', BOB, got ? strerror(got) : "success");
}

/*
 * 20 loads alternating two 50,000-tenant policies, while bob connects to alice's listener (denied
 * under both) and binds 9001 (reserved for alice under A, for carol under B) as fast as he can:
 * not one connect and not one bind gets through, none fails otherwise, and each swap replaced the
 * program and changed what check and the kernel say about the port where A and B differ.
 */
Test(scale, atomic_swap_fifty_thousand, .init = setup, .fini = teardown, .timeout = 180)
{
	struct hammer_counts *c = (struct hammer_counts *)big;
	const char *config_a = files[2], *config_b = files[3];
	double ms, swap_ms[SWAPS], total = 0, worst = 0;
	__u32 prog, prev;

	assert_synthetic_ids_unused();
	write_scale_config(config_a, HEAD_A);
	write_scale_config(config_b, HEAD_B);
	cr_assert_eq(load_file(config_a, fx.output, sizeof(fx.output), &ms), 0, "load of A: %s",
		     fx.output);
	fprintf(stderr, "scale: atomic_swap_fifty_thousand: first load (A): %.0f ms\n", ms);
	assert_policy_in_force(0, false);
	listener = fx_listen(ALICE, "127.0.0.1", LISTEN_PORT, false);
	prev = connect4_prog_id();

	memset(c, 0, sizeof(*c));
	helper_pid = fork();
	cr_assert_geq(helper_pid, 0, "fork: %s", strerror(errno));
	if (helper_pid == 0)
		hammer(c);
	hammer_wait(c, 100);
	for (int i = 1; i <= SWAPS; i++) {
		bool b = i % 2 == 1;
		int ret = load_file(b ? config_b : config_a, fx.output, sizeof(fx.output),
				    &swap_ms[i - 1]);

		cr_assert_eq(ret, 0, "swap %d to policy %c failed (%d): %s", i, b ? 'B' : 'A', ret,
			     fx.output);
		assert_no_cap_message("load", fx.output);
		total += swap_ms[i - 1];
		if (swap_ms[i - 1] > worst)
			worst = swap_ms[i - 1];
		prog = connect4_prog_id();
		cr_assert_neq(prog, prev, "swap %d did not replace the connect4 program", i);
		prev = prog;
		assert_policy_in_force(i, b);
		hammer_wait(c, 50);
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(waitpid(helper_pid, NULL, 0), helper_pid, "waitpid: %s", strerror(errno));
	helper_pid = -1;

	fprintf(stderr, "scale: atomic_swap_fifty_thousand: swaps (ms):");
	for (int i = 0; i < SWAPS; i++)
		fprintf(stderr, " %.0f", swap_ms[i]);
	fprintf(stderr,
		"\nscale: atomic_swap_fifty_thousand: %d swaps, mean %.0f ms, max %.0f ms; %ld attempts (connect + bind each), %ld connects refused, %ld binds refused, %ld + %ld slipped through, %ld other errors\n",
		SWAPS, total / SWAPS, worst, c->attempts, c->connect_refused, c->bind_refused,
		c->connect_slipped, c->bind_slipped, c->other);
	cr_assert_eq(c->connect_slipped, 0,
		     "%ld of %ld connects to uid %u's listener slipped through", c->connect_slipped,
		     c->attempts, ALICE);
	cr_assert_eq(c->bind_slipped, 0,
		     "%ld of %ld binds of the reserved port 9001 slipped through", c->bind_slipped,
		     c->attempts);
	cr_assert_eq(c->other, 0, "%ld attempts failed otherwise, the first with %s", c->other,
		     strerror(c->first_other_errno));
	cr_assert_eq(c->connect_refused, c->attempts, "every connect must be refused");
	cr_assert_eq(c->bind_refused, c->attempts, "every bind must be refused");
	cr_assert_gt(c->attempts, MIN_ATTEMPTS, "only %ld attempts across %d swaps", c->attempts,
		     SWAPS);
}

/*
 * 100,000 allow rules with both layers: the BPF layer keeps them in tg_allow_rules, the nft layer
 * in one set of uid . port pairs (one lookup, not a rule each). load succeeds quickly, both
 * layers let the granted tenant through and no other, and the nft set holds every pair.
 */
Test(scale, hundred_thousand_allow_rules, .init = setup, .fini = teardown, .timeout = 120)
{
	char out[4096], line[256];
	double ms = 0;
	size_t pairs = 0;
	FILE *f = fopen(files[0], "w");
	int rc;

	cr_assert_not_null(f, "cannot write %s", files[0]);
	fprintf(f, "tenant-uids = 2001-2003, %u-%u\nlayers = bpf nft\nallow = %u:8001\n", SYNTH_UID,
		SYNTH_UID + 99999, BOB);
	for (unsigned int i = 1; i < 100000; i++)
		fprintf(f, "allow = %u:%u\n", SYNTH_UID + i, 10000 + i % 50000);
	cr_assert_eq(fclose(f), 0);
	rc = load_file(files[0], out, sizeof(out), &ms);
	fprintf(stderr, "scale: load with 100,000 allow rules, both layers: %.0f ms\n", ms);
	cr_assert_eq(rc, 0, "load: %s", out);
	cr_expect(!strstr(out, "more than") && !strstr(out, "not put up"), "load said: %s", out);
	cr_expect_lt(ms, 5000, "load took %.0f ms", ms);

	listener = fx_listen(ALICE, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, BOB, AF_INET, "127.0.0.1", 8001), 0,
		     "the allow rule did not let bob through both layers");
	cr_expect_eq(fx_connect_as(&fx, CAROL, AF_INET, "127.0.0.1", 8001), ECONNREFUSED,
		     "carol reached alice's port without an allow rule");

	f = popen("nft list set inet tunnelguard allowed", "r");
	cr_assert_not_null(f, "nft list set: %s", strerror(errno));
	/* Elements only: the set's type and comment lines hold " . " too. */
	while (fgets(line, sizeof(line), f))
		for (const char *p = strstr(line, "type ") || strstr(line, "comment ") ? NULL
										       : line;
		     p && (p = strstr(p, " . ")); p += 3)
			pairs++;
	cr_assert_eq(pclose(f), 0, "nft list set inet tunnelguard allowed failed");
	cr_expect_eq(pairs, 100000, "set allowed holds %zu pairs, want 100000", pairs);
}
