/*
 * capture.c - the triggers that record the app's writes.
 *
 * The app loads nothing from hubsync: these are plain SQL triggers. Each
 * app write adds one small row to hubsync_changes (table id, operation,
 * changed-column mask, wall time in ms, the master sequence this replica
 * had pulled, and the primary key). hubsync_ctl.applying is 1 only inside
 * hubsync's own apply transaction, which no other connection can see, so
 * the triggers skip exactly the changes hubsync applies.
 *
 * The wall time is julianday('now') in ms; the app's SQLite computes it,
 * so a test can skew it with a VFS whose xCurrentTimeInt64 is offset.
 */
#include "capture.h"

#include "util.h"

#define WALL_SQL "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/* "k1, k2" column list of the change row for t's key. */
static void key_cols(const hs_table *t, hs_buf *b)
{
	for (int i = 0; i < t->npk; i++)
		hs_buf_printf(b, ", k%d", i + 1);
}

/* ", NEW."a", NEW."b"" for t's key under alias (NEW or OLD). */
static void key_vals(const hs_table *t, hs_buf *b, const char *alias)
{
	for (int i = 0; i < t->npk; i++) {
		hs_buf_printf(b, ", %s.", alias);
		hs_buf_ident(b, t->cols[t->pk[i]]);
	}
}

/* 1 if any key column differs between OLD and NEW. */
static void key_changed(const hs_table *t, hs_buf *b)
{
	hs_buf_puts(b, "(");
	for (int i = 0; i < t->npk; i++) {
		const char *c = t->cols[t->pk[i]];
		if (i)
			hs_buf_puts(b, " OR ");
		hs_buf_puts(b, "OLD.");
		hs_buf_ident(b, c);
		hs_buf_puts(b, " IS NOT NEW.");
		hs_buf_ident(b, c);
	}
	hs_buf_puts(b, ")");
}

/* Expression of the changed-column mask of an update. A column changed if
 * its value or its type changed (1 -> 1.0 is a change). */
static void update_mask(const hs_table *t, hs_buf *b)
{
	for (int i = 0; i < t->ncols; i++) {
		int bit = i < HS_MASK_BITS ? i : HS_MASK_BITS;
		if (i)
			hs_buf_puts(b, " | ");
		hs_buf_puts(b, "((OLD.");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_puts(b, " IS NOT NEW.");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_puts(b, " OR typeof(OLD.");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_puts(b, ") <> typeof(NEW.");
		hs_buf_ident(b, t->cols[i]);
		hs_buf_printf(b, ")) << %d)", bit);
	}
}

static void trigger_name(hs_buf *b, const char *kind, const char *table)
{
	hs_buf_printf(b, "hubsync_%s_%s", kind, table);
}

int hs_capture_remove(sqlite3 *db, const char *table)
{
	static const char *kinds[] = {"ins", "upd", "del"};
	hs_buf b, name;
	int rc = SQLITE_OK;
	hs_buf_init(&b);
	hs_buf_init(&name);
	for (int i = 0; i < 3; i++) {
		hs_buf_reset(&name);
		trigger_name(&name, kinds[i], table);
		hs_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
		hs_buf_ident(&b, name.s);
		hs_buf_puts(&b, ";");
	}
	rc = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
	hs_buf_free(&b);
	hs_buf_free(&name);
	return rc;
}

/* Append "CREATE TRIGGER name AFTER event ON table BEGIN" to b. */
static void trigger_head(hs_buf *b, const hs_table *t, const char *kind,
			 const char *event)
{
	hs_buf name;
	hs_buf_init(&name);
	trigger_name(&name, kind, t->name);
	hs_buf_puts(b, "CREATE TRIGGER ");
	hs_buf_ident(b, name.s ? name.s : "");
	hs_buf_printf(b, " AFTER %s ON ", event);
	hs_buf_ident(b, t->name);
	hs_buf_puts(b, " BEGIN ");
	hs_buf_free(&name);
}

/* Append one INSERT INTO hubsync_changes ... SELECT ... statement. */
static void change_insert(hs_buf *b, const hs_table *t, const char *op,
			  const char *mask, const char *alias, const char *cond)
{
	hs_buf_puts(b, "INSERT INTO hubsync_changes(tbl, op, mask, wall, base");
	key_cols(t, b);
	hs_buf_printf(b, ") SELECT %d, %s, %s, " WALL_SQL ", pulled", t->id, op,
		      mask);
	key_vals(t, b, alias);
	hs_buf_puts(b, " FROM hubsync_ctl WHERE applying = 0");
	if (cond)
		hs_buf_printf(b, " AND %s", cond);
	hs_buf_puts(b, "; ");
}

int hs_capture_install(sqlite3 *db, const hs_table *t)
{
	hs_buf b, mask, keych, cond;
	int rc;
	hs_buf_init(&b);
	hs_buf_init(&mask);
	hs_buf_init(&keych);
	hs_buf_init(&cond);
	rc = hs_capture_remove(db, t->name);
	if (rc != SQLITE_OK)
		goto cleanup;

	trigger_head(&b, t, "ins", "INSERT");
	change_insert(&b, t, "1", "-1", "NEW", NULL);
	hs_buf_puts(&b, "END;");

	trigger_head(&b, t, "del", "DELETE");
	change_insert(&b, t, "3", "0", "OLD", NULL);
	hs_buf_puts(&b, "END;");

	/* Update: a key change is a delete of the old key and an insert of
	 * the new one; otherwise one row with the changed-column mask. */
	update_mask(t, &mask);
	key_changed(t, &keych);
	trigger_head(&b, t, "upd", "UPDATE");
	change_insert(&b, t, "3", "0", "OLD", keych.s);
	hs_buf_printf(&cond, "(%s OR (%s) <> 0)", keych.s, mask.s);
	{
		hs_buf op, m;
		hs_buf_init(&op);
		hs_buf_init(&m);
		hs_buf_printf(&op, "CASE WHEN %s THEN 1 ELSE 2 END", keych.s);
		hs_buf_printf(&m, "CASE WHEN %s THEN -1 ELSE %s END", keych.s,
			      mask.s);
		change_insert(&b, t, op.s, m.s, "NEW", cond.s);
		if (op.oom || m.oom)
			b.oom = 1;
		hs_buf_free(&op);
		hs_buf_free(&m);
	}
	hs_buf_puts(&b, "END;");
	rc = b.oom || mask.oom || keych.oom || cond.oom ? SQLITE_NOMEM
							: hs_exec(db, b.s);
cleanup:
	hs_buf_free(&b);
	hs_buf_free(&mask);
	hs_buf_free(&keych);
	hs_buf_free(&cond);
	return rc;
}

int hs_capture_existing(sqlite3 *db, const hs_table *t, int64_t wall_ms)
{
	hs_buf b;
	int rc;
	hs_buf_init(&b);
	hs_buf_puts(&b, "INSERT INTO hubsync_changes(tbl, op, mask, wall, base");
	key_cols(t, &b);
	hs_buf_printf(&b, ") SELECT %d, %d, -1, %lld, 0", t->id, HS_OP_EXISTING,
		      (long long)wall_ms);
	for (int i = 0; i < t->npk; i++) {
		hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[t->pk[i]]);
	}
	hs_buf_puts(&b, " FROM ");
	hs_buf_ident(&b, t->name);
	rc = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
	hs_buf_free(&b);
	return rc;
}
