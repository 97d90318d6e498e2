/*
 * testutil.h - shared helpers of the integration tests (test_converge.c,
 * test_scenarios.c).
 *
 * The tests play the app: each replica has an app connection (plain SQL
 * through libsqlite3, as the app would write) and a hubsync handle (the
 * public API only). Time is virtual: tu_now_ms is the "true" time, each site
 * adds its own skew, and both the hubsync clock (hs_open_options.clock) and
 * the app's SQL clock (julianday('now') in the capture triggers, through a
 * wrapping VFS) read the same skewed virtual time. That makes a run depend on
 * its seed only, so a failing seed replays.
 *
 * Failure handling: every tu_* helper that can fail calls tu_fail (prints
 * "FAIL file:line: message [context]" and exits 1). A test never continues
 * past a broken precondition.
 */
#ifndef HS_TESTUTIL_H
#define HS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "hubsync.h"

/* The true virtual time in ms since 1970; starts at 2025-01-15T10:00:00Z. */
extern int64_t tu_now_ms;

/* Report a failure and exit(1). The context line (tu_set_context) is
 * printed too, so a failure always says which seed/scenario it was. */
void tu_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define tu_fail(...) tu_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define TU_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond))                                                  \
			tu_fail_at(__FILE__, __LINE__, __VA_ARGS__);          \
	} while (0)

/* Set the line printed with every failure (e.g. "seed=42, replay: ..."). */
void tu_set_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fresh directory under $TMPDIR (or /tmp). It is removed by tu_cleanup()
 * unless HS_KEEP_TMP is set; on failure it is kept and its path printed. */
const char *tu_tmpdir(const char *tag);
/* Remove every directory made by tu_tmpdir (call at the end of a test). */
void tu_cleanup(void);
/* Remove a file or a directory tree. */
void tu_rmtree(const char *path);
/* Copy a file; fails the test on error. */
void tu_copy_file(const char *from, const char *to);
int tu_file_exists(const char *path);

/*
 * One user's replica: the app connection and the hubsync handle, both on
 * path, both reading the virtual clock plus offset_ms.
 */
typedef struct tu_site {
	char name[32];     /* user name, also used in messages */
	char path[512];    /* the replica file */
	int64_t offset_ms; /* wall clock skew of this PC */
	char vfs[40];      /* name of this site's skewed VFS */
	sqlite3 *app;      /* the app's own connection */
	hs_replica *hs;    /* NULL until tu_site_hs_open */
} tu_site;

/* Open (creating) dir/name.db with the app connection. No hubsync yet. */
void tu_site_open(tu_site *s, const char *dir, const char *name,
		  int64_t offset_ms);
/* Open the hubsync handle on the site (the file must exist). */
void tu_site_hs_open(tu_site *s);
/* hs_replica_init with master and tables (NULL: all); user = site name;
 * with init --stamp when tu_init_stamp is set (0 by default). */
extern int tu_init_stamp;
void tu_site_init(tu_site *s, const char *master, const char *tables);
/* hs_replica_sync, requiring success. Returns the result JSON (caller
 * frees with hs_free) when want_json, else NULL. */
char *tu_site_sync(tu_site *s, int want_json);
/* hs_replica_sync, returning its code; *json (may be NULL) gets the result. */
int tu_site_sync_rc(tu_site *s, char **json);
/* Close both connections (handles are NULL afterwards). */
void tu_site_close(tu_site *s);
/* Close then reopen both connections (same skew). */
void tu_site_reopen(tu_site *s);

/*
 * The master of a test: dir/master.db, or, with HS_TEST_MASTER=server, a
 * real `hubsync serve` (the command named by HUBSYNC_BIN) started per
 * office with its store in dir/store (the master: dir/store/master.db, a
 * file the tests may read; tu_site_init given it inits the site with the
 * server's address and the token of a user named as the site), or, when
 * HS_TEST_PG is set (a
 * postgresql:// address of a server without the database name, e.g.
 * postgresql://nobody@%2Ftmp%2Fcluster; tests/integration/pg_run.sh
 * starts a private cluster and sets it), a new empty database on that
 * server: the same tests then run against the PostgreSQL master. Both
 * set: the server's store is that new database, served by HS_TEST_SERVES
 * (default 2) serve processes at once, the PCs split between them.
 */
void tu_master_setup(char *out, size_t size, const char *dir);
/* 1 if master is a file (not a postgresql:// address). */
int tu_master_is_file(const char *master);
/* A case that reads or breaks the master file itself: skipped (exit 77,
 * the runner prints SKIP) when the master is not a file. */
void tu_master_require_file(const char *master);
/* The master's rows to read: a file master opened read-only, another
 * kind through the replica of site s (only meaningful once s has synced
 * everything: after a convergence check). Close with tu_master_view_done. */
sqlite3 *tu_master_view(const char *master, tu_site *s);
void tu_master_view_done(const char *master, sqlite3 *m);
/* Every site of s[0..n-1] holds exactly the master's rows (columns in
 * skip left out), integrity ok everywhere. A file master is read
 * directly; another kind through the replicas, which must all agree. */
void tu_check_master_rows(const char *master, tu_site *s, int n,
			  const char *skip);
/* Run sql (file_sql on a file master, pg_sql on a PostgreSQL one) on the
 * master itself: the integer in the first cell of its result (0 when
 * none). For checks of the master's own tables, and cases that break
 * them. */
int64_t tu_master_int(const char *master, const char *file_sql,
		      const char *pg_sql);
int tu_server_mode(void);
/* The address of the server of master, or NULL (not a server's). */
const char *tu_server_url(const char *master);
/* The address (and *token) user inits with for master: master itself
 * (token NULL), or a server's address and a token of a user named user
 * (added once) for a server's master file. */
const char *tu_site_master(const char *master, const char *user,
			   const char **token);
/* Stop and start again the server of master (no-op otherwise). */
void tu_server_restart(const char *master);

/*
 * A little office: a master file and n PCs (alice, bob, carol, dave,
 * erin, frank, grace, heidi) in a temp dir, each with the app's schema
 * (and seed rows, may be NULL) written by its app connection.
 */
#define TU_NET_MAX 8
typedef struct tu_net {
	const char *dir;
	char master[600];
	tu_site s[TU_NET_MAX];
	int n;
} tu_net;
void tu_net_open(tu_net *N, int n, const char *tag, const char *schema,
		 const char *seed);
/* hs_replica_init every PC (tables: NULL for all). */
void tu_net_init(tu_net *N, const char *tables);
/* Everyone syncs, in index order, rounds times (requiring success). */
void tu_net_sync_all(tu_net *N, int rounds);
/* Every PC holds exactly the master's rows (columns in skip left out)
 * in every table the PC has; integrity ok everywhere. */
void tu_net_check_converged(tu_net *N, const char *skip);
void tu_net_close(tu_net *N);
/* quote() of one cell, malloc'd; "(absent)" when there is no row. */
char *tu_cell(sqlite3 *db, const char *tbl, const char *col,
	      const char *where);
#define TU_CHECK_CELL(db, tbl, col, where, want)                              \
	do {                                                                  \
		char *got_ = tu_cell(db, tbl, col, where);                    \
		TU_CHECK(!strcmp(got_, want), "%s.%s where %s: want %s, got %s", \
			 tbl, col, where, want, got_);                        \
		free(got_);                                                   \
	} while (0)

/* Run printf-formatted SQL (sqlite3_mprintf: %q, %Q, %w) on db; fails the
 * test on error. */
void tu_exec(sqlite3 *db, const char *fmt, ...);
/* Same, returning the SQLite code instead of failing. */
int tu_exec_rc(sqlite3 *db, const char *fmt, ...);
/* One integer from a query (dflt when there is no row). */
int64_t tu_int(sqlite3 *db, int64_t dflt, const char *fmt, ...);
/* One value from a query as malloc'd text (NULL when no row or NULL). */
char *tu_text(sqlite3 *db, const char *fmt, ...);
/* Open a plain connection (default VFS), e.g. on the master. */
sqlite3 *tu_db_open(const char *path, int readonly);

/* The user tables an app sees and hubsync syncs: not sqlite_*, not
 * hubsync_*, not sync_log. Sorted by name; NULL-terminated, free with
 * tu_strv_free. */
char **tu_user_tables(sqlite3 *db);
void tu_strv_free(char **v);

/*
 * Compare table tbl on a and b: same rows, same values, same types (quote()
 * of every column, which is exact for REAL and distinguishes 1, 1.0, '1'
 * and X'31'). Columns named in `skip` (comma list, may be NULL) are left
 * out. Returns 0 when identical; otherwise 1 and a description of the first
 * difference in why (malloc'd, caller frees).
 */
int tu_table_diff(sqlite3 *a, sqlite3 *b, const char *tbl, const char *skip,
		  char **why);
/* Compare every user table of a with b (tables of a); 0 if identical. */
int tu_db_diff(sqlite3 *a, sqlite3 *b, const char *skip, char **why);

/* PRAGMA integrity_check of the file at path must be "ok". */
void tu_check_integrity(const char *path);

/* The quote() literal of a JSON value as hubsync encodes SQLite values in
 * its JSON documents (see tu_json_value_decode in testutil.c); malloc'd. */
char *tu_json_to_quote(json_t *v);

/* Parse a JSON document returned by hubsync (frees text); fails on error. */
json_t *tu_json_take(char *text);

/* A sync result's rows of table tbl in stats.<dir> (dir "pushed" or
 * "pulled"); 0 when it lists none. */
int64_t tu_stat_count(json_t *res, const char *dir, const char *tbl);

/* The conflicts listing of a site (include_resolved), parsed. */
json_t *tu_site_conflicts(tu_site *s, int include_resolved);

/* The newest sync_log row of db as "status|error_message" (malloc'd). */
char *tu_last_sync_log(sqlite3 *db);

/* Fork-isolated scenario runner: runs each case in a child process (a
 * failure or crash in one does not hide the others), prints a summary and
 * returns the exit status for main. argv[1..] select cases by name. */
typedef struct tu_case {
	const char *name;
	void (*fn)(void);
} tu_case;
int tu_run_cases(const tu_case *cases, size_t n, int argc, char **argv);

#endif
