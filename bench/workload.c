/*
 * workload.c - what the benchmark writes: the app's test table, its rows,
 * the plain SQLite statements an app would run, and small time, file and
 * hubsync helpers shared by the cases.
 *
 * Row i at version v is a pure function of (i, v), so two databases written
 * with the same (rows, versions) hold identical contents, and a replica that
 * pulled them can be checked against the one that pushed them (wl_digest).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hubsync.h"
#include "bench.h"

static const char *const wl_colnames[WL_COLUMNS] = {
	"name", "category", "vendor", "price", "qty", "notes"
};

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "hs_bench: cannot create folder %s: %s\n", path,
		strerror(errno));
	return -1;
}

int bench_path(char *out, size_t cap, const char *dir, const char *name,
	       const char *sub)
{
	int n;

	if (sub)
		n = snprintf(out, cap, "%s/%s/%s", dir, name, sub);
	else
		n = snprintf(out, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "hs_bench: path too long under %s: "
			"use a shorter --dir\n", dir);
		return -1;
	}
	if (sub) {
		char folder[4096];

		snprintf(folder, sizeof(folder), "%s/%s", dir, name);
		return bench_mkdir(folder);
	}
	return 0;
}

static int64_t file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int64_t bench_db_bytes(const char *path)
{
	char side[4200];
	int64_t total = file_bytes(path);

	snprintf(side, sizeof(side), "%s-wal", path);
	total += file_bytes(side);
	snprintf(side, sizeof(side), "%s-journal", path);
	total += file_bytes(side);
	return total;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

void bench_rmtree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void bench_case_done(const bench_opts *o, const char *sub)
{
	char path[4096];

	if (o->keep)
		return;
	snprintf(path, sizeof(path), "%s/%s", o->dir, sub);
	bench_rmtree(path);
}

uint64_t wl_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int wl_open(sqlite3 **out, const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 NULL);

	if (rc != SQLITE_OK) {
		fprintf(stderr, "hs_bench: cannot open %s: %s\n", path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		*out = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	*out = db;
	return 0;
}

int wl_exec(sqlite3 *db, const char *sql, const char *what)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	fprintf(stderr, "hs_bench: %s failed: %s\n", what,
		err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	return -1;
}

int64_t wl_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "hs_bench: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int wl_create(sqlite3 *db, wl_pk pk)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "CREATE TABLE " WL_TABLE " (id %s PRIMARY KEY, name TEXT, "
		 "category TEXT, vendor TEXT, price REAL, qty INTEGER, "
		 "notes TEXT)",
		 pk == WL_PK_TEXT ? "TEXT" : "INTEGER");
	return wl_exec(db, sql, "creating the test table");
}

int wl_journal_get(sqlite3 *db, char *mode, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(mode, cap, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else {
		fprintf(stderr, "hs_bench: reading journal_mode: %s\n",
			sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

int wl_journal_set(sqlite3 *db, const char *mode)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", mode);
	return wl_exec(db, sql, "setting journal_mode");
}

static void bind_key(sqlite3_stmt *st, int idx, wl_pk pk, int64_t i)
{
	char key[32];

	if (pk == WL_PK_INTEGER) {
		sqlite3_bind_int64(st, idx, i + 1);
		return;
	}
	snprintf(key, sizeof(key), "item-%09lld", (long long)i);
	sqlite3_bind_text(st, idx, key, -1, SQLITE_TRANSIENT);
}

/* Bind the value of column col of row i at version v. */
static void bind_col(sqlite3_stmt *st, int idx, int col, int64_t i, int v)
{
	static const char *const cats[] = { "ENCLOSURE", "PLC", "HMI",
		"MOTOR", "SENSOR", "CABLE", "RELAY", "FUSE" };
	static const char *const vendors[] = { "KDL", "AutomationDirect",
		"Allen-Bradley", "Siemens", "Phoenix Contact" };
	char text[128];

	switch (col) {
	case 0:
		snprintf(text, sizeof(text), "Item %lld rev %d", (long long)i,
			 v);
		break;
	case 1: /* the version suffix makes every version a real change */
		snprintf(text, sizeof(text), v ? "%s r%d" : "%s",
			 cats[(i + v) % 8], v);
		break;
	case 2:
		snprintf(text, sizeof(text), v ? "%s r%d" : "%s",
			 vendors[(i / 8 + v) % 5], v);
		break;
	case 3:
		sqlite3_bind_double(st, idx,
				    (double)((i * 7919) % 100000) / 100.0 + v);
		return;
	case 4:
		sqlite3_bind_int64(st, idx, (i * 31 + v) % 1000);
		return;
	default:
		snprintf(text, sizeof(text),
			 "Stock note for item %lld, revision %d, checked by "
			 "purchasing.", (long long)i, v);
		break;
	}
	sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
}

static int prepare_op(sqlite3 *db, wl_op op, int col, sqlite3_stmt **st)
{
	char sql[512];

	switch (op) {
	case WL_INSERT:
	case WL_UPSERT:
		snprintf(sql, sizeof(sql),
			 "INSERT INTO " WL_TABLE " (id, name, category, vendor,"
			 " price, qty, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
			 " ?7)%s",
			 op == WL_INSERT ? "" :
			 " ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
			 " category = excluded.category, vendor ="
			 " excluded.vendor, price = excluded.price, qty ="
			 " excluded.qty, notes = excluded.notes");
		break;
	case WL_UPDATE:
		snprintf(sql, sizeof(sql),
			 "UPDATE " WL_TABLE " SET %s = ?2 WHERE id = ?1",
			 wl_colnames[col]);
		break;
	default:
		snprintf(sql, sizeof(sql),
			 "DELETE FROM " WL_TABLE " WHERE id = ?1");
		break;
	}
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	fprintf(stderr, "hs_bench: preparing %s: %s\n", sql,
		sqlite3_errmsg(db));
	return -1;
}

int wl_write(sqlite3 *db, wl_pk pk, wl_op op, const int64_t *rows,
	     int64_t n, int64_t batch, int version, int col)
{
	sqlite3_stmt *st = NULL;
	int64_t k;
	int in_txn = 0, c;

	if (col < 0 || col >= WL_COLUMNS)
		col = 0;
	if (prepare_op(db, op, col, &st) < 0)
		return -1;
	if (batch <= 0)
		batch = n;
	for (k = 0; k < n; k++) {
		if (!in_txn) {
			if (wl_exec(db, "BEGIN", "BEGIN") < 0)
				goto fail;
			in_txn = 1;
		}
		bind_key(st, 1, pk, rows[k]);
		if (op == WL_INSERT || op == WL_UPSERT)
			for (c = 0; c < WL_COLUMNS; c++)
				bind_col(st, c + 2, c, rows[k], version);
		else if (op == WL_UPDATE)
			bind_col(st, 2, col, rows[k], version);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "hs_bench: writing row %lld: %s\n",
				(long long)rows[k], sqlite3_errmsg(db));
			goto fail;
		}
		sqlite3_reset(st);
		if ((k + 1) % batch == 0 || k + 1 == n) {
			if (wl_exec(db, "COMMIT", "COMMIT") < 0)
				goto fail;
			in_txn = 0;
		}
	}
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	if (in_txn)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int64_t *wl_range(int64_t first, int64_t n)
{
	int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(*v));
	int64_t k;

	if (!v) {
		fprintf(stderr, "hs_bench: out of memory for %lld rows\n",
			(long long)n);
		return NULL;
	}
	for (k = 0; k < n; k++)
		v[k] = first + k;
	return v;
}

int wl_make_db(const char *path, wl_pk pk, int64_t count, int64_t batch)
{
	sqlite3 *db = NULL;
	int64_t *rows = NULL;
	int rc = -1;

	bench_rmtree(path);
	if (wl_open(&db, path) < 0 || wl_create(db, pk) < 0)
		goto cleanup;
	if (count > 0) {
		if (!(rows = wl_range(0, count)))
			goto cleanup;
		if (wl_write(db, pk, WL_INSERT, rows, count, batch, 0, 0) < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(rows);
	sqlite3_close(db);
	return rc;
}

void wl_size_top(const char *path, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name, sum(pgsize) FROM dbstat "
			       "GROUP BY name ORDER BY 2 DESC LIMIT 4", -1,
			       &st, NULL) != SQLITE_OK)
		goto cleanup;
	while (sqlite3_step(st) == SQLITE_ROW && len + 1 < cap) {
		int n = snprintf(out + len, cap - len, "%s%s %.1f MB",
				 len ? ", " : "",
				 (const char *)sqlite3_column_text(st, 0),
				 (double)sqlite3_column_int64(st, 1) / 1e6);

		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
	if (len + 1 < cap)
		snprintf(out + len, cap - len, "; free pages %.1f MB",
			 (double)wl_query_int(db, "PRAGMA freelist_count") *
			 (double)wl_query_int(db, "PRAGMA page_size") / 1e6);
cleanup:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int wl_digest(sqlite3 *db, int64_t *count, uint64_t *hash)
{
	sqlite3_stmt *st = NULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	int64_t n = 0;
	int c, k, len, rc;

	if (sqlite3_prepare_v2(db, "SELECT id, name, category, vendor, price,"
			       " qty, notes FROM " WL_TABLE " ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "hs_bench: reading rows: %s\n",
			sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (c = 0; c <= WL_COLUMNS; c++) {
			const unsigned char *t = sqlite3_column_text(st, c);

			h = (h ^ (uint64_t)sqlite3_column_type(st, c)) *
			    0x100000001b3ULL;
			len = sqlite3_column_bytes(st, c);
			for (k = 0; k < len; k++)
				h = (h ^ t[k]) * 0x100000001b3ULL;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "hs_bench: reading rows: %s\n",
			sqlite3_errmsg(db));
		return -1;
	}
	*count = n;
	*hash = h;
	return 0;
}

int bench_replica_init(hs_replica **out, const char *path,
		       const char *master, const char *user)
{
	hs_init_options io = HS_INIT_OPTIONS_INIT;
	hs_replica *r = NULL;

	*out = NULL;
	io.master_path = master;
	io.user = user;
	io.tables = WL_TABLE;
	if (hs_replica_open(&r, path, NULL) != HS_OK ||
	    hs_replica_init(r, &io) != HS_OK) {
		fprintf(stderr, "hs_bench: init of %s on %s failed: %s\n",
			path, master, r ? hs_replica_errmsg(r) : "no memory");
		hs_replica_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* Sum of the per-table counts in stats[key] of a sync result. */
static int64_t stats_sum(json_t *stats, const char *key)
{
	json_t *obj = json_object_get(stats, key), *v;
	const char *table;
	int64_t n = 0;

	json_object_foreach(obj, table, v)
		n += json_integer_value(v);
	return n;
}

static void on_progress(void *ctx, const char *phase, const char *table,
			int64_t rows)
{
	bench_phases *p = ctx;
	double now = bench_now_ms();
	double *slot = NULL;

	(void)rows;
	if (!strcmp(phase, "lock"))
		slot = &p->lock;
	else if (!strcmp(phase, "push"))
		slot = &p->push;
	else if (!strcmp(phase, "pull"))
		slot = table ? &p->applied : &p->pull;
	else if (!strcmp(phase, "done"))
		slot = &p->done;
	if (slot && *slot == 0)
		*slot = now;
}

/* Milliseconds from a to b, or -1 when either phase was not reported. */
static double phase_ms(double a, double b)
{
	return a > 0 && b > 0 ? b - a : -1;
}

void bench_phases_text(const bench_phases *p, char *out, size_t cap)
{
	snprintf(out, cap, "prepare %.0f, lock + read log %.0f, merge %.0f, "
		 "read master + apply rows %.0f, history/conflicts copy + "
		 "commit + cleanup %.0f ms",
		 phase_ms(p->start, p->lock), phase_ms(p->lock, p->push),
		 phase_ms(p->push, p->pull),
		 phase_ms(p->pull, p->applied > 0 ? p->applied : p->done),
		 phase_ms(p->applied > 0 ? p->applied : p->done, p->end));
}

int bench_replica_sync(hs_replica *r, double *ms, int64_t *pushed,
		       int64_t *pulled, int64_t *conflicts, bench_phases *ph)
{
	hs_sync_options so = HS_SYNC_OPTIONS_INIT;
	bench_phases local;
	char *res = NULL;
	json_t *doc = NULL, *stats;
	double t0;
	int rc;

	if (!ph)
		ph = &local;
	memset(ph, 0, sizeof(*ph));
	so.progress = on_progress;
	so.progress_ctx = ph;
	t0 = ph->start = bench_now_ms();
	rc = hs_replica_sync(r, &so, &res);
	ph->end = bench_now_ms();
	if (ms)
		*ms = ph->end - t0;
	if (rc != HS_OK) {
		fprintf(stderr, "hs_bench: sync failed (%d): %s\n", rc,
			hs_replica_errmsg(r));
		hs_free(res);
		return -1;
	}
	doc = res ? json_loads(res, 0, NULL) : NULL;
	stats = json_object_get(doc, "stats");
	if (pushed)
		*pushed = stats_sum(stats, "pushed");
	if (pulled)
		*pulled = stats_sum(stats, "pulled");
	if (conflicts)
		*conflicts = json_integer_value(json_object_get(stats,
								"conflicts"));
	json_decref(doc);
	hs_free(res);
	return 0;
}
