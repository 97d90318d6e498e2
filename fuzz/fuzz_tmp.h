/*
 * fuzz_tmp.h - the scratch folder of a fuzz target that needs files: made
 * under /dev/shm (or /tmp), removed with everything in it at exit.
 */
#ifndef FUZZ_TMP_H
#define FUZZ_TMP_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_dir[256];

static int fuzz_remove_entry(const char *path, const struct stat *st, int flag,
			     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fuzz_remove_dir(void)
{
	nftw(fuzz_dir, fuzz_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Make the folder (named after what), removed at exit; NULL on failure. */
static const char *fuzz_tmp_dir(const char *what)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/hubsync-fuzz-%s-XXXXXX", base,
		 what);
	if (!mkdtemp(fuzz_dir))
		return NULL;
	atexit(fuzz_remove_dir);
	return fuzz_dir;
}

#endif
