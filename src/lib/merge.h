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
 * current site) inside the store's transaction, in batches, so that a
 * push of any size costs bounded memory: hs_merge_begin, hs_merge_rows for
 * each batch, hs_merge_end. The rows come in the order they are to be
 * merged: deletes children first, then the rest parents first (a re-keyed
 * parent is known before the rows that reference it). Rows of integer-key
 * tables that were created offline with an id another PC's row already
 * has are given a new id above both the master's ids and local_max[table]
 * (the pusher's largest id; copied); references to them later in the same
 * push are rewritten (cs is modified: new ids), and the pusher learns the
 * new ids with its pull. A row that would break a UNIQUE constraint is
 * retried at the end (hs_merge_end; it is moved out of cs), then kept out
 * and recorded as a conflict with the row that holds the value; parents
 * deleted take their remaining children at the end. s and st must live
 * until hs_merge_end. Each returns a SQLite code; on failure err says
 * which table ("table \"t\": "), the store's message says what. The state
 * lives in store->merging until hs_merge_end or hs_merge_free.
 */
int hs_merge_begin(hs_store *store, const hs_schema *s,
		   const int64_t *local_max, int64_t now_ms, hs_merge_stats *st);
int hs_merge_rows(hs_store *store, hs_changeset *cs, hs_buf *err);
int hs_merge_end(hs_store *store, hs_buf *err);
/* Drop an unfinished merge (accepts a store without one). */
void hs_merge_free(hs_store *store);

/* Add a rule (copies of the strings; key may be NULL). SQLite code. */
int hs_merge_rules_add(hs_merge_rules *r, const char *table,
		       const char *column, int json, const char *key);
/* The rule of table.column, or NULL. */
const hs_merge_rule *hs_merge_rules_find(const hs_merge_rules *r,
					 const char *table, const char *column);
void hs_merge_rules_clear(hs_merge_rules *r);

#endif
