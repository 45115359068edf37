/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * log: the one place where zpcid writes what it has to say.
 *
 * A record is a priority, an optional MESSAGE_ID (32 hex digits, one per kind
 * of message, each with a catalog entry), a human message and any number of
 * structured fields ("KEY=value", ZPCI_* for a function, ZPCID_* for the
 * daemon). Every record also carries the per-run id ZPCID_RUN_ID.
 *
 * Every record carries where it was written: the macros below pass the call
 * site (__FILE__, __LINE__, __func__) down, and the journal gets it as
 * CODE_FILE (relative to the source tree), CODE_LINE and CODE_FUNC.
 *
 * Targets:
 *   journal  sd_journal_sendv_with_location(); the fields become journal fields.
 *   console  one readable line per record on stderr, fields appended.
 *   memory   records kept in memory, for unit tests (nothing is printed).
 *   auto     journal when the journal socket exists, console otherwise.
 *
 * The log does not decide what is worth logging: low layers return -errno and
 * the caller that decides logs once. The log never fails its caller: a record
 * that cannot be written is dropped and counted.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "common/macro.h"

typedef enum LogTarget {
	LOG_TARGET_AUTO,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_CONSOLE,
	LOG_TARGET_MEMORY,
	_LOG_TARGET_MAX,
	_LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

/* A record as kept by the memory target. */
typedef struct LogRecord {
	int priority;
	char *message_id; /* NULL when the record has none */
	char *message;
	char **fields;   /* NULL-terminated "KEY=value" list, without MESSAGE/PRIORITY/MESSAGE_ID */
	char *code_file; /* the call site, as CODE_FILE/CODE_LINE/CODE_FUNC */
	unsigned code_line;
	char *code_func;
} LogRecord;

typedef struct Log Log;

/* Path of the journal's native socket; the auto target checks for it. */
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Create a log writing to @target, dropping records above @max_level (LOG_ERR..LOG_DEBUG).
 * Returns 0 or -ENOMEM/-EINVAL. */
int log_new(Log **ret, LogTarget target, int max_level);

/* Free the log and all kept records. Accepts NULL, returns NULL. */
Log *log_free(Log *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Log *, log_free);

/* Change the maximum level of records that are written. */
void log_set_max_level(Log *l, int level);

/* The current maximum level. */
int log_get_max_level(const Log *l);

/* Change the target; auto is resolved at once. Returns 0 or -EINVAL. */
int log_set_target(Log *l, LogTarget target);

/* The resolved target (never LOG_TARGET_AUTO). */
LogTarget log_get_target(const Log *l);

/* The per-run id: 32 lowercase hex digits, stable for the life of @l. */
const char *log_run_id(const Log *l);

/* Number of records dropped because writing them failed. */
unsigned long log_dropped(const Log *l);

/* Parse "err", "warning", "notice", "info", "debug" (or syslog numbers 0..7).
 * Returns the level (>= 0) or -EINVAL. */
int log_level_from_string(const char *s);

/* Name of a syslog level; "invalid" for values out of range. */
const char *log_level_to_string(int level);

/* Parse "auto", "journal", "console", "memory". Returns the target or -EINVAL. */
LogTarget log_target_from_string(const char *s);

/* Name of a target. */
const char *log_target_to_string(LogTarget t);

/*
 * Write one record, written at @file:@line in @func (use the macros, which
 * pass the call site). @fields is an array of @n_fields "KEY=value" strings
 * (may be NULL when @n_fields is 0); @message_id may be NULL. The message is
 * a printf format; "%m" means errno as it was at the call. errno is preserved.
 * Returns 1 when the record was written, 0 when it was below the level.
 */
int log_fields_full(Log *l, const char *file, unsigned line, const char *func, int priority,
		    const char *message_id, const char *const *fields, size_t n_fields, const char *format,
		    ...) _printf_(9, 10);
int log_fields_fullv(Log *l, const char *file, unsigned line, const char *func, int priority,
		     const char *message_id, const char *const *fields, size_t n_fields, const char *format,
		     va_list ap) _printf_(9, 0);

/* Log a plain message with errno set to -@error for "%m", and return @error (a -errno value). */
int log_errno_full(Log *l, const char *file, unsigned line, const char *func, int priority, int error,
		   const char *format, ...) _printf_(7, 8);

#define LOG_CALL_SITE __FILE__, __LINE__, __func__

/* log_fields(l, priority, message_id, fields, n_fields, format, ...) */
#define log_fields(l, ...) log_fields_full((l), LOG_CALL_SITE, __VA_ARGS__)
/* log_errno(l, priority, error, format, ...) */
#define log_errno(l, ...) log_errno_full((l), LOG_CALL_SITE, __VA_ARGS__)

#define log_debug(l, ...)   log_fields((l), LOG_DEBUG, NULL, NULL, 0, __VA_ARGS__)
#define log_info(l, ...)    log_fields((l), LOG_INFO, NULL, NULL, 0, __VA_ARGS__)
#define log_notice(l, ...)  log_fields((l), LOG_NOTICE, NULL, NULL, 0, __VA_ARGS__)
#define log_warning(l, ...) log_fields((l), LOG_WARNING, NULL, NULL, 0, __VA_ARGS__)
#define log_error(l, ...)   log_fields((l), LOG_ERR, NULL, NULL, 0, __VA_ARGS__)

#define log_oom(l) log_errno((l), LOG_ERR, -ENOMEM, "Out of memory.")

#define log_debug_errno(l, r, ...)   log_errno((l), LOG_DEBUG, (r), __VA_ARGS__)
#define log_warning_errno(l, r, ...) log_errno((l), LOG_WARNING, (r), __VA_ARGS__)
#define log_error_errno(l, r, ...)   log_errno((l), LOG_ERR, (r), __VA_ARGS__)

/* Memory target: number of records kept. */
size_t log_memory_count(const Log *l);

/* Memory target: record @i (0 = oldest), or NULL when out of range. */
const LogRecord *log_memory_get(const Log *l, size_t i);

/* Memory target: forget all records. */
void log_memory_clear(Log *l);

/* The value of field @key in @r ("MESSAGE" and "MESSAGE_ID" included; not
 * the CODE_* fields, which are members of @r), or NULL. */
const char *log_record_field(const LogRecord *r, const char *key);
