/*
 * apply.h - write rows of one table by primary key: the statements shared
 * by the master merge and the replica's pull ("one merge, many targets").
 */
#ifndef HS_APPLY_H
#define HS_APPLY_H

#include "schema.h"

typedef struct hs_applier {
	const hs_table *t;
	sqlite3 *db;
	sqlite3_value *synced_at; /* written to synced_at of rows, or NULL */
	int guard;            /* table id armed before each write, or 0 */
	sqlite3_stmt *upsert; /* ?1..?n values, ?n+1..?2n apply flags */
	/* guarded: UPDATEs setting just the applied columns (the app's
	 * "AFTER UPDATE OF col" triggers fire as they would for the app),
	 * one per set of columns, the last few kept */
	struct hs_applier_update {
		unsigned char *cols; /* ncols flags */
		sqlite3_stmt *st;    /* ?i values, ?2n+1 synced_at, ?2n+2.. key */
	} updates[8];
	int next_update;
	sqlite3_stmt *exists; /* guarded: ?2n+2.. key -> a row if there */
	sqlite3_stmt *insert; /* guarded: ?1..?n values */
	sqlite3_stmt *arm;    /* guarded: hubsync_ctl.armed = guard */
	sqlite3_stmt *del;    /* ?1..?npk */
	sqlite3_stmt *sel;    /* ?1..?npk -> ncols columns */
	int writes_ready;     /* the write statements are prepared */
} hs_applier;

/*
 * Set a up for t on db; its statements are prepared when first used. Rows written get synced_at (a value
 * copied, may be NULL: not written) in the table's synced_at column. With guard (a
 * hubsync_tables id, 0 for none), every write is one single-row INSERT,
 * UPDATE or DELETE preceded by arming hubsync_ctl.armed with it: the
 * replica's guard triggers (capture.c) let exactly that write through
 * while the app's triggers' writes into tracked tables are ignored.
 * Returns a SQLite code.
 */
int hs_applier_prepare(hs_applier *a, sqlite3 *db, const hs_table *t,
		       sqlite3_value *synced_at, int guard);
void hs_applier_free(hs_applier *a);

/* Insert the row vals (ncols values) or, if its key exists, set the
 * columns whose changed flag is set. Returns a SQLite code. */
int hs_applier_upsert(hs_applier *a, sqlite3_value **vals,
		      const unsigned char *changed);
/* Delete the row with key pk. */
int hs_applier_delete(hs_applier *a, sqlite3_value **pk);
/* Read the row with key pk into out[ncols] (owned copies; free with
 * sqlite3_value_free). *found is 0 when there is no such row. */
int hs_applier_select(hs_applier *a, sqlite3_value **pk, sqlite3_value **out,
		      int *found);

/* a's upsert (unguarded a only: ?1..?n values, ?n+1..?2n apply flags),
 * prepared on first use; NULL with *rc set when it cannot be. */
sqlite3_stmt *hs_applier_upsert_stmt(hs_applier *a, int *rc);
/* a's select by key (?1..?npk -> ncols columns), prepared on first use;
 * NULL with *rc set when it cannot be. */
sqlite3_stmt *hs_applier_sel(hs_applier *a, int *rc);
/* After stepping hs_applier_sel's statement by hand: reset it and clear
 * its bindings. */
void hs_applier_done(hs_applier *a);

#endif
