/*
 * test_faults.c - I/O fault injection into sync (issue 5, item 1).
 *
 * faultvfs.c is registered as SQLite's default VFS, so the library's own
 * connections (the replica handle and the master it opens) go through it.
 * One fixture is built: a master, alice and bob, both synced, then bob's
 * edits synced and alice's own edits (some concurrent with bob's, some
 * integer keys that collide with bob's and must be rebased) not yet synced.
 * Alice's sync of that state is the operation under test.
 *
 * A reference run (no fault) gives the "post" state of both files and the
 * number of operations of each kind the sync does on each file. Then for
 * each target (the master file, alice's replica; journals included), each
 * kind (read, write, fsync, lock, open) and each N from 1 to that number,
 * the fixture is restored and alice syncs with the Nth operation failing,
 * once or persistently (from the Nth on). After every trial:
 *   - a failed sync returns a non-empty one-line message (no newline, also
 *     in the result JSON) and appends a sync_log row with status error or
 *     partial (not required when every later write to alice's own file
 *     fails: nothing can be written there);
 *   - the master holds either its pre-sync rows (and sequence) or exactly
 *     the reference post-sync rows; alice's replica likewise; never a mix;
 *   - no lock directory is left behind; integrity_check is ok on both;
 *   - a sync on the same handle without faults succeeds and leaves both
 *     files equal to the reference post state: nothing lost.
 * A one-off fault that SQLite or hubsync absorbs (the sync succeeds) must
 * leave the full post state.
 *
 * Default run: every one-off N, persistent N with a stride (≈ 45 s on
 * this machine); HS_SOAK=1: a bigger fixture and every persistent N too;
 * HS_FAULT_STRIDE=k (set for the sanitizer build): one-off faults at
 * every kth operation only.
 * Select targets with argv: ./test_faults master | local.
 */
#include "faultvfs.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_SYNC INT64_C(1736946000000) /* the trial sync's virtual time */
#define T_RECOVER (T_SYNC + 60000)

enum target { MASTER = 0, LOCAL, NTARGETS };
static const char *TARGET_NAMES[NTARGETS] = {"master", "local"};
static const char *TARGET_FILES[NTARGETS] = {"master.db", "alice.db"};

/* What a trial ended as (each counted in the summary). */
enum outcome {
	O_ABSORBED,   /* the sync succeeded anyway: full post state */
	O_UNCHANGED,  /* failed; both files as before */
	O_PARTIAL,    /* failed after the master commit; local as before */
	O_NOT_REACHED, /* the Nth operation did not happen this time */
	NOUTCOMES
};
static const char *OUTCOME_NAMES[NOUTCOMES] = {
	"absorbed (sync ok)", "failed, nothing changed",
	"failed after master commit (partial)", "fault not reached"};

typedef struct fixture {
	const char *dir;
	char master[600], local[600];         /* the live files */
	char pre_master[600], pre_local[600]; /* before alice's sync */
	char post_master[600], post_local[600];
	int64_t pre_seq, post_seq, pre_pulled, post_pulled, pre_log;
	long ops[NTARGETS][FV_NKINDS]; /* operations of the reference sync */
} fixture;

typedef struct stats {
	long trials[NTARGETS][FV_NKINDS];
	long faults[NTARGETS][FV_NKINDS];
	long outcome[NTARGETS][FV_NKINDS][NOUTCOMES];
	long no_log[NTARGETS][FV_NKINDS]; /* failed; sync_log not writable */
	long failed[NTARGETS][FV_NKINDS][2]; /* trials that broke a rule */
} stats;

/* The first broken rule of each (target, kind, one-off/persistent). */
static char *first_failure[NTARGETS][FV_NKINDS][2];

static fixture F;
static stats *S; /* shared with the trial processes (mmap) */

static int64_t virtual_clock(void *ctx)
{
	(void)ctx;
	return tu_now_ms;
}

static hs_replica *open_alice(void)
{
	hs_open_options o = HS_OPEN_OPTIONS_INIT;
	hs_replica *h = NULL;
	o.clock = virtual_clock;
	int rc = hs_replica_open(&h, F.local, &o);
	TU_CHECK(rc == 0, "open %s: %d %s", F.local, rc,
		 h ? hs_replica_errmsg(h) : "(no handle)");
	return h;
}

static void remove_side_files(void)
{
	static const char *SUFFIX[] = {"-journal", "-wal", "-shm", ".lock", ".hubsync-lock",
				       ".clock"};
	char p[720];
	for (size_t i = 0; i < sizeof(SUFFIX) / sizeof(SUFFIX[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", F.master, SUFFIX[i]);
		tu_rmtree(p);
		snprintf(p, sizeof(p), "%s%s", F.local, SUFFIX[i]);
		tu_rmtree(p);
	}
}

static void restore_pre(void)
{
	remove_side_files();
	tu_copy_file(F.pre_master, F.master);
	tu_copy_file(F.pre_local, F.local);
}

/* ---- the fixture ------------------------------------------------------ */

static const char *SCHEMA =
	"CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, price REAL,"
	" qty INTEGER);"
	"CREATE TABLE notes(id INTEGER PRIMARY KEY, item TEXT, body TEXT);";

static void build_fixture(int rows)
{
	tu_site a, b;
	char dir2[560];
	F.dir = tu_tmpdir("faults");
	snprintf(F.master, sizeof(F.master), "%s/master.db", F.dir);
	snprintf(F.local, sizeof(F.local), "%s/alice.db", F.dir);
	snprintf(dir2, sizeof(dir2), "%s/saved", F.dir);
	TU_CHECK(mkdir(dir2, 0777) == 0, "mkdir %s", dir2);
	snprintf(F.pre_master, sizeof(F.pre_master), "%s/pre-m.db", dir2);
	snprintf(F.pre_local, sizeof(F.pre_local), "%s/pre-a.db", dir2);
	snprintf(F.post_master, sizeof(F.post_master), "%s/post-m.db", dir2);
	snprintf(F.post_local, sizeof(F.post_local), "%s/post-a.db", dir2);

	tu_site_open(&a, F.dir, "alice", 0);
	tu_site_open(&b, F.dir, "bob", 0);
	tu_exec(a.app, "%s", SCHEMA);
	tu_exec(b.app, "%s", SCHEMA);
	tu_exec(a.app,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		" WHERE i < %d) INSERT INTO items SELECT printf('it%%05d', i),"
		" printf('item %%d, a name long enough to fill pages %%s', i,"
		" hex(zeroblob(20))), i * 0.25, i FROM n;"
		"INSERT INTO notes(item, body) SELECT id, 'first note of ' || id"
		" FROM items WHERE qty %% 10 = 0", rows);
	tu_now_ms += 1000;
	tu_site_init(&a, F.master, NULL);
	tu_now_ms += 1000;
	tu_site_init(&b, F.master, NULL);
	for (int r = 0; r < 2; r++) {
		tu_now_ms += 1000;
		tu_site_sync(&a, 0);
		tu_now_ms += 1000;
		tu_site_sync(&b, 0);
	}
	/* Bob edits and syncs: news for alice's pull. */
	tu_now_ms += 60000;
	tu_exec(b.app,
		"UPDATE items SET price = price + 1 WHERE qty BETWEEN 1 AND %d;"
		"INSERT INTO items(id, name, price, qty) SELECT 'bob' || id, name,"
		" price, qty FROM items"
		" WHERE qty <= %d;"
		"DELETE FROM items WHERE qty BETWEEN %d AND %d;"
		"INSERT INTO notes(item, body) VALUES ('it00001', 'bob 1'),"
		" ('it00002', 'bob 2');",
		rows / 8, rows / 15, rows - 20, rows - 10);
	tu_site_sync(&b, 0);
	/* Alice edits offline: some of the same prices (conflicts), names,
	 * new rows, deletes, notes whose ids collide with bob's. */
	tu_now_ms += 30000;
	tu_exec(a.app,
		"UPDATE items SET price = price * 2 WHERE qty BETWEEN %d AND %d;"
		"UPDATE items SET name = 'renamed ' || id WHERE qty BETWEEN %d"
		" AND %d;"
		"INSERT INTO items(id, name, price, qty) SELECT 'alice' || id, name,"
		" price, qty FROM"
		" items WHERE qty <= %d;"
		"DELETE FROM items WHERE qty BETWEEN %d AND %d;"
		"INSERT INTO notes(item, body) VALUES ('it00003', 'alice 1'),"
		" ('it00004', 'alice 2'), ('it00005', 'alice 3');",
		rows / 16, rows / 4, rows / 3, rows / 2, rows / 12, rows - 40,
		rows - 30);
	tu_site_close(&a);
	tu_site_close(&b);
	tu_copy_file(F.master, F.pre_master);
	tu_copy_file(F.local, F.pre_local);
}

/* ---- states ------------------------------------------------------------ */

static int64_t master_seq(sqlite3 *m)
{
	return tu_int(m, -1, "SELECT value FROM hubsync_master WHERE key='seq'");
}

static int64_t local_pulled(sqlite3 *l)
{
	return tu_int(l, -1, "SELECT pulled FROM hubsync_ctl");
}

/* 1 if the user tables of db equal those of the file ref. */
static int same_rows(sqlite3 *db, const char *ref, char **why)
{
	sqlite3 *r = tu_db_open(ref, 1);
	int diff = tu_db_diff(r, db, "synced_at", why);
	sqlite3_close(r);
	return !diff;
}

/* "pre", "post", or fail: the state of one file after a trial. The file is
 * opened read-write so that a hot journal left by the fault is rolled
 * back first, as any reader would. */
static const char *state_of(const char *path, int is_master,
			    const char *trial)
{
	sqlite3 *db = tu_db_open(path, 0);
	int64_t mark = is_master ? master_seq(db) : local_pulled(db);
	int64_t pre = is_master ? F.pre_seq : F.pre_pulled;
	int64_t post = is_master ? F.post_seq : F.post_pulled;
	char *why_pre = NULL, *why_post = NULL;
	const char *st = NULL;
	if (mark == pre && same_rows(db, is_master ? F.pre_master : F.pre_local,
				     &why_pre))
		st = "pre";
	else if (mark == post &&
		 same_rows(db, is_master ? F.post_master : F.post_local,
			   &why_post))
		st = "post";
	sqlite3_close(db);
	TU_CHECK(st != NULL, "%s: %s is half synced: mark %lld (pre %lld, "
		 "post %lld); vs pre: %s; vs post: %s", trial,
		 is_master ? "the master" : "alice's replica", (long long)mark,
		 (long long)pre, (long long)post, why_pre ? why_pre : "-",
		 why_post ? why_post : "-");
	free(why_pre);
	free(why_post);
	return st;
}

static void check_post(const char *trial)
{
	TU_CHECK(!strcmp(state_of(F.master, 1, trial), "post"),
		 "%s: the master is not in the post-sync state", trial);
	TU_CHECK(!strcmp(state_of(F.local, 0, trial), "post"),
		 "%s: alice's replica is not in the post-sync state", trial);
}

static void check_no_lock_left(const char *trial)
{
	char p[720];
	snprintf(p, sizeof(p), "%s.lock", F.master);
	TU_CHECK(!tu_file_exists(p), "%s: the lock directory %s was left "
		 "behind (the next sync would wait for it)", trial, p);
}

static int sync_alice(hs_replica *h, char **json)
{
	hs_sync_options o = HS_SYNC_OPTIONS_INIT;
	o.lock_timeout_ms = 2000;
	return hs_replica_sync(h, &o, json);
}

/* The reference sync: post state, and operation counts per target. */
static void reference_run(void)
{
	for (int t = 0; t < NTARGETS; t++) {
		restore_pre();
		hs_replica *h = open_alice();
		sqlite3 *m = tu_db_open(F.master, 1), *l = tu_db_open(F.local, 1);
		F.pre_seq = master_seq(m);
		F.pre_pulled = local_pulled(l);
		F.pre_log = tu_int(l, 0, "SELECT max(id) FROM sync_log");
		sqlite3_close(m);
		sqlite3_close(l);
		tu_now_ms = T_SYNC;
		fv_watch(TARGET_FILES[t]);
		char *json = NULL;
		int rc = sync_alice(h, &json);
		TU_CHECK(rc == 0, "reference sync failed: %d %s", rc,
			 hs_replica_errmsg(h));
		for (int k = 0; k < FV_NKINDS; k++)
			F.ops[t][k] = fv_count((fv_kind)k);
		fv_watch(NULL);
		hs_free(json);
		hs_replica_free(h);
		if (t == 0) {
			char *why = NULL;
			m = tu_db_open(F.master, 1);
			l = tu_db_open(F.local, 1);
			TU_CHECK(!tu_db_diff(m, l, "synced_at", &why),
				 "after the reference sync alice differs from "
				 "the master: %s", why);
			TU_CHECK(tu_int(l, 0, "SELECT count(*) FROM"
					      " hubsync_conflicts") > 0,
				 "the fixture makes no conflict");
			F.post_seq = master_seq(m);
			F.post_pulled = local_pulled(l);
			sqlite3_close(m);
			sqlite3_close(l);
			TU_CHECK(F.post_seq > F.pre_seq, "the reference sync "
				 "did not change the master");
			tu_copy_file(F.master, F.post_master);
			tu_copy_file(F.local, F.post_local);
		}
	}
}

/* ---- one trial ----------------------------------------------------------- */

static void check_one_line(const char *what, const char *msg,
			   const char *trial)
{
	TU_CHECK(msg && *msg, "%s: empty %s", trial, what);
	TU_CHECK(!strchr(msg, '\n') && !strchr(msg, '\r'),
		 "%s: %s is not one line: %s", trial, what, msg);
}

static void trial(int target, fv_kind kind, long nth, int persistent)
{
	char name[160], *json = NULL;
	snprintf(name, sizeof(name), "%s fault on %s, op %ld%s",
		 fv_kind_name(kind), TARGET_NAMES[target], nth,
		 persistent ? " and after" : "");
	tu_set_context("test_faults: %s", name);
	restore_pre();
	hs_replica *h = open_alice();
	tu_now_ms = T_SYNC;
	fv_watch(TARGET_FILES[target]);
	fv_arm(kind, nth, persistent);
	int rc = sync_alice(h, &json);
	long fired = fv_fired();
	fv_watch(NULL);
	S->trials[target][kind]++;
	S->faults[target][kind] += fired;

	enum outcome o;
	if (rc == 0) {
		check_post(name);
		o = fired ? O_ABSORBED : O_NOT_REACHED;
	} else {
		TU_CHECK(fired > 0, "%s: sync failed with no fault injected: "
			 "%d %s", name, rc, hs_replica_errmsg(h));
		check_one_line("hs_replica_errmsg", hs_replica_errmsg(h), name);
		TU_CHECK(json != NULL, "%s: the failed sync (%d: %s) gave no "
			 "result JSON", name, rc, hs_replica_errmsg(h));
		json_t *res = tu_json_take(json);
		json = NULL;
		TU_CHECK(json_is_false(json_object_get(res, "success")),
			 "%s: failed sync (%d) says success", name, rc);
		check_one_line("result message",
			       json_string_value(json_object_get(res, "message")),
			       name);
		json_decref(res);
		const char *ms = state_of(F.master, 1, name);
		const char *ls = state_of(F.local, 0, name);
		TU_CHECK(!strcmp(ls, "pre"), "%s: sync failed (%s) but alice's "
			 "replica was fully synced", name, hs_replica_errmsg(h));
		o = !strcmp(ms, "pre") ? O_UNCHANGED : O_PARTIAL;

		sqlite3 *l = tu_db_open(F.local, 1);
		int64_t last = tu_int(l, 0, "SELECT max(id) FROM sync_log");
		char *row = tu_last_sync_log(l);
		sqlite3_close(l);
		if (last > F.pre_log) {
			const char *want = o == O_PARTIAL ? "partial|" : "error|";
			/* A fault at the master's commit point can commit
			 * and still report failure: "error" is then right
			 * from where hubsync stood. */
			TU_CHECK(!strncmp(row, want, strlen(want)) ||
					 (o == O_PARTIAL &&
					  !strncmp(row, "error|", 6)),
				 "%s: sync_log row is '%s', want %s...", name,
				 row, want);
			check_one_line("sync_log.error_message",
				       strchr(row, '|') + 1, name);
		} else {
			TU_CHECK(target == LOCAL && persistent,
				 "%s: no sync_log row for the failed sync (%s)",
				 name, hs_replica_errmsg(h));
			S->no_log[target][kind]++;
		}
		free(row);
	}
	hs_free(json);
	S->outcome[target][kind][o]++;
	check_no_lock_left(name);
	tu_check_integrity(F.master);
	tu_check_integrity(F.local);

	/* Recovery: the same handle, no fault. */
	tu_now_ms = T_RECOVER;
	rc = sync_alice(h, NULL);
	TU_CHECK(rc == 0, "%s: the sync after the fault failed: %d %s", name,
		 rc, hs_replica_errmsg(h));
	char rec[200];
	snprintf(rec, sizeof(rec), "%s, then a sync without fault", name);
	check_post(rec);
	check_no_lock_left(rec);
	hs_replica_free(h);
}

/*
 * Run one trial in a child process, so that a broken rule (tu_fail exits)
 * or a crash is counted and the other trials still run. The child's
 * stderr is collected; the first failure of each group is kept.
 */
static void run_trial(int target, fv_kind kind, long nth, int persistent)
{
	int fds[2];
	char buf[4096];
	size_t len = 0;
	ssize_t got;
	int status = 0;
	TU_CHECK(pipe(fds) == 0, "pipe");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	TU_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		trial(target, kind, nth, persistent);
		_exit(0);
	}
	close(fds[1]);
	while ((got = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	S->failed[target][kind][persistent]++;
	if (!first_failure[target][kind][persistent]) {
		if (WIFSIGNALED(status))
			snprintf(buf + len, sizeof(buf) - len,
				 "CRASH (signal %d) in %s fault on %s, op %ld\n",
				 WTERMSIG(status), fv_kind_name(kind),
				 TARGET_NAMES[target], nth);
		first_failure[target][kind][persistent] = strdup(buf);
	}
}

/* ---- main ----------------------------------------------------------- */

static void print_summary(void)
{
	long total = 0;
	printf("\n%-7s %-6s %5s %7s %7s", "target", "kind", "ops", "trials",
	       "faults");
	for (int o = 0; o < NOUTCOMES; o++)
		printf("  [%c]", 'a' + o);
	printf("  no-log  FAILED\n");
	for (int t = 0; t < NTARGETS; t++)
		for (int k = 0; k < FV_NKINDS; k++) {
			if (!S->trials[t][k])
				continue;
			printf("%-7s %-6s %5ld %7ld %7ld", TARGET_NAMES[t],
			       fv_kind_name((fv_kind)k), F.ops[t][k],
			       S->trials[t][k], S->faults[t][k]);
			for (int o = 0; o < NOUTCOMES; o++)
				printf(" %4ld", S->outcome[t][k][o]);
			printf("  %6ld  %6ld\n", S->no_log[t][k],
			       S->failed[t][k][0] + S->failed[t][k][1]);
			total += S->faults[t][k];
		}
	for (int o = 0; o < NOUTCOMES; o++)
		printf("  [%c] %s\n", 'a' + o, OUTCOME_NAMES[o]);
	printf("  no-log: failed syncs that could not write sync_log (every "
	       "later write to alice's file failing)\n");
	long failed = 0;
	for (int t = 0; t < NTARGETS; t++)
		for (int k = 0; k < FV_NKINDS; k++)
			failed += S->failed[t][k][0] + S->failed[t][k][1];
	printf("%ld faults injected; %s\n", total,
	       failed ? "some trials broke a rule (below)"
		      : "every trial: one-line error, each file pre or post "
			"(never half), no lock left, integrity ok, the next "
			"sync converged");
}

/* Print the first failure of each group; the number of failed trials. */
static long report_failures(void)
{
	long total = 0;
	for (int t = 0; t < NTARGETS; t++)
		for (int k = 0; k < FV_NKINDS; k++)
			for (int p = 0; p < 2; p++) {
				long n = S->failed[t][k][p];
				if (!n)
					continue;
				total += n;
				printf("\n%ld trials broke a rule with %s %s faults "
				       "on %s; the first:\n%s", n,
				       p ? "persistent" : "one-off",
				       fv_kind_name((fv_kind)k), TARGET_NAMES[t],
				       first_failure[t][k][p]);
			}
	if (total)
		printf("\nFAIL: %ld trials broke a rule\n", total);
	return total;
}

static int wanted(int target, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], TARGET_NAMES[target]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int soak = getenv("HS_SOAK") && atoi(getenv("HS_SOAK")) > 0;
	/* HS_FAULT_STRIDE=k: one-off faults at every kth operation only
	 * (the sanitizer build, about 8x slower, sets it) */
	long one_off_stride = getenv("HS_FAULT_STRIDE") && !soak
				      ? atol(getenv("HS_FAULT_STRIDE"))
				      : 1;
	if (one_off_stride < 1)
		one_off_stride = 1;
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TU_CHECK(S != MAP_FAILED, "mmap");
	TU_CHECK(fv_install() == SQLITE_OK, "cannot register the fault VFS");
	build_fixture(soak ? 2000 : 300);
	reference_run();
	for (int t = 0; t < NTARGETS; t++) {
		if (!wanted(t, argc, argv))
			continue;
		for (int k = 0; k < FV_NKINDS; k++) {
			long n = F.ops[t][k];
			/* persistent faults from op N on: every N in a soak,
			 * about 12 spread over the sync otherwise */
			long stride = soak || n <= 12 ? 1 : n / 12;
			for (long i = 1; i <= n; i += one_off_stride)
				run_trial(t, (fv_kind)k, i, 0);
			for (long i = 1; i <= n; i += stride)
				run_trial(t, (fv_kind)k, i, 1);
		}
	}
	print_summary();
	gettimeofday(&t1, NULL);
	printf("%.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
				   (double)(t1.tv_usec - t0.tv_usec) / 1e6);
	long failed = report_failures();
	if (failed) {
		printf("files kept in %s\n", F.dir);
		return 1;
	}
	tu_cleanup();
	return 0;
}
