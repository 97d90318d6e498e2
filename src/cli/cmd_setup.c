/*
 * cmd_setup.c - the commands that configure a replica: `init` (start
 * tracking an app database and record its master) and `schedule` (the
 * scheduled sync interval).
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

static const cli_spec init_spec = {
	"init",
	"DB --master PATH|URL [--token T] [--user NAME] [--tables a,b,c] [--stamp]",
	"Start syncing the app database DB with the master database PATH, or\n"
	"with the sync server at URL (http(s)://HOST:PORT of hubsync serve,\n"
	"with the token hubsync user add printed: --token or HUBSYNC_TOKEN;\n"
	"the user is then the token's).\n"
	"DB must already exist (it may hold the app's tables and data). init\n"
	"tracks the listed tables (default: every table, and the tables the app\n"
	"creates later; a table without a primary key is refused, virtual\n"
	"tables are skipped), records the user (default: your OS account) and\n"
	"the master (created when it does not exist yet), and queues the rows\n"
	"already in DB for the first sync. The app's tables are not changed:\n"
	"hubsync adds only its own hubsync_* tables and triggers (and sync_log).\n"
	"With --stamp it also keeps updated_at, updated_by and synced_at up to\n"
	"date, adding them where a table lacks them. Running init again with\n"
	"the same master adds newly listed tables.",
	{ "DB" },
	1,
	{ { "--master", "PATH", "the shared master database (e.g. on the NAS)" },
	  { "--user", "NAME", "who makes the changes (default: OS account)" },
	  { "--tables", "a,b,c", "tables to sync (default: all of them)" },
	  { "--stamp", NULL, "maintain updated_at/updated_by/synced_at" },
	  { "--token", "T", "a sync server's token (default: $HUBSYNC_TOKEN)" } },
};

/* One line saying what init did, from the status document. */
static void print_init_summary(hs_replica *r, const char *db)
{
	char *doc = NULL;
	json_t *st;

	if (hs_replica_status_json(r, &doc) != HS_OK ||
	    !(st = json_loads(doc, 0, NULL))) {
		printf("initialized %s; next: hubsync sync %s\n", db, db);
		hs_free(doc);
		return;
	}
	printf("initialized %s: user %s, master %s", db,
	       cli_json_str(st, "username") ? cli_json_str(st, "username")
					    : "?",
	       cli_json_str(st, "nasDbPath") ? cli_json_str(st, "nasDbPath")
					     : "?");
	if (json_is_integer(json_object_get(st, "pendingChanges"))) {
		long long n = cli_json_int(st, "pendingChanges");
		printf(", %lld change%s to push", n, n == 1 ? "" : "s");
	}
	printf("\nnext: hubsync sync %s\n", db);
	json_decref(st);
	hs_free(doc);
}

int cli_cmd_init(int argc, char **argv)
{
	hs_init_options opts = HS_INIT_OPTIONS_INIT;
	hs_replica *r = NULL;
	char *master = NULL;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &init_spec, argc, argv, &code))
		return code;
	if (!cli_args_has(&a, "--master"))
		return cli_usage_error(&init_spec, "missing --master PATH "
				       "(the shared master database)");

	code = cli_replica_open("init", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	master = cli_absolute_path(cli_args_get(&a, "--master"));
	opts.master_path = master;
	opts.user = cli_args_get(&a, "--user");
	opts.tables = cli_args_get(&a, "--tables");
	opts.stamp = cli_args_has(&a, "--stamp");
	opts.token = cli_args_get(&a, "--token") ? cli_args_get(&a, "--token")
						 : getenv("HUBSYNC_TOKEN");
	rc = hs_replica_init(r, &opts);
	if (rc != HS_OK) {
		code = cli_replica_fail("init", r, rc);
		goto cleanup;
	}
	print_init_summary(r, a.pos[0]);
	cli_print_warning(r);
	code = CLI_EXIT_OK;
cleanup:
	free(master);
	hs_replica_free(r);
	return code;
}

#define SCHEDULE_MAX_MINUTES 10080 /* one week */

static const cli_spec schedule_spec = {
	"schedule",
	"DB MINUTES",
	"Sync DB with its master every MINUTES minutes while 'hubsync daemon'\n"
	"runs; 0 turns scheduled sync off. MINUTES is 0 to 10080 (one week);\n"
	"a new replica syncs every 120 minutes.",
	{ "DB", "MINUTES" },
	2,
	{ { NULL, NULL, NULL } },
};

int cli_cmd_schedule(int argc, char **argv)
{
	hs_replica *r = NULL;
	long long minutes;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &schedule_spec, argc, argv, &code))
		return code;
	if (!cli_args_pos_int(&a, 1, 0, SCHEDULE_MAX_MINUTES, &minutes))
		return CLI_EXIT_USAGE;

	code = cli_replica_open("schedule", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	rc = hs_replica_schedule_set(r, (int)minutes);
	if (rc != HS_OK) {
		code = cli_replica_fail("schedule", r, rc);
	} else {
		if (minutes == 0)
			printf("scheduled sync is off for %s\n", a.pos[0]);
		else
			printf("%s syncs every %lld minute%s (while 'hubsync "
			       "daemon' runs)\n", a.pos[0], minutes,
			       minutes == 1 ? "" : "s");
		code = CLI_EXIT_OK;
	}
	hs_replica_free(r);
	return code;
}
