/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * policy-internal: what the parts of the policy module share, and nothing
 * else may use: the names the configuration gives to enum values, the rule
 * and state records, and small JSON helpers. The parts are policy.c (the
 * model, matching and evaluation), policy-parse.c (the "policy" object of
 * the configuration, both ways), policy-state.c (what the decisions
 * remember) and policy-explain.c (the explanation of a decision).
 */

#include "daemon/policy.h"

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
