/*
 * server.c - the server side of the sync protocol (docs/PROTOCOL.md): the
 * request frames a replica's server master (master_http.c) sends are the
 * calls of its sync session, and are replayed here, in order, on the
 * store's own master with the same hs_master_* functions a PC runs on a
 * file master: one merge, one set of rules.
 *
 * What the server adds is who may do what. Every request comes from an
 * authenticated user (users.c), and:
 *  - the user recorded for a PC's changes is the token's (REGISTER and
 *    QUERY ignore the name the client sends);
 *  - a read-only user's MERGE and RESOLVE must be empty, its ENSURE may
 *    not create or widen a table, its retention setting is ignored;
 *  - a table-limited user may ENSURE (and so push and pull) only its
 *    tables, and its PULL's conflicts, history and new ids are filtered
 *    to them;
 *  - REGISTER carries the push mark the client built its push above: a
 *    different mark means the push is stale (merged already by a request
 *    whose answer was lost): the batch is refused with nothing changed.
 * A request stream is checked whole (zstd checksum, END frame) before any
 * call runs; a failure before COMMIT answers an HTTP error with nothing
 * changed, a failure after it (streaming the rows) an ERROR frame.
 * Requests run one at a time (one mutex): the master is one file, or one
 * PostgreSQL connection at a time (several serve processes on one
 * database merge at once: store_pg.c serializes their writes).
 *
 * The real-time channel (GET /v1/wait, docs/PROTOCOL.md): hs_server_wait
 * blocks a client until the store's sequence moves past its cursor (or a
 * timeout). The server keeps the sequence it last knew in memory, under a
 * lock of its own (never the request mutex: a waiter holds nothing a sync
 * needs). One entry point moves it:
 *
 *     hs_server_notify_change(s, seq)     (server.h)
 *
 * called after a request committed (do_commit, with the store's sequence
 * after the commit), and by anything else that learns of a commit to the
 * store: a store shared by several serve processes (PostgreSQL) calls it
 * when another process's commit is announced (LISTEN/NOTIFY). It only ever
 * moves the sequence forward and wakes every waiter; it takes no other
 * lock and does no I/O, so it may be called from any thread. Waiters are
 * woken whatever tables changed: a table-limited user's next pull may find
 * nothing for it (cheap, and it keeps the store's feed out of the wait).
 */
#include "error.h"
#include "hubsync.h"

#include "lock.h"
#include "master.h"
#include "pgtypes.h"
#include "platform.h"
#include "server.h"
#include "users.h"
#include "wire.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZSTD_LEVEL 3
#define LOCK_TIMEOUT_MS 60000

struct hs_server {
	char *store;      /* as given */
	char *describe;
	char *master;     /* the master's address for hs_master_open */
	hs_master *idle;  /* a PostgreSQL master kept open between requests */
#ifdef HS_WITH_POSTGRES
	hs_pg_listener *listener; /* other serve processes' commits */
#endif
	pthread_mutex_t mu;
	/* the real-time channel: guarded by wmu, not mu */
	pthread_mutex_t wmu;
	pthread_cond_t moved; /* the sequence moved, or closing */
	int64_t seq;          /* the store's sequence as last known */
	int closing;          /* hs_server_close_waits: waits end at once */
};

/* ---- the store: the one place that knows its kinds ---------------------- */

/* 1 if store is a PostgreSQL database (postgresql://...), not a folder. */
static int store_is_pg(const char *store)
{
	return hs_master_is_address(store) && !hs_master_is_url(store);
}

/*
 * Make the store ready and record how to open its master. A folder: made
 * if missing, the master is FOLDER/master.db (created here, once). A
 * PostgreSQL database (postgresql://...): the master is the database
 * itself (its hubsync schema made here when missing; the users live in
 * hubsync.users, users.c); several serve processes may share it
 * (docs/POSTGRES.md).
 */
static int store_prepare(hs_server *s, hs_buf *err)
{
	hs_master *m = NULL;
	hs_buf b;
	int rc;
	int pg = store_is_pg(s->store);
	if (!pg && hs_os_exists(s->store) != 0 && hs_os_mkdir(s->store) != 0) {
		hs_buf_printf(err, "cannot make the store folder %s: check that its "
			      "parent exists and is writable", s->store);
		return HS_EIO;
	}
	hs_buf_init(&b);
	if (pg)
		hs_buf_puts(&b, s->store);
	else
		hs_buf_printf(&b, "%s/master.db", s->store);
	s->master = hs_buf_take(&b);
	if (pg) {
		char *shown = hs_pg_redact(s->store);
		hs_buf_printf(&b, "PostgreSQL %s", shown ? shown : "");
		free(shown);
	} else {
		hs_buf_printf(&b, "folder %s", s->store);
	}
	s->describe = hs_buf_take(&b);
	if (!s->master || !s->describe) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	rc = hs_master_open(&m, s->master, NULL, 1, LOCK_TIMEOUT_MS, err);
	hs_master_close(m);
	return rc;
}

/* The store's master for one request (under s->mu): a file master is
 * opened (and locked) for each; a PostgreSQL one is kept connected
 * between requests (its statements stay prepared). */
static int store_master(hs_server *s, hs_master **out, hs_buf *err)
{
	if (s->idle) {
		*out = s->idle;
		s->idle = NULL;
#ifdef HS_WITH_POSTGRES
		/* the database ended the connection meanwhile: a new one,
		 * and one line on stderr saying so */
		hs_buf why;
		hs_buf_init(&why);
		if (!hs_master_pg_alive(*out, &why)) {
			hs_master_close(*out);
			*out = NULL;
			int rc = hs_master_open(out, s->master, NULL, 0,
						LOCK_TIMEOUT_MS, err);
			fprintf(stderr, "hubsync serve: the connection to %s was "
				"lost (%s); %s%s\n", s->describe,
				why.s ? why.s : "?", rc == 0 ? "connected again"
							     : "cannot connect again: ",
				rc == 0 ? "" : err->s ? err->s : "?");
			fflush(stderr);
			hs_buf_free(&why);
			return rc;
		}
		hs_buf_free(&why);
#endif
		return 0;
	}
	return hs_master_open(out, s->master, NULL, 0, LOCK_TIMEOUT_MS, err);
}

/* Done with m for now: closed (rolling back what was not committed),
 * or, a PostgreSQL master still connected, rolled back and kept. */
static void store_release(hs_server *s, hs_master *m)
{
#ifdef HS_WITH_POSTGRES
	if (m && !s->idle && store_is_pg(s->store) && hs_master_pg_reset(m) == 0) {
		s->idle = m;
		return;
	}
#endif
	(void)s;
	hs_master_close(m);
}

#ifdef HS_WITH_POSTGRES
/* A commit announced on the PostgreSQL store (LISTEN, store_pg.c). */
static void store_announced(void *ctx, int64_t seq)
{
	hs_server_notify_change(ctx, seq);
}
#endif

/* The store's sequence now, or -1 when it cannot be read. */
static int64_t store_seq(hs_server *s)
{
	hs_master *m = NULL;
	int64_t seq = -1;
	hs_buf e;
	hs_buf_init(&e);
	if (store_master(s, &m, &e) == 0 && hs_master_read_begin(m, &e) == 0) {
		seq = hs_master_seq(m);
		hs_master_read_end(m);
	}
	hs_master_close(m);
	hs_buf_free(&e);
	return seq;
}

/* 1 if the master file at path holds data (a sequence or a PC), 0 if it
 * is empty or absent, -1 if it cannot be read. */
static int master_has_data(const char *path)
{
	sqlite3 *db = NULL;
	int sr, n = -1;
	if (hs_os_exists(path) != 0)
		return 0;
	sr = hs_sqlite_open(path, &db, SQLITE_OPEN_READONLY);
	if (sr == SQLITE_OK)
		n = (int)hs_query_int(db, "SELECT (SELECT count(*) FROM hubsync_sites)"
					  " + (SELECT value FROM hubsync_master WHERE"
					  " key = 'seq')", -1, &sr);
	sqlite3_close(db);
	return sr != SQLITE_OK || n < 0 ? -1 : n > 0;
}

/* hubsync migrate into PostgreSQL: a checked copy of the file master
 * (made under its lock, in a temporary folder), copied into the database
 * in one transaction (store_pg.c, hs_master_pg_import). from_master may
 * be a folder store: its master.db, then its users (users.c). */
static int migrate_pg(const char *from_master, const char *store,
		      char **result_json, hs_buf *err)
{
#ifdef HS_WITH_POSTGRES
	hs_backup_options o = HS_BACKUP_OPTIONS_INIT;
	const char *base = getenv("TMPDIR");
	char tmp[600], *doc = NULL, *msg = NULL, *shown = NULL, *folder = NULL;
	json_t *res = NULL;
	sqlite3 *db = NULL;
	hs_os_stat st;
	int rc, users = 0;
	char from[600];
	/* a folder store: its master file, then its users */
	if (hs_os_stat_path(from_master, &st) == 0 && st.is_dir) {
		snprintf(from, sizeof from, "%s/master.db", from_master);
		if (!(folder = hs_strdup(from_master))) {
			hs_buf_puts(err, "out of memory");
			return HS_ERROR;
		}
	} else {
		snprintf(from, sizeof from, "%s", from_master);
	}
	from_master = from;
	snprintf(tmp, sizeof tmp, "%s/hubsync-migrate-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!hs_os_make_temp_folder(tmp)) {
		hs_buf_printf(err, "cannot make a temporary folder in %s: set "
			      "TMPDIR to a writable folder", base && *base ? base
									  : "/tmp");
		free(folder);
		return HS_EIO;
	}
	o.dir = tmp;
	o.keep = 1;
	rc = hs_backup_create(from_master, &o, &doc, &msg);
	if (rc != HS_OK) {
		hs_buf_puts(err, msg ? msg : "out of memory");
		goto out;
	}
	res = json_loads(doc, 0, NULL);
	const char *copy = json_string_value(json_object_get(res, "backup"));
	if (!copy || hs_sqlite_open(copy, &db, SQLITE_OPEN_READONLY) !=
			     SQLITE_OK) {
		hs_buf_printf(err, "cannot read the copy of %s in %s: check the "
			      "temporary folder", from_master, tmp);
		rc = HS_EIO;
		goto out;
	}
	if ((rc = hs_master_pg_import(store, db, err)) != 0)
		goto out;
	if (folder && (rc = hs_users_copy(folder, store, &users, err)) != 0)
		goto out;
	shown = hs_pg_redact(store);
	if (result_json) {
		json_t *out = json_pack("{s:s, s:s, s:O, s:O, s:i}", "from",
					folder ? folder : from_master, "store",
					shown ? shown : "", "seq",
					json_object_get(res, "seq"), "bytes",
					json_object_get(res, "bytes"), "users", users);
		*result_json = out ? json_dumps(out, JSON_COMPACT) : NULL;
		json_decref(out);
	}
out:
	sqlite3_close(db);
	hs_os_remove_tree(tmp);
	json_decref(res);
	hs_free(doc);
	hs_free(msg);
	free(shown);
	free(folder);
	return rc;
#else
	(void)from_master;
	(void)store;
	(void)result_json;
	hs_buf_puts(err, "this hubsync was built without PostgreSQL: use a "
		    "build of hubsync for Linux to migrate into a postgresql:// "
		    "store");
	return HS_EINVALID;
#endif
}

int hs_server_migrate(const char *from_master, const char *store,
		      char **result_json, char **errmsg)
{
	if (store && store_is_pg(store)) {
		hs_buf e;
		int prc;
		hs_buf_init(&e);
		if (result_json)
			*result_json = NULL;
		prc = migrate_pg(from_master, store, result_json, &e);
		hs_err_out(&e, prc, errmsg, "");
		return prc;
	}
	hs_backup_options o = HS_BACKUP_OPTIONS_INIT;
	hs_server *s = NULL;
	char *doc = NULL, *msg = NULL, *tmp = NULL;
	json_t *res = NULL;
	hs_lock lock;
	hs_buf err, b;
	int rc, data;

	memset(&lock, 0, sizeof(lock));
	hs_buf_init(&err);
	hs_buf_init(&b);
	if (result_json)
		*result_json = NULL;
	/* the store ready; its master (empty, or absent: made here) */
	if ((rc = hs_server_open(&s, store, &msg)) != HS_OK) {
		hs_buf_puts(&err, msg ? msg : "cannot open the store");
		goto out;
	}
	if ((rc = hs_lock_acquire(&lock, s->master, LOCK_TIMEOUT_MS, NULL, NULL,
				  &err)) != 0)
		goto out;
	data = master_has_data(s->master);
	if (data != 0) {
		hs_buf_printf(&err, data < 0 ? "cannot read the master of %s: check "
					       "the store"
					     : "the store %s holds a master with data "
					       "already: migrate into a new store",
			      store);
		rc = data < 0 ? HS_ECORRUPT : HS_EINVALID;
		goto out;
	}
	/* a checked copy under the file master's lock, then in place */
	hs_buf_printf(&b, "%s/migrating", store);
	tmp = hs_buf_take(&b);
	o.dir = tmp;
	o.keep = 1;
	rc = tmp ? hs_backup_create(from_master, &o, &doc, &msg) : HS_ERROR;
	if (rc != HS_OK) {
		hs_buf_printf(&err, "%s", msg ? msg : "out of memory");
		goto out;
	}
	res = json_loads(doc, 0, NULL);
	const char *copy = json_string_value(json_object_get(res, "backup"));
	if (!copy || hs_os_rename(copy, s->master) != 0) {
		hs_buf_printf(&err, "cannot move the copy of %s into %s: check the "
			      "store folder", from_master, store);
		rc = HS_EIO;
		goto out;
	}
	hs_os_remove_tree(tmp);
	if (result_json) {
		json_t *out = json_pack("{s:s, s:s, s:O, s:O}", "from", from_master,
					"store", store, "seq",
					json_object_get(res, "seq"), "bytes",
					json_object_get(res, "bytes"));
		*result_json = out ? json_dumps(out, JSON_COMPACT) : NULL;
		json_decref(out);
	}
out:
	hs_lock_release(&lock);
	if (rc != HS_OK && tmp)
		hs_os_remove_tree(tmp);
	json_decref(res);
	hs_free(doc);
	hs_free(msg);
	free(tmp);
	hs_server_free(s);
	hs_err_out(&err, rc, errmsg, "");
	hs_buf_free(&b);
	return rc;
}

/* ---- the public handle ------------------------------------------------- */

int hs_server_open(hs_server **out, const char *store, char **errmsg)
{
	hs_server *s = calloc(1, sizeof(*s));
	hs_buf err;
	int rc;
	*out = NULL;
	hs_buf_init(&err);
	if (!s || !(s->store = hs_strdup(store))) {
		free(s);
		if (errmsg)
			*errmsg = hs_strdup("out of memory");
		return HS_ERROR;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	{
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&s->moved, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (!*store) {
		hs_buf_puts(&err, "no store given: pass a folder for the server's "
			    "master");
		rc = HS_EINVALID;
	} else {
		rc = store_prepare(s, &err);
	}
	if (rc == HS_OK && (s->seq = store_seq(s)) < 0) {
		hs_buf_printf(&err, "cannot read the master of %s: check the store",
			      store);
		rc = HS_EIO;
	}
#ifdef HS_WITH_POSTGRES
	/* another serve process's commit wakes this one's waiters too */
	if (rc == HS_OK && store_is_pg(s->store) &&
	    hs_pg_listen_start(s->master, store_announced, s, &s->listener) != 0) {
		hs_buf_puts(&err, "cannot start listening to the store's commits");
		rc = HS_ERROR;
	}
#endif
	if (rc != HS_OK) {
		hs_err_out(&err, rc, errmsg, "");
		hs_server_free(s);
		return rc;
	}
	hs_buf_free(&err);
	*out = s;
	return HS_OK;
}

void hs_server_free(hs_server *s)
{
	if (!s)
		return;
#ifdef HS_WITH_POSTGRES
	hs_pg_listen_stop(s->listener); /* (calls into s until it returns) */
#endif
	pthread_mutex_destroy(&s->mu);
	hs_master_close(s->idle);
	pthread_cond_destroy(&s->moved);
	pthread_mutex_destroy(&s->wmu);
	free(s->store);
	free(s->master);
	free(s->describe);
	free(s);
}

const char *hs_server_describe(const hs_server *s) { return s->describe; }

/* ---- the real-time channel ---------------------------------------------- */

void hs_server_notify_change(hs_server *s, int64_t seq)
{
	pthread_mutex_lock(&s->wmu);
	if (seq > s->seq) {
		s->seq = seq;
		pthread_cond_broadcast(&s->moved);
	}
	pthread_mutex_unlock(&s->wmu);
}

int64_t hs_server_wait(hs_server *s, int64_t since, int timeout_ms)
{
	struct timespec due;
	int64_t seq;
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms > HS_SERVER_WAIT_MAX_MS)
		timeout_ms = HS_SERVER_WAIT_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &due);
	due.tv_sec += timeout_ms / 1000;
	due.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->wmu);
	while (!s->closing && s->seq <= since &&
	       pthread_cond_timedwait(&s->moved, &s->wmu, &due) == 0)
		;
	seq = s->seq;
	pthread_mutex_unlock(&s->wmu);
	return seq;
}

void hs_server_close_waits(hs_server *s)
{
	pthread_mutex_lock(&s->wmu);
	s->closing = 1;
	pthread_cond_broadcast(&s->moved);
	pthread_mutex_unlock(&s->wmu);
}

int hs_server_auth(hs_server *s, const char *authorization,
		   hs_server_user **out, char **errmsg)
{
	hs_buf err;
	const char *token = NULL;
	int rc;
	*out = NULL;
	hs_buf_init(&err);
	if (authorization && strncmp(authorization, "Bearer ", 7) == 0)
		token = authorization + 7;
	rc = hs_users_find(s->store, token, out, &err);
	hs_err_out(&err, rc, errmsg, "");
	return rc;
}

const char *hs_server_user_name(const hs_server_user *u) { return u->name; }

void hs_server_user_free(hs_server_user *u) { hs_users_free(u); }

/* ---- one request ---------------------------------------------------------- */

typedef struct session {
	hs_server *srv;
	const hs_server_user *u;
	hs_master *m;
	sqlite3 *mem;          /* the replica's tables (ENSURE), values */
	sqlite3_stmt *select1;
	hs_schema ms;          /* the session's tables, in ENSURE order */
	hs_schema have;        /* the master's tables (read-only checks) */
	int have_loaded;
	hs_wire_in in;
	hs_wire_out out;
	int committed;
	int64_t history_since; /* PULL asked for its history with the ROWS
				* (from this sequence), or -1 */
	int status;            /* HTTP status of a failure */
	int code;              /* its hs_error */
	hs_buf err;
} session;

static int file_write(void *ctx, const void *p, size_t n)
{
	return fwrite(p, 1, n, ctx) == n ? 0 : -1;
}

static long file_read(void *ctx, void *p, size_t n)
{
	size_t got = fread(p, 1, n, ctx);
	return got ? (long)got : ferror((FILE *)ctx) ? -1 : 0;
}

/* Record a failure: status 0 takes the code's. Returns code. */
static int fail(session *x, int status, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(session *x, int status, int code, const char *fmt, ...)
{
	va_list ap;
	char line[600];
	if (x->code)
		return x->code;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++) /* one line, whatever a client sent */
		if ((unsigned char)*c < ' ')
			*c = ' ';
	hs_buf_reset(&x->err);
	hs_buf_puts(&x->err, line);
	x->code = code;
	x->status = status ? status : hs_error_http_status(code);
	return code;
}

/* A failure of an hs_master_* call (its message in e). */
static int master_fail(session *x, int code, hs_buf *e)
{
	return fail(x, 0, code, "%s", e->s ? e->s : "the master failed");
}

static int bad_request(session *x)
{
	return fail(x, 400, HS_EINVALID, "bad request: %s",
		    x->in.err ? x->in.msg : "unexpected values");
}

static int need_master(session *x)
{
	hs_buf e;
	int rc;
	if (x->m)
		return 0;
	hs_buf_init(&e);
	rc = store_master(x->srv, &x->m, &e);
	if (rc != 0)
		master_fail(x, rc, &e);
	hs_buf_free(&e);
	return rc;
}

/* Close the master, undoing what was not committed. */
static void drop_master(session *x)
{
	store_release(x->srv, x->m);
	x->m = NULL;
}

static int result_end(session *x)
{
	if (hs_wire_end(&x->out) != 0)
		return fail(x, 500, HS_ERROR, "cannot write the answer: check the "
			    "server's temporary folder");
	return 0;
}

/* The result of call type: no field, or one int (result_int). */
static int result_empty(session *x, int type)
{
	hs_wire_frame(&x->out, type);
	return result_end(x);
}

static int result_int(session *x, int type, int64_t v)
{
	hs_wire_frame(&x->out, type);
	hs_wire_put_int(&x->out, v);
	return result_end(x);
}

/* ---- the calls ------------------------------------------------------------- */

static int do_hello(session *x)
{
	hs_wire_out *w = &x->out;
	hs_schema tabs = {0};
	hs_rowset series = {0};
	char *id = NULL, *restored = NULL;
	hs_buf e;
	int rc, n = 0;
	hs_wire_get_uint(&x->in); /* the client's protocol version */
	if (x->m)
		return fail(x, 400, HS_EINVALID, "bad request: HELLO inside a "
			    "session");
	if ((rc = need_master(x)) != 0)
		return rc;
	hs_buf_init(&e);
	rc = hs_master_begin(x->m, &e);
	if (rc == 0)
		rc = hs_master_tables(x->m, &tabs, &e);
	if (rc == 0 &&
	    hs_exec(x->mem, "CREATE TEMP TABLE IF NOT EXISTS hubsync_series("
			    "series TEXT PRIMARY KEY, high INTEGER NOT NULL DEFAULT"
			    " 0)") == SQLITE_OK)
		rc = hs_master_series(x->m, x->mem, &e);
	if (rc != 0) {
		master_fail(x, rc, &e);
		goto out;
	}
	hs_rowset_fetch(x->mem, "SELECT series FROM hubsync_series WHERE ?1 = ?1"
				" ORDER BY series", 0, &series);
	id = hs_master_id(x->m);
	restored = hs_master_restored_at(x->m);
	hs_wire_frame(w, HS_F_HELLO);
	hs_wire_put_uint(w, HS_WIRE_VERSION);
	hs_wire_put_text(w, id);
	hs_wire_put_int(w, hs_master_seq(x->m));
	hs_wire_put_text(w, restored);
	hs_wire_put_text(w, x->u->name);
	hs_wire_put_uint(w, (uint64_t)x->u->read_only);
	hs_wire_put_uint(w, (uint64_t)x->u->limited);
	hs_wire_put_uint(w, series.n);
	for (size_t i = 0; i < series.n; i++)
		hs_wire_put_text(w, (const char *)sqlite3_value_text(series.v[i]));
	for (int i = 0; i < tabs.n; i++)
		n += hs_users_may(x->u, tabs.t[i].name);
	hs_wire_put_uint(w, (uint64_t)n);
	for (int i = 0; i < tabs.n; i++) {
		const hs_table *t = &tabs.t[i];
		if (!hs_users_may(x->u, t->name))
			continue;
		hs_wire_put_text(w, t->name);
		hs_wire_put_uint(w, (uint64_t)t->ncols);
		for (int j = 0; j < t->ncols; j++) {
			char *d = hs_master_column_default(x->m, t->name, t->cols[j]);
			hs_wire_put_text(w, t->cols[j]);
			hs_wire_put_text(w, d);
			free(d);
		}
		hs_wire_put_uint(w, (uint64_t)t->npk);
		for (int k = 0; k < t->npk; k++)
			hs_wire_put_uint(w, (uint64_t)t->pk[k]);
		hs_wire_put_uint(w, (uint64_t)t->intpk);
	}
	rc = result_end(x);
out:
	drop_master(x); /* read only */
	free(id);
	free(restored);
	hs_rowset_clear(&series);
	hs_schema_clear(&tabs);
	hs_buf_free(&e);
	return rc;
}

static int do_query(session *x)
{
	hs_wire_out *w = &x->out;
	char *site = hs_wire_get_text(&x->in);
	char *user = hs_wire_get_text(&x->in); /* ignored: the token's */
	char *token = hs_wire_get_text(&x->in);
	char *tok = NULL, *prev = NULL;
	int64_t pushed = 0;
	int rc = 0, known = 0, elsewhere = 0;
	hs_buf e;
	hs_buf_init(&e);
	free(user);
	if (x->in.err || !site) {
		rc = bad_request(x);
		goto out;
	}
	if (x->m) {
		rc = fail(x, 400, HS_EINVALID, "bad request: QUERY inside a "
			  "session");
		goto out;
	}
	if ((rc = need_master(x)) != 0)
		goto out;
	known = hs_master_knows(x->m, site, token);
	elsewhere = hs_master_user_elsewhere(x->m, x->u->name, site);
	/* the site's marks as REGISTER would give them, then undone */
	rc = hs_master_begin(x->m, &e);
	if (rc == 0)
		rc = hs_master_register(x->m, site, x->u->name, &pushed, &tok,
					&prev, &e);
	drop_master(x);
	if (rc != 0) {
		master_fail(x, rc, &e);
		goto out;
	}
	hs_wire_frame(w, HS_F_QUERY);
	hs_wire_put_int(w, pushed);
	hs_wire_put_text(w, tok);
	hs_wire_put_text(w, prev);
	hs_wire_put_uint(w, (uint64_t)known);
	hs_wire_put_uint(w, (uint64_t)elsewhere);
	rc = result_end(x);
out:
	free(site);
	free(token);
	free(tok);
	free(prev);
	hs_buf_free(&e);
	return rc;
}

/* The master's table name in x->have (loaded once), or NULL. */
static const hs_table *master_table(session *x, const char *name)
{
	if (!x->have_loaded) {
		hs_buf e;
		hs_buf_init(&e);
		hs_master_tables(x->m, &x->have, &e);
		hs_buf_free(&e);
		x->have_loaded = 1;
	}
	return hs_schema_find(&x->have, name);
}

static int do_ensure(session *x)
{
	char *name = hs_wire_get_text(&x->in);
	char *sql = hs_wire_get_text(&x->in);
	int64_t n = hs_wire_get_count(&x->in);
	char **want = NULL;
	hs_table t, mt;
	hs_table *grown;
	hs_buf e;
	int rc = 0, nwant = 0;

	memset(&t, 0, sizeof(t));
	memset(&mt, 0, sizeof(mt));
	hs_buf_init(&e);
	if (n > 0 && !(want = calloc((size_t)n, sizeof(char *))))
		n = -1;
	for (; n > 0 && nwant < n; nwant++)
		want[nwant] = hs_wire_get_text(&x->in);
	if (x->in.err || !name || !sql || n < 1) {
		rc = bad_request(x);
		goto out;
	}
	if (!hs_users_may(x->u, name)) {
		rc = fail(x, 403, HS_EINVALID, "user %s may not sync table \"%s\": "
			  "sync only the tables it allows (hubsync init --tables, "
			  "hubsync untrack)", x->u->name, name);
		goto out;
	}
	if ((rc = need_master(x)) != 0)
		goto out;
	if (hs_table_exists(x->mem, name) != 1 && hs_exec(x->mem, sql) != SQLITE_OK) {
		rc = fail(x, 400, HS_EINVALID, "bad request: the definition of "
			  "table \"%s\" does not work: %s", name,
			  sqlite3_errmsg(x->mem));
		goto out;
	}
	if (hs_table_exists(x->mem, name) != 1 ||
	    hs_table_load(x->mem, name, &t, &e) != 0) {
		rc = fail(x, 400, HS_EINVALID, "bad request: %s",
			  e.s ? e.s : "no such table in its definition");
		goto out;
	}
	if (x->u->read_only) {
		const hs_table *have = master_table(x, name);
		for (int j = 0; have && j < t.ncols; j++)
			if (hs_table_col(have, t.cols[j]) < 0)
				have = NULL;
		if (!have) {
			rc = fail(x, 403, HS_EINVALID, "user %s may only read: the "
				  "master has no table \"%s\" with all of this "
				  "PC's columns, and only a user who may write can "
				  "add it", x->u->name, name);
			goto out;
		}
	}
	if ((rc = hs_master_ensure_table(x->m, x->mem, &t, &mt, &e)) != 0) {
		master_fail(x, rc, &e);
		goto out;
	}
	int same = mt.ncols == nwant;
	for (int j = 0; same && j < nwant; j++)
		same = want[j] && strcmp(want[j], mt.cols[j]) == 0;
	if (!same) {
		rc = fail(x, 409, HS_ECONFLICT, "the master's table \"%s\" changed "
			  "during this sync (another PC's app upgrade): nothing was "
			  "changed; sync again", name);
		goto out;
	}
	grown = realloc(x->ms.t, (size_t)(x->ms.n + 1) * sizeof(hs_table));
	if (!grown) {
		rc = fail(x, 500, HS_ERROR, "out of memory");
		goto out;
	}
	x->ms.t = grown;
	x->ms.t[x->ms.n++] = mt;
	memset(&mt, 0, sizeof(mt));
	rc = result_empty(x, HS_F_ENSURE);
out:
	hs_table_clear(&t);
	hs_table_clear(&mt);
	for (int j = 0; j < nwant; j++)
		free(want[j]);
	free(want);
	free(name);
	free(sql);
	hs_buf_free(&e);
	return rc;
}

/* A call that must come inside the session's transaction. */
static int need_session(session *x)
{
	if (!x->m)
		return fail(x, 400, HS_EINVALID, "bad request: a call outside a "
			    "session (BEGIN first)");
	return 0;
}

static int do_begin(session *x)
{
	hs_buf e;
	int rc;
	if ((rc = need_master(x)) != 0)
		return rc;
	hs_buf_init(&e);
	if ((rc = hs_master_begin(x->m, &e)) != 0)
		master_fail(x, rc, &e);
	hs_buf_free(&e);
	if (rc == 0)
		rc = result_empty(x, HS_F_BEGIN);
	return rc;
}

static int do_register(session *x)
{
	char *site = hs_wire_get_text(&x->in);
	char *user = hs_wire_get_text(&x->in); /* ignored: the token's */
	int64_t expect = hs_wire_get_int(&x->in), pushed = 0;
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	free(user);
	if (x->in.err || !site)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_register(x->m, site, x->u->name, &pushed, NULL,
					  NULL, &e)) != 0)
		master_fail(x, rc, &e);
	else if (pushed != expect)
		rc = fail(x, 409, HS_ECONFLICT, "the server already has this PC's "
			  "changes up to %lld, not %lld (an earlier sync whose "
			  "answer was lost): nothing was changed; sync again",
			  (long long)pushed, (long long)expect);
	if (rc == 0)
		rc = result_int(x, HS_F_REGISTER, pushed);
	free(site);
	hs_buf_free(&e);
	return rc;
}

static int do_token(session *x)
{
	char *prev = hs_wire_get_text(&x->in);
	char *token = hs_wire_get_text(&x->in);
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if (x->in.err || !token)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_set_token(x->m, prev, token, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0)
		rc = result_empty(x, HS_F_TOKEN);
	free(prev);
	free(token);
	hs_buf_free(&e);
	return rc;
}

/* Push rows read and merged at a time: the merge streams, so a push of
 * any size costs the server bounded memory. */
#define MERGE_BATCH 1024

/* Read up to n of the MERGE call's push rows (PUSHROW frames) into cs. */
static int read_push(session *x, hs_changeset *cs, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		int npk;
		hs_rowchange *rc;
		if (hs_wire_next(&x->in) != HS_F_PUSHROW ||
		    hs_wire_get_pushrow(&x->in, cs, &npk) != 0)
			return bad_request(x);
		rc = &cs->rows[cs->n - 1];
		if (rc->table >= x->ms.n || rc->ncols != x->ms.t[rc->table].ncols ||
		    npk != x->ms.t[rc->table].npk)
			return fail(x, 400, HS_EINVALID, "bad request: a pushed row "
				    "does not fit its table");
	}
	return 0;
}

/* A row of the push the merge gave a new id: its place in the push. */
typedef struct new_id {
	uint64_t row;
	int64_t key;
} new_id;

/*
 * MERGE: the push rows are merged in batches as they are read, in the
 * order sent (a client sends deletes children first, then the rest
 * parents first: merge.h). The answer lists the rows given new ids.
 */
static int do_merge(session *x)
{
	hs_wire_in *in = &x->in;
	hs_wire_out *w = &x->out;
	int64_t now = hs_wire_get_int(in);
	uint64_t ntab = hs_wire_get_uint(in), nrows, done = 0;
	hs_changeset cs = {0};
	hs_merge_stats st = {0};
	int64_t *local_max = NULL, *old = NULL;
	new_id *ids = NULL;
	size_t nids = 0, capids = 0;
	hs_buf e;
	int rc = 0;

	hs_buf_init(&e);
	if ((rc = need_session(x)) != 0)
		goto out;
	if (in->err || ntab != (uint64_t)x->ms.n) {
		rc = bad_request(x);
		goto out;
	}
	local_max = calloc(hs_count(x->ms.n), sizeof(int64_t));
	st.pushed = calloc(hs_count(x->ms.n), sizeof(int64_t));
	old = calloc(MERGE_BATCH, sizeof(int64_t));
	if (!local_max || !st.pushed || !old) {
		rc = fail(x, 500, HS_ERROR, "out of memory");
		goto out;
	}
	for (int i = 0; i < x->ms.n; i++)
		local_max[i] = hs_wire_get_int(in);
	nrows = hs_wire_get_uint(in);
	if (in->err) {
		rc = bad_request(x);
		goto out;
	}
	if (x->u->read_only && nrows) {
		rc = fail(x, 403, HS_EINVALID, "user %s may only read: %llu changed "
			  "rows of this PC were not sent; ask for write access",
			  x->u->name, (unsigned long long)nrows);
		goto out;
	}
	if ((rc = hs_master_merge_begin(x->m, &x->ms, local_max, now, &st, &e)) != 0) {
		master_fail(x, rc, &e);
		goto out;
	}
	while (done < nrows) {
		uint64_t n = nrows - done < MERGE_BATCH ? nrows - done : MERGE_BATCH;
		if ((rc = read_push(x, &cs, n)) != 0)
			goto out;
		/* the integer keys as sent: the merge may give rows new ones */
		for (size_t i = 0; i < cs.n; i++)
			old[i] = sqlite3_value_int64(cs.rows[i].pk[0]);
		if ((rc = hs_master_merge_rows(x->m, &cs, &e)) != 0) {
			master_fail(x, rc, &e);
			goto out;
		}
		for (size_t i = 0; i < cs.n; i++) {
			const hs_rowchange *r = &cs.rows[i];
			if (!r->pk[0] || !x->ms.t[r->table].intpk ||
			    sqlite3_value_int64(r->pk[0]) == old[i])
				continue; /* kept for the end, or the same id */
			if (nids == capids) {
				size_t cap = capids ? capids * 2 : 64;
				new_id *v = realloc(ids, cap * sizeof(*v));
				if (!v) {
					rc = fail(x, 500, HS_ERROR, "out of memory");
					goto out;
				}
				ids = v;
				capids = cap;
			}
			ids[nids++] = (new_id){done + i, sqlite3_value_int64(r->pk[0])};
		}
		done += n;
		hs_changeset_clear(&cs);
	}
	if ((rc = hs_master_merge_end(x->m, &e)) != 0) {
		master_fail(x, rc, &e);
		goto out;
	}
	hs_wire_frame(w, HS_F_MERGE);
	hs_wire_put_int(w, st.conflicts);
	hs_wire_put_uint(w, (uint64_t)x->ms.n);
	for (int i = 0; i < x->ms.n; i++)
		hs_wire_put_int(w, st.pushed[i]);
	hs_wire_put_uint(w, nids);
	for (size_t i = 0; i < nids; i++) {
		hs_wire_put_uint(w, ids[i].row);
		hs_wire_put_int(w, ids[i].key);
	}
	rc = result_end(x);
out:
	hs_changeset_clear(&cs);
	free(local_max);
	free(old);
	free(ids);
	free(st.pushed);
	hs_buf_free(&e);
	return rc;
}

/* Keep the rules of tables u may sync. */
static void filter_rules(hs_merge_rules *r, const hs_server_user *u)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (hs_users_may(u, r->v[i].table)) {
			r->v[k++] = r->v[i];
			continue;
		}
		free(r->v[i].table);
		free(r->v[i].column);
		free(r->v[i].key);
	}
	r->n = k;
}

static int do_rules(session *x)
{
	hs_merge_rules set = {0}, all = {0};
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if ((rc = need_session(x)) == 0 && hs_wire_get_rules(&x->in, &set) != 0)
		rc = bad_request(x);
	if (rc == 0) {
		if (x->u->read_only) /* an office-wide setting: not theirs */
			hs_merge_rules_clear(&set);
		filter_rules(&set, x->u);
		rc = hs_master_merge_rules(x->m, &set, &all, &e);
		if (rc > 1 || rc < 0)
			master_fail(x, rc, &e);
	}
	if (rc == 0 || rc == 1) {
		filter_rules(&all, x->u);
		hs_wire_frame(&x->out, HS_F_RULES);
		hs_wire_put_uint(&x->out, rc == 0);
		hs_wire_put_rules(&x->out, &all);
		rc = result_end(x);
	}
	hs_merge_rules_clear(&set);
	hs_merge_rules_clear(&all);
	hs_buf_free(&e);
	return rc;
}

static int do_resolve(session *x)
{
	hs_rowset rs = {0};
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if ((rc = need_session(x)) == 0 && hs_wire_get_rowset(&x->in, &rs) != 0)
		rc = bad_request(x);
	else if (rc == 0 && rs.n && rs.ncols != 3)
		rc = bad_request(x);
	else if (rc == 0 && rs.n && x->u->read_only)
		rc = fail(x, 403, HS_EINVALID, "user %s may only read: its "
			  "conflict resolutions were not sent", x->u->name);
	else if (rc == 0 && rs.n && (rc = hs_master_resolve(x->m, &rs, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0)
		rc = result_empty(x, HS_F_RESOLVE);
	hs_rowset_clear(&rs);
	hs_buf_free(&e);
	return rc;
}

static int do_pushed(session *x)
{
	int64_t id = hs_wire_get_int(&x->in);
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if (x->in.err)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_set_pushed(x->m, id, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0)
		rc = result_empty(x, HS_F_PUSHED);
	hs_buf_free(&e);
	return rc;
}

static int do_reserve(session *x)
{
	char *series = hs_wire_get_text(&x->in);
	int64_t size = hs_wire_get_int(&x->in);
	int64_t above = hs_wire_get_int(&x->in), first = 0;
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if (x->in.err || !series || size < 1 || size > 1000000 || above < 0)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_reserve(x->m, series, size, above, &first, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0)
		rc = result_int(x, HS_F_RESERVE, first);
	free(series);
	hs_buf_free(&e);
	return rc;
}

static int do_housekeep(session *x)
{
	int64_t since = hs_wire_get_int(&x->in);
	int64_t set = hs_wire_get_int(&x->in);
	int64_t now = hs_wire_get_int(&x->in);
	int days = 0;
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if (x->in.err || set < 0 || set > 100000)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_housekeep(x->m, since,
					   x->u->read_only ? 0 : (int)set, now,
					   &days, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0)
		rc = result_int(x, HS_F_HOUSEKEEP, days);
	hs_buf_free(&e);
	return rc;
}

/* Keep the rows of rs whose column col names a table u may sync. */
static void filter_rows(hs_rowset *rs, int col, const hs_server_user *u)
{
	size_t k = 0, nc = (size_t)rs->ncols;
	if (!u->limited)
		return;
	for (size_t r = 0; r < rs->n; r++) {
		sqlite3_value **row = &rs->v[r * nc];
		if (hs_users_may(u, (const char *)sqlite3_value_text(row[col]))) {
			if (k != r)
				memmove(&rs->v[k * nc], row, nc * sizeof(*row));
			k++;
		} else {
			for (size_t c = 0; c < nc; c++)
				sqlite3_value_free(row[c]);
		}
	}
	rs->n = k;
}

/* An audit trail entry into the PULL's history (hs_history_fn). */
static int keep_history(void *ctx, sqlite3_value **v)
{
	hs_rowset *rs = ctx;
	sqlite3_value *own[8];
	for (int i = 0; i < 8; i++)
		if (!(own[i] = sqlite3_value_dup(v[i]))) {
			while (i--)
				sqlite3_value_free(own[i]);
			return SQLITE_NOMEM;
		}
	rs->ncols = 8;
	return hs_rowset_push(rs, own);
}

/* PULL since [later:uint]: later = 1 (a PC of this version) moves the
 * history into the answer of the session's ROWS, streamed (h frames);
 * without it (an older PC) the history is in the PULL answer. */
static int do_pull(session *x)
{
	int64_t since = hs_wire_get_int(&x->in);
	int later = x->in.pos < x->in.flen && hs_wire_get_uint(&x->in) == 1;
	hs_pull p;
	hs_buf e;
	int rc;
	memset(&p, 0, sizeof(p));
	hs_buf_init(&e);
	if (x->in.err)
		rc = bad_request(x);
	else if ((rc = need_session(x)) != 0)
		; /* answered: no session to pull from */
	else if ((rc = hs_master_pull(x->m, since, &p, &e)) != 0)
		master_fail(x, rc, &e);
	else if (later)
		x->history_since = since; /* p.history stays empty */
	else if ((rc = hs_master_pull_history(x->m, since, keep_history,
					      &p.history, &e)) == 1)
		rc = 0; /* it came with the pull */
	else if (rc != 0)
		master_fail(x, rc, &e);
	if (rc == 0) {
		filter_rows(&p.conflicts, 2, x->u);
		filter_rows(&p.history, 1, x->u);
		filter_rows(&p.rebases, 0, x->u);
		hs_wire_frame(&x->out, HS_F_PULL);
		hs_wire_put_int(&x->out, p.seq);
		hs_wire_put_rowset(&x->out, &p.conflicts);
		hs_wire_put_rowset(&x->out, &p.history);
		hs_wire_put_rowset(&x->out, &p.rebases);
		rc = result_end(x);
	}
	hs_pull_clear(&p);
	hs_buf_free(&e);
	return rc;
}

static int do_sites(session *x)
{
	int64_t now = hs_wire_get_int(&x->in);
	hs_rowset rs = {0};
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if (x->in.err)
		rc = bad_request(x);
	else if ((rc = need_session(x)) == 0 &&
		 (rc = hs_master_sites(x->m, now, &rs, &e)) != 0)
		master_fail(x, rc, &e);
	if (rc == 0) {
		hs_wire_frame(&x->out, HS_F_SITES);
		hs_wire_put_rowset(&x->out, &rs);
		rc = result_end(x);
	}
	hs_rowset_clear(&rs);
	hs_buf_free(&e);
	return rc;
}

static int do_commit(session *x)
{
	hs_buf e;
	int rc;
	hs_buf_init(&e);
	if ((rc = need_session(x)) == 0 && (rc = hs_master_commit(x->m, &e)) != 0)
		master_fail(x, rc, &e);
	hs_buf_free(&e);
	if (rc == 0) {
		x->committed = 1;
		hs_server_notify_change(x->srv, hs_master_seq(x->m));
		rc = result_empty(x, HS_F_COMMIT);
	}
	return rc;
}

/* hs_pull_fn: one pulled row as a PULLROW frame. */
static int send_row(void *ctx, hs_rowchange *rc)
{
	session *x = ctx;
	hs_wire_frame(&x->out, HS_F_PULLROW);
	hs_wire_put_pullrow(&x->out, rc, x->ms.t[rc->table].npk);
	return hs_wire_end(&x->out) == 0 ? SQLITE_OK : SQLITE_IOERR;
}

/* hs_history_fn: an audit trail entry the user may see as an h frame. */
static int send_history(void *ctx, sqlite3_value **v)
{
	session *x = ctx;
	if (x->u->limited && !hs_users_may(x->u, (const char *)sqlite3_value_text(v[1])))
		return SQLITE_OK;
	hs_wire_frame(&x->out, HS_F_HISTROW);
	for (int i = 0; i < 8; i++)
		hs_wire_put_value(&x->out, v[i]);
	return hs_wire_end(&x->out) == 0 ? SQLITE_OK : SQLITE_IOERR;
}

static int do_rows(session *x)
{
	int64_t since = hs_wire_get_int(&x->in);
	int64_t table = hs_wire_get_int(&x->in);
	hs_pull p;
	hs_buf e;
	int rc;
	memset(&p, 0, sizeof(p));
	hs_buf_init(&e);
	if (x->in.err || table < -1 || table >= x->ms.n)
		return bad_request(x);
	if ((rc = need_master(x)) != 0)
		return rc;
	rc = hs_master_read_begin(x->m, &e);
	if (rc == 0)
		rc = table < 0 ? hs_master_pull_rows(x->m, &x->ms, since, send_row, x,
						     &p, &e)
			       : hs_master_pull_table(x->m, &x->ms, (int)table, since,
						      send_row, x, &p, &e);
	if (rc == 0 && table < 0 && x->history_since >= 0) {
		rc = hs_master_pull_history(x->m, x->history_since, send_history,
					    x, &e);
		if (rc == 1) { /* this store hands it with the pull */
			hs_pull h;
			memset(&h, 0, sizeof(h));
			rc = hs_master_pull(x->m, x->history_since, &h, &e);
			for (size_t r = 0; rc == 0 && r < h.history.n; r++)
				if (send_history(x, &h.history.v[r * 8]) != SQLITE_OK)
					rc = HS_EIO;
			hs_pull_clear(&h);
		}
		x->history_since = -1;
	}
	hs_master_read_end(x->m);
	if (rc != 0) {
		master_fail(x, rc, &e);
	} else {
		hs_wire_frame(&x->out, HS_F_ROWS);
		hs_wire_put_int(&x->out, p.max_hlc);
		hs_wire_put_int(&x->out, p.max_hlc_site);
		hs_wire_put_text(&x->out, p.max_hlc_user);
		rc = result_end(x);
	}
	hs_pull_clear(&p);
	hs_buf_free(&e);
	return rc;
}

static int run_call(session *x, int type)
{
	switch (type) {
	case HS_F_HELLO:
		return do_hello(x);
	case HS_F_QUERY:
		return do_query(x);
	case HS_F_ENSURE:
		return do_ensure(x);
	case HS_F_BEGIN:
		return do_begin(x);
	case HS_F_REGISTER:
		return do_register(x);
	case HS_F_TOKEN:
		return do_token(x);
	case HS_F_MERGE:
		return do_merge(x);
	case HS_F_RULES:
		return do_rules(x);
	case HS_F_RESOLVE:
		return do_resolve(x);
	case HS_F_PUSHED:
		return do_pushed(x);
	case HS_F_RESERVE:
		return do_reserve(x);
	case HS_F_HOUSEKEEP:
		return do_housekeep(x);
	case HS_F_PULL:
		return do_pull(x);
	case HS_F_SITES:
		return do_sites(x);
	case HS_F_COMMIT:
		return do_commit(x);
	case HS_F_ROWS:
		return do_rows(x);
	default:
		return fail(x, 400, HS_EINVALID, "bad request: unknown call '%c'",
			    type > 32 && type < 127 ? type : '?');
	}
}

/* The whole stream is intact (checksum, END) before anything runs. */
static int check_stream(session *x, FILE *body)
{
	hs_wire_in in;
	int t;
	if (hs_wire_in_init(&in, file_read, body, x->select1) != 0)
		t = -1;
	else
		while ((t = hs_wire_next(&in)) > 0)
			;
	if (t < 0)
		fail(x, 400, HS_EINVALID, "bad request: %s", in.msg);
	hs_wire_in_free(&in);
	rewind(body);
	return t < 0 ? HS_EINVALID : 0;
}

int hs_server_handle(hs_server *s, const hs_server_user *u, FILE *body,
		     FILE *out, int *http_status, char **errmsg)
{
	session x;
	int rc = 0, t;

	memset(&x, 0, sizeof(x));
	x.history_since = -1;
	x.srv = s;
	x.u = u;
	hs_buf_init(&x.err);
	pthread_mutex_lock(&s->mu);
	if (hs_sqlite_open(":memory:", &x.mem,
			   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX) != SQLITE_OK ||
	    hs_select1_prepare(x.mem, &x.select1) != SQLITE_OK)
		rc = fail(&x, 500, HS_ERROR, "out of memory");
	if (rc == 0)
		rc = check_stream(&x, body);
	if (rc == 0 && (hs_wire_in_init(&x.in, file_read, body, x.select1) != 0 ||
			hs_wire_out_init(&x.out, file_write, out, ZSTD_LEVEL) != 0))
		rc = fail(&x, 500, HS_ERROR, "cannot start the answer");
	while (rc == 0 && (t = hs_wire_next(&x.in)) > 0)
		rc = run_call(&x, t);
	if (rc == 0 && x.in.err)
		rc = bad_request(&x);
	if (rc != 0 && x.committed) {
		/* the transaction is in: report the rest in the answer */
		hs_wire_frame(&x.out, HS_F_ERROR);
		hs_wire_put_int(&x.out, x.code);
		hs_wire_put_text(&x.out, x.err.s ? x.err.s : "the server failed");
		hs_wire_end(&x.out);
		rc = 0;
	}
	if (rc == 0 && hs_wire_out_finish(&x.out) != 0)
		rc = fail(&x, 500, HS_ERROR, "cannot write the answer: check the "
			  "server's temporary folder");
	drop_master(&x); /* rolls back what was not committed */
	pthread_mutex_unlock(&s->mu);
	*http_status = rc ? (x.status ? x.status : 500) : 200;
	if (rc != 0 && errmsg)
		*errmsg = hs_strdup(x.err.s ? x.err.s : "the server failed");
	fflush(out);
	hs_wire_in_free(&x.in);
	hs_wire_out_free(&x.out);
	hs_schema_clear(&x.ms);
	hs_schema_clear(&x.have);
	sqlite3_finalize(x.select1);
	sqlite3_close(x.mem);
	hs_buf_free(&x.err);
	return rc ? x.code : HS_OK;
}
