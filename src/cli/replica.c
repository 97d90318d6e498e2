/*
 * replica.c - open a replica, report library failures, print documents.
 */
#include "replica.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"
#include "platform.h"
#include "report.h"

int cli_replica_open(const char *cmd, const char *path, hs_replica **out)
{
	hs_open_options opts = HS_OPEN_OPTIONS_INIT;
	hs_os_stat st;
	int rc;

	*out = NULL;
	if (hs_os_stat_path(path, &st) != 0) {
		if (errno == ENOENT)
			return cli_fail(cmd, "database '%s' does not exist; "
					"check the path (it must be the app's "
					"existing SQLite file)", path);
		return cli_fail(cmd, "cannot read database '%s': %s; check "
				"the path and its permissions", path,
				strerror(errno));
	}
	if (st.is_dir)
		return cli_fail(cmd, "'%s' is a directory; give the path of "
				"the app's SQLite database file", path);

	rc = hs_replica_open(out, path, &opts);
	if (rc != HS_OK) {
		if (!*out)
			return cli_fail(cmd, "out of memory opening '%s'; "
					"close other programs and retry",
					path);
		cli_replica_fail(cmd, *out, rc);
		hs_replica_free(*out);
		*out = NULL;
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* What to say when the library gave no message (it always should). */
static const char *fallback_message(int rc)
{
	switch (rc) {
	case HS_ENOTFOUND:
		return "not found";
	case HS_EBUSY:
		return "the master is locked by another PC; retry later";
	case HS_ECONFLICT:
		return "a sync is already running; retry when it is done";
	case HS_EIO:
		return "file or share error; check that the share is mounted";
	case HS_ECORRUPT:
		return "a database failed its integrity check";
	case HS_EINVALID:
		return "invalid request; nothing was changed";
	default:
		return "failed";
	}
}

int cli_replica_fail(const char *cmd, const hs_replica *r, int rc)
{
	const char *msg = r ? hs_replica_errmsg(r) : "";

	if (!msg[0])
		msg = fallback_message(rc);
	return cli_fail(cmd, "%s", msg);
}

int cli_replica_show(const char *cmd, const char *db, int as_json,
		     cli_fetch_fn fetch, void *fetch_ctx, cli_render_fn render)
{
	hs_replica *r = NULL;
	char *doc = NULL;
	json_t *root = NULL;
	int code, rc;

	code = cli_replica_open(cmd, db, &r);
	if (code != CLI_EXIT_OK)
		return code;
	rc = fetch(r, fetch_ctx, &doc);
	if (rc != HS_OK) {
		code = cli_replica_fail(cmd, r, rc);
		goto cleanup;
	}
	if (as_json) {
		printf("%s\n", doc ? doc : "null");
		code = CLI_EXIT_OK;
		goto cleanup;
	}
	root = cli_json_parse(cmd, doc);
	code = root ? render(root, db) : CLI_EXIT_FAIL;
cleanup:
	json_decref(root);
	hs_free(doc);
	hs_replica_free(r);
	return code;
}

void cli_print_warning(const hs_replica *r)
{
	const char *w = hs_replica_warning(r);
	if (w && *w)
		fprintf(stderr, "warning: %s\n", w);
}

char *cli_absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	size_t n;
	char *abs;

	if (hs_os_path_is_absolute(path) || strstr(path, "://"))
		return cli_xstrdup(path); /* or an address: postgresql://... */
	/* Windows too (Z:\..., \\nas\...); a path whose folder is missing
	 * is joined to the current directory as it is */
	if ((abs = hs_os_path_absolute(path)) != NULL)
		return abs;
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	n = strlen(cwd) + strlen(path) + 2;
	abs = cli_xmalloc(n);
	snprintf(abs, n, "%s/%s", cwd, path);
	return abs;
}
