/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * ownership: whether zpcid holds a function's vfio device, and for whom.
 *
 * A function is observed (kernel log and uevents only), owned (zpcid holds
 * its vfio device and drains its error queue) or delegated (its owner, a
 * VMM, passed the device fd and gets the records on D-Bus). The mode follows
 * the policy's choice (a callback) each time the registry reads the binding
 * again, unless a hold says otherwise:
 *
 *  - a claim (Claim() on D-Bus) keeps a vfio-bound function owned across
 *    change uevents and reloads, until Release(), until the claimer leaves
 *    the bus, or until the function goes away;
 *  - a delegation lasts until Release(), until the owner leaves the bus (the
 *    device goes back), or until the kernel or the owner takes it back.
 *
 * A claimer or owner is watched with an sd_bus_track made before the device
 * is taken, so one that has already left is seen at once (the device is not
 * taken, or given back) rather than never. The registry reports, ownership
 * decides (it hooks into the registry); it opens devices only through the
 * OwnershipDevice it is given (the real one: daemon/vfio-function.h).
 */

#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/function.h"
#include "daemon/registry.h"

typedef struct Ownership Ownership;

/* The device side of a hold; each sets f->vfio and f->mode as
 * function_vfio_claim(), function_vfio_release() and
 * function_vfio_delegate() document (those are the default). */
typedef struct OwnershipDevice {
	int (*claim)(ZpciFunction *f);
	void (*release)(ZpciFunction *f);
	int (*delegate)(ZpciFunction *f, int fd);
} OwnershipDevice;

typedef struct OwnershipOptions {
	Log *log;           /* required */
	Registry *registry; /* required: decided in its hooks, notified of changes */
	/* The mode the policy wants for @f; NULL: observe. */
	FunctionMode (*choose_mode)(void *userdata, ZpciFunction *f);
	void *userdata;
	const OwnershipDevice *device; /* NULL: the vfio device (daemon/vfio-function.h) */
} OwnershipOptions;

/* Create the ownership controller and hook it into the registry (before
 * registry_start(), so the functions found at start-up get their mode).
 * Returns 0, -EINVAL or -ENOMEM. */
int ownership_new(Ownership **ret, const OwnershipOptions *options);

/* End every hold, release every device held, and unhook from the registry
 * (free it before the registry). Accepts NULL, returns NULL. */
Ownership *ownership_free(Ownership *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ownership *, ownership_free);

/* The mode the policy chooses for @f (observe without a policy). */
FunctionMode ownership_choose_mode(Ownership *o, ZpciFunction *f);

/* Whether @f is held by a claim. */
bool ownership_is_claimed(Ownership *o, const ZpciFunction *f);

/* Claim(): hold @f's vfio device (own mode) whatever the policy says, until
 * ownership_release(), until @claimer (a unique name on @bus; both may be
 * NULL: no such limit) leaves the bus, or until @f goes away; change uevents
 * and reloads keep it. Returns 0, -EALREADY (zpcid holds it already),
 * -EBUSY (another process holds it), -ENOTTY (no zPCI error feature),
 * -ESRCH (the claimer has already left the bus) or another -errno. */
int ownership_claim(Ownership *o, ZpciFunction *f, sd_bus *bus, const char *claimer);

/* Release(): end the claim or delegation of @f, give the device back and
 * let the policy decide its mode again (which may hold it again). Returns
 * 0, or -ENOENT when zpcid held no device of @f. */
int ownership_release(Ownership *o, ZpciFunction *f);

/* Delegate(): adopt the vfio device fd @fd that @owner (a unique name on
 * @bus; both may be NULL: no such limit) passed, until ownership_release(),
 * until @owner leaves the bus, or until the device is taken back. Takes
 * @fd in every case (closed on failure). @owner is watched before the fd is
 * adopted: one that has already left gets nothing. Returns 0, -ESRCH (the
 * owner has already left the bus), or what the device's delegate() returns
 * (-EINVAL, -ENXIO, -ENOTTY, -EALREADY...). */
int ownership_delegate(Ownership *o, ZpciFunction *f, int fd, sd_bus *bus, const char *owner);
