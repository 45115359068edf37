/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>

#include "common/jsonpos.h"
#include "common/macro.h"

static json_object *parse_ok(const char *text)
{
	json_object *o = NULL;
	JsonPosError err;
	int r = json_pos_parse(text, strlen(text), "t.json", 0, &o, &err);

	ck_assert_msg(r == 0, "parse of %s failed: %u:%u: %s", text, err.line, err.column, err.message);
	return o;
}

START_TEST(test_positions)
{
	const char *text = "{\n"
			   "  \"a\": 1,\n"
			   "  \"b\": [true, null,\n"
			   "\t\"x\"],\n"
			   "  \"ü\": {\"c\": null, \"d\": -2.5e3}\n"
			   "}\n";
	_cleanup_(json_pos_putp) json_object *o = parse_ok(text);
	json_object *b, *u;
	JsonLoc k, v;

	ck_assert(json_pos_get(o, &v));
	ck_assert_str_eq(v.file, "t.json");
	ck_assert_uint_eq(v.line, 1);
	ck_assert_uint_eq(v.column, 1);

	ck_assert(json_pos_get_member(o, "a", &k, &v));
	ck_assert_uint_eq(k.line, 2);
	ck_assert_uint_eq(k.column, 3);
	ck_assert_uint_eq(v.line, 2);
	ck_assert_uint_eq(v.column, 8);

	ck_assert(json_object_object_get_ex(o, "b", &b));
	ck_assert(json_pos_get(b, &v));
	ck_assert_uint_eq(v.line, 3);
	ck_assert_uint_eq(v.column, 8);
	ck_assert(json_pos_get_element(b, 0, &v));
	ck_assert_uint_eq(v.column, 9);
	ck_assert(json_pos_get_element(b, 1, &v)); /* null still has a position */
	ck_assert_uint_eq(v.line, 3);
	ck_assert_uint_eq(v.column, 15);
	ck_assert(json_pos_get_element(b, 2, &v));
	ck_assert_uint_eq(v.line, 4);
	ck_assert_uint_eq(v.column, 2); /* a tab is one column */
	ck_assert(!json_pos_get_element(b, 3, &v));

	/* Columns count characters: "ü" is one. */
	ck_assert(json_object_object_get_ex(o, "ü", &u));
	ck_assert(json_pos_get_member(o, "ü", &k, &v));
	ck_assert_uint_eq(k.line, 5);
	ck_assert_uint_eq(k.column, 3);
	ck_assert_uint_eq(v.column, 8);
	ck_assert(json_pos_get_member(u, "c", &k, &v));
	ck_assert_uint_eq(v.column, 14);
	ck_assert(json_pos_get_member(u, "d", NULL, &v));
	ck_assert_uint_eq(v.column, 25);
	ck_assert(json_object_is_type(json_object_object_get(u, "d"), json_type_double));
	ck_assert(!json_pos_get_member(u, "nope", NULL, NULL));
	ck_assert(!json_pos_get(NULL, &v));
}
END_TEST

START_TEST(test_values)
{
	_cleanup_(json_pos_putp) json_object *o = parse_ok(
		"\xef\xbb\xbf{\"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", "
		"\"max\": 9223372036854775807, \"min\": -9223372036854775808, \"z\": 0, \"f\": 0.5, "
		"\"e\": 1E2, \"t\": true, \"n\": null, \"u\": \"€\"}");
	json_object *v;

	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "s")),
			 "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert(json_object_is_type(json_object_object_get(o, "max"), json_type_int));
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "max")), INT64_MAX);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "min")), INT64_MIN);
	ck_assert(json_object_is_type(json_object_object_get(o, "e"), json_type_double));
	ck_assert(json_object_object_get_ex(o, "n", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_get_boolean(json_object_object_get(o, "t")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "u")), "€");

	/* A top-level scalar is a document too. */
	json_object *s = parse_ok(" 42 ");
	ck_assert_int_eq(json_object_get_int(s), 42);
	json_object_put(s);
}
END_TEST

static const struct {
	const char *text;
	unsigned line, column;
	const char *message; /* substring */
} bad[] = {
	{ "", 1, 1, "unexpected end of file" },
	{ "   \n  ", 2, 3, "unexpected end of file" },
	{ "{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key \"a\" (first defined at 1:2" },
	{ "{\"a\": {\"b\": 1,\n \"b\": 2}}", 2, 2, "duplicate key \"b\"" },
	{ "{\"a\": 1} x", 1, 10, "trailing garbage" },
	{ "{\"a\": 1}\n}", 2, 1, "trailing garbage" },
	{ "[1 2]", 1, 4, "expected ',' or ']'" },
	{ "{\"a\" 1}", 1, 6, "expected ':'" },
	{ "{\"a\": 1,}", 1, 9, "trailing comma" },
	{ "[1,]", 1, 4, "trailing comma" },
	{ "{a: 1}", 1, 2, "expected a string key" },
	{ "\"ab\\x\"", 1, 4, "invalid escape sequence" },
	{ "\"ab\\u12g4\"", 1, 8, "expected 4 hex digits" },
	{ "\"a\\u0000\"", 1, 3, "\\u0000 is not allowed" },
	{ "\"a\\ud800x\"", 1, 3, "unpaired surrogate" },
	{ "\"a\\udc00\"", 1, 3, "unpaired low surrogate" },
	{ "\"a\tb\"", 1, 3, "control character 0x09" },
	{ "\"a\nb\"", 1, 3, "control character 0x0a" },
	{ "\"a\xff\"", 1, 3, "invalid UTF-8" },
	{ "\"a\xc0\xaf\"", 1, 3, "invalid UTF-8" },
	{ "\"abc", 1, 1, "unterminated string" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 1, 33,
	  "nesting deeper than 32" },
	{ "99999999999999999999", 1, 1, "out of range" },
	{ "-9223372036854775809", 1, 1, "out of range" },
	{ "1e999", 1, 1, "out of range" },
	{ "[01]", 1, 2, "leading zeros" },
	{ "[1.]", 1, 4, "expected a digit after '.'" },
	{ "[1e+]", 1, 5, "exponent" },
	{ "[-]", 1, 3, "expected a digit" },
	{ "[+1]", 1, 2, "unexpected '+'" },
	{ "[tru]", 1, 2, "invalid literal" },
	{ "[nul]", 1, 2, "invalid literal" },
	{ "// c\n{}", 1, 1, "comments are not allowed" },
	{ "{'a': 1}", 1, 2, "expected a string key" },
	{ "['a']", 1, 2, "double quotes" },
	{ "{\"a\": NaN}", 1, 7, "expected a JSON value" },
};

START_TEST(test_errors)
{
	json_object *o = NULL;
	JsonPosError err;
	const char *text = bad[_i].text;
	int r;

	r = json_pos_parse(text, strlen(text), "t.json", 0, &o, &err);
	ck_assert_msg(r == -EINVAL, "case %d (%s) parsed", _i, text);
	ck_assert_ptr_null(o);
	ck_assert_msg(err.line == bad[_i].line && err.column == bad[_i].column,
		      "case %d (%s): got %u:%u %s, expected %u:%u", _i, text, err.line, err.column,
		      err.message, bad[_i].line, bad[_i].column);
	ck_assert_msg(strstr(err.message, bad[_i].message), "case %d: message \"%s\" lacks \"%s\"", _i,
		      err.message, bad[_i].message);
}
END_TEST

START_TEST(test_depth_option)
{
	json_object *o = NULL;
	JsonPosError err;

	ck_assert_int_eq(json_pos_parse("[[[1]]]", 7, "t", 3, &o, &err), 0);
	json_object_put(o);
	o = NULL;
	ck_assert_int_eq(json_pos_parse("[[[[1]]]]", 9, "t", 3, &o, &err), -EINVAL);
	ck_assert_uint_eq(err.column, 4);
	/* Input need not be NUL-terminated: only @size bytes count. */
	ck_assert_int_eq(json_pos_parse("[1]garbage", 3, "t", 0, &o, &err), 0);
	json_object_put(o);
}
END_TEST

START_TEST(test_files)
{
	char dir[] = "/tmp/test-jsonpos-XXXXXX", path[128];
	json_object *o = NULL;
	JsonPosError err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/ok.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\n  \"k\": [1, 2]\n}\n", f);
	fclose(f);
	ck_assert_int_eq(json_pos_parse_file(path, 0, &o, &err), 0);
	{
		JsonLoc v;
		ck_assert(json_pos_get_member(o, "k", NULL, &v));
		ck_assert_str_eq(v.file, path);
		ck_assert_uint_eq(v.line, 2);
		ck_assert_uint_eq(v.column, 8);
	}
	json_object_put(o);
	o = NULL;
	ck_assert_int_eq(unlink(path), 0);

	ck_assert_int_eq(json_pos_parse_file(path, 0, &o, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.message, "No such file"));
	ck_assert_uint_eq(err.line, 0);

	ck_assert_int_eq(json_pos_parse_file(dir, 0, &o, &err), -EISDIR);
	ck_assert_ptr_nonnull(strstr(err.message, "is a directory"));

	(void)snprintf(path, sizeof(path), "%s/fifo.json", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(json_pos_parse_file(path, 0, &o, &err), -EBADFD);
	ck_assert_ptr_nonnull(strstr(err.message, "not a regular file"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_move_member)
{
	_cleanup_(json_pos_putp) json_object *a = NULL, *b = NULL;
	json_object *o = NULL;
	JsonPosError err;
	JsonLoc k, v;

	ck_assert_int_eq(json_pos_parse("{\"x\": 1, \"y\": 2}", strlen("{\"x\": 1, \"y\": 2}"), "a.json", 0,
					&a, &err),
			 0);
	ck_assert_int_eq(json_pos_parse("{\n\"y\": null, \"z\": [3]}", strlen("{\n\"y\": null, \"z\": [3]}"),
					"b.json", 0, &b, &err),
			 0);
	ck_assert_int_eq(json_pos_move_member(a, b, "y"), 0);
	ck_assert_int_eq(json_pos_move_member(a, b, "z"), 0);
	ck_assert_int_eq(json_pos_move_member(a, b, "nope"), -ENOENT);

	ck_assert(json_object_object_get_ex(a, "y", &o));
	ck_assert_ptr_null(o);
	ck_assert(json_pos_get_member(a, "y", &k, &v));
	ck_assert_str_eq(k.file, "b.json");
	ck_assert_uint_eq(k.line, 2);
	ck_assert_uint_eq(v.column, 6);
	ck_assert(json_pos_get_member(a, "z", NULL, &v));
	ck_assert_str_eq(v.file, "b.json");
	ck_assert_uint_eq(v.column, 17);
	ck_assert(json_pos_get_member(a, "x", NULL, &v));
	ck_assert_str_eq(v.file, "a.json");
	/* The moved value keeps its own position, even after its old parent is gone. */
	json_object_put(TAKE_PTR(b));
	ck_assert(json_pos_get_element(json_object_object_get(a, "z"), 0, &v));
	ck_assert_str_eq(v.file, "b.json");
	ck_assert_uint_eq(v.column, 18);
}
END_TEST

static Suite *jsonpos_suite(void)
{
	Suite *s = suite_create("jsonpos");
	TCase *tc = tcase_create("jsonpos");

	tcase_add_test(tc, test_positions);
	tcase_add_test(tc, test_values);
	tcase_add_loop_test(tc, test_errors, 0, ELEMENTSOF(bad));
	tcase_add_test(tc, test_depth_option);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_move_member);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsonpos_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
