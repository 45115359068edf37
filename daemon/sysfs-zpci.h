/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sysfs-zpci: reads what sysfs says about one PCI function — its zPCI
 * attributes, PCI ids, driver binding, IOMMU group and vfio cdev.
 *
 * Only what zpcid uses is read, since every attribute costs a sysfs read
 * per function at start-up (not fidparm, mio_enabled, the subsystem ids or
 * the class). Every attribute is parsed in the exact format the kernel
 * writes ("0x%08x" function_id and function_handle, "0x%04x" pchid and vfn,
 * "0x%02x" pfgid and pft, decimal port, "0x%x" uid, 0/1 uid_is_unique,
 * "0x%04x" vendor and device): a
 * "0x" prefix where the kernel writes one, digits only, one optional
 * trailing newline, and a value that fits the field. Attributes older
 * kernels lack are simply absent (their ZPCI_ATTR_HAS_ bit stays clear); a
 * malformed value is left out as well and reported back as a problem.
 *
 * It also lists the PCI bus itself (sysfs_zpci_enumerate()): one readdir of
 * ROOT/bus/pci/devices, each device directory opened relative to it, and
 * the syspath worked out from the bus link without walking the path — the
 * same string libudev reports, at a small part of its cost per device.
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

/* Whether @driver is vfio-pci or one of its variant drivers (e.g.
 * "mlx5_vfio_pci"): the drivers that expose an IOMMU group node and a vfio
 * cdev to user space. */
bool sysfs_driver_is_vfio(const char *driver);

/* Like sysfs_zpci_read_binding(), but the iommu_group link and vfio-dev/
 * are only looked at when the bound driver is a vfio driver
 * (sysfs_driver_is_vfio()); otherwise iommu_group is -1 and vfio_cdev ""
 * (nobody in user space can hold such a function through vfio). Returns 0 or
 * -errno (-ENOENT/-ENODEV: the device has gone). */
int sysfs_zpci_read_vfio_binding(int dirfd, SysfsBinding *ret);

/* Work out the absolute path that the link @target of an entry in the
 * directory @dir (absolute, without symlinks in it) points to, lexically:
 * "." and empty components are dropped, ".." removes the previous one (never
 * going above "/"); an absolute @target replaces @dir. On sysfs, the bus
 * link "../../../devices/pci0001:00/0001:00:00.0" in "/sys/bus/pci/devices"
 * gives "/sys/devices/pci0001:00/0001:00:00.0", as libudev's syspath.
 * Returns 0 with a malloc'ed string in *ret, -EINVAL when @dir is not
 * absolute or @target empty, or -ENOMEM. */
int sysfs_resolve_link(const char *dir, const char *target, char **ret);

/* Called by sysfs_zpci_enumerate() for one device: its syspath, its name
 * (the PCI address) and its directory, open for the call only. A negative
 * return stops the walk. */
typedef int (*SysfsZpciDeviceCallback)(const char *syspath, const char *slot, int dirfd, void *userdata);

/*
 * Call @cb for every device in ROOT/bus/pci/devices, in name order. The
 * syspath is ROOT/bus/pci/devices' link resolved with sysfs_resolve_link()
 * (ROOT/bus/pci/devices/NAME when the entry is not a link); each directory is
 * opened relative to the bus directory, so @sysfs_root is looked up once.
 * Entries that vanish meanwhile, or are not directories, are skipped; a
 * missing bus directory (no PCI bus registered) has no devices.
 * Returns the number of devices @cb was called for, -errno when the bus
 * directory cannot be read, or the first negative value @cb returned.
 */
int sysfs_zpci_enumerate(const char *sysfs_root, SysfsZpciDeviceCallback cb, void *userdata);
