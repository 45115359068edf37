/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/history-summary.h"

/* One (bucket, count) of a function's series: errors come in storms, so a
 * function keeps only the buckets it has errors in, not the whole window. */
typedef struct BucketCount {
	uint32_t bucket;
	uint64_t count;
} BucketCount;

typedef struct FunctionSlot {
	bool used;
	HistorySummaryFunction f;
	BucketCount *buckets; /* in the order they came */
	size_t n_buckets, alloc;
} FunctionSlot;

struct HistorySummary {
	HistorySummaryQuery q;
	HistoryWalk walk;
	HistorySummaryResult result;
	bool finished;
	uint64_t *series;    /* all functions, n_buckets */
	FunctionSlot *slots; /* open addressing by FID, a power of two */
	size_t n_slots, n_used;
	HistorySummaryFunction *functions; /* the result's, owning their series */
	size_t n_functions;
	HistorySummaryAdapter *adapters;
	HistorySummaryDecision *decisions;
	size_t n_decisions, decisions_alloc;
};

static int resolve_buckets(HistorySummary *s)
{
	HistorySummaryResult *r = &s->result;
	uint64_t span = r->until_usec - r->since_usec;

	if (r->bucket_usec == 0) {
		uint64_t b = (span + HISTORY_SUMMARY_BUCKETS_DEFAULT - 1) / HISTORY_SUMMARY_BUCKETS_DEFAULT;

		r->bucket_usec = MAX((b + USEC_PER_SEC - 1) / USEC_PER_SEC, (uint64_t)1) * USEC_PER_SEC;
	}
	if ((span + r->bucket_usec - 1) / r->bucket_usec > HISTORY_SUMMARY_BUCKETS_MAX)
		return -ERANGE;
	r->n_buckets = (unsigned)((span + r->bucket_usec - 1) / r->bucket_usec);
	s->series = calloc(r->n_buckets ? r->n_buckets : 1, sizeof(uint64_t));
	if (!s->series)
		return -ENOMEM;
	r->series = s->series;
	return 0;
}

static int summary_begin(uint64_t oldest_usec, void *userdata)
{
	HistorySummary *s = ASSERT_PTR(userdata);

	if (s->series)
		return 0; /* the window had a start */
	/* From the oldest record: an empty history has an empty window. */
	s->result.since_usec = oldest_usec > 0 && oldest_usec < s->result.until_usec ? oldest_usec
										     : s->result.until_usec;
	return resolve_buckets(s);
}

static int summary_record(const ZpciEvent *e, void *userdata)
{
	return history_summary_add(ASSERT_PTR(userdata), e);
}

int history_summary_new(HistorySummary **ret, const HistorySummaryQuery *q, uint64_t now_usec)
{
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	int r;

	if (q->top > HISTORY_SUMMARY_TOP_MAX)
		return -ERANGE;
	if (q->bucket_usec != 0 && q->bucket_usec < USEC_PER_SEC)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->q = *q;
	if (s->q.top == 0)
		s->q.top = HISTORY_SUMMARY_TOP_DEFAULT;
	s->result.until_usec = q->until_usec ? q->until_usec : now_usec + 1;
	s->result.since_usec = q->since_usec;
	s->result.bucket_usec = q->bucket_usec;
	if (q->since_usec && s->result.until_usec <= q->since_usec)
		return -EINVAL;
	if (q->since_usec) {
		r = resolve_buckets(s);
		if (r < 0)
			return r;
	}
	s->walk = (HistoryWalk){ .since_usec = q->since_usec,
				 .until_usec = s->result.until_usec,
				 .begin = summary_begin,
				 .record = summary_record };
	*ret = TAKE_PTR(s);
	return 0;
}

HistorySummary *history_summary_free(HistorySummary *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_slots; i++)
		free(s->slots[i].buckets);
	free(s->slots);
	for (size_t i = 0; i < s->n_functions; i++)
		free(s->functions[i].series);
	free(s->functions);
	free(s->adapters);
	free(s->decisions);
	free(s->series);
	free(s);
	return NULL;
}

const HistoryWalk *history_summary_walk(HistorySummary *s)
{
	return &s->walk;
}

static size_t fid_hash(uint32_t fid, size_t n_slots)
{
	return (size_t)((fid * 2654435761u) & (n_slots - 1));
}

static int slots_grow(HistorySummary *s)
{
	size_t n = s->n_slots ? s->n_slots * 2 : 64;
	FunctionSlot *slots = calloc(n, sizeof(FunctionSlot));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_slots; i++) {
		size_t k;

		if (!s->slots[i].used)
			continue;
		for (k = fid_hash(s->slots[i].f.fid, n); slots[k].used; k = (k + 1) & (n - 1))
			;
		slots[k] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->n_slots = n;
	return 0;
}

static FunctionSlot *function_slot(HistorySummary *s, uint32_t fid)
{
	size_t k;

	if ((s->n_used + 1) * 2 > s->n_slots && slots_grow(s) < 0)
		return NULL;
	for (k = fid_hash(fid, s->n_slots); s->slots[k].used; k = (k + 1) & (s->n_slots - 1))
		if (s->slots[k].f.fid == fid)
			return &s->slots[k];
	s->slots[k] = (FunctionSlot){ .used = true, .f = { .fid = fid } };
	s->n_used++;
	return &s->slots[k];
}

static int slot_count_bucket(FunctionSlot *slot, uint32_t bucket)
{
	if (slot->n_buckets > 0 && slot->buckets[slot->n_buckets - 1].bucket == bucket) {
		slot->buckets[slot->n_buckets - 1].count++;
		return 0;
	}
	if (slot->n_buckets == slot->alloc) {
		size_t na = slot->alloc ? slot->alloc * 2 : 4;
		BucketCount *b = reallocarray(slot->buckets, na, sizeof(BucketCount));

		if (!b)
			return -ENOMEM;
		slot->buckets = b;
		slot->alloc = na;
	}
	slot->buckets[slot->n_buckets++] = (BucketCount){ .bucket = bucket, .count = 1 };
	return 0;
}

static int count_decision(HistorySummary *s, const ZpciEvent *e)
{
	HistorySummaryDecision *d;

	for (size_t i = 0; i < s->n_decisions; i++) {
		d = &s->decisions[i];
		if (streq(d->rule, e->rule) && streq(d->action, e->action) && streq(d->result, e->result)) {
			d->count++;
			d->last_usec = MAX(d->last_usec, e->time_usec);
			return 0;
		}
	}
	if (s->n_decisions == s->decisions_alloc) {
		size_t na = s->decisions_alloc ? s->decisions_alloc * 2 : 16;
		HistorySummaryDecision *p = reallocarray(s->decisions, na, sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->decisions = p;
		s->decisions_alloc = na;
	}
	d = &s->decisions[s->n_decisions++];
	*d = (HistorySummaryDecision){ .count = 1, .last_usec = e->time_usec };
	(void)snprintf(d->rule, sizeof(d->rule), "%s", e->rule);
	(void)snprintf(d->action, sizeof(d->action), "%s", e->action);
	(void)snprintf(d->result, sizeof(d->result), "%s", e->result);
	return 0;
}

int history_summary_add(HistorySummary *s, const ZpciEvent *e)
{
	HistorySummaryResult *r = &s->result;
	FunctionSlot *slot;

	if (s->q.match_fid && e->fid != s->q.fid)
		return 0;
	if (!s->series) {
		/* no begin (a caller feeding records itself): the window starts at the first */
		int k = summary_begin(e->time_usec, s);

		if (k < 0)
			return k;
	}
	if (e->time_usec < r->since_usec || e->time_usec >= r->until_usec)
		return 0;
	r->records++;
	if (e->kind == EVENT_ACTION) {
		r->decisions++;
		return count_decision(s, e);
	}
	if (e->kind != EVENT_ERROR && e->kind != EVENT_DROPPED)
		return 0;
	if (e->same_as != 0) /* the full record of an error counted with its first record */
		return 0;

	slot = function_slot(s, e->fid);
	if (!slot)
		return -ENOMEM;
	if (e->has & EVENT_HAS_PCHID) {
		slot->f.has_pchid = true;
		slot->f.pchid = e->pchid;
	}
	if (e->slot[0])
		(void)snprintf(slot->f.slot, sizeof(slot->f.slot), "%s", e->slot);
	slot->f.last_usec = MAX(slot->f.last_usec, e->time_usec);
	if (e->kind == EVENT_DROPPED) {
		uint64_t n = (e->has & EVENT_HAS_COUNT) ? e->count : 1;

		slot->f.dropped += n;
		r->dropped += n;
		return 0;
	}
	{
		uint32_t b = (uint32_t)((e->time_usec - r->since_usec) / r->bucket_usec);

		if (b >= r->n_buckets) /* cannot happen: the window is whole buckets */
			b = r->n_buckets - 1;
		slot->f.errors++;
		r->errors++;
		s->series[b]++;
		return slot_count_bucket(slot, b);
	}
}

static int compare_functions(const void *a, const void *b)
{
	const HistorySummaryFunction *x = a, *y = b;

	if (x->errors != y->errors)
		return x->errors > y->errors ? -1 : 1;
	if (x->dropped != y->dropped)
		return x->dropped > y->dropped ? -1 : 1;
	return x->fid < y->fid ? -1 : x->fid > y->fid;
}

static int compare_adapters(const void *a, const void *b)
{
	const HistorySummaryAdapter *x = a, *y = b;

	if (x->errors != y->errors)
		return x->errors > y->errors ? -1 : 1;
	if (x->dropped != y->dropped)
		return x->dropped > y->dropped ? -1 : 1;
	return x->pchid < y->pchid ? -1 : x->pchid > y->pchid;
}

static int compare_decisions(const void *a, const void *b)
{
	const HistorySummaryDecision *x = a, *y = b;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = strcmp(x->rule, y->rule);
	if (c == 0)
		c = strcmp(x->action, y->action);
	if (c == 0)
		c = strcmp(x->result, y->result);
	return c;
}

/* The adapters of all functions (not only the top ones), by PCHID. */
static int rank_adapters(HistorySummary *s, const HistorySummaryFunction *all, size_t n)
{
	HistorySummaryResult *r = &s->result;
	size_t n_adapters = 0;

	s->adapters = calloc(n ? n : 1, sizeof(HistorySummaryAdapter));
	if (!s->adapters)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		HistorySummaryAdapter *a = NULL;

		if (!all[i].has_pchid || all[i].pchid == 0)
			continue; /* PCHID 0: a virtual function (ISM), of no adapter */
		for (size_t k = 0; k < n_adapters && !a; k++)
			if (s->adapters[k].pchid == all[i].pchid)
				a = &s->adapters[k];
		if (!a) {
			a = &s->adapters[n_adapters++];
			a->pchid = all[i].pchid;
		}
		a->functions++;
		a->errors += all[i].errors;
		a->dropped += all[i].dropped;
		a->last_usec = MAX(a->last_usec, all[i].last_usec);
	}
	qsort_safe(s->adapters, n_adapters, sizeof(HistorySummaryAdapter), compare_adapters);
	r->adapters = s->adapters;
	r->adapters_total = n_adapters;
	r->n_adapters = MIN(n_adapters, (size_t)s->q.top);
	return 0;
}

int history_summary_finish(HistorySummary *s, HistorySummaryPchid pchid_of, void *userdata,
			   HistorySummaryResult **ret)
{
	HistorySummaryResult *r = &s->result;
	_cleanup_free_ HistorySummaryFunction *all = NULL;
	size_t n = 0;
	int k;

	if (s->finished) {
		*ret = r;
		return 0;
	}
	if (!s->series) {
		k = summary_begin(0, s); /* nothing came: an empty window */
		if (k < 0)
			return k;
	}
	all = calloc(s->n_used ? s->n_used : 1, sizeof(HistorySummaryFunction));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].used) {
			all[n] = s->slots[i].f;
			all[n].series = (uint64_t *)&s->slots[i]; /* found again below */
			if (!all[n].has_pchid && pchid_of)
				all[n].has_pchid = pchid_of(all[n].fid, &all[n].pchid, userdata);
			n++;
		}
	qsort_safe(all, n, sizeof(HistorySummaryFunction), compare_functions);
	k = rank_adapters(s, all, n);
	if (k < 0)
		return k;

	r->functions_total = n;
	r->n_functions = MIN(n, (size_t)s->q.top);
	s->functions = calloc(r->n_functions ? r->n_functions : 1, sizeof(HistorySummaryFunction));
	if (!s->functions)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_functions; i++) {
		const FunctionSlot *slot = (const FunctionSlot *)all[i].series;
		HistorySummaryFunction *f = &s->functions[i];

		*f = all[i];
		f->series = calloc(r->n_buckets ? r->n_buckets : 1, sizeof(uint64_t));
		if (!f->series)
			return -ENOMEM;
		s->n_functions = i + 1;
		for (size_t b = 0; b < slot->n_buckets; b++)
			f->series[slot->buckets[b].bucket] += slot->buckets[b].count;
		for (unsigned b = 0; b < r->n_buckets; b++)
			f->peak = MAX(f->peak, f->series[b]);
	}
	r->functions = s->functions;

	qsort_safe(s->decisions, s->n_decisions, sizeof(HistorySummaryDecision), compare_decisions);
	r->decisions_list = s->decisions;
	r->n_decisions = s->n_decisions;
	s->finished = true;
	*ret = r;
	return 0;
}
