// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tg_addr.h"
#include "tg_maps.h"
#include "tg_policy.h"

#include "policy.h"

#include "events.h"
#include "quote.h"
#include "reasons.h"
#include "pins.h"

#define LOCK_DIR "/run/tunnelguard"

struct line {
	char *buf;
	size_t len, used;
	bool overflow;
};

static void __attribute__((format(printf, 2, 3))) put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= l->len - l->used)
		l->overflow = true;
	else
		l->used += n;
}

/* A JSON string (UTF-8 safe, quote.h), or null for an unknown name. */
static void put_json_string(struct line *l, const char *s, size_t max, bool null_if_empty)
{
	char esc[6 * 64 + 1];

	if (null_if_empty && !s[0]) {
		put(l, "null");
		return;
	}
	if (quote_escape(s, max, esc, sizeof(esc)) < 0)
		l->overflow = true;
	put(l, "\"%s\"", esc);
}

/* A logfmt value: as it is, or quoted and escaped when it holds a space, '=', '"', ... */
static void put_logfmt(struct line *l, const char *s, size_t max)
{
	char esc[6 * 64 + 1];

	if (!quote_logfmt_needed(s, max)) {
		put(l, "%.*s", (int)strnlen(s, max), s);
		return;
	}
	if (quote_escape(s, max, esc, sizeof(esc)) < 0)
		l->overflow = true;
	put(l, "\"%s\"", esc);
}

/* RFC 3339 UTC with milliseconds of a CLOCK_BOOTTIME instant. */
static void format_time(unsigned long long boot_ns, char *buf, size_t len)
{
	struct timespec real, boot;
	long long ns;
	time_t secs;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	ns = (long long)real.tv_sec * 1000000000LL + real.tv_nsec -
	     ((long long)boot.tv_sec * 1000000000LL + boot.tv_nsec) + (long long)boot_ns;
	secs = ns / 1000000000LL;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (ns % 1000000000LL) / 1000000LL);
}

void events_time_now(char *buf, size_t len)
{
	struct timespec boot;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	format_time((unsigned long long)boot.tv_sec * 1000000000ULL + boot.tv_nsec, buf, len);
}

int events_format_suppressed(unsigned long long rate_limited, unsigned long long lost, bool json,
			     char *buf, size_t len)
{
	char when[96];
	int n;

	events_time_now(when, sizeof(when));
	if (json)
		n = snprintf(
			buf, len,
			"{\"time\":\"%s\",\"suppressed\":{\"rate_limited\":%llu,\"lost\":%llu}}\n",
			when, rate_limited, lost);
	else
		n = snprintf(buf, len, "time=%s suppressed rate_limited=%llu lost=%llu\n", when,
			     rate_limited, lost);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

static const char *user_name(unsigned int uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "");
	return buf;
}

/* Where the refusal was taken; at the syscall, connect() or bind() by its reason. */
static const char *stage_name(const struct tg_event *e)
{
	bool bind = tg_reason_is_bind(e->reason);

	switch (e->stage) {
	case TG_STAGE_SYSCALL:
		return bind ? "bind" : "connect";
	case TG_STAGE_SYN:
		return "syn";
	case TG_STAGE_POST_BIND:
		return "post_bind";
	default:
		return "unknown";
	}
}

int events_format(const struct tg_event *e, bool json, char *buf, size_t len)
{
	struct line l = { .buf = buf, .len = len };
	char when[96], addr[INET6_ADDRSTRLEN], caller[64], owner[64];
	const char *verdict = tg_reason_refuses(e->reason) ? "deny" : "audit";
	/* A tunnel limit event carries the limit in owner_uid (0: the count could not be kept). */
	bool tunnel_limit = e->reason == TG_DENY_TUNNEL_LIMIT || e->reason == TG_AUDIT_TUNNEL_LIMIT;
	/* For a bind, the owner is the tenant the port is reserved for: none when unreserved. */
	bool owner_known = e->reason != TG_DENY_UNKNOWN_OWNER &&
			   e->reason != TG_AUDIT_UNKNOWN_OWNER &&
			   e->reason != TG_DENY_BIND_UNRESERVED &&
			   e->reason != TG_AUDIT_BIND_UNRESERVED && !tunnel_limit;

	if (len == 0)
		return -ENOSPC;
	format_time(e->time_ns, when, sizeof(when));
	if (!inet_ntop(e->family == TG_AF_INET ? AF_INET : AF_INET6, e->ip, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	user_name(e->caller_uid, caller, sizeof(caller));
	user_name(e->owner_uid, owner, sizeof(owner));
	if (json) {
		put(&l,
		    "{\"time\":\"%s\",\"verdict\":\"%s\",\"reason\":\"%s\",\"caller_uid\":%u,\"caller\":",
		    when, verdict, reason_name(e->reason), e->caller_uid);
		put_json_string(&l, caller, sizeof(caller), true);
		put(&l, ",\"pid\":%u,\"comm\":", e->pid);
		put_json_string(&l, e->comm, sizeof(e->comm), false);
		put(&l, ",\"dst\":\"%s\",\"port\":%u", addr, e->port);
		if (owner_known) {
			put(&l, ",\"owner_uid\":%u,\"owner\":", e->owner_uid);
			put_json_string(&l, owner, sizeof(owner), true);
		}
		if (tunnel_limit)
			put(&l, ",\"max_tunnels\":%u", e->owner_uid);
		put(&l, ",\"netns\":%llu,\"stage\":\"%s\"}\n", (unsigned long long)e->netns_cookie,
		    stage_name(e));
	} else {
		put(&l, "time=%s verdict=%s reason=%s caller_uid=%u caller=", when, verdict,
		    reason_name(e->reason), e->caller_uid);
		put_logfmt(&l, caller[0] ? caller : "-", sizeof(caller));
		put(&l, " pid=%u comm=", e->pid);
		put_logfmt(&l, e->comm[0] ? e->comm : "-", sizeof(e->comm));
		put(&l, " dst=%s port=%u", addr, e->port);
		if (owner_known) {
			put(&l, " owner_uid=%u owner=", e->owner_uid);
			put_logfmt(&l, owner[0] ? owner : "-", sizeof(owner));
		}
		if (tunnel_limit)
			put(&l, " max_tunnels=%u", e->owner_uid);
		put(&l, " netns=%llu stage=%s\n", (unsigned long long)e->netns_cookie,
		    stage_name(e));
	}
	return l.overflow ? -ENOSPC : (int)l.used;
}

static int print_event(void *ctx, void *data, size_t size)
{
	struct events_reader *r = ctx;
	char line[2048]; /* escaped names and comm can take 6 bytes per byte */
	int n;

	if (size < sizeof(struct tg_event))
		return 0; /* not ours: skip rather than misread */
	n = events_format(data, r->json, line, sizeof(line));
	if (n > 0) {
		fwrite(line, 1, n, r->out);
		r->printed++;
	}
	return 0;
}

int events_open(struct events_reader *r, const char *pin_dir, bool json, FILE *out)
{
	int fd, err;

	memset(r, 0, sizeof(*r));
	fd = pins_open(pin_dir, TG_PIN_EVENTS);
	if (fd < 0)
		return fd;
	r->out = out;
	r->json = json;
	r->rb = ring_buffer__new(fd, print_event, r, NULL);
	err = r->rb ? 0 : -errno;
	close(fd); /* the ring buffer keeps its own mapping */
	return err;
}

int events_poll(struct events_reader *r, int timeout_ms)
{
	unsigned long long before = r->printed;
	int err = ring_buffer__poll(r->rb, timeout_ms);

	fflush(r->out);
	if (err < 0 && err != -EINTR)
		return err;
	return (int)(r->printed - before);
}

void events_close(struct events_reader *r)
{
	ring_buffer__free(r->rb);
	r->rb = NULL;
}

int events_lock(const char *pin_dir, pid_t *holder)
{
	char path[PATH_MAX], pid_text[32];
	size_t n = 0;
	ssize_t got;
	int fd, err;

	if (mkdir(LOCK_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	n = (size_t)snprintf(path, sizeof(path), LOCK_DIR "/events");
	for (const char *p = pin_dir; *p && n + 2 < sizeof(path); p++)
		path[n++] = *p == '/' ? '_' : *p;
	path[n] = '\0';
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		got = pread(fd, pid_text, sizeof(pid_text) - 1, 0);
		pid_text[got > 0 ? got : 0] = '\0';
		*holder = (pid_t)atoi(pid_text);
		close(fd);
		return err == -EAGAIN ? -EWOULDBLOCK : err;
	}
	n = (size_t)snprintf(pid_text, sizeof(pid_text), "%d\n", getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid_text, n, 0) != (ssize_t)n) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
