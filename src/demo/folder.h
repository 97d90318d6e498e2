/*
 * folder.h - the demo's folder: making a fresh one, or reusing the folder of
 * an earlier run without touching anything that is not the demo's.
 */
#ifndef HS_DEMO_FOLDER_H
#define HS_DEMO_FOLDER_H

#include <stddef.h>

/* The master's folder in the demo folder, and the name it has while the
 * demo plays "the share is not mounted". */
#define HS_DEMO_FOLDER_NAS "nas"
#define HS_DEMO_FOLDER_NAS_AWAY "nas-unmounted"

/*
 * Make dir ready for a run: create it (and its parents) if missing, then
 * check that it is empty or marked as a demo folder by an earlier run. In a
 * demo folder, remove what a run creates (nas/, nas-unmounted/ and files
 * whose names start with "<user>.db" for the given NULL-terminated user
 * names); anything else
 * is left alone. Then create nas/ and the marker. Returns 0, or -1 with err
 * set (a non-empty folder that is not the demo's is refused, untouched).
 */
int hs_demo_folder_prepare(const char *dir, const char *const *users,
			   char *err, size_t errlen);

/*
 * Create a fresh folder ./hubsync-demo-XXXXXX, or $TMPDIR/hubsync-demo-XXXXXX
 * (default /tmp) when the current folder is not writable, and write its path
 * to buf. Returns 0, or -1 with err set.
 */
int hs_demo_folder_make_temp(char *buf, size_t buflen, char *err,
			     size_t errlen);

#endif
