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
 * as <root>/class/nvme/nvme0/device; "0x22" (a FID, hexadecimal with 0x) is
 * the function whose function_id it is. The function must exist and be a
 * zPCI function (have "function_id"). Returns 0, -ENOENT (no such device),
 * -ENODEV (not a zPCI function) or -EINVAL (unusable name). */
int device_resolve(const char *sysfs_root, const char *device, char *slot, size_t size);

/* Read "function_id" of @slot into *@ret. Returns 0 or -errno. */
int device_read_fid(const char *sysfs_root, const char *slot, uint32_t *ret);

/* Write "1" to <root>/bus/pci/devices/<slot>/recover. Returns 0 or -errno. */
int device_recover(const char *sysfs_root, const char *slot);

/* err_log_id of the records s390-tools' zpcictl writes (and so zpcictl's). */
#define DEVICE_ERR_LOG_ID 0x4713

/* PCI class of an NVMe controller (the "class" attribute). */
#define DEVICE_PCI_CLASS_NVME 0x010802

/* Whether @slot is an NVMe controller (class 0x010802): 1, 0, or -errno. */
int device_is_nvme(const char *sysfs_root, const char *slot);

/* The device node of the NVMe controller @slot ("/dev/nvme0", from
 * <root>/bus/pci/devices/<slot>/nvme/nvme*) in @node. Returns 0 or -ENOENT. */
int device_nvme_node(const char *sysfs_root, const char *slot, char *node, size_t size);

/* The output of "@smartctl -x @node" (stderr discarded), NUL-terminated, in
 * *@ret (free()). Returns its length, or -ENOENT when @smartctl cannot be
 * run, or another -errno (it exited non-zero and printed nothing...). */
int device_smart_data(const char *smartctl, const char *node, char **ret);

/* Write a report_error record as s390-tools' zpcictl does: the whole
 * record (REPORT_ERROR_RECORD_MAX bytes, log_data padded with zero bytes)
 * in one write, length = 16 + @len. Returns 0, -EOPNOTSUPP (no error
 * notification on this platform), -ENOENT or another -errno. */
int device_report_error(const char *sysfs_root, const char *slot, ReportErrorAction action,
			uint64_t timestamp, uint64_t err_log_id, const void *data, size_t len);
