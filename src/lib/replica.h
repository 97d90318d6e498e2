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

/* The handle's message is set by the public functions (error.h): from an
 * hs_buf a helper filled (hs_fail_buf), or directly (hs_fail,
 * hs_fail_sqlite). Each returns code. */
int hs_fail(hs_replica *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* r's message from err (when code is a failure). */
int hs_fail_buf(hs_replica *r, int code, const hs_buf *err);
/* A SQLite failure on r->db: the hs_error of sqlite_rc (error.h), and the
 * message "what: sqlite message (path); hint". */
int hs_fail_sqlite(hs_replica *r, int sqlite_rc, const char *what);
/* The same message written into err, for a helper below the public
 * function. */
int hs_replica_err_sqlite(const hs_replica *r, hs_buf *err, int sqlite_rc,
			  const char *what);

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

/* HS_OK if r was initialised by hs_replica_init, else the failure, with
 * its message set on r: the first step of the public functions (only they
 * call it: part of the API boundary, error.h). */
int hs_replica_check_init(hs_replica *r);

#endif
