/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/report-error.h"

/* The record as the platform expects it, written out by hand (big-endian). */
static const uint8_t expected_info[] = {
	0x01,                                           /* version */
	0x02,                                           /* action: informational */
	0x00, 0x13,                                     /* length: 16 + 3 */
	0x00, 0x00, 0x00, 0x00, 0x65, 0x4c, 0x3a, 0x21, /* timestamp 0x654c3a21 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* err_log_id */
	'a',  'b',  'c',
};

START_TEST(test_encode_bytes)
{
	uint8_t buf[64];

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(report_error_encode(REPORT_ERROR_ACTION_INFO, 0x654c3a21ULL, 0x0102030405060708ULL,
					     "abc", 3, buf, sizeof(buf)),
			 (int)sizeof(expected_info));
	ck_assert_mem_eq(buf, expected_info, sizeof(expected_info));
	ck_assert_uint_eq(buf[sizeof(expected_info)], 0xee); /* nothing written past the record */
}
END_TEST

START_TEST(test_encode_empty_and_max)
{
	static const uint8_t expected_fw[] = {
		0x01, 0x00, 0x00, 0x10, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x01, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
	};
	static uint8_t big[REPORT_ERROR_RECORD_MAX + 8];
	static char log[REPORT_ERROR_LOG_DATA_MAX + 1];
	uint8_t buf[32];

	ck_assert_int_eq(report_error_encode(REPORT_ERROR_ACTION_FW_RESET, 0x8000000000000001ULL,
					     0xffeeddccbbaa9988ULL, NULL, 0, buf, sizeof(buf)),
			 20);
	ck_assert_mem_eq(buf, expected_fw, sizeof(expected_fw));

	memset(log, 'x', sizeof(log));
	ck_assert_int_eq(report_error_encode(REPORT_ERROR_ACTION_DECONFIGURE, 1, 2, log,
					     REPORT_ERROR_LOG_DATA_MAX, big, sizeof(big)),
			 REPORT_ERROR_RECORD_MAX);
	ck_assert_uint_eq(big[1], 0x01);
	/* 16 + 4054 = 4070 = 0x0fe6 */
	ck_assert_uint_eq(big[2], 0x0f);
	ck_assert_uint_eq(big[3], 0xe6);
	ck_assert_uint_eq(big[REPORT_ERROR_RECORD_MAX - 1], 'x');
}
END_TEST

START_TEST(test_encode_refuses)
{
	static uint8_t big[REPORT_ERROR_RECORD_MAX + 8];
	static char log[REPORT_ERROR_LOG_DATA_MAX + 1];
	uint8_t buf[19];

	ck_assert_int_eq(report_error_encode(3, 0, 0, NULL, 0, big, sizeof(big)), -EINVAL);
	ck_assert_int_eq(report_error_encode(-1, 0, 0, NULL, 0, big, sizeof(big)), -EINVAL);
	ck_assert_int_eq(
		report_error_encode(REPORT_ERROR_ACTION_INFO, 0, 0, log, sizeof(log), big, sizeof(big)),
		-EINVAL);
	ck_assert_int_eq(report_error_encode(REPORT_ERROR_ACTION_INFO, 0, 0, NULL, 1, big, sizeof(big)),
			 -EINVAL);
	ck_assert_int_eq(report_error_encode(REPORT_ERROR_ACTION_INFO, 0, 0, NULL, 0, buf, sizeof(buf)),
			 -ENOBUFS);
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(report_error_action_to_string(REPORT_ERROR_ACTION_FW_RESET), "fw-reset");
	ck_assert_str_eq(report_error_action_to_string(REPORT_ERROR_ACTION_DECONFIGURE), "deconfigure");
	ck_assert_str_eq(report_error_action_to_string(REPORT_ERROR_ACTION_INFO), "info");
	ck_assert_str_eq(report_error_action_to_string(7), "invalid");
	ck_assert_int_eq(report_error_action_from_string("info"), REPORT_ERROR_ACTION_INFO);
	ck_assert_int_eq(report_error_action_from_string("reset"), _REPORT_ERROR_ACTION_INVALID);
}
END_TEST

START_TEST(test_write_to_sysfs_tree)
{
	char root[] = "/tmp/test-report-error.XXXXXX", path[640], dir[512];
	uint8_t got[64];
	int fd;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/bus", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/bus/pci", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/0001:00:00.0", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/report_error", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	ck_assert_int_eq(report_error_write(root, "0001:00:00.0", REPORT_ERROR_ACTION_INFO, 0x654c3a21ULL,
					    0x0102030405060708ULL, "abc"),
			 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	ck_assert_int_eq(n, (ssize_t)sizeof(expected_info));
	ck_assert_mem_eq(got, expected_info, sizeof(expected_info));

	ck_assert_int_eq(report_error_write(root, "0002:00:00.0", REPORT_ERROR_ACTION_INFO, 0, 0, NULL),
			 -ENOENT);
	ck_assert_int_eq(report_error_write(root, "../x", REPORT_ERROR_ACTION_INFO, 0, 0, NULL), -EINVAL);
	ck_assert_int_eq(report_error_write(root, "", REPORT_ERROR_ACTION_INFO, 0, 0, NULL), -EINVAL);

	unlink(path);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/bus/pci", root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/bus", root);
	rmdir(dir);
	rmdir(root);
}
END_TEST

static Suite *report_error_suite(void)
{
	Suite *s = suite_create("report-error");
	TCase *tc = tcase_create("report-error");

	tcase_add_test(tc, test_encode_bytes);
	tcase_add_test(tc, test_encode_empty_and_max);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_action_names);
	tcase_add_test(tc, test_write_to_sysfs_tree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_error_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
