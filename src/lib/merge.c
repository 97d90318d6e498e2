/*
 * merge.c - the merge rules: one push of a replica into a master store
 * (docs/INTERNALS.md, "Merge rules"). The master alone decides; the rules
 * exist only here and reach the store only through store.h, knowing no
 * SQL of any store.
 *
 * Per pushed row, with the versions the store has (encode.h):
 *  - a column set by a version the writer had seen (vseq <= its base), or
 *    by the writer itself, is overwritten: no conflict;
 *  - otherwise the two are concurrent: equal values are no conflict, else
 *    the later (HLC, site) wins and the loser is kept as a conflict; when
 *    the pushed value loses, the winner is re-announced (its seq moves) so
 *    that the pusher pulls it back;
 *  - a delete wins over concurrent updates and inserts (the lost row kept
 *    as a whole-row conflict); an insert after a delete its writer had
 *    seen brings the row back;
 *  - a column set to `json` (hubsync merge) whose two concurrent values
 *    are JSON: merged against the value the writer had seen (its base,
 *    from the audit trail) by jsonmerge.c, each path both changed a
 *    conflict of its own; when the base cannot be found or a value is not
 *    JSON, the rule above (one value);
 *  - integer ids made offline that another row already has are re-keyed
 *    (references in the same push follow); a UNIQUE value another row
 *    holds is retried after the rest of the push, then kept out as a
 *    conflict; a parent's delete takes the children others added along.
 * Every change takes the next sequence of the store's change feed.
 */
#include "merge.h"

#include "json.h"
#include "jsonmerge.h"

#include <stdlib.h>
#include <string.h>

typedef struct rebase {
	int table;
	int64_t old_key, new_key;
} rebase;

typedef struct doomed {
	int table;
	sqlite3_value *key;
	int64_t hlc;
} doomed;

/* One push being merged (store.h: the store's merging), batch after
 * batch: the state that spans the whole push. */
struct hs_merge {
	hs_store *st;
	const hs_schema *s;
	hs_merge_stats *stats;
	hs_changeset later; /* rows that met a UNIQUE value: retried at the end */
	size_t nrows;     /* rows merged so far */
	rebase *rebases;  /* ids given to this push's rows */
	int nrebases;
	int *unique;      /* per schema table: has UNIQUE columns (lazy) */
	int failed_table; /* schema index of the row a merge failed on */
	doomed *doomed;   /* parents this push deleted */
	size_t ndoomed;
	int64_t *local_max; /* per table (a copy), or NULL */
	int64_t now_ms;
	hs_merge_rules rules; /* columns merged inside JSON (lazy) */
	int rules_loaded;
	size_t set_min; /* the shortest run of new rows written as a set
			 * (0: never; HS_MERGE_SET_MIN, see hs_merge_begin) */
};

static void doomed_clear(hs_merge *m);

/* rm (initialised here for t) from the store. */
static int meta_load(hs_merge *m, const hs_table *t, sqlite3_value **pk,
		     hs_row_meta *rm)
{
	int sr = hs_row_meta_init(rm, t->ncols);
	return sr == SQLITE_OK ? m->st->ops->meta_get(m->st, t, pk, rm) : sr;
}

static int meta_store(hs_merge *m, const hs_table *t, sqlite3_value **pk,
		      const hs_row_meta *rm)
{
	return m->st->ops->meta_put(m->st, t, pk, rm);
}

static int savepoint(hs_merge *m, int action, const char *name)
{
	return m->st->ops->savepoint(m->st, action, name);
}

/* JSON text of a whole row (for whole-row conflicts), or NULL. */
static char *row_json(const hs_table *t, sqlite3_value **vals)
{
	json_t *o = json_object();
	for (int i = 0; o && i < t->ncols; i++)
		json_object_set_new(o, t->cols[i], hs_json_value(vals[i]));
	return hs_json_dump(o);
}

typedef struct conflict_rec {
	const hs_table *t;
	sqlite3_value **pk;
	const char *col;            /* NULL: whole row */
	sqlite3_value *local_value; /* used when col */
	sqlite3_value *remote_value;
	const char *local_text; /* used when !col (row JSON or NULL) */
	const char *remote_text;
	int local_wins;
	int remote_site;
} conflict_rec;

/* Record conflict c at the next sequence. */
static int conflict_put(hs_merge *m, const conflict_rec *c)
{
	char when[32], *pk, *ru = NULL, *rs = NULL;
	hs_conflict_row row;
	int sr;
	hs_iso_time(m->now_ms, when);
	pk = hs_json_pk_text(c->t, c->pk);
	sr = m->st->ops->site_info(m->st, c->remote_site, &ru, &rs);
	memset(&row, 0, sizeof(row));
	row.seq = ++m->st->seq;
	row.tbl = c->t->name;
	row.pk_json = pk ? pk : "{}";
	row.col = c->col;
	if (c->col) {
		row.local_value = c->local_value;
		row.remote_value = c->remote_value;
	} else {
		row.local_text = c->local_text;
		row.remote_text = c->remote_text;
	}
	row.winner = c->local_wins ? "local" : "remote";
	row.local_user = m->st->user;
	row.remote_user = ru;
	row.detected_at = when;
	row.local_site = m->st->site_id;
	row.remote_site = rs;
	if (sr == SQLITE_OK)
		sr = m->st->ops->conflict_add(m->st, &row);
	free(pk);
	free(ru);
	free(rs);
	return sr;
}

/* An insert's changes: no values (jansson's "{}" without building it). */
static const char INSERT_CHANGES[] = "{}";

/* h: the history row of op on row pk at the store's current sequence,
 * written by hlc, with changes ch (the caller's, kept until h is done
 * with; NULL: out of memory); when holds its time's text. SQLite code;
 * event_free(h) in any case. */
static int event_fill(hs_merge *m, const hs_table *t, sqlite3_value **pk,
		      const char *op, const char *ch, int64_t hlc,
		      hs_history_row *h, char when[32])
{
	char *key = hs_key_text(pk, t->npk);
	char *pkj = hs_json_pk_text(t, pk);
	hs_iso_time(hlc >> 16, when);
	*h = (hs_history_row){m->st->seq, t->name, key, pkj, op, m->st->user,
			      when, ch};
	return key && pkj && ch ? SQLITE_OK : SQLITE_NOMEM;
}

/* The insert events of rows nr[0..n) (new, their versions set; none for
 * a row there before tracking), as event_fill would give them, but their
 * key texts in texts: h.key and h.pk_json point into it (no event_free;
 * kept until texts is freed or written again). SQLite code. */
static int events_fill_set(hs_merge *m, const hs_table *t, hs_new_row *nr,
			   size_t n, hs_buf *texts)
{
	size_t *off = malloc((2 * n + 1) * sizeof(*off));
	if (!off)
		return SQLITE_NOMEM;
	for (size_t k = 0; k < n; k++) {
		if (nr[k].rc->existing)
			continue;
		off[2 * k] = texts->len;
		hs_key_text_put(texts, nr[k].rc->pk, t->npk);
		hs_buf_putn(texts, "", 1);
		off[2 * k + 1] = texts->len;
		hs_json_pk_put(texts, t, nr[k].rc->pk);
		hs_buf_putn(texts, "", 1);
	}
	for (size_t k = 0, last = n; !texts->oom && k < n; k++) {
		const hs_rowchange *rc = nr[k].rc;
		if (rc->existing)
			continue;
		/* rows written in the same millisecond: its text once */
		if (last < n && nr[last].rc->row_hlc >> 16 == rc->row_hlc >> 16)
			memcpy(nr[k].at, nr[last].at, sizeof nr[k].at);
		else
			hs_iso_time(rc->row_hlc >> 16, nr[k].at);
		last = k;
		nr[k].h = (hs_history_row){nr[k].rm.seq, t->name,
					   texts->s + off[2 * k],
					   texts->s + off[2 * k + 1], "insert",
					   m->st->user, nr[k].at,
					   INSERT_CHANGES};
	}
	free(off);
	return texts->oom ? SQLITE_NOMEM : SQLITE_OK;
}

static void event_free(hs_history_row *h)
{
	free((char *)h->key);
	free((char *)h->pk_json);
	memset(h, 0, sizeof(*h));
}

/* Append a history row: op and {"col": [old, new]} of changed columns. */
static int history_put(hs_merge *m, const hs_table *t, sqlite3_value **pk,
		       const char *op, sqlite3_value **oldv,
		       sqlite3_value **newv, const unsigned char *changed,
		       int64_t hlc)
{
	char when[32], *dump = NULL;
	json_t *o = oldv || newv ? json_object() : NULL;
	int sr;
	for (int i = 0; o && (oldv || newv) && i < t->ncols; i++) {
		if (changed && (!changed[i] || hs_value_same(oldv[i], newv[i])))
			continue;
		json_t *pair = json_array();
		json_array_append_new(pair, oldv ? hs_json_value(oldv[i])
						 : json_null());
		json_array_append_new(pair, newv ? hs_json_value(newv[i])
						 : json_null());
		json_object_set_new(o, t->cols[i], pair);
	}
	if (o && json_object_size(o) == 0 && strcmp(op, "update") == 0) {
		json_decref(o); /* only values written again: nothing to show */
		return SQLITE_OK;
	}
	if (oldv || newv)
		dump = hs_json_dump(o);
	hs_history_row h;
	sr = event_fill(m, t, pk, op, oldv || newv ? dump : INSERT_CHANGES,
			hlc, &h, when);
	if (sr == SQLITE_OK)
		sr = m->st->ops->history_add(m->st, &h);
	event_free(&h);
	free(dump);
	return sr;
}

/* Columns that record when and by whom a row was written: they merge by
 * last writer like the rest, but two values of them are not a conflict
 * anyone needs to review (two installs writing the same seed row at
 * different times differ only there). */
static int bookkeeping(const char *col)
{
	return strcmp(col, "updated_at") == 0 || strcmp(col, "updated_by") == 0 ||
	       strcmp(col, "created_at") == 0;
}

/* The largest base among the columns a push changes (an update-only
 * row's view of the row), or the row base for an insert. */
static int64_t push_base(const hs_rowchange *rc)
{
	int64_t b = rc->row_base;
	if (rc->inserted)
		return b;
	for (int i = 0; i < rc->ncols; i++)
		if (rc->changed[i] && rc->base[i] > b)
			b = rc->base[i];
	return b;
}

/* The site that set any column of the row after base, other than me
 * (-1: a value the master merged, nobody's), or 0 when none did. */
static int concurrent_site(const hs_row_meta *rm, int me, int64_t base)
{
	int other = 0;
	if (rm->vseq > base && rm->site != me)
		other = rm->site ? rm->site : -1;
	for (int i = 0; other <= 0 && i < rm->ncols; i++)
		if (rm->cols[i].vseq > base && rm->cols[i].site != me)
			other = rm->cols[i].site ? rm->cols[i].site : -1;
	return other;
}

/* 1 if the rows a and b hold the same values (bookkeeping aside). */
static int same_content(const hs_table *t, sqlite3_value **a,
			sqlite3_value **b)
{
	for (int i = 0; i < t->ncols; i++)
		if (!bookkeeping(t->cols[i]) && !hs_value_same(a[i], b[i]))
			return 0;
	return 1;
}

/* Point references to rows this push has re-keyed at their new ids. */
static int rewrite_references(hs_merge *m, const hs_schema *s,
			      hs_rowchange *rc)
{
	const hs_table *t = &s->t[rc->table];
	for (int f = 0; f < t->nfk; f++) {
		sqlite3_value *v = rc->vals[t->fk[f].col];
		if (!v || sqlite3_value_type(v) != SQLITE_INTEGER)
			continue;
		for (int k = 0; k < m->nrebases; k++) {
			rebase *rb = &m->rebases[k];
			if (!hs_fkey_targets_key(&t->fk[f], &s->t[rb->table]) ||
			    rb->old_key != sqlite3_value_int64(v))
				continue;
			sqlite3_value *nv = hs_value_int(m->st->select1, rb->new_key);
			if (!nv)
				return SQLITE_NOMEM;
			sqlite3_value_free(v);
			rc->vals[t->fk[f].col] = nv;
			break;
		}
	}
	return SQLITE_OK;
}

/* Give rc (a new row of an integer-key table) an id no PC has used:
 * above the master's ids, tombstones, the pusher's own ids and ids
 * already given in this push. Records the change for the pusher. */
static int rebase_row(hs_merge *m, const hs_schema *s, hs_rowchange *rc,
		      hs_row_meta *rm)
{
	const hs_table *t = &s->t[rc->table];
	int64_t old_key = sqlite3_value_int64(rc->pk[0]), key = 0;
	int sr = m->st->ops->max_key(m->st, t, &key);

	if (sr != SQLITE_OK)
		return sr;
	if (m->local_max && m->local_max[rc->table] > key)
		key = m->local_max[rc->table];
	for (int k = 0; k < m->nrebases; k++)
		if (m->rebases[k].table == rc->table && m->rebases[k].new_key > key)
			key = m->rebases[k].new_key;
	do {
		key++;
		sqlite3_value *nv = hs_value_int(m->st->select1, key);
		if (!nv)
			return SQLITE_NOMEM;
		sqlite3_value_free(rc->pk[0]);
		rc->pk[0] = nv;
		hs_row_meta_clear(rm);
		if ((sr = meta_load(m, t, rc->pk, rm)) != SQLITE_OK)
			return sr;
	} while (rm->found);
	sqlite3_value_free(rc->vals[t->pk[0]]);
	rc->vals[t->pk[0]] = sqlite3_value_dup(rc->pk[0]);

	rebase *rb = realloc(m->rebases, (size_t)(m->nrebases + 1) * sizeof(*rb));
	if (!rb || !rc->vals[t->pk[0]])
		return SQLITE_NOMEM;
	m->rebases = rb;
	rb[m->nrebases++] = (rebase){rc->table, old_key, key};
	return m->st->ops->rebase_add(m->st, ++m->st->seq, t, old_key, key);
}

/* JSON of a row of t other than vals' own that holds one of vals' UNIQUE
 * values (malloc'd), and its writer's site into *site; NULL if none. */
static char *unique_holder(hs_merge *m, const hs_table *t,
			   sqlite3_value **vals, int *site)
{
	sqlite3_value **row = calloc(hs_count(t->ncols), sizeof(*row));
	sqlite3_value *hpk[HS_MAX_PK];
	hs_row_meta hm;
	char *found = NULL;
	int there = 0;
	if (!row || m->st->ops->unique_holder(m->st, t, vals, row, &there) !=
			    SQLITE_OK || !there)
		goto out;
	found = row_json(t, row);
	for (int k = 0; k < t->npk; k++) /* who wrote the row that holds it */
		hpk[k] = row[t->pk[k]];
	if (meta_load(m, t, hpk, &hm) == SQLITE_OK && hm.found)
		*site = hm.site;
	hs_row_meta_clear(&hm);
out:
	for (int i = 0; row && i < t->ncols; i++)
		sqlite3_value_free(row[i]);
	free(row);
	return found;
}

/* The pushed row rc broke a constraint (a UNIQUE value another row holds):
 * keep it as a conflict, and make the pusher take the master's state
 * back: a new row is announced deleted, an update re-announces the
 * master's values. */
static int reject_row(hs_merge *m, const hs_table *t, hs_rowchange *rc,
		      hs_row_meta *rm, int existed, int64_t *conflicts)
{
	int holder_site = 0;
	char *holder = unique_holder(m, t, rc->vals, &holder_site);
	char *mine = row_json(t, rc->vals);
	conflict_rec c = {t, rc->pk, NULL, NULL, NULL, mine, holder, 0, holder_site};
	int sr = conflict_put(m, &c);
	free(holder);
	free(mine);
	if (sr != SQLITE_OK)
		return sr;
	(*conflicts)++;
	int64_t seq = ++m->st->seq;
	if (!existed) {
		rm->alive = 0;
		rm->site = 0; /* nobody's: every replica, the pusher too, applies it */
		rm->vseq = seq;
		rm->hlc = rc->row_hlc;
	}
	rm->seq = seq;
	for (int i = 0; i < t->ncols; i++)
		if (rc->changed[i] && existed)
			rm->cols[i].seq = seq;
	return meta_store(m, t, rc->pk, rm);
}

/* 1 if sr says another row holds one of the row's UNIQUE values. Other
 * failures (CHECK, NOT NULL, a trigger on the master) stop the sync. */
static int is_constraint(int sr) { return sr == SQLITE_CONSTRAINT_UNIQUE; }

/* Merge one pushed row. *conflicts counts new conflicts. */
/*
 * Foreign keys across PCs. A parent deleted on one PC while another adds
 * or keeps a child under it: the delete wins, as for any row, and takes
 * the children the deleting PC had not deleted itself along (each kept as
 * a conflict, so it can be restored); a child pushed later under a parent
 * already deleted is kept out the same way. Every PC then holds clean
 * foreign keys, and a freed id is never reused under old children.
 */

/* Delete row vals (all columns of t) from the master as a consequence of
 * a parent's delete, announce it to everyone and keep it as a conflict. */
static int drop_dependent(hs_merge *m, const hs_table *t, sqlite3_value **vals,
			  int64_t hlc, int64_t now_ms, int64_t *conflicts,
			  int pushed)
{
	sqlite3_value *pk[HS_MAX_PK] = {0};
	hs_row_meta rm = {0};
	char *row = row_json(t, vals);
	int sr;
	for (int k = 0; k < t->npk; k++)
		pk[k] = vals[t->pk[k]];
	sr = row ? meta_load(m, t, pk, &rm) : SQLITE_NOMEM;
	if (sr == SQLITE_OK) {
		/* pushed: the pusher's own row lost to a parent deleted
		 * earlier; else the pusher's delete took another's row */
		conflict_rec c = {t, pk, NULL, NULL, NULL, pushed ? row : NULL,
				  pushed ? NULL : row, !pushed, pushed ? 0 : rm.site};
		sr = conflict_put(m, &c);
	}
	if (sr == SQLITE_OK)
		sr = m->st->ops->row_delete(m->st, t, pk);
	if (sr == SQLITE_OK) {
		(*conflicts)++;
		rm.alive = 0;
		rm.site = 0; /* nobody's: every PC applies it */
		rm.hlc = hlc;
		rm.seq = rm.vseq = ++m->st->seq;
		sr = history_put(m, t, pk, "delete", vals, NULL, NULL, hlc);
	}
	if (sr == SQLITE_OK)
		sr = meta_store(m, t, pk, &rm);
	hs_row_meta_clear(&rm);
	free(row);
	return sr;
}

/* The parent row of table pi with key value key is gone: drop the
 * children still under it, and theirs. */
static int cascade_delete(hs_merge *m, const hs_schema *s, int pi,
			  sqlite3_value *key, int64_t hlc, int64_t now_ms,
			  int64_t *conflicts, int depth)
{
	int sr = SQLITE_OK;
	for (int ci = 0; sr == SQLITE_OK && ci < s->n && depth < 16; ci++) {
		const hs_table *c = &s->t[ci];
		for (int f = 0; sr == SQLITE_OK && f < c->nfk; f++) {
			hs_rowset kids = {0};
			if (!hs_fkey_targets_pk(&c->fk[f], &s->t[pi]))
				continue;
			sr = m->st->ops->referencing(m->st, c, c->fk[f].col, key,
						     &kids);
			for (size_t r = 0; sr == SQLITE_OK && r < kids.n; r++) {
				sqlite3_value **v = &kids.v[r * (size_t)kids.ncols];
				sr = drop_dependent(m, c, v, hlc, now_ms, conflicts, 0);
				if (sr == SQLITE_OK && c->npk == 1)
					sr = cascade_delete(m, s, ci, v[c->pk[0]], hlc,
							    now_ms, conflicts, depth + 1);
			}
			hs_rowset_clear(&kids);
		}
	}
	return sr;
}

/* Remember a deleted parent key: its remaining children are dropped
 * once the whole push is in (the same push may move them elsewhere). */
static int doom(hs_merge *m, int table, sqlite3_value *key, int64_t hlc)
{
	doomed *d = realloc(m->doomed, (m->ndoomed + 1) * sizeof(*d));
	if (!d)
		return SQLITE_NOMEM;
	m->doomed = d;
	d[m->ndoomed].table = table;
	d[m->ndoomed].hlc = hlc;
	if (!(d[m->ndoomed].key = sqlite3_value_dup(key)))
		return SQLITE_NOMEM;
	m->ndoomed++;
	return SQLITE_OK;
}

static void doomed_clear(hs_merge *m)
{
	for (size_t i = 0; i < m->ndoomed; i++)
		sqlite3_value_free(m->doomed[i].key);
	free(m->doomed);
	m->doomed = NULL;
	m->ndoomed = 0;
}

/* 1 if row rc points (through a foreign key) at a parent the master has
 * as deleted. */
static int parent_deleted(hs_merge *m, const hs_schema *s,
			  const hs_rowchange *rc)
{
	const hs_table *t = &s->t[rc->table];
	for (int f = 0; f < t->nfk; f++) {
		sqlite3_value *v = rc->vals[t->fk[f].col];
		if (!v || sqlite3_value_type(v) == SQLITE_NULL)
			continue;
		for (int pi = 0; pi < s->n; pi++) {
			const hs_table *p = &s->t[pi];
			hs_row_meta rm = {0};
			int gone;
			if (!hs_fkey_targets_pk(&t->fk[f], p))
				continue;
			gone = meta_load(m, p, &v, &rm) == SQLITE_OK && rm.found &&
			       !rm.alive;
			hs_row_meta_clear(&rm);
			if (gone)
				return 1;
		}
	}
	return 0;
}

/* One pushed row being merged: the push's row, the master's versions
 * and values of it, and what the merge decides. */
typedef struct row_merge {
	hs_merge *m;
	const hs_schema *s;
	const hs_table *t;
	hs_rowchange *rc;
	hs_row_meta rm;       /* the master's versions */
	sqlite3_value **old;  /* the master's values (when found) */
	unsigned char *win;   /* per column: the pushed value is written */
	int64_t *jhlc;        /* per column: the clock of a JSON merge, or 0 */
	unsigned char *jmade; /* per column: the value the JSON merge made */
	int found, live;      /* the master's row is there / alive */
	int final;            /* the last round: UNIQUE collisions conflict */
	sqlite3_value **parked; /* the master's row, taken out for a moment */
	int64_t *conflicts;
	int merged;           /* the row changed the master */
	int deferred;         /* a UNIQUE value it takes is held by a row this
			       * push may still move: retry it later (not in
			       * the final round); nothing of it is kept */
} row_merge;

/*
 * An integer id made offline that a different row already has on the
 * master, one the writer had not seen (another PC's, or even its own made
 * before it learnt that its earlier row got this id): the pushed row gets
 * a new id; the row at the old id comes back to the pusher whole. Rows
 * sent again after a restore (existing) are the same rows.
 */
static int rekey_if_taken(row_merge *x)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	int sr;
	if (!(t->intpk && rc->inserted && rc->alive && x->rm.found &&
	      x->rm.vseq > rc->row_base &&
	      (x->rm.site != m->st->site || !rc->existing) &&
	      sqlite3_value_type(rc->pk[0]) == SQLITE_INTEGER &&
	      (!x->live || !x->found || !same_content(t, x->old, rc->vals))))
		return SQLITE_OK;
	x->rm.seq = ++m->st->seq;
	for (int i = 0; i < t->ncols; i++)
		x->rm.cols[i].seq = x->rm.seq; /* pulled whole */
	if ((sr = meta_store(m, t, rc->pk, &x->rm)) != SQLITE_OK ||
	    (sr = rebase_row(m, x->s, rc, &x->rm)) != SQLITE_OK)
		return sr;
	for (int i = 0; i < t->ncols; i++) {
		sqlite3_value_free(x->old[i]);
		x->old[i] = NULL;
	}
	x->found = x->live = 0;
	return SQLITE_OK;
}

/* A pushed delete: the row goes (a concurrent edit of it is kept as a
 * conflict; its children go with it at the end of the push). */
static int merge_delete(row_merge *x)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	hs_row_meta *rm = &x->rm;
	int sr = SQLITE_OK, other;
	if (!x->live && (!rm->found || rm->alive)) {
		/* Never reached us: keep the delete, so that the same row
		 * pushed later by another PC (seed data every install wrote)
		 * does not bring it back. */
		rm->alive = 0;
		rm->hlc = rc->row_hlc;
		rm->site = m->st->site;
		rm->seq = rm->vseq = ++m->st->seq;
		sr = meta_store(m, t, rc->pk, rm);
	}
	if (!x->live)
		return sr; /* already gone */
	other = concurrent_site(rm, m->st->site, rc->row_base);
	if (other && x->found) {
		conflict_rec c = {t, rc->pk, NULL, NULL, NULL, NULL, NULL, 1, other};
		char *rt = row_json(t, x->old);
		c.remote_text = rt;
		sr = rt ? conflict_put(m, &c) : SQLITE_NOMEM;
		free(rt);
		if (sr != SQLITE_OK)
			return sr;
		(*x->conflicts)++;
	}
	if ((sr = m->st->ops->row_delete(m->st, t, rc->pk)) != SQLITE_OK)
		return sr;
	if (t->npk == 1 &&
	    (sr = doom(m, rc->table, rc->pk[0], rc->row_hlc)) != SQLITE_OK)
		return sr;
	rm->seq = rm->vseq = ++m->st->seq;
	rm->alive = 0;
	rm->hlc = rc->row_hlc;
	rm->site = m->st->site;
	sr = history_put(m, t, rc->pk, "delete", x->found ? x->old : NULL, NULL,
			 NULL, rc->row_hlc);
	if (sr == SQLITE_OK)
		sr = meta_store(m, t, rc->pk, rm);
	x->merged = 1;
	return sr;
}

/* rm: the versions of row rc of t written whole at seq (a new row). */
static void inserted_meta(hs_merge *m, const hs_table *t,
			  const hs_rowchange *rc, hs_row_meta *rm, int64_t seq)
{
	rm->alive = 1;
	rm->seq = rm->vseq = seq;
	rm->hlc = rc->row_hlc;
	rm->site = m->st->site;
	for (int i = 0; i < t->ncols; i++) {
		hs_col_clock *cc = &rm->cols[i];
		cc->seq = seq;
		if (rc->inserted && !rc->changed[i]) {
			/* a column the pusher does not have (an app upgrade
			 * it has not had): its default, set by nobody, so any
			 * write of it wins */
			cc->hlc = 0;
			cc->site = 0;
			cc->vseq = 0;
			continue;
		}
		cc->hlc = rc->changed[i] ? rc->hlc[i] : rc->row_hlc;
		cc->site = m->st->site;
		cc->vseq = seq;
	}
}

/* A pushed row the master does not have alive: a new row, unless it was
 * deleted concurrently (the delete wins; the row is kept as a conflict). */
static int merge_insert(row_merge *x)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	hs_row_meta *rm = &x->rm;
	int64_t base = push_base(rc);
	int sr;
	if (rm->found && !rm->alive && rm->vseq > base && rm->site != m->st->site) {
		conflict_rec c = {t, rc->pk, NULL, NULL, NULL, NULL, NULL, 0,
				  rm->site};
		char *lt = row_json(t, rc->vals);
		c.local_text = lt;
		sr = lt ? conflict_put(m, &c) : SQLITE_NOMEM;
		free(lt);
		if (sr != SQLITE_OK)
			return sr;
		(*x->conflicts)++;
		rm->seq = ++m->st->seq; /* re-announce the delete */
		return meta_store(m, t, rc->pk, rm);
	}
	memset(x->win, 1, (size_t)t->ncols);
	if ((sr = m->st->ops->row_put(m->st, t, rc->vals, x->win)) != SQLITE_OK) {
		if (is_constraint(sr) && x->final)
			sr = reject_row(m, t, rc, rm, 0, x->conflicts);
		else if (is_constraint(sr)) {
			x->deferred = 1;
			sr = SQLITE_OK;
		}
		return sr;
	}
	inserted_meta(m, t, rc, rm, ++m->st->seq);
	/* An insert's values are the row itself: the log says who and when.
	 * Rows that were there before tracking are not an event at all. */
	sr = rc->existing ? SQLITE_OK
			  : history_put(m, t, rc->pk, "insert", NULL, NULL, NULL,
					rc->row_hlc);
	if (sr == SQLITE_OK)
		sr = meta_store(m, t, rc->pk, rm);
	x->merged = 1;
	return sr;
}

/* The columns merged inside JSON, loaded once per push. */
static const hs_merge_rule *json_rule(hs_merge *m, const hs_table *t, int i)
{
	if (!m->rules_loaded) {
		m->rules_loaded = 1;
		if (m->st->ops->merge_rules &&
		    m->st->ops->merge_rules(m->st, &m->rules) != SQLITE_OK)
			hs_merge_rules_clear(&m->rules); /* whole values then */
	}
	return hs_merge_rules_find(&m->rules, t->name, t->cols[i]);
}

/* v parsed as JSON when it is TEXT holding JSON, else NULL. */
static json_t *json_of(sqlite3_value *v)
{
	if (!v || sqlite3_value_type(v) != SQLITE_TEXT)
		return NULL;
	return hs_jm_parse((const char *)sqlite3_value_text(v),
			   (size_t)sqlite3_value_bytes(v));
}

/* The canonical text of j as a value (SQL NULL for an absent one). */
static sqlite3_value *json_value_of(hs_merge *m, json_t *j)
{
	char *s = j ? hs_jm_canonical(j) : NULL;
	sqlite3_value *v = j ? (s ? hs_value_text(m->st->select1, s) : NULL)
			     : hs_value_blob(m->st->select1, SQLITE_NULL, NULL, 0);
	free(s);
	return v;
}

/* Record the paths of r that both sides changed as conflicts. */
static int json_conflicts(row_merge *x, int i, const hs_jm_result *r,
			  int local_wins)
{
	hs_merge *m = x->m;
	int sr = SQLITE_OK;
	for (size_t k = 0; sr == SQLITE_OK && k < r->nconflicts; k++) {
		const hs_jm_conflict *jc = &r->conflicts[k];
		sqlite3_value *lv = json_value_of(m, jc->incoming);
		sqlite3_value *rv = json_value_of(m, jc->current);
		conflict_rec c = {x->t, x->rc->pk, jc->path, lv, rv, NULL, NULL,
				  local_wins, x->rm.cols[i].site};
		sr = lv && rv ? conflict_put(m, &c) : SQLITE_NOMEM;
		if (sr == SQLITE_OK)
			(*x->conflicts)++;
		sqlite3_value_free(lv);
		sqlite3_value_free(rv);
	}
	return sr;
}

/*
 * Two concurrent, different values of column i, set to `json`: merge them
 * against the value the pusher had seen. *done when merged (x->win[i],
 * *touched and the value decided, the paths both changed recorded);
 * otherwise the caller applies the whole-value rule: not a JSON column, a
 * value that is not JSON, a base the store cannot find (the row inserted
 * after it, history pruned), or nothing to merge (a conflict about the
 * whole). A row deleted and made again since the base still has one (the
 * delete's history holds the old values): the pusher's changes are applied
 * to the new row, not its whole old value.
 */
static int json_merge(row_merge *x, int i, int local_wins, int *touched,
		      int *done)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	hs_col_clock *cc = &x->rm.cols[i];
	const hs_merge_rule *rule = json_rule(m, t, i);
	sqlite3_value *bv = NULL;
	json_t *base = NULL, *in = NULL, *cur = NULL;
	hs_jm_result r;
	int found = 0, sr = SQLITE_OK;

	*done = 0;
	memset(&r, 0, sizeof(r));
	if (!rule || !x->found || !m->st->ops->value_at ||
	    !(in = json_of(rc->vals[i])) || !(cur = json_of(x->old[i])))
		goto out;
	sr = m->st->ops->value_at(m->st, t, rc->pk, i, rc->base[i], &bv, &found);
	if (sr != SQLITE_OK || !found || !(base = json_of(bv)))
		goto out;
	if (hs_jm_merge(base, in, cur, local_wins, rule->key, t->cols[i], &r)) {
		sr = SQLITE_NOMEM;
		goto out;
	}
	if (hs_jm_whole_conflict(&r, t->cols[i]))
		goto out;
	if ((sr = json_conflicts(x, i, &r, local_wins)) != SQLITE_OK)
		goto out;
	*done = 1;
	x->jhlc[i] = rc->hlc[i] > cc->hlc ? rc->hlc[i] : cc->hlc;
	if (json_equal(r.merged, cur)) { /* nothing of the push is left */
		x->jhlc[i] = 0;
		*touched = 1;
	} else if (json_equal(r.merged, in)) {
		x->win[i] = 1; /* the pushed text as it is */
	} else {
		sqlite3_value *v = json_value_of(m, r.merged);
		if (!v) {
			sr = SQLITE_NOMEM;
			goto out;
		}
		sqlite3_value_free(rc->vals[i]);
		rc->vals[i] = v;
		x->win[i] = 1;
		x->jmade[i] = 1; /* nobody's: every PC pulls it, the pusher too */
	}
out:
	hs_jm_result_clear(&r);
	sqlite3_value_free(bv);
	json_decref(base);
	json_decref(in);
	json_decref(cur);
	return sr;
}

/* Decide column i of a row alive on both sides: x->win[i] when the pushed
 * value is written; *touched when the master's value must be announced
 * again to the pusher. Records the conflict of concurrent writes. */
static int decide_column(row_merge *x, int i, int *touched)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	hs_col_clock *cc = &x->rm.cols[i];
	int same = x->found && hs_value_same(x->old[i], rc->vals[i]);
	int seen = !x->rm.found || cc->site == m->st->site ||
		   cc->vseq <= rc->base[i];
	int sr;
	if (same) {
		/* Written again with the same value: it takes the new time
		 * (later writes compete with it), no conflict. */
		x->win[i] = rc->hlc[i] > cc->hlc;
		return SQLITE_OK;
	}
	if (seen) {
		x->win[i] = 1;
		return SQLITE_OK;
	}
	int local_wins = rc->hlc[i] > cc->hlc ||
			 (rc->hlc[i] == cc->hlc && m->st->site > cc->site);
	if (bookkeeping(t->cols[i])) {
		/* merged like any column, but not worth anyone's time */
		x->win[i] = local_wins;
		*touched |= !local_wins;
		return SQLITE_OK;
	}
	int merged = 0;
	if ((sr = json_merge(x, i, local_wins, touched, &merged)) != SQLITE_OK ||
	    merged)
		return sr;
	conflict_rec c = {t, rc->pk, t->cols[i], rc->vals[i], x->old[i], NULL,
			  NULL, local_wins, cc->site};
	if ((sr = conflict_put(m, &c)) != SQLITE_OK)
		return sr;
	(*x->conflicts)++;
	if (local_wins)
		x->win[i] = 1;
	else
		*touched = 1;
	return SQLITE_OK;
}

/* A row alive on both sides: column by column. */
static int merge_columns(row_merge *x)
{
	hs_merge *m = x->m;
	const hs_table *t = x->t;
	hs_rowchange *rc = x->rc;
	hs_row_meta *rm = &x->rm;
	hs_col_clock *before; /* the row's clocks before this merge */
	int any_win = 0, touched = 0, sr = SQLITE_OK;
	int64_t seq;

	/* The same row inserted by two PCs (seed data every install writes)
	 * is no change at all. */
	if (rc->inserted && x->found && same_content(t, x->old, rc->vals))
		return SQLITE_OK;
	if (!rm->found) { /* rows present before tracking: no clocks yet */
		rm->alive = 1;
		rm->site = m->st->site;
	}
	for (int i = 0; sr == SQLITE_OK && i < t->ncols; i++)
		if (rc->changed[i])
			sr = decide_column(x, i, &touched);
	if (sr != SQLITE_OK)
		return sr;
	/* Conflicts took sequence numbers: the row's changes come after. */
	seq = ++m->st->seq;
	if (!(before = malloc((size_t)t->ncols * sizeof(hs_col_clock))))
		return SQLITE_NOMEM;
	memcpy(before, rm->cols, (size_t)t->ncols * sizeof(hs_col_clock));
	for (int i = 0; i < t->ncols; i++) {
		hs_col_clock *cc = &rm->cols[i];
		if (x->win[i]) {
			any_win = 1;
			cc->hlc = x->jhlc[i] ? x->jhlc[i] : rc->hlc[i];
			cc->site = x->jmade[i] ? 0 : m->st->site;
			cc->vseq = cc->seq = seq;
		} else if (touched && rc->changed[i]) {
			cc->seq = seq; /* re-announce the winner to the pusher */
		}
	}
	if (x->parked) { /* write the merged row back whole */
		for (int i = 0; i < t->ncols; i++) {
			if (x->win[i])
				continue;
			sqlite3_value_free(rc->vals[i]);
			if (!(rc->vals[i] = sqlite3_value_dup(x->old[i]))) {
				free(before);
				return SQLITE_NOMEM;
			}
			x->win[i] = 2; /* the master's value, applied as is */
		}
	}
	if (!any_win && !touched && !x->parked) {
		m->st->seq--; /* nothing changed: give the number back */
		goto out;
	}
	rm->seq = seq;
	if (any_win || x->parked) {
		sr = m->st->ops->row_put(m->st, t, rc->vals, x->win);
		if (sr != SQLITE_OK) {
			if (is_constraint(sr) && x->final) {
				/* the row keeps its clocks; re-announce it */
				memcpy(rm->cols, before,
				       (size_t)t->ncols * sizeof(hs_col_clock));
				sr = reject_row(m, t, rc, rm, 1, x->conflicts);
			} else if (is_constraint(sr)) {
				x->deferred = 1;
				sr = SQLITE_OK;
			}
			goto out;
		}
		int64_t when = rc->row_hlc;
		for (int i = 0; i < t->ncols; i++)
			if (x->win[i] && rc->hlc[i] > when)
				when = rc->hlc[i];
		sr = history_put(m, t, rc->pk, "update", x->old, rc->vals, x->win,
				 when);
		if (sr != SQLITE_OK)
			goto out;
		x->merged = 1;
	}
	sr = meta_store(m, t, rc->pk, rm);
out:
	free(before);
	return sr;
}

/*
 * Merge one pushed row (parked: the master's row was taken out for a
 * moment, these are its values). *merged is set when it changed the
 * master; *deferred when it must be retried after the others (a UNIQUE
 * value held by a row this push may still move; never in the final round:
 * the caller undoes what it wrote). Returns a SQLite code.
 */
static int merge_row(hs_merge *m, const hs_schema *s, hs_rowchange *rc,
		     int64_t now_ms, int64_t *conflicts, int *merged, int final,
		     sqlite3_value **parked, int *deferred)
{
	row_merge x;
	const hs_table *t = &s->t[rc->table];
	int sr;

	memset(&x, 0, sizeof(x));
	x.m = m;
	x.s = s;
	x.t = t;
	x.rc = rc;
	x.final = final;
	x.parked = parked;
	x.conflicts = conflicts;
	x.old = calloc(hs_count(t->ncols), sizeof(*x.old));
	x.win = calloc(hs_count(t->ncols), 1);
	x.jhlc = calloc(hs_count(t->ncols), sizeof(*x.jhlc));
	x.jmade = calloc(hs_count(t->ncols), 1);
	*merged = 0;
	*deferred = 0;
	if (!x.old || !x.win || !x.jhlc || !x.jmade) {
		sr = SQLITE_NOMEM;
		goto cleanup;
	}
	if (rc->alive && (sr = rewrite_references(m, s, rc)) != SQLITE_OK)
		goto cleanup;
	sr = meta_load(m, t, rc->pk, &x.rm);
	if (sr == SQLITE_OK && !parked)
		sr = m->st->ops->row_get(m->st, t, rc->pk, x.old, &x.found);
	if (sr == SQLITE_OK && parked) { /* its values, taken out */
		x.found = 1;
		for (int i = 0; i < t->ncols; i++)
			if (!(x.old[i] = sqlite3_value_dup(parked[i])))
				sr = SQLITE_NOMEM;
	}
	if (sr != SQLITE_OK)
		goto cleanup;
	/* A row the metadata calls alive but the table lacks (a master
	 * edited by hand) is treated as gone. */
	x.live = x.rm.found ? x.rm.alive && x.found : x.found;
	if ((sr = rekey_if_taken(&x)) != SQLITE_OK)
		goto cleanup;
	/* Its parent is gone: it goes too (kept as a conflict). After the
	 * re-keying: a new row whose id another PC's row has must not take
	 * that row with it. */
	if (rc->alive && t->nfk && parent_deleted(m, s, rc))
		sr = drop_dependent(m, t, rc->vals, rc->row_hlc, now_ms, conflicts, 1);
	else if (!rc->alive)
		sr = merge_delete(&x);
	else if (!x.live)
		sr = merge_insert(&x);
	else
		sr = merge_columns(&x);
	*merged = x.merged;
	*deferred = x.deferred;
cleanup:
	if (x.old)
		for (int i = 0; i < t->ncols; i++)
			sqlite3_value_free(x.old[i]);
	free(x.old);
	free(x.win);
	free(x.jhlc);
	free(x.jmade);
	hs_row_meta_clear(&x.rm);
	return sr;
}

/* 1 if table t has a UNIQUE constraint besides its key (lazily cached). */
static int has_unique(hs_merge *m, const hs_schema *s, int ti)
{
	if (!m->unique) {
		m->unique = calloc(hs_count(s->n), sizeof(int));
		if (!m->unique)
			return 1;
		for (int i = 0; i < s->n; i++)
			if (m->st->ops->has_unique(m->st, &s->t[i], &m->unique[i])
			    != SQLITE_OK)
				m->unique[i] = 1; /* unsure: the careful path */
	}
	return m->unique[ti];
}

/*
 * Merge one row inside a savepoint when its table has UNIQUE columns: a
 * value it takes may be held by a row this same push moves away later
 * (one user swapping two numbers), so a collision is undone and the row
 * retried after the others (*deferred); only in the final round is it a
 * conflict. Returns a SQLite code.
 */
static int merge_guarded(hs_merge *m, const hs_schema *s, hs_rowchange *rc,
			 int64_t now_ms, hs_merge_stats *st, int final,
			 int *deferred)
{
	const hs_table *t = &s->t[rc->table];
	int merged = 0, sr, guard = !final && has_unique(m, s, rc->table);
	int64_t seq0 = m->st->seq, conflicts0 = st->conflicts;
	int nreb0 = m->nrebases;
	sqlite3_value *key0 = NULL;

	if (guard) {
		if ((sr = savepoint(m, HS_SAVEPOINT, "hs_row")) != SQLITE_OK)
			return sr;
		if (t->intpk && !(key0 = sqlite3_value_dup(rc->pk[0])))
			return SQLITE_NOMEM;
	}
	sr = merge_row(m, s, rc, now_ms, &st->conflicts, &merged, final, NULL,
		       deferred);
	if (guard && sr == SQLITE_OK && *deferred) {
		/* Undo the row entirely, new id included: the retry decides
		 * again. */
		savepoint(m, HS_ROLLBACK_TO, "hs_row");
		m->st->seq = seq0;
		st->conflicts = conflicts0;
		m->nrebases = nreb0;
		if (key0 && !hs_value_same(key0, rc->pk[0])) {
			sqlite3_value_free(rc->pk[0]);
			sqlite3_value_free(rc->vals[t->pk[0]]);
			rc->pk[0] = key0;
			rc->vals[t->pk[0]] = sqlite3_value_dup(key0);
			key0 = NULL;
			if (!rc->vals[t->pk[0]])
				sr = SQLITE_NOMEM;
		}
	}
	if (guard)
		savepoint(m, HS_RELEASE, "hs_row");
	sqlite3_value_free(key0);
	if (sr != SQLITE_OK)
		m->failed_table = rc->table;
	else if (!*deferred)
		st->pushed[rc->table] += merged;
	return sr;
}

/*
 * Rows that hold each other's UNIQUE values (one user swapped two quote
 * numbers) cannot be written one at a time. Take them all out, then merge
 * each into its place, in one savepoint. SQLITE_OK if that worked; else
 * everything is as before and the rows become conflicts one by one.
 */
static int merge_group(hs_merge *m, const hs_schema *s, hs_changeset *cs,
		       const size_t *rows, size_t n, int64_t now_ms,
		       hs_merge_stats *st)
{
	sqlite3_value ***parked = calloc(n, sizeof(*parked));
	int64_t seq0 = m->st->seq, conflicts0 = st->conflicts;
	int64_t *merged = calloc(n, sizeof(int64_t));
	int sr = parked && merged ? savepoint(m, HS_SAVEPOINT, "hs_group")
				  : SQLITE_NOMEM;
	for (size_t k = 0; sr == SQLITE_OK && k < n; k++) {
		hs_rowchange *rc = &cs->rows[rows[k]];
		const hs_table *t = &s->t[rc->table];
		int found = 0;
		if (!rc->alive || rc->inserted)
			continue; /* only rows being changed in place */
		parked[k] = calloc((size_t)t->ncols, sizeof(sqlite3_value *));
		if (!parked[k])
			sr = SQLITE_NOMEM;
		if (sr == SQLITE_OK)
			sr = m->st->ops->row_get(m->st, t, rc->pk, parked[k], &found);
		if (sr == SQLITE_OK && found)
			sr = m->st->ops->row_delete(m->st, t, rc->pk);
		if (!found) {
			free(parked[k]);
			parked[k] = NULL;
		}
	}
	for (size_t k = 0; sr == SQLITE_OK && k < n; k++) {
		int one = 0, deferred = 0;
		sr = merge_row(m, s, &cs->rows[rows[k]], now_ms, &st->conflicts,
			       &one, 0, parked[k], &deferred);
		if (sr == SQLITE_OK && deferred)
			sr = SQLITE_CONSTRAINT; /* a value still held: no fit */
		merged[k] = one;
	}
	if (sr == SQLITE_OK) {
		savepoint(m, HS_RELEASE, "hs_group");
		for (size_t k = 0; k < n; k++)
			st->pushed[cs->rows[rows[k]].table] += merged[k];
	} else if (parked && merged) {
		savepoint(m, HS_ROLLBACK_TO, "hs_group");
		savepoint(m, HS_RELEASE, "hs_group");
		m->st->seq = seq0;
		st->conflicts = conflicts0;
	}
	for (size_t k = 0; parked && k < n; k++) {
		if (!parked[k])
			continue;
		for (int i = 0; i < s->t[cs->rows[rows[k]].table].ncols; i++)
			sqlite3_value_free(parked[k][i]);
		free(parked[k]);
	}
	free(parked);
	free(merged);
	return sr;
}

/* The shortest run of new rows merged as a set: HS_MERGE_SET_MIN when
 * set (0: every row alone; the tests set 1 to take the set path with
 * their small pushes, or 0 to compare), else 16. */
static size_t merge_set_min(void)
{
	const char *v = getenv("HS_MERGE_SET_MIN");
	return v && *v ? (size_t)strtoul(v, NULL, 10) : 16;
}

int hs_merge_begin(hs_store *store, const hs_schema *s,
		   const int64_t *local_max, int64_t now_ms, hs_merge_stats *st)
{
	hs_merge *m = calloc(1, sizeof(*m));
	if (!m)
		return SQLITE_NOMEM;
	m->st = store;
	m->s = s;
	m->stats = st;
	m->now_ms = now_ms;
	m->set_min = merge_set_min();
	if (local_max && s->n) {
		int64_t *lm = malloc((size_t)s->n * sizeof(int64_t));
		if (!lm) {
			free(m);
			return SQLITE_NOMEM;
		}
		memcpy(lm, local_max, (size_t)s->n * sizeof(int64_t));
		m->local_max = lm;
	}
	hs_merge_free(store);
	store->merging = m;
	return SQLITE_OK;
}

/* n more rows merged: the store's keepalive every 1,024 rows. */
static void count_rows(hs_merge *m, size_t n)
{
	size_t before = m->nrows;
	m->nrows += n;
	if (before / 1024 != m->nrows / 1024 && m->st->ops->keepalive)
		m->st->ops->keepalive(m->st);
}

/* Merge row rc of a batch alone (the rules above). */
static int merge_one(hs_merge *m, hs_rowchange *rc)
{
	int deferred = 0;
	int sr = merge_guarded(m, m->s, rc, m->now_ms, m->stats, 0, &deferred);
	if (sr == SQLITE_OK && deferred)
		sr = hs_changeset_move(&m->later, rc);
	count_rows(m, 1);
	return sr;
}

/*
 * New rows as a set. A pushed insert whose key the master has neither a
 * row nor versions of meets no rule: merge_insert writes it whole at the
 * next sequence, with the clocks inserted_meta gives it and its insert
 * event. Rows of a table without foreign keys (no reference to rewrite,
 * no parent that may be gone) or UNIQUE columns (no value another row may
 * hold) can take that without a decision per row: runs of such inserts in
 * a batch go to the store as one set (store ops absent and put_new),
 * numbered in batch order as one by one; the store tells which of them
 * it has, and those go the way of every row, in their place. A run is
 * one table's rows with distinct keys (a key in the batch twice, the
 * second goes alone). The result is the master row by row would write
 * (test_merge_set compares the two).
 */
static int set_candidate(hs_merge *m, const hs_changeset *cs, size_t i,
			 size_t first)
{
	const hs_rowchange *rc = &cs->rows[i];
	const hs_table *t = &m->s->t[rc->table];
	if (!rc->alive || !rc->inserted || t->nfk || has_unique(m, m->s, rc->table))
		return 0;
	if (i == first)
		return 1;
	const hs_rowchange *prev = &cs->rows[i - 1];
	if (prev->table != rc->table)
		return 0;
	int same = 1;
	for (int k = 0; same && k < t->npk; k++)
		same = hs_value_same(prev->pk[k], rc->pk[k]);
	return !same;
}

/* Write rows nr[0..n) (new to the store, of table t) as one set: their
 * versions' clocks in one block of n rows of t->ncols, their events' key
 * texts in one buffer. */
static int merge_fresh(hs_merge *m, const hs_table *t, hs_new_row *nr,
		       size_t n)
{
	size_t ncols = hs_count(t->ncols);
	hs_col_clock *clocks = malloc(n * ncols * sizeof(*clocks));
	hs_buf texts;
	int sr = clocks ? SQLITE_OK : SQLITE_NOMEM;
	hs_buf_init(&texts);
	for (size_t k = 0; sr == SQLITE_OK && k < n; k++) {
		nr[k].rm = (hs_row_meta){.ncols = t->ncols,
					 .cols = clocks + k * ncols};
		inserted_meta(m, t, nr[k].rc, &nr[k].rm, ++m->st->seq);
	}
	if (sr == SQLITE_OK)
		sr = events_fill_set(m, t, nr, n, &texts);
	if (sr == SQLITE_OK)
		sr = m->st->ops->put_new(m->st, t, nr, n);
	if (sr == SQLITE_OK)
		m->stats->pushed[nr[0].rc->table] += (int64_t)n;
	for (size_t k = 0; k < n; k++) {
		nr[k].rm.cols = NULL;
		nr[k].h = (hs_history_row){0};
	}
	free(clocks);
	hs_buf_free(&texts);
	if (sr == SQLITE_OK)
		count_rows(m, n);
	return sr;
}

/* Rows nr[0..n) as one set before anyone asked the store which of them it
 * has (put_new_checks): in a savepoint, undone when a key was there after
 * all. *done = 1 when they were written. */
static int merge_fresh_first(hs_merge *m, const hs_table *t, hs_new_row *nr,
			     size_t n, int *done)
{
	int64_t seq = m->st->seq;
	int sr = savepoint(m, HS_SAVEPOINT, "hs_fresh");
	*done = 0;
	if (sr != SQLITE_OK)
		return sr;
	sr = merge_fresh(m, t, nr, n);
	if (sr == SQLITE_OK) {
		*done = 1;
		return savepoint(m, HS_RELEASE, "hs_fresh");
	}
	int undo = savepoint(m, HS_ROLLBACK_TO, "hs_fresh");
	if (undo == SQLITE_OK)
		undo = savepoint(m, HS_RELEASE, "hs_fresh");
	m->st->seq = seq;
	/* a key the store has: the rows go the way of absent below */
	return undo != SQLITE_OK ? undo
	       : (sr & 0xff) == SQLITE_CONSTRAINT ? SQLITE_OK : sr;
}

/* Rows cs->rows[i..e) (set candidates of one table): those new to the
 * store as sets, the others alone, in batch order. */
static int merge_run(hs_merge *m, hs_changeset *cs, size_t i, size_t e)
{
	const hs_table *t = &m->s->t[cs->rows[i].table];
	size_t n = e - i;
	hs_new_row *nr = calloc(n, sizeof(*nr));
	unsigned char *fresh = malloc(n);
	int sr = nr && fresh ? SQLITE_OK : SQLITE_NOMEM;
	int done = 0;
	for (size_t k = 0; nr && k < n; k++)
		nr[k].rc = &cs->rows[i + k];
	if (sr == SQLITE_OK && m->st->ops->put_new_checks)
		sr = merge_fresh_first(m, t, nr, n, &done);
	if (sr == SQLITE_OK && !done) {
		memset(fresh, 1, n);
		sr = m->st->ops->absent(m->st, t, nr, n, fresh);
	} else {
		n = 0;
	}
	for (size_t k = 0; sr == SQLITE_OK && k < n;) {
		size_t j = k;
		if (!fresh[k]) {
			int nrebases = m->nrebases;
			sr = merge_one(m, &cs->rows[i + k]);
			k++;
			/* a row given a new id took a key the rest may have */
			if (sr == SQLITE_OK && m->nrebases != nrebases && k < n)
				sr = m->st->ops->absent(m->st, t, nr + k, n - k,
							fresh + k);
			continue;
		}
		while (j < n && fresh[j])
			j++;
		sr = merge_fresh(m, t, nr + k, j - k);
		k = j;
	}
	if (sr != SQLITE_OK)
		m->failed_table = cs->rows[i].table; /* the run's one table */
	free(nr);
	free(fresh);
	return sr;
}

int hs_merge_rows(hs_store *store, hs_changeset *cs, hs_buf *err)
{
	hs_merge *m = store->merging;
	int sr = SQLITE_OK, sets;
	if (!m)
		return SQLITE_MISUSE;
	sets = m->set_min && store->ops->absent && store->ops->put_new;
	for (size_t i = 0; sr == SQLITE_OK && i < cs->n;) {
		size_t e = i;
		while (sets && e < cs->n && set_candidate(m, cs, e, i))
			e++;
		if (e > i && e - i >= m->set_min) {
			sr = merge_run(m, cs, i, e);
			i = e;
			continue;
		}
		if (e == i)
			e = i + 1;
		for (; sr == SQLITE_OK && i < e; i++)
			sr = merge_one(m, &cs->rows[i]);
	}
	if (sr != SQLITE_OK && m->s->n)
		hs_buf_printf(err, "table \"%s\": ", m->s->t[m->failed_table].name);
	return sr;
}

int hs_merge_end(hs_store *store, hs_buf *err)
{
	hs_merge *m = store->merging;
	const hs_schema *s;
	hs_merge_stats *st;
	size_t *later, nlater;
	int sr;
	if (!m)
		return SQLITE_MISUSE;
	s = m->s;
	st = m->stats;
	nlater = m->later.n;
	later = malloc((nlater ? nlater : 1) * sizeof(size_t));
	sr = later ? SQLITE_OK : SQLITE_NOMEM;
	for (size_t k = 0; later && k < nlater; k++)
		later[k] = k;
	/* Rows that met a UNIQUE value: retry while that helps, then the
	 * rest are conflicts. */
	for (int progress = 1; sr == SQLITE_OK && nlater && progress;) {
		size_t keep = 0;
		progress = 0;
		for (size_t k = 0; sr == SQLITE_OK && k < nlater; k++) {
			int deferred = 0;
			sr = merge_guarded(m, s, &m->later.rows[later[k]], m->now_ms,
					   st, 0, &deferred);
			if (sr == SQLITE_OK && deferred)
				later[keep++] = later[k];
			else
				progress = 1;
		}
		nlater = keep;
	}
	if (sr == SQLITE_OK && nlater > 1 &&
	    merge_group(m, s, &m->later, later, nlater, m->now_ms, st) == SQLITE_OK)
		nlater = 0;
	for (size_t k = 0; sr == SQLITE_OK && k < nlater; k++) {
		int deferred = 0; /* never in the final round */
		sr = merge_guarded(m, s, &m->later.rows[later[k]], m->now_ms, st, 1,
				   &deferred);
	}
	for (size_t k = 0; sr == SQLITE_OK && k < m->ndoomed; k++) {
		m->failed_table = m->doomed[k].table;
		sr = cascade_delete(m, s, m->doomed[k].table, m->doomed[k].key,
				    m->doomed[k].hlc, m->now_ms, &st->conflicts, 0);
	}
	if (sr != SQLITE_OK && s->n)
		hs_buf_printf(err, "table \"%s\": ", s->t[m->failed_table].name);
	free(later);
	hs_merge_free(store);
	return sr;
}

void hs_merge_free(hs_store *store)
{
	hs_merge *m = store ? store->merging : NULL;
	if (!m)
		return;
	doomed_clear(m);
	hs_merge_rules_clear(&m->rules);
	hs_changeset_clear(&m->later);
	free(m->rebases);
	free(m->unique);
	free(m->local_max);
	free(m);
	store->merging = NULL;
}

/* ---- merge rules ---------------------------------------------------- */

int hs_merge_rules_add(hs_merge_rules *r, const char *table,
		       const char *column, int json, const char *key)
{
	hs_merge_rule *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return SQLITE_NOMEM;
	r->v = v;
	v[r->n] = (hs_merge_rule){hs_strdup(table), hs_strdup(column),
				  key ? hs_strdup(key) : NULL, json};
	if (!v[r->n].table || !v[r->n].column || (key && !v[r->n].key)) {
		free(v[r->n].table);
		free(v[r->n].column);
		free(v[r->n].key);
		return SQLITE_NOMEM;
	}
	r->n++;
	return SQLITE_OK;
}

const hs_merge_rule *hs_merge_rules_find(const hs_merge_rules *r,
					 const char *table, const char *column)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].table, table) == 0 &&
		    strcmp(r->v[i].column, column) == 0)
			return &r->v[i];
	return NULL;
}

void hs_merge_rules_clear(hs_merge_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].table);
		free(r->v[i].column);
		free(r->v[i].key);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
