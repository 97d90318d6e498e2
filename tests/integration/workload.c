/*
 * workload.c - the app's writes and their ledger (see workload.h).
 */
#define _GNU_SOURCE /* vasprintf */
#include "workload.h"

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char WL_SCHEMA[] =
	"CREATE TABLE items (id TEXT PRIMARY KEY, val INTEGER, note TEXT);"
	"CREATE TABLE shared (id TEXT PRIMARY KEY, c0 INTEGER DEFAULT 0,"
	" c1 INTEGER DEFAULT 0, c2 INTEGER DEFAULT 0, c3 INTEGER DEFAULT 0,"
	" c4 INTEGER DEFAULT 0, c5 INTEGER DEFAULT 0, c6 INTEGER DEFAULT 0,"
	" c7 INTEGER DEFAULT 0, c8 INTEGER DEFAULT 0, c9 INTEGER DEFAULT 0,"
	" c10 INTEGER DEFAULT 0, c11 INTEGER DEFAULT 0, c12 INTEGER DEFAULT 0,"
	" c13 INTEGER DEFAULT 0, c14 INTEGER DEFAULT 0, c15 INTEGER DEFAULT 0,"
	" c16 INTEGER DEFAULT 0, c17 INTEGER DEFAULT 0, c18 INTEGER DEFAULT 0,"
	" c19 INTEGER DEFAULT 0);"
	"CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, site INTEGER"
	" NOT NULL, seq INTEGER NOT NULL);";

static uint64_t next_rand(wl_app *a)
{
	/* xorshift64*: small, seedable, good enough to pick keys. */
	a->rng ^= a->rng >> 12;
	a->rng ^= a->rng << 25;
	a->rng ^= a->rng >> 27;
	return a->rng * UINT64_C(2685821657736338717);
}

void wl_app_init(wl_app *a, int site, int nkeys, uint64_t seed)
{
	memset(a, 0, sizeof(*a));
	TU_CHECK(site >= 0 && site < WL_MAX_SITES && nkeys > 0 && nkeys <= 10000,
		 "wl_app_init: bad site %d or nkeys %d", site, nkeys);
	a->site = site;
	a->nkeys = nkeys;
	a->rng = seed * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)site + 1;
	a->val = malloc((size_t)nkeys * sizeof(int64_t));
	TU_CHECK(a->val != NULL, "out of memory");
	for (int i = 0; i < nkeys; i++)
		a->val[i] = WL_GONE;
}

void wl_app_free(wl_app *a)
{
	free(a->val);
	a->val = NULL;
}

void wl_create_schema(sqlite3 *db, int site)
{
	tu_exec(db, "%s", WL_SCHEMA);
	if (site == 0)
		tu_exec(db, "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT"
			    " x + 1 FROM n WHERE x < %d) INSERT INTO shared(id)"
			    " SELECT printf('r%%02d', x) FROM n",
			WL_SHARED_ROWS - 1);
}

/* Run one prepared statement to completion; returns the SQLite code. */
static int step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static void note_text(char *buf, size_t n, int64_t v)
{
	snprintf(buf, n, "note %" PRId64, v);
}

int wl_app_write(wl_app *a, sqlite3 *db, int nrows)
{
	static const char *const sql[] = {
		"INSERT INTO items (id, val, note) VALUES (?1, ?2, ?3)",
		"UPDATE items SET val = ?2, note = ?3 WHERE id = ?1",
		"DELETE FROM items WHERE id = ?1",
		"INSERT INTO notes (site, seq) VALUES (?1, ?2)",
	};
	sqlite3_stmt *st[4] = {0}, *upd_shared = NULL;
	int64_t *saved = malloc((size_t)a->nkeys * sizeof(int64_t));
	int64_t saved_shared[WL_SHARED_ROWS], saved_notes = a->notes;
	int64_t saved_serial = a->serial, rows = 0;
	int rc;
	char *q;

	TU_CHECK(saved != NULL, "out of memory");
	memcpy(saved, a->val, (size_t)a->nkeys * sizeof(int64_t));
	memcpy(saved_shared, a->shared, sizeof(saved_shared));
	for (int i = 0; i < 4; i++)
		TU_CHECK(sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) ==
				 SQLITE_OK,
			 "app prepare: %s", sqlite3_errmsg(db));
	q = sqlite3_mprintf("UPDATE shared SET c%d = ?2 WHERE id = ?1", a->site);
	TU_CHECK(q && sqlite3_prepare_v2(db, q, -1, &upd_shared, NULL) == SQLITE_OK,
		 "app prepare: %s", sqlite3_errmsg(db));
	sqlite3_free(q);

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (int i = 0; rc == SQLITE_OK && i < nrows; i++) {
		uint64_t r = next_rand(a);
		int64_t v = (int64_t)(a->site + 1) * INT64_C(1000000000000) +
			    ++a->serial;
		char key[16], note[40];
		unsigned pick = (unsigned)(r % 100);
		if (pick < 8) { /* a shared row: my column */
			int row = (int)((r >> 8) % WL_SHARED_ROWS);
			snprintf(key, sizeof key, "r%02d", row);
			sqlite3_bind_text(upd_shared, 1, key, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(upd_shared, 2, v);
			rc = step_once(upd_shared);
			if (rc == SQLITE_OK && sqlite3_changes(db) == 1)
				a->shared[row] = v;
		} else if (pick < 11) { /* a new note (integer key) */
			sqlite3_bind_int(st[3], 1, a->site);
			sqlite3_bind_int64(st[3], 2, a->notes + 1);
			rc = step_once(st[3]);
			if (rc == SQLITE_OK)
				a->notes++;
		} else { /* an item of mine */
			int k = (int)((r >> 8) % (uint64_t)a->nkeys);
			int op = a->val[k] == WL_GONE ? 0 : pick < 20 ? 2 : 1;
			snprintf(key, sizeof key, "s%02d-%04d", a->site, k);
			note_text(note, sizeof note, v);
			sqlite3_bind_text(st[op], 1, key, -1, SQLITE_TRANSIENT);
			if (op != 2) {
				sqlite3_bind_int64(st[op], 2, v);
				sqlite3_bind_text(st[op], 3, note, -1,
						  SQLITE_TRANSIENT);
			}
			rc = step_once(st[op]);
			TU_CHECK(rc != SQLITE_OK || sqlite3_changes(db) == 1,
				 "site %d: %s of %s changed %d rows: the app's"
				 " own row is not as it left it", a->site,
				 op == 0 ? "insert" : op == 1 ? "update" : "delete",
				 key, sqlite3_changes(db));
			if (rc == SQLITE_OK)
				a->val[k] = op == 2 ? WL_GONE : v;
		}
		rows++;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	for (int i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	sqlite3_finalize(upd_shared);
	if (rc == SQLITE_OK) {
		a->commits++;
		a->rows += rows;
	} else {
		TU_CHECK(is_busy(rc), "site %d: app write failed: %s (%d)",
			 a->site, sqlite3_errmsg(db), rc);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		memcpy(a->val, saved, (size_t)a->nkeys * sizeof(int64_t));
		memcpy(a->shared, saved_shared, sizeof(saved_shared));
		a->notes = saved_notes;
		a->serial = saved_serial;
		a->busy++;
	}
	free(saved);
	return rc;
}

/* ---- verification ----------------------------------------------------- */

static const wl_app *app_of_site(wl_app *const *apps, int n, int site)
{
	for (int i = 0; i < n; i++)
		if (apps[i]->site == site)
			return apps[i];
	return NULL;
}

static char *failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *failure(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	TU_CHECK(s != NULL, "out of memory");
	return s;
}

static char *verify_items(sqlite3 *db, wl_app *const *apps, int n)
{
	sqlite3_stmt *st;
	int64_t want = 0, got = 0;
	char *why = NULL;

	for (int i = 0; i < n; i++)
		for (int k = 0; k < apps[i]->nkeys; k++)
			want += apps[i]->val[k] != WL_GONE;
	TU_CHECK(sqlite3_prepare_v2(db, "SELECT id, val, note FROM items", -1,
				    &st, NULL) == SQLITE_OK,
		 "read items: %s", sqlite3_errmsg(db));
	while (!why && sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *note = (const char *)sqlite3_column_text(st, 2);
		int64_t v = sqlite3_column_int64(st, 1);
		int site = -1, k = -1;
		char expect[40];
		const wl_app *a;
		got++;
		if (!id || sscanf(id, "s%d-%d", &site, &k) != 2 ||
		    !(a = app_of_site(apps, n, site)) || k < 0 || k >= a->nkeys) {
			why = failure("items: row %s was never written by an app",
				      id ? id : "(NULL)");
			break;
		}
		if (a->val[k] == WL_GONE) {
			why = failure("items: %s is there (val %" PRId64 ") but "
				      "site %d deleted it last (a lost delete)",
				      id, v, site);
			break;
		}
		note_text(expect, sizeof expect, a->val[k]);
		if (v != a->val[k] || sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
		    !note || strcmp(note, expect) != 0)
			why = failure("items: %s holds val %" PRId64 " note '%s';"
				      " site %d last wrote val %" PRId64
				      " (a lost write)", id, v,
				      note ? note : "NULL", site, a->val[k]);
	}
	sqlite3_finalize(st);
	if (!why && got != want)
		why = failure("items: %" PRId64 " rows, the apps left %" PRId64
			      " (lost inserts or resurrected deletes)", got, want);
	return why;
}

static char *verify_shared(sqlite3 *db, wl_app *const *apps, int n)
{
	int64_t rows = tu_int(db, -1, "SELECT count(*) FROM shared");
	if (rows != WL_SHARED_ROWS)
		return failure("shared: %" PRId64 " rows, want %d", rows,
			       WL_SHARED_ROWS);
	for (int i = 0; i < n; i++) {
		const wl_app *a = apps[i];
		for (int row = 0; row < WL_SHARED_ROWS; row++) {
			int64_t v = tu_int(db, -1, "SELECT c%d FROM shared WHERE"
					   " id = printf('r%%02d', %d)", a->site, row);
			if (v != a->shared[row])
				return failure("shared: r%02d.c%d = %" PRId64 ", site"
					       " %d last wrote %" PRId64
					       " (a lost column write)", row,
					       a->site, v, a->site, a->shared[row]);
		}
	}
	return NULL;
}

static char *verify_notes(sqlite3 *db, wl_app *const *apps, int n)
{
	int64_t total = 0;
	for (int i = 0; i < n; i++) {
		const wl_app *a = apps[i];
		int64_t cnt = tu_int(db, -1, "SELECT count(*) FROM notes WHERE"
				     " site = %d", a->site);
		int64_t distinct = tu_int(db, -1, "SELECT count(DISTINCT seq) FROM"
					  " notes WHERE site = %d AND seq BETWEEN"
					  " 1 AND %lld", a->site,
					  (long long)a->notes);
		total += a->notes;
		if (cnt != a->notes || distinct != a->notes)
			return failure("notes of site %d: %" PRId64 " rows, %" PRId64
				       " distinct of 1..%" PRId64 " (%s)", a->site,
				       cnt, distinct, a->notes,
				       cnt > a->notes ? "duplicated by a re-push"
						      : "lost inserts");
	}
	int64_t all = tu_int(db, -1, "SELECT count(*) FROM notes");
	if (all != total)
		return failure("notes: %" PRId64 " rows, the apps wrote %" PRId64,
			       all, total);
	return NULL;
}

char *wl_verify(sqlite3 *db, wl_app *const *apps, int n)
{
	char *why = verify_items(db, apps, n);
	if (!why)
		why = verify_shared(db, apps, n);
	if (!why)
		why = verify_notes(db, apps, n);
	return why;
}

/* ---- ledger files ----------------------------------------------------- */

void wl_app_save(const wl_app *a, const char *path)
{
	FILE *f = fopen(path, "w");
	TU_CHECK(f != NULL, "create %s: %s", path, strerror(errno));
	fprintf(f, "%d %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
		   " %" PRId64 "\n",
		a->site, a->nkeys, a->notes, a->serial, a->commits, a->busy,
		a->rows);
	for (int i = 0; i < WL_SHARED_ROWS; i++)
		fprintf(f, "%" PRId64 "\n", a->shared[i]);
	for (int k = 0; k < a->nkeys; k++)
		fprintf(f, "%" PRId64 "\n", a->val[k]);
	TU_CHECK(fclose(f) == 0, "write %s: %s", path, strerror(errno));
}

void wl_app_load(wl_app *a, const char *path)
{
	FILE *f = fopen(path, "r");
	int site, nkeys, ok;
	TU_CHECK(f != NULL, "open ledger %s: %s", path, strerror(errno));
	ok = fscanf(f, "%d %d", &site, &nkeys) == 2;
	TU_CHECK(ok, "ledger %s: bad header", path);
	wl_app_init(a, site, nkeys, 0);
	ok = fscanf(f, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
		       " %" SCNd64,
		    &a->notes, &a->serial, &a->commits, &a->busy, &a->rows) == 5;
	for (int i = 0; ok && i < WL_SHARED_ROWS; i++)
		ok = fscanf(f, "%" SCNd64, &a->shared[i]) == 1;
	for (int k = 0; ok && k < nkeys; k++)
		ok = fscanf(f, "%" SCNd64, &a->val[k]) == 1;
	fclose(f);
	TU_CHECK(ok, "ledger %s is truncated", path);
}
