/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * output: zpcictl's machine and human output, following the s390-tools
 * convention for --format.
 *
 * A command produces either one named object ("function", "policy") or a
 * named list of records ("functions", "events"); each record is a JSON
 * object. The Output object writes them in one of these formats:
 *
 *   table     readable columns (the default); needs column declarations
 *   json      one document: {"meta": {...}, "<name>": <object or [records]>}
 *   jsonl     one compact JSON document per line: first {"meta": {...}}, then
 *             {"<name>": <record>} per record, written as soon as it is added
 *   json-seq  as jsonl, each document preceded by the record separator RS
 *             (0x1e), as RFC 7464 has it
 *   pairs     one line per leaf value: path=value, the path of object members
 *             joined with "." and list items as [index], e.g.
 *             meta.api_level=1, functions[0].fid=17, function.slot="0001:00:00.0";
 *             strings double-quoted with " $ ` \ escaped by a backslash,
 *             \a \b \e \f \n \r \t \v for those control characters and \xhh
 *             for every other byte below 0x20 or from 0x7f, so that a shell's
 *             eval of the output expands nothing; numbers, true and false bare;
 *             a value that is null is left out
 *   csv       a header line of key names, then one line per record: every key
 *             of every record (the columns' keys first), nested values
 *             flattened as in pairs; strings double-quoted ("" inside), numbers
 *             and booleans bare, no value as ""; the meta fields lead every
 *             row as meta.api_level, meta.version, meta.host,
 *             meta.time_epoch, meta.time
 *
 * These are the rules of s390-tools' util_fmt. Format names are matched in
 * any case. With FMT_NOMETA=1 in the environment the meta object (the meta
 * line, the meta.* pairs and columns) is left out, as util_fmt does.
 *
 * The meta object carries api_level (the promise: keys are only ever added
 * within one level), version, host, time_epoch (seconds) and time (local,
 * "YYYY-MM-DD HH:MM:SS+ZZZZ").
 *
 * This module formats only: it neither decides what a record contains nor
 * talks to the daemon.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "common/macro.h"

typedef enum OutputFormat {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_JSONL,
	OUTPUT_PAIRS,
	OUTPUT_CSV,
	OUTPUT_JSON_SEQ,
	_OUTPUT_FORMAT_MAX,
	_OUTPUT_FORMAT_INVALID = -22,
} OutputFormat;

/* How a table cell shows an integer value. */
typedef enum OutputCell {
	OUTPUT_CELL_TEXT,  /* as it is: decimal for numbers */
	OUTPUT_CELL_HEX2,  /* 0x%02x */
	OUTPUT_CELL_HEX4,  /* 0x%04x */
	OUTPUT_CELL_HEX8,  /* 0x%08x */
	OUTPUT_CELL_TIME,  /* µs since the epoch as local "YYYY-MM-DD HH:MM:SS" */
	OUTPUT_CELL_MINUS, /* as TEXT, but "-" for an absent value (the default shows "") */
} OutputCell;

typedef struct OutputColumn {
	const char *key;    /* dotted path into the record, e.g. "last_error.pec" */
	const char *header; /* table header */
	OutputCell cell;
} OutputColumn;

typedef struct OutputMeta {
	unsigned api_level;
	const char *version;
	const char *host;   /* NULL: gethostname() */
	uint64_t time_usec; /* 0: now */
} OutputMeta;

typedef struct Output Output;

/* "table", "json", "jsonl", "pairs", "csv", "json-seq". */
const char *output_format_to_string(OutputFormat f);

/* Parse a format name, in any case. Returns the format or _OUTPUT_FORMAT_INVALID. */
OutputFormat output_format_from_string(const char *s);

/* Whether @f is one of the JSON formats (errors are then JSON too). */
bool output_format_is_json(OutputFormat f);

/* Whether $FMT_NOMETA is "1": the meta object is left out. */
bool output_no_meta(void);

/* The meta object. Returns 0 or -ENOMEM. */
int output_meta_to_json(const OutputMeta *meta, json_object **ret);

/*
 * Start an output of records named @name to @f. @list: true for a list of
 * records, false for a single object (output_add() then takes exactly one
 * record). @columns (terminated by a NULL key) is required for the table
 * format and optional otherwise (csv then puts their keys first; a streamed
 * csv, whose header comes before the records, has their keys and those of
 * the first record). The arrays behind @meta and @columns must
 * outlive the Output. Returns 0, -EINVAL or -ENOMEM.
 */
int output_new(Output **ret, FILE *f, OutputFormat format, const OutputMeta *meta, const char *name,
	       bool list, const OutputColumn *columns);

/* Streaming: write every record as it is added (for --follow/monitor):
 * table prints the header once and unaligned rows, json behaves as jsonl. */
void output_set_streaming(Output *o, bool streaming);

/* Suppress the table header line. */
void output_set_no_header(Output *o, bool no_header);

/* Add a record; takes a reference of its own on @record. Returns 0, -E2BIG
 * (a second record for a single object) or -ENOMEM. */
int output_add(Output *o, json_object *record);

/* Write everything still buffered and flush. Returns 0 or -EIO. */
int output_finish(Output *o);

/* Free. Accepts NULL, returns NULL. */
Output *output_free(Output *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Output *, output_free);

/*
 * Report an error in the output's format: under a JSON format a document
 * {"meta": {...}, "error": {"message": ..., "name": ..., "exit_code": ...}}
 * on @f; otherwise "zpcictl: <message>" on stderr. @name (a D-Bus error
 * name or NULL) is included when set. Returns @exit_code.
 */
int output_error(FILE *f, OutputFormat format, const OutputMeta *meta, int exit_code, const char *name,
		 const char *message);

/* Quote @s for csv (RFC 4180) into a new string. Returns it or NULL (ENOMEM). */
char *output_csv_quote(const char *s);

/* Quote @s for pairs (double quotes, escaped as described above) into a new string. Returns it or NULL. */
char *output_pairs_quote(const char *s);

/* Format a realtime in µs as local "YYYY-MM-DD HH:MM:SS+ZZZZ" (@with_zone) into @buf. Returns @buf. */
const char *output_format_time(uint64_t usec, bool with_zone, char *buf, size_t size);
