/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ratelimit: leaky buckets and sliding windows for "N / T" (see ratelimit.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/ratelimit.h"

static const struct {
	char unit;
	uint64_t usec;
} units[] = {
	{ 'd', 24ULL * 3600 * USEC_PER_SEC },
	{ 'h', 3600ULL * USEC_PER_SEC },
	{ 'm', 60ULL * USEC_PER_SEC },
	{ 's', USEC_PER_SEC },
};

int duration_parse(const char *s, uint64_t *ret_usec)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > DURATION_MAX_USEC / USEC_PER_SEC)
			return -EINVAL;
	}
	if (p[0] == 0 || p[1] != 0)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (units[i].unit == p[0]) {
			if (v > DURATION_MAX_USEC / units[i].usec)
				return -EINVAL;
			*ret_usec = v * units[i].usec;
			return 0;
		}
	return -EINVAL;
}

const char *duration_format(uint64_t usec, char *buf, size_t size)
{
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (usec > 0 && usec % units[i].usec == 0) {
			(void)snprintf(buf, size, "%llu%c", (unsigned long long)(usec / units[i].usec),
				       units[i].unit);
			return buf;
		}
	if (usec % USEC_PER_SEC == 0)
		(void)snprintf(buf, size, "%llus", (unsigned long long)(usec / USEC_PER_SEC));
	else
		(void)snprintf(buf, size, "%lluus", (unsigned long long)usec);
	return buf;
}

int rate_spec_parse(const char *s, RateSpec *ret)
{
	char dur[32];
	unsigned long long n = 0;
	const char *p = s, *q;
	size_t len;
	uint64_t usec;

	if (!s)
		return -EINVAL;
	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long long)(*p - '0');
		if (n > RATE_N_MAX)
			return -EINVAL;
	}
	while (*p == ' ')
		p++;
	if (*p != '/')
		return -EINVAL;
	p++;
	while (*p == ' ')
		p++;
	q = p;
	while (*q && *q != ' ')
		q++;
	len = (size_t)(q - p);
	while (*q == ' ')
		q++;
	if (*q != 0 || len == 0 || len >= sizeof(dur))
		return -EINVAL;
	memcpy(dur, p, len);
	dur[len] = 0;
	if (duration_parse(dur, &usec) < 0 || n < 1 || usec < USEC_PER_SEC)
		return -EINVAL;
	*ret = (RateSpec){ .n = (unsigned)n, .interval_usec = usec };
	return 0;
}

const char *rate_spec_format(const RateSpec *s, char *buf, size_t size)
{
	char d[24];

	(void)snprintf(buf, size, "%u / %s", s->n, duration_format(s->interval_usec, d, sizeof(d)));
	return buf;
}

/* The bucket's scaled level (events * T) after draining up to @now_usec: one event per T, i.e. 1 per µs
 * scaled. */
static uint64_t drained(const LeakyBucket *b, uint64_t now_usec)
{
	uint64_t elapsed;

	if (now_usec <= b->last_usec)
		return b->level;
	elapsed = now_usec - b->last_usec;
	return b->level > elapsed ? b->level - elapsed : 0;
}

bool leaky_bucket_add(LeakyBucket *b, const RateSpec *s, uint64_t now_usec)
{
	/* The level never exceeds N*T <= RATE_N_MAX * DURATION_MAX_USEC < 2^62. */
	b->level = drained(b, now_usec) + s->interval_usec;
	if (now_usec > b->last_usec)
		b->last_usec = now_usec;
	if (b->level > (uint64_t)(s->n - 1) * s->interval_usec) {
		b->level = 0;
		return true;
	}
	return false;
}

uint64_t leaky_bucket_level_milli(const LeakyBucket *b, const RateSpec *s, uint64_t now_usec)
{
	uint64_t l = drained(b, now_usec);

	return l / s->interval_usec * 1000 + (l % s->interval_usec) * 1000 / s->interval_usec;
}

bool rate_window_get(const RateWindow *w, unsigned i, uint64_t *ret)
{
	if (i >= w->n_used)
		return false;
	*ret = w->uses[(w->head + i) % w->n_allocated];
	return true;
}

unsigned rate_window_count(const RateWindow *w, const RateSpec *s, uint64_t now_usec)
{
	unsigned n = 0;
	uint64_t t;

	for (unsigned i = 0; rate_window_get(w, i, &t); i++)
		if (t + s->interval_usec > now_usec)
			n++;
	return n;
}

bool rate_window_allows(const RateWindow *w, const RateSpec *s, uint64_t now_usec, uint64_t *ret_next_usec)
{
	unsigned n = rate_window_count(w, s, now_usec);
	uint64_t t = 0;

	if (n < s->n)
		return true;
	if (ret_next_usec) {
		/* The use that must leave the window: the n-th newest, i.e. the oldest of the last s->n. */
		(void)rate_window_get(w, w->n_used - s->n, &t);
		*ret_next_usec = t + s->interval_usec;
	}
	return false;
}

int rate_window_record(RateWindow *w, const RateSpec *s, uint64_t now_usec)
{
	if (w->n_allocated != s->n) {
		/* (Re)size to N, keeping the newest uses. */
		uint64_t *a = calloc(s->n, sizeof(uint64_t));
		unsigned keep = MIN(w->n_used, s->n), k = 0;

		if (!a)
			return -ENOMEM;
		for (unsigned i = w->n_used - keep; i < w->n_used; i++)
			(void)rate_window_get(w, i, &a[k++]);
		free(w->uses);
		w->uses = a;
		w->n_allocated = s->n;
		w->n_used = keep;
		w->head = 0;
	}
	if (w->n_used < w->n_allocated)
		w->uses[(w->head + w->n_used++) % w->n_allocated] = now_usec;
	else {
		w->uses[w->head] = now_usec;
		w->head = (w->head + 1) % w->n_allocated;
	}
	return 0;
}

void rate_window_done(RateWindow *w)
{
	free(w->uses);
	*w = (RateWindow){};
}
