// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c: the syslog priority prefix is written exactly when JOURNAL_STREAM names stderr's device
 * and inode, as systemd sets it for StandardError=journal; journald reads "<N>" per line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char path[] = "/tmp/tg-test-log-XXXXXX";
static int saved_stderr = -1, file_fd = -1;

/* stderr goes to a temp file for the test; the previous stderr comes back in .fini. */
static void setup(void)
{
	file_fd = mkstemp(path);
	cr_assert_geq(file_fd, 0, "mkstemp: %s", strerror(errno));
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_eq(dup2(file_fd, STDERR_FILENO), STDERR_FILENO);
}

static void teardown(void)
{
	if (saved_stderr >= 0)
		dup2(saved_stderr, STDERR_FILENO);
	if (file_fd >= 0)
		close(file_fd);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
	log_set_level(LOG_LEVEL_WARN);
}

static void stream_of(int fd, char *buf, size_t len)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	snprintf(buf, len, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
}

/* What was written to stderr since the last call. */
static const char *take_output(void)
{
	static char out[4096];
	ssize_t n = pread(file_fd, out, sizeof(out) - 1, 0);

	cr_assert_geq(n, 0);
	out[n] = '\0';
	cr_assert_eq(ftruncate(file_fd, 0), 0);
	lseek(file_fd, 0, SEEK_SET);
	return out;
}

Test(log, journal_stream_parsing, .init = setup, .fini = teardown)
{
	struct stat st;
	char mine[64], other_ino[64], other_dev[64];

	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	stream_of(STDERR_FILENO, mine, sizeof(mine));
	snprintf(other_ino, sizeof(other_ino), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	snprintf(other_dev, sizeof(other_dev), "%llu:%llu", (unsigned long long)st.st_dev + 1,
		 (unsigned long long)st.st_ino);
	const struct {
		const char *value;
		bool journal;
	} cases[] = {
		{ mine, true },	  { other_ino, false }, { other_dev, false }, { NULL, false },
		{ "", false },	  { "journal", false }, { "12", false },      { "12:", false },
		{ ":12", false }, { "-1:2", false },	{ "1:-2", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(log_is_journal_stream(STDERR_FILENO, cases[i].value), cases[i].journal,
			     "JOURNAL_STREAM=%s", cases[i].value ?: "(unset)");
	strcat(mine, "x");
	cr_expect_not(log_is_journal_stream(STDERR_FILENO, mine), "trailing garbage: %s", mine);
}

Test(log, priority_prefix_only_when_stderr_is_the_journal, .init = setup, .fini = teardown)
{
	char stream[64];

	stream_of(STDERR_FILENO, stream, sizeof(stream));
	cr_assert_eq(setenv("JOURNAL_STREAM", stream, 1), 0);
	log_detect_journal();
	log_set_level(LOG_LEVEL_INFO);
	pr_err("cannot attach: %s\n", "EPERM");
	pr_warn("drift repaired\n");
	pr_notice("daemon running\n");
	pr_info("following namespace %d\n", 4097);
	pr_debug("not shown below -vv\n");
	pr_warn("two\nlines\n");
	log_print_plain(LOG_LEVEL_ERROR, "tunnelguard.conf:3: unknown key\n");
	cr_expect_str_eq(take_output(), "<3>tunnelguard: cannot attach: EPERM\n"
					"<4>tunnelguard: drift repaired\n"
					"<5>tunnelguard: daemon running\n"
					"<6>tunnelguard: following namespace 4097\n"
					"<4>tunnelguard: two\n"
					"<4>lines\n"
					"<3>tunnelguard.conf:3: unknown key\n");

	/* The journal is another stream (e.g. stdout's): stderr is a file, no prefix. */
	stream_of(saved_stderr, stream, sizeof(stream));
	cr_assert_eq(setenv("JOURNAL_STREAM", stream, 1), 0);
	log_detect_journal();
	pr_warn("drift repaired\n");
	pr_err("no newline");
	cr_expect_str_eq(take_output(), "tunnelguard: drift repaired\ntunnelguard: no newline\n");

	unsetenv("JOURNAL_STREAM");
	log_detect_journal();
	log_set_level(LOG_LEVEL_WARN);
	pr_info("hidden without -v\n");
	pr_notice("shown by default\n");
	cr_expect_str_eq(take_output(), "tunnelguard: shown by default\n");
}

/* Callers log and then return -errno: a message must not change errno, on any path. */
Test(log, errno_survives_a_message, .init = setup, .fini = teardown)
{
	char stream[64];

	stream_of(STDERR_FILENO, stream, sizeof(stream));
	setenv("JOURNAL_STREAM", stream, 1);
	log_detect_journal();
	errno = EACCES;
	pr_err("cannot open %s: %s\n", "x", strerror(errno));
	cr_expect_eq(errno, EACCES);
	errno = ENOENT;
	log_print_plain(LOG_LEVEL_WARN, "%s\n", "plain");
	cr_expect_eq(errno, ENOENT);
	errno = EPERM;
	pr_debug("not shown\n");
	cr_expect_eq(errno, EPERM);
	cr_expect_str_eq(take_output(),
			 "<3>tunnelguard: cannot open x: Permission denied\n<4>plain\n");
}
