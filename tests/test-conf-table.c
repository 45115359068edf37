/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/conf-table.h"

/* The framework on its own: a private table with every stock setter. */
typedef struct Sample {
	char *name;
	char *path;
	bool flag;
	long long count;
	int color;
	struct {
		long long depth;
	} inner;
} Sample;

static const char *const colors[] = { "red", "green", "blue", NULL };
static const ConfigKey inner_table[] = {
	{ "depth", CONFIG_INT, config_set_int, offsetof(Sample, inner.depth) - offsetof(Sample, inner),
	  .min = 1, .max = 9 },
	{},
};
static const ConfigKey sample_table[] = {
	{ "name", CONFIG_STRING | CONFIG_NULL, config_set_string, offsetof(Sample, name) },
	{ "path", CONFIG_STRING, config_set_path, offsetof(Sample, path) },
	{ "flag", CONFIG_BOOL, config_set_bool, offsetof(Sample, flag) },
	{ "count", CONFIG_INT, config_set_int, offsetof(Sample, count), .min = 0, .max = 100 },
	{ "color", CONFIG_STRING, config_set_enum, offsetof(Sample, color), .values = colors },
	{ "inner", CONFIG_OBJECT, NULL, offsetof(Sample, inner), .table = inner_table },
	{},
};

START_TEST(test_stock_setters)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(json_pos_putp) json_object *o = NULL;
	ConfigContext ctx = { .diag = &d };
	Sample s = { .color = -1 };
	const char *t =
		"{\"name\": \"n\", \"path\": \"/p\", \"flag\": true, \"count\": 7, \"color\": \"blue\", "
		"\"inner\": {\"depth\": 3}}";

	ck_assert_int_eq(json_pos_parse(t, strlen(t), "s.json", 0, &o, NULL), 0);
	ck_assert_int_eq(config_apply_table(&ctx, sample_table, o, "", &s), 0);
	ck_assert_str_eq(s.name, "n");
	ck_assert_str_eq(s.path, "/p");
	ck_assert(s.flag);
	ck_assert_int_eq(s.count, 7);
	ck_assert_int_eq(s.color, 2);
	ck_assert_int_eq(s.inner.depth, 3);
	json_object_put(TAKE_PTR(o));

	t = "{\"name\": null, \"count\": 101, \"flag\": 1, \"color\": \"bleu\", \"inner\": {\"depth\": 0, "
	    "\"dept\": 1}, "
	    "\"count\": 1.5}";
	ck_assert_int_eq(json_pos_parse(t, strlen(t), "s.json", 0, &o, NULL), -EINVAL); /* duplicate key */
	t = "{\"name\": null, \"count\": 101, \"flag\": 1, \"color\": \"bleu\", \"inner\": {\"depth\": 0, "
	    "\"dept\": 1}, "
	    "\"path\": 1.5}";
	ck_assert_int_eq(json_pos_parse(t, strlen(t), "s.json", 0, &o, NULL), 0);
	ck_assert_int_eq(config_apply_table(&ctx, sample_table, o, "", &s), -EINVAL);
	ck_assert_ptr_null(s.name);
	ck_assert_uint_eq(ctx.n_errors, 6);
	ck_assert_str_eq(d.lines[0], "s.json:1:25: count: 101 is out of range (expected 0..100)");
	ck_assert_str_eq(d.lines[1], "s.json:1:38: flag: expected a boolean, got an integer");
	ck_assert_str_eq(d.lines[2], "s.json:1:50: color: invalid value \"bleu\" (expected one of red, "
				     "green, blue; did you mean 'blue'?)");
	ck_assert_str_eq(d.lines[3], "s.json:1:77: inner.depth: 0 is out of range (expected 1..9)");
	ck_assert_str_eq(d.lines[4], "s.json:1:80: unknown key 'dept' in 'inner' (did you mean 'depth'?)");
	ck_assert_str_eq(d.lines[5], "s.json:1:100: path: expected a string, got a number with a fraction");
	free(s.path);

	ck_assert_str_eq(config_closest("levle", (const char *const[]){ "level", "target", NULL }), "level");
	ck_assert_ptr_null(config_closest("completely", (const char *const[]){ "level", "target", NULL }));
}
END_TEST

/* Positions: a value read from a file carries FILE:LINE:COLUMN; without a
 * line only the file is named; without a file, the message stands alone. */
START_TEST(test_error_positions)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	ConfigContext ctx = { .diag = &d };

	ck_assert_int_eq(
		config_error(&ctx, &(JsonLoc){ .file = "a.json", .line = 3, .column = 7 }, "x %d", 1),
		-EINVAL);
	ck_assert_int_eq(config_error(&ctx, &(JsonLoc){ .file = "b.json" }, "y"), -EINVAL);
	ck_assert_int_eq(config_error(&ctx, NULL, "z"), -EINVAL);
	ck_assert_uint_eq(ctx.n_errors, 3);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_str_eq(d.lines[0], "a.json:3:7: x 1");
	ck_assert_str_eq(d.lines[1], "b.json: y");
	ck_assert_str_eq(d.lines[2], "z");
	ck_assert_ptr_null(d.lines[3]);

	/* Without a place to record them, errors are still counted. */
	ctx = (ConfigContext){};
	ck_assert_int_eq(config_error(&ctx, NULL, "lost"), -EINVAL);
	ck_assert_uint_eq(ctx.n_errors, 1);
}
END_TEST

/* A run that finds very many problems counts them all but keeps a bounded list. */
START_TEST(test_diagnostics_bounded)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	ConfigContext ctx = { .diag = &d };

	for (unsigned i = 0; i < 1000; i++)
		(void)config_error(&ctx, NULL, "problem %u", i);
	ck_assert_uint_eq(ctx.n_errors, 1000);
	ck_assert_uint_gt(d.n, 0);
	ck_assert_uint_lt(d.n, 1000);
	ck_assert_str_eq(d.lines[0], "problem 0");
	ck_assert_str_eq(d.lines[d.n - 1], "problem 199");
}
END_TEST

START_TEST(test_type_names)
{
	static const struct {
		const char *json, *name;
	} cases[] = {
		{ "null", "null" },      { "true", "a boolean" },
		{ "1", "an integer" },   { "1.5", "a number with a fraction" },
		{ "\"s\"", "a string" }, { "[]", "an array" },
		{ "{}", "an object" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(json_pos_putp) json_object *o = NULL;
		_cleanup_free_ char *t = NULL;

		ck_assert_int_ge(asprintf(&t, "{\"k\": %s}", cases[i].json), 0);
		ck_assert_int_eq(json_pos_parse(t, strlen(t), "t.json", 0, &o, NULL), 0);
		ck_assert_str_eq(config_type_name(json_object_object_get(o, "k")), cases[i].name);
	}
}
END_TEST

/* Keys: unknown ones name the closest known key, or list them all when none
 * is close; a wrong type names what the key expects; a nested object with a
 * wrong type is not descended into. */
static const ConfigKey small_table[] = {
	{ "alpha", CONFIG_INT, config_set_int, 0 },
	{ "beta", CONFIG_STRING, config_set_path, 0, .expected = "an absolute path" },
	{ "gamma", CONFIG_OBJECT, NULL, 0, .table = small_table },
	{},
};

START_TEST(test_keys)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(json_pos_putp) json_object *o = NULL;
	ConfigContext ctx = { .diag = &d };
	long long target = 0;
	const char *t = "{\"alpah\": 1,\n \"zzzzzzzz\": 2,\n \"beta\": 3,\n \"gamma\": [],\n"
			" \"beta\": \"rel/x\"}";

	ck_assert_int_eq(json_pos_parse(t, strlen(t), "k.json", 0, &o, NULL), -EINVAL); /* duplicate */
	t = "{\"alpah\": 1,\n \"zzzzzzzz\": 2,\n \"beta\": 3,\n \"gamma\": [],\n \"alpha\": \"x\"}";
	ck_assert_int_eq(json_pos_parse(t, strlen(t), "k.json", 0, &o, NULL), 0);
	ck_assert_int_eq(config_apply_table(&ctx, small_table, o, "", &target), -EINVAL);
	ck_assert_uint_eq(d.n, 5);
	ck_assert_str_eq(d.lines[0],
			 "k.json:1:2: unknown key 'alpah' at the top level (did you mean 'alpha'?)");
	ck_assert_str_eq(
		d.lines[1],
		"k.json:2:2: unknown key 'zzzzzzzz' at the top level (expected one of alpha, beta, gamma)");
	ck_assert_str_eq(d.lines[2], "k.json:3:10: beta: expected an absolute path, got an integer");
	ck_assert_str_eq(d.lines[3], "k.json:4:11: gamma: expected an object, got an array");
	ck_assert_str_eq(d.lines[4], "k.json:5:11: alpha: expected an integer, got a string");
	ck_assert_int_eq(target, 0);
	json_object_put(TAKE_PTR(o));
	config_diagnostics_done(&d);

	/* Nested: the dotted path names where the key is. */
	ctx = (ConfigContext){ .diag = &d };
	t = "{\"gamma\": {\"gamma\": {\"beta\": \"/a/../b\"}}}";
	ck_assert_int_eq(json_pos_parse(t, strlen(t), "n.json", 0, &o, NULL), 0);
	ck_assert_int_eq(config_apply_table(&ctx, small_table, o, "top", &target), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(
		d.lines[0],
		"n.json:1:30: top.gamma.gamma.beta: \"/a/../b\" contains '..' (expected a normalized "
		"absolute path)");
}
END_TEST

static Suite *conf_table_suite(void)
{
	Suite *s = suite_create("conf-table");
	TCase *tc = tcase_create("conf-table");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stock_setters);
	tcase_add_test(tc, test_error_positions);
	tcase_add_test(tc, test_diagnostics_bounded);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_table_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
