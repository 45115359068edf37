/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pipeline: where every event of every source goes, in this order:
 * de-duplication (the same error seen in the kernel log and by a drain is
 * recorded once), sequence number and timestamps, the journal (before
 * anything else is done with it), the history, the function's state and
 * counters, the D-Bus signal, and last the policy, which may start actions
 * whose results come back here as events of their own.
 */

#include "common/event.h"
#include "daemon/function.h"

typedef struct Manager Manager;

/* Submit @e for function @f (NULL for daemon-wide events). Fills in seq,
 * time and the function's identity fields that @e leaves unset.
 * Returns 1 when recorded, 0 when it was a duplicate of an event already
 * recorded, -errno on failure (the event was still logged). */
int pipeline_submit(Manager *m, ZpciFunction *f, ZpciEvent *e);

/* Write and signal a summary record: @suppressed events of @f were recorded
 * in the history but held back from the journal and bus during a window of
 * @window_usec (daemon/coalesce.c). */
void pipeline_emit_summary(Manager *m, ZpciFunction *f, uint32_t suppressed, uint64_t window_usec);

/* After a restart: the history is written before the journal, so a kill
 * between the two can leave the newest history record out of the journal.
 * Write it to the journal when it is missing there. Returns 1 when it was
 * written, 0 when nothing was missing (or the log target is not the
 * journal), -errno on failure. */
int pipeline_replay_unjournaled(Manager *m);
