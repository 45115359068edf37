/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio: one zPCI function's vfio device, as far as error reporting needs it.
 *
 * Two ways to hold it:
 *  own        zpcid opens the device itself (vfio cdev + iommufd where the
 *             kernel has it, else vfio group + container), which resets the
 *             function and makes zpcid its user-space owner.
 *  delegated  the device's owner passed zpcid a duplicate of its device fd.
 *
 * In both, zpcid finds the zPCI error feature (ZPCI_BASE version 3 with its
 * record length, then a feature probe), registers its own eventfd on the ERR IRQ index
 * (replacing whatever eventfd was registered there: the slot holds one) and
 * drains the kernel's error queue. Own mode also registers an eventfd on the
 * REQ IRQ index, which fires when the kernel wants the device back.
 *
 * Every system call goes through a VfioOps table, so the logic runs against
 * a fake kernel in unit tests; vfio_ops_real is the real one. Nothing here
 * logs, touches the event loop or knows the daemon's pipeline: records are
 * handed to a callback, errors returned as -errno.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/event.h"
#include "daemon/function.h"

typedef struct VfioDevice VfioDevice;

/* The system calls the module makes. Each returns what the syscall returns
 * on success and -errno on failure (never -1 with errno). */
typedef struct VfioOps {
	int (*open)(void *userdata, const char *path, int flags);
	int (*ioctl)(void *userdata, int fd, unsigned long request, void *arg);
	int (*close)(void *userdata, int fd);
	int (*eventfd)(void *userdata, unsigned initval, int flags);
	ssize_t (*read)(void *userdata, int fd, void *buf, size_t size);
	int (*fstat)(void *userdata, int fd, struct stat *st);
} VfioOps;

/* open(2), ioctl(2), close(2), eventfd(2), read(2), fstat(2). */
extern const VfioOps vfio_ops_real;

/* Where a function's vfio device is, from sysfs. */
#define VFIO_PATH_MAX 64
typedef struct VfioLocation {
	char slot[EVENT_SLOT_MAX]; /* PCI address, the name GET_DEVICE_FD wants */
	char cdev[VFIO_PATH_MAX];  /* "/dev/vfio/devices/vfioN", "" without a vfio cdev */
	char group[VFIO_PATH_MAX]; /* "/dev/vfio/<group>", "" without an iommu group */
} VfioLocation;

/* Find the vfio nodes of the PCI device at @syspath (its <syspath>/vfio-dev/vfioN
 * directory, taken only when it has a "dev" attribute: a kernel without vfio
 * cdev support has the directory but no node, and <syspath>/iommu_group link). Returns 0, -ENOENT when the
 * device has neither (not bound to vfio-pci), -EINVAL on a bad path. */
int vfio_locate(const char *syspath, VfioLocation *ret);

/* Records handed out per call of vfio_device_drain() by the daemon. */
#define VFIO_DRAIN_BATCH 64
/* Upper bound of a complete drain (before reset/close): far above the
 * kernel's queue depth, so only a misbehaving kernel reaches it. */
#define VFIO_DRAIN_LIMIT 1024
/* Largest ccdf_err_length accepted from the kernel. */
#define VFIO_CCDF_MAX 4096

/* Called for every drained record; @e is a kind=error event with source
 * vfio or delegated, the fid of the function and the CCDF fields
 * (event_set_ccdf()). */
typedef void (*VfioRecordHandler)(VfioDevice *d, ZpciEvent *e, void *userdata);

/* Open the device of the function @attrs at @loc (own mode): cdev + iommufd
 * when loc->cdev is set, else group + container; then GET_INFO, the feature
 * probe, GET_IRQ_INFO(ERR).count == 1, eventfds on ERR and REQ. Does not
 * drain (the caller does, with its handler). Returns 0; -EBUSY when another
 * process holds the device; -ENOTTY when the kernel lacks the zPCI error
 * feature (no ZPCI_BASE version 3, or the probe says so); -ENXIO when the
 * kernel says the device is not a zPCI function; -EBADMSG when version 3
 * announces a record length below 32 or above VFIO_CCDF_MAX; -ENODEV when
 * it has no ERR IRQ (count 0); -ENOENT when @loc names
 * no node; -EBADMSG on a malformed reply; other -errno. On failure nothing
 * stays open. */
int vfio_device_open(const VfioOps *ops, void *ops_userdata, const VfioLocation *loc, const ZpciAttrs *attrs,
		     VfioDevice **ret);

/* Adopt @fd, a vfio device fd passed by its owner (delegated mode), for the
 * function @attrs: validate it (character device; GET_INFO succeeds with
 * VFIO_DEVICE_FLAGS_PCI; the ZPCI_BASE capability names the same function —
 * pchid, vfn, pft, group id and fh, where both sides know them), probe the
 * feature and register an ERR eventfd (the owner's registration is replaced;
 * REQ is left to the owner). Takes @fd in every case. Returns 0; -EINVAL
 * when @fd is not a vfio-pci device; -ENXIO when it is another function or
 * cannot be verified (no ZPCI_BASE); -ENOTTY, -ENODEV as vfio_device_open(). */
int vfio_device_adopt(const VfioOps *ops, void *ops_userdata, int fd, const ZpciAttrs *attrs,
		      VfioDevice **ret);

/* Read up to @max records, handing each to @handler. Returns the number of
 * records read (>= 0) and sets *@ret_more when the bound was reached before
 * the queue was seen empty; -ENODEV when the device went away (EBADF, ENODEV,
 * EIO from the kernel: release it), other -errno. */
int vfio_device_drain(VfioDevice *d, unsigned max, VfioRecordHandler handler, void *userdata,
		      bool *ret_more);

/* Clear the counter of eventfd @fd (the ERR or REQ fd of @d) after a
 * wake-up. Returns the counter value (> 0), 0 when it was not signalled,
 * -errno. */
int64_t vfio_device_ack(VfioDevice *d, int fd);

/* Drain completely (up to VFIO_DRAIN_LIMIT), then VFIO_DEVICE_RESET. Records
 * go to @handler first. Returns 0 or -errno (-ENODEV as for drain). */
int vfio_device_reset(VfioDevice *d, VfioRecordHandler handler, void *userdata);

/* Drain completely, then release: in delegated mode unregister zpcid's ERR
 * eventfd; close every fd zpcid opened (device, group, container, iommufd,
 * eventfds). @handler may be NULL when the device is known to be gone.
 * Accepts NULL, returns NULL. */
VfioDevice *vfio_device_close(VfioDevice *d, VfioRecordHandler handler, void *userdata);

/* Close without draining (the device is gone). Accepts NULL, returns NULL. */
VfioDevice *vfio_device_free(VfioDevice *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfioDevice *, vfio_device_free);

/* Accessors. The fds stay owned by @d. */
int vfio_device_err_fd(const VfioDevice *d);
int vfio_device_req_fd(const VfioDevice *d); /* -EBADF in delegated mode */
int vfio_device_fd(const VfioDevice *d);
bool vfio_device_is_delegated(const VfioDevice *d);
bool vfio_device_uses_cdev(const VfioDevice *d);
uint32_t vfio_device_fid(const VfioDevice *d);
unsigned vfio_device_zpci_base_version(const VfioDevice *d); /* 0: no ZPCI_BASE */
uint32_t vfio_device_ccdf_err_length(const VfioDevice *d);   /* from ZPCI_BASE v3 */

/* Caller data kept with the device (the daemon's event sources). */
void vfio_device_set_userdata(VfioDevice *d, void *userdata);
void *vfio_device_get_userdata(const VfioDevice *d);

/* ---- internal to vfio*.c ---- */

/* One GET of the v20 feature into @buf (@len bytes). Returns 1 and fills *@e
 * with a record, 0 when the queue is empty (-ENOMSG), -errno. */
int vfio_v20_get(VfioDevice *d, uint8_t *buf, size_t len, ZpciEvent *e);

/* VFIO_DEVICE_FEATURE on @d with the given flags and payload (used by both
 * the probe). Returns 0 or -errno. */
int vfio_device_feature(VfioDevice *d, uint32_t flags, void *payload, size_t payload_size);

/* Start a kind=error event for a record of @d (fid, source). */
void vfio_device_init_event(VfioDevice *d, ZpciEvent *e);
