/*
 * folder.c - the demo folder (folder.h).
 *
 * A demo run replaces the databases of the previous run in the same folder
 * (`make demo` reruns into build/demo), so the folder carries a marker file,
 * and only a marked folder is ever cleaned. Cleaning removes the master
 * folder nas/ (the master, its journal, lock and backups; nas-unmounted/ if
 * a run stopped while playing an unmounted share) and the replica files
 * "<user>.db*"; nothing else.
 */
#include "folder.h"
#include "platform.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLDER_MARKER ".hubsync-demo"

/* mkdir -p: create path and its missing parents. */
static int folder_mkdirs(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "demo folder '%s': bad path", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		hs_os_stat st;
		if (!hs_os_is_sep(buf[i]) && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		/* "C:" and "\\server\share" exist without being made */
		if (hs_os_mkdir(buf) != 0 && errno != EEXIST &&
		    (hs_os_stat_path(buf, &st) != 0 || !st.is_dir)) {
			snprintf(err, errlen, "cannot create folder %s: %s",
				 buf, strerror(errno));
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

/* Remove dir/name (a file or a whole tree) if it exists. */
static int folder_remove(const char *dir, const char *name, char *err,
			 size_t errlen)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "demo folder path too long: %s", dir);
		return -1;
	}
	if (hs_os_remove_tree(path) != 0) {
		snprintf(err, errlen, "cannot remove %s from the last demo "
			 "run: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Is name one of the files a run creates ("<user>.db", "<user>.db-...")? */
static int folder_is_replica_file(const char *name, const char *const *users)
{
	size_t n;

	for (; *users; users++) {
		n = strlen(*users);
		if (strncmp(name, *users, n) == 0 &&
		    strncmp(name + n, ".db", 3) == 0)
			return 1;
	}
	return 0;
}

/* Clean dir: refuse it (-1) if not empty and not marked, else empty it of
 * the demo's files. */
static int folder_clean(const char *dir, const char *const *users, char *err,
			size_t errlen)
{
	char marker[PATH_MAX];
	hs_os_dir *d;
	const char *e;
	int marked, others = 0, rc = 0;

	snprintf(marker, sizeof(marker), "%s/" FOLDER_MARKER, dir);
	marked = hs_os_exists(marker) == 0;
	d = hs_os_dir_open(dir);
	if (!d) {
		snprintf(err, errlen, "cannot read folder %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = hs_os_dir_next(d)) != NULL) {
		if (!marked) {
			others++;
			continue;
		}
		if (strcmp(e, HS_DEMO_FOLDER_NAS) == 0 ||
		    strcmp(e, HS_DEMO_FOLDER_NAS_AWAY) == 0 ||
		    folder_is_replica_file(e, users))
			rc = folder_remove(dir, e, err, errlen);
	}
	hs_os_dir_close(d);
	if (rc == 0 && others > 0) {
		snprintf(err, errlen, "folder %s is not empty and was not made "
			 "by `hubsync demo`: give a new or empty folder", dir);
		rc = -1;
	}
	return rc;
}

int hs_demo_folder_prepare(const char *dir, const char *const *users,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];
	FILE *f;

	if (folder_mkdirs(dir, err, errlen) < 0 ||
	    folder_clean(dir, users, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" HS_DEMO_FOLDER_NAS, dir);
	if (hs_os_mkdir(path) != 0) {
		snprintf(err, errlen, "cannot create folder %s: %s", path,
			 strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" FOLDER_MARKER, dir);
	f = hs_os_fopen(path, "w");
	if (!f || fputs("made by `hubsync demo`; a new run replaces the "
			"databases in this folder\n", f) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int hs_demo_folder_make_temp(char *buf, size_t buflen, char *err,
			     size_t errlen)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = getenv("TEMP"); /* Windows */

	if (buflen < 64) {
		snprintf(err, errlen, "demo: path buffer too small");
		return -1;
	}
	snprintf(buf, buflen, "./hubsync-demo-XXXXXX");
	if (hs_os_make_temp_folder(buf))
		return 0;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(buf, buflen, "%s/hubsync-demo-XXXXXX", tmp) <
		    buflen && hs_os_make_temp_folder(buf))
		return 0;
	snprintf(err, errlen, "cannot create a demo folder here or in %s: %s "
		 "(pass a folder: hubsync demo DIR)", tmp, strerror(errno));
	return -1;
}
