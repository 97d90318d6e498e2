/*
 * test_converge.c - randomized convergence and no-silent-loss test.
 *
 * Five replicas and a master file in a temp dir. Each replica is a user:
 * an app connection writing plain SQL (through a VFS whose clock is skewed
 * by up to an hour either way, so the capture triggers' julianday('now')
 * sees that PC's wall clock) and a hubsync handle (same skewed clock through
 * hs_open_options.clock). A seeded PRNG drives thousands of random inserts,
 * updates and deletes on six tables (TEXT key, INTEGER key, composite key,
 * WITHOUT ROWID, one with a UNIQUE column whose values come from a small
 * pool, so that users take the same value, and one with JSON columns
 * merged inside their JSON, below) whose columns hold every
 * storage class (NULL, INTEGER, REAL, TEXT with non-ASCII, BLOB up to
 * ~100 KB); app operations on a parent table and a child table whose
 * INTEGER PRIMARY KEYs the app leaves to SQLite (so PCs offline at once
 * make the same ids; the master re-keys them at push); and draws of a
 * numbered series (hs_replica_number_next), offline ones with the share
 * unmounted. All interleaved with syncs in random order, replicas going
 * offline for hundreds of operations, and clocks being corrected (a PC's
 * skew changes).
 *
 * JSON columns (issue 15): the table docs has a column doc holding a JSON
 * object and a column bom holding an array of lines told apart by sku,
 * both set to merge inside their JSON (user0's hubsync merge, reaching the
 * master with its first sync). Their edits are random edits of random
 * places: a member of doc or of its nested object n set (to a number,
 * string, null or a small array) or removed; a BOM line added, removed or
 * its qty or note changed; the app saves the whole text in its own member
 * order. The model records them per place (below).
 *
 * Time is virtual (testutil.h: tu_now_ms), so a run depends on its seed
 * (and the library) only; the seed is printed at start and with every
 * failure:
 *     HS_SEED=17 ./test_converge          replay one seed
 *     HS_CONVERGE_SEEDS=50 ./test_converge  soak (seeds 1..50, or from HS_SEED)
 *     HS_SOAK=1                             soak: 30 seeds unless given
 *     HS_CONVERGE_OPS=5000                  operations per seed (default 2000)
 *     HS_KEEP_TMP=1                         keep the files of passing runs
 *
 * The files live in /dev/shm when TMPDIR is not set (and /dev/shm is
 * writable): the master syncs with synchronous=FULL, and on a busy shared
 * disk the fsyncs made a seed take 40 s instead of 3 s. What is checked
 * here is the merge, not durability (test_crash and test_faults do that).
 *
 * Checks, after every replica synced twice with no new writes:
 *
 * 1. Convergence: every replica and the master hold identical rows in every
 *    synced table, compared through quote() of every column (exact for REAL,
 *    and 1, 1.0, '1', X'31' all differ, so types are compared too). The
 *    per-replica column synced_at is left out (it says when *this* replica
 *    received the row). PRAGMA integrity_check is ok on every file.
 *
 * 2. No silent loss. The test keeps its own causal history: every column
 *    value written (insert: every non-key column; update: each column whose
 *    stored value actually changed; delete: the row) is a write record with
 *    its writer, the writer's own write count, and the vector of how many
 *    writes of each replica the writer had seen. A replica has seen another's
 *    write when the write had been pushed to the master before the replica's
 *    last successful pull (sync = push then pull, so this is exactly the hub
 *    topology's causality; own writes are always seen). Each write must be
 *      (a) in the final state (same cell, same quote() value), or
 *      (b) overwritten by a writer who had seen it: a later write to the same
 *          column of the same row, or a delete of the row, or (for a delete)
 *          a re-insert of the row, whose writer's vector covers it, or
 *      (c) a loser in hs_replica_conflicts_json(include_resolved) of some
 *          replica: same table, key and column with the same value, or a
 *          whole-row conflict (column null) on that row whose losing side
 *          holds that value (or is the deleted row, for a delete), or
 *      (d) for a delete only: the key was re-created independently - an
 *          insert neither the deleter nor the re-creator knew of the other,
 *          and every final value of the row comes from writes the deleter
 *          had not seen (see recreated_independently). A delete acts on the
 *          row its writer saw; an insert+delete that never reached the
 *          master has nothing to act on, so a later unrelated insert of the
 *          same key stands. Values the deleter had seen coming back fail.
 *
 * Where the check is not exact, and why:
 *  - (a) and (c) match by value. Two writes of the same value to one cell
 *    are indistinguishable, so one may "stand in" for the other. Values are
 *    made unique (a write counter is folded into every generated TEXT, BLOB
 *    and most numbers); NULL and a few fixed edge values (0, 1, 1.0, '1',
 *    X'31', '') do repeat, and for those the check can pass on the twin.
 *    The merge itself treats equal concurrent values as one (no conflict),
 *    so (b) also accepts a write whose equal twin in the same cell was
 *    overwritten by a writer who had seen the twin: that writer saw the
 *    very value and replaced it.
 *  - Seed rows every install writes identically before init are recorded
 *    once, as writes of a virtual "seed" writer that everyone has seen from
 *    the start: identical content held by several users is one value, not
 *    several concurrent writes (DESIGN 3.1). Without this, a later edit of a
 *    seed row would count as concurrent with the other sites' copies.
 *  - JSON columns are modelled per place, not per cell: a write is the
 *    value at one path ("doc.n.x", "bom[sku=S1].qty", and "bom[sku=S1]"
 *    for a line's existence) that changed in the app's save, or ABSENT for
 *    a place it removed (record_json). (a) compares the place in the final
 *    value (absent counts for ABSENT); (b) counts a later write of the same
 *    place or of one containing it (a line removed or re-added) by a writer
 *    who had seen it, or the row's delete; (c) a listed conflict at that
 *    place or one containing it whose losing value holds the same value
 *    there (absent for ABSENT): a path conflict (column "doc.a", values
 *    the JSON text there), a whole-column conflict of the JSON column (the
 *    fallback: no base), or a whole-row conflict. An order of BOM lines is
 *    not a value (the app never reorders).
 *  - (b) does not require the overwriting write itself to survive; it is
 *    checked on its own, which makes the chain transitive.
 *  - INTEGER keys in the model (orders): each replica inserts from its own
 *    key range, so the rows keep their keys and the model can find them.
 *    Should the library re-key one of them, (a) fails loudly. Colliding
 *    integer keys are the family tables' part (below).
 *  - UNIQUE values repeat by design (16 codes), so (a) and (c) may match
 *    a twin for them. A write the app's own database refuses (a UNIQUE
 *    value this PC already holds) is not a write.
 *
 * 3. Parents and children (not in the write model: their keys move). Each
 *    row carries a label the test writes, unique to it, and each child the
 *    label of its parent; then: PRAGMA foreign_key_check is clean on every
 *    replica and the master; every child in the master is under the
 *    parent whose label it carries; no label is there twice; every row
 *    made is in the master under some id, or was deleted by some PC's app,
 *    or is the losing row of a listed conflict; and at least one row got a
 *    new id (else the test made no ids collide; checked from 1000 ops).
 *
 * 4. Numbers: no number drawn twice across PCs; a PC's numbers increase;
 *    an offline draw that finds no block left fails cleanly (HS_EIO or
 *    HS_EBUSY); the tickets table (n INTEGER PRIMARY KEY) in the master
 *    holds exactly the numbers drawn.
 *
 * Parent deletes (the app deletes the children it has, then the parent)
 * while other PCs add or move children under that parent: the delete wins
 * and takes those children along, each listed as a conflict (it can be
 * restored); every PC keeps clean foreign keys. Such rows are counted in
 * the summary ("dropped with a deleted parent"), never lost silently.
 * (Until issue 8 this was kept out of the default run: a child made offline
 * whose id another PC's row already had, pushed under a deleted parent,
 * deleted that other row instead of being re-keyed first.)
 *  - Updates that rewrite a value with an identical one (same quote()) are
 *    not writes (nothing changed); 1 -> 1.0 is a write (type changed).
 */
#include "testutil.h"
#include "platform.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSITES 5
#define SEED_WRITER NSITES /* the virtual writer of the identical seed rows */
#define MAXCOLS 6

enum { OP_INS = 1, OP_UPD = 2, OP_DEL = 3 };
enum { KEY_TEXT, KEY_INT, KEY_COMP };

/* Column kinds: the declared type decides the affinity the app gets. */
typedef struct col_spec {
	const char *name;
	char kind; /* i INTEGER, r REAL, t TEXT, b BLOB, a no type,
		      u TEXT UNIQUE (values from a small pool: they collide),
		      j JSON object, k JSON array of lines keyed by sku
		      (both merged inside their JSON) */
} col_spec;

typedef struct table_spec {
	const char *name;
	const char *ddl;
	int keykind;
	int npk;
	const char *pk[2];
	int ncols;
	col_spec cols[MAXCOLS]; /* the non-key columns */
	int upcol; /* a column an app upgrade adds (not in ddl), or 0 */
} table_spec;

static const table_spec TABLES[] = {
	{"items",
	 "CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT, qty INTEGER,"
	 " price REAL, image BLOB, misc)",
	 KEY_TEXT, 1, {"sku"}, 6,
	 {{"name", 't'}, {"qty", 'i'}, {"price", 'r'}, {"image", 'b'},
	  {"misc", 'a'}, {"color", 't'}}, 5},
	{"orders",
	 "CREATE TABLE orders (id INTEGER PRIMARY KEY, label TEXT, total REAL,"
	 " payload BLOB, extra)",
	 KEY_INT, 1, {"id"}, 4,
	 {{"label", 't'}, {"total", 'r'}, {"payload", 'b'}, {"extra", 'a'}}, 0},
	{"lines",
	 "CREATE TABLE lines (code TEXT, n INTEGER, note TEXT, val,"
	 " PRIMARY KEY (code, n))",
	 KEY_COMP, 2, {"code", "n"}, 2, {{"note", 't'}, {"val", 'a'}}, 0},
	{"kv",
	 "CREATE TABLE kv (k TEXT PRIMARY KEY, v, flag INTEGER, bin BLOB)"
	 " WITHOUT ROWID",
	 KEY_TEXT, 1, {"k"}, 3, {{"v", 'a'}, {"flag", 'i'}, {"bin", 'b'}}, 0},
	{"tags",
	 "CREATE TABLE tags (name TEXT PRIMARY KEY, code TEXT UNIQUE, note TEXT)",
	 KEY_TEXT, 1, {"name"}, 2, {{"code", 'u'}, {"note", 't'}}, 0},
	/* JSON columns (hubsync merge, set by user0 at the start): doc an
	 * object, bom an array of lines keyed by sku */
	{"docs",
	 "CREATE TABLE docs (id TEXT PRIMARY KEY, title TEXT, doc TEXT, bom TEXT)",
	 KEY_TEXT, 1, {"id"}, 3, {{"title", 't'}, {"doc", 'j'}, {"bom", 'k'}},
	 0},
};
#define DOCS 5 /* index of docs in TABLES */
#define JSON_KEY "sku"
#define ABSENT "(absent)" /* a path write that removed the place */
#define NTABLES ((int)(sizeof(TABLES) / sizeof(TABLES[0])))

/* The app's own triggers (issue 8): orders stamps `extra` when its label
 * changes (a trigger writing its own row), and items keeps a log that is
 * each PC's own (a table the app's triggers fill: not synced by default;
 * every PC's trigger logs what reaches it). */
static const char *const APP_TRIGGERS =
	"CREATE TRIGGER orders_stamp AFTER UPDATE OF label ON orders BEGIN"
	" UPDATE orders SET extra = 'by trigger ' || NEW.label"
	" WHERE id = NEW.id; END;"
	"CREATE TABLE item_log (n INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT,"
	" what TEXT);"
	"CREATE TRIGGER items_log AFTER INSERT ON items BEGIN"
	" INSERT INTO item_log (sku, what) VALUES (NEW.sku, 'insert'); END;";
#define UPGRADE_SQL "ALTER TABLE items ADD COLUMN color TEXT"

/* One recorded write (see the top comment). */
typedef struct wrec {
	int site;  /* writer, SEED_WRITER for seed rows */
	int idx;   /* the writer's own write count, from 1 */
	int seen[NSITES + 1];
	int op;
	int tbl;
	char *pkw; /* the row's key as a WHERE clause of quote() literals */
	int col;   /* non-key column index; -1 for a delete */
	char *val; /* quote() of the stored value; NULL for a delete; for a
		      path write the JSON text there, or ABSENT */
	char *path; /* a JSON column's path ("doc.n.x", "bom[sku=S1].qty"),
		       or NULL: the whole cell */
	int order; /* global order of the write */
} wrec;

/*
 * The family tables: integer keys that collide offline. Their rows are not
 * in the write model above (their keys move when the master re-keys them);
 * each row carries a label the test writes, unique to it ('F<index>' into
 * world.fam), and every child the label of its parent (plabel), so a row
 * is found, and a child checked to point at its own parent, whatever ids
 * they end up with.
 */
static const char *const FAMILY_DDL[] = {
	"CREATE TABLE parents (id INTEGER PRIMARY KEY, label TEXT NOT NULL,"
	" note TEXT)",
	"CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER"
	" REFERENCES parents(id), plabel TEXT NOT NULL, label TEXT NOT NULL,"
	" note TEXT)",
	/* every number drawn, as the app would keep it */
	"CREATE TABLE tickets (n INTEGER PRIMARY KEY, who TEXT NOT NULL)",
};
#define NFAMILY_DDL ((int)(sizeof(FAMILY_DDL) / sizeof(FAMILY_DDL[0])))
#define NUMBER_SERIES "ticket"

/* A parent or child row the test made. */
typedef struct famrow {
	int child;   /* 0 a parent, 1 a child */
	int site;    /* who made it */
	int64_t id;  /* the id it got on that PC */
	int deleted; /* some PC's app deleted it */
	int listed;  /* a conflict lists it as the losing row */
} famrow;

/* A loser found in a conflicts listing. */
typedef struct loser {
	int tbl;
	char *pkw;
	int col;   /* -1: whole row */
	char *val; /* quote() of the losing value; NULL: the row (deleted) */
	char *path; /* a JSON column's losing place (the column itself for a
		       whole cell), or NULL */
	json_t *jv; /* the losing value there (NULL: not there) */
} loser;

typedef struct world {
	uint64_t rng;
	uint64_t seed;
	int nops;
	const char *dir;
	char master[600];
	tu_site sites[NSITES];
	int count[NSITES + 1];            /* writes made per writer */
	int pushed[NSITES + 1];           /* writes at the master per writer */
	int seen[NSITES][NSITES + 1];     /* per site: writes seen per writer */
	int offline_until[NSITES];        /* op number; 0 = online */
	int next_id[NSITES];              /* INTEGER key allocator per site */
	wrec *w;
	int nw, capw;
	loser *l;
	int nl, capl;
	int nsyncs, nconflicts;
	int op;                           /* current operation number */
	famrow *fam;                      /* family rows, by label index */
	int nfam, capfam;
	int64_t *num;                     /* numbers drawn, in order */
	int nnum, capnum;
	int64_t last_num[NSITES];         /* the last number each PC drew */
	int exhausted;                    /* offline draws refused */
	int upgraded[NSITES];             /* the app upgrade ran on this PC */
	int nupgrades, nreplaces, nupserts, nnoops;
	int njson, npath_losers;          /* JSON edits, path conflicts */
	json_t *seen_conflicts;           /* ids of JSON conflicts collected */
} world;

/* ---- PRNG (splitmix64) ---------------------------------------------- */

static uint64_t rnd(world *W)
{
	uint64_t z = (W->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}
static int rndn(world *W, int n) { return (int)(rnd(W) % (uint64_t)n); }
static int chance(world *W, int percent) { return rndn(W, 1000) < percent * 10; }

/* ---- values --------------------------------------------------------- */

static const char *WORDS[] = {
	"bolt", "relay", "Ünïcødé", "日本語", "emoji😀", "Ωmega", "naïve café",
	"it's", "semi;colon", "tab\there", "new\nline", "ключ", "", "x",
};

static char *lit_text(world *W)
{
	const char *a = WORDS[rndn(W, (int)(sizeof(WORDS) / sizeof(*WORDS)))];
	const char *b = WORDS[rndn(W, (int)(sizeof(WORDS) / sizeof(*WORDS)))];
	char *s = sqlite3_mprintf("%s %s #%d", a, b, W->nw);
	char *q = sqlite3_mprintf("%Q", s);
	sqlite3_free(s);
	return q;
}

static char *lit_blob(world *W, int big)
{
	int n = big ? 90000 + rndn(W, 20000) : rndn(W, 48);
	char *hex = malloc((size_t)n * 2 + 16), *q;
	TU_CHECK(hex != NULL, "out of memory");
	snprintf(hex, 16, "%08x", (unsigned)W->nw); /* unique prefix */
	for (int i = 0; i < n; i++)
		snprintf(hex + 8 + 2 * i, 3, "%02x", (unsigned)(rnd(W) & 0xff));
	q = sqlite3_mprintf("X'%s'", hex);
	free(hex);
	return q;
}

static char *lit_int(world *W)
{
	int64_t v = (int64_t)(rnd(W) >> (chance(W, 10) ? 1 : 24));
	return sqlite3_mprintf("%lld", (long long)(chance(W, 50) ? -v : v));
}

static char *lit_real(world *W)
{
	double d = (double)(int64_t)(rnd(W) >> 11) / 9007199254740992.0;
	d = (d - 0.5) * (chance(W, 20) ? 1e12 : 1000.0);
	return sqlite3_mprintf("%!.17g", d);
}

static char *lit_edge(world *W)
{
	static const char *E[] = {"NULL", "0", "1", "1.0", "'1'", "X'31'", "''",
				  "X''", "9223372036854775807",
				  "-9223372036854775808", "1e308", "2.5"};
	return sqlite3_mprintf("%s", E[rndn(W, (int)(sizeof(E) / sizeof(*E)))]);
}

/* ---- JSON columns -------------------------------------------------- */

static int json_kind(char kind) { return kind == 'j' || kind == 'k'; }

/* The text of a TEXT quote() literal ('a''b' -> a'b), malloc'd; NULL for
 * any other literal. */
static char *unquote(const char *q)
{
	if (!q || q[0] != '\'')
		return NULL;
	char *out = malloc(strlen(q)), *o = out;
	TU_CHECK(out != NULL, "out of memory");
	for (const char *p = q + 1; *p; p++) {
		if (*p == '\'' && p[1] == '\'')
			p++;
		else if (*p == '\'')
			break;
		*o++ = *p;
	}
	*o = 0;
	return out;
}

/* Compact JSON text of v, members sorted (for the model), malloc'd. */
static char *jtext(json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	TU_CHECK(t != NULL, "out of memory");
	return t;
}

/* 1 if a is an array of objects told apart by JSON_KEY. */
static int keyed_array(json_t *a)
{
	if (!json_is_array(a))
		return 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *k = json_object_get(json_array_get(a, i), JSON_KEY);
		if (!json_is_string(k) && !json_is_integer(k))
			return 0;
		for (size_t h = 0; h < i; h++)
			if (json_equal(k, json_object_get(json_array_get(a, h),
							   JSON_KEY)))
				return 0;
	}
	return 1;
}

/*
 * The places of JSON value v at path into flat (path -> value): members of
 * objects one by one; with keyed, each element of a keyed array as a
 * marker "(element)" at path[sku=K] and its members below it; anything
 * else one place. The paths are the library's (jsonmerge.h); the test's
 * names and keys are plain words, so no quoting is needed.
 */
static void flatten(json_t *v, const char *path, int keyed, json_t *flat)
{
	const char *k;
	json_t *m;
	if (json_is_object(v)) {
		json_object_foreach(v, k, m) {
			char *p = sqlite3_mprintf("%s.%s", path, k);
			flatten(m, p, keyed, flat);
			sqlite3_free(p);
		}
	} else if (keyed && keyed_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			json_t *key = json_object_get(e, JSON_KEY);
			char *p = json_is_integer(key)
					  ? sqlite3_mprintf("%s[%s=%lld]", path, JSON_KEY,
							    (long long)json_integer_value(key))
					  : sqlite3_mprintf("%s[%s=%s]", path, JSON_KEY,
							    json_string_value(key));
			json_object_set_new(flat, p, json_string("(element)"));
			json_object_foreach(e, k, m) {
				if (strcmp(k, JSON_KEY) == 0)
					continue;
				char *pm = sqlite3_mprintf("%s.%s", p, k);
				flatten(m, pm, keyed, flat);
				sqlite3_free(pm);
			}
			sqlite3_free(p);
		}
	} else {
		json_object_set(flat, path, v);
	}
}

/* flatten() at path of the JSON text in the quote() literal q, a value of
 * column c of t (a JSON column); an empty map when it is not JSON text. */
static json_t *flat_at(const table_spec *t, int c, const char *path,
		       const char *q)
{
	json_t *flat = json_object();
	char *text = unquote(q);
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (v)
		flatten(v, path, t->cols[c].kind == 'k', flat);
	json_decref(v);
	free(text);
	return flat;
}

static json_t *flat_cell(const table_spec *t, int c, const char *q)
{
	return flat_at(t, c, t->cols[c].name, q);
}

/* 1 if JSON text val (or ABSENT) is what flat has at path. */
static int place_holds(json_t *flat, const char *path, const char *val)
{
	json_t *there = json_object_get(flat, path);
	if (!strcmp(val, ABSENT))
		return there == NULL;
	json_t *want = json_loads(val, JSON_DECODE_ANY, NULL);
	int same = there && want && json_equal(there, want);
	json_decref(want);
	return same;
}

/* 1 if path a is b or contains it (b goes on with '.' or '['). */
static int covers(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && (!b[n] || b[n] == '.' || b[n] == '[');
}

/* A random scalar (or a small array: one value too) for a JSON place. */
static json_t *jscalar(world *W)
{
	int r = rndn(W, 100);
	if (r < 50)
		return json_integer((json_int_t)W->nw * 100 + rndn(W, 100));
	if (r < 80) {
		char b[48];
		snprintf(b, sizeof b, "v%d-%s", W->nw,
			 WORDS[rndn(W, (int)(sizeof(WORDS) / sizeof(*WORDS)))]);
		return json_string(b);
	}
	if (r < 90)
		return json_null();
	return json_pack("[ii]", W->nw, rndn(W, 10));
}

static json_t *jline(world *W, const char *sku)
{
	return json_pack("{s:s, s:o, s:o}", JSON_KEY, sku, "qty",
			 json_integer((json_int_t)W->nw * 10 + rndn(W, 10)),
			 "note", jscalar(W));
}

/* One random edit of a JSON column's value, as the app would save it: a
 * member of doc or of its nested object n set or removed, or a BOM line
 * added, removed or changed. Returns the new value as a SQL literal. */
static char *json_edit(world *W, char kind, const char *before)
{
	char *text = unquote(before), *out, *lit;
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	int r = rndn(W, 100);
	char name[2] = {0, 0};
	free(text);
	if (kind == 'j') {
		if (!json_is_object(v)) {
			json_decref(v);
			v = json_object();
		}
		json_t *n = json_object_get(v, "n");
		if (r < 40 || (r >= 55 && !json_is_object(n) && r < 85)) {
			name[0] = "abcd"[rndn(W, 4)];
			json_object_set_new(v, name, jscalar(W));
		} else if (r < 55) {
			name[0] = "abcd"[rndn(W, 4)];
			json_object_del(v, name);
		} else if (r < 85 || !json_is_object(n)) {
			if (!json_is_object(n)) {
				n = json_object();
				json_object_set_new(v, "n", n);
			}
			name[0] = "xyz"[rndn(W, 3)];
			json_object_set_new(n, name, jscalar(W));
		} else {
			name[0] = "xyz"[rndn(W, 3)];
			json_object_del(n, name);
		}
	} else {
		if (!keyed_array(v)) {
			json_decref(v);
			v = json_array();
		}
		size_t n = json_array_size(v);
		char sku[8];
		snprintf(sku, sizeof sku, "S%d", rndn(W, 6));
		long at = -1;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(json_string_value(json_object_get(
					    json_array_get(v, i), JSON_KEY)), sku))
				at = (long)i;
		if (at < 0 && (r < 50 || n == 0)) {
			json_array_append_new(v, jline(W, sku));
		} else if (r < 50 || at < 0) {
			json_array_remove(v, at >= 0 ? (size_t)at : (size_t)rndn(W, (int)n));
		} else {
			json_t *e = json_array_get(v, (size_t)at);
			if (chance(W, 50))
				json_object_set_new(e, "qty",
						    json_integer((json_int_t)W->nw * 10 +
								 rndn(W, 10)));
			else
				json_object_set_new(e, "note", jscalar(W));
		}
	}
	out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); /* the app's own
								order */
	TU_CHECK(out != NULL, "out of memory");
	lit = sqlite3_mprintf("%Q", out);
	free(out);
	json_decref(v);
	W->njson++;
	return lit;
}

/* A SQL literal for a column of the given kind (sqlite3_free it). Mostly of
 * the column's own type, sometimes another type (affinity decides). */
static char *gen_value(world *W, char kind)
{
	int r = rndn(W, 100);
	if (json_kind(kind)) /* a new row's JSON: empty, or one edit */
		return r < 40 ? sqlite3_mprintf("%Q", kind == 'j' ? "{}" : "[]")
			      : json_edit(W, kind, NULL);
	if (kind == 'u') /* a UNIQUE code: few, so that users collide */
		return r < 10 ? sqlite3_mprintf("NULL")
			      : sqlite3_mprintf("'U%02d'", rndn(W, 16));
	if (r < 8)
		return sqlite3_mprintf("NULL");
	if (r < 14)
		return lit_edge(W);
	if (kind == 'a')
		kind = "irtb"[rndn(W, 4)];
	else if (r < 20)
		kind = "irtb"[rndn(W, 4)];
	switch (kind) {
	case 'i':
		return lit_int(W);
	case 'r':
		return lit_real(W);
	case 't':
		return lit_text(W);
	default:
		return lit_blob(W, chance(W, 2));
	}
}

/* ---- the model ------------------------------------------------------ */

static void add_write_at(world *W, int site, int op, int tbl,
			 const char *pkw, int col, const char *path,
			 const char *val);

static void add_write(world *W, int site, int op, int tbl, const char *pkw,
		      int col, const char *val)
{
	add_write_at(W, site, op, tbl, pkw, col, NULL, val);
}

static void add_write_at(world *W, int site, int op, int tbl,
			 const char *pkw, int col, const char *path,
			 const char *val)
{
	if (W->nw == W->capw) {
		W->capw = W->capw ? W->capw * 2 : 1024;
		W->w = realloc(W->w, (size_t)W->capw * sizeof(*W->w));
		TU_CHECK(W->w != NULL, "out of memory");
	}
	wrec *w = &W->w[W->nw];
	memset(w, 0, sizeof(*w));
	w->site = site;
	w->idx = ++W->count[site];
	if (site < NSITES)
		memcpy(w->seen, W->seen[site], sizeof(w->seen));
	w->seen[site] = w->idx - 1;
	w->op = op;
	w->tbl = tbl;
	w->pkw = strdup(pkw);
	w->col = col;
	w->val = val ? strdup(val) : NULL;
	w->path = path ? strdup(path) : NULL;
	w->order = W->nw++;
	TU_CHECK(w->pkw && (!val || w->val) && (!path || w->path),
		 "out of memory");
}

static void world_free(world *W)
{
	for (int i = 0; i < W->nw; i++) {
		free(W->w[i].pkw);
		free(W->w[i].val);
		free(W->w[i].path);
	}
	for (int i = 0; i < W->nl; i++) {
		free(W->l[i].pkw);
		free(W->l[i].val);
		free(W->l[i].path);
		json_decref(W->l[i].jv);
	}
	json_decref(W->seen_conflicts);
	free(W->w);
	free(W->l);
	free(W->fam);
	free(W->num);
}

/* The stored quote() values of the non-key columns of a row, or all NULL
 * pointers when the row does not exist. */
/* 1 if db has column i of t (the upgrade column only once upgraded). */
static int has_col(sqlite3 *db, const table_spec *t, int i)
{
	return !t->upcol || i != t->upcol ||
	       tu_int(db, 0, "SELECT count(*) FROM pragma_table_info('%q')"
			     " WHERE name = '%q'", t->name, t->cols[i].name) > 0;
}

static int read_row(sqlite3 *db, const table_spec *t, const char *pkw,
		    char *out[MAXCOLS])
{
	char *sel = sqlite3_mprintf("");
	int there[MAXCOLS];
	for (int i = 0; i < t->ncols; i++) {
		there[i] = has_col(db, t, i);
		char *s2 = there[i] ? sqlite3_mprintf("%s%squote(\"%w\")", sel,
						       i ? "," : "",
						       t->cols[i].name)
				    : sqlite3_mprintf("%s%sNULL", sel, i ? "," : "");
		sqlite3_free(sel);
		sel = s2;
	}
	char *sql = sqlite3_mprintf("SELECT %s FROM \"%w\" WHERE %s", sel,
				    t->name, pkw);
	sqlite3_stmt *st;
	TU_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
		 "read row: %s (%s)", sqlite3_errmsg(db), sql);
	int found = sqlite3_step(st) == SQLITE_ROW;
	for (int i = 0; i < t->ncols; i++) {
		out[i] = NULL;
		if (found && there[i]) { /* NULL pointer: no such column here */
			out[i] = strdup((const char *)sqlite3_column_text(st, i));
			TU_CHECK(out[i] != NULL, "out of memory");
		}
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	sqlite3_free(sel);
	return found;
}

static void free_row(char *v[MAXCOLS])
{
	for (int i = 0; i < MAXCOLS; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

/* WHERE clause of a key: "\"code\"='a' AND \"n\"=3". */
static char *make_pkw(const table_spec *t, char *const *lits)
{
	char *w = sqlite3_mprintf("");
	for (int i = 0; i < t->npk; i++) {
		char *w2 = sqlite3_mprintf("%s%s\"%w\"=%s", w, i ? " AND " : "",
					   t->pk[i], lits[i]);
		sqlite3_free(w);
		w = w2;
	}
	char *r = strdup(w);
	sqlite3_free(w);
	TU_CHECK(r != NULL, "out of memory");
	return r;
}

/* A key for table t: from a shared pool (so that users collide) or, for
 * INTEGER keys, from the site's own range or an existing local row. */
static char *pick_key(world *W, int s, int ti)
{
	const table_spec *t = &TABLES[ti];
	char *lits[2] = {NULL, NULL}, *pkw;
	sqlite3 *db = W->sites[s].app;
	if (ti == DOCS) { /* few documents: edited concurrently */
		lits[0] = sqlite3_mprintf("'d%d'", rndn(W, 4));
	} else if (t->keykind == KEY_TEXT) {
		static const char *pre[] = {"k", "sku-", "ключ-", "é"};
		lits[0] = sqlite3_mprintf("'%s%02d'", pre[rndn(W, 4)],
					  rndn(W, 12));
	} else if (t->keykind == KEY_COMP) {
		static const char *codes[] = {"a", "b", "ü", "日本"};
		lits[0] = sqlite3_mprintf("'%s'", codes[rndn(W, 4)]);
		lits[1] = sqlite3_mprintf("%d", rndn(W, 8));
	} else {
		int64_t n = tu_int(db, 0, "SELECT count(*) FROM orders");
		int64_t id = 0;
		if (n > 0 && !chance(W, 35))
			id = tu_int(db, 0, "SELECT id FROM orders ORDER BY id"
				    " LIMIT 1 OFFSET %d", rndn(W, (int)n));
		else
			id = (int64_t)(s + 1) * 1000000 + ++W->next_id[s];
		lits[0] = sqlite3_mprintf("%lld", (long long)id);
	}
	pkw = make_pkw(t, lits);
	sqlite3_free(lits[0]);
	sqlite3_free(lits[1]);
	return pkw;
}

/* A JSON column changed from before to after (quote() literals; before
 * NULL for a new row): one write per place that changed, ABSENT for a
 * place removed. */
static void record_json(world *W, int site, int op, int ti, const char *pkw,
			int col, const char *before, const char *after)
{
	const table_spec *t = &TABLES[ti];
	json_t *b = before ? flat_cell(t, col, before) : json_object();
	json_t *a = flat_cell(t, col, after);
	const char *path;
	json_t *v;
	json_object_foreach(a, path, v) {
		if (json_equal(v, json_object_get(b, path)))
			continue;
		char *txt = jtext(v);
		add_write_at(W, site, op, ti, pkw, col, path, txt);
		free(txt);
	}
	json_object_foreach(b, path, v)
		if (!json_object_get(a, path))
			add_write_at(W, site, op, ti, pkw, col, path, ABSENT);
	json_decref(a);
	json_decref(b);
}

/* Record the current stored values of the row as writes of `site`. */
static void record_row(world *W, int site, int op, int ti, const char *pkw,
		       sqlite3 *db, char *const before[MAXCOLS],
		       const int *touched)
{
	const table_spec *t = &TABLES[ti];
	char *after[MAXCOLS] = {0};
	TU_CHECK(read_row(db, t, pkw, after), "row %s %s vanished after write",
		 t->name, pkw);
	for (int i = 0; i < t->ncols; i++) {
		if ((touched && !touched[i]) || !after[i])
			continue;
		if (before && before[i] && !strcmp(before[i], after[i]))
			continue; /* same value and type: nothing changed */
		if (json_kind(t->cols[i].kind))
			record_json(W, site, op, ti, pkw, i,
				    before ? before[i] : NULL, after[i]);
		else
			add_write(W, site, op, ti, pkw, i, after[i]);
	}
	free_row(after);
}

/* 1 if t has a UNIQUE column (besides its key). */
static int has_unique(const table_spec *t)
{
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].kind == 'u')
			return 1;
	return 0;
}

/* Run an app write (sqlite3_free'd here) on table t. Returns 1 when done,
 * 0 when the database refused a UNIQUE value this PC already holds (the
 * app shows the user an error; nothing was written). Anything else fails
 * the test. */
static int app_write(world *W, sqlite3 *db, const table_spec *t, char *sql)
{
	TU_CHECK(sql != NULL, "out of memory");
	int rc = tu_exec_rc(db, "%s", sql);
	TU_CHECK(rc == SQLITE_OK || (rc == SQLITE_CONSTRAINT && has_unique(t)),
		 "op %d: app write failed: %s (%.300s)", W->op,
		 sqlite3_errmsg(db), sql);
	sqlite3_free(sql);
	return rc == SQLITE_OK;
}

static void do_insert(world *W, int s, int ti, const char *pkw,
		      const char *keyvals)
{
	const table_spec *t = &TABLES[ti];
	sqlite3 *db = W->sites[s].app;
	char *cols = sqlite3_mprintf(""), *vals = sqlite3_mprintf("%s", keyvals);
	for (int i = 0; i < t->ncols; i++) {
		if (!has_col(db, t, i))
			continue;
		char *v = gen_value(W, t->cols[i].kind);
		char *c2 = sqlite3_mprintf("%s,\"%w\"", cols, t->cols[i].name);
		char *v2 = sqlite3_mprintf("%s,%s", vals, v);
		sqlite3_free(v);
		sqlite3_free(cols);
		sqlite3_free(vals);
		cols = c2;
		vals = v2;
	}
	char *pkcols = sqlite3_mprintf("\"%w\"%s%s%s%s", t->pk[0],
				       t->npk > 1 ? ",\"" : "",
				       t->npk > 1 ? t->pk[1] : "",
				       t->npk > 1 ? "\"" : "", cols);
	if (app_write(W, db, t, sqlite3_mprintf("INSERT INTO \"%w\" (%s)"
						" VALUES (%s)", t->name, pkcols,
						vals)))
		record_row(W, s, OP_INS, ti, pkw, db, NULL, NULL);
	sqlite3_free(pkcols);
	sqlite3_free(cols);
	sqlite3_free(vals);
}

/* "'a',3" : the key values of pkw, in key order. */
static char *key_values(sqlite3 *db, const table_spec *t, const char *pkw)
{
	(void)db;
	char *out = sqlite3_mprintf("");
	const char *p = pkw;
	for (int i = 0; i < t->npk; i++) {
		/* pkw is "\"c\"=LIT AND \"d\"=LIT": take each LIT. */
		const char *eq = strchr(p, '=');
		const char *end = i + 1 < t->npk ? strstr(eq, " AND \"") : NULL;
		size_t n = end ? (size_t)(end - eq - 1) : strlen(eq + 1);
		char *o2 = sqlite3_mprintf("%s%s%.*s", out, i ? "," : "", (int)n,
					   eq + 1);
		sqlite3_free(out);
		out = o2;
		p = end ? end + 5 : eq + 1;
	}
	return out;
}

/* The column list "k1,k2,c1,..." and values of a whole row of t for a
 * REPLACE: the key's values, then new[i] where given, else before[i]. */
static void whole_row(sqlite3 *db, const table_spec *t, const char *pkw,
		      char *const before[MAXCOLS], char *const nv[MAXCOLS],
		      char **cols, char **vals)
{
	*cols = sqlite3_mprintf("\"%w\"%s%s%s", t->pk[0],
				t->npk > 1 ? ",\"" : "",
				t->npk > 1 ? t->pk[1] : "",
				t->npk > 1 ? "\"" : "");
	*vals = key_values(db, t, pkw);
	for (int i = 0; i < t->ncols; i++) {
		if (!before[i])
			continue; /* a column this PC does not have */
		char *c2 = sqlite3_mprintf("%s,\"%w\"", *cols, t->cols[i].name);
		char *v2 = sqlite3_mprintf("%s,%s", *vals, nv[i] ? nv[i] : before[i]);
		sqlite3_free(*cols);
		sqlite3_free(*vals);
		*cols = c2;
		*vals = v2;
	}
}

/*
 * Change some columns of an existing row, the way apps do: an UPDATE, an
 * INSERT OR REPLACE of the whole row (not on the table with a UNIQUE
 * column: a REPLACE there may delete another row, which this model does
 * not play), or an upsert; sometimes a rewrite with the values it already
 * has (no write at all). Only the columns whose stored value changed are
 * writes. Changing an order's label fires the app's trigger that stamps
 * its extra column (a write of this PC too), except under REPLACE (a
 * delete and an insert: no UPDATE trigger fires).
 */
static void do_update(world *W, int s, int ti, const char *pkw,
		      char *const before[MAXCOLS])
{
	const table_spec *t = &TABLES[ti];
	sqlite3 *db = W->sites[s].app;
	int touched[MAXCOLS] = {0}, any = 0, noop = chance(W, 5);
	int mode = rndn(W, 100); /* < 60 UPDATE, < 80 REPLACE, else upsert */
	char *nv[MAXCOLS] = {0};
	char *set = sqlite3_mprintf(""), *sql;
	if (mode >= 60 && mode < 80 && has_unique(t))
		mode = 0;
	while (!any)
		for (int i = 0; i < t->ncols; i++) {
			if (!before[i] || !chance(W, 40))
				continue;
			nv[i] = noop ? sqlite3_mprintf("%s", before[i])
				: json_kind(t->cols[i].kind)
					? json_edit(W, t->cols[i].kind, before[i])
					: gen_value(W, t->cols[i].kind);
			char *s2 = sqlite3_mprintf("%s%s\"%w\"=%s", set,
						   any ? "," : "",
						   t->cols[i].name, nv[i]);
			sqlite3_free(set);
			set = s2;
			touched[i] = any = 1;
		}
	if (mode < 60) {
		sql = sqlite3_mprintf("UPDATE \"%w\" SET %s WHERE %s", t->name,
				      set, pkw);
	} else {
		char *cols, *vals;
		whole_row(db, t, pkw, before, nv, &cols, &vals);
		if (mode < 80)
			sql = sqlite3_mprintf("INSERT OR REPLACE INTO \"%w\" (%s)"
					      " VALUES (%s)", t->name, cols, vals);
		else /* targeted at the key: another UNIQUE value is an error */
			sql = sqlite3_mprintf("INSERT INTO \"%w\" (%s) VALUES (%s)"
					      " ON CONFLICT(\"%w\"%s%s%s) DO UPDATE"
					      " SET %s", t->name, cols, vals,
					      t->pk[0], t->npk > 1 ? ",\"" : "",
					      t->npk > 1 ? t->pk[1] : "",
					      t->npk > 1 ? "\"" : "", set);
		sqlite3_free(cols);
		sqlite3_free(vals);
	}
	W->nnoops += noop;
	W->nreplaces += mode >= 60 && mode < 80;
	W->nupserts += mode >= 80;
	if (ti == 1 && touched[0] && (mode < 60 || mode >= 80))
		touched[3] = 1; /* orders.extra, stamped by the app's trigger */
	if (app_write(W, db, t, sql))
		record_row(W, s, OP_UPD, ti, pkw, db, before, touched);
	for (int i = 0; i < MAXCOLS; i++)
		sqlite3_free(nv[i]);
	sqlite3_free(set);
}

/* The app upgrade (a new column) on one more PC. */
static void do_upgrade(world *W, int s)
{
	if (W->upgraded[s])
		return;
	tu_exec(W->sites[s].app, "%s", UPGRADE_SQL);
	W->upgraded[s] = 1;
	W->nupgrades++;
}

/* items only: change the primary key (logged as delete + insert). */
static void do_rekey(world *W, int s, int ti, const char *pkw)
{
	const table_spec *t = &TABLES[ti];
	sqlite3 *db = W->sites[s].app;
	char *npkw = pick_key(W, s, ti);
	char *nk = key_values(db, t, npkw);
	if (!tu_int(db, 0, "SELECT count(*) FROM \"%w\" WHERE %s", t->name,
		    npkw)) {
		tu_exec(db, "UPDATE \"%w\" SET \"%w\"=%s WHERE %s", t->name,
			t->pk[0], nk, pkw);
		add_write(W, s, OP_DEL, ti, pkw, -1, NULL);
		record_row(W, s, OP_INS, ti, npkw, db, NULL, NULL);
	}
	sqlite3_free(nk);
	free(npkw);
}

static void do_write(world *W, int s)
{
	int ti = rndn(W, NTABLES);
	const table_spec *t = &TABLES[ti];
	sqlite3 *db = W->sites[s].app;
	char *pkw = pick_key(W, s, ti);
	char *before[MAXCOLS] = {0};
	if (!read_row(db, t, pkw, before)) {
		char *kv = key_values(db, t, pkw);
		do_insert(W, s, ti, pkw, kv);
		sqlite3_free(kv);
	} else if (chance(W, 72)) {
		do_update(W, s, ti, pkw, before);
	} else if (ti == 0 && chance(W, 15)) {
		do_rekey(W, s, ti, pkw);
	} else {
		tu_exec(db, "DELETE FROM \"%w\" WHERE %s", t->name, pkw);
		add_write(W, s, OP_DEL, ti, pkw, -1, NULL);
	}
	free_row(before);
	free(pkw);
}

static void do_sync(world *W, int s)
{
	tu_site *site = &W->sites[s];
	char *json = NULL;
	int rc = tu_site_sync_rc(site, &json);
	TU_CHECK(rc == 0, "op %d: sync of %s failed: %d %s (result %s)", W->op,
		 site->name, rc, hs_replica_errmsg(site->hs),
		 json ? json : "NULL");
	hs_free(json);
	W->nsyncs++;
	W->pushed[s] = W->count[s];
	for (int r = 0; r <= NSITES; r++)
		W->seen[s][r] = W->pushed[r];
}

/* ---- parents, children, numbers --------------------------------------- */

/* Grow an array of n elements of size sz to hold one more. */
static void *grow(void *p, int n, int *cap, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 256;
	p = realloc(p, (size_t)*cap * sz);
	TU_CHECK(p != NULL, "out of memory");
	return p;
}

/* A random row of a family table on db: its id (0 when the table is
 * empty) and label (malloc'd, or NULL). */
static int64_t pick_family(world *W, sqlite3 *db, const char *table,
			   char **label)
{
	int64_t n = tu_int(db, 0, "SELECT count(*) FROM \"%w\"", table);
	*label = NULL;
	if (n == 0)
		return 0;
	int64_t id = tu_int(db, 0, "SELECT id FROM \"%w\" ORDER BY id LIMIT 1"
			    " OFFSET %d", table, rndn(W, (int)n));
	*label = tu_text(db, "SELECT label FROM \"%w\" WHERE id = %lld", table,
			 (long long)id);
	return id;
}

/* Mark deleted the rows whose labels are in the space-separated list
 * of label indexes (group_concat of substr(label, 2)). */
static void mark_deleted(world *W, const char *list)
{
	for (const char *p = list; p && *p;) {
		char *end;
		long i = strtol(p, &end, 10);
		TU_CHECK(end != p && i >= 0 && i < W->nfam, "bad label list %s",
			 list);
		W->fam[i].deleted = 1;
		p = *end ? end + 1 : end;
	}
}

/* A new parent or child row by site s; the app leaves the id to SQLite
 * (largest + 1 on this PC, so PCs offline at once give the same ids).
 * Returns its label index. */
static int new_family_row(world *W, int s, int child, int64_t pid,
			  const char *plabel)
{
	sqlite3 *db = W->sites[s].app;
	char *note = lit_text(W);
	W->fam = grow(W->fam, W->nfam, &W->capfam, sizeof(*W->fam));
	int idx = W->nfam++;
	if (child)
		tu_exec(db, "INSERT INTO children (parent, plabel, label, note)"
			" VALUES (%lld, %Q, 'F%d', %s)", (long long)pid, plabel,
			idx, note);
	else
		tu_exec(db, "INSERT INTO parents (label, note) VALUES ('F%d',"
			" %s)", idx, note);
	W->fam[idx] = (famrow){child, s, sqlite3_last_insert_rowid(db), 0, 0};
	sqlite3_free(note);
	return idx;
}

/*
 * One app operation on the family tables: a new parent, a new child under
 * a parent this PC has, a note edited, a child moved to another parent, a
 * child deleted, or a parent deleted with its children (the app deletes
 * the children it has first: its foreign keys are not enforced, SQLite's
 * default).
 */
static void do_family(world *W, int s)
{
	sqlite3 *db = W->sites[s].app;
	int r = rndn(W, 100);
	char *plabel = NULL, *clabel = NULL, *note = NULL;
	int64_t pid = pick_family(W, db, "parents", &plabel);
	int64_t cid = pick_family(W, db, "children", &clabel);
	if (r < 25 || !pid) {
		new_family_row(W, s, 0, 0, NULL);
	} else if (r < 55) {
		new_family_row(W, s, 1, pid, plabel);
	} else if (r < 70 || (r < 94 && !cid)) {
		note = lit_text(W);
		tu_exec(db, "UPDATE parents SET note = %s WHERE id = %lld", note,
			(long long)pid);
	} else if (r < 82) {
		note = lit_text(W);
		tu_exec(db, "UPDATE children SET note = %s WHERE id = %lld", note,
			(long long)cid);
	} else if (r < 88) {
		tu_exec(db, "UPDATE children SET parent = %lld, plabel = %Q WHERE"
			" id = %lld", (long long)pid, plabel, (long long)cid);
	} else if (r < 94) {
		tu_exec(db, "DELETE FROM children WHERE id = %lld", (long long)cid);
		mark_deleted(W, clabel + 1);
	} else {
		char *kids = tu_text(db, "SELECT group_concat(substr(label, 2), ' ')"
				     " FROM children WHERE parent = %lld",
				     (long long)pid);
		tu_exec(db, "DELETE FROM children WHERE parent = %lld;"
			"DELETE FROM parents WHERE id = %lld", (long long)pid,
			(long long)pid);
		mark_deleted(W, kids);
		mark_deleted(W, plabel + 1);
		free(kids);
	}
	free(plabel);
	free(clabel);
	sqlite3_free(note);
}

/*
 * Site s draws the next number of the series and the app keeps it in
 * tickets. While s is offline the share is unmounted for the draw (the
 * master file renamed away): the number must come from the blocks s
 * holds, or the draw fails cleanly (HS_EIO or HS_EBUSY, nothing drawn).
 */
static void do_draw(world *W, int s)
{
	tu_site *site = &W->sites[s];
	/* (a master that is not a file cannot be unmounted here) */
	int offline = W->offline_until[s] != 0 && tu_master_is_file(W->master);
	char away[640];
	int64_t v = 0;
	snprintf(away, sizeof(away), "%s.away", W->master);
	TU_CHECK(!offline || rename(W->master, away) == 0,
		 "cannot move %s away", W->master);
	int rc = hs_replica_number_next(site->hs, NUMBER_SERIES, &v);
	TU_CHECK(!offline || rename(away, W->master) == 0,
		 "cannot move %s back", W->master);
	if (rc != HS_OK) {
		TU_CHECK(offline && (rc == HS_EIO || rc == HS_EBUSY),
			 "op %d: %s (%s) could not draw a number: %d %s", W->op,
			 site->name, offline ? "offline" : "online", rc,
			 hs_replica_errmsg(site->hs));
		W->exhausted++;
		return;
	}
	TU_CHECK(v > W->last_num[s], "op %d: %s drew %lld after %lld: a PC's"
		 " numbers must increase", W->op, site->name, (long long)v,
		 (long long)W->last_num[s]);
	W->last_num[s] = v;
	W->num = grow(W->num, W->nnum, &W->capnum, sizeof(*W->num));
	W->num[W->nnum++] = v;
	tu_exec(site->app, "INSERT INTO tickets (n, who) VALUES (%lld, %Q)",
		(long long)v, site->name);
}

/* ---- setup ---------------------------------------------------------- */

static int64_t random_skew(world *W)
{
	return (int64_t)rndn(W, 7200001) - 3600000;
}

/* Seed rows every install has (identical everywhere): recorded once, as
 * writes of the virtual SEED_WRITER that every site has seen. */
static void write_seed_rows(world *W)
{
	for (int s = 0; s < NSITES; s++)
		for (int k = 0; k < 6; k++)
			tu_exec(W->sites[s].app,
				"INSERT INTO items VALUES ('k%02d', 'seed item %d',"
				" %d, %d.5, X'%04x', NULL);"
				"INSERT INTO kv (k, v, flag, bin) VALUES"
				" ('k%02d', 'seed ☃ %d', 1, NULL)",
				k, k, k * 10, k, k, k, k);
	for (int k = 0; k < 6; k++) {
		char *lit = sqlite3_mprintf("'k%02d'", k);
		char *items_pkw = make_pkw(&TABLES[0], &lit);
		char *kv_pkw = make_pkw(&TABLES[3], &lit);
		record_row(W, SEED_WRITER, OP_INS, 0, items_pkw,
			   W->sites[0].app, NULL, NULL);
		record_row(W, SEED_WRITER, OP_INS, 3, kv_pkw, W->sites[0].app,
			   NULL, NULL);
		sqlite3_free(lit);
		free(items_pkw);
		free(kv_pkw);
	}
	W->pushed[SEED_WRITER] = W->count[SEED_WRITER];
	for (int s = 0; s < NSITES; s++)
		W->seen[s][SEED_WRITER] = W->count[SEED_WRITER];
}

static void setup(world *W)
{
	tu_master_setup(W->master, sizeof(W->master), W->dir);
	for (int s = 0; s < NSITES; s++) {
		char name[16];
		snprintf(name, sizeof(name), "user%d", s);
		tu_site_open(&W->sites[s], W->dir, name,
			     s == 0 ? 0 : random_skew(W));
		for (int t = 0; t < NTABLES; t++)
			tu_exec(W->sites[s].app, "%s", TABLES[t].ddl);
		for (int t = 0; t < NFAMILY_DDL; t++)
			tu_exec(W->sites[s].app, "%s", FAMILY_DDL[t]);
		tu_exec(W->sites[s].app, "%s", APP_TRIGGERS);
	}
	write_seed_rows(W);
	/* Each user also has a few rows of their own before init. */
	for (int s = 0; s < NSITES; s++)
		for (int k = 0; k < 3; k++) {
			char *lit = sqlite3_mprintf("%d", (s + 1) * 1000000 +
							  ++W->next_id[s]);
			char *pkw = make_pkw(&TABLES[1], &lit);
			do_insert(W, s, 1, pkw, lit);
			sqlite3_free(lit);
			free(pkw);
		}
	for (int s = 0; s < NSITES; s++) {
		tu_now_ms += rndn(W, 1000);
		tu_site_init(&W->sites[s], W->master, NULL);
	}
	/* the office's JSON columns, reaching the master with user0's first
	 * sync (edits before that merge as whole values) */
	TU_CHECK(hs_replica_merge_set(W->sites[0].hs, "docs", "doc",
				      HS_MERGE_JSON, NULL) == HS_OK &&
			 hs_replica_merge_set(W->sites[0].hs, "docs", "bom",
					      HS_MERGE_JSON, JSON_KEY) == HS_OK,
		 "hubsync merge: %s", hs_replica_errmsg(W->sites[0].hs));
}

/* ---- checks --------------------------------------------------------- */

static int table_index(const char *name)
{
	for (int t = 0; t < NTABLES; t++)
		if (!strcmp(TABLES[t].name, name))
			return t;
	return -1;
}

static int col_index(const table_spec *t, const char *name)
{
	for (int i = 0; name && i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return i;
	return -1;
}

/* A new entry of W->l for the row pkw of table tbl, column col. */
static loser *new_loser(world *W, int tbl, const char *pkw, int col)
{
	if (W->nl == W->capl) {
		W->capl = W->capl ? W->capl * 2 : 256;
		W->l = realloc(W->l, (size_t)W->capl * sizeof(*W->l));
		TU_CHECK(W->l != NULL, "out of memory");
	}
	loser *l = &W->l[W->nl++];
	memset(l, 0, sizeof(*l));
	l->tbl = tbl;
	l->pkw = strdup(pkw);
	l->col = col;
	TU_CHECK(l->pkw != NULL, "out of memory");
	return l;
}

static void add_loser(world *W, int tbl, const char *pkw, int col,
		      const char *val)
{
	for (int i = 0; i < W->nl; i++) /* every replica lists the same */
		if (W->l[i].tbl == tbl && W->l[i].col == col && !W->l[i].path &&
		    !strcmp(W->l[i].pkw, pkw) &&
		    (val ? W->l[i].val && !strcmp(W->l[i].val, val)
			 : !W->l[i].val))
			return;
	loser *l = new_loser(W, tbl, pkw, col);
	l->val = val ? strdup(val) : NULL;
	TU_CHECK(!val || l->val, "out of memory");
}

/* A losing value of JSON column col at path (q: its quote() literal of
 * JSON text, NULL when it is not there), kept flattened in jv. */
static void add_json_loser(world *W, int tbl, const char *pkw, int col,
			   const char *path, const char *q)
{
	loser *l = new_loser(W, tbl, pkw, col);
	l->path = strdup(path);
	l->jv = flat_at(&TABLES[tbl], col, path, q);
	TU_CHECK(l->path != NULL, "out of memory");
}

/* The losing side of one conflict object, added to W->l. A whole-row
 * conflict's losing side may be an object {col: value} (a row), or null
 * (the deleted row). */
static void collect_conflict(world *W, json_t *c)
{
	const char *tname = json_string_value(json_object_get(c, "table"));
	const char *winner = json_string_value(json_object_get(c, "winner"));
	json_t *pk = json_object_get(c, "pk");
	json_t *colj = json_object_get(c, "column");
	int ti = tname ? table_index(tname) : -1;
	TU_CHECK(ti >= 0 && winner && json_is_object(pk),
		 "malformed conflict: %s", json_dumps(c, JSON_COMPACT));
	const table_spec *t = &TABLES[ti];
	char *lits[2] = {NULL, NULL};
	for (int i = 0; i < t->npk; i++) {
		json_t *v = json_object_get(pk, t->pk[i]);
		TU_CHECK(v != NULL, "conflict pk lacks %s", t->pk[i]);
		lits[i] = tu_json_to_quote(v);
	}
	char *pkw = make_pkw(t, lits);
	free(lits[0]);
	free(lits[1]);
	json_t *lose = json_object_get(c, strcmp(winner, "local") == 0
						  ? "remote_value"
						  : "local_value");
	/* JSON columns: the places of the losing value, once per conflict
	 * (every replica lists it) */
	char idk[32];
	snprintf(idk, sizeof idk, "%lld",
		 (long long)json_integer_value(json_object_get(c, "id")));
	int first = !json_object_get(W->seen_conflicts, idk);
	json_object_set_new(W->seen_conflicts, idk, json_true());
	if (json_is_string(colj)) {
		const char *cn = json_string_value(colj);
		int ci = col_index(t, cn);
		if (ci >= 0) {
			char *q = tu_json_to_quote(lose);
			add_loser(W, ti, pkw, ci, q);
			if (first && json_kind(t->cols[ci].kind))
				add_json_loser(W, ti, pkw, ci, cn, q);
			free(q);
		}
		for (int j = 0; ci < 0 && first && j < t->ncols; j++) {
			if (!json_kind(t->cols[j].kind) || !covers(t->cols[j].name, cn))
				continue;
			/* a place inside the JSON: its JSON text, or null */
			char *q = json_is_string(lose) ? tu_json_to_quote(lose) : NULL;
			add_json_loser(W, ti, pkw, j, cn, q);
			free(q);
			W->npath_losers++;
		}
	} else if (json_is_object(lose) &&
		   !json_object_get(lose, "$blob")) {
		const char *k;
		json_t *v;
		add_loser(W, ti, pkw, -1, "row");
		json_object_foreach(lose, k, v) {
			int ci = col_index(t, k);
			if (ci >= 0) {
				char *q = tu_json_to_quote(v);
				add_loser(W, ti, pkw, ci, q);
				if (first && json_kind(t->cols[ci].kind))
					add_json_loser(W, ti, pkw, ci, k, q);
				free(q);
			}
		}
	} else {
		add_loser(W, ti, pkw, -1, NULL); /* the deleted side lost */
	}
	free(pkw);
}

/* A whole-row conflict on a family table: mark the losing row's label
 * as listed. */
static void collect_family_conflict(world *W, json_t *c)
{
	const char *winner = json_string_value(json_object_get(c, "winner"));
	json_t *lose = json_object_get(c, winner && !strcmp(winner, "local")
						  ? "remote_value"
						  : "local_value");
	const char *label = json_string_value(json_object_get(lose, "label"));
	if (!json_is_null(json_object_get(c, "column")) || !label ||
	    label[0] != 'F')
		return;
	int i = atoi(label + 1);
	TU_CHECK(i >= 0 && i < W->nfam, "conflict on an unknown label: %s",
		 label);
	W->fam[i].listed = 1;
}

static int is_family_table(const char *name)
{
	return name && (!strcmp(name, "parents") || !strcmp(name, "children") ||
			!strcmp(name, "tickets"));
}

static void collect_conflicts(world *W)
{
	for (int s = 0; s < NSITES; s++) {
		json_t *a = tu_site_conflicts(&W->sites[s], 1);
		size_t i;
		json_t *c;
		json_array_foreach(a, i, c) {
			if (is_family_table(json_string_value(json_object_get(
				    c, "table"))))
				collect_family_conflict(W, c);
			else
				collect_conflict(W, c);
		}
		if (s == 0)
			W->nconflicts = (int)json_array_size(a);
		json_decref(a);
	}
}

/* 1 if writer w->site had seen write o when making w. */
static int had_seen(const wrec *w, const wrec *o)
{
	return w->seen[o->site] >= o->idx;
}

static int listed_as_loser(const world *W, const wrec *w)
{
	for (int i = 0; i < W->nl; i++) {
		const loser *l = &W->l[i];
		if (l->tbl != w->tbl || strcmp(l->pkw, w->pkw) != 0)
			continue;
		if (w->path) { /* a place whose losing value held it */
			if (l->path && l->col == w->col && covers(l->path, w->path) &&
			    place_holds(l->jv, w->path, w->val))
				return 1;
			continue;
		}
		if (l->path)
			continue;
		if (w->col >= 0 && l->col == w->col && l->val &&
		    !strcmp(l->val, w->val))
			return 1;
		if (w->col < 0 && l->col < 0 && !l->val)
			return 1;
	}
	return 0;
}

static int overwritten_by_seer(const world *W, const wrec *w)
{
	for (int i = 0; i < W->nw; i++) {
		const wrec *o = &W->w[i];
		if (o == w || o->tbl != w->tbl || strcmp(o->pkw, w->pkw) != 0)
			continue;
		if (!had_seen(o, w))
			continue;
		if (w->col >= 0 && (o->op == OP_DEL ||
				    (o->col == w->col &&
				     (!w->path || !o->path || covers(o->path, w->path)))))
			return 1;
		if (w->col < 0 && o->op == OP_INS)
			return 1;
	}
	return 0;
}

/* An equal value written concurrently to the same cell is the same value
 * to the merge ("equal values are not a conflict"): w is accounted for when
 * such a twin was overwritten by a writer who had seen the twin. */
static int twin_overwritten(const world *W, const wrec *w)
{
	for (int i = 0; w->col >= 0 && i < W->nw; i++) {
		const wrec *o = &W->w[i];
		if (o != w && o->tbl == w->tbl && o->col == w->col &&
		    !strcmp(o->pkw, w->pkw) && !strcmp(o->val, w->val) &&
		    !o->path == !w->path && (!w->path || !strcmp(o->path, w->path)) &&
		    overwritten_by_seer(W, o))
			return 1;
	}
	return 0;
}

/*
 * A delete whose row exists in the end is still honoured when the row there
 * is an independent re-creation of the key: an insert by a writer who had
 * not seen the delete, which the deleter had not seen either, and every
 * final value of the row comes from a write the deleter had not seen. (The
 * deleter removed *its* row; the key was then created afresh by someone
 * who knew nothing of it - a delete of a row that never reached the master
 * has nothing to act on.) Values the deleter had seen coming back would be
 * a deleted row resurrecting, and fail.
 */
/* 1 if every place of the final JSON of column c of w's row comes from a
 * write w's writer had not seen. */
static int json_from_unseen(const world *W, const wrec *w, int c,
			    const char *final)
{
	json_t *flat = flat_cell(&TABLES[w->tbl], c, final), *v;
	const char *path;
	int all = 1;
	json_object_foreach(flat, path, v) {
		int found = 0;
		for (int i = 0; i < W->nw && !found; i++) {
			const wrec *o = &W->w[i];
			found = o->tbl == w->tbl && o->col == c && o->path &&
				!strcmp(o->path, path) && !strcmp(o->pkw, w->pkw) &&
				!had_seen(w, o) && place_holds(flat, path, o->val);
		}
		all &= found;
	}
	json_decref(flat);
	return all;
}

static int recreated_independently(const world *W, const wrec *w,
				   char *const final[MAXCOLS])
{
	const table_spec *t = &TABLES[w->tbl];
	int fresh = 0;
	for (int i = 0; i < W->nw && !fresh; i++) {
		const wrec *o = &W->w[i];
		fresh = o->op == OP_INS && o->tbl == w->tbl &&
			!strcmp(o->pkw, w->pkw) && !had_seen(o, w) &&
			!had_seen(w, o);
	}
	for (int c = 0; fresh && c < t->ncols; c++) {
		int from_unseen = 0, written = 0;
		if (json_kind(t->cols[c].kind)) {
			fresh = json_from_unseen(W, w, c, final[c]);
			continue;
		}
		for (int i = 0; i < W->nw && !from_unseen; i++) {
			const wrec *o = &W->w[i];
			int here = o->tbl == w->tbl && o->col == c &&
				   !strcmp(o->pkw, w->pkw);
			written |= here && strcmp(o->val, "NULL") != 0;
			from_unseen = here && !strcmp(o->val, final[c]) &&
				      !had_seen(w, o);
		}
		/* a column nobody ever wrote a value to in this row (the
		 * upgrade's column, inserted by an old PC; the deleter's own
		 * insert may have written NULL to it) holds its default */
		fresh = from_unseen || (!written && !strcmp(final[c], "NULL"));
	}
	return fresh;
}

static void print_write(const char *tag, const wrec *w)
{
	fprintf(stderr, "    %s #%d %s%d.%d %s %s [%s] col=%s val=%.70s seen=[",
		tag, w->order, w->site == SEED_WRITER ? "seed" : "user",
		w->site, w->idx,
		w->op == OP_INS ? "INS" : w->op == OP_UPD ? "UPD" : "DEL",
		TABLES[w->tbl].name, w->pkw,
		w->path ? w->path
			: w->col >= 0 ? TABLES[w->tbl].cols[w->col].name : "-",
		w->val ? w->val : "-");
	for (int r = 0; r <= NSITES; r++)
		fprintf(stderr, "%s%d", r ? "," : "", w->seen[r]);
	fprintf(stderr, "]\n");
}

static void report_loss(const world *W, const wrec *w, const char *final)
{
	fprintf(stderr, "LOST WRITE (seed %" PRIu64 "):\n", W->seed);
	print_write("lost", w);
	fprintf(stderr, "  final value on master: %.70s\n",
		final ? final : "(row absent)");
	fprintf(stderr, "  history of the row:\n");
	for (int i = 0; i < W->nw; i++) {
		const wrec *o = &W->w[i];
		if (o->tbl == w->tbl && !strcmp(o->pkw, w->pkw))
			print_write("", o);
	}
	fprintf(stderr, "  conflict losers listed for the row:\n");
	for (int i = 0; i < W->nl; i++) {
		const loser *l = &W->l[i];
		if (l->tbl == w->tbl && !strcmp(l->pkw, w->pkw)) {
			char *jv = l->path ? jtext(l->jv) : NULL;
			fprintf(stderr, "    col=%s val=%.200s\n",
				l->path ? l->path
				: l->col >= 0 ? TABLES[l->tbl].cols[l->col].name
					      : "(row)",
				jv ? jv : l->val ? l->val : "(deleted)");
			free(jv);
		}
	}
}

static void check_no_loss(world *W, sqlite3 *master)
{
	int lost = 0, in_final = 0, overwritten = 0, as_loser = 0,
	    recreated = 0, twins = 0;
	collect_conflicts(W);
	for (int i = 0; i < W->nw && lost < 5; i++) {
		const wrec *w = &W->w[i];
		char *row[MAXCOLS] = {0};
		int exists = read_row(master, &TABLES[w->tbl], w->pkw, row);
		const char *final = exists && w->col >= 0 ? row[w->col] : NULL;
		int there;
		if (w->path) {
			json_t *flat = flat_cell(&TABLES[w->tbl], w->col, final);
			there = place_holds(flat, w->path, w->val);
			json_decref(flat);
		} else {
			there = w->col >= 0 ? (final && !strcmp(final, w->val))
					    : !exists;
		}
		if (there)
			in_final++;
		else if (overwritten_by_seer(W, w))
			overwritten++;
		else if (listed_as_loser(W, w))
			as_loser++;
		else if (w->col < 0 && recreated_independently(W, w, row))
			recreated++;
		else if (twin_overwritten(W, w))
			twins++;
		else {
			report_loss(W, w, exists ? (final ? final : "(row)")
						 : NULL);
			lost++;
		}
		free_row(row);
	}
	TU_CHECK(lost == 0, "seed %" PRIu64 ": %d write(s) silently lost"
		 " (details above)", W->seed, lost);
	printf("  JSON edits %d, conflicts on a path inside JSON %d\n",
	       W->njson, W->npath_losers);
	printf("  writes %d: in final state %d, overwritten by a writer who"
	       " had seen them %d, conflict losers %d, deletes of a key"
	       " re-created independently %d, equal to a write that was"
	       " overwritten by a writer who had seen it %d\n",
	       W->nw, in_final, overwritten, as_loser, recreated, twins);
}

static int is_family_table(const char *name);

/* The tables hubsync syncs here: the app's item_log is each PC's own. */
static int synced_table(const char *name)
{
	return table_index(name) >= 0 || is_family_table(name);
}

static void check_converged(world *W, sqlite3 *master)
{
	char **tables = tu_user_tables(W->sites[0].app);
	for (int s = 0; s < NSITES; s++) {
		for (char **p = tables; *p; p++) {
			char *why = NULL;
			if (synced_table(*p) &&
			    tu_table_diff(W->sites[s].app, master, *p, "synced_at",
					  &why))
				tu_fail("seed %" PRIu64 ": %s differs from the"
					" master: %s", W->seed, W->sites[s].name,
					why);
		}
		tu_check_integrity(W->sites[s].path);
	}
	tu_strv_free(tables);
	/* The master must hold every synced table (a replica-only table
	 * would make the diff above vacuous for it), and not the local log.
	 * Another kind of master is compared through sites[0]: the replicas
	 * agree with each other. */
	if (tu_master_is_file(W->master)) {
		tu_check_integrity(W->master);
		tables = tu_user_tables(master);
		int n = 0;
		for (char **p = tables; *p; p++) {
			n += table_index(*p) >= 0;
			TU_CHECK(strcmp(*p, "item_log") != 0, "the local item_log"
				 " reached the master");
		}
		tu_strv_free(tables);
		TU_CHECK(n == NTABLES, "master holds %d of the %d tables", n,
			 NTABLES);
	}
	/* every PC's log saw at least the seed items of its own inserts */
	for (int s = 0; s < NSITES; s++)
		TU_CHECK(tu_int(W->sites[s].app, 0, "SELECT count(*) FROM item_log")
				 >= 6, "%s: the app's trigger did not log",
			 W->sites[s].name);
}

/* PRAGMA foreign_key_check finds nothing in db. */
static void check_fk_clean(world *W, sqlite3 *db, const char *who)
{
	char *bad = tu_text(db, "SELECT group_concat(\"table\" || ' rowid ' ||"
				" rowid || ' -> ' || parent, '; ') FROM"
				" pragma_foreign_key_check");
	TU_CHECK(!bad, "seed %" PRIu64 ": %s: PRAGMA foreign_key_check: %.500s",
		 W->seed, who, bad);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Numbers: none drawn twice (across all PCs), and the tickets table holds
 * exactly the numbers drawn, under the numbers themselves. */
static void check_numbers(world *W, sqlite3 *master)
{
	int64_t *v = malloc(sizeof(*v) * (size_t)(W->nnum + 1));
	TU_CHECK(v != NULL, "out of memory");
	memcpy(v, W->num, sizeof(*v) * (size_t)W->nnum);
	qsort(v, (size_t)W->nnum, sizeof(*v), cmp_i64);
	for (int i = 1; i < W->nnum; i++)
		TU_CHECK(v[i] != v[i - 1], "seed %" PRIu64 ": number %lld"
			 " drawn twice", W->seed, (long long)v[i]);
	int64_t rows = tu_int(master, -1, "SELECT count(*) FROM tickets");
	TU_CHECK(rows == W->nnum, "seed %" PRIu64 ": %d numbers drawn, %lld"
		 " tickets", W->seed, W->nnum, (long long)rows);
	for (int i = 0; i < W->nnum; i++)
		TU_CHECK(tu_int(master, 0, "SELECT count(*) FROM tickets WHERE"
				" n = %lld", (long long)v[i]) == 1,
			 "seed %" PRIu64 ": ticket %lld is missing", W->seed,
			 (long long)v[i]);
	printf("  numbers: %d drawn, all distinct, largest %lld; %d offline"
	       " draws refused (out of numbers)\n", W->nnum,
	       (long long)(W->nnum ? v[W->nnum - 1] : 0), W->exhausted);
	free(v);
}

/*
 * Parents and children: foreign keys clean everywhere; every child under
 * the parent whose label it carries; no label twice; every row made is in
 * the master (under any id), or was deleted by some PC's app, or is the
 * losing row of a conflict. collect_conflicts must have run.
 */
static void check_family(world *W, sqlite3 *master)
{
	int present = 0, deleted = 0, listed = 0, rekeyed = 0, lost = 0;
	char *bad = tu_text(master, "SELECT group_concat(c.label || ' (id ' ||"
			    " c.id || ') -> ' || coalesce(p.label, 'nothing') ||"
			    " ' (made under ' || c.plabel || ')', ', ') FROM"
			    " children c LEFT JOIN parents p ON p.id = c.parent"
			    " WHERE p.label IS NOT c.plabel");
	TU_CHECK(!bad, "seed %" PRIu64 ": children under another parent:"
		 " %.500s", W->seed, bad);
	for (int t = 0; t < 2; t++) {
		const char *tbl = t ? "children" : "parents";
		bad = tu_text(master, "SELECT group_concat(label, ', ') FROM"
			      " (SELECT label FROM \"%w\" GROUP BY label HAVING"
			      " count(*) > 1)", tbl);
		TU_CHECK(!bad, "seed %" PRIu64 ": %s rows twice: %.500s",
			 W->seed, tbl, bad);
	}
	check_fk_clean(W, master, "master");
	for (int s = 0; s < NSITES; s++)
		check_fk_clean(W, W->sites[s].app, W->sites[s].name);
	for (int i = 0; i < W->nfam; i++) {
		const famrow *f = &W->fam[i];
		int64_t id = tu_int(master, 0, "SELECT id FROM \"%w\" WHERE"
				    " label = 'F%d'",
				    f->child ? "children" : "parents", i);
		if (id) {
			present++;
			rekeyed += id != f->id;
		} else if (f->deleted) {
			deleted++;
		} else if (f->listed) {
			listed++;
		} else if (lost++ < 5) {
			fprintf(stderr, "LOST ROW (seed %" PRIu64 "): %s F%d made"
				" by %s as id %lld\n", W->seed,
				f->child ? "child" : "parent", i,
				W->sites[f->site].name, (long long)f->id);
		}
	}
	TU_CHECK(lost == 0, "seed %" PRIu64 ": %d parent or child row(s) lost",
		 W->seed, lost);
	TU_CHECK(rekeyed > 0 || W->nops < 1000, "seed %" PRIu64 ": no row"
		 " made offline got a new id: the test did not make ids collide",
		 W->seed);
	printf("  family rows %d: in the master %d (%d under a new id), deleted"
	       " by an app %d, dropped with a deleted parent and listed as"
	       " conflicts %d\n", W->nfam, present, rekeyed,
	       deleted, listed);
}

/* ---- one run -------------------------------------------------------- */

static void shuffle(world *W, int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = rndn(W, i + 1), t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return dflt;
	uint64_t n = strtoull(v, &end, 10);
	if (*end) {
		fprintf(stderr, "test_converge: %s must be a number, not '%s'\n",
			name, v);
		exit(2);
	}
	return n;
}

static void run_seed(uint64_t seed, int nops)
{
	world *W = calloc(1, sizeof(*W));
	struct timespec t0, t1;
	TU_CHECK(W != NULL, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	W->seed = seed;
	W->rng = seed;
	W->nops = nops;
	W->seen_conflicts = json_object();
	tu_now_ms = INT64_C(1736935200000);
	tu_set_context("seed=%" PRIu64 " ops=%d; replay: HS_SEED=%" PRIu64
		       " HS_CONVERGE_OPS=%d ./test_converge", seed, nops, seed,
		       nops);
	printf("seed %" PRIu64 " (%d ops)\n", seed, nops);
	fflush(stdout);
	W->dir = tu_tmpdir("converge");
	setup(W);

	for (W->op = 0; W->op < nops; W->op++) {
		int s = rndn(W, NSITES);
		int r = rndn(W, 1000);
		tu_now_ms += chance(W, 25) ? 0 : rndn(W, 3000);
		if (W->offline_until[s] && W->op >= W->offline_until[s])
			W->offline_until[s] = 0;
		if (r < 110) {
			if (!W->offline_until[s])
				do_sync(W, s);
		} else if (r < 118) {
			W->offline_until[s] = W->op + 100 + rndn(W, 400);
		} else if (r < 121) {
			W->sites[s].offset_ms = random_skew(W);
		} else if (r < 123) {
			do_upgrade(W, s);
		} else if (r < 141) {
			do_draw(W, s);
		} else if (r < 341) {
			do_family(W, s);
		} else {
			do_write(W, s);
		}
	}

	/* Everyone upgraded and online; two rounds of syncs in random
	 * order. */
	for (int s = 0; s < NSITES; s++)
		do_upgrade(W, s);
	int order[NSITES];
	for (int s = 0; s < NSITES; s++)
		order[s] = s;
	for (int round = 0; round < 2; round++) {
		shuffle(W, order, NSITES);
		for (int i = 0; i < NSITES; i++) {
			tu_now_ms += rndn(W, 1000);
			do_sync(W, order[i]);
		}
	}

	sqlite3 *master = tu_master_view(W->master, &W->sites[0]);
	check_converged(W, master);
	check_no_loss(W, master);
	check_family(W, master);
	check_numbers(W, master);
	tu_master_view_done(W->master, master);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  app upgrades %d, REPLACEs %d, upserts %d, no-op rewrites %d\n",
	       W->nupgrades, W->nreplaces, W->nupserts, W->nnoops);
	printf("  ok: %d writes, %d syncs, %d conflicts listed, %.1fs\n", W->nw,
	       W->nsyncs, W->nconflicts,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	fflush(stdout);
	for (int s = 0; s < NSITES; s++)
		tu_site_close(&W->sites[s]);
	world_free(W);
	free(W);
	tu_cleanup();
}

int main(int argc, char **argv)
{
	uint64_t seed = env_u64("HS_SEED", 0);
	uint64_t nseeds = env_u64("HS_CONVERGE_SEEDS", 0);
	int nops = (int)env_u64("HS_CONVERGE_OPS", 2000);
	if (argc > 2) {
		fprintf(stderr, "usage: %s [SEED]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		char *end;
		seed = strtoull(argv[1], &end, 10);
		if (*end || !*argv[1]) {
			fprintf(stderr, "test_converge: SEED must be a number\n");
			return 2;
		}
	}
	if (!nseeds && env_u64("HS_SOAK", 0))
		nseeds = 30;
	if (!nseeds)
		nseeds = seed ? 1 : 3; /* default: seeds 1, 2, 3 */
	if (!seed)
		seed = 1;
	if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
		hs_os_setenv("TMPDIR", "/dev/shm"); /* see the top comment */
	for (uint64_t i = 0; i < nseeds; i++)
		run_seed(seed + i, nops);
	printf("all %" PRIu64 " seed(s) converged with no silent loss\n",
	       nseeds);
	return 0;
}
