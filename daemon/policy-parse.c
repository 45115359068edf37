/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-parse: the "policy" object of the configuration, read through the
 * table-driven validator of conf-table.h, and written back in the same
 * syntax (policy_to_json()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/pec.h"
#include "daemon/conf-table.h"
#include "daemon/policy-internal.h"

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

	policy_idset_done(set);
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
	ActionType *actions;
	size_t *n;
	bool unique;
} ActionList;

static int visit_action(ConfigContext *ctx, const ConfigKey *k, const char *s, const JsonLoc *loc,
			const char *path, void *field)
{
	ActionList *l = field;
	ActionType a = action_type_from_string(s);
	const char *close;

	if (a < 0) {
		close = config_closest(s, (const char *const *)action_type_names);
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
	ENUMS("mode", modes, policy_mode_names),
	{ "owner", CONFIG_STRING | CONFIG_ARRAY, set_globs, offsetof(PolicyMatch, owner) },
	IDSET("pec", pec, UINT16_MAX),
	ENUMS("pec_class", pec_classes, policy_pec_class_names),
	ENUMS("source", sources, policy_source_names),
	ENUMS("kind", kinds, policy_kind_names),
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
	{ "mode", CONFIG_STRING, set_rule_mode, offsetof(PolicyRule, mode), .values = policy_mode_names },
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

static bool rule_is_disruptive(const PolicyRule *r)
{
	for (size_t i = 0; i < r->n_actions; i++)
		if (action_type_is_disruptive(r->actions[i]))
			return true;
	for (size_t i = 0; i < r->n_ladder; i++)
		if (action_type_is_disruptive(r->ladder[i]))
			return true;
	return false;
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
	policy_rules_free(p->rules, p->n_rules);
	p->rules = rules;
	p->n_rules = n;

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(v->value, i);
		PolicyRule *rule = &rules[i];
		_cleanup_free_ char *path = NULL;
		JsonLoc loc, name_loc;

		policy_rule_init(rule);
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
		if ((rule->match.kinds & (1U << EVENT_ADAPTER)) && rule_is_disruptive(rule))
			ret = config_error(ctx, &loc,
					   "%s: rule \"%s\" matches adapter events, which concern no one "
					   "function (expected only log, alert or report-info actions)",
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
	  .values = policy_mode_names },
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

/* ---- back to JSON ---- */

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

static json_object *actions_to_json(const ActionType *actions, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_append(a, json_object_new_string(action_type_to_string(actions[i]))) < 0) {
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
		     json_add(mo, "mode", bits_to_json(m->modes, policy_mode_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_OWNER) && json_add(mo, "owner", strv_to_json(m->owner)) < 0) ||
		    ((m->keys & POLICY_MATCH_PEC_CLASS) &&
		     json_add(mo, "pec_class", bits_to_json(m->pec_classes, policy_pec_class_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_SOURCE) &&
		     json_add(mo, "source", bits_to_json(m->sources, policy_source_names)) < 0) ||
		    ((m->keys & POLICY_MATCH_KIND) &&
		     json_add(mo, "kind", bits_to_json(m->kinds, policy_kind_names)) < 0))
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
