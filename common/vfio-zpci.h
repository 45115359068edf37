/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio-zpci: the VFIO/iommufd uAPI zpcid needs that Debian 12's 6.1 kernel
 * headers lack, each definition behind #ifndef so newer headers win. Values
 * and layouts are the kernel's; nothing here is zpcid's own protocol.
 *
 * The zPCI error feature (VFIO_DEVICE_FEATURE with feature index 13, GET
 * only; PROBE allowed, SET -EINVAL):
 *
 *   struct vfio_device_feature_zpci_err { __aligned_u64 data; }
 *
 * @data is a user pointer to a buffer of ccdf_err_length bytes that the
 * kernel fills with the raw architected 32-byte CCDF (zpci_ccdf_err), one
 * queued record per GET. Errors: data == 0 -EINVAL; empty queue -ENOMSG; not
 * a zPCI device -ENODEV; no such feature -ENOTTY; a failing copy to the
 * buffer -EFAULT, and that record is lost (it was dequeued first).
 *
 * VFIO_DEVICE_INFO_CAP_ZPCI_BASE version 3 appends one field after the u32
 * fh of version 2; the capability stays 40 bytes:
 *
 *   offset 32  __u32 fh
 *   offset 36  __u32 ccdf_err_length   bytes of one error record (>= 32)
 *
 * (offsets from the start of the capability, header included). The field is
 * a native-endian u32: on big-endian s390x a 16-bit read at offset 36 gives
 * the upper half, 0. A kernel with the feature announces version 3; an older
 * capability version means the feature is absent, never another form.
 */

#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/vfio_zdev.h>
#include <stddef.h>
#include <stdint.h>

/* ---- zPCI error feature ---- */

#ifndef VFIO_DEVICE_FEATURE_ZPCI_ERROR
#define VFIO_DEVICE_FEATURE_ZPCI_ERROR 13
struct vfio_device_feature_zpci_err {
	__aligned_u64 data; /* user pointer to a ccdf_err_length byte buffer */
};
#endif

/* ZPCI_BASE capability: the version 2 struct is in 6.1's vfio_zdev.h; the
 * version 3 field is read at this offset. */
#define ZPCID_ZPCI_BASE_FH_OFFSET              32
#define ZPCID_ZPCI_BASE_V2_SIZE                36
#define ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_OFFSET 36
#define ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_SIZE   4 /* __u32 */
#define ZPCID_ZPCI_BASE_V3_SIZE                40

/* ---- vfio cdev + iommufd (Linux 6.6) ---- */

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef IOMMU_IOAS_ALLOC
#define ZPCID_IOMMUFD_TYPE           ';'
#define ZPCID_IOMMUFD_CMD_IOAS_ALLOC 0x81
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(ZPCID_IOMMUFD_TYPE, ZPCID_IOMMUFD_CMD_IOAS_ALLOC)
#endif

_Static_assert(sizeof(struct vfio_device_feature_zpci_err) == 8, "v20 payload");
_Static_assert(ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_OFFSET + ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_SIZE ==
		       ZPCID_ZPCI_BASE_V3_SIZE,
	       "ccdf_err_length is the last field of the 40-byte capability");
_Static_assert(offsetof(struct vfio_device_info_cap_zpci_base, fh) == ZPCID_ZPCI_BASE_FH_OFFSET,
	       "fh offset");
_Static_assert(sizeof(struct vfio_device_bind_iommufd) == 16, "bind size");
_Static_assert(sizeof(struct vfio_device_attach_iommufd_pt) >= 12, "attach size");
_Static_assert(sizeof(struct iommu_ioas_alloc) == 12, "ioas alloc size");
