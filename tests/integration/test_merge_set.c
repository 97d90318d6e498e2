/*
 * test_merge_set.c - the merge's two ways of writing new rows (merge.c,
 * "New rows as a set") make the same master. One office state, copied
 * before alice's push: alice pushes into the master with every run of
 * new rows written as a set (HS_MERGE_SET_MIN=1), her copy into the
 * master's copy row by row (HS_MERGE_SET_MIN=0). Her push mixes what a
 * set must leave to the rules: keys bob pushed first (text keys: the
 * concurrent insert; integer keys: re-keyed, the rest of the run checked
 * again), rows there before tracking, updates and deletes, and tables
 * with UNIQUE columns and foreign keys (always row by row). Both masters
 * must hold the same rows, versions, audit trail, conflicts and re-keyed
 * ids, and both copies of alice's replica the same rows after the pull.
 * File masters only (the set is the file store's).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
	"CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, qty INTEGER,"
	" price REAL, data BLOB);"
	"CREATE TABLE nums(id INTEGER PRIMARY KEY, label TEXT);"
	"CREATE TABLE pairs(a TEXT, b INTEGER, v TEXT, PRIMARY KEY(a, b));"
	"CREATE TABLE codes(id TEXT PRIMARY KEY, code TEXT UNIQUE);"
	"CREATE TABLE parent(id INTEGER PRIMARY KEY, n TEXT);"
	"CREATE TABLE child(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES"
	" parent(id), v TEXT);";

/* The master's tables compared (the clock is virtual, so even the times
 * agree; the sites' random sync tokens are left out). */
static const char *const MASTER_TABLES[] = {
	"items", "nums", "pairs", "codes", "parent", "child", "hubsync_rows",
	"hubsync_history", "hubsync_names", "hubsync_conflicts",
	"hubsync_rebases", "hubsync_master", "hubsync_sites", NULL};

static void check_same(const char *what, sqlite3 *a, sqlite3 *b,
		       const char *const *tables)
{
	for (int i = 0; tables[i]; i++) {
		char *why = NULL;
		const char *skip = strcmp(tables[i], "hubsync_sites") == 0
					   ? "token,prev_token" : NULL;
		if (tu_table_diff(a, b, tables[i], skip, &why) != 0)
			tu_fail("%s: %s", what, why);
	}
}

static void copy_db(const char *from, const char *to)
{
	char f[700], t[700];
	tu_copy_file(from, to);
	snprintf(f, sizeof f, "%s-wal", from);
	snprintf(t, sizeof t, "%s-wal", to);
	TU_CHECK(!tu_file_exists(f), "%s: still has a WAL after close", from);
}

int main(void)
{
	const char *dir = tu_tmpdir("merge_set");
	char m1[600], m2[600];
	tu_site a, b, a2;
	int64_t now;

	tu_set_context("test_merge_set");
	tu_master_setup(m1, sizeof m1, dir);
	tu_master_require_file(m1);
	snprintf(m2, sizeof m2, "%s/master2.db", dir);

	tu_site_open(&a, dir, "alice", 0);
	tu_site_open(&b, dir, "bob", 0);
	tu_exec(a.app, "%s", SCHEMA);
	tu_exec(b.app, "%s", SCHEMA);
	/* rows alice has before tracking: sent as they are, no event */
	tu_exec(a.app, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 30) INSERT INTO items SELECT"
		       " printf('pre-%%03d', i), 'pre ' || i, i, i * 0.5, NULL FROM c");
	tu_site_init(&a, m1, NULL);
	tu_site_init(&b, m1, NULL);

	/* bob first: keys alice will also write */
	tu_exec(b.app, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 40) INSERT INTO items SELECT"
		       " printf('k-%%03d', i), 'bob ' || i, i, 1.5, NULL FROM c;"
		       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 20) INSERT INTO nums(label) SELECT"
		       " 'bob ' || i FROM c;"
		       "INSERT INTO pairs VALUES('x', 5, 'bob');"
		       "INSERT INTO codes VALUES('c1', 'A'), ('c2', 'B');");
	tu_now_ms += 1000;
	tu_site_sync(&b, 0);
	tu_now_ms += 1000;

	/* alice, offline: runs of new rows with bob's keys in the middle */
	tu_exec(a.app, "WITH RECURSIVE c(i) AS (SELECT 20 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 120) INSERT INTO items SELECT"
		       " printf('k-%%03d', i), 'alice ' || i, i * 2, i * 0.25,"
		       " CASE i %% 7 WHEN 0 THEN x'00ff10' WHEN 1 THEN x''"
		       " WHEN 2 THEN '' END FROM c;"
		       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 60) INSERT INTO nums(label) SELECT"
		       " 'alice ' || i FROM c;"
		       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 30) INSERT INTO pairs SELECT"
		       " char(120 + i %% 3), i, 'alice ' || i FROM c;"
		       "INSERT INTO codes VALUES('c3', 'A'), ('c4', 'C'), ('c5', 'D');"
		       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 20) INSERT INTO parent(n) SELECT"
		       " 'p' || i FROM c;"
		       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		       " FROM c WHERE i < 40) INSERT INTO child(pid, v) SELECT"
		       " 1 + i %% 20, 'c' || i FROM c;"
		       "UPDATE items SET qty = qty + 100 WHERE id < 'pre-010';"
		       "DELETE FROM items WHERE id BETWEEN 'pre-020' AND 'pre-025';"
		       "DELETE FROM items WHERE id = 'k-100';");

	/* the same state twice: alice and the master, and their copies */
	tu_site_close(&a);
	tu_site_close(&b);
	snprintf(a2.path, sizeof a2.path, "%s/alice2.db", dir);
	copy_db(a.path, a2.path);
	copy_db(m1, m2);
	tu_site_reopen(&a);
	if (!a.hs)
		tu_site_hs_open(&a);
	tu_site_open(&a2, dir, "alice2", 0);
	tu_site_hs_open(&a2);
	TU_CHECK(hs_replica_relocate(a2.hs, m2) == 0, "relocate: %s",
		 hs_replica_errmsg(a2.hs));

	now = tu_now_ms;
	setenv("HS_MERGE_SET_MIN", "1", 1);
	tu_site_sync(&a, 0);
	tu_now_ms = now;
	setenv("HS_MERGE_SET_MIN", "0", 1);
	tu_site_sync(&a2, 0);
	unsetenv("HS_MERGE_SET_MIN");

	sqlite3 *d1 = tu_db_open(m1, 1), *d2 = tu_db_open(m2, 1);
	TU_CHECK(tu_int(d1, 0, "SELECT count(*) FROM items") == 24 + 40 + 80 - 1,
		 "master items: %lld", (long long)tu_int(d1, 0, "SELECT count(*)"
							 " FROM items"));
	TU_CHECK(tu_int(d1, 0, "SELECT count(*) FROM hubsync_rebases") > 0,
		 "no re-keyed id: the case is not covered");
	TU_CHECK(tu_int(d1, 0, "SELECT count(*) FROM hubsync_conflicts") > 0,
		 "no conflict: the case is not covered");
	check_same("set vs row by row, master", d1, d2, MASTER_TABLES);
	sqlite3_close(d1);
	sqlite3_close(d2);
	char *why = NULL;
	if (tu_db_diff(a.app, a2.app, NULL, &why) != 0)
		tu_fail("set vs row by row, alice after the pull: %s", why);
	tu_check_integrity(m1);
	tu_site_close(&a);
	tu_site_close(&a2);
	printf("merge_set: the set and row by row make the same master\n");
	tu_cleanup();
	return 0;
}
