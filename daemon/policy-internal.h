/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * policy-internal: what the parts of the policy module share, and nothing
 * else may use (apart from white-box tests): the rules and their match
 * keys, the names the configuration gives to enum values, the state
 * records, and small JSON helpers. The parts are policy.c (the
 * model, matching and evaluation), policy-parse.c (the "policy" object of
 * the configuration, both ways), policy-state.c (what the decisions
 * remember) and policy-explain.c (the explanation of a decision).
 */

#include "daemon/policy.h"

/* Which match keys a rule uses (PolicyMatch.keys). */
enum {
	POLICY_MATCH_FID = 1 << 0,
	POLICY_MATCH_UID = 1 << 1,
	POLICY_MATCH_PCHID = 1 << 2,
	POLICY_MATCH_PFT = 1 << 3,
	POLICY_MATCH_VENDOR = 1 << 4,
	POLICY_MATCH_DEVICE = 1 << 5,
	POLICY_MATCH_DRIVER = 1 << 6,
	POLICY_MATCH_MODE = 1 << 7,
	POLICY_MATCH_OWNER = 1 << 8,
	POLICY_MATCH_PEC = 1 << 9,
	POLICY_MATCH_PEC_CLASS = 1 << 10,
	POLICY_MATCH_SOURCE = 1 << 11,
	POLICY_MATCH_KIND = 1 << 12,
};
#define POLICY_MATCH_EVENT_KEYS \
	(POLICY_MATCH_PEC | POLICY_MATCH_PEC_CLASS | POLICY_MATCH_SOURCE | POLICY_MATCH_KIND)

typedef struct PolicyRange {
	uint32_t lo, hi; /* inclusive */
} PolicyRange;

typedef struct PolicyIdSet {
	PolicyRange *ranges;
	size_t n;
} PolicyIdSet;

typedef struct PolicyMatch {
	unsigned keys; /* POLICY_MATCH_* present */
	PolicyIdSet fid, uid, pchid, pft, vendor, device, pec;
	char **driver;        /* shell globs, NULL-terminated */
	char **owner;         /* shell globs on the owner's command name */
	unsigned modes;       /* 1 << FunctionMode */
	unsigned pec_classes; /* 1 << PecClass */
	unsigned sources;     /* EventSource bits: any in common */
	unsigned kinds;       /* 1 << EventKind */
} PolicyMatch;

struct PolicyRule {
	char name[POLICY_NAME_MAX];
	PolicyMatch match;
	bool has_threshold;
	RateSpec threshold;
	ActionType actions[POLICY_RULE_ACTIONS_MAX];
	size_t n_actions;
	ActionType ladder[POLICY_RULE_ACTIONS_MAX];
	size_t n_ladder;
	uint64_t ladder_reset_usec;
	bool cont;
	bool has_mode;
	FunctionMode mode;
	bool disrupt_observed; /* unbind/recover allowed on an observed function */
};

/* NULL-terminated, in the order of the enums or bits they name. */
extern const char *const policy_mode_names[];      /* FunctionMode */
extern const char *const policy_pec_class_names[]; /* PecClass */
extern const char *const policy_source_names[];    /* EventSource bits */
extern const char *const policy_kind_names[];      /* EventKind */

/* A rule with its defaults (no match keys, ladder reset POLICY_DEFAULT_LADDER_RESET). */
void policy_rule_init(PolicyRule *r);
/* Empty @s. */
void policy_idset_done(PolicyIdSet *s);
/* Free @n rules and their match lists. */
void policy_rules_free(PolicyRule *rules, size_t n);

/* The names of the bits set in @bits, comma-separated, into @buf. */
void policy_bits_format(unsigned bits, const char *const *names, char *buf, size_t size);

typedef struct RuleState {
	char rule[POLICY_NAME_MAX];
	RateSpec spec; /* the threshold the bucket was filled under */
	LeakyBucket bucket;
	unsigned ladder_step;
	uint64_t last_fired_usec;
} RuleState;

typedef struct FunctionPolicyState {
	uint32_t fid;
	uint64_t last_disruptive_usec; /* 0: never */
	RuleState *rules;
	size_t n_rules;
} FunctionPolicyState;

struct PolicyState {
	FunctionPolicyState *functions;
	size_t n_functions;
	RateWindow budget;
};

/* The state of function @fid / of rule @rule in @fs; with @create, a new
 * empty one when there is none (NULL only when out of memory). */
FunctionPolicyState *policy_state_function(PolicyState *s, uint32_t fid, bool create);
RuleState *policy_state_rule(FunctionPolicyState *fs, const char *rule, bool create);

/* Add to an object / append to an array, taking @v (NULL: out of memory). Return 0 or -ENOMEM. */
static inline int json_add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object *j = json_object_new_int64((int64_t)v);

	if (!j)
		return -ENOMEM;
	if (json_object_object_add(o, key, j) < 0) {
		json_object_put(j);
		return -ENOMEM;
	}
	return 0;
}

static inline int json_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static inline int json_append(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}
