/*
 * master_http.c - the server master: `hubsync serve` reached over HTTP(S)
 * with libcurl, as one kind of hs_master (master.h). The merge runs on the
 * server, with the same C code: server.c replays this session's calls on
 * its own master. A replica cannot tell this master from a file.
 *
 * Protocol (docs/PROTOCOL.md; frames: wire.c). Every request is one
 * `POST URL/v1/sync` with `Authorization: Bearer TOKEN`, a body of request
 * frames and an answer of one result frame per request frame. A session
 * costs few round trips, whatever the size of the sync:
 *
 *   open        HELLO       the master's id, sequence, tables, number
 *                           series, and who the token belongs to
 *   register    QUERY       this PC's push mark and sync tokens (read only)
 *   reserve     BEGIN RESERVE COMMIT   a number block, at once (when the
 *                           sync then fails, its numbers are a gap)
 *   commit      ENSURE... BEGIN REGISTER TOKEN MERGE (push rows) RESOLVE
 *               PUSHED HOUSEKEEP PULL SITES COMMIT ROWS
 *                           the recorded calls of the session, replayed by
 *                           the server in one transaction, then the rows
 *                           of the pull, streamed
 *   pull_table  ENSURE... ROWS          a catch-up (tracking.h)
 *
 * Besides the sessions, hs_master_http_wait is the real-time channel: one
 * `GET URL/v1/wait?since=CURSOR` (a long poll, JSON answer) on a curl
 * handle of its own, outside any session.
 *
 * Calls whose results a sync reads only after commit (merge statistics and
 * new ids, the pull, the sites, the retention) are filled in by commit; a
 * session closed without commit sends nothing (the server's transaction
 * never began). Idempotence: REGISTER carries the push mark the push was
 * built above; a server that has another (the same push already merged by
 * a request whose answer was lost, still running) refuses the batch with
 * nothing changed, and the next sync builds the push anew.
 */
#include "master.h"

#include "hubsync.h"
#include "platform.h"
#include "wire.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_LEVEL 3

typedef struct ensure_op {
	char *sql;   /* the replica's CREATE TABLE */
	hs_table mt; /* the master's table as this session expects it */
} ensure_op;

typedef struct http_master {
	hs_master master; /* first: sync.c sees a hs_master */
	char *url;        /* without a trailing slash */
	char *auth;       /* "Authorization: Bearer TOKEN" */
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	sqlite3 *mem;          /* makes values */
	sqlite3_stmt *select1;
	long max_rate;         /* bytes per second, 0: no limit */

	/* HELLO */
	char *id, *restored_at, *user;
	int read_only, limited;
	int64_t seq;
	hs_schema tabs;        /* the master's tables the user may sync */
	char ***dflt;          /* per table of tabs, per column: SQL or NULL */
	char **series;
	int nseries;

	hs_buf qbody;          /* a request sent at once (QUERY...) */
	/* the calls recorded for commit */
	hs_buf body;
	hs_wire_out req;
	int recording;
	int *ops;              /* frame type per recorded call */
	int nops, capops;
	ensure_op *ens;
	int nens;
	int has_pull;
	int64_t pull_since;
	hs_merge_stats *mst;
	/* the push being spooled (hm_merge_begin..end) */
	FILE *spool;
	hs_buf spoolbuf;       /* frames not yet written to spool */
	const hs_schema *mschema;
	int64_t mnow, *mlocal;
	int mtables;
	uint64_t mrows;
	int *days;
	hs_pull *pull;
	hs_rowset *sites;
	hs_merge_rules *rules;

	/* the answer being read */
	FILE *resp;
	hs_wire_in rin;
	int reading;
	int rows_ready;        /* the commit's answer holds the pull's rows */
	int hist_pending;      /* the answer's history is next (h frames) */
	hs_pull *hist_out;     /* where its ROWS result goes */
	int64_t rows_since;
} http_master;

static const hs_master_ops HTTP_OPS;
static void spool_close(struct http_master *m);
#define HM(mm) ((http_master *)(mm))

/* ---- requests --------------------------------------------------------- */

static int buf_write(void *ctx, const void *p, size_t n)
{
	hs_buf *b = ctx;
	hs_buf_putn(b, p, n);
	return b->oom ? -1 : 0;
}

static long file_read(void *ctx, void *p, size_t n)
{
	size_t got = fread(p, 1, n, ctx);
	return got ? (long)got : ferror((FILE *)ctx) ? -1 : 0;
}

/* One request's transfer: the body going up, the answer coming down,
 * paced to max_rate bytes per second each way (--max-rate). */
typedef struct transfer {
	const hs_buf *body;
	size_t sent;
	FILE *answer;
	uint64_t got;
	long rate;
	int64_t up_from, down_from; /* the first byte each way, ms */
} transfer;

/* Sleep until moving n bytes since *from (set at the first) fits the
 * rate. */
static void pace(const transfer *t, int64_t *from, uint64_t n)
{
	int64_t due, now;
	if (t->rate <= 0)
		return;
	if (!*from)
		*from = hs_system_ms();
	due = *from + (int64_t)(n * 1000 / (uint64_t)t->rate);
	now = hs_system_ms();
	if (due > now)
		hs_os_sleep_ms((int)(due - now));
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	size_t w = fwrite(p, size, n, t->answer);
	t->got += w;
	pace(t, &t->down_from, t->got);
	return w;
}

static size_t on_send(char *p, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	size_t max = size * n, left = t->body->len - t->sent;
	if (t->rate > 0 && max > (size_t)t->rate / 10 + 1)
		max = (size_t)t->rate / 10 + 1; /* small steps: an even pace */
	if (max > left)
		max = left;
	memcpy(p, t->body->s + t->sent, max);
	t->sent += max;
	pace(t, &t->up_from, t->sent);
	return max;
}

/* An hs_error for an HTTP status the server answered with: the code
 * hs_error_http_status gives that status, and 401/403 (token refused, user
 * not allowed) and 507 (a proxy's full disk). */
static int status_error(long status)
{
	if (status == 401 || status == 403)
		return HS_EINVALID;
	if (status == 507)
		return HS_EIO;
	for (int code = HS_ERROR; code >= HS_EINVALID; code--)
		if (hs_error_http_status(code) == status)
			return code;
	return HS_ERROR;
}

/* The first line of the answer (a failure's message), at most n - 1 bytes. */
static void first_line(FILE *f, char *out, size_t n)
{
	size_t len;
	rewind(f);
	len = fread(out, 1, n - 1, f);
	out[len] = 0;
	out[strcspn(out, "\r\n")] = 0;
}

/* What went wrong with a transfer to the server at url (cc, and the HTTP
 * status of the answer in f): 0 when nothing did, else an hs_error with
 * err saying what and what to do. */
static int transfer_failed(CURL *curl, CURLcode cc, const char *curl_err,
			   const char *url, FILE *f, hs_buf *err)
{
	long status = 0;
	char line[400];
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
		hs_buf_printf(err, "the sync server %s has a certificate this PC "
			      "does not trust (%s): install its CA, or name it "
			      "with HUBSYNC_CA_FILE", url,
			      curl_err[0] ? curl_err : curl_easy_strerror(cc));
		return HS_EIO;
	}
	if (cc != CURLE_OK) {
		hs_buf_printf(err, "cannot reach the sync server %s: %s: check that "
			      "hubsync serve runs there and the network is up",
			      url, curl_err[0] ? curl_err : curl_easy_strerror(cc));
		return HS_EIO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		return 0;
	first_line(f, line, sizeof line);
	if (status == 401)
		hs_buf_printf(err, "the sync server %s refused the token (%s): "
			      "check --token or HUBSYNC_TOKEN (hubsync user add "
			      "prints one)", url, line);
	else
		hs_buf_printf(err, "the sync server %s: %s", url,
			      line[0] ? line : "no answer");
	return status_error(status);
}

/* POST the finished stream in b; on success the answer is ready in
 * m->rin. On failure err says what and what to do. */
static int post(http_master *m, hs_wire_out *w, hs_buf *b, hs_buf *err)
{
	struct curl_slist *h = NULL;
	char url[2048];
	transfer t;
	CURLcode cc;
	int rc;

	if (hs_wire_out_finish(w) != 0 || b->oom) {
		hs_wire_out_free(w);
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	hs_wire_out_free(w);
	if (m->reading) {
		hs_wire_in_free(&m->rin);
		m->reading = 0;
	}
	m->rows_ready = 0;
	m->hist_pending = 0;
	m->hist_out = NULL;
	if (m->resp)
		fclose(m->resp);
	if (!(m->resp = hs_os_tmpfile())) {
		hs_buf_puts(err, "cannot make a temporary file for the server's "
			    "answer: check the temporary folder");
		return HS_EIO;
	}
	snprintf(url, sizeof url, "%s/v1/sync", m->url);
	h = curl_slist_append(h, m->auth);
	h = curl_slist_append(h, "Content-Type: " HS_WIRE_CONTENT_TYPE);
	curl_easy_setopt(m->curl, CURLOPT_URL, url);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, h);
	memset(&t, 0, sizeof(t));
	t.body = b;
	t.answer = m->resp;
	t.rate = m->max_rate;
	curl_easy_setopt(m->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(m->curl, CURLOPT_READFUNCTION, on_send);
	curl_easy_setopt(m->curl, CURLOPT_READDATA, &t);
	curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, &t);
	m->curl_err[0] = 0;
	cc = curl_easy_perform(m->curl);
	curl_slist_free_all(h);
	fflush(m->resp);
	if ((rc = transfer_failed(m->curl, cc, m->curl_err, m->url, m->resp,
				  err)) != 0)
		return rc;
	rewind(m->resp);
	m->reading = 1;
	if (hs_wire_in_init(&m->rin, file_read, m->resp, m->select1) != 0) {
		hs_buf_printf(err, "bad answer from the sync server %s: %s",
			      m->url, m->rin.msg);
		return HS_ERROR;
	}
	return 0;
}

static int req_begin(hs_wire_out *w, hs_buf *b)
{
	hs_buf_reset(b);
	return hs_wire_out_init(w, buf_write, b, ZSTD_LEVEL);
}

/* Read the next frame of the answer, which must be of type want: 0, or
 * the failure the server reported (an ERROR frame) or a protocol error. */
static int result(http_master *m, int want, hs_buf *err)
{
	int t = hs_wire_next(&m->rin);
	if (t == want)
		return 0;
	if (t == HS_F_ERROR) {
		int code = (int)hs_wire_get_int(&m->rin);
		char *msg = hs_wire_get_text(&m->rin);
		hs_buf_puts(err, msg ? msg : "the server failed");
		free(msg);
		return code < 0 && code >= HS_EINVALID ? code : HS_ERROR;
	}
	hs_buf_printf(err, "bad answer from the sync server %s: %s", m->url,
		      t < 0 ? m->rin.msg : "a frame out of turn");
	return HS_ERROR;
}

/* A protocol error while reading a result's fields. */
static int bad_answer(http_master *m, hs_buf *err)
{
	hs_buf_printf(err, "bad answer from the sync server %s: %s", m->url,
		      m->rin.err ? m->rin.msg : "unexpected values");
	return HS_ERROR;
}

/* ---- open, close ------------------------------------------------------ */

static void free_tables(http_master *m)
{
	for (int i = 0; m->dflt && i < m->tabs.n; i++) {
		for (int j = 0; m->dflt[i] && j < m->tabs.t[i].ncols; j++)
			free(m->dflt[i][j]);
		free(m->dflt[i]);
	}
	free(m->dflt);
	m->dflt = NULL;
	hs_schema_clear(&m->tabs);
}

static void hm_close(hs_master *mm)
{
	http_master *m = HM(mm);
	if (!m)
		return;
	spool_close(m);
	if (m->recording)
		hs_wire_out_free(&m->req);
	if (m->reading)
		hs_wire_in_free(&m->rin);
	if (m->resp)
		fclose(m->resp);
	for (int i = 0; i < m->nens; i++) {
		free(m->ens[i].sql);
		hs_table_clear(&m->ens[i].mt);
	}
	free(m->ens);
	free(m->ops);
	hs_buf_free(&m->body);
	hs_buf_free(&m->qbody);
	free_tables(m);
	for (int i = 0; i < m->nseries; i++)
		free(m->series[i]);
	free(m->series);
	free(m->id);
	free(m->restored_at);
	free(m->user);
	sqlite3_finalize(m->select1);
	sqlite3_close(m->mem);
	if (m->curl)
		curl_easy_cleanup(m->curl);
	free(m->url);
	free(m->auth);
	free(m);
}

/* Read a table of the HELLO answer into m->tabs[i] and m->dflt[i]. */
static int read_table(http_master *m, int i)
{
	hs_wire_in *in = &m->rin;
	hs_table *t = &m->tabs.t[i];
	int64_t ncols, npk;
	t->name = hs_wire_get_text(in);
	ncols = hs_wire_get_count(in);
	if (!t->name || ncols < 1)
		return -1;
	t->cols = calloc((size_t)ncols, sizeof(char *));
	m->dflt[i] = calloc((size_t)ncols, sizeof(char *));
	if (!t->cols || !m->dflt[i])
		return -1;
	t->ncols = (int)ncols;
	for (int j = 0; j < t->ncols; j++) {
		t->cols[j] = hs_wire_get_text(in);
		m->dflt[i][j] = hs_wire_get_text(in);
		if (!t->cols[j])
			return -1;
	}
	npk = hs_wire_get_count(in);
	if (npk < 1 || npk > HS_MAX_PK)
		return -1;
	t->npk = (int)npk;
	for (int k = 0; k < t->npk; k++) {
		uint64_t c = hs_wire_get_uint(in);
		if (c >= (uint64_t)t->ncols)
			return -1;
		t->pk[k] = (int)c;
	}
	t->intpk = (int)hs_wire_get_uint(in);
	return in->err ? -1 : 0;
}

static int hello(http_master *m, hs_buf *err)
{
	hs_wire_in *in = &m->rin;
	hs_wire_out w;
	int rc;
	int64_t n;
	if (req_begin(&w, &m->body) != 0)
		return HS_ERROR;
	hs_wire_frame(&w, HS_F_HELLO);
	hs_wire_put_uint(&w, HS_WIRE_VERSION);
	hs_wire_end(&w);
	if ((rc = post(m, &w, &m->body, err)) != 0 ||
	    (rc = result(m, HS_F_HELLO, err)) != 0)
		return rc;
	hs_wire_get_uint(in); /* the server's protocol version */
	m->id = hs_wire_get_text(in);
	m->seq = hs_wire_get_int(in);
	m->restored_at = hs_wire_get_text(in);
	m->user = hs_wire_get_text(in);
	m->read_only = (int)hs_wire_get_uint(in);
	m->limited = (int)hs_wire_get_uint(in);
	n = hs_wire_get_count(in);
	if (n > 0 && !(m->series = calloc((size_t)n, sizeof(char *))))
		return bad_answer(m, err);
	for (; m->nseries < n; m->nseries++)
		if (!(m->series[m->nseries] = hs_wire_get_text(in)))
			return bad_answer(m, err);
	n = hs_wire_get_count(in);
	if (n < 0 || !m->id || !m->user)
		return bad_answer(m, err);
	m->tabs.t = calloc(hs_count((int)n), sizeof(hs_table));
	m->dflt = calloc(hs_count((int)n), sizeof(char **));
	if (!m->tabs.t || !m->dflt)
		return bad_answer(m, err);
	for (; m->tabs.n < n; m->tabs.n++)
		if (read_table(m, m->tabs.n) != 0) {
			m->tabs.n++;
			return bad_answer(m, err);
		}
	return 0;
}

/* The options every transfer to a server has. */
static void curl_setup(CURL *curl, char *curl_err)
{
	const char *ca = getenv("HUBSYNC_CA_FILE");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	if (ca && *ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
}

int hs_master_open_http(hs_master **out, const char *url, const char *token,
			int create, int timeout_ms, hs_buf *err)
{
	http_master *m = calloc(1, sizeof(*m));
	size_t n;
	int rc;
	(void)create; /* the server makes its master */
	(void)timeout_ms;
	*out = NULL;
	if (!m) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	m->master.ops = &HTTP_OPS;
	hs_buf_init(&m->body);
	hs_buf_init(&m->qbody);
	if (!token || !*token) {
		hs_buf_printf(err, "no token for the sync server %s: pass --token "
			      "(or set HUBSYNC_TOKEN); hubsync user add on the "
			      "server prints one", url);
		rc = HS_EINVALID;
		goto fail;
	}
	m->url = hs_strdup(url);
	n = strlen(token) + 32;
	m->auth = malloc(n);
	m->curl = curl_easy_init();
	if (!m->url || !m->auth || !m->curl ||
	    hs_sqlite_open(":memory:", &m->mem,
			   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX) != SQLITE_OK ||
	    hs_select1_prepare(m->mem, &m->select1) != SQLITE_OK) {
		hs_buf_puts(err, "out of memory");
		rc = HS_ERROR;
		goto fail;
	}
	while ((n = strlen(m->url)) > 0 && m->url[n - 1] == '/')
		m->url[n - 1] = 0;
	snprintf(m->auth, strlen(token) + 32, "Authorization: Bearer %s", token);
	curl_setup(m->curl, m->curl_err);
	/* a server that stops answering: give up after 5 quiet minutes */
	curl_easy_setopt(m->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(m->curl, CURLOPT_LOW_SPEED_TIME, 300L);
	curl_easy_setopt(m->curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 15000L);
	if ((rc = hello(m, err)) != 0)
		goto fail;
	*out = &m->master;
	return 0;
fail:
	hm_close(&m->master);
	return rc;
}

void hs_master_http_max_rate(hs_master *mm, long bytes_per_s)
{
	http_master *m = HM(mm);
	if (!mm || mm->ops != &HTTP_OPS)
		return;
	m->max_rate = bytes_per_s;
}

/* ---- answers from HELLO ------------------------------------------------ */

static int hm_read_begin(hs_master *mm, hs_buf *err)
{
	(void)mm;
	(void)err;
	return 0;
}

static void hm_read_end(hs_master *mm) { (void)mm; }

static int tab_index(const http_master *m, const char *name)
{
	for (int i = 0; i < m->tabs.n; i++)
		if (strcmp(m->tabs.t[i].name, name) == 0)
			return i;
	return -1;
}

static char *hm_column_default(hs_master *mm, const char *table,
			       const char *col)
{
	http_master *m = HM(mm);
	int i = tab_index(m, table);
	int j = i >= 0 ? hs_table_col(&m->tabs.t[i], col) : -1;
	return j >= 0 ? hs_strdup(m->dflt[i][j]) : NULL;
}

static char *hm_id(hs_master *mm) { return hs_strdup(HM(mm)->id); }

static char *hm_restored_at(hs_master *mm)
{
	return hs_strdup(HM(mm)->restored_at);
}

static int64_t hm_seq(const hs_master *mm)
{
	return ((const http_master *)mm)->seq;
}

static const char *hm_user(hs_master *mm) { return HM(mm)->user; }

static int hm_series(hs_master *mm, sqlite3 *rdb, hs_buf *err)
{
	http_master *m = HM(mm);
	sqlite3_stmt *ins;
	(void)err;
	if (hs_prepare(rdb, &ins, "INSERT OR IGNORE INTO hubsync_series(series)"
				  " VALUES(?1)") != SQLITE_OK)
		return 0; /* a read-only moment here: the next sync */
	for (int i = 0; i < m->nseries; i++) {
		sqlite3_bind_text(ins, 1, m->series[i], -1, SQLITE_STATIC);
		hs_step_done(ins);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	return 0;
}

/* Copy the columns and key of src into dst (zeroed). -1 on oom. */
static int table_copy(hs_table *dst, const hs_table *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = hs_strdup(src->name);
	dst->cols = calloc(hs_count(src->ncols), sizeof(char *));
	if (!dst->name || !dst->cols)
		return -1;
	for (; dst->ncols < src->ncols; dst->ncols++)
		if (!(dst->cols[dst->ncols] = hs_strdup(src->cols[dst->ncols])))
			return -1;
	dst->npk = src->npk;
	memcpy(dst->pk, src->pk, sizeof(dst->pk));
	dst->intpk = src->intpk;
	dst->id = src->id;
	return 0;
}

static int add_col(hs_table *t, const char *col)
{
	char **c = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(char *));
	if (!c)
		return -1;
	t->cols = c;
	if (!(t->cols[t->ncols] = hs_strdup(col)))
		return -1;
	t->ncols++;
	return 0;
}

static int hm_tables(hs_master *mm, hs_schema *out, hs_buf *err)
{
	http_master *m = HM(mm);
	memset(out, 0, sizeof(*out));
	out->t = calloc(hs_count(m->tabs.n), sizeof(hs_table));
	for (int i = 0; out->t && i < m->tabs.n; i++, out->n++)
		if (table_copy(&out->t[i], &m->tabs.t[i]) != 0) {
			out->n++;
			hs_schema_clear(out);
			break;
		}
	if (!out->t) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	return 0;
}

/* ---- recording -------------------------------------------------------- */

/* Start a frame of the batch sent at commit. */
static hs_wire_out *record(http_master *m, int type)
{
	if (!m->recording) {
		if (req_begin(&m->req, &m->body) != 0)
			return NULL;
		m->recording = 1;
		m->nops = 0;
	}
	if (m->nops == m->capops) {
		int cap = m->capops ? m->capops * 2 : 16;
		int *o = realloc(m->ops, (size_t)cap * sizeof(int));
		if (!o)
			return NULL;
		m->ops = o;
		m->capops = cap;
	}
	m->ops[m->nops++] = type;
	hs_wire_frame(&m->req, type);
	return &m->req;
}

static int recorded(http_master *m, hs_buf *err)
{
	if (hs_wire_end(&m->req) != 0) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	return 0;
}

static void put_ensure(hs_wire_out *w, const ensure_op *e)
{
	hs_wire_put_text(w, e->mt.name);
	hs_wire_put_text(w, e->sql);
	hs_wire_put_uint(w, (uint64_t)e->mt.ncols);
	for (int j = 0; j < e->mt.ncols; j++)
		hs_wire_put_text(w, e->mt.cols[j]);
}

/*
 * The master's table as it will be once the server has run this call:
 * the one it has, with the columns of t it lacks added at the end (as an
 * ALTER TABLE does), or t's own. The server checks that it comes out so.
 */
static int hm_ensure_table(hs_master *mm, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err)
{
	http_master *m = HM(mm);
	int i = tab_index(m, t->name);
	ensure_op *e;
	hs_wire_out *w;

	memset(mt, 0, sizeof(*mt));
	if (i < 0 && m->limited) {
		hs_buf_printf(err, "user %s may not sync table \"%s\" on the sync "
			      "server %s: sync only the tables it allows (hubsync "
			      "init --tables, hubsync untrack)", m->user, t->name,
			      m->url);
		return HS_EINVALID;
	}
	if (i >= 0) {
		const hs_table *have = &m->tabs.t[i];
		int same = have->npk == t->npk;
		for (int k = 0; same && k < t->npk; k++)
			same = strcmp(have->cols[have->pk[k]], t->cols[t->pk[k]]) == 0;
		if (!same) {
			hs_buf_printf(err, "table \"%s\" in the master %s has another "
				      "primary key than in this database: the master "
				      "belongs to a different app; check the master "
				      "address", t->name, m->url);
			return HS_ECORRUPT;
		}
	}
	e = realloc(m->ens, (size_t)(m->nens + 1) * sizeof(*e));
	if (!e)
		goto oom;
	m->ens = e;
	e = &m->ens[m->nens];
	memset(e, 0, sizeof(*e));
	m->nens++;
	if (table_copy(&e->mt, i >= 0 ? &m->tabs.t[i] : t) != 0)
		goto oom;
	for (int j = 0; j < t->ncols; j++)
		if (hs_table_col(&e->mt, t->cols[j]) < 0 &&
		    add_col(&e->mt, t->cols[j]) != 0)
			goto oom;
	if (!(e->sql = hs_table_create_sql(rdb, t->name))) {
		hs_buf_printf(err, "cannot read the definition of table \"%s\"",
			      t->name);
		return HS_ERROR;
	}
	if (!(w = record(m, HS_F_ENSURE)))
		goto oom;
	put_ensure(w, e);
	if (recorded(m, err) != 0)
		return HS_ERROR;
	if (table_copy(mt, &e->mt) != 0)
		goto oom;
	return 0;
oom:
	hs_table_clear(mt);
	hs_buf_puts(err, "out of memory");
	return HS_ERROR;
}

static int hm_begin(hs_master *mm, hs_buf *err)
{
	http_master *m = HM(mm);
	if (!record(m, HS_F_BEGIN))
		return HS_ERROR;
	return recorded(m, err);
}

/* QUERY: what the server knows of site (read only). */
static int query(http_master *m, const char *site, const char *user,
		 const char *token, int64_t *pushed, char **tok, char **prev,
		 int *known, int *elsewhere, hs_buf *err)
{
	hs_wire_out w;
	hs_wire_in *in = &m->rin;
	int rc;
	if (req_begin(&w, &m->qbody) != 0)
		return HS_ERROR;
	hs_wire_frame(&w, HS_F_QUERY);
	hs_wire_put_text(&w, site);
	hs_wire_put_text(&w, user);
	hs_wire_put_text(&w, token);
	hs_wire_end(&w);
	rc = post(m, &w, &m->qbody, err);
	if (rc == 0)
		rc = result(m, HS_F_QUERY, err);
	if (rc != 0)
		return rc;
	*pushed = hs_wire_get_int(in);
	*tok = hs_wire_get_text(in);
	*prev = hs_wire_get_text(in);
	*known = (int)hs_wire_get_uint(in);
	*elsewhere = (int)hs_wire_get_uint(in);
	return in->err ? bad_answer(m, err) : 0;
}

static int hm_user_elsewhere(hs_master *mm, const char *user, const char *site)
{
	int64_t pushed;
	char *tok = NULL, *prev = NULL;
	int known = 0, elsewhere = 0;
	hs_buf err;
	hs_buf_init(&err);
	query(HM(mm), site, user, NULL, &pushed, &tok, &prev, &known, &elsewhere,
	      &err);
	hs_buf_free(&err);
	free(tok);
	free(prev);
	return elsewhere;
}

static int hm_knows(hs_master *mm, const char *site, const char *token)
{
	int64_t pushed;
	char *tok = NULL, *prev = NULL;
	int known = 0, elsewhere = 0;
	hs_buf err;
	if (!site || !token)
		return 0;
	hs_buf_init(&err);
	query(HM(mm), site, NULL, token, &pushed, &tok, &prev, &known, &elsewhere,
	      &err);
	hs_buf_free(&err);
	free(tok);
	free(prev);
	return known;
}

static int hm_register(hs_master *mm, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err)
{
	http_master *m = HM(mm);
	char *tok = NULL, *prev = NULL;
	int known, elsewhere;
	hs_wire_out *w;
	int rc = query(m, site, user, NULL, pushed, &tok, &prev, &known,
		       &elsewhere, err);
	if (rc == 0 && !(w = record(m, HS_F_REGISTER)))
		rc = HS_ERROR;
	if (rc == 0) {
		hs_wire_put_text(w, site);
		hs_wire_put_text(w, user);
		hs_wire_put_int(w, *pushed);
		rc = recorded(m, err);
	}
	if (token)
		*token = tok;
	else
		free(tok);
	if (prev_token)
		*prev_token = prev;
	else
		free(prev);
	return rc;
}

static int hm_set_token(hs_master *mm, const char *prev, const char *token,
			hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_TOKEN);
	if (!w)
		return HS_ERROR;
	hs_wire_put_text(w, prev);
	hs_wire_put_text(w, token);
	return recorded(m, err);
}

/* The push is spooled: its rows' frames go to a temporary file as the
 * batches come (a push of any size costs bounded memory here), and into
 * the batch after the MERGE call, whose header counts them, at
 * hs_master_merge_end. */
#define SPOOL_CHUNK (256 * 1024)

static int spool_flush(http_master *m, hs_buf *err)
{
	if (m->spoolbuf.oom) {
		hs_buf_puts(err, "out of memory");
		return HS_ERROR;
	}
	if (m->spoolbuf.len &&
	    fwrite(m->spoolbuf.s, 1, m->spoolbuf.len, m->spool) != m->spoolbuf.len) {
		hs_buf_puts(err, "cannot write the push to a temporary file: check "
			    "the temporary folder's free space");
		return HS_EIO;
	}
	hs_buf_reset(&m->spoolbuf);
	return 0;
}

static void spool_close(http_master *m)
{
	if (m->spool)
		fclose(m->spool);
	m->spool = NULL;
	hs_buf_free(&m->spoolbuf);
	free(m->mlocal);
	m->mlocal = NULL;
}

static int hm_merge_begin(hs_master *mm, const hs_schema *s,
			  const int64_t *local_max, int64_t now_ms,
			  hs_merge_stats *st, hs_buf *err)
{
	http_master *m = HM(mm);
	spool_close(m);
	m->mnow = now_ms;
	m->mtables = s->n;
	m->mrows = 0;
	m->mlocal = calloc(hs_count(s->n), sizeof(int64_t));
	m->spool = hs_os_tmpfile();
	if (!m->mlocal || !m->spool) {
		spool_close(m);
		hs_buf_puts(err, "cannot make a temporary file for the push: check "
			    "the temporary folder");
		return HS_EIO;
	}
	for (int i = 0; local_max && i < s->n; i++)
		m->mlocal[i] = local_max[i];
	m->mschema = s;
	m->mst = st;
	return 0;
}

static int hm_merge_rows(hs_master *mm, hs_changeset *cs, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = &m->req;
	if (!m->spool || !m->recording)
		return bad_answer(m, err);
	if (m->read_only && cs->n) {
		hs_buf_printf(err, "user %s may only read from the sync server %s: "
			      "changed rows of this PC were not sent; ask for "
			      "write access", m->user, m->url);
		return HS_EINVALID;
	}
	for (size_t i = 0; i < cs->n; i++) {
		const hs_rowchange *rc = &cs->rows[i];
		hs_wire_frame(w, HS_F_PUSHROW);
		hs_wire_put_pushrow(w, rc, m->mschema->t[rc->table].npk);
		if (hs_wire_end_raw(w, &m->spoolbuf) != 0) {
			hs_buf_puts(err, "out of memory");
			return HS_ERROR;
		}
		m->mrows++;
		if (m->spoolbuf.len >= SPOOL_CHUNK && spool_flush(m, err) != 0)
			return HS_EIO;
	}
	return 0;
}

static int hm_merge_end(hs_master *mm, hs_buf *err)
{
	http_master *m = HM(mm);
	char *chunk = NULL;
	size_t n;
	int rc;
	hs_wire_out *w;
	if (!m->spool)
		return bad_answer(m, err);
	if ((rc = spool_flush(m, err)) != 0)
		goto out;
	if (!(w = record(m, HS_F_MERGE))) {
		rc = HS_ERROR;
		goto out;
	}
	hs_wire_put_int(w, m->mnow);
	hs_wire_put_uint(w, (uint64_t)m->mtables);
	for (int i = 0; i < m->mtables; i++)
		hs_wire_put_int(w, m->mlocal[i]);
	hs_wire_put_uint(w, m->mrows);
	if ((rc = recorded(m, err)) != 0)
		goto out;
	rewind(m->spool);
	chunk = malloc(SPOOL_CHUNK);
	if (!chunk) {
		hs_buf_puts(err, "out of memory");
		rc = HS_ERROR;
		goto out;
	}
	while ((n = fread(chunk, 1, SPOOL_CHUNK, m->spool)) > 0)
		if (hs_wire_out_raw(&m->req, chunk, n) != 0) {
			hs_buf_puts(err, "out of memory");
			rc = HS_ERROR;
			goto out;
		}
	if (ferror(m->spool)) {
		hs_buf_puts(err, "cannot read the push back from its temporary "
			    "file");
		rc = HS_EIO;
	}
out:
	free(chunk);
	spool_close(m);
	return rc;
}

static int hm_resolve(hs_master *mm, const hs_rowset *rs, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_RESOLVE);
	if (!w)
		return HS_ERROR;
	hs_wire_put_rowset(w, rs);
	return recorded(m, err);
}

static int hm_set_pushed(hs_master *mm, int64_t id, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_PUSHED);
	if (!w)
		return HS_ERROR;
	hs_wire_put_int(w, id);
	return recorded(m, err);
}

static int hm_housekeep(hs_master *mm, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_HOUSEKEEP);
	if (!w)
		return HS_ERROR;
	hs_wire_put_int(w, since);
	hs_wire_put_int(w, set_days);
	hs_wire_put_int(w, now_ms);
	*days = HS_RETENTION_DAYS_DEFAULT; /* the server's, at commit */
	m->days = days;
	return recorded(m, err);
}

static int hm_pull(hs_master *mm, int64_t since, hs_pull *out, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_PULL);
	if (!w)
		return HS_ERROR;
	hs_wire_put_int(w, since);
	hs_wire_put_uint(w, 1); /* the history with the rows, streamed */
	m->pull = out;
	m->has_pull = 1;
	m->pull_since = since;
	return recorded(m, err);
}

static int hm_sites(hs_master *mm, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_SITES);
	if (!w)
		return HS_ERROR;
	hs_wire_put_int(w, now_ms);
	m->sites = sites;
	return recorded(m, err);
}

static int hm_merge_rules(hs_master *mm, const hs_merge_rules *set,
			  hs_merge_rules *all, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w = record(m, HS_F_RULES);
	if (!w)
		return HS_ERROR;
	hs_wire_put_rules(w, set);
	m->rules = all; /* filled in by commit */
	return recorded(m, err);
}

static int hm_reserve(hs_master *mm, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out w;
	int rc;
	if (req_begin(&w, &m->qbody) != 0)
		return HS_ERROR;
	hs_wire_frame(&w, HS_F_BEGIN);
	hs_wire_end(&w);
	hs_wire_frame(&w, HS_F_RESERVE);
	hs_wire_put_text(&w, series);
	hs_wire_put_int(&w, size);
	hs_wire_put_int(&w, above);
	hs_wire_end(&w);
	hs_wire_frame(&w, HS_F_COMMIT);
	hs_wire_end(&w);
	rc = post(m, &w, &m->qbody, err);
	if (rc == 0)
		rc = result(m, HS_F_BEGIN, err);
	if (rc == 0)
		rc = result(m, HS_F_RESERVE, err);
	if (rc == 0) {
		*first = hs_wire_get_int(&m->rin);
		rc = m->rin.err ? bad_answer(m, err) : result(m, HS_F_COMMIT, err);
	}
	return rc;
}

/* ---- commit: send the batch, read the results ---------------------------- */

static int read_merge(http_master *m, hs_buf *err)
{
	hs_wire_in *in = &m->rin;
	int64_t n;
	if (!m->mst)
		return bad_answer(m, err);
	m->mst->conflicts = hs_wire_get_int(in);
	n = hs_wire_get_count(in);
	for (int64_t i = 0; i < n; i++) {
		int64_t v = hs_wire_get_int(in);
		if (!in->err)
			m->mst->pushed[i] = v;
	}
	/* Rows the master gave new ids (merge.h): the pull brings them to
	 * this PC too (hs_pull.rebases), which is where a sync takes them. */
	n = hs_wire_get_count(in);
	for (int64_t i = 0; !in->err && i < n; i++) {
		hs_wire_get_uint(in);
		hs_wire_get_int(in);
	}
	return in->err ? bad_answer(m, err) : 0;
}

static int read_pull(http_master *m, hs_buf *err)
{
	hs_wire_in *in = &m->rin;
	hs_pull *p = m->pull;
	if (!p)
		return bad_answer(m, err);
	hs_pull_clear(p);
	p->seq = hs_wire_get_int(in);
	if (hs_wire_get_rowset(in, &p->conflicts) != 0 ||
	    hs_wire_get_rowset(in, &p->history) != 0 ||
	    hs_wire_get_rowset(in, &p->rebases) != 0)
		return bad_answer(m, err);
	return 0;
}

static int hm_commit(hs_master *mm, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_out *w;
	int rc = 0, nops;
	if (!(w = record(m, HS_F_COMMIT)) || recorded(m, err) != 0)
		return HS_ERROR;
	nops = m->nops;
	if (m->has_pull) { /* the pull's rows, read next (hs_master_pull_rows) */
		w = record(m, HS_F_ROWS);
		if (!w)
			return HS_ERROR;
		hs_wire_put_int(w, m->pull_since);
		hs_wire_put_int(w, -1);
		if (recorded(m, err) != 0)
			return HS_ERROR;
	}
	m->recording = 0;
	if ((rc = post(m, &m->req, &m->body, err)) != 0)
		return rc;
	for (int i = 0; rc == 0 && i < nops; i++) {
		int type = m->ops[i];
		hs_wire_in *in = &m->rin;
		if ((rc = result(m, type, err)) != 0)
			break;
		switch (type) {
		case HS_F_REGISTER:
			hs_wire_get_int(in);
			break;
		case HS_F_MERGE:
			rc = read_merge(m, err);
			break;
		case HS_F_HOUSEKEEP: {
			int64_t d = hs_wire_get_int(in);
			if (m->days && !in->err)
				*m->days = (int)d;
			break;
		}
		case HS_F_PULL:
			rc = read_pull(m, err);
			break;
		case HS_F_RULES:
			hs_wire_get_uint(in); /* kept: a file store always */
			if (!m->rules || hs_wire_get_rules(in, m->rules) != 0)
				rc = bad_answer(m, err);
			break;
		case HS_F_SITES:
			if (!m->sites || hs_wire_get_rowset(in, m->sites) != 0)
				rc = bad_answer(m, err);
			break;
		}
		if (rc == 0 && in->err)
			rc = bad_answer(m, err);
	}
	m->nops = 0;
	if (rc == 0 && m->has_pull) {
		m->rows_ready = 1;
		m->rows_since = m->pull_since;
	}
	m->has_pull = 0;
	m->rules = NULL;
	m->mst = NULL;
	return rc;
}

/* ---- rows of the pull ----------------------------------------------------- */

/* Read the ROWS answer: each row to fn, then the pull's HLC summary. */
/* The ROWS result frame (just read): the largest clock of the rows. */
static void rows_end(http_master *m, hs_pull *out)
{
	hs_wire_in *in = &m->rin;
	int64_t h = hs_wire_get_int(in);
	int site = (int)hs_wire_get_int(in);
	char *user = hs_wire_get_text(in);
	if (out && h > out->max_hlc) {
		out->max_hlc = h;
		out->max_hlc_site = site;
		free(out->max_hlc_user);
		out->max_hlc_user = user;
		user = NULL;
	}
	free(user);
}

/* An ERROR frame (just read) into err; its hs_error. */
static int rows_error(http_master *m, hs_buf *err)
{
	hs_wire_in *in = &m->rin;
	int code = (int)hs_wire_get_int(in);
	char *msg = hs_wire_get_text(in);
	hs_buf_puts(err, msg ? msg : "the server failed");
	free(msg);
	return code < 0 && code >= HS_EINVALID ? code : HS_ERROR;
}

/* Hand the PULLROW frames to fn up to the ROWS result, or up to the
 * history that precedes it (h frames, read by hm_pull_history). */
static int read_rows(http_master *m, hs_pull_fn fn, void *ctx, hs_pull *out,
		     hs_buf *err)
{
	hs_wire_in *in = &m->rin;
	hs_changeset one = {0};
	int rc = 0;
	for (;;) {
		int t = hs_wire_next(in);
		int npk;
		if (t == HS_F_PULLROW) {
			if (hs_wire_get_pullrow(in, &one, &npk) != 0) {
				rc = bad_answer(m, err);
				break;
			}
			hs_rowchange *r = &one.rows[0];
			if (r->table < 0 || r->table >= m->nens ||
			    r->ncols != m->ens[r->table].mt.ncols) {
				rc = bad_answer(m, err);
				break;
			}
			int sr = fn(ctx, r);
			hs_changeset_pop(&one);
			if (sr != SQLITE_OK) {
				rc = HS_ERROR;
				break;
			}
			continue;
		}
		if (t == HS_F_HISTROW) { /* the rest is hm_pull_history's */
			m->hist_pending = 1;
			m->hist_out = out;
			break;
		}
		if (t == HS_F_ROWS)
			rows_end(m, out);
		else if (t == HS_F_ERROR)
			rc = rows_error(m, err);
		else
			rc = bad_answer(m, err);
		break;
	}
	hs_changeset_clear(&one);
	m->rows_ready = 0;
	return rc;
}

/* The history the server streamed after the rows (asked for by PULL), to
 * fn; 1 when there is none pending (an older server sent it with the
 * PULL answer: hs_pull.history). */
static int hm_pull_history(hs_master *mm, int64_t since, hs_history_fn fn,
			   void *ctx, hs_buf *err)
{
	http_master *m = HM(mm);
	hs_wire_in *in = &m->rin;
	sqlite3_value *v[8] = {0};
	int rc = 0, t = HS_F_HISTROW;
	(void)since;
	if (!m->hist_pending)
		return 1;
	m->hist_pending = 0;
	for (; rc == 0 && t == HS_F_HISTROW; t = hs_wire_next(in)) {
		for (int i = 0; i < 8; i++)
			if (!(v[i] = hs_wire_get_value(in)))
				rc = bad_answer(m, err);
		if (rc == 0 && fn(ctx, v) != SQLITE_OK)
			rc = HS_ERROR;
		for (int i = 0; i < 8; i++) {
			sqlite3_value_free(v[i]);
			v[i] = NULL;
		}
	}
	if (rc == 0 && t == HS_F_ROWS)
		rows_end(m, m->hist_out);
	else if (rc == 0 && t == HS_F_ERROR)
		rc = rows_error(m, err);
	else if (rc == 0)
		rc = bad_answer(m, err);
	m->hist_out = NULL;
	return rc;
}

/* A batch of its own: the session's tables, then ROWS. */
static int fetch_rows(http_master *m, int64_t since, int table, hs_buf *err)
{
	hs_wire_out w;
	int rc;
	if (req_begin(&w, &m->qbody) != 0)
		return HS_ERROR;
	for (int i = 0; i < m->nens; i++) {
		hs_wire_frame(&w, HS_F_ENSURE);
		put_ensure(&w, &m->ens[i]);
		hs_wire_end(&w);
	}
	hs_wire_frame(&w, HS_F_ROWS);
	hs_wire_put_int(&w, since);
	hs_wire_put_int(&w, table);
	hs_wire_end(&w);
	rc = post(m, &w, &m->qbody, err);
	for (int i = 0; rc == 0 && i < m->nens; i++)
		rc = result(m, HS_F_ENSURE, err);
	return rc;
}

static int hm_pull_rows(hs_master *mm, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err)
{
	http_master *m = HM(mm);
	int rc = 0;
	(void)s;
	if (!m->rows_ready || m->rows_since != since)
		rc = fetch_rows(m, since, -1, err);
	return rc ? rc : read_rows(m, fn, ctx, out, err);
}

static int hm_pull_table(hs_master *mm, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err)
{
	http_master *m = HM(mm);
	int rc = fetch_rows(m, since, ti, err);
	(void)s;
	return rc ? rc : read_rows(m, fn, ctx, out, err);
}

static const hs_master_ops HTTP_OPS = {
	hm_close,	 hm_read_begin,	  hm_read_end,	     hm_column_default,
	hm_ensure_table, hm_id,		  hm_user_elsewhere, hm_knows,
	hm_begin,	 hm_register,	  hm_set_token,	     hm_commit,
	hm_merge_begin,	 hm_merge_rows,	  hm_merge_end,
	hm_resolve,	 hm_set_pushed,	  hm_housekeep,
	hm_reserve,	 hm_series,	  hm_restored_at,    hm_seq,
	hm_sites,	 hm_pull,	  hm_pull_rows,	     hm_pull_table,
	hm_merge_rules,	 hm_user,	  hm_tables,
	hm_pull_history,
	NULL, /* pull_history_stored: the wire carries the old shape */
};

/* The sequence in a wait's answer {"seq": N, ...}: 0, or -1. */
static int read_wait_answer(const hs_buf *a, int64_t *seq)
{
	json_t *doc = a->len ? json_loadb(a->s, a->len, 0, NULL) : NULL;
	json_t *v = json_object_get(doc, "seq");
	int ok = json_is_integer(v);
	if (ok)
		*seq = (int64_t)json_integer_value(v);
	json_decref(doc);
	return ok ? 0 : -1;
}

/* ---- the real-time channel: GET /v1/wait ------------------------------- */

typedef struct wait_ctx {
	int (*cancel)(void *ctx);
	void *cancel_ctx;
	hs_buf answer;
} wait_ctx;

static size_t on_wait_data(char *p, size_t size, size_t n, void *ctx)
{
	wait_ctx *w = ctx;
	if (w->answer.len + size * n > 4096)
		return 0; /* not an answer of /v1/wait */
	hs_buf_putn(&w->answer, p, size * n);
	return w->answer.oom ? 0 : size * n;
}

/* libcurl calls it about once a second while the wait is quiet. */
static int on_wait_progress(void *ctx, curl_off_t a, curl_off_t b,
			    curl_off_t c, curl_off_t d)
{
	wait_ctx *w = ctx;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return w->cancel && w->cancel(w->cancel_ctx) ? 1 : 0;
}

int hs_master_http_wait(const char *url, const char *token, int64_t since,
			int timeout_ms, int (*cancel)(void *ctx),
			void *cancel_ctx, int64_t *seq, hs_buf *err)
{
	char curl_err[CURL_ERROR_SIZE] = "", *addr = NULL, *auth = NULL;
	struct curl_slist *h = NULL;
	CURL *curl = curl_easy_init();
	FILE *f = NULL;
	wait_ctx w;
	hs_buf b;
	CURLcode cc;
	int rc = HS_ERROR;
	size_t n = strlen(url);

	*seq = since;
	memset(&w, 0, sizeof(w));
	hs_buf_init(&w.answer);
	hs_buf_init(&b);
	w.cancel = cancel;
	w.cancel_ctx = cancel_ctx;
	while (n > 0 && url[n - 1] == '/')
		n--;
	hs_buf_printf(&b, "%.*s/v1/wait?since=%lld&timeout=%d", (int)n, url,
		      (long long)since, (timeout_ms + 999) / 1000);
	addr = hs_buf_take(&b);
	hs_buf_printf(&b, "Authorization: Bearer %s", token ? token : "");
	auth = hs_buf_take(&b);
	if (!curl || !addr || !auth || !(h = curl_slist_append(NULL, auth))) {
		hs_buf_puts(err, "out of memory");
		goto out;
	}
	curl_setup(curl, curl_err);
	curl_easy_setopt(curl, CURLOPT_URL, addr);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_wait_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_wait_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &w);
	/* the server answers within the timeout: a silence well past it is
	 * a server gone without closing (a cable, a frozen VM) */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms + 15000L);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = 0; /* cancelled: nothing changed as far as we know */
		goto out;
	}
	/* a failure's message is the answer's first line */
	if (!(f = hs_os_tmpfile())) {
		hs_buf_puts(err, "cannot make a temporary file: check the "
			    "temporary folder");
		rc = HS_EIO;
		goto out;
	}
	if (w.answer.len)
		fwrite(w.answer.s, 1, w.answer.len, f);
	fflush(f);
	if ((rc = transfer_failed(curl, cc, curl_err, url, f, err)) != 0)
		goto out;
	rc = read_wait_answer(&w.answer, seq) == 0 ? 0 : HS_ERROR;
	if (rc != 0)
		hs_buf_printf(err, "bad answer from the sync server %s to a wait: "
			      "is it a hubsync serve of this version?", url);
out:
	if (f)
		fclose(f);
	curl_slist_free_all(h);
	if (curl)
		curl_easy_cleanup(curl);
	free(addr);
	free(auth);
	hs_buf_free(&w.answer);
	hs_buf_free(&b);
	return rc;
}
