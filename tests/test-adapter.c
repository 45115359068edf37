/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The adapter correlator alone, on a manual clock: which errors make an
 * adapter event, once per window, by PCHID or by PCHID and port, and the
 * hold after it.
 */
#include <check.h>

#include "daemon/adapter.h"

#define S USEC_PER_SEC

static ZpciAttrs fn(uint32_t fid, uint16_t pchid, uint32_t port)
{
	return (ZpciAttrs){
		.fid = fid,
		.has = ZPCI_ATTR_HAS_PCHID | ZPCI_ATTR_HAS_PORT,
		.pchid = pchid,
		.port = port,
	};
}

static AdapterCorrelator *new_correlator(unsigned functions, uint64_t window, uint64_t hold, bool by_port)
{
	AdapterConfig c = {
		.functions = functions, .window_usec = window, .hold_usec = hold, .by_port = by_port
	};
	AdapterCorrelator *ac = NULL;

	ck_assert_int_eq(adapter_correlator_new(&ac, &c), 0);
	return ac;
}

static int observe(AdapterCorrelator *c, uint32_t fid, uint16_t pchid, uint32_t port, uint64_t t,
		   AdapterFiring *fire)
{
	ZpciAttrs a = fn(fid, pchid, port);

	return adapter_correlator_observe(c, &a, t, fire);
}

START_TEST(test_default_config)
{
	AdapterConfig c;

	adapter_config_default(&c);
	ck_assert_uint_eq(c.functions, 3);
	ck_assert_uint_eq(c.window_usec, 10 * S);
	ck_assert_uint_eq(c.hold_usec, 0);
	ck_assert(!c.by_port);
}
END_TEST

START_TEST(test_three_functions_within_window)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(3, 10 * S, 0, false);
	AdapterFiring fire;
	const Adapter *ad;

	ck_assert_int_eq(observe(c, 0x12, 0x1a0, 0, 100 * S, &fire), 0);
	/* the same function again does not count twice */
	ck_assert_int_eq(observe(c, 0x12, 0x1a0, 0, 101 * S, &fire), 0);
	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 102 * S, &fire), 0);
	ck_assert_int_eq(observe(c, 0x11, 0x1a0, 1, 109 * S + S - 1, &fire), 1);
	ck_assert_uint_eq(fire.key.pchid, 0x1a0);
	ck_assert(!fire.key.has_port);
	ck_assert_uint_eq(fire.n_fids, 3);
	ck_assert_uint_eq(fire.fids[0], 0x10);
	ck_assert_uint_eq(fire.fids[1], 0x11);
	ck_assert_uint_eq(fire.fids[2], 0x12);

	ad = adapter_correlator_find(c, &fire.key);
	ck_assert_ptr_nonnull(ad);
	ck_assert_uint_eq(ad->errors, 4);
	ck_assert_uint_eq(ad->events, 1);
	ck_assert_uint_eq(adapter_recent_count(c, ad, 110 * S), 3);
	/* 0x12's latest error (101 s) leaves the window at 111 s */
	ck_assert_uint_eq(adapter_recent_count(c, ad, 111 * S), 2);
}
END_TEST

START_TEST(test_outside_window)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(3, 10 * S, 0, false);

	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 100 * S, NULL), 0);
	ck_assert_int_eq(observe(c, 0x11, 0x1a0, 0, 105 * S, NULL), 0);
	/* exactly one window after the first: the first is out */
	ck_assert_int_eq(observe(c, 0x12, 0x1a0, 0, 110 * S, NULL), 0);
	/* 0x10 again: 0x11 (105), 0x12 (110), 0x10 (112) are within */
	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 112 * S, NULL), 1);
}
END_TEST

START_TEST(test_different_adapters)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(2, 10 * S, 0, false);
	ZpciAttrs nopchid = { .fid = 0x30 }, ism = { .fid = 0x40, .has = ZPCI_ATTR_HAS_PCHID };

	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 100 * S, NULL), 0);
	ck_assert_int_eq(observe(c, 0x20, 0x1b0, 0, 100 * S, NULL), 0);
	/* a function without a PCHID belongs to no adapter */
	ck_assert_int_eq(adapter_correlator_observe(c, &nopchid, 100 * S, NULL), 0);
	ck_assert_int_eq(adapter_correlator_observe(c, &nopchid, 101 * S, NULL), 0);
	/* nor does ISM, PCHID 0 */
	ck_assert_int_eq(adapter_correlator_observe(c, &ism, 100 * S, NULL), 0);
	ism.fid = 0x41;
	ck_assert_int_eq(adapter_correlator_observe(c, &ism, 100 * S, NULL), 0);
	ck_assert_uint_eq(c->n_adapters, 2);
	ck_assert_int_eq(observe(c, 0x21, 0x1b0, 0, 101 * S, NULL), 1);
}
END_TEST

START_TEST(test_once_per_window)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(2, 10 * S, 0, false);
	unsigned fired = 0;

	/* a storm on four functions over 25 s: one event per window */
	for (uint64_t t = 0; t < 25; t++)
		for (uint32_t fid = 0x10; fid < 0x14; fid++) {
			int r = observe(c, fid, 0x1a0, 0, 1000 * S + t * S + fid, NULL);

			ck_assert_int_ge(r, 0);
			fired += (unsigned)r;
		}
	/* at 1000 s, 1010 s, 1020 s */
	ck_assert_uint_eq(fired, 3);
}
END_TEST

START_TEST(test_by_port)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(2, 10 * S, 0, true);
	AdapterFiring fire;

	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 1, 100 * S, &fire), 0);
	ck_assert_int_eq(observe(c, 0x11, 0x1a0, 2, 100 * S, &fire), 0);
	ck_assert_int_eq(observe(c, 0x12, 0x1a0, 2, 101 * S, &fire), 1);
	ck_assert(fire.key.has_port);
	ck_assert_uint_eq(fire.key.port, 2);
	ck_assert_uint_eq(fire.n_fids, 2);

	/* grouping by PCHID alone forgets what was kept by port */
	{
		AdapterConfig cfg = c->config;

		cfg.by_port = false;
		adapter_correlator_set_config(c, &cfg);
		ck_assert_uint_eq(c->n_adapters, 0);
		ck_assert_int_eq(observe(c, 0x10, 0x1a0, 1, 102 * S, &fire), 0);
		ck_assert_int_eq(observe(c, 0x11, 0x1a0, 2, 102 * S, &fire), 1);
		ck_assert(!fire.key.has_port);
	}
}
END_TEST

START_TEST(test_hold)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(2, 10 * S, 60 * S, false);
	ZpciAttrs a = fn(0x10, 0x1a0, 0), other = fn(0x20, 0x1b0, 0);
	uint64_t until = 0;

	ck_assert(!adapter_correlator_holds(c, &a, 100 * S, NULL));
	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 100 * S, NULL), 0);
	ck_assert(!adapter_correlator_holds(c, &a, 100 * S, NULL));
	ck_assert_int_eq(observe(c, 0x11, 0x1a0, 0, 105 * S, NULL), 1);
	ck_assert(adapter_correlator_holds(c, &a, 105 * S, &until));
	ck_assert_uint_eq(until, 165 * S);
	ck_assert(adapter_correlator_holds(c, &a, 165 * S - 1, NULL));
	ck_assert(!adapter_correlator_holds(c, &a, 165 * S, NULL));
	ck_assert(!adapter_correlator_holds(c, &other, 105 * S, NULL));

	/* no hold configured: never held */
	{
		AdapterConfig cfg = c->config;

		cfg.hold_usec = 0;
		adapter_correlator_set_config(c, &cfg);
		ck_assert(!adapter_correlator_holds(c, &a, 105 * S, NULL));
	}
}
END_TEST

START_TEST(test_off_and_forget)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *off = new_correlator(0, 10 * S, 0, false);
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *c = new_correlator(2, 10 * S, 0, false);

	for (uint32_t fid = 0x10; fid < 0x20; fid++)
		ck_assert_int_eq(observe(off, fid, 0x1a0, 0, 100 * S, NULL), 0);
	ck_assert_uint_eq(off->n_adapters, 0);

	ck_assert_int_eq(observe(c, 0x10, 0x1a0, 0, 100 * S, NULL), 0);
	adapter_correlator_forget(c, 0x10);
	ck_assert_int_eq(observe(c, 0x11, 0x1a0, 0, 101 * S, NULL), 0);
	ck_assert_int_eq(observe(c, 0x12, 0x1a0, 0, 102 * S, NULL), 1);
}
END_TEST

static Suite *adapter_suite(void)
{
	Suite *s = suite_create("adapter");
	TCase *tc = tcase_create("correlator");

	tcase_add_test(tc, test_default_config);
	tcase_add_test(tc, test_three_functions_within_window);
	tcase_add_test(tc, test_outside_window);
	tcase_add_test(tc, test_different_adapters);
	tcase_add_test(tc, test_once_per_window);
	tcase_add_test(tc, test_by_port);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_off_and_forget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(adapter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
