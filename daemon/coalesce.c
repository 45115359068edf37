/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "daemon/coalesce.h"

typedef struct Window {
	Coalescer *owner;
	const void *key;
	CoalesceWindow w;
	struct event *timer; /* armed while events are held back */
	struct Window *next; /* in the bucket */
} Window;

struct Coalescer {
	struct event_base *base;
	CoalesceSummaryFn summary;
	void *userdata;
	unsigned burst;
	uint64_t interval_usec;

	Window **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;
};

bool coalesce_decide(CoalesceWindow *w, unsigned burst, uint64_t interval_usec, uint64_t now_usec)
{
	if (w->emitted == 0 && w->suppressed == 0)
		w->start_usec = now_usec;
	else if (now_usec >= w->start_usec + interval_usec && w->suppressed == 0) {
		/* The window ended quietly (no summary pending): start a new one. */
		w->start_usec = now_usec;
		w->emitted = 0;
	}

	if (w->emitted < burst) {
		w->emitted++;
		return true;
	}
	w->suppressed++;
	return false;
}

uint32_t coalesce_window_close(CoalesceWindow *w)
{
	uint32_t n = w->suppressed;

	*w = (CoalesceWindow){};
	return n;
}

static size_t bucket_of(const Coalescer *c, const void *key)
{
	uintptr_t h = (uintptr_t)key;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)h & (c->n_buckets - 1);
}

static Window **window_slot(Coalescer *c, const void *key)
{
	Window **p = &c->buckets[bucket_of(c, key)];

	while (*p && (*p)->key != key)
		p = &(*p)->next;
	return p;
}

static int grow(Coalescer *c)
{
	size_t n = c->n_buckets * 2;
	Window **b = calloc(n, sizeof(Window *));
	Window **old = c->buckets;
	size_t n_old = c->n_buckets;

	if (!b)
		return -ENOMEM;
	c->buckets = b;
	c->n_buckets = n;
	for (size_t i = 0; i < n_old; i++)
		while (old[i]) {
			Window *w = old[i];
			size_t k = bucket_of(c, w->key);

			old[i] = w->next;
			w->next = b[k];
			b[k] = w;
		}
	free(old);
	return 0;
}

static Window *window_free(Window *w)
{
	if (w) {
		if (w->timer)
			event_free(w->timer);
		free(w);
	}
	return NULL;
}

/* Unlink @key's window and call the summary callback when events were held back. */
static void window_end(Coalescer *c, const void *key)
{
	Window **p = window_slot(c, key), *w = *p;
	uint64_t interval = c->interval_usec;
	uint32_t n;

	if (!w)
		return;
	*p = w->next;
	c->n--;
	n = coalesce_window_close(&w->w);
	window_free(w);
	if (n > 0)
		c->summary(c->userdata, key, n, interval);
}

static void on_window_end(evutil_socket_t fd, short what, void *userdata)
{
	Window *w = ASSERT_PTR(userdata);

	window_end(w->owner, w->key);
}

int coalesce_new(Coalescer **ret, struct event_base *base, CoalesceSummaryFn summary, void *userdata)
{
	_cleanup_(coalesce_freep) Coalescer *c = NULL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->summary = summary;
	c->userdata = userdata;
	c->burst = COALESCE_DEFAULT_BURST;
	c->interval_usec = COALESCE_DEFAULT_INTERVAL;
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(Window *));
	if (!c->buckets)
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

Coalescer *coalesce_free(Coalescer *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_buckets; i++)
		while (c->buckets[i]) {
			Window *w = c->buckets[i];

			c->buckets[i] = w->next;
			window_free(w);
		}
	free(c->buckets);
	free(c);
	return NULL;
}

void coalesce_set_limits(Coalescer *c, unsigned burst, uint64_t interval_usec)
{
	c->burst = burst > 0 ? burst : COALESCE_DEFAULT_BURST;
	c->interval_usec = interval_usec > 0 ? interval_usec : COALESCE_DEFAULT_INTERVAL;
}

bool coalesce_admit(Coalescer *c, const void *key, uint64_t now_usec)
{
	Window **p = window_slot(c, key), *w = *p;
	struct timeval tv;
	uint64_t end, left;

	if (!w) {
		/* Without memory for the window the event is written out: nothing
		 * is held back that could not be summarised. */
		if (c->n >= c->n_buckets * 2 && grow(c) >= 0)
			p = window_slot(c, key);
		w = calloc(1, sizeof(*w));
		if (!w)
			return true;
		w->owner = c;
		w->key = key;
		*p = w;
		c->n++;
	}

	if (coalesce_decide(&w->w, c->burst, c->interval_usec, now_usec))
		return true;

	if (w->w.suppressed == 1) {
		/* First event held back in this window: arm the timer for its end. */
		if (!w->timer)
			w->timer = evtimer_new(c->base, on_window_end, w);
		if (!w->timer) {
			/* Cannot hold anything back without a way to summarise it. */
			w->w.suppressed--;
			return true;
		}
		end = w->w.start_usec + c->interval_usec;
		left = end > now_usec ? end - now_usec : 0;
		tv = (struct timeval){ .tv_sec = (time_t)(left / USEC_PER_SEC),
				       .tv_usec = (suseconds_t)(left % USEC_PER_SEC) };
		(void)evtimer_add(w->timer, &tv);
	}
	return false;
}

void coalesce_flush(Coalescer *c, const void *key)
{
	if (c)
		window_end(c, key);
}

void coalesce_flush_all(Coalescer *c)
{
	if (!c)
		return;
	/* A summary callback may admit events again: end at most the windows there are now. */
	for (size_t left = c->n; left > 0 && c->n > 0; left--)
		for (size_t i = 0; i < c->n_buckets; i++)
			if (c->buckets[i]) {
				window_end(c, c->buckets[i]->key);
				break;
			}
}

size_t coalesce_size(const Coalescer *c)
{
	return c ? c->n : 0;
}
