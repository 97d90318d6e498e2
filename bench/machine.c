/*
 * machine.c - the description printed at the top of every bench run, so
 * that a recorded table can be compared with another machine's: CPU, cores,
 * memory, kernel, SQLite, compiler, build type and the file system the
 * databases live on (commit cost is mostly fsync, which depends on it).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hubsync.h"
#include "bench.h"

#ifndef HS_BENCH_BUILD_TYPE
#define HS_BENCH_BUILD_TYPE "unknown"
#endif

/* The value after "key<spaces>:" of the first line of file starting with
 * key, or "" (trailing newline removed). */
static void proc_field(const char *file, const char *key, char *out,
		       size_t cap)
{
	FILE *f = fopen(file, "r");
	char line[512];
	size_t klen = strlen(key);

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, key, klen) != 0 || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, cap, "%s", colon);
		break;
	}
	fclose(f);
}

static const char *fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs (RAM: fsync is free)";
	case 0x9123683E: return "btrfs";
	case 0x58465342: return "xfs";
	case 0x794C7630: return "overlayfs";
	case 0x6969: return "nfs";
	case 0xFF534D42: return "cifs";
	case 0xFE534D42: return "smb2";
	case 0x65735546: return "fuse";
	default: return NULL;
	}
}

void machine_load(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(out, cap, "%.2f %.2f %.2f (1, 5, 15 min)", a, b, c);
	else
		snprintf(out, cap, "unknown");
	if (f)
		fclose(f);
}

void machine_print(const char *dir)
{
	char cpu[256], mem[64];
	struct utsname un;
	struct statfs sf;
	const char *fs = NULL;
	char fsbuf[32], load[64];

	proc_field("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	proc_field("/proc/meminfo", "MemTotal", mem, sizeof(mem));
	if (statfs(dir, &sf) == 0 && !(fs = fs_name((long)sf.f_type))) {
		snprintf(fsbuf, sizeof(fsbuf), "type 0x%lx",
			 (unsigned long)sf.f_type);
		fs = fsbuf;
	}
	printf("hs_bench: hubsync %s\n", hs_version());
	printf("  cpu:      %s\n", cpu[0] ? cpu : "unknown");
	printf("  cores:    %ld online\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("  memory:   %s\n", mem[0] ? mem : "unknown");
	if (uname(&un) == 0)
		printf("  kernel:   %s %s %s\n", un.sysname, un.release,
		       un.machine);
	printf("  sqlite:   %s\n", sqlite3_libversion());
#if defined(__clang__)
	printf("  compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
	printf("  compiler: gcc %s\n", __VERSION__);
#else
	printf("  compiler: unknown\n");
#endif
#ifdef __OPTIMIZE__
	printf("  build:    %s (optimized)\n", HS_BENCH_BUILD_TYPE);
#else
	printf("  build:    %s (NOT optimized: numbers are pessimistic; "
	       "use make bench)\n", HS_BENCH_BUILD_TYPE);
#endif
	printf("  files:    %s on %s\n", dir, fs ? fs : "unknown");
	machine_load(load, sizeof(load));
	printf("  load:     %s; above the core count, other processes share "
	       "the CPU and times grow\n", load);
}
