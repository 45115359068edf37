/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/messages.h"
#include "common/time-util.h"
#include "daemon/dedup.h"
#include "daemon/history.h"
#include "daemon/kmsg.h"
#include "daemon/pipeline.h"
#include "daemon/syncer.h"

/* ---- pure parsing ------------------------------------------------------ */

/* Parse decimal digits at *@p up to a byte not a digit; advances *@p. */
static int parse_u64(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EBADMSG;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

int kmsg_record_parse(const char *line, size_t len, KmsgRecord *ret)
{
	const char *p = line, *end = line + len, *semicolon;
	uint64_t prio, seq, ts;

	semicolon = memchr(line, ';', len);
	if (!semicolon)
		return -EBADMSG;
	if (parse_u64(&p, semicolon, &prio) < 0 || prio > 0x7fffffff || p >= semicolon || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, semicolon, &seq) < 0 || p >= semicolon || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, semicolon, &ts) < 0 || p >= semicolon || *p++ != ',')
		return -EBADMSG;
	/* The flags field, then optional ",key=value" fields (caller=...). */
	if (p >= semicolon || (p + 1 != semicolon && p[1] != ','))
		return -EBADMSG;

	*ret = (KmsgRecord){
		.priority = (int)(prio & 7),
		.facility = (int)(prio >> 3),
		.seq = seq,
		.ts_usec = ts,
		.message = semicolon + 1,
		.message_len = (size_t)(end - semicolon - 1),
	};
	return 0;
}

/* A cursor over a message that is not NUL-terminated. */
typedef struct Text {
	const char *p, *end;
} Text;

static bool text_skip(Text *t, const char *literal)
{
	size_t n = strlen(literal);

	if ((size_t)(t->end - t->p) < n || memcmp(t->p, literal, n) != 0)
		return false;
	t->p += n;
	return true;
}

static bool text_hex(Text *t, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = t->p;

	for (; s < t->end; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (d > max || v > (max - d) / 16)
			return false;
		v = v * 16 + d;
	}
	if (s == t->p)
		return false;
	t->p = s;
	*ret = v;
	return true;
}

static bool text_dec(Text *t, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (parse_u64(&t->p, t->end, &v) < 0 || v > max)
		return false;
	*ret = v;
	return true;
}

static bool text_at_end(const Text *t)
{
	return t->p == t->end;
}

/* A PCI address as the kernel prints it ("0001:00:00.0"); "n/a" gives "". */
static bool store_slot(const char *s, size_t n, char slot[static EVENT_SLOT_MAX])
{
	if (n == 3 && memcmp(s, "n/a", 3) == 0) {
		slot[0] = '\0';
		return true;
	}
	if (n == 0 || n >= EVENT_SLOT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF:.", s[i]))
			return false;
	memcpy(slot, s, n);
	slot[n] = '\0';
	return true;
}

/* Find @needle in [@s, @end). */
static const char *text_find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && (size_t)(end - s) >= n; s++)
		if (memcmp(s, needle, n) == 0)
			return s;
	return NULL;
}

static bool ends_with(const char *s, const char *end, const char *suffix)
{
	size_t n = strlen(suffix);

	return (size_t)(end - s) >= n && memcmp(end - n, suffix, n) == 0;
}

static const struct {
	const char *text;
	KmsgZpciKind kind;
	const char *detail;
} recovery_lines[] = {
	{ "Cannot be recovered because no driver is bound to the device", KMSG_ZPCI_RECOVERY_FAILED,
	  "cannot be recovered: no driver is bound" },
	{ "Automatic recovery failed after MMIO re-enable", KMSG_ZPCI_RECOVERY_FAILED,
	  "automatic recovery failed after MMIO re-enable" },
	{ "Automatic recovery failed after initial reporting", KMSG_ZPCI_RECOVERY_INFO,
	  "automatic recovery failed after initial reporting" },
	{ "Automatic recovery failed after slot reset", KMSG_ZPCI_RECOVERY_INFO,
	  "automatic recovery failed after slot reset" },
	{ "Automatic recovery failed; operator intervention is required", KMSG_ZPCI_RECOVERY_INFO,
	  "automatic recovery failed; operator intervention is required" },
	{ "Unblocking device access for examination", KMSG_ZPCI_RECOVERY_INFO, "unblocking device access" },
	{ "Unblocking device access failed", KMSG_ZPCI_RECOVERY_INFO, "unblocking device access failed" },
	{ "Unblocking DMA failed", KMSG_ZPCI_RECOVERY_INFO, "unblocking DMA failed" },
	{ "Initiating reset", KMSG_ZPCI_RECOVERY_INFO, "initiating reset" },
	{ "The reset request failed", KMSG_ZPCI_RECOVERY_INFO, "the reset request failed" },
	{ "Leaving recovery of pass-through device to user-space", KMSG_ZPCI_RECOVERY_INFO,
	  "recovery left to the user-space owner" },
	{ "The device is ready to resume operations", KMSG_ZPCI_RECOVERY_INFO,
	  "ready to resume operations" },
};

#define NO_SUPPORT_PREFIX "The "
#define NO_SUPPORT_SUFFIX " driver bound to the device does not support error recovery"
#define QUEUE_FULL_PREFIX ": Maximum number ("
#define QUEUE_FULL_SUFFIX ") of pending error events queued"

static int parse_queue_full(const char *message, size_t len, KmsgZpci *ret)
{
	const char *end = message + len, *at, *slot_start;
	Text t;
	uint64_t max;

	if (!ends_with(message, end, QUEUE_FULL_SUFFIX))
		return 0;
	at = text_find(message, end, QUEUE_FULL_PREFIX);
	if (!at)
		return 0;
	t = (Text){ at + strlen(QUEUE_FULL_PREFIX), end - strlen(QUEUE_FULL_SUFFIX) };
	if (!text_dec(&t, UINT32_MAX, &max) || !text_at_end(&t))
		return 0;

	/* The slot is the word before ": Maximum" (after "<driver> <device>: " of dev_warn). */
	slot_start = at;
	while (slot_start > message && slot_start[-1] != ' ')
		slot_start--;
	*ret = (KmsgZpci){ .kind = KMSG_ZPCI_QUEUE_FULL,
			   .count = 1,
			   .detail = "error queue full, newest error dropped" };
	if (!store_slot(slot_start, (size_t)(at - slot_start), ret->slot))
		return 0;
	return 1;
}

int kmsg_zpci_parse(const char *message, size_t len, KmsgZpci *ret)
{
	const char *end = message + len, *colon;
	Text t = { message, end };
	uint64_t v;
	KmsgZpci z = {};

	if (parse_queue_full(message, len, ret) > 0)
		return 1;

	if (!text_skip(&t, "zpci: "))
		return 0;

	if (text_skip(&t, "Unhandled PCI error events count=")) {
		if (!text_dec(&t, UINT32_MAX, &v))
			return 0;
		z.count = (uint32_t)v;
		if (!text_skip(&t, " for PCI function 0x") || !text_hex(&t, UINT32_MAX, &v) ||
		    !text_at_end(&t))
			return 0;
		z.kind = KMSG_ZPCI_UNHANDLED;
		z.has_fid = true;
		z.fid = (uint32_t)v;
		z.detail = "pending errors discarded when the device was closed";
		*ret = z;
		return 1;
	}

	/* "<slot>: ..." */
	colon = text_find(t.p, end, ": ");
	if (!colon || !store_slot(t.p, (size_t)(colon - t.p), z.slot))
		return 0;
	t.p = colon + 2;

	if (text_skip(&t, "Event 0x")) {
		if (!text_hex(&t, UINT16_MAX, &v))
			return 0;
		z.pec = (uint16_t)v;
		z.has_pec = true;
		if (!text_skip(&t, " reports an error for PCI function 0x") ||
		    !text_hex(&t, UINT32_MAX, &v) || !text_at_end(&t))
			return 0;
		z.kind = KMSG_ZPCI_ERROR;
		z.has_fid = true;
		z.fid = (uint32_t)v;
		*ret = z;
		return 1;
	}

	/* The wording of the companion kernel patch (kmod/): a dropped record
	 * names its PEC and FID; records discarded at close are counted. */
	if (text_skip(&t, "Error event queue full, dropping event 0x")) {
		if (!text_hex(&t, UINT16_MAX, &v))
			return 0;
		z.pec = (uint16_t)v;
		z.has_pec = true;
		if (!text_skip(&t, " for PCI function 0x") || !text_hex(&t, UINT32_MAX, &v) ||
		    !text_at_end(&t))
			return 0;
		z.kind = KMSG_ZPCI_QUEUE_FULL;
		z.has_fid = true;
		z.fid = (uint32_t)v;
		z.count = 1;
		z.detail = "error queue full, newest error dropped";
		*ret = z;
		return 1;
	}
	if (text_skip(&t, "Discarding ")) {
		if (!text_dec(&t, UINT32_MAX, &v))
			return 0;
		z.count = (uint32_t)v;
		if (!text_skip(&t, " unread error events of PCI function 0x") ||
		    !text_hex(&t, UINT32_MAX, &v) || !text_at_end(&t))
			return 0;
		z.kind = KMSG_ZPCI_UNHANDLED;
		z.has_fid = true;
		z.fid = (uint32_t)v;
		z.detail = "pending errors discarded when the device was closed";
		*ret = z;
		return 1;
	}

	if ((size_t)(end - t.p) > strlen(NO_SUPPORT_PREFIX) + strlen(NO_SUPPORT_SUFFIX) &&
	    text_skip(&t, NO_SUPPORT_PREFIX) && ends_with(t.p, end, NO_SUPPORT_SUFFIX)) {
		z.kind = KMSG_ZPCI_RECOVERY_FAILED;
		z.detail = "cannot be recovered: the bound driver does not support error recovery";
		*ret = z;
		return 1;
	}

	for (size_t i = 0; i < ELEMENTSOF(recovery_lines); i++)
		if ((size_t)(end - t.p) == strlen(recovery_lines[i].text) &&
		    memcmp(t.p, recovery_lines[i].text, (size_t)(end - t.p)) == 0) {
			z.kind = recovery_lines[i].kind;
			z.detail = recovery_lines[i].detail;
			*ret = z;
			return 1;
		}
	return 0;
}

int kmsg_cursor_parse(const char *text, KmsgCursor *ret)
{
	KmsgCursor c = {};
	bool have_boot = false, have_seq = false;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n > 8 && strneq(line, "BOOT_ID=", 8)) {
			if (n - 8 >= sizeof(c.boot_id))
				return -EBADMSG;
			memcpy(c.boot_id, line + 8, n - 8);
			c.boot_id[n - 8] = '\0';
			have_boot = true;
		} else if (n > 4 && strneq(line, "SEQ=", 4)) {
			const char *p = line + 4;

			if (parse_u64(&p, line + n, &c.seq) < 0 || p != line + n)
				return -EBADMSG;
			have_seq = true;
		} else if (n > 0)
			return -EBADMSG;
		line = nl ? nl + 1 : NULL;
	}
	if (!have_boot || !have_seq)
		return -EBADMSG;
	c.valid = true;
	*ret = c;
	return 0;
}

int kmsg_mark_parse(const char *text, KmsgMark *ret)
{
	/* HELD= and HELD_EVENT_SEQ= may be missing (written before they were kept) */
	static const char *const keys[] = { "SEQ=", "PENDING=", "EVENT_SEQ=", "HELD=", "HELD_EVENT_SEQ=" };
	KmsgMark m = {};
	uint64_t *values[] = { &m.cursor.seq, &m.pending, &m.event_seq, &m.held, &m.held_event_seq };
	unsigned have = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		bool known = false;

		if (n > 8 && strneq(line, "BOOT_ID=", 8)) {
			if (n - 8 >= sizeof(m.cursor.boot_id))
				return -EBADMSG;
			memcpy(m.cursor.boot_id, line + 8, n - 8);
			m.cursor.boot_id[n - 8] = '\0';
			have |= 1u;
			known = true;
		}
		for (unsigned i = 0; i < ELEMENTSOF(keys) && !known; i++) {
			size_t kl = strlen(keys[i]);
			const char *p = line + kl;

			if (n <= kl || !strneq(line, keys[i], kl))
				continue;
			if (parse_u64(&p, line + n, values[i]) < 0 || p != line + n)
				return -EBADMSG;
			have |= 2u << i;
			known = true;
		}
		if (!known && n > 0)
			return -EBADMSG;
		line = nl ? nl + 1 : NULL;
	}
	if ((have & 0xfu) != 0xfu)
		return -EBADMSG;
	m.cursor.valid = true;
	*ret = m;
	return 0;
}

int kmsg_cursor_format(const KmsgCursor *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "BOOT_ID=%s\nSEQ=%" PRIu64 "\n", c->boot_id, c->seq);

	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

void kmsg_cursor_resume(KmsgCursor *c, const KmsgCursor *saved, const char *boot_id)
{
	*c = (KmsgCursor){};
	(void)snprintf(c->boot_id, sizeof(c->boot_id), "%s", strempty(boot_id));
	if (saved && saved->valid && !isempty(boot_id) && streq(saved->boot_id, boot_id)) {
		c->valid = true;
		c->seq = saved->seq;
	}
}

bool kmsg_cursor_advance(KmsgCursor *c, uint64_t seq, uint64_t *ret_gap)
{
	uint64_t gap = 0;

	if (c->valid) {
		if (seq <= c->seq) {
			*ret_gap = 0;
			return false;
		}
		gap = seq - c->seq - 1;
	} else
		/* Nothing read yet in this boot: everything before @seq is gone. */
		gap = seq;

	c->valid = true;
	c->seq = seq;
	*ret_gap = gap;
	return true;
}

void kmsg_splitter_feed(KmsgSplitter *s, const char *data, size_t n, bool flush,
			void (*cb)(const char *line, size_t len, void *userdata), void *userdata)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t chunk = nl ? (size_t)(nl - data) : n;

		if (s->overlong) {
			/* Skip the rest of a line that did not fit. */
		} else if (s->len + chunk > sizeof(s->buf)) {
			s->overlong = true;
			s->n_overlong++;
			s->len = 0;
		} else {
			memcpy(s->buf + s->len, data, chunk);
			s->len += chunk;
		}

		if (!nl)
			break;
		if (!s->overlong)
			cb(s->buf, s->len, userdata);
		s->len = 0;
		s->overlong = false;
		data = nl + 1;
		n -= chunk + 1;
	}

	if (flush) {
		if (!s->overlong && s->len > 0)
			cb(s->buf, s->len, userdata);
		s->len = 0;
		s->overlong = false;
	}
}

/* ---- the source on the loop --------------------------------------------- */

struct KmsgSource {
	struct event_base *event_base;
	Log *log;
	Pipeline *pipeline;
	KmsgLookupFn lookup;
	void *lookup_userdata;
	History *history;
	char *path;
	char *boot_id_path;
	char *cursor_path; /* NULL: no resume */
	char *mark_path;   /* kmsg-recorded */
	int mark_fd;       /* kmsg-recorded, written in place; -EBADF: not kept */

	int fd;
	int inotify_fd;    /* regular file stand-ins: told about appends */
	bool record_reads; /* a character device: every read is one whole record */
	bool regular;      /* a regular file: its end is where appends will come */
	struct event *event;
	struct event *more_event;   /* the next slice of a long backlog */
	struct event *cursor_event; /* the deferred save of the cursor */
	Syncer *syncer;             /* NULL: the cursor is saved on the loop */
	bool cursor_saving;         /* a save is with the syncer */
	uint64_t cursor_saved_usec; /* CLOCK_MONOTONIC of the last save */

	KmsgSplitter splitter;
	KmsgCursor cursor;
	KmsgMark mark;   /* what kmsg-recorded holds */
	size_t mark_len; /* its length (constant within a boot) */
	bool cursor_dirty;
	bool cursor_warned;
	bool in_backlog; /* reading what was buffered before start */
	bool idle;       /* the last slice read everything there was */
	bool yielded;    /* on_readable() let this pass's other callbacks go first */

	/* After a kill while records were held: the records up to replay_until
	 * are read again from before the oldest held one; those whose event is
	 * in the history (recorded, or merged into a drained record) are not
	 * handed on again. The history's records from replay_event_seq on,
	 * newest first, read once when the first of them comes. */
	uint64_t replay_until;
	uint64_t replay_event_seq;
	bool replay_loaded;
	ZpciEvent *replay;
	bool *replay_claimed;
	size_t n_replay;

	uint64_t n_records, n_zpci, n_missed, n_malformed, n_overwritten;
	uint64_t n_slices, n_cursor_saves;
};

static void on_held_resolved(void *userdata);

int kmsg_source_new(KmsgSource **ret, const KmsgSourceConfig *c)
{
	_cleanup_(kmsg_source_freep) KmsgSource *k = NULL;
	const char *kmsg_path = c->kmsg_path, *boot_id_path = c->boot_id_path,
		   *state_directory = c->state_directory;

	if (!c->event_base || !c->log || !c->pipeline)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->event_base = c->event_base;
	k->log = c->log;
	k->pipeline = c->pipeline;
	k->lookup = c->lookup;
	k->lookup_userdata = c->lookup_userdata;
	k->history = c->history;
	k->syncer = c->syncer;
	k->fd = k->inotify_fd = k->mark_fd = -EBADF;
	k->path = strdup(kmsg_path ?: KMSG_DEFAULT_PATH);
	k->boot_id_path = strdup(boot_id_path ?: KMSG_BOOT_ID_PATH);
	if (!k->path || !k->boot_id_path)
		return -ENOMEM;
	if (state_directory &&
	    asprintf(&k->cursor_path, "%s/%s", state_directory, KMSG_CURSOR_FILENAME) < 0) {
		k->cursor_path = NULL;
		return -ENOMEM;
	}
	if (state_directory && asprintf(&k->mark_path, "%s/%s", state_directory, KMSG_MARK_FILENAME) < 0) {
		k->mark_path = NULL;
		return -ENOMEM;
	}
	pipeline_set_held_watch(k->pipeline, on_held_resolved, k);
	*ret = TAKE_PTR(k);
	return 0;
}

static int read_small_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return negative_errno();
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return 0;
}

/* The tag of a record handed to the pipeline: its sequence number + 1 (0 is
 * no tag). */
#define TAG_OF(seq) ((seq) + 1)

/* The position to save: the last record handled, but never past a record
 * the pipeline still holds (a kill would lose it: it is neither recorded
 * nor merged into its drained record yet). A walk through the held
 * records, no system call. */
static KmsgCursor cursor_to_save(const KmsgSource *k)
{
	KmsgCursor c = k->cursor;
	uint64_t tag = pipeline_oldest_held_tag(k->pipeline, NULL);

	/* (record 0 is the kernel's banner, never a zPCI line) */
	if (tag > 0 && c.valid && tag - 1 <= c.seq)
		c.seq = tag >= 2 ? tag - 2 : 0;
	return c;
}

static void on_cursor_saved(int result, void *userdata)
{
	KmsgSource *k = ASSERT_PTR(userdata);

	k->cursor_saving = false;
	if (result < 0 && !k->cursor_warned) {
		k->cursor_warned = true;
		log_warning_errno(k->log, result,
				  "Failed to save the kernel log position to %s, ignoring: %m",
				  k->cursor_path);
	}
}

/* Write the cursor now, on the calling thread. */
static int save_cursor(KmsgSource *k)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	KmsgCursor c = cursor_to_save(k);
	char text[128];
	int n;

	if (!k->cursor_path || !k->cursor_dirty)
		return 0;
	n = kmsg_cursor_format(&c, text, sizeof(text));
	if (n < 0)
		return n;
	if (asprintf(&tmp, "%s.tmp", k->cursor_path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	/* No fsync(): the cursor is only meaningful within one boot. */
	if (write(fd, text, (size_t)n) != n) {
		int r = negative_errno();

		(void)unlink(tmp);
		return r;
	}
	if (rename(tmp, k->cursor_path) < 0) {
		int r = negative_errno();

		(void)unlink(tmp);
		return r;
	}
	k->cursor_dirty = false;
	k->n_cursor_saves++;
	return 0;
}

/* Hand the cursor to the syncer (or write it when there is none). At most
 * one save is in flight and at most one starts per KMSG_CURSOR_SAVE_USEC:
 * a storm costs the disk one small rename a second, not one per wake-up.
 * The deferred rest is saved by cursor_event. */
#define KMSG_CURSOR_SAVE_USEC (1 * USEC_PER_SEC)
static void request_cursor_save(KmsgSource *k)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	KmsgCursor c;
	char text[128];
	int n, r;

	if (!k->cursor_path || !k->cursor_dirty)
		return;
	if (k->cursor_saving || now - k->cursor_saved_usec < KMSG_CURSOR_SAVE_USEC) {
		struct timeval tv = { .tv_sec = 1 };

		if (k->cursor_event && !evtimer_pending(k->cursor_event, NULL))
			(void)evtimer_add(k->cursor_event, &tv);
		return;
	}
	k->cursor_saved_usec = now;
	if (!k->syncer) {
		r = save_cursor(k);
		on_cursor_saved(r, k);
		return;
	}
	c = cursor_to_save(k);
	n = kmsg_cursor_format(&c, text, sizeof(text));
	if (n < 0)
		return;
	r = syncer_replace_file(k->syncer, k->cursor_path, text, (size_t)n, false, on_cursor_saved, k);
	if (r < 0) {
		on_cursor_saved(r, k);
		return;
	}
	k->cursor_saving = true;
	k->cursor_dirty = false;
	k->n_cursor_saves++;
}

static void on_cursor_timer(evutil_socket_t fd, short what, void *userdata)
{
	request_cursor_save(ASSERT_PTR(userdata));
}

/* Held records were resolved: the position to save may move on, in the
 * next batch. */
static void on_held_resolved(void *userdata)
{
	KmsgSource *k = ASSERT_PTR(userdata);

	k->cursor_dirty = true;
	request_cursor_save(k);
}

static ZpciFunction *find_function(KmsgSource *k, const KmsgZpci *z)
{
	if (!k->lookup || (!z->has_fid && isempty(z->slot)))
		return NULL;
	return k->lookup(k->lookup_userdata, z->has_fid, z->fid, z->slot);
}

/* Write kmsg-recorded in place: fixed-width numbers, so the file keeps
 * its length and a kill leaves the old or the new text (one small
 * pwrite() into one page). Not flushed: like the cursor, it is only
 * meaningful within one boot. */
static void mark_write(KmsgSource *k, uint64_t seq, uint64_t pending, uint64_t event_seq)
{
	char text[256];
	int n;

	if (k->mark_fd < 0)
		return;
	k->mark.cursor.seq = seq;
	k->mark.pending = pending;
	k->mark.event_seq = event_seq;
	k->mark.held = pipeline_oldest_held_tag(k->pipeline, &k->mark.held_event_seq);
	n = snprintf(text, sizeof(text),
		     "BOOT_ID=%s\nSEQ=%020" PRIu64 "\nPENDING=%020" PRIu64 "\nEVENT_SEQ=%020" PRIu64
		     "\nHELD=%020" PRIu64 "\nHELD_EVENT_SEQ=%020" PRIu64 "\n",
		     k->cursor.boot_id, seq, pending, event_seq, k->mark.held, k->mark.held_event_seq);
	k->mark_len = n > 0 ? (size_t)n : 0;
	if (n < 0 || (size_t)n >= sizeof(text) || pwrite(k->mark_fd, text, (size_t)n, 0) != n) {
		/* fall back to the cursor alone, said once */
		log_warning(k->log,
			    "Failed to write %s, kernel log records of the last second may be recorded "
			    "again after a crash.",
			    k->mark_path);
		(void)close(TAKE_FD(k->mark_fd));
	}
}

static void replay_free(KmsgSource *k)
{
	free(k->replay);
	free(k->replay_claimed);
	k->replay = NULL;
	k->replay_claimed = NULL;
	k->n_replay = 0;
	k->replay_until = 0;
}

/* Read the history's records from k->replay_event_seq on, once. */
static void replay_load(KmsgSource *k)
{
	HistoryQuery q = HISTORY_QUERY_ALL;
	uint64_t last;

	k->replay_loaded = true;
	if (!k->history || k->replay_event_seq == 0)
		return;
	last = history_last_seq(k->history);
	if (last < k->replay_event_seq)
		return;
	q.newest_first = true;
	q.limit = MIN(last - k->replay_event_seq + 1, (uint64_t)HISTORY_QUERY_LIMIT_MAX);
	if (history_query(k->history, &q, &k->replay, &k->n_replay, NULL) < 0 || k->n_replay == 0)
		return;
	k->replay_claimed = calloc(k->n_replay, sizeof(bool));
	if (!k->replay_claimed)
		replay_free(k);
}

/* Whether the event @e of a record read again after a kill is in the
 * history already: a record from the kernel log of the same function and
 * error, at the kernel's time of the record when it was recorded alone,
 * within the pairing window of it when it was merged into its drained
 * record. Each record of the history stands for one line, oldest first. */
static bool replay_recorded(KmsgSource *k, const KmsgZpci *z, const ZpciEvent *e)
{
	if (!k->replay_loaded)
		replay_load(k);
	for (size_t i = k->n_replay; i-- > 0;) {
		const ZpciEvent *r = &k->replay[i];

		if (k->replay_claimed[i] || r->kind != e->kind || !(r->sources & EVENT_SOURCE_KMSG) ||
		    r->same_as != 0 || (r->has & EVENT_HAS_PEC) != (e->has & EVENT_HAS_PEC) ||
		    ((e->has & EVENT_HAS_PEC) && r->pec != e->pec))
			continue;
		if (z->has_fid ? r->fid != e->fid : !streq(r->slot, e->slot))
			continue;
		/* merged: the drained record came while the line was held, after it */
		if (r->sources == EVENT_SOURCE_KMSG
			    ? r->monotonic_usec != e->monotonic_usec
			    : r->monotonic_usec < e->monotonic_usec ||
				      r->monotonic_usec - e->monotonic_usec > DEDUP_WINDOW_USEC)
			continue;
		k->replay_claimed[i] = true;
		return true;
	}
	return false;
}

static void handle_zpci(KmsgSource *k, const KmsgRecord *rec, const KmsgZpci *z)
{
	ZpciEvent e = { .sources = EVENT_SOURCE_KMSG };
	ZpciFunction *f;

	if (z->kind == KMSG_ZPCI_RECOVERY_INFO) {
		log_debug(k->log, "Kernel: %s: %s.", isempty(z->slot) ? "n/a" : z->slot, z->detail);
		return;
	}

	f = find_function(k, z);
	switch (z->kind) {
	case KMSG_ZPCI_ERROR:
		e.kind = EVENT_ERROR;
		e.pec = z->pec;
		e.has |= EVENT_HAS_PEC;
		break;
	case KMSG_ZPCI_QUEUE_FULL:
	case KMSG_ZPCI_UNHANDLED:
		e.kind = EVENT_DROPPED;
		e.count = z->count;
		e.has |= EVENT_HAS_COUNT;
		if (z->has_pec) {
			e.pec = z->pec;
			e.has |= EVENT_HAS_PEC;
		}
		break;
	case KMSG_ZPCI_RECOVERY_FAILED:
		e.kind = EVENT_RECOVERY;
		e.recovery = RECOVERY_FAILED;
		break;
	default:
		return;
	}
	if (z->has_fid)
		e.fid = z->fid;
	(void)snprintf(e.slot, sizeof(e.slot), "%s", z->slot);
	if (z->detail)
		(void)snprintf(e.detail, sizeof(e.detail), "%s", z->detail);

	/* The kernel's time of the record: when it logged the error, however
	 * far behind zpcid reads its log (a backlog from before start-up, a
	 * storm). De-duplication pairs it with the drained record by it. */
	if (rec->ts_usec > 0) {
		uint64_t mono = now_usec(CLOCK_MONOTONIC);

		if (rec->ts_usec <= mono) {
			e.monotonic_usec = rec->ts_usec;
			e.time_usec = now_usec(CLOCK_REALTIME) - (mono - rec->ts_usec);
		}
	}

	if (!f && !z->has_fid && isempty(z->slot))
		return;
	if (!f) {
		char fid[16] = "unknown";

		if (z->has_fid)
			(void)snprintf(fid, sizeof(fid), "0x%08" PRIx32, z->fid);
		log_debug(k->log, "Kernel log line for a function zpcid does not know (FID %s, slot %s).",
			  fid, isempty(z->slot) ? "n/a" : z->slot);
	}
	if (rec->seq <= k->replay_until && replay_recorded(k, z, &e)) {
		log_debug(k->log,
			  "Kernel log record %" PRIu64 " read again after a restart: its event is in the "
			  "history already.",
			  rec->seq);
		return;
	}
	mark_write(k, k->mark.cursor.seq, rec->seq, pipeline_next_seq(k->pipeline));
	/* tagged: the position saved stays before it while the pipeline holds it */
	(void)pipeline_submit_tagged(k->pipeline, f, &e, TAG_OF(rec->seq));
	mark_write(k, rec->seq, 0, 0);
}

static void on_line(const char *line, size_t len, void *userdata)
{
	KmsgSource *k = ASSERT_PTR(userdata);
	KmsgRecord rec;
	KmsgZpci z;
	uint64_t gap;

	if (len == 0 || line[0] == ' ')
		return; /* a continuation (dictionary) line */

	if (kmsg_record_parse(line, len, &rec) < 0) {
		if (k->n_malformed++ == 0)
			log_debug(k->log, "Ignoring a malformed kernel log record.");
		return;
	}
	if (!kmsg_cursor_advance(&k->cursor, rec.seq, &gap))
		return;
	k->cursor_dirty = true;
	if (k->replay_until > 0 && rec.seq > k->replay_until)
		replay_free(k);
	k->n_records++;

	if (gap > 0) {
		char f_count[48];
		const char *fields[] = { f_count };

		k->n_missed += gap;
		(void)snprintf(f_count, sizeof(f_count), "ZPCID_COUNT=%" PRIu64, gap);
		log_fields(k->log, LOG_WARNING, MESSAGE_ID_KMSG_GAP, fields, 1,
			   "%" PRIu64 " kernel log record(s) before sequence number %" PRIu64
			   " were overwritten before zpcid read them; zPCI errors among them are lost.",
			   gap, rec.seq);
	}

	if (kmsg_zpci_parse(rec.message, rec.message_len, &z) > 0) {
		k->n_zpci++;
		handle_zpci(k, &rec, &z);
	}
}

/* Read one slice: at most KMSG_SLICE_RECORDS records or KMSG_SLICE_USEC,
 * whichever ends first, so that a storm or a long backlog never keeps the
 * loop from signals, D-Bus and the vfio eventfds. A stream (FIFO, file) is
 * read in small pieces for the same reason: one piece holds a few lines.
 * Sets k->idle when everything there was has been read. Returns 0, or
 * -errno on a read error and -EPIPE at the end of a non-regular source,
 * both of which end the source. */
static int drain(KmsgSource *k)
{
	char buf[KMSG_LINE_MAX + 1];
	size_t piece = k->record_reads ? sizeof(buf) : KMSG_STREAM_PIECE;
	uint64_t start = now_usec(CLOCK_MONOTONIC), first = k->n_records;
	int r = 0;

	k->idle = false;
	k->n_slices++;
	for (;;) {
		ssize_t n;

		if (k->n_records - first >= KMSG_SLICE_RECORDS ||
		    now_usec(CLOCK_MONOTONIC) - start >= KMSG_SLICE_USEC)
			break;
		n = read(k->fd, buf, piece);
		if (n > 0) {
			kmsg_splitter_feed(&k->splitter, buf, (size_t)n, k->record_reads, on_line, k);
			continue;
		}
		if (n == 0) {
			/* The end of a regular file is where appends will come;
			 * any other source that ends (a /dev/kmsg that is
			 * /dev/null in a container) has ended for good. */
			k->idle = true;
			if (!k->regular)
				r = -EPIPE;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			k->idle = true;
			break;
		}
		if (errno == EPIPE) {
			/* Our position was overwritten; the next read starts at the
			 * oldest record, the sequence jump tells how many were lost. */
			k->n_overwritten++;
			continue;
		}
		r = negative_errno();
		break;
	}

	if (k->idle)
		k->in_backlog = false;
	else if (k->more_event)
		/* Come back after the loop has polled everything else (a
		 * zero timeout runs after the next poll); a FIFO or
		 * /dev/kmsg would wake us anyway, a regular file would not. */
		(void)evtimer_add(k->more_event, &(struct timeval){});
	request_cursor_save(k);
	return r;
}

static void source_stop(KmsgSource *k, int r)
{
	if (r == -EPIPE)
		log_warning(k->log, "The kernel log %s has ended, no longer watching it.", k->path);
	else
		log_warning_errno(k->log, r, "Failed to read the kernel log %s, no longer watching it: %m",
				  k->path);
	if (k->event)
		(void)event_del(k->event);
	if (k->more_event)
		(void)evtimer_del(k->more_event);
	k->idle = true;
}

static void on_more(evutil_socket_t fd, short what, void *userdata)
{
	KmsgSource *k = ASSERT_PTR(userdata);
	int r;

	r = drain(k);
	if (r < 0)
		source_stop(k, r);
}

static void on_readable(evutil_socket_t fd, short what, void *userdata)
{
	KmsgSource *k = ASSERT_PTR(userdata);
	int r;

	/* The kernel logs an error before it queues its record, so its line and
	 * the function's error eventfd often wake the loop together: let the
	 * drains that woke with it run first (to the end of this pass), so that
	 * the drained record is recorded without waiting behind the line, which
	 * then is only its duplicate. */
	if (!k->yielded && k->event) {
		k->yielded = true;
		event_active(k->event, EV_READ, 0);
		return;
	}
	k->yielded = false;
	if (k->inotify_fd >= 0) {
		char ibuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

		while (read(k->inotify_fd, ibuf, sizeof(ibuf)) > 0)
			;
	}
	if (evtimer_pending(k->more_event, NULL))
		return; /* a slice is due already: keep the order of slices */
	r = drain(k);
	if (r < 0)
		source_stop(k, r);
}

/* Whether the history holds event @event_seq from the kernel log: the
 * event of a record whose submission a kill interrupted. */
static bool mark_recorded(KmsgSource *k, uint64_t event_seq)
{
	History *h = k->history;
	HistoryQuery q = HISTORY_QUERY_ALL;
	_cleanup_free_ ZpciEvent *ev = NULL;
	uint64_t last;
	size_t n = 0;

	if (!h || event_seq == 0)
		return false;
	last = history_last_seq(h);
	if (last < event_seq || last - event_seq >= HISTORY_QUERY_LIMIT_MAX)
		return false;
	q.newest_first = true;
	q.limit = last - event_seq + 1;
	if (history_query(h, &q, &ev, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ev[i].seq == event_seq)
			return ev[i].sources & EVENT_SOURCE_KMSG;
	return false;
}

/* Take kmsg-recorded into the position to resume from, when it is of this
 * boot and further than the cursor file. */
static void mark_resume(KmsgSource *k, KmsgCursor *saved, const char *boot_id)
{
	char text[256];
	KmsgMark mk;
	uint64_t pos;

	if (!k->mark_path || isempty(boot_id) || read_small_file(k->mark_path, text, sizeof(text)) < 0)
		return;
	if (kmsg_mark_parse(text, &mk) < 0) {
		log_warning(k->log, "Ignoring malformed kernel log position in %s.", k->mark_path);
		return;
	}
	if (!streq(mk.cursor.boot_id, boot_id))
		return;
	pos = mk.cursor.seq;
	if (mk.pending > 0) {
		bool done = mark_recorded(k, mk.event_seq);

		log_debug(k->log,
			  "Kernel log record %" PRIu64
			  " was being handled when zpcid ended; its event is %s.",
			  mk.pending, done ? "in the history" : "not in the history, reading it again");
		pos = MAX(pos, done ? mk.pending : mk.pending - 1);
	}
	if (mk.held > 0 && mk.held - 1 <= pos) {
		/* A record was held when this was written: read again from just
		 * before it; the records up to pos whose event is in the history
		 * are not handed on again. (Record 0 is the kernel's banner.) */
		log_debug(k->log,
			  "Kernel log record %" PRIu64
			  " was held for its drained record when zpcid ended, reading from it again.",
			  mk.held - 1);
		k->replay_until = pos;
		k->replay_event_seq = mk.held_event_seq;
		pos = mk.held >= 2 ? mk.held - 2 : 0;
	}
	if (!saved->valid || !streq(saved->boot_id, boot_id) || pos > saved->seq) {
		(void)snprintf(saved->boot_id, sizeof(saved->boot_id), "%s", boot_id);
		saved->seq = pos;
		saved->valid = true;
	}
}

static void mark_open(KmsgSource *k)
{
	if (!k->mark_path)
		return;
	k->mark_fd = open(k->mark_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (k->mark_fd < 0) {
		log_warning_errno(k->log, errno,
				  "Failed to open %s, kernel log records of the last second may be "
				  "recorded again after a crash: %m",
				  k->mark_path);
		return;
	}
	mark_write(k, k->cursor.valid ? k->cursor.seq : 0, 0, 0);
	/* the text of an earlier boot may have been longer */
	if (k->mark_fd >= 0)
		(void)ftruncate(k->mark_fd, (off_t)k->mark_len);
}

int kmsg_source_start(KmsgSource *k)
{
	char boot_id[64] = "", text[256];
	KmsgCursor saved = {};
	struct stat st;
	int r;

	r = read_small_file(k->boot_id_path, boot_id, sizeof(boot_id));
	if (r < 0)
		log_warning_errno(k->log, r,
				  "Failed to read the boot id from %s, kernel log records may be reported "
				  "again after a restart: %m",
				  k->boot_id_path);
	boot_id[strcspn(boot_id, "\n")] = '\0';

	if (k->cursor_path) {
		r = read_small_file(k->cursor_path, text, sizeof(text));
		if (r >= 0 && kmsg_cursor_parse(text, &saved) < 0)
			log_warning(k->log, "Ignoring malformed kernel log position in %s.", k->cursor_path);
		else if (r < 0 && r != -ENOENT)
			log_warning_errno(k->log, r, "Failed to read %s, ignoring: %m", k->cursor_path);
	}
	mark_resume(k, &saved, boot_id);
	kmsg_cursor_resume(&k->cursor, &saved, boot_id);
	mark_open(k);
	if (k->cursor.valid)
		log_debug(k->log, "Resuming the kernel log after sequence number %" PRIu64 ".",
			  k->cursor.seq);

	if (stat(k->path, &st) < 0)
		return negative_errno();
	/* A FIFO is opened for writing too, so that it never reports EOF. */
	k->fd = open(k->path,
		     (S_ISFIFO(st.st_mode) ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0)
		return negative_errno();
	/* What was opened decides, not what the path said before: only a
	 * character device hands out one whole record per read. */
	if (fstat(k->fd, &st) < 0)
		return negative_errno();
	k->record_reads = S_ISCHR(st.st_mode);

	if (S_ISREG(st.st_mode)) {
		/* Regular files cannot be polled: be told about appends instead. */
		k->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (k->inotify_fd < 0)
			return negative_errno();
		if (inotify_add_watch(k->inotify_fd, k->path, IN_MODIFY) < 0)
			return negative_errno();
	}

	k->regular = S_ISREG(st.st_mode);

	k->event = event_new(k->event_base, k->inotify_fd >= 0 ? k->inotify_fd : k->fd, EV_READ | EV_PERSIST,
			     on_readable, k);
	k->more_event = evtimer_new(k->event_base, on_more, k);
	k->cursor_event = evtimer_new(k->event_base, on_cursor_timer, k);
	if (!k->event || !k->more_event || !k->cursor_event)
		return -ENOMEM;

	/* What was buffered before start is read on the loop, slice by slice,
	 * like everything after it. */
	k->in_backlog = true;
	if (event_add(k->event, NULL) < 0 || evtimer_add(k->more_event, &(struct timeval){}) < 0)
		return -EIO;

	log_debug(k->log, "Reading the kernel log %s.", k->path);
	return 0;
}

KmsgSource *kmsg_source_free(KmsgSource *k)
{
	if (!k)
		return NULL;
	/* A save still with the syncer finishes before the syncer is freed;
	 * this one, written here, is the newer and lands last. */
	if (k->syncer && k->cursor_saving)
		(void)syncer_drain(k->syncer);
	if (k->cursor_dirty)
		(void)save_cursor(k);
	pipeline_set_held_watch(k->pipeline, NULL, NULL);
	replay_free(k);
	if (k->event)
		event_free(k->event);
	if (k->more_event)
		event_free(k->more_event);
	if (k->cursor_event)
		event_free(k->cursor_event);
	if (k->fd >= 0)
		(void)close(k->fd);
	if (k->inotify_fd >= 0)
		(void)close(k->inotify_fd);
	free(k->path);
	free(k->boot_id_path);
	if (k->mark_fd >= 0)
		(void)close(k->mark_fd);
	free(k->cursor_path);
	free(k->mark_path);
	free(k);
	return NULL;
}

uint64_t kmsg_source_n_records(const KmsgSource *k)
{
	return k ? k->n_records : 0;
}

uint64_t kmsg_source_n_zpci(const KmsgSource *k)
{
	return k ? k->n_zpci : 0;
}

uint64_t kmsg_source_n_missed(const KmsgSource *k)
{
	return k ? k->n_missed : 0;
}

bool kmsg_source_idle(const KmsgSource *k)
{
	return !k || k->idle;
}

uint64_t kmsg_source_n_slices(const KmsgSource *k)
{
	return k ? k->n_slices : 0;
}

uint64_t kmsg_source_n_cursor_saves(const KmsgSource *k)
{
	return k ? k->n_cursor_saves : 0;
}
