/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * config: zpcid's configuration, read from one JSON file plus drop-ins.
 *
 * The main file (default SYSCONFDIR/zpcid/zpcid.json) is read first; then
 * every "*.json" in the drop-in directory (default SYSCONFDIR/zpcid/zpcid.d;
 * names starting with "." are skipped; a missing directory is empty), in
 * bytewise lexical order of the file names, is merged on top: objects merge
 * key by key, everything else (numbers, strings, booleans, null, arrays)
 * replaces. Each file carries "schema": 1. The "policy" key is validated by
 * daemon/policy-parse.c through the table-driven validator of
 * daemon/conf-table.h. The keys and
 * their semantics are documented in docs/configuration.md.
 *
 * Validation is strict: syntax errors, duplicate keys, unknown keys, wrong
 * types and out-of-range values are all errors, each reported as
 * "FILE:LINE:COLUMN: message" naming what was expected. A configuration
 * either loads whole or not at all: a caller that holds a running Config
 * keeps it when a reload fails.
 *
 * This module only parses and validates; it does not log and does not apply
 * anything.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/conf-table.h"

struct Policy;

#define CONFIG_SCHEMA_VERSION 1
#define CONFIG_DEFAULT_FILE   SYSCONFDIR "/zpcid/zpcid.json"
#define CONFIG_DEFAULT_DROPIN SYSCONFDIR "/zpcid/zpcid.d"

typedef struct Config {
	/* Absolute paths of every file that was read, main file first. */
	char **files;
	/* Log level (LOG_ERR..LOG_DEBUG); default LOG_INFO. */
	int log_level;
	/* Log target; default LOG_TARGET_AUTO. */
	LogTarget log_target;
	/* Directories; overridden by $STATE_DIRECTORY / $RUNTIME_DIRECTORY at run time. */
	char *state_directory;   /* default LOCALSTATEDIR "/lib/zpcid" */
	char *runtime_directory; /* default RUNSTATEDIR "/zpcid" */
	/* Group whose members may change state over D-Bus besides root; NULL for root only. */
	char *admin_group;
	/* Storm coalescing of journal and bus output per function (daemon/coalesce.h):
	 * "output": { "burst", "interval" }. */
	long long coalesce_burst;
	unsigned long long coalesce_interval_usec;
	/* The action runner (daemon/actions.h): "actions": { ... }. */
	struct {
		unsigned long long timeout_usec;         /* per disruptive action */
		unsigned long long confirm_timeout_usec; /* reset confirmation window */
		long long max_running;                   /* helper processes at once */
		char **alert_command;                    /* argv, NULL: none */
		unsigned long long alert_timeout_usec;
		long long alert_max_running;
		long long alert_max_queued;
	} actions;
	/* The event history (daemon/history.h): "history": { ... }. */
	struct {
		long long max_file_size; /* bytes per file before rotation */
		long long max_files;     /* files kept, the current one included */
	} history;
	/* Prometheus textfile output (daemon/metrics-file.h): "metrics": { ... }. */
	struct {
		char *textfile_directory;         /* NULL: not written (the default) */
		unsigned long long interval_usec; /* at most one write per interval */
	} metrics;
	/* Adapter correlation (daemon/adapter.h): "adapter_correlation": { ... }. */
	struct {
		long long functions; /* functions with errors that make an adapter event; 0: off */
		unsigned long long window_usec; /* ... within this window */
		unsigned long long hold_usec;   /* disruptive actions held after one; 0: none */
		bool by_port;                   /* an adapter is PCHID and port */
	} adapter;
	/* Realtime (µs since epoch) when this config was loaded. */
	unsigned long long loaded_usec;
	/* The recovery policy ("policy" key; daemon/policy.h). Never NULL after
	 * a successful load: the built-in default policy when the key is absent. */
	struct Policy *policy;
} Config;

/*
 * Load @path (NULL: the default file; a missing default file means "all
 * defaults", a missing explicit file is an error) and the drop-ins in
 * @dropin_dir (NULL: the default directory; missing is fine).
 * On success returns 0 and sets *@ret. On failure returns -EINVAL (invalid
 * configuration) or another -errno (I/O), and fills @diag (when not NULL)
 * with one line per problem found.
 */
int config_load(Config **ret, const char *path, const char *dropin_dir, bool path_explicit,
		ConfigDiagnostics *diag);

/* A Config holding all defaults. Returns 0 or -ENOMEM. */
int config_new_default(Config **ret);

/* Free a Config. Accepts NULL, returns NULL. */
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/*
 * Parse and validate one configuration held in memory (@text, @size bytes,
 * reported as @file_name), as if it were the main file with no drop-ins.
 * For tests and tools. Returns 0 and sets *@ret, -EINVAL with @diag filled,
 * or -ENOMEM.
 */
int config_load_string(Config **ret, const char *text, size_t size, const char *file_name,
		       ConfigDiagnostics *diag);
