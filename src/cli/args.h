/*
 * args.h - command-line parsing shared by all hubsync commands.
 *
 * A command describes itself once, in a cli_spec (positional arguments,
 * options, help text); cli_args_parse checks argv against it, prints --help,
 * and reports usage errors as one line plus a hint to run --help, so that no
 * command parses argv by hand and every command answers the same way.
 *
 * Syntax accepted: options anywhere among the positional arguments,
 * "--opt VALUE" or "--opt=VALUE", "--" ends the options, "-h"/"--help" prints
 * the help (and wins over any other argument). A word that looks like a
 * negative number is a positional argument, so that "schedule DB -5" reports
 * a bad number rather than an unknown option.
 */
#ifndef HS_CLI_ARGS_H
#define HS_CLI_ARGS_H

#define CLI_SPEC_POS 4 /* positionals a spec names */
#define CLI_MAX_POS 64 /* positionals given (a last "NAME..." repeats) */
#define CLI_MAX_OPTS 8

typedef struct cli_opt {
	const char *name;    /* "--limit" */
	const char *metavar; /* "N" for an option with a value; NULL: a flag */
	const char *help;    /* one line */
} cli_opt;

typedef struct cli_spec {
	const char *name;     /* the command: "history" */
	const char *synopsis; /* after the name: "DB [--json] [--limit N]" */
	const char *about;    /* what the command does; may hold newlines */
	const char *pos[CLI_SPEC_POS]; /* names of the positionals: "DB", ...;
					* a last "TABLE..." takes any number */
	int min_pos;          /* how many positionals are required */
	const cli_opt opts[CLI_MAX_OPTS]; /* ends at the first name == NULL */
} cli_spec;

typedef struct cli_args {
	const cli_spec *spec;
	const char *pos[CLI_MAX_POS]; /* NULL when not given */
	int npos;
	const char *val[CLI_MAX_OPTS]; /* by index in spec->opts; a set flag is "" */
} cli_args;

/*
 * Parse argv (argv[0] is the command name) against spec. Returns 1 when the
 * command should go on; otherwise returns 0 and sets *exit_code: CLI_EXIT_OK
 * after printing the help to stdout, CLI_EXIT_USAGE after printing a usage
 * error to stderr. The strings in out point into argv.
 */
int cli_args_parse(cli_args *out, const cli_spec *spec, int argc, char **argv,
		   int *exit_code);

/* Whether an option was given / its value (NULL when absent). name must be
 * in the spec (a typo aborts: it is a bug, not a user error). */
int cli_args_has(const cli_args *a, const char *name);
const char *cli_args_get(const cli_args *a, const char *name);

/*
 * Read a whole number from the option name (or def when absent) into *out,
 * in [min, max]. Returns 1 on success; 0 after printing a usage error.
 */
int cli_args_int(const cli_args *a, const char *name, long long min,
		 long long max, long long def, long long *out);

/* The same for positional argument i (which must have been given). */
int cli_args_pos_int(const cli_args *a, int i, long long min, long long max,
		     long long *out);

/*
 * Report a usage error about this command: "hubsync CMD: <message>; run
 * 'hubsync CMD --help'" on stderr. Returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the command's help to stdout. */
void cli_args_help(const cli_spec *spec);

#endif
