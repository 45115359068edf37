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
 * This module is only the bookkeeping; the D-Bus methods and the release of
 * an inhibitor when its D-Bus client goes away live with the bus.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"

typedef struct Inhibitors Inhibitors;

/* The actions an inhibitor can cover. */
enum {
	INHIBIT_RESET = 1 << 0,
	INHIBIT_UNBIND = 1 << 1,
	INHIBIT_REPORT = 1 << 2, /* reports asking for a firmware reset or deconfigure */
	INHIBIT_ALL = INHIBIT_RESET | INHIBIT_UNBIND | INHIBIT_REPORT,
};

#define INHIBIT_TEXT_MAX 256
#define INHIBIT_MAX      64

typedef struct Inhibitor {
	uint64_t handle;
	char who[INHIBIT_TEXT_MAX];
	char why[INHIBIT_TEXT_MAX];
	unsigned what;       /* INHIBIT_* bits */
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

/* Take an inhibitor. @who and @why are free text (truncated to
 * INHIBIT_TEXT_MAX - 1, control characters rejected), @what as for
 * inhibit_what_from_string(). Returns 0 and sets *@ret_handle (never 0);
 * -EINVAL for bad arguments, -EUSERS when INHIBIT_MAX are held. */
int inhibit_acquire(Inhibitors *i, const char *who, const char *why, const char *what, uint64_t *ret_handle);

/* Release by handle. Returns 0 or -ENOENT. The released callback runs
 * (synchronously, before this returns) when it was the last one. */
int inhibit_release(Inhibitors *i, uint64_t handle);

/* Bits of every action covered by some held inhibitor (0: nothing inhibited). */
unsigned inhibit_active(const Inhibitors *i);

/* Number of inhibitors held, and the @idx-th of them (NULL when out of range). */
size_t inhibit_count(const Inhibitors *i);
const Inhibitor *inhibit_get(const Inhibitors *i, size_t idx);
