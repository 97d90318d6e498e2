/*
 * test_lock.c - the master's writer lock (src/lib/lock.c) under contention:
 * never two holders.
 *
 * PROCS processes take the lock of one master again and again, process k
 * through PATH k mod n (on the SMB test: one SMB client mount per PC), and
 * check the exclusion for real: a holder makes a marker file with O_EXCL
 * in a local folder (exact there), and before letting go it checks that
 * the lock is still its own (hs_lock_held). One holding in eight dies
 * with the lock taken (same host, dead process: stale at once), so that
 * the others break it, often several at the same moment; a new process
 * takes the dead one's place.
 *
 * Usage: test_lock SECONDS PROCS PATH[,PATH...]
 *   PATH: the master's path as one PC reaches it; the master itself need
 *   not exist (only MASTER.lock* and MASTER.clock are made).
 * Exit 0: no overlap, every lock wait ended, nothing left on the share.
 */
#define _GNU_SOURCE
#include "lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 16
#define MAX_PROCS 64

enum { OK = 0, DIED_HOLDING = 10, OVERLAP = 11, LOST = 12, FAILED = 13 };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read MASTER.lock/owner into buf: 0, the errno of the failure, or -1
 * (empty). */
static int read_line(const char *master, char *buf, size_t n)
{
	char path[600];
	snprintf(path, sizeof path, "%s.lock/owner", master);
	buf[0] = 0;
	errno = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno ? errno : -1;
	int e = fgets(buf, (int)n, f) ? 0 : (errno ? errno : -1);
	fclose(f);
	return e;
}

static const char *what(int e)
{
	return e == 0 ? "ok" : e < 0 ? "empty" : strerror(e);
}

static char *paths[MAX_PATHS];
static int npaths;

/* The lock is no longer ours: say what the owner file holds now (three
 * reads, 200 ms apart, then through every path: another SMB client), to
 * tell a lock that another process moved aside or took from a read of
 * ours that failed. */
static void lost_report(const hs_lock *l, const char *master)
{
	for (int i = 0; i < npaths; i++) {
		char other[400];
		int e = read_line(paths[i], other, sizeof other);
		other[strcspn(other, "\n")] = 0;
		fprintf(stderr, "lost: pid %d: owner through %s: \"%s\" %s\n",
			(int)getpid(), paths[i], other, what(e));
	}
	char seen[3][400];
	int e[3];
	for (int i = 0; i < 3; i++) {
		if (i)
			usleep(200000);
		e[i] = read_line(master, seen[i], sizeof seen[i]);
		seen[i][strcspn(seen[i], "\n")] = 0;
	}
	fprintf(stderr, "FAIL pid %d: another process broke the lock while it "
		"was held (ours: %.*s; owner file now: \"%s\" %s, \"%s\" %s, "
		"\"%s\" %s)\n", (int)getpid(), (int)strcspn(l->line, "\n"),
		l->line, seen[0], what(e[0]), seen[1], what(e[1]), seen[2],
		what(e[2]));
}

/* One process: take, hold, let go until the deadline. */
static int taker(const char *master, const char *marker, const char *count,
		 double deadline)
{
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	while (now_s() < deadline) {
		hs_lock l;
		hs_buf err;
		hs_buf_init(&err);
		if (hs_lock_acquire(&l, master, 60000, NULL, NULL, &err) != 0) {
			fprintf(stderr, "FAIL pid %d: %s\n", (int)getpid(),
				err.s ? err.s : "lock failed");
			return FAILED;
		}
		int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
		if (fd < 0) {
			fprintf(stderr, "FAIL pid %d: took the lock while another "
				"process held it\n", (int)getpid());
			return OVERLAP;
		}
		close(fd);
		int c = open(count, O_WRONLY | O_APPEND);
		if (c >= 0) {
			(void)!write(c, "x", 1);
			close(c);
		}
		usleep((useconds_t)(rand() % 4000));
		if (!hs_lock_held(&l)) {
			lost_report(&l, master);
			/* Our marker goes with us: left there, every later
			 * holder would report an overlap that is not one. */
			unlink(marker);
			return LOST;
		}
		unlink(marker);
		if (rand() % 8 == 0)
			_exit(DIED_HOLDING); /* the lock stays, its owner dead */
		hs_lock_release(&l);
		hs_buf_free(&err);
	}
	return OK;
}

/* Take and release the lock once more (a dead holder's lock is broken,
 * what breakers moved aside is swept), then nothing of it may be left. */
static int clean_up(const char *master)
{
	hs_lock l;
	hs_buf err;
	char *folder = strdup(master), *slash;
	const char *base;
	int left = 0;
	hs_buf_init(&err);
	if (hs_lock_acquire(&l, master, 60000, NULL, NULL, &err) != 0) {
		fprintf(stderr, "FAIL: the last take: %s\n", err.s ? err.s : "?");
		return 1;
	}
	hs_lock_release(&l);
	hs_buf_free(&err);
	slash = folder ? strrchr(folder, '/') : NULL;
	if (!slash)
		return 1;
	*slash = 0;
	base = master + (slash - folder) + 1;
	DIR *d = opendir(folder);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strncmp(e->d_name, base, strlen(base)) == 0 &&
		    strncmp(e->d_name + strlen(base), ".lock", 5) == 0) {
			fprintf(stderr, "FAIL: %s/%s is left\n", folder, e->d_name);
			left++;
		}
	}
	if (d)
		closedir(d);
	free(folder);
	return left;
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/hs-lock-XXXXXX", marker[300], count[300];
	pid_t pid[MAX_PROCS];
	int procs, died = 0, bad = 0;
	if (argc != 4 || atoi(argv[1]) < 1 || (procs = atoi(argv[2])) < 2 ||
	    procs > MAX_PROCS) {
		fprintf(stderr, "usage: test_lock SECONDS PROCS(2-%d) PATH[,PATH...]\n",
			MAX_PROCS);
		return 2;
	}
	for (char *p = strtok(argv[3], ","); p && npaths < MAX_PATHS;
	     p = strtok(NULL, ","))
		paths[npaths++] = p;
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(marker, sizeof marker, "%s/holder", tmpl);
	snprintf(count, sizeof count, "%s/count", tmpl);
	close(open(count, O_CREAT | O_WRONLY, 0600));
	double deadline = now_s() + atoi(argv[1]);
	for (int i = 0; i < procs; i++) {
		if ((pid[i] = fork()) == 0)
			_exit(taker(paths[i % npaths], marker, count, deadline));
	}
	for (int left = procs; left > 0;) {
		int st;
		pid_t p = wait(&st);
		if (p < 0)
			break;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		for (int i = 0; i < procs; i++) {
			if (pid[i] != p)
				continue;
			if (code == DIED_HOLDING) {
				died++;
				if (now_s() < deadline - 1) {
					if ((pid[i] = fork()) == 0)
						_exit(taker(paths[i % npaths], marker,
							    count, deadline));
					break;
				}
			} else if (code != OK) {
				bad++;
			}
			left--;
		}
	}
	bad += clean_up(paths[0]);
	struct stat sb;
	long taken = stat(count, &sb) == 0 ? (long)sb.st_size : -1;
	unlink(count);
	unlink(marker);
	rmdir(tmpl);
	printf("lock: %d processes through %d path(s), %s s: %ld holdings, %d "
	       "holders died holding it, %d failures\n", procs, npaths, argv[1],
	       taken, died, bad);
	return bad ? 1 : 0;
}
