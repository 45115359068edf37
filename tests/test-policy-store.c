/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy state file: saved off the loop, and not written again when
 * nothing in it changed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/policy-store.h"
#include "tests/test-util.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test-policy-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	test_rm_rf(dir);
}

static void on_saved(int result, void *userdata)
{
	int *n = userdata;

	ck_assert_int_eq(result, 0);
	(*n)++;
}

static ino_t file_inode(void)
{
	char path[128];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/" POLICY_STORE_FILE, dir);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

START_TEST(test_unchanged_not_rewritten)
{
	struct event_base *base = event_base_new();
	Syncer *syncer = NULL;
	PolicyState *s = NULL, *s2 = NULL;
	uint64_t hash = 0;
	int saved = 0;
	ino_t ino;
	json_object *o;

	ck_assert_int_eq(syncer_new(&syncer, base), 0);
	ck_assert_int_eq(policy_store_load(dir, &s), 0);

	/* The first save writes. */
	ck_assert_int_eq(policy_store_save_async(dir, s, syncer, &hash, on_saved, &saved), 0);
	ck_assert_uint_ne(hash, 0);
	(void)syncer_drain(syncer);
	ck_assert_int_eq(saved, 1);
	ino = file_inode();

	/* The same state again: nothing queued, the file untouched (a
	 * replacement would have a new inode). */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(policy_store_save_async(dir, s, syncer, &hash, on_saved, &saved), 1);
	ck_assert_uint_eq(syncer_pending(syncer), 0);
	ck_assert_int_eq(saved, 1);
	ck_assert_uint_eq(file_inode(), ino);

	/* A changed state writes. */
	o = json_tokener_parse("{\"version\":1,\"budget\":[1700000000000000],\"functions\":[]}");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(policy_state_from_json(o, &s2), 0);
	json_object_put(o);
	ck_assert_int_eq(policy_store_save_async(dir, s2, syncer, &hash, on_saved, &saved), 0);
	(void)syncer_drain(syncer);
	ck_assert_int_eq(saved, 2);
	ck_assert_uint_ne(file_inode(), ino);

	/* Without a hash every save writes. */
	ck_assert_int_eq(policy_store_save_async(dir, s2, syncer, NULL, on_saved, &saved), 0);
	(void)syncer_drain(syncer);
	ck_assert_int_eq(saved, 3);

	policy_state_free(s);
	policy_state_free(s2);
	syncer_free(syncer);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy-store");
	TCase *tc = tcase_create("policy-store");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unchanged_not_rewritten);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
