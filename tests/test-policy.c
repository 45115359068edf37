/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pec.h"
#include "daemon/config.h"
#include "daemon/policy-internal.h"
#include "daemon/policy.h"

#define SEC    (1000000ULL)
#define MINUTE (60 * SEC)
#define HOUR   (60 * MINUTE)
#define T0     (1700000000ULL * SEC)

/* A policy from the text of a "policy" object; fails the test on a diagnostic. */
static Policy *policy_from(const char *text)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_free_ char *full = NULL;
	Policy *p = NULL;

	ck_assert_int_ge(asprintf(&full, "{\"schema\": 1, \"policy\": %s}", text), 0);
	ck_assert_msg(config_load_string(&c, full, strlen(full), "p.json", &d) == 0, "%s: %s", text,
		      d.n ? d.lines[0] : "?");
	ck_assert_ptr_nonnull(c->policy);
	p = policy_ref(c->policy);
	return p;
}

/* The first diagnostic of an invalid policy (static buffer). */
static const char *policy_error(const char *text)
{
	_cleanup_(config_diagnostics_done) ConfigDiagnostics d = {};
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_free_ char *full = NULL;
	static char line[512];

	ck_assert_int_ge(asprintf(&full, "{\"schema\": 1,\n\"policy\": %s}", text), 0);
	ck_assert_msg(config_load_string(&c, full, strlen(full), "p.json", &d) == -EINVAL, "accepted: %s",
		      text);
	ck_assert_uint_ge(d.n, 1);
	(void)snprintf(line, sizeof(line), "%s", d.lines[0]);
	return line;
}

/* The function every test starts from: a RoCE Express2 held by QEMU, owned by zpcid. */
static ZpciFunction function(uint32_t fid, FunctionMode mode)
{
	ZpciFunction f = {
		.attrs = {
			.fid = fid,
			.has = ZPCI_ATTR_HAS_UID | ZPCI_ATTR_HAS_PCHID | ZPCI_ATTR_HAS_PFT | ZPCI_ATTR_HAS_IDS,
			.uid = 0x1234,
			.pchid = 0x100,
			.pft = 0x0a,
			.vendor = 0x15b3,
			.device = 0x1016,
		},
		.mode = mode,
		.owner_pid = 42,
	};

	(void)snprintf(f.driver, sizeof(f.driver), "vfio-pci");
	(void)snprintf(f.owner_comm, sizeof(f.owner_comm), "qemu-system-s39");
	return f;
}

static ZpciEvent error_event(uint16_t pec, unsigned sources)
{
	return (ZpciEvent){ .kind = EVENT_ERROR, .sources = sources, .has = EVENT_HAS_PEC, .pec = pec };
}

static const PolicyDecidedAction *find_action(const PolicyDecision *d, ActionType a)
{
	for (size_t i = 0; i < d->n_actions; i++)
		if (d->actions[i].action == a)
			return &d->actions[i];
	return NULL;
}

/* Every match key, matching and not matching the base function and event (0x3b from kmsg). */
static const struct {
	const char *match;
	bool expected;
} matches[] = {
	{ "{}", true },
	{ "{\"fid\": 17}", true },
	{ "{\"fid\": \"0x11\"}", true },
	{ "{\"fid\": [\"0x1-0x10\"]}", false },
	{ "{\"fid\": [\"0x1-0x10\", \"0x11-0x20\"]}", true },
	{ "{\"uid\": \"0x1234\"}", true },
	{ "{\"uid\": 5}", false },
	{ "{\"pchid\": \"0x100\"}", true },
	{ "{\"pchid\": \"0x101-0x1ff\"}", false },
	{ "{\"pft\": \"RoCE Express2\"}", true },
	{ "{\"pft\": \"roce express2\"}", true },
	{ "{\"pft\": 10}", true },
	{ "{\"pft\": [\"NVMe\", \"ISM\"]}", false },
	{ "{\"vendor\": \"0x15b3\"}", true },
	{ "{\"vendor\": \"0x15b3\", \"device\": \"0x1017\"}", false },
	{ "{\"driver\": \"vfio-*\"}", true },
	{ "{\"driver\": \"mlx5_core\"}", false },
	{ "{\"driver\": [\"mlx5*\", \"vfio-pci\"]}", true },
	{ "{\"mode\": \"own\"}", true },
	{ "{\"mode\": [\"observe\", \"delegated\"]}", false },
	{ "{\"owner\": \"qemu-*\"}", true },
	{ "{\"owner\": \"libvirtd\"}", false },
	{ "{\"pec\": \"0x3b\"}", true },
	{ "{\"pec\": 59}", true },
	{ "{\"pec\": [\"0x10-0x2f\", \"0x40\"]}", false },
	{ "{\"pec\": [\"0x10-0x2f\", \"0x30-0x3f\"]}", true },
	{ "{\"pec_class\": \"permanent\"}", true },
	{ "{\"pec_class\": [\"recoverable\", \"informational\"]}", false },
	{ "{\"source\": \"kmsg\"}", true },
	{ "{\"source\": [\"vfio\", \"uevent\"]}", false },
	{ "{\"kind\": \"error\"}", true },
	{ "{\"kind\": \"recovery\"}", false },
	{ "{\"fid\": 17, \"pec\": \"0x3a\"}", false },
	{ "{\"fid\": 17, \"pec_class\": \"permanent\", \"driver\": \"vfio-pci\", \"owner\": \"qemu*\"}",
	  true },
};

START_TEST(test_match_keys)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	_cleanup_free_ char *text = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x3b, EVENT_SOURCE_KMSG);
	PolicyDecision d;

	ck_assert_int_ge(
		asprintf(&text, "{\"rules\": [{\"name\": \"r\", \"match\": %s, \"actions\": [\"alert\"]}]}",
			 matches[_i].match),
		0);
	p = policy_from(text);
	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_uint_eq(d.n_trace, 1);
	ck_assert_msg((d.trace[0].outcome == POLICY_RULE_FIRED) == matches[_i].expected, "%s: %s (%s)",
		      matches[_i].match, policy_rule_outcome_to_string(d.trace[0].outcome),
		      d.trace[0].detail);
	if (matches[_i].expected) {
		ck_assert_str_eq(d.rule, "r");
		ck_assert_ptr_nonnull(find_action(&d, ACTION_ALERT));
	} else {
		/* No rule fired: the implicit default logs. */
		ck_assert_str_eq(d.rule, POLICY_DEFAULT_RULE_NAME);
		ck_assert_uint_eq(d.n_actions, 1);
		ck_assert_int_eq(d.actions[0].action, ACTION_LOG);
		ck_assert_str_ne(d.trace[0].detail, "");
	}
}
END_TEST

/* Keys that need something the function or event may lack do not match without it. */
START_TEST(test_match_missing_attributes)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"rules\": [{\"name\": \"uid\", \"match\": {\"uid\": \"0x1234\"}, \"actions\": \"alert\"},"
		"{\"name\": \"owner\", \"match\": {\"owner\": \"*\"}, \"actions\": \"alert\"},"
		"{\"name\": \"pec\", \"match\": {\"pec_class\": \"recoverable\"}, \"actions\": "
		"\"alert\"}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OBSERVE);
	ZpciEvent e = { .kind = EVENT_RECOVERY, .sources = EVENT_SOURCE_UEVENT };
	PolicyDecision d;

	f.attrs.has &= ~ZPCI_ATTR_HAS_UID;
	f.owner_pid = 0;
	f.owner_comm[0] = 0;
	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_uint_eq(d.n_trace, 3);
	ck_assert_str_eq(d.trace[0].detail, "uid is not known");
	ck_assert_str_eq(d.trace[1].detail, "no owner holds the function");
	ck_assert_str_eq(d.trace[2].detail, "the event has no PEC");
	ck_assert_str_eq(d.rule, "default");
}
END_TEST

START_TEST(test_first_match_and_continue)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"rules\": ["
		"{\"name\": \"a\", \"match\": {\"pec_class\": \"permanent\"}, \"actions\": [\"alert\"], "
		"\"continue\": true},"
		"{\"name\": \"b\", \"match\": {\"pec\": \"0x3b\"}, \"actions\": [\"log\", \"report-info\"]},"
		"{\"name\": \"c\", \"actions\": [\"log\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x3b, EVENT_SOURCE_KMSG);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_str_eq(d.rule, "a");
	ck_assert_uint_eq(d.n_actions, 3);
	ck_assert_int_eq(d.actions[0].action, ACTION_ALERT);
	ck_assert_str_eq(d.actions[0].rule, "a");
	ck_assert_int_eq(d.actions[1].action, ACTION_LOG);
	ck_assert_str_eq(d.actions[1].rule, "b");
	ck_assert_int_eq(d.actions[2].action, ACTION_REPORT_INFO);
	ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_FIRED);
	ck_assert_int_eq(d.trace[1].outcome, POLICY_RULE_FIRED);
	ck_assert_int_eq(d.trace[2].outcome, POLICY_RULE_NOT_REACHED);
	ck_assert(!d.has_disruptive);

	/* A recoverable error skips a and b; c fires. */
	e = error_event(0x10, EVENT_SOURCE_VFIO);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_str_eq(d.rule, "c");
	ck_assert_uint_eq(d.n_actions, 1);
	ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_NO_MATCH);
	ck_assert_str_eq(d.trace[0].detail, "pec class recoverable is not in permanent");
}
END_TEST

START_TEST(test_threshold)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"rules\": [{\"name\": \"storm\", \"threshold\": \"3 / 10m\", \"actions\": [\"alert\"]},"
		"{\"name\": \"rest\", \"actions\": [\"log\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN), g = function(0x12, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	/* Below the threshold the rule only counts, and the next rule handles the event. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_str_eq(d.rule, "rest");
	ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_BELOW_THRESHOLD);
	ck_assert_str_eq(d.trace[0].detail, "matched; threshold 3 / 10m not reached (level 1.000 of 3)");
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 5 * MINUTE, 0, &d), 0);
	ck_assert_str_eq(d.trace[0].detail, "matched; threshold 3 / 10m not reached (level 1.500 of 3)");
	/* Buckets are per function. */
	ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0 + 5 * MINUTE, 0, &d), 0);
	ck_assert_str_eq(d.rule, "rest");
	/* Third event within 10 minutes fires; the bucket is emptied. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 9 * MINUTE, 0, &d), 0);
	ck_assert_str_eq(d.rule, "storm");
	ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_FIRED);
	ck_assert_ptr_nonnull(find_action(&d, ACTION_ALERT));
	ck_assert_int_eq(d.trace[1].outcome, POLICY_RULE_NOT_REACHED);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 9 * MINUTE, 0, &d), 0);
	ck_assert_str_eq(d.rule, "rest");
	ck_assert_str_eq(d.trace[0].detail, "matched; threshold 3 / 10m not reached (level 1.000 of 3)");
}
END_TEST

START_TEST(test_ladder)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"budget\": null, \"cooldown\": \"0s\", \"rules\": [{\"name\": \"esc\", \"match\": "
		"{\"pec_class\": "
		"\"recoverable\"}, \"actions\": [\"log\"], \"ladder\": [\"reset\", \"reset\", \"unbind\", "
		"\"report-deconfigure\"], \"ladder_reset\": \"1h\"}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	static const ActionType steps[] = { ACTION_RESET, ACTION_RESET, ACTION_UNBIND,
					    ACTION_REPORT_DECONFIGURE };
	const PolicyDecidedAction *a;
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + i * MINUTE, 0, &d), 0);
		ck_assert_uint_eq(d.n_actions, 2);
		ck_assert_int_eq(d.actions[0].action, ACTION_LOG);
		ck_assert_int_eq(d.actions[1].action, steps[i]);
		ck_assert_int_eq(d.actions[1].ladder_step, (int)i);
		ck_assert_int_eq(d.actions[1].verdict, POLICY_VERDICT_RUN);
		ck_assert(d.has_disruptive);
	}
	/* Past the last step: exhausted, nothing disruptive. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 4 * MINUTE, 0, &d), 0);
	ck_assert_uint_eq(d.n_actions, 1);
	ck_assert_ptr_nonnull(strstr(d.trace[0].detail, "ladder exhausted"));
	/* Fires again at +63 min: the last firing (+4 min) was less than 1h ago: still exhausted. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 63 * MINUTE, 0, &d), 0);
	ck_assert_uint_eq(d.n_actions, 1);
	/* One hour without firing: the ladder starts over. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 123 * MINUTE, 0, &d), 0);
	a = find_action(&d, ACTION_RESET);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->ladder_step, 0);
}
END_TEST

START_TEST(test_ladder_postponed_step_is_retried)
{
	_cleanup_(policy_unrefp)
		Policy *p = policy_from("{\"budget\": null, \"cooldown\": \"10m\", \"rules\": [{\"name\": "
					"\"esc\", \"ladder\": [\"reset\", "
					"\"unbind\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].action, ACTION_RESET);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
	/* Within the cooldown: the unbind step is postponed and not consumed. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + MINUTE, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].action, ACTION_UNBIND);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_POSTPONED);
	ck_assert_int_eq(d.actions[0].hold, POLICY_HOLD_COOLDOWN);
	ck_assert_uint_eq(d.actions[0].retry_usec, T0 + 10 * MINUTE);
	/* After the cooldown the same step runs. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 10 * MINUTE, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].action, ACTION_UNBIND);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
	ck_assert_int_eq(d.actions[0].ladder_step, 1);
}
END_TEST

START_TEST(test_budget_across_functions)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"budget\": \"2 / 1h\", \"cooldown\": \"0s\", \"rules\": [{\"name\": \"r\", \"actions\": "
		"[\"log\", \"reset\", \"report-fw-reset\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	for (uint32_t fid = 1; fid <= 6; fid++) {
		ZpciFunction f = function(fid, FUNCTION_MODE_OWN);
		const PolicyDecidedAction *reset, *report, *log;

		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + fid * SEC, 0, &d), 0);
		reset = find_action(&d, ACTION_RESET);
		report = find_action(&d, ACTION_REPORT_FW_RESET);
		log = find_action(&d, ACTION_LOG);
		ck_assert_int_eq(log->verdict, POLICY_VERDICT_RUN);
		/* One decision is one use of the budget, whatever it holds. */
		ck_assert_int_eq(reset->verdict, report->verdict);
		if (fid <= 2) {
			ck_assert_int_eq(reset->verdict, POLICY_VERDICT_RUN);
		} else {
			ck_assert_int_eq(reset->verdict, POLICY_VERDICT_POSTPONED);
			ck_assert_int_eq(reset->hold, POLICY_HOLD_BUDGET);
			ck_assert_uint_eq(reset->retry_usec, T0 + 1 * SEC + HOUR);
			ck_assert_str_eq(reset->detail, "budget 2 / 1h used up on this host");
		}
	}
	/* When the first use leaves the window, one more is allowed. */
	{
		ZpciFunction f = function(7, FUNCTION_MODE_OWN);
		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 1 * SEC + HOUR, 0, &d), 0);
		ck_assert_int_eq(find_action(&d, ACTION_RESET)->verdict, POLICY_VERDICT_RUN);
		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 1 * SEC + HOUR + 1, 0, &d), 0);
		ck_assert_int_eq(find_action(&d, ACTION_RESET)->verdict, POLICY_VERDICT_POSTPONED);
	}
}
END_TEST

START_TEST(test_cooldown_per_function)
{
	_cleanup_(policy_unrefp)
		Policy *p = policy_from("{\"budget\": null, \"cooldown\": \"10m\", \"rules\": [{\"name\": "
					"\"r\", \"actions\": \"reset\"}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OWN), g = function(2, FUNCTION_MODE_DELEGATED);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 5 * MINUTE, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_POSTPONED);
	ck_assert_int_eq(d.actions[0].hold, POLICY_HOLD_COOLDOWN);
	ck_assert_uint_eq(d.actions[0].retry_usec, T0 + 10 * MINUTE);
	/* Another function is not affected. */
	ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0 + 5 * MINUTE, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
	/* A postponed action does not restart the cooldown. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 10 * MINUTE, 0, &d), 0);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);
}
END_TEST

START_TEST(test_dry_run_and_inhibit)
{
	_cleanup_(policy_unrefp)
		Policy *p = policy_from("{\"dry_run\": true, \"budget\": \"1 / 1h\", \"cooldown\": \"10m\", "
					"\"rules\": [{\"name\": \"r\", "
					"\"actions\": [\"alert\"], \"ladder\": [\"reset\", \"unbind\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OWN), g = function(2, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	/* Inhibited: disruptive actions postponed, others run; nothing is consumed. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, POLICY_EVALUATE_INHIBITED, &d), 0);
	ck_assert_int_eq(find_action(&d, ACTION_ALERT)->verdict, POLICY_VERDICT_RUN);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->verdict, POLICY_VERDICT_POSTPONED);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->hold, POLICY_HOLD_INHIBITED);
	/* Dry run: decided and recorded, verdict dry-run, state advances as if done. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + SEC, 0, &d), 0);
	ck_assert(d.dry_run);
	ck_assert_int_eq(find_action(&d, ACTION_ALERT)->verdict, POLICY_VERDICT_RUN);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->verdict, POLICY_VERDICT_DRY_RUN);
	ck_assert_str_eq(find_action(&d, ACTION_RESET)->detail, "dry run: not performed");
	/* The (dry) reset started the cooldown and used the budget. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + 2 * SEC, 0, &d), 0);
	ck_assert_int_eq(find_action(&d, ACTION_UNBIND)->hold, POLICY_HOLD_COOLDOWN);
	ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0 + 2 * SEC, 0, &d), 0);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->hold, POLICY_HOLD_BUDGET);
}
END_TEST

START_TEST(test_mode_restrictions)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"budget\": null, \"cooldown\": \"0s\", \"rules\": ["
		"{\"name\": \"plain\", \"match\": {\"fid\": 1}, \"actions\": [\"reset\", \"unbind\", "
		"\"recover\", "
		"\"report-deconfigure\"]},"
		"{\"name\": \"explicit\", \"match\": {\"fid\": 2}, \"actions\": [\"unbind\", \"recover\"], "
		"\"disrupt_observed\": true}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OBSERVE), g = function(2, FUNCTION_MODE_OBSERVE),
		     h = function(1, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_KMSG);
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->verdict, POLICY_VERDICT_UNAVAILABLE);
	ck_assert_int_eq(find_action(&d, ACTION_RESET)->hold, POLICY_HOLD_MODE);
	ck_assert_int_eq(find_action(&d, ACTION_UNBIND)->verdict, POLICY_VERDICT_UNAVAILABLE);
	ck_assert_int_eq(find_action(&d, ACTION_RECOVER)->verdict, POLICY_VERDICT_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(find_action(&d, ACTION_RECOVER)->detail, "disrupt_observed"));
	ck_assert_int_eq(find_action(&d, ACTION_REPORT_DECONFIGURE)->verdict, POLICY_VERDICT_RUN);

	ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0, 0, &d), 0);
	ck_assert_int_eq(find_action(&d, ACTION_UNBIND)->verdict, POLICY_VERDICT_RUN);
	ck_assert_int_eq(find_action(&d, ACTION_RECOVER)->verdict, POLICY_VERDICT_RUN);

	ck_assert_int_eq(policy_evaluate(p, s, &h, &e, T0 + SEC, 0, &d), 0);
	for (size_t i = 0; i < d.n_actions; i++)
		ck_assert_int_eq(d.actions[i].verdict, POLICY_VERDICT_RUN);
}
END_TEST

START_TEST(test_choose_mode)
{
	_cleanup_(policy_unrefp)
		Policy *p = policy_from("{\"default_mode\": \"observe\", \"rules\": ["
					"{\"name\": \"qemu\", \"match\": {\"driver\": \"vfio-pci\", "
					"\"owner\": \"qemu*\"}, \"mode\": \"delegated\"},"
					"{\"name\": \"ism\", \"match\": {\"pft\": \"ISM\"}, \"mode\": "
					"\"own\", \"actions\": [\"log\"]},"
					"{\"name\": \"all\", \"actions\": [\"log\"]}]}");
	_cleanup_(policy_unrefp) Policy *def = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OBSERVE);

	ck_assert_int_eq(policy_choose_mode(p, &f), FUNCTION_MODE_DELEGATED);
	f.owner_pid = 0;
	ck_assert_int_eq(policy_choose_mode(p, &f), FUNCTION_MODE_OBSERVE);
	f.attrs.pft = 0x05;
	ck_assert_int_eq(policy_choose_mode(p, &f), FUNCTION_MODE_OWN);
	ck_assert_int_eq(policy_new_default(&def), 0);
	ck_assert_int_eq(policy_choose_mode(def, &f), FUNCTION_MODE_OBSERVE);

	/* A mode-only rule does not take part in event decisions. */
	{
		_cleanup_(policy_state_freep) PolicyState *s = NULL;
		ZpciFunction g = function(1, FUNCTION_MODE_DELEGATED);
		ZpciEvent e = error_event(0x10, EVENT_SOURCE_DELEGATED);
		PolicyDecision d;

		ck_assert_int_eq(policy_state_new(&s), 0);
		ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0, 0, &d), 0);
		ck_assert_int_eq(d.trace[0].outcome, POLICY_RULE_MODE_ONLY);
		ck_assert_str_eq(d.rule, "all");
	}
}
END_TEST

START_TEST(test_default_policy)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OBSERVE);
	ZpciEvent e = error_event(0x40, EVENT_SOURCE_KMSG);
	PolicyDecision d;

	ck_assert_int_eq(policy_new_default(&p), 0);
	ck_assert(!p->dry_run);
	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_str_eq(d.rule, "permanent-errors");
	ck_assert_uint_eq(d.n_actions, 2);
	ck_assert_ptr_nonnull(find_action(&d, ACTION_LOG));
	ck_assert_ptr_nonnull(find_action(&d, ACTION_ALERT));
	/* Everything else: logged, nothing disruptive, ever. */
	for (unsigned pec = 0; pec < 0x100; pec++) {
		e = error_event((uint16_t)pec, EVENT_SOURCE_KMSG);
		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + pec, 0, &d), 0);
		ck_assert(!d.has_disruptive);
		ck_assert_ptr_nonnull(find_action(&d, ACTION_LOG));
		ck_assert((find_action(&d, ACTION_ALERT) != NULL) ==
			  (pec_class_of((uint16_t)pec) == PEC_CLASS_PERMANENT));
	}
}
END_TEST

/* The kernel leaves the recovery of an open device to its holder: the
 * built-in policy resets owned functions, twice, then quarantines them. */
START_TEST(test_default_policy_recovers_owned)
{
	static const struct {
		uint16_t pec;
		ActionType step; /* _ACTION_TYPE_INVALID: nothing disruptive */
	} steps[] = {
		{ 0x0012, ACTION_RESET },         { 0x003a, ACTION_RESET },
		{ 0x002a, _ACTION_TYPE_INVALID }, /* FMB: informational */
		{ 0x0040, _ACTION_TYPE_INVALID }, /* permanent: alert, no reset */
		{ 0x0018, ACTION_UNBIND },
	};
	_cleanup_(policy_unrefp) Policy *p = NULL;
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	ZpciFunction own = function(1, FUNCTION_MODE_OWN), observed = function(2, FUNCTION_MODE_OBSERVE),
		     delegated = function(3, FUNCTION_MODE_DELEGATED);
	PolicyDecision d;

	ck_assert_int_eq(policy_new_default(&p), 0);
	ck_assert_int_eq(policy_state_new(&s), 0);
	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		/* past the cool-down, within the ladder's hour */
		uint64_t now = T0 + i * 11 * 60 * SEC;
		ZpciEvent e = error_event(steps[i].pec, EVENT_SOURCE_VFIO);
		const PolicyDecidedAction *a;

		ck_assert_int_eq(policy_evaluate(p, s, &own, &e, now, 0, &d), 0);
		ck_assert_ptr_nonnull(find_action(&d, ACTION_LOG));
		if (steps[i].step == _ACTION_TYPE_INVALID) {
			ck_assert(!d.has_disruptive);
			continue;
		}
		ck_assert_str_eq(d.rule, "recover-owned");
		a = find_action(&d, steps[i].step);
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->verdict, POLICY_VERDICT_RUN);
	}
	/* functions zpcid does not hold are never disrupted */
	for (uint16_t pec = 0; pec < 0x100; pec++) {
		ZpciEvent e = error_event(pec, EVENT_SOURCE_KMSG);

		ck_assert_int_eq(policy_evaluate(p, s, &observed, &e, T0 + pec * SEC, 0, &d), 0);
		ck_assert(!d.has_disruptive);
		ck_assert_int_eq(policy_evaluate(p, s, &delegated, &e, T0 + pec * SEC, 0, &d), 0);
		ck_assert(!d.has_disruptive);
	}
}
END_TEST

START_TEST(test_state_round_trip)
{
	_cleanup_(policy_unrefp)
		Policy *p = policy_from("{\"budget\": \"5 / 1h\", \"cooldown\": \"1m\", \"rules\": "
					"[{\"name\": \"esc\", \"threshold\": \"3 / 10m\", "
					"\"ladder\": [\"reset\", \"unbind\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL, *loaded = NULL;
	_cleanup_(json_pos_putp) json_object *j1 = NULL, *j2 = NULL, *parsed = NULL;
	ZpciFunction f = function(1, FUNCTION_MODE_OWN), g = function(2, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	PolicyDecision d;
	const char *text;

	ck_assert_int_eq(policy_state_new(&s), 0);
	/* f: fire once (reset), then two more events in the bucket; g: one event. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + i * SEC, 0, &d), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &g, &e, T0, 0, &d), 0);

	ck_assert_int_eq(policy_state_to_json(s, &j1), 0);
	text = json_object_to_json_string_ext(j1, JSON_C_TO_STRING_PLAIN);
	/* Through text, as it is stored on disk. */
	ck_assert_int_eq(json_pos_parse(text, strlen(text), "state", 0, &parsed, NULL), 0);
	ck_assert_int_eq(policy_state_from_json(parsed, &loaded), 0);
	ck_assert_int_eq(policy_state_to_json(loaded, &j2), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(j2, JSON_C_TO_STRING_PLAIN), text);

	/* The loaded state behaves the same: the next event fires and takes step 2 after the cooldown. */
	ck_assert_int_eq(policy_evaluate(p, loaded, &f, &e, T0 + 2 * MINUTE, 0, &d), 0);
	ck_assert_str_eq(d.rule, "esc");
	ck_assert_int_eq(d.actions[0].action, ACTION_UNBIND);
	ck_assert_int_eq(d.actions[0].verdict, POLICY_VERDICT_RUN);

	/* Malformed states are refused. */
	{
		static const char *bad[] = {
			"[]",
			"{\"version\": 2, \"budget\": [], \"functions\": []}",
			"{\"version\": 1, \"budget\": {}, \"functions\": []}",
			"{\"version\": 1, \"budget\": [-1], \"functions\": []}",
			"{\"version\": 1, \"budget\": [], \"functions\": [{\"fid\": 1}]}",
			"{\"version\": 1, \"budget\": [], \"functions\": [{\"fid\": 1, \"last_disruptive\": "
			"0, \"rules\": "
			"[{\"rule\": \"x\"}]}]}",
			"{\"version\": 1, \"budget\": [], \"functions\": [{\"fid\": 4294967296, "
			"\"last_disruptive\": 0, "
			"\"rules\": []}]}",
		};
		for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
			_cleanup_(json_pos_putp) json_object *o = NULL;
			PolicyState *x = NULL;

			ck_assert_int_eq(json_pos_parse(bad[i], strlen(bad[i]), "s", 0, &o, NULL), 0);
			ck_assert_msg(policy_state_from_json(o, &x) == -EBADMSG, "%s", bad[i]);
			ck_assert_ptr_null(x);
		}
	}

	/* Forget and gc. */
	policy_state_forget(loaded, 2);
	policy_state_gc(loaded, p, T0 + 3 * HOUR);
	j2 = (json_object_put(j2), NULL);
	ck_assert_int_eq(policy_state_to_json(loaded, &j2), 0);
	/* f is still on its ladder (reset after 24h without firing). */
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(j2, "functions")), 1);
	policy_state_gc(loaded, p, T0 + 25 * HOUR);
	j2 = (json_object_put(j2), NULL);
	ck_assert_int_eq(policy_state_to_json(loaded, &j2), 0);
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(j2, "functions")), 0);
}
END_TEST

START_TEST(test_explain)
{
	_cleanup_(policy_unrefp) Policy *p = policy_from(
		"{\"budget\": null, \"cooldown\": \"0s\", \"rules\": ["
		"{\"name\": \"nvme\", \"match\": {\"pft\": \"NVMe\"}, \"actions\": [\"alert\"]},"
		"{\"name\": \"esc\", \"match\": {\"pec\": [\"0x10-0x2f\"]}, \"threshold\": \"2 / 1h\", "
		"\"ladder\": "
		"[\"reset\", \"unbind\"]}]}");
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	_cleanup_(json_pos_putp) json_object *j = NULL, *j2 = NULL;
	_cleanup_free_ char *text = NULL, *text2 = NULL;
	ZpciFunction f = function(0x11, FUNCTION_MODE_OWN);
	ZpciEvent e = error_event(0x10, EVENT_SOURCE_VFIO);
	json_object *dec, *rules;
	PolicyDecision d;

	ck_assert_int_eq(policy_state_new(&s), 0);
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
	ck_assert_str_eq(d.rule, "default");

	/* What would happen now: the second event reaches the threshold and resets. */
	ck_assert_int_eq(policy_explain(p, s, &f, &e, T0 + SEC, 0, &text, &j), 0);
	ck_assert_ptr_nonnull(
		strstr(text, "Function: function 0x00000011, pchid 0x0100, pft 0x0a (RoCE Express2)"));
	ck_assert_ptr_nonnull(strstr(text, "Event:    error event, PEC 0x0010"));
	ck_assert_ptr_nonnull(strstr(
		text, "1. nvme                 no-match         pft 0x0a (RoCE Express2) is not in 0x0b"));
	ck_assert_ptr_nonnull(
		strstr(text, "2. esc                  fired            matched; threshold 2 / 1h reached"));
	ck_assert_ptr_nonnull(strstr(text, "Decision: rule esc"));
	ck_assert_ptr_nonnull(strstr(text, "  reset                run          ladder step 1"));
	dec = json_object_object_get(j, "decision");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(dec, "rule")), "esc");
	rules = json_object_object_get(dec, "rules");
	ck_assert_uint_eq(json_object_array_length(rules), 2);
	ck_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(rules, 0), "outcome")),
			 "no-match");

	/* Explaining changed nothing: explaining again gives the same answer. */
	ck_assert_int_eq(policy_explain(p, s, &f, &e, T0 + SEC, 0, &text2, &j2), 0);
	ck_assert_str_eq(text, text2);
	/* And so does the real evaluation. */
	ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0 + SEC, 0, &d), 0);
	ck_assert_str_eq(d.rule, "esc");
	ck_assert_int_eq(d.actions[0].action, ACTION_RESET);
}
END_TEST

START_TEST(test_to_json_round_trip)
{
	const char *text =
		"{\"dry_run\": true, \"budget\": \"3 / 2h\", \"cooldown\": \"90s\", \"default_mode\": "
		"\"own\", "
		"\"rules\": [{\"name\": \"a\", \"match\": {\"fid\": [\"0x1-0x5\", 9], \"pft\": \"NVMe\", "
		"\"driver\": \"nvme\", \"mode\": [\"own\"], \"owner\": [\"qemu*\"], \"pec\": \"0x3b\", "
		"\"pec_class\": \"permanent\", \"source\": [\"vfio\", \"kmsg\"], \"kind\": \"error\", "
		"\"uid\": 7, \"pchid\": \"0x100\", \"vendor\": \"0x144d\", \"device\": \"0xa824\"}, "
		"\"threshold\": \"2 / 5m\", \"actions\": [\"log\", \"alert\"], \"ladder\": [\"reset\", "
		"\"report-deconfigure\"], \"ladder_reset\": \"2d\", \"continue\": true, "
		"\"disrupt_observed\": true}, {\"name\": \"m\", \"match\": {\"pft\": 5}, \"mode\": "
		"\"delegated\"}]}";
	_cleanup_(policy_unrefp) Policy *p = policy_from(text), *q = NULL;
	_cleanup_(json_pos_putp) json_object *j1 = NULL, *j2 = NULL;

	ck_assert_int_eq(policy_to_json(p, &j1), 0);
	q = policy_from(json_object_to_json_string_ext(j1, JSON_C_TO_STRING_PLAIN));
	ck_assert_int_eq(policy_to_json(q, &j2), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(j1, JSON_C_TO_STRING_PLAIN),
			 json_object_to_json_string_ext(j2, JSON_C_TO_STRING_PLAIN));
	ck_assert(q->dry_run);
	ck_assert_int_eq(q->default_mode, FUNCTION_MODE_OWN);
	ck_assert_uint_eq(q->rules[0].match.keys,
			  POLICY_MATCH_FID | POLICY_MATCH_UID | POLICY_MATCH_PCHID | POLICY_MATCH_PFT |
				  POLICY_MATCH_VENDOR | POLICY_MATCH_DEVICE | POLICY_MATCH_DRIVER |
				  POLICY_MATCH_MODE | POLICY_MATCH_OWNER | POLICY_MATCH_PEC |
				  POLICY_MATCH_PEC_CLASS | POLICY_MATCH_SOURCE | POLICY_MATCH_KIND);
	ck_assert_uint_eq(q->rules[0].ladder_reset_usec, 2 * 24 * HOUR);
}
END_TEST

/* Invalid policies: exact diagnostics (the policy object starts on line 2, column 11). */
static const struct {
	const char *policy;
	const char *diag;
} invalid[] = {
	{ "{\"rules\": [{\"name\": \"r\", \"match\": {\"pecs\": 1}, \"actions\": \"log\"}]}",
	  "p.json:2:46: unknown key 'pecs' in 'policy.rules[0].match' (did you mean 'pec'?)" },
	{ "{\"rules\": [{\"match\": {\"pec\": \"0x40-0x30\"}, \"actions\": \"log\"}]}",
	  "p.json:2:40: policy.rules[0].match.pec: invalid range \"0x40-0x30\" (expected LOW <= HIGH)" },
	{ "{\"rules\": [{\"match\": {\"pec\": \"abc\"}, \"actions\": \"log\"}]}",
	  "p.json:2:40: policy.rules[0].match.pec: invalid value \"abc\" (expected a number, a decimal or "
	  "0x-hex "
	  "number, or a range \"LOW-HIGH\")" },
	{ "{\"rules\": [{\"match\": {\"pft\": \"Token Ring\"}, \"actions\": \"log\"}]}",
	  "p.json:2:40: policy.rules[0].match.pft: invalid value \"Token Ring\" (expected a function type "
	  "name, a "
	  "decimal or 0x-hex number, or a range \"LOW-HIGH\")" },
	{ "{\"rules\": [{\"match\": {\"pft\": 256}, \"actions\": \"log\"}]}",
	  "p.json:2:40: policy.rules[0].match.pft: 256 is out of range (expected 0..255)" },
	{ "{\"rules\": [{\"threshold\": \"3 per 10m\", \"actions\": \"log\"}]}",
	  "p.json:2:36: policy.rules[0].threshold: invalid rate \"3 per 10m\" (expected \"N / T\": N "
	  "1..100000, T a "
	  "duration of at least 1s such as 30s, 10m, 1h, 1d)" },
	{ "{\"rules\": [{\"name\": \"idle\"}]}", "p.json:2:22: policy.rules[0]: rule \"idle\" does nothing "
						 "(expected \"actions\", \"ladder\" or \"mode\")" },
	{ "{\"rules\": [{\"match\": {\"pec\": 1}, \"mode\": \"own\"}]}",
	  "p.json:2:32: policy.rules[0].match: a rule that sets \"mode\" can only match on function keys "
	  "(expected no "
	  "pec, pec_class, source, kind or mode)" },
	{ "{\"rules\": [{\"ladder\": [\"reset\", \"unbnd\"]}]}",
	  "p.json:2:43: policy.rules[0].ladder[1]: unknown action \"unbnd\" (expected log, alert, "
	  "report-info, reset, "
	  "unbind, recover, report-fw-reset or report-deconfigure; did you mean 'unbind'?)" },
	{ "{\"rules\": [{\"actions\": [\"log\", \"log\"]}]}",
	  "p.json:2:42: policy.rules[0].actions[1]: action \"log\" listed twice (expected each once)" },
	{ "{\"rules\": [{\"ladder\": \"reset\"}]}",
	  "p.json:2:33: policy.rules[0].ladder: expected an array of actions, got a string" },
	{ "{\"cooldown\": \"10 minutes\"}", "p.json:2:24: policy.cooldown: invalid duration \"10 minutes\" "
					    "(expected an integer and a unit s, m, h or d, "
					    "e.g. \"30s\", \"10m\", at most 366d)" },
	{ "{\"default_mode\": \"owned\"}", "p.json:2:28: policy.default_mode: invalid value \"owned\" "
					   "(expected one of observe, own, delegated; did you "
					   "mean 'own'?)" },
	{ "{\"rules\": {}}", "p.json:2:21: policy.rules: expected an array of rules, got an object" },
	{ "{\"rules\": [\"log\"]}", "p.json:2:22: policy.rules[0]: expected a rule object, got a string" },
	{ "{\"rules\": [{\"match\": {\"source\": [\"vfio\", \"journal\"]}, \"actions\": \"log\"}]}",
	  "p.json:2:52: policy.rules[0].match.source[1]: invalid value \"journal\" (expected one of vfio, "
	  "delegated, kmsg, "
	  "uevent, daemon)" },
	{ "{\"rules\": [{\"match\": {\"pec_class\": \"permanant\"}, \"actions\": \"log\"}]}",
	  "p.json:2:46: policy.rules[0].match.pec_class: invalid value \"permanant\" (expected one of "
	  "informational, "
	  "recoverable, permanent, fw-reset-done; did you mean 'permanent'?)" },
	{ "{\"rules\": [{\"match\": {\"fid\": []}, \"actions\": \"log\"}]}",
	  "p.json:2:40: policy.rules[0].match.fid: expected at least one value, got an empty array" },
	{ "{\"rules\": [{\"name\": \"has space\", \"actions\": \"log\"}]}",
	  "p.json:2:31: policy.rules[0].name: invalid character in name \"has space\" (expected A-Z a-z 0-9 "
	  "- _ .)" },
	{ "{\"budget\": \"0 / 1h\"}", "p.json:2:22: policy.budget: invalid rate \"0 / 1h\" (expected \"N / "
				      "T\": N 1..100000, T a duration of at least "
				      "1s such as 30s, 10m, 1h, 1d)" },
	{ "{\"dry_run\": \"yes\"}", "p.json:2:23: policy.dry_run: expected a boolean, got a string" },
	{ "{\"rule\": []}", "p.json:2:12: unknown key 'rule' in 'policy' (did you mean 'rules'?)" },
};

START_TEST(test_invalid_policy)
{
	ck_assert_str_eq(policy_error(invalid[_i].policy), invalid[_i].diag);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(policy_verdict_to_string(POLICY_VERDICT_DRY_RUN), "dry-run");
	ck_assert_str_eq(policy_hold_to_string(POLICY_HOLD_BUDGET), "budget");
	/* The policy's name tables follow the enums they index. */
	for (int m = 0; m < _FUNCTION_MODE_MAX; m++) {
		char text[128];
		_cleanup_(policy_unrefp) Policy *p = NULL;
		ZpciFunction f = function(1, (FunctionMode)m);

		(void)snprintf(text, sizeof(text),
			       "{\"rules\": [{\"match\": {\"mode\": \"%s\"}, \"actions\": \"alert\"}]}",
			       function_mode_to_string((FunctionMode)m));
		p = policy_from(text);
		ck_assert_int_eq(policy_choose_mode(p, &f), FUNCTION_MODE_OBSERVE);
		{
			_cleanup_(policy_state_freep) PolicyState *s = NULL;
			ZpciEvent e = error_event(1, EVENT_SOURCE_VFIO);
			PolicyDecision d;
			ck_assert_int_eq(policy_state_new(&s), 0);
			ck_assert_int_eq(policy_evaluate(p, s, &f, &e, T0, 0, &d), 0);
			ck_assert_str_eq(d.rule, "rule-1");
		}
	}
	for (int c = 0; c < _PEC_CLASS_MAX; c++) {
		char text[128];
		_cleanup_(policy_unrefp) Policy *p = NULL;

		(void)snprintf(text, sizeof(text),
			       "{\"rules\": [{\"match\": {\"pec_class\": \"%s\"}, \"actions\": \"alert\"}]}",
			       pec_class_to_string((PecClass)c));
		p = policy_from(text);
		ck_assert_uint_eq(p->rules[0].match.pec_classes, 1U << c);
	}
	for (int k = 0; k < _EVENT_KIND_MAX; k++) {
		char text[128];
		_cleanup_(policy_unrefp) Policy *p = NULL;

		(void)snprintf(text, sizeof(text),
			       "{\"rules\": [{\"match\": {\"kind\": \"%s\"}, \"actions\": \"alert\"}]}",
			       event_kind_to_string((EventKind)k));
		p = policy_from(text);
		ck_assert_uint_eq(p->rules[0].match.kinds, 1U << k);
	}
	{
		_cleanup_(policy_unrefp)
			Policy *p = policy_from("{\"rules\": [{\"match\": {\"source\": [\"vfio\", "
						"\"delegated\", \"kmsg\", \"uevent\", "
						"\"daemon\"]}, \"actions\": \"alert\"}]}");
		ck_assert_uint_eq(p->rules[0].match.sources,
				  (unsigned)event_sources_from_string("vfio,delegated,kmsg,uevent,daemon"));
	}
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_match_keys, 0, ELEMENTSOF(matches));
	tcase_add_test(tc, test_match_missing_attributes);
	tcase_add_test(tc, test_first_match_and_continue);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_ladder);
	tcase_add_test(tc, test_ladder_postponed_step_is_retried);
	tcase_add_test(tc, test_budget_across_functions);
	tcase_add_test(tc, test_cooldown_per_function);
	tcase_add_test(tc, test_dry_run_and_inhibit);
	tcase_add_test(tc, test_mode_restrictions);
	tcase_add_test(tc, test_choose_mode);
	tcase_add_test(tc, test_default_policy);
	tcase_add_test(tc, test_default_policy_recovers_owned);
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_to_json_round_trip);
	tcase_add_loop_test(tc, test_invalid_policy, 0, ELEMENTSOF(invalid));
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
