// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_load.c - the config file -> struct tg_config (cfg_load): open it, refuse what is not a
 * regular file or is too big, read it, then parse (config_parse.c) and resolve (config_resolve.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "escape.h"
#include "log.h"

#define CFG_MAX_FILE (1024 * 1024) /* a config is small; anything bigger is the wrong file */

/* Read all of an open file, refusing more than CFG_MAX_FILE bytes. */
static int read_fd(int fd, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *bigger;
	struct stat st;
	ssize_t got;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && st.st_size > CFG_MAX_FILE)
		return -EFBIG;
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			/* The file grew, or is not a regular file: grow up to one byte past the
			 * limit. */
			cap = cap * 2 > CFG_MAX_FILE + 1 ? CFG_MAX_FILE + 1 : cap * 2;
			if (n == cap) {
				ret = -EFBIG;
				goto cleanup;
			}
			bigger = realloc(buf, cap);
			if (!bigger) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = bigger;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > CFG_MAX_FILE) {
		ret = -EFBIG;
		goto cleanup;
	}
	*text = buf;
	*len = n;
	return 0;

cleanup:
	free(buf);
	return ret;
}

/* 0, -errno, or -EINVAL when path is not a regular file (a FIFO, a device, a directory). */
static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO with no writer must not hang before fstat() can refuse it. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else
		ret = read_fd(fd, text, len);
	close(fd);
	return ret;
}

static const char *read_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "check the path";
	case EACCES:
	case EPERM:
		return "are you root?";
	case EISDIR:
		return "give the path of the file, not of its directory";
	case EFBIG:
		return "a config file is at most 1 MiB; is this the right file?";
	default:
		return "check the file";
	}
}

int cfg_load(const char *path, struct tg_config *cfg)
{
	const char *name = path ? path : CFG_DEFAULT_PATH;
	char shown[ESCAPE_SIZE(PATH_MAX)];
	struct cfg_error err;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(name, &text, &len);
	if (ret == -ENOENT && !path) {
		cfg_defaults(cfg);
		return 0;
	}
	escape_text(shown, sizeof(shown), name);
	if (ret == -EINVAL) {
		log_print_plain(LOG_LEVEL_ERROR, "%s: not a regular file\n", shown);
		return ret;
	}
	if (ret) {
		log_print_plain(LOG_LEVEL_ERROR, "%s: cannot read: %s (%s)\n", shown,
				strerror(-ret), read_hint(-ret));
		return ret;
	}
	ret = cfg_parse(text, len, cfg, &err);
	if (!ret)
		ret = cfg_resolve(cfg, &cfg_system_directory, &err);
	if (ret)
		log_print_plain(LOG_LEVEL_ERROR, "%s:%u: %s\n", shown, err.line, err.message);
	free(text);
	return ret;
}
