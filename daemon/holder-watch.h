/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * holder-watch: notices when a process opens or closes a function's vfio
 * device, without polling. Each watched function's vfio nodes (the group
 * node <dev_root>/vfio/<group> and, where there is one, the cdev
 * <dev_root>/vfio/devices/vfioN) are watched with inotify for IN_OPEN,
 * IN_CLOSE_WRITE and IN_CLOSE_NOWRITE, which the kernel reports for device
 * node inodes as for files (and for a test bed's stand-in nodes, which are
 * files). A burst of opens and closes of one function becomes one call of
 * the callback, @delay_usec after the first of them: one timer for all
 * functions, armed only while something is pending, so an idle daemon has
 * no timer and no wake-up.
 *
 * inotify does not say who opened a node: zpcid's own opens (taking a
 * device into own mode) are reported too and cost one holder scan that
 * finds nothing new. A function whose device zpcid holds (f->vfio) is not
 * watched. A holder that receives the fd from another process (passed over
 * a socket) opens nothing: such a change is seen at the next open or close
 * of the node, uevent or reload.
 *
 * The registry attachment (holder_watch_attach()) watches every function
 * the registry announces and, by default, rescans the holder of a function
 * whose nodes were opened or closed (registry_refresh_holder()), which
 * updates it and announces the change like any other.
 */

#include <stdint.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/function.h"
#include "daemon/registry.h"

typedef struct HolderWatch HolderWatch;
struct event_base;

#define HOLDER_WATCH_DELAY_USEC (100 * 1000)

/* Some process opened or closed a node of @f (once per burst). */
typedef void (*HolderWatchCallback)(HolderWatch *w, ZpciFunction *f, void *userdata);

typedef struct HolderWatchOptions {
	Log *log;                      /* required */
	struct event_base *event_base; /* required */
	const char *dev_root;          /* where the vfio nodes are; NULL: "/dev" */
	uint64_t delay_usec;           /* 0: HOLDER_WATCH_DELAY_USEC */
	HolderWatchCallback callback;  /* NULL: registry_refresh_holder() of the attached registry */
	void *userdata;
} HolderWatchOptions;

/* Create a watch (its inotify instance on the event base). Returns 0,
 * -EINVAL, -ENOMEM or the -errno of inotify_init1(). */
int holder_watch_new(HolderWatch **ret, const HolderWatchOptions *options);

/* Stop watching (unsubscribes from the registry). Accepts NULL, returns NULL. */
HolderWatch *holder_watch_free(HolderWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(HolderWatch *, holder_watch_free);

/* Bring the watch of @f in line with its binding: watch its vfio nodes when
 * it is bound to vfio-pci, has nodes and zpcid holds no device of it; stop
 * watching otherwise. A node that cannot be watched (gone already) is
 * skipped. Returns the number of nodes watched, or -ENOMEM. */
int holder_watch_update(HolderWatch *w, ZpciFunction *f);

/* Stop watching @f and forget a pending call for it. */
void holder_watch_forget(HolderWatch *w, ZpciFunction *f);

/* Number of nodes watched (for tests and the status). */
size_t holder_watch_count(const HolderWatch *w);

/* Watch every function of @r now and whenever one is added or changed;
 * stop when one is removed. Returns 0 or -ENOMEM. */
int holder_watch_attach(HolderWatch *w, Registry *r);
