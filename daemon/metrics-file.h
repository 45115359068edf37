/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * metrics-file: zpcid's metrics written by the daemon itself into the
 * directory node_exporter's textfile collector reads ("metrics":
 * {"textfile_directory"} in the configuration; nothing is written without it).
 *
 * The file, <directory>/zpcid.prom, is rewritten when something changes — a
 * function appears, changes or goes, an event passes the pipeline — at most
 * once per configured interval, and once a minute regardless, so that its
 * age tells whether the daemon still runs. Each write is atomic: a
 * temporary file in the same directory, readable by all (node_exporter runs
 * as another user), renamed over the old one; a reader never sees half a
 * file. On a stop the file says zpcid_up 0.
 *
 * The counts by PEC class and by action and result are kept here, from the
 * events the pipeline hands over (metrics_file_observe()); everything else is
 * read from the functions when the file is written. The format is
 * common/metrics.h's.
 */

#include <stdint.h>

#include "common/event.h"
#include "common/macro.h"
#include "common/metrics.h"

typedef struct AdapterEvents AdapterEvents;
typedef struct Log Log;
typedef struct Registry Registry;
typedef struct ZpciFunction ZpciFunction;
typedef struct MetricsFile MetricsFile;

/* The file's name in the textfile directory. */
#define METRICS_FILE_NAME "zpcid.prom"

/* Rewritten at least this often while the daemon runs. */
#define METRICS_FILE_HEARTBEAT_USEC (60 * USEC_PER_SEC)

/* What the file shows and where it works; all kept by pointer and
 * outliving the writer. */
typedef struct MetricsFileOptions {
	Log *log;                      /* required */
	struct event_base *event_base; /* required */
	Registry *registry;            /* the functions (may be NULL) */
	AdapterEvents *adapter_events; /* the adapters (may be NULL) */
	/* The daemon's own figures of an "up" file, filled in @s at each write:
	 * inhibitors, kernel log, loop stall (may be NULL: none shown). */
	void (*daemon_figures)(void *userdata, MetricsSnapshot *s);
	void *userdata;
} MetricsFileOptions;

/* Create the writer with @options, subscribed to the registry when there is
 * one. Nothing is written until metrics_file_configure(). Returns 0 or -ENOMEM. */
int metrics_file_new(MetricsFile **ret, const MetricsFileOptions *options);

/* Write into @directory (NULL: stop writing) at most once per @interval_usec.
 * A directory that is given up is left with a "down" file. Returns 0 or -ENOMEM. */
int metrics_file_configure(MetricsFile *mf, const char *directory, uint64_t interval_usec);

/* Count @e (of function @f, may be NULL) and schedule a write. Accepts a NULL @mf. */
void metrics_file_observe(MetricsFile *mf, ZpciFunction *f, const ZpciEvent *e);

/* Something the file shows changed: schedule a write. Accepts NULL. */
void metrics_file_changed(MetricsFile *mf);

/* Write the file now (up, or down when @up is false). Returns 0, -ENOENT
 * when no directory is configured, or the -errno of the failed step. */
int metrics_file_write_now(MetricsFile *mf, bool up);

/* Number of writes so far (successful or not). */
uint64_t metrics_file_n_writes(const MetricsFile *mf);

/* Write the "down" file when a directory is configured, unsubscribe and
 * free. Accepts NULL, returns NULL. */
MetricsFile *metrics_file_free(MetricsFile *mf);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsFile *, metrics_file_free);

/* Replace @directory/@name atomically with @text: a temporary file beside it
 * with mode 0644, then rename(). Returns 0 or -errno (nothing replaced). */
int metrics_file_replace(const char *directory, const char *name, const char *text);
