/*
 * stamp.h - `init --stamp`: the bookkeeping columns of the original app
 * (updated_at, updated_by, synced_at), added where missing and written in
 * the format each column already holds. Without --stamp hubsync writes
 * none of them (the app's tables are the app's).
 */
#ifndef HS_STAMP_H
#define HS_STAMP_H

#include "schema.h"

/* How a time column holds its times (hubsync_tables.stamp_at/synced). */
enum {
	HS_TIME_NONE = 0,     /* not written by hubsync */
	HS_TIME_ISO = 1,      /* 2025-01-15T10:30:00.000Z */
	HS_TIME_SQL = 2,      /* 2025-01-15 10:30:00 (CURRENT_TIMESTAMP) */
	HS_TIME_EPOCH_S = 3,  /* integer seconds since 1970 */
	HS_TIME_EPOCH_MS = 4  /* integer milliseconds since 1970 */
};

/*
 * Set table t (tracked as hubsync_tables id) up for stamping: add
 * updated_at DATETIME, updated_by TEXT and synced_at DATETIME where
 * missing, and record in hubsync_tables the format each one holds (a
 * column whose format cannot be told, or updated_by holding numbers, is
 * left to the app) and the columns added (uninstall drops them). Returns
 * a SQLite code.
 */
int hs_stamp_setup(sqlite3 *db, const char *table, int id);

/* ms as a value of format fmt (HS_TIME_*), NULL on oom or HS_TIME_NONE. */
sqlite3_value *hs_stamp_value(sqlite3_stmt *select1, int fmt, int64_t ms);
/* ms as text of format fmt into out (for binding); "" for NONE. */
void hs_stamp_text(int fmt, int64_t ms, char out[32]);

#endif
