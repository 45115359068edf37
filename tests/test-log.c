/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"

START_TEST(test_levels_and_targets)
{
	ck_assert_int_eq(log_level_from_string("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_from_string("err"), LOG_ERR);
	ck_assert_int_eq(log_level_from_string("warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_from_string("6"), LOG_INFO);
	ck_assert_int_eq(log_level_from_string("loud"), -EINVAL);
	ck_assert_int_eq(log_level_from_string(""), -EINVAL);
	ck_assert_str_eq(log_level_to_string(LOG_NOTICE), "notice");
	ck_assert_str_eq(log_level_to_string(42), "invalid");
	ck_assert_int_eq(log_target_from_string("journal"), LOG_TARGET_JOURNAL);
	ck_assert_int_eq(log_target_from_string("console"), LOG_TARGET_CONSOLE);
	ck_assert_int_eq(log_target_from_string("syslog"), _LOG_TARGET_INVALID);
	ck_assert_str_eq(log_target_to_string(LOG_TARGET_AUTO), "auto");
}
END_TEST

START_TEST(test_memory_records_fields)
{
	_cleanup_(log_freep) Log *l = NULL;
	const char *fields[] = { "ZPCI_FID=0x00000011", "ZPCI_PEC=0x003a" };
	const LogRecord *r;

	ck_assert_int_eq(log_new(&l, LOG_TARGET_MEMORY, LOG_INFO), 0);
	ck_assert_int_eq(log_get_target(l), LOG_TARGET_MEMORY);
	ck_assert_int_eq(strlen(log_run_id(l)), 32);

	ck_assert_int_eq(
		log_fields(l, LOG_WARNING, "0123456789abcdef0123456789abcdef", fields, 2, "fid %u", 17u), 1);
	ck_assert_int_eq(log_debug(l, "not written"), 0);
	ck_assert_uint_eq(log_memory_count(l), 1);

	r = log_memory_get(l, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->priority, LOG_WARNING);
	ck_assert_str_eq(log_record_field(r, "MESSAGE"), "fid 17");
	ck_assert_str_eq(log_record_field(r, "MESSAGE_ID"), "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(log_record_field(r, "ZPCI_PEC"), "0x003a");
	ck_assert_ptr_null(log_record_field(r, "ZPCI"));
	ck_assert_ptr_null(log_memory_get(l, 1));

	log_set_max_level(l, LOG_DEBUG);
	ck_assert_int_eq(log_debug(l, "now written"), 1);
	ck_assert_uint_eq(log_memory_count(l), 2);
	log_memory_clear(l);
	ck_assert_uint_eq(log_memory_count(l), 0);
}
END_TEST

/* The record carries the call site of the macro, not the log module's. */
static int log_here(Log *l, unsigned *ret_line)
{
	*ret_line = __LINE__ + 1;
	return log_warning_errno(l, -EIO, "failed: %m");
}

START_TEST(test_call_site)
{
	_cleanup_(log_freep) Log *l = NULL;
	const LogRecord *r;
	unsigned line, line2;

	ck_assert_int_eq(log_new(&l, LOG_TARGET_MEMORY, LOG_INFO), 0);
	line = __LINE__ + 1;
	log_info(l, "here");
	ck_assert_int_eq(log_here(l, &line2), -EIO);

	r = log_memory_get(l, 0);
	ck_assert_str_eq(r->code_file, "tests/test-log.c"); /* without the build directory's "../" */
	ck_assert_uint_eq(r->code_line, line);
	ck_assert_str_eq(r->code_func, "test_call_site_fn"); /* Check's name of the test's function */
	r = log_memory_get(l, 1);
	ck_assert_str_eq(log_record_field(r, "MESSAGE"), "failed: Input/output error");
	ck_assert_str_eq(r->code_file, "tests/test-log.c");
	ck_assert_uint_eq(r->code_line, line2);
	ck_assert_str_eq(r->code_func, "log_here");
}
END_TEST

START_TEST(test_errno_contract)
{
	_cleanup_(log_freep) Log *l = NULL;

	ck_assert_int_eq(log_new(&l, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	errno = EAGAIN;
	/* returns the negative error whatever sign it was given, %m expands it, errno survives */
	ck_assert_int_eq(log_error_errno(l, -ENOENT, "open failed: %m"), -ENOENT);
	ck_assert_int_eq(log_error_errno(l, ENOENT, "open failed: %m"), -ENOENT);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_str_eq(log_memory_get(l, 0)->message, "open failed: No such file or directory");
	ck_assert_int_eq(log_new(&l, 99, LOG_DEBUG) == -EINVAL, 1);
}
END_TEST

START_TEST(test_console_target_line)
{
	_cleanup_(log_freep) Log *l = NULL;
	const char *fields[] = { "ZPCI_FID=0x00000021" };
	char buf[256] = {};
	FILE *saved = stderr, *mem;

	mem = fmemopen(buf, sizeof(buf) - 1, "w");
	ck_assert_ptr_nonnull(mem);
	stderr = mem;
	ck_assert_int_eq(log_new(&l, LOG_TARGET_CONSOLE, LOG_INFO), 0);
	log_fields(l, LOG_ERR, NULL, fields, 1, "function %s failed", "0x21");
	stderr = saved;
	fclose(mem);
	ck_assert_str_eq(buf, "zpcid: err: function 0x21 failed [ZPCI_FID=0x00000021]\n");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_levels_and_targets);
	tcase_add_test(tc, test_memory_records_fields);
	tcase_add_test(tc, test_call_site);
	tcase_add_test(tc, test_errno_contract);
	tcase_add_test(tc, test_console_target_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
