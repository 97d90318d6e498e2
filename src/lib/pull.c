/*
 * pull.c - the rows a replica pulls from a master store's change feed.
 *
 * A row is handed over when anything of it has a sequence above the
 * replica's watermark. A row whose existence changed above it (vseq)
 * comes whole; otherwise only the columns announced above it. Columns
 * this sync pushed itself are not handed back (the replica has them);
 * the pusher's own pushes of earlier syncs are (the master's copy is the
 * truth: a killed sync may have lost their stamps or ids on the replica).
 */
#include "pull.h"

#include <stdlib.h>
#include <string.h>

void hs_pull_clear(hs_pull *p)
{
	hs_rowset_clear(&p->conflicts);
	hs_rowset_clear(&p->history);
	hs_rowset_clear(&p->rebases);
	hs_rowset_clear(&p->sites);
	free(p->max_hlc_user);
	memset(p, 0, sizeof(*p));
}

/* One table's part of the pull. */
typedef struct pull_ctx {
	hs_store *st;
	int64_t since;
	hs_rowchange rc; /* the row at hand: flags owned, values borrowed */
	hs_pull_fn fn;
	void *ctx;
	hs_pull *out;
} pull_ctx;

/* Which columns of the row version rm go to the replica; 0: none. */
static int pull_filter(void *ctx, const hs_row_meta *rm)
{
	pull_ctx *p = ctx;
	hs_store *st = p->st;
	hs_rowchange *rc = &p->rc;
	int any = 0;
	if (!rc->alive) {
		rc->foreign = rm->site != st->site;
		return 1;
	}
	int whole = rm->vseq > p->since &&
		    !(rm->site == st->site && rm->vseq > st->began);
	rc->foreign = 0;
	for (int i = 0; i < rc->ncols; i++) {
		const hs_col_clock *cc = &rm->cols[i];
		int mine_now = cc->site == st->site && cc->vseq > st->began;
		rc->hlc[i] = cc->hlc;
		rc->changed[i] = whole || (cc->seq > p->since && !mine_now);
		if (!rc->changed[i])
			continue;
		any = 1;
		rc->foreign |= cc->site != st->site;
		if (cc->hlc > p->out->max_hlc && cc->site != st->site) {
			p->out->max_hlc = cc->hlc;
			p->out->max_hlc_site = cc->site;
		}
	}
	return any;
}

static int pull_deliver(void *ctx, const hs_row_meta *rm, sqlite3_value **pk,
			sqlite3_value **vals)
{
	pull_ctx *p = ctx;
	hs_rowchange *rc = &p->rc;
	int sr;
	(void)rm;
	if (rc->alive && !vals)
		return SQLITE_OK; /* the metadata's row is not in the table */
	memcpy(rc->pk, pk, sizeof(rc->pk));
	rc->vals = vals;
	sr = p->fn(p->ctx, rc);
	memset(rc->pk, 0, sizeof(rc->pk));
	rc->vals = NULL;
	return sr;
}

static int pull_part(hs_store *st, const hs_schema *s, int ti, int alive,
		     int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out)
{
	const hs_table *t = &s->t[ti];
	pull_ctx p;
	int sr;
	memset(&p, 0, sizeof(p));
	p.st = st;
	p.since = since;
	p.fn = fn;
	p.ctx = ctx;
	p.out = out;
	p.rc.table = ti;
	p.rc.ncols = t->ncols;
	p.rc.alive = alive;
	p.rc.changed = calloc(hs_count(t->ncols), 1);
	p.rc.hlc = calloc(hs_count(t->ncols), sizeof(int64_t));
	sr = p.rc.changed && p.rc.hlc
		     ? st->ops->feed(st, t, alive, since, pull_filter, pull_deliver,
				     &p)
		     : SQLITE_NOMEM;
	free(p.rc.changed);
	free(p.rc.hlc);
	return sr;
}

/* The user name of the site whose clock was the largest seen. */
static int name_max_hlc_site(hs_store *st, hs_pull *out)
{
	char *id = NULL;
	int sr = SQLITE_OK;
	if (out->max_hlc_site) {
		free(out->max_hlc_user);
		out->max_hlc_user = NULL;
		sr = st->ops->site_info(st, out->max_hlc_site, &out->max_hlc_user,
					&id);
		free(id);
	}
	return sr;
}

int hs_pull_rows(hs_store *st, const hs_schema *s, int64_t since,
		 hs_pull_fn fn, void *ctx, hs_pull *out)
{
	int sr = SQLITE_OK;
	/* Deletes first, children before parents (a row taking over a
	 * UNIQUE value then finds it free); then the rest, parents first. */
	for (int k = s->n - 1; sr == SQLITE_OK && k >= 0; k--)
		sr = pull_part(st, s, k, 0, since, fn, ctx, out);
	for (int k = 0; sr == SQLITE_OK && k < s->n; k++)
		sr = pull_part(st, s, k, 1, since, fn, ctx, out);
	return sr == SQLITE_OK ? name_max_hlc_site(st, out) : sr;
}

int hs_pull_table(hs_store *st, const hs_schema *s, int ti, int64_t since,
		  hs_pull_fn fn, void *ctx, hs_pull *out)
{
	int sr = pull_part(st, s, ti, 0, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		sr = pull_part(st, s, ti, 1, since, fn, ctx, out);
	return sr == SQLITE_OK ? name_max_hlc_site(st, out) : sr;
}
