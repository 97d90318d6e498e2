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
	/* hs_applier_read: ?1..?npk -> ncols columns of the rows from that
	 * key on, in key order; scan_ok 1 when the plan walks the key's
	 * index from the key (-1: it cannot, or walking does not pay: reads
	 * use sel), scan_on 1 while scan stands on the row read last; reads
	 * so far, and steps that gave the key asked for or not */
	sqlite3_stmt *scan;
	int scan_ok, scan_on;
	int reads, hits, misses;
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

/*
 * hs_applier_select for keys asked for in ascending key order (a push
 * reading the rows of its log, which is sorted by key): when the row
 * after the one read last has exactly (hs_value_same) the key pk, it is
 * taken by stepping a cursor instead of seeking it. Any other key is
 * sought, from where the cursor goes on; a row whose key is not exactly
 * pk is read by hs_applier_select, so the answer is always hs_applier_
 * select's. The first few reads of a table, and all when most steps miss
 * (keys far apart), are point selects: a 10-row push costs no more than
 * before. hs_applier_done ends the walk (before the transaction ends).
 */
int hs_applier_read(hs_applier *a, sqlite3_value **pk, sqlite3_value **out,
		    int *found);

/* a's upsert (unguarded a only: ?1..?n values, ?n+1..?2n apply flags),
 * prepared on first use; NULL with *rc set when it cannot be. */
sqlite3_stmt *hs_applier_upsert_stmt(hs_applier *a, int *rc);
/* a's select by key (?1..?npk -> ncols columns), prepared on first use;
 * NULL with *rc set when it cannot be. */
sqlite3_stmt *hs_applier_sel(hs_applier *a, int *rc);
/* Reset a's reading statements (hs_applier_sel's, hs_applier_read's). */
void hs_applier_done(hs_applier *a);

#endif
