/*
 * capture.h - change capture by plain SQL triggers (see docs/INTERNALS.md).
 */
#ifndef HS_CAPTURE_H
#define HS_CAPTURE_H

#include "schema.h"

/* Operations recorded in hubsync_changes.op. Its mask (the changed
 * columns, bit i = column i, -1 all) is read for HS_OP_UPDATE only. */
enum {
	HS_OP_INSERT = 1,
	HS_OP_UPDATE = 2,
	HS_OP_DELETE = 3,
	HS_OP_EXISTING = 4 /* a row already there when tracking started */
};

/* The generation of the capture triggers: hs_tracking_reconcile
 * re-creates the triggers of a replica made by a version with another one.
 * 2: the key change in its own trigger (updk), no stash probe per insert.
 * 3: the log keeps k1 only; k2..k4 of a composite key in
 *    hubsync_changes_key (hs_capture_log_upgrade moves an older log). */
#define HS_CAPTURE_VERSION 3

/* (Re)create the capture triggers of t (t->id must be set), for its
 * columns as they are now; with guard, also the triggers that keep the
 * app's triggers from writing into t while hubsync applies pulled rows
 * (needed when the database has triggers of the app's). Returns a SQLite
 * code. */
int hs_capture_install(sqlite3 *db, const hs_table *t, int guard);
/* *out = 1 if db has triggers that are not hubsync's. SQLite code. */
int hs_capture_app_triggers(sqlite3 *db, int *out);
/* *out = 1 if hubsync's guard triggers are installed: its own writes to
 * the app's tables must then be armed (apply.h). SQLite code. */
int hs_capture_guarded(sqlite3 *db, int *out);
/* Drop t's triggers. */
int hs_capture_remove(sqlite3 *db, const char *table);
/* Queue every row now in t (those matching the SQL condition where, if
 * not NULL) for the next push as operation op with column mask, made at
 * wall_ms by a writer who had pulled up to base. */
int hs_capture_queue(sqlite3 *db, const hs_table *t, int op, int64_t mask,
		     int64_t wall_ms, int64_t base, const char *where);

/*
 * The capture log: hubsync_changes(id, tbl, op, mask, wall, base, k1)
 * holds an entry and the first key column; a key of 2-4 columns keeps the
 * others in hubsync_changes_key(id, k2, k3, k4), same id, written by the
 * same trigger. hs_capture_log gives the SQL of the log with its whole
 * key, to use as a table in FROM: columns id, tbl, op, mask, wall, base,
 * k1, k2, k3, k4 (a replica whose log an older version wrote, with
 * k1..k4 in one table, until its reconcile moves it). Whoever deletes
 * entries calls hs_capture_log_prune.
 */
const char *hs_capture_log(sqlite3 *db);
/* The same for a reader of tables whose keys all have one column
 * (max_npk <= 1): k2..k4 NULL, the side table not joined. */
const char *hs_capture_log_keys(sqlite3 *db, int max_npk);
/* Delete the hubsync_changes_key rows whose entry is gone. SQLite code. */
int hs_capture_log_prune(sqlite3 *db);
/* A log an older version wrote (k1..k4 in hubsync_changes): the triggers
 * that write k2.. dropped (the caller re-creates every table's), the
 * pending entries' k2..k4 moved to hubsync_changes_key, the columns
 * dropped (or left NULL when SQLite refuses: a broken trigger of the
 * app's). Nothing when the log has the new layout. SQLite code. */
int hs_capture_log_upgrade(sqlite3 *db);

#endif
