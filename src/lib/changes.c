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

hs_rowchange *hs_changeset_add(hs_changeset *cs, int table, int ncols)
{
	hs_rowchange *rc;
	if (grow(cs) != 0)
		return NULL;
	rc = &cs->rows[cs->n];
	memset(rc, 0, sizeof(*rc));
	rc->table = table;
	rc->changed = calloc((size_t)ncols, 1);
	rc->hlc = calloc((size_t)ncols, sizeof(int64_t));
	rc->base = calloc((size_t)ncols, sizeof(int64_t));
	rc->vals = calloc((size_t)ncols, sizeof(sqlite3_value *));
	if (!rc->changed || !rc->hlc || !rc->base || !rc->vals) {
		free(rc->changed);
		free(rc->hlc);
		free(rc->base);
		free(rc->vals);
		return NULL;
	}
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
	free(rc->changed);
	free(rc->hlc);
	free(rc->base);
	free(rc->vals);
}

void hs_changeset_pop(hs_changeset *cs)
{
	if (cs->n)
		rowchange_free(&cs->rows[--cs->n]);
}

void hs_changeset_clear(hs_changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		rowchange_free(&cs->rows[i]);
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

	unsigned char *changed = calloc(hs_count(ncols), 1);
	int64_t *hlc = calloc(hs_count(ncols), sizeof(int64_t));
	int64_t *base = calloc(hs_count(ncols), sizeof(int64_t));
	sqlite3_value **vals = calloc(hs_count(ncols), sizeof(sqlite3_value *));
	int rc_ = SQLITE_OK;
	if (!changed || !hlc || !base || !vals) {
		rc_ = SQLITE_NOMEM;
		goto out;
	}
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
out:
	if (rc_ != SQLITE_OK) {
		for (int j = 0; vals && j < ncols; j++)
			if (from[j] < 0)
				sqlite3_value_free(vals[j]);
		free(changed);
		free(hlc);
		free(base);
		free(vals);
		return rc_;
	}
	for (int i = 0; i < rc->ncols; i++)
		sqlite3_value_free(rc->vals[i]);
	free(rc->changed);
	free(rc->hlc);
	free(rc->base);
	free(rc->vals);
	rc->changed = changed;
	rc->hlc = hlc;
	rc->base = base;
	rc->vals = vals;
	rc->ncols = ncols;
	return SQLITE_OK;
}
