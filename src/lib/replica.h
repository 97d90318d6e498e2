/*
 * replica.h - the body of the hs_replica handle and the failure helper that
 * every module uses to set the handle's message (private).
 */
#ifndef HS_REPLICA_H
#define HS_REPLICA_H

#include "error.h"
#include "hubsync.h"
#include "util.h"

#include <sqlite3.h>

struct hs_replica {
	sqlite3 *db;
	char *path;
	hs_clock_fn clock;
	void *clock_ctx;
	int busy_timeout_ms;
	char err[1024];
	char warn[1024]; /* hs_replica_warning */
};

/* Set r's warning (replacing it) from fmt; "" clears it. */
void hs_warn(hs_replica *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Set r's message from fmt and return code (so: return hs_fail(...)). */
int hs_fail(hs_replica *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Map a SQLite result on r->db to an hs_error and set the message
 * "what: sqlite message". */
int hs_fail_sqlite(hs_replica *r, int sqlite_rc, const char *what);

/* Now, from the injected clock or the system clock. */
int64_t hs_now_ms(const hs_replica *r);

/* hubsync_meta key of a server master's token (hs_init_options.token). */
#define HS_META_SERVER_TOKEN "server_token"

/* Metadata key/value in hubsync_meta. get returns a malloc'd string or NULL. */
char *hs_meta_get(sqlite3 *db, const char *key);
/* Same, telling a missing key (SQLITE_OK, *out NULL) from a read error. */
int hs_meta_read(sqlite3 *db, const char *key, char **out);
int64_t hs_meta_get_int(sqlite3 *db, const char *key, int64_t dflt);
int hs_meta_set(sqlite3 *db, const char *key, const char *value);
int hs_meta_set_int(sqlite3 *db, const char *key, int64_t value);

/* HS_OK if r was initialised by hs_replica_init, else a failure message. */
int hs_replica_check_init(hs_replica *r);

#endif
