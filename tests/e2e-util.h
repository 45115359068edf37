/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * e2e-util: what the end-to-end tests of the real zpcid on the device world
 * share: a configuration file in the testbed, starting the daemon on it,
 * waiting for and picking apart its console log (one line per record,
 * journal fields appended as " [KEY=value ...]"), and reading its history
 * file (docs/history.md). Header-only: each test program includes it once.
 */

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <json-c/json.h>

#include "tests/devworld.h"

/* Waits for a positive marker: they end as soon as it shows, so they can be
 * long enough for a loaded machine without slowing a healthy run. */
#define E2E_START_MS 60000
#define E2E_EVENT_MS 30000

static inline bool e2e_have_preload(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "umockdev");
}

static inline char *e2e_daemon_binary(void)
{
	const char *top = getenv("ZPCID_TOP_BUILDDIR");
	return g_build_filename(top ? top : ".", "zpcid", NULL);
}

static inline void e2e_dump_log(Devworld *w)
{
	g_autofree char *log = devworld_log(w);
	fprintf(stderr, "zpcid's log:\n%s\n", log);
}

/* Wait for @needle in the daemon's log after @from; on failure show the log. */
#define E2E_WAIT_LOG_MS(w, from, needle, ms)                                           \
	({                                                                             \
		long _at = devworld_wait_log_from((w), (from), (needle), (ms));        \
		if (_at < 0) {                                                         \
			e2e_dump_log(w);                                               \
			ck_abort_msg("zpcid did not log \"%s\" (%ld)", (needle), _at); \
		}                                                                      \
		_at;                                                                   \
	})
#define E2E_WAIT_LOG(w, from, needle) E2E_WAIT_LOG_MS(w, from, needle, E2E_EVENT_MS)

/* In a loop over many records: keep the message of the first condition that
 * fails in @bad (a char * that starts NULL), and check once after the loop
 * with ck_assert_msg(!bad, "%s", bad): every ck_assert, passing or not, is a
 * message to Check's parent. */
#define E2E_NOTE(bad, cond, ...)                              \
	do {                                                  \
		if (!(bad) && !(cond))                        \
			(bad) = g_strdup_printf(__VA_ARGS__); \
	} while (0)

static inline Devworld *e2e_world(void)
{
	Devworld *w = NULL;

	ck_assert_int_eq(devworld_new(&w), 0);
	return w;
}

/* Write @json as the daemon's configuration; returns its path (newly allocated). */
static inline char *e2e_write_config(Devworld *w, const char *json)
{
	g_autofree char *path = g_build_filename(devworld_root(w), "zpcid-test.json", NULL);

	ck_assert_msg(g_file_set_contents(path, json, -1, NULL), "cannot write %s", path);
	return g_steal_pointer(&path);
}

/* Start zpcid with the configuration @json and wait until it enumerated. */
static inline void e2e_start_daemon(Devworld *w, const char *json)
{
	g_autofree char *conf = e2e_write_config(w, json);
	g_autofree char *dropins = g_build_filename(devworld_root(w), "no-dropins", NULL);
	const char *argv[] = { "--config", conf, "--config-dropins", dropins, "--log-level=debug", NULL };
	size_t mark = devworld_log_mark(w);

	ck_assert_int_gt(devworld_spawn_daemon(w, argv), 0);
	if (devworld_wait_log_from(w, mark, "zPCI function(s)", E2E_START_MS) < 0) {
		e2e_dump_log(w);
		ck_abort_msg("zpcid did not start");
	}
}

/* The log lines after @from that contain every one of the NULL-terminated
 * @needles, in order. */
static inline GPtrArray *e2e_lines(Devworld *w, size_t from, const char *const *needles)
{
	g_autofree char *log = devworld_log(w);
	g_auto(GStrv) lines = g_strsplit(log + MIN(from, strlen(log)), "\n", -1);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (char **l = lines; *l; l++) {
		bool all = true;

		for (const char *const *n = needles; *n && all; n++)
			all = strstr(*l, *n) != NULL;
		if (all)
			g_ptr_array_add(out, g_strdup(*l));
	}
	return out;
}

#define E2E_LINES(w, from, ...) e2e_lines((w), (from), (const char *const[]){ __VA_ARGS__, NULL })

/* The value of journal field @key in a log line ("" when absent), newly allocated. */
static inline char *e2e_field(const char *line, const char *key)
{
	g_autofree char *k1 = g_strdup_printf(" %s=", key);
	g_autofree char *k2 = g_strdup_printf("[%s=", key);
	const char *p = strstr(line, k1) ?: strstr(line, k2), *e;

	if (!p)
		return g_strdup("");
	p += strlen(k1);
	for (e = p; *e && *e != ' ' && *e != ']'; e++)
		;
	return g_strndup(p, (size_t)(e - p));
}

static inline uint64_t e2e_field_u64(const char *line, const char *key)
{
	g_autofree char *v = e2e_field(line, key);
	return g_ascii_strtoull(v, NULL, 0);
}

static inline void e2e_json_put(gpointer o)
{
	(void)json_object_put(o);
}

/* Every record of the history (all files, oldest first) as JSON objects.
 * Checks each record's frame: length and the final newline. */
static inline GPtrArray *e2e_history(Devworld *w)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(e2e_json_put);
	const char *dir = devworld_state_directory(w);

	for (int i = 16; i >= 0; i--) {
		g_autofree char *name = i == 0 ? g_strdup("history.log")
					       : g_strdup_printf("history.log.%d", i);
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autofree char *text = NULL;
		g_auto(GStrv) lines = NULL;

		if (!g_file_get_contents(path, &text, NULL, NULL))
			continue;
		lines = g_strsplit(text, "\n", -1);
		ck_assert_str_eq(lines[0], "ZPCID-HISTORY 1");
		for (char **l = lines + 1; *l && **l; l++) {
			unsigned len = 0, crc = 0;
			int at = 0;
			json_object *o;

			ck_assert_msg(sscanf(*l, "%8x %8x %n", &len, &crc, &at) == 2 && at == 18,
				      "bad history frame: %s", *l);
			ck_assert_uint_eq(strlen(*l + at), len);
			o = json_tokener_parse(*l + at);
			ck_assert_msg(o, "bad history JSON: %s", *l + at);
			g_ptr_array_add(out, o);
		}
	}
	return out;
}

static inline const char *e2e_jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static inline int64_t e2e_jint(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* Add @test as a case of its own named after it (so CK_RUN_CASE selects it). */
#define E2E_ADD_TEST(s, test, timeout)                              \
	do {                                                        \
		TCase *_tc = tcase_create(#test + strlen("test_")); \
		tcase_set_timeout(_tc, (timeout));                  \
		tcase_add_test(_tc, test);                          \
		suite_add_tcase((s), _tc);                          \
	} while (0)

/* Skip the whole program unless it runs under the preload with zpcid built. */
static inline int e2e_main(Suite *s)
{
	g_autofree char *bin = e2e_daemon_binary();
	SRunner *sr;
	int failed;

	if (!e2e_have_preload()) {
		printf("1..0 # SKIP not running under umockdev-wrapper\n");
		return EXIT_SUCCESS;
	}
	if (access(bin, X_OK) < 0) {
		printf("1..0 # SKIP %s is not built\n", bin);
		return EXIT_SUCCESS;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
