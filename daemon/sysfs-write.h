/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sysfs-write: the writes to a PCI function's sysfs attributes that change
 * something — "recover" (the kernel's recovery of a zPCI function), and the
 * unbind of its driver with "driver_override" set first so that nothing
 * binds it again behind zpcid's back. The report_error record is written by
 * common/report-error.h.
 *
 * Every path is <sysfs_root>/bus/pci/devices/<slot>/...; @sysfs_root NULL
 * means "/sys" (tests pass a temporary tree). These calls block (the kernel
 * may take seconds to recover a function): the action runner calls them off
 * the event loop. They do not log.
 */

#include <stddef.h>

/* The driver_override value that no driver matches. */
#define SYSFS_OVERRIDE_NONE "none"

/* Whether @slot is a plain PCI address usable in a path ("dddd:bb:dd.f",
 * hex digits, no '/'). Returns 1 or 0. */
int sysfs_slot_is_valid(const char *slot);

/* Write "1" to the function's "recover". Returns 0, -EINVAL (bad slot),
 * -ENOENT (no such function or attribute), or the -errno of the write. */
int sysfs_write_recover(const char *sysfs_root, const char *slot);

/*
 * Set "driver_override" to @override (NULL: SYSFS_OVERRIDE_NONE), then write
 * @slot to "driver/unbind" of the driver bound now. When @expected_driver is
 * not NULL, a function bound to another driver is left alone: -EBUSY. A
 * function bound to no driver only gets the override (returns 0).
 * Returns 0, -EINVAL, -ENOENT, -EBUSY, or the -errno of a write.
 */
int sysfs_unbind(const char *sysfs_root, const char *slot, const char *expected_driver,
		 const char *override);

/* Read the name of the driver @slot is bound to into @buf ("" when unbound).
 * Returns 0, -EINVAL, -ENOENT (no such function), -ENAMETOOLONG, or -errno. */
int sysfs_read_driver(const char *sysfs_root, const char *slot, char *buf, size_t size);
