/*
 * fuzz_api_body.c - the daemon's JSON request bodies (src/daemon/api.h:
 * PUT /api/sync/schedule, PUT /api/sync/pause and POST
 * /api/sync/conflicts/ID/resolve) on any
 * bytes. Checks, besides memory safety: each body is either accepted with
 * a value in range and no reply, or refused with a 400 whose body is a
 * JSON {"error": "..."}.
 */
#include "api.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(hsd_reply *reply)
{
	json_t *doc;
	if (reply->status != 400 || !reply->body)
		abort();
	doc = json_loadb(reply->body, reply->len, 0, NULL);
	if (!json_is_string(json_object_get(doc, "error")))
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	hsd_reply reply;
	int minutes = -1, keep_local = -1, paused = -1;

	memset(&reply, 0, sizeof(reply));
	if (hsd_api_parse_schedule(body, size, &reply, &minutes) == 0) {
		if (reply.status || minutes < 0 || minutes > 7 * 24 * 60)
			abort();
	} else {
		check_refusal(&reply);
	}
	free(reply.body);

	memset(&reply, 0, sizeof(reply));
	if (hsd_api_parse_resolve(body, size, &reply, &keep_local) == 0) {
		if (reply.status || (keep_local != 0 && keep_local != 1))
			abort();
	} else {
		check_refusal(&reply);
	}
	free(reply.body);

	memset(&reply, 0, sizeof(reply));
	if (hsd_api_parse_pause(body, size, &reply, &paused) == 0) {
		if (reply.status || (paused != 0 && paused != 1))
			abort();
	} else {
		check_refusal(&reply);
	}
	free(reply.body);
	return 0;
}
