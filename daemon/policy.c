/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy: rules, thresholds, ladders, budget, cooldown and dry-run (see
 * policy.h and docs/configuration.md). Parsing plugs into the table-driven
 * validator of config.h; evaluation is pure and takes the clock as a
 * parameter.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/pec.h"
#include "daemon/policy.h"

/* ---- names ---- */

static const char *const action_names[_POLICY_ACTION_MAX + 1] = {
	[POLICY_ACTION_LOG] = "log",
	[POLICY_ACTION_ALERT] = "alert",
	[POLICY_ACTION_REPORT_INFO] = "report-info",
	[POLICY_ACTION_RESET] = "reset",
	[POLICY_ACTION_UNBIND] = "unbind",
	[POLICY_ACTION_RECOVER] = "recover",
	[POLICY_ACTION_REPORT_FW_RESET] = "report-fw-reset",
	[POLICY_ACTION_REPORT_DECONFIGURE] = "report-deconfigure",
};
static const char *const verdict_names[_POLICY_VERDICT_MAX] = { "run", "dry-run", "postponed",
								"unavailable" };
static const char *const hold_names[_POLICY_HOLD_MAX] = { "none", "mode", "inhibited", "cooldown",
							  "budget" };
static const char *const outcome_names[_POLICY_RULE_OUTCOME_MAX] = { "no-match", "mode-only",
								     "below-threshold", "fired",
								     "not-reached" };
/* In the order of the enums they index (FunctionMode, PecClass, EventSource bits, EventKind). */
static const char *const mode_names[] = { "observe", "own", "delegated", NULL };
static const char *const pec_class_names[] = { "informational", "recoverable", "permanent", "fw-reset-done",
					       NULL };
static const char *const source_names[] = { "vfio", "delegated", "kmsg", "uevent", "daemon", NULL };
static const char *const kind_names[] = { "error", "dropped", "recovery", "action", "summary", NULL };

const char *policy_action_to_string(PolicyAction a)
{
	return a >= 0 && a < _POLICY_ACTION_MAX ? action_names[a] : "invalid";
}

PolicyAction policy_action_from_string(const char *s)
{
	for (int i = 0; s && i < _POLICY_ACTION_MAX; i++)
		if (streq(action_names[i], s))
			return (PolicyAction)i;
	return _POLICY_ACTION_INVALID;
}

bool policy_action_is_disruptive(PolicyAction a)
{
	return a == POLICY_ACTION_RESET || a == POLICY_ACTION_UNBIND || a == POLICY_ACTION_RECOVER ||
	       a == POLICY_ACTION_REPORT_FW_RESET || a == POLICY_ACTION_REPORT_DECONFIGURE;
}

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

static void idset_done(PolicyIdSet *s)
{
	free(s->ranges);
	*s = (PolicyIdSet){};
}

static void match_done(PolicyMatch *m)
{
	idset_done(&m->fid);
	idset_done(&m->uid);
	idset_done(&m->pchid);
	idset_done(&m->pft);
	idset_done(&m->vendor);
	idset_done(&m->device);
	idset_done(&m->pec);
	m->driver = strv_free(m->driver);
	m->owner = strv_free(m->owner);
}

static void rules_free(PolicyRule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		match_done(&rules[i].match);
	free(rules);
}

static Policy *policy_free(Policy *p)
{
	if (!p)
		return NULL;
	rules_free(p->rules, p->n_rules);
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

static void rule_init(PolicyRule *r)
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
	rule_init(&p->rules[0]);
	(void)snprintf(p->rules[0].name, sizeof(p->rules[0].name), "permanent-errors");
	p->rules[0].match.keys = POLICY_MATCH_PEC_CLASS;
	p->rules[0].match.pec_classes = 1U << PEC_CLASS_PERMANENT;
	p->rules[0].actions[0] = POLICY_ACTION_LOG;
	p->rules[0].actions[1] = POLICY_ACTION_ALERT;
	p->rules[0].n_actions = 2;
	/* With the device open, the kernel leaves recovery to its holder: in
	 * own mode that is zpcid. */
	rule_init(&p->rules[1]);
	(void)snprintf(p->rules[1].name, sizeof(p->rules[1].name), "recover-owned");
	p->rules[1].match.keys = POLICY_MATCH_PEC_CLASS | POLICY_MATCH_MODE;
	p->rules[1].match.pec_classes = 1U << PEC_CLASS_RECOVERABLE | 1U << PEC_CLASS_FW_RESET_DONE;
	p->rules[1].match.modes = 1U << FUNCTION_MODE_OWN;
	p->rules[1].actions[0] = POLICY_ACTION_LOG;
	p->rules[1].n_actions = 1;
	p->rules[1].ladder[0] = POLICY_ACTION_RESET;
	p->rules[1].ladder[1] = POLICY_ACTION_RESET;
	p->rules[1].ladder[2] = POLICY_ACTION_UNBIND;
	p->rules[1].n_ladder = 3;
	(void)duration_parse("1h", &p->rules[1].ladder_reset_usec);
	rule_init(&p->rules[2]);
	(void)snprintf(p->rules[2].name, sizeof(p->rules[2].name), POLICY_DEFAULT_RULE_NAME);
	p->rules[2].actions[0] = POLICY_ACTION_LOG;
	p->rules[2].n_actions = 1;
	*ret = p;
	return 0;
}

int policy_new_from_config(const Config *c, Policy **ret)
{
	if (!c || !c->policy)
		return -EINVAL;
	*ret = policy_ref(c->policy);
	return 0;
}

/* ---- parsing ---- */

static bool element_loc(json_object *array, size_t i, const ConfigValue *v, JsonLoc *ret)
{
	if (json_pos_get_element(array, i, ret))
		return true;
	*ret = v->loc;
	return false;
}

/* Parse an unsigned number written in decimal or as 0x-prefixed hex. */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;
	int base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i >= len)
		return -EINVAL;
	for (; i < len; i++) {
		char c = s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int pft_from_name(const char *s, uint32_t *ret)
{
	for (unsigned i = 0; i < 256; i++) {
		const char *n = zpci_pft_to_string((uint8_t)i);
		if (!streq(n, "unknown") && strcasecmp(n, s) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int idset_add_one(ConfigContext *ctx, const ConfigKey *k, json_object *o, const JsonLoc *loc,
			 const char *path, PolicyIdSet *set)
{
	uint32_t max = (uint32_t)k->max, lo, hi;
	PolicyRange *a;

	if (json_object_is_type(o, json_type_int)) {
		int64_t v = json_object_get_int64(o);
		if (v < 0 || v > (int64_t)max)
			return config_error(ctx, loc, "%s: %lld is out of range (expected 0..0x%x)", path,
					    (long long)v, max);
		lo = hi = (uint32_t)v;
	} else if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o), *dash = strchr(s, '-');
		int r;

		if (dash) {
			r = parse_u32(s, (size_t)(dash - s), &lo);
			if (r >= 0)
				r = parse_u32(dash + 1, strlen(dash + 1), &hi);
		} else {
			r = parse_u32(s, strlen(s), &lo);
			hi = lo;
		}
		if (r < 0 && streq(k->name, "pft") && pft_from_name(s, &lo) >= 0) {
			hi = lo;
			r = 0;
		}
		if (r == -ERANGE || (r >= 0 && (lo > max || hi > max)))
			return config_error(ctx, loc, "%s: \"%s\" is out of range (expected values 0..0x%x)",
					    path, s, max);
		if (r < 0)
			return config_error(
				ctx, loc,
				"%s: invalid value \"%s\" (expected %s, a decimal or 0x-hex number, or a "
				"range \"LOW-HIGH\")",
				path, s, streq(k->name, "pft") ? "a function type name" : "a number");
		if (lo > hi)
			return config_error(ctx, loc, "%s: invalid range \"%s\" (expected LOW <= HIGH)",
					    path, s);
	} else
		return config_error(ctx, loc, "%s: expected a number, a string or a range, got %s", path,
				    config_type_name(o));

	a = reallocarray(set->ranges, set->n + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	set->ranges = a;
	set->ranges[set->n++] = (PolicyRange){ lo, hi };
	return 0;
}

static int set_idset(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	PolicyIdSet *set = field;
	int ret = 0, r;

	idset_done(set);
	if (!json_object_is_type(v->value, json_type_array))
		return idset_add_one(ctx, k, v->value, &v->loc, v->path, set);
	if (json_object_array_length(v->value) == 0)
		return config_error(ctx, &v->loc, "%s: expected at least one value, got an empty array",
				    v->path);
	for (size_t i = 0; i < json_object_array_length(v->value); i++) {
		_cleanup_free_ char *p = NULL;
		JsonLoc loc;

		(void)element_loc(v->value, i, v, &loc);
		if (asprintf(&p, "%s[%zu]", v->path, i) < 0)
			return -ENOMEM;
		r = idset_add_one(ctx, k, json_object_array_get_idx(v->value, i), &loc, p, set);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

/* Visit a string or an array of strings; for an array, each element must be a string. */
typedef int (*StringVisitor)(ConfigContext *ctx, const ConfigKey *k, const char *s, const JsonLoc *loc,
			     const char *path, void *field);

static int visit_strings(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field,
			 StringVisitor visit)
{
	int ret = 0, r;

	if (json_object_is_type(v->value, json_type_string))
		return visit(ctx, k, json_object_get_string(v->value), &v->loc, v->path, field);
	if (json_object_array_length(v->value) == 0)
		return config_error(ctx, &v->loc, "%s: expected at least one value, got an empty array",
				    v->path);
	for (size_t i = 0; i < json_object_array_length(v->value); i++) {
		json_object *e = json_object_array_get_idx(v->value, i);
		_cleanup_free_ char *p = NULL;
		JsonLoc loc;

		(void)element_loc(v->value, i, v, &loc);
		if (asprintf(&p, "%s[%zu]", v->path, i) < 0)
			return -ENOMEM;
		if (!json_object_is_type(e, json_type_string)) {
			ret = config_error(ctx, &loc, "%s: expected a string, got %s", p,
					   config_type_name(e));
			continue;
		}
		r = visit(ctx, k, json_object_get_string(e), &loc, p, field);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static int visit_enum_bit(ConfigContext *ctx, const ConfigKey *k, const char *s, const JsonLoc *loc,
			  const char *path, void *field)
{
	char list[256] = "";
	const char *close;

	for (unsigned i = 0; k->values[i]; i++) {
		if (streq(k->values[i], s)) {
			*(unsigned *)field |= 1U << i;
			return 0;
		}
		(void)snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			       k->values[i]);
	}
	close = config_closest(s, k->values);
	if (close)
		return config_error(ctx, loc,
				    "%s: invalid value \"%s\" (expected one of %s; did you mean '%s'?)",
				    path, s, list, close);
	return config_error(ctx, loc, "%s: invalid value \"%s\" (expected one of %s)", path, s, list);
}

static int set_enum_bits(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	*(unsigned *)field = 0;
	return visit_strings(ctx, k, v, field, visit_enum_bit);
}

static int visit_glob(ConfigContext *ctx, const ConfigKey *k, const char *s, const JsonLoc *loc,
		      const char *path, void *field)
{
	char ***l = field, **a, *d;
	size_t n = 0;

	if (strlen(s) > 255)
		return config_error(ctx, loc, "%s: pattern too long (expected at most 255 characters)",
				    path);
	while (*l && (*l)[n])
		n++;
	d = strdup(s);
	if (!d)
		return -ENOMEM;
	a = reallocarray(*l, n + 2, sizeof(char *));
	if (!a) {
		free(d);
		return -ENOMEM;
	}
	a[n] = d;
	a[n + 1] = NULL;
	*l = a;
	return 0;
}

static int set_globs(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	char ***l = field;

	*l = strv_free(*l);
	return visit_strings(ctx, k, v, field, visit_glob);
}

static int set_rate(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	const char *s = json_object_get_string(v->value);

	if (rate_spec_parse(s, field) < 0)
		return config_error(
			ctx, &v->loc,
			"%s: invalid rate \"%s\" (expected \"N / T\": N 1..%u, T a duration of at least "
			"1s such as 30s, 10m, 1h, 1d)",
			v->path, s, RATE_N_MAX);
	return 0;
}

static int set_duration(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	const char *s = json_object_get_string(v->value);

	if (duration_parse(s, field) < 0)
		return config_error(
			ctx, &v->loc,
			"%s: invalid duration \"%s\" (expected an integer and a unit s, m, h or d, e.g. "
			"\"30s\", \"10m\", at most 366d)",
			v->path, s);
	return 0;
}

static int set_budget(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	Policy *p = container_of(field, Policy, budget);

	if (!v->value) {
		p->has_budget = false;
		return 0;
	}
	p->has_budget = true;
	return set_rate(ctx, k, v, field);
}

static int set_threshold(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	PolicyRule *r = container_of(field, PolicyRule, threshold);

	r->has_threshold = true;
	return set_rate(ctx, k, v, field);
}

static int set_rule_mode(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	PolicyRule *r = container_of(field, PolicyRule, mode);

	r->has_mode = true;
	return config_set_enum(ctx, k, v, field);
}

static int set_name(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	const char *s = json_object_get_string(v->value);
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_MAX)
		return config_error(ctx, &v->loc, "%s: expected a name of 1..%d characters, got %zu",
				    v->path, POLICY_NAME_MAX - 1, n);
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.'))
			return config_error(
				ctx, &v->loc,
				"%s: invalid character in name \"%s\" (expected A-Z a-z 0-9 - _ .)", v->path,
				s);
	memcpy(field, s, n + 1);
	return 0;
}

typedef struct ActionList {
	PolicyAction *actions;
	size_t *n;
	bool unique;
} ActionList;

static int visit_action(ConfigContext *ctx, const ConfigKey *k, const char *s, const JsonLoc *loc,
			const char *path, void *field)
{
	ActionList *l = field;
	PolicyAction a = policy_action_from_string(s);
	const char *close;

	if (a < 0) {
		close = config_closest(s, (const char *const *)action_names);
		if (close)
			return config_error(
				ctx, loc,
				"%s: unknown action \"%s\" (expected log, alert, report-info, reset, "
				"unbind, recover, report-fw-reset or report-deconfigure; did you mean "
				"'%s'?)",
				path, s, close);
		return config_error(
			ctx, loc,
			"%s: unknown action \"%s\" (expected log, alert, report-info, reset, unbind, "
			"recover, report-fw-reset or report-deconfigure)",
			path, s);
	}
	if (*l->n >= POLICY_RULE_ACTIONS_MAX)
		return config_error(ctx, loc, "%s: too many actions (expected at most %d)", path,
				    POLICY_RULE_ACTIONS_MAX);
	if (l->unique)
		for (size_t i = 0; i < *l->n; i++)
			if (l->actions[i] == a)
				return config_error(ctx, loc,
						    "%s: action \"%s\" listed twice (expected each once)",
						    path, s);
	l->actions[(*l->n)++] = a;
	return 0;
}

static int set_actions(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	PolicyRule *r = container_of(field, PolicyRule, actions);
	ActionList l = { r->actions, &r->n_actions, true };

	r->n_actions = 0;
	return visit_strings(ctx, k, v, &l, visit_action);
}

static int set_ladder(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	PolicyRule *r = container_of(field, PolicyRule, ladder);
	ActionList l = { r->ladder, &r->n_ladder, false };

	r->n_ladder = 0;
	return visit_strings(ctx, k, v, &l, visit_action);
}

#define IDSET(n, field, maxv)                                                                          \
	{                                                                                              \
		n, CONFIG_INT | CONFIG_STRING | CONFIG_ARRAY, set_idset, offsetof(PolicyMatch, field), \
			.max = (maxv)                                                                  \
	}
#define ENUMS(n, field, names)                                                                \
	{                                                                                     \
		n, CONFIG_STRING | CONFIG_ARRAY, set_enum_bits, offsetof(PolicyMatch, field), \
			.values = (names)                                                     \
	}

static const ConfigKey match_table[] = {
	IDSET("fid", fid, UINT32_MAX),
	IDSET("uid", uid, UINT32_MAX),
	IDSET("pchid", pchid, UINT16_MAX),
	IDSET("pft", pft, UINT8_MAX),
	IDSET("vendor", vendor, UINT16_MAX),
	IDSET("device", device, UINT16_MAX),
	{ "driver", CONFIG_STRING | CONFIG_ARRAY, set_globs, offsetof(PolicyMatch, driver) },
	ENUMS("mode", modes, mode_names),
	{ "owner", CONFIG_STRING | CONFIG_ARRAY, set_globs, offsetof(PolicyMatch, owner) },
	IDSET("pec", pec, UINT16_MAX),
	ENUMS("pec_class", pec_classes, pec_class_names),
	ENUMS("source", sources, source_names),
	ENUMS("kind", kinds, kind_names),
	{},
};

static const ConfigKey rule_table[] = {
	{ "name", CONFIG_STRING, set_name, offsetof(PolicyRule, name) },
	{ "match", CONFIG_OBJECT, NULL, offsetof(PolicyRule, match), .table = match_table },
	{ "threshold", CONFIG_STRING, set_threshold, offsetof(PolicyRule, threshold),
	  .expected = "a rate \"N / T\"" },
	{ "actions", CONFIG_STRING | CONFIG_ARRAY, set_actions, offsetof(PolicyRule, actions) },
	{ "ladder", CONFIG_ARRAY, set_ladder, offsetof(PolicyRule, ladder),
	  .expected = "an array of actions" },
	{ "ladder_reset", CONFIG_STRING, set_duration, offsetof(PolicyRule, ladder_reset_usec),
	  .expected = "a duration" },
	{ "continue", CONFIG_BOOL, config_set_bool, offsetof(PolicyRule, cont) },
	{ "mode", CONFIG_STRING, set_rule_mode, offsetof(PolicyRule, mode), .values = mode_names },
	{ "disrupt_observed", CONFIG_BOOL, config_set_bool, offsetof(PolicyRule, disrupt_observed) },
	{},
};

static void match_compute_keys(PolicyMatch *m)
{
	m->keys = (m->fid.n ? POLICY_MATCH_FID : 0) | (m->uid.n ? POLICY_MATCH_UID : 0) |
		  (m->pchid.n ? POLICY_MATCH_PCHID : 0) | (m->pft.n ? POLICY_MATCH_PFT : 0) |
		  (m->vendor.n ? POLICY_MATCH_VENDOR : 0) | (m->device.n ? POLICY_MATCH_DEVICE : 0) |
		  (m->driver ? POLICY_MATCH_DRIVER : 0) | (m->modes ? POLICY_MATCH_MODE : 0) |
		  (m->owner ? POLICY_MATCH_OWNER : 0) | (m->pec.n ? POLICY_MATCH_PEC : 0) |
		  (m->pec_classes ? POLICY_MATCH_PEC_CLASS : 0) | (m->sources ? POLICY_MATCH_SOURCE : 0) |
		  (m->kinds ? POLICY_MATCH_KIND : 0);
}

static int set_rules(ConfigContext *ctx, const ConfigKey *k, const ConfigValue *v, void *field)
{
	Policy *p = container_of(field, Policy, rules);
	size_t n = json_object_array_length(v->value);
	PolicyRule *rules;
	int ret = 0, r;

	if (n > POLICY_RULES_MAX)
		return config_error(ctx, &v->loc, "%s: %zu rules (expected at most %d)", v->path, n,
				    POLICY_RULES_MAX);
	rules = calloc(MAX(n, 1U), sizeof(PolicyRule));
	if (!rules)
		return -ENOMEM;
	rules_free(p->rules, p->n_rules);
	p->rules = rules;
	p->n_rules = n;

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(v->value, i);
		PolicyRule *rule = &rules[i];
		_cleanup_free_ char *path = NULL;
		JsonLoc loc, name_loc;

		rule_init(rule);
		(void)element_loc(v->value, i, v, &loc);
		if (asprintf(&path, "%s[%zu]", v->path, i) < 0)
			return -ENOMEM;
		if (!json_object_is_type(o, json_type_object)) {
			ret = config_error(ctx, &loc, "%s: expected a rule object, got %s", path,
					   config_type_name(o));
			continue;
		}
		r = config_apply_table(ctx, rule_table, o, path, rule);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			ret = r;
			continue;
		}
		match_compute_keys(&rule->match);
		if (!json_pos_get_member(o, "name", NULL, &name_loc))
			name_loc = loc;
		if (isempty(rule->name))
			(void)snprintf(rule->name, sizeof(rule->name), "rule-%zu", i + 1);
		for (size_t j = 0; j < i; j++)
			if (streq(rules[j].name, rule->name))
				ret = config_error(
					ctx, &name_loc,
					"%s: duplicate rule name \"%s\" (rule %zu has it; expected unique "
					"names)",
					path, rule->name, j + 1);
		if (rule->n_actions == 0 && rule->n_ladder == 0 && !rule->has_mode)
			ret = config_error(ctx, &loc,
					   "%s: rule \"%s\" does nothing (expected \"actions\", "
					   "\"ladder\" or \"mode\")",
					   path, rule->name);
		if (rule->has_mode && (rule->match.keys & (POLICY_MATCH_EVENT_KEYS | POLICY_MATCH_MODE))) {
			JsonLoc mloc = loc;
			(void)json_pos_get_member(o, "match", NULL, &mloc);
			ret = config_error(
				ctx, &mloc,
				"%s.match: a rule that sets \"mode\" can only match on function keys "
				"(expected no pec, pec_class, source, kind or mode)",
				path);
		}
	}
	return ret;
}

static const ConfigKey policy_table[] = {
	{ "dry_run", CONFIG_BOOL, config_set_bool, offsetof(Policy, dry_run) },
	{ "budget", CONFIG_STRING | CONFIG_NULL, set_budget, offsetof(Policy, budget),
	  .expected = "a rate \"N / T\" or null" },
	{ "cooldown", CONFIG_STRING, set_duration, offsetof(Policy, cooldown_usec),
	  .expected = "a duration" },
	{ "default_mode", CONFIG_STRING, config_set_enum, offsetof(Policy, default_mode),
	  .values = mode_names },
	{ "rules", CONFIG_ARRAY, set_rules, offsetof(Policy, rules), .expected = "an array of rules" },
	{},
};

int policy_new_from_json(ConfigContext *ctx, json_object *o, const char *path, Policy **ret)
{
	_cleanup_(policy_unrefp) Policy *p = NULL;
	int r;

	r = policy_new_default(&p);
	if (r < 0)
		return r;
	r = config_apply_table(ctx, policy_table, o, path, p);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* ---- matching ---- */

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

static void bits_format(unsigned bits, const char *const *names, char *buf, size_t size)
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
		bits_format(m->modes, mode_names, set, sizeof(set));
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
			bits_format(m->pec_classes, pec_class_names, set, sizeof(set));
			FAIL("pec class %s is not in %s", pec_class_to_string(pec_class_of(e->pec)), set);
		}
	}
	if ((m->keys & POLICY_MATCH_SOURCE) && !(m->sources & e->sources)) {
		char src[64];
		bits_format(m->sources, source_names, set, sizeof(set));
		bits_format(e->sources, source_names, src, sizeof(src));
		FAIL("source %s is not in %s", src[0] ? src : "(none)", set);
	}
	if ((m->keys & POLICY_MATCH_KIND) && !(e->kind >= 0 && (m->kinds & (1U << e->kind)))) {
		bits_format(m->kinds, kind_names, set, sizeof(set));
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

static FunctionPolicyState *state_function(PolicyState *s, uint32_t fid, bool create)
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

static RuleState *state_rule(FunctionPolicyState *fs, const char *rule, bool create)
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

static int json_add_u64(json_object *o, const char *key, uint64_t v)
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

static int json_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int json_append(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
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
		if (state_function(s, (uint32_t)fid, false))
			return -EBADMSG;
		fs = state_function(s, (uint32_t)fid, true);
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
			if (state_rule(fs, json_object_get_string(name), false))
				return -EBADMSG;
			rs = state_rule(fs, json_object_get_string(name), true);
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
static bool mode_allows(const PolicyRule *r, FunctionMode mode, PolicyAction a, char *why, size_t size)
{
	if (mode != FUNCTION_MODE_OBSERVE)
		return true;
	if (a == POLICY_ACTION_RESET) {
		(void)snprintf(why, size, "reset needs the device, and the function is only observed");
		return false;
	}
	if ((a == POLICY_ACTION_UNBIND || a == POLICY_ACTION_RECOVER) && !r->disrupt_observed) {
		(void)snprintf(why, size,
			       "%s of an observed function needs \"disrupt_observed\": true in rule %s",
			       policy_action_to_string(a), r->name);
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
static int add_action(Evaluation *ev, const PolicyRule *r, PolicyAction a, int ladder_step)
{
	PolicyDecision *d = ev->d;
	PolicyDecidedAction *da;
	char why[POLICY_DETAIL_MAX] = "";

	/* Non-disruptive actions are taken once per decision. */
	if (!policy_action_is_disruptive(a))
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
	if (!policy_action_is_disruptive(a))
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
		       policy_action_to_string(r->ladder[rs->ladder_step]),
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
	ev.fs = state_function(s, f->attrs.fid, true);
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
		rs = state_rule(ev.fs, rule->name, true);
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
		r = add_action(&ev, &implicit, POLICY_ACTION_LOG, -1);
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
		    json_add(ao, "action", json_object_new_string(policy_action_to_string(a->action))) < 0 ||
		    json_add(ao, "verdict", json_object_new_string(policy_verdict_to_string(a->verdict))) <
			    0 ||
		    json_add(ao, "hold", json_object_new_string(policy_hold_to_string(a->hold))) < 0 ||
		    json_add(ao, "rule", json_object_new_string(a->rule)) < 0 ||
		    json_add(ao, "disruptive",
			     json_object_new_boolean(policy_action_is_disruptive(a->action))) < 0)
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

static int state_copy(const PolicyState *s, PolicyState **ret)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	int r;

	if (!s)
		return policy_state_new(ret);
	r = policy_state_to_json(s, &o);
	if (r < 0)
		return r;
	r = policy_state_from_json(o, ret);
	return r == -EBADMSG ? -EIO : r;
}

static void describe_function(const ZpciFunction *f, char *buf, size_t size)
{
	const ZpciAttrs *a = &f->attrs;
	size_t n;

	(void)snprintf(buf, size, "function 0x%08x", a->fid);
	n = strlen(buf);
	if (a->has & ZPCI_ATTR_HAS_PCHID)
		n += (size_t)snprintf(buf + n, size - MIN(n, size), ", pchid 0x%04x", a->pchid);
	if (n < size && (a->has & ZPCI_ATTR_HAS_PFT))
		n += (size_t)snprintf(buf + n, size - n, ", pft 0x%02x (%s)", a->pft,
				      zpci_pft_to_string(a->pft));
	if (n < size && (a->has & ZPCI_ATTR_HAS_IDS))
		n += (size_t)snprintf(buf + n, size - n, ", id %04x:%04x", a->vendor, a->device);
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, ", driver %s, mode %s",
				      isempty(f->driver) ? "(none)" : f->driver,
				      function_mode_to_string(f->mode));
	if (n < size && f->owner_pid > 0)
		(void)snprintf(buf + n, size - n, ", owner %s[%d]", f->owner_comm, (int)f->owner_pid);
}

static void describe_event(const ZpciEvent *e, char *buf, size_t size)
{
	char src[64];

	bits_format(e->sources, source_names, src, sizeof(src));
	if (e->has & EVENT_HAS_PEC)
		(void)snprintf(buf, size, "%s event, PEC 0x%04x (%s, %s), source %s",
			       event_kind_to_string(e->kind), e->pec, pec_lookup(e->pec)->name,
			       pec_class_to_string(pec_class_of(e->pec)), src[0] ? src : "(none)");
	else
		(void)snprintf(buf, size, "%s event without PEC, source %s", event_kind_to_string(e->kind),
			       src[0] ? src : "(none)");
}

int policy_explain(const Policy *p, const PolicyState *s, const ZpciFunction *f, const ZpciEvent *e,
		   uint64_t now_usec, unsigned flags, char **ret_text, json_object **ret_json)
{
	_cleanup_(policy_state_freep) PolicyState *copy = NULL;
	_cleanup_(json_pos_putp) json_object *dj = NULL;
	_cleanup_free_ PolicyDecision *d = NULL;
	char fdesc[256], edesc[160];
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = state_copy(s, &copy);
	if (r < 0)
		return r;
	r = policy_evaluate(p, copy, f, e, now_usec, flags, d);
	if (r < 0)
		return r;
	describe_function(f, fdesc, sizeof(fdesc));
	describe_event(e, edesc, sizeof(edesc));

	if (ret_text) {
		_cleanup_fclose_ FILE *m = NULL;
		char *text = NULL;
		size_t size = 0;
		char b[RATE_SPEC_STR_MAX];

		m = open_memstream(&text, &size);
		if (!m)
			return -ENOMEM;
		fprintf(m, "Function: %s\n", fdesc);
		fprintf(m, "Event:    %s\n", edesc);
		fprintf(m, "Policy:   %zu rule(s), budget %s, cooldown %s%s%s\n", p->n_rules,
			p->has_budget ? rate_spec_format(&p->budget, b, sizeof(b)) : "none",
			duration_format(p->cooldown_usec, (char[24]){}, 24), p->dry_run ? ", dry run" : "",
			(flags & POLICY_EVALUATE_INHIBITED) ? ", inhibited" : "");
		fprintf(m, "Mode:     %s (policy would choose %s)\n", function_mode_to_string(f->mode),
			function_mode_to_string(policy_choose_mode(p, f)));
		fprintf(m, "\nRules:\n");
		for (size_t i = 0; i < d->n_trace; i++)
			fprintf(m, "  %zu. %-20s %-16s %s\n", i + 1, d->trace[i].rule,
				policy_rule_outcome_to_string(d->trace[i].outcome), d->trace[i].detail);
		if (d->n_trace == 0)
			fprintf(m, "  (none)\n");
		fprintf(m, "\nDecision: rule %s\n", d->rule);
		for (size_t i = 0; i < d->n_actions; i++) {
			const PolicyDecidedAction *a = &d->actions[i];

			char line[512];
			size_t n;

			n = (size_t)snprintf(line, sizeof(line), "  %-20s %-12s",
					     policy_action_to_string(a->action),
					     policy_verdict_to_string(a->verdict));
			if (a->ladder_step >= 0 && n < sizeof(line))
				n += (size_t)snprintf(line + n, sizeof(line) - n, " ladder step %d",
						      a->ladder_step + 1);
			if (!isempty(a->detail) && n < sizeof(line))
				n += (size_t)snprintf(line + n, sizeof(line) - n, " (%s)", a->detail);
			if (a->retry_usec > 0 && n < sizeof(line))
				n += (size_t)snprintf(
					line + n, sizeof(line) - n, " [allowed again in %llus]",
					(unsigned long long)((a->retry_usec - MIN(a->retry_usec, now_usec)) /
							     USEC_PER_SEC));
			n = MIN(n, sizeof(line) - 1);
			while (n > 0 && line[n - 1] == ' ')
				line[--n] = 0;
			fprintf(m, "%s\n", line);
		}
		if (fflush(m) != 0 || ferror(m))
			return -ENOMEM;
		m = (fclose(m), NULL);
		*ret_text = text;
	}
	if (ret_json) {
		_cleanup_(json_pos_putp) json_object *o = json_object_new_object();

		r = policy_decision_to_json(d, &dj);
		if (r < 0)
			return r;
		if (!o || json_add(o, "function", json_object_new_string(fdesc)) < 0 ||
		    json_add(o, "event", json_object_new_string(edesc)) < 0 ||
		    json_add(o, "mode", json_object_new_string(function_mode_to_string(f->mode))) < 0 ||
		    json_add(o, "decision", TAKE_PTR(dj)) < 0)
			return -ENOMEM;
		*ret_json = TAKE_PTR(o);
	}
	return 0;
}

static int idset_to_json(const PolicyIdSet *s, json_object **ret)
{
	json_object *a = json_object_new_array();
	char b[32];

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		if (s->ranges[i].lo == s->ranges[i].hi)
			(void)snprintf(b, sizeof(b), "0x%x", s->ranges[i].lo);
		else
			(void)snprintf(b, sizeof(b), "0x%x-0x%x", s->ranges[i].lo, s->ranges[i].hi);
		if (json_append(a, json_object_new_string(b)) < 0) {
			json_object_put(a);
			return -ENOMEM;
		}
	}
	*ret = a;
	return 0;
}

static json_object *bits_to_json(unsigned bits, const char *const *names)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; a && names[i]; i++)
		if ((bits & (1U << i)) && json_append(a, json_object_new_string(names[i])) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

static json_object *strv_to_json(char **l)
{
	json_object *a = json_object_new_array();

	for (char **i = l; a && i && *i; i++)
		if (json_append(a, json_object_new_string(*i)) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

static json_object *actions_to_json(const PolicyAction *actions, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_append(a, json_object_new_string(policy_action_to_string(actions[i]))) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

int policy_to_json(const Policy *p, json_object **ret)
{
	_cleanup_(json_pos_putp) json_object *o = NULL;
	json_object *rules;
	char b[RATE_SPEC_STR_MAX];

	o = json_object_new_object();
	if (!o || json_add(o, "dry_run", json_object_new_boolean(p->dry_run)) < 0)
		return -ENOMEM;
	if (p->has_budget ? json_add(o, "budget",
				     json_object_new_string(rate_spec_format(&p->budget, b, sizeof(b)))) < 0
			  : json_object_object_add(o, "budget", NULL) < 0)
		return -ENOMEM;
	if (json_add(o, "cooldown",
		     json_object_new_string(duration_format(p->cooldown_usec, b, sizeof(b)))) < 0 ||
	    json_add(o, "default_mode", json_object_new_string(function_mode_to_string(p->default_mode))) <
		    0)
		return -ENOMEM;
	rules = json_object_new_array();
	if (json_add(o, "rules", rules) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		const PolicyRule *r = &p->rules[i];
		const PolicyMatch *m = &r->match;
		json_object *ro = json_object_new_object(), *mo = json_object_new_object(), *v;
		static const struct {
			unsigned bit;
			const char *key;
			size_t offset;
		} idsets[] = {
			{ POLICY_MATCH_FID, "fid", offsetof(PolicyMatch, fid) },
			{ POLICY_MATCH_UID, "uid", offsetof(PolicyMatch, uid) },
			{ POLICY_MATCH_PCHID, "pchid", offsetof(PolicyMatch, pchid) },
			{ POLICY_MATCH_PFT, "pft", offsetof(PolicyMatch, pft) },
			{ POLICY_MATCH_VENDOR, "vendor", offsetof(PolicyMatch, vendor) },
			{ POLICY_MATCH_DEVICE, "device", offsetof(PolicyMatch, device) },
			{ POLICY_MATCH_PEC, "pec", offsetof(PolicyMatch, pec) },
		};

		if (json_append(rules, ro) < 0 ||
		    json_add(ro, "name", json_object_new_string(r->name)) < 0 ||
		    json_add(ro, "match", mo) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < ELEMENTSOF(idsets); k++)
			if (m->keys & idsets[k].bit) {
				if (idset_to_json(
					    (const PolicyIdSet *)((const uint8_t *)m + idsets[k].offset),
					    &v) < 0 ||
				    json_add(mo, idsets[k].key, v) < 0)
					return -ENOMEM;
			}
		if (((m->keys & POLICY_MATCH_DRIVER) &&
		     json_add(mo, "driver", strv_to_json(m->driver)) < 0) ||
		    ((m->keys & POLICY_MATCH_MODE) &&
		     json_add(mo, "mode", bits_to_json(m->modes, mode_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_OWNER) && json_add(mo, "owner", strv_to_json(m->owner)) < 0) ||
		    ((m->keys & POLICY_MATCH_PEC_CLASS) &&
		     json_add(mo, "pec_class", bits_to_json(m->pec_classes, pec_class_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_SOURCE) &&
		     json_add(mo, "source", bits_to_json(m->sources, source_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_KIND) &&
		     json_add(mo, "kind", bits_to_json(m->kinds, kind_names)) < 0))
			return -ENOMEM;
		if (r->has_threshold &&
		    json_add(ro, "threshold",
			     json_object_new_string(rate_spec_format(&r->threshold, b, sizeof(b)))) < 0)
			return -ENOMEM;
		if (r->n_actions > 0 &&
		    json_add(ro, "actions", actions_to_json(r->actions, r->n_actions)) < 0)
			return -ENOMEM;
		if (r->n_ladder > 0 &&
		    (json_add(ro, "ladder", actions_to_json(r->ladder, r->n_ladder)) < 0 ||
		     json_add(ro, "ladder_reset",
			      json_object_new_string(duration_format(r->ladder_reset_usec, b, sizeof(b)))) <
			     0))
			return -ENOMEM;
		if (json_add(ro, "continue", json_object_new_boolean(r->cont)) < 0)
			return -ENOMEM;
		if (r->has_mode &&
		    json_add(ro, "mode", json_object_new_string(function_mode_to_string(r->mode))) < 0)
			return -ENOMEM;
		if (r->disrupt_observed &&
		    json_add(ro, "disrupt_observed", json_object_new_boolean(true)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}
