/*
 * test_app.c - hubsync adapts to the app, not the app to hubsync (issue 8,
 * contract 3.6): each case is one of the reproductions, on real
 * replica and master files, the app played by plain SQL.
 *
 *  - init leaves the app's tables as they were (sqlite_master rows byte
 *    for byte), `INSERT ... VALUES` without a column list keeps working,
 *    the app's own updated_at/updated_by are not overwritten; --stamp adds
 *    the columns where missing and writes the format a column holds;
 *  - INSERT OR REPLACE, REPLACE and upserts change only the columns whose
 *    value differs; a rewrite that changes nothing beats nobody;
 *  - the app's triggers (an audit log, a running total, an FTS index) do
 *    not make replicas diverge;
 *  - app upgrades while old versions still run: added columns, new
 *    tables, dropped tables, a renamed column, a rolling upgrade of 5 PCs;
 *  - track, untrack, uninstall (schema as before init), relocate;
 *  - two PCs with the same user name are still two sides of a conflict;
 *  - virtual tables are skipped; number blocks for every series.
 *
 * Run all with ./test_app, or some by name.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* sqlite_master of the app's own objects, one line each (type, name,
 * tbl_name, sql), malloc'd. */
static char *app_schema(sqlite3 *db)
{
	char *s = tu_text(db, "SELECT group_concat(type || '|' || name || '|' ||"
			      " tbl_name || '|' || coalesce(sql, ''), char(10))"
			      " FROM (SELECT * FROM sqlite_master WHERE name NOT"
			      " LIKE 'hubsync\\_%%' ESCAPE '\\' AND name NOT LIKE"
			      " 'sqlite\\_%%' ESCAPE '\\' AND name <> 'sync_log'"
			      " ORDER BY type, name)");
	return s ? s : strdup("");
}

static int count(sqlite3 *db, const char *sql)
{
	return (int)tu_int(db, -1, "%s", sql);
}

/* A sync that must fail; returns its result message (malloc'd). */
static char *sync_fails(tu_site *s)
{
	char *doc = NULL;
	int rc = tu_site_sync_rc(s, &doc);
	TU_CHECK(rc != HS_OK, "%s: the sync should have failed", s->name);
	json_t *j = tu_json_take(doc);
	char *msg = strdup(json_string_value(json_object_get(j, "message")) ?: "");
	json_decref(j);
	return msg;
}

/* ---- 1. init leaves the app's tables alone -------------------------- */

#define APP_SCHEMA \
	"CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT);" \
	"CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, total REAL," \
	" updated_at INTEGER, updated_by INTEGER);" \
	"CREATE INDEX quotes_total ON quotes(total);" \
	"CREATE VIEW big AS SELECT * FROM quotes WHERE total > 100;"

static void init_leaves_schema(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", APP_SCHEMA,
		    "INSERT INTO quotes VALUES ('q1', 10, 1700000000, 7)");
	char *before = app_schema(N.s[0].app);
	tu_net_init(&N, NULL);
	char *after = app_schema(N.s[0].app);
	TU_CHECK(!strcmp(before, after), "init changed the app's schema:\n"
		 "before:\n%s\nafter:\n%s", before, after);
	/* the app's positional inserts and SELECT * keep working */
	tu_exec(N.s[0].app, "INSERT INTO c VALUES (1, 'x')");
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM (SELECT * FROM c)") == 1,
		 "SELECT * FROM c");
	tu_exec(N.s[1].app, "UPDATE quotes SET total = 20, updated_at ="
			    " 1700000500, updated_by = 9 WHERE quoteId = 'q1'");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	/* the app's own epoch and user id, untouched by hubsync */
	TU_CHECK_CELL(N.s[0].app, "quotes", "updated_at", "quoteId = 'q1'",
		      "1700000500");
	TU_CHECK_CELL(N.s[0].app, "quotes", "updated_by", "quoteId = 'q1'", "9");
	TU_CHECK_CELL(N.s[0].app, "c", "name", "id = 1", "'x'");
	char *later = app_schema(N.s[1].app);
	TU_CHECK(!strcmp(before, later), "sync changed the app's schema");
	free(before);
	free(after);
	free(later);
	tu_net_close(&N);
}

static void init_stamp_keeps_formats(void)
{
	tu_net N;
	tu_init_stamp = 1;
	tu_net_open(&N, 2, "app",
		    "CREATE TABLE epochs (id TEXT PRIMARY KEY, v TEXT,"
		    " updated_at INTEGER, updated_by INTEGER);"
		    "CREATE TABLE sqlfmt (id TEXT PRIMARY KEY, v TEXT,"
		    " updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);"
		    "CREATE TABLE bare (id TEXT PRIMARY KEY, v TEXT);",
		    "INSERT INTO epochs VALUES ('e', 'a', 1700000000, 7);"
		    "INSERT INTO sqlfmt(id, v) VALUES ('s', 'a');"
		    "INSERT INTO bare VALUES ('b', 'a')");
	tu_net_init(&N, NULL);
	/* columns only where missing, never a type change */
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM pragma_table_info('bare')"
				   " WHERE name IN ('updated_at', 'updated_by',"
				   " 'synced_at')") == 3, "bare got the columns");
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM pragma_table_info("
				   "'epochs') WHERE name = 'updated_at' AND type ="
				   " 'INTEGER'") == 1, "epochs.updated_at kept");
	tu_net_sync_all(&N, 1);
	tu_exec(N.s[1].app, "UPDATE epochs SET v = 'b' WHERE id = 'e';"
			    "UPDATE sqlfmt SET v = 'b' WHERE id = 's';"
			    "UPDATE bare SET v = 'b' WHERE id = 'b'");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, "synced_at");
	TU_CHECK(count(N.s[0].app, "SELECT typeof(updated_at) = 'integer' AND"
				   " updated_at > 1700000000 AND updated_at <"
				   " 100000000000 FROM epochs") == 1,
		 "epochs.updated_at is epoch seconds");
	TU_CHECK_CELL(N.s[0].app, "epochs", "updated_by", "id = 'e'", "7");
	TU_CHECK(count(N.s[0].app, "SELECT updated_at GLOB '[0-9][0-9][0-9][0-9]-"
				   "[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:"
				   "[0-9][0-9]' FROM sqlfmt") == 1,
		 "sqlfmt.updated_at keeps the CURRENT_TIMESTAMP format");
	TU_CHECK(count(N.s[0].app, "SELECT updated_at LIKE '%%T%%Z' AND"
				   " updated_by = 'bob' FROM bare") == 1,
		 "bare: ISO time and the user name");
	tu_net_close(&N);
}

/* ---- 2. only values that changed count ------------------------------ */

static const char *KV = "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT,"
			" cnt INTEGER, code TEXT UNIQUE)";

static void replace_changes_only_changed(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", KV,
		    "INSERT INTO kv VALUES (300, 'w', 1, 'c300'),"
		    " (301, 'x', 1, 'c301'), (302, 'y', 1, 'c302'),"
		    " (303, 'z', 1, 'c303')");
	tu_net_init(&N, NULL);
	tu_net_sync_all(&N, 2);
	/* B's real edits; then A's rewrites with those columns unchanged */
	tu_exec(N.s[1].app, "UPDATE kv SET cnt = 42 WHERE id IN (300, 301, 302);"
			    "UPDATE kv SET name = 'bob' WHERE id = 303");
	tu_now_ms += 1000;
	tu_exec(N.s[0].app,
		"INSERT OR REPLACE INTO kv(id, name, cnt, code)"
		" VALUES (300, 'w-renamed', 1, 'c300');"
		"REPLACE INTO kv VALUES (301, 'x', 1, 'c301');" /* no change */
		"INSERT INTO kv VALUES (302, 'y2', 1, 'c302') ON CONFLICT(id)"
		" DO UPDATE SET name = excluded.name, cnt = excluded.cnt;"
		"INSERT OR REPLACE INTO kv VALUES (303, 'z', 1, 'c303')");
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM hubsync_changes WHERE"
				   " op = 1") == 0, "a REPLACE logged as an insert");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	for (int i = 0; i < 2; i++) {
		TU_CHECK_CELL(N.s[i].app, "kv", "name", "id = 300", "'w-renamed'");
		TU_CHECK_CELL(N.s[i].app, "kv", "cnt", "id = 300", "42");
		TU_CHECK_CELL(N.s[i].app, "kv", "cnt", "id = 301", "42");
		TU_CHECK_CELL(N.s[i].app, "kv", "name", "id = 302", "'y2'");
		TU_CHECK_CELL(N.s[i].app, "kv", "cnt", "id = 302", "42");
		TU_CHECK_CELL(N.s[i].app, "kv", "name", "id = 303", "'bob'");
	}
	json_t *c = tu_site_conflicts(&N.s[0], 1);
	TU_CHECK(json_array_size(c) == 0, "no-op rewrites made %zu conflicts",
		 json_array_size(c));
	json_decref(c);
	/* a change of case only is a change, whatever the collation */
	tu_exec(N.s[0].app, "CREATE TABLE names (id TEXT PRIMARY KEY, name TEXT"
			    " COLLATE NOCASE); INSERT INTO names VALUES ('n', 'abc')");
	tu_exec(N.s[1].app, "CREATE TABLE names (id TEXT PRIMARY KEY, name TEXT"
			    " COLLATE NOCASE)");
	tu_net_sync_all(&N, 2);
	tu_exec(N.s[0].app, "UPDATE names SET name = 'ABC'");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "names", "name", "id = 'n'", "'ABC'");
	/* A REPLACE that takes another row's UNIQUE value deletes that row,
	 * with no delete trigger: the delete still travels. */
	tu_exec(N.s[0].app, "INSERT OR REPLACE INTO kv VALUES (400, 'n', 0,"
			    " 'c301')");
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM kv WHERE id = 301") == 0,
		 "REPLACE removed the holder");
	/* an upsert on the UNIQUE column updates the holder: no delete */
	tu_exec(N.s[0].app, "INSERT INTO kv VALUES (401, 'u', 5, 'c302')"
			    " ON CONFLICT(code) DO UPDATE SET cnt = 7");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK(count(N.s[1].app, "SELECT count(*) FROM kv WHERE id = 301") == 0,
		 "the REPLACE's delete reached bob");
	TU_CHECK_CELL(N.s[1].app, "kv", "cnt", "id = 302", "7");
	tu_net_close(&N);
}

/* The last operation hubsync_changes holds for key k of plainkv. */
static int last_op(sqlite3 *db, int k)
{
	return (int)tu_int(db, -1, "SELECT op FROM hubsync_changes WHERE tbl ="
			   " (SELECT id FROM hubsync_tables WHERE name ="
			   " 'plainkv') AND k1 = '%d' ORDER BY id DESC LIMIT 1", k);
}

/*
 * Capture version 2 (capture.c): a kind 0 stash row that an insert which
 * did not happen left behind (OR IGNORE, an upsert) is removed when its
 * row goes (delete, key change), so a later insert of that key is logged
 * as an insert; and a replica whose triggers version 1 made (the key
 * change inside the update trigger, a stash probe per insert, the plain
 * schema version in hubsync_meta) gets the new ones at its next sync.
 */
static void capture_stash_and_upgrade(void)
{
	tu_net N;
	/* TEXT keys: a new INTEGER key would be renumbered (number blocks) */
	tu_net_open(&N, 2, "capture", "CREATE TABLE plainkv (id TEXT PRIMARY"
		    " KEY, name TEXT, cnt INTEGER)",
		    "INSERT INTO plainkv VALUES (1, 'a', 1), (2, 'b', 2),"
		    " (3, 'c', 3)");
	tu_net_init(&N, NULL);
	tu_net_sync_all(&N, 2);
	sqlite3 *a = N.s[0].app;
	int id = (int)tu_int(a, -1, "SELECT id FROM hubsync_tables WHERE name ="
				    " 'plainkv'");
	/* a replica as version 1 left it */
	tu_exec(a, "DROP TRIGGER hubsync_updk_plainkv;"
		   "DROP TRIGGER hubsync_upd_plainkv;"
		   "DROP TRIGGER hubsync_bins_plainkv;"
		   "DROP TRIGGER hubsync_del_plainkv;"
		   "CREATE TRIGGER \"hubsync_bins_plainkv\" BEFORE INSERT ON"
		   " \"plainkv\" WHEN EXISTS (SELECT 1 FROM \"plainkv\" AS o WHERE"
		   " o.\"id\" = NEW.\"id\") OR EXISTS (SELECT 1 FROM hubsync_stash"
		   " AS s WHERE s.tbl = %d AND s.kind = 0 AND s.k1 IS NEW.\"id\")"
		   " BEGIN DELETE FROM hubsync_stash WHERE tbl = %d AND kind = 0"
		   " AND k1 IS NEW.\"id\"; INSERT INTO hubsync_stash(tbl, kind,"
		   " mask, k1) SELECT %d, 0, CASE WHEN o.\"id\" IS NOT NEW.\"id\""
		   " COLLATE BINARY THEN 1 ELSE 0 END | CASE WHEN o.\"name\" IS"
		   " NOT NEW.\"name\" COLLATE BINARY THEN 2 ELSE 0 END | CASE WHEN"
		   " o.\"cnt\" IS NOT NEW.\"cnt\" COLLATE BINARY THEN 4 ELSE 0 END,"
		   " NEW.\"id\" FROM \"plainkv\" AS o WHERE o.\"id\" = NEW.\"id\";"
		   " END;"
		   "CREATE TRIGGER \"hubsync_upd_plainkv\" AFTER UPDATE ON"
		   " \"plainkv\" BEGIN INSERT INTO hubsync_changes(tbl, op, mask,"
		   " wall, base, k1) SELECT %d, 3, 0, CAST((julianday('now') -"
		   " 2440587.5) * 86400000 AS INTEGER), c.pulled, OLD.\"id\" FROM"
		   " hubsync_ctl AS c WHERE c.applying = 0 AND NOT (OLD.\"id\" IS"
		   " NEW.\"id\"); INSERT INTO hubsync_changes(tbl, op, mask, wall,"
		   " base, k1) SELECT %d, CASE WHEN NOT (OLD.\"id\" IS NEW.\"id\")"
		   " THEN 1 ELSE 2 END, CASE WHEN NOT (OLD.\"id\" IS NEW.\"id\")"
		   " THEN -1 ELSE CASE WHEN OLD.\"id\" IS NOT NEW.\"id\" COLLATE"
		   " BINARY THEN 1 ELSE 0 END | CASE WHEN OLD.\"name\" IS NOT"
		   " NEW.\"name\" COLLATE BINARY THEN 2 ELSE 0 END | CASE WHEN"
		   " OLD.\"cnt\" IS NOT NEW.\"cnt\" COLLATE BINARY THEN 4 ELSE 0"
		   " END END, CAST((julianday('now') - 2440587.5) * 86400000 AS"
		   " INTEGER), c.pulled, NEW.\"id\" FROM hubsync_ctl AS c WHERE"
		   " c.applying = 0 AND (NOT (OLD.\"id\" IS NEW.\"id\") OR"
		   " (OLD.\"id\" IS NOT NEW.\"id\" COLLATE BINARY) OR (OLD.\"name\""
		   " IS NOT NEW.\"name\" COLLATE BINARY) OR (OLD.\"cnt\" IS NOT"
		   " NEW.\"cnt\" COLLATE BINARY)); END;"
		   "CREATE TRIGGER \"hubsync_del_plainkv\" AFTER DELETE ON"
		   " \"plainkv\" BEGIN INSERT INTO hubsync_changes(tbl, op, mask,"
		   " wall, base, k1) SELECT %d, 3, 0, CAST((julianday('now') -"
		   " 2440587.5) * 86400000 AS INTEGER), c.pulled, OLD.\"id\" FROM"
		   " hubsync_ctl AS c WHERE c.applying = 0; END;",
		id, id, id, id, id, id);
	tu_exec(a, "UPDATE hubsync_meta SET value = (SELECT schema_version FROM"
		   " pragma_schema_version) WHERE key = 'schema_version'");
	/* the old triggers still capture (a key change: delete + insert) */
	tu_exec(a, "UPDATE plainkv SET id = 10 WHERE id = 1");
	TU_CHECK(last_op(a, 1) == 3 && last_op(a, 10) == 1,
		 "version 1 triggers: key change logged as %d / %d",
		 last_op(a, 1), last_op(a, 10));
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK(count(a, "SELECT count(*) FROM sqlite_master WHERE name ="
			  " 'hubsync_updk_plainkv'") == 1 &&
		 count(a, "SELECT count(*) FROM sqlite_master WHERE name ="
			  " 'hubsync_bins_plainkv' AND sql LIKE '%hubsync_stash"
			  " AS s%'") == 0,
		 "the sync did not re-create version 1 triggers");
	TU_CHECK(tu_int(a, -1, "SELECT value >> 32 FROM hubsync_meta WHERE key"
			       " = 'schema_version'") == 3,
		 "the capture version is not recorded");
	/* a key change through the new triggers: once each, as before (the
	 * log keeps its newest entry after a sync: count from there) */
	int64_t top = tu_int(a, 0, "SELECT max(id) FROM hubsync_changes");
	tu_exec(a, "UPDATE plainkv SET id = 11 WHERE id = 10");
	TU_CHECK(tu_int(a, -1, "SELECT count(*) FROM hubsync_changes WHERE id >"
			       " %lld", (long long)top) == 2 &&
		 last_op(a, 10) == 3 && last_op(a, 11) == 1,
		 "key change logged as %d / %d", last_op(a, 10), last_op(a, 11));
	/* stash rows left by inserts that did not happen, then the row goes:
	 * by a delete (2), by a key change (3); the key comes back */
	tu_exec(a, "INSERT OR IGNORE INTO plainkv VALUES (2, 'b-ignored', 20);"
		   "INSERT INTO plainkv VALUES (3, 'x', 0) ON CONFLICT(id) DO"
		   " UPDATE SET cnt = 30;"
		   "DELETE FROM plainkv WHERE id = 2;"
		   "UPDATE plainkv SET id = 12 WHERE id = 3;"
		   "INSERT INTO plainkv VALUES (2, 'b-new', 2);"
		   "INSERT INTO plainkv VALUES (3, 'c-new', 3)");
	TU_CHECK(last_op(a, 2) == 1 && last_op(a, 3) == 1,
		 "a new row logged as %d / %d, not as an insert", last_op(a, 2),
		 last_op(a, 3));
	TU_CHECK(count(a, "SELECT count(*) FROM hubsync_stash") == 0,
		 "stash rows of rows that are gone stayed");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(N.s[1].app, "plainkv", "name", "id = 2", "'b-new'");
	TU_CHECK_CELL(N.s[1].app, "plainkv", "name", "id = 3", "'c-new'");
	TU_CHECK_CELL(N.s[1].app, "plainkv", "cnt", "id = 12", "30");
	tu_net_close(&N);
}

/* Composite keys for capture_log_upgrade: seed rows (queued at init),
 * a key of 3 columns, and a REPLACE deleting two rows at once. */
static const char *CAPLOG_SCHEMA =
	"CREATE TABLE single (id TEXT PRIMARY KEY, v TEXT);"
	"CREATE TABLE pair (a TEXT, b INTEGER, v TEXT, PRIMARY KEY (a, b));"
	"CREATE TABLE tri (x TEXT, y INTEGER, z BLOB, v TEXT,"
	" PRIMARY KEY (x, y, z));"
	"CREATE TABLE uq (a TEXT, b INTEGER, u1 TEXT UNIQUE, u2 TEXT UNIQUE,"
	" PRIMARY KEY (a, b));"
	"CREATE TABLE junk (x TEXT PRIMARY KEY)";

/* What capture version 2 wrote for a composite key of n columns (2 or 3,
 * the last one of the table's columns the only other): k1..kn in
 * hubsync_changes. Without the stash or the key change: the test needs
 * none. */
static void old_triggers(sqlite3 *db, const char *tbl, int id,
			 const char *const *key, int n, int vbit)
{
	char cols[64] = "", nv[128] = "", ov[128] = "", same[256] = "";
	for (int i = 0; i < n; i++) {
		snprintf(cols + strlen(cols), sizeof cols - strlen(cols), ", k%d",
			 i + 1);
		snprintf(nv + strlen(nv), sizeof nv - strlen(nv), ", NEW.%s", key[i]);
		snprintf(ov + strlen(ov), sizeof ov - strlen(ov), ", OLD.%s", key[i]);
		snprintf(same + strlen(same), sizeof same - strlen(same),
			 "%sOLD.%s IS NEW.%s", i ? " AND " : "", key[i], key[i]);
	}
	const char *wall = "CAST((julianday('now') - 2440587.5) * 86400000 AS"
			   " INTEGER)";
	tu_exec(db,
		"DROP TRIGGER hubsync_bins_%s; DROP TRIGGER hubsync_ins_%s;"
		"DROP TRIGGER hubsync_upd_%s; DROP TRIGGER hubsync_updk_%s;"
		"DROP TRIGGER hubsync_del_%s;"
		"CREATE TRIGGER hubsync_ins_%s AFTER INSERT ON %s BEGIN INSERT"
		" INTO hubsync_changes(tbl, op, mask, wall, base%s) SELECT %d, 1,"
		" -1, %s, c.pulled%s FROM hubsync_ctl AS c WHERE c.applying = 0;"
		" END;"
		"CREATE TRIGGER hubsync_upd_%s AFTER UPDATE ON %s WHEN %s BEGIN"
		" INSERT INTO hubsync_changes(tbl, op, mask, wall, base%s) SELECT"
		" %d, 2, %d, %s, c.pulled%s FROM hubsync_ctl AS c WHERE"
		" c.applying = 0; END;"
		"CREATE TRIGGER hubsync_del_%s AFTER DELETE ON %s BEGIN INSERT"
		" INTO hubsync_changes(tbl, op, mask, wall, base%s) SELECT %d, 3,"
		" 0, %s, c.pulled%s FROM hubsync_ctl AS c WHERE c.applying = 0;"
		" END;",
		tbl, tbl, tbl, tbl, tbl, tbl, tbl, cols, id, wall, nv, tbl, tbl,
		same, cols, id, vbit, wall, nv, tbl, tbl, cols, id, wall, ov);
}

/*
 * Capture version 3 (capture.c, "The capture log" in docs/INTERNALS.md):
 * the log keeps k1, a composite key's other columns go to
 * hubsync_changes_key. A replica whose log and triggers version 2 made
 * (k1..k4 in hubsync_changes), with changes written offline through
 * them, is converted by its next sync (the entries' keys moved, the
 * columns dropped, the triggers re-created) and every change reaches the
 * master; then the new layout captures composite keys, the seed rows
 * queued at init (several rows in one statement) and a REPLACE that
 * deletes two rows through two UNIQUE indexes included. With broken, A
 * has a trigger of the app's that names a table gone, which makes SQLite
 * refuse any DROP COLUMN: the old columns stay, NULL, and are dropped by
 * the reconcile after the trigger is.
 */
static void log_upgrade(int broken)
{
	tu_net N;
	tu_net_open(&N, 2, "caplog", CAPLOG_SCHEMA,
		    "INSERT INTO single VALUES ('s1', 'a'), ('s2', 'b');"
		    "INSERT INTO pair VALUES ('p', 1, 'a'), ('p', 2, 'b'),"
		    " ('q', 1, 'c');"
		    "INSERT INTO tri VALUES ('t', 1, x'01', 'a'), ('t', 1, x'02',"
		    " 'b');"
		    "INSERT INTO uq VALUES ('x', 1, 'p', 'q'), ('y', 2, 'r', 's')");
	tu_net_init(&N, NULL);
	sqlite3 *a = N.s[0].app, *b = N.s[1].app;
	TU_CHECK(count(a, "SELECT count(*) FROM hubsync_changes_key") == 7,
		 "the seed rows' keys: %d side rows",
		 count(a, "SELECT count(*) FROM hubsync_changes_key"));
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(b, "tri", "v", "x = 't' AND z = x'02'", "'b'");

	if (broken)
		tu_exec(a, "CREATE TABLE gone (y); CREATE TRIGGER junk_gone AFTER"
			   " INSERT ON junk BEGIN INSERT INTO gone VALUES"
			   " (NEW.x); END; DROP TABLE gone");
	/* A as version 2 left it: the log's old columns, old triggers */
	static const char *const pk2[] = {"a", "b"}, *const pk3[] = {"x", "y", "z"};
	old_triggers(a, "pair", (int)tu_int(a, -1, "SELECT id FROM hubsync_tables"
						   " WHERE name = 'pair'"), pk2, 2, 4);
	old_triggers(a, "tri", (int)tu_int(a, -1, "SELECT id FROM hubsync_tables"
						  " WHERE name = 'tri'"), pk3, 3, 8);
	tu_exec(a, "ALTER TABLE hubsync_changes ADD COLUMN k2;"
		   "ALTER TABLE hubsync_changes ADD COLUMN k3;"
		   "ALTER TABLE hubsync_changes ADD COLUMN k4;"
		   "UPDATE hubsync_changes SET (k2, k3, k4) = (SELECT k2, k3, k4"
		   " FROM hubsync_changes_key AS x WHERE x.id ="
		   " hubsync_changes.id);"
		   "DROP TABLE hubsync_changes_key;"
		   "UPDATE hubsync_meta SET value = (2 << 32) | (SELECT"
		   " schema_version FROM pragma_schema_version) WHERE key ="
		   " 'schema_version'");
	/* offline writes through the old triggers */
	int64_t top0 = tu_int(a, 0, "SELECT max(id) FROM hubsync_changes");
	tu_exec(a, "INSERT INTO pair VALUES ('p', 3, 'new'), ('r', 1, 'new');"
		   "UPDATE pair SET v = 'changed' WHERE a = 'p' AND b = 1;"
		   "DELETE FROM pair WHERE a = 'q' AND b = 1;"
		   "INSERT INTO tri VALUES ('t', 2, x'01', 'new');"
		   "UPDATE tri SET v = 'changed' WHERE z = x'02';"
		   "DELETE FROM tri WHERE y = 1 AND z = x'01';"
		   "INSERT INTO single VALUES ('s3', 'new');"
		   "UPDATE single SET v = 'changed' WHERE id = 's1'");
	TU_CHECK(tu_int(a, -1, "SELECT count(*) FROM hubsync_changes WHERE id >"
			       " %lld AND k2 IS NOT NULL", (long long)top0) == 7 &&
		 count(a, "SELECT count(*) FROM hubsync_changes WHERE k3 = x'01'") == 2,
		 "the old triggers did not write the old layout");
	/* the upgrade before any push: a sync that cannot reach its master
	 * has reconciled first */
	char *master = tu_text(a, "SELECT value FROM hubsync_meta WHERE key ="
				  " 'master'");
	tu_exec(a, "UPDATE hubsync_meta SET value = '/nonexistent-hubsync/m.db'"
		   " WHERE key = 'master'");
	TU_CHECK(tu_site_sync_rc(&N.s[0], NULL) != 0,
		 "a sync without its master succeeded");
	tu_exec(a, "UPDATE hubsync_meta SET value = '%s' WHERE key = 'master'",
		master ? master : "");
	free(master);
	TU_CHECK(count(a, "SELECT count(*) FROM pragma_table_info("
			  "'hubsync_changes') WHERE name IN ('k2', 'k3', 'k4')") ==
			 (broken ? 3 : 0),
		 "the log after the upgrade: its old columns (broken %d)", broken);
	TU_CHECK(tu_int(a, -1, "SELECT count(*) FROM hubsync_changes AS c JOIN"
			       " hubsync_changes_key AS x USING (id) WHERE c.id >"
			       " %lld", (long long)top0) == 7 &&
		 tu_int(a, -1, "SELECT count(*) FROM hubsync_changes AS c JOIN"
			       " hubsync_changes_key AS x USING (id) WHERE c.id >"
			       " %lld AND x.k3 = x'01'", (long long)top0) == 2,
		 "the pending entries' keys were not moved");
	if (broken)
		TU_CHECK(count(a, "SELECT count(*) FROM hubsync_changes WHERE k2 IS"
				  " NOT NULL OR k3 IS NOT NULL") == 0,
			 "keys left in the old columns");
	TU_CHECK(count(a, "SELECT count(*) FROM sqlite_master WHERE name IN"
			  " ('hubsync_updk_pair', 'hubsync_updk_tri')") == 2,
		 "the triggers were not re-created");
	tu_site_sync(&N.s[0], 0);
	tu_site_sync(&N.s[1], 0);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(b, "pair", "v", "a = 'p' AND b = 3", "'new'");
	TU_CHECK_CELL(b, "pair", "v", "a = 'r' AND b = 1", "'new'");
	TU_CHECK_CELL(b, "pair", "v", "a = 'p' AND b = 1", "'changed'");
	TU_CHECK(count(b, "SELECT count(*) FROM pair WHERE a = 'q'") == 0 &&
		 count(b, "SELECT count(*) FROM pair") == 4,
		 "pair on B: the delete did not arrive");
	TU_CHECK_CELL(b, "tri", "v", "y = 2", "'new'");
	TU_CHECK_CELL(b, "tri", "v", "z = x'02'", "'changed'");
	TU_CHECK(count(b, "SELECT count(*) FROM tri") == 2,
		 "tri on B: %d rows", count(b, "SELECT count(*) FROM tri"));
	TU_CHECK_CELL(b, "single", "v", "id = 's3'", "'new'");
	TU_CHECK_CELL(b, "single", "v", "id = 's1'", "'changed'");

	/* the new layout: composite keys both ways, a REPLACE's two deletes */
	int64_t top = tu_int(a, 0, "SELECT max(id) FROM hubsync_changes");
	tu_exec(a, "UPDATE pair SET v = 'again' WHERE a = 'p' AND b = 2;"
		   "UPDATE pair SET b = 9 WHERE a = 'r';"
		   "DELETE FROM tri WHERE y = 2;"
		   "REPLACE INTO uq VALUES ('z', 3, 'p', 's')");
	TU_CHECK(tu_int(a, -1, "SELECT count(*) FROM hubsync_changes WHERE id >"
			       " %lld", (long long)top) == 7 &&
		 tu_int(a, -1, "SELECT count(*) FROM hubsync_changes AS c JOIN"
			       " hubsync_changes_key AS x USING (id) WHERE c.id >"
			       " %lld", (long long)top) == 7,
		 "the new layout: entries without their key's other columns");
	char *dels = tu_text(a, "SELECT group_concat(k, ',') FROM (SELECT c.k1 ||"
				" x.k2 AS k FROM hubsync_changes AS c JOIN"
				" hubsync_changes_key AS x USING (id) WHERE c.id >"
				" %lld AND c.op = 3 AND c.tbl = (SELECT id FROM"
				" hubsync_tables WHERE name = 'uq') ORDER BY k)",
			     (long long)top);
	TU_CHECK(dels && strcmp(dels, "x1,y2") == 0,
		 "the REPLACE's deletes logged as %s", dels ? dels : "(none)");
	free(dels);
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(b, "pair", "v", "a = 'p' AND b = 2", "'again'");
	TU_CHECK_CELL(b, "pair", "v", "a = 'r' AND b = 9", "'new'");
	TU_CHECK(count(b, "SELECT count(*) FROM tri") == 1 &&
		 count(b, "SELECT count(*) FROM uq") == 1,
		 "tri / uq on B: %d / %d rows", count(b, "SELECT count(*) FROM tri"),
		 count(b, "SELECT count(*) FROM uq"));
	TU_CHECK(count(a, "SELECT count(*) FROM hubsync_changes_key WHERE id NOT"
			  " IN (SELECT id FROM hubsync_changes)") == 0,
		 "side rows of pushed entries stayed");
	/* rows an UPDATE leaves as they were write no entry, and no side row
	 * (the side row follows the entry's own insert: changes()) */
	top = tu_int(a, 0, "SELECT max(id) FROM hubsync_changes");
	tu_exec(a, "UPDATE pair SET v = v; UPDATE pair SET v = 'again' WHERE"
		   " a = 'p'");
	char *keys = tu_text(a, "SELECT group_concat(k, ',') FROM (SELECT c.k1 ||"
				" x.k2 AS k FROM hubsync_changes AS c JOIN"
				" hubsync_changes_key AS x USING (id) WHERE c.id >"
				" %lld ORDER BY k)", (long long)top);
	TU_CHECK(keys && strcmp(keys, "p1,p3") == 0 &&
		 tu_int(a, -1, "SELECT count(*) FROM hubsync_changes WHERE id >"
			       " %lld", (long long)top) == 2 &&
		 tu_int(a, -1, "SELECT count(*) FROM hubsync_changes_key WHERE id >"
			       " %lld", (long long)top) == 2,
		 "an UPDATE of 3 rows, 2 changed, logged %s", keys ? keys : "(none)");
	free(keys);
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(b, "pair", "v", "a = 'p' AND b = 3", "'again'");
	if (broken) { /* the app mends its trigger: the columns go */
		tu_exec(a, "DROP TRIGGER junk_gone");
		tu_site_sync(&N.s[0], 0);
		TU_CHECK(count(a, "SELECT count(*) FROM pragma_table_info("
				  "'hubsync_changes') WHERE name = 'k2'") == 0,
			 "the old columns outlived the broken trigger");
		tu_exec(a, "UPDATE tri SET v = 'last'");
		tu_net_sync_all(&N, 2);
		tu_net_check_converged(&N, NULL);
		TU_CHECK_CELL(b, "tri", "v", "z = x'02'", "'last'");
	}
	tu_net_close(&N);
}

static void capture_log_upgrade(void)
{
	log_upgrade(0);
}

static void capture_log_upgrade_kept(void)
{
	log_upgrade(1);
}

/*
 * A pull of 1,000 rows or more is applied with the capture triggers set
 * aside (sync.c, BULK_APPLY_ROWS): afterwards they are all back, as they
 * were, the schema mark follows them (no reconcile taken for a schema
 * change), and the app's writes of every kind are captured as before,
 * the REPLACE of a pulled row by column.
 */
static void bulk_pull_keeps_capture(void)
{
	tu_net N;
	tu_net_open(&N, 2, "bulk", "CREATE TABLE bulk (id TEXT PRIMARY KEY,"
		    " name TEXT, cnt INTEGER)", NULL);
	tu_net_init(&N, NULL);
	sqlite3 *a = N.s[0].app, *b = N.s[1].app;
	tu_net_sync_all(&N, 1); /* both reconciled */
	tu_exec(a, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		   " FROM c WHERE i < 1500) INSERT INTO bulk SELECT 'k' || i,"
		   " 'n' || i, i FROM c");
	tu_site_sync(&N.s[0], 0);
	char *before = tu_text(b, "SELECT group_concat(name || ':' || sql, '|')"
				  " FROM (SELECT name, sql FROM sqlite_schema"
				  " WHERE type = 'trigger' ORDER BY name)");
	int64_t changes0 = tu_int(b, -1, "SELECT count(*) FROM hubsync_changes");
	tu_site_sync(&N.s[1], 0); /* the bulk pull */
	char *after = tu_text(b, "SELECT group_concat(name || ':' || sql, '|')"
				 " FROM (SELECT name, sql FROM sqlite_schema"
				 " WHERE type = 'trigger' ORDER BY name)");
	TU_CHECK(before && after && strcmp(before, after) == 0,
		 "the capture triggers differ after a bulk pull");
	TU_CHECK(count(b, "SELECT count(*) FROM bulk") == 1500,
		 "the bulk pull applied %d rows", count(b, "SELECT count(*) FROM bulk"));
	TU_CHECK(tu_int(b, -1, "SELECT count(*) FROM hubsync_changes") <= changes0 + 1,
		 "the bulk pull logged its own rows as changes");
	TU_CHECK(tu_int(b, -1, "SELECT (value & 4294967295) = (SELECT"
			       " schema_version FROM pragma_schema_version)"
			       " FROM hubsync_meta WHERE key = 'schema_version'") == 1,
		 "the schema mark did not follow the triggers' DDL");
	free(before);
	free(after);
	/* the app writes on B: every kind is captured and reaches A */
	tu_exec(b, "INSERT INTO bulk VALUES ('new', 'fresh', 0);"
		   "UPDATE bulk SET cnt = -2 WHERE id = 'k2';"
		   "DELETE FROM bulk WHERE id = 'k3';"
		   "INSERT OR REPLACE INTO bulk VALUES ('k4', 'n4', 44);"
		   "UPDATE bulk SET id = 'k5x' WHERE id = 'k5'");
	tu_site_sync(&N.s[1], 0);
	tu_site_sync(&N.s[0], 0);
	TU_CHECK_CELL(a, "bulk", "name", "id = 'new'", "'fresh'");
	TU_CHECK_CELL(a, "bulk", "cnt", "id = 'k2'", "-2");
	TU_CHECK(count(a, "SELECT count(*) FROM bulk WHERE id IN ('k3', 'k5')") == 0,
		 "a delete or a key change did not reach A");
	TU_CHECK_CELL(a, "bulk", "cnt", "id = 'k4'", "44");
	TU_CHECK_CELL(a, "bulk", "cnt", "id = 'k5x'", "5");
	/* A changed another column of k4 meanwhile: B's REPLACE was logged
	 * by column (only cnt), so A's name survives the next round */
	tu_exec(a, "UPDATE bulk SET name = 'a-name' WHERE id = 'k6'");
	tu_exec(b, "INSERT OR REPLACE INTO bulk VALUES ('k6', 'n6', 66)");
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	TU_CHECK_CELL(b, "bulk", "name", "id = 'k6'", "'a-name'");
	TU_CHECK_CELL(b, "bulk", "cnt", "id = 'k6'", "66");
	tu_net_close(&N);
}

/* ---- 3. the app's triggers ------------------------------------------ */

static const char *TRIGGERED =
	"CREATE TABLE quotes (id INTEGER PRIMARY KEY, title TEXT,"
	" amount REAL, changed_at TEXT);"
	"CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" quote INTEGER, what TEXT);"
	"CREATE TABLE totals (k TEXT PRIMARY KEY, n INTEGER, sum REAL);"
	"INSERT INTO totals VALUES ('all', 0, 0);"
	"CREATE TRIGGER quotes_ai AFTER INSERT ON quotes BEGIN"
	" INSERT INTO audit(quote, what) VALUES (NEW.id, 'insert');"
	" UPDATE totals SET n = n + 1, sum = sum + NEW.amount WHERE k = 'all';"
	" END;"
	"CREATE TRIGGER quotes_au AFTER UPDATE OF title, amount ON quotes BEGIN"
	" INSERT INTO audit(quote, what) VALUES (NEW.id, 'update');"
	" UPDATE totals SET sum = sum - OLD.amount + NEW.amount WHERE k = 'all';"
	" UPDATE quotes SET changed_at = 'stamped' WHERE id = NEW.id;"
	" END;"
	"CREATE VIRTUAL TABLE quotes_fts USING fts5(title, content='quotes',"
	" content_rowid='id');"
	"CREATE TRIGGER quotes_fts_ai AFTER INSERT ON quotes BEGIN"
	" INSERT INTO quotes_fts(rowid, title) VALUES (NEW.id, NEW.title); END;"
	"CREATE TRIGGER quotes_fts_au AFTER UPDATE ON quotes BEGIN"
	" INSERT INTO quotes_fts(quotes_fts, rowid, title)"
	" VALUES ('delete', OLD.id, OLD.title);"
	" INSERT INTO quotes_fts(rowid, title) VALUES (NEW.id, NEW.title); END;";

/* Tables of the triggered schema on every PC equal the master's. */
static void check_tables_converged(tu_net *N, const char *const *tables,
				   int n)
{
	sqlite3 *m = tu_master_view(N->master, &N->s[0]);
	for (int i = 0; i < N->n; i++)
		for (int t = 0; t < n; t++) {
			char *why = NULL;
			TU_CHECK(!tu_table_diff(N->s[i].app, m, tables[t], NULL,
						&why),
				 "%s: %s", N->s[i].name, why);
		}
	tu_master_view_done(N->master, m);
}

/* Three PCs: alice adds a quote, bob changes its amount while carol adds
 * another; then alice and bob add one each, concurrently. */
static void triggered_edits(tu_net *N)
{
	tu_net_sync_all(N, 1);
	tu_exec(N->s[0].app, "INSERT INTO quotes(id, title, amount) VALUES"
			     " (1, 'conveyor', 100)");
	tu_net_sync_all(N, 2);
	tu_exec(N->s[1].app, "UPDATE quotes SET amount = 150 WHERE id = 1");
	tu_exec(N->s[2].app, "INSERT INTO quotes(id, title, amount) VALUES"
			     " (2, 'palletizer', 50)");
	tu_net_sync_all(N, 2);
}

/* By default the tables the app's triggers fill (audit, totals) are each
 * PC's own: the triggers keep them up to date from the synced rows, so
 * every PC has the right total and its own audit of what it saw. */
static void app_triggers_default(void)
{
	tu_net N;
	static const char *synced[] = {"quotes"};
	tu_net_open(&N, 3, "app", TRIGGERED, NULL);
	tu_net_init(&N, NULL);
	TU_CHECK(strstr(hs_replica_warning(N.s[0].hs), "audit") &&
		 strstr(hs_replica_warning(N.s[0].hs), "totals"),
		 "init did not say that audit and totals stay local: '%s'",
		 hs_replica_warning(N.s[0].hs));
	triggered_edits(&N);
	tu_exec(N.s[0].app, "INSERT INTO quotes(id, title, amount) VALUES"
			    " (10, 'a', 1)");
	tu_exec(N.s[1].app, "INSERT INTO quotes(id, title, amount) VALUES"
			    " (11, 'b', 2)");
	tu_net_sync_all(&N, 2);
	check_tables_converged(&N, synced, 1);
	for (int i = 0; i < 3; i++) {
		TU_CHECK_CELL(N.s[i].app, "totals", "sum", "k = 'all'", "203.0");
		TU_CHECK_CELL(N.s[i].app, "totals", "n", "k = 'all'", "4");
		/* 4 inserts and bob's update, as seen on this PC; stamps
		 * pulled from others fire no "UPDATE OF title, amount" */
		TU_CHECK(count(N.s[i].app, "SELECT count(*) FROM audit") == 5,
			 "%s: audit has %d rows, want 5", N.s[i].name,
			 count(N.s[i].app, "SELECT count(*) FROM audit"));
		TU_CHECK(count(N.s[i].app, "SELECT count(*) FROM quotes_fts WHERE"
					   " quotes_fts MATCH 'palletizer'") == 1,
			 "%s: the FTS index misses a pulled row", N.s[i].name);
	}
	/* the app's own stamp, made where the edit was made, travelled, and
	 * applying it did not stamp again */
	TU_CHECK_CELL(N.s[0].app, "quotes", "changed_at", "id = 1", "'stamped'");
	TU_CHECK_CELL(N.s[2].app, "quotes", "changed_at", "id = 2", "NULL");
	tu_net_close(&N);
}

/* Tracked on purpose, they are office-wide: each app event once, the
 * same rows everywhere (a running total then merges like any value). */
static void app_triggers_tracked(void)
{
	tu_net N;
	static const char *synced[] = {"quotes", "audit", "totals"};
	tu_net_open(&N, 3, "app", TRIGGERED, NULL);
	tu_net_init(&N, "quotes,audit,totals");
	triggered_edits(&N);
	check_tables_converged(&N, synced, 3);
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM audit") == 3,
		 "audit has %d rows, want 3 (insert, update, insert)",
		 count(N.s[0].app, "SELECT count(*) FROM audit"));
	TU_CHECK(count(N.s[2].app, "SELECT count(*) FROM audit WHERE what ="
				   " 'update'") == 1, "one update in the audit");
	TU_CHECK_CELL(N.s[0].app, "quotes", "changed_at", "id = 1", "'stamped'");
	for (int i = 0; i < 3; i++)
		TU_CHECK(count(N.s[i].app, "SELECT count(*) FROM quotes_fts WHERE"
					   " quotes_fts MATCH 'palletizer'") == 1,
			 "%s: the FTS index misses a pulled row", N.s[i].name);
	tu_exec(N.s[0].app, "INSERT INTO quotes(id, title, amount) VALUES"
			    " (10, 'a', 1)");
	tu_exec(N.s[1].app, "INSERT INTO quotes(id, title, amount) VALUES"
			    " (11, 'b', 2)");
	tu_net_sync_all(&N, 2);
	check_tables_converged(&N, synced, 3);
	TU_CHECK(count(N.s[1].app, "SELECT count(*) FROM audit") == 5,
		 "audit has %d rows, want 5",
		 count(N.s[1].app, "SELECT count(*) FROM audit"));
	tu_net_close(&N);
}

/* ---- 4. app upgrades -------------------------------------------------- */

#define SHOP \
	"CREATE TABLE quotes (id TEXT PRIMARY KEY, title TEXT, total REAL);" \
	"CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);"

static void upgrade_add_column(void)
{
	tu_net N;
	tu_net_open(&N, 3, "app", SHOP, NULL);
	tu_master_require_file(N.master);
	tu_net_init(&N, NULL);
	tu_exec(N.s[0].app, "INSERT INTO quotes VALUES ('q1', 'a', 1), ('q2',"
			    " 'b', 2)");
	tu_net_sync_all(&N, 1);
	/* alice upgrades; bob and carol still run the old version */
	tu_exec(N.s[0].app, "ALTER TABLE quotes ADD COLUMN discount REAL"
			    " DEFAULT 0;"
			    "UPDATE quotes SET discount = 0.1 WHERE id = 'q1'");
	tu_exec(N.s[1].app, "INSERT INTO notes VALUES ('n1', 'hi');"
			    "UPDATE quotes SET title = 'b2' WHERE id = 'q2'");
	tu_net_sync_all(&N, 2);
	sqlite3 *m = tu_db_open(N.master, 1);
	TU_CHECK_CELL(m, "quotes", "discount", "id = 'q1'", "0.1");
	/* old PCs: other tables and columns keep syncing */
	TU_CHECK_CELL(N.s[2].app, "notes", "body", "id = 'n1'", "'hi'");
	TU_CHECK_CELL(N.s[0].app, "quotes", "title", "id = 'q2'", "'b2'");
	/* an old PC's edit of the row never blanks the new column */
	tu_exec(N.s[1].app, "UPDATE quotes SET total = 5 WHERE id = 'q1';"
			    "INSERT OR REPLACE INTO quotes VALUES ('q1', 'a', 6)");
	tu_exec(N.s[1].app, "INSERT INTO quotes VALUES ('q3', 'c', 3)");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(m, "quotes", "discount", "id = 'q1'", "0.1");
	TU_CHECK_CELL(N.s[0].app, "quotes", "discount", "id = 'q1'", "0.1");
	TU_CHECK_CELL(N.s[0].app, "quotes", "total", "id = 'q1'", "6.0");
	TU_CHECK_CELL(N.s[0].app, "quotes", "discount", "id = 'q3'", "0.0");
	/* carol upgrades later: the values come with her next sync */
	tu_exec(N.s[2].app, "ALTER TABLE quotes ADD COLUMN discount REAL"
			    " DEFAULT 0");
	tu_net_sync_all(&N, 1);
	TU_CHECK_CELL(N.s[2].app, "quotes", "discount", "id = 'q1'", "0.1");
	tu_net_sync_all(&N, 1);
	tu_net_check_converged(&N, NULL);
	sqlite3_close(m);
	tu_net_close(&N);
}

static void upgrade_tables(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", SHOP, NULL);
	tu_net_init(&N, NULL);
	tu_net_sync_all(&N, 1);
	/* a new table on alice's PC: tracked by itself ("all tables") */
	tu_exec(N.s[0].app, "CREATE TABLE parts (sku TEXT PRIMARY KEY, price"
			    " REAL); INSERT INTO parts VALUES ('p1', 9.5)");
	tu_exec(N.s[1].app, "CREATE TABLE parts (sku TEXT PRIMARY KEY, price"
			    " REAL)");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "parts", "price", "sku = 'p1'", "9.5");
	TU_CHECK(strstr(hs_replica_warning(N.s[0].hs), "parts") ||
		 count(N.s[0].app, "SELECT count(*) FROM hubsync_tables WHERE"
				   " name = 'parts'") == 1, "parts tracked");
	/* a dropped table is untracked on that PC, with a warning */
	tu_exec(N.s[1].app, "DROP TABLE notes");
	tu_exec(N.s[0].app, "INSERT INTO notes VALUES ('n', 'still')");
	tu_now_ms += 100;
	char *doc = tu_site_sync(&N.s[1], 1);
	TU_CHECK(strstr(hs_replica_warning(N.s[1].hs), "notes") != NULL,
		 "no warning for the dropped table: '%s'",
		 hs_replica_warning(N.s[1].hs));
	hs_free(doc);
	tu_net_sync_all(&N, 2);
	TU_CHECK(count(N.s[1].app, "SELECT count(*) FROM hubsync_tables WHERE"
				   " name = 'notes'") == 0, "notes untracked");
	/* a renamed column: that table is left out with what to do, the
	 * others keep syncing */
	tu_exec(N.s[1].app, "ALTER TABLE parts RENAME COLUMN price TO cost");
	tu_exec(N.s[1].app, "INSERT INTO quotes VALUES ('q9', 'x', 1)");
	tu_now_ms += 100;
	char *msg = sync_fails(&N.s[1]);
	TU_CHECK(strstr(msg, "price") && strstr(msg, "untrack") &&
		 !strchr(msg, '\n'), "message: %s", msg);
	free(msg);
	tu_now_ms += 100;
	tu_site_sync(&N.s[0], 0);
	TU_CHECK_CELL(N.s[0].app, "quotes", "title", "id = 'q9'", "'x'");
	/* untrack + track: synced as it is now */
	const char *parts[] = {"parts"};
	TU_CHECK(hs_replica_untrack(N.s[1].hs, parts, 1) == HS_OK, "untrack: %s",
		 hs_replica_errmsg(N.s[1].hs));
	TU_CHECK(hs_replica_track(N.s[1].hs, parts, 1) == HS_OK, "track: %s",
		 hs_replica_errmsg(N.s[1].hs));
	tu_exec(N.s[1].app, "UPDATE parts SET cost = 11 WHERE sku = 'p1'");
	tu_net_sync_all(&N, 2);
	/* (through bob's replica for a master that is not a file: alice's
	 * parts has no column cost) */
	sqlite3 *m = tu_master_view(N.master, &N.s[1]);
	TU_CHECK_CELL(m, "parts", "cost", "sku = 'p1'", "11.0");
	tu_master_view_done(N.master, m);
	tu_net_close(&N);
}

/* With --tables, a new table is listed as not synced until `track`. */
static void new_table_listed(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", SHOP, NULL);
	tu_net_init(&N, "quotes,notes");
	tu_exec(N.s[0].app, "CREATE TABLE extra (id TEXT PRIMARY KEY, v);"
			    "INSERT INTO extra VALUES ('e', 1)");
	tu_net_sync_all(&N, 1);
	char *d = NULL;
	TU_CHECK(hs_replica_status_json(N.s[0].hs, &d) == HS_OK, "status");
	json_t *st = tu_json_take(d);
	json_t *un = json_object_get(st, "untrackedTables"), *u;
	size_t i;
	int found = 0;
	json_array_foreach(un, i, u)
		found |= !strcmp(json_string_value(json_object_get(u, "table")),
				 "extra");
	TU_CHECK(found, "extra not listed as untracked");
	json_decref(st);
	const char *t[] = {"extra"};
	TU_CHECK(hs_replica_track(N.s[0].hs, t, 1) == HS_OK, "track: %s",
		 hs_replica_errmsg(N.s[0].hs));
	tu_exec(N.s[1].app, "CREATE TABLE extra (id TEXT PRIMARY KEY, v)");
	TU_CHECK(hs_replica_track(N.s[1].hs, t, 1) == HS_OK, "track");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "extra", "v", "id = 'e'", "1");
	tu_net_close(&N);
}

/* Five PCs upgrade one by one over several rounds, with writes
 * throughout: every table keeps syncing, nothing is blanked, all agree. */
static void rolling_upgrade(void)
{
	tu_net N;
	tu_net_open(&N, 5, "app", SHOP, NULL);
	tu_net_init(&N, NULL);
	int upgraded[5] = {0};
	for (int round = 0; round < 8; round++) {
		if (round >= 1 && round <= 5) {
			int pc = (round * 3) % 5; /* 3, 1, 4, 2, 0 */
			tu_exec(N.s[pc].app, "ALTER TABLE quotes ADD COLUMN discount"
					     " REAL; CREATE TABLE IF NOT EXISTS"
					     " parts (sku TEXT PRIMARY KEY, price"
					     " REAL)");
			upgraded[pc] = 1;
		}
		for (int pc = 0; pc < 5; pc++) {
			tu_exec(N.s[pc].app, "INSERT OR REPLACE INTO quotes(id, title,"
					     " total) VALUES ('q%d-%d', 't', %d)",
				pc, round, round);
			tu_exec(N.s[pc].app, "INSERT OR REPLACE INTO notes VALUES"
					     " ('n%d', 'r%d')", pc, round);
			if (upgraded[pc]) {
				tu_exec(N.s[pc].app, "UPDATE quotes SET discount ="
						     " %d.5 WHERE id LIKE 'q%%-%d'",
					pc, round > 0 ? round - 1 : 0);
				tu_exec(N.s[pc].app, "INSERT OR REPLACE INTO parts"
						     " VALUES ('p%d', %d)", pc, round);
			}
			tu_now_ms += 50;
			tu_site_sync(&N.s[pc], 0);
		}
	}
	tu_net_sync_all(&N, 2);
	tu_net_check_converged(&N, NULL);
	sqlite3 *m = tu_master_view(N.master, &N.s[0]);
	TU_CHECK(count(m, "SELECT count(*) FROM quotes") == 40, "40 quotes");
	TU_CHECK(count(m, "SELECT count(*) FROM quotes WHERE discount IS NOT"
			  " NULL") > 0, "discounts reached the master");
	TU_CHECK(count(m, "SELECT count(*) FROM parts") == 5, "5 parts");
	tu_master_view_done(N.master, m);
	tu_net_close(&N);
}

/* ---- 5. track, untrack, uninstall, relocate ---------------------------- */

static void uninstall_restores(int stamp)
{
	tu_net N;
	tu_init_stamp = stamp;
	tu_net_open(&N, 2, "app", APP_SCHEMA "CREATE TABLE t2 (k TEXT PRIMARY"
					     " KEY, v);",
		    "INSERT INTO t2 VALUES ('a', 1)");
	char *before = app_schema(N.s[0].app);
	tu_net_init(&N, NULL);
	tu_exec(N.s[1].app, "INSERT INTO t2(k, v) VALUES ('b', 2)");
	tu_net_sync_all(&N, 2);
	tu_exec(N.s[0].app, "INSERT INTO t2(k, v) VALUES ('c', 3)");
	TU_CHECK(hs_replica_uninstall(N.s[0].hs) == HS_OK, "uninstall: %s",
		 hs_replica_errmsg(N.s[0].hs));
	char *after = app_schema(N.s[0].app);
	TU_CHECK(!strcmp(before, after), "schema after uninstall:\n%s\nbefore:"
		 "\n%s", after, before);
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM sqlite_master WHERE"
				   " name LIKE 'hubsync%' OR name = 'sync_log'")
			 == 0, "hubsync objects left");
	TU_CHECK(count(N.s[0].app, "SELECT count(*) FROM t2") == 3,
		 "data kept (a, b from bob, c written since)");
	/* the app writes on; bob syncs on as before */
	tu_exec(N.s[0].app, "INSERT INTO t2(k, v) VALUES ('d', 4)");
	tu_site_sync(&N.s[1], 0);
	free(before);
	free(after);
	tu_net_close(&N);
}

static void uninstall_plain(void) { uninstall_restores(0); }
static void uninstall_stamped(void) { uninstall_restores(1); }

static void relocate_same_master(void)
{
	tu_net N;
	char moved[800], link[700], other[700];
	tu_net_open(&N, 2, "app", SHOP, NULL);
	tu_master_require_file(N.master);
	tu_net_init(&N, NULL);
	tu_exec(N.s[0].app, "INSERT INTO notes VALUES ('n1', 'x')");
	tu_net_sync_all(&N, 1);
	/* the same master through another path (a new mount point), or a
	 * server by another name */
	snprintf(link, sizeof(link), "%s/Z", N.dir);
	TU_CHECK(symlink(N.dir, link) == 0, "symlink");
	snprintf(moved, sizeof(moved), "%s/master.db", link);
	if (tu_server_url(N.master))
		snprintf(moved, sizeof(moved), "http://localhost:%s",
			 strrchr(tu_server_url(N.master), ':') + 1);
	TU_CHECK(hs_replica_relocate(N.s[0].hs, moved) == HS_OK, "relocate: %s",
		 hs_replica_errmsg(N.s[0].hs));
	char *doc = tu_site_sync(&N.s[0], 1);
	json_t *j = tu_json_take(doc);
	TU_CHECK(json_integer_value(json_object_get(j, "pushed")) == 0 &&
			 json_object_size(json_object_get(json_object_get(j, "stats"),
							  "pushed")) == 0,
		 "relocate sent rows again");
	json_decref(j);
	/* a different master is refused and nothing changes */
	snprintf(other, sizeof(other), "%s/other.db", N.dir);
	tu_site s;
	tu_site_open(&s, N.dir, "eve", 0);
	tu_exec(s.app, "%s", SHOP);
	tu_site_init(&s, other, NULL);
	tu_site_close(&s);
	TU_CHECK(hs_replica_relocate(N.s[0].hs, other) == HS_EINVALID,
		 "another master accepted");
	char *m = tu_text(N.s[0].app, "SELECT value FROM hubsync_meta WHERE key ="
				      " 'master'");
	TU_CHECK(m && !strcmp(m, moved), "master changed to %s", m);
	free(m);
	tu_net_close(&N);
}

/* ---- 6. each PC is its own site --------------------------------------- */

static void same_user_two_pcs(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", SHOP, "INSERT INTO notes VALUES ('n', 'base')");
	/* both PCs log in as "office" */
	strcpy(N.s[0].name, "office");
	tu_site_init(&N.s[0], N.master, NULL);
	strcpy(N.s[1].name, "office");
	tu_site_init(&N.s[1], N.master, NULL);
	TU_CHECK(strstr(hs_replica_warning(N.s[1].hs), "office") != NULL,
		 "init gave no warning: '%s'", hs_replica_warning(N.s[1].hs));
	tu_net_sync_all(&N, 2);
	tu_exec(N.s[0].app, "UPDATE notes SET body = 'from pc1'");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE notes SET body = 'from pc2'");
	tu_net_sync_all(&N, 2);
	for (int i = 0; i < 2; i++) {
		json_t *c = tu_site_conflicts(&N.s[i], 0);
		TU_CHECK(json_array_size(c) == 1, "%s: one conflict", N.s[i].name);
		json_t *x = json_array_get(c, 0);
		const char *mine = i == 0 ? "'from pc1'" : "'from pc2'";
		char *lv = tu_json_to_quote(json_object_get(x, "local_value"));
		TU_CHECK(!strcmp(lv, mine), "pc%d: local is %s, want %s", i + 1,
			 lv, mine);
		free(lv);
		json_decref(c);
	}
	/* pc1 keeps its own value: "local" is pc1's */
	json_t *c = tu_site_conflicts(&N.s[0], 0);
	int64_t id = json_integer_value(json_object_get(json_array_get(c, 0), "id"));
	json_decref(c);
	TU_CHECK(hs_replica_resolve(N.s[0].hs, id, HS_KEEP_LOCAL) == HS_OK,
		 "resolve");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "notes", "body", "id = 'n'", "'from pc1'");
	tu_net_close(&N);
}

/* ---- 7. virtual tables, 9. number blocks ------------------------------ */

static void virtual_tables_skipped(void)
{
	tu_net N;
	tu_net_open(&N, 2, "app", SHOP "CREATE VIRTUAL TABLE search USING"
					" fts5(body); CREATE VIRTUAL TABLE box USING"
					" rtree(id, x0, x1);",
		    "INSERT INTO notes VALUES ('n', 'x')");
	tu_net_init(&N, NULL); /* no refusal */
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "notes", "body", "id = 'n'", "'x'");
	char *d = NULL;
	TU_CHECK(hs_replica_status_json(N.s[0].hs, &d) == HS_OK, "status");
	TU_CHECK(strstr(d, "\"search\"") && strstr(d, "virtual") &&
		 strstr(d, "\"box\""), "virtual tables not listed: %s", d);
	hs_free(d);
	tu_net_close(&N);
}

static void number_blocks_every_series(void)
{
	tu_net N;
	int64_t n1, n2;
	tu_net_open(&N, 2, "app", SHOP, NULL);
	tu_master_require_file(N.master);
	tu_net_init(&N, NULL);
	TU_CHECK(hs_replica_number_next(N.s[0].hs, "quote", &n1) == HS_OK,
		 "alice's first number: %s", hs_replica_errmsg(N.s[0].hs));
	tu_net_sync_all(&N, 1);
	/* bob never drew one; the share goes away */
	char gone[700];
	snprintf(gone, sizeof(gone), "%s.away", N.master);
	TU_CHECK(rename(N.master, gone) == 0, "rename");
	TU_CHECK(hs_replica_number_next(N.s[1].hs, "quote", &n2) == HS_OK,
		 "bob has no quote block offline: %s",
		 hs_replica_errmsg(N.s[1].hs));
	TU_CHECK(n1 != n2, "the same number twice");
	TU_CHECK(rename(gone, N.master) == 0, "rename back");
	tu_net_close(&N);
}

/* After the first sync (which reconciles once after init), syncs change
 * no schema: no table made on first use, so no reconcile re-creating the
 * capture triggers at the next sync (each a write transaction of its own,
 * and DDL the app's other connections must re-read). */
static void syncs_leave_schema(void)
{
	tu_net N;
	int64_t sv[2];
	tu_net_open(&N, 2, "app", SHOP, NULL);
	tu_net_init(&N, NULL);
	for (int i = 0; i < 2; i++)
		TU_CHECK(count(N.s[i].app, "SELECT count(*) FROM sqlite_master"
					   " WHERE name IN ('hubsync_blocks',"
					   " 'hubsync_series', 'hubsync_peers')") == 3,
			 "site %d: init made not all of hubsync's tables", i);
	tu_net_sync_all(&N, 1);
	for (int i = 0; i < 2; i++)
		sv[i] = tu_int(N.s[i].app, -1, "PRAGMA schema_version");
	tu_exec(N.s[0].app, "INSERT INTO notes VALUES ('n', 'x')");
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "notes", "body", "id = 'n'", "'x'");
	for (int i = 0; i < 2; i++)
		TU_CHECK(tu_int(N.s[i].app, -1, "PRAGMA schema_version") == sv[i],
			 "site %d: later syncs changed the schema (version %lld"
			 " -> %lld)", i, (long long)sv[i],
			 (long long)tu_int(N.s[i].app, -1, "PRAGMA schema_version"));
	tu_net_close(&N);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"init_leaves_schema", init_leaves_schema},
		{"init_stamp_keeps_formats", init_stamp_keeps_formats},
		{"replace_changes_only_changed", replace_changes_only_changed},
		{"capture_stash_and_upgrade", capture_stash_and_upgrade},
		{"capture_log_upgrade", capture_log_upgrade},
		{"capture_log_upgrade_kept", capture_log_upgrade_kept},
		{"bulk_pull_keeps_capture", bulk_pull_keeps_capture},
		{"app_triggers_default", app_triggers_default},
		{"app_triggers_tracked", app_triggers_tracked},
		{"upgrade_add_column", upgrade_add_column},
		{"upgrade_tables", upgrade_tables},
		{"new_table_listed", new_table_listed},
		{"rolling_upgrade", rolling_upgrade},
		{"uninstall_plain", uninstall_plain},
		{"uninstall_stamped", uninstall_stamped},
		{"relocate_same_master", relocate_same_master},
		{"same_user_two_pcs", same_user_two_pcs},
		{"virtual_tables_skipped", virtual_tables_skipped},
		{"number_blocks_every_series", number_blocks_every_series},
		{"syncs_leave_schema", syncs_leave_schema},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
