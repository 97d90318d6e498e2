/*
 * replica.h - the steps every hubsync command takes with a replica: open it
 * with a clear error when the path is wrong, turn a library failure into the
 * one-line message and exit code 1, and print a JSON document either as it
 * is (--json) or through a renderer for people.
 */
#ifndef HS_CLI_REPLICA_H
#define HS_CLI_REPLICA_H

#include <jansson.h>

#include "hubsync.h"

/*
 * Open the database at path for command cmd. Returns CLI_EXIT_OK and sets
 * *out (freed by the caller with hs_replica_free), or reports why not (a
 * missing file is named as a wrong path) and returns CLI_EXIT_FAIL.
 */
int cli_replica_open(const char *cmd, const char *path, hs_replica **out);

/*
 * Report that a library call on r failed with rc: prints "hubsync CMD:
 * <the library's message>" (or a generic one for rc when the library left
 * none) and returns CLI_EXIT_FAIL.
 */
int cli_replica_fail(const char *cmd, const hs_replica *r, int rc);

/* Asks the library for a JSON document (hs_replica_*_json); ctx is the
 * caller's. Returns an hs_error code. */
typedef int (*cli_fetch_fn)(hs_replica *r, void *ctx, char **doc);

/* Renders a parsed document for people on stdout; db is the replica's path.
 * Returns an exit code. */
typedef int (*cli_render_fn)(json_t *doc, const char *db);

/*
 * The whole of a "show" command: open the replica at db, fetch a document,
 * print it as it is when as_json, else parse it and hand it to render.
 * Returns the exit code.
 */
int cli_replica_show(const char *cmd, const char *db, int as_json,
		     cli_fetch_fn fetch, void *fetch_ctx, cli_render_fn render);

/* Print the warning of r's last init or sync, if any, on stderr. */
void cli_print_warning(const hs_replica *r);

/* path made absolute against the current directory (the replica records
 * it, and later commands may run from elsewhere); newly allocated. */
char *cli_absolute_path(const char *path);

#endif
