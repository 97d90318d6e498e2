/*
 * pull.h - the rows a replica pulls: read from a master store's change
 * feed above the replica's watermark and handed over one at a time.
 */
#ifndef HS_PULL_H
#define HS_PULL_H

#include "changes.h"
#include "store.h"

/* What a pull brings besides the rows: conflicts and history above the
 * watermark, new ids given to this site's rows, the office's sites and the
 * new watermark. max_hlc is the largest column HLC of another PC among
 * the rows. */
typedef struct hs_pull {
	hs_rowset conflicts;
	hs_rowset history;
	hs_rowset rebases; /* (tbl, old_key, new_key) of this site's rows */
	hs_rowset sites;   /* hs_master_sites */
	int64_t seq;
	int64_t max_hlc;
	int max_hlc_site;
	char *max_hlc_user;
} hs_pull;

void hs_pull_clear(hs_pull *p);

/* Called for each pulled row; return a SQLite code (not OK stops). The
 * row's values are the master's, valid during the call only. */
typedef int (*hs_pull_fn)(void *ctx, hs_rowchange *rc);

/*
 * Stream the rows changed above since by anyone (the columns this sync's
 * own push set aside) to fn: deletes first, children before parents, then
 * the rest parents first (s is parents first). Returns a SQLite code.
 */
int hs_pull_rows(hs_store *st, const hs_schema *s, int64_t since,
		 hs_pull_fn fn, void *ctx, hs_pull *out);
/* The same for table ti alone (a catch-up: see tracking.h). */
int hs_pull_table(hs_store *st, const hs_schema *s, int ti, int64_t since,
		  hs_pull_fn fn, void *ctx, hs_pull *out);

#endif
