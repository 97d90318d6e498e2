/*
 * test_clock.c - PCs whose wall clocks are wrong still converge, edits made
 * after pulling beat what was pulled whatever the clocks say, and a change
 * stamped far in the future is reported and its effect bounded
 * (DESIGN.md section 2, Clock; src/lib/sync.c to_hlc and update_clock).
 *
 * Time is virtual (testutil.h): every site's app connection and hubsync
 * handle read the same true time plus that PC's skew, so a run is exact
 * and replays.
 *
 * What the library implements (sync.c): a local change is stamped
 * max(wall, clock + 1) when made after the pull that last raised the
 * clock; pulling raises the clock to the largest stamp received, but never
 * more than HS_MAX_DRIFT_MS (24 h) beyond the local wall clock, and a
 * stamp beyond that is reported in the sync message and in sync_log's
 * error_message of a successful sync.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)
#define MAX_DRIFT DAY /* HS_MAX_DRIFT_MS in src/lib/sync.c */

#define NSITES 4
static const char *const NAMES[NSITES] = {"alice", "bob", "carol", "dave"};

typedef struct office {
	const char *dir;
	char master[600];
	tu_site s[NSITES];
} office;

static const char ITEMS[] =
	"CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, qty INTEGER,"
	" updated_at TEXT, updated_by TEXT)";

/* Four PCs with the given clock skews, initialised, synced once. */
static void office_open(office *o, const int64_t skew[NSITES])
{
	memset(o, 0, sizeof(*o));
	o->dir = tu_tmpdir("clock");
	snprintf(o->master, sizeof o->master, "%s/master.db", o->dir);
	for (int i = 0; i < NSITES; i++) {
		tu_site_open(&o->s[i], o->dir, NAMES[i], skew[i]);
		tu_exec(o->s[i].app, "%s", ITEMS);
		tu_site_init(&o->s[i], o->master, NULL);
	}
}

static void office_close(office *o)
{
	for (int i = 0; i < NSITES; i++)
		tu_site_close(&o->s[i]);
	tu_cleanup();
}

static void sync_site(office *o, int i)
{
	tu_now_ms += 1000;
	tu_site_sync(&o->s[i], 0);
}

static void sync_all(office *o, int rounds)
{
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NSITES; i++)
			sync_site(o, i);
}

static void check_converged(office *o)
{
	sqlite3 *m = tu_db_open(o->master, 1);
	for (int i = 0; i < NSITES; i++) {
		char *why = NULL;
		if (tu_db_diff(o->s[i].app, m, "synced_at", &why))
			tu_fail("%s differs from the master: %s", NAMES[i], why);
		tu_check_integrity(o->s[i].path);
	}
	sqlite3_close(m);
	tu_check_integrity(o->master);
}

/* An app write at the site's own (skewed) time, one second later. */
static void app(office *o, int i, const char *sql)
{
	tu_now_ms += 1000;
	tu_exec(o->s[i].app, "%s", sql);
}

/* The name of item id on every replica and the master must be want. */
static void expect_name(office *o, const char *id, const char *want,
			const char *why)
{
	sqlite3 *m = tu_db_open(o->master, 1);
	for (int i = 0; i <= NSITES; i++) {
		sqlite3 *db = i < NSITES ? o->s[i].app : m;
		char *got = tu_text(db, "SELECT name FROM items WHERE id = %Q", id);
		TU_CHECK(got && !strcmp(got, want), "%s: items %s name on %s is"
			 " '%s', want '%s'", why, id,
			 i < NSITES ? NAMES[i] : "the master", got ? got : "NULL",
			 want);
		free(got);
	}
	sqlite3_close(m);
}

/* Conflicts (resolved or not) that a site lists for item id. */
static int conflicts_on(office *o, int i, const char *id)
{
	json_t *c = tu_site_conflicts(&o->s[i], 1);
	size_t k;
	json_t *e;
	int n = 0;
	json_array_foreach(c, k, e) {
		json_t *pk = json_object_get(e, "pk");
		const char *v = json_string_value(json_object_get(pk, "id"));
		if (v && !strcmp(v, id))
			n++;
	}
	json_decref(c);
	return n;
}

/* updated_at of item id on db minus the true time of site i, in ms. */
static int64_t stamp_ahead(office *o, sqlite3 *db, int i, const char *id)
{
	int64_t at = tu_int(db, INT64_MIN, "SELECT CAST((julianday(updated_at)"
			    " - 2440587.5) * 86400000 AS INTEGER) FROM items"
			    " WHERE id = %Q", id);
	TU_CHECK(at != INT64_MIN, "item %s has no updated_at", id);
	return at - (tu_now_ms + o->s[i].offset_ms);
}

/* ---- PCs hours ahead and behind -------------------------------------- */

static void skewed_clocks_converge(void)
{
	/* alice right, bob 3 h ahead, carol 5 h behind, dave 40 min ahead. */
	const int64_t skew[NSITES] = {0, 3 * HOUR, -5 * HOUR, 40 * 60 * 1000};
	office o;
	office_open(&o, skew);

	/* Everyone inserts, edits and deletes their own rows, over rounds. */
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < NSITES; i++) {
			char sql[400];
			snprintf(sql, sizeof sql,
				 "INSERT INTO items (id, name, qty) VALUES"
				 " ('%s-%d', '%s r%d', %d);"
				 "UPDATE items SET qty = qty + 1 WHERE id LIKE '%s-%%';"
				 "DELETE FROM items WHERE id = '%s-%d'",
				 NAMES[i], round, NAMES[i], round, round, NAMES[i],
				 NAMES[i], round - 2);
			app(&o, i, sql);
		}
		sync_all(&o, 1);
	}
	sync_all(&o, 2);
	check_converged(&o);
	for (int i = 0; i < NSITES; i++)
		TU_CHECK(tu_int(o.s[i].app, -1, "SELECT count(*) FROM items") ==
				 2 * NSITES,
			 "%s holds %lld items, want %d", NAMES[i],
			 (long long)tu_int(o.s[i].app, -1,
					   "SELECT count(*) FROM items"),
			 2 * NSITES);

	/* Causality: carol (5 h behind) pulls bob's edit (3 h ahead), then
	 * edits the same cell: her wall clock is 8 h before bob's stamp, yet
	 * her edit was made after seeing his and must win, with no conflict. */
	app(&o, 1, "INSERT INTO items (id, name, qty) VALUES ('x', 'bob', 1)");
	sync_site(&o, 1);
	sync_site(&o, 2);
	app(&o, 2, "UPDATE items SET name = 'carol' WHERE id = 'x'");
	sync_site(&o, 2);
	sync_all(&o, 2);
	expect_name(&o, "x", "carol", "carol edited after pulling bob's edit");
	for (int i = 0; i < NSITES; i++)
		TU_CHECK(conflicts_on(&o, i, "x") == 0, "%s lists a conflict on"
			 " x: carol's edit was made after seeing bob's", NAMES[i]);

	/* The other way round: bob (ahead) edits after pulling carol's. */
	app(&o, 2, "UPDATE items SET name = 'carol again' WHERE id = 'x'");
	sync_site(&o, 2);
	sync_site(&o, 1);
	app(&o, 1, "UPDATE items SET name = 'bob again' WHERE id = 'x'");
	sync_all(&o, 2);
	expect_name(&o, "x", "bob again", "bob edited after pulling carol's");

	/* A clock corrected backwards: bob's own later edit beats his
	 * earlier one although it carries an earlier wall time. */
	app(&o, 1, "INSERT INTO items (id, name, qty) VALUES ('w', 'b1', 1)");
	sync_site(&o, 1);
	o.s[1].offset_ms = 0; /* bob's PC got its clock fixed: 3 h back */
	app(&o, 1, "UPDATE items SET name = 'b2' WHERE id = 'w'");
	sync_all(&o, 2);
	expect_name(&o, "w", "b2", "bob's clock went back 3 h between edits");

	/* Carol, 5 h behind, edits a row offline; alice edits it a minute
	 * later (true time) without having seen carol's: concurrent. Both
	 * converge on one winner, the loser is kept as a conflict. */
	app(&o, 0, "INSERT INTO items (id, name, qty) VALUES ('z', 'seed', 0)");
	sync_all(&o, 1);
	app(&o, 2, "UPDATE items SET name = 'carol z' WHERE id = 'z'");
	tu_now_ms += 60 * 1000;
	app(&o, 0, "UPDATE items SET name = 'alice z' WHERE id = 'z'");
	sync_all(&o, 2);
	check_converged(&o);
	char *z = tu_text(o.s[0].app, "SELECT name FROM items WHERE id = 'z'");
	TU_CHECK(conflicts_on(&o, 0, "z") >= 1 && conflicts_on(&o, 2, "z") >= 1,
		 "concurrent edits of z: no conflict kept for the loser");
	printf("  concurrent edits, carol 5 h behind then alice 1 min later:"
	       " '%s' won (by the PCs' clocks), the other kept as a conflict\n",
	       z ? z : "?");
	free(z);
	office_close(&o);
}

/* ---- a change stamped days ahead --------------------------------------- */

static void future_stamp_reported_and_bounded(void)
{
	/* dave's PC is 3 days ahead. */
	const int64_t skew[NSITES] = {0, 0, 0, 3 * DAY};
	office o;
	char *json;
	office_open(&o, skew);

	app(&o, 3, "INSERT INTO items (id, name, qty) VALUES ('f', 'dave', 1)");
	sync_site(&o, 3);

	/* alice pulls it: a warning, a success, the warning in sync_log. */
	tu_now_ms += 1000;
	json = tu_site_sync(&o.s[0], 1);
	json_t *res = tu_json_take(json);
	const char *msg = json_string_value(json_object_get(res, "message"));
	TU_CHECK(json_is_true(json_object_get(res, "success")), "alice's sync"
		 " failed");
	TU_CHECK(msg && strstr(msg, "warning") && strstr(msg, "future") &&
			 strstr(msg, "dave"),
		 "alice pulled a change stamped 3 days ahead; the sync message"
		 " does not warn about dave's clock: '%s'", msg ? msg : "");
	printf("  alice's sync message: %s\n", msg);
	json_decref(res);
	char *log = tu_last_sync_log(o.s[0].app);
	TU_CHECK(!strncmp(log, "success|", 8) && strstr(log, "future"),
		 "sync_log of alice: '%s', want status success with the clock"
		 " warning in error_message", log);
	free(log);

	/* alice's next edit: stamped by her clock, raised at most by the
	 * drift bound, not 3 days ahead. */
	app(&o, 0, "INSERT INTO items (id, name, qty) VALUES ('a1', 'alice', 1)");
	sync_site(&o, 0);
	sqlite3 *m = tu_db_open(o.master, 1);
	int64_t ahead = stamp_ahead(&o, m, 0, "a1");
	int64_t dave_ahead = stamp_ahead(&o, m, 0, "f");
	sqlite3_close(m);
	printf("  dave's row is stamped %.1f h ahead of true time; alice's next"
	       " edit %.1f h ahead (bound %lld h)\n", (double)dave_ahead / HOUR,
	       (double)ahead / HOUR, MAX_DRIFT / HOUR);
	TU_CHECK(ahead <= MAX_DRIFT + 60 * 1000, "alice's own edit after"
		 " pulling dave's is stamped %.1f h ahead: her clock followed"
		 " dave's past the %lld h bound", (double)ahead / HOUR,
		 MAX_DRIFT / HOUR);

	/* The warning is about that change: the next sync is quiet. */
	tu_now_ms += 1000;
	res = tu_json_take(tu_site_sync(&o.s[0], 1));
	msg = json_string_value(json_object_get(res, "message"));
	TU_CHECK(msg && !strstr(msg, "warning"), "alice's next sync warns"
		 " again: '%s'", msg ? msg : "");
	json_decref(res);

	/* alice edits dave's row after pulling it: her edit wins although
	 * its stamp is days below dave's (she had seen his). */
	app(&o, 0, "UPDATE items SET name = 'alice over dave' WHERE id = 'f'");
	sync_all(&o, 2);
	expect_name(&o, "f", "alice over dave", "alice edited f after pulling"
		    " dave's future-stamped version");
	for (int i = 0; i < NSITES; i++)
		TU_CHECK(conflicts_on(&o, i, "f") == 0, "%s lists a conflict on"
			 " f: alice's edit was made after seeing dave's", NAMES[i]);

	/* dave's clock is fixed; his next edit after pulling still wins. */
	o.s[3].offset_ms = 0;
	app(&o, 3, "UPDATE items SET name = 'dave fixed' WHERE id = 'f'");
	sync_all(&o, 2);
	expect_name(&o, "f", "dave fixed", "dave edited after his clock was"
		    " fixed");
	check_converged(&o);
	office_close(&o);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"skewed_clocks_converge", skewed_clocks_converge},
		{"future_stamp_reported_and_bounded",
		 future_stamp_reported_and_bounded},
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return tu_run_cases(cases, sizeof cases / sizeof *cases, argc, argv);
}
