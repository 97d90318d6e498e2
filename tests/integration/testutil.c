/*
 * testutil.c - helpers of the integration tests (see testutil.h).
 *
 * The skewed clock: SQLite asks the connection's VFS for the time
 * (xCurrentTimeInt64) whenever SQL evaluates julianday('now'),
 * CURRENT_TIMESTAMP or strftime('%s','now'). Each site registers its own
 * VFS that forwards every file operation to the default VFS and answers the
 * time with the virtual clock plus the site's skew. The app connection of a
 * site is opened on that VFS, so the capture triggers hubsync installed see
 * exactly the wall clock the hubsync handle of that site sees.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"

#ifndef _WIN32
#include <libpq-fe.h>
#endif

int64_t tu_now_ms = INT64_C(1736935200000); /* 2025-01-15T10:00:00Z */

static char tu_context[512];
static char *tu_dirs[64];
static int tu_ndirs;

void tu_set_context(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tu_context, sizeof(tu_context), fmt, ap);
	va_end(ap);
}

void tu_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (tu_context[0])
		fprintf(stderr, "  context: %s\n", tu_context);
	for (int i = 0; i < tu_ndirs; i++)
		fprintf(stderr, "  files kept in %s\n", tu_dirs[i]);
	fflush(stderr);
	/* _exit: open handles would only add leak-report noise here. */
	_exit(1);
}

/* ---- files ---------------------------------------------------------- */

const char *tu_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/hs-%s-XXXXXX",
		 base && *base ? base : "/tmp", tag);
	TU_CHECK(hs_os_make_temp_folder(tmpl) != NULL, "mkdtemp %s: %s", tmpl,
		 strerror(errno));
	TU_CHECK(tu_ndirs < (int)(sizeof(tu_dirs) / sizeof(tu_dirs[0])),
		 "too many temp dirs");
	tu_dirs[tu_ndirs] = strdup(tmpl);
	TU_CHECK(tu_dirs[tu_ndirs] != NULL, "out of memory");
	return tu_dirs[tu_ndirs++];
}

void tu_cleanup(void)
{
	int keep = getenv("HS_KEEP_TMP") != NULL;
	for (int i = 0; i < tu_ndirs; i++) {
		if (keep)
			printf("kept %s\n", tu_dirs[i]);
		else
			tu_rmtree(tu_dirs[i]);
		free(tu_dirs[i]);
	}
	tu_ndirs = 0;
}

void tu_rmtree(const char *path)
{
	hs_os_remove_tree(path);
}

void tu_copy_file(const char *from, const char *to)
{
	FILE *in = hs_os_fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;
	TU_CHECK(in != NULL, "open %s: %s", from, strerror(errno));
	out = hs_os_fopen(to, "wb");
	TU_CHECK(out != NULL, "create %s: %s", to, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		TU_CHECK(fwrite(buf, 1, n, out) == n, "write %s", to);
	fclose(in);
	TU_CHECK(fclose(out) == 0, "close %s", to);
}

int tu_file_exists(const char *path)
{
	return hs_os_exists(path) == 0;
}

/* ---- the skewed VFS ------------------------------------------------- */

typedef struct skew_vfs {
	sqlite3_vfs base;
	sqlite3_vfs *real;
	const int64_t *offset_ms;
} skew_vfs;

#define REAL(v) (((skew_vfs *)(v))->real)
#define JULIAN_EPOCH_MS INT64_C(210866760000000) /* 1970-01-01 in JD ms */

static int skew_open(sqlite3_vfs *v, const char *name, sqlite3_file *f,
		     int flags, int *out_flags)
{
	return REAL(v)->xOpen(REAL(v), name, f, flags, out_flags);
}
static int skew_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	return REAL(v)->xDelete(REAL(v), name, sync_dir);
}
static int skew_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return REAL(v)->xAccess(REAL(v), name, flags, out);
}
static int skew_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return REAL(v)->xFullPathname(REAL(v), name, n, out);
}
static void *skew_dlopen(sqlite3_vfs *v, const char *name)
{
	return REAL(v)->xDlOpen(REAL(v), name);
}
static void skew_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	REAL(v)->xDlError(REAL(v), n, msg);
}
static void (*skew_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	return REAL(v)->xDlSym(REAL(v), h, sym);
}
static void skew_dlclose(sqlite3_vfs *v, void *h)
{
	REAL(v)->xDlClose(REAL(v), h);
}
static int skew_random(sqlite3_vfs *v, int n, char *out)
{
	return REAL(v)->xRandomness(REAL(v), n, out);
}
static int skew_sleep(sqlite3_vfs *v, int us)
{
	return REAL(v)->xSleep(REAL(v), us);
}
static int skew_lasterror(sqlite3_vfs *v, int n, char *out)
{
	return REAL(v)->xGetLastError(REAL(v), n, out);
}
static int skew_time64(sqlite3_vfs *v, sqlite3_int64 *now)
{
	*now = tu_now_ms + *((skew_vfs *)v)->offset_ms + JULIAN_EPOCH_MS;
	return SQLITE_OK;
}
static int skew_time(sqlite3_vfs *v, double *now)
{
	sqlite3_int64 ms;
	skew_time64(v, &ms);
	*now = (double)ms / 86400000.0;
	return SQLITE_OK;
}

static void skew_register(tu_site *s)
{
	skew_vfs *v = calloc(1, sizeof(*v));
	TU_CHECK(v != NULL, "out of memory");
	v->real = sqlite3_vfs_find(NULL);
	TU_CHECK(v->real != NULL, "no default VFS");
	v->offset_ms = &s->offset_ms;
	v->base.iVersion = 2;
	v->base.szOsFile = v->real->szOsFile;
	v->base.mxPathname = v->real->mxPathname;
	v->base.zName = s->vfs;
	v->base.xOpen = skew_open;
	v->base.xDelete = skew_delete;
	v->base.xAccess = skew_access;
	v->base.xFullPathname = skew_fullpath;
	v->base.xDlOpen = skew_dlopen;
	v->base.xDlError = skew_dlerror;
	v->base.xDlSym = skew_dlsym;
	v->base.xDlClose = skew_dlclose;
	v->base.xRandomness = skew_random;
	v->base.xSleep = skew_sleep;
	v->base.xCurrentTime = skew_time;
	v->base.xGetLastError = skew_lasterror;
	v->base.xCurrentTimeInt64 = skew_time64;
	TU_CHECK(sqlite3_vfs_register(&v->base, 0) == SQLITE_OK,
		 "register VFS %s", s->vfs);
}

static void skew_unregister(tu_site *s)
{
	sqlite3_vfs *v = sqlite3_vfs_find(s->vfs);
	if (!v)
		return;
	sqlite3_vfs_unregister(v);
	free(v);
}

/* ---- sites ---------------------------------------------------------- */

static int64_t site_clock(void *ctx)
{
	const tu_site *s = ctx;
	return tu_now_ms + s->offset_ms;
}

static void site_app_open(tu_site *s)
{
	static int serial;
	snprintf(s->vfs, sizeof(s->vfs), "tu_skew_%d", ++serial);
	skew_register(s);
	int rc = sqlite3_open_v2(s->path, &s->app,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 s->vfs);
	TU_CHECK(rc == SQLITE_OK, "open %s: %s", s->path,
		 s->app ? sqlite3_errmsg(s->app) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(s->app, 10000);
}

void tu_site_open(tu_site *s, const char *dir, const char *name,
		  int64_t offset_ms)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->path, sizeof(s->path), "%s/%s.db", dir, name);
	s->offset_ms = offset_ms;
	site_app_open(s);
}

void tu_site_hs_open(tu_site *s)
{
	hs_open_options o = HS_OPEN_OPTIONS_INIT;
	o.clock = site_clock;
	o.clock_ctx = s;
	int rc = hs_replica_open(&s->hs, s->path, &o);
	TU_CHECK(rc == 0, "hs_replica_open %s: %d %s", s->path, rc,
		 s->hs ? hs_replica_errmsg(s->hs) : "(no handle)");
}

/* ---- the kind of master (HS_TEST_MASTER) ------------------------------- */

/* The hubsync serve processes this process started for one office: the
 * store (a folder, or with HS_TEST_PG a new PostgreSQL database), the
 * master in it (what tests open to inspect: the folder's master file, or
 * the database's address), each process's address and the users' tokens.
 * A folder store has one process; a PostgreSQL store HS_TEST_SERVES
 * (default 2) on the one database, the PCs split between them by turns
 * (user k reaches process k mod n). */
#define TU_SERVES_MAX 4
typedef struct tu_server {
	char store[600], master[640], url[TU_SERVES_MAX][64];
	long pid[TU_SERVES_MAX];
	int nserves;
	char names[TU_NET_MAX * 2][32], tokens[TU_NET_MAX * 2][40];
	int nusers;
} tu_server;
static tu_server tu_servers[16];
static int tu_nservers;

int tu_server_mode(void)
{
	const char *kind = getenv("HS_TEST_MASTER");
	return kind && strcmp(kind, "server") == 0;
}

#ifndef _WIN32
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* Start serve process i of sv on a free loopback port. */
static void server_start(tu_server *sv, int i)
{
	const char *bin = getenv("HUBSYNC_BIN");
	char portfile[700];
	TU_CHECK(bin && *bin, "HS_TEST_MASTER=server needs HUBSYNC_BIN (the "
		 "hubsync command)");
	snprintf(portfile, sizeof portfile, "%s.port%d",
		 tu_master_is_file(sv->master) ? sv->store : tu_tmpdir("serve"), i);
	unlink(portfile);
	pid_t pid = fork();
	TU_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
		execl(bin, bin, "serve", sv->store, "--listen", "127.0.0.1:0",
		      "--port-file", portfile, "--quiet", (char *)NULL);
		_exit(127);
	}
	sv->pid[i] = pid;
	for (int k = 0; k < 600; k++) { /* up to 60 s on a loaded machine */
		FILE *f = fopen(portfile, "r");
		int port = 0;
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port > 0) {
			snprintf(sv->url[i], sizeof sv->url[i], "http://127.0.0.1:%d",
				 port);
			return;
		}
		TU_CHECK(waitpid(pid, NULL, WNOHANG) == 0, "hubsync serve %s ended "
			 "at start", sv->store);
		hs_os_sleep_ms(100);
	}
	tu_fail("hubsync serve %s did not start", sv->store);
}

static void server_stop(tu_server *sv, int i)
{
	if (sv->pid[i] <= 0)
		return;
	kill((pid_t)sv->pid[i], SIGTERM);
	waitpid((pid_t)sv->pid[i], NULL, 0);
	sv->pid[i] = 0;
}
#else
static void server_start(tu_server *sv, int i)
{
	(void)i;
	tu_fail("HS_TEST_MASTER=server is not supported on Windows (%s)",
		sv->store);
}
static void server_stop(tu_server *sv, int i)
{
	(void)sv;
	(void)i;
}
#endif

static void pg_database_new(char *out, size_t size);

/* The hubsync serve processes for the office in dir; *master: its master
 * (the folder store's master file, or the PostgreSQL database). */
static void server_setup(char *master, size_t n, const char *dir)
{
	const char *pg = getenv("HS_TEST_PG");
	const char *serves = getenv("HS_TEST_SERVES");
	tu_server *sv;
	TU_CHECK(tu_nservers < 16, "too many servers");
	sv = &tu_servers[tu_nservers++];
	memset(sv, 0, sizeof(*sv));
	sv->nserves = 1;
	if (pg && *pg) {
		pg_database_new(sv->store, sizeof sv->store);
		memcpy(sv->master, sv->store, strlen(sv->store) + 1);
		sv->nserves = serves ? atoi(serves) : 2;
		TU_CHECK(sv->nserves >= 1 && sv->nserves <= TU_SERVES_MAX,
			 "HS_TEST_SERVES=%s: 1 to %d", serves, TU_SERVES_MAX);
	} else {
		snprintf(sv->store, sizeof sv->store, "%s/store", dir);
		snprintf(sv->master, sizeof sv->master, "%s/store/master.db", dir);
	}
	for (int i = 0; i < sv->nserves; i++)
		server_start(sv, i);
	TU_CHECK(strlen(sv->master) < n, "path too long: %s", sv->master);
	memcpy(master, sv->master, strlen(sv->master) + 1);
}

/* The server whose master is master, or NULL (a file master). */
static tu_server *server_of(const char *master)
{
	for (int i = 0; master && i < tu_nservers; i++)
		if (strcmp(tu_servers[i].master, master) == 0)
			return &tu_servers[i];
	return NULL;
}

const char *tu_server_url(const char *master)
{
	tu_server *sv = server_of(master);
	return sv ? sv->url[0] : NULL;
}

void tu_server_restart(const char *master)
{
	tu_server *sv = server_of(master);
	for (int i = 0; sv && i < sv->nserves; i++) {
		server_stop(sv, i);
		server_start(sv, i);
	}
}

const char *tu_site_master(const char *master, const char *user,
			   const char **token)
{
	tu_server *sv = server_of(master);
	*token = NULL;
	if (!sv)
		return master;
	for (int i = 0; i < sv->nusers; i++)
		if (strcmp(sv->names[i], user) == 0) {
			*token = sv->tokens[i];
			return sv->url[i % sv->nserves];
		}
	char *t = NULL, *msg = NULL;
	int rc = hs_user_add(sv->store, user, 0, NULL, &t, &msg);
	TU_CHECK(rc == HS_OK && sv->nusers < TU_NET_MAX * 2, "user add %s: %s",
		 user, msg ? msg : "too many users");
	snprintf(sv->names[sv->nusers], sizeof sv->names[0], "%s", user);
	snprintf(sv->tokens[sv->nusers], sizeof sv->tokens[0], "%s", t);
	hs_free(t);
	*token = sv->tokens[sv->nusers];
	return sv->url[sv->nusers++ % sv->nserves];
}

int tu_init_stamp;

void tu_site_init(tu_site *s, const char *master, const char *tables)
{
	hs_init_options o = HS_INIT_OPTIONS_INIT;
	o.master_path = tu_site_master(master, s->name, &o.token);
	o.user = s->name;
	o.tables = tables;
	o.stamp = tu_init_stamp;
	if (!s->hs)
		tu_site_hs_open(s);
	int rc = hs_replica_init(s->hs, &o);
	TU_CHECK(rc == 0, "hs_replica_init %s: %d %s", s->name, rc,
		 hs_replica_errmsg(s->hs));
}

int tu_site_sync_rc(tu_site *s, char **json)
{
	hs_sync_options o = HS_SYNC_OPTIONS_INIT;
	if (json)
		*json = NULL;
	TU_CHECK(s->hs != NULL, "%s: sync without a hubsync handle", s->name);
	return hs_replica_sync(s->hs, &o, json);
}

char *tu_site_sync(tu_site *s, int want_json)
{
	char *json = NULL;
	int rc = tu_site_sync_rc(s, &json);
	TU_CHECK(rc == 0, "sync of %s failed: %d %s (result %s)", s->name, rc,
		 hs_replica_errmsg(s->hs), json ? json : "NULL");
	if (!want_json) {
		hs_free(json);
		return NULL;
	}
	return json;
}

void tu_site_close(tu_site *s)
{
	hs_replica_free(s->hs);
	s->hs = NULL;
	if (s->app)
		TU_CHECK(sqlite3_close(s->app) == SQLITE_OK,
			 "close app connection of %s: %s", s->name,
			 sqlite3_errmsg(s->app));
	s->app = NULL;
	skew_unregister(s);
}

void tu_site_reopen(tu_site *s)
{
	int had_hs = s->hs != NULL;
	tu_site_close(s);
	site_app_open(s);
	if (had_hs)
		tu_site_hs_open(s);
}

/* ---- SQL ------------------------------------------------------------ */

static int exec_v(sqlite3 *db, char **err, const char *fmt, va_list ap)
{
	char *sql = sqlite3_vmprintf(fmt, ap);
	TU_CHECK(sql != NULL, "out of memory");
	int rc = sqlite3_exec(db, sql, NULL, NULL, err);
	sqlite3_free(sql);
	return rc;
}

void tu_exec(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	char *err = NULL;
	va_start(ap, fmt);
	int rc = exec_v(db, &err, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		char *sql;
		va_start(ap, fmt);
		sql = sqlite3_vmprintf(fmt, ap);
		va_end(ap);
		tu_fail("SQL failed (%s): %.300s", err ? err : "?",
			sql ? sql : fmt);
	}
}

int tu_exec_rc(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = exec_v(db, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static sqlite3_stmt *prepare_v(sqlite3 *db, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_vmprintf(fmt, ap);
	TU_CHECK(sql != NULL, "out of memory");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		tu_fail("prepare failed (%s): %.300s", sqlite3_errmsg(db), sql);
	sqlite3_free(sql);
	return st;
}

int64_t tu_int(sqlite3 *db, int64_t dflt, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = prepare_v(db, fmt, ap);
	va_end(ap);
	int rc = sqlite3_step(st);
	int64_t v = dflt;
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		TU_CHECK(rc == SQLITE_DONE, "query failed: %s",
			 sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

char *tu_text(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sqlite3_stmt *st = prepare_v(db, fmt, ap);
	va_end(ap);
	int rc = sqlite3_step(st);
	char *v = NULL;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		v = strdup((const char *)sqlite3_column_text(st, 0));
		TU_CHECK(v != NULL, "out of memory");
	} else if (rc != SQLITE_ROW) {
		TU_CHECK(rc == SQLITE_DONE, "query failed: %s",
			 sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return v;
}

sqlite3 *tu_db_open(const char *path, int readonly)
{
	sqlite3 *db = NULL;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	TU_CHECK(rc == SQLITE_OK, "open %s: %s", path,
		 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* ---- string vectors ------------------------------------------------- */

static void strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	TU_CHECK(nv != NULL, "out of memory");
	*v = nv;
	nv[*n] = strdup(s);
	TU_CHECK(nv[*n] != NULL, "out of memory");
	nv[++*n] = NULL;
}

void tu_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

char **tu_user_tables(sqlite3 *db)
{
	sqlite3_stmt *st;
	char **v = NULL;
	size_t n = 0;
	const char *sql =
		"SELECT name FROM sqlite_master WHERE type='table'"
		" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
		" AND name NOT LIKE 'hubsync\\_%' ESCAPE '\\'"
		" AND name <> 'sync_log' ORDER BY name";
	TU_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
		 "list tables: %s", sqlite3_errmsg(db));
	v = calloc(1, sizeof(char *)); /* NULL-terminated even when empty */
	TU_CHECK(v != NULL, "out of memory");
	while (sqlite3_step(st) == SQLITE_ROW)
		strv_push(&v, &n, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* ---- table comparison ----------------------------------------------- */

static int in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == len && !strncmp(p, name, n))
			return 1;
		p = e ? e + 1 : p + n;
	}
	return 0;
}

/* "SELECT quote(a),quote(b) FROM t ORDER BY pk" for the columns of tbl in
 * db (minus skip); the column names go to *cols (comma list). */
static char *dump_sql(sqlite3 *db, const char *tbl, const char *skip,
		      char **cols)
{
	sqlite3_stmt *st;
	char *sel = sqlite3_mprintf(""), *names = sqlite3_mprintf("");
	char *order[16] = {0};
	int npk = 0;
	char *q = sqlite3_mprintf("PRAGMA table_info(\"%w\")", tbl);
	TU_CHECK(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK,
		 "table_info %s: %s", tbl, sqlite3_errmsg(db));
	sqlite3_free(q);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 1);
		int pk = sqlite3_column_int(st, 5);
		if (pk > 0 && pk <= 16) {
			order[pk - 1] = sqlite3_mprintf("\"%w\"", c);
			if (pk > npk)
				npk = pk;
		}
		if (in_list(skip, c))
			continue;
		char *s2 = sqlite3_mprintf("%s%squote(\"%w\")", sel,
					   *sel ? "," : "", c);
		char *n2 = sqlite3_mprintf("%s%s%s", names, *names ? "," : "",
					   c);
		sqlite3_free(sel);
		sqlite3_free(names);
		sel = s2;
		names = n2;
	}
	sqlite3_finalize(st);
	TU_CHECK(*sel, "table %s has no columns", tbl);
	char *ord = sqlite3_mprintf("");
	for (int i = 0; i < npk; i++) {
		char *o2 = sqlite3_mprintf("%s%s%s", ord, i ? "," : "",
					   order[i] ? order[i] : "1");
		sqlite3_free(ord);
		sqlite3_free(order[i]);
		ord = o2;
	}
	char *sql = sqlite3_mprintf("SELECT %s FROM \"%w\" ORDER BY %s", sel,
				    tbl, npk ? ord : sel);
	sqlite3_free(sel);
	sqlite3_free(ord);
	*cols = names;
	return sql;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "(missing)";
}

static char *describe_row(sqlite3_stmt *st)
{
	char *s = sqlite3_mprintf("");
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++) {
		char *s2 = sqlite3_mprintf("%s%s%.60s", s, i ? "," : "",
					   col_text(st, i));
		sqlite3_free(s);
		s = s2;
	}
	return s;
}

int tu_table_diff(sqlite3 *a, sqlite3 *b, const char *tbl, const char *skip,
		  char **why)
{
	char *cols = NULL;
	char *sql = dump_sql(a, tbl, skip, &cols);
	sqlite3_stmt *sa = NULL, *sb = NULL;
	char *msg = NULL;
	int row = 0;

	*why = NULL;
	TU_CHECK(sqlite3_prepare_v2(a, sql, -1, &sa, NULL) == SQLITE_OK,
		 "dump %s: %s", tbl, sqlite3_errmsg(a));
	if (sqlite3_prepare_v2(b, sql, -1, &sb, NULL) != SQLITE_OK) {
		msg = sqlite3_mprintf("table %s (%s) unreadable on the other "
				      "side: %s", tbl, cols, sqlite3_errmsg(b));
		goto done;
	}
	for (;; row++) {
		int ra = sqlite3_step(sa), rb = sqlite3_step(sb);
		if (ra != SQLITE_ROW && rb != SQLITE_ROW)
			break;
		if (ra != SQLITE_ROW || rb != SQLITE_ROW) {
			char *r = describe_row(ra == SQLITE_ROW ? sa : sb);
			msg = sqlite3_mprintf("table %s: row %d only on side %s:"
					      " (%s) [%s]", tbl, row,
					      ra == SQLITE_ROW ? "A" : "B", cols, r);
			sqlite3_free(r);
			goto done;
		}
		for (int i = 0; i < sqlite3_column_count(sa); i++) {
			if (strcmp(col_text(sa, i), col_text(sb, i)) != 0) {
				char *r = describe_row(sa);
				msg = sqlite3_mprintf(
					"table %s: row %d [%s] column %s: A=%.80s"
					" B=%.80s", tbl, row, r,
					sqlite3_column_name(sa, i),
					col_text(sa, i), col_text(sb, i));
				sqlite3_free(r);
				goto done;
			}
		}
	}
done:
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	sqlite3_free(sql);
	sqlite3_free(cols);
	if (!msg)
		return 0;
	*why = strdup(msg);
	sqlite3_free(msg);
	return 1;
}

int tu_db_diff(sqlite3 *a, sqlite3 *b, const char *skip, char **why)
{
	char **t = tu_user_tables(a);
	int diff = 0;
	*why = NULL;
	for (char **p = t; *p && !diff; p++)
		diff = tu_table_diff(a, b, *p, skip, why);
	tu_strv_free(t);
	return diff;
}

void tu_check_integrity(const char *path)
{
	sqlite3 *db = tu_db_open(path, 1);
	char *r = tu_text(db, "PRAGMA integrity_check");
	TU_CHECK(r && !strcmp(r, "ok"), "integrity_check of %s: %s", path,
		 r ? r : "(no result)");
	free(r);
	sqlite3_close(db);
}

/* ---- JSON ----------------------------------------------------------- */

int64_t tu_stat_count(json_t *res, const char *dir, const char *tbl)
{
	json_t *v = json_object_get(json_object_get(json_object_get(res,
								    "stats"),
						    dir),
				    tbl);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

json_t *tu_json_take(char *text)
{
	json_error_t err;
	TU_CHECK(text != NULL, "hubsync returned no JSON");
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
	TU_CHECK(j != NULL, "invalid JSON from hubsync (%s): %.200s", err.text,
		 text);
	hs_free(text);
	return j;
}

json_t *tu_site_conflicts(tu_site *s, int include_resolved)
{
	char *out = NULL;
	int rc = hs_replica_conflicts_json(s->hs, include_resolved, &out);
	TU_CHECK(rc == 0, "conflicts of %s: %d %s", s->name, rc,
		 hs_replica_errmsg(s->hs));
	json_t *j = tu_json_take(out);
	TU_CHECK(json_is_array(j), "conflicts of %s is not an array",
		 s->name);
	return j;
}

char *tu_last_sync_log(sqlite3 *db)
{
	char *r = tu_text(db, "SELECT status || '|' || coalesce(error_message,"
			      " '') FROM sync_log ORDER BY id DESC LIMIT 1");
	return r ? r : strdup("(no sync_log row)");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Bind a JSON value the way hubsync's json.c maps SQLite values: null,
 * integer, real and string map to themselves; a blob (or TEXT that is not
 * UTF-8, which the test never writes) is {"$blob": "<hex>"}.
 */
static void bind_json(sqlite3_stmt *st, json_t *v)
{
	if (json_is_integer(v)) {
		sqlite3_bind_int64(st, 1, json_integer_value(v));
	} else if (json_is_real(v)) {
		sqlite3_bind_double(st, 1, json_real_value(v));
	} else if (json_is_string(v)) {
		sqlite3_bind_text(st, 1, json_string_value(v),
				  (int)json_string_length(v), SQLITE_TRANSIENT);
	} else if (json_is_object(v)) {
		const char *txt = json_string_value(json_object_get(v, "$blob"));
		TU_CHECK(txt != NULL && strlen(txt) % 2 == 0,
			 "JSON object is not a {\"$blob\": hex} value");
		size_t n = strlen(txt) / 2;
		unsigned char *blob = malloc(n + 1);
		TU_CHECK(blob != NULL, "out of memory");
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(txt[2 * i]), lo = hexval(txt[2 * i + 1]);
			TU_CHECK(hi >= 0 && lo >= 0, "bad hex in $blob value");
			blob[i] = (unsigned char)(hi << 4 | lo);
		}
		sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_TRANSIENT);
		free(blob);
	} else {
		sqlite3_bind_null(st, 1);
	}
}

char *tu_json_to_quote(json_t *v)
{
	static sqlite3 *mem;
	sqlite3_stmt *st;
	if (!mem)
		TU_CHECK(sqlite3_open(":memory:", &mem) == SQLITE_OK,
			 "open :memory:");
	TU_CHECK(sqlite3_prepare_v2(mem, "SELECT quote(?1)", -1, &st, NULL) ==
			 SQLITE_OK, "prepare quote");
	bind_json(st, v);
	TU_CHECK(sqlite3_step(st) == SQLITE_ROW, "quote(?)");
	char *r = strdup((const char *)sqlite3_column_text(st, 0));
	TU_CHECK(r != NULL, "out of memory");
	sqlite3_finalize(st);
	return r;
}

/* ---- scenario runner ------------------------------------------------ */

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

/* Each case runs in a process of its own (a crash or a failed check
 * ends only that case): this binary run again as `BINARY --one NAME`, on
 * Linux and Windows alike (no fork there). */
int tu_run_cases(const tu_case *cases, size_t n, int argc, char **argv)
{
	int failed = 0, ran = 0;
	if (argc == 3 && !strcmp(argv[1], "--one")) {
		for (size_t i = 0; i < n; i++)
			if (!strcmp(cases[i].name, argv[2])) {
				tu_set_context("scenario %s (rerun: %s %s)",
					       cases[i].name, argv[0],
					       cases[i].name);
				cases[i].fn();
				tu_cleanup();
				fflush(stdout);
				return 0;
			}
		fprintf(stderr, "no scenario %s\n", argv[2]);
		return 2;
	}
	char *self = hs_os_self_path();
	TU_CHECK(self != NULL, "cannot find this program's path");
	for (size_t i = 0; i < n; i++) {
		if (!selected(cases[i].name, argc, argv))
			continue;
		int64_t t0 = hs_os_now_ms();
		const char *child[] = {self, "--one", cases[i].name, NULL};
		long pid = hs_os_spawn(child);
		TU_CHECK(pid > 0, "cannot run %s: %s", self, strerror(errno));
		int code = hs_os_wait(pid);
		long ms = (long)(hs_os_now_ms() - t0);
		int ok = code == 0 || code == 77;
		ran++;
		if (!ok)
			failed++;
		if (code == 77)
			printf("%-48s SKIP (needs a file master) %ldms\n",
			       cases[i].name, ms);
		else if (code > 128 && code < 128 + 65)
			printf("%-48s CRASH (signal %d) %ldms\n", cases[i].name,
			       code - 128, ms);
		else
			printf("%-48s %s %ldms\n", cases[i].name,
			       ok ? "ok" : "FAIL", ms);
		fflush(stdout);
	}
	free(self);
	printf("%d of %d scenarios passed\n", ran - failed, ran);
	if (ran == 0) {
		fprintf(stderr, "no scenario matches the names given\n");
		return 2;
	}
	return failed ? 1 : 0;
}

/* ---- a little office ------------------------------------------------- */

static const char *NET_NAMES[TU_NET_MAX] = {"alice", "bob", "carol", "dave",
					    "erin", "frank", "grace", "heidi"};

int tu_master_is_file(const char *master)
{
	return !strstr(master, "://");
}

/* A new empty database on the HS_TEST_PG server: its address. */
static void pg_database_new(char *out, size_t size)
{
#ifdef _WIN32
	(void)out;
	(void)size;
	tu_fail("HS_TEST_PG: no PostgreSQL master in the Windows build");
#else
	const char *pg = getenv("HS_TEST_PG");
	static int made;
	char admin[600], q[160], name[64];
	snprintf(name, sizeof name, "hs_%ld_%d", (long)getpid(), ++made);
	snprintf(admin, sizeof admin, "%s/postgres", pg);
	PGconn *c = PQconnectdb(admin);
	TU_CHECK(PQstatus(c) == CONNECTION_OK, "HS_TEST_PG %s: %s", admin,
		 PQerrorMessage(c));
	snprintf(q, sizeof q, "CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE"
			      " template0", name);
	PGresult *r = PQexec(c, q);
	TU_CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", q,
		 PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	snprintf(out, size, "%s/%s", pg, name);
#endif
}

void tu_master_setup(char *out, size_t size, const char *dir)
{
	const char *pg = getenv("HS_TEST_PG");
	if (tu_server_mode()) {
		server_setup(out, size, dir);
		return;
	}
	if (!pg || !*pg) {
		snprintf(out, size, "%s/master.db", dir);
		return;
	}
	pg_database_new(out, size);
}

void tu_master_require_file(const char *master)
{
	if (tu_master_is_file(master))
		return;
	printf("skipped: this case reads or breaks the master file itself\n");
	fflush(stdout);
	_exit(77);
}

sqlite3 *tu_master_view(const char *master, tu_site *s)
{
	return tu_master_is_file(master) ? tu_db_open(master, 1) : s->app;
}

void tu_master_view_done(const char *master, sqlite3 *m)
{
	if (tu_master_is_file(master))
		sqlite3_close(m);
}

int64_t tu_master_int(const char *master, const char *file_sql,
		      const char *pg_sql)
{
	int64_t v = 0;
	if (tu_master_is_file(master)) {
		sqlite3 *m = tu_db_open(master, 0);
		sqlite3_stmt *st;
		TU_CHECK(sqlite3_prepare_v2(m, file_sql, -1, &st, NULL) == SQLITE_OK,
			 "%s: %s", file_sql, sqlite3_errmsg(m));
		int rc = sqlite3_step(st);
		TU_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", file_sql,
			 sqlite3_errmsg(m));
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(m);
		return v;
	}
#ifdef _WIN32
	(void)pg_sql;
	tu_fail("no PostgreSQL master in the Windows build");
#else
	PGconn *c = PQconnectdb(master);
	TU_CHECK(PQstatus(c) == CONNECTION_OK, "%s: %s", master,
		 PQerrorMessage(c));
	PGresult *r = PQexec(c, pg_sql);
	ExecStatusType st = PQresultStatus(r);
	TU_CHECK(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s",
		 pg_sql, PQerrorMessage(c));
	if (st == PGRES_TUPLES_OK && PQntuples(r) && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
#endif
	return v;
}

void tu_check_master_rows(const char *master, tu_site *s, int n,
			  const char *skip)
{
	int file = tu_master_is_file(master);
	sqlite3 *m = file ? tu_db_open(master, 1) : s[0].app;
	for (int i = file ? 0 : 1; i < n; i++) {
		char *why = NULL;
		if (tu_db_diff(s[i].app, m, skip, &why))
			tu_fail("%s differs from %s: %s", s[i].name,
				file ? "the master" : s[0].name, why);
	}
	for (int i = 0; i < n; i++)
		tu_check_integrity(s[i].path);
	if (file) {
		sqlite3_close(m);
		tu_check_integrity(master);
	}
}

void tu_net_open(tu_net *N, int n, const char *tag, const char *schema,
		 const char *seed)
{
	TU_CHECK(n > 0 && n <= TU_NET_MAX, "tu_net_open: %d PCs", n);
	memset(N, 0, sizeof(*N));
	N->dir = tu_tmpdir(tag);
	N->n = n;
	tu_master_setup(N->master, sizeof(N->master), N->dir);
	for (int i = 0; i < n; i++) {
		tu_site_open(&N->s[i], N->dir, NET_NAMES[i], 0);
		if (schema)
			tu_exec(N->s[i].app, "%s", schema);
		if (seed)
			tu_exec(N->s[i].app, "%s", seed);
	}
}

void tu_net_init(tu_net *N, const char *tables)
{
	for (int i = 0; i < N->n; i++) {
		tu_now_ms += 10;
		tu_site_init(&N->s[i], N->master, tables);
	}
}

void tu_net_sync_all(tu_net *N, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < N->n; i++) {
			tu_now_ms += 100;
			tu_site_sync(&N->s[i], 0);
		}
}

void tu_net_check_converged(tu_net *N, const char *skip)
{
	tu_check_master_rows(N->master, N->s, N->n, skip);
}

void tu_net_close(tu_net *N)
{
	for (int i = 0; i < N->n; i++)
		tu_site_close(&N->s[i]);
}

char *tu_cell(sqlite3 *db, const char *tbl, const char *col,
	      const char *where)
{
	char *v = tu_text(db, "SELECT quote(\"%w\") FROM \"%w\" WHERE %s", col,
			  tbl, where);
	return v ? v : strdup("(absent)");
}
