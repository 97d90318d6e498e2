/*
 * api.h - the daemon's HTTP API (DESIGN.md section 3.4) and the page.
 *
 *   GET  /api/sync/status                 3.3 status + isSyncing,
 *                                         nextSyncTime, offline, ...
 *   POST /api/sync/manual                 sync now; 3.3 manual result
 *                                         (200 also when the sync failed:
 *                                         success false, message says why)
 *   PUT  /api/sync/schedule               {"intervalMinutes": N} ->
 *                                         {"success": true, "intervalMinutes": N}
 *   GET  /api/sync/history[?limit=N]      3.3 history, newest first (50)
 *   GET  /api/sync/conflicts[?all=1]      3.3 conflicts (unresolved)
 *   POST /api/sync/conflicts/ID/resolve   {"keep": "local"|"remote"}
 *   GET  /api/sync/progress               the running sync's progress
 *   PUT  /api/sync/pause                  {"paused": true|false} ->
 *                                         {"success": true, "paused": B}
 *   GET  /api/sync/peers                  the office's PCs (DESIGN 3.4)
 *   GET  /api/sync/log?table=&key=&user=&since=&limit=
 *                                         the audit trail (hubsync log)
 *   GET  /, /app.js, /style.css           the status page (assets.h)
 *
 * Every POST and PUT sends a JSON object ({} when it has nothing to say):
 * anything else is 400, before the handler runs.
 * Errors are {"error": "..."}: 400 bad request, 404 unknown path or
 * conflict, 405 known path with another method (Allow lists the right
 * ones), 409 a sync already running, 500 anything else.
 *
 * Each request opens its own replica handle (handles are not thread-safe
 * and requests run in parallel); syncs run only in the scheduler's worker.
 */
#ifndef HSD_API_H
#define HSD_API_H

#include "http.h"
#include "realtime.h"
#include "scheduler.h"

typedef struct hsd_api {
	const char *db_path;
	hsd_sched *sched;
	hsd_rt *rt; /* the real-time link, NULL with a file master */
} hsd_api;

/* Answer req into reply (always filled). */
void hsd_api_handle(hsd_api *api, const hsd_request *req, hsd_reply *reply);

/*
 * The checks of the JSON request bodies, used by the endpoints and by the
 * fuzz target fuzz/fuzz_api_body.c. Each reads body[0..len) (any bytes,
 * no NUL needed) and returns 0 with the value, or -1 with reply filled
 * with a 400 {"error": ...} (the caller frees reply->body).
 *   PUT /api/sync/schedule:  {"intervalMinutes": 0..7 days} -> *minutes
 *   POST .../resolve:        {"keep": "local"|"remote"} -> *keep_local
 */
int hsd_api_parse_schedule(const char *body, size_t len, hsd_reply *reply,
			   int *minutes);
int hsd_api_parse_resolve(const char *body, size_t len, hsd_reply *reply,
			  int *keep_local);
/*   PUT /api/sync/pause:     {"paused": true|false} -> *paused */
int hsd_api_parse_pause(const char *body, size_t len, hsd_reply *reply,
			int *paused);

#endif
