/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * coalesce: keeps an error storm out of the journal and off the bus while
 * every event still goes to the history.
 *
 * Per function, time is cut into fixed windows of `interval` starting at the
 * first event after a quiet period. The first `burst` events of a window are
 * written to the journal and signalled on the bus one by one; the rest of the
 * window's events are only counted. When the window ends, one summary record
 * (kind "summary", count = exactly the number of events held back) is
 * written and signalled, and a new window starts with the next event.
 * Written + summarised always equals the number of events recorded.
 */

#include <stdbool.h>
#include <stdint.h>

#include "daemon/function.h"

#define COALESCE_DEFAULT_BURST    20
#define COALESCE_DEFAULT_INTERVAL (10 * USEC_PER_SEC)

/* Pure decision at CLOCK_MONOTONIC @now_usec for function @f's window state:
 * returns true when the event is written out, false when it is held back
 * (f->coalesce.suppressed was incremented). */
bool coalesce_decide(ZpciFunction *f, unsigned burst, uint64_t interval_usec, uint64_t now_usec);

/* Decision plus the window timer on the manager's loop; at the window's end
 * the summary is written through pipeline_emit_summary(). Returns true when
 * @e is to be written out. */
bool coalesce_admit(Manager *m, ZpciFunction *f, const ZpciEvent *e);

/* Flush a pending summary now and free the window timer (the function is
 * going away, or the daemon stops). */
void coalesce_flush(Manager *m, ZpciFunction *f);
