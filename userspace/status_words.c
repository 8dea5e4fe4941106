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
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "");
	return buf;
}

/* Reservations are stored one port range each; a [tenant] section's ranges are adjacent. */
unsigned int status_reservation_run(const struct guard_state *st, unsigned int i)
{
	unsigned int end = i + 1;

	while (end < st->policy.n_reservation && end < TG_MAX_RESERVATIONS &&
	       st->policy.reservation[end].uid == st->policy.reservation[i].uid &&
	       strncmp(st->names.reservation[end], st->names.reservation[i], TG_NAME_LEN) == 0)
		end++;
	return end;
}
