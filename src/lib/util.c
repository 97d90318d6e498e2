/*
 * util.c - helpers shared by every module (see util.h).
 */
#include "util.h"
#include "platform.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void hs_buf_init(hs_buf *b) { memset(b, 0, sizeof(*b)); }

void hs_buf_free(hs_buf *b)
{
	free(b->s);
	hs_buf_init(b);
}

void hs_buf_reset(hs_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

/* b's room made need bytes (it has fewer): 0, or -1 (b->oom set). */
static int buf_realloc(hs_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	while (cap < need)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

/* Room in b for extra more bytes and the NUL: 0, or -1 (b->oom). The
 * check inline, the growth not (most puts fit). */
static inline int buf_grow(hs_buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	return b->len + extra + 1 <= b->cap ? 0
					    : buf_realloc(b, b->len + extra + 1);
}

void hs_buf_putn(hs_buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void hs_buf_puts(hs_buf *b, const char *s) { hs_buf_putn(b, s, strlen(s)); }

void hs_buf_vprintf(hs_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0 && buf_grow(b, (size_t)n) == 0) {
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
}

void hs_buf_printf(hs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hs_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void hs_buf_ident(hs_buf *b, const char *name)
{
	hs_buf_putn(b, "\"", 1);
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			hs_buf_putn(b, "\"", 1);
		hs_buf_putn(b, p, 1);
	}
	hs_buf_putn(b, "\"", 1);
}

char *hs_buf_take(hs_buf *b)
{
	char *s;
	if (b->oom) {
		hs_buf_free(b);
		return NULL;
	}
	if (!b->s)
		hs_buf_putn(b, "", 0);
	s = b->s;
	hs_buf_init(b);
	return s;
}

/* n decimal digits of v at p. */
static void put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The civil date of day d since 1970-01-01, d >= 0 (the proleptic
 * Gregorian calendar in eras of 400 years: H. Hinnant's algorithm). */
static void civil_date(int64_t d, int *y, int *m, int *day)
{
	int64_t z = d + 719468, era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Called for every audit trail entry a sync writes or reads: formatted
 * here for the years 1970-9999 (gmtime_r and strftime cost ~2k
 * instructions a call), by the C library otherwise. */
void hs_iso_time(int64_t ms, char out[32])
{
	if (ms >= 0 && ms < 253402300800000LL) {
		int64_t s = ms / 1000;
		int y, mo, d, sod = (int)(s % 86400);
		civil_date(s / 86400, &y, &mo, &d);
		memcpy(out, "0000-00-00T00:00:00.000Z", 25);
		put_digits(out, y, 4);
		put_digits(out + 5, mo, 2);
		put_digits(out + 8, d, 2);
		put_digits(out + 11, sod / 3600, 2);
		put_digits(out + 14, sod / 60 % 60, 2);
		put_digits(out + 17, sod % 60, 2);
		put_digits(out + 20, (int)(ms % 1000), 3);
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	int msec = (int)(ms % 1000);
	if (msec < 0)
		msec += 1000;
	if (strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		out[0] = 0;
	size_t n = strlen(out);
	snprintf(out + n, 32 - n, ".%03dZ", msec % 1000);
}

/* n decimal digits at *p (advanced): the value, or -1. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int64_t hs_parse_time(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, msec = 0;
	if (!s)
		return -1;
	if ((y = digits(&s, 4)) < 1970 || *s++ != '-' || (mo = digits(&s, 2)) < 1 ||
	    *s++ != '-' || (d = digits(&s, 2)) < 1)
		return -1;
	if (*s == 'T' || *s == ' ') {
		s++;
		if ((h = digits(&s, 2)) < 0 || *s++ != ':' || (mi = digits(&s, 2)) < 0 ||
		    *s++ != ':' || (sec = digits(&s, 2)) < 0)
			return -1;
		if (*s == '.') {
			int n = 0;
			for (s++; *s >= '0' && *s <= '9'; s++, n++)
				if (n < 3)
					msec = msec * 10 + (*s - '0');
			if (n == 0)
				return -1;
			for (; n < 3; n++)
				msec *= 10;
		}
		if (*s == 'Z')
			s++;
	}
	if (*s || mo > 12 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	struct tm tm = {0}, back;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = hs_os_timegm(&tm);
	/* 2025-02-31 would roll over to March: not a date */
	if (!gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	return (int64_t)t * 1000 + msec;
}

int64_t hs_system_ms(void) { return hs_os_now_ms(); }

int hs_random_hex(char out[33])
{
	unsigned char b[16];
	if (hs_os_random(b, sizeof b) != 0)
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

char *hs_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int hs_sqlite_open(const char *path, sqlite3 **db, int flags)
{
	pthread_once(&sqlite_once, sqlite_setup);
	return sqlite3_open_v2(path, db, flags, NULL);
}

int hs_prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql)
{
	*out = NULL;
	return sqlite3_prepare_v2(db, sql, -1, out, NULL);
}

int hs_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return SQLITE_OK;
	return sqlite3_errcode(sqlite3_db_handle(st));
}

int hs_exec_ints(sqlite3 *db, const char *sql, int n, const int64_t *v)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, sql);
	if (rc != SQLITE_OK)
		return rc;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	rc = hs_step_done(st);
	sqlite3_finalize(st);
	return rc;
}

int hs_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int64_t hs_query_int(sqlite3 *db, const char *sql, int64_t dflt, int *rc)
{
	sqlite3_stmt *st;
	int r = hs_prepare(db, &st, sql);
	int64_t v = dflt;
	if (r == SQLITE_OK) {
		r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			if (sqlite3_column_type(st, 0) != SQLITE_NULL)
				v = sqlite3_column_int64(st, 0);
			r = SQLITE_OK;
		} else if (r == SQLITE_DONE) {
			r = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc)
		*rc = r;
	return v;
}

int hs_value_same(sqlite3_value *a, sqlite3_value *b)
{
	if (!a || !b)
		return a == b;
	int t = sqlite3_value_type(a);
	if (t != sqlite3_value_type(b))
		return 0;
	switch (t) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_value_int64(a) == sqlite3_value_int64(b);
	case SQLITE_FLOAT: {
		double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
		return memcmp(&x, &y, sizeof x) == 0;
	}
	default: {
		int n = sqlite3_value_bytes(a);
		if (n != sqlite3_value_bytes(b))
			return 0;
		const void *pa = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(a)
						  : sqlite3_value_blob(a);
		const void *pb = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(b)
						  : sqlite3_value_blob(b);
		return n == 0 || memcmp(pa, pb, (size_t)n) == 0;
	}
	}
}

int hs_select1_prepare(sqlite3 *db, sqlite3_stmt **out)
{
	return hs_prepare(db, out, "SELECT ?1");
}

static sqlite3_value *select1_value(sqlite3_stmt *st)
{
	sqlite3_value *out = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		out = sqlite3_value_dup(sqlite3_column_value(st, 0));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

sqlite3_value *hs_value_int(sqlite3_stmt *select1, int64_t v)
{
	sqlite3_bind_int64(select1, 1, v);
	return select1_value(select1);
}

sqlite3_value *hs_value_text(sqlite3_stmt *select1, const char *s)
{
	sqlite3_bind_text(select1, 1, s ? s : "", -1, SQLITE_STATIC);
	return select1_value(select1);
}

sqlite3_value *hs_value_double(sqlite3_stmt *select1, double d)
{
	sqlite3_bind_double(select1, 1, d);
	return select1_value(select1);
}

sqlite3_value *hs_value_blob(sqlite3_stmt *select1, int type, const void *p,
			     int n)
{
	if (type == SQLITE_TEXT)
		sqlite3_bind_text(select1, 1, p, n, SQLITE_STATIC);
	else if (type == SQLITE_BLOB)
		sqlite3_bind_blob(select1, 1, p, n, SQLITE_STATIC);
	else
		sqlite3_bind_null(select1, 1);
	return select1_value(select1);
}

int hs_exec_text(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc = hs_prepare(db, &st, sql);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	else if (rc != SQLITE_ROW)
		rc = sqlite3_errcode(db);
	sqlite3_finalize(st);
	return rc;
}
