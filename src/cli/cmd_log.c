/*
 * cmd_log.c - `hubsync log`: the audit trail of changes (local and synced),
 * newest first, filtered by table, row key, user and age.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "replica.h"
#include "report.h"
#include "timefmt.h"

#define LOG_MAX_LIMIT 100000
#define LOG_VALUE_WIDTH 32   /* one changed value (JSON blobs are cut) */
#define LOG_CHANGES_WIDTH 80 /* all the changes of one row */

static const cli_spec log_spec = {
	"log",
	"DB [--table T] [--key K] [--user U] [--since TIME] [--limit N] [--json]",
	"Show the audit trail of DB, newest first: when, who, which table and\n"
	"row, what changed, and whether the change is synced or still pending\n"
	"(made here, not pushed yet).\n"
	"TIME is an ISO date or time in UTC (2025-01-15, 2025-01-15T10:30:00Z)\n"
	"or an age such as 30m, 2h, 7d.",
	{ "DB" },
	1,
	{ { "--table", "T", "only changes to table T" },
	  { "--key", "K", "only the row whose primary key is K (a|b: composite)" },
	  { "--user", "U", "only changes made by user U" },
	  { "--since", "TIME", "only changes made since TIME" },
	  { "--limit", "N", "show at most N changes (default 200)" },
	  { "--json", NULL, "print the changes as JSON" } },
};

static int fetch_log(hs_replica *r, void *ctx, char **doc)
{
	return hs_replica_log_query_json(r, ctx, doc);
}

/* One column of a synced change, from its [old, new] pair: "col=new" when
 * it was set (insert), "col=old" when the row went (delete), "col: old ->
 * new" otherwise. Newly allocated. */
static char *column_change(const char *col, const json_t *pair, int deleted)
{
	const json_t *old = json_array_get(pair, 0);
	char *o = cli_json_text(old, LOG_VALUE_WIDTH);
	char *n = cli_json_text(json_array_get(pair, 1), LOG_VALUE_WIDTH);
	size_t size = strlen(col) + strlen(o) + strlen(n) + 8;
	char *text = cli_xmalloc(size);

	if (!json_is_array(pair))
		snprintf(text, size, "%s", col);
	else if (!old || json_is_null(old))
		snprintf(text, size, "%s=%s", col, n);
	else if (deleted)
		snprintf(text, size, "%s=%s", col, o);
	else
		snprintf(text, size, "%s: %s -> %s", col, o, n);
	free(o);
	free(n);
	return text;
}

/* Columns hubsync keeps up to date on every write (DESIGN.md 3.2): shown
 * only when nothing else changed, so that they do not hide what did. */
static int is_bookkeeping(const char *col)
{
	return strcmp(col, "updated_at") == 0 ||
	       strcmp(col, "updated_by") == 0 || strcmp(col, "synced_at") == 0;
}

/* Append the column changes of values to the list *text; with_bookkeeping
 * 0 leaves the bookkeeping columns out. */
static void add_changes(char **text, size_t *len, const json_t *values,
			int deleted, int with_bookkeeping)
{
	const char *col;
	json_t *pair;

	json_object_foreach((json_t *)values, col, pair) {
		char *item;

		if (json_is_null(json_array_get(pair, 0)) &&
		    json_is_null(json_array_get(pair, 1)))
			continue; /* an insert that left the column NULL */
		if (!with_bookkeeping && is_bookkeeping(col))
			continue;
		item = column_change(col, pair, deleted);
		cli_list_add(text, len, item);
		free(item);
	}
}

/*
 * What a change did, in one cell, cut to LOG_CHANGES_WIDTH. A synced change
 * carries "changes": {column: [old, new]}; a pending one only "columns":
 * the names of the columns it changed. "-" when it carries neither.
 */
static char *changes_text(const json_t *change)
{
	const json_t *values = json_object_get(change, "changes");
	const char *op = cli_json_str(change, "op");
	int deleted = op && strcmp(op, "delete") == 0;
	char *text;
	size_t len = 0;

	if (!json_is_object(values)) {
		text = cli_json_join(json_object_get(change, "columns"), 0);
		return cli_shorten(text, LOG_CHANGES_WIDTH);
	}
	text = cli_xstrdup("");
	add_changes(&text, &len, values, deleted, 0);
	if (len == 0)
		add_changes(&text, &len, values, deleted, 1);
	if (len == 0) {
		free(text);
		text = cli_xstrdup("-");
	}
	return cli_shorten(text, LOG_CHANGES_WIDTH);
}

static int render_log(json_t *changes, const char *db)
{
	static const char *const head[] = { "WHEN", "USER", "TABLE", "KEY",
		"OP", "STATE", "CHANGES" };
	cli_table *t;
	json_t *c;
	size_t i;

	(void)db;
	if (json_array_size(changes) == 0) {
		printf("no changes\n");
		return CLI_EXIT_OK;
	}
	t = cli_table_new(7, head, "lllllll");
	json_array_foreach(changes, i, c) {
		const char *at = cli_json_str(c, "at");
		char when[64];
		char *user = cli_json_text(json_object_get(c, "user"), 24);
		char *table = cli_json_text(json_object_get(c, "table"), 0);
		char *key = cli_json_text(json_object_get(c, "key"), 40);
		char *op = cli_json_text(json_object_get(c, "op"), 0);
		char *what = changes_text(c);
		const char *cells[7] = { when, user, table, key, op,
			json_is_true(json_object_get(c, "pending")) ? "pending"
								   : "synced",
			what };
		int64_t ms;

		if (at && cli_time_parse(at, &ms))
			cli_time_local(ms, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "%s", at ? at : "-");
		cli_table_add(t, cells);
		free(user);
		free(table);
		free(key);
		free(op);
		free(what);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	return CLI_EXIT_OK;
}

int cli_cmd_log(int argc, char **argv)
{
	hs_log_options q = HS_LOG_OPTIONS_INIT;
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
	q.user = cli_args_get(&a, "--user");
	q.limit = (int)limit;
	return cli_replica_show("log", a.pos[0], cli_args_has(&a, "--json"),
				fetch_log, &q, render_log);
}
