/*
 * cmd_sync.c - `hubsync sync DB`: push local changes, pull everyone else's,
 * and say what moved ("pulled 3, pushed 5, 0 conflicts in 0.12s" plus a
 * line per table).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "replica.h"
#include "report.h"

static const cli_spec sync_spec = {
	"sync",
	"DB [--json] [--max-rate KBPS]",
	"Push the changes made in DB to its master and pull everyone else's,\n"
	"then print what moved. A failed sync changes nothing, is recorded in\n"
	"the history, and exits with status 1.",
	{ "DB" },
	1,
	{ { "--json", NULL, "print the sync result as JSON" },
	  { "--max-rate", "KBPS", "with a sync server: at most this many "
	    "kilobytes per second each way" } },
};

/* Per-table counts: one row for every table in pulled or pushed. */
static void print_tables(const json_t *pulled, const json_t *pushed)
{
	static const char *const head[] = { "  table", "pulled", "pushed" };
	cli_table *t = cli_table_new(3, head, "lrr");
	const json_t *sides[2] = { pulled, pushed };
	json_t *seen = json_object();
	const char *key;
	json_t *v;
	int s;

	for (s = 0; s < 2; s++) {
		json_object_foreach((json_t *)sides[s], key, v) {
			char name[256], in[32], out[32];
			const char *cells[3] = { name, in, out };

			if (json_object_get(seen, key))
				continue;
			json_object_set_new(seen, key, json_true());
			snprintf(name, sizeof(name), "  %s", key);
			snprintf(in, sizeof(in), "%lld",
				 cli_json_int(pulled, key));
			snprintf(out, sizeof(out), "%lld",
				 cli_json_int(pushed, key));
			cli_table_add(t, cells);
		}
	}
	if (json_object_size(seen) > 0)
		cli_table_print(t, stdout);
	json_decref(seen);
	cli_table_free(t);
}

/* Progress on a terminal: one line on stderr, rewritten in place. */
static void show_progress(void *ctx, const char *phase, const char *table,
			  int64_t rows)
{
	(void)ctx;
	if (!strcmp(phase, "lock") && rows > 0) /* waiting for another PC */
		fprintf(stderr, "\r\033[Kwaiting for the master: %s is syncing"
			" (%lld s)", table ? table : "another PC",
			(long long)(rows / 1000));
	else if (table)
		fprintf(stderr, "\r\033[K%s %s: %lld rows", phase, table,
			(long long)rows);
	else
		fprintf(stderr, "\r\033[K%s...", phase);
}

static void print_result(const json_t *res, const char *db)
{
	const json_t *stats = json_object_get(res, "stats");
	const json_t *pulled = json_object_get(stats, "pulled");
	const json_t *pushed = json_object_get(stats, "pushed");
	long long conflicts = cli_json_int(stats, "conflicts");
	const char *duration = cli_json_str(res, "duration");

	printf("pulled %lld, pushed %lld, %lld conflict%s in %s\n",
	       cli_json_sum(pulled), cli_json_sum(pushed), conflicts,
	       conflicts == 1 ? "" : "s", duration ? duration : "?");
	print_tables(pulled, pushed);
	if (conflicts > 0)
		printf("review them with: hubsync conflicts %s\n", db);
}

int cli_cmd_sync(int argc, char **argv)
{
	hs_sync_options opts = HS_SYNC_OPTIONS_INIT;
	hs_replica *r = NULL;
	char *doc = NULL;
	json_t *res = NULL;
	cli_args a;
	int code, rc, as_json;

	if (!cli_args_parse(&a, &sync_spec, argc, argv, &code))
		return code;
	as_json = cli_args_has(&a, "--json");
	{
		long long kbps;
		if (!cli_args_int(&a, "--max-rate", 1, 10000000, 0, &kbps))
			return CLI_EXIT_USAGE;
		opts.max_rate_kbps = (int)kbps;
	}
	code = cli_replica_open("sync", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;

	if (!as_json && isatty(STDERR_FILENO))
		opts.progress = show_progress;
	opts.trigger = "command";
	rc = hs_replica_sync(r, &opts, &doc);
	if (opts.progress)
		fputs("\r\033[K", stderr); /* clear the progress line */
	if (as_json && doc)
		printf("%s\n", doc);
	if (doc)
		res = json_loads(doc, 0, NULL);
	if (rc != HS_OK || !json_is_true(json_object_get(res, "success"))) {
		const char *msg = cli_json_str(res, "message");
		if (rc == HS_OK && msg)
			code = cli_fail("sync", "%s", msg);
		else
			code = cli_replica_fail("sync", r, rc);
		goto cleanup;
	}
	if (!as_json) {
		print_result(res, a.pos[0]);
		cli_print_warning(r); /* people must see it */
	}
	code = CLI_EXIT_OK;
cleanup:
	json_decref(res);
	hs_free(doc);
	hs_replica_free(r);
	return code;
}
