/*
 * serve.h - the HTTP(S) transport of `hubsync serve` (serve.c): requests
 * of the sync protocol (docs/PROTOCOL.md) handed to the library's
 * hs_server after their token is checked, before their body is read.
 */
#ifndef HSD_SERVE_H
#define HSD_SERVE_H

#include <hubsync.h>
#include <stddef.h>

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
/* Stop (waits for requests being answered). Accepts NULL. */
void hsd_serve_stop(hsd_serve *s);

#endif
