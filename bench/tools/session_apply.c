/*
 * session_apply.c - SQLite's session extension applying the black box's
 * first pull (100,000 new rows of items into an empty table), against the
 * plain one-statement insert of the same rows: the "consider the session
 * extension" of issue 13 (docs/PERFORMANCE.md, "Fourth round"). Built and
 * run by bench/session_apply.sh; not part of hs_bench (it measures SQLite,
 * not hubsync). Debian's libsqlite3 has the extension compiled in.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *DDL =
	"CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, category TEXT,"
	" vendor TEXT, price REAL, qty INTEGER, notes TEXT)";
/* the black box's rows (bench/case_blackbox.c) */
static const char *GEN =
	"WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c"
	" WHERE i < 99999) INSERT INTO items SELECT printf('item-%09d', i),"
	" 'name ' || i, 'cat ' || (i % 50), 'vendor ' || (i % 200), i * 0.25,"
	" i % 1000, 'notes for item ' || i || ' lorem ipsum dolor sit amet'"
	" FROM c";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int on_conflict(void *ctx, int why, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)why;
	(void)it;
	return SQLITE_CHANGESET_ABORT; /* none expected: the table is empty */
}

static sqlite3 *fresh(const char *dir, const char *name)
{
	char path[4096];
	sqlite3 *db;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, DDL, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "session_apply: cannot create %s\n", path);
		exit(1);
	}
	return db;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	sqlite3 *a = fresh(dir, "a.db");
	sqlite3_session *s;
	void *cs;
	int n;
	if (sqlite3session_create(a, "main", &s) != SQLITE_OK ||
	    sqlite3session_attach(s, "items") != SQLITE_OK ||
	    sqlite3_exec(a, GEN, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3session_changeset(s, &n, &cs) != SQLITE_OK) {
		fprintf(stderr, "session_apply: cannot record a changeset\n");
		return 1;
	}
	printf("changeset of 100000 inserts: %d bytes\n", n);
	for (int round = 0; round < 3; round++) {
		sqlite3 *p = fresh(dir, "plain.db"), *b = fresh(dir, "b.db");
		double t = now();
		int rc = sqlite3_exec(p, GEN, NULL, NULL, NULL);
		double plain = now() - t;
		t = now();
		if (rc == SQLITE_OK)
			rc = sqlite3changeset_apply(b, n, cs, NULL, on_conflict, NULL);
		double apply = now() - t;
		if (rc != SQLITE_OK) {
			fprintf(stderr, "session_apply: %s\n", sqlite3_errstr(rc));
			return 1;
		}
		printf("plain insert %.0f ms, sqlite3changeset_apply %.0f ms:"
		       " %.2fx of the plain insert's speed\n",
		       plain * 1e3, apply * 1e3, plain / apply);
		sqlite3_close(p);
		sqlite3_close(b);
	}
	sqlite3_free(cs);
	sqlite3session_delete(s);
	sqlite3_close(a);
	return 0;
}
