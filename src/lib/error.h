/*
 * error.h - the library's one error channel (private).
 *
 * Inside src/lib a function that can fail returns an hs_error code (HS_OK,
 * or one of the negative codes of include/hubsync.h) and writes a one-line
 * message, saying what failed and what to do, into the hs_buf *err it is
 * given. That is the only way a failure travels between our modules:
 *
 *  - SQLite result codes are turned into hs_error codes where the SQLite
 *    call is made, by hs_err_sqlite (or hs_error_from_sqlite when the
 *    message is worded by the caller): the one mapping. They are never
 *    passed up mixed with hs_error codes. (The store operations of store.h
 *    and the merge rules written on them speak SQLite codes among
 *    themselves, since the PostgreSQL store maps its failures onto them;
 *    the master layer that calls them converts, master.h.)
 *  - "-1 and a message" is not a failure code: return the hs_error that
 *    says what went wrong (HS_EINVALID for a bad request, HS_EIO, ...).
 *  - Outcomes that are not failures (a merge step that must be retried
 *    later, a row not found) are out-parameters or results of their own,
 *    never values mixed into an error code.
 *  - The handle's message (hs_replica_errmsg) and the char **errmsg of the
 *    public functions are set at the public API boundary, from the hs_buf.
 *
 * The HTTP status of a code (the server's answers, the daemon's API) is
 * hs_error_http_status, in the public header.
 */
#ifndef HS_ERROR_H
#define HS_ERROR_H

#include "hubsync.h"
#include "util.h"

#include <sqlite3.h>

/* The hs_error for a SQLite result code (extended codes too): HS_OK for
 * SQLITE_OK, HS_EBUSY busy/locked, HS_ECORRUPT corrupt/not a database,
 * HS_EIO I/O, full, cannot open, read-only; HS_ERROR anything else. */
int hs_error_from_sqlite(int sqlite_rc);

/* Write "what: SQLite's message" into err (db's message, or the code's
 * when db is NULL) and return the hs_error of sqlite_rc (HS_ERROR when
 * sqlite_rc is SQLITE_OK: this is only called on a failure). */
int hs_err_sqlite(hs_buf *err, sqlite3 *db, int sqlite_rc, const char *what);

/* Write fmt into err and return code (so: return hs_errf(err, ...)). */
int hs_errf(hs_buf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At the public API boundary: hand err's message to a char **errmsg (may
 * be NULL; malloc'd, hs_free; NULL on success; fallback when err holds no
 * message, "out of memory" when it ran out) and free err. Returns code. */
int hs_err_out(hs_buf *err, int code, char **errmsg, const char *fallback);

#endif
