/*
 * conflicts.c - listing and settling conflicts.
 *
 * Conflicts are detected by the master (master.c) and reach every replica
 * with the pull. As stored, "local" is the version of the user whose sync
 * met the other ("local_user"), "remote" the version that was on the
 * master ("remote_user"). Shown on a PC whose user is the remote side,
 * the two are swapped: "local" always means "mine" where it can. A column conflict has col set; a whole-row
 * conflict (delete against update) has col NULL and, on each side, the row
 * as a JSON object or NULL for "deleted".
 *
 * A conflict inside a JSON column (merge.c, hubsync merge ... json) has as
 * col the path (pricing.margin, bom[sku=A-1].qty: jsonmerge.h) and as
 * values the JSON text of each side there (NULL: not there); resolving it
 * sets that path alone in the row's current value.
 *
 * Resolving writes the kept value as an ordinary local change (the capture
 * triggers record it, stamped after the conflict, so it wins everywhere)
 * and queues the resolution in hubsync_resolutions for the next push.
 */
#include "replica.h"

#include "apply.h"
#include "json.h"
#include "jsonmerge.h"
#include "schema.h"

#include <stdlib.h>
#include <string.h>

#define CONFLICT_SELECT                                                      \
	"SELECT id, tbl, pk, col, local_value, remote_value, winner,"       \
	" local_user, remote_user, detected_at, resolved, resolved_at,"     \
	" resolved_by, local_site, remote_site FROM hubsync_conflicts"

/* A side of a conflict as JSON: the value, or the row object / null. */
static json_t *side_json(sqlite3_stmt *st, int i, int whole_row)
{
	if (whole_row) {
		const char *t = (const char *)sqlite3_column_text(st, i);
		json_t *j = t ? json_loads(t, 0, NULL) : NULL;
		return j ? j : json_null();
	}
	return hs_json_value(sqlite3_column_value(st, i));
}

/* Who this PC is: its site id and user name (malloc'd). */
typedef struct whoami {
	char *site, *user;
} whoami;

/* SQLite code: a read error is not "nobody". */
static int whoami_load(hs_replica *r, whoami *w)
{
	int rc = hs_meta_read(r->db, "site", &w->site);
	if (rc == SQLITE_OK)
		rc = hs_meta_read(r->db, "user", &w->user);
	return rc;
}

static void whoami_clear(whoami *w)
{
	free(w->site);
	free(w->user);
}

/* 1 if `me` is b and not a (NULLs never match). */
static int only_second(const char *a, const char *b, const char *me)
{
	return me && b && strcmp(b, me) == 0 && (!a || strcmp(a, me) != 0);
}

/* 1 if this PC is the remote side of the conflict in the current row of
 * st: the sides are then shown swapped, so that "local" always means this
 * PC where it is one of the two. Each PC is its own site, also when two
 * share a user name; conflicts recorded before sites were (older
 * masters) go by user name. */
static int mine_is_remote(sqlite3_stmt *st, const whoami *me)
{
	const char *ls = (const char *)sqlite3_column_text(st, 13);
	const char *rs = (const char *)sqlite3_column_text(st, 14);
	if (ls || rs)
		return only_second(ls, rs, me->site);
	return only_second((const char *)sqlite3_column_text(st, 7),
			   (const char *)sqlite3_column_text(st, 8), me->user);
}

int hs_replica_conflicts_json(hs_replica *r, int include_resolved, char **out)
{
	json_t *a = json_array();
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK) {
		json_decref(a);
		return rc;
	}
	rc = hs_prepare(r->db, &st, include_resolved
					    ? CONFLICT_SELECT " ORDER BY id DESC"
					    : CONFLICT_SELECT " WHERE resolved = 0"
							      " ORDER BY id DESC");
	if (rc != SQLITE_OK) {
		json_decref(a);
		return hs_fail_sqlite(r, rc, "cannot read conflicts");
	}
	whoami me = {NULL, NULL};
	int step = whoami_load(r, &me);
	while (step == SQLITE_OK || step == SQLITE_ROW) {
		if ((step = sqlite3_step(st)) != SQLITE_ROW)
			break;
		int whole = sqlite3_column_type(st, 3) == SQLITE_NULL;
		int swap = mine_is_remote(st, &me);
		const char *winner = (const char *)sqlite3_column_text(st, 6);
		if (swap)
			winner = strcmp(winner, "local") == 0 ? "remote" : "local";
		json_t *pk = json_loads((const char *)sqlite3_column_text(st, 2), 0,
					NULL);
		json_t *o = json_pack(
			"{s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:s?, s:s?, s:s,"
			" s:b, s:s?, s:s?, s:s}",
			"id", (json_int_t)sqlite3_column_int64(st, 0), "table",
			(const char *)sqlite3_column_text(st, 1), "pk",
			pk ? pk : json_object(), "column",
			whole ? json_null()
			      : json_string((const char *)sqlite3_column_text(st, 3)),
			"local_value", side_json(st, swap ? 5 : 4, whole),
			"remote_value", side_json(st, swap ? 4 : 5, whole), "winner",
			winner, "local_user",
			(const char *)sqlite3_column_text(st, swap ? 8 : 7),
			"remote_user",
			(const char *)sqlite3_column_text(st, swap ? 7 : 8),
			"detected_at",
			(const char *)sqlite3_column_text(st, 9), "resolved",
			sqlite3_column_int(st, 10), "resolved_at",
			(const char *)sqlite3_column_text(st, 11), "resolved_by",
			(const char *)sqlite3_column_text(st, 12), "kind",
			whole ? "row" : "column");
		if (o)
			json_array_append_new(a, o);
	}
	sqlite3_finalize(st);
	whoami_clear(&me);
	if (step != SQLITE_DONE) { /* a read error: no half list */
		json_decref(a);
		return hs_fail_sqlite(r, step, "cannot read conflicts");
	}
	*out = hs_json_dump(a);
	return *out ? HS_OK : hs_fail(r, HS_ERROR, "out of memory");
}

/* Bind the key values of the JSON object pk into st from index first.
 * A SQLite code (a damaged stored key: SQLITE_MISMATCH). */
static int bind_pk_json(sqlite3_stmt *st, const hs_table *t, json_t *pk,
			int first)
{
	int rc = SQLITE_OK;
	for (int i = 0; rc == SQLITE_OK && i < t->npk; i++)
		rc = hs_json_bind(st, first + i,
				  json_object_get(pk, t->cols[t->pk[i]]));
	return rc;
}

/* The column of t a conflict's col names: the column itself, or the one
 * a JSON path starts with (the longest name followed by '.' or '['), or
 * -1. *path: the rest of a path ("" for the column itself). */
static int path_column(const hs_table *t, const char *col, const char **path)
{
	int best = -1;
	size_t blen = 0;
	for (int i = 0; i < t->ncols; i++) {
		size_t n = strlen(t->cols[i]);
		if (strncmp(col, t->cols[i], n) != 0 ||
		    (col[n] && col[n] != '.' && col[n] != '['))
			continue;
		if (best < 0 || n > blen) {
			best = i;
			blen = n;
		}
	}
	*path = best >= 0 ? col + blen : col;
	return best;
}

/* The JSON text of t's column ci after setting path in its current value
 * to the kept one (a conflict inside a JSON column): malloc'd into *out.
 * HS_OK or an hs_error with err set. */
static int json_kept(hs_replica *r, const hs_table *t, json_t *pk, int ci,
		     const char *path, sqlite3_value *kept, char **out,
		     hs_buf *err)
{
	hs_buf b;
	sqlite3_stmt *st = NULL;
	json_t *root = NULL, *v = NULL;
	int rc = HS_OK, sr;
	*out = NULL;
	hs_buf_init(&b);
	hs_buf_puts(&b, "SELECT ");
	hs_buf_ident(&b, t->cols[ci]);
	hs_buf_puts(&b, " FROM ");
	hs_buf_ident(&b, t->name);
	hs_table_pk_where(t, &b, 1);
	sr = b.oom ? SQLITE_NOMEM : hs_prepare(r->db, &st, b.s);
	if (sr == SQLITE_OK)
		sr = bind_pk_json(st, t, pk, 1);
	if (sr == SQLITE_OK && sqlite3_step(st) != SQLITE_ROW) {
		rc = hs_errf(err, HS_EINVALID, "the row of this conflict no longer "
			       "exists: nothing to set");
		goto out;
	}
	if (sr != SQLITE_OK) {
		rc = hs_replica_err_sqlite(r, err, sr,
					   "cannot read the row of the conflict");
		goto out;
	}
	root = sqlite3_column_type(st, 0) == SQLITE_TEXT
		       ? hs_jm_parse((const char *)sqlite3_column_text(st, 0),
				     (size_t)sqlite3_column_bytes(st, 0))
		       : NULL;
	if (sqlite3_value_type(kept) == SQLITE_TEXT)
		v = hs_jm_parse((const char *)sqlite3_value_text(kept),
				(size_t)sqlite3_value_bytes(kept));
	if (!root || (sqlite3_value_type(kept) != SQLITE_NULL && !v)) {
		rc = hs_errf(err, HS_EINVALID, "%s of this row no longer holds JSON: "
			       "set the value in the app instead", t->cols[ci]);
		goto out;
	}
	if (hs_jm_path_set(&root, path, v) != 0) {
		rc = hs_errf(err, HS_EINVALID, "%s%s is no longer there to set (its "
			       "element or object is gone): set it in the app "
			       "instead", t->cols[ci], path);
		goto out;
	}
	if (!(*out = hs_jm_canonical(root)))
		rc = hs_errf(err, HS_ERROR, "out of memory");
out:
	sqlite3_finalize(st);
	hs_buf_free(&b);
	json_decref(root);
	json_decref(v);
	return rc;
}

/* Make the kept side of a conflict current in the replica. col is a
 * column, a path inside a JSON column, or NULL (the whole row). HS_OK or
 * an hs_error with err set. */
static int write_kept(hs_replica *r, const hs_table *t, json_t *pk,
		      const char *col, sqlite3_value *kept, hs_buf *err)
{
	hs_buf b;
	sqlite3_stmt *st = NULL;
	char *text = NULL; /* the JSON column's new value (a path) */
	const char *path = "";
	int sr;
	if (col) {
		int ci = path_column(t, col, &path);
		if (ci < 0)
			return hs_errf(err, HS_EINVALID, "table \"%s\" has no column "
				         "\"%s\" any more: nothing to set", t->name,
				         col);
		int rc = *path ? json_kept(r, t, pk, ci, path, kept, &text, err) : HS_OK;
		if (rc != HS_OK)
			return rc;
		col = t->cols[ci];
	}
	hs_buf_init(&b);
	if (col) {
		hs_buf_puts(&b, "UPDATE ");
		hs_buf_ident(&b, t->name);
		hs_buf_puts(&b, " SET ");
		hs_buf_ident(&b, col);
		hs_buf_puts(&b, " = ?1");
		hs_table_pk_where(t, &b, 2);
		sr = b.oom ? SQLITE_NOMEM : hs_prepare(r->db, &st, b.s);
		if (sr == SQLITE_OK) {
			if (text)
				sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
			else
				sqlite3_bind_value(st, 1, kept);
			sr = bind_pk_json(st, t, pk, 2);
			if (sr == SQLITE_OK)
				sr = hs_step_done(st);
			if (sr == SQLITE_OK && sqlite3_changes(r->db) == 0) {
				sqlite3_finalize(st);
				hs_buf_free(&b);
				free(text);
				return hs_errf(err, HS_EINVALID, "the row of this "
					         "conflict no longer exists: nothing "
					         "to set");
			}
		}
	} else if (sqlite3_value_type(kept) == SQLITE_NULL) {
		hs_buf_puts(&b, "DELETE FROM ");
		hs_buf_ident(&b, t->name);
		hs_table_pk_where(t, &b, 1);
		sr = b.oom ? SQLITE_NOMEM : hs_prepare(r->db, &st, b.s);
		if (sr == SQLITE_OK)
			sr = bind_pk_json(st, t, pk, 1);
		if (sr == SQLITE_OK)
			sr = hs_step_done(st);
	} else { /* restore the whole row */
		hs_applier a;
		json_t *row = json_loads((const char *)sqlite3_value_text(kept), 0,
					 NULL);
		sr = row ? hs_applier_prepare(&a, r->db, t, NULL, 0) : SQLITE_CORRUPT;
		if (sr == SQLITE_OK) {
			sqlite3_stmt *up = hs_applier_upsert_stmt(&a, &sr);
			for (int i = 0; up && sr == SQLITE_OK && i < t->ncols; i++) {
				sr = hs_json_bind(up, i + 1,
						  json_object_get(row, t->cols[i]));
				sqlite3_bind_int(up, t->ncols + i + 1, 1);
			}
			if (up && sr == SQLITE_OK)
				sr = sqlite3_step(up) == SQLITE_DONE
					     ? SQLITE_OK
					     : sqlite3_errcode(r->db);
			hs_applier_free(&a);
		}
		json_decref(row);
	}
	sqlite3_finalize(st);
	hs_buf_free(&b);
	free(text);
	if (sr == SQLITE_MISMATCH || sr == SQLITE_CORRUPT)
		return hs_errf(err, HS_ECORRUPT, "the stored values of this conflict "
			         "are damaged: resolve it by editing the row in the "
			         "app instead");
	if (sr == SQLITE_CONSTRAINT_UNIQUE)
		return hs_errf(err, HS_EINVALID, "the kept value is held by another "
			         "row of \"%s\" (%s): give one of them another value, "
			         "then resolve again", t->name, sqlite3_errmsg(r->db));
	return sr == SQLITE_OK ? HS_OK
			       : hs_replica_err_sqlite(r, err, sr,
						       "cannot apply the kept value");
}

int hs_replica_resolve(hs_replica *r, int64_t conflict_id, hs_keep keep)
{
	sqlite3_stmt *st = NULL;
	hs_schema s;
	hs_buf err;
	json_t *pk = NULL;
	int rc, sr;
	char when[32];

	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (keep != HS_KEEP_LOCAL && keep != HS_KEEP_REMOTE)
		return hs_fail(r, HS_EINVALID, "keep must be local or remote");
	hs_buf_init(&err);
	memset(&s, 0, sizeof(s));
	sr = hs_exec(r->db, "BEGIN IMMEDIATE");
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot write the local database");
		goto cleanup;
	}
	if ((sr = hs_prepare(r->db, &st, CONFLICT_SELECT " WHERE id = ?1"))
	    != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot read conflicts");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, conflict_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = hs_fail(r, HS_ENOTFOUND, "no conflict %lld: list them with "
			     "hubsync conflicts", (long long)conflict_id);
		goto rollback;
	}
	if (sqlite3_column_int(st, 10)) {
		rc = hs_fail(r, HS_EINVALID, "conflict %lld is already resolved",
			     (long long)conflict_id);
		goto rollback;
	}
	whoami me = {NULL, NULL};
	if ((sr = whoami_load(r, &me)) != SQLITE_OK) {
		whoami_clear(&me);
		rc = hs_fail_sqlite(r, sr, "cannot read the sync setup");
		goto rollback;
	}
	if (mine_is_remote(st, &me)) /* "local" is what this PC wrote */
		keep = keep == HS_KEEP_LOCAL ? HS_KEEP_REMOTE : HS_KEEP_LOCAL;
	whoami_clear(&me);
	const char *table = (const char *)sqlite3_column_text(st, 1);
	const char *winner = (const char *)sqlite3_column_text(st, 6);
	int keep_winner = strcmp(winner, keep == HS_KEEP_LOCAL ? "local"
							       : "remote") == 0;
	if (!keep_winner) {
		if (hs_schema_load(r->db, &s, &err) != 0) {
			rc = hs_fail(r, HS_ECORRUPT, "%s", err.s ? err.s : "schema");
			goto rollback;
		}
		const hs_table *t = hs_schema_find(&s, table);
		pk = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		if (!t || !pk) {
			rc = hs_fail(r, HS_EINVALID, "table \"%s\" of conflict %lld "
				     "is no longer synced", table,
				     (long long)conflict_id);
			goto rollback;
		}
		rc = write_kept(r, t, pk, (const char *)sqlite3_column_text(st, 3),
				sqlite3_column_value(st, keep == HS_KEEP_LOCAL ? 4 : 5),
				&err);
		if (rc != HS_OK) {
			hs_fail_buf(r, rc, &err);
			goto rollback;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	hs_iso_time(hs_now_ms(r), when);
	sr = hs_prepare(r->db, &st, "UPDATE hubsync_conflicts SET resolved = 1,"
				    " resolved_at = ?2 WHERE id = ?1");
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, conflict_id);
		sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sr == SQLITE_OK)
		sr = hs_prepare(r->db, &st, "INSERT OR REPLACE INTO"
					    " hubsync_resolutions(conflict_id, keep,"
					    " at) VALUES(?1, ?2, ?3)");
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, conflict_id);
		sqlite3_bind_text(st, 2, keep == HS_KEEP_LOCAL ? "local" : "remote",
				  -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
		sr = hs_step_done(st);
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "COMMIT");
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot save the resolution");
		goto rollback;
	}
	rc = HS_OK;
	goto cleanup;
rollback:
	hs_exec(r->db, "ROLLBACK");
cleanup:
	sqlite3_finalize(st);
	json_decref(pk);
	hs_schema_clear(&s);
	hs_buf_free(&err);
	return rc;
}
