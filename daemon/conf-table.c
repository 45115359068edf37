/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf-table: the table-driven validator of JSON configuration objects (see
 * conf-table.h): type, range and enumeration checks, unknown keys with the
 * closest known one, and diagnostics "FILE:LINE:COLUMN: message".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/conf-table.h"

#define CONFIG_DIAGNOSTICS_MAX 200

/* ---- diagnostics ---- */

static int diag_add(ConfigDiagnostics *d, char *line)
{
	char **l;

	if (!d) {
		free(line);
		return 0;
	}
	if (d->n >= CONFIG_DIAGNOSTICS_MAX) {
		free(line);
		return 0;
	}
	l = reallocarray(d->lines, d->n + 2, sizeof(char *));
	if (!l) {
		free(line);
		return -ENOMEM;
	}
	d->lines = l;
	d->lines[d->n++] = line;
	d->lines[d->n] = NULL;
	return 0;
}

int config_error(ConfigContext *ctx, const JsonLoc *loc, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char *line = NULL;
	va_list ap;
	int r;

	ctx->n_errors++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -EINVAL;
	if (loc && loc->file && loc->line > 0)
		r = asprintf(&line, "%s:%u:%u: %s", loc->file, loc->line, loc->column, msg);
	else if (loc && loc->file)
		r = asprintf(&line, "%s: %s", loc->file, msg);
	else
		r = asprintf(&line, "%s", msg);
	if (r >= 0)
		(void)diag_add(ctx->diag, line);
	return -EINVAL;
}

void config_diagnostics_done(ConfigDiagnostics *d)
{
	d->lines = strv_free(d->lines);
	d->n = 0;
}

/* ---- helpers for the tables ---- */

const char *config_type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "an unknown type";
}

static unsigned type_bit(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return CONFIG_NULL;
	case json_type_boolean:
		return CONFIG_BOOL;
	case json_type_double:
		return CONFIG_DOUBLE;
	case json_type_int:
		return CONFIG_INT;
	case json_type_object:
		return CONFIG_OBJECT;
	case json_type_array:
		return CONFIG_ARRAY;
	case json_type_string:
		return CONFIG_STRING;
	}
	return 0;
}

static void types_to_string(unsigned types, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ CONFIG_STRING, "a string" }, { CONFIG_INT, "an integer" },   { CONFIG_DOUBLE, "a number" },
		{ CONFIG_BOOL, "a boolean" },  { CONFIG_OBJECT, "an object" }, { CONFIG_ARRAY, "an array" },
		{ CONFIG_NULL, "null" },
	};
	size_t n = 0, k = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (types & names[i].bit)
			n++;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		size_t len = strlen(buf);

		if (!(types & names[i].bit))
			continue;
		(void)snprintf(buf + len, size - len, "%s%s",
			       k == 0       ? ""
			       : k + 1 == n ? " or "
					    : ", ",
			       names[i].name);
		k++;
	}
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (lb >= ELEMENTSOF(row) || la >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
			diag = up;
		}
	}
	return row[lb];
}

const char *config_closest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, limit;

	limit = strlen(word) <= 3 ? 1 : strlen(word) <= 6 ? 2 : 3;
	for (const char *const *c = candidates; c && *c; c++) {
		size_t d = edit_distance(word, *c);
		if (d < best_d) {
			best_d = d;
			best = *c;
		}
	}
	return best_d <= limit ? best : NULL;
}

static void values_to_string(const char *const *values, char *buf, size_t size)
{
	buf[0] = 0;
	for (const char *const *v = values; v && *v; v++) {
		size_t len = strlen(buf);
		(void)snprintf(buf + len, size - len, "%s%s", v == values ? "" : ", ", *v);
	}
}

static int check_value(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v)
{
	char buf[256];

	if (!(type_bit(v->value) & k->types)) {
		if (k->expected)
			return config_error(ctx, &v->loc, "%s: expected %s, got %s", v->path, k->expected,
					    config_type_name(v->value));
		types_to_string(k->types, buf, sizeof(buf));
		return config_error(ctx, &v->loc, "%s: expected %s, got %s", v->path, buf,
				    config_type_name(v->value));
	}
	if (json_object_is_type(v->value, json_type_int) && k->min < k->max) {
		int64_t i = json_object_get_int64(v->value);
		if (i < k->min || i > k->max)
			return config_error(ctx, &v->loc, "%s: %lld is out of range (expected %lld..%lld)",
					    v->path, (long long)i, k->min, k->max);
	}
	if (json_object_is_type(v->value, json_type_string) && k->values) {
		const char *s = json_object_get_string(v->value), *close;

		for (const char *const *e = k->values; *e; e++)
			if (streq(*e, s))
				return 0;
		values_to_string(k->values, buf, sizeof(buf));
		close = config_closest(s, k->values);
		if (close)
			return config_error(
				ctx, &v->loc,
				"%s: invalid value \"%s\" (expected one of %s; did you mean '%s'?)", v->path,
				s, buf, close);
		return config_error(ctx, &v->loc, "%s: invalid value \"%s\" (expected one of %s)", v->path,
				    s, buf);
	}
	return 0;
}

int config_apply_table(ConfigContext *ctx, const ConfigKey *table, json_object *o, const char *path,
		       void *target)
{
	int ret = 0;

	json_object_object_foreach (o, key, value) {
		_cleanup_free_ char *sub = NULL;
		const ConfigKey *k = NULL;
		ConfigValue v = { .value = value };
		JsonLoc key_loc = {};
		int r;

		(void)json_pos_get_member(o, key, &key_loc, &v.loc);
		if (asprintf(&sub, "%s%s%s", path, isempty(path) ? "" : ".", key) < 0)
			return -ENOMEM;
		v.path = sub;

		for (const ConfigKey *t = table; t->name; t++)
			if (streq(t->name, key)) {
				k = t;
				break;
			}
		if (!k) {
			const char *names[64] = {}, *close;
			size_t n = 0;
			char where[128];

			for (const ConfigKey *t = table; t->name && n + 1 < ELEMENTSOF(names); t++)
				names[n++] = t->name;
			close = config_closest(key, names);
			if (isempty(path))
				(void)snprintf(where, sizeof(where), "at the top level");
			else
				(void)snprintf(where, sizeof(where), "in '%s'", path);
			if (close)
				ret = config_error(ctx, &key_loc, "unknown key '%s' %s (did you mean '%s'?)",
						   key, where, close);
			else {
				char list[512];
				values_to_string(names, list, sizeof(list));
				ret = config_error(ctx, &key_loc, "unknown key '%s' %s (expected one of %s)",
						   key, where, list);
			}
			continue;
		}
		r = check_value(ctx, k, &v);
		if (r < 0) {
			ret = r;
			continue;
		}
		if (k->set) {
			r = k->set(ctx, k, &v, (uint8_t *)target + k->offset);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				ret = r;
		} else if (k->table && json_object_is_type(value, json_type_object)) {
			r = config_apply_table(ctx, k->table, value, sub, (uint8_t *)target + k->offset);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				ret = r;
		}
	}
	return ret;
}

/* ---- stock setters ---- */

int config_set_string(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	char **p = field, *s = NULL;

	if (v->value) {
		s = strdup(json_object_get_string(v->value));
		if (!s)
			return -ENOMEM;
	}
	free(*p);
	*p = s;
	return 0;
}

int config_set_path(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	const char *s = json_object_get_string(v->value);

	if (s[0] != '/')
		return config_error(ctx, &v->loc,
				    "%s: \"%s\" is not an absolute path (expected a path starting with '/')",
				    v->path, s);
	for (const char *c = s; *c; c++)
		if (c[0] == '/' && c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == 0))
			return config_error(ctx, &v->loc,
					    "%s: \"%s\" contains '..' (expected a normalized absolute path)",
					    v->path, s);
	return config_set_string(ctx, k, v, field);
}

int config_set_bool(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	*(bool *)field = json_object_get_boolean(v->value);
	return 0;
}

int config_set_int(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	*(long long *)field = json_object_get_int64(v->value);
	return 0;
}

int config_set_enum(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	const char *s = json_object_get_string(v->value);

	for (int i = 0; k->values && k->values[i]; i++)
		if (streq(k->values[i], s)) {
			*(int *)field = i;
			return 0;
		}
	return config_error(ctx, &v->loc, "%s: invalid value \"%s\"", v->path, s);
}
