/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The history on a hostile disk: full (a small tmpfs), read-only, and cut
 * at any byte. Each test runs in a mount namespace of its own (Check forks
 * one process per test), so the tmpfs is private and vanishes with it.
 * Without the rights to make one the program exits 77.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/history.h"
#include "tests/test-util.h"

static char dir[64];

/* A private tmpfs of @size_kib at dir. Returns 0 or -errno. */
static int private_tmpfs(unsigned size_kib)
{
	char opts[64];

	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	(void)snprintf(opts, sizeof(opts), "size=%uk,mode=0700", size_kib);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0)
		return -errno;
	return 0;
}

static void setup(void)
{
	strcpy(dir, "/tmp/test-history-faults.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	(void)umount2(dir, MNT_DETACH);
	test_rm_rf(dir);
}

static ZpciEvent make_event(uint64_t seq)
{
	ZpciEvent e = { .seq = seq, .kind = EVENT_ERROR, .sources = EVENT_SOURCE_KMSG, .fid = 0x11 };

	e.time_usec = 1700000000000000ULL + seq;
	e.has = EVENT_HAS_PEC;
	e.pec = 0x3a;
	(void)snprintf(e.message, sizeof(e.message), "event %llu", (unsigned long long)seq);
	return e;
}

static size_t count_messages(const Log *l, const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < log_memory_count(l); i++)
		if (strstr(log_memory_get(l, i)->message, text))
			n++;
	return n;
}

/* Reopen and check that exactly seq 1..@last are there, in order. */
static void check_exactly(uint64_t last)
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	HistoryQuery q = HISTORY_QUERY_ALL;
	uint64_t total;
	size_t n;

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	ck_assert_uint_eq(history_last_seq(h), last);
	ck_assert_int_eq(history_query(h, &q, &ev, &n, &total), 0);
	ck_assert_uint_eq(n, last);
	ck_assert_uint_eq(total, last);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(ev[i].seq, i + 1);
	ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 0);
}

/* A full disk: one error when it starts, one notice with the count when it
 * ends; no partial record; what was acknowledged is there. */
START_TEST(test_disk_full)
{
	_cleanup_free_ char *filler = NULL;
	History *h = NULL;
	Log *log = NULL;
	uint64_t seq = 0, failed = 0;
	bool flapped = false;
	int fd, r, other_error = 0;
	char expect[128];

	ck_assert_int_eq(private_tmpfs(256), 0);
	ck_assert_int_eq(log_new(&log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	ck_assert_int_eq(history_open(&h, dir, NULL, log), 0);
	for (; seq < 10;) {
		ZpciEvent e = make_event(++seq);

		ck_assert_int_eq(history_append(h, &e), 0);
	}

	/* Fill the file system to the last byte. */
	ck_assert_int_ge(asprintf(&filler, "%s/filler", dir), 0);
	fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (;;) {
		static const char block[4096];

		if (write(fd, block, sizeof(block)) < 0) {
			ck_assert_int_eq(errno, ENOSPC);
			break;
		}
	}
	for (;;) {
		if (write(fd, "x", 1) < 0)
			break;
	}
	ck_assert_int_eq(close(fd), 0);

	/* A storm of 500 events on the full disk. At its limit a file system
	 * may still take one record and refuse the next. */
	for (unsigned i = 0; i < 500; i++) {
		ZpciEvent e = make_event(seq + 1);

		r = history_append(h, &e);
		if (r == 0) {
			seq++;
			flapped = flapped || failed > 0;
			continue;
		}
		/* one check after the storm: each ck_assert is a message to Check */
		if (r != -ENOSPC && other_error == 0)
			other_error = r;
		failed++;
	}
	ck_assert_int_eq(other_error, 0);
	ck_assert_uint_ge(failed, 400);
	ck_assert_uint_eq(history_stats(h)->append_failures, failed);
	ck_assert_uint_eq(count_messages(log, "Failed to write to the event history"), 1);
	ck_assert_uint_le(count_messages(log, "works again"), 1);

	/* Space again: the next append works and says what was missed. */
	ck_assert_int_eq(unlink(filler), 0);
	{
		ZpciEvent e = make_event(++seq);

		ck_assert_int_eq(history_append(h, &e), 0);
	}
	(void)snprintf(expect, sizeof(expect), "works again; %llu event(s) could not be recorded",
		       (unsigned long long)failed);
	ck_assert_uint_eq(count_messages(log, flapped ? "works again" : expect), 1);
	ck_assert_uint_eq(count_messages(log, "Failed to write to the event history"), 1);
	h = history_free(h);
	log_free(log);
	check_exactly(seq);
}
END_TEST

/* A read-only state directory: open fails with the reason, nothing is
 * changed; writable again, everything is there. */
START_TEST(test_read_only)
{
	History *h = NULL;

	ck_assert_int_eq(private_tmpfs(1024), 0);
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	for (uint64_t seq = 1; seq <= 5; seq++) {
		ZpciEvent e = make_event(seq);

		ck_assert_int_eq(history_append(h, &e), 0);
	}
	h = history_free(h);

	ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), -EROFS);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT, NULL), 0);
	check_exactly(5);
}
END_TEST

/* Cut at any byte: open keeps every whole record before the cut, and a
 * record appended then survives the next reopen. */
START_TEST(test_cut_anywhere)
{
	_cleanup_free_ char *orig = NULL, *path = NULL;
	History *h = NULL;
	size_t size = 0, ends[8], n_ends = 0;
	FILE *f;

	ck_assert_int_eq(private_tmpfs(1024), 0);
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	for (uint64_t seq = 1; seq <= 6; seq++) {
		ZpciEvent e = make_event(seq);

		ck_assert_int_eq(history_append(h, &e), 0);
	}
	h = history_free(h);
	ck_assert_int_ge(asprintf(&path, "%s/history.log", dir), 0);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	orig = malloc(65536);
	size = fread(orig, 1, 65536, f);
	fclose(f);
	for (size_t i = 0; i < size; i++)
		if (orig[i] == '\n' && n_ends < ELEMENTSOF(ends))
			ends[n_ends++] = i + 1;
	ck_assert_uint_eq(n_ends, 7); /* the header and six records */

	for (size_t cut = ends[0]; cut <= size; cut++) {
		uint64_t whole = 0;
		ZpciEvent e;

		for (size_t k = 1; k < n_ends; k++)
			if (ends[k] <= cut)
				whole = k;
		f = fopen(path, "we");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(orig, 1, cut, f), cut);
		ck_assert_int_eq(fclose(f), 0);

		ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
		ck_assert_uint_eq(history_last_seq(h), whole);
		e = make_event(whole + 1);
		ck_assert_int_eq(history_append(h, &e), 0);
		h = history_free(h);
		check_exactly(whole + 1);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("history-faults");
	TCase *tc = tcase_create("faults");
	SRunner *sr;
	pid_t pid;
	int failed, st;

	/* Can this process make a mount namespace and mount a tmpfs? */
	pid = fork();
	if (pid == 0) {
		char probe[] = "/tmp/test-history-faults-probe.XXXXXX";

		if (!mkdtemp(probe))
			_exit(1);
		strcpy(dir, probe);
		st = private_tmpfs(64);
		(void)umount2(dir, MNT_DETACH);
		(void)rmdir(probe);
		_exit(st < 0 ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("SKIP: cannot mount a private tmpfs (needs CAP_SYS_ADMIN)\n");
		return 77;
	}

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_cut_anywhere);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
