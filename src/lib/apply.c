/*
 * apply.c - prepared statements writing one table by primary key.
 *
 * The upsert is INSERT ... ON CONFLICT(pk) DO UPDATE SET c = CASE WHEN
 * ?flag THEN excluded.c ELSE c END: a new row gets every value, an existing
 * row only the columns being applied, in one statement per table.
 */
#include "apply.h"

#include <string.h>

int hs_applier_prepare(hs_applier *a, sqlite3 *db, const hs_table *t,
		       int64_t now_ms)
{
	hs_buf b;
	int rc, n = t->ncols, any = 0;
	memset(a, 0, sizeof(*a));
	a->t = t;
	hs_buf_init(&b);
	a->has_synced_at = hs_table_has_column(db, t->name, "synced_at");
	hs_iso_time(now_ms, a->synced_at);

	hs_buf_puts(&b, "INSERT INTO ");
	hs_buf_ident(&b, t->name);
	hs_buf_puts(&b, "(");
	for (int i = 0; i < n; i++) {
		if (i)
			hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[i]);
	}
	if (a->has_synced_at)
		hs_buf_puts(&b, ", synced_at");
	hs_buf_puts(&b, ") VALUES(");
	for (int i = 0; i < n; i++)
		hs_buf_printf(&b, "%s?%d", i ? ", " : "", i + 1);
	if (a->has_synced_at)
		hs_buf_printf(&b, ", ?%d", 2 * n + 1);
	hs_buf_puts(&b, ") ON CONFLICT(");
	for (int i = 0; i < t->npk; i++) {
		if (i)
			hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[t->pk[i]]);
	}
	hs_buf_puts(&b, ") DO UPDATE SET ");
	for (int i = 0; i < n; i++) {
		int is_pk = 0;
		for (int k = 0; k < t->npk; k++)
			is_pk |= t->pk[k] == i;
		if (is_pk)
			continue;
		if (any++)
			hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[i]);
		hs_buf_printf(&b, " = CASE WHEN ?%d THEN excluded.", n + i + 1);
		hs_buf_ident(&b, t->cols[i]);
		hs_buf_puts(&b, " ELSE ");
		hs_buf_ident(&b, t->cols[i]);
		hs_buf_puts(&b, " END");
	}
	if (any && a->has_synced_at)
		hs_buf_printf(&b, ", synced_at = ?%d", 2 * n + 1);
	if (!any) { /* every column is part of the key */
		b.len -= strlen(" DO UPDATE SET ");
		hs_buf_puts(&b, " DO NOTHING");
	}
	rc = b.oom ? SQLITE_NOMEM : hs_prepare(db, &a->upsert, b.s);
	if (rc != SQLITE_OK)
		goto cleanup;

	hs_buf_reset(&b);
	hs_buf_puts(&b, "DELETE FROM ");
	hs_buf_ident(&b, t->name);
	hs_table_pk_where(t, &b, 1);
	rc = b.oom ? SQLITE_NOMEM : hs_prepare(db, &a->del, b.s);
	if (rc != SQLITE_OK)
		goto cleanup;

	hs_buf_reset(&b);
	hs_table_select(t, &b);
	hs_table_pk_where(t, &b, 1);
	rc = b.oom ? SQLITE_NOMEM : hs_prepare(db, &a->sel, b.s);
cleanup:
	hs_buf_free(&b);
	if (rc != SQLITE_OK)
		hs_applier_free(a);
	return rc;
}

void hs_applier_free(hs_applier *a)
{
	sqlite3_finalize(a->upsert);
	sqlite3_finalize(a->del);
	sqlite3_finalize(a->sel);
	memset(a, 0, sizeof(*a));
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int hs_applier_upsert(hs_applier *a, sqlite3_value **vals,
		      const unsigned char *changed)
{
	int n = a->t->ncols;
	for (int i = 0; i < n; i++) {
		sqlite3_bind_value(a->upsert, i + 1, vals[i]);
		sqlite3_bind_int(a->upsert, n + i + 1, changed[i] != 0);
	}
	if (a->has_synced_at)
		sqlite3_bind_text(a->upsert, 2 * n + 1, a->synced_at, -1,
				  SQLITE_STATIC);
	return step_done(a->upsert);
}

static void bind_pk(sqlite3_stmt *st, const hs_table *t, sqlite3_value **pk)
{
	for (int i = 0; i < t->npk; i++)
		sqlite3_bind_value(st, i + 1, pk[i]);
}

int hs_applier_delete(hs_applier *a, sqlite3_value **pk)
{
	bind_pk(a->del, a->t, pk);
	return step_done(a->del);
}

int hs_applier_select(hs_applier *a, sqlite3_value **pk, sqlite3_value **out,
		      int *found)
{
	int rc;
	*found = 0;
	bind_pk(a->sel, a->t, pk);
	rc = sqlite3_step(a->sel);
	if (rc == SQLITE_ROW) {
		*found = 1;
		for (int i = 0; i < a->t->ncols; i++) {
			out[i] = sqlite3_value_dup(sqlite3_column_value(a->sel, i));
			if (!out[i])
				rc = SQLITE_NOMEM;
		}
		if (rc == SQLITE_ROW)
			rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(a->sel);
	sqlite3_clear_bindings(a->sel);
	return rc;
}

void hs_applier_done(hs_applier *a)
{
	sqlite3_reset(a->sel);
	sqlite3_clear_bindings(a->sel);
}
