/*
 * replica.c - the hs_replica handle: open, init, metadata, schedule.
 *
 * Replica metadata (besides the tables of docs/INTERNALS.md) lives in
 * hubsync_meta: site (random id of this replica), user, master (path),
 * interval (minutes), clock and clock_seq (the HLC), last_sync (ms).
 */
#include "replica.h"

#include "capture.h"
#include "master.h"
#include "platform.h"
#include "schema.h"
#include "tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_INTERVAL 120

int hs_fail(hs_replica *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
	return code;
}

void hs_warn(hs_replica *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->warn, sizeof r->warn, fmt, ap);
	va_end(ap);
}

const char *hs_replica_warning(const hs_replica *r)
{
	return r ? r->warn : "";
}

int hs_replica_master_present(hs_replica *r)
{
	char *master = NULL, err[sizeof r->err];
	hs_os_stat st;
	int there;
	memcpy(err, r->err, sizeof err); /* asking is not failing */
	if (hs_replica_master(r, &master) != HS_OK)
		there = 0;
	else
		there = hs_os_stat_path(master, &st) == 0;
	memcpy(r->err, err, sizeof err);
	free(master);
	return there;
}

int hs_replica_master(hs_replica *r, char **out)
{
	int rc = hs_replica_check_init(r);
	*out = NULL;
	if (rc != HS_OK)
		return rc;
	rc = hs_meta_read(r->db, "master", out);
	if (rc != SQLITE_OK)
		return hs_fail_sqlite(r, rc, "cannot read the sync setup");
	return *out ? HS_OK : hs_fail(r, HS_ENOTFOUND, "%s names no master: run "
				      "hubsync init", r->path);
}

int hs_replica_err_sqlite(const hs_replica *r, hs_buf *err, int sqlite_rc,
			  const char *what)
{
	int code = hs_error_from_sqlite(sqlite_rc);
	const char *hint = code == HS_EBUSY ? "; the database is busy, try again"
			   : code == HS_EIO ? "; check the disk and permissions"
			   : code == HS_ECORRUPT ? "; restore the file from a backup"
						 : "";
	hs_buf_printf(err, "%s: %s (%s)%s", what, sqlite3_errmsg(r->db), r->path,
		      hint);
	return code == HS_OK ? HS_ERROR : code;
}

int hs_fail_buf(hs_replica *r, int code, const hs_buf *err)
{
	if (code != HS_OK)
		snprintf(r->err, sizeof r->err, "%s",
			 err->oom ? "out of memory" : err->s ? err->s : "");
	return code;
}

int hs_fail_sqlite(hs_replica *r, int sqlite_rc, const char *what)
{
	hs_buf err;
	int code;
	hs_buf_init(&err);
	code = hs_replica_err_sqlite(r, &err, sqlite_rc, what);
	hs_fail_buf(r, code, &err);
	hs_buf_free(&err);
	return code;
}

int64_t hs_now_ms(const hs_replica *r)
{
	return r->clock ? r->clock(r->clock_ctx) : hs_system_ms();
}

const char *hs_version(void) { return HS_VERSION; }

void hs_free(void *p) { free(p); }

const char *hs_replica_errmsg(const hs_replica *r)
{
	return r ? r->err : "out of memory";
}

int hs_replica_open(hs_replica **out, const char *path,
		    const hs_open_options *opts)
{
	hs_replica *r = calloc(1, sizeof(*r));
	hs_os_stat st;
	int rc;
	*out = r;
	if (!r)
		return HS_ERROR;
	r->path = hs_strdup(path);
	if (opts && (opts->version < 1 || opts->version > HS_OPEN_OPTIONS_VERSION))
		return hs_fail(r, HS_EINVALID, "hs_open_options version %d is not "
			       "one this library knows: use HS_OPEN_OPTIONS_INIT",
			       opts->version);
	if (opts) {
		r->clock = opts->clock;
		r->clock_ctx = opts->clock_ctx;
		r->busy_timeout_ms = opts->busy_timeout_ms;
	}
	if (r->busy_timeout_ms <= 0)
		r->busy_timeout_ms = 10000;
	if (hs_os_stat_path(path, &st) != 0 || !st.is_file)
		return hs_fail(r, HS_ENOTFOUND, "no database file at %s: check the "
			       "path", path);
	/* a handle is used by one thread at a time (hubsync.h): no per-call
	 * mutex */
	rc = hs_sqlite_open(path, &r->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
	if (rc != SQLITE_OK)
		return hs_fail_sqlite(r, rc, "cannot open the database");
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, r->busy_timeout_ms);
	rc = hs_exec(r->db, "PRAGMA foreign_keys=OFF");
	if (rc == SQLITE_OK)
		rc = hs_history_functions(r->db);
	if (rc == SQLITE_OK)
		rc = hs_exec(r->db, "SELECT count(*) FROM sqlite_master");
	if (rc != SQLITE_OK)
		return hs_fail_sqlite(r, rc, "cannot read the database");
	return HS_OK;
}

void hs_replica_free(hs_replica *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	free(r->path);
	free(r);
}

int hs_meta_read(sqlite3 *db, const char *key, char **out)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, "SELECT value FROM hubsync_meta WHERE key = ?1");
	*out = NULL;
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    !(*out = hs_strdup((const char *)sqlite3_column_text(st, 0))))
		rc = SQLITE_NOMEM;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	sqlite3_finalize(st);
	return rc;
}

char *hs_meta_get(sqlite3 *db, const char *key)
{
	char *v = NULL;
	if (hs_meta_read(db, key, &v) != SQLITE_OK) {
		free(v);
		return NULL;
	}
	return v;
}

int64_t hs_meta_get_int(sqlite3 *db, const char *key, int64_t dflt)
{
	char *v = hs_meta_get(db, key);
	int64_t n = v ? strtoll(v, NULL, 10) : dflt;
	free(v);
	return n;
}

int hs_meta_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, "INSERT OR REPLACE INTO hubsync_meta(key,"
				     " value) VALUES(?1, ?2)");
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int hs_meta_set_int(sqlite3 *db, const char *key, int64_t value)
{
	char s[32];
	snprintf(s, sizeof s, "%lld", (long long)value);
	return hs_meta_set(db, key, s);
}

int hs_replica_check_init(hs_replica *r)
{
	sqlite3_stmt *st;
	int rc, set_up = 0;
	if (!r->db)
		return hs_fail(r, HS_EINVALID, "%s", r->err[0] ? r->err : "no database");
	/* An unreadable file is not the same as one never set up. */
	rc = hs_prepare(r->db, &st, "SELECT count(*) FROM sqlite_master WHERE"
				    " name = 'hubsync_meta'");
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		set_up = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
		rc = rc == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(r->db);
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_OK && set_up) {
		rc = hs_prepare(r->db, &st, "SELECT count(*) FROM hubsync_meta WHERE"
					    " key = 'site'");
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			set_up = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
			rc = rc == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(r->db);
			sqlite3_finalize(st);
		}
	}
	if (rc != SQLITE_OK)
		return hs_fail_sqlite(r, rc, "cannot read the database");
	if (!set_up)
		return hs_fail(r, HS_EINVALID, "%s is not set up for sync: run "
			       "hubsync init %s --master PATH first", r->path,
			       r->path);
	/* Set up by an older hubsync: add what this one reads (once). */
	if (!hs_table_has_column(r->db, "hubsync_tables", "stamp_at") &&
	    (rc = hs_schema_create_meta(r->db)) != SQLITE_OK)
		return hs_fail_sqlite(r, rc, "cannot update hubsync's tables");
	return HS_OK;
}

/* ---- init ------------------------------------------------------------ */

static char *default_user(void)
{
	return hs_os_user();
}

/* Append a copy of name to the growing array names. SQLite code. */
static int names_add(char ***names, int *n, int *cap, const char *name)
{
	if (*n == *cap) {
		int c = *cap ? *cap * 2 : 8;
		char **nv = realloc(*names, (size_t)c * sizeof(*nv));
		if (!nv)
			return SQLITE_NOMEM;
		*names = nv;
		*cap = c;
	}
	if (!((*names)[*n] = hs_strdup(name)))
		return SQLITE_NOMEM;
	(*n)++;
	return SQLITE_OK;
}

/* Absolute form of path (its folder must exist). malloc'd or NULL. */
static char *absolute_path(const char *path)
{
	if (hs_master_is_address(path))
		return hs_strdup(path);
	return hs_os_path_absolute(path);
}

/* The names of the tables to track: the given list, or every table of
 * the app that can be synced (virtual tables and their parts are not).
 * HS_OK, or an hs_error with err set. */
static int table_names(hs_replica *r, const char *list, char ***names, int *n,
		       hs_buf *err)
{
	sqlite3_stmt *st = NULL;
	int cap = 0, sr = SQLITE_OK;
	char *copy = NULL, *save = NULL;
	*names = NULL;
	*n = 0;
	if (list) {
		if (!(copy = hs_strdup(list)))
			return hs_errf(err, HS_ERROR, "out of memory");
		for (char *tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			if (*tok && (sr = names_add(names, n, &cap, tok)) != SQLITE_OK)
				break;
		}
		free(copy);
		if (sr != SQLITE_OK)
			return hs_errf(err, HS_ERROR, "out of memory");
		return *n ? HS_OK : hs_errf(err, HS_EINVALID, "--tables is empty: "
					    "give table names separated by commas");
	}
	if (hs_prepare(r->db, &st, "SELECT name FROM pragma_table_list WHERE"
				   " schema = 'main' AND type = 'table' AND name NOT"
				   " LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE"
				   " 'hubsync\\_%' ESCAPE '\\' AND name <> 'sync_log'"
				   " ORDER BY name") != SQLITE_OK)
		return hs_replica_err_sqlite(r, err, sqlite3_errcode(r->db),
					     "cannot list tables");
	while ((sr = sqlite3_step(st)) == SQLITE_ROW &&
	       (sr = names_add(names, n, &cap,
			       (const char *)sqlite3_column_text(st, 0))) == SQLITE_OK)
		;
	sqlite3_finalize(st);
	if (sr != SQLITE_DONE)
		return hs_replica_err_sqlite(r, err, sr, "cannot list tables");
	return *n ? HS_OK : hs_errf(err, HS_EINVALID, "%s has no tables to sync: "
				    "create the app's tables first", r->path);
}

/* Refuse tables that cannot be synced, by name, before anything is
 * created: HS_EINVALID with err set. */
static int check_tables(hs_replica *r, char **names, int n, hs_buf *err)
{
	for (int i = 0; i < n; i++) {
		const char *why;
		if (!hs_tracking_can_track(r->db, names[i], &why))
			return hs_errf(err, HS_EINVALID, "table \"%s\" cannot be "
				         "synced: %s; %s", names[i], why,
				         strcmp(why, "no such table") == 0
					         ? "check the name"
					         : "leave it out with --tables");
	}
	return HS_OK;
}

/* Of every table, leave out those the app's triggers fill from other
 * tables (tracking.h), and say so. */
static void leave_derived(hs_replica *r, char **names, int *n)
{
	hs_buf w;
	int k = 0;
	hs_buf_init(&w);
	for (int i = 0; i < *n; i++) {
		char trig[300];
		if (!hs_tracking_fed_by(r->db, names[i], trig, sizeof trig)) {
			names[k++] = names[i];
			continue;
		}
		hs_buf_printf(&w, "%s\"%s\" (trigger %s)", w.len ? ", " : "",
			      names[i], trig);
		free(names[i]);
	}
	*n = k;
	if (w.len)
		hs_warn(r, "tables written by the app's triggers are kept on each "
			"PC, up to date with the synced rows: %s; hubsync track "
			"syncs them instead", w.s);
	hs_buf_free(&w);
}

/* Warn when another PC already syncs with this user name. */
static void warn_shared_user(hs_replica *r, hs_master *m, const char *user,
			     const char *site)
{
	char before[sizeof r->warn];
	snprintf(before, sizeof before, "%s", r->warn);
	if (hs_master_user_elsewhere(m, user, site))
		hs_warn(r, "%s%sanother PC already syncs as \"%s\": conflicts "
			"still tell the two PCs apart, but give each PC its own "
			"name (--user) so that people can", before,
			before[0] ? "; " : "", user);
}

int hs_replica_init(hs_replica *r, const hs_init_options *opts)
{
	hs_master *m = NULL;
	hs_buf err;
	char **names = NULL, *user = NULL, *master = NULL, *old_master = NULL;
	char *site = NULL, *mid = NULL, fresh[33];
	const char *token;
	int n = 0, rc, guard, stamp;

	if (!r->db)
		return HS_EINVALID;
	r->warn[0] = 0;
	if (!opts || opts->version < 1 || opts->version > HS_INIT_OPTIONS_VERSION)
		return hs_fail(r, HS_EINVALID, "hs_init_options version %d is not "
			       "one this library knows: use HS_INIT_OPTIONS_INIT",
			       opts ? opts->version : 0);
	if (!opts->master_path || !*opts->master_path)
		return hs_fail(r, HS_EINVALID, "no master given: pass --master "
			       "PATH (the server.db on the shared folder)");
	stamp = opts->version >= 2 && opts->stamp;
	token = opts->version >= 3 ? opts->token : NULL;
	hs_buf_init(&err);
	master = hs_master_is_url(opts->master_path)
			 ? hs_strdup(opts->master_path)
			 : absolute_path(opts->master_path);
	if (!master) {
		rc = hs_fail(r, HS_EIO, "the folder of the master %s is not there: "
			     "is the share mounted?", opts->master_path);
		goto cleanup;
	}
	user = opts->user && *opts->user ? hs_strdup(opts->user) : default_user();
	rc = hs_exec(r->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot start a transaction");
		goto cleanup;
	}
	if ((rc = hs_schema_create_meta(r->db)) != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot create hubsync tables");
		goto rollback;
	}
	old_master = hs_meta_get(r->db, "master");
	if (old_master && strcmp(old_master, master) != 0) {
		rc = hs_fail(r, HS_EINVALID, "%s already syncs with %s: if the "
			     "master moved, run hubsync relocate %s --master %s",
			     r->path, old_master, r->path, master);
		goto rollback;
	}
	if ((rc = table_names(r, opts->tables, &names, &n, &err)) != HS_OK) {
		hs_fail_buf(r, rc, &err);
		goto rollback;
	}
	if (!opts->tables)
		leave_derived(r, names, &n);
	if ((rc = check_tables(r, names, n, &err)) != HS_OK) {
		hs_fail_buf(r, rc, &err);
		goto rollback;
	}
	rc = hs_master_open(&m, master, token, 1, 30000, &err);
	if (rc != 0) {
		rc = hs_fail(r, rc, "%s", err.s);
		goto rollback;
	}
	if (hs_master_user(m)) { /* a server: the token says who */
		if (opts->user && *opts->user &&
		    strcmp(opts->user, hs_master_user(m)) != 0) {
			rc = hs_fail(r, HS_EINVALID, "the token belongs to user "
				     "\"%s\", not \"%s\": pass that --user (or "
				     "none), or the token of %s", hs_master_user(m),
				     opts->user, opts->user);
			goto rollback;
		}
		free(user);
		user = hs_strdup(hs_master_user(m));
		rc = token ? hs_meta_set(r->db, HS_META_SERVER_TOKEN, token)
			   : SQLITE_OK;
		if (rc != SQLITE_OK || !user) {
			rc = hs_fail_sqlite(r, rc, "cannot save the sync setup");
			goto rollback;
		}
	}
	if (!old_master) {
		if (hs_random_hex(fresh) != 0) {
			rc = hs_fail(r, HS_EIO, "cannot read /dev/urandom");
			goto rollback;
		}
		rc = hs_meta_set(r->db, "site", fresh);
		if (rc == SQLITE_OK)
			rc = hs_meta_set(r->db, "master", master);
		if (rc == SQLITE_OK)
			rc = hs_meta_set_int(r->db, "interval", DEFAULT_INTERVAL);
		if (rc == SQLITE_OK)
			rc = hs_meta_set(r->db, "tables", opts->tables ? "list" : "all");
		if (rc == SQLITE_OK)
			rc = hs_meta_set_int(r->db, "stamp", stamp);
		if (rc != SQLITE_OK) {
			rc = hs_fail_sqlite(r, rc, "cannot save the sync setup");
			goto rollback;
		}
	} else if (stamp) {
		hs_meta_set_int(r->db, "stamp", 1);
	}
	stamp = (int)hs_meta_get_int(r->db, "stamp", 0);
	if ((rc = hs_capture_app_triggers(r->db, &guard)) != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot read the database schema");
		goto rollback;
	}
	for (int i = 0; i < n; i++) {
		hs_table mt;
		hs_table t;
		hs_buf_reset(&err);
		if ((rc = hs_tracking_track(r, names[i], stamp, guard, &err)) !=
		    HS_OK) {
			/* a refusal is HS_EINVALID, a busy or failing database
			 * its own code */
			rc = hs_fail_buf(r, rc, &err);
			goto rollback;
		}
		hs_buf_reset(&err);
		if (hs_table_load(r->db, names[i], &t, &err) != 0) {
			rc = hs_fail(r, HS_EINVALID, "%s", err.s);
			goto rollback;
		}
		rc = hs_master_ensure_table(m, r->db, &t, &mt, &err);
		hs_table_clear(&t);
		hs_table_clear(&mt);
		if (rc != 0) {
			rc = hs_fail(r, rc, "%s", err.s);
			goto rollback;
		}
	}
	site = hs_meta_get(r->db, "site");
	mid = hs_master_id(m);
	/* The office learns of this PC now (its name is checked by the
	 * next PC's init); the sync registers it again, as always. */
	{
		int64_t pushed;
		int mrc = hs_master_begin(m, &err);
		if (mrc == 0)
			mrc = hs_master_register(m, site, user, &pushed, NULL, NULL,
						 &err);
		if (mrc == 0)
			mrc = hs_master_commit(m, &err);
		if (mrc != 0) {
			rc = hs_fail(r, mrc, "%s", err.s);
			goto rollback;
		}
	}
	rc = hs_meta_set(r->db, "user", user);
	if (rc == SQLITE_OK && mid)
		rc = hs_meta_set(r->db, "master_id", mid);
	if (rc == SQLITE_OK) /* the next sync reconciles once */
		rc = hs_meta_set_int(r->db, "schema_version", -1);
	if (rc == SQLITE_OK)
		rc = hs_exec(r->db, "COMMIT");
	if (rc != SQLITE_OK) {
		rc = hs_fail_sqlite(r, rc, "cannot save the sync setup");
		goto rollback;
	}
	warn_shared_user(r, m, user, site);
	rc = HS_OK;
	goto cleanup;
rollback:
	hs_exec(r->db, "ROLLBACK");
cleanup:
	hs_master_close(m);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(user);
	free(master);
	free(old_master);
	free(site);
	free(mid);
	hs_buf_free(&err);
	return rc;
}

int hs_replica_relocate(hs_replica *r, const char *master_path)
{
	return hs_replica_relocate_to(r, master_path, NULL);
}

int hs_replica_relocate_to(hs_replica *r, const char *master_path,
			   const char *new_token)
{
	hs_master *m = NULL;
	hs_buf err;
	char *master = NULL, *old = NULL, *want = NULL, *have = NULL;
	char *site = NULL, *token = NULL, *auth = NULL;
	int rc = hs_replica_check_init(r), sr;

	if (rc != HS_OK)
		return rc;
	r->warn[0] = 0;
	if (!master_path || !*master_path)
		return hs_fail(r, HS_EINVALID, "no master given: pass --master PATH");
	hs_buf_init(&err);
	master = hs_master_is_url(master_path) ? hs_strdup(master_path)
					       : absolute_path(master_path);
	if (!master) {
		rc = hs_fail(r, HS_EIO, "the folder of the master %s is not there: "
			     "is the share mounted?", master_path);
		goto cleanup;
	}
	old = hs_meta_get(r->db, "master");
	auth = new_token ? hs_strdup(new_token)
			 : hs_meta_get(r->db, HS_META_SERVER_TOKEN);
	want = hs_meta_get(r->db, "master_id");
	site = hs_meta_get(r->db, "site");
	token = hs_meta_get(r->db, "token");
	rc = hs_master_open(&m, master, auth, 0, 30000, &err);
	if (rc != 0) {
		rc = hs_fail(r, rc, "%s", err.s);
		goto cleanup;
	}
	have = hs_master_id(m);
	/* Same master: the same id; a replica that never recorded one
	 * must be known there with its last sync token. */
	int same = want ? have && strcmp(want, have) == 0
			: hs_master_knows(m, site, token);
	if (!same) {
		rc = hs_fail(r, HS_EINVALID, "%s is not the master %s synced with "
			     "(%s): nothing changed; check the path, or, for a "
			     "new master, set this PC up again from a copy of the "
			     "data", master, r->path, old ? old : "?");
		goto cleanup;
	}
	sr = hs_meta_set(r->db, "master", master);
	if (sr == SQLITE_OK && have)
		sr = hs_meta_set(r->db, "master_id", have);
	if (sr == SQLITE_OK && new_token)
		sr = hs_meta_set(r->db, HS_META_SERVER_TOKEN, new_token);
	/* a server: this PC's changes are the token's user's from now on */
	if (sr == SQLITE_OK && hs_master_user(m))
		sr = hs_meta_set(r->db, "user", hs_master_user(m));
	if (sr != SQLITE_OK)
		rc = hs_fail_sqlite(r, sr, "cannot save the master's new place");
cleanup:
	hs_master_close(m);
	free(master);
	free(old);
	free(want);
	free(have);
	free(site);
	free(token);
	free(auth);
	hs_buf_free(&err);
	return rc;
}

/* ---- schedule ---------------------------------------------------------- */

int hs_replica_schedule_get(hs_replica *r, int *minutes)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	*minutes = (int)hs_meta_get_int(r->db, "interval", DEFAULT_INTERVAL);
	return HS_OK;
}

int hs_replica_schedule_set(hs_replica *r, int minutes)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	if (minutes < 0 || minutes > 10080)
		return hs_fail(r, HS_EINVALID, "interval %d minutes is out of range: "
			       "use 0 (off) to 10080 (one week)", minutes);
	rc = hs_meta_set_int(r->db, "interval", minutes);
	return rc == SQLITE_OK ? HS_OK
			       : hs_fail_sqlite(r, rc, "cannot save the schedule");
}

int hs_replica_pause_get(hs_replica *r, int *paused)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	*paused = hs_meta_get_int(r->db, "paused", 0) != 0;
	return HS_OK;
}

int hs_replica_pause_set(hs_replica *r, int paused)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	rc = hs_meta_set_int(r->db, "paused", paused != 0);
	return rc == SQLITE_OK ? HS_OK
			       : hs_fail_sqlite(r, rc, "cannot save the pause");
}

int hs_replica_retention_set(hs_replica *r, int days)
{
	int rc = hs_replica_check_init(r);
	if (rc != HS_OK)
		return rc;
	if (days < 1 || days > 36500)
		return hs_fail(r, HS_EINVALID, "retention of %d days is out of "
			       "range: use 1 to 36500", days);
	rc = hs_meta_set_int(r->db, "retention_set", days);
	if (rc == SQLITE_OK)
		rc = hs_meta_set_int(r->db, "retention_days", days);
	return rc == SQLITE_OK ? HS_OK
			       : hs_fail_sqlite(r, rc, "cannot save the retention");
}
