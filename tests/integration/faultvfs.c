/*
 * faultvfs.c - the fault-injecting VFS of the integration tests (see
 * faultvfs.h for what it counts and fails).
 *
 * Layout: an open file is an fv_file (our methods, the file name)
 * immediately followed by the real VFS's own file object, which every
 * method forwards to. szOsFile is ours plus the real one's.
 */
#include "faultvfs.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

typedef struct fv_file {
	sqlite3_file base;
	const char *name;   /* valid while open (SQLite's guarantee) */
	sqlite3_file *real; /* points just past this struct */
} fv_file;

static const char *KIND_NAMES[FV_NKINDS] = {"read", "write", "fsync", "lock",
					    "open"};

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	int installed;
	char target[256]; /* "" = nothing watched */
	long count[FV_NKINDS];
	int armed;
	fv_kind kind;
	long at; /* fail when count[kind] reaches this */
	int persistent;
	long fired;
} fv;

const char *fv_kind_name(fv_kind k)
{
	return k >= 0 && k < FV_NKINDS ? KIND_NAMES[k] : "?";
}

void fv_watch(const char *target)
{
	snprintf(fv.target, sizeof(fv.target), "%s", target ? target : "");
	memset(fv.count, 0, sizeof(fv.count));
	fv.armed = 0;
	fv.fired = 0;
}

void fv_arm(fv_kind kind, long nth, int persistent)
{
	fv.armed = 1;
	fv.kind = kind;
	fv.at = fv.count[kind] + nth;
	fv.persistent = persistent;
}

void fv_disarm(void) { fv.armed = 0; }

long fv_count(fv_kind kind) { return fv.count[kind]; }

long fv_fired(void) { return fv.fired; }

/* Count one operation of kind; 1 if it must fail. */
static int hit(int watched, fv_kind kind)
{
	if (!watched)
		return 0;
	long n = ++fv.count[kind];
	if (!fv.armed || fv.kind != kind)
		return 0;
	if (n == fv.at || (fv.persistent && n > fv.at)) {
		fv.fired++;
		return 1;
	}
	return 0;
}

static int is_watched(const char *path)
{
	const char *base;
	if (!path || !fv.target[0])
		return 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strncmp(base, fv.target, strlen(fv.target)) == 0;
}

/* ---- file methods --------------------------------------------------- */

#define REALF(f) (((fv_file *)(f))->real)
#define WATCHED(f) is_watched(((fv_file *)(f))->name)

static int f_close(sqlite3_file *f)
{
	int rc = REALF(f)->pMethods ? REALF(f)->pMethods->xClose(REALF(f))
				    : SQLITE_OK;
	f->pMethods = NULL;
	return rc;
}
static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (hit(WATCHED(f), FV_READ))
		return SQLITE_IOERR_READ;
	return REALF(f)->pMethods->xRead(REALF(f), buf, n, off);
}
static int f_write(sqlite3_file *f, const void *buf, int n,
		   sqlite3_int64 off)
{
	if (hit(WATCHED(f), FV_WRITE))
		return SQLITE_IOERR_WRITE;
	return REALF(f)->pMethods->xWrite(REALF(f), buf, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (hit(WATCHED(f), FV_WRITE))
		return SQLITE_IOERR_TRUNCATE;
	return REALF(f)->pMethods->xTruncate(REALF(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
	if (hit(WATCHED(f), FV_SYNC))
		return SQLITE_IOERR_FSYNC;
	return REALF(f)->pMethods->xSync(REALF(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REALF(f)->pMethods->xFileSize(REALF(f), size);
}
static int f_lock(sqlite3_file *f, int level)
{
	if (hit(WATCHED(f), FV_LOCK))
		return SQLITE_IOERR_LOCK;
	return REALF(f)->pMethods->xLock(REALF(f), level);
}
static int f_unlock(sqlite3_file *f, int level)
{
	return REALF(f)->pMethods->xUnlock(REALF(f), level);
}
static int f_reserved(sqlite3_file *f, int *out)
{
	return REALF(f)->pMethods->xCheckReservedLock(REALF(f), out);
}
static int f_control(sqlite3_file *f, int op, void *arg)
{
	return REALF(f)->pMethods->xFileControl(REALF(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
	return REALF(f)->pMethods->xSectorSize(REALF(f));
}
static int f_devchar(sqlite3_file *f)
{
	return REALF(f)->pMethods->xDeviceCharacteristics(REALF(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext,
		    void volatile **p)
{
	return REALF(f)->pMethods->xShmMap(REALF(f), pg, sz, ext, p);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REALF(f)->pMethods->xShmLock(REALF(f), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f)
{
	REALF(f)->pMethods->xShmBarrier(REALF(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
	return REALF(f)->pMethods->xShmUnmap(REALF(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REALF(f)->pMethods->xFetch(REALF(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REALF(f)->pMethods->xUnfetch(REALF(f), off, p);
}

static const sqlite3_io_methods FILE_METHODS = {
	3,	      f_close,	    f_read,	 f_write,    f_truncate,
	f_sync,	      f_size,	    f_lock,	 f_unlock,   f_reserved,
	f_control,    f_sector,	    f_devchar,	 f_shmmap,   f_shmlock,
	f_shmbarrier, f_shmunmap,   f_fetch,	 f_unfetch,
};

/* ---- VFS methods ---------------------------------------------------- */

static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *f,
		  int flags, int *out_flags)
{
	fv_file *ff = (fv_file *)f;
	int rc;
	(void)v;
	ff->base.pMethods = NULL;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->real->pMethods = NULL;
	ff->name = name;
	if (hit(is_watched(name), FV_OPEN))
		return SQLITE_CANTOPEN;
	rc = fv.real->xOpen(fv.real, name, ff->real, flags, out_flags);
	/* The real VFS may set pMethods even on failure: then xClose must
	 * still reach it, so our methods are installed whenever it did. */
	if (ff->real->pMethods)
		ff->base.pMethods = &FILE_METHODS;
	return rc;
}
static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return fv.real->xDelete(fv.real, name, sync_dir);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return fv.real->xAccess(fv.real, name, flags, out);
}
static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return fv.real->xFullPathname(fv.real, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return fv.real->xDlOpen(fv.real, name);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	fv.real->xDlError(fv.real, n, msg);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return fv.real->xDlSym(fv.real, h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	fv.real->xDlClose(fv.real, h);
}
static int v_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return fv.real->xRandomness(fv.real, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return fv.real->xSleep(fv.real, us);
}
static int v_time(sqlite3_vfs *v, double *now)
{
	(void)v;
	return fv.real->xCurrentTime(fv.real, now);
}
static int v_lasterror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return fv.real->xGetLastError(fv.real, n, out);
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *now)
{
	(void)v;
	return fv.real->xCurrentTimeInt64(fv.real, now);
}

int fv_install(void)
{
	if (fv.installed)
		return SQLITE_OK;
	fv.real = sqlite3_vfs_find(NULL);
	if (!fv.real)
		return SQLITE_ERROR;
	fv.vfs.iVersion = 2;
	fv.vfs.szOsFile = (int)sizeof(fv_file) + fv.real->szOsFile;
	fv.vfs.mxPathname = fv.real->mxPathname;
	fv.vfs.zName = "hs_faultvfs";
	fv.vfs.xOpen = v_open;
	fv.vfs.xDelete = v_delete;
	fv.vfs.xAccess = v_access;
	fv.vfs.xFullPathname = v_fullpath;
	fv.vfs.xDlOpen = v_dlopen;
	fv.vfs.xDlError = v_dlerror;
	fv.vfs.xDlSym = v_dlsym;
	fv.vfs.xDlClose = v_dlclose;
	fv.vfs.xRandomness = v_random;
	fv.vfs.xSleep = v_sleep;
	fv.vfs.xCurrentTime = v_time;
	fv.vfs.xGetLastError = v_lasterror;
	fv.vfs.xCurrentTimeInt64 = v_time64;
	int rc = sqlite3_vfs_register(&fv.vfs, 1);
	if (rc == SQLITE_OK)
		fv.installed = 1;
	return rc;
}
