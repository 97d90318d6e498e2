/*
 * serve.h - the HTTP(S) transport of `hubsync serve` (serve.c): requests
 * of the sync protocol (docs/PROTOCOL.md) handed to the library's
 * hs_server after their token is checked, before their body is read.
 */
#ifndef HSD_SERVE_H
#define HSD_SERVE_H

#include <hubsync.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hsd_serve hsd_serve;

typedef struct hsd_serve_options {
	const char *listen;   /* HOST:PORT (http.h); PORT 0 picks one */
	const char *tls_cert; /* PEM files, both or neither */
	const char *tls_key;
	int behind_proxy;     /* off loopback without TLS: a proxy does it */
	long max_rate;        /* bytes per second per request, 0: none */
	int quiet;            /* no line per request on stdout */
} hsd_serve_options;

/* Check the options (off loopback only with TLS or behind_proxy). 0, or
 * -1 with a one-line reason in err. */
int hsd_serve_check(const hsd_serve_options *opts, char *err, size_t errlen);
/* Start answering on opts->listen with srv (borrowed until stop). */
int hsd_serve_start(hsd_serve **out, hs_server *srv,
		    const hsd_serve_options *opts, char *err, size_t errlen);
int hsd_serve_port(const hsd_serve *s);
/*
 * What a request asks for, from its method and path alone (the path
 * without its query string): HSD_ROUTE_SYNC (POST /v1/sync),
 * HSD_ROUTE_WAIT (GET /v1/wait), or HSD_ROUTE_NONE with the HTTP *status
 * (404, 405) and a one-line *msg (static) to answer.
 */
enum { HSD_ROUTE_NONE = 0, HSD_ROUTE_SYNC = 1, HSD_ROUTE_WAIT = 2 };
int hsd_serve_route(const char *method, const char *path, int *status,
		    const char **msg);

/* How long a wait lasts when the client names no timeout, in seconds. */
#define HSD_WAIT_DEFAULT_S 25
/* The query arguments of GET /v1/wait as strings (NULL: absent): since
 * (required, a whole number) and timeout (seconds, 0..30; default
 * HSD_WAIT_DEFAULT_S). 0, or -1 with a one-line reason in err (answer
 * 400). */
int hsd_serve_wait_args(const char *since, const char *timeout,
			int64_t *since_out, int *timeout_ms, char *err,
			size_t errlen);
/* The JSON answer of a wait into buf: {"seq": N, "changed": BOOL}. */
int hsd_serve_wait_answer(int64_t since, int64_t seq, char *buf, size_t len);

/* Stop (waits for requests being answered; waits end at once). Accepts
 * NULL. */
void hsd_serve_stop(hsd_serve *s);

#endif
