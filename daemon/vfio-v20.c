/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-v20: the zPCI error feature in the form that hands out the raw
 * architected record. The feature payload is a pointer to a buffer of
 * ccdf_err_length bytes (ZPCI_BASE version >= 3); the kernel copies one
 * queued record into it per GET and answers -ENOMSG when the queue is empty.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/ccdf.h"
#include "common/vfio-zpci.h"
#include "daemon/vfio.h"

int vfio_v20_get(VfioDevice *d, uint8_t *buf, size_t len, ZpciEvent *e)
{
	struct vfio_device_feature_zpci_err p = { .data = (uintptr_t)buf };
	ZpciCcdf c;
	int r;

	if (!buf || len < ZPCI_CCDF_ERR_SIZE)
		return -EINVAL;
	memset(buf, 0, len);
	r = vfio_device_feature(d, VFIO_DEVICE_FEATURE_ZPCI_ERROR | VFIO_DEVICE_FEATURE_GET, &p, sizeof(p));
	if (r == -ENOMSG)
		return 0;
	if (r < 0)
		return r;

	r = ccdf_parse(buf, len, &c);
	if (r < 0)
		return r;
	vfio_device_init_event(d, e);
	event_set_ccdf(e, &c);
	if (c.fid != vfio_device_fid(d))
		/* Recorded anyway: the queue is this device's, whatever the record says. */
		snprintf(e->detail, sizeof(e->detail), "record names function 0x%08x", c.fid);
	return 1;
}
