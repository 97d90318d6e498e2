/*
 * test_reads.c - the defects issue 9 listed, each held by a test:
 *
 *  - a read error while listing (history, conflicts, the audit log, the
 *    status) is an error, never a shorter list given as success (a read
 *    fault injected at every read of the listing, one at a time);
 *  - a conflict whose stored row has a malformed blob (a hand-edited
 *    master) is refused in one line and changes nothing;
 *  - reading the status does not clear the last error;
 *  - an options struct of an unknown version is refused;
 *  - a sync whose sync_log row cannot be written says so.
 *
 * Run all with ./test_reads, or some by name.
 */
#include "faultvfs.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* alice and bob with some history and conflicts between them. */
static void busy_office(tu_net *N)
{
	tu_net_open(N, 2, "reads",
		    "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, n INTEGER)",
		    NULL);
	tu_net_init(N, NULL);
	for (int i = 0; i < 60; i++)
		tu_exec(N->s[0].app, "INSERT INTO notes VALUES ('n%d', '%s %d',"
				     " %d)", i, "a body long enough to fill pages"
				     " with text text text text text text", i, i);
	tu_net_sync_all(N, 2);
	tu_exec(N->s[0].app, "UPDATE notes SET body = 'alice ' || id");
	tu_now_ms += 1000;
	tu_exec(N->s[1].app, "UPDATE notes SET body = 'bob ' || id");
	tu_net_sync_all(N, 2);
}

typedef int (*listing_fn)(hs_replica *r, char **out);

static int list_history(hs_replica *r, char **out)
{
	return hs_replica_history_json(r, 1000, out);
}

static int list_conflicts(hs_replica *r, char **out)
{
	return hs_replica_conflicts_json(r, 1, out);
}

static int list_log(hs_replica *r, char **out)
{
	return hs_replica_log_json(r, NULL, NULL, NULL, 1000, out);
}

static int list_status(hs_replica *r, char **out)
{
	return hs_replica_status_json(r, out);
}

/* Every read of the listing fails once in turn: each time the listing
 * fails or is the whole document. */
static void check_listing(tu_site *s, const char *name, listing_fn fn)
{
	char *whole = NULL, *doc;
	TU_CHECK(fn(s->hs, &whole) == HS_OK, "%s: %s", name,
		 hs_replica_errmsg(s->hs));
	fv_watch(strrchr(s->path, '/') + 1);
	TU_CHECK(fn(s->hs, &doc) == HS_OK, "%s", name);
	hs_free(doc);
	long reads = fv_count(FV_READ);
	int failed = 0;
	for (long n = 1; n <= reads; n++) {
		fv_watch(strrchr(s->path, '/') + 1);
		fv_arm(FV_READ, n, 0);
		doc = NULL;
		int rc = fn(s->hs, &doc);
		fv_watch(NULL);
		if (rc != HS_OK) {
			TU_CHECK(!doc && *hs_replica_errmsg(s->hs) &&
					 !strchr(hs_replica_errmsg(s->hs), '\n'),
				 "%s, read %ld: a failure needs one line and no "
				 "document", name, n);
			failed++;
			continue;
		}
		TU_CHECK(!strcmp(doc, whole) || !strcmp(name, "status"),
			 "%s, read %ld failed: the listing succeeded shorter (%zu"
			 " of %zu bytes)", name, n, strlen(doc), strlen(whole));
		hs_free(doc);
	}
	printf("  %s: %ld reads, %d faults reported, the rest absorbed\n", name,
	       reads, failed);
	hs_free(whole);
}

static void read_errors_are_errors(void)
{
	tu_net N;
	TU_CHECK(fv_install() == SQLITE_OK, "fault VFS");
	busy_office(&N);
	/* a fresh handle: pages are read from the file again */
	tu_site_reopen(&N.s[0]);
	check_listing(&N.s[0], "history", list_history);
	check_listing(&N.s[0], "conflicts", list_conflicts);
	check_listing(&N.s[0], "log", list_log);
	check_listing(&N.s[0], "status", list_status);
	tu_net_close(&N);
}

static void damaged_conflict_refused(void)
{
	tu_net N;
	tu_net_open(&N, 2, "reads",
		    "CREATE TABLE bins (k BLOB PRIMARY KEY, v TEXT)", NULL);
	tu_net_init(&N, NULL);
	tu_exec(N.s[0].app, "INSERT INTO bins VALUES (x'0102', 'a')");
	tu_net_sync_all(&N, 2);
	tu_exec(N.s[0].app, "DELETE FROM bins");
	tu_now_ms += 1000;
	tu_exec(N.s[1].app, "UPDATE bins SET v = 'b'");
	tu_net_sync_all(&N, 2);
	/* the stored row as a hand-edited master might have it */
	tu_exec(N.s[1].app, "UPDATE hubsync_conflicts SET pk = '{\"k\":"
			    " {\"$blob\": \"0x2\"}}', remote_value = replace("
			    "remote_value, '0102', 'zz02'), local_value = replace("
			    "local_value, '0102', 'zz02')");
	json_t *c = tu_site_conflicts(&N.s[1], 0);
	TU_CHECK(json_array_size(c) == 1, "one conflict");
	int64_t id = json_integer_value(json_object_get(json_array_get(c, 0),
							"id"));
	json_decref(c);
	int64_t before = tu_int(N.s[1].app, -1, "SELECT count(*) FROM bins");
	/* keeping bob's row (the delete won) means writing it back: the
	 * damaged row is refused */
	int rc = hs_replica_resolve(N.s[1].hs, id, HS_KEEP_LOCAL);
	TU_CHECK(rc == HS_ECORRUPT, "a damaged row was written back: %d %s", rc,
		 hs_replica_errmsg(N.s[1].hs));
	TU_CHECK(!strchr(hs_replica_errmsg(N.s[1].hs), '\n'), "one line");
	TU_CHECK(tu_int(N.s[1].app, -1, "SELECT count(*) FROM bins") == before,
		 "rows changed");
	/* keeping what is in use writes nothing damaged: settled */
	TU_CHECK(hs_replica_resolve(N.s[1].hs, id, HS_KEEP_REMOTE) == HS_OK,
		 "keep remote: %s", hs_replica_errmsg(N.s[1].hs));
	tu_net_close(&N);
}

static void status_keeps_the_error(void)
{
	tu_net N;
	char *doc = NULL, msg[1100];
	tu_net_open(&N, 1, "reads", "CREATE TABLE t (k TEXT PRIMARY KEY)", NULL);
	tu_net_init(&N, NULL);
	TU_CHECK(hs_replica_resolve(N.s[0].hs, 12345, HS_KEEP_LOCAL) ==
			 HS_ENOTFOUND, "resolve of no conflict");
	snprintf(msg, sizeof msg, "%s", hs_replica_errmsg(N.s[0].hs));
	TU_CHECK(*msg, "no message");
	TU_CHECK(hs_replica_status_json(N.s[0].hs, &doc) == HS_OK, "status");
	hs_free(doc);
	TU_CHECK(!strcmp(msg, hs_replica_errmsg(N.s[0].hs)), "status cleared"
		 " the last error: '%s' became '%s'", msg,
		 hs_replica_errmsg(N.s[0].hs));
	tu_net_close(&N);
}

static void unknown_versions_refused(void)
{
	tu_net N;
	hs_replica *r = NULL;
	hs_open_options oo = HS_OPEN_OPTIONS_INIT;
	hs_sync_options so = HS_SYNC_OPTIONS_INIT;
	tu_net_open(&N, 1, "reads", "CREATE TABLE t (k TEXT PRIMARY KEY)", NULL);
	tu_net_init(&N, NULL);
	oo.version = 99;
	TU_CHECK(hs_replica_open(&r, N.s[0].path, &oo) == HS_EINVALID &&
			 strstr(hs_replica_errmsg(r), "version"),
		 "open options of version 99 accepted");
	hs_replica_free(r);
	int64_t logs = tu_int(N.s[0].app, 0, "SELECT count(*) FROM sync_log");
	so.version = 99;
	TU_CHECK(hs_replica_sync(N.s[0].hs, &so, NULL) == HS_EINVALID,
		 "sync options of version 99 accepted");
	TU_CHECK(tu_int(N.s[0].app, 0, "SELECT count(*) FROM sync_log") == logs,
		 "a refused sync wrote sync_log");
	hs_init_options io = HS_INIT_OPTIONS_INIT;
	io.version = 0;
	io.master_path = N.master;
	TU_CHECK(hs_replica_init(N.s[0].hs, &io) == HS_EINVALID,
		 "init options of version 0 accepted");
	tu_net_close(&N);
}

static void sync_log_unwritable_said(void)
{
	tu_net N;
	char *doc = NULL;
	tu_net_open(&N, 1, "reads", "CREATE TABLE t (k TEXT PRIMARY KEY)", NULL);
	tu_net_init(&N, NULL);
	tu_exec(N.s[0].app, "CREATE TRIGGER no_log BEFORE INSERT ON sync_log"
			    " BEGIN SELECT RAISE(ABORT, 'no'); END");
	tu_exec(N.s[0].app, "INSERT INTO t VALUES ('a')");
	TU_CHECK(tu_site_sync_rc(&N.s[0], &doc) == HS_OK, "sync");
	TU_CHECK(doc && strstr(doc, "not in the history"), "the result does not"
		 " say that sync_log was not written: %s", doc ? doc : "");
	hs_free(doc);
	tu_net_close(&N);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"read_errors_are_errors", read_errors_are_errors},
		{"damaged_conflict_refused", damaged_conflict_refused},
		{"status_keeps_the_error", status_keeps_the_error},
		{"unknown_versions_refused", unknown_versions_refused},
		{"sync_log_unwritable_said", sync_log_unwritable_said},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
