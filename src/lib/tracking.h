/*
 * tracking.h - which of the app's tables a replica syncs, and following
 * the app's schema as it changes (contract 3.6).
 *
 * hubsync_tables lists the tracked tables with the columns they had when
 * hubsync last looked (cols, a JSON array); hubsync_untracked the tables a
 * user stopped syncing (with the pull watermark then: `track` starts from
 * there); hubsync_catchup the pulls a later sync owes a table (a column
 * the app added here after others had filled it, a table tracked again).
 * meta 'tables' is "all" when init tracked every table (new tables are
 * then tracked as they appear) and meta 'schema_version' the schema a sync
 * last reconciled with, and the capture triggers' version it installed
 * (HS_CAPTURE_VERSION << 32 | schema version: an unchanged schema costs
 * one pragma; triggers an older hubsync made are re-created once).
 */
#ifndef HS_TRACKING_H
#define HS_TRACKING_H

#include "replica.h"
#include "schema.h"

#include <jansson.h>

/* 1 if name is a table hubsync can track; else 0 and *why says why not
 * (a virtual table, a virtual table's shadow, no primary key, none). */
int hs_tracking_can_track(sqlite3 *db, const char *name, const char **why);

/* 1 if an app trigger on another table inserts or updates rows of table
 * name (a derived table: an audit log, a running total); trigger gets
 * "TRIGGER on TABLE". Such tables are each PC's own by default: the
 * triggers keep them up to date from the synced rows on every PC. */
int hs_tracking_fed_by(sqlite3 *db, const char *name, char *trigger,
		       size_t n);

/*
 * Start tracking table name inside the caller's write transaction: with
 * stamp, add and record the bookkeeping columns (stamp.h); record its
 * columns, install its triggers (guard: the app has triggers), and queue
 * its rows for the next push (a table untracked before: as of then, with
 * a catch-up pull from then). HS_OK, or an hs_error with err set.
 */
int hs_tracking_track(hs_replica *r, const char *name, int stamp, int guard,
		      hs_buf *err);

/* A table the sync leaves out this time, and why (one line). */
typedef struct hs_skipped {
	char *table;
	char *why;
} hs_skipped;

typedef struct hs_reconcile {
	hs_skipped *skipped; /* tracked tables this sync cannot follow */
	int nskipped;
	hs_buf warning;      /* what changed that people should know */
} hs_reconcile;

/*
 * Bring tracking in line with the database's schema now (once per schema
 * change; a no-op otherwise): triggers re-created newest and for the
 * columns there are now; a column added by an app upgrade recorded, its
 * values queued and a catch-up pull of it planned; tables dropped by the
 * app untracked with a warning; new tables tracked when init tracked
 * every table. A renamed or dropped column leaves its table out (listed
 * in out->skipped with what to do). Runs its own write transaction.
 * HS_OK, or an hs_error with err set.
 */
int hs_tracking_reconcile(hs_replica *r, hs_reconcile *out, hs_buf *err);
void hs_reconcile_clear(hs_reconcile *rc);

/* [{"table", "reason"}] of the app's tables that are not synced. */
json_t *hs_tracking_untracked_json(hs_replica *r);

#endif
