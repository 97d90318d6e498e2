/*
 * demo.c - `hubsync demo`: a day at a small automation company (demo.h).
 *
 * Five people use Craft Tools Hub, each on their own PC with their own
 * SQLite file; the master sits on the NAS. The script:
 *
 *   1. every PC installs the app (schema + the same seed rows);
 *      alice loads the component catalog and the customer list;
 *   2. everyone starts hubsync (init) and syncs: the catalog reaches all;
 *   3. alice, bob and dave each start a quote; everyone syncs;
 *   4. four people edit quote 1 at the same time: bob and carol different
 *      fields (both kept), dave and erin the same field (a conflict; erin
 *      edited last and wins);
 *   5. carol works offline for three rounds (her one sync attempt finds
 *      the share unmounted: a clear error, logged, nothing changed) while
 *      the others keep editing, deleting (erin deletes a quote dave is
 *      updating: delete vs update) and creating numbers; then carol comes
 *      back and syncs;
 *   6. everyone syncs twice; the demo checks the outcomes it expects and
 *      that all six databases hold identical rows, and prints a report.
 *
 * Quote ids follow the app, CA{YY}{MM}{DD}{CCC}-{industry}{product}
 * {control}{scope}-{NN}. Numbered series allocated at sync time come later;
 * for now each user numbers from its own block of NN (see user.c), which
 * keeps ids unique by construction.
 */
#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "catalog.h"
#include "converge.h"
#include "folder.h"
#include "report.h"
#include "user.h"

enum { ALICE, BOB, CAROL, DAVE, ERIN, DEMO_NUSERS };

static const char *const demo_names[] = {
	"alice", "bob", "carol", "dave", "erin", NULL
};

/* The customer list alice imports (codes 001..024). */
static const char *const demo_customers[] = {
	"Northfield Water Authority", "Blue Ridge Packaging",
	"Harbor Point Brewing", "Cedar Valley Foods", "Mesa Plastics",
	"Riverside Wastewater", "Summit Conveyor Systems", "Granite Mills",
	"Lakeshore Dairy Co-op", "Ironwood Fabrication", "Prairie Grain Elevator",
	"Oakdale Boiler Works", "Silver Creek Bottling", "Timberline Sawmill",
	"Westgate HVAC", "Copper Hill Mining", "Bayview Cold Storage",
	"Redstone Aggregates", "Maple Leaf Printing", "Eastport Marine",
	"Sunrise Greenhouses", "Pinecrest Paper", "Clearwater Pumps",
	"Foxglove Pharma"
};
#define DEMO_NCUSTOMERS (sizeof(demo_customers) / sizeof(demo_customers[0]))

typedef struct demo {
	char dir[PATH_MAX];
	char master[PATH_MAX];
	demo_user u[DEMO_NUSERS];
	time_t today;
	hs_catalog_stats catalog;
	char q1[HS_APP_QUOTE_ID_MAX], q2[HS_APP_QUOTE_ID_MAX];
	char q3[HS_APP_QUOTE_ID_MAX], q4[HS_APP_QUOTE_ID_MAX];
	json_t *conflicts; /* distinct conflicts seen by all replicas */
	int checks, failed;
	char err[1024];
} demo;

static void demo_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void demo_step(const char *fmt, ...)
{
	va_list ap;

	printf("\n");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void demo_say(const char *fmt, ...)
{
	va_list ap;

	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Record an expected outcome; a failed one makes the demo exit non-zero. */
static void demo_check(demo *d, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void demo_check(demo *d, int ok, const char *fmt, ...)
{
	va_list ap;

	d->checks++;
	if (!ok)
		d->failed++;
	printf("  %s  ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Print what one sync of each listed user did: "alice +3 -1 (1 conflict)"
 * (+ pushed, - pulled). */
static void demo_say_syncs(demo *d, int only)
{
	char line[512];
	size_t o = 0;
	int i;

	for (i = 0; i < DEMO_NUSERS; i++) {
		demo_user *u = &d->u[i];

		if ((only >= 0 && i != only) || (only < 0 && !u->online))
			continue;
		o += (size_t)snprintf(line + o, sizeof(line) - o,
				      "%s%s pushed %lld pulled %lld", o ? ", " : "",
				      u->name, (long long)u->last_pushed,
				      (long long)u->last_pulled);
		if (o < sizeof(line) && u->last_conflicts)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
					      " (%lld conflict%s)",
					      (long long)u->last_conflicts,
					      u->last_conflicts == 1 ? "" : "s");
		if (o >= sizeof(line))
			break;
	}
	demo_say("sync: %s", line);
}

/* One sync of every online user, in a fixed order; print it if `say`. */
static int demo_sync_round(demo *d, int say)
{
	int i;

	for (i = 0; i < DEMO_NUSERS; i++)
		if (d->u[i].online &&
		    demo_user_sync(&d->u[i], d->err, sizeof(d->err)) < 0)
			return -1;
	if (say)
		demo_say_syncs(d, -1);
	return 0;
}

static int demo_load_customers(demo *d)
{
	size_t i;

	for (i = 0; i < DEMO_NCUSTOMERS; i++)
		if (hs_app_exec(d->u[ALICE].app, d->err, sizeof(d->err),
				"INSERT INTO customers (customerCode, "
				"customerName, created_at, updated_at) VALUES "
				"('%03d', %Q, " HS_APP_NOW ", " HS_APP_NOW ")",
				(int)i + 1, demo_customers[i]) < 0)
			return -1;
	return 0;
}

/*
 * user starts a quote for customer ccc: a quotes row and the
 * generated_numbers row the app keeps for every number it hands out.
 */
static int demo_new_quote(demo *d, int user, const char *ccc,
			  const char *codes, const char *project, char *id)
{
	demo_user *u = &d->u[user];
	char main_id[HS_APP_QUOTE_ID_MAX];

	hs_app_quote_main_id(main_id, d->today, ccc);
	hs_app_quote_id(id, d->today, ccc, codes, u->nn_next++);
	if (demo_user_write(u, d->err, sizeof(d->err),
			    "INSERT INTO quotes (quoteId, projectName, customer,"
			    " salesRep, projectCodes, pricing, bom, created_at,"
			    " updated_at) VALUES (%Q, %Q, %Q, %Q, %Q, "
			    "'{\"margin\":0.20}', '[]', " HS_APP_NOW ", "
			    HS_APP_NOW ")", id, project, ccc, u->name,
			    codes) < 0 ||
	    demo_user_write(u, d->err, sizeof(d->err),
			    "INSERT INTO generated_numbers (type, mainId, fullId,"
			    " customerCode, customerName, industry, product,"
			    " control, scope, generated_at, created_at,"
			    " updated_at) SELECT 'quote', %Q, %Q, customerCode,"
			    " customerName, substr(%Q, 1, 1), substr(%Q, 2, 1),"
			    " substr(%Q, 3, 1), substr(%Q, 4, 1), "
			    HS_APP_NOW ", " HS_APP_NOW ", " HS_APP_NOW
			    " FROM customers WHERE customerCode = %Q",
			    main_id, id, codes, codes, codes, codes, ccc) < 0)
		return -1;
	return 0;
}

/* An app update of one column of one quote, as the quote editor saves. */
static int demo_edit_quote(demo *d, int user, const char *id,
			   const char *column, const char *value)
{
	return demo_user_write(&d->u[user], d->err, sizeof(d->err),
			       "UPDATE quotes SET \"%w\" = %Q, updated_at = "
			       HS_APP_NOW " WHERE quoteId = %Q", column, value,
			       id);
}

static int demo_set_price(demo *d, int user, const char *sku, double price)
{
	return demo_user_write(&d->u[user], d->err, sizeof(d->err),
			       "UPDATE components SET price = %.2f, "
			       "lastPriceUpdate = strftime('%%m/%%d/%%Y', 'now'),"
			       " updated_at = " HS_APP_NOW " WHERE sku = %Q",
			       price, sku);
}

static int demo_setup(demo *d)
{
	int i;

	demo_step("1. Five PCs install Craft Tools Hub; alice imports the "
		  "price list");
	for (i = 0; i < DEMO_NUSERS; i++)
		if (demo_user_install(&d->u[i], d->dir, demo_names[i], i,
				      d->err, sizeof(d->err)) < 0)
			return -1;
	demo_say("5 databases with the app's 7 tables and the same 3 seed "
		 "sub-assemblies");
	if (hs_catalog_load(d->u[ALICE].app, (const char *)hs_catalog_csv,
			    hs_catalog_csv_len, &d->catalog, d->err,
			    sizeof(d->err)) < 0 ||
	    demo_load_customers(d) < 0)
		return -1;
	demo_say("catalog: %d rows read, %d components; %d rows without a part "
		 "number skipped, %d repeated part numbers (last row kept), "
		 "%d prices empty and %d not an amount (stored as NULL)",
		 d->catalog.rows, d->catalog.components, d->catalog.no_sku,
		 d->catalog.repeated, d->catalog.price_empty,
		 d->catalog.price_bad);
	demo_say("customers: %d", (int)DEMO_NCUSTOMERS);

	demo_step("2. Everyone starts hubsync (init, master %s) and syncs",
		  d->master);
	for (i = 0; i < DEMO_NUSERS; i++)
		if (demo_user_init(&d->u[i], d->master, d->err,
				   sizeof(d->err)) < 0 ||
		    demo_user_sync(&d->u[i], d->err, sizeof(d->err)) < 0)
			return -1;
	demo_say_syncs(d, -1);
	return 0;
}

static int demo_quotes(demo *d)
{
	char v[64];

	demo_step("3. alice, bob and dave start quotes; everyone syncs twice");
	if (demo_new_quote(d, ALICE, "003", "1210",
			   "Pump station 4 control panel", d->q1) < 0 ||
	    demo_new_quote(d, BOB, "007", "3120", "Conveyor line retrofit",
			   d->q2) < 0 ||
	    demo_new_quote(d, DAVE, "012", "2201", "Boiler room PLC upgrade",
			   d->q3) < 0)
		return -1;
	demo_say("quote 1 %s (alice), quote 2 %s (bob), quote 3 %s (dave)",
		 d->q1, d->q2, d->q3);
	demo_say("(ids CA{YY}{MM}{DD}{customer}-{codes}-{NN}: for now each "
		 "user numbers NN from its own block, alice 00-19, bob 20-39, "
		 "carol 40-59, dave 60-79, erin 80-99, so ids are unique by "
		 "construction)");
	if (demo_sync_round(d, 1) < 0 || demo_sync_round(d, 1) < 0)
		return -1;
	demo_user_value(&d->u[ERIN], v, sizeof(v),
			"SELECT count(*) FROM components");
	demo_check(d, atoi(v) == d->catalog.components,
		   "erin has the whole catalog (%s components)", v);
	demo_check(d, strcmp(demo_user_value(&d->u[CAROL], v, sizeof(v),
			"SELECT count(*) FROM quotes"), "3") == 0,
		   "carol sees the 3 quotes");

	demo_step("4. Four people edit quote 1 at the same time, then "
		  "everyone syncs twice");
	if (demo_edit_quote(d, BOB, d->q1, "projectName",
			    "Pump station 4 - phase 2") < 0 ||
	    demo_edit_quote(d, CAROL, d->q1, "status", "sent") < 0 ||
	    demo_edit_quote(d, DAVE, d->q1, "pricing",
			    "{\"margin\":0.25,\"total\":41250.00}") < 0 ||
	    demo_edit_quote(d, ERIN, d->q1, "pricing",
			    "{\"margin\":0.30,\"total\":44000.00}") < 0)
		return -1;
	demo_say("bob renames it, carol marks it sent (different fields); "
		 "dave, then erin, reprice it (same field)");
	return demo_sync_round(d, 1) < 0 || demo_sync_round(d, 1) < 0 ? -1 : 0;
}

/*
 * u's sync while the share is not mounted (the master folder renamed away
 * for the moment): it must fail with a message, log an error in sync_log,
 * and change nothing; the app keeps working.
 */
static int demo_unmounted_sync(demo *d, demo_user *u)
{
	char nas[PATH_MAX], away[PATH_MAX], msg[1024];
	char *hist = NULL;
	json_t *h;
	int failed;

	if ((size_t)snprintf(nas, sizeof(nas), "%s/" HS_DEMO_FOLDER_NAS,
			     d->dir) >= sizeof(nas) ||
	    (size_t)snprintf(away, sizeof(away), "%s/" HS_DEMO_FOLDER_NAS_AWAY,
			     d->dir) >= sizeof(away) ||
	    rename(nas, away) != 0) {
		snprintf(d->err, sizeof(d->err), "cannot rename %.200s/"
			 HS_DEMO_FOLDER_NAS " away: %s", d->dir,
			 strerror(errno));
		return -1;
	}
	failed = demo_user_sync(u, msg, sizeof(msg)) < 0;
	if (rename(away, nas) != 0) {
		snprintf(d->err, sizeof(d->err), "cannot rename %.200s back to "
			 "%.200s: %s", away, nas, strerror(errno));
		return -1;
	}
	demo_say("%s tries to sync while the share is not mounted", u->name);
	demo_say("-> %s", failed ? msg : "it did not fail");
	if (hs_replica_history_json(u->rep, 1, &hist) == 0)
		h = json_loads(hist, 0, NULL);
	else
		h = NULL;
	demo_check(d, failed && strcmp(demo_json_str(json_array_get(h, 0),
						"status"), "error") == 0,
		   "the failed sync is in %s's sync_log with status error",
		   u->name);
	json_decref(h);
	hs_free(hist);
	return 0;
}

static int demo_offline(demo *d)
{
	demo_user *carol = &d->u[CAROL];
	char project[HS_APP_QUOTE_ID_MAX];

	demo_step("5. carol works offline for three rounds");
	carol->online = 0;
	if (demo_edit_quote(d, CAROL, d->q2, "salesRep", "carol") < 0 ||
	    demo_new_quote(d, CAROL, "007", "3121",
			   "Conveyor line spare panel", d->q4) < 0 ||
	    demo_set_price(d, CAROL, "CSD16126", 181.00) < 0 ||
	    demo_edit_quote(d, CAROL, d->q3, "projectName",
			    "Boiler room PLC upgrade (rev B)") < 0)
		return -1;
	demo_say("carol (offline): takes over quote 2, starts quote 4 %s for "
		 "the same customer and day as quote 2, reprices CSD16126 to "
		 "$181.00, renames quote 3", d->q4);
	if (demo_unmounted_sync(d, carol) < 0)
		return -1;

	if (demo_edit_quote(d, ALICE, d->q2, "bom",
			    "[{\"sku\":\"CSD16126\",\"qty\":2}]") < 0 ||
	    demo_set_price(d, BOB, "CSD16126", 185.50) < 0)
		return -1;
	demo_say("round 1: alice edits quote 2's BOM; bob reprices CSD16126 "
		 "to $185.50 (after carol did, offline)");
	if (demo_sync_round(d, 1) < 0)
		return -1;

	if (demo_edit_quote(d, DAVE, d->q3, "status", "won") < 0 ||
	    demo_user_write(&d->u[ERIN], d->err, sizeof(d->err),
			    "DELETE FROM quotes WHERE quoteId = %Q", d->q3) < 0)
		return -1;
	demo_say("round 2: dave marks quote 3 won while erin deletes it");
	if (demo_sync_round(d, 1) < 0)
		return -1;

	hs_app_project_number(project, d->today, "4471", "003");
	if (demo_user_write(&d->u[ALICE], d->err, sizeof(d->err),
			    "UPDATE customers SET isActive = 0, updated_at = "
			    HS_APP_NOW " WHERE customerCode = '020'") < 0 ||
	    demo_user_write(&d->u[ALICE], d->err, sizeof(d->err),
			    "DELETE FROM components WHERE sku = 'A8P6G'") < 0 ||
	    demo_user_write(&d->u[DAVE], d->err, sizeof(d->err),
			    "INSERT INTO projects (id, projectNumber, "
			    "quoteNumber, projectName, customer, industry, "
			    "product, control, scope, poNumber, created_at, "
			    "updated_at) VALUES (%Q, %Q, %Q, "
			    "'Pump station 4 - phase 2', '003', '1', '2', '1', "
			    "'0', '4471-A', " HS_APP_NOW ", " HS_APP_NOW ")",
			    project, project, d->q1) < 0 ||
	    demo_user_write(&d->u[DAVE], d->err, sizeof(d->err),
			    "INSERT INTO generated_numbers (type, mainId, "
			    "fullId, customerCode, poNumber, generated_at) "
			    "SELECT 'project', projectNumber, projectNumber, "
			    "customer, poNumber, " HS_APP_NOW " FROM projects "
			    "WHERE quoteNumber = %Q", d->q1) < 0 ||
	    demo_user_write(&d->u[BOB], d->err, sizeof(d->err),
			    "INSERT INTO manual_quotes (quoteNumber, type, data,"
			    " projectName, customer) VALUES ('MQ-BOB-001', "
			    "'margin_calculation', '{\"cost\":1200,\"margin\":"
			    "0.3}', 'Spare parts', '007')") < 0 ||
	    demo_user_write(&d->u[ERIN], d->err, sizeof(d->err),
			    "INSERT INTO manual_quotes (quoteNumber, type, data,"
			    " projectName, customer) VALUES ('MQ-ERIN-001', "
			    "'bom', '[]', 'Field service kit', '012')") < 0)
		return -1;
	demo_say("round 3: alice retires customer 020 and deletes part A8P6G; "
		 "dave opens project %s from quote 1; bob and erin each add a "
		 "manual quote (both get id 1 locally)", project);
	if (demo_sync_round(d, 1) < 0)
		return -1;

	carol->online = 1;
	demo_say("carol is back online and syncs");
	if (demo_user_sync(carol, d->err, sizeof(d->err)) < 0)
		return -1;
	demo_say_syncs(d, CAROL);
	return 0;
}

/* The outcomes the script expects, read from alice's replica (the others
 * are compared with hers afterwards). */
static void demo_expectations(demo *d)
{
	demo_user *a = &d->u[ALICE];
	char v[160], w[160];
	size_t i;
	int seed_conflict = 0;
	json_t *c;

	printf("\nChecks:\n");
	demo_user_value(a, v, sizeof(v), "SELECT projectName || ' / ' || status"
			" FROM quotes WHERE quoteId = %Q", d->q1);
	demo_check(d, strcmp(v, "Pump station 4 - phase 2 / sent") == 0,
		   "quote 1 keeps bob's name and carol's status: %s", v);
	demo_user_value(a, v, sizeof(v), "SELECT pricing FROM quotes WHERE "
			"quoteId = %Q", d->q1);
	demo_check(d, strstr(v, "0.30") != NULL,
		   "quote 1 pricing is erin's (the later edit): %s", v);
	demo_check(d, demo_report_find(d->conflicts, "quotes", d->q1, "pricing") != NULL,
		   "dave's pricing of quote 1 is listed as a conflict");
	demo_user_value(a, v, sizeof(v), "SELECT salesRep || ' / ' || bom FROM "
			"quotes WHERE quoteId = %Q", d->q2);
	demo_check(d, strncmp(v, "carol / [{\"sku\":\"CSD16126\"", 26) == 0,
		   "quote 2 keeps carol's offline edit and alice's BOM: %s", v);
	demo_user_value(a, v, sizeof(v), "SELECT count(*) FROM quotes WHERE "
			"quoteId = %Q", d->q4);
	demo_check(d, strcmp(v, "1") == 0 && strcmp(d->q2, d->q4) != 0 &&
			      strncmp(d->q2, d->q4, 11) == 0,
		   "carol's offline quote %s arrived; same customer and day as "
		   "%s, different number", d->q4, d->q2);
	demo_user_value(a, v, sizeof(v), "SELECT printf('%%.2f', price) FROM "
			"components WHERE sku = 'CSD16126'");
	demo_check(d, strcmp(v, "185.50") == 0 &&
			      demo_report_find(d->conflicts, "components", "CSD16126",
						 "price") != NULL,
		   "CSD16126 costs bob's $%s (edited after carol's, though "
		   "carol synced last); carol's price is listed", v);
	demo_user_value(a, v, sizeof(v), "SELECT count(*) FROM quotes WHERE "
			"quoteId = %Q", d->q3);
	demo_check(d, strcmp(v, "0") == 0 &&
			      demo_report_find(d->conflicts, "quotes", d->q3, NULL),
		   "quote 3 is deleted everywhere; the concurrent update is "
		   "listed as a conflict");
	demo_user_value(a, v, sizeof(v), "SELECT (SELECT isActive FROM customers"
			" WHERE customerCode = '020') || ' / ' || (SELECT "
			"count(*) FROM components WHERE sku = 'A8P6G')");
	demo_check(d, strcmp(v, "0 / 0") == 0,
		   "customer 020 inactive and part A8P6G deleted: %s", v);
	demo_user_value(a, v, sizeof(v), "SELECT count(*) || ' / ' || "
			"count(DISTINCT fullId) FROM generated_numbers");
	demo_user_value(a, w, sizeof(w), "SELECT count(*) FROM manual_quotes");
	demo_check(d, strcmp(v, "5 / 5") == 0 && strcmp(w, "2") == 0,
		   "all 5 generated numbers (%s distinct) and both manual "
		   "quotes (%s) kept, though made offline with the same ids",
		   v, w);
	json_array_foreach(d->conflicts, i, c)
		if (strcmp(demo_json_str(c, "table"), "sub_assemblies") == 0)
			seed_conflict = 1;
	demo_check(d, !seed_conflict,
		   "the seed rows every install wrote are no conflict");
}

/* Compare every table across the master and the five replicas. */
static int demo_converged(demo *d)
{
	sqlite3 *dbs[DEMO_NUSERS + 1];
	const char *names[DEMO_NUSERS + 1];
	sqlite3 *master = NULL;
	char why[512], counts[512] = "";
	int64_t rows;
	size_t o = 0;
	int i, t, rc = 0, intact = 1;

	if (sqlite3_open_v2(d->master, &master, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		demo_check(d, 0, "cannot open the master %s: %s", d->master,
			   sqlite3_errmsg(master));
		sqlite3_close(master);
		return 1;
	}
	names[0] = "master";
	dbs[0] = master;
	for (i = 0; i < DEMO_NUSERS; i++) {
		names[i + 1] = d->u[i].name;
		dbs[i + 1] = d->u[i].app;
	}
	for (i = 0; i <= DEMO_NUSERS; i++) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(dbs[i], "PRAGMA integrity_check", -1,
				       &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
			intact = 0;
		sqlite3_finalize(st);
	}
	demo_check(d, intact, "PRAGMA integrity_check is ok on all 6 files");

	for (t = 0; hs_app_tables[t]; t++) {
		int r = hs_converge_table(dbs, names, DEMO_NUSERS + 1,
					  hs_app_tables[t], &rows, why,
					  sizeof(why));
		if (r != 0) {
			printf("  differs: %s\n", why);
			rc = 1;
			continue;
		}
		o += (size_t)snprintf(counts + o, sizeof(counts) - o,
				      "%s%s %lld", o ? ", " : "",
				      hs_app_tables[t], (long long)rows);
		if (o >= sizeof(counts))
			o = sizeof(counts) - 1;
	}
	if (rc == 0)
		printf("  rows per table: %s\n", counts);
	sqlite3_close(master);
	return rc;
}

static double demo_elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int hs_demo_run(const char *dir)
{
	demo *d;
	struct timespec t0;
	int i, rc = -1, differs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->conflicts = json_array())) {
		fprintf(stderr, "hubsync demo: out of memory\n");
		free(d);
		return -1;
	}
	d->today = time(NULL);
	if (dir) {
		if ((size_t)snprintf(d->dir, sizeof(d->dir), "%s", dir) >=
		    sizeof(d->dir)) {
			snprintf(d->err, sizeof(d->err), "demo folder path too "
				 "long: %s", dir);
			goto cleanup;
		}
	} else if (hs_demo_folder_make_temp(d->dir, sizeof(d->dir), d->err,
					    sizeof(d->err)) < 0) {
		goto cleanup;
	}
	if (hs_demo_folder_prepare(d->dir, demo_names, d->err,
				   sizeof(d->err)) < 0)
		goto cleanup;
	if ((size_t)snprintf(d->master, sizeof(d->master), "%s/"
			     HS_DEMO_FOLDER_NAS "/server.db", d->dir) >=
	    sizeof(d->master)) {
		snprintf(d->err, sizeof(d->err), "demo folder path too long: "
			 "%.200s", d->dir);
		goto cleanup;
	}

	printf("hubsync demo: 5 users of Craft Tools Hub, one master on the "
	       "\"NAS\"\nfolder: %s\n", d->dir);
	if (demo_setup(d) < 0 || demo_quotes(d) < 0 || demo_offline(d) < 0)
		goto cleanup;

	demo_step("6. Everyone syncs twice");
	if (demo_sync_round(d, 1) < 0 || demo_sync_round(d, 1) < 0)
		goto cleanup;
	for (i = 0; i < DEMO_NUSERS; i++)
		if (demo_report_collect(d->conflicts, &d->u[i], d->err,
					 sizeof(d->err)) < 0)
			goto cleanup;

	demo_report_users(d->u, DEMO_NUSERS);
	demo_report_conflicts(d->conflicts);
	demo_expectations(d);
	differs = demo_converged(d);
	printf("\nall 6 databases identical: %s\n", differs ? "no" : "yes");
	printf("%d of %d checks passed; demo took %.2f s; databases in %s\n",
	       d->checks - d->failed, d->checks, demo_elapsed(&t0), d->dir);
	rc = differs || d->failed ? 1 : 0;

cleanup:
	if (rc < 0)
		fprintf(stderr, "hubsync demo: %s\n", d->err);
	for (i = 0; i < DEMO_NUSERS; i++)
		demo_user_close(&d->u[i]);
	json_decref(d->conflicts);
	free(d);
	return rc;
}
