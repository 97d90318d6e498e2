/*
 * spawn.h - running the real hubsync binary from the C integration tests,
 * as a user (or a scheduler) would: to completion, or on a pseudo-terminal
 * with a SIGKILL at a chosen instant.
 *
 * Why a pseudo-terminal: `hubsync sync` shows its progress ("lock...",
 * "push...", "pull...", "pull items: 1500 rows", "done...") only when
 * stderr is a terminal. On a pty the test sees, with the time it arrived,
 * which phase the process had reached when it was killed, without
 * changing the program under test.
 */
#ifndef HS_SPAWN_H
#define HS_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#define SP_MAX_MARKS 64

/* One progress line (terminal control codes removed) and when it came,
 * in microseconds after the process started. */
typedef struct sp_mark {
	int64_t at_us;
	char text[80];
} sp_mark;

typedef struct sp_result {
	pid_t pid;
	int killed;         /* 1: SIGKILLed by us before it ended */
	int status;         /* exit status when it ended by itself, else -1 */
	int64_t elapsed_us; /* start to exit or kill */
	int nmarks;
	sp_mark marks[SP_MAX_MARKS]; /* progress and result lines, in order */
} sp_result;

/* Microseconds of a monotonic clock. */
int64_t sp_now_us(void);

/*
 * Run argv[0] (a path) with argv, wait for it; stdout and stderr go to
 * *out (malloc'd, NUL-terminated; pass NULL to discard). Returns the exit
 * status, or 128 + signal number.
 */
int sp_run(char *const argv[], char **out);

/*
 * Run argv on a pseudo-terminal. kill_after_us >= 0: SIGKILL the process
 * that long after it started unless it ended before; < 0: let it end. The
 * process is always reaped before this returns (a killed pid is gone).
 */
void sp_run_pty(char *const argv[], int64_t kill_after_us, sp_result *res);

/* The last mark whose text starts with prefix, or NULL. */
const sp_mark *sp_last_mark(const sp_result *res, const char *prefix);

#endif
