/*
 * demo.c - `hubsync demo`: a day at a small automation company (demo.h).
 *
 * Five people use Craft Tools Hub, each on their own PC with their own
 * SQLite file; the master sits on the NAS. The script:
 *
 *   1. every PC installs the app (schema + the same seed rows);
 *      alice loads the component catalog and the customer list;
 *   2. everyone starts hubsync (init) and syncs: the catalog reaches all;
 *      each PC takes its first quote number while online, which reserves
 *      its first block of numbers;
 *   3. alice, bob and dave each start a quote; everyone syncs;
 *   4. four people edit quote 1 at the same time: bob and carol different
 *      fields (both kept), dave and erin different members of the same
 *      JSON field, pricing (alice set pricing and bom to merge inside their
 *      JSON at step 2: both kept, no conflict);
 *   5. carol works offline for three rounds: the share is not mounted on
 *      her PC while she starts a quote (its number comes from her own
 *      block, the master is never asked) and edits others; her one sync
 *      attempt fails with a clear error, logged, nothing changed. The
 *      others keep editing (alice changes a quantity in quote 2's BOM
 *      while bob adds a line to it: both kept), deleting (erin deletes a
 *      quote dave is updating: delete vs update) and creating numbers, and
 *      bob and erin
 *      each add a manual quote that gets id 1 on their PC; then carol comes
 *      back and syncs;
 *   6. everyone syncs twice; the demo checks the outcomes it expects, that
 *      every quote id is distinct, that rows made with an id another PC
 *      had already used got new ids (integer keys re-keyed at push), and
 *      that all six databases hold identical rows, and prints a report.
 *
 * Quote ids follow the app, CA{YY}{MM}{DD}{CCC}-{industry}{product}
 * {control}{scope}-{NN}, and the app's NN has two digits. NN is the
 * user's next number of the office-wide numbered series "quote"
 * (hs_replica_number_next, see user.h) modulo 100. The series number is
 * unique across PCs even offline: each PC draws from blocks it reserved
 * from the master while online (20 numbers by default, ample for carol's
 * offline draw). Two digits are where that uniqueness ends: two quotes of
 * one customer, day and options get the same full id when their series
 * numbers differ by a multiple of 100. Blocks make that possible sooner
 * than after 100 quotes: a PC still drawing from an old block (106) and one
 * with a fresh block (506) can hand out the same NN on the same day. The
 * demo's few quotes stay far from it; an app with many quotes a day should
 * look its new id up among the quotes it has and draw again when taken, or
 * use more digits.
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
#include "platform.h"
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

/*
 * A row the demo made in a table with an INTEGER PRIMARY KEY: the id it got
 * on its PC, and what finds it again wherever its id ends up (a column
 * holding a value unique to it).
 */
typedef struct demo_row {
	int user;
	const char *table, *col;
	char value[HS_APP_QUOTE_ID_MAX];
	int64_t id;
} demo_row;

#define DEMO_MAX_ROWS 16
#define DEMO_MAX_QUOTES 8

typedef struct demo {
	char dir[PATH_MAX];
	char master[PATH_MAX];
	demo_user u[DEMO_NUSERS];
	time_t today;
	hs_catalog_stats catalog;
	char q1[HS_APP_QUOTE_ID_MAX], q2[HS_APP_QUOTE_ID_MAX];
	char q3[HS_APP_QUOTE_ID_MAX], q4[HS_APP_QUOTE_ID_MAX];
	char quote_ids[DEMO_MAX_QUOTES][HS_APP_QUOTE_ID_MAX]; /* all made */
	int nquotes;
	demo_row rows[DEMO_MAX_ROWS];
	int nrows;
	/* The master and the five replicas, for the final checks. */
	sqlite3 *db[DEMO_NUSERS + 1];
	const char *db_name[DEMO_NUSERS + 1];
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

/* Remember the row of table whose col holds value, just made by user,
 * with the id it got on the user's PC. */
static int demo_note_row(demo *d, int user, const char *table,
			 const char *col, const char *value)
{
	demo_row *row = &d->rows[d->nrows];
	char id[32], *end;

	if (d->nrows == DEMO_MAX_ROWS) {
		snprintf(d->err, sizeof(d->err), "the demo notes at most %d "
			 "rows", DEMO_MAX_ROWS);
		return -1;
	}
	demo_user_value(&d->u[user], id, sizeof(id), "SELECT id FROM \"%w\" "
			"WHERE \"%w\" = %Q", table, col, value);
	row->id = strtoll(id, &end, 10);
	if (*end || end == id) {
		snprintf(d->err, sizeof(d->err), "%s: the %s row %s is not "
			 "there: %s", d->u[user].name, table, value, id);
		return -1;
	}
	row->user = user;
	row->table = table;
	row->col = col;
	snprintf(row->value, sizeof(row->value), "%s", value);
	d->nrows++;
	return 0;
}

/*
 * user starts a quote for customer ccc: a quotes row and the
 * generated_numbers row the app keeps for every number it hands out. The
 * quote's NN is the user's next "quote" number modulo 100 (see the top of
 * this file).
 */
static int demo_new_quote(demo *d, int user, const char *ccc,
			  const char *codes, const char *project, char *id)
{
	demo_user *u = &d->u[user];
	char main_id[HS_APP_QUOTE_ID_MAX];
	int64_t number;

	if (d->nquotes == DEMO_MAX_QUOTES) {
		snprintf(d->err, sizeof(d->err), "the demo makes at most %d "
			 "quotes", DEMO_MAX_QUOTES);
		return -1;
	}
	if (demo_user_quote_number(u, &number, d->err, sizeof(d->err)) < 0)
		return -1;
	hs_app_quote_main_id(main_id, d->today, ccc);
	hs_app_quote_id(id, d->today, ccc, codes, (int)(number % 100));
	snprintf(d->quote_ids[d->nquotes++], HS_APP_QUOTE_ID_MAX, "%s", id);
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
	return demo_note_row(d, user, "generated_numbers", "fullId", id);
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

/* Every user takes a first quote number while the share is reachable:
 * the PC reserves its first block of the series (user.h). */
static int demo_ready_numbers(demo *d)
{
	char line[256];
	size_t o = 0;
	int i;

	for (i = 0; i < DEMO_NUSERS; i++) {
		if (demo_user_ready_quote_number(&d->u[i], d->err,
						 sizeof(d->err)) < 0)
			return -1;
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %lld",
				      i ? ", " : "", d->u[i].name,
				      (long long)d->u[i].quote_ready);
		if (o >= sizeof(line))
			o = sizeof(line) - 1;
	}
	demo_say("each PC takes its first quote number while online, which "
		 "reserves it a block of 20: %s", line);
	return 0;
}

/* alice's `hubsync merge DB quotes.pricing json` and `... quotes.bom json
 * --key sku`: office-wide, from her next sync. */
static int demo_json_columns(demo *d)
{
	hs_replica *r = d->u[ALICE].rep;
	if (hs_replica_merge_set(r, "quotes", "pricing", HS_MERGE_JSON, NULL) !=
		    0 ||
	    hs_replica_merge_set(r, "quotes", "bom", HS_MERGE_JSON, "sku") != 0) {
		snprintf(d->err, sizeof(d->err), "hubsync merge: %s",
			 hs_replica_errmsg(r));
		return -1;
	}
	return 0;
}

static int demo_setup(demo *d)
{
	int i;

	demo_step("1. Five PCs install Craft Tools Hub; alice imports the "
		  "price list");
	for (i = 0; i < DEMO_NUSERS; i++)
		if (demo_user_install(&d->u[i], d->dir, demo_names[i], d->err,
				      sizeof(d->err)) < 0)
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
		    (i == ALICE && demo_json_columns(d) < 0) ||
		    demo_user_sync(&d->u[i], d->err, sizeof(d->err)) < 0)
			return -1;
	demo_say("alice sets quotes.pricing and quotes.bom (lines told apart "
		 "by sku) to merge inside their JSON (hubsync merge); the "
		 "setting reaches everyone with their syncs");
	demo_say_syncs(d, -1);
	return demo_ready_numbers(d);
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
	demo_say("(ids CA{YY}{MM}{DD}{customer}-{codes}-{NN}: NN is the user's "
		 "number of the office-wide quote series, modulo 100; each PC "
		 "draws from its own block, so numbers never repeat across PCs, "
		 "even offline)");
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
			    "{\"margin\":0.25}") < 0 ||
	    demo_edit_quote(d, ERIN, d->q1, "pricing",
			    "{\"margin\":0.20,\"total\":44000.00}") < 0)
		return -1;
	demo_say("bob renames it, carol marks it sent (different fields); "
		 "in its pricing (JSON, {\"margin\":0.20}) dave sets the margin "
		 "to 0.25 while erin sets the total to 44000.00");
	return demo_sync_round(d, 1) < 0 || demo_sync_round(d, 1) < 0 ? -1 : 0;
}

/* The share mounted or not: the master's folder in place, or renamed
 * away for the moment. Returns 0, or -1 with d->err set. */
static int demo_share(demo *d, int mounted)
{
	char nas[PATH_MAX], away[PATH_MAX];
	const char *from = mounted ? away : nas, *to = mounted ? nas : away;

	if ((size_t)snprintf(nas, sizeof(nas), "%s/" HS_DEMO_FOLDER_NAS,
			     d->dir) >= sizeof(nas) ||
	    (size_t)snprintf(away, sizeof(away), "%s/" HS_DEMO_FOLDER_NAS_AWAY,
			     d->dir) >= sizeof(away) ||
	    hs_os_rename(from, to) != 0) {
		snprintf(d->err, sizeof(d->err), "cannot rename %.200s to "
			 "%.200s: %s", from, to, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * u's sync while the share is not mounted: it must fail with a message,
 * log an error in sync_log, and change nothing; the app keeps working.
 */
static void demo_unmounted_sync(demo *d, demo_user *u)
{
	char msg[1024];
	char *hist = NULL;
	json_t *h;
	int failed;

	failed = demo_user_sync(u, msg, sizeof(msg)) < 0;
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
}

/*
 * carol's offline work, while the share is not mounted on her PC: her new
 * quote's number comes from the block her PC holds (were the master
 * needed, the draw would fail and stop the demo).
 */
static int demo_carol_offline(demo *d)
{
	demo_user *carol = &d->u[CAROL];
	int64_t ready = carol->quote_ready;

	if (demo_edit_quote(d, CAROL, d->q2, "salesRep", "carol") < 0 ||
	    demo_new_quote(d, CAROL, "007", "3121",
			   "Conveyor line spare panel", d->q4) < 0 ||
	    demo_set_price(d, CAROL, "CSD16126", 181.00) < 0 ||
	    demo_edit_quote(d, CAROL, d->q3, "projectName",
			    "Boiler room PLC upgrade (rev B)") < 0)
		return -1;
	demo_say("carol (offline, the share not mounted on her PC): takes over "
		 "quote 2, starts quote 4 %s for the same customer and day as "
		 "quote 2 (number %lld; her next, %lld, drawn offline from her "
		 "PC's block), reprices CSD16126 to $181.00, renames quote 3",
		 d->q4, (long long)ready, (long long)carol->quote_ready);
	demo_unmounted_sync(d, carol);
	return 0;
}

static int demo_offline(demo *d)
{
	demo_user *carol = &d->u[CAROL];
	char project[HS_APP_QUOTE_ID_MAX];
	int rc;

	demo_step("5. carol works offline for three rounds");
	carol->online = 0;
	if (demo_share(d, 0) < 0)
		return -1;
	rc = demo_carol_offline(d);
	if (demo_share(d, 1) < 0 || rc < 0)
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
			    "DELETE FROM quotes WHERE quoteId = %Q", d->q3) < 0 ||
	    demo_edit_quote(d, ALICE, d->q2, "bom",
			    "[{\"sku\":\"CSD16126\",\"qty\":3}]") < 0 ||
	    demo_edit_quote(d, BOB, d->q2, "bom",
			    "[{\"sku\":\"CSD16126\",\"qty\":2},"
			    "{\"sku\":\"CP1612G\",\"qty\":1}]") < 0)
		return -1;
	demo_say("round 2: dave marks quote 3 won while erin deletes it; in "
		 "quote 2's BOM (JSON) alice raises CSD16126 to 3 while bob adds "
		 "a line, the subpanel CP1612G");
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
			    "'bom', '[]', 'Field service kit', '012')") < 0 ||
	    demo_note_row(d, DAVE, "generated_numbers", "fullId", project) < 0 ||
	    demo_note_row(d, BOB, "manual_quotes", "quoteNumber",
			  "MQ-BOB-001") < 0 ||
	    demo_note_row(d, ERIN, "manual_quotes", "quoteNumber",
			  "MQ-ERIN-001") < 0)
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
	demo_check(d, strcmp(v, "{\"margin\":0.25,\"total\":44000.0}") == 0 &&
			      !demo_report_find(d->conflicts, "quotes", d->q1,
						"pricing") &&
			      !demo_report_find(d->conflicts, "quotes", d->q1,
						"pricing.margin") &&
			      !demo_report_find(d->conflicts, "quotes", d->q1,
						"pricing.total"),
		   "quote 1 pricing keeps dave's margin and erin's total, no "
		   "conflict: %s", v);
	demo_user_value(a, v, sizeof(v), "SELECT salesRep || ' / ' || bom FROM "
			"quotes WHERE quoteId = %Q", d->q2);
	demo_check(d, strcmp(v, "carol / [{\"qty\":3,\"sku\":\"CSD16126\"},"
			     "{\"qty\":1,\"sku\":\"CP1612G\"}]") == 0,
		   "quote 2 keeps carol's offline edit, alice's quantity and "
		   "bob's BOM line: %s", v);
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

/*
 * The rows the demo noted that got a new id: made with an id another PC had
 * already used (offline, or before their PC had synced that PC's row), so
 * the master re-keyed them at push. Every noted row must still be there.
 */
static void demo_new_ids(demo *d)
{
	int i, moved = 0, moved_gen = 0, moved_manual = 0, lost = 0;
	char v[32];

	for (i = 0; i < d->nrows; i++) {
		demo_row *row = &d->rows[i];

		demo_user_value(&d->u[ALICE], v, sizeof(v), "SELECT id FROM "
				"\"%w\" WHERE \"%w\" = %Q", row->table,
				row->col, row->value);
		if (strcmp(v, "(no row)") == 0) {
			lost++;
			continue;
		}
		if (strtoll(v, NULL, 10) == row->id)
			continue;
		moved++;
		if (strcmp(row->table, "generated_numbers") == 0)
			moved_gen++;
		else
			moved_manual++;
		demo_say("%s's %s row %s: made as id %lld, now id %s",
			 d->u[row->user].name, row->table, row->value,
			 (long long)row->id, v);
	}
	demo_check(d, !lost && moved_gen > 0 && moved_manual > 0,
		   "%d rows made with an id another PC had already used "
		   "(offline or before syncing) got new ids: generated_numbers "
		   "%d, manual_quotes %d; %d of %d rows kept", moved, moved_gen,
		   moved_manual, d->nrows - lost, d->nrows);
}

/* Why the quote ids in db are not as made (into why), or nothing. */
static void demo_quote_ids_in(demo *d, sqlite3 *db, const char *name,
			      char *why, size_t whylen)
{
	char v[64];
	int i;

	demo_db_value(db, v, sizeof(v), "SELECT count(*) - count(DISTINCT "
		      "fullId) FROM generated_numbers WHERE type = 'quote'");
	if (strcmp(v, "0") != 0) {
		snprintf(why, whylen, "%s: generated_numbers repeats quote ids "
			 "(%s)", name, v);
		return;
	}
	demo_db_value(db, v, sizeof(v), "SELECT count(*) FROM quotes WHERE "
		      "quoteId NOT IN (SELECT fullId FROM generated_numbers "
		      "WHERE type = 'quote')");
	if (strcmp(v, "0") != 0) {
		snprintf(why, whylen, "%s: %s quotes have no generated number",
			 name, v);
		return;
	}
	for (i = 0; i < d->nquotes; i++) {
		demo_db_value(db, v, sizeof(v), "SELECT count(*) FROM "
			      "generated_numbers WHERE type = 'quote' AND "
			      "fullId = %Q", d->quote_ids[i]);
		if (strcmp(v, "1") != 0) {
			snprintf(why, whylen, "%s: quote id %s is in "
				 "generated_numbers %s times", name,
				 d->quote_ids[i], v);
			return;
		}
	}
}

/* Every quote id made (on any PC) is distinct, and each database holds
 * each once among the generated numbers; every quote is one of them. */
static void demo_quote_ids(demo *d)
{
	char why[512] = "", ids[256] = "";
	size_t o = 0;
	int i, j;

	for (i = 0; i < d->nquotes; i++) {
		for (j = 0; j < i && !*why; j++)
			if (strcmp(d->quote_ids[i], d->quote_ids[j]) == 0)
				snprintf(why, sizeof(why), "%s was made twice",
					 d->quote_ids[i]);
		o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%s",
				      i ? ", " : "", d->quote_ids[i]);
		if (o >= sizeof(ids))
			o = sizeof(ids) - 1;
	}
	for (i = 0; i <= DEMO_NUSERS && !*why; i++)
		demo_quote_ids_in(d, d->db[i], d->db_name[i], why, sizeof(why));
	demo_check(d, !*why, "the %d quote ids made on the PCs are distinct, "
		   "each once in generated_numbers on all 6 databases (%s)%s%s",
		   d->nquotes, ids, *why ? ": " : "", why);
}

/* Open the master (read only) next to the replicas' app connections, as
 * d->db[0], for the final checks. Returns 0 or -1 with d->err set. */
static int demo_open_all(demo *d)
{
	int i;

	if (sqlite3_open_v2(d->master, &d->db[0], SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(d->err, sizeof(d->err), "cannot open the master %.600s: "
			 "%s", d->master, sqlite3_errmsg(d->db[0]));
		return -1;
	}
	d->db_name[0] = "master";
	for (i = 0; i < DEMO_NUSERS; i++) {
		d->db_name[i + 1] = d->u[i].name;
		d->db[i + 1] = d->u[i].app;
	}
	return 0;
}

/* Compare every table across the master and the five replicas. */
static int demo_converged(demo *d)
{
	char why[512], counts[512] = "";
	int64_t rows;
	size_t o = 0;
	int i, t, rc = 0, intact = 1;

	for (i = 0; i <= DEMO_NUSERS; i++) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(d->db[i], "PRAGMA integrity_check", -1,
				       &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
			intact = 0;
		sqlite3_finalize(st);
	}
	demo_check(d, intact, "PRAGMA integrity_check is ok on all 6 files");

	for (t = 0; hs_app_tables[t]; t++) {
		int r = hs_converge_table(d->db, d->db_name, DEMO_NUSERS + 1,
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
	if (demo_open_all(d) < 0)
		goto cleanup;
	demo_expectations(d);
	demo_quote_ids(d);
	printf("\nIds made on PCs that had not seen each other's rows:\n");
	demo_new_ids(d);
	printf("\nConvergence:\n");
	differs = demo_converged(d);
	printf("\nall 6 databases identical: %s\n", differs ? "no" : "yes");
	printf("%d of %d checks passed; demo took %.2f s; databases in %s\n",
	       d->checks - d->failed, d->checks, demo_elapsed(&t0), d->dir);
	rc = differs || d->failed ? 1 : 0;

cleanup:
	if (rc < 0)
		fprintf(stderr, "hubsync demo: %s\n", d->err);
	sqlite3_close(d->db[0]);
	for (i = 0; i < DEMO_NUSERS; i++)
		demo_user_close(&d->u[i]);
	json_decref(d->conflicts);
	free(d);
	return rc;
}
