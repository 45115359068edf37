/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * registry: every zPCI function of the host, kept current.
 *
 * It listens to udev (subsystem pci) before it enumerates, so no function
 * slips between the two. Each add, bind, unbind, change and remove re-reads
 * the function from sysfs (the driver link every time: bind/unbind uevents
 * are not reliable), looks up who holds a vfio-bound function, lets the
 * ownership mode be chosen, and logs what changed. Change uevents carrying
 * ERROR_EVENT (the kernel's recovery progress) become recovery events for
 * the pipeline.
 *
 * Identity is the FID (lookups by UID only where the platform says the UID
 * is unique), never the PCI address. Lookups by FID are a binary search,
 * by slot and UID a hash: no event costs work proportional to the number of
 * functions (adding or removing one moves pointers in one array).
 *
 * Others learn about changes through subscriptions; the registry never calls
 * into the D-Bus layer by itself. It does not open any device except through
 * function_vfio_claim() for functions in own mode.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "common/macro.h"
#include "daemon/function.h"

typedef struct Manager Manager;
typedef struct Registry Registry;

typedef enum RegistryChange {
	REGISTRY_FUNCTION_ADDED,
	REGISTRY_FUNCTION_CHANGED, /* attributes, handle, binding, holder, mode */
	REGISTRY_FUNCTION_REMOVED, /* called before the registry drops its reference */
} RegistryChange;

/* A subscriber. @f stays valid for the call; take a reference to keep it. */
typedef void (*RegistryCallback)(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata);

/* Where the registry reads; NULL members take the defaults. */
typedef struct RegistryOptions {
	const char *proc_root; /* "/proc" */
} RegistryOptions;

/* Create an empty registry for @m. Nothing is read yet. Returns 0 or -ENOMEM. */
int registry_new(Registry **ret, Manager *m, const RegistryOptions *options);

/* Start the udev monitor, then enumerate every PCI device and add the zPCI
 * functions. Returns 0 or -errno (no monitor could be set up). */
int registry_start(Registry *r);

/* Enumerate the PCI bus again, as after lost uevents (the monitor's
 * receive buffer overflowed, ENOBUFS): functions found are read again
 * and added or updated as a uevent would have, functions no longer there
 * are removed, each announced to the subscribers. Returns 0 or -errno. */
int registry_resync(Registry *r);

/* Release functions held in own mode, drop every function (subscribers are
 * not called) and free. Accepts NULL, returns NULL. */
Registry *registry_free(Registry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Registry *, registry_free);

/* The function with FID @fid, or NULL. */
ZpciFunction *registry_get_by_fid(Registry *r, uint32_t fid);

/* The function with UID @uid where the platform reports UIDs unique, or NULL. */
ZpciFunction *registry_get_by_uid(Registry *r, uint32_t uid);

/* The function at PCI address @slot ("0001:00:00.0"), or NULL. */
ZpciFunction *registry_get_by_slot(Registry *r, const char *slot);

/* Number of functions. */
size_t registry_count(const Registry *r);

/* Look up @f's vendor and device names in the PCI ID database unless they
 * are known already (the database is loaded on the first lookup). */
void registry_function_names(Registry *r, ZpciFunction *f);

/* Function @i in FID order (0 <= @i < registry_count()), or NULL. */
ZpciFunction *registry_get_nth(const Registry *r, size_t i);

/* Iterate in FID order; the body must not add or remove functions. */
#define REGISTRY_FOREACH(f, r) for (size_t _rf_i = 0; ((f) = registry_get_nth((r), _rf_i)); _rf_i++)

/* Subscribe @cb with @userdata to changes. Returns 0 or -ENOMEM. */
int registry_subscribe(Registry *r, RegistryCallback cb, void *userdata);

/* Remove a subscription made with the same @cb and @userdata. Returns 0 or -ENOENT. */
int registry_unsubscribe(Registry *r, RegistryCallback cb, void *userdata);

/* The ownership mode the policy chooses for @f (observe until a policy is in place). */
FunctionMode registry_choose_mode(Registry *r, ZpciFunction *f);

/* Re-read @f's binding and holder from sysfs and procfs now, and act on a
 * change (log, claim or release). Returns 0, -ENOENT when it has gone, or
 * another -errno. */
int registry_refresh(Registry *r, ZpciFunction *f);

/* Claim(): hold @f's vfio device (own mode) whatever the policy says, until
 * registry_release(), until @claimer (a unique name on @bus; both may be
 * NULL: no such limit) leaves the bus, or until @f goes away; change uevents
 * and reloads keep it. Returns 0, -EALREADY (zpcid holds it already),
 * -EBUSY (another process holds it), -ENOTTY (no zPCI error feature) or
 * another -errno. */
int registry_claim(Registry *r, ZpciFunction *f, sd_bus *bus, const char *claimer);

/* Release(): end the claim of @f and let the policy decide its mode again
 * (which may hold it again). Returns 0, or -ENOENT when it was not held. */
int registry_release(Registry *r, ZpciFunction *f);

/* Tell subscribers that @f changed (for modules that change a function's
 * state, e.g. its mode). */
void registry_notify(Registry *r, RegistryChange change, ZpciFunction *f);
