/*
 * test_jsoncols.c - JSON columns (DESIGN.md 3.9, `hubsync merge`) through
 * the public API: two and three PCs of one master, virtual time, the app
 * played by plain SQL on the Craft Tools Hub quotes table.
 *
 *  - the setting reaches the master with one PC's sync and every PC with
 *    theirs; `whole` turns it back; a bad table or column is a one-line
 *    error that changes nothing;
 *  - two edits of different members both survive (no conflict), the
 *    merged text is canonical and the same on every PC, also on the PC
 *    whose push made it (it pulls it back);
 *  - one member changed on both sides: the later edit wins, the other is a
 *    conflict named by its path, with both values; resolve restores that
 *    path alone, and a concurrent edit elsewhere in the value survives it;
 *  - a BOM keyed by sku on three PCs: a line added, a quantity changed and
 *    another line removed, all kept; the same quantity changed twice is a
 *    conflict on bom[sku=...].qty;
 *  - a PC pushing again from a base older than the merged value it has not
 *    pulled yet loses nothing;
 *  - fallbacks, never errors: a value that is not JSON, a base the history
 *    no longer has, a column not set to json: one value, whole-column
 *    conflict.
 *
 * The master: a file, a folder store behind hubsync serve, or PostgreSQL
 * (directly, or behind two serve processes): tests/integration/CMakeLists.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char master[600];
static tu_site s[3];
static const char *names[] = {"dave", "erin", "alice"};

static void office(const char *tag, int n)
{
	const char *dir = tu_tmpdir(tag);
	tu_master_setup(master, sizeof master, dir);
	for (int i = 0; i < n; i++) {
		tu_site_open(&s[i], dir, names[i], 0);
		tu_exec(s[i].app, "CREATE TABLE quotes(quoteId TEXT PRIMARY KEY,"
				  " status TEXT, pricing TEXT, bom TEXT);"
				  "INSERT INTO quotes VALUES('Q1', 'draft',"
				  " '{\"margin\":0.20}', '[{\"sku\":\"A-1\",\"qty\":1},"
				  "{\"sku\":\"B-2\",\"qty\":1}]')");
		tu_site_hs_open(&s[i]);
		tu_site_init(&s[i], master, NULL);
	}
}

static void sync(int i)
{
	tu_now_ms += 1000;
	free(tu_site_sync(&s[i], 0));
}

static void sync_all(int n, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			sync(i);
}

static void set_json(int i, const char *col, const char *key)
{
	int rc = hs_replica_merge_set(s[i].hs, "quotes", col, HS_MERGE_JSON, key);
	TU_CHECK(rc == HS_OK, "merge set %s: %d %s", col, rc,
		 hs_replica_errmsg(s[i].hs));
}

/* The app saves a column of Q1 on PC i, a second later than anything. */
static void edit(int i, const char *col, const char *value)
{
	tu_now_ms += 1000;
	tu_exec(s[i].app, "UPDATE quotes SET \"%w\" = %Q WHERE quoteId = 'Q1'",
		col, value);
}

static char *cell(int i, const char *col)
{
	return tu_text(s[i].app, "SELECT \"%w\" FROM quotes WHERE quoteId = 'Q1'",
		       col);
}

#define CHECK_CELL(i, col, want)                                              \
	do {                                                                  \
		char *got_ = cell(i, col);                                    \
		TU_CHECK(got_ && !strcmp(got_, want), "%s's %s: want %s, got %s", \
			 names[i], col, want, got_ ? got_ : "NULL");          \
		free(got_);                                                   \
	} while (0)

/* Every PC holds the master's quotes (a PostgreSQL master: as seen
 * through the first PC, tu_master_view). */
static void converged(int n)
{
	sqlite3 *m = tu_master_view(master, &s[0]);
	for (int i = m == s[0].app; i < n; i++) {
		char *why = NULL;
		if (tu_table_diff(s[i].app, m, "quotes", NULL, &why))
			tu_fail("%s differs from the master: %s", names[i], why);
	}
	tu_master_view_done(master, m);
}

/* The unresolved conflicts of PC i, and the one whose column is col. */
static json_t *conflict_on(int i, const char *col, json_t **list)
{
	size_t k;
	json_t *c;
	*list = tu_site_conflicts(&s[i], 0);
	json_array_foreach(*list, k, c)
		if (!strcmp(json_string_value(json_object_get(c, "column")), col))
			return c;
	return NULL;
}

static void close_all(int n)
{
	for (int i = 0; i < n; i++)
		tu_site_close(&s[i]);
}

static void test_setting(void)
{
	office("jsoncols-setting", 2);
	char *out = NULL;
	/* bad requests change nothing */
	TU_CHECK(hs_replica_merge_set(s[0].hs, "nope", "x", HS_MERGE_JSON, NULL)
			 == HS_EINVALID, "unknown table");
	TU_CHECK(strchr(hs_replica_errmsg(s[0].hs), '\n') == NULL &&
			 strstr(hs_replica_errmsg(s[0].hs), "nope"),
		 "one line naming the table: %s", hs_replica_errmsg(s[0].hs));
	TU_CHECK(hs_replica_merge_set(s[0].hs, "quotes", "nope", HS_MERGE_JSON,
				      NULL) == HS_EINVALID, "unknown column");
	TU_CHECK(hs_replica_merge_set(s[0].hs, "quotes", "quoteId",
				      HS_MERGE_JSON, NULL) == HS_EINVALID, "key");
	TU_CHECK(hs_replica_merge_set(s[0].hs, "quotes", "bom", HS_MERGE_WHOLE,
				      "sku") == HS_EINVALID, "key with whole");
	TU_CHECK(hs_replica_merge_json(s[0].hs, &out) == HS_OK &&
			 !strcmp(out, "[]"), "nothing set: %s", out);
	hs_free(out);

	set_json(0, "pricing", NULL);
	set_json(0, "bom", "sku");
	TU_CHECK(hs_replica_merge_json(s[0].hs, &out) == HS_OK &&
			 strstr(out, "\"pending\":true"), "pending: %s", out);
	hs_free(out);
	sync_all(2, 1);
	/* erin never ran hubsync merge: she has the office's setting */
	json_t *r = NULL;
	TU_CHECK(hs_replica_merge_json(s[1].hs, &out) == HS_OK, "list");
	r = tu_json_take(out);
	TU_CHECK(json_array_size(r) == 2, "two JSON columns at erin's");
	json_t *bom = json_array_get(r, 0);
	TU_CHECK(!strcmp(json_string_value(json_object_get(bom, "column")), "bom")
			 && !strcmp(json_string_value(json_object_get(bom, "key")),
				    "sku") &&
			 json_is_false(json_object_get(bom, "pending")),
		 "bom keyed by sku, from the master");
	json_decref(r);
	TU_CHECK(tu_master_int(master, "SELECT count(*) FROM hubsync_merge_rules",
			       "SELECT count(*) FROM hubsync.merge_rules") == 2,
		 "the master keeps the setting");

	/* erin turns pricing back to whole values: dave learns it */
	TU_CHECK(hs_replica_merge_set(s[1].hs, "quotes", "pricing",
				      HS_MERGE_WHOLE, NULL) == HS_OK, "whole");
	sync_all(2, 2);
	TU_CHECK(hs_replica_merge_json(s[0].hs, &out) == HS_OK, "list");
	r = tu_json_take(out);
	TU_CHECK(json_array_size(r) == 1, "only bom left at dave's");
	json_decref(r);
	/* and pricing merges as one value again */
	edit(0, "pricing", "{\"margin\":0.25}");
	edit(1, "pricing", "{\"margin\":0.20,\"total\":44000.00}");
	sync_all(2, 2);
	CHECK_CELL(0, "pricing", "{\"margin\":0.20,\"total\":44000.00}");
	json_t *list, *c = conflict_on(0, "pricing", &list);
	TU_CHECK(c != NULL, "a whole-column conflict on pricing");
	json_decref(list);
	converged(2);
	close_all(2);
}

static void test_members(void)
{
	office("jsoncols-members", 2);
	set_json(0, "pricing", NULL);
	sync_all(2, 1);
	/* dave sets the margin, erin the total (and the status, another
	 * column) */
	edit(0, "pricing", "{\"margin\":0.25}");
	edit(1, "pricing", "{\"margin\":0.20,\"total\":44000.00}");
	edit(1, "status", "sent");
	sync(0);
	sync(1);
	/* erin's push made the merged value: she pulls it back at once */
	CHECK_CELL(1, "pricing", "{\"margin\":0.25,\"total\":44000.0}");
	sync(0);
	CHECK_CELL(0, "pricing", "{\"margin\":0.25,\"total\":44000.0}");
	CHECK_CELL(0, "status", "sent");
	json_t *list = tu_site_conflicts(&s[0], 1);
	TU_CHECK(json_array_size(list) == 0, "no conflict: %zu",
		 json_array_size(list));
	json_decref(list);
	converged(2);

	/* a merged value is nobody's: dave, who pushed before it was made,
	 * edits again from a base older than it; erin's total stays */
	edit(1, "pricing", "{\"margin\":0.25,\"total\":45000}");
	edit(0, "pricing", "{\"margin\":0.25,\"tax\":0.07,\"total\":44000.0}");
	sync(0); /* dave's value, whole: nothing concurrent yet */
	sync(1); /* erin's push meets it: merged, tax and total */
	CHECK_CELL(1, "pricing", "{\"margin\":0.25,\"tax\":0.07,\"total\":45000}");
	edit(0, "pricing", "{\"margin\":0.26,\"tax\":0.07,\"total\":44000.0}");
	sync(0);
	sync(1);
	CHECK_CELL(0, "pricing", "{\"margin\":0.26,\"tax\":0.07,\"total\":45000}");
	list = tu_site_conflicts(&s[0], 1);
	TU_CHECK(json_array_size(list) == 0, "still no conflict");
	json_decref(list);
	converged(2);
	close_all(2);
}

static void test_path_conflict(void)
{
	office("jsoncols-conflict", 2);
	set_json(1, "pricing", NULL);
	sync_all(2, 1);
	edit(0, "pricing", "{\"margin\":0.25,\"total\":41250}");
	edit(1, "pricing", "{\"margin\":0.30}"); /* later */
	sync_all(2, 2);
	CHECK_CELL(0, "pricing", "{\"margin\":0.3,\"total\":41250}");
	json_t *list, *c = conflict_on(0, "pricing.margin", &list);
	TU_CHECK(c != NULL, "a conflict on pricing.margin");
	TU_CHECK(!strcmp(json_string_value(json_object_get(c, "local_value")),
			 "0.25") &&
			 !strcmp(json_string_value(json_object_get(c,
								 "remote_value")),
				 "0.3") &&
			 !strcmp(json_string_value(json_object_get(c, "winner")),
				 "remote"),
		 "dave's 0.25 lost to erin's 0.3 (as dave sees it)");
	int64_t id = json_integer_value(json_object_get(c, "id"));
	json_decref(list);
	/* erin sees the same conflict with the sides swapped */
	c = conflict_on(1, "pricing.margin", &list);
	TU_CHECK(c && !strcmp(json_string_value(json_object_get(c, "winner")),
			      "local"), "erin's side won");
	json_decref(list);

	/* a member one side removed while the other changed it: erin adds a
	 * tax, dave removes it later */
	edit(1, "pricing", "{\"margin\":0.3,\"tax\":0.07,\"total\":41250}");
	sync_all(2, 2);
	edit(1, "pricing", "{\"margin\":0.3,\"tax\":0.08,\"total\":41250}");
	edit(0, "pricing", "{\"margin\":0.3,\"total\":41250}");
	sync_all(2, 2);
	CHECK_CELL(1, "pricing", "{\"margin\":0.3,\"total\":41250}");
	json_t *tax = conflict_on(1, "pricing.tax", &list);
	TU_CHECK(tax && !strcmp(json_string_value(json_object_get(tax,
								   "local_value")),
				"0.08") &&
			 json_is_null(json_object_get(tax, "remote_value")) &&
			 !strcmp(json_string_value(json_object_get(tax, "winner")),
				 "remote"), "erin's 0.08 lost to dave's removal");
	int64_t tax_id = json_integer_value(json_object_get(tax, "id"));
	json_decref(list);
	converged(2);

	/* dave keeps his margin while erin adds a note: both stay */
	TU_CHECK(hs_replica_resolve(s[0].hs, id, HS_KEEP_LOCAL) == HS_OK,
		 "resolve: %s", hs_replica_errmsg(s[0].hs));
	CHECK_CELL(0, "pricing", "{\"margin\":0.25,\"total\":41250}");
	edit(1, "pricing", "{\"margin\":0.3,\"note\":\"rush\",\"total\":41250}");
	sync_all(2, 2);
	CHECK_CELL(1, "pricing",
		   "{\"margin\":0.25,\"note\":\"rush\",\"total\":41250}");
	converged(2);
	/* erin restores her tax: that path alone */
	TU_CHECK(hs_replica_resolve(s[1].hs, tax_id, HS_KEEP_LOCAL) == HS_OK,
		 "resolve: %s", hs_replica_errmsg(s[1].hs));
	CHECK_CELL(1, "pricing", "{\"margin\":0.25,\"note\":\"rush\","
		   "\"tax\":0.08,\"total\":41250}");
	sync_all(2, 2);
	CHECK_CELL(0, "pricing", "{\"margin\":0.25,\"note\":\"rush\","
		   "\"tax\":0.08,\"total\":41250}");
	converged(2);
	close_all(2);
}

static void test_bom(void)
{
	office("jsoncols-bom", 3);
	set_json(2, "bom", "sku");
	sync_all(3, 1);
	/* dave adds a line, erin changes A-1's quantity, alice removes B-2 */
	edit(0, "bom", "[{\"sku\":\"A-1\",\"qty\":1},{\"sku\":\"B-2\",\"qty\":1},"
		       "{\"sku\":\"C-3\",\"qty\":4}]");
	edit(1, "bom", "[{\"sku\":\"A-1\",\"qty\":3},{\"sku\":\"B-2\",\"qty\":1}]");
	edit(2, "bom", "[{\"sku\":\"A-1\",\"qty\":1}]");
	sync_all(3, 2);
	const char *want = "[{\"qty\":3,\"sku\":\"A-1\"},{\"qty\":4,\"sku\":\"C-3\"}]";
	for (int i = 0; i < 3; i++)
		CHECK_CELL(i, "bom", want);
	json_t *list = tu_site_conflicts(&s[0], 1);
	TU_CHECK(json_array_size(list) == 0, "no conflict");
	json_decref(list);
	converged(3);

	/* the same quantity changed on two PCs */
	edit(0, "bom", "[{\"qty\":5,\"sku\":\"A-1\"},{\"qty\":4,\"sku\":\"C-3\"}]");
	edit(1, "bom", "[{\"qty\":6,\"sku\":\"A-1\"},{\"qty\":4,\"sku\":\"C-3\"}]");
	sync_all(3, 2);
	CHECK_CELL(2, "bom", "[{\"qty\":6,\"sku\":\"A-1\"},{\"qty\":4,\"sku\":\"C-3\"}]");
	json_t *c = conflict_on(2, "bom[sku=A-1].qty", &list);
	TU_CHECK(c != NULL, "a conflict on bom[sku=A-1].qty");
	json_decref(list);
	converged(3);
	close_all(3);
}

static void test_fallbacks(void)
{
	office("jsoncols-fallback", 2);
	set_json(0, "pricing", NULL);
	sync_all(2, 1);
	/* not JSON on one side: one value, never an error */
	edit(0, "pricing", "margin 25%");
	edit(1, "pricing", "{\"margin\":0.30}");
	sync_all(2, 2);
	CHECK_CELL(0, "pricing", "{\"margin\":0.30}");
	json_t *list, *c = conflict_on(0, "pricing", &list);
	TU_CHECK(c && !strcmp(json_string_value(json_object_get(c, "local_value")),
			      "margin 25%"), "the text lost as a whole");
	json_decref(list);

	/* the history that held the base is gone: one value */
	edit(0, "pricing", "{\"margin\":0.31}");
	edit(1, "pricing", "{\"margin\":0.30,\"total\":1}");
	sync(1);
	tu_master_int(master, "DELETE FROM hubsync_history",
		      "DELETE FROM hubsync.history");
	sync_all(2, 2);
	CHECK_CELL(0, "pricing", "{\"margin\":0.30,\"total\":1}");
	c = conflict_on(0, "pricing", &list);
	TU_CHECK(c && !strcmp(json_string_value(json_object_get(c, "local_value")),
			      "{\"margin\":0.31}"),
		 "dave's value lost as a whole: no base to merge against");
	json_decref(list);
	converged(2);
	close_all(2);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"setting", test_setting},
		{"members", test_members},
		{"path_conflict", test_path_conflict},
		{"bom", test_bom},
		{"fallbacks", test_fallbacks},
	};
	return tu_run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
