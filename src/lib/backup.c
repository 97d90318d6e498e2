/*
 * backup.c - copies of the master: take one, check one, put one back.
 *
 * Why here and not a plain `cp`: the master lives on a share that several
 * PCs write, and SQLite's own locks do not work between them (lock.c), so a
 * copy is only consistent when it is taken under the master lock, the same
 * mkdir lock every sync takes. A copy is then checked before it counts
 * (a damaged master must not push good copies out of the rotation).
 *
 * Files (MASTER = /share/server.db, DIR defaults to /share/backups):
 *
 *   DIR/server.db.2026-11-25T10-30-00Z.bak      a checked copy (UTC time;
 *                                               names sort by age)
 *   DIR/server.db.2026-11-25T10-30-00Z.bak.tmp  a copy being written; a
 *                                               leftover of a killed backup
 *                                               is deleted by the next one
 *   /share/server.db.before-restore-<time>      the master a restore replaced
 *   /share/server.db.restore-tmp                a restore being written
 *
 * Rotation only ever considers names of exactly the first form for this
 * master's file name, so other files in DIR are never touched.
 *
 * Kill safety. Backup: the copy is written under the .tmp name, checked, and
 * renamed: a kill leaves at most a .tmp file and the master untouched.
 * Restore: the current master is first copied aside, the backup is copied to
 * restore-tmp and fsynced, and only then renamed over the master (atomic on
 * POSIX and SMB): a kill at any instant leaves either the old master or the
 * restored one in place, never a mix. A live (non-empty) journal of the old
 * master belongs to the old file: it moves aside with it just before the
 * rename, else SQLite would "roll back" the restored file with it.
 *
 * A restore writes two keys into the restored master's hubsync_master:
 * 'restored_at' (ISO time) and 'restored_from' (the backup's file name), so
 * that anyone looking at the master (and replicas, see docs/BACKUP.md) can
 * tell that it went back in time. It also raises the copy's number series
 * (hubsync_numbers.next) to the old master's, when that one can be read:
 * blocks PCs reserved after the backup must not be reserved again.
 */
#include "error.h"
#include "hubsync.h"
#include "json.h"
#include "lock.h"
#include "master.h"
#include "platform.h"
#include "rows.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKUP_LOCK_TIMEOUT_MS 30000
/* "2026-11-25T10-30-00Z": '0' stands for a digit. */
#define STAMP_SHAPE "0000-00-00T00-00-00Z"
#define STAMP_LEN (sizeof(STAMP_SHAPE) - 1)

/* ---- small helpers ------------------------------------------------- */

/* Serialize doc (reference stolen) into *out when wanted. */
static int give_result(json_t *doc, char **out)
{
	if (!out) {
		json_decref(doc);
		return HS_OK;
	}
	*out = doc ? hs_json_dump(doc) : NULL;
	return *out ? HS_OK : HS_ERROR;
}

/* The folder part of path ("." when it has none); malloc'd. */
static char *folder_of(const char *path) { return hs_os_path_folder(path); }

static const char *file_name_of(const char *path)
{
	return hs_os_path_file(path);
}

/* Now in UTC as STAMP_SHAPE. */
static void utc_stamp(char out[32])
{
	time_t t = (time_t)(hs_system_ms() / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, 32, "%Y-%m-%dT%H-%M-%SZ", &tm) == 0)
		out[0] = 0;
}

static int is_stamp(const char *s)
{
	for (size_t i = 0; i < STAMP_LEN; i++) {
		char want = STAMP_SHAPE[i];
		if (want == '0' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != want)
			return 0;
	}
	return 1;
}

/* Does name look like base.STAMP + suffix exactly? */
static int is_copy_name(const char *name, const char *base, const char *suffix)
{
	size_t nb = strlen(base), ns = strlen(suffix);
	return strlen(name) == nb + 1 + STAMP_LEN + ns &&
	       strncmp(name, base, nb) == 0 && name[nb] == '.' &&
	       is_stamp(name + nb + 1) &&
	       strcmp(name + nb + 1 + STAMP_LEN, suffix) == 0;
}

/*
 * A name prefix + STAMP + suffix that does not exist yet, for a stamp taken
 * now (waiting for the next second when two copies are made in one). NULL
 * with err set when there is none.
 */
static char *fresh_name(const char *prefix, const char *suffix, hs_buf *err)
{
	for (int tries = 0; tries < 3; tries++) {
		char stamp[32];
		hs_buf b;
		utc_stamp(stamp);
		hs_buf_init(&b);
		hs_buf_printf(&b, "%s%s%s", prefix, stamp, suffix);
		if (b.oom) {
			hs_buf_free(&b);
			hs_buf_puts(err, "out of memory");
			return NULL;
		}
		if (hs_os_exists(b.s) != 0 && errno == ENOENT)
			return hs_buf_take(&b);
		hs_buf_free(&b);
		hs_os_sleep_ms(1050);
	}
	hs_buf_printf(err, "cannot find a free name %s<time>%s: check the "
		      "folder's clock and contents", prefix, suffix);
	return NULL;
}

/*
 * Copy the bytes of src to a new file dst (replaced if there) and fsync it.
 * HS_OK, or HS_EIO with dst removed and err saying why.
 */
static int copy_file(const char *src, const char *dst, hs_buf *err)
{
	char buf[65536];
	int in = hs_os_open(src, O_RDONLY, 0), out = -1, rc = HS_EIO;
	ssize_t n = 0;

	if (in < 0)
		return hs_errf(err, HS_EIO, "cannot read %s: %s", src,
			       strerror(errno));
	out = hs_os_open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (out < 0) {
		hs_buf_printf(err, "cannot write %s: %s", dst, strerror(errno));
		close(in);
		return HS_EIO;
	}
	while ((n = read(in, buf, sizeof buf)) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto write_failed;
			done += w;
		}
	}
	if (n < 0) {
		hs_buf_printf(err, "cannot read %s: %s", src, strerror(errno));
		goto cleanup;
	}
	if (hs_os_fsync(out) != 0)
		goto write_failed;
	rc = HS_OK;
	goto cleanup;
write_failed:
	hs_buf_printf(err, "cannot write %s: %s (is the disk full?)", dst,
		      strerror(errno));
cleanup:
	close(in);
	if (close(out) != 0 && rc == HS_OK)
		rc = hs_errf(err, HS_EIO, "cannot write %s: %s", dst,
			     strerror(errno));
	if (rc != HS_OK)
		hs_os_unlink(dst);
	return rc;
}

/* ---- checking a master file ---------------------------------------- */

/* A read of what/path failed with SQLite code sr: say so in err. */
static int read_failed(sqlite3 *db, int sr, const char *what,
		       const char *path, hs_buf *err)
{
	if (hs_error_from_sqlite(sr) == HS_ECORRUPT) {
		hs_buf_printf(err, "%s %s is damaged or not a SQLite database "
			      "(%s)", what, path, sqlite3_errmsg(db));
		return HS_ECORRUPT;
	}
	hs_buf_printf(err, "cannot read %s %s: %s", what, path,
		      sqlite3_errmsg(db));
	return HS_EIO;
}

/*
 * Is db a hubsync master of our format? Sets *seq. The message names the
 * file as "<what> <path>" (what: "the master", "the backup").
 * HS_OK, or HS_ECORRUPT (damaged, not a master) / HS_EIO with err set.
 */
static int check_master_tables(sqlite3 *db, const char *what,
			       const char *path, int64_t *seq, hs_buf *err)
{
	int sr;
	int64_t tables = hs_query_int(db, "SELECT count(*) FROM sqlite_master"
					  " WHERE type = 'table' AND name IN"
					  " ('hubsync_master', 'hubsync_rows',"
					  " 'hubsync_sites')", 0, &sr);
	if (sr != SQLITE_OK)
		return read_failed(db, sr, what, path, err);
	if (tables != 3) {
		hs_buf_printf(err, "%s %s is not a hubsync master (it lacks the "
			      "master's hubsync tables)", what, path);
		return HS_ECORRUPT;
	}
	int64_t fmt = hs_query_int(db, "SELECT value FROM hubsync_master WHERE"
				       " key = 'format'", -1, &sr);
	if (sr == SQLITE_OK)
		*seq = hs_query_int(db, "SELECT value FROM hubsync_master WHERE"
					" key = 'seq'", -1, &sr);
	if (sr != SQLITE_OK)
		return read_failed(db, sr, what, path, err);
	if (fmt < HS_MASTER_FORMAT_MIN || fmt > HS_MASTER_FORMAT ||
	    *seq < 0) {
		hs_buf_printf(err, "%s %s is not a hubsync master of format %d "
			      "to %d (it says format %lld)", what, path,
			      HS_MASTER_FORMAT_MIN, HS_MASTER_FORMAT,
			      (long long)fmt);
		return HS_ECORRUPT;
	}
	return HS_OK;
}

/* PRAGMA integrity_check on db: HS_OK, or HS_ECORRUPT with its first
 * complaint in err. */
static int check_integrity(sqlite3 *db, const char *what, const char *path,
			   hs_buf *err)
{
	sqlite3_stmt *st;
	int sr = hs_prepare(db, &st, "PRAGMA integrity_check(1)");
	int rc = HS_ECORRUPT;
	if (sr == SQLITE_OK && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		if (msg && strcmp(msg, "ok") == 0)
			rc = HS_OK;
		else
			hs_buf_printf(err, "%s %s failed its integrity check: "
				      "%s", what, path, msg ? msg : "?");
	} else {
		hs_buf_printf(err, "%s %s failed its integrity check: %s", what,
			      path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

/* Full check of the file at path, read-only: tables, then integrity. what
 * names the file in messages ("the backup"). */
static int verify_file(const char *what, const char *path, int64_t *seq,
		       int64_t *bytes, hs_buf *err)
{
	sqlite3 *db = NULL;
	hs_os_stat st;
	int rc;

	if (hs_os_stat_path(path, &st) != 0) {
		hs_buf_printf(err, "%s %s is not there: %s", what, path,
			      strerror(errno));
		return HS_EIO;
	}
	if (!st.is_file) {
		hs_buf_printf(err, "%s %s is not a file", what, path);
		return HS_EIO;
	}
	*bytes = st.size;
	if (hs_sqlite_open(path, &db, SQLITE_OPEN_READONLY) != SQLITE_OK) {
		hs_buf_printf(err, "cannot open %s %s: %s", what, path,
			      db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return HS_EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	rc = check_master_tables(db, what, path, seq, err);
	if (rc == HS_OK)
		rc = check_integrity(db, what, path, err);
	sqlite3_close(db);
	return rc;
}

int hs_backup_verify(const char *path, char **result_json, char **errmsg)
{
	hs_buf err;
	int64_t seq = 0, bytes = 0;
	int rc;

	hs_buf_init(&err);
	if (result_json)
		*result_json = NULL;
	if (errmsg)
		*errmsg = NULL;
	if (!path || !*path) {
		hs_buf_puts(&err, "no backup file given");
		return hs_err_out(&err, HS_EINVALID, errmsg, "");
	}
	rc = verify_file("the file", path, &seq, &bytes, &err);
	if (rc != HS_OK)
		return hs_err_out(&err, rc, errmsg, "");
	hs_buf_free(&err);
	return give_result(json_pack("{s:s,s:I,s:I}", "path", path, "bytes",
				     (json_int_t)bytes, "seq", (json_int_t)seq),
			   result_json);
}

/* ---- backup -------------------------------------------------------- */

/* Make dir if missing (*made = 1 then); it must end up a writable folder. */
static int ensure_dir(const char *dir, int *made, hs_buf *err)
{
	hs_os_stat st;
	*made = 0;
	if (hs_os_stat_path(dir, &st) != 0) {
		if (hs_os_mkdir(dir) != 0) {
			hs_buf_printf(err, "cannot create the backup folder %s: %s",
				      dir, strerror(errno));
			return HS_EIO;
		}
		*made = 1;
	} else if (!st.is_dir) {
		hs_buf_printf(err, "the backup folder %s is not a folder", dir);
		return HS_EIO;
	}
	if (hs_os_folder_writable(dir) != 0) {
		hs_buf_printf(err, "the backup folder %s is not writable: %s", dir,
			      strerror(errno));
		return HS_EIO;
	}
	return HS_OK;
}

static int cmp_names_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Delete dir/name; on success add the path to removed, else note the
 * first failure in err. */
static void remove_copy(const char *dir, const char *name, json_t *removed,
			hs_buf *err)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s/%s", dir, name);
	if (!b.oom && hs_os_unlink(b.s) == 0)
		json_array_append_new(removed, json_string(b.s));
	else if (!b.oom && !err->len)
		hs_buf_printf(err, "cannot delete the old backup %s: %s", b.s,
			      strerror(errno));
	hs_buf_free(&b);
}

/*
 * Delete the copies of base in dir beyond the newest keep (by the time in
 * their names; just_made, the copy this run wrote, is always kept, even if
 * another PC's clock runs ahead), and leftover .tmp files of killed
 * backups. The paths deleted go to removed. A failure to delete is noted
 * in err but does not fail the backup.
 */
static void rotate(const char *dir, const char *base, const char *just_made,
		   int keep, json_t *removed, hs_buf *err)
{
	hs_os_dir *d = hs_os_dir_open(dir);
	const char *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int kept = 1; /* just_made */

	if (!d)
		return;
	while ((e = hs_os_dir_next(d)) != NULL) {
		if (is_copy_name(e, base, ".bak.tmp")) {
			remove_copy(dir, e, removed, err);
			continue;
		}
		if (!is_copy_name(e, base, ".bak") || strcmp(e, just_made) == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		if ((names[n] = hs_strdup(e)) != NULL)
			n++;
	}
	hs_os_dir_close(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names_desc);
	for (size_t i = 0; i < n; i++) {
		if (kept < keep)
			kept++;
		else
			remove_copy(dir, names[i], removed, err);
		free(names[i]);
	}
	free(names);
}

/* Copy the open master src into the new file path with SQLite's online
 * backup (page by page, no partial state visible to others: we hold the
 * master lock). */
static int copy_database(sqlite3 *src, const char *path, hs_buf *err)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *bk;
	int sr = hs_sqlite_open(path, &dst,
				SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sr == SQLITE_OK) {
		bk = sqlite3_backup_init(dst, "main", src, "main");
		if (!bk) {
			sr = sqlite3_errcode(dst);
		} else {
			sr = sqlite3_backup_step(bk, -1);
			int fr = sqlite3_backup_finish(bk);
			sr = sr == SQLITE_DONE ? fr : sr;
		}
	}
	if (sr != SQLITE_OK)
		hs_buf_printf(err, "cannot write the backup %s: %s (is the disk "
			      "full?)", path, dst ? sqlite3_errmsg(dst)
						  : sqlite3_errstr(sr));
	if (sqlite3_close(dst) != SQLITE_OK && sr == SQLITE_OK) {
		hs_buf_printf(err, "cannot close the backup %s", path);
		sr = SQLITE_ERROR;
	}
	if (sr == SQLITE_OK && hs_os_fsync_path(path) != 0) {
		hs_buf_printf(err, "cannot write the backup %s: %s", path,
			      strerror(errno));
		sr = SQLITE_IOERR;
	}
	return sr == SQLITE_OK ? HS_OK : HS_EIO;
}

/* Open the master at path under its lock (held by the caller), read-write
 * without creating (a live journal is rolled back, as any sync would). */
static int open_master(const char *path, sqlite3 **db, int64_t *seq,
		       hs_buf *err)
{
	int sr = hs_sqlite_open(path, db, SQLITE_OPEN_READWRITE);
	if (sr != SQLITE_OK) {
		hs_buf_printf(err, "cannot open the master %s: %s", path,
			      *db ? sqlite3_errmsg(*db) : sqlite3_errstr(sr));
		return HS_EIO;
	}
	sqlite3_busy_timeout(*db, 10000);
	return check_master_tables(*db, "the master", path, seq, err);
}

int hs_backup_create(const char *master_path, const hs_backup_options *opts,
		     char **result_json, char **errmsg)
{
	hs_backup_options o = HS_BACKUP_OPTIONS_INIT;
	hs_lock lock;
	hs_buf err, prefix, warn;
	sqlite3 *src = NULL;
	char *dir = NULL, *folder = NULL, *final = NULL, *tmp = NULL;
	json_t *removed = NULL;
	hs_os_stat st;
	int64_t seq = 0, bytes = 0, seq2 = 0;
	int rc, made_dir = 0;

	memset(&lock, 0, sizeof(lock));
	hs_buf_init(&err);
	hs_buf_init(&prefix);
	hs_buf_init(&warn);
	if (result_json)
		*result_json = NULL;
	if (errmsg)
		*errmsg = NULL;
	if (opts)
		o = *opts;
	if (!master_path || !*master_path || o.keep < 0 ||
	    o.keep > HS_BACKUP_KEEP_MAX || o.lock_timeout_ms < 0) {
		hs_buf_printf(&err, "bad backup request: give the master and keep "
			      "from 1 to %d copies", HS_BACKUP_KEEP_MAX);
		return hs_err_out(&err, HS_EINVALID, errmsg, "");
	}
	if (o.keep == 0)
		o.keep = HS_BACKUP_KEEP_DEFAULT;
	if (hs_os_stat_path(master_path, &st) != 0 || !st.is_file) {
		hs_buf_printf(&err, "the master %s is not there: is the share "
			      "mounted? check the path", master_path);
		return hs_err_out(&err, HS_EIO, errmsg, "");
	}
	folder = folder_of(master_path);
	if (o.dir && *o.dir) {
		dir = hs_strdup(o.dir);
	} else if (folder) {
		hs_buf b;
		hs_buf_init(&b);
		hs_buf_printf(&b, "%s/backups", folder);
		dir = hs_buf_take(&b);
	}
	removed = json_array();
	if (!folder || !dir || !removed) {
		hs_buf_puts(&err, "out of memory");
		rc = HS_ERROR;
		goto cleanup;
	}

	rc = hs_lock_acquire(&lock, master_path, o.lock_timeout_ms > 0
						? o.lock_timeout_ms
						: BACKUP_LOCK_TIMEOUT_MS,
			     NULL, NULL, &err);
	if (rc != HS_OK)
		goto cleanup;
	rc = open_master(master_path, &src, &seq, &err);
	if (rc == HS_ECORRUPT && err.s && strstr(err.s, "damaged"))
		hs_buf_puts(&err, ": restore it from a backup (hubsync restore)");
	if (rc != HS_OK)
		goto cleanup;
	rc = ensure_dir(dir, &made_dir, &err);
	if (rc != HS_OK)
		goto cleanup;
	hs_buf_printf(&prefix, "%s/%s.", dir, file_name_of(master_path));
	final = prefix.oom ? NULL : fresh_name(prefix.s, ".bak", &err);
	if (!final) {
		rc = HS_EIO;
		goto cleanup;
	}
	hs_buf_reset(&prefix);
	hs_buf_printf(&prefix, "%s.tmp", final);
	tmp = hs_buf_take(&prefix);
	if (!tmp) {
		hs_buf_puts(&err, "out of memory");
		rc = HS_ERROR;
		goto cleanup;
	}
	rc = copy_database(src, tmp, &err);
	sqlite3_close(src);
	src = NULL;
	hs_lock_refresh(&lock);
	if (rc == HS_OK) {
		rc = verify_file("the backup", tmp, &seq2, &bytes, &err);
		if (rc == HS_ECORRUPT) {
			hs_buf_reset(&err);
			hs_buf_printf(&err, "the master %s is damaged (its copy "
				      "failed the integrity check): restore it "
				      "from a backup (hubsync restore)",
				      master_path);
		}
	}
	if (rc == HS_OK && hs_os_rename(tmp, final) != 0) {
		hs_buf_printf(&err, "cannot name the backup %s: %s", final,
			      strerror(errno));
		rc = HS_EIO;
	}
	if (rc != HS_OK) {
		hs_os_unlink(tmp);
		goto cleanup;
	}
	hs_os_fsync_folder(dir);
	rotate(dir, file_name_of(master_path), file_name_of(final), o.keep,
	       removed, &warn);

cleanup:
	sqlite3_close(src);
	hs_lock_release(&lock);
	if (rc != HS_OK && made_dir)
		hs_os_rmdir(dir); /* only when still empty */
	if (rc == HS_OK) {
		json_t *doc = json_pack("{s:s,s:s,s:I,s:I,s:i,s:O}", "master",
					master_path, "backup", final, "bytes",
					(json_int_t)bytes, "seq", (json_int_t)seq,
					"keep", o.keep, "removed", removed);
		if (doc && warn.len)
			json_object_set_new(doc, "warning", json_string(warn.s));
		rc = give_result(doc, result_json);
		if (rc != HS_OK)
			hs_buf_puts(&err, "out of memory");
	}
	json_decref(removed);
	free(folder);
	free(dir);
	free(final);
	free(tmp);
	hs_buf_free(&prefix);
	hs_buf_free(&warn);
	return hs_err_out(&err, rc, errmsg, "");
}

/* ---- restore ------------------------------------------------------- */

/*
 * What the old master knows that the restored one must keep, read without
 * changing it: its sequence (-1 if unreadable) and its number series
 * (series, next). *numbers_read is 0 when they could not be read.
 */
static int64_t peek_old(const char *path, hs_rowset *numbers,
			int *numbers_read)
{
	sqlite3 *db = NULL;
	int64_t seq = -1;
	*numbers_read = 0;
	if (hs_sqlite_open(path, &db, SQLITE_OPEN_READONLY) == SQLITE_OK) {
		seq = hs_query_int(db, "SELECT value FROM hubsync_master WHERE"
				       " key = 'seq'", -1, NULL);
		*numbers_read = seq >= 0 &&
				hs_rowset_fetch(db, "SELECT series, next FROM"
						    " hubsync_numbers WHERE ?1 = ?1",
						0, numbers) == SQLITE_OK;
	}
	sqlite3_close(db);
	return seq;
}

/*
 * Record in the copy at path that it is a restored master, and raise its
 * number series to the old master's (numbers): blocks PCs reserved after
 * the backup was taken must not be handed out again. The copy is not in
 * place yet, so no journal is needed: a kill leaves a temp file.
 */
static int mark_restored(const char *path, const char *backup,
			 const hs_rowset *numbers, hs_buf *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32];
	int sr = hs_sqlite_open(path, &db, SQLITE_OPEN_READWRITE);

	hs_iso_time(hs_system_ms(), now);
	if (sr == SQLITE_OK)
		sr = hs_exec(db, "PRAGMA journal_mode=OFF");
	if (sr == SQLITE_OK)
		sr = hs_prepare(db, &st, "INSERT OR REPLACE INTO hubsync_master"
					 " VALUES ('restored_at', ?1),"
					 " ('restored_from', ?2)");
	if (sr == SQLITE_OK) {
		sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, file_name_of(backup), -1,
				  SQLITE_TRANSIENT);
		sr = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK
						     : sqlite3_errcode(db);
	}
	/* A backup older than number series lacks their table: the same
	 * statement as master.c's MASTER_DDL (which adds it on open). */
	if (sr == SQLITE_OK && numbers->n)
		sr = hs_exec(db, "CREATE TABLE IF NOT EXISTS hubsync_numbers("
				 "series TEXT PRIMARY KEY, next INTEGER NOT NULL)");
	if (sr == SQLITE_OK && numbers->n)
		sr = hs_rowset_insert(db, "INSERT INTO hubsync_numbers(series,"
					  " next) VALUES (?1, ?2) ON CONFLICT(series)"
					  " DO UPDATE SET next = max(next,"
					  " excluded.next)", numbers);
	if (sr != SQLITE_OK)
		hs_buf_printf(err, "cannot write %s: %s (is the disk full?)", path,
			      db ? sqlite3_errmsg(db) : sqlite3_errstr(sr));
	sqlite3_finalize(st);
	if (sqlite3_close(db) != SQLITE_OK && sr == SQLITE_OK) {
		hs_buf_printf(err, "cannot close %s", path);
		sr = SQLITE_ERROR;
	}
	if (sr == SQLITE_OK && hs_os_fsync_path(path) != 0) {
		hs_buf_printf(err, "cannot write %s: %s", path, strerror(errno));
		sr = SQLITE_IOERR;
	}
	return sr == SQLITE_OK ? HS_OK : HS_EIO;
}

/* path + suffix, malloc'd (NULL on oom). */
static char *path_plus(const char *path, const char *suffix)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s%s", path, suffix);
	return hs_buf_take(&b);
}

int hs_backup_restore(const char *master_path, const char *backup_path,
		      const hs_backup_options *opts, char **result_json,
		      char **errmsg)
{
	hs_lock lock;
	hs_buf err;
	hs_os_stat mst, bst, jst;
	char *folder = NULL, *aside = NULL, *tmp = NULL, *journal = NULL;
	char *aside_journal = NULL, *prefix = NULL;
	int64_t seq = 0, bytes = 0, prev_seq, seq2 = 0;
	hs_rowset numbers;
	int rc = HS_ERROR, moved_journal = 0, numbers_read = 0;
	int timeout = opts && opts->lock_timeout_ms > 0 ? opts->lock_timeout_ms
							: BACKUP_LOCK_TIMEOUT_MS;

	memset(&lock, 0, sizeof(lock));
	memset(&numbers, 0, sizeof(numbers));
	hs_buf_init(&err);
	if (result_json)
		*result_json = NULL;
	if (errmsg)
		*errmsg = NULL;
	if (!master_path || !*master_path || !backup_path || !*backup_path) {
		hs_buf_puts(&err, "bad restore request: give the master and the "
			    "backup file");
		return hs_err_out(&err, HS_EINVALID, errmsg, "");
	}
	if (hs_os_stat_path(master_path, &mst) != 0 || !mst.is_file) {
		hs_buf_printf(&err, "the master %s is not there: is the share "
			      "mounted? (to restore a master file that was "
			      "deleted, see docs/BACKUP.md)", master_path);
		return hs_err_out(&err, HS_EIO, errmsg, "");
	}
	if (hs_os_stat_path(backup_path, &bst) == 0 && bst.dev == mst.dev &&
	    bst.ino == mst.ino) {
		hs_buf_printf(&err, "%s is the master itself: give a backup "
			      "file", backup_path);
		return hs_err_out(&err, HS_EINVALID, errmsg, "");
	}
	rc = verify_file("the backup", backup_path, &seq, &bytes, &err);
	if (rc != HS_OK) {
		hs_buf_puts(&err, "; choose another backup (nothing was changed)");
		return hs_err_out(&err, rc, errmsg, "");
	}
	folder = folder_of(master_path);
	prefix = path_plus(master_path, ".before-restore-");
	tmp = path_plus(master_path, ".restore-tmp");
	journal = path_plus(master_path, "-journal");
	if (!folder || !prefix || !tmp || !journal) {
		hs_buf_puts(&err, "out of memory");
		rc = HS_ERROR;
		goto cleanup;
	}
	if (hs_os_folder_writable(folder) != 0) {
		hs_buf_printf(&err, "the master's folder %s is not writable: %s",
			      folder, strerror(errno));
		rc = HS_EIO;
		goto cleanup;
	}

	rc = hs_lock_acquire(&lock, master_path, timeout, NULL, NULL, &err);
	if (rc != HS_OK)
		goto cleanup;
	prev_seq = peek_old(master_path, &numbers, &numbers_read);
	aside = fresh_name(prefix, "", &err);
	if (!aside || !(aside_journal = path_plus(aside, "-journal"))) {
		rc = HS_EIO;
		goto cleanup;
	}
	if ((rc = copy_file(master_path, aside, &err)) != HS_OK)
		goto cleanup;
	hs_lock_refresh(&lock);
	if ((rc = copy_file(backup_path, tmp, &err)) != HS_OK)
		goto cleanup;
	if ((rc = mark_restored(tmp, backup_path, &numbers, &err)) != HS_OK ||
	    (rc = verify_file("the restored copy", tmp, &seq2, &bytes,
			      &err)) != HS_OK) {
		hs_os_unlink(tmp);
		goto cleanup;
	}
	hs_lock_refresh(&lock);
	/* A live journal of the old master goes with it (see the top). */
	if (hs_os_stat_path(journal, &jst) == 0 && jst.size > 0) {
		if (hs_os_rename(journal, aside_journal) != 0) {
			hs_buf_printf(&err, "cannot move the master's journal %s "
				      "aside: %s", journal, strerror(errno));
			hs_os_unlink(tmp);
			rc = HS_EIO;
			goto cleanup;
		}
		moved_journal = 1;
	}
	if (hs_os_rename(tmp, master_path) != 0) {
		hs_buf_printf(&err, "cannot put the backup in place of %s: %s",
			      master_path, strerror(errno));
		if (moved_journal)
			hs_os_rename(aside_journal, journal);
		hs_os_unlink(tmp);
		rc = HS_EIO;
		goto cleanup;
	}
	hs_os_fsync_folder(folder);
	rc = HS_OK;

cleanup:
	hs_lock_release(&lock);
	if (rc != HS_OK && aside)
		hs_os_unlink(aside); /* nothing was replaced: no need for it */
	if (rc == HS_OK) {
		json_t *doc = json_pack("{s:s,s:s,s:I,s:o,s:s}", "master",
					master_path, "backup", backup_path, "seq",
					(json_int_t)seq, "previous_seq",
					prev_seq >= 0 ? json_integer(prev_seq)
						      : json_null(),
					"kept_aside", aside);
		if (doc)
			json_object_set_new(doc, "numbers_carried",
					    json_boolean(numbers_read));
		if (doc && moved_journal)
			json_object_set_new(doc, "kept_aside_journal",
					    json_string(aside_journal));
		rc = give_result(doc, result_json);
		if (rc != HS_OK)
			hs_buf_puts(&err, "out of memory");
	}
	hs_rowset_clear(&numbers);
	free(folder);
	free(aside);
	free(aside_journal);
	free(tmp);
	free(journal);
	free(prefix);
	return hs_err_out(&err, rc, errmsg, "");
}
