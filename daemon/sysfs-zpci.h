/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sysfs-zpci: reads what sysfs says about one PCI function — its zPCI
 * attributes, PCI ids, driver binding, IOMMU group and vfio cdev.
 *
 * Every attribute is parsed in the exact format the kernel writes
 * ("0x%08x" function_id and function_handle, "0x%04x" pchid and vfn,
 * "0x%02x" pfgid, pft and fidparm, decimal port, "0x%x" uid, 0/1
 * uid_is_unique and mio_enabled, "0x%04x"/"0x%06x" PCI ids and class): a
 * "0x" prefix where the kernel writes one, digits only, one optional
 * trailing newline, and a value that fits the field. Attributes older
 * kernels lack are simply absent (their ZPCI_ATTR_HAS_ bit stays clear); a
 * malformed value is left out as well and reported back as a problem.
 *
 * This module never logs and never opens a device node: it only reads
 * sysfs, below a directory the caller names (so tests use temp trees).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/function.h"

/* Longest attribute value read; anything longer is malformed. */
#define SYSFS_ZPCI_VALUE_MAX 64

/* One attribute that was present but could not be used. */
typedef struct SysfsZpciProblem {
	const char *attr; /* static attribute name */
	int error; /* -EBADMSG malformed, -ERANGE overflow, -EFBIG too long, other -errno: read failed */
	char value[24]; /* start of the offending text, non-printables as '?' */
} SysfsZpciProblem;

#define SYSFS_ZPCI_PROBLEMS_MAX 16
typedef struct SysfsZpciProblems {
	SysfsZpciProblem p[SYSFS_ZPCI_PROBLEMS_MAX];
	size_t n;
} SysfsZpciProblems;

/* The binding of a function. */
typedef struct SysfsBinding {
	char driver[FUNCTION_DRIVER_MAX]; /* "" when no driver is bound */
	int iommu_group;                  /* -1 when none */
	char vfio_cdev[32];               /* "vfio3" when vfio-pci exposes a cdev, else "" */
} SysfsBinding;

/* Parse "0x<hex>" with an optional trailing newline into a value <= @max.
 * Returns 0, -EBADMSG (empty, no "0x", a non-hex digit, trailing text) or
 * -ERANGE (above @max). */
int sysfs_parse_hex(const char *text, uint64_t max, uint64_t *ret);

/* Parse a decimal number with an optional trailing newline into a value <=
 * @max. Returns 0, -EBADMSG or -ERANGE. */
int sysfs_parse_dec(const char *text, uint64_t max, uint64_t *ret);

/* Parse "0" or "1" with an optional trailing newline. Returns 0 or -EBADMSG. */
int sysfs_parse_bool(const char *text, bool *ret);

/* Read attribute @name of the directory @dirfd into @buf (NUL-terminated,
 * at most SYSFS_ZPCI_VALUE_MAX bytes of text; the buffer has room for one
 * more byte, which tells a too long value). Returns 0, -ENOENT when
 * absent, -EFBIG when longer, or another -errno. */
int sysfs_read_attr(int dirfd, const char *name, char buf[static SYSFS_ZPCI_VALUE_MAX + 2]);

/* Open the directory of PCI function @slot below @sysfs_root (e.g. "/sys"):
 * ROOT/bus/pci/devices/SLOT. Returns an O_DIRECTORY fd or -errno. */
int sysfs_zpci_open(const char *sysfs_root, const char *slot);

/* Open a device directory by its absolute sysfs path (what libudev calls the
 * syspath). Returns an O_DIRECTORY fd or -errno. */
int sysfs_zpci_open_syspath(const char *syspath);

/*
 * Read the attributes of the function whose directory is @dirfd into @ret;
 * @slot is stored as its PCI address. Problems with individual attributes
 * are appended to @problems (may be NULL).
 * Returns 0 for a zPCI function, 1 for a PCI device that is not one (no
 * function_id), -ENOENT/-ENODEV when the device has gone, -EBADMSG when
 * function_id itself is malformed, or another -errno.
 */
int sysfs_zpci_read_attrs(int dirfd, const char *slot, ZpciAttrs *ret, SysfsZpciProblems *problems);

/* Read the driver link, the iommu_group link and the vfio-dev/ cdev name of
 * the device @dirfd. Returns 0 or -errno (-ENOENT/-ENODEV: the device has gone). */
int sysfs_zpci_read_binding(int dirfd, SysfsBinding *ret);
