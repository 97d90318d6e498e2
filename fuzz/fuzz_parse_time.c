/*
 * fuzz_parse_time.c - hs_parse_time (src/lib/util.h) on any text. Checks,
 * besides memory safety: a time it accepts (within years 1970..9999) comes
 * back the same through hs_iso_time (the format it writes must read back
 * to the same instant).
 */
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define YEAR_10000_MS 253402300800000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t ms = hs_parse_time(s);
	if (ms >= 0 && ms < YEAR_10000_MS) {
		char iso[32];
		hs_iso_time(ms, iso);
		if (hs_parse_time(iso) != ms)
			abort();
	}
	free(s);
	return 0;
}
