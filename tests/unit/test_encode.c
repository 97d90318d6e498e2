/*
 * test_encode.c - the master's row metadata encodings (encode.c): the
 * compact clocks (master format 2) and the fixed ones (format 1, the
 * PostgreSQL store) round-trip, a reader takes both, a blob shorter than
 * the table (a column added later) reads as zero clocks, and malformed
 * compact blobs are refused. A key blob's values come back one by one
 * through the SQL function hubsync_pk (the file master's feed joins by it),
 * each as its own type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"
#include "util.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A row's versions as merges leave them: columns mostly the row's own,
 * some set later, some by nobody, runs of equal clocks. */
static void random_meta(hs_row_meta *rm, int ncols)
{
	assert_int_equal(hs_row_meta_init(rm, ncols), 0);
	rm->found = 1;
	rm->alive = (int)(next() & 1);
	rm->seq = (int64_t)(next() % 1000000) + 1000;
	rm->vseq = rm->seq - (int64_t)(next() % 1000);
	rm->hlc = (int64_t)((next() >> 8) | 1);
	rm->site = (int)(next() % 300);
	for (int i = 0; i < ncols; i++) {
		hs_col_clock *c = &rm->cols[i];
		switch (next() % 5) {
		case 0: /* the row's own */
			c->hlc = rm->hlc;
			c->site = rm->site;
			c->vseq = rm->vseq;
			c->seq = rm->seq;
			break;
		case 1: /* set by nobody */
			memset(c, 0, sizeof(*c));
			c->seq = rm->vseq;
			break;
		case 2: /* as the column before */
			if (i) {
				*c = c[-1];
				break;
			}
			/* fall through */
		default: /* set by another write */
			c->hlc = (int64_t)(next() >> 1);
			c->site = (int)(next() % 70000);
			c->seq = rm->seq - (int64_t)(next() % 5000);
			c->vseq = c->seq - (int64_t)(next() % 100);
			break;
		}
	}
}

/* back for ncols columns, with rm's row-level register (what a reader
 * has before the clocks). */
static void like_row(hs_row_meta *back, const hs_row_meta *rm, int ncols)
{
	assert_int_equal(hs_row_meta_init(back, ncols), 0);
	back->hlc = rm->hlc;
	back->site = rm->site;
	back->vseq = rm->vseq;
	back->seq = rm->seq;
}

static void check_round_trip(int compact)
{
	hs_buf b;
	hs_buf_init(&b);
	for (int trial = 0; trial < 2000; trial++) {
		hs_row_meta rm, back;
		int ncols = 1 + (int)(next() % 40);
		random_meta(&rm, ncols);
		if (compact)
			hs_clocks_encode_compact(&rm, &b);
		else
			hs_clocks_encode(&rm, &b);
		assert_false(b.oom);
		like_row(&back, &rm, ncols);
		assert_int_equal(hs_clocks_decode((const unsigned char *)b.s,
						  (int)b.len, &back), 0);
		assert_memory_equal(back.cols, rm.cols,
				    (size_t)ncols * sizeof(hs_col_clock));
		if (!compact)
			assert_int_equal(b.len, (size_t)ncols * HS_CLOCK_BYTES);
		hs_row_meta_clear(&rm);
		hs_row_meta_clear(&back);
	}
	hs_buf_free(&b);
}

static void test_compact_round_trip(void **state)
{
	(void)state;
	check_round_trip(1);
}

static void test_fixed_round_trip(void **state)
{
	(void)state;
	check_round_trip(0);
}

/* A row written once: one byte a column (after the marker). */
static void test_compact_size(void **state)
{
	hs_row_meta rm;
	hs_buf b;
	(void)state;
	hs_buf_init(&b);
	assert_int_equal(hs_row_meta_init(&rm, 7), 0);
	rm.hlc = 0x0123456789abcdLL << 8;
	rm.site = 3;
	rm.seq = rm.vseq = 123456;
	for (int i = 0; i < 7; i++)
		rm.cols[i] = (hs_col_clock){rm.hlc, rm.site, rm.vseq, rm.seq};
	hs_clocks_encode_compact(&rm, &b);
	assert_int_equal(b.len, 1 + 7);
	hs_row_meta_clear(&rm);
	hs_buf_free(&b);
}

/* A column added to the table after the row was written: zero clocks. */
static void test_short_blob(void **state)
{
	hs_row_meta rm, wide;
	hs_buf b;
	(void)state;
	hs_buf_init(&b);
	for (int compact = 0; compact < 2; compact++) {
		random_meta(&rm, 3);
		if (compact)
			hs_clocks_encode_compact(&rm, &b);
		else
			hs_clocks_encode(&rm, &b);
		like_row(&wide, &rm, 5);
		assert_int_equal(hs_clocks_decode((const unsigned char *)b.s,
						  (int)b.len, &wide), 0);
		assert_memory_equal(wide.cols, rm.cols, 3 * sizeof(hs_col_clock));
		for (int i = 3; i < 5; i++) {
			assert_int_equal(wide.cols[i].hlc, 0);
			assert_int_equal(wide.cols[i].seq, 0);
		}
		hs_row_meta_clear(&rm);
		hs_row_meta_clear(&wide);
	}
	hs_buf_free(&b);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *p;
		int n;
	} bad[] = {
		{"\x81\x01", 2},         /* "as the column before" first */
		{"\x81\x02", 2},         /* hlc announced, missing */
		{"\x81\x02\x80", 3},     /* a varint cut short */
		{"\x81\x20", 2},         /* an unknown flag */
		{"\x81\x00\x03", 3},     /* 0x01 with another flag */
		{"\x81\x00\x00\x00\x00", 5}, /* more columns than the table */
	};
	hs_row_meta rm;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(hs_row_meta_init(&rm, 3), 0);
		rm.hlc = 5;
		rm.seq = 9;
		assert_int_equal(hs_clocks_decode((const unsigned char *)bad[i].p,
						  bad[i].n, &rm), -1);
		for (int c = 0; c < 3; c++)
			assert_int_equal(rm.cols[c].hlc, 0);
		hs_row_meta_clear(&rm);
	}
}

static void test_pk_sql(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *q, *one;
	hs_buf key;
	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(hs_pk_register(db), SQLITE_OK);
	/* a key of every type, made by SQLite itself */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT -7, 2.5, 'a''b', x'00ff',"
					    " NULL", -1, &one, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(one), SQLITE_ROW);
	sqlite3_value *pk[5];
	for (int i = 0; i < 5; i++)
		pk[i] = sqlite3_column_value(one, i);
	hs_buf_init(&key);
	hs_pk_encode(pk, 5, &key);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hubsync_pk(?1, ?2),"
					    " typeof(hubsync_pk(?1, ?2)),"
					    " hubsync_pk(?1, ?2) IS ?3", -1, &q, NULL),
			 SQLITE_OK);
	static const char *const types[] = {"integer", "real", "text", "blob",
					    "null", "null"};
	for (int k = 0; k < 6; k++) {
		sqlite3_bind_blob(q, 1, key.s, (int)key.len, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, k);
		if (k < 5)
			sqlite3_bind_value(q, 3, pk[k]);
		else
			sqlite3_bind_null(q, 3);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 1), types[k]);
		assert_int_equal(sqlite3_column_int(q, 2), 1); /* the same value */
		sqlite3_reset(q);
	}
	/* a malformed blob (a text cut short) gives NULL */
	sqlite3_bind_blob(q, 1, key.s, 20, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, 2);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(q, 0), SQLITE_NULL);
	sqlite3_finalize(q);
	sqlite3_finalize(one);
	hs_buf_free(&key);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_round_trip),
		cmocka_unit_test(test_fixed_round_trip),
		cmocka_unit_test(test_compact_size),
		cmocka_unit_test(test_short_blob),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_pk_sql),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
