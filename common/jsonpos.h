/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * jsonpos: a small, strict JSON parser that builds json-c objects and
 * remembers where every value and every object key came from.
 *
 * json-c's own tokener neither records positions nor rejects duplicate keys,
 * and a configuration file needs both: each error must point at
 * FILE:LINE:COLUMN. This parser accepts exactly RFC 8259 JSON (an optional
 * UTF-8 byte order mark is skipped) and rejects, with a position: duplicate
 * keys, trailing garbage, invalid escapes, raw control characters in
 * strings, invalid UTF-8, nesting deeper than a limit, integers outside
 * int64 and numbers outside double, "\u0000" (C strings cannot hold it),
 * comments and every other extension.
 *
 * Integers (no fraction, no exponent) become json_type_int, other numbers
 * json_type_double. Lines and columns are 1-based; a column counts
 * characters (UTF-8 code points), a tab counts as one.
 *
 * Positions are stored as json-c userdata on each container and scalar
 * (JSON null is a NULL json_object, so the position of a member or element
 * is also kept in its parent). Do not set userdata or a custom serializer
 * on objects returned from here. The positions travel with the objects, so
 * members moved between trees (json_pos_move_member()) keep theirs.
 *
 * This module does not read directories, merge files or validate meaning.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* Cleanup helper: json_object_put() a json_object * variable. */
static inline void json_pos_putp(json_object **o)
{
	if (*o)
		(void)json_object_put(*o);
}

#define JSON_POS_DEPTH_MAX_DEFAULT 32
#define JSON_POS_FILE_SIZE_MAX     (4U * 1024U * 1024U)

typedef struct JsonLoc {
	const char *file; /* points into the parsed tree's storage; valid while the object lives */
	unsigned line;
	unsigned column;
} JsonLoc;

typedef struct JsonPosError {
	unsigned line; /* 0 when the error has no position (I/O) */
	unsigned column;
	char message[256];
} JsonPosError;

/*
 * Parse @size bytes at @text (need not be NUL-terminated) as one JSON value,
 * recording @file_name as the file of every position. @max_depth 0 means
 * JSON_POS_DEPTH_MAX_DEFAULT. Returns 0 and sets *@ret (NULL for a document
 * that is just "null"), -EINVAL with @err filled on invalid JSON, or
 * -ENOMEM.
 */
int json_pos_parse(const char *text, size_t size, const char *file_name, unsigned max_depth,
		   json_object **ret, JsonPosError *err);

/*
 * Read and parse the file @path (a regular file of at most
 * JSON_POS_FILE_SIZE_MAX bytes). Returns 0, -EINVAL on invalid JSON, or the
 * -errno of the I/O failure (-EISDIR for a directory, -EBADFD for another
 * kind of non-regular file, -EFBIG for a file too large); @err always says
 * what went wrong.
 */
int json_pos_parse_file(const char *path, unsigned max_depth, json_object **ret, JsonPosError *err);

/* Where the value @o starts. Returns false when @o is NULL or has no position. */
bool json_pos_get(json_object *o, JsonLoc *ret);

/*
 * Where the member @key of the object @parent is: its key (@ret_key) and its
 * value (@ret_value), either may be NULL. Works for null values too.
 * Returns false when @parent has no such member with a position.
 */
bool json_pos_get_member(json_object *parent, const char *key, JsonLoc *ret_key, JsonLoc *ret_value);

/* Where element @i of the array @parent starts. Returns false when unknown. */
bool json_pos_get_element(json_object *parent, size_t i, JsonLoc *ret);

/*
 * Set the member @key of @dst to the value of @key in @src (taking a
 * reference, so the value is shared), and copy its key/value positions.
 * Returns 0, -ENOENT when @src has no such member, or -ENOMEM.
 */
int json_pos_move_member(json_object *dst, json_object *src, const char *key);
