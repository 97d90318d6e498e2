/*
 * case_pull.c - moving N rows through the master, and what a replica
 * weighs afterwards.
 *
 * Replica A starts as an app database holding N rows (written untracked),
 * is hs_replica_init'ed on a new master, and syncs: the first push of N
 * rows. A fresh replica B (empty items table) is then init'ed on the same
 * master and syncs: the first pull of N rows, checked row by row against A.
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

int case_pull(const bench_opts *o)
{
	const int64_t n = o->pull_rows;
	char plain[4096], a[4096], b[4096], master[4096], scratch[4096];
	char journal[32] = "", title[128];
	hs_replica *ra = NULL, *rb = NULL;
	sqlite3 *db = NULL;
	int64_t *rows = NULL, pushed = 0, pulled = 0, ca = 0, cb = 0;
	int64_t a_pulled = 0;
	bench_phases pa, pb;
	char text[400];
	uint64_t ha = 0, hb = 0;
	double t0, init_ms, push_ms, pull_ms, plain_push_ms, plain_pull_ms;
	report_row *row;
	int rc = -1;

	if (bench_path(plain, sizeof(plain), o->dir, "pull", "plain.db") ||
	    bench_path(a, sizeof(a), o->dir, "pull", "a.db") ||
	    bench_path(b, sizeof(b), o->dir, "pull", "b.db") ||
	    bench_path(master, sizeof(master), o->dir, "pull", "master.db") ||
	    bench_path(scratch, sizeof(scratch), o->dir, "pull", "upsert.db"))
		return -1;
	if (!(rows = wl_range(0, n)))
		return -1;
	if (wl_make_db(plain, WL_PK_TEXT, n, 1000) < 0 ||
	    wl_make_db(a, WL_PK_TEXT, n, 1000) < 0 ||
	    wl_make_db(b, WL_PK_TEXT, 0, 0) < 0)
		goto cleanup;

	t0 = bench_now_ms();
	if (hs_bench_init(&ra, a, master, "alice") < 0)
		goto cleanup;
	init_ms = bench_now_ms() - t0;
	if (hs_bench_sync(ra, &push_ms, &pushed, &a_pulled, NULL, &pa) < 0)
		goto cleanup;
	if (hs_bench_init(&rb, b, master, "bob") < 0 ||
	    hs_bench_sync(rb, &pull_ms, NULL, &pulled, NULL, &pb) < 0)
		goto cleanup;
	hs_replica_free(ra);
	hs_replica_free(rb);
	ra = rb = NULL;

	if (wl_open(&db, b) < 0 || wl_journal_get(db, journal,
						  sizeof(journal)) < 0)
		goto cleanup;
	sqlite3_close(db);
	db = NULL;
	if (plain_upsert(scratch, NULL, n, rows, &plain_push_ms) < 0 ||
	    plain_upsert(scratch, journal, n, rows, &plain_pull_ms) < 0)
		goto cleanup;
	if (file_digest(a, &ca, &ha) < 0 || file_digest(b, &cb, &hb) < 0)
		goto cleanup;

	snprintf(title, sizeof(title),
		 "first push and pull of %lld rows (6 columns), one "
		 "transaction each, replica journal %s", (long long)n,
		 journal);
	report_section(title);
	row = report_add(REPORT_MS, -1, init_ms,
			 "init on an app db with %lld rows", (long long)n);
	row = report_add(REPORT_RATE, n / (plain_push_ms / 1e3),
			 n / (push_ms / 1e3), "push %lld rows (A's first sync)",
			 (long long)n);
	snprintf(row->note, sizeof(row->note), "%.0f ms, %lld rows pushed",
		 push_ms, (long long)pushed);
	row = report_add(REPORT_RATE, n / (plain_pull_ms / 1e3),
			 n / (pull_ms / 1e3),
			 "pull %lld rows (B's first sync)", (long long)n);
	row->ratio_cmp = CMP_MIN;
	row->ratio_lim = 0.3;
	row->abs_cmp = CMP_MIN;
	row->abs_lim = 100000;
	snprintf(row->note, sizeof(row->note), "%.0f ms, %lld rows pulled%s",
		 pull_ms, (long long)pulled,
		 ca == n && cb == n && ha == hb ? "" :
		 "; B DIFFERS FROM A");
	if (ca != n || cb != n || ha != hb)
		report_problem("first pull: B holds %lld rows, A %lld, "
			       "expected %lld (%s)", (long long)cb,
			       (long long)ca, (long long)n,
			       ha == hb ? "same contents" :
			       "different contents");
	if (pushed != n || pulled != n)
		report_problem("first sync: A pushed %lld rows and B pulled "
			       "%lld by the sync result, expected %lld",
			       (long long)pushed, (long long)pulled,
			       (long long)n);

	row = report_add(REPORT_MB, (double)bench_db_bytes(plain),
			 (double)bench_db_bytes(a),
			 "size of A after init + push of %lld rows",
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 2;
	row = report_add(REPORT_MB, (double)bench_db_bytes(plain),
			 (double)bench_db_bytes(b),
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
	bench_phases_text(&pb, text, sizeof(text));
	report_footnote("first pull of %lld rows: %s", (long long)n, text);
	wl_size_top(a, text, sizeof(text));
	report_footnote("replica A by object: %s", text);
	wl_size_top(b, text, sizeof(text));
	report_footnote("replica B by object: %s", text);
	wl_size_top(master, text, sizeof(text));
	report_footnote("master by object: %s", text);
	rc = 0;
cleanup:
	hs_replica_free(ra);
	hs_replica_free(rb);
	sqlite3_close(db);
	free(rows);
	bench_case_done(o, "pull");
	return rc;
}
