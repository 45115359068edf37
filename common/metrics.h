/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * metrics: zpcid's numbers in the Prometheus text exposition format 0.0.4,
 * the format node_exporter's textfile collector reads (and `promtool check
 * metrics` lints). One renderer for the daemon's textfile writer
 * (daemon/metrics-file.h) and for `zpcictl metrics`, so both write the same
 * series.
 *
 * Only the types that format knows are used (gauge, counter); every family
 * has HELP and TYPE, every counter ends in _total, label values are escaped
 * (\\, \", \n) and every family is written once, its series together. A
 * function's state is a gauge per state (label "state"), 1 for the current
 * one. The series are listed in docs/metrics.md.
 *
 * This module formats only: what the numbers are is up to the caller.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/pec.h"

/* The states a function can be in, as function_state_to_string() names them. */
extern const char *const metrics_function_states[];
#define METRICS_N_FUNCTION_STATES 6

typedef struct MetricsFunction {
	uint32_t fid;
	const char *slot;  /* PCI address; "" when unknown */
	const char *type;  /* function type name, e.g. "NVMe" */
	const char *state; /* one of metrics_function_states */
	uint64_t errors, dropped, recoveries, actions, resets;
	uint64_t errors_by_class[_PEC_CLASS_MAX];
	/* Its holder, when a process holds it (zpcid_function_owner_info). */
	bool has_owner;
	const char *owner_command, *owner_machine, *owner_machine_class, *owner_unit; /* "" when unknown */
} MetricsFunction;

/* Actions on one function that ended with one result, counted. */
typedef struct MetricsAction {
	uint32_t fid; /* labels from the function with this FID */
	const char *action, *result;
	uint64_t count;
} MetricsAction;

/* Adapter events (daemon/adapter.h) of one adapter, counted. */
typedef struct MetricsAdapter {
	uint16_t pchid;
	bool has_port; /* grouped by port */
	uint32_t port;
	uint64_t events;
} MetricsAdapter;

typedef struct MetricsSnapshot {
	bool up;                  /* false: the daemon stopped (only zpcid_up and the build info follow) */
	const char *version;      /* zpcid's version */
	uint64_t start_time_usec; /* realtime the daemon started; 0: not known, left out */
	bool has_inhibitors;
	uint64_t n_inhibitors;
	const MetricsFunction *functions;
	size_t n_functions;
	const MetricsAction *actions;
	size_t n_actions;
	bool has_kmsg;                /* the kernel log reader runs */
	uint64_t kmsg_missed;         /* kernel log records overwritten before they were read */
	bool has_loop_stall;          /* the loop's stall probe is known */
	uint64_t loop_stall_max_usec; /* its longest iteration so far, CPU time */
	/* Adapter event counts of the adapters that had errors. */
	const MetricsAdapter *adapters;
	size_t n_adapters;
} MetricsSnapshot;

/* Write @s to @f. Returns 0 or -EIO (a write failed). */
int metrics_render(FILE *f, const MetricsSnapshot *s);

/* Render @s into a new string. Returns 0 or -ENOMEM. */
int metrics_render_string(const MetricsSnapshot *s, char **ret);
