/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-explain: policy_explain(), a decision told in words and as JSON,
 * evaluated on a copy of the state. Pure, like the evaluation: reading the
 * function, the state file and the configuration is explain.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pec.h"
#include "daemon/policy-internal.h"

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

	policy_bits_format(e->sources, policy_source_names, src, sizeof(src));
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
					     action_type_to_string(a->action),
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
