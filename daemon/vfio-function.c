/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-function: puts a function's VfioDevice on the libevent loop and its
 * records into the pipeline. Records are collected first and submitted
 * after the vfio call returned, so whatever the pipeline and the policy do
 * with them (even releasing or resetting this very device) never runs in
 * the middle of a drain.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/time-util.h"
#include "daemon/pipeline.h"
#include "daemon/vfio-function.h"
#include "daemon/vfio.h"

typedef struct FunctionVfio {
	ZpciFunction *function;
	struct event *err_event;
	struct event *req_event; /* own mode only */
} FunctionVfio;

/* Records drained in one go, submitted once the drain is over. */
typedef struct RecordBatch {
	ZpciEvent *events;
	size_t n, allocated;
	size_t lost; /* records that did not fit in memory */
} RecordBatch;

static void batch_add(VfioDevice *d, ZpciEvent *e, void *userdata)
{
	RecordBatch *b = ASSERT_PTR(userdata);

	if (b->n == b->allocated) {
		size_t n = MAX(b->allocated * 2, (size_t)8);
		ZpciEvent *p = realloc(b->events, n * sizeof(ZpciEvent));

		if (!p) {
			b->lost++;
			return;
		}
		b->events = p;
		b->allocated = n;
	}
	b->events[b->n++] = *e;
}

static void batch_submit(ZpciFunction *f, RecordBatch *b)
{
	const FunctionContext *c = f->context;

	for (size_t i = 0; i < b->n; i++)
		(void)pipeline_submit(c->pipeline, f, &b->events[i]);
	if (b->lost > 0)
		log_warning(c->log, "PCI function 0x%08x: %zu drained error records lost, out of memory",
			    f->attrs.fid, b->lost);
	free(b->events);
	*b = (RecordBatch){};
}

/* The one record of a drain of one (on_err()), kept until the drain has
 * returned: the pipeline may release the device it came from. */
typedef struct OneRecord {
	ZpciEvent event;
	bool taken;
} OneRecord;

static void take_one(VfioDevice *d, ZpciEvent *e, void *userdata)
{
	OneRecord *one = ASSERT_PTR(userdata);

	one->event = *e;
	one->taken = true;
}

static void function_vfio_detach(ZpciFunction *f, bool drain)
{
	RecordBatch batch = {};
	VfioDevice *d = f->vfio;
	FunctionVfio *fv;

	if (!d)
		return;
	fv = vfio_device_get_userdata(d);
	if (fv) {
		if (fv->err_event)
			event_free(fv->err_event);
		if (fv->req_event)
			event_free(fv->req_event);
		free(fv);
	}
	f->vfio = NULL;
	f->drains_since_usec = 0;
	f->mode = FUNCTION_MODE_OBSERVE;
	(void)vfio_device_close(d, drain ? batch_add : NULL, &batch);
	batch_submit(f, &batch);
}

/*
 * The error eventfd fired: take the records one GET at a time and hand each
 * to the pipeline before asking for the next, so the first error reaches
 * the history, the journal and the bus without waiting for the GET that
 * finds the queue empty. After VFIO_DRAIN_BATCH records the rest waits for
 * the loop's next turn, so one storming function cannot starve the others.
 */
static void on_err(evutil_socket_t fd, short what, void *userdata)
{
	FunctionVfio *fv = ASSERT_PTR(userdata);
	_cleanup_(function_unrefp) ZpciFunction *f = function_ref(fv->function);
	const FunctionContext *c = f->context;
	VfioDevice *d = f->vfio;
	bool more = false;
	int r;

	if (!d)
		return;
	(void)vfio_device_ack(d, vfio_device_err_fd(d));
	for (unsigned i = 0; i < VFIO_DRAIN_BATCH; i++) {
		OneRecord one = {};

		r = vfio_device_drain(d, 1, take_one, &one, &more);
		/* the pipeline may act on the function: nothing drained is kept back */
		if (one.taken)
			(void)pipeline_submit(c->pipeline, f, &one.event);
		if (r == -ENODEV) {
			if (f->vfio != d)
				return;
			log_warning(c->log, "PCI function 0x%08x: its vfio device went away, releasing it",
				    f->attrs.fid);
			function_vfio_detach(f, false);
			return;
		}
		if (r < 0) {
			log_warning_errno(
				c->log, r,
				"PCI function 0x%08x: failed to read its error queue, ignoring: %m",
				f->attrs.fid);
			return;
		}
		/* released or replaced while its record was handled: done here */
		if (f->vfio != d || vfio_device_get_userdata(d) != fv)
			return;
		if (!more)
			return;
	}

	/* More queued than one batch: come back after the other sources had their turn. */
	event_active(fv->err_event, EV_READ, 0);
}

static void on_req(evutil_socket_t fd, short what, void *userdata)
{
	FunctionVfio *fv = ASSERT_PTR(userdata);
	ZpciFunction *f = fv->function;
	VfioDevice *d = f->vfio;

	if (!d)
		return;
	(void)vfio_device_ack(d, vfio_device_req_fd(d));
	log_notice(
		f->context->log,
		"PCI function 0x%08x: the kernel requests its vfio device back, releasing it and observing",
		f->attrs.fid);
	function_vfio_detach(f, true);
}

static int attach_events(ZpciFunction *f, VfioDevice *d)
{
	struct event_base *base = f->context->event_base;
	FunctionVfio *fv;

	fv = calloc(1, sizeof(*fv));
	if (!fv)
		return -ENOMEM;
	fv->function = f;
	vfio_device_set_userdata(d, fv);

	fv->err_event = event_new(base, vfio_device_err_fd(d), EV_READ | EV_PERSIST, on_err, fv);
	if (!fv->err_event || event_add(fv->err_event, NULL) < 0)
		return -ENOMEM;
	if (vfio_device_req_fd(d) >= 0) {
		fv->req_event = event_new(base, vfio_device_req_fd(d), EV_READ | EV_PERSIST, on_req, fv);
		if (!fv->req_event || event_add(fv->req_event, NULL) < 0)
			return -ENOMEM;
	}
	/* The first drain, right after open, from the loop. */
	event_active(fv->err_event, EV_READ, 0);
	return 0;
}

static int function_vfio_install(ZpciFunction *f, VfioDevice *d, FunctionMode mode)
{
	int r;

	f->vfio = d;
	f->mode = mode;
	r = attach_events(f, d);
	if (r < 0) {
		function_vfio_detach(f, true);
		return log_error_errno(f->context->log, r,
				       "PCI function 0x%08x: failed to watch its vfio device: %m",
				       f->attrs.fid);
	}
	log_info(f->context->log,
		 "PCI function 0x%08x: %s vfio device (%s, error records of %" PRIu32 " bytes)",
		 f->attrs.fid, mode == FUNCTION_MODE_OWN ? "holding its" : "watching its owner's",
		 vfio_device_uses_cdev(d) ? "cdev" : "group", vfio_device_ccdf_err_length(d));
	return 0;
}

int function_vfio_claim(ZpciFunction *f)
{
	const FunctionContext *c = ASSERT_PTR(f)->context;
	VfioLocation loc;
	VfioDevice *d = NULL;
	uint64_t since;
	int r;

	if (f->vfio)
		return -EALREADY;
	if (!f->syspath)
		return -ENOENT;

	r = vfio_locate(f->syspath, &loc);
	if (r < 0)
		return log_warning_errno(c->log, r, "PCI function 0x%08x: no vfio device node found: %m",
					 f->attrs.fid);
	since = now_usec(CLOCK_MONOTONIC);
	r = vfio_device_open(&vfio_ops_real, NULL, &loc, &f->attrs, &d);
	if (r == -EBUSY) {
		log_debug(c->log, "PCI function 0x%08x: its vfio device is held by another process",
			  f->attrs.fid);
		return r;
	}
	if (r == -ENOTTY) {
		log_notice(c->log,
			   "PCI function 0x%08x: the kernel has no zPCI error feature, observing the "
			   "function instead",
			   f->attrs.fid);
		return r;
	}
	if (r == -ENODEV) {
		log_notice(c->log,
			   "PCI function 0x%08x: its vfio device has no error interrupt, observing the "
			   "function instead",
			   f->attrs.fid);
		return r;
	}
	if (r == -ENXIO) {
		log_notice(c->log,
			   "PCI function 0x%08x: the kernel does not treat its vfio device as a zPCI "
			   "function, observing the function instead",
			   f->attrs.fid);
		return r;
	}
	if (r < 0)
		return log_warning_errno(c->log, r,
					 "PCI function 0x%08x: failed to open its vfio device %s: %m",
					 f->attrs.fid, loc.cdev[0] ? loc.cdev : loc.group);
	f->drains_since_usec = since;
	return function_vfio_install(f, d, FUNCTION_MODE_OWN);
}

int function_vfio_delegate(ZpciFunction *f, int fd)
{
	const FunctionContext *c = ASSERT_PTR(f)->context;
	VfioDevice *d = NULL;
	int r;

	if (f->vfio) {
		if (fd >= 0)
			(void)close(fd);
		return -EALREADY;
	}
	r = vfio_device_adopt(&vfio_ops_real, NULL, fd, &f->attrs, &d);
	if (r < 0)
		return log_warning_errno(c->log, r,
					 "PCI function 0x%08x: refusing the vfio device fd passed: %m",
					 f->attrs.fid);
	f->drains_since_usec = 0;
	return function_vfio_install(f, d, FUNCTION_MODE_DELEGATED);
}

void function_vfio_release(ZpciFunction *f)
{
	if (!f || !f->vfio)
		return;
	log_info(f->context->log, "PCI function 0x%08x: releasing its vfio device", f->attrs.fid);
	function_vfio_detach(f, true);
}

int function_vfio_drain(ZpciFunction *f)
{
	RecordBatch batch = {};
	VfioDevice *d;
	bool more = false;
	int r, n = 0;

	if (!f || !f->vfio)
		return -ENODEV;
	d = f->vfio;
	do {
		r = vfio_device_drain(d, VFIO_DRAIN_BATCH, batch_add, &batch, &more);
		if (r > 0)
			n += r;
	} while (r > 0 && more && n < VFIO_DRAIN_BATCH * 16);
	batch_submit(f, &batch);
	if (r == -ENODEV && f->vfio == d) {
		log_warning(f->context->log, "PCI function 0x%08x: its vfio device went away, releasing it",
			    f->attrs.fid);
		function_vfio_detach(f, false);
		return r;
	}
	return r < 0 ? r : n;
}

int function_vfio_reset(ZpciFunction *f)
{
	RecordBatch batch = {};
	int r;

	if (!f || !f->vfio)
		return -ENODEV;
	r = vfio_device_reset(f->vfio, batch_add, &batch);
	batch_submit(f, &batch);
	if (r == -ENODEV && f->vfio) {
		log_warning(f->context->log, "PCI function 0x%08x: its vfio device went away, releasing it",
			    f->attrs.fid);
		function_vfio_detach(f, false);
	}
	return r;
}
