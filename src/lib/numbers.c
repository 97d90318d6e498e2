/*
 * numbers.c - numbered series unique across PCs, even offline.
 *
 * The master keeps hubsync_numbers(series, next). A replica reserves
 * blocks [first, last] of a series from it, at every sync (topping up
 * when less than half a block is left) or on demand when it has none, and
 * hands numbers out of its blocks in increasing order from
 * hubsync_blocks(series, next, last). A number is never handed out twice;
 * numbers of a block not used before the replica is thrown away are a gap.
 * When a PC has used up its numbers offline, it says so instead of
 * guessing.
 */
#include "numbers.h"

#include "rows.h"

#include <stdlib.h>
#include <string.h>

const char *const HS_NUMBERS_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_blocks(series TEXT NOT NULL,"
	" next INTEGER NOT NULL, last INTEGER NOT NULL,"
	" PRIMARY KEY(series, next));"
	"CREATE TABLE IF NOT EXISTS hubsync_series(series TEXT PRIMARY KEY,"
	" high INTEGER NOT NULL DEFAULT 0);";

static int64_t block_size(hs_replica *r)
{
	int64_t n = hs_meta_get_int(r->db, "number_block", HS_NUMBER_BLOCK_DEFAULT);
	return n > 0 ? n : HS_NUMBER_BLOCK_DEFAULT;
}

int hs_numbers_top_up(hs_replica *r, hs_master *m, hs_rowset *blocks,
		      hs_buf *err)
{
	sqlite3_stmt *st;
	int64_t size = block_size(r);
	int rc = 0;
	if (hs_exec(r->db, HS_NUMBERS_DDL) != SQLITE_OK)
		return 0; /* read-only moment: the next sync tops up */
	/* Every series the office uses, also ones this PC never drew from:
	 * it may have to, with the share away. */
	if ((rc = hs_master_series(m, r->db, err)) != 0)
		return rc;
	if (hs_prepare(r->db, &st, "SELECT s.series, s.high FROM hubsync_series s WHERE"
				   " (SELECT coalesce(sum(last - next + 1), 0) FROM"
				   " hubsync_blocks b WHERE b.series = s.series)"
				   " < ?1") != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, (size + 1) / 2);
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *series = (const char *)sqlite3_column_text(st, 0);
		int64_t first;
		rc = hs_master_reserve(m, series, size,
				       sqlite3_column_int64(st, 1), &first, err);
		if (rc != 0)
			break;
		/* The row goes through a statement so that the rowset owns
		 * copies of its values. */
		sqlite3_stmt *v;
		if (hs_prepare(r->db, &v, "SELECT ?1, ?2, ?3") != SQLITE_OK)
			break;
		sqlite3_bind_text(v, 1, series, -1, SQLITE_STATIC);
		sqlite3_bind_int64(v, 2, first);
		sqlite3_bind_int64(v, 3, first + size - 1);
		if (sqlite3_step(v) == SQLITE_ROW && hs_rowset_add(blocks, v) != SQLITE_OK)
			rc = hs_errf(err, HS_ERROR, "out of memory");
		sqlite3_finalize(v);
	}
	sqlite3_finalize(st);
	if (rc == 0 && step != SQLITE_DONE) /* no silent half top-up */
		rc = hs_replica_err_sqlite(r, err, step,
					   "cannot read the number series");
	return rc;
}

int hs_numbers_store(hs_replica *r, const hs_rowset *blocks)
{
	if (!blocks->n)
		return SQLITE_OK;
	int sr = hs_exec(r->db, HS_NUMBERS_DDL);
	if (sr == SQLITE_OK)
		sr = hs_rowset_insert(r->db, "INSERT OR IGNORE INTO hubsync_blocks("
					     "series, next, last) VALUES(?1, ?2, ?3)",
				      blocks);
	/* The highest number ever reserved here: a master restored from an
	 * older copy must not hand out numbers this PC already used. */
	if (sr == SQLITE_OK)
		sr = hs_rowset_insert(r->db, "UPDATE hubsync_series SET high ="
					     " max(high, ?3) WHERE series = ?1 AND"
					     " ?2 IS NOT NULL",
				      blocks);
	return sr;
}

/* Take the next number from the local blocks: 1 taken, 0 none left. */
static int take_local(hs_replica *r, const char *series, int64_t *out, int *sr)
{
	sqlite3_stmt *st;
	int got = 0;
	*sr = hs_prepare(r->db, &st, "SELECT next, last FROM hubsync_blocks WHERE"
				     " series = ?1 ORDER BY next LIMIT 1");
	if (*sr != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t next = sqlite3_column_int64(st, 0);
		int64_t last = sqlite3_column_int64(st, 1);
		sqlite3_finalize(st);
		*sr = hs_prepare(r->db, &st, next >= last
					? "DELETE FROM hubsync_blocks WHERE series = ?1"
					  " AND next = ?2"
					: "UPDATE hubsync_blocks SET next = next + 1"
					  " WHERE series = ?1 AND next = ?2");
		if (*sr != SQLITE_OK)
			return 0;
		sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, next);
		*sr = hs_step_done(st);
		got = *sr == SQLITE_OK;
		*out = next;
	}
	sqlite3_finalize(st);
	return got;
}

/* Reserve a first block directly from the master (the PC has none).
 * HS_OK, or an hs_error with out saying why. */
static int reserve_now(hs_replica *r, const char *series, hs_buf *out)
{
	hs_master *m = NULL;
	hs_rowset blocks = {0};
	hs_buf err;
	char *master = hs_meta_get(r->db, "master");
	char *site = hs_meta_get(r->db, "site");
	char *user = hs_meta_get(r->db, "user");
	int64_t pushed;
	int rc;

	hs_buf_init(&err);
	char *token = hs_meta_get(r->db, HS_META_SERVER_TOKEN);
	rc = hs_master_open(&m, master ? master : "", token, 0, 5000, &err);
	free(token);
	if (rc == 0)
		rc = hs_master_begin(m, &err);
	if (rc == 0)
		rc = hs_master_register(m, site, user, &pushed, NULL, NULL, &err);
	if (rc == 0)
		rc = hs_numbers_top_up(r, m, &blocks, &err);
	if (rc == 0)
		rc = hs_master_commit(m, &err);
	hs_master_close(m);
	if (rc == 0 && hs_numbers_store(r, &blocks) != SQLITE_OK)
		rc = hs_replica_err_sqlite(r, out, sqlite3_errcode(r->db),
					   "cannot save numbers");
	else if (rc != 0)
		rc = hs_errf(out, rc, "no %s numbers are left on this PC and the "
			     "master cannot give more (%s): sync once while the "
			     "share is reachable", series, err.s ? err.s : "");
	hs_rowset_clear(&blocks);
	hs_buf_free(&err);
	free(master);
	free(site);
	free(user);
	return rc;
}

int hs_replica_number_next(hs_replica *r, const char *series, int64_t *out)
{
	int rc, sr;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (!series || !*series || strlen(series) > 64)
		return hs_fail(r, HS_EINVALID, "a series needs a name of 1 to 64 "
			       "characters, like quote or project");
	for (int attempt = 0; attempt < 2; attempt++) {
		sr = hs_exec(r->db, "BEGIN IMMEDIATE");
		if (sr == SQLITE_OK)
			sr = hs_exec(r->db, HS_NUMBERS_DDL);
		if (sr != SQLITE_OK) {
			hs_exec(r->db, "ROLLBACK");
			return hs_fail_sqlite(r, sr, "cannot take a number");
		}
		sqlite3_stmt *st;
		sr = hs_prepare(r->db, &st, "INSERT OR IGNORE INTO hubsync_series(series)"
					    " VALUES(?1)");
		if (sr == SQLITE_OK) {
			sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
			sr = hs_step_done(st);
			sqlite3_finalize(st);
		}
		int got = sr == SQLITE_OK ? take_local(r, series, out, &sr) : 0;
		if (sr == SQLITE_OK)
			sr = hs_exec(r->db, "COMMIT");
		if (sr != SQLITE_OK) {
			hs_exec(r->db, "ROLLBACK");
			return hs_fail_sqlite(r, sr, "cannot take a number");
		}
		if (got)
			return HS_OK;
		if (attempt == 0) {
			hs_buf err;
			hs_buf_init(&err);
			rc = hs_fail_buf(r, reserve_now(r, series, &err), &err);
			hs_buf_free(&err);
			if (rc != HS_OK)
				return rc;
		}
	}
	return hs_fail(r, HS_ERROR, "no %s numbers could be reserved", series);
}

int hs_replica_number_block_set(hs_replica *r, int size)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	if (size < 1 || size > 100000)
		return hs_fail(r, HS_EINVALID, "block size %d is out of range: use "
			       "1 to 100000", size);
	rc = hs_meta_set_int(r->db, "number_block", size);
	return rc == SQLITE_OK ? HS_OK : hs_fail_sqlite(r, rc, "cannot save");
}
