/*
 * converge.c - row-by-row comparison of one table across databases
 * (converge.h).
 *
 * Each database runs the same deterministic query, SELECT <columns> FROM t
 * ORDER BY <primary key>, and the result sets are walked in lockstep. Values
 * are compared by storage class and bytes: 1 and 1.0, or 1 and '1', are
 * different, because a replica that stores them differently has not
 * converged even if SQL comparison would call them equal.
 */
#include "converge.h"

#include <stdio.h>
#include <string.h>

#define CONVERGE_MAX_DBS 16

/* Build the query over dbs[0]'s columns and primary key. */
static char *converge_query(sqlite3 *db, const char *table, char *why,
			    size_t whylen)
{
	sqlite3_stmt *st = NULL;
	sqlite3_str *cols = sqlite3_str_new(db), *order = sqlite3_str_new(db);
	char *a, *b, *sql = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT name, pk FROM pragma_table_info(?1)"
				" ORDER BY cid", -1, &st, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!name || strcmp(name, HS_CONVERGE_LOCAL_COLUMN) == 0)
			continue;
		sqlite3_str_appendf(cols, "%s\"%w\"",
				    sqlite3_str_length(cols) ? ", " : "", name);
		if (sqlite3_column_int(st, 1) > 0) /* any key order is total */
			sqlite3_str_appendf(order, "%s\"%w\"",
					    sqlite3_str_length(order) ? ", " : "",
					    name);
	}
	sqlite3_finalize(st);
	a = sqlite3_str_finish(cols);
	b = sqlite3_str_finish(order);
	if (rc != SQLITE_OK)
		snprintf(why, whylen, "%s: %s", table, sqlite3_errmsg(db));
	else if (!a)
		snprintf(why, whylen, "%s: no such table", table);
	else
		sql = sqlite3_mprintf("SELECT %s FROM \"%w\" ORDER BY %s", a,
				      table, b ? b : "rowid");
	sqlite3_free(a);
	sqlite3_free(b);
	return sql;
}

/* A value for a message: text shortened to 40 characters. */
static void converge_show(char *buf, size_t len, sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		snprintf(buf, len, "NULL");
		break;
	case SQLITE_INTEGER:
		snprintf(buf, len, "%lld",
			 (long long)sqlite3_column_int64(st, col));
		break;
	case SQLITE_FLOAT:
		snprintf(buf, len, "%.17g", sqlite3_column_double(st, col));
		break;
	case SQLITE_BLOB:
		snprintf(buf, len, "<blob of %d bytes>",
			 sqlite3_column_bytes(st, col));
		break;
	default:
		snprintf(buf, len, "'%.40s'", sqlite3_column_text(st, col));
	}
}

static int converge_same(sqlite3_stmt *a, sqlite3_stmt *b, int col)
{
	int t = sqlite3_column_type(a, col), n;

	if (t != sqlite3_column_type(b, col))
		return 0;
	switch (t) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_column_int64(a, col) ==
		       sqlite3_column_int64(b, col);
	case SQLITE_FLOAT: {
		double x = sqlite3_column_double(a, col);
		double y = sqlite3_column_double(b, col);

		return memcmp(&x, &y, sizeof(x)) == 0;
	}
	default:
		n = sqlite3_column_bytes(a, col);
		return n == sqlite3_column_bytes(b, col) &&
		       memcmp(sqlite3_column_blob(a, col),
			      sqlite3_column_blob(b, col), (size_t)n) == 0;
	}
}

int hs_converge_table(sqlite3 *const *dbs, const char *const *names, int n,
		      const char *table, int64_t *rows, char *why,
		      size_t whylen)
{
	sqlite3_stmt *st[CONVERGE_MAX_DBS] = { NULL };
	char *sql;
	int64_t row = 0;
	int i, c, ncols, rc = -1;

	*rows = 0;
	if (n < 1 || n > CONVERGE_MAX_DBS) {
		snprintf(why, whylen, "compare: %d databases (1..%d)", n,
			 CONVERGE_MAX_DBS);
		return -1;
	}
	sql = converge_query(dbs[0], table, why, whylen);
	if (!sql)
		return -1;
	for (i = 0; i < n; i++)
		if (sqlite3_prepare_v2(dbs[i], sql, -1, &st[i], NULL) !=
		    SQLITE_OK) {
			snprintf(why, whylen, "%s: table %s differs from %s's: "
				 "%s", names[i], table, names[0],
				 sqlite3_errmsg(dbs[i]));
			rc = i == 0 ? -1 : 1;
			goto cleanup;
		}
	ncols = sqlite3_column_count(st[0]);

	for (;;) {
		int s0 = sqlite3_step(st[0]);
		char v0[64], v1[64];

		if (s0 != SQLITE_ROW && s0 != SQLITE_DONE) {
			snprintf(why, whylen, "%s: reading %s: %s", names[0],
				 table, sqlite3_errmsg(dbs[0]));
			goto cleanup;
		}
		for (i = 1; i < n; i++) {
			int si = sqlite3_step(st[i]);

			if (si != SQLITE_ROW && si != SQLITE_DONE) {
				snprintf(why, whylen, "%s: reading %s: %s",
					 names[i], table,
					 sqlite3_errmsg(dbs[i]));
				goto cleanup;
			}
			if (si != s0) {
				snprintf(why, whylen, "%s: %s has %s rows than "
					 "%s (first difference after row "
					 "%lld)", table, names[i],
					 si == SQLITE_ROW ? "more" : "fewer",
					 names[0], (long long)row);
				rc = 1;
				goto cleanup;
			}
			if (si == SQLITE_DONE)
				continue;
			for (c = 0; c < ncols; c++) {
				if (converge_same(st[0], st[i], c))
					continue;
				converge_show(v0, sizeof(v0), st[0], 0);
				converge_show(v1, sizeof(v1), st[0], c);
				snprintf(why, whylen, "%s: first difference at "
					 "row %lld (%s in %s): column %s is %s "
					 "in %s", table, (long long)row + 1, v0,
					 names[0], sqlite3_column_name(st[0], c),
					 v1, names[0]);
				converge_show(v1, sizeof(v1), st[i], c);
				snprintf(why + strlen(why),
					 whylen - strlen(why),
					 " but %s in %s", v1, names[i]);
				rc = 1;
				goto cleanup;
			}
		}
		if (s0 == SQLITE_DONE)
			break;
		row++;
	}
	*rows = row;
	rc = 0;
cleanup:
	for (i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
	sqlite3_free(sql);
	return rc;
}
