/*
 * case_blackbox.c - hubsync measured from the outside, the way an app and
 * a person use it: the `sqlite3` shell writes, `hubsync sync` syncs, each
 * a separate process, timed from fork to exit, against plain SQLite doing
 * the same writes in the same run.
 *
 *   1. insert: `sqlite3 DB "BEGIN; WITH RECURSIVE ... INSERT INTO items
 *      SELECT ...; COMMIT"`, N rows of the 6-column items table in one
 *      transaction, into a plain file and into a file after `hubsync init`
 *      (pairs alternate which goes first; median of `repeat` pairs);
 *   2. update: `UPDATE items SET price = price + 1` (1 column of every row,
 *      one transaction) on the same pairs;
 *   3. first push: `hubsync sync A` on the last tracked file (N rows
 *      inserted and updated since init), against the plain insert;
 *   4. first pull: a fresh PC (`sqlite3` creates the empty table, `hubsync
 *      init B` on the same master) runs `hubsync sync B`: N rows, checked
 *      row by row against A;
 *   5. 10-row sync: `sqlite3 A` updates 1 column of 10 rows spread over the
 *      table, `hubsync sync A` pushes them, `hubsync sync B` pulls them;
 *      median of 5 rounds, at N rows and on a 1,000-row set made the same
 *      way (flatness = the ratio of the two);
 *   6. sizes of A, B and the master against the plain file (same rows);
 *   7. peak memory: the largest resident set (ru_maxrss from wait4) of the
 *      first push and first pull processes.
 * With --big (BENCH_ARGS=--big) steps 1-4, 6 and 7 run again at 1,000,000
 * rows, once: the memory target is set there.
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
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BB_MAX_REPEAT 8
#define BB_ROUNDS 5
#define BB_SMALL 1000

/* The hubsync command next to hs_bench (both in the build folder), or
 * $HS_BENCH_HUBSYNC; the sqlite3 shell from PATH or $HS_BENCH_SQLITE3. */
static char bb_hubsync[4096];
static const char *bb_sqlite3 = "sqlite3";

static int bb_find_tools(void)
{
	const char *env = getenv("HS_BENCH_HUBSYNC");
	char self[2048];
	ssize_t n;
	char *slash;

	if (getenv("HS_BENCH_SQLITE3"))
		bb_sqlite3 = getenv("HS_BENCH_SQLITE3");
	if (env && *env) {
		snprintf(bb_hubsync, sizeof(bb_hubsync), "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "hs_bench: cannot find the hubsync command: "
			"set HS_BENCH_HUBSYNC to its path\n");
		return -1;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(bb_hubsync, sizeof(bb_hubsync), "%s/hubsync", self);
	if (access(bb_hubsync, X_OK) != 0) {
		fprintf(stderr, "hs_bench: no hubsync command at %s: build it "
			"(make build) or set HS_BENCH_HUBSYNC\n", bb_hubsync);
		return -1;
	}
	return 0;
}

const char *bench_hubsync_path(void)
{
	return bb_hubsync[0] || bb_find_tools() == 0 ? bb_hubsync : NULL;
}

/* One finished process: wall time from fork to exit, its CPU time (user
 * + system, ms), peak RSS (KB). */
typedef struct bb_run {
	double ms;
	double cpu_ms;
	long maxrss_kb;
} bb_run;

/*
 * Run argv as a child process with stdout to /dev/null and stderr to
 * errfile; fill *r. A non-zero exit prints the command and its stderr.
 */
static int bb_spawn(char *const argv[], const char *errfile, bb_run *r)
{
	struct rusage ru;
	double t0 = bench_now_ms();
	int status = 0;
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "hs_bench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);
		int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (out >= 0)
			dup2(out, STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "hs_bench: wait4: %s\n",
				strerror(errno));
			return -1;
		}
	r->ms = bench_now_ms() - t0;
	r->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
	r->maxrss_kb = ru.ru_maxrss;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char line[512];
		FILE *f = fopen(errfile, "r");

		fprintf(stderr, "hs_bench: '%s %s%s' failed (status %d)%s\n",
			argv[0], argv[1] ? argv[1] : "",
			argv[1] && argv[2] ? " ..." : "",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			access(bb_sqlite3, X_OK) && !strcmp(argv[0], "sqlite3")
			? "; is the sqlite3 shell installed (make setup)?" : "");
		while (f && fgets(line, sizeof(line), f))
			fprintf(stderr, "  %s", line);
		if (f)
			fclose(f);
		return -1;
	}
	return 0;
}

/* The case's folder and its stderr file. */
typedef struct bb_ctx {
	const bench_opts *o;
	char dir[4096];
	char err[4200];
} bb_ctx;

static int bb_file(const bb_ctx *c, char *out, size_t cap, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", c->dir, name);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "hs_bench: path too long under %s\n", c->dir);
		return -1;
	}
	return 0;
}

static int bb_sql(const bb_ctx *c, const char *db, const char *sql,
		  bb_run *r)
{
	char *argv[] = { (char *)bb_sqlite3, (char *)db, (char *)sql, NULL };
	bb_run local;

	return bb_spawn(argv, c->err, r ? r : &local);
}

static int bb_hs(const bb_ctx *c, const char *cmd, const char *db,
		 const char *master, const char *user, bb_run *r)
{
	char *init[] = { bb_hubsync, (char *)cmd, (char *)db, "--master",
			 (char *)master, "--user", (char *)user, NULL };
	char *other[] = { bb_hubsync, (char *)cmd, (char *)db, NULL };
	bb_run local;

	return bb_spawn(master ? init : other, c->err, r ? r : &local);
}

#define BB_SCHEMA                                                           \
	"CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, category TEXT, " \
	"vendor TEXT, price REAL, qty INTEGER, notes TEXT)"

/* The one-statement insert of rows 0..n-1 (about 110 bytes a row, like
 * the library cases' rows), in one transaction. */
static void bb_insert_sql(char *out, size_t cap, int64_t n)
{
	snprintf(out, cap,
		 "BEGIN; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT "
		 "i + 1 FROM c WHERE i < %lld) INSERT INTO items (id, name, "
		 "category, vendor, price, qty, notes) SELECT "
		 "printf('item-%%09d', i), 'Item ' || i || ' rev 0', "
		 "'CAT' || (i %% 8), 'Vendor ' || (i %% 5), i * 0.25, "
		 "i %% 100, 'notes about item ' || i || ', a line of text "
		 "like a catalog has' FROM c; COMMIT;",
		 (long long)n - 1);
}

#define BB_UPDATE "BEGIN; UPDATE items SET price = price + 1; COMMIT;"

/* A new file at path with the empty items table (the app made it). */
static int bb_create(const bb_ctx *c, const char *path)
{
	bench_rmtree(path);
	return bb_sql(c, path, BB_SCHEMA, NULL);
}

static int bb_digest(const char *path, int64_t *count, uint64_t *hash)
{
	sqlite3 *db = NULL;
	int rc = wl_open(&db, path) == 0 ? wl_digest(db, count, hash) : -1;

	sqlite3_close(db);
	return rc;
}

/* What one size measured. */
typedef struct bb_result {
	int64_t n;
	double ins_plain, ins_hs, upd_plain, upd_hs; /* ms, medians */
	bb_run push, pull;
	double plain_mb, a_mb, b_mb, m_mb;
	int pulled_ok;
} bb_result;

/*
 * Steps 1-4 and 6 at n rows, in folder sub of the case folder: files
 * plain-K.db / a-K.db for the pairs, b.db, master.db. Leaves a.db (the
 * last tracked file), b.db and master.db for the 10-row rounds.
 */
static int bb_size(bb_ctx *c, int64_t n, int reps, bb_result *res,
		   char *a_out, char *b_out, char *m_out, size_t cap)
{
	char ins[1024], plain[4096], name[64], err[300];
	double vi[2][BB_MAX_REPEAT], vu[2][BB_MAX_REPEAT];
	int64_t ca = 0, cb = 0;
	uint64_t ha = 0, hb = 0;
	int k, side;

	memset(res, 0, sizeof(*res));
	res->n = n;
	bb_insert_sql(ins, sizeof(ins), n);
	if (bb_file(c, b_out, cap, "b.db") < 0)
		return -1;
	for (k = 0; k < reps; k++) {
		bb_run r;

		/* pair k: plain-K.db and a-K.db on its own master m-K.db;
		 * only the last pair's files stay, for the syncs */
		snprintf(name, sizeof(name), "plain-%d.db", k);
		if (bb_file(c, plain, sizeof(plain), name) < 0)
			return -1;
		snprintf(name, sizeof(name), "a-%d.db", k);
		if (bb_file(c, a_out, cap, name) < 0)
			return -1;
		snprintf(name, sizeof(name), "m-%d.db", k);
		if (bb_file(c, m_out, cap, name) < 0)
			return -1;
		bench_rmtree(m_out);
		if (bb_create(c, plain) < 0 || bb_create(c, a_out) < 0 ||
		    bb_hs(c, "init", a_out, m_out, "alice", NULL) < 0)
			return -1;
		for (side = 0; side < 2; side++) {
			int hs = side ^ (k % 2);

			if (bb_sql(c, hs ? a_out : plain, ins, &r) < 0)
				return -1;
			vi[hs][k] = r.ms;
		}
		for (side = 0; side < 2; side++) {
			int hs = side ^ (k % 2);

			if (bb_sql(c, hs ? a_out : plain, BB_UPDATE, &r) < 0)
				return -1;
			vu[hs][k] = r.ms;
		}
		if (k + 1 < reps) {
			bench_rmtree(a_out);
			bench_rmtree(m_out);
			bench_rmtree(plain);
		}
	}
	res->ins_plain = bench_median(vi[0], reps);
	res->ins_hs = bench_median(vi[1], reps);
	res->upd_plain = bench_median(vu[0], reps);
	res->upd_hs = bench_median(vu[1], reps);

	/* first push, then a fresh PC's first pull */
	if (bb_hs(c, "sync", a_out, NULL, NULL, &res->push) < 0 ||
	    bb_create(c, b_out) < 0 ||
	    bb_hs(c, "init", b_out, m_out, "bob", NULL) < 0 ||
	    bb_hs(c, "sync", b_out, NULL, NULL, &res->pull) < 0)
		return -1;
	if (bb_digest(a_out, &ca, &ha) < 0 || bb_digest(b_out, &cb, &hb) < 0)
		return -1;
	res->pulled_ok = ca == n && cb == n && ha == hb;
	if (!res->pulled_ok) {
		snprintf(err, sizeof(err), "black-box first pull of %lld rows: "
			 "B holds %lld rows, A %lld (%s)", (long long)n,
			 (long long)cb, (long long)ca, ha == hb ?
			 "same contents" : "different contents");
		report_problem("%s", err);
	}
	res->plain_mb = (double)bench_db_bytes(plain);
	res->a_mb = (double)bench_db_bytes(a_out);
	res->b_mb = (double)bench_db_bytes(b_out);
	res->m_mb = (double)bench_db_bytes(m_out);
	return 0;
}

/* The 10-row rounds at one size: median push and pull times; cpu[0..1]:
 * their median CPU times (push, pull). */
static int bb_rounds(bb_ctx *c, int64_t n, const char *a, const char *b,
		     double *push_ms, double *pull_ms, double cpu[2])
{
	double vp[BB_ROUNDS], vl[BB_ROUNDS], cp[BB_ROUNDS], cl[BB_ROUNDS];
	char sql[1024];
	int k, j;

	for (k = 0; k < BB_ROUNDS; k++) {
		size_t len;
		bb_run r;

		len = (size_t)snprintf(sql, sizeof(sql), "UPDATE items SET "
				       "qty = qty + 1 WHERE id IN (");
		for (j = 0; j < 10; j++) /* spread over the table */
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,
						"%s'item-%09lld'", j ? ", " : "",
						(long long)((n / 10) * j +
							    (k * 7) % (n / 10)));
		snprintf(sql + len, sizeof(sql) - len, ")");
		if (bb_sql(c, a, sql, NULL) < 0 ||
		    bb_hs(c, "sync", a, NULL, NULL, &r) < 0)
			return -1;
		vp[k] = r.ms;
		cp[k] = r.cpu_ms;
		if (bb_hs(c, "sync", b, NULL, NULL, &r) < 0)
			return -1;
		vl[k] = r.ms;
		cl[k] = r.cpu_ms;
	}
	*push_ms = bench_median(vp, BB_ROUNDS);
	*pull_ms = bench_median(vl, BB_ROUNDS);
	cpu[0] = bench_median(cp, BB_ROUNDS);
	cpu[1] = bench_median(cl, BB_ROUNDS);
	return 0;
}

static void bb_report_size(const bb_result *r, int with_targets)
{
	report_row *row;
	double n = (double)r->n;

	row = report_add(REPORT_MS, r->ins_plain, r->ins_hs,
			 "insert %lld rows, one transaction", (long long)r->n);
	if (with_targets) {
		row->ratio_cmp = CMP_MAX;
		row->ratio_lim = 1.5;
	}
	row = report_add(REPORT_MS, r->upd_plain, r->upd_hs,
			 "update 1 column of %lld rows, one transaction",
			 (long long)r->n);
	if (with_targets) {
		row->ratio_cmp = CMP_MAX;
		row->ratio_lim = 2;
	}
	/* rates: the plain figure is the plain insert's rows/s */
	row = report_add(REPORT_RATE, n / (r->ins_plain / 1e3),
			 n / (r->push.ms / 1e3),
			 "first push of %lld rows (hubsync sync)",
			 (long long)r->n);
	row->ratio_cmp = CMP_MIN;
	row->ratio_lim = 0.3;
	snprintf(row->note, sizeof(row->note), "%.0f ms vs the plain insert",
		 r->push.ms);
	row = report_add(REPORT_RATE, n / (r->ins_plain / 1e3),
			 n / (r->pull.ms / 1e3),
			 "first pull of %lld rows (hubsync sync, new PC)",
			 (long long)r->n);
	row->ratio_cmp = CMP_MIN;
	row->ratio_lim = 0.3;
	snprintf(row->note, sizeof(row->note), "%.0f ms vs the plain insert%s",
		 r->pull.ms, r->pulled_ok ? "" : "; B DIFFERS FROM A");
	row = report_add(REPORT_MB, r->plain_mb, r->a_mb,
			 "replica file size (A, after the push)");
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 1.5;
	row = report_add(REPORT_MB, r->plain_mb, r->b_mb,
			 "replica file size (B, after the pull)");
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 1.5;
	row = report_add(REPORT_MB, r->plain_mb, r->m_mb,
			 "master file size (with its audit trail)");
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 2;
	row = report_add(REPORT_MB, -1, (double)r->push.maxrss_kb * 1024,
			 "peak memory, first push of %lld rows",
			 (long long)r->n);
	if (r->n >= 1000000) {
		row->abs_cmp = CMP_MAX;
		row->abs_lim = 100e6;
	} else {
		snprintf(row->note, sizeof(row->note),
			 "target <= 100 MB at 1M rows: BENCH_ARGS=--big");
	}
	row = report_add(REPORT_MB, -1, (double)r->pull.maxrss_kb * 1024,
			 "peak memory, first pull of %lld rows",
			 (long long)r->n);
	if (r->n >= 1000000) {
		row->abs_cmp = CMP_MAX;
		row->abs_lim = 100e6;
	}
}

int case_blackbox(const bench_opts *o)
{
	bb_ctx c;
	bb_result big, small;
	char a[4096], b[4096], m[4096], a1[4096], b1[4096], m1[4096];
	char title[200];
	double push_ms, pull_ms, push1_ms, pull1_ms, cpu[2], cpu1[2];
	int reps = o->repeat < 1 ? 1 : o->repeat < BB_MAX_REPEAT ?
		   o->repeat : BB_MAX_REPEAT;
	int64_t n = o->pull_rows;
	report_row *row;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.o = o;
	if (bb_find_tools() < 0 ||
	    bench_path(c.dir, sizeof(c.dir), o->dir, "blackbox", "small") < 0 ||
	    bench_mkdir(c.dir) < 0)
		return -1;
	snprintf(c.err, sizeof(c.err), "%s/stderr.txt", c.dir);
	/* the 1,000-row set first: the 10-row sync's flatness baseline */
	if (bb_size(&c, BB_SMALL, 1, &small, a1, b1, m1, sizeof(a1)) < 0 ||
	    bb_rounds(&c, BB_SMALL, a1, b1, &push1_ms, &pull1_ms, cpu1) < 0)
		goto cleanup;
	snprintf(c.dir, sizeof(c.dir), "%s/blackbox/main", o->dir);
	if (bench_mkdir(c.dir) < 0)
		goto cleanup;
	snprintf(c.err, sizeof(c.err), "%s/stderr.txt", c.dir);
	if (bb_size(&c, n, reps, &big, a, b, m, sizeof(a)) < 0 ||
	    bb_rounds(&c, n, a, b, &push_ms, &pull_ms, cpu) < 0)
		goto cleanup;

	snprintf(title, sizeof(title),
		 "black box: the sqlite3 shell writes (one statement, one "
		 "transaction), hubsync sync as a process; median of %d", reps);
	report_section(title);
	bb_report_size(&big, 1);
	row = report_add(REPORT_MS, -1, push_ms,
			 "10-row sync at %lld rows, pushing (whole command)",
			 (long long)n);
	row->abs_cmp = CMP_MAX;
	row->abs_lim = 15;
	row = report_add(REPORT_MS, -1, pull_ms,
			 "10-row sync at %lld rows, pulling (whole command)",
			 (long long)n);
	row->abs_cmp = CMP_MAX;
	row->abs_lim = 15;
	/* what the command itself costs, whatever else runs on the machine
	 * (wall times above grow with the load average) */
	row = report_add(REPORT_MS, cpu1[0], cpu[0],
			 "10-row push at %lld rows, CPU time (user + system)",
			 (long long)n);
	snprintf(row->note, sizeof(row->note),
		 "plain column = hubsync at %d rows", BB_SMALL);
	row = report_add(REPORT_MS, cpu1[1], cpu[1],
			 "10-row pull at %lld rows, CPU time (user + system)",
			 (long long)n);
	snprintf(row->note, sizeof(row->note),
		 "plain column = hubsync at %d rows", BB_SMALL);
	row = report_add(REPORT_MS, push1_ms, push_ms,
			 "10-row push, %d -> %lld rows (flat)", BB_SMALL,
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 1.25;
	snprintf(row->note, sizeof(row->note),
		 "plain column = hubsync at %d rows", BB_SMALL);
	row = report_add(REPORT_MS, pull1_ms, pull_ms,
			 "10-row pull, %d -> %lld rows (flat)", BB_SMALL,
			 (long long)n);
	row->ratio_cmp = CMP_MAX;
	row->ratio_lim = 1.25;
	snprintf(row->note, sizeof(row->note),
		 "plain column = hubsync at %d rows", BB_SMALL);
	bench_case_done(o, "blackbox/main");

	if (o->big) {
		bb_result huge;

		snprintf(c.dir, sizeof(c.dir), "%s/blackbox/big", o->dir);
		if (bench_mkdir(c.dir) < 0)
			goto cleanup;
		snprintf(c.err, sizeof(c.err), "%s/stderr.txt", c.dir);
		if (bb_size(&c, 1000000, 1, &huge, a, b, m, sizeof(a)) < 0)
			goto cleanup;
		report_section("black box at 1,000,000 rows (--big), once");
		bb_report_size(&huge, 1);
		bench_case_done(o, "blackbox/big");
	}
	rc = 0;
cleanup:
	bench_case_done(o, "blackbox");
	return rc;
}
