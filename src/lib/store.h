/*
 * store.h - what the merge rules (merge.c) and the pull (pull.c) need from
 * a master's storage, as a small table of operations. The rules exist once,
 * in C, and know no SQL of any store; a store keeps:
 *
 *  - the app's rows, in tables laid out as the master's hs_table;
 *  - the rows' versions (encode.h: an existence register and a clock per
 *    column), with the newest sequence of each row, which the pull reads
 *    above a watermark (the change feed);
 *  - conflicts, the audit history and re-keyed ids, each at a sequence;
 *  - the sites (PCs) that sync with it;
 *  - the columns merged inside JSON (the office's `hubsync merge` setting),
 *    and the old values of the audit history as a merge's base.
 *
 * Every operation runs inside the store's current write transaction (the
 * caller began it) and returns a SQLite result code: SQLITE_OK, or the
 * failure (SQLITE_CONSTRAINT_UNIQUE from row_put when another row holds one
 * of the row's UNIQUE values; the merge handles that one). Values are
 * sqlite3_value (made with hs_value_* on store->select1); values an
 * operation hands out are owned by the caller unless said otherwise.
 *
 * Implementations: store_file.c (a SQLite file: the master on a share, and
 * the folder store of hubsync serve); PostgreSQL next.
 */
#ifndef HS_STORE_H
#define HS_STORE_H

#include "changes.h"
#include "encode.h"
#include "rows.h"
#include "schema.h"

typedef struct hs_store hs_store;
typedef struct hs_merge hs_merge; /* a push being merged (merge.c) */

/* A conflict as the store keeps it (hubsync_conflicts). */
typedef struct hs_conflict_row {
	int64_t seq;
	const char *tbl, *pk_json;
	const char *col;             /* NULL: a whole-row conflict */
	sqlite3_value *local_value;  /* col: the values; else NULL */
	sqlite3_value *remote_value;
	const char *local_text;      /* !col: the rows as JSON, or NULL */
	const char *remote_text;
	const char *winner;          /* "local" | "remote" */
	const char *local_user, *remote_user, *detected_at;
	const char *local_site, *remote_site;
} hs_conflict_row;

/* An entry of the audit trail (hubsync_history). */
typedef struct hs_history_row {
	int64_t seq;
	const char *tbl, *key, *pk_json, *op, *user, *at, *changes;
} hs_history_row;

/* A row new to the store (neither its key's row nor versions there),
 * written with others as one set (store ops absent and put_new): the
 * pushed row (alive, every column in vals), its versions and its insert
 * event (h.seq 0: none, a row there before tracking). */
typedef struct hs_new_row {
	hs_rowchange *rc;
	hs_row_meta rm;
	hs_history_row h;
	char at[32]; /* h.at's text */
} hs_new_row;

/* A column whose concurrent edits are merged inside its JSON value
 * (`hubsync merge DB TABLE.COLUMN json [--key NAME]`, office-wide). */
typedef struct hs_merge_rule {
	char *table, *column;
	char *key; /* the member that tells array elements apart, or NULL */
	int json;  /* 1; 0 only in a change of setting: back to whole values */
} hs_merge_rule;

typedef struct hs_merge_rules {
	hs_merge_rule *v;
	size_t n;
} hs_merge_rules;

/* The pull's view of a row version: 1 to have it delivered (with its
 * values), 0 to skip it. */
typedef int (*hs_feed_filter)(void *ctx, const hs_row_meta *rm);
/* A row delivered: its versions, key values and (alive rows) its values,
 * all borrowed for the call. Return a SQLite code; not OK stops. vals is
 * NULL for a deleted row, or for a live one the table lacks. */
typedef int (*hs_feed_fn)(void *ctx, const hs_row_meta *rm,
			  sqlite3_value **pk, sqlite3_value **vals);

enum { HS_SAVEPOINT, HS_ROLLBACK_TO, HS_RELEASE };

typedef struct hs_store_ops {
	/* The app's rows of t, by key. row_put inserts vals (all columns)
	 * or, when the key exists, sets the columns flagged in set. */
	int (*row_get)(hs_store *st, const hs_table *t, sqlite3_value **pk,
		       sqlite3_value **out, int *found);
	int (*row_put)(hs_store *st, const hs_table *t, sqlite3_value **vals,
		       const unsigned char *set);
	int (*row_delete)(hs_store *st, const hs_table *t, sqlite3_value **pk);
	/* The largest value of t's integer key (0 when empty). */
	int (*max_key)(hs_store *st, const hs_table *t, int64_t *out);
	/* A row of t other than vals' own key holding one of vals' UNIQUE
	 * values: its values into out (t->ncols, owned), *found. */
	int (*unique_holder)(hs_store *st, const hs_table *t,
			     sqlite3_value **vals, sqlite3_value **out,
			     int *found);
	/* 1 into *out if t has a UNIQUE constraint besides its key. */
	int (*has_unique)(hs_store *st, const hs_table *t, int *out);
	/* The rows of t whose column col equals key (all columns). */
	int (*referencing)(hs_store *st, const hs_table *t, int col,
			   sqlite3_value *key, hs_rowset *out);

	/* Versions. meta_get fills rm (hs_row_meta_init'ed by the caller
	 * for t->ncols) or leaves rm->found 0. */
	int (*meta_get)(hs_store *st, const hs_table *t, sqlite3_value **pk,
			hs_row_meta *rm);
	int (*meta_put)(hs_store *st, const hs_table *t, sqlite3_value **pk,
			const hs_row_meta *rm);
	/* The change feed: rows of t that are alive (or deleted) with a
	 * sequence above since, in sequence order. */
	int (*feed)(hs_store *st, const hs_table *t, int alive, int64_t since,
		    hs_feed_filter filter, hs_feed_fn fn, void *ctx);

	/* Records. */
	int (*conflict_add)(hs_store *st, const hs_conflict_row *c);
	int (*history_add)(hs_store *st, const hs_history_row *h);
	int (*rebase_add)(hs_store *st, int64_t seq, const hs_table *t,
			  int64_t old_key, int64_t new_key);
	/* The user name and id of site number site (each malloc'd, may be
	 * NULL when unknown). */
	int (*site_info)(hs_store *st, int site, char **user, char **id);

	/* A nested part of the transaction that can be undone. */
	int (*savepoint)(hs_store *st, int action, const char *name);
	/* Called now and then during a long merge (may be NULL): a file
	 * store refreshes its lock's lease. */
	void (*keepalive)(hs_store *st);

	/* JSON columns (DESIGN.md 3.9). Both may be NULL: every column then
	 * merges as one value. */
	/* Append the columns set to `json` (rules with json = 1) to out. */
	int (*merge_rules)(hs_store *st, hs_merge_rules *out);
	/* The value column col of row pk of t had at sequence seq (the base
	 * a writer had seen), from the audit trail: the old value (element 0
	 * of changes."col") of the first history entry of the row above seq
	 * that has col. *out (owned) and *found = 1, or *found = 0 when the
	 * trail cannot tell: no such entry, the row's first entry above seq is
	 * its insert (it did not exist then), the old value was a BLOB, or
	 * history above seq was pruned (the store must know how far it
	 * pruned; the file store keeps hubsync_master 'history_pruned'). */
	int (*value_at)(hs_store *st, const hs_table *t, sqlite3_value **pk,
			int col, int64_t seq, sqlite3_value **out, int *found);
	/* New rows as a set (both may be NULL: the merge writes every row
	 * alone). absent clears fresh[i] for each of rows[0..n) (only .rc
	 * used) whose key t has a row or versions of; put_new writes rows
	 * absent left fresh: their values, versions and insert events, as
	 * row_put, meta_put and history_add would one by one. */
	int (*absent)(hs_store *st, const hs_table *t, const hs_new_row *rows,
		      size_t n, unsigned char *fresh);
	int (*put_new)(hs_store *st, const hs_table *t, const hs_new_row *rows,
		       size_t n);
	/* 1: put_new fails with an SQLITE_CONSTRAINT code, whatever it wrote
	 * undone by a rollback to a savepoint taken before it, when a key of
	 * rows has a row or versions in t (its own unique keys see them): the
	 * merge may then write a run without asking absent first. */
	int put_new_checks;
} hs_store_ops;

/* The part every store shares: its operations and the transaction's
 * change feed head. seq is the last sequence handed out: the merge takes
 * the next ones (++st->seq) and the store records st->seq at commit. */
struct hs_store {
	const hs_store_ops *ops;
	int64_t seq;
	int64_t began;         /* seq when the transaction began */
	int site;              /* the site syncing in this transaction */
	char *site_id, *user;  /* its id and user name */
	sqlite3_stmt *select1; /* makes values (util.h, hs_value_*) */
	hs_merge *merging;     /* the push being merged (merge.h), or NULL;
				* the store frees it (hs_merge_free) on close */
};

#endif
