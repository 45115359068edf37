/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/policy-internal.h"
#include "daemon/policy.h"

static char tmpdir[64];

static void setup(void)
{
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	ck_assert_int_eq(nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *tmp_path(const char *name)
{
	static char path[4][256];
	static unsigned i;

	i = (i + 1) % 4;
	(void)snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

START_TEST(test_defaults)
{
	_cleanup_(config_freep) Config *c = NULL;

	ck_assert_int_eq(config_new_default(&c), 0);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_int_eq(c->log_target, LOG_TARGET_AUTO);
	ck_assert_str_eq(c->state_directory, LOCALSTATEDIR "/lib/zpcid");
	ck_assert_ptr_null(c->admin_group);
	ck_assert_ptr_null(c->metrics.textfile_directory);
	ck_assert_uint_eq(c->metrics.interval_usec, 5 * USEC_PER_SEC);
	ck_assert_int_eq(c->adapter.functions, 3);
	ck_assert_uint_eq(c->adapter.window_usec, 10 * USEC_PER_SEC);
	ck_assert_uint_eq(c->adapter.hold_usec, 0);
	ck_assert(!c->adapter.by_port);
	ck_assert_ptr_nonnull(c->policy);
	ck_assert_ptr_null(c->files[0]);
}
END_TEST

START_TEST(test_shipped)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	char path[512];
	const char *top = getenv("ZPCID_TOP_SRCDIR");

	(void)snprintf(path, sizeof(path), "%s/conf/zpcid.json", top ? top : "..");
	ck_assert_int_eq(config_load(&c, path, tmp_path("none.d"), true, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(c->files[0], path);
	ck_assert_ptr_null(c->files[1]);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_str_eq(c->state_directory, "/var/lib/zpcid");
	ck_assert_str_eq(c->runtime_directory, "/run/zpcid");
	ck_assert_ptr_nonnull(c->policy);
	ck_assert_int_eq(c->policy->default_mode, FUNCTION_MODE_OBSERVE);
	ck_assert(!c->policy->dry_run);
	ck_assert_uint_gt(c->loaded_usec, 0);

	/* The shipped file spells out exactly the built-in defaults. */
	{
		_cleanup_(config_freep) Config *def = NULL;
		_cleanup_(json_pos_putp) json_object *a = NULL, *b = NULL;

		ck_assert_int_eq(config_new_default(&def), 0);
		ck_assert_int_eq(policy_to_json(def->policy, &a), 0);
		ck_assert_int_eq(policy_to_json(c->policy, &b), 0);
		ck_assert_str_eq(json_object_to_json_string(a), json_object_to_json_string(b));
		ck_assert_int_eq(def->log_level, c->log_level);
		ck_assert_int_eq(def->log_target, c->log_target);
		ck_assert_ptr_null(c->admin_group);
	}
}
END_TEST

START_TEST(test_values)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;

	write_file("z.json",
		   "{\"schema\": 1, \"log\": {\"level\": \"debug\", \"target\": \"console\"},\n"
		   " \"directories\": {\"state\": \"/srv/zpcid\", \"runtime\": \"/run/z\"},\n"
		   " \"admin_group\": \"zpcid-admin\",\n"
		   " \"metrics\": {\"textfile_directory\": \"/var/lib/prometheus/node-exporter\", "
		   "\"interval\": \"2m\"},\n"
		   " \"adapter_correlation\": {\"functions\": 2, \"window\": \"1m\", \"hold\": \"5m\", "
		   "\"by_port\": true}}\n");
	ck_assert_int_eq(config_load(&c, tmp_path("z.json"), tmp_path("none.d"), true, &d), 0);
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert_int_eq(c->log_target, LOG_TARGET_CONSOLE);
	ck_assert_str_eq(c->state_directory, "/srv/zpcid");
	ck_assert_str_eq(c->runtime_directory, "/run/z");
	ck_assert_str_eq(c->admin_group, "zpcid-admin");
	ck_assert_str_eq(c->metrics.textfile_directory, "/var/lib/prometheus/node-exporter");
	ck_assert_uint_eq(c->metrics.interval_usec, 120 * USEC_PER_SEC);
	ck_assert_int_eq(c->adapter.functions, 2);
	ck_assert_uint_eq(c->adapter.window_usec, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(c->adapter.hold_usec, 300 * USEC_PER_SEC);
	ck_assert(c->adapter.by_port);
}
END_TEST

/* Drop-ins: lexical (bytewise) order, objects merge key by key, everything else replaces. */
START_TEST(test_dropins_merge)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	char dir[256];

	write_file(
		"main.json",
		"{\"schema\": 1, \"log\": {\"level\": \"err\", \"target\": \"journal\"},\n"
		" \"admin_group\": \"wheel\",\n"
		" \"policy\": {\"cooldown\": \"1m\", \"rules\": [{\"name\": \"a\", \"actions\": [\"log\"]},"
		" {\"name\": \"b\", \"actions\": [\"alert\"]}]}}\n");
	(void)snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	/* "10-" sorts before "9-": bytewise order, so 9 wins over 10. */
	write_file("d/10-first.json",
		   "{\"schema\": 1, \"log\": {\"level\": \"notice\"}, \"admin_group\": null}\n");
	write_file("d/9-second.json",
		   "{\"schema\": 1, \"log\": {\"level\": \"warning\"},\n"
		   " \"policy\": {\"rules\": [{\"name\": \"c\", \"actions\": \"log\"}]}}\n");
	/* Not drop-ins: other suffixes and hidden files. */
	write_file("d/50-ignored.conf", "garbage");
	write_file("d/.60-hidden.json", "garbage");
	write_file("d/70.json~", "garbage");

	ck_assert_int_eq(config_load(&c, tmp_path("main.json"), dir, true, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(c->files[0], tmp_path("main.json"));
	ck_assert_str_eq(c->files[1], tmp_path("d/10-first.json"));
	ck_assert_str_eq(c->files[2], tmp_path("d/9-second.json"));
	ck_assert_ptr_null(c->files[3]);
	/* log.level from the last drop-in, log.target kept from the main file */
	ck_assert_int_eq(c->log_level, LOG_WARNING);
	ck_assert_int_eq(c->log_target, LOG_TARGET_JOURNAL);
	/* null replaces too */
	ck_assert_ptr_null(c->admin_group);
	/* policy merged key by key; its "rules" array replaced as a whole */
	ck_assert_uint_eq(c->policy->cooldown_usec, 60ULL * 1000000);
	ck_assert_uint_eq(c->policy->n_rules, 1);
	ck_assert_str_eq(c->policy->rules[0].name, "c");
}
END_TEST

START_TEST(test_dropin_errors_name_the_dropin)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	char dir[256], expected[512];

	write_file("main.json", "{\"schema\": 1, \"log\": {\"level\": \"err\"}}\n");
	(void)snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file("d/10-bad.json", "{\"schema\": 1,\n  \"log\": {\"level\": 3}}\n");
	ck_assert_int_eq(mkdir(tmp_path("d/20-dir.json"), 0755), 0);
	ck_assert_int_eq(symlink("/nonexistent/x", tmp_path("d/30-dangling.json")), 0);
	write_file("d/40-schema.json", "{\"schema\": 2}");

	ck_assert_int_eq(config_load(&c, tmp_path("main.json"), dir, true, &d), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(d.n, 4);
	(void)snprintf(expected, sizeof(expected),
		       "%s/d/20-dir.json: is a directory (expected a regular file)", tmpdir);
	ck_assert_str_eq(d.lines[0], expected);
	(void)snprintf(expected, sizeof(expected),
		       "%s/d/30-dangling.json: cannot open file: No such file or directory", tmpdir);
	ck_assert_str_eq(d.lines[1], expected);
	(void)snprintf(
		expected, sizeof(expected),
		"%s/d/40-schema.json:1:12: schema: version 2 is not supported (expected 1, the only schema "
		"version this zpcid supports)",
		tmpdir);
	ck_assert_str_eq(d.lines[2], expected);
	(void)snprintf(expected, sizeof(expected),
		       "%s/d/10-bad.json:2:20: log.level: expected a string, got an integer", tmpdir);
	ck_assert_str_eq(d.lines[3], expected);
	ck_assert_ptr_null(d.lines[4]);
}
END_TEST

START_TEST(test_missing_files)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	char expected[512];

	/* An explicit file must exist. */
	ck_assert_int_eq(config_load(&c, tmp_path("nope.json"), tmp_path("none.d"), true, &d), -EINVAL);
	(void)snprintf(expected, sizeof(expected),
		       "%s/nope.json: cannot open file: No such file or directory", tmpdir);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.lines[0], expected);
	config_diagnostics_done(&d);

	/* The default file may be missing: defaults, plus whatever drop-ins exist. */
	ck_assert_int_eq(config_load(&c, tmp_path("nope.json"), tmp_path("none.d"), false, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_null(c->files[0]);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	c = config_free(c);

	/* A drop-in directory that is a file is an error. */
	write_file("main.json", "{\"schema\": 1}");
	ck_assert_int_eq(config_load(&c, tmp_path("main.json"), tmp_path("main.json"), true, &d), -EINVAL);
	(void)snprintf(expected, sizeof(expected),
		       "%s/main.json: cannot read the drop-in directory: Not a directory", tmpdir);
	ck_assert_str_eq(d.lines[0], expected);
}
END_TEST

/* Every kind of problem, with its exact diagnostic. */
static const struct {
	const char *text;
	const char *diag;
} invalid[] = {
	{ "{\"schema\": 1, \"log\": {\"levl\": \"info\"}}",
	  "c.json:1:23: unknown key 'levl' in 'log' (did you mean 'level'?)" },
	{ "{\"schema\": 1, \"logs\": {}}",
	  "c.json:1:15: unknown key 'logs' at the top level (did you mean 'log'?)" },
	{ "{\"schema\": 1, \"xyzzy\": 1}", "c.json:1:15: unknown key 'xyzzy' at the top level (expected one "
					   "of schema, log, directories, admin_group, "
					   "policy, output, actions, history, metrics, "
					   "adapter_correlation)" },
	{ "{\"schema\": 1, \"log\": {\"level\": \"loud\"}}",
	  "c.json:1:32: log.level: invalid value \"loud\" (expected one of err, warning, notice, info, "
	  "debug)" },
	{ "{\"schema\": 1, \"log\": {\"level\": \"dbug\"}}",
	  "c.json:1:32: log.level: invalid value \"dbug\" (expected one of err, warning, notice, info, "
	  "debug; did you "
	  "mean 'debug'?)" },
	{ "{\"schema\": 1, \"log\": {\"target\": \"memory\"}}",
	  "c.json:1:33: log.target: invalid value \"memory\" (expected one of auto, journal, console)" },
	{ "{\"schema\": 1, \"log\": []}", "c.json:1:22: log: expected an object, got an array" },
	{ "{\"schema\": 1, \"directories\": {\"state\": \"var/lib\"}}",
	  "c.json:1:40: directories.state: \"var/lib\" is not an absolute path (expected a path starting "
	  "with '/')" },
	{ "{\"schema\": 1, \"directories\": {\"runtime\": 5}}",
	  "c.json:1:42: directories.runtime: expected an absolute path, got an integer" },
	{ "{\"schema\": 1, \"admin_group\": \"9lives\"}",
	  "c.json:1:30: admin_group: \"9lives\" is not a valid group name (expected 1-32 characters of A-Z "
	  "a-z 0-9 _ "
	  "- ., not starting with a digit or '-')" },
	{ "{\"schema\": 1, \"metrics\": {\"textfile_directory\": \"prom\"}}",
	  "c.json:1:49: metrics.textfile_directory: \"prom\" is not an absolute path (expected a path "
	  "starting with '/')" },
	{ "{\"schema\": 1, \"metrics\": {\"interval\": \"0s\"}}",
	  "c.json:1:39: metrics.interval: \"0s\" is not a duration (expected a number with a unit s, m, h "
	  "or d, e.g. \"30s\")" },
	{ "{\"schema\": 1, \"adapter_correlation\": {\"functions\": 300}}",
	  "c.json:1:52: adapter_correlation.functions: 300 is out of range (expected 0..256)" },
	{ "{\"schema\": 1, \"adapter_correlation\": {\"window\": \"10\"}}",
	  "c.json:1:49: adapter_correlation.window: \"10\" is not a duration (expected a number with a "
	  "unit s, m, h or d, e.g. \"30s\")" },
	{ "{\"schema\": 1, \"adapter_correlation\": {\"hold\": 60}}",
	  "c.json:1:47: adapter_correlation.hold: expected a duration such as \"5m\" or null, got an "
	  "integer" },
	{ "{\"schema\": 1, \"adapter_correlation\": {\"by_pchid\": true}}",
	  "c.json:1:39: unknown key 'by_pchid' in 'adapter_correlation' (expected one of functions, "
	  "window, hold, by_port)" },
	{ "{\"schema\": 1, \"admin_group\": true}",
	  "c.json:1:30: admin_group: expected a group name or null, got a boolean" },
	{ "{\"log\": {}}",
	  "c.json:1:1: missing key 'schema' (expected \"schema\": 1 as the schema version)" },
	{ "{\"schema\": 2}", "c.json:1:12: schema: version 2 is not supported (expected 1, the only schema "
			     "version this zpcid supports)" },
	{ "{\"schema\": \"1\"}", "c.json:1:12: schema: expected the integer 1, got a string" },
	{ "[1]", "c.json:1:1: expected a JSON object at the top level, got an array" },
	{ "{\"schema\": 1, \"schema\": 1}",
	  "c.json:1:15: duplicate key \"schema\" (first defined at 1:2; expected each key once)" },
	{ "{\"schema\": 1}\n{}",
	  "c.json:2:1: trailing garbage after the JSON value: '{' (expected end of file)" },
	{ "{\"schema\": 1,\n \"log\": {\"level\": \"info\",}}",
	  "c.json:2:26: trailing comma before '}' (expected another key)" },
};

START_TEST(test_invalid)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	const char *t = invalid[_i].text;

	ck_assert_int_eq(config_load_string(&c, t, strlen(t), "c.json", &d), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_msg(d.n == 1, "case %d: %zu diagnostics, first: %s", _i, d.n, d.n ? d.lines[0] : "");
	ck_assert_str_eq(d.lines[0], invalid[_i].diag);
}
END_TEST

START_TEST(test_all_errors_reported)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	const char *t = "{\"schema\": 1,\n"
			"  \"log\": {\"level\": \"x\", \"target\": \"y\", \"z\": 1},\n"
			"  \"directories\": {\"state\": \"rel\"}\n"
			"}\n";

	ck_assert_int_eq(config_load_string(&c, t, strlen(t), "m.json", &d), -EINVAL);
	ck_assert_uint_eq(d.n, 4);
	ck_assert_ptr_nonnull(strstr(d.lines[0], "m.json:2:20: log.level"));
	ck_assert_ptr_nonnull(strstr(d.lines[1], "m.json:2:35: log.target"));
	ck_assert_ptr_nonnull(strstr(d.lines[2], "m.json:2:40: unknown key 'z'"));
	ck_assert_ptr_nonnull(strstr(d.lines[3], "m.json:3:28: directories.state"));
	/* Without a diagnostics sink the result is the same. */
	ck_assert_int_eq(config_load_string(&c, t, strlen(t), "m.json", NULL), -EINVAL);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_shipped);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_dropins_merge);
	tcase_add_test(tc, test_dropin_errors_name_the_dropin);
	tcase_add_test(tc, test_missing_files);
	tcase_add_loop_test(tc, test_invalid, 0, ELEMENTSOF(invalid));
	tcase_add_test(tc, test_all_errors_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
