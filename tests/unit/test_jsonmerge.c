/*
 * test_jsonmerge.c - the three-way merge of JSON values (src/lib/jsonmerge.c):
 * objects, nested objects, keyed arrays (adds, removes, changes, order),
 * deletes of members and elements, type changes, the paths conflicts name,
 * the canonical text, and setting a path (what resolve does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonmerge.h"

/* One merge of texts; the merged value's canonical text into *merged
 * (malloc'd) and the conflicts as "path:incoming|current;" (values
 * canonical, "-" for absent) into *confl (malloc'd). */
static void merge_texts(const char *base, const char *in, const char *cur,
			int incoming_wins, const char *key, char **merged,
			char **confl)
{
	json_t *b = hs_jm_parse(base, strlen(base));
	json_t *a = hs_jm_parse(in, strlen(in));
	json_t *c = hs_jm_parse(cur, strlen(cur));
	hs_jm_result r;
	char buf[4096] = "";
	assert_non_null(b);
	assert_non_null(a);
	assert_non_null(c);
	assert_int_equal(hs_jm_merge(b, a, c, incoming_wins, key, "col", &r), 0);
	*merged = r.merged ? hs_jm_canonical(r.merged) : strdup("-");
	for (size_t i = 0; i < r.nconflicts; i++) {
		char *x = r.conflicts[i].incoming
				  ? hs_jm_canonical(r.conflicts[i].incoming)
				  : strdup("-");
		char *y = r.conflicts[i].current
				  ? hs_jm_canonical(r.conflicts[i].current)
				  : strdup("-");
		size_t n = strlen(buf);
		snprintf(buf + n, sizeof buf - n, "%s:%s|%s;",
			 r.conflicts[i].path, x, y);
		free(x);
		free(y);
	}
	*confl = strdup(buf);
	hs_jm_result_clear(&r);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void expect(const char *base, const char *in, const char *cur,
		   int incoming_wins, const char *key, const char *want,
		   const char *want_conflicts)
{
	char *m, *c;
	merge_texts(base, in, cur, incoming_wins, key, &m, &c);
	assert_string_equal(m, want);
	assert_string_equal(c, want_conflicts);
	/* the merge is symmetric: swapping the sides (and who is later)
	 * gives the same value */
	char *m2, *c2;
	merge_texts(base, cur, in, !incoming_wins, key, &m2, &c2);
	assert_string_equal(m2, want);
	free(m);
	free(c);
	free(m2);
	free(c2);
}

static void test_objects(void **state)
{
	(void)state;
	/* dave sets the margin, erin the total: both kept */
	expect("{\"margin\":0.20}", "{\"margin\":0.25}",
	       "{\"margin\":0.20,\"total\":44000.00}", 0, NULL,
	       "{\"margin\":0.25,\"total\":44000.0}", "");
	/* the same member both ways: the later edit, the other listed */
	expect("{\"margin\":0.20}", "{\"margin\":0.25}", "{\"margin\":0.30}", 0,
	       NULL, "{\"margin\":0.3}", "col.margin:0.25|0.3;");
	expect("{\"margin\":0.20}", "{\"margin\":0.25}", "{\"margin\":0.30}", 1,
	       NULL, "{\"margin\":0.25}", "col.margin:0.25|0.3;");
	/* the same change on both sides is no conflict */
	expect("{\"a\":1}", "{\"a\":2,\"b\":1}", "{\"a\":2}", 0, NULL,
	       "{\"a\":2,\"b\":1}", "");
	/* unchanged on both sides */
	expect("{\"a\":1}", "{\"a\":1}", "{\"a\":1}", 0, NULL, "{\"a\":1}", "");
}

static void test_nested(void **state)
{
	(void)state;
	expect("{\"p\":{\"a\":1,\"b\":2},\"q\":1}",
	       "{\"p\":{\"a\":5,\"b\":2},\"q\":1}",
	       "{\"p\":{\"a\":1,\"b\":7},\"q\":2}", 0, NULL,
	       "{\"p\":{\"a\":5,\"b\":7},\"q\":2}", "");
	/* deep conflict path */
	expect("{\"p\":{\"x\":{\"y\":1}}}", "{\"p\":{\"x\":{\"y\":2}}}",
	       "{\"p\":{\"x\":{\"y\":3}}}", 1, NULL,
	       "{\"p\":{\"x\":{\"y\":2}}}", "col.p.x.y:2|3;");
	/* an object added on both sides under one name: merged */
	expect("{}", "{\"n\":{\"a\":1}}", "{\"n\":{\"b\":2}}", 0, NULL,
	       "{\"n\":{\"a\":1,\"b\":2}}", "");
	/* names that are not plain are quoted in the path */
	expect("{\"unit cost\":1}", "{\"unit cost\":2}", "{\"unit cost\":3}", 0,
	       NULL, "{\"unit cost\":3}", "col[\"unit cost\"]:2|3;");
}

static void test_deletes(void **state)
{
	(void)state;
	/* a member removed on one side, another changed on the other */
	expect("{\"a\":1,\"b\":1}", "{\"b\":1}", "{\"a\":1,\"b\":2}", 0, NULL,
	       "{\"b\":2}", "");
	/* removed on one side, changed on the other: later edit wins */
	expect("{\"a\":1}", "{}", "{\"a\":2}", 1, NULL, "{}", "col.a:-|2;");
	expect("{\"a\":1}", "{}", "{\"a\":2}", 0, NULL, "{\"a\":2}",
	       "col.a:-|2;");
	/* removed on both sides */
	expect("{\"a\":1,\"b\":1}", "{\"b\":1}", "{\"b\":1}", 0, NULL,
	       "{\"b\":1}", "");
	/* added on both sides, different values */
	expect("{}", "{\"a\":1}", "{\"a\":\"x\"}", 0, NULL, "{\"a\":\"x\"}",
	       "col.a:1|\"x\";");
}

static const char *BOM =
	"[{\"sku\":\"A-1\",\"qty\":1},{\"sku\":\"B-2\",\"qty\":1}]";

static void test_keyed_arrays(void **state)
{
	(void)state;
	/* one adds a line while the other changes a quantity */
	expect(BOM,
	       "[{\"sku\":\"A-1\",\"qty\":1},{\"sku\":\"B-2\",\"qty\":1},"
	       "{\"sku\":\"C-3\",\"qty\":4}]",
	       "[{\"sku\":\"A-1\",\"qty\":3},{\"sku\":\"B-2\",\"qty\":1}]", 0,
	       "sku",
	       "[{\"qty\":3,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"},"
	       "{\"qty\":4,\"sku\":\"C-3\"}]", "");
	/* one removes a line, the other changes another */
	expect(BOM, "[{\"sku\":\"B-2\",\"qty\":1}]",
	       "[{\"sku\":\"A-1\",\"qty\":1},{\"sku\":\"B-2\",\"qty\":9}]", 0,
	       "sku", "[{\"qty\":9,\"sku\":\"B-2\"}]", "");
	/* removed on one side, changed on the other: a conflict on the
	 * element */
	expect(BOM, "[{\"sku\":\"B-2\",\"qty\":1}]",
	       "[{\"sku\":\"A-1\",\"qty\":5},{\"sku\":\"B-2\",\"qty\":1}]", 0,
	       "sku",
	       "[{\"qty\":5,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"}]",
	       "col[sku=A-1]:-|{\"qty\":5,\"sku\":\"A-1\"};");
	/* the same quantity changed both ways: the path names the element */
	expect(BOM,
	       "[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-2\",\"qty\":1}]",
	       "[{\"sku\":\"A-1\",\"qty\":3},{\"sku\":\"B-2\",\"qty\":1}]", 1,
	       "sku",
	       "[{\"qty\":2,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"}]",
	       "col[sku=A-1].qty:2|3;");
	/* both add lines at the end: both kept, each after its predecessor */
	expect("[{\"sku\":\"A\"}]", "[{\"sku\":\"A\"},{\"sku\":\"X\"}]",
	       "[{\"sku\":\"A\"},{\"sku\":\"Y\"}]", 0, "sku",
	       "[{\"sku\":\"A\"},{\"sku\":\"X\"},{\"sku\":\"Y\"}]", "");
	/* a reorder on one side and a change on the other */
	expect("[{\"sku\":\"A\",\"q\":1},{\"sku\":\"B\",\"q\":1}]",
	       "[{\"sku\":\"B\",\"q\":1},{\"sku\":\"A\",\"q\":1}]",
	       "[{\"sku\":\"A\",\"q\":2},{\"sku\":\"B\",\"q\":1}]", 0, "sku",
	       "[{\"q\":1,\"sku\":\"B\"},{\"q\":2,\"sku\":\"A\"}]", "");
	/* key values that are not plain words, and integers */
	expect("[{\"id\":\"12\",\"v\":1}]", "[{\"id\":\"12\",\"v\":2}]",
	       "[{\"id\":\"12\",\"v\":3}]", 0, "id", "[{\"id\":\"12\",\"v\":3}]",
	       "col[id=\"12\"].v:2|3;");
	expect("[{\"id\":7,\"v\":1}]", "[{\"id\":7,\"v\":2}]",
	       "[{\"id\":7,\"v\":3}]", 0, "id", "[{\"id\":7,\"v\":3}]",
	       "col[id=7].v:2|3;");
	/* keyed arrays nested in objects */
	expect("{\"bom\":[{\"sku\":\"A\",\"q\":1}],\"n\":1}",
	       "{\"bom\":[{\"sku\":\"A\",\"q\":2}],\"n\":1}",
	       "{\"bom\":[{\"sku\":\"A\",\"q\":1},{\"sku\":\"B\",\"q\":1}],"
	       "\"n\":2}", 0, "sku",
	       "{\"bom\":[{\"q\":2,\"sku\":\"A\"},{\"q\":1,\"sku\":\"B\"}],"
	       "\"n\":2}", "");
}

static void test_unkeyed_arrays(void **state)
{
	(void)state;
	/* without --key an array is one value */
	expect(BOM, "[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-2\",\"qty\":1}]",
	       "[{\"sku\":\"A-1\",\"qty\":1},{\"sku\":\"B-2\",\"qty\":2}]", 0,
	       NULL,
	       "[{\"qty\":1,\"sku\":\"A-1\"},{\"qty\":2,\"sku\":\"B-2\"}]",
	       "col:[{\"qty\":2,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"}]|"
	       "[{\"qty\":1,\"sku\":\"A-1\"},{\"qty\":2,\"sku\":\"B-2\"}];");
	/* arrays of scalars, or with a duplicated or missing key: one value */
	expect("{\"t\":[1,2]}", "{\"t\":[1,2,3]}", "{\"t\":[0,1,2]}", 0, "sku",
	       "{\"t\":[0,1,2]}", "col.t:[1,2,3]|[0,1,2];");
	expect("{\"t\":[]}", "{\"t\":[{\"sku\":1},{\"sku\":1}]}",
	       "{\"t\":[{\"sku\":2}]}", 1, "sku",
	       "{\"t\":[{\"sku\":1},{\"sku\":1}]}",
	       "col.t:[{\"sku\":1},{\"sku\":1}]|[{\"sku\":2}];");
}

static void test_type_changes(void **state)
{
	(void)state;
	/* an object becomes a string on one side while the other edits in
	 * it: the later edit, the other listed at that path */
	expect("{\"p\":{\"a\":1}}", "{\"p\":\"none\"}", "{\"p\":{\"a\":2}}", 1,
	       NULL, "{\"p\":\"none\"}", "col.p:\"none\"|{\"a\":2};");
	/* 1 and 1.0 are different values */
	expect("{\"a\":1}", "{\"a\":1.0}", "{\"a\":2}", 0, NULL, "{\"a\":2}",
	       "col.a:1.0|2;");
	/* the whole value changes type: one conflict at the top */
	char *m, *c;
	merge_texts("{\"a\":1}", "[1]", "{\"a\":2}", 0, NULL, &m, &c);
	assert_string_equal(c, "col:[1]|{\"a\":2};");
	free(m);
	free(c);
	json_t *b = hs_jm_parse("1", 1), *x = hs_jm_parse("2", 1),
	       *y = hs_jm_parse("3", 1);
	hs_jm_result r;
	assert_int_equal(hs_jm_merge(b, x, y, 0, NULL, "col", &r), 0);
	assert_true(hs_jm_whole_conflict(&r, "col"));
	hs_jm_result_clear(&r);
	json_decref(b);
	json_decref(x);
	json_decref(y);
}

static void test_invalid(void **state)
{
	(void)state;
	const char *bad[] = {"", "{", "{\"a\":1,\"a\":2}", "nope", "[1,]",
			     "{\"a\":\"\\u0000\"}", "1e999",
			     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_null(hs_jm_parse(bad[i], strlen(bad[i])));
	assert_null(hs_jm_parse(NULL, 0));
	json_t *ok = hs_jm_parse("\"text\"", 6);
	assert_non_null(ok);
	json_decref(ok);
}

static void test_canonical(void **state)
{
	(void)state;
	const char *in[][2] = {
		{"{ \"b\" : 1, \"a\" : [ 1 , 2.50, -0.0 ] }",
		 "{\"a\":[1,2.5,-0.0],\"b\":1}"},
		{"{\"total\":41250.00,\"margin\":0.30}",
		 "{\"margin\":0.3,\"total\":41250.0}"},
		{"[0.1,1e20,1.5e-7,123456789012345678]",
		 "[0.1,1e+20,1.5e-07,123456789012345678]"},
		{"\"tab\\there \\\"q\\\" \\/ \\u00e9\\u0001 日本\"",
		 "\"tab\\there \\\"q\\\" / é\\u0001 日本\""},
		{"{\"é\":1,\"z\":2,\"A\":3}", "{\"A\":3,\"z\":2,\"é\":1}"},
		{"[true,false,null,{}]", "[true,false,null,{}]"},
	};
	for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
		json_t *v = hs_jm_parse(in[i][0], strlen(in[i][0]));
		assert_non_null(v);
		char *s = hs_jm_canonical(v);
		assert_string_equal(s, in[i][1]);
		/* canonical text reads back to the same value and text */
		json_t *v2 = hs_jm_parse(s, strlen(s));
		assert_true(json_equal(v, v2));
		char *s2 = hs_jm_canonical(v2);
		assert_string_equal(s, s2);
		free(s);
		free(s2);
		json_decref(v);
		json_decref(v2);
	}
	/* every double comes back exactly */
	double d[] = {0.1, 1.0 / 3, 2.0 / 3, 1e-300, 5e-324, 1.7976931348623157e308,
		      123456.789, -0.000123};
	for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
		json_t *v = json_real(d[i]);
		char *s = hs_jm_canonical(v);
		json_t *v2 = hs_jm_parse(s, strlen(s));
		assert_non_null(v2);
		assert_true(json_is_real(v2));
		assert_true(json_real_value(v2) == d[i]);
		free(s);
		json_decref(v);
		json_decref(v2);
	}
}

/* set path in text to value text (NULL: remove); the canonical result, or
 * "ERR" */
static char *set_path(const char *text, const char *path, const char *value)
{
	json_t *root = hs_jm_parse(text, strlen(text));
	json_t *v = value ? hs_jm_parse(value, strlen(value)) : NULL;
	char *out;
	assert_non_null(root);
	if (hs_jm_path_set(&root, path, v) != 0)
		out = strdup("ERR");
	else
		out = hs_jm_canonical(root);
	json_decref(root);
	json_decref(v);
	return out;
}

static void check_set(const char *text, const char *path, const char *value,
		      const char *want)
{
	char *got = set_path(text, path, value);
	assert_string_equal(got, want);
	free(got);
}

static void test_path_set(void **state)
{
	(void)state;
	check_set("{\"margin\":0.3}", ".margin", "0.25", "{\"margin\":0.25}");
	check_set("{\"margin\":0.3}", ".margin", NULL, "{}");
	check_set("{}", ".p.x.y", "1", "{\"p\":{\"x\":{\"y\":1}}}");
	check_set("{\"unit cost\":1}", "[\"unit cost\"]", "2",
		  "{\"unit cost\":2}");
	check_set(BOM, "[sku=A-1].qty", "5",
		  "[{\"qty\":5,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"}]");
	check_set(BOM, "[sku=A-1]", NULL, "[{\"qty\":1,\"sku\":\"B-2\"}]");
	check_set(BOM, "[sku=C-3]", "{\"sku\":\"C-3\",\"qty\":2}",
		  "[{\"qty\":1,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"},"
		  "{\"qty\":2,\"sku\":\"C-3\"}]");
	check_set("[{\"id\":\"12\"}]", "[id=\"12\"].v", "1",
		  "[{\"id\":\"12\",\"v\":1}]");
	check_set("[{\"id\":7}]", "[id=7].v", "1", "[{\"id\":7,\"v\":1}]");
	check_set("{\"a\":1}", "", "[1]", "[1]");
	/* removing what is not there changes nothing */
	check_set(BOM, "[sku=Z].qty", NULL,
		  "[{\"qty\":1,\"sku\":\"A-1\"},{\"qty\":1,\"sku\":\"B-2\"}]");
	/* an element that is gone cannot take a member; malformed paths */
	check_set(BOM, "[sku=Z].qty", "1", "ERR");
	check_set("{\"a\":1}", ".a.b", "1", "ERR");
	check_set("{\"a\":1}", "a", "1", "ERR");
	check_set("{\"a\":1}", "[a]", "1", "ERR");
	check_set("{\"a\":1}", "[\"a", "1", "ERR");
	check_set("{\"a\":1}", ".", "1", "ERR");
	/* paths the merge writes are read back by hs_jm_path_set */
	check_set("{\"p\":{\"a b\":[{\"k\":\"x y\",\"v\":1}]}}",
		  ".p[\"a b\"][k=\"x y\"].v", "2",
		  "{\"p\":{\"a b\":[{\"k\":\"x y\",\"v\":2}]}}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_deletes),
		cmocka_unit_test(test_keyed_arrays),
		cmocka_unit_test(test_unkeyed_arrays),
		cmocka_unit_test(test_type_changes),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_path_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
