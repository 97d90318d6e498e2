/*
 * mergeset.h - the office's `hubsync merge` setting as a replica keeps it
 * (which columns merge inside JSON): the changes made here, waiting for
 * the next sync, and the office's rules as of the last sync (mergeset.c).
 */
#ifndef HS_MERGESET_H
#define HS_MERGESET_H

#include "store.h"

#include <sqlite3.h>

/* The changes of the setting made on this PC and not yet at the master
 * into set, and their stored text into *sent (malloc'd, NULL when none).
 * SQLite code. */
int hs_mergeset_pending(sqlite3 *db, hs_merge_rules *set, char **sent);

/* After a sync (inside the replica's write transaction): keep all as the
 * office's rules, and forget the changes whose text was sent (changes
 * made meanwhile stay for the next sync). SQLite code. */
int hs_mergeset_store(sqlite3 *db, const hs_merge_rules *all,
		      const char *sent);

#endif
