/*
 * merge.h - the merge rules: a push of a replica into a master store.
 */
#ifndef HS_MERGE_H
#define HS_MERGE_H

#include "changes.h"
#include "store.h"

/* What a push did, per table index of the schema. */
typedef struct hs_merge_stats {
	int64_t *pushed; /* rows merged per table */
	int64_t conflicts;
} hs_merge_stats;

/*
 * Merge a push (rows of schema s, the master's tables, from the store's
 * current site, parents first) inside the store's transaction. Rows of
 * integer-key tables that were created offline with an id another PC's
 * row already has are given a new id above both the master's ids and
 * local_max[table] (the pusher's largest id); references to them later in
 * the same push are rewritten, and the pusher learns the new ids with its
 * pull. A row that would break a UNIQUE constraint is kept out and
 * recorded as a conflict with the row that holds the value. cs is
 * modified (new ids). Returns a SQLite code; on failure err says which
 * table ("table \"t\": "), the store's message says what.
 */
int hs_merge_push(hs_store *store, const hs_schema *s, hs_changeset *cs,
		  const int64_t *local_max, int64_t now_ms, hs_merge_stats *st,
		  hs_buf *err);

/* Add a rule (copies of the strings; key may be NULL). SQLite code. */
int hs_merge_rules_add(hs_merge_rules *r, const char *table,
		       const char *column, int json, const char *key);
/* The rule of table.column, or NULL. */
const hs_merge_rule *hs_merge_rules_find(const hs_merge_rules *r,
					 const char *table, const char *column);
void hs_merge_rules_clear(hs_merge_rules *r);

#endif
