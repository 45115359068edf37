/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * coalesce: keeps an error storm out of the journal and off the bus while
 * every event still goes to the history.
 *
 * Per key (the pipeline uses one per function), time is cut into fixed
 * windows of `interval` starting at the first event after a quiet period.
 * The first `burst` events of a window are written out one by one; the rest
 * of the window's events are only counted. When the window ends (a timer on
 * the given libevent base), the summary callback gets exactly the number of
 * events held back, and a new window starts with the next event. Written +
 * summarised always equals the number of events admitted.
 *
 * The coalescer knows nothing of functions, events, the journal or the bus:
 * it decides and counts, and tells its owner when a window with events held
 * back ends. A key is an opaque pointer that must stay valid until it is
 * flushed (coalesce_flush()) or the coalescer is freed.
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/macro.h"

#define COALESCE_DEFAULT_BURST    20
#define COALESCE_DEFAULT_INTERVAL (10 * USEC_PER_SEC)

typedef struct Coalescer Coalescer;

/* The window of @key ended with @suppressed (> 0) events held back; the
 * window was @window_usec long. Called from the loop (the window's timer)
 * or from coalesce_flush(). The key is forgotten before the call. */
typedef void (*CoalesceSummaryFn)(void *userdata, const void *key, uint32_t suppressed,
				  uint64_t window_usec);

/* One key's window, for the pure decision. */
typedef struct CoalesceWindow {
	uint64_t start_usec; /* CLOCK_MONOTONIC of the window's first event */
	uint32_t emitted;    /* events written out in this window */
	uint32_t suppressed; /* events only counted */
} CoalesceWindow;

/* Pure decision for an event at CLOCK_MONOTONIC @now_usec in window @w:
 * returns true when the event is written out, false when it is held back
 * (w->suppressed was incremented). A window with events held back lasts
 * until it is closed (coalesce_window_close()), however late that is. */
bool coalesce_decide(CoalesceWindow *w, unsigned burst, uint64_t interval_usec, uint64_t now_usec);

/* Close window @w: returns the number of events held back in it and makes
 * @w the state of a key that saw no event. */
uint32_t coalesce_window_close(CoalesceWindow *w);

/* Create a coalescer with the default burst and interval whose timers run
 * on @base; @summary (required) is called as above. Returns 0 or -ENOMEM. */
int coalesce_new(Coalescer **ret, struct event_base *base, CoalesceSummaryFn summary, void *userdata);

/* Free without calling the summary callback (flush first to have them).
 * Accepts NULL, returns NULL. */
Coalescer *coalesce_free(Coalescer *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Coalescer *, coalesce_free);

/* Set the burst (> 0) and the interval (> 0 µs); 0 keeps the default. Applies
 * to the next decision; a pending window keeps its timer. */
void coalesce_set_limits(Coalescer *c, unsigned burst, uint64_t interval_usec);

/* Decide for an event of @key at CLOCK_MONOTONIC @now_usec; the first event
 * held back in a window arms the window's timer for its end. Returns true
 * when the event is to be written out, false when it was held back (and
 * will be counted in the window's summary). */
bool coalesce_admit(Coalescer *c, const void *key, uint64_t now_usec);

/* End @key's window now: the summary callback is called when events were
 * held back, and the key is forgotten. Call it before the key goes away. */
void coalesce_flush(Coalescer *c, const void *key);

/* End every window now, as coalesce_flush() for each key. */
void coalesce_flush_all(Coalescer *c);

/* Number of keys with a window the coalescer keeps. */
size_t coalesce_size(const Coalescer *c);
