/*
 * case_pull.c - moving N rows through the master, and what a replica
 * weighs afterwards.
 *
 * Replica A starts as an app database holding N rows (written untracked),
 * is hs_replica_init'ed on a new master, and syncs: the first push of N
 * rows. Fresh replicas B0, B1, ... (empty items table, `repeat` of them) are
 * then init'ed on the same master and sync: each a first pull of N rows,
 * checked row by row against A; the median is reported.
 * Plain SQLite does the same work as INSERT ... ON CONFLICT DO UPDATE of the
 * same N rows into an empty identical table in one transaction (each push
 * and each pull is one transaction too), under B's journal mode.
 * Sizes: A and B after their sync, and the master, against a plain file
 * holding the same rows.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hubsync.h"
#include "bench.h"

/* Time a one-transaction upsert of rows 0..n-1 into a fresh plain file. */
static int plain_upsert(const char *path, const char *journal, int64_t n,
			const int64_t *rows, double *ms)
{
	sqlite3 *db = NULL;
	double t0;
	int rc = -1;

	if (wl_make_db(path, WL_PK_TEXT, 0, 0) < 0 || wl_open(&db, path) < 0)
		goto cleanup;
	if (journal && wl_journal_set(db, journal) < 0)
		goto cleanup;
	t0 = bench_now_ms();
	if (wl_write(db, WL_PK_TEXT, WL_UPSERT, rows, n, 0, 0, 0) < 0)
		goto cleanup;
	*ms = bench_now_ms() - t0;
	rc = 0;
cleanup:
	sqlite3_close(db);
	return rc;
}

/* Row count and digest of the items table in the file at path. */
static int file_digest(const char *path, int64_t *count, uint64_t *hash)
{
	sqlite3 *db = NULL;
	int rc = wl_open(&db, path) == 0 ? wl_digest(db, count, hash) : -1;

	sqlite3_close(db);
	return rc;
}

#define PULL_MAX_REPEAT 16

/* One pulling replica: a fresh B_i pulls everything from the master. */
typedef struct pull_run {
	double ms, plain_ms;
	int64_t pulled, count;
	uint64_t hash;
	bench_phases ph;
	char journal[32];
} pull_run;

/*
 * Fresh replica b (empty table) inits on master and syncs: the first pull
 * of n rows, timed, then checked (count, digest). The plain figure is the
 * one-transaction upsert of the same rows into a fresh file under b's
 * journal mode, timed just before or after (order alternates with i).
 */
static int pull_once(const bench_opts *o, const char *master, int i,
		     const int64_t *rows, pull_run *p)
{
	char b[4096], scratch[4096], name[32];
	hs_replica *rb = NULL;
	sqlite3 *db = NULL;
	int rc = -1, k;

	snprintf(name, sizeof(name), "b%d.db", i);
	if (bench_path(b, sizeof(b), o->dir, "pull", name) ||
	    bench_path(scratch, sizeof(scratch), o->dir, "pull", "upsert.db"))
		return -1;
	if (wl_make_db(b, WL_PK_TEXT, 0, 0) < 0 ||
	    bench_replica_init(&rb, b, master, "bob") < 0)
		goto cleanup;
	if (wl_open(&db, b) < 0 ||
	    wl_journal_get(db, p->journal, sizeof(p->journal)) < 0)
		goto cleanup;
	sqlite3_close(db);
	db = NULL;
	for (k = 0; k < 2; k++) {
		if ((k ^ (i % 2)) == 0) {
			if (bench_replica_sync(rb, &p->ms, NULL, &p->pulled,
					       NULL, &p->ph) < 0)
				goto cleanup;
		} else if (plain_upsert(scratch, p->journal, o->pull_rows,
					rows, &p->plain_ms) < 0) {
			goto cleanup;
		}
	}
	hs_replica_free(rb);
	rb = NULL;
	rc = file_digest(b, &p->count, &p->hash);
cleanup:
	hs_replica_free(rb);
	sqlite3_close(db);
	return rc;
}

int case_pull(const bench_opts *o)
{
	const int64_t n = o->pull_rows;
	char plain[4096], a[4096], b0[4096], master[4096], scratch[4096];
	char title[160], text[400];
	hs_replica *ra = NULL;
	int64_t *rows = NULL, pushed = 0, a_pulled = 0, ca = 0;
	uint64_t ha = 0;
	pull_run pr[PULL_MAX_REPEAT];
	double t0, init_ms, push_ms, plain_push_ms, v[2][PULL_MAX_REPEAT];
	bench_phases pa;
	report_row *row;
	int rc = -1, i, bad = 0;
	int reps = o->repeat < 1 ? 1 : o->repeat < PULL_MAX_REPEAT ?
		   o->repeat : PULL_MAX_REPEAT;

	if (bench_path(plain, sizeof(plain), o->dir, "pull", "plain.db") ||
	    bench_path(a, sizeof(a), o->dir, "pull", "a.db") ||
	    bench_path(b0, sizeof(b0), o->dir, "pull", "b0.db") ||
	    bench_path(master, sizeof(master), o->dir, "pull", "master.db") ||
	    bench_path(scratch, sizeof(scratch), o->dir, "pull", "upsert.db"))
		return -1;
	if (!(rows = wl_range(0, n)))
		return -1;
	if (wl_make_db(plain, WL_PK_TEXT, n, 1000) < 0 ||
	    wl_make_db(a, WL_PK_TEXT, n, 1000) < 0)
		goto cleanup;

	t0 = bench_now_ms();
	if (bench_replica_init(&ra, a, master, "alice") < 0)
		goto cleanup;
	init_ms = bench_now_ms() - t0;
	if (bench_replica_sync(ra, &push_ms, &pushed, &a_pulled, NULL, &pa) < 0)
		goto cleanup;
	hs_replica_free(ra);
	ra = NULL;
	if (plain_upsert(scratch, NULL, n, rows, &plain_push_ms) < 0 ||
	    file_digest(a, &ca, &ha) < 0)
		goto cleanup;
	for (i = 0; i < reps; i++) {
		if (pull_once(o, master, i, rows, &pr[i]) < 0)
			goto cleanup;
		v[0][i] = pr[i].plain_ms;
		v[1][i] = pr[i].ms;
		if ((ca != n || pr[i].count != n || pr[i].hash != ha ||
		     pr[i].pulled != n) && !bad) {
			report_problem("first pull: replica b%d holds %lld "
				       "rows (sync said %lld pulled), A %lld, "
				       "expected %lld (%s)", i,
				       (long long)pr[i].count,
				       (long long)pr[i].pulled, (long long)ca,
				       (long long)n, pr[i].hash == ha ?
				       "same contents" : "different contents");
			bad = 1;
		}
	}
	if (pushed != n)
		report_problem("first sync: A pushed %lld rows by the sync "
			       "result, expected %lld", (long long)pushed,
			       (long long)n);

	snprintf(title, sizeof(title),
		 "first push and pull of %lld rows (6 columns), one "
		 "transaction each, replica journal %s; pull: median of %d "
		 "fresh replicas", (long long)n, pr[0].journal, reps);
	report_section(title);
	report_add(REPORT_MS, -1, init_ms, "init on an app db with %lld rows",
		   (long long)n);
	row = report_add(REPORT_RATE, n / (plain_push_ms / 1e3),
			 n / (push_ms / 1e3), "push %lld rows (A's first sync)",
			 (long long)n);
	snprintf(row->note, sizeof(row->note), "%.0f ms, %lld rows pushed",
		 push_ms, (long long)pushed);
	{
		double plain_ms = bench_median(v[0], reps);
		double hs_ms = bench_median(v[1], reps);

		row = report_add(REPORT_RATE, n / (plain_ms / 1e3),
				 n / (hs_ms / 1e3),
				 "pull %lld rows (fresh replica's first sync)",
				 (long long)n);
		row->ratio_cmp = CMP_MIN;
		row->ratio_lim = 0.3;
		row->abs_cmp = CMP_MIN;
		row->abs_lim = 100000;
		snprintf(row->note, sizeof(row->note), "%.0f ms%s", hs_ms,
			 bad ? "; A REPLICA DIFFERS FROM A" : "");
	}

	row = report_add(REPORT_MB, (double)bench_db_bytes(plain),
			 (double)bench_db_bytes(a),
			 "size of A after init + push of %lld rows",
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 2;
	row = report_add(REPORT_MB, (double)bench_db_bytes(plain),
			 (double)bench_db_bytes(b0),
			 "size of B after init + pull of %lld rows",
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 2;
	report_add(REPORT_MB, (double)bench_db_bytes(plain),
		   (double)bench_db_bytes(master),
		   "size of the master with %lld rows", (long long)n);

	bench_phases_text(&pa, text, sizeof(text));
	report_footnote("first push of %lld rows (A pulled %lld back): %s",
			(long long)n, (long long)a_pulled, text);
	bench_phases_text(&pr[0].ph, text, sizeof(text));
	report_footnote("first pull of %lld rows (b0): %s", (long long)n,
			text);
	wl_size_top(a, text, sizeof(text));
	report_footnote("replica A by object: %s", text);
	wl_size_top(b0, text, sizeof(text));
	report_footnote("replica B by object: %s", text);
	wl_size_top(master, text, sizeof(text));
	report_footnote("master by object: %s", text);
	rc = 0;
cleanup:
	hs_replica_free(ra);
	free(rows);
	bench_case_done(o, "pull");
	return rc;
}
