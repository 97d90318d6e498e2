/*
 * hubsync.h - the public C API of hubsync.
 *
 * hubsync synchronizes local SQLite databases ("replicas") through a shared
 * master database. The app keeps writing its database with any SQLite driver;
 * `hs_replica_init` installs plain SQL triggers that record what changed, and
 * `hs_replica_sync` exchanges those changes with the master.
 *
 * Conventions (after libgit2):
 *  - every function returns 0 (HS_OK) or a negative hs_error code;
 *  - the human message of the last failure is kept on the handle
 *    (hs_replica_errmsg) and is one line that says what and what to do;
 *  - constructors write to an **out parameter that the caller owns and frees
 *    with the matching _free, which accepts NULL;
 *  - strings returned through char **out are heap memory freed with hs_free;
 *  - options structs start with a version field; initialise them with their
 *    _INIT macro so that new fields do not break callers.
 *
 * A handle is not thread-safe: use one handle per thread (the daemon opens
 * its own). Several processes may use one replica at once.
 */
#ifndef HUBSYNC_H
#define HUBSYNC_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_error {
	HS_OK = 0,
	HS_ERROR = -1,     /* anything not listed below */
	HS_ENOTFOUND = -2, /* no such replica, master, conflict or series */
	HS_EBUSY = -3,     /* master locked by another PC for too long */
	HS_ECONFLICT = -4, /* a sync is already running */
	HS_EIO = -5,       /* file or share error (missing share, disk full) */
	HS_ECORRUPT = -6,  /* a database failed its integrity or schema check */
	HS_EINVALID = -7   /* bad argument or request; nothing was changed */
} hs_error;

/* The HTTP status that answers a failure with code (the sync server's
 * answers, docs/PROTOCOL.md): 200 HS_OK, 400 HS_EINVALID, 404 HS_ENOTFOUND,
 * 409 HS_ECONFLICT, 422 HS_ECORRUPT, 423 HS_EBUSY, 503 HS_EIO, 500 any
 * other. */
int hs_error_http_status(int code);

/* An open local replica (or a plain app database before hs_replica_init). */
typedef struct hs_replica hs_replica;

/* Wall clock source in milliseconds since 1970 (tests inject skew). */
typedef int64_t (*hs_clock_fn)(void *ctx);

#define HS_OPEN_OPTIONS_VERSION 1
typedef struct hs_open_options {
	int version;
	hs_clock_fn clock;   /* NULL: the system clock */
	void *clock_ctx;
	int busy_timeout_ms; /* 0: 10000; how long to wait for a locked database */
} hs_open_options;
#define HS_OPEN_OPTIONS_INIT { HS_OPEN_OPTIONS_VERSION, NULL, NULL, 0 }

/*
 * Open the SQLite database at path. The file must exist. On failure *out is
 * still set when a handle could be made (so the message can be read) and must
 * be freed; it is NULL only when memory ran out.
 */
int hs_replica_open(hs_replica **out, const char *path,
		    const hs_open_options *opts);
void hs_replica_free(hs_replica *r);

/* The message of the last failure on r ("" if none). Never NULL. */
const char *hs_replica_errmsg(const hs_replica *r);

#define HS_INIT_OPTIONS_VERSION 3
typedef struct hs_init_options {
	int version;
	const char *master_path; /* required: the master SQLite file, or
				  * http(s)://HOST:PORT of hubsync serve */
	const char *user;        /* NULL: the OS account name */
	const char *tables;      /* comma list; NULL: every user table (and
				  * the tables the app creates later) */
	/* version 2: */
	int stamp; /* 1: maintain updated_at, updated_by, synced_at (added
		    * where missing) as the original app did; 0: add no
		    * column and write none (the default) */
	/* version 3: */
	const char *token; /* a server master's token (hubsync user add);
			    * kept in the replica for its syncs. The user
			    * is the token's (user, if given, must match) */
} hs_init_options;
#define HS_INIT_OPTIONS_INIT { HS_INIT_OPTIONS_VERSION, NULL, NULL, NULL, 0, NULL }

/*
 * Start tracking the replica: add hubsync metadata tables and triggers,
 * record the master (creating it if it does not exist), and queue the rows
 * already in the tables for the first push. The app's tables are left as
 * they are (no column added) unless opts->stamp. Safe to run again with
 * the same master (it adds newly listed tables). A table without a
 * primary key is refused; virtual tables and their shadow tables are
 * skipped. A user name another PC already uses is accepted with a warning
 * (hs_replica_warning): each PC is its own side of a conflict anyway.
 */
int hs_replica_init(hs_replica *r, const hs_init_options *opts);

/*
 * The warning of the last init, sync or schema change on r ("" if none):
 * something worked but people should know (a clock far ahead, a table the
 * app dropped, a user name used twice). Never NULL.
 */
const char *hs_replica_warning(const hs_replica *r);

/* The master r syncs with: its path or address (malloc'd, free with
 * hs_free) into *out. */
int hs_replica_master(hs_replica *r, char **out);

/* 1 if the master looks reachable now (a file master: the file is there;
 * no lock taken, nothing read), 0 if not: a quick check after a failed
 * sync, e.g. to sync again as soon as the share is back. */
int hs_replica_master_present(hs_replica *r);

/* Start syncing tables (e.g. added by an app upgrade when init was given
 * --tables): their rows are queued for the next push. A table untracked
 * before starts from where it stopped. */
int hs_replica_track(hs_replica *r, const char *const *tables, int n);

/* Stop syncing tables on this PC: their rows stay, their changes not sent
 * yet are dropped, other PCs and the master are not affected. */
int hs_replica_untrack(hs_replica *r, const char *const *tables, int n);

/*
 * Remove everything hubsync added to the database: its triggers, its
 * hubsync_* tables, the sync_log it created, the columns init --stamp
 * added. The app's schema and data are as before init, with everything
 * written since kept. The master is not touched.
 */
int hs_replica_uninstall(hs_replica *r);

/*
 * The master moved (another path, drive letter or share name): check that
 * the master at master_path is the same master (its id, or, for masters
 * of older versions, that it knows this PC's last sync) and sync with it
 * from now on, with nothing sent again. A different master is refused
 * (HS_EINVALID); one that is not there is HS_EIO.
 */
int hs_replica_relocate(hs_replica *r, const char *master_path);
/* The same, to a sync server (or from one to another) with token (NULL:
 * the one kept): kept on success, and the replica's user becomes the
 * token's. After hs_server_migrate, PCs relocate and send nothing again. */
int hs_replica_relocate_to(hs_replica *r, const char *master_path,
			   const char *token);

/* Progress report during a sync: phase is "lock", "push", "pull" or
 * "done"; table may be NULL; rows counts rows done so far in that table.
 * While the sync waits for another PC's sync, it reports phase "lock"
 * about once a second with table = who holds the master ("HOST (process
 * PID)", NULL when not known) and rows = the milliseconds waited. */
typedef void (*hs_progress_fn)(void *ctx, const char *phase,
			       const char *table, int64_t rows);

#define HS_SYNC_OPTIONS_VERSION 3
typedef struct hs_sync_options {
	int version;
	hs_progress_fn progress;
	void *progress_ctx;
	int lock_timeout_ms; /* 0: 120000; wait this long for the master lock */
	/* version 2: what started this sync, kept in its sync_log row
	 * (column started_by, "trigger" in the history): for example
	 * "manual", "scheduled", "retry", "start", "command"; NULL: unknown */
	const char *trigger;
	/* version 3: with a server master, at most this many kilobytes per
	 * second each way (0: no limit) */
	int max_rate_kbps;
} hs_sync_options;
#define HS_SYNC_OPTIONS_INIT { HS_SYNC_OPTIONS_VERSION, NULL, NULL, 0, NULL, 0 }

/*
 * Push local changes to the master and pull everyone else's, each in one
 * transaction together with its watermark, and append a sync_log row.
 * *result_json (may be NULL) receives the manual-sync result object of the
 * contract ({"success", "message", "stats", "duration"}) also on failure.
 */
int hs_replica_sync(hs_replica *r, const hs_sync_options *opts,
		    char **result_json);

/* ---- Real time (a server master) --------------------------------------
 *
 * How `hubsync daemon` syncs within a second of a change on either side
 * (docs/DAEMON.md): it notices the app's commits with hs_replica_changed,
 * polled a few times a second, and other PCs' changes with
 * hs_replica_wait_master, a long poll on the server, in a thread of its
 * own (with a handle of its own), then syncs.
 */

/*
 * Cheap, for polling: *data_version changes when another connection (the
 * app, another process) committed to the replica since the last call on r
 * (SQLite's PRAGMA data_version: r's own writes, its syncs, leave it
 * alone); *pending (may be NULL) is 1 when local changes wait to be
 * pushed. Reads no table of the app's.
 */
int hs_replica_changed(hs_replica *r, int64_t *data_version, int *pending);

#define HS_WAIT_OPTIONS_VERSION 1
typedef struct hs_wait_options {
	int version;
	int timeout_ms; /* 0: 25000; at most 30000 (the server's cap);
			 * negative: do not wait, only ask (is the server
			 * there, has it changes) */
	/* asked about once a second while waiting: nonzero ends the wait
	 * at once with *changed 0 (e.g. the program is stopping); NULL: never */
	int (*cancel)(void *ctx);
	void *cancel_ctx;
} hs_wait_options;
#define HS_WAIT_OPTIONS_INIT { HS_WAIT_OPTIONS_VERSION, 0, NULL, NULL }

/*
 * Wait on the real-time channel of r's master, a sync server (hubsync
 * serve), until it holds changes this replica has not pulled, or the
 * timeout. *changed: 1 there are (sync to get them), 0 the time ran out or
 * the wait was cancelled. HS_EINVALID when the master is a file (it has
 * no channel: sync on a schedule) or the server refused the token, HS_EIO
 * when the server cannot be reached (wait a little, try again). Holds no
 * lock of the replica while it waits.
 */
int hs_replica_wait_master(hs_replica *r, const hs_wait_options *opts,
			   int *changed);

/* 1 if a sync of this replica is running now (in any process); a second
 * hs_replica_sync meanwhile fails with HS_ECONFLICT. */
int hs_replica_sync_running(hs_replica *r);

/* JSON documents of the contract (section 3.3). Free with hs_free. */
int hs_replica_status_json(hs_replica *r, char **out);
int hs_replica_history_json(hs_replica *r, int limit, char **out);
int hs_replica_conflicts_json(hs_replica *r, int include_resolved,
			      char **out);

/* Audit trail: local and synced changes, newest first. table and key may be
 * NULL (key matches the primary key shown as text, composite keys as
 * "a|b"); since is an ISO time or NULL; limit <= 0 means 200. */
int hs_replica_log_json(hs_replica *r, const char *table, const char *key,
			const char *since, int limit, char **out);

#define HS_LOG_OPTIONS_VERSION 1
typedef struct hs_log_options {
	int version;
	const char *table; /* NULL: every table */
	const char *key;   /* as in hs_replica_log_json; NULL: every row */
	const char *user;  /* changes by this user only; NULL: everyone's */
	const char *since; /* ISO time or NULL */
	int limit;         /* <= 0: 200 */
} hs_log_options;
#define HS_LOG_OPTIONS_INIT { HS_LOG_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0 }

/* The audit trail as hs_replica_log_json, with the filters of opts (NULL:
 * none). HS_EINVALID for an unknown table or a bad time. */
int hs_replica_log_query_json(hs_replica *r, const hs_log_options *opts,
			      char **out);

/*
 * The office's PCs: every site that syncs with this replica's master, as
 * of this replica's last sync (it reads offline). A JSON array, this PC
 * first, of {"site" (its id), "user", "lastSyncTime" (ISO time or null),
 * "thisPc" (bool), "behind" (bool: changes reached the master after its
 * last sync)}. Before the first sync: this PC alone.
 */
int hs_replica_peers_json(hs_replica *r, char **out);

/* Scheduled sync interval in minutes (0 = off), stored in the replica. */
int hs_replica_schedule_get(hs_replica *r, int *minutes);
int hs_replica_schedule_set(hs_replica *r, int minutes);

/* Scheduled sync paused (1) or not (0), stored in the replica: while
 * paused a daemon starts no scheduled sync or retry (a sync asked for
 * still runs); the interval is kept. Status shows it as "paused". */
int hs_replica_pause_get(hs_replica *r, int *paused);
int hs_replica_pause_set(hs_replica *r, int paused);

/* How long the audit log (hubsync_history) and settled conflicts are
 * kept, in days (default 90). It is an office-wide setting: it reaches
 * the master with this replica's next sync and every PC with theirs. */
int hs_replica_retention_set(hs_replica *r, int days);

/* How concurrent edits of one column are merged (DESIGN.md 3.9). */
typedef enum hs_merge_mode {
	HS_MERGE_WHOLE = 0, /* one value per cell: the later edit (default) */
	HS_MERGE_JSON = 1   /* inside the JSON value, member by member */
} hs_merge_mode;

/*
 * Set how concurrent edits of table.column merge, office-wide (`hubsync
 * merge`): with HS_MERGE_JSON two edits of a JSON value are merged against
 * the value both started from (members and array elements changed on one
 * side only are taken from it; a place both changed differently goes to
 * the later edit, the other is a conflict whose column is the path, such
 * as "pricing.margin" or "bom[sku=A-1].qty"); key names the member that
 * tells the elements of arrays of objects apart (NULL: every array is one
 * value). A value that is not JSON merges as one value. Like the
 * retention, the setting reaches the master with this replica's next sync
 * and every PC with theirs. HS_EINVALID (nothing changed) for a table not
 * synced here, a column it lacks, a key column, or a key without
 * HS_MERGE_JSON.
 */
int hs_replica_merge_set(hs_replica *r, const char *table, const char *column,
			 hs_merge_mode mode, const char *key);
/* The columns merged inside JSON: a JSON array of {"table", "column",
 * "mode" ("json" | "whole"), "key" (or null), "pending" (true: set on this
 * PC, not yet at the master)}. Free with hs_free. */
int hs_replica_merge_json(hs_replica *r, char **out);

typedef enum hs_keep { HS_KEEP_LOCAL = 0, HS_KEEP_REMOTE = 1 } hs_keep;

/*
 * Settle a conflict: make the kept value the current one (as a new local
 * change that syncs) and mark the conflict resolved; the resolution reaches
 * every replica with the next sync. HS_ENOTFOUND for an unknown id.
 */
int hs_replica_resolve(hs_replica *r, int64_t conflict_id, hs_keep keep);

/*
 * Numbered series (quote and project numbers): the next number of series,
 * unique across every PC even while offline. Each replica draws from
 * blocks of numbers it reserves from the master at every sync (or at once,
 * when it has none and the master is reachable). Numbers one PC hands out
 * increase; gaps are at most a block. When a PC has used all its numbers
 * offline this fails with a message saying so (HS_EIO or HS_EBUSY).
 */
int hs_replica_number_next(hs_replica *r, const char *series, int64_t *out);
/* Numbers reserved per block (default 20, 1..100000). */
int hs_replica_number_block_set(hs_replica *r, int size);

/* ---- Backups ---------------------------------------------------------
 *
 * Copies of a master taken under its lock, checked, rotated, and put back
 * (docs/BACKUP.md). They work on the master file itself, not through a
 * replica: the PC that runs them needs the share mounted. Having no handle,
 * they hand a failure's one-line message back through *errmsg (may be NULL;
 * free with hs_free), and what they did as a JSON object through
 * *result_json (may be NULL; free with hs_free).
 */

#define HS_BACKUP_KEEP_DEFAULT 7
#define HS_BACKUP_KEEP_MAX 10000

#define HS_BACKUP_OPTIONS_VERSION 1
typedef struct hs_backup_options {
	int version;
	const char *dir;     /* NULL: the master's folder + "/backups" */
	int keep;            /* copies kept (newest); 0: HS_BACKUP_KEEP_DEFAULT */
	int lock_timeout_ms; /* 0: 30000; wait this long for the master lock */
} hs_backup_options;
#define HS_BACKUP_OPTIONS_INIT { HS_BACKUP_OPTIONS_VERSION, NULL, 0, 0 }

/*
 * Copy the master at master_path to DIR/NAME.YYYY-MM-DDTHH-MM-SSZ.bak (NAME:
 * the master's file name; the time in UTC), holding the master lock from
 * before the copy to after the rotation: the copy is consistent and no sync
 * writes meanwhile. The copy is checked (PRAGMA integrity_check, hubsync
 * tables) before it takes its final name; then the oldest copies of this
 * master in DIR beyond the newest keep are deleted. DIR is created if
 * missing (its parent must exist).
 *
 * *result_json: {"master", "backup" (path), "bytes", "seq" (the master's
 * sequence), "keep", "removed": [paths]}.
 * Errors change nothing (a partial copy is deleted, nothing is rotated):
 * HS_EIO the master is not there or DIR cannot be written, HS_EBUSY the
 * lock, HS_ECORRUPT the master is damaged or not a hubsync master,
 * HS_EINVALID bad options.
 */
int hs_backup_create(const char *master_path, const hs_backup_options *opts,
		     char **result_json, char **errmsg);

/*
 * Check that path is an intact SQLite file (PRAGMA integrity_check) holding
 * a hubsync master of a format this library reads. Reads only.
 * *result_json: {"path", "bytes", "seq"}. HS_EIO when path cannot be read,
 * HS_ECORRUPT when the check fails.
 */
int hs_backup_verify(const char *path, char **result_json, char **errmsg);

/*
 * Put the backup at backup_path in place of the master at master_path:
 * check the backup (as hs_backup_verify), take the master lock, keep the
 * current master aside as MASTER.before-restore-YYYY-MM-DDTHH-MM-SSZ (with
 * its journal, if it had a live one), copy the backup to a temporary file
 * in the master's folder, fsync it and rename it over the master, release.
 * The current master may be damaged (that is what restores are for) but
 * must exist (a missing file is a share that is not mounted). The restored
 * master records when and from what it was restored (hubsync_master keys
 * 'restored_at', 'restored_from'), and keeps the old master's number
 * series where they were further (blocks reserved after the backup are
 * not handed out twice) when the old master can be read. Only opts->lock_timeout_ms is read (opts
 * may be NULL). Replicas notice at their next sync that the master went
 * back and send their rows again (docs/BACKUP.md).
 *
 * *result_json: {"master", "backup", "seq", "previous_seq" (null when the
 * old master could not be read), "numbers_carried" (bool), "kept_aside"
 * (path), and "kept_aside_journal" when there was one}.
 * Errors change nothing: HS_EIO the master or backup is not there or the
 * folder cannot be written, HS_ECORRUPT the backup failed its check,
 * HS_EBUSY the lock, HS_EINVALID the backup is the master itself.
 */
int hs_backup_restore(const char *master_path, const char *backup_path,
		      const hs_backup_options *opts, char **result_json,
		      char **errmsg);

/* ---- hubsync serve: the server side (server.c, users.c) ----------------
 *
 * A server keeps its master in a STORE: a folder (created if missing; the
 * master is STORE/master.db, a file master run by the same code) and the
 * users in STORE/users.db. Transport is the caller's (the hubsync command
 * uses libmicrohttpd): it authenticates each request with hs_server_auth
 * before reading its body, then hands the body to hs_server_handle. The
 * protocol is docs/PROTOCOL.md.
 */
typedef struct hs_server hs_server;
typedef struct hs_server_user hs_server_user;

/* Open (and create) the store. On failure *errmsg (hs_free) says why. */
int hs_server_open(hs_server **out, const char *store, char **errmsg);
void hs_server_free(hs_server *s);
/* What the store is, for people ("folder /srv/hubsync"). */
const char *hs_server_describe(const hs_server *s);

/* The user of an "Authorization: Bearer TOKEN" header value (may be
 * NULL): HS_OK and *out (hs_server_user_free), or HS_EINVALID with
 * *errmsg when the token is missing or unknown (answer 401). */
int hs_server_auth(hs_server *s, const char *authorization,
		   hs_server_user **out, char **errmsg);
const char *hs_server_user_name(const hs_server_user *u);
void hs_server_user_free(hs_server_user *u);

/*
 * Answer one request of user u: read the request stream from body, write
 * the answer to out. *http_status: 200 (out holds the answer stream,
 * Content-Type HS_SERVER_CONTENT_TYPE), or the failure's status, with
 * *errmsg (hs_free) a one-line message to answer instead (out holds
 * nothing usable; nothing was changed). Requests of one server run one at
 * a time. Returns HS_OK or the failure's hs_error.
 */
#define HS_SERVER_CONTENT_TYPE "application/x-hubsync"
int hs_server_handle(hs_server *s, const hs_server_user *u, FILE *body,
		     FILE *out, int *http_status, char **errmsg);

/*
 * The real-time channel (GET /v1/wait of docs/PROTOCOL.md): block until the
 * store's change sequence is above since (a replica's cursor: the sequence
 * it pulled up to), at most timeout_ms (capped at HS_SERVER_WAIT_MAX_MS),
 * and return the sequence then: above since means "changes to pull", else
 * the time ran out. Authenticate first (hs_server_auth); any user is woken
 * by any change. Safe from many threads at once, alongside
 * hs_server_handle, which wakes the waiters when a request commits.
 */
#define HS_SERVER_WAIT_MAX_MS 30000
int64_t hs_server_wait(hs_server *s, int64_t since, int timeout_ms);
/* Shutting down: every hs_server_wait returns at once, now and from now
 * on (call it before waiting for the transport's threads). */
void hs_server_close_waits(hs_server *s);

/*
 * hubsync migrate: make the master file at from_master (locked, copied,
 * checked: hs_backup_create) the master of store, with everything in it
 * (rows, conflicts, history, number series, sites, the master's id).
 * Refused (HS_EINVALID) when the store's master has data already. PCs
 * then hs_replica_relocate_to the server and carry on. *result_json:
 * {"from", "store", "seq", "bytes"}.
 */
int hs_server_migrate(const char *from_master, const char *store,
		      char **result_json, char **errmsg);

/* Users of a store (DESIGN 3.7), usable while a server runs. add prints
 * nothing: *token (hs_free) is the new user's token, kept hashed in the
 * store. tables: a comma list the user may sync (NULL: all). */
int hs_user_add(const char *store, const char *name, int read_only,
		const char *tables, char **token, char **errmsg);
/* [{"name", "readOnly", "tables" (list or null), "createdAt"}] */
int hs_user_list_json(const char *store, char **out, char **errmsg);
/* HS_ENOTFOUND when there is no such user. */
int hs_user_remove(const char *store, const char *name, char **errmsg);

/* Free memory returned by this API. Accepts NULL. */
void hs_free(void *p);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *hs_version(void);

#ifdef __cplusplus
}
#endif
#endif
