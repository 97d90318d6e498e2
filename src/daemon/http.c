/*
 * http.c - libmicrohttpd plumbing and the safety rules of http.h.
 *
 * libmicrohttpd calls on_request several times per request: once with the
 * headers (we allocate a req_ctx), then once per piece of body (we append,
 * up to HSD_HTTP_MAX_BODY), then once with no data: only then is the request
 * checked and handed to the API, and the reply queued.
 */
#include "http.h"
#include "api.h"
#include "dlog.h"

#include <jansson.h>

#include <microhttpd.h>
#include <platform_net.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hsd_http {
	struct MHD_Daemon *mhd;
	struct hsd_api *api;
	const char *token;
	int loopback;
	int port;
};

typedef struct req_ctx {
	char *body;
	size_t len;
	int too_large;
} req_ctx;

/* ---- replies ---- */

void hsd_reply_json(hsd_reply *reply, int status, json_t *doc)
{
	reply->status = status;
	reply->content_type = "application/json";
	reply->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!reply->body) {
		reply->status = 500;
		reply->body = strdup("{\"error\": \"out of memory\"}");
	}
	reply->len = reply->body ? strlen(reply->body) : 0;
}

/* Replace every byte of s that is not part of valid UTF-8 with '?' and
 * return the length. */
static size_t utf8_prefix(char *s)
{
	size_t i = 0, n = strlen(s);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
			   : (c >> 3) == 30 ? 4 : 0;
		int ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (!ok) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
	return n;
}

void hsd_reply_error(hsd_reply *reply, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message may quote what the client sent; JSON needs UTF-8. */
	json_t *body = json_pack("{s:s%}", "error", msg, utf8_prefix(msg));
	if (!body) /* still not what JSON takes (overlong forms) */
		body = json_pack("{s:s}", "error", "the request could not be read");
	hsd_reply_json(reply, status, body);
}

/* ---- the listen address ---- */

typedef hsd_listen_addr listen_addr;

/* Split "HOST:PORT" / "[V6]:PORT" and resolve HOST numerically (or
 * localhost). */
int hsd_parse_listen(const char *spec, listen_addr *out, char *err,
		     size_t errlen)
{
	char host[256];
	const char *colon, *port;
	struct addrinfo hints, *res = NULL;
	char *end;
	long portnum;
	size_t hlen;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - spec - 1);
		colon = close + 1;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - spec);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	port = colon + 1;
	portnum = strtol(port, &end, 10);
	if (!*port || *end || portnum < 0 || portnum > 65535)
		goto bad;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (strcmp(host, "localhost") != 0)
		hints.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		snprintf(err, errlen,
			 "--listen %s: '%s' is not an IP address; use for example 127.0.0.1:8765",
			 spec, host);
		return -1;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)res->ai_addr;

		out->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)res->ai_addr;

		out->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	freeaddrinfo(res);
	return 0;

bad:
	snprintf(err, errlen,
		 "--listen wants HOST:PORT (for example 127.0.0.1:8765 or [::1]:8765), not '%s'",
		 spec);
	return -1;
}

int hsd_http_check_options(const hsd_http_options *opts, char *err,
			   size_t errlen)
{
	listen_addr la;

	if (hsd_parse_listen(opts->listen, &la, err, errlen) < 0)
		return -1;
	if (!la.loopback && !opts->token) {
		snprintf(err, errlen,
			 "refusing to listen on %s without a token: anyone on the network could sync and resolve conflicts; pass --token or set HUBSYNC_TOKEN",
			 opts->listen);
		return -1;
	}
	if (opts->token && strlen(opts->token) < 16) {
		snprintf(err, errlen,
			 "the token is too short (%zu characters); use at least 16 random characters",
			 strlen(opts->token));
		return -1;
	}
	return 0;
}

/* ---- safety checks ---- */

/* Equal strings, in time that depends only on want's length. */
static int token_equal(const char *given, const char *want)
{
	size_t glen = strlen(given), wlen = strlen(want);
	unsigned char diff = glen != wlen;

	for (size_t i = 0; i < wlen; i++)
		diff |= (unsigned char)want[i] ^
			(unsigned char)(i < glen ? given[i] : 0);
	return diff == 0;
}

/* Does the Host header name a loopback host ("localhost:8765",
 * "127.0.0.1", "[::1]:8765")? */
static int host_is_loopback(const char *host)
{
	char name[256];
	size_t n;

	if (!host)
		return 0;
	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0 &&
		       (host[5] == '\0' || host[5] == ':');
	n = strcspn(host, ":");
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return 1;
	return strncmp(name, "127.", 4) == 0 &&
	       strspn(name, "0123456789.") == n;
}

/* Is origin "http://HOST" or "https://HOST" for the Host we were reached
 * at? */
static int origin_matches(const char *origin, const char *host)
{
	const char *rest;

	if (!host)
		return 0;
	if (strncmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return 0;
	return strcasecmp(rest, host) == 0;
}

static int is_json_type(const char *ctype)
{
	size_t n = strlen("application/json");

	return ctype && strncasecmp(ctype, "application/json", n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* Rules 1 and 2: returns 1 when the request may go on, 0 with reply filled
 * when not. */
static int check_request(const hsd_http *h, struct MHD_Connection *conn,
			 const char *url, hsd_reply *reply)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_HOST);

	if (h->loopback && !host_is_loopback(host)) {
		hsd_reply_error(reply, 400,
				"Host '%s' is not this computer; open the page as http://127.0.0.1:%d/",
				host ? host : "", h->port);
		return 0;
	}
	if (h->token && strncmp(url, "/api/", 5) == 0) {
		const char *auth = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
		    !token_equal(auth + 7, h->token)) {
			hsd_reply_error(reply, 401,
					"missing or wrong token: send 'Authorization: Bearer TOKEN' (open the page as /#token=TOKEN)");
			return 0;
		}
	}
	return 1;
}

int hsd_request_check_write(const hsd_request *req, hsd_reply *reply)
{
	struct MHD_Connection *conn = req->conn;
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 "Origin");

	if (!is_json_type(MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		hsd_reply_error(reply, 400,
				"%s %s needs 'Content-Type: application/json'",
				req->method, req->path);
		return 0;
	}
	if (origin && !origin_matches(origin, host)) {
		hsd_reply_error(reply, 403,
				"cross-site request refused: Origin '%s' is not this server",
				origin);
		return 0;
	}
	if (req->too_large) {
		hsd_reply_error(reply, 400, "request body larger than %d bytes",
				HSD_HTTP_MAX_BODY);
		return 0;
	}
	return 1;
}

/* ---- libmicrohttpd callbacks ---- */

static int send_reply(struct MHD_Connection *conn, const char *method,
		      const char *url, hsd_reply *reply)
{
	struct MHD_Response *resp;
	int ok;

	if (reply->static_body)
		resp = MHD_create_response_from_buffer(
			reply->len, (void *)reply->static_body,
			MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(reply->len, reply->body,
						       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(reply->body);
		return MHD_NO;
	}
	reply->body = NULL; /* owned by resp now */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				reply->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(
		resp, "Content-Security-Policy",
		"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	if (reply->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					reply->allow);
	if (reply->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer");
	ok = MHD_queue_response(conn, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	if (reply->status >= 400 || strcmp(method, "GET") != 0)
		hsd_log_info("%s %.200s -> %d", method, url, reply->status);
	return ok;
}

static void append_body(req_ctx *rc, const char *data, size_t len)
{
	char *grown;

	if (rc->too_large)
		return;
	if (rc->len + len > HSD_HTTP_MAX_BODY) {
		rc->too_large = 1;
		return;
	}
	grown = realloc(rc->body, rc->len + len + 1);
	if (!grown) {
		rc->too_large = 1;
		return;
	}
	rc->body = grown;
	memcpy(rc->body + rc->len, data, len);
	rc->len += len;
	rc->body[rc->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	hsd_http *h = cls;
	req_ctx *rc = *con_cls;
	hsd_reply reply = { 0 };
	hsd_request req;

	if (!rc) {
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_data_size) {
		append_body(rc, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}

	/* The handler may wait minutes (POST /api/sync/manual waits for its
	 * sync): no idle timeout meanwhile; setting it back restarts it. */
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	if (check_request(h, conn, url, &reply)) {
		req.method = strcmp(method, "HEAD") == 0 ? "GET" : method;
		req.path = url;
		req.body = rc->body ? rc->body : "";
		req.body_len = rc->len;
		req.too_large = rc->too_large;
		req.conn = conn;
		hsd_api_handle(h->api, &req, &reply);
	}
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
				  (unsigned)HSD_HTTP_IDLE_TIMEOUT_S);
	return send_reply(conn, method, url, &reply) == MHD_YES ? MHD_YES :
								  MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	req_ctx *rc = *con_cls;

	if (rc) {
		free(rc->body);
		free(rc);
	}
	*con_cls = NULL;
}

const char *hsd_request_arg(const hsd_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	hsd_log_warn("http: %s", msg);
}

int hsd_http_start(hsd_http **out, const hsd_http_options *opts,
		   struct hsd_api *api, char *err, size_t errlen)
{
	/* AUTO: poll(), not select(), so descriptors above 1024 work */
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	listen_addr la;
	hsd_http *h;

	*out = NULL;
	if (hsd_http_check_options(opts, err, errlen) < 0 ||
	    hsd_parse_listen(opts->listen, &la, err, errlen) < 0)
		return -1;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->api = api;
	h->token = opts->token;
	h->loopback = la.loopback;
	if (la.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&la.ss,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HSD_HTTP_MAX_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)HSD_HTTP_MAX_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HSD_HTTP_IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen,
			 "cannot listen on %s (is another hubsync daemon running there? pick another port with --listen)",
			 opts->listen);
		free(h);
		return -1;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	return 0;
}

int hsd_http_port(const hsd_http *h)
{
	return h->port;
}

void hsd_http_stop(hsd_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
