/*
 * test_identity.c - identity across offline users (issue 3): keys, unique
 * values and numbers that two PCs make offline must not collide, conflicts
 * must be something people can act on, and the audit trail must say who
 * changed what.
 *
 * Cases (each a real master file and 2-5 replica files in a temp dir, the
 * app played by plain SQL on its own connection, hubsync through the
 * public API only; time is virtual, see testutil.h):
 *
 *  int_keys_*        rows made offline with the same INTEGER PRIMARY KEY
 *                    (AUTOINCREMENT and plain) and child rows pointing at
 *                    them: every parent survives under its own id on every
 *                    replica, children follow their parent's new id, PRAGMA
 *                    foreign_key_check is clean, replicas converge; also
 *                    with ON UPDATE/ON DELETE CASCADE and the app's
 *                    foreign_keys on.
 *  unique_*          two rows with one UNIQUE value: no sync aborts, the
 *                    outcome is the same everywhere, the losing row is in
 *                    the conflicts with both versions; resolving it.
 *  numbers_*         numbered series drawn by 3 replicas with syncs and
 *                    offline stretches: unique, increasing per replica, no
 *                    number lost; offline exhaustion is a clean error.
 *  resolve_*         keep local/remote on either side reaches everyone and
 *                    is marked resolved everywhere; a delete-vs-update
 *                    conflict resolved by restoring the row; bad ids.
 *  audit_log         hs_replica_log_json: pending and synced changes with
 *                    old/new values, filtered by table, key and since.
 *
 * Run all with ./test_identity, or some by name (./test_identity
 * unique_collision_everywhere_same).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

#define MAXSITES 5

/* A little office: a master on a "share" folder and up to five users. */
typedef struct net {
	const char *dir;
	char share[600], away[600], master[640];
	tu_site s[MAXSITES];
	int n;
} net;

static const char *NAMES[MAXSITES] = {"alice", "bob", "carol", "dave",
				      "erin"};

/* n users, each creating `schema`; the app runs with foreign_keys on
 * when fk_on (a careful app does; the default of SQLite is off). */
static void net_open(net *N, int n, const char *schema, int fk_on)
{
	memset(N, 0, sizeof(*N));
	N->dir = tu_tmpdir("ident");
	N->n = n;
	snprintf(N->share, sizeof(N->share), "%s/share", N->dir);
	snprintf(N->away, sizeof(N->away), "%s/share.away", N->dir);
	snprintf(N->master, sizeof(N->master), "%s/master.db", N->share);
	TU_CHECK(hs_os_mkdir(N->share) == 0, "cannot create %s", N->share);
	for (int i = 0; i < n; i++) {
		tu_site_open(&N->s[i], N->dir, NAMES[i], (i % 2 ? 1 : -1) * 700 * i);
		tu_exec(N->s[i].app, "PRAGMA foreign_keys = %s", fk_on ? "ON" : "OFF");
		tu_exec(N->s[i].app, "%s", schema);
	}
	for (int i = 0; i < n; i++) {
		tu_now_ms += 10;
		tu_site_init(&N->s[i], N->master, NULL);
	}
}

/* The share unmounted (the master's folder renamed away) or back. */
static void net_share(net *N, int mounted)
{
	const char *from = mounted ? N->away : N->share;
	const char *to = mounted ? N->share : N->away;
	TU_CHECK(rename(from, to) == 0, "cannot rename %s to %s", from, to);
}

static void net_sync(net *N, int i)
{
	tu_now_ms += 100;
	tu_site_sync(&N->s[i], 0);
}

/* Everyone syncs, in index order, `rounds` times. */
static void net_sync_all(net *N, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < N->n; i++)
			net_sync(N, i);
}

/* PRAGMA foreign_key_check finds nothing in db. */
static void check_fk_clean(sqlite3 *db, const char *who)
{
	char *bad = tu_text(db, "SELECT group_concat(\"table\" || ' rowid ' ||"
				" rowid || ' -> ' || parent, '; ') FROM"
				" pragma_foreign_key_check");
	TU_CHECK(!bad, "%s: PRAGMA foreign_key_check: %s", who, bad);
}

/* Every replica holds exactly the master's rows (synced_at aside), every
 * file is intact and its foreign keys point at rows that exist. */
static void net_check_converged(net *N)
{
	sqlite3 *m = tu_db_open(N->master, 1);
	for (int i = 0; i < N->n; i++) {
		char *why = NULL;
		if (tu_db_diff(N->s[i].app, m, "synced_at", &why))
			tu_fail("%s differs from the master: %s", N->s[i].name,
				why);
		check_fk_clean(N->s[i].app, N->s[i].name);
		tu_check_integrity(N->s[i].path);
	}
	check_fk_clean(m, "master");
	sqlite3_close(m);
	tu_check_integrity(N->master);
}

static void net_close(net *N)
{
	for (int i = 0; i < N->n; i++)
		tu_site_close(&N->s[i]);
}

/* The bytes of a file, for "a failed call changed nothing". */
static char *file_bytes(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	TU_CHECK(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)*len + 1);
	TU_CHECK(b && fread(b, 1, (size_t)*len, f) == (size_t)*len,
		 "cannot read %s", path);
	fclose(f);
	return b;
}

/* ---- integer keys made offline ------------------------------------- */

/*
 * The Craft Tools Hub's manual_quotes (INTEGER PRIMARY KEY AUTOINCREMENT,
 * UNIQUE quoteNumber) with two child tables, one with a plain reference
 * and one with ON UPDATE/ON DELETE CASCADE; and a parts table with a plain
 * INTEGER PRIMARY KEY whose child names it without a column. Every row
 * carries its owner in a text column, so a child can be checked to point
 * at its own parent whatever ids the parent got.
 */
static const char *KEYS_SCHEMA =
	"CREATE TABLE manual_quotes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" quoteNumber TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, data TEXT);"
	"CREATE TABLE mq_lines (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" mq INTEGER REFERENCES manual_quotes(id), owner TEXT, text TEXT);"
	"CREATE TABLE mq_notes (id INTEGER PRIMARY KEY, mq INTEGER"
	" REFERENCES manual_quotes(id) ON UPDATE CASCADE ON DELETE CASCADE,"
	" owner TEXT, note TEXT);"
	"CREATE TABLE parts (id INTEGER PRIMARY KEY, name TEXT, owner TEXT);"
	"CREATE TABLE part_uses (id INTEGER PRIMARY KEY, part INTEGER NOT NULL"
	" REFERENCES parts ON DELETE CASCADE, owner TEXT, qty INTEGER)";

/* What `who` writes offline in one go: a manual quote (the app lets
 * AUTOINCREMENT pick the id) with two lines and a note, and a part (plain
 * INTEGER key, rowid picked by SQLite) used twice. `tag` makes the rows
 * of one batch recognisable. */
static void write_offline_batch(tu_site *s, const char *tag)
{
	tu_exec(s->app,
		"INSERT INTO manual_quotes (quoteNumber, owner, data) VALUES"
		" ('MQ-%q-%q', %Q, '{\"cost\": 1200}');"
		"INSERT INTO mq_lines (mq, owner, text) VALUES"
		" (last_insert_rowid(), %Q, 'line 1 of %q %q');"
		"INSERT INTO mq_lines (mq, owner, text) SELECT mq, owner,"
		" 'line 2 of %q %q' FROM mq_lines WHERE id = last_insert_rowid();"
		"INSERT INTO mq_notes (mq, owner, note) SELECT mq, owner,"
		" 'note of %q %q' FROM mq_lines WHERE id = last_insert_rowid();"
		"INSERT INTO parts (name, owner) VALUES ('part of %q %q', %Q);"
		"INSERT INTO part_uses (part, owner, qty) VALUES"
		" (last_insert_rowid(), %Q, 1);"
		"INSERT INTO part_uses (part, owner, qty) SELECT part, owner, 2"
		" FROM part_uses WHERE id = last_insert_rowid()",
		s->name, tag, s->name, s->name, s->name, tag, s->name, tag,
		s->name, tag, s->name, tag, s->name, s->name);
}

/* In db, every child row points at a parent with the same owner; and
 * there are `quotes` manual quotes, each with its children. */
static void check_children_follow(sqlite3 *db, const char *who, int quotes)
{
	static const char *const child[][2] = {
		{"mq_lines", "manual_quotes m ON m.id = c.mq"},
		{"mq_notes", "manual_quotes m ON m.id = c.mq"},
		{"part_uses", "parts m ON m.id = c.part"},
	};
	TU_CHECK(tu_int(db, -1, "SELECT count(*) FROM manual_quotes") == quotes,
		 "%s: %lld manual quotes, want %d", who,
		 (long long)tu_int(db, -1, "SELECT count(*) FROM manual_quotes"),
		 quotes);
	for (size_t i = 0; i < sizeof(child) / sizeof(child[0]); i++) {
		char *bad = tu_text(db, "SELECT group_concat(c.id || ' (' ||"
					" c.owner || ') -> ' || coalesce(m.owner,"
					" 'nothing'), ', ') FROM \"%w\" c LEFT"
					" JOIN %s WHERE m.owner IS NOT c.owner",
				    child[i][0], child[i][1]);
		TU_CHECK(!bad, "%s: %s rows point at another user's parent: %s",
			 who, child[i][0], bad);
	}
	/* Each quote has its two lines and its note, each part two uses. */
	TU_CHECK(tu_int(db, -1, "SELECT count(*) FROM manual_quotes m WHERE"
			" (SELECT count(*) FROM mq_lines WHERE mq = m.id) <> 2 OR"
			" (SELECT count(*) FROM mq_notes WHERE mq = m.id) <> 1")
			 == 0,
		 "%s: a manual quote lost its lines or note", who);
	TU_CHECK(tu_int(db, -1, "SELECT count(*) FROM parts p WHERE (SELECT"
			" count(*) FROM part_uses WHERE part = p.id) <> 2") == 0,
		 "%s: a part lost its uses", who);
}

static void net_check_children(net *N, int quotes)
{
	sqlite3 *m = tu_db_open(N->master, 1);
	check_children_follow(m, "master", quotes);
	sqlite3_close(m);
	for (int i = 0; i < N->n; i++)
		check_children_follow(N->s[i].app, N->s[i].name, quotes);
}

static void int_keys_run(int fk_on)
{
	net N;
	net_open(&N, 3, KEYS_SCHEMA, fk_on);
	net_sync_all(&N, 1);

	/* Everyone offline: the same ids 1 (quotes, lines, notes, parts,
	 * uses) on all three PCs; alice makes a second batch (ids 2). */
	for (int i = 0; i < 3; i++) {
		tu_now_ms += 1000;
		write_offline_batch(&N.s[i], "a");
	}
	write_offline_batch(&N.s[0], "b");
	TU_CHECK(tu_int(N.s[1].app, 0, "SELECT id FROM manual_quotes") == 1 &&
			 tu_int(N.s[2].app, 0, "SELECT id FROM parts") == 1,
		 "the test meant ids to collide");
	net_sync_all(&N, 2);
	net_check_converged(&N);
	net_check_children(&N, 4);
	/* The first to push keeps its ids; the others' rows moved. */
	TU_CHECK(tu_int(N.s[2].app, 0, "SELECT id FROM manual_quotes WHERE"
			" quoteNumber = 'MQ-alice-a'") == 1,
		 "alice pushed first, her quote should keep id 1");
	TU_CHECK(tu_int(N.s[2].app, 0, "SELECT count(DISTINCT id) FROM"
			" manual_quotes") == 4, "ids not distinct");

	/* Again offline, after the rebases: bob and carol both take the
	 * next id (the same one on both), and carol's quote refers to the
	 * part bob renumbered in the first round. */
	write_offline_batch(&N.s[1], "c");
	tu_now_ms += 1000;
	write_offline_batch(&N.s[2], "c");
	int64_t bob_id = tu_int(N.s[1].app, 0, "SELECT id FROM manual_quotes"
				" WHERE quoteNumber = 'MQ-bob-c'");
	TU_CHECK(bob_id == tu_int(N.s[2].app, 0, "SELECT id FROM manual_quotes"
				  " WHERE quoteNumber = 'MQ-carol-c'"),
		 "the test meant the second ids to collide too");
	net_sync(&N, 2);
	net_sync(&N, 1);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	net_check_children(&N, 6);

	/* The app deletes and renumbers with its foreign keys acting:
	 * alice deletes quote b (lines by hand, the note cascades), bob
	 * renumbers his quote a (the note follows by ON UPDATE CASCADE;
	 * lines by hand), carol deletes her part a (uses cascade). */
	int64_t bq = tu_int(N.s[1].app, 0, "SELECT id FROM manual_quotes"
			    " WHERE quoteNumber = 'MQ-bob-a'");
	tu_exec(N.s[0].app, "DELETE FROM mq_lines WHERE mq = (SELECT id FROM"
			    " manual_quotes WHERE quoteNumber = 'MQ-alice-b');"
			    "%s DELETE FROM manual_quotes WHERE quoteNumber ="
			    " 'MQ-alice-b'",
		fk_on ? "" : "DELETE FROM mq_notes WHERE mq = (SELECT id FROM"
			     " manual_quotes WHERE quoteNumber = 'MQ-alice-b');");
	tu_exec(N.s[1].app, "BEGIN; PRAGMA defer_foreign_keys = ON;"
			    "UPDATE manual_quotes SET id = 900 WHERE id = %lld;"
			    "UPDATE mq_lines SET mq = 900 WHERE mq = %lld;"
			    "UPDATE mq_notes SET mq = 900 WHERE mq = %lld;"
			    "COMMIT",
		(long long)bq, (long long)bq, (long long)bq);
	tu_exec(N.s[2].app, "%s DELETE FROM parts WHERE name = 'part of carol a'",
		fk_on ? "" : "DELETE FROM part_uses WHERE part = (SELECT id FROM"
			     " parts WHERE name = 'part of carol a');");
	net_sync_all(&N, 2);
	net_check_converged(&N);
	check_children_follow(N.s[2].app, "carol", 5);
	TU_CHECK(tu_int(N.s[0].app, 0, "SELECT count(*) FROM mq_notes WHERE"
			" mq = 900") == 1,
		 "bob's renumbered quote lost its note at alice");
	TU_CHECK(tu_int(N.s[0].app, -1, "SELECT count(*) FROM part_uses WHERE"
			" owner = 'carol' AND part NOT IN (SELECT id FROM parts)")
			 == 0, "carol's deleted part left uses behind");
	net_close(&N);
}

/*
 * A push larger than one batch (sync.c merges 1,000 rows at a time): the
 * re-keyed parents of the first batches are known when their children
 * come in later ones, and two rows that swap their UNIQUE numbers from two
 * batches apart are still merged as a swap (the deferred row waits for
 * the end of the whole push, not of its batch).
 */
static void int_keys_rebased_across_batches(void)
{
	enum { QUOTES = 200, NUMS = 1500 }; /* 7 rows a quote: 1,400 a push */
	char schema[2048];
	net N;
	snprintf(schema, sizeof schema, "%s; CREATE TABLE nums (id INTEGER"
		 " PRIMARY KEY, n INTEGER NOT NULL UNIQUE, v TEXT)", KEYS_SCHEMA);
	net_open(&N, 2, schema, 0);
	net_sync_all(&N, 1);
	for (int i = 0; i < 2; i++) {
		tu_now_ms += 1000;
		tu_exec(N.s[i].app, "BEGIN");
		for (int q = 0; q < QUOTES; q++) {
			char tag[16];
			snprintf(tag, sizeof tag, "%d", q);
			write_offline_batch(&N.s[i], tag);
		}
		tu_exec(N.s[i].app, "COMMIT");
	}
	tu_exec(N.s[0].app, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT"
			    " i + 1 FROM c WHERE i < %d) INSERT INTO nums SELECT"
			    " i, i, 'v' FROM c", NUMS);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	net_check_children(&N, 2 * QUOTES);
	/* bob touches every number and swaps the first and the last: the
	 * two rows are more than a batch apart in his push */
	tu_exec(N.s[1].app, "BEGIN; UPDATE nums SET v = 'w';"
			    "UPDATE nums SET n = -1 WHERE id = 1;"
			    "UPDATE nums SET n = 1 WHERE id = %d;"
			    "UPDATE nums SET n = %d WHERE id = 1; COMMIT",
		NUMS, NUMS);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	TU_CHECK(tu_int(N.s[0].app, 0, "SELECT n FROM nums WHERE id = 1") == NUMS &&
			 tu_int(N.s[0].app, 0, "SELECT n FROM nums WHERE id = %d",
				NUMS) == 1,
		 "the swap did not reach alice");
	TU_CHECK(tu_int(N.s[0].app, -1, "SELECT count(*) FROM hubsync_conflicts")
			 == 0,
		 "the swap made conflicts");
	net_close(&N);
}

/* The app with SQLite's default (foreign keys not enforced). */
static void int_keys_rebased_children_follow(void) { int_keys_run(0); }

/* The app enforcing foreign keys, cascades acting in the app. */
static void int_keys_rebased_fk_enforced(void) { int_keys_run(1); }

/* ---- conflicts ------------------------------------------------------ */

/* The conflict (resolved ones too) of site s on table whose key column
 * keycol holds the value with quote() literal key (NULL: any), and, unless col is
 * NULL, on that column ("" for a whole-row conflict); a new reference or
 * NULL. */
static json_t *conflict_on(tu_site *s, const char *table, const char *keycol,
			   const char *key, const char *col)
{
	json_t *a = tu_site_conflicts(s, 1), *c, *found = NULL;
	size_t i;
	json_array_foreach(a, i, c) {
		const char *t = json_string_value(json_object_get(c, "table"));
		json_t *cj = json_object_get(c, "column");
		char *k = tu_json_to_quote(json_object_get(json_object_get(c, "pk"),
							   keycol));
		int match = t && !strcmp(t, table) && (!key || !strcmp(k, key)) &&
			    (!col || (*col ? json_is_string(cj) &&
						     !strcmp(json_string_value(cj), col)
					   : json_is_null(cj)));
		free(k);
		if (match) {
			found = json_incref(c);
			break;
		}
	}
	json_decref(a);
	return found;
}

/* The conflict with this id as site s lists it (resolved ones too). */
static json_t *conflict_by_id(tu_site *s, int64_t id)
{
	json_t *a = tu_site_conflicts(s, 1), *c, *found = NULL;
	size_t i;
	json_array_foreach(a, i, c)
		if (json_integer_value(json_object_get(c, "id")) == id)
			found = json_incref(c);
	json_decref(a);
	return found;
}

static int64_t conflict_id(json_t *c)
{
	return json_integer_value(json_object_get(c, "id"));
}

/* Every replica lists conflict id as resolved, and not among the
 * unresolved ones. */
static void check_resolved_everywhere(net *N, int64_t id)
{
	for (int i = 0; i < N->n; i++) {
		json_t *c = conflict_by_id(&N->s[i], id);
		TU_CHECK(c && json_is_true(json_object_get(c, "resolved")),
			 "%s: conflict %lld is %s", N->s[i].name, (long long)id,
			 c ? "not marked resolved" : "not listed");
		json_decref(c);
		json_t *open = tu_site_conflicts(&N->s[i], 0), *o;
		size_t k;
		json_array_foreach(open, k, o)
			TU_CHECK(conflict_id(o) != id, "%s lists resolved conflict"
				 " %lld as unresolved", N->s[i].name, (long long)id);
		json_decref(open);
	}
}

/* A conflict as every replica should agree on it: id, table, pk, column,
 * and the two sides in a fixed order (which one a PC calls "local"
 * depends on who is looking). */
static char *conflict_canon(json_t *c)
{
	char *l = json_dumps(json_object_get(c, "local_value"),
			     JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *r = json_dumps(json_object_get(c, "remote_value"),
			     JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *pk = json_dumps(json_object_get(c, "pk"),
			      JSON_COMPACT | JSON_SORT_KEYS);
	char *col = json_dumps(json_object_get(c, "column"), JSON_ENCODE_ANY);
	int swap = strcmp(l, r) > 0;
	char *out = sqlite3_mprintf("%lld %s %s %s %s | %s", (long long)conflict_id(c),
				    json_string_value(json_object_get(c, "table")),
				    pk, col, swap ? r : l, swap ? l : r);
	char *dup = strdup(out);
	sqlite3_free(out);
	free(l);
	free(r);
	free(pk);
	free(col);
	return dup;
}

/* Every replica lists the same conflicts (sides in either order). */
static void check_same_conflicts(net *N)
{
	char *first = NULL;
	for (int i = 0; i < N->n; i++) {
		json_t *a = tu_site_conflicts(&N->s[i], 1), *c;
		size_t k;
		char *all = strdup("");
		json_array_foreach(a, k, c) {
			char *one = conflict_canon(c);
			char *cat = sqlite3_mprintf("%s%s\n", all, one);
			free(all);
			free(one);
			all = strdup(cat);
			sqlite3_free(cat);
		}
		json_decref(a);
		if (!first)
			first = all;
		else {
			TU_CHECK(!strcmp(first, all), "%s lists other conflicts"
				 " than %s:\n%s---\n%s", N->s[i].name,
				 N->s[0].name, all, first);
			free(all);
		}
	}
	free(first);
}

/* The member col of a whole-row side (an object), as text; "" if absent. */
static const char *side_text(json_t *c, const char *side, const char *col)
{
	const char *v = json_string_value(json_object_get(json_object_get(c, side),
							  col));
	return v ? v : "";
}

/* ---- UNIQUE collisions ---------------------------------------------- */

static const char *UNIQUE_SCHEMA =
	"CREATE TABLE manual_quotes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" quoteNumber TEXT NOT NULL UNIQUE, data TEXT NOT NULL);"
	"CREATE TABLE projects (id TEXT PRIMARY KEY, projectNumber TEXT UNIQUE,"
	" name TEXT)";

/* The last sync of s succeeded (sync_log) and counted n conflicts. */
static void check_sync_ok(tu_site *s, json_t *res, int conflicts)
{
	char *log = tu_last_sync_log(s->app);
	TU_CHECK(!strncmp(log, "success|", 8), "%s: sync_log says %s", s->name,
		 log);
	free(log);
	json_int_t n = json_integer_value(json_object_get(json_object_get(res,
									  "stats"),
							  "conflicts"));
	TU_CHECK(n == conflicts, "%s: sync counted %lld conflicts, want %d",
		 s->name, (long long)n, conflicts);
}

/*
 * Two users give two new rows the same UNIQUE value offline (a manual
 * quote number with colliding integer ids too, a project number with text
 * ids). Every sync succeeds; the first to push keeps the value; the other
 * row is kept out (deleted where it was made) and is listed on every
 * replica as a whole-row conflict holding both versions.
 *
 * Resolving it: "keep remote" (the row that has the number) just closes
 * it. "Keep local" restores the losing row as it was, number included, so
 * it is refused while the number is still taken: the call fails with one
 * line naming the UNIQUE column, and nothing changes (the conflict stays
 * open). Once a user has changed the number of the row holding it, keep
 * local brings the lost row back, everywhere.
 */
static void unique_collision_everywhere_same(void)
{
	net N;
	net_open(&N, 3, UNIQUE_SCHEMA, 0);
	tu_exec(N.s[2].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-200', 'carol')");
	net_sync_all(&N, 1);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-100', 'alice');"
			    "INSERT INTO projects (id, projectNumber, name)"
			    " VALUES ('p-a', 'P-1', 'alice project')");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-100', 'bob'), ('Q-300', 'bob 2');"
			    "INSERT INTO projects (id, projectNumber, name)"
			    " VALUES ('p-b', 'P-1', 'bob project')");

	json_t *res = tu_json_take(tu_site_sync(&N.s[0], 1));
	check_sync_ok(&N.s[0], res, 0);
	json_decref(res);
	res = tu_json_take(tu_site_sync(&N.s[1], 1));
	check_sync_ok(&N.s[1], res, 2);
	json_decref(res);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	check_same_conflicts(&N);

	/* The first to push kept the numbers. */
	for (int i = 0; i < 3; i++) {
		sqlite3 *db = N.s[i].app;
		char *mq = tu_text(db, "SELECT group_concat(quoteNumber || '=' ||"
				   " data, ' ') FROM (SELECT * FROM manual_quotes"
				   " ORDER BY quoteNumber)");
		char *pr = tu_text(db, "SELECT group_concat(id, ' ') FROM projects");
		TU_CHECK(mq && !strcmp(mq, "Q-100=alice Q-200=carol Q-300=bob 2"),
			 "%s: manual quotes %s", N.s[i].name, mq);
		TU_CHECK(pr && !strcmp(pr, "p-a"), "%s: projects %s",
			 N.s[i].name, pr);
		free(mq);
		free(pr);
	}
	/* Both versions of each losing row are listed, from the loser's
	 * side on the loser's PC. */
	json_t *cq = conflict_on(&N.s[1], "manual_quotes", "id", NULL, "");
	json_t *cp = conflict_on(&N.s[1], "projects", "id", "'p-b'", "");
	TU_CHECK(cq && cp, "a UNIQUE conflict is missing (bob's quote %p,"
		 " bob's project %p)", (void *)cq, (void *)cp);
	TU_CHECK(!strcmp(side_text(cq, "local_value", "data"), "bob") &&
			 !strcmp(side_text(cq, "local_value", "quoteNumber"), "Q-100") &&
			 !strcmp(side_text(cq, "remote_value", "data"), "alice") &&
			 !strcmp(json_string_value(json_object_get(cq, "winner")),
				 "remote"),
		 "bob's quote conflict: %s", json_dumps(cq, JSON_COMPACT));
	TU_CHECK(!strcmp(side_text(cp, "local_value", "name"), "bob project") &&
			 !strcmp(side_text(cp, "remote_value", "name"), "alice project"),
		 "bob's project conflict: %s", json_dumps(cp, JSON_COMPACT));

	/* Keep local while the number is taken: refused, nothing changed. */
	long n0, n1;
	char *before = file_bytes(N.s[1].path, &n0);
	int rc = hs_replica_resolve(N.s[1].hs, conflict_id(cq), HS_KEEP_LOCAL);
	const char *msg = hs_replica_errmsg(N.s[1].hs);
	TU_CHECK(rc != HS_OK && strstr(msg, "quoteNumber") && !strchr(msg, '\n'),
		 "keep local of a number still taken: %d %s", rc, msg);
	char *after = file_bytes(N.s[1].path, &n1);
	TU_CHECK(n0 == n1 && !memcmp(before, after, (size_t)n0),
		 "a refused resolve changed bob's file");
	free(before);
	free(after);
	json_t *still = conflict_by_id(&N.s[1], conflict_id(cq));
	TU_CHECK(json_is_false(json_object_get(still, "resolved")),
		 "a refused resolve marked the conflict resolved");
	json_decref(still);

	/* alice gives her quote another number; then bob's comes back. */
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE manual_quotes SET quoteNumber = 'Q-101'"
			    " WHERE data = 'alice'");
	net_sync(&N, 0);
	net_sync(&N, 1);
	TU_CHECK(hs_replica_resolve(N.s[1].hs, conflict_id(cq), HS_KEEP_LOCAL)
			 == 0, "keep local once the number is free: %s",
		 hs_replica_errmsg(N.s[1].hs));
	/* carol, no party to it, keeps alice's project (the winner) */
	json_t *cp_carol = conflict_on(&N.s[2], "projects", "id", "'p-b'", "");
	TU_CHECK(hs_replica_resolve(N.s[2].hs, conflict_id(cp_carol),
				    !strcmp(json_string_value(json_object_get(
						    cp_carol, "winner")), "local")
					    ? HS_KEEP_LOCAL
					    : HS_KEEP_REMOTE) == 0,
		 "carol keeps the winner of the project conflict: %s",
		 hs_replica_errmsg(N.s[2].hs));
	net_sync_all(&N, 2);
	net_check_converged(&N);
	for (int i = 0; i < 3; i++) {
		char *mq = tu_text(N.s[i].app, "SELECT group_concat(id || ':' ||"
				   " quoteNumber || '=' || data, ' ') FROM (SELECT *"
				   " FROM manual_quotes ORDER BY quoteNumber)");
		/* carol's quote was first (id 1), alice's second (2),
		 * bob's two next: his Q-300 row (3) first, as the Q-100 row
		 * met a taken number and was merged last (4); bob's Q-100
		 * back under its id */
		TU_CHECK(mq && !strcmp(mq, "4:Q-100=bob 2:Q-101=alice"
					   " 1:Q-200=carol 3:Q-300=bob 2"),
			 "%s: manual quotes after the resolutions: %s",
			 N.s[i].name, mq);
		free(mq);
	}
	check_resolved_everywhere(&N, conflict_id(cq));
	check_resolved_everywhere(&N, conflict_id(cp_carol));
	json_decref(cq);
	json_decref(cp);
	json_decref(cp_carol);
	net_close(&N);
}
/*
 * A user changes an existing row's UNIQUE value to one another PC took
 * for a new row at the same time (bob pushes first). Expected: every sync
 * succeeds, bob's row keeps the number, carol's change is listed as a
 * whole-row conflict (her version and bob's row), carol's row keeps its
 * old number everywhere, all replicas converge.
 */
static void unique_update_to_taken_value(void)
{
	net N;
	net_open(&N, 2, UNIQUE_SCHEMA, 0);
	net_sync_all(&N, 1);
	tu_exec(N.s[1].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-200', 'carol')");
	net_sync_all(&N, 2);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-300', 'alice')");
	tu_exec(N.s[1].app, "UPDATE manual_quotes SET quoteNumber = 'Q-300'"
			    " WHERE data = 'carol'");
	net_sync(&N, 0);
	char *json = NULL;
	int rc = tu_site_sync_rc(&N.s[1], &json);
	TU_CHECK(rc == 0, "the sync of the PC whose change lost a UNIQUE value"
		 " failed: %d %s", rc, hs_replica_errmsg(N.s[1].hs));
	hs_free(json);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	check_same_conflicts(&N);
	char *mq = tu_text(N.s[1].app, "SELECT group_concat(quoteNumber || '='"
			   " || data, ' ') FROM (SELECT * FROM manual_quotes"
			   " ORDER BY quoteNumber)");
	TU_CHECK(mq && !strcmp(mq, "Q-200=carol Q-300=alice"), "outcome: %s", mq);
	free(mq);
	json_t *c = conflict_on(&N.s[1], "manual_quotes", "id", NULL, "");
	TU_CHECK(c && !strcmp(side_text(c, "local_value", "quoteNumber"), "Q-300")
		 && !strcmp(side_text(c, "local_value", "data"), "carol"),
		 "the lost change is not listed: %s",
		 c ? json_dumps(c, JSON_COMPACT) : "(none)");
	json_decref(c);
	net_close(&N);
}

/*
 * One user swaps the numbers of two rows in one transaction (through a
 * temporary value, as SQLite requires). Nobody else wrote: expected, the
 * swap reaches everyone, no conflict, all replicas converge.
 */
static void unique_swap_by_one_user(void)
{
	net N;
	net_open(&N, 2, UNIQUE_SCHEMA, 0);
	tu_exec(N.s[0].app, "INSERT INTO manual_quotes (quoteNumber, data)"
			    " VALUES ('Q-1', 'first'), ('Q-2', 'second')");
	net_sync_all(&N, 2);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "BEGIN;"
			    "UPDATE manual_quotes SET quoteNumber = 'tmp' WHERE id = 1;"
			    "UPDATE manual_quotes SET quoteNumber = 'Q-1' WHERE id = 2;"
			    "UPDATE manual_quotes SET quoteNumber = 'Q-2' WHERE id = 1;"
			    "COMMIT");
	net_sync_all(&N, 2);
	for (int i = 0; i < 2; i++) {
		char *mq = tu_text(N.s[i].app, "SELECT group_concat(id || ':' ||"
				   " quoteNumber, ' ') FROM (SELECT * FROM"
				   " manual_quotes ORDER BY id)");
		TU_CHECK(mq && !strcmp(mq, "1:Q-2 2:Q-1"), "%s: after the swap %s",
			 N.s[i].name, mq);
		free(mq);
		json_t *a = tu_site_conflicts(&N.s[i], 1);
		TU_CHECK(json_array_size(a) == 0, "%s: a swap by one user made"
			 " %zu conflicts", N.s[i].name, json_array_size(a));
		json_decref(a);
	}
	net_check_converged(&N);
	net_close(&N);
}

/* ---- resolving ------------------------------------------------------ */

static const char *ITEMS_SCHEMA =
	"CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, price REAL)";

/* The text of items.name for id on db ("(absent)" when there is none). */
static char *item_name(sqlite3 *db, const char *id)
{
	char *v = tu_text(db, "SELECT coalesce(name, 'NULL') FROM items WHERE"
			      " id = %Q", id);
	return v ? v : strdup("(absent)");
}

/* Every replica and the master hold name `want` for item id. */
static void check_item_everywhere(net *N, const char *id, const char *want)
{
	sqlite3 *m = tu_db_open(N->master, 1);
	for (int i = 0; i <= N->n; i++) {
		sqlite3 *db = i < N->n ? N->s[i].app : m;
		char *got = item_name(db, id);
		TU_CHECK(!strcmp(got, want), "%s: item %s is %s, want %s",
			 i < N->n ? N->s[i].name : "master", id, got, want);
		free(got);
	}
	sqlite3_close(m);
}

/*
 * Column conflicts between alice and bob (bob edits last and wins), one
 * per row, resolved by alice or by bob keeping local or remote; a fifth
 * resolved by both at once, each keeping their own. After the syncs every
 * replica holds the kept value and lists every conflict as resolved.
 */
static void resolve_column_reaches_everyone(void)
{
	static const struct {
		const char *id;
		int resolver; /* 0 alice, 1 bob */
		hs_keep keep;
		const char *want;
	} R[] = {
		{"r1", 0, HS_KEEP_LOCAL, "alice r1"},
		{"r2", 0, HS_KEEP_REMOTE, "bob r2"},
		{"r3", 1, HS_KEEP_LOCAL, "bob r3"},
		{"r4", 1, HS_KEEP_REMOTE, "alice r4"},
	};
	int64_t ids[5];
	net N;
	net_open(&N, 3, ITEMS_SCHEMA, 0);
	tu_exec(N.s[2].app, "INSERT INTO items (id, name, price) VALUES ('r1', 'x', 1),"
			    " ('r2', 'x', 2), ('r3', 'x', 3), ('r4', 'x', 4),"
			    " ('r5', 'x', 5)");
	net_sync_all(&N, 2);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "UPDATE items SET name = 'alice ' || id");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE items SET name = 'bob ' || id");
	net_sync_all(&N, 2);
	check_item_everywhere(&N, "r1", "bob r1");
	for (int k = 0; k < 4; k++) {
		tu_site *s = &N.s[R[k].resolver];
		char *key = sqlite3_mprintf("'%s'", R[k].id);
		json_t *c = conflict_on(s, "items", "id", key, "name");
		sqlite3_free(key);
		TU_CHECK(c != NULL, "%s has no conflict on %s", s->name, R[k].id);
		/* local is this PC's own value */
		char *own = sqlite3_mprintf("%s %s", s->name, R[k].id);
		TU_CHECK(!strcmp(json_string_value(json_object_get(c, "local_value")),
				 own),
			 "%s: local_value of %s is not its own: %s", s->name,
			 R[k].id, json_dumps(c, JSON_COMPACT));
		sqlite3_free(own);
		ids[k] = conflict_id(c);
		json_decref(c);
		TU_CHECK(hs_replica_resolve(s->hs, ids[k], R[k].keep) == 0,
			 "%s resolves %s: %s", s->name, R[k].id,
			 hs_replica_errmsg(s->hs));
	}
	/* r5: both resolve at once, each keeping their own value. bob's
	 * value is the current one, so his resolution writes nothing;
	 * alice's writes hers as a new edit, which stands. */
	json_t *c5 = conflict_on(&N.s[0], "items", "id", "'r5'", "name");
	ids[4] = conflict_id(c5);
	json_decref(c5);
	TU_CHECK(hs_replica_resolve(N.s[0].hs, ids[4], HS_KEEP_LOCAL) == 0,
		 "alice resolves r5: %s", hs_replica_errmsg(N.s[0].hs));
	tu_now_ms += 1000;
	TU_CHECK(hs_replica_resolve(N.s[1].hs, ids[4], HS_KEEP_LOCAL) == 0,
		 "bob resolves r5: %s", hs_replica_errmsg(N.s[1].hs));
	net_sync_all(&N, 2);
	net_check_converged(&N);
	for (int k = 0; k < 4; k++) {
		check_item_everywhere(&N, R[k].id, R[k].want);
		check_resolved_everywhere(&N, ids[k]);
	}
	check_item_everywhere(&N, "r5", "alice r5");
	check_resolved_everywhere(&N, ids[4]);
	net_close(&N);
}

/*
 * Delete against update, both orders of pushing: the row is deleted
 * everywhere and the update listed as a whole-row conflict. Resolving it
 * by keeping the row (bob keeps local = his updated row; alice, the
 * deleter, keeps remote = bob's row) brings the row back everywhere with
 * bob's values. carol, keeping the delete of a third row, changes nothing.
 */
static void resolve_delete_vs_update_restores(void)
{
	net N;
	net_open(&N, 3, ITEMS_SCHEMA, 0);
	tu_exec(N.s[2].app, "INSERT INTO items (id, name, price) VALUES ('d1', 'one', 1),"
			    " ('d2', 'two', 2), ('d3', 'three', 3)");
	net_sync_all(&N, 2);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "DELETE FROM items");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE items SET name = name || ' by bob',"
			    " price = price * 10");
	net_sync(&N, 0); /* alice's delete reaches the master first */
	net_sync(&N, 1);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	for (int i = 0; i < 3; i++)
		TU_CHECK(tu_int(N.s[i].app, -1, "SELECT count(*) FROM items") == 0,
			 "%s: deleted rows are back", N.s[i].name);

	json_t *c1 = conflict_on(&N.s[1], "items", "id", "'d1'", "");
	json_t *c2 = conflict_on(&N.s[0], "items", "id", "'d2'", "");
	json_t *c3 = conflict_on(&N.s[2], "items", "id", "'d3'", "");
	TU_CHECK(c1 && c2 && c3, "a delete-vs-update conflict is missing");
	TU_CHECK(!strcmp(side_text(c1, "local_value", "name"), "one by bob") &&
			 json_is_null(json_object_get(c1, "remote_value")),
		 "bob's side of d1 is his row, alice's the delete: %s",
		 json_dumps(c1, JSON_COMPACT));
	TU_CHECK(json_is_null(json_object_get(c2, "local_value")) &&
			 !strcmp(side_text(c2, "remote_value", "name"), "two by bob"),
		 "alice's side of d2 is her delete, bob's his row: %s",
		 json_dumps(c2, JSON_COMPACT));
	TU_CHECK(hs_replica_resolve(N.s[1].hs, conflict_id(c1), HS_KEEP_LOCAL) == 0,
		 "bob keeps his row: %s", hs_replica_errmsg(N.s[1].hs));
	TU_CHECK(hs_replica_resolve(N.s[0].hs, conflict_id(c2), HS_KEEP_REMOTE) == 0,
		 "alice keeps bob's row: %s", hs_replica_errmsg(N.s[0].hs));
	const char *w3 = json_string_value(json_object_get(c3, "winner"));
	json_t *won3 = json_object_get(c3, !strcmp(w3, "local") ? "local_value"
								: "remote_value");
	TU_CHECK(json_is_null(won3), "the delete should have won d3: %s",
		 json_dumps(c3, JSON_COMPACT));
	TU_CHECK(hs_replica_resolve(N.s[2].hs, conflict_id(c3),
				    !strcmp(w3, "local") ? HS_KEEP_LOCAL
							  : HS_KEEP_REMOTE) == 0,
		 "carol keeps the delete: %s", hs_replica_errmsg(N.s[2].hs));
	net_sync_all(&N, 2);
	net_check_converged(&N);
	check_item_everywhere(&N, "d1", "one by bob");
	check_item_everywhere(&N, "d2", "two by bob");
	check_item_everywhere(&N, "d3", "(absent)");
	sqlite3 *m = tu_db_open(N.master, 1);
	TU_CHECK(tu_int(m, -1, "SELECT price = 20 FROM items WHERE id = 'd2'") == 1,
		 "restored d2 lost bob's price");
	sqlite3_close(m);
	check_resolved_everywhere(&N, conflict_id(c1));
	check_resolved_everywhere(&N, conflict_id(c2));
	check_resolved_everywhere(&N, conflict_id(c3));
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
	net_close(&N);
}

/* Unknown and already resolved ids are refused with one line and change
 * nothing; so is a resolve whose row is gone. */
static void resolve_bad_ids_refused(void)
{
	net N;
	net_open(&N, 2, ITEMS_SCHEMA, 0);
	tu_exec(N.s[0].app, "INSERT INTO items (id, name, price) VALUES ('a', 'x', 1), ('b', 'x', 2)");
	net_sync_all(&N, 2);
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "UPDATE items SET name = 'alice'");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE items SET name = 'bob'");
	net_sync_all(&N, 2);
	json_t *ca = conflict_on(&N.s[0], "items", "id", "'a'", "name");
	json_t *cb = conflict_on(&N.s[1], "items", "id", "'b'", "name");
	TU_CHECK(ca && cb, "no conflicts to resolve");
	tu_site *al = &N.s[0], *bo = &N.s[1];

	long n0, n1;
	char *before = file_bytes(al->path, &n0);
	int rc = hs_replica_resolve(al->hs, 999999, HS_KEEP_LOCAL);
	TU_CHECK(rc == HS_ENOTFOUND && !strchr(hs_replica_errmsg(al->hs), '\n')
			 && strstr(hs_replica_errmsg(al->hs), "999999"),
		 "unknown id: %d %s", rc, hs_replica_errmsg(al->hs));
	rc = hs_replica_resolve(al->hs, conflict_id(ca), (hs_keep)7);
	TU_CHECK(rc == HS_EINVALID, "keep 7: %d %s", rc, hs_replica_errmsg(al->hs));
	char *after = file_bytes(al->path, &n1);
	TU_CHECK(n0 == n1 && !memcmp(before, after, (size_t)n0),
		 "a refused resolve changed the file");
	free(before);
	free(after);

	/* resolved here: a second resolve is refused */
	TU_CHECK(hs_replica_resolve(al->hs, conflict_id(ca), HS_KEEP_LOCAL) == 0,
		 "resolve: %s", hs_replica_errmsg(al->hs));
	rc = hs_replica_resolve(al->hs, conflict_id(ca), HS_KEEP_REMOTE);
	TU_CHECK(rc == HS_EINVALID && strstr(hs_replica_errmsg(al->hs), "already"),
		 "second resolve here: %d %s", rc, hs_replica_errmsg(al->hs));
	/* resolved elsewhere and synced: refused there too */
	net_sync(&N, 0);
	net_sync(&N, 1);
	rc = hs_replica_resolve(bo->hs, conflict_id(ca), HS_KEEP_LOCAL);
	TU_CHECK(rc == HS_EINVALID && strstr(hs_replica_errmsg(bo->hs), "already"),
		 "resolve of a conflict alice resolved: %d %s", rc,
		 hs_replica_errmsg(bo->hs));
	check_item_everywhere(&N, "a", "alice");

	/* the row of a column conflict was deleted since: keeping the
	 * losing value (as bob sees it) has nothing to set */
	tu_exec(bo->app, "DELETE FROM items WHERE id = 'b'");
	const char *w = json_string_value(json_object_get(cb, "winner"));
	hs_keep lose = !strcmp(w, "local") ? HS_KEEP_REMOTE : HS_KEEP_LOCAL;
	rc = hs_replica_resolve(bo->hs, conflict_id(cb), lose);
	TU_CHECK(rc == HS_EINVALID && !strchr(hs_replica_errmsg(bo->hs), '\n'),
		 "resolve on a deleted row: %d %s", rc, hs_replica_errmsg(bo->hs));
	net_sync_all(&N, 2);
	net_check_converged(&N);
	json_decref(ca);
	json_decref(cb);
	net_close(&N);
}

/* ---- audit trail ---------------------------------------------------- */

/* The audit log of site s with the given filters, parsed. */
static json_t *log_of(tu_site *s, const char *table, const char *key,
		      const char *since)
{
	char *out = NULL;
	int rc = hs_replica_log_json(s->hs, table, key, since, 0, &out);
	TU_CHECK(rc == 0, "%s: log: %d %s", s->name, rc, hs_replica_errmsg(s->hs));
	json_t *a = tu_json_take(out);
	TU_CHECK(json_is_array(a), "%s: the log is not an array", s->name);
	return a;
}

/* One log entry as "table key op user pending" plus, for synced
 * entries, the changes as compact JSON and, for pending ones, the
 * changed columns. */
static char *entry_text(json_t *e)
{
	int pending = json_is_true(json_object_get(e, "pending"));
	char *extra = json_dumps(json_object_get(e, pending ? "columns" : "changes"),
				 JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *t = sqlite3_mprintf("%s %s %s %s %s %s",
				  json_string_value(json_object_get(e, "table")),
				  json_string_value(json_object_get(e, "key")),
				  json_string_value(json_object_get(e, "op")),
				  json_string_value(json_object_get(e, "user")),
				  pending ? "pending" : "synced", extra);
	char *r = strdup(t);
	sqlite3_free(t);
	free(extra);
	return r;
}

/* The log of s with the filters, one entry_text per line, newest first;
 * updated_at/updated_by/synced_at left out of the changes. */
static char *log_text(tu_site *s, const char *table, const char *key,
		      const char *since)
{
	json_t *a = log_of(s, table, key, since), *e;
	size_t i;
	char *all = strdup("");
	json_array_foreach(a, i, e) {
		json_t *ch = json_object_get(e, "changes");
		json_object_del(ch, "updated_at");
		json_object_del(ch, "updated_by");
		json_object_del(ch, "synced_at");
		char *one = entry_text(e);
		char *cat = sqlite3_mprintf("%s%s\n", all, one);
		free(all);
		free(one);
		all = strdup(cat);
		sqlite3_free(cat);
	}
	json_decref(a);
	return all;
}

#define CHECK_LOG(s, table, key, since, want)                                 \
	do {                                                                  \
		char *got_ = log_text(s, table, key, since);                  \
		TU_CHECK(!strcmp(got_, want), "%s: log table=%s key=%s"        \
			 " since=%s:\n%s--- want:\n%s", (s)->name,             \
			 table ? table : "*", key ? key : "*",                \
			 since ? since : "-", got_, want);                    \
		free(got_);                                                   \
	} while (0)

/*
 * Who changed what, when: alice's pending changes show as pending (with
 * the columns an update touched), synced updates and deletes with old and
 * new values (an insert with none: its values are the row), and the user,
 * on every replica; filters by table, key (composite keys as "a|b") and
 * since (edit time) narrow it; bad filters are refused.
 */
static void audit_log_filters(void)
{
	net N;
	net_open(&N, 2, "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT,"
		 " price REAL); CREATE TABLE lines (code TEXT, n INTEGER,"
		 " qty INTEGER, PRIMARY KEY (code, n))", 0);
	net_sync_all(&N, 1);
	tu_site *al = &N.s[0], *bo = &N.s[1];

	/* 10:00 alice adds an item and a line; both pending */
	tu_exec(al->app, "INSERT INTO items (id, name, price) VALUES"
			 " ('a', 'bolt', 1.5);"
			 "INSERT INTO lines (code, n, qty) VALUES ('Q1', 3, 10)");
	CHECK_LOG(al, NULL, NULL, NULL,
		  "lines Q1|3 insert alice pending []\n"
		  "items a insert alice pending []\n");
	CHECK_LOG(al, "items", NULL, NULL, "items a insert alice pending []\n");
	net_sync(&N, 0);
	/* an insert's values are the row itself: the log says who and when */
	CHECK_LOG(al, "items", NULL, NULL, "items a insert alice synced {}\n");

	/* 11:00 alice renames it (pending, then synced); bob sees both */
	tu_now_ms += 3600 * 1000;
	tu_exec(al->app, "UPDATE items SET name = 'hex bolt' WHERE id = 'a'");
	char *pend = log_text(al, "items", "a", NULL);
	TU_CHECK(!strncmp(pend, "items a update alice pending [", 30) &&
			 strstr(pend, "\"name\""),
		 "pending update: %s", pend);
	free(pend);
	net_sync(&N, 0);
	net_sync(&N, 1);
	const char *upd = "items a update alice synced {\"name\":[\"bolt\","
			  "\"hex bolt\"]}\n";
	const char *ins = "items a insert alice synced {}\n";
	char *both = sqlite3_mprintf("%s%s", upd, ins);
	CHECK_LOG(bo, "items", "a", NULL, both);
	CHECK_LOG(al, "items", "a", NULL, both);
	sqlite3_free(both);

	/* 12:00 bob deletes it: the old values are in the log */
	tu_now_ms += 3600 * 1000;
	tu_exec(bo->app, "DELETE FROM items WHERE id = 'a';"
			 "UPDATE lines SET qty = 12");
	net_sync(&N, 1);
	net_sync(&N, 0);
	const char *del = "items a delete bob synced {\"id\":[\"a\",null],"
			  "\"name\":[\"hex bolt\",null],\"price\":[1.5,null]}\n";
	char *want = sqlite3_mprintf("%s%s", del, upd);
	CHECK_LOG(al, "items", NULL, "2025-01-15T10:30:00Z", want);
	sqlite3_free(want);
	CHECK_LOG(al, "items", NULL, "2025-01-15T11:30:00Z", del);
	CHECK_LOG(al, NULL, "Q1|3", NULL,
		  "lines Q1|3 update bob synced {\"qty\":[10,12]}\n"
		  "lines Q1|3 insert alice synced {}\n");
	CHECK_LOG(al, "items", "nosuch", NULL, "");
	CHECK_LOG(al, NULL, NULL, "2030-01-01", "");

	int rc = hs_replica_log_json(al->hs, "nosuch", NULL, NULL, 0, &pend);
	TU_CHECK(rc == HS_EINVALID && strstr(hs_replica_errmsg(al->hs), "nosuch"),
		 "unknown table: %d %s", rc, hs_replica_errmsg(al->hs));
	rc = hs_replica_log_json(al->hs, NULL, NULL, "yesterday", 0, &pend);
	TU_CHECK(rc == HS_EINVALID && strstr(hs_replica_errmsg(al->hs), "yesterday"),
		 "bad since: %d %s", rc, hs_replica_errmsg(al->hs));
	char *out = NULL;
	TU_CHECK(hs_replica_log_json(al->hs, NULL, NULL, NULL, 2, &out) == 0,
		 "limit");
	json_t *a = tu_json_take(out);
	TU_CHECK(json_array_size(a) == 2, "limit 2 gave %zu", json_array_size(a));
	json_decref(a);
	net_close(&N);
}

/* ---- numbered series ------------------------------------------------ */

#define NUM_SITES 3
#define NUM_EACH 200

/* The numbers one replica drew, in order. */
typedef struct drawn {
	int64_t v[NUM_EACH + 400];
	int n;
	int block;
} drawn;

static uint64_t num_rng = 88172645463325252ULL;
static int num_rand(int n)
{
	num_rng ^= num_rng << 13;
	num_rng ^= num_rng >> 7;
	num_rng ^= num_rng << 17;
	return (int)(num_rng % (uint64_t)n);
}

/* A draw while this PC cannot reach the share must fail cleanly: an
 * HS_EIO or HS_EBUSY, one line naming the series and saying to sync, and
 * the replica file unchanged. */
static void check_exhausted(net *N, int i, const char *series)
{
	tu_site *s = &N->s[i];
	long n0, n1;
	int64_t v = -1;
	char *before = file_bytes(s->path, &n0);
	net_share(N, 0);
	int rc = hs_replica_number_next(s->hs, series, &v);
	net_share(N, 1);
	const char *msg = hs_replica_errmsg(s->hs);
	TU_CHECK(rc == HS_EIO || rc == HS_EBUSY,
		 "%s: an exhausted draw returned %d (number %lld): %s", s->name,
		 rc, (long long)v, msg);
	TU_CHECK(strstr(msg, series) && strstr(msg, "sync") &&
			 !strchr(msg, '\n'),
		 "%s: the message should name the series and say to sync, in"
		 " one line: %s", s->name, msg);
	char *after = file_bytes(s->path, &n1);
	TU_CHECK(n0 == n1 && !memcmp(before, after, (size_t)n0),
		 "%s: a failed draw changed the replica file", s->name);
	free(before);
	free(after);
}

/* Draw one number on site i (offline: with the share unmounted). Returns
 * 0, or the error code when offline and out of numbers. */
static int draw(net *N, int i, int offline, drawn *d, const char *series)
{
	int64_t v;
	if (offline)
		net_share(N, 0);
	int rc = hs_replica_number_next(N->s[i].hs, series, &v);
	if (offline)
		net_share(N, 1);
	if (rc != HS_OK) {
		TU_CHECK(offline, "%s: online draw failed: %d %s", N->s[i].name,
			 rc, hs_replica_errmsg(N->s[i].hs));
		return rc;
	}
	TU_CHECK(d->n == 0 || v > d->v[d->n - 1],
		 "%s drew %lld after %lld: numbers must increase", N->s[i].name,
		 (long long)v, (long long)d->v[d->n - 1]);
	TU_CHECK(d->n < (int)(sizeof(d->v) / sizeof(d->v[0])), "too many");
	d->v[d->n++] = v;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* All numbers drawn by all sites, sorted; fails on a duplicate. Returns
 * the count and the largest in *max. */
static int check_unique(const drawn *d, int nsites, int64_t *max)
{
	int total = 0;
	for (int i = 0; i < nsites; i++)
		total += d[i].n;
	int64_t *all = malloc(sizeof(*all) * (size_t)(total + 1));
	TU_CHECK(all != NULL, "out of memory");
	int k = 0;
	for (int i = 0; i < nsites; i++)
		for (int j = 0; j < d[i].n; j++)
			all[k++] = d[i].v[j];
	qsort(all, (size_t)total, sizeof(*all), cmp_i64);
	for (int j = 1; j < total; j++)
		TU_CHECK(all[j] != all[j - 1], "number %lld handed out twice",
			 (long long)all[j]);
	*max = total ? all[total - 1] : 0;
	free(all);
	return total;
}

/*
 * Three PCs with blocks of 20 (the default), 7 and 1 draw 200 quote
 * numbers each, syncing now and then and going offline for stretches.
 * Numbers never repeat across PCs; each PC's increase; the numbers not
 * handed out (reserved by a PC, not used yet) stay below two blocks per
 * PC at every moment; an offline PC that runs out gets a clean error.
 * At the end each PC draws offline until it runs out (at most two of its
 * blocks): then every number from 1 to the largest was handed out exactly
 * once - no number was lost.
 */
static void numbers_unique_offline(void)
{
	static drawn d[NUM_SITES];
	static const int blocks[NUM_SITES] = {20, 7, 1};
	int offline[NUM_SITES] = {0}, exhausted = 0, left = NUM_SITES;
	net N;
	net_open(&N, NUM_SITES, "CREATE TABLE quotes (id TEXT PRIMARY KEY)", 0);
	for (int i = 0; i < NUM_SITES; i++) {
		d[i].block = blocks[i];
		if (blocks[i] != 20)
			TU_CHECK(hs_replica_number_block_set(N.s[i].hs,
							     blocks[i]) == 0,
				 "block_set: %s", hs_replica_errmsg(N.s[i].hs));
	}
	net_sync_all(&N, 1);
	while (left > 0) {
		int i = num_rand(NUM_SITES);
		int r = num_rand(100);
		if (d[i].n >= NUM_EACH)
			continue;
		if (r < 6) {
			if (!offline[i])
				net_sync(&N, i);
		} else if (r < 9) {
			offline[i] = !offline[i];
		} else if (draw(&N, i, offline[i], &d[i], "quote") != 0) {
			check_exhausted(&N, i, "quote");
			exhausted++;
			offline[i] = 0; /* back at the office */
			net_sync(&N, i);
		} else if (d[i].n == NUM_EACH) {
			left--;
		}
		int64_t max;
		int total = check_unique(d, NUM_SITES, &max);
		TU_CHECK(max - total <= 2 * (20 + 7 + 1),
			 "%lld numbers reserved but not handed out (largest %lld,"
			 " %d drawn)", (long long)(max - total), (long long)max,
			 total);
	}
	TU_CHECK(exhausted > 0, "no PC ran out offline: the test should make"
		 " the 1-number PC run out");
	printf("  %d offline exhaustions reported cleanly\n", exhausted);

	/* Online again; then each PC uses up what it holds. */
	net_sync_all(&N, 1);
	for (int i = 0; i < NUM_SITES; i++) {
		int n0 = d[i].n;
		while (draw(&N, i, 1, &d[i], "quote") == 0)
			TU_CHECK(d[i].n - n0 <= 2 * d[i].block,
				 "%s holds more than two blocks", N.s[i].name);
		check_exhausted(&N, i, "quote");
	}
	int64_t max;
	int total = check_unique(d, NUM_SITES, &max);
	TU_CHECK(total == max, "%d numbers handed out, largest %lld: %lld lost",
		 total, (long long)max, (long long)(max - total));
	/* The other series did not move. */
	int64_t p = 0;
	TU_CHECK(hs_replica_number_next(N.s[0].hs, "project", &p) == 0 && p == 1,
		 "first project number %lld, want 1", (long long)p);
	net_close(&N);
}

/* Bad requests change nothing and say why. */
static void numbers_bad_requests(void)
{
	net N;
	int64_t v = -1;
	char long_name[80];
	net_open(&N, 1, "CREATE TABLE quotes (id TEXT PRIMARY KEY)", 0);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	tu_site *s = &N.s[0];
	TU_CHECK(hs_replica_number_next(s->hs, "", &v) == HS_EINVALID &&
			 hs_replica_number_next(s->hs, NULL, &v) == HS_EINVALID &&
			 hs_replica_number_next(s->hs, long_name, &v) ==
				 HS_EINVALID,
		 "bad series names must be HS_EINVALID");
	TU_CHECK(hs_replica_number_block_set(s->hs, 0) == HS_EINVALID &&
			 hs_replica_number_block_set(s->hs, 100001) ==
				 HS_EINVALID,
		 "bad block sizes must be HS_EINVALID");
	TU_CHECK(hs_replica_number_block_set(s->hs, 100000) == 0 &&
			 hs_replica_number_block_set(s->hs, 1) == 0,
		 "the limits 1 and 100000 are allowed");
	/* A PC that never reached the master has no numbers at all. */
	net_share(&N, 0);
	int rc = hs_replica_number_next(s->hs, "quote", &v);
	net_share(&N, 1);
	TU_CHECK(rc == HS_EIO || rc == HS_EBUSY, "no block, no share: %d", rc);
	TU_CHECK(hs_replica_number_next(s->hs, "quote", &v) == 0 && v == 1,
		 "first number once the share is back: %lld", (long long)v);
	net_close(&N);
}

/* ---- main ----------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"int_keys_rebased_children_follow",
		 int_keys_rebased_children_follow},
		{"int_keys_rebased_fk_enforced", int_keys_rebased_fk_enforced},
		{"int_keys_rebased_across_batches", int_keys_rebased_across_batches},
		{"resolve_column_reaches_everyone",
		 resolve_column_reaches_everyone},
		{"resolve_delete_vs_update_restores",
		 resolve_delete_vs_update_restores},
		{"resolve_bad_ids_refused", resolve_bad_ids_refused},
		{"audit_log_filters", audit_log_filters},
		{"numbers_unique_offline", numbers_unique_offline},
		{"unique_collision_everywhere_same",
		 unique_collision_everywhere_same},
		{"unique_update_to_taken_value", unique_update_to_taken_value},
		{"unique_swap_by_one_user", unique_swap_by_one_user},
		{"numbers_bad_requests", numbers_bad_requests},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
