/*
 * test_push_read.c - the push reads each logged row right (apply.c,
 * hs_applier_read): it walks a table's rows in key order and takes the
 * next one when its key is exactly the next logged key, else seeks, and
 * a row whose key is not exactly the logged one is read by the point
 * select. Whatever the shape of the key, what alice pushes must be her
 * rows as they are, so bob ends up with exactly her tables:
 *
 *  - a text key, an INTEGER PRIMARY KEY, a key of three columns one of
 *    which mixes integers and text, a WITHOUT ROWID table keyed in
 *    another order than its columns, a key of mixed directions (the walk
 *    would sort: point selects), a NOCASE key (the log's binary order is
 *    not the table's) and one column of integers, reals, text and blobs;
 *  - the first push (every row, more than a batch of 1,000), a push whose
 *    log skips rows (every third, a run, deletes, new keys in between),
 *    rows gone without a logged delete (nothing to send for them), and
 *    sparse pushes of 10 and 60 rows a table.
 *
 * Run all with ./test_push_read, or some by name.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables: each has n, the row's number, and v, a value to change; key
 * is the key's columns as expressions of i (the row number). */
static const struct shape {
	const char *name, *create, *cols, *key;
} SHAPES[] = {
	{"t_text", "CREATE TABLE t_text(id TEXT PRIMARY KEY, n INTEGER, v TEXT)",
	 "id", "printf('k%05d', i)"},
	{"t_int", "CREATE TABLE t_int(id INTEGER PRIMARY KEY, n INTEGER, v TEXT)",
	 "id", "i * 3"},
	{"t_comp", "CREATE TABLE t_comp(a TEXT, b INTEGER, c, n INTEGER,"
		   " v TEXT, PRIMARY KEY(a, b, c))",
	 "a, b, c", "'g' || (i % 7), i % 50, CASE WHEN i % 2 THEN i ELSE"
		    " 'c' || i END"},
	{"t_wr", "CREATE TABLE t_wr(p INTEGER, q TEXT, n INTEGER, v TEXT,"
		 " PRIMARY KEY(q, p)) WITHOUT ROWID",
	 "p, q", "i % 5, printf('q%05d', i)"},
	{"t_desc", "CREATE TABLE t_desc(p INTEGER, q INTEGER, n INTEGER, v TEXT,"
		   " PRIMARY KEY(p, q DESC))",
	 "p, q", "i % 10, i"},
	{"t_nocase", "CREATE TABLE t_nocase(id TEXT COLLATE NOCASE PRIMARY KEY,"
		     " n INTEGER, v TEXT)",
	 "id", "CASE WHEN i % 4 < 2 THEN 'K' ELSE 'k' END || printf('%05d', i)"},
	{"t_mixed", "CREATE TABLE t_mixed(k PRIMARY KEY, n INTEGER, v TEXT)",
	 "k", "CASE i / 2 % 4 WHEN 0 THEN i WHEN 1 THEN 'm' || i WHEN 2 THEN"
	      " i + 0.5 ELSE CAST('b' || i AS BLOB) END"},
};
#define NSHAPES (sizeof(SHAPES) / sizeof(SHAPES[0]))

/* Rows of the first push: even numbers 2..2*FIRST (more than a batch). */
#define FIRST 1200

static void office(tu_net *N)
{
	char schema[2048] = "";
	for (size_t t = 0; t < NSHAPES; t++) {
		strcat(schema, SHAPES[t].create);
		strcat(schema, ";");
	}
	tu_net_open(N, 2, "push_read", schema, NULL);
	tu_net_init(N, NULL);
}

/* alice inserts the rows numbered from..to by step into every table. */
static void insert_rows(tu_net *N, int from, int to, int step)
{
	for (size_t t = 0; t < NSHAPES; t++)
		tu_exec(N->s[0].app,
			"WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT"
			" i + %d FROM c WHERE i + %d <= %d) INSERT INTO %s(%s, n,"
			" v) SELECT %s, i, 'v' || i FROM c",
			from, step, step, to, SHAPES[t].name, SHAPES[t].cols,
			SHAPES[t].key);
}

/* The office once alice pushed the first rows and both synced, a second
 * later. */
static void office_synced(tu_net *N)
{
	office(N);
	insert_rows(N, 2, 2 * FIRST, 2);
	tu_net_sync_all(N, 1);
	tu_now_ms += 1000;
}

/* alice and bob hold the same rows in every table (but t_text and
 * t_comp when partial), and so does the master once both synced. */
static void check_same(tu_net *N, int partial)
{
	for (size_t t = 0; t < NSHAPES; t++) {
		char *why = NULL;
		if (partial && (!strcmp(SHAPES[t].name, "t_text") ||
				!strcmp(SHAPES[t].name, "t_comp")))
			continue;
		if (tu_table_diff(N->s[0].app, N->s[1].app, SHAPES[t].name,
				  "synced_at", &why) != 0)
			tu_fail("%s: %s", SHAPES[t].name, why);
	}
	if (!partial)
		tu_net_check_converged(N, "synced_at");
}

/* The first push: every row, in key order, more than a batch. */
static void first_push_every_shape(void)
{
	tu_net N;
	office(&N);
	insert_rows(&N, 2, 2 * FIRST, 2);
	tu_net_sync_all(&N, 2);
	for (size_t t = 0; t < NSHAPES; t++) {
		int64_t n = tu_int(N.s[1].app, -1, "SELECT count(*) FROM %s",
				   SHAPES[t].name);
		int64_t want = tu_int(N.s[0].app, -1, "SELECT count(*) FROM %s",
				      SHAPES[t].name);
		TU_CHECK(n == want && n > 100, "%s: bob has %lld rows, alice %lld",
			 SHAPES[t].name, (long long)n, (long long)want);
	}
	check_same(&N, 0);
	tu_net_close(&N);
}

/*
 * A push whose log skips rows: every third row updated, a run of 60 in a
 * row, new rows between the old keys, every 17th deleted, and the row
 * numbered 600 updated and then gone from t_text and t_comp without a
 * logged delete (its entry dropped, as if the log had lost it): nothing
 * is sent for it, every other row is.
 */
static void push_skipping_rows(void)
{
	tu_net N;
	office_synced(&N);
	for (size_t t = 0; t < NSHAPES; t++)
		tu_exec(N.s[0].app, "UPDATE %s SET v = v || '+' WHERE n %% 3 = 0"
			" OR n BETWEEN 1000 AND 1120", SHAPES[t].name);
	insert_rows(&N, 301, 421, 2);
	int64_t mark = tu_int(N.s[0].app, 0, "SELECT max(id) FROM"
			      " hubsync_changes");
	tu_exec(N.s[0].app, "DELETE FROM t_text WHERE n = 600;"
		"DELETE FROM t_comp WHERE n = 600;"
		"DELETE FROM hubsync_changes WHERE id > %lld", (long long)mark);
	for (size_t t = 0; t < NSHAPES; t++)
		tu_exec(N.s[0].app, "DELETE FROM %s WHERE n %% 17 = 0",
			SHAPES[t].name);
	tu_net_sync_all(&N, 1);
	/* bob: row 600 as it was before the update, everything else as alice */
	TU_CHECK_CELL(N.s[1].app, "t_text", "v", "n = 600", "'v600'");
	TU_CHECK_CELL(N.s[1].app, "t_comp", "v", "n = 600", "'v600'");
	TU_CHECK_CELL(N.s[1].app, "t_text", "v", "n = 606", "'v606+'");
	TU_CHECK_CELL(N.s[1].app, "t_text", "v", "n = 301", "'v301'");
	TU_CHECK_CELL(N.s[1].app, "t_mixed", "v", "n = 1002", "'v1002+'");
	TU_CHECK_CELL(N.s[1].app, "t_text", "v", "n = 1020", "(absent)");
	tu_exec(N.s[1].app, "DELETE FROM t_text WHERE n = 600;"
		"DELETE FROM t_comp WHERE n = 600");
	check_same(&N, 1);
	tu_net_sync_all(&N, 2);
	check_same(&N, 0);
	tu_net_close(&N);
}

/* Rows far apart, one in every `every` of the 1,200 of each table: each
 * one sought; 10 rows are read by point selects, 60 walked first until the
 * walk's steps keep missing. */
static void sparse_rows(int every)
{
	tu_net N;
	office_synced(&N);
	for (size_t t = 0; t < NSHAPES; t++)
		tu_exec(N.s[0].app, "UPDATE %s SET v = 'sparse' WHERE n %% %d = 2",
			SHAPES[t].name, 2 * every);
	tu_net_sync_all(&N, 2);
	TU_CHECK_CELL(N.s[1].app, "t_wr", "v", "n = 2", "'sparse'");
	TU_CHECK(tu_int(N.s[1].app, 0, "SELECT count(*) FROM t_nocase WHERE"
			" v = 'sparse'") == FIRST / every, "bob lacks sparse rows");
	check_same(&N, 0);
	tu_net_close(&N);
}

static void sparse_ten_rows(void)
{
	sparse_rows(120);
}

static void sparse_sixty_rows(void)
{
	sparse_rows(20);
}

/* alice syncs; the rows of table her push sent. */
static int64_t pushed(tu_net *N, const char *table)
{
	json_t *r = tu_json_take(tu_site_sync(&N->s[0], 1));
	int64_t v = tu_stat_count(r, "pushed", table);
	json_decref(r);
	return v;
}

/*
 * A log already in key order (rows inserted, updated, deleted in key
 * order, one table after the other) is read as written, without a sort
 * (sync.c, log_runs); one that is not, sorted. Either way each row
 * is sent once, with all its entries folded: a row whose entries were
 * read apart would be sent twice.
 */
static void log_in_key_order(void)
{
	tu_net N;
	const char *tables[] = {"t_text", "t_int", "t_wr"};
	office(&N);
	for (int t = 0; t < 3; t++) {
		const struct shape *sh = NULL;
		for (size_t k = 0; k < NSHAPES; k++)
			if (!strcmp(SHAPES[k].name, tables[t]))
				sh = &SHAPES[k];
		tu_exec(N.s[0].app,
			"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
			" FROM c WHERE i < %d) INSERT INTO %s(%s, n, v) SELECT"
			" %s, i, 'v' || i FROM c ORDER BY i",
			FIRST, sh->name, sh->cols, sh->key);
	}
	TU_CHECK(pushed(&N, "t_text") == FIRST, "first push: t_text rows");
	tu_net_sync_all(&N, 1);
	check_same(&N, 0);

	/* in order: every t_int row updated, some t_text rows deleted */
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "UPDATE t_int SET v = v || '+'");
	tu_exec(N.s[0].app, "DELETE FROM t_text WHERE n %% 17 = 0");
	TU_CHECK(pushed(&N, "t_int") == FIRST, "in order: t_int rows");
	tu_net_sync_all(&N, 1);
	check_same(&N, 0);

	/* out of order: the same rows changed again after others */
	tu_now_ms += 1000;
	tu_exec(N.s[0].app, "UPDATE t_int SET v = v || 'a' WHERE n > 1100;"
		"UPDATE t_int SET v = v || 'b' WHERE n < 100;"
		"UPDATE t_int SET n = n + 10000 WHERE n > 1100 OR n < 100;"
		"UPDATE t_wr SET v = 'w'");
	TU_CHECK(pushed(&N, "t_int") == 199, "out of order: t_int rows");
	tu_net_sync_all(&N, 1);
	check_same(&N, 0);
	tu_net_close(&N);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"first_push_every_shape", first_push_every_shape},
		{"push_skipping_rows", push_skipping_rows},
		{"sparse_ten_rows", sparse_ten_rows},
		{"sparse_sixty_rows", sparse_sixty_rows},
		{"log_in_key_order", log_in_key_order},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
