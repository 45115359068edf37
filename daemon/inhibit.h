/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * inhibit: holds that keep zpcid from disruptive actions for a while, e.g.
 * while an operator works on a function or a VMM migrates a guest.
 *
 * An inhibitor names who took it, why, and what it covers: a comma list of
 * disruptive action names ("reset", "unbind", "report") or "all". While one
 * covering an action is held, the action runner does not run that action: it
 * records it as postponed and runs it when the last inhibitor is released
 * (actions.h). Informational work (log, alert, informational reports) is
 * never inhibited.
 *
 * This module is the bookkeeping, and the only record of an inhibitor; the
 * D-Bus method and the guard whose closing releases an inhibitor when its
 * D-Bus client goes away live with the bus (bus-manager.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/macro.h"

typedef struct Inhibitors Inhibitors;

/* The actions an inhibitor can cover. */
enum {
	INHIBIT_RESET = 1 << 0,
	INHIBIT_UNBIND = 1 << 1,
	INHIBIT_REPORT = 1 << 2, /* reports asking for a firmware reset or deconfigure */
	INHIBIT_ALL = INHIBIT_RESET | INHIBIT_UNBIND | INHIBIT_REPORT,
};

#define INHIBIT_MAX 64

/* The one record of an inhibitor: the D-Bus Inhibitors property, the
 * journal and the "postponed" results all read it from here. */
typedef struct Inhibitor {
	uint64_t handle;
	char *who;
	char *why;
	char *what_text;     /* @what as the caller wrote it, e.g. "unbind,reset" */
	unsigned what;       /* INHIBIT_* bits */
	uid_t uid;           /* of the caller, 0 when not known */
	pid_t pid;           /* of the caller, 0 when not known */
	uint64_t since_usec; /* CLOCK_REALTIME */
} Inhibitor;

/* Called when the last inhibitor covering anything was released. */
typedef void (*inhibit_released_fn)(Inhibitors *i, void *userdata);

/* Create an empty set; @released (may be NULL) runs when the last one goes.
 * Returns 0 or -ENOMEM. */
int inhibitors_new(Inhibitors **ret, inhibit_released_fn released, void *userdata);

/* Free. Accepts NULL, returns NULL. */
Inhibitors *inhibitors_free(Inhibitors *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(Inhibitors *, inhibitors_free);

/* Parse "reset,unbind", "all", ... into INHIBIT_* bits. Returns the bits (> 0) or -EINVAL. */
int inhibit_what_from_string(const char *s);

/* Write the comma list of @what into @buf. Returns @buf. */
const char *inhibit_what_to_string(unsigned what, char *buf, size_t size);

/* Take an inhibitor. @who and @why are free text (control characters
 * rejected, @who not empty), @what as for inhibit_what_from_string(); @uid
 * and @pid name the caller (0: not known). Returns 0 and sets *@ret_handle
 * (never 0); -EINVAL for bad arguments, -EUSERS when INHIBIT_MAX are held,
 * -ENOMEM. */
int inhibit_acquire_as(Inhibitors *i, const char *who, const char *why, const char *what, uid_t uid,
		       pid_t pid, uint64_t *ret_handle);
/* The same for a caller not known. */
int inhibit_acquire(Inhibitors *i, const char *who, const char *why, const char *what, uint64_t *ret_handle);

/* Release by handle. Returns 0 or -ENOENT. The released callback runs
 * (synchronously, before this returns) when it was the last one. */
int inhibit_release(Inhibitors *i, uint64_t handle);

/* Bits of every action covered by some held inhibitor (0: nothing inhibited). */
unsigned inhibit_active(const Inhibitors *i);

/* Number of inhibitors held, and the @idx-th of them (NULL when out of range). */
size_t inhibit_count(const Inhibitors *i);
const Inhibitor *inhibit_get(const Inhibitors *i, size_t idx);
