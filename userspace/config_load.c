// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_load.c - the config file -> struct tg_config (cfg_load): open it, refuse what is not a
 * regular file or is too big, read it, then parse (config_parse.c) and resolve (config_resolve.c).
 */
#include <dirent.h>
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
#include "util.h"

/* A 100,000-tenant config is a few MiB; anything past this is the wrong file. */
#define CFG_MAX_FILE (256 * 1024 * 1024)

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
		return "a config file is at most 256 MiB; is this the right file?";
	default:
		return "check the file";
	}
}

/* The files of a config: the main one, then tenants.d/ *.conf in name order. */
struct cfg_files {
	size_t n, cap;
	char **name; /* escaped, for messages */
	struct cfg_text *texts;
	unsigned int *lines; /* lines of each text, as the parser counts them */
};

static void files_free(struct cfg_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->name[i]);
		free((char *)f->texts[i].text);
	}
	free(f->name);
	free(f->texts);
	free(f->lines);
}

static unsigned int count_lines(const char *text, size_t len)
{
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len && text[len - 1] != '\n');
}

static int files_add(struct cfg_files *f, const char *path, char *text, size_t len)
{
	char shown[ESCAPE_SIZE(PATH_MAX)];
	size_t cap = f->cap;

	if (util_grow((void **)&f->name, &cap, f->n + 1, sizeof(*f->name)))
		return -ENOMEM;
	cap = f->cap;
	if (util_grow((void **)&f->texts, &cap, f->n + 1, sizeof(*f->texts)))
		return -ENOMEM;
	cap = f->cap;
	if (util_grow((void **)&f->lines, &cap, f->n + 1, sizeof(*f->lines)))
		return -ENOMEM;
	f->cap = cap;
	escape_text(shown, sizeof(shown), path);
	f->name[f->n] = strdup(shown);
	if (!f->name[f->n])
		return -ENOMEM;
	f->texts[f->n] = (struct cfg_text){ text, len, f->name[f->n] };
	f->lines[f->n] = count_lines(text, len);
	f->n++;
	return 0;
}

/* Report a read failure of path; -errno. */
static int read_failed(const char *path, int ret)
{
	char shown[ESCAPE_SIZE(PATH_MAX)];

	escape_text(shown, sizeof(shown), path);
	if (ret == -EINVAL)
		log_print_plain(LOG_LEVEL_ERROR, "%s: not a regular file\n", shown);
	else
		log_print_plain(LOG_LEVEL_ERROR, "%s: cannot read: %s (%s)\n", shown,
				strerror(-ret), read_hint(-ret));
	return ret;
}

static int is_dropin(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* DIR/tenants.d beside the main file: absent is fine, unreadable is an error. */
static int read_dropins(const char *main_path, struct cfg_files *files)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash = strrchr(main_path, '/');
	struct dirent **list = NULL;
	int n, ret = 0;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)(slash - main_path), main_path,
			 CFG_DROPIN_DIR);
	else
		snprintf(dir, sizeof(dir), "%s", CFG_DROPIN_DIR);
	n = scandir(dir, &list, is_dropin, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : read_failed(dir, -errno);
	for (int i = 0; i < n; i++) {
		char *text = NULL;
		size_t len = 0;

		if (!ret && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name) >=
				    sizeof(path))
			ret = read_failed(path, -ENAMETOOLONG);
		if (!ret) {
			ret = read_file(path, &text, &len);
			if (ret)
				ret = read_failed(path, ret);
		}
		if (!ret && files_add(files, path, text, len)) {
			free(text);
			ret = -ENOMEM;
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

/* Print err at the file it belongs to, with that file's line number. */
static void print_error(const struct cfg_files *f, const struct cfg_error *err)
{
	unsigned int line = err->line;
	size_t i = 0;

	while (line > f->lines[i] && i + 1 < f->n) {
		line -= f->lines[i];
		i++;
	}
	log_print_plain(LOG_LEVEL_ERROR, "%s:%u: %s\n", f->name[i], line, err->message);
}

int cfg_load(const char *path, struct tg_config *cfg)
{
	const char *name = path ? path : CFG_DEFAULT_PATH;
	struct cfg_files files = { 0 };
	struct cfg_error err;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(name, &text, &len);
	if (ret == -ENOENT && !path) {
		/* No main file: the defaults, and the drop-ins when there are some. */
		text = strdup("");
		ret = text ? 0 : -ENOMEM;
	}
	if (ret)
		return read_failed(name, ret);
	if (files_add(&files, name, text, len)) {
		free(text);
		ret = -ENOMEM;
	}
	if (!ret)
		ret = read_dropins(name, &files);
	if (ret == -ENOMEM)
		log_print_plain(LOG_LEVEL_ERROR, "%s: out of memory reading the config\n", name);
	if (!ret) {
		ret = cfg_parse_texts(files.texts, files.n, cfg, &err);
		if (!ret) {
			ret = cfg_resolve(cfg, &cfg_system_directory, &err);
			if (ret)
				cfg_free(cfg);
		}
		if (ret)
			print_error(&files, &err);
	}
	files_free(&files);
	return ret;
}
