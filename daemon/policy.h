/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * policy: what zpcid does about an event, decided from the configured rules
 * and the remembered state — pure logic, no I/O, the clock passed in.
 *
 * A Policy is the immutable, validated "policy" object of the configuration
 * (rules, budget, cooldown, dry-run, default mode). A PolicyState is what
 * the decisions remember (threshold buckets, ladder positions, cooldowns,
 * the budget window); it is saved to / loaded from JSON so that it survives
 * restarts, and it survives reloads (state of a rule is keyed by the rule's
 * name; a rule whose threshold changed starts with an empty bucket).
 *
 * policy_evaluate() walks the rules in order. A rule matches when every key
 * of its "match" matches (an absent key matches anything). A matching rule
 * with a threshold adds the event to the bucket of (function, rule); until
 * the threshold fires, the rule does nothing and evaluation goes on with the
 * next rule. A rule that fires contributes its "actions" and the next step
 * of its "ladder", and stops the evaluation unless it says "continue". When
 * no rule fires, the implicit rule "default" logs the event.
 *
 * Disruptive actions (reset, unbind, recover, report-fw-reset,
 * report-deconfigure) are further checked against the function's mode,
 * the caller's inhibit flag, the per-function cooldown and the global
 * budget, in that order, once per decision: all disruptive actions of one
 * decision share one verdict and count as one use of the budget. With
 * dry_run, an allowed disruptive action gets the verdict "dry-run" and the
 * state advances exactly as if it had run.
 *
 * This module does not perform actions, log, or read files: the caller
 * does what the decision says. The full semantics are in
 * docs/configuration.md. It is built of policy.c (model, matching,
 * evaluation), policy-parse.c, policy-state.c and policy-explain.c; the
 * state file is policy-store.c's.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/action.h"
#include "common/event.h"
#include "daemon/conf-table.h"
#include "daemon/function.h"
#include "daemon/ratelimit.h"

#define POLICY_NAME_MAX             48
#define POLICY_RULES_MAX            64
#define POLICY_RULE_ACTIONS_MAX     8
#define POLICY_DECISION_ACTIONS_MAX 24
#define POLICY_DETAIL_MAX           160

#define POLICY_DEFAULT_BUDGET       "5 / 1h"
#define POLICY_DEFAULT_COOLDOWN     "10m"
#define POLICY_DEFAULT_LADDER_RESET "24h"
#define POLICY_DEFAULT_RULE_NAME    "default"

typedef enum PolicyVerdict {
	POLICY_VERDICT_RUN,         /* do it now */
	POLICY_VERDICT_DRY_RUN,     /* allowed, but dry_run is on: record only */
	POLICY_VERDICT_POSTPONED,   /* inhibited, cooling down or over budget: not done */
	POLICY_VERDICT_UNAVAILABLE, /* not possible or not allowed in the function's mode */
	_POLICY_VERDICT_MAX,
	_POLICY_VERDICT_INVALID = -22,
} PolicyVerdict;

typedef enum PolicyHold {
	POLICY_HOLD_NONE,
	POLICY_HOLD_MODE,      /* unavailable: the mode does not allow it */
	POLICY_HOLD_INHIBITED, /* postponed: the caller passed POLICY_EVALUATE_INHIBITED */
	POLICY_HOLD_COOLDOWN,  /* postponed: a disruptive action on this function was too recent */
	POLICY_HOLD_BUDGET,    /* postponed: the host-wide budget is used up */
	POLICY_HOLD_ADAPTER,   /* postponed: the function's adapter is held (POLICY_EVALUATE_ADAPTER_HELD) */
	_POLICY_HOLD_MAX,
} PolicyHold;

typedef enum PolicyRuleOutcome {
	POLICY_RULE_NO_MATCH,
	POLICY_RULE_MODE_ONLY,       /* the rule only chooses a mode */
	POLICY_RULE_BELOW_THRESHOLD, /* matched, counted, threshold not reached */
	POLICY_RULE_FIRED,
	POLICY_RULE_NOT_REACHED, /* an earlier rule stopped the evaluation */
	_POLICY_RULE_OUTCOME_MAX,
} PolicyRuleOutcome;

/* A rule of the policy; its contents are the policy module's own (policy-internal.h). */
typedef struct PolicyRule PolicyRule;

typedef struct Policy {
	unsigned n_ref;
	bool dry_run;
	bool has_budget; /* false: "budget": null, no limit */
	RateSpec budget;
	uint64_t cooldown_usec;
	FunctionMode default_mode;
	PolicyRule *rules;
	size_t n_rules;
} Policy;

typedef struct PolicyDecidedAction {
	ActionType action;
	PolicyVerdict verdict;
	PolicyHold hold;     /* why postponed/unavailable */
	uint64_t retry_usec; /* postponed by cooldown/budget: when it would be allowed; else 0 */
	int ladder_step;     /* 0-based step of the rule's ladder, -1 for a plain action */
	char rule[POLICY_NAME_MAX];
	char detail[POLICY_DETAIL_MAX];
} PolicyDecidedAction;

typedef struct PolicyRuleTrace {
	char rule[POLICY_NAME_MAX];
	PolicyRuleOutcome outcome;
	char detail[POLICY_DETAIL_MAX];
} PolicyRuleTrace;

typedef struct PolicyDecision {
	char rule[POLICY_NAME_MAX]; /* first rule that fired, or "default" */
	bool dry_run;
	bool has_disruptive; /* some action is disruptive */
	size_t n_actions;
	PolicyDecidedAction actions[POLICY_DECISION_ACTIONS_MAX];
	size_t n_trace;
	PolicyRuleTrace trace[POLICY_RULES_MAX];
} PolicyDecision;

typedef struct PolicyState PolicyState;

/* Flags of policy_evaluate(). */
enum {
	POLICY_EVALUATE_INHIBITED = 1 << 0, /* an inhibitor is active: postpone every disruptive action */
	/* an adapter event holds the function's adapter: postpone every disruptive action */
	POLICY_EVALUATE_ADAPTER_HELD = 1 << 1,
};

/* "run", "dry-run", "postponed", "unavailable". */
const char *policy_verdict_to_string(PolicyVerdict v);
/* "none", "mode", "inhibited", "cooldown", "budget", "adapter". */
const char *policy_hold_to_string(PolicyHold h);
/* "no-match", "mode-only", "below-threshold", "fired", "not-reached". */
const char *policy_rule_outcome_to_string(PolicyRuleOutcome o);

/* The built-in policy (no "policy" key), the same as the shipped file:
 * rules "permanent-errors" (log and alert permanent errors), "recover-owned"
 * (functions zpcid holds get the ladder reset, reset, unbind after
 * recoverable errors, since the kernel leaves their recovery to the holder)
 * and "default" (log); observe mode, so nothing is disrupted until a
 * function is owned. Returns 0 or -ENOMEM. */
int policy_new_default(Policy **ret);

/* Build a policy from the "policy" object @o (at dotted @path), reporting
 * every problem through @ctx (see conf-table.h). Returns 0, -EINVAL when
 * something was reported, or -ENOMEM. Normally called by config_load(). */
int policy_new_from_json(ConfigContext *ctx, json_object *o, const char *path, Policy **ret);

/* Reference counting; unref accepts NULL and returns NULL. */
Policy *policy_ref(Policy *p);
Policy *policy_unref(Policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Policy *, policy_unref);

/* The ownership mode for @f: the "mode" of the first rule that sets one and
 * whose match keys (function keys only) match @f; else "default_mode". */
FunctionMode policy_choose_mode(const Policy *p, const ZpciFunction *f);

/*
 * Decide what to do about @e on @f at @now_usec (realtime µs: the state is
 * saved across reboots), updating @s (buckets, ladders, cooldown, budget)
 * as if every action with verdict run/dry-run is carried out. @flags:
 * POLICY_EVALUATE_*. Fills *@ret. Returns 0, or -ENOMEM (then @s may hold
 * a new empty entry but nothing else changed).
 */
int policy_evaluate(const Policy *p, PolicyState *s, const ZpciFunction *f, const ZpciEvent *e,
		    uint64_t now_usec, unsigned flags, PolicyDecision *ret);

/*
 * Explain offline what policy_evaluate() would decide for @e on @f now,
 * without changing @s: for each rule whether it matches and why, the
 * threshold level, and each action with its verdict. @ret_text (may be
 * NULL) gets human text, @ret_json (may be NULL) the same as an object
 * {"function":…, "event":…, "rules":[…], "decision":…}. Returns 0 or -ENOMEM.
 */
int policy_explain(const Policy *p, const PolicyState *s, const ZpciFunction *f, const ZpciEvent *e,
		   uint64_t now_usec, unsigned flags, char **ret_text, json_object **ret_json);

/* A decision as JSON: {"rule", "dry_run",
 * "actions":[{"action","verdict","hold","rule","ladder_step","retry_time","detail"}], "trace":[…]}. Returns
 * 0 or -ENOMEM. */
int policy_decision_to_json(const PolicyDecision *d, json_object **ret);

/* A policy as JSON in the configuration's syntax (for "zpcictl policy"). Returns 0 or -ENOMEM. */
int policy_to_json(const Policy *p, json_object **ret);

/* An empty state. Returns 0 or -ENOMEM. */
int policy_state_new(PolicyState **ret);
/* Free. Accepts NULL, returns NULL. */
PolicyState *policy_state_free(PolicyState *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolicyState *, policy_state_free);

/* Save the state as JSON ({"version":1,"budget":[…],"functions":[…]}). Returns 0 or -ENOMEM. */
int policy_state_to_json(const PolicyState *s, json_object **ret);
/* Load a state saved by policy_state_to_json(). Returns 0, -EBADMSG for a malformed object, or -ENOMEM. */
int policy_state_from_json(json_object *o, PolicyState **ret);

/* Forget the state of a function (it was removed). */
void policy_state_forget(PolicyState *s, uint32_t fid);

/* Drop entries that no longer matter at @now_usec under @p (empty buckets, reset ladders, past cooldowns,
 * rules gone). */
void policy_state_gc(PolicyState *s, const Policy *p, uint64_t now_usec);
