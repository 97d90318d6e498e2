/*
 * case_users.c - an office day: 5 users x 1,000 edits each, then everyone
 * syncs, twice.
 *
 * User 1 starts with users_base rows and pushes them; users 2..5 init empty
 * replicas on the same master and pull them. Each user then makes
 * users_edits edits as the app would (plain statements, transactions of 100):
 * 90% change one column of a random existing row (so users collide on some
 * rows and columns: real conflicts), 10% insert a new row of their own. Then
 * each user syncs in turn (round 1: push own edits, pull those of the users
 * before), and again (round 2: everyone gets the rest). Every sync is timed;
 * the target is under 1 s each. After round 2 every replica and the master
 * must hold the same rows (checked).
 *
 * Plain SQLite's figure for one user's sync is the same number of rows
 * written the plain way: the rows that user pushed upserted into a plain
 * master-sized table, the rows it pulled upserted into a plain local table,
 * one transaction each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubsync.h"
#include "bench.h"

#define USERS_MAX 8

typedef struct user_sync {
	double ms, plain_ms;
	int64_t pushed, pulled, conflicts;
} user_sync;

/* The edits of user u: updates grouped by column, then inserts. */
static int user_edits(const bench_opts *o, sqlite3 *db, int u)
{
	int64_t *rows = malloc((size_t)o->users_edits * sizeof(*rows));
	int64_t n_ins = o->users_edits / 10, n_upd = o->users_edits - n_ins;
	uint64_t seed = 1000 + (uint64_t)u;
	int64_t k, m;
	int col, rc = -1;

	if (!rows) {
		fprintf(stderr, "hs_bench: out of memory\n");
		return -1;
	}
	for (col = 0; col < WL_COLUMNS; col++) {
		for (k = m = 0; k < n_upd; k++)
			if (k % WL_COLUMNS == col)
				rows[m++] = (int64_t)(wl_rand(&seed) %
						      (uint64_t)o->users_base);
		if (wl_write(db, WL_PK_TEXT, WL_UPDATE, rows, m, 100,
			     100 + u, col) < 0)
			goto cleanup;
	}
	for (k = 0; k < n_ins; k++)
		rows[k] = o->users_base + (int64_t)u * o->users_edits + k;
	if (wl_write(db, WL_PK_TEXT, WL_INSERT, rows, n_ins, 100, 100 + u,
		     0) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(rows);
	return rc;
}

/* Time the plain equivalent of a sync that pushed and pulled rows. */
static int plain_sync(sqlite3 *pmaster, sqlite3 *plocal, int64_t base,
		      int64_t pushed, int64_t pulled, uint64_t *seed,
		      int version, double *ms)
{
	int64_t n = pushed > pulled ? pushed : pulled, k;
	int64_t *rows = malloc((size_t)(n > 0 ? n : 1) * sizeof(*rows));
	double t0;
	int rc = -1;

	if (!rows) {
		fprintf(stderr, "hs_bench: out of memory\n");
		return -1;
	}
	for (k = 0; k < n; k++)
		rows[k] = (int64_t)(wl_rand(seed) % (uint64_t)base);
	t0 = bench_now_ms();
	if ((pushed == 0 || wl_write(pmaster, WL_PK_TEXT, WL_UPSERT, rows,
				     pushed, 0, version, 0) == 0) &&
	    (pulled == 0 || wl_write(plocal, WL_PK_TEXT, WL_UPSERT, rows,
				     pulled, 0, version, 0) == 0))
		rc = 0;
	*ms = bench_now_ms() - t0;
	free(rows);
	return rc;
}

static int users_round(const bench_opts *o, hs_replica **reps,
		       sqlite3 *pmaster, sqlite3 *plocal, int round,
		       user_sync *out)
{
	uint64_t seed = 77 + (uint64_t)round;
	int u;

	for (u = 0; u < o->users; u++) {
		user_sync *s = &out[u];

		if (bench_replica_sync(reps[u], &s->ms, &s->pushed, &s->pulled,
				  &s->conflicts, NULL) < 0 ||
		    plain_sync(pmaster, plocal, o->users_base, s->pushed,
			       s->pulled, &seed, 200 + round * 10 + u,
			       &s->plain_ms) < 0)
			return -1;
	}
	return 0;
}

/* 1 when the items table of every file in paths[0..n-1] is identical. */
static int users_converged(char paths[][4096], int n)
{
	uint64_t h0 = 0, h;
	int64_t c0 = 0, c;
	sqlite3 *db;
	int i, same = 1;

	for (i = 0; i < n; i++) {
		if (wl_open(&db, paths[i]) < 0)
			return 0;
		if (wl_digest(db, &c, &h) < 0)
			same = 0;
		sqlite3_close(db);
		if (i == 0) {
			c0 = c;
			h0 = h;
		} else if (c != c0 || h != h0) {
			report_problem("%d users: after two rounds %s differs "
				       "from %s (%lld vs %lld rows)", n - 1,
				       paths[i], paths[0], (long long)c,
				       (long long)c0);
			same = 0;
		}
	}
	return same;
}

int case_users(const bench_opts *o)
{
	char paths[USERS_MAX + 1][4096], pm[4096], pl[4096], name[16];
	char title[128];
	hs_replica *reps[USERS_MAX] = { NULL };
	sqlite3 *db = NULL, *pmaster = NULL, *plocal = NULL;
	user_sync r1[USERS_MAX], r2[USERS_MAX];
	int nu = o->users < USERS_MAX ? o->users : USERS_MAX;
	int u, worst = 0, converged, rc = -1;
	report_row *row;

	for (u = 0; u < nu; u++) {
		snprintf(name, sizeof(name), "user%d.db", u + 1);
		if (bench_path(paths[u], sizeof(paths[u]), o->dir, "users",
			       name))
			return -1;
	}
	if (bench_path(paths[nu], sizeof(paths[nu]), o->dir, "users",
		       "master.db") ||
	    bench_path(pm, sizeof(pm), o->dir, "users", "plain_master.db") ||
	    bench_path(pl, sizeof(pl), o->dir, "users", "plain_local.db"))
		return -1;
	if (wl_make_db(pm, WL_PK_TEXT, o->users_base, 10000) < 0 ||
	    wl_make_db(pl, WL_PK_TEXT, o->users_base, 10000) < 0 ||
	    wl_open(&pmaster, pm) < 0 || wl_open(&plocal, pl) < 0)
		goto cleanup;
	for (u = 0; u < nu; u++) {
		snprintf(name, sizeof(name), "user%d", u + 1);
		if (wl_make_db(paths[u], WL_PK_TEXT, u ? 0 : o->users_base,
			       10000) < 0 ||
		    bench_replica_init(&reps[u], paths[u], paths[nu],
				       name) < 0 ||
		    bench_replica_sync(reps[u], NULL, NULL, NULL, NULL,
				       NULL) < 0)
			goto cleanup;
	}
	for (u = 0; u < nu; u++) {
		if (wl_open(&db, paths[u]) < 0 || user_edits(o, db, u) < 0)
			goto cleanup;
		sqlite3_close(db);
		db = NULL;
	}
	if (users_round(o, reps, pmaster, plocal, 1, r1) < 0 ||
	    users_round(o, reps, pmaster, plocal, 2, r2) < 0)
		goto cleanup;
	converged = users_converged(paths, nu + 1);

	snprintf(title, sizeof(title),
		 "%d users x %d edits (90%% one-column updates of %lld shared "
		 "rows, 10%% inserts)", nu, o->users_edits,
		 (long long)o->users_base);
	report_section(title);
	for (u = 0; u < nu; u++) {
		row = report_add(REPORT_MS, r1[u].plain_ms, r1[u].ms,
				 "round 1: user %d syncs", u + 1);
		row->abs_cmp = CMP_MAX;
		row->abs_lim = 1000;
		snprintf(row->note, sizeof(row->note),
			 "pushed %lld, pulled %lld, conflicts %lld",
			 (long long)r1[u].pushed, (long long)r1[u].pulled,
			 (long long)r1[u].conflicts);
		if (r2[u].ms > r2[worst].ms)
			worst = u;
	}
	row = report_add(REPORT_MS, r2[worst].plain_ms, r2[worst].ms,
			 "round 2: slowest sync (user %d)", worst + 1);
	row->abs_cmp = CMP_MAX;
	row->abs_lim = 1000;
	snprintf(row->note, sizeof(row->note),
		 "pushed %lld, pulled %lld; %s", (long long)r2[worst].pushed,
		 (long long)r2[worst].pulled,
		 converged ? "all replicas + master converged" :
		 "NOT CONVERGED (see below)");
	rc = 0;
cleanup:
	for (u = 0; u < nu; u++)
		hs_replica_free(reps[u]);
	sqlite3_close(db);
	sqlite3_close(pmaster);
	sqlite3_close(plocal);
	bench_case_done(o, "users");
	return rc;
}
