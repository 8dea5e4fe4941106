// SPDX-License-Identifier: GPL-2.0-only
/* status_words.c - the words status prints in text, JSON and Prometheus alike (status_internal.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tg_maps.h"

#include "config.h"
#include "escape.h"
#include "layers.h"
#include "quote.h"
#include "reasons.h"
#include "mounts.h"
#include "status.h"
#include "status_internal.h"
#include "user_names.h"
#include "status_netns.h"
#include "util.h"

const char *const status_stat_names[TG_STAT_COUNT] = {
	[TG_STAT_EVENTS_RATE_LIMITED] = "events_rate_limited",
	[TG_STAT_EVENTS_LOST] = "events_lost",
	[TG_STAT_PORT_OWNER_FULL] = "port_owner_full",
	[TG_STAT_OWNER_EVENTS_LOST] = "owner_events_lost",
	[TG_STAT_PORT_OWNER_UID_CAP] = "port_owner_uid_cap",
};

/* enum tg_stage, as status and the Prometheus label name them. */
const char *const status_stage_names[TG_STAGE_COUNT] = {
	[TG_STAGE_SYSCALL] = "syscall",
	[TG_STAGE_SYN] = "syn",
	[TG_STAGE_POST_BIND] = "post_bind",
};

size_t status_count_service_owners(const struct nft_state *nft)
{
	size_t n = 0;

	for (size_t i = 0; i < nft->n_owners; i++)
		n += !nft->owners[i].tenant;
	return n;
}

const char *status_selftest_label(unsigned int result)
{
	static const char *const labels[] = { "never run", "passed", "FAILED", "skipped" };

	return result < ARRAY_SIZE(labels) ? labels[result] : "?";
}

void status_format_unix_time(unsigned long long t, char *buf, size_t len)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&secs, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

const char *status_errno_label(unsigned int e)
{
	return e == 111 ? "ECONNREFUSED" : e == 1 ? "EPERM" : "?";
}

const char *status_user_of(unsigned int uid, char *buf, size_t len)
{
	snprintf(buf, len, "%s", user_name_of(uid));
	return buf;
}

/* Section of reservation i, for sorting. */
static const struct tg_policy *sort_policy;

static int by_section(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	__u32 sx = sort_policy->reservation_section[x], sy = sort_policy->reservation_section[y];

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

__u32 *status_reservations_by_section(const struct tg_policy *p)
{
	__u32 *order = calloc(p->n_reservation ? p->n_reservation : 1, sizeof(*order));

	if (!order)
		return NULL;
	for (__u32 i = 0; i < p->n_reservation; i++)
		order[i] = i;
	sort_policy = p;
	qsort(order, p->n_reservation, sizeof(*order), by_section);
	return order;
}

unsigned int status_reservation_run(const struct tg_policy *p, const __u32 *order, unsigned int i)
{
	unsigned int end = i + 1;

	while (end < p->n_reservation &&
	       p->reservation_section[order[end]] == p->reservation_section[order[i]])
		end++;
	return end;
}

const char *status_section_name(const struct tg_policy *p, __u32 reservation)
{
	__u32 s = p->reservation_section[reservation];

	return s < p->n_section ? p->section[s].name : "?";
}
