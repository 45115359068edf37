/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "common/pec.h"
#include "daemon/actions.h"
#include "daemon/bus.h"
#include "daemon/coalesce.h"
#include "daemon/dedup.h"
#include "daemon/history.h"
#include "daemon/manager.h"
#include "daemon/metrics-file.h"
#include "daemon/pipeline.h"
#include "daemon/policy.h"

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	(void)clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void journal_event(Manager *m, const ZpciEvent *e)
{
	EventJournalFields jf;

	event_journal_fields(e, &jf);
	(void)log_fields(m->log, event_priority(e), event_message_id(e), jf.fields, jf.n, "%s", e->message);
}

static void update_function(ZpciFunction *f, const ZpciEvent *e)
{
	int i = function_input_of_event(e);

	if (i >= 0)
		(void)function_input(f, (FunctionInput)i);

	switch (e->kind) {
	case EVENT_ERROR:
		f->counters.errors++;
		f->last_error = *e;
		f->has_last_error = true;
		break;
	case EVENT_DROPPED:
		f->counters.dropped += (e->has & EVENT_HAS_COUNT) ? e->count : 1;
		break;
	case EVENT_RECOVERY:
		f->counters.recoveries++;
		break;
	case EVENT_ACTION:
		f->counters.actions++;
		if (streq(e->action, "reset") && streq(e->result, "done"))
			f->counters.resets++;
		break;
	default:
		break;
	}
}

/* An action the policy decided but that is not run: recorded as an event of its own. */
static void record_held_action(Manager *m, ZpciFunction *f, const ZpciEvent *trigger,
			       const PolicyDecidedAction *a)
{
	ZpciEvent e = { .kind = EVENT_ACTION, .sources = EVENT_SOURCE_DAEMON };

	(void)snprintf(e.action, sizeof(e.action), "%s", action_type_to_string(a->action));
	(void)snprintf(e.result, sizeof(e.result), "%s",
		       a->verdict == POLICY_VERDICT_POSTPONED ? "postponed" : "not-supported");
	(void)snprintf(e.rule, sizeof(e.rule), "%s", a->rule);
	(void)snprintf(e.detail, sizeof(e.detail), "%s (%s)", a->detail, policy_hold_to_string(a->hold));
	if (trigger->has & EVENT_HAS_PEC) {
		e.pec = trigger->pec;
		e.has |= EVENT_HAS_PEC;
	}
	(void)pipeline_submit(m, f, &e);
}

static void apply_policy(Manager *m, ZpciFunction *f, const ZpciEvent *e)
{
	PolicyDecision d;
	int r;

	r = policy_evaluate(m->policy, m->policy_state, f, e, e->time_usec, 0, &d);
	if (r < 0) {
		log_warning_errno(m->log, r,
				  "Failed to evaluate the policy for event %" PRIu64 ", ignoring: %m",
				  e->seq);
		return;
	}
	manager_policy_state_changed(m);

	for (size_t i = 0; i < d.n_actions; i++) {
		const PolicyDecidedAction *a = &d.actions[i];
		ActionRequest req;

		if (a->action == ACTION_LOG)
			continue; /* the journal record was written already */
		if (a->verdict == POLICY_VERDICT_POSTPONED || a->verdict == POLICY_VERDICT_UNAVAILABLE) {
			record_held_action(m, f, e, a);
			continue;
		}
		if (!m->actions)
			continue;
		action_request_init(&req, a->action, f, e, a->rule);
		req.dry_run = a->verdict == POLICY_VERDICT_DRY_RUN;
		r = actions_submit(m->actions, &req);
		if (r < 0)
			log_warning_errno(m->log, r, "PCI function 0x%08x: failed to start action %s: %m",
					  f->attrs.fid, action_type_to_string(a->action));
	}
}

int pipeline_submit(Manager *m, ZpciFunction *f, ZpciEvent *e)
{
	bool emit = true;
	int r;

	if (e->time_usec == 0)
		e->time_usec = now_usec(CLOCK_REALTIME);
	if (e->monotonic_usec == 0)
		e->monotonic_usec = now_usec(CLOCK_MONOTONIC);
	if (f)
		function_fill_event(f, e);
	if (e->sources == 0)
		e->sources = EVENT_SOURCE_DAEMON;

	/* The same error from the kernel log and from a drain is recorded once. */
	if (m->dedup && e->kind == EVENT_ERROR) {
		r = dedup_check(m->dedup, e);
		if (r > 0) {
			log_debug(m->log,
				  "Error 0x%04x of function 0x%08x already recorded from another source.",
				  e->pec, e->fid);
			return 0;
		}
	}

	e->seq = m->next_seq++;
	event_format_message(e);

	if (f)
		emit = coalesce_admit(m, f, e);

	/* The history first, then the journal: an event the journal shows is
	 * in the history even if the daemon is killed right after logging it. */
	if (m->history) {
		r = history_append(m->history, e);
		if (r < 0) /* the history says so, once per run of failures */
			log_debug_errno(m->log, r, "Failed to write event %" PRIu64 " to the history: %m",
					e->seq);
	}

	if (emit)
		journal_event(m, e);
	else if (f)
		f->counters.coalesced++;

	if (f)
		update_function(f, e);
	metrics_file_observe(m->metrics, f, e);

	if (emit)
		(void)bus_emit_event(m->bus, f, e);

	if (m->actions)
		actions_observe_event(m->actions, f, e);

	if (f && m->policy && e->kind != EVENT_ACTION && e->kind != EVENT_SUMMARY)
		apply_policy(m, f, e);

	return 1;
}

void pipeline_emit_summary(Manager *m, ZpciFunction *f, uint32_t suppressed, uint64_t window_usec)
{
	ZpciEvent e = { .kind = EVENT_SUMMARY, .sources = EVENT_SOURCE_DAEMON, .has = EVENT_HAS_COUNT };

	e.count = suppressed;
	(void)snprintf(e.detail, sizeof(e.detail),
		       "%" PRIu32 " event(s) recorded in the history but not logged in the last %llu s",
		       suppressed, (unsigned long long)(window_usec / USEC_PER_SEC));
	e.time_usec = now_usec(CLOCK_REALTIME);
	e.monotonic_usec = now_usec(CLOCK_MONOTONIC);
	function_fill_event(f, &e);
	/* A summary is not an event of its own: no sequence number, not in the history. */
	event_format_message(&e);
	journal_event(m, &e);
	(void)bus_emit_event(m->bus, f, &e);
}

/* Whether the journal holds the record of @e (written by a zpcid with the
 * same history: same sequence number and time). Returns 1, 0, or -errno. */
static int journal_has_event(const ZpciEvent *e)
{
	char seq[64], when[64];
	sd_journal *j = NULL;
	int r;

	r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	(void)snprintf(seq, sizeof(seq), "ZPCID_SEQ=%" PRIu64, e->seq);
	(void)snprintf(when, sizeof(when), "ZPCID_TIME=%" PRIu64, e->time_usec);
	r = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=zpcid", 0);
	if (r >= 0)
		r = sd_journal_add_match(j, seq, 0);
	if (r >= 0)
		r = sd_journal_add_match(j, when, 0);
	if (r >= 0)
		r = sd_journal_next(j);
	sd_journal_close(j);
	return r < 0 ? r : r > 0;
}

int pipeline_replay_unjournaled(Manager *m)
{
	HistoryQuery q = HISTORY_QUERY_ALL;
	_cleanup_free_ ZpciEvent *events = NULL;
	size_t n = 0;
	int r;

	if (!m->history || log_get_target(m->log) != LOG_TARGET_JOURNAL)
		return 0;
	q.newest_first = true;
	q.limit = 1;
	r = history_query(m->history, &q, &events, &n, NULL);
	if (r < 0 || n == 0)
		return r < 0 ? r : 0;

	r = journal_has_event(&events[0]);
	if (r != 0)
		return r < 0 ? r : 0;
	journal_event(m, &events[0]);
	log_notice(m->log,
		   "Event %" PRIu64 " was in the history but not in the journal (the daemon was killed "
		   "in between); written to the journal now.",
		   events[0].seq);
	return 1;
}
