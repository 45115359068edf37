/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * dedup: recognises the same PCI error seen through two sources.
 *
 * An error of a function zpcid drains (own or delegated) is both drained
 * from the device (full CCDF) and logged by the kernel ("Event 0x.. reports
 * an error for PCI function 0x.."). Each kernel-log line matches at most
 * one drained record and vice versa: same FID, same PEC, event times at
 * most DEDUP_WINDOW_USEC apart (the kernel-log record's time is the
 * kernel's, the drained record's is when it was drained), from the other
 * kind of source, oldest first.
 *
 *  - A kernel-log line after its drained record adds nothing: a duplicate.
 *  - A kernel-log line of a function zpcid drains may be held (the caller
 *    says so and until when): kept back, copied, waiting for its drained
 *    record. When that comes, only the drained record is recorded (it
 *    "completes" the held one); when the grace ends first, the caller
 *    records the kernel-log record then (dedup_release()).
 *  - A drained record after a kernel-log record already recorded (the grace
 *    ended, or it was not held) completes it as an upgrade: recorded as
 *    well, marked with the earlier record's sequence number
 *    (docs/history.md, "One error, two sources").
 *
 * Unpaired sightings are kept per function, in one FIFO per kind of
 * source, so a storm on one function neither pushes out another's nor
 * costs a search through them; a FIFO holds at most DEDUP_FUNCTION_MAX
 * sightings (the kernel queues 4 records per function, but its log lines
 * can lag hundreds behind in a storm, spread over the functions). A sighting goes when no sighting of
 * the other kind can match it any more (each source's times only grow),
 * or DEDUP_KEEP_USEC after a newer one of its kind.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/event.h"
#include "common/macro.h"

typedef struct Dedup Dedup;

/* How far apart the times of two sightings of one error may be (µs, CLOCK_MONOTONIC). */
#define DEDUP_WINDOW_USEC (5 * USEC_PER_SEC)
/* How long an unpaired sighting is kept after a newer one of its kind. */
#define DEDUP_KEEP_USEC DEDUP_WINDOW_USEC
/* Unpaired sightings kept per function and kind of source. */
#define DEDUP_FUNCTION_MAX 256

/* Create an empty memory. Returns 0 or -ENOMEM. */
int dedup_new(Dedup **ret);

/* Free, held records included (dedup_release() them first to keep them).
 * Accepts NULL, returns NULL. */
Dedup *dedup_free(Dedup *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dedup *, dedup_free);

typedef enum DedupVerdict {
	DEDUP_NEW,       /* first sighting: record it */
	DEDUP_DUPLICATE, /* a kernel-log line of an error already drained: drop it */
	DEDUP_UPGRADE,   /* the drained record of an error already logged: record it as the same error */
	DEDUP_HELD,      /* a kernel-log record kept back, waiting for its drained record */
	DEDUP_COMPLETES, /* the drained record of a held kernel-log record: record it alone */
} DedupVerdict;

/* Check error event @e (needs fid, pec, sources, monotonic_usec), which is
 * recorded as @seq unless it is a duplicate. Returns DEDUP_NEW (and
 * remembers it), DEDUP_DUPLICATE, or DEDUP_UPGRADE with the sequence number
 * of the earlier record in @ret_earlier_seq (may be NULL); in the last two
 * cases the earlier sighting is matched and pairs with nothing else. Never
 * holds. */
DedupVerdict dedup_check(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t *ret_earlier_seq);

/* Like dedup_check(); in addition a kernel-log record with a PEC that no
 * drained record matches is held until @hold_until (CLOCK_MONOTONIC µs; 0:
 * not held) with @userdata: DEDUP_HELD (@e is copied; @seq is not used).
 * A drained record that matches a held record returns DEDUP_COMPLETES and
 * the held record's userdata in @ret_held_userdata (the held copy is gone,
 * the caller records @e alone). Returns DEDUP_NEW when the record cannot be
 * held (out of memory). */
DedupVerdict dedup_check_hold(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t hold_until,
			      void *userdata, uint64_t *ret_earlier_seq, void **ret_held_userdata);

/* The same, the held record tagged with @tag (> 0; 0: untagged), e.g. where
 * its source read it: dedup_oldest_held_tag() says which tags are held. */
DedupVerdict dedup_check_hold_tagged(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t hold_until,
				     void *userdata, uint64_t tag, uint64_t *ret_earlier_seq,
				     void **ret_held_userdata);

/* Whether @e is a kernel-log record of an error already drained before
 * @drained_before (CLOCK_MONOTONIC µs; UINT64_MAX: any time) — the drained
 * sighting is then matched — without remembering @e otherwise: for the
 * kernel-log records no drained record will come for (of functions zpcid
 * does not drain, or of errors from before it drains them). */
bool dedup_is_duplicate(Dedup *d, const ZpciEvent *e, uint64_t drained_before);

/* The earliest hold_until of the held records, 0 when none is held. */
uint64_t dedup_next_deadline(const Dedup *d);

/* Number of records held now. */
size_t dedup_n_held(const Dedup *d);

/* The lowest tag of the records held now, 0 when no tagged record is held
 * (a walk through the held records); *@ret_seq (may be NULL) is the @seq
 * that record was checked with (0 when none). */
uint64_t dedup_oldest_held_tag(const Dedup *d, uint64_t *ret_seq);

/* Records a held record: @e is the kernel-log record as it came (the
 * callback may change it), @held_userdata what it was held with. Returns
 * the sequence number it was recorded as (0: not recorded), which a later
 * drained record is marked with. Must not call into @d. */
typedef uint64_t (*DedupReleaseFn)(void *userdata, ZpciEvent *e, void *held_userdata);

/* Hand every held record whose hold ends at or before @now (UINT64_MAX:
 * all) to @fn, oldest first; they stay remembered as recorded. Returns
 * how many. */
size_t dedup_release(Dedup *d, uint64_t now, DedupReleaseFn fn, void *userdata);

/* Hand every held record held with @held_userdata to @fn at once. */
size_t dedup_release_userdata(Dedup *d, const void *held_userdata, DedupReleaseFn fn, void *userdata);
