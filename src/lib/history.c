/*
 * history.c - the audit trail's compact format: hubsync_history in every
 * replica and in a file master of format 3 (store_file.c). Everything
 * outside this file sees an entry in its old shape, the 8 values
 * HS_HISTORY_COLS (seq, tbl, key, pk, op, user, at, changes, all text but
 * seq): `hubsync log`, the wire (h frames), the PostgreSQL store. That
 * shape cost ~95 bytes for an insert, mostly text every entry repeats
 * (docs/PERFORMANCE.md, "Fourth round"); the compact one ~40.
 *
 * The old shape (a format 1 or 2 master; a replica before this version):
 *
 *   hubsync_history(seq INTEGER PRIMARY KEY, tbl TEXT, key TEXT, pk TEXT,
 *                   op TEXT, user TEXT, at TEXT, changes TEXT)
 *
 * The compact shape, each value stored as below and read back byte for
 * byte as the old text (an entry that fits no short form keeps its text):
 *
 *   hubsync_names(id INTEGER PRIMARY KEY, kind, name, pkcol,
 *                 UNIQUE(kind, name))
 *       kind 0: a table name, with pkcol = the key column its first entry
 *       named (or NULL); kind 1: a user name
 *   hubsync_history(seq INTEGER PRIMARY KEY,
 *       tbl      the table's hubsync_names id
 *       key      the key text, as before
 *       pk       NULL: {"<pkcol>":"<key>"}; 1: {"<pkcol>":<key>} (an
 *                integer key); X'': NULL; else the key JSON's text
 *       op       0 insert, 1 update, 2 delete; else the text
 *       user     the user's hubsync_names id (NULL: NULL)
 *       at       ms since 1970 when the text is hs_iso_time's of it
 *                (YYYY-MM-DDTHH:MM:SS.mmmZ, 1970-9999); else the text
 *       changes  NULL: '{}' (an insert's); X'': NULL; else the text)
 *
 * SQLite stores the integers 0 and 1 and NULL in the record header alone,
 * so an insert event is its key text, a 6-byte time and a few bytes. The
 * short forms are SQL functions of this file (hs_hist_*, registered by
 * hs_history_functions on each connection that reads or writes the
 * trail: a replica's, a file master's, the migration's); a reader outside hubsync (the
 * sqlite3 shell) sees the stored form. A table's pkcol is set when its
 * first entry is written: a table whose first key is not of a short form
 * keeps every key JSON as text.
 *
 * The rows written by this version's replicas are compact; a replica's
 * old table is converted in place by its next sync (hs_history_upgrade, in
 * the sync's local transaction). Readers choose by hs_history_compact.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const HS_HISTORY_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_names(id INTEGER PRIMARY KEY,"
	" kind INTEGER NOT NULL, name TEXT NOT NULL, pkcol TEXT,"
	" UNIQUE(kind, name));"
	"CREATE TABLE IF NOT EXISTS hubsync_history(seq INTEGER PRIMARY KEY,"
	" tbl INTEGER NOT NULL, key TEXT NOT NULL, pk, op NOT NULL,"
	" user INTEGER, at NOT NULL, changes);";

const char *const HS_HISTORY_DDL_OLD =
	"CREATE TABLE IF NOT EXISTS hubsync_history(seq INTEGER PRIMARY KEY,"
	" tbl TEXT NOT NULL, key TEXT NOT NULL, pk TEXT NOT NULL,"
	" op TEXT NOT NULL, user TEXT, at TEXT NOT NULL, changes TEXT);";

/* The largest time whose ISO text has a 4-digit year (10000-01-01). */
#define ISO_MAX_MS 253402300800000LL

/* ---- the SQL functions ------------------------------------------------ */

/* Per connection: the last time converted (entries of one sync mostly
 * share it), a buffer for key JSON. */
typedef struct fn_state {
	int64_t ms;
	char iso[32];
	int ok;
	hs_buf b;
} fn_state;

static void state_free(void *p)
{
	fn_state *s = p;
	if (s)
		hs_buf_free(&s->b);
	free(s);
}

static const char *state_iso(fn_state *s, int64_t ms)
{
	if (!s->ok || s->ms != ms) {
		hs_iso_time(ms, s->iso);
		s->ms = ms;
		s->ok = 1;
	}
	return s->iso;
}

/* hs_hist_iso(at): the stored time as its ISO text (else as stored). */
static void fn_iso(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	(void)argc;
	if (sqlite3_value_type(v[0]) != SQLITE_INTEGER) {
		sqlite3_result_value(cx, v[0]);
		return;
	}
	sqlite3_result_text(cx, state_iso(sqlite3_user_data(cx),
					  sqlite3_value_int64(v[0])),
			    -1, SQLITE_TRANSIENT);
}

/* hs_hist_at(text): ms when text is hs_iso_time's text of it, else text
 * (a number as text, as the old TEXT column kept it). */
static void fn_at(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	fn_state *s = sqlite3_user_data(cx);
	int type = sqlite3_value_type(v[0]);
	(void)argc;
	if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
		sqlite3_result_text(cx, (const char *)sqlite3_value_text(v[0]), -1,
				    SQLITE_TRANSIENT);
		return;
	}
	if (type != SQLITE_TEXT) {
		sqlite3_result_value(cx, v[0]);
		return;
	}
	const char *t = (const char *)sqlite3_value_text(v[0]);
	if (s->ok && strcmp(t, s->iso) == 0) {
		sqlite3_result_int64(cx, s->ms);
		return;
	}
	int64_t ms = hs_parse_time(t);
	if (ms >= 0 && ms < ISO_MAX_MS && strcmp(state_iso(s, ms), t) == 0)
		sqlite3_result_int64(cx, ms);
	else
		sqlite3_result_value(cx, v[0]);
}

/* 1 if pk (n bytes) is {"col":"key"} (quoted) or {"col":key} (!quoted). */
static int derives(const char *pk, size_t n, const char *col, const char *key,
		   int quoted)
{
	size_t lc = strlen(col), lk = strlen(key), q = quoted ? 1 : 0;
	if (n != 2 + lc + 2 + q + lk + q + 1)
		return 0;
	return memcmp(pk, "{\"", 2) == 0 && memcmp(pk + 2, col, lc) == 0 &&
	       memcmp(pk + 2 + lc, "\":", 2) == 0 &&
	       (!quoted || pk[4 + lc] == '"') &&
	       memcmp(pk + 4 + lc + q, key, lk) == 0 &&
	       (!quoted || pk[4 + lc + 1 + lk] == '"') && pk[n - 1] == '}';
}

/* hs_hist_pk(pk, pkcol, key): the stored form of the key JSON. */
static void fn_pk(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	int type = sqlite3_value_type(v[0]);
	(void)argc;
	if (type == SQLITE_NULL) {
		sqlite3_result_zeroblob(cx, 0);
		return;
	}
	if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
		sqlite3_result_text(cx, (const char *)sqlite3_value_text(v[0]), -1,
				    SQLITE_TRANSIENT);
		return;
	}
	const char *pk = (const char *)sqlite3_value_text(v[0]);
	const char *col = (const char *)sqlite3_value_text(v[1]);
	const char *key = (const char *)sqlite3_value_text(v[2]);
	size_t n = (size_t)sqlite3_value_bytes(v[0]);
	if (type == SQLITE_TEXT && col && key && derives(pk, n, col, key, 1))
		sqlite3_result_null(cx);
	else if (type == SQLITE_TEXT && col && key && derives(pk, n, col, key, 0))
		sqlite3_result_int(cx, 1);
	else
		sqlite3_result_value(cx, v[0]);
}

/* hs_hist_pkjson(pk, pkcol, key): the key JSON's text of the stored pk. */
static void fn_pkjson(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	fn_state *s = sqlite3_user_data(cx);
	int type = sqlite3_value_type(v[0]);
	const char *col = (const char *)sqlite3_value_text(v[1]);
	const char *key = (const char *)sqlite3_value_text(v[2]);
	(void)argc;
	if (type == SQLITE_BLOB && sqlite3_value_bytes(v[0]) == 0) {
		sqlite3_result_null(cx);
		return;
	}
	if (type != SQLITE_NULL && type != SQLITE_INTEGER) {
		sqlite3_result_value(cx, v[0]);
		return;
	}
	if (!col || !key) { /* not written by hs_hist_pk */
		sqlite3_result_null(cx);
		return;
	}
	const char *q = type == SQLITE_NULL ? "\"" : "";
	hs_buf_reset(&s->b);
	hs_buf_putn(&s->b, "{\"", 2);
	hs_buf_putn(&s->b, col, (size_t)sqlite3_value_bytes(v[1]));
	hs_buf_putn(&s->b, "\":", 2);
	hs_buf_puts(&s->b, q);
	hs_buf_putn(&s->b, key, (size_t)sqlite3_value_bytes(v[2]));
	hs_buf_puts(&s->b, q);
	hs_buf_putn(&s->b, "}", 1);
	if (s->b.oom)
		sqlite3_result_error_nomem(cx);
	else
		sqlite3_result_text(cx, s->b.s, (int)s->b.len, SQLITE_TRANSIENT);
}

/* The column name of a key JSON of a short form ({"col":"key"} or
 * {"col":key}): malloc'd, or NULL (none, or out of memory). */
static char *pkcol_of(const char *pk, const char *key)
{
	const char *end;
	if (!pk || !key || strncmp(pk, "{\"", 2) != 0 ||
	    !(end = strchr(pk + 2, '"')))
		return NULL;
	size_t n = strlen(pk), lc = (size_t)(end - pk - 2);
	char *col = malloc(lc + 1);
	if (!col)
		return NULL;
	memcpy(col, pk + 2, lc);
	col[lc] = 0;
	if (derives(pk, n, col, key, 1) || derives(pk, n, col, key, 0))
		return col;
	free(col);
	return NULL;
}

int hs_history_functions(sqlite3 *db)
{
	static const struct {
		const char *name;
		int n;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{"hs_hist_iso", 1, fn_iso},	  {"hs_hist_at", 1, fn_at},
		{"hs_hist_pk", 3, fn_pk},	  {"hs_hist_pkjson", 3, fn_pkjson},
	};
	fn_state *s = calloc(1, sizeof(*s));
	int sr = SQLITE_OK;
	if (!s)
		return SQLITE_NOMEM;
	hs_buf_init(&s->b);
	/* the first owns s (freed with the connection, or at once if it
	 * cannot be registered) */
	for (size_t i = 0; sr == SQLITE_OK && i < sizeof fns / sizeof *fns; i++)
		sr = sqlite3_create_function_v2(db, fns[i].name, fns[i].n,
						SQLITE_UTF8 | SQLITE_DETERMINISTIC |
							SQLITE_INNOCUOUS,
						s, fns[i].fn, NULL, NULL,
						i == 0 ? state_free : NULL);
	return sr;
}

/* ---- reading and writing ------------------------------------------- */

int hs_history_compact(sqlite3 *db)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "SELECT type FROM pragma_table_info("
				     "'hubsync_history') WHERE name = 'tbl'");
	if (sr != SQLITE_OK)
		return -1;
	sr = sqlite3_step(st);
	int compact = sr == SQLITE_ROW &&
		      strcmp((const char *)sqlite3_column_text(st, 0), "INTEGER") == 0;
	sqlite3_finalize(st);
	return sr == SQLITE_ROW || sr == SQLITE_DONE ? compact : -1;
}

void hs_history_source(hs_buf *b, int compact)
{
	if (!compact) {
		hs_buf_puts(b, "hubsync_history");
		return;
	}
	hs_buf_puts(b, "(SELECT h.seq AS seq, t.name AS tbl, h.key AS key,"
		       " hs_hist_pkjson(h.pk, t.pkcol, h.key) AS pk,"
		       " CASE h.op WHEN 0 THEN 'insert' WHEN 1 THEN 'update'"
		       " WHEN 2 THEN 'delete' ELSE h.op END AS op,"
		       " u.name AS user, hs_hist_iso(h.at) AS at,"
		       " CASE WHEN h.changes IS NULL THEN '{}' WHEN h.changes ="
		       " X'' THEN NULL ELSE h.changes END AS changes"
		       " FROM hubsync_history h JOIN hubsync_names t ON t.id ="
		       " h.tbl LEFT JOIN hubsync_names u ON u.id = h.user)");
}

/* ---- the dictionary ------------------------------------------------- */

/* Index of (kind, name) in nm, or -1. */
static int names_find(const hs_history_names *nm, int kind, const char *name)
{
	if (nm->last < nm->n && nm->v[nm->last].kind == kind &&
	    strcmp(nm->v[nm->last].name, name) == 0)
		return (int)nm->last;
	for (size_t i = 0; i < nm->n; i++)
		if (nm->v[i].kind == kind && strcmp(nm->v[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void names_add(hs_history_names *nm, int kind, const char *name,
		      const char *pk, const char *key)
{
	int i = names_find(nm, kind, name);
	if (i >= 0) {
		nm->last = (size_t)i;
		return;
	}
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 8;
		struct hs_history_name *v = realloc(nm->v, cap * sizeof(*v));
		if (!v) {
			nm->oom = 1;
			return;
		}
		nm->v = v;
		nm->cap = cap;
	}
	struct hs_history_name *e = &nm->v[nm->n];
	e->kind = kind;
	e->name = hs_strdup(name);
	e->pkcol = kind == 0 ? pkcol_of(pk, key) : NULL;
	if (!e->name) {
		free(e->pkcol);
		nm->oom = 1;
		return;
	}
	nm->last = nm->n++;
}

void hs_history_names_note(hs_history_names *nm, const char *tbl,
			   const char *pk, const char *key, const char *user)
{
	if (tbl)
		names_add(nm, 0, tbl, pk, key);
	if (user)
		names_add(nm, 1, user, NULL, NULL);
}

void hs_history_names_clear(hs_history_names *nm)
{
	for (size_t i = 0; i < nm->n; i++) {
		free(nm->v[i].name);
		free(nm->v[i].pkcol);
	}
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* nm's names into hubsync_names (those there already stay as they are). */
static int names_write(sqlite3 *db, const hs_history_names *nm)
{
	sqlite3_stmt *st;
	if (nm->oom)
		return SQLITE_NOMEM;
	if (!nm->n)
		return SQLITE_OK;
	int sr = hs_prepare(db, &st, "INSERT OR IGNORE INTO hubsync_names(kind,"
				     " name, pkcol) VALUES(?1, ?2, ?3)");
	for (size_t i = 0; sr == SQLITE_OK && i < nm->n; i++) {
		sqlite3_bind_int(st, 1, nm->v[i].kind);
		sqlite3_bind_text(st, 2, nm->v[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, nm->v[i].pkcol, -1, SQLITE_STATIC);
		sr = hs_step_done(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return sr;
}

/* ---- writing ----------------------------------------------------------- */

/* The INSERT of entries in the old shape into the compact table: from
 * source's rows (a table keyed by seq, walked in order), or from the
 * bound parameters ?1..?8 (source NULL). Entries whose names are not in
 * hubsync_names are left out (the caller writes the names first). */
static void insert_sql(hs_buf *b, const char *source, int replace)
{
	static const char *const cols[] = {"seq", "tbl", "key", "pk",
					   "op",  "user", "at", "changes"};
	char c[8][16];
	for (int i = 0; i < 8; i++) {
		if (source)
			snprintf(c[i], sizeof c[i], "h.%s", cols[i]);
		else
			snprintf(c[i], sizeof c[i], "?%d", i + 1);
	}
	hs_buf_printf(b, "INSERT %sINTO hubsync_history(seq, tbl, key, pk, op,"
			 " user, at, changes) SELECT %s, t.id, %s, hs_hist_pk(%s,"
			 " t.pkcol, %s), CASE %s WHEN 'insert' THEN 0 WHEN"
			 " 'update' THEN 1 WHEN 'delete' THEN 2 ELSE %s END, u.id,"
			 " hs_hist_at(%s), CASE WHEN %s = '{}' THEN NULL WHEN %s"
			 " IS NULL THEN X'' ELSE %s END FROM ",
		       replace ? "OR REPLACE " : "", c[0], c[2], c[3], c[2], c[4],
		       c[4], c[6], c[7], c[7], c[7]);
	if (source) /* walked in seq order, no sort */
		hs_buf_printf(b, "%s AS h CROSS JOIN ", source);
	hs_buf_printf(b, "hubsync_names t LEFT JOIN hubsync_names u ON u.kind = 1"
			 " AND u.name = %s WHERE t.kind = 0 AND t.name = %s AND"
			 " (%s IS NULL OR u.id IS NOT NULL)%s",
		       c[5], c[1], c[5], source ? " ORDER BY h.seq" : "");
}

int hs_history_copy(sqlite3 *db, const char *source, int replace,
		    const hs_history_names *nm)
{
	hs_buf b;
	int sr = names_write(db, nm);
	hs_buf_init(&b);
	insert_sql(&b, source, replace);
	if (sr == SQLITE_OK)
		sr = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
	hs_buf_free(&b);
	return sr;
}

/* Step the writer's insert with the entry bound; *added: rows written. */
static int step_entry(sqlite3_stmt *st, int64_t seq, const char *const txt[7],
		      int *added)
{
	sqlite3_bind_int64(st, 1, seq);
	for (int i = 0; i < 7; i++)
		sqlite3_bind_text(st, i + 2, txt[i], -1, SQLITE_STATIC);
	int sr = sqlite3_step(st);
	*added = sqlite3_changes(sqlite3_db_handle(st));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

int hs_history_writer_put(hs_history_writer *w, sqlite3 *db, int64_t seq,
			  const char *const txt[7])
{
	int sr = SQLITE_OK, added = 0;
	if (!w->put) {
		hs_buf b;
		hs_buf_init(&b);
		insert_sql(&b, NULL, 0);
		sr = b.oom ? SQLITE_NOMEM : hs_prepare(db, &w->put, b.s);
		hs_buf_free(&b);
		if (sr != SQLITE_OK)
			return sr;
	}
	sr = step_entry(w->put, seq, txt, &added);
	if (sr != SQLITE_OK || added)
		return sr;
	/* a table or user not named before */
	hs_history_names nm = {0};
	hs_history_names_note(&nm, txt[0], txt[2], txt[1], txt[4]);
	sr = names_write(db, &nm);
	hs_history_names_clear(&nm);
	if (sr == SQLITE_OK)
		sr = step_entry(w->put, seq, txt, &added);
	return sr == SQLITE_OK && !added ? SQLITE_CONSTRAINT_NOTNULL : sr;
}

void hs_history_writer_free(hs_history_writer *w)
{
	sqlite3_finalize(w->put);
	memset(w, 0, sizeof(*w));
}

int hs_history_prune(sqlite3 *db, int compact, int64_t cutoff_ms,
		     int64_t *max_seq)
{
	/* an integer time is below the cutoff's; a text one (a time not in
	 * hs_iso_time's form, or the old shape) compares as text */
	const char *older = compact ? "at < ?1 OR (at >= '' AND at < ?2)"
				    : "at < ?2";
	char iso[32];
	hs_buf b;
	int sr = SQLITE_OK;
	hs_iso_time(cutoff_ms, iso);
	hs_buf_init(&b);
	for (int pass = max_seq ? 0 : 1; sr == SQLITE_OK && pass < 2; pass++) {
		sqlite3_stmt *st;
		hs_buf_reset(&b);
		hs_buf_printf(&b, "%s FROM hubsync_history WHERE %s",
			      pass ? "DELETE" : "SELECT max(seq)", older);
		if (b.oom || (sr = hs_prepare(db, &st, b.s)) != SQLITE_OK)
			break;
		sqlite3_bind_int64(st, 1, cutoff_ms);
		sqlite3_bind_text(st, 2, iso, -1, SQLITE_STATIC);
		sr = sqlite3_step(st);
		if (pass == 0 && sr == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			*max_seq = sqlite3_column_int64(st, 0);
		sr = sr == SQLITE_ROW || sr == SQLITE_DONE ? SQLITE_OK : sr;
		sqlite3_finalize(st);
	}
	hs_buf_free(&b);
	return b.oom ? SQLITE_NOMEM : sr;
}

/* The renamed old table's entries into the compact one. */
static int copy_old(sqlite3 *db)
{
	hs_history_names nm = {0};
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "SELECT tbl, pk, key, user FROM"
				     " hubsync_history_old");
	while (st && (sr = sqlite3_step(st)) == SQLITE_ROW)
		hs_history_names_note(&nm, (const char *)sqlite3_column_text(st, 0),
				      (const char *)sqlite3_column_text(st, 1),
				      (const char *)sqlite3_column_text(st, 2),
				      (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	if (sr == SQLITE_DONE)
		sr = hs_history_copy(db, "hubsync_history_old", 0, &nm);
	hs_history_names_clear(&nm);
	return sr;
}

int hs_history_upgrade(sqlite3 *db)
{
	int compact = hs_history_compact(db), sr;
	if (compact < 0)
		return sqlite3_errcode(db);
	if (compact)
		return SQLITE_OK;
	int64_t there = hs_query_int(db, "SELECT count(*) FROM pragma_table_info("
					 "'hubsync_history')", 0, &sr);
	if (sr != SQLITE_OK)
		return sr;
	sr = hs_exec(db, "SAVEPOINT hs_history_upgrade");
	if (sr == SQLITE_OK && there)
		sr = hs_exec(db, "ALTER TABLE hubsync_history RENAME TO"
				 " hubsync_history_old");
	if (sr == SQLITE_OK)
		sr = hs_exec(db, HS_HISTORY_DDL);
	if (sr == SQLITE_OK && there)
		sr = copy_old(db);
	if (sr == SQLITE_OK && there)
		sr = hs_exec(db, "DROP TABLE hubsync_history_old");
	if (sr == SQLITE_OK)
		return hs_exec(db, "RELEASE hs_history_upgrade");
	hs_exec(db, "ROLLBACK TO hs_history_upgrade; RELEASE hs_history_upgrade");
	return sr;
}
