/*
 * fleet.c - PCs with replicas synced by the hubsync binary (see fleet.h).
 */
#include "fleet.h"

#include "spawn.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_app_open(fleet *f, int k)
{
	fl_site *s = &f->s[k];
	int rc = sqlite3_open_v2(s->path, &s->app,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	TU_CHECK(rc == SQLITE_OK, "open %s: %s", s->path,
		 s->app ? sqlite3_errmsg(s->app) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(s->app, 5000);
}

void fl_app_close(fleet *f, int k)
{
	if (f->s[k].app)
		TU_CHECK(sqlite3_close(f->s[k].app) == SQLITE_OK,
			 "close the app connection of %s", f->s[k].name);
	f->s[k].app = NULL;
}

static void run_ok(char *const argv[], const char *what)
{
	char *out = NULL;
	int rc = sp_run(argv, &out);
	TU_CHECK(rc == 0, "%s exited %d: %s", what, rc, out ? out : "");
	free(out);
}

void fl_open(fleet *f, const char *bin, const char *dir, int n,
	     const char *const *masters, const char *const *tokens, int nkeys,
	     uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	TU_CHECK(n >= 1 && n <= WL_MAX_SITES, "fleet of %d PCs", n);
	f->bin = bin;
	f->n = n;
	for (int k = 0; k < n; k++) {
		fl_site *s = &f->s[k];
		snprintf(s->name, sizeof s->name, "pc%d", k);
		snprintf(s->path, sizeof s->path, "%s/pc%d.db", dir, k);
		size_t len = strlen(masters[k]);
		TU_CHECK(len < sizeof s->master, "master path too long");
		memcpy(s->master, masters[k], len + 1);
		snprintf(s->token, sizeof s->token, "%s",
			 tokens && tokens[k] ? tokens[k] : "");
		wl_app_init(&s->w, k, nkeys, seed);
		fl_app_open(f, k);
		wl_create_schema(s->app, k);
		char *argv[] = {(char *)bin, "init", s->path, "--master", s->master,
				"--user", s->name, "--token", s->token, NULL};
		if (!s->token[0])
			argv[7] = NULL;
		run_ok(argv, "hubsync init");
	}
	for (int k = 0; k < n; k++)
		fl_sync_ok(f, k);
}

void fl_close(fleet *f)
{
	for (int k = 0; k < f->n; k++) {
		fl_app_close(f, k);
		wl_app_free(&f->s[k].w);
	}
}

int fl_sync(const fleet *f, int k, char **out)
{
	char *argv[] = {(char *)f->bin, "sync", (char *)f->s[k].path, NULL};
	return sp_run(argv, out);
}

void fl_sync_ok(const fleet *f, int k)
{
	char *out = NULL;
	int rc = fl_sync(f, k, &out);
	TU_CHECK(rc == 0, "hubsync sync %s exited %d: %s", f->s[k].path, rc,
		 out ? out : "");
	free(out);
}

void fl_settle(const fleet *f)
{
	for (int round = 0; round < 2; round++)
		for (int k = 0; k < f->n; k++)
			fl_sync_ok(f, k);
}

static void check_one(fleet *f, const char *path, const char *what,
		      const char *when)
{
	wl_app *apps[WL_MAX_SITES];
	for (int k = 0; k < f->n; k++)
		apps[k] = &f->s[k].w;
	tu_check_integrity(path);
	sqlite3 *db = tu_db_open(path, 1);
	char *why = wl_verify(db, apps, f->n);
	sqlite3_close(db);
	TU_CHECK(why == NULL, "%s (%s) after %s: %s", what, path, when, why);
}

void fl_check(fleet *f, const char *when)
{
	/* (a master that is not a file: through the replicas alone) */
	if (tu_master_is_file(f->s[0].master))
		check_one(f, f->s[0].master, "the master", when);
	for (int k = 0; k < f->n; k++)
		check_one(f, f->s[k].path, f->s[k].name, when);
}

int64_t fl_failed_syncs(fleet *f, int k, char **last)
{
	sqlite3 *db = tu_db_open(f->s[k].path, 1);
	int64_t n = tu_int(db, 0, "SELECT count(*) FROM sync_log WHERE status"
			   " <> 'success'");
	if (last)
		*last = tu_text(db, "SELECT status || ': ' || coalesce(error_message,"
				" '') FROM sync_log WHERE status <> 'success'"
				" ORDER BY id DESC LIMIT 1");
	sqlite3_close(db);
	return n;
}
