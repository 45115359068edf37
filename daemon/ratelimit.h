/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * ratelimit: the "N / T" rates of the policy, as a leaky bucket (thresholds)
 * and as a sliding window (the global budget), with the clock passed in.
 *
 * Rate syntax: "N / T" or "N/T": N a positive integer (1..100000), T a
 * duration. Durations: a non-negative integer followed by one unit, s
 * (seconds), m (minutes), h (hours) or d (days), e.g. "30s", "10m", "1h",
 * "2d"; at most 366d. A rate's T must be at least 1s.
 *
 * Leaky bucket ("threshold": "N / T"): the bucket holds a level, starting at
 * 0. It drains continuously by one event per T, never below 0. Each event
 * first drains the bucket for the time since the previous update, then adds
 * 1. When the level then exceeds N-1 the threshold fires and the bucket is
 * reset to 0: the next firing needs a fresh run of events. Consequences:
 * N events within less than T always fire (on the N-th); events T or more
 * apart never accumulate; "1 / T" fires on every event; after a quiet
 * period of (level x T) the bucket is empty. The arithmetic is exact
 * (integers scaled by T), so the behaviour is reproducible.
 *
 * Sliding window ("budget": "N / T"): at most N uses in any window of
 * length T: a use at time t is allowed when fewer than N uses happened in
 * (t - T, t].
 *
 * Times are µs on one clock chosen by the caller; a clock that goes back is
 * treated as no time elapsed. This module knows nothing about functions or
 * rules.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATE_N_MAX        100000U
#define DURATION_MAX_USEC (366ULL * 24 * 3600 * 1000000)
#define RATE_SPEC_STR_MAX 48

typedef struct RateSpec {
	unsigned n;             /* events (bucket) or uses (window) */
	uint64_t interval_usec; /* T */
} RateSpec;

/* Parse a duration such as "30s" into µs. Returns 0 or -EINVAL. */
int duration_parse(const char *s, uint64_t *ret_usec);

/* Format @usec as the largest exact unit ("10m", "90s", "0s"). Returns @buf. */
const char *duration_format(uint64_t usec, char *buf, size_t size);

/* Parse "N / T". Returns 0 or -EINVAL (N out of 1..RATE_N_MAX, T below 1s or not a duration). */
int rate_spec_parse(const char *s, RateSpec *ret);

/* Format @s as "N / T". Returns @buf. */
const char *rate_spec_format(const RateSpec *s, char *buf, size_t size);

typedef struct LeakyBucket {
	uint64_t level;     /* events * interval_usec (so draining is exact: 1 per µs) */
	uint64_t last_usec; /* time of the last update */
} LeakyBucket;

/* Add one event at @now_usec. Returns true when the threshold fired (the bucket is then reset to 0). */
bool leaky_bucket_add(LeakyBucket *b, const RateSpec *s, uint64_t now_usec);

/* The level at @now_usec in thousandths of an event (0..N*1000), without changing @b. */
uint64_t leaky_bucket_level_milli(const LeakyBucket *b, const RateSpec *s, uint64_t now_usec);

typedef struct RateWindow {
	uint64_t *uses; /* ring of the most recent use times, oldest first from @head */
	unsigned n_allocated, n_used, head;
} RateWindow;

/* Whether one more use at @now_usec is allowed. When not, sets *@ret_next_usec (may be NULL) to the first
 * time it will be. */
bool rate_window_allows(const RateWindow *w, const RateSpec *s, uint64_t now_usec, uint64_t *ret_next_usec);

/* Record a use at @now_usec (keeping the last s->n). Returns 0 or -ENOMEM. */
int rate_window_record(RateWindow *w, const RateSpec *s, uint64_t now_usec);

/* Uses within (now - T, now]. */
unsigned rate_window_count(const RateWindow *w, const RateSpec *s, uint64_t now_usec);

/* Use times in the order they happened, for saving: element @i (0 = oldest); returns false past the end. */
bool rate_window_get(const RateWindow *w, unsigned i, uint64_t *ret);

/* Release the storage of @w (the struct itself is the caller's). */
void rate_window_done(RateWindow *w);
