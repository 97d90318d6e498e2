/*
 * users.c - the users of a hubsync serve store and their tokens (DESIGN
 * 3.7): `hubsync user add|list|remove`, and who a request's token is.
 *
 * STORE/users.db (SQLite, WAL: read by the running server at every
 * request, written by `hubsync user` at any time, taking effect at once):
 *
 *   hubsync_users(name TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,
 *                 read_only INTEGER NOT NULL, tables TEXT, created_at TEXT)
 *
 * A token is 32 random hex digits (128 bits), shown once by `user add`;
 * only its SHA-256 (hex) is kept, so a copy of the store gives nobody a
 * token. tables is the comma list the user may sync, NULL for all.
 */
#include "users.h"

#include "json.h"
#include "platform.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

static const char *USERS_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_users(name TEXT PRIMARY KEY,"
	" token_hash TEXT NOT NULL UNIQUE, read_only INTEGER NOT NULL DEFAULT 0,"
	" tables TEXT, created_at TEXT NOT NULL)";

char *hs_users_path(const char *store)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s/users.db", store);
	return hs_buf_take(&b);
}

/* Open STORE/users.db, making the folder and the table when create. */
static int users_open(const char *store, int create, sqlite3 **db, hs_buf *err)
{
	char *path;
	int sr;
	*db = NULL;
	if (!store || !*store) {
		hs_buf_puts(err, "no store given: pass the server's folder");
		return HS_EINVALID;
	}
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
	sr = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     NULL);
	if (sr == SQLITE_OK) {
		sqlite3_busy_timeout(*db, 10000);
		sr = hs_exec(*db, "PRAGMA journal_mode=WAL");
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(*db, USERS_DDL);
	if (sr != SQLITE_OK) {
		hs_buf_printf(err, "cannot open the users of %s (%s): %s", store,
			      path, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(sr));
		sqlite3_close(*db);
		*db = NULL;
		free(path);
		return sr == SQLITE_NOTADB || sr == SQLITE_CORRUPT ? HS_ECORRUPT
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
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char fresh[33], hash[65], when[32], *list = NULL;
	hs_buf err;
	int rc, sr;

	hs_buf_init(&err);
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
	sr = hs_prepare(db, &st, "INSERT INTO hubsync_users(name, token_hash,"
				 " read_only, tables, created_at) VALUES(?1, ?2,"
				 " ?3, ?4, ?5)");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, read_only != 0);
		sqlite3_bind_text(st, 4, list, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, when, -1, SQLITE_STATIC);
		sr = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	}
	if (sr == SQLITE_CONSTRAINT || (sr & 0xff) == SQLITE_CONSTRAINT) {
		hs_buf_printf(&err, "user \"%s\" already exists in %s: remove it "
			      "first (hubsync user remove) to give it a new token",
			      name, store);
		rc = HS_EINVALID;
		goto out;
	}
	if (sr != SQLITE_OK) {
		hs_buf_printf(&err, "cannot add user \"%s\": %s", name,
			      sqlite3_errmsg(db));
		rc = HS_EIO;
		goto out;
	}
	if (token && !(*token = hs_strdup(fresh)))
		rc = HS_ERROR;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(list);
	if (rc != HS_OK && errmsg)
		*errmsg = hs_buf_take(&err);
	hs_buf_free(&err);
	return rc;
}

int hs_user_list_json(const char *store, char **out, char **errmsg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	hs_buf err;
	int rc, sr = SQLITE_OK;

	hs_buf_init(&err);
	*out = NULL;
	if ((rc = users_open(store, 0, &db, &err)) == HS_ENOTFOUND) {
		rc = HS_OK; /* no users yet: an empty list */
	} else if (rc == HS_OK &&
		   (sr = hs_prepare(db, &st, "SELECT name, read_only, tables,"
					     " created_at FROM hubsync_users"
					     " ORDER BY name")) == SQLITE_OK) {
		while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
			const char *tables = (const char *)sqlite3_column_text(st, 2);
			json_t *list = json_null();
			if (tables) {
				char *copy = hs_strdup(tables), *save = NULL;
				list = json_array();
				for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
				     t = strtok_r(NULL, ",", &save))
					json_array_append_new(list, json_string(t));
				free(copy);
			}
			json_array_append_new(
				arr, json_pack("{s:s, s:b, s:o, s:s}", "name",
					       (const char *)sqlite3_column_text(st, 0),
					       "readOnly", sqlite3_column_int(st, 1),
					       "tables", list, "createdAt",
					       (const char *)sqlite3_column_text(st, 3)));
		}
		sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
	}
	if (rc == HS_OK && sr != SQLITE_OK) {
		hs_buf_printf(&err, "cannot read the users of %s: %s", store,
			      sqlite3_errmsg(db));
		rc = HS_EIO;
	}
	if (rc == HS_OK) {
		*out = json_dumps(arr, JSON_COMPACT);
		if (!*out)
			rc = HS_ERROR;
	}
	json_decref(arr);
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rc != HS_OK && errmsg)
		*errmsg = hs_buf_take(&err);
	hs_buf_free(&err);
	return rc;
}

int hs_user_remove(const char *store, const char *name, char **errmsg)
{
	sqlite3 *db = NULL;
	hs_buf err;
	int rc, sr;

	hs_buf_init(&err);
	if ((rc = users_open(store, 0, &db, &err)) == HS_OK) {
		sr = hs_exec_text(db, "DELETE FROM hubsync_users WHERE name = ?1",
				  name ? name : "", NULL);
		if (sr != SQLITE_OK) {
			hs_buf_printf(&err, "cannot remove user \"%s\": %s", name,
				      sqlite3_errmsg(db));
			rc = HS_EIO;
		} else if (sqlite3_changes(db) == 0) {
			hs_buf_printf(&err, "no user \"%s\" in %s: hubsync user list "
				      "%s shows them", name ? name : "", store, store);
			rc = HS_ENOTFOUND;
		}
	}
	sqlite3_close(db);
	if (rc != HS_OK && errmsg)
		*errmsg = hs_buf_take(&err);
	hs_buf_free(&err);
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

int hs_users_find(const char *store, const char *token, hs_server_user **out,
		  hs_buf *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	hs_server_user *u = NULL;
	char hash[65];
	int rc, sr;

	*out = NULL;
	if (!token || !*token) {
		hs_buf_puts(err, "no token: send Authorization: Bearer TOKEN");
		return HS_EINVALID;
	}
	if ((rc = users_open(store, 0, &db, err)) != HS_OK) {
		if (rc == HS_ENOTFOUND) {
			hs_buf_reset(err);
			hs_buf_puts(err, "unknown token");
			rc = HS_EINVALID;
		}
		return rc;
	}
	hs_sha256_hex(token, strlen(token), hash);
	sr = hs_prepare(db, &st, "SELECT name, read_only, tables FROM"
				 " hubsync_users WHERE token_hash = ?1");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sr = sqlite3_step(st);
	}
	if (sr == SQLITE_ROW) {
		const char *tables = (const char *)sqlite3_column_text(st, 2);
		u = calloc(1, sizeof(*u));
		if (u && (u->name = hs_strdup((const char *)sqlite3_column_text(st, 0)))) {
			u->read_only = sqlite3_column_int(st, 1);
			u->limited = tables != NULL;
			char *copy = tables ? hs_strdup(tables) : NULL, *save = NULL;
			for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
			     t = strtok_r(NULL, ",", &save)) {
				char **more = realloc(u->tables, (size_t)(u->ntables + 1) *
								   sizeof(char *));
				if (!more)
					break;
				u->tables = more;
				if ((u->tables[u->ntables] = hs_strdup(t)))
					u->ntables++;
			}
			free(copy);
			rc = HS_OK;
		} else {
			hs_buf_puts(err, "out of memory");
			rc = HS_ERROR;
		}
	} else if (sr == SQLITE_DONE) {
		hs_buf_puts(err, "unknown token");
		rc = HS_EINVALID;
	} else {
		hs_buf_printf(err, "cannot read the users: %s", sqlite3_errmsg(db));
		rc = HS_EIO;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rc == HS_OK)
		*out = u;
	else
		hs_users_free(u);
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
