/*
 * daemon.c - `hubsync daemon`: command line, start-up and shutdown order.
 *
 * Start: log -> scheduler (opens the replica: a bad DB fails here, before
 * the port is taken) -> real-time link (a server master only) -> HTTP
 * server. Stop, on SIGINT/SIGTERM: the scheduler stops starting syncs ->
 * the HTTP server stops (waiting for requests in flight, including a POST
 * /api/sync/manual whose sync is finishing) -> the real-time link ends its
 * wait -> the worker is joined. In that order no request can reach a freed
 * scheduler or link and no sync is cut short.
 */
#include "daemon.h"
#include "api.h"
#include "dlog.h"
#include "http.h"
#include "realtime.h"
#include "scheduler.h"

#include <hubsync.h>
#include <platform.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:8765"

typedef struct daemon_args {
	const char *db;
	const char *log_path;
	const char *port_file;
	hsd_http_options http;
	hsd_sched_options sched;
} daemon_args;

static const char usage[] =
	"usage: hubsync daemon DB [--listen HOST:PORT] [--token TOKEN] [--log FILE]\n"
	"                         [--no-sync-at-start] [--retry SECONDS]\n"
	"                         [--lock-timeout MS] [--port-file FILE]\n"
	"                         [--backup-every HOURS [--backup-keep N]]\n"
	"\n"
	"Sync DB with its master on its schedule (hubsync schedule DB MINUTES) and\n"
	"serve the HTTP API and the status page, until SIGINT or SIGTERM\n"
	"(Windows: Ctrl+C, closing the console, hubsync service uninstall).\n"
	"\n"
	"  --listen HOST:PORT   where to serve (default " DEFAULT_LISTEN "; port 0 picks one)\n"
	"  --token TOKEN        require 'Authorization: Bearer TOKEN' on /api/ (also\n"
	"                       HUBSYNC_TOKEN); needed to listen beyond this computer\n"
	"  --log FILE           append the log to FILE as well as stderr\n"
	"  --no-sync-at-start   wait for the schedule instead of syncing at once\n"
	"  --retry SECONDS      first retry after a failed sync (default 60, doubles)\n"
	"  --lock-timeout MS    how long a sync waits for the master lock\n"
	"  --port-file FILE     write the port served to FILE once listening\n"
	"  --backup-every HOURS copy the master (hubsync backup) at start and every\n"
	"                       HOURS; one PC of the office is enough\n"
	"  --backup-keep N      copies kept in the master's folder/backups (default 7)\n";

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "hubsync daemon: %s%s; see hubsync daemon --help\n",
		what, arg);
	return 2;
}

static int parse_number(const char *opt, const char *s, int min, int max,
			int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr,
			"hubsync daemon: %s wants a whole number from %d to %d, not '%s'\n",
			opt, min, max, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, daemon_args *a)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'L' },
		{ "no-sync-at-start", no_argument, NULL, 'n' },
		{ "retry", required_argument, NULL, 'r' },
		{ "lock-timeout", required_argument, NULL, 'k' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "backup-every", required_argument, NULL, 'b' },
		{ "backup-keep", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->http.listen = DEFAULT_LISTEN;
	a->http.token = getenv("HUBSYNC_TOKEN");
	if (a->http.token && !*a->http.token)
		a->http.token = NULL;
	a->sched.sync_at_start = 1;
	a->sched.retry_min_s = 60;

	optind = 0; /* glibc: full re-initialisation, the caller may use getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a->http.listen = optarg;
			break;
		case 't':
			a->http.token = optarg;
			break;
		case 'L':
			a->log_path = optarg;
			break;
		case 'n':
			a->sched.sync_at_start = 0;
			break;
		case 'r':
			if (parse_number("--retry", optarg, 1, 86400,
					 &a->sched.retry_min_s) < 0)
				return 2;
			break;
		case 'k':
			if (parse_number("--lock-timeout", optarg, 1, 3600000,
					 &a->sched.lock_timeout_ms) < 0)
				return 2;
			break;
		case 'p':
			a->port_file = optarg;
			break;
		case 'b':
			if (parse_number("--backup-every", optarg, 1, 24 * 366,
					 &a->sched.backup_every_h) < 0)
				return 2;
			break;
		case 'K':
			if (parse_number("--backup-keep", optarg, 1,
					 HS_BACKUP_KEEP_MAX,
					 &a->sched.backup_keep) < 0)
				return 2;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return usage_error("missing value after ", argv[optind - 1]);
		default:
			return usage_error("unknown option ", argv[optind - 1]);
		}
	}
	if (a->sched.backup_keep && !a->sched.backup_every_h)
		return usage_error("--backup-keep needs --backup-every", "");
	if (optind >= argc)
		return usage_error("missing DB (the replica to sync)", "");
	if (optind + 1 < argc)
		return usage_error("unexpected argument ", argv[optind + 1]);
	a->db = argv[optind];
	a->sched.db_path = a->db;
	return -1;
}

static int write_port_file(const char *path, int port)
{
	FILE *f = hs_os_fopen(path, "w");

	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
		hsd_log_error("cannot write the port file %s", path);
		return -1;
	}
	return 0;
}

int hs_daemon_main(int argc, char **argv)
{
	hsd_sched *sched = NULL;
	hsd_rt *rt = NULL;
	hsd_http *http = NULL;
	hsd_api api;
	daemon_args a;
	char err[512], *key = NULL;
	const char *why;
	int status;

	status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	if (hsd_http_check_options(&a.http, err, sizeof(err)) < 0) {
		fprintf(stderr, "hubsync daemon: %s\n", err);
		return 2;
	}
	if (hsd_log_open(a.log_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "hubsync daemon: %s\n", err);
		return 1;
	}

	/* Take the stop requests before any thread exists, so that only
	 * hs_os_stop_wait below receives them (POSIX: SIGINT and SIGTERM are
	 * blocked in every thread). The key lets `hubsync service uninstall`
	 * stop this daemon on Windows. */
	key = hs_os_path_absolute(a.db);
	hs_os_stop_begin(key ? key : a.db);

	status = 1;
	hsd_log_info("hubsync %s daemon starting for %s", hs_version(), a.db);
	if (hsd_sched_start(&sched, &a.sched, err, sizeof(err)) != HS_OK) {
		hsd_log_error("cannot use %s: %s", a.db, err);
		goto cleanup;
	}
	if (hsd_rt_start(&rt, a.db, sched, err, sizeof(err)) != HS_OK) {
		hsd_log_error("cannot use %s: %s", a.db, err);
		goto cleanup;
	}
	api.db_path = a.db;
	api.sched = sched;
	api.rt = rt;
	if (hsd_http_start(&http, &a.http, &api, err, sizeof(err)) < 0) {
		hsd_log_error("%s", err);
		goto cleanup;
	}
	hsd_log_info("status page at http://%.*s:%d/%s",
		     (int)(strrchr(a.http.listen, ':') - a.http.listen),
		     a.http.listen, hsd_http_port(http),
		     a.http.token ? "#token=TOKEN (the API needs the token)" : "");
	if (a.port_file && write_port_file(a.port_file, hsd_http_port(http)) < 0)
		goto cleanup;

	why = hs_os_stop_wait();
	/* A second signal ends the process at once (safe: a sync killed at any
	 * instant leaves both sides consistent); this one stops cleanly. */
	hsd_log_info("%s received, shutting down", why);
	status = 0;

cleanup:
	if (sched)
		hsd_sched_request_stop(sched);
	hsd_http_stop(http);
	hsd_rt_stop(rt);
	hsd_sched_stop(sched);
	if (status == 0)
		hsd_log_info("stopped");
	hsd_log_close();
	hs_os_stop_end();
	free(key);
	return status;
}
