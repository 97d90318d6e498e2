/*
 * report.c - the result table of hs_bench.
 *
 * Each row is one measurement: the plain SQLite figure, the hubsync figure,
 * their ratio (hubsync / plain: for times, how many times slower; for rates,
 * the fraction of the plain speed; for sizes, how many times larger), and
 * up to two targets from the issue, one on the ratio and one on the hubsync
 * figure itself. A missed target prints MISS and by what factor; it is not
 * an error (the bench has no timed assertions). Section titles are rows with
 * no unit, printed as headings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define REPORT_MAX_ROWS 64

typedef struct report_entry {
	int is_section;
	report_row row;
} report_entry;

static report_entry report_rows[REPORT_MAX_ROWS];
static int report_n;
/* Spare row handed out when the table is full, so callers never see NULL;
 * what is written to it is dropped (the table says so). */
static report_row report_spare;
static int report_dropped;

#define REPORT_MAX_PROBLEMS 16
static char report_problem_text[REPORT_MAX_PROBLEMS][200];
static int report_n_problems;

#define REPORT_MAX_NOTES 16
static char report_note_text[REPORT_MAX_NOTES][400];
static int report_n_notes;

static report_entry *report_next(void)
{
	if (report_n == REPORT_MAX_ROWS) {
		report_dropped++;
		return NULL;
	}
	memset(&report_rows[report_n], 0, sizeof(report_rows[0]));
	return &report_rows[report_n++];
}

void report_section(const char *title)
{
	report_entry *e = report_next();

	if (!e)
		return;
	e->is_section = 1;
	snprintf(e->row.what, sizeof(e->row.what), "%s", title);
}

report_row *report_add(report_unit unit, double plain, double hs,
		       const char *fmt, ...)
{
	report_entry *e = report_next();
	report_row *r = e ? &e->row : &report_spare;
	va_list ap;

	memset(r, 0, sizeof(*r));
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	r->unit = unit;
	r->plain = plain;
	r->hs = hs;
	return r;
}

static void format_value(char *out, size_t cap, report_unit unit, double v)
{
	if (v < 0) {
		snprintf(out, cap, "-");
		return;
	}
	switch (unit) {
	case REPORT_MS:
		snprintf(out, cap, v < 100 ? "%.2f ms" : "%.0f ms", v);
		break;
	case REPORT_RATE:
		if (v >= 1e6)
			snprintf(out, cap, "%.2fM/s", v / 1e6);
		else
			snprintf(out, cap, "%.1fk/s", v / 1e3);
		break;
	default:
		snprintf(out, cap, "%.2f MB", v / 1e6);
		break;
	}
}

/* Append the text of one bound ("time <= 3x", "<= 50 ms", ">= 100k/s"). */
static void format_bound(char *out, size_t cap, report_cmp cmp, double lim,
			 const report_row *r, int is_ratio)
{
	const char *op = cmp == CMP_MAX ? "<=" : ">=";
	size_t len = strlen(out);
	const char *sep = len ? ", " : "";

	if (cmp == CMP_NONE)
		return;
	if (is_ratio)
		snprintf(out + len, cap - len, "%s%s %s %gx", sep,
			 r->unit == REPORT_RATE ? "speed" :
			 r->unit == REPORT_MB ? "size" : "time", op, lim);
	else if (r->unit == REPORT_MS)
		snprintf(out + len, cap - len, "%s%s %g ms", sep, op, lim);
	else if (r->unit == REPORT_RATE)
		snprintf(out + len, cap - len, "%s%s %gk/s", sep, op,
			 lim / 1e3);
	else
		snprintf(out + len, cap - len, "%s%s %g MB", sep, op,
			 lim / 1e6);
}

/* How far value misses the bound: 1 or less when it holds. */
static double miss_factor(report_cmp cmp, double lim, double value)
{
	if (cmp == CMP_MAX)
		return lim > 0 ? value / lim : 0;
	if (cmp == CMP_MIN)
		return value > 0 ? lim / value : 1e9;
	return 0;
}

/* Worst miss factor of a row (<= 1: every target met; 0: no target). */
static double row_miss(const report_row *r)
{
	double ratio = r->plain > 0 ? r->hs / r->plain : 0;
	double a = 0, b = 0;

	if (r->ratio_cmp != CMP_NONE && r->plain > 0)
		a = miss_factor(r->ratio_cmp, r->ratio_lim, ratio);
	if (r->abs_cmp != CMP_NONE)
		b = miss_factor(r->abs_cmp, r->abs_lim, r->hs);
	return a > b ? a : b;
}

void report_problem(const char *fmt, ...)
{
	char *text = report_problem_text[report_n_problems <
					 REPORT_MAX_PROBLEMS ?
					 report_n_problems :
					 REPORT_MAX_PROBLEMS - 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(report_problem_text[0]), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hs_bench: %s\n", text);
	report_n_problems++;
}

void report_footnote(const char *fmt, ...)
{
	va_list ap;

	if (report_n_notes == REPORT_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(report_note_text[report_n_notes++],
		  sizeof(report_note_text[0]), fmt, ap);
	va_end(ap);
}

int report_problems(void)
{
	return report_n_problems;
}

int report_misses(void)
{
	int i, n = 0;

	for (i = 0; i < report_n; i++)
		if (!report_rows[i].is_section &&
		    row_miss(&report_rows[i].row) > 1)
			n++;
	return n;
}

void report_print(void)
{
	int i;

	printf("\n%-50s %10s %10s %7s  %-24s %s\n", "measure", "plain",
	       "hubsync", "ratio", "target", "result");
	for (i = 0; i < report_n; i++) {
		const report_row *r = &report_rows[i].row;
		char plain[32], hs[32], ratio[32], target[96] = "", verdict[48];
		double miss;

		if (report_rows[i].is_section) {
			printf("-- %s\n", r->what);
			continue;
		}
		format_value(plain, sizeof(plain), r->unit, r->plain);
		format_value(hs, sizeof(hs), r->unit, r->hs);
		if (r->plain > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx",
				 r->hs / r->plain);
		else
			snprintf(ratio, sizeof(ratio), "-");
		format_bound(target, sizeof(target), r->ratio_cmp,
			     r->ratio_lim, r, 1);
		format_bound(target, sizeof(target), r->abs_cmp, r->abs_lim,
			     r, 0);
		miss = row_miss(r);
		if (miss == 0)
			snprintf(verdict, sizeof(verdict), "-");
		else if (miss <= 1)
			snprintf(verdict, sizeof(verdict), "ok");
		else
			snprintf(verdict, sizeof(verdict), "MISS by %.2fx",
				 miss);
		printf("%-50s %10s %10s %7s  %-24s %s%s%s\n", r->what, plain,
		       hs, ratio, target[0] ? target : "-", verdict,
		       r->note[0] ? "  " : "", r->note);
	}
	if (report_dropped)
		printf("(%d rows dropped: raise REPORT_MAX_ROWS)\n",
		       report_dropped);
	printf("\nratio = hubsync / plain SQLite (times: x slower; rates: "
	       "fraction of plain speed; sizes: x larger)\n");
	for (i = 0; i < report_n_notes; i++)
		printf("%s\n", report_note_text[i]);
	for (i = 0; i < report_n_problems && i < REPORT_MAX_PROBLEMS; i++)
		printf("WRONG OUTCOME: %s\n", report_problem_text[i]);
}
