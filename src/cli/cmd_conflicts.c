/*
 * cmd_conflicts.c - `conflicts` (list the concurrent edits that lost, with
 * both values, both users and which one won) and `resolve` (keep the local
 * or the remote value of one of them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "replica.h"
#include "report.h"
#include "timefmt.h"

#define VALUE_WIDTH 100 /* longer values (JSON blobs) are cut */

static const cli_spec conflicts_spec = {
	"conflicts",
	"DB [--json] [--all]",
	"List the conflicts of DB: edits made at the same time by two users to\n"
	"the same value. The later edit won; the other value is kept here so\n"
	"that you can restore it with 'hubsync resolve'. Unresolved ones by\n"
	"default. Conflicts reach every replica with the sync. 'local' is your\n"
	"version when you were one of the two users (otherwise the version of\n"
	"the user whose sync met the other), 'remote' the other one.",
	{ "DB" },
	1,
	{ { "--json", NULL, "print the conflicts as JSON" },
	  { "--all", NULL, "include resolved conflicts" } },
};

/* "quoteId=Q-1" or "a=1, b=2" for a primary-key object. */
static void format_pk(const json_t *pk, char *buf, size_t size)
{
	const char *key;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	if (!json_is_object(pk)) {
		char *text = cli_json_text(pk, 60);
		snprintf(buf, size, "%s", text);
		free(text);
		return;
	}
	json_object_foreach((json_t *)pk, key, v) {
		char *text = cli_json_text(v, 60);
		int n = snprintf(buf + used, size - used, "%s%s=%s",
				 used ? ", " : "", key, text);
		free(text);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

/* One side of a conflict: "  local   alice  "Plant A"  <- won". In a
 * whole-row conflict (no column) the value is the row, or null: deleted. */
static void print_side(const json_t *c, const char *side, int width)
{
	char key[32];
	const char *user;
	const json_t *v;
	char *value;
	const char *winner = cli_json_str(c, "winner");

	snprintf(key, sizeof(key), "%s_user", side);
	user = cli_json_str(c, key);
	snprintf(key, sizeof(key), "%s_value", side);
	v = json_object_get(c, key);
	if (json_is_null(v) && !cli_json_str(c, "column"))
		value = cli_xstrdup("(deleted the row)");
	else
		value = cli_json_literal(v, VALUE_WIDTH);
	printf("    %-6s  %-*s  %s%s\n", side, width, user ? user : "?", value,
	       winner && strcmp(winner, side) == 0 ? "   <- won" : "");
	free(value);
}

static void print_conflict(const json_t *c, int64_t now)
{
	const char *lu = cli_json_str(c, "local_user");
	const char *ru = cli_json_str(c, "remote_user");
	const char *column = cli_json_str(c, "column");
	const char *detected = cli_json_str(c, "detected_at");
	int width = (int)strlen(lu ? lu : "?");
	char pk[256], ago[64], local[64];
	int64_t t;

	if (ru && (int)strlen(ru) > width)
		width = (int)strlen(ru);
	format_pk(json_object_get(c, "pk"), pk, sizeof(pk));
	printf("#%lld  %s  %s  %s%s%s\n", cli_json_int(c, "id"),
	       cli_json_str(c, "table") ? cli_json_str(c, "table") : "?", pk,
	       column ? "column " : "whole row", column ? column : "",
	       json_is_true(json_object_get(c, "resolved")) ? "  (resolved)"
							    : "");
	print_side(c, "local", width);
	print_side(c, "remote", width);
	if (detected && cli_time_parse(detected, &t)) {
		cli_time_ago(t, now, ago, sizeof(ago));
		cli_time_local(t, local, sizeof(local));
		printf("    detected %s (%s)\n", ago, local);
	}
}

static int render_conflicts(json_t *list, const char *db)
{
	int64_t now = cli_time_now_ms();
	size_t i, n = json_array_size(list), open = 0;
	json_t *c;

	if (n == 0) {
		printf("no conflicts\n");
		return CLI_EXIT_OK;
	}
	json_array_foreach(list, i, c) {
		print_conflict(c, now);
		printf("\n");
		if (!json_is_true(json_object_get(c, "resolved")))
			open++;
	}
	printf("%zu conflict%s, %zu unresolved", n, n == 1 ? "" : "s", open);
	if (open > 0)
		printf("; to restore the value that lost: hubsync resolve %s "
		       "ID --keep local|remote", db);
	printf("\n");
	return CLI_EXIT_OK;
}

static int fetch_conflicts(hs_replica *r, void *ctx, char **doc)
{
	return hs_replica_conflicts_json(r, *(int *)ctx, doc);
}

int cli_cmd_conflicts(int argc, char **argv)
{
	cli_args a;
	int code, all;

	if (!cli_args_parse(&a, &conflicts_spec, argc, argv, &code))
		return code;
	all = cli_args_has(&a, "--all");
	return cli_replica_show("conflicts", a.pos[0],
				cli_args_has(&a, "--json"), fetch_conflicts,
				&all, render_conflicts);
}

static const cli_spec resolve_spec = {
	"resolve",
	"DB CONFLICT_ID --keep local|remote",
	"Settle a conflict listed by 'hubsync conflicts': make the kept value\n"
	"the current one and mark the conflict resolved. The choice reaches\n"
	"every replica with the next sync.",
	{ "DB", "CONFLICT_ID" },
	2,
	{ { "--keep", "local|remote", "which of the two values to keep" } },
};

int cli_cmd_resolve(int argc, char **argv)
{
	hs_replica *r = NULL;
	const char *keep;
	long long id;
	hs_keep which;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &resolve_spec, argc, argv, &code))
		return code;
	if (!cli_args_pos_int(&a, 1, 1, INT64_MAX, &id))
		return CLI_EXIT_USAGE;
	keep = cli_args_get(&a, "--keep");
	if (!keep)
		return cli_usage_error(&resolve_spec,
				       "missing --keep local|remote");
	if (strcmp(keep, "local") == 0)
		which = HS_KEEP_LOCAL;
	else if (strcmp(keep, "remote") == 0)
		which = HS_KEEP_REMOTE;
	else
		return cli_usage_error(&resolve_spec, "--keep must be 'local' "
				       "or 'remote', not '%s'", keep);

	code = cli_replica_open("resolve", a.pos[0], &r);
	if (code != CLI_EXIT_OK)
		return code;
	rc = hs_replica_resolve(r, (int64_t)id, which);
	if (rc != HS_OK) {
		code = cli_replica_fail("resolve", r, rc);
	} else {
		printf("conflict %lld resolved: kept the %s value; it reaches "
		       "everyone with the next sync (hubsync sync %s)\n", id,
		       keep, a.pos[0]);
		code = CLI_EXIT_OK;
	}
	hs_replica_free(r);
	return code;
}
