/*
 * report.c - the end of the demo's output: per-user sync totals and the
 * conflicts every replica lists, merged into one readable list (report.h).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *demo_json_str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "";
}

static int report_same(json_t *a, const char *ka, json_t *b, const char *kb)
{
	return json_equal(json_object_get(a, ka), json_object_get(b, kb));
}

/* Two listings of one conflict: same cell and the same two values (each
 * replica names its own value "local"). */
static int report_same_conflict(json_t *a, json_t *b)
{
	return report_same(a, "table", b, "table") &&
	       report_same(a, "pk", b, "pk") &&
	       report_same(a, "column", b, "column") &&
	       ((report_same(a, "local_value", b, "local_value") &&
		 report_same(a, "remote_value", b, "remote_value")) ||
		(report_same(a, "local_value", b, "remote_value") &&
		 report_same(a, "remote_value", b, "local_value")));
}

int demo_report_collect(json_t *all, demo_user *u, char *err, size_t errlen)
{
	char *text = NULL;
	json_t *list, *c;
	size_t i, j;
	int rc;

	rc = hs_replica_conflicts_json(u->rep, 1, &text);
	if (rc != 0) {
		snprintf(err, errlen, "%s: listing conflicts: %s",
			 u->name, hs_replica_errmsg(u->rep));
		return -1;
	}
	list = json_loads(text, 0, NULL);
	hs_free(text);
	if (!json_is_array(list)) {
		snprintf(err, errlen, "%s: conflicts are not a JSON "
			 "array", u->name);
		json_decref(list);
		return -1;
	}
	json_array_foreach(list, i, c) {
		json_t *seen;
		int dup = 0;

		json_array_foreach(all, j, seen)
			if ((dup = report_same_conflict(seen, c)) != 0)
				break;
		if (!dup)
			json_array_append(all, c);
	}
	json_decref(list);
	return 0;
}

/* A JSON value for the report, at most 48 characters of it. */
static void report_show(char *buf, size_t len, json_t *v, const char *null_as)
{
	char *dump;

	if (!v || json_is_null(v)) {
		snprintf(buf, len, "%s", null_as);
		return;
	}
	if (json_is_string(v)) {
		snprintf(buf, len, "\"%.48s\"", json_string_value(v));
		return;
	}
	dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(buf, len, "%.48s", dump ? dump : "?");
	free(dump);
}

/* The primary key of a conflict as text: values joined by '|'. */
static void report_show_pk(char *buf, size_t len, json_t *pk)
{
	const char *key;
	json_t *v;
	size_t o = 0;

	buf[0] = '\0';
	json_object_foreach(pk, key, v) {
		char one[64];

		if (json_is_string(v))
			snprintf(one, sizeof(one), "%.60s", json_string_value(v));
		else
			report_show(one, sizeof(one), v, "NULL");
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "|" : "",
				      one);
		if (o >= len)
			break;
	}
}

void demo_report_conflicts(json_t *all)
{
	json_t *c;
	size_t i;

	printf("\nConflicts (%zu; each kept for review: hubsync conflicts "
	       "DB):\n", json_array_size(all));
	json_array_foreach(all, i, c) {
		int local_won = strcmp(demo_json_str(c, "winner"), "local") == 0;
		json_t *col = json_object_get(c, "column");
		const char *wu = demo_json_str(c, local_won ? "local_user" :
							 "remote_user");
		const char *lu = demo_json_str(c, local_won ? "remote_user" :
							 "local_user");
		char pk[128], kept[64], lost[64];

		json_t *kv = json_object_get(c, local_won ? "local_value" :
							    "remote_value");
		json_t *lv = json_object_get(c, local_won ? "remote_value" :
							    "local_value");

		report_show_pk(pk, sizeof(pk), json_object_get(c, "pk"));
		if (json_is_string(col)) {
			report_show(kept, sizeof(kept), kv, "NULL");
			report_show(lost, sizeof(lost), lv, "NULL");
		} else { /* whole row: a delete against an update */
			snprintf(kept, sizeof(kept), "%s", json_is_null(kv) ||
				 !kv ? "delete" : "version of the row");
			snprintf(lost, sizeof(lost), "%s", json_is_null(lv) ||
				 !lv ? "delete" : "update");
		}
		printf("  %s %s, %s: %s's %s kept over %s's %s\n",
		       demo_json_str(c, "table"), pk,
		       json_is_string(col) ? json_string_value(col) :
					     "whole row", wu, kept, lu, lost);
	}
}

json_t *demo_report_find(json_t *all, const char *table, const char *key,
			 const char *column)
{
	json_t *c;
	size_t i;

	json_array_foreach(all, i, c) {
		char pk[128];
		json_t *col = json_object_get(c, "column");

		report_show_pk(pk, sizeof(pk), json_object_get(c, "pk"));
		if (strcmp(demo_json_str(c, "table"), table) == 0 &&
		    strcmp(pk, key) == 0 &&
		    (!column || (json_is_string(col) &&
				 strcmp(json_string_value(col), column) == 0)))
			return c;
	}
	return NULL;
}

void demo_report_users(const demo_user *users, int n)
{
	int i;

	printf("\n  %-6s %6s %8s %8s %10s %10s\n", "user", "syncs", "pulled",
	       "pushed", "conflicts", "sync time");
	for (i = 0; i < n; i++) {
		const demo_user *u = &users[i];

		printf("  %-6s %6d %8lld %8lld %10lld %7.0f ms\n", u->name,
		       u->syncs, (long long)u->pulled, (long long)u->pushed,
		       (long long)u->conflicts, u->sync_ms);
	}
}
