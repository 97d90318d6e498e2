/*
 * stamp.c - the bookkeeping columns of `init --stamp` (see stamp.h).
 *
 * A column's format is told, in this order, by its newest non-NULL value
 * (an integer: seconds, or milliseconds from 10^11 up; a text: ISO-8601
 * with 'T', or "YYYY-MM-DD HH:MM:SS"), by its default (CURRENT_TIMESTAMP,
 * unixepoch/strftime('%s')), by its declared type (INT...: seconds), and
 * else ISO-8601 (what the original app wrote). Never a type change.
 */
#include "stamp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The format of a time column from its newest value, or -1 if empty. */
static int format_of_values(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	hs_buf b;
	int fmt = -1;
	hs_buf_init(&b);
	hs_buf_puts(&b, "SELECT ");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, " FROM ");
	hs_buf_ident(&b, table);
	hs_buf_puts(&b, " WHERE ");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, " IS NOT NULL LIMIT 1");
	if (!b.oom && hs_prepare(db, &st, b.s) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			int type = sqlite3_column_type(st, 0);
			const char *s = (const char *)sqlite3_column_text(st, 0);
			int64_t v = sqlite3_column_int64(st, 0);
			if (type == SQLITE_INTEGER)
				fmt = v >= 100000000000LL || v <= -100000000000LL
					      ? HS_TIME_EPOCH_MS : HS_TIME_EPOCH_S;
			else if (type == SQLITE_TEXT && s && strlen(s) >= 19)
				fmt = s[10] == 'T' ? HS_TIME_ISO
				      : s[10] == ' ' ? HS_TIME_SQL : HS_TIME_NONE;
			else
				fmt = HS_TIME_NONE; /* reals, blobs: the app's own */
		}
		sqlite3_finalize(st);
	}
	hs_buf_free(&b);
	return fmt;
}

/* Declared type and default of a column (malloc'd, may be NULL). */
static void declaration(sqlite3 *db, const char *table, const char *col,
			char **type, char **dflt)
{
	sqlite3_stmt *st;
	*type = *dflt = NULL;
	if (hs_prepare(db, &st, "SELECT type, dflt_value FROM"
				" pragma_table_xinfo(?1) WHERE name = ?2") != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*type = hs_strdup((const char *)sqlite3_column_text(st, 0));
		*dflt = hs_strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
}

static int contains(const char *s, const char *what)
{
	size_t n = strlen(what);
	for (; s && *s; s++)
		if (strncasecmp(s, what, n) == 0)
			return 1;
	return 0;
}

static int time_format(sqlite3 *db, const char *table, const char *col)
{
	int fmt = format_of_values(db, table, col);
	char *type, *dflt;
	if (fmt >= 0)
		return fmt;
	declaration(db, table, col, &type, &dflt);
	if (contains(dflt, "CURRENT_TIMESTAMP"))
		fmt = HS_TIME_SQL;
	else if (contains(dflt, "unixepoch") || contains(dflt, "'%s'"))
		fmt = HS_TIME_EPOCH_S;
	else if (contains(type, "INT"))
		fmt = HS_TIME_EPOCH_S;
	else if (contains(type, "REAL") || contains(type, "FLOA") ||
		 contains(type, "DOUB") || contains(type, "BLOB"))
		fmt = HS_TIME_NONE;
	else
		fmt = HS_TIME_ISO;
	free(type);
	free(dflt);
	return fmt;
}

/* 1 if updated_by holds names (text); 0 if numbers (a user id of the
 * app's, which hubsync cannot know). */
static int user_format(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	hs_buf b;
	char *type, *dflt;
	int fmt = -1;
	hs_buf_init(&b);
	hs_buf_puts(&b, "SELECT typeof(");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, ") FROM ");
	hs_buf_ident(&b, table);
	hs_buf_puts(&b, " WHERE ");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, " IS NOT NULL LIMIT 1");
	if (!b.oom && hs_prepare(db, &st, b.s) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			fmt = strcmp((const char *)sqlite3_column_text(st, 0),
				     "text") == 0;
		sqlite3_finalize(st);
	}
	hs_buf_free(&b);
	if (fmt >= 0)
		return fmt;
	declaration(db, table, col, &type, &dflt);
	fmt = !contains(type, "INT") && !contains(type, "REAL") &&
	      !contains(type, "NUM");
	free(type);
	free(dflt);
	return fmt;
}

int hs_stamp_setup(sqlite3 *db, const char *table, int id)
{
	static const char *cols[3][2] = {{"updated_at", "DATETIME"},
					 {"updated_by", "TEXT"},
					 {"synced_at", "DATETIME"}};
	int fmt[3], rc = SQLITE_OK;
	hs_buf b, added;
	sqlite3_stmt *st;
	hs_buf_init(&b);
	hs_buf_init(&added);
	for (int i = 0; i < 3 && rc == SQLITE_OK; i++) {
		if (hs_table_has_column(db, table, cols[i][0]))
			continue;
		hs_buf_reset(&b);
		hs_buf_puts(&b, "ALTER TABLE ");
		hs_buf_ident(&b, table);
		hs_buf_printf(&b, " ADD COLUMN %s %s", cols[i][0], cols[i][1]);
		rc = b.oom ? SQLITE_NOMEM : hs_exec(db, b.s);
		hs_buf_printf(&added, "%s%s", added.len ? "," : "", cols[i][0]);
	}
	fmt[0] = time_format(db, table, cols[0][0]);
	fmt[1] = user_format(db, table, cols[1][0]);
	fmt[2] = time_format(db, table, cols[2][0]);
	if (rc == SQLITE_OK)
		rc = hs_prepare(db, &st, "UPDATE hubsync_tables SET stamp_at = ?1,"
					 " stamp_by = ?2, stamp_synced = ?3,"
					 " added = coalesce(added, ?4) WHERE id = ?5");
	if (rc == SQLITE_OK) {
		for (int i = 0; i < 3; i++)
			sqlite3_bind_int(st, i + 1, fmt[i]);
		if (added.len)
			sqlite3_bind_text(st, 4, added.s, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, id);
		rc = hs_step_done(st);
		sqlite3_finalize(st);
	}
	if (b.oom || added.oom)
		rc = SQLITE_NOMEM;
	hs_buf_free(&b);
	hs_buf_free(&added);
	return rc;
}

void hs_stamp_text(int fmt, int64_t ms, char out[32])
{
	out[0] = 0;
	if (fmt == HS_TIME_ISO) {
		hs_iso_time(ms, out);
	} else if (fmt == HS_TIME_SQL) {
		hs_iso_time(ms, out); /* 2025-01-15T10:30:00.000Z */
		out[10] = ' ';
		out[19] = 0;
	}
}

sqlite3_value *hs_stamp_value(sqlite3_stmt *select1, int fmt, int64_t ms)
{
	char text[32];
	if (fmt == HS_TIME_EPOCH_S)
		return hs_value_int(select1, ms / 1000);
	if (fmt == HS_TIME_EPOCH_MS)
		return hs_value_int(select1, ms);
	hs_stamp_text(fmt, ms, text);
	return text[0] ? hs_value_text(select1, text) : NULL;
}
