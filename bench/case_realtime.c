/*
 * case_realtime.c - propagation latency through a sync server in real time
 * (issue 9: p95 <= 1 s with 20 PCs connected).
 *
 * A real `hubsync serve` and one real `hubsync daemon` per PC (processes,
 * as in an office), every PC's replica of the items table on the same
 * server. The app on PC 0 commits one row at a time with plain SQLite; the
 * bench watches every other PC's database file (its own read connection,
 * PRAGMA data_version first, then a point lookup) and records when the
 * row is there. Latency = commit on PC 0 -> row readable on PC k: the
 * daemon's look at data_version, its push, the server's wake-up of the
 * other daemons' long polls, their pulls. A warm-up row reaching every PC
 * first proves every link open. Each row waits for the last one to be
 * everywhere (one change at a time: the latency, not the throughput).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hubsync.h>

#include "bench.h"

#define RT_MAX_PCS 64
#define RT_WAIT_MS 30000.0 /* a row not everywhere by then: a problem */
#define RT_POLL_US 2000

typedef struct rt_pc {
	char db[4096];
	sqlite3 *watch;      /* the bench's read connection */
	int64_t version;     /* its data_version as last seen */
	pid_t daemon;
	double seen_ms;      /* when the current row was seen, 0: not yet */
} rt_pc;

/* Start argv in the background, output to logfile. */
static pid_t rt_spawn(char *const argv[], const char *logfile)
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "hs_bench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		FILE *f = freopen(logfile, "a", stdout);

		if (f)
			dup2(fileno(f), STDERR_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static void rt_stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* The port the server wrote to path, waiting up to 20 s; -1 if none. */
static int rt_port(const char *path, pid_t server)
{
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");
		int port = -1;

		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = -1;
			fclose(f);
		}
		if (port > 0)
			return port;
		if (waitpid(server, NULL, WNOHANG) == server)
			break;
		usleep(100000);
	}
	fprintf(stderr, "hs_bench: hubsync serve did not start\n");
	return -1;
}

/* 1 if pc's database has row key (checked only when it changed). */
static int rt_has(rt_pc *pc, const char *key)
{
	sqlite3_stmt *st = NULL;
	int64_t v = wl_query_int(pc->watch, "PRAGMA data_version");
	int found = 0;

	if (v == pc->version)
		return 0;
	pc->version = v;
	if (sqlite3_prepare_v2(pc->watch, "SELECT 1 FROM " WL_TABLE
				" WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/* Commit row key on PC 0 (the app), then wait until every other PC has
 * it; lat[k] (k >= 1) the ms it took. 0, or -1 when some PC did not get
 * it within RT_WAIT_MS (reported as a problem). */
static int rt_row(rt_pc *pcs, int n, sqlite3 *app, const char *key,
		  double *lat)
{
	char sql[256];
	double t0;
	int left = n - 1;

	for (int k = 1; k < n; k++)
		pcs[k].seen_ms = 0;
	snprintf(sql, sizeof sql, "INSERT INTO " WL_TABLE "(id, name, qty) "
		 "VALUES('%s', 'realtime', 1)", key);
	t0 = bench_now_ms();
	if (wl_exec(app, sql, "the app's insert") < 0)
		return -1;
	while (left > 0 && bench_now_ms() - t0 < RT_WAIT_MS) {
		for (int k = 1; k < n; k++)
			if (!pcs[k].seen_ms && rt_has(&pcs[k], key)) {
				pcs[k].seen_ms = bench_now_ms();
				lat[k] = pcs[k].seen_ms - t0;
				left--;
			}
		usleep(RT_POLL_US);
	}
	if (left > 0) {
		report_problem("realtime: row %s reached %d of %d PCs within "
			       "%.0f s", key, n - 1 - left, n - 1,
			       RT_WAIT_MS / 1000);
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int case_realtime(const bench_opts *o)
{
	int n = o->rt_pcs < RT_MAX_PCS ? o->rt_pcs : RT_MAX_PCS;
	int rows = o->rt_rows, port, rc = -1, done = 0;
	const char *hubsync = bench_hubsync_path();
	char store[4096], portf[4096], log[4096], url[128];
	char *token = NULL, *msg = NULL;
	rt_pc *pcs = calloc((size_t)n, sizeof(rt_pc));
	double *lat = calloc((size_t)(n * (rows + 1)), sizeof(double));
	sqlite3 *app = NULL;
	pid_t server = -1;

	if (!pcs || !lat || !hubsync ||
	    bench_path(store, sizeof store, o->dir, "realtime", "store") < 0 ||
	    bench_path(portf, sizeof portf, o->dir, "realtime", "port") < 0 ||
	    bench_path(log, sizeof log, o->dir, "realtime", "log") < 0)
		goto out;
	if (hs_user_add(store, "office", 0, NULL, &token, &msg) != HS_OK) {
		fprintf(stderr, "hs_bench: user add: %s\n", msg ? msg : "?");
		goto out;
	}
	{
		char *argv[] = { (char *)hubsync, "serve", store, "--listen",
				 "127.0.0.1:0", "--port-file", portf, "--quiet",
				 NULL };
		server = rt_spawn(argv, log);
	}
	if (server < 0 || (port = rt_port(portf, server)) < 0)
		goto out;
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

	/* the PCs: a replica each, synced once, then its daemon */
	for (int k = 0; k < n; k++) {
		hs_init_options io = HS_INIT_OPTIONS_INIT;
		hs_replica *r = NULL;
		sqlite3 *db = NULL;
		int ok;

		char name[16];

		snprintf(name, sizeof name, "pc%02d.db", k);
		if (bench_path(pcs[k].db, sizeof pcs[k].db, o->dir, "realtime",
			       name) < 0)
			goto out;
		if (wl_open(&db, pcs[k].db) < 0 || wl_create(db, WL_PK_TEXT) < 0) {
			sqlite3_close(db);
			goto out;
		}
		sqlite3_close(db);
		io.master_path = url;
		io.token = token;
		io.tables = WL_TABLE;
		ok = hs_replica_open(&r, pcs[k].db, NULL) == HS_OK &&
		     hs_replica_init(r, &io) == HS_OK &&
		     hs_replica_sync(r, NULL, NULL) == HS_OK;
		if (!ok)
			fprintf(stderr, "hs_bench: PC %d: %s\n", k,
				r ? hs_replica_errmsg(r) : "no memory");
		hs_replica_free(r);
		if (!ok || wl_open(&pcs[k].watch, pcs[k].db) < 0)
			goto out;
		pcs[k].version = -1;
		{
			char *argv[] = { (char *)hubsync, "daemon", pcs[k].db,
					 "--listen", "127.0.0.1:0",
					 "--no-sync-at-start", NULL };
			if ((pcs[k].daemon = rt_spawn(argv, log)) < 0)
				goto out;
		}
	}
	if (wl_open(&app, pcs[0].db) < 0)
		goto out;

	/* warm-up: every link open (and the page caches warm) */
	if (rt_row(pcs, n, app, "rt-warmup", lat) < 0)
		goto out;
	for (int i = 0; i < rows; i++) {
		char key[32];

		snprintf(key, sizeof key, "rt-%06d", i);
		if (rt_row(pcs, n, app, key, lat + done) < 0)
			goto out;
		/* lat[done + 1 .. done + n - 1] were filled: pack them */
		memmove(lat + done, lat + done + 1, (size_t)(n - 1) * sizeof(double));
		done += n - 1;
		usleep(100000); /* the writer's pace: one change at a time */
	}
	qsort(lat, (size_t)done, sizeof(double), cmp_double);
	report_section("real time through hubsync serve");
	report_add(REPORT_MS, -1, lat[done / 2],
		   "propagation p50, %d PCs (daemons), %d rows", n, rows);
	{
		report_row *p95 = report_add(REPORT_MS, -1,
					     lat[(done * 95 + 99) / 100 - 1],
					     "propagation p95, %d PCs (daemons)", n);
		p95->abs_cmp = CMP_MAX;
		p95->abs_lim = 1000;
	}
	report_add(REPORT_MS, -1, lat[done - 1], "propagation max, %d PCs", n);
	report_footnote("realtime: commit on PC 0 -> row readable on PC k, "
			"%d samples; daemons notice the app's commits every "
			"200 ms (PRAGMA data_version)", done);
	rc = 0;
out:
	sqlite3_close(app);
	for (int k = 0; pcs && k < n; k++) {
		rt_stop(pcs[k].daemon);
		sqlite3_close(pcs[k].watch);
	}
	rt_stop(server);
	hs_free(token);
	hs_free(msg);
	free(pcs);
	free(lat);
	bench_case_done(o, "realtime");
	return rc;
}
