/*
 * master.c - the file master: open/create, merge a push, read a pull.
 *
 * On-disk format (besides the user tables, which mirror the replicas'):
 *
 *   hubsync_master(key, value)      'format' = 1, 'seq' = last sequence
 *   hubsync_sites(id, site, user, pushed, pulled, token, prev_token,
 *                 last_sync, synced_seq)   (the last two: hs_master_sites)
 *   hubsync_rows(tbl, pk, alive, seq, vseq, hlc, site, clocks)
 *   hubsync_conflicts(...), hubsync_history(...)   (same as a replica's)
 *
 * hubsync_rows.pk encodes the primary key values, each as one type byte
 * (1 integer, 2 real, 3 text, 4 blob, 5 null) followed by 8 big-endian
 * bytes (integer, IEEE real) or a 4-byte big-endian length and the bytes
 * (text, blob). hubsync_rows.clocks holds, for each column of the table in
 * declaration order, 28 big-endian bytes: hlc (8), site (4), vseq (8),
 * seq (8). Every sequence number is unique and increasing; "seq" of a row
 * is the largest of its own and its columns' seq.
 *
 * The caller holds the master lock for the whole life of the handle, so the
 * file is only ever written by one PC at a time, and read only under the
 * lock too (SQLite's locks do not work between PCs over SMB).
 */
#include "master.h"

#include "apply.h"
#include "hubsync.h"
#include "json.h"
#include "platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASTER_FORMAT 1
#define CLOCK_BYTES 28

static const char *MASTER_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_master(key TEXT PRIMARY KEY, value)"
	" WITHOUT ROWID;"
	"INSERT OR IGNORE INTO hubsync_master VALUES('format', 1), ('seq', 0),"
	" ('id', lower(hex(randomblob(16))));"
	"CREATE TABLE IF NOT EXISTS hubsync_sites(id INTEGER PRIMARY KEY,"
	" site TEXT NOT NULL UNIQUE, user TEXT,"
	" pushed INTEGER NOT NULL DEFAULT 0, pulled INTEGER NOT NULL DEFAULT 0,"
	" token TEXT, prev_token TEXT);"
	"CREATE TABLE IF NOT EXISTS hubsync_rows(tbl TEXT NOT NULL,"
	" pk BLOB NOT NULL, alive INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" vseq INTEGER NOT NULL, hlc INTEGER NOT NULL, site INTEGER NOT NULL,"
	" clocks BLOB, PRIMARY KEY(tbl, pk)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS hubsync_rows_seq ON hubsync_rows(tbl, seq);"
	"CREATE TABLE IF NOT EXISTS hubsync_conflicts(id INTEGER PRIMARY KEY"
	" AUTOINCREMENT, seq INTEGER NOT NULL, tbl TEXT NOT NULL,"
	" pk TEXT NOT NULL, col TEXT, local_value, remote_value,"
	" winner TEXT NOT NULL, local_user TEXT, remote_user TEXT,"
	" detected_at TEXT NOT NULL, resolved INTEGER NOT NULL DEFAULT 0,"
	" resolved_at TEXT, resolved_by TEXT, local_site TEXT,"
	" remote_site TEXT);"
	"CREATE INDEX IF NOT EXISTS hubsync_conflicts_seq"
	" ON hubsync_conflicts(seq);"
	"CREATE TABLE IF NOT EXISTS hubsync_numbers(series TEXT PRIMARY KEY,"
	" next INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hubsync_rebases(seq INTEGER PRIMARY KEY,"
	" site INTEGER NOT NULL, tbl TEXT NOT NULL, old_key INTEGER NOT NULL,"
	" new_key INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hubsync_history(seq INTEGER PRIMARY KEY,"
	" tbl TEXT NOT NULL, key TEXT NOT NULL, pk TEXT NOT NULL,"
	" op TEXT NOT NULL, user TEXT, at TEXT NOT NULL, changes TEXT);";

/* Columns added to the master's own tables since format 1 was first
 * written (table, column, declaration): added when a master lacks them. */
static const char *const MASTER_COLUMNS[][3] = {
	{"hubsync_conflicts", "local_site", "TEXT"},
	{"hubsync_conflicts", "remote_site", "TEXT"},
};

typedef struct col_clock {
	int64_t hlc;
	int site;
	int64_t vseq, seq;
} col_clock;

typedef struct row_meta {
	int found, alive;
	int64_t seq, vseq, hlc;
	int site;
	int ncols;
	col_clock *cols;
} row_meta;

typedef struct rebase {
	int table;
	int64_t old_key, new_key;
} rebase;

typedef struct doomed {
	int table;
	sqlite3_value *key;
	int64_t hlc;
} doomed;

static void doomed_clear(hs_master *m);

struct hs_master {
	sqlite3 *db;
	char *path;
	hs_lock lock;
	int in_txn;
	int64_t seq;
	int64_t began; /* seq when this transaction began */
	int site;
	char *site_id; /* the site's hex id */
	char *user;
	sqlite3_stmt *meta_get, *meta_put, *conflict_put, *history_put;
	sqlite3_stmt *select1; /* makes values (hs_value_*) */
	hs_applier *appliers; /* per schema table, lazily prepared */
	int nappliers;
	rebase *rebases; /* ids given to this push's rows */
	int *unique; /* per schema table: has UNIQUE columns (lazy) */
	int failed_table; /* schema index of the row a merge failed on */
	doomed *doomed;   /* parents this push deleted */
	size_t ndoomed;
	int nrebases;
	const int64_t *local_max;
};

/* ---- encodings ---------------------------------------------------- */

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void pk_encode(sqlite3_value **pk, int npk, hs_buf *b)
{
	unsigned char h[9];
	hs_buf_reset(b);
	for (int i = 0; i < npk; i++) {
		int t = sqlite3_value_type(pk[i]);
		if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
			uint64_t u;
			if (t == SQLITE_INTEGER) {
				u = (uint64_t)sqlite3_value_int64(pk[i]);
			} else {
				double d = sqlite3_value_double(pk[i]);
				memcpy(&u, &d, 8);
			}
			h[0] = t == SQLITE_INTEGER ? 1 : 2;
			put_be(h + 1, u, 8);
			hs_buf_putn(b, (const char *)h, 9);
		} else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
			int n = sqlite3_value_bytes(pk[i]);
			const void *p = t == SQLITE_TEXT
						? (const void *)sqlite3_value_text(pk[i])
						: sqlite3_value_blob(pk[i]);
			h[0] = t == SQLITE_TEXT ? 3 : 4;
			put_be(h + 1, (uint64_t)n, 4);
			hs_buf_putn(b, (const char *)h, 5);
			hs_buf_putn(b, p ? (const char *)p : "", (size_t)n);
		} else {
			h[0] = 5;
			hs_buf_putn(b, (const char *)h, 1);
		}
	}
}

/* Decode npk values from a pk blob into out (owned). -1 if malformed. */
static int pk_decode(const unsigned char *p, int n, int npk,
		     sqlite3_value **out, sqlite3_stmt *select1)
{
	int pos = 0;
	memset(out, 0, sizeof(*out) * (size_t)npk);
	for (int i = 0; i < npk; i++) {
		if (pos >= n)
			goto bad;
		int t = p[pos++];
		if (t == 1 || t == 2) {
			if (pos + 8 > n)
				goto bad;
			uint64_t u = get_be(p + pos, 8);
			pos += 8;
			if (t == 1) {
				out[i] = hs_value_int(select1, (int64_t)u);
			} else {
				double d;
				memcpy(&d, &u, 8);
				out[i] = hs_value_double(select1, d);
			}
		} else if (t == 3 || t == 4) {
			if (pos + 4 > n)
				goto bad;
			int64_t len = (int64_t)get_be(p + pos, 4);
			pos += 4;
			if (len > n - pos)
				goto bad;
			out[i] = hs_value_blob(select1, t == 3 ? SQLITE_TEXT : SQLITE_BLOB,
					       p + pos, (int)len);
			pos += (int)len;
		} else if (t == 5) {
			out[i] = hs_value_blob(select1, SQLITE_NULL, NULL, 0);
		} else {
			goto bad;
		}
		if (!out[i])
			goto bad;
	}
	if (pos == n)
		return 0;
bad:
	for (int i = 0; i < npk; i++) {
		sqlite3_value_free(out[i]);
		out[i] = NULL;
	}
	return -1;
}

/* Bind the key values of a pk blob to st's ?1..?npk (borrowing the
 * blob's bytes: valid while the blob is). -1 if malformed. */
static int pk_bind(sqlite3_stmt *st, const unsigned char *p, int n, int npk)
{
	int pos = 0;
	for (int i = 0; i < npk; i++) {
		if (pos >= n)
			return -1;
		int t = p[pos++];
		if (t == 1 || t == 2) {
			if (pos + 8 > n)
				return -1;
			uint64_t u = get_be(p + pos, 8);
			pos += 8;
			if (t == 1) {
				sqlite3_bind_int64(st, i + 1, (sqlite3_int64)u);
			} else {
				double d;
				memcpy(&d, &u, 8);
				sqlite3_bind_double(st, i + 1, d);
			}
		} else if (t == 3 || t == 4) {
			if (pos + 4 > n)
				return -1;
			int64_t len = (int64_t)get_be(p + pos, 4);
			pos += 4;
			if (len > n - pos)
				return -1;
			if (t == 3)
				sqlite3_bind_text(st, i + 1, (const char *)p + pos,
						  (int)len, SQLITE_STATIC);
			else
				sqlite3_bind_blob(st, i + 1, p + pos, (int)len,
						  SQLITE_STATIC);
			pos += (int)len;
		} else if (t == 5) {
			sqlite3_bind_null(st, i + 1);
		} else {
			return -1;
		}
	}
	return pos == n ? 0 : -1;
}

static void clocks_encode(const row_meta *rm, hs_buf *b)
{
	unsigned char c[CLOCK_BYTES];
	hs_buf_reset(b);
	for (int i = 0; i < rm->ncols; i++) {
		put_be(c, (uint64_t)rm->cols[i].hlc, 8);
		put_be(c + 8, (uint64_t)(uint32_t)rm->cols[i].site, 4);
		put_be(c + 12, (uint64_t)rm->cols[i].vseq, 8);
		put_be(c + 20, (uint64_t)rm->cols[i].seq, 8);
		hs_buf_putn(b, (const char *)c, CLOCK_BYTES);
	}
}

static void clocks_decode(const unsigned char *p, int n, row_meta *rm)
{
	for (int i = 0; i < rm->ncols; i++) {
		col_clock *c = &rm->cols[i];
		if ((i + 1) * CLOCK_BYTES > n) {
			memset(c, 0, sizeof(*c));
			continue;
		}
		const unsigned char *q = p + i * CLOCK_BYTES;
		c->hlc = (int64_t)get_be(q, 8);
		c->site = (int)(uint32_t)get_be(q + 8, 4);
		c->vseq = (int64_t)get_be(q + 12, 8);
		c->seq = (int64_t)get_be(q + 20, 8);
	}
}

/* ---- open, lock, close -------------------------------------------- */

/* Write "what on the master PATH: sqlite message; what to do" to err and
 * return the hs_error for rc. */
static int sqlite_fail(hs_master *m, hs_buf *err, int rc, const char *what)
{
	int code = HS_ERROR;
	const char *hint = "";
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = HS_ECORRUPT;
		hint = "; the master is damaged: restore it from a backup"
		       " (hubsync restore)";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = HS_EBUSY;
		hint = "; another program holds the master open: close it"
		       " (only hubsync should open it) and try again";
		break;
	case SQLITE_READONLY:
		code = HS_EIO;
		hint = "; the master file and its folder must be writable";
		break;
	case SQLITE_FULL:
		code = HS_EIO;
		hint = "; the share is full: free some space";
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		code = HS_EIO;
		hint = "; check that the share is reachable";
		break;
	}
	hs_buf_printf(err, "%s on the master %s: %s%s", what, m->path,
		      m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc), hint);
	return code;
}

/* Add the MASTER_COLUMNS a master lacks. SQLite code. */
static int add_columns(sqlite3 *db)
{
	int sr = SQLITE_OK;
	for (size_t i = 0; sr == SQLITE_OK &&
			   i < sizeof(MASTER_COLUMNS) / sizeof(*MASTER_COLUMNS); i++) {
		char q[200];
		if (hs_table_has_column(db, MASTER_COLUMNS[i][0],
					MASTER_COLUMNS[i][1]))
			continue;
		snprintf(q, sizeof q, "ALTER TABLE %s ADD COLUMN %s %s",
			 MASTER_COLUMNS[i][0], MASTER_COLUMNS[i][1],
			 MASTER_COLUMNS[i][2]);
		sr = hs_exec(db, q);
	}
	return sr;
}

int hs_master_open(hs_master **out, const char *path, int create,
		   int lock_timeout_ms, hs_buf *err)
{
	hs_master *m = calloc(1, sizeof(*m));
	hs_os_stat sb;
	int rc = HS_ERROR, sr;
	*out = NULL;
	if (!m || !(m->path = hs_strdup(path))) {
		hs_buf_puts(err, "out of memory");
		free(m);
		return HS_ERROR;
	}
	if (!create && hs_os_stat_path(path, &sb) != 0) {
		hs_buf_printf(err, "the master %s is not there: is the share "
			      "mounted? (only hubsync init creates a master)", path);
		rc = HS_EIO;
		goto cleanup;
	}
	rc = hs_lock_acquire(&m->lock, path, lock_timeout_ms, err);
	if (rc != 0)
		goto cleanup;
	sr = sqlite3_open_v2(path, &m->db,
			     SQLITE_OPEN_READWRITE |
				     (create ? SQLITE_OPEN_CREATE : 0),
			     NULL);
	if (sr != SQLITE_OK) {
		rc = sqlite_fail(m, err, sr, "cannot open");
		goto cleanup;
	}
	/* our lock keeps other syncs out; this waits for other programs */
	sqlite3_busy_timeout(m->db, lock_timeout_ms);
	sqlite3_extended_result_codes(m->db, 1);
	/* Network share: no WAL, and a journal that is truncated rather
	 * than deleted (deleting failed intermittently over SMB). */
	sr = hs_exec(m->db, "PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=FULL;"
			    " PRAGMA foreign_keys=OFF;");
	if (sr != SQLITE_OK) {
		rc = sqlite_fail(m, err, sr, "cannot read");
		goto cleanup;
	}
	int64_t fmt = hs_query_int(m->db, "SELECT value FROM hubsync_master"
					  " WHERE key = 'format'", -1, &sr);
	if (sr != SQLITE_OK && sr != SQLITE_ERROR) {
		rc = sqlite_fail(m, err, sr, "cannot read");
		goto cleanup;
	}
	if (sr != SQLITE_OK || fmt < 0) {
		/* No hubsync tables: only a new, empty file may become a master. */
		int64_t tables = hs_query_int(m->db, "SELECT count(*) FROM"
						     " sqlite_master", 0, &sr);
		if (!create || sr != SQLITE_OK || tables > 0) {
			hs_buf_printf(err, "%s is not a hubsync master (it has no "
				      "hubsync tables): check the master path", path);
			rc = HS_ECORRUPT;
			goto cleanup;
		}
		sr = hs_exec(m->db, MASTER_DDL);
		if (sr != SQLITE_OK) {
			rc = sqlite_fail(m, err, sr, "cannot create hubsync tables");
			goto cleanup;
		}
	} else if (fmt != MASTER_FORMAT) {
		hs_buf_printf(err, "the master %s has format %lld, this hubsync "
			      "reads format %d: update hubsync on this PC", path,
			      (long long)fmt, MASTER_FORMAT);
		rc = HS_ECORRUPT;
		goto cleanup;
	} else if ((sr = hs_exec(m->db, MASTER_DDL)) != SQLITE_OK ||
		   (sr = add_columns(m->db)) != SQLITE_OK) {
		/* adds what a newer hubsync of the same format uses */
		rc = sqlite_fail(m, err, sr, "cannot update hubsync tables");
		goto cleanup;
	}
	if ((sr = hs_select1_prepare(m->db, &m->select1)) != SQLITE_OK) {
		rc = sqlite_fail(m, err, sr, "cannot read");
		goto cleanup;
	}
	*out = m;
	return 0;
cleanup:
	hs_master_close(m);
	return rc;
}

void hs_master_close(hs_master *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nappliers; i++)
		hs_applier_free(&m->appliers[i]);
	free(m->appliers);
	free(m->rebases);
	free(m->unique);
	doomed_clear(m);
	sqlite3_finalize(m->meta_get);
	sqlite3_finalize(m->meta_put);
	sqlite3_finalize(m->conflict_put);
	sqlite3_finalize(m->history_put);
	sqlite3_finalize(m->select1);
	if (m->db && m->in_txn)
		hs_exec(m->db, "ROLLBACK");
	sqlite3_close(m->db);
	hs_lock_release(&m->lock);
	free(m->user);
	free(m->site_id);
	free(m->path);
	free(m);
}

sqlite3 *hs_master_db(hs_master *m) { return m->db; }

void hs_master_refresh_lock(hs_master *m) { hs_lock_refresh(&m->lock); }

/* ---- schema -------------------------------------------------------- */

/* Add column col of table t (declared as in the replica rdb: its type
 * and default, no constraint) to the master's table. */
static int add_column(hs_master *m, sqlite3 *rdb, const hs_table *t,
		      const char *col)
{
	sqlite3_stmt *st;
	hs_buf b;
	int sr = hs_prepare(rdb, &st, "SELECT type, dflt_value FROM"
				      " pragma_table_xinfo(?1) WHERE name = ?2");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	hs_buf_init(&b);
	if ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *dflt = (const char *)sqlite3_column_text(st, 1);
		hs_buf_puts(&b, "ALTER TABLE ");
		hs_buf_ident(&b, t->name);
		hs_buf_puts(&b, " ADD COLUMN ");
		hs_buf_ident(&b, col);
		if (type && *type)
			hs_buf_printf(&b, " %s", type);
		if (dflt)
			hs_buf_printf(&b, " DEFAULT %s", dflt);
		sr = b.oom ? SQLITE_NOMEM : hs_exec(m->db, b.s);
	} else {
		sr = sr == SQLITE_DONE ? SQLITE_ERROR : sr;
	}
	sqlite3_finalize(st);
	hs_buf_free(&b);
	return sr;
}

/* The CREATE TABLE statement of table name in db (malloc'd) or NULL. */
static char *create_sql(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	char *sql = NULL;
	if (hs_prepare(db, &st, "SELECT sql FROM sqlite_master WHERE type ="
				" 'table' AND name = ?1") != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		sql = hs_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return sql;
}

int hs_master_ensure_table(hs_master *m, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err)
{
	hs_buf e2;
	int rc = 0, sr;

	memset(mt, 0, sizeof(*mt));
	int there = hs_table_exists(m->db, t->name);
	if (there < 0)
		return sqlite_fail(m, err, sqlite3_errcode(m->db), "cannot read");
	if (!there) {
		char *sql = create_sql(rdb, t->name);
		sr = sql ? hs_exec(m->db, sql) : SQLITE_NOMEM;
		free(sql);
		if (sr != SQLITE_OK)
			return sqlite_fail(m, err, sr, "cannot create a table");
	}
	hs_buf_init(&e2);
	for (int pass = 0; rc == 0 && pass < 2; pass++) {
		int added = 0;
		hs_table_clear(mt);
		hs_buf_reset(&e2);
		if (hs_table_load(m->db, t->name, mt, &e2) != 0) {
			hs_buf_printf(err, "the master %s: %s", m->path,
				      e2.s ? e2.s : "unreadable table");
			rc = HS_ECORRUPT;
			break;
		}
		/* Rows are matched by key: the keys must be the same. */
		int same = mt->npk == t->npk;
		for (int k = 0; same && k < t->npk; k++)
			same = strcmp(mt->cols[mt->pk[k]], t->cols[t->pk[k]]) == 0;
		if (!same) {
			hs_buf_printf(err, "table \"%s\" in the master %s has another "
				      "primary key than in this database: the master "
				      "belongs to a different app; check the master "
				      "path", t->name, m->path);
			rc = HS_ECORRUPT;
			break;
		}
		/* A column an app upgrade added here: the master gets it
		 * too (PCs without it never blank it). */
		for (int i = 0; pass == 0 && i < t->ncols; i++) {
			if (hs_table_col(mt, t->cols[i]) >= 0)
				continue;
			if ((sr = add_column(m, rdb, t, t->cols[i])) != SQLITE_OK) {
				rc = sqlite_fail(m, err, sr, "cannot add a column");
				break;
			}
			added = 1;
		}
		if (!added)
			break;
	}
	hs_buf_free(&e2);
	if (rc != 0)
		hs_table_clear(mt);
	return rc;
}

char *hs_master_id(hs_master *m)
{
	sqlite3_stmt *st;
	char *v = NULL;
	if (hs_prepare(m->db, &st, "SELECT value FROM hubsync_master WHERE key ="
				   " 'id'") != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = hs_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int hs_master_user_elsewhere(hs_master *m, const char *user, const char *site)
{
	return hs_exec_text(m->db, "SELECT 1 FROM hubsync_sites WHERE user = ?1"
				   " AND site IS NOT ?2", user, site) == SQLITE_ROW;
}

int hs_master_knows(hs_master *m, const char *site, const char *token)
{
	return site && token &&
	       hs_exec_text(m->db, "SELECT 1 FROM hubsync_sites WHERE site = ?1"
				   " AND ?2 IN (token, prev_token)", site,
			    token) == SQLITE_ROW;
}

/* ---- transaction ----------------------------------------------------- */

int hs_master_register(hs_master *m, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err)
{
	sqlite3_stmt *st = NULL;
	int sr = hs_prepare(m->db, &st, "INSERT INTO hubsync_sites(site, user)"
					" VALUES(?1, ?2) ON CONFLICT(site) DO UPDATE"
					" SET user = excluded.user"
					" RETURNING id, pushed, token, prev_token");
	if (token)
		*token = NULL;
	if (prev_token)
		*prev_token = NULL;
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
		sr = sqlite3_step(st);
		if (sr == SQLITE_ROW) {
			m->site = sqlite3_column_int(st, 0);
			*pushed = sqlite3_column_int64(st, 1);
			if (token)
				*token = hs_strdup((const char *)sqlite3_column_text(st, 2));
			if (prev_token)
				*prev_token =
					hs_strdup((const char *)sqlite3_column_text(st, 3));
			sr = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot register this PC");
	free(m->user);
	m->user = hs_strdup(user);
	free(m->site_id);
	m->site_id = hs_strdup(site);
	return 0;
}

int hs_master_begin(hs_master *m, hs_buf *err)
{
	int sr = hs_exec(m->db, "BEGIN IMMEDIATE");
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot start a transaction");
	m->in_txn = 1;
	m->seq = hs_query_int(m->db, "SELECT value FROM hubsync_master"
				     " WHERE key = 'seq'", 0, &sr);
	m->began = m->seq;
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read");
	return 0;
}

int hs_master_set_token(hs_master *m, const char *prev, const char *token,
			hs_buf *err)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st, "UPDATE hubsync_sites SET prev_token = ?1,"
					" token = ?2 WHERE id = ?3");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, m->site);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
	}
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot write");
}

int hs_master_commit(hs_master *m, hs_buf *err)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st, "UPDATE hubsync_master SET value = ?1"
					" WHERE key = 'seq'");
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, m->seq);
		sr = hs_step_done(st);
	}
	sqlite3_finalize(st);
	if (sr == SQLITE_OK)
		sr = hs_exec(m->db, "COMMIT");
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot commit");
	m->in_txn = 0;
	return 0;
}

int hs_master_set_pushed(hs_master *m, int64_t id, hs_buf *err)
{
	int64_t v[2] = {id, m->site};
	int sr = hs_exec_ints(m->db, "UPDATE hubsync_sites SET pushed = ?1"
				     " WHERE id = ?2", 2, v);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot write");
}

/* ---- merge ----------------------------------------------------------- */

static hs_applier *applier_for(hs_master *m, const hs_schema *s, int ti)
{
	if (!m->appliers) {
		m->appliers = calloc(hs_count(s->n), sizeof(hs_applier));
		if (!m->appliers)
			return NULL;
		m->nappliers = s->n;
	}
	hs_applier *a = &m->appliers[ti];
	if (!a->t && hs_applier_prepare(a, m->db, &s->t[ti], NULL, 0) != SQLITE_OK)
		return NULL;
	return a;
}

static void row_meta_clear(row_meta *rm)
{
	free(rm->cols);
	memset(rm, 0, sizeof(*rm));
}

static int meta_load(hs_master *m, const char *tbl, const hs_buf *pk,
		     int ncols, row_meta *rm)
{
	int sr;
	memset(rm, 0, sizeof(*rm));
	rm->ncols = ncols;
	rm->cols = calloc((size_t)ncols, sizeof(col_clock));
	if (!rm->cols)
		return SQLITE_NOMEM;
	if (!m->meta_get &&
	    (sr = hs_prepare(m->db, &m->meta_get,
			     "SELECT alive, seq, vseq, hlc, site, clocks FROM"
			     " hubsync_rows WHERE tbl = ?1 AND pk = ?2")) != SQLITE_OK)
		return sr;
	sqlite3_bind_text(m->meta_get, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_blob(m->meta_get, 2, pk->s, (int)pk->len, SQLITE_STATIC);
	sr = sqlite3_step(m->meta_get);
	if (sr == SQLITE_ROW) {
		rm->found = 1;
		rm->alive = sqlite3_column_int(m->meta_get, 0);
		rm->seq = sqlite3_column_int64(m->meta_get, 1);
		rm->vseq = sqlite3_column_int64(m->meta_get, 2);
		rm->hlc = sqlite3_column_int64(m->meta_get, 3);
		rm->site = sqlite3_column_int(m->meta_get, 4);
		clocks_decode(sqlite3_column_blob(m->meta_get, 5),
			      sqlite3_column_bytes(m->meta_get, 5), rm);
		sr = SQLITE_OK;
	} else if (sr == SQLITE_DONE) {
		sr = SQLITE_OK;
	}
	sqlite3_reset(m->meta_get);
	return sr;
}

static int meta_store(hs_master *m, const char *tbl, const hs_buf *pk,
		      const row_meta *rm)
{
	hs_buf cb;
	int sr = SQLITE_OK;
	if (!m->meta_put &&
	    (sr = hs_prepare(m->db, &m->meta_put,
			     "INSERT OR REPLACE INTO hubsync_rows(tbl, pk, alive,"
			     " seq, vseq, hlc, site, clocks)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")) != SQLITE_OK)
		return sr;
	hs_buf_init(&cb);
	clocks_encode(rm, &cb);
	if (cb.oom) {
		hs_buf_free(&cb);
		return SQLITE_NOMEM;
	}
	sqlite3_bind_text(m->meta_put, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_blob(m->meta_put, 2, pk->s, (int)pk->len, SQLITE_STATIC);
	sqlite3_bind_int(m->meta_put, 3, rm->alive);
	sqlite3_bind_int64(m->meta_put, 4, rm->seq);
	sqlite3_bind_int64(m->meta_put, 5, rm->vseq);
	sqlite3_bind_int64(m->meta_put, 6, rm->hlc);
	sqlite3_bind_int(m->meta_put, 7, rm->site);
	sqlite3_bind_blob(m->meta_put, 8, cb.s ? cb.s : "", (int)cb.len,
			  SQLITE_STATIC);
	sr = sqlite3_step(m->meta_put);
	sqlite3_reset(m->meta_put);
	hs_buf_free(&cb);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* The user name (col 0) or hex id (col 1) of site number site, malloc'd. */
static char *site_info(hs_master *m, int site, int col)
{
	sqlite3_stmt *st;
	char *u = NULL;
	if (hs_prepare(m->db, &st, "SELECT user, site FROM hubsync_sites WHERE"
				   " id = ?1") != SQLITE_OK)
		return NULL;
	sqlite3_bind_int(st, 1, site);
	if (sqlite3_step(st) == SQLITE_ROW)
		u = hs_strdup((const char *)sqlite3_column_text(st, col));
	sqlite3_finalize(st);
	return u;
}

static char *site_user(hs_master *m, int site) { return site_info(m, site, 0); }

/* JSON text of a whole row (for whole-row conflicts), or NULL. */
static char *row_json(const hs_table *t, sqlite3_value **vals)
{
	json_t *o = json_object();
	for (int i = 0; o && i < t->ncols; i++)
		json_object_set_new(o, t->cols[i], hs_json_value(vals[i]));
	return hs_json_dump(o);
}

typedef struct conflict_rec {
	const hs_table *t;
	sqlite3_value **pk;
	const char *col;            /* NULL: whole row */
	sqlite3_value *local_value; /* used when col */
	sqlite3_value *remote_value;
	const char *local_text; /* used when !col (row JSON or NULL) */
	const char *remote_text;
	int local_wins;
	int remote_site;
} conflict_rec;

static int conflict_put(hs_master *m, const conflict_rec *c, int64_t now_ms)
{
	char when[32], *pk, *ru;
	int sr = SQLITE_OK;
	if (!m->conflict_put &&
	    (sr = hs_prepare(m->db, &m->conflict_put,
			     "INSERT INTO hubsync_conflicts(seq, tbl, pk, col,"
			     " local_value, remote_value, winner, local_user,"
			     " remote_user, detected_at, local_site, remote_site)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			     " ?12)")) != SQLITE_OK)
		return sr;
	hs_iso_time(now_ms, when);
	pk = hs_json_dump(hs_json_pk(c->t, c->pk));
	ru = site_user(m, c->remote_site);
	char *rs = site_info(m, c->remote_site, 1);
	sqlite3_stmt *st = m->conflict_put;
	sqlite3_bind_int64(st, 1, ++m->seq);
	sqlite3_bind_text(st, 2, c->t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pk ? pk : "{}", -1, SQLITE_TRANSIENT);
	if (c->col) {
		sqlite3_bind_text(st, 4, c->col, -1, SQLITE_STATIC);
		sqlite3_bind_value(st, 5, c->local_value);
		sqlite3_bind_value(st, 6, c->remote_value);
	} else {
		sqlite3_bind_null(st, 4);
		sqlite3_bind_text(st, 5, c->local_text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, c->remote_text, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(st, 7, c->local_wins ? "local" : "remote", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 8, m->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, ru, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 11, m->site_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, rs, -1, SQLITE_TRANSIENT);
	sr = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(pk);
	free(ru);
	free(rs);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* Append a history row: op and {"col": [old, new]} of changed columns. */
static int history_put(hs_master *m, const hs_table *t, sqlite3_value **pk,
		       const char *op, sqlite3_value **oldv,
		       sqlite3_value **newv, const unsigned char *changed,
		       int64_t hlc)
{
	char when[32], *key, *pkj, *ch;
	json_t *o = json_object();
	int sr = SQLITE_OK;
	for (int i = 0; o && (oldv || newv) && i < t->ncols; i++) {
		if (changed && (!changed[i] || hs_value_same(oldv[i], newv[i])))
			continue;
		json_t *pair = json_array();
		json_array_append_new(pair, oldv ? hs_json_value(oldv[i])
						 : json_null());
		json_array_append_new(pair, newv ? hs_json_value(newv[i])
						 : json_null());
		json_object_set_new(o, t->cols[i], pair);
	}
	if (json_object_size(o) == 0 && strcmp(op, "update") == 0) {
		json_decref(o); /* only values written again: nothing to show */
		return SQLITE_OK;
	}
	if (!m->history_put &&
	    (sr = hs_prepare(m->db, &m->history_put,
			     "INSERT INTO hubsync_history(seq, tbl, key, pk, op,"
			     " user, at, changes) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
			     " ?7, ?8)")) != SQLITE_OK) {
		json_decref(o);
		return sr;
	}
	hs_iso_time(hlc >> 16, when);
	key = hs_key_text(pk, t->npk);
	pkj = hs_json_dump(hs_json_pk(t, pk));
	ch = hs_json_dump(o);
	sqlite3_stmt *st = m->history_put;
	sqlite3_bind_int64(st, 1, m->seq);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key ? key : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, pkj ? pkj : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, m->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, ch, -1, SQLITE_TRANSIENT);
	sr = sqlite3_step(st);
	sqlite3_reset(st);
	free(key);
	free(pkj);
	free(ch);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* Columns that record when and by whom a row was written: they merge by
 * last writer like the rest, but two values of them are not a conflict
 * anyone needs to review (two installs writing the same seed row at
 * different times differ only there). */
static int bookkeeping(const char *col)
{
	return strcmp(col, "updated_at") == 0 || strcmp(col, "updated_by") == 0 ||
	       strcmp(col, "created_at") == 0;
}

/* The largest base among the columns a push changes (an update-only
 * row's view of the row), or the row base for an insert. */
static int64_t push_base(const hs_rowchange *rc)
{
	int64_t b = rc->row_base;
	if (rc->inserted)
		return b;
	for (int i = 0; i < rc->ncols; i++)
		if (rc->changed[i] && rc->base[i] > b)
			b = rc->base[i];
	return b;
}

/* 1 if any column of the row was set by another site after base. */
static int concurrent_site(const row_meta *rm, int me, int64_t base)
{
	if (rm->vseq > base && rm->site != me)
		return rm->site;
	for (int i = 0; i < rm->ncols; i++)
		if (rm->cols[i].vseq > base && rm->cols[i].site != me)
			return rm->cols[i].site;
	return 0;
}

/* 1 if the rows a and b hold the same values (bookkeeping aside). */
static int same_content(const hs_table *t, sqlite3_value **a,
			sqlite3_value **b)
{
	for (int i = 0; i < t->ncols; i++)
		if (!bookkeeping(t->cols[i]) && !hs_value_same(a[i], b[i]))
			return 0;
	return 1;
}

/* Point references to rows this push has re-keyed at their new ids. */
static int rewrite_references(hs_master *m, const hs_schema *s,
			      hs_rowchange *rc)
{
	const hs_table *t = &s->t[rc->table];
	for (int f = 0; f < t->nfk; f++) {
		sqlite3_value *v = rc->vals[t->fk[f].col];
		if (!v || sqlite3_value_type(v) != SQLITE_INTEGER)
			continue;
		for (int k = 0; k < m->nrebases; k++) {
			rebase *rb = &m->rebases[k];
			if (!hs_fkey_targets_key(&t->fk[f], &s->t[rb->table]) ||
			    rb->old_key != sqlite3_value_int64(v))
				continue;
			sqlite3_value *nv = hs_value_int(m->select1, rb->new_key);
			if (!nv)
				return SQLITE_NOMEM;
			sqlite3_value_free(v);
			rc->vals[t->fk[f].col] = nv;
			break;
		}
	}
	return SQLITE_OK;
}

/* Give rc (a new row of an integer-key table) an id no PC has used:
 * above the master's ids, tombstones, the pusher's own ids and ids
 * already given in this push. Records the change for the pusher. */
static int rebase_row(hs_master *m, const hs_schema *s, hs_rowchange *rc,
		      hs_buf *pk, row_meta *rm)
{
	const hs_table *t = &s->t[rc->table];
	hs_buf sql;
	int sr;
	int64_t old_key = sqlite3_value_int64(rc->pk[0]), key;

	hs_buf_init(&sql);
	hs_buf_puts(&sql, "SELECT max(");
	hs_buf_ident(&sql, t->cols[t->pk[0]]);
	hs_buf_puts(&sql, ") FROM ");
	hs_buf_ident(&sql, t->name);
	key = sql.oom ? 0 : hs_query_int(m->db, sql.s, 0, &sr);
	hs_buf_free(&sql);
	if (m->local_max && m->local_max[rc->table] > key)
		key = m->local_max[rc->table];
	for (int k = 0; k < m->nrebases; k++)
		if (m->rebases[k].table == rc->table && m->rebases[k].new_key > key)
			key = m->rebases[k].new_key;
	do {
		key++;
		sqlite3_value *nv = hs_value_int(m->select1, key);
		if (!nv)
			return SQLITE_NOMEM;
		sqlite3_value_free(rc->pk[0]);
		rc->pk[0] = nv;
		row_meta_clear(rm);
		pk_encode(rc->pk, 1, pk);
		if ((sr = meta_load(m, t->name, pk, t->ncols, rm)) != SQLITE_OK)
			return sr;
	} while (rm->found);
	sqlite3_value_free(rc->vals[t->pk[0]]);
	rc->vals[t->pk[0]] = sqlite3_value_dup(rc->pk[0]);

	rebase *rb = realloc(m->rebases, (size_t)(m->nrebases + 1) * sizeof(*rb));
	if (!rb || !rc->vals[t->pk[0]])
		return SQLITE_NOMEM;
	m->rebases = rb;
	rb[m->nrebases++] = (rebase){rc->table, old_key, key};

	sqlite3_stmt *st;
	sr = hs_prepare(m->db, &st, "INSERT INTO hubsync_rebases(seq, site, tbl,"
				    " old_key, new_key) VALUES(?1, ?2, ?3, ?4, ?5)");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int64(st, 1, ++m->seq);
	sqlite3_bind_int(st, 2, m->site);
	sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, old_key);
	sqlite3_bind_int64(st, 5, key);
	sr = hs_step_done(st);
	sqlite3_finalize(st);
	return sr;
}

/* JSON of a row of t other than pk's that holds one of vals' UNIQUE
 * values, or NULL. */
static char *unique_holder(hs_master *m, const hs_table *t,
			   sqlite3_value **vals, int *site)
{
	sqlite3_stmt *ix, *ic, *q;
	char *found = NULL;
	hs_buf sql;
	if (hs_prepare(m->db, &ix, "SELECT name FROM pragma_index_list(?1)"
				   " WHERE \"unique\" AND origin <> 'pk'")
	    != SQLITE_OK)
		return NULL;
	hs_buf_init(&sql);
	sqlite3_bind_text(ix, 1, t->name, -1, SQLITE_STATIC);
	while (!found && sqlite3_step(ix) == SQLITE_ROW) {
		int cols[16], n = 0;
		if (hs_prepare(m->db, &ic, "SELECT name FROM pragma_index_info(?1)")
		    != SQLITE_OK)
			break;
		sqlite3_bind_value(ic, 1, sqlite3_column_value(ix, 0));
		while (n < 16 && sqlite3_step(ic) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(ic, 0);
			cols[n] = c ? hs_table_col(t, c) : -1;
			if (cols[n] >= 0)
				n++;
		}
		sqlite3_finalize(ic);
		if (!n)
			continue;
		hs_buf_reset(&sql);
		hs_table_select(t, &sql);
		for (int i = 0; i < n; i++) {
			hs_buf_puts(&sql, i ? " AND " : " WHERE ");
			hs_buf_ident(&sql, t->cols[cols[i]]);
			hs_buf_printf(&sql, " = ?%d", i + 1);
		}
		if (sql.oom || hs_prepare(m->db, &q, sql.s) != SQLITE_OK)
			continue;
		for (int i = 0; i < n; i++)
			sqlite3_bind_value(q, i + 1, vals[cols[i]]);
		if (sqlite3_step(q) == SQLITE_ROW) {
			json_t *o = json_object();
			sqlite3_value *hpk[HS_MAX_PK];
			hs_buf key;
			row_meta hm;
			for (int i = 0; o && i < t->ncols; i++)
				json_object_set_new(o, t->cols[i],
						    hs_json_value(sqlite3_column_value(q, i)));
			found = hs_json_dump(o);
			/* who wrote the row that holds the value */
			for (int k = 0; k < t->npk; k++)
				hpk[k] = sqlite3_column_value(q, t->pk[k]);
			hs_buf_init(&key);
			pk_encode(hpk, t->npk, &key);
			if (!key.oom && meta_load(m, t->name, &key, t->ncols, &hm) ==
						SQLITE_OK && hm.found)
				*site = hm.site;
			row_meta_clear(&hm);
			hs_buf_free(&key);
		}
		sqlite3_finalize(q);
	}
	sqlite3_finalize(ix);
	hs_buf_free(&sql);
	return found;
}

/* The pushed row rc broke a constraint (a UNIQUE value another row holds):
 * keep it as a conflict, and make the pusher take the master's state
 * back: a new row is announced deleted, an update re-announces the
 * master's values. */
static int reject_row(hs_master *m, const hs_table *t, hs_rowchange *rc,
		      const hs_buf *pk, row_meta *rm, int existed,
		      int64_t now_ms, int64_t *conflicts)
{
	int holder_site = 0;
	char *holder = unique_holder(m, t, rc->vals, &holder_site);
	char *mine = row_json(t, rc->vals);
	conflict_rec c = {t, rc->pk, NULL, NULL, NULL, mine, holder, 0, holder_site};
	int sr = conflict_put(m, &c, now_ms);
	free(holder);
	free(mine);
	if (sr != SQLITE_OK)
		return sr;
	(*conflicts)++;
	int64_t seq = ++m->seq;
	if (!existed) {
		rm->alive = 0;
		rm->site = 0; /* nobody's: every replica, the pusher too, applies it */
		rm->vseq = seq;
		rm->hlc = rc->row_hlc;
	}
	rm->seq = seq;
	for (int i = 0; i < t->ncols; i++)
		if (rc->changed[i] && existed)
			rm->cols[i].seq = seq;
	return meta_store(m, t->name, pk, rm);
}

/* 1 if sr says another row holds one of the row's UNIQUE values. Other
 * failures (CHECK, NOT NULL, a trigger on the master) stop the sync. */
static int is_constraint(int sr) { return sr == SQLITE_CONSTRAINT_UNIQUE; }

/* Merge one pushed row. *conflicts counts new conflicts. */
/*
 * Foreign keys across PCs. A parent deleted on one PC while another adds
 * or keeps a child under it: the delete wins, as for any row, and takes
 * the children the deleting PC had not deleted itself along (each kept as
 * a conflict, so it can be restored); a child pushed later under a parent
 * already deleted is kept out the same way. Every PC then holds clean
 * foreign keys, and a freed id is never reused under old children.
 */

/* Delete row vals (all columns of t) from the master as a consequence of
 * a parent's delete, announce it to everyone and keep it as a conflict. */
static int drop_dependent(hs_master *m, const hs_table *t, sqlite3_value **vals,
			  int64_t hlc, int64_t now_ms, int64_t *conflicts,
			  int pushed)
{
	hs_applier *a = NULL;
	sqlite3_value *pk[HS_MAX_PK] = {0};
	hs_buf key;
	row_meta rm = {0};
	char *row = row_json(t, vals);
	int sr;
	for (int k = 0; k < t->npk; k++)
		pk[k] = vals[t->pk[k]];
	for (int i = 0; i < m->nappliers; i++)
		if (m->appliers[i].t == t)
			a = &m->appliers[i];
	hs_buf_init(&key);
	pk_encode(pk, t->npk, &key);
	sr = key.oom || !a ? SQLITE_NOMEM : meta_load(m, t->name, &key, t->ncols, &rm);
	if (sr == SQLITE_OK) {
		/* pushed: the pusher's own row lost to a parent deleted
		 * earlier; else the pusher's delete took another's row */
		conflict_rec c = {t, pk, NULL, NULL, NULL, pushed ? row : NULL,
				  pushed ? NULL : row, !pushed, pushed ? 0 : rm.site};
		sr = conflict_put(m, &c, now_ms);
	}
	if (sr == SQLITE_OK)
		sr = hs_applier_delete(a, pk);
	if (sr == SQLITE_OK) {
		(*conflicts)++;
		rm.alive = 0;
		rm.site = 0; /* nobody's: every PC applies it */
		rm.hlc = hlc;
		rm.seq = rm.vseq = ++m->seq;
		sr = history_put(m, t, pk, "delete", vals, NULL, NULL, hlc);
	}
	if (sr == SQLITE_OK)
		sr = meta_store(m, t->name, &key, &rm);
	row_meta_clear(&rm);
	hs_buf_free(&key);
	free(row);
	return sr;
}

/* The parent row of table pi with key value key is gone: drop the
 * children still under it, and theirs. */
static int cascade_delete(hs_master *m, const hs_schema *s, int pi,
			  sqlite3_value *key, int64_t hlc, int64_t now_ms,
			  int64_t *conflicts, int depth)
{
	int sr = SQLITE_OK;
	for (int ci = 0; sr == SQLITE_OK && ci < s->n && depth < 16; ci++) {
		const hs_table *c = &s->t[ci];
		for (int f = 0; sr == SQLITE_OK && f < c->nfk; f++) {
			hs_rowset kids = {0};
			sqlite3_stmt *q;
			hs_buf b;
			if (!hs_fkey_targets_pk(&c->fk[f], &s->t[pi]) ||
			    !applier_for(m, s, ci))
				continue;
			hs_buf_init(&b);
			hs_table_select(c, &b);
			hs_buf_puts(&b, " WHERE ");
			hs_buf_ident(&b, c->cols[c->fk[f].col]);
			hs_buf_puts(&b, " = ?1");
			sr = b.oom ? SQLITE_NOMEM : hs_prepare(m->db, &q, b.s);
			hs_buf_free(&b);
			if (sr != SQLITE_OK)
				break;
			sqlite3_bind_value(q, 1, key);
			while ((sr = sqlite3_step(q)) == SQLITE_ROW)
				if ((sr = hs_rowset_add(&kids, q)) != SQLITE_OK)
					break;
			sqlite3_finalize(q);
			sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
			for (size_t r = 0; sr == SQLITE_OK && r < kids.n; r++) {
				sqlite3_value **v = &kids.v[r * (size_t)kids.ncols];
				sr = drop_dependent(m, c, v, hlc, now_ms, conflicts, 0);
				if (sr == SQLITE_OK && c->npk == 1)
					sr = cascade_delete(m, s, ci, v[c->pk[0]], hlc,
							    now_ms, conflicts, depth + 1);
			}
			hs_rowset_clear(&kids);
		}
	}
	return sr;
}

/* Remember a deleted parent key: its remaining children are dropped
 * once the whole push is in (the same push may move them elsewhere). */
static int doom(hs_master *m, int table, sqlite3_value *key, int64_t hlc)
{
	doomed *d = realloc(m->doomed, (m->ndoomed + 1) * sizeof(*d));
	if (!d)
		return SQLITE_NOMEM;
	m->doomed = d;
	d[m->ndoomed].table = table;
	d[m->ndoomed].hlc = hlc;
	if (!(d[m->ndoomed].key = sqlite3_value_dup(key)))
		return SQLITE_NOMEM;
	m->ndoomed++;
	return SQLITE_OK;
}

static void doomed_clear(hs_master *m)
{
	for (size_t i = 0; i < m->ndoomed; i++)
		sqlite3_value_free(m->doomed[i].key);
	free(m->doomed);
	m->doomed = NULL;
	m->ndoomed = 0;
}

/* 1 if row rc points (through a foreign key) at a parent the master has
 * as deleted. */
static int parent_deleted(hs_master *m, const hs_schema *s,
			  const hs_rowchange *rc)
{
	const hs_table *t = &s->t[rc->table];
	for (int f = 0; f < t->nfk; f++) {
		sqlite3_value *v = rc->vals[t->fk[f].col];
		if (!v || sqlite3_value_type(v) == SQLITE_NULL)
			continue;
		for (int pi = 0; pi < s->n; pi++) {
			const hs_table *p = &s->t[pi];
			hs_buf key;
			row_meta rm = {0};
			int gone;
			if (!hs_fkey_targets_pk(&t->fk[f], p))
				continue;
			hs_buf_init(&key);
			pk_encode(&v, 1, &key);
			gone = !key.oom &&
			       meta_load(m, p->name, &key, p->ncols, &rm) == SQLITE_OK &&
			       rm.found && !rm.alive;
			row_meta_clear(&rm);
			hs_buf_free(&key);
			if (gone)
				return 1;
		}
	}
	return 0;
}

/* merge_row's answer when a UNIQUE value is held by a row that this
 * same push may still move away (not a SQLite code). */
#define MERGE_DEFER 1000

static int merge_row(hs_master *m, const hs_schema *s, hs_rowchange *rc,
		     int64_t now_ms, int64_t *conflicts, int *merged, int final,
		     sqlite3_value **parked)
{
	const hs_table *t = &s->t[rc->table];
	hs_applier *a = applier_for(m, s, rc->table);
	sqlite3_value **old = calloc((size_t)t->ncols, sizeof(*old));
	unsigned char *win = calloc((size_t)t->ncols, 1);
	hs_buf pk;
	row_meta rm;
	int sr, found = 0, other;
	char *lt = NULL, *rt = NULL;
	col_clock *before = NULL; /* the row's clocks before this merge */

	memset(&rm, 0, sizeof(rm));
	hs_buf_init(&pk);
	*merged = 0;
	if (!a || !old || !win) {
		sr = a ? SQLITE_NOMEM : sqlite3_errcode(m->db);
		goto cleanup;
	}
	if (rc->alive && (sr = rewrite_references(m, s, rc)) != SQLITE_OK)
		goto cleanup;
	pk_encode(rc->pk, t->npk, &pk);
	if (pk.oom) {
		sr = SQLITE_NOMEM;
		goto cleanup;
	}
	sr = meta_load(m, t->name, &pk, t->ncols, &rm);
	if (sr == SQLITE_OK)
		sr = parked ? SQLITE_OK : hs_applier_select(a, rc->pk, old, &found);
	if (parked) { /* the row was taken out for a moment: its values */
		found = 1;
		for (int i = 0; i < t->ncols; i++)
			old[i] = sqlite3_value_dup(parked[i]);
	}
	if (sr != SQLITE_OK)
		goto cleanup;
	/* A row the metadata calls alive but the table lacks (a master
	 * edited by hand) is treated as gone. */
	int live = rm.found ? rm.alive && found : found;
	/* An id made offline that a different row already has on the master,
	 * one the writer had not seen: another PC's, or even its own (made
	 * before it learnt that its earlier row got this id). Rows sent
	 * again after a restore (existing) are the same rows. */
	if (t->intpk && rc->inserted && rc->alive && rm.found &&
	    rm.vseq > rc->row_base && (rm.site != m->site || !rc->existing) &&
	    sqlite3_value_type(rc->pk[0]) == SQLITE_INTEGER &&
	    (!live || !found || !same_content(t, old, rc->vals))) {
		/* The row at the old id comes back to the pusher, whose own
		 * row there moves away. */
		rm.seq = ++m->seq;
		for (int i = 0; i < t->ncols; i++)
			rm.cols[i].seq = rm.seq; /* pulled whole */
		if ((sr = meta_store(m, t->name, &pk, &rm)) != SQLITE_OK)
			goto cleanup;
		if ((sr = rebase_row(m, s, rc, &pk, &rm)) != SQLITE_OK)
			goto cleanup;
		for (int i = 0; i < t->ncols; i++) {
			sqlite3_value_free(old[i]);
			old[i] = NULL;
		}
		found = live = 0;
	}

	/* Its parent is gone: it goes too (kept as a conflict). After the
	 * re-keying above: a new row whose id another PC's row has must
	 * not take that row with it. */
	if (rc->alive && t->nfk && parent_deleted(m, s, rc)) {
		sr = drop_dependent(m, t, rc->vals, rc->row_hlc, now_ms, conflicts, 1);
		goto cleanup;
	}
	if (!rc->alive) {
		if (!live && (!rm.found || rm.alive)) {
			/* Never reached us: keep the delete, so that the same
			 * row pushed later by another PC (seed data every
			 * install wrote) does not bring it back. */
			rm.alive = 0;
			rm.hlc = rc->row_hlc;
			rm.site = m->site;
			rm.seq = rm.vseq = ++m->seq;
			sr = meta_store(m, t->name, &pk, &rm);
		}
		if (!live)
			goto cleanup; /* already gone */
		other = concurrent_site(&rm, m->site, rc->row_base);
		if (other && found) {
			conflict_rec c = {t, rc->pk, NULL, NULL,
					  NULL, NULL, NULL, 1, other};
			rt = row_json(t, old);
			c.remote_text = rt;
			if ((sr = conflict_put(m, &c, now_ms)) != SQLITE_OK)
				goto cleanup;
			(*conflicts)++;
		}
		if ((sr = hs_applier_delete(a, rc->pk)) !=
		    SQLITE_OK)
			goto cleanup;
		if (t->npk == 1 && (sr = doom(m, rc->table, rc->pk[0],
					      rc->row_hlc)) != SQLITE_OK)
			goto cleanup;
		rm.seq = rm.vseq = ++m->seq;
		rm.alive = 0;
		rm.hlc = rc->row_hlc;
		rm.site = m->site;
		sr = history_put(m, t, rc->pk, "delete",
				 found ? old : NULL, NULL, NULL, rc->row_hlc);
		if (sr == SQLITE_OK)
			sr = meta_store(m, t->name, &pk, &rm);
		*merged = 1;
		goto cleanup;
	}

	if (!live) {
		int64_t base = push_base(rc);
		if (rm.found && !rm.alive && rm.vseq > base && rm.site != m->site) {
			/* Deleted concurrently: the delete wins; keep the row
			 * as a conflict and re-announce the delete. */
			conflict_rec c = {t, rc->pk, NULL, NULL,
					  NULL, NULL, NULL, 0, rm.site};
			lt = row_json(t, rc->vals);
			c.local_text = lt;
			if ((sr = conflict_put(m, &c, now_ms)) != SQLITE_OK)
				goto cleanup;
			(*conflicts)++;
			rm.seq = ++m->seq;
			sr = meta_store(m, t->name, &pk, &rm);
			goto cleanup;
		}
		memset(win, 1, (size_t)t->ncols);
		if ((sr = hs_applier_upsert(a, rc->vals, win)) != SQLITE_OK) {
			if (is_constraint(sr))
				sr = final ? reject_row(m, t, rc, &pk, &rm, 0, now_ms,
							conflicts)
					   : MERGE_DEFER;
			goto cleanup;
		}
		int64_t seq = ++m->seq;
		rm.alive = 1;
		rm.seq = rm.vseq = seq;
		rm.hlc = rc->row_hlc;
		rm.site = m->site;
		for (int i = 0; i < t->ncols; i++) {
			col_clock *cc = &rm.cols[i];
			cc->seq = seq;
			if (rc->inserted && !rc->changed[i]) {
				/* a column the pusher does not have (an app
				 * upgrade it has not had): its default, set
				 * by nobody, so any write of it wins */
				cc->hlc = 0;
				cc->site = 0;
				cc->vseq = 0;
				continue;
			}
			cc->hlc = rc->changed[i] ? rc->hlc[i] : rc->row_hlc;
			cc->site = m->site;
			cc->vseq = seq;
		}
		/* An insert's values are the row itself: the log says who
		 * and when. Rows that were there before tracking are not an
		 * event at all. */
		sr = rc->existing ? SQLITE_OK
				  : history_put(m, t, rc->pk, "insert", NULL, NULL,
						NULL, rc->row_hlc);
		if (sr == SQLITE_OK)
			sr = meta_store(m, t->name, &pk, &rm);
		*merged = 1;
		goto cleanup;
	}

	/* Alive on both sides: column by column. The same row inserted by
	 * two PCs (seed data every install writes) is no change at all. */
	if (rc->inserted && found && same_content(t, old, rc->vals))
		goto cleanup;
	int any_win = 0, touched = 0;
	int64_t seq = m->seq + 1;
	if (!rm.found) { /* rows present before tracking: no clocks yet */
		rm.alive = 1;
		rm.site = m->site;
	}
	for (int i = 0; i < t->ncols; i++) {
		if (!rc->changed[i])
			continue;
		col_clock *cc = &rm.cols[i];
		int same = found && hs_value_same(old[i], rc->vals[i]);
		int seen = !rm.found || cc->site == m->site || cc->vseq <= rc->base[i];
		if (same) {
			/* Written again with the same value: it takes the new
			 * time (later writes compete with it), no conflict. */
			win[i] = rc->hlc[i] > cc->hlc;
			continue;
		}
		if (seen) {
			win[i] = 1;
			continue;
		}
		int local_wins = rc->hlc[i] > cc->hlc ||
				 (rc->hlc[i] == cc->hlc && m->site > cc->site);
		if (bookkeeping(t->cols[i])) {
			/* merged like any column, but not worth anyone's time */
			win[i] = local_wins;
			touched |= !local_wins;
			continue;
		}
		conflict_rec c = {t, rc->pk, t->cols[i],
				  rc->vals[i], old[i], NULL, NULL, local_wins,
				  cc->site};
		if ((sr = conflict_put(m, &c, now_ms)) != SQLITE_OK)
			goto cleanup;
		(*conflicts)++;
		if (local_wins)
			win[i] = 1;
		else
			touched = 1;
	}
	/* Conflicts took sequence numbers: the row's changes come after. */
	seq = ++m->seq;
	before = malloc((size_t)t->ncols * sizeof(col_clock));
	if (!before) {
		sr = SQLITE_NOMEM;
		goto cleanup;
	}
	memcpy(before, rm.cols, (size_t)t->ncols * sizeof(col_clock));
	for (int i = 0; i < t->ncols; i++) {
		col_clock *cc = &rm.cols[i];
		if (win[i]) {
			any_win = 1;
			cc->hlc = rc->hlc[i];
			cc->site = m->site;
			cc->vseq = cc->seq = seq;
		} else if (touched && rc->changed[i]) {
			cc->seq = seq; /* re-announce the winner to the pusher */
		}
	}
	if (parked) { /* write the merged row back whole */
		for (int i = 0; i < t->ncols; i++) {
			if (win[i])
				continue;
			sqlite3_value_free(rc->vals[i]);
			rc->vals[i] = sqlite3_value_dup(old[i]);
			win[i] = 2; /* the master's value, applied as is */
		}
	}
	if (!any_win && !touched && !parked) {
		m->seq--; /* nothing changed: give the number back */
		goto cleanup;
	}
	rm.seq = seq;
	if (any_win || parked) {
		if ((sr = hs_applier_upsert(a, rc->vals, win)) != SQLITE_OK) {
			if (is_constraint(sr) && final) {
				/* the row keeps its clocks; re-announce it */
				memcpy(rm.cols, before,
				       (size_t)t->ncols * sizeof(col_clock));
				sr = reject_row(m, t, rc, &pk, &rm, 1, now_ms,
						conflicts);
			} else if (is_constraint(sr)) {
				sr = MERGE_DEFER;
			}
			goto cleanup;
		}
		int64_t when = rc->row_hlc;
		for (int i = 0; i < t->ncols; i++)
			if (win[i] && rc->hlc[i] > when)
				when = rc->hlc[i];
		sr = history_put(m, t, rc->pk, "update", old,
				 rc->vals, win, when);
		if (sr != SQLITE_OK)
			goto cleanup;
		*merged = 1;
	}
	sr = meta_store(m, t->name, &pk, &rm);
cleanup:
	if (old)
		for (int i = 0; i < t->ncols; i++)
			sqlite3_value_free(old[i]);
	free(old);
	free(win);
	free(lt);
	free(rt);
	free(before);
	row_meta_clear(&rm);
	hs_buf_free(&pk);
	return sr;
}

/* 1 if table t has a UNIQUE constraint besides its key (lazily cached). */
static int has_unique(hs_master *m, const hs_schema *s, int ti)
{
	if (!m->unique) {
		m->unique = calloc(hs_count(s->n), sizeof(int));
		if (!m->unique)
			return 1;
		for (int i = 0; i < s->n; i++)
			m->unique[i] = hs_table_has_unique(m->db, s->t[i].name);
	}
	return m->unique[ti];
}

/*
 * Merge one row inside a savepoint when its table has UNIQUE columns: a
 * value it takes may be held by a row this same push moves away later
 * (one user swapping two numbers), so a collision is undone and the row
 * retried after the others (MERGE_DEFER); only in the final round is it a
 * conflict.
 */
static int merge_guarded(hs_master *m, const hs_schema *s, hs_rowchange *rc,
			 int64_t now_ms, hs_merge_stats *st, int final)
{
	const hs_table *t = &s->t[rc->table];
	int merged = 0, sr, guard = !final && has_unique(m, s, rc->table);
	int64_t seq0 = m->seq, conflicts0 = st->conflicts;
	int nreb0 = m->nrebases;
	sqlite3_value *key0 = NULL;

	if (guard) {
		if ((sr = hs_exec(m->db, "SAVEPOINT hs_row")) != SQLITE_OK)
			return sr;
		if (t->intpk && !(key0 = sqlite3_value_dup(rc->pk[0])))
			return SQLITE_NOMEM;
	}
	sr = merge_row(m, s, rc, now_ms, &st->conflicts, &merged, final, NULL);
	if (guard && sr == MERGE_DEFER) {
		/* Undo the row entirely, new id included: the retry decides
		 * again. */
		hs_exec(m->db, "ROLLBACK TO hs_row");
		m->seq = seq0;
		st->conflicts = conflicts0;
		m->nrebases = nreb0;
		if (key0 && !hs_value_same(key0, rc->pk[0])) {
			sqlite3_value_free(rc->pk[0]);
			sqlite3_value_free(rc->vals[t->pk[0]]);
			rc->pk[0] = key0;
			rc->vals[t->pk[0]] = sqlite3_value_dup(key0);
			key0 = NULL;
		}
	}
	if (guard)
		hs_exec(m->db, "RELEASE hs_row");
	sqlite3_value_free(key0);
	if (sr == SQLITE_OK)
		st->pushed[rc->table] += merged;
	else if (sr != MERGE_DEFER)
		m->failed_table = rc->table;
	return sr;
}

/*
 * Rows that hold each other's UNIQUE values (one user swapped two quote
 * numbers) cannot be written one at a time. Take them all out, then merge
 * each into its place, in one savepoint. SQLITE_OK if that worked; else
 * everything is as before and the rows become conflicts one by one.
 */
static int merge_group(hs_master *m, const hs_schema *s, hs_changeset *cs,
		       const size_t *rows, size_t n, int64_t now_ms,
		       hs_merge_stats *st)
{
	sqlite3_value ***parked = calloc(n, sizeof(*parked));
	int64_t seq0 = m->seq, conflicts0 = st->conflicts;
	int64_t *merged = calloc(n, sizeof(int64_t));
	int sr = parked && merged ? hs_exec(m->db, "SAVEPOINT hs_group")
				  : SQLITE_NOMEM;
	for (size_t k = 0; sr == SQLITE_OK && k < n; k++) {
		hs_rowchange *rc = &cs->rows[rows[k]];
		const hs_table *t = &s->t[rc->table];
		hs_applier *a = applier_for(m, s, rc->table);
		int found = 0;
		if (!rc->alive || rc->inserted || !a)
			continue; /* only rows being changed in place */
		parked[k] = calloc((size_t)t->ncols, sizeof(sqlite3_value *));
		if (!parked[k])
			sr = SQLITE_NOMEM;
		if (sr == SQLITE_OK)
			sr = hs_applier_select(a, rc->pk, parked[k], &found);
		if (sr == SQLITE_OK && found)
			sr = hs_applier_delete(a, rc->pk);
		if (!found) {
			free(parked[k]);
			parked[k] = NULL;
		}
	}
	for (size_t k = 0; sr == SQLITE_OK && k < n; k++) {
		int one = 0;
		sr = merge_row(m, s, &cs->rows[rows[k]], now_ms, &st->conflicts,
			       &one, 0, parked[k]);
		merged[k] = one;
	}
	if (sr == SQLITE_OK) {
		hs_exec(m->db, "RELEASE hs_group");
		for (size_t k = 0; k < n; k++)
			st->pushed[cs->rows[rows[k]].table] += merged[k];
	} else if (parked && merged) {
		hs_exec(m->db, "ROLLBACK TO hs_group");
		hs_exec(m->db, "RELEASE hs_group");
		m->seq = seq0;
		st->conflicts = conflicts0;
	}
	for (size_t k = 0; parked && k < n; k++) {
		if (!parked[k])
			continue;
		for (int i = 0; i < s->t[cs->rows[rows[k]].table].ncols; i++)
			sqlite3_value_free(parked[k][i]);
		free(parked[k]);
	}
	free(parked);
	free(merged);
	return sr;
}

int hs_master_merge(hs_master *m, const hs_schema *s, hs_changeset *cs,
		    const int64_t *local_max, int64_t now_ms,
		    hs_merge_stats *st, hs_buf *err)
{
	size_t *later = malloc((cs->n ? cs->n : 1) * sizeof(size_t)), nlater = 0;
	int sr = SQLITE_OK;
	if (!later)
		return sqlite_fail(m, err, SQLITE_NOMEM, "cannot merge");
	m->local_max = local_max;
	/* cs is parents first: deletes go children first (a PC's own
	 * children deletes come before its parent's, which then takes only
	 * children it did not know), then the rest parents first. */
	for (size_t j = 0; sr == SQLITE_OK && j < 2 * cs->n; j++) {
		size_t i = j < cs->n ? cs->n - 1 - j : j - cs->n;
		if (cs->rows[i].alive != (j >= cs->n))
			continue;
		sr = merge_guarded(m, s, &cs->rows[i], now_ms, st, 0);
		if (sr == MERGE_DEFER) {
			later[nlater++] = i;
			sr = SQLITE_OK;
		}
		if (j % 1024 == 1023)
			hs_master_refresh_lock(m);
	}
	/* Rows that met a UNIQUE value: retry while that helps, then the
	 * rest are conflicts. */
	for (int progress = 1; sr == SQLITE_OK && nlater && progress;) {
		size_t keep = 0;
		progress = 0;
		for (size_t k = 0; sr == SQLITE_OK && k < nlater; k++) {
			sr = merge_guarded(m, s, &cs->rows[later[k]], now_ms, st, 0);
			if (sr == MERGE_DEFER) {
				later[keep++] = later[k];
				sr = SQLITE_OK;
			} else {
				progress = 1;
			}
		}
		nlater = keep;
	}
	if (sr == SQLITE_OK && nlater > 1 && merge_group(m, s, cs, later, nlater,
							  now_ms, st) == SQLITE_OK)
		nlater = 0;
	for (size_t k = 0; sr == SQLITE_OK && k < nlater; k++)
		sr = merge_guarded(m, s, &cs->rows[later[k]], now_ms, st, 1);
	for (size_t k = 0; sr == SQLITE_OK && k < m->ndoomed; k++) {
		m->failed_table = m->doomed[k].table;
		sr = cascade_delete(m, s, m->doomed[k].table, m->doomed[k].key,
				    m->doomed[k].hlc, now_ms, &st->conflicts, 0);
	}
	doomed_clear(m);
	if (sr != SQLITE_OK) {
		hs_buf_printf(err, "table \"%s\": ", s->t[m->failed_table].name);
		free(later);
		return sqlite_fail(m, err, sr, "cannot merge a row");
	}
	free(later);
	return 0;
}

int hs_master_resolve(hs_master *m, const hs_rowset *rs, hs_buf *err)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st,
			    "UPDATE hubsync_conflicts SET resolved = 1,"
			    " resolved_at = ?3, resolved_by = ?4, seq = ?5"
			    " WHERE id = ?1 AND resolved = 0");
	for (size_t r = 0; sr == SQLITE_OK && r < rs->n; r++) {
		sqlite3_value **v = &rs->v[r * (size_t)rs->ncols];
		sqlite3_bind_value(st, 1, v[0]);
		sqlite3_bind_value(st, 3, v[2]);
		sqlite3_bind_text(st, 4, m->user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, ++m->seq);
		sr = hs_step_done(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return sr == SQLITE_OK ? 0
			       : sqlite_fail(m, err, sr, "cannot resolve a conflict");
}

/* ---- pull ------------------------------------------------------------ */

void hs_pull_clear(hs_pull *p)
{
	hs_rowset_clear(&p->conflicts);
	hs_rowset_clear(&p->history);
	hs_rowset_clear(&p->rebases);
	hs_rowset_clear(&p->sites);
	free(p->max_hlc_user);
	memset(p, 0, sizeof(*p));
}

/*
 * Stream the rows of table ti changed above since, deleted (alive 0) or
 * not, to fn. The row change handed to fn borrows the master's values:
 * they are valid during the call only. Columns this sync pushed itself
 * are not handed back (the replica has them); our own pushes of earlier
 * syncs are (the master's copy is the truth: a killed sync may have lost
 * their stamps or ids on the replica).
 */
static int pull_table(hs_master *m, const hs_schema *s, int ti, int alive,
		      int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out)
{
	const hs_table *t = &s->t[ti];
	hs_applier *a = applier_for(m, s, ti);
	sqlite3_stmt *q = NULL;
	hs_rowchange rc;
	row_meta rm;
	int sr;

	memset(&rc, 0, sizeof(rc));
	memset(&rm, 0, sizeof(rm));
	rc.table = ti;
	rc.ncols = rm.ncols = t->ncols;
	rc.alive = alive;
	rc.changed = calloc((size_t)t->ncols, 1);
	rc.hlc = calloc((size_t)t->ncols, sizeof(int64_t));
	rc.vals = calloc((size_t)t->ncols, sizeof(sqlite3_value *));
	rm.cols = calloc((size_t)t->ncols, sizeof(col_clock));
	if (!a || !rc.changed || !rc.hlc || !rc.vals || !rm.cols) {
		sr = a ? SQLITE_NOMEM : sqlite3_errcode(m->db);
		goto cleanup;
	}
	sr = hs_prepare(m->db, &q, "SELECT pk, vseq, site, clocks FROM"
				   " hubsync_rows WHERE tbl = ?1 AND seq > ?2 AND"
				   " alive = ?3 ORDER BY seq");
	if (sr != SQLITE_OK)
		goto cleanup;
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, since);
	sqlite3_bind_int(q, 3, alive);
	while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
		int any = 0, found = 0;
		const unsigned char *pkb = sqlite3_column_blob(q, 0);
		int pkn = sqlite3_column_bytes(q, 0);
		sr = SQLITE_OK;
		/* A deleted row's key comes from the blob; a live row's from
		 * the master's row itself (no copies). */
		if (!alive && pk_decode(pkb, pkn, t->npk, rc.pk, m->select1) != 0) {
			sr = SQLITE_CORRUPT;
			break;
		}
		rm.vseq = sqlite3_column_int64(q, 1);
		rm.site = sqlite3_column_int(q, 2);
		clocks_decode(sqlite3_column_blob(q, 3), sqlite3_column_bytes(q, 3),
			      &rm);
		rc.foreign = rm.site != m->site;
		if (alive) {
			int whole = rm.vseq > since &&
				    !(rm.site == m->site && rm.vseq > m->began);
			rc.foreign = 0;
			for (int i = 0; i < t->ncols; i++) {
				col_clock *cc = &rm.cols[i];
				int mine_now = cc->site == m->site && cc->vseq > m->began;
				rc.hlc[i] = cc->hlc;
				rc.changed[i] = whole || (cc->seq > since && !mine_now);
				if (!rc.changed[i])
					continue;
				any = 1;
				rc.foreign |= cc->site != m->site;
				if (cc->hlc > out->max_hlc && cc->site != m->site) {
					out->max_hlc = cc->hlc;
					out->max_hlc_site = cc->site;
				}
			}
			if (any) {
				if (pk_bind(a->sel, pkb, pkn, t->npk) != 0) {
					sr = SQLITE_CORRUPT;
					break;
				}
				sr = sqlite3_step(a->sel);
				found = sr == SQLITE_ROW;
				sr = found || sr == SQLITE_DONE ? SQLITE_OK : sr;
			}
			for (int i = 0; found && i < t->ncols; i++)
				rc.vals[i] = sqlite3_column_value(a->sel, i);
			for (int k = 0; found && k < t->npk; k++)
				rc.pk[k] = rc.vals[t->pk[k]];
		}
		if (sr == SQLITE_OK && (!alive || (any && found)))
			sr = fn(ctx, &rc);
		if (alive) {
			hs_applier_done(a);
			memset(rc.pk, 0, sizeof(rc.pk)); /* borrowed */
		}
		for (int k = 0; k < HS_MAX_PK; k++) {
			sqlite3_value_free(rc.pk[k]);
			rc.pk[k] = NULL;
		}
		if (sr != SQLITE_OK)
			break;
	}
	if (sr == SQLITE_DONE)
		sr = SQLITE_OK;
cleanup:
	sqlite3_finalize(q);
	free(rc.changed);
	free(rc.hlc);
	free(rc.vals);
	free(rm.cols);
	return sr;
}

int hs_master_pull_rows(hs_master *m, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err)
{
	int sr = SQLITE_OK;
	/* Deletes first, children before parents (a row taking over a
	 * UNIQUE value then finds it free); then the rest, parents first. */
	for (int k = s->n - 1; sr == SQLITE_OK && k >= 0; k--)
		sr = pull_table(m, s, k, 0, since, fn, ctx, out);
	for (int k = 0; sr == SQLITE_OK && k < s->n; k++)
		sr = pull_table(m, s, k, 1, since, fn, ctx, out);
	if (sr == SQLITE_OK && out->max_hlc_site) {
		free(out->max_hlc_user);
		out->max_hlc_user = site_user(m, out->max_hlc_site);
	}
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		sqlite_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

int hs_master_pull_table(hs_master *m, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err)
{
	int sr = pull_table(m, s, ti, 0, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		sr = pull_table(m, s, ti, 1, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		sqlite_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

int hs_master_pull(hs_master *m, int64_t since, hs_pull *out, hs_buf *err)
{
	int sr;
	memset(out, 0, sizeof(*out));
	sr = hs_rowset_fetch(m->db, "SELECT " HS_CONFLICT_COLS
				    " FROM hubsync_conflicts WHERE seq > ?1",
			     since, &out->conflicts);
	if (sr == SQLITE_OK)
		sr = hs_rowset_fetch(m->db, "SELECT " HS_HISTORY_COLS
					    " FROM hubsync_history WHERE seq > ?1",
				     since, &out->history);
	if (sr == SQLITE_OK) {
		char rq[160];
		snprintf(rq, sizeof rq, "SELECT tbl, old_key, new_key FROM"
					" hubsync_rebases WHERE seq > ?1 AND site = %d"
					" ORDER BY seq", m->site);
		sr = hs_rowset_fetch(m->db, rq, since, &out->rebases);
	}
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read changes");
	out->seq = m->seq;
	return 0;
}

int64_t hs_master_seq(const hs_master *m) { return m->seq; }

/*
 * The office's PCs: hubsync_sites.last_sync (ms since 1970) and synced_seq
 * (the master's sequence the site had after its last sync) are added to a
 * master that lacks them, like MASTER_DDL adds tables: the format stays 1,
 * an older hubsync ignores them.
 */
int hs_master_sites(hs_master *m, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err)
{
	static const char *cols[] = {"last_sync", "synced_seq"};
	int64_t v[3] = {now_ms, m->seq, m->site};
	int sr = SQLITE_OK;
	for (int i = 0; i < 2 && sr == SQLITE_OK; i++) {
		char q[96];
		if (hs_table_has_column(m->db, "hubsync_sites", cols[i]))
			continue;
		snprintf(q, sizeof q, "ALTER TABLE hubsync_sites ADD COLUMN %s"
				      " INTEGER", cols[i]);
		sr = hs_exec(m->db, q);
	}
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(m->db, "UPDATE hubsync_sites SET last_sync = ?1,"
					 " synced_seq = ?2 WHERE id = ?3", 3, v);
	if (sr == SQLITE_OK)
		sr = hs_rowset_fetch(m->db, "SELECT site, user, last_sync,"
					    " synced_seq, ?1 FROM hubsync_sites"
					    " ORDER BY id", m->seq, sites);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot read the sites");
}

char *hs_master_restored_at(hs_master *m)
{
	sqlite3_stmt *st;
	char *v = NULL;
	if (hs_prepare(m->db, &st, "SELECT value FROM hubsync_master WHERE key ="
				   " 'restored_at'") != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = hs_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int hs_master_series(hs_master *m, sqlite3 *rdb, hs_buf *err)
{
	sqlite3_stmt *st, *ins;
	int sr = hs_prepare(m->db, &st, "SELECT series FROM hubsync_numbers");
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read number series");
	if (hs_prepare(rdb, &ins, "INSERT OR IGNORE INTO hubsync_series(series)"
				  " VALUES(?1)") != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0; /* a read-only moment here: the next sync */
	}
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_bind_value(ins, 1, sqlite3_column_value(st, 0));
		hs_step_done(ins);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? 0
				 : sqlite_fail(m, err, sr, "cannot read number series");
}

int hs_master_reserve(hs_master *m, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st,
			    "INSERT INTO hubsync_numbers(series, next) VALUES(?1,"
			    " max(1, ?3 + 1) + ?2) ON CONFLICT(series) DO UPDATE"
			    " SET next = max(next, ?3 + 1) + ?2 RETURNING next - ?2");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, size);
		sqlite3_bind_int64(st, 3, above);
		sr = sqlite3_step(st);
		if (sr == SQLITE_ROW) {
			*first = sqlite3_column_int64(st, 0);
			sr = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return sr == SQLITE_OK ? 0
			       : sqlite_fail(m, err, sr, "cannot reserve numbers");
}

/*
 * Housekeeping, at most once a day: history and settled conflicts older
 * than the retention go; tombstones and id changes every PC has pulled
 * go (nobody can still push against them: a PC pushes before it pulls).
 * A PC that never syncs again holds tombstones back; that is the price of
 * never resurrecting a deleted row.
 */
int hs_master_housekeep(hs_master *m, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err)
{
	sqlite3_stmt *st;
	char cutoff[32];
	int64_t v[2] = {since, m->site};
	int sr = hs_exec_ints(m->db, "UPDATE hubsync_sites SET pulled = ?1"
				     " WHERE id = ?2", 2, v);
	if (sr == SQLITE_OK && set_days > 0) {
		char q[128];
		snprintf(q, sizeof q, "INSERT OR REPLACE INTO hubsync_master"
				      " VALUES('retention_days', %d)", set_days);
		sr = hs_exec(m->db, q);
	}
	*days = (int)hs_query_int(m->db, "SELECT value FROM hubsync_master"
					 " WHERE key = 'retention_days'",
				  HS_RETENTION_DAYS_DEFAULT, NULL);
	int64_t last = hs_query_int(m->db, "SELECT value FROM hubsync_master"
					   " WHERE key = 'housekept'", 0, NULL);
	if (sr != SQLITE_OK || now_ms - last < 24LL * 3600 * 1000)
		goto out;
	hs_iso_time(now_ms - (int64_t)*days * 24 * 3600 * 1000, cutoff);
	sr = hs_prepare(m->db, &st, "DELETE FROM hubsync_history WHERE at < ?1");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
	}
	if (sr == SQLITE_OK)
		sr = hs_prepare(m->db, &st, "DELETE FROM hubsync_conflicts WHERE"
					    " resolved = 1 AND resolved_at < ?1");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(m->db, "DELETE FROM hubsync_rows WHERE alive = 0 AND"
				    " seq <= (SELECT min(pulled) FROM hubsync_sites);"
				    "DELETE FROM hubsync_rebases WHERE seq <= (SELECT"
				    " pulled FROM hubsync_sites s WHERE s.id ="
				    " hubsync_rebases.site)");
	if (sr == SQLITE_OK) {
		char q[128];
		snprintf(q, sizeof q, "INSERT OR REPLACE INTO hubsync_master"
				      " VALUES('housekept', %lld)", (long long)now_ms);
		sr = hs_exec(m->db, q);
	}
out:
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot tidy up");
}
