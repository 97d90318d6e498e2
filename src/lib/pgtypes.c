/*
 * pgtypes.c - SQLite values in typed PostgreSQL columns (pgtypes.h).
 *
 * Each column of a synced table gets the PostgreSQL type of its SQLite
 * declared type, by SQLite's own affinity rules (first match):
 *
 *   contains INT                     bigint
 *   contains CHAR, CLOB or TEXT      text
 *   contains BLOB                    bytea
 *   no declared type                 text (what such columns hold in apps)
 *   contains REAL, FLOA or DOUB      double precision
 *   otherwise (NUMERIC affinity):
 *     contains BOOL                  bigint (0/1)
 *     contains DATE or TIME          text   (CURRENT_TIMESTAMP is text)
 *     else                           double precision
 *
 * SQLite's types are dynamic: a column may hold 1, 1.0, '1', x'01' and
 * NULL at once. A value of the column's own type (an integer in bigint, a
 * real in double precision, UTF-8 text without NUL in text, a blob in
 * bytea) and NULL go in the typed column alone. Any other value is kept
 * exactly in the row's shadow, hubsync_extra jsonb, under the column's
 * name as tagged text:
 *
 *   "i:42"        integer
 *   "r:1.5"       real (shortest text that reads back to the same double)
 *   "t:abc"       text
 *   "x:00ff"      text that PostgreSQL's text cannot hold (a NUL byte, not
 *                 UTF-8), its bytes in hex
 *   "b:00ff"      blob, in hex
 *
 * and the typed column holds the value converted for a reader where that
 * is plain (an integer in a double precision column as a double, a number
 * in a text column as its text, a whole real in a bigint column, text in a
 * bytea column as its bytes), else NULL. Reading a cell: the shadow entry
 * when there is one, else the typed column, whose type gives the SQLite
 * type. So 1, 1.0, '1', x'01' and NULL come back as they went in, and a
 * reporting tool reads ordinary typed columns (the shadow is empty for
 * values of the column's own type: almost always).
 *
 * Conflict values (hubsync.conflicts) use the same tagged text.
 */
#include "pgtypes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int contains(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && (s[i] & ~0x20) == word[i])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

hs_pg_kind hs_pg_kind_of(const char *decl)
{
	if (!decl)
		decl = "";
	if (contains(decl, "INT"))
		return HS_PG_INTEGER;
	if (contains(decl, "CHAR") || contains(decl, "CLOB") ||
	    contains(decl, "TEXT"))
		return HS_PG_TEXT;
	if (contains(decl, "BLOB"))
		return HS_PG_BLOB;
	if (!*decl)
		return HS_PG_TEXT;
	if (contains(decl, "REAL") || contains(decl, "FLOA") ||
	    contains(decl, "DOUB"))
		return HS_PG_REAL;
	if (contains(decl, "BOOL"))
		return HS_PG_INTEGER;
	if (contains(decl, "DATE") || contains(decl, "TIME"))
		return HS_PG_TEXT;
	return HS_PG_REAL;
}

const char *hs_pg_type(hs_pg_kind k)
{
	static const char *const names[] = {"bigint", "double precision",
					    "text", "bytea"};
	return names[k];
}

void hs_pg_put_i64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
}

int64_t hs_pg_get_i64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

static void put_double(hs_buf *b, double d)
{
	unsigned char p[8];
	int64_t v;
	memcpy(&v, &d, 8);
	hs_pg_put_i64(p, v);
	hs_buf_putn(b, (const char *)p, 8);
}

/* 1 if n bytes at p are UTF-8 that PostgreSQL's text accepts: no NUL, no
 * overlong form, no surrogate, nothing above U+10FFFF. */
static int pg_utf8(const unsigned char *p, int n)
{
	for (int i = 0; i < n;) {
		unsigned c = p[i];
		int len;
		unsigned cp;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (int k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/* The shortest %g text of d that reads back as d. */
static void real_text(double d, char out[32])
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, 32, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

void hs_pg_hex(hs_buf *b, const void *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = bytes;
	char h[128];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		h[k++] = digits[p[i] >> 4];
		h[k++] = digits[p[i] & 15];
		if (k == sizeof h) {
			hs_buf_putn(b, h, k);
			k = 0;
		}
	}
	hs_buf_putn(b, h, k);
}

void hs_pg_tag(sqlite3_value *v, hs_buf *b)
{
	char num[32];
	const unsigned char *p;
	int n;
	hs_buf_reset(b);
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		hs_buf_printf(b, "i:%lld", (long long)sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		real_text(sqlite3_value_double(v), num);
		hs_buf_printf(b, "r:%s", num);
		break;
	case SQLITE_TEXT:
		p = sqlite3_value_text(v);
		n = sqlite3_value_bytes(v);
		if (pg_utf8(p, n)) {
			hs_buf_puts(b, "t:");
			hs_buf_putn(b, (const char *)p, (size_t)n);
		} else {
			hs_buf_puts(b, "x:");
			hs_pg_hex(b, p, (size_t)n);
		}
		break;
	case SQLITE_BLOB:
		p = sqlite3_value_blob(v);
		n = sqlite3_value_bytes(v);
		hs_buf_puts(b, "b:");
		hs_pg_hex(b, p ? p : (const unsigned char *)"", (size_t)n);
		break;
	default:
		break;
	}
}

static int unhex(const char *s, unsigned char **out, int *n)
{
	size_t len = strlen(s);
	if (len % 2)
		return -1;
	*out = malloc(len / 2 + 1);
	if (!*out)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[i + (size_t)k];
			int d = c >= '0' && c <= '9'	 ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (d < 0) {
				free(*out);
				return -1;
			}
			v = v << 4 | d;
		}
		(*out)[i / 2] = (unsigned char)v;
	}
	*n = (int)(len / 2);
	return 0;
}

sqlite3_value *hs_pg_untag(sqlite3_stmt *select1, const char *s)
{
	unsigned char *bytes;
	char *end;
	int n;
	if (!s)
		return hs_value_blob(select1, SQLITE_NULL, NULL, 0);
	if (strlen(s) < 2 || s[1] != ':')
		return NULL;
	const char *body = s + 2;
	switch (s[0]) {
	case 'i': {
		long long v = strtoll(body, &end, 10);
		return *body && !*end ? hs_value_int(select1, v) : NULL;
	}
	case 'r': {
		double d = strtod(body, &end);
		return *body && !*end ? hs_value_double(select1, d) : NULL;
	}
	case 't':
		return hs_value_blob(select1, SQLITE_TEXT, body, (int)strlen(body));
	case 'x':
	case 'b': {
		if (unhex(body, &bytes, &n) != 0)
			return NULL;
		sqlite3_value *v = hs_value_blob(
			select1, s[0] == 'x' ? SQLITE_TEXT : SQLITE_BLOB, bytes, n);
		free(bytes);
		return v;
	}
	default:
		return NULL;
	}
}

void hs_pg_cell(sqlite3_value *v, hs_pg_kind k, hs_buf *typed, int *null,
		hs_buf *shadow)
{
	int t = sqlite3_value_type(v);
	char num[32];
	hs_buf_reset(typed);
	hs_buf_reset(shadow);
	*null = 0;
	if (t == SQLITE_NULL) {
		*null = 1;
		return;
	}
	int own = (k == HS_PG_INTEGER && t == SQLITE_INTEGER) ||
		  (k == HS_PG_REAL && t == SQLITE_FLOAT) ||
		  (k == HS_PG_BLOB && t == SQLITE_BLOB) ||
		  (k == HS_PG_TEXT && t == SQLITE_TEXT &&
		   pg_utf8(sqlite3_value_text(v), sqlite3_value_bytes(v)));
	if (!own)
		hs_pg_tag(v, shadow);
	/* the typed column: the value, or what a reader sees of it */
	*null = 1;
	if (k == HS_PG_INTEGER) {
		double d = sqlite3_value_double(v);
		if (t == SQLITE_INTEGER || (t == SQLITE_FLOAT && d > -9.2e18 &&
					    d < 9.2e18 && d == (double)(int64_t)d)) {
			unsigned char p[8];
			hs_pg_put_i64(p, t == SQLITE_INTEGER ? sqlite3_value_int64(v)
							     : (int64_t)d);
			hs_buf_putn(typed, (const char *)p, 8);
			*null = 0;
		}
	} else if (k == HS_PG_REAL) {
		if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
			put_double(typed, sqlite3_value_double(v));
			*null = 0;
		}
	} else if (k == HS_PG_TEXT) {
		if (own) {
			hs_buf_putn(typed, (const char *)sqlite3_value_text(v),
				    (size_t)sqlite3_value_bytes(v));
			*null = 0;
		} else if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
			if (t == SQLITE_INTEGER)
				snprintf(num, sizeof num, "%lld",
					 (long long)sqlite3_value_int64(v));
			else
				real_text(sqlite3_value_double(v), num);
			hs_buf_puts(typed, num);
			*null = 0;
		}
	} else if (t == SQLITE_BLOB || t == SQLITE_TEXT) {
		const void *p = t == SQLITE_BLOB ? sqlite3_value_blob(v)
						 : (const void *)sqlite3_value_text(v);
		hs_buf_putn(typed, p ? p : "", (size_t)sqlite3_value_bytes(v));
		*null = 0;
	}
}

sqlite3_value *hs_pg_value(sqlite3_stmt *select1, hs_pg_kind k,
			   const char *p, int n, int null, const char *shadow)
{
	if (shadow)
		return hs_pg_untag(select1, shadow);
	if (null)
		return hs_value_blob(select1, SQLITE_NULL, NULL, 0);
	switch (k) {
	case HS_PG_INTEGER:
		return n == 8 ? hs_value_int(select1,
					     hs_pg_get_i64((const unsigned char *)p))
			      : NULL;
	case HS_PG_REAL: {
		if (n != 8)
			return NULL;
		int64_t u = hs_pg_get_i64((const unsigned char *)p);
		double d;
		memcpy(&d, &u, 8);
		return hs_value_double(select1, d);
	}
	case HS_PG_TEXT:
		return hs_value_blob(select1, SQLITE_TEXT, p, n);
	default:
		return hs_value_blob(select1, SQLITE_BLOB, p ? p : "", n);
	}
}

char *hs_pg_redact(const char *url)
{
	char *s = hs_strdup(url);
	char *at, *colon, *start = s ? strstr(s, "://") : NULL;
	if (!start)
		return s;
	start += 3;
	at = strchr(start, '@');
	colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
	if (colon)
		memmove(colon, at, strlen(at) + 1);
	return s;
}
