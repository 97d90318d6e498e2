/*
 * peers.h - the office's PCs as this replica last saw them (private).
 */
#ifndef HS_PEERS_H
#define HS_PEERS_H

#include "rows.h"

#include <sqlite3.h>

/* hubsync_peers (hs_exec, CREATE ... IF NOT EXISTS): made with the
 * replica's metadata (hs_schema_create_meta), and again where it is
 * written (a replica an older hubsync made). */
extern const char *const HS_PEERS_DDL;

/*
 * Replace the replica's list of PCs with sites, the rows of
 * hs_master_sites (site, user, last_sync, synced_seq, master seq). Inside
 * the pull's write transaction. SQLite code.
 */
int hs_peers_store(sqlite3 *db, const hs_rowset *sites);

#endif
