/*
 * master.h - "a master", as a sync session sees it: one interface, several
 * kinds (DESIGN.md 2). A replica talks to a master and cannot tell which
 * kind it is:
 *   file    a SQLite file on a share (store_file.c), locked with mkdir;
 *           the merge (merge.c) runs on this PC under the lock;
 *   server  hubsync serve, reached over HTTP(S) (the merge runs there);
 *   postgres  PostgreSQL (store_pg.c): postgresql://... (under hubsync
 *           serve, or reached directly); the merge runs in the process
 *           that holds the connection.
 * Each kind fills an hs_master_ops table; the hs_master_* functions below
 * dispatch to it. The master alone decides merges (docs/INTERNALS.md,
 * "Merge rules").
 */
#ifndef HS_MASTER_H
#define HS_MASTER_H

#include "changes.h"
#include "history.h"
#include "lock.h"
#include "merge.h"
#include "pull.h"
#include "rows.h"
#include "schema.h"

/* The file master's formats (store_file.c): what a new master gets, and
 * the oldest this version reads and writes. */
#define HS_MASTER_FORMAT 3
#define HS_MASTER_FORMAT_MIN 1

typedef struct hs_master hs_master;
typedef struct hs_master_ops hs_master_ops;

/* Every kind of master starts with this. */
struct hs_master {
	const hs_master_ops *ops;
};

/* 1 if path names a sync server (http:// or https://). */
int hs_master_is_url(const char *path);

/*
 * Lock and open the master at path (a file), connect to a postgresql://
 * address (the PostgreSQL master), or reach the sync server at an
 * http(s):// address (authenticated with token, which the other kinds
 * ignore). With create, a missing file is created
 * (only init does this). Fails with HS_EIO when the file or its folder is
 * missing (share not mounted), HS_EBUSY when locked too long, HS_ECORRUPT
 * when the file is not a SQLite database or not a hubsync master. The lock
 * is held until hs_master_close.
 */
int hs_master_open(hs_master **out, const char *path, const char *token,
		   int create, int lock_timeout_ms, hs_buf *err);
/* The same, telling waiting (may be NULL) who holds the master while this
 * waits for it (lock.h). */
int hs_master_open_waiting(hs_master **out, const char *path,
			   const char *token, int create, int lock_timeout_ms,
			   hs_lock_wait_fn waiting, void *waiting_ctx,
			   hs_buf *err);
/* Roll back anything uncommitted, unlock, close. Accepts NULL. */
void hs_master_close(hs_master *m);
/* Around streaming the pull's rows (hs_master_pull_rows/_table) after
 * the commit: a consistent read of the master, still under its lock. */
int hs_master_read_begin(hs_master *m, hs_buf *err);
void hs_master_read_end(hs_master *m);
/* The default of the master's column col of table as SQL text
 * (malloc'd), or NULL: the value a row a PC without the column inserts
 * gets. */
char *hs_master_column_default(hs_master *m, const char *table,
			       const char *col);

/*
 * Make the master's table for the replica's table t (rdb: the replica):
 * created with the replica's CREATE TABLE statement when missing; the
 * columns of t it lacks added (an app upgrade on this PC); its primary
 * key checked against t's (another key: a different app's master). *mt
 * receives the master's table as it is (its columns may be more, and in
 * another order, than t's: rows are matched column by name).
 */
int hs_master_ensure_table(hs_master *m, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err);
/* The app's tables the master has, as *out (hs_schema_clear). */
int hs_master_tables(hs_master *m, hs_schema *out, hs_buf *err);
/* The user a server master knows the token as (borrowed), or NULL (a
 * file master: any name). */
const char *hs_master_user(hs_master *m);
/* The master's id (malloc'd; NULL on error): a copy or a restored
 * backup has the same, another master another. */
char *hs_master_id(hs_master *m);
/* 1 if a site other than site syncs as user. */
int hs_master_user_elsewhere(hs_master *m, const char *user, const char *site);
/* 1 if the master knows site with token as its last or previous sync. */
int hs_master_knows(hs_master *m, const char *site, const char *token);

/* Start the master transaction. */
int hs_master_begin(hs_master *m, hs_buf *err);
/* Register the replica site (its user name too) for this transaction:
 * *pushed is the last local change id of it already merged; *token and
 * *prev_token (malloc'd, may be NULL) are the sync tokens last issued to
 * it (see sync.c: they tell a replica restored from a backup). */
int hs_master_register(hs_master *m, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err);
/* Record the token issued in this sync and the one the replica had. */
int hs_master_set_token(hs_master *m, const char *prev, const char *token,
			hs_buf *err);
int hs_master_commit(hs_master *m, hs_buf *err);

/*
 * Merge a push (rows of schema s from this site) in batches, so that a
 * push of any size costs bounded memory: hs_master_merge_begin, then
 * hs_master_merge_rows for each batch (rows in merge order: deletes
 * children first, then the rest parents first), then hs_master_merge_end
 * (merge.h has the rules). Rows of integer-key tables that were created
 * offline with an id another PC's row already has are given a new id above
 * both the master's ids and local_max[table] (the pusher's largest id);
 * references to them later in the same push are rewritten, and the pusher
 * learns the new ids with its pull (hs_pull.rebases). A row that would
 * break a UNIQUE constraint is kept out and recorded as a conflict with
 * the row that holds the value. A batch may be modified or emptied (rows
 * kept for the end); its rows are the caller's to clear. s and st must
 * live until hs_master_merge_end (st is complete after hs_master_commit).
 */
int hs_master_merge_begin(hs_master *m, const hs_schema *s,
			  const int64_t *local_max, int64_t now_ms,
			  hs_merge_stats *st, hs_buf *err);
int hs_master_merge_rows(hs_master *m, hs_changeset *cs, hs_buf *err);
int hs_master_merge_end(hs_master *m, hs_buf *err);
/* Mark conflicts resolved: rs rows are (conflict_id, keep, at). */
int hs_master_resolve(hs_master *m, const hs_rowset *rs, hs_buf *err);
/* Record that this site's local changes up to id are merged. */
int hs_master_set_pushed(hs_master *m, int64_t id, hs_buf *err);

#define HS_RETENTION_DAYS_DEFAULT 90

/* Record that this site has everything up to since; set the office-wide
 * history retention when set_days > 0; *days receives it. Once a day,
 * prune history and settled conflicts older than it and tombstones every
 * site has pulled. Inside a master transaction. */
int hs_master_housekeep(hs_master *m, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err);

/* Reserve size numbers of series: *first..*first+size-1 are this
 * caller's alone, and above above (the highest number the caller ever
 * had). Inside a master transaction. */
int hs_master_reserve(hs_master *m, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err);
/* Add every series the master knows to the replica rdb's
 * hubsync_series (so that the replica reserves blocks of each). */
int hs_master_series(hs_master *m, sqlite3 *rdb, hs_buf *err);
/* When `hubsync restore` last put a backup in place (malloc'd), or NULL. */
char *hs_master_restored_at(hs_master *m);
/* The master's current sequence (inside a master transaction). */
int64_t hs_master_seq(const hs_master *m);
/* Record that this site synced at now_ms up to the current sequence, and
 * append every site the master knows to sites as rows (site, user,
 * last_sync ms or NULL, synced_seq or NULL, the master's sequence), oldest
 * registration first. Inside a master transaction, after the push. */
int hs_master_sites(hs_master *m, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err);

/* The office's columns merged inside JSON (DESIGN.md 3.9): apply set
 * (may be NULL; this PC's changes of the setting: json 1 sets or
 * replaces a column's rule, 0 removes it), then append every rule to all.
 * Inside a master transaction, before the merge (a setting applies to the
 * push it travels with). Returns 1 when this kind of master keeps no
 * such setting (nothing done), else 0 or an hs_error. */
int hs_master_merge_rules(hs_master *m, const hs_merge_rules *set,
			  hs_merge_rules *all, hs_buf *err);

/* Read conflicts, rebases and (a master without pull_history) history
 * above since. */
int hs_master_pull(hs_master *m, int64_t since, hs_pull *out, hs_buf *err);
/* An entry of the audit trail: the HS_HISTORY_COLS values, borrowed for
 * the call. Return a SQLite code; not OK stops. */
typedef int (*hs_history_fn)(void *ctx, sqlite3_value **v);
/* Stream the audit trail above since to fn (inside the master
 * transaction, or between hs_master_read_begin and _end after it): a
 * first pull of any size costs bounded memory. Returns 1 when this kind
 * of master hands the history with hs_master_pull instead (hs_pull.history;
 * nothing done), else 0 or an hs_error. */
int hs_master_pull_history(hs_master *m, int64_t since, hs_history_fn fn,
			   void *ctx, hs_buf *err);
/* The entries of a trail at once: fn reads them with next(it, v) (history.h)
 * until SQLITE_DONE, and returns a SQLite code (a failure of next's as it
 * came, or its own). */
typedef int (*hs_history_set_fn)(void *ctx, hs_history_next next, void *it);
/* The same in the stored form of a compact audit trail (history.h):
 * *names (empty) receives its dictionary (the caller's to
 * hs_history_names_free, even on error), then fn the entries, each as the
 * 8 values its hubsync_history stores (hs_history_writer_put_set writes
 * them as a set): no text made to be parsed again. Returns 1 when this
 * master keeps no compact trail (nothing done: hs_master_pull_history
 * hands it), else 0 or an hs_error (err set: the master's failure, or
 * fn's). */
int hs_master_pull_history_stored(hs_master *m, int64_t since,
				  hs_history_names *names, hs_history_set_fn fn,
				  void *ctx, hs_buf *err);
/* Stream the rows changed above since by anyone (this sync's own pushes
 * aside) to fn: deletes children first, then the rest parents first. */
int hs_master_pull_rows(hs_master *m, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err);
/* The same for table ti alone, from since (a catch-up: see tracking.h). */
int hs_master_pull_table(hs_master *m, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err);

/* The operations of one kind of master (the functions above, in order). */
struct hs_master_ops {
	void (*close)(hs_master *m);
	int (*read_begin)(hs_master *m, hs_buf *err);
	void (*read_end)(hs_master *m);
	char *(*column_default)(hs_master *m, const char *table, const char *col);
	int (*ensure_table)(hs_master *m, sqlite3 *rdb, const hs_table *t,
			    hs_table *mt, hs_buf *err);
	char *(*id)(hs_master *m);
	int (*user_elsewhere)(hs_master *m, const char *user, const char *site);
	int (*knows)(hs_master *m, const char *site, const char *token);
	int (*begin)(hs_master *m, hs_buf *err);
	int (*register_site)(hs_master *m, const char *site, const char *user,
			     int64_t *pushed, char **token, char **prev_token,
			     hs_buf *err);
	int (*set_token)(hs_master *m, const char *prev, const char *token,
			 hs_buf *err);
	int (*commit)(hs_master *m, hs_buf *err);
	int (*merge_begin)(hs_master *m, const hs_schema *s,
			   const int64_t *local_max, int64_t now_ms,
			   hs_merge_stats *st, hs_buf *err);
	int (*merge_rows)(hs_master *m, hs_changeset *cs, hs_buf *err);
	int (*merge_end)(hs_master *m, hs_buf *err);
	int (*resolve)(hs_master *m, const hs_rowset *rs, hs_buf *err);
	int (*set_pushed)(hs_master *m, int64_t id, hs_buf *err);
	int (*housekeep)(hs_master *m, int64_t since, int set_days,
			 int64_t now_ms, int *days, hs_buf *err);
	int (*reserve)(hs_master *m, const char *series, int64_t size,
		       int64_t above, int64_t *first, hs_buf *err);
	int (*series)(hs_master *m, sqlite3 *rdb, hs_buf *err);
	char *(*restored_at)(hs_master *m);
	int64_t (*seq)(const hs_master *m);
	int (*sites)(hs_master *m, int64_t now_ms, hs_rowset *sites,
		     hs_buf *err);
	int (*pull)(hs_master *m, int64_t since, hs_pull *out, hs_buf *err);
	int (*pull_rows)(hs_master *m, const hs_schema *s, int64_t since,
			 hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err);
	int (*pull_table)(hs_master *m, const hs_schema *s, int ti,
			  int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			  hs_buf *err);
	/* may be NULL (hs_master_merge_rules returns 1) */
	int (*merge_rules)(hs_master *m, const hs_merge_rules *set,
			   hs_merge_rules *all, hs_buf *err);
	/* may be NULL: the user a server knows the token as (else none) */
	const char *(*user)(hs_master *m);
	/* may be NULL: the master's tables (what a sync server offers) */
	int (*tables)(hs_master *m, hs_schema *out, hs_buf *err);
	/* may be NULL: the history comes with pull */
	int (*pull_history)(hs_master *m, int64_t since, hs_history_fn fn,
			    void *ctx, hs_buf *err);
	/* may be NULL: no compact trail (hs_master_pull_history_stored
	 * returns 1) */
	int (*pull_history_stored)(hs_master *m, int64_t since,
				   hs_history_names *names, hs_history_set_fn fn,
				   void *ctx, hs_buf *err);
};

/* The file master (store_file.c): open the SQLite file at path. */
int hs_master_open_file(hs_master **out, const char *path, int create,
			int lock_timeout_ms, hs_lock_wait_fn waiting,
			void *waiting_ctx, hs_buf *err);
/* The PostgreSQL master (store_pg.c): connect to url (a libpq URI,
 * postgresql://...); with create, make the hubsync schema if missing.
 * lock_timeout_ms bounds the wait for other syncs' transactions. */
int hs_master_open_pg(hs_master **out, const char *url, int create,
		      int lock_timeout_ms, hs_buf *err);
/* hubsync migrate: copy the file master src (a consistent copy, opened
 * read-only) into the PostgreSQL database at url, which must hold no
 * master yet: the app's tables and rows, versions, conflicts, history,
 * re-keyed ids, number series, sites and the master's id and sequence,
 * in one transaction (nothing is left half-copied). 0 or an hs_error
 * (err: why). */
int hs_master_pg_import(const char *url, sqlite3 *src, hs_buf *err);
/* LISTEN for the commits of every process on the PostgreSQL database at
 * url, in a thread of its own: fn(ctx, seq) with each announced sequence
 * (and the current one after each connection), from that thread.
 * hs_pg_listen_stop ends it (within a fraction of a second) and frees. */
typedef struct hs_pg_listener hs_pg_listener;
int hs_pg_listen_start(const char *url, void (*fn)(void *ctx, int64_t seq),
		       void *ctx, hs_pg_listener **out);
void hs_pg_listen_stop(hs_pg_listener *l);
/* Make a PostgreSQL master ready for another session on the same
 * connection (hubsync serve keeps it between requests): what was not
 * committed rolled back. 0, or -1 when the connection is lost (close
 * it). */
int hs_master_pg_reset(hs_master *m);
/* Before a connection kept idle is used again (hubsync serve between
 * requests): 1 if it is still usable, else 0 and (why not NULL) the
 * server's last word, one line. The server may have ended it meanwhile
 * (its backend terminated, the server restarted), which libpq only
 * learns by reading: reads what the socket holds, without waiting. */
struct pg_conn;
int hs_pg_conn_alive(struct pg_conn *c, hs_buf *why);
int hs_master_pg_alive(hs_master *m, hs_buf *why);
/* 1 if path is an address (scheme://...), not a file: kept as given. */
int hs_master_is_address(const char *path);

/* The server master (master_http.c): reach hubsync serve at url. */
int hs_master_open_http(hs_master **out, const char *url, const char *token,
			int create, int timeout_ms, hs_buf *err);
/* Limit a server master's transfers to bytes_per_s each way (0: none);
 * no effect on another kind. */
void hs_master_http_max_rate(hs_master *m, long bytes_per_s);

/* The real-time channel of the server at url (GET /v1/wait): block until
 * the store's sequence is above since, or timeout_ms passes (the server
 * answers then), or cancel(cancel_ctx) returns nonzero (asked about once a
 * second). 0 with *seq the store's sequence (above since: changes to pull;
 * since itself after a cancel), or an hs_error with err's one-line reason
 * (HS_EIO: the server cannot be reached). */
int hs_master_http_wait(const char *url, const char *token, int64_t since,
			int timeout_ms, int (*cancel)(void *ctx),
			void *cancel_ctx, int64_t *seq, hs_buf *err);

/* Column lists of rows copied to a replica (same order both sides). */
#define HS_CONFLICT_COLS                                                      \
	"id, seq, tbl, pk, col, local_value, remote_value, winner, local_user," \
	" remote_user, detected_at, resolved, resolved_at, resolved_by,"      \
	" local_site, remote_site"

#endif
