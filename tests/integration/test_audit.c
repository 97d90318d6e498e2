/*
 * test_audit.c - the audit trail's formats (history.c) through the
 * public API: two PCs, a file master, virtual time (housekeeping: on a
 * PostgreSQL master too, with HS_TEST_PG; ctest pg_audit).
 *
 *  - a new master is format 3 and keeps the compact trail; the same
 *    writes (inserts, updates, deletes; text, integer, two-column and
 *    odd keys; JSON values) on a format-2 master (what an older hubsync
 *    made, which older PCs still open) give the same `hubsync log` JSON,
 *    with every filter, and the format-2 master stays format 2 with its
 *    old table;
 *  - a replica whose trail an older hubsync wrote (the old shape) reads
 *    the same log before its next sync, and is converted by that sync;
 *  - housekeeping by age, once a day, prunes the master's trail, settled
 *    conflicts and tombstones, and each replica's trail, in both formats
 *    and on PostgreSQL; a new master's first sync only starts its clock;
 *  - a replica copies a format-3 master's trail as it is stored, by a
 *    later pull and by a new PC's first one into a dictionary of other
 *    ids: the master's values, odd entries included; a copy the replica
 *    cannot write fails the sync with one line and changes nothing.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1893456000000LL /* 2030-01-01T00:00:00Z: virtual time */

static char master[600];
static tu_site s[2];
static const char *names[] = {"alice", "bob"};

/* A PC named name in dir with the app's tables, on the master. */
static void new_pc(tu_site *site, const char *dir, const char *name)
{
	tu_site_open(site, dir, name, 0);
	tu_exec(site->app, "CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT,"
			   " data TEXT);"
			   "CREATE TABLE nums(n INTEGER PRIMARY KEY, v TEXT);"
			   "CREATE TABLE pairs(a TEXT, b INTEGER, v TEXT,"
			   " PRIMARY KEY(a, b))");
	tu_site_hs_open(site);
	tu_site_init(site, master, NULL);
}

/* Two PCs on a new master (a file, or a PostgreSQL database with
 * HS_TEST_PG: tu_master_setup); format 2: the master file as an older
 * hubsync made it (its trail in the old shape). */
static void office(const char *dir, int format)
{
	tu_master_setup(master, sizeof master, dir);
	if (format == 2)
		tu_master_require_file(master);
	for (int i = 0; i < 2; i++)
		new_pc(&s[i], dir, names[i]);
	if (!tu_master_is_file(master))
		return;
	sqlite3 *m = tu_db_open(master, 0);
	TU_CHECK(tu_int(m, -1, "SELECT value FROM hubsync_master WHERE key ="
			       " 'format'") == 3, "a new master is format 3");
	if (format == 2)
		tu_exec(m, "UPDATE hubsync_master SET value = 2 WHERE key ="
			   " 'format'; DROP TABLE hubsync_history;"
			   " DROP TABLE hubsync_names");
	sqlite3_close(m);
}

static int64_t entries(sqlite3 *db)
{
	return tu_int(db, -1, "SELECT count(*) FROM hubsync_history");
}

static void sync_both(void)
{
	for (int i = 0; i < 2; i++) {
		tu_now_ms += 60000;
		free(tu_site_sync(&s[i], 0));
	}
}

static char *log_of(tu_site *site, const char *table, const char *key,
		    const char *user, const char *since)
{
	hs_log_options o = HS_LOG_OPTIONS_INIT;
	char *out = NULL;
	o.table = table;
	o.key = key;
	o.user = user;
	o.since = since;
	int rc = hs_replica_log_query_json(site->hs, &o, &out);
	TU_CHECK(rc == HS_OK, "log of %s: %s", site->name,
		 hs_replica_errmsg(site->hs));
	char *copy = strdup(out);
	hs_free(out);
	return copy;
}

/* Every PC's log, whole and filtered, one text. */
static char *logs(void)
{
	static const char *const f[][4] = {
		{NULL, NULL, NULL, NULL},
		{"items", NULL, NULL, NULL},
		{"items", "item-1", NULL, NULL},
		{"pairs", "p|2", NULL, NULL},
		{NULL, NULL, "bob", NULL},
		{NULL, NULL, NULL, "2030-01-01T00:03:00Z"},
	};
	char *all = strdup("");
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
			char *l = log_of(&s[i], f[k][0], f[k][1], f[k][2], f[k][3]);
			char *next = malloc(strlen(all) + strlen(l) + 2);
			sprintf(next, "%s%s\n", all, l);
			free(all);
			free(l);
			all = next;
		}
	return all;
}

/* Bob's trail as an older hubsync kept it: the old shape, the rows the
 * (format-2) master holds. */
static void old_replica_trail(tu_site *site)
{
	tu_exec(site->app, "DROP TABLE hubsync_history; DROP TABLE hubsync_names;"
			   " CREATE TABLE hubsync_history(seq INTEGER PRIMARY KEY,"
			   " tbl TEXT NOT NULL, key TEXT NOT NULL, pk TEXT NOT NULL,"
			   " op TEXT NOT NULL, user TEXT, at TEXT NOT NULL,"
			   " changes TEXT); ATTACH '%s' AS m;"
			   " INSERT INTO hubsync_history SELECT * FROM"
			   " m.hubsync_history; DETACH m", master);
}

/* The writes of the office (made at T0); the logs after them. old_bob:
 * bob's trail is made old-shape midway. */
static char *writes(int old_bob, char **bob_before, char **bob_old)
{
	tu_exec(s[0].app, "INSERT INTO items VALUES('item-1', 'one', '{\"a\":1}'),"
			  " ('q\"uote', 'two', NULL), ('\xc3\xbc\\back', 'three',"
			  " '[1,2]'), ('007', 'x', '{}'), ('{\"id\":\"x\"}', 'json',"
			  " '1');"
			  "INSERT INTO nums VALUES(1, 'a'), (-5, 'b'), (42, 'c');"
			  "INSERT INTO pairs VALUES('p', 1, 'x'), ('p', 2, 'y')");
	sync_both();
	tu_exec(s[1].app, "UPDATE items SET data = '{\"a\":2,\"b\":[1]}' WHERE"
			  " id = 'item-1'; UPDATE nums SET v = 'z' WHERE n = 42;"
			  " DELETE FROM pairs WHERE a = 'p' AND b = 1;"
			  " DELETE FROM items WHERE id = '007';"
			  " UPDATE pairs SET v = NULL WHERE b = 2");
	sync_both();
	if (old_bob) {
		*bob_before = log_of(&s[1], NULL, NULL, NULL, NULL);
		old_replica_trail(&s[1]);
		*bob_old = log_of(&s[1], NULL, NULL, NULL, NULL);
	}
	tu_exec(s[0].app, "UPDATE items SET name = 'uno', data = NULL WHERE"
			  " id = 'item-1'; INSERT INTO nums VALUES(7, 'seven');"
			  " DELETE FROM nums WHERE n = -5");
	sync_both();
	sync_both();
	return logs();
}

static void test_formats(void)
{
	char *bob_before = NULL, *bob_old = NULL;
	tu_now_ms = T0;
	office(tu_tmpdir("history-format3"), 3);
	tu_master_require_file(master);
	char *new_logs = writes(0, NULL, NULL);
	sqlite3 *m = tu_db_open(master, 1);
	TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM hubsync_history WHERE"
			       " typeof(at) <> 'integer' OR typeof(tbl) <> 'integer'")
			 == 0, "the format-3 trail is compact");
	TU_CHECK(entries(m) == 18, "18 entries, got %lld", (long long)entries(m));
	sqlite3_close(m);
	for (int i = 0; i < 2; i++)
		tu_site_close(&s[i]);

	tu_now_ms = T0;
	office(tu_tmpdir("history-format2"), 2);
	char *old_logs = writes(1, &bob_before, &bob_old);
	TU_CHECK(strcmp(new_logs, old_logs) == 0, "the logs differ:\n%s\n%s",
		 new_logs, old_logs);
	TU_CHECK(strstr(new_logs, "\"op\": \"delete\"") ||
			 strstr(new_logs, "\"op\":\"delete\""),
		 "the log shows the deletes: %s", new_logs);
	TU_CHECK(strcmp(bob_before, bob_old) == 0, "an old-shape trail reads "
		 "the same:\n%s\n%s", bob_before, bob_old);
	m = tu_db_open(master, 1);
	TU_CHECK(tu_int(m, -1, "SELECT value FROM hubsync_master WHERE key ="
			       " 'format'") == 2, "format stays 2");
	TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM hubsync_history WHERE"
			       " typeof(at) = 'text' AND typeof(tbl) = 'text'") == 18,
		 "the format-2 trail keeps the old shape");
	sqlite3_close(m);
	TU_CHECK(tu_int(s[1].app, -1, "SELECT count(*) FROM hubsync_history"
				       " WHERE typeof(tbl) = 'integer'") == 18,
		 "bob's old trail was converted by his sync");
	tu_check_integrity(master);
	for (int i = 0; i < 2; i++) {
		tu_check_integrity(s[i].path);
		tu_site_close(&s[i]);
	}
	free(new_logs);
	free(old_logs);
	free(bob_before);
	free(bob_old);
}

/* A format-3 office (its folder, named by tag) after the writes. */
static const char *written_office(const char *tag)
{
	const char *dir = tu_tmpdir(tag);
	tu_now_ms = T0;
	office(dir, 3);
	tu_master_require_file(master);
	free(writes(0, NULL, NULL));
	return dir;
}

/* db's trail with names in place of ids (the table, its key column, the
 * user), every value as stored, one text. */
static char *trail_by_name(sqlite3 *db)
{
	return tu_text(db, "SELECT group_concat(v, char(10)) FROM (SELECT"
			   " printf('%%d %%s %%s %%s %%s %%s %%s %%s %%s', h.seq,"
			   " quote(t.name), quote(t.pkcol), quote(h.key), quote(h.pk),"
			   " quote(h.op), quote(u.name), quote(h.at),"
			   " quote(h.changes)) AS v FROM hubsync_history h JOIN"
			   " hubsync_names t ON t.id = h.tbl LEFT JOIN hubsync_names u"
			   " ON u.id = h.user ORDER BY h.seq)");
}

/* A replica copies a format-3 master's trail as it is stored (history.c,
 * hs_history_writer_put_stored): bob by a later pull (set aside first),
 * carol by a new PC's first pull (written at once) into a replica whose
 * dictionary has other ids. Both hold the master's values, the ids their
 * own, entries this version's writer does not make (times outside
 * 1970-9999 and in another form as text, NULL changes, no user) included,
 * and log what bob logs. */
static void test_stored(void)
{
	tu_site carol;
	const char *dir = written_office("history-stored");
	sqlite3 *m = tu_db_open(master, 0);
	int64_t before = tu_int(m, -1, "SELECT max(seq) FROM hubsync_history");
	tu_exec(s[0].app, "INSERT INTO items VALUES('item-9', 'nine', NULL);"
			  " INSERT INTO nums VALUES(100, 'h');"
			  " UPDATE pairs SET v = 'w' WHERE b = 2;"
			  " UPDATE items SET data = '[3]' WHERE id = 'item-1';"
			  " DELETE FROM nums WHERE n = 42");
	tu_now_ms += 60000;
	free(tu_site_sync(&s[0], 0));
	TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM hubsync_history WHERE seq"
			       " > %lld", (long long)before) == 5, "5 new entries");
	/* what an older or later writer may have made */
	tu_exec(m, "UPDATE hubsync_history SET at = '0999-12-31T23:59:59.000Z'"
		   " WHERE seq = %lld; UPDATE hubsync_history SET at ="
		   " '2030-01-01 00:09:00' WHERE seq = %lld;"
		   " UPDATE hubsync_history SET at = '10000-01-01T00:00:00.000Z',"
		   " changes = X'' WHERE seq = %lld;"
		   " UPDATE hubsync_history SET user = NULL WHERE seq = %lld",
		(long long)before + 1, (long long)before + 2,
		(long long)before + 3, (long long)before + 5);
	tu_now_ms += 60000;
	free(tu_site_sync(&s[1], 0));
	new_pc(&carol, dir, "carol");
	tu_exec(carol.app, "INSERT INTO hubsync_names(kind, name, pkcol) VALUES"
			   "(1, 'dave', NULL), (1, 'bob', NULL), (0, 'pairs', NULL),"
			   "(0, 'other', 'x'), (0, 'nums', 'n'), (1, 'alice', NULL),"
			   "(0, 'items', 'id')");
	tu_now_ms += 60000;
	free(tu_site_sync(&carol, 0));
	char *want = trail_by_name(m);
	char *got_bob = trail_by_name(s[1].app);
	char *got_carol = trail_by_name(carol.app);
	TU_CHECK(strcmp(got_bob, want) == 0, "bob's trail:\n%s\nthe master's:\n%s",
		 got_bob, want);
	TU_CHECK(strcmp(got_carol, want) == 0, "carol's trail:\n%s\nthe master's:"
		 "\n%s", got_carol, want);
	TU_CHECK(strstr(want, "'0999-12-31T23:59:59.000Z'") &&
			 strstr(want, "'10000-01-01T00:00:00.000Z'") &&
			 strstr(want, "'2030-01-01 00:09:00'") &&
			 strstr(want, "X''"), "the odd entries: %s", want);
	TU_CHECK(tu_int(carol.app, -1, "SELECT id FROM hubsync_names WHERE name ="
				      " 'items'") == 7 &&
			 tu_int(m, -1, "SELECT id FROM hubsync_names WHERE name ="
				       " 'items'") == 1,
		 "carol's ids are her own");
	char *log_bob = log_of(&s[1], NULL, NULL, NULL, NULL);
	char *log_carol = log_of(&carol, NULL, NULL, NULL, NULL);
	TU_CHECK(strcmp(log_bob, log_carol) == 0, "bob's log:\n%s\ncarol's:\n%s",
		 log_bob, log_carol);
	/* (the log leaves out times that sort before 1970 as text) */
	TU_CHECK(strstr(log_carol, "\"2030-01-01 00:09:00\"") &&
			 strstr(log_carol, "\"user\":null"),
		 "carol's log: %s", log_carol);
	sqlite3_close(m);
	tu_check_integrity(carol.path);
	tu_site_close(&carol);
	for (int i = 0; i < 2; i++)
		tu_site_close(&s[i]);
	free(want);
	free(got_bob);
	free(got_carol);
	free(log_bob);
	free(log_carol);
}

/* A sync of site whose copy of the trail cannot be written (a trigger
 * refuses it) fails with one line naming it and leaves the replica as it
 * was (rows: its app rows, history: its trail, before); the same sync
 * then succeeds. */
static void refused_copy(tu_site *site)
{
	char *rows = tu_text(site->app, "SELECT count(*) || ' ' ||"
				       " (SELECT count(*) FROM hubsync_history)"
				       " FROM items");
	tu_exec(site->app, "CREATE TRIGGER no_trail BEFORE INSERT ON"
			   " hubsync_history BEGIN SELECT RAISE(ABORT, 'refused');"
			   " END");
	tu_now_ms += 60000;
	TU_CHECK(tu_site_sync_rc(site, NULL) != HS_OK, "%s: the sync failed",
		 site->name);
	const char *msg = hs_replica_errmsg(site->hs);
	TU_CHECK(strstr(msg, "pulled history") && strstr(msg, "refused") &&
			 !strchr(msg, '\n'),
		 "%s: one line naming the history: %s", site->name, msg);
	char *after = tu_text(site->app, "SELECT count(*) || ' ' ||"
					" (SELECT count(*) FROM hubsync_history)"
					" FROM items");
	TU_CHECK(strcmp(rows, after) == 0, "%s: nothing changed: %s, then %s",
		 site->name, rows, after);
	tu_exec(site->app, "DROP TRIGGER no_trail");
	tu_now_ms += 60000;
	free(tu_site_sync(site, 0));
	free(rows);
	free(after);
}

/* The stored copy failing on the replica's side, in a new PC's first pull
 * (written at once) and in a later one (set aside first). */
static void test_stored_refused(void)
{
	tu_site carol;
	const char *dir = written_office("history-refused");
	new_pc(&carol, dir, "carol");
	refused_copy(&carol);
	tu_exec(s[0].app, "INSERT INTO items VALUES('item-9', 'nine', NULL)");
	tu_now_ms += 60000;
	free(tu_site_sync(&s[0], 0));
	refused_copy(&s[1]);
	free(tu_site_sync(&carol, 0));
	sqlite3 *m = tu_db_open(master, 1);
	char *want = trail_by_name(m);
	for (int i = 0; i < 2; i++) {
		char *got = trail_by_name(i ? carol.app : s[1].app);
		TU_CHECK(strcmp(got, want) == 0, "%s's trail:\n%s\nthe master's:\n%s",
			 i ? "carol" : "bob", got, want);
		free(got);
	}
	sqlite3_close(m);
	free(want);
	tu_site_close(&carol);
	for (int i = 0; i < 2; i++)
		tu_site_close(&s[i]);
}

/* The master's history entries and its key (-1 when not set), on a file
 * or a PostgreSQL master. */
static int64_t master_entries(void)
{
	return tu_master_int(master, "SELECT count(*) FROM hubsync_history",
			     "SELECT count(*) FROM hubsync.history");
}

static int64_t master_key(const char *key)
{
	char fq[160], pq[160];
	snprintf(fq, sizeof fq, "SELECT coalesce((SELECT value FROM"
				" hubsync_master WHERE key = '%s'), -1)", key);
	snprintf(pq, sizeof pq, "SELECT coalesce((SELECT value::bigint FROM"
				" hubsync.master WHERE key = '%s'), -1)", key);
	return tu_master_int(master, fq, pq);
}

/* The master's entries (n), what housekeeping last pruned (pruned: the
 * largest seq deleted, -1 none) and when it last ran (at). */
static void master_trail(const char *when, int format, int64_t n,
			 int64_t pruned, int64_t at)
{
	TU_CHECK(master_entries() == n, "format %d, %s: the master keeps %lld "
		 "entries, has %lld", format, when, (long long)n,
		 (long long)master_entries());
	TU_CHECK(master_key("history_pruned") == pruned, "format %d, %s: "
		 "history_pruned %lld, not %lld", format, when,
		 (long long)master_key("history_pruned"), (long long)pruned);
	TU_CHECK(master_key("housekept") == at, "format %d, %s: housekept at "
		 "%lld, not %lld", format, when,
		 (long long)master_key("housekept"), (long long)at);
}

/* The master's conflicts (settled: the resolved ones) and tombstones. */
static void master_tidy(const char *when, int format, int64_t open,
			int64_t settled, int64_t tombstones)
{
	int64_t o = tu_master_int(master, "SELECT count(*) FROM"
					  " hubsync_conflicts WHERE resolved = 0",
				  "SELECT count(*) FROM hubsync.conflicts WHERE"
				  " resolved = 0");
	int64_t r = tu_master_int(master, "SELECT count(*) FROM"
					  " hubsync_conflicts WHERE resolved = 1",
				  "SELECT count(*) FROM hubsync.conflicts WHERE"
				  " resolved = 1");
	int64_t t = tu_master_int(master, "SELECT count(*) FROM hubsync_rows"
					  " WHERE alive = 0",
				  "SELECT count(*) FROM hubsync.rows WHERE"
				  " alive = 0");
	TU_CHECK(o == open && r == settled && t == tombstones, "format %d, %s: "
		 "conflicts %lld open, %lld settled, %lld tombstones; want %lld,"
		 " %lld, %lld", format, when, (long long)o, (long long)r,
		 (long long)t, (long long)open, (long long)settled,
		 (long long)tombstones);
}

/* The master's largest history seq. */
static int64_t master_top(void)
{
	return tu_master_int(master, "SELECT max(seq) FROM hubsync_history",
			     "SELECT max(seq) FROM hubsync.history");
}

/* Housekeeping by age, at most once a day (retention 90 days), on the
 * master (fm_housekeep, pm_housekeep) and each replica (prune_history):
 *  - old-1, old-2 written at T0, first synced 100 days later (T1): the
 *    master's first sync only starts the daily clock, the entries stay;
 *  - that day: two conflicts on old-1, one settled; old-2 deleted (a
 *    tombstone every PC then pulls); nothing pruned (not a day yet);
 *  - mid-1 written at T1 + 10 days 12 hours, synced at T2 = T1 + 100
 *    days: that sync prunes every entry of T0 and T1, the settled
 *    conflict and the tombstone; keeps mid-1 (within 90 days) and the
 *    open conflict; new-1 written after it;
 *  - 20 hours later mid-1 is past the retention, but the day is not
 *    over: nothing pruned; 25 hours after T2 it goes. */
static void housekeeping(int format)
{
	const int64_t day = 24LL * 3600 * 1000;
	char tag[40];
	snprintf(tag, sizeof tag, "history-prune%d", format);
	tu_now_ms = T0;
	office(tu_tmpdir(tag), format);
	tu_exec(s[0].app, "INSERT INTO items VALUES('old-1', 'a', NULL),"
			  " ('old-2', 'b', NULL)");
	tu_now_ms = T0 + 100 * day;
	int64_t first = tu_now_ms + 60000; /* alice's: the master's first sync */
	sync_both();
	master_trail("first sync", format, 2, -1, first);
	master_tidy("first sync", format, 0, 0, 0);

	tu_exec(s[0].app, "UPDATE items SET name = 'A', data = '1' WHERE id ="
			  " 'old-1'; DELETE FROM items WHERE id = 'old-2'");
	tu_now_ms += 1000;
	tu_exec(s[1].app, "UPDATE items SET name = 'B', data = '2' WHERE id ="
			  " 'old-1'");
	sync_both();
	sync_both();
	json_t *c = tu_site_conflicts(&s[0], 0);
	TU_CHECK(json_array_size(c) == 2, "format %d: 2 conflicts", format);
	int64_t id = json_integer_value(json_object_get(json_array_get(c, 0),
							"id"));
	json_decref(c);
	TU_CHECK(hs_replica_resolve(s[0].hs, id, HS_KEEP_LOCAL) == HS_OK,
		 "resolve: %s", hs_replica_errmsg(s[0].hs));
	sync_both();
	sync_both(); /* bob has pulled the delete, and the master knows it */
	int64_t p1 = master_top();
	/* nothing pruned: the trail grew, the clock is the first sync's */
	TU_CHECK(master_entries() > 4, "format %d: the day's entries", format);
	master_trail("the first day", format, master_entries(), -1, first);
	master_tidy("the first day", format, 1, 1, 1);

	tu_now_ms = T0 + 110 * day + day / 2;
	tu_exec(s[1].app, "INSERT INTO items VALUES('mid-1', 'm', NULL)");
	tu_now_ms = T0 + 200 * day;
	/* bob first: mid-1 is on the master when the day's housekeeping runs */
	tu_now_ms += 60000;
	int64_t t2 = tu_now_ms;
	free(tu_site_sync(&s[1], 0));
	int64_t p2 = master_top();
	tu_exec(s[0].app, "INSERT INTO items VALUES('new-1', 'c', NULL)");
	sync_both();
	sync_both();
	master_trail("100 days later", format, 2, p1, t2);
	master_tidy("100 days later", format, 1, 0, 0);
	tu_now_ms = t2 + 20 * 3600 * 1000;
	sync_both();
	master_trail("20 hours later", format, 2, p1, t2);
	tu_now_ms = t2 + 25 * 3600 * 1000;
	int64_t t3 = tu_now_ms + 60000;
	sync_both();
	sync_both();
	master_trail("25 hours later", format, 1, p2, t3);
	for (int i = 0; i < 2; i++) {
		TU_CHECK(entries(s[i].app) == 1, "format %d: %s keeps 1 entry, "
			 "has %lld", format, names[i], (long long)entries(s[i].app));
		char *l = log_of(&s[i], NULL, NULL, NULL, NULL);
		TU_CHECK(strstr(l, "new-1") && !strstr(l, "old-1") &&
				 !strstr(l, "mid-1"),
			 "format %d: %s's log: %s", format, names[i], l);
		free(l);
		tu_site_close(&s[i]);
	}
}

static void test_prune3(void) { housekeeping(3); }
static void test_prune2(void) { housekeeping(2); }

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"formats", test_formats},
		{"prune3", test_prune3},
		{"prune2", test_prune2},
		{"stored", test_stored},
		{"stored_refused", test_stored_refused},
	};
	return tu_run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
