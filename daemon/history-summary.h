/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * history-summary: what the history says about a time window, as an
 * operator asks it: the functions and the adapters (PCHID) with the most
 * errors, each function's errors over time (counts per bucket: the series
 * behind zpcictl's sparkline), and the decisions taken (action records
 * counted per rule, action and result).
 *
 * Counting: an error record counts one error of its function, in the
 * bucket of its time; the full record of an error logged before (key
 * same_as, docs/history.md) is that error again and is not counted. A
 * dropped record adds its count to the function's dropped errors (the
 * kernel lost them: they have no time of their own and are not in the
 * series). Storm summaries are not counted: every event they summarise is
 * in the history itself. An action record counts one decision
 * under its rule ("manual" for one asked for by hand), action and result;
 * a follow-up (confirmed, unconfirmed, ...) is a result of its own.
 *
 * The records come from a walk of the history (daemon/history.h,
 * history_walk()), which reads only the files that overlap the window;
 * this module only aggregates: it reads no file and talks to no bus. The
 * walk's callbacks run on the history's reader thread; the rest on the
 * caller's.
 *
 * An adapter is a PCHID other than 0x0000 (which virtual functions such as
 * ISM report); a function without a PCHID belongs to none.
 *
 * Not done here: grouping by port (an adapter is its PCHID) and any
 * filter but one function.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/event.h"
#include "common/macro.h"
#include "daemon/history.h"

#define HISTORY_SUMMARY_BUCKETS_DEFAULT 24   /* buckets of a window without a bucket size */
#define HISTORY_SUMMARY_BUCKETS_MAX     1440 /* a day in minutes */
#define HISTORY_SUMMARY_TOP_DEFAULT     10
#define HISTORY_SUMMARY_TOP_MAX         1000

typedef struct HistorySummaryQuery {
	uint64_t since_usec;  /* time >= since; 0: from the oldest record in the history */
	uint64_t until_usec;  /* time < until; 0: until now */
	uint64_t bucket_usec; /* 0: the window in HISTORY_SUMMARY_BUCKETS_DEFAULT, whole seconds */
	unsigned top;         /* functions and adapters listed; 0: HISTORY_SUMMARY_TOP_DEFAULT */
	bool match_fid;       /* only the records of function @fid */
	uint32_t fid;
} HistorySummaryQuery;

typedef struct HistorySummaryFunction {
	uint32_t fid;
	bool has_pchid;
	uint16_t pchid; /* from its newest record that has one, or the registry */
	char slot[EVENT_SLOT_MAX];
	uint64_t errors;    /* error records */
	uint64_t dropped;   /* errors the kernel dropped */
	uint64_t last_usec; /* time of its newest error or dropped record */
	uint64_t peak;      /* the largest count of one bucket */
	uint64_t *series;   /* errors per bucket, n_buckets of them */
} HistorySummaryFunction;

typedef struct HistorySummaryAdapter {
	uint16_t pchid;
	unsigned functions; /* functions of this PCHID with errors or dropped errors */
	uint64_t errors, dropped;
	uint64_t last_usec;
} HistorySummaryAdapter;

typedef struct HistorySummaryDecision {
	char rule[EVENT_RULE_MAX];
	char action[EVENT_WORD_MAX];
	char result[EVENT_WORD_MAX];
	uint64_t count;
	uint64_t last_usec;
} HistorySummaryDecision;

typedef struct HistorySummary HistorySummary;

/* The result, valid until history_summary_free(). Lists are sorted: most
 * errors first (then most dropped, then the lower FID / PCHID); decisions
 * by count, then rule, action and result. */
typedef struct HistorySummaryResult {
	uint64_t since_usec, until_usec, bucket_usec; /* the window as resolved */
	unsigned n_buckets; /* bucket i covers [since + i * bucket, since + (i + 1) * bucket) ∩ window */
	uint64_t records;   /* records in the window (of the function, with match_fid) */
	uint64_t errors;    /* error records */
	uint64_t dropped;   /* dropped errors */
	uint64_t decisions; /* action records */
	const uint64_t *series;                  /* errors per bucket over all functions */
	const HistorySummaryFunction *functions; /* the top ones */
	size_t n_functions, functions_total;     /* listed / with errors or dropped errors */
	const HistorySummaryAdapter *adapters;
	size_t n_adapters, adapters_total;
	const HistorySummaryDecision *decisions_list; /* all of them */
	size_t n_decisions;
	HistoryWalkStats walk; /* set by the caller: what the walk read */
} HistorySummaryResult;

/* Start a summary of @q at realtime @now_usec. Returns 0, -EINVAL (until
 * not after since, bucket below a second), -ERANGE (more than
 * HISTORY_SUMMARY_BUCKETS_MAX buckets, top above HISTORY_SUMMARY_TOP_MAX)
 * or -ENOMEM. */
int history_summary_new(HistorySummary **ret, const HistorySummaryQuery *q, uint64_t now_usec);

/* Free. Accepts NULL, returns NULL. */
HistorySummary *history_summary_free(HistorySummary *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HistorySummary *, history_summary_free);

/* The walk that feeds @s (for history_walk() / history_walk_async() with
 * @s as userdata); valid while @s is. Its begin resolves a window without
 * a start (-ERANGE when it then has too many buckets). */
const HistoryWalk *history_summary_walk(HistorySummary *s);

/* Count one record (one of the window: the walk checked its time).
 * Returns 0 or -ENOMEM. */
int history_summary_add(HistorySummary *s, const ZpciEvent *e);

/* Where no record of a function had its PCHID: *@ret_pchid of function
 * @fid, returning true when known. */
typedef bool (*HistorySummaryPchid)(uint32_t fid, uint16_t *ret_pchid, void *userdata);

/* Rank what was counted and return the result (once; @pchid_of may be NULL).
 * Returns 0 or -ENOMEM. */
int history_summary_finish(HistorySummary *s, HistorySummaryPchid pchid_of, void *userdata,
			   HistorySummaryResult **ret);
