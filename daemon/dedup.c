/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "daemon/dedup.h"

#define SOURCE_DRAIN (EVENT_SOURCE_VFIO | EVENT_SOURCE_DELEGATED)

typedef struct Sighting {
	uint64_t monotonic_usec;
	uint64_t seq; /* of the record */
	uint32_t fid;
	uint16_t pec;
	bool from_kmsg; /* else: from a drain */
	bool matched;
	bool used;
} Sighting;

struct Dedup {
	Sighting ring[DEDUP_RING_SIZE];
	unsigned next;
};

int dedup_new(Dedup **ret)
{
	Dedup *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

Dedup *dedup_free(Dedup *d)
{
	free(d);
	return NULL;
}

DedupVerdict dedup_check(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t *ret_earlier_seq)
{
	bool from_kmsg = e->sources & EVENT_SOURCE_KMSG;
	bool from_drain = e->sources & SOURCE_DRAIN;

	if (!(e->has & EVENT_HAS_PEC) || from_kmsg == from_drain)
		return DEDUP_NEW; /* nothing to pair with: neither or both kinds of source */

	/* Oldest unmatched sighting from the other kind of source first, so that
	 * a burst of identical errors pairs up in order. */
	for (unsigned i = 0; i < DEDUP_RING_SIZE; i++) {
		Sighting *s = &d->ring[(d->next + i) % DEDUP_RING_SIZE];

		if (!s->used || s->matched || s->fid != e->fid || s->pec != e->pec ||
		    s->from_kmsg == from_kmsg)
			continue;
		if (e->monotonic_usec > s->monotonic_usec + DEDUP_WINDOW_USEC ||
		    s->monotonic_usec > e->monotonic_usec + DEDUP_WINDOW_USEC)
			continue;
		s->matched = true;
		if (from_kmsg)
			return DEDUP_DUPLICATE;
		if (ret_earlier_seq)
			*ret_earlier_seq = s->seq;
		return DEDUP_UPGRADE;
	}

	d->ring[d->next] = (Sighting){
		.monotonic_usec = e->monotonic_usec,
		.seq = seq,
		.fid = e->fid,
		.pec = e->pec,
		.from_kmsg = from_kmsg,
		.used = true,
	};
	d->next = (d->next + 1) % DEDUP_RING_SIZE;
	return DEDUP_NEW;
}
