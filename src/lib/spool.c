/*
 * spool.c - pulled rows set aside until they can be applied (spool.h).
 *
 * Format: one stream of the wire format (wire.c), zstd level 1: a
 * HS_F_PULLROW frame per pulled row or a HS_F_PUSHROW frame per row of a
 * push (hs_spool_push_row), laid out as the schema given at open, and a
 * SPOOL_MARK frame per mark (uint kind, int tag, uint n, then n flags as
 * uints; n = 0: no mask). The compressed bytes are cut into chunks of
 * CHUNK bytes, kept in order in temp.hubsync_spool(n, bytes) of the
 * replica's connection; only the chunk being filled or read is in memory.
 */
#include "spool.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK (1024 * 1024)
#define LEVEL 1
#define SPOOL_MARK 'k' /* a frame type of the spool only */

struct hs_spool {
	sqlite3 *db;
	const hs_schema *s;
	sqlite3_stmt *select1;
	hs_wire_out w;
	hs_buf chunk;     /* compressed bytes not yet in the table */
	int64_t nchunks;
	int sr;           /* first failure of the sink */
	/* reading */
	sqlite3_stmt *rd;
	const unsigned char *blob;
	size_t blen, bpos;
};

static int put_chunk(hs_spool *sp)
{
	sqlite3_stmt *q;
	int sr;
	if (!sp->chunk.len)
		return SQLITE_OK;
	sr = hs_prepare(sp->db, &q, "INSERT INTO temp.hubsync_spool(n, bytes)"
				    " VALUES(?1, ?2)");
	if (sr != SQLITE_OK)
		return sr;
	sqlite3_bind_int64(q, 1, ++sp->nchunks);
	sqlite3_bind_blob(q, 2, sp->chunk.s, (int)sp->chunk.len, SQLITE_STATIC);
	sr = sqlite3_step(q);
	sqlite3_finalize(q);
	hs_buf_reset(&sp->chunk);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

static int sink(void *ctx, const void *p, size_t n)
{
	hs_spool *sp = ctx;
	if (sp->sr != SQLITE_OK)
		return -1;
	hs_buf_putn(&sp->chunk, (const char *)p, n);
	if (sp->chunk.oom)
		sp->sr = SQLITE_NOMEM;
	else if (sp->chunk.len >= CHUNK)
		sp->sr = put_chunk(sp);
	return sp->sr == SQLITE_OK ? 0 : -1;
}

hs_spool *hs_spool_open(sqlite3 *db, const hs_schema *s, sqlite3_stmt *select1,
			int *sr)
{
	hs_spool *sp = calloc(1, sizeof(*sp));
	*sr = SQLITE_NOMEM;
	if (!sp)
		return NULL;
	sp->db = db;
	sp->s = s;
	sp->select1 = select1;
	hs_buf_init(&sp->chunk);
	*sr = hs_exec(db, "CREATE TEMP TABLE IF NOT EXISTS hubsync_spool("
			  "n INTEGER PRIMARY KEY, bytes BLOB NOT NULL);"
			  " DELETE FROM temp.hubsync_spool");
	if (*sr == SQLITE_OK && hs_wire_out_init(&sp->w, sink, sp, LEVEL) != 0)
		*sr = sp->sr != SQLITE_OK ? sp->sr : SQLITE_NOMEM;
	if (*sr != SQLITE_OK) {
		hs_spool_close(sp);
		return NULL;
	}
	return sp;
}

/* The frame just put, handed to the compressor. */
static int ended(hs_spool *sp)
{
	if (hs_wire_end(&sp->w) == 0)
		return SQLITE_OK;
	return sp->sr != SQLITE_OK ? sp->sr : SQLITE_NOMEM;
}

int hs_spool_row(void *spool, hs_rowchange *rc)
{
	hs_spool *sp = spool;
	hs_wire_frame(&sp->w, HS_F_PULLROW);
	hs_wire_put_pullrow(&sp->w, rc, sp->s->t[rc->table].npk);
	return ended(sp);
}

int hs_spool_push_row(void *spool, hs_rowchange *rc)
{
	hs_spool *sp = spool;
	hs_wire_frame(&sp->w, HS_F_PUSHROW);
	hs_wire_put_pushrow(&sp->w, rc, sp->s->t[rc->table].npk);
	return ended(sp);
}

int hs_spool_mark(hs_spool *sp, int kind, int64_t tag, const unsigned char *mask,
		  int n)
{
	hs_wire_frame(&sp->w, SPOOL_MARK);
	hs_wire_put_uint(&sp->w, (uint64_t)kind);
	hs_wire_put_int(&sp->w, tag);
	hs_wire_put_uint(&sp->w, mask ? (uint64_t)n : 0);
	for (int i = 0; mask && i < n; i++)
		hs_wire_put_uint(&sp->w, mask[i] != 0);
	return ended(sp);
}

/* The wire reader's source: the chunks in order. */
static long source(void *ctx, void *p, size_t n)
{
	hs_spool *sp = ctx;
	if (sp->bpos == sp->blen) {
		int step = sqlite3_step(sp->rd);
		if (step == SQLITE_DONE)
			return 0;
		if (step != SQLITE_ROW) {
			sp->sr = step;
			return -1;
		}
		sp->blob = sqlite3_column_blob(sp->rd, 0);
		sp->blen = (size_t)sqlite3_column_bytes(sp->rd, 0);
		sp->bpos = 0;
	}
	if (n > sp->blen - sp->bpos)
		n = sp->blen - sp->bpos;
	memcpy(p, sp->blob + sp->bpos, n);
	sp->bpos += n;
	return (long)n;
}

/* A mark frame to the reader's mark callback. */
static int read_mark(hs_wire_in *in, const hs_spool_reader *rd)
{
	int kind = (int)hs_wire_get_uint(in);
	int64_t tag = hs_wire_get_int(in);
	int64_t n = hs_wire_get_count(in);
	unsigned char *mask = NULL;
	int sr;
	if (in->err)
		return SQLITE_CORRUPT;
	if (n > 0 && !(mask = malloc((size_t)n)))
		return SQLITE_NOMEM;
	for (int64_t i = 0; i < n; i++)
		mask[i] = (unsigned char)hs_wire_get_uint(in);
	sr = in->err ? SQLITE_CORRUPT : rd->mark(rd->ctx, kind, tag, mask, (int)n);
	free(mask);
	return sr;
}

/* A row frame to the reader's row callback. */
static int read_row(hs_spool *sp, hs_wire_in *in, int type,
		    const hs_spool_reader *rd)
{
	hs_changeset one = {0};
	int npk, sr;
	if ((type == HS_F_PUSHROW ? hs_wire_get_pushrow(in, &one, &npk)
				  : hs_wire_get_pullrow(in, &one, &npk)) != 0)
		return SQLITE_CORRUPT;
	hs_rowchange *rc = &one.rows[0];
	if (rc->table < 0 || rc->table >= sp->s->n ||
	    rc->ncols != sp->s->t[rc->table].ncols)
		sr = SQLITE_CORRUPT;
	else
		sr = rd->row(rd->ctx, rc);
	hs_changeset_clear(&one);
	return sr;
}

int hs_spool_read(hs_spool *sp, const hs_spool_reader *rd, hs_buf *err)
{
	hs_wire_in in;
	int sr = SQLITE_OK;
	if (hs_wire_out_finish(&sp->w) != 0 || (sr = put_chunk(sp)) != SQLITE_OK) {
		sr = sr != SQLITE_OK ? sr : sp->sr != SQLITE_OK ? sp->sr : SQLITE_NOMEM;
		hs_buf_printf(err, "cannot set the rows aside: %s",
			      sqlite3_errstr(sr));
		return sr;
	}
	if ((sr = hs_prepare(sp->db, &sp->rd, "SELECT bytes FROM"
					      " temp.hubsync_spool ORDER BY n")) != SQLITE_OK)
		return sr;
	sp->blen = sp->bpos = 0;
	if (hs_wire_in_init(&in, source, sp, sp->select1) != 0) {
		sr = SQLITE_CORRUPT;
	} else {
		int t;
		while (sr == SQLITE_OK && (t = hs_wire_next(&in)) > 0)
			sr = t == HS_F_PULLROW || t == HS_F_PUSHROW
				     ? read_row(sp, &in, t, rd)
			     : t == SPOOL_MARK ? read_mark(&in, rd)
					       : SQLITE_CORRUPT;
		if (sr == SQLITE_OK && in.err)
			sr = SQLITE_CORRUPT;
	}
	if (in.err && sp->sr != SQLITE_OK)
		sr = sp->sr; /* the source failed: say why */
	if (in.err)
		hs_buf_printf(err, "cannot read back the rows set aside: %s",
			      sp->sr != SQLITE_OK ? sqlite3_errstr(sp->sr) : in.msg);
	hs_wire_in_free(&in);
	sqlite3_finalize(sp->rd);
	sp->rd = NULL;
	return sr;
}

void hs_spool_close(hs_spool *sp)
{
	if (!sp)
		return;
	sqlite3_finalize(sp->rd);
	hs_wire_out_free(&sp->w);
	hs_buf_free(&sp->chunk);
	hs_exec(sp->db, "DELETE FROM temp.hubsync_spool");
	free(sp);
}
