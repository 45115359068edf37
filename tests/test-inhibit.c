/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "daemon/inhibit.h"

static void on_released(Inhibitors *i, void *userdata)
{
	unsigned *calls = userdata;

	ck_assert_uint_eq(inhibit_count(i), 0);
	(*calls)++;
}

START_TEST(test_what_parse)
{
	char buf[64];

	ck_assert_int_eq(inhibit_what_from_string("reset"), INHIBIT_RESET);
	ck_assert_int_eq(inhibit_what_from_string("reset,unbind"), INHIBIT_RESET | INHIBIT_UNBIND);
	ck_assert_int_eq(inhibit_what_from_string("all"), INHIBIT_ALL);
	ck_assert_int_eq(inhibit_what_from_string("report,all"), INHIBIT_ALL);
	ck_assert_int_eq(inhibit_what_from_string(""), -EINVAL);
	ck_assert_int_eq(inhibit_what_from_string("reset,"), -EINVAL);
	ck_assert_int_eq(inhibit_what_from_string("resets"), -EINVAL);
	ck_assert_int_eq(inhibit_what_from_string(",reset"), -EINVAL);
	ck_assert_str_eq(inhibit_what_to_string(INHIBIT_ALL, buf, sizeof(buf)), "reset,unbind,report");
	ck_assert_str_eq(inhibit_what_to_string(INHIBIT_UNBIND, buf, sizeof(buf)), "unbind");
	ck_assert_str_eq(inhibit_what_to_string(0, buf, sizeof(buf)), "");
}
END_TEST

START_TEST(test_acquire_release)
{
	_cleanup_(inhibitors_freep) Inhibitors *i = NULL;
	unsigned calls = 0;
	uint64_t a, b, h;

	ck_assert_int_eq(inhibitors_new(&i, on_released, &calls), 0);
	ck_assert_uint_eq(inhibit_active(i), 0);

	ck_assert_int_eq(inhibit_acquire(i, "qemu[123]", "live migration", "reset", &a), 0);
	ck_assert_int_eq(inhibit_acquire(i, "admin", "replacing cable", "unbind,report", &b), 0);
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(inhibit_active(i), INHIBIT_ALL);
	ck_assert_uint_eq(inhibit_count(i), 2);
	ck_assert_str_eq(inhibit_get(i, 1)->who, "admin");
	ck_assert_ptr_null(inhibit_get(i, 2));

	ck_assert_int_eq(inhibit_acquire(i, "", "x", "reset", &h), -EINVAL);
	ck_assert_int_eq(inhibit_acquire(i, "a\nb", "x", "reset", &h), -EINVAL);
	ck_assert_int_eq(inhibit_acquire(i, "a", "x", "reboot", &h), -EINVAL);

	ck_assert_int_eq(inhibit_release(i, a), 0);
	ck_assert_uint_eq(calls, 0);
	ck_assert_uint_eq(inhibit_active(i), INHIBIT_UNBIND | INHIBIT_REPORT);
	ck_assert_int_eq(inhibit_release(i, a), -ENOENT);
	ck_assert_int_eq(inhibit_release(i, b), 0);
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(inhibit_active(i), 0);

	/* The one record: the caller, the text as given, no truncation. */
	{
		char longwhy[1000];
		const Inhibitor *it;

		memset(longwhy, 'w', sizeof(longwhy) - 1);
		longwhy[sizeof(longwhy) - 1] = 0;
		ck_assert_int_eq(inhibit_acquire_as(i, "vmm", longwhy, "unbind,reset", 1000, 4242, &h), 0);
		it = inhibit_get(i, 0);
		ck_assert_uint_eq(it->handle, h);
		ck_assert_str_eq(it->who, "vmm");
		ck_assert_str_eq(it->why, longwhy);
		ck_assert_str_eq(it->what_text, "unbind,reset");
		ck_assert_uint_eq(it->what, INHIBIT_RESET | INHIBIT_UNBIND);
		ck_assert_uint_eq(it->uid, 1000);
		ck_assert_int_eq(it->pid, 4242);
		ck_assert_uint_gt(it->since_usec, 0);
		ck_assert_int_eq(inhibit_release(i, h), 0);
		ck_assert_uint_eq(calls, 2);
	}

	/* Bounded. */
	for (unsigned k = 0; k < INHIBIT_MAX; k++)
		ck_assert_int_eq(inhibit_acquire(i, "w", "", "all", &h), 0);
	ck_assert_int_eq(inhibit_acquire(i, "w", "", "all", &h), -EUSERS);
}
END_TEST

static Suite *inhibit_suite(void)
{
	Suite *s = suite_create("inhibit");
	TCase *tc = tcase_create("inhibit");

	tcase_add_test(tc, test_what_parse);
	tcase_add_test(tc, test_acquire_release);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inhibit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
