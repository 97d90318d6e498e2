/*
 * json.h - SQLite values as JSON (jansson), both ways.
 *
 * INTEGER -> JSON integer, REAL -> JSON real (1.0 stays a real), TEXT ->
 * string, NULL -> null, BLOB -> {"$blob": "<hex>"}. TEXT that is not valid
 * UTF-8 is also written as {"$blob": ...}.
 */
#ifndef HS_JSON_H
#define HS_JSON_H

#include "schema.h"
#include "util.h"

#include <jansson.h>
#include <sqlite3.h>

json_t *hs_json_value(sqlite3_value *v);
/* Bind JSON produced by hs_json_value to parameter i. A {"$blob"} whose
 * hex is malformed (odd length, not lowercase hex: not one hubsync wrote)
 * binds nothing and returns SQLITE_MISMATCH. */
int hs_json_bind(sqlite3_stmt *st, int i, json_t *j);
/* {"col": value, ...} of t's primary key (values in key order). */
json_t *hs_json_pk(const hs_table *t, sqlite3_value **pk);
/* "v1|v2" text form of a key, as matched by `hubsync log --key`:
 * malloc'd (NULL: out of memory), or appended to b (b->oom on failure). */
char *hs_key_text(sqlite3_value **pk, int npk);
void hs_key_text_put(hs_buf *b, sqlite3_value **pk, int npk);
/* hs_json_dump(hs_json_pk(t, pk)), malloc'd (NULL: out of memory), or
 * appended to b (b->oom on failure); a one-column key of an integer or of
 * plain ASCII text without jansson. */
char *hs_json_pk_text(const hs_table *t, sqlite3_value **pk);
void hs_json_pk_put(hs_buf *b, const hs_table *t, sqlite3_value **pk);
/* Serialize j compactly, steal the reference; NULL on failure. */
char *hs_json_dump(json_t *j);

#endif
