/*
 * cmd_number.c - `hubsync number DB SERIES`: hand out the next number of a
 * numbered series (quote or project numbers), unique across every PC even
 * while offline.
 *
 * The library draws it from the blocks this PC reserved from the master
 * (at every sync, or now when it has none left and the master is
 * reachable). The output is the number alone, so that scripts can write
 * n=$(hubsync number app.db quote); --json prints {"series", "number"}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "replica.h"
#include "report.h"

/* The range hs_replica_number_block_set accepts. */
#define NUMBER_BLOCK_MIN 1
#define NUMBER_BLOCK_MAX 100000

static const cli_spec number_spec = {
	"number",
	"DB SERIES [--json] [--block N]",
	"Print the next number of the series SERIES (for example quote or\n"
	"project). Numbers are unique across every PC, also while offline:\n"
	"each PC draws from blocks of numbers it reserves from the master at\n"
	"every sync (or at once when it has none and the master is reachable).\n"
	"The numbers one PC hands out increase; unused numbers of a block are\n"
	"skipped (a gap of at most one block). A PC that has used up its\n"
	"numbers while offline says so and exits with status 1: sync once\n"
	"while the share is reachable.",
	{ "DB", "SERIES" },
	2,
	{ { "--json", NULL, "print {\"series\": ..., \"number\": ...}" },
	  { "--block", "N", "reserve N numbers per block from now on "
	    "(1 to 100000; default 20)" } },
};

/* Print the number taken, as text or as the JSON object. */
static int print_number(const char *series, int64_t n, int as_json)
{
	json_t *o;
	char *doc;

	if (!as_json) {
		printf("%lld\n", (long long)n);
		return CLI_EXIT_OK;
	}
	o = json_pack("{s:s, s:I}", "series", series, "number", (json_int_t)n);
	doc = o ? json_dumps(o, 0) : NULL;
	json_decref(o);
	if (!doc)
		return cli_fail("number", "out of memory printing the number "
				"%lld; it is used up (take the next one)",
				(long long)n);
	printf("%s\n", doc);
	free(doc);
	return CLI_EXIT_OK;
}

int cli_cmd_number(int argc, char **argv)
{
	hs_replica *r = NULL;
	long long block;
	int64_t n;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &number_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--block", NUMBER_BLOCK_MIN, NUMBER_BLOCK_MAX, 0,
			  &block))
		return CLI_EXIT_USAGE;

	code = cli_replica_open("number", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	/* The block size first, so that a reservation this call makes
	 * already uses it. */
	if (block > 0 && (rc = hs_replica_number_block_set(r, (int)block)) !=
				 HS_OK) {
		code = cli_replica_fail("number", r, rc);
		goto cleanup;
	}
	rc = hs_replica_number_next(r, a.pos[1], &n);
	if (rc != HS_OK) {
		code = cli_replica_fail("number", r, rc);
		goto cleanup;
	}
	code = print_number(a.pos[1], n, cli_args_has(&a, "--json"));
cleanup:
	hs_replica_free(r);
	return code;
}
