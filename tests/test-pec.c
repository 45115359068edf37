/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <string.h>

#include "common/pec.h"

START_TEST(test_kernel_classes)
{
	for (uint16_t p = 0x2a; p <= 0x2c; p++)
		ck_assert_int_eq(pec_class_of(p), PEC_CLASS_INFORMATIONAL);
	ck_assert_int_eq(pec_class_of(0x3b), PEC_CLASS_PERMANENT);
	ck_assert_int_eq(pec_class_of(0x40), PEC_CLASS_PERMANENT);
	ck_assert_int_eq(pec_class_of(0x3a), PEC_CLASS_FW_RESET_DONE);
	/* every other code is recoverable, known or not */
	ck_assert_int_eq(pec_class_of(0x02), PEC_CLASS_RECOVERABLE);
	ck_assert_int_eq(pec_class_of(0x29), PEC_CLASS_RECOVERABLE);
	ck_assert_int_eq(pec_class_of(0x2d), PEC_CLASS_RECOVERABLE);
	ck_assert_int_eq(pec_class_of(0x3c), PEC_CLASS_RECOVERABLE);
	ck_assert_int_eq(pec_class_of(0x0000), PEC_CLASS_RECOVERABLE);
	ck_assert_int_eq(pec_class_of(0xffff), PEC_CLASS_RECOVERABLE);
}
END_TEST

START_TEST(test_lookup)
{
	const PecInfo *i;

	i = pec_lookup(0x3a);
	ck_assert_uint_eq(i->pec, 0x3a);
	ck_assert_str_eq(i->name, "fw-reset-done");
	i = pec_lookup(0x3b);
	ck_assert_str_eq(i->name, "permanent-error");
	ck_assert(!i->inferred);
	i = pec_lookup(0x40);
	ck_assert_int_eq(i->pec_class, PEC_CLASS_PERMANENT);

	i = pec_lookup(0x1234);
	ck_assert_ptr_nonnull(i);
	ck_assert_str_eq(i->name, "unknown");
	ck_assert_int_eq(i->pec_class, PEC_CLASS_RECOVERABLE);
	ck_assert(i->inferred);
}
END_TEST

START_TEST(test_table_is_consistent)
{
	const PecInfo *i, *prev = NULL;
	unsigned n = 0;

	for (; (i = pec_table_get(n)); n++) {
		ck_assert_ptr_nonnull(i->name);
		ck_assert_ptr_nonnull(i->meaning);
		ck_assert_int_gt(strlen(i->name), 0);
		ck_assert_int_gt(strlen(i->meaning), 0);
		ck_assert_int_ge(i->pec_class, 0);
		ck_assert_int_lt(i->pec_class, _PEC_CLASS_MAX);
		ck_assert_str_ne(i->name, "unknown");
		/* sorted and unique, so lookups find every entry */
		if (prev)
			ck_assert_uint_lt(prev->pec, i->pec);
		ck_assert_ptr_eq(pec_lookup(i->pec), i);
		prev = i;
	}
	ck_assert_uint_ge(n, 6);
	ck_assert_ptr_null(pec_table_get(n));
	ck_assert_ptr_null(pec_table_get(~0u));
}
END_TEST

START_TEST(test_class_strings)
{
	for (int c = 0; c < _PEC_CLASS_MAX; c++)
		ck_assert_int_eq(pec_class_from_string(pec_class_to_string(c)), c);
	ck_assert_str_eq(pec_class_to_string(PEC_CLASS_FW_RESET_DONE), "fw-reset-done");
	ck_assert_str_eq(pec_class_to_string(PEC_CLASS_INFORMATIONAL), "informational");
	ck_assert_str_eq(pec_class_to_string(_PEC_CLASS_MAX), "invalid");
	ck_assert_str_eq(pec_class_to_string(_PEC_CLASS_INVALID), "invalid");
	ck_assert_int_eq(pec_class_from_string("fatal"), _PEC_CLASS_INVALID);
	ck_assert_int_eq(pec_class_from_string(""), _PEC_CLASS_INVALID);
	ck_assert_int_eq(pec_class_from_string(NULL), _PEC_CLASS_INVALID);
}
END_TEST

static Suite *pec_suite(void)
{
	Suite *s = suite_create("pec");
	TCase *tc = tcase_create("pec");

	tcase_add_test(tc, test_kernel_classes);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_table_is_consistent);
	tcase_add_test(tc, test_class_strings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pec_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
