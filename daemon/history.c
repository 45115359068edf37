/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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
	Syncer *syncer; /* not owned; NULL: fdatasync() on the caller's thread */
};

uint32_t history_crc32(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	while (size-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void file_name(char *buf, size_t size, unsigned index)
{
	if (index == 0)
		(void)snprintf(buf, size, "%s", HISTORY_FILE_NAME);
	else
		(void)snprintf(buf, size, "%s.%u", HISTORY_FILE_NAME, index);
}

/* Read the file @name of the history directory whole. -ENOENT when absent. */
static int read_file_at(int dir_fd, const char *name, uint64_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t size = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	/* A file can be larger than the limit after the limit was lowered: read it anyway, up to a bound. */
	if ((uint64_t)st.st_size > MAX(max, (uint64_t)256 * 1024 * 1024))
		return -EFBIG;

	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (size < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + size, (size_t)st.st_size - size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
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

typedef int (*record_fn)(const char *json, size_t len, void *userdata);

/* Walk the records of a file's content. Returns the offset just past the last
 * good record (the header when there is none), or -EPROTO when the header is
 * not ours / of another version, or the callback's negative return. Records
 * with a bad frame are skipped and counted in *@n_bad; a bad tail after the
 * last good record is not counted (the caller decides what a torn tail is). */
static ssize_t scan_records(const char *buf, size_t size, record_fn fn, void *userdata, uint64_t *n_bad)
{
	size_t off = HEADER_LEN, good_end = HEADER_LEN;
	uint64_t bad = 0, bad_since_good = 0;

	if (size < HEADER_LEN || memcmp(buf, HEADER, HEADER_LEN) != 0)
		return -EPROTO;

	while (off < size) {
		const char *json;
		size_t len;
		ssize_t n = frame_check(buf + off, size - off, &json, &len);

		if (n < 0) {
			const char *nl = memchr(buf + off, '\n', size - off);

			bad_since_good++;
			if (!nl)
				break;
			off = (size_t)(nl - buf) + 1;
			continue;
		}
		if (fn) {
			int r = fn(json, len, userdata);

			if (r < 0)
				return r;
		}
		bad += bad_since_good;
		bad_since_good = 0;
		off += (size_t)n;
		good_end = off;
	}
	if (n_bad)
		*n_bad += bad;
	return (ssize_t)good_end;
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

static int record_seq(const char *json, size_t len, void *userdata)
{
	uint64_t *last = userdata;
	json_object *o = NULL, *v;

	if (json_parse_len(json, len, &o) < 0)
		return 0;
	if (json_object_object_get_ex(o, "seq", &v) && json_object_is_type(v, json_type_int)) {
		uint64_t s = json_object_get_uint64(v);

		if (s > *last)
			*last = s;
	}
	json_object_put(o);
	return 0;
}

static int write_header(int fd)
{
	return loop_write(fd, HEADER, HEADER_LEN);
}

/* Open history.log for appending: create it with a header, or cut a torn tail off it. */
static int open_current(History *h)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t size = 0;
	ssize_t end;
	int r;

	fd = openat(h->dir_fd, HISTORY_FILE_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0640);
	if (fd < 0)
		return negative_errno();

	r = read_file_at(h->dir_fd, HISTORY_FILE_NAME, h->limits.max_file_size, &buf, &size);
	if (r < 0)
		return r;

	if (size < HEADER_LEN && memcmp(buf, HEADER, size) == 0) {
		/* New, or the header itself was torn. */
		if (ftruncate(fd, 0) < 0)
			return negative_errno();
		r = write_header(fd);
		if (r < 0)
			return r;
		h->size = HEADER_LEN;
	} else {
		end = scan_records(buf, size, record_seq, &h->last_seq, &h->stats.corrupt_skipped);
		if (end == -EPROTO) {
			/* Another format version: keep it as an old file, start a new one. */
			h->fd = TAKE_FD(fd);
			h->size = UINT64_MAX;
			return 0;
		}
		if (end < 0)
			return (int)end;
		if ((size_t)end < size) {
			if (ftruncate(fd, end) < 0)
				return negative_errno();
			h->stats.torn_truncated += size - (size_t)end;
		}
		h->size = (uint64_t)end;
	}
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
		_cleanup_free_ char *buf = NULL;
		size_t size;

		file_name(name, sizeof(name), k);
		if (read_file_at(h->dir_fd, name, h->limits.max_file_size, &buf, &size) < 0)
			continue;
		(void)scan_records(buf, size, record_seq, &h->last_seq, NULL);
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
	if (h->sync_event) {
		event_free(h->sync_event);
		h->sync_event = NULL;
	}
	if (h->in_flight > 0)
		(void)syncer_drain(h->syncer);
	h->syncer = base ? syncer : NULL;
	if (!base)
		return 0;
	h->sync_event = evtimer_new(base, on_sync_timer, h);
	if (!h->sync_event)
		return -ENOMEM;
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
			return r;
	}

	r = loop_write(h->fd, line, total);
	if (r < 0) {
		/* Leave no partial record behind (e.g. ENOSPC halfway). */
		(void)ftruncate(h->fd, (off_t)h->size);
		return r;
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

typedef struct QueryState {
	const HistoryQuery *q;
	uint64_t limit;
	uint64_t matched;
	ZpciEvent *events; /* oldest first: [offset, offset+limit); newest first: a ring of offset+limit */
	size_t n, alloc;
	size_t ring_size, ring_head;
} QueryState;

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

static int query_record(const char *json, size_t len, void *userdata)
{
	QueryState *s = userdata;
	json_object *o = NULL;
	ZpciEvent e;
	int r;

	if (json_parse_len(json, len, &o) < 0)
		return 0;
	r = event_from_json(o, &e);
	json_object_put(o);
	if (r < 0 || !query_match(s->q, &e))
		return 0;

	s->matched++;
	if (s->q->newest_first) {
		/* Keep the last offset+limit matches; the newest ones are cut later. */
		s->events[s->ring_head] = e;
		s->ring_head = (s->ring_head + 1) % s->ring_size;
		if (s->n < s->ring_size)
			s->n++;
		return 0;
	}
	if (s->matched <= s->q->offset || s->n >= s->limit)
		return 0;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 64;
		ZpciEvent *p = reallocarray(s->events, na, sizeof(ZpciEvent));

		if (!p)
			return -ENOMEM;
		s->events = p;
		s->alloc = na;
	}
	s->events[s->n++] = e;
	return 0;
}

int history_query(History *h, const HistoryQuery *q, ZpciEvent **ret, size_t *ret_n, uint64_t *ret_total)
{
	QueryState s = { .q = q };
	char name[64];
	int r = 0;

	s.limit = q->limit == 0 || q->limit > HISTORY_QUERY_LIMIT_MAX ? HISTORY_QUERY_LIMIT_MAX : q->limit;
	if (q->newest_first) {
		if (q->offset > HISTORY_QUERY_LIMIT_MAX * 10)
			return -ERANGE;
		s.ring_size = (size_t)(q->offset + s.limit);
		s.events = calloc(s.ring_size, sizeof(ZpciEvent));
		if (!s.events)
			return -ENOMEM;
	}

	/* Oldest file first. */
	for (unsigned k = h->limits.max_files; k > 0; k--) {
		_cleanup_free_ char *buf = NULL;
		size_t size;
		ssize_t n;

		file_name(name, sizeof(name), k - 1);
		r = read_file_at(h->dir_fd, name, h->limits.max_file_size, &buf, &size);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		n = scan_records(buf, size, query_record, &s, &h->stats.corrupt_skipped);
		if (n == -EPROTO)
			continue; /* not a file of this format version */
		if (n < 0) {
			r = (int)n;
			break;
		}
	}
	if (r < 0) {
		free(s.events);
		return r;
	}

	if (q->newest_first) {
		/* The ring holds the last s.n matches ending before ring_head; return
		 * newest first, skipping @offset of them. */
		ZpciEvent *out = NULL;
		size_t skip = (size_t)MIN((uint64_t)s.n, q->offset), n_out = s.n - skip;

		if (n_out > 0) {
			out = calloc(n_out, sizeof(ZpciEvent));
			if (!out) {
				free(s.events);
				return -ENOMEM;
			}
			for (size_t i = 0; i < n_out; i++) {
				size_t back = skip + i + 1;

				out[i] = s.events[(s.ring_head + s.ring_size - back) % s.ring_size];
			}
		}
		free(s.events);
		s.events = out;
		s.n = n_out;
	}

	if (s.n == 0) {
		free(s.events);
		s.events = NULL;
	}
	*ret = s.events;
	*ret_n = s.n;
	if (ret_total)
		*ret_total = s.matched;
	return 0;
}
