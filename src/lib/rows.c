/*
 * rows.c - in-memory rows between connections (see rows.h).
 */
#include "rows.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Room for one more row. SQLite code. */
static int grow(hs_rowset *rs)
{
	if (rs->n < rs->cap)
		return SQLITE_OK;
	size_t cap = rs->cap ? rs->cap * 2 : 16;
	sqlite3_value **v = realloc(rs->v, cap * (size_t)rs->ncols * sizeof(*v));
	if (!v)
		return SQLITE_NOMEM;
	rs->v = v;
	rs->cap = cap;
	return SQLITE_OK;
}

int hs_rowset_add(hs_rowset *rs, sqlite3_stmt *st)
{
	if (!rs->ncols)
		rs->ncols = sqlite3_column_count(st);
	if (grow(rs) != SQLITE_OK)
		return SQLITE_NOMEM;
	sqlite3_value **row = &rs->v[rs->n * (size_t)rs->ncols];
	for (int i = 0; i < rs->ncols; i++) {
		row[i] = sqlite3_value_dup(sqlite3_column_value(st, i));
		if (!row[i]) { /* never a NULL pointer bound later */
			while (i-- > 0)
				sqlite3_value_free(row[i]);
			return SQLITE_NOMEM;
		}
	}
	rs->n++;
	return SQLITE_OK;
}

int hs_rowset_push(hs_rowset *rs, sqlite3_value **v)
{
	if (grow(rs) != SQLITE_OK) {
		for (int i = 0; i < rs->ncols; i++)
			sqlite3_value_free(v[i]);
		return SQLITE_NOMEM;
	}
	memcpy(&rs->v[rs->n * (size_t)rs->ncols], v,
	       (size_t)rs->ncols * sizeof(*v));
	rs->n++;
	return SQLITE_OK;
}

int hs_rowset_fetch(sqlite3 *db, const char *sql, int64_t param,
		    hs_rowset *rs)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, sql);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, param);
	rs->ncols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = hs_rowset_add(rs, st)) != SQLITE_OK)
			break;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int hs_rowset_insert(sqlite3 *db, const char *sql, const hs_rowset *rs)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, sql);
	for (size_t r = 0; rc == SQLITE_OK && r < rs->n; r++) {
		for (int i = 0; i < rs->ncols; i++)
			sqlite3_bind_value(st, i + 1,
					   rs->v[r * (size_t)rs->ncols + (size_t)i]);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

void hs_rowset_clear(hs_rowset *rs)
{
	for (size_t i = 0; i < rs->n * (size_t)rs->ncols; i++)
		sqlite3_value_free(rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}
