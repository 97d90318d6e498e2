/*
 * realtime.h - the daemon's real-time link to a sync server: a thread that
 * keeps the server's long poll open (hs_replica_wait_master) and asks the
 * worker for a sync (hsd_sched_sync_wake) as soon as the server holds
 * changes this replica has not pulled. The app's own commits are the
 * worker's to notice (scheduler.h). Scheduled syncs go on as the safety
 * net.
 *
 * When the server cannot be reached (or refuses), the link waits 1 s, then
 * twice as long each time up to HSD_RT_BACKOFF_MAX_MS, and tries again;
 * the status shows its state; once the server answers again the link
 * has the worker sync at once (changes made here meanwhile would wait for
 * the worker's retry otherwise). While scheduled syncs are paused the link
 * is closed.
 */
#ifndef HSD_REALTIME_H
#define HSD_REALTIME_H

#include "scheduler.h"

#include <jansson.h>
#include <stddef.h>

#define HSD_RT_BACKOFF_MAX_MS 30000

typedef struct hsd_rt hsd_rt;

/*
 * Start the link for the replica at db_path (a handle of its own) feeding
 * sched (borrowed until hsd_rt_stop). A replica whose master is a file
 * has no link: HS_OK with *out NULL. Otherwise a negative hs_error with a
 * one-line reason in err, *out NULL.
 */
int hsd_rt_start(hsd_rt **out, const char *db_path, hsd_sched *sched,
		 char *err, size_t errlen);

/* Stop: end the wait (within about a second), join the thread, free.
 * Accepts NULL. Call before hsd_sched_stop. */
void hsd_rt_stop(hsd_rt *rt);

/*
 * Add "realtime" to a status object: {"state": "connected" | "connecting"
 * | "reconnecting" | "paused" | "off", "since" (when it entered that state,
 * ISO, null when off), "lastWakeTime" (the last time the server announced
 * changes, or null), "lastError" (while reconnecting)}. rt NULL: state
 * "off" (a file master).
 */
void hsd_rt_annotate(hsd_rt *rt, json_t *status);

#endif
