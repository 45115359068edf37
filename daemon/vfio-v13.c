/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-v13: the earlier form of the zPCI error feature, {version,
 * pending_errors, pec} in the payload itself. One GET dequeues one record
 * (pec 0 when the queue was empty) and says how many are still pending; the
 * reader goes on until that is 0. Only the PEC is known in this form: the
 * events carry no CCDF fields.
 */
#include <errno.h>

#include "common/vfio-zpci.h"
#include "daemon/vfio.h"

int vfio_v13_get(VfioDevice *d, ZpciEvent *e, unsigned *ret_pending)
{
	struct zpcid_vfio_zpci_err_v13 p = {};
	int r;

	*ret_pending = 0;
	r = vfio_device_feature(d, VFIO_DEVICE_FEATURE_ZPCI_ERROR | VFIO_DEVICE_FEATURE_GET, &p, sizeof(p));
	if (r == -ENOMSG)
		return 0;
	if (r < 0)
		return r;

	*ret_pending = p.pending_errors;
	if (p.pec == 0)
		return 0;
	vfio_device_init_event(d, e);
	e->pec = p.pec;
	e->has |= EVENT_HAS_PEC;
	return 1;
}
