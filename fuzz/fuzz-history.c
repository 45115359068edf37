/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event history files (daemon/history.c), as a crash, a full disk or
 * anyone with write access to the state directory may leave them: the
 * input is the content of history.log (and, after a 0xff byte, of
 * history.log.1). Opening must work, queries must stay within their
 * bounds, and a record appended after whatever was there survives
 * reopening, as the newest one.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/history.h"
#include "fuzz/fuzz-util.h"

static char dir[64];

static void write_file(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	(void)close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	HistoryLimits lim = HISTORY_LIMITS_DEFAULT;
	HistoryQuery q = HISTORY_QUERY_ALL;
	const uint8_t *split = memchr(data, 0xff, size);
	History *h = NULL;
	ZpciEvent *ev = NULL, e = { .kind = EVENT_ERROR, .sources = EVENT_SOURCE_KMSG, .fid = 0x42 };
	size_t n = 0;
	uint64_t total = 0, last;
	char index_path[128];

	if (!dir[0]) {
		fuzz_tmpdir(dir, sizeof(dir), "fuzz-history");
	}
	/* history.index describes files that are only appended to and renamed;
	 * these are rewritten in place, so the last round's index goes */
	(void)snprintf(index_path, sizeof(index_path), "%s/history.index", dir);
	(void)unlink(index_path);
	write_file("history.log", data, split ? (size_t)(split - data) : size);
	write_file("history.log.1", split ? split + 1 : data, split ? size - (size_t)(split - data) - 1 : 0);

	lim.max_files = 2;
	FUZZ_CHECK(history_open(&h, dir, &lim, NULL) == 0);
	last = history_last_seq(h);

	FUZZ_CHECK(history_query(h, &q, &ev, &n, &total) == 0);
	FUZZ_CHECK(n <= total && n <= HISTORY_QUERY_LIMIT_MAX);
	free(ev);
	ev = NULL;
	q.newest_first = true;
	q.limit = 2;
	FUZZ_CHECK(history_query(h, &q, &ev, &n, NULL) == 0);
	FUZZ_CHECK(n <= 2);
	free(ev);
	ev = NULL;

	/* Whatever was there: a record appended now is the newest after reopening. */
	e.seq = last < UINT64_MAX - 1 ? last + 1 : last;
	e.time_usec = 1700000000000000ULL;
	(void)snprintf(e.message, sizeof(e.message), "appended after the input");
	FUZZ_CHECK(history_append(h, &e) == 0);
	h = history_free(h);

	FUZZ_CHECK(history_open(&h, dir, &lim, NULL) == 0);
	FUZZ_CHECK(history_last_seq(h) >= e.seq);
	q = HISTORY_QUERY_ALL;
	q.newest_first = true;
	q.limit = 1;
	FUZZ_CHECK(history_query(h, &q, &ev, &n, NULL) == 0);
	FUZZ_CHECK(n == 1 && ev[0].seq == e.seq && strcmp(ev[0].message, e.message) == 0);
	free(ev);
	history_free(h);
	return 0;
}
