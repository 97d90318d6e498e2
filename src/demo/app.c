/*
 * app.c - the Craft Tools Hub schema, seed rows and write helpers (app.h).
 *
 * The schema is the original app's (DESIGN.md section 4). Every table has
 * created_at and updated_at; hubsync's `init` adds updated_by and synced_at.
 * The seed rows are written by every install with identical content and
 * fixed timestamps, as an installer would: syncing them must not produce
 * conflicts.
 */
#include "app.h"

#include <stdarg.h>
#include <stdio.h>
#include "platform.h"

const char *const hs_app_tables[] = {
	"components", "customers", "sub_assemblies", "quotes", "projects",
	"manual_quotes", "generated_numbers", NULL
};

static const char app_schema[] =
	"CREATE TABLE components (\n"
	"  sku TEXT PRIMARY KEY,\n"
	"  description TEXT, category TEXT, vendor TEXT, price REAL,\n"
	"  volt INTEGER, phase INTEGER, amps REAL, tags TEXT,\n"
	"  manualLink TEXT, uom TEXT, vndrnum TEXT, notes TEXT,\n"
	"  partAbbrev TEXT, lastPriceUpdate TEXT,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE customers (\n"
	"  customerCode TEXT PRIMARY KEY,\n"
	"  customerName TEXT NOT NULL,\n"
	"  isActive BOOLEAN DEFAULT 1,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE sub_assemblies (\n"
	"  subAssemblyId TEXT PRIMARY KEY,\n"
	"  description TEXT NOT NULL, category TEXT,\n"
	"  attributes TEXT, components TEXT,\n"
	"  estimatedLaborHours REAL,\n"
	"  isBundled BOOLEAN DEFAULT 0,\n"
	"  isUserCreated BOOLEAN DEFAULT 1,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE quotes (\n"
	"  quoteId TEXT PRIMARY KEY,\n"
	"  projectName TEXT, customer TEXT, salesRep TEXT,\n"
	"  status TEXT DEFAULT 'draft',\n"
	"  projectCodes TEXT, controlPanelConfig TEXT,\n"
	"  operationalItems TEXT, pricing TEXT, bom TEXT,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE projects (\n"
	"  id TEXT PRIMARY KEY,\n"
	"  projectNumber TEXT, quoteNumber TEXT, projectName TEXT,\n"
	"  customer TEXT, industry TEXT, product TEXT, control TEXT,\n"
	"  scope TEXT, poNumber TEXT,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE manual_quotes (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  quoteNumber TEXT NOT NULL UNIQUE,\n"
	"  type TEXT NOT NULL CHECK (type IN ('margin_calculation', 'bom')),\n"
	"  data TEXT NOT NULL,\n"
	"  projectName TEXT, customer TEXT,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n"
	"CREATE TABLE generated_numbers (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  type TEXT NOT NULL CHECK (type IN ('quote', 'project')),\n"
	"  mainId TEXT NOT NULL, fullId TEXT NOT NULL,\n"
	"  customerCode TEXT, customerName TEXT,\n"
	"  industry TEXT, product TEXT, control TEXT, scope TEXT,\n"
	"  poNumber TEXT, generated_at TEXT,\n"
	"  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,\n"
	"  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);\n";

/* Standard sub-assemblies shipped with the app: same rows on every PC. */
static const char app_seed[] =
	"INSERT INTO sub_assemblies (subAssemblyId, description, category,"
	" attributes, components, estimatedLaborHours, isBundled,"
	" isUserCreated, created_at, updated_at) VALUES"
	" ('SA-DISC-30A', '30A fused disconnect assembly', 'DISCONNECT',"
	"  '{\"amps\":30}', '[\"SF400PH10X10\"]', 1.5, 1, 0,"
	"  '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'),"
	" ('SA-PLC-BASE', 'PLC base rack with 24V supply', 'PLC/COM',"
	"  '{\"slots\":8}', '[]', 4.0, 1, 0,"
	"  '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'),"
	" ('SA-ENC-2020', '20x20 enclosure with subpanel', 'ENCLOSURE',"
	"  '{\"type\":\"4\"}', '[\"CSD20206\",\"CP2020G\"]', 2.0, 1, 0,"
	"  '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z');";

/* app_now(): the current UTC time, 2025-01-15T10:30:00.000Z. */
static void app_now_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct timespec ts;
	struct tm tm;
	char date[32], buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03dZ", date,
		 (int)(ts.tv_nsec / 1000000));
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static int app_errf(char *err, size_t errlen, const char *what,
		    const char *path, sqlite3 *db)
{
	snprintf(err, errlen, "%s %s: %s", what, path,
		 db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

int hs_app_create(sqlite3 **out, const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = -1;

	*out = NULL;
	if (hs_os_exists(path) == 0) {
		snprintf(err, errlen, "cannot create %s: it already exists",
			 path);
		return -1;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		app_errf(err, errlen, "cannot create", path, db);
		goto cleanup;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_create_function(db, "app_now", 0, SQLITE_UTF8, NULL,
				    app_now_func, NULL, NULL) != SQLITE_OK) {
		app_errf(err, errlen, "cannot set up", path, db);
		goto cleanup;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, app_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, app_seed, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		app_errf(err, errlen, "cannot write the app schema to", path,
			 db);
		goto cleanup;
	}
	*out = db;
	db = NULL;
	rc = 0;
cleanup:
	if (db) {
		sqlite3_close(db);
		hs_os_unlink(path);
	}
	return rc;
}

int hs_app_exec(sqlite3 *db, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = hs_app_vexec(db, err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int hs_app_vexec(sqlite3 *db, char *err, size_t errlen, const char *fmt,
		 va_list ap)
{
	char *sql, *msg = NULL;
	int rc;

	sql = sqlite3_vmprintf(fmt, ap);
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "app write failed: %s (SQL: %.120s)",
			 msg ? msg : sqlite3_errstr(rc), sql);
	sqlite3_free(msg);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Both id forms share the date and customer prefix; tail may be "". */
static void app_quote_format(char *buf, time_t day, const char *ccc,
			     const char *codes, int nn)
{
	struct tm tm;

	gmtime_r(&day, &tm);
	if (codes)
		snprintf(buf, HS_APP_QUOTE_ID_MAX, "CA%02d%02d%02d%.3s-%.4s-%02d",
			 tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, ccc,
			 codes, nn % 100);
	else
		snprintf(buf, HS_APP_QUOTE_ID_MAX, "CA%02d%02d%02d%.3s",
			 tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, ccc);
}

void hs_app_quote_main_id(char *buf, time_t day, const char *ccc)
{
	app_quote_format(buf, day, ccc, NULL, 0);
}

void hs_app_quote_id(char *buf, time_t day, const char *ccc,
		     const char *codes, int nn)
{
	app_quote_format(buf, day, ccc, codes, nn);
}

void hs_app_project_number(char *buf, time_t day, const char *po4,
			   const char *ccc)
{
	struct tm tm;

	gmtime_r(&day, &tm);
	snprintf(buf, HS_APP_QUOTE_ID_MAX, "CA%02d%.4s%.3s", tm.tm_year % 100,
		 po4, ccc);
}
