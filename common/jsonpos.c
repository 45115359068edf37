/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonpos: strict JSON to json-c with positions (see jsonpos.h).
 *
 * A hand-written recursive-descent parser: the grammar is small, and owning
 * it is what makes exact positions and strictness possible. Each parsed
 * value gets a JsonPosNode as its json-c userdata; containers additionally
 * keep one JsonPosMember per member/element (key and value positions).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jsonpos.h"
#include "common/macro.h"

typedef struct JsonPosMember {
	char *key; /* NULL for array elements */
	char *file;
	unsigned key_line, key_column;
	unsigned line, column;
} JsonPosMember;

typedef struct JsonPosNode {
	char *file;
	unsigned line, column;
	JsonPosMember *members;
	size_t n_members, n_allocated;
} JsonPosNode;

typedef struct Parser {
	const char *p, *end;
	unsigned line, column;
	unsigned depth, max_depth;
	const char *file;
	JsonPosError *err;
} Parser;

static void node_free(json_object *o, void *userdata)
{
	JsonPosNode *n = userdata;

	if (!n)
		return;
	for (size_t i = 0; i < n->n_members; i++) {
		free(n->members[i].key);
		free(n->members[i].file);
	}
	free(n->members);
	free(n->file);
	free(n);
}

static JsonPosNode *node_of(json_object *o)
{
	return o ? json_object_get_userdata(o) : NULL;
}

static int node_attach(json_object *o, const char *file, unsigned line, unsigned column)
{
	JsonPosNode *n;

	if (!o)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->file = strdup(strempty(file));
	if (!n->file) {
		free(n);
		return -ENOMEM;
	}
	n->line = line;
	n->column = column;
	json_object_set_userdata(o, n, node_free);
	return 0;
}

static JsonPosMember *node_find_member(JsonPosNode *n, const char *key)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].key && streq(n->members[i].key, key))
			return &n->members[i];
	return NULL;
}

static int node_add_member(JsonPosNode *n, const char *key, const char *file, unsigned key_line,
			   unsigned key_column, unsigned line, unsigned column)
{
	JsonPosMember *m;

	if (n->n_members == n->n_allocated) {
		size_t k = n->n_allocated ? n->n_allocated * 2 : 4;
		JsonPosMember *a = reallocarray(n->members, k, sizeof(*a));
		if (!a)
			return -ENOMEM;
		n->members = a;
		n->n_allocated = k;
	}
	m = &n->members[n->n_members];
	*m = (JsonPosMember){
		.key_line = key_line, .key_column = key_column, .line = line, .column = column
	};
	m->file = strdup(strempty(file));
	if (!m->file)
		return -ENOMEM;
	if (key) {
		m->key = strdup(key);
		if (!m->key) {
			free(m->file);
			m->file = NULL;
			return -ENOMEM;
		}
	}
	n->n_members++;
	return 0;
}

_printf_(4, 5) static int parser_error(Parser *P, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;

	P->err->line = line;
	P->err->column = column;
	va_start(ap, fmt);
	(void)vsnprintf(P->err->message, sizeof(P->err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Describe the character at the cursor for an error message. */
static const char *describe_here(const Parser *P, char *buf, size_t size)
{
	unsigned char c;

	if (P->p >= P->end)
		return "end of file";
	c = (unsigned char)*P->p;
	if (c >= 0x21 && c < 0x7f)
		(void)snprintf(buf, size, "'%c'", c);
	else if (c == ' ')
		return "a space";
	else if (c == '\n')
		return "end of line";
	else
		(void)snprintf(buf, size, "byte 0x%02x", c);
	return buf;
}

static void advance(Parser *P)
{
	unsigned char c = (unsigned char)*P->p++;

	if (c == '\n') {
		P->line++;
		P->column = 1;
	} else if ((c & 0xc0) != 0x80)
		P->column++;
}

static void skip_ws(Parser *P)
{
	while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r'))
		advance(P);
}

static bool at(const Parser *P, char c)
{
	return P->p < P->end && *P->p == c;
}

typedef struct Buf {
	char *data;
	size_t n, allocated;
} Buf;

static int buf_put(Buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->allocated) {
		size_t k = MAX(b->allocated * 2, b->n + n + 64);
		char *d = realloc(b->data, k);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->allocated = k;
	}
	memcpy(b->data + b->n, s, n);
	b->n += n;
	b->data[b->n] = 0;
	return 0;
}

static int utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if invalid. */
static size_t utf8_valid_length(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int parse_hex4(Parser *P, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = P->p < P->end ? *P->p : 0;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else {
			char b[16];
			return parser_error(P, P->line, P->column,
					    "invalid \\u escape: expected 4 hex digits, got %s",
					    describe_here(P, b, sizeof(b)));
		}
		v = (v << 4) | (uint32_t)d;
		advance(P);
	}
	*ret = v;
	return 0;
}

/* Parse a string at the cursor (which is at the opening quote) into a NUL-terminated buffer. */
static int parse_string_raw(Parser *P, char **ret, size_t *ret_len)
{
	unsigned start_line = P->line, start_column = P->column;
	Buf b = {};
	int r;

	advance(P); /* opening quote */
	for (;;) {
		unsigned char c;

		if (P->p >= P->end) {
			r = parser_error(P, start_line, start_column,
					 "unterminated string (expected a closing '\"')");
			goto fail;
		}
		c = (unsigned char)*P->p;
		if (c == '"') {
			advance(P);
			break;
		}
		if (c < 0x20) {
			r = parser_error(P, P->line, P->column,
					 "control character 0x%02x in string (expected it escaped, e.g. \\n "
					 "or \\u%04x)",
					 c, c);
			goto fail;
		}
		if (c == '\\') {
			unsigned esc_line = P->line, esc_column = P->column;
			char out[4];
			uint32_t cp;
			char e;

			advance(P);
			e = P->p < P->end ? *P->p : 0;
			switch (e) {
			case '"':
			case '\\':
			case '/':
				r = buf_put(&b, &e, 1);
				break;
			case 'b':
				r = buf_put(&b, "\b", 1);
				break;
			case 'f':
				r = buf_put(&b, "\f", 1);
				break;
			case 'n':
				r = buf_put(&b, "\n", 1);
				break;
			case 'r':
				r = buf_put(&b, "\r", 1);
				break;
			case 't':
				r = buf_put(&b, "\t", 1);
				break;
			case 'u':
				advance(P);
				r = parse_hex4(P, &cp);
				if (r < 0)
					goto fail;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;

					if (P->end - P->p < 2 || P->p[0] != '\\' || P->p[1] != 'u') {
						r = parser_error(
							P, esc_line, esc_column,
							"unpaired surrogate \\u%04x (expected a low "
							"surrogate \\udc00-\\udfff to follow)",
							cp);
						goto fail;
					}
					advance(P);
					advance(P);
					r = parse_hex4(P, &lo);
					if (r < 0)
						goto fail;
					if (lo < 0xdc00 || lo > 0xdfff) {
						r = parser_error(
							P, esc_line, esc_column,
							"unpaired surrogate \\u%04x (expected a low "
							"surrogate \\udc00-\\udfff to follow)",
							cp);
						goto fail;
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					r = parser_error(P, esc_line, esc_column,
							 "unpaired low surrogate \\u%04x in string", cp);
					goto fail;
				} else if (cp == 0) {
					r = parser_error(P, esc_line, esc_column,
							 "\\u0000 is not allowed in a string");
					goto fail;
				}
				r = buf_put(&b, out, (size_t)utf8_encode(cp, out));
				if (r < 0)
					goto fail;
				continue; /* parse_hex4 advanced already */
			default: {
				char d[16];
				r = parser_error(
					P, esc_line, esc_column,
					"invalid escape sequence: expected one of \\\" \\\\ \\/ \\b \\f \\n "
					"\\r \\t \\uXXXX after '\\', got %s",
					describe_here(P, d, sizeof(d)));
				goto fail;
			}
			}
			if (r < 0)
				goto fail;
			advance(P);
			continue;
		}
		if (c >= 0x80) {
			size_t len = utf8_valid_length((const unsigned char *)P->p, (size_t)(P->end - P->p));

			if (len == 0) {
				r = parser_error(P, P->line, P->column,
						 "invalid UTF-8 byte 0x%02x in string", c);
				goto fail;
			}
			r = buf_put(&b, P->p, len);
			if (r < 0)
				goto fail;
			for (size_t i = 0; i < len; i++)
				advance(P);
			continue;
		}
		r = buf_put(&b, P->p, 1);
		if (r < 0)
			goto fail;
		advance(P);
	}
	if (!b.data) {
		b.data = strdup("");
		if (!b.data)
			return -ENOMEM;
	}
	*ret = b.data;
	*ret_len = b.n;
	return 0;
fail:
	free(b.data);
	return r;
}

static int parse_number(Parser *P, json_object **ret)
{
	unsigned line = P->line, column = P->column;
	const char *start = P->p;
	bool integer = true;
	char buf[128], d[16];
	size_t len;

	if (at(P, '-'))
		advance(P);
	if (!(P->p < P->end && *P->p >= '0' && *P->p <= '9'))
		return parser_error(P, P->line, P->column, "invalid number: expected a digit, got %s",
				    describe_here(P, d, sizeof(d)));
	if (*P->p == '0') {
		advance(P);
		if (P->p < P->end && *P->p >= '0' && *P->p <= '9')
			return parser_error(P, line, column,
					    "invalid number: leading zeros are not allowed");
	} else
		while (P->p < P->end && *P->p >= '0' && *P->p <= '9')
			advance(P);
	if (at(P, '.')) {
		integer = false;
		advance(P);
		if (!(P->p < P->end && *P->p >= '0' && *P->p <= '9'))
			return parser_error(P, P->line, P->column,
					    "invalid number: expected a digit after '.', got %s",
					    describe_here(P, d, sizeof(d)));
		while (P->p < P->end && *P->p >= '0' && *P->p <= '9')
			advance(P);
	}
	if (at(P, 'e') || at(P, 'E')) {
		integer = false;
		advance(P);
		if (at(P, '+') || at(P, '-'))
			advance(P);
		if (!(P->p < P->end && *P->p >= '0' && *P->p <= '9'))
			return parser_error(P, P->line, P->column,
					    "invalid number: expected a digit in the exponent, got %s",
					    describe_here(P, d, sizeof(d)));
		while (P->p < P->end && *P->p >= '0' && *P->p <= '9')
			advance(P);
	}
	len = (size_t)(P->p - start);
	if (len >= sizeof(buf))
		return parser_error(P, line, column, "number too long (at most %zu characters)",
				    sizeof(buf) - 1);
	memcpy(buf, start, len);
	buf[len] = 0;

	errno = 0;
	if (integer) {
		long long v = strtoll(buf, NULL, 10);

		if (errno == ERANGE)
			return parser_error(P, line, column,
					    "integer %s out of range (expected "
					    "-9223372036854775808..9223372036854775807)",
					    buf);
		*ret = json_object_new_int64(v);
	} else {
		double v = strtod(buf, NULL);

		if (!isfinite(v))
			return parser_error(P, line, column, "number %s out of range", buf);
		*ret = json_object_new_double(v);
	}
	return *ret ? 0 : -ENOMEM;
}

static int parse_value(Parser *P, json_object **ret, unsigned *ret_line, unsigned *ret_column);

static int parse_object(Parser *P, json_object **ret)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	JsonPosNode *node;
	char d[16];
	int r;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r = node_attach(o, P->file, P->line, P->column);
	if (r < 0)
		return r;
	node = node_of(o);
	advance(P); /* '{' */
	skip_ws(P);
	if (at(P, '}')) {
		advance(P);
		*ret = TAKE_PTR(o);
		return 0;
	}
	for (;;) {
		_cleanup_free_ char *key = NULL;
		json_object *v = NULL;
		unsigned key_line, key_column, line, column;
		JsonPosMember *prev;
		size_t key_len;

		skip_ws(P);
		if (!at(P, '"'))
			return parser_error(P, P->line, P->column,
					    "expected a string key in double quotes, got %s",
					    describe_here(P, d, sizeof(d)));
		key_line = P->line;
		key_column = P->column;
		r = parse_string_raw(P, &key, &key_len);
		if (r < 0)
			return r;
		prev = node_find_member(node, key);
		if (prev)
			return parser_error(
				P, key_line, key_column,
				"duplicate key \"%s\" (first defined at %u:%u; expected each key once)", key,
				prev->key_line, prev->key_column);
		skip_ws(P);
		if (!at(P, ':'))
			return parser_error(P, P->line, P->column, "expected ':' after key \"%s\", got %s",
					    key, describe_here(P, d, sizeof(d)));
		advance(P);
		r = parse_value(P, &v, &line, &column);
		if (r < 0)
			return r;
		if (json_object_object_add(o, key, v) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
		r = node_add_member(node, key, P->file, key_line, key_column, line, column);
		if (r < 0)
			return r;
		skip_ws(P);
		if (at(P, ',')) {
			advance(P);
			skip_ws(P);
			if (at(P, '}'))
				return parser_error(P, P->line, P->column,
						    "trailing comma before '}' (expected another key)");
			continue;
		}
		if (at(P, '}')) {
			advance(P);
			break;
		}
		return parser_error(P, P->line, P->column, "expected ',' or '}' after a member, got %s",
				    describe_here(P, d, sizeof(d)));
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int parse_array(Parser *P, json_object **ret)
{
	_cleanup_(json_pos_putp) json_object *a = NULL;
	JsonPosNode *node;
	char d[16];
	int r;

	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	r = node_attach(a, P->file, P->line, P->column);
	if (r < 0)
		return r;
	node = node_of(a);
	advance(P); /* '[' */
	skip_ws(P);
	if (at(P, ']')) {
		advance(P);
		*ret = TAKE_PTR(a);
		return 0;
	}
	for (;;) {
		json_object *v = NULL;
		unsigned line, column;

		r = parse_value(P, &v, &line, &column);
		if (r < 0)
			return r;
		if (json_object_array_add(a, v) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
		r = node_add_member(node, NULL, P->file, line, column, line, column);
		if (r < 0)
			return r;
		skip_ws(P);
		if (at(P, ',')) {
			advance(P);
			skip_ws(P);
			if (at(P, ']'))
				return parser_error(P, P->line, P->column,
						    "trailing comma before ']' (expected another value)");
			continue;
		}
		if (at(P, ']')) {
			advance(P);
			break;
		}
		return parser_error(P, P->line, P->column,
				    "expected ',' or ']' after an array element, got %s",
				    describe_here(P, d, sizeof(d)));
	}
	*ret = TAKE_PTR(a);
	return 0;
}

static bool match_literal(Parser *P, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(P->end - P->p) < n || memcmp(P->p, lit, n) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		advance(P);
	return true;
}

static int parse_value(Parser *P, json_object **ret, unsigned *ret_line, unsigned *ret_column)
{
	unsigned line, column;
	json_object *o = NULL;
	char d[16];
	int r;

	skip_ws(P);
	line = *ret_line = P->line;
	column = *ret_column = P->column;
	if (P->p >= P->end)
		return parser_error(P, line, column, "unexpected end of file (expected a JSON value)");

	switch (*P->p) {
	case '{':
	case '[':
		if (P->depth >= P->max_depth)
			return parser_error(P, line, column, "nesting deeper than %u levels", P->max_depth);
		P->depth++;
		r = *P->p == '{' ? parse_object(P, &o) : parse_array(P, &o);
		P->depth--;
		if (r < 0)
			return r;
		*ret = o;
		return 0; /* containers attach their own node */
	case '"': {
		_cleanup_free_ char *s = NULL;
		size_t len;

		r = parse_string_raw(P, &s, &len);
		if (r < 0)
			return r;
		o = json_object_new_string_len(s, (int)len);
		break;
	}
	case 't':
	case 'f':
	case 'n':
		if (match_literal(P, "true"))
			o = json_object_new_boolean(1);
		else if (match_literal(P, "false"))
			o = json_object_new_boolean(0);
		else if (match_literal(P, "null")) {
			*ret = NULL;
			return 0;
		} else
			return parser_error(P, line, column,
					    "invalid literal (expected true, false or null)");
		break;
	default:
		if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9')) {
			r = parse_number(P, &o);
			if (r < 0)
				return r;
			break;
		}
		if (*P->p == '/')
			return parser_error(P, line, column, "comments are not allowed in JSON");
		if (*P->p == '\'')
			return parser_error(P, line, column,
					    "strings must be in double quotes (expected a JSON value)");
		return parser_error(P, line, column, "unexpected %s (expected a JSON value)",
				    describe_here(P, d, sizeof(d)));
	}
	if (!o)
		return -ENOMEM;
	r = node_attach(o, P->file, line, column);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

int json_pos_parse(const char *text, size_t size, const char *file_name, unsigned max_depth,
		   json_object **ret, JsonPosError *err)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	JsonPosError dummy;
	Parser P = {
		.p = text,
		.end = text + size,
		.line = 1,
		.column = 1,
		.max_depth = max_depth ? max_depth : JSON_POS_DEPTH_MAX_DEFAULT,
		.file = file_name,
		.err = err ?: &dummy,
	};
	unsigned line, column;
	char d[16];
	int r;

	*P.err = (JsonPosError){};
	if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		P.p += 3;
	r = parse_value(&P, &o, &line, &column);
	if (r < 0)
		return r;
	skip_ws(&P);
	if (P.p < P.end)
		return parser_error(&P, P.line, P.column,
				    "trailing garbage after the JSON value: %s (expected end of file)",
				    describe_here(&P, d, sizeof(d)));
	*ret = TAKE_PTR(o);
	return 0;
}

int json_pos_parse_file(const char *path, unsigned max_depth, json_object **ret, JsonPosError *err)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *data = NULL;
	JsonPosError dummy;
	size_t n = 0, allocated;
	struct stat st;

	err = err ?: &dummy;
	*err = (JsonPosError){};
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		(void)snprintf(err->message, sizeof(err->message), "cannot open file: %s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		(void)snprintf(err->message, sizeof(err->message), "cannot stat file: %s", strerror(e));
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		(void)snprintf(err->message, sizeof(err->message),
			       "is a directory (expected a regular file)");
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err->message, sizeof(err->message), "not a regular file");
		return -EBADFD;
	}
	if ((unsigned long long)st.st_size > JSON_POS_FILE_SIZE_MAX) {
		(void)snprintf(err->message, sizeof(err->message), "file too large (at most %u bytes)",
			       JSON_POS_FILE_SIZE_MAX);
		return -EFBIG;
	}
	allocated = (size_t)st.st_size + 1;
	data = malloc(allocated);
	if (!data)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n == allocated) {
			/* The file grew while being read: the limit still applies. */
			if (allocated > JSON_POS_FILE_SIZE_MAX) {
				(void)snprintf(err->message, sizeof(err->message),
					       "file too large (at most %u bytes)", JSON_POS_FILE_SIZE_MAX);
				return -EFBIG;
			}
			char *d = realloc(data, allocated * 2);
			if (!d)
				return -ENOMEM;
			data = d;
			allocated *= 2;
		}
		k = read(fd, data + n, allocated - n);
		if (k < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			(void)snprintf(err->message, sizeof(err->message), "cannot read file: %s",
				       strerror(e));
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return json_pos_parse(data, n, path, max_depth, ret, err);
}

bool json_pos_get(json_object *o, JsonLoc *ret)
{
	JsonPosNode *n = node_of(o);

	if (!n)
		return false;
	if (ret)
		*ret = (JsonLoc){ .file = n->file, .line = n->line, .column = n->column };
	return true;
}

bool json_pos_get_member(json_object *parent, const char *key, JsonLoc *ret_key, JsonLoc *ret_value)
{
	JsonPosMember *m;

	if (!json_object_is_type(parent, json_type_object))
		return false;
	m = node_find_member(node_of(parent), key);
	if (!m)
		return false;
	if (ret_key)
		*ret_key = (JsonLoc){ .file = m->file, .line = m->key_line, .column = m->key_column };
	if (ret_value)
		*ret_value = (JsonLoc){ .file = m->file, .line = m->line, .column = m->column };
	return true;
}

bool json_pos_get_element(json_object *parent, size_t i, JsonLoc *ret)
{
	JsonPosNode *n;

	if (!json_object_is_type(parent, json_type_array))
		return false;
	n = node_of(parent);
	if (!n || i >= n->n_members)
		return false;
	if (ret)
		*ret = (JsonLoc){ .file = n->members[i].file,
				  .line = n->members[i].line,
				  .column = n->members[i].column };
	return true;
}

int json_pos_move_member(json_object *dst, json_object *src, const char *key)
{
	json_object *v = NULL;
	JsonPosMember *from, *to;
	JsonPosNode *dn;
	char *file;
	int r;

	if (!json_object_object_get_ex(src, key, &v))
		return -ENOENT;
	if (json_object_object_add(dst, key, json_object_get(v)) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	from = node_find_member(node_of(src), key);
	if (!from)
		return 0;
	dn = node_of(dst);
	if (!dn) {
		r = node_attach(dst, from->file, from->line, from->column);
		if (r < 0)
			return r;
		dn = node_of(dst);
	}
	to = node_find_member(dn, key);
	if (!to)
		return node_add_member(dn, key, from->file, from->key_line, from->key_column, from->line,
				       from->column);
	file = strdup(from->file);
	if (!file)
		return -ENOMEM;
	free(to->file);
	to->file = file;
	to->key_line = from->key_line;
	to->key_column = from->key_column;
	to->line = from->line;
	to->column = from->column;
	return 0;
}
