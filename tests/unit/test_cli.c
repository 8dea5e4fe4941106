// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command line (userspace/main.c) through the real binary ($TG_BINARY): a repeated option is
 * an error, and arguments echoed in errors are escaped. Every case fails while parsing, before
 * anything touches the kernel; the paths named do not exist, so that a case which parsed anyway
 * could not reach a pin dir or a config either.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/fixture.h"

#define NOCONF	  "/nonexistent/tg-test.conf"
#define NOPINS	  "/nonexistent/tg-test-pins"
#define MAX_ARGS  16
#define HELP_LINE "\n(see tunnelguard --help)\n"

static char output[8192];

static const char *binary(void)
{
	const char *b = getenv("TG_BINARY");

	return b ? b : "build/tunnelguard";
}

/* Run the binary with args (NULL-terminated), stdout and stderr in output; its exit status. */
static int run_cli(const char *const *args)
{
	const char *argv[MAX_ARGS + 2] = { binary() };
	size_t argc = 1;

	if (access(binary(), X_OK) < 0)
		cr_skip_test("no tunnelguard binary at %s (set TG_BINARY)", binary());
	while (argc <= MAX_ARGS && args[argc - 1]) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	return fx_run_argv(argv, output, sizeof(output), 10);
}

/* Every option of every command that takes effect once, given twice. */
static const struct {
	const char *option; /* as the message names it */
	const char *args[MAX_ARGS];
} twice[] = {
	{ "--config", { "load", "-c", NOCONF, "-c", NOCONF, "--pin-dir", NOPINS } },
	{ "--config", { "load", "--config", NOCONF, "-c", NOCONF, "--pin-dir", NOPINS } },
	{ "--pin-dir", { "load", "-c", NOCONF, "--pin-dir", NOPINS, "--pin-dir", NOPINS } },
	{ "--cgroup",
	  { "load", "-c", NOCONF, "--pin-dir", NOPINS, "--cgroup", "/x", "--cgroup", "/y" } },
	{ "--no-self-test",
	  { "load", "-c", NOCONF, "--pin-dir", NOPINS, "--no-self-test", "--no-self-test" } },
	{ "--pin-dir", { "unload", "--pin-dir", NOPINS, "--pin-dir", NOPINS } },
	{ "--pin-dir", { "status", "--pin-dir", NOPINS, "--pin-dir", NOPINS } },
	{ "--json", { "status", "--pin-dir", NOPINS, "--json", "--json" } },
	{ "--prometheus", { "status", "--pin-dir", NOPINS, "--prometheus", "--prometheus" } },
	{ "--uid", { "check", "-c", NOCONF, "--uid", "1", "--uid", "2", "--port", "80" } },
	{ "--port", { "check", "-c", NOCONF, "--uid", "1", "--port", "80", "--port", "81" } },
	{ "--bind", { "check", "-c", NOCONF, "--uid", "1", "--bind", "80", "--bind", "81" } },
	{ "--addr",
	  { "check", "-c", NOCONF, "--uid", "1", "--port", "80", "--addr", "127.0.0.1", "--addr",
	    "::1" } },
	{ "--config", { "check", "-c", NOCONF, "-c", NOCONF, "--uid", "1", "--port", "80" } },
	{ "--pin-dir",
	  { "check", "--pin-dir", NOPINS, "--pin-dir", NOPINS, "--uid", "1", "--port", "80" } },
	{ "--interval",
	  { "daemon", "-c", NOCONF, "--pin-dir", NOPINS, "--interval", "200", "--interval",
	    "300" } },
	{ "--json", { "daemon", "-c", NOCONF, "--pin-dir", NOPINS, "--json", "--json" } },
	{ "--cgroup",
	  { "daemon", "-c", NOCONF, "--pin-dir", NOPINS, "--cgroup", "/x", "--cgroup", "/x" } },
	{ "--no-self-test",
	  { "daemon", "-c", NOCONF, "--pin-dir", NOPINS, "--no-self-test", "--no-self-test" } },
	{ "--config", { "daemon", "-c", NOCONF, "-c", NOCONF, "--pin-dir", NOPINS } },
	{ "--follow", { "events", "--pin-dir", NOPINS, "--follow", "--follow" } },
	{ "--json", { "events", "--pin-dir", NOPINS, "--json", "--json" } },
	{ "--pin-dir", { "events", "--pin-dir", NOPINS, "--pin-dir", NOPINS } },
};

Test(cli, a_repeated_option_is_an_error)
{
	char expect[128];

	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		snprintf(expect, sizeof(expect), "tunnelguard: option %s given twice" HELP_LINE,
			 twice[i].option);
		cr_expect_eq(run_cli(twice[i].args), 2, "%s %s: exit status (%s)", twice[i].args[0],
			     twice[i].option, output);
		cr_expect_str_eq(output, expect, "%s %s", twice[i].args[0], twice[i].option);
	}
}

/* -v counts, so it may repeat: -v -v is -vv. */
Test(cli, verbose_may_repeat)
{
	const char *args[] = {
		"check", "-v", "-v", "--uid", "1", "--port", "80", "-c", NOCONF, NULL
	};

	cr_assert_eq(run_cli(args), 2, "%s", output);
	cr_assert_null(strstr(output, "given twice"), "%s", output);
	cr_assert(strstr(output, NOCONF ": cannot read"), "%s", output);
}

static const struct {
	const char *name;
	const char *args[MAX_ARGS];
	const char *output; /* exactly */
} echoed[] = {
	{ "ESC in --uid",
	  { "check", "--uid", "1\x1b[31m", "--port", "80" },
	  "tunnelguard: --uid 1\\x1b[31m: not a uid (0-4294967294)" HELP_LINE },
	{ "CR in --port",
	  { "check", "--uid", "1", "--port", "80\rOK" },
	  "tunnelguard: --port 80\\x0dOK: not a port (1-65535)" HELP_LINE },
	{ "0xff in --interval",
	  { "daemon", "--interval", "\xff" },
	  "tunnelguard: --interval \\xff: milliseconds from 100 to 3600000" HELP_LINE },
	{ "ESC in an unknown option",
	  { "status", "--\x1b]0;x\x07" },
	  "tunnelguard: unknown option --\\x1b]0;x\\x07" HELP_LINE },
	{ "ESC in a stray argument",
	  { "status", "extra\x1b[2J" },
	  "tunnelguard: unexpected argument extra\\x1b[2J" HELP_LINE },
	{ "valid UTF-8 in an unknown command stays",
	  { "caf\xc3\xa9" },
	  "tunnelguard: unknown command caf\xc3\xa9: load, unload, status, check, daemon or "
	  "events" HELP_LINE },
	{ "C1 CSI in an unknown command",
	  { "\xc2\x9b"
	    "2J" },
	  "tunnelguard: unknown command \\xc2\\x9b2J: load, unload, status, check, daemon or "
	  "events" HELP_LINE },
	{ "ESC in --pin-dir is refused",
	  { "status", "--pin-dir", "/sys/fs/bpf/\x1b[8m" },
	  "tunnelguard: --pin-dir /sys/fs/bpf/\\x1b[8m: control characters or bytes that are not "
	  "UTF-8; give a plain path or value" HELP_LINE },
	{ "CR in -c is refused",
	  { "check", "-c", "/tmp/a\rb.conf", "--uid", "1", "--port", "80" },
	  "tunnelguard: --config /tmp/a\\x0db.conf: control characters or bytes that are not "
	  "UTF-8; give a plain path or value" HELP_LINE },
	{ "0xff in --cgroup is refused",
	  { "load", "--cgroup", "/sys/fs/cgroup/\xff" },
	  "tunnelguard: --cgroup /sys/fs/cgroup/\\xff: control characters or bytes that are not "
	  "UTF-8; give a plain path or value" HELP_LINE },
	{ "ESC in --addr is refused",
	  { "check", "--uid", "1", "--port", "80", "--addr", "\x1b" },
	  "tunnelguard: --addr \\x1b: control characters or bytes that are not UTF-8; give a "
	  "plain path or value" HELP_LINE },
};

Test(cli, echoed_arguments_are_escaped)
{
	for (size_t i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++) {
		cr_expect_eq(run_cli(echoed[i].args), 2, "%s: exit status (%s)", echoed[i].name,
			     output);
		cr_expect_str_eq(output, echoed[i].output, "%s", echoed[i].name);
	}
}

static char fifo[64];

static void remove_fifo(void)
{
	if (fifo[0])
		unlink(fifo);
}

/* -c on a FIFO, a device or a directory: refused at once (run_cli's alarm catches a hang). */
Test(cli, config_must_be_a_regular_file, .fini = remove_fifo, .timeout = 30)
{
	char expect[128];

	snprintf(fifo, sizeof(fifo), "/tmp/tg-test-cli-fifo-%d", getpid());
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));

	const char *paths[] = { fifo, "/dev/null", "/tmp" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *args[] = {
			"check", "-c", paths[i], "--uid", "1", "--port", "80", NULL
		};

		cr_expect_eq(run_cli(args), 2, "%s: exit status (%s)", paths[i], output);
		snprintf(expect, sizeof(expect), "%s: not a regular file\n", paths[i]);
		cr_expect_str_eq(output, expect, "%s", paths[i]);
	}
}

/* A mount point of filesystem type in /proc/self/mounts, or NULL. */
static const char *mount_of_type(const char *type, char *buf, size_t len)
{
	char dev[256], dir[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	const char *found = NULL;

	if (!f)
		return NULL;
	while (!found && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, fstype) == 3)
		if (strcmp(fstype, type) == 0 && (size_t)snprintf(buf, len, "%s", dir) < len)
			found = buf;
	fclose(f);
	return found;
}

/* --cgroup must name a cgroup v2 directory: said before anything is loaded (needs root). */
Test(cli, cgroup_must_be_cgroup_v2)
{
	const char *conf = "/tmp/tg-test-cli-cgroup.conf";
	const char *pins = "/sys/fs/bpf/tg-test-cli-cgroup";
	char v1[PATH_MAX];
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("needs root (load checks the pin dir's view first)");
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("tenant-uids = 2001-2003\nlayers = bpf\n", f);
	fclose(f);
	cr_expect_eq(run_cli((const char *const[]){ "load", "-c", conf, "--pin-dir", pins,
						    "--cgroup", "/tmp", NULL }),
		     2, "%s", output);
	cr_expect(strstr(output, "--cgroup /tmp is not a cgroup, not a cgroup v2 directory"), "%s",
		  output);
	if (mount_of_type("cgroup", v1, sizeof(v1))) {
		cr_expect_eq(run_cli((const char *const[]){ "load", "-c", conf, "--pin-dir", pins,
							    "--cgroup", v1, NULL }),
			     2, "%s", output);
		cr_expect(strstr(output, "is a cgroup v1 directory"), "%s", output);
	}
	cr_expect_eq(access(pins, F_OK), -1, "a refused load left %s", pins);
	unlink(conf);
}
