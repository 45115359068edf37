/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bus-private: the Bus object as bus.c, bus-manager.c and bus-function.c
 * share it. Nothing outside daemon/bus*.c includes this.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "daemon/bus-util.h"
#include "daemon/bus.h"

typedef struct BusInhibitGuard BusInhibitGuard;
typedef struct SummaryCall SummaryCall;

/* The guard of an inhibitor taken over the bus: our end of the pipe whose
 * other end the caller holds. The inhibitor itself is the action runner's
 * record (daemon/inhibit.h). */
struct BusInhibitGuard {
	Bus *bus;
	uint64_t handle; /* in the action runner's Inhibitors */
	int fd;
	struct event *event;
	BusInhibitGuard *next;
};

/* The values of a function's properties as last announced: PropertiesChanged
 * names only those that differ from it. */
typedef struct BusFunctionSnapshot {
	uint32_t fid;
	ZpciAttrs attrs;
	char driver[FUNCTION_DRIVER_MAX];
	FunctionMode mode;
	FunctionState state;
	pid_t owner_pid;
	char owner_comm[FUNCTION_COMM_MAX];
	FunctionCounters counters;
	bool has_last_error;
	uint64_t last_error_seq, last_error_time;
	char owner_machine[EVENT_MACHINE_MAX];
	char owner_machine_class[EVENT_MACHINE_CLASS_MAX];
	char owner_unit[EVENT_UNIT_MAX];
} BusFunctionSnapshot;

/* The same for the Manager's properties. */
typedef struct BusManagerSnapshot {
	unsigned function_count;
	char *policy_file;
	uint64_t policy_load_time;
	bool dry_run;
	uint64_t inhibitors_generation;
} BusManagerSnapshot;

struct Bus {
	BusDeps deps;
	sd_bus *bus;
	struct event *io_event, *timer_event, *flush_event;
	int io_fd;     /* what io_event watches now: -1 none */
	short io_what; /* EV_READ, EV_WRITE */
	sd_bus_slot *manager_slot, *object_manager_slot, *function_slot, *enumerator_slot;

	/* PropertiesChanged batching */
	bool manager_dirty;
	uint32_t *dirty_fids;
	size_t n_dirty_fids, n_dirty_allocated;
	bool flush_pending;
	BusFunctionSnapshot *snapshots; /* sorted by fid */
	size_t n_snapshots, n_snapshots_allocated;
	BusManagerSnapshot manager_snapshot;
	uint64_t inhibitors_generation; /* bumped whenever the inhibitor list changes */

	ZpciFunction *removing; /* set while InterfacesRemoved is composed */
	bool subscribed;        /* to the registry's changes */

	BusInhibitGuard *inhibit_guards;
	SummaryCall *summary_calls; /* GetEventSummary in flight */
	bool broken;                /* the connection failed; the daemon goes on without the bus */
};

/* The configuration and policy in force (a reload replaces them). */
static inline const Config *bus_config(const Bus *b)
{
	return *b->deps.config;
}

static inline const struct Policy *bus_policy(const Bus *b)
{
	return b->deps.policy ? *b->deps.policy : NULL;
}

/* Re-arm the libevent watches after anything queued messages outside
 * sd_bus_process(). */
void bus_rearm(Bus *b);

/* Schedule the batched PropertiesChanged flush for this loop iteration. */
void bus_schedule_flush(Bus *b);

/* Manager object (bus-manager.c). */
int bus_manager_register(Bus *b);
void bus_inhibitors_free(Bus *b);
/* Forget the GetEventSummary calls in flight: they answer without the bus. */
void bus_summary_calls_detach(Bus *b);

/* Function objects (bus-function.c). */
int bus_function_register(Bus *b);
int bus_function_path(uint32_t fid, char *buf, size_t size);
/* The function with @fid, or NULL. */
ZpciFunction *bus_lookup_function(Bus *b, uint32_t fid);
/* Number of functions. */
unsigned bus_function_count(Bus *b);
/* Append a(ussso) of every function (fid, slot, mode, state, object). */
int bus_function_append_list(Bus *b, sd_bus_message *reply);
