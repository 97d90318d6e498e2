/*
 * test_error.c - the library's one error channel (error.c): SQLite result
 * codes, extended ones included, map to hs_error codes in one place;
 * hs_err_sqlite words a real SQLite failure and returns its code; the
 * HTTP status of each code; a message handed to a public char **errmsg;
 * hs_table_load (once "-1 and a message") returns the code of the failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "platform.h"
#include "schema.h"

static void test_from_sqlite(void **state)
{
	(void)state;
	assert_int_equal(hs_error_from_sqlite(SQLITE_OK), HS_OK);
	assert_int_equal(hs_error_from_sqlite(SQLITE_BUSY), HS_EBUSY);
	assert_int_equal(hs_error_from_sqlite(SQLITE_BUSY_SNAPSHOT), HS_EBUSY);
	assert_int_equal(hs_error_from_sqlite(SQLITE_LOCKED), HS_EBUSY);
	assert_int_equal(hs_error_from_sqlite(SQLITE_CORRUPT), HS_ECORRUPT);
	assert_int_equal(hs_error_from_sqlite(SQLITE_CORRUPT_VTAB), HS_ECORRUPT);
	assert_int_equal(hs_error_from_sqlite(SQLITE_NOTADB), HS_ECORRUPT);
	assert_int_equal(hs_error_from_sqlite(SQLITE_IOERR), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_IOERR_FSYNC), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_FULL), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_CANTOPEN), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_READONLY), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_READONLY_DBMOVED), HS_EIO);
	assert_int_equal(hs_error_from_sqlite(SQLITE_CONSTRAINT), HS_ERROR);
	assert_int_equal(hs_error_from_sqlite(SQLITE_CONSTRAINT_UNIQUE), HS_ERROR);
	assert_int_equal(hs_error_from_sqlite(SQLITE_NOMEM), HS_ERROR);
	assert_int_equal(hs_error_from_sqlite(SQLITE_ERROR), HS_ERROR);
	assert_int_equal(hs_error_from_sqlite(SQLITE_MISUSE), HS_ERROR);
}

/* A real failure: a file that is not a database, read through SQLite. */
static void test_err_sqlite_real(void **state)
{
	const char *base = getenv("TMPDIR");
	char dir[512], path[600];
	FILE *f;
	sqlite3 *db = NULL;
	hs_buf err;
	(void)state;
	snprintf(dir, sizeof dir, "%s/hs_test_error_XXXXXX",
		 base && *base ? base : "/tmp");
	assert_non_null(hs_os_make_temp_folder(dir));
	snprintf(path, sizeof path, "%s/junk.db", dir);
	assert_non_null(f = fopen(path, "wb"));
	for (int i = 0; i < 64; i++)
		assert_int_equal(fputs("not a database, just text ", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int sr = sqlite3_exec(db, "SELECT * FROM sqlite_master", NULL, NULL, NULL);
	assert_int_equal(sr, SQLITE_NOTADB);
	hs_buf_init(&err);
	assert_int_equal(hs_err_sqlite(&err, db, sr, "cannot read the master"),
			 HS_ECORRUPT);
	assert_string_equal(err.s, "cannot read the master: file is not a database");
	hs_buf_free(&err);
	sqlite3_close(db);
	assert_int_equal(hs_os_remove_tree(dir), 0);

	/* no connection: the code's own text; SQLITE_OK is still a failure */
	hs_buf_init(&err);
	assert_int_equal(hs_err_sqlite(&err, NULL, SQLITE_FULL, "writing"), HS_EIO);
	assert_string_equal(err.s, "writing: database or disk is full");
	hs_buf_reset(&err);
	assert_int_equal(hs_err_sqlite(&err, NULL, SQLITE_OK, "odd"), HS_ERROR);
	hs_buf_free(&err);
}

static void test_http_status(void **state)
{
	(void)state;
	assert_int_equal(hs_error_http_status(HS_OK), 200);
	assert_int_equal(hs_error_http_status(HS_EINVALID), 400);
	assert_int_equal(hs_error_http_status(HS_ENOTFOUND), 404);
	assert_int_equal(hs_error_http_status(HS_ECONFLICT), 409);
	assert_int_equal(hs_error_http_status(HS_ECORRUPT), 422);
	assert_int_equal(hs_error_http_status(HS_EBUSY), 423);
	assert_int_equal(hs_error_http_status(HS_EIO), 503);
	assert_int_equal(hs_error_http_status(HS_ERROR), 500);
	assert_int_equal(hs_error_http_status(-99), 500);
}

static void test_errf_and_out(void **state)
{
	hs_buf err;
	char *msg = (char *)"untouched";
	(void)state;
	hs_buf_init(&err);
	assert_int_equal(hs_errf(&err, HS_EINVALID, "no table \"%s\"", "x"),
			 HS_EINVALID);
	assert_int_equal(hs_err_out(&err, HS_EINVALID, &msg, "failed"),
			 HS_EINVALID);
	assert_string_equal(msg, "no table \"x\"");
	assert_null(err.s); /* freed */
	free(msg);
	/* no message written: the fallback; success: NULL */
	assert_int_equal(hs_err_out(&err, HS_EIO, &msg, "failed"), HS_EIO);
	assert_string_equal(msg, "failed");
	free(msg);
	assert_int_equal(hs_err_out(&err, HS_OK, &msg, "failed"), HS_OK);
	assert_null(msg);
	assert_int_equal(hs_err_out(&err, HS_EIO, NULL, "failed"), HS_EIO);
}

/* hs_table_load: a table hubsync cannot sync is HS_EINVALID, a schema
 * that cannot be read is the SQLite failure's code; the message says so. */
static void test_table_load_codes(void **state)
{
	sqlite3 *db = NULL;
	hs_table t;
	hs_buf err;
	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE nokey(a, b);"
				      "CREATE TABLE ok(id INTEGER PRIMARY KEY, v);",
				      NULL, NULL, NULL), SQLITE_OK);
	hs_buf_init(&err);
	assert_int_equal(hs_table_load(db, "ok", &t, &err), HS_OK);
	assert_int_equal(t.ncols, 2);
	assert_int_equal(t.intpk, 1);
	hs_table_clear(&t);
	assert_int_equal(hs_table_load(db, "missing", &t, &err), HS_EINVALID);
	assert_non_null(strstr(err.s, "no table \"missing\" in the database"));
	hs_buf_reset(&err);
	assert_int_equal(hs_table_load(db, "nokey", &t, &err), HS_EINVALID);
	assert_non_null(strstr(err.s, "table \"nokey\" has no primary key"));
	hs_buf_reset(&err);
	/* the schema cannot be read: a connection that another holds locked */
	sqlite3 *other = NULL;
	char name[] = "file:hs_test_error_lock?mode=memory&cache=shared";
	assert_int_equal(sqlite3_open_v2(name, &other, SQLITE_OPEN_READWRITE |
					 SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL),
			 SQLITE_OK);
	sqlite3 *locked = NULL;
	assert_int_equal(sqlite3_open_v2(name, &locked, SQLITE_OPEN_READWRITE |
					 SQLITE_OPEN_URI, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "CREATE TABLE x(id INTEGER PRIMARY "
				      "KEY); BEGIN EXCLUSIVE; INSERT INTO x "
				      "VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(hs_table_load(locked, "x", &t, &err), HS_EBUSY);
	assert_non_null(strstr(err.s, "cannot read the columns of table \"x\""));
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	hs_buf_reset(&err);
	assert_int_equal(hs_table_load(locked, "x", &t, &err), HS_OK);
	hs_table_clear(&t);
	sqlite3_close(locked);
	sqlite3_close(other);
	hs_buf_free(&err);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_sqlite),
		cmocka_unit_test(test_err_sqlite_real),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_errf_and_out),
		cmocka_unit_test(test_table_load_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
