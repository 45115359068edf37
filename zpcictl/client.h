/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * client: zpcictl's side of the org.zpcid1 D-Bus API — connecting to the
 * daemon, reading replies into JSON records whose keys are those of the
 * JSON output (event records keep the keys of common/event.h; function
 * properties become snake_case keys), and mapping D-Bus errors to exit
 * codes.
 *
 * It does not print anything: zpcictl.c decides what a command shows.
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "common/bus-names.h"

/* zpcictl's exit codes. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_NOTHING = 2,
	EXIT_NOT_FOUND = 3,
};

/* Connect to the system bus ($DBUS_SYSTEM_BUS_ADDRESS wins) and check that
 * zpcid runs. Returns 0, -ESRCH when nobody owns org.zpcid1, or the -errno
 * of the connection. */
int client_connect(sd_bus **ret);

/* Connect to the system bus without asking for zpcid (for the commands that
 * wait for it). Returns 0 or -errno. */
int client_open(sd_bus **ret);

/* Whether somebody owns org.zpcid1: 1, 0, or -errno. */
int client_daemon_running(sd_bus *bus);

/* Read the next complete value of @m (any type) as JSON: integers as
 * numbers, booleans, strings, object paths as strings, a{sv}/a{s*} as
 * objects, other arrays and structs as arrays. Returns 0 or -errno. */
int client_read_json(sd_bus_message *m, json_object **ret);

/* Every function: an array of records with every property (snake_case keys)
 * and "object" (the object path), in FID order. Returns 0 or -errno with
 * @error set. */
int client_get_functions(sd_bus *bus, json_object **ret, sd_bus_error *error);

/* Find the record in @functions that @spec names: a PCI address, a FID
 * ("0x1f" or decimal), or "uid:<n>" (only for unique UIDs). A plain number
 * that is not a FID is tried as a unique UID. Returns the record (borrowed)
 * or NULL. */
json_object *client_find_function(json_object *functions, const char *spec);

/* Whether @spec has the form of a function name that client_find_function()
 * understands (a PCI address "dddd:bb:dd.f", a number, "uid:<number>"),
 * whether or not such a function exists. */
bool client_function_spec_valid(const char *spec);

/* What the user needs when the bus refused a call
 * (org.freedesktop.DBus.Error.AccessDenied from the bus policy): a sentence
 * naming the privilege, or NULL for any other error. */
const char *client_error_hint(const sd_bus_error *error);

/* Exit code for a D-Bus error: 3 for org.zpcid1.Error.NoSuchFunction and
 * unknown objects, 1 otherwise. */
int client_exit_code(const sd_bus_error *error);
