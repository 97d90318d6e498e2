/*
 * report.h - the end of the demo's output: a table of each user's sync
 * totals, and the conflicts all replicas list, as one readable list.
 *
 * Conflicts are kept as the JSON objects of hs_replica_conflicts_json
 * (DESIGN.md 3.3) in one array. The same conflict may be listed by several
 * replicas, each calling its own value "local": it is kept once.
 */
#ifndef HS_DEMO_REPORT_H
#define HS_DEMO_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "user.h"

/* A string member of a JSON object; "" when absent or not a string. */
const char *demo_json_str(json_t *obj, const char *key);

/*
 * Append to the array `all` the conflicts (resolved ones too) that u's
 * replica lists and `all` does not hold yet. Returns 0, or -1 with err set.
 */
int demo_report_collect(json_t *all, demo_user *u, char *err, size_t errlen);

/* Print the conflicts: "quotes Q1, pricing: erin's X kept over dave's Y". */
void demo_report_conflicts(json_t *all);

/*
 * The first conflict on table and primary key `key` (as text, composite
 * keys joined by '|') and, unless column is NULL, that column; or NULL.
 */
json_t *demo_report_find(json_t *all, const char *table, const char *key,
			 const char *column);

/* Print the table of users[0..n): syncs, pulled, pushed, conflicts, time. */
void demo_report_users(const demo_user *users, int n);

#endif
