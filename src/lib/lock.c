/*
 * lock.c - exclusive writer lock on a master that lives on a network share.
 *
 * Why not SQLite's own locking: through SMB, fcntl locks taken by one PC's
 * client do not block another PC, and O_CREAT|O_EXCL let two clients both
 * "win" under contention; mkdir was atomic in every trial (DESIGN.md,
 * network share). So the lock is the directory MASTER.lock, with a file
 * "owner" inside ("host pid start_ms").
 *
 * Stale locks: on the same host, a lock whose process is gone is stale at
 * once, and one without an owner file (its sync was killed between mkdir
 * and writing the file) after HS_LOCK_ORPHAN_MS. The taker reads its owner
 * line back before it goes on, and releases only a lock that still holds
 * that line: a PC that was slow enough to be taken for dead notices, and
 * never removes the lock another PC took meanwhile. Otherwise the owner
 * file's mtime is compared with the share's own
 * clock (the mtime of MASTER.clock just touched by us), never with this
 * PC's clock: PCs' clocks disagree. An owner silent for HS_LOCK_LEASE_MS is
 * stale; the owner refreshes the mtime during long work. A stale lock is
 * broken by renaming the directory away after re-reading that the owner
 * is unchanged, one breaker at a time (break_lock); and a holder checks
 * that its lock is still its own before it commits (hs_lock_held).
 *
 * mkdir through a contended SMB client often fails with EIO rather than
 * EEXIST: both mean "busy, retry". Now and then the owner file's write
 * right after a mkdir that worked fails with EIO too: the folder is
 * removed and the lock taken again, within the same wait (a bare Debian
 * test run of test_smb's lock part saw it once). After one request timed
 * out, a client may fail every request with EIO for a while (smbnetfs:
 * 3 s): the owner's reads, the release, the removal of a lock moved aside
 * and the end of a breaker's turn are tried for 3.5 s (busy_try); a
 * folder counts as gone only when it is not there, never when the check
 * failed.
 */
#include "lock.h"
#include "hubsync.h"
#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STALE ".stale." /* MASTER.lock.stale.PID.MS: a lock moved aside */

static char *path_with(const char *base, const char *suffix)
{
	hs_buf b;
	hs_buf_init(&b);
	hs_buf_puts(&b, base);
	hs_buf_puts(&b, suffix);
	return hs_buf_take(&b);
}

/* Read the owner file into buf ("" if missing, empty or unreadable): 0,
 * or the errno of the failure (ENOENT: no owner file). */
static int read_owner(const hs_lock *l, char *buf, size_t n)
{
	errno = 0;
	FILE *f = hs_os_fopen(l->owner, "r");
	int e = 0;
	buf[0] = 0;
	if (!f)
		return errno ? errno : EIO;
	if (!fgets(buf, (int)n, f)) {
		e = ferror(f) ? (errno ? errno : EIO) : 0;
		buf[0] = 0;
	}
	fclose(f);
	return e;
}

/* Whether read_owner's answer (its errno) tells who owns the lock: the
 * line read, or no owner file. A read that failed otherwise (EIO from a
 * busy SMB client) tells nothing: a live lock read as "" would be taken
 * for one whose owner never wrote its name, and broken after
 * HS_LOCK_ORPHAN_MS, while its holder writes the master. */
static int owner_known(int e)
{
	return e == 0 || e == ENOENT || e == ENOTDIR;
}

static int write_owner(hs_lock *l)
{
	char host[256] = "?";
	FILE *f = hs_os_fopen(l->owner, "w");
	if (!f)
		return -1;
	hs_os_hostname(host, sizeof host);
	snprintf(l->line, sizeof l->line, "%s %ld %lld\n", host, hs_os_pid(),
		 (long long)hs_system_ms());
	int ok = fputs(l->line, f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -1;
}

/*
 * A busy SMB client fails every request with EIO for a while (smbnetfs:
 * for 3 s after one request timed out). What must get through (the
 * owner's read, the removal of a lock or a breaker's turn) is tried again
 * for up to 3.5 s: for (i = 0; busy_try(i); i++) { try; }. busy_try
 * sleeps before every try but the first (50 ms, doubling up to 1 s: 3.55 s
 * in all over 8 tries) and says 0 when the tries are used up.
 */
static int busy_try(int i)
{
	if (i >= 8)
		return 0;
	if (i > 0)
		hs_os_sleep_ms(i < 6 ? 50 << (i - 1) : 1000);
	return 1;
}

/* rmdir(dir); 1 if dir is gone now: removed, or not there. A check that
 * fails otherwise (EIO) is no answer: the folder may still be there. */
static int folder_removed(const char *dir)
{
	return hs_os_rmdir(dir) == 0 ||
	       (hs_os_exists(dir) != 0 && (errno == ENOENT || errno == ENOTDIR));
}

/* 1 if MASTER.lock/owner is the line this process wrote: the lock is
 * still ours (not taken for stale and moved aside meanwhile). A read that
 * fails is not an answer: taking it for "not ours" made a holder give up
 * a lock it held, or lock itself out (its own live lock) for a lease. So
 * it is read again for up to 3.5 s (busy_try); a lock that cannot be read
 * by then is not held. */
static int still_mine(const hs_lock *l)
{
	char now[400] = "";
	int e = EIO;
	if (!l->line[0])
		return 0;
	for (int i = 0; !owner_known(e) && busy_try(i); i++)
		e = read_owner(l, now, sizeof now);
	return e == 0 && strcmp(now, l->line) == 0;
}

/* The share's current time in seconds: touch MASTER.clock and read its
 * mtime. -1 if that fails. */
static double share_now(const hs_lock *l)
{
	hs_os_stat st;
	FILE *f = hs_os_fopen(l->clock, "w");
	if (!f)
		return -1;
	if (fputc('t', f) == EOF) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0 || hs_os_stat_path(l->clock, &st) != 0)
		return -1;
	return (double)st.mtime_ns / 1e9;
}

/* 1 if the lock directory currently there is stale. */
static int lock_is_stale(const hs_lock *l, const char *owner)
{
	char host[256] = "", me[256] = "";
	long pid = 0;
	hs_os_stat st;
	double now;

	hs_os_hostname(me, sizeof me);
	int named = sscanf(owner, "%255s %ld", host, &pid) == 2;
	if (named && strcmp(host, me) == 0 && pid > 0 &&
	    hs_os_pid_alive(pid) == 0)
		return 1;
	/* No owner file, or one not written to the end: judged by its age */
	int ownerless = !named;
	if (hs_os_stat_path(l->owner, &st) != 0 &&
	    hs_os_stat_path(l->dir, &st) != 0)
		return 0; /* gone: the next mkdir will tell */
	now = share_now(l);
	if (now < 0)
		return 0;
	double age = now - (double)st.mtime_ns / 1e9;
	/* An owner writes its name right after mkdir: a lock still without
	 * one after a few seconds belongs to a sync killed in between. */
	return age * 1000 > (ownerless ? HS_LOCK_ORPHAN_MS : HS_LOCK_LEASE_MS);
}

/* Remove a lock folder moved aside (nobody else uses it): its owner file,
 * then the folder. Through a busy SMB client either may fail (EIO) for up
 * to 3.5 s (busy_try); left there, it is removed by the next holder
 * (sweep_aside). */
static void remove_aside(const char *aside)
{
	char *o = path_with(aside, "/owner");
	for (int i = 0; o && busy_try(i); i++) {
		hs_os_unlink(o);
		if (folder_removed(aside))
			break;
	}
	free(o);
}

/* A breaker's turn left behind by a breaker that died holding it (a
 * turn lasts milliseconds): remove it after BREAK_TURN_MS by the share's
 * clock. Not sooner than a lock's lease: the breaker may be alive but
 * stalled (a loaded PC, a stuck SMB client), and when it goes on it
 * renames whatever lock is there; with a 10 s turn, another breaker took
 * the turn, broke the stale lock and held a new one, which the stalled
 * breaker then moved aside: two holders (test_lock_turn). No one is taken
 * for dead sooner than a lock holder is. */
#define BREAK_TURN_MS HS_LOCK_LEASE_MS
static void clear_dead_turn(const hs_lock *l)
{
	hs_os_stat st;
	double now;
	if (hs_os_stat_path(l->brk, &st) != 0 || (now = share_now(l)) < 0)
		return;
	if ((now - (double)st.mtime_ns / 1e9) * 1000 > BREAK_TURN_MS)
		hs_os_rmdir(l->brk);
}

/* End our turn. Through a busy SMB client the rmdir may fail for a
 * while (EIO, as still_mine's reads): left there, the turn would stop all
 * breaking for BREAK_TURN_MS, so it is tried for up to 3.5 s too. */
static void end_turn(const hs_lock *l)
{
	for (int i = 0; busy_try(i); i++) {
		if (folder_removed(l->brk))
			break;
	}
}

/*
 * Rename the stale lock away and remove it. Breakers take turns (the
 * folder MASTER.lock.break, made with mkdir): otherwise two PCs that both
 * found the lock stale could interleave, one breaking it and taking a new
 * lock, the other then renaming that live lock away and taking one too:
 * two writers. In its turn a breaker re-reads the owner; the lock it
 * renames is the stale one (a new lock cannot appear while it is there).
 */
static void break_lock(hs_lock *l, const char *owner_seen)
{
	char again[400], *aside;
	hs_buf b;
	if (hs_os_mkdir(l->brk) != 0) {
		clear_dead_turn(l);
		return; /* another PC is breaking it: look again */
	}
	if (!owner_known(read_owner(l, again, sizeof again)) ||
	    strcmp(again, owner_seen) != 0) {
		end_turn(l);
		return; /* someone took it meanwhile, or no answer */
	}
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s" STALE "%ld.%lld", l->dir, hs_os_pid(),
		      (long long)hs_system_ms());
	aside = hs_buf_take(&b);
	if (aside && hs_os_rename(l->dir, aside) == 0) {
		l->broke = 1;
		remove_aside(aside);
	}
	free(aside);
	end_turn(l);
}

/* Locks moved aside that a failed removal left on the share (a PC's
 * break_lock whose SMB client failed): the lock holder removes them. */
static void sweep_aside(const hs_lock *l)
{
	char *folder = hs_os_path_folder(l->dir);
	const char *base = hs_os_path_file(l->dir), *name;
	size_t n = strlen(base);
	hs_os_dir *d = folder ? hs_os_dir_open(folder) : NULL;
	while (d && (name = hs_os_dir_next(d))) {
		if (strncmp(name, base, n) != 0 || strncmp(name + n, STALE, strlen(STALE)) != 0)
			continue;
		hs_buf b;
		hs_buf_init(&b);
		hs_buf_printf(&b, "%s/%s", folder, name);
		char *aside = hs_buf_take(&b);
		if (aside)
			remove_aside(aside);
		free(aside);
	}
	if (d)
		hs_os_dir_close(d);
	free(folder);
}

/* "HOST (process PID)" of an owner line "HOST PID MS" into out; "" if
 * the line is not one. */
static void holder_of(const char *owner, char *out, size_t n)
{
	char host[256];
	long pid;
	out[0] = 0;
	if (sscanf(owner, "%255s %ld", host, &pid) == 2)
		snprintf(out, n, "%s (process %ld)", host, pid);
}

/* Sleep *wait ms (and a little jitter), doubling it up to 0.5 s. */
static void backoff(int *wait)
{
	hs_os_sleep_ms(*wait + (int)(hs_system_ms() % 17));
	if (*wait < 500)
		*wait *= 2;
}

int hs_lock_acquire(hs_lock *l, const char *master_path, int timeout_ms,
		    hs_lock_wait_fn waiting, void *waiting_ctx, hs_buf *err)
{
	int64_t start = hs_system_ms(), told = -1;
	int wait = 20;
	memset(l, 0, sizeof(*l));
	l->dir = path_with(master_path, ".lock");
	l->owner = path_with(master_path, ".lock/owner");
	l->clock = path_with(master_path, ".clock");
	l->brk = path_with(master_path, ".lock.break");
	if (!l->dir || !l->owner || !l->clock || !l->brk) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	for (;;) {
		if (hs_os_mkdir(l->dir) == 0) {
			errno = 0;
			int wrote = write_owner(l) == 0;
			if (wrote && still_mine(l)) {
				l->held = 1;
				sweep_aside(l);
				return 0;
			}
			/* Another PC took our lock for stale while we were
			 * slow and moved it aside; it may hold the master
			 * now: touch nothing there, try again. */
			if (wrote || errno == ENOENT)
				continue;
			int e = errno;
			hs_os_rmdir(l->dir);
			/* EIO through a contended SMB client, as mkdir's can
			 * be: try again, within the wait */
			if (e == EIO && hs_system_ms() - start < timeout_ms) {
				backoff(&wait);
				continue;
			}
			hs_buf_printf(err, "cannot write the lock file %s: %s; check "
				      "that the share is writable", l->owner,
				      strerror(e));
			return HS_EIO;
		}
		int e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			hs_buf_printf(err, "the master's folder for %s is not there: "
				      "is the share mounted?", master_path);
			return HS_EIO;
		}
		if (e == EROFS || e == EACCES || e == EPERM || e == ENOSPC ||
		    e == EDQUOT) {
			hs_buf_printf(err, "cannot lock the master %s: %s; the share "
				      "must be writable", master_path, strerror(e));
			return HS_EIO;
		}
		/* EEXIST or EIO: busy. */
		char owner[400];
		int known = owner_known(read_owner(l, owner, sizeof owner));
		if (l->line[0] && strcmp(owner, l->line) == 0) {
			/* our own lock, made earlier in this wait, whose
			 * read-back failed: it is ours */
			l->held = 1;
			sweep_aside(l);
			return 0;
		}
		if (known && lock_is_stale(l, owner)) {
			break_lock(l, owner);
			continue;
		}
		if (hs_system_ms() - start >= timeout_ms) {
			owner[strcspn(owner, "\n")] = 0;
			hs_buf_printf(err, "the master %s is locked by another sync "
				      "(%s) for more than %d s; try again later",
				      master_path, owner[0] ? owner : "owner unknown",
				      timeout_ms / 1000);
			return HS_EBUSY;
		}
		if (waiting && hs_system_ms() - told >= 1000) {
			char who[300];
			holder_of(owner, who, sizeof who);
			told = hs_system_ms();
			waiting(waiting_ctx, who[0] ? who : NULL, told - start);
		}
		backoff(&wait);
	}
}

/*
 * Remove our lock: the owner file, then the folder. Either may fail for a
 * while: through SMB, deleting a file another PC is reading (its wait
 * loop reads the owner) fails or stays pending until that PC closes it,
 * and the folder is not empty meanwhile; a busy client fails every
 * request with EIO for 3 s. Left there, the lock would hold everyone off
 * for a lease. So both are tried for up to 3.5 s (busy_try), the folder
 * counted gone only when it is not there (a failed check is no answer).
 * The owner file is removed only while it is still ours (never another
 * PC's lock). Once our unlink was sent, an owner file that is not ours
 * any more is most likely ours removed (the unlink went through, its
 * answer was EIO): the folder is still removed. That is safe: rmdir
 * removes only an empty folder, and an empty one that another PC has
 * just made fails its owner write or read-back: it takes the lock again.
 */
static void remove_lock(hs_lock *l)
{
	int ours = 1; /* the owner file may still hold our line */
	int sent = 0; /* an unlink of it was sent */
	for (int i = 0; busy_try(i); i++) {
		if (ours && (ours = still_mine(l))) {
			sent = 1;
			if (hs_os_unlink(l->owner) != 0)
				continue;
			ours = 0;
		}
		if (!sent)
			return; /* not ours (taken for stale), or unreadable */
		if (folder_removed(l->dir))
			return;
	}
}

int hs_lock_held(const hs_lock *l)
{
	return l->held && still_mine(l);
}

void hs_lock_refresh(hs_lock *l)
{
	if (l->held)
		hs_os_touch(l->owner);
}

void hs_lock_release(hs_lock *l)
{
	if (l->held)
		remove_lock(l);
	free(l->dir);
	free(l->owner);
	free(l->clock);
	free(l->brk);
	memset(l, 0, sizeof(*l));
}
