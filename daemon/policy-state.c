/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-state: what the policy's decisions remember (threshold buckets,
 * ladder positions, cooldowns, the budget window), its garbage collection
 * and its JSON form. Saving it to disk is policy-store.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy-internal.h"

int policy_state_new(PolicyState **ret)
{
	PolicyState *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

PolicyState *policy_state_free(PolicyState *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_functions; i++)
		free(s->functions[i].rules);
	free(s->functions);
	rate_window_done(&s->budget);
	free(s);
	return NULL;
}

FunctionPolicyState *policy_state_function(PolicyState *s, uint32_t fid, bool create)
{
	FunctionPolicyState *a;

	for (size_t i = 0; i < s->n_functions; i++)
		if (s->functions[i].fid == fid)
			return &s->functions[i];
	if (!create)
		return NULL;
	a = reallocarray(s->functions, s->n_functions + 1, sizeof(*a));
	if (!a)
		return NULL;
	s->functions = a;
	a[s->n_functions] = (FunctionPolicyState){ .fid = fid };
	return &a[s->n_functions++];
}

RuleState *policy_state_rule(FunctionPolicyState *fs, const char *rule, bool create)
{
	RuleState *a;

	for (size_t i = 0; i < fs->n_rules; i++)
		if (streq(fs->rules[i].rule, rule))
			return &fs->rules[i];
	if (!create)
		return NULL;
	a = reallocarray(fs->rules, fs->n_rules + 1, sizeof(*a));
	if (!a)
		return NULL;
	fs->rules = a;
	a[fs->n_rules] = (RuleState){};
	(void)snprintf(a[fs->n_rules].rule, sizeof(a[fs->n_rules].rule), "%s", rule);
	return &a[fs->n_rules++];
}

void policy_state_forget(PolicyState *s, uint32_t fid)
{
	for (size_t i = 0; i < s->n_functions; i++)
		if (s->functions[i].fid == fid) {
			free(s->functions[i].rules);
			s->functions[i] = s->functions[--s->n_functions];
			return;
		}
}

static const PolicyRule *policy_find_rule(const Policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (streq(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

void policy_state_gc(PolicyState *s, const Policy *p, uint64_t now_usec)
{
	for (size_t i = 0; i < s->n_functions;) {
		FunctionPolicyState *fs = &s->functions[i];

		for (size_t j = 0; j < fs->n_rules;) {
			RuleState *rs = &fs->rules[j];
			const PolicyRule *r = policy_find_rule(p, rs->rule);
			bool keep = false;

			if (r) {
				bool bucket = r->has_threshold &&
					      leaky_bucket_level_milli(&rs->bucket, &r->threshold,
								       now_usec) > 0;
				bool ladder = rs->ladder_step > 0 &&
					      now_usec < rs->last_fired_usec + r->ladder_reset_usec;
				keep = bucket || ladder;
			}
			if (keep)
				j++;
			else
				fs->rules[j] = fs->rules[--fs->n_rules];
		}
		if (fs->n_rules == 0 && (fs->last_disruptive_usec == 0 ||
					 now_usec >= fs->last_disruptive_usec + p->cooldown_usec)) {
			free(fs->rules);
			s->functions[i] = s->functions[--s->n_functions];
		} else
			i++;
	}
}

int policy_state_to_json(const PolicyState *s, json_object **ret)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	json_object *budget, *functions;
	uint64_t t;
	int r;

	o = json_object_new_object();
	budget = json_object_new_array();
	functions = json_object_new_array();
	if (!o || json_add(o, "budget", budget) < 0 || json_add(o, "functions", functions) < 0)
		return -ENOMEM;
	r = json_add_u64(o, "version", 1);
	if (r < 0)
		return r;
	for (unsigned i = 0; rate_window_get(&s->budget, i, &t); i++)
		if (json_append(budget, json_object_new_int64((int64_t)t)) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < s->n_functions; i++) {
		const FunctionPolicyState *fs = &s->functions[i];
		json_object *fo = json_object_new_object(), *rules = json_object_new_array();

		if (json_append(functions, fo) < 0 || json_add(fo, "rules", rules) < 0)
			return -ENOMEM;
		if (json_add_u64(fo, "fid", fs->fid) < 0 ||
		    json_add_u64(fo, "last_disruptive", fs->last_disruptive_usec) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < fs->n_rules; j++) {
			const RuleState *rs = &fs->rules[j];
			json_object *ro = json_object_new_object();

			if (json_append(rules, ro) < 0 ||
			    json_add(ro, "rule", json_object_new_string(rs->rule)) < 0 ||
			    json_add_u64(ro, "threshold_n", rs->spec.n) < 0 ||
			    json_add_u64(ro, "threshold_usec", rs->spec.interval_usec) < 0 ||
			    json_add_u64(ro, "level", rs->bucket.level) < 0 ||
			    json_add_u64(ro, "last_update", rs->bucket.last_usec) < 0 ||
			    json_add_u64(ro, "ladder_step", rs->ladder_step) < 0 ||
			    json_add_u64(ro, "last_fired", rs->last_fired_usec) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int get_u64(json_object *o, const char *key, uint64_t max, uint64_t *ret)
{
	json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i > max)
		return -EBADMSG;
	*ret = (uint64_t)i;
	return 0;
}

int policy_state_from_json(json_object *o, PolicyState **ret)
{
	_cleanup_(policy_state_freep) PolicyState *s = NULL;
	json_object *budget, *functions;
	uint64_t version;
	int r;

	if (!json_object_is_type(o, json_type_object) || get_u64(o, "version", UINT64_MAX, &version) < 0 ||
	    version != 1)
		return -EBADMSG;
	if (!json_object_object_get_ex(o, "budget", &budget) ||
	    !json_object_is_type(budget, json_type_array) ||
	    !json_object_object_get_ex(o, "functions", &functions) ||
	    !json_object_is_type(functions, json_type_array))
		return -EBADMSG;
	r = policy_state_new(&s);
	if (r < 0)
		return r;
	if (json_object_array_length(budget) > RATE_N_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(budget); i++) {
		json_object *t = json_object_array_get_idx(budget, i);
		RateSpec spec = { .n = (unsigned)json_object_array_length(budget), .interval_usec = 1 };

		if (!json_object_is_type(t, json_type_int) || json_object_get_int64(t) < 0)
			return -EBADMSG;
		r = rate_window_record(&s->budget, &spec, (uint64_t)json_object_get_int64(t));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < json_object_array_length(functions); i++) {
		json_object *fo = json_object_array_get_idx(functions, i), *rules;
		FunctionPolicyState *fs;
		uint64_t fid, last;

		if (!json_object_is_type(fo, json_type_object) || get_u64(fo, "fid", UINT32_MAX, &fid) < 0 ||
		    get_u64(fo, "last_disruptive", UINT64_MAX, &last) < 0 ||
		    !json_object_object_get_ex(fo, "rules", &rules) ||
		    !json_object_is_type(rules, json_type_array))
			return -EBADMSG;
		if (policy_state_function(s, (uint32_t)fid, false))
			return -EBADMSG;
		fs = policy_state_function(s, (uint32_t)fid, true);
		if (!fs)
			return -ENOMEM;
		fs->last_disruptive_usec = last;
		for (size_t j = 0; j < json_object_array_length(rules); j++) {
			json_object *ro = json_object_array_get_idx(rules, j), *name;
			uint64_t n, usec, level, update, step, fired;
			RuleState *rs;

			if (!json_object_is_type(ro, json_type_object) ||
			    !json_object_object_get_ex(ro, "rule", &name) ||
			    !json_object_is_type(name, json_type_string) ||
			    strlen(json_object_get_string(name)) >= POLICY_NAME_MAX ||
			    get_u64(ro, "threshold_n", RATE_N_MAX, &n) < 0 ||
			    get_u64(ro, "threshold_usec", DURATION_MAX_USEC, &usec) < 0 ||
			    get_u64(ro, "level", (uint64_t)RATE_N_MAX * DURATION_MAX_USEC, &level) < 0 ||
			    get_u64(ro, "last_update", UINT64_MAX, &update) < 0 ||
			    get_u64(ro, "ladder_step", POLICY_RULE_ACTIONS_MAX, &step) < 0 ||
			    get_u64(ro, "last_fired", UINT64_MAX, &fired) < 0)
				return -EBADMSG;
			if (policy_state_rule(fs, json_object_get_string(name), false))
				return -EBADMSG;
			rs = policy_state_rule(fs, json_object_get_string(name), true);
			if (!rs)
				return -ENOMEM;
			rs->spec = (RateSpec){ (unsigned)n, usec };
			rs->bucket = (LeakyBucket){ level, update };
			rs->ladder_step = (unsigned)step;
			rs->last_fired_usec = fired;
		}
	}
	*ret = TAKE_PTR(s);
	return 0;
}
