/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * device: what zpcictl's s390-tools compatible options do without the
 * daemon — find the PCI function a DEVICE argument names (a PCI address or
 * an NVMe device node) and act on it through sysfs: the report_error record
 * and the "recover" attribute.
 *
 * Every path is below a sysfs root given by the caller ("/sys" normally,
 * a temporary tree in tests). Nothing here talks to D-Bus or logs.
 */

#include <stddef.h>
#include <stdint.h>

#include "common/report-error.h"

/* Resolve @device to the function's PCI address in @slot (size @size):
 * "0001:00:00.0" is taken as it is; "/dev/nvme0" (or "nvme0") is looked up
 * as <root>/class/nvme/nvme0/device. The function must exist and be a zPCI
 * function (have "function_id"). Returns 0, -ENOENT (no such device),
 * -ENODEV (not a zPCI function) or -EINVAL (unusable name). */
int device_resolve(const char *sysfs_root, const char *device, char *slot, size_t size);

/* Read "function_id" of @slot into *@ret. Returns 0 or -errno. */
int device_read_fid(const char *sysfs_root, const char *slot, uint32_t *ret);

/* Write "1" to <root>/bus/pci/devices/<slot>/recover. Returns 0 or -errno. */
int device_recover(const char *sysfs_root, const char *slot);
