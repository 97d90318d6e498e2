/*
 * tracking.c - which of the app's tables a replica syncs, and following
 * the app's schema as it changes (see tracking.h for the metadata).
 *
 * What hubsync can follow by itself: a column added (ALTER TABLE ADD
 * COLUMN, or a table rebuilt with more columns), a new table, a dropped
 * table, the app's own triggers created or dropped. What it cannot: a
 * column renamed or dropped (SQLite refuses DROP COLUMN of a column that
 * hubsync's triggers read; RENAME COLUMN rewrites them): the table is left
 * out of syncing with a message saying to untrack and track it again.
 */
#include "tracking.h"

#include "capture.h"
#include "stamp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "platform.h"

int hs_tracking_can_track(sqlite3 *db, const char *name, const char **why)
{
	sqlite3_stmt *st;
	const char *type = NULL;
	int ok = 0;
	*why = "no such table";
	if (hs_prepare(db, &st, "SELECT type FROM pragma_table_list WHERE"
				" schema = 'main' AND name = ?1") != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		type = (const char *)sqlite3_column_text(st, 0);
	if (!type)
		;
	else if (strcmp(type, "virtual") == 0)
		*why = "a virtual table (FTS, R*Tree...): each PC builds its own "
		       "from the synced tables";
	else if (strcmp(type, "shadow") == 0)
		*why = "part of a virtual table";
	else if (strcmp(type, "table") != 0)
		*why = "not a table";
	else if (!hs_table_has_pk(db, name))
		*why = "no primary key: hubsync needs one to match rows between "
		       "PCs";
	else
		ok = 1;
	sqlite3_finalize(st);
	return ok;
}

/* ---- tables the app's triggers write -------------------------------- */

/* The next token of SQL text at *p into tok (identifiers unquoted,
 * strings skipped, one character for punctuation); 0 at the end. */
static int next_token(const char **p, char *tok, size_t n)
{
	const char *s = *p;
	size_t k = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (s[0] == '-' && s[1] == '-') {
			while (*s && *s != '\n')
				s++;
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			s = e ? e + 2 : s + strlen(s);
		} else if (*s == '\'') {
			for (s++; *s && !(*s == '\'' && s[1] != '\''); s++)
				if (*s == '\'')
					s++;
			if (*s)
				s++;
		} else {
			break;
		}
	}
	if (!*s)
		return 0;
	if (*s == '"' || *s == '`' || *s == '[') {
		char close = *s == '[' ? ']' : *s;
		for (s++; *s && !(*s == close && s[1] != close); s++) {
			if (*s == close)
				s++;
			if (k + 1 < n)
				tok[k++] = *s;
		}
		if (*s)
			s++;
	} else if (*s == '_' || (unsigned char)*s >= 0x80 ||
		   (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		   (*s >= '0' && *s <= '9')) {
		while (*s == '_' || (unsigned char)*s >= 0x80 ||
		       (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		       (*s >= '0' && *s <= '9') || *s == '$') {
			if (k + 1 < n)
				tok[k++] = *s;
			s++;
		}
	} else {
		tok[k++] = *s++;
	}
	tok[k] = 0;
	*p = s;
	return 1;
}

/* The table a write statement starting at *p names, after its keyword
 * (INSERT [OR x] INTO t, REPLACE INTO t, UPDATE [OR x] t), into tok. */
static int write_target(const char **p, int update, char *tok, size_t n)
{
	if (!next_token(p, tok, n))
		return 0;
	if (strcasecmp(tok, "OR") == 0 && (!next_token(p, tok, n) ||
					   !next_token(p, tok, n)))
		return 0;
	if (!update) {
		if (strcasecmp(tok, "INTO") != 0 || !next_token(p, tok, n))
			return 0;
	}
	const char *save = *p;
	char dot[4];
	if (next_token(p, dot, sizeof dot) && strcmp(dot, ".") == 0)
		return next_token(p, tok, n); /* schema.table */
	*p = save;
	return 1;
}

int hs_tracking_fed_by(sqlite3 *db, const char *name, char *trigger,
		       size_t n)
{
	sqlite3_stmt *st;
	int fed = 0;
	if (hs_prepare(db, &st, "SELECT name, tbl_name, sql FROM sqlite_master"
				" WHERE type = 'trigger' AND name NOT LIKE"
				" 'hubsync\\_%' ESCAPE '\\' AND tbl_name <> ?1"
				" COLLATE NOCASE") != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (!fed && sqlite3_step(st) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 2);
		char tok[256];
		int body = 0;
		while (!fed && p && next_token(&p, tok, sizeof tok)) {
			if (!body) { /* the head: AFTER UPDATE OF ... ON t */
				body = strcasecmp(tok, "BEGIN") == 0;
				continue;
			}
			if (strcasecmp(tok, "INSERT") != 0 &&
			    strcasecmp(tok, "REPLACE") != 0 &&
			    strcasecmp(tok, "UPDATE") != 0)
				continue;
			int update = strcasecmp(tok, "UPDATE") == 0;
			if (write_target(&p, update, tok, sizeof tok) &&
			    strcasecmp(tok, name) == 0) {
				fed = 1;
				snprintf(trigger, n, "%s on %s",
					 sqlite3_column_text(st, 0),
					 sqlite3_column_text(st, 1));
			}
		}
	}
	sqlite3_finalize(st);
	return fed;
}

/* 1 if name is hubsync's own (metadata, or the sync_log it created). */
static int ours(sqlite3 *db, const char *name)
{
	return strncmp(name, "hubsync_", 8) == 0 ||
	       strncmp(name, "sqlite_", 7) == 0 ||
	       (strcmp(name, "sync_log") == 0 &&
		hs_meta_get_int(db, "own_sync_log", 1));
}

/* The JSON array of t's column names. malloc'd or NULL. */
static char *cols_json(const hs_table *t)
{
	json_t *a = json_array();
	for (int i = 0; a && i < t->ncols; i++)
		json_array_append_new(a, json_string(t->cols[i]));
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

/* hubsync_tables id of name, inserting it (*is_new) when missing. */
static int table_id(sqlite3 *db, const char *name, int *id, int *is_new)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "INSERT INTO hubsync_tables(name) VALUES(?1)"
				     " ON CONFLICT(name) DO NOTHING");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sr = hs_step_done(st);
	*is_new = sqlite3_changes(db) > 0;
	sqlite3_finalize(st);
	if (sr != SQLITE_OK)
		return sr;
	if ((sr = hs_prepare(db, &st, "SELECT id FROM hubsync_tables WHERE"
				      " name = ?1")) != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sr = sqlite3_step(st);
	*id = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return sr == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
}

/* Record t's columns as the ones hubsync follows. */
static int record_cols(sqlite3 *db, const hs_table *t)
{
	sqlite3_stmt *st;
	char *cols = cols_json(t);
	int sr = cols ? hs_prepare(db, &st, "UPDATE hubsync_tables SET cols = ?1"
					    " WHERE id = ?2")
		      : SQLITE_NOMEM;
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, cols, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, t->id);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
	}
	free(cols);
	return sr;
}

/* What hubsync_untracked remembers of name: *found, the watermark and
 * time it stopped, the columns --stamp had added (malloc'd). */
static int untracked_row(sqlite3 *db, const char *name, int *found,
			 int64_t *pulled, int64_t *at, char **added)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "SELECT pulled, at, added FROM"
				     " hubsync_untracked WHERE name = ?1");
	*found = 0;
	*added = NULL;
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sr = sqlite3_step(st);
	if (sr == SQLITE_ROW) {
		*found = 1;
		*pulled = sqlite3_column_int64(st, 0);
		*at = sqlite3_column_int64(st, 1);
		*added = hs_strdup((const char *)sqlite3_column_text(st, 2));
		sr = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
}

int hs_tracking_track(hs_replica *r, const char *name, int stamp, int guard,
		      hs_buf *err)
{
	hs_table t;
	const char *why;
	char *added = NULL;
	int64_t pulled = 0, at = 0;
	int id, is_new, was, sr, rc = HS_OK;

	memset(&t, 0, sizeof(t));
	if (!hs_tracking_can_track(r->db, name, &why)) {
		rc = hs_errf(err, HS_EINVALID, "table \"%s\" cannot be synced: "
			     "%s%s", name, why, strcmp(why, "no such table") == 0
						  ? " (check the name)"
						  : "; leave it out with --tables");
		goto cleanup;
	}
	sr = untracked_row(r->db, name, &was, &pulled, &at, &added);
	if (sr == SQLITE_OK)
		sr = table_id(r->db, name, &id, &is_new);
	if (sr == SQLITE_OK && stamp)
		sr = hs_stamp_setup(r->db, name, id);
	if (sr == SQLITE_OK && added)
		sr = hs_exec_text(r->db, "UPDATE hubsync_tables SET added = ?1"
					 " WHERE name = ?2 AND added IS NULL",
				  added, name);
	if (sr != SQLITE_OK)
		goto sqlfail;
	if (hs_table_load(r->db, name, &t, err) != HS_OK) {
		rc = HS_EINVALID; /* err says why */
		goto cleanup;
	}
	t.id = id;
	sr = record_cols(r->db, &t);
	if (sr == SQLITE_OK)
		sr = hs_capture_install(r->db, &t, guard);
	if (sr == SQLITE_OK && is_new) {
		/* A table tracked again starts from where it stopped: its rows
		 * as a writer who had pulled up to then, and a pull from then. */
		int64_t base = was ? pulled : 0;
		sr = hs_capture_queue(r->db, &t, HS_OP_EXISTING, -1,
				      was ? at : hs_now_ms(r), base, NULL);
		if (sr == SQLITE_OK && was) {
			int64_t v[2] = {id, pulled};
			sr = hs_exec_ints(r->db, "INSERT INTO hubsync_catchup(tbl,"
						 " since) VALUES(?1, ?2)", 2, v);
		}
	}
	if (sr == SQLITE_OK && was)
		sr = hs_exec_text(r->db, "DELETE FROM hubsync_untracked WHERE"
					 " name = ?1 AND ?2 IS NULL", name, NULL);
	if (sr == SQLITE_OK)
		goto cleanup;
sqlfail:
	rc = hs_replica_err_sqlite(r, err, sr, "cannot set up tracking");
cleanup:
	hs_table_clear(&t);
	free(added);
	return rc;
}

/* Stop tracking the table of hubsync_tables id (name): its triggers,
 * pending changes and catch-ups go; with remember, it is listed as
 * untracked by the user (with the watermark, for `track`). */
static int untrack_one(hs_replica *r, int id, const char *name, int remember)
{
	int64_t v[1] = {id};
	int sr = hs_capture_remove(r->db, name);
	if (sr == SQLITE_OK && remember) {
		sqlite3_stmt *st;
		/* from the earliest pull the table is owed (a sync that
		 * left it out) */
		sr = hs_prepare(r->db, &st, "INSERT OR REPLACE INTO"
					    " hubsync_untracked(name, pulled, at,"
					    " added) SELECT name, min((SELECT pulled"
					    " FROM hubsync_ctl), coalesce((SELECT"
					    " min(since) FROM hubsync_catchup WHERE"
					    " tbl = ?1 AND cols IS NULL), 1 << 62)),"
					    " ?2, added FROM hubsync_tables WHERE"
					    " id = ?1");
		if (sr == SQLITE_OK) {
			sqlite3_bind_int(st, 1, id);
			sqlite3_bind_int64(st, 2, hs_now_ms(r));
			sr = hs_step_done(st);
			sqlite3_finalize(st);
		}
	}
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(r->db, "DELETE FROM hubsync_changes WHERE tbl = ?1"
					 " AND id > (SELECT pushed FROM hubsync_ctl)",
				  1, v);
	if (sr == SQLITE_OK)
		sr = hs_capture_log_prune(r->db);
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(r->db, "DELETE FROM hubsync_catchup WHERE tbl = ?1;",
				  1, v);
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(r->db, "DELETE FROM hubsync_tables WHERE id = ?1", 1,
				  v);
	return sr;
}

/* Names of the real tables of the app (not hubsync's), sorted. */
static int app_tables(sqlite3 *db, char ***names, int *n)
{
	sqlite3_stmt *st;
	int cap = 0, sr;
	*names = NULL;
	*n = 0;
	sr = hs_prepare(db, &st, "SELECT name FROM pragma_table_list WHERE"
				 " schema = 'main' AND type IN ('table', 'virtual',"
				 " 'shadow') ORDER BY name");
	if (sr != SQLITE_OK)
		return sr;
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (ours(db, name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(*names, (size_t)cap * sizeof(*nv));
			if (!nv) {
				sr = SQLITE_NOMEM;
				break;
			}
			*names = nv;
		}
		if (!((*names)[*n] = hs_strdup(name))) {
			sr = SQLITE_NOMEM;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* 1 if the table called name is tracked; -1 on error. */
static int is_tracked(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found;
	if (hs_prepare(db, &st, "SELECT 1 FROM hubsync_tables WHERE name = ?1")
	    != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int is_untracked(sqlite3 *db, const char *name)
{
	return hs_exec_text(db, "SELECT 1 FROM hubsync_untracked WHERE name = ?1"
				" AND ?2 IS NULL", name, NULL) == SQLITE_ROW;
}

static void skip(hs_reconcile *out, const char *table, const char *why)
{
	hs_skipped *s = realloc(out->skipped,
				(size_t)(out->nskipped + 1) * sizeof(*s));
	if (!s)
		return;
	out->skipped = s;
	s[out->nskipped].table = hs_strdup(table);
	s[out->nskipped].why = hs_strdup(why);
	out->nskipped++;
}

void hs_reconcile_clear(hs_reconcile *rc)
{
	for (int i = 0; i < rc->nskipped; i++) {
		free(rc->skipped[i].table);
		free(rc->skipped[i].why);
	}
	free(rc->skipped);
	hs_buf_free(&rc->warning);
	memset(rc, 0, sizeof(*rc));
}

/*
 * Compare tracked table t (as it is now) with the columns recorded for
 * it. Columns added: recorded, their values that differ from the column's
 * default queued as this PC's changes, and a catch-up pull of them
 * planned (others may have filled them already). A recorded column gone:
 * the table is skipped. *changed is set when columns were added.
 */
static int follow_columns(hs_replica *r, const hs_table *t, const char *rec,
			  hs_reconcile *out, int *changed)
{
	json_t *old = rec ? json_loads(rec, 0, NULL) : NULL;
	int64_t mask = 0;
	hs_buf where, cols;
	json_t *added = json_array();
	int sr = SQLITE_OK;
	*changed = 0;
	hs_buf_init(&where);
	hs_buf_init(&cols);
	if (!old) { /* tracked by an older hubsync: record as it is now */
		*changed = 1;
		goto out;
	}
	for (size_t k = 0; k < json_array_size(old); k++) {
		const char *c = json_string_value(json_array_get(old, k));
		if (c && hs_table_col(t, c) < 0) {
			hs_buf msg;
			hs_buf_init(&msg);
			hs_buf_printf(&msg, "column \"%s\" of table \"%s\" was renamed "
				      "or dropped on this PC, which hubsync cannot "
				      "follow: run hubsync untrack and then hubsync "
				      "track for \"%s\" to sync it as it is now",
				      c, t->name, t->name);
			skip(out, t->name, msg.s ? msg.s : "renamed column");
			hs_buf_free(&msg);
			goto out;
		}
	}
	for (int i = 0; i < t->ncols; i++) {
		int known = 0;
		for (size_t k = 0; !known && k < json_array_size(old); k++)
			known = strcmp(t->cols[i],
				       json_string_value(json_array_get(old, k))
					       ?: "") == 0;
		if (known)
			continue;
		char *dflt = hs_column_default(r->db, t->name, t->cols[i]);
		mask |= 1LL << (i < HS_MASK_BITS ? i : HS_MASK_BITS);
		json_array_append_new(added, json_string(t->cols[i]));
		hs_buf_puts(&where, where.len ? " OR " : "");
		hs_buf_ident(&where, t->cols[i]);
		hs_buf_printf(&where, " IS NOT %s", dflt ? dflt : "NULL");
		free(dflt);
	}
	if (!mask)
		goto out;
	*changed = 1;
	sr = hs_capture_queue(r->db, t, HS_OP_UPDATE, mask, hs_now_ms(r),
			      hs_query_int(r->db, "SELECT pulled FROM hubsync_ctl",
					   0, NULL),
			      where.oom ? "0" : where.s);
	if (sr == SQLITE_OK) {
		char *names = json_dumps(added, JSON_COMPACT);
		sqlite3_stmt *st;
		sr = names ? hs_prepare(r->db, &st, "INSERT INTO hubsync_catchup(tbl,"
						    " since, cols) VALUES(?1, 0, ?2)")
			   : SQLITE_NOMEM;
		if (sr == SQLITE_OK) {
			sqlite3_bind_int(st, 1, t->id);
			sqlite3_bind_text(st, 2, names, -1, SQLITE_STATIC);
			sr = hs_step_done(st);
			sqlite3_finalize(st);
		}
		free(names);
	}
out:
	json_decref(old);
	json_decref(added);
	hs_buf_free(&where);
	hs_buf_free(&cols);
	return sr;
}

/* The tracked tables, one by one: dropped ones untracked, columns
 * followed, triggers re-created. */
static int follow_tracked(hs_replica *r, int guard, hs_reconcile *out)
{
	sqlite3_stmt *st;
	hs_buf err;
	int sr = hs_prepare(r->db, &st, "SELECT id, name, cols FROM hubsync_tables"
					" ORDER BY id");
	if (sr != SQLITE_OK)
		return sr;
	hs_buf_init(&err);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *rec = (const char *)sqlite3_column_text(st, 2);
		hs_table t;
		int changed = 0, n0 = out->nskipped;
		int there = hs_table_exists(r->db, name);
		if (there < 0) {
			sr = sqlite3_errcode(r->db);
			break;
		}
		if (!there) {
			hs_buf_printf(&out->warning, "%stable \"%s\" was dropped on "
				      "this PC: it is no longer synced here (other "
				      "PCs keep it)", out->warning.len ? "; " : "",
				      name);
			sr = untrack_one(r, id, name, 0);
		} else if (hs_table_load(r->db, name, &t, &err) != 0) {
			skip(out, name, err.s ? err.s : name);
			hs_buf_reset(&err);
			continue;
		} else {
			t.id = id;
			sr = follow_columns(r, &t, rec, out, &changed);
			if (sr == SQLITE_OK && out->nskipped == n0) {
				if (changed)
					sr = record_cols(r->db, &t);
				if (sr == SQLITE_OK)
					sr = hs_capture_install(r->db, &t, guard);
			}
			hs_table_clear(&t);
		}
		if (sr != SQLITE_OK)
			break;
	}
	sqlite3_finalize(st);
	hs_buf_free(&err);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* With "all tables", new tables of the app are tracked as they appear. */
static int track_new_tables(hs_replica *r, int guard, hs_reconcile *out)
{
	char **names;
	int n, sr = app_tables(r->db, &names, &n);
	int stamp = (int)hs_meta_get_int(r->db, "stamp", 0);
	const char *why;
	hs_buf why_not;
	hs_buf_init(&why_not);
	for (int i = 0; sr == SQLITE_OK && i < n; i++) {
		char trig[300];
		if (is_tracked(r->db, names[i]) != 0 || is_untracked(r->db, names[i]) ||
		    !hs_tracking_can_track(r->db, names[i], &why) ||
		    hs_tracking_fed_by(r->db, names[i], trig, sizeof trig))
			continue;
		if ((sr = hs_exec(r->db, "SAVEPOINT hs_track")) != SQLITE_OK)
			break;
		hs_buf_reset(&why_not);
		if (hs_tracking_track(r, names[i], stamp, guard, &why_not) != HS_OK) {
			hs_buf_printf(&out->warning, "%snew table \"%s\" is not "
				      "synced: %s", out->warning.len ? "; " : "",
				      names[i], why_not.s ? why_not.s : "");
			hs_exec(r->db, "ROLLBACK TO hs_track");
			sr = hs_exec(r->db, "RELEASE hs_track");
			continue;
		}
		if ((sr = hs_exec(r->db, "RELEASE hs_track")) != SQLITE_OK)
			break;
		hs_buf_printf(&out->warning, "%snew table \"%s\" is synced from now "
			      "on", out->warning.len ? "; " : "", names[i]);
	}
	free_names(names, n);
	hs_buf_free(&why_not);
	return sr;
}

/* A tracked table a sync leaves out misses what others change
 * meanwhile: it is owed a pull from the watermark it had (kept when
 * already owed one from earlier). */
static int owe_pull(sqlite3 *db, const char *table)
{
	int rc = hs_exec_text(db, "INSERT INTO hubsync_catchup(tbl, since)"
				  " SELECT t.id, c.pulled FROM hubsync_tables t,"
				  " hubsync_ctl c WHERE t.name = ?1 AND NOT EXISTS"
				  " (SELECT 1 FROM hubsync_catchup k WHERE k.tbl ="
				  " t.id AND k.cols IS NULL) AND ?2 IS NULL",
			      table, NULL);
	return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* hubsync_meta.schema_version: the schema version (32 bits) the last
 * reconcile left, and above it the generation of the capture triggers it
 * installed. A replica whose triggers an older hubsync made (a plain
 * schema version there) is reconciled once, which re-creates them. */
static int64_t schema_mark(int64_t sv)
{
	return ((int64_t)HS_CAPTURE_VERSION << 32) | (sv & 0xffffffff);
}

int hs_tracking_reconcile(hs_replica *r, hs_reconcile *out, hs_buf *err)
{
	int sr, rc;
	int64_t sv;
	memset(out, 0, sizeof(*out));
	hs_buf_init(&out->warning);
	sv = hs_query_int(r->db, "PRAGMA schema_version", 0, &sr);
	if (sr != SQLITE_OK)
		return hs_replica_err_sqlite(r, err, sr, "cannot read the database schema");
	if (schema_mark(sv) == hs_meta_get_int(r->db, "schema_version", -1))
		return HS_OK;
	if ((sr = hs_exec(r->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return hs_replica_err_sqlite(r, err, sr, "cannot write the local database");
	int guard = 0;
	sr = hs_schema_create_meta(r->db);
	if (sr == SQLITE_OK) /* before follow_tracked re-creates the triggers */
		sr = hs_capture_log_upgrade(r->db);
	if (sr == SQLITE_OK)
		sr = hs_capture_app_triggers(r->db, &guard);
	if (sr == SQLITE_OK)
		sr = follow_tracked(r, guard, out);
	for (int i = 0; sr == SQLITE_OK && i < out->nskipped; i++)
		sr = owe_pull(r->db, out->skipped[i].table);
	char *mode = hs_meta_get(r->db, "tables");
	if (sr == SQLITE_OK && (!mode || strcmp(mode, "all") == 0))
		sr = track_new_tables(r, guard, out);
	free(mode);
	if (sr == SQLITE_OK) /* as our own DDL left it */
		sr = hs_meta_set_int(r->db, "schema_version",
				     schema_mark(hs_query_int(r->db,
							      "PRAGMA schema_version",
							      0, NULL)));
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "COMMIT");
	if (sr == SQLITE_OK)
		return HS_OK;
	rc = hs_replica_err_sqlite(r, err, sr, "cannot follow the database's schema");
	hs_exec(r->db, "ROLLBACK");
	return rc;
}

json_t *hs_tracking_untracked_json(hs_replica *r)
{
	json_t *a = json_array();
	char **names;
	int n;
	const char *why;
	if (app_tables(r->db, &names, &n) != SQLITE_OK)
		return a;
	for (int i = 0; i < n; i++) {
		if (is_tracked(r->db, names[i]) != 0)
			continue;
		char trig[300], fed[512];
		if (is_untracked(r->db, names[i])) {
			why = "untracked on this PC (hubsync track starts it again)";
		} else if (!hs_tracking_can_track(r->db, names[i], &why)) {
			;
		} else if (hs_tracking_fed_by(r->db, names[i], trig, sizeof trig)) {
			snprintf(fed, sizeof fed, "written by the app's trigger %s: "
				 "each PC keeps its own, up to date with the synced "
				 "rows (hubsync track syncs it instead)", trig);
			why = fed;
		} else {
			why = "not in the tables given to init (hubsync track adds it)";
		}
		json_array_append_new(a, json_pack("{s:s, s:s}", "table", names[i],
						   "reason", why));
	}
	free_names(names, n);
	return a;
}

/* ---- the public commands ------------------------------------------- */

int hs_replica_track(hs_replica *r, const char *const *tables, int n)
{
	int rc = hs_replica_check_init(r), sr;
	if (rc != HS_OK)
		return rc;
	if (n <= 0)
		return hs_fail(r, HS_EINVALID, "no table given: name the tables to "
			       "sync");
	if ((sr = hs_exec(r->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return hs_fail_sqlite(r, sr, "cannot write the local database");
	sr = hs_schema_create_meta(r->db);
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot update hubsync tables");
		goto rollback;
	}
	int guard = 0;
	if ((sr = hs_capture_app_triggers(r->db, &guard)) != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot read the database schema");
		goto rollback;
	}
	int stamp = (int)hs_meta_get_int(r->db, "stamp", 0);
	for (int i = 0; i < n; i++) {
		if (is_tracked(r->db, tables[i]) > 0)
			continue;
		hs_buf err;
		hs_buf_init(&err);
		rc = hs_fail_buf(r, hs_tracking_track(r, tables[i], stamp, guard,
						      &err), &err);
		hs_buf_free(&err);
		if (rc != HS_OK)
			goto rollback;
	}
	sr = hs_exec(r->db, "COMMIT");
	if (sr == SQLITE_OK)
		return HS_OK;
	rc = hs_fail_sqlite(r, sr, "cannot save tracking");
rollback:
	hs_exec(r->db, "ROLLBACK");
	return rc;
}

int hs_replica_untrack(hs_replica *r, const char *const *tables, int n)
{
	int rc = hs_replica_check_init(r), sr;
	if (rc != HS_OK)
		return rc;
	if (n <= 0)
		return hs_fail(r, HS_EINVALID, "no table given: name the tables to "
			       "stop syncing");
	if ((sr = hs_exec(r->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return hs_fail_sqlite(r, sr, "cannot write the local database");
	sr = hs_schema_create_meta(r->db);
	for (int i = 0; sr == SQLITE_OK && i < n; i++) {
		sqlite3_stmt *st;
		int id = -1;
		sr = hs_prepare(r->db, &st, "SELECT id FROM hubsync_tables WHERE"
					    " name = ?1");
		if (sr != SQLITE_OK)
			break;
		sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (id < 0) {
			rc = hs_fail(r, HS_EINVALID, "table \"%s\" is not synced on "
				     "this PC: hubsync status lists the tables",
				     tables[i]);
			goto rollback;
		}
		sr = untrack_one(r, id, tables[i], 1);
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "COMMIT");
	if (sr == SQLITE_OK)
		return HS_OK;
	rc = hs_fail_sqlite(r, sr, "cannot stop tracking");
rollback:
	hs_exec(r->db, "ROLLBACK");
	return rc;
}

/* Drop the comma list of columns --stamp added to table. */
static int drop_added(sqlite3 *db, const char *table, const char *added)
{
	char *copy = hs_strdup(added), *save = NULL;
	int sr = copy ? SQLITE_OK : SQLITE_NOMEM;
	for (char *c = copy ? strtok_r(copy, ",", &save) : NULL;
	     sr == SQLITE_OK && c; c = strtok_r(NULL, ",", &save)) {
		hs_buf b;
		if (!hs_table_has_column(db, table, c))
			continue;
		hs_buf_init(&b);
		hs_buf_puts(&b, "ALTER TABLE ");
		hs_buf_ident(&b, table);
		hs_buf_puts(&b, " DROP COLUMN ");
		hs_buf_ident(&b, c);
		sr = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
		hs_buf_free(&b);
	}
	free(copy);
	return sr;
}

/* Run sql (one column: a table name, a second: what --stamp added) and
 * drop the triggers and added columns of each table. */
static int unhook(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, sql);
	while (sr == SQLITE_OK && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *added = (const char *)sqlite3_column_text(st, 1);
		sr = hs_capture_remove(db, name);
		if (sr == SQLITE_OK && added && hs_table_exists(db, name) > 0)
			sr = drop_added(db, name, added);
	}
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

int hs_replica_uninstall(hs_replica *r)
{
	int rc = hs_replica_check_init(r), sr;
	hs_buf b;
	if (rc != HS_OK)
		return rc;
	hs_buf_init(&b);
	if ((sr = hs_exec(r->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return hs_fail_sqlite(r, sr, "cannot write the local database");
	sr = hs_schema_create_meta(r->db); /* older replicas: the columns read */
	if (sr == SQLITE_OK)
		sr = unhook(r->db, "SELECT name, added FROM hubsync_tables");
	if (sr == SQLITE_OK)
		sr = unhook(r->db, "SELECT name, added FROM hubsync_untracked");
	/* Every object named hubsync_* (leftover triggers too), and the
	 * sync_log hubsync created. */
	if (sr == SQLITE_OK && hs_meta_get_int(r->db, "own_sync_log", 1))
		sr = hs_exec(r->db, "DROP TABLE IF EXISTS sync_log;");
	if (sr == SQLITE_OK) {
		sqlite3_stmt *st;
		sr = hs_prepare(r->db, &st, "SELECT type, name FROM sqlite_master"
					    " WHERE name LIKE 'hubsync\\_%' ESCAPE '\\'"
					    " AND type IN ('table', 'trigger', 'view')"
					    " ORDER BY type = 'table'");
		while (sr == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			hs_buf_printf(&b, "DROP %s IF EXISTS ",
				      sqlite3_column_text(st, 0));
			hs_buf_ident(&b, (const char *)sqlite3_column_text(st, 1));
			hs_buf_puts(&b, ";");
		}
		sqlite3_finalize(st);
		if (sr == SQLITE_OK)
			sr = b.oom ? SQLITE_NOMEM : b.len ? hs_exec(r->db, b.s) : SQLITE_OK;
	}
	if (sr == SQLITE_OK && hs_table_exists(r->db, "sqlite_sequence") > 0)
		sr = hs_exec(r->db, "DELETE FROM sqlite_sequence WHERE name ="
				    " 'sync_log' AND NOT EXISTS (SELECT 1 FROM"
				    " sqlite_master WHERE name = 'sync_log')");
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "COMMIT");
	hs_buf_free(&b);
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot remove hubsync");
		hs_exec(r->db, "ROLLBACK");
		return rc;
	}
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s.hubsync-lock", r->path);
	if (!b.oom)
		hs_os_unlink(b.s);
	hs_buf_free(&b);
	return HS_OK;
}
