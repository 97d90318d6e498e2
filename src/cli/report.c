/*
 * report.c - one-line failure messages and allocation that cannot fail.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hubsync %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

static void out_of_memory(void)
{
	fputs("hubsync: out of memory; close other programs and retry\n",
	      stderr);
	exit(CLI_EXIT_FAIL);
}

void *cli_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *cli_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory();
	return q;
}

char *cli_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(cli_xmalloc(n), s, n);
}
