/*
 * encode.c - the byte formats of the master's row metadata (encode.h).
 *
 * A primary key (hubsync_rows.pk) is its values one after the other, each
 * as one type byte (1 integer, 2 real, 3 text, 4 blob, 5 null) followed by
 * 8 big-endian bytes (integer, IEEE real) or a 4-byte big-endian length and
 * the bytes (text, blob). Equal keys have equal bytes; the type is part of
 * the key (1 and '1' are two rows).
 *
 * A row's clocks (hubsync_rows.clocks) have two encodings; a reader takes
 * both (the first byte tells them apart: a fixed clock starts with the top
 * byte of a non-negative HLC, below 0x80):
 *
 *  fixed (master format 1, and the PostgreSQL store): for each column of
 *    the table in the master's column order, HS_CLOCK_BYTES = 28
 *    big-endian bytes: hlc (8), site (4), vseq (8), seq (8);
 *  compact (master format 2): the byte 0x81, then for each column one
 *    flags byte and the fields it announces, each an unsigned LEB128:
 *      flags 0x01  the same clock as the column before (nothing follows)
 *            0x02  hlc follows as zigzag(hlc - the row's hlc)
 *            0x04  site follows
 *            0x08  vseq follows as the row's seq - vseq
 *            0x10  seq follows as the row's seq - seq
 *    a field that does not follow is the row's own (hlc, site, vseq, seq:
 *    hubsync_rows' columns, which a reader has first). A row written once
 *    costs one byte a column instead of 28.
 *
 * A blob shorter than the table's columns (a column added later) decodes
 * the missing clocks as zero: set by nobody.
 */
#include "encode.h"

#include <stdlib.h>
#include <string.h>

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void hs_pk_encode(sqlite3_value **pk, int npk, hs_buf *b)
{
	unsigned char h[9];
	hs_buf_reset(b);
	for (int i = 0; i < npk; i++) {
		int t = sqlite3_value_type(pk[i]);
		if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
			uint64_t u;
			if (t == SQLITE_INTEGER) {
				u = (uint64_t)sqlite3_value_int64(pk[i]);
			} else {
				double d = sqlite3_value_double(pk[i]);
				memcpy(&u, &d, 8);
			}
			h[0] = t == SQLITE_INTEGER ? 1 : 2;
			put_be(h + 1, u, 8);
			hs_buf_putn(b, (const char *)h, 9);
		} else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
			int n = sqlite3_value_bytes(pk[i]);
			const void *p = t == SQLITE_TEXT
						? (const void *)sqlite3_value_text(pk[i])
						: sqlite3_value_blob(pk[i]);
			h[0] = t == SQLITE_TEXT ? 3 : 4;
			put_be(h + 1, (uint64_t)n, 4);
			hs_buf_putn(b, (const char *)h, 5);
			hs_buf_putn(b, p ? (const char *)p : "", (size_t)n);
		} else {
			h[0] = 5;
			hs_buf_putn(b, (const char *)h, 1);
		}
	}
}

/* One value of a key blob. */
typedef struct pk_part {
	int type; /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB or _NULL */
	int64_t i;
	double d;
	const unsigned char *s; /* text or blob bytes, borrowed */
	int len;
} pk_part;

/* The value at *pos of the key blob p of n bytes into *out, *pos past
 * it. -1 if malformed. */
static int pk_next(const unsigned char *p, int n, int *pos, pk_part *out)
{
	memset(out, 0, sizeof(*out));
	if (*pos >= n)
		return -1;
	int t = p[(*pos)++];
	if (t == 1 || t == 2) {
		if (*pos + 8 > n)
			return -1;
		uint64_t u = get_be(p + *pos, 8);
		*pos += 8;
		out->type = t == 1 ? SQLITE_INTEGER : SQLITE_FLOAT;
		out->i = (int64_t)u;
		memcpy(&out->d, &u, 8);
	} else if (t == 3 || t == 4) {
		if (*pos + 4 > n)
			return -1;
		int64_t len = (int64_t)get_be(p + *pos, 4);
		*pos += 4;
		if (len > n - *pos)
			return -1;
		out->type = t == 3 ? SQLITE_TEXT : SQLITE_BLOB;
		out->s = p + *pos;
		out->len = (int)len;
		*pos += (int)len;
	} else if (t == 5) {
		out->type = SQLITE_NULL;
	} else {
		return -1;
	}
	return 0;
}

int hs_pk_decode(const unsigned char *p, int n, int npk,
		     sqlite3_value **out, sqlite3_stmt *select1)
{
	int pos = 0;
	pk_part v = {0};
	memset(out, 0, sizeof(*out) * (size_t)npk);
	for (int i = 0; i < npk; i++) {
		if (pk_next(p, n, &pos, &v) != 0)
			goto bad;
		if (v.type == SQLITE_INTEGER)
			out[i] = hs_value_int(select1, v.i);
		else if (v.type == SQLITE_FLOAT)
			out[i] = hs_value_double(select1, v.d);
		else
			out[i] = hs_value_blob(select1, v.type, v.s, v.len);
		if (!out[i])
			goto bad;
	}
	if (pos == n)
		return 0;
bad:
	for (int i = 0; i < npk; i++) {
		sqlite3_value_free(out[i]);
		out[i] = NULL;
	}
	return -1;
}

int hs_pk_bind(sqlite3_stmt *st, const unsigned char *p, int n, int npk)
{
	int pos = 0;
	pk_part v = {0};
	for (int i = 0; i < npk; i++) {
		if (pk_next(p, n, &pos, &v) != 0)
			return -1;
		if (v.type == SQLITE_INTEGER)
			sqlite3_bind_int64(st, i + 1, v.i);
		else if (v.type == SQLITE_FLOAT)
			sqlite3_bind_double(st, i + 1, v.d);
		else if (v.type == SQLITE_TEXT)
			sqlite3_bind_text(st, i + 1, (const char *)v.s, v.len,
					  SQLITE_STATIC);
		else if (v.type == SQLITE_BLOB)
			sqlite3_bind_blob(st, i + 1, v.s, v.len, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, i + 1);
	}
	return pos == n ? 0 : -1;
}

/* hubsync_pk(blob, k): value k (from 0) of a key blob; NULL past its end
 * or for a malformed blob. */
static void sql_pk_part(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *p = sqlite3_value_blob(argv[0]);
	int n = sqlite3_value_bytes(argv[0]), pos = 0;
	int64_t k = sqlite3_value_int64(argv[1]);
	pk_part v = {0};
	(void)argc;
	if (k < 0)
		return; /* NULL */
	for (int64_t i = 0; i <= k; i++)
		if (pk_next(p, n, &pos, &v) != 0)
			return; /* NULL */
	if (v.type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, v.i);
	else if (v.type == SQLITE_FLOAT)
		sqlite3_result_double(ctx, v.d);
	else if (v.type == SQLITE_TEXT)
		sqlite3_result_text(ctx, (const char *)v.s, v.len, SQLITE_TRANSIENT);
	else if (v.type == SQLITE_BLOB)
		sqlite3_result_blob(ctx, v.s, v.len, SQLITE_TRANSIENT);
}

int hs_pk_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "hubsync_pk", 2,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				       sql_pk_part, NULL, NULL);
}

void hs_clocks_encode(const hs_row_meta *rm, hs_buf *b)
{
	unsigned char c[HS_CLOCK_BYTES];
	hs_buf_reset(b);
	for (int i = 0; i < rm->ncols; i++) {
		put_be(c, (uint64_t)rm->cols[i].hlc, 8);
		put_be(c + 8, (uint64_t)(uint32_t)rm->cols[i].site, 4);
		put_be(c + 12, (uint64_t)rm->cols[i].vseq, 8);
		put_be(c + 20, (uint64_t)rm->cols[i].seq, 8);
		hs_buf_putn(b, (const char *)c, HS_CLOCK_BYTES);
	}
}

/* Unsigned LEB128 at c (10 bytes at the most): how many bytes. */
static size_t put_uvar(unsigned char *c, uint64_t v)
{
	size_t n = 0;
	do {
		c[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			c[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* An unsigned LEB128 at p[*pos..n), or -1 when cut short. */
static int get_uvar(const unsigned char *p, int n, int *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && *pos < n; shift += 7) {
		unsigned char c = p[(*pos)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

void hs_clocks_encode_compact(const hs_row_meta *rm, hs_buf *b)
{
	/* bytes gathered here, into b a few columns at a time: a column's
	 * take 36 at the most: its flags, four LEB128 numbers (10, 5, 10, 10) */
	unsigned char c[256];
	size_t n = 0;
	hs_buf_reset(b);
	c[n++] = 0x81;
	for (int i = 0; i < rm->ncols; i++) {
		const hs_col_clock *cc = &rm->cols[i], *prev = i ? cc - 1 : NULL;
		unsigned char f = 0;
		if (n > sizeof c - 36) {
			hs_buf_putn(b, (const char *)c, n);
			n = 0;
		}
		if (prev && cc->hlc == prev->hlc && cc->site == prev->site &&
		    cc->vseq == prev->vseq && cc->seq == prev->seq) {
			c[n++] = 0x01;
			continue;
		}
		f |= cc->hlc != rm->hlc ? 0x02 : 0;
		f |= cc->site != rm->site ? 0x04 : 0;
		f |= cc->vseq != rm->vseq ? 0x08 : 0;
		f |= cc->seq != rm->seq ? 0x10 : 0;
		c[n++] = f;
		if (f & 0x02) {
			int64_t d = (int64_t)((uint64_t)cc->hlc - (uint64_t)rm->hlc);
			n += put_uvar(c + n, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
		}
		if (f & 0x04)
			n += put_uvar(c + n, (uint32_t)cc->site);
		if (f & 0x08)
			n += put_uvar(c + n, (uint64_t)rm->seq - (uint64_t)cc->vseq);
		if (f & 0x10)
			n += put_uvar(c + n, (uint64_t)rm->seq - (uint64_t)cc->seq);
	}
	hs_buf_putn(b, (const char *)c, n);
}

/* The compact encoding (p[0] == 0x81): -1 if malformed. */
static int decode_compact(const unsigned char *p, int n, hs_row_meta *rm)
{
	int pos = 1;
	for (int i = 0; i < rm->ncols; i++) {
		hs_col_clock *c = &rm->cols[i];
		uint64_t v;
		if (pos >= n) { /* a column added later */
			memset(c, 0, sizeof(*c));
			continue;
		}
		unsigned char f = p[pos++];
		if (f & 0x01) {
			if (!i || f != 0x01)
				return -1;
			*c = c[-1];
			continue;
		}
		if (f & ~0x1e)
			return -1;
		c->hlc = rm->hlc;
		c->site = rm->site;
		c->vseq = rm->vseq;
		c->seq = rm->seq;
		if (f & 0x02) {
			if (get_uvar(p, n, &pos, &v) != 0)
				return -1;
			int64_t d = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			c->hlc = (int64_t)((uint64_t)rm->hlc + (uint64_t)d);
		}
		if (f & 0x04) {
			if (get_uvar(p, n, &pos, &v) != 0)
				return -1;
			c->site = (int)(uint32_t)v;
		}
		if (f & 0x08) {
			if (get_uvar(p, n, &pos, &v) != 0)
				return -1;
			c->vseq = (int64_t)((uint64_t)rm->seq - v);
		}
		if (f & 0x10) {
			if (get_uvar(p, n, &pos, &v) != 0)
				return -1;
			c->seq = (int64_t)((uint64_t)rm->seq - v);
		}
	}
	return pos == n ? 0 : -1;
}

int hs_clocks_decode(const unsigned char *p, int n, hs_row_meta *rm)
{
	if (n > 0 && p[0] == 0x81) {
		if (decode_compact(p, n, rm) == 0)
			return 0;
		memset(rm->cols, 0, sizeof(hs_col_clock) * hs_count(rm->ncols));
		return -1;
	}
	for (int i = 0; i < rm->ncols; i++) {
		hs_col_clock *c = &rm->cols[i];
		if ((i + 1) * HS_CLOCK_BYTES > n) {
			memset(c, 0, sizeof(*c));
			continue;
		}
		const unsigned char *q = p + i * HS_CLOCK_BYTES;
		c->hlc = (int64_t)get_be(q, 8);
		c->site = (int)(uint32_t)get_be(q + 8, 4);
		c->vseq = (int64_t)get_be(q + 12, 8);
		c->seq = (int64_t)get_be(q + 20, 8);
	}
	return 0;
}

int hs_row_meta_init(hs_row_meta *rm, int ncols)
{
	memset(rm, 0, sizeof(*rm));
	rm->ncols = ncols;
	rm->cols = calloc(hs_count(ncols), sizeof(hs_col_clock));
	return rm->cols ? SQLITE_OK : SQLITE_NOMEM;
}

void hs_row_meta_clear(hs_row_meta *rm)
{
	free(rm->cols);
	memset(rm, 0, sizeof(*rm));
}
