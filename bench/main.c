/*
 * main.c - hs_bench: measure hubsync against plain SQLite doing the same
 * work, in one run, and print a table of ratios (see bench.h).
 *
 *   hs_bench [--quick] [--big] [--only CASES] [--max-rows N] [--dir DIR]
 *            [--keep]
 *
 * Exit status: 0 when every case ran and every outcome was right (missed
 * targets included: they are reported, not asserted), 1 when a case failed
 * to run or a sync produced wrong data (lost rows, replicas that did not
 * converge), 2 on usage errors.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct bench_case {
	const char *name;
	int (*run)(const bench_opts *o);
	const char *what;
} bench_case;

static const bench_case bench_cases[] = {
	{ "blackbox", case_blackbox, "the sqlite3 shell + hubsync sync" },
	{ "writes", case_writes, "tracked vs plain app writes" },
	{ "pull", case_pull, "first push / pull, replica size" },
	{ "incr", case_incr, "10-row sync on growing tables" },
	{ "users", case_users, "5 users x 1,000 edits" },
	{ "realtime", case_realtime, "daemons on a sync server, latency" },
	{ "stream", case_stream, "first sync via file and server masters" },
};
#define N_CASES (sizeof(bench_cases) / sizeof(bench_cases[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hs_bench [--quick] [--big] [--only CASES] "
		"[--max-rows N] [--dir DIR] [--share DIR] [--keep]\n"
		"  --quick       small sizes (seconds; the ctest smoke run)\n"
		"  --big         the black-box case also at 1,000,000 rows, the "
		"stream case at it only\n"
		"  --only CASES  comma list of blackbox,writes,pull,incr,"
		"users,realtime,stream\n"
		"  --max-rows N  skip incremental sizes above N rows\n"
		"  --dir DIR     put the scratch folder in DIR (default "
		"$TMPDIR or /tmp)\n"
		"  --share DIR   the stream case also with a file master in DIR,\n"
		"                a folder on a mounted share (bench/share.sh)\n"
		"  --keep        keep the scratch folder\n");
}

static void opts_full(bench_opts *o)
{
	o->write_rows = 100000;
	o->write_batch = 1000;
	o->repeat = 3;
	o->pull_rows = 100000;
	o->incr_sizes[0] = 10000;
	o->incr_sizes[1] = 100000;
	o->incr_sizes[2] = 1000000;
	o->n_incr_sizes = 3;
	o->incr_changed = 10;
	o->incr_rounds = 5;
	o->users_base = 10000;
	o->users = 5;
	o->users_edits = 1000;
	o->rt_pcs = 20;
	o->rt_rows = 20;
}

static void opts_quick(bench_opts *o)
{
	o->write_rows = 2000;
	o->repeat = 1;
	o->pull_rows = 2000;
	o->incr_sizes[0] = 500;
	o->incr_sizes[1] = 2000;
	o->n_incr_sizes = 2;
	o->incr_rounds = 2;
	o->users_base = 500;
	o->users_edits = 50;
	o->rt_pcs = 3;
	o->rt_rows = 3;
}

/* 1 when name is in the comma list only (NULL: every case). */
static int selected(const char *only, const char *name)
{
	size_t len = strlen(name);
	const char *p = only;

	if (!only)
		return 1;
	while (p && *p) {
		if (strncmp(p, name, len) == 0 && (p[len] == ',' ||
						   p[len] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bench_opts o;
	const char *parent = getenv("TMPDIR"), *only = NULL;
	char dir[4096];
	long long max_rows = 0;
	int i, keep = 0, failed = 0, quick = 0;
	size_t c;

	memset(&o, 0, sizeof(o));
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (!strcmp(argv[i], "--big")) {
			o.big = 1;
		} else if (!strcmp(argv[i], "--keep")) {
			keep = 1;
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			parent = argv[++i];
		} else if (!strcmp(argv[i], "--share") && i + 1 < argc) {
			o.share = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--max-rows") && i + 1 < argc) {
			max_rows = atoll(argv[++i]);
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "hs_bench: unknown argument '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (only) {
		/* every listed name must be a case */
		const char *p = only;

		while (*p) {
			size_t len = strcspn(p, ",");
			int known = 0;

			for (c = 0; c < N_CASES; c++)
				known |= strlen(bench_cases[c].name) == len &&
					 !strncmp(p, bench_cases[c].name, len);
			if (!known) {
				fprintf(stderr, "hs_bench: --only: unknown "
					"case '%.*s' (blackbox, writes, pull, "
					"incr, users, realtime, stream)\n", (int)len, p);
				return 2;
			}
			p += len + (p[len] == ',');
		}
	}

	opts_full(&o);
	if (quick)
		opts_quick(&o);
	o.quick = quick;
	if (quick)
		o.big = 0;
	o.keep = keep;
	if (max_rows > 0)
		while (o.n_incr_sizes > 1 &&
		       o.incr_sizes[o.n_incr_sizes - 1] > max_rows)
			o.n_incr_sizes--;

	snprintf(dir, sizeof(dir), "%s/hs_bench.XXXXXX",
		 parent && *parent ? parent : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "hs_bench: cannot create a scratch folder in "
			"%s: use --dir to pick a writable folder\n",
			parent && *parent ? parent : "/tmp");
		return 1;
	}
	o.dir = dir;

	machine_print(dir);
	printf("  sizes:    %s\n\n", quick ? "--quick (smoke run: ratios "
	       "at these sizes mean little)" : "full");
	fflush(stdout);
	for (c = 0; c < N_CASES; c++) {
		double t0;

		if (!selected(only, bench_cases[c].name))
			continue;
		printf("running %-7s %s ...", bench_cases[c].name,
		       bench_cases[c].what);
		fflush(stdout);
		t0 = bench_now_ms();
		if (bench_cases[c].run(&o) < 0) {
			printf(" FAILED\n");
			failed++;
		} else {
			printf(" %.1f s\n", (bench_now_ms() - t0) / 1e3);
		}
		fflush(stdout);
	}
	report_print();
	{
		char load[64];

		machine_load(load, sizeof(load));
		printf("load average at the end: %s\n", load);
	}
	printf("targets missed: %d%s%s\n", report_misses(),
	       failed ? "; some cases FAILED to run (see stderr)" : "",
	       report_problems() ? "; WRONG OUTCOMES (listed above)" : "");
	if (keep)
		printf("scratch folder kept: %s\n", dir);
	else
		bench_rmtree(dir);
	return failed || report_problems() ? 1 : 0;
}
