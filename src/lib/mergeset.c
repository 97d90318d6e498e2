/*
 * mergeset.c - `hubsync merge DB TABLE.COLUMN json [--key NAME] | whole`:
 * which columns merge inside their JSON value (DESIGN.md 3.9). The setting
 * is the office's, like the retention: set on any PC, carried to the
 * master by that PC's next sync, kept there (hs_master_merge_rules), and
 * handed back to every PC with each sync. Only the master uses it (merge.c
 * decides every merge); a replica keeps it to show it.
 *
 * In hubsync_meta, as JSON arrays:
 *   merge_set    changes made here, not yet at the master:
 *                [{"table", "column", "mode": "json"|"whole", "key"}]
 *   merge_rules  the office's JSON columns as of the last sync:
 *                [{"table", "column", "key"}]
 */
#include "mergeset.h"

#include "merge.h"
#include "replica.h"
#include "schema.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The JSON array stored under key (an empty one when there is none).
 * NULL on a read error (SQLite code into *sr). */
static json_t *meta_array(sqlite3 *db, const char *key, char **text, int *sr)
{
	char *s = NULL;
	json_t *a;
	*sr = hs_meta_read(db, key, &s);
	if (*sr != SQLITE_OK)
		return NULL;
	a = s ? json_loads(s, 0, NULL) : NULL;
	if (!json_is_array(a)) { /* missing (or damaged: start over) */
		json_decref(a);
		a = json_array();
	}
	if (text)
		*text = s;
	else
		free(s);
	if (!a)
		*sr = SQLITE_NOMEM;
	return a;
}

static int meta_put_array(sqlite3 *db, const char *key, json_t *a)
{
	char *s = json_dumps(a, JSON_COMPACT);
	int sr = s ? hs_meta_set(db, key, s) : SQLITE_NOMEM;
	free(s);
	return sr;
}

/* Index of the entry of a for table.column, or -1. */
static long find_entry(json_t *a, const char *table, const char *column)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *t = json_string_value(json_object_get(e, "table"));
		const char *c = json_string_value(json_object_get(e, "column"));
		if (t && c && strcmp(t, table) == 0 && strcmp(c, column) == 0)
			return (long)i;
	}
	return -1;
}

int hs_replica_merge_set(hs_replica *r, const char *table, const char *column,
			 hs_merge_mode mode, const char *key)
{
	hs_schema s;
	hs_buf err;
	json_t *pending = NULL;
	const hs_table *t;
	int rc, sr, col;

	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (mode != HS_MERGE_JSON && mode != HS_MERGE_WHOLE)
		return hs_fail(r, HS_EINVALID, "the merge mode must be json or "
			       "whole");
	if (!table || !column || !*table || !*column)
		return hs_fail(r, HS_EINVALID, "name the column as TABLE.COLUMN");
	if (key && mode != HS_MERGE_JSON)
		return hs_fail(r, HS_EINVALID, "--key goes with json (it names "
			       "the member that tells array elements apart)");
	if (key && !*key)
		return hs_fail(r, HS_EINVALID, "--key needs a member name, such "
			       "as sku");
	memset(&s, 0, sizeof(s));
	hs_buf_init(&err);
	if (hs_schema_load(r->db, &s, &err) != 0) {
		rc = hs_fail(r, HS_ECORRUPT, "%s", err.s ? err.s : "cannot read "
			     "the synced tables");
		goto out;
	}
	if (!(t = hs_schema_find(&s, table))) {
		rc = hs_fail(r, HS_EINVALID, "table \"%s\" is not synced here: "
			     "name a synced table (hubsync status lists them)",
			     table);
		goto out;
	}
	if ((col = hs_table_col(t, column)) < 0) {
		rc = hs_fail(r, HS_EINVALID, "table \"%s\" has no column \"%s\": "
			     "check the name", table, column);
		goto out;
	}
	for (int k = 0; k < t->npk; k++)
		if (t->pk[k] == col) {
			rc = hs_fail(r, HS_EINVALID, "\"%s\" is part of the primary "
				     "key of \"%s\": only other columns merge inside "
				     "JSON", column, table);
			goto out;
		}
	if (!(pending = meta_array(r->db, "merge_set", NULL, &sr))) {
		rc = hs_fail_sqlite(r, sr, "cannot read the merge setting");
		goto out;
	}
	long i = find_entry(pending, table, column);
	if (i >= 0)
		json_array_remove(pending, (size_t)i);
	json_array_append_new(pending, json_pack("{s:s, s:s, s:s, s:s?}", "table",
						 table, "column", column, "mode",
						 mode == HS_MERGE_JSON ? "json"
								       : "whole",
						 "key", key));
	sr = meta_put_array(r->db, "merge_set", pending);
	rc = sr == SQLITE_OK ? HS_OK
			     : hs_fail_sqlite(r, sr, "cannot save the merge setting");
out:
	json_decref(pending);
	hs_schema_clear(&s);
	hs_buf_free(&err);
	return rc;
}

int hs_replica_merge_json(hs_replica *r, char **out)
{
	json_t *rules = NULL, *pending = NULL, *a = NULL, *e;
	size_t i;
	int rc, sr;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (!(rules = meta_array(r->db, "merge_rules", NULL, &sr)) ||
	    !(pending = meta_array(r->db, "merge_set", NULL, &sr)) ||
	    !(a = json_array())) {
		rc = hs_fail_sqlite(r, sr, "cannot read the merge setting");
		goto out;
	}
	json_array_foreach(rules, i, e) { /* the office's, unless changed here */
		const char *t = json_string_value(json_object_get(e, "table"));
		const char *c = json_string_value(json_object_get(e, "column"));
		if (!t || !c || find_entry(pending, t, c) >= 0)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:O, s:b}",
						   "table", t, "column", c, "mode",
						   "json", "key",
						   json_object_get(e, "key")
							   ? json_object_get(e, "key")
							   : json_null(),
						   "pending", 0));
	}
	json_array_foreach(pending, i, e) {
		json_t *o = json_deep_copy(e);
		if (!json_object_get(o, "key"))
			json_object_set_new(o, "key", json_null());
		json_object_set_new(o, "pending", json_true());
		json_array_append_new(a, o);
	}
	*out = json_dumps(a, JSON_COMPACT);
	rc = *out ? HS_OK : hs_fail(r, HS_ERROR, "out of memory");
out:
	json_decref(rules);
	json_decref(pending);
	json_decref(a);
	return rc;
}

int hs_mergeset_pending(sqlite3 *db, hs_merge_rules *set, char **sent)
{
	int sr;
	size_t i;
	json_t *e, *a = meta_array(db, "merge_set", sent, &sr);
	json_array_foreach(a, i, e) {
		const char *t = json_string_value(json_object_get(e, "table"));
		const char *c = json_string_value(json_object_get(e, "column"));
		const char *mode = json_string_value(json_object_get(e, "mode"));
		if (t && c && mode)
			sr = hs_merge_rules_add(set, t, c, strcmp(mode, "json") == 0,
						json_string_value(json_object_get(e,
										  "key")));
		if (sr != SQLITE_OK)
			break;
	}
	json_decref(a);
	return sr;
}

int hs_mergeset_store(sqlite3 *db, const hs_merge_rules *all,
		      const char *sent)
{
	json_t *a = json_array();
	int sr = a ? SQLITE_OK : SQLITE_NOMEM;
	for (size_t i = 0; a && i < all->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "table",
						   all->v[i].table, "column",
						   all->v[i].column, "key",
						   all->v[i].key));
	if (sr == SQLITE_OK)
		sr = meta_put_array(db, "merge_rules", a);
	json_decref(a);
	if (sr == SQLITE_OK && sent) {
		sqlite3_stmt *st;
		sr = hs_prepare(db, &st, "DELETE FROM hubsync_meta WHERE key ="
					 " 'merge_set' AND value = ?1");
		if (sr == SQLITE_OK) {
			sqlite3_bind_text(st, 1, sent, -1, SQLITE_STATIC);
			sr = hs_step_done(st);
			sqlite3_finalize(st);
		}
	}
	return sr;
}
