/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * conf-table: the table-driven validator of JSON configuration objects,
 * shared by the configuration loader (daemon/config.c) and the policy
 * parser (daemon/policy-parse.c). It knows JSON values with their positions
 * (common/jsonpos.h) and nothing of what the keys mean.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/jsonpos.h"
#include "common/macro.h"

/* Diagnostics of a failed load: one "FILE:LINE:COLUMN: message" per entry. */
typedef struct ConfigDiagnostics {
	char **lines; /* NULL-terminated */
	size_t n;
} ConfigDiagnostics;

/* Release the lines of @d (the struct itself is the caller's). */
void config_diagnostics_done(ConfigDiagnostics *d);

/*
 * The table-driven validator. A ConfigKey table (terminated by an entry with
 * a NULL name) describes the keys one JSON object may hold: the JSON types
 * each key accepts, an integer range or a string enumeration, and either a
 * setter that stores the value into the target structure or a nested table
 * for an object value. config_apply_table() rejects unknown keys (suggesting
 * the closest known one), wrong types, out-of-range numbers and unknown enum
 * values itself, then calls the setters; every problem becomes one
 * diagnostic "FILE:LINE:COLUMN: KEY.PATH: message" and validation goes on,
 * so one run reports all of them.
 */
typedef enum ConfigType {
	CONFIG_STRING = 1 << 0,
	CONFIG_INT = 1 << 1,
	CONFIG_BOOL = 1 << 2,
	CONFIG_OBJECT = 1 << 3,
	CONFIG_ARRAY = 1 << 4,
	CONFIG_NULL = 1 << 5,
	CONFIG_DOUBLE = 1 << 6,
} ConfigType;

typedef struct ConfigContext {
	ConfigDiagnostics *diag;
	unsigned n_errors;
} ConfigContext;

typedef struct ConfigKey ConfigKey;

/* What a setter is handed: the value (already checked against the key's
 * types, range and enumeration), where it is, and its dotted key path. */
typedef struct ConfigValue {
	json_object *value; /* NULL for JSON null */
	JsonLoc loc;
	const char *path; /* e.g. "log.level", "policy.rules[2].match.pec" */
} ConfigValue;

/* Store @v into @field (the target plus the key's offset). Returns 0, or
 * -EINVAL after reporting the problem with config_error(), or -ENOMEM. */
typedef int (*ConfigSetter)(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);

struct ConfigKey {
	const char *name;
	unsigned types;            /* ConfigType bits */
	ConfigSetter set;          /* NULL: a nested table (or a key that is only checked) */
	size_t offset;             /* of the field in the target, passed to the setter / nested table */
	const ConfigKey *table;    /* keys of an object value, applied to target + offset */
	long long min, max;        /* range of an integer, when min < max */
	const char *const *values; /* NULL-terminated names a string must be one of */
	const char *expected;      /* what is expected, for messages, e.g. "an absolute path" */
};

/* Validate the object @o against @table and apply it to @target; @path is
 * the dotted path of @o ("" at the top). Returns 0, -EINVAL when anything
 * was reported, or -ENOMEM. */
int config_apply_table(ConfigContext *ctx, const ConfigKey *table, json_object *o, const char *path,
		       void *target);

/* Record one diagnostic at @loc (NULL or no file: no position). Returns -EINVAL. */
int config_error(ConfigContext *ctx, const JsonLoc *loc, const char *fmt, ...) _printf_(3, 4);

/* The name of @o's JSON type for messages: "a string", "null", ... */
const char *config_type_name(json_object *o);

/* The closest of @candidates (NULL-terminated) to @word, or NULL when none is close. */
const char *config_closest(const char *word, const char *const *candidates);

/* Stock setters: string (char **; null allowed when the key accepts it),
 * absolute path (char **), bool (bool *), integer (long long *, range
 * checked), enumeration index (int *, from k->values). */
int config_set_string(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);
int config_set_path(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);
int config_set_bool(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);
int config_set_int(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);
int config_set_enum(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field);
