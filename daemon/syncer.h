/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * syncer: the daemon's waits for the disk, on a worker thread.
 *
 * fsync() and fdatasync() take as long as the storage behind the state
 * directory needs, milliseconds on a quiet disk and far longer on a busy
 * one. Run on the event loop they delay whatever error arrives meanwhile.
 * The syncer runs them, and the atomic replacement of state files
 * (state_file_write()), on one worker thread, in the order they were
 * submitted, and reports each result back on the event loop.
 *
 * What stays with the caller: the write() of a history record happens on
 * the loop before the record counts as stored (it then survives a crash of
 * the process); only the flush to stable storage is deferred. A job works
 * on its own duplicate of the caller's file descriptor, so the caller may
 * close or replace its own at any time.
 *
 * The worker thread starts with the first job and then sleeps on a
 * condition variable between jobs: an idle daemon is not woken by it. It
 * touches nothing but the job it holds: no logging, no event loop, no
 * daemon state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "common/macro.h"

typedef struct Syncer Syncer;

/* Called on the event loop when a job has run: @result is 0 or the -errno
 * of the failed step. Not called for jobs of a syncer freed before its loop
 * ran again (syncer_free() drains them first, see there). */
typedef void (*SyncerDone)(int result, void *userdata);

typedef struct SyncerStats {
	uint64_t submitted;  /* jobs accepted */
	uint64_t completed;  /* jobs whose completion ran */
	uint64_t failed;     /* of those, the ones with a result < 0 */
	unsigned max_queued; /* longest the queue has been (jobs waiting) */
	bool inline_runs;    /* the worker could not start: jobs ran at submission */
} SyncerStats;

/* A syncer delivering completions on @base. Returns 0 or -errno. */
int syncer_new(Syncer **ret, struct event_base *base);

/* Wait for every submitted job, run the completions still due, stop the
 * worker and free. Accepts NULL; returns NULL. */
Syncer *syncer_free(Syncer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Syncer *, syncer_free);

/* fdatasync() a duplicate of @fd on the worker. @done (may be NULL) runs on
 * the loop afterwards. Returns 0 when the job was queued, or -errno (nothing
 * queued, @done is not called). */
int syncer_fdatasync(Syncer *s, int fd, SyncerDone done, void *userdata);

/* Replace @path with @size bytes of @data as state_file_write() does
 * (the data is copied). Jobs for the same path run in submission order, so
 * the last one submitted leaves its content. Returns 0 when queued, or
 * -errno. */
int syncer_replace_file(Syncer *s, const char *path, const void *data, size_t size, bool world_readable,
			SyncerDone done, void *userdata);

/* Work for syncer_call(): runs on the worker thread, touches nothing but
 * what @userdata gives it, returns 0 or -errno. */
typedef int (*SyncerWork)(void *userdata);

/* Run the worker thread at @nice (before its first job; e.g. 10 for work
 * that must not take the CPU from the event loop). */
void syncer_set_nice(Syncer *s, int nice);

/* Run @work(@userdata) on the worker, then @done (may be NULL) on the loop
 * with its result. Returns 0 when queued, or -errno. */
int syncer_call(Syncer *s, SyncerWork work, SyncerDone done, void *userdata);

/* Block until every job submitted so far has run, then run their
 * completions. For shutdown and for tests; never on a hot path. Returns the
 * number of completions run. */
unsigned syncer_drain(Syncer *s);

/* Jobs submitted whose completion has not run yet. */
unsigned syncer_pending(const Syncer *s);

const SyncerStats *syncer_stats(const Syncer *s);
