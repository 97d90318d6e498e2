/*
 * realtime.c - the real-time link to a sync server (see realtime.h).
 *
 * One thread, one replica handle (handles are not thread-safe; the worker
 * has its own). The loop: wait on the server (at most HSD_RT_WAIT_MS, the
 * server answers by then), and when it announces changes past this
 * replica's cursor, have the worker sync and wait for that sync, so that
 * the next wait starts from the new cursor. Everything below `mu` in the
 * struct is guarded by it; the thread holds it only to update the state.
 */
#include "realtime.h"
#include "dclock.h"
#include "dlog.h"

#include <hubsync.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HSD_RT_WAIT_MS 25000

struct hsd_rt {
	hs_replica *replica;
	hsd_sched *sched;
	pthread_t thread;

	pthread_mutex_t mu;
	pthread_cond_t wake; /* stop */
	int stopping;
	const char *state;   /* see realtime.h */
	int64_t since_wall;
	int64_t last_wake_wall;
	char last_error[512];
};

static void set_state(hsd_rt *rt, const char *state, const char *error)
{
	pthread_mutex_lock(&rt->mu);
	if (rt->state != state) {
		rt->state = state;
		rt->since_wall = hsd_wall_ms();
	}
	snprintf(rt->last_error, sizeof rt->last_error, "%s", error ? error : "");
	pthread_mutex_unlock(&rt->mu);
}

static int stopping(hsd_rt *rt)
{
	int stop;

	pthread_mutex_lock(&rt->mu);
	stop = rt->stopping;
	pthread_mutex_unlock(&rt->mu);
	return stop;
}

/* The wait's cancel callback: stopping, or scheduled syncs paused. */
static int cancel_wait(void *ctx)
{
	hsd_rt *rt = ctx;

	return stopping(rt) || hsd_sched_paused(rt->sched);
}

/* Sleep ms unless stopped meanwhile. */
static void pause_ms(hsd_rt *rt, int64_t ms)
{
	int64_t due = hsd_mono_ms() + ms;
	struct timespec ts;

	ts.tv_sec = (time_t)(due / 1000);
	ts.tv_nsec = (long)(due % 1000) * 1000000;
	pthread_mutex_lock(&rt->mu);
	while (!rt->stopping && hsd_mono_ms() < due &&
	       pthread_cond_timedwait(&rt->wake, &rt->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&rt->mu);
}

static void *rt_main(void *arg)
{
	hsd_rt *rt = arg;
	hs_wait_options o = HS_WAIT_OPTIONS_INIT;
	int64_t backoff = 0;

	o.cancel = cancel_wait;
	o.cancel_ctx = rt;
	while (!stopping(rt)) {
		int changed = 0, rc;

		if (hsd_sched_paused(rt->sched)) {
			set_state(rt, "paused", NULL);
			pause_ms(rt, 1000);
			continue;
		}
		/* until the server answered once, ask without waiting: the
		 * state says "connected" only when it is */
		o.timeout_ms = strcmp(rt->state, "connected") == 0 ? HSD_RT_WAIT_MS
								  : -1;
		rc = hs_replica_wait_master(rt->replica, &o, &changed);
		if (stopping(rt))
			break;
		if (rc == HS_OK && !changed && hsd_sched_paused(rt->sched))
			continue; /* the wait was cancelled by the pause */
		if (rc != HS_OK) {
			const char *msg = hs_replica_errmsg(rt->replica);
			if (strcmp(rt->state, "reconnecting") != 0)
				hsd_log_warn("real-time link to the server lost: %s",
					     msg);
			set_state(rt, "reconnecting", msg);
			backoff = backoff ? backoff * 2 : 1000;
			if (backoff > HSD_RT_BACKOFF_MAX_MS)
				backoff = HSD_RT_BACKOFF_MAX_MS;
			pause_ms(rt, backoff);
			continue;
		}
		/* back after the server was away: sync now, both ways (this
		 * PC's changes meanwhile wait for the worker's retry else) */
		if (strcmp(rt->state, "reconnecting") == 0)
			changed = 1;
		if (strcmp(rt->state, "connected") != 0)
			hsd_log_info("real-time link to the server open");
		set_state(rt, "connected", NULL);
		backoff = 0;
		if (!changed)
			continue;
		pthread_mutex_lock(&rt->mu);
		rt->last_wake_wall = hsd_wall_ms();
		pthread_mutex_unlock(&rt->mu);
		rc = hsd_sched_sync_wake(rt->sched, "realtime");
		/* a failed sync is the worker's to retry: do not ask again at
		 * once (the server would announce the same changes) */
		if (rc != HS_OK)
			pause_ms(rt, rc == HS_ECONFLICT ? 1000 : 5000);
	}
	return NULL;
}

int hsd_rt_start(hsd_rt **out, const char *db_path, hsd_sched *sched,
		 char *err, size_t errlen)
{
	pthread_condattr_t attr;
	hsd_rt *rt;
	int rc;

	*out = NULL;
	if (!(rt = calloc(1, sizeof(*rt)))) {
		snprintf(err, errlen, "out of memory");
		return HS_ERROR;
	}
	rc = hs_replica_open(&rt->replica, db_path, NULL);
	if (rc != HS_OK || !hsd_sched_master_is_server(rt->replica)) {
		if (rc != HS_OK)
			snprintf(err, errlen, "%s", rt->replica
				 ? hs_replica_errmsg(rt->replica) : "out of memory");
		hs_replica_free(rt->replica);
		free(rt);
		return rc;
	}
	rt->sched = sched;
	rt->state = "connecting";
	rt->since_wall = hsd_wall_ms();
	pthread_mutex_init(&rt->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&rt->thread, NULL, rt_main, rt) != 0) {
		snprintf(err, errlen, "cannot start the real-time thread");
		pthread_cond_destroy(&rt->wake);
		pthread_mutex_destroy(&rt->mu);
		hs_replica_free(rt->replica);
		free(rt);
		return HS_ERROR;
	}
	*out = rt;
	return HS_OK;
}

void hsd_rt_stop(hsd_rt *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&rt->mu);
	rt->stopping = 1;
	pthread_cond_broadcast(&rt->wake);
	pthread_mutex_unlock(&rt->mu);
	pthread_join(rt->thread, NULL);
	pthread_cond_destroy(&rt->wake);
	pthread_mutex_destroy(&rt->mu);
	hs_replica_free(rt->replica);
	free(rt);
}

void hsd_rt_annotate(hsd_rt *rt, json_t *status)
{
	json_t *o = json_object();
	char iso[HSD_ISO_LEN];

	if (!o)
		return;
	if (!rt) {
		json_object_set_new(o, "state", json_string("off"));
		json_object_set_new(o, "since", json_null());
		json_object_set_new(o, "lastWakeTime", json_null());
		json_object_set_new(status, "realtime", o);
		return;
	}
	pthread_mutex_lock(&rt->mu);
	json_object_set_new(o, "state", json_string(rt->state));
	hsd_iso_time(rt->since_wall, iso);
	json_object_set_new(o, "since", json_string(iso));
	if (rt->last_wake_wall) {
		hsd_iso_time(rt->last_wake_wall, iso);
		json_object_set_new(o, "lastWakeTime", json_string(iso));
	} else {
		json_object_set_new(o, "lastWakeTime", json_null());
	}
	if (rt->last_error[0])
		json_object_set_new(o, "lastError", json_string(rt->last_error));
	pthread_mutex_unlock(&rt->mu);
	json_object_set_new(status, "realtime", o);
}
