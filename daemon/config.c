/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config: read, merge and validate zpcid's configuration (see config.h).
 *
 * Steps: parse every file with jsonpos (positions, strictness), check each
 * file's "schema", merge the drop-ins into the main tree in lexical order,
 * then walk the merged tree once with the key tables below. Positions travel
 * with the merged values, so a bad value from a drop-in is reported at its
 * place in that drop-in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/conf-table.h"
#include "daemon/config.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"

/* ---- the global keys ---- */

static const char *const log_level_names[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const log_target_names[] = { "auto", "journal", "console", NULL };

static int set_log_level(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	int l = log_level_from_string(json_object_get_string(v->value));

	if (l < 0)
		return config_error(ctx, &v->loc, "%s: invalid log level", v->path);
	*(int *)field = l;
	return 0;
}

static int set_log_target(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	LogTarget t = log_target_from_string(json_object_get_string(v->value));

	if (t < 0 || t == LOG_TARGET_MEMORY)
		return config_error(ctx, &v->loc, "%s: invalid log target", v->path);
	*(LogTarget *)field = t;
	return 0;
}

static int set_group(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	if (v->value) {
		const char *s = json_object_get_string(v->value);
		size_t n = strlen(s);
		bool ok = n > 0 && n <= 32 && !(s[0] >= '0' && s[0] <= '9') && s[0] != '-';

		for (const char *c = s; ok && *c; c++)
			ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.';
		if (!ok)
			return config_error(
				ctx, &v->loc,
				"%s: \"%s\" is not a valid group name (expected 1-32 characters of "
				"A-Z a-z 0-9 _ - ., not starting with a digit or '-')",
				v->path, s);
	}
	return config_set_string(ctx, k, v, field);
}

static int set_schema(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	return 0; /* checked per file before merging */
}

static int set_policy(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	struct Policy **p = field;
	struct Policy *n = NULL;
	int r;

	r = policy_new_from_json(ctx, v->value, v->path, &n);
	if (r < 0)
		return r;
	policy_unref(*p);
	*p = n;
	return 0;
}

static const ConfigKey log_table[] = {
	{ "level", CONFIG_STRING, set_log_level, offsetof(Config, log_level), .values = log_level_names },
	{ "target", CONFIG_STRING, set_log_target, offsetof(Config, log_target),
	  .values = log_target_names },
	{},
};

static const ConfigKey directories_table[] = {
	{ "state", CONFIG_STRING, config_set_path, offsetof(Config, state_directory),
	  .expected = "an absolute path" },
	{ "runtime", CONFIG_STRING, config_set_path, offsetof(Config, runtime_directory),
	  .expected = "an absolute path" },
	{},
};

static int set_duration(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	uint64_t usec;

	if (duration_parse(json_object_get_string(v->value), &usec) < 0 || usec == 0)
		return config_error(
			ctx, &v->loc,
			"%s: \"%s\" is not a duration (expected a number with a unit s, m, h or d, "
			"e.g. \"30s\")",
			v->path, json_object_get_string(v->value));
	*(unsigned long long *)field = usec;
	return 0;
}

static int set_command(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	char ***p = field;
	_cleanup_strv_free_ char **argv = NULL;
	size_t n;

	if (!v->value) {
		*p = strv_free(*p);
		return 0;
	}
	n = json_object_array_length(v->value);
	if (n == 0 || n > 64)
		return config_error(ctx, &v->loc,
				    "%s: expected 1 to 64 strings (the command and its arguments)", v->path);
	argv = calloc(n + 1, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(v->value, i);

		if (!json_object_is_type(a, json_type_string) || json_object_get_string_len(a) == 0)
			return config_error(ctx, &v->loc, "%s[%zu]: expected a non-empty string", v->path,
					    i);
		argv[i] = strdup(json_object_get_string(a));
		if (!argv[i])
			return -ENOMEM;
	}
	if (argv[0][0] != '/')
		return config_error(ctx, &v->loc,
				    "%s[0]: \"%s\" is not an absolute path (expected the program's "
				    "absolute path)",
				    v->path, argv[0]);
	strv_free(*p);
	*p = TAKE_PTR(argv);
	return 0;
}

static const ConfigKey output_table[] = {
	{ "burst", CONFIG_INT, config_set_int, offsetof(Config, coalesce_burst), .min = 1, .max = 100000,
	  .expected = "a number of events from 1 to 100000" },
	{ "interval", CONFIG_STRING, set_duration, offsetof(Config, coalesce_interval_usec),
	  .expected = "a duration such as \"10s\"" },
	{},
};

static const ConfigKey actions_table[] = {
	{ "timeout", CONFIG_STRING, set_duration, offsetof(Config, actions.timeout_usec),
	  .expected = "a duration such as \"30s\"" },
	{ "confirm_timeout", CONFIG_STRING, set_duration, offsetof(Config, actions.confirm_timeout_usec),
	  .expected = "a duration such as \"60s\"" },
	{ "max_running", CONFIG_INT, config_set_int, offsetof(Config, actions.max_running), .min = 1,
	  .max = 64, .expected = "a number from 1 to 64" },
	{ "alert_command", CONFIG_ARRAY | CONFIG_NULL, set_command, offsetof(Config, actions.alert_command),
	  .expected = "an array of strings or null" },
	{ "alert_timeout", CONFIG_STRING, set_duration, offsetof(Config, actions.alert_timeout_usec),
	  .expected = "a duration such as \"30s\"" },
	{ "alert_max_running", CONFIG_INT, config_set_int, offsetof(Config, actions.alert_max_running),
	  .min = 1, .max = 64, .expected = "a number from 1 to 64" },
	{ "alert_max_queued", CONFIG_INT, config_set_int, offsetof(Config, actions.alert_max_queued),
	  .min = 1, .max = 100000, .expected = "a number from 1 to 100000" },
	{},
};

static const ConfigKey history_table[] = {
	{ "max_file_size", CONFIG_INT, config_set_int, offsetof(Config, history.max_file_size), .min = 65536,
	  .max = 1073741824, .expected = "a size in bytes from 65536 to 1073741824" },
	{ "max_files", CONFIG_INT, config_set_int, offsetof(Config, history.max_files), .min = 1, .max = 100,
	  .expected = "a number from 1 to 100" },
	{},
};

static int set_path_or_null(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	if (!v->value) {
		char **p = field;

		free(*p);
		*p = NULL;
		return 0;
	}
	return config_set_path(ctx, k, v, field);
}

static const ConfigKey metrics_table[] = {
	{ "textfile_directory", CONFIG_STRING | CONFIG_NULL, set_path_or_null,
	  offsetof(Config, metrics.textfile_directory), .expected = "an absolute path or null" },
	{ "interval", CONFIG_STRING, set_duration, offsetof(Config, metrics.interval_usec),
	  .expected = "a duration such as \"5s\"" },
	{},
};

static int set_duration_or_null(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	if (!v->value) {
		*(unsigned long long *)field = 0;
		return 0;
	}
	return set_duration(ctx, k, v, field);
}

static const ConfigKey adapter_table[] = {
	{ "functions", CONFIG_INT, config_set_int, offsetof(Config, adapter.functions), .min = 0, .max = 256,
	  .expected = "a number of functions from 0 (off) to 256" },
	{ "window", CONFIG_STRING, set_duration, offsetof(Config, adapter.window_usec),
	  .expected = "a duration such as \"10s\"" },
	{ "hold", CONFIG_STRING | CONFIG_NULL, set_duration_or_null, offsetof(Config, adapter.hold_usec),
	  .expected = "a duration such as \"5m\" or null" },
	{ "by_port", CONFIG_BOOL, config_set_bool, offsetof(Config, adapter.by_port),
	  .expected = "true or false" },
	{},
};

static const ConfigKey top_table[] = {
	{ "schema", CONFIG_INT, set_schema, 0 },
	{ "log", CONFIG_OBJECT, NULL, 0, .table = log_table },
	{ "directories", CONFIG_OBJECT, NULL, 0, .table = directories_table },
	{ "admin_group", CONFIG_STRING | CONFIG_NULL, set_group, offsetof(Config, admin_group),
	  .expected = "a group name or null" },
	{ "policy", CONFIG_OBJECT, set_policy, offsetof(Config, policy) },
	{ "output", CONFIG_OBJECT, NULL, 0, .table = output_table },
	{ "actions", CONFIG_OBJECT, NULL, 0, .table = actions_table },
	{ "history", CONFIG_OBJECT, NULL, 0, .table = history_table },
	{ "metrics", CONFIG_OBJECT, NULL, 0, .table = metrics_table },
	{ "adapter_correlation", CONFIG_OBJECT, NULL, 0, .table = adapter_table },
	{},
};

/* ---- loading ---- */

int config_new_default(Config **ret)
{
	_cleanup_(config_freep) Config *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->log_level = LOG_INFO;
	c->log_target = LOG_TARGET_AUTO;
	c->state_directory = strdup(LOCALSTATEDIR "/lib/zpcid");
	c->runtime_directory = strdup(RUNSTATEDIR "/zpcid");
	c->files = calloc(1, sizeof(char *));
	if (!c->state_directory || !c->runtime_directory || !c->files)
		return -ENOMEM;
	c->coalesce_burst = 20;
	c->coalesce_interval_usec = 10 * USEC_PER_SEC;
	c->actions.timeout_usec = 30 * USEC_PER_SEC;
	c->actions.confirm_timeout_usec = 60 * USEC_PER_SEC;
	c->actions.max_running = 2;
	c->actions.alert_timeout_usec = 30 * USEC_PER_SEC;
	c->actions.alert_max_running = 4;
	c->actions.alert_max_queued = 256;
	c->history.max_file_size = 4 * 1024 * 1024;
	c->history.max_files = 4;
	c->metrics.interval_usec = 5 * USEC_PER_SEC;
	c->adapter.functions = 3;
	c->adapter.window_usec = 10 * USEC_PER_SEC;
	r = policy_new_default(&c->policy);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

Config *config_free(Config *c)
{
	if (!c)
		return NULL;
	strv_free(c->files);
	free(c->state_directory);
	free(c->runtime_directory);
	free(c->admin_group);
	strv_free(c->actions.alert_command);
	free(c->metrics.textfile_directory);
	policy_unref(c->policy);
	free(c);
	return NULL;
}

static int strv_push(char ***l, size_t *n, const char *s)
{
	char **a, *d;

	d = strdup(s);
	if (!d)
		return -ENOMEM;
	a = reallocarray(*l, *n + 2, sizeof(char *));
	if (!a) {
		free(d);
		return -ENOMEM;
	}
	a[(*n)++] = d;
	a[*n] = NULL;
	*l = a;
	return 0;
}

/* Check the top-level shape and the "schema" of one parsed file. */
static int check_file(ConfigContext *ctx, const char *path, json_object *o)
{
	json_object *schema;
	JsonLoc loc = { .file = path, .line = 1, .column = 1 };

	if (!json_object_is_type(o, json_type_object)) {
		(void)json_pos_get(o, &loc);
		return config_error(ctx, &loc, "expected a JSON object at the top level, got %s",
				    config_type_name(o));
	}
	if (!json_object_object_get_ex(o, "schema", &schema)) {
		(void)json_pos_get(o, &loc);
		return config_error(ctx, &loc,
				    "missing key 'schema' (expected \"schema\": %d as the schema version)",
				    CONFIG_SCHEMA_VERSION);
	}
	(void)json_pos_get_member(o, "schema", NULL, &loc);
	if (!json_object_is_type(schema, json_type_int))
		return config_error(ctx, &loc, "schema: expected the integer %d, got %s",
				    CONFIG_SCHEMA_VERSION, config_type_name(schema));
	if (json_object_get_int64(schema) != CONFIG_SCHEMA_VERSION)
		return config_error(
			ctx, &loc,
			"schema: version %lld is not supported (expected %d, the only schema version this "
			"zpcid supports)",
			(long long)json_object_get_int64(schema), CONFIG_SCHEMA_VERSION);
	return 0;
}

/* Merge @src into @dst: objects merge key by key, anything else replaces. */
static int merge(json_object *dst, json_object *src)
{
	json_object_object_foreach (src, key, value) {
		json_object *old = NULL;
		int r;

		if (json_object_object_get_ex(dst, key, &old) &&
		    json_object_is_type(old, json_type_object) &&
		    json_object_is_type(value, json_type_object))
			r = merge(old, value);
		else
			r = json_pos_move_member(dst, src, key);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_one(ConfigContext *ctx, const char *path, json_object **ret)
{
	JsonPosError err;
	JsonLoc loc = { .file = path };
	int r;

	r = json_pos_parse_file(path, 0, ret, &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		loc.line = err.line;
		loc.column = err.column;
		return config_error(ctx, &loc, "%s", err.message);
	}
	return check_file(ctx, path, *ret);
}

static int dropin_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The drop-in file names of @dir, sorted bytewise. Missing directory: empty list. */
static int list_dropins(ConfigContext *ctx, const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	DIR *d;
	struct dirent *de;
	size_t n = 0;
	int r = 0;

	d = opendir(dir);
	if (!d) {
		JsonLoc loc = { .file = dir };

		if (errno == ENOENT) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		return config_error(ctx, &loc, "cannot read the drop-in directory: %s", strerror(errno));
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".json"))
			continue;
		r = strv_push(&names, &n, de->d_name);
		if (r < 0)
			break;
	}
	if (r == 0 && errno != 0) {
		JsonLoc loc = { .file = dir };
		r = config_error(ctx, &loc, "cannot read the drop-in directory: %s", strerror(errno));
	}
	(void)closedir(d);
	if (r < 0)
		return r;
	if (n > 0)
		qsort_safe(names, n, sizeof(char *), dropin_compare);
	*ret = TAKE_PTR(names);
	*ret_n = n;
	return 0;
}

static int apply(ConfigContext *ctx, json_object *merged, Config *c)
{
	int r;

	r = config_apply_table(ctx, top_table, merged, "", c);
	if (r == -ENOMEM)
		return r;
	return ctx->n_errors > 0 ? -EINVAL : 0;
}

int config_load(Config **ret, const char *path, const char *dropin_dir, bool path_explicit,
		ConfigDiagnostics *diag)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(json_pos_putp) json_object *merged = NULL;
	_cleanup_strv_free_ char **dropins = NULL;
	ConfigDiagnostics local = {};
	ConfigContext ctx = { .diag = diag ?: &local };
	size_t n_files = 0, n_dropins = 0;
	struct stat st;
	int r;

	path = path ?: CONFIG_DEFAULT_FILE;
	dropin_dir = dropin_dir ?: CONFIG_DEFAULT_DROPIN;

	r = config_new_default(&c);
	if (r < 0)
		return r;

	if (path_explicit || stat(path, &st) == 0 || errno != ENOENT) {
		json_object *o = NULL;

		r = read_one(&ctx, path, &o);
		if (r == -ENOMEM)
			return r;
		merged = o;
		if (r >= 0) {
			r = strv_push(&c->files, &n_files, path);
			if (r < 0)
				return r;
		}
	}

	r = list_dropins(&ctx, dropin_dir, &dropins, &n_dropins);
	if (r == -ENOMEM)
		return r;
	for (size_t i = 0; i < n_dropins; i++) {
		_cleanup_(json_pos_putp) json_object *o = NULL;
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/%s", dropin_dir, dropins[i]) < 0)
			return -ENOMEM;
		r = read_one(&ctx, p, &o);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		r = strv_push(&c->files, &n_files, p);
		if (r < 0)
			return r;
		if (!merged)
			merged = TAKE_PTR(o);
		else if (json_object_is_type(merged, json_type_object)) {
			r = merge(merged, o);
			if (r < 0)
				return r;
		}
	}

	if (merged && json_object_is_type(merged, json_type_object)) {
		r = apply(&ctx, merged, c);
		if (r == -ENOMEM)
			return r;
	}
	if (ctx.n_errors > 0) {
		if (!diag)
			config_diagnostics_done(&local);
		return -EINVAL;
	}
	c->loaded_usec = now_usec(CLOCK_REALTIME);
	*ret = TAKE_PTR(c);
	return 0;
}

int config_load_string(Config **ret, const char *text, size_t size, const char *file_name,
		       ConfigDiagnostics *diag)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(json_pos_putp) json_object *o = NULL;
	ConfigDiagnostics local = {};
	ConfigContext ctx = { .diag = diag ?: &local };
	JsonPosError err;
	int r;

	r = config_new_default(&c);
	if (r < 0)
		return r;
	r = json_pos_parse(text, size, file_name, 0, &o, &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		JsonLoc loc = { .file = file_name, .line = err.line, .column = err.column };
		(void)config_error(&ctx, &loc, "%s", err.message);
	} else if (check_file(&ctx, file_name, o) >= 0) {
		r = apply(&ctx, o, c);
		if (r == -ENOMEM)
			return r;
	}
	if (ctx.n_errors > 0) {
		if (!diag)
			config_diagnostics_done(&local);
		return -EINVAL;
	}
	c->loaded_usec = now_usec(CLOCK_REALTIME);
	*ret = TAKE_PTR(c);
	return 0;
}
