/*
 * test_wire.c - the sync protocol's frames (src/lib/wire.c) and the token
 * hash (src/lib/sha256.c): values keep their exact type through a round
 * trip, rows and row sets come back as sent, and a stream that is cut
 * short, damaged, of another version or hostile is refused with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sha256.h"
#include "wire.h"

typedef struct mem {
	hs_buf b;
	size_t pos;
} mem;

static int mem_write(void *ctx, const void *p, size_t n)
{
	hs_buf_putn(&((mem *)ctx)->b, p, n);
	return 0;
}

static long mem_read(void *ctx, void *p, size_t n)
{
	mem *m = ctx;
	size_t left = m->b.len - m->pos;
	if (n > left)
		n = left;
	if (n > 7) /* small pieces: the reader must cope with any split */
		n = 7;
	memcpy(p, m->b.s + m->pos, n);
	m->pos += n;
	return (long)n;
}

static sqlite3 *db;
static sqlite3_stmt *select1;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(hs_select1_prepare(db, &select1), SQLITE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_finalize(select1);
	sqlite3_close(db);
	return 0;
}

static sqlite3_value *val(const char *sql)
{
	sqlite3_stmt *st;
	sqlite3_value *v;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_value_dup(sqlite3_column_value(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void test_values_round_trip(void **state)
{
	static const char *lits[] = {"SELECT 1", "SELECT 1.0", "SELECT '1'",
				     "SELECT x'31'", "SELECT NULL",
				     "SELECT -9223372036854775808",
				     "SELECT 9223372036854775807", "SELECT ''",
				     "SELECT x''", "SELECT 'caf\xc3\xa9'",
				     "SELECT 1e308", "SELECT -0.5"};
	enum { N = sizeof(lits) / sizeof(*lits) };
	sqlite3_value *v[N];
	mem m = {{0}, 0};
	hs_wire_out w;
	hs_wire_in in;
	(void)state;
	hs_buf_init(&m.b);
	assert_int_equal(hs_wire_out_init(&w, mem_write, &m, 3), 0);
	hs_wire_frame(&w, 'A');
	for (int i = 0; i < N; i++) {
		v[i] = val(lits[i]);
		hs_wire_put_value(&w, v[i]);
	}
	hs_wire_put_uint(&w, UINT64_MAX);
	hs_wire_put_int(&w, INT64_MIN);
	hs_wire_put_text(&w, NULL);
	hs_wire_put_text(&w, "x");
	assert_int_equal(hs_wire_end(&w), 0);
	assert_int_equal(hs_wire_out_finish(&w), 0);
	hs_wire_out_free(&w);

	assert_int_equal(hs_wire_in_init(&in, mem_read, &m, select1), 0);
	assert_int_equal(hs_wire_next(&in), 'A');
	for (int i = 0; i < N; i++) {
		sqlite3_value *got = hs_wire_get_value(&in);
		assert_non_null(got);
		assert_true(hs_value_same(got, v[i]));
		sqlite3_value_free(got);
		sqlite3_value_free(v[i]);
	}
	assert_true(hs_wire_get_uint(&in) == UINT64_MAX);
	assert_true(hs_wire_get_int(&in) == INT64_MIN);
	assert_null(hs_wire_get_text(&in));
	char *x = hs_wire_get_text(&in);
	assert_string_equal(x, "x");
	free(x);
	assert_int_equal(hs_wire_next(&in), 0); /* END */
	assert_int_equal(in.err, 0);
	hs_wire_in_free(&in);
	hs_buf_free(&m.b);
}

/* A stream of one push row, one pulled row and a row set. */
static void make_rows(mem *m)
{
	hs_changeset cs = {0};
	hs_rowchange *rc = hs_changeset_add(&cs, 2, 3);
	hs_rowset rs = {0};
	hs_wire_out w;
	rc->pk[0] = val("SELECT 7");
	rc->alive = rc->inserted = rc->stamped = 1;
	rc->row_hlc = 123456789;
	rc->last_id = 42;
	rc->changed[1] = 1;
	rc->hlc[1] = -5;
	rc->base[1] = 9;
	rc->vals[0] = val("SELECT 7");
	rc->vals[1] = val("SELECT 'seven'");
	rc->vals[2] = val("SELECT NULL");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT 1, 'a' UNION ALL SELECT 2.5, NULL", -1,
			   &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		hs_rowset_add(&rs, st);
	sqlite3_finalize(st);
	hs_buf_init(&m->b);
	m->pos = 0;
	assert_int_equal(hs_wire_out_init(&w, mem_write, m, 1), 0);
	hs_wire_frame(&w, HS_F_PUSHROW);
	hs_wire_put_pushrow(&w, rc, 1);
	hs_wire_end(&w);
	rc->foreign = 1;
	hs_wire_frame(&w, HS_F_PULLROW);
	hs_wire_put_pullrow(&w, rc, 1);
	hs_wire_end(&w);
	hs_wire_frame(&w, HS_F_SITES);
	hs_wire_put_rowset(&w, &rs);
	hs_wire_end(&w);
	assert_int_equal(hs_wire_out_finish(&w), 0);
	hs_wire_out_free(&w);
	hs_changeset_clear(&cs);
	hs_rowset_clear(&rs);
}

static void test_rows_round_trip(void **state)
{
	mem m;
	hs_wire_in in;
	hs_changeset cs = {0};
	hs_rowset rs = {0};
	int npk;
	(void)state;
	make_rows(&m);
	assert_int_equal(hs_wire_in_init(&in, mem_read, &m, select1), 0);
	assert_int_equal(hs_wire_next(&in), HS_F_PUSHROW);
	assert_int_equal(hs_wire_get_pushrow(&in, &cs, &npk), 0);
	hs_rowchange *rc = &cs.rows[0];
	assert_int_equal(npk, 1);
	assert_int_equal(rc->table, 2);
	assert_int_equal(rc->ncols, 3);
	assert_true(rc->alive && rc->inserted && rc->stamped && !rc->born);
	assert_true(rc->row_hlc == 123456789 && rc->last_id == 42);
	assert_true(!rc->changed[0] && rc->changed[1] && !rc->changed[2]);
	assert_true(rc->hlc[1] == -5 && rc->base[1] == 9);
	assert_string_equal((const char *)sqlite3_value_text(rc->vals[1]), "seven");
	assert_int_equal(sqlite3_value_type(rc->vals[2]), SQLITE_NULL);
	assert_int_equal(sqlite3_value_int(rc->pk[0]), 7);
	assert_int_equal(hs_wire_next(&in), HS_F_PULLROW);
	assert_int_equal(hs_wire_get_pullrow(&in, &cs, &npk), 0);
	assert_true(cs.rows[1].foreign && cs.rows[1].changed[1]);
	assert_int_equal(hs_wire_next(&in), HS_F_SITES);
	assert_int_equal(hs_wire_get_rowset(&in, &rs), 0);
	assert_int_equal((int)rs.n, 2);
	assert_int_equal(rs.ncols, 2);
	assert_int_equal(sqlite3_value_type(rs.v[2]), SQLITE_FLOAT);
	assert_int_equal(sqlite3_value_type(rs.v[3]), SQLITE_NULL);
	assert_int_equal(hs_wire_next(&in), 0);
	hs_wire_in_free(&in);
	hs_changeset_clear(&cs);
	hs_rowset_clear(&rs);
	hs_buf_free(&m.b);
}

/* Read every frame of m: the last hs_wire_next result. */
static int read_all(mem *m, char *msg, size_t n)
{
	hs_wire_in in;
	int t;
	m->pos = 0;
	if (hs_wire_in_init(&in, mem_read, m, select1) != 0)
		t = -1;
	else
		while ((t = hs_wire_next(&in)) > 0)
			;
	snprintf(msg, n, "%s", in.msg);
	hs_wire_in_free(&in);
	return t;
}

static void test_damaged_streams(void **state)
{
	mem m;
	char msg[200];
	(void)state;
	make_rows(&m);
	assert_int_equal(read_all(&m, msg, sizeof msg), 0);
	/* cut short anywhere: refused, never taken for a whole stream */
	size_t len = m.b.len;
	for (size_t cut = 0; cut < len; cut++) {
		m.b.len = cut;
		assert_int_equal(read_all(&m, msg, sizeof msg), -1);
		assert_true(msg[0] != 0);
	}
	m.b.len = len;
	/* another version names itself */
	m.b.s[3] = '2';
	assert_int_equal(read_all(&m, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "version 2"));
	m.b.s[3] = '1';
	/* a flipped byte of the compressed data fails the checksum */
	m.b.s[len - 2] ^= 0x40;
	assert_int_equal(read_all(&m, msg, sizeof msg), -1);
	hs_buf_free(&m.b);
}

static void test_hostile_counts(void **state)
{
	mem m = {{0}, 0};
	hs_wire_out w;
	hs_wire_in in;
	hs_changeset cs = {0};
	hs_rowset rs = {0};
	int npk;
	(void)state;
	hs_buf_init(&m.b);
	hs_wire_out_init(&w, mem_write, &m, 1);
	/* a row set claiming 2^40 rows in a 10-byte frame */
	hs_wire_frame(&w, HS_F_SITES);
	hs_wire_put_uint(&w, 3);
	hs_wire_put_uint(&w, (uint64_t)1 << 40);
	hs_wire_end(&w);
	/* a push row with a key wider than its table and a column out of range */
	hs_wire_frame(&w, HS_F_PUSHROW);
	hs_wire_put_uint(&w, 0);
	hs_wire_put_uint(&w, 9);
	hs_wire_put_uint(&w, 2);
	hs_wire_end(&w);
	hs_wire_out_finish(&w);
	hs_wire_out_free(&w);
	assert_int_equal(hs_wire_in_init(&in, mem_read, &m, select1), 0);
	assert_int_equal(hs_wire_next(&in), HS_F_SITES);
	assert_int_equal(hs_wire_get_rowset(&in, &rs), -1);
	assert_int_equal((int)rs.n, 0);
	hs_wire_in_free(&in);
	m.pos = 0;
	assert_int_equal(hs_wire_in_init(&in, mem_read, &m, select1), 0);
	hs_wire_next(&in);
	assert_int_equal(hs_wire_next(&in), HS_F_PUSHROW);
	assert_int_equal(hs_wire_get_pushrow(&in, &cs, &npk), -1);
	assert_int_equal((int)cs.n, 0);
	hs_wire_in_free(&in);
	hs_changeset_clear(&cs);
	hs_buf_free(&m.b);
}

static void test_sha256(void **state)
{
	char out[65];
	(void)state;
	hs_sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hs_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 56 bytes: the length needs a second padding block */
	hs_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_round_trip),
		cmocka_unit_test(test_rows_round_trip),
		cmocka_unit_test(test_damaged_streams),
		cmocka_unit_test(test_hostile_counts),
		cmocka_unit_test(test_sha256),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
