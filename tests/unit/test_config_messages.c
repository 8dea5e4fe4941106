// SPDX-License-Identifier: GPL-2.0-only
/*
 * What config errors echo (userspace/config*.c): bytes from the file and its path are escaped
 * (escape.h), and -c accepts only a regular file, without blocking on a FIFO.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define TEXT(s) s, sizeof(s) - 1

static const struct {
	const char *name;
	const char *text;
	size_t len;
	const char *message; /* exactly */
} cases[] = {
	{ "ESC of a colour sequence", TEXT("mode = en\x1b[2Jforce\n"),
	  "invalid mode 'en\\x1b[2Jforce' (expected enforce or audit)" },
	{ "CR that would overwrite the line", TEXT("mode = audit\rXX\n"),
	  "invalid mode 'audit\\x0dXX' (expected enforce or audit)" },
	{ "0xff", TEXT("policy = \xff\n"), "invalid policy '\\xff' (expected isolate or strict)" },
	{ "valid UTF-8 stays", TEXT("policy = caf\xc3\xa9\n"),
	  "invalid policy 'caf\xc3\xa9' (expected isolate or strict)" },
	{ "C1 CSI",
	  TEXT("policy = \xc2\x9b"
	       "31m\n"),
	  "invalid policy '\\xc2\\x9b31m' (expected isolate or strict)" },
	{ "ESC in a key", TEXT("\x1b]0;owned\x07 = 1\n"),
	  "unknown key '\\x1b]0;owned\\x07' (valid keys: mode, policy, deny-errno, tenant-uids, "
	  "exempt-uids, allow-ports, layers, bind-policy, tenant-group, allow, port-owner-max, "
	  "max-tunnels; "
	  "user and ports "
	  "belong in a [tenant NAME] section)" },
	{ "ESC in a section header", TEXT("[tenant \x1b[31mred]\n"),
	  "invalid tenant name '\\x1b[31mred' (expected at most 31 of A-Z a-z 0-9 . _ -, not only "
	  "digits)" },
	{ "VT inside a uid list", TEXT("tenant-uids = 1000\x0b-2000\n"),
	  "tenant-uids: invalid entry '1000\\x0b-2000' (expected a uid or a range A-B, in "
	  "decimal)" },
};

Test(config_messages, parse_errors_escape_what_they_quote)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err;
		struct tg_config cfg;

		cr_assert_eq(cfg_parse(cases[i].text, cases[i].len, &cfg, &err), -EINVAL, "%s",
			     cases[i].name);
		cr_expect_str_eq(err.message, cases[i].message, "%s", cases[i].name);
	}
}

static char fifo[64], dir[64], odd[64];

static void cleanup(void)
{
	if (fifo[0])
		unlink(fifo);
	if (dir[0])
		rmdir(dir);
	if (odd[0])
		unlink(odd);
}

/* cfg_load() with stderr captured into out. */
static int load_capturing(const char *path, char *out, size_t len)
{
	struct tg_config cfg;
	FILE *capture = tmpfile();
	int saved, ret;
	size_t n;

	cr_assert_not_null(capture, "tmpfile: %s", strerror(errno));
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	cr_assert_geq(saved, 0, "dup: %s", strerror(errno));
	cr_assert_geq(dup2(fileno(capture), STDERR_FILENO), 0, "dup2: %s", strerror(errno));
	ret = cfg_load(path, &cfg);
	fflush(stderr);
	cr_assert_geq(dup2(saved, STDERR_FILENO), 0, "dup2 back: %s", strerror(errno));
	close(saved);
	rewind(capture);
	n = fread(out, 1, len - 1, capture);
	out[n] = '\0';
	fclose(capture);
	return ret;
}

/* A FIFO with no writer would block open() and read() forever: the timeout catches a hang. */
Test(config_messages, only_a_regular_file_is_read, .fini = cleanup, .timeout = 10)
{
	char out[1024], expect[1024];

	snprintf(fifo, sizeof(fifo), "/tmp/tg-test-fifo-%d", getpid());
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo %s: %s", fifo, strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/tg-test-dir-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));

	const char *paths[] = { fifo, "/dev/null", dir };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_expect_eq(load_capturing(paths[i], out, sizeof(out)), -EINVAL, "%s", paths[i]);
		snprintf(expect, sizeof(expect), "%s: not a regular file\n", paths[i]);
		cr_expect_str_eq(out, expect, "%s", paths[i]);
	}
}

Test(config_messages, the_path_is_escaped, .fini = cleanup)
{
	char out[1024], expect[1024];
	FILE *f;

	snprintf(odd, sizeof(odd), "/tmp/tg-test-\x1b[2J\r-%d.conf", getpid());
	f = fopen(odd, "w");
	cr_assert_not_null(f, "%s", strerror(errno));
	fputs("mode = x\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(load_capturing(odd, out, sizeof(out)), -EINVAL);
	snprintf(expect, sizeof(expect),
		 "/tmp/tg-test-\\x1b[2J\\x0d-%d.conf:1: invalid mode 'x' (expected enforce or "
		 "audit)\n",
		 getpid());
	cr_assert_str_eq(out, expect);
	unlink(odd);
	cr_assert_eq(load_capturing(odd, out, sizeof(out)), -ENOENT);
	snprintf(expect, sizeof(expect),
		 "/tmp/tg-test-\\x1b[2J\\x0d-%d.conf: cannot read: No such file or directory "
		 "(check the path)\n",
		 getpid());
	cr_assert_str_eq(out, expect);
}
