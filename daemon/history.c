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
#include "common/time-util.h"
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
	Syncer *syncer;             /* not owned; NULL: fdatasync() on the caller's thread */
	Syncer *reader;             /* owned: runs history_query_async(); NULL: inline */
	unsigned queries;           /* history_query_async() not finished yet */
	atomic_bool cancel;         /* history_free(): queries on the reader stop */
	uint64_t failing;           /* appends failed since the last "works again" */
	bool failing_logged;        /* a failure was logged, "works again" not yet */
	uint64_t failure_log_usec;  /* CLOCK_MONOTONIC of the last failure logged */
	uint64_t cur_dev, cur_ino;  /* of history.log */
	pthread_mutex_t index_lock; /* the summaries: the loop appends, queries read and build */
	pthread_mutex_t save_lock;  /* one writer of history.index at a time */
	bool index_lock_init;
	struct FileSummary *index;
	unsigned n_index, index_alloc;
	bool index_dirty;
};

/* Eight tables of 256 entries, filled once: eight bytes per step instead
 * of a bit at a time, as every append checksums its line and every query
 * checks every frame it walks. The bytes are combined one by one, so the
 * result does not depend on the machine's byte order. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_fill(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xffu];
}

uint32_t history_crc32(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	(void)pthread_once(&crc_once, crc_table_fill);
	for (; size >= 8; size -= 8, p += 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);

		crc = crc_table[7][lo & 0xffu] ^ crc_table[6][(lo >> 8) & 0xffu] ^
		      crc_table[5][(lo >> 16) & 0xffu] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
		      crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
	}
	while (size-- > 0)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xffu];
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

/* Walk the records of @fd from @start (the header's end, or the end of a
 * record) up to @size bytes (header already checked), oldest first. Records with a bad frame are skipped and
 * counted in *@n_bad; a bad tail after the last good record is not counted (the caller decides what a torn
 * tail is). Sets *@ret_good_end (may be NULL) to the offset just past the last good record (the header when
 * there is none, @start). Returns 0, 1 when @fn stopped the walk, or -errno. */
static int scan_forward(int fd, uint64_t start, uint64_t size, record_fn fn, void *userdata, uint64_t *n_bad,
			uint64_t *ret_good_end)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t base = start, good_end = start, bad_since_good = 0, bad = 0;
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

/* --- The index: a summary of each file ----------------------------------- */

/* What a query's total needs of one file, kept so that the file is read
 * once, not by every query: the number of records, per kind, and the range
 * of their times and sequence numbers. A summary covers the file up to
 * @size, the end of its last counted record; that record's frame prefix
 * (length and CRC) is kept to check, before the summary is used, that the
 * file still holds it there. The summary of the file being written grows
 * with each append; the others are complete once built (a rotated file is
 * never written again). They are saved in history.index at each rotation,
 * after a query built one, and at close; a summary read from there is used
 * only when its file (device, inode) is still as long and still holds that
 * record, else the file is read again. */
#define INDEX_FILE_NAME "history.index"
#define INDEX_HEADER    "ZPCID-HISTORY-INDEX 2\n" /* 2: six kinds (adapter) */

typedef struct FileSummary {
	uint64_t dev, ino;
	uint64_t size;     /* bytes summarised: the end of the last record counted */
	uint64_t tail_off; /* where that record starts (0: no record) */
	char tail[FRAME_PREFIX];
	char head[FRAME_PREFIX];         /* the frame prefix of the first record (when there is one) */
	uint64_t records;                /* records with a good frame */
	uint64_t kinds[_EVENT_KIND_MAX]; /* of those whose kind and time were read, per kind */
	uint64_t first_seq, last_seq;
	uint64_t min_time, max_time; /* over the records counted in kinds (a missing time is 0) */
} FileSummary;

static void summary_init(FileSummary *f, uint64_t dev, uint64_t ino)
{
	*f = (FileSummary){ .dev = dev, .ino = ino, .size = HEADER_LEN, .min_time = UINT64_MAX };
}

static uint64_t summary_parsed(const FileSummary *f)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < _EVENT_KIND_MAX; k++)
		n += f->kinds[k];
	return n;
}

static uint64_t parse_u64_prefix(const char **p, const char *end, bool *ok)
{
	uint64_t v = 0;
	const char *q = *p;

	*ok = false;
	while (q < end && *q >= '0' && *q <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*q++ - '0');
		*ok = true;
	}
	*p = q;
	return v;
}

static int record_brief_full(const char *json, size_t len, uint64_t *ret_seq, EventKind *ret_kind,
			     uint64_t *ret_time)
{
	json_object *o = NULL;
	ZpciEvent e;
	int r;

	if (json_parse_len(json, len, &o) < 0)
		return -EBADMSG;
	r = event_from_json(o, &e);
	json_object_put(o);
	if (r < 0)
		return -EBADMSG;
	*ret_seq = e.seq;
	*ret_kind = e.kind;
	*ret_time = e.time_usec;
	return 0;
}

/* The seq, kind and time of a record, read from the JSON text without
 * parsing it all: the writer puts "seq" first and "kind" second, and the
 * text ,"time": cannot occur inside a JSON string (a quote there is always
 * escaped). Falls back to a full parse for any other shape. Returns 0 or
 * -EBADMSG. */
static int record_brief(const char *json, size_t len, uint64_t *ret_seq, EventKind *ret_kind,
			uint64_t *ret_time)
{
	static const char seq_key[] = "{\"seq\":", kind_key[] = ",\"kind\":\"", time_key[] = ",\"time\":";
	const char *p = json, *end = json + len, *t;
	char kind[32];
	size_t n;
	bool ok;

	if (len > sizeof(seq_key) - 1 && memcmp(p, seq_key, sizeof(seq_key) - 1) == 0) {
		p += sizeof(seq_key) - 1;
		*ret_seq = parse_u64_prefix(&p, end, &ok);
		if (ok && (size_t)(end - p) > sizeof(kind_key) - 1 &&
		    memcmp(p, kind_key, sizeof(kind_key) - 1) == 0) {
			const char *q;

			p += sizeof(kind_key) - 1;
			q = memchr(p, '"', (size_t)(end - p));
			n = q ? (size_t)(q - p) : 0;
			if (q && n > 0 && n < sizeof(kind)) {
				memcpy(kind, p, n);
				kind[n] = 0;
				*ret_kind = event_kind_from_string(kind);
				*ret_time = 0;
				t = memmem(q, (size_t)(end - q), time_key, sizeof(time_key) - 1);
				if (t) {
					t += sizeof(time_key) - 1;
					*ret_time = parse_u64_prefix(&t, end, &ok);
					if (!ok)
						goto full;
				}
				if (*ret_kind >= 0)
					return 0;
			}
		}
	}
full:
	return record_brief_full(json, len, ret_seq, ret_kind, ret_time);
}

static void summary_add(FileSummary *f, bool parsed, uint64_t seq, EventKind kind, uint64_t time)
{
	f->records++;
	if (!parsed || kind < 0 || kind >= _EVENT_KIND_MAX)
		return;
	f->kinds[kind]++;
	if (seq > 0) {
		if (f->first_seq == 0)
			f->first_seq = seq;
		f->last_seq = seq;
	}
	f->min_time = MIN(f->min_time, time);
	f->max_time = MAX(f->max_time, time);
}

typedef struct SummaryScan {
	FileSummary *f;
	const atomic_bool *cancel;
	size_t last_len; /* frame length of the last record seen */
	uint64_t count;  /* count_scan(): records matching */
	const HistoryQuery *q;
} SummaryScan;

static int summary_record(const char *json, size_t len, void *userdata)
{
	SummaryScan *s = userdata;
	uint64_t seq = 0, time = 0;
	EventKind kind = _EVENT_KIND_INVALID;
	int r;

	if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
		return -ECANCELED;
	r = record_brief(json, len, &seq, &kind, &time);
	summary_add(s->f, r >= 0, seq, kind, time);
	s->last_len = FRAME_PREFIX + len + 1;
	return 0;
}

/* Extend @f over the records of @fd from f->size up to @size. */
static int summary_extend(FileSummary *f, int fd, uint64_t size, const atomic_bool *cancel)
{
	SummaryScan s = { .f = f, .cancel = cancel };
	uint64_t good_end;
	int r;

	if (f->size >= size)
		return 0;
	r = scan_forward(fd, f->size, size, summary_record, &s, NULL, &good_end);
	if (r < 0)
		return r;
	if (s.last_len > 0) {
		if (f->tail_off == 0) {
			r = pread_full(fd, f->head, FRAME_PREFIX, HEADER_LEN);
			if (r < 0)
				return r;
		}
		f->tail_off = good_end - s.last_len;
		r = pread_full(fd, f->tail, FRAME_PREFIX, f->tail_off);
		if (r < 0)
			return r;
	}
	/* Bad lines after the last good record add nothing and are not read
	 * again (the file being written has none: it ends with its last
	 * record, and a torn one was cut at open). */
	if (f->tail_off > 0)
		f->size = size;
	return 0;
}

/* Whether @fd (of @size bytes) still holds what @f summarised. */
static bool summary_valid(const FileSummary *f, int fd, uint64_t size)
{
	char tail[FRAME_PREFIX];

	if (f->size > size || f->size < HEADER_LEN)
		return false;
	if (f->tail_off == 0)
		return f->records == 0 && f->size == HEADER_LEN;
	if (f->tail_off + FRAME_PREFIX > f->size || pread_full(fd, tail, FRAME_PREFIX, f->tail_off) < 0 ||
	    memcmp(tail, f->tail, FRAME_PREFIX) != 0)
		return false;
	return pread_full(fd, tail, FRAME_PREFIX, HEADER_LEN) >= 0 &&
	       memcmp(tail, f->head, FRAME_PREFIX) == 0;
}

/* The cached summary of (@dev, @ino), under index_lock. */
static FileSummary *index_find(History *h, uint64_t dev, uint64_t ino)
{
	for (unsigned i = 0; i < h->n_index; i++)
		if (h->index[i].dev == dev && h->index[i].ino == ino)
			return &h->index[i];
	return NULL;
}

/* Store @f in the cache, replacing an older (@force: any other) summary
 * of its file; under index_lock. */
static int index_put(History *h, const FileSummary *f, bool force)
{
	FileSummary *old = index_find(h, f->dev, f->ino);

	if (old) {
		if (force || old->size <= f->size) {
			*old = *f;
			h->index_dirty = true;
		}
		return 0;
	}
	if (h->n_index == h->index_alloc) {
		unsigned na = h->index_alloc ? h->index_alloc * 2 : 8;
		FileSummary *p = reallocarray(h->index, na, sizeof(FileSummary));

		if (!p)
			return -ENOMEM;
		h->index = p;
		h->index_alloc = na;
	}
	h->index[h->n_index++] = *f;
	h->index_dirty = true;
	return 0;
}

/* The frame prefixes in history.index, as hex (a bad first line may hold any bytes). */
static void hex_encode(const char src[FRAME_PREFIX], char dst[2 * FRAME_PREFIX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < FRAME_PREFIX; i++) {
		dst[2 * i] = digits[(uint8_t)src[i] >> 4];
		dst[2 * i + 1] = digits[(uint8_t)src[i] & 0xf];
	}
	dst[2 * FRAME_PREFIX] = 0;
}

static int hex_decode(const char *src, char dst[FRAME_PREFIX])
{
	if (strlen(src) != 2 * FRAME_PREFIX)
		return -EBADMSG;
	for (size_t i = 0; i < FRAME_PREFIX; i++) {
		uint32_t v;
		char pair[8] = { '0', '0', '0', '0', '0', '0', src[2 * i], src[2 * i + 1] };

		if (parse_hex8(pair, &v) < 0)
			return -EBADMSG;
		dst[i] = (char)v;
	}
	return 0;
}

/* Keep only the summaries of files that are still in the history; under index_lock. */
static void index_prune(History *h)
{
	bool *keep = calloc(h->n_index ? h->n_index : 1, sizeof(bool));
	unsigned n = 0;
	char name[64];

	if (!keep)
		return;
	for (unsigned k = 0; k < h->limits.max_files; k++) {
		struct stat st;
		FileSummary *f;

		file_name(name, sizeof(name), k);
		if (fstatat(h->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		f = index_find(h, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		if (f)
			keep[f - h->index] = true;
	}
	for (unsigned i = 0; i < h->n_index; i++)
		if (keep[i])
			h->index[n++] = h->index[i];
	if (n != h->n_index)
		h->index_dirty = true;
	h->n_index = n;
	free(keep);
}

/* Save the summaries in history.index (a new file renamed over the old
 * one; not flushed: it is checked before use, never trusted). The text
 * is made under index_lock, the file written outside it: appends on the
 * loop do not wait for the disk. */
static void index_save_locked(History *h);

static void index_save(History *h)
{
	pthread_mutex_lock(&h->save_lock);
	index_save_locked(h);
	pthread_mutex_unlock(&h->save_lock);
}

static void index_save_locked(History *h)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t size = 0;
	FILE *f;

	if (h->dir_fd < 0)
		return;
	pthread_mutex_lock(&h->index_lock);
	if (!h->index_dirty) {
		pthread_mutex_unlock(&h->index_lock);
		return;
	}
	index_prune(h);
	f = open_memstream(&text, &size);
	if (!f) {
		pthread_mutex_unlock(&h->index_lock);
		return;
	}
	fputs(INDEX_HEADER, f);
	for (unsigned i = 0; i < h->n_index; i++) {
		const FileSummary *s = &h->index[i];

		char head[2 * FRAME_PREFIX + 1], tail[2 * FRAME_PREFIX + 1];

		hex_encode(s->head, head);
		hex_encode(s->tail, tail);
		fprintf(f,
			"%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s %s %" PRIu64 " %" PRIu64
			" %" PRIu64 " %" PRIu64 " %" PRIu64,
			s->dev, s->ino, s->size, s->tail_off, head, tail, s->records, s->first_seq,
			s->last_seq, s->min_time, s->max_time);
		for (unsigned k = 0; k < _EVENT_KIND_MAX; k++)
			fprintf(f, " %" PRIu64, s->kinds[k]);
		fputc('\n', f);
	}
	h->index_dirty = false;
	pthread_mutex_unlock(&h->index_lock);
	if (fclose(f) != 0)
		goto fail;
	fd = openat(h->dir_fd, INDEX_FILE_NAME ".new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0640);
	if (fd < 0)
		goto fail;
	if (loop_write(fd, text, size) < 0 ||
	    renameat(h->dir_fd, INDEX_FILE_NAME ".new", h->dir_fd, INDEX_FILE_NAME) < 0) {
		(void)unlinkat(h->dir_fd, INDEX_FILE_NAME ".new", 0);
		goto fail;
	}
	return;
fail:
	pthread_mutex_lock(&h->index_lock);
	h->index_dirty = true; /* the next save tries again */
	pthread_mutex_unlock(&h->index_lock);
}

/* Read history.index into the cache; a line that does not parse is left out. */
static void index_load(History *h)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *line = NULL;
	size_t alloc = 0;
	bool first = true;
	FILE *f;

	fd = openat(h->dir_fd, INDEX_FILE_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	f = fdopen(TAKE_FD(fd), "r");
	if (!f)
		return;
	while (getline(&line, &alloc, f) > 0) {
		FileSummary s = {};
		char head[2 * FRAME_PREFIX + 1], tail[2 * FRAME_PREFIX + 1];
		uint64_t k[_EVENT_KIND_MAX];
		int n;

		if (first) {
			first = false;
			if (!streq(line, INDEX_HEADER))
				break;
			continue;
		}
		_Static_assert(_EVENT_KIND_MAX == 6, "history.index lists six kinds");
		n = sscanf(line,
			   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %36s %36s %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64,
			   &s.dev, &s.ino, &s.size, &s.tail_off, head, tail, &s.records, &s.first_seq,
			   &s.last_seq, &s.min_time, &s.max_time, &k[0], &k[1], &k[2], &k[3], &k[4], &k[5]);
		if (n != 17 || hex_decode(head, s.head) < 0 || hex_decode(tail, s.tail) < 0)
			continue;
		memcpy(s.kinds, k, sizeof(k));
		(void)index_put(h, &s, true);
	}
	fclose(f);
	h->index_dirty = false;
}

/* The summary of one file of a query's snapshot, from the cache when it
 * still holds, else by reading (the part of) the file it lacks; on the
 * query's thread. @live: the summary of the current file taken with the
 * snapshot (NULL when there was none). */
static int summary_get(History *h, int fd, uint64_t dev, uint64_t ino, uint64_t size,
		       const FileSummary *live, const atomic_bool *cancel, uint64_t *n_read,
		       FileSummary *ret)
{
	FileSummary f, *c;
	uint64_t cached_size = 0;
	bool have = false, force = false, read;
	int r;

	if (live && live->size == size) {
		*ret = *live;
		return 0;
	}
	pthread_mutex_lock(&h->index_lock);
	c = index_find(h, dev, ino);
	if (c) {
		f = *c;
		cached_size = c->size;
		have = true;
	}
	pthread_mutex_unlock(&h->index_lock);
	if (have && f.size > size) {
		/* The file being written grew past this query's snapshot: the
		 * cache stays, this query counts its own part. */
		summary_init(&f, dev, ino);
		r = summary_extend(&f, fd, size, cancel);
		if (r >= 0)
			*ret = f;
		(*n_read)++;
		return r;
	}
	if (!have || !summary_valid(&f, fd, size)) {
		summary_init(&f, dev, ino);
		force = have;
	}
	read = f.size < size;
	*n_read += read;
	if (read) {
		r = summary_extend(&f, fd, size, cancel);
		if (r < 0)
			return r;
	}
	if (!have || force || f.size > cached_size) {
		pthread_mutex_lock(&h->index_lock);
		(void)index_put(h, &f, force);
		pthread_mutex_unlock(&h->index_lock);
	}
	*ret = f;
	return 0;
}

/* For a summary that covers only part of a query's time range: count the
 * file's matching records. */
static int count_record(const char *json, size_t len, void *userdata)
{
	SummaryScan *s = userdata;
	uint64_t seq, time;
	EventKind kind;

	if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
		return -ECANCELED;
	if (record_brief(json, len, &seq, &kind, &time) < 0)
		return 0;
	if ((s->q->since_usec && time < s->q->since_usec) ||
	    (s->q->until_usec && time >= s->q->until_usec) || (s->q->kind >= 0 && kind != s->q->kind))
		return 0;
	s->count++;
	return 0;
}

/* The summary of the current file grows with each append, while it covers
 * the whole file; on the loop. */
static void index_append(History *h, const ZpciEvent *e, const char *line, size_t total)
{
	FileSummary *c;

	pthread_mutex_lock(&h->index_lock);
	c = index_find(h, h->cur_dev, h->cur_ino);
	if (c && c->size == h->size) {
		summary_add(c, true, e->seq, e->kind, e->time_usec);
		if (c->tail_off == 0)
			memcpy(c->head, line, FRAME_PREFIX);
		c->tail_off = h->size;
		memcpy(c->tail, line, FRAME_PREFIX);
		c->size += total;
		h->index_dirty = true;
	}
	pthread_mutex_unlock(&h->index_lock);
}

/* The saved summary of history.log at open: kept when the file still
 * holds what it covers (a query extends it when the file is longer),
 * dropped when not. */
static void index_check_current(History *h, int fd)
{
	FileSummary *c;

	pthread_mutex_lock(&h->index_lock);
	c = index_find(h, h->cur_dev, h->cur_ino);
	if (c && !summary_valid(c, fd, h->size)) {
		*c = h->index[--h->n_index];
		h->index_dirty = true;
	}
	pthread_mutex_unlock(&h->index_lock);
}

/* A new current file: its summary starts empty and grows with it. */
static void index_new_current(History *h, int fd)
{
	struct stat st;
	FileSummary f;

	if (fstat(fd, &st) < 0)
		return;
	h->cur_dev = (uint64_t)st.st_dev;
	h->cur_ino = (uint64_t)st.st_ino;
	summary_init(&f, h->cur_dev, h->cur_ino);
	pthread_mutex_lock(&h->index_lock);
	(void)index_put(h, &f, true);
	pthread_mutex_unlock(&h->index_lock);
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
			index_new_current(h, fd);
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
	h->cur_dev = (uint64_t)st.st_dev;
	h->cur_ino = (uint64_t)st.st_ino;
	index_check_current(h, fd);
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
	if (pthread_mutex_init(&h->index_lock, NULL) != 0) {
		free(TAKE_PTR(h));
		return -ENOMEM;
	}
	if (pthread_mutex_init(&h->save_lock, NULL) != 0) {
		pthread_mutex_destroy(&h->index_lock);
		free(TAKE_PTR(h));
		return -ENOMEM;
	}
	h->index_lock_init = true;
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
	index_load(h);
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
	if (h->index_lock_init) {
		/* only the holder of the lock writes the index */
		if (h->lock_fd >= 0 && h->fd >= 0)
			index_save(h);
		free(h->index);
		pthread_mutex_destroy(&h->index_lock);
		pthread_mutex_destroy(&h->save_lock);
	}
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
	index_new_current(h, h->fd);
	index_save(h);
	return 0;
}

/* A full disk fails every append of a storm: say so when it starts, then
 * at most once a minute (a disk at its limit may let one record in and
 * refuse the next), and once with the count when writing works again. */
#define HISTORY_FAILURE_LOG_USEC (60 * USEC_PER_SEC)
static int append_failed(History *h, int r)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);

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

static void hex8(char *p, uint32_t v)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 7; i >= 0; i--, v >>= 4)
		p[i] = hex[v & 0xf];
}

int history_append(History *h, const ZpciEvent *e)
{
	/* "LLLLLLLL CCCCCCCC {json}\n": the JSON written in place behind its
	 * frame, straight from the record (no object tree, no copy) */
	char line[FRAME_PREFIX + HISTORY_RECORD_MAX + 2];
	size_t len, total;
	int r;

	r = event_json_format(e, line + FRAME_PREFIX, HISTORY_RECORD_MAX + 1);
	if (r <= 0)
		return -E2BIG;
	len = (size_t)r;
	total = FRAME_PREFIX + len + 1;
	hex8(line, (uint32_t)len);
	line[8] = ' ';
	hex8(line + 9, history_crc32(line + FRAME_PREFIX, len));
	line[17] = ' ';
	line[total - 1] = '\n';

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
	index_append(h, e, line, total);
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
	uint64_t *devs, *inos;
	FileSummary live; /* of the current file as it was, when it covered all of it */
	bool has_live;
} Snapshot;

static void snapshot_done(Snapshot *s)
{
	for (unsigned i = 0; i < s->n; i++)
		(void)close(s->fds[i]);
	free(s->fds);
	free(s->sizes);
	free(s->devs);
	free(s->inos);
	*s = (Snapshot){};
}

static int snapshot_take(History *h, Snapshot *ret)
{
	Snapshot s = {};
	char name[64];

	s.fds = calloc(h->limits.max_files, sizeof(int));
	s.sizes = calloc(h->limits.max_files, sizeof(uint64_t));
	s.devs = calloc(h->limits.max_files, sizeof(uint64_t));
	s.inos = calloc(h->limits.max_files, sizeof(uint64_t));
	if (!s.fds || !s.sizes || !s.devs || !s.inos) {
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
			s.devs[s.n] = h->cur_dev;
			s.inos[s.n] = h->cur_ino;
			s.sizes[s.n++] = h->size;
			pthread_mutex_lock(&h->index_lock);
			{
				const FileSummary *c = index_find(h, h->cur_dev, h->cur_ino);

				if (c && c->size == h->size) {
					s.live = *c;
					s.has_live = true;
				}
			}
			pthread_mutex_unlock(&h->index_lock);
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
		s.devs[s.n] = (uint64_t)st.st_dev;
		s.inos[s.n] = (uint64_t)st.st_ino;
		s.sizes[s.n++] = (uint64_t)st.st_size;
	}
	*ret = s;
	return 0;
}

typedef struct QueryRun {
	History *history;
	const atomic_bool *cancel; /* NULL: never cancelled */
	HistoryQuery q;
	uint64_t limit;
	bool want_total;         /* the total is wanted */
	bool from_index;         /* ... and comes from the files' summaries, not from the walk */
	uint64_t summaries_read; /* files read to build their summary */
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
		return s->n >= s->limit && (!s->want_total || s->from_index) ? 1 : 0;
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
	return s->n >= s->limit && (!s->want_total || s->from_index) ? 1 : 0;
}

static int query_prepare(History *h, QueryRun *s, const HistoryQuery *q, bool want_total)
{
	if (q->newest_first && q->offset > HISTORY_QUERY_LIMIT_MAX * 10)
		return -ERANGE;
	*s = (QueryRun){ .history = h,
			 .q = *q,
			 .want_total = want_total,
			 /* the summaries count per kind and time, not per function or code */
			 .from_index = want_total && !q->match_fid && !q->match_pec };
	s->limit = q->limit == 0 || q->limit > HISTORY_QUERY_LIMIT_MAX ? HISTORY_QUERY_LIMIT_MAX : q->limit;
	return 0;
}

/* The number of records of file @k of @snap that @s matches, from its
 * summary; a file whose time range the query cuts is read (with the
 * summary's reader, not parsed in full). */
static int file_count(QueryRun *s, const Snapshot *snap, unsigned k, uint64_t *ret)
{
	const HistoryQuery *q = &s->q;
	FileSummary f;
	uint64_t parsed;
	int r;

	r = summary_get(s->history, snap->fds[k], snap->devs[k], snap->inos[k], snap->sizes[k],
			snap->has_live && k == snap->n - 1 ? &snap->live : NULL, s->cancel,
			&s->summaries_read, &f);
	if (r < 0)
		return r;
	if (!query_filters(q)) {
		*ret = f.records;
		return 0;
	}
	parsed = q->kind >= 0 ? f.kinds[q->kind] : summary_parsed(&f);
	if (parsed == 0 || (q->since_usec && f.max_time < q->since_usec) ||
	    (q->until_usec && f.min_time >= q->until_usec)) {
		*ret = 0;
		return 0;
	}
	if ((!q->since_usec || f.min_time >= q->since_usec) &&
	    (!q->until_usec || f.max_time < q->until_usec)) {
		*ret = parsed;
		return 0;
	}
	{
		SummaryScan c = { .q = q, .cancel = s->cancel };

		r = scan_forward(snap->fds[k], HEADER_LEN, snap->sizes[k], count_record, &c, NULL, NULL);
		if (r < 0)
			return r;
		*ret = c.count;
	}
	return 0;
}

/* Run @s over the files of @snap; on any thread. Returns 0 or -errno. */
static int query_run(QueryRun *s, const Snapshot *snap)
{
	_cleanup_free_ uint64_t *counts = NULL;
	uint64_t total = 0;
	int r;

	if (s->from_index) {
		/* The total from the summaries; with it, files that hold
		 * nothing of the page are not read. */
		counts = calloc(snap->n ? snap->n : 1, sizeof(uint64_t));
		if (!counts)
			return -ENOMEM;
		for (unsigned k = 0; k < snap->n; k++) {
			r = check_header(snap->fds[k], snap->sizes[k]);
			if (r == -EPROTO)
				continue;
			if (r < 0)
				return r;
			r = file_count(s, snap, k, &counts[k]);
			if (r < 0)
				return r;
			total += counts[k];
		}
		/* what was read to build summaries is not read again after a restart */
		if (s->summaries_read > 0)
			index_save(s->history);
	}

	for (unsigned i = 0; i < snap->n; i++) {
		unsigned k = s->q.newest_first ? snap->n - 1 - i : i;

		if (counts && (counts[k] == 0 || s->matched + counts[k] <= s->q.offset)) {
			s->matched += counts[k]; /* all of them before the page */
			continue;
		}
		if (counts && s->n >= s->limit)
			break;
		r = check_header(snap->fds[k], snap->sizes[k]);
		if (r == -EPROTO)
			continue; /* not a file of this format version */
		if (r < 0)
			return r;
		if (s->q.newest_first)
			r = scan_backward(snap->fds[k], snap->sizes[k], query_record, s, &s->n_bad, NULL);
		else
			r = scan_forward(snap->fds[k], HEADER_LEN, snap->sizes[k], query_record, s,
					 &s->n_bad, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			break;
	}
	if (s->from_index)
		s->matched = total;
	return 0;
}

int history_query(History *h, const HistoryQuery *q, ZpciEvent **ret, size_t *ret_n, uint64_t *ret_total)
{
	Snapshot snap = {};
	QueryRun s;
	int r;

	r = query_prepare(h, &s, q, ret_total != NULL);
	if (r < 0)
		return r;
	r = snapshot_take(h, &snap);
	if (r < 0)
		return r;
	r = query_run(&s, &snap);
	snapshot_done(&snap);
	h->stats.corrupt_skipped += s.n_bad;
	h->stats.summaries_read += s.summaries_read;
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
	j->history->stats.summaries_read += j->run.summaries_read;
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
	r = query_prepare(h, &j->run, q, true);
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

/* --- Walking a time window ------------------------------------------------ */

typedef struct WalkRun {
	History *history;
	const atomic_bool *cancel; /* NULL: never cancelled */
	const HistoryWalk *w;
	void *userdata;
	HistoryWalkStats stats;
	uint64_t summaries_read;
	uint64_t n_bad;
} WalkRun;

/* The time is read from the frame's text first: only the records inside
 * the window are parsed in full. */
static int walk_record(const char *json, size_t len, void *userdata)
{
	WalkRun *s = userdata;
	const HistoryWalk *w = s->w;
	json_object *o = NULL;
	uint64_t seq, time;
	EventKind kind;
	ZpciEvent e;
	int r;

	if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
		return -ECANCELED;
	if (record_brief(json, len, &seq, &kind, &time) < 0)
		return 0;
	if ((w->since_usec && time < w->since_usec) || (w->until_usec && time >= w->until_usec))
		return 0;
	if (json_parse_len(json, len, &o) < 0)
		return 0;
	r = event_from_json(o, &e);
	json_object_put(o);
	if (r < 0)
		return 0;
	s->stats.records++;
	r = w->record(&e, s->userdata);
	return r < 0 ? r : 0;
}

/* Run @s over the files of @snap; on any thread. Returns 0 or -errno. */
static int walk_run(WalkRun *s, const Snapshot *snap)
{
	const HistoryWalk *w = s->w;
	_cleanup_free_ bool *overlaps = NULL;
	uint64_t oldest = UINT64_MAX;
	int r;

	overlaps = calloc(snap->n ? snap->n : 1, sizeof(bool));
	if (!overlaps)
		return -ENOMEM;
	s->stats.files = snap->n;
	for (unsigned k = 0; k < snap->n; k++) {
		FileSummary f;

		r = check_header(snap->fds[k], snap->sizes[k]);
		if (r == -EPROTO)
			continue;
		if (r < 0)
			return r;
		r = summary_get(s->history, snap->fds[k], snap->devs[k], snap->inos[k], snap->sizes[k],
				snap->has_live && k == snap->n - 1 ? &snap->live : NULL, s->cancel,
				&s->summaries_read, &f);
		if (r < 0)
			return r;
		if (summary_parsed(&f) == 0 || (w->since_usec && f.max_time < w->since_usec) ||
		    (w->until_usec && f.min_time >= w->until_usec))
			continue; /* nothing of the window: not read */
		overlaps[k] = true;
		s->stats.files_read++;
		oldest = MIN(oldest, MAX(f.min_time, w->since_usec));
	}
	if (s->summaries_read > 0)
		index_save(s->history);
	if (w->begin) {
		r = w->begin(oldest == UINT64_MAX ? 0 : oldest, s->userdata);
		if (r < 0)
			return r;
	}
	for (unsigned k = 0; k < snap->n; k++) {
		if (!overlaps[k])
			continue;
		r = scan_forward(snap->fds[k], HEADER_LEN, snap->sizes[k], walk_record, s, &s->n_bad, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

int history_walk(History *h, const HistoryWalk *w, void *userdata, HistoryWalkStats *ret_stats)
{
	WalkRun s = { .history = h, .w = w, .userdata = userdata };
	Snapshot snap = {};
	int r;

	if (!w || !w->record)
		return -EINVAL;
	r = snapshot_take(h, &snap);
	if (r < 0)
		return r;
	r = walk_run(&s, &snap);
	snapshot_done(&snap);
	h->stats.corrupt_skipped += s.n_bad;
	h->stats.summaries_read += s.summaries_read;
	if (ret_stats)
		*ret_stats = s.stats;
	return r;
}

typedef struct WalkJob {
	History *history;
	WalkRun run;
	Snapshot snap;
	HistoryWalkDone done;
	void *userdata;
} WalkJob;

static int walk_work(void *userdata)
{
	WalkJob *j = userdata;

	return walk_run(&j->run, &j->snap);
}

static void walk_finished(int result, void *userdata)
{
	WalkJob *j = ASSERT_PTR(userdata);

	j->history->queries--;
	j->history->stats.corrupt_skipped += j->run.n_bad;
	j->history->stats.summaries_read += j->run.summaries_read;
	snapshot_done(&j->snap);
	j->done(result, &j->run.stats, j->userdata);
	free(j);
}

int history_walk_async(History *h, const HistoryWalk *w, void *userdata, HistoryWalkDone done,
		       void *done_userdata)
{
	WalkJob *j;
	int r;

	if (!w || !w->record || !done)
		return -EINVAL;
	if (h->queries >= HISTORY_QUERIES_MAX)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (WalkJob){ .history = h,
			.run = { .history = h, .cancel = &h->cancel, .w = w, .userdata = userdata },
			.done = done,
			.userdata = done_userdata };
	r = snapshot_take(h, &j->snap);
	if (r < 0) {
		free(j);
		return r;
	}
	h->queries++;
	if (!h->reader) {
		walk_finished(walk_run(&j->run, &j->snap), j);
		return 0;
	}
	r = syncer_call(h->reader, walk_work, walk_finished, j);
	if (r < 0) {
		h->queries--;
		snapshot_done(&j->snap);
		free(j);
		return r;
	}
	return 0;
}
