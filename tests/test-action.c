/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/action.h"
#include "common/macro.h"

/* The spellings are part of the interface (configuration, journal, D-Bus,
 * history files): they are pinned here, each once. */
static const char *const types[] = { "log",    "alert",   "report-info",     "reset",
				     "unbind", "recover", "report-fw-reset", "report-deconfigure" };
static const char *const results[] = { "done",        "failed",          "timeout",  "postponed",
				       "dry-run",     "not-supported",   "dropped",  "confirmed",
				       "unconfirmed", "no-confirmation", "cancelled" };

START_TEST(test_type_round_trip)
{
	ck_assert_int_eq(ELEMENTSOF(types), _ACTION_TYPE_MAX);
	for (int t = 0; t < _ACTION_TYPE_MAX; t++) {
		ck_assert_str_eq(action_type_to_string((ActionType)t), types[t]);
		ck_assert_str_eq(action_type_names[t], types[t]);
		ck_assert_int_eq(action_type_from_string(types[t]), t);
	}
	ck_assert_ptr_null(action_type_names[_ACTION_TYPE_MAX]);
	ck_assert_str_eq(action_type_to_string(_ACTION_TYPE_MAX), "invalid");
	ck_assert_str_eq(action_type_to_string(_ACTION_TYPE_INVALID), "invalid");
	ck_assert_int_eq(action_type_from_string("reboot"), _ACTION_TYPE_INVALID);
	ck_assert_int_eq(action_type_from_string("Reset"), _ACTION_TYPE_INVALID);
	ck_assert_int_eq(action_type_from_string(""), _ACTION_TYPE_INVALID);
	ck_assert_int_eq(action_type_from_string(NULL), _ACTION_TYPE_INVALID);
}
END_TEST

START_TEST(test_type_disruptive)
{
	static const bool disruptive[_ACTION_TYPE_MAX] = {
		[ACTION_RESET] = true,
		[ACTION_UNBIND] = true,
		[ACTION_RECOVER] = true,
		[ACTION_REPORT_FW_RESET] = true,
		[ACTION_REPORT_DECONFIGURE] = true,
	};

	for (int t = 0; t < _ACTION_TYPE_MAX; t++)
		ck_assert_msg(action_type_is_disruptive((ActionType)t) == disruptive[t], "%s", types[t]);
	ck_assert(!action_type_is_disruptive(_ACTION_TYPE_INVALID));
}
END_TEST

START_TEST(test_result_round_trip)
{
	ck_assert_int_eq(ELEMENTSOF(results), _ACTION_RESULT_MAX);
	for (int r = 0; r < _ACTION_RESULT_MAX; r++) {
		ck_assert_str_eq(action_result_to_string((ActionResult)r), results[r]);
		ck_assert_int_eq(action_result_from_string(results[r]), r);
	}
	ck_assert_str_eq(action_result_to_string(_ACTION_RESULT_MAX), "invalid");
	ck_assert_str_eq(action_result_to_string(_ACTION_RESULT_INVALID), "invalid");
	ck_assert_int_eq(action_result_from_string("ok"), _ACTION_RESULT_INVALID);
	ck_assert_int_eq(action_result_from_string(NULL), _ACTION_RESULT_INVALID);
	/* A type is not a result, and the other way round, except where the words agree. */
	ck_assert_int_eq(action_result_from_string("reset"), _ACTION_RESULT_INVALID);
	ck_assert_int_eq(action_type_from_string("done"), _ACTION_TYPE_INVALID);
}
END_TEST

START_TEST(test_result_confirmation)
{
	for (int r = 0; r < _ACTION_RESULT_MAX; r++)
		ck_assert_msg(action_result_is_confirmation((ActionResult)r) ==
				      (r == ACTION_RESULT_CONFIRMED || r == ACTION_RESULT_UNCONFIRMED ||
				       r == ACTION_RESULT_NO_CONFIRMATION || r == ACTION_RESULT_CANCELLED),
			      "%s", results[r]);
	ck_assert(!action_result_is_confirmation(_ACTION_RESULT_INVALID));
}
END_TEST

static Suite *action_suite(void)
{
	Suite *s = suite_create("action");
	TCase *tc = tcase_create("action");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_type_round_trip);
	tcase_add_test(tc, test_type_disruptive);
	tcase_add_test(tc, test_result_round_trip);
	tcase_add_test(tc, test_result_confirmation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(action_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
