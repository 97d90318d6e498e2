/*
 * spool.h - pulled rows set aside until they can be applied.
 *
 * A pull reads its rows from the master, which may be slow (a share
 * under load, a throttled server). The local write transaction that
 * applies them keeps the app from writing, so the rows are first read
 * into a spool, with no lock on the local database, and applied from it
 * afterwards in one short transaction: the app waits for a local apply,
 * never for the network.
 *
 * Marks between the rows tell the reader where a group of rows starts or
 * ends (a table's catch-up; sync.c gives them their meaning).
 */
#ifndef HS_SPOOL_H
#define HS_SPOOL_H

#include "changes.h"
#include "schema.h"
#include "util.h"

#include <sqlite3.h>

typedef struct hs_spool hs_spool;

/* A spool kept in a TEMP table of db (SQLite keeps it in a temporary
 * file: memory stays bounded whatever the pull's size). Rows are laid out
 * as the tables of s. NULL when out of memory or the table cannot be made
 * (*sr says why). */
hs_spool *hs_spool_open(sqlite3 *db, const hs_schema *s, sqlite3_stmt *select1,
			int *sr);
/* Add a row (an hs_pull_fn: returns a SQLite code). */
int hs_spool_row(void *spool, hs_rowchange *rc);
/* Add a row of a push (its clocks and flags kept: a push read from the
 * local log, merged after the local read transaction ended). The reader
 * may take the row over (hs_changeset_move): it is freed after the call. */
int hs_spool_push_row(void *spool, hs_rowchange *rc);
/* Add a mark: kind and tag are the caller's; mask (n flags, or NULL) is
 * kept with them. */
int hs_spool_mark(hs_spool *sp, int kind, int64_t tag, const unsigned char *mask,
		  int n);

/* Called for each row in the order added (the row is valid during the
 * call only), and for each mark (mask NULL if none was given). */
typedef struct hs_spool_reader {
	int (*row)(void *ctx, hs_rowchange *rc);
	int (*mark)(void *ctx, int kind, int64_t tag, const unsigned char *mask,
		    int n);
	void *ctx;
} hs_spool_reader;

/* Read back everything added, in order. A SQLite code: the first that is
 * not OK from a callback, or SQLITE_CORRUPT/IOERR/NOMEM of the spool
 * itself (with a message in err). */
int hs_spool_read(hs_spool *sp, const hs_spool_reader *rd, hs_buf *err);
/* Drop the spool's rows and free it. */
void hs_spool_close(hs_spool *sp);

#endif
