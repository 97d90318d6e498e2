/*
 * history.h - the audit trail's compact format (hubsync_history in a
 * replica and in a format-3 file master): how an entry is written, read
 * back in its old 8-value shape, pruned by age, and how an older table is
 * upgraded. The format itself is described at the top of history.c.
 */
#ifndef HS_HISTORY_H
#define HS_HISTORY_H

#include "util.h"

#include <sqlite3.h>
#include <stdint.h>

/* The columns of an entry in the old shape, as the wire and every reader
 * see it. */
#define HS_HISTORY_COLS "seq, tbl, key, pk, op, user, at, changes"

/* The compact hubsync_history and its dictionary (hubsync_names), for
 * hs_exec (CREATE ... IF NOT EXISTS). */
extern const char *const HS_HISTORY_DDL;
/* The old hubsync_history (a format 1 or 2 master; a replica before this
 * version). */
extern const char *const HS_HISTORY_DDL_OLD;

/* Register the SQL functions the compact format is read with (hs_hist_*,
 * used by hs_history_source) and the table hs_history_writer_put_set
 * writes from (hs_trail) on db: every connection that reads or copies an
 * audit trail needs them. SQLite code. */
int hs_history_functions(sqlite3 *db);

/* 1 if db's hubsync_history has the compact shape, 0 if the old one (or
 * none), -1 on a read error. */
int hs_history_compact(sqlite3 *db);

/* Append to b a FROM-clause source with the old shape's columns (seq,
 * tbl, key, pk, op, user, at, changes: HS_HISTORY_COLS) over db's
 * hubsync_history: the table itself (old) or its decoding (compact). */
void hs_history_source(hs_buf *b, int compact);

/* Entries of a compact hubsync_history name their table and user by ids
 * of its hubsync_names: a list of them (a writer's, or a trail's whole
 * dictionary read by hs_history_names_load). Zero-initialized. */
typedef struct hs_history_names {
	size_t n, cap, last;
	struct hs_history_name {
		int kind;       /* 0 a table, 1 a user */
		int64_t id;
		char *name, *pkcol;
	} *v;
} hs_history_names;

/* Every entry of db's hubsync_names into *out, by id (hs_history_names_free
 * even on error). SQLite code. */
int hs_history_names_load(sqlite3 *db, hs_history_names *out);
void hs_history_names_free(hs_history_names *nm);

/* A value of an entry as stored: type SQLITE_INTEGER (i), SQLITE_TEXT (s,
 * borrowed from the entry's text), SQLITE_NULL, or SQLITE_BLOB (empty). */
typedef struct hs_history_cell {
	int type;
	int64_t i;
	const char *s;
} hs_history_cell;

/* Entries of another compact trail a writer writes with one statement. */
#define HS_HISTORY_BATCH 16

/* Write entries in the old shape (tbl, key, pk, op, user, at, changes as
 * text; NULL binds NULL), or as another compact trail stores them, into a
 * compact hubsync_history: the one place an entry is written. It keeps
 * the dictionary ids it used: after a rollback (of the transaction or to a
 * savepoint) that may have undone new ones, hs_history_writer_reset.
 * Zero-initialized; `replace` (set before the first entry): INSERT OR
 * REPLACE, for a pulled copy. */
typedef struct hs_history_writer {
	int replace;
	sqlite3 *db;
	sqlite3_stmt *put, *put_batch, *name_put, *name_get;
	sqlite3_stmt *failed; /* put or put_batch, not reset yet */
	hs_history_names names;
	int64_t at_ms; /* the last time encoded (a sync's entries share it) */
	char at_iso[32];
	int at_ok;
	hs_buf pk; /* a stored entry's key JSON, when it must be read */
	/* stored entries not written yet (hs_history_writer_flush): a TEXT
	 * cell's text is at offset i of text */
	size_t pending;
	int64_t pending_seq[HS_HISTORY_BATCH];
	hs_history_cell pending_cell[HS_HISTORY_BATCH][7];
	hs_buf text;
} hs_history_writer;

/* The stored form of an entry's 7 values after seq (tbl, key, pk, op,
 * user, at, changes) into out, for a caller that writes a set of entries
 * with one statement (the file master's new rows): the dictionary entry
 * of a new name is written here. SQLite code. */
int hs_history_writer_encode(hs_history_writer *w, sqlite3 *db,
			     const char *const txt[7], hs_history_cell out[7]);
/* Cell c as the result of an SQL function or a virtual table's column. */
void hs_history_cell_result(sqlite3_context *cx, const hs_history_cell *c);

/* One entry (SQLite code; the dictionary entry of a new name first; the
 * entries put_stored keeps are written first). */
int hs_history_writer_put(hs_history_writer *w, sqlite3 *db, int64_t seq,
			  const char *const txt[7]);
/* The same with the entry as the 8 values of HS_HISTORY_COLS (an
 * hs_history_fn's). */
int hs_history_writer_put_values(hs_history_writer *w, sqlite3 *db,
				 sqlite3_value **v);
/* One entry as another compact trail stores it, v its 8 values
 * (HS_HISTORY_COLS of that hubsync_history itself, not of
 * hs_history_source), whose ids are those of from (that trail's
 * hs_history_names_load): written as hs_history_writer_put_values writes
 * the entry hs_history_source reads back there, the same values stored
 * (the ids this trail's own), without making its text where the stored
 * form can be kept (a replica's copy of a file master's trail). An entry
 * whose table id from lacks is no entry (hs_history_source's join leaves
 * it out): nothing is written. The writer keeps up to HS_HISTORY_BATCH
 * entries (copied) to write them with one statement: until
 * hs_history_writer_flush, they are not in the table (a reset or free
 * drops them). The sync copies a trail with hs_history_writer_put_set,
 * which writes exactly this, as a set; test_history holds the two
 * against each other. SQLite code. */
int hs_history_writer_put_stored(hs_history_writer *w, sqlite3 *db,
				 const hs_history_names *from,
				 sqlite3_value **v);
/* The entries of another trail, one at a time: SQLITE_ROW and v (its 8
 * values, borrowed until the next call), SQLITE_DONE at the end, or the
 * failure. */
typedef int (*hs_history_next)(void *it, sqlite3_value **v);
/* hs_history_next over a statement selecting the 8 values of an entry
 * (stmt: its sqlite3_stmt). */
int hs_history_step(void *stmt, sqlite3_value **v);
/* Every entry next hands (until SQLITE_DONE) written as put_stored writes
 * it (the same ids and stored values), with one INSERT ... SELECT: no
 * value copied, no entry bound. A failure of next's comes back as it
 * came, the caller's transaction still open (an SQLITE_IOERR of another
 * file does not end it); after any failure the caller rolls back to a
 * savepoint taken before (what the INSERT wrote may be undone already,
 * the dictionary ids the writer keeps too: hs_history_writer_reset).
 * SQLite code. */
int hs_history_writer_put_set(hs_history_writer *w, sqlite3 *db,
			      const hs_history_names *from,
			      hs_history_next next, void *it);
/* Write the entries put_stored keeps. SQLite code. */
int hs_history_writer_flush(hs_history_writer *w);
void hs_history_writer_reset(hs_history_writer *w);
void hs_history_writer_free(hs_history_writer *w);

/* Every row of source (a FROM-clause source with the HS_HISTORY_COLS
 * columns in the old shape; or, from not NULL, as a compact trail whose
 * ids are from's stores them: hs_history_writer_put_set), in the order
 * it gives them (a table keyed by seq: seq order), through w. SQLite
 * code. */
int hs_history_copy(hs_history_writer *w, sqlite3 *db, const char *source,
		    const hs_history_names *from);

/* Delete the entries older than cutoff_ms (their `at`); *max_seq (if not
 * NULL) gets the largest seq deleted, or is left alone when none is. */
int hs_history_prune(sqlite3 *db, int compact, int64_t cutoff_ms,
		     int64_t *max_seq);

/* Convert db's old-shape hubsync_history to the compact one, in place,
 * under a savepoint (inside the caller's transaction, or its own): all or
 * nothing, and a no-op once done. SQLite code. */
int hs_history_upgrade(sqlite3 *db);

#endif
