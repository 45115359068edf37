/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * history: the persistent, append-only record of every event, under the
 * state directory, queried by zpcictl events and the D-Bus GetEvents.
 *
 * Files: <dir>/history.log is written; when appending a record would make it
 * larger than max_file_size it is renamed to history.log.1 (older files move
 * up by one, history.log.<max_files-1> is deleted) and a new one is started.
 *
 * Format (version 1): the first line of each file is "ZPCID-HISTORY 1\n".
 * Every other line is one event: "LLLLLLLL CCCCCCCC JSON\n", where JSON is the
 * object of event_to_json() on one line, LLLLLLLL its length in bytes and
 * CCCCCCCC its CRC-32 (IEEE), both as 8 lowercase hex digits. A record whose
 * frame does not check out is skipped; when it is at the end of the written
 * file (a write torn by a crash) it is truncated away on open, and said so
 * once with its size. Open reads only the end of the file (the newest
 * record gives the sequence number); it never scans the whole history.
 *
 * Durability: each record is handed to the kernel with write() as soon as it
 * is appended, so once history_append() returned the record survives any
 * crash or kill of the process. fdatasync() runs in batches (every
 * sync_records records, on the timer of history_attach_event() every
 * sync_interval_usec, at rotation and at history_free()), so a power loss or
 * kernel crash loses at most the records of the last batch interval. With a
 * syncer (history_attach_event()) the batches' fdatasync() runs on its worker
 * thread, not on the event loop; rotation and history_free() still sync on
 * the caller's thread.
 *
 * Index: the total a query returns comes from a summary of each file (its
 * records, per kind, and their time range), read from the file once, kept
 * in history.index and checked against the file (its length and the frame
 * of the record it ends with) before use; the summary of the current file
 * grows with each append. Filters by function or PCI event code still read
 * every file for the total.
 *
 * Not done here: sequence numbers are assigned by the caller (the pipeline);
 * the history only remembers the last one it stored (history_last_seq()).
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/event.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/syncer.h"

#define HISTORY_FORMAT_VERSION 1
#define HISTORY_FILE_NAME      "history.log"
#define HISTORY_LOCK_NAME      "history.lock"

/* Upper bound of one record's JSON text; longer records are refused. */
#define HISTORY_RECORD_MAX (16 * 1024)
/* Largest number of events a query returns at once. */
#define HISTORY_QUERY_LIMIT_MAX 10000

typedef struct HistoryLimits {
	uint64_t max_file_size;      /* bytes per file before rotation; default 4 MiB */
	unsigned max_files;          /* files kept, the current one included; default 4 */
	uint64_t sync_interval_usec; /* fdatasync timer of history_attach_event(); default 1 s */
	unsigned sync_records;       /* fdatasync after this many unsynced records; default 256 */
} HistoryLimits;

#define HISTORY_LIMITS_DEFAULT                                \
	((HistoryLimits){ .max_file_size = 4 * 1024 * 1024,   \
			  .max_files = 4,                     \
			  .sync_interval_usec = USEC_PER_SEC, \
			  .sync_records = 256 })

typedef struct HistoryStats {
	uint64_t appended;        /* records appended since open */
	uint64_t syncs;           /* fdatasync() calls that succeeded */
	uint64_t sync_failures;   /* fdatasync() calls that failed */
	uint64_t rotations;       /* files rotated since open */
	uint64_t torn_truncated;  /* bytes of a torn tail cut off at open */
	uint64_t corrupt_skipped; /* records skipped by scans because their frame was bad */
	uint64_t append_failures; /* appends that could not be written (a full disk) */
	uint64_t summaries_read;  /* files (or their new part) read to build a summary */
} HistoryStats;

typedef struct History History;

/* Open (creating when needed) the history in @directory, which must exist.
 * A torn record at the end of the current file is truncated away; the last
 * sequence number is found. @limits may be NULL for the defaults; @log (may
 * be NULL) receives the failures of the sync timer, a torn tail cut at
 * open, and the start and end of a run of failed appends (once each, not
 * once per event). Returns 0, -EBUSY
 * when another process holds the history, -EINVAL for bad limits, or
 * another -errno. */
int history_open(History **ret, const char *directory, const HistoryLimits *limits, Log *log);

/* Sync and close. Accepts NULL, returns NULL. */
History *history_free(History *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(History *, history_free);

/* Put the fdatasync timer and the query reader on @base (once; NULL detaches them). It is armed
 * only while appended records wait for their sync, so an idle history never
 * wakes the loop. With @syncer (may be NULL; it must deliver on @base and
 * outlive the history or its detachment) the batches' fdatasync() runs on
 * the syncer's thread. Returns 0 or -ENOMEM. */
int history_attach_event(History *h, struct event_base *base, Syncer *syncer);

/* Append @e (its seq must be set by the caller). Returns 0 once the record
 * was written to the file, -E2BIG when its JSON exceeds HISTORY_RECORD_MAX,
 * or another -errno (the file is left without a partial record). */
int history_append(History *h, const ZpciEvent *e);

/* fdatasync() the records appended since the last sync (no-op when none).
 * Returns 0 or -errno. */
int history_sync(History *h);

/* The highest sequence number stored (0 for an empty history). */
uint64_t history_last_seq(const History *h);

/* Counters since open. */
const HistoryStats *history_stats(const History *h);

typedef struct HistoryQuery {
	uint64_t since_usec; /* time >= since (0: no bound) */
	uint64_t until_usec; /* time < until (0: no bound) */
	bool match_fid;
	uint32_t fid;
	bool match_pec;
	uint16_t pec;
	EventKind kind;    /* _EVENT_KIND_INVALID: any */
	bool newest_first; /* order and offset count from the newest record */
	uint64_t offset;   /* matching records skipped */
	uint64_t limit;    /* at most this many returned (0: HISTORY_QUERY_LIMIT_MAX) */
} HistoryQuery;

/* A query that matches everything, oldest first. */
#define HISTORY_QUERY_ALL ((HistoryQuery){ .kind = _EVENT_KIND_INVALID })

/* Run @q over all files, on the calling thread. Files are read in pieces,
 * never whole; newest first reads them backwards, and the walk ends as soon
 * as the page is full (the newest record costs one piece of one file,
 * however large the history). The total comes from the files' summaries
 * (see above), which also let the walk skip the files before the page;
 * with a fid or pec filter the walk counts it and reads every file. Sets *@ret to a
 * malloc()ed array of *@ret_n events (NULL when none) and *@ret_total (may
 * be NULL) to the number of matching records regardless of paging.
 * Returns 0, -ERANGE when @q is newest first with an offset above
 * 10 * HISTORY_QUERY_LIMIT_MAX, or another -errno. */
int history_query(History *h, const HistoryQuery *q, ZpciEvent **ret, size_t *ret_n, uint64_t *ret_total);

/* Called on the loop with the result of history_query_async(): @result 0
 * or -errno; @events (malloc()ed, the callee frees it; NULL when none),
 * @n of them, @total matching records. */
typedef void (*HistoryQueryDone)(int result, ZpciEvent *events, size_t n, uint64_t total, void *userdata);

/* Queries waiting or running at once; more are refused with -EBUSY. */
#define HISTORY_QUERIES_MAX 32

/* Run @q (with the total) on the history's reader thread, started by
 * history_attach_event(), and call @done on the loop: a query of a large
 * history never stalls the loop. The files are opened here, so what the
 * query reads is the history as it was at this call. Without an attached
 * loop the query runs here and @done is called before this returns.
 * Returns 0 (then @done is called exactly once, at the latest by
 * history_free(), which stops a query still reading with -ECANCELED),
 * -EBUSY, -ERANGE, or another -errno. */
int history_query_async(History *h, const HistoryQuery *q, HistoryQueryDone done, void *userdata);

/* CRC-32 (IEEE 802.3, reflected, as used by the record frame) of @size bytes. */
uint32_t history_crc32(const void *data, size_t size);

/* --- Walking a time window ------------------------------------------------ */

/* What a walk read: @files in the history, @files_read of them read because
 * their time range (from the index) overlaps the window, @records passed to
 * the callback. */
typedef struct HistoryWalkStats {
	unsigned files;
	unsigned files_read;
	uint64_t records;
} HistoryWalkStats;

typedef struct HistoryWalk {
	uint64_t since_usec; /* time >= since (0: no bound) */
	uint64_t until_usec; /* time < until (0: no bound) */
	/* Called once before any record, with the oldest time of a record in
	 * the window as the index knows it (a lower bound; 0 when the window
	 * holds nothing). May be NULL. Returns 0 or -errno (ends the walk). */
	int (*begin)(uint64_t oldest_usec, void *userdata);
	/* Called with each record whose time is in the window, oldest file
	 * first. Returns 0 or -errno (ends the walk). */
	int (*record)(const ZpciEvent *e, void *userdata);
} HistoryWalk;

/* Pass the records of the window [since, until) to @w's callbacks, on the
 * calling thread. Only the files whose time range (from their summary in
 * the index, built first where missing) overlaps the window are read; of
 * their records only those inside it are parsed in full. Sets *@ret_stats
 * (may be NULL). Returns 0, a callback's -errno, or another -errno. */
int history_walk(History *h, const HistoryWalk *w, void *userdata, HistoryWalkStats *ret_stats);

/* Called on the loop when history_walk_async() ended: @result 0 or -errno. */
typedef void (*HistoryWalkDone)(int result, const HistoryWalkStats *stats, void *userdata);

/* history_walk() on the history's reader thread (the callbacks of @w run
 * there with @userdata, @done on the loop with @done_userdata), over the
 * files as they were at this call; inline when no loop is attached. @w
 * and @userdata must stay valid until @done. Returns
 * 0 (then @done is called exactly once, with -ECANCELED when
 * history_free() stopped the walk), -EBUSY when HISTORY_QUERIES_MAX
 * queries and walks wait, or another -errno. */
int history_walk_async(History *h, const HistoryWalk *w, void *userdata, HistoryWalkDone done,
		       void *done_userdata);
