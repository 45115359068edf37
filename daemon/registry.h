/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * registry: every zPCI function of the host, kept current — the inventory.
 *
 * It listens to udev (subsystem pci) before it enumerates, so no function
 * slips between the two. Each add, bind, unbind, change and remove re-reads
 * the function from sysfs (the driver link every time: bind/unbind uevents
 * are not reliable), looks up who holds a vfio-bound function, and logs
 * what changed.
 *
 * Identity is the FID (lookups by UID only where the platform says the UID
 * is unique), never the PCI address. Lookups by FID are a binary search,
 * by slot and UID a hash: no event costs work proportional to the number of
 * functions (adding or removing one moves pointers in one array).
 *
 * What others make of it stays with them: subscribers hear of added,
 * changed and removed functions after the fact; hooks (RegistryHooks) let
 * the rooms above act at fixed points in the middle of a change — the
 * ownership decides the mode once the binding is read (daemon/ownership.h),
 * the recovery uevents become events (daemon/recovery-uevent.h). The
 * registry itself opens no device and includes none of those rooms.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/function.h"

typedef struct Registry Registry;
struct event_base;
struct udev_device;

typedef enum RegistryChange {
	REGISTRY_FUNCTION_ADDED,
	REGISTRY_FUNCTION_CHANGED, /* attributes, handle, binding, holder, mode */
	REGISTRY_FUNCTION_REMOVED, /* called before the registry drops its reference */
} RegistryChange;

/* A subscriber. @f stays valid for the call; take a reference to keep it. */
typedef void (*RegistryCallback)(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata);

/* What the rooms above do at fixed points of the registry's work. Each set
 * of hooks runs in the order it was added; any member may be NULL. Unlike
 * subscribers they run in the middle of a change, before it is logged and
 * announced. */
typedef struct RegistryHooks {
	/* The binding of @f (driver, vfio nodes, holder) was just read again:
	 * bring its mode in line. Returns true when the mode changed. */
	bool (*binding_read)(void *userdata, ZpciFunction *f);
	/* @f lost the driver it was bound to. */
	void (*unbound)(void *userdata, ZpciFunction *f);
	/* @f is about to be dropped: @gone when it went away while zpcid runs,
	 * false when the registry is freed or @f was never announced. */
	void (*dropping)(void *userdata, ZpciFunction *f, bool gone);
	/* The uevent @action (@d) of the known function @f was processed. */
	void (*uevent)(void *userdata, ZpciFunction *f, const char *action, struct udev_device *d);
	/* The uevents that were waiting have all been processed. */
	void (*settled)(void *userdata);
} RegistryHooks;

/* Where the registry reads and reports. */
typedef struct RegistryOptions {
	Log *log;                       /* required */
	struct event_base *event_base;  /* required by registry_start() */
	const FunctionContext *context; /* the functions' f->context (may be NULL) */
	const char *proc_root;          /* NULL: "/proc" */
	const char *dev_root;           /* where the vfio nodes are; NULL: "/dev" */
} RegistryOptions;

/* Create an empty registry. Nothing is read yet. Returns 0, -EINVAL (no
 * log) or -ENOMEM. */
int registry_new(Registry **ret, const RegistryOptions *options);

/* Add the hooks @hooks (kept by pointer: static storage) with @userdata.
 * Returns 0 or -ENOMEM. */
int registry_add_hooks(Registry *r, const RegistryHooks *hooks, void *userdata);

/* Remove hooks added with the same @hooks and @userdata. Returns 0 or -ENOENT. */
int registry_remove_hooks(Registry *r, const RegistryHooks *hooks, void *userdata);

/* Start the udev monitor, then enumerate every PCI device and add the zPCI
 * functions. Returns 0 or -errno (no monitor could be set up). */
int registry_start(Registry *r);

/* Enumerate the PCI bus again, as after lost uevents (the monitor's
 * receive buffer overflowed, ENOBUFS): functions found are read again
 * and added or updated as a uevent would have, functions no longer there
 * are removed, each announced to the subscribers. Returns 0 or -errno. */
int registry_resync(Registry *r);

/* Drop every function (the hooks' dropping() is called, subscribers are
 * not) and free. Accepts NULL, returns NULL. */
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

/* Re-read @f's binding and holder from sysfs and procfs now, and act on a
 * change (log, hooks, subscribers). Returns 0, -ENOENT when it has gone, or
 * another -errno. */
int registry_refresh(Registry *r, ZpciFunction *f);

/* Scan procfs for @f's holder now, as when its vfio nodes were opened or
 * closed (daemon/holder-watch.h), leaving its binding and mode alone: a
 * new holder is logged and announced to the subscribers. Returns 1 when
 * the holder changed, 0 when not, -ENOENT when @f is no longer known. */
int registry_refresh_holder(Registry *r, ZpciFunction *f);

/* Make @f's holder current right before its device is opened: during the
 * start-up enumeration the holders come from one procfs scan made before,
 * so scan again; otherwise they were read with the binding just now.
 * Returns the holder's pid, or 0 when nobody holds it. */
pid_t registry_recheck_holder(Registry *r, ZpciFunction *f);

/* Tell subscribers that @f changed (for modules that change a function's
 * state, e.g. its mode). Subscribers that end a subscription meanwhile are
 * not called afterwards; those that start one hear of the next change. */
void registry_notify(Registry *r, RegistryChange change, ZpciFunction *f);
