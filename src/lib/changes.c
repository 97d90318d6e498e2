/*
 * changes.c - change set memory management (see changes.h).
 */
#include "changes.h"

#include <stdlib.h>
#include <string.h>

hs_rowchange *hs_changeset_add(hs_changeset *cs, int table, int ncols)
{
	hs_rowchange *rc;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		hs_rowchange *rows = realloc(cs->rows, cap * sizeof(*rows));
		if (!rows)
			return NULL;
		cs->rows = rows;
		cs->cap = cap;
	}
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
