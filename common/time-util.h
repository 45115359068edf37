/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * time-util: the time now, in µs, on a given clock. Realtime for what is
 * saved or shown (events, state files, records), monotonic for intervals
 * and deadlines, CLOCK_THREAD_CPUTIME_ID for the loop's own cost.
 */

#include <stdint.h>
#include <time.h>

#include "common/macro.h"

/* @ts in µs (rounded down). */
static inline uint64_t timespec_to_usec(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * USEC_PER_SEC + (uint64_t)ts->tv_nsec / NSEC_PER_USEC;
}

/* @clock now in µs; 0 when the clock cannot be read. */
uint64_t now_usec(clockid_t clock);
