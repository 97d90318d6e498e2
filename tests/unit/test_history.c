/*
 * test_history.c - the audit trail's compact format (history.c): entries
 * of every shape written compact and read back byte for byte in the old
 * shape (short forms where they apply, the text kept where not), one at a
 * time and copied from a table (the master's writer, a replica's copy),
 * with many tables and users at once; an old
 * table upgraded in place, twice (a no-op the second time); the prune by
 * age over integer and text times; another compact trail copied as it is
 * stored (a replica's copy of a file master's), which writes exactly what
 * its text would, into a replica whose dictionary has other ids, entry by
 * entry and as a set; a set copy whose source fails midway undone whole.
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

/* The n entries rows (as ROWS) through w. */
static void put_rows(hs_history_writer *w, sqlite3 *db,
		     const char *const (*rows)[8], size_t n)
{
	for (size_t r = 0; r < n; r++)
		assert_int_equal(hs_history_writer_put(w, db, atoi(rows[r][0]),
						       &rows[r][1]), SQLITE_OK);
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	sqlite3 *db = open_db();
	hs_history_writer w = {0};
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL), SQLITE_OK);
	put_rows(&w, db, ROWS, NROWS);
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

/* ---- a copy of another compact trail as it is stored ------------------ */

/* More entries for the stored copy: a deleted row's NULL key JSON, times
 * outside 1970-9999 (kept as text), no user. */
static const char *const MORE[][8] = {
	{"10", "pairs", "q|2", "{\"a\":\"q\",\"b\":2}", "update", "bob",
	 "2026-11-30T17:05:00.000Z", "{\"v\":[1,{\"x\":null}]}"},
	{"11", "items", "item-4", NULL, "delete", "alice",
	 "10000-01-01T00:00:00.000Z", NULL},
	{"12", "nums", "8", "{\"n\":8}", "update", NULL,
	 "0999-12-31T23:59:59.000Z", "{}"},
	{"13", "nums", "9", "{\"n\":\"9\"}", "delete", "dave",
	 "2026-11-30T17:05:00.000Z", "{\"v\":[\"a\",null]}"},
};

/* A master's compact trail: ROWS and MORE through the writer, then cells
 * no writer of this version makes (an older or later one might): a key
 * JSON of 7, an op of 1.0, times of -5 ms and of year 10000 as integers, an
 * unknown table (no entry) and user (none), names of the other kind, a
 * time and changes that have a short form kept as text, changes as a blob. */
static sqlite3 *master_trail(void)
{
	sqlite3 *db = open_db();
	hs_history_writer w = {0};
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL), SQLITE_OK);
	put_rows(&w, db, ROWS, NROWS);
	put_rows(&w, db, MORE, sizeof MORE / sizeof *MORE);
	hs_history_writer_free(&w);
	assert_int_equal(hs_exec(db,
		"INSERT INTO hubsync_history VALUES"
		"(20, (SELECT id FROM hubsync_names WHERE name = 'items'),"
		" 'item-5', 7, 1.0, (SELECT id FROM hubsync_names WHERE name ="
		" 'alice'), -5, X''),"
		"(21, 999, 'gone', NULL, 0, NULL, 0, NULL),"
		"(22, (SELECT id FROM hubsync_names WHERE name = 'nums'), '10',"
		" 'not json', 'update', 998, '2026-11-30T17:04:00.000Z', '{}'),"
		"(23, (SELECT id FROM hubsync_names WHERE name = 'alice'), 'x',"
		" NULL, 2, (SELECT id FROM hubsync_names WHERE kind = 0 AND name ="
		" 'items'), 253402300800000, X'7b7d'),"
		"(24, (SELECT id FROM hubsync_names WHERE name = 'pairs'), 'r|3',"
		" 1, 'insert', NULL, 1796058240000.0, X'')"), SQLITE_OK);
	return db;
}

/* Every value of db's trail and dictionary as stored, one text. */
static char *dump(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *out;
	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT (SELECT group_concat(v, char(10)) FROM (SELECT"
		" printf('%s %s %s %s %s %s %s %s', quote(seq), quote(tbl),"
		" quote(key), quote(pk), quote(op), quote(user), quote(at),"
		" quote(changes)) AS v FROM hubsync_history ORDER BY seq)) || char(10)"
		" || (SELECT group_concat(v, char(10)) FROM (SELECT printf('%s %s"
		" %s %s', id, kind, quote(name), quote(pkcol)) AS v FROM"
		" hubsync_names ORDER BY id))", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

/* The old shape of db's trail as its readers see it (hs_history_source,
 * each value as text), one text. */
static char *decoded(sqlite3 *db)
{
	sqlite3_stmt *st;
	hs_buf q;
	char *out;
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT group_concat(v, char(10)) FROM (SELECT printf("
			"'%s %s %s %s %s %s %s %s', seq, quote(CAST(tbl AS TEXT)),"
			" quote(CAST(key AS TEXT)), quote(CAST(pk AS TEXT)),"
			" quote(CAST(op AS TEXT)), quote(CAST(user AS TEXT)),"
			" quote(CAST(at AS TEXT)), quote(CAST(changes AS TEXT))) AS v"
			" FROM ");
	hs_history_source(&q, 1);
	hs_buf_puts(&q, " ORDER BY seq)");
	assert_int_equal(sqlite3_prepare_v2(db, q.s, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	hs_buf_free(&q);
	return out;
}

/* a equals b, else both printed whole (cmocka cuts long strings). */
static void check_same(const char *what, const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		fprintf(stderr, "%s differ:\n%s\n----\n%s\n", what, a, b);
	assert_string_equal(a, b);
}

/* The entries of master, read with sql (their seq first), each to put. */
static void each_entry(sqlite3 *master, const char *sql,
		       void (*put)(void *ctx, sqlite3_value **v), void *ctx)
{
	sqlite3_stmt *st;
	sqlite3_value *v[8];
	assert_int_equal(sqlite3_prepare_v2(master, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < 8; i++)
			v[i] = sqlite3_column_value(st, i);
		put(ctx, v);
	}
	sqlite3_finalize(st);
}

typedef struct copy_ctx {
	hs_history_writer w;
	sqlite3 *db;
	hs_history_names names;
	sqlite3_stmt *spool;
} copy_ctx;

static void put_text(void *ctx, sqlite3_value **v)
{
	copy_ctx *x = ctx;
	assert_int_equal(hs_history_writer_put_values(&x->w, x->db, v), SQLITE_OK);
}

static void put_stored(void *ctx, sqlite3_value **v)
{
	copy_ctx *x = ctx;
	assert_int_equal(hs_history_writer_put_stored(&x->w, x->db, &x->names, v),
			 SQLITE_OK);
}

static void put_spool(void *ctx, sqlite3_value **v)
{
	copy_ctx *x = ctx;
	for (int i = 0; i < 8; i++)
		sqlite3_bind_value(x->spool, i + 1, v[i]);
	assert_int_equal(sqlite3_step(x->spool), SQLITE_DONE);
	sqlite3_reset(x->spool);
}

/* A replica's trail before the copy (setup: SQL after HS_HISTORY_DDL). */
static sqlite3 *replica(const char *setup)
{
	sqlite3 *db = open_db();
	assert_int_equal(hs_exec(db, HS_HISTORY_DDL), SQLITE_OK);
	if (setup)
		assert_int_equal(hs_exec(db, setup), SQLITE_OK);
	return db;
}

/* The master's trail copied into four replicas made by setup: in the old
 * shape (the text path), as stored one entry at a time, as stored set
 * aside in a TEMP table first (hs_history_copy), and as a set read from
 * the master's own connection (hs_history_writer_put_set, as a sync
 * copies a file master's): the same values stored, the dictionary too.
 * The text returned: the copy's dump. */
static char *copy_each_way(sqlite3 *master, const char *setup)
{
	hs_buf q;
	char *dumps[4];
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT " HS_HISTORY_COLS " FROM ");
	hs_history_source(&q, 1);
	hs_buf_puts(&q, " ORDER BY seq");
	for (int way = 0; way < 4; way++) {
		copy_ctx x = {.w = {.replace = 1}, .db = replica(setup)};
		if (way == 0) {
			each_entry(master, q.s, put_text, &x);
		} else {
			assert_int_equal(hs_history_names_load(master, &x.names),
					 SQLITE_OK);
			if (way == 1) {
				each_entry(master, "SELECT " HS_HISTORY_COLS " FROM"
					   " hubsync_history ORDER BY seq",
					   put_stored, &x);
				assert_int_equal(hs_history_writer_flush(&x.w),
						 SQLITE_OK);
			} else if (way == 3) {
				sqlite3_stmt *st;
				assert_int_equal(sqlite3_prepare_v2(master, "SELECT "
								    HS_HISTORY_COLS " FROM"
								    " hubsync_history ORDER BY"
								    " seq", -1, &st, NULL),
						 SQLITE_OK);
				assert_int_equal(hs_history_writer_put_set(&x.w, x.db,
									   &x.names,
									   hs_history_step,
									   st),
						 SQLITE_OK);
				sqlite3_finalize(st);
			} else {
				assert_int_equal(hs_exec(x.db, "CREATE TEMP TABLE"
							 " pulled(seq INTEGER PRIMARY"
							 " KEY, tbl, key, pk, op, user,"
							 " at, changes)"), SQLITE_OK);
				assert_int_equal(sqlite3_prepare_v2(x.db, "INSERT INTO"
								    " pulled VALUES(?1, ?2, ?3, ?4,"
								    " ?5, ?6, ?7, ?8)", -1,
								    &x.spool, NULL), SQLITE_OK);
				each_entry(master, "SELECT " HS_HISTORY_COLS " FROM"
					   " hubsync_history ORDER BY seq",
					   put_spool, &x);
				sqlite3_finalize(x.spool);
				assert_int_equal(hs_history_copy(&x.w, x.db,
								 "temp.pulled", &x.names),
						 SQLITE_OK);
			}
			hs_history_names_free(&x.names);
		}
		hs_history_writer_free(&x.w);
		dumps[way] = dump(x.db);
		if (way >= 2) {
			/* what it reads back is the master's trail (an entry
			 * seq 2 the replica had is replaced) */
			char *got = decoded(x.db), *want = decoded(master);
			check_same("decoded trails", got, want);
			free(got);
			free(want);
		}
		sqlite3_close(x.db);
	}
	hs_buf_free(&q);
	check_same("stored and text copies", dumps[1], dumps[0]);
	check_same("spooled and text copies", dumps[2], dumps[0]);
	check_same("set and text copies", dumps[3], dumps[0]);
	for (int way = 1; way < 4; way++)
		free(dumps[way]);
	return dumps[0];
}

/* An hs_history_next over a statement that fails with SQLITE_IOERR_READ
 * (a share gone) after `left` entries. */
typedef struct failing_read {
	sqlite3_stmt *st;
	int left;
} failing_read;

static int failing_next(void *it, sqlite3_value **v)
{
	failing_read *r = it;
	if (r->left-- == 0)
		return SQLITE_IOERR_READ;
	return hs_history_step(r->st, v);
}

/* A set copy whose source fails midway (after entries that made new
 * names): its code comes back as it came, the replica's transaction still
 * open, and a rollback to the savepoint taken before leaves the trail and
 * dictionary as they were. */
static void test_set_copy_fails(void **state)
{
	(void)state;
	sqlite3 *master = master_trail();
	for (int left = 0; left < 12; left += 5) {
		copy_ctx x = {.w = {.replace = 1},
			      .db = replica("INSERT INTO hubsync_names(kind, name,"
					    " pkcol) VALUES(1, 'dave', NULL);"
					    "INSERT INTO hubsync_history VALUES(2, 1,"
					    " 'old', NULL, 0, NULL, 0, NULL)")};
		failing_read r = {NULL, left};
		char *before = dump(x.db), *after;
		assert_int_equal(hs_history_names_load(master, &x.names), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(master, "SELECT " HS_HISTORY_COLS
						    " FROM hubsync_history ORDER BY seq",
						    -1, &r.st, NULL), SQLITE_OK);
		assert_int_equal(hs_exec(x.db, "BEGIN; SAVEPOINT copy"), SQLITE_OK);
		assert_int_equal(hs_history_writer_put_set(&x.w, x.db, &x.names,
							   failing_next, &r),
				 SQLITE_IOERR_READ);
		assert_int_equal(sqlite3_get_autocommit(x.db), 0);
		assert_int_equal(hs_exec(x.db, "ROLLBACK TO copy; RELEASE copy;"
					       " COMMIT"), SQLITE_OK);
		after = dump(x.db);
		check_same("a failed copy and none", after, before);
		free(before);
		free(after);
		sqlite3_finalize(r.st);
		hs_history_names_free(&x.names);
		hs_history_writer_free(&x.w);
		sqlite3_close(x.db);
	}
	sqlite3_close(master);
}

static void test_stored_copy(void **state)
{
	(void)state;
	sqlite3 *master = master_trail();
	/* a batch of entries written with one statement, and one more */
	assert_int_equal(hs_query_int(master, "SELECT count(*) FROM"
					      " hubsync_history WHERE tbl <> 999",
				      -1, NULL), HS_HISTORY_BATCH + 1);
	/* a new replica: the master's own ids, the short forms kept */
	char *d = copy_each_way(master, NULL);
	char *m = dump(master);
	assert_non_null(strstr(m, "1 1 'item-1' NULL 0 2 1796058239548 NULL\n"));
	assert_non_null(strstr(d, "1 1 'item-1' NULL 0 2 1796058239548 NULL\n"));
	free(d);
	free(m);
	/* a replica that has the names in another order (other ids), a
	 * table with another key column (items: its key JSON re-encoded),
	 * and an entry the copy replaces */
	d = copy_each_way(master,
			    "INSERT INTO hubsync_names(kind, name, pkcol) VALUES"
			    "(1, 'dave', NULL), (0, 'extra', 'k'), (1, 'bob', NULL),"
			    "(0, 'pairs', NULL), (0, 'nums', 'n'), (1, 'alice', NULL),"
			    "(0, 'items', 'other');"
			    "INSERT INTO hubsync_history VALUES(2, 2, 'old', NULL, 0,"
			    " NULL, 0, NULL)");
	/* seq 1: items (id 7 here) by alice (id 6), its key JSON as text */
	assert_non_null(strstr(d, "1 7 'item-1' '{\"id\":\"item-1\"}' 0 6"
				  " 1796058239548 NULL\n"));
	/* seq 3: nums has the master's key column: the short form kept */
	assert_non_null(strstr(d, "\n3 5 '42' 1 0 6 "));
	free(d);
	/* the same key columns, other ids; a replica with only some names */
	free(copy_each_way(master, "INSERT INTO hubsync_names(kind, name, pkcol)"
				     " VALUES(0, 'nums', 'n'), (1, 'carol', NULL),"
				     " (0, 'items', 'id')"));
	sqlite3_close(master);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_copy_and_upgrade),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_stored_copy),
		cmocka_unit_test(test_set_copy_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
