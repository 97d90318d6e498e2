/*
 * format.c - aligned text tables and short renderings of JSON values.
 */
#include "format.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"

struct cli_table {
	int ncols;
	char *align;
	char **cells; /* row-major; row 0 is the header */
	size_t nrows, cap;
};

/* Width of a UTF-8 string in characters (continuation bytes not counted). */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

cli_table *cli_table_new(int ncols, const char *const *headers,
			 const char *align)
{
	cli_table *t = cli_xmalloc(sizeof(*t));

	t->ncols = ncols;
	t->align = cli_xstrdup(align);
	t->cells = NULL;
	t->nrows = t->cap = 0;
	cli_table_add(t, headers);
	return t;
}

void cli_table_add(cli_table *t, const char *const *cells)
{
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = cli_xrealloc(t->cells,
					t->cap * (size_t)t->ncols * sizeof(char *));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
			cli_xstrdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void cli_table_print(const cli_table *t, FILE *f)
{
	size_t *width = cli_xmalloc((size_t)t->ncols * sizeof(size_t));
	size_t r;
	int c;

	for (c = 0; c < t->ncols; c++) {
		width[c] = 0;
		for (r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * (size_t)t->ncols +
						       (size_t)c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * (size_t)t->ncols +
						    (size_t)c];
			size_t pad = width[c] - text_width(cell);
			int last = c == t->ncols - 1;

			if (c > 0)
				fputs("  ", f);
			if (t->align[c] == 'r')
				fprintf(f, "%*s%s", (int)pad, "", cell);
			else
				fprintf(f, "%s%*s", cell, last ? 0 : (int)pad,
					"");
		}
		fputc('\n', f);
	}
	free(width);
}

void cli_table_free(cli_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->align);
	free(t);
}

/* Cut s (owned) to max characters, marking the cut with "...". Newlines and
 * tabs become spaces so that a value stays on one line. */
char *cli_shorten(char *s, int max)
{
	size_t chars = 0, i;

	for (i = 0; s[i]; i++) {
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			s[i] = ' ';
	}
	if (max <= 0 || text_width(s) <= (size_t)max)
		return s;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 &&
		    chars++ == (size_t)(max > 3 ? max - 3 : 0))
			break;
	}
	s = cli_xrealloc(s, i + 4);
	memcpy(s + i, "...", 4);
	return s;
}

static char *dump(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *copy;

	if (!text)
		return cli_xstrdup("?");
	copy = cli_xstrdup(text);
	free(text);
	return copy;
}

char *cli_json_text(const json_t *v, int max)
{
	if (!v || json_is_null(v))
		return cli_xstrdup("-");
	if (json_is_string(v))
		return cli_shorten(cli_xstrdup(json_string_value(v)), max);
	return cli_shorten(dump(v), max);
}

char *cli_json_literal(const json_t *v, int max)
{
	if (!v)
		return cli_xstrdup("null");
	return cli_shorten(dump(v), max);
}

void cli_list_add(char **text, size_t *len, const char *item)
{
	size_t n = strlen(item) + 3;

	*text = cli_xrealloc(*text, *len + n);
	*len += (size_t)snprintf(*text + *len, n, "%s%s", *len ? ", " : "",
				 item);
}

char *cli_json_join(const json_t *v, int item_max)
{
	char *text = cli_xstrdup("");
	size_t len = 0, i;
	const char *key;
	json_t *item;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item) {
			char *t = cli_json_text(item, item_max);
			size_t n = strlen(key) + strlen(t) + 2;
			char *pair = cli_xmalloc(n);

			snprintf(pair, n, "%s=%s", key, t);
			cli_list_add(&text, &len, pair);
			free(pair);
			free(t);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			char *t = cli_json_text(item, item_max);
			cli_list_add(&text, &len, t);
			free(t);
		}
	}
	if (len == 0) {
		free(text);
		return cli_xstrdup("-");
	}
	return text;
}

long long cli_json_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

long long cli_json_sum(const json_t *obj)
{
	const char *key;
	json_t *v;
	long long n = 0;

	json_object_foreach((json_t *)obj, key, v) {
		if (json_is_integer(v))
			n += (long long)json_integer_value(v);
	}
	return n;
}

const char *cli_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *cli_json_parse(const char *cmd, const char *doc)
{
	json_error_t err;
	json_t *root = json_loads(doc ? doc : "", JSON_DECODE_ANY, &err);

	if (!root)
		cli_fail(cmd, "the library returned malformed JSON (%s at "
			 "line %d); rerun with --json and report it",
			 err.text, err.line);
	return root;
}
