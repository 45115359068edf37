/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's recovery uevents (ERROR_EVENT, DEVICE_ONLINE) as event
 * records; their way from a real uevent through the registry to the
 * journal is covered by the e2e tests.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "daemon/recovery-uevent.h"

START_TEST(test_recovery_uevent_parse)
{
	static const struct {
		const char *error_event, *online;
		int result;
		RecoveryPhase recovery;
		bool has_online, online_value;
	} cases[] = {
		{ "BEGIN_RECOVERY", "0", 0, RECOVERY_BEGIN, true, false },
		{ "SUCCESSFUL_RECOVERY", "1", 0, RECOVERY_SUCCESSFUL, true, true },
		{ "FAILED_RECOVERY", NULL, 0, RECOVERY_FAILED, false, false },
		{ "FAILED_RECOVERY", "yes", 0, RECOVERY_FAILED, false, false }, /* not 0/1: left out */
		{ "FAILED_RECOVERY", "", 0, RECOVERY_FAILED, false, false },
		{ "begin_recovery", "1", -EINVAL },
		{ "", "1", -EINVAL },
		{ NULL, "1", -ENOMSG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ZpciEvent e = { .kind = EVENT_ERROR, .fid = 0x77 };
		int r = recovery_uevent_parse(cases[i].error_event, cases[i].online, &e);

		ck_assert_int_eq(r, cases[i].result);
		if (r < 0) {
			ck_assert_int_eq(e.kind, EVENT_ERROR); /* untouched */
			continue;
		}
		ck_assert_int_eq(e.kind, EVENT_RECOVERY);
		ck_assert_int_eq(e.sources, EVENT_SOURCE_UEVENT);
		ck_assert_int_eq(e.recovery, cases[i].recovery);
		ck_assert_int_eq(!!(e.has & EVENT_HAS_ONLINE), cases[i].has_online);
		if (cases[i].has_online)
			ck_assert_int_eq(e.online, cases[i].online_value);
		ck_assert_uint_eq(e.fid, 0); /* the pipeline fills the identity */
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("recovery-uevent");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_recovery_uevent_parse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
