/*
 * users.c - the users of a hubsync serve store and their tokens (DESIGN
 * 3.7): `hubsync user add|list|remove`, and who a request's token is.
 *
 * Where they live depends on the store:
 *  - a folder: STORE/users.db (SQLite, WAL: read by the running server
 *    at every request, written by `hubsync user` at any time, taking
 *    effect at once), table hubsync_users;
 *  - postgresql://...: the table hubsync.users of that database, so that
 *    every serve process on it knows the same users, and a user added or
 *    removed through any of them (or by `hubsync user` run anywhere that
 *    reaches the database) counts at once for all.
 * Both tables have the same columns:
 *
 *   (name PRIMARY KEY, token_hash UNIQUE NOT NULL, read_only NOT NULL,
 *    tables, created_at)
 *
 * A token is 32 random hex digits (128 bits), shown once by `user add`;
 * only its SHA-256 (hex) is kept, so a copy of the store gives nobody a
 * token. tables is the comma list the user may sync, NULL for all.
 *
 * The statements are written once, with $1.. parameters (which SQLite
 * reads as named parameters) and %s for the table's name; users_run runs
 * one on either kind with text parameters and hands back text cells.
 */
#include "users.h"

#include "error.h"
#include "json.h"
#include "master.h"
#include "platform.h"
#include "sha256.h"

#ifdef HS_WITH_POSTGRES
#include <libpq-fe.h>
#include <pthread.h>
#endif
#include <stdlib.h>
#include <string.h>

#define USERS_COLS                                                            \
	"(name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, read_only"  \
	" INTEGER NOT NULL DEFAULT 0, tables TEXT, created_at TEXT NOT NULL)"

char *hs_users_path(const char *store)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s/users.db", store);
	return hs_buf_take(&b);
}

/* An open users table: one of the two kinds. */
typedef struct users_db {
	sqlite3 *lite;
#ifdef HS_WITH_POSTGRES
	PGconn *pg;
	int cached; /* the find cache's connection: not closed */
#endif
	const char *table; /* hubsync_users or hubsync.users */
} users_db;

/* The rows of one statement, as text cells (NULL: SQL NULL). */
typedef struct users_rows {
	char **cell;
	int nrows, ncols;
	int changed; /* rows a write changed */
} users_rows;

static void rows_free(users_rows *r)
{
	for (int i = 0; r->cell && i < r->nrows * r->ncols; i++)
		free(r->cell[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

static const char *rows_get(const users_rows *r, int row, int col)
{
	return r->cell[row * r->ncols + col];
}

/* Room for one more row of ncols cells. 0, or -1 when out of memory. */
static int rows_grow(users_rows *r, int ncols)
{
	char **more = realloc(r->cell, (size_t)(r->nrows + 1) * (size_t)ncols *
					       sizeof(char *));
	if (!more)
		return -1;
	r->cell = more;
	r->ncols = ncols;
	memset(&r->cell[r->nrows * ncols], 0, (size_t)ncols * sizeof(char *));
	r->nrows++;
	return 0;
}

/* USERS_MISSING: a PostgreSQL store where no user was ever added (no
 * hubsync.users yet). */
enum { USERS_OK, USERS_DUPLICATE, USERS_MISSING, USERS_FAILED };

#ifdef HS_WITH_POSTGRES
/* libpq's message, first line, into err. */
static void pg_message(PGconn *c, PGresult *r, hs_buf *err)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m)
		m = PQerrorMessage(c);
	hs_buf_printf(err, "%.*s", (int)strcspn(m, "\n"), m);
}

static int pg_run_users(users_db *db, const char *sql, int n,
			const char *const *a, users_rows *out, hs_buf *err)
{
	PGresult *r = n ? PQexecParams(db->pg, sql, n, NULL, a, NULL, NULL, 0)
		      : PQexec(db->pg, sql); /* may be several statements */
	ExecStatusType st = PQresultStatus(r);
	int rc = USERS_OK;
	if (st == PGRES_TUPLES_OK) {
		for (int i = 0; rc == USERS_OK && i < PQntuples(r); i++) {
			if (rows_grow(out, PQnfields(r)) != 0) {
				rc = USERS_FAILED;
				break;
			}
			for (int c = 0; c < PQnfields(r); c++)
				if (!PQgetisnull(r, i, c) &&
				    !(out->cell[i * out->ncols + c] =
					      hs_strdup(PQgetvalue(r, i, c))))
					rc = USERS_FAILED;
		}
		if (rc != USERS_OK)
			hs_buf_puts(err, "out of memory");
	} else if (st == PGRES_COMMAND_OK) {
		out->changed = atoi(PQcmdTuples(r));
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		rc = !state			  ? USERS_FAILED
		     : !strcmp(state, "23505") ? USERS_DUPLICATE
		     : !strcmp(state, "42P01") || !strcmp(state, "3F000")
			     ? USERS_MISSING
			     : USERS_FAILED;
		pg_message(db->pg, r, err);
	}
	PQclear(r);
	return rc;
}
#endif

static int lite_run_users(users_db *db, const char *sql, int n,
			  const char *const *a, users_rows *out, hs_buf *err)
{
	sqlite3_stmt *st = NULL;
	int sr = hs_prepare(db->lite, &st, sql), rc = USERS_OK;
	for (int i = 0; sr == SQLITE_OK && i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "$%d", i + 1);
		sr = sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, name),
				       a[i], -1, SQLITE_STATIC);
	}
	while (sr == SQLITE_OK && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);
		sr = rows_grow(out, nc) == 0 ? SQLITE_OK : SQLITE_NOMEM;
		for (int c = 0; sr == SQLITE_OK && c < nc; c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);
			if (v && !(out->cell[(out->nrows - 1) * nc + c] = hs_strdup(v)))
				sr = SQLITE_NOMEM;
		}
	}
	if (sr == SQLITE_DONE) {
		sr = SQLITE_OK;
		out->changed = sqlite3_changes(db->lite);
	}
	if (sr != SQLITE_OK) {
		rc = (sr & 0xff) == SQLITE_CONSTRAINT ? USERS_DUPLICATE
							 : USERS_FAILED;
		hs_buf_puts(err, sqlite3_errmsg(db->lite));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run sql (its %s: the users table) with n text parameters; rows into
 * out (rows_free it). USERS_OK, USERS_DUPLICATE (a UNIQUE value taken),
 * USERS_MISSING, USERS_FAILED (err: the database's message). */
static int users_run(users_db *db, const char *sql, int n,
		     const char *const *a, users_rows *out, hs_buf *err)
{
	hs_buf q;
	int rc;
	memset(out, 0, sizeof(*out));
	hs_buf_init(&q);
	const char *at = strstr(sql, "%s"); /* the one place of the table */
	hs_buf_putn(&q, sql, at ? (size_t)(at - sql) : strlen(sql));
	if (at) {
		hs_buf_puts(&q, db->table);
		hs_buf_puts(&q, at + 2);
	}
	if (q.oom) {
		hs_buf_puts(err, "out of memory");
		return USERS_FAILED;
	}
#ifdef HS_WITH_POSTGRES
	if (db->pg)
		rc = pg_run_users(db, q.s, n, a, out, err);
	else
#endif
		rc = lite_run_users(db, q.s, n, a, out, err);
	hs_buf_free(&q);
	return rc;
}

static void users_close(users_db *db)
{
	sqlite3_close(db->lite);
#ifdef HS_WITH_POSTGRES
	if (!db->cached)
		PQfinish(db->pg);
#endif
	memset(db, 0, sizeof(*db));
}

/* 1 if store names a PostgreSQL database (not a folder). */
static int store_is_pg(const char *store)
{
	return hs_master_is_address(store) && !hs_master_is_url(store);
}

#ifdef HS_WITH_POSTGRES
/* PostgreSQL's notices ("already exists, skipping") are not for users. */
static void quiet(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

/* Connect to the PostgreSQL store and make hubsync.users when create. */
static int pg_open(const char *store, int create, users_db *db, hs_buf *err)
{
	users_rows r = {0};
	int rc = HS_OK;
	db->table = "hubsync.users";
	db->pg = PQconnectdb(store);
	if (PQstatus(db->pg) != CONNECTION_OK) {
		hs_buf_puts(err, "cannot connect to the store: ");
		pg_message(db->pg, NULL, err);
		hs_buf_puts(err, "; check that the PostgreSQL server runs and the "
			    "address is right");
		return HS_EIO;
	}
	PQsetNoticeProcessor(db->pg, quiet, NULL);
	if (create &&
	    users_run(db, "CREATE SCHEMA IF NOT EXISTS hubsync; CREATE TABLE IF"
			  " NOT EXISTS %s" USERS_COLS, 0, NULL, &r, err) != USERS_OK)
		rc = HS_EIO;
	rows_free(&r);
	return rc;
}

/* One connection kept for hs_users_find (every request asks): the
 * address it is for, under a mutex (requests are authenticated on
 * several threads at once). */
static pthread_mutex_t find_mu = PTHREAD_MUTEX_INITIALIZER;
static PGconn *find_conn;
static char *find_store;
#endif

/* Open the users of store (STORE/users.db, or hubsync.users of a
 * postgresql:// store), making the folder and the table when create.
 * HS_ENOTFOUND when a folder store has no users file yet. */
static int users_open(const char *store, int create, users_db *db,
		      hs_buf *err)
{
	char *path;
	int sr;
	memset(db, 0, sizeof(*db));
	if (!store || !*store) {
		hs_buf_puts(err, "no store given: pass the server's folder");
		return HS_EINVALID;
	}
	if (store_is_pg(store)) {
#ifdef HS_WITH_POSTGRES
		return pg_open(store, create, db, err);
#else
		hs_buf_puts(err, "this hubsync was built without PostgreSQL: use a "
			    "build of hubsync for Linux for a postgresql:// store");
		return HS_EINVALID;
#endif
	}
	db->table = "hubsync_users";
	if (create && hs_os_exists(store) != 0 && hs_os_mkdir(store) != 0) {
		hs_buf_printf(err, "cannot make the store folder %s: check that its "
			      "parent exists and is writable", store);
		return HS_EIO;
	}
	if (!(path = hs_users_path(store))) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	if (!create && hs_os_exists(path) != 0) {
		hs_buf_printf(err, "%s has no users yet: add one with hubsync user "
			      "add %s NAME", store, store);
		free(path);
		return HS_ENOTFOUND;
	}
	sr = hs_sqlite_open(path, &db->lite,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sr == SQLITE_OK) {
		sqlite3_busy_timeout(db->lite, 10000);
		sr = hs_exec(db->lite, "PRAGMA journal_mode=WAL");
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(db->lite, "CREATE TABLE IF NOT EXISTS hubsync_users"
				       USERS_COLS);
	if (sr != SQLITE_OK) {
		hs_buf_printf(err, "cannot open the users of %s (%s): %s", store,
			      path, db->lite ? sqlite3_errmsg(db->lite)
					     : sqlite3_errstr(sr));
		sqlite3_close(db->lite);
		db->lite = NULL;
		free(path);
		return hs_error_from_sqlite(sr) == HS_ECORRUPT ? HS_ECORRUPT
							       : HS_EIO;
	}
	free(path);
	return HS_OK;
}

/* A user name people can type and that fits a log line. */
static int good_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == ',' || *p == '"')
			return 0;
	return 1;
}

/* The table list normalised ("a,b"), or NULL; -1 when it names none. */
static int normal_tables(const char *list, char **out)
{
	hs_buf b;
	char *copy, *save = NULL;
	*out = NULL;
	if (!list)
		return 0;
	if (!(copy = hs_strdup(list)))
		return -1;
	hs_buf_init(&b);
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		size_t n = strlen(tok);
		while (n && tok[n - 1] == ' ')
			tok[--n] = 0;
		if (*tok)
			hs_buf_printf(&b, "%s%s", b.len ? "," : "", tok);
	}
	free(copy);
	if (!b.len || b.oom) {
		hs_buf_free(&b);
		return -1;
	}
	*out = hs_buf_take(&b);
	return 0;
}

int hs_user_add(const char *store, const char *name, int read_only,
		const char *tables, char **token, char **errmsg)
{
	users_db db;
	users_rows r = {0};
	char fresh[33], hash[65], when[32], *list = NULL;
	hs_buf err, why;
	int rc;

	memset(&db, 0, sizeof(db));
	hs_buf_init(&err);
	hs_buf_init(&why);
	if (token)
		*token = NULL;
	if (!good_name(name)) {
		hs_buf_printf(&err, "bad user name \"%s\": use 1 to 64 characters "
			      "without spaces, commas or quotes", name ? name : "");
		rc = HS_EINVALID;
		goto out;
	}
	if (normal_tables(tables, &list) != 0) {
		hs_buf_puts(&err, "--tables names no table: give a comma list "
			    "(e.g. quotes,customers)");
		rc = HS_EINVALID;
		goto out;
	}
	if ((rc = users_open(store, 1, &db, &err)) != HS_OK)
		goto out;
	if (hs_random_hex(fresh) != 0) {
		hs_buf_puts(&err, "cannot read random bytes from the system");
		rc = HS_EIO;
		goto out;
	}
	hs_sha256_hex(fresh, 32, hash);
	hs_iso_time(hs_system_ms(), when);
	const char *a[5] = {name, hash, read_only ? "1" : "0", list, when};
	switch (users_run(&db, "INSERT INTO %s(name, token_hash, read_only,"
			       " tables, created_at) VALUES($1, $2, $3, $4, $5)",
			  5, a, &r, &why)) {
	case USERS_OK:
		break;
	case USERS_DUPLICATE:
		hs_buf_printf(&err, "user \"%s\" already exists in %s: remove it "
			      "first (hubsync user remove) to give it a new token",
			      name, store);
		rc = HS_EINVALID;
		goto out;
	default:
		hs_buf_printf(&err, "cannot add user \"%s\": %s", name,
			      why.s ? why.s : "?");
		rc = HS_EIO;
		goto out;
	}
	if (token && !(*token = hs_strdup(fresh)))
		rc = HS_ERROR;
out:
	rows_free(&r);
	users_close(&db);
	free(list);
	hs_err_out(&err, rc, errmsg, "");
	hs_buf_free(&why);
	return rc;
}

/* The comma list tables as a JSON array, or null. */
static json_t *tables_json(const char *tables)
{
	json_t *list;
	char *copy, *save = NULL;
	if (!tables)
		return json_null();
	list = json_array();
	copy = hs_strdup(tables);
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save))
		json_array_append_new(list, json_string(t));
	free(copy);
	return list;
}

int hs_user_list_json(const char *store, char **out, char **errmsg)
{
	users_db db;
	users_rows r = {0};
	json_t *arr = json_array();
	hs_buf err, why;
	int rc;

	hs_buf_init(&err);
	hs_buf_init(&why);
	*out = NULL;
	if ((rc = users_open(store, 0, &db, &err)) == HS_ENOTFOUND) {
		rc = HS_OK; /* no users yet: an empty list */
	} else if (rc == HS_OK) {
		int ur = users_run(&db, "SELECT name, read_only, tables, created_at"
					" FROM %s ORDER BY name", 0, NULL, &r, &why);
		if (ur != USERS_OK && ur != USERS_MISSING) {
			hs_buf_printf(&err, "cannot read the users of %s: %s", store,
				      why.s ? why.s : "?");
			rc = HS_EIO;
		}
		for (int i = 0; rc == HS_OK && i < r.nrows; i++)
			json_array_append_new(
				arr, json_pack("{s:s, s:b, s:o, s:s}", "name",
					       rows_get(&r, i, 0), "readOnly",
					       atoi(rows_get(&r, i, 1)), "tables",
					       tables_json(rows_get(&r, i, 2)),
					       "createdAt", rows_get(&r, i, 3)));
	}
	if (rc == HS_OK) {
		*out = json_dumps(arr, JSON_COMPACT);
		if (!*out)
			rc = HS_ERROR;
	}
	json_decref(arr);
	rows_free(&r);
	users_close(&db);
	hs_err_out(&err, rc, errmsg, "");
	hs_buf_free(&why);
	return rc;
}

int hs_user_remove(const char *store, const char *name, char **errmsg)
{
	users_db db;
	users_rows r = {0};
	hs_buf err, why;
	int rc;

	hs_buf_init(&err);
	hs_buf_init(&why);
	if ((rc = users_open(store, 0, &db, &err)) == HS_OK) {
		const char *a[1] = {name ? name : ""};
		int ur = users_run(&db, "DELETE FROM %s WHERE name = $1", 1, a,
				   &r, &why);
		if (ur != USERS_OK && ur != USERS_MISSING) {
			hs_buf_printf(&err, "cannot remove user \"%s\": %s", a[0],
				      why.s ? why.s : "?");
			rc = HS_EIO;
		} else if (r.changed == 0) {
			hs_buf_printf(&err, "no user \"%s\" in %s: hubsync user list "
				      "%s shows them", a[0], store, store);
			rc = HS_ENOTFOUND;
		}
	}
	rows_free(&r);
	users_close(&db);
	hs_err_out(&err, rc, errmsg, "");
	hs_buf_free(&why);
	return rc;
}

void hs_users_free(hs_server_user *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->ntables; i++)
		free(u->tables[i]);
	free(u->tables);
	free(u->name);
	free(u);
}

/* The user of row 0 of r (name, read_only, tables), or NULL. */
static hs_server_user *user_of(const users_rows *r)
{
	const char *tables = rows_get(r, 0, 2);
	hs_server_user *u = calloc(1, sizeof(*u));
	char *copy, *save = NULL;
	if (!u || !(u->name = hs_strdup(rows_get(r, 0, 0)))) {
		free(u);
		return NULL;
	}
	u->read_only = atoi(rows_get(r, 0, 1)) != 0;
	u->limited = tables != NULL;
	copy = tables ? hs_strdup(tables) : NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		char **more = realloc(u->tables,
				      (size_t)(u->ntables + 1) * sizeof(char *));
		if (!more)
			break;
		u->tables = more;
		if ((u->tables[u->ntables] = hs_strdup(t)))
			u->ntables++;
	}
	free(copy);
	return u;
}

/* Open the users for a find: a PostgreSQL store's kept connection
 * (under find_mu, held until users_find_done), else users_open. */
static int users_find_open(const char *store, users_db *db, hs_buf *err)
{
#ifdef HS_WITH_POSTGRES
	if (store_is_pg(store)) {
		int rc = HS_OK;
		pthread_mutex_lock(&find_mu);
		if (find_conn && (!hs_pg_conn_alive(find_conn, NULL) ||
				  strcmp(find_store, store) != 0)) {
			PQfinish(find_conn);
			find_conn = NULL;
		}
		memset(db, 0, sizeof(*db));
		if (!find_conn) {
			free(find_store);
			find_store = hs_strdup(store);
			rc = find_store ? pg_open(store, 0, db, err) : HS_ERROR;
			if (rc == HS_OK)
				find_conn = db->pg;
			else
				PQfinish(db->pg);
		}
		db->pg = find_conn;
		db->cached = 1;
		db->table = "hubsync.users";
		if (rc != HS_OK)
			pthread_mutex_unlock(&find_mu);
		return rc;
	}
#endif
	return users_open(store, 0, db, err);
}

static void users_find_done(users_db *db)
{
#ifdef HS_WITH_POSTGRES
	if (db->cached)
		pthread_mutex_unlock(&find_mu);
#endif
	users_close(db);
}

int hs_users_find(const char *store, const char *token, hs_server_user **out,
		  hs_buf *err)
{
	users_db db;
	users_rows r = {0};
	char hash[65];
	hs_buf why;
	int rc;

	*out = NULL;
	if (!token || !*token) {
		hs_buf_puts(err, "no token: send Authorization: Bearer TOKEN");
		return HS_EINVALID;
	}
	if ((rc = users_find_open(store, &db, err)) != HS_OK) {
		if (rc == HS_ENOTFOUND) {
			hs_buf_reset(err);
			hs_buf_puts(err, "unknown token");
			rc = HS_EINVALID;
		}
		return rc;
	}
	hs_buf_init(&why);
	hs_sha256_hex(token, strlen(token), hash);
	const char *a[1] = {hash};
	int ur = users_run(&db, "SELECT name, read_only, tables FROM %s WHERE"
				" token_hash = $1", 1, a, &r, &why);
	if (ur == USERS_MISSING) {
		hs_buf_puts(err, "unknown token"); /* no user was ever added */
		rc = HS_EINVALID;
	} else if (ur != USERS_OK) {
		hs_buf_printf(err, "cannot read the users: %s", why.s ? why.s : "?");
		rc = HS_EIO;
	} else if (r.nrows == 0) {
		hs_buf_puts(err, "unknown token");
		rc = HS_EINVALID;
	} else if (!(*out = user_of(&r))) {
		hs_buf_puts(err, "out of memory");
		rc = HS_ERROR;
	}
	rows_free(&r);
	hs_buf_free(&why);
	users_find_done(&db);
	return rc;
}

int hs_users_copy(const char *from, const char *to, int *copied, hs_buf *err)
{
	users_db src, dst;
	users_rows r = {0}, w = {0};
	hs_buf why;
	int rc;
	*copied = 0;
	memset(&dst, 0, sizeof(dst));
	hs_buf_init(&why);
	if ((rc = users_open(from, 0, &src, err)) == HS_ENOTFOUND) {
		hs_buf_reset(err);
		return HS_OK; /* no users to move */
	}
	if (rc != HS_OK)
		return rc;
	int ur = users_run(&src, "SELECT name, token_hash, read_only, tables,"
				 " created_at FROM %s ORDER BY name", 0, NULL, &r,
			   &why);
	if (ur != USERS_OK && ur != USERS_MISSING) {
		hs_buf_printf(err, "cannot read the users of %s: %s", from,
			      why.s ? why.s : "?");
		rc = HS_EIO;
	} else if (r.nrows) {
		rc = users_open(to, 1, &dst, err);
	}
	for (int i = 0; rc == HS_OK && i < r.nrows; i++) {
		const char *a[5] = {rows_get(&r, i, 0), rows_get(&r, i, 1),
				    rows_get(&r, i, 2), rows_get(&r, i, 3),
				    rows_get(&r, i, 4)};
		rows_free(&w);
		ur = users_run(&dst, "INSERT INTO %s(name, token_hash, read_only,"
				     " tables, created_at) VALUES($1, $2, $3, $4,"
				     " $5)", 5, a, &w, &why);
		if (ur == USERS_DUPLICATE) {
			hs_buf_printf(err, "user \"%s\" exists in %s already: remove "
				      "it there first", a[0], to);
			rc = HS_EINVALID;
		} else if (ur != USERS_OK) {
			hs_buf_printf(err, "cannot add user \"%s\" to %s: %s", a[0],
				      to, why.s ? why.s : "?");
			rc = HS_EIO;
		} else {
			(*copied)++;
		}
	}
	rows_free(&r);
	rows_free(&w);
	users_close(&src);
	users_close(&dst);
	hs_buf_free(&why);
	return rc;
}

int hs_users_may(const hs_server_user *u, const char *table)
{
	if (!u->limited)
		return 1;
	for (int i = 0; i < u->ntables; i++)
		if (strcmp(u->tables[i], table) == 0)
			return 1;
	return 0;
}
