/*
 * cli.h - what every part of the hubsync command shares: exit codes and the
 * shape of a command.
 *
 * Exit codes are part of the contract (DESIGN.md 3.1): 0 success, 1 a failed
 * sync or a bad request (the library or the command said why on stderr, in
 * one line), 2 a usage error (unknown command or option, missing argument,
 * bad number).
 */
#ifndef HS_CLI_H
#define HS_CLI_H

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2
};

/*
 * A command: run(argc, argv) gets argv[0] == the command name and the rest of
 * the command line after it, and returns the process exit code. Every command
 * answers --help (see args.h).
 */
typedef struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for `hubsync --help` */
} cli_command;

#endif
