/*
 * cmd_status.c - the commands that show how a replica's sync is doing:
 * `status` (a short block: state, last and next sync, pending changes,
 * unresolved conflicts, user, master) and `history` (the sync_log as a
 * table, newest first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "replica.h"
#include "timefmt.h"

static const cli_spec status_spec = {
	"status",
	"DB [--json]",
	"Show the sync state of DB: whether a sync is running, when it last\n"
	"synced and what moved, when the next scheduled sync is due, how many\n"
	"local changes wait to be pushed, unresolved conflicts, the user and\n"
	"the master.",
	{ "DB" },
	1,
	{ { "--json", NULL, "print the status as JSON" } },
};

static void field(const char *label, const char *value)
{
	printf("%-11s %s\n", label, value);
}

/* "5 minutes ago (2025-01-15 11:30:00)" from an ISO time, into buf. */
static void when(const char *iso, int64_t now, char *buf, size_t size)
{
	char ago[64], local[64];
	int64_t t;

	if (!iso || !cli_time_parse(iso, &t)) {
		snprintf(buf, size, "%s", iso ? iso : "never");
		return;
	}
	cli_time_ago(t, now, ago, sizeof(ago));
	cli_time_local(t, local, sizeof(local));
	snprintf(buf, size, "%s (%s)", ago, local);
}

static void print_next_sync(const json_t *st, int64_t now)
{
	const char *next = cli_json_str(st, "nextSyncTime");
	const char *last = cli_json_str(st, "lastSyncTime");
	long long every = cli_json_int(st, "intervalMinutes");
	char buf[256], iso[40];
	int64_t t;

	if (!json_is_true(json_object_get(st, "scheduledSync")) || every <= 0) {
		field("next sync:", "off (scheduled sync disabled)");
		return;
	}
	if (!next && last && cli_time_parse(last, &t)) {
		cli_time_iso(t + every * 60000, iso, sizeof(iso));
		next = iso;
	}
	if (!next || (cli_time_parse(next, &t) && t <= now))
		snprintf(buf, sizeof(buf), "due now (every %lld minute%s)",
			 every, every == 1 ? "" : "s");
	else {
		char at[128];
		when(next, now, at, sizeof(at));
		snprintf(buf, sizeof(buf), "%s, every %lld minute%s", at,
			 every, every == 1 ? "" : "s");
	}
	field("next sync:", buf);
}

static int render_status(json_t *st, const char *db)
{
	const json_t *stats = json_object_get(st, "stats");
	const char *last = cli_json_str(st, "lastSyncTime");
	const char *err = cli_json_str(st, "lastError");
	int64_t now = cli_time_now_ms();
	char buf[512];

	if (json_is_false(json_object_get(st, "enabled")))
		field("state:", "not set up for sync (run 'hubsync init')");
	else if (json_is_true(json_object_get(st, "isSyncing")))
		field("state:", "syncing now");
	else
		field("state:", "idle");

	when(last, now, buf, sizeof(buf));
	field("last sync:", buf);
	/* stats are those of the last attempt: shown when it succeeded */
	if (last && !err) {
		long long n = cli_json_int(stats, "conflicts");
		snprintf(buf, sizeof(buf), "pulled %lld, pushed %lld, %lld "
			 "conflict%s", cli_json_sum(json_object_get(stats, "pulled")),
			 cli_json_sum(json_object_get(stats, "pushed")), n,
			 n == 1 ? "" : "s");
		field("", buf);
	}
	if (err)
		field("last error:", err);
	print_next_sync(st, now);

	if (json_is_integer(json_object_get(st, "pendingChanges"))) {
		long long n = cli_json_int(st, "pendingChanges");
		if (n == 0)
			snprintf(buf, sizeof(buf), "nothing to push");
		else
			snprintf(buf, sizeof(buf), "%lld local change%s to "
				 "push", n, n == 1 ? "" : "s");
		field("pending:", buf);
	}
	if (json_is_integer(json_object_get(st, "unresolvedConflicts"))) {
		long long n = cli_json_int(st, "unresolvedConflicts");
		if (n == 0)
			snprintf(buf, sizeof(buf), "none unresolved");
		else
			snprintf(buf, sizeof(buf), "%lld unresolved (see: "
				 "hubsync conflicts %s)", n, db);
		field("conflicts:", buf);
	}
	if (json_is_array(json_object_get(st, "trackedTables"))) {
		char *tables = cli_json_join(json_object_get(st, "trackedTables"), 0);
		field("tables:", tables);
		free(tables);
	}
	json_t *un = json_object_get(st, "untrackedTables"), *u;
	size_t i;
	int shown = 0;
	json_array_foreach(un, i, u) {
		char line[512];
		const char *why = cli_json_str(u, "reason");
		if (why && !strncmp(why, "part of", 7))
			continue; /* the virtual table's line says it */
		snprintf(line, sizeof(line), "%s (%s)", cli_json_str(u, "table"),
			 why ? why : "?");
		field(shown++ ? "" : "not synced:", line);
	}
	field("user:", cli_json_str(st, "username") ? cli_json_str(st, "username")
						    : "-");
	field("master:", cli_json_str(st, "nasDbPath") ? cli_json_str(st, "nasDbPath")
						       : "-");
	return CLI_EXIT_OK;
}

static int fetch_status(hs_replica *r, void *ctx, char **doc)
{
	(void)ctx;
	return hs_replica_status_json(r, doc);
}

int cli_cmd_status(int argc, char **argv)
{
	cli_args a;
	int code;

	if (!cli_args_parse(&a, &status_spec, argc, argv, &code))
		return code;
	return cli_replica_show("status", a.pos[0], cli_args_has(&a, "--json"),
				fetch_status, NULL, render_status);
}

#define HISTORY_DEFAULT_LIMIT 50
#define HISTORY_MAX_LIMIT 100000

static const cli_spec history_spec = {
	"history",
	"DB [--json] [--limit N]",
	"Show the last syncs of DB, newest first: when, direction, outcome,\n"
	"rows pulled and pushed, conflicts, duration and any error.",
	{ "DB" },
	1,
	{ { "--json", NULL, "print the history as JSON" },
	  { "--limit", "N", "show at most N syncs (default 50)" } },
};

static int render_history(json_t *rows, const char *db)
{
	static const char *const head[] = { "ID", "WHEN", "DIRECTION",
		"STATUS", "PULLED", "PUSHED", "CONFLICTS", "DURATION", "ERROR" };
	cli_table *t;
	size_t i;
	json_t *row;

	(void)db;
	if (json_array_size(rows) == 0) {
		printf("no syncs yet\n");
		return CLI_EXIT_OK;
	}
	t = cli_table_new(9, head, "rlllrrrrl");
	json_array_foreach(rows, i, row) {
		char id[32], at[64], pulled[32], pushed[32], conflicts[32];
		char duration[32];
		const char *ts = cli_json_str(row, "timestamp");
		char *dir = cli_json_text(json_object_get(row, "direction"), 0);
		char *status = cli_json_text(json_object_get(row, "status"), 0);
		char *err = cli_json_text(json_object_get(row, "error_message"),
					  60);
		const char *cells[9] = { id, at, dir, status, pulled, pushed,
			conflicts, duration, err };
		int64_t ms;

		snprintf(id, sizeof(id), "%lld", cli_json_int(row, "id"));
		if (ts && cli_time_parse(ts, &ms))
			cli_time_local(ms, at, sizeof(at));
		else
			snprintf(at, sizeof(at), "%s", ts ? ts : "-");
		snprintf(pulled, sizeof(pulled), "%lld",
			 cli_json_int(row, "records_pulled"));
		snprintf(pushed, sizeof(pushed), "%lld",
			 cli_json_int(row, "records_pushed"));
		snprintf(conflicts, sizeof(conflicts), "%lld",
			 cli_json_int(row, "conflicts"));
		if (json_is_integer(json_object_get(row, "duration_ms")))
			cli_time_duration(cli_json_int(row, "duration_ms"),
					  duration, sizeof(duration));
		else
			snprintf(duration, sizeof(duration), "-");
		cli_table_add(t, cells);
		free(dir);
		free(status);
		free(err);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	return CLI_EXIT_OK;
}

static int fetch_history(hs_replica *r, void *ctx, char **doc)
{
	return hs_replica_history_json(r, (int)*(long long *)ctx, doc);
}

int cli_cmd_history(int argc, char **argv)
{
	long long limit;
	cli_args a;
	int code;

	if (!cli_args_parse(&a, &history_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--limit", 1, HISTORY_MAX_LIMIT,
			  HISTORY_DEFAULT_LIMIT, &limit))
		return CLI_EXIT_USAGE;
	return cli_replica_show("history", a.pos[0], cli_args_has(&a, "--json"),
				fetch_history, &limit, render_history);
}
