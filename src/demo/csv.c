/*
 * csv.c - RFC 4180 CSV reader and money parser (see csv.h for the accepted
 * format).
 *
 * The reader keeps the fields of the current record in one growing text
 * buffer: each field is copied there unescaped and followed by a NUL, and
 * starts[i] / lens[i] locate field i. Both buffers are reused from record to
 * record, so reading a file costs a few allocations in total.
 *
 * Line numbers count LF, CRLF and lone CR alike, including line breaks inside
 * quoted fields, so an error names the line an editor shows.
 */
#include "csv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubsync.h"

struct hs_csv {
	const char *buf;
	size_t len;
	size_t pos;      /* next byte to read */
	size_t line;     /* line of buf[pos], 1-based */
	size_t rec_line; /* line where the current record starts */

	char *text; /* unescaped fields, each NUL-terminated */
	size_t text_len, text_cap;
	size_t *starts, *lens; /* per field: offset into text, length */
	size_t nfields, fields_cap;

	int err; /* sticky error code, 0 if none */
	char errmsg[200];
};

static int csv_fail(hs_csv *csv, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int csv_fail(hs_csv *csv, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(csv->errmsg, sizeof(csv->errmsg), fmt, ap);
	va_end(ap);
	csv->err = code;
	return code;
}

int hs_csv_new(hs_csv **out, const char *buf, size_t len)
{
	hs_csv *csv;

	*out = NULL;
	csv = calloc(1, sizeof(*csv));
	if (!csv)
		return HS_ERROR;
	csv->buf = buf;
	csv->len = buf ? len : 0;
	csv->line = 1;
	/* A UTF-8 byte order mark is not part of the first field. */
	if (csv->len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		csv->pos = 3;
	*out = csv;
	return 0;
}

void hs_csv_free(hs_csv *csv)
{
	if (!csv)
		return;
	free(csv->text);
	free(csv->starts);
	free(csv->lens);
	free(csv);
}

/* Append one byte to the text buffer. */
static int csv_put(hs_csv *csv, char c)
{
	if (csv->text_len == csv->text_cap) {
		size_t cap = csv->text_cap ? csv->text_cap * 2 : 256;
		char *p;

		if (cap < csv->text_cap)
			return csv_fail(csv, HS_ERROR, "out of memory");
		p = realloc(csv->text, cap);
		if (!p)
			return csv_fail(csv, HS_ERROR, "out of memory");
		csv->text = p;
		csv->text_cap = cap;
	}
	csv->text[csv->text_len++] = c;
	return 0;
}

/* Close the field that started at text offset start. */
static int csv_end_field(hs_csv *csv, size_t start)
{
	if (csv->nfields == csv->fields_cap) {
		size_t cap = csv->fields_cap ? csv->fields_cap * 2 : 16;
		size_t *s, *l;

		if (cap > SIZE_MAX / sizeof(size_t))
			return csv_fail(csv, HS_ERROR, "out of memory");
		s = realloc(csv->starts, cap * sizeof(size_t));
		if (!s)
			return csv_fail(csv, HS_ERROR, "out of memory");
		csv->starts = s;
		l = realloc(csv->lens, cap * sizeof(size_t));
		if (!l)
			return csv_fail(csv, HS_ERROR, "out of memory");
		csv->lens = l;
		csv->fields_cap = cap;
	}
	csv->starts[csv->nfields] = start;
	csv->lens[csv->nfields] = csv->text_len - start;
	csv->nfields++;
	return csv_put(csv, '\0');
}

/*
 * At a line break (buf[pos] is CR or LF): step over it, CRLF counting as
 * one, and advance the line number.
 */
static void csv_skip_newline(hs_csv *csv)
{
	if (csv->buf[csv->pos] == '\r' && csv->pos + 1 < csv->len &&
	    csv->buf[csv->pos + 1] == '\n')
		csv->pos++;
	csv->pos++;
	csv->line++;
}

/* Copy a quoted field's content; pos is just after the opening quote. */
static int csv_read_quoted(hs_csv *csv)
{
	size_t open_line = csv->line;
	int rc;

	for (;;) {
		char c;

		if (csv->pos >= csv->len)
			return csv_fail(csv, HS_EINVALID,
				"line %zu: quoted field opened on line %zu is "
				"never closed (add the missing '\"')",
				csv->line, open_line);
		c = csv->buf[csv->pos];
		if (c == '"') {
			if (csv->pos + 1 < csv->len &&
			    csv->buf[csv->pos + 1] == '"') {
				csv->pos += 2; /* "" is one quote */
			} else {
				csv->pos++;
				return 0;
			}
		} else if (c == '\r' || c == '\n') {
			/* Kept as written (CRLF stays CRLF). */
			if (c == '\r' && csv->pos + 1 < csv->len &&
			    csv->buf[csv->pos + 1] == '\n') {
				if ((rc = csv_put(csv, '\r')) < 0)
					return rc;
				c = '\n';
				csv->pos++;
			}
			csv->pos++;
			csv->line++;
		} else {
			csv->pos++;
		}
		if ((rc = csv_put(csv, c)) < 0)
			return rc;
	}
}

int hs_csv_next(hs_csv *csv)
{
	int rc;

	if (csv->err)
		return csv->err;
	csv->nfields = 0;
	csv->text_len = 0;
	if (csv->pos >= csv->len)
		return 0;
	csv->rec_line = csv->line;

	for (;;) {
		size_t start = csv->text_len;

		if (csv->pos < csv->len && csv->buf[csv->pos] == '"') {
			csv->pos++;
			if ((rc = csv_read_quoted(csv)) < 0)
				return rc;
		} else {
			while (csv->pos < csv->len) {
				char c = csv->buf[csv->pos];

				if (c == ',' || c == '\r' || c == '\n')
					break;
				if ((rc = csv_put(csv, c)) < 0)
					return rc;
				csv->pos++;
			}
		}
		if ((rc = csv_end_field(csv, start)) < 0)
			return rc;

		if (csv->pos >= csv->len)
			return 1;
		switch (csv->buf[csv->pos]) {
		case ',':
			csv->pos++;
			break;
		case '\r':
		case '\n':
			csv_skip_newline(csv);
			return 1;
		default: {
			unsigned char c = (unsigned char)csv->buf[csv->pos];

			return csv_fail(csv, HS_EINVALID,
				"line %zu: unexpected '%c' after a closing quote "
				"(write \"\" for a quote inside a quoted field)",
				csv->line, isprint(c) ? c : '?');
		}
		}
	}
}

size_t hs_csv_nfields(const hs_csv *csv)
{
	return csv->nfields;
}

const char *hs_csv_field(const hs_csv *csv, size_t i, size_t *len)
{
	if (i >= csv->nfields) {
		if (len)
			*len = 0;
		return "";
	}
	if (len)
		*len = csv->lens[i];
	return csv->text + csv->starts[i];
}

size_t hs_csv_line(const hs_csv *csv)
{
	return csv->rec_line;
}

const char *hs_csv_errmsg(const hs_csv *csv)
{
	return csv->errmsg;
}

/* Quote at most 40 bytes of s for an error message, '?' for unprintables. */
static void money_quote(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i, n = len > 40 ? 40 : len;
	size_t o = 0;

	if (dstlen < 8)
		return;
	dst[o++] = '"';
	for (i = 0; i < n && o + 5 < dstlen; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[o++] = isprint(c) ? (char)c : '?';
	}
	if (n < len && o + 5 < dstlen) {
		dst[o++] = '.';
		dst[o++] = '.';
		dst[o++] = '.';
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

static int money_fail(int code, char *err, size_t errlen, const char *s,
		      size_t len, const char *why)
{
	char q[64];

	if (err && errlen) {
		money_quote(q, sizeof(q), s, len);
		snprintf(err, errlen, "%s is not an amount (%s; expected "
			 "e.g. $1,234.56)", q, why);
	}
	return code;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int hs_money_parse(const char *s, size_t len, int64_t *cents, char *err,
		   size_t errlen)
{
	const int64_t max_units = INT64_MAX / 100 - 1;
	size_t i = 0, end = s ? len : 0;
	int64_t units = 0, frac = 0;
	int neg = 0, ndigits = 0, nfrac = 0, group = -1;

	while (i < end && is_blank(s[i]))
		i++;
	while (end > i && is_blank(s[end - 1]))
		end--;
	if (i == end) {
		if (err && errlen)
			snprintf(err, errlen, "empty amount");
		return HS_ENOTFOUND;
	}

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i < end && s[i] == '$')
		i++;
	if (!neg && i < end && s[i] == '-') {
		neg = 1;
		i++;
	}

	/* Integer part; group counts digits since the last ',' (-1: none). */
	for (; i < end; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9') {
			if (units > (max_units - (c - '0')) / 10)
				return money_fail(HS_EINVALID, err, errlen, s,
						  len, "too large");
			units = units * 10 + (c - '0');
			ndigits++;
			if (group >= 0)
				group++;
		} else if (c == ',') {
			if (ndigits == 0 || (group >= 0 && group != 3) ||
			    (group < 0 && ndigits > 3))
				return money_fail(HS_EINVALID, err, errlen, s,
						  len, "misplaced ','");
			group = 0;
		} else {
			break;
		}
	}
	if (group >= 0 && group != 3)
		return money_fail(HS_EINVALID, err, errlen, s, len,
				  "misplaced ','");

	if (i < end && s[i] == '.') {
		for (i++; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
			if (++nfrac > 2)
				return money_fail(HS_EINVALID, err, errlen, s,
						  len, "more than two decimals");
			frac = frac * 10 + (s[i] - '0');
		}
		if (nfrac == 0)
			return money_fail(HS_EINVALID, err, errlen, s, len,
					  "no digits after '.'");
		if (nfrac == 1)
			frac *= 10;
	}
	if (ndigits == 0 && nfrac == 0)
		return money_fail(HS_EINVALID, err, errlen, s, len,
				  "no digits");
	if (i != end)
		return money_fail(HS_EINVALID, err, errlen, s, len,
				  "unexpected character");

	*cents = (units * 100 + frac) * (neg ? -1 : 1);
	return 0;
}
