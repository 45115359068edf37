/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * events-summary: zpcictl events top|rate|decisions, what zpcid's history
 * says about a window (the Manager's GetEventSummary): the functions or
 * adapters with the most errors, each function's errors over time (a
 * sparkline in the table, the series in the machine formats), and the
 * decisions taken (actions per rule and result).
 *
 * This file builds the call and formats the answer; the numbers are the
 * daemon's (daemon/history-summary.h).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "common/output.h"

typedef enum EventsSummaryView {
	EVENTS_SUMMARY_TOP_FUNCTIONS,
	EVENTS_SUMMARY_TOP_ADAPTERS,
	EVENTS_SUMMARY_RATE,
	EVENTS_SUMMARY_DECISIONS,
} EventsSummaryView;

typedef struct EventsSummaryArgs {
	EventsSummaryView view;
	uint64_t since_usec, until_usec; /* 0: unbounded (the daemon resolves them) */
	uint64_t bucket_usec;            /* 0: the daemon's default */
	unsigned top;                    /* 0: the daemon's default */
	bool has_fid;
	uint32_t fid;
	OutputFormat format;
	const OutputMeta *meta;
	bool no_header;
} EventsSummaryArgs;

/* A duration: "90" (seconds), "90s", "5m", "2h", "1d". Returns 0 or -EINVAL. */
int events_parse_duration(const char *s, uint64_t *ret_usec);

/* The sparkline of @n counts, scaled to their largest: one character per
 * count, "·" for none and ▁▂▃▄▅▆▇█ by size with @utf8, else "." and
 * "_-~=+*%#". Returns a malloc()ed string or NULL (ENOMEM). */
char *events_sparkline(const uint64_t *series, size_t n, bool utf8);

/* Whether the locale (LC_CTYPE from the environment) is UTF-8. */
bool events_locale_is_utf8(void);

/* Ask zpcid and write the view to @f. Returns zpcictl's exit code (errors
 * written in the output's format). */
int events_summary_run(sd_bus *bus, const EventsSummaryArgs *a, FILE *f);
