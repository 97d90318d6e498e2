/*
 * bench.h - shared pieces of hs_bench, the hubsync benchmark.
 *
 * hs_bench measures each hubsync cost against plain SQLite doing the same
 * work in the same run, and prints one table of ratios at the end. It plays
 * the app: every app write goes through plain sqlite3 prepared statements on
 * its own connection; hubsync is used only through include/hubsync.h.
 *
 * Modules:
 *   main.c         options, the order of the cases, exit status
 *   machine.c      the machine description printed at the top
 *   report.c       the result table (rows, targets, verdicts)
 *   workload.c     the test table, its rows, plain SQLite writes, files
 *   case_blackbox.c the sqlite3 shell and the hubsync command as processes
 *   case_stream.c   first push / pull through a file and a server master
 *   case_writes.c  tracked vs untracked inserts and updates, pending size
 *   case_pull.c    first push and first pull of N rows, replica size
 *   case_incr.c    a 10-row sync on growing databases
 *   case_users.c   5 users x 1,000 edits each
 *   case_realtime.c propagation latency, 20 PCs' daemons on a sync server
 *
 * Every function that can fail returns 0 or -1 and has already printed one
 * line to stderr saying what failed; a case that fails adds no row and the
 * bench exits 1 (a missed target is not a failure: no timed assertions).
 */
#ifndef HS_BENCH_H
#define HS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* ---- options (main.c) ---- */

typedef struct bench_opts {
	int quick;            /* small sizes: the ctest smoke run */
	const char *dir;      /* scratch folder (made and removed by main) */
	int64_t write_rows;   /* rows inserted/updated by the writes case */
	int64_t write_batch;  /* rows per transaction there */
	int repeat;           /* repetitions of the writes case (median) */
	int64_t pull_rows;    /* rows of the first push / pull case */
	int64_t incr_sizes[4]; /* table sizes of the incremental case */
	int n_incr_sizes;
	int incr_changed;     /* rows changed before each incremental sync */
	int incr_rounds;      /* rounds per size (median) */
	int64_t users_base;   /* rows every user starts with */
	int users;            /* number of users */
	int users_edits;      /* edits per user */
	int keep;             /* keep the databases (--keep) */
	int big;              /* black box also at 1M rows (--big) */
	const char *share;    /* a folder on a mounted share: the stream case
				 also puts a file master there (--share) */
	int rt_pcs;           /* PCs (daemons) of the real-time case */
	int rt_rows;          /* rows committed there, one at a time */
} bench_opts;

/* ---- time and files (workload.c) ---- */

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);
/* Median of n values (sorts v in place); 0 when n is 0. */
double bench_median(double *v, int n);
/* path = dir/name (dir/name/sub when sub is non-NULL), made if missing when
 * it is a folder. Returns 0 or -1 (too long / mkdir failed). */
int bench_path(char *out, size_t cap, const char *dir, const char *name,
	       const char *sub);
int bench_mkdir(const char *path);
/* Bytes of a database: main file plus -wal and -journal if present. */
int64_t bench_db_bytes(const char *path);
/* Remove a folder tree (best effort). */
void bench_rmtree(const char *path);
/* Remove the case folder dir/sub unless the user asked to keep it. */
void bench_case_done(const bench_opts *o, const char *sub);

/* ---- the test table (workload.c) ---- */

/*
 * The app's table: items(pk, name, category, vendor, price, qty, notes),
 * a primary key plus 6 columns, about 110 bytes a row (like a row of the
 * component catalog). Row i at version v has deterministic contents; the
 * key of row i is 'item-%09d' (TEXT) or i + 1 (INTEGER).
 */
typedef enum wl_pk { WL_PK_TEXT = 0, WL_PK_INTEGER = 1 } wl_pk;

#define WL_TABLE "items"
#define WL_COLUMNS 6

typedef enum wl_op {
	WL_INSERT = 0, /* INSERT a new row */
	WL_UPDATE = 1, /* UPDATE one column (col) of an existing row */
	WL_UPSERT = 2, /* INSERT ... ON CONFLICT(pk) DO UPDATE all columns */
	WL_DELETE = 3  /* DELETE the row */
} wl_op;

/* Open (creating) a database file with a 10 s busy timeout. */
int wl_open(sqlite3 **out, const char *path);
/* Run SQL that returns no rows; prints the error with what. */
int wl_exec(sqlite3 *db, const char *sql, const char *what);
/* Integer result of a one-value query; -1 on error (printed). */
int64_t wl_query_int(sqlite3 *db, const char *sql);
/* Create the items table. */
int wl_create(sqlite3 *db, wl_pk pk);
/* Create path (removed first) with the items table and rows 0..count-1 at
 * version 0, inserted in transactions of batch rows. */
int wl_make_db(const char *path, wl_pk pk, int64_t count, int64_t batch);
/*
 * Apply op to rows rows[0..n-1] in transactions of batch rows (batch <= 0:
 * one transaction), with plain prepared statements as an app would. version
 * picks the new values; col (0..5) is the column WL_UPDATE sets.
 */
int wl_write(sqlite3 *db, wl_pk pk, wl_op op, const int64_t *rows,
	     int64_t n, int64_t batch, int version, int col);
/* rows = first, first+1, ... (malloc'd; NULL on oom, printed). */
int64_t *wl_range(int64_t first, int64_t n);
/* The largest tables and indexes of the database at path, from SQLite's
 * dbstat table, and the free pages ("items 16.1 MB, ...; free pages 4.0
 * MB"); "" when dbstat is not compiled in. */
void wl_size_top(const char *path, char *out, size_t cap);
/* Row count and a FNV-1a hash over all rows in key order. */
int wl_digest(sqlite3 *db, int64_t *count, uint64_t *hash);
/* The journal mode of db ("delete", "wal", ...), and setting it: a plain
 * database is run under the mode hubsync left on the replica it is compared
 * with, so that only the capture differs. */
int wl_journal_get(sqlite3 *db, char *mode, size_t cap);
int wl_journal_set(sqlite3 *db, const char *mode);

/* A small deterministic PRNG (splitmix64). */
uint64_t wl_rand(uint64_t *state);

/* ---- hubsync helpers (workload.c) ---- */

struct hs_replica;

/* When each sync phase began (ms, bench_now_ms clock), from the progress
 * callback: start of the call, "lock" (opening the master), "push" (local
 * changes read, merge begins), "pull" (merge done, reading the master),
 * the first per-table "pull" (rows applied locally), "done", end. A phase
 * not reported stays 0. */
typedef struct bench_phases {
	double start, lock, push, pull, applied, done, end;
} bench_phases;

/* "prepare 0, lock + read log 120, merge 4100, ... ms" (-1: phase not
 * reported by the library). */
void bench_phases_text(const bench_phases *p, char *out, size_t cap);

/* Open path and hs_replica_init it on master as user; *out on success. */
int bench_replica_init(struct hs_replica **out, const char *path,
		       const char *master, const char *user);
/* hs_replica_sync; rows pushed / pulled and conflicts from the result
 * (each may be NULL); *ms receives the time of the call, *ph (may be NULL)
 * its phases. */
int bench_replica_sync(struct hs_replica *r, double *ms, int64_t *pushed,
		       int64_t *pulled, int64_t *conflicts,
		       bench_phases *ph);

/* ---- the machine (machine.c) ---- */

/* Print the machine description; dir is the scratch folder (its file
 * system type is shown: fsync costs depend on it). */
void machine_print(const char *dir);
/* The load average, "0.12 0.30 0.25 (1, 5, 15 min)". */
void machine_load(char *out, size_t cap);

/* ---- the result table (report.c) ---- */

typedef enum report_unit { REPORT_MS, REPORT_RATE, REPORT_MB } report_unit;

/* A bound on a value: none, at most (<=) or at least (>=). */
typedef enum report_cmp { CMP_NONE = 0, CMP_MAX = 1, CMP_MIN = 2 } report_cmp;

typedef struct report_row {
	char what[160];     /* what was measured (or a section title) */
	report_unit unit;   /* of plain and hs */
	double plain, hs;   /* plain SQLite, hubsync (plain < 0: none) */
	report_cmp ratio_cmp; double ratio_lim; /* bound on hs / plain */
	report_cmp abs_cmp; double abs_lim;     /* bound on hs */
	char note[96];
} report_row;

/* Start a row: what is printf-formatted. Returns the row to fill (never
 * NULL: the table is fixed-size and the bench has a fixed number of rows). */
report_row *report_add(report_unit unit, double plain, double hs,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void report_section(const char *title);
/* A line printed under the table (a size breakdown, a phase breakdown). */
void report_footnote(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void report_print(void);
/* Number of rows with a target that was missed. */
int report_misses(void);
/* Record a wrong outcome (rows lost, replicas not converged): printed after
 * the table, and the bench exits 1. These are correctness checks, not
 * timings. Also prints the message to stderr at once. */
void report_problem(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
int report_problems(void);

/* ---- the cases ---- */

int case_blackbox(const bench_opts *o);
int case_writes(const bench_opts *o);
int case_pull(const bench_opts *o);
int case_incr(const bench_opts *o);
int case_users(const bench_opts *o);
int case_realtime(const bench_opts *o);

/* The hubsync command the bench runs (case_blackbox.c: next to hs_bench,
 * or $HS_BENCH_HUBSYNC); NULL with the reason printed. */
const char *bench_hubsync_path(void);
int case_stream(const bench_opts *o);

#endif
