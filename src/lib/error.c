/*
 * error.c - the one error channel: SQLite codes to hs_error codes, and
 * messages into an hs_buf (see error.h for the rules).
 */
#include "error.h"

#include <stdarg.h>

int hs_error_from_sqlite(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
		return HS_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return HS_EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return HS_ECORRUPT;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return HS_EIO;
	default:
		return HS_ERROR;
	}
}

int hs_err_sqlite(hs_buf *err, sqlite3 *db, int sqlite_rc, const char *what)
{
	int code = hs_error_from_sqlite(sqlite_rc);
	hs_buf_printf(err, "%s: %s", what,
		      db ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc));
	return code == HS_OK ? HS_ERROR : code;
}

int hs_errf(hs_buf *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hs_buf_vprintf(err, fmt, ap);
	va_end(ap);
	return code;
}

int hs_err_out(hs_buf *err, int code, char **errmsg, const char *fallback)
{
	if (errmsg) {
		const char *msg = err->oom ? "out of memory"
				  : err->len ? err->s
					     : fallback;
		*errmsg = code != HS_OK ? hs_strdup(msg) : NULL;
	}
	hs_buf_free(err);
	return code;
}

int hs_error_http_status(int code)
{
	switch (code) {
	case HS_OK:
		return 200;
	case HS_EINVALID:
		return 400;
	case HS_ENOTFOUND:
		return 404;
	case HS_ECONFLICT:
		return 409;
	case HS_ECORRUPT:
		return 422;
	case HS_EBUSY:
		return 423;
	case HS_EIO:
		return 503;
	default:
		return 500;
	}
}
