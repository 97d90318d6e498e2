/*
 * changes.h - a change set: the rows one side sends the other in a sync.
 *
 * Push (replica -> master): one entry per changed row, folded from the
 * replica's hubsync_changes log: final existence, per changed column its HLC
 * and base (the master sequence the writer had pulled), and the full current
 * row. Pull (master -> replica): one entry per row changed above the
 * replica's watermark, with the columns to apply and the full row.
 *
 * Values are owned copies (sqlite3_value_dup) so that a change set outlives
 * the statements it was read with.
 */
#ifndef HS_CHANGES_H
#define HS_CHANGES_H

#include "schema.h"

#include <stdint.h>

typedef struct hs_rowchange {
	int table;              /* index into the hs_schema */
	int ncols;
	sqlite3_value *pk[HS_MAX_PK];
	int alive;              /* final state: 1 the row exists, 0 deleted */
	int inserted;           /* push: (re)inserted by this batch */
	int born;               /* push: the batch starts with its insert */
	int existing;           /* push: queued by init, not written by a user */
	int stamped;            /* push: updated_at/updated_by filled in */
	int foreign;            /* pull: written by another PC (else our own
				 * push coming back) */
	int64_t row_hlc;        /* HLC of the insert or delete */
	int64_t row_base;
	int64_t last_id;        /* push: last local change id of this row */
	unsigned char *changed; /* ncols flags: column to apply */
	int64_t *hlc;           /* push: per column HLC */
	int64_t *base;          /* push: per column base */
	sqlite3_value **vals;   /* ncols values of the full row (alive only) */
} hs_rowchange;

typedef struct hs_changeset {
	hs_rowchange *rows;
	size_t n, cap;
} hs_changeset;

/* Append an empty row change for a table of ncols columns; NULL on oom. */
hs_rowchange *hs_changeset_add(hs_changeset *cs, int table, int ncols);
void hs_changeset_clear(hs_changeset *cs);
/* Free cs's row changes but keep its array for the next batch (a push
 * of 1,000-row batches: freeing the 120 KB array each time made glibc
 * consolidate its free lists, 1.3k instructions a row). */
void hs_changeset_empty(hs_changeset *cs);
/* Move rc (its values and arrays) to the end of cs; rc is left empty (a
 * row change of no columns, safe to clear). SQLite code. */
int hs_changeset_move(hs_changeset *cs, hs_rowchange *rc);
/* Remove and free the last row change. */
void hs_changeset_pop(hs_changeset *cs);

/*
 * Lay rc out as the same row of a table with ncols columns in another
 * order (the master's table of a replica's, matched by name): column j
 * becomes rc's column from[j], or, where from[j] is -1 (a column this
 * replica lacks), unchanged with a copy of dflt[j] as its value (alive
 * rows). On failure (SQLITE_NOMEM) rc is as before.
 */
int hs_rowchange_reshape(hs_rowchange *rc, int ncols, const int *from,
			 sqlite3_value *const *dflt);

#endif
