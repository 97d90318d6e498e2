/*
 * jsonmerge.c - the three-way merge of JSON values (jsonmerge.h has the
 * paths and the canonical text).
 *
 * The rules, applied at every place of the value, from the top down, with
 * "absent" a value of its own (a member or element that is not there):
 *
 *  1. both sides hold the same value: that value;
 *  2. one side holds the base's value (it did not change it): the other
 *     side's value (a member or element it removed stays removed);
 *  3. both changed it, differently:
 *     - two objects: member by member (the base's members, or none when
 *       the base was not an object there: two objects added on both sides
 *       are merged too);
 *     - two arrays of objects keyed by the key member (each element an
 *       object whose key is a string or an integer, no key twice): element
 *       by element, matched by key: elements added, removed or changed on
 *       either side are kept alongside the other side's changes;
 *     - anything else (scalars, arrays without a key, a type change, a
 *       member removed on one side and changed on the other): the later
 *       edit's value, and the other value is a conflict at that path.
 *
 * Order of a merged keyed array: the order of the side that reordered its
 * elements (relative to the base; the later edit's when both or neither
 * did), with the elements only the other side has placed after the element
 * that precedes them on that side (so the result does not depend on which
 * side is the incoming one). An order is not a
 * value: a lost reordering is not listed as a conflict.
 */
#include "jsonmerge.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jm {
	const char *key;
	int incoming_wins;
	hs_jm_result *out;
	hs_buf path;
	int oom;
} jm;

static json_t *merge3(jm *j, json_t *b, json_t *a, json_t *c);

/* ---- canonical text ------------------------------------------------- */

static void put_string(hs_buf *o, const char *s, size_t n)
{
	hs_buf_puts(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': hs_buf_puts(o, "\\\""); break;
		case '\\': hs_buf_puts(o, "\\\\"); break;
		case '\b': hs_buf_puts(o, "\\b"); break;
		case '\f': hs_buf_puts(o, "\\f"); break;
		case '\n': hs_buf_puts(o, "\\n"); break;
		case '\r': hs_buf_puts(o, "\\r"); break;
		case '\t': hs_buf_puts(o, "\\t"); break;
		default:
			if (ch < 0x20)
				hs_buf_printf(o, "\\u%04x", ch);
			else
				hs_buf_putn(o, s + i, 1);
		}
	}
	hs_buf_puts(o, "\"");
}

/* The shortest %g form of d that reads back as d, looking like a real. */
static void put_real(hs_buf *o, double d)
{
	char s[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, d);
		for (char *p = s; *p; p++)
			if (*p == ',')
				*p = '.'; /* a locale's decimal comma */
		if (strtod(s, NULL) == d)
			break;
	}
	hs_buf_puts(o, s);
	if (!strpbrk(s, ".eEni"))
		hs_buf_puts(o, ".0");
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The member names of o, sorted (malloc'd array, borrowed strings). */
static const char **sorted_keys(json_t *o, size_t *n)
{
	const char **k = malloc(hs_count((int)json_object_size(o)) * sizeof(*k));
	const char *name;
	json_t *v;
	*n = 0;
	if (!k)
		return NULL;
	json_object_foreach(o, name, v)
		k[(*n)++] = name;
	qsort(k, *n, sizeof(*k), cmp_str);
	return k;
}

static void put_value(hs_buf *o, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n;
		const char **k = sorted_keys(v, &n);
		if (!k) {
			o->oom = 1;
			return;
		}
		hs_buf_puts(o, "{");
		for (size_t i = 0; i < n; i++) {
			if (i)
				hs_buf_puts(o, ",");
			put_string(o, k[i], strlen(k[i]));
			hs_buf_puts(o, ":");
			put_value(o, json_object_get(v, k[i]));
		}
		hs_buf_puts(o, "}");
		free(k);
		break;
	}
	case JSON_ARRAY:
		hs_buf_puts(o, "[");
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				hs_buf_puts(o, ",");
			put_value(o, json_array_get(v, i));
		}
		hs_buf_puts(o, "]");
		break;
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		hs_buf_printf(o, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(o, json_real_value(v));
		break;
	case JSON_TRUE:
		hs_buf_puts(o, "true");
		break;
	case JSON_FALSE:
		hs_buf_puts(o, "false");
		break;
	default:
		hs_buf_puts(o, "null");
	}
}

char *hs_jm_canonical(json_t *v)
{
	hs_buf o;
	hs_buf_init(&o);
	put_value(&o, v);
	if (o.oom) {
		hs_buf_free(&o);
		return NULL;
	}
	return hs_buf_take(&o);
}

json_t *hs_jm_parse(const char *text, size_t n)
{
	return text ? json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				 NULL)
		    : NULL;
}

/* ---- paths ------------------------------------------------------------ */

/* A member name written bare after a dot. */
static int plain_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_$-", *s))
			return 0;
	return 1;
}

/* A key value written bare: a letter or _, then name characters or dots. */
static int plain_word(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (*s != '.' && !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
					 "LMNOPQRSTUVWXYZ0123456789_$-", *s))
			return 0;
	return 1;
}

static void path_member(hs_buf *p, const char *name)
{
	if (plain_name(name)) {
		hs_buf_printf(p, ".%s", name);
	} else {
		hs_buf_puts(p, "[");
		put_string(p, name, strlen(name));
		hs_buf_puts(p, "]");
	}
}

static void path_element(hs_buf *p, const char *key, json_t *kv)
{
	hs_buf_puts(p, "[");
	if (plain_name(key))
		hs_buf_puts(p, key);
	else
		put_string(p, key, strlen(key));
	hs_buf_puts(p, "=");
	if (json_is_integer(kv))
		hs_buf_printf(p, "%lld", (long long)json_integer_value(kv));
	else if (plain_word(json_string_value(kv)))
		hs_buf_puts(p, json_string_value(kv));
	else
		put_string(p, json_string_value(kv), json_string_length(kv));
	hs_buf_puts(p, "]");
}

static void path_cut(hs_buf *p, size_t len)
{
	if (p->s && len <= p->len) {
		p->len = len;
		p->s[len] = 0;
	}
}

/* ---- the merge -------------------------------------------------------- */

static int same(json_t *x, json_t *y)
{
	return x && y ? json_equal(x, y) : x == y;
}

static json_t *ref(json_t *v) { return v ? json_incref(v) : NULL; }

/* The key value of element e (a string or integer), or NULL. */
static json_t *key_of(const jm *j, json_t *e)
{
	json_t *k = json_is_object(e) ? json_object_get(e, j->key) : NULL;
	return json_is_string(k) || json_is_integer(k) ? k : NULL;
}

/* 1 if a is an array of objects told apart by the key member. */
static int keyed(const jm *j, json_t *a)
{
	if (!j->key || !json_is_array(a))
		return 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *k = key_of(j, json_array_get(a, i));
		if (!k)
			return 0;
		for (size_t h = 0; h < i; h++)
			if (json_equal(k, key_of(j, json_array_get(a, h))))
				return 0;
	}
	return 1;
}

/* The element of keyed array a with key value k, or NULL. */
static json_t *element(const jm *j, json_t *a, json_t *k)
{
	for (size_t i = 0; a && i < json_array_size(a); i++)
		if (json_equal(key_of(j, json_array_get(a, i)), k))
			return json_array_get(a, i);
	return NULL;
}

/* A path changed on both sides: the later edit's value, the other listed. */
static json_t *conflict(jm *j, json_t *a, json_t *c)
{
	hs_jm_result *r = j->out;
	hs_jm_conflict *v = realloc(r->conflicts,
				    (r->nconflicts + 1) * sizeof(*v));
	char *path = j->path.oom ? NULL : hs_strdup(j->path.s);
	if (!v || !path) {
		free(path);
		if (v)
			r->conflicts = v;
		j->oom = 1;
		return NULL;
	}
	r->conflicts = v;
	v[r->nconflicts++] = (hs_jm_conflict){path, ref(a), ref(c)};
	return ref(j->incoming_wins ? a : c);
}

static json_t *merge_objects(jm *j, json_t *b, json_t *a, json_t *c)
{
	json_t *o = json_object(), *all = json_object();
	size_t n = 0, at = j->path.len;
	const char **k = NULL, *name;
	json_t *v;
	/* every member name of the three, once, in sorted order */
	if (o && all) {
		json_object_update(all, a);
		json_object_update(all, c);
		if (b)
			json_object_update(all, b);
		k = sorted_keys(all, &n);
	}
	if (!k) {
		j->oom = 1;
		n = 0;
	}
	for (size_t i = 0; i < n && !j->oom; i++) {
		name = k[i];
		path_member(&j->path, name);
		v = merge3(j, b ? json_object_get(b, name) : NULL,
			   json_object_get(a, name), json_object_get(c, name));
		path_cut(&j->path, at);
		if (v && json_object_set_new(o, name, v) != 0)
			j->oom = 1;
	}
	free(k);
	json_decref(all);
	if (j->oom) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* 1 if x lists the elements it shares with base in another order. */
static int reordered(const jm *j, json_t *base, json_t *x)
{
	size_t ib = 0, nb = base ? json_array_size(base) : 0;
	for (size_t i = 0; i < json_array_size(x); i++) {
		json_t *k = key_of(j, json_array_get(x, i));
		if (!element(j, base, k))
			continue;
		while (ib < nb && !element(j, x, key_of(j, json_array_get(base, ib))))
			ib++;
		if (ib == nb || !json_equal(k, key_of(j, json_array_get(base, ib))))
			return 1;
		ib++;
	}
	return 0;
}

/* Position of the element with key k in the array being built, or -1. */
static long position(const jm *j, json_t *out, json_t *k)
{
	for (size_t i = 0; i < json_array_size(out); i++)
		if (json_equal(key_of(j, json_array_get(out, i)), k))
			return (long)i;
	return -1;
}

/* Append (or insert at *at) the merged element of key k to out. */
static void place(jm *j, json_t *out, json_t *b, json_t *a, json_t *c,
		  json_t *k, long *at)
{
	size_t len = j->path.len;
	path_element(&j->path, j->key, k);
	json_t *v = merge3(j, element(j, b, k), element(j, a, k), element(j, c, k));
	path_cut(&j->path, len);
	if (!v)
		return; /* removed (or out of memory: j->oom) */
	if (json_array_insert_new(out, (size_t)*at, v) != 0)
		j->oom = 1;
	(*at)++;
}

static json_t *merge_arrays(jm *j, json_t *b, json_t *a, json_t *c)
{
	json_t *out = json_array();
	int ra = reordered(j, b, a), rc = reordered(j, b, c);
	/* first: the side whose order is kept (the one that reordered, else
	 * the later edit); second: the other */
	json_t *first = ra != rc ? (ra ? a : c) : j->incoming_wins ? a : c;
	json_t *second = first == a ? c : a;
	long at = 0;
	if (!out) {
		j->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(first) && !j->oom; i++) {
		at = (long)json_array_size(out);
		place(j, out, b, a, c, key_of(j, json_array_get(first, i)), &at);
	}
	/* what only the other side has, after its predecessor there */
	at = 0;
	for (size_t i = 0; i < json_array_size(second) && !j->oom; i++) {
		json_t *k = key_of(j, json_array_get(second, i));
		long p = position(j, out, k);
		if (p >= 0)
			at = p + 1;
		else if (!element(j, first, k))
			place(j, out, b, a, c, k, &at);
	}
	if (j->oom) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The merged value at the current path; NULL: absent (or j->oom). */
static json_t *merge3(jm *j, json_t *b, json_t *a, json_t *c)
{
	if (j->oom)
		return NULL;
	if (same(a, c) || same(b, a))
		return ref(c);
	if (same(b, c))
		return ref(a);
	if (json_is_object(a) && json_is_object(c))
		return merge_objects(j, json_is_object(b) ? b : NULL, a, c);
	if (keyed(j, a) && keyed(j, c))
		return merge_arrays(j, keyed(j, b) ? b : NULL, a, c);
	return conflict(j, a, c);
}

int hs_jm_merge(json_t *base, json_t *incoming, json_t *current,
		int incoming_wins, const char *key, const char *column,
		hs_jm_result *out)
{
	jm j;
	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	j.key = key;
	j.incoming_wins = incoming_wins;
	j.out = out;
	hs_buf_init(&j.path);
	hs_buf_puts(&j.path, column);
	out->merged = merge3(&j, base, incoming, current);
	if (j.path.oom)
		j.oom = 1;
	hs_buf_free(&j.path);
	if (j.oom) {
		hs_jm_result_clear(out);
		return -1;
	}
	return 0;
}

void hs_jm_result_clear(hs_jm_result *r)
{
	for (size_t i = 0; i < r->nconflicts; i++) {
		free(r->conflicts[i].path);
		json_decref(r->conflicts[i].incoming);
		json_decref(r->conflicts[i].current);
	}
	free(r->conflicts);
	json_decref(r->merged);
	memset(r, 0, sizeof(*r));
}

int hs_jm_whole_conflict(const hs_jm_result *r, const char *column)
{
	/* a conflict at the top is the only one there can be */
	return r->nconflicts == 1 && strcmp(r->conflicts[0].path, column) == 0;
}

/* ---- setting a path (resolve) ------------------------------------------ */

/* One step of a path: a member, or an element (key member = value). */
typedef struct step {
	char *name;   /* the member, or the key member */
	json_t *kv;   /* an element's key value; NULL: a member */
} step;

/* A JSON string at *p (a '"'), decoded into a malloc'd C string. */
static char *read_quoted(const char **p)
{
	const char *s = *p + 1;
	while (*s && *s != '"')
		s += s[0] == '\\' && s[1] ? 2 : 1;
	if (*s != '"')
		return NULL;
	json_t *v = json_loadb(*p, (size_t)(s + 1 - *p), JSON_DECODE_ANY, NULL);
	char *out = json_is_string(v) ? hs_strdup(json_string_value(v)) : NULL;
	json_decref(v);
	*p = s + 1;
	return out;
}

/* Characters up to the first not in set, malloc'd (NULL when none). */
static char *read_span(const char **p, const char *set)
{
	size_t n = strspn(*p, set);
	char *out = n ? malloc(n + 1) : NULL;
	if (out) {
		memcpy(out, *p, n);
		out[n] = 0;
	}
	*p += n;
	return out;
}

#define NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$-"

/* The next step of the path at *p; 0, or -1 when malformed. */
static int read_step(const char **p, step *st)
{
	memset(st, 0, sizeof(*st));
	if (**p == '.') {
		(*p)++;
		st->name = read_span(p, NAME_CHARS);
		return st->name ? 0 : -1;
	}
	if (**p != '[')
		return -1;
	(*p)++;
	int quoted = **p == '"'; /* ["member"] or ["key"=value] */
	st->name = quoted ? read_quoted(p) : read_span(p, NAME_CHARS);
	if (!st->name)
		return -1;
	if (**p == '=') {
		(*p)++;
		if (**p == '"') {
			char *s = read_quoted(p);
			st->kv = s ? json_string(s) : NULL;
			free(s);
		} else if ((**p >= '0' && **p <= '9') || **p == '-') {
			char *end;
			long long n = strtoll(*p, &end, 10);
			st->kv = end > *p ? json_integer(n) : NULL;
			*p = end;
		} else {
			char *s = read_span(p, NAME_CHARS ".");
			st->kv = s ? json_string(s) : NULL;
			free(s);
		}
		if (!st->kv)
			return -1;
	} else if (!quoted) {
		return -1; /* [name] without a value is not a path */
	}
	if (**p != ']')
		return -1;
	(*p)++;
	return 0;
}

static void step_clear(step *st)
{
	free(st->name);
	json_decref(st->kv);
	memset(st, 0, sizeof(*st));
}

/* Index of the element of array a whose member name equals kv, or -1. */
static long find_element(json_t *a, const char *name, json_t *kv)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i);
		json_t *k = json_is_object(e) ? json_object_get(e, name) : NULL;
		if (k && json_equal(k, kv))
			return (long)i;
	}
	return -1;
}

int hs_jm_path_set(json_t **root, const char *path, json_t *value)
{
	json_t *at = NULL;  /* the container the next step goes into */
	const char *p = path;
	step st;
	int rc = 0;
	if (!*p) { /* the whole value */
		json_decref(*root);
		*root = value ? json_incref(value) : json_null();
		return 0;
	}
	at = *root;
	while (rc == 0 && *p) {
		if (read_step(&p, &st) != 0) {
			step_clear(&st);
			return -1;
		}
		int last = *p == 0;
		if (!st.kv) { /* a member */
			if (!json_is_object(at)) {
				rc = -1;
			} else if (last) {
				rc = value ? json_object_set(at, st.name, value)
					   : (json_object_del(at, st.name), 0);
			} else {
				json_t *next = json_object_get(at, st.name);
				if (!next && !value) {
					step_clear(&st);
					return 0; /* nothing there to remove */
				}
				if (!next) {
					next = json_object();
					rc = json_object_set_new(at, st.name, next);
				}
				at = next;
			}
		} else { /* an element */
			long i = json_is_array(at) ? find_element(at, st.name, st.kv)
						   : -2;
			if (i == -2) {
				rc = -1;
			} else if (last && value) {
				rc = i >= 0 ? json_array_set(at, (size_t)i, value)
					    : json_array_append(at, value);
			} else if (last) {
				rc = i >= 0 ? json_array_remove(at, (size_t)i) : 0;
			} else if (i < 0) {
				rc = value ? -1 : 0; /* the element is gone */
				step_clear(&st);
				return rc;
			} else {
				at = json_array_get(at, (size_t)i);
			}
		}
		step_clear(&st);
	}
	return rc;
}
