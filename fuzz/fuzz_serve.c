/*
 * fuzz_serve.c - the sync server's request handling, as a hostile client
 * reaches it, without a network: the steps serve.c's on_request takes
 * (src/daemon/serve.h: hsd_serve_route, the token, hsd_serve_wait_args)
 * and the library's handler (hs_server_handle, hs_server_wait) on a real
 * store, in order, with the fuzzer's method, path, Authorization header,
 * query arguments and body.
 *
 * Input: byte 0 is flags, then five lines, then the body:
 *   flags & 1      the body is sent as given (else: the rest are frames,
 *                  which the target wraps into a proper stream, so that
 *                  the fuzzer explores the calls rather than zstd)
 *   flags >> 1 & 3 the token: 0 the AUTH line as the header value, 1 a
 *                  writer's, 2 a read-only user's, 3 a user limited to
 *                  the table "items"
 *   METHOD\nPATH\nAUTH\nSINCE\nTIMEOUT\n   ("-": no such argument)
 * Checks besides memory safety: a route is a known one or a 404/405 with
 * a message; a refused token is HS_EINVALID with a message; a request is
 * answered 200, or refused with a 4xx/5xx status and a one-line message;
 * a wait answers the store's sequence as JSON. The waits never block (the
 * timeout is forced to 0). The store lives under /dev/shm (removed at
 * exit) and keeps what the requests did between runs.
 */
#include "fuzz_tmp.h"
#include "serve.h"
#include "wire.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char store[300];
static char *tokens[3];
static hs_server *srv;
static FILE *sink;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_serve: %s\n", what);
	abort();
}

static void free_server(void)
{
	hs_server_free(srv);
}

static void setup(void)
{
	const char *dir = fuzz_tmp_dir("serve");
	char *msg = NULL;

	if (!dir)
		die("mkdtemp");
	snprintf(store, sizeof store, "%s/store", dir);
	if (hs_user_add(store, "alice", 0, NULL, &tokens[0], &msg) != HS_OK ||
	    hs_user_add(store, "rita", 1, NULL, &tokens[1], &msg) != HS_OK ||
	    hs_user_add(store, "tom", 0, "items", &tokens[2], &msg) != HS_OK ||
	    hs_server_open(&srv, store, &msg) != HS_OK)
		die(msg ? msg : "cannot make the store");
	atexit(free_server); /* before the folder goes (atexit: last in, first out) */
	if (!(sink = fopen("/dev/null", "w")))
		die("/dev/null");
}

/* The next line of [*p, end) as a NUL-terminated copy in buf. */
static const char *line(const uint8_t **p, const uint8_t *end, char *buf,
			size_t cap)
{
	size_t n = 0;
	while (*p < end && **p != '\n') {
		if (n + 1 < cap)
			buf[n++] = (char)**p;
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	buf[n] = 0;
	return strcmp(buf, "-") == 0 ? NULL : buf;
}

static int buf_write(void *ctx, const void *p, size_t n)
{
	hs_buf_putn(ctx, p, n);
	return 0;
}

/* An error answer's message: one line, not empty. */
static void check_message(const char *msg)
{
	if (!msg || !*msg || strchr(msg, '\n')) {
		fprintf(stderr, "fuzz_serve: message not one line: [%s]\n",
			msg ? msg : "(none)");
		abort();
	}
}

static void sync_request(const hs_server_user *u, int raw, const uint8_t *p,
			 size_t n)
{
	hs_buf b;
	FILE *body;
	char *msg = NULL;
	int status = 0, rc;

	hs_buf_init(&b);
	if (raw) {
		hs_buf_putn(&b, (const char *)p, n);
	} else {
		hs_wire_out w;
		hs_wire_out_init(&w, buf_write, &b, 1);
		hs_wire_out_raw(&w, p, n);
		hs_wire_out_finish(&w);
		hs_wire_out_free(&w);
	}
	/* fmemopen wants at least a byte */
	body = fmemopen(b.len ? b.s : (char *)"", b.len ? b.len : 1, "rb");
	if (!body)
		die("fmemopen");
	if (!b.len)
		fgetc(body);
	rc = hs_server_handle(srv, u, body, sink, &status, &msg);
	if (rc == HS_OK ? status != 200 || msg : status < 400 || status > 599) {
		fprintf(stderr, "fuzz_serve: rc %d with status %d [%s]\n", rc,
			status, msg ? msg : "");
		abort();
	}
	if (rc != HS_OK)
		check_message(msg);
	hs_free(msg);
	fclose(body);
	hs_buf_free(&b);
}

static void wait_request(const char *since, const char *timeout)
{
	char err[200], answer[100];
	int64_t from, seq;
	int ms;
	json_t *doc;

	if (hsd_serve_wait_args(since, timeout, &from, &ms, err, sizeof err) < 0) {
		check_message(err);
		return;
	}
	if (from < 0 || ms < 0 || ms > HS_SERVER_WAIT_MAX_MS)
		abort();
	seq = hs_server_wait(srv, from, 0);
	hsd_serve_wait_answer(from, seq, answer, sizeof answer);
	doc = json_loads(answer, 0, NULL);
	if (!json_is_integer(json_object_get(doc, "seq")) ||
	    json_integer_value(json_object_get(doc, "seq")) != seq ||
	    !json_is_boolean(json_object_get(doc, "changed")))
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	char method[64], path[256], auth[256], since[64], timeout[64], hdr[300];
	const char *m, *pa, *au, *si, *ti, *why = NULL;
	hs_server_user *u = NULL;
	char *msg = NULL;
	int status = 0, route, who;

	if (!srv)
		setup();
	if (size < 1)
		return 0;
	who = data[0] >> 1 & 3;
	m = line(&p, end, method, sizeof method);
	pa = line(&p, end, path, sizeof path);
	au = line(&p, end, auth, sizeof auth);
	si = line(&p, end, since, sizeof since);
	ti = line(&p, end, timeout, sizeof timeout);

	route = hsd_serve_route(m, pa, &status, &why);
	if (route == HSD_ROUTE_NONE) {
		if ((status != 404 && status != 405))
			abort();
		check_message(why);
		return 0;
	}
	if (route != HSD_ROUTE_SYNC && route != HSD_ROUTE_WAIT)
		abort();
	if (who) {
		snprintf(hdr, sizeof hdr, "Bearer %s", tokens[who - 1]);
		au = hdr;
	}
	if (hs_server_auth(srv, au, &u, &msg) != HS_OK) {
		if (who || u)
			abort(); /* a good token refused, or a user and a refusal */
		check_message(msg);
		hs_free(msg);
		return 0;
	}
	if (route == HSD_ROUTE_WAIT)
		wait_request(si, ti);
	else
		sync_request(u, data[0] & 1, p, (size_t)(end - p));
	hs_server_user_free(u);
	return 0;
}
