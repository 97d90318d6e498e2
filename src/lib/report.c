/*
 * report.c - the JSON documents people and programs read: status, history
 * (sync_log) and the audit log (contract section 3.3).
 */
#include "replica.h"

#include "capture.h"
#include "history.h"
#include "json.h"
#include "schema.h"
#include "tracking.h"

#include <stdlib.h>
#include <string.h>

/* Column value of a statement as JSON (typed). */
static json_t *col_json(sqlite3_stmt *st, int i)
{
	return hs_json_value(sqlite3_column_value(st, i));
}

static int dump_out(hs_replica *r, json_t *j, char **out)
{
	*out = hs_json_dump(j);
	return *out ? HS_OK : hs_fail(r, HS_ERROR, "out of memory");
}

int hs_replica_status_json(hs_replica *r, char **out)
{
	char *user, *master, *stats_text = NULL, *last_error = NULL, when[32];
	json_t *o, *stats = NULL, *tables;
	int64_t last, interval, paused;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (!(tables = json_array()))
		return hs_fail(r, HS_ERROR, "out of memory");
	user = hs_meta_get(r->db, "user");
	master = hs_meta_get(r->db, "master");
	last = hs_meta_get_int(r->db, "last_sync", 0);
	interval = hs_meta_get_int(r->db, "interval", 120);
	paused = hs_meta_get_int(r->db, "paused", 0);
	if (hs_prepare(r->db, &st, "SELECT stats, status, error_message FROM"
				   " sync_log ORDER BY id DESC LIMIT 1") == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			stats_text = hs_strdup((const char *)sqlite3_column_text(st, 0));
			if (strcmp((const char *)sqlite3_column_text(st, 1), "success"))
				last_error = hs_strdup(
					(const char *)sqlite3_column_text(st, 2));
		}
		sqlite3_finalize(st);
	}
	if (stats_text)
		stats = json_loads(stats_text, 0, NULL);
	if (!stats)
		stats = json_pack("{s:{}, s:{}, s:i}", "pulled", "pushed",
				  "conflicts", 0);
	int step = hs_prepare(r->db, &st, "SELECT name FROM hubsync_tables"
					  " ORDER BY name");
	if (step == SQLITE_OK) {
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(tables, col_json(st, 0));
		sqlite3_finalize(st);
	}
	if (step != SQLITE_DONE) { /* a read error: no half document */
		free(user);
		free(master);
		free(stats_text);
		free(last_error);
		json_decref(stats);
		json_decref(tables);
		return hs_fail_sqlite(r, step, "cannot read the sync status");
	}
	hs_iso_time(last, when);
	o = json_pack("{s:b, s:b, s:o, s:o, s:b, s:I, s:s?, s:s?}", "enabled", 1,
		      "isSyncing", hs_replica_sync_running(r), "lastSyncTime",
		      last ? json_string(when) : json_null(), "stats", stats,
		      "scheduledSync", interval > 0, "intervalMinutes",
		      (json_int_t)interval, "username", user, "nasDbPath", master);
	if (o) {
		json_object_set_new(o, "lastError", last_error
						       ? json_string(last_error)
						       : json_null());
		json_object_set_new(o, "pendingChanges",
				    json_integer(hs_query_int(
					    r->db, "SELECT count(*) FROM hubsync_changes WHERE"
						   " id > (SELECT pushed FROM hubsync_ctl)",
					    0, NULL)));
		json_object_set_new(o, "unresolvedConflicts",
				    json_integer(hs_query_int(
					    r->db, "SELECT count(*) FROM"
						   " hubsync_conflicts WHERE resolved = 0",
					    0, NULL)));
		json_object_set_new(o, "trackedTables", tables);
		json_object_set_new(o, "untrackedTables",
				    hs_tracking_untracked_json(r));
		json_object_set_new(o, "paused", json_boolean(paused));
		if (last && interval > 0 && !paused) {
			hs_iso_time(last + interval * 60000, when);
			json_object_set_new(o, "nextSyncTime", json_string(when));
		} else {
			json_object_set_new(o, "nextSyncTime", json_null());
		}
	} else {
		json_decref(tables);
	}
	free(user);
	free(master);
	free(stats_text);
	free(last_error);
	return dump_out(r, o, out);
}

int hs_replica_history_json(hs_replica *r, int limit, char **out)
{
	static const char *keys[] = {"id", "timestamp", "direction", "status",
				     "records_pulled", "records_pushed",
				     "conflicts", "duration_ms", "error_message",
				     "trigger"};
	json_t *a;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (!(a = json_array()))
		return hs_fail(r, HS_ERROR, "out of memory");
	if (limit <= 0)
		limit = 50;
	/* started_by: added by the first sync of this hubsync */
	rc = hs_prepare(r->db, &st,
			hs_table_has_column(r->db, "sync_log", "started_by")
				? "SELECT id, timestamp, direction, status,"
				  " records_pulled, records_pushed, conflicts,"
				  " duration_ms, error_message, started_by FROM"
				  " sync_log ORDER BY id DESC LIMIT ?1"
				: "SELECT id, timestamp, direction, status,"
				  " records_pulled, records_pushed, conflicts,"
				  " duration_ms, error_message, NULL FROM"
				  " sync_log ORDER BY id DESC LIMIT ?1");
	if (rc != SQLITE_OK) {
		json_decref(a);
		return hs_fail_sqlite(r, rc, "cannot read the sync history");
	}
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < 10; i++)
			json_object_set_new(o, keys[i], col_json(st, i));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) { /* a read error: no half list */
		json_decref(a);
		return hs_fail_sqlite(r, rc, "cannot read the sync history");
	}
	return dump_out(r, a, out);
}

/* Pending local changes (not yet pushed) matching the filters. Returns
 * a SQLite code. */
static int log_pending(hs_replica *r, const hs_schema *s,
		       const hs_log_options *o, int64_t since, json_t *a)
{
	static const char *ops[] = {"", "insert", "update", "delete"};
	const char *table = o->table, *key = o->key;
	sqlite3_stmt *st;
	char *user = hs_meta_get(r->db, "user");
	int step;
	hs_buf q;
	if (o->user && (!user || strcmp(o->user, user) != 0)) {
		free(user); /* pending changes are this replica's user's */
		return SQLITE_OK;
	}
	hs_buf_init(&q);
	hs_buf_printf(&q, "SELECT id, tbl, op, mask, wall, k1, k2, k3, k4 FROM %s"
		      " WHERE wall >= ?1 AND id > (SELECT pushed FROM"
		      " hubsync_ctl) ORDER BY id DESC", hs_capture_log(r->db));
	step = q.oom ? SQLITE_NOMEM : hs_prepare(r->db, &st, q.s);
	hs_buf_free(&q);
	if (step != SQLITE_OK) {
		free(user);
		return step;
	}
	sqlite3_bind_int64(st, 1, since);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const hs_table *t = NULL;
		for (int i = 0; i < s->n; i++)
			if (s->t[i].id == sqlite3_column_int(st, 1))
				t = &s->t[i];
		int op = sqlite3_column_int(st, 2);
		if (!t || op < 1 || op > 3 || (table && strcmp(table, t->name)))
			continue;
		sqlite3_value *pk[HS_MAX_PK];
		for (int k = 0; k < t->npk; k++)
			pk[k] = sqlite3_column_value(st, 5 + k);
		char *kt = hs_key_text(pk, t->npk);
		if (key && kt && strcmp(key, kt)) {
			free(kt);
			continue;
		}
		int64_t mask = sqlite3_column_int64(st, 3);
		json_t *cols = json_array();
		for (int i = 0; op == HS_OP_UPDATE && i < t->ncols; i++) {
			int bit = i < HS_MASK_BITS ? i : HS_MASK_BITS;
			if (mask == -1 || ((mask >> bit) & 1))
				json_array_append_new(cols, json_string(t->cols[i]));
		}
		char when[32];
		hs_iso_time(sqlite3_column_int64(st, 4), when);
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:o, s:s, s:s?, s:s, s:o, s:b}",
				     "table", t->name, "key", kt ? kt : "", "pk",
				     hs_json_pk(t, pk), "op", ops[op], "user", user,
				     "at", when, "columns", cols, "pending", 1));
		free(kt);
	}
	sqlite3_finalize(st);
	free(user);
	return step == SQLITE_DONE ? SQLITE_OK : step;
}

int hs_replica_log_json(hs_replica *r, const char *table, const char *key,
			const char *since, int limit, char **out)
{
	hs_log_options o = HS_LOG_OPTIONS_INIT;

	o.table = table;
	o.key = key;
	o.since = since;
	o.limit = limit;
	return hs_replica_log_query_json(r, &o, out);
}

int hs_replica_log_query_json(hs_replica *r, const hs_log_options *opts,
			      char **out)
{
	static const hs_log_options none = HS_LOG_OPTIONS_INIT;
	const hs_log_options *o = opts ? opts : &none;
	const char *table = o->table, *since = o->since;
	int limit = o->limit;
	json_t *a = json_array();
	hs_schema s;
	hs_buf err;
	sqlite3_stmt *st;
	int64_t since_ms = 0;
	int rc, compact;
	char since_iso[32];
	hs_buf sql;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		goto fail;
	if (since && (since_ms = hs_parse_time(since)) < 0) {
		rc = hs_fail(r, HS_EINVALID, "--since %s is not a time: use "
			     "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", since);
		goto fail;
	}
	hs_buf_init(&err);
	if (hs_schema_load(r->db, &s, &err) != 0) {
		rc = hs_fail(r, HS_ECORRUPT, "%s", err.s ? err.s : "bad schema");
		hs_buf_free(&err);
		goto fail;
	}
	hs_buf_free(&err);
	if (table && !hs_schema_find(&s, table)) {
		hs_schema_clear(&s);
		rc = hs_fail(r, HS_EINVALID, "table \"%s\" is not synced: see "
			     "trackedTables in hubsync status", table);
		goto fail;
	}
	if (limit <= 0)
		limit = 200;
	rc = log_pending(r, &s, o, since_ms, a);
	hs_schema_clear(&s);
	if (rc != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot read the local changes");
		goto fail;
	}
	hs_iso_time(since_ms, since_iso);
	rc = (compact = hs_history_compact(r->db)) < 0 ? sqlite3_errcode(r->db)
						       : SQLITE_OK;
	hs_buf_init(&sql);
	hs_buf_puts(&sql, "SELECT " HS_HISTORY_COLS " FROM ");
	hs_history_source(&sql, compact);
	hs_buf_puts(&sql, " WHERE (?1 IS NULL OR tbl = ?1) AND (?2 IS NULL OR"
			  " key = ?2) AND at >= ?3 AND (?5 IS NULL OR user = ?5)"
			  " ORDER BY seq DESC LIMIT ?4");
	if (rc == SQLITE_OK)
		rc = sql.oom ? SQLITE_NOMEM : hs_prepare(r->db, &st, sql.s);
	hs_buf_free(&sql);
	if (rc != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot read the change log");
		goto fail;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, since_iso, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *pk = json_loads((const char *)sqlite3_column_text(st, 3), 0,
					NULL);
		json_t *ch = json_loads((const char *)sqlite3_column_text(st, 7), 0,
					NULL);
		json_array_append_new(
			a, json_pack("{s:I, s:o, s:o, s:o?, s:o, s:o, s:o, s:o?, s:b}",
				     "seq", (json_int_t)sqlite3_column_int64(st, 0),
				     "table", col_json(st, 1), "key", col_json(st, 2),
				     "pk", pk, "op", col_json(st, 4), "user",
				     col_json(st, 5), "at", col_json(st, 6),
				     "changes", ch, "pending", 0));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) { /* a read error: no half list */
		rc = hs_fail_sqlite(r, rc, "cannot read the change log");
		goto fail;
	}
	while ((int)json_array_size(a) > limit)
		json_array_remove(a, json_array_size(a) - 1);
	return dump_out(r, a, out);
fail:
	json_decref(a);
	return rc;
}
