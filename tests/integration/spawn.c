/*
 * spawn.c - run the hubsync binary to completion or kill it on a pty (see
 * spawn.h).
 */
#define _GNU_SOURCE /* ppoll */
#include "spawn.h"

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t sp_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int sp_run(char *const argv[], char **out)
{
	int fds[2], status = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	pid_t pid;

	TU_CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	TU_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			TU_CHECK(buf != NULL, "out of memory");
		}
		ssize_t n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	buf[len] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return exit_code(status);
}

/* Turns what came from the pty into lines: split at \r and \n, terminal
 * control sequences (ESC [ ... letter, e.g. "erase line") dropped. A
 * progress line is not followed by a newline until the next one replaces
 * it, so the line read so far is recorded at the end of every read (and
 * completed in place if more of it comes). */
typedef struct line_parser {
	char line[80];
	size_t len;
	int esc;  /* 0: text, 1: after ESC, 2: inside ESC [ ... */
	int mark; /* index of the mark of the current line, or -1 */
} line_parser;

static void flush_line(sp_result *res, line_parser *lp, int64_t at_us)
{
	sp_mark *m;
	lp->line[lp->len] = 0;
	if (!lp->len)
		return;
	if (lp->mark >= 0) {
		m = &res->marks[lp->mark];
	} else {
		if (res->nmarks >= SP_MAX_MARKS)
			return;
		lp->mark = res->nmarks++;
		m = &res->marks[lp->mark];
		m->at_us = at_us;
	}
	snprintf(m->text, sizeof m->text, "%s", lp->line);
}

static void add_output(sp_result *res, line_parser *lp, const char *data,
		       size_t n, int64_t at_us)
{
	for (size_t i = 0; i < n; i++) {
		char ch = data[i];
		if (lp->esc == 1) {
			lp->esc = ch == '[' ? 2 : 0;
		} else if (lp->esc == 2) {
			if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))
				lp->esc = 0;
		} else if (ch == '\033') {
			lp->esc = 1;
		} else if (ch == '\r' || ch == '\n') {
			flush_line(res, lp, at_us);
			lp->len = 0;
			lp->mark = -1;
		} else if (lp->len < sizeof lp->line - 1) {
			lp->line[lp->len++] = ch;
		}
	}
	flush_line(res, lp, at_us);
}

void sp_run_pty(char *const argv[], int64_t kill_after_us, sp_result *res)
{
	int master = -1, status = 0;
	char buf[4096];
	line_parser lp = {{0}, 0, 0, -1};
	int64_t start;
	int ended = 0;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	fflush(NULL);
	start = sp_now_us();
	res->pid = forkpty(&master, NULL, NULL, NULL);
	TU_CHECK(res->pid >= 0, "forkpty: %s", strerror(errno));
	if (res->pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		struct pollfd p = {master, POLLIN, 0};
		struct timespec ts, *tsp = NULL;
		int64_t now = sp_now_us();
		if (kill_after_us >= 0) {
			int64_t left = start + kill_after_us - now;
			if (left <= 0) {
				kill(res->pid, SIGKILL);
				res->killed = 1;
				res->elapsed_us = sp_now_us() - start;
				break;
			}
			ts.tv_sec = left / 1000000;
			ts.tv_nsec = (long)(left % 1000000) * 1000;
			tsp = &ts;
		}
		int pr = ppoll(&p, 1, tsp, NULL);
		if (pr < 0 && errno == EINTR)
			continue;
		TU_CHECK(pr >= 0, "ppoll: %s", strerror(errno));
		if (pr == 0)
			continue; /* the deadline: kill at the top */
		ssize_t n = read(master, buf, sizeof buf);
		if (n > 0) {
			add_output(res, &lp, buf, (size_t)n,
				   sp_now_us() - start);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* EIO or EOF: the child closed the terminal (it ended). */
		ended = 1;
		break;
	}
	while (waitpid(res->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ended || !res->killed)
		res->elapsed_us = sp_now_us() - start;
	/* What it wrote before it died is still in the pty buffer. */
	for (;;) {
		ssize_t n = read(master, buf, sizeof buf);
		if (n > 0)
			add_output(res, &lp, buf, (size_t)n,
				   res->elapsed_us);
		else if (!(n < 0 && errno == EINTR))
			break;
	}
	close(master);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && res->killed) {
		res->status = -1;
	} else {
		/* It ended on its own (maybe just before the kill). */
		res->killed = 0;
		res->status = exit_code(status);
	}
}

const sp_mark *sp_last_mark(const sp_result *res, const char *prefix)
{
	for (int i = res->nmarks - 1; i >= 0; i--)
		if (!strncmp(res->marks[i].text, prefix, strlen(prefix)))
			return &res->marks[i];
	return NULL;
}
