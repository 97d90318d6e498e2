/*
 * converge.h - checking that several SQLite databases hold identical rows.
 *
 * Convergence (DESIGN.md section 5, invariant 1) means: every synced table
 * has the same rows, column by column, in every replica and in the master.
 * synced_at is left out: it records when *this* database received the row.
 */
#ifndef HS_DEMO_CONVERGE_H
#define HS_DEMO_CONVERGE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* The one column that may differ between converged databases. */
#define HS_CONVERGE_LOCAL_COLUMN "synced_at"

/*
 * Compare table across dbs[0..n): the column list (every column but
 * synced_at) and the primary key come from dbs[0]; the rows are read in
 * primary-key order from each database and compared value by value (type
 * and content, no conversions). names[i] labels dbs[i] in messages.
 *
 * Returns 0 when identical (*rows gets the row count), 1 when not (why says
 * where the first difference is: database, primary key, column, values),
 * -1 when a database could not be read (why says which and why).
 */
int hs_converge_table(sqlite3 *const *dbs, const char *const *names, int n,
		      const char *table, int64_t *rows, char *why,
		      size_t whylen);

#endif
