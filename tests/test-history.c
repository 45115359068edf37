/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/history.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test-history.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *path_of(const char *name)
{
	static char p[128];

	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static ZpciEvent make_event(uint64_t seq, uint32_t fid, int pec, EventKind kind)
{
	ZpciEvent e = { .seq = seq, .kind = kind, .sources = EVENT_SOURCE_KMSG, .fid = fid };

	e.time_usec = 1700000000000000ULL + seq * USEC_PER_SEC;
	e.monotonic_usec = seq * USEC_PER_SEC;
	if (pec >= 0) {
		e.pec = (uint16_t)pec;
		e.has |= EVENT_HAS_PEC;
	}
	(void)snprintf(e.slot, sizeof(e.slot), "%04x:00:00.0", fid);
	(void)snprintf(e.message, sizeof(e.message), "event %llu", (unsigned long long)seq);
	return e;
}

/* Append seq 1..n: fid 0x10 + seq % 3, pec 0x3a for even seq, every 5th is an action. */
static void append_range(History *h, uint64_t from, uint64_t to)
{
	for (uint64_t s = from; s <= to; s++) {
		ZpciEvent e = make_event(s, 0x10 + (uint32_t)(s % 3), s % 2 == 0 ? 0x3a : 0x18,
					 s % 5 == 0 ? EVENT_ACTION : EVENT_ERROR);

		if (e.kind == EVENT_ACTION) {
			e.has &= ~(unsigned)EVENT_HAS_PEC;
			strcpy(e.action, "reset");
			strcpy(e.result, "done");
		}
		ck_assert_int_eq(history_append(h, &e), 0);
	}
}

static size_t query(History *h, const HistoryQuery *q, ZpciEvent **ev, uint64_t *total)
{
	size_t n = 99;

	ck_assert_int_eq(history_query(h, q, ev, &n, total), 0);
	return n;
}

START_TEST(test_append_query_paging)
{
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	HistoryQuery q;
	uint64_t total;
	size_t n;

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	ck_assert_uint_eq(history_last_seq(h), 0);
	n = query(h, &HISTORY_QUERY_ALL, &ev, &total);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(ev);
	ck_assert_uint_eq(total, 0);

	append_range(h, 1, 30);
	ck_assert_uint_eq(history_last_seq(h), 30);

	/* All, oldest first, round-tripped. */
	n = query(h, &HISTORY_QUERY_ALL, &ev, &total);
	ck_assert_uint_eq(n, 30);
	ck_assert_uint_eq(total, 30);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(ev[i].seq, i + 1);
	ck_assert_uint_eq(ev[1].fid, 0x12);
	ck_assert_uint_eq(ev[1].pec, 0x3a);
	ck_assert_str_eq(ev[1].slot, "0012:00:00.0");
	ck_assert_str_eq(ev[4].action, "reset");
	ck_assert_int_eq(ev[4].kind, EVENT_ACTION);
	free(TAKE_PTR(ev));

	/* By fid: seq % 3 == 1 → 1, 4, 7, ... 28 (10 records). */
	q = HISTORY_QUERY_ALL;
	q.match_fid = true;
	q.fid = 0x11;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(ev[0].seq, 1);
	ck_assert_uint_eq(ev[9].seq, 28);
	free(TAKE_PTR(ev));

	/* By PEC and kind: even seq not divisible by 5 → 12 errors with 0x3a. */
	q = HISTORY_QUERY_ALL;
	q.match_pec = true;
	q.pec = 0x3a;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 12);
	free(TAKE_PTR(ev));
	q = HISTORY_QUERY_ALL;
	q.kind = EVENT_ACTION;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(ev[5].seq, 30);
	free(TAKE_PTR(ev));

	/* Time range [seq 10, seq 20). */
	q = HISTORY_QUERY_ALL;
	q.since_usec = 1700000000000000ULL + 10 * USEC_PER_SEC;
	q.until_usec = 1700000000000000ULL + 20 * USEC_PER_SEC;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(ev[0].seq, 10);
	ck_assert_uint_eq(ev[9].seq, 19);
	free(TAKE_PTR(ev));

	/* Paging, oldest first: offset 25, limit 10 → 26..30, total still 30. */
	q = HISTORY_QUERY_ALL;
	q.offset = 25;
	q.limit = 10;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(total, 30);
	ck_assert_uint_eq(ev[0].seq, 26);
	free(TAKE_PTR(ev));

	/* Paging, newest first: offset 2, limit 3 → 28, 27, 26. */
	q = HISTORY_QUERY_ALL;
	q.newest_first = true;
	q.offset = 2;
	q.limit = 3;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ev[0].seq, 28);
	ck_assert_uint_eq(ev[2].seq, 26);
	free(TAKE_PTR(ev));

	/* Newest first past the end. */
	q.offset = 29;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(ev[0].seq, 1);
	free(TAKE_PTR(ev));
	q.offset = 40;
	n = query(h, &q, &ev, &total);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_reopen_continues_seq_and_lock)
{
	History *h = NULL, *h2 = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	size_t n;

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	append_range(h, 1, 7);
	/* One writer at a time. */
	ck_assert_int_eq(history_open(&h2, dir, NULL, NULL), -EBUSY);
	h = history_free(h);

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	ck_assert_uint_eq(history_last_seq(h), 7);
	append_range(h, 8, 9);
	h = history_free(h);

	/* A fresh current file (as right after a rotation) takes the seq from the rotated one. */
	{
		char from[128], to[128];

		(void)snprintf(from, sizeof(from), "%s", path_of("history.log"));
		(void)snprintf(to, sizeof(to), "%s", path_of("history.log.1"));
		ck_assert_int_eq(rename(from, to), 0);
	}
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	ck_assert_uint_eq(history_last_seq(h), 9);
	n = query(h, &HISTORY_QUERY_ALL, &ev, NULL);
	ck_assert_uint_eq(n, 9);
	ck_assert_uint_eq(ev[8].seq, 9);
	history_free(h);
}
END_TEST

START_TEST(test_rotation)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	struct stat st;
	uint64_t total;
	size_t n;

	lim.max_file_size = 20 * 1024;
	lim.max_files = 3;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	append_range(h, 1, 400);
	ck_assert_uint_gt(history_stats(h)->rotations, 2);

	/* history.log, .1 and .2 exist, none beyond; none is over the limit. */
	ck_assert_int_eq(stat(path_of("history.log"), &st), 0);
	ck_assert_int_le(st.st_size, 20 * 1024);
	ck_assert_int_eq(stat(path_of("history.log.1"), &st), 0);
	ck_assert_int_le(st.st_size, 20 * 1024);
	ck_assert_int_eq(stat(path_of("history.log.2"), &st), 0);
	ck_assert_int_eq(stat(path_of("history.log.3"), &st), -1);

	/* What is left is a contiguous run ending at 400, the oldest records gone. */
	n = query(h, &HISTORY_QUERY_ALL, &ev, &total);
	ck_assert_uint_eq(n, total);
	ck_assert_uint_gt(n, 50);
	ck_assert_uint_lt(n, 400);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(ev[i].seq, 400 - n + 1 + i);
	h = history_free(h);

	/* A lower file count on the next open removes the extra files. */
	lim.max_files = 2;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	ck_assert_int_eq(stat(path_of("history.log.2"), &st), -1);
	ck_assert_uint_eq(history_last_seq(h), 400);

	/* Bad limits are refused. */
	lim.max_files = 0;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), -EINVAL);
}
END_TEST

static void read_whole(const char *p, char **ret, size_t *size)
{
	FILE *f = fopen(p, "re");
	long sz;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	rewind(f);
	*ret = malloc((size_t)sz + 1);
	ck_assert_uint_eq(fread(*ret, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*size = (size_t)sz;
}

static void write_whole(const char *p, const char *data, size_t size)
{
	FILE *f = fopen(p, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_torn_record_every_offset)
{
	_cleanup_free_ char *orig = NULL;
	History *h = NULL;
	size_t size, last_start;
	char *p;

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	append_range(h, 1, 5);
	h = history_free(h);

	read_whole(path_of("history.log"), &orig, &size);
	ck_assert_int_eq(orig[size - 1], '\n');
	p = memrchr(orig, '\n', size - 1);
	ck_assert_ptr_nonnull(p);
	last_start = (size_t)(p - orig) + 1;

	/* Cut the file at every byte of the last record: it is dropped, the rest stays, appending resumes.
	 */
	for (size_t cut = last_start; cut < size; cut++) {
		_cleanup_free_ ZpciEvent *ev = NULL;
		struct stat st;
		size_t n;

		write_whole(path_of("history.log"), orig, cut);
		ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
		ck_assert_uint_eq(history_last_seq(h), 4);
		ck_assert_uint_eq(history_stats(h)->torn_truncated, cut - last_start);
		ck_assert_int_eq(stat(path_of("history.log"), &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)last_start);

		n = query(h, &HISTORY_QUERY_ALL, &ev, NULL);
		ck_assert_uint_eq(n, 4);
		append_range(h, 5, 5);
		h = history_free(h);

		ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
		ck_assert_uint_eq(history_last_seq(h), 5);
		free(TAKE_PTR(ev));
		n = query(h, &HISTORY_QUERY_ALL, &ev, NULL);
		ck_assert_uint_eq(n, 5);
		ck_assert_uint_eq(ev[4].seq, 5);
		h = history_free(h);
	}

	/* A torn header is rewritten. */
	for (size_t cut = 0; cut < 16; cut++) {
		write_whole(path_of("history.log"), orig, cut);
		ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
		ck_assert_uint_eq(history_last_seq(h), 0);
		append_range(h, 1, 1);
		h = history_free(h);
		ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
		ck_assert_uint_eq(history_last_seq(h), 1);
		h = history_free(h);
	}
}
END_TEST

START_TEST(test_corrupt_middle_record_skipped)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	History *h = NULL;
	size_t size, n;
	char *second;

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	append_range(h, 1, 3);
	h = history_free(h);

	/* Flip a byte inside the JSON of record 2: its CRC no longer matches. */
	read_whole(path_of("history.log"), &buf, &size);
	second = strchr(strchr(strchr(buf, '\n') + 1, '\n') + 1, '{');
	ck_assert_ptr_nonnull(second);
	second[3] ^= 0x01;
	write_whole(path_of("history.log"), buf, size);

	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	ck_assert_uint_eq(history_stats(h)->torn_truncated, 0);
	ck_assert_uint_eq(history_last_seq(h), 3);
	/* Open reads the end only; the query that walks past it counts it. */
	n = query(h, &HISTORY_QUERY_ALL, &ev, NULL);
	ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ev[0].seq, 1);
	ck_assert_uint_eq(ev[1].seq, 3);
	h = history_free(h);

	/* A file of another format version is kept aside and a new file started. */
	write_whole(path_of("history.log"), "ZPCID-HISTORY 9\nwhatever\n", 25);
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	append_range(h, 10, 10);
	free(TAKE_PTR(ev));
	n = query(h, &HISTORY_QUERY_ALL, &ev, NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(ev[0].seq, 10);
	h = history_free(h);
}
END_TEST

static void on_timeout(evutil_socket_t fd, short what, void *userdata)
{
	event_base_loopbreak(userdata);
}

static size_t count_messages(const Log *l, const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < log_memory_count(l); i++)
		if (strstr(log_memory_get(l, i)->message, text))
			n++;
	return n;
}

/* A torn tail is cut and said so once, with its size; a clean file says nothing. */
START_TEST(test_torn_tail_reported_once)
{
	_cleanup_free_ char *orig = NULL;
	History *h = NULL;
	Log *log = NULL;
	size_t size;
	char expect[128];

	ck_assert_int_eq(log_new(&log, LOG_TARGET_MEMORY, LOG_DEBUG), 0);
	ck_assert_int_eq(history_open(&h, dir, NULL, log), 0);
	append_range(h, 1, 3);
	h = history_free(h);
	ck_assert_uint_eq(count_messages(log, "torn"), 0);

	read_whole(path_of("history.log"), &orig, &size);
	write_whole(path_of("history.log"), orig, size - 7);
	ck_assert_int_eq(history_open(&h, dir, NULL, log), 0);
	h = history_free(h);
	(void)snprintf(expect, sizeof(expect), "Cut %zu byte(s) of a torn record",
		       size - 7 - (size_t)((const char *)memrchr(orig, '\n', size - 1) - orig + 1));
	ck_assert_uint_eq(count_messages(log, expect), 1);
	ck_assert_uint_eq(count_messages(log, "torn"), 1);

	/* Reopened: nothing torn any more, nothing said. */
	ck_assert_int_eq(history_open(&h, dir, NULL, log), 0);
	ck_assert_uint_eq(history_last_seq(h), 2);
	h = history_free(h);
	ck_assert_uint_eq(count_messages(log, "torn"), 1);
	log_free(log);
}
END_TEST

typedef struct AsyncResult {
	int result;
	ZpciEvent *events;
	size_t n;
	uint64_t total;
	unsigned calls;
} AsyncResult;

static void on_query_done(int result, ZpciEvent *events, size_t n, uint64_t total, void *userdata)
{
	AsyncResult *a = userdata;

	a->result = result;
	a->events = events;
	a->n = n;
	a->total = total;
	a->calls++;
}

/* Files larger than a read piece, several of them: newest first read
 * backwards gives exactly the reverse of oldest first, at any offset, on
 * the calling thread and on the reader thread. */
/* What a full walk of the files counts for @q: the reference the index must match. */
static uint64_t expected_total(uint64_t from, uint64_t to, const HistoryQuery *q)
{
	uint64_t n = 0;

	for (uint64_t s = from; s <= to; s++) {
		uint64_t t = 1700000000000000ULL + s * USEC_PER_SEC;
		EventKind k = s % 5 == 0 ? EVENT_ACTION : EVENT_ERROR;

		if ((q->since_usec && t < q->since_usec) || (q->until_usec && t >= q->until_usec) ||
		    (q->kind >= 0 && k != q->kind))
			continue;
		n++;
	}
	return n;
}

static uint64_t oldest_seq(History *h)
{
	_cleanup_free_ ZpciEvent *ev = NULL;
	HistoryQuery q = HISTORY_QUERY_ALL;
	size_t n = 0;

	q.limit = 1;
	ck_assert_int_eq(history_query(h, &q, &ev, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	return ev[0].seq;
}

static void check_totals(History *h, uint64_t to)
{
	uint64_t from = oldest_seq(h), t0 = 1700000000000000ULL;
	HistoryQuery qs[6];

	for (unsigned i = 0; i < ELEMENTSOF(qs); i++)
		qs[i] = HISTORY_QUERY_ALL;
	qs[1].kind = EVENT_ACTION;
	qs[2].since_usec = t0 + (from + 37) * USEC_PER_SEC; /* cuts the oldest file */
	qs[3].until_usec = t0 + (to - 5) * USEC_PER_SEC;
	qs[3].kind = EVENT_ERROR;
	qs[4].since_usec = t0 + (to + 1) * USEC_PER_SEC; /* after every record */
	qs[5].newest_first = true;
	qs[5].offset = (to - from) / 2; /* a page in the middle: files before it skipped */
	qs[5].limit = 7;
	for (unsigned i = 0; i < ELEMENTSOF(qs); i++) {
		_cleanup_free_ ZpciEvent *ev = NULL;
		uint64_t total = 0;
		size_t n = query(h, &qs[i], &ev, &total);

		ck_assert_uint_eq(total, expected_total(from, to, &qs[i]));
		if (i == 5) {
			ck_assert_uint_eq(n, 7);
			for (size_t j = 0; j < n; j++)
				ck_assert_uint_eq(ev[j].seq, to - qs[5].offset - j);
		}
	}
}

START_TEST(test_total_from_index)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	uint64_t total, reads;
	struct stat st;
	size_t n;
	int fd;

	lim.max_file_size = 20 * 1024;
	lim.max_files = 4;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	append_range(h, 1, 500);
	ck_assert_uint_gt(history_stats(h)->rotations, 3);
	/* Every file was summarised as it was written: nothing is read for the totals. */
	check_totals(h, 500);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 0);
	/* Appends after a query go on counting. */
	append_range(h, 501, 530);
	check_totals(h, 530);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 0);
	h = history_free(h);

	/* Reopened: the saved summaries are checked against their files and used. */
	ck_assert_int_eq(stat(path_of("history.index"), &st), 0);
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	check_totals(h, 530);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 0);
	append_range(h, 531, 540);
	check_totals(h, 540);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 0);
	h = history_free(h);

	/* Without the index every file is read once, then never again. */
	ck_assert_int_eq(unlink(path_of("history.index")), 0);
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	check_totals(h, 540);
	reads = history_stats(h)->summaries_read;
	ck_assert_uint_eq(reads, 4);
	append_range(h, 541, 545);
	check_totals(h, 545);
	ck_assert_uint_eq(history_stats(h)->summaries_read, reads);
	h = history_free(h);

	/* A file changed behind the index (its last record replaced, same
	 * size) is read again, not trusted: the total is the file's. */
	fd = open(path_of("history.log.1"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	{
		char buf[4096];
		ssize_t got = pread(fd, buf, sizeof(buf), st.st_size - (off_t)sizeof(buf));
		char *last;

		ck_assert_int_eq(got, (ssize_t)sizeof(buf));
		buf[sizeof(buf) - 1] = 0;
		last = strrchr(buf, '\n');
		ck_assert_ptr_nonnull(last);
		/* break the last record's CRC: it no longer counts */
		ck_assert_int_eq(pwrite(fd, "x", 1, st.st_size - (off_t)sizeof(buf) + (last - buf) + 1 + 9),
				 1);
	}
	(void)close(fd);
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	n = query(h, &HISTORY_QUERY_ALL, &ev, &total);
	ck_assert_uint_eq(total, n);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 1);
	ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 0); /* the bad tail of a rotated file */
	h = history_free(h);
	free(ev);
	ev = NULL;

	/* The same for the first record of a file (history.log.2). */
	fd = open(path_of("history.log.2"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "x", 1, strlen("ZPCID-HISTORY 1\n") + 9), 1);
	(void)close(fd);
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	n = query(h, &HISTORY_QUERY_ALL, &ev, &total);
	ck_assert_uint_eq(total, n);
	ck_assert_uint_eq(history_stats(h)->summaries_read, 1);
	ck_assert_uint_eq(history_stats(h)->corrupt_skipped, 1);
}
END_TEST

START_TEST(test_large_history_both_directions)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_free_ ZpciEvent *all = NULL, *ev = NULL;
	const uint64_t n_all = 12000;
	const uint64_t offsets[] = { 0, 1, 4999, 7777, 11990, 11999, 12000 };
	struct event_base *base;
	AsyncResult a = {};
	HistoryQuery q;
	uint64_t total, bad = UINT64_MAX;
	size_t n;

	lim.max_file_size = 1100 * 1024;
	lim.max_files = 10;
	lim.sync_records = 1000000;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	append_range(h, 1, n_all);
	ck_assert_uint_gt(history_stats(h)->rotations, 1);

	/* Oldest first, in pages of the largest size. */
	all = calloc(n_all, sizeof(ZpciEvent));
	for (uint64_t off = 0; off < n_all; off += HISTORY_QUERY_LIMIT_MAX) {
		q = HISTORY_QUERY_ALL;
		q.offset = off;
		n = query(h, &q, &ev, &total);
		ck_assert_uint_eq(total, n_all);
		memcpy(all + off, ev, n * sizeof(ZpciEvent));
		free(TAKE_PTR(ev));
	}
	/* one check for all: each ck_assert is a message to Check */
	for (uint64_t i = 0; i < n_all && bad == UINT64_MAX; i++)
		if (all[i].seq != i + 1)
			bad = i;
	ck_assert_msg(bad == UINT64_MAX, "record %" PRIu64 " has seq %" PRIu64, bad, all[bad].seq);

	for (size_t k = 0; k < ELEMENTSOF(offsets); k++) {
		q = HISTORY_QUERY_ALL;
		q.newest_first = true;
		q.offset = offsets[k];
		q.limit = 50;
		n = query(h, &q, &ev, &total);
		ck_assert_uint_eq(total, n_all);
		ck_assert_uint_eq(n, MIN(50, n_all - offsets[k]));
		for (size_t i = 0; i < n; i++)
			ck_assert_uint_eq(ev[i].seq, n_all - offsets[k] - i);
		free(TAKE_PTR(ev));
	}

	/* The newest record without the total: one piece of one file. */
	q = HISTORY_QUERY_ALL;
	q.newest_first = true;
	q.limit = 1;
	n = query(h, &q, &ev, NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(ev[0].seq, n_all);
	free(TAKE_PTR(ev));

	/* A filtered page on the reader thread. */
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(history_attach_event(h, base, NULL), 0);
	q = HISTORY_QUERY_ALL;
	q.newest_first = true;
	q.match_fid = true;
	q.fid = 0x11;
	q.offset = 3;
	q.limit = 4;
	ck_assert_int_eq(history_query_async(h, &q, on_query_done, &a), 0);
	ck_assert_uint_eq(a.calls, 0);
	while (a.calls == 0)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(a.result, 0);
	ck_assert_uint_eq(a.total, n_all / 3);
	ck_assert_uint_eq(a.n, 4);
	/* fid 0x11: seq % 3 == 1; the newest is 11998, skip 3 */
	ck_assert_uint_eq(a.events[0].seq, 11998 - 3 * 3);
	ck_assert_uint_eq(a.events[3].seq, 11998 - 6 * 3);
	free(a.events);

	/* Freed with a query queued: it still reports, once: done or stopped. */
	a = (AsyncResult){};
	ck_assert_int_eq(history_query_async(h, &HISTORY_QUERY_ALL, on_query_done, &a), 0);
	h = history_free(h);
	ck_assert_uint_eq(a.calls, 1);
	ck_assert((a.result == 0 && a.total == n_all) || (a.result == -ECANCELED && !a.events));
	free(a.events);
	event_base_free(base);
}
END_TEST

START_TEST(test_sync_batches)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	_cleanup_(history_freep) History *h = NULL;
	struct event_base *base;
	struct event *stop;
	struct timeval tv = { .tv_usec = 300000 };

	lim.sync_records = 3;
	lim.sync_interval_usec = 50 * USEC_PER_MSEC;
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);

	/* No sync per record: only every third one. */
	append_range(h, 1, 2);
	ck_assert_uint_eq(history_stats(h)->syncs, 0);
	append_range(h, 3, 3);
	ck_assert_uint_eq(history_stats(h)->syncs, 1);
	append_range(h, 4, 4);
	ck_assert_uint_eq(history_stats(h)->syncs, 1);

	/* The timer syncs the rest; an idle timer does nothing. */
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(history_attach_event(h, base, NULL), 0);
	stop = evtimer_new(base, on_timeout, base);
	evtimer_add(stop, &tv);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_uint_eq(history_stats(h)->syncs, 2);
	ck_assert_int_eq(history_attach_event(h, NULL, NULL), 0);
	event_free(stop);
	event_base_free(base);
}
END_TEST

/* With a syncer the batches' fdatasync() leaves the caller's thread: the
 * sync is counted when its completion comes back through the loop, and the
 * records appended meanwhile wait for the next batch. */
START_TEST(test_sync_on_the_syncer)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	_cleanup_(history_freep) History *h = NULL;
	_cleanup_(syncer_freep) Syncer *s = NULL;
	struct event_base *base;
	struct event *stop;
	struct timeval tv = { .tv_usec = 300000 };

	lim.sync_records = 3;
	lim.sync_interval_usec = 50 * USEC_PER_MSEC;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(syncer_new(&s, base), 0);
	ck_assert_int_eq(history_open(&h, dir, &lim, NULL), 0);
	ck_assert_int_eq(history_attach_event(h, base, s), 0);

	/* the third record hands a batch to the syncer: not counted yet */
	append_range(h, 1, 3);
	ck_assert_uint_eq(history_stats(h)->syncs, 0);
	ck_assert_uint_eq(syncer_pending(s), 1);
	/* one fdatasync() at a time: three more wait for it */
	append_range(h, 4, 6);
	ck_assert_uint_eq(syncer_pending(s), 1);
	ck_assert_uint_eq(syncer_stats(s)->submitted, 1);

	/* the loop: the first batch completes, the waiting one follows at
	 * once (it is full), then the timer finds nothing more to sync */
	stop = evtimer_new(base, on_timeout, base);
	evtimer_add(stop, &tv);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_uint_eq(history_stats(h)->syncs, 2);
	ck_assert_uint_eq(syncer_stats(s)->submitted, 2);
	ck_assert_uint_eq(syncer_pending(s), 0);

	/* one record: synced on the timer, through the syncer */
	append_range(h, 7, 7);
	evtimer_add(stop, &tv);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_uint_eq(history_stats(h)->syncs, 3);
	ck_assert_uint_eq(syncer_stats(s)->submitted, 3);

	/* closing with a batch in flight waits for it */
	append_range(h, 8, 10);
	ck_assert_uint_eq(syncer_pending(s), 1);
	h = history_free(h);
	ck_assert_uint_eq(syncer_pending(s), 0);
	ck_assert_uint_eq(syncer_stats(s)->failed, 0);

	event_free(stop);
	s = syncer_free(s);
	event_base_free(base);
}
END_TEST

/* CRC-32 (IEEE 802.3) a bit at a time: the definition history_crc32() must agree with. */
static uint32_t crc32_bitwise(const void *data, size_t size)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	while (size-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

START_TEST(test_crc32)
{
	unsigned char buf[300];
	uint32_t x = 1;

	ck_assert_uint_eq(history_crc32("", 0), 0);
	ck_assert_uint_eq(history_crc32("123456789", 9), 0xcbf43926u); /* the check value */
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	/* every length and alignment around the eight-byte steps */
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len++)
			ck_assert_uint_eq(history_crc32(buf + off, len), crc32_bitwise(buf + off, len));
}
END_TEST

/* The lines on disk: "LLLLLLLL CCCCCCCC " and json-c's plain JSON of the record. */
START_TEST(test_line_bytes)
{
	History *h = NULL;
	ZpciEvent e[3];
	char *text = NULL, *p;
	size_t size = 0;
	FILE *f;

	e[0] = make_event(1, 0x11, 0x3a, EVENT_ERROR);
	e[1] = make_event(2, 0x12, -1, EVENT_ACTION);
	(void)snprintf(e[1].detail, sizeof(e[1].detail), "quote \" slash / tab \t ctl \x01 ü");
	e[2] = (ZpciEvent){ .seq = 3, .kind = EVENT_RECOVERY, .recovery = RECOVERY_BEGIN };
	ck_assert_int_eq(history_open(&h, dir, NULL, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(e); i++)
		ck_assert_int_eq(history_append(h, &e[i]), 0);
	h = history_free(h);

	f = fopen(path_of(HISTORY_FILE_NAME), "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_gt(getdelim(&text, &size, '\0', f), 0);
	fclose(f);
	p = text;
	ck_assert(strneq(p, "ZPCID-HISTORY 1\n", 16));
	p += 16;
	for (size_t i = 0; i < ELEMENTSOF(e); i++) {
		json_object *o = NULL;
		const char *json;
		char frame[32];
		size_t len;

		ck_assert_int_eq(event_to_json(&e[i], &o), 0);
		json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		len = strlen(json);
		(void)snprintf(frame, sizeof(frame), "%08x %08x ", (unsigned)len, crc32_bitwise(json, len));
		ck_assert(strneq(p, frame, 18));
		ck_assert(strneq(p + 18, json, len));
		ck_assert_int_eq(p[18 + len], '\n');
		p += 18 + len + 1;
		json_object_put(o);
	}
	ck_assert_int_eq(*p, '\0');
	free(text);
}
END_TEST

static Suite *history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_append_query_paging);
	tcase_add_test(tc, test_reopen_continues_seq_and_lock);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_torn_record_every_offset);
	tcase_add_test(tc, test_corrupt_middle_record_skipped);
	tcase_add_test(tc, test_sync_batches);
	tcase_add_test(tc, test_sync_on_the_syncer);
	tcase_add_test(tc, test_torn_tail_reported_once);
	tcase_add_test(tc, test_large_history_both_directions);
	tcase_add_test(tc, test_total_from_index);
	tcase_add_test(tc, test_crc32);
	tcase_add_test(tc, test_line_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(history_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
