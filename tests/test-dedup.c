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
	/* the kernel line is still unmatched: a record drained through a passed fd upgrades it */
	ck_assert_int_eq(dedup_check(d, &delegated, 6, &earlier), DEDUP_UPGRADE);
	ck_assert_uint_eq(earlier, 1);
	/* the second kernel line (4) is more than a window before this drained record */
	ck_assert_int_eq(dedup_check(d, &too_late, 5, NULL), DEDUP_NEW);
}
END_TEST

START_TEST(test_many_functions_keep_their_sightings)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;

	ck_assert_int_eq(dedup_new(&d), 0);
	for (unsigned i = 0; i < 3 * 256; i++) {
		ZpciEvent v = error_event(i, 0x1, EVENT_SOURCE_VFIO, 1000);
		ck_assert_int_eq(dedup_check(d, &v, i + 1, NULL), DEDUP_NEW);
	}
	/* one FIFO per function: the first one's sighting is still there */
	for (unsigned i = 0; i < 3 * 256; i++) {
		ZpciEvent k = error_event(i, 0x1, EVENT_SOURCE_KMSG, 1000);
		ck_assert_int_eq(dedup_check(d, &k, 0, NULL), DEDUP_DUPLICATE);
	}
}
END_TEST

START_TEST(test_old_sightings_go)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent v = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000000);
	ZpciEvent v2 = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000000 + DEDUP_KEEP_USEC + 1);
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1000000);

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &v, 1, NULL), DEDUP_NEW);
	/* a newer sighting of its kind long after: the first can match nothing */
	ck_assert_int_eq(dedup_check(d, &v2, 2, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check(d, &k, 3, NULL), DEDUP_NEW);

	/* at most DEDUP_FUNCTION_MAX unpaired sightings per function and kind */
	for (unsigned i = 0; i < DEDUP_FUNCTION_MAX + 10; i++) {
		ZpciEvent x = error_event(0x22, 0x2, EVENT_SOURCE_VFIO, 5000000 + i);
		ck_assert_int_eq(dedup_check(d, &x, 100 + i, NULL), DEDUP_NEW);
	}
	ZpciEvent first = error_event(0x22, 0x2, EVENT_SOURCE_KMSG, 5000000);
	int dup = 0;

	for (unsigned i = 0; i < DEDUP_FUNCTION_MAX + 10; i++)
		dup += dedup_check(d, &first, 0, NULL) == DEDUP_DUPLICATE;
	ck_assert_int_eq(dup, DEDUP_FUNCTION_MAX);
}
END_TEST

typedef struct Released {
	unsigned n;
	uint64_t next_seq;
	uint32_t last_fid;
	void *last_userdata;
} Released;

static uint64_t on_release(void *userdata, ZpciEvent *e, void *held_userdata)
{
	Released *r = userdata;

	r->n++;
	r->last_fid = e->fid;
	r->last_userdata = held_userdata;
	return r->next_seq++;
}

START_TEST(test_held_then_completed)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 1000000);
	ZpciEvent v = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000300);
	Released r = { .next_seq = 40 };
	int token;
	void *held = NULL;
	uint64_t earlier = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check_hold(d, &k, 1, 2000000, &token, &earlier, &held), DEDUP_HELD);
	ck_assert_uint_eq(dedup_n_held(d), 1);
	ck_assert_uint_eq(dedup_next_deadline(d), 2000000);
	ck_assert_ptr_null(held);
	/* the drained record comes within the grace: it alone is recorded */
	ck_assert_int_eq(dedup_check_hold(d, &v, 2, 0, NULL, &earlier, &held), DEDUP_COMPLETES);
	ck_assert_ptr_eq(held, &token);
	ck_assert_uint_eq(earlier, 0);
	ck_assert_uint_eq(dedup_n_held(d), 0);
	ck_assert_uint_eq(dedup_next_deadline(d), 0);
	ck_assert_uint_eq(dedup_release(d, UINT64_MAX, on_release, &r), 0);
	/* and pairs with nothing else */
	ck_assert_int_eq(dedup_check(d, &k, 3, NULL), DEDUP_NEW);
}
END_TEST

START_TEST(test_held_then_released)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent k = error_event(0x21, 0x2a, EVENT_SOURCE_KMSG, 1000000);
	ZpciEvent k2 = error_event(0x21, 0x2b, EVENT_SOURCE_KMSG, 1000100);
	ZpciEvent v = error_event(0x21, 0x2a, EVENT_SOURCE_VFIO, 1900000);
	Released r = { .next_seq = 40 };
	int token;
	uint64_t earlier = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check_hold(d, &k, 1, 2000000, &token, NULL, NULL), DEDUP_HELD);
	ck_assert_int_eq(dedup_check_hold(d, &k2, 1, 2000100, &token, NULL, NULL), DEDUP_HELD);
	/* not before the grace ends, then one at a time in order */
	ck_assert_uint_eq(dedup_release(d, 1999999, on_release, &r), 0);
	ck_assert_uint_eq(dedup_release(d, 2000000, on_release, &r), 1);
	ck_assert_uint_eq(r.last_fid, 0x21);
	ck_assert_ptr_eq(r.last_userdata, &token);
	ck_assert_uint_eq(dedup_next_deadline(d), 2000100);
	ck_assert_uint_eq(dedup_release(d, UINT64_MAX, on_release, &r), 1);
	ck_assert_uint_eq(dedup_n_held(d), 0);
	/* a drained record after the grace still pairs: as an upgrade of record 40 */
	ck_assert_int_eq(dedup_check_hold(d, &v, 50, 0, NULL, &earlier, NULL), DEDUP_UPGRADE);
	ck_assert_uint_eq(earlier, 40);
}
END_TEST

/* The tags of held records: the lowest one still held, whichever way the
 * others went. */
START_TEST(test_oldest_held_tag)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent k1 = error_event(0x21, 0x2a, EVENT_SOURCE_KMSG, 1000000);
	ZpciEvent k2 = error_event(0x22, 0x3a, EVENT_SOURCE_KMSG, 1000100);
	ZpciEvent k3 = error_event(0x21, 0x2b, EVENT_SOURCE_KMSG, 1000200);
	ZpciEvent v2 = error_event(0x22, 0x3a, EVENT_SOURCE_VFIO, 1000300);
	Released r = { .next_seq = 40 };
	int token;
	void *held = NULL;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_uint_eq(dedup_oldest_held_tag(d, NULL), 0);
	/* an untagged held record has no say */
	ck_assert_int_eq(dedup_check_hold(d, &k1, 1, 2000000, &token, NULL, NULL), DEDUP_HELD);
	ck_assert_uint_eq(dedup_oldest_held_tag(d, NULL), 0);
	ck_assert_uint_eq(dedup_release(d, UINT64_MAX, on_release, &r), 1);
	ck_assert_int_eq(dedup_check_hold_tagged(d, &k1, 1, 2000000, &token, 7, NULL, NULL), DEDUP_HELD);
	ck_assert_int_eq(dedup_check_hold_tagged(d, &k2, 4, 2000100, &token, 9, NULL, NULL), DEDUP_HELD);
	ck_assert_int_eq(dedup_check_hold_tagged(d, &k3, 5, 2000200, &token, 12, NULL, NULL), DEDUP_HELD);
	ck_assert_uint_eq(dedup_oldest_held_tag(d, NULL), 7);
	/* the middle one completed by its drained record: 7 still held */
	ck_assert_int_eq(dedup_check_hold(d, &v2, 2, 0, NULL, NULL, &held), DEDUP_COMPLETES);
	ck_assert_uint_eq(dedup_oldest_held_tag(d, NULL), 7);
	/* the oldest released at its deadline: 12 is the oldest */
	ck_assert_uint_eq(dedup_release(d, 2000000, on_release, &r), 1);
	{
		uint64_t seq = 0;

		ck_assert_uint_eq(dedup_oldest_held_tag(d, &seq), 12);
		ck_assert_uint_eq(seq, 5);
	}
	ck_assert_uint_eq(dedup_release_userdata(d, &token, on_release, &r), 1);
	ck_assert_uint_eq(dedup_oldest_held_tag(d, NULL), 0);
}
END_TEST

START_TEST(test_drained_first_is_not_held)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent v = error_event(0x21, 0x3a, EVENT_SOURCE_VFIO, 1000000);
	ZpciEvent k = error_event(0x21, 0x3a, EVENT_SOURCE_KMSG, 999000);
	int token;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &v, 1, NULL), DEDUP_NEW);
	ck_assert_int_eq(dedup_check_hold(d, &k, 2, 2000000, &token, NULL, NULL), DEDUP_DUPLICATE);
	ck_assert_uint_eq(dedup_n_held(d), 0);
}
END_TEST

/* A kernel-log line read long after its error (a backlog read at start) is
 * held; the drained record of a new error with the same PEC, more than the
 * window later, must not complete it: it is an error of its own, and the
 * new error's own kernel-log line then pairs with it. */
START_TEST(test_held_line_out_of_window_does_not_pair)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent old = error_event(0x21, 0x1, EVENT_SOURCE_KMSG, 14000000);
	ZpciEvent v = error_event(0x21, 0x1, EVENT_SOURCE_VFIO, 46000000);
	ZpciEvent k = error_event(0x21, 0x1, EVENT_SOURCE_KMSG, 45999000);
	int token;
	void *held = NULL;

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check_hold(d, &old, 1, 46250000, &token, NULL, &held), DEDUP_HELD);
	ck_assert_int_eq(dedup_check_hold(d, &v, 2, 0, NULL, NULL, &held), DEDUP_NEW);
	ck_assert_ptr_null(held);
	ck_assert_uint_eq(dedup_n_held(d), 1);
	ck_assert_int_eq(dedup_check_hold(d, &k, 3, 46250000, &token, NULL, NULL), DEDUP_DUPLICATE);
}
END_TEST

/* dedup_is_duplicate() with a bound: a line of an error from before the
 * function's drains began matches no record drained since. */
START_TEST(test_is_duplicate_bounded)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	ZpciEvent v = error_event(0x21, 0x5, EVENT_SOURCE_VFIO, 54000000);
	ZpciEvent k = error_event(0x21, 0x5, EVENT_SOURCE_KMSG, 51000000);

	ck_assert_int_eq(dedup_new(&d), 0);
	ck_assert_int_eq(dedup_check(d, &v, 1, NULL), DEDUP_NEW);
	ck_assert(!dedup_is_duplicate(d, &k, 53000000));
	/* drained before the bound: the line's duplicate */
	ck_assert(dedup_is_duplicate(d, &k, UINT64_MAX));
	ck_assert(!dedup_is_duplicate(d, &k, UINT64_MAX));
}
END_TEST

START_TEST(test_release_by_userdata)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	Released r = { .next_seq = 1 };
	int a, b;

	ck_assert_int_eq(dedup_new(&d), 0);
	for (unsigned i = 0; i < 6; i++) {
		ZpciEvent k = error_event(0x30 + i % 2, 0x3a, EVENT_SOURCE_KMSG, 1000 + i);
		ck_assert_int_eq(dedup_check_hold(d, &k, 0, 5000 + i, i % 2 ? &b : &a, NULL, NULL),
				 DEDUP_HELD);
	}
	ck_assert_uint_eq(dedup_release_userdata(d, &b, on_release, &r), 3);
	ck_assert_ptr_eq(r.last_userdata, &b);
	ck_assert_uint_eq(dedup_n_held(d), 3);
	ck_assert_uint_eq(dedup_next_deadline(d), 5000);
	/* the rest is freed with the memory */
}
END_TEST

/* 2,000 errors over 64 functions, the kernel log 500 records behind the
 * drains, every drained record 1 ms after its error: every error pairs. */
START_TEST(test_storm_with_lagging_kernel_log)
{
	_cleanup_(dedup_freep) Dedup *d = NULL;
	enum { N = 2000, FUNCTIONS = 64, LAG = 500 };
	unsigned new = 0, dup = 0;

	ck_assert_int_eq(dedup_new(&d), 0);
	for (unsigned i = 0; i < N + LAG; i++) {
		if (i < N) {
			ZpciEvent v = error_event(0x100 + i % FUNCTIONS, 0x3a + i % 3, EVENT_SOURCE_VFIO,
						  1000000 + i * 1000 + 1000);
			new += dedup_check(d, &v, i + 1, NULL) == DEDUP_NEW;
		}
		if (i >= LAG) {
			unsigned j = i - LAG;
			ZpciEvent k = error_event(0x100 + j % FUNCTIONS, 0x3a + j % 3, EVENT_SOURCE_KMSG,
						  1000000 + j * 1000);
			dup += dedup_check_hold(d, &k, 0, 1, &dup, NULL, NULL) == DEDUP_DUPLICATE;
		}
	}
	ck_assert_uint_eq(new, N);
	ck_assert_uint_eq(dup, N);
	ck_assert_uint_eq(dedup_n_held(d), 0);
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
	tcase_add_test(tc, test_many_functions_keep_their_sightings);
	tcase_add_test(tc, test_old_sightings_go);
	tcase_add_test(tc, test_held_then_completed);
	tcase_add_test(tc, test_held_then_released);
	tcase_add_test(tc, test_drained_first_is_not_held);
	tcase_add_test(tc, test_oldest_held_tag);
	tcase_add_test(tc, test_release_by_userdata);
	tcase_add_test(tc, test_storm_with_lagging_kernel_log);
	tcase_add_test(tc, test_held_line_out_of_window_does_not_pair);
	tcase_add_test(tc, test_is_duplicate_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
