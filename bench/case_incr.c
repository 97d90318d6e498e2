/*
 * case_incr.c - an incremental sync (10 changed rows) as the table grows.
 *
 * For each size N: replica A holds N rows and pushes them, replica B pulls
 * them (both untimed set-up, except that the largest size reports its first
 * push and pull rates). Then, for `incr_rounds` rounds, with the sizes
 * taking turns, the app changes one column of 10 rows spread over A's table
 * (one transaction), A syncs (push 10) and B syncs (pull 10); each sync is
 * timed and the medians reported.
 * Plain SQLite's figure is the same 10-row update on a plain table of N
 * rows. The target is under 50 ms and flat as N grows; the last rows give
 * largest-size time / smallest-size time (flat: at most 2x).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubsync.h"
#include "bench.h"

#define INCR_MAX_ROUNDS 32

/* One table size: its files, connections and measurements. */
typedef struct incr_size {
	int64_t n;
	char sub[64];
	sqlite3 *pdb, *adb;        /* the plain table, the app's connection */
	hs_replica *ra, *rb;
	double vp[INCR_MAX_ROUNDS], va[INCR_MAX_ROUNDS], vb[INCR_MAX_ROUNDS];
	double plain, push, pull;  /* medians, ms */
	double first_push, first_pull; /* ms */
	bench_phases push_ph, pull_ph; /* of the last round */
	int bad;                   /* a sync moved an unexpected row count */
} incr_size;

/* Make the plain table, A (pushes n rows) and B (pulls them). */
static int incr_setup(const bench_opts *o, int64_t n, incr_size *z)
{
	char plain[4096], a[4096], b[4096], master[4096], journal[32];
	int64_t batch = n < 50000 ? n : 50000;

	z->n = n;
	snprintf(z->sub, sizeof(z->sub), "incr-%lld", (long long)n);
	if (bench_path(plain, sizeof(plain), o->dir, z->sub, "plain.db") ||
	    bench_path(a, sizeof(a), o->dir, z->sub, "a.db") ||
	    bench_path(b, sizeof(b), o->dir, z->sub, "b.db") ||
	    bench_path(master, sizeof(master), o->dir, z->sub, "master.db"))
		return -1;
	if (wl_make_db(plain, WL_PK_TEXT, n, batch) < 0 ||
	    wl_make_db(a, WL_PK_TEXT, n, batch) < 0 ||
	    wl_make_db(b, WL_PK_TEXT, 0, 0) < 0)
		return -1;
	if (bench_replica_init(&z->ra, a, master, "alice") < 0 ||
	    bench_replica_sync(z->ra, &z->first_push, NULL, NULL, NULL,
			       NULL) < 0 ||
	    bench_replica_init(&z->rb, b, master, "bob") < 0 ||
	    bench_replica_sync(z->rb, &z->first_pull, NULL, NULL, NULL,
			       NULL) < 0)
		return -1;
	if (wl_open(&z->pdb, plain) < 0 || wl_open(&z->adb, a) < 0 ||
	    wl_journal_get(z->adb, journal, sizeof(journal)) < 0 ||
	    wl_journal_set(z->pdb, journal) < 0)
		return -1;
	return 0;
}

/* Round r on one size: change `changed` rows spread over the table (a
 * different set and column each round) on the plain table (timed) and in
 * A's app connection, then time A's sync and B's sync. */
static int incr_round(incr_size *z, int r, int changed, int64_t *rows)
{
	int64_t pushed, pulled;
	double t0;
	int k;

	for (k = 0; k < changed; k++)
		rows[k] = (k * (z->n / changed) + r * 7) % z->n;
	t0 = bench_now_ms();
	if (wl_write(z->pdb, WL_PK_TEXT, WL_UPDATE, rows, changed, 0, r + 1,
		     r % WL_COLUMNS) < 0)
		return -1;
	z->vp[r] = bench_now_ms() - t0;
	if (wl_write(z->adb, WL_PK_TEXT, WL_UPDATE, rows, changed, 0, r + 1,
		     r % WL_COLUMNS) < 0)
		return -1;
	if (bench_replica_sync(z->ra, &z->va[r], &pushed, NULL, NULL,
			  &z->push_ph) < 0 ||
	    bench_replica_sync(z->rb, &z->vb[r], NULL, &pulled, NULL,
			  &z->pull_ph) < 0)
		return -1;
	if ((pushed != changed || pulled != changed) && !z->bad) {
		report_problem("incremental sync on %lld rows, round %d: "
			       "pushed %lld and pulled %lld, expected %d each",
			       (long long)z->n, r + 1, (long long)pushed,
			       (long long)pulled, changed);
		z->bad = 1;
	}
	return 0;
}

static void incr_teardown(const bench_opts *o, incr_size *z)
{
	sqlite3_close(z->pdb);
	sqlite3_close(z->adb);
	hs_replica_free(z->ra);
	hs_replica_free(z->rb);
	if (z->sub[0])
		bench_case_done(o, z->sub);
}

/*
 * Set up every size, then run the rounds with the sizes taking turns, so
 * that all sizes see the same machine load (on a shared machine the load
 * moves more than the growth being measured).
 */
static int incr_measure(const bench_opts *o, incr_size *res, int n)
{
	int rounds = o->incr_rounds < INCR_MAX_ROUNDS ? o->incr_rounds :
		     INCR_MAX_ROUNDS;
	int changed = o->incr_changed, i, r, rc = -1;
	int64_t *rows = malloc((size_t)(changed > 0 ? changed : 1) *
			       sizeof(*rows));

	if (!rows) {
		fprintf(stderr, "hs_bench: out of memory\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (incr_setup(o, o->incr_sizes[i], &res[i]) < 0)
			goto cleanup;
		/* the largest size takes a while: show it is moving */
		printf(" %lld rows (first push+pull %.1f s)%s",
		       (long long)res[i].n,
		       (res[i].first_push + res[i].first_pull) / 1e3,
		       i + 1 < n ? "," : "");
		fflush(stdout);
	}
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			if (incr_round(&res[i], r, changed > res[i].n ?
				       (int)res[i].n : changed, rows) < 0)
				goto cleanup;
	for (i = 0; i < n; i++) {
		res[i].plain = bench_median(res[i].vp, rounds);
		res[i].push = bench_median(res[i].va, rounds);
		res[i].pull = bench_median(res[i].vb, rounds);
	}
	rc = 0;
cleanup:
	for (i = 0; i < n; i++)
		incr_teardown(o, &res[i]);
	free(rows);
	return rc;
}

static void add_flat_row(const incr_size *lo, const incr_size *hi,
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
	incr_size res[4];
	const incr_size *big;
	char title[128];
	report_row *row;
	int i, n = o->n_incr_sizes;

	memset(res, 0, sizeof(res));
	if (incr_measure(o, res, n) < 0)
		return -1;
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
