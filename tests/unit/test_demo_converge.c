/*
 * test_demo_converge.c - the demo's convergence check (src/demo/converge.c):
 * it must say "identical" only when every row and value is, so that the
 * demo's "all 6 databases identical: yes" means something.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "converge.h"

#define NDB 3

static const char *const names[NDB] = { "master", "alice", "bob" };

/* Three in-memory databases with the same two rows in t(k, v, synced_at). */
static void open_dbs(sqlite3 *dbs[NDB])
{
	int i;

	for (i = 0; i < NDB; i++) {
		assert_int_equal(sqlite3_open(":memory:", &dbs[i]), SQLITE_OK);
		assert_int_equal(sqlite3_exec(dbs[i],
			"CREATE TABLE t (k TEXT PRIMARY KEY, v, synced_at TEXT);"
			"INSERT INTO t VALUES ('b', 2, 'x'), ('a', 'one', 'y');",
			NULL, NULL, NULL), SQLITE_OK);
	}
}

static void close_dbs(sqlite3 *dbs[NDB])
{
	int i;

	for (i = 0; i < NDB; i++)
		sqlite3_close(dbs[i]);
}

/* Run sql on dbs[which], then compare table t; returns the result. */
static int compare_after(int which, const char *sql, char *why, size_t len)
{
	sqlite3 *dbs[NDB];
	int64_t rows = -1;
	int rc;

	open_dbs(dbs);
	if (sql)
		assert_int_equal(sqlite3_exec(dbs[which], sql, NULL, NULL, NULL),
				 SQLITE_OK);
	why[0] = '\0';
	rc = hs_converge_table(dbs, names, NDB, "t", &rows, why, len);
	if (rc == 0)
		assert_int_equal(rows, 2);
	close_dbs(dbs);
	return rc;
}

static void test_identical(void **state)
{
	char why[256];

	assert_int_equal(compare_after(0, NULL, why, sizeof(why)), 0);
	/* synced_at is local: it may differ. */
	assert_int_equal(compare_after(2, "UPDATE t SET synced_at = 'z'", why,
				       sizeof(why)), 0);
}

static void test_value_differs(void **state)
{
	char why[256];

	assert_int_equal(compare_after(2, "UPDATE t SET v = 3 WHERE k = 'b'",
				       why, sizeof(why)), 1);
	assert_non_null(strstr(why, "column v is 2 in master but 3 in bob"));
}

static void test_type_differs(void **state)
{
	char why[256];

	/* 2 and 2.0 compare equal in SQL but are not the same stored value. */
	assert_int_equal(compare_after(1, "UPDATE t SET v = 2.0 WHERE k = 'b'",
				       why, sizeof(why)), 1);
	assert_non_null(strstr(why, "alice"));
	assert_int_equal(compare_after(1, "UPDATE t SET v = '2' WHERE k = 'b'",
				       why, sizeof(why)), 1);
}

static void test_rows_differ(void **state)
{
	char why[256];

	assert_int_equal(compare_after(1, "DELETE FROM t WHERE k = 'b'", why,
				       sizeof(why)), 1);
	assert_non_null(strstr(why, "alice has fewer rows"));
	assert_int_equal(compare_after(2, "INSERT INTO t VALUES ('c', 0, '')",
				       why, sizeof(why)), 1);
	assert_non_null(strstr(why, "bob has more rows"));
	/* Same count, other key. */
	assert_int_equal(compare_after(2, "UPDATE t SET k = 'c' WHERE k = 'a'",
				       why, sizeof(why)), 1);
}

static void test_schema_differs(void **state)
{
	char why[256];

	assert_int_equal(compare_after(1, "ALTER TABLE t DROP COLUMN v", why,
				       sizeof(why)), 1);
	assert_non_null(strstr(why, "alice"));
	assert_int_equal(compare_after(0, "DROP TABLE t", why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "no such table"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_value_differs),
		cmocka_unit_test(test_type_differs),
		cmocka_unit_test(test_rows_differ),
		cmocka_unit_test(test_schema_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
