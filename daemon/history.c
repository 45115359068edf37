/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/io-util.h"
#include "daemon/history.h"

#define HEADER       "ZPCID-HISTORY 1\n"
#define HEADER_LEN   (sizeof(HEADER) - 1)
#define FRAME_PREFIX 18 /* "LLLLLLLL CCCCCCCC " */

struct History {
	char *directory;
	HistoryLimits limits;
	Log *log;
	int dir_fd;
	int lock_fd;
	int fd; /* history.log, O_APPEND */
	uint64_t size;
	unsigned unsynced;  /* records appended and not yet handed to an fdatasync() */
	unsigned in_flight; /* records whose fdatasync() runs on the syncer */
	uint64_t last_seq;
	HistoryStats stats;
	struct event *sync_event;
	Syncer *syncer;            /* not owned; NULL: fdatasync() on the caller's thread */
	Syncer *reader;            /* owned: runs history_query_async(); NULL: inline */
	unsigned queries;          /* history_query_async() not finished yet */
	atomic_bool cancel;        /* history_free(): queries on the reader stop */
	uint64_t failing;          /* appends failed since the last "works again" */
	bool failing_logged;       /* a failure was logged, "works again" not yet */
	uint64_t failure_log_usec; /* CLOCK_MONOTONIC of the last failure logged */
};

/* One table of 256 entries, filled once: a byte at a time instead of a
 * bit at a time, as every query checks every frame it walks. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_fill(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
		crc_table[i] = c;
	}
}

uint32_t history_crc32(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	(void)pthread_once(&crc_once, crc_table_fill);
	while (size-- > 0)
		crc = (crc >> 8) ^ crc_table[(crc ^ *p++) & 0xffu];
	return ~crc;
}

static void file_name(char *buf, size_t size, unsigned index)
{
	if (index == 0)
		(void)snprintf(buf, size, "%s", HISTORY_FILE_NAME);
	else
		(void)snprintf(buf, size, "%s.%u", HISTORY_FILE_NAME, index);
}

static int parse_hex8(const char *p, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = p[i];

		if (c >= '0' && c <= '9')
			v = (v << 4) | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (v << 4) | (uint32_t)(c - 'a' + 10);
		else
			return -EBADMSG;
	}
	*ret = v;
	return 0;
}

/* Check the frame of the record at @p (@avail bytes up to the end of the
 * data). Returns the record's total length (> 0) with *@ret_json and *@ret_len
 * set, or -EBADMSG when the frame is bad or incomplete. */
static ssize_t frame_check(const char *p, size_t avail, const char **ret_json, size_t *ret_len)
{
	uint32_t len, crc;

	if (avail < FRAME_PREFIX + 1)
		return -EBADMSG;
	if (parse_hex8(p, &len) < 0 || p[8] != ' ' || parse_hex8(p + 9, &crc) < 0 || p[17] != ' ')
		return -EBADMSG;
	if (len == 0 || len > HISTORY_RECORD_MAX || FRAME_PREFIX + (size_t)len + 1 > avail)
		return -EBADMSG;
	if (p[FRAME_PREFIX + len] != '\n')
		return -EBADMSG;
	if (history_crc32(p + FRAME_PREFIX, len) != crc)
		return -EBADMSG;
	*ret_json = p + FRAME_PREFIX;
	*ret_len = len;
	return (ssize_t)(FRAME_PREFIX + len + 1);
}

/* Called with each good record; returns 0 to go on, > 0 to stop the scan,
 * or -errno to fail it. */
typedef int (*record_fn)(const char *json, size_t len, void *userdata);

/* Files are read in pieces of this size: a query or an open never holds a
 * whole file in memory nor reads more of it than it needs. */
#define SCAN_CHUNK (1024 * 1024)

static int pread_full(int fd, void *buf, size_t size, uint64_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ENODATA; /* shorter than it was */
		done += (size_t)n;
	}
	return 0;
}

/* Check the file's header. Returns 0, -EPROTO when it is not ours / of
 * another version (or too short to tell), or another -errno. */
static int check_header(int fd, uint64_t size)
{
	char head[HEADER_LEN];
	int r;

	if (size < HEADER_LEN)
		return -EPROTO;
	r = pread_full(fd, head, HEADER_LEN, 0);
	if (r < 0)
		return r;
	return memcmp(head, HEADER, HEADER_LEN) == 0 ? 0 : -EPROTO;
}

/* A record is one line: JSON text never holds a raw newline, so the first
 * newline after a record's start is its end. */
static bool line_good(const char *line, size_t len_with_nl, const char **ret_json, size_t *ret_len)
{
	ssize_t n = frame_check(line, len_with_nl, ret_json, ret_len);

	return n > 0 && (size_t)n == len_with_nl;
}

/* Walk the records of the first @size bytes of @fd (header already
 * checked), oldest first. Records with a bad frame are skipped and counted
 * in *@n_bad; a bad tail after the last good record is not counted (the
 * caller decides what a torn tail is). Sets *@ret_good_end (may be NULL) to
 * the offset just past the last good record (the header when there is
 * none). Returns 0, 1 when @fn stopped the walk, or -errno. */
static int scan_forward(int fd, uint64_t size, record_fn fn, void *userdata, uint64_t *n_bad,
			uint64_t *ret_good_end)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t base = HEADER_LEN, good_end = HEADER_LEN, bad_since_good = 0, bad = 0;
	size_t have = 0, alloc = 0;
	int r = 0;

	while (base + have < size) {
		size_t want = (size_t)MIN((uint64_t)SCAN_CHUNK, size - base - have), off = 0;

		if (have + want > alloc) {
			char *p = realloc(buf, have + want);

			if (!p)
				return -ENOMEM;
			buf = p;
			alloc = have + want;
		}
		r = pread_full(fd, buf + have, want, base + have);
		if (r < 0)
			return r;
		have += want;

		for (;;) {
			const char *nl = memchr(buf + off, '\n', have - off), *json;
			size_t len;

			if (!nl)
				break;
			if (!line_good(buf + off, (size_t)(nl - buf) + 1 - off, &json, &len)) {
				bad_since_good++;
				off = (size_t)(nl - buf) + 1;
				continue;
			}
			bad += bad_since_good;
			bad_since_good = 0;
			off = (size_t)(nl - buf) + 1;
			good_end = base + off;
			if (fn) {
				r = fn(json, len, userdata);
				if (r != 0)
					goto done;
			}
		}
		/* Keep the incomplete last line for the next piece. */
		memmove(buf, buf + off, have - off);
		have -= off;
		base += off;
	}
done:
	if (n_bad)
		*n_bad += bad;
	if (ret_good_end)
		*ret_good_end = good_end;
	return r < 0 ? r : r > 0;
}

typedef struct LineRef {
	size_t off, len;
} LineRef;

/* Walk the records of the first @size bytes of @fd (header already
 * checked) from the end, newest first, reading only as far back as @fn
 * wants. Bad lines between good records are counted in *@n_bad; what
 * follows the newest good record is not (a torn tail). Sets
 * *@ret_good_end (may be NULL) to the offset just past the newest good
 * record (the header when there is none). Returns 0, 1 when @fn stopped
 * the walk, or -errno. */
static int scan_backward(int fd, uint64_t size, record_fn fn, void *userdata, uint64_t *n_bad,
			 uint64_t *ret_good_end)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ LineRef *lines = NULL;
	size_t carry = 0, alloc = 0, lines_alloc = 0;
	uint64_t pos = size, good_end = 0, bad = 0, bad_pending = 0;
	bool found = false;
	int r = 0;

	while (pos > HEADER_LEN && r == 0) {
		uint64_t start = pos - MIN((uint64_t)SCAN_CHUNK, pos - HEADER_LEN);
		size_t want = (size_t)(pos - start), total = want + carry, first = 0, n_lines = 0, off;

		if (total > alloc) {
			char *p = malloc(total);

			if (!p)
				return -ENOMEM;
			if (carry > 0)
				memcpy(p + want, buf, carry);
			free(buf);
			buf = p;
			alloc = total;
		} else if (carry > 0)
			memmove(buf + want, buf, carry);
		r = pread_full(fd, buf, want, start);
		if (r < 0)
			return r;

		/* Unless at the header, the piece starts inside a line: that
		 * part goes with the next (earlier) piece. */
		if (start > HEADER_LEN) {
			const char *nl = memchr(buf, '\n', total);

			first = nl ? (size_t)(nl - buf) + 1 : total;
		}
		for (off = first; off < total;) {
			const char *nl = memchr(buf + off, '\n', total - off);
			size_t end = nl ? (size_t)(nl - buf) + 1 : total;

			if (n_lines == lines_alloc) {
				size_t na = lines_alloc ? lines_alloc * 2 : 256;
				LineRef *l = reallocarray(lines, na, sizeof(LineRef));

				if (!l)
					return -ENOMEM;
				lines = l;
				lines_alloc = na;
			}
			lines[n_lines++] = (LineRef){ .off = off, .len = end - off };
			off = end;
		}
		for (size_t i = n_lines; i > 0 && r == 0; i--) {
			const LineRef *l = &lines[i - 1];
			const char *json;
			size_t len;

			if (!line_good(buf + l->off, l->len, &json, &len)) {
				if (found)
					bad_pending++;
				continue;
			}
			if (!found) {
				found = true;
				good_end = start + l->off + l->len;
			}
			bad += bad_pending;
			bad_pending = 0;
			if (fn)
				r = fn(json, len, userdata);
			else
				r = 1;
		}
		/* The leading partial line, at the front of buf, ends the
		 * next (earlier) piece. */
		carry = first;
		pos = start;
	}
	if (n_bad)
		*n_bad += bad;
	if (ret_good_end)
		*ret_good_end = found ? good_end : HEADER_LEN;
	return r < 0 ? r : r > 0;
}

static int json_parse_len(const char *json, size_t len, json_object **ret)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	*ret = o;
	return 0;
}

/* For scan_backward(): the sequence number of the newest record that has
 * one, which ends the walk. */
static int record_seq(const char *json, size_t len, void *userdata)
{
	uint64_t *last = userdata;
	json_object *o = NULL, *v;
	int r = 0;

	if (json_parse_len(json, len, &o) < 0)
		return 0;
	if (json_object_object_get_ex(o, "seq", &v) && json_object_is_type(v, json_type_int)) {
		uint64_t s = json_object_get_uint64(v);

		if (s > *last)
			*last = s;
		r = 1;
	}
	json_object_put(o);
	return r;
}

static int write_header(int fd)
{
	return loop_write(fd, HEADER, HEADER_LEN);
}

/* Open history.log for appending: create it with a header, or cut a torn
 * tail off it. Only the end of the file is read: the newest record gives
 * the sequence number to go on from. */
static int open_current(History *h)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t size, end;
	struct stat st;
	int r;

	fd = openat(h->dir_fd, HISTORY_FILE_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0640);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	size = (uint64_t)st.st_size;

	if (size < HEADER_LEN) {
		char head[HEADER_LEN];

		r = pread_full(fd, head, (size_t)size, 0);
		if (r < 0)
			return r;
		if (memcmp(head, HEADER, (size_t)size) == 0) {
			/* New, or the header itself was torn. */
			if (ftruncate(fd, 0) < 0)
				return negative_errno();
			r = write_header(fd);
			if (r < 0)
				return r;
			h->size = HEADER_LEN;
			h->fd = TAKE_FD(fd);
			return 0;
		}
	}
	r = check_header(fd, size);
	if (r == -EPROTO) {
		/* Another format version: keep it as an old file, start a new one. */
		h->fd = TAKE_FD(fd);
		h->size = UINT64_MAX;
		return 0;
	}
	if (r < 0)
		return r;
	r = scan_backward(fd, size, record_seq, &h->last_seq, &h->stats.corrupt_skipped, &end);
	if (r < 0)
		return r;
	if (end < size) {
		if (ftruncate(fd, (off_t)end) < 0)
			return negative_errno();
		h->stats.torn_truncated += size - end;
		if (h->log)
			log_warning(h->log,
				    "Cut %" PRIu64 " byte(s) of a torn record off the end of %s/%s "
				    "(a write the process did not finish).",
				    size - end, h->directory, HISTORY_FILE_NAME);
	}
	h->size = end;
	h->fd = TAKE_FD(fd);
	return 0;
}

/* Delete rotated files beyond the configured count (left by a larger earlier limit). */
static void remove_extra_files(History *h)
{
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	struct dirent *de;

	dfd = openat(h->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *suffix;
		char *end;
		unsigned long k;

		if (strncmp(de->d_name, HISTORY_FILE_NAME ".", sizeof(HISTORY_FILE_NAME)) != 0)
			continue;
		suffix = de->d_name + sizeof(HISTORY_FILE_NAME);
		if (*suffix < '1' || *suffix > '9')
			continue;
		k = strtoul(suffix, &end, 10);
		if (*end == 0 && k >= h->limits.max_files)
			(void)unlinkat(h->dir_fd, de->d_name, 0);
	}
	closedir(d);
}

/* The last seq of the newest rotated file that has records (history.log was empty). */
static void last_seq_from_rotated(History *h)
{
	char name[64];

	for (unsigned k = 1; k < h->limits.max_files && h->last_seq == 0; k++) {
		_cleanup_close_ int fd = -EBADF;
		struct stat st;

		file_name(name, sizeof(name), k);
		fd = openat(h->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    check_header(fd, (uint64_t)st.st_size) < 0)
			continue;
		(void)scan_backward(fd, (uint64_t)st.st_size, record_seq, &h->last_seq, NULL, NULL);
	}
}

int history_open(History **ret, const char *directory, const HistoryLimits *limits, Log *log)
{
	_cleanup_(history_freep) History *h = NULL;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->dir_fd = h->lock_fd = h->fd = -EBADF;
	h->log = log;
	h->limits = limits ? *limits : HISTORY_LIMITS_DEFAULT;
	if (h->limits.max_files < 1 || h->limits.max_files > 1000 ||
	    h->limits.max_file_size < HEADER_LEN + FRAME_PREFIX + HISTORY_RECORD_MAX + 1 ||
	    h->limits.sync_records < 1 || h->limits.sync_interval_usec < USEC_PER_MSEC)
		return -EINVAL;
	h->directory = strdup(directory);
	if (!h->directory)
		return -ENOMEM;

	h->dir_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->dir_fd < 0)
		return negative_errno();

	h->lock_fd = openat(h->dir_fd, HISTORY_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (h->lock_fd < 0)
		return negative_errno();
	if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : negative_errno();

	remove_extra_files(h);
	r = open_current(h);
	if (r < 0)
		return r;
	if (h->last_seq == 0)
		last_seq_from_rotated(h);
	if (h->stats.torn_truncated > 0 && fdatasync(h->fd) < 0)
		return negative_errno();

	*ret = TAKE_PTR(h);
	return 0;
}

int history_sync(History *h)
{
	if (h->fd < 0 || h->unsynced == 0)
		return 0;
	if (fdatasync(h->fd) < 0) {
		h->stats.sync_failures++;
		return negative_errno();
	}
	h->stats.syncs++;
	h->unsynced = 0;
	return 0;
}

History *history_free(History *h)
{
	if (!h)
		return NULL;
	if (h->sync_event)
		event_free(TAKE_PTR(h->sync_event));
	/* queries still running stop, and all of them report first */
	atomic_store(&h->cancel, true);
	h->reader = syncer_free(h->reader);
	/* the syncer's completions for this history run before it goes */
	if (h->in_flight > 0)
		(void)syncer_drain(h->syncer);
	(void)history_sync(h);
	if (h->fd >= 0)
		(void)close(h->fd);
	if (h->lock_fd >= 0)
		(void)close(h->lock_fd);
	if (h->dir_fd >= 0)
		(void)close(h->dir_fd);
	free(h->directory);
	free(h);
	return NULL;
}

static void request_sync(History *h);

/* The sync timer runs only while records wait for their fdatasync(): an
 * idle daemon is never woken for nothing. */
static void arm_sync_timer(History *h)
{
	struct timeval tv = { .tv_sec = (time_t)(h->limits.sync_interval_usec / USEC_PER_SEC),
			      .tv_usec = (suseconds_t)(h->limits.sync_interval_usec % USEC_PER_SEC) };

	if (h->sync_event && h->unsynced > 0 && !evtimer_pending(h->sync_event, NULL))
		(void)evtimer_add(h->sync_event, &tv);
}

static void log_sync_failure(History *h, int r)
{
	if (h->log)
		(void)log_warning_errno(h->log, r, "Failed to sync the event history in %s, will retry: %m",
					h->directory);
}

static void on_synced(int result, void *userdata)
{
	History *h = ASSERT_PTR(userdata);

	if (result < 0) {
		h->stats.sync_failures++;
		h->unsynced += h->in_flight; /* they wait for the retry */
		log_sync_failure(h, result);
	} else
		h->stats.syncs++;
	h->in_flight = 0;
	if (h->unsynced >= h->limits.sync_records)
		request_sync(h);
	arm_sync_timer(h); /* the rest, or the retry */
}

/* Sync what was appended: on the syncer when there is one (one fdatasync()
 * at a time; records appended meanwhile wait for the next), else here. */
static void request_sync(History *h)
{
	int r;

	if (h->fd < 0 || h->unsynced == 0)
		return;
	if (h->syncer) {
		if (h->in_flight > 0)
			return; /* on_synced() looks again */
		r = syncer_fdatasync(h->syncer, h->fd, on_synced, h);
		if (r >= 0) {
			h->in_flight = h->unsynced;
			h->unsynced = 0;
			return;
		}
		/* could not queue: sync here rather than not at all */
	}
	r = history_sync(h);
	if (r < 0)
		log_sync_failure(h, r);
}

static void on_sync_timer(evutil_socket_t fd, short what, void *userdata)
{
	History *h = ASSERT_PTR(userdata);

	request_sync(h);
	arm_sync_timer(h); /* the retry, when it failed */
}

int history_attach_event(History *h, struct event_base *base, Syncer *syncer)
{
	int r;

	if (h->sync_event) {
		event_free(h->sync_event);
		h->sync_event = NULL;
	}
	if (h->in_flight > 0)
		(void)syncer_drain(h->syncer);
	atomic_store(&h->cancel, true);
	h->reader = syncer_free(h->reader);
	atomic_store(&h->cancel, false);
	h->syncer = base ? syncer : NULL;
	if (!base)
		return 0;
	h->sync_event = evtimer_new(base, on_sync_timer, h);
	if (!h->sync_event)
		return -ENOMEM;
	r = syncer_new(&h->reader, base);
	if (r < 0)
		return r;
	/* A query of a large history is batch work: the loop goes first. */
	syncer_set_nice(h->reader, 10);
	arm_sync_timer(h);
	return 0;
}

static int rotate(History *h)
{
	char from[64], to[64];
	_cleanup_close_ int fd = -EBADF;
	int r;

	(void)history_sync(h);
	if (h->fd >= 0)
		(void)close(TAKE_FD(h->fd));

	if (h->limits.max_files == 1) {
		if (unlinkat(h->dir_fd, HISTORY_FILE_NAME, 0) < 0 && errno != ENOENT)
			return negative_errno();
	} else {
		file_name(from, sizeof(from), h->limits.max_files - 1);
		if (unlinkat(h->dir_fd, from, 0) < 0 && errno != ENOENT)
			return negative_errno();
		for (unsigned k = h->limits.max_files - 1; k > 0; k--) {
			file_name(from, sizeof(from), k - 1);
			file_name(to, sizeof(to), k);
			if (renameat(h->dir_fd, from, h->dir_fd, to) < 0 && errno != ENOENT)
				return negative_errno();
		}
	}

	fd = openat(h->dir_fd, HISTORY_FILE_NAME,
		    O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return negative_errno();
	r = write_header(fd);
	if (r < 0)
		return r;
	if (fdatasync(fd) < 0 || fsync(h->dir_fd) < 0)
		return negative_errno();
	h->fd = TAKE_FD(fd);
	h->size = HEADER_LEN;
	h->stats.rotations++;
	return 0;
}

/* A full disk fails every append of a storm: say so when it starts, then
 * at most once a minute (a disk at its limit may let one record in and
 * refuse the next), and once with the count when writing works again. */
#define HISTORY_FAILURE_LOG_USEC (60 * USEC_PER_SEC)
static int append_failed(History *h, int r)
{
	struct timespec ts;
	uint64_t now;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
	h->stats.append_failures++;
	h->failing++;
	if (h->log && (h->failure_log_usec == 0 || now - h->failure_log_usec >= HISTORY_FAILURE_LOG_USEC)) {
		log_error_errno(h->log, r,
				"Failed to write to the event history in %s: %m. Events are not "
				"recorded until writing works again (logged at most once a minute).",
				h->directory);
		h->failure_log_usec = now;
		h->failing_logged = true;
	}
	return r;
}

int history_append(History *h, const ZpciEvent *e)
{
	json_object *o = NULL;
	const char *json;
	_cleanup_free_ char *line = NULL;
	size_t len, total;
	int r;

	r = event_to_json(e, &o);
	if (r < 0)
		return r;
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!json) {
		json_object_put(o);
		return -ENOMEM;
	}
	len = strlen(json);
	if (len == 0 || len > HISTORY_RECORD_MAX) {
		json_object_put(o);
		return -E2BIG;
	}
	total = FRAME_PREFIX + len + 1;
	line = malloc(total + 1);
	if (!line) {
		json_object_put(o);
		return -ENOMEM;
	}
	(void)snprintf(line, total + 1, "%08x %08x %s\n", (unsigned)len, history_crc32(json, len), json);
	json_object_put(o);

	if (h->fd < 0 || h->size == UINT64_MAX || h->size + total > h->limits.max_file_size) {
		r = rotate(h);
		if (r < 0)
			return append_failed(h, r);
	}

	r = loop_write(h->fd, line, total);
	if (r < 0) {
		/* Leave no partial record behind (e.g. ENOSPC halfway). */
		(void)ftruncate(h->fd, (off_t)h->size);
		return append_failed(h, r);
	}
	if (h->failing_logged) {
		if (h->log)
			log_notice(h->log,
				   "Writing the event history in %s works again; %" PRIu64
				   " event(s) could not be recorded meanwhile.",
				   h->directory, h->failing);
		h->failing = 0;
		h->failing_logged = false;
	}
	h->size += total;
	h->stats.appended++;
	if (e->seq > h->last_seq)
		h->last_seq = e->seq;
	if (++h->unsynced >= h->limits.sync_records)
		request_sync(h);
	arm_sync_timer(h);
	return 0;
}

uint64_t history_last_seq(const History *h)
{
	return h->last_seq;
}

const HistoryStats *history_stats(const History *h)
{
	return &h->stats;
}

/* The files a query reads, oldest first, each with the size it had when the
 * query started: records appended later are not looked at, and a rotation
 * meanwhile (renames, the oldest file deleted) does not change what the
 * open descriptors read. */
typedef struct Snapshot {
	unsigned n;
	int *fds;
	uint64_t *sizes;
} Snapshot;

static void snapshot_done(Snapshot *s)
{
	for (unsigned i = 0; i < s->n; i++)
		(void)close(s->fds[i]);
	free(s->fds);
	free(s->sizes);
	*s = (Snapshot){};
}

static int snapshot_take(History *h, Snapshot *ret)
{
	Snapshot s = {};
	char name[64];

	s.fds = calloc(h->limits.max_files, sizeof(int));
	s.sizes = calloc(h->limits.max_files, sizeof(uint64_t));
	if (!s.fds || !s.sizes) {
		snapshot_done(&s);
		return -ENOMEM;
	}
	for (unsigned k = h->limits.max_files; k > 0; k--) {
		struct stat st;
		int fd;

		if (k == 1) {
			/* The current file: what history_append() has written. */
			if (h->fd < 0 || h->size == UINT64_MAX)
				continue;
			fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
			if (fd < 0) {
				int r = negative_errno();

				snapshot_done(&s);
				return r;
			}
			s.fds[s.n] = fd;
			s.sizes[s.n++] = h->size;
			continue;
		}
		file_name(name, sizeof(name), k - 1);
		fd = openat(h->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			int r = fd < 0 ? negative_errno() : -EBADF;

			if (fd >= 0)
				(void)close(fd);
			snapshot_done(&s);
			return r;
		}
		s.fds[s.n] = fd;
		s.sizes[s.n++] = (uint64_t)st.st_size;
	}
	*ret = s;
	return 0;
}

typedef struct QueryRun {
	const atomic_bool *cancel; /* NULL: never cancelled */
	HistoryQuery q;
	uint64_t limit;
	bool want_total; /* go on counting after the page is full */
	uint64_t matched;
	ZpciEvent *events; /* in the order asked for */
	size_t n, alloc;
	uint64_t n_bad;
} QueryRun;

static bool query_match(const HistoryQuery *q, const ZpciEvent *e)
{
	if (q->since_usec && e->time_usec < q->since_usec)
		return false;
	if (q->until_usec && e->time_usec >= q->until_usec)
		return false;
	if (q->match_fid && e->fid != q->fid)
		return false;
	if (q->match_pec && (!(e->has & EVENT_HAS_PEC) || e->pec != q->pec))
		return false;
	if (q->kind >= 0 && e->kind != q->kind)
		return false;
	return true;
}

static bool query_filters(const HistoryQuery *q)
{
	return q->since_usec || q->until_usec || q->match_fid || q->match_pec || q->kind >= 0;
}

/* Records come in the order asked for (newest first: read backwards), so
 * the page is the first limit matches after offset, and the walk ends
 * there unless the total is wanted. */
static int query_record(const char *json, size_t len, void *userdata)
{
	QueryRun *s = userdata;
	json_object *o = NULL;
	ZpciEvent e;
	int r;

	if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
		return -ECANCELED;
	/* Without filters a record outside the page is only counted: its
	 * frame was checked, its JSON need not be read. */
	if (!query_filters(&s->q) && (s->matched < s->q.offset || s->n >= s->limit)) {
		s->matched++;
		return s->n >= s->limit && !s->want_total ? 1 : 0;
	}
	if (json_parse_len(json, len, &o) < 0)
		return 0;
	r = event_from_json(o, &e);
	json_object_put(o);
	if (r < 0 || !query_match(&s->q, &e))
		return 0;

	s->matched++;
	if (s->matched > s->q.offset && s->n < s->limit) {
		if (s->n == s->alloc) {
			size_t na = s->alloc ? s->alloc * 2 : 64;
			ZpciEvent *p = reallocarray(s->events, na, sizeof(ZpciEvent));

			if (!p)
				return -ENOMEM;
			s->events = p;
			s->alloc = na;
		}
		s->events[s->n++] = e;
	}
	return s->n >= s->limit && !s->want_total ? 1 : 0;
}

static int query_prepare(QueryRun *s, const HistoryQuery *q, bool want_total)
{
	if (q->newest_first && q->offset > HISTORY_QUERY_LIMIT_MAX * 10)
		return -ERANGE;
	*s = (QueryRun){ .q = *q, .want_total = want_total };
	s->limit = q->limit == 0 || q->limit > HISTORY_QUERY_LIMIT_MAX ? HISTORY_QUERY_LIMIT_MAX : q->limit;
	return 0;
}

/* Run @s over the files of @snap; on any thread. Returns 0 or -errno. */
static int query_run(QueryRun *s, const Snapshot *snap)
{
	for (unsigned i = 0; i < snap->n; i++) {
		unsigned k = s->q.newest_first ? snap->n - 1 - i : i;
		int r;

		r = check_header(snap->fds[k], snap->sizes[k]);
		if (r == -EPROTO)
			continue; /* not a file of this format version */
		if (r < 0)
			return r;
		if (s->q.newest_first)
			r = scan_backward(snap->fds[k], snap->sizes[k], query_record, s, &s->n_bad, NULL);
		else
			r = scan_forward(snap->fds[k], snap->sizes[k], query_record, s, &s->n_bad, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			break;
	}
	return 0;
}

int history_query(History *h, const HistoryQuery *q, ZpciEvent **ret, size_t *ret_n, uint64_t *ret_total)
{
	Snapshot snap = {};
	QueryRun s;
	int r;

	r = query_prepare(&s, q, ret_total != NULL);
	if (r < 0)
		return r;
	r = snapshot_take(h, &snap);
	if (r < 0)
		return r;
	r = query_run(&s, &snap);
	snapshot_done(&snap);
	h->stats.corrupt_skipped += s.n_bad;
	if (r < 0 || s.n == 0) {
		free(s.events);
		s.events = NULL;
		s.n = 0;
	}
	if (r < 0)
		return r;
	*ret = s.events;
	*ret_n = s.n;
	if (ret_total)
		*ret_total = s.matched;
	return 0;
}

typedef struct QueryJob {
	History *history;
	QueryRun run;
	Snapshot snap;
	HistoryQueryDone done;
	void *userdata;
} QueryJob;

static int query_work(void *userdata)
{
	QueryJob *j = userdata;

	return query_run(&j->run, &j->snap);
}

static void query_finished(int result, void *userdata)
{
	QueryJob *j = ASSERT_PTR(userdata);

	j->history->queries--;
	j->history->stats.corrupt_skipped += j->run.n_bad;
	snapshot_done(&j->snap);
	if (result < 0 || j->run.n == 0) {
		free(j->run.events);
		j->run.events = NULL;
	}
	if (result < 0)
		j->done(result, NULL, 0, 0, j->userdata);
	else
		j->done(0, j->run.events, j->run.n, j->run.matched, j->userdata);
	free(j);
}

int history_query_async(History *h, const HistoryQuery *q, HistoryQueryDone done, void *userdata)
{
	QueryJob *j;
	int r;

	if (!done)
		return -EINVAL;
	if (h->queries >= HISTORY_QUERIES_MAX)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->history = h;
	j->done = done;
	j->userdata = userdata;
	r = query_prepare(&j->run, q, true);
	j->run.cancel = &h->cancel;
	if (r >= 0)
		r = snapshot_take(h, &j->snap);
	if (r < 0) {
		free(j);
		return r;
	}
	h->queries++;
	if (!h->reader) {
		query_finished(query_run(&j->run, &j->snap), j);
		return 0;
	}
	r = syncer_call(h->reader, query_work, query_finished, j);
	if (r < 0) {
		h->queries--;
		snapshot_done(&j->snap);
		free(j);
		return r;
	}
	return 0;
}
