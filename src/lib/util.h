/*
 * util.h - small helpers shared by every module of the library: a growable
 * string buffer, SQL identifier quoting, time formatting and small SQLite
 * helpers. How a failure travels (an hs_error code and a message in an
 * hs_buf *err) is error.h.
 */
#ifndef HS_UTIL_H
#define HS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* A growable NUL-terminated string. On allocation failure the buffer keeps
 * its last good contents and sets oom (sticky): check it once at the end. */
typedef struct hs_buf {
	char *s;
	size_t len, cap;
	int oom;
} hs_buf;

void hs_buf_init(hs_buf *b);
void hs_buf_free(hs_buf *b);
void hs_buf_reset(hs_buf *b);
void hs_buf_puts(hs_buf *b, const char *s);
void hs_buf_putn(hs_buf *b, const char *s, size_t n);
void hs_buf_printf(hs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hs_buf_vprintf(hs_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append name as a quoted SQL identifier: "na""me". */
void hs_buf_ident(hs_buf *b, const char *name);
/* Hand the string to the caller (malloc'd, NULL on oom) and reset b. */
char *hs_buf_take(hs_buf *b);

/* Format ms since 1970 as 2025-01-15T10:30:00.000Z into out[25]. */
void hs_iso_time(int64_t ms, char out[32]);
/* Parse an ISO-8601 or "YYYY-MM-DD HH:MM:SS" UTC time (1970 or later,
 * exact digit counts, a real calendar day); -1 if invalid. */
int64_t hs_parse_time(const char *s);

/* Milliseconds since 1970 from the system clock. */
int64_t hs_system_ms(void);

/* 32 random hex digits from the system (hs_os_random) into out[33]; -1 on
 * failure. */
int hs_random_hex(char out[33]);

/* An element count for calloc: n, or 1 when n is not positive. */
static inline size_t hs_count(int n) { return n > 0 ? (size_t)n : 1; }

/* malloc'd copy of s (NULL stays NULL). */
char *hs_strdup(const char *s);

/* sqlite3_open_v2 for every connection the library opens. The first call
 * in the process turns SQLite's memory statistics off (SQLITE_CONFIG_
 * MEMSTATUS: a global mutex and counters around every allocation, 12-20%
 * of a sync's CPU; nothing here reads them). When the program set SQLite
 * up before, that config call is refused and nothing changes. */
int hs_sqlite_open(const char *path, sqlite3 **db, int flags);
/* Prepare sql on db; on failure returns the SQLite code, *out is NULL. */
int hs_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql);
/* Step st once: SQLITE_OK when it ran (DONE or a row), else the error
 * code of its connection. */
int hs_step_done(sqlite3_stmt *st);
/* Run sql once with ?1..?n bound to the n integers. SQLite code. */
int hs_exec_ints(sqlite3 *db, const char *sql, int n, const int64_t *v);
/* Run sql once with ?1 and ?2 bound to the texts a and b (NULL binds
 * NULL): SQLITE_ROW if it returned a row, SQLITE_OK when done, else the
 * error code. */
int hs_exec_text(sqlite3 *db, const char *sql, const char *a, const char *b);
/* Run one or more statements that return no rows. */
int hs_exec(sqlite3 *db, const char *sql);
/* Run a query returning one integer; dflt if no row. rc via *rc if given. */
int64_t hs_query_int(sqlite3 *db, const char *sql, int64_t dflt, int *rc);

/* The public API has no value constructor: values are made by binding
 * into a prepared "SELECT ?1" (hs_select1_prepare, finalize when done)
 * and duplicating the result. New owned values (sqlite3_value_free);
 * NULL on failure. */
int hs_select1_prepare(sqlite3 *db, sqlite3_stmt **out);
sqlite3_value *hs_value_int(sqlite3_stmt *select1, int64_t v);
sqlite3_value *hs_value_text(sqlite3_stmt *select1, const char *s);
sqlite3_value *hs_value_double(sqlite3_stmt *select1, double d);
/* type SQLITE_TEXT or SQLITE_BLOB (n bytes at p), else NULL. */
sqlite3_value *hs_value_blob(sqlite3_stmt *select1, int type, const void *p,
			     int n);

/* Same value, same type (1 vs 1.0 vs '1' differ; NULL equals NULL). */
int hs_value_same(sqlite3_value *a, sqlite3_value *b);

#endif
