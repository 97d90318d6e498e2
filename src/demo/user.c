/*
 * user.c - a simulated user (user.h): app writes through the app's own
 * connection, syncs through the public hubsync API.
 */
#include "user.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "platform.h"

static double user_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int demo_user_install(demo_user *u, const char *dir, const char *name,
		      char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->name = name;
	u->online = 1;
	if ((size_t)snprintf(u->path, sizeof(u->path), "%s/%s.db", dir, name) >=
	    sizeof(u->path)) {
		snprintf(err, errlen, "demo folder path too long: %s", dir);
		return -1;
	}
	return hs_app_create(&u->app, u->path, err, errlen);
}

int demo_user_init(demo_user *u, const char *master, char *err,
		   size_t errlen)
{
	hs_open_options oo = HS_OPEN_OPTIONS_INIT;
	hs_init_options io = HS_INIT_OPTIONS_INIT;
	int rc;

	rc = hs_replica_open(&u->rep, u->path, &oo);
	if (rc == 0) {
		io.master_path = master;
		io.user = u->name;
		io.stamp = 1; /* the Craft Tools Hub schema has these columns */
		rc = hs_replica_init(u->rep, &io);
	}
	if (rc != 0)
		snprintf(err, errlen, "%s: hubsync init failed: %s", u->name,
			 u->rep ? hs_replica_errmsg(u->rep) : "out of memory");
	return rc == 0 ? 0 : -1;
}

/* Sum of the integer values of a stats object like {"quotes": 3}. */
static int64_t user_sum(json_t *obj)
{
	const char *key;
	json_t *v;
	int64_t n = 0;

	json_object_foreach(obj, key, v)
		n += json_integer_value(v);
	return n;
}

int demo_user_sync(demo_user *u, char *err, size_t errlen)
{
	hs_sync_options so = HS_SYNC_OPTIONS_INIT;
	char *out = NULL;
	json_t *res = NULL, *stats;
	double t0 = user_now_ms();
	int rc;

	rc = hs_replica_sync(u->rep, &so, &out);
	u->sync_ms += user_now_ms() - t0;
	u->syncs++;
	if (out)
		res = json_loads(out, 0, NULL);
	stats = json_object_get(res, "stats");
	u->last_pulled = user_sum(json_object_get(stats, "pulled"));
	u->last_pushed = user_sum(json_object_get(stats, "pushed"));
	u->last_conflicts = json_integer_value(json_object_get(stats,
							       "conflicts"));
	u->pulled += u->last_pulled;
	u->pushed += u->last_pushed;
	u->conflicts += u->last_conflicts;
	if (rc != 0) {
		const char *msg = json_string_value(json_object_get(res,
								    "message"));

		snprintf(err, errlen, "%s: sync failed: %s", u->name,
			 msg ? msg : hs_replica_errmsg(u->rep));
	} else if (!res) {
		snprintf(err, errlen, "%s: sync returned no valid result JSON",
			 u->name);
		rc = -1;
	}
	json_decref(res);
	hs_free(out);
	return rc == 0 ? 0 : -1;
}

int demo_user_ready_quote_number(demo_user *u, char *err, size_t errlen)
{
	if (u->quote_ready)
		return 0;
	if (hs_replica_number_next(u->rep, DEMO_QUOTE_SERIES,
				   &u->quote_ready) != 0) {
		u->quote_ready = 0;
		snprintf(err, errlen, "%s: cannot take a " DEMO_QUOTE_SERIES
			 " number: %s", u->name, hs_replica_errmsg(u->rep));
		return -1;
	}
	return 0;
}

int demo_user_quote_number(demo_user *u, int64_t *out, char *err,
			   size_t errlen)
{
	if (demo_user_ready_quote_number(u, err, errlen) < 0)
		return -1;
	*out = u->quote_ready;
	u->quote_ready = 0;
	return demo_user_ready_quote_number(u, err, errlen);
}

int demo_user_write(demo_user *u, char *err, size_t errlen,
		    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = hs_app_vexec(u->app, err, errlen, fmt, ap);
	va_end(ap);
	hs_os_sleep_ms(2);
	return rc;
}

static const char *user_vvalue(sqlite3 *db, char *buf, size_t buflen,
			       const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_vmprintf(fmt, ap);

	snprintf(buf, buflen, "(no row)");
	if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(buf, buflen, "%s", t ? (const char *)t : "NULL");
	} else if (!st) {
		snprintf(buf, buflen, "(error: %s)", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return buf;
}

const char *demo_db_value(sqlite3 *db, char *buf, size_t buflen,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	user_vvalue(db, buf, buflen, fmt, ap);
	va_end(ap);
	return buf;
}

const char *demo_user_value(demo_user *u, char *buf, size_t buflen,
			    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	user_vvalue(u->app, buf, buflen, fmt, ap);
	va_end(ap);
	return buf;
}

void demo_user_close(demo_user *u)
{
	hs_replica_free(u->rep);
	u->rep = NULL;
	sqlite3_close(u->app);
	u->app = NULL;
}
