/*
 * capture.h - change capture by plain SQL triggers (see docs/INTERNALS.md).
 */
#ifndef HS_CAPTURE_H
#define HS_CAPTURE_H

#include "schema.h"

/* Operations recorded in hubsync_changes.op. */
enum {
	HS_OP_INSERT = 1,
	HS_OP_UPDATE = 2,
	HS_OP_DELETE = 3,
	HS_OP_EXISTING = 4 /* a row already there when tracking started */
};

/* (Re)create the three capture triggers of t (t->id must be set).
 * Returns a SQLite code. */
int hs_capture_install(sqlite3 *db, const hs_table *t);
/* Drop t's triggers. */
int hs_capture_remove(sqlite3 *db, const char *table);
/* Queue every row now in t for the next push, stamped at wall_ms. */
int hs_capture_existing(sqlite3 *db, const hs_table *t, int64_t wall_ms);

#endif
