/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kmsg: the kernel log as an error source for functions zpcid only observes.
 *
 * /dev/kmsg yields records "PRIO,SEQ,TS_USEC,FLAGS[,...];message", one per
 * read, each possibly followed by continuation lines that start with a space
 * (the record's dictionary). The reader treats its input as a byte stream
 * split on newlines, so a FIFO or a regular file standing in for /dev/kmsg
 * works the same; continuation lines are skipped.
 *
 * The zPCI lines it knows:
 *   "zpci: <slot>: Event 0x<pec> reports an error for PCI function 0x<fid>"
 *       an error event (kind error, source kmsg)
 *   "... <slot>: Maximum number (<n>) of pending error events queued"
 *       the per-function queue is full, the newest error was dropped (kind dropped)
 *   "zpci: Unhandled PCI error events count=<n> for PCI function 0x<fid>"
 *       errors discarded when the device was closed (kind dropped)
 *   "zpci: <slot>: Cannot be recovered because no driver is bound to the device",
 *   "zpci: <slot>: The <drv> driver bound to the device does not support error recovery",
 *   "zpci: <slot>: Automatic recovery failed after MMIO re-enable"
 *       recovery ended without a uevent saying so (kind recovery, failed)
 * The kernel's other recovery lines come with a change uevent, which is the
 * source of record for them; they are only logged at debug level.
 *
 * Resuming: the last processed sequence number is kept with the boot id in
 * the state directory, replaced by the syncer off the loop, at most once a
 * second while records flow and once more when they stop (and at exit).
 * A zPCI record is the exception: before its event goes to the pipeline,
 * its sequence number and the sequence number its event is to get are
 * written in place into kmsg-recorded (one pwrite() of a few bytes, no
 * rename, no flush), and marked done after. At start the later of the two
 * files is the position; a record whose submission a kill interrupted is
 * skipped when the history holds its event, read again when not. So after
 * a kill no zPCI record is recorded twice nor lost; other records of the
 * last second are read again, which changes nothing. Neither file goes
 * past a record the pipeline still holds for its drained record (tagged
 * with its sequence number, pipeline_oldest_held_tag()): after a kill the
 * lines from the held one on are read again, and those whose event the
 * history holds (alone, or merged into its drained record) are skipped.
 * On start every buffered record is read
 * again and those up to the saved number of the same boot are skipped, so a restart neither repeats nor
 * loses records. Records the kernel overwrote before they were read show up as a jump in the sequence
 * numbers and are reported as a gap with their count.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/event.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/function.h"
#include "daemon/pipeline.h"

struct History;
struct Syncer;
typedef struct KmsgSource KmsgSource;

#define KMSG_DEFAULT_PATH    "/dev/kmsg"
#define KMSG_BOOT_ID_PATH    "/proc/sys/kernel/random/boot_id"
#define KMSG_CURSOR_FILENAME "kmsg-cursor"
#define KMSG_MARK_FILENAME   "kmsg-recorded"
/* Longest line kept (the kernel's record limit is below this). */
#define KMSG_LINE_MAX 8192

typedef struct KmsgRecord {
	int priority; /* 0..7 */
	int facility; /* 0 for the kernel */
	uint64_t seq;
	uint64_t ts_usec;    /* CLOCK_MONOTONIC-like time of the record */
	const char *message; /* points into the parsed line, not NUL-terminated */
	size_t message_len;
} KmsgRecord;

/* Parse one record header line @line of @len bytes (no newline). Returns 0
 * or -EBADMSG. @ret->message points into @line. */
int kmsg_record_parse(const char *line, size_t len, KmsgRecord *ret);

typedef enum KmsgZpciKind {
	KMSG_ZPCI_NONE,
	KMSG_ZPCI_ERROR,           /* fid, pec, slot */
	KMSG_ZPCI_QUEUE_FULL,      /* slot, count = 1 dropped, max = queue depth */
	KMSG_ZPCI_UNHANDLED,       /* fid, count discarded */
	KMSG_ZPCI_RECOVERY_FAILED, /* slot, detail */
	KMSG_ZPCI_RECOVERY_INFO,   /* slot, detail: accompanied by a uevent */
} KmsgZpciKind;

typedef struct KmsgZpci {
	KmsgZpciKind kind;
	char slot[EVENT_SLOT_MAX]; /* "" when the kernel printed "n/a" or none */
	bool has_fid;
	uint32_t fid;
	bool has_pec;
	uint16_t pec;
	uint32_t count;
	const char *detail; /* static text, NULL when none */
} KmsgZpci;

/* Classify a message (@len bytes, not NUL-terminated). Returns 1 and fills
 * @ret for a zPCI line this module knows, 0 for any other line. */
int kmsg_zpci_parse(const char *message, size_t len, KmsgZpci *ret);

/* The resume position. */
typedef struct KmsgCursor {
	char boot_id[40]; /* "" when unknown */
	bool valid;       /* seq is the last processed record of boot_id */
	uint64_t seq;
} KmsgCursor;

/* What kmsg-recorded says: the last zPCI record handed on (seq), and the
 * one being handed on when the process ended (pending, 0: none), whose
 * event was to get the history's sequence number event_seq. */
typedef struct KmsgMark {
	KmsgCursor cursor;
	uint64_t pending;
	uint64_t event_seq;
	/* The oldest record the pipeline held for its drained record, + 1 (0:
	 * none), and the history's next sequence number as it was held. */
	uint64_t held;
	uint64_t held_event_seq;
} KmsgMark;

/* Parse kmsg-recorded: "BOOT_ID=<id>\nSEQ=<n>\nPENDING=<n>\nEVENT_SEQ=<n>\n"
 * [HELD=<n>\nHELD_EVENT_SEQ=<n>\n]. Returns 0 or -EBADMSG. */
int kmsg_mark_parse(const char *text, KmsgMark *ret);

/* Parse the cursor file text "BOOT_ID=<id>\nSEQ=<n>\n". Returns 0 or -EBADMSG. */
int kmsg_cursor_parse(const char *text, KmsgCursor *ret);

/* Format @c as the cursor file text into @buf. Returns the length or -ENOBUFS. */
int kmsg_cursor_format(const KmsgCursor *c, char *buf, size_t size);

/* Start from a saved cursor: keep it when it belongs to boot @boot_id,
 * otherwise start the boot from scratch. */
void kmsg_cursor_resume(KmsgCursor *c, const KmsgCursor *saved, const char *boot_id);

/* Account record @seq. Returns true when it is new (process it; *@ret_gap is
 * the number of records missed just before it), false when it was already
 * processed. */
bool kmsg_cursor_advance(KmsgCursor *c, uint64_t seq, uint64_t *ret_gap);

/* Splits a byte stream into lines. */
typedef struct KmsgSplitter {
	char buf[KMSG_LINE_MAX];
	size_t len;
	bool overlong;       /* discarding the rest of a too long line */
	uint64_t n_overlong; /* lines dropped for their length */
} KmsgSplitter;

/* Feed @n bytes; @cb is called with every complete line (without its
 * newline). A line longer than KMSG_LINE_MAX is dropped and counted. When
 * @flush is set, a pending partial line is passed on as complete (the end
 * of one /dev/kmsg record). */
void kmsg_splitter_feed(KmsgSplitter *s, const char *data, size_t n, bool flush,
			void (*cb)(const char *line, size_t len, void *userdata), void *userdata);

/* The function a zPCI line names: the one with FID @fid (when @has_fid),
 * else the one in slot @slot ("" when the line names none). NULL when
 * there is none (the record is still handed on, without a function). */
typedef ZpciFunction *(*KmsgLookupFn)(void *userdata, bool has_fid, uint32_t fid, const char *slot);

/* What the source works with. The pointers are borrowed: each must outlive
 * the source. */
typedef struct KmsgSourceConfig {
	const char *kmsg_path;       /* NULL: /dev/kmsg */
	const char *boot_id_path;    /* NULL: the kernel's boot id */
	const char *state_directory; /* where the position is kept; NULL: no resume */
	struct event_base *event_base;
	Log *log;
	Pipeline *pipeline;  /* where the records go (pipeline_submit()) */
	KmsgLookupFn lookup; /* NULL: no record has a function */
	void *lookup_userdata;
	/* Asked at start whether the event of a record whose submission a kill
	 * interrupted is recorded. NULL: it never is (the record is read again). */
	struct History *history;
	/* Writes the position off the loop. NULL: it is written on the loop. */
	struct Syncer *syncer;
} KmsgSourceConfig;

/*
 * Create the source described by @c (copied; the paths too). Nothing is
 * read yet. Returns 0, -EINVAL without an event base, log or pipeline, or
 * -ENOMEM.
 */
int kmsg_source_new(KmsgSource **ret, const KmsgSourceConfig *c);

/* Open the log and start watching it. What the kernel buffered before is
 * read on the loop like what comes later: in slices of at most
 * KMSG_SLICE_RECORDS records or KMSG_SLICE_USEC each, the next slice
 * after the loop has served everything else that is ready. A source that
 * ends (end of anything but a regular file) is logged once and no longer
 * watched. Returns 0 or -errno (the source stays idle; the caller decides
 * how loud). */
#define KMSG_SLICE_RECORDS 64
#define KMSG_SLICE_USEC    (2 * USEC_PER_MSEC)
#define KMSG_STREAM_PIECE  256
int kmsg_source_start(KmsgSource *k);

/* Save the cursor and free. Accepts NULL, returns NULL. */
KmsgSource *kmsg_source_free(KmsgSource *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(KmsgSource *, kmsg_source_free);

/* Records processed, zPCI records found, and records missed (gaps). */
uint64_t kmsg_source_n_records(const KmsgSource *k);
uint64_t kmsg_source_n_zpci(const KmsgSource *k);
uint64_t kmsg_source_n_missed(const KmsgSource *k);

/* True when the last slice read everything there was (or the source ended). */
bool kmsg_source_idle(const KmsgSource *k);

/* Slices read, and cursor saves started, since start. */
uint64_t kmsg_source_n_slices(const KmsgSource *k);
uint64_t kmsg_source_n_cursor_saves(const KmsgSource *k);
