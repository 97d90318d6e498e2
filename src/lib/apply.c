/*
 * apply.c - prepared statements writing one table by primary key.
 *
 * The upsert is INSERT ... ON CONFLICT(pk) DO UPDATE SET c = CASE WHEN
 * ?flag THEN excluded.c ELSE c END: a new row gets every value, an existing
 * row only the columns being applied, in one statement per table. Guarded
 * (a replica whose app has triggers), the same is an UPDATE and, when it
 * found no row, an INSERT, each armed first: the guard triggers tell
 * hubsync's own write from what the app's triggers write meanwhile.
 */
#include "apply.h"

#include <stdlib.h>
#include <string.h>

/* 1 if column i is part of t's key. */
static int is_key(const hs_table *t, int i)
{
	for (int k = 0; k < t->npk; k++)
		if (t->pk[k] == i)
			return 1;
	return 0;
}

/* "c = CASE WHEN ?f THEN excluded.c ELSE c END, ..." of the non-key
 * columns (?f = ?n+i+1); returns how many. */
static int set_list(const hs_table *t, hs_buf *b)
{
	int n = t->ncols, any = 0;
	for (int i = 0; i < n; i++) {
		if (is_key(t, i))
			continue;
		if (any++)
			hs_buf_puts(b, ", ");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_printf(b, " = CASE WHEN ?%d THEN excluded.", n + i + 1);
		hs_buf_ident(b, t->cols[i]);
		hs_buf_puts(b, " ELSE ");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_puts(b, " END");
	}
	return any;
}

/* "INSERT INTO t(c1.., synced_at) VALUES(?1.., ?2n+1)" */
static void insert_head(const hs_applier *a, hs_buf *b)
{
	const hs_table *t = a->t;
	int n = t->ncols;
	hs_buf_puts(b, "INSERT INTO ");
	hs_buf_ident(b, t->name);
	hs_buf_puts(b, "(");
	for (int i = 0; i < n; i++) {
		if (i)
			hs_buf_puts(b, ", ");
		hs_buf_ident(b, t->cols[i]);
	}
	if (a->synced_at)
		hs_buf_puts(b, ", synced_at");
	hs_buf_puts(b, ") VALUES(");
	for (int i = 0; i < n; i++)
		hs_buf_printf(b, "%s?%d", i ? ", " : "", i + 1);
	if (a->synced_at)
		hs_buf_printf(b, ", ?%d", 2 * n + 1);
	hs_buf_puts(b, ")");
}

static int prepare_writes(hs_applier *a, hs_buf *b)
{
	const hs_table *t = a->t;
	int n = t->ncols, rc;
	hs_buf_reset(b);
	insert_head(a, b);
	if (a->guard) {
		rc = b->oom ? SQLITE_NOMEM : hs_prepare(a->db, &a->insert, b->s);
		if (rc != SQLITE_OK)
			return rc;
		hs_buf_reset(b);
		hs_buf_puts(b, "SELECT 1 FROM ");
		hs_buf_ident(b, t->name);
		hs_table_pk_where(t, b, 2 * n + 2);
		rc = b->oom ? SQLITE_NOMEM : hs_prepare(a->db, &a->exists, b->s);
		if (rc != SQLITE_OK)
			return rc;
		hs_buf_reset(b);
		hs_buf_printf(b, "UPDATE hubsync_ctl SET armed = %d", a->guard);
		return b->oom ? SQLITE_NOMEM : hs_prepare(a->db, &a->arm, b->s);
	}
	hs_buf_puts(b, " ON CONFLICT(");
	for (int i = 0; i < t->npk; i++) {
		if (i)
			hs_buf_puts(b, ", ");
		hs_buf_ident(b, t->cols[t->pk[i]]);
	}
	hs_buf_puts(b, ") DO UPDATE SET ");
	int any = set_list(t, b);
	if (any && a->synced_at)
		hs_buf_printf(b, ", synced_at = ?%d", 2 * n + 1);
	if (!any) { /* every column is part of the key */
		b->len -= strlen(" DO UPDATE SET ");
		hs_buf_puts(b, " DO NOTHING");
	}
	return b->oom ? SQLITE_NOMEM : hs_prepare(a->db, &a->upsert, b->s);
}

/* The guarded UPDATE setting the non-key columns flagged in cols (and
 * synced_at), from the cache or newly prepared; NULL when there is
 * nothing to set. *rc receives a SQLite code. */
static sqlite3_stmt *update_for(hs_applier *a, const unsigned char *cols,
				int *rc)
{
	const hs_table *t = a->t;
	int n = t->ncols, any = 0;
	hs_buf b;
	*rc = SQLITE_OK;
	for (size_t k = 0; k < sizeof(a->updates) / sizeof(*a->updates); k++)
		if (a->updates[k].st && !memcmp(a->updates[k].cols, cols, (size_t)n))
			return a->updates[k].st;
	hs_buf_init(&b);
	hs_buf_puts(&b, "UPDATE ");
	hs_buf_ident(&b, t->name);
	hs_buf_puts(&b, " SET ");
	for (int i = 0; i < n; i++) {
		if (!cols[i] || is_key(t, i))
			continue;
		if (any++)
			hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[i]);
		hs_buf_printf(&b, " = ?%d", i + 1);
	}
	if (a->synced_at)
		hs_buf_printf(&b, "%ssynced_at = ?%d", any++ ? ", " : "", 2 * n + 1);
	hs_table_pk_where(t, &b, 2 * n + 2);
	struct hs_applier_update *u = &a->updates[a->next_update];
	a->next_update = (a->next_update + 1) %
			 (int)(sizeof(a->updates) / sizeof(*a->updates));
	sqlite3_finalize(u->st);
	u->st = NULL;
	free(u->cols);
	u->cols = NULL;
	if (!any) {
		hs_buf_free(&b);
		return NULL;
	}
	if (b.oom || !(u->cols = malloc((size_t)n))) {
		*rc = SQLITE_NOMEM;
	} else {
		memcpy(u->cols, cols, (size_t)n);
		*rc = hs_prepare(a->db, &u->st, b.s);
	}
	hs_buf_free(&b);
	return *rc == SQLITE_OK ? u->st : NULL;
}

/* Statements are prepared when first used (a 10-row sync writes one or
 * two tables and rarely deletes: preparing every statement of every
 * table, each compiling the capture triggers into itself, was 17% of
 * it). Here only what they need is kept. */
int hs_applier_prepare(hs_applier *a, sqlite3 *db, const hs_table *t,
		       sqlite3_value *synced_at, int guard)
{
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->db = db;
	a->guard = guard;
	if (synced_at && !(a->synced_at = sqlite3_value_dup(synced_at)))
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

/* The write statements (upsert, or the guarded insert, exists, arm),
 * prepared on first use; synced_at is dropped here when the table has
 * no such column. */
static int ready_writes(hs_applier *a)
{
	hs_buf b;
	int rc;
	if (a->writes_ready)
		return SQLITE_OK;
	if (a->synced_at && !hs_table_has_column(a->db, a->t->name, "synced_at")) {
		sqlite3_value_free(a->synced_at);
		a->synced_at = NULL;
	}
	hs_buf_init(&b);
	rc = prepare_writes(a, &b);
	hs_buf_free(&b);
	if (rc == SQLITE_OK) {
		a->writes_ready = 1;
	} else {
		sqlite3_finalize(a->upsert);
		sqlite3_finalize(a->insert);
		sqlite3_finalize(a->exists);
		sqlite3_finalize(a->arm);
		a->upsert = a->insert = a->exists = a->arm = NULL;
	}
	return rc;
}

/* *out, the DELETE (or with select, the SELECT) by key, prepared on
 * first use. */
static int ready_by_key(hs_applier *a, sqlite3_stmt **out, int select)
{
	hs_buf b;
	int rc;
	if (*out)
		return SQLITE_OK;
	hs_buf_init(&b);
	if (select) {
		hs_table_select(a->t, &b);
	} else {
		hs_buf_puts(&b, "DELETE FROM ");
		hs_buf_ident(&b, a->t->name);
	}
	hs_table_pk_where(a->t, &b, 1);
	rc = b.oom ? SQLITE_NOMEM : hs_prepare(a->db, out, b.s);
	hs_buf_free(&b);
	return rc;
}

sqlite3_stmt *hs_applier_upsert_stmt(hs_applier *a, int *rc)
{
	*rc = ready_writes(a);
	return *rc == SQLITE_OK ? a->upsert : NULL;
}

sqlite3_stmt *hs_applier_sel(hs_applier *a, int *rc)
{
	*rc = ready_by_key(a, &a->sel, 1);
	return *rc == SQLITE_OK ? a->sel : NULL;
}

void hs_applier_free(hs_applier *a)
{
	sqlite3_finalize(a->upsert);
	for (size_t k = 0; k < sizeof(a->updates) / sizeof(*a->updates); k++) {
		sqlite3_finalize(a->updates[k].st);
		free(a->updates[k].cols);
	}
	sqlite3_finalize(a->exists);
	sqlite3_finalize(a->insert);
	sqlite3_finalize(a->arm);
	sqlite3_finalize(a->del);
	sqlite3_finalize(a->sel);
	sqlite3_finalize(a->scan);
	sqlite3_value_free(a->synced_at);
	memset(a, 0, sizeof(*a));
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Bind the values, flags and synced_at of a row to st. */
static void bind_row(hs_applier *a, sqlite3_stmt *st, sqlite3_value **vals,
		     const unsigned char *changed)
{
	int n = a->t->ncols;
	for (int i = 0; i < n; i++) {
		sqlite3_bind_value(st, i + 1, vals[i]);
		if (changed)
			sqlite3_bind_int(st, n + i + 1, changed[i] != 0);
	}
	if (a->synced_at)
		sqlite3_bind_value(st, 2 * n + 1, a->synced_at);
}

static int arm(hs_applier *a)
{
	return a->guard ? step_done(a->arm) : SQLITE_OK;
}

/* Bind t's key values (from a full row) at ?2n+2.. of st. */
static void bind_row_key(hs_applier *a, sqlite3_stmt *st, sqlite3_value **vals)
{
	const hs_table *t = a->t;
	for (int k = 0; k < t->npk; k++)
		sqlite3_bind_value(st, 2 * t->ncols + 2 + k, vals[t->pk[k]]);
}

int hs_applier_upsert(hs_applier *a, sqlite3_value **vals,
		      const unsigned char *changed)
{
	sqlite3_stmt *up;
	int rc = ready_writes(a);
	if (rc != SQLITE_OK)
		return rc;
	if (!a->guard) {
		bind_row(a, a->upsert, vals, changed);
		if ((rc = step_done(a->upsert)) != SQLITE_OK)
			return rc;
		/* only a key-only table's DO NOTHING writes nothing; else
		 * something (a guard not armed) turned it into nothing */
		return sqlite3_changes(a->db) > 0 || a->t->npk == a->t->ncols
			       ? SQLITE_OK
			       : SQLITE_ABORT;
	}
	up = update_for(a, changed, &rc);
	if (rc != SQLITE_OK)
		return rc;
	if (up) {
		if ((rc = arm(a)) != SQLITE_OK)
			return rc;
		bind_row(a, up, vals, NULL);
		bind_row_key(a, up, vals);
		if ((rc = step_done(up)) != SQLITE_OK)
			return rc;
		if (sqlite3_changes(a->db) > 0)
			return SQLITE_OK;
	} else { /* nothing to set: only whether the row is there */
		bind_row_key(a, a->exists, vals);
		rc = sqlite3_step(a->exists);
		sqlite3_reset(a->exists);
		sqlite3_clear_bindings(a->exists);
		if (rc == SQLITE_ROW)
			return SQLITE_OK;
		if (rc != SQLITE_DONE)
			return sqlite3_errcode(a->db);
	}
	if ((rc = arm(a)) != SQLITE_OK)
		return rc;
	bind_row(a, a->insert, vals, NULL);
	if ((rc = step_done(a->insert)) != SQLITE_OK)
		return rc;
	/* a trigger turned the write into nothing: never silently */
	return sqlite3_changes(a->db) > 0 ? SQLITE_OK : SQLITE_ABORT;
}

static void bind_pk(sqlite3_stmt *st, const hs_table *t, sqlite3_value **pk)
{
	for (int i = 0; i < t->npk; i++)
		sqlite3_bind_value(st, i + 1, pk[i]);
}

int hs_applier_delete(hs_applier *a, sqlite3_value **pk)
{
	int rc = ready_by_key(a, &a->del, 0);
	if (rc == SQLITE_OK && a->guard)
		rc = ready_writes(a); /* the arm statement */
	if (rc == SQLITE_OK)
		rc = arm(a);
	if (rc != SQLITE_OK)
		return rc;
	bind_pk(a->del, a->t, pk);
	return step_done(a->del);
}

/* Copy the row st stands on (ncols columns) into out. */
static int take_row(const hs_table *t, sqlite3_stmt *st, sqlite3_value **out)
{
	int rc = SQLITE_OK;
	for (int i = 0; i < t->ncols; i++)
		if (!(out[i] = sqlite3_value_dup(sqlite3_column_value(st, i))))
			rc = SQLITE_NOMEM;
	return rc;
}

int hs_applier_select(hs_applier *a, sqlite3_value **pk, sqlite3_value **out,
		      int *found)
{
	int rc;
	*found = 0;
	if (!hs_applier_sel(a, &rc))
		return rc;
	/* every parameter is bound anew: no clear_bindings */
	bind_pk(a->sel, a->t, pk);
	rc = sqlite3_step(a->sel);
	if (rc == SQLITE_ROW) {
		*found = 1;
		rc = take_row(a->t, a->sel, out);
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(a->sel);
	return rc;
}

/* The walk's statement, "SELECT cols FROM t WHERE (k..) >= (?1..) ORDER
 * BY k..", kept only when SQLite's plan seeks the key's index and walks
 * it in that order (no sort: a key of mixed directions sorts; no scan
 * from the start): a->scan_ok 1, else -1. A SQLite code. */
static int ready_scan(hs_applier *a)
{
	const hs_table *t = a->t;
	sqlite3_stmt *plan = NULL;
	hs_buf b;
	int rc, ok = 1, row = 0;
	if (a->scan_ok)
		return SQLITE_OK;
	hs_buf_init(&b);
	hs_buf_puts(&b, "EXPLAIN QUERY PLAN ");
	hs_table_select(t, &b);
	hs_buf_puts(&b, " WHERE (");
	for (int k = 0; k < t->npk; k++) {
		hs_buf_puts(&b, k ? ", " : "");
		hs_buf_ident(&b, t->cols[t->pk[k]]);
	}
	hs_buf_puts(&b, ") >= (");
	for (int k = 0; k < t->npk; k++)
		hs_buf_printf(&b, "%s?%d", k ? ", " : "", k + 1);
	hs_buf_puts(&b, ") ORDER BY ");
	for (int k = 0; k < t->npk; k++) {
		hs_buf_puts(&b, k ? ", " : "");
		hs_buf_ident(&b, t->cols[t->pk[k]]);
	}
	rc = b.oom ? SQLITE_NOMEM : hs_prepare(a->db, &plan, b.s);
	while (rc == SQLITE_OK && (rc = sqlite3_step(plan)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(plan, 3);
		if (!d || (row++ == 0 ? strncmp(d, "SEARCH ", 7) != 0
				      : strstr(d, "TEMP B-TREE") != NULL))
			ok = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(plan);
	if (rc == SQLITE_DONE)
		rc = ok && row ? hs_prepare(a->db, &a->scan,
					    b.s + strlen("EXPLAIN QUERY PLAN "))
			       : SQLITE_OK;
	hs_buf_free(&b);
	if (rc == SQLITE_OK)
		a->scan_ok = a->scan ? 1 : -1;
	return rc;
}

/* 1 if the row scan stands on has exactly the key pk (never a NULL key:
 * the point select finds none). */
static int scan_is(const hs_applier *a, sqlite3_value **pk)
{
	for (int k = 0; k < a->t->npk; k++) {
		sqlite3_value *v = sqlite3_column_value(a->scan, a->t->pk[k]);
		if (sqlite3_value_type(v) == SQLITE_NULL || !hs_value_same(v, pk[k]))
			return 0;
	}
	return 1;
}

/* Reads of a table by point selects before it is walked: preparing the
 * walk (its plan checked, ~90k instructions) costs more than it saves on
 * a few rows. */
#define WALK_AFTER 16

int hs_applier_read(hs_applier *a, sqlite3_value **pk, sqlite3_value **out,
		    int *found)
{
	int rc = SQLITE_OK;
	*found = 0;
	/* most steps missed (keys far apart): each read was a step more
	 * than the point select */
	if (a->scan_ok > 0 && a->misses > WALK_AFTER && a->misses > a->hits) {
		hs_applier_done(a);
		a->scan_ok = -1;
	}
	if (a->scan_ok >= 0 && a->reads++ >= WALK_AFTER)
		rc = ready_scan(a);
	if (rc != SQLITE_OK)
		return rc;
	if (a->scan_ok <= 0)
		return hs_applier_select(a, pk, out, found);
	if (a->scan_on) { /* the next row, most often the one asked for */
		rc = sqlite3_step(a->scan);
		if (rc == SQLITE_ROW && scan_is(a, pk)) {
			a->hits++;
			*found = 1;
			return take_row(a->t, a->scan, out);
		}
		a->misses++;
		a->scan_on = 0;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			sqlite3_reset(a->scan);
			return rc;
		}
	}
	sqlite3_reset(a->scan);
	bind_pk(a->scan, a->t, pk);
	rc = sqlite3_step(a->scan);
	if (rc == SQLITE_ROW && scan_is(a, pk)) {
		a->scan_on = 1;
		*found = 1;
		return take_row(a->t, a->scan, out);
	}
	sqlite3_reset(a->scan);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	/* no such row, or its key only compares equal (a collation, an
	 * affinity): the point select says which */
	return hs_applier_select(a, pk, out, found);
}

void hs_applier_done(hs_applier *a)
{
	sqlite3_reset(a->sel);
	sqlite3_reset(a->scan);
	a->scan_on = 0;
}
