/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-journal.h>

#include "daemon/actions.h"
#include "daemon/bus.h"
#include "daemon/history.h"
#include "daemon/metrics-file.h"
#include "daemon/sinks.h"

static void history_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	/* A failure is said by the history itself, once per run of failures. */
	(void)history_append(ASSERT_PTR(userdata), e);
}

const PipelineSinkVtable sink_history = {
	.name = "history",
	.order = PIPELINE_SINK_STORE,
	.event = history_event,
};

static void journal_write(Log *log, const ZpciEvent *e)
{
	EventJournalFields jf;

	event_journal_fields(e, &jf);
	(void)log_fields(log, event_priority(e), event_message_id(e), jf.fields, jf.n, "%s", e->message);
}

static void journal_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	if (emit)
		journal_write(ASSERT_PTR(userdata), e);
}

const PipelineSinkVtable sink_journal = {
	.name = "journal",
	.order = PIPELINE_SINK_JOURNAL,
	.summaries = true,
	.event = journal_event,
};

static void bus_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	if (emit)
		(void)bus_emit_event(ASSERT_PTR(userdata), f, e);
}

const PipelineSinkVtable sink_bus = {
	.name = "bus",
	.order = PIPELINE_SINK_OBSERVE,
	.summaries = true,
	.event = bus_event,
};

static void metrics_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	if (e->same_as == 0) /* an upgrade was counted with its first record */
		metrics_file_observe(ASSERT_PTR(userdata), f, e);
}

const PipelineSinkVtable sink_metrics = {
	.name = "metrics",
	.order = PIPELINE_SINK_OBSERVE,
	.event = metrics_event,
};

static void actions_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	if (e->same_as == 0)
		actions_observe_event(ASSERT_PTR(userdata), f, e);
}

const PipelineSinkVtable sink_actions = {
	.name = "actions",
	.order = PIPELINE_SINK_OBSERVE,
	.event = actions_event,
};

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

int sink_journal_replay_unjournaled(Log *log, struct History *h)
{
	HistoryQuery q = HISTORY_QUERY_ALL;
	_cleanup_free_ ZpciEvent *events = NULL;
	size_t n = 0;
	int r;

	if (!h || log_get_target(log) != LOG_TARGET_JOURNAL)
		return 0;
	q.newest_first = true;
	q.limit = 1;
	r = history_query(h, &q, &events, &n, NULL);
	if (r < 0 || n == 0)
		return r < 0 ? r : 0;

	r = journal_has_event(&events[0]);
	if (r != 0)
		return r < 0 ? r : 0;
	journal_write(log, &events[0]);
	log_notice(log,
		   "Event %" PRIu64 " was in the history but not in the journal (the daemon was killed "
		   "in between); written to the journal now.",
		   events[0].seq);
	return 1;
}
