/*
 * http.h - the daemon's HTTP server: transport and request safety, on top of
 * libmicrohttpd. What each path does is api.c's business (hsd_api_handle).
 *
 * Threads: one thread per connection, so a POST /api/sync/manual that waits
 * for its sync does not hold up status requests made meanwhile.
 *
 * Safety rules, in this order (1 and 2 before a request reaches the API, 3
 * by the API once it knows the path and method exist, so that a wrong
 * method is answered 405 whatever its headers):
 *  1. Bound to a loopback address, the Host header must name a loopback host
 *     (localhost, 127.x.x.x, [::1]): a web page on another site cannot reach
 *     the API through DNS rebinding. -> 400
 *  2. With a token (required to listen on anything but loopback), every
 *     /api/ request carries "Authorization: Bearer TOKEN", compared in
 *     constant time. -> 401. The page itself (GET /, assets) holds no data
 *     and is served without it.
 *  3. A state-changing request (any method but GET and HEAD) must send
 *     "Content-Type: application/json" (an HTML form cannot) -> 400, and, if
 *     it sends Origin, an Origin equal to http(s)://HOST of this server ->
 *     403. Bodies are limited to HSD_HTTP_MAX_BODY bytes -> 400.
 * Every error answer is JSON {"error": "..."}.
 *
 * Connections (a page left open must keep answering whatever other local
 * programs do): a connection that sends nothing for HSD_HTTP_IDLE_TIMEOUT_S
 * is closed (not while its request is being answered: a manual sync may
 * take minutes); at most HSD_HTTP_MAX_CONNECTIONS at once, and at most
 * HSD_HTTP_MAX_PER_IP from one address (every local program is 127.0.0.1,
 * so on loopback this is the bound a local program can hold; on a LAN one
 * PC cannot take them all). A connection beyond a limit is closed at once.
 * One thread per connection: 600 idle ones cost threads, not CPU;
 * poll(), so descriptors above 1024 are fine.
 */
#ifndef HSD_HTTP_H
#define HSD_HTTP_H

#include <jansson.h>
#include <stddef.h>

#define HSD_HTTP_MAX_BODY (64 * 1024)
#define HSD_HTTP_IDLE_TIMEOUT_S 15
#define HSD_HTTP_MAX_CONNECTIONS 600
#define HSD_HTTP_MAX_PER_IP 400

#include <platform_net.h>

struct hsd_api;
typedef struct hsd_http hsd_http;

/* A --listen address: "HOST:PORT" / "[V6]:PORT", HOST numeric or
 * localhost. Returns 0, or -1 with a one-line reason in err. */
typedef struct hsd_listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int loopback;
} hsd_listen_addr;
int hsd_parse_listen(const char *spec, hsd_listen_addr *out, char *err,
		     size_t errlen);

typedef struct hsd_http_options {
	const char *listen; /* "HOST:PORT", HOST an address or localhost,
			       IPv6 in brackets; PORT 0 picks a free port */
	const char *token;  /* NULL: no token (loopback only) */
} hsd_http_options;

/*
 * Parse opts->listen and check the token rule. Returns 0, or -1 with a
 * one-line reason in err (a usage error: nothing was started).
 */
int hsd_http_check_options(const hsd_http_options *opts, char *err,
			   size_t errlen);

/*
 * Start serving api. Returns 0, or -1 with a one-line reason in err (for
 * example the port is in use). The options' strings must outlive the server.
 */
int hsd_http_start(hsd_http **out, const hsd_http_options *opts,
		   struct hsd_api *api, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
int hsd_http_port(const hsd_http *h);

/* Stop accepting, wait for requests in flight, free. Accepts NULL. */
void hsd_http_stop(hsd_http *h);

/* ---- used by api.c ---- */

/* A request as the API sees it; conn is private to http.c. */
typedef struct hsd_request {
	const char *method; /* HEAD is passed as GET */
	const char *path;
	const char *body; /* NUL-terminated, "" when none */
	size_t body_len;
	int too_large; /* the body was cut: more than HSD_HTTP_MAX_BODY */
	void *conn;
} hsd_request;

/* The value of query parameter name, or NULL. */
const char *hsd_request_arg(const hsd_request *req, const char *name);

/* What the API answers: exactly one of body (malloc'd, freed by http.c) or
 * static_body (never freed). */
typedef struct hsd_reply {
	int status;
	const char *content_type;
	char *body;
	const unsigned char *static_body;
	size_t len;
	const char *allow; /* Allow header for 405 */
} hsd_reply;

/*
 * Rule 3, for a request that changes state: returns 1 when it may go on, 0
 * with reply filled (400 or 403) when not.
 */
int hsd_request_check_write(const hsd_request *req, hsd_reply *reply);

/* Answer with doc (reference stolen), serialised; 500 if that fails. */
void hsd_reply_json(hsd_reply *reply, int status, json_t *doc);

/* Answer {"error": message} with status. */
void hsd_reply_error(hsd_reply *reply, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
