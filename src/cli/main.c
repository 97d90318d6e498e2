/*
 * main.c - the hubsync command: find the command named by argv[1] in the
 * command table and run it; print the overall usage and version.
 *
 * Adding a command: write `int cli_cmd_NAME(int argc, char **argv)` (parse
 * with args.h, report with report.h/replica.h), declare it in commands.h and
 * add one line to `commands` below. Nothing else needs to change: dispatch,
 * `hubsync --help` and `hubsync help NAME` read the table. Then document it:
 * a row in README.md's command table and a man page man/hubsync-NAME.1 (copy
 * the page of a similar command; list it in man/hubsync.1), which the test
 * install_man (tests/install/test_man.sh) holds to this table and --help.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "daemon.h"
#include "hubsync.h"
#include "platform.h"

static const cli_command commands[] = {
	{ "init", cli_cmd_init, "start syncing an app database with a master" },
	{ "sync", cli_cmd_sync, "push local changes and pull everyone else's" },
	{ "status", cli_cmd_status, "show the sync state of a replica" },
	{ "history", cli_cmd_history, "list the last syncs, newest first" },
	{ "schedule", cli_cmd_schedule, "set the scheduled sync interval" },
	{ "conflicts", cli_cmd_conflicts, "list concurrent edits that lost" },
	{ "resolve", cli_cmd_resolve, "keep the local or remote value of a conflict" },
	{ "log", cli_cmd_log, "show the audit trail of changes" },
	{ "merge", cli_cmd_merge, "merge a JSON column member by member (office-wide)" },
	{ "track", cli_cmd_track, "start syncing tables (e.g. added by an app upgrade)" },
	{ "untrack", cli_cmd_untrack, "stop syncing tables on this PC" },
	{ "uninstall", cli_cmd_uninstall, "remove all that hubsync added to a database" },
	{ "relocate", cli_cmd_relocate, "follow the master to its new path" },
	{ "number", cli_cmd_number, "take the next quote or project number" },
	{ "backup", cli_cmd_backup, "copy the master under its lock, checked and rotated" },
	{ "restore", cli_cmd_restore, "put a backup in place of the master" },
	{ "demo", cli_cmd_demo, "run five simulated users (no setup needed)" },
	{ "daemon", hs_daemon_main, "scheduled sync, HTTP API and status page" },
	{ "serve", cli_cmd_serve, "run the sync server (a master over HTTP)" },
	{ "user", cli_cmd_user, "add, list or remove the sync server's users" },
	{ "migrate", cli_cmd_migrate, "move an office's master file into a sync server's store" },
	{ "service", cli_cmd_service, "start the daemon at logon (Windows)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const cli_command *find_command(const char *name)
{
	size_t i;
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hubsync COMMAND [ARGS...]\n\n"
		"Local-first multi-user sync for SQLite databases.\n\n"
		"commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\nRun 'hubsync COMMAND --help' for the arguments of a "
		"command.\nExit status: 0 success, 1 failed sync or bad "
		"request, 2 usage error.\n");
}

static int unknown_command(const char *name)
{
	fprintf(stderr, "hubsync: unknown command '%s'; run 'hubsync --help' "
		"for the list\n", name);
	return CLI_EXIT_USAGE;
}

/* `hubsync help [COMMAND]`. */
static int help(int argc, char **argv)
{
	const cli_command *cmd;
	char *cmd_argv[3];

	if (argc < 3) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	cmd = find_command(argv[2]);
	if (!cmd)
		return unknown_command(argv[2]);
	cmd_argv[0] = argv[2];
	cmd_argv[1] = (char *)"--help";
	cmd_argv[2] = NULL;
	return cmd->run(2, cmd_argv);
}

/* A command's output that could not be written (disk full, closed pipe
 * reader) is a failure, not a success with nothing shown. */
static int finish_output(int code)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return code;
	fprintf(stderr, "hubsync: cannot write the output: %s; check the "
		"disk or the command reading it\n", strerror(errno));
	return code == CLI_EXIT_OK ? CLI_EXIT_FAIL : code;
}

static int dispatch(int argc, char **argv)
{
	const cli_command *cmd;

	if (argc < 2) {
		fprintf(stderr, "hubsync: missing command; run 'hubsync "
			"--help' for the list\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return help(argc, argv);
	if (strcmp(argv[1], "--version") == 0) {
		printf("hubsync %s\n", hs_version());
		return CLI_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	hs_os_init(&argc, &argv); /* Windows: UTF-8 argv, no CRLF on stdout */
	return finish_output(dispatch(argc, argv));
}
