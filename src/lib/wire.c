/*
 * wire.c - the byte format of the sync protocol, version 1 (the requests
 * and their meaning: docs/PROTOCOL.md; who sends what: master_http.c and
 * server.c).
 *
 * A stream (a request body or a response body) is
 *
 *   "HSW1"                     4 bytes, not compressed: magic + version
 *   zstd frame(s)              one zstd stream (with its checksum) holding
 *     frame*                   the frames below, then
 *     END                      type 0, empty: a stream without it was cut
 *                              short and is refused whole
 *
 *   frame   = type:u8 len:uint payload[len]     (len <= 256 MiB)
 *   uint    = unsigned LEB128 (7 bits a byte, low first, at most 10 bytes)
 *   int     = zigzag-encoded int64 as a uint
 *   text    = value of type TEXT or NULL
 *   value   = tag:u8 then   0 NULL | 1 INTEGER int | 2 REAL 8 bytes IEEE-754
 *                           little-endian | 3 TEXT uint len + UTF-8 bytes |
 *                           4 BLOB uint len + bytes
 *   rowset  = ncols:uint nrows:uint value[ncols * nrows]
 *
 *   push row (HS_F_PUSHROW)  = table:uint npk:uint ncols:uint flags:uint
 *       value[npk] (the key) row_hlc:int row_base:int last_id:int
 *       nchanged:uint (col:uint hlc:int base:int)[nchanged]
 *       value[ncols] when alive (flags bit 0)
 *     flags: 1 alive, 2 inserted, 4 born, 8 existing, 16 stamped
 *   pulled row (HS_F_PULLROW) = table:uint npk:uint ncols:uint flags:uint
 *       value[npk] nchanged:uint col:uint[nchanged] value[ncols] when alive
 *     flags: 1 alive, 2 foreign
 *   history entry (HS_F_HISTROW) = value[8] (seq, tbl, key, pk, op, user,
 *       at, changes: a replica's hubsync_history row)
 *
 * Values keep SQLite's type exactly (1, 1.0 and '1' stay distinct).
 * Readers check every count against the bytes left in the frame before
 * allocating, so a hostile stream costs at most the frame limit.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define OUT_CHUNK (64 * 1024)
#define MAX_COLS 32767 /* SQLite's own limit on columns */

/* ---- writing ---------------------------------------------------------- */

int hs_wire_out_init(hs_wire_out *w, hs_wire_write_fn fn, void *ctx, int level)
{
	memset(w, 0, sizeof(*w));
	w->write = fn;
	w->ctx = ctx;
	hs_buf_init(&w->frame);
	w->zcap = ZSTD_CStreamOutSize();
	w->zbuf = malloc(w->zcap);
	w->z = ZSTD_createCCtx();
	if (!w->zbuf || !w->z) {
		w->err = 1;
		return -1;
	}
	ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(w->z, ZSTD_c_checksumFlag, 1);
	if (fn(ctx, HS_WIRE_MAGIC, 4) != 0)
		w->err = 1;
	w->sent = 4;
	return w->err ? -1 : 0;
}

void hs_wire_frame(hs_wire_out *w, int type)
{
	hs_buf_reset(&w->frame);
	w->type = type;
}

static void put_bytes(hs_wire_out *w, const void *p, size_t n)
{
	hs_buf_putn(&w->frame, p, n);
}

void hs_wire_put_uint(hs_wire_out *w, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(w, b, n);
}

void hs_wire_put_int(hs_wire_out *w, int64_t v)
{
	hs_wire_put_uint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void hs_wire_put_text(hs_wire_out *w, const char *s)
{
	unsigned char tag = s ? 3 : 0;
	put_bytes(w, &tag, 1);
	if (s) {
		size_t n = strlen(s);
		hs_wire_put_uint(w, n);
		put_bytes(w, s, n);
	}
}

void hs_wire_put_value(hs_wire_out *w, sqlite3_value *v)
{
	unsigned char tag;
	int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
	switch (type) {
	case SQLITE_INTEGER:
		tag = 1;
		put_bytes(w, &tag, 1);
		hs_wire_put_int(w, sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_value_double(v);
		uint64_t u;
		unsigned char b[8];
		memcpy(&u, &d, 8);
		for (int i = 0; i < 8; i++)
			b[i] = (unsigned char)(u >> (8 * i));
		tag = 2;
		put_bytes(w, &tag, 1);
		put_bytes(w, b, 8);
		break;
	}
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = type == SQLITE_TEXT
					? (const void *)sqlite3_value_text(v)
					: sqlite3_value_blob(v);
		size_t n = (size_t)sqlite3_value_bytes(v);
		tag = type == SQLITE_TEXT ? 3 : 4;
		put_bytes(w, &tag, 1);
		hs_wire_put_uint(w, n);
		if (n)
			put_bytes(w, p, n);
		break;
	}
	default:
		tag = 0;
		put_bytes(w, &tag, 1);
	}
}

void hs_wire_put_rowset(hs_wire_out *w, const hs_rowset *rs)
{
	hs_wire_put_uint(w, (uint64_t)rs->ncols);
	hs_wire_put_uint(w, rs->n);
	for (size_t i = 0; i < rs->n * (size_t)rs->ncols; i++)
		hs_wire_put_value(w, rs->v[i]);
}

/* Compress n bytes at p (mode: ZSTD_e_continue, _flush or _end) and hand
 * the output to the sink. */
static int compress(hs_wire_out *w, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t left;
	if (w->err)
		return -1;
	w->raw += n;
	do {
		ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
		left = ZSTD_compressStream2(w->z, &out, &in, mode);
		if (ZSTD_isError(left)) {
			w->err = 1;
			return -1;
		}
		if (out.pos) {
			if (w->write(w->ctx, w->zbuf, out.pos) != 0) {
				w->err = 1;
				return -1;
			}
			w->sent += out.pos;
		}
	} while (mode == ZSTD_e_continue ? in.pos < in.size : left != 0);
	return 0;
}

/* The frame's head (type, length) into head; its size. */
static size_t frame_head(const hs_wire_out *w, unsigned char head[11])
{
	size_t n = 1;
	uint64_t len = w->frame.len;
	head[0] = (unsigned char)w->type;
	do {
		head[n] = (unsigned char)(len & 0x7f);
		len >>= 7;
		if (len)
			head[n] |= 0x80;
		n++;
	} while (len);
	return n;
}

int hs_wire_end(hs_wire_out *w)
{
	unsigned char head[11];
	size_t n;
	if (w->frame.oom || w->frame.len > HS_WIRE_MAX_FRAME)
		w->err = 1;
	if (w->err)
		return -1;
	n = frame_head(w, head);
	if (compress(w, head, n, ZSTD_e_continue) != 0)
		return -1;
	return w->frame.len ? compress(w, w->frame.s, w->frame.len, ZSTD_e_continue)
			    : 0;
}

int hs_wire_end_raw(hs_wire_out *w, hs_buf *out)
{
	unsigned char head[11];
	size_t n;
	if (w->frame.oom || w->frame.len > HS_WIRE_MAX_FRAME)
		return -1;
	n = frame_head(w, head);
	hs_buf_putn(out, (const char *)head, n);
	if (w->frame.len)
		hs_buf_putn(out, w->frame.s, w->frame.len);
	return out->oom ? -1 : 0;
}

int hs_wire_out_raw(hs_wire_out *w, const void *p, size_t n)
{
	return compress(w, p, n, ZSTD_e_continue);
}

int hs_wire_flush(hs_wire_out *w)
{
	return compress(w, "", 0, ZSTD_e_flush);
}

int hs_wire_out_finish(hs_wire_out *w)
{
	hs_wire_frame(w, HS_F_END);
	if (hs_wire_end(w) != 0)
		return -1;
	return compress(w, "", 0, ZSTD_e_end);
}

void hs_wire_out_free(hs_wire_out *w)
{
	ZSTD_freeCCtx(w->z);
	free(w->zbuf);
	hs_buf_free(&w->frame);
	w->z = NULL;
	w->zbuf = NULL;
}

/* ---- reading ---------------------------------------------------------- */

void hs_wire_fail(hs_wire_in *in, const char *msg)
{
	if (!in->err)
		snprintf(in->msg, sizeof in->msg, "%s", msg);
	in->err = 1;
}

/* Read exactly n raw (compressed) bytes: the magic. */
static int read_raw(hs_wire_in *in, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		long r = in->read(in->ctx, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int hs_wire_in_init(hs_wire_in *in, hs_wire_read_fn fn, void *ctx,
		    sqlite3_stmt *select1)
{
	char magic[4];
	memset(in, 0, sizeof(*in));
	in->read = fn;
	in->ctx = ctx;
	in->select1 = select1;
	in->incap = ZSTD_DStreamInSize();
	in->outcap = ZSTD_DStreamOutSize();
	in->in = malloc(in->incap);
	in->out = malloc(in->outcap);
	in->z = ZSTD_createDCtx();
	if (!in->in || !in->out || !in->z) {
		hs_wire_fail(in, "out of memory");
		return -1;
	}
	if (read_raw(in, magic, 4) != 0) {
		hs_wire_fail(in, "the stream is empty or cut short");
		return -1;
	}
	if (memcmp(magic, "HSW", 3) != 0) {
		hs_wire_fail(in, "not a hubsync stream");
		return -1;
	}
	if (memcmp(magic, HS_WIRE_MAGIC, 4) != 0) {
		snprintf(in->msg, sizeof in->msg, "hubsync protocol version %c is "
			 "not one this hubsync speaks (%d): update hubsync",
			 magic[3], HS_WIRE_VERSION);
		in->err = 1;
		return -1;
	}
	return 0;
}

/* One step: read compressed bytes when none are left, decompress what
 * fits into in->out (*made bytes). -1 on an error (in->msg). */
static int step(hs_wire_in *in, size_t *made)
{
	*made = 0;
	if (in->inpos == in->inlen && !in->in_eof) {
		long r = in->read(in->ctx, in->in, in->incap);
		if (r < 0) {
			hs_wire_fail(in, "the connection broke");
			return -1;
		}
		in->inpos = 0;
		in->inlen = (size_t)r;
		in->in_eof = r == 0;
	}
	ZSTD_inBuffer zi = {in->in, in->inlen, in->inpos};
	ZSTD_outBuffer zo = {in->out, in->outcap, 0};
	size_t rc = ZSTD_decompressStream(in->z, &zo, &zi);
	in->inpos = zi.pos;
	if (ZSTD_isError(rc)) {
		hs_wire_fail(in, "the stream is damaged (bad compression or checksum)");
		return -1;
	}
	if (rc == 0)
		in->zdone = 1; /* the zstd frame ended, its checksum checked */
	in->outpos = 0;
	in->outlen = zo.pos;
	in->raw += zo.pos;
	*made = zo.pos;
	if (!zo.pos && !in->zdone && in->in_eof && in->inpos == in->inlen) {
		hs_wire_fail(in, "the stream was cut short");
		return -1;
	}
	return 0;
}

/* Make more decompressed bytes available. 0, or -1 (in->msg). */
static int refill(hs_wire_in *in)
{
	size_t made = 0;
	while (!in->err && !made) {
		if (in->zdone) {
			hs_wire_fail(in, "the stream was cut short");
			return -1;
		}
		if (step(in, &made) != 0)
			return -1;
	}
	return in->err ? -1 : 0;
}

/* After END: nothing may follow, and the zstd frame must end whole (its
 * checksum is read last). */
static int check_end(hs_wire_in *in)
{
	size_t made = 0;
	if (in->outpos != in->outlen)
		goto trailing;
	while (!in->zdone) {
		if (step(in, &made) != 0)
			return -1;
		if (made)
			goto trailing;
	}
	return 0;
trailing:
	hs_wire_fail(in, "the stream is damaged (data after its end)");
	return -1;
}

static int next_byte(hs_wire_in *in)
{
	if (in->outpos == in->outlen && refill(in) != 0)
		return -1;
	return in->out[in->outpos++];
}

int hs_wire_next(hs_wire_in *in)
{
	uint64_t len = 0;
	int c, shift = 0;
	if (in->err)
		return -1;
	if (in->ended)
		return 0;
	if ((c = next_byte(in)) < 0)
		return -1;
	in->type = c;
	do {
		if ((c = next_byte(in)) < 0)
			return -1;
		if (shift > 35) {
			hs_wire_fail(in, "the stream is damaged (frame length)");
			return -1;
		}
		len |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	if (len > HS_WIRE_MAX_FRAME) {
		hs_wire_fail(in, "the stream is damaged (a frame is too long)");
		return -1;
	}
	in->flen = 0;
	in->pos = 0;
	while (in->flen < len) {
		if (in->outpos == in->outlen && refill(in) != 0)
			return -1;
		size_t n = in->outlen - in->outpos;
		if (n > len - in->flen)
			n = (size_t)(len - in->flen);
		if (in->flen + n > in->fcap) {
			size_t cap = in->fcap ? in->fcap : 4096;
			while (cap < in->flen + n)
				cap *= 2;
			unsigned char *f = realloc(in->frame, cap);
			if (!f) {
				hs_wire_fail(in, "out of memory");
				return -1;
			}
			in->frame = f;
			in->fcap = cap;
		}
		memcpy(in->frame + in->flen, in->out + in->outpos, n);
		in->outpos += n;
		in->flen += n;
	}
	if (in->type == HS_F_END) {
		if (check_end(in) != 0)
			return -1;
		in->ended = 1;
		return 0;
	}
	return in->type;
}

static const unsigned char *take(hs_wire_in *in, size_t n)
{
	const unsigned char *p;
	if (in->err)
		return NULL;
	if (n > in->flen - in->pos) {
		hs_wire_fail(in, "the stream is damaged (a frame is too short)");
		return NULL;
	}
	p = in->frame + in->pos;
	in->pos += n;
	return p;
}

uint64_t hs_wire_get_uint(hs_wire_in *in)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		const unsigned char *p = take(in, 1);
		if (!p)
			return 0;
		if (shift == 63 && *p > 1)
			break;
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80))
			return v;
	}
	hs_wire_fail(in, "the stream is damaged (a number is too long)");
	return 0;
}

int64_t hs_wire_get_int(hs_wire_in *in)
{
	uint64_t u = hs_wire_get_uint(in);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int64_t hs_wire_get_count(hs_wire_in *in)
{
	uint64_t n = hs_wire_get_uint(in);
	if (in->err)
		return -1;
	if (n > in->flen - in->pos) {
		hs_wire_fail(in, "the stream is damaged (a count is too large)");
		return -1;
	}
	return (int64_t)n;
}

/* The tag and, for TEXT and BLOB, the bytes of a value. */
static int get_raw_value(hs_wire_in *in, int *tag, const unsigned char **p,
			 size_t *n, int64_t *i, double *d)
{
	const unsigned char *t = take(in, 1);
	if (!t)
		return -1;
	*tag = *t;
	switch (*tag) {
	case 0:
		return 0;
	case 1:
		*i = hs_wire_get_int(in);
		return in->err ? -1 : 0;
	case 2: {
		const unsigned char *b = take(in, 8);
		uint64_t u = 0;
		if (!b)
			return -1;
		for (int k = 0; k < 8; k++)
			u |= (uint64_t)b[k] << (8 * k);
		memcpy(d, &u, 8);
		return 0;
	}
	case 3:
	case 4: {
		uint64_t len = hs_wire_get_uint(in);
		if (in->err || len > 0x7fffffff)
			break;
		*n = (size_t)len;
		*p = take(in, *n);
		return *p || !*n ? (in->err ? -1 : 0) : -1;
	}
	}
	hs_wire_fail(in, "the stream is damaged (a value)");
	return -1;
}

char *hs_wire_get_text(hs_wire_in *in)
{
	const unsigned char *p = NULL;
	size_t n = 0;
	int64_t i;
	double d;
	int tag;
	char *s;
	if (get_raw_value(in, &tag, &p, &n, &i, &d) != 0 || tag == 0)
		return NULL;
	if (tag != 3) {
		hs_wire_fail(in, "the stream is damaged (a text was expected)");
		return NULL;
	}
	if (!(s = malloc(n + 1))) {
		hs_wire_fail(in, "out of memory");
		return NULL;
	}
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

sqlite3_value *hs_wire_get_value(hs_wire_in *in)
{
	const unsigned char *p = NULL;
	size_t n = 0;
	int64_t i = 0;
	double d = 0;
	int tag;
	sqlite3_value *v;
	if (get_raw_value(in, &tag, &p, &n, &i, &d) != 0)
		return NULL;
	switch (tag) {
	case 1:
		v = hs_value_int(in->select1, i);
		break;
	case 2:
		v = hs_value_double(in->select1, d);
		break;
	case 3:
	case 4:
		v = hs_value_blob(in->select1, tag == 3 ? SQLITE_TEXT : SQLITE_BLOB,
				  p ? (const void *)p : "", (int)n);
		break;
	default:
		v = hs_value_blob(in->select1, SQLITE_NULL, NULL, 0);
	}
	if (!v)
		hs_wire_fail(in, "out of memory");
	return v;
}

int hs_wire_get_rowset(hs_wire_in *in, hs_rowset *rs)
{
	uint64_t ncols = hs_wire_get_uint(in);
	int64_t nrows = hs_wire_get_count(in);
	if (in->err || ncols > MAX_COLS ||
	    (uint64_t)nrows * ncols > in->flen - in->pos)
		goto bad;
	if (!nrows)
		return 0;
	if (!ncols || (rs->n && (uint64_t)rs->ncols != ncols))
		goto bad;
	if (!rs->n && rs->cap && (uint64_t)rs->ncols != ncols) {
		/* room left by an earlier set that failed: sized for other rows */
		free(rs->v);
		rs->v = NULL;
		rs->cap = 0;
	}
	rs->ncols = (int)ncols;
	for (int64_t r = 0; r < nrows; r++) {
		if (rs->n == rs->cap) {
			size_t cap = rs->cap ? rs->cap * 2 : 16;
			sqlite3_value **v = realloc(rs->v, cap * (size_t)ncols *
								   sizeof(*v));
			if (!v) {
				hs_wire_fail(in, "out of memory");
				return -1;
			}
			rs->v = v;
			rs->cap = cap;
		}
		sqlite3_value **row = &rs->v[rs->n * (size_t)ncols];
		for (int c = 0; c < (int)ncols; c++) {
			row[c] = hs_wire_get_value(in);
			if (!row[c]) {
				while (c-- > 0)
					sqlite3_value_free(row[c]);
				return -1;
			}
		}
		rs->n++;
	}
	return 0;
bad:
	hs_wire_fail(in, "the stream is damaged (a row set)");
	return -1;
}

void hs_wire_in_free(hs_wire_in *in)
{
	for (int i = 0; i < HS_WIRE_ROWSEL; i++) {
		sqlite3_finalize(in->rowsel[i]);
		in->rowsel[i] = NULL;
	}
	ZSTD_freeDCtx(in->z);
	free(in->in);
	free(in->out);
	free(in->frame);
	in->z = NULL;
	in->in = in->out = in->frame = NULL;
}

/* ---- rows ------------------------------------------------------------- */

static void put_head(hs_wire_out *w, const hs_rowchange *rc, int npk,
		     uint64_t flags)
{
	hs_wire_put_uint(w, (uint64_t)rc->table);
	hs_wire_put_uint(w, (uint64_t)npk);
	hs_wire_put_uint(w, (uint64_t)rc->ncols);
	hs_wire_put_uint(w, flags);
}

void hs_wire_put_pushrow(hs_wire_out *w, const hs_rowchange *rc, int npk)
{
	uint64_t n = 0;
	put_head(w, rc, npk, (uint64_t)(rc->alive | rc->inserted << 1 |
					  rc->born << 2 | rc->existing << 3 |
					  rc->stamped << 4));
	for (int k = 0; k < npk; k++)
		hs_wire_put_value(w, rc->pk[k]);
	hs_wire_put_int(w, rc->row_hlc);
	hs_wire_put_int(w, rc->row_base);
	hs_wire_put_int(w, rc->last_id);
	for (int i = 0; i < rc->ncols; i++)
		n += rc->changed[i] != 0;
	hs_wire_put_uint(w, n);
	for (int i = 0; i < rc->ncols; i++) {
		if (!rc->changed[i])
			continue;
		hs_wire_put_uint(w, (uint64_t)i);
		hs_wire_put_int(w, rc->hlc[i]);
		hs_wire_put_int(w, rc->base[i]);
	}
	for (int i = 0; rc->alive && i < rc->ncols; i++)
		hs_wire_put_value(w, rc->vals[i]);
}

void hs_wire_put_pullrow(hs_wire_out *w, const hs_rowchange *rc, int npk)
{
	uint64_t n = 0;
	put_head(w, rc, npk, (uint64_t)(rc->alive | (rc->foreign != 0) << 1));
	for (int k = 0; k < npk; k++)
		hs_wire_put_value(w, rc->pk[k]);
	for (int i = 0; i < rc->ncols; i++)
		n += rc->changed[i] != 0;
	hs_wire_put_uint(w, n);
	for (int i = 0; i < rc->ncols; i++)
		if (rc->changed[i])
			hs_wire_put_uint(w, (uint64_t)i);
	for (int i = 0; rc->alive && i < rc->ncols; i++)
		hs_wire_put_value(w, rc->vals[i]);
}

/* The common head: a new row of cs (NULL on error). */
static hs_rowchange *get_head(hs_wire_in *in, hs_changeset *cs, int *npk,
			      uint64_t *flags)
{
	uint64_t table = hs_wire_get_uint(in);
	uint64_t k = hs_wire_get_uint(in);
	uint64_t ncols = hs_wire_get_uint(in);
	hs_rowchange *rc;
	*flags = hs_wire_get_uint(in);
	if (in->err || table > 0x7fffffff || k < 1 || k > HS_MAX_PK || ncols < 1 ||
	    ncols > MAX_COLS || k > ncols) {
		hs_wire_fail(in, "the stream is damaged (a row)");
		return NULL;
	}
	if (!(rc = hs_changeset_add(cs, (int)table, (int)ncols))) {
		hs_wire_fail(in, "out of memory");
		return NULL;
	}
	*npk = (int)k;
	rc->alive = (int)(*flags & 1);
	for (int i = 0; i < *npk; i++) {
		if (!(rc->pk[i] = hs_wire_get_value(in))) {
			hs_changeset_pop(cs);
			return NULL;
		}
	}
	return rc;
}

/* The changed columns' list: a column index checked against ncols. */
static int get_col(hs_wire_in *in, const hs_rowchange *rc)
{
	uint64_t col = hs_wire_get_uint(in);
	if (in->err || col >= (uint64_t)rc->ncols) {
		hs_wire_fail(in, "the stream is damaged (a column)");
		return -1;
	}
	return (int)col;
}

/* A "SELECT ?1, ..., ?n" statement for rows of n values (cached). */
static sqlite3_stmt *row_select(hs_wire_in *in, int n)
{
	int slot = n % HS_WIRE_ROWSEL;
	hs_buf q;
	if (in->rowsel[slot] && in->rowsel_n[slot] == n)
		return in->rowsel[slot];
	sqlite3_finalize(in->rowsel[slot]);
	in->rowsel[slot] = NULL;
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT ?1");
	for (int i = 2; i <= n; i++)
		hs_buf_printf(&q, ", ?%d", i);
	if (!q.oom)
		hs_prepare(sqlite3_db_handle(in->select1), &in->rowsel[slot], q.s);
	hs_buf_free(&q);
	in->rowsel_n[slot] = n;
	return in->rowsel[slot];
}

/* The values of a live row: bound into one statement, one step, copied
 * out (a value at a time through select1 costs a statement run each). */
static int get_vals(hs_wire_in *in, hs_rowchange *rc)
{
	sqlite3_stmt *st;
	int sr;
	if (!rc->alive)
		return in->err ? -1 : 0;
	if (!(st = row_select(in, rc->ncols))) {
		hs_wire_fail(in, "out of memory");
		return -1;
	}
	for (int i = 0; i < rc->ncols; i++) {
		const unsigned char *p = NULL;
		size_t n = 0;
		int64_t iv = 0;
		double d = 0;
		int tag;
		if (get_raw_value(in, &tag, &p, &n, &iv, &d) != 0) {
			sqlite3_reset(st);
			return -1;
		}
		if (tag == 1)
			sqlite3_bind_int64(st, i + 1, iv);
		else if (tag == 2)
			sqlite3_bind_double(st, i + 1, d);
		else if (tag == 3)
			sqlite3_bind_text(st, i + 1, p ? (const char *)p : "", (int)n,
					  SQLITE_STATIC);
		else if (tag == 4)
			sqlite3_bind_blob(st, i + 1, p ? (const void *)p : "", (int)n,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
	sr = sqlite3_step(st);
	for (int i = 0; sr == SQLITE_ROW && i < rc->ncols; i++)
		if (!(rc->vals[i] = sqlite3_value_dup(sqlite3_column_value(st, i))))
			sr = SQLITE_NOMEM;
	sqlite3_reset(st);
	if (sr != SQLITE_ROW) {
		hs_wire_fail(in, "out of memory");
		return -1;
	}
	return 0;
}

/* The rest of a row after its head: the changed columns (with their
 * clocks, push rows) and the values of a live row. 0, or -1 with the row
 * taken off cs again. */
static int get_body(hs_wire_in *in, hs_changeset *cs, hs_rowchange *rc,
		    int clocks)
{
	int64_t n = hs_wire_get_count(in);
	for (int64_t j = 0; !in->err && j < n; j++) {
		int col = get_col(in, rc);
		if (col < 0)
			break;
		rc->changed[col] = 1;
		if (clocks) {
			rc->hlc[col] = hs_wire_get_int(in);
			rc->base[col] = hs_wire_get_int(in);
		}
	}
	if (!in->err && get_vals(in, rc) == 0)
		return 0;
	hs_changeset_pop(cs);
	return -1;
}

int hs_wire_get_pushrow(hs_wire_in *in, hs_changeset *cs, int *npk)
{
	uint64_t flags;
	hs_rowchange *rc = get_head(in, cs, npk, &flags);
	if (!rc)
		return -1;
	rc->inserted = (int)(flags >> 1 & 1);
	rc->born = (int)(flags >> 2 & 1);
	rc->existing = (int)(flags >> 3 & 1);
	rc->stamped = (int)(flags >> 4 & 1);
	rc->row_hlc = hs_wire_get_int(in);
	rc->row_base = hs_wire_get_int(in);
	rc->last_id = hs_wire_get_int(in);
	return get_body(in, cs, rc, 1);
}

int hs_wire_get_pullrow(hs_wire_in *in, hs_changeset *cs, int *npk)
{
	uint64_t flags;
	hs_rowchange *rc = get_head(in, cs, npk, &flags);
	if (!rc)
		return -1;
	rc->foreign = (int)(flags >> 1 & 1);
	return get_body(in, cs, rc, 0);
}

/* ---- merge rules ------------------------------------------------------ */

void hs_wire_put_rules(hs_wire_out *w, const hs_merge_rules *r)
{
	hs_wire_put_uint(w, r ? r->n : 0);
	for (size_t i = 0; r && i < r->n; i++) {
		hs_wire_put_text(w, r->v[i].table);
		hs_wire_put_text(w, r->v[i].column);
		hs_wire_put_text(w, r->v[i].key);
		hs_wire_put_uint(w, (uint64_t)(r->v[i].json != 0));
	}
}

int hs_wire_get_rules(hs_wire_in *in, hs_merge_rules *r)
{
	int64_t n = hs_wire_get_count(in);
	for (int64_t i = 0; !in->err && i < n; i++) {
		char *t = hs_wire_get_text(in), *c = hs_wire_get_text(in);
		char *k = hs_wire_get_text(in);
		int json = hs_wire_get_uint(in) != 0;
		if (!in->err && (!t || !c))
			hs_wire_fail(in, "the stream is damaged (a merge rule)");
		else if (!in->err && hs_merge_rules_add(r, t, c, json, k) != SQLITE_OK)
			hs_wire_fail(in, "out of memory");
		free(t);
		free(c);
		free(k);
	}
	return in->err ? -1 : 0;
}
