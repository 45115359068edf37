/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * bus-names: the names of zpcid's D-Bus API (docs/dbus-api.md,
 * dbus/org.zpcid1.*.xml), shared by the daemon and zpcictl: the service,
 * its object paths, interfaces and error names.
 */

#define BUS_NAME               "org.zpcid1"
#define BUS_PATH               "/org/zpcid1"
#define BUS_FUNCTION_PREFIX    "/org/zpcid1/function" /* + "/%08x" of the FID */
#define BUS_MANAGER_INTERFACE  "org.zpcid1.Manager"
#define BUS_FUNCTION_INTERFACE "org.zpcid1.Function"

#define BUS_ERROR_NO_SUCH_FUNCTION  "org.zpcid1.Error.NoSuchFunction"
#define BUS_ERROR_INVALID_ARGUMENT  "org.zpcid1.Error.InvalidArgument"
#define BUS_ERROR_ACCESS_DENIED     "org.zpcid1.Error.AccessDenied"
#define BUS_ERROR_BUSY              "org.zpcid1.Error.Busy"
#define BUS_ERROR_NOT_SUPPORTED     "org.zpcid1.Error.NotSupported"
#define BUS_ERROR_INHIBITED         "org.zpcid1.Error.Inhibited"
#define BUS_ERROR_FAILED            "org.zpcid1.Error.Failed"
#define BUS_ERROR_LIMIT_EXCEEDED    "org.zpcid1.Error.LimitExceeded"
#define BUS_ERROR_NOT_BOUND_TO_VFIO "org.zpcid1.Error.NotBoundToVfio"
