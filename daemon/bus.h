/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bus: zpcid's D-Bus API on the system bus — the name org.zpcid1, the
 * Manager object at /org/zpcid1 (with the ObjectManager), one Function
 * object per function under /org/zpcid1/function/<fid as %08x>, the event
 * signals, the inhibitors — driven by the libevent loop it is given.
 *
 * The connection comes from sd_bus_open_system(), so $DBUS_SYSTEM_BUS_ADDRESS
 * points the daemon at a private bus (tests). PropertiesChanged is batched:
 * changes are collected and each changed object emits once per loop
 * iteration, naming only the properties whose values differ from those it
 * last announced (LastError as invalidated).
 *
 * Not done here: deciding anything. Methods that change state check the
 * caller and their arguments, then call the daemon's layers given in
 * BusDeps (history, ownership, actions, the reload callback); the bus only
 * translates. It knows nothing of the object that owns it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "common/event.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/config.h"
#include "daemon/function.h"

typedef struct Bus Bus;
struct Registry;
struct Ownership;
struct History;
struct Actions;
struct AdapterEvents;
struct Policy;

/* What the bus publishes and whom it asks: the daemon's objects, given by
 * whoever creates the bus. The subsystems may be NULL (their methods then
 * answer NotSupported, their properties are empty). */
typedef struct BusDeps {
	struct event_base *event_base;        /* required */
	Log *log;                             /* required */
	struct Registry *registry;            /* the functions (objects, ListFunctions) */
	struct Ownership *ownership;          /* Claim, Release, Delegate */
	struct History *history;              /* GetEvents, GetEventSummary */
	struct Actions *actions;              /* Reset, Unbind, Report; the inhibitors */
	struct AdapterEvents *adapter_events; /* ListAdapters */
	/* Replaced by a reload: read through the owner's pointers, which must
	 * outlive the bus. *config is required; the others may be NULL. */
	Config *const *config;
	struct Policy *const *policy;
	const uint64_t *loop_stall_max_usec;
	/* Reload(): re-read the configuration, 0 or -errno (keeping the running
	 * one). NULL: Reload answers NotSupported. */
	int (*reload)(void *userdata);
	/* The connection to the bus broke (-errno): the API is gone. NULL: the
	 * bus says so in the log and the daemon goes on without it. */
	void (*lost)(void *userdata, int error);
	void *userdata;
} BusDeps;

/* Connect to the system bus, publish the objects and take the name
 * org.zpcid1, attached to @deps' event base. @deps is copied. Returns 0 or
 * -errno (-EEXIST when another process owns the name). */
int bus_new(Bus **ret, const BusDeps *deps);

/* Flush and close. Accepts NULL, returns NULL. */
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

/* Emit the signal for @e on the Manager object — ErrorReported (kinds
 * error, dropped, summary), RecoveryReported (kind recovery), ActionTaken
 * (kind action), Alert (action "alert") or AdapterEvent (kind adapter,
 * with the PCHID, port and FIDs as arguments of their own) — with the whole record as a{sv},
 * and mark @f's properties changed. @f may be NULL for daemon-wide events; @b may be NULL
 * (no bus: nothing happens). Returns 0 or -errno. */
int bus_emit_event(Bus *b, const ZpciFunction *f, const ZpciEvent *e);

/* Registry hooks: a function appeared (InterfacesAdded), changed
 * (PropertiesChanged, batched) or is going away (InterfacesRemoved, sent
 * before this returns, so @f may be freed afterwards). @b may be NULL. */
void bus_function_added(Bus *b, ZpciFunction *f);
void bus_function_changed(Bus *b, ZpciFunction *f);
void bus_function_removed(Bus *b, ZpciFunction *f);

/* The Manager object's properties changed (policy reloaded, budget, ...): emit
 * PropertiesChanged in this loop iteration. @b may be NULL. */
void bus_manager_changed(Bus *b);

/* The connection to the system bus, for calls of other modules to other
 * services, or NULL when there is none or it broke. Those modules get it
 * from their creator (the machine resolver through accessors that
 * manager.c gives it), not from here.
 * After queuing a message on it, call bus_kick() so the loop sends it. */
struct sd_bus *bus_connection(Bus *b);
void bus_kick(Bus *b);
