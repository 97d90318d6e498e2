/*
 * api.c - routing and the endpoint handlers of the daemon (see api.h).
 *
 * The JSON documents come from the public library API; this file only adds
 * the daemon's live keys to the status object, checks request bodies, and
 * maps hs_error codes to HTTP statuses.
 */
#include "api.h"
#include "assets.h"

#include <hubsync.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HSD_MAX_INTERVAL_MIN (7 * 24 * 60)
#define HSD_MAX_HISTORY 1000
#define HSD_MAX_LOG 5000

typedef void (*route_fn)(hsd_api *api, const hsd_request *req,
			 hsd_reply *reply, const char *id);

typedef struct route {
	const char *method;
	const char *pattern; /* "*" matches one path segment (the id) */
	route_fn fn;
} route;

/* ---- helpers ---- */

/* The local API answers 400, 404, 409 or 500 (DESIGN.md 3.4): a code
 * whose status is another (a damaged, locked or unreachable master) is 500. */
static int http_status_of(int rc)
{
	int status = hs_error_http_status(rc);
	return status == 400 || status == 404 || status == 409 ? status : 500;
}

static void reply_failure(hsd_reply *reply, int rc, const hs_replica *r)
{
	const char *msg = r ? hs_replica_errmsg(r) : "";

	hsd_reply_error(reply, http_status_of(rc), "%s",
			msg[0] ? msg : "internal error");
}

/* A handle for this request, or NULL with reply filled. */
static hs_replica *open_replica(const hsd_api *api, hsd_reply *reply)
{
	hs_replica *r = NULL;
	int rc = hs_replica_open(&r, api->db_path, NULL);

	if (rc == HS_OK)
		return r;
	hsd_reply_error(reply, 500, "cannot open the replica %s: %s",
			api->db_path, r ? hs_replica_errmsg(r) : "out of memory");
	hs_replica_free(r);
	return NULL;
}

/* Answer with a JSON document made by the library (freed here). */
static void reply_library_doc(hsd_reply *reply, char *doc)
{
	reply->status = 200;
	reply->content_type = "application/json";
	reply->body = strdup(doc);
	reply->len = reply->body ? strlen(reply->body) : 0;
	hs_free(doc);
	if (!reply->body)
		hsd_reply_error(reply, 500, "out of memory");
}

/* The request body as a JSON object, or NULL with reply filled. */
static json_t *body_object(const char *body, size_t len, hsd_reply *reply)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, 0, &jerr);

	if (!doc) {
		/* jansson quotes the bad input ("near '...'"): keep the
		 * message ASCII, or the reply itself is not valid JSON text
		 * and turns into a 500 */
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		hsd_reply_error(reply, 400, "the body is not valid JSON: %s",
				jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		hsd_reply_error(reply, 400, "the body must be a JSON object");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Every request that changes state sends a JSON object (at least {}):
 * 1, or 0 with a 400 in reply. */
static int body_is_object(const hsd_request *req, hsd_reply *reply)
{
	json_t *doc = body_object(req->body, req->body_len, reply);

	json_decref(doc);
	return doc != NULL;
}

/* Parse a whole decimal number in [min, max]; 0 on success. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == '+' || *s == '-' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- request bodies (also the fuzz target's entry, see api.h) ---- */

int hsd_api_parse_schedule(const char *body, size_t len, hsd_reply *reply,
			   int *minutes)
{
	json_t *doc = body_object(body, len, reply), *val;
	int rc = -1;

	if (!doc)
		return -1;
	val = json_object_get(doc, "intervalMinutes");
	if (!json_is_integer(val) || json_integer_value(val) < 0 ||
	    json_integer_value(val) > HSD_MAX_INTERVAL_MIN) {
		hsd_reply_error(reply, 400,
				"intervalMinutes must be a whole number of minutes from 0 (scheduled sync off) to %d",
				HSD_MAX_INTERVAL_MIN);
	} else {
		*minutes = (int)json_integer_value(val);
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

int hsd_api_parse_pause(const char *body, size_t len, hsd_reply *reply,
			int *paused)
{
	json_t *doc = body_object(body, len, reply), *val;
	int rc = -1;

	if (!doc)
		return -1;
	val = json_object_get(doc, "paused");
	if (!json_is_boolean(val)) {
		hsd_reply_error(reply, 400,
				"paused must be true (pause scheduled sync) or false (resume)");
	} else {
		*paused = json_is_true(val);
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

int hsd_api_parse_resolve(const char *body, size_t len, hsd_reply *reply,
			  int *keep_local)
{
	json_t *doc = body_object(body, len, reply);
	const char *keep;
	int rc = -1;

	if (!doc)
		return -1;
	keep = json_string_value(json_object_get(doc, "keep"));
	if (!keep || (strcmp(keep, "local") != 0 && strcmp(keep, "remote") != 0)) {
		hsd_reply_error(reply, 400,
				"keep must be \"local\" or \"remote\"");
	} else {
		*keep_local = strcmp(keep, "local") == 0;
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

/* ---- endpoints ---- */

static void get_status(hsd_api *api, const hsd_request *req,
		       hsd_reply *reply, const char *id)
{
	hs_replica *r = open_replica(api, reply);
	char *text = NULL;
	json_t *doc;
	int rc;

	if (!r)
		return;
	rc = hs_replica_status_json(r, &text);
	if (rc != HS_OK) {
		reply_failure(reply, rc, r);
		goto cleanup;
	}
	doc = json_loads(text, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		hsd_reply_error(reply, 500, "the library's status is not a JSON object");
		goto cleanup;
	}
	hsd_sched_annotate(api->sched, doc);
	hsd_rt_annotate(api->rt, doc);
	hsd_reply_json(reply, 200, doc);
cleanup:
	hs_free(text);
	hs_replica_free(r);
}

static void post_manual(hsd_api *api, const hsd_request *req,
			hsd_reply *reply, const char *id)
{
	char *result = NULL;
	int rc = hsd_sched_sync_now(api->sched, &result);

	if (!result) {
		if (rc == HS_ECONFLICT)
			hsd_reply_error(reply, 409,
					"a sync is already running; wait for it to finish (GET /api/sync/progress)");
		else
			hsd_reply_error(reply, 500,
					"the daemon is shutting down; no sync was started");
		return;
	}
	if (rc == HS_ECONFLICT) {
		json_t *doc = json_loads(result, 0, NULL);
		const char *msg = json_string_value(json_object_get(doc, "message"));

		hsd_reply_error(reply, 409, "%s",
				msg ? msg : "a sync is already running");
		json_decref(doc);
		hs_free(result);
		return;
	}
	reply_library_doc(reply, result);
}

static void put_schedule(hsd_api *api, const hsd_request *req,
			 hsd_reply *reply, const char *id)
{
	hs_replica *r;
	int minutes, rc;

	if (hsd_api_parse_schedule(req->body, req->body_len, reply,
				   &minutes) < 0)
		return;
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_schedule_set(r, minutes);
	if (rc != HS_OK) {
		reply_failure(reply, rc, r);
		goto cleanup;
	}
	hsd_sched_set_interval(api->sched, minutes);
	hsd_reply_json(reply, 200,
		       json_pack("{s:b,s:i}", "success", 1, "intervalMinutes",
				 minutes));
cleanup:
	hs_replica_free(r);
}

static void put_pause(hsd_api *api, const hsd_request *req,
		      hsd_reply *reply, const char *id)
{
	hs_replica *r;
	int paused, rc;

	if (hsd_api_parse_pause(req->body, req->body_len, reply, &paused) < 0)
		return;
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_pause_set(r, paused);
	if (rc != HS_OK) {
		reply_failure(reply, rc, r);
		goto cleanup;
	}
	hsd_sched_set_paused(api->sched, paused);
	hsd_reply_json(reply, 200,
		       json_pack("{s:b,s:b}", "success", 1, "paused", paused));
cleanup:
	hs_replica_free(r);
}

static void get_peers(hsd_api *api, const hsd_request *req,
		      hsd_reply *reply, const char *id)
{
	hs_replica *r = open_replica(api, reply);
	char *doc = NULL;
	int rc;

	if (!r)
		return;
	rc = hs_replica_peers_json(r, &doc);
	if (rc == HS_OK)
		reply_library_doc(reply, doc);
	else
		reply_failure(reply, rc, r);
	hs_replica_free(r);
}

/* GET /api/sync/log?table=&key=&user=&since=&limit= */
static void get_log(hsd_api *api, const hsd_request *req, hsd_reply *reply,
		    const char *id)
{
	hs_log_options opts = HS_LOG_OPTIONS_INIT;
	const char *arg = hsd_request_arg(req, "limit");
	int64_t limit = 200;
	hs_replica *r;
	char *doc = NULL;
	int rc;

	if (arg && parse_int(arg, 1, HSD_MAX_LOG, &limit) < 0) {
		hsd_reply_error(reply, 400,
				"limit must be a whole number from 1 to %d, not '%s'",
				HSD_MAX_LOG, arg);
		return;
	}
	/* an empty filter is no filter (a form's empty field) */
	opts.table = hsd_request_arg(req, "table");
	opts.key = hsd_request_arg(req, "key");
	opts.user = hsd_request_arg(req, "user");
	opts.since = hsd_request_arg(req, "since");
	if (opts.table && !*opts.table)
		opts.table = NULL;
	if (opts.key && !*opts.key)
		opts.key = NULL;
	if (opts.user && !*opts.user)
		opts.user = NULL;
	if (opts.since && !*opts.since)
		opts.since = NULL;
	opts.limit = (int)limit;
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_log_query_json(r, &opts, &doc);
	if (rc == HS_OK)
		reply_library_doc(reply, doc);
	else
		reply_failure(reply, rc, r);
	hs_replica_free(r);
}

static void get_history(hsd_api *api, const hsd_request *req,
			hsd_reply *reply, const char *id)
{
	const char *arg = hsd_request_arg(req, "limit");
	int64_t limit = 50;
	hs_replica *r;
	char *doc = NULL;
	int rc;

	if (arg && parse_int(arg, 1, HSD_MAX_HISTORY, &limit) < 0) {
		hsd_reply_error(reply, 400,
				"limit must be a whole number from 1 to %d, not '%s'",
				HSD_MAX_HISTORY, arg);
		return;
	}
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_history_json(r, (int)limit, &doc);
	if (rc == HS_OK)
		reply_library_doc(reply, doc);
	else
		reply_failure(reply, rc, r);
	hs_replica_free(r);
}

static void get_conflicts(hsd_api *api, const hsd_request *req,
			  hsd_reply *reply, const char *id)
{
	const char *arg = hsd_request_arg(req, "all");
	int all = arg && (strcmp(arg, "1") == 0 || strcmp(arg, "true") == 0);
	hs_replica *r;
	char *doc = NULL;
	int rc;

	if (arg && !all && strcmp(arg, "0") != 0 && strcmp(arg, "false") != 0) {
		hsd_reply_error(reply, 400, "all must be 1 or 0, not '%s'", arg);
		return;
	}
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_conflicts_json(r, all, &doc);
	if (rc == HS_OK)
		reply_library_doc(reply, doc);
	else
		reply_failure(reply, rc, r);
	hs_replica_free(r);
}

static void post_resolve(hsd_api *api, const hsd_request *req,
			 hsd_reply *reply, const char *id)
{
	hs_replica *r;
	int64_t conflict_id;
	int keep_local, rc;

	if (parse_int(id, 1, INT64_MAX, &conflict_id) < 0) {
		hsd_reply_error(reply, 400,
				"'%s' is not a conflict id; ids are the numbers GET /api/sync/conflicts lists",
				id);
		return;
	}
	if (hsd_api_parse_resolve(req->body, req->body_len, reply,
				  &keep_local) < 0)
		return;
	r = open_replica(api, reply);
	if (!r)
		return;
	rc = hs_replica_resolve(r, conflict_id,
				keep_local ? HS_KEEP_LOCAL : HS_KEEP_REMOTE);
	if (rc != HS_OK) {
		reply_failure(reply, rc, r);
		goto cleanup;
	}
	hsd_reply_json(reply, 200,
		       json_pack("{s:b,s:I,s:s}", "success", 1, "id",
				 (json_int_t)conflict_id, "keep",
				 keep_local ? "local" : "remote"));
cleanup:
	hs_replica_free(r);
}

static void get_progress(hsd_api *api, const hsd_request *req,
			 hsd_reply *reply, const char *id)
{
	hsd_reply_json(reply, 200, hsd_sched_progress_json(api->sched));
}

/* ---- routing ---- */

static const route routes[] = {
	{ "GET", "/api/sync/status", get_status },
	{ "POST", "/api/sync/manual", post_manual },
	{ "PUT", "/api/sync/schedule", put_schedule },
	{ "GET", "/api/sync/history", get_history },
	{ "GET", "/api/sync/conflicts", get_conflicts },
	{ "POST", "/api/sync/conflicts/*/resolve", post_resolve },
	{ "GET", "/api/sync/progress", get_progress },
	{ "PUT", "/api/sync/pause", put_pause },
	{ "GET", "/api/sync/peers", get_peers },
	{ "GET", "/api/sync/log", get_log },
};

/*
 * Does path match pattern? On a match the "*" segment is copied into id
 * (NUL-terminated, at most idlen - 1 bytes; a longer one does not match).
 */
static int path_matches(const char *pattern, const char *path, char *id,
			size_t idlen)
{
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= idlen)
				return 0;
			memcpy(id, path, n);
			id[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *pattern == '\0' && *path == '\0';
}

void hsd_api_handle(hsd_api *api, const hsd_request *req, hsd_reply *reply)
{
	const hsd_asset *asset;
	char id[32];
	int path_known = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_matches(routes[i].pattern, req->path, id, sizeof(id)))
			continue;
		if (strcmp(routes[i].method, req->method) == 0) {
			if (strcmp(req->method, "GET") == 0 ||
			    (hsd_request_check_write(req, reply) &&
			     body_is_object(req, reply)))
				routes[i].fn(api, req, reply, id);
			return;
		}
		path_known = 1;
		/* one method per path */
		reply->allow = strcmp(routes[i].method, "GET") == 0 ?
				       "GET, HEAD" : routes[i].method;
	}
	asset = hsd_asset_find(strcmp(req->path, "/index.html") == 0 ?
				       "/" : req->path);
	if (asset && strcmp(req->method, "GET") == 0) {
		reply->status = 200;
		reply->content_type = asset->content_type;
		reply->static_body = asset->data;
		reply->len = asset->len;
		return;
	}
	if (asset) {
		path_known = 1;
		reply->allow = "GET, HEAD";
	}
	if (path_known)
		hsd_reply_error(reply, 405, "%s is not allowed on %s; use %s",
				req->method, req->path, reply->allow);
	else
		hsd_reply_error(reply, 404, "no such path: %s", req->path);
}
