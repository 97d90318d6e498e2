/*
 * encode.c - the byte formats of the master's row metadata (encode.h).
 *
 * A primary key (hubsync_rows.pk) is its values one after the other, each
 * as one type byte (1 integer, 2 real, 3 text, 4 blob, 5 null) followed by
 * 8 big-endian bytes (integer, IEEE real) or a 4-byte big-endian length and
 * the bytes (text, blob). Equal keys have equal bytes; the type is part of
 * the key (1 and '1' are two rows).
 *
 * A row's clocks (hubsync_rows.clocks) are, for each column of the table in
 * the master's column order, HS_CLOCK_BYTES = 28 big-endian bytes: hlc (8),
 * site (4), vseq (8), seq (8). A blob shorter than the table's columns (a
 * column added later) decodes the missing clocks as zero: set by nobody.
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

int hs_pk_decode(const unsigned char *p, int n, int npk,
		     sqlite3_value **out, sqlite3_stmt *select1)
{
	int pos = 0;
	memset(out, 0, sizeof(*out) * (size_t)npk);
	for (int i = 0; i < npk; i++) {
		if (pos >= n)
			goto bad;
		int t = p[pos++];
		if (t == 1 || t == 2) {
			if (pos + 8 > n)
				goto bad;
			uint64_t u = get_be(p + pos, 8);
			pos += 8;
			if (t == 1) {
				out[i] = hs_value_int(select1, (int64_t)u);
			} else {
				double d;
				memcpy(&d, &u, 8);
				out[i] = hs_value_double(select1, d);
			}
		} else if (t == 3 || t == 4) {
			if (pos + 4 > n)
				goto bad;
			int64_t len = (int64_t)get_be(p + pos, 4);
			pos += 4;
			if (len > n - pos)
				goto bad;
			out[i] = hs_value_blob(select1, t == 3 ? SQLITE_TEXT : SQLITE_BLOB,
					       p + pos, (int)len);
			pos += (int)len;
		} else if (t == 5) {
			out[i] = hs_value_blob(select1, SQLITE_NULL, NULL, 0);
		} else {
			goto bad;
		}
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
	for (int i = 0; i < npk; i++) {
		if (pos >= n)
			return -1;
		int t = p[pos++];
		if (t == 1 || t == 2) {
			if (pos + 8 > n)
				return -1;
			uint64_t u = get_be(p + pos, 8);
			pos += 8;
			if (t == 1) {
				sqlite3_bind_int64(st, i + 1, (sqlite3_int64)u);
			} else {
				double d;
				memcpy(&d, &u, 8);
				sqlite3_bind_double(st, i + 1, d);
			}
		} else if (t == 3 || t == 4) {
			if (pos + 4 > n)
				return -1;
			int64_t len = (int64_t)get_be(p + pos, 4);
			pos += 4;
			if (len > n - pos)
				return -1;
			if (t == 3)
				sqlite3_bind_text(st, i + 1, (const char *)p + pos,
						  (int)len, SQLITE_STATIC);
			else
				sqlite3_bind_blob(st, i + 1, p + pos, (int)len,
						  SQLITE_STATIC);
			pos += (int)len;
		} else if (t == 5) {
			sqlite3_bind_null(st, i + 1);
		} else {
			return -1;
		}
	}
	return pos == n ? 0 : -1;
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

void hs_clocks_decode(const unsigned char *p, int n, hs_row_meta *rm)
{
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
