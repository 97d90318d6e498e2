/*
 * format.h - turning the library's JSON documents into text for people:
 * aligned tables and JSON values as short readable strings.
 *
 * Every --json output is the library's document printed unchanged; these
 * helpers are only for the human output.
 */
#ifndef HS_CLI_FORMAT_H
#define HS_CLI_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* A table of text cells printed with aligned columns. */
typedef struct cli_table cli_table;

/*
 * A table with ncols columns named by headers. align holds one letter per
 * column: 'l' left, 'r' right (numbers).
 */
cli_table *cli_table_new(int ncols, const char *const *headers,
			 const char *align);
/* Append a row of ncols cells (copied; NULL is shown as "-"). */
void cli_table_add(cli_table *t, const char *const *cells);
/* Print the header line and every row; columns two spaces apart. */
void cli_table_print(const cli_table *t, FILE *f);
void cli_table_free(cli_table *t);

/*
 * A JSON value as one short line, in a newly allocated string (free()):
 * strings as they are, null as "-", numbers and booleans as JSON writes
 * them, objects and arrays as compact JSON. Cut to at most max characters
 * (UTF-8 aware, "..." marks the cut); max <= 0 means no limit.
 */
char *cli_json_text(const json_t *v, int max);

/* s (owned) made one line (newlines and tabs become spaces) and cut to at
 * most max characters as described above; returns the string to use. */
char *cli_shorten(char *s, int max);

/* As cli_json_text, but strings quoted and escaped as in JSON and null as
 * "null": for showing values whose exact content matters (conflicts). */
char *cli_json_literal(const json_t *v, int max);

/*
 * A list for people, newly allocated (free()): an array as its items joined
 * by ", " ("customers, quotes"), an object as "key=value" pairs joined the
 * same way ("name=Acme, price=12.5"); each item as cli_json_text with
 * item_max. "-" when empty or neither.
 */
char *cli_json_join(const json_t *v, int item_max);

/* Append item to the list *text (heap, *len bytes so far, "" at first),
 * after ", " unless it is the first. */
void cli_list_add(char **text, size_t *len, const char *item);

/* obj[key] as an integer (0 when absent or not a number). */
long long cli_json_int(const json_t *obj, const char *key);

/* The sum of the integer members of obj ({"quotes": 5, "parts": 2} -> 7). */
long long cli_json_sum(const json_t *obj);

/* obj[key] as a string, or NULL when absent or not a string. */
const char *cli_json_str(const json_t *obj, const char *key);

/*
 * Parse a document returned by the library. On failure reports "hubsync
 * CMD: the library returned malformed JSON ..." and returns NULL.
 */
json_t *cli_json_parse(const char *cmd, const char *doc);

#endif
