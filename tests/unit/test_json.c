/*
 * test_json.c - json.c: the key's JSON written without jansson
 * (hs_json_pk_text, the audit trail's) is byte for byte what jansson
 * writes, for keys it takes and keys it hands to jansson (too long ones
 * among them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

/* Compare both ways for the key values of SQL expression expr (one row,
 * npk columns) in a table whose key columns are named cols. */
static void same_json(sqlite3 *db, const char *expr, const char *const *cols,
		      int npk)
{
	char sql[300];
	sqlite3_stmt *q;
	hs_table t;
	sqlite3_value *pk[HS_MAX_PK];
	memset(&t, 0, sizeof(t));
	t.name = "t";
	t.cols = (char **)cols;
	t.ncols = t.npk = npk;
	for (int k = 0; k < npk; k++)
		t.pk[k] = k;
	snprintf(sql, sizeof sql, "SELECT %s", expr);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	for (int k = 0; k < npk; k++)
		pk[k] = sqlite3_column_value(q, k);
	char *fast = hs_json_pk_text(&t, pk);
	char *slow = hs_json_dump(hs_json_pk(&t, pk));
	assert_non_null(fast);
	assert_non_null(slow);
	assert_string_equal(fast, slow);
	free(fast);
	free(slow);
	sqlite3_finalize(q);
}

static void test_pk_text(void **state)
{
	static const char *const id[] = {"id"}, *const odd[] = {"k\"e\\y/"},
				*const utf[] = {"cl\xc3\xa9"},
				*const two[] = {"a", "b"};
	static const char *const values[] = {
		"0", "-5", "9223372036854775807", "-9223372036854775808",
		"'item-000000001'", "''", "'a\"b'", "'a\\b'", "'a/b'",
		"'tab' || char(9)", "char(127)", "'caf\xc3\xa9'", "1.5", "x'00ff'",
		"NULL", "' lead and trail '", "'~!@#$%^&*()_+{}|:<>?'",
		/* long ones, around the length the fast way takes */
		"substr(hex(zeroblob(100)), 1, 151)",
		"substr(hex(zeroblob(100)), 1, 152)",
		"hex(zeroblob(100))"};
	sqlite3 *db;
	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		char two_values[120];
		same_json(db, values[i], id, 1);
		same_json(db, values[i], odd, 1);
		same_json(db, values[i], utf, 1);
		snprintf(two_values, sizeof two_values, "%s, %s", values[i], values[i]);
		same_json(db, two_values, two, 2);
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pk_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
