/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio-function: a function's vfio device on the daemon's event loop.
 *
 * Glue between one ZpciFunction, its VfioDevice (daemon/vfio.h) and libevent:
 * the ERR eventfd wakes the loop, which drains the function's error queue (a
 * bounded number of records per wake-up, re-arming itself while more are
 * queued so one function cannot starve the others) and hands every record to
 * pipeline_submit(); the REQ eventfd (own mode only) means the kernel wants
 * the device back, and zpcid lets go at once and returns the function to
 * observe mode. These functions log what they decide; they change f->vfio
 * and f->mode, nothing else of the function. Policy (whether to claim at
 * all) is the caller's.
 */

#include "daemon/function.h"

/* Open the function's vfio device (own mode): vfio cdev + iommufd where the
 * kernel has it, else group + container; register the ERR and REQ eventfds
 * on f->context->event_base and drain once. Returns 0 (f->vfio set, f->mode
 * own), -EBUSY when another process holds the device, -ENOTTY when the
 * kernel lacks the zPCI error feature (nothing stays open: observe it
 * instead), -EALREADY when f already has a vfio device, other -errno. */
int function_vfio_claim(ZpciFunction *f);

/* Drain a last time, close the device and remove the events; the function
 * returns to observe mode. No-op when f has no vfio device. */
void function_vfio_release(ZpciFunction *f);

/* Adopt the vfio device fd @fd its owner passed (delegated mode). Takes
 * ownership of @fd in every case (closed on failure). The fd is validated
 * (character device, a vfio-pci device, the same function); zpcid's eventfd
 * then replaces the owner's ERR registration — the owner receives the
 * records as D-Bus signals instead. Returns 0, -EINVAL when @fd is not a
 * vfio-pci device, -ENXIO when it is another function, -ENOTTY when the
 * kernel lacks the feature, -EALREADY when f already has a vfio device,
 * other -errno. */
int function_vfio_delegate(ZpciFunction *f, int fd);

/* Drain, then VFIO_DEVICE_RESET (own or delegated). Returns 0, -ENODEV when
 * f has no vfio device (or it went away), other -errno from the reset. */
int function_vfio_reset(ZpciFunction *f);

/* Drain @f's error queue now (before a reset done elsewhere, for example),
 * handing every record to the pipeline. Returns the number of records, or
 * -ENODEV when zpcid holds no device of @f, or another -errno. */
int function_vfio_drain(ZpciFunction *f);
