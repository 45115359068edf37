/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pipeline: where every event of every source goes. One object, owned by
 * the manager; sources hand it records (pipeline_submit()), and it runs
 * them through its stages in this order:
 *
 *   1. de-duplication: the same error seen in the kernel log and drained
 *      from the device is recorded once (daemon/dedup.h). The kernel-log
 *      record of an error of a function zpcid drains (the drains callback
 *      says which) is held back for PIPELINE_HOLD_USEC: when the drained
 *      record comes within it, only the drained record is recorded (sources
 *      "vfio,kmsg"); when not, the kernel-log record is recorded as the
 *      grace ends (one timer, for the oldest held record). A drained record
 *      that comes after its kernel-log record was recorded is recorded as
 *      that error's upgrade (key "same_as": the earlier record's seq);
 *   2. time stamps, the function's identity fields, the sequence number,
 *      the human message;
 *   3. coalescing (daemon/coalesce.h): whether the record is "emitted"
 *      (journal, bus) or only "coalesced" (counted, summarised later);
 *   4. the sinks of order PIPELINE_SINK_STORE (the history): first, so that
 *      an event the journal shows is in the history even if the daemon is
 *      killed right after logging it;
 *   5. the sinks of order PIPELINE_SINK_JOURNAL;
 *   6. the function: function_apply_event() (state, counters, last error);
 *   7. the sinks of order PIPELINE_SINK_OBSERVE (bus, metrics, the action
 *      runner's confirmations, ...), which see the function updated;
 *   8. the decider (the policy and the actions it starts), for events of
 *      a function other than actions, summaries and upgrades, and for
 *      adapter events.
 * Sinks of one order run in the order they were added.
 *
 * Follow-up events — actions the policy decided but holds back, storm
 * summaries, action results — go through one queue (pipeline_defer()): they
 * are copied and run, one after the other, once the event being handled is
 * through all its stages. Nothing re-enters the stages; a follow-up may
 * queue follow-ups of its own, which are handled in the same loop.
 *
 * The pipeline knows no journal, history, bus or policy: they are
 * registered callbacks (daemon/sinks.h has the adapters).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/event.h"
#include "common/log.h"
#include "daemon/function.h"

typedef struct Pipeline Pipeline;

typedef enum PipelineSinkOrder {
	PIPELINE_SINK_STORE,   /* the history */
	PIPELINE_SINK_JOURNAL, /* the journal */
	PIPELINE_SINK_OBSERVE, /* everything that sees the function updated */
	_PIPELINE_SINK_ORDER_MAX,
} PipelineSinkOrder;

typedef struct PipelineSinkVtable {
	const char *name; /* for debug logs */
	PipelineSinkOrder order;
	/* Also called for storm summaries (kind "summary", no seq, not recorded
	 * events: only the journal and the bus want them). */
	bool summaries;
	/* A recorded event @e of function @f (NULL for daemon-wide events and
	 * for events of a function that has gone). @emit: true when the event is
	 * to be shown (journal, bus), false when it was coalesced (kept in the
	 * history and counted only). Must not submit events: follow-ups go
	 * through pipeline_defer(). */
	void (*event)(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit);
} PipelineSinkVtable;

/* The decider: called for every recorded event of a function (not for
 * actions, summaries and upgrades) and every adapter event (no function)
 * after the sinks. Its follow-up events
 * go through pipeline_defer(). */
typedef void (*PipelineDecideFn)(void *userdata, Pipeline *p, ZpciFunction *f, const ZpciEvent *e);

/* Since when zpcid drains the errors of @f (own or delegated, with the
 * zPCI error feature), CLOCK_MONOTONIC µs: the kernel-log records of its
 * errors from then on are worth holding, those of older errors are not
 * (no drained record will come for them). 0 when zpcid does not drain
 * them; 1 when it may drain records of any age (an owner's fd). */
typedef uint64_t (*PipelineDrainsFn)(const ZpciFunction *f);

/* How long a kernel-log record of a function zpcid drains waits for its
 * drained record. The kernel logs the error and queues its record in one
 * go; zpcid drains it on the next turn of its loop, so the drained record
 * comes within milliseconds unless the loop is saturated. */
#define PIPELINE_HOLD_USEC (250 * USEC_PER_MSEC)

/* Create a pipeline whose storm-summary timers run on @base and whose debug
 * messages go to @log. Sequence numbers start at 1. Returns 0 or -ENOMEM. */
int pipeline_new(Pipeline **ret, struct event_base *base, Log *log);

/* Free: pending summaries are dropped (pipeline_flush() first to have them)
 * and the queue is run first. Accepts NULL, returns NULL. */
Pipeline *pipeline_free(Pipeline *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pipeline *, pipeline_free);

/* Register sink @vtable with @userdata. Returns 0 or -ENOMEM. */
int pipeline_add_sink(Pipeline *p, const PipelineSinkVtable *vtable, void *userdata);

/* Unregister the sink added with @vtable and @userdata (before @userdata
 * goes away). Returns 0, or -ENOENT when there was none. */
int pipeline_remove_sink(Pipeline *p, const PipelineSinkVtable *vtable, void *userdata);

/* Set (or with NULL clear) the decider. */
void pipeline_set_decider(Pipeline *p, PipelineDecideFn decide, void *userdata);

/* Storm coalescing limits (daemon/coalesce.h); 0 keeps a default. */
void pipeline_set_coalesce(Pipeline *p, unsigned burst, uint64_t interval_usec);

/* The sequence number the next recorded event gets / set it (after the
 * history said where to go on). */
uint64_t pipeline_next_seq(const Pipeline *p);
void pipeline_set_next_seq(Pipeline *p, uint64_t seq);

/* Submit @e for function @f (NULL for daemon-wide events). Fills in seq,
 * time and the function's identity fields that @e leaves unset, runs it
 * through every stage, then runs the queue of follow-ups. Called from
 * within the pipeline (a sink, the decider), it is pipeline_defer().
 * Returns 1 when recorded, 0 when it was a duplicate of an event already
 * recorded (or was deferred), -errno on failure. */
int pipeline_submit(Pipeline *p, ZpciFunction *f, ZpciEvent *e);

/* The same for a record its source tagged @tag (> 0), e.g. the kernel-log
 * sequence number it was read as: while the record is held,
 * pipeline_oldest_held_tag() is at most @tag. */
int pipeline_submit_tagged(Pipeline *p, ZpciFunction *f, ZpciEvent *e, uint64_t tag);

/* Queue a copy of @e for @f (NULL: daemon-wide), to be run through the
 * stages after the event being handled; outside of pipeline_submit() it is
 * run at once. The queue holds a reference on @f; a function that has gone
 * (state "gone") by the time its event runs is not touched: the event is
 * recorded without it (its identity fields were filled in here).
 * Returns 0 or -ENOMEM (the event is lost and said so in the log). */
int pipeline_defer(Pipeline *p, ZpciFunction *f, const ZpciEvent *e);

/* @f goes away: its held kernel-log records are recorded without it, its
 * storm window ends now (a summary when events were held back). Call it
 * before the registry drops the function. */
void pipeline_forget_function(Pipeline *p, ZpciFunction *f);

/* Set the callback that says which functions zpcid drains (NULL: none,
 * nothing is held). */
void pipeline_set_drains(Pipeline *p, PipelineDrainsFn drains);

/* How long kernel-log records are held (0: not at all). */
void pipeline_set_hold(Pipeline *p, uint64_t hold_usec);

/* Number of kernel-log records held now. */
size_t pipeline_n_held(const Pipeline *p);

/* The lowest tag of the records held now (pipeline_submit_tagged()), 0
 * when none is held. A source that saves where it read up to saves no
 * further than just before it: a record that is held is neither recorded
 * nor merged into a drained record yet, and a kill would lose it.
 * *@ret_next_seq (may be NULL) is pipeline_next_seq() as that record was
 * held: whatever it is resolved into is recorded with that sequence
 * number or a later one. A walk through the held records, no system call. */
uint64_t pipeline_oldest_held_tag(const Pipeline *p, uint64_t *ret_next_seq);

/* Called when held records were resolved (recorded at the end of their
 * grace, merged into their drained record, recorded as their function or
 * zpcid goes), after what they were resolved into is through every stage:
 * pipeline_oldest_held_tag() may have moved on. Not called for records
 * dropped by pipeline_free(). */
typedef void (*PipelineHeldWatchFn)(void *userdata);
void pipeline_set_held_watch(Pipeline *p, PipelineHeldWatchFn watch, void *userdata);

/* Record every held kernel-log record now, without its function (e.g.
 * before zpcid exits, while the sinks are there). */
void pipeline_release_held(Pipeline *p);

/* Record the held records and end every storm window now (summaries),
 * e.g. before the sinks go away. */
void pipeline_flush(Pipeline *p);
