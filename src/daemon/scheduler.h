/*
 * scheduler.h - the daemon's sync worker: scheduled sync, sync on demand,
 * retry with backoff, and the live state the HTTP API shows.
 *
 * One worker thread owns its own hs_replica handle (handles are not
 * thread-safe) and runs every sync of the daemon, so two syncs never run at
 * once in this process; a sync asked for while one runs is refused with
 * HS_ECONFLICT (HTTP 409). A sync of another process (the command line) is
 * not seen here: the master's lock makes the two take turns; if the library
 * refuses with HS_ECONFLICT, that is passed on as 409 too.
 *
 * Timing. The interval comes from the replica (hs_replica_schedule_get) and is
 * re-read every HSD_SCHED_REREAD_MS, so `hubsync schedule DB N` run from the
 * command line takes effect without a restart; hsd_sched_set_interval applies
 * a change made through the API at once. The next scheduled sync is due one
 * interval after the end of the last attempt (or after the daemon started);
 * 0 minutes means no scheduled sync. After a failed sync the worker retries
 * after retry_min_s seconds, doubling up to the interval (at most 30
 * minutes), until one succeeds. A failure that says the master cannot be
 * reached (HS_EIO, HS_ENOTFOUND: the share is not mounted) marks the daemon
 * offline since the first such failure; the next success clears it.
 *
 * Backups (--backup-every): the worker also copies the master with
 * hs_backup_create (into the master's folder/backups, keeping backup_keep),
 * first right after the start (after the start sync), then every
 * backup_every_h hours; a failed one is retried after at most
 * HSD_BACKUP_RETRY_MS. It runs between syncs, never during one. With a
 * server master there is no file to copy from a PC: the store is backed
 * up on the server (docs/SERVER.md); the worker says so once and stops.
 *
 * Real time (a server master): the worker also looks at the replica's
 * data_version every HSD_WATCH_MS (hs_replica_changed on its own handle,
 * so its own syncs do not count) and syncs at once ("change") when the
 * app committed changes to push; not while paused, nor while a failed sync
 * waits for its retry. Other PCs' changes arrive through realtime.c, which
 * asks for a sync with hsd_sched_sync_wake.
 *
 * All functions are safe to call from any thread.
 */
#ifndef HSD_SCHEDULER_H
#define HSD_SCHEDULER_H

#include <hubsync.h>
#include <jansson.h>
#include <stddef.h>

#define HSD_SCHED_REREAD_MS 30000
#define HSD_BACKUP_RETRY_MS (15 * 60 * 1000)
#define HSD_WATCH_MS 200

typedef struct hsd_sched hsd_sched;

typedef struct hsd_sched_options {
	const char *db_path;  /* the replica; copied */
	int sync_at_start;    /* 1: sync as soon as the worker starts */
	int retry_min_s;      /* first retry delay after a failure; 0: 60 */
	int lock_timeout_ms;  /* hs_sync_options.lock_timeout_ms; 0: library default */
	int backup_every_h;   /* back the master up every N hours; 0: never */
	int backup_keep;      /* copies kept; 0: HS_BACKUP_KEEP_DEFAULT */
} hsd_sched_options;

/*
 * Open the replica, read its schedule and start the worker. On failure
 * returns a negative hs_error with a one-line reason in err, and *out is
 * NULL.
 */
int hsd_sched_start(hsd_sched **out, const hsd_sched_options *opts,
		    char *err, size_t errlen);

/*
 * Start stopping: no new sync starts from now on (hsd_sched_sync_now returns
 * HS_ERROR), a running one finishes. Returns at once.
 */
void hsd_sched_request_stop(hsd_sched *s);

/*
 * Stop: let a running sync finish (a sync is one transaction per side; it is
 * not cut short), release anyone waiting in hsd_sched_sync_now, join the
 * worker and free everything. Accepts NULL.
 */
void hsd_sched_stop(hsd_sched *s);

/*
 * Run a sync now and wait for it to end. Returns HS_ECONFLICT with
 * *result_json NULL when a sync is already running, HS_ERROR with
 * *result_json NULL when the daemon is shutting down; otherwise the return
 * code of hs_replica_sync with *result_json set to its manual-sync result
 * (caller frees with hs_free).
 */
int hsd_sched_sync_now(hsd_sched *s, char **result_json);

/*
 * Sync as soon as the worker is free (after a running sync) and wait for
 * that sync to end; trigger names it in the history ("realtime"). Several
 * callers meanwhile share one sync. Returns its hs_error, HS_ERROR when
 * the daemon is stopping.
 */
int hsd_sched_sync_wake(hsd_sched *s, const char *trigger);

/* 1 while scheduled syncs are paused (real-time syncs pause too). */
int hsd_sched_paused(hsd_sched *s);

/* 1 if r's master is a sync server (http:// or https://). */
int hsd_sched_master_is_server(hs_replica *r);

/* Apply a new interval (already stored in the replica by the caller). */
void hsd_sched_set_interval(hsd_sched *s, int minutes);

/* Pause (1) or resume (0) scheduled syncs and retries, already stored in
 * the replica by the caller (hs_replica_pause_set). A sync asked for
 * still runs. On resume the next scheduled sync is an interval away. */
void hsd_sched_set_paused(hsd_sched *s, int paused);

/*
 * Add the daemon's live keys to a status object: isSyncing, paused,
 * nextSyncTime (ISO time or null; null while paused), version (of
 * hubsync), daemonStartedAt, uptimeSeconds, offline, offlineSince,
 * lastAttemptTime, masterKind ("server" or "file"), lastPushTime and
 * lastPullTime (the last syncs that sent or got rows, or null), progress
 * (while syncing), and lastError when the daemon's last attempt failed.
 */
void hsd_sched_annotate(hsd_sched *s, json_t *status);

/*
 * The progress of the running sync: {"isSyncing", "trigger", "phase",
 * "table", "rows", "startedAt", "elapsedMs", "lockWaitMs" (how long it
 * waits for the master lock)}; only isSyncing when idle.
 * Returns a new reference, NULL when memory ran out.
 */
json_t *hsd_sched_progress_json(hsd_sched *s);

#endif
