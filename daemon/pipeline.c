/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pec.h"
#include "daemon/coalesce.h"
#include "daemon/dedup.h"
#include "daemon/manager.h"
#include "daemon/pipeline.h"

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
	switch (e->kind) {
	case EVENT_ERROR:
		f->counters.errors++;
		f->last_error = *e;
		f->has_last_error = true;
		if (e->has & EVENT_HAS_PEC) {
			PecClass c = pec_class_of(e->pec);

			if (c == PEC_CLASS_PERMANENT)
				f->state = FUNCTION_STATE_FAILED;
			else if (c == PEC_CLASS_FW_RESET_DONE)
				f->state = FUNCTION_STATE_OK;
			else if (c == PEC_CLASS_RECOVERABLE && f->state == FUNCTION_STATE_OK)
				f->state = FUNCTION_STATE_ERROR;
		}
		break;
	case EVENT_DROPPED:
		f->counters.dropped += (e->has & EVENT_HAS_COUNT) ? e->count : 1;
		break;
	case EVENT_RECOVERY:
		f->counters.recoveries++;
		if (e->recovery == RECOVERY_BEGIN)
			f->state = FUNCTION_STATE_RECOVERING;
		else if (e->recovery == RECOVERY_SUCCESSFUL)
			f->state = FUNCTION_STATE_OK;
		else if (e->recovery == RECOVERY_FAILED)
			f->state = FUNCTION_STATE_FAILED;
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

	/* The journal first: whatever happens next, the event is on record. */
	if (emit)
		journal_event(m, e);
	else if (f)
		f->counters.coalesced++;

	if (f)
		update_function(f, e);

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
}
