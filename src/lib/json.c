/*
 * json.c - SQLite values <-> JSON (see json.h for the mapping).
 */
#include "json.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *blob_json(const unsigned char *p, int n)
{
	static const char hex[] = "0123456789abcdef";
	char *s = malloc((size_t)n * 2 + 1);
	json_t *j;
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		s[2 * i] = hex[p[i] >> 4];
		s[2 * i + 1] = hex[p[i] & 15];
	}
	s[2 * n] = 0;
	j = json_pack("{s:s}", "$blob", s);
	free(s);
	return j;
}

json_t *hs_json_value(sqlite3_value *v)
{
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_value_int64(v));
	case SQLITE_FLOAT:
		return json_real(sqlite3_value_double(v));
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_value_text(v);
		int n = sqlite3_value_bytes(v);
		json_t *j = json_stringn(s, (size_t)n);
		return j ? j : blob_json((const unsigned char *)s, n);
	}
	case SQLITE_BLOB:
		return blob_json(sqlite3_value_blob(v), sqlite3_value_bytes(v));
	default:
		return json_null();
	}
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hs_json_bind(sqlite3_stmt *st, int i, json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_INTEGER:
		return sqlite3_bind_int64(st, i, json_integer_value(j));
	case JSON_REAL:
		return sqlite3_bind_double(st, i, json_real_value(j));
	case JSON_STRING:
		return sqlite3_bind_text(st, i, json_string_value(j),
					 (int)json_string_length(j),
					 SQLITE_TRANSIENT);
	case JSON_TRUE:
	case JSON_FALSE:
		return sqlite3_bind_int(st, i, json_is_true(j));
	case JSON_OBJECT: {
		const char *hex = json_string_value(json_object_get(j, "$blob"));
		size_t len = hex ? strlen(hex) : 0, n = len / 2;
		unsigned char *p;
		if (!hex)
			return sqlite3_bind_null(st, i);
		if (len % 2)
			return SQLITE_MISMATCH; /* not a blob we wrote */
		p = malloc(n ? n : 1);
		if (!p)
			return SQLITE_NOMEM;
		for (size_t k = 0; k < n; k++) {
			int hi = unhex(hex[2 * k]), lo = unhex(hex[2 * k + 1]);
			if (hi < 0 || lo < 0) {
				free(p);
				return SQLITE_MISMATCH;
			}
			p[k] = (unsigned char)(hi << 4 | lo);
		}
		return sqlite3_bind_blob(st, i, p, (int)n, free);
	}
	default:
		return sqlite3_bind_null(st, i);
	}
}

json_t *hs_json_pk(const hs_table *t, sqlite3_value **pk)
{
	json_t *o = json_object();
	for (int i = 0; o && i < t->npk; i++)
		json_object_set_new(o, t->cols[t->pk[i]], hs_json_value(pk[i]));
	return o;
}

void hs_key_text_put(hs_buf *b, sqlite3_value **pk, int npk)
{
	for (int i = 0; i < npk; i++) {
		if (i)
			hs_buf_puts(b, "|");
		switch (sqlite3_value_type(pk[i])) {
		case SQLITE_NULL:
			break;
		case SQLITE_BLOB: {
			const unsigned char *p = sqlite3_value_blob(pk[i]);
			for (int k = 0; k < sqlite3_value_bytes(pk[i]); k++)
				hs_buf_printf(b, "%02x", p[k]);
			break;
		}
		default:
			hs_buf_puts(b, (const char *)sqlite3_value_text(pk[i]));
		}
	}
}

char *hs_key_text(sqlite3_value **pk, int npk)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_key_text_put(&b, pk, npk);
	return hs_buf_take(&b);
}

/* 1 if s (n bytes) is text jansson writes as it is between quotes:
 * printable ASCII without '"' and '\\'. */
static int plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

void hs_json_pk_put(hs_buf *b, const hs_table *t, sqlite3_value **pk)
{
	const char *col = t->npk == 1 ? t->cols[t->pk[0]] : NULL;
	int type = col ? sqlite3_value_type(pk[0]) : SQLITE_NULL;
	const char *v = type == SQLITE_TEXT ? (const char *)sqlite3_value_text(pk[0])
					    : NULL;
	size_t lc = col ? strlen(col) : 0;
	if (col && plain_ascii(col, lc) &&
	    (type == SQLITE_INTEGER ||
	     (v && plain_ascii(v, (size_t)sqlite3_value_bytes(pk[0]))))) {
		/* {"col":"v"} or {"col":123}, without printf's format parsing
		 * (one per audit trail entry a merge writes), put at once
		 * when short */
		char num[24], out[160];
		int q = type == SQLITE_TEXT;
		if (!q) {
			snprintf(num, sizeof num, "%lld",
				 (long long)sqlite3_value_int64(pk[0]));
			v = num;
		}
		size_t lv = strlen(v), n = 0;
		if (lc + lv + 7 <= sizeof out) {
			out[n++] = '{';
			out[n++] = '"';
			memcpy(out + n, col, lc);
			n += lc;
			memcpy(out + n, q ? "\":\"" : "\":", q ? 3 : 2);
			n += q ? 3 : 2;
			memcpy(out + n, v, lv);
			n += lv;
			memcpy(out + n, q ? "\"}" : "}", q ? 2 : 1);
			hs_buf_putn(b, out, n + (q ? 2 : 1));
			return;
		}
	}
	char *s = hs_json_dump(hs_json_pk(t, pk));
	if (s)
		hs_buf_puts(b, s);
	else
		b->oom = 1;
	free(s);
}

char *hs_json_pk_text(const hs_table *t, sqlite3_value **pk)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_json_pk_put(&b, t, pk);
	return hs_buf_take(&b);
}

char *hs_json_dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	return s;
}
