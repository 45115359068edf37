/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/output.h"
#include "common/time-util.h"

struct Output {
	FILE *f;
	OutputFormat format;
	OutputMeta meta;
	char *name;
	bool list;
	const OutputColumn *columns;
	bool streaming;
	bool no_header;
	bool no_meta; /* $FMT_NOMETA=1: no meta object, row fields or lines */

	json_object *meta_json;
	json_object *records; /* array of buffered records */
	size_t n_added;
	bool started; /* streaming: header/meta written */
	char **csv_keys;
	size_t n_csv_keys;
};

static const char *const format_names[_OUTPUT_FORMAT_MAX] = {
	[OUTPUT_TABLE] = "table", [OUTPUT_JSON] = "json", [OUTPUT_JSONL] = "jsonl",
	[OUTPUT_PAIRS] = "pairs", [OUTPUT_CSV] = "csv",   [OUTPUT_JSON_SEQ] = "json-seq",
};

const char *output_format_to_string(OutputFormat f)
{
	return f >= 0 && f < _OUTPUT_FORMAT_MAX ? format_names[f] : "invalid";
}

OutputFormat output_format_from_string(const char *s)
{
	if (!s)
		return _OUTPUT_FORMAT_INVALID;
	for (int i = 0; i < _OUTPUT_FORMAT_MAX; i++)
		if (strcasecmp(s, format_names[i]) == 0)
			return (OutputFormat)i;
	return _OUTPUT_FORMAT_INVALID;
}

bool output_format_is_json(OutputFormat f)
{
	return f == OUTPUT_JSON || f == OUTPUT_JSONL || f == OUTPUT_JSON_SEQ;
}

bool output_no_meta(void)
{
	const char *e = secure_getenv("FMT_NOMETA");

	return e && streq(e, "1");
}

const char *output_format_time(uint64_t usec, bool with_zone, char *buf, size_t size)
{
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    strftime(buf, size, with_zone ? "%Y-%m-%d %H:%M:%S%z" : "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		if (size > 0)
			buf[0] = 0;
	}
	return buf;
}

int output_meta_to_json(const OutputMeta *meta, json_object **ret)
{
	json_object *o;
	char host[256] = {}, tbuf[64];
	uint64_t t = meta->time_usec ? meta->time_usec : now_usec(CLOCK_REALTIME);
	const char *h = meta->host;

	if (!h) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			strcpy(host, "localhost");
		h = host;
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	if (json_object_object_add(o, "api_level", json_object_new_int64(meta->api_level)) < 0 ||
	    json_object_object_add(o, "version", json_object_new_string(strempty(meta->version))) < 0 ||
	    json_object_object_add(o, "host", json_object_new_string(h)) < 0 ||
	    json_object_object_add(o, "time_epoch", json_object_new_int64((int64_t)(t / USEC_PER_SEC))) <
		    0 ||
	    json_object_object_add(o, "time",
				   json_object_new_string(output_format_time(t, true, tbuf, sizeof(tbuf)))) <
		    0) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

int output_new(Output **ret, FILE *f, OutputFormat format, const OutputMeta *meta, const char *name,
	       bool list, const OutputColumn *columns)
{
	_cleanup_(output_freep) Output *o = NULL;
	int r;

	if (format < 0 || format >= _OUTPUT_FORMAT_MAX || isempty(name) || !meta)
		return -EINVAL;
	if (format == OUTPUT_TABLE && !columns)
		return -EINVAL;

	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->f = f;
	o->format = format;
	o->meta = *meta;
	o->list = list;
	o->columns = columns;
	o->no_meta = output_no_meta();
	o->name = strdup(name);
	o->records = json_object_new_array();
	if (!o->name || !o->records)
		return -ENOMEM;
	r = output_meta_to_json(meta, &o->meta_json);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

void output_set_streaming(Output *o, bool streaming)
{
	o->streaming = streaming;
}

void output_set_no_header(Output *o, bool no_header)
{
	o->no_header = no_header;
}

Output *output_free(Output *o)
{
	if (!o)
		return NULL;
	json_object_put(o->meta_json);
	json_object_put(o->records);
	for (size_t i = 0; i < o->n_csv_keys; i++)
		free(o->csv_keys[i]);
	free(o->csv_keys);
	free(o->name);
	free(o);
	return NULL;
}

/* --- helpers ------------------------------------------------------------ */

/* Follow a path as flatten() writes it ("last_error.pec", "items[0].x") into @o. */
static json_object *lookup_path(json_object *o, const char *path)
{
	char buf[256];
	char *save = NULL, *tok;

	if (strlen(path) >= sizeof(buf))
		return NULL;
	strcpy(buf, path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		char *bracket = strchr(tok, '[');

		if (bracket)
			*bracket = 0;
		if (*tok) {
			json_object *v = NULL;

			if (!json_object_is_type(o, json_type_object) ||
			    !json_object_object_get_ex(o, tok, &v))
				return NULL;
			o = v;
		}
		while (bracket && o) {
			char *end;
			unsigned long i = strtoul(bracket + 1, &end, 10);

			if (*end != ']' || !json_object_is_type(o, json_type_array) ||
			    i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, i);
			bracket = end[1] == '[' ? end + 1 : NULL;
			if (!bracket && end[1])
				return NULL;
		}
	}
	return o;
}

typedef int (*leaf_fn)(const char *path, json_object *leaf, void *userdata);

static int flatten(json_object *v, const char *prefix, leaf_fn fn, void *userdata)
{
	char path[512];
	int r;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach (v, k, child) {
			if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k) >=
			    (int)sizeof(path))
				return -ENAMETOOLONG;
			r = flatten(child, path, fn, userdata);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (snprintf(path, sizeof(path), "%s[%zu]", prefix, i) >= (int)sizeof(path))
				return -ENAMETOOLONG;
			r = flatten(json_object_array_get_idx(v, i), path, fn, userdata);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return fn(prefix, v, userdata);
}

char *output_csv_quote(const char *s)
{
	size_t n = 2;
	char *q, *p;

	for (const char *c = s; *c; c++)
		n += *c == '"' ? 2 : 1;
	q = malloc(n + 1);
	if (!q)
		return NULL;
	p = q;
	*p++ = '"';
	for (const char *c = s; *c; c++) {
		if (*c == '"')
			*p++ = '"';
		*p++ = *c;
	}
	*p++ = '"';
	*p = 0;
	return q;
}

/* Characters the pairs format escapes with a backslash and a letter. */
static char pairs_escape(char c)
{
	static const char map[][2] = {
		{ '"', '"' }, { '$', '$' },  { '`', '`' },  { '\\', '\\' }, { '\a', 'a' }, { '\b', 'b' },
		{ 033, 'e' }, { '\f', 'f' }, { '\n', 'n' }, { '\r', 'r' },  { '\t', 't' }, { '\v', 'v' },
	};

	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (map[i][0] == c)
			return map[i][1];
	return 0;
}

char *output_pairs_quote(const char *s)
{
	char *q, *p;

	/* At most 4 characters per byte ("\xhh"), the quotes and the NUL. */
	q = malloc(strlen(s) * 4 + 3);
	if (!q)
		return NULL;
	p = q;
	*p++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char e = pairs_escape((char)*c);

		if (e) {
			*p++ = '\\';
			*p++ = e;
		} else if (*c < 0x20 || *c >= 0x7f)
			p += sprintf(p, "\\x%02x", *c);
		else
			*p++ = (char)*c;
	}
	*p++ = '"';
	*p = 0;
	return q;
}

/* A leaf as plain text: strings as they are, everything else as its JSON literal. */
static const char *leaf_text(json_object *v)
{
	if (!v)
		return "";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* --- pairs --------------------------------------------------------------- */

static int pairs_leaf(const char *path, json_object *v, void *userdata)
{
	FILE *f = userdata;

	if (!v || json_object_is_type(v, json_type_null))
		return 0; /* no value: no line */
	if (json_object_is_type(v, json_type_string)) {
		_cleanup_free_ char *q = output_pairs_quote(json_object_get_string(v));

		if (!q)
			return -ENOMEM;
		fprintf(f, "%s=%s\n", path, q);
	} else
		fprintf(f, "%s=%s\n", path, leaf_text(v));
	return 0;
}

static int pairs_record(Output *o, json_object *record, size_t index)
{
	char prefix[256];

	if (o->list)
		(void)snprintf(prefix, sizeof(prefix), "%s[%zu]", o->name, index);
	else
		(void)snprintf(prefix, sizeof(prefix), "%s", o->name);
	if (!json_object_is_type(record, json_type_object) && !json_object_is_type(record, json_type_array))
		return pairs_leaf(prefix, record, o->f);
	return flatten(record, prefix, pairs_leaf, o->f);
}

/* --- csv ----------------------------------------------------------------- */

static int csv_collect_key(const char *path, json_object *v, void *userdata)
{
	Output *o = userdata;
	char **n;

	for (size_t i = 0; i < o->n_csv_keys; i++)
		if (streq(o->csv_keys[i], path))
			return 0;
	n = realloc(o->csv_keys, (o->n_csv_keys + 1) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	o->csv_keys = n;
	o->csv_keys[o->n_csv_keys] = strdup(path);
	if (!o->csv_keys[o->n_csv_keys])
		return -ENOMEM;
	o->n_csv_keys++;
	return 0;
}

/* A value: strings quoted ("" inside), numbers and booleans bare, no value as "". */
static int csv_value(FILE *f, json_object *v, bool first)
{
	_cleanup_free_ char *q = NULL;

	if (!first)
		fputc(',', f);
	if (v && !json_object_is_type(v, json_type_null) && !json_object_is_type(v, json_type_string)) {
		fputs(leaf_text(v), f);
		return 0;
	}
	q = output_csv_quote(v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : "");
	if (!q)
		return -ENOMEM;
	fputs(q, f);
	return 0;
}

static const char *const meta_keys[] = { "api_level", "version", "host", "time_epoch", "time" };

/* The header: the key names as they are (they never need quoting). */
static int csv_header(Output *o)
{
	bool first = true;

	for (size_t i = 0; !o->no_meta && i < ELEMENTSOF(meta_keys); i++, first = false)
		fprintf(o->f, "%smeta.%s", first ? "" : ",", meta_keys[i]);
	for (size_t i = 0; i < o->n_csv_keys; i++, first = false)
		fprintf(o->f, "%s%s", first ? "" : ",", o->csv_keys[i]);
	fputc('\n', o->f);
	return 0;
}

static int csv_row(Output *o, json_object *record)
{
	bool first = true;
	int r;

	for (size_t i = 0; !o->no_meta && i < ELEMENTSOF(meta_keys); i++, first = false) {
		r = csv_value(o->f, lookup_path(o->meta_json, meta_keys[i]), first);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < o->n_csv_keys; i++, first = false) {
		r = csv_value(o->f, lookup_path(record, o->csv_keys[i]), first);
		if (r < 0)
			return r;
	}
	fputc('\n', o->f);
	return 0;
}

/* Every key of every record, the columns' keys first. */
static int csv_keys_init(Output *o)
{
	int r;

	if (o->n_csv_keys > 0)
		return 0;
	for (const OutputColumn *c = o->columns; c && c->key; c++) {
		r = csv_collect_key(c->key, NULL, o);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < json_object_array_length(o->records); i++) {
		r = flatten(json_object_array_get_idx(o->records, i), "", csv_collect_key, o);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- table --------------------------------------------------------------- */

static void cell_text(const OutputColumn *c, json_object *record, char *buf, size_t size)
{
	json_object *v = lookup_path(record, c->key);

	if (!v || json_object_is_type(v, json_type_null)) {
		(void)snprintf(buf, size, "%s", c->cell == OUTPUT_CELL_MINUS ? "-" : "");
		return;
	}
	if (json_object_is_type(v, json_type_int)) {
		uint64_t u = json_object_get_uint64(v);

		switch (c->cell) {
		case OUTPUT_CELL_HEX2:
			(void)snprintf(buf, size, "0x%02" PRIx64, u);
			return;
		case OUTPUT_CELL_HEX4:
			(void)snprintf(buf, size, "0x%04" PRIx64, u);
			return;
		case OUTPUT_CELL_HEX8:
			(void)snprintf(buf, size, "0x%08" PRIx64, u);
			return;
		case OUTPUT_CELL_TIME:
			(void)output_format_time(u, false, buf, size);
			return;
		default:
			break;
		}
	}
	if (json_object_is_type(v, json_type_boolean)) {
		(void)snprintf(buf, size, "%s", json_object_get_boolean(v) ? "yes" : "no");
		return;
	}
	(void)snprintf(buf, size, "%s", leaf_text(v));
}

#define CELL_MAX 512

static void table_row(Output *o, json_object *record, const size_t *widths)
{
	char buf[CELL_MAX];
	size_t n = 0;

	for (const OutputColumn *c = o->columns; c->key; c++)
		n++;
	for (size_t i = 0; i < n; i++) {
		const OutputColumn *c = &o->columns[i];

		if (record)
			cell_text(c, record, buf, sizeof(buf));
		else
			(void)snprintf(buf, sizeof(buf), "%s", c->header);
		if (i + 1 < n)
			fprintf(o->f, "%-*s  ", (int)widths[i], buf);
		else
			fprintf(o->f, "%s\n", buf);
	}
}

/* A streamed table cannot measure its rows in advance: the width of a
 * column is what its cells need (names of signals and kinds are short). */
static size_t stream_width(const OutputColumn *c)
{
	switch (c->cell) {
	case OUTPUT_CELL_HEX2:
		return 4;
	case OUTPUT_CELL_HEX4:
		return 6;
	case OUTPUT_CELL_HEX8:
		return 10;
	case OUTPUT_CELL_TIME:
		return 19;
	default:
		return 13;
	}
}

static int table_write(Output *o)
{
	_cleanup_free_ size_t *widths = NULL;
	char buf[CELL_MAX];
	size_t n = 0;

	for (const OutputColumn *c = o->columns; c->key; c++)
		n++;
	widths = calloc(n ? n : 1, sizeof(size_t));
	if (!widths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		widths[i] = strlen(o->columns[i].header);
		for (size_t j = 0; !o->streaming && j < json_object_array_length(o->records); j++) {
			cell_text(&o->columns[i], json_object_array_get_idx(o->records, j), buf,
				  sizeof(buf));
			widths[i] = MAX(widths[i], strlen(buf));
		}
		if (o->streaming)
			widths[i] = MAX(widths[i], stream_width(&o->columns[i]));
	}
	if (!o->no_header && !o->started)
		table_row(o, NULL, widths);
	o->started = true;
	for (size_t j = 0; j < json_object_array_length(o->records); j++)
		table_row(o, json_object_array_get_idx(o->records, j), widths);
	return 0;
}

/* --- records ------------------------------------------------------------- */

static void jsonl_line(Output *o, const char *key, json_object *v)
{
	json_object *line = json_object_new_object();

	if (!line)
		return;
	(void)json_object_object_add(line, key, json_object_get(v));
	/* json-seq (RFC 7464): every record starts with the record separator. */
	fprintf(o->f, "%s%s\n", o->format == OUTPUT_JSON_SEQ ? "\x1e" : "",
		json_object_to_json_string_ext(line,
					       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(line);
}

static int write_streamed(Output *o, json_object *record)
{
	int r = 0;

	switch (o->format) {
	case OUTPUT_JSON:
	case OUTPUT_JSONL:
	case OUTPUT_JSON_SEQ:
		if (!o->started && !o->no_meta)
			jsonl_line(o, "meta", o->meta_json);
		o->started = true;
		jsonl_line(o, o->name, record);
		break;
	case OUTPUT_PAIRS:
		if (!o->started && !o->no_meta)
			r = flatten(o->meta_json, "meta", pairs_leaf, o->f);
		o->started = true;
		if (r >= 0)
			r = pairs_record(o, record, o->n_added - 1);
		break;
	case OUTPUT_CSV:
		if (!o->started) {
			(void)json_object_array_add(o->records, json_object_get(record));
			r = csv_keys_init(o);
			(void)json_object_array_del_idx(o->records, 0, 1);
			if (r >= 0)
				r = csv_header(o);
		}
		o->started = true;
		if (r >= 0)
			r = csv_row(o, record);
		break;
	case OUTPUT_TABLE:
		(void)json_object_array_add(o->records, json_object_get(record));
		r = table_write(o);
		(void)json_object_array_del_idx(o->records, 0, 1);
		break;
	default:
		return -EINVAL;
	}
	(void)fflush(o->f);
	return r;
}

int output_add(Output *o, json_object *record)
{
	if (!o->list && o->n_added > 0)
		return -E2BIG;
	o->n_added++;
	if (o->streaming)
		return write_streamed(o, record);
	if (o->format == OUTPUT_JSONL || o->format == OUTPUT_JSON_SEQ)
		return write_streamed(o, record);
	if (json_object_array_add(o->records, json_object_get(record)) < 0) {
		json_object_put(record);
		return -ENOMEM;
	}
	return 0;
}

int output_finish(Output *o)
{
	json_object *doc;
	int r = 0;

	if (o->streaming || o->format == OUTPUT_JSONL || o->format == OUTPUT_JSON_SEQ) {
		/* Make sure the meta line/header appears even with no records. */
		if (!o->started) {
			if (output_format_is_json(o->format) && !o->no_meta)
				jsonl_line(o, "meta", o->meta_json);
			else if (o->format == OUTPUT_PAIRS && !o->no_meta)
				r = flatten(o->meta_json, "meta", pairs_leaf, o->f);
			else if (o->format == OUTPUT_CSV) {
				r = csv_keys_init(o);
				if (r >= 0)
					r = csv_header(o);
			} else if (o->format == OUTPUT_TABLE)
				r = table_write(o);
			o->started = true;
		}
		return fflush(o->f) == 0 && r >= 0 ? r : (r < 0 ? r : -EIO);
	}

	switch (o->format) {
	case OUTPUT_JSON:
		doc = json_object_new_object();
		if (!doc)
			return -ENOMEM;
		if (!o->no_meta)
			(void)json_object_object_add(doc, "meta", json_object_get(o->meta_json));
		if (o->list)
			(void)json_object_object_add(doc, o->name, json_object_get(o->records));
		else
			(void)json_object_object_add(
				doc, o->name,
				json_object_array_length(o->records) > 0
					? json_object_get(json_object_array_get_idx(o->records, 0))
					: NULL);
		fprintf(o->f, "%s\n",
			json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_SPACED |
								    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
		break;
	case OUTPUT_PAIRS:
		if (!o->no_meta)
			r = flatten(o->meta_json, "meta", pairs_leaf, o->f);
		for (size_t i = 0; r >= 0 && i < json_object_array_length(o->records); i++)
			r = pairs_record(o, json_object_array_get_idx(o->records, i), i);
		break;
	case OUTPUT_CSV:
		r = csv_keys_init(o);
		if (r >= 0)
			r = csv_header(o);
		for (size_t i = 0; r >= 0 && i < json_object_array_length(o->records); i++)
			r = csv_row(o, json_object_array_get_idx(o->records, i));
		break;
	case OUTPUT_TABLE:
		r = table_write(o);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	return fflush(o->f) == 0 && !ferror(o->f) ? 0 : -EIO;
}

int output_error(FILE *f, OutputFormat format, const OutputMeta *meta, int exit_code, const char *name,
		 const char *message)
{
	json_object *doc, *err, *m = NULL;

	if (!output_format_is_json(format)) {
		fprintf(stderr, "zpcictl: %s\n", message);
		return exit_code;
	}
	doc = json_object_new_object();
	err = json_object_new_object();
	if (!doc || !err || output_meta_to_json(meta, &m) < 0) {
		json_object_put(doc);
		json_object_put(err);
		fprintf(stderr, "zpcictl: %s\n", message);
		return exit_code;
	}
	(void)json_object_object_add(err, "message", json_object_new_string(message));
	if (name)
		(void)json_object_object_add(err, "name", json_object_new_string(name));
	(void)json_object_object_add(err, "exit_code", json_object_new_int(exit_code));
	if (output_no_meta())
		json_object_put(m);
	else
		(void)json_object_object_add(doc, "meta", m);
	(void)json_object_object_add(doc, "error", err);
	fprintf(f, "%s%s\n", format == OUTPUT_JSON_SEQ ? "\x1e" : "",
		json_object_to_json_string_ext(
			doc, (format == OUTPUT_JSON ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
						    : JSON_C_TO_STRING_PLAIN) |
				     JSON_C_TO_STRING_NOSLASHESCAPE));
	(void)fflush(f);
	json_object_put(doc);
	return exit_code;
}
