/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/ratelimit.h"

#define SEC    (1000000ULL)
#define MINUTE (60 * SEC)

START_TEST(test_duration)
{
	static const struct {
		const char *s;
		int r;
		uint64_t usec;
	} t[] = {
		{ "30s", 0, 30 * SEC },  { "10m", 0, 600 * SEC },
		{ "1h", 0, 3600 * SEC }, { "2d", 0, 172800 * SEC },
		{ "0s", 0, 0 },          { "366d", 0, 366 * 86400 * SEC },
		{ "367d", -EINVAL },     { "10", -EINVAL },
		{ "m", -EINVAL },        { "10x", -EINVAL },
		{ "10mm", -EINVAL },     { " 10m", -EINVAL },
		{ "-1s", -EINVAL },      { "", -EINVAL },
		{ "1.5h", -EINVAL },     { "99999999999999999999s", -EINVAL },
	};
	char buf[32];

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		uint64_t u = 12345;
		ck_assert_msg(duration_parse(t[i].s, &u) == t[i].r, "%s", t[i].s);
		if (t[i].r == 0)
			ck_assert_uint_eq(u, t[i].usec);
	}
	ck_assert_str_eq(duration_format(600 * SEC, buf, sizeof(buf)), "10m");
	ck_assert_str_eq(duration_format(90 * SEC, buf, sizeof(buf)), "90s");
	ck_assert_str_eq(duration_format(86400 * SEC, buf, sizeof(buf)), "1d");
	ck_assert_str_eq(duration_format(0, buf, sizeof(buf)), "0s");
}
END_TEST

START_TEST(test_rate_spec)
{
	static const struct {
		const char *s;
		int r;
		unsigned n;
		uint64_t usec;
	} t[] = {
		{ "3 / 10m", 0, 3, 600 * SEC },
		{ "5/1h", 0, 5, 3600 * SEC },
		{ "1 /  1s", 0, 1, SEC },
		{ "100000/1d", 0, 100000, 86400 * SEC },
		{ "0 / 1m", -EINVAL },
		{ "100001/1d", -EINVAL },
		{ "3 / 0s", -EINVAL },
		{ "3", -EINVAL },
		{ "3 / ", -EINVAL },
		{ "/ 10m", -EINVAL },
		{ "3 / 10m x", -EINVAL },
		{ "3 // 10m", -EINVAL },
		{ "three / 10m", -EINVAL },
	};
	char buf[RATE_SPEC_STR_MAX];
	RateSpec s;

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		ck_assert_msg(rate_spec_parse(t[i].s, &s) == t[i].r, "%s", t[i].s);
		if (t[i].r == 0) {
			ck_assert_uint_eq(s.n, t[i].n);
			ck_assert_uint_eq(s.interval_usec, t[i].usec);
		}
	}
	ck_assert_int_eq(rate_spec_parse("3/600s", &s), 0);
	ck_assert_str_eq(rate_spec_format(&s, buf, sizeof(buf)), "3 / 10m");
}
END_TEST

/* The documented semantics, step by step, with an injected clock. */
START_TEST(test_bucket_semantics)
{
	RateSpec s;
	LeakyBucket b = {};
	uint64_t t0 = 1000 * SEC;

	ck_assert_int_eq(rate_spec_parse("3 / 10m", &s), 0);
	/* A burst: fires on the 3rd event, then the bucket is empty. */
	ck_assert(!leaky_bucket_add(&b, &s, t0));
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0), 1000);
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 1 * SEC));
	ck_assert(leaky_bucket_add(&b, &s, t0 + 2 * SEC));
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0 + 2 * SEC), 0);
	/* After firing, the next firing needs 3 more events. */
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 3 * SEC));
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 4 * SEC));
	ck_assert(leaky_bucket_add(&b, &s, t0 + 5 * SEC));

	/* Drain: one event per T (600 s here). */
	b = (LeakyBucket){};
	ck_assert(!leaky_bucket_add(&b, &s, t0));
	ck_assert(!leaky_bucket_add(&b, &s, t0));
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0), 2000);
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0 + 300 * SEC), 1500);
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0 + 1200 * SEC), 0);
	/* 2 - 1 + 1 = 2: exactly N-1 does not fire */
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 600 * SEC));
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0 + 600 * SEC), 2000);
	/* 2 - 1/600 + 1 > 2: fires */
	ck_assert(leaky_bucket_add(&b, &s, t0 + 601 * SEC));

	/* Events T apart never accumulate. */
	b = (LeakyBucket){};
	for (int i = 0; i < 100; i++)
		ck_assert(!leaky_bucket_add(&b, &s, t0 + (uint64_t)i * 600 * SEC));
	/* Events T/2 apart: levels 1, 1.5, 2, 2.5 -> the 4th fires. */
	b = (LeakyBucket){};
	{
		int fired_at = -1;
		for (int i = 0; i < 100 && fired_at < 0; i++)
			if (leaky_bucket_add(&b, &s, t0 + (uint64_t)i * 300 * SEC))
				fired_at = i;
		ck_assert_int_eq(fired_at, 3);
	}
	/* N events spread over just under T fire. */
	b = (LeakyBucket){};
	ck_assert(!leaky_bucket_add(&b, &s, t0));
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 5 * MINUTE));
	ck_assert(leaky_bucket_add(&b, &s, t0 + 10 * MINUTE - 1));

	/* A clock going back drains nothing. */
	b = (LeakyBucket){};
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 10 * MINUTE));
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 5 * MINUTE));
	ck_assert_uint_eq(leaky_bucket_level_milli(&b, &s, t0), 2000);
	ck_assert(leaky_bucket_add(&b, &s, t0 + 5 * MINUTE));

	/* 1 / T fires every time. */
	ck_assert_int_eq(rate_spec_parse("1 / 1h", &s), 0);
	b = (LeakyBucket){};
	for (int i = 0; i < 5; i++)
		ck_assert(leaky_bucket_add(&b, &s, t0 + (uint64_t)i));
}
END_TEST

START_TEST(test_bucket_extremes)
{
	RateSpec s;
	LeakyBucket b = {};
	uint64_t t0 = 1ULL << 60;

	/* The largest N and T must not overflow. */
	ck_assert_int_eq(rate_spec_parse("100000 / 366d", &s), 0);
	{
		/* One check for the whole run: each ck_assert is a message to
		 * Check's parent, which valgrind makes slow. */
		unsigned fired = 0;

		for (unsigned i = 0; i < 99999; i++)
			fired += leaky_bucket_add(&b, &s, t0);
		ck_assert_uint_eq(fired, 0);
	}
	ck_assert(leaky_bucket_add(&b, &s, t0));
	ck_assert(!leaky_bucket_add(&b, &s, t0 + 365 * 86400 * SEC));
}
END_TEST

START_TEST(test_window)
{
	RateWindow w = {};
	RateSpec s;
	uint64_t next = 0, t0 = 5000 * SEC, t;

	ck_assert_int_eq(rate_spec_parse("3 / 1h", &s), 0);
	ck_assert(rate_window_allows(&w, &s, t0, &next));
	ck_assert_int_eq(rate_window_record(&w, &s, t0), 0);
	ck_assert_int_eq(rate_window_record(&w, &s, t0 + 10 * MINUTE), 0);
	ck_assert_int_eq(rate_window_record(&w, &s, t0 + 20 * MINUTE), 0);
	ck_assert_uint_eq(rate_window_count(&w, &s, t0 + 20 * MINUTE), 3);
	ck_assert(!rate_window_allows(&w, &s, t0 + 30 * MINUTE, &next));
	ck_assert_uint_eq(next, t0 + 60 * MINUTE);
	/* The window is (now - T, now]: the use at t0 leaves it exactly at t0 + T. */
	ck_assert(!rate_window_allows(&w, &s, t0 + 60 * MINUTE - 1, NULL));
	ck_assert(rate_window_allows(&w, &s, t0 + 60 * MINUTE, NULL));
	ck_assert_int_eq(rate_window_record(&w, &s, t0 + 60 * MINUTE), 0);
	ck_assert(!rate_window_allows(&w, &s, t0 + 61 * MINUTE, &next));
	ck_assert_uint_eq(next, t0 + 70 * MINUTE);
	/* Only the last N are kept, oldest first. */
	ck_assert(rate_window_get(&w, 0, &t));
	ck_assert_uint_eq(t, t0 + 10 * MINUTE);
	ck_assert(rate_window_get(&w, 2, &t));
	ck_assert_uint_eq(t, t0 + 60 * MINUTE);
	ck_assert(!rate_window_get(&w, 3, &t));

	/* A smaller N (configuration reloaded) keeps the newest uses. */
	ck_assert_int_eq(rate_spec_parse("1 / 1h", &s), 0);
	ck_assert_int_eq(rate_window_record(&w, &s, t0 + 62 * MINUTE), 0);
	ck_assert(rate_window_get(&w, 0, &t));
	ck_assert_uint_eq(t, t0 + 62 * MINUTE);
	ck_assert(!rate_window_get(&w, 1, &t));
	ck_assert(!rate_window_allows(&w, &s, t0 + 63 * MINUTE, &next));
	ck_assert_uint_eq(next, t0 + 122 * MINUTE);
	rate_window_done(&w);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_rate_spec);
	tcase_add_test(tc, test_bucket_semantics);
	tcase_add_test(tc, test_bucket_extremes);
	tcase_add_test(tc, test_window);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
