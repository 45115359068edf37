/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pipeline on its own: real dedup and coalescer, recording sinks and a
 * recording decider in place of the journal, history, bus and policy.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/time-util.h"
#include "daemon/pipeline.h"

#define MAX_CALLS 64

typedef struct Call {
	char who[16];
	ZpciFunction *f;
	ZpciEvent e;
	bool emit;
	uint64_t errors; /* f->counters.errors at the time of the call */
	int depth;       /* calls in progress when this one began */
} Call;

typedef struct Trace {
	Call calls[MAX_CALLS];
	size_t n;
	int depth, max_depth;
} Trace;

typedef struct TestSink {
	Trace *trace;
	const char *name;
} TestSink;

/* What the decider does for the event it is given. */
typedef enum DeciderPlan {
	PLAN_NOTHING,
	PLAN_HOLD,         /* defer one "held" action per event */
	PLAN_SUBMIT,       /* call pipeline_submit() with an action from inside */
	PLAN_FOLLOW_CHAIN, /* an error defers a recovery, which defers a dropped notice */
	PLAN_VANISH,       /* defer an action, then the function goes away */
} DeciderPlan;

typedef struct Decider {
	Trace *trace;
	DeciderPlan plan;
	int submit_result;
	ZpciFunction *vanishing; /* PLAN_VANISH: the test's reference, dropped by the decider */
} Decider;

static void trace_add(Trace *t, const char *who, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	Call *c;

	ck_assert_uint_lt(t->n, MAX_CALLS);
	c = &t->calls[t->n++];
	(void)snprintf(c->who, sizeof(c->who), "%s", who);
	c->f = f;
	c->e = *e;
	c->emit = emit;
	c->errors = f ? f->counters.errors : 0;
	c->depth = t->depth;
}

static void sink_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	TestSink *s = userdata;

	s->trace->depth++;
	if (s->trace->depth > s->trace->max_depth)
		s->trace->max_depth = s->trace->depth;
	trace_add(s->trace, s->name, f, e, emit);
	s->trace->depth--;
}

static const PipelineSinkVtable store_vtable = { "store", PIPELINE_SINK_STORE, false, sink_event };
static const PipelineSinkVtable journal_vtable = { "journal", PIPELINE_SINK_JOURNAL, true, sink_event };
static const PipelineSinkVtable observe_vtable = { "observe", PIPELINE_SINK_OBSERVE, true, sink_event };
static const PipelineSinkVtable counter_vtable = { "counter", PIPELINE_SINK_OBSERVE, false, sink_event };

static void decide(void *userdata, Pipeline *p, ZpciFunction *f, const ZpciEvent *e)
{
	Decider *d = userdata;
	ZpciEvent follow = { .sources = EVENT_SOURCE_DAEMON };

	d->trace->depth++;
	if (d->trace->depth > d->trace->max_depth)
		d->trace->max_depth = d->trace->depth;
	trace_add(d->trace, "decide", f, e, true);

	switch (d->plan) {
	case PLAN_HOLD:
		follow.kind = EVENT_ACTION;
		(void)snprintf(follow.action, sizeof(follow.action), "reset");
		(void)snprintf(follow.result, sizeof(follow.result), "postponed");
		ck_assert_int_eq(pipeline_defer(p, f, &follow), 0);
		break;
	case PLAN_SUBMIT:
		follow.kind = EVENT_ACTION;
		(void)snprintf(follow.action, sizeof(follow.action), "alert");
		(void)snprintf(follow.result, sizeof(follow.result), "not-supported");
		d->submit_result = pipeline_submit(p, f, &follow);
		break;
	case PLAN_FOLLOW_CHAIN:
		if (e->kind == EVENT_ERROR) {
			follow.kind = EVENT_RECOVERY;
			follow.recovery = RECOVERY_BEGIN;
			ck_assert_int_eq(pipeline_defer(p, f, &follow), 0);
		} else if (e->kind == EVENT_RECOVERY) {
			follow.kind = EVENT_DROPPED;
			follow.count = 2;
			follow.has = EVENT_HAS_COUNT;
			ck_assert_int_eq(pipeline_defer(p, f, &follow), 0);
		}
		break;
	case PLAN_VANISH:
		follow.kind = EVENT_ACTION;
		(void)snprintf(follow.action, sizeof(follow.action), "unbind");
		(void)snprintf(follow.result, sizeof(follow.result), "postponed");
		ck_assert_int_eq(pipeline_defer(p, f, &follow), 0);
		/* the queue holds a reference of its own */
		ck_assert_uint_eq(f->n_ref, 2);
		/* the registry drops the function before the follow-up runs */
		pipeline_forget_function(p, f);
		(void)function_apply_input(f, FUNCTION_INPUT_REMOVED, NULL);
		d->vanishing = function_unref(d->vanishing);
		break;
	default:
		break;
	}
	d->trace->depth--;
}

/* Which functions zpcid "drains" in these tests. */
static const ZpciFunction *drained_function;
static bool drains_all;
static uint64_t drains_since = 1; /* what test_drains() says of a drained function */

static uint64_t test_drains(const ZpciFunction *f)
{
	return drains_all || f == drained_function ? drains_since : 0;
}

typedef struct Fixture {
	struct event_base *base;
	Pipeline *p;
	ZpciFunction *f;
	Trace trace;
	TestSink store, journal, observe, counter;
	Decider decider;
} Fixture;

static ZpciFunction *new_function(uint32_t fid, const char *slot)
{
	ZpciAttrs a = { .fid = fid, .has = ZPCI_ATTR_HAS_PCHID, .pchid = 0x1a0 };
	ZpciFunction *f = NULL;

	(void)snprintf(a.slot, sizeof(a.slot), "%s", slot);
	ck_assert_int_eq(function_new(&f, NULL, &a, NULL), 0);
	return f;
}

/* Sinks added out of order on purpose: the order of the stages is the pipeline's. */
static void fixture_init(Fixture *x)
{
	*x = (Fixture){};
	drained_function = NULL;
	drains_all = false;
	drains_since = 1;
	x->base = event_base_new();
	ck_assert_ptr_nonnull(x->base);
	ck_assert_int_eq(pipeline_new(&x->p, x->base, NULL), 0);
	x->store = (TestSink){ &x->trace, "store" };
	x->journal = (TestSink){ &x->trace, "journal" };
	x->observe = (TestSink){ &x->trace, "observe" };
	x->counter = (TestSink){ &x->trace, "counter" };
	x->decider = (Decider){ .trace = &x->trace };
	ck_assert_int_eq(pipeline_add_sink(x->p, &observe_vtable, &x->observe), 0);
	ck_assert_int_eq(pipeline_add_sink(x->p, &journal_vtable, &x->journal), 0);
	ck_assert_int_eq(pipeline_add_sink(x->p, &counter_vtable, &x->counter), 0);
	ck_assert_int_eq(pipeline_add_sink(x->p, &store_vtable, &x->store), 0);
	pipeline_set_decider(x->p, decide, &x->decider);
	x->f = new_function(0x21, "0001:00:00.0");
}

static void fixture_done(Fixture *x)
{
	pipeline_forget_function(x->p, x->f);
	x->p = pipeline_free(x->p);
	x->f = function_unref(x->f);
	event_base_free(x->base);
}

static ZpciEvent error_from(unsigned sources, uint16_t pec)
{
	ZpciEvent e = { .kind = EVENT_ERROR, .sources = sources, .pec = pec, .has = EVENT_HAS_PEC };

	return e;
}

static const char *who(const Fixture *x, size_t i)
{
	ck_assert_uint_lt(i, x->trace.n);
	return x->trace.calls[i].who;
}

START_TEST(test_stage_order)
{
	Fixture x;
	ZpciEvent e = error_from(EVENT_SOURCE_KMSG, 0x12); /* recoverable */

	fixture_init(&x);
	pipeline_set_next_seq(x.p, 41);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);

	/* store, journal, (the function), observers as added, the decider */
	ck_assert_uint_eq(x.trace.n, 5);
	ck_assert_str_eq(who(&x, 0), "store");
	ck_assert_str_eq(who(&x, 1), "journal");
	ck_assert_str_eq(who(&x, 2), "observe");
	ck_assert_str_eq(who(&x, 3), "counter");
	ck_assert_str_eq(who(&x, 4), "decide");
	/* the function is updated after the journal, before the observers */
	ck_assert_uint_eq(x.trace.calls[1].errors, 0);
	ck_assert_uint_eq(x.trace.calls[2].errors, 1);
	for (size_t i = 0; i < x.trace.n; i++) {
		ck_assert_ptr_eq(x.trace.calls[i].f, x.f);
		ck_assert(x.trace.calls[i].emit);
	}

	/* sequence number, time, identity and message filled in */
	ck_assert_uint_eq(e.seq, 41);
	ck_assert_uint_eq(pipeline_next_seq(x.p), 42);
	ck_assert_uint_gt(e.time_usec, 0);
	ck_assert_uint_gt(e.monotonic_usec, 0);
	ck_assert_uint_eq(e.fid, 0x21);
	ck_assert_str_eq(e.slot, "0001:00:00.0");
	ck_assert(e.has & EVENT_HAS_PCHID);
	ck_assert_ptr_nonnull(strstr(e.message, "reported error 0x0012"));
	ck_assert_uint_eq(x.trace.calls[0].e.seq, 41);
	ck_assert_uint_eq(x.f->state, FUNCTION_STATE_ERROR);
	ck_assert(x.f->has_last_error);

	/* a daemon-wide event: every sink, no function, no decider */
	x.trace.n = 0;
	{
		ZpciEvent d = { .kind = EVENT_DROPPED, .count = 3, .has = EVENT_HAS_COUNT };

		ck_assert_int_eq(pipeline_submit(x.p, NULL, &d), 1);
		ck_assert_uint_eq(d.seq, 42);
		ck_assert_uint_eq(d.sources, EVENT_SOURCE_DAEMON);
	}
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_ptr_null(x.trace.calls[0].f);

	/* a removed sink is not called again */
	ck_assert_int_eq(pipeline_remove_sink(x.p, &journal_vtable, &x.journal), 0);
	ck_assert_int_eq(pipeline_remove_sink(x.p, &journal_vtable, &x.journal), -ENOENT);
	x.trace.n = 0;
	e = error_from(EVENT_SOURCE_KMSG, 0x3b);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_str_eq(who(&x, 0), "store");
	ck_assert_str_eq(who(&x, 1), "observe");
	fixture_done(&x);
}
END_TEST

START_TEST(test_drain_after_kmsg_upgrades)
{
	Fixture x;
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a), v = error_from(EVENT_SOURCE_VFIO, 0x3a);
	ZpciCcdf c = { .fid = 0x21, .pec = 0x3a, .faddr = 0x1000 };

	fixture_init(&x);
	/* a function zpcid drains, the kernel-log record not held (as when
	 * the drained record comes after the grace) */
	drained_function = x.f;
	pipeline_set_drains(x.p, test_drains);
	pipeline_set_hold(x.p, 0);
	event_set_ccdf(&v, &c);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 1);
	x.trace.n = 0;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);

	/* recorded and shown, marked as the full record of the first... */
	ck_assert_uint_eq(v.seq, k.seq + 1);
	ck_assert_uint_eq(v.same_as, k.seq);
	ck_assert_uint_eq(v.sources, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG);
	ck_assert_ptr_null(strstr(v.message, "reported error"));
	ck_assert_ptr_nonnull(strstr(v.message, "full record of error 0x003a"));
	/* ... to every sink, but not to the decider: the error was decided on once */
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_str_eq(who(&x, 3), "counter");
	ck_assert(x.trace.calls[1].emit);
	/* counted once; the last error is the full record */
	ck_assert_uint_eq(x.f->counters.errors, 1);
	ck_assert(x.f->last_error.has & EVENT_HAS_CCDF);
	ck_assert_uint_eq(x.f->last_error.faddr, 0x1000);

	/* the other way round: the kernel-log line adds nothing */
	x.trace.n = 0;
	v = error_from(EVENT_SOURCE_VFIO, 0x12);
	k = error_from(EVENT_SOURCE_KMSG, 0x12);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);
	ck_assert_uint_eq(x.trace.n, 5);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 0);
	ck_assert_uint_eq(x.trace.n, 5);
	ck_assert_uint_eq(k.seq, 0);
	ck_assert_uint_eq(x.f->counters.errors, 2);
	fixture_done(&x);
}
END_TEST

START_TEST(test_defer_runs_after_without_reentry)
{
	Fixture x;
	ZpciEvent e = error_from(EVENT_SOURCE_KMSG, 0x3a);

	fixture_init(&x);
	x.decider.plan = PLAN_HOLD;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);

	/* the error through every stage, then the held action through every
	 * sink (an action is not decided on), nothing nested */
	ck_assert_uint_eq(x.trace.n, 9);
	ck_assert_str_eq(who(&x, 4), "decide");
	ck_assert_int_eq(x.trace.calls[4].e.kind, EVENT_ERROR);
	for (size_t i = 5; i < 9; i++) {
		ck_assert_int_eq(x.trace.calls[i].e.kind, EVENT_ACTION);
		ck_assert_str_eq(x.trace.calls[i].e.result, "postponed");
		ck_assert_uint_eq(x.trace.calls[i].e.seq, e.seq + 1);
		ck_assert_ptr_eq(x.trace.calls[i].f, x.f);
	}
	ck_assert_str_eq(who(&x, 5), "store");
	ck_assert_int_eq(x.trace.max_depth, 1);
	ck_assert_uint_eq(x.f->counters.actions, 1);
	ck_assert_uint_eq(x.f->n_ref, 1);

	/* pipeline_submit() from within is deferred as well */
	x.trace = (Trace){};
	x.decider.plan = PLAN_SUBMIT;
	x.decider.submit_result = -1;
	e = error_from(EVENT_SOURCE_KMSG, 0x3b);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);
	ck_assert_int_eq(x.decider.submit_result, 0);
	ck_assert_uint_eq(x.trace.n, 9);
	ck_assert_str_eq(x.trace.calls[8].e.action, "alert");
	ck_assert_int_eq(x.trace.max_depth, 1);

	/* follow-ups of follow-ups: one after the other, in order */
	x.trace = (Trace){};
	x.decider.plan = PLAN_FOLLOW_CHAIN;
	e = error_from(EVENT_SOURCE_KMSG, 0x3c);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);
	ck_assert_uint_eq(x.trace.n, 15);
	ck_assert_int_eq(x.trace.calls[4].e.kind, EVENT_ERROR);
	ck_assert_int_eq(x.trace.calls[9].e.kind, EVENT_RECOVERY);
	ck_assert_str_eq(who(&x, 9), "decide");
	ck_assert_int_eq(x.trace.calls[14].e.kind, EVENT_DROPPED);
	ck_assert_uint_eq(x.trace.calls[14].e.seq, e.seq + 2);
	ck_assert_int_eq(x.trace.max_depth, 1);

	/* outside of a submission, a deferred event runs at once */
	x.trace = (Trace){};
	x.decider.plan = PLAN_NOTHING;
	{
		ZpciEvent a = { .kind = EVENT_ACTION, .action = "reset", .result = "done" };

		ck_assert_int_eq(pipeline_defer(x.p, x.f, &a), 0);
		ck_assert_uint_eq(a.seq, 0); /* a copy was recorded */
	}
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_uint_eq(x.trace.calls[0].e.fid, 0x21);
	ck_assert_uint_eq(x.f->counters.resets, 1);
	fixture_done(&x);
}
END_TEST

START_TEST(test_deferred_event_of_vanished_function)
{
	Fixture x;
	ZpciFunction *g = new_function(0x33, "0002:00:00.0");
	ZpciEvent e = error_from(EVENT_SOURCE_KMSG, 0x3a);

	fixture_init(&x);
	x.decider.plan = PLAN_VANISH;
	x.decider.vanishing = g; /* the only reference but the queue's */
	ck_assert_int_eq(pipeline_submit(x.p, g, &e), 1);

	/* the follow-up is recorded with the function's identity, without the function */
	ck_assert_uint_eq(x.trace.n, 9);
	ck_assert_ptr_null(x.decider.vanishing);
	for (size_t i = 5; i < 9; i++) {
		ck_assert_int_eq(x.trace.calls[i].e.kind, EVENT_ACTION);
		ck_assert_ptr_null(x.trace.calls[i].f);
		ck_assert_uint_eq(x.trace.calls[i].e.fid, 0x33);
		ck_assert_str_eq(x.trace.calls[i].e.slot, "0002:00:00.0");
	}
	/* (the queue's reference was the last: valgrind sees it freed) */
	fixture_done(&x);
}
END_TEST

START_TEST(test_coalesced_and_summary)
{
	Fixture x;
	size_t emitted = 0, coalesced = 0;

	fixture_init(&x);
	pipeline_set_coalesce(x.p, 2, 3600 * USEC_PER_SEC);
	for (int i = 0; i < 5; i++) {
		ZpciEvent e = error_from(EVENT_SOURCE_KMSG, 0x3a);

		e.monotonic_usec = 1000 + (uint64_t)i;
		ck_assert_int_eq(pipeline_submit(x.p, x.f, &e), 1);
	}
	for (size_t i = 0; i < x.trace.n; i++)
		if (streq(x.trace.calls[i].who, "journal"))
			x.trace.calls[i].emit ? emitted++ : coalesced++;
	ck_assert_uint_eq(emitted, 2);
	ck_assert_uint_eq(coalesced, 3);
	ck_assert_uint_eq(x.f->counters.coalesced, 3);
	ck_assert_uint_eq(x.f->counters.errors, 5);
	/* a coalesced event still reaches every sink (the store keeps it) */
	ck_assert_uint_eq(x.trace.n, 25);

	/* the function goes: the summary, to the sinks that take summaries only */
	x.trace.n = 0;
	pipeline_forget_function(x.p, x.f);
	ck_assert_uint_eq(x.trace.n, 2);
	ck_assert_str_eq(who(&x, 0), "journal");
	ck_assert_str_eq(who(&x, 1), "observe");
	ck_assert_int_eq(x.trace.calls[0].e.kind, EVENT_SUMMARY);
	ck_assert_uint_eq(x.trace.calls[0].e.count, 3);
	ck_assert_uint_eq(x.trace.calls[0].e.seq, 0);
	ck_assert_uint_eq(x.trace.calls[0].e.fid, 0x21);
	ck_assert(x.trace.calls[0].emit);
	ck_assert_uint_eq(pipeline_next_seq(x.p), 6);
	fixture_done(&x);
}
END_TEST

START_TEST(test_decider_kinds)
{
	Fixture x;
	ZpciEvent events[] = {
		{ .kind = EVENT_ERROR, .pec = 0x3a, .has = EVENT_HAS_PEC, .sources = EVENT_SOURCE_UEVENT },
		{ .kind = EVENT_DROPPED, .count = 1, .has = EVENT_HAS_COUNT },
		{ .kind = EVENT_RECOVERY, .recovery = RECOVERY_BEGIN },
		{ .kind = EVENT_ACTION, .action = "reset", .result = "done" },
	};
	size_t decided = 0;

	fixture_init(&x);
	for (size_t i = 0; i < ELEMENTSOF(events); i++)
		ck_assert_int_eq(pipeline_submit(x.p, x.f, &events[i]), 1);
	/* not for a daemon-wide event */
	{
		ZpciEvent d = { .kind = EVENT_ERROR, .pec = 0x3a, .has = EVENT_HAS_PEC };

		ck_assert_int_eq(pipeline_submit(x.p, NULL, &d), 1);
	}
	for (size_t i = 0; i < x.trace.n; i++)
		if (streq(x.trace.calls[i].who, "decide")) {
			ck_assert_int_ne(x.trace.calls[i].e.kind, EVENT_ACTION);
			ck_assert_ptr_eq(x.trace.calls[i].f, x.f);
			decided++;
		}
	ck_assert_uint_eq(decided, 3);
	fixture_done(&x);
}
END_TEST

static size_t count_who(const Fixture *x, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < x->trace.n; i++)
		n += streq(x->trace.calls[i].who, name);
	return n;
}

/* Run the loop until nothing is held, for at most 30 s. */
static void wait_until_released(Fixture *x)
{
	uint64_t limit = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;

	while (pipeline_n_held(x->p) > 0) {
		ck_assert_uint_lt(now_usec(CLOCK_MONOTONIC), limit);
		ck_assert_int_ge(event_base_loop(x->base, EVLOOP_ONCE), 0);
	}
}

START_TEST(test_held_kmsg_completed_by_drain)
{
	Fixture x;
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a), v = error_from(EVENT_SOURCE_VFIO, 0x3a);
	ZpciCcdf c = { .fid = 0x21, .pec = 0x3a, .faddr = 0x1000 };

	fixture_init(&x);
	drained_function = x.f;
	pipeline_set_drains(x.p, test_drains);
	event_set_ccdf(&v, &c);
	/* held back: nothing recorded yet, and the function keeps a reference */
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 0);
	ck_assert_uint_eq(x.trace.n, 0);
	ck_assert_uint_eq(pipeline_n_held(x.p), 1);
	ck_assert_uint_eq(x.f->n_ref, 2);
	/* the drained record within the grace: recorded once, from both sources */
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	ck_assert_uint_eq(x.f->n_ref, 1);
	ck_assert_uint_eq(v.seq, 1);
	ck_assert_uint_eq(v.same_as, 0);
	ck_assert_uint_eq(v.sources, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG);
	ck_assert_ptr_nonnull(strstr(v.message, "reported error 0x003a"));
	ck_assert_uint_eq(x.trace.n, 5);
	ck_assert_uint_eq(count_who(&x, "decide"), 1);
	ck_assert_uint_eq(x.f->counters.errors, 1);
	ck_assert_uint_eq(pipeline_next_seq(x.p), 2);
	/* a later kernel line of the same error is one of its own (nothing left to pair with) */
	drained_function = NULL;
	k = error_from(EVENT_SOURCE_KMSG, 0x3a);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 1);
	fixture_done(&x);
}
END_TEST

START_TEST(test_held_kmsg_released_at_grace_end)
{
	Fixture x;
	uint64_t kernel_time = now_usec(CLOCK_MONOTONIC) - 2000;
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x2a), v = error_from(EVENT_SOURCE_VFIO, 0x2a);

	fixture_init(&x);
	drained_function = x.f;
	pipeline_set_drains(x.p, test_drains);
	k.monotonic_usec = kernel_time;
	k.time_usec = 1234567;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 0);
	ck_assert_uint_eq(pipeline_n_held(x.p), 1);
	/* a record of another function in the meantime is not held up */
	{
		ZpciEvent d = { .kind = EVENT_DROPPED, .count = 1, .has = EVENT_HAS_COUNT };

		ck_assert_int_eq(pipeline_submit(x.p, NULL, &d), 1);
		ck_assert_uint_eq(d.seq, 1);
	}
	x.trace.n = 0;
	wait_until_released(&x);
	/* recorded by itself as the grace ended, with the kernel's time, decided on */
	ck_assert_uint_eq(x.trace.n, 5);
	ck_assert_ptr_eq(x.trace.calls[0].f, x.f);
	ck_assert_uint_eq(x.trace.calls[0].e.seq, 2);
	ck_assert_uint_eq(x.trace.calls[0].e.sources, EVENT_SOURCE_KMSG);
	ck_assert_uint_eq(x.trace.calls[0].e.monotonic_usec, kernel_time);
	ck_assert_uint_eq(x.trace.calls[0].e.time_usec, 1234567);
	ck_assert_str_eq(x.trace.calls[0].e.slot, "0001:00:00.0");
	ck_assert_uint_eq(count_who(&x, "decide"), 1);
	ck_assert_uint_eq(x.f->n_ref, 1);
	/* the drained record after the grace: the rare upgrade */
	x.trace.n = 0;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);
	ck_assert_uint_eq(v.same_as, 2);
	ck_assert_uint_eq(count_who(&x, "decide"), 0);
	fixture_done(&x);
}
END_TEST

typedef struct HeldWatch {
	Fixture *x;
	unsigned calls;
	size_t recorded_at_call; /* store calls seen when the watch was called */
	uint64_t oldest_at_call;
} HeldWatch;

static void on_held_resolved(void *userdata)
{
	HeldWatch *w = userdata;

	w->calls++;
	w->recorded_at_call = count_who(w->x, "store");
	w->oldest_at_call = pipeline_oldest_held_tag(w->x->p, NULL);
}

/* A source that tags its records learns the oldest one still held, and is
 * told when held records are resolved: after what they became is stored. */
START_TEST(test_held_tags_and_watch)
{
	Fixture x;
	HeldWatch w = { .x = &x };
	ZpciFunction *g = new_function(0x22, "0002:00:00.0");
	ZpciEvent k1 = error_from(EVENT_SOURCE_KMSG, 0x2a), k2 = error_from(EVENT_SOURCE_KMSG, 0x3a),
		  k3 = error_from(EVENT_SOURCE_KMSG, 0x2b), v2 = error_from(EVENT_SOURCE_VFIO, 0x3a),
		  d = error_from(EVENT_SOURCE_KMSG, 0x2c);
	uint64_t next_seq = 0;

	fixture_init(&x);
	drains_all = true;
	pipeline_set_drains(x.p, test_drains);
	pipeline_set_held_watch(x.p, on_held_resolved, &w);
	ck_assert_uint_eq(pipeline_oldest_held_tag(x.p, &next_seq), 0);
	ck_assert_uint_eq(next_seq, 0);

	/* a record that is not held leaves no tag behind */
	drains_all = false;
	ck_assert_int_eq(pipeline_submit_tagged(x.p, x.f, &d, 5), 1);
	ck_assert_uint_eq(pipeline_oldest_held_tag(x.p, NULL), 0);
	drains_all = true;

	ck_assert_int_eq(pipeline_submit_tagged(x.p, x.f, &k1, 10), 0);
	ck_assert_int_eq(pipeline_submit_tagged(x.p, x.f, &k2, 12), 0);
	ck_assert_int_eq(pipeline_submit_tagged(x.p, g, &k3, 14), 0);
	ck_assert_uint_eq(pipeline_n_held(x.p), 3);
	ck_assert_uint_eq(pipeline_oldest_held_tag(x.p, &next_seq), 10);
	/* whatever 10 becomes is recorded as 2 or later */
	ck_assert_uint_eq(next_seq, 2);
	ck_assert_uint_eq(w.calls, 0);

	/* 12 merged into its drained record: the watch is told, 10 still held */
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v2), 1);
	ck_assert_uint_eq(v2.sources, EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG);
	ck_assert_uint_eq(w.calls, 1);
	ck_assert_uint_eq(w.recorded_at_call, 2);
	ck_assert_uint_eq(w.oldest_at_call, 10);

	/* 14's function goes: recorded without it, before the watch hears of it */
	pipeline_forget_function(x.p, g);
	ck_assert_uint_eq(w.calls, 2);
	ck_assert_uint_eq(w.recorded_at_call, 3);
	ck_assert_uint_eq(w.oldest_at_call, 10);

	/* 10's grace ends: recorded alone, then nothing is held */
	wait_until_released(&x);
	ck_assert_uint_eq(w.calls, 3);
	ck_assert_uint_eq(w.recorded_at_call, 4);
	ck_assert_uint_eq(w.oldest_at_call, 0);
	ck_assert_uint_eq(pipeline_oldest_held_tag(x.p, &next_seq), 0);

	/* held and released before zpcid exits: told as well */
	k1 = error_from(EVENT_SOURCE_KMSG, 0x2a);
	ck_assert_int_eq(pipeline_submit_tagged(x.p, x.f, &k1, 20), 0);
	ck_assert_uint_eq(pipeline_oldest_held_tag(x.p, NULL), 20);
	pipeline_release_held(x.p);
	ck_assert_uint_eq(w.calls, 4);
	ck_assert_uint_eq(w.oldest_at_call, 0);

	(void)function_apply_input(g, FUNCTION_INPUT_REMOVED, NULL);
	g = function_unref(g);
	drains_all = false;
	fixture_done(&x);
}
END_TEST

START_TEST(test_drained_first_then_kmsg_dropped)
{
	Fixture x;
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a), v = error_from(EVENT_SOURCE_VFIO, 0x3a);

	fixture_init(&x);
	drained_function = x.f;
	pipeline_set_drains(x.p, test_drains);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);
	x.trace.n = 0;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 0);
	ck_assert_uint_eq(x.trace.n, 0);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	fixture_done(&x);
}
END_TEST

START_TEST(test_observed_kmsg_not_held)
{
	Fixture x;
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a);

	fixture_init(&x);
	drained_function = NULL;
	pipeline_set_drains(x.p, test_drains);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 1);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	ck_assert_uint_eq(x.trace.n, 5);
	/* nor with a grace of 0 */
	drained_function = x.f;
	pipeline_set_hold(x.p, 0);
	k = error_from(EVENT_SOURCE_KMSG, 0x3b);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 1);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	fixture_done(&x);
}
END_TEST

/* The kernel-log line of an error from before zpcid drains the function (a
 * backlog read at start): no drained record will come for it, so it is
 * recorded at once, and it neither pairs with nor swallows the drained
 * record of a later error with the same PEC. */
START_TEST(test_kmsg_before_drains_not_held)
{
	Fixture x;
	ZpciEvent old = error_from(EVENT_SOURCE_KMSG, 0x5), v = error_from(EVENT_SOURCE_VFIO, 0x5);
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x5), old2 = error_from(EVENT_SOURCE_KMSG, 0x5);

	fixture_init(&x);
	drained_function = x.f;
	drains_since = 50 * USEC_PER_SEC;
	pipeline_set_drains(x.p, test_drains);
	old.monotonic_usec = 48 * USEC_PER_SEC;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &old), 1);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	/* a new error, drained: its own record, not an upgrade of the old line */
	v.monotonic_usec = 51 * USEC_PER_SEC;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &v), 1);
	ck_assert_uint_eq(v.same_as, 0);
	ck_assert_uint_eq(v.sources, EVENT_SOURCE_VFIO);
	/* another old line, read after it: still an error of its own */
	old2.monotonic_usec = 49 * USEC_PER_SEC;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &old2), 1);
	/* the new error's own line: its duplicate */
	k.monotonic_usec = 51 * USEC_PER_SEC - 300;
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k), 0);
	ck_assert_uint_eq(pipeline_next_seq(x.p), 4);
	fixture_done(&x);
}
END_TEST

START_TEST(test_held_kmsg_of_vanishing_function_and_at_exit)
{
	Fixture x;
	ZpciFunction *g = new_function(0x22, "0002:00:00.0");
	ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a), k2 = error_from(EVENT_SOURCE_KMSG, 0x3a);

	fixture_init(&x);
	drains_all = true;
	pipeline_set_drains(x.p, test_drains);
	ck_assert_int_eq(pipeline_submit(x.p, g, &k), 0);
	ck_assert_int_eq(pipeline_submit(x.p, x.f, &k2), 0);
	ck_assert_uint_eq(pipeline_n_held(x.p), 2);
	/* g goes away: its record is recorded now, without it, not decided on */
	pipeline_forget_function(x.p, g);
	(void)function_apply_input(g, FUNCTION_INPUT_REMOVED, NULL);
	g = function_unref(g);
	ck_assert_uint_eq(pipeline_n_held(x.p), 1);
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_ptr_null(x.trace.calls[0].f);
	ck_assert_uint_eq(x.trace.calls[0].e.fid, 0x22);
	ck_assert_str_eq(x.trace.calls[0].e.slot, "0002:00:00.0");
	/* zpcid exits: the rest is recorded before the sinks go */
	x.trace.n = 0;
	pipeline_release_held(x.p);
	ck_assert_uint_eq(pipeline_n_held(x.p), 0);
	ck_assert_uint_eq(x.trace.n, 4);
	ck_assert_uint_eq(x.trace.calls[0].e.fid, 0x21);
	ck_assert_uint_eq(x.f->n_ref, 1);
	drains_all = false;
	fixture_done(&x);
}
END_TEST

typedef struct StormCount {
	unsigned recorded, errors, upgrades, both;
} StormCount;

static void storm_event(void *userdata, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	StormCount *c = userdata;

	c->recorded++;
	c->errors += e->kind == EVENT_ERROR;
	c->upgrades += e->same_as != 0;
	c->both += e->sources == (EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG);
}

static const PipelineSinkVtable storm_vtable = { "storm", PIPELINE_SINK_STORE, false, storm_event };

/* 2,000 errors over 64 drained functions; the kernel log 500 records
 * behind the drains, then 500 ahead of them: one record per error. */
START_TEST(test_storm_pairs_every_error)
{
	enum { N = 2000, FUNCTIONS = 64, LAG = 500 };
	Fixture x;
	ZpciFunction *fs[FUNCTIONS];
	StormCount c = {};
	uint64_t t0 = now_usec(CLOCK_MONOTONIC);

	fixture_init(&x);
	for (int lead = 0; lead < 2; lead++) {
		pipeline_free(x.p);
		ck_assert_int_eq(pipeline_new(&x.p, x.base, NULL), 0);
		ck_assert_int_eq(pipeline_add_sink(x.p, &storm_vtable, &c), 0);
		drains_all = true;
		pipeline_set_drains(x.p, test_drains);
		for (int i = 0; i < FUNCTIONS; i++) {
			char slot[16];

			(void)snprintf(slot, sizeof(slot), "%04x:00:00.0", i);
			fs[i] = new_function(0x100 + i, slot);
		}
		c = (StormCount){};
		for (unsigned i = 0; i < N + LAG; i++) {
			/* drained records LAG behind the kernel log (lead) or ahead of it */
			unsigned kj = lead ? i : i - LAG, vj = lead ? i - LAG : i;

			if ((lead ? i >= LAG : true) && vj < N) {
				ZpciEvent v = error_from(EVENT_SOURCE_VFIO, 0x3a + vj % 3);

				v.monotonic_usec = t0 + vj * 100 + 50;
				(void)pipeline_submit(x.p, fs[vj % FUNCTIONS], &v);
			}
			if ((lead ? true : i >= LAG) && kj < N) {
				ZpciEvent k = error_from(EVENT_SOURCE_KMSG, 0x3a + kj % 3);

				k.monotonic_usec = t0 + kj * 100;
				(void)pipeline_submit(x.p, fs[kj % FUNCTIONS], &k);
			}
		}
		ck_assert_uint_eq(pipeline_n_held(x.p), 0);
		ck_assert_uint_eq(c.recorded, N);
		ck_assert_uint_eq(c.errors, N);
		ck_assert_uint_eq(c.upgrades, 0);
		/* drained first: recorded as drained, its kernel line a duplicate */
		ck_assert_uint_eq(c.both, lead ? N : 0);
		for (int i = 0; i < FUNCTIONS; i++) {
			pipeline_forget_function(x.p, fs[i]);
			ck_assert_uint_eq(fs[i]->n_ref, 1);
			fs[i] = function_unref(fs[i]);
		}
	}
	drains_all = false;
	fixture_done(&x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("pipeline");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_stage_order);
	tcase_add_test(tc, test_drain_after_kmsg_upgrades);
	tcase_add_test(tc, test_defer_runs_after_without_reentry);
	tcase_add_test(tc, test_deferred_event_of_vanished_function);
	tcase_add_test(tc, test_coalesced_and_summary);
	tcase_add_test(tc, test_decider_kinds);
	tcase_add_test(tc, test_held_kmsg_completed_by_drain);
	tcase_add_test(tc, test_held_kmsg_released_at_grace_end);
	tcase_add_test(tc, test_held_tags_and_watch);
	tcase_add_test(tc, test_drained_first_then_kmsg_dropped);
	tcase_add_test(tc, test_observed_kmsg_not_held);
	tcase_add_test(tc, test_kmsg_before_drains_not_held);
	tcase_add_test(tc, test_held_kmsg_of_vanishing_function_and_at_exit);
	tcase_add_test(tc, test_storm_pairs_every_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
