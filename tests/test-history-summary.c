/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The summaries of a known scenario, written to a real history that
 * rotates over several files, checked number by number: the top functions
 * and adapters, the series per bucket, the decisions, and which files the
 * walk read.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/history-summary.h"
#include "tests/test-util.h"

#define T0 (1700000000ULL * USEC_PER_SEC)
#define S  USEC_PER_SEC

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test-history-summary.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	test_rm_rf(dir);
}

static uint64_t next_seq = 1;

static void add(History *h, EventKind kind, uint64_t time, uint32_t fid, int pchid, const char *rule,
		const char *action, const char *result, uint32_t count)
{
	ZpciEvent e = { .seq = next_seq++, .kind = kind, .sources = EVENT_SOURCE_KMSG, .fid = fid };

	e.time_usec = time;
	e.monotonic_usec = e.seq * S;
	(void)snprintf(e.slot, sizeof(e.slot), "%04x:00:00.0", fid);
	if (pchid >= 0) {
		e.pchid = (uint16_t)pchid;
		e.has |= EVENT_HAS_PCHID;
	}
	if (kind == EVENT_ERROR) {
		e.pec = 0x3a;
		e.has |= EVENT_HAS_PEC;
	}
	if (kind == EVENT_RECOVERY)
		e.recovery = RECOVERY_BEGIN;
	if (count) {
		e.count = count;
		e.has |= EVENT_HAS_COUNT;
	}
	if (rule) {
		e.sources = EVENT_SOURCE_DAEMON;
		(void)snprintf(e.rule, sizeof(e.rule), "%s", rule);
		(void)snprintf(e.action, sizeof(e.action), "%s", action);
		(void)snprintf(e.result, sizeof(e.result), "%s", result);
	}
	event_format_message(&e);
	ck_assert_int_eq(history_append(h, &e), 0);
}

static void error_at(History *h, uint64_t sec, uint32_t fid, int pchid)
{
	add(h, EVENT_ERROR, T0 + sec * S, fid, pchid, NULL, NULL, NULL, 0);
}

static void action_at(History *h, uint64_t sec, uint32_t fid, const char *rule, const char *action,
		      const char *result)
{
	add(h, EVENT_ACTION, T0 + sec * S, fid, 0x1a0, rule, action, result, 0);
}

/* Older records that fill files of their own, the scenario of the window
 * [T0, T0 + 600 s), and newer records after it. */
static History *write_scenario(void)
{
	HistoryLimits l = HISTORY_LIMITS_DEFAULT;
	History *h = NULL;

	l.max_file_size = 17 * 1024; /* about 50 records per file */
	l.max_files = 12;
	ck_assert_int_eq(history_open(&h, dir, &l, NULL), 0);
	next_seq = 1;
	for (unsigned i = 0; i < 150; i++) /* T0 - 10000 s ... */
		add(h, EVENT_ERROR, T0 - (10000 - i) * S, 0x50, 0x5e0, NULL, NULL, NULL, 0);
	error_at(h, 0, 0x40, 0x3c0) /* at the start: in */;
	add(h, EVENT_ERROR, T0 - 1, 0x40, 0x3c0, NULL, NULL, NULL, 0); /* 1 µs before: out */
	error_at(h, 5, 0x10, 0x1a0);
	error_at(h, 65, 0x10, 0x1a0);
	error_at(h, 66, 0x10, 0x1a0);
	error_at(h, 67, 0x10, 0x1a0);
	add(h, EVENT_RECOVERY, T0 + 68 * S, 0x10, 0x1a0, NULL, NULL, NULL, 0);
	action_at(h, 68, 0x10, "storm-reset", "reset", "done");
	error_at(h, 70, 0x11, 0x1a0);
	error_at(h, 71, 0x11, 0x1a0);
	add(h, EVENT_DROPPED, T0 + 72 * S, 0x11, 0x1a0, NULL, NULL, NULL, 7);
	/* a storm summary repeats errors that are in the history: not counted */
	add(h, EVENT_SUMMARY, T0 + 80 * S, 0x10, 0x1a0, NULL, NULL, NULL, 50);
	for (unsigned i = 0; i < 4; i++)
		error_at(h, 120 + i, 0x20, 0x2b0);
	action_at(h, 125, 0x20, "storm-reset", "reset", "done");
	action_at(h, 190, 0x20, "storm-reset", "reset", "confirmed");
	for (unsigned i = 0; i < 3; i++)
		action_at(h, 200 + i, 0x20, "alert-all", "alert", "done");
	error_at(h, 300, 0x10, 0x1a0);
	error_at(h, 400, 0x30, -1); /* its PCHID only the registry knows */
	action_at(h, 401, 0x30, "manual", "recover", "failed");
	error_at(h, 450, 0x41, 0x0000); /* a virtual function: of no adapter */
	error_at(h, 599, 0x11, 0x1a0);
	add(h, EVENT_ERROR, T0 + 600 * S, 0x40, 0x3c0, NULL, NULL, NULL, 0); /* at until: out */
	action_at(h, 700, 0x10, "storm-reset", "reset", "done");
	for (unsigned i = 0; i < 150; i++) /* T0 + 10000 s ... */
		add(h, EVENT_ERROR, T0 + (10000 + i) * S, 0x50, 0x5e0, NULL, NULL, NULL, 0);
	return h;
}

static bool registry_pchid(uint32_t fid, uint16_t *ret, void *userdata)
{
	unsigned *calls = userdata;

	(*calls)++;
	if (fid != 0x30)
		return false;
	*ret = 0x2b0;
	return true;
}

static const HistorySummaryQuery window = {
	.since_usec = T0, .until_usec = T0 + 600 * S, .bucket_usec = 60 * S, .top = 4
};

static void check_scenario(const HistorySummaryResult *r, unsigned registry_calls)
{
	static const uint64_t total[10] = { 2, 5, 4, 0, 0, 1, 1, 1, 0, 1 };
	static const uint64_t f10[10] = { 1, 3, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const uint64_t f11[10] = { 0, 2, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint64_t f20[10] = { 0, 0, 4, 0, 0, 0, 0, 0, 0, 0 };
	static const struct {
		const char *rule, *action, *result;
		uint64_t count;
	} decisions[] = { { "alert-all", "alert", "done", 3 },
			  { "storm-reset", "reset", "done", 2 },
			  { "manual", "recover", "failed", 1 },
			  { "storm-reset", "reset", "confirmed", 1 } };

	ck_assert_uint_eq(r->since_usec, T0);
	ck_assert_uint_eq(r->until_usec, T0 + 600 * S);
	ck_assert_uint_eq(r->bucket_usec, 60 * S);
	ck_assert_uint_eq(r->n_buckets, 10);
	/* 15 errors, 1 dropped, 1 recovery, 1 summary, 7 actions */
	ck_assert_uint_eq(r->records, 25);
	ck_assert_uint_eq(r->errors, 15);
	ck_assert_uint_eq(r->dropped, 7);
	ck_assert_uint_eq(r->decisions, 7);
	for (unsigned b = 0; b < 10; b++)
		ck_assert_uint_eq(r->series[b], total[b]);

	/* top 4 of 6: 0x10 (5), 0x20 (4), 0x11 (3 + 7 dropped), then 0x30,
	 * 0x40 and 0x41 with 1 each: the lower FID first */
	ck_assert_uint_eq(r->functions_total, 6);
	ck_assert_uint_eq(r->n_functions, 4);
	ck_assert_uint_eq(r->functions[0].fid, 0x10);
	ck_assert_uint_eq(r->functions[0].errors, 5);
	ck_assert_uint_eq(r->functions[0].peak, 3);
	ck_assert_uint_eq(r->functions[0].last_usec, T0 + 300 * S);
	ck_assert_str_eq(r->functions[0].slot, "0010:00:00.0");
	ck_assert_uint_eq(r->functions[1].fid, 0x20);
	ck_assert_uint_eq(r->functions[1].errors, 4);
	ck_assert_uint_eq(r->functions[2].fid, 0x11);
	ck_assert_uint_eq(r->functions[2].errors, 3);
	ck_assert_uint_eq(r->functions[2].dropped, 7);
	ck_assert_uint_eq(r->functions[2].last_usec, T0 + 599 * S);
	ck_assert_uint_eq(r->functions[3].fid, 0x30);
	ck_assert_uint_eq(r->functions[3].errors, 1);
	ck_assert(r->functions[3].has_pchid == (registry_calls > 0));
	for (unsigned b = 0; b < 10; b++) {
		ck_assert_uint_eq(r->functions[0].series[b], f10[b]);
		ck_assert_uint_eq(r->functions[1].series[b], f20[b]);
		ck_assert_uint_eq(r->functions[2].series[b], f11[b]);
		ck_assert_uint_eq(r->functions[3].series[b], b == 6);
	}

	/* adapters: 0x1a0 (0x10, 0x11: 8 + 7 dropped), 0x2b0 (0x20 and, from
	 * the registry, 0x30: 5), 0x3c0 (0x40: 1); 0x41 (PCHID 0) in none */
	ck_assert_uint_eq(r->adapters_total, 3);
	ck_assert_uint_eq(r->adapters[0].pchid, 0x1a0);
	ck_assert_uint_eq(r->adapters[0].functions, 2);
	ck_assert_uint_eq(r->adapters[0].errors, 8);
	ck_assert_uint_eq(r->adapters[0].dropped, 7);
	ck_assert_uint_eq(r->adapters[1].pchid, 0x2b0);
	ck_assert_uint_eq(r->adapters[1].functions, registry_calls > 0 ? 2 : 1);
	ck_assert_uint_eq(r->adapters[1].errors, registry_calls > 0 ? 5 : 4);
	ck_assert_uint_eq(r->adapters[2].pchid, 0x3c0);
	ck_assert_uint_eq(r->adapters[2].errors, 1);

	ck_assert_uint_eq(r->n_decisions, 4);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_str_eq(r->decisions_list[i].rule, decisions[i].rule);
		ck_assert_str_eq(r->decisions_list[i].action, decisions[i].action);
		ck_assert_str_eq(r->decisions_list[i].result, decisions[i].result);
		ck_assert_uint_eq(r->decisions_list[i].count, decisions[i].count);
	}
	ck_assert_uint_eq(r->decisions_list[0].last_usec, T0 + 202 * S);
}

static void summarise(History *h, const HistorySummaryQuery *q, HistorySummaryPchid pchid_of, void *ud,
		      HistorySummary **ret_s, HistorySummaryResult **ret)
{
	HistoryWalkStats st;

	ck_assert_int_eq(history_summary_new(ret_s, q, T0 + 20000 * S), 0);
	ck_assert_int_eq(history_walk(h, history_summary_walk(*ret_s), *ret_s, &st), 0);
	ck_assert_int_eq(history_summary_finish(*ret_s, pchid_of, ud, ret), 0);
	(*ret)->walk = st;
}

START_TEST(test_known_scenario)
{
	_cleanup_(history_freep) History *h = write_scenario();
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	HistorySummaryResult *r;
	unsigned calls = 0;

	summarise(h, &window, registry_pchid, &calls, &s, &r);
	/* asked only for 0x30, the one function without a PCHID in its records */
	ck_assert_uint_eq(calls, 1);
	check_scenario(r, calls);
	/* the files of the older and the newer records are not read */
	ck_assert_uint_ge(r->walk.files, 6);
	ck_assert_uint_le(r->walk.files_read, 2);
	ck_assert_uint_eq(r->walk.records, 25);

	/* without the registry: 0x30 has no adapter */
	s = history_summary_free(s);
	summarise(h, &window, NULL, NULL, &s, &r);
	check_scenario(r, 0);
}
END_TEST

START_TEST(test_without_index)
{
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	HistorySummaryResult *r;
	History *h = write_scenario();
	char path[128];
	unsigned calls = 0;

	h = history_free(h);
	(void)snprintf(path, sizeof(path), "%s/history.index", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(history_open(&h, dir,
				      &(HistoryLimits){ .max_file_size = 17 * 1024,
							.max_files = 12,
							.sync_interval_usec = S,
							.sync_records = 256 },
				      NULL),
			 0);
	summarise(h, &window, registry_pchid, &calls, &s, &r);
	check_scenario(r, calls);
	/* the summaries were built again, and still only the window's files were read */
	ck_assert_uint_ge(history_stats(h)->summaries_read, 6);
	ck_assert_uint_le(r->walk.files_read, 2);
	h = history_free(h);
}
END_TEST

START_TEST(test_one_function_and_open_window)
{
	_cleanup_(history_freep) History *h = write_scenario();
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	HistorySummaryQuery q = window;
	HistorySummaryResult *r;

	q.match_fid = true;
	q.fid = 0x11;
	summarise(h, &q, NULL, NULL, &s, &r);
	ck_assert_uint_eq(r->functions_total, 1);
	ck_assert_uint_eq(r->functions[0].fid, 0x11);
	ck_assert_uint_eq(r->errors, 3);
	ck_assert_uint_eq(r->series[1], 2);
	ck_assert_uint_eq(r->series[9], 1);
	ck_assert_uint_eq(r->n_decisions, 0);
	s = history_summary_free(s);

	/* no start: from the oldest record; no bucket: a 24th of the window, whole seconds */
	q = (HistorySummaryQuery){ .until_usec = T0 + 600 * S };
	summarise(h, &q, NULL, NULL, &s, &r);
	ck_assert_uint_eq(r->since_usec, T0 - 10000 * S);
	ck_assert_uint_eq(r->bucket_usec, 442 * S); /* 10600 s / 24 = 441.67 s */
	ck_assert_uint_eq(r->n_buckets, 24);
	ck_assert_uint_eq(r->errors, 15 + 150 + 1); /* and the one 1 µs before T0 */
	ck_assert_uint_eq(r->functions[0].fid, 0x50);
	ck_assert_uint_eq(r->functions[0].errors, 150);
	ck_assert_uint_eq(r->n_functions, 7);
	s = history_summary_free(s);

	/* an empty window */
	q = (HistorySummaryQuery){ .since_usec = T0 + 5000 * S, .until_usec = T0 + 6000 * S };
	summarise(h, &q, NULL, NULL, &s, &r);
	ck_assert_uint_eq(r->records, 0);
	ck_assert_uint_eq(r->n_functions, 0);
	ck_assert_uint_eq(r->n_adapters, 0);
	ck_assert_uint_eq(r->n_buckets, 24);
}
END_TEST

/* The full record of an error logged first by the kernel (same_as) is that
 * error again: counted once. */
START_TEST(test_full_record_counted_once)
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	HistorySummaryResult *r;
	ZpciEvent full = { .kind = EVENT_ERROR,
			   .sources = EVENT_SOURCE_VFIO | EVENT_SOURCE_KMSG,
			   .fid = 0x10 };

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	next_seq = 1;
	error_at(h, 5, 0x10, 0x1a0);
	full.seq = next_seq++;
	full.same_as = 1;
	full.time_usec = T0 + 5 * S + 1;
	full.pec = 0x3a;
	full.has = EVENT_HAS_PEC;
	event_format_message(&full);
	ck_assert_int_eq(history_append(h, &full), 0);
	error_at(h, 6, 0x10, 0x1a0);

	summarise(h, &window, NULL, NULL, &s, &r);
	ck_assert_uint_eq(r->records, 3);
	ck_assert_uint_eq(r->errors, 2);
	ck_assert_uint_eq(r->n_functions, 1);
	ck_assert_uint_eq(r->functions[0].errors, 2);
}
END_TEST

START_TEST(test_limits)
{
	HistorySummary *s = NULL;

	ck_assert_int_eq(history_summary_new(&s,
					     &(HistorySummaryQuery){ .since_usec = T0,
								     .until_usec = T0 + 1441 * 60 * S,
								     .bucket_usec = 60 * S },
					     T0),
			 -ERANGE);
	ck_assert_int_eq(
		history_summary_new(&s, &(HistorySummaryQuery){ .since_usec = T0, .top = 1001 }, T0 + S),
		-ERANGE);
	ck_assert_int_eq(
		history_summary_new(&s, &(HistorySummaryQuery){ .since_usec = T0, .until_usec = T0 }, T0),
		-EINVAL);
	ck_assert_int_eq(history_summary_new(&s,
					     &(HistorySummaryQuery){ .since_usec = T0, .bucket_usec = 1000 },
					     T0 + S),
			 -EINVAL);
	ck_assert_ptr_null(s);
}
END_TEST

typedef struct AsyncDone {
	struct event_base *base;
	int result;
	HistoryWalkStats stats;
	bool done;
} AsyncDone;

static void on_walked(int result, const HistoryWalkStats *stats, void *userdata)
{
	AsyncDone *d = userdata;

	d->result = result;
	d->stats = *stats;
	d->done = true;
	(void)event_base_loopbreak(d->base);
}

/* The walk on the history's reader thread, the answer on the loop. */
START_TEST(test_on_the_reader)
{
	_cleanup_(history_freep) History *h = write_scenario();
	_cleanup_(history_summary_freep) HistorySummary *s = NULL;
	struct event_base *base = event_base_new();
	AsyncDone d = { .base = base };
	HistorySummaryResult *r;
	unsigned calls = 0;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(history_attach_event(h, base, NULL), 0);
	ck_assert_int_eq(history_summary_new(&s, &window, T0), 0);
	ck_assert_int_eq(history_walk_async(h, history_summary_walk(s), s, on_walked, &d), 0);
	while (!d.done)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(d.result, 0);
	ck_assert_int_eq(history_summary_finish(s, registry_pchid, &calls, &r), 0);
	check_scenario(r, calls);
	ck_assert_uint_eq(d.stats.records, 25);
	ck_assert_int_eq(history_attach_event(h, NULL, NULL), 0);
	event_base_free(base);
}
END_TEST

static Suite *history_summary_suite(void)
{
	Suite *s = suite_create("history-summary");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_known_scenario);
	tcase_add_test(tc, test_without_index);
	tcase_add_test(tc, test_one_function_and_open_window);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_full_record_counted_once);
	tcase_add_test(tc, test_on_the_reader);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(history_summary_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
