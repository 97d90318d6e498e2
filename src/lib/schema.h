/*
 * schema.h - what hubsync knows about a tracked table: its synced columns
 * (every column except the local-only synced_at) and its primary key; and
 * the hubsync_* metadata tables of a replica.
 */
#ifndef HS_SCHEMA_H
#define HS_SCHEMA_H

#include "util.h"

#include <sqlite3.h>

#define HS_MAX_PK 4     /* primary key columns supported */
#define HS_MASK_BITS 62 /* bit i = column i; bit 62 = any column >= 62 */

/* A single-column foreign key: cols[col] references parent(parent_col);
 * parent_col NULL means the parent's primary key. */
typedef struct hs_fkey {
	int col;
	char *parent;
	char *parent_col;
} hs_fkey;

typedef struct hs_table {
	int id;       /* hubsync_tables.id in the replica */
	char *name;
	int ncols;    /* synced columns */
	char **cols;
	int npk;
	int pk[HS_MAX_PK]; /* indexes into cols, in primary-key order */
	int intpk;         /* one INTEGER key column: ids made offline collide */
	int nfk;
	hs_fkey *fk;
	/* init --stamp (stamp.h): formats of updated_at and synced_at
	 * (HS_TIME_*, 0: not written), 1 if updated_by gets the user */
	int stamp_at, stamp_by, stamp_synced;
} hs_table;

typedef struct hs_schema {
	int n;
	hs_table *t; /* parents before children (foreign keys) */
} hs_schema;

/* Read table name's columns and primary key from db. HS_OK, or an
 * hs_error with a one-line reason in err: HS_EINVALID for a table hubsync
 * cannot sync (no such table, no primary key, too many key columns), the
 * code of the SQLite failure (error.h) when the schema cannot be read. */
int hs_table_load(sqlite3 *db, const char *name, hs_table *t, hs_buf *err);
void hs_table_clear(hs_table *t);
/* 1 if table has a column called col (synced or not). */
int hs_table_has_column(sqlite3 *db, const char *table, const char *col);
/* 1 if table has a declared primary key. */
int hs_table_has_pk(sqlite3 *db, const char *table);
/* The default of column col of table as SQL text (malloc'd), or NULL. */
char *hs_column_default(sqlite3 *db, const char *table, const char *col);
/* 1 if table has a UNIQUE constraint or index besides its primary key. */
int hs_table_has_unique(sqlite3 *db, const char *table);

/* The columns of one UNIQUE index (besides the primary key). */
#define HS_MAX_SET 16
typedef struct hs_colset {
	int n;
	int col[HS_MAX_SET]; /* indexes into t->cols */
} hs_colset;

/* The UNIQUE indexes of t made of synced columns only (expression
 * indexes and ones on local columns are left out), up to max of them,
 * into sets; *n receives how many. Returns a SQLite code. */
int hs_table_unique_sets(sqlite3 *db, const hs_table *t, hs_colset *sets,
			 int max, int *n);

/* Add column col of the replica rdb's table t to the same table in db,
 * declared as in rdb (its type and default, no constraint). */
int hs_table_add_column_like(sqlite3 *db, sqlite3 *rdb, const hs_table *t,
			     const char *col);
/* The CREATE TABLE statement of table name in db (malloc'd) or NULL. */
char *hs_table_create_sql(sqlite3 *db, const char *name);

/* Index of column name in t->cols, or -1. */
int hs_table_col(const hs_table *t, const char *name);

/* Load every table listed in hubsync_tables, parents first. HS_OK or an
 * hs_error with err set, as hs_table_load. */
int hs_schema_load(sqlite3 *db, hs_schema *s, hs_buf *err);
/* The same, leaving out the tables for which skip(ctx, name) is 1. */
int hs_schema_load_some(sqlite3 *db, hs_schema *s,
			int (*skip)(void *ctx, const char *table),
			void *skip_ctx, hs_buf *err);
void hs_schema_clear(hs_schema *s);
/* The table called name, or NULL. */
hs_table *hs_schema_find(const hs_schema *s, const char *name);

/* Create the hubsync_* metadata tables and sync_log in a replica if they
 * are missing, and add the columns a replica made by an older version
 * lacks. Returns a SQLite code. */
int hs_schema_create_meta(sqlite3 *db);
/* 1 if db has a table called name, 0 if not, -1 on a read error (never
 * take that for "not there"). */
int hs_table_exists(sqlite3 *db, const char *name);

/* 1 if fk references parent's single-column primary key. */
int hs_fkey_targets_pk(const hs_fkey *fk, const hs_table *parent);
/* 1 if fk of child references parent's integer key column. */
int hs_fkey_targets_key(const hs_fkey *fk, const hs_table *parent);

/* Append "SELECT c1, c2, ... FROM table" (every synced column). */
void hs_table_select(const hs_table *t, hs_buf *b);

/* Append "WHERE k1 = ?i AND ..." for t's primary key, binding from index
 * first. */
void hs_table_pk_where(const hs_table *t, hs_buf *b, int first);

#endif
