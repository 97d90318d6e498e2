/*
 * peers.c - the office's PCs: every site that syncs with this replica's
 * master, who uses it, when it last synced and whether it is behind.
 *
 * The master keeps the registry (hubsync_sites, see hs_master_sites); each
 * sync brings the whole small list back and keeps it in the replica, in
 * the pull's transaction, so the list reads offline and costs the master
 * nothing between syncs:
 *
 *   hubsync_peers(site TEXT PRIMARY KEY, user TEXT,
 *                 last_sync INTEGER,   -- ms since 1970, NULL: unknown
 *                 synced_seq INTEGER,  -- the master's sequence it had then
 *                 master_seq INTEGER)  -- the master's sequence at our pull
 *
 * A site is behind when synced_seq < master_seq: changes reached the
 * master after its last sync (as far as this replica knew at its own last
 * sync). Before the first sync the list holds this PC alone.
 */
#include "peers.h"

#include "json.h"
#include "replica.h"

#include <stdlib.h>
#include <string.h>

const char *const HS_PEERS_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_peers(site TEXT PRIMARY KEY,"
	" user TEXT, last_sync INTEGER, synced_seq INTEGER,"
	" master_seq INTEGER) WITHOUT ROWID;";

int hs_peers_store(sqlite3 *db, const hs_rowset *sites)
{
	int sr = hs_exec(db, HS_PEERS_DDL);
	if (sr == SQLITE_OK)
		sr = hs_exec(db, "DELETE FROM hubsync_peers");
	if (sr == SQLITE_OK)
		sr = hs_rowset_insert(db, "INSERT OR REPLACE INTO hubsync_peers("
					  "site, user, last_sync, synced_seq,"
					  " master_seq) VALUES(?1, ?2, ?3, ?4, ?5)",
				      sites);
	return sr;
}

/* {"site", "user", "lastSyncTime", "thisPc", "behind"} */
static json_t *peer_json(const char *site, const char *user, int64_t last,
			 int this_pc, int behind)
{
	char when[32];
	hs_iso_time(last, when);
	return json_pack("{s:s, s:s?, s:o, s:b, s:b}", "site", site, "user",
			 user, "lastSyncTime",
			 last > 0 ? json_string(when) : json_null(), "thisPc",
			 this_pc, "behind", behind);
}

int hs_replica_peers_json(hs_replica *r, char **out)
{
	char *site = NULL, *user = NULL;
	json_t *a = NULL;
	sqlite3_stmt *st = NULL;
	int rc, sr, seen_self = 0;

	*out = NULL;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	site = hs_meta_get(r->db, "site");
	user = hs_meta_get(r->db, "user");
	a = json_array();
	if (!site || !a) {
		rc = hs_fail(r, HS_ERROR, "cannot read the sync setup of %s",
			     r->path);
		goto cleanup;
	}
	sr = SQLITE_OK;
	if (hs_query_int(r->db, "SELECT count(*) FROM sqlite_master WHERE"
				" name = 'hubsync_peers'", 0, &sr) > 0)
		sr = hs_prepare(r->db, &st, "SELECT site, user, last_sync,"
					    " synced_seq < master_seq FROM"
					    " hubsync_peers ORDER BY site = ?1 DESC,"
					    " last_sync DESC, user, site");
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot read the office's PCs");
		goto cleanup;
	}
	if (st) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(st, 0);
			int self = s && strcmp(s, site) == 0;
			seen_self |= self;
			json_array_append_new(
				a, peer_json(s ? s : "",
					     (const char *)sqlite3_column_text(st, 1),
					     sqlite3_column_int64(st, 2), self,
					     sqlite3_column_int(st, 3)));
		}
		if (sr != SQLITE_DONE) {
			rc = hs_fail_sqlite(r, sr, "cannot read the office's PCs");
			goto cleanup;
		}
	}
	if (!seen_self) /* never synced (or re-registered): this PC first */
		json_array_insert_new(a, 0,
				      peer_json(site, user,
						hs_meta_get_int(r->db, "last_sync", 0),
						1, 0));
	*out = hs_json_dump(a);
	a = NULL;
	rc = *out ? HS_OK : hs_fail(r, HS_ERROR, "out of memory");
cleanup:
	sqlite3_finalize(st);
	json_decref(a);
	free(site);
	free(user);
	return rc;
}
