/*
 * wire.h - the byte format of hubsync's sync protocol (wire.c has the
 * format at its top; docs/PROTOCOL.md the whole protocol): a stream of
 * typed frames, compressed with zstd, written and read incrementally so
 * that memory stays bounded whatever the size of a sync.
 *
 * Writing: hs_wire_out_init, then per frame hs_wire_frame, the hs_wire_put_*
 * of its fields, hs_wire_end; hs_wire_out_finish writes the END frame and
 * ends the compressed stream. Errors are sticky (w->err): check once at
 * the end. Reading: hs_wire_in_init, then hs_wire_next per frame and the
 * hs_wire_get_* of its fields; errors are sticky too (in->err, in->msg).
 */
#ifndef HS_WIRE_H
#define HS_WIRE_H

#include "changes.h"
#include "merge.h"
#include "rows.h"
#include "util.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HS_WIRE_VERSION 1
#define HS_WIRE_MAGIC "HSW1"
#define HS_WIRE_MAX_FRAME (256u << 20) /* bytes of one frame's payload */
#define HS_WIRE_CONTENT_TYPE "application/x-hubsync"
#define HS_WIRE_ROWSEL 8 /* row statements a reader keeps */

/* Frame types (docs/PROTOCOL.md): requests and their results share the
 * letter. */
enum {
	HS_F_END = 0,
	HS_F_HELLO = 'H',
	HS_F_QUERY = 'Q',
	HS_F_ENSURE = 'E',
	HS_F_BEGIN = 'B',
	HS_F_REGISTER = 'R',
	HS_F_TOKEN = 'T',
	HS_F_MERGE = 'M',
	HS_F_PUSHROW = 'r',
	HS_F_RESOLVE = 'V',
	HS_F_PUSHED = 'P',
	HS_F_RESERVE = 'N',
	HS_F_HOUSEKEEP = 'K',
	HS_F_PULL = 'L',
	HS_F_SITES = 'S',
	HS_F_COMMIT = 'C',
	HS_F_ROWS = 'W',
	HS_F_PULLROW = 'w',
	HS_F_HISTROW = 'h', /* an audit trail entry in a ROWS answer */
	HS_F_RULES = 'J',
	HS_F_ERROR = 'X',
};

/* Where a writer's compressed bytes go: 0 on success, -1 on failure. */
typedef int (*hs_wire_write_fn)(void *ctx, const void *p, size_t n);
/* Where a reader's compressed bytes come from: bytes read (at most n),
 * 0 at the end, -1 on failure. */
typedef long (*hs_wire_read_fn)(void *ctx, void *p, size_t n);

typedef struct hs_wire_out {
	hs_wire_write_fn write;
	void *ctx;
	void *z;            /* ZSTD_CCtx */
	hs_buf frame;       /* the payload being built */
	int type;
	unsigned char *zbuf;
	size_t zcap;
	uint64_t raw, sent; /* bytes before and after compression */
	int err;
} hs_wire_out;

/* Start a stream (writes the magic). level: zstd's (1..19). */
int hs_wire_out_init(hs_wire_out *w, hs_wire_write_fn fn, void *ctx, int level);
void hs_wire_frame(hs_wire_out *w, int type);
void hs_wire_put_uint(hs_wire_out *w, uint64_t v);
void hs_wire_put_int(hs_wire_out *w, int64_t v);
/* A text that may be NULL. */
void hs_wire_put_text(hs_wire_out *w, const char *s);
void hs_wire_put_value(hs_wire_out *w, sqlite3_value *v);
void hs_wire_put_rowset(hs_wire_out *w, const hs_rowset *rs);
/* Hand the frame to the compressor (and, now and then, to the sink). */
int hs_wire_end(hs_wire_out *w);
/* The frame as bytes (type, length, payload) appended to out, not
 * compressed: frames kept aside, handed to hs_wire_out_raw later. */
int hs_wire_end_raw(hs_wire_out *w, hs_buf *out);
/* Compress n bytes that are frames already (spooled frames, tests). */
int hs_wire_out_raw(hs_wire_out *w, const void *p, size_t n);
/* Flush what is compressed so far to the sink (a reader waiting on it). */
int hs_wire_flush(hs_wire_out *w);
/* Write the END frame and end the stream. 0 or -1 (also on an earlier
 * error). */
int hs_wire_out_finish(hs_wire_out *w);
void hs_wire_out_free(hs_wire_out *w);

typedef struct hs_wire_in {
	hs_wire_read_fn read;
	void *ctx;
	void *z;                /* ZSTD_DCtx */
	unsigned char *in;      /* compressed bytes read, not yet used */
	size_t incap, inpos, inlen;
	int in_eof;
	int zdone;              /* the compressed stream ended */
	unsigned char *out;     /* decompressed bytes not yet used */
	size_t outcap, outpos, outlen;
	unsigned char *frame;   /* the current frame's payload */
	size_t flen, fcap, pos;
	int type;
	int ended;              /* the END frame was read */
	uint64_t raw;           /* decompressed bytes so far */
	sqlite3_stmt *select1;  /* makes the values read (util.h) */
	sqlite3_stmt *rowsel[HS_WIRE_ROWSEL]; /* rows of n values, by n */
	int rowsel_n[HS_WIRE_ROWSEL];
	int err;
	char msg[160];
} hs_wire_in;

/* Start reading (checks the magic); select1 is borrowed. -1 on failure. */
int hs_wire_in_init(hs_wire_in *in, hs_wire_read_fn fn, void *ctx,
		    sqlite3_stmt *select1);
/* Read the next frame: its type (> 0), 0 at the END frame, -1 on error
 * (in->msg; a stream cut short is an error). */
int hs_wire_next(hs_wire_in *in);
uint64_t hs_wire_get_uint(hs_wire_in *in);
int64_t hs_wire_get_int(hs_wire_in *in);
/* A malloc'd text, or NULL (a NULL was sent, or an error). */
char *hs_wire_get_text(hs_wire_in *in);
/* An owned value (sqlite3_value_free), NULL on error. */
sqlite3_value *hs_wire_get_value(hs_wire_in *in);
/* Append the rows of a rowset to rs. -1 on error. */
int hs_wire_get_rowset(hs_wire_in *in, hs_rowset *rs);
/* A count read from the frame, checked against what is left of it (each
 * item needs at least one byte): -1 and an error when it cannot be. */
int64_t hs_wire_get_count(hs_wire_in *in);
void hs_wire_in_free(hs_wire_in *in);

/* Push rows (replica -> master, HS_F_PUSHROW) and pulled rows (master ->
 * replica, HS_F_PULLROW), one frame each, carrying their table index,
 * key width and column count. Reading appends the row to cs with owned
 * values; -1 on error (cs as before). */
void hs_wire_put_pushrow(hs_wire_out *w, const hs_rowchange *rc, int npk);
int hs_wire_get_pushrow(hs_wire_in *in, hs_changeset *cs, int *npk);
void hs_wire_put_pullrow(hs_wire_out *w, const hs_rowchange *rc, int npk);
int hs_wire_get_pullrow(hs_wire_in *in, hs_changeset *cs, int *npk);

/* Merge rules (the office's JSON columns): n, then (table, column, key,
 * json) each. Reading appends to r; -1 on error. */
void hs_wire_put_rules(hs_wire_out *w, const hs_merge_rules *r);
int hs_wire_get_rules(hs_wire_in *in, hs_merge_rules *r);

/* Report a protocol error on in (sticky; the first one stays). */
void hs_wire_fail(hs_wire_in *in, const char *msg);

#endif
