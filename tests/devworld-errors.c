/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the platform's error reports. An error is logged like the
 * kernel logs it, queued in the function's 4-deep error FIFO while its vfio
 * device is open (the newest is dropped when full) and signalled on the ERR
 * eventfd; a REQ signal asks the device's user to release it.
 */
#include <errno.h>
#include <string.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* Errors */

static int queue_locked(Devworld *w, DwFn *fn, const uint8_t ccdf[ZPCI_CCDF_ERR_SIZE], bool signal)
{
	uint16_t pec = (uint16_t)(ccdf[30] << 8 | ccdf[31]);
	uint32_t fid = (uint32_t)ccdf[8] << 24 | (uint32_t)ccdf[9] << 16 | (uint32_t)ccdf[10] << 8 |
		       ccdf[11];

	if (w->kmsg_on_error) {
		g_autofree char *t = g_strdup_printf(
			"zpci: %s: Event 0x%x reports an error for PCI function 0x%x", fn->slot, pec, fid);
		(void)dw_kmsg_write_locked(w, 3, t);
	}
	if (!fn->device_owner) {
		dw_fn_log(fn, "ERROR pec=0x%x not queued (device not open)", pec);
		return 0;
	}
	if (fn->count == DW_QUEUE_DEPTH) {
		g_autofree char *t = g_strdup_printf(
			"zpci: %s: Maximum number (%u) of pending error events queued", fn->slot,
			(unsigned)DW_QUEUE_DEPTH);
		fn->stats.dropped++;
		(void)dw_kmsg_write_locked(w, 4, t);
		dw_fn_log(fn, "ERROR pec=0x%x dropped (queue full)", pec);
		return 0;
	}
	memcpy(fn->queue[(fn->head + fn->count) % DW_QUEUE_DEPTH], ccdf, ZPCI_CCDF_ERR_SIZE);
	fn->count++;
	fn->stats.queued = fn->count;
	dw_fn_log(fn, "ERROR pec=0x%x queued (%u)", pec, fn->count);
	/* the kernel does not signal events that only concern the FMB */
	if (signal && !(pec >= 0x2a && pec <= 0x2c))
		dw_signal_efd(fn->err_efd);
	return 1;
}

static void build_ccdf(DwFn *fn, uint16_t pec, uint8_t out[ZPCI_CCDF_ERR_SIZE])
{
	ZpciCcdf c = {
		.fh = fn->fh,
		.fid = fn->cfg.fid,
		.ett = 0x4,
		.mvn = 0,
		.dmaas = 0,
		.q = false,
		.rw = false,
		.faddr = 0x00000000fe001000ULL,
		.pec = pec,
	};

	ccdf_encode(&c, out);
}

int devworld_inject_ccdf(Devworld *w, uint32_t fid, const uint8_t ccdf[32])
{
	DwFn *fn = dw_fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = queue_locked(w, fn, ccdf, true);
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_inject_pec(Devworld *w, uint32_t fid, uint16_t pec)
{
	DwFn *fn = dw_fn_get(w, fid);
	uint8_t c[ZPCI_CCDF_ERR_SIZE];

	if (!fn)
		return -ENOENT;
	build_ccdf(fn, pec, c);
	return devworld_inject_ccdf(w, fid, c);
}

int devworld_queue_pec(Devworld *w, uint32_t fid, uint16_t pec)
{
	DwFn *fn = dw_fn_get(w, fid);
	uint8_t c[ZPCI_CCDF_ERR_SIZE];
	int r;

	if (!fn)
		return -ENOENT;
	build_ccdf(fn, pec, c);
	g_mutex_lock(&w->lock);
	r = queue_locked(w, fn, c, false);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_signal_err(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = fn->err_efd >= 0;
	dw_signal_efd(fn->err_efd);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_request(Devworld *w, uint32_t fid)
{
	DwFn *fn = dw_fn_get(w, fid);
	int r;

	if (!fn)
		return -ENOENT;
	g_mutex_lock(&w->lock);
	r = fn->req_efd >= 0;
	dw_signal_efd(fn->req_efd);
	dw_fn_log(fn, "REQUEST %s", r ? "signalled" : "no eventfd");
	g_mutex_unlock(&w->lock);
	return r;
}
