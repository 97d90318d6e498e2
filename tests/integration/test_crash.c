/*
 * test_crash.c - kill `hubsync sync` with SIGKILL at every point of its
 * work; nothing is lost and nothing is corrupted (DESIGN.md section 5.3).
 *
 * Two PCs (fleet.h) and a master file. Each trial:
 *   1. both apps write about HS_CRASH_ROWS rows (updates, inserts,
 *      deletes, re-inserts, shared-row columns, integer-key notes that get
 *      rebased on push); the other PC syncs, so the killed PC's sync both
 *      pushes and pulls thousands of rows;
 *   2. the real binary syncs the victim PC on a pseudo-terminal and is
 *      SIGKILLed after a seeded random delay: half the trials uniform over
 *      the measured duration of an unkilled sync, half aimed at one phase
 *      window (start, lock, push, pull, apply+commit, end) measured from the
 *      progress lines of earlier runs; every 10th trial instead kills a
 *      child process syncing through the C API at a progress report (the
 *      exact instants: lock, push, pull, first table applied, done =
 *      local watermark committed but sync_log not written);
 *   3. where it was: read from the files (PRAGMA on copies when a hot
 *      journal is there, so that hubsync itself performs the recovery on
 *      the real files): did the master commit (its push mark for this PC
 *      moved), did the local transaction commit (pull watermark moved), was
 *      the sync_log row written; before that, the last progress line;
 *   4. checks: integrity_check ok on the replica and the master as the
 *      kill left them; a lock left by the killed process names it; the
 *      next sync (the binary) succeeds at once (same host, dead pid: stale
 *      immediately, not after the 120 s lease) and releases the lock; the
 *      other PC syncs; both replicas and the master hold exactly what the
 *      apps committed (workload.h: nothing lost, nothing resurrected, no
 *      rebased row duplicated), integrity_check ok on all three.
 *
 * Usage: test_crash PATH_OF_HUBSYNC
 *   HS_SEED=N          PRNG seed (default 1; printed)
 *   HS_CRASH_TRIALS=N  trials (default 200; 1000 with HS_SOAK=1)
 *   HS_CRASH_ROWS=N    rows each app writes per trial (default 1000)
 *   HS_KEEP_TMP=1      keep the files
 */
#define _GNU_SOURCE
#include "fleet.h"
#include "spawn.h"
#include "testutil.h"
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where a kill landed, from the state it left. */
enum phase {
	PH_START,     /* before the lock: nothing reported yet */
	PH_LOCK,      /* lock taken / building the push */
	PH_PUSH,      /* merging the push into the master */
	PH_PULL,      /* reading the pull, master not committed */
	PH_APPLY,     /* master committed, local transaction not */
	PH_WATERMARK, /* local transaction (rows + watermark) committed,
		       * sync_log row not written */
	PH_LOGGED,    /* sync_log row written, process not ended */
	PH_COMPLETED, /* the sync ended before the kill */
	PH_N
};
static const char *const phase_name[PH_N] = {
	"start", "lock", "push", "pull", "apply", "watermark", "logged",
	"completed"};

/* Phase windows of an unkilled sync, microseconds after start (moving
 * averages of the progress lines seen). */
enum { W_LOCK, W_PUSH, W_PULL, W_DONE, W_END, W_N };
static double win[W_N];
static int win_seen[W_N];

static uint64_t rng = 1;
static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}
static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(next_rand() >> 11) / 9007199254740992.0;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

static void learn(int w, int64_t at_us)
{
	win[w] = win_seen[w] ? 0.7 * win[w] + 0.3 * (double)at_us : (double)at_us;
	win_seen[w]++;
}

/* Learn the phase times from the progress lines of a run. */
static void learn_run(const sp_result *r)
{
	static const char *const prefix[W_DONE + 1] = {"lock", "push", "pull...",
						       "done"};
	for (int w = 0; w <= W_DONE; w++) {
		const sp_mark *m = NULL;
		for (int i = 0; i < r->nmarks && !m; i++)
			if (!strncmp(r->marks[i].text, prefix[w], strlen(prefix[w])))
				m = &r->marks[i];
		if (m)
			learn(w, m->at_us);
	}
	if (!r->killed)
		learn(W_END, r->elapsed_us);
}

/* ---- the state a kill left -------------------------------------------- */

static int64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/*
 * Open path for reading as the kill left it. With a hot journal (an
 * interrupted write transaction), open a copy of both files instead: the
 * copy rolls back, the real file is left for hubsync to recover.
 */
static sqlite3 *open_as_left(const char *path, const char *scratch, int *hot)
{
	char journal[800], copy[800], copy_journal[820];
	snprintf(journal, sizeof journal, "%s-journal", path);
	*hot = file_size(journal) > 0;
	if (!*hot)
		return tu_db_open(path, 1);
	snprintf(copy, sizeof copy, "%s/copy.db", scratch);
	snprintf(copy_journal, sizeof copy_journal, "%s-journal", copy);
	tu_copy_file(path, copy);
	tu_copy_file(journal, copy_journal);
	return tu_db_open(copy, 0);
}

typedef struct marks {
	int64_t pushed;  /* master: this PC's push mark */
	int64_t pulled;  /* replica: pull watermark */
	int64_t logged;  /* replica: sync_log rows */
} marks;

/* Read the marks of replica and master; with check, after a kill: also
 * their integrity as the kill left them (hot_* say if a journal was hot). */
static void read_marks(const char *replica, const char *master,
		       const char *site, const char *scratch, int check,
		       marks *m, int *hot_local, int *hot_master)
{
	int hot;
	char *ok = NULL;
	sqlite3 *db = open_as_left(replica, scratch, &hot);
	if (hot_local)
		*hot_local = hot;
	if (check) {
		ok = tu_text(db, "PRAGMA integrity_check");
		TU_CHECK(ok && !strcmp(ok, "ok"), "integrity_check of the replica"
			 " %s as the kill left it%s: %s", replica,
			 hot ? " (hot journal)" : "", ok ? ok : "?");
		free(ok);
	}
	m->pulled = tu_int(db, -1, "SELECT pulled FROM hubsync_ctl");
	m->logged = tu_int(db, -1, "SELECT count(*) FROM sync_log");
	sqlite3_close(db);

	db = open_as_left(master, scratch, &hot);
	if (hot_master)
		*hot_master = hot;
	if (check) {
		ok = tu_text(db, "PRAGMA integrity_check");
		TU_CHECK(ok && !strcmp(ok, "ok"), "integrity_check of the master as"
			 " the kill left it%s: %s", hot ? " (hot journal)" : "",
			 ok ? ok : "?");
		free(ok);
	}
	m->pushed = tu_int(db, -1, "SELECT pushed FROM hubsync_sites WHERE"
			   " site = %Q", site);
	sqlite3_close(db);
}

static enum phase classify(const sp_result *r, const marks *before,
			   const marks *after)
{
	if (!r->killed)
		return PH_COMPLETED;
	if (after->logged != before->logged)
		return PH_LOGGED;
	if (after->pulled != before->pulled)
		return PH_WATERMARK;
	if (after->pushed != before->pushed)
		return PH_APPLY;
	const sp_mark *m = r->nmarks ? &r->marks[r->nmarks - 1] : NULL;
	if (!m)
		return PH_START;
	if (!strncmp(m->text, "lock", 4))
		return PH_LOCK;
	if (!strncmp(m->text, "push", 4))
		return PH_PUSH;
	TU_CHECK(!strcmp(m->text, "pull..."), "killed after '%s' but the master"
		 " has not committed: progress and state disagree", m->text);
	return PH_PULL;
}

/* ---- the kill ------------------------------------------------------------ */

static const char *const api_point[] = {"lock", "push", "pull", "pull", "done"};
static const int api_nth[] = {1, 1, 1, 2, 1};

typedef struct api_killer {
	const char *phase;
	int nth, seen;
} api_killer;

static void die_at(void *ctx, const char *phase, const char *table,
		   int64_t rows)
{
	api_killer *k = ctx;
	(void)table;
	(void)rows;
	if (!strcmp(phase, k->phase) && ++k->seen == k->nth) {
		printf("%s\n", phase);    /* the mark, as on the pty */
		fflush(stdout);
		raise(SIGKILL);
	}
}

/* Sync replica in a forked child through the C API, SIGKILLed at the nth
 * progress report of phase; res as sp_run_pty would fill it. */
static void api_kill(const char *replica, int point, sp_result *res)
{
	int fds[2], status = 0;
	char buf[256];
	ssize_t n;
	memset(res, 0, sizeof(*res));
	res->status = -1;
	TU_CHECK(pipe(fds) == 0, "pipe");
	fflush(NULL);
	int64_t start = sp_now_us();
	res->pid = fork();
	TU_CHECK(res->pid >= 0, "fork");
	if (res->pid == 0) {
		hs_replica *r = NULL;
		hs_sync_options o = HS_SYNC_OPTIONS_INIT;
		api_killer k = {api_point[point], api_nth[point], 0};
		dup2(fds[1], 1);
		close(fds[0]);
		if (hs_replica_open(&r, replica, NULL) != 0)
			_exit(3);
		o.progress = die_at;
		o.progress_ctx = &k;
		_exit(hs_replica_sync(r, &o, NULL) == 0 ? 0 : 4);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	waitpid(res->pid, &status, 0);
	res->elapsed_us = sp_now_us() - start;
	TU_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		 "the API sync was not killed at '%s' #%d (status %d: the report"
		 " never came?)", api_point[point], api_nth[point], status);
	res->killed = 1;
	if (n > 0) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		res->nmarks = 1;
		snprintf(res->marks[0].text, sizeof res->marks[0].text, "%.70s...",
			 buf);
	}
}

/* The delay of trial t: uniform over a whole sync, or aimed at a phase. */
static int64_t pick_delay(int t)
{
	double end = win[W_END];
	if (t % 2 == 0)
		return (int64_t)uniform(0, end * 1.1);
	switch ((t / 2) % 5) {
	case 0: return (int64_t)uniform(0, win[W_LOCK] + 500);
	case 1: return (int64_t)uniform(win[W_LOCK], win[W_PUSH]);
	case 2: return (int64_t)uniform(win[W_PUSH], win[W_PULL]);
	case 3: return (int64_t)uniform(win[W_PULL], win[W_DONE]);
	default: return (int64_t)uniform(win[W_DONE] - 3000, end + 1000);
	}
}

/* ---- the test ------------------------------------------------------------ */

typedef struct totals {
	int trials, by_phase[PH_N], api_kills;
	int locks_left, hot_master, hot_local;
	int64_t recovery_max_us, recovery_sum_us, recoveries;
	int64_t unkilled_us, unkilled;
} totals;

static void write_both(fleet *f, int rows)
{
	for (int k = 0; k < 2; k++) {
		int rc = wl_app_write(&f->s[k].w, f->s[k].app, rows);
		TU_CHECK(rc == SQLITE_OK, "%s: app write failed (%d) with no sync"
			 " running", f->s[k].name, rc);
	}
}

/* After a kill: the lock dir, if any, names the dead process. */
static int check_lock_left(const char *master, pid_t pid)
{
	char dir[800], owner[820], line[400] = "", host[256];
	long opid = 0;
	snprintf(dir, sizeof dir, "%s.lock", master);
	snprintf(owner, sizeof owner, "%s/owner", dir);
	if (!tu_file_exists(dir))
		return 0;
	FILE *fo = fopen(owner, "r");
	if (fo) {
		if (!fgets(line, sizeof line, fo))
			line[0] = 0;
		fclose(fo);
	}
	/* Killed between mkdir and writing the owner: the lock names
	 * nobody and is taken over after a few seconds (lock.c). */
	if (!line[0])
		return 1;
	TU_CHECK(sscanf(line, "%255s %ld", host, &opid) == 2 && opid == pid,
		 "the killed sync (pid %ld) left the lock %s with owner '%s'",
		 (long)pid, dir, line);
	return 1;
}

static void trial(fleet *f, int t, int rows, const char *scratch, totals *tt)
{
	int victim = t % 2, other = 1 - victim;
	fl_site *v = &f->s[victim];
	char *site = NULL, when[160];
	marks before, after;
	sp_result r;
	int64_t delay = -1;
	int hot_l = 0, hot_m = 0;
	enum phase ph;

	write_both(f, rows);
	fl_sync_ok(f, other);
	site = tu_text(v->app, "SELECT value FROM hubsync_meta WHERE key ="
			       " 'site'");
	TU_CHECK(site != NULL, "no site id in %s", v->path);
	read_marks(v->path, v->master, site, scratch, 0, &before, NULL, NULL);

	if (t % 10 == 9) {
		int point = (t / 10) % 5;
		api_kill(v->path, point, &r);
		tt->api_kills++;
		snprintf(when, sizeof when, "trial %d: %s killed through the API"
			 " at '%s' #%d", t, v->name, api_point[point],
			 api_nth[point]);
	} else {
		char *argv[] = {(char *)f->bin, "sync", v->path, NULL};
		delay = pick_delay(t);
		sp_run_pty(argv, delay, &r);
		learn_run(&r);
		snprintf(when, sizeof when, "trial %d: %s's sync killed %.1f ms"
			 " after start", t, v->name, (double)delay / 1000);
		if (!r.killed) {
			TU_CHECK(r.status == 0, "%s: the unkilled sync exited %d",
				 when, r.status);
			tt->unkilled_us += r.elapsed_us;
			tt->unkilled++;
		}
	}
	tu_set_context("%s (replay: HS_SEED=%s HS_CRASH_TRIALS=%d)", when,
		       getenv("HS_SEED") ? getenv("HS_SEED") : "1", t + 1);

	read_marks(v->path, v->master, site, scratch, 1, &after, &hot_l,
		   &hot_m);
	ph = classify(&r, &before, &after);
	tt->by_phase[ph]++;
	tt->hot_local += hot_l;
	tt->hot_master += hot_m;
	if (r.killed)
		tt->locks_left += check_lock_left(v->master, r.pid);

	/* The next sync completes at once, breaking a stale lock. */
	char *argv[] = {(char *)f->bin, "sync", v->path, NULL};
	sp_result rec;
	sp_run_pty(argv, -1, &rec);
	TU_CHECK(rec.status == 0, "%s [phase %s]: the next sync exited %d (%s)",
		 when, phase_name[ph], rec.status,
		 rec.nmarks ? rec.marks[rec.nmarks - 1].text : "no output");
	/* At once, but for a sync killed between mkdir and writing its
	 * owner: that lock is judged by its age (HS_LOCK_ORPHAN_MS, 20 s) */
	TU_CHECK(rec.elapsed_us < 30000000, "%s: the next sync took %.1f s: a"
		 " dead owner's lock is not stale soon enough", when,
		 (double)rec.elapsed_us / 1e6);
	char lockdir[800];
	snprintf(lockdir, sizeof lockdir, "%s.lock", v->master);
	TU_CHECK(!tu_file_exists(lockdir), "%s: the lock is still there after"
		 " the next sync ended", when);
	tt->recoveries++;
	tt->recovery_sum_us += rec.elapsed_us;
	if (rec.elapsed_us > tt->recovery_max_us)
		tt->recovery_max_us = rec.elapsed_us;

	fl_sync_ok(f, other);
	char what[300];
	snprintf(what, sizeof what, "%s [phase %s], the next sync and %s's",
		 when, phase_name[ph], f->s[other].name);
	fl_check(f, what);
	tt->trials++;
	free(site);
}

/* A fresh office: two PCs and a master in a new directory, first content
 * synced, and unkilled syncs of a trial's shape measured. */
static void office_open(fleet *f, const char *bin, int rows, uint64_t seed,
			char *scratch, size_t nscratch)
{
	char master[700];
	const char *masters[2];
	const char *dir = tu_tmpdir("crash");
	snprintf(master, sizeof master, "%s/share", dir);
	TU_CHECK(mkdir(master, 0777) == 0, "mkdir %s", master);
	snprintf(master, sizeof master, "%s/share/server.db", dir);
	snprintf(scratch, nscratch, "%s/scratch", dir);
	TU_CHECK(mkdir(scratch, 0777) == 0, "mkdir %s", scratch);
	masters[0] = masters[1] = master;
	fl_open(f, bin, dir, 2, masters, NULL, rows, seed);
	write_both(f, rows);
	fl_settle(f);
	for (int i = 0; i < 2; i++) {
		char *av[] = {(char *)f->bin, "sync", f->s[i].path, NULL};
		sp_result r;
		write_both(f, rows);
		fl_sync_ok(f, 1 - i);
		sp_run_pty(av, -1, &r);
		TU_CHECK(r.status == 0, "calibration sync exited %d", r.status);
		learn_run(&r);
	}
	fl_settle(f);
	fl_check(f, "setup");
	TU_CHECK(win_seen[W_LOCK] && win_seen[W_PUSH] && win_seen[W_PULL] &&
			 win_seen[W_DONE],
		 "no progress lines from hubsync sync on a terminal");
}

/* Every PC's sync_log holds successes only (a killed sync writes no row;
 * the sync after it must succeed). */
static void office_close(fleet *f)
{
	for (int k = 0; k < 2; k++) {
		char *last = NULL;
		int64_t bad = fl_failed_syncs(f, k, &last);
		TU_CHECK(bad == 0, "%s has %" PRId64 " sync_log rows that are not"
			 " success; last: %s", f->s[k].name, bad, last);
		free(last);
	}
	fl_close(f);
	tu_cleanup();
}

int main(int argc, char **argv)
{
	const char *soak_env = getenv("HS_SOAK");
	int soak = soak_env && *soak_env;
	long seed = env_long("HS_SEED", 1);
	int trials = (int)env_long("HS_CRASH_TRIALS", soak ? 1000 : 200);
	int rows = (int)env_long("HS_CRASH_ROWS", 1000);
	/* The audit log grows with every trial: a fresh office every
	 * EPOCH trials keeps the files (and their checks) small. */
	const int epoch = 25;
	char scratch[700];
	fleet f;
	totals tt;
	int64_t t0 = sp_now_us();
	int64_t rows_written = 0, commits = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH_OF_HUBSYNC\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&tt, 0, sizeof tt);
	rng = (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15) + 7;
	printf("crash: seed %ld, %d trials, %d rows written per PC per trial,"
	       " a fresh office every %d trials\n", seed, trials, rows, epoch);

	for (int t = 0; t < trials; t++) {
		if (t % epoch == 0) {
			if (t)
				office_close(&f);
			tu_set_context("setup of trial %d (seed %ld)", t, seed);
			office_open(&f, argv[1], rows, (uint64_t)seed + (uint64_t)t,
				    scratch, sizeof scratch);
			if (t == 0)
				printf("crash: an unkilled sync (push %d, pull %d rows)"
				       " takes %.0f ms: lock at %.1f, push %.1f, pull"
				       " %.1f, done %.1f ms\n", rows, rows,
				       win[W_END] / 1000, win[W_LOCK] / 1000,
				       win[W_PUSH] / 1000, win[W_PULL] / 1000,
				       win[W_DONE] / 1000);
		}
		trial(&f, t, rows, scratch, &tt);
		if (t % epoch == epoch - 1 || t == trials - 1)
			for (int k = 0; k < 2; k++) {
				rows_written += f.s[k].w.rows;
				commits += f.s[k].w.commits;
			}
		if ((t + 1) % 50 == 0)
			printf("crash: %d trials done (%.0f s)\n", t + 1,
			       (double)(sp_now_us() - t0) / 1e6);
	}
	office_close(&f);

	printf("crash: %d trials in %.0f s, %d of them killed through the API"
	       " at a progress report\n", tt.trials,
	       (double)(sp_now_us() - t0) / 1e6, tt.api_kills);
	printf("crash: kills by phase:");
	for (int p = 0; p < PH_N; p++)
		printf(" %s %d%s", phase_name[p], tt.by_phase[p],
		       p + 1 < PH_N ? "," : "\n");
	printf("crash: stale locks left by the killed process: %d, all broken"
	       " at once (next sync max %.2f s, mean %.2f s)\n", tt.locks_left,
	       (double)tt.recovery_max_us / 1e6,
	       (double)tt.recovery_sum_us / 1e6 / (double)tt.recoveries);
	printf("crash: hot journals rolled back: master %d, replica %d;"
	       " integrity_check ok every time\n", tt.hot_master, tt.hot_local);
	printf("crash: nothing lost: %" PRId64 " row writes in %" PRId64
	       " app transactions, all present on both PCs and the master"
	       " after every trial\n", rows_written, commits);
	for (int p = PH_START; p <= PH_WATERMARK; p++)
		TU_CHECK(tt.by_phase[p] > 0, "no kill landed in phase %s: make"
			 " the syncs bigger or the trials more", phase_name[p]);
	return 0;
}
