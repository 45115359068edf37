/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The durability promise of the history against a process kill: a child
 * appends a storm of events and reports each sequence number on a pipe once
 * history_append() returned; the parent SIGKILLs it at a random moment and
 * reopens. Every reported record must be there, in order, once, with no
 * garbage; the one record that may have been in flight is either whole or
 * absent. The children continue one history, so each round also checks that
 * numbering resumes after a kill.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/history.h"

/* Kill points per run; ZPCID_KILL_ROUNDS asks for more (a soak run). */
#define ROUNDS_DEFAULT 25

static unsigned rounds(void)
{
	const char *e = getenv("ZPCID_KILL_ROUNDS");
	unsigned long n = e ? strtoul(e, NULL, 10) : 0;

	return n > 0 && n < 100000 ? (unsigned)n : ROUNDS_DEFAULT;
}

static HistoryLimits child_limits(unsigned sync_records)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;

	lim.max_file_size = 20 * 1024; /* rotations happen under the storm too */
	lim.max_files = 1000;          /* and nothing is deleted by rotation */
	lim.sync_records = sync_records;
	return lim;
}

static _noreturn_ void child_storm(const char *dir, int fd, unsigned sync_records)
{
	HistoryLimits lim = child_limits(sync_records);
	History *h = NULL;
	uint64_t seq;

	if (history_open(&h, dir, &lim, NULL) < 0)
		_exit(2);
	for (seq = history_last_seq(h) + 1;; seq++) {
		ZpciEvent e = { .seq = seq,
				.kind = EVENT_ERROR,
				.sources = EVENT_SOURCE_VFIO,
				.fid = (uint32_t)(seq % 7),
				.has = EVENT_HAS_PEC,
				.pec = 0x18 };

		e.time_usec = 1700000000000000ULL + seq;
		(void)snprintf(e.message, sizeof(e.message),
			       "storm record %llu with some text to make it longer",
			       (unsigned long long)seq);
		if (history_append(h, &e) < 0)
			_exit(3);
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(4);
	}
}

START_TEST(test_kill_during_storm)
{
	char dir[] = "/tmp/test-history-kill.XXXXXX", cmd[128];
	uint64_t expected_next = 1;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	for (unsigned round = 0, n_rounds = rounds(); round < n_rounds; round++) {
		HistoryLimits lim = child_limits(256);
		_cleanup_free_ ZpciEvent *ev = NULL;
		History *h = NULL;
		uint64_t seq, reported = 0, total, first_reported = 0;
		unsigned threshold = 1 + (unsigned)rand() % 1500, spin = (unsigned)rand() % 2000;
		int pfd[2], status;
		size_t n;
		pid_t pid;

		/* A fresh history every 20 kills, before rotation (1,000 files)
		 * would delete the oldest records this test counts on. */
		if (round > 0 && round % 20 == 0) {
			(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s'", dir, dir);
			ck_assert_int_eq(system(cmd), 0);
			expected_next = 1;
		}
		ck_assert_int_eq(pipe(pfd), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(pfd[0]);
			child_storm(dir, pfd[1], 1 + (unsigned)rand() % 64);
		}
		close(pfd[1]);

		/* Let it write a random number of records, then kill it at a random instant. */
		for (unsigned i = 0; i < threshold; i++) {
			ck_assert_int_eq(read(pfd[0], &seq, sizeof(seq)), (ssize_t)sizeof(seq));
			if (first_reported == 0)
				first_reported = seq;
			reported = seq;
		}
		for (volatile unsigned k = 0; k < spin * 100; k++)
			;
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* Everything it reported before dying. */
		while (read(pfd[0], &seq, sizeof(seq)) == (ssize_t)sizeof(seq))
			reported = seq;
		close(pfd[0]);
		ck_assert_uint_eq(first_reported, expected_next);

		ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
		ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 0);
		ck_assert_uint_ge(history_last_seq(h), reported);
		ck_assert_uint_le(history_last_seq(h), reported + 1);
		/* The newest record, read backwards from the end: the last one. */
		{
			HistoryQuery q = HISTORY_QUERY_ALL;

			q.newest_first = true;
			q.limit = 1;
			ck_assert_int_eq(history_query(h, &q, &ev, &n, NULL), 0);
			ck_assert_uint_eq(n, 1);
			ck_assert_uint_eq(ev[0].seq, history_last_seq(h));
		}

		/* Read the whole history back in pages: 1..last, each once, in order, all fields intact. */
		for (uint64_t off = 0;; off += n) {
			HistoryQuery q = HISTORY_QUERY_ALL;
			const ZpciEvent *bad = NULL;

			q.offset = off;
			q.limit = 5000;
			free(TAKE_PTR(ev));
			ck_assert_int_eq(history_query(h, &q, &ev, &n, &total), 0);
			/* one check per page: each ck_assert is a message to Check */
			for (size_t i = 0; i < n && !bad; i++)
				if (ev[i].seq != off + i + 1 || ev[i].fid != ev[i].seq % 7 ||
				    ev[i].pec != 0x18)
					bad = &ev[i];
			ck_assert_msg(!bad, "record %" PRIu64 ": seq %" PRIu64 " fid 0x%x pec 0x%x",
				      off + (uint64_t)(bad - ev) + 1, bad->seq, bad->fid, bad->pec);
			if (n == 0)
				break;
		}
		ck_assert_uint_eq(total, history_last_seq(h));
		ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 0);
		expected_next = history_last_seq(h) + 1;
		history_free(h);
	}

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *history_kill_suite(void)
{
	Suite *s = suite_create("history-kill");
	TCase *tc = tcase_create("kill");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kill_during_storm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(history_kill_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
