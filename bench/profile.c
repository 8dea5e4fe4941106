// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profile.h"
#include "util.h"

#define PERF_PERIOD    "50021" /* cycles between samples */
#define PERF_SETTLE_MS 300     /* perf's start-up, before the measured slot */
#define MAX_CALLEES    64

static pid_t spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		setpgid(0, 0); /* a Ctrl-C is ours to handle, not perf's */
		dup2(null, STDIN_FILENO);
		dup2(out_fd >= 0 ? out_fd : null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !bench_stop)
		;
}

struct callees {
	struct profile_callee c[MAX_CALLEES];
	size_t n;
};

static void count_callee(struct callees *cs, const char *name)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		if (strcmp(cs->c[i].name, name) == 0) {
			cs->c[i].samples++;
			return;
		}
	}
	if (cs->n < MAX_CALLEES) {
		snprintf(cs->c[cs->n].name, sizeof(cs->c[cs->n].name), "%s", name);
		cs->c[cs->n++].samples = 1;
	}
}

static int by_samples(const void *a, const void *b)
{
	const struct profile_callee *x = a, *y = b;

	return (y->samples > x->samples) - (y->samples < x->samples);
}

/* One frame line: "\t<addr> <sym>+0x<off>". Writes sym (without the offset) and the offset. */
static void parse_frame(const char *line, char *sym, size_t len, unsigned long *off)
{
	const char *p = line + strspn(line, " \t");
	const char *plus;
	size_t n;

	p += strcspn(p, " "); /* the address */
	p += strspn(p, " ");
	n = strcspn(p, " \n");
	plus = memchr(p, '+', n);
	*off = plus ? strtoul(plus + 1, NULL, 16) : 0;
	if (plus)
		n = (size_t)(plus - p);
	if (n >= len)
		n = len - 1;
	memcpy(sym, p, n);
	sym[n] = '\0';
}

/* Account one sample's stack (frames[0] is where the CPU was). */
static void account(struct profile *out, struct callees *cs, struct callees *leaves,
		    char frames[][64], unsigned long *offs, size_t nframes)
{
	size_t i, prog = nframes;
	bool hook = false;

	for (i = 0; i < nframes; i++) {
		if (prog == nframes && strstr(frames[i], "_tg_connect4"))
			prog = i;
		if (strcmp(frames[i], "__cgroup_bpf_run_filter_sock_addr") == 0)
			hook = true;
	}
	out->hook_samples += hook;
	if (prog == nframes)
		return;
	out->prog_samples++;
	if (prog == 0) {
		out->self_samples++;
		out->entry_samples += offs[0] < 16;
	} else {
		/* The function the program called is the frame just above it. */
		count_callee(cs, frames[prog - 1]);
		count_callee(leaves, frames[0]);
	}
}

static int parse_script(const char *data, pid_t pid, struct profile *out)
{
	char *argv[] = { "perf", "script", "-F", "pid,ip,sym,symoff", "-i", (char *)data, NULL };
	static char frames[128][64];
	unsigned long offs[128];
	static struct callees cs, leaves;
	char line[512];
	size_t nframes = 0, i;
	bool ours = false;
	int pipefd[2], rc;
	pid_t child;
	FILE *f;

	cs.n = 0;
	leaves.n = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	child = spawn(argv, pipefd[1]);
	close(pipefd[1]);
	if (child < 0) {
		close(pipefd[0]);
		return -errno;
	}
	f = fdopen(pipefd[0], "r");
	if (!f) {
		close(pipefd[0]);
		kill(child, SIGKILL);
		reap(child);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\t') {
			if (ours && nframes < 128) {
				parse_frame(line, frames[nframes], sizeof(frames[0]),
					    &offs[nframes]);
				nframes++;
			}
			continue;
		}
		if (ours && nframes)
			account(out, &cs, &leaves, frames, offs, nframes);
		nframes = 0;
		ours = false;
		if (line[0] != '\n') {
			ours = strtol(line, NULL, 10) == pid;
			out->worker_samples += ours;
		}
	}
	if (ours && nframes)
		account(out, &cs, &leaves, frames, offs, nframes);
	fclose(f);
	rc = reap(child);
	qsort(cs.c, cs.n, sizeof(cs.c[0]), by_samples);
	qsort(leaves.c, leaves.n, sizeof(leaves.c[0]), by_samples);
	for (i = 0; i < PROFILE_TOP && i < cs.n; i++)
		out->top[i] = cs.c[i];
	for (i = 0; i < PROFILE_TOP && i < leaves.n; i++)
		out->leaf[i] = leaves.c[i];
	return rc == 0 ? 0 : -EIO;
}

int profile_run(int cpu, pid_t pid, unsigned int record_ms, int (*run)(void *arg), void *arg,
		struct profile *out)
{
	char data[64], cpu_text[16], duration[32];
	/* Kernel stacks only, and no more samples than needed: perf slows the connects down, and
	 * the breakdown is given as shares of tg_connect4's samples. */
	char *argv[] = {
		"perf",	  "record",   "-q", "-g",	 "--kernel-callchains",
		"-e",	  "cycles:k", "-c", PERF_PERIOD, "-C",
		cpu_text, "-o",	      data, "--",	 "sleep",
		duration, NULL,
	};
	pid_t perf;
	int err, rc;

	memset(out, 0, sizeof(*out));
	snprintf(data, sizeof(data), "/tmp/tg-bench-%d.perf", getpid());
	snprintf(cpu_text, sizeof(cpu_text), "%d", cpu);
	snprintf(duration, sizeof(duration), "%.3f", (record_ms + 2 * PERF_SETTLE_MS) / 1e3);
	perf = spawn(argv, -1);
	if (perf < 0) {
		snprintf(out->skipped, sizeof(out->skipped), "cannot run perf: %s",
			 strerror(errno));
		return 0;
	}
	sleep_ms(PERF_SETTLE_MS);
	err = run(arg);
	rc = reap(perf);
	if (err || rc) {
		unlink(data);
		if (err == -EINTR || bench_stop)
			return -EINTR;
		if (err)
			return err;
		snprintf(out->skipped, sizeof(out->skipped),
			 rc == 127 ? "perf is not installed" : "perf record failed (exit %d)", rc);
		return 0;
	}
	err = parse_script(data, pid, out);
	unlink(data);
	if (err || !out->worker_samples) {
		snprintf(out->skipped, sizeof(out->skipped), "perf script gave no samples");
		return 0;
	}
	out->done = true;
	return 0;
}
