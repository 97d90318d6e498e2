/*
 * report.h - how the hubsync command reports a failure that is not a usage
 * error: one line on stderr, "hubsync CMD: what failed; what to do", and exit
 * code 1. Running out of memory is reported the same way and ends the process
 * (a command-line tool has nothing better to do).
 */
#ifndef HS_CLI_REPORT_H
#define HS_CLI_REPORT_H

#include <stddef.h>

/* Print "hubsync CMD: <message>" on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Allocation that never returns NULL (reports and exits instead). */
void *cli_xmalloc(size_t n);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);

#endif
