/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * adapter-events: the daemon's side of adapter correlation (daemon/adapter.h).
 * A pipeline sink (sink_adapter_events, order observe): it feeds the
 * correlator with the error events the pipeline records (an error's full
 * record completing an earlier one is not a second error) and turns a
 * firing into an adapter event (kind "adapter": PCHID, port, the functions
 * with errors and the adapter's function count), deferred to run after the
 * current event. It answers the policy's two questions about adapters (is
 * the function's adapter held; on which function is an adapter event
 * decided) and lists the adapters for D-Bus ListAdapters.
 *
 * Errors count when their PEC is not informational (a PEC class
 * "informational" or "fw-reset-done" says nothing about the adapter's
 * health); an error without a PEC (a uevent) counts.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "common/event.h"
#include "common/macro.h"
#include "common/metrics.h"
#include "daemon/function.h"
#include "daemon/pipeline.h"

typedef struct Config Config;
typedef struct Log Log;
typedef struct Registry Registry;
typedef struct AdapterEvents AdapterEvents;

typedef struct AdapterEventsOptions {
	Log *log;
	Pipeline *pipeline;   /* where adapter events are deferred (may be NULL) */
	const Config *config; /* its "adapter_correlation"; NULL: the defaults */
} AdapterEventsOptions;

/* Create with @options (the pipeline is kept by pointer, the configuration
 * is read now). Returns 0 or -ENOMEM. */
int adapter_events_new(AdapterEvents **ret, const AdapterEventsOptions *options);

/* Free (queued events are dropped). Accepts NULL, returns NULL. */
AdapterEvents *adapter_events_free(AdapterEvents *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(AdapterEvents *, adapter_events_free);

/* The functions to correlate: @registry (kept by pointer, may be NULL).
 * Until it is given no function is known. Accepts a NULL @a. */
void adapter_events_set_registry(AdapterEvents *a, Registry *registry);

/* Take the "adapter_correlation" of @config (after a reload). Accepts a NULL @a. */
void adapter_events_reload(AdapterEvents *a, const Config *config);

/* The sink; userdata: the AdapterEvents. */
extern const PipelineSinkVtable sink_adapter_events;

/* The pipeline recorded @e for @f: an error goes to the correlator; a
 * firing defers an adapter event through the pipeline. */
void adapter_events_observe(AdapterEvents *a, ZpciFunction *f, const ZpciEvent *e);

/* Whether @f's adapter is held at @now_usec (CLOCK_MONOTONIC): an adapter
 * event less than "hold" ago. Accepts a NULL @a (false). */
bool adapter_events_holds(AdapterEvents *a, const ZpciFunction *f, uint64_t now_usec);

/* The function the policy decides the adapter event @e on: the adapter's
 * function with the lowest FID among those with errors (present and not
 * gone), else its lowest FID. NULL when none is left. */
ZpciFunction *adapter_events_policy_function(AdapterEvents *a, const ZpciEvent *e);

/* Append the adapters as aa{sv} to @reply (docs/dbus-api.md, ListAdapters).
 * Returns 0 or -errno. */
int adapter_events_append_list(AdapterEvents *a, sd_bus_message *reply);

/* The adapter event counts for the metrics: one entry per adapter, as
 * ListAdapters lists them, newly allocated in *@ret (NULL when none).
 * Returns 0 or -ENOMEM. */
int adapter_events_metrics(AdapterEvents *a, MetricsAdapter **ret, size_t *ret_n);
