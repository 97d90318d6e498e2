/*
 * test_peers.c - the office's PCs (hs_replica_peers_json) through the
 * public API: three replicas of one master, virtual time.
 *
 *  - before its first sync a replica lists itself alone (it has read
 *    nothing from the master yet);
 *  - after syncs, every replica lists every site the master knows, with
 *    its user and last sync time, itself first and marked thisPc;
 *  - a PC is behind when changes reached the master after its last sync;
 *  - the list reads offline (master gone);
 *  - a master made by an older hubsync (hubsync_sites without the new
 *    columns) gets them at the next sync and keeps its format;
 *  - a format-1 master (fixed 28-byte clocks, which older hubsync versions
 *    on other PCs still open) is read and written as format 1: concurrent
 *    edits still conflict and converge, and no compact clock is written.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char master[600];
static tu_site s[3];
static const char *names[] = {"alice", "bob", "carol"};

static json_t *peers(tu_site *site)
{
	char *out = NULL;
	int rc = hs_replica_peers_json(site->hs, &out);
	TU_CHECK(rc == HS_OK, "peers of %s: %d %s", site->name, rc,
		 hs_replica_errmsg(site->hs));
	return tu_json_take(out);
}

static json_t *find(json_t *list, const char *user)
{
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
		if (strcmp(json_string_value(json_object_get(p, "user")), user) == 0)
			return p;
	return NULL;
}

static void office(const char *dir)
{
	snprintf(master, sizeof master, "%s/server.db", dir);
	for (int i = 0; i < 3; i++) {
		tu_site_open(&s[i], dir, names[i], 0);
		tu_exec(s[i].app, "CREATE TABLE quotes(quoteId TEXT PRIMARY KEY,"
				  " projectName TEXT)");
		tu_site_hs_open(&s[i]);
		tu_site_init(&s[i], master, NULL);
	}
}

static void test_list(void)
{
	office(tu_tmpdir("peers"));
	json_t *p = peers(&s[0]);
	TU_CHECK(json_array_size(p) == 1, "never synced: this PC alone");
	json_t *me = json_array_get(p, 0);
	TU_CHECK(json_is_true(json_object_get(me, "thisPc")), "thisPc");
	TU_CHECK(json_is_null(json_object_get(me, "lastSyncTime")), "no sync yet");
	TU_CHECK(strcmp(json_string_value(json_object_get(me, "user")), "alice") == 0,
		 "user");
	json_decref(p);

	for (int i = 0; i < 3; i++) {
		tu_now_ms += 60000;
		free(tu_site_sync(&s[i], 0));
	}
	/* every PC registers at init: bob knows all three, carol (who had
	 * not synced yet at bob's sync) as never synced */
	p = peers(&s[1]);
	TU_CHECK(json_array_size(p) == 3, "bob knows three PCs, got %zu",
		 json_array_size(p));
	TU_CHECK(json_is_null(json_object_get(find(p, "carol"), "lastSyncTime")),
		 "carol had not synced yet when bob did");
	json_decref(p);
	/* carol, who synced last, sees everyone's time; nobody pushed
	 * anything: nobody is behind */
	p = peers(&s[2]);
	TU_CHECK(json_array_size(p) == 3, "three PCs, got %zu", json_array_size(p));
	TU_CHECK(json_is_true(json_object_get(json_array_get(p, 0), "thisPc")) &&
			 find(p, "carol") == json_array_get(p, 0),
		 "this PC first");
	for (int i = 0; i < 3; i++) {
		json_t *x = find(p, names[i]);
		TU_CHECK(x, "%s listed", names[i]);
		TU_CHECK(json_is_string(json_object_get(x, "lastSyncTime")),
			 "%s has a last sync time", names[i]);
		TU_CHECK(json_string_length(json_object_get(x, "site")) == 32,
			 "site id");
		TU_CHECK(json_is_false(json_object_get(x, "thisPc")) == (i != 2),
			 "thisPc of %s", names[i]);
		TU_CHECK(json_is_false(json_object_get(x, "behind")),
			 "%s is not behind", names[i]);
	}
	TU_CHECK(strcmp(json_string_value(json_object_get(find(p, "carol"),
							  "lastSyncTime")),
			"2025-01-15T10:03:00.000Z") == 0,
		 "carol's time: %s",
		 json_string_value(json_object_get(find(p, "carol"), "lastSyncTime")));
	json_decref(p);

	/* carol pushes a change: after carol's sync, alice and bob are
	 * behind as far as carol knows; after alice's sync, alice is not */
	tu_exec(s[2].app, "INSERT INTO quotes(quoteId, projectName) VALUES('Q1', 'Conveyor')");
	tu_now_ms += 60000;
	free(tu_site_sync(&s[2], 0));
	p = peers(&s[2]);
	TU_CHECK(json_is_true(json_object_get(find(p, "alice"), "behind")), "alice behind");
	TU_CHECK(json_is_true(json_object_get(find(p, "bob"), "behind")), "bob behind");
	TU_CHECK(json_is_false(json_object_get(find(p, "carol"), "behind")), "carol not");
	json_decref(p);
	tu_now_ms += 60000;
	free(tu_site_sync(&s[0], 0));
	p = peers(&s[0]);
	TU_CHECK(json_is_false(json_object_get(find(p, "alice"), "behind")), "alice caught up");
	TU_CHECK(json_is_true(json_object_get(find(p, "bob"), "behind")), "bob still behind");
	json_decref(p);

	/* offline: the list is the replica's own */
	char away[620];
	snprintf(away, sizeof away, "%s.away", master);
	TU_CHECK(rename(master, away) == 0, "unmount");
	TU_CHECK(tu_site_sync_rc(&s[0], NULL) != HS_OK, "the sync fails offline");
	p = peers(&s[0]);
	TU_CHECK(json_array_size(p) == 3, "the list reads offline");
	json_decref(p);
	TU_CHECK(rename(away, master) == 0, "mount");
	for (int i = 0; i < 3; i++)
		tu_site_close(&s[i]);
}

/* The master as a hubsync of format f made it: its audit trail (empty
 * yet) in the old shape (history.c). */
static void older_master(sqlite3 *m, int f)
{
	tu_exec(m, "UPDATE hubsync_master SET value = %d WHERE key = 'format';"
		   " DROP TABLE hubsync_history; DROP TABLE hubsync_names", f);
}

static void test_old_master(void)
{
	office(tu_tmpdir("peers-old"));
	free(tu_site_sync(&s[0], 0));
	/* what an older hubsync left: hubsync_sites without the columns */
	sqlite3 *m = tu_db_open(master, 0);
	older_master(m, 2);
	tu_exec(m, "ALTER TABLE hubsync_sites DROP COLUMN last_sync");
	tu_exec(m, "ALTER TABLE hubsync_sites DROP COLUMN synced_seq");
	sqlite3_close(m);
	free(tu_site_sync(&s[1], 0));
	json_t *p = peers(&s[1]);
	TU_CHECK(json_array_size(p) == 3, "three PCs, got %zu", json_array_size(p));
	TU_CHECK(json_is_null(json_object_get(find(p, "alice"), "lastSyncTime")),
		 "alice's last sync is unknown on an upgraded master");
	TU_CHECK(json_is_string(json_object_get(find(p, "bob"), "lastSyncTime")),
		 "bob's is recorded");
	json_decref(p);
	m = tu_db_open(master, 1);
	TU_CHECK(tu_int(m, -1, "SELECT value FROM hubsync_master WHERE key ="
			       " 'format'") == 2, "format stays 2");
	sqlite3_close(m);
	tu_check_integrity(master);
	for (int i = 0; i < 3; i++)
		tu_site_close(&s[i]);
}

/* Rows of the master whose clocks are not in the fixed encoding. */
static int64_t compact_rows(void)
{
	sqlite3 *m = tu_db_open(master, 1);
	int64_t n = tu_int(m, -1, "SELECT count(*) FROM hubsync_rows WHERE"
				  " length(clocks) %% 28 != 0 OR"
				  " hex(substr(clocks, 1, 1)) >= '80'");
	sqlite3_close(m);
	return n;
}

static void test_format1_master(void)
{
	office(tu_tmpdir("peers-format1"));
	/* what an older hubsync made (format 1: fixed clocks) */
	sqlite3 *m = tu_db_open(master, 0);
	older_master(m, 1);
	sqlite3_close(m);
	tu_exec(s[0].app, "INSERT INTO quotes VALUES('Q1', 'Conveyor'),"
			  " ('Q2', 'Press')");
	for (int i = 0; i < 3; i++) {
		tu_now_ms += 60000;
		free(tu_site_sync(&s[i], 0));
	}
	/* concurrent edits of one column: one wins, the other is a conflict */
	tu_exec(s[1].app, "UPDATE quotes SET projectName = 'Belt' WHERE quoteId = 'Q1'");
	tu_exec(s[2].app, "UPDATE quotes SET projectName = 'Chain' WHERE quoteId = 'Q1'");
	tu_exec(s[2].app, "DELETE FROM quotes WHERE quoteId = 'Q2'");
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++) {
			tu_now_ms += 60000;
			free(tu_site_sync(&s[i], 0));
		}
	for (int i = 1; i < 3; i++) {
		char *why = NULL;
		TU_CHECK(tu_db_diff(s[0].app, s[i].app, NULL, &why) == 0,
			 "%s and alice differ: %s", names[i], why ? why : "");
		free(why);
	}
	char *won = tu_text(s[0].app, "SELECT projectName FROM quotes WHERE"
				      " quoteId = 'Q1'");
	TU_CHECK(won && (!strcmp(won, "Chain") || !strcmp(won, "Belt")),
		 "one of the edits wins: %s", won ? won : "(none)");
	free(won);
	json_t *c = tu_site_conflicts(&s[1], 1);
	TU_CHECK(json_array_size(c) == 1, "one conflict, got %zu",
		 json_array_size(c));
	json_decref(c);
	m = tu_db_open(master, 1);
	TU_CHECK(tu_int(m, -1, "SELECT value FROM hubsync_master WHERE key ="
			       " 'format'") == 1, "format stays 1");
	sqlite3_close(m);
	TU_CHECK(compact_rows() == 0, "%lld rows with compact clocks in a "
		 "format-1 master", (long long)compact_rows());
	tu_check_integrity(master);
	for (int i = 0; i < 3; i++)
		tu_site_close(&s[i]);
}

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"list", test_list},
		{"old_master", test_old_master},
		{"format1_master", test_format1_master},
	};
	return tu_run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
