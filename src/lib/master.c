/*
 * master.c - "a master": hs_master_open picks the kind by the address,
 * and every hs_master_* call goes to that kind's operations (master.h).
 */
#include "master.h"

#include "hubsync.h"

#include <string.h>

static int is_postgres(const char *path)
{
	return !strncmp(path, "postgresql://", 13) ||
	       !strncmp(path, "postgres://", 11);
}

int hs_master_is_address(const char *path)
{
	const char *p = path;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (p > path && ((*p >= '0' && *p <= '9') || *p == '+' ||
			     *p == '-' || *p == '.')))
		p++;
	return p - path > 1 && !strncmp(p, "://", 3);
}

int hs_master_is_url(const char *path)
{
	return path && (strncmp(path, "http://", 7) == 0 ||
			strncmp(path, "https://", 8) == 0);
}

int hs_master_open(hs_master **out, const char *path, const char *token,
		   int create, int lock_timeout_ms, hs_buf *err)
{
	return hs_master_open_waiting(out, path, token, create, lock_timeout_ms,
				      NULL, NULL, err);
}

int hs_master_open_waiting(hs_master **out, const char *path,
			   const char *token, int create, int lock_timeout_ms,
			   hs_lock_wait_fn waiting, void *waiting_ctx,
			   hs_buf *err)
{
	if (hs_master_is_url(path)) /* the server waits for its master */
		return hs_master_open_http(out, path, token, create,
					   lock_timeout_ms, err);
	if (is_postgres(path)) {
#ifdef HS_WITH_POSTGRES
		return hs_master_open_pg(out, path, create, lock_timeout_ms, err);
#else
		*out = NULL;
		hs_buf_puts(err, "this hubsync was built without PostgreSQL: use a "
			    "build of hubsync for Linux to reach a postgresql:// "
			    "master");
		return HS_EINVALID;
#endif
	}
	return hs_master_open_file(out, path, create, lock_timeout_ms, waiting,
				   waiting_ctx, err);
}

const char *hs_master_user(hs_master *m)
{
	return m->ops->user ? m->ops->user(m) : NULL;
}

int hs_master_tables(hs_master *m, hs_schema *out, hs_buf *err)
{
	if (!m->ops->tables) {
		hs_buf_puts(err, "this kind of master cannot list its tables");
		return HS_ERROR;
	}
	return m->ops->tables(m, out, err);
}

void hs_master_close(hs_master *m)
{
	if (m)
		m->ops->close(m);
}

int hs_master_read_begin(hs_master *m, hs_buf *err)
{
	return m->ops->read_begin(m, err);
}

void hs_master_read_end(hs_master *m) { m->ops->read_end(m); }

char *hs_master_column_default(hs_master *m, const char *table,
			       const char *col)
{
	return m->ops->column_default(m, table, col);
}

int hs_master_ensure_table(hs_master *m, sqlite3 *rdb, const hs_table *t,
			   hs_table *mt, hs_buf *err)
{
	return m->ops->ensure_table(m, rdb, t, mt, err);
}

char *hs_master_id(hs_master *m) { return m->ops->id(m); }

int hs_master_user_elsewhere(hs_master *m, const char *user, const char *site)
{
	return m->ops->user_elsewhere(m, user, site);
}

int hs_master_knows(hs_master *m, const char *site, const char *token)
{
	return m->ops->knows(m, site, token);
}

int hs_master_begin(hs_master *m, hs_buf *err) { return m->ops->begin(m, err); }

int hs_master_register(hs_master *m, const char *site, const char *user,
		       int64_t *pushed, char **token, char **prev_token,
		       hs_buf *err)
{
	return m->ops->register_site(m, site, user, pushed, token, prev_token,
				     err);
}

int hs_master_set_token(hs_master *m, const char *prev, const char *token,
			hs_buf *err)
{
	return m->ops->set_token(m, prev, token, err);
}

int hs_master_commit(hs_master *m, hs_buf *err) { return m->ops->commit(m, err); }

int hs_master_merge_begin(hs_master *m, const hs_schema *s,
			  const int64_t *local_max, int64_t now_ms,
			  hs_merge_stats *st, hs_buf *err)
{
	return m->ops->merge_begin(m, s, local_max, now_ms, st, err);
}

int hs_master_merge_rows(hs_master *m, hs_changeset *cs, hs_buf *err)
{
	return m->ops->merge_rows(m, cs, err);
}

int hs_master_merge_end(hs_master *m, hs_buf *err)
{
	return m->ops->merge_end(m, err);
}

int hs_master_resolve(hs_master *m, const hs_rowset *rs, hs_buf *err)
{
	return m->ops->resolve(m, rs, err);
}

int hs_master_set_pushed(hs_master *m, int64_t id, hs_buf *err)
{
	return m->ops->set_pushed(m, id, err);
}

int hs_master_housekeep(hs_master *m, int64_t since, int set_days,
			int64_t now_ms, int *days, hs_buf *err)
{
	return m->ops->housekeep(m, since, set_days, now_ms, days, err);
}

int hs_master_pull_history(hs_master *m, int64_t since, hs_history_fn fn,
			   void *ctx, hs_buf *err)
{
	if (!m->ops->pull_history)
		return 1;
	return m->ops->pull_history(m, since, fn, ctx, err);
}

int hs_master_pull_history_stored(hs_master *m, int64_t since,
				  hs_history_names *names, hs_history_set_fn fn,
				  void *ctx, hs_buf *err)
{
	if (!m->ops->pull_history_stored)
		return 1;
	return m->ops->pull_history_stored(m, since, names, fn, ctx, err);
}

int hs_master_merge_rules(hs_master *m, const hs_merge_rules *set,
			  hs_merge_rules *all, hs_buf *err)
{
	if (!m->ops->merge_rules)
		return 1;
	return m->ops->merge_rules(m, set, all, err);
}

int hs_master_reserve(hs_master *m, const char *series, int64_t size,
		      int64_t above, int64_t *first, hs_buf *err)
{
	return m->ops->reserve(m, series, size, above, first, err);
}

int hs_master_series(hs_master *m, sqlite3 *rdb, hs_buf *err)
{
	return m->ops->series(m, rdb, err);
}

char *hs_master_restored_at(hs_master *m) { return m->ops->restored_at(m); }

int64_t hs_master_seq(const hs_master *m) { return m->ops->seq(m); }

int hs_master_sites(hs_master *m, int64_t now_ms, hs_rowset *sites,
		    hs_buf *err)
{
	return m->ops->sites(m, now_ms, sites, err);
}

int hs_master_pull(hs_master *m, int64_t since, hs_pull *out, hs_buf *err)
{
	return m->ops->pull(m, since, out, err);
}

int hs_master_pull_rows(hs_master *m, const hs_schema *s, int64_t since,
			hs_pull_fn fn, void *ctx, hs_pull *out, hs_buf *err)
{
	return m->ops->pull_rows(m, s, since, fn, ctx, out, err);
}

int hs_master_pull_table(hs_master *m, const hs_schema *s, int ti,
			 int64_t since, hs_pull_fn fn, void *ctx, hs_pull *out,
			 hs_buf *err)
{
	return m->ops->pull_table(m, s, ti, since, fn, ctx, out, err);
}
