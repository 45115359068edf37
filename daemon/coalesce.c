/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <event2/event.h>

#include "daemon/coalesce.h"
#include "daemon/manager.h"
#include "daemon/pipeline.h"

bool coalesce_decide(ZpciFunction *f, unsigned burst, uint64_t interval_usec, uint64_t now_usec)
{
	if (f->coalesce.emitted == 0 && f->coalesce.suppressed == 0)
		f->coalesce.window_start_usec = now_usec;
	else if (now_usec >= f->coalesce.window_start_usec + interval_usec && f->coalesce.suppressed == 0) {
		/* The window ended quietly (no summary pending): start a new one. */
		f->coalesce.window_start_usec = now_usec;
		f->coalesce.emitted = 0;
	}

	if (f->coalesce.emitted < burst) {
		f->coalesce.emitted++;
		return true;
	}
	f->coalesce.suppressed++;
	return false;
}

static void on_window_end(evutil_socket_t fd, short what, void *userdata)
{
	ZpciFunction *f = ASSERT_PTR(userdata);

	coalesce_flush(f->manager, f);
}

static unsigned config_burst(const Manager *m)
{
	return m->config && m->config->coalesce_burst > 0 ? m->config->coalesce_burst
							  : COALESCE_DEFAULT_BURST;
}

static uint64_t config_interval(const Manager *m)
{
	return m->config && m->config->coalesce_interval_usec > 0 ? m->config->coalesce_interval_usec
								  : COALESCE_DEFAULT_INTERVAL;
}

bool coalesce_admit(Manager *m, ZpciFunction *f, const ZpciEvent *e)
{
	uint64_t interval = config_interval(m);
	struct timeval tv;
	uint64_t left;

	if (coalesce_decide(f, config_burst(m), interval, e->monotonic_usec))
		return true;

	if (f->coalesce.suppressed == 1) {
		/* First event held back in this window: arm the timer for its end. */
		if (!f->coalesce.timer)
			f->coalesce.timer = evtimer_new(m->event_base, on_window_end, f);
		if (!f->coalesce.timer) {
			/* Cannot hold anything back without a way to summarise it. */
			f->coalesce.suppressed--;
			return true;
		}
		left = f->coalesce.window_start_usec + interval > e->monotonic_usec
			       ? f->coalesce.window_start_usec + interval - e->monotonic_usec
			       : 0;
		tv = (struct timeval){ .tv_sec = (time_t)(left / USEC_PER_SEC),
				       .tv_usec = (suseconds_t)(left % USEC_PER_SEC) };
		(void)evtimer_add(f->coalesce.timer, &tv);
	}
	return false;
}

void coalesce_flush(Manager *m, ZpciFunction *f)
{
	uint32_t n = f->coalesce.suppressed;

	if (f->coalesce.timer) {
		event_free(f->coalesce.timer);
		f->coalesce.timer = NULL;
	}
	f->coalesce.suppressed = 0;
	f->coalesce.emitted = 0;
	if (n > 0)
		pipeline_emit_summary(m, f, n, config_interval(m));
}
