/*
 * scheduler.c - the sync worker thread (see scheduler.h for the contract).
 *
 * Everything in struct hsd_sched below `mu` is guarded by it. The worker
 * holds mu except while it talks to the replica (hs_replica_sync,
 * hs_replica_schedule_get), so the HTTP threads can read the live state at
 * any moment, including in the middle of a sync.
 *
 * Deadlines are monotonic milliseconds (dclock.h); 0 means "none".
 */
#include "scheduler.h"
#include "dclock.h"
#include "dlog.h"

#include <hubsync.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_CAP_MS (30 * 60 * 1000)

struct hsd_sched {
	char *db_path;
	hs_replica *replica; /* used by the worker thread only */
	int retry_min_ms;
	int lock_timeout_ms;
	pthread_t worker;

	pthread_mutex_t mu;
	pthread_cond_t wake; /* the worker waits here for work or a deadline */
	pthread_cond_t done; /* hsd_sched_sync_now waits here for its result */
	int stopping;
	int exited;

	int interval_min;
	int paused;          /* scheduled sync paused (hs_replica_pause_get) */
	int64_t started_at;  /* wall ms when the daemon started */
	int64_t start_due;   /* sync-at-start deadline, until it has run */
	int64_t anchor;      /* end of the last attempt (or start) */
	int64_t retry_due;   /* next retry after a failure */
	int64_t retry_ms;    /* current backoff step */
	int64_t reread_due;  /* next re-read of the stored schedule */

	int syncing;
	const char *trigger; /* "start", "scheduled", "retry", "manual" */
	char phase[16];
	char table[128];
	int64_t rows;
	int64_t started_wall;

	int64_t last_attempt_wall;
	int64_t offline_since_wall;
	char last_error[512]; /* "" when the last attempt succeeded */

	int manual_pending;
	uint64_t manual_asked; /* tickets handed out */
	uint64_t manual_done;  /* tickets whose sync has ended */
	int manual_rc;
	char *manual_result;

	int64_t backup_every_ms; /* 0: no scheduled backups */
	int backup_keep;
	int64_t backup_due;

	/* real time (a server master) */
	int server;             /* the master is a sync server */
	int64_t watch_due;      /* next look at the replica's data_version */
	int64_t data_version;   /* as last seen; -1: not yet */
	const char *wake_trigger; /* a sync asked for by hsd_sched_sync_wake */
	uint64_t wake_asked, wake_done;
	int wake_rc;
	int64_t last_push_wall; /* the last sync that sent / got rows */
	int64_t last_pull_wall;
};

/* When the next sync is due (monotonic ms), 0 if none is planned. */
static int64_t next_due(const hsd_sched *s)
{
	int64_t due;

	if (s->paused)
		return 0;
	if (s->start_due)
		return s->start_due;
	if (s->interval_min <= 0)
		return 0;
	due = s->anchor + (int64_t)s->interval_min * 60000;
	if (s->retry_due && s->retry_due < due)
		due = s->retry_due;
	return due;
}

static int rc_is_offline(int rc)
{
	return rc == HS_EIO || rc == HS_ENOTFOUND;
}

static void on_progress(void *ctx, const char *phase, const char *table,
			int64_t rows)
{
	hsd_sched *s = ctx;

	pthread_mutex_lock(&s->mu);
	snprintf(s->phase, sizeof(s->phase), "%s", phase ? phase : "");
	snprintf(s->table, sizeof(s->table), "%s", table ? table : "");
	s->rows = rows;
	pthread_mutex_unlock(&s->mu);
}

/* The one-line outcome of a sync: the library's message or the result's. */
static void sync_message(int rc, const char *result_json, const hs_replica *r,
			 char *buf, size_t len)
{
	json_t *doc = result_json ? json_loads(result_json, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(doc, "message"));

	if (rc != HS_OK && hs_replica_errmsg(r)[0])
		msg = hs_replica_errmsg(r);
	snprintf(buf, len, "%s", msg ? msg : (rc ? "sync failed" : "ok"));
	json_decref(doc);
}

/* Record the end of an attempt; called with mu held. */
static void finish_attempt(hsd_sched *s, int rc, const char *msg)
{
	int64_t now = hsd_mono_ms();

	s->syncing = 0;
	s->anchor = now;
	s->last_attempt_wall = hsd_wall_ms();
	if (rc == HS_OK) {
		s->last_error[0] = '\0';
		s->offline_since_wall = 0;
		s->retry_ms = 0;
		s->retry_due = 0;
		return;
	}
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
	if (rc_is_offline(rc) && !s->offline_since_wall)
		s->offline_since_wall = s->last_attempt_wall;
	if (rc == HS_ECONFLICT) {
		/* another process is syncing: try again soon, no backoff */
		s->retry_due = now + s->retry_min_ms;
		return;
	}
	s->retry_ms = s->retry_ms ? s->retry_ms * 2 : s->retry_min_ms;
	if (s->retry_ms > RETRY_CAP_MS)
		s->retry_ms = RETRY_CAP_MS;
	s->retry_due = now + s->retry_ms;
}

/* The rows a sync result counts under key ("pushed", "pulled"). */
static json_int_t rows_moved(const char *result_json, const char *key)
{
	json_t *doc = result_json ? json_loads(result_json, 0, NULL) : NULL;
	json_t *per = json_object_get(json_object_get(doc, "stats"), key);
	json_int_t n = 0;
	const char *table;
	json_t *v;

	json_object_foreach(per, table, v)
		n += json_integer_value(v);
	json_decref(doc);
	return n;
}

/* Run one sync; called and returns with mu held (released meanwhile).
 * Returns its hs_error. */
static int run_sync(hsd_sched *s, const char *trigger)
{
	hs_sync_options opts = HS_SYNC_OPTIONS_INIT;
	int manual = s->manual_pending;
	char *result = NULL, msg[512];
	int64_t t0;
	int rc;

	s->syncing = 1;
	s->trigger = trigger;
	s->start_due = 0;
	s->manual_pending = 0;
	s->phase[0] = s->table[0] = '\0';
	s->rows = 0;
	s->started_wall = hsd_wall_ms();
	pthread_mutex_unlock(&s->mu);

	hsd_log_info("sync started (%s)", trigger);
	opts.progress = on_progress;
	opts.progress_ctx = s;
	opts.lock_timeout_ms = s->lock_timeout_ms;
	opts.trigger = trigger;
	t0 = hsd_mono_ms();
	rc = hs_replica_sync(s->replica, &opts, &result);
	sync_message(rc, result, s->replica, msg, sizeof(msg));
	if (rc == HS_OK)
		hsd_log_info("sync done in %lld ms: %s",
			     (long long)(hsd_mono_ms() - t0), msg);
	else
		hsd_log_error("sync failed (code %d) after %lld ms: %s", rc,
			      (long long)(hsd_mono_ms() - t0), msg);

	pthread_mutex_lock(&s->mu);
	finish_attempt(s, rc, msg);
	if (rc == HS_OK && rows_moved(result, "pushed"))
		s->last_push_wall = s->last_attempt_wall;
	if (rc == HS_OK && rows_moved(result, "pulled"))
		s->last_pull_wall = s->last_attempt_wall;
	if (rc != HS_OK && s->interval_min > 0)
		hsd_log_info("next attempt in %lld s",
			     (long long)(next_due(s) - hsd_mono_ms() + 500) / 1000);
	if (manual) {
		s->manual_rc = rc;
		s->manual_result = result;
		s->manual_done++;
		result = NULL;
		pthread_cond_broadcast(&s->done);
	}
	hs_free(result);
	return rc;
}

/* ---- scheduled backups of the master (--backup-every) ---- */

/* The replica's master path (from its status), malloc'd; NULL with the
 * reason logged. */
static char *master_path(hsd_sched *s)
{
	char *master = NULL, *path = NULL;

	if (hs_replica_master(s->replica, &master) != HS_OK) {
		hsd_log_error("backup skipped: %s", hs_replica_errmsg(s->replica));
		return NULL;
	}
	path = strdup(master); /* the caller frees with free() */
	hs_free(master);
	return path;
}

/* Back the master up; called and returns with mu held (released
 * meanwhile). */
static void run_backup(hsd_sched *s)
{
	hs_backup_options opts = HS_BACKUP_OPTIONS_INIT;
	char *master, *result = NULL, *msg = NULL;
	int rc = HS_ERROR;

	if (s->server) {
		/* the store is the server's: backed up there, not from a PC */
		hsd_log_info("backup skipped: the master is a sync server; back "
			     "up its store on the server (hubsync backup "
			     "STORE/master.db, docs/SERVER.md)");
		s->backup_due = 0;
		return;
	}
	pthread_mutex_unlock(&s->mu);
	master = master_path(s);
	if (master) {
		opts.keep = s->backup_keep;
		opts.lock_timeout_ms = s->lock_timeout_ms;
		rc = hs_backup_create(master, &opts, &result, &msg);
	}
	if (rc == HS_OK) {
		json_t *doc = json_loads(result, 0, NULL);
		hsd_log_info("backup written: %s (%zu old removed)",
			     json_string_value(json_object_get(doc, "backup")),
			     json_array_size(json_object_get(doc, "removed")));
		json_decref(doc);
	} else if (master) {
		hsd_log_error("backup failed: %s", msg ? msg : "out of memory");
	}
	hs_free(result);
	hs_free(msg);
	free(master);
	pthread_mutex_lock(&s->mu);
	s->backup_due = hsd_mono_ms() +
			(rc == HS_OK || s->backup_every_ms < HSD_BACKUP_RETRY_MS
				 ? s->backup_every_ms
				 : HSD_BACKUP_RETRY_MS);
}

/* Apply a pause flag; called with mu held. */
static void set_paused(hsd_sched *s, int paused)
{
	if (paused == s->paused)
		return;
	hsd_log_info("scheduled sync %s", paused ? "paused" : "resumed");
	s->paused = paused;
	if (!paused)
		s->anchor = hsd_mono_ms(); /* next one: an interval from now */
}

/* Read the stored interval and pause; called and returns with mu held. */
static void reread_schedule(hsd_sched *s)
{
	int minutes = 0, paused = 0, rc;

	pthread_mutex_unlock(&s->mu);
	rc = hs_replica_schedule_get(s->replica, &minutes);
	if (rc == HS_OK)
		rc = hs_replica_pause_get(s->replica, &paused);
	pthread_mutex_lock(&s->mu);
	s->reread_due = hsd_mono_ms() + HSD_SCHED_REREAD_MS;
	if (rc != HS_OK) {
		hsd_log_warn("cannot read the schedule: %s",
			     hs_replica_errmsg(s->replica));
		return;
	}
	if (minutes != s->interval_min) {
		hsd_log_info("schedule changed to %d minutes", minutes);
		s->interval_min = minutes;
	}
	set_paused(s, paused);
	/* Offline, with the next retry far off: the share may be back
	 * already; then retry now, so that the page stops showing an error
	 * that no longer holds. */
	if (s->offline_since_wall && s->retry_due > hsd_mono_ms()) {
		int back;
		pthread_mutex_unlock(&s->mu);
		back = hs_replica_master_present(s->replica);
		pthread_mutex_lock(&s->mu);
		if (back && s->offline_since_wall) {
			hsd_log_info("the master is there again: syncing now");
			s->retry_due = hsd_mono_ms();
		}
	}
}

static void wait_until(hsd_sched *s, int64_t due_mono)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(due_mono / 1000);
	ts.tv_nsec = (long)(due_mono % 1000) * 1000000;
	pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

/* Look whether the app committed changes to push (hs_replica_changed on
 * the worker's own handle, so that its own syncs do not count), and push
 * them at once; called and returns with mu held (released meanwhile). */
static void watch_app(hsd_sched *s)
{
	int64_t dv = 0;
	int pending = 0, rc;

	pthread_mutex_unlock(&s->mu);
	rc = hs_replica_changed(s->replica, &dv, &pending);
	pthread_mutex_lock(&s->mu);
	s->watch_due = hsd_mono_ms() + HSD_WATCH_MS;
	if (rc != HS_OK || dv == s->data_version)
		return;
	s->data_version = dv;
	/* a failed sync waits for its retry: no sync per commit meanwhile */
	if (pending && !s->retry_due)
		run_sync(s, "change");
}

static void *worker_main(void *arg)
{
	hsd_sched *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t now = hsd_mono_ms(), due = next_due(s), wake_at;

		if (now >= s->reread_due) {
			reread_schedule(s);
			continue;
		}
		if (s->manual_pending) {
			run_sync(s, "manual");
			continue;
		}
		if (s->wake_asked > s->wake_done) {
			uint64_t ticket = s->wake_asked;
			int rc = run_sync(s, s->wake_trigger);
			s->wake_rc = rc;
			s->wake_done = ticket;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		if (s->server && !s->paused && now >= s->watch_due) {
			watch_app(s);
			continue;
		}
		if (due && now >= due) {
			run_sync(s, s->start_due ? "start" :
				    s->retry_due == due ? "retry" : "scheduled");
			continue;
		}
		if (s->backup_due && now >= s->backup_due) {
			run_backup(s);
			continue;
		}
		wake_at = s->reread_due;
		if (due && due < wake_at)
			wake_at = due;
		if (s->backup_due && s->backup_due < wake_at)
			wake_at = s->backup_due;
		if (s->server && !s->paused && s->watch_due < wake_at)
			wake_at = s->watch_due;
		wait_until(s, wake_at);
	}
	s->exited = 1;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void sched_free(hsd_sched *s)
{
	if (!s)
		return;
	hs_replica_free(s->replica);
	hs_free(s->manual_result);
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s->db_path);
	free(s);
}

int hsd_sched_start(hsd_sched **out, const hsd_sched_options *opts,
		    char *err, size_t errlen)
{
	pthread_condattr_t attr;
	hsd_sched *s;
	int rc = HS_ERROR;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->db_path = strdup(opts->db_path))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return HS_ERROR;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_cond_init(&s->done, &attr);
	pthread_condattr_destroy(&attr);
	s->retry_min_ms = (opts->retry_min_s > 0 ? opts->retry_min_s : 60) * 1000;
	s->lock_timeout_ms = opts->lock_timeout_ms;

	rc = hs_replica_open(&s->replica, s->db_path, NULL);
	if (rc == HS_OK)
		rc = hs_replica_schedule_get(s->replica, &s->interval_min);
	if (rc == HS_OK)
		rc = hs_replica_pause_get(s->replica, &s->paused);
	if (rc != HS_OK) {
		snprintf(err, errlen, "%s",
			 s->replica ? hs_replica_errmsg(s->replica) :
				      "out of memory");
		goto cleanup;
	}
	s->server = hsd_sched_master_is_server(s->replica);
	s->data_version = -1;
	s->anchor = hsd_mono_ms();
	s->started_at = hsd_wall_ms();
	s->reread_due = s->anchor + HSD_SCHED_REREAD_MS;
	if (opts->sync_at_start)
		s->start_due = s->anchor;
	s->backup_every_ms = (int64_t)opts->backup_every_h * 3600 * 1000;
	s->backup_keep = opts->backup_keep;
	if (s->backup_every_ms)
		s->backup_due = s->anchor; /* after the start sync, if any */
	if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
		snprintf(err, errlen, "cannot start the sync thread");
		rc = HS_ERROR;
		goto cleanup;
	}
	*out = s;
	return HS_OK;

cleanup:
	sched_free(s);
	return rc;
}

void hsd_sched_request_stop(hsd_sched *s)
{
	pthread_mutex_lock(&s->mu);
	if (!s->stopping && s->syncing)
		hsd_log_info("waiting for the running sync to finish");
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void hsd_sched_stop(hsd_sched *s)
{
	if (!s)
		return;
	hsd_sched_request_stop(s);
	pthread_join(s->worker, NULL);
	sched_free(s);
}

/* Wake the worker and wait (mu held) until *done reaches ticket, or the
 * worker exits. 1 when it did. */
static int wait_ticket(hsd_sched *s, const uint64_t *done, uint64_t ticket)
{
	pthread_cond_signal(&s->wake);
	while (*done < ticket && !s->exited)
		pthread_cond_wait(&s->done, &s->mu);
	return *done >= ticket;
}

int hsd_sched_sync_now(hsd_sched *s, char **result_json)
{
	uint64_t ticket;
	int rc;

	*result_json = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return HS_ERROR;
	}
	if (s->syncing || s->manual_pending) {
		pthread_mutex_unlock(&s->mu);
		return HS_ECONFLICT;
	}
	s->manual_pending = 1;
	ticket = ++s->manual_asked;
	if (!wait_ticket(s, &s->manual_done, ticket)) {
		rc = HS_ERROR; /* stopped before it ran */
	} else {
		rc = s->manual_rc;
		*result_json = s->manual_result;
		s->manual_result = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int hsd_sched_master_is_server(hs_replica *r)
{
	char *master = NULL;
	int server = 0;

	if (hs_replica_master(r, &master) == HS_OK && master)
		server = strncmp(master, "http://", 7) == 0 ||
			 strncmp(master, "https://", 8) == 0;
	hs_free(master);
	return server;
}

int hsd_sched_sync_wake(hsd_sched *s, const char *trigger)
{
	int rc = HS_ERROR;

	pthread_mutex_lock(&s->mu);
	if (!s->stopping) {
		s->wake_trigger = trigger;
		if (wait_ticket(s, &s->wake_done, ++s->wake_asked))
			rc = s->wake_rc;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int hsd_sched_paused(hsd_sched *s)
{
	int paused;

	pthread_mutex_lock(&s->mu);
	paused = s->paused;
	pthread_mutex_unlock(&s->mu);
	return paused;
}

void hsd_sched_set_interval(hsd_sched *s, int minutes)
{
	pthread_mutex_lock(&s->mu);
	if (minutes != s->interval_min)
		hsd_log_info("schedule set to %d minutes", minutes);
	s->interval_min = minutes;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void hsd_sched_set_paused(hsd_sched *s, int paused)
{
	pthread_mutex_lock(&s->mu);
	set_paused(s, paused != 0);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

/* Set key to the ISO form of wall_ms, or null when wall_ms is 0. */
static void set_time(json_t *obj, const char *key, int64_t wall_ms)
{
	char iso[HSD_ISO_LEN];

	if (!wall_ms) {
		json_object_set_new(obj, key, json_null());
		return;
	}
	hsd_iso_time(wall_ms, iso);
	json_object_set_new(obj, key, json_string(iso));
}

/* The progress keys of a running sync; called with mu held. */
static void add_progress(const hsd_sched *s, json_t *obj)
{
	json_object_set_new(obj, "trigger", json_string(s->trigger));
	json_object_set_new(obj, "phase", json_string(s->phase));
	json_object_set_new(obj, "table",
			    s->table[0] ? json_string(s->table) : json_null());
	json_object_set_new(obj, "rows", json_integer(s->rows));
	set_time(obj, "startedAt", s->started_wall);
	json_object_set_new(obj, "elapsedMs",
			    json_integer(hsd_wall_ms() - s->started_wall));
	/* how long the sync waits for another PC's lock (hubsync.h: 0 is
	 * the library's 120000) */
	json_object_set_new(obj, "lockWaitMs",
			    json_integer(s->lock_timeout_ms > 0 ? s->lock_timeout_ms
								: 120000));
}

void hsd_sched_annotate(hsd_sched *s, json_t *status)
{
	int64_t due;

	pthread_mutex_lock(&s->mu);
	due = next_due(s);
	json_object_set_new(status, "isSyncing", json_boolean(s->syncing));
	json_object_set_new(status, "paused", json_boolean(s->paused));
	set_time(status, "nextSyncTime", due ? hsd_mono_to_wall(due) : 0);
	json_object_set_new(status, "version", json_string(hs_version()));
	set_time(status, "daemonStartedAt", s->started_at);
	json_object_set_new(status, "uptimeSeconds",
			    json_integer((hsd_wall_ms() - s->started_at) / 1000));
	json_object_set_new(status, "offline",
			    json_boolean(s->offline_since_wall != 0));
	set_time(status, "offlineSince", s->offline_since_wall);
	set_time(status, "lastAttemptTime", s->last_attempt_wall);
	json_object_set_new(status, "masterKind",
			    json_string(s->server ? "server" : "file"));
	set_time(status, "lastPushTime", s->last_push_wall);
	set_time(status, "lastPullTime", s->last_pull_wall);
	if (s->last_error[0])
		json_object_set_new(status, "lastError",
				    json_string(s->last_error));
	if (s->syncing) {
		json_t *progress = json_object();

		add_progress(s, progress);
		json_object_set_new(status, "progress", progress);
	}
	pthread_mutex_unlock(&s->mu);
}

json_t *hsd_sched_progress_json(hsd_sched *s)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	pthread_mutex_lock(&s->mu);
	json_object_set_new(obj, "isSyncing", json_boolean(s->syncing));
	if (s->syncing)
		add_progress(s, obj);
	pthread_mutex_unlock(&s->mu);
	return obj;
}
