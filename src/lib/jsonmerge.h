/*
 * jsonmerge.h - the three-way merge of JSON values (DESIGN.md 3.9): two
 * edits of one JSON cell, made from the same earlier value (the base),
 * combined member by member. Pure functions on jansson values: no SQL and
 * no clocks (the caller says which edit is the later one). The rules are at
 * the top of jsonmerge.c; merge.c applies them to columns set to `json`.
 *
 * Paths name a place inside a column's value, starting with the column's
 * name (the `column` of a conflict):
 *
 *   pricing                  the whole value
 *   pricing.margin           member "margin" of the object
 *   pricing["unit cost"]     a member whose name is not made only of
 *                            A-Z a-z 0-9 _ $ - (JSON-quoted)
 *   bom[sku=A-1]             the element of an array of objects whose key
 *                            member ("sku", set with --key) is "A-1"
 *   bom[sku=A-1].qty         a member of that element
 *   bom[sku="12"]            a string key value that is not a plain word
 *                            (a letter or _, then A-Z a-z 0-9 _ . $ -),
 *                            JSON-quoted
 *   bom[line=7]              an integer key value
 *
 * Canonical text (hs_jm_canonical): what the merge writes, the same bytes
 * wherever it is made: no whitespace, object members sorted by their
 * UTF-8 bytes, strings with only " \ and control characters escaped
 * (\b \f \n \r \t, else \u00XX; everything else as UTF-8), integers in
 * decimal, reals in the shortest form that reads back as the same double
 * (%.15g, %.16g or %.17g) with ".0" added when that form looks like an
 * integer (41250.00 is written 41250.0, 0.30 is 0.3), so a real stays a
 * real.
 */
#ifndef HS_JSONMERGE_H
#define HS_JSONMERGE_H

#include <jansson.h>
#include <stddef.h>

/* One path changed on both sides to different values. */
typedef struct hs_jm_conflict {
	char *path;         /* malloc'd, starting with the column */
	json_t *incoming;   /* that side's value there; NULL: absent */
	json_t *current;
} hs_jm_conflict;

typedef struct hs_jm_result {
	json_t *merged;     /* the merged value (may share parts with the
			       inputs: do not modify it) */
	hs_jm_conflict *conflicts; /* in path order of discovery */
	size_t nconflicts;
} hs_jm_result;

/*
 * Merge incoming and current, two edits of base. incoming_wins: the
 * incoming edit is the later one (it wins the paths both sides changed).
 * key: the member that identifies elements of arrays of objects (NULL:
 * every array is one value). column: the first part of the paths. The
 * inputs are not modified. Returns 0, or -1 when out of memory (out is
 * cleared).
 */
int hs_jm_merge(json_t *base, json_t *incoming, json_t *current,
		int incoming_wins, const char *key, const char *column,
		hs_jm_result *out);
void hs_jm_result_clear(hs_jm_result *r);

/* 1 if the only conflict is about the whole value (path == column): the
 * two sides have nothing to merge (scalars, type changes at the top). */
int hs_jm_whole_conflict(const hs_jm_result *r, const char *column);

/* Parse n bytes of text as a JSON value (any type at the top); NULL when
 * it is not valid JSON (or holds duplicate member names, a NUL character,
 * or a number out of range). */
json_t *hs_jm_parse(const char *text, size_t n);

/* The canonical text of v (malloc'd), NULL when out of memory. */
char *hs_jm_canonical(json_t *v);

/*
 * Set the place named by path (a path without the column: ".margin",
 * "[sku=A-1].qty") in *root to value (a new reference is taken), or remove
 * it when value is NULL. Missing objects on the way are created; a missing
 * array element is appended when it is the place itself. *root may be
 * replaced (an empty path). Returns 0, or -1 when the path is malformed or
 * does not fit the value (a member of something that is not an object, an
 * element inside an element that is gone).
 */
int hs_jm_path_set(json_t **root, const char *path, json_t *value);

#endif
