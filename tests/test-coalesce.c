/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The coalescer on its own: the pure window decision on a manual clock, and
 * the window timers on a real libevent loop (the clock the decisions see is
 * manual; the loop runs until the summary arrives, with a generous limit).
 */
#include <check.h>
#include <stdlib.h>

#include <event2/event.h>

#include "daemon/coalesce.h"

#define MS 1000ULL

START_TEST(test_decide_burst_and_windows)
{
	CoalesceWindow w = {};
	unsigned out = 0, held = 0;

	/* a window of 10 ms, 3 written: 3 out, 7 held */
	for (unsigned i = 0; i < 10; i++)
		coalesce_decide(&w, 3, 10 * MS, 1000 + i) ? out++ : held++;
	ck_assert_uint_eq(out, 3);
	ck_assert_uint_eq(held, 7);
	ck_assert_uint_eq(w.suppressed, 7);
	ck_assert_uint_eq(w.start_usec, 1000);

	/* a window with events held back lasts until it is closed, however late */
	ck_assert(!coalesce_decide(&w, 3, 10 * MS, 1000 + 50 * MS));
	ck_assert_uint_eq(coalesce_window_close(&w), 8);
	ck_assert_uint_eq(w.suppressed, 0);
	ck_assert_uint_eq(w.emitted, 0);

	/* after closing, the next event starts a new window */
	ck_assert(coalesce_decide(&w, 3, 10 * MS, 2000000));
	ck_assert_uint_eq(w.start_usec, 2000000);

	/* a window that ended quietly (nothing held back) starts afresh on the next event */
	ck_assert(coalesce_decide(&w, 3, 10 * MS, 2000001));
	ck_assert(coalesce_decide(&w, 3, 10 * MS, 2000002));
	ck_assert(coalesce_decide(&w, 3, 10 * MS, 2000000 + 10 * MS));
	ck_assert_uint_eq(w.start_usec, 2000000 + 10 * MS);
	ck_assert_uint_eq(w.emitted, 1);
}
END_TEST

typedef struct Summaries {
	unsigned n;
	const void *key;
	uint32_t suppressed;
	uint64_t window_usec;
	struct event_base *base; /* broken out of when a summary arrives */
	Coalescer *c;            /* admitted to from within the callback, when set */
} Summaries;

static void on_summary(void *userdata, const void *key, uint32_t suppressed, uint64_t window_usec)
{
	Summaries *s = userdata;

	s->n++;
	s->key = key;
	s->suppressed = suppressed;
	s->window_usec = window_usec;
	/* the key is forgotten before the call: a new event starts a new window */
	if (s->c)
		ck_assert(coalesce_admit(s->c, key, 1));
	if (s->base)
		(void)event_base_loopbreak(s->base);
}

static void on_limit(evutil_socket_t fd, short what, void *userdata)
{
	bool *timed_out = userdata;

	*timed_out = true;
}

/* Run @base until @s has @n summaries; fails after 60 s (a safety limit,
 * far above the window, never the expected way out). */
static void run_until_summaries(struct event_base *base, Summaries *s, unsigned n)
{
	const struct timeval sixty = { .tv_sec = 60 };
	bool timed_out = false;
	struct event *limit = evtimer_new(base, on_limit, &timed_out);

	ck_assert_ptr_nonnull(limit);
	ck_assert_int_eq(evtimer_add(limit, &sixty), 0);
	while (s->n < n && !timed_out)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	event_free(limit);
	ck_assert_msg(!timed_out, "no summary within 60 s");
}

START_TEST(test_timer_summary)
{
	struct event_base *base = event_base_new();
	_cleanup_(coalesce_freep) Coalescer *c = NULL;
	Summaries s = { .base = base };
	int a, b;
	unsigned out = 0;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(coalesce_new(&c, base, on_summary, &s), 0);
	coalesce_set_limits(c, 2, 20 * MS);

	/* key a: 2 written, 5 held; key b: 1 written, nothing held */
	for (unsigned i = 0; i < 7; i++)
		out += coalesce_admit(c, &a, 100 + i);
	ck_assert(coalesce_admit(c, &b, 100));
	ck_assert_uint_eq(out, 2);
	ck_assert_uint_eq(coalesce_size(c), 2);
	ck_assert_uint_eq(s.n, 0);

	/* the window's timer: one summary, for a, with the exact count */
	run_until_summaries(base, &s, 1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_ptr_eq(s.key, &a);
	ck_assert_uint_eq(s.suppressed, 5);
	ck_assert_uint_eq(s.window_usec, 20 * MS);
	ck_assert_uint_eq(coalesce_size(c), 1); /* a forgotten, b kept */

	/* a new window for a: written again */
	ck_assert(coalesce_admit(c, &a, 100 * MS));
	ck_assert_uint_eq(coalesce_size(c), 2);

	/* flushing a key without held events says nothing and forgets it */
	coalesce_flush(c, &b);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(coalesce_size(c), 1);

	c = coalesce_free(c);
	event_base_free(base);
}
END_TEST

START_TEST(test_flush_before_the_timer)
{
	struct event_base *base = event_base_new();
	_cleanup_(coalesce_freep) Coalescer *c = NULL;
	Summaries s = {};
	int keys[100];

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(coalesce_new(&c, base, on_summary, &s), 0);
	/* an hour's window: only a flush ends it in this test */
	coalesce_set_limits(c, 1, 3600 * USEC_PER_SEC);

	/* many keys (the table grows), each with 1 written and 2 held */
	for (unsigned k = 0; k < ELEMENTSOF(keys); k++)
		for (unsigned i = 0; i < 3; i++)
			ck_assert(coalesce_admit(c, &keys[k], 10 + i) == (i == 0));
	ck_assert_uint_eq(coalesce_size(c), ELEMENTSOF(keys));

	/* the key goes away: its summary now; the summary callback may admit again */
	s.c = c;
	coalesce_flush(c, &keys[7]);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_ptr_eq(s.key, &keys[7]);
	ck_assert_uint_eq(s.suppressed, 2);
	ck_assert_uint_eq(coalesce_size(c), ELEMENTSOF(keys));
	s.c = NULL;

	/* all at once (shutdown): one summary per key that held events back */
	coalesce_flush_all(c);
	ck_assert_uint_eq(s.n, ELEMENTSOF(keys));
	ck_assert_uint_eq(coalesce_size(c), 0);

	/* no timer is left: the loop has nothing to run */
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	ck_assert_uint_eq(s.n, ELEMENTSOF(keys));

	c = coalesce_free(c);
	event_base_free(base);
}
END_TEST

START_TEST(test_limits_and_free)
{
	struct event_base *base = event_base_new();
	Coalescer *c = NULL;
	Summaries s = {};
	int a;
	unsigned out = 0;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(coalesce_new(&c, base, on_summary, &s), 0);
	/* the defaults: 20 written per window */
	for (unsigned i = 0; i < 30; i++)
		out += coalesce_admit(c, &a, 5);
	ck_assert_uint_eq(out, COALESCE_DEFAULT_BURST);
	/* freed with a window pending: no summary, no timer left behind */
	c = coalesce_free(c);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coalesce");
	TCase *tc = tcase_create("coalesce");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_decide_burst_and_windows);
	tcase_add_test(tc, test_timer_summary);
	tcase_add_test(tc, test_flush_before_the_timer);
	tcase_add_test(tc, test_limits_and_free);
	/* the loop waits for a marker, bounded by its own 60 s limit */
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
