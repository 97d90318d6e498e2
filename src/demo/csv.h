/*
 * csv.h - an RFC 4180 CSV reader over a memory buffer, and a money parser.
 *
 * The reader never reads outside [buf, buf + len) and never needs a NUL
 * terminator, so it can be fed any bytes (it is a fuzz target). It accepts
 * what spreadsheets write:
 *
 *  - fields separated by ',', records ended by LF, CRLF or a lone CR;
 *  - a field that starts with '"' is quoted: it runs to the next '"' that is
 *    not doubled, and may hold commas, line breaks and '""' (one quote);
 *  - a '"' inside an unquoted field is an ordinary character (a"b);
 *  - empty fields anywhere (",,", a trailing ',' gives a last empty field);
 *  - a missing final line break; a UTF-8 byte order mark at the start.
 *
 * A blank line is a record with one empty field. Errors (the reader stops
 * and keeps returning the same error):
 *
 *  - a quoted field with no closing quote ("unterminated quoted field");
 *  - text after a closing quote other than ',' or a line break ("a"b).
 *
 * Field text is returned unescaped and NUL-terminated, with its length (it
 * may itself contain NUL bytes if the input did). It stays valid until the
 * next hs_csv_next or hs_csv_free.
 */
#ifndef HS_DEMO_CSV_H
#define HS_DEMO_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct hs_csv hs_csv;

/*
 * Make a reader over buf[0..len). buf is not copied: it must outlive the
 * reader. Returns 0, or HS_ERROR when memory ran out (*out is then NULL).
 */
int hs_csv_new(hs_csv **out, const char *buf, size_t len);
void hs_csv_free(hs_csv *csv);

/*
 * Read the next record. Returns 1 when a record was read, 0 at the end of
 * the input, HS_EINVALID for malformed input and HS_ERROR when memory ran
 * out; after an error hs_csv_errmsg says what and where, and every further
 * call returns the same error.
 */
int hs_csv_next(hs_csv *csv);

/* Number of fields in the current record (0 before the first record). */
size_t hs_csv_nfields(const hs_csv *csv);

/*
 * Field i of the current record: NUL-terminated text, its length in *len
 * (len may be NULL). An index past the last field gives "" and length 0.
 */
const char *hs_csv_field(const hs_csv *csv, size_t i, size_t *len);

/* The 1-based line on which the current record starts. */
size_t hs_csv_line(const hs_csv *csv);

/* The message of the last error ("" if none). Never NULL. */
const char *hs_csv_errmsg(const hs_csv *csv);

/*
 * Parse a money amount such as "$1,234.56", "1234.5", "-$3", " $0.99 " into
 * cents. Accepted: surrounding blanks, an optional '-' before or after the
 * '$', an optional '$', digits with optional thousands separators (then in
 * groups of three), and at most two decimals.
 *
 * Returns 0 and sets *cents; HS_ENOTFOUND for an empty or blank amount and
 * HS_EINVALID for anything else (too large, "tbd", "1,23", "1.234"). On
 * failure *cents is untouched and, when err is not NULL, err receives a
 * one-line reason (truncated to errlen).
 */
int hs_money_parse(const char *s, size_t len, int64_t *cents, char *err,
		   size_t errlen);

#endif
