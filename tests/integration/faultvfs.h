/*
 * faultvfs.h - a test-only SQLite VFS that injects I/O faults.
 *
 * It wraps the real default VFS and is registered as the new default, so
 * every sqlite3_open in the test process, the library's own included, goes
 * through it (no library change needed). It forwards every call; while a
 * fault is armed it fails the Nth operation of one kind on the files whose
 * name starts with a chosen prefix (the "target": "master.db" also matches
 * "master.db-journal"), once or from then on (persistent).
 *
 * Operations counted, and the error a fault returns:
 *   FV_READ   xRead          SQLITE_IOERR_READ
 *   FV_WRITE  xWrite, xTruncate
 *                            SQLITE_IOERR_WRITE / SQLITE_IOERR_TRUNCATE
 *   FV_SYNC   xSync          SQLITE_IOERR_FSYNC
 *   FV_LOCK   xLock          SQLITE_IOERR_LOCK
 *   FV_OPEN   xOpen          SQLITE_CANTOPEN
 * Files without a name (temp files) are never counted nor failed.
 *
 * Not thread-safe: one test thread drives it (SQLite calls the VFS from
 * the thread that runs the statement).
 */
#ifndef HS_FAULTVFS_H
#define HS_FAULTVFS_H

typedef enum fv_kind {
	FV_READ = 0,
	FV_WRITE,
	FV_SYNC,
	FV_LOCK,
	FV_OPEN,
	FV_NKINDS
} fv_kind;

/* "read", "write", "fsync", "lock", "open". */
const char *fv_kind_name(fv_kind k);

/* Register the VFS as the default (once; later calls do nothing).
 * Returns SQLITE_OK or an SQLite error code. */
int fv_install(void);

/*
 * Watch the files whose base name starts with target (NULL: none):
 * zero the counters and disarm. Counting covers every operation on those
 * files from now on, armed or not.
 */
void fv_watch(const char *target);

/* Fail the nth (1-based, counted from now) operation of kind on the
 * watched files; with persistent, every later one of that kind too. */
void fv_arm(fv_kind kind, long nth, int persistent);
/* Stop failing (counters keep running). */
void fv_disarm(void);

/* Operations of kind on the watched files since fv_watch. */
long fv_count(fv_kind kind);
/* Faults returned since fv_watch. */
long fv_fired(void);

#endif
