/*
 * encode.h - the byte formats of the master's row metadata: primary keys
 * as one blob, and the per-column clocks of a row (formats at the top of
 * encode.c). Every master store keeps them the same way.
 */
#ifndef HS_ENCODE_H
#define HS_ENCODE_H

#include "util.h"

#include <sqlite3.h>

#define HS_CLOCK_BYTES 28

/* The version of one column of a row on the master: the HLC and site of
 * the write that set its value, the sequence at which it was set (vseq)
 * and the newest sequence at which it was announced (seq). */
typedef struct hs_col_clock {
	int64_t hlc;
	int site;
	int64_t vseq, seq;
} hs_col_clock;

/* A row's versions: its existence register (alive, hlc, site, vseq),
 * its newest sequence, and one clock per column. found is 0 for a row the
 * master never had. */
typedef struct hs_row_meta {
	int found, alive;
	int64_t seq, vseq, hlc;
	int site;
	int ncols;
	hs_col_clock *cols;
} hs_row_meta;

/* rm for a table of ncols columns, all zero. SQLite code (NOMEM). */
int hs_row_meta_init(hs_row_meta *rm, int ncols);
void hs_row_meta_clear(hs_row_meta *rm);

/* The key blob of npk values into b (reset first). */
void hs_pk_encode(sqlite3_value **pk, int npk, hs_buf *b);
/* npk owned values from a key blob into out (made with select1, see
 * hs_value_*). -1 if the blob is malformed (out all NULL then). */
int hs_pk_decode(const unsigned char *p, int n, int npk, sqlite3_value **out,
		 sqlite3_stmt *select1);
/* Bind the values of a key blob to st's ?1..?npk, borrowing the blob's
 * bytes (valid while the blob is). -1 if malformed. */
int hs_pk_bind(sqlite3_stmt *st, const unsigned char *p, int n, int npk);
/* The SQL function hubsync_pk(blob, k) on db: value k (from 0) of a key
 * blob, as its own type (NULL past the end or if malformed). Lets a query
 * join a table to its rows' metadata by key. SQLite code. */
int hs_pk_register(sqlite3 *db);

/* The clocks of rm into b (reset first): fixed (28 bytes a column) or
 * compact (formats at the top of encode.c; compact needs rm's row-level
 * hlc, site, vseq and seq to decode). */
void hs_clocks_encode(const hs_row_meta *rm, hs_buf *b);
void hs_clocks_encode_compact(const hs_row_meta *rm, hs_buf *b);
/* Decode n bytes at p (either encoding; rm's row-level fields set first)
 * into the rm->ncols clocks of rm (missing ones zero). -1 (clocks all
 * zero) if a compact blob is malformed. */
int hs_clocks_decode(const unsigned char *p, int n, hs_row_meta *rm);

#endif
