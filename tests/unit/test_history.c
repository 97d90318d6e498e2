/*
 * test_history.c - the audit trail's compact format (history.c): entries
 * of every shape written compact and read back byte for byte in the old
 * shape (short forms where they apply, the text kept where not), one at a
 * time and copied from a table (the master's writer, a replica's copy),
 * with many tables and users at once; an old
 * table upgraded in place, twice (a no-op the second time); the prune by
 * age over integer and text times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "history.h"

/* seq, tbl, key, pk, op, user, at, changes (NULL: NULL) */
static const char *const ROWS[][8] = {
	{"1", "items", "item-1", "{\"id\":\"item-1\"}", "insert", "alice",
	 "2026-11-30T17:03:59.548Z", "{}"},
	{"2", "items", "item-1", "{\"id\":\"item-1\"}", "update", "bob",
	 "2026-11-30T17:04:00.000Z", "{\"name\":[\"a\",\"b\"]}"},
	{"3", "nums", "42", "{\"n\":42}", "insert", "alice",
	 "2026-11-30T17:04:00.000Z", "{}"},
	{"4", "nums", "-5", "{\"n\":-5}", "delete", "bob",
	 "2026-11-30T17:04:00.001Z", "{\"v\":[\"x\",null]}"},
	/* a text key that looks like a number: its JSON keeps the quotes */
	{"5", "nums", "7", "{\"n\":\"7\"}", "insert", "alice",
	 "2026-11-30T17:04:00.001Z", "{}"},
	/* two-column key: the JSON is kept */
	{"6", "pairs", "p|1", "{\"a\":\"p\",\"b\":1}", "insert", NULL,
	 "2026-11-30T17:04:00.001Z", "{}"},
	/* escapes in the key; a time in another form; no changes */
	{"7", "items", "q\"u", "{\"id\":\"q\\\"u\"}", "insert", "carol",
	 "2026-11-30 17:04:00", NULL},
	/* an op of a later version, a user named like a table */
	{"8", "items", "item-2", "{\"id\":\"item-2\"}", "merge", "items",
	 "2026-11-30T17:04:00.5Z", "{}"},
	{"9", "items", "item-3", "{\"other\":\"item-3\"}", "insert", "alice",
	 "1969-12-31T23:59:59.999Z", "{}"},
};
#define NROWS (sizeof ROWS / sizeof *ROWS)

static sqlite3 *open_db(void)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(hs_history_functions(db), SQLITE_OK);
	return db;
}

/* The entries read back through hs_history_source equal ROWS. */
static void check_rows(sqlite3 *db, int compact)
{
	sqlite3_stmt *st;
	hs_buf q;
	size_t n = 0;
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT " HS_HISTORY_COLS " FROM ");
	hs_history_source(&q, compact);
	hs_buf_puts(&q, " ORDER BY seq");
	assert_int_equal(sqlite3_prepare_v2(db, q.s, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(n < NROWS);
		assert_int_equal(sqlite3_column_type(st, 0), SQLITE_INTEGER);
		for (int i = 0; i < 8; i++) {
			const char *got = (const char *)sqlite3_column_text(st, i);
			if (!ROWS[n][i]) {
				assert_null(got);
				continue;
			}
			assert_non_null(got);
			assert_string_equal(got, ROWS[n][i]);
			if (i > 0)
				assert_int_equal(sqlite3_column_type(st, i), SQLITE_TEXT);
		}
		n++;
	}
	assert_int_equal(n, NROWS);
	sqlite3_finalize(st);
	hs_buf_free(&q);
}

static void fill_old(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st;
	char sql[200];
	snprintf(sql, sizeof sql, "INSERT INTO %s VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
				  " ?7, ?8)", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	for (size_t r = 0; r < NROWS; r++) {
		sqlite3_bind_int64(st, 1, atoi(ROWS[r][0]));
		for (int i = 1; i < 8; i++)
			sqlite3_bind_text(st, i + 1, ROWS[r][i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	hs_history_writer w = {0};
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL), SQLITE_OK);
	for (size_t r = 0; r < NROWS; r++)
		assert_int_equal(hs_history_writer_put(&w, db, atoi(ROWS[r][0]),
						       &ROWS[r][1]), SQLITE_OK);
	hs_history_writer_free(&w);
	check_rows(db, 1);
	/* the short forms were taken where they apply */
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE pk IS NULL", -1, NULL), 4);
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE pk IS 1", -1, NULL), 2);
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE typeof(at) = 'integer'", -1, NULL), 6);
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE changes IS NULL", -1, NULL), 6);
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE typeof(op) = 'integer'", -1, NULL), 8);
	sqlite3_close(db);
}

/* Many tables and users: the writer's names grow while an entry holds
 * them (each entry names a new table and a new user). */
static void test_many_names(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	hs_history_writer w = {0};
	char tbl[40][16], key[40][16], pk[40][40], user[40][16];
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL), SQLITE_OK);
	for (int i = 0; i < 40; i++) {
		snprintf(tbl[i], sizeof tbl[i], "t%02d", i);
		snprintf(key[i], sizeof key[i], "%d", i);
		snprintf(pk[i], sizeof pk[i], "{\"id\":%d}", i);
		snprintf(user[i], sizeof user[i], "u%02d", i);
		const char *txt[7] = {tbl[i], key[i], pk[i], "insert", user[i],
				      "2026-11-30T17:04:00.000Z", "{}"};
		assert_int_equal(hs_history_writer_put(&w, db, i + 1, txt), SQLITE_OK);
	}
	hs_history_writer_free(&w);
	sqlite3_stmt *st;
	hs_buf q;
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT tbl, pk, user FROM ");
	hs_history_source(&q, 1);
	hs_buf_puts(&q, " ORDER BY seq");
	assert_int_equal(sqlite3_prepare_v2(db, q.s, -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), tbl[i]);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), pk[i]);
		assert_string_equal((const char *)sqlite3_column_text(st, 2), user[i]);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	hs_buf_free(&q);
	assert_int_equal(hs_query_int(db, "SELECT count(*) FROM hubsync_history"
					  " WHERE pk IS 1", -1, NULL), 40);
	sqlite3_close(db);
}

static void test_copy_and_upgrade(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	/* a replica of an older version */
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL_OLD), SQLITE_OK);
	fill_old(db, "hubsync_history");
	assert_int_equal(hs_history_compact(db), 0);
	check_rows(db, 0);
	assert_int_equal(hs_history_upgrade(db), SQLITE_OK);
	assert_int_equal(hs_history_compact(db), 1);
	check_rows(db, 1);
	assert_int_equal(hs_history_upgrade(db), SQLITE_OK);
	check_rows(db, 1);
	/* a pulled copy again: replaced, the same */
	assert_int_equal(hs_exec(db, "CREATE TEMP TABLE pulled(seq INTEGER"
				     " PRIMARY KEY, tbl, key, pk, op, user, at,"
				     " changes)"), SQLITE_OK);
	fill_old(db, "temp.pulled");
	hs_history_writer w = {.replace = 1};
	assert_int_equal(hs_history_copy(&w, db, "temp.pulled", NULL), SQLITE_OK);
	hs_history_writer_free(&w);
	check_rows(db, 1);
	sqlite3_close(db);
}

static void test_prune(void **state)
{
	(void)state;
	for (int compact = 0; compact < 2; compact++) {
		sqlite3 *db = open_db();
		int64_t max = -1;
		assert_int_equal(hs_exec(db, compact ? HS_HISTORY_DDL
						     : HS_HISTORY_DDL_OLD), SQLITE_OK);
		if (compact) {
			assert_int_equal(hs_exec(db, "CREATE TABLE old(seq INTEGER"
						 " PRIMARY KEY, tbl, key, pk, op,"
						 " user, at, changes)"), SQLITE_OK);
			fill_old(db, "old");
			hs_history_writer w = {0};
			assert_int_equal(hs_history_copy(&w, db, "old", NULL), SQLITE_OK);
			hs_history_writer_free(&w);
		} else {
			fill_old(db, "hubsync_history");
		}
		/* before 17:04:00.001: rows 1-3, 7 (text "17:04:00" sorts
		 * before), 8 ("...00.5Z" sorts after), 9 */
		assert_int_equal(hs_history_prune(db, compact, 1796058240001LL, &max),
				 SQLITE_OK);
		assert_int_equal(max, 9);
		char *left = NULL;
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(seq)"
						    " FROM hubsync_history", -1, &st,
						    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		left = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		assert_string_equal(left, "4,5,6,8");
		free(left);
		sqlite3_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_copy_and_upgrade),
		cmocka_unit_test(test_prune),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
