/*
 * capture.c - the triggers that record the app's writes.
 *
 * The app loads nothing from hubsync: these are plain SQL triggers. Each
 * app write adds one small row to hubsync_changes (table id, operation,
 * changed-column mask, wall time in ms, the master sequence this replica
 * had pulled, and the primary key's first column; the others of a
 * composite key go to hubsync_changes_key, see change_insert and
 * hs_capture_log). hubsync_ctl.applying is 1 only inside
 * hubsync's own write transactions, which no other connection can see, so
 * the triggers skip exactly the changes hubsync makes; hubsync also turns
 * triggers off on its own connection while it applies pulled rows, so the
 * app's own triggers do not fire twice for one change (docs/INTERNALS.md,
 * "The app's triggers").
 *
 * Per tracked table T (id N):
 *   hubsync_bins_T  BEFORE INSERT: when a row with NEW's key exists (an
 *                   INSERT OR REPLACE, REPLACE or upsert), stash the mask of
 *                   the columns NEW changes in hubsync_stash (kind 0); for a
 *                   table with UNIQUE indexes, stash the keys of other rows
 *                   holding one of NEW's unique values (kind 1): a REPLACE
 *                   deletes them without firing any delete trigger.
 *                   Without UNIQUE indexes it runs only when the key exists,
 *                   so a plain INSERT stays cheap.
 *   hubsync_ins_T   AFTER INSERT: an insert (mask 0), or, when a kind 0
 *                   stash says the row was there, an update of the stashed
 *                   columns (nothing at all when none changed); the kind 1
 *                   rows that are gone now are logged as deletes.
 *   hubsync_upd_T   AFTER UPDATE of a row that keeps its key: the mask of
 *                   the columns whose value or type changed (nothing when
 *                   none did).
 *   hubsync_updk_T  AFTER UPDATE OF the key columns, when the key changed: a
 *                   delete of the old key and an insert of the new one.
 *                   SQLite does not even call it for an UPDATE whose SET
 *                   names no key column (most of them).
 *   hubsync_del_T   AFTER DELETE: a delete.
 * Kind 0 stash rows stay behind (after the insert, or when it did not
 * happen: OR IGNORE, an upsert's DO UPDATE/NOTHING), harmless as long as
 * their row is there: every BEFORE INSERT of an existing key rewrites
 * its stash row first. So whatever makes a row go away removes its kind
 * 0 stash row: the delete trigger, a key change (updk), and, in tables
 * with UNIQUE indexes (where a REPLACE deletes rows silently), the BEFORE
 * INSERT body, which then runs for every insert. Kind 1 rows only log rows
 * that are really gone; a sync empties the stash. (Before capture version
 * 2, the BEFORE INSERT also probed the stash for every new key instead.)
 *
 * The mask is read for updates only (bit i: column i); an insert's is 0,
 * which SQLite stores in the record header alone (-1 before capture
 * version 3: 1 byte more an insert).
 *
 * The wall time is julianday('now') in ms; the app's SQLite computes it,
 * so a test can skew it with a VFS whose xCurrentTimeInt64 is offset.
 */
#include "capture.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

#define WALL_SQL "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
#define MAX_UNIQUE 16

/* ", k1, k2" column list of key columns lo..hi-1 (0-based). */
static void key_cols(hs_buf *b, int lo, int hi)
{
	for (int i = lo; i < hi; i++)
		hs_buf_printf(b, ", k%d", i + 1);
}

/* ", A."a", A."b"" for key columns lo..hi-1 of t under alias A (NEW,
 * OLD, o, s...). With stash, the alias is a stash row: its k1.. columns. */
static void key_vals(const hs_table *t, hs_buf *b, const char *alias,
		     int stash, int lo, int hi)
{
	for (int i = lo; i < hi; i++) {
		hs_buf_printf(b, ", %s.", alias);
		if (stash)
			hs_buf_printf(b, "k%d", i + 1);
		else
			hs_buf_ident(b, t->cols[t->pk[i]]);
	}
}

/* "a.k1 IS b.k1 AND ..." style match of t's key between two aliases;
 * an alias starting with 's' names a stash row (columns k1..), "-" the
 * stash table's own columns in a DELETE (no alias). op is " IS " or
 * " = ". */
static void key_match(const hs_table *t, hs_buf *b, const char *a,
		      const char *bn, const char *op)
{
	for (int i = 0; i < t->npk; i++) {
		const char *al[2] = {a, bn};
		if (i)
			hs_buf_puts(b, " AND ");
		for (int k = 0; k < 2; k++) {
			if (k)
				hs_buf_puts(b, op);
			if (strcmp(al[k], "-") != 0)
				hs_buf_printf(b, "%s.", al[k]);
			if (al[k][0] == 's' || al[k][0] == '-')
				hs_buf_printf(b, "k%d", i + 1);
			else
				hs_buf_ident(b, t->cols[t->pk[i]]);
		}
	}
}

/* 1 if any key column differs between OLD and NEW. */
static void key_changed(const hs_table *t, hs_buf *b)
{
	hs_buf_puts(b, "NOT (");
	key_match(t, b, "OLD", "NEW", " IS ");
	hs_buf_puts(b, ")");
}

/*
 * Column i of t changed between the rows under aliases a and n: its value
 * or its type changed (1 -> 1.0 is a change). IS NOT alone misses only an
 * INTEGER and a REAL of equal value, which a column can hold together only
 * when it converts neither into the other: a column with BLOB affinity (no
 * declared type, BLOB, or ANY in a STRICT table). Columns with TEXT or REAL
 * affinity never hold an INTEGER; INTEGER and NUMERIC columns store an
 * integral REAL as an INTEGER, except -2^63, which they keep as a REAL.
 * NEW values have the column's affinity applied, like stored ones. So the
 * two typeof() calls (most of the per-row cost of a mask) are needed only
 * for BLOB columns, and for -2^63 in INTEGER and NUMERIC ones.
 */
static void col_changed(hs_buf *b, const hs_table *t, const char *aff, int i,
			const char *a, const char *n)
{
	const char *c = t->cols[i];
	hs_buf_printf(b, "%s.", a);
	hs_buf_ident(b, c);
	hs_buf_printf(b, " IS NOT %s.", n);
	hs_buf_ident(b, c);
	/* byte for byte: under the column's own collation (NOCASE) 'abc'
	 * IS 'ABC', and a change of case would not be a change */
	hs_buf_puts(b, " COLLATE BINARY");
	if (aff[i] == 'T' || aff[i] == 'R')
		return;
	hs_buf_puts(b, " OR (");
	if (aff[i] == 'N') {
		hs_buf_printf(b, "%s.", a);
		hs_buf_ident(b, c);
		hs_buf_puts(b, " = -9223372036854775808 AND ");
	}
	hs_buf_printf(b, "typeof(%s.", a);
	hs_buf_ident(b, c);
	hs_buf_printf(b, ") <> typeof(%s.", n);
	hs_buf_ident(b, c);
	hs_buf_puts(b, "))");
}

/* Expression of the mask of the columns that differ between the rows
 * under aliases a and n: one CASE per column (its test short-circuits). */
static void change_mask(hs_buf *b, const hs_table *t, const char *aff,
			const char *a, const char *n)
{
	for (int i = 0; i < t->ncols; i++) {
		int bit = i < HS_MASK_BITS ? i : HS_MASK_BITS;
		hs_buf_puts(b, i ? " | CASE WHEN " : "CASE WHEN ");
		col_changed(b, t, aff, i, a, n);
		hs_buf_printf(b, " THEN %lld ELSE 0 END", 1LL << bit);
	}
}

/* Condition: any column differs between the rows under aliases a and n
 * (stops at the first one that does). */
static void any_changed(hs_buf *b, const hs_table *t, const char *aff,
			const char *a, const char *n)
{
	for (int i = 0; i < t->ncols; i++) {
		hs_buf_puts(b, i ? " OR (" : "(");
		col_changed(b, t, aff, i, a, n);
		hs_buf_puts(b, ")");
	}
}

/*
 * aff[i] = the affinity class of column i that col_changed needs: 'T'
 * (TEXT), 'R' (REAL), 'N' (INTEGER or NUMERIC), 'B' (BLOB, and every
 * column of a STRICT table, whose ANY columns keep types as given). The
 * rules of SQLite's own sqlite3AffinityType on the declared type.
 */
static char affinity_of(const char *type)
{
	char up[128];
	size_t i;
	for (i = 0; type[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ?
			       type[i] - 'a' + 'A' : type[i]);
	up[i] = 0;
	if (strstr(up, "INT"))
		return 'N';
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return 'T';
	if (!up[0] || strstr(up, "BLOB"))
		return 'B';
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return 'R';
	return 'N';
}

/* Fill aff (t->ncols + 1 bytes) for t's columns. SQLite code. */
static int column_affinities(sqlite3 *db, const hs_table *t, char *aff)
{
	sqlite3_stmt *st = NULL;
	int rc;
	memset(aff, 'B', (size_t)t->ncols);
	aff[t->ncols] = 0;
	/* a STRICT table: its CREATE statement ends with the word (or
	 * ", WITHOUT ROWID" after it); when in doubt, keep typeof() */
	rc = hs_exec_text(db, "SELECT 1 FROM sqlite_master WHERE type = 'table'"
			      " AND name = ?1 AND sql LIKE '%)%strict%'",
			  t->name, NULL);
	if (rc != SQLITE_OK) /* SQLITE_ROW: STRICT */
		return rc == SQLITE_ROW ? SQLITE_OK : rc;
	rc = hs_prepare(db, &st, "SELECT name, type FROM pragma_table_info(?1)");
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 1);
		int i = hs_table_col(t, (const char *)sqlite3_column_text(st, 0));
		if (i >= 0)
			aff[i] = affinity_of(type ? type : "");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static const char *const KINDS[] = {"bins", "ins", "upd", "updk", "del",
				    "gins", "gupd", "gdel"};

static void trigger_name(hs_buf *b, const char *kind, const char *table)
{
	hs_buf_printf(b, "hubsync_%s_%s", kind, table);
}

int hs_capture_remove(sqlite3 *db, const char *table)
{
	hs_buf b, name;
	int rc;
	hs_buf_init(&b);
	hs_buf_init(&name);
	for (size_t i = 0; i < sizeof(KINDS) / sizeof(*KINDS); i++) {
		hs_buf_reset(&name);
		trigger_name(&name, KINDS[i], table);
		hs_buf_puts(&b, "DROP TRIGGER IF EXISTS ");
		hs_buf_ident(&b, name.s ? name.s : "");
		hs_buf_puts(&b, ";");
	}
	rc = b.oom || name.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
	hs_buf_free(&b);
	hs_buf_free(&name);
	return rc;
}

/* Append "CREATE TRIGGER name WHEN event ON table [WHEN cond] BEGIN" to
 * b (cond may be NULL). */
static void trigger_head(hs_buf *b, const hs_table *t, const char *kind,
			 const char *when_event, const char *cond)
{
	hs_buf name;
	hs_buf_init(&name);
	trigger_name(&name, kind, t->name);
	hs_buf_puts(b, "CREATE TRIGGER ");
	hs_buf_ident(b, name.s ? name.s : "");
	hs_buf_printf(b, " %s ON ", when_event);
	hs_buf_ident(b, t->name);
	if (cond)
		hs_buf_printf(b, " WHEN %s", cond);
	hs_buf_puts(b, " BEGIN ");
	if (name.oom)
		b->oom = 1;
	hs_buf_free(&name);
}

/* " FROM hubsync_ctl AS c [from] WHERE c.applying = 0 [AND cond]; " */
static void change_source(hs_buf *b, const char *from, const char *cond)
{
	hs_buf_puts(b, " FROM hubsync_ctl AS c");
	if (from)
		hs_buf_puts(b, from);
	hs_buf_puts(b, " WHERE c.applying = 0");
	if (cond)
		hs_buf_printf(b, " AND %s", cond);
	hs_buf_puts(b, "; ");
}

/* Append "INSERT INTO hubsync_changes(tbl, op, mask, wall, base, k1)
 * SELECT N, op, mask, wall, c.pulled, <k1 of alias> FROM hubsync_ctl AS c
 * [from] WHERE c.applying = 0 [AND cond];", and for a key of 2-4 columns
 * the rest of it into hubsync_changes_key under the same id: while a
 * trigger runs, last_insert_rowid() is the entry it just wrote, and
 * changes() the rows its last statement wrote (SQLite saves and restores
 * both around a trigger). So from and cond give one row at most
 * (after_insert takes its several deletes one at a time). The key of a
 * stash row is read from it again, on the same condition (the first
 * statement changes neither). */
static void change_insert(hs_buf *b, const hs_table *t, const char *op,
			  const char *mask, const char *alias, int stash,
			  const char *from, const char *cond)
{
	hs_buf_puts(b, "INSERT INTO hubsync_changes(tbl, op, mask, wall, base");
	key_cols(b, 0, 1);
	hs_buf_printf(b, ") SELECT %d, %s, %s, " WALL_SQL ", c.pulled", t->id, op,
		      mask);
	key_vals(t, b, alias, stash, 0, 1);
	change_source(b, from, cond);
	if (t->npk < 2)
		return;
	hs_buf_puts(b, "INSERT INTO hubsync_changes_key(id");
	key_cols(b, 1, t->npk);
	hs_buf_puts(b, ") SELECT last_insert_rowid()");
	key_vals(t, b, alias, stash, 1, t->npk);
	if (stash)
		change_source(b, from, cond);
	else /* NEW or OLD: whether the entry was written is enough */
		hs_buf_puts(b, " WHERE changes() = 1; ");
}

/* "DELETE FROM hubsync_stash ..." of the kind 0 stash row of OLD's key:
 * its row is gone (see the top of the file). */
static void forget_stash(hs_buf *b, const hs_table *t)
{
	hs_buf_printf(b, "DELETE FROM hubsync_stash WHERE tbl = %d AND kind = 0"
			 " AND ", t->id);
	key_match(t, b, "-", "OLD", " IS ");
	hs_buf_puts(b, "; ");
}

/*
 * BEFORE INSERT: stash what an insert over an existing row changes, and
 * which other rows a REPLACE may delete through a UNIQUE index. Without
 * UNIQUE indexes the body runs only when a row with NEW's key exists: a
 * plain INSERT of a new key pays one index probe, not a DELETE and an
 * INSERT ... SELECT (docs/PERFORMANCE.md, "Capture triggers"). A stash
 * row left behind for a key that is gone was removed with its row (see
 * the top of the file).
 */
static void before_insert(hs_buf *b, const hs_table *t, const char *aff,
			  const hs_colset *u, int nu)
{
	hs_buf when;
	hs_buf_init(&when);
	if (!nu) {
		hs_buf_puts(&when, "EXISTS (SELECT 1 FROM ");
		hs_buf_ident(&when, t->name);
		hs_buf_puts(&when, " AS o WHERE ");
		key_match(t, &when, "o", "NEW", " = ");
		hs_buf_puts(&when, ")");
		if (when.oom)
			b->oom = 1;
	}
	trigger_head(b, t, "bins", "BEFORE INSERT", nu ? NULL : when.s);
	hs_buf_free(&when);
	hs_buf_printf(b, "DELETE FROM hubsync_stash WHERE tbl = %d AND kind = 0"
			 " AND ", t->id);
	key_match(t, b, "-", "NEW", " IS ");
	hs_buf_puts(b, "; INSERT INTO hubsync_stash(tbl, kind, mask");
	key_cols(b, 0, t->npk);
	hs_buf_printf(b, ") SELECT %d, 0, ", t->id);
	change_mask(b, t, aff, "o", "NEW");
	key_vals(t, b, "NEW", 0, 0, t->npk);
	hs_buf_puts(b, " FROM ");
	hs_buf_ident(b, t->name);
	hs_buf_puts(b, " AS o WHERE ");
	key_match(t, b, "o", "NEW", " = ");
	hs_buf_puts(b, "; ");
	if (nu) {
		hs_buf_puts(b, "INSERT INTO hubsync_stash(tbl, kind");
		key_cols(b, 0, t->npk);
		hs_buf_printf(b, ") SELECT %d, 1", t->id);
		key_vals(t, b, "o", 0, 0, t->npk);
		hs_buf_puts(b, " FROM ");
		hs_buf_ident(b, t->name);
		hs_buf_puts(b, " AS o WHERE (");
		for (int k = 0; k < nu; k++) {
			hs_buf_puts(b, k ? " OR (" : "(");
			for (int j = 0; j < u[k].n; j++) {
				const char *c = t->cols[u[k].col[j]];
				hs_buf_puts(b, j ? " AND o." : "o.");
				hs_buf_ident(b, c);
				hs_buf_puts(b, " = NEW.");
				hs_buf_ident(b, c);
			}
			hs_buf_puts(b, ")");
		}
		hs_buf_puts(b, ") AND NOT (");
		key_match(t, b, "o", "NEW", " IS ");
		hs_buf_puts(b, "); ");
	}
	hs_buf_puts(b, "END;");
}

/* AFTER INSERT: an insert, or the update a REPLACE made; the rows a
 * REPLACE deleted through a UNIQUE index. The kind 0 stash row stays:
 * the next BEFORE INSERT of its key replaces or removes it. */
static void after_insert(hs_buf *b, const hs_table *t, int nu)
{
	hs_buf from, del;
	hs_buf_init(&from);
	hs_buf_init(&del);
	hs_buf_printf(&from, " LEFT JOIN hubsync_stash AS s ON s.tbl = %d AND"
			     " s.kind = 0 AND ", t->id);
	key_match(t, &from, "s", "NEW", " IS ");
	trigger_head(b, t, "ins", "AFTER INSERT", NULL);
	change_insert(b, t, "CASE WHEN s.mask IS NULL THEN 1 ELSE 2 END",
		      "coalesce(s.mask, 0)", "NEW", 0, from.s,
		      "coalesce(s.mask, -1) <> 0");
	if (nu) {
		hs_buf_printf(&del, " JOIN hubsync_stash AS s ON s.tbl = %d AND"
				    " s.kind = 1", t->id);
		hs_buf_reset(&from);
		hs_buf_puts(&from, "NOT EXISTS (SELECT 1 FROM ");
		hs_buf_ident(&from, t->name);
		hs_buf_puts(&from, " AS o WHERE ");
		key_match(t, &from, "o", "s", " IS ");
		hs_buf_puts(&from, ")");
		if (t->npk < 2) {
			change_insert(b, t, "3", "0", "s", 1, del.s, from.s);
		} else {
			/* one row at a time (change_insert), newest first: at
			 * most nu rows are this insert's; older ones are left
			 * by inserts that did not happen, their rows not gone */
			hs_buf_printf(&del, " AND s.rowid = (SELECT max(rowid)"
					    " FROM hubsync_stash WHERE tbl = %d"
					    " AND kind = 1)", t->id);
			for (int k = 0; k < nu; k++) {
				change_insert(b, t, "3", "0", "s", 1, del.s, from.s);
				hs_buf_printf(b, "DELETE FROM hubsync_stash WHERE"
						 " rowid = (SELECT max(rowid) FROM"
						 " hubsync_stash WHERE tbl = %d AND"
						 " kind = 1); ", t->id);
			}
		}
		hs_buf_printf(b, "DELETE FROM hubsync_stash WHERE tbl = %d AND"
				 " kind = 1; ", t->id);
	}
	hs_buf_puts(b, "END;");
	if (from.oom || del.oom)
		b->oom = 1;
	hs_buf_free(&from);
	hs_buf_free(&del);
}

/* AFTER UPDATE of a row that keeps its key: the changed columns. The
 * mask is computed in the select list and, as a condition that stops at
 * the first changed column, in the WHERE clause: cheaper than a subquery
 * in FROM, which SQLite materializes for every row. */
static void after_update(hs_buf *b, const hs_table *t, const char *aff)
{
	hs_buf mask, cond;
	hs_buf_init(&mask);
	hs_buf_init(&cond);
	change_mask(&mask, t, aff, "OLD", "NEW");
	key_match(t, &cond, "OLD", "NEW", " IS ");
	hs_buf_puts(&cond, " AND (");
	any_changed(&cond, t, aff, "OLD", "NEW");
	hs_buf_puts(&cond, ")");
	trigger_head(b, t, "upd", "AFTER UPDATE", NULL);
	change_insert(b, t, "2", mask.s, "NEW", 0, NULL, cond.s);
	hs_buf_puts(b, "END;");
	if (mask.oom || cond.oom)
		b->oom = 1;
	hs_buf_free(&mask);
	hs_buf_free(&cond);
}

/* AFTER UPDATE OF the key columns, when the key changed: a delete of the
 * old key, an insert of the new one, and the old key's stash row goes
 * (its row is gone). A separate trigger, so that an UPDATE that sets no
 * key column neither calls it nor tests the key (docs/PERFORMANCE.md). */
static void after_key_update(hs_buf *b, const hs_table *t)
{
	hs_buf ev, keych;
	hs_buf_init(&ev);
	hs_buf_init(&keych);
	hs_buf_puts(&ev, "AFTER UPDATE OF ");
	for (int i = 0; i < t->npk; i++) {
		if (i)
			hs_buf_puts(&ev, ", ");
		hs_buf_ident(&ev, t->cols[t->pk[i]]);
	}
	key_changed(t, &keych);
	trigger_head(b, t, "updk", ev.s ? ev.s : "", keych.s ? keych.s : "");
	change_insert(b, t, "3", "0", "OLD", 0, NULL, NULL);
	change_insert(b, t, "1", "0", "NEW", 0, NULL, NULL);
	forget_stash(b, t);
	hs_buf_puts(b, "END;");
	if (ev.oom || keych.oom)
		b->oom = 1;
	hs_buf_free(&ev);
	hs_buf_free(&keych);
}

/* The guard triggers: while hubsync applies (applying = 1), a write to t
 * goes through only when hubsync armed it (apply.c), once; what the app's
 * triggers write into t meanwhile is ignored (RAISE(IGNORE) abandons that
 * one row operation, the app's trigger goes on). armed = -id lets every
 * write to t through until hubsync disarms it (its multi-row statements). They are created after
 * the app's triggers, so they fire first (SQLite fires the newest first). */
static void guards(hs_buf *b, const hs_table *t)
{
	static const char *ev[][2] = {{"gins", "INSERT"}, {"gupd", "UPDATE"},
				      {"gdel", "DELETE"}};
	for (int i = 0; i < 3; i++) {
		hs_buf head;
		hs_buf_init(&head);
		hs_buf_printf(&head, "BEFORE %s", ev[i][1]);
		trigger_head(b, t, ev[i][0], head.s ? head.s : "",
			     "(SELECT applying FROM hubsync_ctl)");
		hs_buf_printf(b, "SELECT RAISE(IGNORE) FROM hubsync_ctl WHERE armed"
				 " NOT IN (%d, %d); UPDATE hubsync_ctl SET armed = 0"
				 " WHERE armed = %d; END;",
			      t->id, -t->id, t->id);
		if (head.oom)
			b->oom = 1;
		hs_buf_free(&head);
	}
}

int hs_capture_install(sqlite3 *db, const hs_table *t, int guard)
{
	hs_colset u[MAX_UNIQUE];
	hs_buf b;
	char *aff = malloc((size_t)t->ncols + 1);
	int rc, nu = 0;
	hs_buf_init(&b);
	if (!aff)
		return SQLITE_NOMEM;
	rc = hs_capture_remove(db, t->name);
	if (rc == SQLITE_OK)
		rc = hs_table_unique_sets(db, t, u, MAX_UNIQUE, &nu);
	if (rc != SQLITE_OK)
		goto cleanup;
	rc = column_affinities(db, t, aff);
	if (rc != SQLITE_OK)
		goto cleanup;
	before_insert(&b, t, aff, u, nu);
	after_insert(&b, t, nu);
	after_update(&b, t, aff);
	after_key_update(&b, t);
	trigger_head(&b, t, "del", "AFTER DELETE", NULL);
	change_insert(&b, t, "3", "0", "OLD", 0, NULL, NULL);
	forget_stash(&b, t);
	hs_buf_puts(&b, "END;");
	if (guard)
		guards(&b, t);
	rc = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
cleanup:
	hs_buf_free(&b);
	free(aff);
	return rc;
}

/* A key of 2-4 columns: the keys sel selects into temp.hubsync_queue
 * (rowids 1..n; its columns without a type, so that no value changes
 * type on the way), then the entries and their hubsync_changes_key rows
 * with the ids top + rowid, above every id of the log. */
static int queue_composite(sqlite3 *db, const hs_table *t, const char *sel,
			   const char *entry)
{
	hs_buf ins, key;
	int rc;
	int64_t top = 0;
	hs_buf_init(&ins);
	hs_buf_init(&key);
	hs_buf_puts(&ins, "INSERT INTO temp.hubsync_queue(k1");
	key_cols(&ins, 1, t->npk);
	hs_buf_printf(&ins, ") %s", sel);
	hs_buf_puts(&key, "INSERT INTO main.hubsync_changes_key(id");
	key_cols(&key, 1, t->npk);
	hs_buf_puts(&key, ") SELECT ?1 + rowid");
	key_cols(&key, 1, t->npk);
	hs_buf_puts(&key, " FROM temp.hubsync_queue");
	rc = hs_exec(db, "DROP TABLE IF EXISTS temp.hubsync_queue; CREATE TEMP"
			 " TABLE hubsync_queue(k1, k2, k3, k4)");
	if (rc == SQLITE_OK)
		rc = ins.oom ? SQLITE_NOMEM : hs_exec(db, ins.s);
	if (rc == SQLITE_OK)
		top = hs_query_int(db, "SELECT max(id) FROM main.hubsync_changes",
				   0, &rc);
	if (rc == SQLITE_OK) {
		hs_buf_reset(&ins);
		hs_buf_printf(&ins, "INSERT INTO main.hubsync_changes(id, tbl, op,"
			      " mask, wall, base, k1) SELECT ?1 + rowid, %s, k1"
			      " FROM temp.hubsync_queue", entry);
		rc = ins.oom ? SQLITE_NOMEM : hs_exec_ints(db, ins.s, 1, &top);
	}
	if (rc == SQLITE_OK)
		rc = key.oom ? SQLITE_NOMEM : hs_exec_ints(db, key.s, 1, &top);
	if (rc == SQLITE_OK)
		rc = hs_exec(db, "DROP TABLE temp.hubsync_queue");
	hs_buf_free(&ins);
	hs_buf_free(&key);
	return rc;
}

int hs_capture_queue(sqlite3 *db, const hs_table *t, int op, int64_t mask,
		     int64_t wall_ms, int64_t base, const char *where)
{
	hs_buf b, entry;
	int rc;
	hs_buf_init(&b);
	hs_buf_init(&entry);
	hs_buf_printf(&entry, "%d, %d, %lld, %lld, %lld", t->id, op,
		      (long long)mask, (long long)wall_ms, (long long)base);
	if (t->npk < 2)
		hs_buf_printf(&b, "INSERT INTO hubsync_changes(tbl, op, mask,"
			      " wall, base, k1) SELECT %s, ", entry.s);
	else
		hs_buf_puts(&b, "SELECT ");
	for (int i = 0; i < t->npk; i++) {
		if (i)
			hs_buf_puts(&b, ", ");
		hs_buf_ident(&b, t->cols[t->pk[i]]);
		hs_buf_printf(&b, " AS k%d", i + 1);
	}
	hs_buf_puts(&b, " FROM ");
	hs_buf_ident(&b, t->name);
	if (where)
		hs_buf_printf(&b, " WHERE %s", where);
	if (b.oom || entry.oom)
		rc = SQLITE_NOMEM;
	else
		rc = t->npk < 2 ? hs_exec(db, b.s)
				: queue_composite(db, t, b.s, entry.s);
	hs_buf_free(&b);
	hs_buf_free(&entry);
	return rc;
}

/* The log with its whole key (capture.h). A log that still has k2..k4
 * (an older version's, or one whose columns SQLite would not drop, see
 * hs_capture_log_upgrade) has each key's rest in one of two places: in
 * those columns for the entries written before the upgrade (until it
 * moves them), in hubsync_changes_key (when there is one) for the
 * others. */
#define LOG_SELECT                                                           \
	"(SELECT c.id AS id, c.tbl AS tbl, c.op AS op, c.mask AS mask, c.wall" \
	" AS wall, c.base AS base, c.k1 AS k1, "
#define LOG_JOIN                                                             \
	" FROM main.hubsync_changes AS c LEFT JOIN main.hubsync_changes_key"  \
	" AS x ON x.id = c.id)"
static const char LOG_SQL[] = LOG_SELECT "x.k2 AS k2, x.k3 AS k3, x.k4 AS k4"
	LOG_JOIN;
static const char WIDE_LOG_SQL[] = LOG_SELECT "coalesce(x.k2, c.k2) AS k2,"
	" coalesce(x.k3, c.k3) AS k3, coalesce(x.k4, c.k4) AS k4" LOG_JOIN;
static const char OLD_LOG_SQL[] = LOG_SELECT "c.k2 AS k2, c.k3 AS k3, c.k4"
	" AS k4 FROM main.hubsync_changes AS c)";
static const char SHORT_LOG_SQL[] = LOG_SELECT "NULL AS k2, NULL AS k3, NULL"
	" AS k4 FROM main.hubsync_changes AS c)";

const char *hs_capture_log(sqlite3 *db)
{
	if (!hs_table_has_column(db, "hubsync_changes", "k2"))
		return LOG_SQL;
	return hs_table_exists(db, "hubsync_changes_key") == 1 ? WIDE_LOG_SQL
							       : OLD_LOG_SQL;
}

const char *hs_capture_log_keys(sqlite3 *db, int max_npk)
{
	return max_npk <= 1 ? SHORT_LOG_SQL : hs_capture_log(db);
}

int hs_capture_log_prune(sqlite3 *db)
{
	return hs_exec(db, "DELETE FROM main.hubsync_changes_key WHERE NOT"
			   " EXISTS (SELECT 1 FROM main.hubsync_changes AS c"
			   " WHERE c.id = hubsync_changes_key.id)");
}

int hs_capture_log_upgrade(sqlite3 *db)
{
	sqlite3_stmt *st;
	hs_buf b;
	int rc;
	if (!hs_table_has_column(db, "hubsync_changes", "k2"))
		return SQLITE_OK;
	/* SQLite drops no column a trigger names: the triggers that write
	 * k2.. go first (composite keys' own: capture versions 1 and 2 named
	 * the key columns a table has) */
	rc = hs_prepare(db, &st, "SELECT name FROM sqlite_master WHERE type ="
				 " 'trigger' AND sql LIKE '%INSERT INTO"
				 " hubsync_changes(tbl, op, mask, wall, base, k1,"
				 " k2%'");
	if (rc != SQLITE_OK)
		return rc;
	hs_buf_init(&b);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hs_buf_puts(&b, "DROP TRIGGER ");
		hs_buf_ident(&b, (const char *)sqlite3_column_text(st, 0));
		hs_buf_puts(&b, ";");
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		rc = b.oom ? SQLITE_NOMEM : b.s ? hs_exec(db, b.s) : SQLITE_OK;
	hs_buf_free(&b);
	if (rc == SQLITE_OK)
		rc = hs_exec(db, "INSERT INTO main.hubsync_changes_key(id, k2, k3,"
				 " k4) SELECT id, k2, k3, k4 FROM"
				 " main.hubsync_changes WHERE k2 IS NOT NULL OR"
				 " k3 IS NOT NULL OR k4 IS NOT NULL;"
				 " UPDATE main.hubsync_changes SET k2 = NULL, k3 ="
				 " NULL, k4 = NULL WHERE k2 IS NOT NULL OR k3 IS NOT"
				 " NULL OR k4 IS NOT NULL");
	if (rc != SQLITE_OK || (rc = hs_exec(db, "SAVEPOINT hs_log")) != SQLITE_OK)
		return rc;
	/* DROP COLUMN checks every trigger and view of the schema: one of
	 * the app's that names a table gone makes it fail. The columns then
	 * stay, NULL (hs_capture_log reads both places), until a later
	 * reconcile drops them. */
	if (hs_exec(db, "ALTER TABLE main.hubsync_changes DROP COLUMN k4;"
			" ALTER TABLE main.hubsync_changes DROP COLUMN k3;"
			" ALTER TABLE main.hubsync_changes DROP COLUMN k2;") != SQLITE_OK)
		hs_exec(db, "ROLLBACK TO hs_log");
	return hs_exec(db, "RELEASE hs_log");
}

/* *out = 1 if the count query sql finds any. SQLite code. */
static int any_of(sqlite3 *db, const char *sql, int *out)
{
	int rc;
	*out = hs_query_int(db, sql, 0, &rc) > 0;
	return rc;
}

int hs_capture_app_triggers(sqlite3 *db, int *out)
{
	return any_of(db, "SELECT count(*) FROM sqlite_master WHERE type ="
			  " 'trigger' AND name NOT LIKE 'hubsync\\_%' ESCAPE"
			  " '\\'", out);
}

int hs_capture_guarded(sqlite3 *db, int *out)
{
	return any_of(db, "SELECT count(*) FROM sqlite_master WHERE type ="
			  " 'trigger' AND name LIKE 'hubsync\\_gins\\_%' ESCAPE"
			  " '\\'", out);
}
