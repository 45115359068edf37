/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The adapter correlator alone, on a manual clock: which errors make an
 * adapter event, once per window, by PCHID or by PCHID and port, and the
 * hold after it. And what the policy makes of adapter events: rules match
 * them only by kind, may not disrupt on them, and the hold postpones
 * disruptive actions.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/metrics.h"
#include "daemon/adapter.h"
#include "daemon/config.h"
#include "daemon/policy.h"

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

START_TEST(test_off)
{
	_cleanup_(adapter_correlator_freep) AdapterCorrelator *off = new_correlator(0, 10 * S, 0, false);

	for (uint32_t fid = 0x10; fid < 0x20; fid++)
		ck_assert_int_eq(observe(off, fid, 0x1a0, 0, 100 * S, NULL), 0);
	ck_assert_uint_eq(off->n_adapters, 0);
}
END_TEST

/* The metric: one series per adapter, a port label only when grouped by port. */
START_TEST(test_metric_series)
{
	const MetricsAdapter ads[] = { { .pchid = 0x1a0, .events = 2 },
				       { .pchid = 0x1b0, .has_port = true, .port = 2, .events = 0 } };
	MetricsSnapshot snap = { .up = true, .version = "1", .adapters = ads, .n_adapters = 2 };
	_cleanup_free_ char *text = NULL;

	ck_assert_int_eq(metrics_render_string(&snap, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\n# TYPE zpcid_adapter_events_total counter\n"
					   "zpcid_adapter_events_total{pchid=\"0x01a0\"} 2\n"
					   "zpcid_adapter_events_total{pchid=\"0x01b0\",port=\"2\"} 0\n"));
}
END_TEST

/* --- the policy ------------------------------------------------------------ */

static int load_policy(const char *policy, Policy **ret, char *diag, size_t size)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_free_ char *full = NULL;
	int r;

	ck_assert_int_ge(asprintf(&full, "{\"schema\": 1, \"policy\": %s}", policy), 0);
	r = config_load_string(&c, full, strlen(full), "p.json", &d);
	(void)snprintf(diag, size, "%s", d.n > 0 ? d.lines[0] : "");
	if (r >= 0) {
		ck_assert_ptr_nonnull(c->policy);
		*ret = policy_ref(c->policy);
	}
	return r;
}

static ZpciFunction roce(uint32_t fid)
{
	ZpciFunction f = {
		.attrs = { .fid = fid, .has = ZPCI_ATTR_HAS_PCHID, .pchid = 0x1a0 },
		.mode = FUNCTION_MODE_OWN,
	};

	(void)snprintf(f.driver, sizeof(f.driver), "vfio-pci");
	return f;
}

static const ZpciEvent adapter_event = {
	.kind = EVENT_ADAPTER,
	.sources = EVENT_SOURCE_DAEMON,
	.has = EVENT_HAS_PCHID | EVENT_HAS_COUNT | EVENT_HAS_ADAPTER_FUNCTIONS,
	.pchid = 0x1a0,
	.count = 3,
	.adapter_functions = 4,
	.adapter_fids = "0x00000010,0x00000011,0x00000012",
};

START_TEST(test_policy_rejects_disruption_on_adapter_events)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	char diag[512];

	ck_assert_int_eq(load_policy("{\"rules\": [{\"name\": \"x\", \"match\": {\"kind\": [\"error\", "
				     "\"adapter\"]}, \"actions\": [\"alert\", \"reset\"]}]}",
				     &p, diag, sizeof(diag)),
			 -EINVAL);
	ck_assert_str_eq(diag,
			 "p.json:1:36: policy.rules[0]: rule \"x\" matches adapter events, which concern "
			 "no one function (expected only log, alert or report-info actions)");
	ck_assert_int_eq(load_policy("{\"rules\": [{\"name\": \"x\", \"match\": {\"kind\": \"adapter\"}, "
				     "\"ladder\": [\"unbind\"]}]}",
				     &p, diag, sizeof(diag)),
			 -EINVAL);
	ck_assert_int_eq(load_policy("{\"rules\": [{\"name\": \"x\", \"match\": {\"kind\": \"adaptor\"}, "
				     "\"actions\": [\"alert\"]}]}",
				     &p, diag, sizeof(diag)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(diag, "did you mean 'adapter'?"));
}
END_TEST

START_TEST(test_policy_matches_adapter_events_by_kind)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = roce(0x10);
	ZpciEvent e = adapter_event, err = { .kind = EVENT_ERROR, .has = EVENT_HAS_PEC, .pec = 0x12 };
	PolicyDecision d;
	char diag[512];

	/* "pchid" alone matches the function: not enough for an adapter event */
	ck_assert_int_eq(
		load_policy("{\"rules\": ["
			    " {\"name\": \"by-pchid\", \"match\": {\"pchid\": \"0x1a0\"}, \"actions\": "
			    "[\"alert\"]},"
			    " {\"name\": \"adapter-alert\", \"match\": {\"kind\": \"adapter\", \"pchid\": "
			    "\"0x1a0\"}, \"actions\": [\"alert\"]}]}",
			    &p, diag, sizeof(diag)),
		0);
	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, 1000 * S, 0, &d), 0);
	ck_assert_str_eq(d.rule, "adapter-alert");
	ck_assert_uint_eq(d.n_actions, 1);
	ck_assert_int_eq(d.actions[0].action, ACTION_ALERT);
	ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_NO_MATCH);
	ck_assert_ptr_nonnull(strstr(d.trace[0].detail, "kind adapter"));
	/* an error of the function goes on matching the first rule */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &err, 1000 * S, 0, &d), 0);
	ck_assert_str_eq(d.rule, "by-pchid");
}
END_TEST

START_TEST(test_policy_adapter_hold)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = roce(0x10);
	ZpciEvent err = { .kind = EVENT_ERROR, .has = EVENT_HAS_PEC, .pec = 0x12 };
	PolicyDecision d;
	char diag[512];

	ck_assert_int_eq(load_policy("{\"budget\": null, \"cooldown\": \"0s\", \"rules\": ["
				     " {\"name\": \"reset-it\", \"actions\": [\"reset\"]}]}",
				     &p, diag, sizeof(diag)),
			 0);
	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &err, 1000 * S, POLICY_EVALUATE_ADAPTER_HELD, &d), 0);
	ck_assert_uint_eq(d.n_actions, 1);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_POSTPONED);
	ck_assert_int_eq(d.actions[0].hold, POLICY_HOLD_ADAPTER);
	ck_assert_str_eq(policy_hold_to_string(d.actions[0].hold), "adapter");
	/* not held: it runs */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &err, 1001 * S, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
}
END_TEST

static Suite *adapter_suite(void)
{
	Suite *s = suite_create("adapter");
	TCase *tc = tcase_create("correlator");
	TCase *tp = tcase_create("policy");

	tcase_add_test(tc, test_default_config);
	tcase_add_test(tc, test_three_functions_within_window);
	tcase_add_test(tc, test_outside_window);
	tcase_add_test(tc, test_different_adapters);
	tcase_add_test(tc, test_once_per_window);
	tcase_add_test(tc, test_by_port);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_metric_series);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, test_policy_rejects_disruption_on_adapter_events);
	tcase_add_test(tp, test_policy_matches_adapter_events_by_kind);
	tcase_add_test(tp, test_policy_adapter_hold);
	suite_add_tcase(s, tp);
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
