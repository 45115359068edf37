/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fake-vfio: a VfioOps table backed by a small model of the kernel's VFIO
 * side, for unit tests of daemon/vfio.c. It follows the kernel's rules: a
 * group opens once (EBUSY), a cdev binds once (EINVAL), every ioctl checks
 * its argsz and never writes past it, GET_INFO grows argsz when the
 * capabilities do not fit, the zPCI error queue is a 4-deep FIFO that drops
 * the newest record when full and exists only while the device is open,
 * ENOTTY when the feature is absent, ENOMSG when empty, EINVAL for a NULL
 * buffer pointer.
 *
 * Every fd the fake hands out is a real fd (of /dev/null or a real eventfd)
 * so numbers are unique and a leak shows in fake_vfio_open_fds().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ccdf.h"
#include "common/vfio-zpci.h"
#include "daemon/vfio.h"

/* VFIO_DEVICE_INFO_CAP_ZPCI_BASE version 3 as the kernel declares it: the
 * fields of version 2 (fh ends at byte 36) and a __u32 record length; still
 * 40 bytes. The fake lays its capability out with this struct, in the
 * host's byte order as the kernel does. */
struct fake_zpci_base_v3 {
	struct vfio_info_cap_header header;
	__u64 start_dma;
	__u64 end_dma;
	__u16 pchid;
	__u16 vfn;
	__u16 fmb_length;
	__u8 pft;
	__u8 gid;
	__u32 fh;
	__u32 ccdf_err_length;
};
_Static_assert(sizeof(struct fake_zpci_base_v3) == ZPCID_ZPCI_BASE_V3_SIZE, "ZPCI_BASE v3 size");
_Static_assert(offsetof(struct fake_zpci_base_v3, ccdf_err_length) == ZPCID_ZPCI_BASE_CCDF_ERR_LENGTH_OFFSET,
	       "ccdf_err_length offset");

typedef struct FakeVfio FakeVfio;
typedef struct FakeVfioDevice FakeVfioDevice;

typedef enum FakeFeature {
	FAKE_FEATURE_V20,
	FAKE_FEATURE_NONE,
} FakeFeature;

#define FAKE_QUEUE_DEPTH 4

typedef struct FakeVfioConfig {
	const char *slot; /* "0001:00:00.0" */
	unsigned group;   /* /dev/vfio/<group> */
	int cdev;         /* /dev/vfio/devices/vfio<cdev>, -1: none */
	FakeFeature feature;
	unsigned zpci_base_version; /* 0: no ZPCI_BASE capability */
	uint32_t ccdf_err_length;   /* version 3 only: a native __u32 at offset 36 */
	uint32_t err_irq_count;
	uint32_t req_irq_count;
	uint32_t fid, fh;
	uint16_t pchid, vfn;
	uint8_t pft, gid;
	bool looping_caps;        /* the capability chain points back at itself */
	unsigned extra_cap_bytes; /* an extra capability of this size before ZPCI_BASE */
} FakeVfioConfig;

/* Counters and state of one device, for assertions. */
typedef struct FakeVfioStats {
	bool open; /* bound (cdev) or handed out (group) */
	unsigned queued, dropped, discarded;
	unsigned gets, enomsg, probes;
	unsigned resets;
	unsigned queued_at_reset;     /* queue length when the last reset came */
	int err_eventfd, req_eventfd; /* registered eventfds, -1 none */
	unsigned info_calls;
} FakeVfioStats;

extern const VfioOps fake_vfio_ops;

FakeVfio *fake_vfio_new(void);
void fake_vfio_free(FakeVfio *w);

/* Add a device; the returned pointer lives as long as @w. */
FakeVfioDevice *fake_vfio_add(FakeVfio *w, const FakeVfioConfig *c);

/* The location vfio_locate() would find for @d. */
VfioLocation fake_vfio_location(FakeVfioDevice *d);

/* The platform reports an error: queue it (1) or drop it as the newest (0),
 * and signal the registered ERR eventfd either way. */
int fake_vfio_inject(FakeVfioDevice *d, const ZpciCcdf *c);
int fake_vfio_inject_raw(FakeVfioDevice *d, const uint8_t raw[ZPCI_CCDF_ERR_SIZE]);

/* The kernel wants the device back: signal the REQ eventfd. */
void fake_vfio_request(FakeVfioDevice *d);

/* The device goes away: every ioctl on its fds fails with ENODEV. */
void fake_vfio_gone(FakeVfioDevice *d);

/* Another process opens the device (so zpcid's open fails); with
 * @return_fd, it returns that process' device fd (to pass for delegation;
 * it is registered with the fake's ops like any other). */
int fake_vfio_hold(FakeVfioDevice *d, bool return_fd);

/* Register @efd as the ERR eventfd like another owner would. */
void fake_vfio_set_err_eventfd(FakeVfioDevice *d, int efd);

FakeVfioStats fake_vfio_stats(FakeVfioDevice *d);

/* fds the fake handed out and that are not closed yet. */
unsigned fake_vfio_open_fds(FakeVfio *w);

/* The ioctl requests seen, in order; fake_vfio_log_clear() forgets them. */
unsigned fake_vfio_log(FakeVfio *w, const unsigned long **ret);
void fake_vfio_log_clear(FakeVfio *w);
