/*
 * case_stream.c - the first push and the first pull of N rows through
 * each kind of master the office can have, measured from the outside:
 * `hubsync sync` as a process against a master file, and against
 * `hubsync serve` (a folder store) on 127.0.0.1, each timed from fork to
 * exit with its peak resident set (ru_maxrss); the server's own peak is
 * read from /proc (VmHWM) before it is stopped. The rows are the black
 * box case's 6-column items table, written by the sqlite3 shell in one
 * transaction. Targets (issue 9): the server's first push at least as
 * fast as the file master's; every peak under 100 MB at 1,000,000 rows
 * (--big runs that size; the default is pull_rows).
 *
 * With --share DIR (bench/share.sh mounts a real SMB share for it), the
 * same push and pull also run with the file master in DIR, where an
 * office keeps it: the server against the master it replaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

typedef struct st_run {
	double ms;
	long maxrss_kb;
} st_run;

typedef struct st_ctx {
	char dir[4096];
	char hubsync[4096];
	char log[4200];
} st_ctx;

/* Start argv with stdout to out (or /dev/null) and stderr to the log. */
static pid_t st_start(const st_ctx *c, char *const argv[], const char *out)
{
	pid_t pid = fork();
	if (pid == 0) {
		int o = open(out ? out : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (o >= 0)
			dup2(o, STDOUT_FILENO);
		if (e >= 0)
			dup2(e, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "hs_bench: fork: %s\n", strerror(errno));
	return pid;
}

/* Run argv to its end: time and peak memory into *r (may be NULL). */
static int st_run_cmd(const st_ctx *c, char *const argv[], const char *out,
		      st_run *r)
{
	struct rusage ru;
	int status = 0;
	double t0 = bench_now_ms();
	pid_t pid = st_start(c, argv, out);
	if (pid < 0)
		return -1;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	if (r) {
		r->ms = bench_now_ms() - t0;
		r->maxrss_kb = ru.ru_maxrss;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hs_bench: stream: '%s %s' failed; see %s\n",
			argv[0], argv[1] ? argv[1] : "", c->log);
		return -1;
	}
	return 0;
}

static void st_path(const st_ctx *c, char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", c->dir, name);
}

/* The one-statement insert of rows 0..n-1 of the items table (the black
 * box case's rows), in one transaction. */
static void st_insert_sql(char *out, size_t cap, int64_t n)
{
	snprintf(out, cap,
		 "BEGIN; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1"
		 " FROM c WHERE i < %lld) INSERT INTO items SELECT "
		 "printf('item-%%09d', i), 'Item ' || i || ' rev 0', 'CAT' || "
		 "(i %% 8), 'Vendor ' || (i %% 5), i * 0.25, i %% 100, 'notes "
		 "about item ' || i || ', a line of text like a catalog has' "
		 "FROM c; COMMIT;", (long long)n - 1);
}

/* sql on db with the sqlite3 shell (timed into *r, may be NULL). */
static int st_sql(const st_ctx *c, const char *db, const char *sql, st_run *r)
{
	char *argv[] = {"sqlite3", (char *)db, (char *)sql, NULL};
	return st_run_cmd(c, argv, NULL, r);
}

/* The app's database with its empty items table. */
static int st_app(const st_ctx *c, const char *db)
{
	return st_sql(c, db, "CREATE TABLE items (id TEXT PRIMARY KEY, name "
		      "TEXT, category TEXT, vendor TEXT, price REAL, qty "
		      "INTEGER, notes TEXT);", NULL);
}

/* The server: started on a free port of 127.0.0.1, its URL in url. */
typedef struct st_server {
	pid_t pid;
	char url[100];
	char token[100];
	long peak_kb;
} st_server;

static int st_serve(const st_ctx *c, const char *store, st_server *s)
{
	char portf[4200], tokf[4200], port[32] = "";
	char *add[] = {(char *)c->hubsync, "user", "add", (char *)store, "alice",
		       NULL};
	char *serve[] = {(char *)c->hubsync, "serve", (char *)store, "--listen",
			 "127.0.0.1:0", "--port-file", portf, NULL};
	FILE *f;
	st_path(c, portf, sizeof portf, "port");
	st_path(c, tokf, sizeof tokf, "token");
	memset(s, 0, sizeof(*s));
	if (st_run_cmd(c, add, tokf, NULL) < 0 || !(f = fopen(tokf, "r")))
		return -1;
	if (!fgets(s->token, sizeof s->token, f))
		s->token[0] = 0;
	fclose(f);
	s->token[strcspn(s->token, "\n")] = 0;
	unlink(portf);
	if ((s->pid = st_start(c, serve, NULL)) < 0)
		return -1;
	for (int i = 0; i < 600 && !port[0]; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if ((f = fopen(portf, "r"))) {
			if (!fgets(port, sizeof port, f))
				port[0] = 0;
			fclose(f);
		}
		if (!port[0])
			nanosleep(&ts, NULL);
	}
	port[strcspn(port, "\n")] = 0;
	if (!port[0]) {
		fprintf(stderr, "hs_bench: stream: hubsync serve did not start; "
			"see %s\n", c->log);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		return -1;
	}
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%s", port);
	return 0;
}

/* The server's peak resident set so far (VmHWM, KB). */
static long st_peak(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static void st_stop(st_server *s)
{
	if (s->pid <= 0)
		return;
	s->peak_kb = st_peak(s->pid);
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

/* One master: A pushes n rows, then B (a new PC) pulls them. */
static int st_master(const st_ctx *c, int64_t n, const char *tag,
		     const char *master, const char *token, st_run *push,
		     st_run *pull)
{
	char a[4200], b[4200], name[64];
	char *ia[] = {(char *)c->hubsync, "init", a, "--master", (char *)master,
		      "--user", "alice", token ? "--token" : NULL,
		      (char *)token, NULL};
	char *ib[] = {(char *)c->hubsync, "init", b, "--master", (char *)master,
		      "--user", "alice", token ? "--token" : NULL,
		      (char *)token, NULL};
	char *sa[] = {(char *)c->hubsync, "sync", a, NULL};
	char *sb[] = {(char *)c->hubsync, "sync", b, NULL};
	snprintf(name, sizeof name, "%s-a.db", tag);
	st_path(c, a, sizeof a, name);
	snprintf(name, sizeof name, "%s-b.db", tag);
	st_path(c, b, sizeof b, name);
	char sql[800];
	if (st_app(c, a) < 0 || st_run_cmd(c, ia, NULL, NULL) < 0 ||
	    st_app(c, b) < 0 || st_run_cmd(c, ib, NULL, NULL) < 0)
		return -1;
	/* the rows after init: tracked, pushed by the first sync */
	st_insert_sql(sql, sizeof sql, n);
	if (st_sql(c, a, sql, NULL) < 0 || st_run_cmd(c, sa, NULL, push) < 0 ||
	    st_run_cmd(c, sb, NULL, pull) < 0)
		return -1;
	if (bench_db_bytes(b) < bench_db_bytes(a) / 2) {
		report_problem("stream: the %s master's first pull is short", tag);
		return -1;
	}
	return 0;
}

int case_stream(const bench_opts *o)
{
	st_ctx c;
	st_server srv;
	st_run fpush, fpull, spush, spull, hpush, hpull, plain;
	char master[4200], store[4200], plaindb[4200], shared[4200];
	const char *tool;
	int64_t n = o->big ? 1000000 : o->pull_rows;
	report_row *row;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (!(tool = bench_hubsync_path()))
		return -1;
	snprintf(c.hubsync, sizeof c.hubsync, "%s", tool);
	if (bench_path(c.dir, sizeof c.dir, o->dir, "stream", NULL) < 0 ||
	    bench_mkdir(c.dir) < 0)
		return -1;
	st_path(&c, c.log, sizeof c.log, "stderr.txt");
	st_path(&c, master, sizeof master, "master.db");
	st_path(&c, store, sizeof store, "store");
	st_path(&c, plaindb, sizeof plaindb, "plain.db");
	{
		char sql[800];
		st_insert_sql(sql, sizeof sql, n);
		if (st_app(&c, plaindb) < 0 || st_sql(&c, plaindb, sql, &plain) < 0)
			return -1;
	}
	if (st_master(&c, n, "file", master, NULL, &fpush, &fpull) < 0)
		return -1;
	if (o->share) {
		snprintf(shared, sizeof shared, "%s/hs_bench_stream_%d.db",
			 o->share, (int)getpid());
		rc = st_master(&c, n, "share", shared, NULL, &hpush, &hpull);
		unlink(shared);
		if (rc < 0)
			return -1;
	}
	if (bench_mkdir(store) < 0 || st_serve(&c, store, &srv) < 0)
		return -1;
	rc = st_master(&c, n, "server", srv.url, srv.token, &spush, &spull);
	st_stop(&srv);
	if (rc < 0)
		return -1;

	report_section("first push and pull through each kind of master "
		       "(hubsync sync as a process; serve on 127.0.0.1)");
	row = report_add(REPORT_RATE, (double)n / (plain.ms / 1e3),
			 (double)n / (fpush.ms / 1e3),
			 "first push of %lld rows, file master", (long long)n);
	snprintf(row->note, sizeof row->note, "%.0f ms; plain = the insert",
		 fpush.ms);
	row = report_add(REPORT_RATE, (double)n / (plain.ms / 1e3),
			 (double)n / (fpull.ms / 1e3),
			 "first pull of %lld rows, file master", (long long)n);
	snprintf(row->note, sizeof row->note, "%.0f ms", fpull.ms);
	row = report_add(REPORT_MS, fpush.ms, spush.ms,
			 "first push of %lld rows, server vs file master",
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 1;
	row = report_add(REPORT_MS, fpull.ms, spull.ms,
			 "first pull of %lld rows, server vs file master",
			 (long long)n);
	if (o->share) {
		row = report_add(REPORT_MS, hpush.ms, spush.ms,
				 "first push of %lld rows, server vs file master "
				 "on the share", (long long)n);
		row->ratio_cmp = CMP_MAX;
		row->ratio_lim = 1;
		snprintf(row->note, sizeof row->note, "file master on %s",
			 o->share);
		row = report_add(REPORT_MS, hpull.ms, spull.ms,
				 "first pull of %lld rows, server vs file master "
				 "on the share", (long long)n);
	}
	for (int k = 0; k < 5; k++) {
		static const char *what[] = {
			"peak memory, first push (file master)",
			"peak memory, first pull (file master)",
			"peak memory, first push (server master, client)",
			"peak memory, first pull (server master, client)",
			"peak memory of hubsync serve over both",
		};
		long kb = k == 0 ? fpush.maxrss_kb : k == 1 ? fpull.maxrss_kb :
			  k == 2 ? spush.maxrss_kb : k == 3 ? spull.maxrss_kb :
			  srv.peak_kb;
		row = report_add(REPORT_MB, -1, (double)kb * 1024, "%s, %lld rows",
				 what[k], (long long)n);
		if (n >= 1000000) {
			row->abs_cmp = CMP_MAX;
			row->abs_lim = 100e6;
		}
	}
	bench_case_done(o, "stream");
	return 0;
}
