/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * adapter: correlation of errors by adapter. zPCI functions that share a
 * PCHID (and, when configured, a port) are functions of one physical
 * adapter; when enough of them report errors within a window, the adapter
 * is failing rather than one function, and one adapter event says so.
 *
 * The correlator remembers, per adapter, the time of the latest error of
 * each of its functions. An error at time T fires when the functions whose
 * latest error lies within (T - window, T] number at least "functions", and
 * the adapter's previous adapter event is at least one window old: one
 * adapter event per window per adapter, never a storm. After an adapter
 * event the adapter is "held" for the configured hold time: the policy
 * postpones disruptive actions on its functions while the adapter recovers.
 * A function that went away keeps its error in the window: an adapter
 * that fails may well take functions with it.
 *
 * Pure logic: the times (CLOCK_MONOTONIC µs) are passed in; no I/O, no
 * logging, no knowledge of the Manager (daemon/adapter-events.h feeds it
 * from the pipeline and builds the events).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"
#include "daemon/function.h"

#define ADAPTER_DEFAULT_FUNCTIONS 3
#define ADAPTER_DEFAULT_WINDOW    "10s"
#define ADAPTER_FIDS_MAX          256 /* functions of one adapter remembered at once */

typedef struct AdapterConfig {
	unsigned functions;   /* distinct functions with errors that make an adapter event; 0: off */
	uint64_t window_usec; /* the window they must fall in */
	uint64_t hold_usec;   /* disruptive actions held after an adapter event; 0: none */
	bool by_port;         /* an adapter is PCHID and port, not PCHID alone */
} AdapterConfig;

typedef struct AdapterKey {
	uint16_t pchid;
	bool has_port; /* only when grouping by port and the function has a port attribute */
	uint32_t port;
} AdapterKey;

typedef struct AdapterRecent {
	uint32_t fid;
	uint64_t usec; /* its latest error */
} AdapterRecent;

typedef struct Adapter {
	AdapterKey key;
	AdapterRecent *recent; /* one per function with an error, unordered */
	size_t n_recent;
	uint64_t errors;          /* errors seen on the adapter's functions */
	uint64_t events;          /* adapter events fired */
	uint64_t last_event_usec; /* of the latest adapter event; valid when events > 0 */
} Adapter;

typedef struct AdapterCorrelator {
	AdapterConfig config;
	Adapter *adapters;
	size_t n_adapters;
} AdapterCorrelator;

/* What fired: the adapter and its functions with errors in the window, FIDs ascending. */
typedef struct AdapterFiring {
	AdapterKey key;
	uint32_t fids[ADAPTER_FIDS_MAX];
	size_t n_fids;
} AdapterFiring;

/* The built-in configuration: 3 functions within 10 s, no hold, by PCHID. */
void adapter_config_default(AdapterConfig *ret);

/* The adapter of a function under @c. Returns false when the function has
 * no PCHID attribute or PCHID 0 (ISM: virtual, on no physical adapter). */
bool adapter_key_of(const AdapterConfig *c, const ZpciAttrs *a, AdapterKey *ret);

bool adapter_key_equal(const AdapterKey *a, const AdapterKey *b);

/* Create a correlator with @config (NULL: the default). Returns 0 or -ENOMEM. */
int adapter_correlator_new(AdapterCorrelator **ret, const AdapterConfig *config);

/* Free. Accepts NULL, returns NULL. */
AdapterCorrelator *adapter_correlator_free(AdapterCorrelator *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AdapterCorrelator *, adapter_correlator_free);

/* Take a new configuration (a reload). A change of grouping (by_port)
 * forgets what was remembered; otherwise the state is kept. */
void adapter_correlator_set_config(AdapterCorrelator *c, const AdapterConfig *config);

/* An error of the function @a at @now_usec. Returns 1 and fills @ret when
 * it makes an adapter event, 0 when not (or the function has no PCHID, or
 * correlation is off), -ENOMEM. */
int adapter_correlator_observe(AdapterCorrelator *c, const ZpciAttrs *a, uint64_t now_usec,
			       AdapterFiring *ret);

/* Whether the adapter of @a is held at @now_usec (an adapter event less
 * than the hold time ago); @ret_until (may be NULL) gets the end of the hold. */
bool adapter_correlator_holds(const AdapterCorrelator *c, const ZpciAttrs *a, uint64_t now_usec,
			      uint64_t *ret_until);

/* The adapter @key, or NULL when it never had an error. */
const Adapter *adapter_correlator_find(const AdapterCorrelator *c, const AdapterKey *key);

/* How many functions of @ad had an error within (@now_usec - window, @now_usec]. */
size_t adapter_recent_count(const AdapterCorrelator *c, const Adapter *ad, uint64_t now_usec);
