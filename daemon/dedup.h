/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * dedup: recognises the same PCI error seen through two sources.
 *
 * An error of a function zpcid owns is both drained from the device (full
 * CCDF) and logged by the kernel ("Event 0x.. reports an error for PCI
 * function 0x.."). Each kernel-log line matches at most one drained record
 * and vice versa: same FID, same PEC, within a short window, from the other
 * kind of source. Whichever arrives first is recorded; the second is a
 * duplicate. The memory is a fixed ring, so a check costs the same however
 * many functions the host has.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/event.h"
#include "common/macro.h"

typedef struct Dedup Dedup;

/* How long two sightings of one error may be apart (µs, CLOCK_MONOTONIC). */
#define DEDUP_WINDOW_USEC (5 * USEC_PER_SEC)
#define DEDUP_RING_SIZE   256

/* Create an empty ring. Returns 0 or -ENOMEM. */
int dedup_new(Dedup **ret);

/* Free. Accepts NULL, returns NULL. */
Dedup *dedup_free(Dedup *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dedup *, dedup_free);

/* Check error event @e (needs fid, pec, sources, monotonic_usec). Returns 1
 * when it is the second sighting of an error already recorded (the earlier
 * record is marked as matched), 0 when it is new (and remembered). */
int dedup_check(Dedup *d, const ZpciEvent *e);
