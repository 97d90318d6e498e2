/*
 * schema.c - reading tracked tables' shape, and the replica metadata DDL.
 *
 * A tracked table's synced columns are all its columns except synced_at,
 * which is local to each replica (when this replica last exchanged the row).
 * Tables are kept parents-first (by declared foreign keys) so that pulled
 * rows are applied parents before children and deletes in reverse.
 */
#include "schema.h"
#include "error.h"
#include "history.h"
#include "numbers.h"
#include "peers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int exists2(sqlite3 *db, const char *sql, const char *a,
		   const char *b);

/* The replica's metadata (docs/INTERNALS.md, "Replica metadata"). New
 * columns of tables that older versions created are added by
 * hs_schema_create_meta through META_COLUMNS. */
static const char *META_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_meta(key TEXT PRIMARY KEY, value)"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS hubsync_ctl(id INTEGER PRIMARY KEY"
	" CHECK (id = 1), applying INTEGER NOT NULL DEFAULT 0,"
	" pulled INTEGER NOT NULL DEFAULT 0, pushed INTEGER NOT NULL DEFAULT 0,"
	" armed INTEGER NOT NULL DEFAULT 0);"
	"INSERT OR IGNORE INTO hubsync_ctl(id) VALUES(1);"
	"CREATE TABLE IF NOT EXISTS hubsync_tables(id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, cols TEXT, stamp_at INTEGER NOT NULL"
	" DEFAULT 0, stamp_by INTEGER NOT NULL DEFAULT 0, stamp_synced INTEGER"
	" NOT NULL DEFAULT 0, added TEXT);"
	"CREATE TABLE IF NOT EXISTS hubsync_untracked(name TEXT PRIMARY KEY,"
	" pulled INTEGER NOT NULL, at INTEGER NOT NULL, added TEXT) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS hubsync_catchup(tbl INTEGER NOT NULL,"
	" since INTEGER NOT NULL, cols TEXT);"
	"CREATE TABLE IF NOT EXISTS hubsync_changes(id INTEGER PRIMARY KEY,"
	" tbl INTEGER NOT NULL, op INTEGER NOT NULL, mask INTEGER NOT NULL,"
	" wall INTEGER NOT NULL, base INTEGER NOT NULL, k1);"
	"CREATE TABLE IF NOT EXISTS hubsync_changes_key(id INTEGER PRIMARY KEY,"
	" k2, k3, k4);"
	"CREATE TABLE IF NOT EXISTS hubsync_stash(tbl INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, k1, k2, k3, k4, mask INTEGER);"
	"CREATE INDEX IF NOT EXISTS hubsync_stash_key ON hubsync_stash(tbl, k1);"
	"CREATE TABLE IF NOT EXISTS hubsync_conflicts(id INTEGER PRIMARY KEY,"
	" seq INTEGER NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT,"
	" local_value, remote_value, winner TEXT NOT NULL, local_user TEXT,"
	" remote_user TEXT, detected_at TEXT NOT NULL,"
	" resolved INTEGER NOT NULL DEFAULT 0, resolved_at TEXT,"
	" resolved_by TEXT, local_site TEXT, remote_site TEXT);"
	"CREATE TABLE IF NOT EXISTS hubsync_resolutions(conflict_id INTEGER"
	" PRIMARY KEY, keep TEXT NOT NULL, at TEXT NOT NULL);";

/* The sync_log of the contract (3.2), created only where the app has
 * none: an app that keeps its own keeps it after uninstall. */
static const char *SYNC_LOG_DDL =
	"CREATE TABLE IF NOT EXISTS sync_log ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" timestamp DATETIME DEFAULT CURRENT_TIMESTAMP,"
	" direction TEXT NOT NULL, status TEXT NOT NULL,"
	" records_pulled INTEGER DEFAULT 0, records_pushed INTEGER DEFAULT 0,"
	" conflicts INTEGER DEFAULT 0, error_message TEXT, duration_ms INTEGER,"
	" stats TEXT);";

/* Columns added to metadata tables since the first version: table,
 * column, declaration. */
static const char *const META_COLUMNS[][3] = {
	{"hubsync_ctl", "armed", "INTEGER NOT NULL DEFAULT 0"},
	{"hubsync_tables", "cols", "TEXT"},
	{"hubsync_tables", "stamp_at", "INTEGER NOT NULL DEFAULT 0"},
	{"hubsync_tables", "stamp_by", "INTEGER NOT NULL DEFAULT 0"},
	{"hubsync_tables", "stamp_synced", "INTEGER NOT NULL DEFAULT 0"},
	{"hubsync_tables", "added", "TEXT"},
	{"hubsync_conflicts", "local_site", "TEXT"},
	{"hubsync_conflicts", "remote_site", "TEXT"},
	{"sync_log", "stats", "TEXT"},
	{"sync_log", "started_by", "TEXT"}, /* hs_sync_options.trigger */
};

int hs_schema_create_meta(sqlite3 *db)
{
	int rc = hs_exec(db, META_DDL);
	/* the audit trail (history.c): a replica of an older version keeps
	 * its table until its next sync converts it (hs_history_upgrade) */
	if (rc == SQLITE_OK)
		rc = hs_exec(db, HS_HISTORY_DDL);
	/* made here, not on first use in a sync: DDL there would change the
	 * schema and make the next sync reconcile (re-create every capture
	 * trigger), and each CREATE a transaction of its own */
	if (rc == SQLITE_OK)
		rc = hs_exec(db, HS_NUMBERS_DDL);
	if (rc == SQLITE_OK)
		rc = hs_exec(db, HS_PEERS_DDL);
	if (rc == SQLITE_OK && hs_table_exists(db, "sync_log") == 0) {
		rc = hs_exec(db, SYNC_LOG_DDL);
		if (rc == SQLITE_OK)
			rc = hs_exec(db, "INSERT OR REPLACE INTO hubsync_meta"
					 " VALUES('own_sync_log', 1)");
	}
	for (size_t i = 0; rc == SQLITE_OK &&
			   i < sizeof(META_COLUMNS) / sizeof(*META_COLUMNS); i++) {
		hs_buf b;
		if (hs_table_has_column(db, META_COLUMNS[i][0], META_COLUMNS[i][1]))
			continue;
		hs_buf_init(&b);
		hs_buf_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s",
			      META_COLUMNS[i][0], META_COLUMNS[i][1],
			      META_COLUMNS[i][2]);
		rc = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
		hs_buf_free(&b);
	}
	return rc;
}

int hs_table_exists(sqlite3 *db, const char *name)
{
	int rc = hs_exec_text(db, "SELECT 1 FROM sqlite_master WHERE type ="
				  " 'table' AND name = ?1 AND ?2 IS NULL", name,
			      NULL);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_OK ? 0 : -1;
}



void hs_table_clear(hs_table *t)
{
	for (int i = 0; i < t->nfk; i++) {
		free(t->fk[i].parent);
		free(t->fk[i].parent_col);
	}
	free(t->fk);
	for (int i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

/* Table names go to pragma functions as bound values: quoted as an
 * identifier, a table called like one of the pragma's own columns (name,
 * type, unique...) would be read as that column. */
/* 1 if sql, with ?1 and ?2 bound to a and b, returns a row. */
static int exists2(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int found = 0;
	if (hs_prepare(db, &st, sql) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/*
 * Preparing "SELECT `col` FROM table" costs about a fifth of a query of
 * pragma_table_info (whose virtual table is declared anew, a CREATE TABLE
 * parsed, at each prepare), and these checks run several times per sync
 * (docs/PERFORMANCE.md). Backquotes, unlike double quotes, never fall back
 * to a string literal when no such column exists.
 */
int hs_table_has_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	hs_buf b;
	int found;
	hs_buf_init(&b);
	hs_buf_puts(&b, "SELECT `");
	for (const char *p = col; *p; p++)
		hs_buf_printf(&b, *p == '`' ? "``" : "%c", *p);
	hs_buf_puts(&b, "` FROM ");
	hs_buf_ident(&b, table);
	found = !b.oom && sqlite3_prepare_v2(db, b.s, -1, &st, NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	hs_buf_free(&b);
	return found;
}

int hs_table_has_pk(sqlite3 *db, const char *table)
{
	return exists2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE pk > 0"
			   " AND ?2 IS NULL", table, NULL);
}

char *hs_column_default(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	char *d = NULL;
	if (hs_prepare(db, &st, "SELECT dflt_value FROM pragma_table_info(?1)"
				" WHERE name = ?2") != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		d = hs_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return d;
}

int hs_table_has_unique(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st;
	int found = 1; /* when unsure, take the careful path */
	if (hs_prepare(db, &st, "SELECT count(*) FROM pragma_index_list(?1)"
				" WHERE \"unique\" AND origin <> 'pk'") != SQLITE_OK)
		return found;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		found = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return found;
}

int hs_table_unique_sets(sqlite3 *db, const hs_table *t, hs_colset *sets,
			 int max, int *n)
{
	sqlite3_stmt *ix = NULL, *ic = NULL;
	int sr;
	*n = 0;
	sr = hs_prepare(db, &ix, "SELECT name FROM pragma_index_list(?1)"
				 " WHERE \"unique\" AND origin <> 'pk'");
	if (sr == SQLITE_OK)
		sr = hs_prepare(db, &ic, "SELECT cid, name FROM"
					 " pragma_index_xinfo(?1) WHERE key");
	if (sr != SQLITE_OK)
		goto out;
	sqlite3_bind_text(ix, 1, t->name, -1, SQLITE_STATIC);
	while ((sr = sqlite3_step(ix)) == SQLITE_ROW) {
		hs_colset cs = {0};
		int usable = 1;
		sqlite3_bind_value(ic, 1, sqlite3_column_value(ix, 0));
		while ((sr = sqlite3_step(ic)) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(ic, 1);
			int col = c && sqlite3_column_int(ic, 0) >= 0
					  ? hs_table_col(t, c) : -1;
			if (col < 0 || cs.n == HS_MAX_SET)
				usable = 0; /* an expression or a local column */
			else
				cs.col[cs.n++] = col;
		}
		sqlite3_reset(ic);
		if (sr != SQLITE_DONE)
			goto out;
		if (usable && cs.n && *n < max)
			sets[(*n)++] = cs;
	}
	sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
out:
	sqlite3_finalize(ix);
	sqlite3_finalize(ic);
	return sr;
}

int hs_table_col(const hs_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return i;
	return -1;
}

/* Single-column foreign keys of t (multi-column ones are not rewritten
 * by key rebasing and are left out). A SQLite code. */
static int load_fkeys(sqlite3 *db, hs_table *t)
{
	sqlite3_stmt *st;
	int step = hs_prepare(db, &st, "SELECT \"table\", \"from\", \"to\" FROM"
				       " pragma_foreign_key_list(?1) WHERE id IN"
				       " (SELECT id FROM pragma_foreign_key_list(?1)"
				       " GROUP BY id HAVING count(*) = 1)");
	if (step != SQLITE_OK)
		return step;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int col = hs_table_col(t, (const char *)sqlite3_column_text(st, 1));
		hs_fkey *fk = realloc(t->fk, (size_t)(t->nfk + 1) * sizeof(*fk));
		if (!fk) {
			sqlite3_finalize(st);
			return SQLITE_NOMEM;
		}
		t->fk = fk;
		if (col < 0)
			continue;
		fk[t->nfk].col = col;
		fk[t->nfk].parent = hs_strdup((const char *)sqlite3_column_text(st, 0));
		fk[t->nfk].parent_col =
			hs_strdup((const char *)sqlite3_column_text(st, 2));
		t->nfk++;
		if (!fk[t->nfk - 1].parent) { /* out of memory */
			step = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SQLITE_OK : step;
}

int hs_fkey_targets_pk(const hs_fkey *fk, const hs_table *parent)
{
	return parent->npk == 1 && strcasecmp(fk->parent, parent->name) == 0 &&
	       (!fk->parent_col ||
		strcmp(fk->parent_col, parent->cols[parent->pk[0]]) == 0);
}

int hs_fkey_targets_key(const hs_fkey *fk, const hs_table *parent)
{
	return parent->intpk && hs_fkey_targets_pk(fk, parent);
}

int hs_table_load(sqlite3 *db, const char *name, hs_table *t, hs_buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc = HS_ERROR, cap = 0, sr = SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	if (!(t->name = hs_strdup(name)))
		goto cleanup;
	if ((sr = hs_prepare(db, &st, "SELECT name, pk, upper(type) = 'INTEGER'"
				      " FROM pragma_table_info(?1) ORDER BY cid"))
	    != SQLITE_OK)
		goto cleanup;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 0);
		int pk = sqlite3_column_int(st, 1);
		if (strcmp(col, "synced_at") == 0)
			continue;
		if (t->ncols == cap) {
			cap = cap ? cap * 2 : 16;
			char **c = realloc(t->cols, (size_t)cap * sizeof(*c));
			if (!c) {
				sr = SQLITE_NOMEM;
				goto cleanup;
			}
			t->cols = c;
		}
		if (!(t->cols[t->ncols] = hs_strdup(col))) {
			sr = SQLITE_NOMEM;
			goto cleanup;
		}
		if (pk > 0) {
			if (pk > HS_MAX_PK) {
				rc = hs_errf(err, HS_EINVALID, "table \"%s\" has a "
					     "primary key of more than %d columns, "
					     "which hubsync does not support",
					     name, HS_MAX_PK);
				goto cleanup;
			}
			t->pk[pk - 1] = t->ncols;
			t->intpk = sqlite3_column_int(st, 2);
			if (pk > t->npk)
				t->npk = pk;
		}
		t->ncols++;
	}
	if (sr != SQLITE_DONE)
		goto cleanup; /* a read error: the message below says so */
	if (t->ncols == 0) {
		rc = hs_errf(err, HS_EINVALID, "no table \"%s\" in the database: "
			     "check the name (hubsync conflicts and hubsync status "
			     "list tracked tables)", name);
		goto cleanup;
	}
	if (t->npk == 0) {
		rc = hs_errf(err, HS_EINVALID, "table \"%s\" has no primary key: "
			     "hubsync needs one to match rows between PCs; add one "
			     "or leave the table out with --tables", name);
		goto cleanup;
	}
	if (t->npk != 1)
		t->intpk = 0;
	if ((sr = load_fkeys(db, t)) != SQLITE_OK)
		goto cleanup;
	rc = HS_OK;
cleanup:
	sqlite3_finalize(st);
	if (rc == HS_ERROR) { /* a read error, or out of memory: sr says */
		if (err->len == 0)
			hs_buf_printf(err, "cannot read the columns of table \"%s\": %s",
				      name, sqlite3_errmsg(db));
		if (hs_error_from_sqlite(sr) != HS_OK)
			rc = hs_error_from_sqlite(sr);
	}
	if (rc != HS_OK)
		hs_table_clear(t);
	return rc;
}

/* 1 if table a declares a foreign key to table b. */
static int references(sqlite3 *db, const char *a, const char *b)
{
	return exists2(db, "SELECT 1 FROM pragma_foreign_key_list(?1) WHERE"
			   " \"table\" = ?2 COLLATE NOCASE", a, b);
}

/* Order s->t parents first: repeatedly move a table that references no
 * table still waiting. Cycles keep their original order. */
static void order_parents_first(sqlite3 *db, hs_schema *s)
{
	for (int done = 0; done < s->n; done++) {
		int pick = done;
		for (int i = done; i < s->n; i++) {
			int blocked = 0;
			for (int j = done; j < s->n && !blocked; j++)
				blocked = j != i && references(db, s->t[i].name,
							       s->t[j].name);
			if (!blocked) {
				pick = i;
				break;
			}
		}
		hs_table tmp = s->t[pick];
		memmove(&s->t[done + 1], &s->t[done],
			(size_t)(pick - done) * sizeof(hs_table));
		s->t[done] = tmp;
	}
}

int hs_schema_load(sqlite3 *db, hs_schema *s, hs_buf *err)
{
	return hs_schema_load_some(db, s, NULL, NULL, err);
}

int hs_schema_load_some(sqlite3 *db, hs_schema *s,
			int (*skip)(void *ctx, const char *table),
			void *skip_ctx, hs_buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc = HS_ERROR, n;
	int sr;
	memset(s, 0, sizeof(*s));
	n = (int)hs_query_int(db, "SELECT count(*) FROM hubsync_tables", 0, &sr);
	if (sr != SQLITE_OK)
		return hs_err_sqlite(err, db, sr, "cannot read the tracked tables");
	s->t = calloc(hs_count(n), sizeof(hs_table));
	if (!s->t)
		goto cleanup;
	if ((sr = hs_prepare(db, &st, "SELECT id, name, stamp_at, stamp_by,"
				      " stamp_synced FROM hubsync_tables"
				      " ORDER BY id")) != SQLITE_OK) {
		rc = hs_err_sqlite(err, db, sr, "cannot read the tracked tables");
		goto cleanup;
	}
	while (s->n < n && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		hs_table *t = &s->t[s->n];
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (skip && skip(skip_ctx, name)) {
			n--;
			continue;
		}
		if ((rc = hs_table_load(db, name, t, err)) != HS_OK)
			goto cleanup;
		t->id = sqlite3_column_int(st, 0);
		t->stamp_at = sqlite3_column_int(st, 2);
		t->stamp_by = sqlite3_column_int(st, 3);
		t->stamp_synced = sqlite3_column_int(st, 4);
		s->n++;
	}
	if (s->n < n) { /* a read error, not fewer tables */
		rc = err->len ? HS_ERROR
			      : hs_err_sqlite(err, db, sr,
					      "cannot read the tracked tables");
		goto cleanup;
	}
	order_parents_first(db, s);
	rc = HS_OK;
cleanup:
	sqlite3_finalize(st);
	if (rc != HS_OK)
		hs_schema_clear(s);
	return rc;
}

void hs_schema_clear(hs_schema *s)
{
	for (int i = 0; i < s->n; i++)
		hs_table_clear(&s->t[i]);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

hs_table *hs_schema_find(const hs_schema *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

void hs_table_select(const hs_table *t, hs_buf *b)
{
	hs_buf_puts(b, "SELECT ");
	for (int i = 0; i < t->ncols; i++) {
		if (i)
			hs_buf_puts(b, ", ");
		hs_buf_ident(b, t->cols[i]);
	}
	hs_buf_puts(b, " FROM ");
	hs_buf_ident(b, t->name);
}

void hs_table_pk_where(const hs_table *t, hs_buf *b, int first)
{
	hs_buf_puts(b, " WHERE ");
	for (int i = 0; i < t->npk; i++) {
		if (i)
			hs_buf_puts(b, " AND ");
		hs_buf_ident(b, t->cols[t->pk[i]]);
		hs_buf_printf(b, " = ?%d", first + i);
	}
}

int hs_table_add_column_like(sqlite3 *db, sqlite3 *rdb, const hs_table *t,
			     const char *col)
{
	sqlite3_stmt *st;
	hs_buf b;
	int sr = hs_prepare(rdb, &st, "SELECT type, dflt_value FROM"
				      " pragma_table_xinfo(?1) WHERE name = ?2");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	hs_buf_init(&b);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *dflt = (const char *)sqlite3_column_text(st, 1);
		hs_buf_puts(&b, "ALTER TABLE ");
		hs_buf_ident(&b, t->name);
		hs_buf_puts(&b, " ADD COLUMN ");
		hs_buf_ident(&b, col);
		if (type && *type)
			hs_buf_printf(&b, " %s", type);
		if (dflt)
			hs_buf_printf(&b, " DEFAULT %s", dflt);
		sr = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
	} else {
		sr = sr == SQLITE_DONE ? SQLITE_ERROR : sr;
	}
	sqlite3_finalize(st);
	hs_buf_free(&b);
	return sr;
}

char *hs_table_create_sql(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	char *sql = NULL;
	if (hs_prepare(db, &st, "SELECT sql FROM sqlite_master WHERE type ="
				" 'table' AND name = ?1") != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		sql = hs_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return sql;
}
