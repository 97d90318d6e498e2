/*
 * serve.c - libmicrohttpd plumbing of `hubsync serve` (serve.h).
 *
 * Two paths (hsd_serve_route): POST /v1/sync and GET /v1/wait.
 * libmicrohttpd calls on_request first with the headers only: the token is
 * checked there (401 and the body is never read; a client that sent
 * "Expect: 100-continue" does not even send it).
 *
 * /v1/sync: the body goes to a temporary file, piece by piece; once whole,
 * the library answers it (hs_server_handle) into another temporary file,
 * which is streamed back. Memory stays bounded whatever the size of a sync.
 * --max-rate paces both directions of each request.
 *
 * /v1/wait (the real-time channel): answered from the first call, after
 * hs_server_wait returns (a change past the client's cursor, or the
 * timeout). Each connection has its own thread, so a waiting client holds
 * a thread and a socket, nothing else; stopping closes the waits first.
 *
 * What a request asks for is decided by small functions that know no
 * socket (hsd_serve_route, hsd_serve_wait_args), so that fuzz/fuzz_serve.c
 * drives them, with the library's handler, without a network.
 */
#include "serve.h"

#include "dclock.h"
#include "http.h"

#include <microhttpd.h>
#include <platform.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_IDLE_TIMEOUT_S 300
#define SERVE_MAX_CONNECTIONS 256

struct hsd_serve {
	struct MHD_Daemon *mhd;
	hs_server *srv;
	long max_rate;
	int quiet;
	int port;
	char *cert, *key;
};

typedef struct serve_req {
	hs_server_user *user;
	FILE *body;
	uint64_t in, out;
	int64_t started, paced_from;
	int failed;
} serve_req;

/* Sleep as long as moving n bytes since started at rate takes. */
static void pace(long rate, int64_t started, uint64_t n)
{
	if (rate <= 0)
		return;
	int64_t due = started + (int64_t)(n * 1000 / (uint64_t)rate);
	int64_t now = hsd_mono_ms();
	if (due > now) {
		hs_os_sleep_ms((int)(due - now));
	}
}

static enum MHD_Result text_reply(struct MHD_Connection *conn, int status,
				  int code, const char *msg)
{
	char line[1100], hdr[16];
	struct MHD_Response *r;
	enum MHD_Result ret;
	snprintf(line, sizeof line, "%s\n", msg);
	r = MHD_create_response_from_buffer(strlen(line), line,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	snprintf(hdr, sizeof hdr, "%d", code);
	MHD_add_response_header(r, "Hubsync-Error", hdr);
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

typedef struct stream_ctx {
	FILE *f;
	long rate;
	int64_t started;
	uint64_t sent;
} stream_ctx;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream_ctx *s = cls;
	size_t n;
	(void)pos; /* sequential */
	if (s->rate > 0 && max > (size_t)s->rate / 10 + 1)
		max = (size_t)s->rate / 10 + 1;
	n = fread(buf, 1, max, s->f);
	if (n == 0)
		return ferror(s->f) ? MHD_CONTENT_READER_END_WITH_ERROR
				    : MHD_CONTENT_READER_END_OF_STREAM;
	s->sent += n;
	pace(s->rate, s->started, s->sent);
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream_ctx *s = cls;
	fclose(s->f);
	free(s);
}

static void log_request(hsd_serve *h, serve_req *rq, int status)
{
	char when[HSD_ISO_LEN];
	if (h->quiet)
		return;
	hsd_iso_time(hsd_wall_ms(), when);
	printf("%s %s %d in %llu B out %llu B %lld ms\n", when,
	       rq->user ? hs_server_user_name(rq->user) : "-", status,
	       (unsigned long long)rq->in, (unsigned long long)rq->out,
	       (long long)(hsd_mono_ms() - rq->started));
	fflush(stdout);
}

int hsd_serve_route(const char *method, const char *path, int *status,
		    const char **msg)
{
	int route = HSD_ROUTE_NONE, want_post = 0;
	*status = 404;
	*msg = "no such path: the sync protocol is POST /v1/sync and GET "
	       "/v1/wait";
	if (!method || !path)
		return HSD_ROUTE_NONE;
	if (strcmp(path, "/v1/sync") == 0) {
		route = HSD_ROUTE_SYNC;
		want_post = 1;
	} else if (strcmp(path, "/v1/wait") == 0) {
		route = HSD_ROUTE_WAIT;
	} else {
		return HSD_ROUTE_NONE;
	}
	if (strcmp(method, want_post ? "POST" : "GET") != 0) {
		*status = 405;
		*msg = want_post ? "use POST" : "use GET";
		return HSD_ROUTE_NONE;
	}
	*status = 200;
	*msg = NULL;
	return route;
}

/* A whole decimal number from min to max, or -1. */
static int64_t parse_whole(const char *s, int64_t min, int64_t max)
{
	int64_t v = 0;
	if (!s || !*s || strlen(s) > 18)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < min || v > max ? -1 : v;
}

int hsd_serve_wait_args(const char *since, const char *timeout,
			int64_t *since_out, int *timeout_ms, char *err,
			size_t errlen)
{
	int64_t t = HSD_WAIT_DEFAULT_S;
	*since_out = parse_whole(since, 0, INT64_MAX / 2);
	if (*since_out < 0) {
		snprintf(err, errlen, "bad request: /v1/wait needs since=SEQ, the "
			 "sequence the replica pulled up to (a whole number)");
		return -1;
	}
	if (timeout && (t = parse_whole(timeout, 0, HS_SERVER_WAIT_MAX_MS / 1000))
			       < 0) {
		snprintf(err, errlen, "bad request: timeout is a whole number of "
			 "seconds from 0 to %d", HS_SERVER_WAIT_MAX_MS / 1000);
		return -1;
	}
	*timeout_ms = (int)t * 1000;
	return 0;
}

int hsd_serve_wait_answer(int64_t since, int64_t seq, char *buf, size_t len)
{
	return snprintf(buf, len, "{\"seq\": %lld, \"changed\": %s}\n",
			(long long)seq, seq > since ? "true" : "false");
}

/* GET /v1/wait of an authenticated client: wait, then answer. */
static enum MHD_Result answer_wait(hsd_serve *h, struct MHD_Connection *conn)
{
	char err[200], body[100];
	int64_t since, seq;
	int timeout_ms;
	struct MHD_Response *r;
	enum MHD_Result ret;
	if (hsd_serve_wait_args(
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since"),
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						"timeout"),
		    &since, &timeout_ms, err, sizeof err) < 0)
		return text_reply(conn, 400, HS_EINVALID, err);
	seq = hs_server_wait(h->srv, since, timeout_ms);
	hsd_serve_wait_answer(since, seq, body, sizeof body);
	r = MHD_create_response_from_buffer(strlen(body), body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* The body is whole: answer it. */
static enum MHD_Result answer(hsd_serve *h, struct MHD_Connection *conn,
			      serve_req *rq)
{
	FILE *out = hs_os_tmpfile();
	char *msg = NULL;
	int status = 500, rc;
	struct MHD_Response *r;
	stream_ctx *s;
	enum MHD_Result ret;
	if (!out) {
		log_request(h, rq, 500);
		return text_reply(conn, 500, HS_EIO, "the server cannot make a "
				  "temporary file: check its temporary folder");
	}
	rewind(rq->body);
	rc = hs_server_handle(h->srv, rq->user, rq->body, out, &status, &msg);
	if (rc != HS_OK || status != 200) {
		fclose(out);
		log_request(h, rq, status);
		ret = text_reply(conn, status, rc, msg ? msg : "the server failed");
		hs_free(msg);
		return ret;
	}
	fflush(out);
	rq->out = (uint64_t)ftell(out);
	rewind(out);
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(out);
		return text_reply(conn, 500, HS_ERROR, "out of memory");
	}
	s->f = out;
	s->rate = h->max_rate;
	s->started = hsd_mono_ms();
	r = MHD_create_response_from_callback(rq->out, 64 * 1024, stream_read, s,
					      stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", HS_SERVER_CONTENT_TYPE);
	log_request(h, rq, 200);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	hsd_serve *h = cls;
	serve_req *rq = *con_cls;
	(void)version;
	if (!rq) {
		const char *why;
		char *msg = NULL;
		int rc, status, route;
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		rq->started = hsd_mono_ms();
		route = hsd_serve_route(method, url, &status, &why);
		if (route == HSD_ROUTE_NONE) {
			rq->failed = 1;
			return text_reply(conn, status, status == 404 ? HS_ENOTFOUND
								      : HS_EINVALID,
					  why);
		}
		/* who it is, before reading the body */
		rc = hs_server_auth(h->srv,
				    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								"Authorization"),
				    &rq->user, &msg);
		if (rc != HS_OK) {
			enum MHD_Result ret = text_reply(
				conn, rc == HS_EINVALID ? 401 : 503, rc,
				msg ? msg : "unknown token");
			rq->failed = 1;
			log_request(h, rq, rc == HS_EINVALID ? 401 : 503);
			hs_free(msg);
			return ret;
		}
		if (route == HSD_ROUTE_WAIT) {
			rq->failed = 1; /* answered: a body, if any, is dropped */
			return answer_wait(h, conn);
		}
		if (!(rq->body = hs_os_tmpfile())) {
			rq->failed = 1;
			return text_reply(conn, 503, HS_EIO, "the server cannot make "
					  "a temporary file: check its temporary folder");
		}
		rq->paced_from = hsd_mono_ms();
		return MHD_YES;
	}
	if (rq->failed) { /* answered already: drop what comes */
		*size = 0;
		return MHD_YES;
	}
	if (*size) {
		if (fwrite(data, 1, *size, rq->body) != *size) {
			rq->failed = 1;
			*size = 0;
			return text_reply(conn, 507, HS_EIO, "the server's temporary "
					  "folder is full");
		}
		rq->in += *size;
		*size = 0;
		pace(h->max_rate, rq->paced_from, rq->in);
		return MHD_YES;
	}
	rq->failed = 1; /* answered */
	return answer(h, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	serve_req *rq = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (rq) {
		if (rq->body)
			fclose(rq->body);
		hs_server_user_free(rq->user);
		free(rq);
	}
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	fprintf(stderr, "hubsync serve: %s\n", msg);
}

int hsd_serve_check(const hsd_serve_options *opts, char *err, size_t errlen)
{
	hsd_listen_addr la;
	if (hsd_parse_listen(opts->listen, &la, err, errlen) < 0)
		return -1;
	if (!opts->tls_cert != !opts->tls_key) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together: give "
			 "both (PEM files) or neither");
		return -1;
	}
	if (!la.loopback && !opts->tls_cert && !opts->behind_proxy) {
		snprintf(err, errlen, "refusing to serve on %s without TLS: tokens "
			 "would cross the network in clear; pass --tls-cert and "
			 "--tls-key, or --behind-proxy when a proxy does TLS",
			 opts->listen);
		return -1;
	}
	return 0;
}

/* The whole text file at path (malloc'd), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else {
			s[n] = 0;
		}
	}
	fclose(f);
	return s;
}

int hsd_serve_start(hsd_serve **out, hs_server *srv,
		    const hsd_serve_options *opts, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	hsd_listen_addr la;
	hsd_serve *h;

	*out = NULL;
	if (hsd_serve_check(opts, err, errlen) < 0 ||
	    hsd_parse_listen(opts->listen, &la, err, errlen) < 0)
		return -1;
	if (!(h = calloc(1, sizeof(*h)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->srv = srv;
	h->max_rate = opts->max_rate;
	h->quiet = opts->quiet;
	if (opts->tls_cert) {
		h->cert = slurp(opts->tls_cert);
		h->key = slurp(opts->tls_key);
		if (!h->cert || !h->key) {
			snprintf(err, errlen, "cannot read %s: give a PEM file this "
				 "user may read", !h->cert ? opts->tls_cert
							   : opts->tls_key);
			hsd_serve_stop(h);
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	if (la.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		/* TLS adds its two options; the list ends either way */
		struct MHD_OptionItem tls[] = {
			{MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert},
			{MHD_OPTION_HTTPS_MEM_KEY, 0, h->key},
			{MHD_OPTION_END, 0, NULL},
		};
		h->mhd = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, h,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&la.ss,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT_S,
			MHD_OPTION_ARRAY, h->cert ? tls : tls + 2, MHD_OPTION_END);
	}
	if (!h->mhd) {
		snprintf(err, errlen, "cannot serve on %s%s (is another server "
			 "running there? pick another port with --listen)",
			 opts->listen, h->cert ? " with TLS" : "");
		hsd_serve_stop(h);
		return -1;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	return 0;
}

int hsd_serve_port(const hsd_serve *s) { return s->port; }

void hsd_serve_stop(hsd_serve *s)
{
	if (!s)
		return;
	if (s->mhd) {
		hs_server_close_waits(s->srv); /* waiting clients answered now */
		MHD_stop_daemon(s->mhd);
	}
	free(s->cert);
	free(s->key);
	free(s);
}
