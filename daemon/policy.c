/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy: the model (rules, thresholds, ladders, budget, cooldown and
 * dry-run), matching and evaluation (see policy.h and
 * docs/configuration.md). Evaluation is pure and takes the clock as a
 * parameter. Parsing is in policy-parse.c, the state in policy-state.c, the
 * explanation in policy-explain.c.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pec.h"
#include "daemon/policy-internal.h"

/* ---- names ---- */

static const char *const verdict_names[_POLICY_VERDICT_MAX] = { "run", "dry-run", "postponed",
								"unavailable" };
static const char *const hold_names[_POLICY_HOLD_MAX] = { "none",     "mode",   "inhibited",
							  "cooldown", "budget", "adapter" };
static const char *const outcome_names[_POLICY_RULE_OUTCOME_MAX] = { "no-match", "mode-only",
								     "below-threshold", "fired",
								     "not-reached" };
/* In the order of the enums they index (FunctionMode, PecClass, EventSource bits, EventKind). */
const char *const policy_mode_names[] = { "observe", "own", "delegated", NULL };
const char *const policy_pec_class_names[] = { "informational", "recoverable", "permanent", "fw-reset-done",
					       NULL };
const char *const policy_source_names[] = { "vfio", "delegated", "kmsg", "uevent", "daemon", NULL };
const char *const policy_kind_names[] = { "error",   "dropped", "recovery", "action",
					  "summary", "adapter", NULL };

const char *policy_verdict_to_string(PolicyVerdict v)
{
	return v >= 0 && v < _POLICY_VERDICT_MAX ? verdict_names[v] : "invalid";
}

const char *policy_hold_to_string(PolicyHold h)
{
	return h < _POLICY_HOLD_MAX ? hold_names[h] : "invalid";
}

const char *policy_rule_outcome_to_string(PolicyRuleOutcome o)
{
	return o < _POLICY_RULE_OUTCOME_MAX ? outcome_names[o] : "invalid";
}

/* ---- life cycle ---- */

void policy_idset_done(PolicyIdSet *s)
{
	free(s->ranges);
	*s = (PolicyIdSet){};
}

static void match_done(PolicyMatch *m)
{
	policy_idset_done(&m->fid);
	policy_idset_done(&m->uid);
	policy_idset_done(&m->pchid);
	policy_idset_done(&m->pft);
	policy_idset_done(&m->vendor);
	policy_idset_done(&m->device);
	policy_idset_done(&m->pec);
	m->driver = strv_free(m->driver);
	m->owner = strv_free(m->owner);
}

void policy_rules_free(PolicyRule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		match_done(&rules[i].match);
	free(rules);
}

static Policy *policy_free(Policy *p)
{
	if (!p)
		return NULL;
	policy_rules_free(p->rules, p->n_rules);
	free(p);
	return NULL;
}

Policy *policy_ref(Policy *p)
{
	if (p)
		p->n_ref++;
	return p;
}

Policy *policy_unref(Policy *p)
{
	if (p && --p->n_ref == 0)
		policy_free(p);
	return NULL;
}

void policy_rule_init(PolicyRule *r)
{
	*r = (PolicyRule){};
	(void)duration_parse(POLICY_DEFAULT_LADDER_RESET, &r->ladder_reset_usec);
}

int policy_new_default(Policy **ret)
{
	Policy *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n_ref = 1;
	p->has_budget = true;
	(void)rate_spec_parse(POLICY_DEFAULT_BUDGET, &p->budget);
	(void)duration_parse(POLICY_DEFAULT_COOLDOWN, &p->cooldown_usec);
	p->default_mode = FUNCTION_MODE_OBSERVE;
	p->rules = calloc(3, sizeof(PolicyRule));
	if (!p->rules) {
		free(p);
		return -ENOMEM;
	}
	p->n_rules = 3;
	policy_rule_init(&p->rules[0]);
	(void)snprintf(p->rules[0].name, sizeof(p->rules[0].name), "permanent-errors");
	p->rules[0].match.keys = POLICY_MATCH_PEC_CLASS;
	p->rules[0].match.pec_classes = 1U << PEC_CLASS_PERMANENT;
	p->rules[0].actions[0] = ACTION_LOG;
	p->rules[0].actions[1] = ACTION_ALERT;
	p->rules[0].n_actions = 2;
	/* With the device open, the kernel leaves recovery to its holder: in
	 * own mode that is zpcid. */
	policy_rule_init(&p->rules[1]);
	(void)snprintf(p->rules[1].name, sizeof(p->rules[1].name), "recover-owned");
	p->rules[1].match.keys = POLICY_MATCH_PEC_CLASS | POLICY_MATCH_MODE;
	p->rules[1].match.pec_classes = 1U << PEC_CLASS_RECOVERABLE | 1U << PEC_CLASS_FW_RESET_DONE;
	p->rules[1].match.modes = 1U << FUNCTION_MODE_OWN;
	p->rules[1].actions[0] = ACTION_LOG;
	p->rules[1].n_actions = 1;
	p->rules[1].ladder[0] = ACTION_RESET;
	p->rules[1].ladder[1] = ACTION_RESET;
	p->rules[1].ladder[2] = ACTION_UNBIND;
	p->rules[1].n_ladder = 3;
	(void)duration_parse("1h", &p->rules[1].ladder_reset_usec);
	policy_rule_init(&p->rules[2]);
	(void)snprintf(p->rules[2].name, sizeof(p->rules[2].name), POLICY_DEFAULT_RULE_NAME);
	p->rules[2].actions[0] = ACTION_LOG;
	p->rules[2].n_actions = 1;
	*ret = p;
	return 0;
}

static bool idset_contains(const PolicyIdSet *s, uint32_t v)
{
	for (size_t i = 0; i < s->n; i++)
		if (v >= s->ranges[i].lo && v <= s->ranges[i].hi)
			return true;
	return false;
}

static void idset_format(const PolicyIdSet *s, const char *fmt_width, char *buf, size_t size)
{
	buf[0] = 0;
	for (size_t i = 0; i < s->n; i++) {
		size_t len = strlen(buf);
		if (s->ranges[i].lo == s->ranges[i].hi)
			(void)snprintf(buf + len, size - len, "%s0x%0*x", i ? "," : "", atoi(fmt_width),
				       s->ranges[i].lo);
		else
			(void)snprintf(buf + len, size - len, "%s0x%0*x-0x%0*x", i ? "," : "",
				       atoi(fmt_width), s->ranges[i].lo, atoi(fmt_width), s->ranges[i].hi);
	}
}

static bool globs_match(char **globs, const char *s)
{
	for (char **g = globs; g && *g; g++)
		if (fnmatch(*g, s, 0) == 0)
			return true;
	return false;
}

void policy_bits_format(unsigned bits, const char *const *names, char *buf, size_t size)
{
	buf[0] = 0;
	for (unsigned i = 0; names[i]; i++)
		if (bits & (1U << i))
			(void)snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "",
				       names[i]);
}

_printf_(3, 4) static void set_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* Whether @m matches (function keys always; event keys when @e is set). On a
 * mismatch, @why says which key failed. */
static bool match_check(const PolicyMatch *m, const ZpciFunction *f, const ZpciEvent *e, char *why,
			size_t size)
{
	const ZpciAttrs *a = &f->attrs;
	char set[96];

#define FAIL(...)                                \
	do {                                     \
		set_why(why, size, __VA_ARGS__); \
		return false;                    \
	} while (0)

	if ((m->keys & POLICY_MATCH_FID) && !idset_contains(&m->fid, a->fid)) {
		idset_format(&m->fid, "8", set, sizeof(set));
		FAIL("fid 0x%08x is not in %s", a->fid, set);
	}
	if (m->keys & POLICY_MATCH_UID) {
		if (!(a->has & ZPCI_ATTR_HAS_UID))
			FAIL("uid is not known");
		if (!idset_contains(&m->uid, a->uid)) {
			idset_format(&m->uid, "0", set, sizeof(set));
			FAIL("uid 0x%x is not in %s", a->uid, set);
		}
	}
	if (m->keys & POLICY_MATCH_PCHID) {
		if (!(a->has & ZPCI_ATTR_HAS_PCHID))
			FAIL("pchid is not known");
		if (!idset_contains(&m->pchid, a->pchid)) {
			idset_format(&m->pchid, "4", set, sizeof(set));
			FAIL("pchid 0x%04x is not in %s", a->pchid, set);
		}
	}
	if (m->keys & POLICY_MATCH_PFT) {
		if (!(a->has & ZPCI_ATTR_HAS_PFT))
			FAIL("pft is not known");
		if (!idset_contains(&m->pft, a->pft)) {
			idset_format(&m->pft, "2", set, sizeof(set));
			FAIL("pft 0x%02x (%s) is not in %s", a->pft, zpci_pft_to_string(a->pft), set);
		}
	}
	if (m->keys & (POLICY_MATCH_VENDOR | POLICY_MATCH_DEVICE)) {
		if (!(a->has & ZPCI_ATTR_HAS_IDS))
			FAIL("vendor/device ids are not known");
		if ((m->keys & POLICY_MATCH_VENDOR) && !idset_contains(&m->vendor, a->vendor)) {
			idset_format(&m->vendor, "4", set, sizeof(set));
			FAIL("vendor 0x%04x is not in %s", a->vendor, set);
		}
		if ((m->keys & POLICY_MATCH_DEVICE) && !idset_contains(&m->device, a->device)) {
			idset_format(&m->device, "4", set, sizeof(set));
			FAIL("device 0x%04x is not in %s", a->device, set);
		}
	}
	if ((m->keys & POLICY_MATCH_DRIVER) && !globs_match(m->driver, f->driver))
		FAIL("driver \"%s\" matches no pattern", f->driver);
	if ((m->keys & POLICY_MATCH_MODE) && !(f->mode >= 0 && (m->modes & (1U << f->mode)))) {
		policy_bits_format(m->modes, policy_mode_names, set, sizeof(set));
		FAIL("mode %s is not in %s", function_mode_to_string(f->mode), set);
	}
	if (m->keys & POLICY_MATCH_OWNER) {
		if (f->owner_pid == 0 || isempty(f->owner_comm))
			FAIL("no owner holds the function");
		if (!globs_match(m->owner, f->owner_comm))
			FAIL("owner \"%s\" matches no pattern", f->owner_comm);
	}
	if (!e)
		return true;
	if (m->keys & (POLICY_MATCH_PEC | POLICY_MATCH_PEC_CLASS)) {
		if (!(e->has & EVENT_HAS_PEC))
			FAIL("the event has no PEC");
		if ((m->keys & POLICY_MATCH_PEC) && !idset_contains(&m->pec, e->pec)) {
			idset_format(&m->pec, "4", set, sizeof(set));
			FAIL("pec 0x%04x is not in %s", e->pec, set);
		}
		if ((m->keys & POLICY_MATCH_PEC_CLASS) && !(m->pec_classes & (1U << pec_class_of(e->pec)))) {
			policy_bits_format(m->pec_classes, policy_pec_class_names, set, sizeof(set));
			FAIL("pec class %s is not in %s", pec_class_to_string(pec_class_of(e->pec)), set);
		}
	}
	if ((m->keys & POLICY_MATCH_SOURCE) && !(m->sources & e->sources)) {
		char src[64];
		policy_bits_format(m->sources, policy_source_names, set, sizeof(set));
		policy_bits_format(e->sources, policy_source_names, src, sizeof(src));
		FAIL("source %s is not in %s", src[0] ? src : "(none)", set);
	}
	/* An adapter event is for the rules that ask for it by name. */
	if (e->kind == EVENT_ADAPTER && !(m->keys & POLICY_MATCH_KIND))
		FAIL("kind adapter is matched only by rules with \"kind\": \"adapter\"");
	if ((m->keys & POLICY_MATCH_KIND) && !(e->kind >= 0 && (m->kinds & (1U << e->kind)))) {
		policy_bits_format(m->kinds, policy_kind_names, set, sizeof(set));
		FAIL("kind %s is not in %s", event_kind_to_string(e->kind), set);
	}
#undef FAIL
	return true;
}

FunctionMode policy_choose_mode(const Policy *p, const ZpciFunction *f)
{
	char why[POLICY_DETAIL_MAX];

	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].has_mode && match_check(&p->rules[i].match, f, NULL, why, sizeof(why)))
			return p->rules[i].mode;
	return p->default_mode;
}

/* ---- state ---- */
/* ---- evaluation ---- */

typedef struct Evaluation {
	const Policy *p;
	PolicyState *s;
	FunctionPolicyState *fs;
	const ZpciFunction *f;
	uint64_t now;
	unsigned flags;
	PolicyDecision *d;
	/* One verdict for all disruptive actions of the decision. */
	bool disruption_decided;
	PolicyVerdict disruption_verdict;
	PolicyHold disruption_hold;
	uint64_t disruption_retry;
	char disruption_detail[POLICY_DETAIL_MAX];
} Evaluation;

static void trace(Evaluation *ev, const PolicyRule *r, PolicyRuleOutcome o, const char *fmt, ...)
	_printf_(4, 5);
static void trace(Evaluation *ev, const PolicyRule *r, PolicyRuleOutcome o, const char *fmt, ...)
{
	PolicyRuleTrace *t;
	va_list ap;

	if (ev->d->n_trace >= ELEMENTSOF(ev->d->trace))
		return;
	t = &ev->d->trace[ev->d->n_trace++];
	(void)snprintf(t->rule, sizeof(t->rule), "%s", r->name);
	t->outcome = o;
	va_start(ap, fmt);
	(void)vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
}

/* Whether the function's mode can do @a at all (DESIGN §3). */
static bool mode_allows(const PolicyRule *r, FunctionMode mode, ActionType a, char *why, size_t size)
{
	if (mode != FUNCTION_MODE_OBSERVE)
		return true;
	if (a == ACTION_RESET) {
		(void)snprintf(why, size, "reset needs the device, and the function is only observed");
		return false;
	}
	if ((a == ACTION_UNBIND || a == ACTION_RECOVER) && !r->disrupt_observed) {
		(void)snprintf(why, size,
			       "%s of an observed function needs \"disrupt_observed\": true in rule %s",
			       action_type_to_string(a), r->name);
		return false;
	}
	return true;
}

static void decide_disruption(Evaluation *ev)
{
	const Policy *p = ev->p;
	FunctionPolicyState *fs = ev->fs;
	char b[RATE_SPEC_STR_MAX];
	uint64_t next = 0;

	ev->disruption_decided = true;
	ev->disruption_hold = POLICY_HOLD_NONE;
	ev->disruption_retry = 0;
	ev->disruption_detail[0] = 0;
	if (ev->flags & POLICY_EVALUATE_INHIBITED) {
		ev->disruption_verdict = POLICY_VERDICT_POSTPONED;
		ev->disruption_hold = POLICY_HOLD_INHIBITED;
		(void)snprintf(ev->disruption_detail, sizeof(ev->disruption_detail),
			       "an inhibitor is active");
		return;
	}
	if (ev->flags & POLICY_EVALUATE_ADAPTER_HELD) {
		ev->disruption_verdict = POLICY_VERDICT_POSTPONED;
		ev->disruption_hold = POLICY_HOLD_ADAPTER;
		(void)snprintf(ev->disruption_detail, sizeof(ev->disruption_detail),
			       "the function's adapter is recovering (adapter event within the hold)");
		return;
	}
	if (fs->last_disruptive_usec > 0 && p->cooldown_usec > 0 &&
	    ev->now < fs->last_disruptive_usec + p->cooldown_usec) {
		ev->disruption_verdict = POLICY_VERDICT_POSTPONED;
		ev->disruption_hold = POLICY_HOLD_COOLDOWN;
		ev->disruption_retry = fs->last_disruptive_usec + p->cooldown_usec;
		(void)snprintf(ev->disruption_detail, sizeof(ev->disruption_detail),
			       "cooldown: last disruptive action %llus ago, cooldown %s",
			       (unsigned long long)((ev->now - fs->last_disruptive_usec) / USEC_PER_SEC),
			       duration_format(p->cooldown_usec, b, sizeof(b)));
		return;
	}
	if (p->has_budget && !rate_window_allows(&ev->s->budget, &p->budget, ev->now, &next)) {
		ev->disruption_verdict = POLICY_VERDICT_POSTPONED;
		ev->disruption_hold = POLICY_HOLD_BUDGET;
		ev->disruption_retry = next;
		(void)snprintf(ev->disruption_detail, sizeof(ev->disruption_detail),
			       "budget %s used up on this host", rate_spec_format(&p->budget, b, sizeof(b)));
		return;
	}
	ev->disruption_verdict = p->dry_run ? POLICY_VERDICT_DRY_RUN : POLICY_VERDICT_RUN;
	if (p->dry_run)
		(void)snprintf(ev->disruption_detail, sizeof(ev->disruption_detail),
			       "dry run: not performed");
}

/* Add @a from rule @r to the decision. Returns the verdict, or -ENOMEM. */
static int add_action(Evaluation *ev, const PolicyRule *r, ActionType a, int ladder_step)
{
	PolicyDecision *d = ev->d;
	PolicyDecidedAction *da;
	char why[POLICY_DETAIL_MAX] = "";

	/* Non-disruptive actions are taken once per decision. */
	if (!action_type_is_disruptive(a))
		for (size_t i = 0; i < d->n_actions; i++)
			if (d->actions[i].action == a)
				return d->actions[i].verdict;
	if (d->n_actions >= ELEMENTSOF(d->actions))
		return POLICY_VERDICT_POSTPONED;
	da = &d->actions[d->n_actions++];
	*da = (PolicyDecidedAction){ .action = a,
				     .verdict = POLICY_VERDICT_RUN,
				     .ladder_step = ladder_step };
	(void)snprintf(da->rule, sizeof(da->rule), "%s", r->name);
	if (!action_type_is_disruptive(a))
		return da->verdict;

	d->has_disruptive = true;
	if (!mode_allows(r, ev->f->mode, a, why, sizeof(why))) {
		da->verdict = POLICY_VERDICT_UNAVAILABLE;
		da->hold = POLICY_HOLD_MODE;
		(void)snprintf(da->detail, sizeof(da->detail), "%s", why);
		return da->verdict;
	}
	if (!ev->disruption_decided) {
		decide_disruption(ev);
		if (ev->disruption_verdict == POLICY_VERDICT_RUN ||
		    ev->disruption_verdict == POLICY_VERDICT_DRY_RUN) {
			int k;

			ev->fs->last_disruptive_usec = ev->now;
			if (ev->p->has_budget) {
				k = rate_window_record(&ev->s->budget, &ev->p->budget, ev->now);
				if (k < 0)
					return k;
			}
		}
	}
	da->verdict = ev->disruption_verdict;
	da->hold = ev->disruption_hold;
	da->retry_usec = ev->disruption_retry;
	(void)snprintf(da->detail, sizeof(da->detail), "%s", ev->disruption_detail);
	return da->verdict;
}

static int fire_rule(Evaluation *ev, const PolicyRule *r, RuleState *rs, char *note, size_t size)
{
	int v;

	for (size_t i = 0; i < r->n_actions; i++) {
		v = add_action(ev, r, r->actions[i], -1);
		if (v < 0)
			return v;
	}
	if (r->n_ladder == 0)
		return 0;
	if (rs->last_fired_usec > 0 && ev->now >= rs->last_fired_usec + r->ladder_reset_usec)
		rs->ladder_step = 0;
	rs->last_fired_usec = ev->now;
	if (rs->ladder_step >= r->n_ladder) {
		char b[24];
		(void)snprintf(note, size,
			       "; ladder exhausted (%zu steps taken, restarts after %s without firing)",
			       r->n_ladder, duration_format(r->ladder_reset_usec, b, sizeof(b)));
		return 0;
	}
	v = add_action(ev, r, r->ladder[rs->ladder_step], (int)rs->ladder_step);
	if (v < 0)
		return v;
	(void)snprintf(note, size, "; ladder step %u/%zu: %s (%s)", rs->ladder_step + 1, r->n_ladder,
		       action_type_to_string(r->ladder[rs->ladder_step]),
		       policy_verdict_to_string((PolicyVerdict)v));
	/* A postponed step is tried again at the next firing; any other outcome moves on. */
	if (v != POLICY_VERDICT_POSTPONED)
		rs->ladder_step++;
	return 0;
}

int policy_evaluate(const Policy *p, PolicyState *s, const ZpciFunction *f, const ZpciEvent *e,
		    uint64_t now_usec, unsigned flags, PolicyDecision *ret)
{
	Evaluation ev = { .p = p, .s = s, .f = f, .now = now_usec, .flags = flags, .d = ret };
	bool stopped = false, fired = false;
	int r;

	/* The header and the counts only: add_action() and trace() write each
	 * entry whole as they add it, and clearing both tables (about 15 KiB)
	 * cost more than the rest of an evaluation, once for every event. */
	ret->rule[0] = '\0';
	ret->dry_run = p->dry_run;
	ret->has_disruptive = false;
	ret->n_actions = 0;
	ret->n_trace = 0;
	ev.fs = policy_state_function(s, f->attrs.fid, true);
	if (!ev.fs)
		return -ENOMEM;

	for (size_t i = 0; i < p->n_rules; i++) {
		const PolicyRule *rule = &p->rules[i];
		char why[POLICY_DETAIL_MAX], note[POLICY_DETAIL_MAX] = "", thr[RATE_SPEC_STR_MAX];
		RuleState *rs;

		if (stopped) {
			trace(&ev, rule, POLICY_RULE_NOT_REACHED, "an earlier rule stopped the evaluation");
			continue;
		}
		if (rule->n_actions == 0 && rule->n_ladder == 0) {
			trace(&ev, rule, POLICY_RULE_MODE_ONLY, "only chooses the mode (%s)",
			      function_mode_to_string(rule->mode));
			continue;
		}
		if (!match_check(&rule->match, f, e, why, sizeof(why))) {
			trace(&ev, rule, POLICY_RULE_NO_MATCH, "%s", why);
			continue;
		}
		rs = policy_state_rule(ev.fs, rule->name, true);
		if (!rs)
			return -ENOMEM;
		if (rule->has_threshold) {
			if (rs->spec.n != rule->threshold.n ||
			    rs->spec.interval_usec != rule->threshold.interval_usec) {
				rs->spec = rule->threshold;
				rs->bucket = (LeakyBucket){};
			}
			if (!leaky_bucket_add(&rs->bucket, &rule->threshold, now_usec)) {
				uint64_t l = leaky_bucket_level_milli(&rs->bucket, &rule->threshold,
								      now_usec);
				trace(&ev, rule, POLICY_RULE_BELOW_THRESHOLD,
				      "matched; threshold %s not reached (level %llu.%03llu of %u)",
				      rate_spec_format(&rule->threshold, thr, sizeof(thr)),
				      (unsigned long long)(l / 1000), (unsigned long long)(l % 1000),
				      rule->threshold.n);
				continue;
			}
		}
		r = fire_rule(&ev, rule, rs, note, sizeof(note));
		if (r < 0)
			return r;
		if (!fired)
			(void)snprintf(ret->rule, sizeof(ret->rule), "%s", rule->name);
		fired = true;
		if (rule->has_threshold)
			trace(&ev, rule, POLICY_RULE_FIRED,
			      "matched; threshold %s reached, bucket emptied%s%s",
			      rate_spec_format(&rule->threshold, thr, sizeof(thr)), note,
			      rule->cont ? "; continues" : "");
		else
			trace(&ev, rule, POLICY_RULE_FIRED, "matched%s%s", note,
			      rule->cont ? "; continues" : "");
		if (!rule->cont)
			stopped = true;
	}
	if (!fired) {
		static const PolicyRule implicit = { .name = POLICY_DEFAULT_RULE_NAME };

		(void)snprintf(ret->rule, sizeof(ret->rule), "%s", POLICY_DEFAULT_RULE_NAME);
		r = add_action(&ev, &implicit, ACTION_LOG, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- JSON and explanation ---- */

int policy_decision_to_json(const PolicyDecision *d, json_object **ret)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	json_object *actions, *tr;

	o = json_object_new_object();
	if (!o || json_add(o, "rule", json_object_new_string(d->rule)) < 0 ||
	    json_add(o, "dry_run", json_object_new_boolean(d->dry_run)) < 0)
		return -ENOMEM;
	actions = json_object_new_array();
	if (json_add(o, "actions", actions) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_actions; i++) {
		const PolicyDecidedAction *a = &d->actions[i];
		json_object *ao = json_object_new_object();

		if (json_append(actions, ao) < 0 ||
		    json_add(ao, "action", json_object_new_string(action_type_to_string(a->action))) < 0 ||
		    json_add(ao, "verdict", json_object_new_string(policy_verdict_to_string(a->verdict))) <
			    0 ||
		    json_add(ao, "hold", json_object_new_string(policy_hold_to_string(a->hold))) < 0 ||
		    json_add(ao, "rule", json_object_new_string(a->rule)) < 0 ||
		    json_add(ao, "disruptive",
			     json_object_new_boolean(action_type_is_disruptive(a->action))) < 0)
			return -ENOMEM;
		if (a->ladder_step >= 0 && json_add_u64(ao, "ladder_step", (uint64_t)a->ladder_step) < 0)
			return -ENOMEM;
		if (a->retry_usec > 0 && json_add_u64(ao, "retry_time", a->retry_usec) < 0)
			return -ENOMEM;
		if (!isempty(a->detail) && json_add(ao, "detail", json_object_new_string(a->detail)) < 0)
			return -ENOMEM;
	}
	tr = json_object_new_array();
	if (json_add(o, "rules", tr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_trace; i++) {
		json_object *to = json_object_new_object();

		if (json_append(tr, to) < 0 ||
		    json_add(to, "rule", json_object_new_string(d->trace[i].rule)) < 0 ||
		    json_add(to, "outcome",
			     json_object_new_string(policy_rule_outcome_to_string(d->trace[i].outcome))) <
			    0 ||
		    json_add(to, "detail", json_object_new_string(d->trace[i].detail)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}
