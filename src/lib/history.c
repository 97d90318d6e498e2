/*
 * history.c - the audit trail's compact format: hubsync_history in every
 * replica and in a file master of format 3 (store_file.c). Everything
 * outside this file sees an entry in its old shape, the 8 values
 * HS_HISTORY_COLS (seq, tbl, key, pk, op, user, at, changes, all text but
 * seq): `hubsync log`, the wire (h frames), the PostgreSQL store. That
 * shape cost ~95 bytes for an insert, mostly text every entry repeats
 * (docs/PERFORMANCE.md, "Fourth round: the audit trail's size"); the
 * compact one ~36.
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
 * so an insert event is its key text, a 6-byte time and a few bytes. A
 * table's pkcol is set when its first entry is written: a table whose
 * first key is not of a short form keeps every key JSON as text.
 *
 * Entries are written in one place, hs_history_writer (the master's merge,
 * a replica's pulled copy, the upgrade): it computes the short forms in C
 * and keeps the dictionary ids it used while a transaction lasts. A copy
 * of another compact trail (a format-3 file master's) comes as it is
 * stored with that trail's hubsync_names: the writer keeps the cells the
 * two trails store alike and translates the ids by name
 * (hs_history_writer_put_stored). They are
 * read through hs_history_source, a query that gives the old shape back
 * with two SQL functions of this file (hs_hist_iso, hs_hist_pkjson,
 * registered by hs_history_functions on each connection that reads a
 * trail: a replica's, a file master's, the migration's); a reader outside
 * hubsync (the sqlite3 shell) sees the stored form.
 *
 * A replica's old table is converted in place by its next sync
 * (hs_history_upgrade, in the sync's local transaction); until then it is
 * read as it is. Readers choose by hs_history_compact.
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

/* ---- reading: the SQL functions --------------------------------------- */

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

/* The key JSON of a short form into b: {"col":"key"} (quoted) or
 * {"col":key}. */
static void pk_json(hs_buf *b, const char *col, size_t lc, const char *key,
		    size_t lk, int quoted)
{
	const char *q = quoted ? "\"" : "";
	hs_buf_reset(b);
	hs_buf_putn(b, "{\"", 2);
	hs_buf_putn(b, col, lc);
	hs_buf_putn(b, "\":", 2);
	hs_buf_puts(b, q);
	hs_buf_putn(b, key, lk);
	hs_buf_puts(b, q);
	hs_buf_putn(b, "}", 1);
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
	pk_json(&s->b, col, (size_t)sqlite3_value_bytes(v[1]), key,
		(size_t)sqlite3_value_bytes(v[2]), type == SQLITE_NULL);
	if (s->b.oom)
		sqlite3_result_error_nomem(cx);
	else
		sqlite3_result_text(cx, s->b.s, (int)s->b.len, SQLITE_TRANSIENT);
}

static const sqlite3_module TRAIL_MODULE; /* a trail copied as a set */

int hs_history_functions(sqlite3 *db)
{
	static const struct {
		const char *name;
		int n;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{"hs_hist_iso", 1, fn_iso},
		{"hs_hist_pkjson", 3, fn_pkjson},
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
	if (sr == SQLITE_OK)
		sr = sqlite3_create_module(db, "hs_trail", &TRAIL_MODULE, NULL);
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

/* ---- the dictionary ------------------------------------------------------ */

int hs_history_names_load(sqlite3 *db, hs_history_names *out)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "SELECT id, kind, name, pkcol FROM"
				     " hubsync_names ORDER BY id");
	memset(out, 0, sizeof(*out));
	if (sr != SQLITE_OK)
		return sr;
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 8;
			struct hs_history_name *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				sr = SQLITE_NOMEM;
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		struct hs_history_name *e = &out->v[out->n++];
		const char *name = (const char *)sqlite3_column_text(st, 2);
		const char *pkcol = (const char *)sqlite3_column_text(st, 3);
		e->id = sqlite3_column_int64(st, 0);
		e->kind = sqlite3_column_int(st, 1);
		e->name = hs_strdup(name ? name : "");
		e->pkcol = pkcol ? hs_strdup(pkcol) : NULL;
		if (!e->name || (pkcol && !e->pkcol)) {
			sr = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

void hs_history_names_free(hs_history_names *nm)
{
	for (size_t i = 0; i < nm->n; i++) {
		free(nm->v[i].name);
		free(nm->v[i].pkcol);
	}
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* The entry of a loaded dictionary (by id) that the stored id v names, as
 * hs_history_source's join on hubsync_names.id finds it (an integer id
 * alone), or NULL. */
static const struct hs_history_name *names_get(const hs_history_names *nm,
					       sqlite3_value *v)
{
	if (sqlite3_value_type(v) != SQLITE_INTEGER)
		return NULL;
	int64_t id = sqlite3_value_int64(v);
	size_t lo = 0, hi = nm->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nm->v[mid].id == id)
			return &nm->v[mid];
		if (nm->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- writing ----------------------------------------------------------- */

/* The stored form of an entry's key JSON: NULL, 1, or its text. */
enum { PK_QUOTED, PK_INTEGER, PK_TEXT };

static int encode_pk(const char *pk, const char *col, const char *key)
{
	size_t n = strlen(pk);
	if (col && key && derives(pk, n, col, key, 1))
		return PK_QUOTED;
	if (col && key && derives(pk, n, col, key, 0))
		return PK_INTEGER;
	return PK_TEXT;
}

/* The column name of a key JSON of a short form ({"col":"key"} or
 * {"col":key}): malloc'd, or NULL (none, or out of memory). */
static char *pkcol_of(const char *pk, const char *key)
{
	const char *end;
	if (!pk || !key || strncmp(pk, "{\"", 2) != 0 ||
	    !(end = strchr(pk + 2, '"')))
		return NULL;
	size_t lc = (size_t)(end - pk - 2);
	char *col = malloc(lc + 1);
	if (!col)
		return NULL;
	memcpy(col, pk + 2, lc);
	col[lc] = 0;
	if (encode_pk(pk, col, key) != PK_TEXT)
		return col;
	free(col);
	return NULL;
}

/* The stored time of at: 1 and *ms when at is hs_iso_time's text of it. */
static int encode_at(hs_history_writer *w, const char *at, int64_t *ms)
{
	if (w->at_ok && strcmp(at, w->at_iso) == 0) {
		*ms = w->at_ms;
		return 1;
	}
	int64_t t = hs_parse_time(at);
	char iso[32];
	if (t < 0 || t >= ISO_MAX_MS)
		return 0;
	hs_iso_time(t, iso);
	if (strcmp(iso, at) != 0)
		return 0;
	memcpy(w->at_iso, iso, sizeof iso);
	w->at_ms = *ms = t;
	w->at_ok = 1;
	return 1;
}

/* The index in w->names of the entry (kind, name), or w->names.n when the
 * writer has not used it yet. */
static size_t name_find(hs_history_writer *w, int kind, const char *name)
{
	struct hs_history_names *nm = &w->names;
	if (nm->last < nm->n && nm->v[nm->last].kind == kind &&
	    strcmp(nm->v[nm->last].name, name) == 0)
		return nm->last;
	for (size_t i = 0; i < nm->n; i++)
		if (nm->v[i].kind == kind && strcmp(nm->v[i].name, name) == 0)
			return nm->last = i;
	return nm->n;
}

/* The hubsync_names entry (kind, name), which the writer has not used yet,
 * into w->names (its index in *e: a new entry may move the array), made
 * when new (a table's pkcol from pk and key). SQLite code. */
static int name_add(hs_history_writer *w, int kind, const char *name,
		    const char *pk, const char *key, size_t *e)
{
	struct hs_history_names *nm = &w->names;
	int sr = SQLITE_OK;
	if (!w->name_put &&
	    (sr = hs_prepare(w->db, &w->name_put, "INSERT OR IGNORE INTO"
				 " hubsync_names(kind, name, pkcol) VALUES(?1, ?2,"
				 " ?3)")) != SQLITE_OK)
		return sr;
	if (!w->name_get &&
	    (sr = hs_prepare(w->db, &w->name_get, "SELECT id, pkcol FROM"
				 " hubsync_names WHERE kind = ?1 AND name = ?2"))
		    != SQLITE_OK)
		return sr;
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 8;
		struct hs_history_name *v = realloc(nm->v, cap * sizeof(*v));
		if (!v)
			return SQLITE_NOMEM;
		nm->v = v;
		nm->cap = cap;
	}
	char *pkcol = kind == 0 ? pkcol_of(pk, key) : NULL;
	sqlite3_bind_int(w->name_put, 1, kind);
	sqlite3_bind_text(w->name_put, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(w->name_put, 3, pkcol, -1, SQLITE_STATIC);
	sr = hs_step_done(w->name_put);
	sqlite3_reset(w->name_put);
	free(pkcol);
	if (sr != SQLITE_OK)
		return sr;
	struct hs_history_name *n = &nm->v[nm->n];
	sqlite3_bind_int(w->name_get, 1, kind);
	sqlite3_bind_text(w->name_get, 2, name, -1, SQLITE_STATIC);
	sr = sqlite3_step(w->name_get);
	if (sr == SQLITE_ROW) {
		n->kind = kind;
		n->id = sqlite3_column_int64(w->name_get, 0);
		n->name = hs_strdup(name);
		n->pkcol = hs_strdup((const char *)sqlite3_column_text(w->name_get, 1));
		sr = n->name && (n->pkcol || sqlite3_column_type(w->name_get, 1) ==
						     SQLITE_NULL)
			     ? SQLITE_OK : SQLITE_NOMEM;
		if (sr == SQLITE_OK)
			*e = nm->last = nm->n++;
		else {
			free(n->name);
			free(n->pkcol);
		}
	} else if (sr == SQLITE_DONE) {
		sr = SQLITE_CONSTRAINT_NOTNULL; /* a NULL name */
	}
	sqlite3_reset(w->name_get);
	return sr;
}

/* The index in w->names of the hubsync_names entry (kind, name) into *e,
 * made when new (name_add). SQLite code. */
static int name_id(hs_history_writer *w, int kind, const char *name,
		   const char *pk, const char *key, size_t *e)
{
	if ((*e = name_find(w, kind, name)) < w->names.n)
		return SQLITE_OK;
	return name_add(w, kind, name, pk, key, e);
}

/* The stored cells of an entry's values in the old shape, given as text
 * (NULL: NULL); col is the table's pkcol in this trail. */
static hs_history_cell encode_pk_cell(const char *pk, const char *col,
				      const char *key)
{
	if (!pk)
		return (hs_history_cell){SQLITE_BLOB, 0, NULL};
	switch (encode_pk(pk, col, key)) {
	case PK_QUOTED:
		return (hs_history_cell){SQLITE_NULL, 0, NULL};
	case PK_INTEGER:
		return (hs_history_cell){SQLITE_INTEGER, 1, NULL};
	default:
		return (hs_history_cell){SQLITE_TEXT, 0, pk};
	}
}

static hs_history_cell encode_op(const char *op)
{
	static const char *const OPS[] = {"insert", "update", "delete"};
	for (int i = 0; op && i < 3; i++)
		if (strcmp(op, OPS[i]) == 0)
			return (hs_history_cell){SQLITE_INTEGER, i, NULL};
	return (hs_history_cell){op ? SQLITE_TEXT : SQLITE_NULL, 0, op};
}

static hs_history_cell encode_at_cell(hs_history_writer *w, const char *at)
{
	int64_t ms;
	if (at && encode_at(w, at, &ms))
		return (hs_history_cell){SQLITE_INTEGER, ms, NULL};
	return (hs_history_cell){at ? SQLITE_TEXT : SQLITE_NULL, 0, at};
}

static hs_history_cell encode_changes(const char *changes)
{
	if (!changes)
		return (hs_history_cell){SQLITE_BLOB, 0, NULL};
	if (strcmp(changes, "{}") == 0)
		return (hs_history_cell){SQLITE_NULL, 0, NULL};
	return (hs_history_cell){SQLITE_TEXT, 0, changes};
}

int hs_history_writer_encode(hs_history_writer *w, sqlite3 *db,
			     const char *const txt[7], hs_history_cell out[7])
{
	const char *tbl = txt[0], *key = txt[1], *pk = txt[2], *user = txt[4];
	size_t ti = 0, ui = 0;
	int sr;
	w->db = db;
	if (!tbl)
		return SQLITE_CONSTRAINT_NOTNULL;
	if ((sr = name_id(w, 0, tbl, pk, key, &ti)) != SQLITE_OK ||
	    (user && (sr = name_id(w, 1, user, NULL, NULL, &ui)) != SQLITE_OK))
		return sr;
	out[0] = (hs_history_cell){SQLITE_INTEGER, w->names.v[ti].id, NULL};
	out[1] = (hs_history_cell){key ? SQLITE_TEXT : SQLITE_NULL, 0, key};
	out[2] = encode_pk_cell(pk, w->names.v[ti].pkcol, key);
	out[3] = encode_op(txt[3]);
	out[4] = user ? (hs_history_cell){SQLITE_INTEGER, w->names.v[ui].id, NULL}
		      : (hs_history_cell){SQLITE_NULL, 0, NULL};
	out[5] = encode_at_cell(w, txt[5]);
	out[6] = encode_changes(txt[6]);
	return SQLITE_OK;
}

void hs_history_cell_result(sqlite3_context *cx, const hs_history_cell *c)
{
	switch (c->type) {
	case SQLITE_INTEGER:
		sqlite3_result_int64(cx, c->i);
		break;
	case SQLITE_TEXT:
		sqlite3_result_text(cx, c->s, -1, SQLITE_STATIC);
		break;
	case SQLITE_BLOB:
		sqlite3_result_zeroblob(cx, 0);
		break;
	default:
		sqlite3_result_null(cx);
	}
}

/* Bind cell c to parameter i of q. */
static void bind_cell(sqlite3_stmt *q, int i, const hs_history_cell *c)
{
	switch (c->type) {
	case SQLITE_INTEGER:
		sqlite3_bind_int64(q, i, c->i);
		break;
	case SQLITE_TEXT:
		sqlite3_bind_text(q, i, c->s, -1, SQLITE_STATIC);
		break;
	case SQLITE_BLOB:
		sqlite3_bind_zeroblob(q, i, 0);
		break;
	default:
		sqlite3_bind_null(q, i);
	}
}

/* *q: the INSERT of rows entries (prepared once). SQLite code. */
static int prepare_put(hs_history_writer *w, sqlite3 *db, sqlite3_stmt **q,
		       size_t rows)
{
	hs_buf b;
	int sr;
	if (*q)
		return SQLITE_OK;
	hs_buf_init(&b);
	hs_buf_printf(&b, "INSERT%s INTO hubsync_history(seq, tbl, key, pk, op,"
			  " user, at, changes) VALUES",
		      w->replace ? " OR REPLACE" : "");
	for (size_t r = 0; r < rows; r++)
		hs_buf_puts(&b, r ? ", (?, ?, ?, ?, ?, ?, ?, ?)"
				  : " (?, ?, ?, ?, ?, ?, ?, ?)");
	sr = b.oom ? SQLITE_NOMEM : hs_prepare(db, q, b.s);
	hs_buf_free(&b);
	return sr;
}

/* Bind entry seq of cells to the 8 parameters of q from first. */
static void bind_entry(sqlite3_stmt *q, int first, int64_t seq,
		       const hs_history_cell cell[7])
{
	sqlite3_bind_int64(q, first, seq);
	for (int i = 0; i < 7; i++)
		bind_cell(q, first + 1 + i, &cell[i]);
}

/* Step the INSERT q. One that failed is reset when the writer next
 * writes (failed_reset), not at once: its reset tells the connection the
 * failure's message again, after the caller's own statements (a read it
 * ends) have cleared it. SQLite code. */
static void failed_reset(hs_history_writer *w)
{
	if (w->failed)
		sqlite3_reset(w->failed);
	w->failed = NULL;
}

static int put_step(hs_history_writer *w, sqlite3_stmt *q)
{
	int sr = hs_step_done(q);
	if (sr == SQLITE_OK)
		sqlite3_reset(q);
	else
		w->failed = q;
	return sr;
}

/* Insert the entry seq of stored cells cell, after those kept. SQLite
 * code. */
static int put_cells(hs_history_writer *w, sqlite3 *db, int64_t seq,
		     const hs_history_cell cell[7])
{
	int sr = hs_history_writer_flush(w);
	if (sr == SQLITE_OK)
		sr = prepare_put(w, db, &w->put, 1);
	if (sr != SQLITE_OK)
		return sr;
	failed_reset(w);
	bind_entry(w->put, 1, seq, cell);
	return put_step(w, w->put);
}

int hs_history_writer_flush(hs_history_writer *w)
{
	hs_history_cell (*cell)[7] = w->pending_cell;
	size_t n = w->pending;
	int sr = SQLITE_OK;
	if (!n)
		return SQLITE_OK;
	w->pending = 0;
	if (w->text.oom) {
		sr = SQLITE_NOMEM;
		goto done;
	}
	for (size_t r = 0; r < n; r++)
		for (int i = 0; i < 7; i++)
			if (cell[r][i].type == SQLITE_TEXT)
				cell[r][i].s = w->text.s + cell[r][i].i;
	if (n == HS_HISTORY_BATCH &&
	    (sr = prepare_put(w, w->db, &w->put_batch, n)) == SQLITE_OK) {
		failed_reset(w);
		for (size_t r = 0; r < n; r++)
			bind_entry(w->put_batch, (int)r * 8 + 1, w->pending_seq[r],
				   cell[r]);
		sr = put_step(w, w->put_batch);
	}
	for (size_t r = 0; n < HS_HISTORY_BATCH && sr == SQLITE_OK && r < n; r++)
		sr = put_cells(w, w->db, w->pending_seq[r], cell[r]);
done:
	hs_buf_reset(&w->text);
	return sr;
}

/* Keep the entry seq of cells (their texts copied) for one INSERT with
 * the next ones. SQLite code. */
static int keep_cells(hs_history_writer *w, int64_t seq,
		      const hs_history_cell cell[7])
{
	hs_history_cell *kept = w->pending_cell[w->pending];
	w->pending_seq[w->pending] = seq;
	for (int i = 0; i < 7; i++) {
		kept[i] = cell[i];
		if (cell[i].type != SQLITE_TEXT)
			continue;
		kept[i].i = (int64_t)w->text.len;
		kept[i].s = NULL;
		hs_buf_putn(&w->text, cell[i].s, strlen(cell[i].s) + 1);
	}
	return ++w->pending == HS_HISTORY_BATCH ? hs_history_writer_flush(w)
						: SQLITE_OK;
}

int hs_history_writer_put(hs_history_writer *w, sqlite3 *db, int64_t seq,
			  const char *const txt[7])
{
	hs_history_cell cell[7];
	int sr = hs_history_writer_encode(w, db, txt, cell);
	return sr == SQLITE_OK ? put_cells(w, db, seq, cell) : sr;
}

int hs_history_writer_put_values(hs_history_writer *w, sqlite3 *db,
				 sqlite3_value **v)
{
	const char *txt[7];
	for (int i = 0; i < 7; i++)
		txt[i] = (const char *)sqlite3_value_text(v[i + 1]);
	return hs_history_writer_put(w, db, sqlite3_value_int64(v[0]), txt);
}

/* The key JSON's text that hs_hist_pkjson reads back from the stored pk v
 * of an entry with key, col the pkcol of its table where it is stored:
 * NULL for NULL, else borrowed from v or w->pk. */
static const char *stored_pk_text(hs_history_writer *w, sqlite3_value *v,
				   const char *col, const char *key)
{
	int type = sqlite3_value_type(v);
	if (type == SQLITE_BLOB && sqlite3_value_bytes(v) == 0)
		return NULL;
	if (type != SQLITE_NULL && type != SQLITE_INTEGER)
		return (const char *)sqlite3_value_text(v);
	if (!col || !key)
		return NULL;
	pk_json(&w->pk, col, strlen(col), key, strlen(key), type == SQLITE_NULL);
	return w->pk.oom ? NULL : w->pk.s;
}

/*
 * The stored cells of an entry of another compact trail are this trail's
 * as they are where both agree (the writer's own short forms, which
 * hs_history_writer_encode would make again from their text): an op of
 * 0-2, a time of 1970-9999, changes NULL or X'', a short-form key JSON when
 * the table has the same pkcol here. Any other cell is read as
 * hs_history_source reads it there and encoded from that text; the ids
 * are this trail's ids of the same names.
 *
 * stored_cells: the cells of the entry v (its 8 stored values) into cell,
 * their texts borrowed from v, w->pk or iso, and *made = 1; or *made = 0
 * when from lacks its table id (no entry). A name new to this trail is
 * made (a write to hubsync_names). SQLite code.
 */
static int stored_cells(hs_history_writer *w, const hs_history_names *from,
			sqlite3_value **v, hs_history_cell cell[7],
			char iso[32], int *made)
{
	const struct hs_history_name *t = names_get(from, v[1]);
	const struct hs_history_name *u = names_get(from, v[5]);
	const char *key = (const char *)sqlite3_value_text(v[2]);
	size_t ti, ui;
	int sr = SQLITE_OK, type;
	*made = 0;
	if (!t)
		return SQLITE_OK;
	if ((ti = name_find(w, 0, t->name)) == w->names.n) {
		const char *pk = stored_pk_text(w, v[3], t->pkcol, key);
		if (w->pk.oom)
			return SQLITE_NOMEM;
		sr = name_add(w, 0, t->name, pk, key, &ti);
	}
	if (sr == SQLITE_OK && u)
		sr = name_id(w, 1, u->name, NULL, NULL, &ui);
	if (sr != SQLITE_OK)
		return sr;
	*made = 1;
	const char *col = w->names.v[ti].pkcol;
	cell[0] = (hs_history_cell){SQLITE_INTEGER, w->names.v[ti].id, NULL};
	cell[1] = (hs_history_cell){key ? SQLITE_TEXT : SQLITE_NULL, 0, key};
	type = sqlite3_value_type(v[3]);
	if ((type == SQLITE_NULL || type == SQLITE_INTEGER) && key && col &&
	    t->pkcol && strcmp(col, t->pkcol) == 0)
		cell[2] = type == SQLITE_NULL
				  ? (hs_history_cell){SQLITE_NULL, 0, NULL}
				  : (hs_history_cell){SQLITE_INTEGER, 1, NULL};
	else {
		const char *pk = stored_pk_text(w, v[3], t->pkcol, key);
		if (w->pk.oom)
			return SQLITE_NOMEM;
		cell[2] = encode_pk_cell(pk, col, key);
	}
	/* hs_history_source's CASE compares the op as a number */
	type = sqlite3_value_type(v[4]);
	double op = type == SQLITE_INTEGER || type == SQLITE_FLOAT
			    ? sqlite3_value_double(v[4]) : -1;
	if (op == 0 || op == 1 || op == 2)
		cell[3] = (hs_history_cell){SQLITE_INTEGER, (int64_t)op, NULL};
	else
		cell[3] = encode_op((const char *)sqlite3_value_text(v[4]));
	cell[4] = u ? (hs_history_cell){SQLITE_INTEGER, w->names.v[ui].id, NULL}
		    : (hs_history_cell){SQLITE_NULL, 0, NULL};
	int64_t at = sqlite3_value_type(v[6]) == SQLITE_INTEGER
			     ? sqlite3_value_int64(v[6]) : -1;
	if (at >= 0 && at < ISO_MAX_MS) {
		cell[5] = (hs_history_cell){SQLITE_INTEGER, at, NULL};
	} else if (sqlite3_value_type(v[6]) == SQLITE_INTEGER) {
		hs_iso_time(at, iso); /* read back as its text */
		cell[5] = encode_at_cell(w, iso);
	} else {
		cell[5] = encode_at_cell(w, (const char *)sqlite3_value_text(v[6]));
	}
	type = sqlite3_value_type(v[7]);
	if (type == SQLITE_NULL)
		cell[6] = (hs_history_cell){SQLITE_NULL, 0, NULL};
	else if (type == SQLITE_BLOB && sqlite3_value_bytes(v[7]) == 0)
		cell[6] = (hs_history_cell){SQLITE_BLOB, 0, NULL};
	else
		cell[6] = encode_changes((const char *)sqlite3_value_text(v[7]));
	return SQLITE_OK;
}

int hs_history_writer_put_stored(hs_history_writer *w, sqlite3 *db,
				 const hs_history_names *from,
				 sqlite3_value **v)
{
	hs_history_cell cell[7];
	char iso[32];
	int made;
	w->db = db;
	int sr = stored_cells(w, from, v, cell, iso, &made);
	if (sr != SQLITE_OK || !made)
		return sr;
	return keep_cells(w, sqlite3_value_int64(v[0]), cell);
}

/* ---- a trail copied as a set ------------------------------------------ */

/*
 * hs_history_writer_put_set writes the entries next hands with one
 * INSERT ... SELECT from hs_trail, an eponymous virtual table whose rows
 * are the entries' stored cells (stored_cells, as put_stored makes them)
 * and whose argument is the copy (a pointer of type "hs_trail" bound to
 * the statement): no value is copied, no entry bound, no statement stepped
 * per entry on this side. A name new to this trail is made while the
 * INSERT runs (hubsync_names, another table than the one it writes), at
 * the same entry as put_stored would make it: the same ids, the same
 * stored values.
 */
typedef struct trail_copy {
	hs_history_writer *w;
	const hs_history_names *from;
	hs_history_next next;
	void *it;
	int next_sr; /* next's failure */
} trail_copy;

typedef struct trail_cursor {
	sqlite3_vtab_cursor base;
	trail_copy *copy; /* NULL: at the end */
	int64_t seq;
	hs_history_cell cell[7];
	char iso[32];
} trail_cursor;

enum { TRAIL_COPY_ARG = 8 }; /* the hidden column after seq and 7 cells */

static int trail_connect(sqlite3 *db, void *aux, int argc,
			 const char *const *argv, sqlite3_vtab **out, char **err)
{
	sqlite3_vtab *v;
	int sr = sqlite3_declare_vtab(db, "CREATE TABLE x(seq, tbl, key, pk,"
					  " op, user, at, changes, copy HIDDEN)");
	(void)aux, (void)argc, (void)argv, (void)err;
	if (sr != SQLITE_OK)
		return sr;
	if (!(v = sqlite3_malloc(sizeof(*v))))
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	*out = v;
	return SQLITE_OK;
}

static int trail_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

/* Rows only with the copy given (hs_trail(?)): else none. */
static int trail_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	(void)v;
	info->estimatedCost = 1e12;
	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		if (c->iColumn != TRAIL_COPY_ARG ||
		    c->op != SQLITE_INDEX_CONSTRAINT_EQ || !c->usable)
			continue;
		info->aConstraintUsage[i].argvIndex = 1;
		info->aConstraintUsage[i].omit = 1;
		info->idxNum = 1;
		info->estimatedCost = 1;
		break;
	}
	return SQLITE_OK;
}

static int trail_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	trail_cursor *c = sqlite3_malloc(sizeof(*c));
	(void)v;
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int trail_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

/* The cursor on the next entry with cells, or at the end. A failure of
 * next's (the other trail's: an I/O error of a master on a share) is kept
 * and the INSERT fails with SQLITE_ERROR: given to SQLite as it came, an
 * SQLITE_IOERR would roll back this connection's whole transaction, not
 * only the INSERT. */
static int trail_advance(trail_cursor *c)
{
	trail_copy *x = c->copy;
	sqlite3_value *v[8];
	int sr, made;
	if (!x)
		return SQLITE_OK;
	while ((sr = x->next(x->it, v)) == SQLITE_ROW) {
		sr = stored_cells(x->w, x->from, v, c->cell, c->iso, &made);
		if (sr != SQLITE_OK)
			return sr;
		if (made) {
			c->seq = sqlite3_value_int64(v[0]);
			return SQLITE_OK;
		}
	}
	c->copy = NULL;
	if (sr == SQLITE_DONE)
		return SQLITE_OK;
	x->next_sr = sr;
	return SQLITE_ERROR;
}

static int trail_filter(sqlite3_vtab_cursor *cur, int idx, const char *s,
			int argc, sqlite3_value **argv)
{
	trail_cursor *c = (trail_cursor *)cur;
	(void)s;
	c->copy = idx == 1 && argc == 1 ? sqlite3_value_pointer(argv[0], "hs_trail")
				      : NULL;
	return trail_advance(c);
}

static int trail_next(sqlite3_vtab_cursor *cur)
{
	return trail_advance((trail_cursor *)cur);
}

static int trail_eof(sqlite3_vtab_cursor *cur)
{
	return !((trail_cursor *)cur)->copy;
}

static int trail_column(sqlite3_vtab_cursor *cur, sqlite3_context *cx, int col)
{
	trail_cursor *c = (trail_cursor *)cur;
	if (col == 0)
		sqlite3_result_int64(cx, c->seq);
	else if (col < TRAIL_COPY_ARG)
		hs_history_cell_result(cx, &c->cell[col - 1]);
	else
		sqlite3_result_null(cx);
	return SQLITE_OK;
}

static int trail_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
	*out = ((trail_cursor *)cur)->seq;
	return SQLITE_OK;
}

/* Eponymous only (no xCreate): hs_trail exists on every connection
 * hs_history_functions registers it on, as a table-valued function. */
static const sqlite3_module TRAIL_MODULE = {
	.xConnect = trail_connect,
	.xBestIndex = trail_best_index,
	.xDisconnect = trail_disconnect,
	.xOpen = trail_open,
	.xClose = trail_close,
	.xFilter = trail_filter,
	.xNext = trail_next,
	.xEof = trail_eof,
	.xColumn = trail_column,
	.xRowid = trail_rowid,
};

int hs_history_writer_put_set(hs_history_writer *w, sqlite3 *db,
			      const hs_history_names *from,
			      hs_history_next next, void *it)
{
	trail_copy x = {.w = w, .from = from, .next = next, .it = it};
	sqlite3_stmt *q = NULL;
	w->db = db;
	int sr = hs_history_writer_flush(w);
	if (sr == SQLITE_OK)
		sr = hs_prepare(db, &q, w->replace
					? "INSERT OR REPLACE INTO hubsync_history"
					  " SELECT " HS_HISTORY_COLS " FROM hs_trail(?1)"
					: "INSERT INTO hubsync_history SELECT "
					  HS_HISTORY_COLS " FROM hs_trail(?1)");
	if (sr == SQLITE_OK) {
		failed_reset(w);
		sqlite3_bind_pointer(q, 1, &x, "hs_trail", NULL);
		sr = hs_step_done(q);
	}
	sqlite3_finalize(q);
	return x.next_sr != SQLITE_OK ? x.next_sr : sr;
}

int hs_history_step(void *stmt, sqlite3_value **v)
{
	int sr = sqlite3_step(stmt);
	for (int i = 0; sr == SQLITE_ROW && i < 8; i++)
		v[i] = sqlite3_column_value(stmt, i);
	return sr;
}

void hs_history_writer_reset(hs_history_writer *w)
{
	struct hs_history_names *nm = &w->names;
	for (size_t i = 0; i < nm->n; i++) {
		free(nm->v[i].name);
		free(nm->v[i].pkcol);
	}
	nm->n = nm->last = 0;
	w->pending = 0;
	hs_buf_reset(&w->text);
}

void hs_history_writer_free(hs_history_writer *w)
{
	failed_reset(w);
	hs_history_names_free(&w->names);
	hs_buf_free(&w->pk);
	hs_buf_free(&w->text);
	sqlite3_finalize(w->put);
	sqlite3_finalize(w->put_batch);
	sqlite3_finalize(w->name_put);
	sqlite3_finalize(w->name_get);
	memset(w, 0, sizeof(*w));
}

int hs_history_copy(hs_history_writer *w, sqlite3 *db, const char *source,
		    const hs_history_names *from)
{
	sqlite3_stmt *st = NULL;
	sqlite3_value *v[8];
	hs_buf q;
	int sr;
	hs_buf_init(&q);
	hs_buf_printf(&q, "SELECT " HS_HISTORY_COLS " FROM %s", source);
	sr = q.oom ? SQLITE_NOMEM : hs_prepare(db, &st, q.s);
	hs_buf_free(&q);
	if (sr == SQLITE_OK && from)
		sr = hs_history_writer_put_set(w, db, from, hs_history_step, st);
	while (sr == SQLITE_OK && !from &&
	       (sr = hs_history_step(st, v)) == SQLITE_ROW)
		sr = hs_history_writer_put_values(w, db, v);
	if (sr == SQLITE_DONE)
		sr = hs_history_writer_flush(w);
	sqlite3_finalize(st);
	failed_reset(w); /* the failure's message, after st's end */
	return sr;
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

int hs_history_upgrade(sqlite3 *db)
{
	hs_history_writer w = {0};
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
		sr = hs_history_copy(&w, db, "hubsync_history_old", NULL);
	hs_history_writer_free(&w);
	if (sr == SQLITE_OK && there)
		sr = hs_exec(db, "DROP TABLE hubsync_history_old");
	if (sr == SQLITE_OK)
		return hs_exec(db, "RELEASE hs_history_upgrade");
	hs_exec(db, "ROLLBACK TO hs_history_upgrade; RELEASE hs_history_upgrade");
	return sr;
}
