/*
 * changes.c - change set memory management (see changes.h).
 */
#include "changes.h"

#include <stdlib.h>
#include <string.h>

/* Room for one more row change. -1 on oom. */
static int grow(hs_changeset *cs)
{
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		hs_rowchange *rows = realloc(cs->rows, cap * sizeof(*rows));
		if (!rows)
			return -1;
		cs->rows = rows;
		cs->cap = cap;
	}
	return 0;
}

int hs_changeset_move(hs_changeset *cs, hs_rowchange *rc)
{
	if (grow(cs) != 0)
		return SQLITE_NOMEM;
	cs->rows[cs->n++] = *rc;
	memset(rc, 0, sizeof(*rc));
	return SQLITE_OK;
}

/* A row change's arrays of ncols columns in one block (one malloc and
 * free a row change instead of four: a push of 100k rows made 400k),
 * owned by hlc: the 64-bit arrays first, then the pointers, then the
 * flags. Zeroed; NULL on oom. */
static void *arrays_alloc(int ncols, unsigned char **changed, int64_t **hlc,
			  int64_t **base, sqlite3_value ***vals)
{
	size_t n = hs_count(ncols);
	char *p = calloc(1, n * (2 * sizeof(int64_t) + sizeof(sqlite3_value *) + 1));
	if (!p)
		return NULL;
	*hlc = (int64_t *)(void *)p;
	*base = *hlc + n;
	*vals = (sqlite3_value **)(void *)(*base + n);
	*changed = (unsigned char *)(*vals + n);
	return p;
}

hs_rowchange *hs_changeset_add(hs_changeset *cs, int table, int ncols)
{
	hs_rowchange *rc;
	if (grow(cs) != 0)
		return NULL;
	rc = &cs->rows[cs->n];
	memset(rc, 0, sizeof(*rc));
	rc->table = table;
	if (!arrays_alloc(ncols, &rc->changed, &rc->hlc, &rc->base, &rc->vals))
		return NULL;
	rc->ncols = ncols;
	cs->n++;
	return rc;
}

static void rowchange_free(hs_rowchange *rc)
{
	for (int k = 0; k < HS_MAX_PK; k++)
		sqlite3_value_free(rc->pk[k]);
	for (int k = 0; k < rc->ncols; k++)
		sqlite3_value_free(rc->vals[k]);
	free(rc->hlc); /* the block of all four */
}

void hs_changeset_pop(hs_changeset *cs)
{
	if (cs->n)
		rowchange_free(&cs->rows[--cs->n]);
}

void hs_changeset_empty(hs_changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		rowchange_free(&cs->rows[i]);
	cs->n = 0;
}

void hs_changeset_clear(hs_changeset *cs)
{
	hs_changeset_empty(cs);
	free(cs->rows);
	memset(cs, 0, sizeof(*cs));
}

int hs_rowchange_reshape(hs_rowchange *rc, int ncols, const int *from,
			 sqlite3_value *const *dflt)
{
	int same = ncols == rc->ncols;
	for (int j = 0; same && j < ncols; j++)
		same = from[j] == j;
	if (same)
		return SQLITE_OK; /* the same layout (the common case) */

	unsigned char *changed;
	int64_t *hlc, *base;
	sqlite3_value **vals;
	int rc_ = SQLITE_OK;
	if (!arrays_alloc(ncols, &changed, &hlc, &base, &vals))
		return SQLITE_NOMEM;
	for (int j = 0; j < ncols; j++) {
		int i = from[j];
		if (i >= 0) {
			changed[j] = rc->changed[i];
			hlc[j] = rc->hlc[i];
			base[j] = rc->base[i];
			vals[j] = rc->vals[i];
			rc->vals[i] = NULL;
		} else if (rc->alive && !(vals[j] = sqlite3_value_dup(dflt[j]))) {
			rc_ = SQLITE_NOMEM;
		}
	}
	if (rc_ != SQLITE_OK) { /* rc as it was: its values back */
		for (int j = 0; j < ncols; j++)
			if (from[j] < 0)
				sqlite3_value_free(vals[j]);
			else
				rc->vals[from[j]] = vals[j];
		free(hlc);
		return rc_;
	}
	for (int i = 0; i < rc->ncols; i++)
		sqlite3_value_free(rc->vals[i]);
	free(rc->hlc);
	rc->changed = changed;
	rc->hlc = hlc;
	rc->base = base;
	rc->vals = vals;
	rc->ncols = ncols;
	return SQLITE_OK;
}
