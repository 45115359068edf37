/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sinks: the pipeline's consumers, as sinks (daemon/pipeline.h). Each one
 * adapts one subsystem to the sink interface, with the subsystem itself as
 * userdata; the manager adds each one when its subsystem exists and removes
 * it before the subsystem goes:
 *
 *   sink_history  History *      store     every recorded event
 *   sink_journal  Log *          journal   emitted events and summaries
 *   sink_bus      Bus *          observe   emitted events and summaries: the D-Bus signal
 *   sink_metrics  MetricsFile *  observe   recorded events (upgrades not counted again)
 *   sink_actions  Actions *      observe   recorded events, for the confirmation of resets
 *                                          (upgrades not looked at again)
 */

#include "common/log.h"
#include "daemon/pipeline.h"

struct History;

extern const PipelineSinkVtable sink_history;
extern const PipelineSinkVtable sink_journal;
extern const PipelineSinkVtable sink_bus;
extern const PipelineSinkVtable sink_metrics;
extern const PipelineSinkVtable sink_actions;

/* After a restart: the history is written before the journal, so a kill
 * between the two can leave the newest history record of @h out of the
 * journal. Write it to @log when it is missing there. Returns 1 when it was
 * written, 0 when nothing was missing (or the log target is not the
 * journal), -errno on failure. */
int sink_journal_replay_unjournaled(Log *log, struct History *h);
