/*
 * case_writes.c - what capture costs the app's own writes.
 *
 * Two databases with the same items table: one plain, one after
 * hs_replica_init (triggers installed; the hubsync handle is then closed, as
 * the app loads nothing from hubsync). The app inserts N rows, then updates
 * one of the 6 columns of each row, with plain prepared statements in
 * transactions of write_batch rows, one transaction on each database in
 * turn. Both databases run under the journal mode hubsync left on the
 * replica. Repeated `repeat` times with fresh files; the median is
 * reported. Each run is repeated with synchronous=OFF on both ("no fsync"):
 * commit cost is mostly fsync, which hides the capture's CPU cost on a slow
 * or busy disk, so that variant shows the worst-case ratio.
 * Also records the tracked file's size with the changes still pending
 * (before any sync) against the plain file.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hubsync.h"
#include "bench.h"

#define WRITES_MAX_REPEAT 16

typedef struct writes_run {
	double ins[2], upd[2];   /* [0] plain, [1] tracked, ms */
	int64_t size_ins[2], size_upd[2];
	char journal[32];
} writes_run;

/* Close, measure and reopen db at path (file size must be read with no
 * open connection: closing checkpoints and removes a WAL). */
static int measure_size(sqlite3 **db, const char *path, int64_t *bytes)
{
	sqlite3_close(*db);
	*db = NULL;
	*bytes = bench_db_bytes(path);
	return wl_open(db, path);
}

/*
 * Run op over all rows on both databases one transaction at a time,
 * alternating between them (db[first] first), and add each database's
 * time to ms[0] (plain) and ms[1] (tracked). Interleaving by transaction
 * makes both see the same machine load, which on a shared machine moves
 * far more than the difference being measured. An update sets column 3
 * (price) to version 1.
 */
static int write_interleaved(const bench_opts *o, wl_pk pk, wl_op op,
			     sqlite3 *db[2], int first, const int64_t *rows,
			     double ms[2])
{
	int64_t at, n;
	double t0;
	int k;

	ms[0] = ms[1] = 0;
	for (at = 0; at < o->write_rows; at += n) {
		n = o->write_rows - at < o->write_batch ?
		    o->write_rows - at : o->write_batch;
		for (k = 0; k < 2; k++) {
			int w = k ^ first;

			t0 = bench_now_ms();
			if (wl_write(db[w], pk, op, rows + at, n, n,
				     op == WL_UPDATE, 3) < 0)
				return -1;
			ms[w] += bench_now_ms() - t0;
		}
		first ^= 1;
	}
	return 0;
}

/* One fresh pair of databases; nosync runs both with synchronous=OFF (no
 * fsync at commit), which leaves the CPU cost of capture alone. */
static int writes_once(const bench_opts *o, wl_pk pk, int rep, int nosync,
		       const int64_t *rows, writes_run *run)
{
	char sub[64], path[2][4096], master[4096];
	sqlite3 *db[2] = { NULL, NULL };
	hs_replica *r = NULL;
	int rc = -1, k, first = rep % 2;

	snprintf(sub, sizeof(sub), "writes-%s-%d%s",
		 pk == WL_PK_TEXT ? "text" : "int", rep,
		 nosync ? "-nosync" : "");
	if (bench_path(path[0], sizeof(path[0]), o->dir, sub, "plain.db") ||
	    bench_path(path[1], sizeof(path[1]), o->dir, sub, "tracked.db") ||
	    bench_path(master, sizeof(master), o->dir, sub, "master.db"))
		return -1;
	for (k = 0; k < 2; k++)
		if (wl_make_db(path[k], pk, 0, 0) < 0)
			return -1;
	if (bench_replica_init(&r, path[1], master, "bench") < 0)
		goto cleanup;
	hs_replica_free(r);
	for (k = 0; k < 2; k++)
		if (wl_open(&db[k], path[k]) < 0)
			goto cleanup;
	if (wl_journal_get(db[1], run->journal, sizeof(run->journal)) < 0 ||
	    wl_journal_set(db[0], run->journal) < 0)
		goto cleanup;
	for (k = 0; nosync && k < 2; k++)
		if (wl_exec(db[k], "PRAGMA synchronous=OFF",
			    "setting synchronous") < 0)
			goto cleanup;

	if (write_interleaved(o, pk, WL_INSERT, db, first, rows, run->ins) < 0)
		goto cleanup;
	for (k = 0; k < 2; k++)
		if (measure_size(&db[k], path[k], &run->size_ins[k]) < 0)
			goto cleanup;
	if (write_interleaved(o, pk, WL_UPDATE, db, first, rows, run->upd) < 0)
		goto cleanup;
	for (k = 0; k < 2; k++)
		if (measure_size(&db[k], path[k], &run->size_upd[k]) < 0)
			goto cleanup;
	rc = 0;
cleanup:
	sqlite3_close(db[0]);
	sqlite3_close(db[1]);
	bench_case_done(o, sub);
	return rc;
}

/* Add the insert and update rows of one variant (medians of n runs). */
static void add_time_rows(const writes_run *run, int n, int64_t rows,
			  const char *pkname, const char *variant)
{
	double v[4][WRITES_MAX_REPEAT];
	report_row *row;
	int rep;

	for (rep = 0; rep < n; rep++) {
		v[0][rep] = run[rep].ins[0];
		v[1][rep] = run[rep].ins[1];
		v[2][rep] = run[rep].upd[0];
		v[3][rep] = run[rep].upd[1];
	}
	row = report_add(REPORT_MS, bench_median(v[0], n),
			 bench_median(v[1], n), "insert %lld (%s pk)%s",
			 (long long)rows, pkname, variant);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 3;
	row = report_add(REPORT_MS, bench_median(v[2], n),
			 bench_median(v[3], n),
			 "update 1 of 6 cols, %lld (%s pk)%s",
			 (long long)rows, pkname, variant);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 3;
}

static int writes_pk(const bench_opts *o, wl_pk pk, const int64_t *rows)
{
	writes_run run[WRITES_MAX_REPEAT], fast[WRITES_MAX_REPEAT];
	int rep, n = o->repeat < WRITES_MAX_REPEAT ? o->repeat :
		     WRITES_MAX_REPEAT;
	const char *pkname = pk == WL_PK_TEXT ? "TEXT" : "INTEGER";
	char title[128];
	report_row *row;

	if (n < 1)
		n = 1;
	for (rep = 0; rep < n; rep++)
		if (writes_once(o, pk, rep, 0, rows, &run[rep]) < 0 ||
		    writes_once(o, pk, rep, 1, rows, &fast[rep]) < 0)
			return -1;
	snprintf(title, sizeof(title),
		 "app writes, %s pk + 6 columns: %lld rows in transactions "
		 "of %lld, journal %s, median of %d", pkname,
		 (long long)o->write_rows, (long long)o->write_batch,
		 run[0].journal, n);
	report_section(title);
	add_time_rows(run, n, o->write_rows, pkname, "");
	add_time_rows(fast, n, o->write_rows, pkname, ", no fsync");
	row = report_add(REPORT_MB, (double)run[0].size_ins[0],
			 (double)run[0].size_ins[1],
			 "file size after inserts, before sync (%s pk)",
			 pkname);
	snprintf(row->note, sizeof(row->note), "changes pending");
	row = report_add(REPORT_MB, (double)run[0].size_upd[0],
			 (double)run[0].size_upd[1],
			 "file size after updates, before sync (%s pk)",
			 pkname);
	snprintf(row->note, sizeof(row->note), "changes pending");
	return 0;
}

int case_writes(const bench_opts *o)
{
	int64_t *rows = wl_range(0, o->write_rows);
	int rc = -1;

	if (!rows)
		return -1;
	if (writes_pk(o, WL_PK_TEXT, rows) == 0 &&
	    writes_pk(o, WL_PK_INTEGER, rows) == 0)
		rc = 0;
	free(rows);
	return rc;
}
