/*
 * catalog.c - load the component price list CSV into the components table
 * (mapping and row rules in catalog.h).
 */
#include "catalog.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "csv.h"

enum catalog_kind { K_TEXT, K_MONEY, K_INT, K_REAL };

static const struct catalog_map {
	const char *header;
	const char *column;
	enum catalog_kind kind;
} catalog_map[] = {
	{ "PART#", "sku", K_TEXT }, /* first: the primary key */
	{ "PART", "partAbbrev", K_TEXT },
	{ "DESCRIPTION", "description", K_TEXT },
	{ "ASSEMBLY", "category", K_TEXT },
	{ "VNDR", "vendor", K_TEXT },
	{ "VNDR#", "vndrnum", K_TEXT },
	{ "COST", "price", K_MONEY },
	{ "UNIT", "uom", K_TEXT },
	{ "VOLT", "volt", K_INT },
	{ "PHASE", "phase", K_INT },
	{ "AMPS", "amps", K_REAL },
	{ "TAGS", "tags", K_TEXT },
	{ "NOTES", "notes", K_TEXT },
	{ "LAST PRICE UPDATE", "lastPriceUpdate", K_TEXT },
	{ "MANUAL Link", "manualLink", K_TEXT },
};
#define CATALOG_NMAP (sizeof(catalog_map) / sizeof(catalog_map[0]))

/* Trim blanks (space, tab, CR, LF) from both ends of s[0..*len). */
static const char *catalog_trim(const char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

/*
 * The number at the start of s[0..len) ("24 VAC" -> 24, "10.0A" -> 10.0):
 * digits with an optional fraction. Returns 0, or -1 if s does not start
 * with a digit.
 */
static int catalog_leading_number(const char *s, size_t len, double *out)
{
	double v = 0, scale = 1;
	size_t i = 0;

	if (len == 0 || !isdigit((unsigned char)s[0]))
		return -1;
	for (; i < len && isdigit((unsigned char)s[i]); i++)
		v = v * 10 + (s[i] - '0');
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		}
	*out = v;
	return 0;
}

/* A part number needs at least one letter or digit ("~~~~" is a ruler). */
static int catalog_has_sku(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (isalnum((unsigned char)s[i]))
			return 1;
	return 0;
}

/* Bind field f (mapped as kind) to parameter p; counts price problems. */
static int catalog_bind(sqlite3_stmt *st, int p, enum catalog_kind kind,
			const char *f, size_t len, hs_catalog_stats *stats)
{
	int64_t cents;
	double num;
	int rc;

	f = catalog_trim(f, &len);
	switch (kind) {
	case K_MONEY:
		rc = hs_money_parse(f, len, &cents, NULL, 0);
		if (rc == 0)
			return sqlite3_bind_double(st, p, (double)cents / 100);
		if (len == 0)
			stats->price_empty++;
		else
			stats->price_bad++;
		return sqlite3_bind_null(st, p);
	case K_INT:
		if (catalog_leading_number(f, len, &num) == 0 && num < 1e15)
			return sqlite3_bind_int64(st, p, (sqlite3_int64)num);
		return sqlite3_bind_null(st, p);
	case K_REAL:
		if (catalog_leading_number(f, len, &num) == 0)
			return sqlite3_bind_double(st, p, num);
		return sqlite3_bind_null(st, p);
	case K_TEXT:
	default:
		if (len == 0)
			return sqlite3_bind_null(st, p);
		return sqlite3_bind_text(st, p, f, (int)len, SQLITE_TRANSIENT);
	}
}

/*
 * From the header record, find the CSV column of every mapped header (-1:
 * absent) and build the upsert statement over the present ones.
 */
static int catalog_prepare(sqlite3 *db, hs_csv *csv, int col[CATALOG_NMAP],
			   sqlite3_stmt **out, char *err, size_t errlen)
{
	sqlite3_str *cols, *vals, *upd;
	char *a, *b, *c, *sql = NULL;
	size_t i, j;
	int rc;

	for (i = 0; i < CATALOG_NMAP; i++) {
		col[i] = -1;
		for (j = 0; j < hs_csv_nfields(csv); j++) {
			size_t len;
			const char *h = catalog_trim(hs_csv_field(csv, j, &len),
						     &len);

			if (len == strlen(catalog_map[i].header) &&
			    strncasecmp(h, catalog_map[i].header, len) == 0) {
				col[i] = (int)j;
				break;
			}
		}
	}
	if (col[0] < 0) {
		snprintf(err, errlen, "catalog: no PART# column in the header "
			 "line (the part number is the components' key)");
		return -1;
	}

	cols = sqlite3_str_new(db);
	vals = sqlite3_str_new(db);
	upd = sqlite3_str_new(db);
	for (i = 0; i < CATALOG_NMAP; i++) {
		if (col[i] < 0)
			continue;
		sqlite3_str_appendf(cols, "%s, ", catalog_map[i].column);
		sqlite3_str_appendf(vals, "?%d, ", (int)i + 1);
		sqlite3_str_appendf(upd, "%s = excluded.%s, ",
				    catalog_map[i].column,
				    catalog_map[i].column);
	}
	a = sqlite3_str_finish(cols);
	b = sqlite3_str_finish(vals);
	c = sqlite3_str_finish(upd);
	if (a && b && c)
		sql = sqlite3_mprintf(
			"INSERT INTO components (%screated_at, updated_at) "
			"VALUES (%s" HS_APP_NOW ", " HS_APP_NOW ") "
			"ON CONFLICT (sku) DO UPDATE SET %s"
			"updated_at = excluded.updated_at", a, b, c);
	sqlite3_free(a);
	sqlite3_free(b);
	sqlite3_free(c);
	if (!sql) {
		snprintf(err, errlen, "catalog: out of memory");
		return -1;
	}
	rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "catalog: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int catalog_count(sqlite3 *db, int *n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM components", -1,
				    &st, NULL);

	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int hs_catalog_load(sqlite3 *db, const char *data, size_t len,
		    hs_catalog_stats *st, char *err, size_t errlen)
{
	hs_csv *csv = NULL;
	sqlite3_stmt *ins = NULL;
	int col[CATALOG_NMAP];
	int before = 0, after = 0, stored = 0;
	int rc = -1, step;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "catalog: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (catalog_count(db, &before) < 0) {
		snprintf(err, errlen, "catalog: %s", sqlite3_errmsg(db));
		goto cleanup;
	}
	if (hs_csv_new(&csv, data, len) < 0) {
		snprintf(err, errlen, "catalog: out of memory");
		goto cleanup;
	}
	step = hs_csv_next(csv);
	if (step == 0) {
		snprintf(err, errlen, "catalog: the file is empty (expected a "
			 "header line naming PART#, COST, ...)");
		goto cleanup;
	}
	if (step < 0)
		goto csv_error;
	if (catalog_prepare(db, csv, col, &ins, err, errlen) < 0)
		goto cleanup;

	while ((step = hs_csv_next(csv)) == 1) {
		size_t flen;
		const char *sku;

		/* A blank line is no record of the list. */
		if (hs_csv_nfields(csv) == 1) {
			hs_csv_field(csv, 0, &flen);
			if (flen == 0)
				continue;
		}
		st->rows++;
		sku = hs_csv_field(csv, (size_t)col[0], &flen);
		if (!catalog_has_sku(sku, flen)) {
			st->no_sku++;
			continue;
		}
		sqlite3_reset(ins);
		for (i = 0; i < CATALOG_NMAP; i++) {
			const char *f;

			if (col[i] < 0)
				continue;
			f = hs_csv_field(csv, (size_t)col[i], &flen);
			if (catalog_bind(ins, (int)i + 1, catalog_map[i].kind,
					 f, flen, st) != SQLITE_OK)
				break;
		}
		if (i < CATALOG_NMAP || sqlite3_step(ins) != SQLITE_DONE) {
			snprintf(err, errlen, "catalog line %zu: %s",
				 hs_csv_line(csv), sqlite3_errmsg(db));
			goto cleanup;
		}
		stored++;
	}
	if (step < 0)
		goto csv_error;
	if (catalog_count(db, &after) < 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "catalog: %s", sqlite3_errmsg(db));
		goto cleanup;
	}
	st->components = after;
	st->repeated = stored - (after - before);
	rc = 0;
	goto cleanup;

csv_error:
	snprintf(err, errlen, "catalog: %s", hs_csv_errmsg(csv));
cleanup:
	sqlite3_finalize(ins);
	hs_csv_free(csv);
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
