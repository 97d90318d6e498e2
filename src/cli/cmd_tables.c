/*
 * cmd_tables.c - living with the app (contract 3.6): `track` and
 * `untrack` (which tables this PC syncs), `uninstall` (take hubsync out of
 * the database again) and `relocate` (the master moved).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "replica.h"
#include "report.h"

static const cli_spec track_spec = {
	"track",
	"DB TABLE...",
	"Start syncing the tables TABLE... of DB, e.g. tables an app upgrade\n"
	"added when init was given --tables (with init's default, every table,\n"
	"new tables are synced by themselves). Their rows are sent with the\n"
	"next sync. A table untracked before starts again from where it\n"
	"stopped.",
	{ "DB", "TABLE..." },
	2,
	{ { NULL, NULL, NULL } },
};

static const cli_spec untrack_spec = {
	"untrack",
	"DB TABLE...",
	"Stop syncing the tables TABLE... on this PC. Their rows stay as they\n"
	"are; changes not sent yet are not sent; other PCs and the master are\n"
	"not affected. 'hubsync track' starts again.",
	{ "DB", "TABLE..." },
	2,
	{ { NULL, NULL, NULL } },
};

/* track and untrack: the same steps, another library call. */
static int tables_command(const cli_spec *spec, int untrack, int argc,
			  char **argv)
{
	hs_replica *r = NULL;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, spec, argc, argv, &code))
		return code;
	code = cli_replica_open(spec->name, a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	rc = untrack ? hs_replica_untrack(r, a.pos + 1, a.npos - 1)
		     : hs_replica_track(r, a.pos + 1, a.npos - 1);
	if (rc != HS_OK) {
		code = cli_replica_fail(spec->name, r, rc);
	} else {
		for (int i = 1; i < a.npos; i++)
			printf("%s %s\n", untrack ? "no longer synced here:"
						  : "synced from the next sync:",
			       a.pos[i]);
		code = CLI_EXIT_OK;
	}
	hs_replica_free(r);
	return code;
}

int cli_cmd_track(int argc, char **argv)
{
	return tables_command(&track_spec, 0, argc, argv);
}

int cli_cmd_untrack(int argc, char **argv)
{
	return tables_command(&untrack_spec, 1, argc, argv);
}

static const cli_spec uninstall_spec = {
	"uninstall",
	"DB",
	"Remove everything hubsync added to DB: its triggers, its hubsync_*\n"
	"tables, the sync_log it created and the columns 'init --stamp' added.\n"
	"The app's tables and data stay as they are, with every change made\n"
	"since init. Changes not synced yet are not sent. The master is not\n"
	"touched; to sync again, run 'hubsync init'.",
	{ "DB" },
	1,
	{ { NULL, NULL, NULL } },
};

int cli_cmd_uninstall(int argc, char **argv)
{
	hs_replica *r = NULL;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &uninstall_spec, argc, argv, &code))
		return code;
	code = cli_replica_open("uninstall", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	rc = hs_replica_uninstall(r);
	if (rc != HS_OK) {
		code = cli_replica_fail("uninstall", r, rc);
	} else {
		printf("hubsync removed from %s\n", a.pos[0]);
		code = CLI_EXIT_OK;
	}
	hs_replica_free(r);
	return code;
}

static const cli_spec relocate_spec = {
	"relocate",
	"DB --master PATH|URL [--token T]",
	"The master moved (another drive letter, share or folder, or to a sync\n"
	"server after hubsync migrate): check that the master at PATH (or URL)\n"
	"is the one DB synced with and sync with it from now on, with nothing\n"
	"sent again. A different master is refused.",
	{ "DB" },
	1,
	{ { "--master", "PATH", "where the master is now" },
	  { "--token", "T", "a sync server's token (default: the one kept, or "
	    "$HUBSYNC_TOKEN)" } },
};

int cli_cmd_relocate(int argc, char **argv)
{
	hs_replica *r = NULL;
	char *master;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &relocate_spec, argc, argv, &code))
		return code;
	if (!cli_args_has(&a, "--master"))
		return cli_usage_error(&relocate_spec, "missing --master PATH "
				       "(where the master is now)");
	code = cli_replica_open("relocate", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	master = cli_absolute_path(cli_args_get(&a, "--master"));
	rc = hs_replica_relocate_to(r, master,
				    cli_args_get(&a, "--token")
					    ? cli_args_get(&a, "--token")
					    : getenv("HUBSYNC_TOKEN"));
	if (rc != HS_OK) {
		code = cli_replica_fail("relocate", r, rc);
	} else {
		printf("%s syncs with %s from now on\n", a.pos[0], master);
		code = CLI_EXIT_OK;
	}
	free(master);
	hs_replica_free(r);
	return code;
}
