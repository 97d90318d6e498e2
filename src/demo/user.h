/*
 * user.h - one simulated Craft Tools Hub user: the app's own SQLite
 * connection to the user's database (how the app writes), the hubsync
 * handle on the same file (public API only), and totals of the user's syncs
 * for the demo report.
 */
#ifndef HS_DEMO_USER_H
#define HS_DEMO_USER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "hubsync.h"

typedef struct demo_user {
	const char *name;
	char path[PATH_MAX];
	sqlite3 *app;    /* the app's connection */
	hs_replica *rep; /* NULL until demo_user_init */
	int online;      /* the demo skips offline users' syncs */
	int64_t quote_ready; /* the quote number the app holds ready (0: none) */

	/* Totals over this user's syncs, and the last sync's counts. */
	int syncs;
	int64_t pulled, pushed, conflicts;
	double sync_ms;
	int64_t last_pulled, last_pushed, last_conflicts;
} demo_user;

/*
 * Install the app for user `name` at dir/<name>.db: schema and seed rows. Returns 0 or -1 with err set.
 */
int demo_user_install(demo_user *u, const char *dir, const char *name,
		      char *err, size_t errlen);

/* Open the database with hubsync and run init against master. */
int demo_user_init(demo_user *u, const char *master, char *err,
		   size_t errlen);

/*
 * One sync. Adds the result's stats to the totals; on failure err gets the
 * sync's own message. Returns 0 or -1.
 */
int demo_user_sync(demo_user *u, char *err, size_t errlen);

/*
 * Quote numbers come from the office-wide numbered series "quote"
 * (hs_replica_number_next on the user's replica): unique across PCs even
 * offline, because each PC draws from blocks of numbers it reserved from
 * the master while online (20 numbers a block by default; every sync tops
 * the PC up when less than half a block is left).
 *
 * Like the app's new-quote form, the demo keeps one number ready per user.
 * demo_user_ready_quote_number draws it if none is ready: call it once while
 * the share is reachable, so that the PC reserves its first block (a PC
 * that never drew from a series holds no numbers of it). After that,
 * demo_user_quote_number hands out the ready number and draws the next one
 * from the PC's own block, with no master needed until the block runs out.
 * Both return 0, or -1 with err set to the library's message.
 */
#define DEMO_QUOTE_SERIES "quote"
int demo_user_ready_quote_number(demo_user *u, char *err, size_t errlen);
int demo_user_quote_number(demo_user *u, int64_t *out, char *err,
			   size_t errlen);

/*
 * An app write as the user: SQL from fmt (sqlite3_mprintf style, %Q for
 * text). Waits 2 ms afterwards, so that every edit of the demo has its own
 * millisecond and "the later edit wins" is well defined.
 */
int demo_user_write(demo_user *u, char *err, size_t errlen,
		    const char *fmt, ...);

/*
 * The first column of the first row of a query on db, as text into buf
 * ("NULL" for SQL NULL, "(no row)" when there is none, "(error: ...)" when
 * the query fails). fmt is sqlite3_mprintf style. demo_user_value queries
 * the user's database through the app's connection.
 */
const char *demo_db_value(sqlite3 *db, char *buf, size_t buflen,
			  const char *fmt, ...);
const char *demo_user_value(demo_user *u, char *buf, size_t buflen,
			    const char *fmt, ...);

/* Close both connections. */
void demo_user_close(demo_user *u);

#endif
