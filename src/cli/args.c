/*
 * args.c - parse a command's argv against its cli_spec, print its help, and
 * report usage errors (exit code 2) in one consistent format.
 */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int opt_count(const cli_spec *spec)
{
	int n = 0;
	while (n < CLI_MAX_OPTS && spec->opts[n].name)
		n++;
	return n;
}

/* Index of the option called name (len bytes of it), or -1. */
static int opt_find(const cli_spec *spec, const char *name, size_t len)
{
	int i, n = opt_count(spec);
	for (i = 0; i < n; i++) {
		if (strlen(spec->opts[i].name) == len &&
		    memcmp(spec->opts[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

/* Like opt_find for names written in the code: a miss is a bug. */
static int opt_index(const cli_args *a, const char *name)
{
	int i = opt_find(a->spec, name, strlen(name));
	if (i < 0) {
		fprintf(stderr, "hubsync: internal error: option %s not in "
			"the spec of '%s'\n", name, a->spec->name);
		abort();
	}
	return i;
}

int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hubsync %s: ", spec->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; run 'hubsync %s --help'\n", spec->name);
	return CLI_EXIT_USAGE;
}

void cli_args_help(const cli_spec *spec)
{
	int i, n = opt_count(spec);
	int width = (int)strlen("-h, --help");

	printf("usage: hubsync %s %s\n\n%s\n", spec->name, spec->synopsis,
	       spec->about);
	for (i = 0; i < n; i++) {
		const cli_opt *o = &spec->opts[i];
		int w = (int)strlen(o->name) +
			(o->metavar ? 1 + (int)strlen(o->metavar) : 0);
		if (w > width)
			width = w;
	}
	printf("\noptions:\n");
	for (i = 0; i < n; i++) {
		const cli_opt *o = &spec->opts[i];
		int w = (int)strlen(o->name) +
			(o->metavar ? 1 + (int)strlen(o->metavar) : 0);
		printf("  %s%s%s%*s  %s\n", o->name, o->metavar ? " " : "",
		       o->metavar ? o->metavar : "", width - w, "", o->help);
	}
	printf("  %-*s  %s\n", width, "-h, --help", "show this help");
}

static int is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* "-5", "-0.5": a negative number, taken as a positional argument. */
static int is_negative_number(const char *arg)
{
	return arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9';
}

static int add_positional(cli_args *out, const char *arg)
{
	const cli_spec *spec = out->spec;
	int max = 0;

	while (max < CLI_SPEC_POS && spec->pos[max])
		max++;
	/* a last name ending in "..." takes any number of arguments */
	if (max && strstr(spec->pos[max - 1], "..."))
		max = CLI_MAX_POS;
	if (out->npos >= max)
		return cli_usage_error(spec, "unexpected argument '%s'", arg);
	out->pos[out->npos++] = arg;
	return CLI_EXIT_OK;
}

/* Parse the option at argv[*i], consuming its value; returns an exit code. */
static int parse_option(cli_args *out, int argc, char **argv, int *i)
{
	const cli_spec *spec = out->spec;
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	int k = opt_find(spec, arg, len);
	const cli_opt *o;
	const char *value;

	if (k < 0)
		return cli_usage_error(spec, "unknown option '%.*s'", (int)len,
				       arg);
	o = &spec->opts[k];
	if (!o->metavar) {
		if (eq)
			return cli_usage_error(spec, "%s takes no value",
					       o->name);
		out->val[k] = "";
		return CLI_EXIT_OK;
	}
	if (eq) {
		value = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return cli_usage_error(spec, "%s needs a value (%s)",
					       o->name, o->metavar);
		value = argv[++*i];
	}
	if (value[0] == '\0')
		return cli_usage_error(spec, "%s needs a non-empty value (%s)",
				       o->name, o->metavar);
	out->val[k] = value;
	return CLI_EXIT_OK;
}

int cli_args_parse(cli_args *out, const cli_spec *spec, int argc, char **argv,
		   int *exit_code)
{
	int i, rc, options_done = 0;

	memset(out, 0, sizeof(*out));
	out->spec = spec;

	/* --help wins over anything else on the line. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (is_help(argv[i])) {
			cli_args_help(spec);
			*exit_code = CLI_EXIT_OK;
			return 0;
		}
	}

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (!options_done && arg[0] == '-' && arg[1] != '\0' &&
		    !is_negative_number(arg))
			rc = parse_option(out, argc, argv, &i);
		else
			rc = add_positional(out, arg);
		if (rc != CLI_EXIT_OK) {
			*exit_code = rc;
			return 0;
		}
	}
	if (out->npos < spec->min_pos) {
		*exit_code = cli_usage_error(spec, "missing %s",
					     spec->pos[out->npos < CLI_SPEC_POS
							       ? out->npos : 0]);
		return 0;
	}
	return 1;
}

int cli_args_has(const cli_args *a, const char *name)
{
	return a->val[opt_index(a, name)] != NULL;
}

const char *cli_args_get(const cli_args *a, const char *name)
{
	return a->val[opt_index(a, name)];
}

/* Whole number in [min, max] from text; 0 if it is not one. */
static int parse_int(const char *text, long long min, long long max,
		     long long *out)
{
	char *end;
	long long v;

	if (text[0] != '-' && (text[0] < '0' || text[0] > '9'))
		return 0;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

int cli_args_int(const cli_args *a, const char *name, long long min,
		 long long max, long long def, long long *out)
{
	const char *text = cli_args_get(a, name);

	if (!text) {
		*out = def;
		return 1;
	}
	if (parse_int(text, min, max, out))
		return 1;
	cli_usage_error(a->spec, "%s must be a whole number from %lld to %lld, "
			"not '%s'", name, min, max, text);
	return 0;
}

int cli_args_pos_int(const cli_args *a, int i, long long min, long long max,
		     long long *out)
{
	if (parse_int(a->pos[i], min, max, out))
		return 1;
	cli_usage_error(a->spec, "%s must be a whole number from %lld to %lld, "
			"not '%s'", a->spec->pos[i], min, max, a->pos[i]);
	return 0;
}
