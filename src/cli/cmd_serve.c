/*
 * cmd_serve.c - `hubsync serve STORE` (the sync server: hs_server of the
 * library behind the HTTP transport of src/daemon/serve.c) and `hubsync
 * user add|list|remove STORE` (who may sync with it), DESIGN 3.7.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <platform.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "report.h"
#include "serve.h"

static const cli_spec serve_spec = {
	"serve",
	"STORE [--listen HOST:PORT] [--tls-cert F --tls-key F] [--behind-proxy]"
	" [--max-rate KBPS] [--port-file F] [--quiet]",
	"Run the sync server until SIGTERM (or Ctrl+C). STORE is a folder\n"
	"(created if missing) where the server keeps its master (master.db)\n"
	"and its users (users.db; add them with hubsync user add), or a\n"
	"PostgreSQL database (postgresql://USER@HOST/DB: the master and the\n"
	"users live there; several serve processes may share it). PCs sync\n"
	"with it after hubsync init DB --master http://HOST:PORT --token T;\n"
	"the merge runs here. Off loopback the server needs TLS (--tls-cert,\n"
	"--tls-key: PEM files) or --behind-proxy (a proxy does TLS).",
	{ "STORE" },
	1,
	{ { "--listen", "HOST:PORT", "where to listen (default 127.0.0.1:8766;"
	    " port 0 picks one)" },
	  { "--tls-cert", "FILE", "the server's certificate (PEM)" },
	  { "--tls-key", "FILE", "its private key (PEM)" },
	  { "--behind-proxy", NULL, "plain HTTP off loopback: a proxy does TLS" },
	  { "--max-rate", "KBPS", "at most this many kilobytes per second per "
	    "request, each way" },
	  { "--port-file", "FILE", "write the port listened on to FILE" },
	  { "--quiet", NULL, "no line per request on stdout" } },
};

int cli_cmd_serve(int argc, char **argv)
{
	hsd_serve_options o;
	hs_server *srv = NULL;
	hsd_serve *h = NULL;
	char err[512], *msg = NULL;
	long long kbps;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &serve_spec, argc, argv, &code))
		return code;
	if (!cli_args_int(&a, "--max-rate", 1, 10000000, 0, &kbps))
		return CLI_EXIT_USAGE;
	memset(&o, 0, sizeof(o));
	o.listen = cli_args_get(&a, "--listen") ? cli_args_get(&a, "--listen")
						: "127.0.0.1:8766";
	o.tls_cert = cli_args_get(&a, "--tls-cert");
	o.tls_key = cli_args_get(&a, "--tls-key");
	o.behind_proxy = cli_args_has(&a, "--behind-proxy");
	o.max_rate = (long)kbps * 1024;
	o.quiet = cli_args_has(&a, "--quiet");
	if (hsd_serve_check(&o, err, sizeof err) < 0)
		return cli_usage_error(&serve_spec, "%s", err);
	rc = hs_server_open(&srv, a.pos[0], &msg);
	if (rc != HS_OK) {
		code = cli_fail("serve", "%s", msg ? msg : "cannot open the store");
		hs_free(msg);
		return code;
	}
	/* stop requests go to hs_os_stop_wait only, before threads exist */
	hs_os_stop_begin(NULL);
	if (hsd_serve_start(&h, srv, &o, err, sizeof err) < 0) {
		code = cli_fail("serve", "%s", err);
		goto out;
	}
	if (cli_args_get(&a, "--port-file")) {
		FILE *f = fopen(cli_args_get(&a, "--port-file"), "w");
		if (!f || fprintf(f, "%d\n", hsd_serve_port(h)) < 0 || fclose(f) != 0) {
			code = cli_fail("serve", "cannot write the port to %s",
					cli_args_get(&a, "--port-file"));
			goto out;
		}
	}
	if (!o.quiet)
		printf("hubsync serve: %s on %s://%.*s:%d\n", hs_server_describe(srv),
	       o.tls_cert ? "https" : "http",
	       (int)(strrchr(o.listen, ':') - o.listen), o.listen,
	       hsd_serve_port(h));
	fflush(stdout);
	printf("hubsync serve: %s received, stopping\n", hs_os_stop_wait());
	code = CLI_EXIT_OK;
out:
	hsd_serve_stop(h);
	hs_server_free(srv);
	hs_os_stop_end();
	return code;
}

static const cli_spec user_spec = {
	"user",
	"add|list|remove STORE [NAME] [--read-only] [--tables a,b] [--json]",
	"Manage who may sync with the server whose store is STORE (works\n"
	"before the first hubsync serve and while it runs, at once).\n"
	"  add STORE NAME     print the new user's token (one line); only a\n"
	"                     hash of it is kept: note it now\n"
	"  list STORE         the users (--json: a JSON array)\n"
	"  remove STORE NAME  its token stops working at once",
	{ "ACTION", "STORE", "NAME" },
	2,
	{ { "--read-only", NULL, "add: the user may pull but not push" },
	  { "--tables", "a,b,c", "add: the only tables the user may sync" },
	  { "--json", NULL, "list: print JSON" } },
};

static int user_list(const char *store, int as_json)
{
	char *doc = NULL, *msg = NULL;
	json_t *arr;
	size_t i;
	json_t *u;
	int rc = hs_user_list_json(store, &doc, &msg);
	if (rc != HS_OK) {
		rc = cli_fail("user", "%s", msg ? msg : "cannot list the users");
		hs_free(msg);
		return rc;
	}
	if (as_json) {
		printf("%s\n", doc);
		hs_free(doc);
		return CLI_EXIT_OK;
	}
	arr = json_loads(doc, 0, NULL);
	hs_free(doc);
	if (!json_array_size(arr))
		printf("no users: add one with hubsync user add %s NAME\n", store);
	json_array_foreach(arr, i, u)
	{
		json_t *tables = json_object_get(u, "tables");
		printf("%s%s", json_string_value(json_object_get(u, "name")),
		       json_is_true(json_object_get(u, "readOnly")) ? " (read-only)"
								  : "");
		if (json_is_array(tables)) {
			size_t k;
			json_t *t;
			printf(" tables:");
			json_array_foreach(tables, k, t)
				printf("%s%s", k ? "," : " ", json_string_value(t));
		}
		printf("\n");
	}
	json_decref(arr);
	return CLI_EXIT_OK;
}

int cli_cmd_user(int argc, char **argv)
{
	const char *action, *store;
	char *token = NULL, *msg = NULL;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &user_spec, argc, argv, &code))
		return code;
	action = a.pos[0];
	store = a.pos[1];
	if (strcmp(action, "list") == 0)
		return user_list(store, cli_args_has(&a, "--json"));
	if (strcmp(action, "add") != 0 && strcmp(action, "remove") != 0)
		return cli_usage_error(&user_spec, "unknown action '%s': use add, "
				       "list or remove", action);
	if (!a.pos[2])
		return cli_usage_error(&user_spec, "%s needs a user NAME", action);
	if (strcmp(action, "add") == 0)
		rc = hs_user_add(store, a.pos[2], cli_args_has(&a, "--read-only"),
				 cli_args_get(&a, "--tables"), &token, &msg);
	else
		rc = hs_user_remove(store, a.pos[2], &msg);
	if (rc != HS_OK) {
		code = cli_fail("user", "%s", msg ? msg : "failed");
		hs_free(msg);
		return code;
	}
	if (token)
		printf("%s\n", token);
	hs_free(token);
	return CLI_EXIT_OK;
}

static const cli_spec migrate_spec = {
	"migrate",
	"FROM_MASTER STORE",
	"Move an office from its master file (on the NAS) to a sync server's\n"
	"STORE (a folder, or an empty postgresql:// database): the master is\n"
	"locked, copied and checked into the store with everything in it\n"
	"(rows, conflicts, history, number series, PCs).\n"
	"Then add the users (hubsync user add) and, on each PC, run\n"
	"hubsync relocate DB --master http(s)://HOST:PORT --token T: nothing is\n"
	"sent again. Refused when the store's master has data already.",
	{ "FROM_MASTER", "STORE" },
	2,
	{ { "--json", NULL, "print {\"from\", \"store\", \"seq\", \"bytes\"}" } },
};

int cli_cmd_migrate(int argc, char **argv)
{
	char *doc = NULL, *msg = NULL;
	json_t *res;
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &migrate_spec, argc, argv, &code))
		return code;
	rc = hs_server_migrate(a.pos[0], a.pos[1], &doc, &msg);
	if (rc != HS_OK) {
		code = cli_fail("migrate", "%s", msg ? msg : "failed");
		hs_free(msg);
		return code;
	}
	if (cli_args_has(&a, "--json")) {
		printf("%s\n", doc);
	} else if ((res = json_loads(doc, 0, NULL))) {
		printf("migrated %s into %s (sequence %lld); next: hubsync user add "
		       "%s NAME, hubsync serve %s, and on each PC hubsync relocate "
		       "DB --master URL --token T\n", a.pos[0], a.pos[1],
		       (long long)json_integer_value(json_object_get(res, "seq")),
		       a.pos[1], a.pos[1]);
		json_decref(res);
	}
	hs_free(doc);
	return CLI_EXIT_OK;
}
