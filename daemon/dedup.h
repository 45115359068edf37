/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * dedup: recognises the same PCI error seen through two sources.
 *
 * An error of a function zpcid owns is both drained from the device (full
 * CCDF) and logged by the kernel ("Event 0x.. reports an error for PCI
 * function 0x.."). Each kernel-log line matches at most one drained record
 * and vice versa: same FID, same PEC, within a short window, from the other
 * kind of source. Whichever arrives first is recorded. A kernel-log line
 * after its drained record adds nothing: it is a duplicate. A drained
 * record after its kernel-log line carries what the line lacks (the whole
 * CCDF): it is an upgrade, recorded as well and marked with the sequence
 * number of the earlier record (docs/history.md, "One error, two
 * sources"). Neither source waits for or drives the other. The memory is a
 * fixed ring, so a check costs the same however many functions the host has.
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

typedef enum DedupVerdict {
	DEDUP_NEW,       /* first sighting: record it */
	DEDUP_DUPLICATE, /* a kernel-log line of an error already drained: drop it */
	DEDUP_UPGRADE,   /* the drained record of an error already logged: record it as the same error */
} DedupVerdict;

/* Check error event @e (needs fid, pec, sources, monotonic_usec), which is
 * recorded as @seq unless it is a duplicate. Returns DEDUP_NEW (and
 * remembers it), DEDUP_DUPLICATE, or DEDUP_UPGRADE with the sequence number
 * of the earlier record in @ret_earlier_seq (may be NULL); in the last two
 * cases the earlier sighting is matched and pairs with nothing else. */
DedupVerdict dedup_check(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t *ret_earlier_seq);
