/*
 * test_lock_turn.c - a breaker slow in its turn (src/lib/lock.c).
 *
 * A holder dies with the lock (same host: stale at once). Breaker A takes
 * the turn (MASTER.lock.break), re-reads the dead owner, and then stalls
 * before its rename for longer than BREAK_TURN_MS (10 s): under load an
 * SMB client can stall that long. Breaker B, meanwhile, finds the turn
 * "dead" by its age, clears it, breaks the stale lock and takes the lock.
 * When A wakes up, its rename must not move B's live lock aside.
 *
 * The stall is made by this program's own rename (the library's calls
 * reach it first), in A only, for the lock folder only. Then a breaker
 * whose turn's rmdir fails with EIO for a while (this program's rmdir)
 * must still end its turn.
 * Exit 0: B held the lock alone until it let go; no turn left behind.
 */
#define _GNU_SOURCE
#include "lock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STALL_S 13 /* longer than BREAK_TURN_MS */

static int stall; /* set in breaker A */
static int rmdir_fail_left; /* rmdirs of the turn still to fail with EIO */

int rmdir(const char *path)
{
	static int (*real)(const char *);
	size_t n = strlen(path);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "rmdir");
	if (rmdir_fail_left > 0 && n >= 11 && strcmp(path + n - 11, ".lock.break") == 0) {
		rmdir_fail_left--;
		errno = EIO;
		return -1;
	}
	return real(path);
}

int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);
	size_t n = strlen(from);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "rename");
	if (stall && n >= 5 && strcmp(from + n - 5, ".lock") == 0) {
		stall = 0;
		sleep(STALL_S);
	}
	return real(from, to);
}

/* Take the lock, mark the holding with an O_EXCL file, hold it hold_s
 * seconds, check it is still ours, let go. 0, or 1 on an overlap. */
static int take(const char *master, const char *marker, int hold_s,
		const char *who)
{
	hs_lock l;
	hs_buf err;
	hs_buf_init(&err);
	if (hs_lock_acquire(&l, master, 60000, NULL, NULL, &err) != 0) {
		fprintf(stderr, "FAIL %s: %s\n", who, err.s ? err.s : "?");
		return 1;
	}
	int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0) {
		fprintf(stderr, "FAIL %s: took the lock while another process "
			"held it\n", who);
		hs_lock_release(&l);
		return 1;
	}
	close(fd);
	sleep((unsigned)hold_s);
	int lost = !hs_lock_held(&l);
	if (lost)
		fprintf(stderr, "FAIL %s: another process broke the lock while "
			"it was held\n", who);
	unlink(marker);
	hs_lock_release(&l);
	hs_buf_free(&err);
	return lost;
}

int main(void)
{
	char dir[] = "/tmp/hs_lock_turn.XXXXXX", master[128], marker[160];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(master, sizeof master, "%s/master.db", dir);
	snprintf(marker, sizeof marker, "%s/holder", dir);

	/* the holder that dies with the lock */
	pid_t dead = fork();
	if (dead == 0) {
		hs_lock l;
		hs_buf err;
		hs_buf_init(&err);
		_exit(hs_lock_acquire(&l, master, 5000, NULL, NULL, &err) == 0 ? 0 : 1);
	}
	int st;
	waitpid(dead, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "FAIL: the first holder did not take the lock\n");
		return 1;
	}
	pid_t a = fork();
	if (a == 0) {
		stall = 1;
		_exit(take(master, marker, 1, "breaker A (stalled in its turn)"));
	}
	sleep(1); /* A is in its turn */
	pid_t b = fork();
	if (b == 0)
		_exit(take(master, marker, STALL_S, "breaker B"));
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	/* A breaker whose client fails the turn's rmdir for a while (EIO
	 * for 2 s: smbnetfs fails every request for 3 s after one timed
	 * out) still ends its turn: left there, no one could break a stale
	 * lock for a lease. */
	char brk[160];
	snprintf(brk, sizeof brk, "%s.lock.break", master);
	if ((dead = fork()) == 0) {
		hs_lock l;
		hs_buf err;
		hs_buf_init(&err);
		_exit(hs_lock_acquire(&l, master, 5000, NULL, NULL, &err) == 0 ? 0 : 1);
	}
	waitpid(dead, &st, 0);
	rmdir_fail_left = 6;
	{
		hs_lock l;
		hs_buf err;
		hs_buf_init(&err);
		if (hs_lock_acquire(&l, master, 20000, NULL, NULL, &err) != 0) {
			fprintf(stderr, "FAIL: the dead holder's lock was not broken: %s\n",
				err.s ? err.s : "?");
			bad++;
		}
		hs_lock_release(&l);
		hs_buf_free(&err);
	}
	if (rmdir_fail_left != 0 || access(brk, F_OK) == 0) {
		fprintf(stderr, "FAIL: the turn's rmdir failing 6 times (EIO) left "
			"the turn on the share\n");
		bad++;
	}
	rmdir_fail_left = 0;

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)!system(cmd);
	if (bad)
		return 1;
	printf("lock: a breaker stalled %d s in its turn did not move the "
	       "live lock aside; a turn's rmdir failing for 2 s ended it\n",
	       STALL_S);
	return 0;
}
