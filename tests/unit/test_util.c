/*
 * test_util.c - util.c: the ISO time of the audit trail (hs_iso_time),
 * known dates and a round trip through hs_parse_time (the C library's
 * timegm) over the years it formats itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void iso_is(int64_t ms, const char *want)
{
	char got[32];
	hs_iso_time(ms, got);
	assert_string_equal(got, want);
}

static void test_iso_known(void **state)
{
	(void)state;
	iso_is(0, "1970-01-01T00:00:00.000Z");
	iso_is(86399999, "1970-01-01T23:59:59.999Z");
	iso_is(951782400000LL, "2000-02-29T00:00:00.000Z");
	iso_is(951868800000LL, "2000-03-01T00:00:00.000Z");
	iso_is(4107456000000LL, "2100-02-28T00:00:00.000Z");
	iso_is(4107542400000LL, "2100-03-01T00:00:00.000Z");
	iso_is(1796078388495LL, "2026-11-30T22:39:48.495Z");
	iso_is(253402300799999LL, "9999-12-31T23:59:59.999Z");
	iso_is(253402300800000LL, "10000-01-01T00:00:00.000Z");
}

static void test_iso_round_trip(void **state)
{
	(void)state;
	/* a step of 97 days and 1 h 1 min 1.001 s: every month, weekday,
	 * hour and leap rule comes by */
	const int64_t step = 97LL * 86400000 + 3661001;
	for (int64_t ms = 0; ms < 253402300800000LL; ms += step) {
		char iso[32];
		hs_iso_time(ms, iso);
		assert_int_equal(strlen(iso), 24);
		if (hs_parse_time(iso) != ms)
			fail_msg("%lld formatted as %s", (long long)ms, iso);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_known),
		cmocka_unit_test(test_iso_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
