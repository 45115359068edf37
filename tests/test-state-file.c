/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/state-file.h"

START_TEST(test_write_read_replace)
{
	char dir[] = "/tmp/test-state-file.XXXXXX", path[128], cmd[128];
	_cleanup_free_ char *s = NULL;
	struct stat st;
	uint64_t v;
	size_t size;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/buckets.json", dir);

	ck_assert_int_eq(state_file_read(path, &s, &size), -ENOENT);
	ck_assert_int_eq(state_file_write(path, "{\"a\":1}", 7, 0), 0);
	ck_assert_int_eq(state_file_read(path, &s, &size), 0);
	ck_assert_uint_eq(size, 7);
	ck_assert_str_eq(s, "{\"a\":1}");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(TAKE_PTR(s));

	/* Replaced whole, no temporary file left behind. */
	ck_assert_int_eq(state_file_write(path, "{}", 2, 1), 0);
	ck_assert_int_eq(state_file_read(path, &s, &size), 0);
	ck_assert_str_eq(s, "{}");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	(void)snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) = 1", dir);
	ck_assert_int_eq(system(cmd), 0);

	/* Counters. */
	(void)snprintf(path, sizeof(path), "%s/err-log-id", dir);
	ck_assert_int_eq(state_file_read_u64(path, 7, &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(state_file_write_u64(path, 18446744073709551615ULL), 0);
	ck_assert_int_eq(state_file_read_u64(path, 0, &v), 0);
	ck_assert_uint_eq(v, 18446744073709551615ULL);
	ck_assert_int_eq(state_file_write(path, "12x\n", 4, 0), 0);
	ck_assert_int_eq(state_file_read_u64(path, 0, &v), -EBADMSG);
	ck_assert_int_eq(state_file_write(path, "", 0, 0), 0);
	ck_assert_int_eq(state_file_read_u64(path, 0, &v), -EBADMSG);

	/* A directory that does not exist. */
	ck_assert_int_eq(state_file_write("/nonexistent-zpcid/x", "1", 1, 0), -ENOENT);

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *state_file_suite(void)
{
	Suite *s = suite_create("state-file");
	TCase *tc = tcase_create("state-file");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_write_read_replace);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_file_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
