/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "daemon/dedup.h"

static ZpciEvent error_event(uint32_t fid, uint16_t pec, unsigned sources, uint64_t mono)
{
	return (ZpciEvent){
		.kind = EVENT_ERROR,
		.fid = fid,
		.pec = pec,
		.has = EVENT_HAS_PEC,
		.sources = sources,
		.monotonic_usec = mono,
	};
}

START_TEST(test_kmsg_then_drain_is_an_upgrade)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1000000);
	ZpciEvent v = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1200000);
	uint64_t earlier = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &k, 17, &earlier), DEDUP_NEW);
	ck_assert_uint_eq(earlier, 0);
	/* the drained record completes the kernel-log record 17 */
	ck_assert_int_eq(dedup_check(d, &v, 18, &earlier), DEDUP_UPGRADE);
	ck_assert_uint_eq(earlier, 17);
	/* a second drained record of the same error is a new error: the kernel line matched already */
	earlier = 0;
	ck_assert_int_eq(dedup_check(d, &v, 19, &earlier), DEDUP_NEW);
	ck_assert_uint_eq(earlier, 0);
}
END_TEST

START_TEST(test_drain_then_kmsg_is_a_duplicate)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent v = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000000);
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1200000);
	uint64_t earlier = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &v, 5, &earlier), DEDUP_NEW);
	/* the kernel line adds nothing to the drained record */
	ck_assert_int_eq(dedup_check(d, &k, 6, &earlier), DEDUP_DUPLICATE);
	ck_assert_uint_eq(earlier, 0);
	/* a second line is an error of its own */
	ck_assert_int_eq(dedup_check(d, &k, 6, NULL), DEDUP_NEW);
}
END_TEST

START_TEST(test_burst_pairs_one_to_one)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	int dup = 0, upgrades = 0;
	uint64_t earlier;

	ck_assert_int_eq(dedup_new(&d), 0);
	/* four drained records, then the kernel's four log lines: 4 errors, 4 duplicates */
	for (int i = 0; i < 4; i++) {
		ZpciEvent v = error_event(0x21, 0x2, EVENT_SOURCE_VFIO, 1000 + i);
		ck_assert_int_eq(dedup_check(d, &v, 1 + i, NULL), DEDUP_NEW);
	}
	for (int i = 0; i < 5; i++) {
		ZpciEvent k = error_event(0x21, 0x2, EVENT_SOURCE_KMSG, 5000 + i);
		dup += dedup_check(d, &k, 10 + i, NULL) == DEDUP_DUPLICATE;
	}
	ck_assert_int_eq(dup, 4);

	/* four kernel lines, then four drained records: each upgrades its line, in order */
	for (int i = 0; i < 4; i++) {
		ZpciEvent k = error_event(0x22, 0x2, EVENT_SOURCE_KMSG, 9000 + i);
		ck_assert_int_eq(dedup_check(d, &k, 100 + i, NULL), DEDUP_NEW);
	}
	for (int i = 0; i < 4; i++) {
		ZpciEvent v = error_event(0x22, 0x2, EVENT_SOURCE_VFIO, 9500 + i);
		ck_assert_int_eq(dedup_check(d, &v, 200 + i, &earlier), DEDUP_UPGRADE);
		ck_assert_uint_eq(earlier, 100 + i);
		upgrades++;
	}
	ck_assert_int_eq(upgrades, 4);
}
END_TEST

START_TEST(test_different_fid_pec_window_or_same_source)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1000000);
	ZpciEvent other_fid = error_event(0x22, 0x3a, EVENT_SOURCE_VFIO, 1000000);
	ZpciEvent other_pec = error_event(0x21, 0x3b, EVENT_SOURCE_VFIO, 1000000);
	ZpciEvent too_late = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000000 + DEDUP_WINDOW_USEC + 10);
	ZpciEvent same_source = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1000001);
	ZpciEvent delegated = error_event(0x21, 0x3a, EVENT_SOURCE_DELEGATED, 1000002);

	uint64_t earlier = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &k, 1, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &other_fid, 2, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &other_pec, 3, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &same_source, 4, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &too_late, 5, NULL), DEDUP_NEW);
	/* the kernel line is still unmatched: a record drained through a passed fd upgrades it */
	ck_assert_int_eq(dedup_check(d, &delegated, 6, &earlier), DEDUP_UPGRADE);
	ck_assert_uint_eq(earlier, 1);
}
END_TEST

START_TEST(test_ring_wraps_without_false_matches)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;

	ck_assert_int_eq(dedup_new(&d), 0);
	for (unsigned i = 0; i < 3 * DEDUP_RING_SIZE; i++) {
		ZpciEvent v = error_event(i, 0x1, EVENT_SOURCE_VFIO, 1000);
		ck_assert_int_eq(dedup_check(d, &v, i + 1, NULL), DEDUP_NEW);
	}
	/* fid 0 was overwritten long ago; the newest ones still match */
	ZpciEvent old = error_event(0, 0x1, EVENT_SOURCE_KMSG, 1000);
	ZpciEvent recent = error_event(3 * DEDUP_RING_SIZE - 1, 0x1, EVENT_SOURCE_KMSG, 1000);
	ck_assert_int_eq(dedup_check(d, &old, 0, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &recent, 0, NULL), DEDUP_DUPLICATE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("dedup");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_kmsg_then_drain_is_an_upgrade);
	tcase_add_test(tc, test_drain_then_kmsg_is_a_duplicate);
	tcase_add_test(tc, test_burst_pairs_one_to_one);
	tcase_add_test(tc, test_different_fid_pec_window_or_same_source);
	tcase_add_test(tc, test_ring_wraps_without_false_matches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
