/*
 * test_lock_eio.c - the master lock when writing its owner file fails
 * (src/lib/lock.c). A contended SMB client answers that write with EIO
 * now and then, right after the mkdir worked (the bare-Debian run of
 * test_smb saw it): the lock is taken again within the wait. Any other
 * error fails at once with its message, and an EIO that lasts fails when
 * the wait is over; neither leaves a lock behind.
 *
 * The failures are made by this program's own fopen, which the library's
 * calls reach (the executable's definition comes first), for the owner
 * file only; every other file goes to the C library's fopen.
 */
#define _GNU_SOURCE
#include "lock.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hubsync.h"

static int fail_left; /* owner writes still to fail */
static int fail_errno;
static int owner_opens;
static int read_fail_left; /* owner reads still to fail with EIO (-1: all) */
static int owner_reads;

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);
	size_t n = strlen(path);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fopen");
	if (mode[0] == 'w' && n >= 6 && strcmp(path + n - 6, "/owner") == 0) {
		owner_opens++;
		if (fail_left != 0) {
			if (fail_left > 0)
				fail_left--;
			errno = fail_errno;
			return NULL;
		}
	}
	if (mode[0] == 'r' && n >= 6 && strcmp(path + n - 6, "/owner") == 0) {
		owner_reads++;
		if (read_fail_left != 0) {
			if (read_fail_left > 0)
				read_fail_left--;
			errno = EIO;
			return NULL;
		}
	}
	return real(path, mode);
}

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "FAIL test_lock_eio: %s\n", what);
		failures++;
	}
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Take and release the lock of master with the owner write failing
 * `times` times (-1: always) with error e; the result and message. */
static int attempt(const char *master, int times, int e, int timeout_ms,
		   hs_buf *err)
{
	hs_lock l;
	fail_left = times;
	fail_errno = e;
	owner_opens = 0;
	hs_buf_reset(err);
	int rc = hs_lock_acquire(&l, master, timeout_ms, NULL, NULL, err);
	fail_left = 0;
	if (rc == 0)
		check(hs_lock_held(&l), "the lock taken is held");
	hs_lock_release(&l);
	return rc;
}

int main(void)
{
	char dir[] = "/tmp/hs_lock_eio.XXXXXX", master[128], lockdir[160];
	hs_buf err;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(master, sizeof master, "%s/master.db", dir);
	snprintf(lockdir, sizeof lockdir, "%s.lock", master);
	hs_buf_init(&err);

	/* EIO twice: the third try holds it */
	int rc = attempt(master, 2, EIO, 10000, &err);
	check(rc == 0, "two EIO answers: the lock is taken");
	check(owner_opens == 3, "two EIO answers: taken at the third try");
	check(!exists(lockdir), "two EIO answers: nothing left after release");

	/* another error: at once, with its message */
	double t0 = now_ms();
	rc = attempt(master, 1, EACCES, 10000, &err);
	check(rc == HS_EIO, "EACCES: the lock fails");
	check(owner_opens == 1, "EACCES: not tried again");
	check(now_ms() - t0 < 5000, "EACCES: fails at once");
	check(err.s && strstr(err.s, "cannot write the lock file") &&
		      strstr(err.s, "check that the share is writable"),
	      "EACCES: the message says what and what to do");
	check(!exists(lockdir), "EACCES: no lock left");

	/* EIO that lasts: fails when the wait is over, with the message */
	rc = attempt(master, -1, EIO, 600, &err);
	check(rc == HS_EIO, "lasting EIO: the lock fails");
	check(owner_opens > 1, "lasting EIO: tried again");
	check(err.s && strstr(err.s, "cannot write the lock file"),
	      "lasting EIO: the write's message");
	check(!exists(lockdir), "lasting EIO: no lock left");

	/* Reads of the owner file failing with EIO (a busy SMB client fails
	 * every request for a while): an answer, not "the lock is not ours" */
	hs_lock l;
	read_fail_left = 2;
	t0 = now_ms();
	rc = hs_lock_acquire(&l, master, 20000, NULL, NULL, &err);
	check(rc == 0, "read-back EIO twice: the lock is taken");
	check(now_ms() - t0 < 3000, "read-back EIO twice: taken at once");
	read_fail_left = 5;
	check(hs_lock_held(&l), "reads EIO 5 times: the lock is still held");
	read_fail_left = -1;
	check(!hs_lock_held(&l), "reads failing for good: not held (unknown)");
	read_fail_left = 0;
	check(hs_lock_held(&l), "reads back: held again");
	hs_lock_release(&l);
	check(!exists(lockdir), "read EIO: nothing left after release");

	/* the read-back fails longer than it is tried: the next look finds
	 * our own line (not a live lock of another process to wait for) */
	read_fail_left = 9;
	owner_reads = 0;
	t0 = now_ms();
	rc = hs_lock_acquire(&l, master, 20000, NULL, NULL, &err);
	check(rc == 0, "read-back EIO 9 times: the lock is taken");
	check(owner_reads >= 10, "read-back EIO 9 times: read again");
	check(now_ms() - t0 < 8000, "read-back EIO 9 times: no wait for a lease");
	check(rc != 0 || hs_lock_held(&l), "read-back EIO 9 times: held");
	read_fail_left = 0;
	hs_lock_release(&l);
	check(!exists(lockdir), "read-back EIO 9 times: nothing left after release");

	/* another PC's live lock, its owner written 60 s ago (past the
	 * ownerless lock's 20 s, within the lease), whose owner file cannot
	 * be read for now: waited for, never broken as if it had no owner */
	char owner[200], line[] = "otherpc 4242 2026-12-01T10:00:00Z\n";
	snprintf(owner, sizeof owner, "%s/owner", lockdir);
	check(mkdir(lockdir, 0777) == 0, "another PC's lock made");
	FILE *f = fopen(owner, "w");
	check(f && fputs(line, f) >= 0, "another PC's owner written");
	if (f)
		fclose(f);
	struct timeval old[2];
	gettimeofday(&old[0], NULL);
	old[0].tv_sec -= 60;
	old[1] = old[0];
	check(utimes(owner, old) == 0 && utimes(lockdir, old) == 0,
	      "another PC's lock 60 s old");
	read_fail_left = -1;
	rc = hs_lock_acquire(&l, master, 1500, NULL, NULL, &err);
	read_fail_left = 0;
	check(rc == HS_EBUSY, "unreadable live owner: waited for, not taken");
	hs_lock_release(&l); /* frees its paths; removes nothing not held */
	char kept[200] = "";
	f = fopen(owner, "r");
	check(f && fgets(kept, sizeof kept, f) && strcmp(kept, line) == 0,
	      "unreadable live owner: its lock is still there");
	if (f)
		fclose(f);
	unlink(owner);
	rmdir(lockdir);

	hs_buf_free(&err);
	rmdir(dir);
	if (failures)
		return 1;
	printf("lock: owner write EIO retried, EACCES at once, lasting EIO"
	       " ends with the wait; owner read EIO read again, a live lock"
	       " never broken for it; nothing left\n");
	return 0;
}
