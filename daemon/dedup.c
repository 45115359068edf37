/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "daemon/dedup.h"

#define SOURCE_DRAIN (EVENT_SOURCE_VFIO | EVENT_SOURCE_DELEGATED)
#define N_BUCKETS    1024 /* a power of two */

typedef struct FidEntry FidEntry;

typedef struct Sighting {
	struct Sighting *prev, *next;           /* in its function's FIFO of its kind */
	struct Sighting *held_prev, *held_next; /* in the list of held records, by hold_until */
	FidEntry *entry;
	uint64_t monotonic_usec;
	uint64_t seq;        /* of the record; 0 while held */
	uint64_t hold_until; /* 0 when not held */
	ZpciEvent *held;     /* the held record, NULL when not held */
	void *held_userdata;
	uint64_t held_tag;    /* the caller's tag of the held record, 0: none */
	uint64_t held_at_seq; /* the seq the caller passed when it was held */
	uint16_t pec;
	bool from_kmsg; /* else: from a drain */
} Sighting;

typedef struct Fifo {
	Sighting *head, *tail; /* oldest first */
	unsigned n;
} Fifo;

struct FidEntry {
	FidEntry *next; /* in its bucket */
	uint32_t fid;
	Fifo kind[2]; /* [0] drained, [1] kernel log */
};

struct Dedup {
	FidEntry *buckets[N_BUCKETS];
	Sighting *held_head, *held_tail;
	size_t n_held;
};

int dedup_new(Dedup **ret)
{
	Dedup *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

static void sighting_free(Sighting *s)
{
	free(s->held);
	free(s);
}

Dedup *dedup_free(Dedup *d)
{
	if (!d)
		return NULL;
	for (size_t b = 0; b < N_BUCKETS; b++)
		while (d->buckets[b]) {
			FidEntry *f = d->buckets[b];

			d->buckets[b] = f->next;
			for (int k = 0; k < 2; k++)
				while (f->kind[k].head) {
					Sighting *s = f->kind[k].head;

					f->kind[k].head = s->next;
					sighting_free(s);
				}
			free(f);
		}
	free(d);
	return NULL;
}

static size_t bucket_of(uint32_t fid)
{
	return (fid * 2654435761u) >> 22 & (N_BUCKETS - 1);
}

static FidEntry *entry_get(Dedup *d, uint32_t fid, bool create)
{
	size_t b = bucket_of(fid);
	FidEntry *f;

	for (f = d->buckets[b]; f; f = f->next)
		if (f->fid == fid)
			return f;
	if (!create)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fid = fid;
	f->next = d->buckets[b];
	d->buckets[b] = f;
	return f;
}

static void entry_drop_if_empty(Dedup *d, FidEntry *f)
{
	FidEntry **p;

	if (f->kind[0].n > 0 || f->kind[1].n > 0)
		return;
	for (p = &d->buckets[bucket_of(f->fid)]; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	free(f);
}

static void held_unlink(Dedup *d, Sighting *s)
{
	if (s->held_prev)
		s->held_prev->held_next = s->held_next;
	else
		d->held_head = s->held_next;
	if (s->held_next)
		s->held_next->held_prev = s->held_prev;
	else
		d->held_tail = s->held_prev;
	s->held_prev = s->held_next = NULL;
	d->n_held--;
}

static void held_link(Dedup *d, Sighting *s)
{
	Sighting *after = d->held_tail;

	/* by hold_until; holds of one grace come in order, so this is the tail */
	while (after && after->hold_until > s->hold_until)
		after = after->held_prev;
	s->held_prev = after;
	s->held_next = after ? after->held_next : d->held_head;
	if (s->held_next)
		s->held_next->held_prev = s;
	else
		d->held_tail = s;
	if (after)
		after->held_next = s;
	else
		d->held_head = s;
	d->n_held++;
}

/* Take @s out of its FIFO (not out of the held list). */
static void fifo_unlink(Sighting *s)
{
	Fifo *q = &s->entry->kind[s->from_kmsg];

	if (s->prev)
		s->prev->next = s->next;
	else
		q->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		q->tail = s->prev;
	q->n--;
}

/* Forget the unheld sightings of @q older than @limit (held ones stay until
 * released), and the oldest unheld ones beyond @max. */
static void fifo_prune(Fifo *q, uint64_t limit, unsigned max)
{
	Sighting *s = q->head;

	while (s) {
		Sighting *next = s->next;

		if (s->held) {
			s = next;
			continue;
		}
		if (s->monotonic_usec >= limit && q->n <= max)
			break;
		fifo_unlink(s);
		sighting_free(s);
		s = next;
	}
}

DedupVerdict dedup_check_hold_tagged(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t hold_until,
				     void *userdata, uint64_t tag, uint64_t *ret_earlier_seq,
				     void **ret_held_userdata)
{
	bool from_kmsg = e->sources & EVENT_SOURCE_KMSG;
	bool from_drain = e->sources & SOURCE_DRAIN;
	uint64_t t = e->monotonic_usec;
	Sighting *s;
	FidEntry *f;

	if (!(e->has & EVENT_HAS_PEC) || from_kmsg == from_drain)
		return DEDUP_NEW; /* nothing to pair with: neither or both kinds of source */

	f = entry_get(d, e->fid, true);
	if (!f)
		return DEDUP_NEW;

	/* The other kind's times only grow: what is older than a window before
	 * this one can match nothing any more. */
	fifo_prune(&f->kind[!from_kmsg], t > DEDUP_WINDOW_USEC ? t - DEDUP_WINDOW_USEC : 0, UINT32_MAX);

	/* Oldest unmatched sighting of the same error first, so that a burst of
	 * identical errors pairs up in order. */
	for (s = f->kind[!from_kmsg].head; s; s = s->next) {
		/* held sightings are not pruned: the window is checked on both sides */
		if (s->pec != e->pec || s->monotonic_usec > t + DEDUP_WINDOW_USEC ||
		    s->monotonic_usec + DEDUP_WINDOW_USEC < t)
			continue;

		DedupVerdict v = DEDUP_DUPLICATE;

		fifo_unlink(s);
		if (s->held) {
			held_unlink(d, s);
			if (ret_held_userdata)
				*ret_held_userdata = s->held_userdata;
			v = DEDUP_COMPLETES;
		} else if (!from_kmsg) {
			if (ret_earlier_seq)
				*ret_earlier_seq = s->seq;
			v = DEDUP_UPGRADE;
		}
		sighting_free(s);
		entry_drop_if_empty(d, f);
		return v;
	}

	fifo_prune(&f->kind[from_kmsg], t > DEDUP_KEEP_USEC ? t - DEDUP_KEEP_USEC : 0,
		   DEDUP_FUNCTION_MAX - 1);

	s = calloc(1, sizeof(*s));
	if (!s) {
		entry_drop_if_empty(d, f);
		return DEDUP_NEW; /* recorded, not remembered */
	}
	*s = (Sighting){
		.entry = f,
		.monotonic_usec = t,
		.seq = seq,
		.pec = e->pec,
		.from_kmsg = from_kmsg,
	};
	if (from_kmsg && hold_until > 0) {
		s->held = malloc(sizeof(ZpciEvent));
		if (s->held) {
			*s->held = *e;
			s->seq = 0;
			s->hold_until = hold_until;
			s->held_userdata = userdata;
			s->held_tag = tag;
			s->held_at_seq = seq;
			held_link(d, s);
		}
	}
	Fifo *q = &f->kind[from_kmsg];

	s->prev = q->tail;
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
	q->n++;
	return s->held ? DEDUP_HELD : DEDUP_NEW;
}

DedupVerdict dedup_check_hold(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t hold_until,
			      void *userdata, uint64_t *ret_earlier_seq, void **ret_held_userdata)
{
	return dedup_check_hold_tagged(d, e, seq, hold_until, userdata, 0, ret_earlier_seq,
				       ret_held_userdata);
}

DedupVerdict dedup_check(Dedup *d, const ZpciEvent *e, uint64_t seq, uint64_t *ret_earlier_seq)
{
	return dedup_check_hold(d, e, seq, 0, NULL, ret_earlier_seq, NULL);
}

bool dedup_is_duplicate(Dedup *d, const ZpciEvent *e, uint64_t drained_before)
{
	FidEntry *f;

	if (!(e->has & EVENT_HAS_PEC) || e->sources != EVENT_SOURCE_KMSG)
		return false;
	f = entry_get(d, e->fid, false);
	if (!f)
		return false;
	for (Sighting *s = f->kind[0].head; s; s = s->next)
		if (s->pec == e->pec && s->monotonic_usec < drained_before &&
		    s->monotonic_usec <= e->monotonic_usec + DEDUP_WINDOW_USEC &&
		    s->monotonic_usec + DEDUP_WINDOW_USEC >= e->monotonic_usec) {
			fifo_unlink(s);
			sighting_free(s);
			entry_drop_if_empty(d, f);
			return true;
		}
	return false;
}

uint64_t dedup_next_deadline(const Dedup *d)
{
	return d->held_head ? d->held_head->hold_until : 0;
}

size_t dedup_n_held(const Dedup *d)
{
	return d->n_held;
}

uint64_t dedup_oldest_held_tag(const Dedup *d, uint64_t *ret_seq)
{
	const Sighting *oldest = NULL;

	for (const Sighting *s = d->held_head; s; s = s->held_next)
		if (s->held_tag > 0 && (!oldest || s->held_tag < oldest->held_tag))
			oldest = s;
	if (ret_seq)
		*ret_seq = oldest ? oldest->held_at_seq : 0;
	return oldest ? oldest->held_tag : 0;
}

/* Record held sighting @s through @fn; it stays as a recorded sighting. */
static void release_one(Dedup *d, Sighting *s, DedupReleaseFn fn, void *userdata)
{
	ZpciEvent *e = s->held;
	void *held_userdata = s->held_userdata;

	held_unlink(d, s);
	s->held = NULL;
	s->held_userdata = NULL;
	s->held_tag = 0;
	s->hold_until = 0;
	s->seq = fn(userdata, e, held_userdata);
	free(e);
	if (s->seq == 0) {
		FidEntry *f = s->entry;

		fifo_unlink(s);
		sighting_free(s);
		entry_drop_if_empty(d, f);
	}
}

size_t dedup_release(Dedup *d, uint64_t now, DedupReleaseFn fn, void *userdata)
{
	size_t n = 0;

	while (d->held_head && d->held_head->hold_until <= now) {
		release_one(d, d->held_head, fn, userdata);
		n++;
	}
	return n;
}

size_t dedup_release_userdata(Dedup *d, const void *held_userdata, DedupReleaseFn fn, void *userdata)
{
	Sighting *s = d->held_head;
	size_t n = 0;

	while (s) {
		Sighting *next = s->held_next;

		if (s->held_userdata == held_userdata) {
			release_one(d, s, fn, userdata);
			n++;
		}
		s = next;
	}
	return n;
}
