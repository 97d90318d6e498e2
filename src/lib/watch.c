/*
 * watch.c - the two cheap questions a daemon asks over and over to sync in
 * real time (hubsync.h, "Real time"): did the app commit something to push
 * (hs_replica_changed), and has the server something to pull
 * (hs_replica_wait_master, the long poll of docs/PROTOCOL.md).
 *
 * Neither scans a table. The first reads SQLite's data_version (a counter
 * in the connection, moved by other connections' commits) and the log's
 * last id against the push mark (two indexed lookups). The second reads
 * the replica's pull cursor, then holds no transaction while it waits on
 * the server.
 */
#include "hubsync.h"

#include "master.h"
#include "replica.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_DEFAULT_MS 25000

int hs_replica_changed(hs_replica *r, int64_t *data_version, int *pending)
{
	int sr = SQLITE_OK;
	int rc;
	*data_version = 0;
	if (pending)
		*pending = 0;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	*data_version = hs_query_int(r->db, "PRAGMA data_version", 0, &sr);
	if (sr == SQLITE_OK && pending)
		*pending = hs_query_int(r->db, "SELECT EXISTS (SELECT 1 FROM"
					       " hubsync_changes WHERE id > (SELECT"
					       " pushed FROM hubsync_ctl))",
					0, &sr) != 0;
	if (sr != SQLITE_OK)
		return hs_fail_sqlite(r, sr, "cannot read the replica's changes");
	return HS_OK;
}

int hs_replica_wait_master(hs_replica *r, const hs_wait_options *opts,
			   int *changed)
{
	char *master = NULL, *token = NULL;
	int64_t pulled, seq = 0;
	int timeout = WAIT_DEFAULT_MS, sr = SQLITE_OK, rc;
	hs_buf err;

	*changed = 0;
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		return rc;
	if (opts && (opts->version < 1 || opts->version > HS_WAIT_OPTIONS_VERSION))
		return hs_fail(r, HS_EINVALID, "hs_wait_options of version %d: "
			       "initialise them with HS_WAIT_OPTIONS_INIT",
			       opts->version);
	if (opts && opts->timeout_ms < 0)
		timeout = 0;
	else if (opts && opts->timeout_ms > 0)
		timeout = opts->timeout_ms < HS_SERVER_WAIT_MAX_MS
				  ? opts->timeout_ms
				  : HS_SERVER_WAIT_MAX_MS;
	master = hs_meta_get(r->db, "master");
	token = hs_meta_get(r->db, HS_META_SERVER_TOKEN);
	pulled = hs_query_int(r->db, "SELECT pulled FROM hubsync_ctl", 0, &sr);
	if (sr != SQLITE_OK) {
		rc = hs_fail_sqlite(r, sr, "cannot read the replica's pull cursor");
	} else if (!hs_master_is_url(master)) {
		rc = hs_fail(r, HS_EINVALID, "the master %s is not a sync server: "
			     "it has no real-time channel; sync on a schedule",
			     master ? master : "(none)");
	} else {
		hs_buf_init(&err);
		rc = hs_master_http_wait(master, token, pulled, timeout,
					 opts ? opts->cancel : NULL,
					 opts ? opts->cancel_ctx : NULL, &seq, &err);
		if (rc != 0)
			hs_fail(r, rc, "%s", err.s ? err.s : "the wait failed");
		else
			*changed = seq > pulled;
		hs_buf_free(&err);
	}
	free(master);
	free(token);
	return rc;
}
