/*
 * store_file.c - the file master: a SQLite file (on a share) as a master
 * store (store.h) and the session sync.c holds with it (master.h): open,
 * create, lock, sites, number series, housekeeping, and the row-level
 * operations the merge (merge.c) and the pull (pull.c) use.
 *
 * On-disk format (besides the user tables, which mirror the replicas'):
 *
 *   hubsync_master(key, value)      'format' = 3 (or 2, 1), 'seq' = last
 *                                   sequence
 *   hubsync_sites(id, site, user, pushed, pulled, token, prev_token,
 *                 last_sync, synced_seq)   (the last two: hs_master_sites)
 *   hubsync_rows(tbl, pk, alive, seq, vseq, hlc, site, clocks)
 *   hubsync_conflicts(...)          (same as a replica's)
 *   hubsync_history(...)            the audit trail, in history.c's
 *                                   compact shape (format 3, with its
 *                                   names in hubsync_names) or the old one
 *   hubsync_merge_rules(tbl, col, key)   the columns merged inside JSON
 *                                   (hubsync merge; key: the array key)
 *   hubsync_master 'history_pruned' = the largest history seq housekeeping
 *                                   deleted (older bases are not found)
 *
 * hubsync_rows.pk and .clocks are in the formats of encode.c (a key blob;
 * the clocks of the master's columns, in its column order). Format 2
 * writes the compact clocks (one byte a column for a row written once);
 * format 1, the fixed 28 bytes a column. A format-1 master, which older
 * hubsync versions on other PCs may still open, is read as it is and
 * written in format 1 (they would refuse format 2: "update hubsync").
 * Format 3 also keeps the audit trail compact (history.c); a format 1 or
 * 2 master keeps its old trail and is written in it, so that older
 * versions still open it. A master made by this version is format 3;
 * backup.c takes the same formats (HS_MASTER_FORMAT*, master.h). Every
 * sequence number is unique and increasing; "seq" of a row is the largest
 * of its own and its columns' seq.
 *
 * The caller holds the master lock for the whole life of the handle, so the
 * file is only ever written by one PC at a time, and read only under the
 * lock too (SQLite's locks do not work between PCs over SMB).
 */
#include "master.h"

#include "apply.h"
#include "error.h"
#include "history.h"
#include "hubsync.h"
#include "json.h"
#include "merge.h"
#include "platform.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASTER_FORMAT HS_MASTER_FORMAT /* what a new master gets */
#define MASTER_FORMAT_MIN HS_MASTER_FORMAT_MIN /* the oldest it writes */
#define STR_(x) #x
#define STR(x) STR_(x)

/* The tables of every format (the audit trail's: history.c). */
static const char *MASTER_DDL =
	"CREATE TABLE IF NOT EXISTS hubsync_master(key TEXT PRIMARY KEY, value)"
	" WITHOUT ROWID;"
	"INSERT OR IGNORE INTO hubsync_master VALUES('format', "
	STR(MASTER_FORMAT) "), ('seq', 0), ('id', lower(hex(randomblob(16))));"
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
	"CREATE TABLE IF NOT EXISTS hubsync_merge_rules(tbl TEXT NOT NULL,"
	" col TEXT NOT NULL, key TEXT, PRIMARY KEY(tbl, col)) WITHOUT ROWID;";

/* Columns added to the master's own tables since format 1 was first
 * written (table, column, declaration): added when a master lacks them. */
static const char *const MASTER_COLUMNS[][3] = {
	{"hubsync_conflicts", "local_site", "TEXT"},
	{"hubsync_conflicts", "remote_site", "TEXT"},
};

struct file_master {
	hs_master master; /* first: sync.c sees a hs_master */
	hs_store base;   /* the merge and the pull see a hs_store */
	sqlite3 *db;
	char *path;
	hs_lock lock;
	int in_txn;
	sqlite3_stmt *meta_get, *meta_put, *conflict_put, *history_put;
	hs_applier *appliers; /* per table written, lazily prepared */
	int nappliers;
	int format;           /* the file's: 2 writes compact clocks, 3 the
			       * compact audit trail too */
	hs_history_writer hist; /* format 3's history_put */
	/* the rows temp.hs_fresh_N shows (file_absent, file_put_new) */
	const hs_table *fresh_t;
	const hs_new_row *fresh;
	size_t nfresh;
	hs_history_cell *fresh_h; /* format 3: the events as stored, 7 a row
				   * (file_put_new), or NULL */
	int fresh_module;     /* hs_fresh registered on db */
	/* sequences of rows the last write transaction wrote whole, new,
	 * for its site (file_put_new): the feed skips them (0, 0: none).
	 * Kept for the pull's read after the commit, which reads as of that
	 * transaction (base.began), until the next one begins. */
	int64_t own_lo, own_hi;
};

typedef struct file_master file_master;
static const hs_store_ops FILE_OPS;
static const hs_master_ops FILE_MASTER_OPS;
static void fm_close(hs_master *mm);

/* ---- open, lock, close -------------------------------------------- */

/* Write "what on the master PATH: sqlite message; what to do" to err and
 * return the hs_error for rc. */
static int sqlite_fail(file_master *m, hs_buf *err, int rc, const char *what)
{
	int code = hs_error_from_sqlite(rc);
	const char *hint = "";
	switch (code) {
	case HS_ECORRUPT:
		hint = "; the master is damaged: restore it from a backup"
		       " (hubsync restore)";
		break;
	case HS_EBUSY:
		hint = "; another program holds the master open: close it"
		       " (only hubsync should open it) and try again";
		break;
	case HS_EIO:
		hint = (rc & 0xff) == SQLITE_READONLY
			       ? "; the master file and its folder must be writable"
		       : (rc & 0xff) == SQLITE_FULL
			       ? "; the share is full: free some space"
			       : "; check that the share is reachable";
		break;
	default:
		code = HS_ERROR;
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

/*
 * The share's caches. A PC's SMB client may answer with the master's size
 * (and its journal's) from before the last holder's writes for a moment
 * after our lock is taken: smbnetfs through FUSE keeps them 1 s, whatever
 * the open. SQLite would take the file for shorter than its header says
 * ("malformed"), or miss the hot journal a dead holder left. So, before
 * SQLite opens the file: after a stale lock was broken (its holder may have
 * died mid-write), wait until what this PC knew of the files before has
 * expired; and wait (up to CACHE_MS * 2) until the size seen here covers
 * the pages the header counts.
 */
#define CACHE_MS 1100

static uint32_t be(const unsigned char *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void wait_for_share(const char *path, int broke)
{
	if (broke)
		hs_os_sleep_ms(CACHE_MS);
	for (int waited = 0; waited < 2 * CACHE_MS; waited += 100) {
		unsigned char h[100];
		hs_os_stat st;
		FILE *f = hs_os_fopen(path, "rb");
		size_t got = f ? fread(h, 1, sizeof h, f) : 0;
		if (f)
			fclose(f);
		/* not a database yet, or a header that does not count pages */
		if (got < sizeof h || memcmp(h + 24, h + 92, 4) != 0 ||
		    hs_os_stat_path(path, &st) != 0)
			return;
		uint32_t psize = be(h + 16, 2);
		int64_t need = (int64_t)be(h + 28, 4) * (psize == 1 ? 65536 : psize);
		if (st.size >= need)
			return;
		hs_os_sleep_ms(100);
	}
}

/* After a write transaction failed: let SQLite roll back what it left in
 * the journal now, through this PC's client (which saw every write), not
 * later through another PC's, which may not see the journal yet. */
static void roll_back_journal(const char *path)
{
	sqlite3 *db = NULL;
	if (hs_sqlite_open(path, &db,
			   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX) ==
	    SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		hs_exec(db, "PRAGMA journal_mode=TRUNCATE;"
			    " SELECT count(*) FROM sqlite_master");
	}
	sqlite3_close(db);
}

int hs_master_open_file(hs_master **out, const char *path, int create,
			int lock_timeout_ms, hs_lock_wait_fn waiting,
			void *waiting_ctx, hs_buf *err)
{
	file_master *m = calloc(1, sizeof(*m));
	hs_os_stat sb;
	int rc = HS_ERROR, sr;
	*out = NULL;
	if (m) {
		m->master.ops = &FILE_MASTER_OPS;
		m->base.ops = &FILE_OPS;
	}
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
	rc = hs_lock_acquire(&m->lock, path, lock_timeout_ms, waiting,
			     waiting_ctx, err);
	if (rc != 0)
		goto cleanup;
	wait_for_share(path, m->lock.broke);
	/* one thread at a time uses the handle: no per-call mutex */
	sr = hs_sqlite_open(path, &m->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     (create ? SQLITE_OPEN_CREATE : 0));
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
			    " PRAGMA foreign_keys=OFF;"
			    /* statement and savepoint journals (a batch's
			     * pages, emptied at its end) in memory, not in a
			     * temporary file */
			    " PRAGMA temp_store=MEMORY;"
			    /* a large merge spills its cache less (each
			     * spill re-syncs the journal); still bounded, and
			     * no larger: each page is memory touched for the
			     * first time (a page fault), and 16 MB made the
			     * first push of 100k rows 2% slower than 8 MB
			     * (docs/PERFORMANCE.md, "Eighth round") */
			    " PRAGMA cache_size=-8192;");
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
	} else if (fmt < MASTER_FORMAT_MIN || fmt > MASTER_FORMAT) {
		hs_buf_printf(err, "the master %s has format %lld, this hubsync "
			      "reads formats %d to %d: update hubsync on this PC",
			      path, (long long)fmt, MASTER_FORMAT_MIN, MASTER_FORMAT);
		rc = HS_ECORRUPT;
		goto cleanup;
	} else if ((sr = hs_exec(m->db, MASTER_DDL)) != SQLITE_OK ||
		   (sr = add_columns(m->db)) != SQLITE_OK) {
		/* adds what a newer hubsync of the same format uses */
		rc = sqlite_fail(m, err, sr, "cannot update hubsync tables");
		goto cleanup;
	}
	m->format = (int)hs_query_int(m->db, "SELECT value FROM hubsync_master"
					     " WHERE key = 'format'", 1, &sr);
	if (sr == SQLITE_OK)
		sr = hs_history_functions(m->db);
	if (sr == SQLITE_OK)
		sr = hs_exec(m->db, m->format >= 3 ? HS_HISTORY_DDL
						   : HS_HISTORY_DDL_OLD);
	if (sr == SQLITE_OK)
		sr = hs_select1_prepare(m->db, &m->base.select1);
	if (sr == SQLITE_OK)
		sr = hs_pk_register(m->db); /* the feed's join (file_feed) */
	if (sr != SQLITE_OK) {
		rc = sqlite_fail(m, err, sr, "cannot read");
		goto cleanup;
	}
	*out = &m->master;
	return 0;
cleanup:
	fm_close(&m->master);
	return rc;
}

static void fm_close(hs_master *mm)
{
	file_master *m = (file_master *)mm;
	if (!m)
		return;
	hs_merge_free(&m->base);
	for (int i = 0; i < m->nappliers; i++)
		hs_applier_free(&m->appliers[i]);
	free(m->appliers);
	sqlite3_finalize(m->meta_get);
	sqlite3_finalize(m->meta_put);
	sqlite3_finalize(m->conflict_put);
	sqlite3_finalize(m->history_put);
	hs_history_writer_free(&m->hist);
	sqlite3_finalize(m->base.select1);
	int failed = m->db && m->in_txn;
	if (failed)
		hs_exec(m->db, "ROLLBACK");
	sqlite3_close(m->db);
	if (failed && hs_lock_held(&m->lock)) /* never under another's lock */
		roll_back_journal(m->path);
	hs_lock_release(&m->lock);
	free(m->base.user);
	free(m->base.site_id);
	free(m->path);
	free(m);
}

static int fm_read_begin(hs_master *mm, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_exec(m->db, "BEGIN");
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot read");
}

static void fm_read_end(hs_master *mm)
{
	hs_exec(((file_master *)mm)->db, "COMMIT");
}

static char *fm_column_default(hs_master *mm, const char *table,
			       const char *col)
{
	return hs_column_default(((file_master *)mm)->db, table, col);
}

/* ---- schema -------------------------------------------------------- */

static int fm_ensure_table(hs_master *mm, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	hs_buf e2;
	int rc = 0, sr;

	memset(mt, 0, sizeof(*mt));
	int there = hs_table_exists(m->db, t->name);
	if (there < 0)
		return sqlite_fail(m, err, sqlite3_errcode(m->db), "cannot read");
	if (!there) {
		char *sql = hs_table_create_sql(rdb, t->name);
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
			if ((sr = hs_table_add_column_like(m->db, rdb, t,
							 t->cols[i])) != SQLITE_OK) {
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

static char *fm_id(hs_master *mm)
{
	file_master *m = (file_master *)mm;
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

static int fm_user_elsewhere(hs_master *mm, const char *user, const char *site)
{
	file_master *m = (file_master *)mm;
	return hs_exec_text(m->db, "SELECT 1 FROM hubsync_sites WHERE user = ?1"
				   " AND site IS NOT ?2", user, site) == SQLITE_ROW;
}

static int fm_knows(hs_master *mm, const char *site, const char *token)
{
	file_master *m = (file_master *)mm;
	return site && token &&
	       hs_exec_text(m->db, "SELECT 1 FROM hubsync_sites WHERE site = ?1"
				   " AND ?2 IN (token, prev_token)", site,
			    token) == SQLITE_ROW;
}

/* ---- transaction ----------------------------------------------------- */

static int fm_register(hs_master *mm, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err)
{
	file_master *m = (file_master *)mm;
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
			m->base.site = sqlite3_column_int(st, 0);
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
	free(m->base.user);
	m->base.user = hs_strdup(user);
	free(m->base.site_id);
	m->base.site_id = hs_strdup(site);
	return 0;
}

static int fm_begin(hs_master *mm, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_exec(m->db, "BEGIN IMMEDIATE");
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot start a transaction");
	m->in_txn = 1;
	m->own_lo = m->own_hi = 0;
	hs_history_writer_reset(&m->hist); /* ids of a transaction undone */
	m->base.seq = hs_query_int(m->db, "SELECT value FROM hubsync_master"
				     " WHERE key = 'seq'", 0, &sr);
	m->base.began = m->base.seq;
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read");
	return 0;
}

static int fm_set_token(hs_master *mm, const char *prev, const char *token,
			hs_buf *err)
{
	file_master *m = (file_master *)mm;
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st, "UPDATE hubsync_sites SET prev_token = ?1,"
					" token = ?2 WHERE id = ?3");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, m->base.site);
		sr = hs_step_done(st);
		sqlite3_finalize(st);
	}
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot write");
}

static int fm_commit(hs_master *mm, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st, "UPDATE hubsync_master SET value = ?1"
					" WHERE key = 'seq'");
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, m->base.seq);
		sr = hs_step_done(st);
	}
	sqlite3_finalize(st);
	if (sr == SQLITE_OK && !hs_lock_held(&m->lock)) {
		hs_buf_printf(err, "another PC took the lock of the master %s for "
			      "stale while this sync was slow: nothing was "
			      "written; sync again", m->path);
		return HS_EBUSY;
	}
	if (sr == SQLITE_OK)
		sr = hs_exec(m->db, "COMMIT");
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot commit");
	m->in_txn = 0;
	return 0;
}

static int fm_set_pushed(hs_master *mm, int64_t id, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int64_t v[2] = {id, m->base.site};
	int sr = hs_exec_ints(m->db, "UPDATE hubsync_sites SET pushed = ?1"
				     " WHERE id = ?2", 2, v);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot write");
}

/* ---- the store's row-level operations (store.h) ----------------------- */

#define FM(st) ((file_master *)((char *)(st) - offsetof(file_master, base)))

/* The applier of table t (prepared on first use). NULL on failure. */
static hs_applier *applier_for(file_master *m, const hs_table *t)
{
	for (int i = 0; i < m->nappliers; i++)
		if (m->appliers[i].t == t)
			return &m->appliers[i];
	hs_applier *a = realloc(m->appliers,
				(size_t)(m->nappliers + 1) * sizeof(*a));
	if (!a)
		return NULL;
	m->appliers = a;
	if (hs_applier_prepare(&a[m->nappliers], m->db, t, NULL, 0) != SQLITE_OK)
		return NULL;
	return &a[m->nappliers++];
}

static int applier_fail(file_master *m)
{
	int e = sqlite3_errcode(m->db);
	return e == SQLITE_OK ? SQLITE_NOMEM : e;
}

static int file_row_get(hs_store *st, const hs_table *t, sqlite3_value **pk,
			sqlite3_value **out, int *found)
{
	hs_applier *a = applier_for(FM(st), t);
	return a ? hs_applier_select(a, pk, out, found) : applier_fail(FM(st));
}

static int file_row_put(hs_store *st, const hs_table *t, sqlite3_value **vals,
			const unsigned char *set)
{
	hs_applier *a = applier_for(FM(st), t);
	return a ? hs_applier_upsert(a, vals, set) : applier_fail(FM(st));
}

static int file_row_delete(hs_store *st, const hs_table *t, sqlite3_value **pk)
{
	hs_applier *a = applier_for(FM(st), t);
	return a ? hs_applier_delete(a, pk) : applier_fail(FM(st));
}

static int file_max_key(hs_store *st, const hs_table *t, int64_t *out)
{
	hs_buf sql;
	int sr = SQLITE_NOMEM;
	hs_buf_init(&sql);
	hs_buf_puts(&sql, "SELECT max(");
	hs_buf_ident(&sql, t->cols[t->pk[0]]);
	hs_buf_puts(&sql, ") FROM ");
	hs_buf_ident(&sql, t->name);
	if (!sql.oom)
		*out = hs_query_int(FM(st)->db, sql.s, 0, &sr);
	hs_buf_free(&sql);
	return sr;
}

static int file_unique_holder(hs_store *st, const hs_table *t,
			      sqlite3_value **vals, sqlite3_value **out,
			      int *found)
{
	file_master *m = FM(st);
	hs_colset u[16];
	int nu = 0, sr = hs_table_unique_sets(m->db, t, u, 16, &nu);
	hs_buf sql;
	*found = 0;
	hs_buf_init(&sql);
	for (int k = 0; sr == SQLITE_OK && !*found && k < nu; k++) {
		sqlite3_stmt *q;
		hs_buf_reset(&sql);
		hs_table_select(t, &sql);
		for (int i = 0; i < u[k].n; i++) {
			hs_buf_puts(&sql, i ? " AND " : " WHERE ");
			hs_buf_ident(&sql, t->cols[u[k].col[i]]);
			hs_buf_printf(&sql, " = ?%d", i + 1);
		}
		sr = sql.oom ? SQLITE_NOMEM : hs_prepare(m->db, &q, sql.s);
		if (sr != SQLITE_OK)
			break;
		for (int i = 0; i < u[k].n; i++)
			sqlite3_bind_value(q, i + 1, vals[u[k].col[i]]);
		sr = sqlite3_step(q);
		if (sr == SQLITE_ROW) {
			*found = 1;
			for (int i = 0; i < t->ncols; i++)
				if (!(out[i] = sqlite3_value_dup(sqlite3_column_value(q, i))))
					sr = SQLITE_NOMEM;
			sr = sr == SQLITE_ROW ? SQLITE_OK : sr;
		} else {
			sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
		}
		sqlite3_finalize(q);
	}
	hs_buf_free(&sql);
	return sr;
}

static int file_has_unique(hs_store *st, const hs_table *t, int *out)
{
	*out = hs_table_has_unique(FM(st)->db, t->name);
	return SQLITE_OK;
}

static int file_referencing(hs_store *st, const hs_table *t, int col,
			    sqlite3_value *key, hs_rowset *out)
{
	sqlite3_stmt *q;
	hs_buf b;
	int sr;
	hs_buf_init(&b);
	hs_table_select(t, &b);
	hs_buf_puts(&b, " WHERE ");
	hs_buf_ident(&b, t->cols[col]);
	hs_buf_puts(&b, " = ?1");
	sr = b.oom ? SQLITE_NOMEM : hs_prepare(FM(st)->db, &q, b.s);
	hs_buf_free(&b);
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_value(q, 1, key);
	while ((sr = sqlite3_step(q)) == SQLITE_ROW)
		if ((sr = hs_rowset_add(out, q)) != SQLITE_OK)
			break;
	sqlite3_finalize(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* rm's row-level fields and clocks from a hubsync_rows row: alive, seq,
 * vseq, hlc, site, clocks at columns first.. of q. */
static void meta_read(sqlite3_stmt *q, int first, hs_row_meta *rm)
{
	rm->found = 1;
	rm->alive = sqlite3_column_int(q, first);
	rm->seq = sqlite3_column_int64(q, first + 1);
	rm->vseq = sqlite3_column_int64(q, first + 2);
	rm->hlc = sqlite3_column_int64(q, first + 3);
	rm->site = sqlite3_column_int(q, first + 4);
	hs_clocks_decode(sqlite3_column_blob(q, first + 5),
			 sqlite3_column_bytes(q, first + 5), rm);
}

static int file_meta_get(hs_store *st, const hs_table *t, sqlite3_value **pk,
			 hs_row_meta *rm)
{
	file_master *m = FM(st);
	hs_buf key;
	int sr = SQLITE_OK;
	if (!m->meta_get &&
	    (sr = hs_prepare(m->db, &m->meta_get,
			     "SELECT alive, seq, vseq, hlc, site, clocks FROM"
			     " hubsync_rows WHERE tbl = ?1 AND pk = ?2")) != SQLITE_OK)
		return sr;
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	if (key.oom) {
		hs_buf_free(&key);
		return SQLITE_NOMEM;
	}
	sqlite3_bind_text(m->meta_get, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(m->meta_get, 2, key.s, (int)key.len, SQLITE_STATIC);
	sr = sqlite3_step(m->meta_get);
	if (sr == SQLITE_ROW)
		meta_read(m->meta_get, 0, rm);
	sr = sr == SQLITE_ROW || sr == SQLITE_DONE ? SQLITE_OK : sr;
	sqlite3_reset(m->meta_get);
	hs_buf_free(&key);
	return sr;
}

static int file_meta_put(hs_store *st, const hs_table *t, sqlite3_value **pk,
			 const hs_row_meta *rm)
{
	file_master *m = FM(st);
	hs_buf cb, key;
	int sr = SQLITE_OK;
	if (!m->meta_put &&
	    (sr = hs_prepare(m->db, &m->meta_put,
			     "INSERT OR REPLACE INTO hubsync_rows(tbl, pk, alive,"
			     " seq, vseq, hlc, site, clocks)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")) != SQLITE_OK)
		return sr;
	hs_buf_init(&cb);
	hs_buf_init(&key);
	if (m->format >= 2)
		hs_clocks_encode_compact(rm, &cb);
	else
		hs_clocks_encode(rm, &cb);
	hs_pk_encode(pk, t->npk, &key);
	if (cb.oom || key.oom) {
		sr = SQLITE_NOMEM;
		goto out;
	}
	sqlite3_bind_text(m->meta_put, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(m->meta_put, 2, key.s, (int)key.len, SQLITE_STATIC);
	sqlite3_bind_int(m->meta_put, 3, rm->alive);
	sqlite3_bind_int64(m->meta_put, 4, rm->seq);
	sqlite3_bind_int64(m->meta_put, 5, rm->vseq);
	sqlite3_bind_int64(m->meta_put, 6, rm->hlc);
	sqlite3_bind_int(m->meta_put, 7, rm->site);
	sqlite3_bind_blob(m->meta_put, 8, cb.s ? cb.s : "", (int)cb.len,
			  SQLITE_STATIC);
	sr = sqlite3_step(m->meta_put);
	sqlite3_reset(m->meta_put);
	sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
out:
	hs_buf_free(&cb);
	hs_buf_free(&key);
	return sr;
}

/* The change feed: hubsync_rows of t above since, in sequence order. A
 * deleted row's key comes from its blob; a live row's key and values
 * from the master's row itself (no copies). */
/* The feed's query: hubsync_rows of table ?1 above ?2 and below ?4 with
 * alive = ?3, in seq order; for live rows joined by key with the table's row (its
 * columns from column 7, NULL when the table lacks it). One pass instead
 * of a point select a row: statement calls cost more than the lookups. */
static void feed_query(const hs_table *t, int alive, hs_buf *b)
{
	hs_buf_puts(b, "SELECT r.pk, r.alive, r.seq, r.vseq, r.hlc, r.site,"
		       " r.clocks");
	for (int i = 0; alive && i < t->ncols; i++) {
		hs_buf_puts(b, ", t.");
		hs_buf_ident(b, t->cols[i]);
	}
	hs_buf_puts(b, " FROM hubsync_rows AS r");
	if (alive) {
		hs_buf_puts(b, " LEFT JOIN ");
		hs_buf_ident(b, t->name);
		hs_buf_puts(b, " AS t ON ");
		for (int k = 0; k < t->npk; k++) {
			hs_buf_puts(b, k ? " AND t." : "t.");
			hs_buf_ident(b, t->cols[t->pk[k]]);
			hs_buf_printf(b, " = hubsync_pk(r.pk, %d)", k);
		}
	}
	hs_buf_puts(b, " WHERE r.tbl = ?1 AND r.seq > ?2 AND r.seq < ?4"
		       " AND r.alive = ?3 ORDER BY r.seq");
}

static int file_feed(hs_store *st, const hs_table *t, int alive, int64_t since,
		     hs_feed_filter filter, hs_feed_fn fn, void *ctx)
{
	file_master *m = FM(st);
	sqlite3_stmt *q = NULL;
	sqlite3_value *pk[HS_MAX_PK] = {0};
	sqlite3_value **vals = calloc(hs_count(t->ncols), sizeof(*vals));
	hs_row_meta rm;
	hs_buf sql;
	int sr = hs_row_meta_init(&rm, t->ncols);

	hs_buf_init(&sql);
	feed_query(t, alive, &sql);
	if (sr == SQLITE_OK && (!vals || sql.oom))
		sr = SQLITE_NOMEM;
	if (sr == SQLITE_OK)
		sr = hs_prepare(m->db, &q, sql.s);
	if (sr != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, alive);
	/* Rows this transaction wrote whole as new for the site pulling
	 * (file_put_new: alive, nothing in them for it) are not read: two
	 * ranges around them. */
	int64_t from[2] = {since, since}, upto[2] = {INT64_MAX, INT64_MAX};
	int nranges = 1;
	if (m->own_lo > since) {
		upto[0] = m->own_lo;
		from[1] = m->own_hi;
		nranges = 2;
	}
	for (int r = 0; r < nranges && (sr == SQLITE_OK || sr == SQLITE_DONE);
	     r++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 2, from[r]);
		sqlite3_bind_int64(q, 4, upto[r]);
		while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
			meta_read(q, 1, &rm);
			if (!filter(ctx, &rm)) {
				sr = SQLITE_OK;
				continue;
			}
			if (!alive) {
				if (hs_pk_decode(sqlite3_column_blob(q, 0),
						 sqlite3_column_bytes(q, 0), t->npk, pk,
						 m->base.select1) != 0) {
					sr = SQLITE_CORRUPT;
					break;
				}
				sr = fn(ctx, &rm, pk, NULL);
				for (int k = 0; k < HS_MAX_PK; k++) {
					sqlite3_value_free(pk[k]);
					pk[k] = NULL;
				}
			} else {
				/* joined by equal keys: a found row's key is not NULL */
				int found = sqlite3_column_type(q, 7 + t->pk[0]) !=
					    SQLITE_NULL;
				for (int i = 0; found && i < t->ncols; i++)
					vals[i] = sqlite3_column_value(q, 7 + i);
				for (int k = 0; found && k < t->npk; k++)
					pk[k] = vals[t->pk[k]];
				sr = fn(ctx, &rm, pk, found ? vals : NULL);
				memset(pk, 0, sizeof(pk)); /* borrowed */
			}
			if (sr != SQLITE_OK)
				break;
		}
	}
	if (sr == SQLITE_DONE)
		sr = SQLITE_OK;
out:
	sqlite3_finalize(q);
	hs_buf_free(&sql);
	free(vals);
	hs_row_meta_clear(&rm);
	return sr;
}

static int file_conflict_add(hs_store *st, const hs_conflict_row *c)
{
	file_master *m = FM(st);
	int sr = SQLITE_OK;
	if (!m->conflict_put &&
	    (sr = hs_prepare(m->db, &m->conflict_put,
			     "INSERT INTO hubsync_conflicts(seq, tbl, pk, col,"
			     " local_value, remote_value, winner, local_user,"
			     " remote_user, detected_at, local_site, remote_site)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			     " ?12)")) != SQLITE_OK)
		return sr;
	sqlite3_stmt *q = m->conflict_put;
	sqlite3_bind_int64(q, 1, c->seq);
	sqlite3_bind_text(q, 2, c->tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, c->pk_json, -1, SQLITE_STATIC);
	if (c->col) {
		sqlite3_bind_text(q, 4, c->col, -1, SQLITE_STATIC);
		sqlite3_bind_value(q, 5, c->local_value);
		sqlite3_bind_value(q, 6, c->remote_value);
	} else {
		sqlite3_bind_null(q, 4);
		sqlite3_bind_text(q, 5, c->local_text, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, c->remote_text, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 7, c->winner, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, c->local_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 9, c->remote_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 10, c->detected_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 11, c->local_site, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, c->remote_site, -1, SQLITE_STATIC);
	sr = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* Event h's values after seq, as text in HS_HISTORY_COLS order. */
typedef struct event_txt {
	const char *v[7];
} event_txt;

static event_txt event_text(const hs_history_row *h)
{
	return (event_txt){{h->tbl, h->key, h->pk_json, h->op, h->user, h->at,
			    h->changes}};
}

/* The one place an entry of the master's audit trail is written (a set
 * of new rows' entries: file_history_add_set). */
static int file_history_add(hs_store *st, const hs_history_row *h)
{
	file_master *m = FM(st);
	int sr = SQLITE_OK;
	event_txt txt = event_text(h);
	if (m->format >= 3)
		return hs_history_writer_put(&m->hist, m->db, h->seq, txt.v);
	if (!m->history_put &&
	    (sr = hs_prepare(m->db, &m->history_put,
			     "INSERT INTO hubsync_history(seq, tbl, key, pk, op,"
			     " user, at, changes) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
			     " ?7, ?8)")) != SQLITE_OK)
		return sr;
	sqlite3_stmt *q = m->history_put;
	sqlite3_bind_int64(q, 1, h->seq);
	for (int i = 0; i < 7; i++)
		sqlite3_bind_text(q, i + 2, txt.v[i], -1, SQLITE_STATIC);
	sr = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* The history events of the new rows temp.hs_fresh_N (tab) shows, as
 * file_history_add writes one (the columns of hs_fresh_columns): a
 * format 3 file's as the writer of history.c stores them, encoded first
 * (m->fresh_h), so that one INSERT ... SELECT writes them all. */
static int file_history_add_set(file_master *m, const char *tab)
{
	char sql[256];
	int sr = SQLITE_OK;
	if (m->format >= 3) {
		m->fresh_h = calloc(m->nfresh ? m->nfresh * 7 : 7,
				    sizeof(*m->fresh_h));
		if (!m->fresh_h)
			return SQLITE_NOMEM;
		for (size_t i = 0; sr == SQLITE_OK && i < m->nfresh; i++) {
			const hs_history_row *h = &m->fresh[i].h;
			if (h->seq)
				sr = hs_history_writer_encode(&m->hist, m->db,
							      event_text(h).v,
							      &m->fresh_h[i * 7]);
		}
	}
	snprintf(sql, sizeof sql, "INSERT INTO hubsync_history(seq, tbl, key,"
		 " pk, op, user, at, changes) SELECT h_seq, h_tbl, h_key, h_pk,"
		 " h_op, h_user, h_at, h_changes FROM %s WHERE h_seq IS NOT"
		 " NULL", tab);
	return sr == SQLITE_OK ? hs_exec(m->db, sql) : sr;
}

static int file_rebase_add(hs_store *st, int64_t seq, const hs_table *t,
			   int64_t old_key, int64_t new_key)
{
	sqlite3_stmt *q;
	int sr = hs_prepare(FM(st)->db, &q, "INSERT INTO hubsync_rebases(seq,"
					    " site, tbl, old_key, new_key)"
					    " VALUES(?1, ?2, ?3, ?4, ?5)");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_int(q, 2, st->site);
	sqlite3_bind_text(q, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, old_key);
	sqlite3_bind_int64(q, 5, new_key);
	sr = hs_step_done(q);
	sqlite3_finalize(q);
	return sr;
}

static int file_site_info(hs_store *st, int site, char **user, char **id)
{
	sqlite3_stmt *q;
	int sr = hs_prepare(FM(st)->db, &q, "SELECT user, site FROM hubsync_sites"
					    " WHERE id = ?1");
	*user = *id = NULL;
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int(q, 1, site);
	sr = sqlite3_step(q);
	if (sr == SQLITE_ROW) {
		*user = hs_strdup((const char *)sqlite3_column_text(q, 0));
		*id = hs_strdup((const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	return sr == SQLITE_ROW || sr == SQLITE_DONE ? SQLITE_OK : sr;
}

static int file_savepoint(hs_store *st, int action, const char *name)
{
	char q[80];
	if (action == HS_ROLLBACK_TO) /* may undo new dictionary ids */
		hs_history_writer_reset(&FM(st)->hist);
	snprintf(q, sizeof q, "%s %s",
		 action == HS_SAVEPOINT ? "SAVEPOINT"
		 : action == HS_ROLLBACK_TO ? "ROLLBACK TO" : "RELEASE",
		 name);
	return hs_exec(FM(st)->db, q);
}

static void file_keepalive(hs_store *st) { hs_lock_refresh(&FM(st)->lock); }

static int file_merge_rules(hs_store *st, hs_merge_rules *out)
{
	sqlite3_stmt *q;
	int sr = hs_prepare(FM(st)->db, &q, "SELECT tbl, col, key FROM"
					    " hubsync_merge_rules ORDER BY tbl, col");
	while (sr == SQLITE_OK && (sr = sqlite3_step(q)) == SQLITE_ROW)
		sr = hs_merge_rules_add(out, (const char *)sqlite3_column_text(q, 0),
					(const char *)sqlite3_column_text(q, 1), 1,
					(const char *)sqlite3_column_text(q, 2));
	sqlite3_finalize(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* The history of a row above seq, oldest first, until an entry that has
 * col (its old value is the one at seq) or the row's insert (none). */
static int file_value_at(hs_store *st, const hs_table *t, sqlite3_value **pk,
			 int col, int64_t seq, sqlite3_value **out, int *found)
{
	file_master *m = FM(st);
	sqlite3_stmt *q = NULL;
	char *key = hs_key_text(pk, t->npk);
	hs_buf path, sql;
	int sr;
	*out = NULL;
	*found = 0;
	if (seq < hs_query_int(m->db, "SELECT value FROM hubsync_master WHERE"
				      " key = 'history_pruned'", 0, NULL)) {
		free(key);
		return SQLITE_OK; /* the trail above seq is not whole */
	}
	hs_buf_init(&path); /* $."col"[0], the column's old value */
	hs_buf_puts(&path, "$.\"");
	for (const char *c = t->cols[col]; *c; c++)
		hs_buf_printf(&path, "%s%c", *c == '"' || *c == '\\' ? "\\" : "",
			      *c);
	hs_buf_puts(&path, "\"[0]");
	hs_buf_init(&sql);
	hs_buf_puts(&sql, "SELECT op, json_type(changes, ?4), json_extract("
			  "changes, ?4) FROM ");
	hs_history_source(&sql, m->format >= 3);
	hs_buf_puts(&sql, " WHERE seq > ?3 AND tbl = ?1 AND key = ?2 ORDER BY"
			  " seq");
	sr = key && !path.oom && !sql.oom ? hs_prepare(m->db, &q, sql.s)
					  : SQLITE_NOMEM;
	hs_buf_free(&sql);
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, seq);
		sqlite3_bind_text(q, 4, path.s, -1, SQLITE_STATIC);
	}
	while (sr == SQLITE_OK && (sr = sqlite3_step(q)) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(q, 0);
		const char *type = (const char *)sqlite3_column_text(q, 1);
		sr = SQLITE_OK;
		if (op && strcmp(op, "insert") == 0)
			break;
		if (!type)
			continue;
		if (strcmp(type, "object") != 0) { /* not a {"$blob"} */
			*out = sqlite3_value_dup(sqlite3_column_value(q, 2));
			*found = *out != NULL;
			sr = *found ? SQLITE_OK : SQLITE_NOMEM;
		}
		break;
	}
	if (sr == SQLITE_DONE)
		sr = SQLITE_OK;
	sqlite3_finalize(q);
	hs_buf_free(&path);
	free(key);
	return sr;
}

/* ---- new rows as a set (store.h: absent, put_new) --------------------
 *
 * temp.hs_fresh_N, a virtual table over the rows m->fresh of a table of
 * N columns: v0..vN-1 (the row's values), then its key blob and versions
 * as hubsync_rows holds them, then its history event (NULLs: none). The
 * rows go into the table, hubsync_rows and hubsync_history by one
 * INSERT ... SELECT each, instead of three statements run per row. */
enum { FR_PK, FR_ALIVE, FR_SEQ, FR_VSEQ, FR_HLC, FR_SITE, FR_CLOCKS,
       FR_HSEQ, FR_HTBL, FR_HKEY, FR_HPK, FR_HOP, FR_HUSER, FR_HAT,
       FR_HCHANGES, FR_N };
static const char *const FRESH_COLUMNS[FR_N] = {
	"pk", "alive", "seq", "vseq", "hlc", "site", "clocks", "h_seq",
	"h_tbl", "h_key", "h_pk", "h_op", "h_user", "h_at", "h_changes"};

typedef struct fresh_vtab {
	sqlite3_vtab base;
	file_master *m;
	int ncols;
} fresh_vtab;

typedef struct fresh_cursor {
	sqlite3_vtab_cursor base;
	size_t i;
	hs_buf b; /* the key blob or clocks of the current row */
} fresh_cursor;

static int fresh_connect(sqlite3 *db, void *aux, int argc,
			 const char *const *argv, sqlite3_vtab **out,
			 char **err)
{
	int ncols = argc > 3 ? atoi(argv[3]) : 0, sr;
	fresh_vtab *v;
	hs_buf d;
	if (ncols <= 0)
		return SQLITE_ERROR;
	hs_buf_init(&d);
	hs_buf_puts(&d, "CREATE TABLE x(");
	for (int i = 0; i < ncols; i++)
		hs_buf_printf(&d, "v%d, ", i);
	for (int i = 0; i < FR_N; i++)
		hs_buf_printf(&d, "%s%s", i ? ", " : "", FRESH_COLUMNS[i]);
	hs_buf_puts(&d, ")");
	sr = d.oom ? SQLITE_NOMEM : sqlite3_declare_vtab(db, d.s);
	hs_buf_free(&d);
	if (sr != SQLITE_OK)
		return sr;
	if (!(v = sqlite3_malloc(sizeof(*v))))
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	v->m = aux;
	v->ncols = ncols;
	*out = &v->base;
	(void)err;
	return SQLITE_OK;
}

static int fresh_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

static int fresh_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	info->estimatedCost = 1000;
	info->estimatedRows = 1000;
	(void)v;
	return SQLITE_OK;
}

static int fresh_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	fresh_cursor *c = sqlite3_malloc(sizeof(*c));
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	hs_buf_init(&c->b);
	*out = &c->base;
	(void)v;
	return SQLITE_OK;
}

static int fresh_close(sqlite3_vtab_cursor *cur)
{
	fresh_cursor *c = (fresh_cursor *)cur;
	hs_buf_free(&c->b);
	sqlite3_free(c);
	return SQLITE_OK;
}

static int fresh_filter(sqlite3_vtab_cursor *cur, int idx, const char *s,
			int argc, sqlite3_value **argv)
{
	((fresh_cursor *)cur)->i = 0;
	(void)idx, (void)s, (void)argc, (void)argv;
	return SQLITE_OK;
}

static int fresh_next(sqlite3_vtab_cursor *cur)
{
	((fresh_cursor *)cur)->i++;
	return SQLITE_OK;
}

static int fresh_eof(sqlite3_vtab_cursor *cur)
{
	fresh_cursor *c = (fresh_cursor *)cur;
	return c->i >= ((fresh_vtab *)cur->pVtab)->m->nfresh;
}

static int fresh_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
	*out = (sqlite3_int64)((fresh_cursor *)cur)->i;
	return SQLITE_OK;
}

static void result_text(sqlite3_context *ctx, const char *s)
{
	if (s)
		sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
}

/* The value x as the column's, without a copy (the rows outlive the
 * statement that reads them). */
static void result_borrowed(sqlite3_context *ctx, sqlite3_value *x)
{
	switch (x ? sqlite3_value_type(x) : SQLITE_NULL) {
	case SQLITE_INTEGER:
		sqlite3_result_int64(ctx, sqlite3_value_int64(x));
		break;
	case SQLITE_FLOAT:
		sqlite3_result_double(ctx, sqlite3_value_double(x));
		break;
	case SQLITE_TEXT:
		sqlite3_result_text(ctx, (const char *)sqlite3_value_text(x),
				    sqlite3_value_bytes(x), SQLITE_STATIC);
		break;
	case SQLITE_BLOB: /* an empty one has no pointer: not NULL */
		if (sqlite3_value_bytes(x))
			sqlite3_result_blob(ctx, sqlite3_value_blob(x),
					    sqlite3_value_bytes(x), SQLITE_STATIC);
		else
			sqlite3_result_zeroblob(ctx, 0);
		break;
	default:
		sqlite3_result_null(ctx);
	}
}

static int fresh_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	fresh_cursor *c = (fresh_cursor *)cur;
	fresh_vtab *v = (fresh_vtab *)cur->pVtab;
	file_master *m = v->m;
	const hs_new_row *r = &m->fresh[c->i];
	const hs_history_row *h = &r->h;
	int event = h->seq != 0, k;
	if (col < v->ncols) {
		result_borrowed(ctx, r->rc->vals[col]);
		return SQLITE_OK;
	}
	switch (col - v->ncols) {
	case FR_PK:
	case FR_CLOCKS:
		hs_buf_reset(&c->b);
		if (col - v->ncols == FR_PK)
			hs_pk_encode(r->rc->pk, m->fresh_t->npk, &c->b);
		else if (m->format >= 2)
			hs_clocks_encode_compact(&r->rm, &c->b);
		else
			hs_clocks_encode(&r->rm, &c->b);
		if (c->b.oom)
			return SQLITE_NOMEM;
		sqlite3_result_blob(ctx, c->b.s ? c->b.s : "", (int)c->b.len,
				    SQLITE_TRANSIENT);
		break;
	case FR_ALIVE: sqlite3_result_int(ctx, r->rm.alive); break;
	case FR_SEQ: sqlite3_result_int64(ctx, r->rm.seq); break;
	case FR_VSEQ: sqlite3_result_int64(ctx, r->rm.vseq); break;
	case FR_HLC: sqlite3_result_int64(ctx, r->rm.hlc); break;
	case FR_SITE: sqlite3_result_int(ctx, r->rm.site); break;
	case FR_HSEQ:
		if (event)
			sqlite3_result_int64(ctx, h->seq);
		else
			sqlite3_result_null(ctx);
		break;
	case FR_HTBL:
	case FR_HKEY:
	case FR_HPK:
	case FR_HOP:
	case FR_HUSER:
	case FR_HAT:
	case FR_HCHANGES:
		k = col - v->ncols - FR_HTBL; /* 0 tbl .. 6 changes */
		if (!event)
			sqlite3_result_null(ctx);
		else if (m->fresh_h)
			hs_history_cell_result(ctx, &m->fresh_h[c->i * 7 + (size_t)k]);
		else
			result_text(ctx, event_text(h).v[k]);
		break;
	default: sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

static const sqlite3_module FRESH_MODULE = {
	.xCreate = fresh_connect,
	.xConnect = fresh_connect,
	.xBestIndex = fresh_best_index,
	.xDisconnect = fresh_disconnect,
	.xDestroy = fresh_disconnect,
	.xOpen = fresh_open,
	.xClose = fresh_close,
	.xFilter = fresh_filter,
	.xNext = fresh_next,
	.xEof = fresh_eof,
	.xColumn = fresh_column,
	.xRowid = fresh_rowid,
};

/* Show rows[0..n) of t as temp.hs_fresh_N (its name into tab). */
static int fresh_show(file_master *m, const hs_table *t, const hs_new_row *rows,
		      size_t n, char tab[40])
{
	char sql[120];
	int sr = SQLITE_OK;
	if (!m->fresh_module) {
		sr = sqlite3_create_module(m->db, "hs_fresh", &FRESH_MODULE, m);
		if (sr != SQLITE_OK)
			return sr;
		m->fresh_module = 1;
	}
	snprintf(tab, 40, "temp.hs_fresh_%d", t->ncols);
	snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE IF NOT EXISTS %s USING"
		 " hs_fresh(%d)", tab, t->ncols);
	if ((sr = hs_exec(m->db, sql)) != SQLITE_OK)
		return sr;
	m->fresh_t = t;
	m->fresh = rows;
	m->nfresh = n;
	return SQLITE_OK;
}

static void fresh_hide(file_master *m)
{
	free(m->fresh_h);
	m->fresh_h = NULL;
	m->fresh_t = NULL;
	m->fresh = NULL;
	m->nfresh = 0;
}

static int file_absent(hs_store *st, const hs_table *t, const hs_new_row *rows,
		       size_t n, unsigned char *fresh)
{
	file_master *m = FM(st);
	char tab[40];
	sqlite3_stmt *q = NULL;
	hs_buf sql;
	int sr = fresh_show(m, t, rows, n, tab);
	hs_buf_init(&sql);
	hs_buf_printf(&sql, "SELECT rowid FROM %s AS f WHERE EXISTS(SELECT 1"
		      " FROM hubsync_rows WHERE tbl = ?1 AND pk = f.pk) OR"
		      " EXISTS(SELECT 1 FROM ", tab);
	hs_buf_ident(&sql, t->name);
	for (int k = 0; k < t->npk; k++) {
		hs_buf_puts(&sql, k ? " AND " : " WHERE ");
		hs_buf_ident(&sql, t->cols[t->pk[k]]);
		hs_buf_printf(&sql, " = f.v%d", t->pk[k]);
	}
	hs_buf_puts(&sql, ")");
	if (sr == SQLITE_OK)
		sr = sql.oom ? SQLITE_NOMEM : hs_prepare(m->db, &q, sql.s);
	if (sr == SQLITE_OK)
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	while (sr == SQLITE_OK && (sr = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_int64 i = sqlite3_column_int64(q, 0);
		if (i >= 0 && (size_t)i < n)
			fresh[i] = 0;
		sr = SQLITE_OK;
	}
	if (sr == SQLITE_DONE)
		sr = SQLITE_OK;
	sqlite3_finalize(q);
	hs_buf_free(&sql);
	fresh_hide(m);
	return sr;
}

/* 1 if row r of t holds nothing the pull of its own site in this
 * transaction has to bring: written now by that site, every column
 * (pull.c: pull_filter's "mine_now"). The key columns aside: a new row's
 * are nobody's (the push does not list them among its changes), which
 * makes the filter hand the row back, with the key the pusher has. */
static int own_whole(const file_master *m, const hs_table *t,
		     const hs_new_row *r)
{
	const hs_row_meta *rm = &r->rm;
	if (rm->site != m->base.site || rm->vseq <= m->base.began)
		return 0;
	for (int i = 0; i < rm->ncols; i++) {
		int key = 0;
		for (int k = 0; k < t->npk; k++)
			key |= t->pk[k] == i;
		if (!key && (rm->cols[i].site != m->base.site ||
			     rm->cols[i].vseq <= m->base.began))
			return 0;
	}
	return 1;
}

/* Rows rows[0..n) just written: their sequences join m->own_lo..own_hi
 * when they are a range of such rows next to it (else the longer range
 * is kept). */
static void own_range_add(file_master *m, const hs_table *t,
			  const hs_new_row *rows, size_t n)
{
	int64_t lo = rows[0].rm.seq, hi = rows[n - 1].rm.seq;
	for (size_t k = 0; k < n; k++)
		if (rows[k].rm.seq != lo + (int64_t)k || !own_whole(m, t, &rows[k]))
			return;
	if (m->own_hi && lo == m->own_hi + 1)
		m->own_hi = hi;
	else if (!m->own_hi || hi - lo > m->own_hi - m->own_lo) {
		m->own_lo = lo;
		m->own_hi = hi;
	}
}

static int file_put_new(hs_store *st, const hs_table *t, const hs_new_row *rows,
			size_t n)
{
	file_master *m = FM(st);
	char tab[40];
	sqlite3_stmt *q = NULL;
	hs_buf sql;
	int sr = fresh_show(m, t, rows, n, tab);
	hs_buf_init(&sql);
	hs_buf_puts(&sql, "INSERT INTO ");
	hs_buf_ident(&sql, t->name);
	for (int i = 0; i < t->ncols; i++) {
		hs_buf_puts(&sql, i ? ", " : "(");
		hs_buf_ident(&sql, t->cols[i]);
	}
	for (int i = 0; i < t->ncols; i++)
		hs_buf_printf(&sql, "%sv%d", i ? ", " : ") SELECT ", i);
	hs_buf_printf(&sql, " FROM %s", tab);
	if (sr == SQLITE_OK)
		sr = sql.oom ? SQLITE_NOMEM : hs_exec(m->db, sql.s);
	if (sr == SQLITE_OK) {
		hs_buf_reset(&sql);
		hs_buf_printf(&sql, "INSERT INTO hubsync_rows(tbl, pk, alive, seq,"
			      " vseq, hlc, site, clocks) SELECT ?1, pk, alive,"
			      " seq, vseq, hlc, site, clocks FROM %s", tab);
		sr = sql.oom ? SQLITE_NOMEM : hs_prepare(m->db, &q, sql.s);
	}
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
		sr = hs_step_done(q);
	}
	if (sr == SQLITE_OK)
		sr = file_history_add_set(m, tab);
	if (sr == SQLITE_OK)
		own_range_add(m, t, rows, n);
	sqlite3_finalize(q);
	hs_buf_free(&sql);
	fresh_hide(m);
	return sr;
}

static const hs_store_ops FILE_OPS = {
	file_row_get,     file_row_put,      file_row_delete,
	file_max_key,     file_unique_holder, file_has_unique,
	file_referencing, file_meta_get,     file_meta_put,
	file_feed,        file_conflict_add, file_history_add,
	file_rebase_add,  file_site_info,    file_savepoint,
	file_keepalive,   file_merge_rules,  file_value_at,
	file_absent,      file_put_new,
	1, /* put_new_checks: the table's key and hubsync_rows' */
};

/* ---- merge and pull through the store ---------------------------------- */

static int fm_merge_begin(hs_master *mm, const hs_schema *s,
			  const int64_t *local_max, int64_t now_ms,
			  hs_merge_stats *st, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_merge_begin(&m->base, s, local_max, now_ms, st);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot merge");
}

static int fm_merge_rows(hs_master *mm, hs_changeset *cs, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_merge_rows(&m->base, cs, err);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot merge a row");
}

static int fm_merge_end(hs_master *mm, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_merge_end(&m->base, err);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot merge a row");
}

static int fm_pull_rows(hs_master *mm, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_pull_rows(&m->base, s, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		sqlite_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

static int fm_pull_table(hs_master *mm, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr = hs_pull_table(&m->base, s, ti, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		sqlite_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

static int fm_resolve(hs_master *mm, const hs_rowset *rs, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	sqlite3_stmt *st;
	int sr = hs_prepare(m->db, &st,
			    "UPDATE hubsync_conflicts SET resolved = 1,"
			    " resolved_at = ?3, resolved_by = ?4, seq = ?5"
			    " WHERE id = ?1 AND resolved = 0");
	for (size_t r = 0; sr == SQLITE_OK && r < rs->n; r++) {
		sqlite3_value **v = &rs->v[r * (size_t)rs->ncols];
		sqlite3_bind_value(st, 1, v[0]);
		sqlite3_bind_value(st, 3, v[2]);
		sqlite3_bind_text(st, 4, m->base.user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, ++m->base.seq);
		sr = hs_step_done(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return sr == SQLITE_OK ? 0
			       : sqlite_fail(m, err, sr, "cannot resolve a conflict");
}

/* ---- pull ------------------------------------------------------------ */

static int fm_pull(hs_master *mm, int64_t since, hs_pull *out, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr;
	memset(out, 0, sizeof(*out));
	sr = hs_rowset_fetch(m->db, "SELECT " HS_CONFLICT_COLS
				    " FROM hubsync_conflicts WHERE seq > ?1",
			     since, &out->conflicts);
	if (sr == SQLITE_OK) {
		char rq[160];
		snprintf(rq, sizeof rq, "SELECT tbl, old_key, new_key FROM"
					" hubsync_rebases WHERE seq > ?1 AND site = %d"
					" ORDER BY seq", m->base.site);
		sr = hs_rowset_fetch(m->db, rq, since, &out->rebases);
	}
	if (sr != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read changes");
	out->seq = m->base.seq;
	return 0;
}

/* The history is streamed (fm_pull leaves it out): a first pull of a
 * large master costs bounded memory. The entries of source (a FROM-clause
 * source with the HS_HISTORY_COLS columns) above since, in seq order, to
 * fn at once; sr: the first failure of the statement's own. */
typedef struct history_read {
	sqlite3_stmt *q;
	int sr;
} history_read;

static int history_next(void *it, sqlite3_value **v)
{
	history_read *x = it;
	int sr = hs_history_step(x->q, v);
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		x->sr = sr;
	return sr;
}

static int pull_history_from(file_master *m, const char *source,
			     int64_t since, hs_history_set_fn fn, void *ctx,
			     hs_buf *err)
{
	history_read x = {NULL, SQLITE_OK};
	hs_buf sql;
	int sr;
	hs_buf_init(&sql);
	hs_buf_printf(&sql, "SELECT " HS_HISTORY_COLS " FROM %s WHERE seq > ?1"
			    " ORDER BY seq", source);
	sr = sql.oom ? SQLITE_NOMEM : hs_prepare(m->db, &x.q, sql.s);
	hs_buf_free(&sql);
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(x.q, 1, since);
		sr = fn(ctx, history_next, &x);
	}
	sqlite3_finalize(x.q);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		sqlite_fail(m, err, x.sr != SQLITE_OK ? x.sr : sr,
			    "cannot read the history");
	return HS_ERROR;
}

/* Each entry to the hs_history_fn of an old-shape pull. */
typedef struct history_each {
	hs_history_fn fn;
	void *ctx;
} history_each;

static int each_entry(void *ctx, hs_history_next next, void *it)
{
	history_each *e = ctx;
	sqlite3_value *v[8];
	int sr;
	while ((sr = next(it, v)) == SQLITE_ROW)
		if ((sr = e->fn(e->ctx, v)) != SQLITE_OK)
			return sr;
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

static int fm_pull_history(hs_master *mm, int64_t since, hs_history_fn fn,
			   void *ctx, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	history_each e = {fn, ctx};
	hs_buf source;
	int rc;
	hs_buf_init(&source);
	hs_history_source(&source, m->format >= 3);
	rc = source.oom ? sqlite_fail(m, err, SQLITE_NOMEM, "cannot read the history")
			: pull_history_from(m, source.s, since, each_entry, &e, err);
	hs_buf_free(&source);
	return rc;
}

/* A format 3 trail as it is stored: the replica's writer keeps what it
 * can of it (hs_history_writer_put_set). */
static int fm_pull_history_stored(hs_master *mm, int64_t since,
				  hs_history_names *names, hs_history_set_fn fn,
				  void *ctx, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	int sr;
	if (m->format < 3)
		return 1;
	if ((sr = hs_history_names_load(m->db, names)) != SQLITE_OK)
		return sqlite_fail(m, err, sr, "cannot read the history");
	return pull_history_from(m, "hubsync_history", since, fn, ctx, err);
}

static int64_t fm_seq(const hs_master *mm) { return ((const file_master *)mm)->base.seq; }

/*
 * The office's PCs: hubsync_sites.last_sync (ms since 1970) and synced_seq
 * (the master's sequence the site had after its last sync) are added to a
 * master that lacks them, like MASTER_DDL adds tables: the format stays 1,
 * an older hubsync ignores them.
 */
static int fm_sites(hs_master *mm, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err)
{
	file_master *m = (file_master *)mm;
	static const char *cols[] = {"last_sync", "synced_seq"};
	int64_t v[3] = {now_ms, m->base.seq, m->base.site};
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
					    " ORDER BY id", m->base.seq, sites);
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot read the sites");
}

static char *fm_restored_at(hs_master *mm)
{
	file_master *m = (file_master *)mm;
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

static int fm_series(hs_master *mm, sqlite3 *rdb, hs_buf *err)
{
	file_master *m = (file_master *)mm;
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

static int fm_reserve(hs_master *mm, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err)
{
	file_master *m = (file_master *)mm;
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
static int fm_housekeep(hs_master *mm, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	sqlite3_stmt *st;
	char cutoff[32];
	int64_t v[2] = {since, m->base.site};
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
					   " WHERE key = 'housekept'", -1, NULL);
	if (sr != SQLITE_OK || now_ms - last < 24LL * 3600 * 1000)
		goto out;
	/* A new master's first sync only starts the daily clock: nothing in
	 * it is old yet, and that sync, often the biggest, does not scan. */
	if (last < 0)
		goto housekept;
	int64_t cutoff_ms = now_ms - (int64_t)*days * 24 * 3600 * 1000, pruned = -1;
	hs_iso_time(cutoff_ms, cutoff);
	sr = hs_history_prune(m->db, m->format >= 3, cutoff_ms, &pruned);
	/* how far the audit trail no longer tells old values (value_at) */
	if (sr == SQLITE_OK && pruned >= 0) {
		int64_t v1 = pruned;
		sr = hs_exec_ints(m->db, "INSERT OR REPLACE INTO hubsync_master"
					 " VALUES('history_pruned', ?1)", 1, &v1);
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
housekept:
	if (sr == SQLITE_OK) {
		char q[128];
		snprintf(q, sizeof q, "INSERT OR REPLACE INTO hubsync_master"
				      " VALUES('housekept', %lld)", (long long)now_ms);
		sr = hs_exec(m->db, q);
	}
out:
	return sr == SQLITE_OK ? 0 : sqlite_fail(m, err, sr, "cannot tidy up");
}

/* The office's JSON columns: set's changes first (json: add or replace,
 * else remove), then every rule into all. */
static int fm_merge_rules(hs_master *mm, const hs_merge_rules *set,
			  hs_merge_rules *all, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	sqlite3_stmt *put = NULL, *del = NULL;
	int sr = SQLITE_OK;
	if (set && set->n) {
		sr = hs_prepare(m->db, &put, "INSERT OR REPLACE INTO"
					     " hubsync_merge_rules(tbl, col, key)"
					     " VALUES(?1, ?2, ?3)");
		if (sr == SQLITE_OK)
			sr = hs_prepare(m->db, &del, "DELETE FROM hubsync_merge_rules"
						     " WHERE tbl = ?1 AND col = ?2");
	}
	for (size_t i = 0; sr == SQLITE_OK && set && i < set->n; i++) {
		const hs_merge_rule *r = &set->v[i];
		sqlite3_stmt *q = r->json ? put : del;
		sqlite3_bind_text(q, 1, r->table, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, r->column, -1, SQLITE_STATIC);
		if (r->json)
			sqlite3_bind_text(q, 3, r->key, -1, SQLITE_STATIC);
		sr = hs_step_done(q);
		sqlite3_reset(q);
	}
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	if (sr == SQLITE_OK)
		sr = file_merge_rules(&m->base, all);
	return sr == SQLITE_OK ? 0
			       : sqlite_fail(m, err, sr, "cannot keep the merge setting");
}

static const char *fm_user(hs_master *mm)
{
	(void)mm;
	return NULL;
}

static int fm_tables(hs_master *mm, hs_schema *out, hs_buf *err)
{
	file_master *m = (file_master *)mm;
	hs_rowset names = {0};
	int rc = 0;
	int sr = hs_rowset_fetch(m->db, "SELECT name FROM sqlite_master WHERE"
				    " type = 'table' AND name NOT LIKE 'hubsync\\_%'"
				    " ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%'"
				    " ESCAPE '\\' AND ?1 = ?1 ORDER BY name",
			     0, &names);
	memset(out, 0, sizeof(*out));
	if (sr != SQLITE_OK) {
		hs_rowset_clear(&names);
		return sqlite_fail(m, err, sr, "cannot read");
	}
	out->t = calloc(hs_count((int)names.n), sizeof(hs_table));
	for (size_t i = 0; out->t && rc == 0 && i < names.n; i++) {
		const char *name = (const char *)sqlite3_value_text(names.v[i]);
		if (hs_table_load(m->db, name, &out->t[out->n], err) != 0) {
			hs_table_clear(&out->t[out->n]);
			continue; /* not a table hubsync syncs (no key) */
		}
		out->n++;
	}
	hs_buf_reset(err);
	hs_rowset_clear(&names);
	if (!out->t) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	return rc;
}

static const hs_master_ops FILE_MASTER_OPS = {
	fm_close,	 fm_read_begin,	  fm_read_end,	  fm_column_default,
	fm_ensure_table, fm_id,		  fm_user_elsewhere, fm_knows,
	fm_begin,	 fm_register,	  fm_set_token,	  fm_commit,
	fm_merge_begin,	 fm_merge_rows,	  fm_merge_end,
	fm_resolve,	 fm_set_pushed,	  fm_housekeep,
	fm_reserve,	 fm_series,	  fm_restored_at, fm_seq,
	fm_sites,	 fm_pull,	  fm_pull_rows,	  fm_pull_table,
	fm_merge_rules,  fm_user,	  fm_tables,	  fm_pull_history,
	fm_pull_history_stored,
};
