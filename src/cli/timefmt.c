/*
 * timefmt.c - parse the library's UTC timestamps and write times for people.
 */
#include "timefmt.h"
#include "platform.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cli_time_now_ms(void) { return hs_os_now_ms(); }

/* Read exactly n digits at *p into *out; advance *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;
	for (i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return 0;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 1;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return 0;
	(*p)++;
	return 1;
}

int cli_time_parse(const char *text, int64_t *ms)
{
	const char *p = text;
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, s = 0, frac_ms = 0;
	time_t t;

	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) ||
	    !expect(&p, '-') || !digits(&p, 2, &d))
		return 0;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || !expect(&p, ':') ||
		    !digits(&p, 2, &mi))
			return 0;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &s))
				return 0;
			if (*p == '.') {
				int scale = 100;
				p++;
				if (*p < '0' || *p > '9')
					return 0;
				for (; *p >= '0' && *p <= '9'; p++) {
					frac_ms += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 60)
		return 0;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = hs_os_timegm(&tm);
	*ms = (int64_t)t * 1000 + frac_ms;
	return 1;
}

static void amount(char *buf, size_t size, int64_t n, const char *unit)
{
	snprintf(buf, size, "%lld %s%s", (long long)n, unit, n == 1 ? "" : "s");
}

void cli_time_ago(int64_t then_ms, int64_t now_ms, char *buf, size_t size)
{
	int64_t d = now_ms - then_ms;
	int64_t a = (d < 0 ? -d : d) / 1000;
	char what[48];

	if (a < 10) {
		snprintf(buf, size, "just now");
		return;
	}
	if (a < 60)
		amount(what, sizeof(what), a, "second");
	else if (a < 120 * 60)
		amount(what, sizeof(what), a / 60, "minute");
	else if (a < 48 * 3600)
		amount(what, sizeof(what), a / 3600, "hour");
	else
		amount(what, sizeof(what), a / 86400, "day");
	if (d >= 0)
		snprintf(buf, size, "%s ago", what);
	else
		snprintf(buf, size, "in %s", what);
}

void cli_time_local(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "?");
}

void cli_time_iso(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char day[32];

	if (!gmtime_r(&t, &tm) ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%s.%03dZ", day, (int)(ms % 1000));
}

int cli_time_since(const char *arg, int64_t now_ms, char *buf, size_t size)
{
	int64_t ms, n = 0, unit;
	const char *p = arg;

	if (cli_time_parse(arg, &ms)) {
		cli_time_iso(ms, buf, size);
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > 100000000)
			return 0;
	}
	switch (*p) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	default: return 0;
	}
	if (p[1] != '\0')
		return 0;
	cli_time_iso(now_ms - n * unit, buf, size);
	return 1;
}

void cli_time_duration(int64_t ms, char *buf, size_t size)
{
	if (ms < 60 * 1000)
		snprintf(buf, size, "%.2fs", (double)ms / 1000.0);
	else
		snprintf(buf, size, "%lldm%02llds", (long long)(ms / 60000),
			 (long long)(ms / 1000 % 60));
}
