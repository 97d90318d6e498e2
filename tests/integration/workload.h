/*
 * workload.h - the app's side of the crash, concurrency and SMB tests:
 * plain SQL writes to a replica, and a ledger of every write that
 * committed, so that a test can prove that nothing was lost.
 *
 * The schema (WL_SCHEMA) has three tables, each exercising one part of the
 * merge:
 *   items  (id TEXT PRIMARY KEY, val, note)   site k writes only the keys
 *          "sKK-NNNN" (insert, update, delete, re-insert);
 *   shared (id TEXT PRIMARY KEY, c0 .. c19)   WL_SHARED_ROWS rows seeded by
 *          site 0; site k updates only column cK of every row (column-level
 *          merge: concurrent edits of different columns must all survive);
 *   notes  (id INTEGER PRIMARY KEY AUTOINCREMENT, site, seq)   site k
 *          inserts rows (k, 1), (k, 2), ...: integer keys created by several
 *          offline users, rebased on push; a crash must not duplicate them.
 *
 * Because every column has exactly one writer, the expected final state is
 * exact: items holds every live key with its last value, cK of shared the
 * last value site k wrote, notes each (site, seq) exactly once. Values are
 * unique (site and a counter folded in), so a stale value cannot pass for
 * a new one.
 *
 * The ledger is updated only after COMMIT succeeded; a transaction that
 * failed (SQLITE_BUSY beyond the app's busy timeout) is rolled back,
 * counted in busy, and leaves the ledger as it was.
 */
#ifndef HS_WORKLOAD_H
#define HS_WORKLOAD_H

#include <stdint.h>

#include <sqlite3.h>

#define WL_MAX_SITES 20
#define WL_SHARED_ROWS 50
#define WL_GONE INT64_MIN /* ledger value of a key that is not there */

/* The app's tables (before hubsync init). */
extern const char WL_SCHEMA[];

typedef struct wl_app {
	int site;       /* 0 .. WL_MAX_SITES-1 */
	int nkeys;      /* keys sKK-0000 .. sKK-(nkeys-1) */
	int64_t *val;   /* per key: last value committed, or WL_GONE */
	int64_t shared[WL_SHARED_ROWS]; /* last value of column cK, 0: none */
	int64_t notes;  /* notes rows committed: seq 1 .. notes */
	int64_t serial; /* makes every written value unique */
	uint64_t rng;
	int64_t commits, busy, rows; /* transactions, failed ones, row writes */
} wl_app;

/* A ledger for site with nkeys keys (none written yet), seeded PRNG. */
void wl_app_init(wl_app *a, int site, int nkeys, uint64_t seed);
void wl_app_free(wl_app *a);

/* Create the app's tables in db; site 0 also seeds the shared rows. */
void wl_create_schema(sqlite3 *db, int site);

/*
 * One app transaction of about nrows row writes on db (BEGIN IMMEDIATE ..
 * COMMIT, the busy timeout is the connection's): updates, inserts, deletes
 * and re-inserts of own items, updates of own column of shared rows (once
 * they have arrived), new notes. Returns SQLITE_OK, or SQLITE_BUSY /
 * SQLITE_LOCKED when the database stayed locked (rolled back, counted in
 * a->busy, ledger unchanged). Any other error fails the test.
 */
int wl_app_write(wl_app *a, sqlite3 *db, int nrows);

/*
 * Compare db (a replica or the master) with the ledgers of apps[0..n-1]
 * (every site that ever wrote). Returns NULL when db holds exactly what
 * they committed, else a malloc'd description of the first difference.
 */
char *wl_verify(sqlite3 *db, wl_app *const *apps, int n);

/* Save / load a ledger (a file the app process writes at its end). */
void wl_app_save(const wl_app *a, const char *path);
void wl_app_load(wl_app *a, const char *path);

#endif
