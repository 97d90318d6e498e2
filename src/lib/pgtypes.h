/*
 * pgtypes.h - SQLite values in typed PostgreSQL columns, exactly (the
 * mapping is written at the top of pgtypes.c). Used by the PostgreSQL
 * master (store_pg.c); no libpq here: only the byte formats.
 */
#ifndef HS_PGTYPES_H
#define HS_PGTYPES_H

#include "util.h"

#include <sqlite3.h>

/* The PostgreSQL type of a column, from its SQLite declared type. */
typedef enum hs_pg_kind {
	HS_PG_INTEGER, /* bigint */
	HS_PG_REAL,    /* double precision */
	HS_PG_TEXT,    /* text */
	HS_PG_BLOB     /* bytea */
} hs_pg_kind;

hs_pg_kind hs_pg_kind_of(const char *decltype);
/* "bigint", "double precision", "text" or "bytea". */
const char *hs_pg_type(hs_pg_kind k);

/*
 * One cell of a column of kind k, as sent to PostgreSQL in binary format:
 * the typed value into typed (reset first; *null set when the column
 * gets NULL) and, when v is not of the column's own type, the exact value
 * as tagged text into shadow (reset first; empty when not needed). The
 * typed column then holds v converted for reading (1 in a REAL column as
 * 1.0, a number in a TEXT column as its text) or NULL.
 */
void hs_pg_cell(sqlite3_value *v, hs_pg_kind k, hs_buf *typed, int *null,
		hs_buf *shadow);

/* The value of a cell read back in binary format (p, n; null for NULL),
 * or, when shadow is not NULL, the value it tags. A new owned value made
 * with select1; NULL on failure (out of memory, malformed). */
sqlite3_value *hs_pg_value(sqlite3_stmt *select1, hs_pg_kind k,
			   const char *p, int n, int null, const char *shadow);

/* Any value as tagged text ("i:1", "r:1.0", "t:1", "b:01") into b (reset
 * first); NULL leaves b empty. */
void hs_pg_tag(sqlite3_value *v, hs_buf *b);
/* The value of tagged text s (NULL s: a NULL value); NULL on failure. */
sqlite3_value *hs_pg_untag(sqlite3_stmt *select1, const char *s);

/* 8-byte big-endian integers and doubles of the binary format. */
void hs_pg_put_i64(unsigned char *p, int64_t v);
int64_t hs_pg_get_i64(const unsigned char *p);

/* Append the n bytes at p to b as lowercase hex (what decode(x, 'hex')
 * reads). */
void hs_pg_hex(hs_buf *b, const void *p, size_t n);

/* A postgresql:// address without its password, for messages and logs
 * (malloc'd; NULL when out of memory). */
char *hs_pg_redact(const char *url);

#endif
