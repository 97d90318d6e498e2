/*
 * cmd_log.c - `hubsync log`: the audit trail of changes (local and synced),
 * newest first, filtered by table, row key and age.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "replica.h"
#include "report.h"
#include "timefmt.h"

#define LOG_MAX_LIMIT 100000
#define LOG_CELL_WIDTH 48 /* longer values (JSON blobs) are cut */
#define LOG_MAX_COLUMNS 16

static const cli_spec log_spec = {
	"log",
	"DB [--table T] [--key K] [--since TIME] [--limit N] [--json]",
	"Show the audit trail of DB: every change made here or pulled from the\n"
	"master, newest first: when, who, which table and row, what changed.\n"
	"TIME is an ISO date or time in UTC (2025-01-15, 2025-01-15T10:30:00Z)\n"
	"or an age such as 30m, 2h, 7d.",
	{ "DB" },
	1,
	{ { "--table", "T", "only changes to table T" },
	  { "--key", "K", "only the row whose primary key is K (a|b: composite)" },
	  { "--since", "TIME", "only changes made since TIME" },
	  { "--limit", "N", "show at most N changes (default 200)" },
	  { "--json", NULL, "print the changes as JSON" } },
};

typedef struct log_query {
	const char *table, *key, *since;
	int limit;
} log_query;

static int fetch_log(hs_replica *r, void *ctx, char **doc)
{
	const log_query *q = ctx;
	return hs_replica_log_json(r, q->table, q->key, q->since, q->limit, doc);
}

/* A cell: times in local time, everything else as short text. */
static char *cell_text(const json_t *v)
{
	const char *s = json_string_value(v);
	int64_t ms;

	if (s && cli_time_parse(s, &ms)) {
		char local[64];
		cli_time_local(ms, local, sizeof(local));
		return cli_xstrdup(local);
	}
	return cli_json_text(v, LOG_CELL_WIDTH);
}

/* The changes as a table whose columns are the keys of the first change. */
static int render_log(json_t *rows, const char *db)
{
	const char *head[LOG_MAX_COLUMNS], *keys[LOG_MAX_COLUMNS];
	char *names[LOG_MAX_COLUMNS];
	char align[LOG_MAX_COLUMNS + 1];
	const char *key;
	json_t *row, *v;
	cli_table *t;
	size_t i;
	int n = 0, c;

	(void)db;
	if (json_array_size(rows) == 0) {
		printf("no changes\n");
		return CLI_EXIT_OK;
	}
	json_object_foreach(json_array_get(rows, 0), key, v) {
		char *p;
		if (n == LOG_MAX_COLUMNS)
			break;
		keys[n] = key;
		names[n] = cli_xstrdup(key);
		for (p = names[n]; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		head[n] = names[n];
		align[n] = json_is_number(v) ? 'r' : 'l';
		n++;
	}
	align[n] = '\0';
	t = cli_table_new(n, head, align);
	json_array_foreach(rows, i, row) {
		char *cells[LOG_MAX_COLUMNS];
		for (c = 0; c < n; c++)
			cells[c] = cell_text(json_object_get(row, keys[c]));
		cli_table_add(t, (const char *const *)cells);
		for (c = 0; c < n; c++)
			free(cells[c]);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	for (c = 0; c < n; c++)
		free(names[c]);
	return CLI_EXIT_OK;
}

int cli_cmd_log(int argc, char **argv)
{
	log_query q = { NULL, NULL, NULL, 0 };
	char since[40];
	long long limit;
	cli_args a;
	int code;

	if (!cli_args_parse(&a, &log_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--limit", 1, LOG_MAX_LIMIT, 0, &limit))
		return CLI_EXIT_USAGE;
	if (cli_args_has(&a, "--since")) {
		if (!cli_time_since(cli_args_get(&a, "--since"),
				    cli_time_now_ms(), since, sizeof(since)))
			return cli_usage_error(&log_spec, "--since must be a "
					       "time like 2025-01-15T10:30:00Z "
					       "or an age like 2h, not '%s'",
					       cli_args_get(&a, "--since"));
		q.since = since;
	}
	q.table = cli_args_get(&a, "--table");
	q.key = cli_args_get(&a, "--key");
	q.limit = (int)limit;
	return cli_replica_show("log", a.pos[0], cli_args_has(&a, "--json"),
				fetch_log, &q, render_log);
}
