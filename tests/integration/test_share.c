/*
 * test_share.c - the share misbehaving (issue 5, item 2).
 *
 * Alice and bob sync through a master in DIR/share/ (the "share"); alice
 * then has local changes waiting, and the share goes wrong in one way per
 * case: not mounted, read-only, locked by another program for a long time,
 * a stale lock left by a crashed PC, the master truncated or overwritten
 * with garbage, a master of another app's schema, alice's replica restored
 * from an old backup.
 *
 * For each refusal: hs_replica_sync fails with a one-line message that
 * names the problem (checked by its words) and says what to do, the newest
 * sync_log row is 'error' with that message, the master file is
 * byte-for-byte as before (or still absent), alice's rows and pending
 * changes are as before; once the share is fixed, the next sync pushes the
 * pending changes and everyone converges.
 *
 * Read-only shares need care as root (permissions do not apply to root):
 * the master file is made immutable (chattr +i, FS_IOC_SETFLAGS); the
 * folder is bind-mounted read-only in a private mount namespace of a child
 * process (unshare); the classic chmod case runs the sync in a child that
 * dropped to the nobody user. A variant whose mechanism is unavailable
 * here says "skipped" with the reason.
 *
 * Run all: ./test_share; some: ./test_share stale_lock_dead_pid ...
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS 1500

typedef struct share_net {
	const char *dir;
	char share[560];
	char master[600];
	tu_site a, b;
} share_net;

static const char *SCHEMA =
	"CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, price REAL);"
	"CREATE TABLE notes(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)";

static void net_insert(tu_site *s, const char *tag, int n)
{
	tu_exec(s->app,
		"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k"
		" WHERE i < %d) INSERT INTO items(id, name, price) SELECT"
		" '%q' || i, 'item %q ' || i, i * 1.5 FROM k;"
		"INSERT INTO notes(body) SELECT 'note ' || id FROM items"
		" WHERE id LIKE '%q%%'", n, tag, tag, tag);
}

/* Alice and bob synced through DIR/share/master.db; then alice has
 * pending changes (new rows, an update, a delete). */
static void net_setup(share_net *N)
{
	memset(N, 0, sizeof(*N));
	N->dir = tu_tmpdir("share");
	snprintf(N->share, sizeof(N->share), "%s/share", N->dir);
	snprintf(N->master, sizeof(N->master), "%s/master.db", N->share);
	TU_CHECK(mkdir(N->share, 0777) == 0, "mkdir %s", N->share);
	tu_site_open(&N->a, N->dir, "alice", 0);
	tu_site_open(&N->b, N->dir, "bob", 0);
	tu_exec(N->a.app, "%s", SCHEMA);
	tu_exec(N->b.app, "%s", SCHEMA);
	net_insert(&N->a, "a", 20);
	net_insert(&N->b, "b", 20);
	tu_site_init(&N->a, N->master, NULL);
	tu_site_init(&N->b, N->master, NULL);
	for (int r = 0; r < 2; r++) {
		tu_now_ms += 1000;
		tu_site_sync(&N->a, 0);
		tu_site_sync(&N->b, 0);
	}
	tu_now_ms += 60000;
	net_insert(&N->a, "pending", 5);
	tu_exec(N->a.app, "UPDATE items SET name = 'edited' WHERE id = 'b1';"
			  "DELETE FROM items WHERE id = 'a2'");
}

/* Both sync twice more; everyone equals the master; alice's pending work
 * arrived. */
static void net_converge(share_net *N)
{
	for (int r = 0; r < 2; r++) {
		tu_now_ms += 1000;
		tu_site_sync(&N->a, 0);
		tu_site_sync(&N->b, 0);
	}
	sqlite3 *m = tu_db_open(N->master, 1);
	char *why = NULL;
	TU_CHECK(!tu_db_diff(N->a.app, m, "synced_at", &why),
		 "alice differs from the master: %s", why);
	TU_CHECK(!tu_db_diff(N->b.app, m, "synced_at", &why),
		 "bob differs from the master: %s", why);
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM items WHERE id LIKE"
			      " 'pending%%'") == 5 &&
			 tu_int(m, 0, "SELECT count(*) FROM items WHERE"
				      " name = 'edited'") == 1 &&
			 tu_int(m, 1, "SELECT count(*) FROM items WHERE"
				      " id = 'a2'") == 0,
		 "alice's pending changes did not all reach the master");
	sqlite3_close(m);
	tu_check_integrity(N->master);
	tu_check_integrity(N->a.path);
	tu_check_integrity(N->b.path);
}

static void net_close(share_net *N)
{
	tu_site_close(&N->a);
	tu_site_close(&N->b);
}

/* ---- "nothing changed" -------------------------------------------------- */

typedef struct before {
	unsigned char *master; /* file bytes; NULL if absent */
	size_t mlen;
	char local_copy[700];
	int64_t pending, logs;
} before;

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	size_t cap = 0, n = 0, got;
	*len = 0;
	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(p, cap);
			TU_CHECK(p != NULL, "out of memory");
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return p;
}

static void before_take(before *b, share_net *N)
{
	static int serial;
	memset(b, 0, sizeof(*b));
	b->master = slurp(N->master, &b->mlen);
	snprintf(b->local_copy, sizeof(b->local_copy), "%s/before-%d.db",
		 N->dir, ++serial);
	tu_copy_file(N->a.path, b->local_copy);
	b->pending = tu_int(N->a.app, 0, "SELECT count(*) FROM hubsync_changes");
	b->logs = tu_int(N->a.app, 0, "SELECT count(*) FROM sync_log");
}

/* The master file and alice's data are as in b; one new sync_log row,
 * 'error' with msg. */
static void after_check(before *b, share_net *N, const char *msg,
			const char *what)
{
	size_t len;
	unsigned char *now = slurp(N->master, &len);
	TU_CHECK((!now && !b->master) ||
			 (now && b->master && len == b->mlen &&
			  !memcmp(now, b->master, len)),
		 "%s: the master file changed (%s, %zu -> %zu bytes)", what,
		 now ? "present" : "absent", b->mlen, len);
	free(now);
	sqlite3 *old = tu_db_open(b->local_copy, 1);
	char *why = NULL;
	TU_CHECK(!tu_db_diff(old, N->a.app, NULL, &why),
		 "%s: alice's rows changed: %s", what, why);
	sqlite3_close(old);
	TU_CHECK(tu_int(N->a.app, 0, "SELECT count(*) FROM hubsync_changes") ==
			 b->pending, "%s: alice's pending changes changed", what);
	TU_CHECK(tu_int(N->a.app, 0, "SELECT count(*) FROM sync_log") ==
			 b->logs + 1, "%s: want exactly one new sync_log row",
		 what);
	char *log = tu_last_sync_log(N->a.app);
	TU_CHECK(!strncmp(log, "error|", 6) && !strcmp(log + 6, msg),
		 "%s: sync_log row is '%s', want 'error|%s'", what, log, msg);
	free(log);
	free(b->master);
	b->master = NULL;
}

/* msg is one line and holds every word of words (case-insensitive,
 * alternatives separated by '/'). */
static void check_message(const char *msg, const char *words,
			  const char *what)
{
	char buf[256];
	TU_CHECK(msg && *msg && !strchr(msg, '\n'),
		 "%s: message is empty or not one line: '%s'", what,
		 msg ? msg : "(null)");
	for (const char *p = words; *p;) {
		size_t n = strcspn(p, " ");
		int found = 0;
		snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
		for (char *alt = strtok(buf, "/"); alt && !found;
		     alt = strtok(NULL, "/"))
			found = strcasestr(msg, alt) != NULL;
		TU_CHECK(found, "%s: the message should say '%.*s': '%s'", what,
			 (int)n, p, msg);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static int64_t ms_since(const struct timeval *t0)
{
	struct timeval t1;
	gettimeofday(&t1, NULL);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_usec - t0->tv_usec) / 1000;
}

/* Alice syncs with a short lock timeout; returns rc, message in msg. */
static int sync_a(share_net *N, char *msg, size_t n, int64_t *elapsed)
{
	hs_sync_options o = HS_SYNC_OPTIONS_INIT;
	struct timeval t0;
	char *json = NULL;
	o.lock_timeout_ms = LOCK_TIMEOUT_MS;
	gettimeofday(&t0, NULL);
	int rc = hs_replica_sync(N->a.hs, &o, &json);
	if (elapsed)
		*elapsed = ms_since(&t0);
	snprintf(msg, n, "%s", hs_replica_errmsg(N->a.hs));
	json_t *res = tu_json_take(json);
	if (rc != 0) {
		const char *m = json_string_value(json_object_get(res, "message"));
		TU_CHECK(json_is_false(json_object_get(res, "success")) && m &&
				 !strcmp(m, msg),
			 "the result JSON should say success false and the "
			 "message '%s'", msg);
	}
	json_decref(res);
	return rc;
}

/* Alice's sync must be refused with want_rc (0: any) and a message with
 * words; nothing changes. Returns nothing; prints the message. */
static void expect_refused(share_net *N, int want_rc, const char *words,
			   const char *what)
{
	before b;
	char msg[1024];
	before_take(&b, N);
	int rc = sync_a(N, msg, sizeof(msg), NULL);
	TU_CHECK(rc != 0, "%s: the sync succeeded", what);
	TU_CHECK(!want_rc || rc == want_rc, "%s: rc %d, want %d (%s)", what,
		 rc, want_rc, msg);
	printf("  %s (rc %d): %s\n", what, rc, msg);
	after_check(&b, N, msg, what);
	check_message(msg, words, what);
}

/* ---- the master is not there ------------------------------------------ */

static void master_missing(void)
{
	share_net N;
	char aside[600];
	net_setup(&N);
	snprintf(aside, sizeof(aside), "%s/share-aside", N.dir);
	TU_CHECK(rename(N.share, aside) == 0, "rename");
	/* The mount point is there but empty (share not mounted). */
	TU_CHECK(mkdir(N.share, 0777) == 0, "mkdir");
	expect_refused(&N, HS_EIO, "master not/missing mounted",
		       "empty share folder");
	TU_CHECK(!tu_file_exists(N.master), "sync created a master");
	/* The folder itself is gone (a drive letter not mapped). */
	TU_CHECK(rmdir(N.share) == 0, "rmdir share: %s", strerror(errno));
	expect_refused(&N, HS_EIO, "master not/missing mounted",
		       "no share folder");
	TU_CHECK(!tu_file_exists(N.share), "sync created the share folder");
	TU_CHECK(rename(aside, N.share) == 0, "put the share back");
	net_converge(&N);
	net_close(&N);
}

/* ---- read-only share ---------------------------------------------------- */

static int set_immutable(const char *path, int on)
{
	int fd = open(path, O_RDONLY);
	int flags = 0, rc = -1;
	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return rc;
}

static void readonly_immutable_file(void)
{
	share_net N;
	net_setup(&N);
	if (set_immutable(N.master, 1) != 0) {
		printf("  skipped: chattr +i not possible here (%s)\n",
		       strerror(errno));
		net_close(&N);
		return;
	}
	before b;
	char msg[1024];
	before_take(&b, &N);
	int rc = sync_a(&N, msg, sizeof(msg), NULL);
	set_immutable(N.master, 0);
	printf("  immutable master file (rc %d): %s\n", rc, msg);
	TU_CHECK(rc != 0, "sync to an immutable master succeeded");
	after_check(&b, &N, msg, "immutable master file");
	check_message(msg, "master read-only/readonly writable",
		      "immutable master file");
	net_converge(&N);
	net_close(&N);
}

/*
 * Run alice's sync in a child process that sees the share read-only:
 * mode 'm' (read-only bind mount of the share folder, in a new mount
 * namespace) or 'u' (as user nobody; the caller set the permissions).
 * The parent's connections must be closed (SQLite locks do not survive a
 * fork). Returns the sync's rc, -100 when the mechanism is unavailable
 * (reason in msg).
 */
static int sync_in_child(share_net *N, int mode, char *msg, size_t n)
{
	int fds[2];
	char buf[1100];
	ssize_t got;
	size_t len = 0;
	int status;
	TU_CHECK(pipe(fds) == 0, "pipe");
	fflush(stdout);
	pid_t pid = fork();
	TU_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int rc;
		hs_replica *h = NULL;
		hs_sync_options o = HS_SYNC_OPTIONS_INIT;
		close(fds[0]);
		if (mode == 'm' &&
		    (unshare(CLONE_NEWNS) != 0 ||
		     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		     mount(N->share, N->share, NULL, MS_BIND, NULL) != 0 ||
		     mount(NULL, N->share, NULL,
			   MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)) {
			dprintf(fds[1], "-100\tread-only bind mount: %s",
				strerror(errno));
			_exit(0);
		}
		if (mode == 'u' && (setgid(65534) != 0 || setuid(65534) != 0)) {
			dprintf(fds[1], "-100\tsetuid nobody: %s",
				strerror(errno));
			_exit(0);
		}
		o.lock_timeout_ms = LOCK_TIMEOUT_MS;
		rc = hs_replica_open(&h, N->a.path, NULL);
		if (rc == 0)
			rc = hs_replica_sync(h, &o, NULL);
		dprintf(fds[1], "%d\t%s", rc, h ? hs_replica_errmsg(h) : "?");
		hs_replica_free(h);
		_exit(0);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 &&
	       (got = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	TU_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			 strchr(buf, '\t'),
		 "the sync child failed (status %d): %s", status, buf);
	snprintf(msg, n, "%s", strchr(buf, '\t') + 1);
	return atoi(buf);
}

static void readonly_in_child(share_net *N, int mode, const char *what)
{
	before b;
	char msg[1024];
	before_take(&b, N);
	tu_site_close(&N->a);
	int rc = sync_in_child(N, mode, msg, sizeof(msg));
	tu_site_reopen(&N->a); /* no hubsync handle: reopen it */
	tu_site_hs_open(&N->a);
	if (rc == -100) {
		printf("  %s: skipped: %s\n", what, msg);
		free(b.master);
		return;
	}
	printf("  %s (rc %d): %s\n", what, rc, msg);
	TU_CHECK(rc != 0, "%s: the sync succeeded", what);
	after_check(&b, N, msg, what);
	check_message(msg, "master read-only/readonly/permission writable",
		      what);
}

static void readonly_bind_mount(void)
{
	share_net N;
	net_setup(&N);
	readonly_in_child(&N, 'm', "share mounted read-only");
	net_converge(&N);
	net_close(&N);
}

/* As nobody: alice's own files stay writable to her, the share is made
 * read-only by permissions (folder_mode, master 0444). */
static void readonly_chmod(mode_t folder_mode, const char *what)
{
	share_net N;
	char p[700];
	net_setup(&N);
	TU_CHECK(chmod(N.dir, 0777) == 0 && chmod(N.a.path, 0666) == 0,
		 "chmod alice's files");
	snprintf(p, sizeof(p), "%s.hubsync-lock", N.a.path);
	if (tu_file_exists(p))
		chmod(p, 0666);
	TU_CHECK(chmod(N.master, 0444) == 0 && chmod(N.share, folder_mode) == 0,
		 "chmod the share");
	readonly_in_child(&N, 'u', what);
	chmod(N.master, 0644);
	chmod(N.share, 0755);
	net_converge(&N);
	net_close(&N);
}

static void readonly_chmod_folder(void)
{
	readonly_chmod(0555, "share folder 0555, master 0444 (as nobody)");
}

static void readonly_chmod_file(void)
{
	readonly_chmod(0777, "master file 0444, folder writable (as nobody)");
}

/* ---- locked by another program ------------------------------------------ */

/* A child that holds something until killed; it writes one byte to the
 * pipe when it holds it. */
static pid_t holder_start(void (*hold)(share_net *), share_net *N)
{
	int fds[2];
	char c;
	TU_CHECK(pipe(fds) == 0, "pipe");
	fflush(stdout);
	pid_t pid = fork();
	TU_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(fds[0]);
		hold(N);
		TU_CHECK(write(fds[1], "x", 1) == 1, "signal parent");
		for (;;)
			pause();
	}
	close(fds[1]);
	TU_CHECK(read(fds[0], &c, 1) == 1, "the holder process died");
	close(fds[0]);
	return pid;
}

static void holder_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void write_owner(share_net *N, const char *host, long pid,
			int64_t age_s)
{
	char dir[700], owner[720];
	snprintf(dir, sizeof(dir), "%s.lock", N->master);
	snprintf(owner, sizeof(owner), "%s/owner", dir);
	TU_CHECK(mkdir(dir, 0777) == 0 || errno == EEXIST, "mkdir %s", dir);
	FILE *f = fopen(owner, "w");
	TU_CHECK(f != NULL, "create %s", owner);
	fprintf(f, "%s %ld %lld\n", host, pid,
		(long long)(time(NULL) - age_s) * 1000);
	TU_CHECK(fclose(f) == 0, "write %s", owner);
	if (age_s) {
		struct timeval tv[2];
		gettimeofday(&tv[0], NULL);
		tv[0].tv_sec -= age_s;
		tv[1] = tv[0];
		TU_CHECK(utimes(owner, tv) == 0 && utimes(dir, tv) == 0,
			 "age %s", owner);
	}
}

static void hold_lock_dir(share_net *N)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	write_owner(N, host, (long)getpid(), 0);
}

static sqlite3 *holder_db;
static void hold_exclusive(share_net *N)
{
	holder_db = tu_db_open(N->master, 0);
	tu_exec(holder_db, "BEGIN EXCLUSIVE");
}

static void locked_case(share_net *N, void (*hold)(share_net *),
			const char *what)
{
	before b;
	char msg[1024];
	int64_t ms;
	pid_t pid = holder_start(hold, N);
	before_take(&b, N);
	int rc = sync_a(N, msg, sizeof(msg), &ms);
	holder_stop(pid);
	printf("  %s: gave up after %lld ms (lock_timeout_ms %d): %s\n", what,
	       (long long)ms, LOCK_TIMEOUT_MS, msg);
	TU_CHECK(rc == HS_EBUSY, "%s: rc %d, want HS_EBUSY: %s", what, rc,
		 msg);
	after_check(&b, N, msg, what);
	TU_CHECK(ms >= LOCK_TIMEOUT_MS - 100 && ms <= LOCK_TIMEOUT_MS + 3000,
		 "%s: the sync gave up after %lld ms; lock_timeout_ms is %d",
		 what, (long long)ms, LOCK_TIMEOUT_MS);
	check_message(msg, "master lock again/later", what);
}

static void locked_by_other_sync(void)
{
	share_net N;
	net_setup(&N);
	locked_case(&N, hold_lock_dir, "lock directory held by a live process");
	/* The holder was killed: its lock is stale at once. */
	net_converge(&N);
	net_close(&N);
}

static void locked_by_sqlite_writer(void)
{
	share_net N;
	net_setup(&N);
	locked_case(&N, hold_exclusive,
		    "master held in BEGIN EXCLUSIVE by another program");
	net_converge(&N);
	net_close(&N);
}

/* ---- stale locks ---------------------------------------------------------- */

static void expect_lock_recovered(share_net *N, const char *what)
{
	char msg[1024], dir[700];
	int64_t ms;
	int rc = sync_a(N, msg, sizeof(msg), &ms);
	TU_CHECK(rc == 0, "%s: sync failed: %s", what, msg);
	/* At once, not after a lease (120 s) or an orphan's wait (20 s);
	 * breaking a lock waits ~1 s for the share's caches (store_file.c). */
	TU_CHECK(ms < 10000, "%s: recovering the lock took %lld ms", what,
		 (long long)ms);
	snprintf(dir, sizeof(dir), "%s.lock", N->master);
	TU_CHECK(!tu_file_exists(dir), "%s: the lock is still there", what);
	printf("  %s: recovered, sync took %lld ms\n", what, (long long)ms);
}

static void stale_lock_dead_pid(void)
{
	share_net N;
	char host[256] = "";
	net_setup(&N);
	pid_t pid = fork(); /* a pid that is surely dead afterwards */
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	gethostname(host, sizeof(host) - 1);
	write_owner(&N, host, (long)pid, 0);
	expect_lock_recovered(&N, "fresh lock of a dead process on this host");
	net_converge(&N);
	net_close(&N);
}

static void stale_lock_other_host_old(void)
{
	share_net N;
	net_setup(&N);
	write_owner(&N, "crashed-pc", 4242, 600); /* silent for 10 minutes */
	expect_lock_recovered(&N, "10-minute-old lock of another PC");
	net_converge(&N);
	net_close(&N);
}

static void stale_lock_other_host_fresh(void)
{
	share_net N;
	char dir[700];
	int64_t ms;
	net_setup(&N);
	write_owner(&N, "busy-pc", 4242, 0);
	before b;
	char msg[1024];
	before_take(&b, &N);
	int rc = sync_a(&N, msg, sizeof(msg), &ms);
	TU_CHECK(rc == HS_EBUSY, "fresh lock of another PC: rc %d: %s", rc,
		 msg);
	after_check(&b, &N, msg, "fresh lock of another PC");
	check_message(msg, "busy-pc locked again/later",
		      "fresh lock of another PC");
	snprintf(dir, sizeof(dir), "%s.lock/owner", N.master);
	TU_CHECK(tu_file_exists(dir), "another PC's fresh lock was broken");
	printf("  fresh lock of another PC: busy after %lld ms: %s\n",
	       (long long)ms, msg);
	/* Its owner finishes. */
	tu_rmtree(dir);
	snprintf(dir, sizeof(dir), "%s.lock", N.master);
	tu_rmtree(dir);
	net_converge(&N);
	net_close(&N);
}

/* ---- damaged master --------------------------------------------------------- */

static void replace_master(share_net *N, char *saved, size_t n,
			   void (*damage)(const char *path))
{
	snprintf(saved, n, "%s/master-good.db", N->dir);
	tu_copy_file(N->master, saved);
	damage(N->master);
}

static void restore_master(share_net *N, const char *saved)
{
	tu_copy_file(saved, N->master);
}

static void damage_garbage(const char *path)
{
	struct stat st;
	TU_CHECK(stat(path, &st) == 0, "stat");
	FILE *f = fopen(path, "wb");
	TU_CHECK(f != NULL, "open");
	unsigned x = 12345;
	for (off_t i = 0; i < st.st_size; i++) {
		x = x * 1103515245u + 12345u;
		fputc((int)(x >> 16) & 0xff, f);
	}
	TU_CHECK(fclose(f) == 0, "write");
}

static void damage_truncate_half(const char *path)
{
	struct stat st;
	TU_CHECK(stat(path, &st) == 0 && truncate(path, st.st_size / 2) == 0,
		 "truncate");
}

static void damage_empty(const char *path)
{
	TU_CHECK(truncate(path, 0) == 0, "truncate");
}

/* Garbage over the second half, header intact: pages are damaged. */
static void damage_pages(const char *path)
{
	struct stat st;
	TU_CHECK(stat(path, &st) == 0, "stat");
	FILE *f = fopen(path, "r+b");
	TU_CHECK(f != NULL && fseeko(f, st.st_size / 2, SEEK_SET) == 0, "open");
	for (off_t i = st.st_size / 2; i < st.st_size; i++)
		fputc((int)(i * 7919 % 251), f);
	TU_CHECK(fclose(f) == 0, "write");
}

static void damaged_case(share_net *N, void (*damage)(const char *),
			 const char *words, const char *what)
{
	char saved[700];
	replace_master(N, saved, sizeof(saved), damage);
	expect_refused(N, HS_ECORRUPT, words, what);
	restore_master(N, saved);
}

static void damaged(void (*damage)(const char *), const char *words,
		    const char *what)
{
	share_net N;
	net_setup(&N);
	damaged_case(&N, damage, words, what);
	net_converge(&N);
	net_close(&N);
}

static void master_garbage(void)
{
	damaged(damage_garbage, "master damaged/corrupt/not backup",
		"master overwritten with garbage");
}

static void master_truncated_half(void)
{
	damaged(damage_truncate_half, "master damaged/corrupt backup",
		"master truncated to half");
}

static void master_garbage_pages(void)
{
	damaged(damage_pages, "master damaged/corrupt backup",
		"master with garbage over its second half");
}

static void master_empty(void)
{
	damaged(damage_empty, "master not/empty",
		"master truncated to 0 bytes");
}

/* ---- another app's master ------------------------------------------------- */

static void master_other_schema(void)
{
	share_net N;
	tu_site e;
	char other_dir[600], other_master[700], saved[700];
	net_setup(&N);
	/* Another app, same table names, other columns, its own master. */
	snprintf(other_dir, sizeof(other_dir), "%s/other", N.dir);
	TU_CHECK(mkdir(other_dir, 0777) == 0, "mkdir");
	snprintf(other_master, sizeof(other_master), "%s/master.db", other_dir);
	tu_site_open(&e, other_dir, "eve", 0);
	tu_exec(e.app, "CREATE TABLE items(id TEXT PRIMARY KEY, title TEXT,"
		       " cost REAL, stock INTEGER);"
		       "CREATE TABLE notes(id INTEGER PRIMARY KEY AUTOINCREMENT,"
		       " body TEXT);"
		       "INSERT INTO items(id, title) VALUES ('x', 'other app')");
	tu_site_init(&e, other_master, NULL);
	tu_site_sync(&e, 0);
	tu_site_close(&e);
	snprintf(saved, sizeof(saved), "%s/master-good.db", N.dir);
	tu_copy_file(N.master, saved);
	tu_copy_file(other_master, N.master);
	/* Refused by the master's id before any table is looked at. */
	expect_refused(&N, HS_ECORRUPT, "master not another path",
		       "master of another app (other columns in items)");
	restore_master(&N, saved);
	net_converge(&N);
	net_close(&N);
}

/* ---- alice's replica restored from an old backup --------------------------- */

static void local_restored(int write_before_sync)
{
	share_net N;
	char backup[600];
	net_setup(&N);
	tu_site_sync(&N.a, 0); /* the pending work reaches the master */
	snprintf(backup, sizeof(backup), "%s/alice-backup.db", N.dir);
	tu_site_close(&N.a);
	tu_copy_file(N.a.path, backup);
	tu_site_reopen(&N.a);
	tu_site_hs_open(&N.a);
	/* Life goes on: alice and bob add, edit, delete and sync. */
	tu_now_ms += 60000;
	net_insert(&N.a, "after", 4);
	tu_exec(N.a.app, "UPDATE items SET price = 99 WHERE id = 'b3';"
			  "DELETE FROM items WHERE id = 'a5'");
	net_insert(&N.b, "bobafter", 3);
	for (int r = 0; r < 2; r++) {
		tu_now_ms += 1000;
		tu_site_sync(&N.a, 0);
		tu_site_sync(&N.b, 0);
	}
	/* Alice's disk dies; the old backup is put back. */
	tu_site_close(&N.a);
	tu_copy_file(backup, N.a.path);
	tu_site_reopen(&N.a);
	tu_site_hs_open(&N.a);
	if (write_before_sync) { /* she works before syncing */
		tu_now_ms += 60000;
		net_insert(&N.a, "restored", 3);
	}
	tu_site_sync(&N.a, 0);
	net_converge(&N);
	sqlite3 *m = tu_db_open(N.master, 1);
	/* Nothing lost: what alice did after the backup is still there. */
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM items WHERE id LIKE"
			      " 'after%%'") == 4, "alice's rows made after the"
		 " backup were lost");
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM notes WHERE body LIKE"
			      " 'note after%%'") == 4,
		 "alice's notes made after the backup were lost: %lld of 4",
		 (long long)tu_int(m, 0, "SELECT count(*) FROM notes WHERE body"
				      " LIKE 'note after%%'"));
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM items WHERE id = 'b3' AND"
			      " price = 99") == 1, "an edit was lost");
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM items WHERE id LIKE"
			      " 'bobafter%%'") == 3, "bob's rows were lost");
	if (write_before_sync)
		TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM notes WHERE body"
				      " LIKE 'note restored%%'") == 3,
			 "notes written on the restored copy were lost");
	/* No duplicates: one note per body. */
	TU_CHECK(tu_int(m, 0, "SELECT count(*) FROM (SELECT body FROM notes"
			      " GROUP BY body HAVING count(*) > 1)") == 0,
		 "duplicate notes after the restore");
	printf("  deleted after the backup, back after the restore: %s\n",
	       tu_int(m, 0, "SELECT count(*) FROM items WHERE id = 'a5'")
		       ? "yes (a delete the master had was undone)"
		       : "no");
	sqlite3_close(m);
	net_close(&N);
}

static void local_restored_from_backup(void) { local_restored(0); }
static void local_restored_then_written(void) { local_restored(1); }

int main(int argc, char **argv)
{
	static const tu_case cases[] = {
		{"master_missing", master_missing},
		{"readonly_immutable_file", readonly_immutable_file},
		{"readonly_bind_mount", readonly_bind_mount},
		{"readonly_chmod_folder", readonly_chmod_folder},
		{"readonly_chmod_file", readonly_chmod_file},
		{"locked_by_other_sync", locked_by_other_sync},
		{"locked_by_sqlite_writer", locked_by_sqlite_writer},
		{"stale_lock_dead_pid", stale_lock_dead_pid},
		{"stale_lock_other_host_old", stale_lock_other_host_old},
		{"stale_lock_other_host_fresh", stale_lock_other_host_fresh},
		{"master_garbage", master_garbage},
		{"master_truncated_half", master_truncated_half},
		{"master_garbage_pages", master_garbage_pages},
		{"master_empty", master_empty},
		{"master_other_schema", master_other_schema},
		{"local_restored_from_backup", local_restored_from_backup},
		{"local_restored_then_written", local_restored_then_written},
	};
	return tu_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc,
			    argv);
}
