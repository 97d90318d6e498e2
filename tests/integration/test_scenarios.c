/*
 * test_scenarios.c - targeted sync scenarios, each a real setup of replicas
 * and a master file in a temp dir, driven through the public API while the
 * app's writes are plain SQL.
 *
 * Most cases are the failures of the original sync (DESIGN.md section 1):
 * a pull that marked rows synced so push sent nothing, a global timestamp
 * watermark that dropped offline and clock-behind edits, two timestamp text
 * formats compared as strings, equal timestamps without a tie-break, deletes
 * that never synced, per-table errors logged as success. The rest are
 * contract points: types kept exactly, delete vs update decided the same
 * everywhere, column-level merge, identical seed rows, a killed or failed
 * sync re-runs cleanly, sync never creates a master, a table without a
 * primary key is refused by name.
 *
 * Each case runs in its own child process (tu_run_cases): run all with
 * ./test_scenarios, or some by name: ./test_scenarios deletes_stay_deleted.
 * Time is virtual (tu_now_ms) and every user's clock has its own skew.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXSITES 4

/* A little network: a master and up to four users. */
typedef struct net {
	const char *dir;
	char master[600];
	tu_site s[MAXSITES];
	int n;
} net;

static const char *NAMES[MAXSITES] = {"alice", "bob", "carol", "dave"};

static const char *ITEMS =
	"CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, price REAL,"
	" qty INTEGER, v)";

/* n users, each creating `schema` (and running `seed`, may be NULL). */
static void net_open(net *N, int n, const char *schema, const char *seed)
{
	memset(N, 0, sizeof(*N));
	N->dir = tu_tmpdir("scn");
	N->n = n;
	tu_master_setup(N->master, sizeof(N->master), N->dir);
	for (int i = 0; i < n; i++) {
		tu_site_open(&N->s[i], N->dir, NAMES[i], 0);
		tu_exec(N->s[i].app, "%s", schema);
		if (seed)
			tu_exec(N->s[i].app, "%s", seed);
	}
}

static void net_init(net *N)
{
	for (int i = 0; i < N->n; i++) {
		tu_now_ms += 10;
		tu_site_init(&N->s[i], N->master, NULL);
	}
}

/* Everyone syncs, in index order, `rounds` times. */
static void net_sync_all(net *N, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < N->n; i++) {
			tu_now_ms += 100;
			tu_site_sync(&N->s[i], 0);
		}
}

/* Every replica holds exactly the master's rows (synced_at aside). */
static void net_check_converged(net *N)
{
	tu_check_master_rows(N->master, N->s, N->n, "synced_at");
}

static void net_close(net *N)
{
	for (int i = 0; i < N->n; i++)
		tu_site_close(&N->s[i]);
}

/* The text of expr on one row (malloc'd; "(absent)" when there is no row). */
static char *cell_expr(sqlite3 *db, const char *tbl, const char *expr,
		       const char *where)
{
	char *v = tu_text(db, "SELECT %s FROM \"%w\" WHERE %s", expr, tbl,
			  where);
	return v ? v : strdup("(absent)");
}

/* quote() of one cell. */
static char *cell(sqlite3 *db, const char *tbl, const char *col,
		  const char *where)
{
	char *expr = sqlite3_mprintf("quote(\"%w\")", col);
	char *v = cell_expr(db, tbl, expr, where);
	sqlite3_free(expr);
	return v;
}

#define CHECK_EXPR(db, tbl, expr, where, want)                                \
	do {                                                                  \
		char *got_ = cell_expr(db, tbl, expr, where);                 \
		TU_CHECK(!strcmp(got_, want), "%s: %s where %s: want %s, got %s", \
			 tbl, expr, where, want, got_);                       \
		free(got_);                                                   \
	} while (0)
#define CHECK_CELL(db, tbl, col, where, want)                                 \
	CHECK_EXPR(db, tbl, "quote(\"" col "\")", where, want)

static int64_t count_rows(sqlite3 *db, const char *tbl)
{
	return tu_int(db, -1, "SELECT count(*) FROM \"%w\"", tbl);
}

/* Conflicts of a site (all, resolved too) whose table/column match (col
 * NULL matches whole-row conflicts only). */
static int count_conflicts(tu_site *s, const char *tbl, const char *col)
{
	json_t *a = tu_site_conflicts(s, 1), *c;
	size_t i;
	int n = 0;
	json_array_foreach(a, i, c) {
		const char *t = json_string_value(json_object_get(c, "table"));
		json_t *cj = json_object_get(c, "column");
		if (tbl && (!t || strcmp(t, tbl)))
			continue;
		if (col ? !json_is_string(cj) ||
				  strcmp(json_string_value(cj), col)
			: !json_is_null(cj))
			continue;
		n++;
	}
	json_decref(a);
	return n;
}

static int total_conflicts(tu_site *s)
{
	json_t *a = tu_site_conflicts(s, 1);
	int n = (int)json_array_size(a);
	json_decref(a);
	return n;
}

/* The result document of a sync that must succeed, parsed. */
static json_t *sync_json(tu_site *s)
{
	return tu_json_take(tu_site_sync(s, 1));
}

/* ---- DESIGN 1.1: pull must not mark rows synced -------------------- */

static void pull_then_edit_is_pushed(void)
{
	net N;
	net_open(&N, 2, ITEMS, NULL);
	net_init(&N);
	tu_exec(N.s[0].app, "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'bolt', 1.5, 10,"
			    " NULL), ('b', 'nut', 0.25, 100, NULL)");
	net_sync_all(&N, 1); /* bob pulls a and b */
	CHECK_CELL(N.s[1].app, "items", "name", "id='a'", "'bolt'");

	/* Bob edits what he pulled, and adds a row. */
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "UPDATE items SET name = 'hex bolt' WHERE id = 'a';"
			    "INSERT INTO items (id, name, price, qty, v) VALUES ('c', 'washer', 0.1, 5,"
			    " NULL)");
	json_t *res = sync_json(&N.s[1]);
	TU_CHECK(tu_stat_count(res, "pushed", "items") == 2,
		 "bob's sync pushed %lld items rows, want 2: %s",
		 (long long)tu_stat_count(res, "pushed", "items"),
		 json_dumps(res, JSON_COMPACT));
	json_decref(res);
	TU_CHECK(tu_int(N.s[1].app, -1, "SELECT records_pushed FROM sync_log"
				       " ORDER BY id DESC LIMIT 1") == 2,
		 "sync_log.records_pushed of bob's sync is not 2");

	/* Pull and edit in one sync: bob edits again, alice edits b. */
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE items SET qty = 99 WHERE id = 'b'");
	tu_exec(N.s[1].app, "UPDATE items SET price = 2.0 WHERE id = 'a'");
	net_sync_all(&N, 2);
	CHECK_CELL(N.s[0].app, "items", "name", "id='a'", "'hex bolt'");
	CHECK_CELL(N.s[0].app, "items", "price", "id='a'", "2.0");
	CHECK_CELL(N.s[0].app, "items", "name", "id='c'", "'washer'");
	CHECK_CELL(N.s[1].app, "items", "qty", "id='b'", "99");
	net_check_converged(&N);
	TU_CHECK(total_conflicts(&N.s[0]) == 0, "no edit was concurrent, yet "
		 "alice lists %d conflicts", total_conflicts(&N.s[0]));
	net_close(&N);
}

/* ---- DESIGN 1.2: offline / clock-behind edits reach everyone -------- */

static void offline_clock_behind_edits_reach_everyone(void)
{
	net N;
	net_open(&N, 3, ITEMS,
		 "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'a0', 1.0, 1, NULL),"
		 " ('b', 'b0', 2.0, 2, NULL), ('c', 'c0', 3.0, 3, NULL)");
	N.s[2].offset_ms = -3600 * 1000; /* carol's PC is an hour behind */
	N.s[1].offset_ms = 1800 * 1000;  /* bob's half an hour ahead */
	for (int i = 0; i < 3; i++) /* the app's SQL sees the skewed clock */
		TU_CHECK(llabs(tu_int(N.s[i].app, 0, "SELECT CAST((julianday("
				      "'now') - 2440587.5) * 86400000 AS INTEGER)") -
			       (tu_now_ms + N.s[i].offset_ms)) <= 1,
			 "the skewed VFS clock of %s is not in effect",
			 N.s[i].name);
	net_init(&N);
	net_sync_all(&N, 1);

	/* Carol goes offline; the others keep editing and syncing. */
	tu_now_ms += 5 * 60000;
	tu_exec(N.s[2].app, "UPDATE items SET name = 'carol offline'"
			    " WHERE id = 'b'");
	for (int k = 0; k < 3; k++) {
		tu_now_ms += 10 * 60000;
		tu_exec(N.s[0].app, "UPDATE items SET qty = qty + 1 WHERE id = 'a'");
		tu_exec(N.s[1].app, "UPDATE items SET price = price + 1"
				    " WHERE id = 'c'");
		tu_site_sync(&N.s[0], 0);
		tu_site_sync(&N.s[1], 0);
	}
	/* Much later by everyone's watch, carol edits once more, then syncs:
	 * her edits are older than every sync the others made (by wall time),
	 * and still must reach them. */
	tu_now_ms += 60 * 60000;
	tu_exec(N.s[2].app, "INSERT INTO items (id, name, price, qty, v) VALUES ('d', 'carol new', 4.0,"
			    " 4, NULL)");
	tu_site_sync(&N.s[2], 0);
	net_sync_all(&N, 1);
	for (int i = 0; i < 3; i++) {
		CHECK_CELL(N.s[i].app, "items", "name", "id='b'",
			   "'carol offline'");
		CHECK_CELL(N.s[i].app, "items", "name", "id='d'", "'carol new'");
		CHECK_CELL(N.s[i].app, "items", "qty", "id='a'", "4");
		CHECK_CELL(N.s[i].app, "items", "price", "id='c'", "6.0");
	}

	/* Causality beats clocks: bob (ahead) edits a, carol (behind) pulls
	 * that and then edits a: her edit is later, whatever the clocks say. */
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "UPDATE items SET name = 'bob first' WHERE id = 'a'");
	tu_site_sync(&N.s[1], 0);
	tu_site_sync(&N.s[2], 0);
	CHECK_CELL(N.s[2].app, "items", "name", "id='a'", "'bob first'");
	tu_now_ms += 1000;
	tu_exec(N.s[2].app, "UPDATE items SET name = 'carol after' WHERE id = 'a'");
	tu_site_sync(&N.s[2], 0);
	net_sync_all(&N, 2);
	for (int i = 0; i < 3; i++)
		CHECK_CELL(N.s[i].app, "items", "name", "id='a'",
			   "'carol after'");
	net_check_converged(&N);
	TU_CHECK(total_conflicts(&N.s[0]) == 0,
		 "edits made after seeing the previous value are not "
		 "conflicts, yet %d are listed", total_conflicts(&N.s[0]));
	net_close(&N);
}

/* ---- DESIGN 1.3: timestamp formats; equal timestamps ---------------- */

/*
 * The app writes updated_at itself, in either text format. The earlier edit
 * (bob) carries an ISO 'T' timestamp, the later (alice) a space-separated
 * one, which compares smaller as a string. The later edit must win,
 * whichever order the two sync in.
 */
static void timestamp_formats_later_edit_wins_one(int alice_first)
{
	net N;
	net_open(&N, 2,
		 "CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, status TEXT,"
		 " updated_at DATETIME DEFAULT CURRENT_TIMESTAMP)",
		 "INSERT INTO quotes (quoteId, status, updated_at) VALUES ('CA250115001', 'draft',"
		 " '2025-01-15 09:00:00')");
	net_init(&N);
	net_sync_all(&N, 1);
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "UPDATE quotes SET status = 'sent', updated_at ="
			    " strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now')");
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE quotes SET status = 'won', updated_at ="
			    " datetime('now')");
	tu_site_sync(&N.s[alice_first ? 0 : 1], 0);
	tu_site_sync(&N.s[alice_first ? 1 : 0], 0);
	net_sync_all(&N, 1);
	for (int i = 0; i < 2; i++) {
		CHECK_CELL(N.s[i].app, "quotes", "status", "1", "'won'");
		char *at = cell(N.s[i].app, "quotes", "updated_at", "1");
		TU_CHECK(strchr(at, ' ') != NULL, "updated_at of the winning "
			 "edit should be alice's own text, got %s", at);
		free(at);
	}
	TU_CHECK(count_conflicts(&N.s[0], "quotes", "status") == 1,
		 "the lost status edit is not listed as a conflict");
	net_check_converged(&N);
	net_close(&N);
}

static void timestamp_formats_later_edit_wins(void)
{
	timestamp_formats_later_edit_wins_one(1);
	timestamp_formats_later_edit_wins_one(0);
}

/* Three users, same clock, same instant, same cell: everyone ends with the
 * same value, and the other two values are listed as losers. */
static void equal_timestamps_converge(void)
{
	net N;
	net_open(&N, 3, ITEMS,
		 "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'start', 1.0, 1, NULL)");
	net_init(&N);
	net_sync_all(&N, 1);
	tu_now_ms += 60000; /* frozen: all three write at this instant */
	tu_exec(N.s[0].app, "UPDATE items SET name = 'from alice'");
	tu_exec(N.s[1].app, "UPDATE items SET name = 'from bob'");
	tu_exec(N.s[2].app, "UPDATE items SET name = 'from carol'");
	for (int i = 2; i >= 0; i--)
		tu_site_sync(&N.s[i], 0); /* no clock moves between syncs */
	net_sync_all(&N, 2);
	net_check_converged(&N);
	char *win = cell(N.s[0].app, "items", "name", "id='a'");
	TU_CHECK(strcmp(win, "'start'") != 0, "every edit was lost");
	free(win);
	for (int i = 0; i < 3; i++)
		TU_CHECK(count_conflicts(&N.s[i], "items", "name") == 2,
			 "%s lists %d name conflicts, want 2 (three concurrent"
			 " edits, one winner)", N.s[i].name,
			 count_conflicts(&N.s[i], "items", "name"));
	net_close(&N);
}

/* ---- DESIGN 1.5: deletes sync and do not come back ------------------ */

static void deletes_stay_deleted(void)
{
	net N;
	net_open(&N, 3, ITEMS,
		 "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'a', 1.0, 1, NULL),"
		 " ('b', 'b', 2.0, 2, NULL), ('c', 'c', 3.0, 3, NULL)");
	net_init(&N);
	net_sync_all(&N, 1);
	/* Carol stays offline with the rows. Alice deletes a and c. */
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "DELETE FROM items WHERE id IN ('a', 'c')");
	tu_site_sync(&N.s[0], 0);
	tu_site_sync(&N.s[1], 0);
	TU_CHECK(count_rows(N.s[1].app, "items") == 1,
		 "bob still has %lld rows after pulling the deletes",
		 (long long)count_rows(N.s[1].app, "items"));
	/* Carol edits b (not deleted) offline, then syncs: a and c must not
	 * come back from her copy. */
	tu_now_ms += 60000;
	tu_exec(N.s[2].app, "UPDATE items SET qty = 20 WHERE id = 'b'");
	tu_site_sync(&N.s[2], 0);
	net_sync_all(&N, 2);
	for (int i = 0; i < 3; i++) {
		TU_CHECK(count_rows(N.s[i].app, "items") == 1,
			 "%s has %lld rows, want only b", N.s[i].name,
			 (long long)count_rows(N.s[i].app, "items"));
		CHECK_CELL(N.s[i].app, "items", "qty", "id='b'", "20");
	}
	/* A delete made before init is not a thing; a re-insert after seeing
	 * the delete brings the row back, for everyone. */
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'again', 9.0, 9,"
			    " NULL)");
	net_sync_all(&N, 2);
	for (int i = 0; i < 3; i++)
		CHECK_CELL(N.s[i].app, "items", "name", "id='a'", "'again'");
	net_check_converged(&N);
	TU_CHECK(total_conflicts(&N.s[0]) == 0, "%d conflicts listed, want 0",
		 total_conflicts(&N.s[0]));
	net_close(&N);
}

/* ---- DESIGN 1.7: a per-table error is not logged as success --------- */

static void check_failed_sync_logged(tu_site *s, int rc, char *json,
				     const char *table)
{
	json_t *res = tu_json_take(json);
	char *log = tu_last_sync_log(s->app);
	const char *msg = json_string_value(json_object_get(res, "message"));
	TU_CHECK(rc != 0, "sync returned success although table %s failed;"
		 " sync_log: %s", table, log);
	TU_CHECK(json_is_false(json_object_get(res, "success")),
		 "result says success although table %s failed", table);
	TU_CHECK(msg && strstr(msg, table), "result message does not name"
		 " table %s: %s", table, msg ? msg : "(none)");
	TU_CHECK(strncmp(log, "success|", 8) != 0 && strstr(log, table),
		 "sync_log row should be error/partial naming %s, is: %s",
		 table, log);
	TU_CHECK(!strchr(hs_replica_errmsg(s->hs), '\n'),
		 "error message is not one line: %s", hs_replica_errmsg(s->hs));
	free(log);
	json_decref(res);
}

static void per_table_error_not_success(void)
{
	net N;
	net_open(&N, 2,
		 "CREATE TABLE customers (code TEXT PRIMARY KEY, name TEXT);"
		 "CREATE TABLE quotes (id TEXT PRIMARY KEY, customer TEXT)",
		 NULL);
	tu_master_require_file(N.master);
	net_init(&N);
	net_sync_all(&N, 1);
	/* The master refuses rows of one table (as a broken constraint or a
	 * damaged table would). */
	sqlite3 *m = tu_db_open(N.master, 0);
	tu_exec(m, "CREATE TRIGGER boom BEFORE INSERT ON quotes BEGIN"
		   " SELECT RAISE(ABORT, 'quotes refuses rows'); END");
	sqlite3_close(m);
	tu_exec(N.s[0].app, "INSERT INTO customers (code, name) VALUES ('001', 'Acme');"
			    "INSERT INTO quotes (id, customer) VALUES ('q1', '001')");
	char *json = NULL;
	int rc = tu_site_sync_rc(&N.s[0], &json);
	check_failed_sync_logged(&N.s[0], rc, json, "quotes");
	/* Nothing of the failed push reached the master. */
	m = tu_db_open(N.master, 1);
	TU_CHECK(count_rows(m, "customers") == 0,
		 "a failed push left %lld customers rows on the master",
		 (long long)count_rows(m, "customers"));
	sqlite3_close(m);

	/* Repaired: the next sync pushes everything, once. */
	m = tu_db_open(N.master, 0);
	tu_exec(m, "DROP TRIGGER boom");
	sqlite3_close(m);
	net_sync_all(&N, 2);
	for (int i = 0; i < 2; i++) {
		TU_CHECK(count_rows(N.s[i].app, "customers") == 1 &&
				 count_rows(N.s[i].app, "quotes") == 1,
			 "%s lacks the rows after the repaired sync",
			 N.s[i].name);
	}
	char *log = tu_last_sync_log(N.s[0].app);
	TU_CHECK(!strncmp(log, "success|", 8), "repaired sync logged %s", log);
	free(log);
	net_check_converged(&N);
	net_close(&N);
}

/*
 * Two users insert different rows that collide on a UNIQUE column. Either
 * hubsync resolves this as a conflict (both rows accounted for: on the
 * master or listed) or the sync fails and says so, naming the table; it
 * must not log success and drop a row.
 */
static void unique_collision_not_silent(void)
{
	net N;
	net_open(&N, 2,
		 "CREATE TABLE manual_quotes (id TEXT PRIMARY KEY,"
		 " quoteNumber TEXT NOT NULL UNIQUE, data TEXT)",
		 NULL);
	net_init(&N);
	tu_exec(N.s[0].app, "INSERT INTO manual_quotes (id, quoteNumber, data) VALUES ('m1',"
			    " 'CA250115001-00', 'alice')");
	tu_exec(N.s[1].app, "INSERT INTO manual_quotes (id, quoteNumber, data) VALUES ('m2',"
			    " 'CA250115001-00', 'bob')");
	tu_site_sync(&N.s[0], 0);
	char *json = NULL;
	int rc = tu_site_sync_rc(&N.s[1], &json);
	if (rc != 0) {
		check_failed_sync_logged(&N.s[1], rc, json, "manual_quotes");
	} else {
		hs_free(json);
		net_sync_all(&N, 2);
		sqlite3 *m = tu_master_view(N.master, &N.s[0]);
		int64_t rows = count_rows(m, "manual_quotes");
		tu_master_view_done(N.master, m);
		int listed = count_conflicts(&N.s[0], "manual_quotes", NULL) +
			     count_conflicts(&N.s[0], "manual_quotes",
					     "quoteNumber");
		TU_CHECK(rows == 2 || listed > 0,
			 "sync succeeded, the master has %lld of the 2 rows and"
			 " no conflict lists the other", (long long)rows);
		net_check_converged(&N);
	}
	net_close(&N);
}

/* ---- types ---------------------------------------------------------- */

static void types_preserved_exactly(void)
{
	net N;
	net_open(&N, 2,
		 "CREATE TABLE vals (id INTEGER PRIMARY KEY, v, i INTEGER,"
		 " r REAL, t TEXT, b BLOB)",
		 NULL);
	net_init(&N);
	tu_exec(N.s[0].app,
		"INSERT INTO vals (id, v) VALUES (1, 1), (2, 1.0), (3, '1'),"
		" (4, X'31'), (5, NULL), (6, 9223372036854775807),"
		" (7, -9223372036854775808), (8, 1e308), (9, 0.1),"
		" (10, 5e-324), (11, -0.0), (12, ''), (13, X''),"
		" (14, 'naïve ☃ 日本語 😀'), (15, '1.0'), (16, 2.5e-10),"
		" (17, randomblob(100000)), (18, 'it''s \"quoted\"'),"
		" (19, 'line1\nline2'), (20, 123456789012345678);"
		"INSERT INTO vals (id, i, r, t, b) VALUES"
		" (21, 1.5, 1, 2, 3), (22, 'abc', 'xyz', X'00ff', 'text'),"
		" (23, '42', '42', 42, 42.0), (24, NULL, NULL, NULL, NULL)");
	net_sync_all(&N, 2);
	net_check_converged(&N);
	char *why = NULL;
	TU_CHECK(!tu_table_diff(N.s[0].app, N.s[1].app, "vals", "synced_at",
				&why), "bob's copy differs: %s", why);
	CHECK_EXPR(N.s[1].app, "vals", "typeof(v)", "id=1", "integer");
	CHECK_EXPR(N.s[1].app, "vals", "typeof(v)", "id=2", "real");
	CHECK_EXPR(N.s[1].app, "vals", "typeof(v)", "id=3", "text");
	CHECK_EXPR(N.s[1].app, "vals", "typeof(v)", "id=4", "blob");
	CHECK_EXPR(N.s[1].app, "vals", "length(v)", "id=17", "100000");

	/* Type-only changes are changes: 1 -> 1.0, '1' -> 1, 1.0 -> '1.0'. */
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "UPDATE vals SET v = 1.0 WHERE id = 1;"
			    "UPDATE vals SET v = 1 WHERE id = 3;"
			    "UPDATE vals SET v = '1.0' WHERE id = 2;"
			    "UPDATE vals SET v = CAST(v AS TEXT) WHERE id = 4");
	net_sync_all(&N, 2);
	net_check_converged(&N);
	CHECK_EXPR(N.s[0].app, "vals", "quote(v)", "id=1", "1.0");
	CHECK_EXPR(N.s[0].app, "vals", "typeof(v)", "id=1", "real");
	CHECK_EXPR(N.s[0].app, "vals", "typeof(v)", "id=3", "integer");
	CHECK_EXPR(N.s[0].app, "vals", "typeof(v)", "id=2", "text");
	CHECK_EXPR(N.s[0].app, "vals", "typeof(v)", "id=4", "text");
	net_close(&N);
}

/* ---- delete vs concurrent update ------------------------------------ */

/* Returns whether the row survived; checks everyone agrees and that the
 * losing side is listed. */
static int delete_vs_update_once(int deleter_first)
{
	net N;
	net_open(&N, 3, ITEMS,
		 "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'orig', 1.0, 1, NULL),"
		 " ('b', 'keep', 2.0, 2, NULL)");
	net_init(&N);
	net_sync_all(&N, 1);
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "DELETE FROM items WHERE id = 'a'");
	tu_now_ms += 60000; /* the update is the later edit */
	tu_exec(N.s[1].app, "UPDATE items SET name = 'edited' WHERE id = 'a'");
	tu_site_sync(&N.s[deleter_first ? 0 : 1], 0);
	tu_site_sync(&N.s[deleter_first ? 1 : 0], 0);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	int alive = (int)count_rows(N.s[2].app, "items") == 2;
	for (int i = 0; i < 3; i++) {
		int n = count_conflicts(&N.s[i], "items", NULL) +
			count_conflicts(&N.s[i], "items", "name");
		TU_CHECK(n >= 1, "%s lists no conflict for delete vs update of"
			 " row a", N.s[i].name);
	}
	if (alive)
		CHECK_CELL(N.s[2].app, "items", "name", "id='a'", "'edited'");
	net_close(&N);
	return alive;
}

static void delete_vs_update_deterministic(void)
{
	int a = delete_vs_update_once(1);
	int b = delete_vs_update_once(0);
	TU_CHECK(a == b, "the outcome depends on sync order: row %s when the"
		 " deleter syncs first, %s when the updater does",
		 a ? "kept" : "deleted", b ? "kept" : "deleted");
}

/* ---- column-level merge --------------------------------------------- */

static void different_columns_both_kept(void)
{
	net N;
	net_open(&N, 2, ITEMS,
		 "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'orig', 1.0, 1, NULL)");
	net_init(&N);
	net_sync_all(&N, 1);
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE items SET name = 'alice name'");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE items SET price = 9.5, v = X'beef'");
	net_sync_all(&N, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_CELL(N.s[i].app, "items", "name", "id='a'", "'alice name'");
		CHECK_CELL(N.s[i].app, "items", "price", "id='a'", "9.5");
		CHECK_CELL(N.s[i].app, "items", "v", "id='a'", "X'BEEF'");
		TU_CHECK(total_conflicts(&N.s[i]) == 0,
			 "%s lists %d conflicts for edits of different columns",
			 N.s[i].name, total_conflicts(&N.s[i]));
	}
	net_check_converged(&N);
	net_close(&N);
}

/* ---- identical seed rows -------------------------------------------- */

static const char *SEED_SQL =
	"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n"
	" WHERE x < 20) INSERT INTO items (id, name, price, qty, v) SELECT printf('s%02d', x),"
	" 'seed ' || x, x * 1.5, x, CASE WHEN x % 2 THEN X'00' ELSE NULL END"
	" FROM n";

static void identical_seed_rows_not_conflicts(void)
{
	net N;
	net_open(&N, 3, ITEMS, SEED_SQL);
	/* Carol's copy differs in one cell: that one is a real conflict. */
	tu_exec(N.s[2].app, "UPDATE items SET name = 'carol''s' WHERE id = 's07'");
	net_init(&N);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	sqlite3 *m = tu_master_view(N.master, &N.s[0]);
	TU_CHECK(count_rows(m, "items") == 20, "master has %lld rows, want 20",
		 (long long)count_rows(m, "items"));
	tu_master_view_done(N.master, m);
	for (int i = 0; i < 3; i++) {
		int n = total_conflicts(&N.s[i]);
		TU_CHECK(n == 1 && count_conflicts(&N.s[i], "items", "name") == 1,
			 "%s lists %d conflicts, want exactly 1 (name of s07);"
			 " identical seed rows are not conflicts", N.s[i].name, n);
	}
	net_close(&N);
}

/* ---- killed / failed sync ------------------------------------------- */

typedef struct killer {
	const char *phase;
	int at; /* die on the at-th report of that phase */
	int seen;
} killer;

static void die_at(void *ctx, const char *phase, const char *table,
		   int64_t rows)
{
	killer *k = ctx;
	(void)table;
	(void)rows;
	if (!strcmp(phase, k->phase) && ++k->seen >= k->at)
		_exit(42);
}

/* Run one sync of site s in a child that dies at the given phase. The
 * parent's own connections of s are closed around it. */
static void sync_killed(tu_site *s, const char *phase, int at)
{
	tu_site_close(s);
	fflush(stdout);
	pid_t pid = fork();
	TU_CHECK(pid >= 0, "fork failed");
	if (pid == 0) {
		killer k = {phase, at, 0};
		hs_sync_options o = HS_SYNC_OPTIONS_INIT;
		o.progress = die_at;
		o.progress_ctx = &k;
		tu_site_reopen(s);
		tu_site_hs_open(s);
		hs_replica_sync(s->hs, &o, NULL);
		_exit(0); /* the phase never came */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	tu_site_reopen(s);
	tu_site_hs_open(s);
	TU_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		 "the sync was not killed at '%s' #%d as planned (child status"
		 " %d: 0 = the phase never came, else a crash)", phase, at,
		 status);
}

static void killed_sync_rerunnable_at(const char *phase, int at)
{
	net N;
	tu_set_context("scenario killed_sync_rerunnable, killed at '%s' #%d",
		       phase, at);
	net_open(&N, 2,
		 "CREATE TABLE orders (id INTEGER PRIMARY KEY, label TEXT,"
		 " total REAL)",
		 NULL);
	net_init(&N);
	tu_exec(N.s[0].app, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT"
			    " x + 1 FROM n WHERE x < 50) INSERT INTO orders"
			    " (id, label, total) SELECT x, 'alice ' || x, x * 1.25 FROM n");
	tu_exec(N.s[1].app, "WITH RECURSIVE n(x) AS (SELECT 1001 UNION ALL"
			    " SELECT x + 1 FROM n WHERE x < 1050) INSERT INTO"
			    " orders (id, label, total) SELECT x, 'bob ' || x, x * 0.5 FROM n");
	tu_site_sync(&N.s[1], 0);
	tu_now_ms += 1000;
	sync_killed(&N.s[0], phase, at);
	tu_check_integrity(N.s[0].path);
	if (tu_file_exists(N.master))
		tu_check_integrity(N.master);
	/* Kill again in the re-run, then let it finish. */
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "UPDATE orders SET label = 'changed' WHERE id = 7");
	sync_killed(&N.s[0], phase, at);
	tu_now_ms += 1000;
	json_t *res = sync_json(&N.s[0]);
	json_decref(res);
	net_sync_all(&N, 2);
	net_check_converged(&N);
	for (int i = 0; i < 2; i++) {
		TU_CHECK(count_rows(N.s[i].app, "orders") == 100,
			 "%s has %lld orders after a sync killed at '%s' #%d,"
			 " want 100", N.s[i].name,
			 (long long)count_rows(N.s[i].app, "orders"), phase, at);
		CHECK_CELL(N.s[i].app, "orders", "label", "id=7", "'changed'");
		TU_CHECK(total_conflicts(&N.s[i]) == 0,
			 "a re-run after a kill at '%s' #%d made %d conflicts",
			 phase, at, total_conflicts(&N.s[i]));
	}
	net_close(&N);
	tu_cleanup();
}

/* Kill points: before the master is opened, before the merge, before the
 * master commits (first "pull" report), after the master committed while
 * the pull is being applied locally (second "pull" report: a table done),
 * and after everything. */
static void killed_sync_rerunnable(void)
{
	static const struct {
		const char *phase;
		int at;
	} kills[] = {{"lock", 1}, {"push", 1}, {"pull", 1}, {"pull", 2},
		     {"done", 1}};
	for (size_t i = 0; i < sizeof(kills) / sizeof(*kills); i++)
		killed_sync_rerunnable_at(kills[i].phase, kills[i].at);
}

static void failed_sync_rerunnable(void)
{
	net N;
	char away[700];
	net_open(&N, 2, ITEMS, NULL);
	tu_master_require_file(N.master);
	net_init(&N);
	tu_exec(N.s[0].app, "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'x', 1.0, 1, NULL),"
			    " ('b', 'y', 2.0, 2, NULL)");
	tu_site_sync(&N.s[0], 0);
	/* The share drops out: the sync fails and creates nothing. */
	snprintf(away, sizeof(away), "%s.away", N.master);
	TU_CHECK(rename(N.master, away) == 0, "rename master");
	tu_exec(N.s[0].app, "INSERT INTO items (id, name, price, qty, v) VALUES ('c', 'z', 3.0, 3, NULL)");
	char *json = NULL;
	int rc = tu_site_sync_rc(&N.s[0], &json);
	hs_free(json);
	TU_CHECK(rc != 0, "sync succeeded without its master");
	TU_CHECK(!tu_file_exists(N.master), "sync created a new master");
	TU_CHECK(rename(away, N.master) == 0, "rename master back");
	net_sync_all(&N, 2);
	net_check_converged(&N);
	for (int i = 0; i < 2; i++)
		TU_CHECK(count_rows(N.s[i].app, "items") == 3,
			 "%s has %lld rows, want 3", N.s[i].name,
			 (long long)count_rows(N.s[i].app, "items"));
	net_close(&N);
}

/* ---- sync never creates a master ------------------------------------ */

static void sync_never_creates_master(void)
{
	net N;
	char share[600], master[700];
	net_open(&N, 1, ITEMS, "INSERT INTO items (id, name, price, qty, v) VALUES ('a', 'x', 1, 1, 1)");
	tu_master_require_file(N.master);
	snprintf(share, sizeof(share), "%s/share", N.dir);
	snprintf(master, sizeof(master), "%s/server.db", share);
	TU_CHECK(mkdir(share, 0700) == 0, "mkdir share");
	tu_site_init(&N.s[0], master, NULL);
	tu_site_sync(&N.s[0], 0);

	/* The file vanished (share emptied): error, no new file. */
	tu_rmtree(master);
	char *json = NULL;
	int rc = tu_site_sync_rc(&N.s[0], &json);
	json_t *res = tu_json_take(json);
	TU_CHECK(rc != 0, "sync of a vanished master succeeded");
	TU_CHECK(!tu_file_exists(master), "sync re-created the master");
	TU_CHECK(json_is_false(json_object_get(res, "success")),
		 "result says success");
	char *log = tu_last_sync_log(N.s[0].app);
	TU_CHECK(!strncmp(log, "error|", 6), "sync_log row is %s, want error",
		 log);
	TU_CHECK(!strchr(hs_replica_errmsg(N.s[0].hs), '\n'),
		 "error message is not one line: %s",
		 hs_replica_errmsg(N.s[0].hs));
	free(log);
	json_decref(res);

	/* The share itself is not mounted: no folder is created either. */
	tu_rmtree(share);
	rc = tu_site_sync_rc(&N.s[0], NULL);
	TU_CHECK(rc != 0, "sync without the share succeeded");
	TU_CHECK(!tu_file_exists(share), "sync created the share folder");
	TU_CHECK(count_rows(N.s[0].app, "items") == 1, "local data changed");
	net_close(&N);
}

/* ---- init refuses a table without a primary key --------------------- */

static void assert_untouched(tu_site *s, const char *master)
{
	TU_CHECK(tu_int(s->app, -1, "SELECT count(*) FROM sqlite_master WHERE"
			 " name LIKE 'hubsync%%' OR name = 'sync_log'") == 0,
		 "a refused init left hubsync tables or triggers behind");
	TU_CHECK(tu_int(s->app, -1, "SELECT count(*) FROM pragma_table_info("
			 "'good') WHERE name = 'updated_at'") == 0,
		 "a refused init altered table good");
	if (tu_server_url(master) && tu_master_is_file(master)) {
		/* the server made its master */
		sqlite3 *m = tu_db_open(master, 1);
		TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM sqlite_master WHERE"
				" name = 'good'") == 0,
			 "a refused init made table good on the master");
		sqlite3_close(m);
		return;
	}
	TU_CHECK(!tu_file_exists(master), "a refused init created the master"
		 " file %s", master);
}

static void table_without_pk_refused(void)
{
	net N;
	net_open(&N, 1,
		 "CREATE TABLE good (id TEXT PRIMARY KEY, x);"
		 "CREATE TABLE log_lines (at TEXT, line TEXT)",
		 "INSERT INTO good (id, x) VALUES ('a', 1); INSERT INTO log_lines"
		 " VALUES ('now', 'hello')");
	tu_master_require_file(N.master);
	tu_site_hs_open(&N.s[0]);
	static const char *lists[] = {NULL, "good,log_lines"};
	for (int i = 0; i < 2; i++) {
		hs_init_options o = HS_INIT_OPTIONS_INIT;
		o.master_path = tu_site_master(N.master, "alice", &o.token);
		o.user = "alice";
		o.tables = lists[i];
		int rc = hs_replica_init(N.s[0].hs, &o);
		const char *msg = hs_replica_errmsg(N.s[0].hs);
		TU_CHECK(rc != 0, "init accepted table log_lines (no primary"
			 " key) with tables=%s", lists[i] ? lists[i] : "(all)");
		TU_CHECK(strstr(msg, "log_lines") && !strchr(msg, '\n'),
			 "init error should name log_lines in one line: %s", msg);
		assert_untouched(&N.s[0], N.master);
	}
	/* Listing only tables with a key works. */
	tu_site_init(&N.s[0], N.master, "good");
	tu_site_sync(&N.s[0], 0);
	sqlite3 *m = tu_db_open(N.master, 1);
	TU_CHECK(count_rows(m, "good") == 1, "master lacks the row of good");
	sqlite3_close(m);
	net_close(&N);
}

/* ---- the push's read of the log ------------------------------------- */

/* Entries of table tbl in alice's copy of the audit trail, and how many
 * of them are not inserts. */
static void trail_of(net *N, const char *tbl, int *all, int *not_inserts)
{
#define TRAIL_OF " FROM hubsync_history h JOIN hubsync_names n ON n.id =" \
		 " h.tbl AND n.kind = 0 WHERE n.name = '%q'"
	sqlite3 *a = N->s[0].app;
	*all = (int)tu_int(a, -1, "SELECT count(*)" TRAIL_OF, tbl);
	*not_inserts = (int)tu_int(a, -1, "SELECT count(*)" TRAIL_OF
					  " AND h.op != 0", tbl);
#undef TRAIL_OF
}

/* The push's progress: the row changes handed to the master so far. */
static void count_pushed(void *ctx, const char *phase, const char *table,
			 int64_t rows)
{
	(void)table;
	if (strcmp(phase, "push") == 0)
		*(int64_t *)ctx = rows;
}

/*
 * A push folds each row's entries into one change, whether the log is
 * read as written (in runs already in key order: sync.c, log_runs) or sorted:
 * a new row and its later updates are one change pushed and one insert
 * on the master. Round 1 writes every table's keys in order (a key's
 * update right after it); each later round breaks the order one way only:
 * a text key descending, a composite key's second column, keys of three
 * types in one column, the tables in turn.
 */
static void push_folds_rows_in_any_log_order(void)
{
	static const char *const TABLES[] = {"ka", "kb", "kc"};
	static const struct {
		const char *sql;
		int pushed, rows[3]; /* rows: each table's trail after it */
	} ROUNDS[] = {
		{"INSERT INTO ka VALUES ('a1', 1), ('a2', 2), ('a3', 3);"
		 "UPDATE ka SET v = 33 WHERE id = 'a3';"
		 "INSERT INTO kb VALUES ('x', 1, 1), ('x', 2, 2), ('y', 1, 3);"
		 "UPDATE kb SET v = 31 WHERE a = 'y';"
		 "INSERT INTO kc VALUES (1, 1), (2, 2), (3, 3);"
		 "UPDATE kc SET v = 32 WHERE id = 3", 9, {3, 3, 3}},
		{"INSERT INTO ka VALUES ('a9', 9), ('a5', 5);"
		 "UPDATE ka SET v = 99 WHERE id = 'a9'", 2, {5, 3, 3}},
		{"INSERT INTO kb VALUES ('z', 2, 2), ('z', 1, 1);"
		 "UPDATE kb SET v = 22 WHERE a = 'z' AND b = 2", 2, {5, 5, 3}},
		{"INSERT INTO kc VALUES (10, 10), ('10', 11), (2.5, 12);"
		 "UPDATE kc SET v = 100 WHERE id = 10", 3, {5, 5, 6}},
		{"INSERT INTO kc VALUES (20, 20);"
		 "INSERT INTO ka VALUES ('b1', 1);"
		 "UPDATE kc SET v = 200 WHERE id = 20", 2, {6, 5, 7}},
	};
	net N;
	net_open(&N, 2, "CREATE TABLE ka (id TEXT PRIMARY KEY, v INTEGER);"
			"CREATE TABLE kb (a TEXT, b INTEGER, v INTEGER,"
			" PRIMARY KEY(a, b));"
			"CREATE TABLE kc (id PRIMARY KEY, v INTEGER)", NULL);
	net_init(&N);
	net_sync_all(&N, 1);
	for (size_t r = 0; r < sizeof ROUNDS / sizeof ROUNDS[0]; r++) {
		hs_sync_options o = HS_SYNC_OPTIONS_INIT;
		int64_t pushed = 0;
		tu_exec(N.s[0].app, "%s", ROUNDS[r].sql);
		tu_now_ms += 1000;
		o.progress = count_pushed;
		o.progress_ctx = &pushed;
		TU_CHECK(hs_replica_sync(N.s[0].hs, &o, NULL) == 0,
			 "round %zu: %s", r + 1, hs_replica_errmsg(N.s[0].hs));
		TU_CHECK(pushed == ROUNDS[r].pushed, "round %zu pushed %lld row"
			 " changes, want %d (one a row)", r + 1,
			 (long long)pushed, ROUNDS[r].pushed);
		for (int t = 0; t < 3; t++) {
			int all, not_inserts;
			trail_of(&N, TABLES[t], &all, &not_inserts);
			TU_CHECK(all == ROUNDS[r].rows[t] && not_inserts == 0,
				 "round %zu, table %s: %d trail entries, %d not"
				 " inserts; want %d inserts (one a row)", r + 1,
				 TABLES[t], all, not_inserts, ROUNDS[r].rows[t]);
		}
	}
	net_sync_all(&N, 1);
	CHECK_CELL(N.s[1].app, "ka", "v", "id = 'a9'", "99");
	CHECK_CELL(N.s[1].app, "kb", "v", "a = 'z' AND b = 2", "22");
	CHECK_CELL(N.s[1].app, "kc", "v", "id = 10", "100");
	CHECK_CELL(N.s[1].app, "kc", "v", "id = '10'", "11");
	CHECK_CELL(N.s[1].app, "kc", "v", "id = 20", "200");
	net_check_converged(&N);
	net_close(&N);
}

/*
 * A row's entries in two runs of the log (a change of it after a change
 * of a row after it: sync.c, log_runs) fold in the order they were
 * written, so its last write carries the last time. Bob writes the same
 * column between alice's two writes and syncs first: alice's second
 * wins, as it would if her log were sorted.
 */
static void push_folds_runs_in_write_order(void)
{
	net N;
	net_open(&N, 2, "CREATE TABLE kd (id INTEGER PRIMARY KEY, v TEXT)",
		 NULL);
	net_init(&N);
	tu_exec(N.s[0].app, "INSERT INTO kd VALUES (1, 'a0'), (2, 'b0')");
	net_sync_all(&N, 1);
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE kd SET v = 'alice-1' WHERE id = 1");
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE kd SET v = 'b-alice' WHERE id = 2");
	tu_now_ms += 60000;
	tu_exec(N.s[1].app, "UPDATE kd SET v = 'bob' WHERE id = 1");
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE kd SET v = 'alice-2' WHERE id = 1");
	tu_now_ms += 1000;
	tu_site_sync(&N.s[1], 0);
	tu_now_ms += 1000;
	tu_site_sync(&N.s[0], 0);
	net_sync_all(&N, 1);
	for (int i = 0; i < 2; i++) {
		CHECK_CELL(N.s[i].app, "kd", "v", "id = 1", "'alice-2'");
		CHECK_CELL(N.s[i].app, "kd", "v", "id = 2", "'b-alice'");
	}
	net_check_converged(&N);
	net_close(&N);
}

/*
 * A push of many rows empties the log at once (sync.c, log_drop_pushed):
 * only its newest entry stays, as it was (the floor of the next ids), the
 * next change gets a larger id and is the only one pushed next time.
 */
static void big_push_keeps_log_floor(void)
{
	net N;
	net_open(&N, 2, ITEMS, NULL);
	net_init(&N);
	net_sync_all(&N, 1);
	sqlite3 *a = N.s[0].app;
	tu_exec(a, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		   " FROM c WHERE i < 1500) INSERT INTO items (id, name, qty)"
		   " SELECT printf('b%%04d', i), 'n' || i, i FROM c");
	char *newest = tu_text(a, "SELECT quote(id) || tbl || op || mask ||"
				  " wall || base || quote(k1) FROM hubsync_changes"
				  " ORDER BY id DESC LIMIT 1");
	int64_t top = tu_int(a, 0, "SELECT max(id) FROM hubsync_changes");
	tu_now_ms += 1000;
	tu_site_sync(&N.s[0], 0);
	char *kept = tu_text(a, "SELECT group_concat(quote(id) || tbl || op ||"
				" mask || wall || base || quote(k1)) FROM"
				" hubsync_changes");
	TU_CHECK(newest && kept && strcmp(newest, kept) == 0,
		 "the log after a push of 1,500 rows: %s, want its newest entry"
		 " as it was: %s", kept ? kept : "(none)", newest);
	free(newest);
	free(kept);
	tu_exec(a, "UPDATE items SET qty = -1 WHERE id = 'b0007'");
	TU_CHECK(tu_int(a, 0, "SELECT max(id) FROM hubsync_changes") > top,
		 "a change after the push did not get a larger id than %lld",
		 (long long)top);
	hs_sync_options o = HS_SYNC_OPTIONS_INIT;
	int64_t pushed = 0;
	o.progress = count_pushed;
	o.progress_ctx = &pushed;
	tu_now_ms += 1000;
	TU_CHECK(hs_replica_sync(N.s[0].hs, &o, NULL) == 0, "%s",
		 hs_replica_errmsg(N.s[0].hs));
	TU_CHECK(pushed == 1, "the next sync pushed %lld row changes, want 1",
		 (long long)pushed);
	net_sync_all(&N, 1);
	TU_CHECK(count_rows(N.s[1].app, "items") == 1500, "bob has %lld rows",
		 (long long)count_rows(N.s[1].app, "items"));
	CHECK_CELL(N.s[1].app, "items", "qty", "id = 'b0007'", "-1");
	net_check_converged(&N);
	net_close(&N);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"pull_then_edit_is_pushed", pull_then_edit_is_pushed},
		{"offline_clock_behind_edits_reach_everyone",
		 offline_clock_behind_edits_reach_everyone},
		{"timestamp_formats_later_edit_wins",
		 timestamp_formats_later_edit_wins},
		{"equal_timestamps_converge", equal_timestamps_converge},
		{"deletes_stay_deleted", deletes_stay_deleted},
		{"per_table_error_not_success", per_table_error_not_success},
		{"unique_collision_not_silent", unique_collision_not_silent},
		{"types_preserved_exactly", types_preserved_exactly},
		{"delete_vs_update_deterministic",
		 delete_vs_update_deterministic},
		{"different_columns_both_kept", different_columns_both_kept},
		{"identical_seed_rows_not_conflicts",
		 identical_seed_rows_not_conflicts},
		{"killed_sync_rerunnable", killed_sync_rerunnable},
		{"failed_sync_rerunnable", failed_sync_rerunnable},
		{"sync_never_creates_master", sync_never_creates_master},
		{"table_without_pk_refused", table_without_pk_refused},
		{"push_folds_rows_in_any_log_order",
		 push_folds_rows_in_any_log_order},
		{"push_folds_runs_in_write_order", push_folds_runs_in_write_order},
		{"big_push_keeps_log_floor", big_push_keeps_log_floor},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(*cases), argc, argv);
}
