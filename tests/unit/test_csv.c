/*
 * test_csv.c - the demo's CSV reader, money parser and catalog loader
 * (src/demo/csv.c, src/demo/catalog.c), including the real embedded
 * component catalog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "app.h"
#include "catalog.h"
#include "csv.h"
#include "platform.h"
#include "hubsync.h"

/*
 * Parse buf[0..len) completely and render it as one string: fields joined
 * by '|', records ended by ';', quotes as read (so "a|b;c;" is two records).
 * Returns the last hs_csv_next result (0 at a clean end, < 0 on error);
 * the error message goes to msg when not NULL.
 */
static int parse_render(const char *buf, size_t len, char *out, size_t outlen,
			char *msg, size_t msglen)
{
	hs_csv *csv;
	size_t o = 0, i;
	int rc;

	assert_int_equal(hs_csv_new(&csv, buf, len), 0);
	out[0] = '\0';
	while ((rc = hs_csv_next(csv)) == 1) {
		for (i = 0; i < hs_csv_nfields(csv); i++) {
			size_t flen;
			const char *f = hs_csv_field(csv, i, &flen);

			assert_true(o + flen + 2 < outlen);
			memcpy(out + o, f, flen);
			o += flen;
			out[o++] = i + 1 < hs_csv_nfields(csv) ? '|' : ';';
		}
		out[o] = '\0';
	}
	if (msg)
		snprintf(msg, msglen, "%s", hs_csv_errmsg(csv));
	hs_csv_free(csv);
	return rc;
}

static void check_parse(const char *in, const char *want)
{
	char got[512];

	assert_int_equal(parse_render(in, strlen(in), got, sizeof(got), NULL,
				      0), 0);
	assert_string_equal(got, want);
}

static void test_simple(void **state)
{
	check_parse("a,b,c\n1,2,3\n", "a|b|c;1|2|3;");
	check_parse("", "");
	check_parse("x", "x;");
}

static void test_missing_final_newline(void **state)
{
	check_parse("a,b\n1,2", "a|b;1|2;");
}

static void test_final_newline_adds_no_record(void **state)
{
	check_parse("a\n", "a;");
	check_parse("a\r\n", "a;");
}

static void test_crlf_and_cr(void **state)
{
	check_parse("a,b\r\n1,2\r\n", "a|b;1|2;");
	check_parse("a,b\r1,2\r", "a|b;1|2;");
	check_parse("a\r\nb\nc\rd", "a;b;c;d;");
}

static void test_empty_fields(void **state)
{
	check_parse(",,\n", "||;");
	check_parse("a,,b\n", "a||b;");
	check_parse("a,b,\n", "a|b|;");     /* trailing comma */
	check_parse("a,b,", "a|b|;");       /* and no final newline */
	check_parse("\"\",x\n", "|x;");     /* quoted empty */
	check_parse("a\n\nb\n", "a;;b;");   /* blank line: one empty field */
}

static void test_quoted_comma_and_quotes(void **state)
{
	check_parse("\"a,b\",c\n", "a,b|c;");
	check_parse("\"say \"\"hi\"\"\",x\n", "say \"hi\"|x;");
	check_parse("\"\"\"\"\n", "\";");
	check_parse("10.47\"x8.69\",b\n", "10.47\"x8.69\"|b;"); /* bare quote */
}

static void test_newline_in_quotes(void **state)
{
	hs_csv *csv;
	const char *in = "id,text\n1,\"line one\nline two\r\nthree\"\n2,x\n";
	size_t len;

	assert_int_equal(hs_csv_new(&csv, in, strlen(in)), 0);
	assert_int_equal(hs_csv_next(csv), 1);
	assert_int_equal(hs_csv_line(csv), 1);
	assert_int_equal(hs_csv_next(csv), 1);
	assert_int_equal(hs_csv_line(csv), 2);
	assert_string_equal(hs_csv_field(csv, 1, &len),
			    "line one\nline two\r\nthree");
	assert_int_equal(len, strlen("line one\nline two\r\nthree"));
	assert_int_equal(hs_csv_next(csv), 1);
	assert_int_equal(hs_csv_line(csv), 5); /* lines 2-4 were record 2 */
	assert_string_equal(hs_csv_field(csv, 1, NULL), "x");
	assert_int_equal(hs_csv_next(csv), 0);
	assert_int_equal(hs_csv_next(csv), 0); /* the end stays the end */
	hs_csv_free(csv);
}

static void test_unterminated_quote(void **state)
{
	hs_csv *csv;
	const char *in = "a,b\n1,\"never\nclosed\n";

	assert_int_equal(hs_csv_new(&csv, in, strlen(in)), 0);
	assert_int_equal(hs_csv_next(csv), 1);
	assert_int_equal(hs_csv_next(csv), HS_EINVALID);
	assert_non_null(strstr(hs_csv_errmsg(csv), "never closed"));
	assert_non_null(strstr(hs_csv_errmsg(csv), "line 2"));
	/* Sticky: the reader does not resume in the middle of garbage. */
	assert_int_equal(hs_csv_next(csv), HS_EINVALID);
	hs_csv_free(csv);
}

static void test_text_after_closing_quote(void **state)
{
	char got[64], msg[256];

	assert_int_equal(parse_render("x\n\"ab\"c,d\n", 10, got, sizeof(got),
				      msg, sizeof(msg)), HS_EINVALID);
	assert_string_equal(got, "x;"); /* the good record before it */
	assert_non_null(strstr(msg, "line 2"));
	assert_non_null(strstr(msg, "'c'"));
}

static void test_explicit_length_and_nul(void **state)
{
	char got[64];
	const char in[] = "a,b\0c,d\ne,f"; /* a NUL inside field 2 */

	/* Only the first 9 bytes: "a,b\0c,d\ne" */
	assert_int_equal(parse_render(in, 9, got, sizeof(got), NULL, 0), 0);
	assert_int_equal(memcmp(got, "a|b\0c|d;e;", 10), 0);
	/* A quote cut by the length is unterminated, whatever follows. */
	assert_int_equal(parse_render("\"abc\"", 4, got, sizeof(got), NULL, 0),
			 HS_EINVALID);
}

static void test_bom_and_out_of_range(void **state)
{
	hs_csv *csv;
	const char *in = "\xEF\xBB\xBFqt,PART\n";
	size_t len = 99;

	assert_int_equal(hs_csv_new(&csv, in, strlen(in)), 0);
	assert_int_equal(hs_csv_nfields(csv), 0);
	assert_string_equal(hs_csv_field(csv, 0, &len), "");
	assert_int_equal(len, 0);
	assert_int_equal(hs_csv_next(csv), 1);
	assert_string_equal(hs_csv_field(csv, 0, NULL), "qt");
	assert_string_equal(hs_csv_field(csv, 7, &len), "");
	assert_int_equal(len, 0);
	hs_csv_free(csv);

	assert_int_equal(hs_csv_new(&csv, NULL, 5), 0); /* NULL: empty */
	assert_int_equal(hs_csv_next(csv), 0);
	hs_csv_free(csv);
	hs_csv_free(NULL);
}

/*
 * Every prefix of a tricky document, and pseudo-random byte soup, either
 * parses or fails cleanly (ASan checks the "cleanly").
 */
static void test_no_crash_on_garbage(void **state)
{
	static const char doc[] =
		"\xEF\xBB\xBF\"a\"\"\",b\r\n\"x\ny\",,\r\r\n\"\",\"z\"\"\"";
	static const char alphabet[] = "\",\r\na\0";
	char got[4096], buf[64];
	unsigned seed = 12345;
	size_t n, i;
	int iter;

	for (n = 0; n <= sizeof(doc) - 1; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */

		memcpy(copy, doc, n);
		assert_true(parse_render(copy, n, got, sizeof(got), NULL, 0) >=
			    HS_EINVALID);
		free(copy);
	}
	for (iter = 0; iter < 3000; iter++) {
		size_t len = (size_t)(iter % (int)sizeof(buf));
		char *copy;
		int rc;

		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet))];
		}
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		rc = parse_render(copy, len, got, sizeof(got), NULL, 0);
		assert_true(rc == 0 || rc == HS_EINVALID);
		free(copy);
	}
}

/* The real catalog: 1,343 data rows plus the header, 16 fields each. */
static void test_real_catalog(void **state)
{
	hs_csv *csv;
	int records = 0, with_quote = 0, rc;

	assert_int_equal(hs_csv_new(&csv, (const char *)hs_catalog_csv,
				    hs_catalog_csv_len), 0);
	while ((rc = hs_csv_next(csv)) == 1) {
		size_t i;

		assert_int_equal(hs_csv_nfields(csv), 16);
		for (i = 0; i < 16; i++)
			if (strchr(hs_csv_field(csv, i, NULL), '"'))
				with_quote++;
		if (records == 0) {
			assert_string_equal(hs_csv_field(csv, 3, NULL), "PART#");
			assert_string_equal(hs_csv_field(csv, 15, NULL),
					    "MANUAL Link");
		}
		records++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(records, 1344);
	assert_int_equal(with_quote, 205); /* inch marks like 10.47" */
	hs_csv_free(csv);
}

static void check_money(const char *s, int64_t want)
{
	int64_t cents = -1;
	char err[128] = "";

	assert_int_equal(hs_money_parse(s, strlen(s), &cents, err,
					sizeof(err)), 0);
	assert_int_equal(cents, want);
}

static void check_money_bad(const char *s, int code, const char *why)
{
	int64_t cents = 777;
	char err[160] = "";

	assert_int_equal(hs_money_parse(s, strlen(s), &cents, err,
					sizeof(err)), code);
	assert_int_equal(cents, 777); /* untouched */
	assert_non_null(strstr(err, why));
}

static void test_money(void **state)
{
	int64_t cents = 0;

	check_money("$1,234.56", 123456);
	check_money("$161.06", 16106);
	check_money("1234.5", 123450);
	check_money("$1,000,000", 100000000);
	check_money(" $0.99 ", 99);
	check_money("$.99", 99);
	check_money("-$3", -300);
	check_money("$-3.10", -310);
	check_money("0", 0);
	check_money("$92233720368547757.06", 9223372036854775706LL);
	/* Explicit length: the rest of the string is not read. */
	assert_int_equal(hs_money_parse("12.345", 5, &cents, NULL, 0), 0);
	assert_int_equal(cents, 1234);

	check_money_bad("", HS_ENOTFOUND, "empty");
	check_money_bad("  \t", HS_ENOTFOUND, "empty");
	check_money_bad("tbd", HS_EINVALID, "\"tbd\" is not an amount");
	check_money_bad("~~~~~~~", HS_EINVALID, "no digits");
	check_money_bad("$", HS_EINVALID, "no digits");
	check_money_bad("-", HS_EINVALID, "no digits");
	check_money_bad("1,23", HS_EINVALID, "misplaced ','");
	check_money_bad("1234,567", HS_EINVALID, "misplaced ','");
	check_money_bad(",123", HS_EINVALID, "misplaced ','");
	check_money_bad("1,,234", HS_EINVALID, "misplaced ','");
	check_money_bad("1.234", HS_EINVALID, "more than two decimals");
	check_money_bad("5.", HS_EINVALID, "no digits after '.'");
	check_money_bad("$1.00 USD", HS_EINVALID, "unexpected character");
	check_money_bad("--5", HS_EINVALID, "not an amount");
	check_money_bad("$99999999999999999999", HS_EINVALID, "too large");
	assert_int_equal(hs_money_parse(NULL, 0, &cents, NULL, 0),
			 HS_ENOTFOUND);
	assert_int_equal(hs_money_parse("a\0b", 3, &cents, NULL, 0),
			 HS_EINVALID);
}

/* A fresh app database in a temporary folder; removed by db_drop. */
static sqlite3 *db_fresh(char *dir, size_t dirlen, char *path, size_t plen)
{
	sqlite3 *db;
	char err[256];

	snprintf(dir, dirlen, "%s/hs_test_csv_XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(hs_os_make_temp_folder(dir));
	snprintf(path, plen, "%s/app.db", dir);
	if (hs_app_create(&db, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return db;
}

static void db_drop(sqlite3 *db, const char *dir, const char *path)
{
	sqlite3_close(db);
	unlink(path);
	rmdir(dir);
}

static char *db_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *out = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), 0);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void check_db(sqlite3 *db, const char *sql, const char *want)
{
	char *got = db_text(db, sql);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_catalog_load(void **state)
{
	char dir[256], path[300], err[256];
	hs_catalog_stats st;
	sqlite3 *db = db_fresh(dir, sizeof(dir), path, sizeof(path));

	if (hs_catalog_load(db, (const char *)hs_catalog_csv,
			    hs_catalog_csv_len, &st, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(st.rows, 1343);
	assert_int_equal(st.no_sku, 71);     /* 55 empty + 16 "~~~~" rulers */
	assert_int_equal(st.components, 1250);
	assert_int_equal(st.repeated, 22);   /* 1272 rows with a part number */
	assert_int_equal(st.price_empty, 13);
	assert_int_equal(st.price_bad, 1);   /* "tbd" */
	check_db(db, "SELECT count(*) FROM components", "1250");
	check_db(db, "SELECT printf('%.2f|%s|%s|%s', price, description, "
		 "partAbbrev, category) FROM components "
		 "WHERE sku = 'A6044CHNFSS'",
		 "161.06|6Hx4Wx4D SS JBOX|ENC|ENCLOSURE");
	/* Repeated part number: the last row is kept. */
	check_db(db, "SELECT description FROM components "
		 "WHERE sku = 'SF400PH10X10'",
		 "Shaft for use with Handle & Disconnect Above");
	check_db(db, "SELECT coalesce(price, 'NULL') FROM components "
		 "WHERE sku = 'B250+AFRB24-SR'", "NULL");
	check_db(db, "SELECT volt FROM components WHERE sku = 'B250+AFRB24-SR'",
		 "24");
	check_db(db, "SELECT typeof(amps) FROM components WHERE amps = 10.0 "
		 "LIMIT 1", "real");
	check_db(db, "SELECT count(*) FROM components WHERE description "
		 "LIKE '%\"%'", "180");
	check_db(db, "SELECT count(*) FROM components WHERE updated_at "
		 "NOT LIKE '____-__-__T__:__:__.___Z'", "0");
	db_drop(db, dir, path);
}

static void test_catalog_errors(void **state)
{
	char dir[256], path[300], err[256];
	hs_catalog_stats st;
	sqlite3 *db = db_fresh(dir, sizeof(dir), path, sizeof(path));
	static const char no_key[] = "PART,COST\nENC,$1.00\n";
	static const char broken[] = "PART#,COST\nA1,$1.00\nA2,\"$2\n";
	static const char small[] =
		"PART#,COST,description\r\nA1,\"$1,000.50\",\"x, \"\"y\"\"\"\r\n"
		"A1,$2,second\r\n,$3,no key\r\n\r\nB2,tbd,\r\n";

	assert_int_equal(hs_catalog_load(db, "", 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(hs_catalog_load(db, no_key, strlen(no_key), &st, err,
					 sizeof(err)), -1);
	assert_non_null(strstr(err, "PART#"));
	/* A syntax error names its line and writes nothing. */
	assert_int_equal(hs_catalog_load(db, broken, strlen(broken), &st, err,
					 sizeof(err)), -1);
	assert_non_null(strstr(err, "line 3"));
	check_db(db, "SELECT count(*) FROM components", "0");

	assert_int_equal(hs_catalog_load(db, small, strlen(small), &st, err,
					 sizeof(err)), 0);
	assert_int_equal(st.rows, 4); /* the blank line is no row */
	assert_int_equal(st.components, 2);
	assert_int_equal(st.repeated, 1);
	assert_int_equal(st.no_sku, 1);
	assert_int_equal(st.price_bad, 1);
	check_db(db, "SELECT group_concat(sku || '=' || coalesce(price, 'NULL')"
		 " || '/' || coalesce(description, 'NULL'), ' ') FROM "
		 "(SELECT * FROM components ORDER BY sku)",
		 "A1=2.0/second B2=NULL/NULL");
	db_drop(db, dir, path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_missing_final_newline),
		cmocka_unit_test(test_final_newline_adds_no_record),
		cmocka_unit_test(test_crlf_and_cr),
		cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_quoted_comma_and_quotes),
		cmocka_unit_test(test_newline_in_quotes),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_text_after_closing_quote),
		cmocka_unit_test(test_explicit_length_and_nul),
		cmocka_unit_test(test_bom_and_out_of_range),
		cmocka_unit_test(test_no_crash_on_garbage),
		cmocka_unit_test(test_real_catalog),
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_catalog_load),
		cmocka_unit_test(test_catalog_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
