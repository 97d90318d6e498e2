/*
 * case_incr.c - an incremental sync (10 changed rows) as the table grows.
 *
 * For each size N: replica A holds N rows and pushes them, replica B pulls
 * them (both untimed set-up, except that the largest size reports its first
 * push and pull rates). Then, for `incr_rounds` rounds, the app changes one
 * column of 10 rows spread over A's table (one transaction), A syncs (push
 * 10) and B syncs (pull 10); each sync is timed and the medians reported.
 * Plain SQLite's figure is the same 10-row update on a plain table of N
 * rows. The target is under 50 ms and flat as N grows; the last rows give
 * largest-size time / smallest-size time (flat: at most 2x).
 */
#include <stdio.h>
#include <stdlib.h>

#include "hubsync.h"
#include "bench.h"

#define INCR_MAX_ROUNDS 32

typedef struct incr_result {
	int64_t n;
	double plain, push, pull;  /* medians, ms */
	double first_push, first_pull; /* ms */
	bench_phases push_ph, pull_ph; /* of the last round */
	int bad;                   /* a sync moved an unexpected row count */
} incr_result;

static int incr_size(const bench_opts *o, int64_t n, incr_result *res)
{
	char sub[64], plain[4096], a[4096], b[4096], master[4096];
	int64_t *rows = NULL, pushed, pulled;
	int64_t batch = n < 50000 ? n : 50000;
	sqlite3 *pdb = NULL, *adb = NULL;
	hs_replica *ra = NULL, *rb = NULL;
	double vp[INCR_MAX_ROUNDS], va[INCR_MAX_ROUNDS], vb[INCR_MAX_ROUNDS];
	int rounds = o->incr_rounds < INCR_MAX_ROUNDS ? o->incr_rounds :
		     INCR_MAX_ROUNDS;
	int changed = o->incr_changed, rc = -1, r, k;
	double t0;

	snprintf(sub, sizeof(sub), "incr-%lld", (long long)n);
	if (bench_path(plain, sizeof(plain), o->dir, sub, "plain.db") ||
	    bench_path(a, sizeof(a), o->dir, sub, "a.db") ||
	    bench_path(b, sizeof(b), o->dir, sub, "b.db") ||
	    bench_path(master, sizeof(master), o->dir, sub, "master.db"))
		return -1;
	if (changed > n)
		changed = (int)n;
	res->n = n;
	res->bad = 0;
	if (wl_make_db(plain, WL_PK_TEXT, n, batch) < 0 ||
	    wl_make_db(a, WL_PK_TEXT, n, batch) < 0 ||
	    wl_make_db(b, WL_PK_TEXT, 0, 0) < 0)
		goto cleanup;
	if (hs_bench_init(&ra, a, master, "alice") < 0 ||
	    hs_bench_sync(ra, &res->first_push, NULL, NULL, NULL,
			  NULL) < 0 ||
	    hs_bench_init(&rb, b, master, "bob") < 0 ||
	    hs_bench_sync(rb, &res->first_pull, NULL, NULL, NULL,
			  NULL) < 0)
		goto cleanup;
	if (wl_open(&pdb, plain) < 0 || wl_open(&adb, a) < 0)
		goto cleanup;
	{
		char journal[32];

		if (wl_journal_get(adb, journal, sizeof(journal)) < 0 ||
		    wl_journal_set(pdb, journal) < 0)
			goto cleanup;
	}
	if (!(rows = malloc((size_t)(changed > 0 ? changed : 1) *
			    sizeof(*rows))))
		goto cleanup;
	for (r = 0; r < rounds; r++) {
		/* changed rows spread over the table, a different set and
		 * column each round */
		for (k = 0; k < changed; k++)
			rows[k] = (k * (n / changed) + r * 7) % n;
		t0 = bench_now_ms();
		if (wl_write(pdb, WL_PK_TEXT, WL_UPDATE, rows, changed, 0,
			     r + 1, r % WL_COLUMNS) < 0)
			goto cleanup;
		vp[r] = bench_now_ms() - t0;
		if (wl_write(adb, WL_PK_TEXT, WL_UPDATE, rows, changed, 0,
			     r + 1, r % WL_COLUMNS) < 0)
			goto cleanup;
		if (hs_bench_sync(ra, &va[r], &pushed, NULL, NULL,
				  &res->push_ph) < 0 ||
		    hs_bench_sync(rb, &vb[r], NULL, &pulled, NULL,
				  &res->pull_ph) < 0)
			goto cleanup;
		if ((pushed != changed || pulled != changed) && !res->bad) {
			report_problem("incremental sync on %lld rows, round "
				       "%d: pushed %lld and pulled %lld, "
				       "expected %d each", (long long)n,
				       r + 1, (long long)pushed,
				       (long long)pulled, changed);
			res->bad = 1;
		}
	}
	res->plain = bench_median(vp, rounds);
	res->push = bench_median(va, rounds);
	res->pull = bench_median(vb, rounds);
	rc = 0;
cleanup:
	free(rows);
	sqlite3_close(pdb);
	sqlite3_close(adb);
	hs_replica_free(ra);
	hs_replica_free(rb);
	bench_case_done(o, sub);
	return rc;
}

static void add_flat_row(const incr_result *lo, const incr_result *hi,
			 double lo_ms, double hi_ms, const char *side)
{
	report_row *row = report_add(REPORT_MS, lo_ms, hi_ms,
				     "%s, %lld -> %lld rows", side,
				     (long long)lo->n, (long long)hi->n);

	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 2;
	snprintf(row->note, sizeof(row->note),
		 "plain column = hubsync at %lld rows", (long long)lo->n);
}

int case_incr(const bench_opts *o)
{
	incr_result res[4];
	const incr_result *big;
	char title[128];
	report_row *row;
	int i, n = o->n_incr_sizes;

	for (i = 0; i < n; i++) {
		if (incr_size(o, o->incr_sizes[i], &res[i]) < 0)
			return -1;
		/* the largest size takes a while: show it is moving */
		printf(" %lld rows (first push+pull %.1f s)%s",
		       (long long)res[i].n,
		       (res[i].first_push + res[i].first_pull) / 1e3,
		       i + 1 < n ? "," : "");
		fflush(stdout);
	}
	snprintf(title, sizeof(title),
		 "incremental sync: %d rows changed (1 column, 1 "
		 "transaction), median of %d rounds", o->incr_changed,
		 o->incr_rounds);
	report_section(title);
	for (i = 0; i < n; i++) {
		row = report_add(REPORT_MS, res[i].plain, res[i].push,
				 "sync pushing %d rows, table of %lld rows",
				 o->incr_changed, (long long)res[i].n);
		row->abs_cmp = CMP_MAX;
		row->abs_lim = 50;
		if (res[i].bad)
			snprintf(row->note, sizeof(row->note),
				 "WRONG ROW COUNTS (see below)");
		row = report_add(REPORT_MS, res[i].plain, res[i].pull,
				 "sync pulling %d rows, table of %lld rows",
				 o->incr_changed, (long long)res[i].n);
		row->abs_cmp = CMP_MAX;
		row->abs_lim = 50;
	}
	if (n >= 2) {
		add_flat_row(&res[0], &res[n - 1], res[0].push,
			     res[n - 1].push, "push sync growth");
		add_flat_row(&res[0], &res[n - 1], res[0].pull,
			     res[n - 1].pull, "pull sync growth");
	}
	big = n >= 1 ? &res[n - 1] : NULL;
	if (big) {
		char text[400];

		bench_phases_text(&big->push_ph, text, sizeof(text));
		report_footnote("incremental push sync, %lld rows (last round):"
				" %s", (long long)big->n, text);
		bench_phases_text(&big->pull_ph, text, sizeof(text));
		report_footnote("incremental pull sync, %lld rows (last round):"
				" %s", (long long)big->n, text);
	}
	if (big && big->n > o->pull_rows) {
		row = report_add(REPORT_RATE, -1, big->n / (big->first_push /
							      1e3),
				 "first push of %lld rows", (long long)big->n);
		snprintf(row->note, sizeof(row->note), "%.0f ms",
			 big->first_push);
		row = report_add(REPORT_RATE, -1, big->n / (big->first_pull /
							      1e3),
				 "first pull of %lld rows", (long long)big->n);
		snprintf(row->note, sizeof(row->note), "%.0f ms",
			 big->first_pull);
	}
	return 0;
}
