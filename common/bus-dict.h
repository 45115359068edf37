/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Building the a{sv} dictionaries of the D-Bus API (options a client sends,
 * the records and summaries zpcid returns), for the daemon and zpcictl. */

#include <systemd/sd-bus.h>

/* Append one "{sv}" entry to the open a{sv} of @m: @key, then a variant of
 * signature @sig holding the value(s) that follow, as for
 * sd_bus_message_append(). Returns 0 or a negative errno. */
int bus_dict_append(sd_bus_message *m, const char *key, const char *sig, ...);
