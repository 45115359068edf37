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
#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "common/bus-names.h"
#include "common/event.h"

/* Upper bounds of what a caller may send. */
#define BUS_STRING_MAX       4096         /* bytes of any string argument */
#define BUS_EVENTS_LIMIT_MAX 10000        /* events per GetEvents call */
#define BUS_OPTIONS_MAX      16           /* entries of an a{sv} options argument */
#define BUS_POLICY_TEXT_MAX  (256 * 1024) /* bytes of a configuration text to check */

/* One option an acting method accepts in its a{sv} argument: @key, the
 * D-Bus type of its value (one basic type: s, b, u or t) and where the value
 * goes (const char **, int *, uint32_t * or uint64_t *); @present (may be
 * NULL) is set when the caller gave it. A table ends with a NULL key. */
typedef struct BusOption {
	const char *key;
	char type;
	void *value;
	bool *present;
} BusOption;

/*
 * Whether the sender of @message may change state: its uid (as the bus
 * daemon saw it when it connected, i.e. its effective uid) is 0, or
 * @admin_group (may be NULL: root only) is its primary group or one of its
 * supplementary groups. Returns 0 when allowed, or a negative errno with
 * @error set to BUS_ERROR_ACCESS_DENIED (or the failure to get credentials).
 */
int bus_check_admin(sd_bus_message *message, const char *admin_group, sd_bus_error *error);

/* The uid of the sender of @message as the bus saw it (its effective uid
 * over a dbus-daemon connection). Returns 0 or -errno. */
int bus_sender_uid(sd_bus_message *message, uid_t *ret);

/* Append @e to @m as a{sv} with the keys of the event key table; fields
 * that are not set are absent. Returns 0 or -errno. */
int bus_append_event(sd_bus_message *m, const ZpciEvent *e);

/* Validate a string argument: at most BUS_STRING_MAX bytes and valid UTF-8
 * (sd-bus guarantees the latter). Returns 0, or -EINVAL with @error set. */
int bus_check_string(const char *s, const char *what, sd_bus_error *error);

/*
 * Read the a{sv} options argument of @m against @table (may be NULL: no
 * option is known yet). An unknown key, a key given twice, a value of the
 * wrong type, more than BUS_OPTIONS_MAX entries or a string longer than
 * BUS_STRING_MAX is refused with org.freedesktop.DBus.Error.InvalidArgs, so
 * a client written against a later API level learns that this daemon does
 * not know the option instead of having it ignored. Call it before anything
 * with a side effect. Returns 0, or a negative errno with @error set.
 */
int bus_read_options(sd_bus_message *m, const BusOption *table, sd_bus_error *error);

/* Set @error from a -errno of a lower layer with a suitable org.zpcid1.Error
 * name and @what as the message prefix. Returns @r. */
int bus_error_from_errno(sd_bus_error *error, int r, const char *what);
