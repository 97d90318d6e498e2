/*
 * cmd_merge.c - `hubsync merge` (contract 3.9): which columns merge inside
 * their JSON value, office-wide, and the list of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "replica.h"

static const cli_spec merge_spec = {
	"merge",
	"DB [TABLE.COLUMN json|whole] [--key NAME] [--json]",
	"How two concurrent edits of one column merge, for the whole office.\n"
	"json: the column holds JSON; edits of different members (and, with\n"
	"--key, of different elements of arrays of objects, told apart by\n"
	"their member NAME, e.g. sku) are all kept; a member both changed goes\n"
	"to the later edit and the other value is listed by 'hubsync conflicts'\n"
	"under its path (pricing.margin, bom[sku=A-1].qty). whole: one value\n"
	"per cell, the later edit (the default). The setting reaches the\n"
	"master with this PC's next sync and every PC with theirs. Without\n"
	"TABLE.COLUMN: list the columns merged inside JSON.",
	{ "DB", "TABLE.COLUMN", "MODE" },
	1,
	{ { "--key", "NAME", "the member that tells array elements apart (json)" },
	  { "--json", NULL, "print the list as JSON" },
	  { NULL, NULL, NULL } },
};

/* The list for people. */
static int render_rules(json_t *doc, const char *db)
{
	size_t i;
	json_t *e;
	if (json_array_size(doc) == 0) {
		printf("every column of %s merges as one value (no JSON columns "
		       "set)\n", db);
		return CLI_EXIT_OK;
	}
	json_array_foreach(doc, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		printf("%s.%s %s%s%s%s\n",
		       json_string_value(json_object_get(e, "table")),
		       json_string_value(json_object_get(e, "column")),
		       json_string_value(json_object_get(e, "mode")),
		       key ? " --key " : "", key ? key : "",
		       json_is_true(json_object_get(e, "pending"))
			       ? " (set here: reaches the master with the next sync)"
			       : "");
	}
	return CLI_EXIT_OK;
}

static int fetch_rules(hs_replica *r, void *ctx, char **doc)
{
	(void)ctx;
	return hs_replica_merge_json(r, doc);
}

int cli_cmd_merge(int argc, char **argv)
{
	hs_replica *r = NULL;
	cli_args a;
	int code, rc;
	hs_merge_mode mode;

	if (!cli_args_parse(&a, &merge_spec, argc, argv, &code))
		return code;
	if (a.npos == 1) {
		if (cli_args_has(&a, "--key"))
			return cli_usage_error(&merge_spec, "--key goes with "
					       "TABLE.COLUMN json");
		return cli_replica_show("merge", a.pos[0], cli_args_has(&a, "--json"),
					fetch_rules, NULL, render_rules);
	}
	if (a.npos != 3)
		return cli_usage_error(&merge_spec, "give TABLE.COLUMN and json or "
				       "whole");
	if (strcmp(a.pos[2], "json") == 0)
		mode = HS_MERGE_JSON;
	else if (strcmp(a.pos[2], "whole") == 0)
		mode = HS_MERGE_WHOLE;
	else
		return cli_usage_error(&merge_spec, "the mode is json or whole, "
				       "not '%s'", a.pos[2]);
	const char *dot = strchr(a.pos[1], '.');
	if (!dot || dot == a.pos[1] || !dot[1])
		return cli_usage_error(&merge_spec, "name the column as "
				       "TABLE.COLUMN, not '%s'", a.pos[1]);
	size_t n = (size_t)(dot - a.pos[1]);
	char *table = malloc(n + 1);
	if (table) {
		memcpy(table, a.pos[1], n);
		table[n] = 0;
	} else {
		fprintf(stderr, "hubsync merge: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	const char *key = cli_args_get(&a, "--key");
	code = cli_replica_open("merge", a.pos[0], &r);
	if (code == CLI_EXIT_OK) {
		rc = hs_replica_merge_set(r, table, dot + 1, mode, key);
		if (rc != HS_OK) {
			code = cli_replica_fail("merge", r, rc);
		} else if (mode == HS_MERGE_JSON) {
			printf("%s merges inside its JSON%s%s%s for the whole "
			       "office, from this PC's next sync\n", a.pos[1],
			       key ? " (array elements told apart by " : "",
			       key ? key : "", key ? ")" : "");
		} else {
			printf("%s merges as one value for the whole office, from "
			       "this PC's next sync\n", a.pos[1]);
		}
	}
	free(table);
	hs_replica_free(r);
	return code;
}
