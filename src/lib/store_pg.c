/*
 * store_pg.c - the PostgreSQL master (DESIGN.md 3.8): a master store
 * (store.h) and the session sync.c holds with it (master.h), over libpq.
 * The merge rules stay merge.c's; this file is every SQL of PostgreSQL.
 *
 * Layout in the database (docs/POSTGRES.md shows it as a reporting tool
 * sees it):
 *
 *   public."TABLE"     one real table per synced table: hubsync_pk bytea
 *                      PRIMARY KEY (the key blob of encode.c: 1 and '1'
 *                      are two keys), the app's columns typed as pgtypes.c
 *                      says, hubsync_extra jsonb (the exact value of any
 *                      cell that is not of its column's type, else NULL),
 *                      and a UNIQUE index per UNIQUE constraint of the app
 *   hubsync.master     key/value: format = 1, seq (last sequence), id,
 *                      retention_days, housekept, restored_at
 *   hubsync.sites      as the file master's hubsync_sites
 *   hubsync.rows       (tbl, pk) -> alive, seq, vseq, hlc, site, clocks:
 *                      the versions, encode.c's formats
 *   hubsync.conflicts, hubsync.history, hubsync.rebases, hubsync.numbers
 *                      as the file master's (conflict values as pgtypes.c's
 *                      tagged text)
 *   hubsync.tables     name -> the SQLite CREATE TABLE statement of the
 *                      master's table (columns added by app upgrades
 *                      included): the shape the merge sees
 *   hubsync.merge_rules (tbl, col) -> key: the columns merged inside JSON
 *                      (hubsync merge), as the file master's
 *                      hubsync_merge_rules; hubsync.master 'history_pruned'
 *                      = the largest history seq housekeeping deleted
 *
 * The shape: an in-memory SQLite database holds every synced table's
 * CREATE TABLE statement (no rows), so that schema.c reads columns, keys,
 * foreign keys, UNIQUE sets and defaults exactly as for a file master.
 *
 * The change feed under concurrency: several processes (serve, or PCs
 * with the master's address) may sync at once. Every write transaction
 * takes one transaction-level advisory lock (PG_LOCK) right after BEGIN,
 * then reads the sequence: writers run one after the other, each hands
 * out sequences above the last committed one and commits them before the
 * next writer starts. A reader (the pull, in a REPEATABLE READ snapshot
 * taken after its own commit) therefore sees every sequence up to the
 * watermark it is given: no transaction can still commit one below it.
 * docs/POSTGRES.md says why this and not xid8 snapshots.
 */
#include "master.h"

#include "hubsync.h"
#include "json.h"
#include "merge.h"
#include "pgtypes.h"
#include "platform.h"

#include <jansson.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_FORMAT 1
/* The advisory lock every write transaction holds ('hubsync'). */
#define PG_LOCK "7526475183931009"

/* Type OIDs (pg_type.h is a server header). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701
#define OID_JSONB 3802

/* The columns merged inside JSON (DESIGN.md 3.9; added to masters made
 * before it, pg_upgrade) and the audit trail by row (value_at). */
#define PG_DDL_JSON                                                            \
	"CREATE TABLE IF NOT EXISTS hubsync.merge_rules(tbl text NOT NULL,"    \
	" col text NOT NULL, key text, PRIMARY KEY(tbl, col));"                \
	"CREATE INDEX IF NOT EXISTS history_key ON hubsync.history(tbl, key,"  \
	" seq);"

static const char *PG_DDL =
	"CREATE SCHEMA IF NOT EXISTS hubsync;"
	"CREATE TABLE IF NOT EXISTS hubsync.master(key text PRIMARY KEY,"
	" value text);"
	"CREATE TABLE IF NOT EXISTS hubsync.sites(id serial PRIMARY KEY,"
	" site text NOT NULL UNIQUE, \"user\" text,"
	" pushed bigint NOT NULL DEFAULT 0, pulled bigint NOT NULL DEFAULT 0,"
	" token text, prev_token text, last_sync bigint, synced_seq bigint);"
	"CREATE TABLE IF NOT EXISTS hubsync.rows(tbl text NOT NULL,"
	" pk bytea NOT NULL, alive bigint NOT NULL, seq bigint NOT NULL,"
	" vseq bigint NOT NULL, hlc bigint NOT NULL, site bigint NOT NULL,"
	" clocks bytea, PRIMARY KEY(tbl, pk));"
	"CREATE INDEX IF NOT EXISTS rows_seq ON hubsync.rows(tbl, seq);"
	"CREATE TABLE IF NOT EXISTS hubsync.conflicts(id bigserial PRIMARY KEY,"
	" seq bigint NOT NULL, tbl text NOT NULL, pk text NOT NULL, col text,"
	" local_value text, remote_value text, winner text NOT NULL,"
	" local_user text, remote_user text, detected_at text NOT NULL,"
	" resolved bigint NOT NULL DEFAULT 0, resolved_at text,"
	" resolved_by text, local_site text, remote_site text);"
	"CREATE INDEX IF NOT EXISTS conflicts_seq ON hubsync.conflicts(seq);"
	"CREATE TABLE IF NOT EXISTS hubsync.numbers(series text PRIMARY KEY,"
	" next bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hubsync.rebases(seq bigint PRIMARY KEY,"
	" site bigint NOT NULL, tbl text NOT NULL, old_key bigint NOT NULL,"
	" new_key bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hubsync.history(seq bigint PRIMARY KEY,"
	" tbl text NOT NULL, key text NOT NULL, pk text NOT NULL,"
	" op text NOT NULL, \"user\" text, at text NOT NULL, changes text);"
	"CREATE TABLE IF NOT EXISTS hubsync.tables(name text PRIMARY KEY,"
	" sql text NOT NULL);"
	PG_DDL_JSON
	"INSERT INTO hubsync.master VALUES('format', '1'), ('seq', '0')"
	" ON CONFLICT DO NOTHING;";

/* A binary COPY stream being gathered (copy_row, copy_field,
 * copy_send). */
typedef struct pg_copy {
	char *sql;       /* COPY ... FROM STDIN (FORMAT binary) */
	hs_buf b;
	int n;           /* rows in b */
} pg_copy;

/* One synced table as this connection writes it. */
typedef struct pg_table pg_table;
struct pg_table {
	hs_table t;       /* from the shape */
	hs_pg_kind *kind; /* per column */
	char name[48];    /* prefix of its prepared statements */
	int prepared;
	int unique;       /* has UNIQUE constraints besides its key */
	char *copy_sql;   /* COPY ... FROM STDIN (BINARY), made once */
	/* scratch for one row's parameters */
	hs_buf *typed, shadow;
	const char **pv;
	int *pl, *pf;
};

typedef struct pg_master {
	hs_master master; /* first: sync.c sees a hs_master */
	hs_store base;    /* the merge and the pull see a hs_store */
	PGconn *conn;
	char *url;        /* for messages, without a password */
	sqlite3 *shape;   /* the tables' CREATE statements, no rows */
	int in_txn, in_read;
	int prepared;     /* the shared statements */
	/* pipeline mode (see "talking to PostgreSQL"): statements sent whose
	 * results are not read yet, and the first of them that failed */
	int pipe, queued;
	char qmsg[400], qstate[6];
	struct pg_ahead *ahead; /* the merge batch's rows, read at once */
	const hs_schema *mschema; /* the push being merged (merge_begin) */
	/* versions and history rows waiting to be written as one statement
	 * each (batch_flush): per column, a PostgreSQL array literal */
	hs_buf metab[8], histb[8];
	int metan, histn;
	/* rows no one has yet, waiting to be written by one COPY each
	 * ("new rows by COPY"): the app's rows of table copyt, and their
	 * versions (hubsync.rows) */
	pg_copy copy, copym;
	struct pg_table *copyt;
	pg_table **tabs;
	int ntabs, gen;
	char msg[400], state[6]; /* the last PostgreSQL error */
	char notice[200];        /* the last notice (an idle connection's
				  * end: why, hs_master_pg_alive) */
} pg_master;

static const hs_store_ops PG_OPS;
static const hs_master_ops PG_MASTER_OPS;
static void pm_close(hs_master *mm);

#define PM(st) ((pg_master *)((char *)(st) - offsetof(pg_master, base)))

static void ahead_free(pg_master *m);
static int batch_flush(pg_master *m);
static void batch_clear(pg_master *m);
static int copy_flush(pg_master *m);
static int copy_send(pg_master *m, pg_copy *c);

/* ---- talking to PostgreSQL ------------------------------------------ */

/* r if it succeeded; else NULL, the error kept on m. */
static PGresult *pg_check(pg_master *m, PGresult *r)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		m->msg[0] = m->state[0] = 0;
		return r;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	snprintf(m->state, sizeof m->state, "%s", state ? state : "");
	snprintf(m->msg, sizeof m->msg, "%s", msg ? msg : PQerrorMessage(m->conn));
	m->msg[strcspn(m->msg, "\n")] = 0;
	PQclear(r);
	return NULL;
}

/* The SQLite code of the last error. */
static int pg_code(pg_master *m)
{
	if (PQstatus(m->conn) == CONNECTION_BAD)
		return SQLITE_IOERR;
	if (!strcmp(m->state, "23505"))
		return SQLITE_CONSTRAINT_UNIQUE;
	if (!strcmp(m->state, "55P03") || !strcmp(m->state, "40P01") ||
	    !strcmp(m->state, "40001") || !strcmp(m->state, "57014"))
		return SQLITE_BUSY;
	if (!strcmp(m->state, "53100"))
		return SQLITE_FULL;
	return SQLITE_ERROR;
}

/*
 * Pipelining. A merge writes several statements per row (the row, its
 * versions, its history) and reads one or two (the versions and values
 * of the next row); waiting for each answer made a first sync of 100k
 * rows take about two minutes. So during a write transaction the writes
 * whose answer nobody needs now (pg_queue) are sent in libpq's pipeline
 * mode without waiting; a statement whose answer is wanted (pg_exec,
 * pg_prepared) is sent behind them with a sync point and every answer is
 * read then: one round trip for the writes and the read together. A
 * failed queued write makes the pipeline skip the rest until the sync:
 * its error is the one the next read (or the commit) reports, so the
 * transaction never commits past it. Multi-statement commands (pg_cmd:
 * BEGIN, COMMIT, ...) leave pipeline mode first.
 */

/* Keep r's error as the pipeline's first (when none is kept yet). */
static void queue_error(pg_master *m, PGresult *r)
{
	const char *state, *msg;
	if (m->qstate[0] || m->qmsg[0])
		return;
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	snprintf(m->qstate, sizeof m->qstate, "%s", state ? state : "");
	snprintf(m->qmsg, sizeof m->qmsg, "%s", msg ? msg : PQerrorMessage(m->conn));
	m->qmsg[strcspn(m->qmsg, "\n")] = 0;
}

/* Send a sync point and read the answers of the queued statements and,
 * when want, of one more (returned; NULL if the pipeline failed: the
 * error is then on m as pg_check leaves it). */
static PGresult *pipe_collect(pg_master *m, int want)
{
	PGresult *r, *mine = NULL;
	int n = m->queued + (want != 0), broken = 0;
	if (!PQpipelineSync(m->conn)) {
		queue_error(m, NULL);
		broken = 1;
	}
	for (int i = 0; !broken && i < n; i++) {
		r = PQgetResult(m->conn);
		if (!r) { /* the connection is gone */
			queue_error(m, NULL);
			broken = 1;
			break;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    st != PGRES_PIPELINE_ABORTED)
			queue_error(m, r);
		if (want && i == n - 1 && st != PGRES_PIPELINE_ABORTED &&
		    !m->qstate[0] && !m->qmsg[0])
			mine = r;
		else
			PQclear(r);
		while ((r = PQgetResult(m->conn))) /* up to the NULL */
			PQclear(r);
	}
	/* the sync point's own result */
	while (!broken && (r = PQgetResult(m->conn))) {
		int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	m->queued = 0;
	if (m->qstate[0] || m->qmsg[0]) {
		memcpy(m->state, m->qstate, sizeof m->state);
		memcpy(m->msg, m->qmsg, sizeof m->msg);
		m->qstate[0] = m->qmsg[0] = 0;
		PQclear(mine);
		return NULL;
	}
	return want ? mine : (PGresult *)1;
}

/* The answer of the statement just sent behind the queued ones (NULL:
 * it or a queued one failed; the error on m). */
static PGresult *pipe_now(pg_master *m)
{
	PGresult *r = pipe_collect(m, 1);
	return r ? pg_check(m, r) : NULL;
}

/* Leave pipeline mode: the queued statements' answers read. SQLite
 * code (the first failure among them). */
static int pipe_end(pg_master *m)
{
	int sr = SQLITE_OK;
	if (!m->pipe)
		return SQLITE_OK;
	if (!pipe_collect(m, 0))
		sr = pg_code(m);
	PQexitPipelineMode(m->conn);
	m->pipe = 0;
	return sr;
}

/* sql with n parameters (types may be NULL: inferred), binary results
 * when binary. */
static PGresult *pg_exec(pg_master *m, const char *sql, int n, const Oid *types,
			 const char *const *v, const int *len, const int *fmt,
			 int binary)
{
	if (batch_flush(m) != SQLITE_OK)
		return NULL;
	if (m->pipe) {
		if (!PQsendQueryParams(m->conn, sql, n, types, v, len, fmt, binary))
			queue_error(m, NULL);
		return pipe_now(m);
	}
	return pg_check(m, PQexecParams(m->conn, sql, n, types, v, len, fmt,
					binary));
}

/* sql with n text parameters (NULL: NULL), text results. */
static PGresult *pg_q(pg_master *m, const char *sql, int n, const char *const *a)
{
	return pg_exec(m, sql, n, NULL, a, NULL, NULL, 0);
}

/* Statements without parameters or rows (may be several). SQLite code:
 * a queued statement's failure first (sql runs all the same: a ROLLBACK
 * must; a COMMIT then only ends the failed transaction, and the caller
 * learns that it failed). */
static int pg_cmd(pg_master *m, const char *sql)
{
	char msg[sizeof m->msg], state[sizeof m->state];
	int queued = batch_flush(m);
	if (queued == SQLITE_OK)
		queued = pipe_end(m);
	else
		pipe_end(m);
	memcpy(msg, m->msg, sizeof msg);
	memcpy(state, m->state, sizeof state);
	PGresult *r = pg_check(m, PQexec(m->conn, sql));
	PQclear(r);
	if (queued != SQLITE_OK) {
		memcpy(m->msg, msg, sizeof msg);
		memcpy(m->state, state, sizeof state);
		return pg_code(m) != SQLITE_ERROR ? pg_code(m) : queued;
	}
	return r ? SQLITE_OK : pg_code(m);
}

/* Run a command with text parameters. SQLite code. */
static int pg_run(pg_master *m, const char *sql, int n, const char *const *a)
{
	PGresult *r = pg_q(m, sql, n, a);
	PQclear(r);
	return r ? SQLITE_OK : pg_code(m);
}

/* Prepare a statement once per connection. SQLite code. */
static int pg_prepare(pg_master *m, const char *name, const char *sql, int n,
		      const Oid *types)
{
	PGresult *r;
	if (batch_flush(m) != SQLITE_OK)
		return pg_code(m);
	if (m->pipe) {
		if (!PQsendPrepare(m->conn, name, sql, n, types))
			queue_error(m, NULL);
		r = pipe_now(m);
	} else {
		r = pg_check(m, PQprepare(m->conn, name, sql, n, types));
	}
	PQclear(r);
	return r ? SQLITE_OK : pg_code(m);
}

static PGresult *pg_prepared(pg_master *m, const char *name, int n,
			     const char *const *v, const int *len,
			     const int *fmt, int binary)
{
	if (batch_flush(m) != SQLITE_OK)
		return NULL;
	if (m->pipe) {
		if (!PQsendQueryPrepared(m->conn, name, n, v, len, fmt, binary))
			queue_error(m, NULL);
		return pipe_now(m);
	}
	return pg_check(m, PQexecPrepared(m->conn, name, n, v, len, fmt, binary));
}

/* The most statements left unread in the pipeline: their answers must
 * not fill the socket while this side only sends. */
#define PIPE_MAX 256

/* Send a write whose answer is not needed now: prepared statement name
 * with n parameters, or (name NULL) the single statement sql, after the
 * rows gathered for multi-row writes (batch_flush). It runs in
 * order with everything else; a failure comes out at the next read or
 * at the commit. Only inside a write transaction. SQLite code. */
static int queue_send(pg_master *m, const char *name, const char *sql, int n,
		      const char *const *v, const int *len, const int *fmt);

static int pg_queue(pg_master *m, const char *name, const char *sql, int n,
		    const char *const *v, const int *len, const int *fmt)
{
	int ok;
	/* a savepoint (or a rollback to one) comes after what was gathered:
	 * those rows were written before it; a row's own write after its
	 * COPY */
	if ((ok = !name ? batch_flush(m) : copy_flush(m)) != SQLITE_OK)
		return ok;
	return queue_send(m, name, sql, n, v, len, fmt);
}

/* pg_queue without writing what was gathered first (the gathered
 * versions and history themselves: batch_send). */
static int queue_send(pg_master *m, const char *name, const char *sql, int n,
		      const char *const *v, const int *len, const int *fmt)
{
	int ok;
	if (!m->pipe) {
		if (!PQenterPipelineMode(m->conn)) {
			pg_check(m, NULL);
			return pg_code(m);
		}
		m->pipe = 1;
	}
	ok = name ? PQsendQueryPrepared(m->conn, name, n, v, len, fmt, 0)
		  : PQsendQueryParams(m->conn, sql, n, NULL, v, len, fmt, 0);
	if (!ok) {
		queue_error(m, NULL);
		pipe_collect(m, 0);
		return pg_code(m);
	}
	if (++m->queued >= PIPE_MAX && !pipe_collect(m, 0))
		return pg_code(m);
	return SQLITE_OK;
}

/*
 * Multi-row writes. The versions (hubsync.rows) and the history of the
 * merged rows are gathered here and written as one statement each
 * (unnest of arrays, PIPE_ROWS rows at most) when anything else needs an
 * answer or ends the transaction (batch_flush, called by every statement
 * path but pg_queue): nothing reads those tables in between, so the order
 * of the writes is kept where it matters. A row's versions written twice
 * in one batch: the last wins (DISTINCT ON, by position).
 */
#define PIPE_ROWS 1000

/* Append one array element to b: NULL, or v as a quoted string. */
static void array_put(hs_buf *b, int first, const char *v)
{
	hs_buf_puts(b, first ? "{" : ",");
	if (!v) {
		hs_buf_puts(b, "NULL");
		return;
	}
	hs_buf_puts(b, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			hs_buf_puts(b, "\\");
		hs_buf_putn(b, p, 1);
	}
	hs_buf_puts(b, "\"");
}

/* Append the bytes p..n as hex (an element decode(x, 'hex') reads). */
static void array_put_hex(hs_buf *b, int first, const char *p, size_t n)
{
	hs_buf_puts(b, first ? "{" : ",");
	hs_pg_hex(b, p, n);
	if (!n)
		hs_buf_puts(b, "\"\"");
}

/* Queue the gathered rows of one batch (cols columns) with statement
 * name; reset it. SQLite code. */
static int batch_send(pg_master *m, hs_buf *b, int *n, const char *name)
{
	const char *v[8];
	int sr = SQLITE_OK;
	if (!*n)
		return SQLITE_OK;
	/* versions written again after their first write by COPY */
	if (b == m->metab)
		sr = copy_send(m, &m->copym);
	for (int i = 0; i < 8; i++) {
		hs_buf_puts(&b[i], "}");
		v[i] = b[i].s;
		if (b[i].oom)
			sr = SQLITE_NOMEM;
	}
	if (sr == SQLITE_OK)
		sr = queue_send(m, name, NULL, 8, v, NULL, NULL);
	for (int i = 0; i < 8; i++)
		hs_buf_reset(&b[i]);
	*n = 0;
	return sr;
}

static int batch_flush(pg_master *m)
{
	int cr = copy_flush(m);
	int sr = batch_send(m, m->metab, &m->metan, "hs_meta_many");
	int hr = batch_send(m, m->histb, &m->histn, "hs_history_many");
	return cr != SQLITE_OK ? cr : sr != SQLITE_OK ? sr : hr;
}

/* Forget what was gathered (the transaction is rolled back). */
static void batch_clear(pg_master *m)
{
	for (int i = 0; i < 8; i++) {
		hs_buf_free(&m->metab[i]);
		hs_buf_free(&m->histb[i]);
	}
	m->metan = m->histn = 0;
	hs_buf_free(&m->copy.b);
	hs_buf_free(&m->copym.b);
	free(m->copy.sql);
	free(m->copym.sql);
	m->copy.sql = m->copym.sql = NULL;
	m->copy.n = m->copym.n = 0;
	m->copyt = NULL;
}

/*
 * New rows by COPY. A first push of many rows was one upsert each
 * (pipelined): about 14 times a plain COPY of the same rows. Most rows of
 * such a push are new: the merge batch's read ahead (ahead_load) found
 * no row with their key, and no other process writes the app's tables
 * while this one holds the advisory lock, so their write is a plain
 * insert with nothing to decide (the merge decided already, in merge.c,
 * as for every row). pg_row_put gathers such rows of a table without
 * UNIQUE constraints (whose collisions the merge must see row by row)
 * into one binary COPY stream, the same typed cells it would bind to the
 * upsert, written into the table when anything else is sent (a read, a
 * savepoint, another write of a row: they see the rows or undo them in
 * order), at COPY_ROWS rows, or at the commit. No temporary table: there
 * is nothing to merge into. A write of a key already written since the
 * read ahead (the read ahead no longer holds its values) is an upsert, as
 * before, after the COPY.
 */
#define COPY_ROWS 20000

/* COPY into pt's table: its key, columns and hubsync_extra. */
static int copy_sql(pg_table *pt)
{
	hs_buf q;
	if (pt->copy_sql)
		return SQLITE_OK;
	hs_buf_init(&q);
	hs_buf_puts(&q, "COPY ");
	hs_buf_ident(&q, pt->t.name);
	hs_buf_puts(&q, " (hubsync_pk");
	for (int i = 0; i < pt->t.ncols; i++) {
		hs_buf_puts(&q, ", ");
		hs_buf_ident(&q, pt->t.cols[i]);
	}
	hs_buf_puts(&q, ", hubsync_extra) FROM STDIN (FORMAT binary)");
	pt->copy_sql = hs_buf_take(&q);
	return pt->copy_sql ? SQLITE_OK : SQLITE_NOMEM;
}

static void put_u32(hs_buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};
	hs_buf_putn(b, (const char *)p, 4);
}

/* Start a row of nfields fields in c (the stream's header first). */
static void copy_row(pg_copy *c, const char *sql, int nfields)
{
	if (!c->n++) { /* the binary COPY header: signature, flags, extension */
		free(c->sql);
		c->sql = hs_strdup(sql);
		hs_buf_reset(&c->b);
		hs_buf_putn(&c->b, "PGCOPY\n\377\r\n\0", 11);
		put_u32(&c->b, 0);
		put_u32(&c->b, 0);
	}
	hs_buf_putn(&c->b, (const char[]){(char)(nfields >> 8), (char)nfields}, 2);
}

/* A field: len bytes at p in the binary format of its column's type
 * (p NULL: NULL). */
static void copy_field(pg_copy *c, const void *p, size_t len)
{
	put_u32(&c->b, p ? (uint32_t)len : 0xffffffffu);
	if (p)
		hs_buf_putn(&c->b, p, len);
}

/* Write what c gathered (one COPY, outside pipeline mode). SQLite code. */
static int copy_send(pg_master *m, pg_copy *c)
{
	PGresult *r;
	int sr, ok = 1;
	if (!c->n)
		return SQLITE_OK;
	c->n = 0;
	hs_buf_putn(&c->b, "\377\377", 2); /* the end of the rows */
	if (c->b.oom || !c->sql)
		return SQLITE_NOMEM;
	if ((sr = pipe_end(m)) != SQLITE_OK)
		return sr;
	r = PQexec(m->conn, c->sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		PQclear(pg_check(m, r));
		return pg_code(m);
	}
	PQclear(r);
	for (size_t at = 0; ok && at < c->b.len; at += 1 << 20) {
		size_t n = c->b.len - at < 1 << 20 ? c->b.len - at : 1 << 20;
		ok = PQputCopyData(m->conn, c->b.s + at, (int)n) == 1;
	}
	if (PQputCopyEnd(m->conn, ok ? NULL : "hubsync: cannot send the rows") != 1)
		ok = 0;
	r = pg_check(m, PQgetResult(m->conn));
	sr = r && ok ? SQLITE_OK : pg_code(m);
	PQclear(r);
	while ((r = PQgetResult(m->conn))) /* up to the NULL */
		PQclear(r);
	hs_buf_reset(&c->b);
	return sr;
}

/* Write every gathered new row: the app's, then their versions. */
static int copy_flush(pg_master *m)
{
	int sr = copy_send(m, &m->copy);
	return sr == SQLITE_OK ? copy_send(m, &m->copym) : sr;
}

/* Gather the row whose parameters row_params left in pt (a key no row
 * has: see above). SQLite code. */
static int copy_add(pg_master *m, pg_table *pt)
{
	int n = pt->t.ncols, sr;
	if (m->copyt != pt && (sr = copy_send(m, &m->copy)) != SQLITE_OK)
		return sr;
	if ((sr = copy_sql(pt)) != SQLITE_OK)
		return sr;
	m->copyt = pt;
	copy_row(&m->copy, pt->copy_sql, n + 2);
	for (int i = 0; i <= n; i++) /* the key, then the typed cells */
		copy_field(&m->copy, pt->pv[i], (size_t)pt->pl[i]);
	if (!pt->pv[n + 1]) { /* hubsync_extra: jsonb's version 1, the text */
		copy_field(&m->copy, NULL, 0);
	} else {
		size_t len = strlen(pt->pv[n + 1]);
		put_u32(&m->copy.b, (uint32_t)len + 1);
		hs_buf_putn(&m->copy.b, "\1", 1);
		hs_buf_putn(&m->copy.b, pt->pv[n + 1], len);
	}
	if (m->copy.b.oom)
		return SQLITE_NOMEM;
	return m->copy.n >= COPY_ROWS ? copy_send(m, &m->copy) : SQLITE_OK;
}

/* An integer from a text result cell (dflt when NULL or absent). */
static int64_t cell_int(PGresult *r, int row, int col, int64_t dflt)
{
	if (!r || row >= PQntuples(r) || PQgetisnull(r, row, col))
		return dflt;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* An integer from a binary result cell: int8, int4, int2 or bool. */
static int64_t bin_int(PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);
	int64_t v = 0;
	if (PQgetisnull(r, row, col))
		return 0;
	if (n == 8)
		return hs_pg_get_i64(p);
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)v;
	if (n == 2)
		return (int16_t)v;
	return v;
}

/* One text value of a query with text parameters (malloc'd), or NULL. */
static char *pg_text(pg_master *m, const char *sql, int n, const char *const *a)
{
	PGresult *r = pg_q(m, sql, n, a);
	char *v = r && PQntuples(r) && !PQgetisnull(r, 0, 0)
			  ? hs_strdup(PQgetvalue(r, 0, 0))
			  : NULL;
	PQclear(r);
	return v;
}

/* Write "what on the master URL: message; what to do" to err and return
 * the hs_error of sr. */
static int pg_fail(pg_master *m, hs_buf *err, int sr, const char *what)
{
	int code = HS_ERROR;
	const char *hint = "";
	if (m->conn && PQstatus(m->conn) == CONNECTION_BAD) {
		code = HS_EIO;
		hint = "; check that the PostgreSQL server runs and can be reached";
	} else {
		switch (sr & 0xff) {
		case SQLITE_BUSY:
			code = HS_EBUSY;
			hint = "; other syncs held the master too long: try again";
			break;
		case SQLITE_FULL:
			code = HS_EIO;
			hint = "; the database server's disk is full";
			break;
		case SQLITE_CORRUPT:
			code = HS_ECORRUPT;
			break;
		}
	}
	hs_buf_printf(err, "%s on the master %s: %s%s", what, m->url,
		      m->msg[0] ? m->msg : sqlite3_errstr(sr), hint);
	m->msg[0] = 0;
	return code;
}

/* ---- the shape: the tables' SQLite definitions -------------------------- */

/* Put table name's CREATE statement sql into the shape (replacing an
 * older one). SQLite code. */
static int shape_set(pg_master *m, const char *name, const char *sql)
{
	char *have = hs_table_create_sql(m->shape, name);
	int sr = SQLITE_OK;
	if (have && !strcmp(have, sql)) {
		free(have);
		return SQLITE_OK;
	}
	if (have) {
		hs_buf q;
		hs_buf_init(&q);
		hs_buf_puts(&q, "DROP TABLE ");
		hs_buf_ident(&q, name);
		sr = q.oom ? SQLITE_NOMEM : hs_exec(m->shape, q.s);
		hs_buf_free(&q);
	}
	free(have);
	return sr == SQLITE_OK ? hs_exec(m->shape, sql) : sr;
}

/* The PostgreSQL kind of column col of table in the shape. */
static hs_pg_kind shape_kind(pg_master *m, const char *table, const char *col)
{
	sqlite3_stmt *st;
	hs_pg_kind k = HS_PG_TEXT;
	if (hs_prepare(m->shape, &st, "SELECT type FROM pragma_table_info(?1)"
				      " WHERE name = ?2") != SQLITE_OK)
		return k;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		k = hs_pg_kind_of((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return k;
}

static void table_free(pg_table *pt)
{
	if (!pt)
		return;
	for (int i = 0; pt->typed && i < pt->t.ncols; i++)
		hs_buf_free(&pt->typed[i]);
	free(pt->typed);
	hs_buf_free(&pt->shadow);
	free(pt->pv);
	free(pt->pl);
	free(pt->pf);
	free(pt->kind);
	free(pt->copy_sql);
	hs_table_clear(&pt->t);
	free(pt);
}

/* The table called name as the shape has it now, registered on m (a
 * previous registration of another shape is replaced). NULL on failure. */
static pg_table *table_register(pg_master *m, const char *name)
{
	pg_table *pt = calloc(1, sizeof(*pt));
	hs_buf e;
	int i, slot = -1;
	hs_buf_init(&e);
	if (!pt || hs_table_load(m->shape, name, &pt->t, &e) != 0) {
		snprintf(m->msg, sizeof m->msg, "%s", e.s ? e.s : "out of memory");
		hs_buf_free(&e);
		free(pt);
		return NULL;
	}
	hs_buf_free(&e);
	int n = pt->t.ncols + 5;
	pt->kind = calloc(hs_count(pt->t.ncols), sizeof(*pt->kind));
	pt->typed = calloc(hs_count(pt->t.ncols), sizeof(*pt->typed));
	pt->pv = calloc((size_t)n, sizeof(*pt->pv));
	pt->pl = calloc((size_t)n, sizeof(*pt->pl));
	pt->pf = calloc((size_t)n, sizeof(*pt->pf));
	hs_buf_init(&pt->shadow);
	if (!pt->kind || !pt->typed || !pt->pv || !pt->pl || !pt->pf) {
		table_free(pt);
		return NULL;
	}
	for (i = 0; i < pt->t.ncols; i++) {
		pt->kind[i] = shape_kind(m, name, pt->t.cols[i]);
		hs_buf_init(&pt->typed[i]);
	}
	pt->unique = hs_table_has_unique(m->shape, name) == 1;
	ahead_free(m); /* it may hold rows of the table this replaces */
	snprintf(pt->name, sizeof pt->name, "hs_t%d", ++m->gen);
	for (i = 0; i < m->ntabs; i++)
		if (!strcmp(m->tabs[i]->t.name, name))
			slot = i;
	if (slot < 0) {
		pg_table **v = realloc(m->tabs, (size_t)(m->ntabs + 1) * sizeof(*v));
		if (!v) {
			table_free(pt);
			return NULL;
		}
		m->tabs = v;
		slot = m->ntabs++;
	} else {
		if (m->copyt == m->tabs[slot])
			m->copyt = NULL; /* its gathered rows go as they are */
		table_free(m->tabs[slot]);
	}
	m->tabs[slot] = pt;
	return pt;
}

/* The registered table t (by name). */
static pg_table *table_of(pg_master *m, const hs_table *t)
{
	for (int i = 0; i < m->ntabs; i++)
		if (!strcmp(m->tabs[i]->t.name, t->name) &&
		    m->tabs[i]->t.ncols == t->ncols)
			return m->tabs[i];
	snprintf(m->msg, sizeof m->msg, "table \"%s\" is not set up on this"
		 " connection", t->name);
	return NULL;
}

/* Load every table of hubsync.tables into the shape. SQLite code. */
static int shape_load(pg_master *m)
{
	PGresult *r = pg_q(m, "SELECT name, sql FROM hubsync.tables", 0, NULL);
	int sr = r ? SQLITE_OK : pg_code(m);
	for (int i = 0; r && sr == SQLITE_OK && i < PQntuples(r); i++)
		sr = shape_set(m, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	return sr;
}

/* ---- open, close ------------------------------------------------------ */

/* A master made before the JSON columns' table (PG_DDL_JSON) gets it, under
 * the lock (two processes opening it at once). SQLite code. */
static int pg_upgrade(pg_master *m)
{
	char *have = pg_text(m, "SELECT to_regclass('hubsync.merge_rules')::text",
			     0, NULL);
	int sr;
	if (have || m->msg[0]) {
		free(have);
		return have ? SQLITE_OK : pg_code(m);
	}
	sr = pg_cmd(m, "BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK ");"
		       PG_DDL_JSON);
	if (sr == SQLITE_OK)
		return pg_cmd(m, "COMMIT");
	char msg[sizeof m->msg];
	memcpy(msg, m->msg, sizeof msg);
	pg_cmd(m, "ROLLBACK");
	memcpy(m->msg, msg, sizeof msg);
	return sr;
}

/* Notices are not printed (client_min_messages is warning): the last is
 * kept, one line, for what an idle connection's end says (the server's
 * FATAL then arrives as a notice). */
static void keep_notice(void *arg, const char *msg)
{
	pg_master *m = arg;
	snprintf(m->notice, sizeof m->notice, "%.*s", (int)strcspn(msg, "\n"),
		 msg);
}

int hs_master_open_pg(hs_master **out, const char *url, int create,
		      int lock_timeout_ms, hs_buf *err)
{
	pg_master *m = calloc(1, sizeof(*m));
	int rc = HS_ERROR, sr;
	char q[160];
	*out = NULL;
	if (!m || !(m->url = hs_pg_redact(url))) {
		hs_buf_puts(err, "out of memory");
		free(m);
		return HS_ERROR;
	}
	m->master.ops = &PG_MASTER_OPS;
	m->base.ops = &PG_OPS;
	m->conn = PQconnectdb(url);
	if (PQstatus(m->conn) != CONNECTION_OK) {
		const char *e = PQerrorMessage(m->conn);
		size_t n = strcspn(e, "\n");
		hs_buf_printf(err, "cannot connect to the master %s: %.*s; check "
			      "that the PostgreSQL server runs and the address is "
			      "right", m->url, (int)n, e);
		rc = HS_EIO;
		goto cleanup;
	}
	PQsetNoticeProcessor(m->conn, keep_notice, m);
	PQsetClientEncoding(m->conn, "UTF8");
	const char *enc = PQparameterStatus(m->conn, "server_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0) {
		hs_buf_printf(err, "the database of the master %s has encoding %s: "
			      "hubsync needs UTF8 (CREATE DATABASE ... ENCODING "
			      "'UTF8' TEMPLATE template0)", m->url, enc ? enc : "?");
		rc = HS_EINVALID;
		goto cleanup;
	}
	snprintf(q, sizeof q, "SET client_min_messages = warning;"
			      " SET lock_timeout = %d", lock_timeout_ms);
	if ((sr = pg_cmd(m, q)) != SQLITE_OK) {
		rc = pg_fail(m, err, sr, "cannot set up the session");
		goto cleanup;
	}
	char *fmt = pg_text(m, "SELECT value FROM hubsync.master WHERE key ="
			       " 'format'", 0, NULL);
	if (!fmt && strcmp(m->state, "42P01") != 0 && strcmp(m->state, "3F000")) {
		rc = pg_fail(m, err, pg_code(m), "cannot read");
		goto cleanup;
	}
	if (!fmt && !create) {
		hs_buf_printf(err, "%s is not a hubsync master (it has no hubsync "
			      "schema): check the address (hubsync init --master "
			      "creates a master)", m->url);
		rc = HS_ECORRUPT;
		goto cleanup;
	}
	if (fmt && atoi(fmt) != PG_FORMAT) {
		hs_buf_printf(err, "the master %s has format %s, this hubsync "
			      "reads format %d: update hubsync on this PC", m->url,
			      fmt, PG_FORMAT);
		free(fmt);
		rc = HS_ECORRUPT;
		goto cleanup;
	}
	if (!fmt) {
		/* two inits at once: the lock makes one create, one see it */
		char id[33];
		const char *a[1] = {id};
		if (hs_random_hex(id) != 0) {
			hs_buf_puts(err, "cannot read /dev/urandom");
			goto cleanup;
		}
		sr = pg_cmd(m, "BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK ")");
		if (sr == SQLITE_OK)
			sr = pg_cmd(m, PG_DDL);
		if (sr == SQLITE_OK)
			sr = pg_run(m, "INSERT INTO hubsync.master VALUES('id', $1)"
				       " ON CONFLICT DO NOTHING", 1, a);
		if (sr == SQLITE_OK)
			sr = pg_cmd(m, "COMMIT");
		if (sr != SQLITE_OK) {
			rc = pg_fail(m, err, sr, "cannot create hubsync tables");
			goto cleanup;
		}
	}
	free(fmt);
	if ((sr = pg_upgrade(m)) != SQLITE_OK) {
		rc = pg_fail(m, err, sr, "cannot add hubsync tables");
		goto cleanup;
	}
	sr = hs_sqlite_open(":memory:", &m->shape,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sr == SQLITE_OK)
		sr = hs_select1_prepare(m->shape, &m->base.select1);
	if (sr == SQLITE_OK)
		sr = shape_load(m);
	if (sr != SQLITE_OK) {
		rc = pg_fail(m, err, sr, "cannot read the tables");
		goto cleanup;
	}
	/* the sequence as of now (hs_master_seq before a transaction: serve
	 * starts its real-time cursor there); a write transaction reads it
	 * again under the lock */
	char *seq = pg_text(m, "SELECT value FROM hubsync.master WHERE key ="
			       " 'seq'", 0, NULL);
	m->base.seq = m->base.began = seq ? strtoll(seq, NULL, 10) : 0;
	free(seq);
	*out = &m->master;
	return 0;
cleanup:
	pm_close(&m->master);
	return rc;
}

static void pm_close(hs_master *mm)
{
	pg_master *m = (pg_master *)mm;
	if (!m)
		return;
	ahead_free(m);
	batch_clear(m);
	hs_merge_free(&m->base);
	PQfinish(m->conn); /* the server rolls back what was not committed */
	for (int i = 0; i < m->ntabs; i++)
		table_free(m->tabs[i]);
	free(m->tabs);
	sqlite3_finalize(m->base.select1);
	sqlite3_close(m->shape);
	free(m->base.user);
	free(m->base.site_id);
	free(m->url);
	free(m);
}

int hs_master_pg_reset(hs_master *mm)
{
	pg_master *m = (pg_master *)mm;
	batch_clear(m);
	pipe_end(m);
	ahead_free(m);
	if (PQstatus(m->conn) != CONNECTION_OK)
		return -1;
	if (PQtransactionStatus(m->conn) != PQTRANS_IDLE)
		pg_cmd(m, "ROLLBACK");
	m->in_txn = m->in_read = 0;
	return PQstatus(m->conn) == CONNECTION_OK &&
			       PQtransactionStatus(m->conn) == PQTRANS_IDLE
		       ? 0
		       : -1;
}

int hs_pg_conn_alive(PGconn *c, hs_buf *why)
{
	/* an ended backend leaves its last message and then the end of the
	 * stream in the socket: the first read may take only the message */
	for (int i = 0; i < 8 && PQstatus(c) == CONNECTION_OK; i++) {
		struct pollfd p = {PQsocket(c), POLLIN, 0};
		if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			return 1;
		if (!PQconsumeInput(c))
			break;
		PQisBusy(c); /* parses it: a notice goes to the processor */
	}
	if (PQstatus(c) == CONNECTION_OK)
		return 1;
	const char *e = PQerrorMessage(c);
	if (why)
		hs_buf_printf(why, "%.*s", (int)strcspn(e, "\n"), e);
	return 0;
}

int hs_master_pg_alive(hs_master *mm, hs_buf *why)
{
	pg_master *m = (pg_master *)mm;
	m->notice[0] = 0;
	if (hs_pg_conn_alive(m->conn, why))
		return 1;
	if (m->notice[0]) { /* what the server said before it closed */
		hs_buf_reset(why);
		hs_buf_puts(why, m->notice);
	}
	return 0;
}

static int pm_read_begin(hs_master *mm, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = pg_cmd(m, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (sr != SQLITE_OK)
		return pg_fail(m, err, sr, "cannot read");
	m->in_read = 1;
	return 0;
}

static void pm_read_end(hs_master *mm)
{
	pg_master *m = (pg_master *)mm;
	pg_cmd(m, "COMMIT");
	m->in_read = 0;
}

static char *pm_column_default(hs_master *mm, const char *table,
			       const char *col)
{
	return hs_column_default(((pg_master *)mm)->shape, table, col);
}

/* ---- schema ----------------------------------------------------------- */

/* CREATE TABLE in PostgreSQL for the shape's table pt, with its UNIQUE
 * constraints as indexes. SQLite code. */
static int pg_create_table(pg_master *m, const pg_table *pt)
{
	hs_colset u[HS_MAX_SET];
	int nu = 0, sr;
	hs_buf q;
	hs_buf_init(&q);
	hs_buf_puts(&q, "CREATE TABLE ");
	hs_buf_ident(&q, pt->t.name);
	hs_buf_puts(&q, "(hubsync_pk bytea PRIMARY KEY");
	for (int i = 0; i < pt->t.ncols; i++) {
		hs_buf_puts(&q, ", ");
		hs_buf_ident(&q, pt->t.cols[i]);
		hs_buf_printf(&q, " %s", hs_pg_type(pt->kind[i]));
	}
	hs_buf_puts(&q, ", hubsync_extra jsonb);");
	if (pt->t.npk == 1 && pt->kind[pt->t.pk[0]] == HS_PG_INTEGER) {
		/* max_key (new ids for rows made offline) reads its maximum */
		hs_buf_puts(&q, "CREATE INDEX ON ");
		hs_buf_ident(&q, pt->t.name);
		hs_buf_puts(&q, "(");
		hs_buf_ident(&q, pt->t.cols[pt->t.pk[0]]);
		hs_buf_puts(&q, ");");
	}
	sr = hs_table_unique_sets(m->shape, &pt->t, u, HS_MAX_SET, &nu);
	for (int k = 0; sr == SQLITE_OK && k < nu; k++) {
		hs_buf_puts(&q, "CREATE UNIQUE INDEX ON ");
		hs_buf_ident(&q, pt->t.name);
		for (int i = 0; i < u[k].n; i++) {
			hs_buf_puts(&q, i ? ", " : "(");
			hs_buf_ident(&q, pt->t.cols[u[k].col[i]]);
		}
		hs_buf_puts(&q, ");");
	}
	if (sr == SQLITE_OK)
		sr = q.oom ? SQLITE_NOMEM : pg_cmd(m, q.s);
	hs_buf_free(&q);
	return sr;
}

/* ALTER TABLE name ADD COLUMN col, typed as the shape declares it. */
static int pg_add_column(pg_master *m, const char *name, const char *col)
{
	hs_buf q;
	int sr;
	hs_buf_init(&q);
	hs_buf_puts(&q, "ALTER TABLE ");
	hs_buf_ident(&q, name);
	hs_buf_puts(&q, " ADD COLUMN ");
	hs_buf_ident(&q, col);
	hs_buf_printf(&q, " %s", hs_pg_type(shape_kind(m, name, col)));
	sr = q.oom ? SQLITE_NOMEM : pg_cmd(m, q.s);
	hs_buf_free(&q);
	return sr;
}

/* Record the shape's CREATE statement of name in hubsync.tables. */
static int tables_put(pg_master *m, const char *name)
{
	char *sql = hs_table_create_sql(m->shape, name);
	const char *a[2] = {name, sql};
	int sr = sql ? pg_run(m, "INSERT INTO hubsync.tables VALUES($1, $2)"
				 " ON CONFLICT(name) DO UPDATE SET sql ="
				 " excluded.sql", 2, a)
		     : SQLITE_NOMEM;
	free(sql);
	return sr;
}

/* Make t's table (inside the locked transaction): the shape and
 * PostgreSQL as hubsync.tables says, or created from the replica rdb;
 * the columns of t it lacks added. */
static int ensure_locked(pg_master *m, sqlite3 *rdb, const hs_table *t,
			 hs_table *mt, hs_buf *err)
{
	const char *a[1] = {t->name};
	int sr, rc = 0;
	hs_buf e2;
	char *sql = pg_text(m, "SELECT sql FROM hubsync.tables WHERE name = $1",
			    1, a);
	if (!sql && m->msg[0])
		return pg_fail(m, err, pg_code(m), "cannot read");
	if (sql) {
		sr = shape_set(m, t->name, sql);
	} else {
		pg_table *pt = NULL;
		sql = hs_table_create_sql(rdb, t->name);
		sr = sql ? shape_set(m, t->name, sql) : SQLITE_NOMEM;
		if (sr == SQLITE_OK && !(pt = table_register(m, t->name)))
			sr = SQLITE_NOMEM;
		if (sr == SQLITE_OK && (sr = pg_create_table(m, pt)) != SQLITE_OK &&
		    !strcmp(m->state, "42P07"))
			snprintf(m->msg, sizeof m->msg, "PostgreSQL already has a "
				 "table \"%s\" that hubsync did not make: rename "
				 "it, or use another database", t->name);
		if (sr == SQLITE_OK)
			sr = tables_put(m, t->name);
	}
	free(sql);
	if (sr != SQLITE_OK)
		return pg_fail(m, err, sr, "cannot create a table");
	hs_buf_init(&e2);
	for (int pass = 0; rc == 0 && pass < 2; pass++) {
		int added = 0;
		hs_table_clear(mt);
		hs_buf_reset(&e2);
		if (hs_table_load(m->shape, t->name, mt, &e2) != 0) {
			hs_buf_printf(err, "the master %s: %s", m->url,
				      e2.s ? e2.s : "unreadable table");
			rc = HS_ECORRUPT;
			break;
		}
		int same = mt->npk == t->npk;
		for (int k = 0; same && k < t->npk; k++)
			same = strcmp(mt->cols[mt->pk[k]], t->cols[t->pk[k]]) == 0;
		if (!same) {
			hs_buf_printf(err, "table \"%s\" in the master %s has another "
				      "primary key than in this database: the master "
				      "belongs to a different app; check the master "
				      "address", t->name, m->url);
			rc = HS_ECORRUPT;
			break;
		}
		for (int i = 0; pass == 0 && i < t->ncols; i++) {
			if (hs_table_col(mt, t->cols[i]) >= 0)
				continue;
			sr = hs_table_add_column_like(m->shape, rdb, t, t->cols[i]);
			if (sr == SQLITE_OK)
				sr = pg_add_column(m, t->name, t->cols[i]);
			if (sr != SQLITE_OK) {
				rc = pg_fail(m, err, sr, "cannot add a column");
				break;
			}
			added = 1;
		}
		if (rc == 0 && added && (sr = tables_put(m, t->name)) != SQLITE_OK)
			rc = pg_fail(m, err, sr, "cannot add a column");
		if (!added)
			break;
	}
	hs_buf_free(&e2);
	if (rc == 0 && !table_register(m, t->name))
		rc = pg_fail(m, err, SQLITE_NOMEM, "cannot read a table");
	if (rc != 0)
		hs_table_clear(mt);
	return rc;
}

static int pm_ensure_table(hs_master *mm, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int own = !m->in_txn, rc, sr;
	memset(mt, 0, sizeof(*mt));
	if (own && (sr = pg_cmd(m, "BEGIN; SELECT pg_advisory_xact_lock("
				   PG_LOCK ")")) != SQLITE_OK)
		return pg_fail(m, err, sr, "cannot start a transaction");
	rc = ensure_locked(m, rdb, t, mt, err);
	if (own) {
		sr = pg_cmd(m, rc == 0 ? "COMMIT" : "ROLLBACK");
		if (rc == 0 && sr != SQLITE_OK) {
			hs_table_clear(mt);
			rc = pg_fail(m, err, sr, "cannot commit");
		}
	}
	return rc;
}

static char *pm_id(hs_master *mm)
{
	return pg_text((pg_master *)mm, "SELECT value FROM hubsync.master WHERE"
					" key = 'id'", 0, NULL);
}

static int pm_user_elsewhere(hs_master *mm, const char *user, const char *site)
{
	const char *a[2] = {user, site};
	char *v = pg_text((pg_master *)mm, "SELECT 1 FROM hubsync.sites WHERE"
					   " \"user\" = $1 AND site IS DISTINCT"
					   " FROM $2", 2, a);
	free(v);
	return v != NULL;
}

static int pm_knows(hs_master *mm, const char *site, const char *token)
{
	const char *a[2] = {site, token};
	char *v = site && token ? pg_text((pg_master *)mm,
					  "SELECT 1 FROM hubsync.sites WHERE"
					  " site = $1 AND $2 IN (token,"
					  " prev_token)", 2, a)
				: NULL;
	free(v);
	return v != NULL;
}

/* ---- transaction ------------------------------------------------------ */

static int pm_begin(hs_master *mm, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = pg_cmd(m, "BEGIN; SELECT pg_advisory_xact_lock(" PG_LOCK ")");
	if (sr != SQLITE_OK) {
		int rc = pg_fail(m, err, sr, "cannot start a transaction");
		pg_cmd(m, "ROLLBACK");
		return rc;
	}
	m->in_txn = 1;
	char *seq = pg_text(m, "SELECT value FROM hubsync.master WHERE key ="
			       " 'seq'", 0, NULL);
	if (!seq)
		return pg_fail(m, err, pg_code(m), "cannot read");
	m->base.seq = m->base.began = strtoll(seq, NULL, 10);
	free(seq);
	return 0;
}

static int pm_register(hs_master *mm, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	const char *a[2] = {site, user};
	PGresult *r = pg_q(m, "INSERT INTO hubsync.sites(site, \"user\")"
			      " VALUES($1, $2) ON CONFLICT(site) DO UPDATE SET"
			      " \"user\" = excluded.\"user\""
			      " RETURNING id, pushed, token, prev_token", 2, a);
	if (token)
		*token = NULL;
	if (prev_token)
		*prev_token = NULL;
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		return pg_fail(m, err, pg_code(m), "cannot register this PC");
	}
	m->base.site = (int)cell_int(r, 0, 0, 0);
	*pushed = cell_int(r, 0, 1, 0);
	if (token && !PQgetisnull(r, 0, 2))
		*token = hs_strdup(PQgetvalue(r, 0, 2));
	if (prev_token && !PQgetisnull(r, 0, 3))
		*prev_token = hs_strdup(PQgetvalue(r, 0, 3));
	PQclear(r);
	free(m->base.user);
	m->base.user = hs_strdup(user);
	free(m->base.site_id);
	m->base.site_id = hs_strdup(site);
	return 0;
}

static int pm_set_token(hs_master *mm, const char *prev, const char *token,
			hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char id[24];
	const char *a[3] = {prev, token, id};
	snprintf(id, sizeof id, "%d", m->base.site);
	int sr = pg_run(m, "UPDATE hubsync.sites SET prev_token = $1, token = $2"
			   " WHERE id = $3", 3, a);
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot write");
}

static int pm_commit(hs_master *mm, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char seq[24];
	const char *a[1] = {seq};
	snprintf(seq, sizeof seq, "%lld", (long long)m->base.seq);
	int sr = pg_run(m, "UPDATE hubsync.master SET value = $1 WHERE key ="
			   " 'seq'", 1, a);
	/* wakes the other servers' waiting clients (a hint: data comes
	 * from the feed) */
	if (sr == SQLITE_OK && m->base.seq > m->base.began)
		sr = pg_run(m, "SELECT pg_notify('hubsync', $1)", 1, a);
	if (sr == SQLITE_OK)
		sr = pg_cmd(m, "COMMIT");
	if (sr != SQLITE_OK)
		return pg_fail(m, err, sr, "cannot commit");
	m->in_txn = 0;
	return 0;
}

static int pm_set_pushed(hs_master *mm, int64_t id, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char v[24], site[24];
	const char *a[2] = {v, site};
	snprintf(v, sizeof v, "%lld", (long long)id);
	snprintf(site, sizeof site, "%d", m->base.site);
	int sr = pg_run(m, "UPDATE hubsync.sites SET pushed = $1 WHERE id = $2",
			2, a);
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot write");
}

/* ---- the store's row-level operations (store.h) ------------------------- */

static Oid kind_oid(hs_pg_kind k)
{
	return k == HS_PG_INTEGER ? OID_INT8
	       : k == HS_PG_REAL  ? OID_FLOAT8
	       : k == HS_PG_TEXT  ? OID_TEXT
				  : OID_BYTEA;
}

/* Prepare pt's statements: get, put, del. SQLite code. */
static int table_prepare(pg_master *m, pg_table *pt)
{
	const hs_table *t = &pt->t;
	int n = t->ncols, sr;
	Oid *types = calloc((size_t)n + 5, sizeof(Oid));
	char name[64];
	hs_buf q;
	if (!types)
		return SQLITE_NOMEM;
	hs_buf_init(&q);
	/* get: $1 key -> columns, hubsync_extra */
	hs_buf_puts(&q, "SELECT ");
	for (int i = 0; i < n; i++) {
		hs_buf_ident(&q, t->cols[i]);
		hs_buf_puts(&q, ", ");
	}
	hs_buf_puts(&q, "hubsync_extra FROM ");
	hs_buf_ident(&q, t->name);
	hs_buf_puts(&q, " WHERE hubsync_pk = $1");
	types[0] = OID_BYTEA;
	snprintf(name, sizeof name, "%s_get", pt->name);
	sr = q.oom ? SQLITE_NOMEM : pg_prepare(m, name, q.s, 1, types);
	/* put: $1 key, $2.. columns, $n+2 shadow, $n+3 mask of the columns
	 * to set ('1'/'0'), $n+4 their names (jsonb array), $n+5 their
	 * shadow */
	hs_buf_reset(&q);
	hs_buf_puts(&q, "INSERT INTO ");
	hs_buf_ident(&q, t->name);
	hs_buf_puts(&q, " AS hs_t (hubsync_pk");
	for (int i = 0; i < n; i++) {
		hs_buf_puts(&q, ", ");
		hs_buf_ident(&q, t->cols[i]);
		types[i + 1] = kind_oid(pt->kind[i]);
	}
	hs_buf_puts(&q, ", hubsync_extra) VALUES($1");
	for (int i = 0; i < n + 1; i++)
		hs_buf_printf(&q, ", $%d", i + 2);
	hs_buf_puts(&q, ") ON CONFLICT (hubsync_pk) DO UPDATE SET ");
	for (int i = 0; i < n; i++) {
		hs_buf_ident(&q, t->cols[i]);
		hs_buf_printf(&q, " = CASE WHEN substr($%d, %d, 1) = '1' THEN"
				  " excluded.", n + 3, i + 1);
		hs_buf_ident(&q, t->cols[i]);
		hs_buf_puts(&q, " ELSE hs_t.");
		hs_buf_ident(&q, t->cols[i]);
		hs_buf_puts(&q, " END, ");
	}
	hs_buf_printf(&q, "hubsync_extra = nullif((coalesce(hs_t.hubsync_extra,"
			  " '{}') - ARRAY(SELECT jsonb_array_elements_text($%d)))"
			  " || coalesce($%d, '{}'), '{}')", n + 4, n + 5);
	types[n + 1] = OID_JSONB;
	types[n + 2] = OID_TEXT;
	types[n + 3] = OID_JSONB;
	types[n + 4] = OID_JSONB;
	snprintf(name, sizeof name, "%s_put", pt->name);
	if (sr == SQLITE_OK)
		sr = q.oom ? SQLITE_NOMEM : pg_prepare(m, name, q.s, n + 5, types);
	hs_buf_reset(&q);
	hs_buf_puts(&q, "DELETE FROM ");
	hs_buf_ident(&q, t->name);
	hs_buf_puts(&q, " WHERE hubsync_pk = $1");
	snprintf(name, sizeof name, "%s_del", pt->name);
	if (sr == SQLITE_OK)
		sr = q.oom ? SQLITE_NOMEM : pg_prepare(m, name, q.s, 1, types);
	hs_buf_free(&q);
	free(types);
	pt->prepared = sr == SQLITE_OK;
	return sr;
}

/* The registered, prepared table t, or NULL (*sr says why). */
static pg_table *table_ready(pg_master *m, const hs_table *t, int *sr)
{
	pg_table *pt = table_of(m, t);
	*sr = pt ? SQLITE_OK : SQLITE_ERROR;
	if (pt && !pt->prepared && (*sr = table_prepare(m, pt)) != SQLITE_OK)
		return NULL;
	return pt;
}

/* The values of t's row in result row of r from column first on (the
 * ncols columns, then hubsync_extra), owned, into out. SQLite code. */
static int read_row(pg_master *m, const pg_table *pt, PGresult *r, int row,
		    int first, sqlite3_value **out)
{
	int n = pt->t.ncols, xc = first + n, sr = SQLITE_OK;
	json_t *extra = NULL;
	if (!PQgetisnull(r, row, xc)) {
		const char *p = PQgetvalue(r, row, xc);
		int len = PQgetlength(r, row, xc);
		if (len < 1 || p[0] != 1 ||
		    !(extra = json_loadb(p + 1, (size_t)len - 1, 0, NULL)))
			return SQLITE_CORRUPT;
	}
	for (int i = 0; i < n; i++) {
		const char *shadow =
			extra ? json_string_value(json_object_get(extra, pt->t.cols[i]))
			      : NULL;
		out[i] = hs_pg_value(m->base.select1, pt->kind[i],
				     PQgetvalue(r, row, first + i),
				     PQgetlength(r, row, first + i),
				     PQgetisnull(r, row, first + i), shadow);
		if (!out[i])
			sr = shadow ? SQLITE_CORRUPT : SQLITE_NOMEM;
	}
	json_decref(extra);
	if (sr != SQLITE_OK)
		for (int i = 0; i < n; i++) {
			sqlite3_value_free(out[i]);
			out[i] = NULL;
		}
	return sr;
}

/* Run t's statement pt->name + suffix with the key blob of pk as $1:
 * its result (binary when binary) into *out, NULL when it failed. *pt
 * receives the table. SQLite code. */
static int by_key(pg_master *m, const hs_table *t, const char *suffix,
		  sqlite3_value **pk, int binary, pg_table **pt, PGresult **out)
{
	int sr, len, fmt = 1;
	char name[64];
	hs_buf key;
	*out = NULL;
	if (!(*pt = table_ready(m, t, &sr)))
		return sr;
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	const char *v[1] = {key.s ? key.s : ""};
	len = (int)key.len;
	snprintf(name, sizeof name, "%s_%s", (*pt)->name, suffix);
	*out = key.oom ? NULL : pg_prepared(m, name, 1, v, &len, &fmt, binary);
	sr = *out ? SQLITE_OK : key.oom ? SQLITE_NOMEM : pg_code(m);
	hs_buf_free(&key);
	return sr;
}

static int ahead_row(pg_master *m, const hs_table *t, sqlite3_value **pk,
		     sqlite3_value **out, int *found);
static int ahead_meta(pg_master *m, const hs_table *t, const hs_buf *key,
		      hs_row_meta *rm);
static void ahead_forget(pg_master *m, const hs_table *t, const hs_buf *key,
			 int what);
static int ahead_absent(pg_master *m, const pg_table *pt, const hs_buf *key);
static int ahead_no_meta(pg_master *m, const hs_table *t, const hs_buf *key);

static int pg_row_get(hs_store *st, const hs_table *t, sqlite3_value **pk,
		      sqlite3_value **out, int *found)
{
	pg_master *m = PM(st);
	pg_table *pt;
	PGresult *r;
	int sr = ahead_row(m, t, pk, out, found);
	if (sr != SQLITE_NOTFOUND)
		return sr;
	sr = by_key(m, t, "get", pk, 1, &pt, &r);
	*found = 0;
	if (r && PQntuples(r) == 1 &&
	    (sr = read_row(m, pt, r, 0, 0, out)) == SQLITE_OK)
		*found = 1;
	PQclear(r);
	return sr;
}

/* pt's parameters for the row vals: $1 key (into key), $2.. typed
 * cells, $n+2 shadow of all, and (set not NULL) $n+3 mask, $n+4 names,
 * $n+5 shadow of the set columns. The json strings are malloc'd into
 * js[3]. SQLite code. */
static int row_params(pg_table *pt, sqlite3_value **vals,
		      const unsigned char *set, hs_buf *key, hs_buf *mask,
		      char *js[3])
{
	const hs_table *t = &pt->t;
	int n = t->ncols, null;
	sqlite3_value *pk[HS_MAX_PK];
	json_t *all = json_object(), *names = json_array(), *some = json_object();
	for (int k = 0; k < t->npk; k++)
		pk[k] = vals[t->pk[k]];
	hs_pk_encode(pk, t->npk, key);
	pt->pv[0] = key->s ? key->s : "";
	pt->pl[0] = (int)key->len;
	pt->pf[0] = 1;
	hs_buf_reset(mask);
	for (int i = 0; i < n; i++) {
		int on = !set || set[i];
		hs_pg_cell(vals[i], pt->kind[i], &pt->typed[i], &null, &pt->shadow);
		pt->pv[i + 1] = null ? NULL : pt->typed[i].s ? pt->typed[i].s : "";
		pt->pl[i + 1] = (int)pt->typed[i].len;
		pt->pf[i + 1] = 1;
		hs_buf_puts(mask, on ? "1" : "0");
		if (on && names)
			json_array_append_new(names, json_string(t->cols[i]));
		if (pt->shadow.len && all && some) {
			json_object_set_new(all, t->cols[i],
					    json_stringn(pt->shadow.s, pt->shadow.len));
			if (on)
				json_object_set_new(some, t->cols[i],
						    json_stringn(pt->shadow.s,
								 pt->shadow.len));
		}
		if (pt->typed[i].oom || pt->shadow.oom)
			key->oom = 1;
	}
	js[0] = all && json_object_size(all) ? json_dumps(all, JSON_COMPACT) : NULL;
	js[1] = names ? json_dumps(names, JSON_COMPACT) : NULL;
	js[2] = some && json_object_size(some) ? json_dumps(some, JSON_COMPACT)
					       : NULL;
	int bad = !all || !names || !some || !js[1] ||
		  (json_object_size(all) && !js[0]) ||
		  (json_object_size(some) && !js[2]) || key->oom || mask->oom;
	json_decref(all);
	json_decref(names);
	json_decref(some);
	pt->pv[n + 1] = js[0];
	pt->pv[n + 2] = mask->s;
	pt->pv[n + 3] = js[1];
	pt->pv[n + 4] = js[2];
	for (int i = n + 1; i < n + 5; i++)
		pt->pf[i] = pt->pl[i] = 0;
	return bad ? SQLITE_NOMEM : SQLITE_OK;
}

static int pg_row_put(hs_store *st, const hs_table *t, sqlite3_value **vals,
		      const unsigned char *set)
{
	pg_master *m = PM(st);
	int sr;
	pg_table *pt = table_ready(m, t, &sr);
	char name[64], *js[3] = {NULL, NULL, NULL};
	hs_buf key, mask;
	if (!pt)
		return sr;
	hs_buf_init(&key);
	hs_buf_init(&mask);
	sr = row_params(pt, vals, set, &key, &mask, js);
	int fresh = !pt->unique && ahead_absent(m, pt, &key);
	ahead_forget(m, t, &key, 2);
	/* A failed statement aborts a PostgreSQL transaction, not a SQLite
	 * one: the merge goes on after a UNIQUE collision (store.h), so a
	 * write that may collide gets a savepoint of its own, and its answer
	 * is waited for; any other is queued (pg_queue). */
	snprintf(name, sizeof name, "%s_put", pt->name);
	if (sr == SQLITE_OK && fresh)
		sr = copy_add(m, pt);
	else if (sr == SQLITE_OK && !pt->unique)
		sr = pg_queue(m, name, NULL, t->ncols + 5, pt->pv, pt->pl, pt->pf);
	else if (sr == SQLITE_OK) {
		sr = pg_queue(m, NULL, "SAVEPOINT hs_put", 0, NULL, NULL, NULL);
		PGresult *r = sr != SQLITE_OK ? NULL
			      : pg_prepared(m, name, t->ncols + 5, pt->pv, pt->pl,
					    pt->pf, 0);
		if (sr == SQLITE_OK)
			sr = r ? SQLITE_OK : pg_code(m);
		PQclear(r);
		if (sr == SQLITE_CONSTRAINT_UNIQUE) {
			char keep[sizeof m->msg], state[sizeof m->state];
			memcpy(keep, m->msg, sizeof keep);
			memcpy(state, m->state, sizeof state);
			if (pg_queue(m, NULL, "ROLLBACK TO SAVEPOINT hs_put", 0, NULL,
				     NULL, NULL) != SQLITE_OK)
				sr = pg_code(m);
			else {
				memcpy(m->msg, keep, sizeof keep);
				memcpy(m->state, state, sizeof state);
			}
		}
		if ((sr == SQLITE_OK || sr == SQLITE_CONSTRAINT_UNIQUE) &&
		    pg_queue(m, NULL, "RELEASE SAVEPOINT hs_put", 0, NULL, NULL,
			     NULL) != SQLITE_OK)
			sr = pg_code(m);
	}
	for (int i = 0; i < 3; i++)
		free(js[i]);
	hs_buf_free(&key);
	hs_buf_free(&mask);
	return sr;
}

static int pg_row_delete(hs_store *st, const hs_table *t, sqlite3_value **pk)
{
	pg_master *m = PM(st);
	int sr, len, fmt = 1;
	pg_table *pt = table_ready(m, t, &sr);
	char name[64];
	hs_buf key;
	if (!pt)
		return sr;
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	const char *v[1] = {key.s ? key.s : ""};
	len = (int)key.len;
	ahead_forget(m, t, &key, 2);
	snprintf(name, sizeof name, "%s_del", pt->name);
	sr = key.oom ? SQLITE_NOMEM : pg_queue(m, name, NULL, 1, v, &len, &fmt);
	hs_buf_free(&key);
	return sr;
}

static int pg_max_key(hs_store *st, const hs_table *t, int64_t *out)
{
	pg_master *m = PM(st);
	hs_buf q;
	hs_buf_init(&q);
	hs_buf_puts(&q, "SELECT max(");
	hs_buf_ident(&q, t->cols[t->pk[0]]);
	hs_buf_puts(&q, ") FROM ");
	hs_buf_ident(&q, t->name);
	PGresult *r = q.oom ? NULL : pg_q(m, q.s, 0, NULL);
	int sr = r ? SQLITE_OK : q.oom ? SQLITE_NOMEM : pg_code(m);
	*out = cell_int(r, 0, 0, 0);
	PQclear(r);
	hs_buf_free(&q);
	return sr;
}

/* Rows of t where the columns cols[0..n-1] hold vals[cols[i]] (compared
 * as stored: the typed column, or the shadow for a value not of the
 * column's type), other than the row with key skip (may be NULL); at
 * most limit (0: all). Each row's values are passed to add (owned).
 * SQLite code. */
static int rows_where(pg_master *m, pg_table *pt, const int *cols, int n,
		      sqlite3_value **vals, const hs_buf *skip, int limit,
		      int (*add)(void *ctx, sqlite3_value **row), void *ctx)
{
	/* $1..$n the values, $n+1 the key to skip, $n+2.. the names */
	const hs_table *t = &pt->t;
	int np = 2 * n + 1;
	hs_buf q, shadow, *cell = calloc((size_t)n, sizeof(hs_buf));
	const char **v = calloc((size_t)np, sizeof(char *));
	int *len = calloc((size_t)np, sizeof(int));
	int *fmt = calloc((size_t)np, sizeof(int));
	Oid *types = calloc((size_t)np, sizeof(Oid));
	sqlite3_value **row = calloc(hs_count(t->ncols), sizeof(*row));
	int sr = cell && v && len && fmt && types && row ? SQLITE_OK : SQLITE_NOMEM;
	PGresult *r = NULL;
	hs_buf_init(&q);
	hs_buf_init(&shadow);
	hs_buf_puts(&q, "SELECT ");
	for (int i = 0; i < t->ncols; i++) {
		hs_buf_ident(&q, t->cols[i]);
		hs_buf_puts(&q, ", ");
	}
	hs_buf_puts(&q, "hubsync_extra FROM ");
	hs_buf_ident(&q, t->name);
	for (int i = 0; sr == SQLITE_OK && i < n; i++) {
		int null, c = cols[i];
		hs_buf_init(&cell[i]);
		hs_pg_cell(vals[c], pt->kind[c], &cell[i], &null, &shadow);
		hs_buf_puts(&q, i ? " AND " : " WHERE ");
		if (shadow.len) {
			/* not of the column's type: the exact tagged text */
			hs_buf_printf(&q, "hubsync_extra ->> $%d = $%d", n + 2 + i,
				      i + 1);
			hs_buf_reset(&cell[i]);
			hs_buf_putn(&cell[i], shadow.s, shadow.len);
			types[i] = OID_TEXT;
		} else {
			hs_buf_ident(&q, t->cols[c]);
			hs_buf_printf(&q, " = $%d AND NOT coalesce(hubsync_extra ? $%d,"
					  " false)", i + 1, n + 2 + i);
			types[i] = kind_oid(pt->kind[c]);
		}
		v[i] = cell[i].s ? cell[i].s : "";
		len[i] = (int)cell[i].len;
		fmt[i] = 1;
		v[n + 1 + i] = t->cols[c];
		types[n + 1 + i] = OID_TEXT;
	}
	if (sr == SQLITE_OK) {
		v[n] = skip && skip->s ? skip->s : "";
		len[n] = skip ? (int)skip->len : 0;
		fmt[n] = 1;
		types[n] = OID_BYTEA;
	}
	if (skip)
		hs_buf_printf(&q, " AND hubsync_pk <> $%d", n + 1);
	if (limit)
		hs_buf_printf(&q, " LIMIT %d", limit);
	if (sr == SQLITE_OK && q.oom)
		sr = SQLITE_NOMEM;
	if (sr == SQLITE_OK) {
		r = pg_exec(m, q.s, np, types, v, len, fmt, 1);
		sr = r ? SQLITE_OK : pg_code(m);
	}
	for (int k = 0; r && sr == SQLITE_OK && k < PQntuples(r); k++) {
		if ((sr = read_row(m, pt, r, k, 0, row)) == SQLITE_OK)
			sr = add(ctx, row);
	}
	PQclear(r);
	for (int i = 0; cell && i < n; i++)
		hs_buf_free(&cell[i]);
	hs_buf_free(&q);
	hs_buf_free(&shadow);
	free(cell);
	free(v);
	free(len);
	free(fmt);
	free(types);
	free(row);
	return sr;
}

typedef struct holder_ctx {
	sqlite3_value **out;
	int ncols, *found;
} holder_ctx;

static int holder_add(void *ctx, sqlite3_value **row)
{
	holder_ctx *h = ctx;
	memcpy(h->out, row, (size_t)h->ncols * sizeof(*row));
	*h->found = 1;
	return SQLITE_OK;
}

static int pg_unique_holder(hs_store *st, const hs_table *t,
			    sqlite3_value **vals, sqlite3_value **out,
			    int *found)
{
	pg_master *m = PM(st);
	hs_colset u[HS_MAX_SET];
	int nu = 0, sr;
	pg_table *pt = table_of(m, t);
	holder_ctx h = {out, t->ncols, found};
	sqlite3_value *pk[HS_MAX_PK];
	hs_buf key;
	*found = 0;
	if (!pt)
		return SQLITE_ERROR;
	for (int k = 0; k < t->npk; k++)
		pk[k] = vals[t->pk[k]];
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	sr = key.oom ? SQLITE_NOMEM
		     : hs_table_unique_sets(m->shape, &pt->t, u, HS_MAX_SET, &nu);
	for (int k = 0; sr == SQLITE_OK && !*found && k < nu; k++) {
		int null = 0;
		for (int i = 0; i < u[k].n; i++)
			null |= sqlite3_value_type(vals[u[k].col[i]]) == SQLITE_NULL;
		if (!null) /* NULLs never collide */
			sr = rows_where(m, pt, u[k].col, u[k].n, vals, &key, 1,
					holder_add, &h);
	}
	hs_buf_free(&key);
	return sr;
}

static int pg_has_unique(hs_store *st, const hs_table *t, int *out)
{
	*out = hs_table_has_unique(PM(st)->shape, t->name);
	return SQLITE_OK;
}

static int referencing_add(void *ctx, sqlite3_value **row)
{
	hs_rowset *rs = ctx;
	return hs_rowset_push(rs, row);
}

static int pg_referencing(hs_store *st, const hs_table *t, int col,
			  sqlite3_value *key, hs_rowset *out)
{
	pg_master *m = PM(st);
	pg_table *pt = table_of(m, t);
	sqlite3_value **vals;
	int sr;
	if (!pt)
		return SQLITE_ERROR;
	if (!(vals = calloc(hs_count(t->ncols), sizeof(*vals))))
		return SQLITE_NOMEM;
	vals[col] = key;
	if (!out->ncols)
		out->ncols = t->ncols;
	sr = sqlite3_value_type(key) == SQLITE_NULL
		     ? SQLITE_OK
		     : rows_where(m, pt, &col, 1, vals, NULL, 0, referencing_add,
				  out);
	free(vals);
	return sr;
}

/* The shared statements (versions, conflicts, history), once. */
static int shared_prepare(pg_master *m)
{
	static const Oid get_t[] = {OID_TEXT, OID_BYTEA};
	static const Oid put_t[] = {OID_TEXT, OID_BYTEA, OID_INT8, OID_INT8,
				    OID_INT8, OID_INT8, OID_INT8, OID_BYTEA};
	int sr;
	if (m->prepared)
		return SQLITE_OK;
	sr = pg_prepare(m, "hs_meta_get", "SELECT alive, seq, vseq, hlc, site,"
					  " clocks FROM hubsync.rows WHERE tbl ="
					  " $1 AND pk = $2", 2, get_t);
	if (sr == SQLITE_OK)
		sr = pg_prepare(m, "hs_meta_put",
				"INSERT INTO hubsync.rows(tbl, pk, alive, seq, vseq,"
				" hlc, site, clocks) VALUES($1, $2, $3, $4, $5, $6,"
				" $7, $8) ON CONFLICT (tbl, pk) DO UPDATE SET alive ="
				" excluded.alive, seq = excluded.seq, vseq ="
				" excluded.vseq, hlc = excluded.hlc, site ="
				" excluded.site, clocks = excluded.clocks",
				8, put_t);
	if (sr == SQLITE_OK)
		sr = pg_prepare(m, "hs_meta_many",
				"INSERT INTO hubsync.rows AS r(tbl, pk, alive, seq,"
				" vseq, hlc, site, clocks) SELECT DISTINCT ON (t, p)"
				" t, p, a, s, v, h, si, c FROM (SELECT u.t,"
				" decode(u.p, 'hex') AS p, u.a, u.s, u.v, u.h, u.si,"
				" decode(u.c, 'hex') AS c, u.o FROM unnest($1::text[],"
				" $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],"
				" $6::bigint[], $7::bigint[], $8::text[]) WITH"
				" ORDINALITY AS u(t, p, a, s, v, h, si, c, o)) x ORDER"
				" BY t, p, o DESC ON CONFLICT (tbl, pk) DO UPDATE SET"
				" alive = excluded.alive, seq = excluded.seq, vseq ="
				" excluded.vseq, hlc = excluded.hlc, site ="
				" excluded.site, clocks = excluded.clocks", 0, NULL);
	if (sr == SQLITE_OK)
		sr = pg_prepare(m, "hs_history_many",
				"INSERT INTO hubsync.history(seq, tbl, key, pk, op,"
				" \"user\", at, changes) SELECT * FROM unnest("
				"$1::bigint[], $2::text[], $3::text[], $4::text[],"
				" $5::text[], $6::text[], $7::text[], $8::text[])",
				0, NULL);
	if (sr == SQLITE_OK)
		sr = pg_prepare(m, "hs_conflict",
				"INSERT INTO hubsync.conflicts(seq, tbl, pk, col,"
				" local_value, remote_value, winner, local_user,"
				" remote_user, detected_at, local_site, remote_site)"
				" VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
				" $12)", 0, NULL);
	m->prepared = sr == SQLITE_OK;
	return sr;
}

/* rm's fields from a binary result row: alive, seq, vseq, hlc, site,
 * clocks at columns first.. */
static void meta_read(PGresult *r, int row, int first, hs_row_meta *rm)
{
	rm->found = 1;
	rm->alive = (int)bin_int(r, row, first);
	rm->seq = bin_int(r, row, first + 1);
	rm->vseq = bin_int(r, row, first + 2);
	rm->hlc = bin_int(r, row, first + 3);
	rm->site = (int)bin_int(r, row, first + 4);
	hs_clocks_decode((const unsigned char *)PQgetvalue(r, row, first + 5),
			 PQgetlength(r, row, first + 5), rm);
}

static int pg_meta_get(hs_store *st, const hs_table *t, sqlite3_value **pk,
		       hs_row_meta *rm)
{
	pg_master *m = PM(st);
	int sr = shared_prepare(m);
	hs_buf key;
	if (sr != SQLITE_OK)
		return sr;
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	if (!key.oom && (sr = ahead_meta(m, t, &key, rm)) != SQLITE_NOTFOUND) {
		hs_buf_free(&key);
		return sr;
	}
	const char *v[2] = {t->name, key.s ? key.s : ""};
	int len[2] = {(int)strlen(t->name), (int)key.len}, fmt[2] = {1, 1};
	PGresult *r = key.oom ? NULL
			      : pg_prepared(m, "hs_meta_get", 2, v, len, fmt, 1);
	sr = r ? SQLITE_OK : key.oom ? SQLITE_NOMEM : pg_code(m);
	if (r && PQntuples(r) == 1)
		meta_read(r, 0, 0, rm);
	PQclear(r);
	hs_buf_free(&key);
	return sr;
}

static int pg_meta_put(hs_store *st, const hs_table *t, sqlite3_value **pk,
		       const hs_row_meta *rm)
{
	pg_master *m = PM(st);
	int sr = shared_prepare(m);
	int64_t nv[5] = {rm->alive, rm->seq, rm->vseq, rm->hlc, rm->site};
	hs_buf key, cb;
	if (sr != SQLITE_OK)
		return sr;
	hs_buf_init(&key);
	hs_buf_init(&cb);
	hs_pk_encode(pk, t->npk, &key);
	int fresh = ahead_no_meta(m, t, &key);
	ahead_forget(m, t, &key, 1);
	hs_clocks_encode(rm, &cb);
	if (fresh) { /* no versions yet: one COPY ("new rows by COPY") */
		unsigned char num[5][8];
		copy_row(&m->copym, "COPY hubsync.rows(tbl, pk, alive, seq, vseq,"
				    " hlc, site, clocks) FROM STDIN (FORMAT binary)",
			 8);
		copy_field(&m->copym, t->name, strlen(t->name));
		copy_field(&m->copym, key.s ? key.s : "", key.len);
		for (int i = 0; i < 5; i++) {
			hs_pg_put_i64(num[i], nv[i]);
			copy_field(&m->copym, num[i], 8);
		}
		copy_field(&m->copym, cb.s ? cb.s : "", cb.len);
		sr = key.oom || cb.oom || m->copym.b.oom ? SQLITE_NOMEM : SQLITE_OK;
		if (sr == SQLITE_OK && m->copym.n >= COPY_ROWS)
			sr = copy_send(m, &m->copym);
		hs_buf_free(&key);
		hs_buf_free(&cb);
		return sr;
	}
	int first = m->metan == 0;
	char num[24];
	array_put(&m->metab[0], first, t->name);
	array_put_hex(&m->metab[1], first, key.s ? key.s : "", key.len);
	for (int i = 0; i < 5; i++) {
		snprintf(num, sizeof num, "%lld", (long long)nv[i]);
		array_put(&m->metab[i + 2], first, num);
	}
	array_put_hex(&m->metab[7], first, cb.s ? cb.s : "", cb.len);
	sr = key.oom || cb.oom ? SQLITE_NOMEM : SQLITE_OK;
	if (sr == SQLITE_OK && ++m->metan >= PIPE_ROWS)
		sr = batch_send(m, m->metab, &m->metan, "hs_meta_many");
	hs_buf_free(&key);
	hs_buf_free(&cb);
	return sr;
}

/* The change feed: hubsync.rows of t above since, in sequence order,
 * joined with t's row (a live row's values), read through a cursor in
 * pages. Runs in the caller's transaction (the pull's read). */
static int pg_feed(hs_store *st, const hs_table *t, int alive, int64_t since,
		   hs_feed_filter filter, hs_feed_fn fn, void *ctx)
{
	pg_master *m = PM(st);
	pg_table *pt = table_of(m, t);
	sqlite3_value *pk[HS_MAX_PK] = {0};
	sqlite3_value **vals = calloc(hs_count(t->ncols), sizeof(*vals));
	hs_row_meta rm;
	int sr = hs_row_meta_init(&rm, t->ncols), open = 0;
	int own = !m->in_txn && !m->in_read;
	char sv[24], av[4];
	const char *a[3] = {t->name, sv, av};
	hs_buf q;
	hs_buf_init(&q);
	if (sr == SQLITE_OK && (!pt || !vals))
		sr = pt ? SQLITE_NOMEM : SQLITE_ERROR;
	if (sr != SQLITE_OK)
		goto out;
	snprintf(sv, sizeof sv, "%lld", (long long)since);
	snprintf(av, sizeof av, "%d", alive);
	hs_buf_puts(&q, "DECLARE hs_feed NO SCROLL CURSOR FOR SELECT r.pk,"
			" r.alive, r.seq, r.vseq, r.hlc, r.site, r.clocks,"
			" d.hubsync_pk IS NOT NULL");
	for (int i = 0; i < t->ncols; i++) {
		hs_buf_puts(&q, ", d.");
		hs_buf_ident(&q, t->cols[i]);
	}
	hs_buf_puts(&q, ", d.hubsync_extra FROM hubsync.rows r LEFT JOIN ");
	hs_buf_ident(&q, t->name);
	hs_buf_puts(&q, " d ON d.hubsync_pk = r.pk WHERE r.tbl = $1 AND"
			" r.seq > $2::bigint AND r.alive = $3::bigint ORDER BY"
			" r.seq");
	if (q.oom) {
		sr = SQLITE_NOMEM;
		goto out;
	}
	if (own && (sr = pg_cmd(m, "BEGIN ISOLATION LEVEL REPEATABLE READ"
				   " READ ONLY")) != SQLITE_OK)
		goto out;
	if ((sr = pg_run(m, q.s, 3, a)) != SQLITE_OK)
		goto out;
	open = 1;
	for (int done = 0; !done && sr == SQLITE_OK;) {
		PGresult *r = pg_exec(m, "FETCH 500 FROM hs_feed", 0, NULL, NULL,
				      NULL, NULL, 1);
		if (!r) {
			sr = pg_code(m);
			break;
		}
		done = PQntuples(r) < 500;
		for (int k = 0; sr == SQLITE_OK && k < PQntuples(r); k++) {
			meta_read(r, k, 1, &rm);
			if (!filter(ctx, &rm))
				continue;
			int found = alive && bin_int(r, k, 7);
			if (found)
				sr = read_row(m, pt, r, k, 8, vals);
			else if (hs_pk_decode((const unsigned char *)PQgetvalue(r, k, 0),
					      PQgetlength(r, k, 0), t->npk, pk,
					      m->base.select1) != 0)
				sr = SQLITE_CORRUPT;
			if (sr != SQLITE_OK)
				break;
			sqlite3_value *key[HS_MAX_PK] = {0};
			for (int j = 0; j < t->npk; j++)
				key[j] = found ? vals[t->pk[j]] : pk[j];
			sr = fn(ctx, &rm, key, found ? vals : NULL);
			for (int i = 0; found && i < t->ncols; i++) {
				sqlite3_value_free(vals[i]);
				vals[i] = NULL;
			}
			for (int j = 0; j < HS_MAX_PK; j++) {
				sqlite3_value_free(pk[j]);
				pk[j] = NULL;
			}
		}
		PQclear(r);
	}
out:
	if (open)
		pg_cmd(m, "CLOSE hs_feed");
	if (own)
		pg_cmd(m, "COMMIT");
	hs_buf_free(&q);
	free(vals);
	hs_row_meta_clear(&rm);
	return sr;
}

/* ---- a merge batch read ahead --------------------------------------- */

/*
 * The merge asks, row after row, for a row's versions and then its
 * values: two round trips per row, the cost of a large push. So before a
 * merge (batch), ahead_load reads both for every row of it, one statement
 * per table and 2,000 keys, and meta_get and row_get answer from that
 * while it holds. A write of a key drops that key's part (meta_put: the
 * versions; row_put, row_delete: the values), which is then read from the
 * database again if asked for; a rollback to a savepoint can only bring
 * back a state the key had before its first write, so what is held stays
 * true. Keyed by the table and the key blob (an open-addressing table).
 */
typedef struct ahead_slot {
	const pg_table *pt; /* NULL: empty */
	PGresult *r;
	int row;
	unsigned char meta, vals; /* 1 while that part holds */
} ahead_slot;

typedef struct pg_ahead {
	PGresult **res;
	int nres;
	ahead_slot *slot;
	size_t cap; /* a power of 2, at least twice the keys */
} pg_ahead;

static void ahead_free(pg_master *m)
{
	pg_ahead *a = m->ahead;
	if (!a)
		return;
	for (int i = 0; i < a->nres; i++)
		PQclear(a->res[i]);
	free(a->res);
	free(a->slot);
	free(a);
	m->ahead = NULL;
}

static size_t ahead_hash(const pg_table *pt, const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)pt;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot of key p (n bytes) of pt: the one holding it, or (add) the
 * empty one where it goes; NULL when absent (and not add). */
static ahead_slot *ahead_slot_of(pg_ahead *a, const pg_table *pt,
				 const char *p, size_t n, int add)
{
	if (!a || !pt)
		return NULL;
	for (size_t i = ahead_hash(pt, p, n) & (a->cap - 1);;
	     i = (i + 1) & (a->cap - 1)) {
		ahead_slot *s = &a->slot[i];
		if (!s->pt)
			return add ? s : NULL;
		if (s->pt == pt && PQgetlength(s->r, s->row, 0) == (int)n &&
		    !memcmp(PQgetvalue(s->r, s->row, 0), p, n))
			return s;
	}
}

/* Read one chunk of keys (hex, as a text array literal) of pt. */
static int ahead_chunk(pg_master *m, pg_table *pt, const char *sql,
		       const char *keys)
{
	pg_ahead *a = m->ahead;
	const char *v[2] = {keys, pt->t.name};
	PGresult **more, *r = pg_exec(m, sql, 2, NULL, v, NULL, NULL, 1);
	if (!r)
		return pg_code(m);
	if (!(more = realloc(a->res, (size_t)(a->nres + 1) * sizeof(*more)))) {
		PQclear(r);
		return SQLITE_NOMEM;
	}
	a->res = more;
	a->res[a->nres++] = r;
	for (int k = 0; k < PQntuples(r); k++) {
		ahead_slot *s = ahead_slot_of(a, pt, PQgetvalue(r, k, 0),
					      (size_t)PQgetlength(r, k, 0), 1);
		if (s->pt)
			continue;
		s->pt = pt;
		s->r = r;
		s->row = k;
		s->meta = s->vals = 1;
	}
	return SQLITE_OK;
}

/* Read ahead the versions and values of every row of cs (of schema s). */
static int ahead_load(pg_master *m, const hs_schema *s, const hs_changeset *cs)
{
	pg_ahead *a;
	size_t cap = 16;
	int sr = SQLITE_OK;
	hs_buf q, keys, key;
	ahead_free(m);
	while (cap < 2 * cs->n)
		cap <<= 1;
	if (!(a = calloc(1, sizeof(*a))) ||
	    !(a->slot = calloc(cap, sizeof(*a->slot)))) {
		free(a);
		return SQLITE_NOMEM;
	}
	a->cap = cap;
	m->ahead = a;
	hs_buf_init(&q);
	hs_buf_init(&keys);
	hs_buf_init(&key);
	for (int i = 0; sr == SQLITE_OK && i < s->n; i++) {
		const hs_table *t = &s->t[i];
		pg_table *pt = NULL;
		int n = 0;
		hs_buf_reset(&q);
		hs_buf_reset(&keys);
		for (size_t j = 0; sr == SQLITE_OK && j <= cs->n; j++) {
			if (j < cs->n && cs->rows[j].table != i)
				continue;
			if (j < cs->n) {
				if (!pt && !(pt = table_ready(m, t, &sr)))
					break;
				hs_buf_reset(&key);
				hs_pk_encode(cs->rows[j].pk, t->npk, &key);
				hs_buf_puts(&keys, n ? "," : "{");
				hs_pg_hex(&keys, key.s ? key.s : "", key.len);
				n++;
			}
			if (!n || (j < cs->n && n < 2000))
				continue;
			if (!q.len) { /* the statement, once per table */
				hs_buf_puts(&q, "SELECT k.pk, r.alive, r.seq, r.vseq,"
						" r.hlc, r.site, r.clocks, d.hubsync_pk IS"
						" NOT NULL");
				for (int c = 0; c < pt->t.ncols; c++) {
					hs_buf_puts(&q, ", d.");
					hs_buf_ident(&q, pt->t.cols[c]);
				}
				hs_buf_puts(&q, ", d.hubsync_extra FROM (SELECT DISTINCT"
						" decode(h, 'hex') AS pk FROM unnest($1::"
						"text[]) AS u(h)) k LEFT JOIN hubsync.rows r"
						" ON r.tbl = $2 AND r.pk = k.pk LEFT JOIN ");
				hs_buf_ident(&q, pt->t.name);
				hs_buf_puts(&q, " d ON d.hubsync_pk = k.pk");
			}
			hs_buf_puts(&keys, "}");
			sr = q.oom || keys.oom || key.oom
				     ? SQLITE_NOMEM
				     : ahead_chunk(m, pt, q.s, keys.s);
			hs_buf_reset(&keys);
			n = 0;
		}
	}
	hs_buf_free(&q);
	hs_buf_free(&keys);
	hs_buf_free(&key);
	if (sr != SQLITE_OK)
		ahead_free(m);
	return sr;
}

/* The versions of key of t as read ahead into rm; SQLITE_NOTFOUND when
 * not held. */
static int ahead_meta(pg_master *m, const hs_table *t, const hs_buf *key,
		      hs_row_meta *rm)
{
	ahead_slot *s = m->ahead ? ahead_slot_of(m->ahead, table_of(m, t), key->s,
						 key->len, 0)
				 : NULL;
	if (!s || !s->meta)
		return SQLITE_NOTFOUND;
	if (!PQgetisnull(s->r, s->row, 1))
		meta_read(s->r, s->row, 1, rm);
	return SQLITE_OK;
}

/* The values of row pk of t as read ahead into out, *found; or
 * SQLITE_NOTFOUND when not held. */
static int ahead_row(pg_master *m, const hs_table *t, sqlite3_value **pk,
		     sqlite3_value **out, int *found)
{
	pg_table *pt = m->ahead ? table_of(m, t) : NULL;
	ahead_slot *s;
	hs_buf key;
	int sr = SQLITE_OK;
	if (!pt)
		return SQLITE_NOTFOUND;
	hs_buf_init(&key);
	hs_pk_encode(pk, t->npk, &key);
	s = key.oom ? NULL : ahead_slot_of(m->ahead, pt, key.s, key.len, 0);
	hs_buf_free(&key);
	if (!s || !s->vals)
		return SQLITE_NOTFOUND;
	*found = 0;
	if (bin_int(s->r, s->row, 7) &&
	    (sr = read_row(m, pt, s->r, s->row, 8, out)) == SQLITE_OK)
		*found = 1;
	return sr;
}

/* The read ahead's slot of key (a key blob) of pt, or NULL. */
static ahead_slot *ahead_key(pg_master *m, const pg_table *pt,
			     const hs_buf *key)
{
	return m->ahead && !key->oom
		       ? ahead_slot_of(m->ahead, pt, key->s, key->len, 0)
		       : NULL;
}

/* 1 if the read ahead holds that pt has no row with key (and none was
 * written since). */
static int ahead_absent(pg_master *m, const pg_table *pt, const hs_buf *key)
{
	ahead_slot *s = ahead_key(m, pt, key);
	return s && s->vals && !bin_int(s->r, s->row, 7);
}

/* 1 if the read ahead holds that key of t has no versions (and none were
 * written since). */
static int ahead_no_meta(pg_master *m, const hs_table *t, const hs_buf *key)
{
	ahead_slot *s = m->ahead ? ahead_key(m, table_of(m, t), key) : NULL;
	return s && s->meta && PQgetisnull(s->r, s->row, 1);
}

/* A write of key of t: what = 1 its versions, 2 its values no longer
 * held. */
static void ahead_forget(pg_master *m, const hs_table *t, const hs_buf *key,
			 int what)
{
	ahead_slot *s = m->ahead ? ahead_key(m, table_of(m, t), key) : NULL;
	if (s && what == 1)
		s->meta = 0;
	else if (s)
		s->vals = 0;
}

/* Text of a value for a text parameter: tagged (see pgtypes.c). */
static char *tagged(sqlite3_value *v)
{
	hs_buf b;
	hs_buf_init(&b);
	if (!v || sqlite3_value_type(v) == SQLITE_NULL)
		return NULL;
	hs_pg_tag(v, &b);
	return hs_buf_take(&b);
}

static char *tagged_text(const char *s)
{
	hs_buf b;
	if (!s)
		return NULL;
	hs_buf_init(&b);
	hs_buf_printf(&b, "t:%s", s);
	return hs_buf_take(&b);
}

static int pg_conflict_add(hs_store *st, const hs_conflict_row *c)
{
	pg_master *m = PM(st);
	int sr = shared_prepare(m);
	char seq[24];
	char *lv = c->col ? tagged(c->local_value) : tagged_text(c->local_text);
	char *rv = c->col ? tagged(c->remote_value) : tagged_text(c->remote_text);
	const char *v[12] = {seq,	       c->tbl,	      c->pk_json,
			     c->col,       lv,		      rv,
			     c->winner,    c->local_user, c->remote_user,
			     c->detected_at, c->local_site, c->remote_site};
	snprintf(seq, sizeof seq, "%lld", (long long)c->seq);
	if (sr == SQLITE_OK)
		sr = pg_queue(m, "hs_conflict", NULL, 12, v, NULL, NULL);
	free(lv);
	free(rv);
	return sr;
}

static int pg_history_add(hs_store *st, const hs_history_row *h)
{
	pg_master *m = PM(st);
	int sr = shared_prepare(m);
	char seq[24];
	const char *v[8] = {seq,  h->tbl,  h->key, h->pk_json,
			    h->op, h->user, h->at,  h->changes};
	snprintf(seq, sizeof seq, "%lld", (long long)h->seq);
	for (int i = 0; sr == SQLITE_OK && i < 8; i++)
		array_put(&m->histb[i], m->histn == 0, v[i]);
	if (sr == SQLITE_OK && ++m->histn >= PIPE_ROWS)
		sr = batch_send(m, m->histb, &m->histn, "hs_history_many");
	return sr;
}

static int pg_rebase_add(hs_store *st, int64_t seq, const hs_table *t,
			 int64_t old_key, int64_t new_key)
{
	char s[24], site[24], o[24], n[24];
	const char *a[5] = {s, site, t->name, o, n};
	snprintf(s, sizeof s, "%lld", (long long)seq);
	snprintf(site, sizeof site, "%d", st->site);
	snprintf(o, sizeof o, "%lld", (long long)old_key);
	snprintf(n, sizeof n, "%lld", (long long)new_key);
	return pg_queue(PM(st), NULL, "INSERT INTO hubsync.rebases(seq, site,"
				     " tbl, old_key, new_key) VALUES($1, $2, $3,"
				     " $4, $5)", 5, a, NULL, NULL);
}

static int pg_site_info(hs_store *st, int site, char **user, char **id)
{
	pg_master *m = PM(st);
	char s[24];
	const char *a[1] = {s};
	snprintf(s, sizeof s, "%d", site);
	PGresult *r = pg_q(m, "SELECT \"user\", site FROM hubsync.sites WHERE"
			      " id = $1", 1, a);
	*user = *id = NULL;
	if (!r)
		return pg_code(m);
	if (PQntuples(r) == 1) {
		if (!PQgetisnull(r, 0, 0))
			*user = hs_strdup(PQgetvalue(r, 0, 0));
		*id = hs_strdup(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return SQLITE_OK;
}

static int pg_savepoint(hs_store *st, int action, const char *name)
{
	char q[80];
	snprintf(q, sizeof q, "%s %s",
		 action == HS_SAVEPOINT	   ? "SAVEPOINT"
		 : action == HS_ROLLBACK_TO ? "ROLLBACK TO SAVEPOINT"
					    : "RELEASE SAVEPOINT",
		 name);
	return pg_queue(PM(st), NULL, q, 0, NULL, NULL, NULL);
}

/* The columns set to json, in the file master's order. */
static int pg_merge_rules(hs_store *st, hs_merge_rules *out)
{
	pg_master *m = PM(st);
	PGresult *r = pg_q(m, "SELECT tbl, col, key FROM hubsync.merge_rules"
			      " ORDER BY tbl COLLATE \"C\", col COLLATE \"C\"",
			   0, NULL);
	int sr = r ? SQLITE_OK : pg_code(m);
	for (int i = 0; r && sr == SQLITE_OK && i < PQntuples(r); i++)
		sr = hs_merge_rules_add(out, PQgetvalue(r, i, 0),
					PQgetvalue(r, i, 1), 1,
					PQgetisnull(r, i, 2) ? NULL
							     : PQgetvalue(r, i, 2));
	PQclear(r);
	return sr;
}

/* A JSON member of the audit trail as the value json_extract gives the
 * file store (file_value_at): an array as its text, true/false as 1/0. */
static sqlite3_value *history_value(pg_master *m, json_t *j)
{
	sqlite3_stmt *s1 = m->base.select1;
	switch (json_typeof(j)) {
	case JSON_STRING:
		return hs_value_text(s1, json_string_value(j));
	case JSON_INTEGER:
		return hs_value_int(s1, json_integer_value(j));
	case JSON_REAL:
		return hs_value_double(s1, json_real_value(j));
	case JSON_TRUE:
	case JSON_FALSE:
		return hs_value_int(s1, json_is_true(j));
	case JSON_NULL:
		return hs_value_blob(s1, SQLITE_NULL, NULL, 0);
	default: {
		char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		sqlite3_value *v = t ? hs_value_text(s1, t) : NULL;
		free(t);
		return v;
	}
	}
}

/* The history of a row above seq, oldest first, until an entry that has
 * col (its old value is the one at seq) or the row's insert (none): the
 * file store's rule (file_value_at, store.h). */
static int pg_value_at(hs_store *st, const hs_table *t, sqlite3_value **pk,
		       int col, int64_t seq, sqlite3_value **out, int *found)
{
	pg_master *m = PM(st);
	char *key = hs_key_text(pk, t->npk), s[24];
	const char *a[3] = {t->name, key, s};
	PGresult *r;
	int sr = SQLITE_OK;
	*out = NULL;
	*found = 0;
	if (!key)
		return SQLITE_NOMEM;
	snprintf(s, sizeof s, "%lld", (long long)seq);
	/* no rows when the trail above seq is not whole (pruned) */
	r = pg_q(m, "SELECT op, changes FROM hubsync.history WHERE tbl = $1 AND"
		    " key = $2 AND seq > $3::bigint AND $3::bigint >= coalesce(("
		    "SELECT value::bigint FROM hubsync.master WHERE key ="
		    " 'history_pruned'), 0) ORDER BY seq",
		 3, a);
	free(key);
	if (!r)
		return pg_code(m);
	for (int i = 0; sr == SQLITE_OK && i < PQntuples(r); i++) {
		if (!strcmp(PQgetvalue(r, i, 0), "insert"))
			break;
		json_t *c = PQgetisnull(r, i, 1)
				    ? NULL
				    : json_loads(PQgetvalue(r, i, 1), 0, NULL);
		json_t *v = json_array_get(json_object_get(c, t->cols[col]), 0);
		if (v && !json_is_object(v)) { /* not a {"$blob"} */
			*out = history_value(m, v);
			*found = *out != NULL;
			sr = *found ? SQLITE_OK : SQLITE_NOMEM;
		}
		json_decref(c);
		if (v)
			break;
	}
	PQclear(r);
	return sr;
}

static const hs_store_ops PG_OPS = {
	pg_row_get,	pg_row_put,	    pg_row_delete,
	pg_max_key,	pg_unique_holder, pg_has_unique,
	pg_referencing, pg_meta_get,	    pg_meta_put,
	pg_feed,	pg_conflict_add,  pg_history_add,
	pg_rebase_add,	pg_site_info,	    pg_savepoint,
	NULL, /* keepalive: no lease to refresh */
	pg_merge_rules,	pg_value_at,
	NULL, NULL, /* absent, put_new: every row alone */
	0,
};

/* ---- merge and pull through the store ----------------------------------- */

static int pm_merge_begin(hs_master *mm, const hs_schema *s,
			  const int64_t *local_max, int64_t now_ms,
			  hs_merge_stats *st, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = hs_merge_begin(&m->base, s, local_max, now_ms, st);
	m->mschema = s;
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot merge");
}

/* A batch of the push: its rows' versions and values read ahead. */
static int pm_merge_rows(hs_master *mm, hs_changeset *cs, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = ahead_load(m, m->mschema, cs);
	if (sr == SQLITE_OK)
		sr = hs_merge_rows(&m->base, cs, err);
	ahead_free(m);
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot merge a row");
}

static int pm_merge_end(hs_master *mm, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = hs_merge_end(&m->base, err);
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot merge a row");
}

static int pm_pull_rows(hs_master *mm, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = hs_pull_rows(&m->base, s, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		pg_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

static int pm_pull_table(hs_master *mm, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = hs_pull_table(&m->base, s, ti, since, fn, ctx, out);
	if (sr == SQLITE_OK)
		return 0;
	if (!err->len)
		pg_fail(m, err, sr, "cannot read changes");
	return HS_ERROR;
}

static int pm_resolve(hs_master *mm, const hs_rowset *rs, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = SQLITE_OK;
	for (size_t i = 0; sr == SQLITE_OK && i < rs->n; i++) {
		sqlite3_value **v = &rs->v[i * (size_t)rs->ncols];
		char id[24], seq[24];
		const char *a[4] = {id, (const char *)sqlite3_value_text(v[2]),
				    m->base.user, seq};
		snprintf(id, sizeof id, "%lld", (long long)sqlite3_value_int64(v[0]));
		snprintf(seq, sizeof seq, "%lld", (long long)++m->base.seq);
		sr = pg_run(m, "UPDATE hubsync.conflicts SET resolved = 1,"
			       " resolved_at = $2, resolved_by = $3, seq = $4"
			       " WHERE id = $1 AND resolved = 0", 4, a);
	}
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot resolve a conflict");
}

/* The rows of sql (text parameter $1 = since) into rs: kinds says each
 * column's kind: 'i' integer, 't' text, 'v' tagged value. SQLite code. */
static int fetch_rows(pg_master *m, const char *sql, int64_t param,
		      const char *kinds, hs_rowset *rs)
{
	char p[24];
	const char *a[1] = {p};
	int n = (int)strlen(kinds), sr = SQLITE_OK;
	sqlite3_value *row[20];
	snprintf(p, sizeof p, "%lld", (long long)param);
	PGresult *r = pg_q(m, sql, 1, a);
	if (!r)
		return pg_code(m);
	rs->ncols = n;
	for (int k = 0; sr == SQLITE_OK && k < PQntuples(r); k++) {
		for (int i = 0; i < n; i++) {
			const char *s = PQgetisnull(r, k, i) ? NULL : PQgetvalue(r, k, i);
			row[i] = !s ? hs_value_blob(m->base.select1, SQLITE_NULL, NULL, 0)
				 : kinds[i] == 'i'
					 ? hs_value_int(m->base.select1, strtoll(s, NULL, 10))
				 : kinds[i] == 'v' ? hs_pg_untag(m->base.select1, s)
						   : hs_value_text(m->base.select1, s);
			if (!row[i])
				sr = SQLITE_NOMEM;
		}
		if (sr == SQLITE_OK)
			sr = hs_rowset_push(rs, row);
		else
			for (int i = 0; i < n; i++)
				sqlite3_value_free(row[i]);
	}
	PQclear(r);
	return sr;
}

static int pm_pull(hs_master *mm, int64_t since, hs_pull *out, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr;
	char rq[200];
	memset(out, 0, sizeof(*out));
	sr = fetch_rows(m, "SELECT id, seq, tbl, pk, col, local_value,"
			   " remote_value, winner, local_user, remote_user,"
			   " detected_at, resolved, resolved_at, resolved_by,"
			   " local_site, remote_site FROM hubsync.conflicts WHERE"
			   " seq > $1::bigint ORDER BY id",
			since, "iitttvvttttittt" "t", &out->conflicts);
	if (sr == SQLITE_OK)
		sr = fetch_rows(m, "SELECT seq, tbl, key, pk, op, \"user\", at,"
				   " changes FROM hubsync.history WHERE seq >"
				   " $1::bigint ORDER BY seq",
				since, "ittttttt", &out->history);
	snprintf(rq, sizeof rq, "SELECT tbl, old_key, new_key FROM"
				" hubsync.rebases WHERE seq > $1::bigint AND"
				" site = %d ORDER BY seq", m->base.site);
	if (sr == SQLITE_OK)
		sr = fetch_rows(m, rq, since, "tii", &out->rebases);
	if (sr != SQLITE_OK)
		return pg_fail(m, err, sr, "cannot read changes");
	out->seq = m->base.seq;
	return 0;
}

static int64_t pm_seq(const hs_master *mm)
{
	return ((const pg_master *)mm)->base.seq;
}

static int pm_sites(hs_master *mm, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char now[24], seq[24], site[24];
	const char *a[3] = {now, seq, site};
	snprintf(now, sizeof now, "%lld", (long long)now_ms);
	snprintf(seq, sizeof seq, "%lld", (long long)m->base.seq);
	snprintf(site, sizeof site, "%d", m->base.site);
	int sr = pg_run(m, "UPDATE hubsync.sites SET last_sync = $1, synced_seq"
			   " = $2 WHERE id = $3", 3, a);
	if (sr == SQLITE_OK)
		sr = fetch_rows(m, "SELECT site, \"user\", last_sync, synced_seq,"
				   " $1::bigint FROM hubsync.sites ORDER BY id",
				m->base.seq, "ttiii", sites);
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot read the sites");
}

static char *pm_restored_at(hs_master *mm)
{
	return pg_text((pg_master *)mm, "SELECT value FROM hubsync.master WHERE"
					" key = 'restored_at'", 0, NULL);
}

static int pm_series(hs_master *mm, sqlite3 *rdb, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	sqlite3_stmt *ins;
	PGresult *r = pg_q(m, "SELECT series FROM hubsync.numbers", 0, NULL);
	if (!r)
		return pg_fail(m, err, pg_code(m), "cannot read number series");
	if (hs_prepare(rdb, &ins, "INSERT OR IGNORE INTO hubsync_series(series)"
				  " VALUES(?1)") != SQLITE_OK) {
		PQclear(r);
		return 0; /* a read-only moment here: the next sync */
	}
	for (int i = 0; i < PQntuples(r); i++) {
		sqlite3_bind_text(ins, 1, PQgetvalue(r, i, 0), -1, SQLITE_STATIC);
		hs_step_done(ins);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	PQclear(r);
	return 0;
}

static int pm_reserve(hs_master *mm, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char sz[24], ab[24];
	const char *a[3] = {series, sz, ab};
	snprintf(sz, sizeof sz, "%lld", (long long)size);
	snprintf(ab, sizeof ab, "%lld", (long long)above);
	PGresult *r = pg_q(m, "INSERT INTO hubsync.numbers AS n(series, next)"
			      " VALUES($1, greatest(1, $3::bigint + 1) +"
			      " $2::bigint) ON CONFLICT(series) DO UPDATE SET"
			      " next = greatest(n.next, $3::bigint + 1) +"
			      " $2::bigint RETURNING next - $2::bigint", 3, a);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		return pg_fail(m, err, pg_code(m), "cannot reserve numbers");
	}
	*first = cell_int(r, 0, 0, 0);
	PQclear(r);
	return 0;
}

/* Set hubsync.master's key to the integer v. SQLite code. */
static int master_set(pg_master *m, const char *key, int64_t v)
{
	char s[24];
	const char *a[2] = {key, s};
	snprintf(s, sizeof s, "%lld", (long long)v);
	return pg_run(m, "INSERT INTO hubsync.master VALUES($1, $2) ON CONFLICT"
			 " (key) DO UPDATE SET value = excluded.value", 2, a);
}

/* Housekeeping as the file master's (store_file.c, fm_housekeep). */
static int pm_housekeep(hs_master *mm, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	char cutoff[32], s[24], site[24];
	const char *a[2] = {s, site};
	snprintf(s, sizeof s, "%lld", (long long)since);
	snprintf(site, sizeof site, "%d", m->base.site);
	int sr = pg_run(m, "UPDATE hubsync.sites SET pulled = $1 WHERE id = $2",
			2, a);
	if (sr == SQLITE_OK && set_days > 0)
		sr = master_set(m, "retention_days", set_days);
	char *d = pg_text(m, "SELECT value FROM hubsync.master WHERE key ="
			     " 'retention_days'", 0, NULL);
	*days = d ? atoi(d) : HS_RETENTION_DAYS_DEFAULT;
	free(d);
	char *h = pg_text(m, "SELECT value FROM hubsync.master WHERE key ="
			     " 'housekept'", 0, NULL);
	int64_t last = h ? strtoll(h, NULL, 10) : -1;
	free(h);
	if (sr != SQLITE_OK || now_ms - last < 24LL * 3600 * 1000)
		goto out;
	if (last < 0) /* a new master: its first sync starts the clock (fm_housekeep) */
		goto housekept;
	hs_iso_time(now_ms - (int64_t)*days * 24 * 3600 * 1000, cutoff);
	const char *c[1] = {cutoff};
	/* how far the audit trail no longer tells old values (value_at) */
	sr = pg_run(m, "INSERT INTO hubsync.master SELECT 'history_pruned',"
		       " max(seq)::text FROM hubsync.history WHERE at < $1 HAVING"
		       " max(seq) IS NOT NULL ON CONFLICT (key) DO UPDATE SET"
		       " value = excluded.value", 1, c);
	if (sr == SQLITE_OK)
		sr = pg_run(m, "DELETE FROM hubsync.history WHERE at < $1", 1, c);
	if (sr == SQLITE_OK)
		sr = pg_run(m, "DELETE FROM hubsync.conflicts WHERE resolved = 1"
			       " AND resolved_at < $1", 1, c);
	if (sr == SQLITE_OK)
		sr = pg_cmd(m, "DELETE FROM hubsync.rows WHERE alive = 0 AND seq"
			       " <= (SELECT min(pulled) FROM hubsync.sites);"
			       "DELETE FROM hubsync.rebases r WHERE seq <= (SELECT"
			       " pulled FROM hubsync.sites s WHERE s.id = r.site)");
housekept:
	if (sr == SQLITE_OK)
		sr = master_set(m, "housekept", now_ms);
out:
	return sr == SQLITE_OK ? 0 : pg_fail(m, err, sr, "cannot tidy up");
}

/* The office's JSON columns: set's changes first (json: add or replace,
 * else remove), then every rule into all (fm_merge_rules). */
static int pm_merge_rules(hs_master *mm, const hs_merge_rules *set,
			  hs_merge_rules *all, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	int sr = SQLITE_OK;
	for (size_t i = 0; sr == SQLITE_OK && set && i < set->n; i++) {
		const hs_merge_rule *r = &set->v[i];
		const char *a[3] = {r->table, r->column, r->key};
		sr = r->json ? pg_run(m, "INSERT INTO hubsync.merge_rules(tbl, col,"
					 " key) VALUES($1, $2, $3) ON CONFLICT"
					 " (tbl, col) DO UPDATE SET key ="
					 " excluded.key", 3, a)
			     : pg_run(m, "DELETE FROM hubsync.merge_rules WHERE"
					 " tbl = $1 AND col = $2", 2, a);
	}
	if (sr == SQLITE_OK)
		sr = pg_merge_rules(&m->base, all);
	return sr == SQLITE_OK ? 0
			       : pg_fail(m, err, sr, "cannot keep the merge setting");
}

/* The app's tables the master has (what a sync server offers in its
 * HELLO), by name, as hubsync.tables records them now (another serve
 * process may have added one since this connection loaded the shape). */
static int pm_tables(hs_master *mm, hs_schema *out, hs_buf *err)
{
	pg_master *m = (pg_master *)mm;
	PGresult *r;
	int sr = shape_load(m);
	memset(out, 0, sizeof(*out));
	r = sr == SQLITE_OK ? pg_q(m, "SELECT name FROM hubsync.tables ORDER BY"
				      " name", 0, NULL)
			    : NULL;
	if (!r)
		return pg_fail(m, err, sr == SQLITE_OK ? pg_code(m) : sr,
			       "cannot read the tables");
	out->t = calloc(hs_count(PQntuples(r)), sizeof(hs_table));
	for (int i = 0; out->t && i < PQntuples(r); i++) {
		if (hs_table_load(m->shape, PQgetvalue(r, i, 0), &out->t[out->n],
				  err) != 0) {
			hs_table_clear(&out->t[out->n]);
			continue; /* not a table hubsync syncs (no key) */
		}
		out->n++;
	}
	PQclear(r);
	hs_buf_reset(err);
	if (!out->t) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	return 0;
}

/* ---- hubsync migrate: a file master into PostgreSQL ------------------ */

/* Copy the rows of SQLite query sql on src into PostgreSQL with insert
 * (n text parameters): kinds[i] 't' the column as text (NULL stays
 * NULL), 'v' a value tagged as pgtypes.c does. Queued: inside the
 * import's transaction. SQLite code. */
static int import_rows(pg_master *m, sqlite3 *src, const char *sql,
		       const char *insert, const char *kinds)
{
	int n = (int)strlen(kinds), sr;
	sqlite3_stmt *st;
	const char *v[20];
	hs_buf cell[20];
	if ((sr = hs_prepare(src, &st, sql)) != SQLITE_OK)
		return sr;
	for (int i = 0; i < n; i++)
		hs_buf_init(&cell[i]);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			sqlite3_value *x = sqlite3_column_value(st, i);
			hs_buf_reset(&cell[i]);
			if (sqlite3_value_type(x) == SQLITE_NULL) {
				v[i] = NULL;
				continue;
			}
			if (kinds[i] == 'v')
				hs_pg_tag(x, &cell[i]);
			else
				hs_buf_puts(&cell[i], (const char *)sqlite3_value_text(x));
			hs_buf_putn(&cell[i], "", 1); /* the terminating 0 */
			v[i] = cell[i].s;
			if (cell[i].oom)
				sr = SQLITE_NOMEM;
		}
		if (sr == SQLITE_ROW &&
		    (sr = pg_queue(m, NULL, insert, n, v, NULL, NULL)) != SQLITE_OK)
			break;
		sr = SQLITE_ROW;
	}
	sqlite3_finalize(st);
	for (int i = 0; i < n; i++)
		hs_buf_free(&cell[i]);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* The app's rows of table name and their versions (hubsync_rows, the
 * bytes as they are: the table keeps the file master's column order, so
 * the clocks stay valid). SQLite code. */
static int import_table(pg_master *m, sqlite3 *src, const hs_table *t,
			hs_buf *err)
{
	hs_table mt;
	sqlite3_stmt *st = NULL;
	sqlite3_value **vals = calloc(hs_count(t->ncols), sizeof(*vals));
	hs_buf q;
	int sr;
	memset(&mt, 0, sizeof(mt));
	hs_buf_init(&q);
	if (!vals)
		return SQLITE_NOMEM;
	if (ensure_locked(m, src, t, &mt, err) != 0) {
		free(vals);
		return SQLITE_ERROR;
	}
	hs_table_clear(&mt);
	hs_buf_puts(&q, "SELECT * FROM ");
	hs_buf_ident(&q, t->name);
	sr = q.oom ? SQLITE_NOMEM : hs_prepare(src, &st, q.s);
	while (sr == SQLITE_OK && (sr = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < t->ncols; i++)
			vals[i] = sqlite3_column_value(st, i);
		sr = pg_row_put(&m->base, t, vals, NULL);
	}
	sqlite3_finalize(st);
	hs_buf_free(&q);
	free(vals);
	if (sr != SQLITE_DONE)
		return sr;
	if ((sr = shared_prepare(m)) != SQLITE_OK ||
	    (sr = hs_prepare(src, &st, "SELECT tbl, pk, alive, seq, vseq, hlc,"
				       " site, clocks FROM hubsync_rows WHERE tbl"
				       " = ?1")) != SQLITE_OK)
		return sr;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned char num[5][8];
		const char *v[8];
		int len[8], fmt[8];
		for (int i = 0; i < 8; i++) {
			fmt[i] = 1;
			if (i >= 2 && i < 7) {
				hs_pg_put_i64(num[i - 2], sqlite3_column_int64(st, i));
				v[i] = (const char *)num[i - 2];
				len[i] = 8;
				continue;
			}
			v[i] = sqlite3_column_blob(st, i);
			len[i] = sqlite3_column_bytes(st, i);
			if (!v[i])
				v[i] = "";
		}
		if ((sr = pg_queue(m, "hs_meta_put", NULL, 8, v, len, fmt)) !=
		    SQLITE_OK)
			break;
	}
	sqlite3_finalize(st);
	return sr == SQLITE_DONE ? SQLITE_OK : sr;
}

/* 1 if table of src has column col. */
static int src_has(sqlite3 *src, const char *table, const char *col)
{
	int sr;
	char *q = sqlite3_mprintf("SELECT count(*) FROM pragma_table_info(%Q)"
				  " WHERE name = %Q", table, col);
	int64_t n = q ? hs_query_int(src, q, 0, &sr) : 0;
	sqlite3_free(q);
	return n > 0;
}

int hs_master_pg_import(const char *url, sqlite3 *src, hs_buf *err)
{
	hs_master *mm = NULL;
	pg_master *m;
	int rc, sr;
	if ((rc = hs_master_open_pg(&mm, url, 1, 60000, err)) != 0)
		return rc;
	m = (pg_master *)mm;
	if ((rc = pm_begin(mm, err)) != 0)
		goto out;
	char *used = pg_text(m, "SELECT (SELECT count(*) FROM hubsync.sites) +"
				" (SELECT count(*) FROM hubsync.tables) +"
				" (SELECT value::bigint FROM hubsync.master WHERE"
				" key = 'seq')", 0, NULL);
	if (!used || strcmp(used, "0") != 0) {
		if (used)
			hs_buf_printf(err, "the store %s holds a master with data "
				      "already: migrate into a new database", m->url);
		else
			pg_fail(m, err, pg_code(m), "cannot read");
		free(used);
		rc = used ? HS_EINVALID : HS_EIO;
		goto out;
	}
	free(used);
	/* the app's tables, as the file master has them */
	hs_rowset names = {0};
	sr = hs_rowset_fetch(src, "SELECT name FROM sqlite_master WHERE type ="
				  " 'table' AND name NOT LIKE 'hubsync\\_%' ESCAPE"
				  " '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
				  " AND ?1 = ?1 ORDER BY name", 0, &names);
	for (size_t i = 0; sr == SQLITE_OK && i < names.n; i++) {
		hs_table t;
		hs_buf e;
		memset(&t, 0, sizeof(t));
		hs_buf_init(&e);
		if (hs_table_load(src, (const char *)sqlite3_value_text(names.v[i]),
				  &t, &e) == 0) {
			sr = import_table(m, src, &t, err);
			if (sr != SQLITE_OK && err->len) {
				hs_table_clear(&t);
				hs_buf_free(&e);
				rc = HS_ERROR;
				break;
			}
		}
		hs_table_clear(&t);
		hs_buf_free(&e);
	}
	hs_rowset_clear(&names);
	if (rc != 0)
		goto out;
	/* the rest: (the file master's query, PostgreSQL's insert, the
	 * columns' kinds as import_rows reads them) */
	static const char *const copies[][3] = {
		{"SELECT id, site, user, pushed, pulled, token, prev_token, %s"
		 " FROM hubsync_sites",
		 "INSERT INTO hubsync.sites(id, site, \"user\", pushed, pulled,"
		 " token, prev_token, last_sync, synced_seq) VALUES($1, $2, $3,"
		 " $4, $5, $6, $7, $8, $9)", "ttttttttt"},
		{"SELECT id, seq, tbl, pk, col, local_value, remote_value, winner,"
		 " local_user, remote_user, detected_at, resolved, resolved_at,"
		 " resolved_by, local_site, remote_site FROM hubsync_conflicts",
		 "INSERT INTO hubsync.conflicts(id, seq, tbl, pk, col, local_value,"
		 " remote_value, winner, local_user, remote_user, detected_at,"
		 " resolved, resolved_at, resolved_by, local_site, remote_site)"
		 " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
		 " $14, $15, $16)", "tttttvvttttttttt"},
		/* the audit trail in its old shape (history.c) */
		{"SELECT " HS_HISTORY_COLS " FROM %s",
		 "INSERT INTO hubsync.history(seq, tbl, key, pk, op, \"user\", at,"
		 " changes) VALUES($1, $2, $3, $4, $5, $6, $7, $8)", "tttttttt"},
		{"SELECT seq, site, tbl, old_key, new_key FROM hubsync_rebases",
		 "INSERT INTO hubsync.rebases(seq, site, tbl, old_key, new_key)"
		 " VALUES($1, $2, $3, $4, $5)", "ttttt"},
		{"SELECT series, next FROM hubsync_numbers",
		 "INSERT INTO hubsync.numbers(series, next) VALUES($1, $2)", "tt"},
		/* the columns merged inside JSON (none on a master older
		 * than hubsync merge) */
		{"SELECT tbl, col, key FROM hubsync_merge_rules",
		 "INSERT INTO hubsync.merge_rules(tbl, col, key) VALUES($1, $2,"
		 " $3)", "ttt"},
		/* the master's settings: its id (PCs know it), sequence,
		 * retention, housekeeping, restore marks; not its format */
		{"SELECT key, value FROM hubsync_master WHERE key <> 'format'",
		 "INSERT INTO hubsync.master VALUES($1, $2) ON CONFLICT(key) DO"
		 " UPDATE SET value = excluded.value", "tt"},
	};
	int rules = src_has(src, "hubsync_merge_rules", "tbl");
	const char *stamps = src_has(src, "hubsync_sites", "last_sync")
				     ? "last_sync, synced_seq"
				     : "NULL, NULL";
	int compact = hs_history_compact(src);
	hs_buf hist;
	hs_buf_init(&hist);
	hs_history_source(&hist, compact > 0);
	if (sr == SQLITE_OK)
		sr = compact < 0 ? sqlite3_errcode(src)
				 : hist.oom ? SQLITE_NOMEM : hs_history_functions(src);
	for (size_t i = 0; sr == SQLITE_OK && i < sizeof copies / sizeof *copies;
	     i++) {
		if (!rules && strstr(copies[i][0], "hubsync_merge_rules"))
			continue;
		char *q = sqlite3_mprintf(copies[i][0],
					  strstr(copies[i][1], "hubsync.history")
						  ? hist.s : stamps);
		sr = q ? import_rows(m, src, q, copies[i][1], copies[i][2])
		       : SQLITE_NOMEM;
		sqlite3_free(q);
	}
	hs_buf_free(&hist);
	if (sr == SQLITE_OK)
		sr = pg_cmd(m, "SELECT setval(pg_get_serial_sequence('hubsync.sites',"
			       " 'id'), coalesce(max(id), 0) + 1, false) FROM"
			       " hubsync.sites; SELECT setval(pg_get_serial_sequence("
			       "'hubsync.conflicts', 'id'), coalesce(max(id), 0) + 1,"
			       " false) FROM hubsync.conflicts");
	if (sr == SQLITE_OK)
		sr = pg_cmd(m, "COMMIT");
	if (sr != SQLITE_OK)
		rc = pg_fail(m, err, sr, "cannot copy the master");
	else
		m->in_txn = 0;
out:
	pm_close(mm);
	return rc;
}

/* ---- LISTEN: commits of other processes ------------------------------ */

/*
 * Every commit that handed out sequences sends NOTIFY hubsync, '<seq>'
 * (pm_commit). A serve process listens on a connection of its own, in a
 * thread, and hands each announced sequence to fn (hubsync serve: the
 * real-time channel's wake-up). The notification is only a wake-up: the
 * data comes from the feed. A lost connection is opened again (every
 * second while the server is away); after each (re)connection the
 * current sequence is handed over too, since a commit may have been
 * announced while nobody listened.
 */
struct hs_pg_listener {
	char *url;
	void (*fn)(void *ctx, int64_t seq);
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	int stop;
};

static int listener_stopping(hs_pg_listener *l)
{
	pthread_mutex_lock(&l->mu);
	int stop = l->stop;
	pthread_mutex_unlock(&l->mu);
	return stop;
}

static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Connect and LISTEN; hand over the current sequence. NULL on failure. */
static PGconn *listener_connect(hs_pg_listener *l)
{
	PGconn *c = PQconnectdb(l->url);
	PGresult *r = NULL;
	if (PQstatus(c) == CONNECTION_OK) {
		/* not on stderr (a server ending the connection says so) */
		PQsetNoticeProcessor(c, ignore_notice, NULL);
		r = PQexec(c, "LISTEN hubsync; SELECT value FROM hubsync.master"
			      " WHERE key = 'seq'");
	}
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	if (PQntuples(r) == 1)
		l->fn(l->ctx, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
	PQclear(r);
	return c;
}

static void *listener_run(void *arg)
{
	hs_pg_listener *l = arg;
	PGconn *c = NULL;
	while (!listener_stopping(l)) {
		if (!c && !(c = listener_connect(l))) {
			for (int i = 0; i < 10 && !listener_stopping(l); i++)
				hs_os_sleep_ms(100);
			continue;
		}
		struct pollfd p = {PQsocket(c), POLLIN, 0};
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			hs_os_sleep_ms(100);
		PGnotify *n;
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((n = PQnotifies(c))) {
			l->fn(l->ctx, strtoll(n->extra, NULL, 10));
			PQfreemem(n);
		}
	}
	PQfinish(c);
	return NULL;
}

int hs_pg_listen_start(const char *url, void (*fn)(void *ctx, int64_t seq),
		       void *ctx, hs_pg_listener **out)
{
	hs_pg_listener *l = calloc(1, sizeof(*l));
	*out = NULL;
	if (!l || !(l->url = hs_strdup(url))) {
		free(l);
		return HS_ERROR;
	}
	l->fn = fn;
	l->ctx = ctx;
	pthread_mutex_init(&l->mu, NULL);
	if (pthread_create(&l->thread, NULL, listener_run, l) != 0) {
		pthread_mutex_destroy(&l->mu);
		free(l->url);
		free(l);
		return HS_ERROR;
	}
	*out = l;
	return 0;
}

void hs_pg_listen_stop(hs_pg_listener *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->mu);
	free(l->url);
	free(l);
}

static const hs_master_ops PG_MASTER_OPS = {
	pm_close,	 pm_read_begin,	 pm_read_end,	    pm_column_default,
	pm_ensure_table, pm_id,		 pm_user_elsewhere, pm_knows,
	pm_begin,	 pm_register,	 pm_set_token,	    pm_commit,
	pm_merge_begin,	 pm_merge_rows,	 pm_merge_end,
	pm_resolve,	 pm_set_pushed,	    pm_housekeep,
	pm_reserve,	 pm_series,	 pm_restored_at,    pm_seq,
	pm_sites,	 pm_pull,	 pm_pull_rows,	    pm_pull_table,
	pm_merge_rules,
	NULL, /* user: any name (no tokens) */
	pm_tables,
	NULL, /* pull_history: the history comes with pull */
	NULL, /* pull_history_stored: no compact trail */
};
