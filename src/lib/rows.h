/*
 * rows.h - a small in-memory copy of query results, to carry rows from one
 * database connection to another (master -> replica) after the first has
 * been unlocked.
 */
#ifndef HS_ROWS_H
#define HS_ROWS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_rowset {
	int ncols;
	size_t n, cap;
	sqlite3_value **v; /* n * ncols owned values */
} hs_rowset;

/* Run sql with ?1 bound to param and append every row. SQLite code. */
int hs_rowset_fetch(sqlite3 *db, const char *sql, int64_t param,
		    hs_rowset *rs);
/* Append the current row of st (its column count must match). */
int hs_rowset_add(hs_rowset *rs, sqlite3_stmt *st);
/* Append a row of rs->ncols owned values (set rs->ncols first); on
 * failure they are freed. SQLite code. */
int hs_rowset_push(hs_rowset *rs, sqlite3_value **v);
/* Run sql once per row with ?1..?ncols bound to the row. SQLite code. */
int hs_rowset_insert(sqlite3 *db, const char *sql, const hs_rowset *rs);
void hs_rowset_clear(hs_rowset *rs);

#endif
