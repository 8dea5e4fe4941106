// SPDX-License-Identifier: GPL-2.0-only
/*
 * drift.h - the kinds of disagreement a sync finds between the kernel's live state and what the
 * guard holds (tg_port_owner, the nft sets), one name each, as status and the daemon word them.
 *
 * Example: port_owner holds 127.0.0.1:8001 uid 2001 but nothing listens there: DRIFT_STALE,
 * named "stale"; a listener of uid 2002 on [::1]:8002 that the map lacks: DRIFT_MISSING.
 */
#ifndef TG_DRIFT_H
#define TG_DRIFT_H

enum drift_kind {
	DRIFT_MISSING,	   /* the live state has it, the guard lacks it */
	DRIFT_STALE,	   /* the guard holds it, the live state no longer has it */
	DRIFT_WRONG_OWNER, /* both have it, with different uids (port_owner only) */
	DRIFT_KIND_COUNT,
};

/* "missing", "stale" or "wrong owner"; NULL for a value that is not a kind. */
const char *drift_kind_name(enum drift_kind kind);

/* The kind called name, or DRIFT_KIND_COUNT when no kind is (for callbacks that pass names). */
enum drift_kind drift_kind_of(const char *name);

#endif /* TG_DRIFT_H */
