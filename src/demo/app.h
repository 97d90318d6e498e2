/*
 * app.h - the Craft Tools Hub app as the demo plays it: its schema (DESIGN.md
 * section 4), the seed rows every install writes, and its writes through
 * plain SQLite, as the real app does through its own driver. Nothing here
 * knows about hubsync.
 */
#ifndef HS_DEMO_APP_H
#define HS_DEMO_APP_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

/* The app's tables, in a stable order; NULL-terminated. */
extern const char *const hs_app_tables[];

/* SQL expression of the current time as the app writes it: ISO-8601 UTC
 * with milliseconds, 2025-01-15T10:30:00.000Z. app_now() is an SQL function
 * that hs_app_create registers on the connection it returns (a function
 * rather than strftime('%Y...') so that it fits in printf-style formats). */
#define HS_APP_NOW "app_now()"

/*
 * Create a new app database at path (the file must not exist) with the
 * schema and the seed rows, and return an open connection in *out (the
 * caller closes it with sqlite3_close). On failure returns -1, *out is NULL,
 * nothing is left at path and err says why.
 */
int hs_app_create(sqlite3 **out, const char *path, char *err, size_t errlen);

/*
 * Run the SQL built from fmt with sqlite3_mprintf (use %Q for text values:
 * it quotes and escapes; %w for identifiers). Returns 0, or -1 with err set
 * to the statement's error. (No printf format attribute: the compiler does
 * not know %Q and %w.)
 */
int hs_app_exec(sqlite3 *db, char *err, size_t errlen, const char *fmt, ...);
int hs_app_vexec(sqlite3 *db, char *err, size_t errlen, const char *fmt,
		 va_list ap);

/*
 * Format a full quote id of the app, CA{YY}{MM}{DD}{CCC}-{industry}{product}
 * {control}{scope}-{NN}, for the UTC day of `day`, customer code ccc (three
 * digits), the four one-character classification codes in codes, and the
 * sequence nn (0..99). buf must hold at least HS_APP_QUOTE_ID_MAX bytes.
 */
#define HS_APP_QUOTE_ID_MAX 64
void hs_app_quote_id(char *buf, time_t day, const char *ccc,
		     const char *codes, int nn);

/* The main id part of a quote id: CA{YY}{MM}{DD}{CCC}. Same buffer rule. */
void hs_app_quote_main_id(char *buf, time_t day, const char *ccc);

/* A project number, CA{YY}{PO4}{CCC}: the year of `day`, the first four
 * characters of the customer's PO number, the customer code. Same buffer
 * rule. */
void hs_app_project_number(char *buf, time_t day, const char *po4,
			   const char *ccc);

#endif
