/*
 * sync.c - one sync session of a replica with its master.
 *
 *  1. lock and open the master, start its transaction, learn which of our
 *     local changes it already has (a re-run after a crash pushes nothing
 *     twice);
 *  2. read the local change log above that mark in one read transaction
 *     and fold it per row (the push), with the current rows, into a spool
 *     (a TEMP table: bounded memory, and the app is not kept waiting);
 *  3. merge the push on the master a batch at a time, apply conflict
 *     resolutions, record the push mark, reserve number blocks, commit;
 *  4. still holding the master lock, read the rows above our pull
 *     watermark and the audit trail into spools, then apply them in one
 *     write transaction with the new watermark, skipping columns the app
 *     changed meanwhile (they are pushed next time), drop the pushed log
 *     entries, then unlock;
 *  5. append a sync_log row.
 * A failure before 3 commits changes nothing; a failure in 4 leaves the
 * master updated and the replica as before: the next sync completes it.
 */
#include "replica.h"

#include "apply.h"
#include "capture.h"
#include "changes.h"
#include "history.h"
#include "json.h"
#include "master.h"
#include "mergeset.h"
#include "numbers.h"
#include "peers.h"
#include "platform.h"
#include "rows.h"
#include "schema.h"
#include "spool.h"
#include "stamp.h"
#include "tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A received HLC more than this ahead of our wall clock is reported and
 * not adopted beyond it. */
#define HS_MAX_DRIFT_MS (3600LL * 1000)

typedef struct sync_ctx {
	hs_replica *r;
	const hs_sync_options *opts;
	hs_schema s;  /* the tracked tables as they are here */
	hs_schema ms; /* the master's tables, in the same order as s */
	int **from;   /* per table, per master column: our column or -1 */
	int **to;     /* per table, per our column: the master's column */
	sqlite3_value ***dflt; /* per table, per master column: its default */
	hs_reconcile rec; /* what the app's schema changed */
	int guard;    /* the app has triggers: apply through the guards */
	char *master_id;
	hs_master *m;
	char *site, *user, *master;
	int64_t pulled, clock, clock_seq;
	int64_t pushed_mark; /* master has our log up to this id */
	int64_t snap;        /* largest log id read for this push */
	int64_t *local_max; /* per table: largest integer key at the push */
	hs_rowset resolutions;
	hs_rowset blocks; /* number blocks reserved in this sync */
	hs_pull pull;
	hs_history_names pull_names; /* the master's, for its trail's entries
				      * set aside as stored */
	hs_merge_stats mstats;
	int64_t *pulled_rows;
	int64_t incoming; /* rows the pull brings: counted into the spool, or
			   * at most this many when applied directly */
	int64_t pulled_total, pushed_total;
	int master_committed;
	int applied; /* the pull is in too: only left-out tables failed */
	int retention_days; /* the office's history retention */
	hs_merge_rules merge_set;   /* this PC's changes of `hubsync merge` */
	char *merge_sent;           /* their stored text */
	hs_merge_rules merge_rules; /* the office's JSON columns */
	int merge_known;            /* the master handed them back */
	int no_log; /* write no sync_log row (another sync is running) */
	char *token; /* issued by this sync, saved with the pull */
	char *restored_at; /* the master's last restore, saved with the pull */
	int master_restored; /* the master is older than what we pulled */
	sqlite3_stmt *select1; /* makes values on the replica (hs_value_*) */
	char warning[300];
	hs_buf err;
} sync_ctx;

/*
 * The one error channel (error.h): a step of the sync writes its failure's
 * one-line message into c->err and returns its hs_error; hs_replica_sync,
 * the public function, sets the handle's message from it once, at its end.
 * The master's functions write into c->err themselves (sync_failed keeps
 * what they wrote).
 */
static int sync_fail(sync_ctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sync_fail(sync_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;
	hs_buf_reset(&c->err);
	va_start(ap, fmt);
	hs_buf_vprintf(&c->err, fmt, ap);
	va_end(ap);
	return code;
}

/* A SQLite failure on the replica: "what: SQLite's message (path); hint". */
static int sync_fail_sqlite(sync_ctx *c, int sqlite_rc, const char *what)
{
	hs_buf_reset(&c->err);
	return hs_replica_err_sqlite(c->r, &c->err, sqlite_rc, what);
}

/* A failure whose message is in c->err already (the master's); without
 * one, fallback (NULL: "the master failed"). */
static int sync_failed(sync_ctx *c, int code, const char *fallback)
{
	if (!c->err.len)
		hs_buf_puts(&c->err, fallback ? fallback : "the master failed");
	return code;
}

static void progress(sync_ctx *c, const char *phase, const char *table,
		     int64_t rows)
{
	if (c->opts && c->opts->progress)
		c->opts->progress(c->opts->progress_ctx, phase, table, rows);
}

static int64_t to_hlc(const sync_ctx *c, int64_t wall, int64_t base)
{
	int64_t h = wall << 16;
	if (base >= c->clock_seq && c->clock >= h)
		h = c->clock + 1;
	return h;
}

/* Set changed/hlc/base of the columns in mask from one log entry. */
static void stamp_columns(const sync_ctx *c, hs_rowchange *rc, int64_t mask,
			  int64_t wall, int64_t base)
{
	int64_t h = to_hlc(c, wall, base);
	for (int i = 0; i < rc->ncols; i++) {
		int bit = i < HS_MASK_BITS ? i : HS_MASK_BITS;
		if (mask != -1 && !((mask >> bit) & 1))
			continue;
		rc->changed[i] = 1;
		rc->hlc[i] = h;
		rc->base[i] = base;
	}
}

/* Table index in the schema of hubsync_tables id, or -1. */
static int table_index(const hs_schema *s, int id)
{
	for (int i = 0; i < s->n; i++)
		if (s->t[i].id == id)
			return i;
	return -1;
}

/* Replace column col of rc with v (owned) as a change stamped like the
 * row's latest change. */
static void stamp(hs_rowchange *rc, int col, sqlite3_value *v, int64_t hlc,
		  int64_t base)
{
	sqlite3_value_free(rc->vals[col]);
	rc->vals[col] = v;
	rc->changed[col] = 1;
	rc->hlc[col] = hlc;
	rc->base[col] = base;
}

/*
 * init --stamp (contract 3.2): fill updated_at and updated_by of a pushed
 * row when the app did not write them in this change, in the format each
 * column holds (stamp.h): updated_at is when the change was made,
 * updated_by this replica's user. write_back puts them in the local row.
 * Rows there before tracking are not stamped: nobody here wrote them.
 */
static int stamp_bookkeeping(sync_ctx *c, hs_rowchange *rc)
{
	const hs_table *t = &c->s.t[rc->table];
	int ua = t->stamp_at ? hs_table_col(t, "updated_at") : -1;
	int ub = t->stamp_by ? hs_table_col(t, "updated_by") : -1;
	int64_t hlc = rc->row_hlc, base = rc->row_base;
	if (!rc->alive || rc->existing || (ua < 0 && ub < 0))
		return SQLITE_OK;
	for (int i = 0; i < rc->ncols; i++) {
		if (rc->changed[i] && rc->hlc[i] > hlc)
			hlc = rc->hlc[i];
		if (rc->changed[i] && rc->base[i] > base)
			base = rc->base[i];
	}
	if (ub >= 0 && (rc->inserted ? sqlite3_value_type(rc->vals[ub]) ==
					       SQLITE_NULL
				     : !rc->changed[ub])) {
		sqlite3_value *v = hs_value_text(c->select1, c->user);
		if (!v)
			return SQLITE_NOMEM;
		stamp(rc, ub, v, hlc, base);
		rc->stamped = 1;
	}
	if (ua >= 0 && (rc->inserted ? sqlite3_value_type(rc->vals[ua]) ==
					       SQLITE_NULL
				     : !rc->changed[ua])) {
		sqlite3_value *v = hs_stamp_value(c->select1, t->stamp_at, hlc >> 16);
		if (!v)
			return SQLITE_NOMEM;
		stamp(rc, ua, v, hlc, base);
		rc->stamped = 1;
	}
	return SQLITE_OK;
}

/* Rows of the push folded and handed to the master at a time: a push of
 * any size costs bounded memory. */
#define PUSH_BATCH 1000

/* The push being streamed: the rows folded so far and the local rows
 * they are read with. */
typedef struct push_state {
	hs_changeset batch;
	hs_applier *ap;          /* per table: reads the current rows */
	sqlite3_stmt *stamps;    /* records rows write_back stamps */
	hs_spool *spool;         /* the push, read, waiting for the merge */
	int direct;              /* no spool: batches go to the master as
				  * they are read (a server master, which
				  * only records them until its commit) */
	int failed;              /* the master's failure (an HS code) */
	int64_t rows;
	sync_ctx *c;
} push_state;

/* Tables whose pushed rows write_back stamps (init --stamp). */
static int stamps_rows(const hs_table *t)
{
	return t->stamp_at || t->stamp_by || t->stamp_synced;
}

/* Remember pushed row rc of a stamped table for write_back (in a TEMP
 * table: a push of any size costs bounded memory). */
static int keep_stamp(sync_ctx *c, push_state *p, const hs_rowchange *rc)
{
	const hs_table *t = &c->s.t[rc->table];
	int ua = t->stamp_at ? hs_table_col(t, "updated_at") : -1;
	int ub = t->stamp_by ? hs_table_col(t, "updated_by") : -1;
	int sr;
	if (!rc->alive || rc->existing)
		return SQLITE_OK;
	sqlite3_bind_int(p->stamps, 1, rc->table);
	for (int k = 0; k < HS_MAX_PK; k++)
		if (k < t->npk)
			sqlite3_bind_value(p->stamps, 2 + k, rc->pk[k]);
		else
			sqlite3_bind_null(p->stamps, 2 + k);
	if (ua >= 0)
		sqlite3_bind_value(p->stamps, 6, rc->vals[ua]);
	else
		sqlite3_bind_null(p->stamps, 6);
	if (ub >= 0)
		sqlite3_bind_value(p->stamps, 7, rc->vals[ub]);
	else
		sqlite3_bind_null(p->stamps, 7);
	sr = hs_step_done(p->stamps);
	sqlite3_reset(p->stamps);
	return sr;
}

/* The last folded row is complete: keep it in the batch (with its
 * current values, stamped, in the master's layout) when it belongs to
 * this pass (deletes, or the rest), else drop it. A row made and deleted
 * since the last push never reached anyone: its delete must not reach
 * another PC's row that has the same key. */
static int finish_row(sync_ctx *c, push_state *p, int deletes)
{
	hs_rowchange *rc = &p->batch.rows[p->batch.n - 1];
	int found = 0, sr, ti = rc->table;
	if (!rc->alive) {
		if (rc->born || !deletes)
			hs_changeset_pop(&p->batch);
		else if (hs_rowchange_reshape(rc, c->ms.t[ti].ncols, c->from[ti],
					      c->dflt[ti]) != SQLITE_OK)
			return SQLITE_NOMEM;
		return SQLITE_OK;
	}
	if (deletes) {
		hs_changeset_pop(&p->batch);
		return SQLITE_OK;
	}
	sr = hs_applier_read(&p->ap[ti], rc->pk, rc->vals, &found);
	if (sr != SQLITE_OK)
		return sr;
	if (!found) { /* gone without a logged delete: nothing to send */
		hs_changeset_pop(&p->batch);
		return SQLITE_OK;
	}
	if ((sr = stamp_bookkeeping(c, rc)) != SQLITE_OK)
		return sr;
	if (stamps_rows(&c->s.t[ti]) && (sr = keep_stamp(c, p, rc)) != SQLITE_OK)
		return sr;
	return hs_rowchange_reshape(rc, c->ms.t[ti].ncols, c->from[ti], c->dflt[ti]);
}

/* Hand the batch to the master. An HS code (also kept in p->failed). */
static int merge_batch(push_state *p)
{
	sync_ctx *c = p->c;
	int rc;
	if (!p->batch.n)
		return HS_OK;
	p->rows += (int64_t)p->batch.n;
	rc = hs_master_merge_rows(c->m, &p->batch, &c->err);
	hs_changeset_empty(&p->batch);
	if (rc != 0)
		return p->failed = sync_failed(c, rc, NULL);
	progress(c, "push", NULL, p->rows);
	return HS_OK;
}

/* Set the folded rows aside (the spool): they are merged once the local
 * read transaction has ended. Direct: to the master at once. A SQLite
 * code; SQLITE_ABORT when the master failed (p->failed, message set). */
static int flush_push(sync_ctx *c, push_state *p)
{
	int sr = SQLITE_OK;
	(void)c;
	if (p->direct)
		return merge_batch(p) == HS_OK ? SQLITE_OK : SQLITE_ABORT;
	for (size_t i = 0; sr == SQLITE_OK && i < p->batch.n; i++)
		sr = hs_spool_push_row(p->spool, &p->batch.rows[i]);
	hs_changeset_empty(&p->batch);
	return sr;
}

/* A failure while reading the push: the master's (message set), or a
 * SQLite code of the replica. An HS code. */
static int push_failed(sync_ctx *c, push_state *p, int sr, const char *what)
{
	if (sr == SQLITE_ABORT && p->failed)
		return p->failed;
	return sync_fail_sqlite(c, sr, what);
}

/* A row read back from the spool (hs_spool_reader): taken into the
 * batch, merged a batch at a time. A SQLite code. */
static int merge_spooled(void *ctx, hs_rowchange *rc)
{
	push_state *p = ctx;
	if (hs_changeset_move(&p->batch, rc) != SQLITE_OK)
		return SQLITE_NOMEM;
	if (p->batch.n >= PUSH_BATCH && merge_batch(p) != HS_OK)
		return SQLITE_ABORT;
	return SQLITE_OK;
}

static int no_mark(void *ctx, int kind, int64_t tag, const unsigned char *mask,
		   int n)
{
	(void)ctx, (void)kind, (void)tag, (void)mask, (void)n;
	return SQLITE_CORRUPT; /* a push spool has none */
}

/* The tables of this pass as "tbl IN (...)" and the order of their
 * entries: by table (the schema's order, reversed for the deletes), then
 * by key, then as written; or, by_id, as written from above ?1 to below
 * ?2 (a run of log_scan). The deletes' pass takes only the tables of
 * with[] (those with a delete above the mark: most pushes have none). */
static int pass_query(sync_ctx *c, const unsigned char *with, int deletes,
		      int by_id, hs_buf *q)
{
	int any = 0, max_npk = 0;
	for (int i = 0; i < c->s.n; i++)
		if ((!deletes || with[i]) && c->s.t[i].npk > max_npk)
			max_npk = c->s.t[i].npk;
	hs_buf_printf(q, "SELECT id, tbl, op, mask, wall, base, k1, k2, k3, k4"
		      " FROM %s WHERE id > ?1 AND tbl IN (",
		      hs_capture_log_keys(c->r->db, max_npk));
	for (int i = 0; i < c->s.n; i++)
		if (!deletes || with[i])
			hs_buf_printf(q, "%s%d", any++ ? ", " : "", c->s.t[i].id);
	if (by_id) {
		hs_buf_puts(q, ") AND id < ?2 ORDER BY id");
	} else {
		hs_buf_puts(q, ") ORDER BY CASE tbl");
		for (int i = 0; i < c->s.n; i++)
			hs_buf_printf(q, " WHEN %d THEN %d", c->s.t[i].id, i);
		hs_buf_printf(q, " END%s, k1, k2, k3, k4, id",
			      deletes ? " DESC" : "");
	}
	if (q->oom)
		return SQLITE_NOMEM;
	return any ? SQLITE_OK : SQLITE_DONE;
}

/* Where a key value (integer i, or text s of n bytes) goes against
 * another (j; t of m bytes) of the same type, as the log's columns sort
 * them (BINARY): -1, 0 or 1. */
static int key_order(int type, int64_t i, const char *s, size_t n,
		     int64_t j, const char *t, size_t m)
{
	if (type == SQLITE_INTEGER)
		return i < j ? -1 : i > j;
	int d = memcmp(s, t, n < m ? n : m);
	return d ? (d < 0 ? -1 : 1) : n < m ? -1 : n > m;
}

/* A key column of the last entry log_runs saw. */
typedef struct log_cell {
	int type;
	int64_t i;
	hs_buf s;
} log_cell;

/* Where column v of an entry's key goes against the last one's (cell p),
 * as the log's columns sort (BINARY): -1, 0, 1, or 2 when this does not
 * know (a REAL, a BLOB, a NULL or two types). p takes v (a text it could
 * not copy counts as a NULL). */
static int log_cell_step(log_cell *p, sqlite3_value *v)
{
	int type = sqlite3_value_type(v), cmp = 2;
	if (type == SQLITE_INTEGER) {
		int64_t i = sqlite3_value_int64(v);
		if (p->type == type)
			cmp = key_order(type, i, NULL, 0, p->i, NULL, 0);
		p->i = i;
	} else if (type == SQLITE_TEXT) {
		const char *t = (const char *)sqlite3_value_text(v);
		size_t n = (size_t)sqlite3_value_bytes(v);
		if (!t) { /* out of memory: nothing known */
			p->type = SQLITE_NULL;
			return 2;
		}
		if (p->type == type)
			cmp = key_order(type, 0, t, n, 0, p->s.s ? p->s.s : "",
					p->s.len);
		hs_buf_reset(&p->s);
		hs_buf_putn(&p->s, t, n);
		if (p->s.oom) /* the next one cannot be compared */
			type = SQLITE_NULL;
	}
	p->type = type;
	return cmp;
}

/* Runs of the log a push reads at the most without a sort. */
#define LOG_RUNS 4

/* The log of a pass as push_pass reads it: sorted by SQLite, or as
 * written in up to LOG_RUNS runs, each already in the order pass_query
 * sorts into (log_scan), merged here entry by entry. */
typedef struct log_reader {
	sqlite3_stmt *sorted;
	sqlite3_stmt *run[LOG_RUNS];
	int n, last, live[LOG_RUNS];
	const hs_schema *s;
} log_reader;

/* What one read of the log above the mark tells both passes of a push
 * (log_scan). */
typedef struct log_plan {
	unsigned char *deletes; /* per table: a delete above the mark */
	int any_delete;
	int runs;                    /* 0: the log needs a sort */
	int64_t from[LOG_RUNS + 1];  /* first id of each run; from[runs]
				      * is past the last */
} log_plan;

/* The entry q stands on against the one before (p, last: its cells
 * and table index ti): where a new run starts (1), the same run (0), or
 * a log that cannot be read as runs (-1). */
static int log_run_step(const hs_table *t, int ti, int last, log_cell *p,
			sqlite3_stmt *q)
{
	int cmp = 0, ok = 1;
	for (int k = 0; k < t->npk; k++) {
		sqlite3_value *v = sqlite3_column_value(q, 3 + k);
		int type = sqlite3_value_type(v);
		int d = log_cell_step(&p[k], v);
		ok = ok && (type == SQLITE_INTEGER || type == SQLITE_TEXT);
		if (ti == last && cmp == 0)
			cmp = d;
	}
	if (!ok || (ti == last && cmp == 2)) /* 2: a text not kept */
		return -1;
	return ti < last || (ti == last && cmp == -1);
}

/*
 * Read the log above the mark once, in the order written, for what the
 * two passes need: which tables have a delete, and the runs the log
 * splits into, each key at or after the one before in its table and the
 * tables in the schema's order. The log is read in runs when there are
 * few enough (an app that adds rows in key order, then changes some in
 * key order, writes such runs), else sorted: more runs, a key of other
 * values than integers and texts, a database not in UTF-8 (its texts
 * sort in another encoding). Then the deletes are asked for alone.
 */
static int log_scan(sync_ctx *c, log_plan *plan)
{
	log_cell p[4];
	sqlite3_stmt *q;
	hs_buf sql;
	int ok = 0, last = -1, max_npk = 0, sr;
	memset(p, 0, sizeof p);
	memset(plan, 0, sizeof(*plan));
	if (!(plan->deletes = calloc(hs_count(c->s.n), 1)))
		return SQLITE_NOMEM;
	if (hs_prepare(c->r->db, &q, "PRAGMA encoding") == SQLITE_OK) {
		ok = sqlite3_step(q) == SQLITE_ROW &&
		     strcmp((const char *)sqlite3_column_text(q, 0), "UTF-8") == 0;
		sqlite3_finalize(q);
	}
	plan->runs = 1;
	plan->from[0] = c->pushed_mark + 1;
	hs_buf_init(&sql);
	for (int i = 0; i < c->s.n; i++)
		if (c->s.t[i].npk > max_npk)
			max_npk = c->s.t[i].npk;
	hs_buf_printf(&sql, "SELECT id, tbl, op, k1, k2, k3, k4 FROM %s WHERE"
		      " id > ?1 ORDER BY id", hs_capture_log_keys(c->r->db,
								  max_npk));
	sr = sql.oom ? SQLITE_NOMEM : hs_prepare(c->r->db, &q, sql.s);
	hs_buf_free(&sql);
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int64(q, 1, c->pushed_mark);
	while (ok && (sr = sqlite3_step(q)) == SQLITE_ROW) {
		int ti = table_index(&c->s, sqlite3_column_int(q, 1)), step;
		if (ti < 0) /* a table no longer tracked: in no pass */
			continue;
		if (sqlite3_column_int(q, 2) == HS_OP_DELETE)
			plan->any_delete = plan->deletes[ti] = 1;
		step = log_run_step(&c->s.t[ti], ti, last, p, q);
		if (step < 0 || (step && plan->runs == LOG_RUNS))
			ok = 0;
		else if (step)
			plan->from[plan->runs++] = sqlite3_column_int64(q, 0);
		last = ti;
	}
	sqlite3_finalize(q);
	for (int k = 0; k < 4; k++)
		hs_buf_free(&p[k].s);
	plan->from[plan->runs] = INT64_MAX;
	if (ok)
		return sr == SQLITE_DONE ? SQLITE_OK : sr;
	/* sorted: the rest of the log still may hold deletes */
	plan->runs = 0;
	sr = hs_prepare(c->r->db, &q, "SELECT DISTINCT tbl FROM hubsync_changes"
				      " WHERE id > ?1 AND op = ?2");
	if (sr == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, c->pushed_mark);
		sqlite3_bind_int(q, 2, HS_OP_DELETE);
	}
	while (sr == SQLITE_OK && (sr = sqlite3_step(q)) == SQLITE_ROW) {
		int ti = table_index(&c->s, sqlite3_column_int(q, 0));
		if (ti >= 0)
			plan->any_delete = plan->deletes[ti] = 1;
		sr = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* Where the entry run a stands on goes against run b's: as pass_query
 * sorts (the schema's table order, then the key; an integer before a
 * text), the earlier run first on a tie. */
static int log_before(const log_reader *lr, int a, int b)
{
	sqlite3_stmt *x = lr->run[a], *y = lr->run[b];
	int ta = table_index(lr->s, sqlite3_column_int(x, 1));
	int tb = table_index(lr->s, sqlite3_column_int(y, 1));
	if (ta != tb)
		return ta < tb;
	for (int k = 0; k < lr->s->t[ta].npk; k++) {
		sqlite3_value *u = sqlite3_column_value(x, 6 + k);
		sqlite3_value *v = sqlite3_column_value(y, 6 + k);
		int tu = sqlite3_value_type(u), tv = sqlite3_value_type(v);
		if (tu != tv)
			return tu == SQLITE_INTEGER;
		int d;
		if (tu == SQLITE_INTEGER) {
			d = key_order(tu, sqlite3_value_int64(u), NULL, 0,
				      sqlite3_value_int64(v), NULL, 0);
		} else {
			const char *s1 = (const char *)sqlite3_value_text(u);
			const char *s2 = (const char *)sqlite3_value_text(v);
			d = key_order(tu, 0, s1 ? s1 : "",
				      (size_t)sqlite3_value_bytes(u), 0,
				      s2 ? s2 : "", (size_t)sqlite3_value_bytes(v));
		}
		if (d)
			return d < 0;
	}
	return a < b;
}

/* The next entry into *q: SQLITE_ROW, SQLITE_DONE, or an error. */
static int log_next(log_reader *lr, sqlite3_stmt **q)
{
	int best = -1, sr;
	if (lr->sorted) {
		*q = lr->sorted;
		return sqlite3_step(lr->sorted);
	}
	for (int i = 0; i < lr->n; i++) {
		if (lr->last < 0 || i == lr->last) {
			sr = sqlite3_step(lr->run[i]);
			if (sr != SQLITE_ROW && sr != SQLITE_DONE)
				return sr;
			lr->live[i] = sr == SQLITE_ROW;
		}
		if (lr->live[i] && (best < 0 || log_before(lr, i, best)))
			best = i;
	}
	lr->last = best;
	if (best < 0)
		return SQLITE_DONE;
	*q = lr->run[best];
	return SQLITE_ROW;
}

static void log_reader_free(log_reader *lr)
{
	sqlite3_finalize(lr->sorted);
	for (int i = 0; i < lr->n; i++)
		sqlite3_finalize(lr->run[i]);
	memset(lr, 0, sizeof(*lr));
}

/* The log of this pass into lr: as written, in the runs log_scan found,
 * else sorted (always, the deletes' pass: rare). SQLITE_DONE when no
 * table takes part. */
static int log_open(sync_ctx *c, int deletes, const log_plan *plan,
		    log_reader *lr)
{
	int by_id = !deletes && plan->runs, sr;
	hs_buf sql;
	memset(lr, 0, sizeof(*lr));
	lr->s = &c->s;
	lr->last = -1;
	if (deletes && !plan->any_delete)
		return SQLITE_DONE;
	hs_buf_init(&sql);
	sr = pass_query(c, plan->deletes, deletes, by_id, &sql);
	for (int i = 0; sr == SQLITE_OK && i < (by_id ? plan->runs : 1); i++) {
		sqlite3_stmt **q = by_id ? &lr->run[lr->n++] : &lr->sorted;
		if ((sr = hs_prepare(c->r->db, q, sql.s)) != SQLITE_OK)
			break;
		sqlite3_bind_int64(*q, 1, by_id ? plan->from[i] - 1
						: c->pushed_mark);
		if (by_id)
			sqlite3_bind_int64(*q, 2, plan->from[i + 1]);
	}
	hs_buf_free(&sql);
	if (sr != SQLITE_OK)
		log_reader_free(lr);
	return sr;
}

/* Fold the log above the push mark, row by row (a row's entries are in
 * key order, one table after the other), and push the rows of this pass:
 * the deletes, or the rest. Returns an hs_error (a SQLite failure as
 * HS_ERROR + message). */
static int push_pass(sync_ctx *c, push_state *p, int deletes,
		     const log_plan *plan)
{
	sqlite3_stmt *q = NULL;
	hs_rowchange *cur = NULL;
	log_reader lr;
	int rc = HS_OK, sr = log_open(c, deletes, plan, &lr);

	if (sr == SQLITE_DONE) /* no table in this pass */
		return HS_OK;
	if (sr != SQLITE_OK)
		goto sqlfail;
	while ((sr = log_next(&lr, &q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		int ti = table_index(&c->s, sqlite3_column_int(q, 1));
		int op = sqlite3_column_int(q, 2);
		int64_t mask = sqlite3_column_int64(q, 3);
		int64_t wall = sqlite3_column_int64(q, 4);
		int64_t base = sqlite3_column_int64(q, 5);
		const hs_table *t = &c->s.t[ti];
		int same = cur != NULL && cur->table == ti;
		for (int k = 0; same && k < t->npk; k++)
			same = hs_value_same(cur->pk[k], sqlite3_column_value(q, 6 + k));
		/* An integer id deleted, then taken again by an insert (SQLite
		 * hands out max + 1 again): a new row, not the old one back.
		 * The delete travels as it is (its children go with it) and
		 * the insert as a row of its own, which the master re-keys. */
		int reborn = same && t->intpk && !cur->alive && !cur->born &&
			     (op == HS_OP_INSERT || op == HS_OP_EXISTING);
		if (!same || reborn) {
			if (cur && (sr = finish_row(c, p, deletes)) != SQLITE_OK)
				goto sqlfail;
			if (!same && p->batch.n >= PUSH_BATCH &&
			    (sr = flush_push(c, p)) != SQLITE_OK)
				goto sqlfail;
			cur = hs_changeset_add(&p->batch, ti, t->ncols);
			if (!cur) {
				sr = SQLITE_NOMEM;
				goto sqlfail;
			}
			for (int k = 0; k < t->npk; k++)
				if (!(cur->pk[k] = sqlite3_value_dup(
					      sqlite3_column_value(q, 6 + k)))) {
					sr = SQLITE_NOMEM;
					goto sqlfail;
				}
			cur->alive = 1;
			/* a row there before tracking may be on other PCs too
			 * (seed data): its delete must travel */
			cur->born = op == HS_OP_INSERT;
		}
		cur->last_id = id;
		if (op == HS_OP_DELETE) {
			cur->alive = 0;
			cur->inserted = 0;
			cur->row_hlc = to_hlc(c, wall, base);
			cur->row_base = base;
			memset(cur->changed, 0, (size_t)cur->ncols);
		} else {
			if (op == HS_OP_INSERT || op == HS_OP_EXISTING) {
				cur->alive = 1;
				cur->inserted = 1;
				cur->existing = op == HS_OP_EXISTING;
				cur->row_hlc = to_hlc(c, wall, base);
				cur->row_base = base;
			}
			stamp_columns(c, cur, op == HS_OP_UPDATE ? mask : -1, wall, base);
		}
	}
	if (sr != SQLITE_DONE)
		goto sqlfail;
	if (cur && (sr = finish_row(c, p, deletes)) != SQLITE_OK)
		goto sqlfail;
	goto cleanup;
sqlfail:
	rc = push_failed(c, p, sr, "cannot read local changes");
cleanup:
	log_reader_free(&lr);
	for (int i = 0; i < c->s.n; i++)
		hs_applier_done(&p->ap[i]);
	return rc;
}

/* The largest integer key of each table (the master gives re-keyed rows
 * ids above them) and the conflict resolutions to send. */
static int push_extras(sync_ctx *c)
{
	hs_replica *r = c->r;
	int sr = SQLITE_OK;
	for (int i = 0; sr == SQLITE_OK && i < c->s.n; i++) {
		const hs_table *t = &c->s.t[i];
		hs_buf q2;
		if (!t->intpk)
			continue;
		hs_buf_init(&q2);
		hs_buf_puts(&q2, "SELECT max(");
		hs_buf_ident(&q2, t->cols[t->pk[0]]);
		hs_buf_puts(&q2, ") FROM ");
		hs_buf_ident(&q2, t->name);
		/* a read error here would give re-keyed rows other ids */
		c->local_max[i] = q2.oom ? 0 : hs_query_int(r->db, q2.s, 0, &sr);
		if (q2.oom)
			sr = SQLITE_NOMEM;
		hs_buf_free(&q2);
	}
	return sr != SQLITE_OK ? sr : hs_rowset_fetch(r->db, "SELECT conflict_id, keep, at FROM"
				      " hubsync_resolutions WHERE ?1 = ?1",
			       0, &c->resolutions);
}

/*
 * Fold the log above the push mark in one read transaction of the
 * replica (a consistent snapshot of the log and the rows) into a spool,
 * then, with the local database free again for the app, merge it into
 * the master batch by batch: deletes first, children before parents,
 * then the rest parents first, so that a re-keyed parent is known before
 * the rows that reference it (merge.h). The app waits for a local read,
 * never for the master; memory stays bounded whatever the push's size.
 */
static int merge_begin(sync_ctx *c)
{
	int rc = hs_master_merge_begin(c->m, &c->ms, c->local_max,
				       hs_now_ms(c->r), &c->mstats, &c->err);
	return rc != 0 ? sync_failed(c, rc, NULL) : HS_OK;
}

/*
 * Whether the push's batches go to the master as they are read, without
 * a spool of our own: a server master only records the push (in a
 * temporary file) until its commit. A file master is written at once, so
 * it gets them from the spool, after the local read transaction, except
 * on this PC's first sync (nothing pushed or pulled yet: every row the
 * app had when hubsync was set up comes at once, and the spool would copy
 * all of them twice); the app's commits then wait for the merge on the
 * share (in rollback-journal mode; WAL lets them through), that once.
 */
static int push_direct(const sync_ctx *c)
{
	return hs_master_is_url(c->master) ||
	       (c->pushed_mark == 0 && c->pulled == 0);
}

static int push(sync_ctx *c)
{
	hs_replica *r = c->r;
	push_state p;
	log_plan plan;
	hs_spool_reader rd;
	int rc = HS_ERROR, sr, began;

	memset(&p, 0, sizeof(p));
	memset(&plan, 0, sizeof(plan));
	p.c = c;
	p.ap = calloc(hs_count(c->s.n), sizeof(*p.ap));
	if (!p.ap)
		return sync_fail(c, HS_ERROR, "out of memory");
	sr = hs_exec(r->db, "BEGIN");
	began = sr == SQLITE_OK;
	if (sr == SQLITE_OK) {
		int64_t top = hs_query_int(r->db, "SELECT max(id) FROM"
						  " hubsync_changes", 0, &sr);
		c->snap = top > c->pushed_mark ? top : c->pushed_mark;
	}
	for (int i = 0; sr == SQLITE_OK && i < c->s.n; i++)
		sr = hs_applier_prepare(&p.ap[i], r->db, &c->s.t[i], NULL, 0);
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "CREATE TEMP TABLE IF NOT EXISTS"
				    " hubsync_push_stamps(tbl, k1, k2, k3, k4, ua,"
				    " ub); DELETE FROM temp.hubsync_push_stamps");
	if (sr == SQLITE_OK)
		sr = hs_prepare(r->db, &p.stamps, "INSERT INTO"
				" temp.hubsync_push_stamps VALUES(?1, ?2, ?3, ?4,"
				" ?5, ?6, ?7)");
	if (sr == SQLITE_OK)
		sr = push_extras(c);
	if (sr == SQLITE_OK)
		sr = log_scan(c, &plan);
	p.direct = push_direct(c);
	if (sr == SQLITE_OK && !p.direct)
		p.spool = hs_spool_open(r->db, &c->ms, c->select1, &sr);
	if (sr != SQLITE_OK) {
		rc = sync_fail_sqlite(c, sr, "cannot read local changes");
		goto cleanup;
	}
	if (p.direct && (rc = merge_begin(c)) != HS_OK)
		goto cleanup;
	rc = push_pass(c, &p, 1, &plan);
	if (rc == HS_OK)
		rc = push_pass(c, &p, 0, &plan);
	if (rc == HS_OK && (sr = flush_push(c, &p)) != SQLITE_OK)
		rc = push_failed(c, &p, sr, "cannot set the push aside");
	if (began)
		hs_exec(r->db, "COMMIT");
	began = 0;
	if (rc != HS_OK)
		goto cleanup;
	if (!p.direct) {
		if ((rc = merge_begin(c)) != HS_OK)
			goto cleanup;
		rd = (hs_spool_reader){merge_spooled, no_mark, &p};
		hs_buf_reset(&c->err);
		sr = hs_spool_read(p.spool, &rd, &c->err);
		if (sr == SQLITE_ABORT) /* the master failed: its message is set */
			rc = p.failed ? p.failed : HS_ERROR;
		else if (sr != SQLITE_OK)
			rc = c->err.len ? sync_failed(c, HS_ERROR, NULL)
					: sync_fail_sqlite(c, sr, "cannot read the push back");
		if (rc == HS_OK)
			rc = merge_batch(&p);
	}
	if (rc == HS_OK && (rc = hs_master_merge_end(c->m, &c->err)) != 0)
		rc = sync_failed(c, rc, NULL);
cleanup:
	free(plan.deletes);
	hs_changeset_clear(&p.batch);
	hs_spool_close(p.spool);
	sqlite3_finalize(p.stamps);
	for (int i = 0; i < c->s.n; i++)
		hs_applier_free(&p.ap[i]);
	free(p.ap);
	if (began)
		hs_exec(r->db, "COMMIT");
	return rc;
}

/*
 * The master is older than what this replica pulled from it: it was
 * restored from a backup. What it lost of ours is no longer in our log
 * (pushed entries are dropped), so queue every local row again and pull
 * everything: rows the master lacks come back, rows it has differently
 * compete as concurrent edits (the loser is listed), nothing is lost
 * silently. Rows deleted since the backup may come back.
 */
static int resend_all(sync_ctx *c)
{
	int sr = hs_exec(c->r->db, "BEGIN IMMEDIATE");
	for (int i = 0; sr == SQLITE_OK && i < c->s.n; i++)
		sr = hs_capture_queue(c->r->db, &c->s.t[i], HS_OP_EXISTING, -1,
				      hs_now_ms(c->r), 0, NULL);
	if (sr == SQLITE_OK)
		sr = hs_exec(c->r->db, "COMMIT");
	if (sr != SQLITE_OK) {
		hs_exec(c->r->db, "ROLLBACK");
		return sync_fail_sqlite(c, sr, "cannot queue rows for a restored "
				      "master");
	}
	c->pulled = 0;
	snprintf(c->warning, sizeof c->warning,
		 "the master was restored from an older copy: this PC sent all "
		 "its rows again; check hubsync conflicts");
	return HS_OK;
}

/*
 * Register with the master and tell whether this database is the one the
 * master last synced with. Each sync issues a new token, kept by the
 * master (with the one before) and by the replica in the same commit as
 * its pull. A replica holding neither, or missing log entries the master
 * has from it, was restored from an older copy:
 * its log no longer holds what it pushed since, and the ids it hands out
 * again (autoincrement) are ones its own later rows already have on the
 * master. It goes on as a new site: what it sends now is then an edit
 * concurrent with those rows (re-keyed or listed as conflicts), never
 * silently written over them.
 */
/* Equal tokens, NULL (none yet) matching NULL. */
static int same_token(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

static int register_site(sync_ctx *c)
{
	char *token = NULL, *prev = NULL, *mine = NULL;
	char fresh[33];
	int64_t last_id;
	int rc, sr = hs_meta_read(c->r->db, "token", &mine);
	if (sr == SQLITE_OK)
		last_id = hs_query_int(c->r->db, "SELECT max(id) FROM hubsync_changes",
				       0, &sr);
	if (sr != SQLITE_OK) { /* a read error is no evidence of a restore */
		free(mine);
		return sync_fail_sqlite(c, sr, "cannot read the local database");
	}
	rc = hs_master_register(c->m, c->site, c->user, &c->pushed_mark, &token,
				&prev, &c->err);
	/* Holding the previous token is a sync whose local commit was lost:
	 * then its log is still all there (no id below the push mark). */
	int known = !token || same_token(mine, token) || same_token(mine, prev);
	int log_gone = last_id < c->pushed_mark;
	int restored = rc == 0 && !c->master_restored && (!known || log_gone);
	if (restored) {
		char site[33];
		if (hs_random_hex(site) != 0 ||
		    hs_meta_set(c->r->db, "site", site) != SQLITE_OK) {
			rc = sync_fail(c, HS_EIO, "cannot give %s a new site id: %s",
				     c->r->path, sqlite3_errmsg(c->r->db));
			goto out;
		}
		free(c->site);
		c->site = hs_strdup(site);
		rc = hs_master_register(c->m, c->site, c->user, &c->pushed_mark,
					NULL, NULL, &c->err);
		snprintf(c->warning, sizeof c->warning,
			 "%s was restored from an older copy: its changes since "
			 "then were sent as new; check hubsync conflicts",
			 c->r->path);
	}
	if (rc == 0 && hs_random_hex(fresh) != 0)
		rc = sync_fail(c, HS_EIO, "cannot read /dev/urandom");
	if (rc == 0) {
		c->token = hs_strdup(fresh);
		rc = hs_master_set_token(c->m, mine, fresh, &c->err);
	}
out:
	free(token);
	free(prev);
	free(mine);
	return rc;
}

/* The default value of master column col of mt (its SQL text from the
 * master, evaluated here: defaults of added columns are constants), or a
 * NULL value. */
static sqlite3_value *master_default(sync_ctx *c, const hs_table *mt, int col)
{
	char *d = hs_master_column_default(c->m, mt->name, mt->cols[col]);
	sqlite3_value *v = NULL;
	sqlite3_stmt *st;
	hs_buf q;
	hs_buf_init(&q);
	hs_buf_printf(&q, "SELECT %s", d ? d : "NULL");
	if (!q.oom && hs_prepare(c->r->db, &st, q.s) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_value_dup(sqlite3_column_value(st, 0));
		sqlite3_finalize(st);
	}
	if (!v)
		v = hs_value_blob(c->select1, SQLITE_NULL, NULL, 0);
	hs_buf_free(&q);
	free(d);
	return v;
}

/* The master's table for each of ours (made or widened as needed) and
 * how their columns match by name. */
static int map_tables(sync_ctx *c)
{
	hs_replica *r = c->r;
	int n = c->s.n, rc;
	c->ms.t = calloc(hs_count(n), sizeof(hs_table));
	c->from = calloc(hs_count(n), sizeof(int *));
	c->to = calloc(hs_count(n), sizeof(int *));
	c->dflt = calloc(hs_count(n), sizeof(sqlite3_value **));
	if (!c->ms.t || !c->from || !c->to || !c->dflt)
		return sync_fail(c, HS_ERROR, "out of memory");
	for (int i = 0; i < n; i++) {
		const hs_table *t = &c->s.t[i];
		hs_table *mt = &c->ms.t[i];
		if ((rc = hs_master_ensure_table(c->m, r->db, t, mt, &c->err)))
			return sync_failed(c, rc, NULL);
		c->ms.n++;
		mt->id = t->id;
		c->from[i] = calloc(hs_count(mt->ncols), sizeof(int));
		c->to[i] = calloc(hs_count(t->ncols), sizeof(int));
		c->dflt[i] = calloc(hs_count(mt->ncols), sizeof(sqlite3_value *));
		if (!c->from[i] || !c->to[i] || !c->dflt[i])
			return sync_fail(c, HS_ERROR, "out of memory");
		for (int j = 0; j < mt->ncols; j++) {
			c->from[i][j] = hs_table_col(t, mt->cols[j]);
			if (c->from[i][j] < 0 &&
			    !(c->dflt[i][j] = master_default(c, mt, j)))
				return sync_fail(c, HS_ERROR, "out of memory");
		}
		for (int k = 0; k < t->ncols; k++)
			c->to[i][k] = hs_table_col(mt, t->cols[k]);
	}
	return HS_OK;
}

static void unmap_tables(sync_ctx *c)
{
	for (int i = 0; i < c->s.n; i++) {
		for (int j = 0; c->dflt && c->dflt[i] && j < c->ms.t[i].ncols; j++)
			sqlite3_value_free(c->dflt[i][j]);
		if (c->dflt)
			free(c->dflt[i]);
		if (c->from)
			free(c->from[i]);
		if (c->to)
			free(c->to[i]);
	}
	free(c->dflt);
	free(c->from);
	free(c->to);
	hs_schema_clear(&c->ms);
}

/* The master must be the one this PC synced with: a copy or a restored
 * backup is, a master made anew (or another office's) is not. */
static int check_master_id(sync_ctx *c)
{
	char *mine = hs_meta_get(c->r->db, "master_id");
	int rc = HS_OK;
	c->master_id = hs_master_id(c->m);
	if (mine && c->master_id && strcmp(mine, c->master_id) != 0)
		rc = sync_fail(c, HS_ECORRUPT, "the master %s is not the one %s "
			     "synced with (it was made anew or is another "
			     "office's): nothing was sent; check the path, or "
			     "restore the master from a backup", c->master,
			     c->r->path);
	free(mine);
	return rc;
}

/* While the master is locked by another PC: phase "lock", who holds it
 * (the progress callback's table argument) and how long this waited. */
static void lock_waiting(void *ctx, const char *holder, int64_t waited_ms)
{
	progress(ctx, "lock", holder, waited_ms);
}

/* Steps 1-3: everything that happens under the master lock. */
static int exchange_with_master(sync_ctx *c)
{
	hs_replica *r = c->r;
	int timeout = c->opts && c->opts->lock_timeout_ms > 0
			      ? c->opts->lock_timeout_ms
			      : HS_LOCK_WAIT_MS;
	int rc;

	progress(c, "lock", NULL, 0);
	char *token = hs_meta_get(r->db, HS_META_SERVER_TOKEN);
	rc = hs_master_open_waiting(&c->m, c->master, token, 0, timeout,
				    lock_waiting, c, &c->err);
	free(token);
	if (rc != 0)
		return sync_failed(c, rc, NULL);
	if (c->opts && c->opts->version >= 3 && c->opts->max_rate_kbps > 0)
		hs_master_http_max_rate(c->m, (long)c->opts->max_rate_kbps * 1024);
	rc = hs_master_begin(c->m, &c->err);
	if (rc != 0)
		return sync_failed(c, rc, NULL);
	if ((rc = check_master_id(c)) != HS_OK || (rc = map_tables(c)) != HS_OK)
		return rc;
	/* The master restored from a backup: its sequence may be below our
	 * watermark, or already past it again after other PCs' pushes;
	 * either way what we sent since the backup is gone from it. */
	c->restored_at = hs_master_restored_at(c->m);
	char *seen = hs_meta_get(r->db, "master_restored_at");
	c->master_restored = hs_master_seq(c->m) < c->pulled ||
			     (c->restored_at && c->pulled > 0 &&
			      !same_token(seen, c->restored_at));
	free(seen);
	rc = register_site(c);
	if (rc != 0)
		return rc;
	if (c->master_restored && (rc = resend_all(c)) != HS_OK)
		return rc;
	/* the merge setting first: it applies to the push it travels with */
	if ((rc = hs_mergeset_pending(r->db, &c->merge_set, &c->merge_sent))
	    != SQLITE_OK)
		return sync_fail_sqlite(c, rc, "cannot read the merge setting");
	rc = hs_master_merge_rules(c->m, &c->merge_set, &c->merge_rules, &c->err);
	c->merge_known = rc == 0;
	if (rc == 1)
		rc = 0; /* a master that keeps no such setting */
	if (rc != 0)
		return sync_failed(c, rc, NULL);
	progress(c, "push", NULL, 0);
	if ((rc = push(c)) != HS_OK)
		return rc;
	if (rc == 0 && c->resolutions.n)
		rc = hs_master_resolve(c->m, &c->resolutions, &c->err);
	if (rc == 0)
		rc = hs_master_set_pushed(c->m, c->snap, &c->err);
	if (rc == 0)
		rc = hs_numbers_top_up(r, c->m, &c->blocks, &c->err);
	if (rc == 0)
		rc = hs_master_housekeep(c->m, c->pulled,
					 (int)hs_meta_get_int(r->db, "retention_set", 0),
					 hs_now_ms(r), &c->retention_days, &c->err);
	if (rc == 0) {
		progress(c, "pull", NULL, 0);
		rc = hs_master_pull(c->m, c->pulled, &c->pull, &c->err);
	}
	if (rc == 0)
		rc = hs_master_sites(c->m, hs_now_ms(r), &c->pull.sites, &c->err);
	if (rc == 0)
		rc = hs_master_commit(c->m, &c->err);
	if (rc != 0)
		return sync_failed(c, rc, NULL);
	c->master_committed = 1;
	/* The master stays locked: its rows are read into a spool
	 * (apply_pull), then it is closed. */
	for (int i = 0; i < c->s.n; i++)
		c->pushed_total += c->mstats.pushed[i];
	return HS_OK;
}

/* The pulled audit trail as it came: in the old shape (HS_HISTORY_COLS),
 * or stored (a file master's compact trail, its ids c->pull_names'). */
static const char *PULL_HISTORY_DDL =
	"CREATE TEMP TABLE IF NOT EXISTS hubsync_pull_history(seq INTEGER"
	" PRIMARY KEY, tbl, key, pk, op, user, at, changes);"
	"CREATE TEMP TABLE IF NOT EXISTS hubsync_pull_stored(seq INTEGER"
	" PRIMARY KEY, tbl, key, pk, op, user, at, changes);";

/* Where spool_history puts the entries the master hands: the TEMP
 * table of st, else hubsync_history through w (with names: as stored);
 * sr: the first failure of this side's; next, it: the master's entries
 * as a set, next_sr their reader's failure (the master's own). */
typedef struct spool_ctx {
	sqlite3_stmt *st;
	hs_history_writer w;
	const hs_history_names *names;
	int sr;
	hs_history_next next;
	void *it;
	int next_sr;
} spool_ctx;

/* An audit trail entry set aside or written (hs_history_fn). */
static int spool_entry(void *ctx, sqlite3_value **v)
{
	spool_ctx *x = ctx;
	hs_history_writer *w = &x->w;
	if (!x->st) /* an old-shape trail (a stored one goes by spool_set) */
		return x->sr = hs_history_writer_put_values(w, w->db, v);
	for (int i = 0; i < 8; i++)
		sqlite3_bind_value(x->st, i + 1, v[i]);
	x->sr = hs_step_done(x->st);
	sqlite3_reset(x->st);
	return x->sr;
}

static int spool_next(void *ctx, sqlite3_value **v)
{
	spool_ctx *x = ctx;
	int sr = x->next(x->it, v);
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		x->next_sr = sr;
	return sr;
}

/* The master's stored trail at once (hs_history_set_fn): as a set through
 * w, or each entry into st. */
static int spool_set(void *ctx, hs_history_next next, void *it)
{
	spool_ctx *x = ctx;
	sqlite3_value *v[8];
	int sr;
	x->next = next;
	x->it = it;
	if (!x->st)
		sr = hs_history_writer_put_set(&x->w, x->w.db, x->names,
					       spool_next, x);
	else
		while ((sr = spool_next(x, v)) == SQLITE_ROW &&
		       (sr = spool_entry(x, v)) == SQLITE_OK)
			;
	if (sr == SQLITE_DONE)
		sr = SQLITE_OK;
	if (sr != SQLITE_OK && x->next_sr == SQLITE_OK)
		x->sr = sr;
	return sr;
}

/* The master's audit trail above our watermark, streamed into a TEMP
 * table (no lock on the local database; memory stays bounded), which
 * apply_pull copies into hubsync_history; or, `direct` (the local write
 * transaction is open: apply_direct), into hubsync_history at once. It
 * comes as the master stores it when the master can (a file master's
 * compact trail: nothing decoded to be encoded again), else in the old
 * shape; a master that hands it with the pull leaves it in
 * c->pull.history instead. An HS code. */
static int spool_history(sync_ctx *c, int direct)
{
	sqlite3 *db = c->r->db;
	spool_ctx x = {.w = {.replace = 1, .db = db}, .names = &c->pull_names};
	int rc = HS_OK, sr = direct ? hs_history_upgrade(db)
				    : hs_exec(db, PULL_HISTORY_DDL);
	hs_history_names_free(&c->pull_names);
	if (sr == SQLITE_OK)
		sr = hs_exec(db, direct ? "SAVEPOINT hs_history"
					: "DELETE FROM temp.hubsync_pull_history;"
					  " DELETE FROM temp.hubsync_pull_stored;"
					  " SAVEPOINT hs_history");
	if (sr == SQLITE_OK && !direct)
		sr = hs_prepare(db, &x.st, "INSERT OR REPLACE INTO"
				" temp.hubsync_pull_stored"
				" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (sr == SQLITE_OK)
		rc = hs_master_pull_history_stored(c->m, c->pulled, &c->pull_names,
						   spool_set, &x, &c->err);
	if (sr == SQLITE_OK && rc == 1) { /* no compact trail: the old shape */
		x.names = NULL;
		sqlite3_finalize(x.st);
		x.st = NULL;
		if (!direct)
			sr = hs_prepare(db, &x.st, "INSERT OR REPLACE INTO"
					" temp.hubsync_pull_history"
					" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
		if (sr == SQLITE_OK)
			rc = hs_master_pull_history(c->m, c->pulled, spool_entry,
						    &x, &c->err);
	}
	if (rc == 1)
		rc = HS_OK; /* it came with the pull */
	else if (rc != HS_OK && x.sr != SQLITE_OK) /* not the master's */
		rc = sync_fail_sqlite(c, x.sr, "cannot write the pulled history");
	else if (rc != HS_OK)
		rc = sync_failed(c, rc, NULL);
	sqlite3_finalize(x.st);
	hs_history_writer_free(&x.w);
	if (sr == SQLITE_OK && rc == HS_OK)
		sr = hs_exec(db, "RELEASE hs_history");
	else
		hs_exec(db, "ROLLBACK TO hs_history; RELEASE hs_history");
	if (sr != SQLITE_OK && rc == HS_OK)
		rc = sync_fail_sqlite(c, sr, "cannot set the pulled history aside");
	return rc;
}

/* Columns of table ti, key pk, that the app changed after the push read
 * its log: *deleted is set when the row was deleted or re-inserted. */
static int blocked_columns(sync_ctx *c, sqlite3_stmt *q, int ti,
			   sqlite3_value **pk, unsigned char *blocked,
			   int *whole)
{
	const hs_table *t = &c->s.t[ti];
	int sr;
	*whole = 0;
	memset(blocked, 0, (size_t)t->ncols);
	sqlite3_bind_int64(q, 1, c->snap);
	sqlite3_bind_int(q, 2, t->id);
	for (int k = 0; k < HS_MAX_PK; k++) {
		if (k < t->npk)
			sqlite3_bind_value(q, 3 + k, pk[k]);
		else
			sqlite3_bind_null(q, 3 + k);
	}
	while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
		int op = sqlite3_column_int(q, 0);
		int64_t mask = sqlite3_column_int64(q, 1);
		if (op != HS_OP_UPDATE)
			*whole = 1;
		for (int i = 0; i < t->ncols; i++) {
			int bit = i < HS_MASK_BITS ? i : HS_MASK_BITS;
			if (mask == -1 || ((mask >> bit) & 1))
				blocked[i] = 1;
		}
	}
	sqlite3_reset(q);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* What applying the spooled pull needs on the replica. */
typedef struct apply_ctx {
	sync_ctx *c;
	hs_applier *ap;         /* per table */
	sqlite3_stmt *tailq;    /* the app's log entries after the push */
	int64_t tail;           /* how many there are */
	unsigned char *blocked; /* per column of the row at hand */
	int table;              /* table of the last row, for progress */
	int64_t done;
	hs_changeset later;     /* rows that met a UNIQUE value, to retry */
	int retrying;
	hs_rowchange view;      /* a pulled row in our column layout */
	unsigned char *only;    /* catching up: only these columns */
	int row_sr;             /* read from the master: the last row's code */
} apply_ctx;

/* Keep a copy of rc to apply after the others: the UNIQUE value it takes
 * may still be held here by a row the pull changes later. */
static int defer_row(apply_ctx *x, const hs_rowchange *rc)
{
	hs_rowchange *d = hs_changeset_add(&x->later, rc->table, rc->ncols);
	if (!d)
		return SQLITE_NOMEM;
	d->alive = rc->alive;
	d->foreign = rc->foreign;
	memcpy(d->changed, rc->changed, (size_t)rc->ncols);
	for (int k = 0; k < HS_MAX_PK; k++)
		if (rc->pk[k] && !(d->pk[k] = sqlite3_value_dup(rc->pk[k])))
			return SQLITE_NOMEM;
	for (int i = 0; rc->alive && i < rc->ncols; i++)
		if (!(d->vals[i] = sqlite3_value_dup(rc->vals[i])))
			return SQLITE_NOMEM;
	return SQLITE_OK;
}

static void table_done(apply_ctx *x)
{
	sync_ctx *c = x->c;
	if (x->table >= 0 && x->done) {
		c->pulled_rows[x->table] += x->done;
		c->pulled_total += x->done;
		progress(c, "pull", c->s.t[x->table].name, c->pulled_rows[x->table]);
	}
	x->done = 0;
}

/* Delete the local rows of the deferred live rows and mark every column
 * of them to be applied: their retry inserts the master's rows whole. */
static int park_rows(apply_ctx *x)
{
	int sr = SQLITE_OK;
	for (size_t i = 0; sr == SQLITE_OK && i < x->later.n; i++) {
		hs_rowchange *rc = &x->later.rows[i];
		if (!rc->alive)
			continue;
		sr = hs_applier_delete(&x->ap[rc->table], rc->pk);
		memset(rc->changed, 1, (size_t)rc->ncols);
	}
	return sr;
}

/* Apply one pulled row in our layout: skip what the app changed
 * meanwhile (the master decides it with the next push), else write it. */
static int apply_local(apply_ctx *x, hs_rowchange *rc)
{
	sync_ctx *c = x->c;
	int ti = rc->table, whole = 0, sr = SQLITE_OK;

	if (ti != x->table) {
		table_done(x);
		x->table = ti;
	}
	memset(x->blocked, 0, (size_t)rc->ncols);
	if (x->tail && (sr = blocked_columns(c, x->tailq, ti, rc->pk, x->blocked,
					     &whole)) != SQLITE_OK)
		return sr;
	if (whole)
		return SQLITE_OK;
	if (!rc->alive) {
		for (int j = 0; j < rc->ncols; j++)
			if (x->blocked[j])
				return SQLITE_OK;
		sr = hs_applier_delete(&x->ap[ti], rc->pk);
	} else {
		for (int j = 0; j < rc->ncols; j++)
			if (x->blocked[j])
				rc->changed[j] = 0;
		sr = hs_applier_upsert(&x->ap[ti], rc->vals, rc->changed);
	}
	if (sr == SQLITE_CONSTRAINT_UNIQUE && !x->retrying)
		return defer_row(x, rc);
	if (sr != SQLITE_OK) {
		hs_buf why;
		hs_buf_init(&why);
		hs_replica_err_sqlite(c->r, &why, sr, "cannot apply a pulled row");
		sync_fail(c, HS_ERROR, "table \"%s\": %s", c->s.t[ti].name,
			  why.s ? why.s : "");
		hs_buf_free(&why);
		return sr;
	}
	x->done += rc->foreign; /* our own rows coming back are not news */
	return SQLITE_OK;
}

/* Apply one pulled row (hs_pull_fn), laid out as the master's table:
 * the columns we have, by name (a column only the master has is one an
 * app upgrade added elsewhere; this PC gets it when it upgrades). */
static int apply_row(void *ctx, hs_rowchange *rc)
{
	apply_ctx *x = ctx;
	hs_rowchange *v = &x->view;
	const int *to = x->c->to[rc->table];
	int any = 0;
	if (x->only && !rc->alive)
		return SQLITE_OK; /* a column catch-up brings values only */
	v->table = rc->table;
	v->ncols = x->c->s.t[rc->table].ncols;
	v->alive = rc->alive;
	v->foreign = rc->foreign;
	memcpy(v->pk, rc->pk, sizeof(v->pk));
	for (int i = 0; i < v->ncols; i++) {
		v->changed[i] = rc->changed[to[i]] && (!x->only || x->only[i]);
		v->vals[i] = rc->alive ? rc->vals[to[i]] : NULL;
		any |= v->changed[i];
	}
	if (rc->alive && !any)
		return SQLITE_OK;
	return apply_local(x, v);
}

/* Marks in the spool around a table's catch-up rows. */
enum { CATCHUP_BEGIN = 1, CATCHUP_END = 2 };

/*
 * The pulls owed to tables (tracking.h): a column the app added here
 * after others had filled it gets the master's values of it (whatever
 * our watermark), a table tracked again everything since it stopped.
 * Read into the spool between marks: BEGIN with the columns to take (no
 * mask: all), END with the hubsync_tables id whose entry is then done.
 */
static int spool_catch_up(sync_ctx *c, hs_spool *sp)
{
	sqlite3_stmt *st;
	unsigned char *only = NULL;
	int sr = hs_prepare(c->r->db, &st, "SELECT tbl, since, cols FROM"
					   " hubsync_catchup");
	int step = SQLITE_DONE;
	while (sr == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0), ti = table_index(&c->s, id);
		const char *cols = (const char *)sqlite3_column_text(st, 2);
		json_t *names = cols ? json_loads(cols, 0, NULL) : NULL;
		if (ti < 0) {
			json_decref(names);
			continue; /* left out of this sync */
		}
		free(only);
		only = names ? calloc(hs_count(c->s.t[ti].ncols), 1) : NULL;
		for (size_t k = 0; only && k < json_array_size(names); k++) {
			int col = hs_table_col(&c->s.t[ti],
					       json_string_value(json_array_get(names, k))
						       ?: "");
			if (col >= 0)
				only[col] = 1;
		}
		json_decref(names);
		if (cols && !only) {
			sr = SQLITE_NOMEM;
			break;
		}
		sr = hs_spool_mark(sp, CATCHUP_BEGIN, id, only, c->s.t[ti].ncols);
		if (sr == SQLITE_OK &&
		    hs_master_pull_table(c->m, &c->ms, ti, sqlite3_column_int64(st, 1),
					 hs_spool_row, sp, &c->pull, &c->err) != 0)
			sr = SQLITE_ERROR;
		if (sr == SQLITE_OK)
			sr = hs_spool_mark(sp, CATCHUP_END, id, NULL, 0);
	}
	if (sr == SQLITE_OK && step != SQLITE_DONE && step != SQLITE_ROW)
		sr = sqlite3_errcode(c->r->db);
	sqlite3_finalize(st);
	free(only);
	return sr;
}

/* A catch-up mark met while applying: take only its columns, or, at its
 * end, let its entry go with this transaction. */
static int apply_mark(void *ctx, int kind, int64_t tag,
		      const unsigned char *mask, int n)
{
	apply_ctx *x = ctx;
	free(x->only);
	x->only = NULL;
	if (kind == CATCHUP_BEGIN) {
		int ti = table_index(&x->c->s, (int)tag);
		if (ti < 0 || (mask && n != x->c->s.t[ti].ncols))
			return SQLITE_CORRUPT;
		if (mask && !(x->only = malloc((size_t)n)))
			return SQLITE_NOMEM;
		if (mask)
			memcpy(x->only, mask, (size_t)n);
		return SQLITE_OK;
	}
	return hs_exec_ints(x->c->r->db, "DELETE FROM hubsync_catchup WHERE"
					 " tbl = ?1", 1, &tag);
}

/* Rows set aside, counted (hs_pull_fn). */
typedef struct spool_count {
	hs_spool *sp;
	int64_t n;
} spool_count;

static int count_row(void *ctx, hs_rowchange *rc)
{
	spool_count *k = ctx;
	k->n++;
	return hs_spool_row(k->sp, rc);
}

/*
 * A large pull (a new PC's first) is applied with the capture triggers
 * set aside: while hubsync applies they log nothing (hubsync_ctl.applying)
 * yet SQLite still calls them for every row, with the BEFORE INSERT's key
 * probe: 11.6k of the 16.4k instructions a pulled row's upsert costs
 * (docs/PERFORMANCE.md, "Third round"). Only when the tables' triggers are
 * all hubsync's (no guard: the app has none); dropped and made again from
 * their own text in the apply's transaction, so no app write ever meets a
 * table without them. The stash they would write is empty during the
 * apply (cleared at its start), so nothing they do is missed.
 * hubsync_meta.schema_version follows the DDL when it was current, so the
 * next sync does not take it for a schema change.
 */
#define BULK_APPLY_ROWS 1000

static int triggers_aside(sync_ctx *c, hs_buf *saved)
{
	sqlite3 *db = c->r->db;
	sqlite3_stmt *q = NULL;
	hs_buf drop;
	int sr;
	hs_buf_init(&drop);
	sr = hs_prepare(db, &q, "SELECT name, sql FROM sqlite_schema WHERE"
				" type = 'trigger' AND tbl_name = ?1 AND"
				" name GLOB 'hubsync_*'");
	for (int i = 0; sr == SQLITE_OK && i < c->s.n; i++) {
		sqlite3_bind_text(q, 1, c->s.t[i].name, -1, SQLITE_STATIC);
		while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
			hs_buf_puts(&drop, "DROP TRIGGER ");
			hs_buf_ident(&drop, (const char *)sqlite3_column_text(q, 0));
			hs_buf_puts(&drop, ";");
			hs_buf_puts(saved, (const char *)sqlite3_column_text(q, 1));
			hs_buf_puts(saved, ";\n");
		}
		sr = sr == SQLITE_DONE ? SQLITE_OK : sr;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (sr == SQLITE_OK && (drop.oom || saved->oom))
		sr = SQLITE_NOMEM;
	if (sr == SQLITE_OK && drop.len)
		sr = hs_exec(db, drop.s);
	hs_buf_free(&drop);
	return sr;
}

static int triggers_back(sync_ctx *c, const hs_buf *saved, int64_t sv0)
{
	sqlite3 *db = c->r->db;
	int64_t mark = hs_meta_get_int(db, "schema_version", -1), sv;
	int sr = saved->len ? hs_exec(db, saved->s) : SQLITE_OK;
	if (sr != SQLITE_OK || (mark & 0xffffffff) != (sv0 & 0xffffffff))
		return sr;
	sv = hs_query_int(db, "PRAGMA schema_version", 0, &sr);
	return sr != SQLITE_OK ? sr : hs_meta_set_int(db, "schema_version",
					(mark & ~(int64_t)0xffffffff) |
						(sv & 0xffffffff));
}

/*
 * Read the pull's rows from the master (locked, in a read transaction)
 * into a spool, with no lock on the local database: the app goes on
 * writing however slow the master is. An HS code.
 */
static int read_pull(sync_ctx *c, hs_spool **out)
{
	hs_replica *r = c->r;
	int sr, rc = HS_OK;
	hs_spool *sp = *out = hs_spool_open(r->db, &c->ms, c->select1, &sr);
	if (!sp)
		return sync_fail_sqlite(c, sr, "cannot set the pulled rows aside");
	if (hs_master_read_begin(c->m, &c->err) != 0)
		return sync_failed(c, HS_EIO, "cannot read");
	/* the history before a catch-up, whose request (a server master)
	 * would replace the answer it comes in */
	spool_count cnt = {sp, 0};
	int failed = hs_master_pull_rows(c->m, &c->ms, c->pulled, count_row,
					 &cnt, &c->pull, &c->err) != 0;
	c->incoming = cnt.n;
	if (!failed && (rc = spool_history(c, 0)) == HS_OK)
		failed = (sr = spool_catch_up(c, sp)) != SQLITE_OK;
	if (failed)
		rc = c->err.len ? sync_failed(c, HS_ERROR, NULL)
				: sync_fail_sqlite(c, sr != SQLITE_OK ? sr : SQLITE_ERROR,
						 "cannot read the pulled rows");
	hs_master_read_end(c->m);
	return rc;
}

/*
 * Whether the pull is applied as it is read, in the local write
 * transaction, without a spool of our own:
 * - with a server master the pull's rows are on this disk already: its
 *   answer, in a temporary file;
 * - with a file master, on this PC's first pull (watermark 0): the whole
 *   master comes, and the spool would be a second copy of it. The app's
 *   writes wait for the read of the master too, once (later pulls read
 *   into the spool first, so a slow share never keeps the app waiting
 *   longer than the apply).
 * Not when catch-ups come with this pull (more reads of the master, or
 * requests to the server that replace its answer: spool_catch_up).
 */
static int pull_direct(sync_ctx *c)
{
	int sr;
	if (!hs_master_is_url(c->master) && c->pulled != 0)
		return 0;
	int64_t n = hs_query_int(c->r->db, "SELECT count(*) FROM hubsync_catchup",
				 0, &sr);
	return sr == SQLITE_OK && n == 0;
}

static int apply_direct_row(void *ctx, hs_rowchange *rc)
{
	apply_ctx *x = ctx;
	return x->row_sr = apply_row(ctx, rc);
}

/* The pull's rows and history read from the master (pull_direct) into
 * the open local write transaction. A SQLite code; a failure of the
 * master's has set the message. */
static int apply_direct(sync_ctx *c, apply_ctx *x)
{
	int sr = SQLITE_OK;
	if (hs_master_read_begin(c->m, &c->err) != 0) {
		sync_failed(c, HS_EIO, "cannot read");
		return SQLITE_ERROR;
	}
	if (hs_master_pull_rows(c->m, &c->ms, c->pulled, apply_direct_row, x,
				&c->pull, &c->err) != 0) {
		sr = x->row_sr != SQLITE_OK ? x->row_sr : SQLITE_ERROR;
		if (x->row_sr == SQLITE_OK)
			sync_failed(c, HS_ERROR, "cannot read the pulled rows");
	} else if (spool_history(c, 1) != HS_OK) {
		sr = SQLITE_ERROR;
	}
	hs_master_read_end(c->m);
	return sr;
}

/* temp.hubsync_tail: the log's entries above id snap with their keys. */
static int tail_copy(sqlite3 *db, int64_t snap)
{
	hs_buf q;
	int sr;
	hs_buf_init(&q);
	hs_buf_printf(&q, "CREATE TEMP TABLE hubsync_tail AS SELECT tbl, k1, k2,"
		      " k3, k4, op, mask FROM %s WHERE id > ?1",
		      hs_capture_log(db));
	sr = q.oom ? SQLITE_NOMEM : hs_exec_ints(db, q.s, 1, &snap);
	hs_buf_free(&q);
	return sr;
}

/* Apply the rows of the pull, read back from the spool (NULL: from the
 * master, pull_direct), in the open local write transaction. */
static int apply_rows(sync_ctx *c, hs_spool *sp)
{
	hs_replica *r = c->r;
	apply_ctx x;
	int sr = SQLITE_NOMEM, maxcols = 1, aside = 0;
	int64_t sv0 = 0;
	hs_buf saved; /* the capture triggers set aside (bulk apply) */

	hs_buf_init(&saved);
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.table = -1;
	for (int i = 0; i < c->s.n; i++)
		if (c->s.t[i].ncols > maxcols)
			maxcols = c->s.t[i].ncols;
	x.ap = calloc(hs_count(c->s.n), sizeof(*x.ap));
	x.blocked = malloc((size_t)maxcols);
	x.view.changed = malloc((size_t)maxcols);
	x.view.vals = calloc((size_t)maxcols, sizeof(sqlite3_value *));
	if (!x.ap || !x.blocked || !x.view.changed || !x.view.vals)
		goto cleanup;
	for (int i = 0; i < c->s.n; i++) {
		const hs_table *t = &c->s.t[i];
		sqlite3_value *now = t->stamp_synced
			? hs_stamp_value(c->select1, t->stamp_synced, hs_now_ms(r))
			: NULL;
		sr = t->stamp_synced && !now
			? SQLITE_NOMEM
			: hs_applier_prepare(&x.ap[i], r->db, t, now,
					     c->guard ? t->id : 0);
		sqlite3_value_free(now);
		if (sr != SQLITE_OK)
			goto cleanup;
	}
	/* What the app wrote since the push read the log: looked up for
	 * every pulled row, so copied once into a temp table indexed by key
	 * (scanning the log's tail per row took seconds, with the app
	 * writing thousands of rows during a sync). */
	if ((sr = hs_exec(r->db, "DROP TABLE IF EXISTS temp.hubsync_tail")) != SQLITE_OK ||
	    (sr = tail_copy(r->db, c->snap)) != SQLITE_OK ||
	    (sr = hs_exec(r->db, "CREATE INDEX temp.hubsync_tail_key ON"
				 " hubsync_tail(tbl, k1, k2, k3, k4)")) != SQLITE_OK)
		goto cleanup;
	x.tail = hs_query_int(r->db, "SELECT count(*) FROM temp.hubsync_tail", 0, &sr);
	if (sr != SQLITE_OK)
		goto cleanup;
	sr = hs_prepare(r->db, &x.tailq, "SELECT op, mask FROM temp.hubsync_tail"
					 " WHERE tbl = ?2 AND k1 IS ?3 AND k2 IS ?4"
					 " AND k3 IS ?5 AND k4 IS ?6");
	if (sr != SQLITE_OK)
		goto cleanup;
	if (!c->guard && c->incoming >= BULK_APPLY_ROWS) {
		sv0 = hs_query_int(r->db, "PRAGMA schema_version", 0, &sr);
		if (sr == SQLITE_OK)
			sr = triggers_aside(c, &saved);
		if (sr != SQLITE_OK)
			goto cleanup;
		aside = 1;
	}
	hs_spool_reader rd = {apply_row, apply_mark, &x};
	hs_buf_reset(&c->err);
	sr = sp ? hs_spool_read(sp, &rd, &c->err) : apply_direct(c, &x);
	if (sr != SQLITE_OK && !c->err.len)
		sync_fail_sqlite(c, sr, "cannot apply pulled rows");
	free(x.only);
	x.only = NULL;
	table_done(&x);
	/* The master's state has no UNIQUE collision: once every row is in,
	 * the deferred ones fit. Retry while that helps; the last round
	 * reports what still fails. */
	for (int parked = 0; sr == SQLITE_OK && x.later.n;) {
		hs_changeset round = x.later;
		memset(&x.later, 0, sizeof(x.later));
		for (size_t i = 0; sr == SQLITE_OK && i < round.n; i++)
			sr = apply_local(&x, &round.rows[i]);
		if (sr == SQLITE_OK && x.later.n == round.n) {
			/* No progress: the rows hold each other's values (two
			 * numbers swapped). Take them out and put the master's
			 * rows back whole, unless the app changed one meanwhile;
			 * if even that fails, the next round says so. */
			if (!parked && !x.tail)
				sr = park_rows(&x);
			else
				x.retrying = 1;
			parked = 1;
		}
		hs_changeset_clear(&round);
	}
	table_done(&x);
	if (sr == SQLITE_OK && aside) {
		aside = 0; /* the statements below would fire them again */
		if ((sr = triggers_back(c, &saved, sv0)) != SQLITE_OK)
			sync_fail_sqlite(c, sr, "cannot restore the capture triggers");
	}
cleanup:
	hs_buf_free(&saved);
	hs_changeset_clear(&x.later);
	sqlite3_finalize(x.tailq);
	hs_exec(r->db, "DROP TABLE IF EXISTS temp.hubsync_tail");
	if (x.ap)
		for (int i = 0; i < c->s.n; i++)
			hs_applier_free(&x.ap[i]);
	free(x.ap);
	free(x.blocked);
	free(x.view.changed);
	free(x.view.vals);
	if (sr != SQLITE_OK && !c->err.len)
		sync_fail_sqlite(c, sr, "cannot apply pulled rows");
	return sr;
}

/* Let hubsync's next write to the table of hubsync_tables id through the
 * guard triggers (apply.h); sticky: all its writes until disarmed (0). */
static int arm(sync_ctx *c, int id, int sticky)
{
	int64_t v[1] = {sticky ? -(int64_t)id : id};
	return c->guard ? hs_exec_ints(c->r->db, "UPDATE hubsync_ctl SET"
						 " armed = ?1", 1, v)
			: SQLITE_OK;
}

/* The id the master gave this site's row key of table t in this sync
 * (pull.rebases), or key itself. */
static sqlite3_value *rebased(sync_ctx *c, const hs_table *t, sqlite3_value *key)
{
	const hs_rowset *rs = &c->pull.rebases;
	if (!t->intpk || sqlite3_value_type(key) != SQLITE_INTEGER)
		return key;
	for (size_t i = 0; i < rs->n; i++) {
		sqlite3_value **v = &rs->v[i * (size_t)rs->ncols];
		if (sqlite3_value_int64(v[1]) == sqlite3_value_int64(key) &&
		    strcmp((const char *)sqlite3_value_text(v[0]), t->name) == 0)
			return v[2];
	}
	return key;
}

/* init --stamp: pushed rows written by the app get the updated_at and
 * updated_by stamps the master now has, and synced_at = now (not
 * captured: applying is set). Runs before the pulled rows, which may
 * overwrite them. The rows are the ones push kept (keep_stamp), under
 * the ids the master gave them. */
static int write_back(sync_ctx *c)
{
	int sr = SQLITE_OK;
	sqlite3_stmt *q = NULL;
	for (int ti = 0; sr == SQLITE_OK && ti < c->s.n; ti++) {
		const hs_table *t = &c->s.t[ti];
		int ua = t->stamp_at ? hs_table_col(t, "updated_at") : -1;
		int ub = t->stamp_by ? hs_table_col(t, "updated_by") : -1;
		int sy = t->stamp_synced && hs_table_has_column(c->r->db, t->name,
								 "synced_at");
		sqlite3_stmt *st = NULL;
		sqlite3_value *now = NULL;
		hs_buf b;
		if (ua < 0 && ub < 0 && !sy)
			continue;
		hs_buf_init(&b);
		hs_buf_puts(&b, "UPDATE ");
		hs_buf_ident(&b, t->name);
		hs_buf_printf(&b, " SET %s%s%s%s%s", sy ? "synced_at = ?1" : "",
			      sy && ua >= 0 ? ", " : "",
			      ua >= 0 ? "updated_at = ?2" : "",
			      (sy || ua >= 0) && ub >= 0 ? ", " : "",
			      ub >= 0 ? "updated_by = ?3" : "");
		hs_table_pk_where(t, &b, 4);
		sr = b.oom ? SQLITE_NOMEM : hs_prepare(c->r->db, &st, b.s);
		if (sr == SQLITE_OK && sy &&
		    !(now = hs_stamp_value(c->select1, t->stamp_synced,
					   hs_now_ms(c->r))))
			sr = SQLITE_NOMEM;
		if (sr == SQLITE_OK)
			sr = hs_prepare(c->r->db, &q, "SELECT k1, k2, k3, k4, ua, ub"
					" FROM temp.hubsync_push_stamps WHERE"
					" tbl = ?1");
		if (sr == SQLITE_OK)
			sqlite3_bind_int(q, 1, ti);
		while (sr == SQLITE_OK && (sr = sqlite3_step(q)) == SQLITE_ROW) {
			if ((sr = arm(c, t->id, 0)) != SQLITE_OK)
				break;
			sqlite3_bind_value(st, 1, now);
			if (ua >= 0)
				sqlite3_bind_value(st, 2, sqlite3_column_value(q, 4));
			if (ub >= 0)
				sqlite3_bind_value(st, 3, sqlite3_column_value(q, 5));
			for (int k = 0; k < t->npk; k++)
				sqlite3_bind_value(st, 4 + k,
						   k == 0 ? rebased(c, t,
								    sqlite3_column_value(q, 0))
							  : sqlite3_column_value(q, k));
			sr = hs_step_done(st);
			sqlite3_reset(st);
		}
		if (sr == SQLITE_DONE)
			sr = SQLITE_OK;
		sqlite3_finalize(q);
		q = NULL;
		sqlite3_finalize(st);
		sqlite3_value_free(now);
		hs_buf_free(&b);
	}
	if (sr != SQLITE_OK)
		sync_fail_sqlite(c, sr, "cannot mark pushed rows as synced");
	return sr;
}

/* Prepare "UPDATE table SET col = <to> WHERE col <where>" (to and where
 * are SQL text, where may mention the column again: "<col>" in it is
 * replaced by table.col). */
static int prepare_update(sqlite3 *db, sqlite3_stmt **st, const char *table,
			  const char *col, const char *to, const char *where)
{
	hs_buf b;
	int sr;
	hs_buf_init(&b);
	hs_buf_puts(&b, "UPDATE ");
	hs_buf_ident(&b, table);
	hs_buf_puts(&b, " SET ");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, " = ");
	for (const char *p = to; *p; p++) {
		if (strncmp(p, "<col>", 5) != 0) {
			hs_buf_putn(&b, p, 1);
			continue;
		}
		hs_buf_ident(&b, table);
		hs_buf_puts(&b, ".");
		hs_buf_ident(&b, col);
		p += 4;
	}
	hs_buf_puts(&b, " WHERE ");
	hs_buf_ident(&b, col);
	hs_buf_puts(&b, where);
	sr = b.oom ? SQLITE_NOMEM : hs_prepare(db, st, b.s);
	hs_buf_free(&b);
	return sr;
}

/* Run "UPDATE table SET col = new_key WHERE col = old_key". */
static int rekey(sqlite3 *db, const char *table, const char *col,
		 int64_t new_key, int64_t old_key)
{
	sqlite3_stmt *st;
	int sr = prepare_update(db, &st, table, col, "?1", " = ?2");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int64(st, 1, new_key);
	sqlite3_bind_int64(st, 2, old_key);
	sr = hs_step_done(st);
	sqlite3_finalize(st);
	return sr;
}

static int64_t key_query(sync_ctx *c, const hs_table *t, int exists, int64_t key);

/* Give the local row from of integer-key table t the key to, and note
 * the move in temp.hubsync_moved (orig: the row's key before this sync,
 * cur: its key now); follow_moves then renames the references. */
static int move_row(sync_ctx *c, const hs_table *t, int64_t from, int64_t to)
{
	int64_t v[3] = {t->id, from, to};
	int sr = arm(c, t->id, 0);
	if (sr == SQLITE_OK)
		sr = rekey(c->r->db, t->name, t->cols[t->pk[0]], to, from);
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(c->r->db, "UPDATE temp.hubsync_moved SET cur = ?3"
					    " WHERE tbl = ?1 AND cur = ?2", 3, v);
	if (sr == SQLITE_OK && sqlite3_changes(c->r->db) == 0)
		sr = hs_exec_ints(c->r->db, "INSERT INTO temp.hubsync_moved(tbl,"
					    " orig, cur) VALUES(?1, ?2, ?3)", 3, v);
	return sr;
}

/* Run "UPDATE table SET col = <its row's new key> WHERE col IN <moved
 * keys> [AND extra]" for the moves of table id ?1 (extra may use ?2). */
static int follow(sqlite3 *db, const char *table, const char *col,
		  const char *extra, int tbl, int64_t extra_a)
{
	sqlite3_stmt *st;
	hs_buf where;
	int sr;
	hs_buf_init(&where);
	hs_buf_puts(&where, " IN (SELECT orig FROM temp.hubsync_moved WHERE"
			    " tbl = ?1 AND orig <> cur)");
	hs_buf_puts(&where, extra ? extra : "");
	sr = where.oom ? SQLITE_NOMEM
		       : prepare_update(db, &st, table, col,
					"(SELECT m.cur FROM temp.hubsync_moved AS m"
					" WHERE m.tbl = ?1 AND m.orig = <col>)",
					where.s);
	hs_buf_free(&where);
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int(st, 1, tbl);
	if (extra)
		sqlite3_bind_int64(st, 2, extra_a);
	sr = hs_step_done(st);
	sqlite3_finalize(st);
	return sr;
}

/* After the moves of table t: the rows that reference its moved rows,
 * the app's log entries written after the push was read (those before
 * it are dropped with this sync), and its AUTOINCREMENT counter, raised
 * past the keys handed out or the app would pick them again. Each in one
 * statement: per move, each was a scan of a whole table. */
static int follow_moves(sync_ctx *c, const hs_table *t)
{
	sqlite3 *db = c->r->db;
	int sr = SQLITE_OK;
	for (int k = 0; sr == SQLITE_OK && k < c->s.n; k++) {
		const hs_table *child = &c->s.t[k];
		for (int f = 0; sr == SQLITE_OK && f < child->nfk; f++) {
			if (!hs_fkey_targets_key(&child->fk[f], t))
				continue;
			sr = arm(c, child->id, 1);
			if (sr == SQLITE_OK)
				sr = follow(db, child->name, child->cols[child->fk[f].col],
					    NULL, t->id, 0);
			if (sr == SQLITE_OK)
				sr = arm(c, 0, 0);
		}
	}
	if (sr == SQLITE_OK)
		sr = follow(db, "hubsync_changes", "k1", " AND tbl = ?1 AND id > ?2",
			    t->id, c->snap);
	if (sr == SQLITE_OK && hs_table_has_column(db, "sqlite_sequence", "seq")) {
		sqlite3_stmt *st;
		sr = hs_prepare(db, &st, "UPDATE sqlite_sequence SET seq = max(seq,"
					 " ?1) WHERE name = ?2");
		if (sr == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, key_query(c, t, 0, 0));
			sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
			sr = hs_step_done(st);
			sqlite3_finalize(st);
		}
	}
	return sr;
}

/* "SELECT max(key) FROM t" or "... 1 FROM t WHERE key = ?1" on the replica. */
static int64_t key_query(sync_ctx *c, const hs_table *t, int exists, int64_t key)
{
	sqlite3_stmt *st;
	hs_buf b;
	int64_t v = 0;
	hs_buf_init(&b);
	hs_buf_puts(&b, exists ? "SELECT 1 FROM " : "SELECT max(");
	if (!exists) {
		hs_buf_ident(&b, t->cols[t->pk[0]]);
		hs_buf_puts(&b, ") FROM ");
	}
	hs_buf_ident(&b, t->name);
	if (exists) {
		hs_buf_puts(&b, " WHERE ");
		hs_buf_ident(&b, t->cols[t->pk[0]]);
		hs_buf_puts(&b, " = ?1");
	}
	if (!b.oom && hs_prepare(c->r->db, &st, b.s) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, key);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	hs_buf_free(&b);
	return v;
}

/*
 * Rows of ours the master gave new ids: rename them, the references to
 * them, and log entries the app wrote for them meanwhile. Renames can
 * chain (1 -> 4 while 4 -> 6), so every row first moves to a temporary
 * key, then to its new one. A row of the app's made during this sync may
 * sit on a new key: it moves to a free key first (it has not been pushed:
 * as if the app had picked that one). AUTOINCREMENT counters are raised
 * past the keys handed out, or the app would pick them again.
 */
static int apply_rebases(sync_ctx *c)
{
	hs_rowset *rs = &c->pull.rebases;
	const int64_t temp_base = INT64_MIN / 2;
	unsigned char *moved; /* per table of c->s: rows of it moved */
	int sr = SQLITE_OK;
	if (!rs->n)
		return SQLITE_OK;
	if (!(moved = calloc(hs_count(c->s.n), 1))) {
		sync_fail_sqlite(c, SQLITE_NOMEM, "cannot give rows their new ids");
		return SQLITE_NOMEM;
	}
	sr = hs_exec(c->r->db, "CREATE TEMP TABLE IF NOT EXISTS hubsync_moved(tbl"
			       " INTEGER, orig INTEGER, cur INTEGER);"
			       " CREATE INDEX IF NOT EXISTS temp.hubsync_moved_cur"
			       " ON hubsync_moved(tbl, cur);"
			       " CREATE INDEX IF NOT EXISTS temp.hubsync_moved_orig"
			       " ON hubsync_moved(tbl, orig);"
			       " DELETE FROM temp.hubsync_moved");
	for (int pass = 0; sr == SQLITE_OK && pass < 2; pass++) {
		for (size_t i = 0; sr == SQLITE_OK && i < rs->n; i++) {
			sqlite3_value **v = &rs->v[i * (size_t)rs->ncols];
			const hs_table *t = hs_schema_find(
				&c->s, (const char *)sqlite3_value_text(v[0]));
			int64_t old_key = sqlite3_value_int64(v[1]);
			int64_t new_key = sqlite3_value_int64(v[2]);
			int64_t temp = temp_base + (int64_t)i;
			if (!t || !t->intpk)
				continue;
			if (pass == 0) {
				moved[t - c->s.t] = 1;
				sr = move_row(c, t, old_key, temp);
				continue;
			}
			if (key_query(c, t, 1, new_key)) {
				int64_t free_key = key_query(c, t, 0, 0);
				for (size_t k = 0; k < rs->n; k++)
					if (sqlite3_value_int64(rs->v[k * 3 + 2]) > free_key)
						free_key = sqlite3_value_int64(rs->v[k * 3 + 2]);
				sr = move_row(c, t, new_key, free_key + 1);
			}
			if (sr == SQLITE_OK)
				sr = move_row(c, t, temp, new_key);
		}
	}
	for (int i = 0; sr == SQLITE_OK && i < c->s.n; i++)
		if (moved[i])
			sr = follow_moves(c, &c->s.t[i]);
	free(moved);
	if (sr == SQLITE_OK)
		sr = hs_exec(c->r->db, "DELETE FROM temp.hubsync_moved");
	if (sr != SQLITE_OK)
		sync_fail_sqlite(c, sr, "cannot give rows their new ids");
	return sr;
}

/* Local side of the retention: drop history older than it; the pending
 * retention setting has reached the master. */
static int prune_history(sync_ctx *c)
{
	int64_t days = c->retention_days > 0 ? c->retention_days
					     : HS_RETENTION_DAYS_DEFAULT;
	int64_t now = hs_now_ms(c->r);
	int sr = hs_exec(c->r->db, "DELETE FROM hubsync_meta WHERE key ="
				   " 'retention_set'"), compact;
	if (sr == SQLITE_OK)
		sr = hs_meta_set_int(c->r->db, "retention_days", days);
	/* The scan of the history runs once a day, not on every sync; a
	 * replica's first sync (often the biggest) only starts the clock:
	 * what it copied is the master's, pruned there. */
	if (sr != SQLITE_OK)
		return sr;
	int64_t last = hs_meta_get_int(c->r->db, "pruned_at", -1);
	if (now - last < 24LL * 3600 * 1000)
		return SQLITE_OK;
	if ((sr = hs_meta_set_int(c->r->db, "pruned_at", now)) != SQLITE_OK ||
	    last < 0)
		return sr;
	if ((compact = hs_history_compact(c->r->db)) < 0)
		return sqlite3_errcode(c->r->db);
	return hs_history_prune(c->r->db, compact,
				hs_now_ms(c->r) - days * 24 * 3600 * 1000, NULL);
}

/* Raise the local clock to what was received, within the drift bound. */
static int update_clock(sync_ctx *c)
{
	int64_t limit = (hs_now_ms(c->r) + HS_MAX_DRIFT_MS) << 16;
	int64_t h = c->pull.max_hlc;
	int sr = SQLITE_OK;
	if (h > limit) {
		snprintf(c->warning, sizeof c->warning,
			 "a change from %s is stamped %.1f hours in the future: "
			 "check that PC's clock",
			 c->pull.max_hlc_user ? c->pull.max_hlc_user : "another PC",
			 (double)((h >> 16) - hs_now_ms(c->r)) / 3600000.0);
		h = limit;
	}
	if (h > c->clock) {
		sr = hs_meta_set_int(c->r->db, "clock", h);
		if (sr == SQLITE_OK)
			sr = hs_meta_set_int(c->r->db, "clock_seq", c->pull.seq);
	}
	return sr;
}

/* The pulled audit trail (spooled in either shape, or c->pull.history
 * from a master that hands it with the pull) into hubsync_history,
 * through the writer of history.c like spool_history's direct path. A
 * replica's older table is converted first. */
static int copy_history(sync_ctx *c)
{
	sqlite3 *db = c->r->db;
	hs_history_writer w = {0};
	int sr = hs_history_upgrade(db);
	w.replace = 1;
	for (size_t r = 0; sr == SQLITE_OK && r < c->pull.history.n; r++)
		sr = hs_history_writer_put_values(&w, db, &c->pull.history.v[r * 8]);
	if (sr == SQLITE_OK)
		sr = hs_exec(db, PULL_HISTORY_DDL);
	if (sr == SQLITE_OK)
		sr = hs_history_copy(&w, db, "temp.hubsync_pull_history", NULL);
	if (sr == SQLITE_OK)
		sr = hs_history_copy(&w, db, "temp.hubsync_pull_stored",
				     &c->pull_names);
	hs_history_writer_free(&w);
	if (sr == SQLITE_OK)
		sr = hs_exec(db, "DELETE FROM temp.hubsync_pull_history;"
				 " DELETE FROM temp.hubsync_pull_stored");
	return sr;
}

/* Entries of the log below which log_drop_pushed empties the table. */
#define LOG_EMPTIED_FROM 1000

/* The log's entries up to snap, the newest entry kept (apply_spooled).
 * When that leaves only the newest and many go, the table is emptied at
 * once (SQLite frees its pages, each row unvisited: a tenth of the
 * deletes' cost) and the newest written back as it was. SQLite code. */
static int log_drop_pushed(sqlite3 *db, int64_t snap)
{
	sqlite3_stmt *q;
	int64_t span = -1;
	/* max() and min() each alone in a SELECT are one b-tree seek each;
	 * together, or under a WHERE, they are a scan of the whole log */
	int sr = hs_prepare(db, &q, "SELECT (SELECT max(id) FROM"
				    " hubsync_changes), (SELECT min(id) FROM"
				    " hubsync_changes)");
	if (sr == SQLITE_OK) {
		if ((sr = sqlite3_step(q)) == SQLITE_ROW &&
		    sqlite3_column_type(q, 0) == SQLITE_INTEGER &&
		    sqlite3_column_int64(q, 0) <= snap)
			span = sqlite3_column_int64(q, 0) -
			       sqlite3_column_int64(q, 1);
		sr = sr == SQLITE_ROW || sr == SQLITE_DONE ? SQLITE_OK : sr;
		sqlite3_finalize(q);
	}
	if (sr != SQLITE_OK)
		return sr;
	if (span < LOG_EMPTIED_FROM)
		return hs_exec_ints(db, "DELETE FROM hubsync_changes WHERE id <="
					" ?1 AND id < (SELECT max(id) FROM"
					" hubsync_changes)", 1, &snap);
	return hs_exec(db, "DROP TABLE IF EXISTS temp.hubsync_log_newest;"
			   "CREATE TEMP TABLE hubsync_log_newest AS SELECT *"
			   " FROM main.hubsync_changes WHERE id = (SELECT"
			   " max(id) FROM main.hubsync_changes);"
			   "DELETE FROM main.hubsync_changes;"
			   "INSERT INTO main.hubsync_changes SELECT * FROM"
			   " temp.hubsync_log_newest;"
			   "DROP TABLE temp.hubsync_log_newest");
}

/* Step 4b: the pull, in one local write transaction. */
static int apply_spooled(sync_ctx *c, hs_spool *sp)
{
	hs_replica *r = c->r;
	int sr = hs_exec(r->db, "BEGIN IMMEDIATE");
	if (sr != SQLITE_OK)
		return sync_fail_sqlite(c, sr, "cannot write the local database");
	sr = hs_exec(r->db, "UPDATE hubsync_ctl SET applying = 1, armed = 0;"
			    " DELETE FROM hubsync_stash");
	/* The pushed part of the log goes first: the pages it frees are
	 * reused by what this transaction writes next (pulled rows, history),
	 * instead of staying free in the file (docs/PERFORMANCE.md, "Second
	 * round"). Nothing below reads it: only entries after the push's
	 * snapshot (the app's writes since) matter to the pull. The newest
	 * entry stays as the floor of future ids (rowids restart at max + 1):
	 * ids must only grow, or the master's push mark would skip new
	 * changes. */
	if (sr == SQLITE_OK)
		sr = log_drop_pushed(r->db, c->snap);
	if (sr == SQLITE_OK)
		sr = hs_capture_log_prune(r->db);
	if (sr == SQLITE_OK)
		sr = apply_rebases(c);
	if (sr == SQLITE_OK)
		sr = write_back(c);
	if (sr == SQLITE_OK && (sr = apply_rows(c, sp)) != SQLITE_OK)
		goto rollback_quiet;
	/* An I/O error may have made SQLite roll the transaction back on
	 * its own: then nothing after it may be written piecemeal. */
	if (sr == SQLITE_OK && sqlite3_get_autocommit(r->db))
		sr = SQLITE_IOERR;
	if (sr == SQLITE_OK)
		sr = hs_rowset_insert(r->db, "INSERT OR REPLACE INTO hubsync_conflicts("
					     HS_CONFLICT_COLS ") VALUES(?1, ?2, ?3,"
					     " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
					     " ?13, ?14, ?15, ?16)",
				      &c->pull.conflicts);
	if (sr == SQLITE_OK && (sr = copy_history(c)) != SQLITE_OK) {
		sync_fail_sqlite(c, sr, "cannot write the pulled history");
		goto rollback_quiet;
	}
	if (sr == SQLITE_OK)
		sr = hs_rowset_insert(r->db, "DELETE FROM hubsync_resolutions WHERE"
					     " conflict_id = ?1 AND keep = ?2 AND"
					     " at = ?3",
				      &c->resolutions);
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "UPDATE hubsync_conflicts SET resolved = 1 WHERE"
				    " id IN (SELECT conflict_id FROM"
				    " hubsync_resolutions)");
	int64_t marks[2] = {c->pull.seq, c->snap};
	if (sr == SQLITE_OK)
		sr = hs_exec_ints(r->db, "UPDATE hubsync_ctl SET applying = 0,"
					 " armed = 0, pulled = ?1, pushed = ?2", 2, marks);
	if (sr == SQLITE_OK && c->master_id)
		sr = hs_meta_set(r->db, "master_id", c->master_id);
	if (sr == SQLITE_OK)
		sr = hs_numbers_store(r, &c->blocks);
	if (sr == SQLITE_OK)
		sr = hs_peers_store(r->db, &c->pull.sites);
	if (sr == SQLITE_OK)
		sr = prune_history(c);
	if (sr == SQLITE_OK && c->merge_known)
		sr = hs_mergeset_store(r->db, &c->merge_rules, c->merge_sent);
	if (sr == SQLITE_OK)
		sr = update_clock(c);
	if (sr == SQLITE_OK)
		sr = hs_meta_set_int(r->db, "last_sync", hs_now_ms(r));
	if (sr == SQLITE_OK && c->token)
		sr = hs_meta_set(r->db, "token", c->token);
	if (sr == SQLITE_OK && c->restored_at)
		sr = hs_meta_set(r->db, "master_restored_at", c->restored_at);
	if (sr == SQLITE_OK)
		sr = hs_exec(r->db, "COMMIT");
	if (sr == SQLITE_OK)
		return HS_OK;
	sync_fail_sqlite(c, sr, "cannot save pulled changes");
rollback_quiet:
	hs_exec(r->db, "ROLLBACK");
	return hs_error_from_sqlite(sr) ? hs_error_from_sqlite(sr) : HS_ERROR;
}

/* Step 4: the pull, read aside first (4a), then applied (4b). */
static int apply_pull(sync_ctx *c)
{
	hs_spool *sp = NULL;
	int rc;
	if (pull_direct(c)) {
		/* what the master's sequence moved by, ours left out */
		c->incoming = c->pull.seq - c->pulled - c->pushed_total;
		return apply_spooled(c, NULL);
	}
	rc = read_pull(c, &sp);
	if (rc != HS_OK) {
		hs_spool_close(sp);
		return rc;
	}
	rc = apply_spooled(c, sp);
	hs_spool_close(sp);
	return rc;
}

/* {"table": n, ...} of tables with n > 0. */
static json_t *counts_json(const hs_schema *s, const int64_t *n)
{
	json_t *o = json_object();
	for (int i = 0; o && i < s->n; i++)
		if (n[i])
			json_object_set_new(o, s->t[i].name, json_integer(n[i]));
	return o;
}

/* Step 5 and the result document. */
static char *finish(sync_ctx *c, int rc, int64_t started)
{
	hs_replica *r = c->r;
	int64_t ms = hs_now_ms(r) - started;
	const char *status = rc == HS_OK ? "success"
			     : c->master_committed ? "partial"
						   : "error";
	char when[32], dur[32];
	hs_buf msg;
	json_t *stats = json_object(), *res;
	sqlite3_stmt *st = NULL;
	char *stats_text;

	hs_buf_init(&msg);
	if (rc == HS_OK) {
		hs_buf_puts(&msg, "Sync completed successfully");
		if (c->warning[0])
			hs_buf_printf(&msg, " (warning: %s)", c->warning);
	} else if (c->applied) { /* tables left out, the others synced */
		hs_buf_puts(&msg, r->err);
	} else if (c->master_committed) {
		hs_buf_printf(&msg, "Pushed %lld changes, but applying pulled "
			      "changes failed: %s; run sync again",
			      (long long)c->pushed_total, r->err);
	} else {
		hs_buf_puts(&msg, r->err);
	}
	json_object_set_new(stats, "pulled",
			    c->pulled_rows ? counts_json(&c->s, c->pulled_rows)
					   : json_object());
	json_object_set_new(stats, "pushed",
			    c->mstats.pushed ? counts_json(&c->s, c->mstats.pushed)
					 : json_object());
	json_object_set_new(stats, "conflicts", json_integer(c->mstats.conflicts));
	stats_text = json_dumps(stats, JSON_COMPACT);

	hs_iso_time(hs_now_ms(r), when);
	/* a replica set up by an older hubsync: add started_by (else the
	 * INSERT fails as it would without this) */
	if (!c->no_log && hs_table_exists(r->db, "hubsync_meta") &&
	    !hs_table_has_column(r->db, "sync_log", "started_by"))
		hs_schema_create_meta(r->db);
	int logged = c->no_log ? SQLITE_OK
		: hs_prepare(r->db, &st, "INSERT INTO sync_log(timestamp,"
					 " direction, status, records_pulled,"
					 " records_pushed, conflicts, error_message,"
					 " duration_ms, stats, started_by) VALUES(?1,"
					 " 'bidirectional', ?2, ?3, ?4, ?5, ?6, ?7,"
					 " ?8, ?9)");
	if (!c->no_log && logged == SQLITE_OK) {
		sqlite3_bind_text(st, 1, when, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, c->pulled_total);
		sqlite3_bind_int64(st, 4, c->pushed_total);
		sqlite3_bind_int64(st, 5, c->mstats.conflicts);
		if (rc != HS_OK || c->warning[0])
			sqlite3_bind_text(st, 6, rc != HS_OK ? msg.s : c->warning,
					  -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, ms);
		sqlite3_bind_text(st, 8, stats_text, -1, SQLITE_STATIC);
		if (c->opts && c->opts->version >= 2)
			sqlite3_bind_text(st, 9, c->opts->trigger, -1, SQLITE_STATIC);
		logged = hs_step_done(st);
	}
	sqlite3_finalize(st);
	free(stats_text);
	/* The record of this sync could not be written (a full disk, a
	 * locked file): the result says so, in its own words. */
	if (logged != SQLITE_OK) {
		const char *why = sqlite3_errstr(logged);
		if (rc == HS_OK)
			snprintf(c->warning, sizeof c->warning, "this sync is not in "
				 "the history: sync_log could not be written (%s)",
				 why);
		hs_buf_printf(&msg, " (this sync is not in the history: sync_log"
			      " could not be written: %s)", why);
	}

	snprintf(dur, sizeof dur, "%.2fs", (double)ms / 1000.0);
	res = json_pack("{s:b, s:s, s:o, s:s, s:s, s:I}", "success", rc == HS_OK,
			"message", msg.s ? msg.s : "", "stats", stats, "duration",
			dur, "status", status, "durationMs", (json_int_t)ms);
	hs_buf_free(&msg);
	return hs_json_dump(res);
}

/* hs_schema_load_some's filter: the tables reconcile left out. */
static int left_out(void *ctx, const char *table)
{
	const hs_reconcile *rec = ctx;
	for (int i = 0; i < rec->nskipped; i++)
		if (strcmp(rec->skipped[i].table, table) == 0)
			return 1;
	return 0;
}

/*
 * One sync of a replica at a time (the daemon's and a CLI run, say):
 * hs_os_lock_file on DB.hubsync-lock, a local file. Returns the descriptor,
 * -1 with HS_ECONFLICT set on r when another sync holds it, or -2 when
 * the lock file cannot be made (then the sync goes ahead unguarded: the
 * master lock still keeps it correct).
 */
static int take_sync_lock(hs_replica *r, hs_buf *err)
{
	hs_buf b;
	int fd;
	hs_buf_init(&b);
	hs_buf_printf(&b, "%s.hubsync-lock", r->path);
	fd = b.oom ? -2 : hs_os_lock_file(b.s);
	hs_buf_free(&b);
	if (fd == -1)
		hs_buf_printf(err, "a sync of %s is already running: wait for it "
			      "to finish", r->path);
	return fd;
}

int hs_replica_sync_running(hs_replica *r)
{
	hs_buf err; /* asking is not failing: the handle's message stays */
	hs_buf_init(&err);
	int fd = take_sync_lock(r, &err);
	hs_os_unlock_file(fd);
	hs_buf_free(&err);
	return fd == -1;
}

int hs_replica_sync(hs_replica *r, const hs_sync_options *opts,
		    char **result_json)
{
	sync_ctx c;
	int64_t started = hs_now_ms(r);
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.opts = opts;
	hs_buf_init(&c.err);
	if (result_json)
		*result_json = NULL;
	r->err[0] = 0;
	int lock_fd = -2;
	if (opts && (opts->version < 1 || opts->version > HS_SYNC_OPTIONS_VERSION)) {
		rc = sync_fail(&c, HS_EINVALID, "hs_sync_options version %d is not "
			       "one this library knows: use HS_SYNC_OPTIONS_INIT",
			       opts->version);
		c.opts = NULL; /* not to be read */
		c.no_log = 1;
		goto out;
	}
	if ((rc = hs_replica_check_init(r)) != HS_OK)
		goto out; /* not set up or unreadable: the log may not take a row */
	lock_fd = take_sync_lock(r, &c.err);
	if (lock_fd == -1) {
		rc = HS_ECONFLICT; /* the running sync writes the log */
		c.no_log = 1;
		goto out;
	}
	c.site = hs_meta_get(r->db, "site");
	c.user = hs_meta_get(r->db, "user");
	c.master = hs_meta_get(r->db, "master");
	c.clock = hs_meta_get_int(r->db, "clock", 0);
	c.clock_seq = hs_meta_get_int(r->db, "clock_seq", 0);
	c.pulled = hs_query_int(r->db, "SELECT pulled FROM hubsync_ctl", 0, NULL);
	r->warn[0] = 0;
	if ((rc = hs_tracking_reconcile(r, &c.rec, &c.err)) != HS_OK)
		goto out;
	if (c.rec.warning.len)
		snprintf(c.warning, sizeof c.warning, "%s", c.rec.warning.s);
	if ((rc = hs_capture_guarded(r->db, &c.guard)) != SQLITE_OK) {
		rc = sync_fail_sqlite(&c, rc, "cannot read the database schema");
		goto out;
	}
	if (hs_schema_load_some(r->db, &c.s, left_out, &c.rec, &c.err) != 0) {
		int code = hs_error_from_sqlite(sqlite3_errcode(r->db));
		rc = sync_failed(&c, code ? code : HS_ECORRUPT, "bad schema");
		goto out;
	}
	c.mstats.pushed = calloc((size_t)c.s.n + 1, sizeof(int64_t));
	c.pulled_rows = calloc((size_t)c.s.n + 1, sizeof(int64_t));
	c.local_max = calloc((size_t)c.s.n + 1, sizeof(int64_t));
	if (hs_select1_prepare(r->db, &c.select1) != SQLITE_OK) {
		rc = sync_fail_sqlite(&c, sqlite3_errcode(r->db), "cannot read");
		goto out;
	}
	if (!c.mstats.pushed || !c.pulled_rows || !c.local_max || !c.site || !c.user || !c.master) {
		rc = sync_fail(&c, HS_ERROR, "cannot read the sync setup of %s",
			       r->path);
		goto out;
	}
	rc = exchange_with_master(&c);
	if (rc == HS_OK)
		rc = apply_pull(&c);
	if (rc == HS_OK && c.rec.nskipped) {
		c.applied = 1;
		rc = sync_fail(&c, HS_ERROR, "%s (the other tables were synced)",
			       c.rec.skipped[0].why);
	}
	progress(&c, "done", NULL, c.pulled_total + c.pushed_total);
out:
	/* the one place the handle's message is set (hs_replica_check_init,
	 * a public function's first step, sets it itself) */
	if (rc != HS_OK && c.err.len)
		hs_fail_buf(r, rc, &c.err);
	if (c.m) {
		hs_master_close(c.m);
		c.m = NULL;
	}
	if (result_json)
		*result_json = finish(&c, rc, started);
	else
		free(finish(&c, rc, started));
	hs_exec(r->db, "DROP TABLE IF EXISTS temp.hubsync_push_stamps;"
		       " DROP TABLE IF EXISTS temp.hubsync_pull_history;"
		       " DROP TABLE IF EXISTS temp.hubsync_pull_stored");
	hs_rowset_clear(&c.resolutions);
	hs_rowset_clear(&c.blocks);
	hs_merge_rules_clear(&c.merge_set);
	hs_merge_rules_clear(&c.merge_rules);
	free(c.merge_sent);
	hs_pull_clear(&c.pull);
	hs_history_names_free(&c.pull_names);
	unmap_tables(&c);
	hs_schema_clear(&c.s);
	hs_reconcile_clear(&c.rec);
	free(c.master_id);
	snprintf(r->warn, sizeof r->warn, "%s", c.warning);
	free(c.mstats.pushed);
	free(c.pulled_rows);
	free(c.local_max);
	free(c.token);
	free(c.restored_at);
	sqlite3_finalize(c.select1);
	free(c.site);
	free(c.user);
	free(c.master);
	hs_buf_free(&c.err);
	hs_os_unlock_file(lock_fd);
	return rc;
}
