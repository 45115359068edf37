/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bus-util: what every object of zpcid's D-Bus API needs — the error names,
 * the in-daemon access check on the sender's credentials, and the a{sv}
 * form of an event record (the same keys as the JSON output, from the key
 * table of common/event.h).
 *
 * The access check is the daemon's own gate; the bus policy file
 * (dbus/org.zpcid1.conf) is a second, independent one. Neither replaces
 * the other.
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "common/event.h"

#define BUS_NAME               "org.zpcid1"
#define BUS_PATH               "/org/zpcid1"
#define BUS_FUNCTION_PREFIX    "/org/zpcid1/function"
#define BUS_MANAGER_INTERFACE  "org.zpcid1.Manager"
#define BUS_FUNCTION_INTERFACE "org.zpcid1.Function"

#define BUS_ERROR_NO_SUCH_FUNCTION "org.zpcid1.Error.NoSuchFunction"
#define BUS_ERROR_INVALID_ARGUMENT "org.zpcid1.Error.InvalidArgument"
#define BUS_ERROR_ACCESS_DENIED    "org.zpcid1.Error.AccessDenied"
#define BUS_ERROR_BUSY             "org.zpcid1.Error.Busy"
#define BUS_ERROR_NOT_SUPPORTED    "org.zpcid1.Error.NotSupported"
#define BUS_ERROR_INHIBITED        "org.zpcid1.Error.Inhibited"
#define BUS_ERROR_FAILED           "org.zpcid1.Error.Failed"
#define BUS_ERROR_LIMIT_EXCEEDED   "org.zpcid1.Error.LimitExceeded"

/* Upper bounds of what a caller may send. */
#define BUS_STRING_MAX       4096  /* bytes of any string argument */
#define BUS_EVENTS_LIMIT_MAX 10000 /* events per GetEvents call */
#define BUS_INHIBITORS_MAX   64    /* inhibitors held at once */

/*
 * Whether the sender of @message may change state: its uid (as the bus
 * daemon saw it when it connected, i.e. its effective uid) is 0, or
 * @admin_group (may be NULL: root only) is its primary group or one of its
 * supplementary groups. Returns 0 when allowed, or a negative errno with
 * @error set to BUS_ERROR_ACCESS_DENIED (or the failure to get credentials).
 */
int bus_check_admin(sd_bus_message *message, const char *admin_group, sd_bus_error *error);

/* Append @e to @m as a{sv} with the keys of the event key table; fields
 * that are not set are absent. Returns 0 or -errno. */
int bus_append_event(sd_bus_message *m, const ZpciEvent *e);

/* Validate a string argument: at most BUS_STRING_MAX bytes and valid UTF-8
 * (sd-bus guarantees the latter). Returns 0, or -EINVAL with @error set. */
int bus_check_string(const char *s, const char *what, sd_bus_error *error);

/* Set @error from a -errno of a lower layer with a suitable org.zpcid1.Error
 * name and @what as the message prefix. Returns @r. */
int bus_error_from_errno(sd_bus_error *error, int r, const char *what);

/* Realtime now in µs. */
uint64_t bus_now_usec(void);
