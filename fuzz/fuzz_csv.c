/*
 * fuzz_csv.c - the demo's CSV reader and money parser (src/demo/csv.h) on
 * any bytes. Checks, besides memory safety: the reader stops (a record or
 * an error each call, then the end), an error is sticky and has a message,
 * fields are NUL-terminated at their length, line numbers never go back.
 */
#include "csv.h"
#include "hubsync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_csv *csv = NULL;
	size_t last_line = 0, records = 0;
	int rc;

	if (hs_csv_new(&csv, (const char *)data, size) != 0)
		return 0;
	while ((rc = hs_csv_next(csv)) == 1) {
		size_t n = hs_csv_nfields(csv);
		if (n == 0 || hs_csv_line(csv) < last_line || ++records > size + 1)
			abort();
		last_line = hs_csv_line(csv);
		for (size_t i = 0; i <= n; i++) {
			size_t len = 99;
			const char *f = hs_csv_field(csv, i, &len);
			int64_t cents;
			if (!f || f[len] != '\0' || (i == n && len != 0))
				abort();
			hs_money_parse(f, len, &cents, NULL, 0);
		}
	}
	if (rc < 0) {
		if (!hs_csv_errmsg(csv)[0] || hs_csv_next(csv) != rc)
			abort();
	} else if (rc != 0 || hs_csv_next(csv) != 0) {
		abort();
	}
	hs_csv_free(csv);

	/* The money parser alone, on the whole input. */
	char err[64];
	int64_t cents = 0;
	hs_money_parse((const char *)data, size, &cents, err, sizeof err);
	return 0;
}
