/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/coalesce.h"
#include "daemon/dedup.h"
#include "daemon/pipeline.h"

typedef struct Sink {
	const PipelineSinkVtable *vtable;
	void *userdata;
} Sink;

/* A follow-up event, run after the event being handled. */
typedef struct Deferred {
	struct Deferred *next;
	ZpciFunction *function; /* a reference, or NULL */
	uint64_t tag;           /* pipeline_submit_tagged() */
	ZpciEvent event;
} Deferred;

struct Pipeline {
	Log *log;
	Dedup *dedup;
	Coalescer *coalescer;
	uint64_t next_seq;

	Sink *sinks; /* by order, then as added */
	size_t n_sinks;

	PipelineDecideFn decide;
	void *decide_userdata;

	Deferred *queue_head, *queue_tail;
	bool running; /* an event is in the stages: submissions are deferred */

	/* Kernel-log records of functions zpcid drains, held for their drained
	 * record: one timer, for the oldest. */
	struct event *hold_timer;
	uint64_t hold_usec;
	PipelineDrainsFn drains;
	bool releasing_nested; /* held records are released from within the stages */
	bool held_resolved;    /* since the watch was last called */
	PipelineHeldWatchFn held_watch;
	void *held_watch_userdata;
};

static void on_summary(void *userdata, const void *key, uint32_t suppressed, uint64_t window_usec)
{
	Pipeline *p = ASSERT_PTR(userdata);
	ZpciFunction *f = (ZpciFunction *)key;
	ZpciEvent e = { .kind = EVENT_SUMMARY, .sources = EVENT_SOURCE_DAEMON, .has = EVENT_HAS_COUNT };

	e.count = suppressed;
	(void)snprintf(e.detail, sizeof(e.detail),
		       "%" PRIu32 " event(s) recorded in the history but not logged in the last %llu s",
		       suppressed, (unsigned long long)(window_usec / USEC_PER_SEC));
	e.time_usec = now_usec(CLOCK_REALTIME);
	e.monotonic_usec = now_usec(CLOCK_MONOTONIC);
	(void)pipeline_defer(p, f, &e);
}

static void run_queue(Pipeline *p);
static int record(Pipeline *p, ZpciFunction *f, ZpciEvent *e);

/* Tell the watch that held records were resolved, once everything they
 * were resolved into is through the stages. */
static void notify_held(Pipeline *p)
{
	if (p->running || !p->held_resolved)
		return;
	p->held_resolved = false;
	if (p->held_watch)
		p->held_watch(p->held_watch_userdata);
}

/* A held kernel-log record whose drained record did not come: recorded now,
 * with the kernel's time stamps it came with. */
static uint64_t record_held(void *userdata, ZpciEvent *e, void *held_userdata)
{
	Pipeline *p = ASSERT_PTR(userdata);
	ZpciFunction *f = held_userdata;

	(void)record(p, f && f->state != FUNCTION_STATE_GONE ? f : NULL, e);
	function_unref(f);
	return e->seq;
}

/* The same without the function (it goes away, or zpcid does). From
 * within the stages it is queued as a follow-up (no sequence number to pair
 * a later drained record with: the function's drains have ended). */
static uint64_t record_held_alone(void *userdata, ZpciEvent *e, void *held_userdata)
{
	Pipeline *p = ASSERT_PTR(userdata);

	function_unref(held_userdata);
	if (p->releasing_nested) {
		(void)pipeline_defer(p, NULL, e);
		return 0;
	}
	(void)record(p, NULL, e);
	return e->seq;
}

static uint64_t drop_held(void *userdata, ZpciEvent *e, void *held_userdata)
{
	Pipeline *p = ASSERT_PTR(userdata);

	log_warning(p->log, "Error 0x%04x of function 0x%08x held back at exit and not recorded.", e->pec,
		    e->fid);
	function_unref(held_userdata);
	return 0;
}

static void hold_timer_arm(Pipeline *p)
{
	uint64_t deadline = dedup_next_deadline(p->dedup), now;
	struct timeval tv;

	/* (re)armed for the oldest, which may be earlier than what it was
	 * armed for: the grace may have been shortened since */
	if (deadline == 0)
		return;
	now = now_usec(CLOCK_MONOTONIC);
	deadline = deadline > now ? deadline - now : 0;
	tv = (struct timeval){ .tv_sec = deadline / USEC_PER_SEC, .tv_usec = deadline % USEC_PER_SEC };
	(void)evtimer_add(p->hold_timer, &tv);
}

/* Release what is held through @fn, then run the follow-ups. */
static size_t release(Pipeline *p, uint64_t now, const void *only, DedupReleaseFn fn)
{
	bool running = p->running;
	size_t n;

	p->running = true;
	p->releasing_nested = running;
	n = only ? dedup_release_userdata(p->dedup, only, fn, p) : dedup_release(p->dedup, now, fn, p);
	if (n > 0)
		p->held_resolved = true;
	if (!running) {
		run_queue(p);
		p->running = false;
		notify_held(p);
	}
	return n;
}

static void on_hold_timer(evutil_socket_t fd, short what, void *userdata)
{
	Pipeline *p = ASSERT_PTR(userdata);
	size_t n = release(p, now_usec(CLOCK_MONOTONIC), NULL, record_held);

	if (n > 0)
		log_debug(p->log, "%zu kernel log record(s) recorded without a drained record.", n);
	hold_timer_arm(p);
}

int pipeline_new(Pipeline **ret, struct event_base *base, Log *log)
{
	_cleanup_(pipeline_freep) Pipeline *p = NULL;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->log = log;
	p->next_seq = 1; /* 0 means "no sequence number" */
	r = dedup_new(&p->dedup);
	if (r < 0)
		return r;
	r = coalesce_new(&p->coalescer, base, on_summary, p);
	if (r < 0)
		return r;
	p->hold_usec = PIPELINE_HOLD_USEC;
	p->hold_timer = evtimer_new(base, on_hold_timer, p);
	if (!p->hold_timer)
		return -ENOMEM;
	*ret = TAKE_PTR(p);
	return 0;
}

Pipeline *pipeline_free(Pipeline *p)
{
	if (!p)
		return NULL;
	run_queue(p); /* empty unless freed from within a stage */
	/* held records are recorded by pipeline_release_held() before; what is
	 * still held now has no sink left to go to */
	if (p->dedup)
		(void)dedup_release(p->dedup, UINT64_MAX, drop_held, p);
	if (p->hold_timer)
		event_free(p->hold_timer);
	p->coalescer = coalesce_free(p->coalescer);
	p->dedup = dedup_free(p->dedup);
	free(p->sinks);
	free(p);
	return NULL;
}

int pipeline_add_sink(Pipeline *p, const PipelineSinkVtable *vtable, void *userdata)
{
	Sink *s;
	size_t i;

	assert(vtable && vtable->event && vtable->order < _PIPELINE_SINK_ORDER_MAX);
	s = reallocarray(p->sinks, p->n_sinks + 1, sizeof(Sink));
	if (!s)
		return -ENOMEM;
	p->sinks = s;
	/* after every sink of the same or an earlier order */
	for (i = p->n_sinks; i > 0 && s[i - 1].vtable->order > vtable->order; i--)
		s[i] = s[i - 1];
	s[i] = (Sink){ vtable, userdata };
	p->n_sinks++;
	return 0;
}

int pipeline_remove_sink(Pipeline *p, const PipelineSinkVtable *vtable, void *userdata)
{
	if (!p)
		return -ENOENT;
	for (size_t i = 0; i < p->n_sinks; i++)
		if (p->sinks[i].vtable == vtable && p->sinks[i].userdata == userdata) {
			memmove(&p->sinks[i], &p->sinks[i + 1], (p->n_sinks - i - 1) * sizeof(Sink));
			p->n_sinks--;
			return 0;
		}
	return -ENOENT;
}

void pipeline_set_decider(Pipeline *p, PipelineDecideFn decide, void *userdata)
{
	p->decide = decide;
	p->decide_userdata = userdata;
}

void pipeline_set_coalesce(Pipeline *p, unsigned burst, uint64_t interval_usec)
{
	coalesce_set_limits(p->coalescer, burst, interval_usec);
}

uint64_t pipeline_next_seq(const Pipeline *p)
{
	return p->next_seq;
}

void pipeline_set_next_seq(Pipeline *p, uint64_t seq)
{
	p->next_seq = seq > 0 ? seq : 1;
}

/* The sinks of @order, in the order they were added. */
static void run_sinks(Pipeline *p, PipelineSinkOrder order, ZpciFunction *f, const ZpciEvent *e, bool emit)
{
	for (size_t i = 0; i < p->n_sinks; i++) {
		const Sink *s = &p->sinks[i];

		if (s->vtable->order != order || (e->kind == EVENT_SUMMARY && !s->vtable->summaries))
			continue;
		s->vtable->event(s->userdata, f, e, emit);
	}
}

/* A storm summary: not an event of its own (no sequence number, not in the
 * history), shown where the events it stands for were not. */
static void run_summary(Pipeline *p, ZpciFunction *f, ZpciEvent *e)
{
	event_format_message(e);
	for (PipelineSinkOrder o = 0; o < _PIPELINE_SINK_ORDER_MAX; o++)
		run_sinks(p, o, f, e, true);
}

/* Every stage for one event. Returns 1 when recorded, 0 when a duplicate. */
static int run_stages(Pipeline *p, ZpciFunction *f, ZpciEvent *e, uint64_t tag)
{
	if (e->time_usec == 0)
		e->time_usec = now_usec(CLOCK_REALTIME);
	if (e->monotonic_usec == 0)
		e->monotonic_usec = now_usec(CLOCK_MONOTONIC);
	if (f)
		function_fill_event(f, e);
	if (e->kind == EVENT_SUMMARY) {
		run_summary(p, f, e);
		return 0;
	}
	if (e->sources == 0)
		e->sources = EVENT_SOURCE_DAEMON;

	/* The same error from the kernel log and from a drain is recorded once:
	 * the kernel-log record of a function zpcid drains waits a little for
	 * its drained record; a drain after the kernel-log record was recorded
	 * completes it as an upgrade. */
	if (e->kind == EVENT_ERROR) {
		uint64_t since = f && p->drains ? p->drains(f) : 0;
		/* an error from before zpcid drains the function has no drained
		 * record to come: the kernel queued it for nobody */
		bool drained = since > 0 && e->monotonic_usec >= since;
		uint64_t earlier = 0, hold_until = 0;
		void *held = NULL;

		if (e->sources == EVENT_SOURCE_KMSG && !drained) {
			/* no drained record will come: a duplicate of one that came
			 * before (the function was drained until just then), or not kept */
			if (dedup_is_duplicate(p->dedup, e, since > 0 ? since : UINT64_MAX)) {
				log_debug(p->log,
					  "Error 0x%04x of function 0x%08x already recorded from another "
					  "source.",
					  e->pec, e->fid);
				return 0;
			}
			return record(p, f, e);
		}
		if (drained && p->hold_usec > 0 && e->sources == EVENT_SOURCE_KMSG)
			hold_until = now_usec(CLOCK_MONOTONIC) + p->hold_usec;
		switch (dedup_check_hold_tagged(p->dedup, e, p->next_seq, hold_until, f, tag, &earlier,
						&held)) {
		case DEDUP_DUPLICATE:
			log_debug(p->log,
				  "Error 0x%04x of function 0x%08x already recorded from another source.",
				  e->pec, e->fid);
			return 0;
		case DEDUP_HELD:
			(void)function_ref(f); /* dropped when released or completed */
			hold_timer_arm(p);
			return 0;
		case DEDUP_COMPLETES:
			function_unref(held);
			p->held_resolved = true;
			e->sources |= EVENT_SOURCE_KMSG;
			log_debug(p->log,
				  "Error 0x%04x of function 0x%08x already held from another source; "
				  "recording it once, from both.",
				  e->pec, e->fid);
			break;
		case DEDUP_UPGRADE:
			e->same_as = earlier;
			e->sources |= EVENT_SOURCE_KMSG;
			log_debug(p->log,
				  "Error 0x%04x of function 0x%08x already recorded from another source, "
				  "as event %" PRIu64 "; recording its full record.",
				  e->pec, e->fid, earlier);
			break;
		default:
			break;
		}
	}
	return record(p, f, e);
}

/* The stages after de-duplication: sequence number, coalescing, sinks,
 * function, decider. Returns 1 (recorded). */
static int record(Pipeline *p, ZpciFunction *f, ZpciEvent *e)
{
	bool emit = true;

	e->seq = p->next_seq++;
	event_format_message(e);

	if (f)
		emit = coalesce_admit(p->coalescer, f, e->monotonic_usec);

	run_sinks(p, PIPELINE_SINK_STORE, f, e, emit);
	run_sinks(p, PIPELINE_SINK_JOURNAL, f, e, emit);
	if (f)
		function_apply_event(f, e, emit);
	run_sinks(p, PIPELINE_SINK_OBSERVE, f, e, emit);

	/* adapter events (daemon/adapter-events.h) concern no one function */
	if ((f || e->kind == EVENT_ADAPTER) && p->decide && e->kind != EVENT_ACTION && e->same_as == 0)
		p->decide(p->decide_userdata, p, f, e);
	return 1;
}

static void run_queue(Pipeline *p)
{
	while (p->queue_head) {
		Deferred *d = p->queue_head;
		ZpciFunction *f = d->function;

		p->queue_head = d->next;
		if (!p->queue_head)
			p->queue_tail = NULL;
		/* A function that went away meanwhile is not touched: the event
		 * carries its identity. */
		(void)run_stages(p, f && f->state != FUNCTION_STATE_GONE ? f : NULL, &d->event, d->tag);
		function_unref(f);
		free(d);
	}
}

static int defer_tagged(Pipeline *p, ZpciFunction *f, const ZpciEvent *e, uint64_t tag);

int pipeline_submit_tagged(Pipeline *p, ZpciFunction *f, ZpciEvent *e, uint64_t tag)
{
	int r;

	if (p->running) {
		r = defer_tagged(p, f, e, tag);
		return r < 0 ? r : 0;
	}
	p->running = true;
	r = run_stages(p, f, e, tag);
	run_queue(p);
	p->running = false;
	notify_held(p);
	return r;
}

int pipeline_submit(Pipeline *p, ZpciFunction *f, ZpciEvent *e)
{
	return pipeline_submit_tagged(p, f, e, 0);
}

int pipeline_defer(Pipeline *p, ZpciFunction *f, const ZpciEvent *e)
{
	return defer_tagged(p, f, e, 0);
}

static int defer_tagged(Pipeline *p, ZpciFunction *f, const ZpciEvent *e, uint64_t tag)
{
	Deferred *d = malloc(sizeof(*d));

	if (!d)
		return log_error_errno(p->log, -ENOMEM, "Out of memory, event of function 0x%08x lost.",
				       f ? f->attrs.fid : e->fid);
	*d = (Deferred){ .function = function_ref(f), .tag = tag, .event = *e };
	if (f)
		function_fill_event(f, &d->event);
	if (p->queue_tail)
		p->queue_tail->next = d;
	else
		p->queue_head = d;
	p->queue_tail = d;

	if (!p->running) {
		p->running = true;
		run_queue(p);
		p->running = false;
		notify_held(p);
	}
	return 0;
}

void pipeline_forget_function(Pipeline *p, ZpciFunction *f)
{
	if (!p)
		return;
	if (f)
		(void)release(p, 0, f, record_held_alone);
	coalesce_flush(p->coalescer, f);
}

void pipeline_set_drains(Pipeline *p, PipelineDrainsFn drains)
{
	p->drains = drains;
}

void pipeline_set_hold(Pipeline *p, uint64_t hold_usec)
{
	p->hold_usec = hold_usec;
}

size_t pipeline_n_held(const Pipeline *p)
{
	return dedup_n_held(p->dedup);
}

uint64_t pipeline_oldest_held_tag(const Pipeline *p, uint64_t *ret_next_seq)
{
	if (!p || dedup_n_held(p->dedup) == 0) {
		if (ret_next_seq)
			*ret_next_seq = 0;
		return 0;
	}
	return dedup_oldest_held_tag(p->dedup, ret_next_seq);
}

void pipeline_set_held_watch(Pipeline *p, PipelineHeldWatchFn watch, void *userdata)
{
	p->held_watch = watch;
	p->held_watch_userdata = userdata;
}

void pipeline_release_held(Pipeline *p)
{
	if (p && dedup_n_held(p->dedup) > 0)
		(void)release(p, UINT64_MAX, NULL, record_held_alone);
}

void pipeline_flush(Pipeline *p)
{
	if (!p)
		return;
	pipeline_release_held(p);
	coalesce_flush_all(p->coalescer);
}
