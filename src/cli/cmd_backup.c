/*
 * cmd_backup.c - `hubsync backup MASTER` and `hubsync restore MASTER BACKUP`:
 * checked, rotated copies of the master and putting one back
 * (hs_backup_create / hs_backup_restore; docs/BACKUP.md has the drill).
 *
 * Both work on the master file, not a replica: any PC with the share
 * mounted can run them, and they wait for the master lock like a sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "hubsync.h"
#include "report.h"

#define LOCK_TIMEOUT_MAX_MS 3600000

static const cli_spec backup_spec = {
	"backup",
	"MASTER [--keep N] [--dir DIR] [--lock-timeout MS] [--json]",
	"Copy the master file MASTER while holding its lock (no sync writes\n"
	"meanwhile), check the copy (integrity, hubsync tables), name it\n"
	"DIR/NAME.YYYY-MM-DDTHH-MM-SSZ.bak (UTC) and delete the oldest copies\n"
	"beyond the newest N. A damaged master is reported and rotates nothing\n"
	"out. DIR defaults to the master's folder + /backups.",
	{ "MASTER" },
	1,
	{ { "--keep", "N", "keep the newest N copies (default 7)" },
	  { "--dir", "DIR", "where the copies go (default MASTER's folder/backups)" },
	  { "--lock-timeout", "MS", "wait this long for the master lock (default 30000)" },
	  { "--json", NULL, "print what was done as JSON" } },
};

static const cli_spec restore_spec = {
	"restore",
	"MASTER BACKUP [--check] [--lock-timeout MS] [--json]",
	"Put the backup file BACKUP in place of the master MASTER: check the\n"
	"backup, take the master lock, keep the current master aside as\n"
	"MASTER.before-restore-TIME, and replace it atomically. Each PC sends\n"
	"its rows again at its next sync, so edits made after the backup are\n"
	"not lost; check 'hubsync conflicts' afterwards. With --check, only\n"
	"check BACKUP and change nothing.",
	{ "MASTER", "BACKUP" },
	2,
	{ { "--check", NULL, "only check BACKUP (integrity, hubsync tables)" },
	  { "--lock-timeout", "MS", "wait this long for the master lock (default 30000)" },
	  { "--json", NULL, "print what was done as JSON" } },
};

/* Print the library's JSON as it is (--json) or hand it to render. Frees
 * doc. */
static int show(const char *cmd, char *doc, int as_json,
		void (*render)(const json_t *res))
{
	json_t *res;

	if (as_json) {
		printf("%s\n", doc);
		hs_free(doc);
		return CLI_EXIT_OK;
	}
	res = json_loads(doc, 0, NULL);
	hs_free(doc);
	if (!res)
		return cli_fail(cmd, "the library's answer is not JSON; run "
				"again with --json to see it");
	render(res);
	json_decref(res);
	return CLI_EXIT_OK;
}

/* "48 KiB" style size. */
static void size_text(long long bytes, char *buf, size_t len)
{
	if (bytes < 10 * 1024)
		snprintf(buf, len, "%lld bytes", bytes);
	else if (bytes < 10LL * 1024 * 1024)
		snprintf(buf, len, "%lld KiB", bytes / 1024);
	else
		snprintf(buf, len, "%lld MiB", bytes / (1024 * 1024));
}

static void render_backup(const json_t *res)
{
	const json_t *removed = json_object_get(res, "removed");
	const char *warning = cli_json_str(res, "warning");
	char size[32];
	size_t n = json_array_size(removed);

	size_text(cli_json_int(res, "bytes"), size, sizeof(size));
	printf("backed up %s (sequence %lld) to %s (%s, integrity ok)\n",
	       cli_json_str(res, "master"), cli_json_int(res, "seq"),
	       cli_json_str(res, "backup"), size);
	if (n == 0) {
		printf("no old backup removed (keeping the newest %lld)\n",
		       cli_json_int(res, "keep"));
	} else {
		char *list = cli_json_join(removed, 0);
		printf("removed %zu old backup%s (keeping the newest %lld): %s\n",
		       n, n == 1 ? "" : "s", cli_json_int(res, "keep"), list);
		free(list);
	}
	if (warning)
		printf("warning: %s\n", warning);
}

static void render_restore(const json_t *res)
{
	const json_t *prev = json_object_get(res, "previous_seq");
	const char *journal = cli_json_str(res, "kept_aside_journal");

	printf("restored %s from %s (sequence %lld", cli_json_str(res, "master"),
	       cli_json_str(res, "backup"), cli_json_int(res, "seq"));
	if (json_is_integer(prev))
		printf("; the replaced master was at %lld)\n",
		       (long long)json_integer_value(prev));
	else
		printf("; the replaced master could not be read)\n");
	printf("the replaced master is kept as %s%s%s\n",
	       cli_json_str(res, "kept_aside"), journal ? " with its journal " : "",
	       journal ? journal : "");
	printf("each PC sends its rows again at its next sync; then check "
	       "'hubsync conflicts'\n");
}

static void render_check(const json_t *res)
{
	char size[32];

	size_text(cli_json_int(res, "bytes"), size, sizeof(size));
	printf("%s is a good backup: integrity ok, hubsync master at sequence "
	       "%lld, %s\n", cli_json_str(res, "path"), cli_json_int(res, "seq"),
	       size);
}

/* Report a library failure: its one line, or a generic one. */
static int fail_with(const char *cmd, char *msg)
{
	int code = cli_fail(cmd, "%s", msg && *msg ? msg : "failed");
	hs_free(msg);
	return code;
}

int cli_cmd_backup(int argc, char **argv)
{
	hs_backup_options opts = HS_BACKUP_OPTIONS_INIT;
	long long keep, timeout;
	char *doc = NULL, *msg = NULL;
	cli_args a;
	int code;

	if (!cli_args_parse(&a, &backup_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--keep", 1, HS_BACKUP_KEEP_MAX,
			  HS_BACKUP_KEEP_DEFAULT, &keep) ||
	    !cli_args_int(&a, "--lock-timeout", 1, LOCK_TIMEOUT_MAX_MS, 30000,
			  &timeout))
		return CLI_EXIT_USAGE;
	opts.keep = (int)keep;
	opts.lock_timeout_ms = (int)timeout;
	opts.dir = cli_args_get(&a, "--dir");
	if (hs_backup_create(a.pos[0], &opts, &doc, &msg) != HS_OK)
		return fail_with("backup", msg);
	return show("backup", doc, cli_args_has(&a, "--json"), render_backup);
}

int cli_cmd_restore(int argc, char **argv)
{
	hs_backup_options opts = HS_BACKUP_OPTIONS_INIT;
	long long timeout;
	char *doc = NULL, *msg = NULL;
	cli_args a;
	int code, as_json;

	if (!cli_args_parse(&a, &restore_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--lock-timeout", 1, LOCK_TIMEOUT_MAX_MS, 30000,
			  &timeout))
		return CLI_EXIT_USAGE;
	opts.lock_timeout_ms = (int)timeout;
	as_json = cli_args_has(&a, "--json");
	if (cli_args_has(&a, "--check")) {
		if (hs_backup_verify(a.pos[1], &doc, &msg) != HS_OK)
			return fail_with("restore", msg);
		return show("restore", doc, as_json, render_check);
	}
	if (hs_backup_restore(a.pos[0], a.pos[1], &opts, &doc, &msg) != HS_OK)
		return fail_with("restore", msg);
	return show("restore", doc, as_json, render_restore);
}
