/*
 * test_names.c - table and column names that need quoting (issue 5,
 * item 6): spaces, double and single quotes, SQL keywords ("order",
 * "select", "group", "from", "where"), unicode ("prix €", "日本"), mixed
 * case, a composite key, an integer key with a child table whose foreign
 * key column has a space, a UNIQUE column with a quote in its name.
 *
 * Three replicas insert, update, delete, collide (same column: a conflict;
 * same UNIQUE value; same integer key made offline) and sync; every
 * replica must equal the master, the conflicts listing and the audit log
 * must name the tables, columns and keys exactly, and a resolution must
 * reach everyone.
 *
 * Run all: ./test_names; some by name: ./test_names names_rebase_keys
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSITES 3

static const char *USERS[NSITES] = {"alice", "bob", "carol"};

/* The tables and their SQL names, as written by the app. */
#define T_ORDER "order"
#define T_SPACE "my \"odd\" table"
#define T_JP "日本の表"
#define T_QUOTE "Quote's Table"
#define T_CHILD "Child Rows"

static const char *SCHEMA =
	"CREATE TABLE \"order\" (\"select\" TEXT PRIMARY KEY, \"group\" INTEGER,"
	" \"prix €\" REAL, \"日本\" TEXT, \"MixedCase\" TEXT, \"it's\" TEXT,"
	" \"say \"\"hi\"\"\" TEXT, \"code 'u'\" TEXT UNIQUE);"
	"CREATE TABLE \"my \"\"odd\"\" table\" (\"id\" INTEGER PRIMARY KEY,"
	" \"the \"\"name\"\"\" TEXT, \"where\" TEXT, \"from\" INTEGER);"
	"CREATE TABLE \"Child Rows\" (\"Row Id\" INTEGER PRIMARY KEY,"
	" \"parent id\" INTEGER REFERENCES \"my \"\"odd\"\" table\"(\"id\"),"
	" \"note; DROP TABLE x\" TEXT);"
	"CREATE TABLE \"日本の表\" (\"キー\" TEXT, \"Key2\" INTEGER,"
	" \"値 value\" TEXT, PRIMARY KEY(\"キー\", \"Key2\"));"
	"CREATE TABLE \"Quote's Table\" (\"pk col\" TEXT PRIMARY KEY,"
	" \"from\" TEXT, \"CamelCol\" INTEGER)";

static const char *SEED =
	"INSERT INTO \"order\" VALUES ('o1', 1, 10.5, 'やまと', 'Mx', 'it''s',"
	" 'say \"hi\"', 'u1'), ('o2', 2, 20.0, NULL, 'mX', NULL, NULL, 'u2'),"
	" ('o3', 3, 30.0, '三', NULL, NULL, NULL, 'u3');"
	"INSERT INTO \"my \"\"odd\"\" table\" VALUES (1, 'one', 'here', 1),"
	" (2, 'two', 'there', 2);"
	"INSERT INTO \"Child Rows\" VALUES (1, 1, 'child of one');"
	"INSERT INTO \"日本の表\" VALUES ('東京', 1, 'capital'),"
	" ('大阪', 2, 'osaka');"
	"INSERT INTO \"Quote's Table\" VALUES ('a b', 'x', 1),"
	" ('O''Brien', 'y', 2)";

typedef struct net {
	const char *dir;
	char master[600];
	tu_site s[NSITES];
} net;

/* Three users; alice holds the seed rows; carol lists her tables
 * explicitly (the names themselves, with spaces, quotes and unicode). */
static void net_open(net *N)
{
	memset(N, 0, sizeof(*N));
	N->dir = tu_tmpdir("names");
	snprintf(N->master, sizeof(N->master), "%s/master.db", N->dir);
	for (int i = 0; i < NSITES; i++) {
		tu_site_open(&N->s[i], N->dir, USERS[i], 1000 * i);
		tu_exec(N->s[i].app, "%s", SCHEMA);
	}
	tu_exec(N->s[0].app, "%s", SEED);
	for (int i = 0; i < NSITES; i++) {
		tu_now_ms += 100;
		tu_site_init(&N->s[i], N->master,
			     i == 2 ? T_ORDER "," T_SPACE "," T_CHILD "," T_JP
					  "," T_QUOTE
				    : NULL);
	}
}

static void net_sync(net *N, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NSITES; i++) {
			tu_now_ms += 100;
			tu_site_sync(&N->s[i], 0);
		}
}

/* Every replica equals the master in every table, all five tables are
 * there and have rows. */
static void net_check(net *N)
{
	sqlite3 *m = tu_db_open(N->master, 1);
	char **t = tu_user_tables(m);
	int n = 0;
	for (char **p = t; *p; p++, n++)
		TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM \"%w\"", *p) > 0,
			 "master table %s is empty", *p);
	tu_strv_free(t);
	TU_CHECK(n == 5, "the master has %d user tables, want 5", n);
	for (int i = 0; i < NSITES; i++) {
		char *why = NULL;
		TU_CHECK(!tu_db_diff(m, N->s[i].app, "synced_at", &why),
			 "%s differs from the master: %s", N->s[i].name, why);
		TU_CHECK(!tu_db_diff(N->s[i].app, m, "synced_at", &why),
			 "%s differs from the master: %s", N->s[i].name, why);
		tu_check_integrity(N->s[i].path);
	}
	sqlite3_close(m);
	tu_check_integrity(N->master);
}

static void net_close(net *N)
{
	for (int i = 0; i < NSITES; i++)
		tu_site_close(&N->s[i]);
}

static void check_text(sqlite3 *db, const char *want, const char *sql)
{
	char *got = tu_text(db, "%s", sql);
	TU_CHECK(got && !strcmp(got, want), "%s: want %s, got %s", sql, want,
		 got ? got : "NULL");
	free(got);
}

/* The string value of j, "" if it is not a string. */
static const char *jstr(json_t *j)
{
	const char *v = json_string_value(j);
	return v ? v : "";
}

/* ---- insert, update, delete in every table ----------------------------- */

static void names_sync_three_replicas(void)
{
	net N;
	net_open(&N);
	net_sync(&N, 2);
	net_check(&N);
	tu_now_ms += 60000;
	/* bob: inserts and updates across tables */
	tu_exec(N.s[1].app,
		"INSERT INTO \"order\"(\"select\", \"group\", \"prix €\", \"日本\","
		" \"MixedCase\", \"it's\", \"say \"\"hi\"\"\", \"code 'u'\")"
		" VALUES ('o4', 4, 4.5, '四', 'Four', 'b''s', '\"q\"', 'u4');"
		"UPDATE \"order\" SET \"日本\" = '日本語', \"MixedCase\" = 'CaSe'"
		" WHERE \"select\" = 'o2';"
		"UPDATE \"日本の表\" SET \"値 value\" = '首都' WHERE \"キー\" = '東京'"
		" AND \"Key2\" = 1;"
		"INSERT INTO \"Quote's Table\"(\"pk col\", \"from\", \"CamelCol\")"
		" VALUES ('new \"one\"', 'z', 3)");
	/* carol: deletes and an update of another column of o2 */
	tu_exec(N.s[2].app,
		"DELETE FROM \"Quote's Table\" WHERE \"pk col\" = 'O''Brien';"
		"DELETE FROM \"日本の表\" WHERE \"キー\" = '大阪';"
		"UPDATE \"order\" SET \"say \"\"hi\"\"\" = 'hello' WHERE"
		" \"select\" = 'o2';"
		"UPDATE \"my \"\"odd\"\" table\" SET \"where\" = 'moved',"
		" \"from\" = 20 WHERE \"id\" = 2");
	/* alice: a child row, a new composite key */
	tu_exec(N.s[0].app,
		"INSERT INTO \"Child Rows\"(\"parent id\", \"note; DROP TABLE x\")"
		" VALUES (2, 'child of two');"
		"INSERT INTO \"日本の表\"(\"キー\", \"Key2\", \"値 value\")"
		" VALUES ('東京', 2, 'second key')");
	net_sync(&N, 2);
	net_check(&N);
	sqlite3 *a = N.s[0].app;
	check_text(a, "日本語|CaSe|hello",
		   "SELECT \"日本\" || '|' || \"MixedCase\" || '|' ||"
		   " \"say \"\"hi\"\"\" FROM \"order\" WHERE \"select\" = 'o2'");
	check_text(a, "首都", "SELECT \"値 value\" FROM \"日本の表\" WHERE"
			      " \"キー\" = '東京' AND \"Key2\" = 1");
	check_text(a, "0", "SELECT count(*) FROM \"Quote's Table\" WHERE"
			   " \"pk col\" = 'O''Brien'");
	check_text(a, "0", "SELECT count(*) FROM \"日本の表\" WHERE"
			   " \"キー\" = '大阪'");
	check_text(N.s[1].app, "moved|20", "SELECT \"where\" || '|' || \"from\""
					  " FROM \"my \"\"odd\"\" table\" WHERE"
					  " \"id\" = 2");
	check_text(N.s[2].app, "child of two",
		   "SELECT \"note; DROP TABLE x\" FROM \"Child Rows\" WHERE"
		   " \"parent id\" = 2");
	/* hubsync's bookkeeping columns were added to every table */
	check_text(a, "5", "SELECT count(*) FROM sqlite_master m,"
			   " pragma_table_info(m.name) p WHERE m.type = 'table'"
			   " AND p.name = 'updated_by' AND m.name NOT LIKE"
			   " 'hubsync%'");
	net_close(&N);
}

/* ---- conflicts, the audit log, a resolution -------------------------------- */

/* The conflict of table/column in the listing of s (NULL if none). */
static json_t *find_conflict(json_t *list, const char *table,
			     const char *column)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *t = json_string_value(json_object_get(c, "table"));
		json_t *col = json_object_get(c, "column");
		if (t && !strcmp(t, table) &&
		    (column ? json_is_string(col) &&
				      !strcmp(json_string_value(col), column)
			    : json_is_null(col)))
			return c;
	}
	return NULL;
}

static void names_conflicts_and_log(void)
{
	net N;
	net_open(&N);
	net_sync(&N, 2);
	/* alice and bob change the same unicode-named column offline; bob and
	 * carol the same column of the composite-key table. */
	tu_now_ms += 60000;
	tu_exec(N.s[0].app, "UPDATE \"order\" SET \"prix €\" = 11.0 WHERE"
			    " \"select\" = 'o1'");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE \"order\" SET \"prix €\" = 12.0 WHERE"
			    " \"select\" = 'o1';"
			    "UPDATE \"日本の表\" SET \"値 value\" = 'bob' WHERE"
			    " \"キー\" = '東京';"
			    "UPDATE \"Quote's Table\" SET \"from\" = 'bob' WHERE"
			    " \"pk col\" = 'O''Brien'");
	tu_now_ms += 1000;
	tu_exec(N.s[2].app, "UPDATE \"日本の表\" SET \"値 value\" = 'carol' WHERE"
			    " \"キー\" = '東京'");
	net_sync(&N, 2);
	net_check(&N);

	for (int i = 0; i < NSITES; i++) {
		json_t *list = tu_site_conflicts(&N.s[i], 0);
		json_t *c = find_conflict(list, T_ORDER, "prix €");
		TU_CHECK(c, "%s: no conflict listed on \"order\".\"prix €\": %s",
			 N.s[i].name, json_dumps(list, JSON_COMPACT));
		json_t *pk = json_object_get(c, "pk");
		TU_CHECK(json_object_size(pk) == 1 &&
				 !strcmp(jstr(json_object_get(
						 pk, "select")), "o1"),
			 "%s: conflict pk should be {\"select\": \"o1\"}: %s",
			 N.s[i].name, json_dumps(c, JSON_COMPACT));
		c = find_conflict(list, T_JP, "値 value");
		TU_CHECK(c, "%s: no conflict listed on 日本の表.値 value: %s",
			 N.s[i].name, json_dumps(list, JSON_COMPACT));
		pk = json_object_get(c, "pk");
		TU_CHECK(json_object_size(pk) == 2 &&
				 !strcmp(jstr(json_object_get(
						 pk, "キー")), "東京") &&
				 json_integer_value(json_object_get(pk, "Key2")) == 1,
			 "%s: conflict pk should be {\"キー\": \"東京\", "
			 "\"Key2\": 1}: %s", N.s[i].name,
			 json_dumps(c, JSON_COMPACT));
		json_decref(list);
	}
	check_text(N.s[2].app, "12.0", "SELECT quote(\"prix €\") FROM \"order\""
				      " WHERE \"select\" = 'o1'");
	check_text(N.s[0].app, "carol", "SELECT \"値 value\" FROM \"日本の表\""
				       " WHERE \"キー\" = '東京'");

	/* The audit log by table and key, names exact. */
	char *out = NULL;
	int rc = hs_replica_log_json(N.s[0].hs, T_JP, "東京|1", NULL, 0, &out);
	TU_CHECK(rc == 0, "log of 日本の表: %s", hs_replica_errmsg(N.s[0].hs));
	json_t *log = tu_json_take(out);
	TU_CHECK(json_array_size(log) > 0, "no log entries for 日本の表 key "
		 "東京|1");
	size_t i;
	json_t *e;
	int saw_col = 0;
	json_array_foreach(log, i, e) {
		TU_CHECK(!strcmp(jstr(json_object_get(e, "table")),
				 T_JP), "log entry of another table: %s",
			 json_dumps(e, JSON_COMPACT));
		TU_CHECK(!strcmp(jstr(json_object_get(e, "key")),
				 "東京|1"), "log entry of another key: %s",
			 json_dumps(e, JSON_COMPACT));
		char *text = json_dumps(e, JSON_COMPACT);
		saw_col |= text && strstr(text, "値 value") != NULL;
		free(text);
	}
	TU_CHECK(saw_col, "no log entry names the column 値 value: %s",
		 json_dumps(log, JSON_COMPACT));
	json_decref(log);
	rc = hs_replica_log_json(N.s[1].hs, T_QUOTE, "O'Brien", NULL, 0, &out);
	TU_CHECK(rc == 0, "log of Quote's Table: %s",
		 hs_replica_errmsg(N.s[1].hs));
	log = tu_json_take(out);
	TU_CHECK(json_array_size(log) > 0, "no log entries for Quote's Table "
		 "key O'Brien");
	json_decref(log);

	/* Alice settles the price conflict for the losing side; everyone
	 * gets it. */
	json_t *list = tu_site_conflicts(&N.s[0], 0);
	json_t *c = find_conflict(list, T_ORDER, "prix €");
	int64_t id = json_integer_value(json_object_get(c, "id"));
	const char *win = json_string_value(json_object_get(c, "winner"));
	hs_keep keep = win && !strcmp(win, "local") ? HS_KEEP_REMOTE
						    : HS_KEEP_LOCAL;
	char *loser = tu_json_to_quote(json_object_get(
		c, keep == HS_KEEP_REMOTE ? "remote_value" : "local_value"));
	json_decref(list);
	rc = hs_replica_resolve(N.s[0].hs, id, keep);
	TU_CHECK(rc == 0, "resolve: %s", hs_replica_errmsg(N.s[0].hs));
	net_sync(&N, 2);
	net_check(&N);
	for (int k = 0; k < NSITES; k++)
		check_text(N.s[k].app, loser, "SELECT quote(\"prix €\") FROM"
					      " \"order\" WHERE \"select\" = 'o1'");
	free(loser);
	net_close(&N);
}

/* ---- integer keys made offline, UNIQUE collisions --------------------------- */

static void names_rebase_keys(void)
{
	net N;
	net_open(&N);
	net_sync(&N, 2);
	tu_now_ms += 60000;
	/* bob and carol both make row 3 of the odd table offline, each with
	 * a child; alice and bob take the same UNIQUE "code 'u'" value. */
	for (int i = 1; i <= 2; i++)
		tu_exec(N.s[i].app,
			"INSERT INTO \"my \"\"odd\"\" table\"(\"id\","
			" \"the \"\"name\"\"\", \"where\", \"from\") VALUES (3, '%q',"
			" 'w', 3);"
			"INSERT INTO \"Child Rows\"(\"parent id\","
			" \"note; DROP TABLE x\") VALUES (3, 'child of %q''s 3')",
			USERS[i], USERS[i]);
	tu_exec(N.s[0].app, "INSERT INTO \"order\"(\"select\", \"code 'u'\")"
			    " VALUES ('oa', 'same')");
	tu_exec(N.s[1].app, "INSERT INTO \"order\"(\"select\", \"code 'u'\")"
			    " VALUES ('ob', 'same')");
	net_sync(&N, 3);
	net_check(&N);
	sqlite3 *m = tu_db_open(N.master, 1);
	/* Both rows kept under different ids, each child follows its
	 * parent. */
	for (int i = 1; i <= 2; i++) {
		int64_t id = tu_int(m, -1, "SELECT \"id\" FROM \"my \"\"odd\"\""
					   " table\" WHERE \"the \"\"name\"\"\""
					   " = '%q'", USERS[i]);
		TU_CHECK(id > 0, "%s's row of the odd table was lost", USERS[i]);
		TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM \"Child Rows\" WHERE"
				      " \"parent id\" = %lld AND"
				      " \"note; DROP TABLE x\" = 'child of %q''s 3'",
				(long long)id, USERS[i]) == 1,
			 "%s's child row does not follow its parent (id %lld)",
			 USERS[i], (long long)id);
	}
	/* The UNIQUE value is held once; the other row is kept or listed. */
	TU_CHECK(tu_int(m, -1, "SELECT count(*) FROM \"order\" WHERE"
			      " \"code 'u'\" = 'same'") == 1,
		 "UNIQUE \"code 'u'\" not held exactly once");
	json_t *list = tu_site_conflicts(&N.s[0], 1);
	int64_t rows = tu_int(m, 0, "SELECT count(*) FROM \"order\" WHERE"
				    " \"select\" IN ('oa', 'ob')");
	TU_CHECK(rows == 2 || json_array_size(list) > 0,
		 "the UNIQUE collision lost a row without a conflict");
	json_decref(list);
	sqlite3_close(m);
	net_close(&N);
}

/* ---- table names in other case --------------------------------------------- */

static void names_log_table_case(void)
{
	net N;
	char *out = NULL;
	net_open(&N);
	net_sync(&N, 1);
	tu_exec(N.s[0].app, "UPDATE \"Quote's Table\" SET \"CamelCol\" = 7");
	/* SQL sees "quote's table" and "Quote's Table" as one table. The log
	 * filter may match it or refuse the name in one line naming it; it
	 * must not answer "nothing happened". */
	int rc = hs_replica_log_json(N.s[0].hs, "quote's table", NULL, NULL, 0,
				     &out);
	if (rc == 0) {
		json_t *log = tu_json_take(out);
		TU_CHECK(json_array_size(log) > 0, "the log filter \"quote's "
			 "table\" finds nothing for table \"Quote's Table\"");
		json_decref(log);
	} else {
		const char *msg = hs_replica_errmsg(N.s[0].hs);
		TU_CHECK(strstr(msg, "quote's table") && !strchr(msg, '\n'),
			 "the log filter's refusal should name the table in "
			 "one line: %s", msg);
		printf("  log --table \"quote's table\": %s\n", msg);
	}
	net_close(&N);
}

/* ---- tables named like the columns of SQLite's pragma functions ---------- */

/*
 * A table called "name" or "unique" must get what any table gets: its
 * UNIQUE collisions handled as conflicts, synced_at stamped on rows a sync
 * writes. (Identifiers passed to pragma_table_info("...") or
 * pragma_index_list("...") resolve to the pragma's own column of that name
 * instead of the string.)
 */
static void names_like_pragma_columns(void)
{
	static const char *tables[] = {"unique", "name"};
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		net N;
		char schema[300];
		memset(&N, 0, sizeof(N));
		N.dir = tu_tmpdir("names");
		snprintf(N.master, sizeof(N.master), "%s/master.db", N.dir);
		snprintf(schema, sizeof(schema),
			 "CREATE TABLE \"%s\" (id TEXT PRIMARY KEY, code TEXT"
			 " UNIQUE, v TEXT)", tables[k]);
		for (int i = 0; i < 2; i++) {
			tu_site_open(&N.s[i], N.dir, USERS[i], 0);
			tu_exec(N.s[i].app, "%s", schema);
			tu_site_init(&N.s[i], N.master, NULL);
		}
		tu_exec(N.s[0].app, "INSERT INTO \"%w\"(id, code, v) VALUES"
				    " ('a', 'same', 'alice'), ('a2', 'x', 'y')",
			tables[k]);
		tu_exec(N.s[1].app, "INSERT INTO \"%w\"(id, code, v) VALUES"
				    " ('b', 'same', 'bob')", tables[k]);
		for (int r = 0; r < 2; r++)
			for (int i = 0; i < 2; i++) {
				tu_now_ms += 100;
				char *json = NULL;
				int rc = tu_site_sync_rc(&N.s[i], &json);
				TU_CHECK(rc == 0, "table \"%s\": sync of %s failed "
					 "on a UNIQUE collision: %s", tables[k],
					 USERS[i], hs_replica_errmsg(N.s[i].hs));
				hs_free(json);
			}
		TU_CHECK(tu_int(N.s[1].app, -1, "SELECT count(*) FROM \"%w\""
				 " WHERE id = 'a2' AND synced_at IS NOT NULL",
				 tables[k]) == 1,
			 "table \"%s\": the row the sync wrote at bob has no "
			 "synced_at", tables[k]);
		for (int i = 0; i < 2; i++)
			tu_site_close(&N.s[i]);
	}
}

int main(int argc, char **argv)
{
	tu_init_stamp = 1; /* the bookkeeping columns need quoting too */
	static const tu_case cases[] = {
		{"names_sync_three_replicas", names_sync_three_replicas},
		{"names_conflicts_and_log", names_conflicts_and_log},
		{"names_rebase_keys", names_rebase_keys},
		{"names_log_table_case", names_log_table_case},
		{"names_like_pragma_columns", names_like_pragma_columns},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
