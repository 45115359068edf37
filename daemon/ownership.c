/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/messages.h"
#include "daemon/function-fields.h"
#include "daemon/ownership.h"
#include "daemon/sysfs-zpci.h"
#include "daemon/vfio-function.h"

/* A claim (mode own) or a delegation (mode delegated) of one function, and
 * the bus peer it is for. */
typedef struct Hold Hold;
struct Hold {
	Ownership *ownership;
	ZpciFunction *f;     /* borrowed: the hold ends before the registry drops @f */
	FunctionMode mode;   /* FUNCTION_MODE_OWN: a claim; FUNCTION_MODE_DELEGATED */
	sd_bus_track *track; /* the claimer or owner; NULL: no such limit */
	char *peer;          /* its unique name, for the log */
	Hold *next;
};

struct Ownership {
	Log *log;
	Registry *registry;
	FunctionMode (*choose_mode)(void *userdata, ZpciFunction *f);
	void *userdata;
	const OwnershipDevice *device;
	Hold *holds;
};

static const OwnershipDevice vfio_device = {
	.claim = function_vfio_claim,
	.release = function_vfio_release,
	.delegate = function_vfio_delegate,
};

static Hold *hold_find(Ownership *o, const ZpciFunction *f)
{
	for (Hold *h = o->holds; h; h = h->next)
		if (h->f == f)
			return h;
	return NULL;
}

static void hold_free(Hold *h)
{
	if (!h)
		return;
	(void)sd_bus_track_unref(h->track);
	free(h->peer);
	free(h);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Hold *, hold_free);

/* Unlink @h from its ownership and free it. */
static void hold_end(Hold *h)
{
	Ownership *o = h->ownership;

	for (Hold **p = &o->holds; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	hold_free(h);
}

/* Link @h in place of any hold of its function. */
static void hold_start(Hold *h)
{
	Ownership *o = h->ownership;
	Hold *old = hold_find(o, h->f);

	if (old)
		hold_end(old);
	h->next = o->holds;
	o->holds = h;
}

FunctionMode ownership_choose_mode(Ownership *o, ZpciFunction *f)
{
	return o->choose_mode ? o->choose_mode(o->userdata, f) : FUNCTION_MODE_OBSERVE;
}

bool ownership_is_claimed(Ownership *o, const ZpciFunction *f)
{
	Hold *h = hold_find(o, f);

	return h && h->mode == FUNCTION_MODE_OWN;
}

/* The last name of a hold's track left the bus. */
static int on_peer_gone(sd_bus_track *t, void *userdata)
{
	Hold *h = ASSERT_PTR(userdata);
	Ownership *o = h->ownership;
	ZpciFunction *f = h->f;

	if (h->mode == FUNCTION_MODE_OWN) {
		log_notice(o->log, "PCI function 0x%08x: its claimer left the bus, ending the claim",
			   f->attrs.fid);
		(void)ownership_release(o, f);
		return 0;
	}
	if (f->mode == FUNCTION_MODE_DELEGATED && f->vfio) {
		log_notice(o->log,
			   "PCI function 0x%08x: its owner %s left the bus, releasing the delegated device",
			   f->attrs.fid, h->peer ?: "?");
		o->device->release(f);
		f->mode = FUNCTION_MODE_OBSERVE;
		hold_end(h);
		registry_notify(o->registry, REGISTRY_FUNCTION_CHANGED, f);
		return 0;
	}
	/* the device went back some other way already */
	hold_end(h);
	return 0;
}

/* A hold of @f for @peer on @bus (both may be NULL), watched from now on.
 * Returns 0, -ESRCH when @peer has already left the bus, or -errno. */
static int hold_new(Ownership *o, ZpciFunction *f, FunctionMode mode, sd_bus *bus, const char *peer,
		    Hold **ret)
{
	_cleanup_(hold_freep) Hold *h = NULL;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	*h = (Hold){ .ownership = o, .f = f, .mode = mode };
	if (bus && !isempty(peer)) {
		h->peer = strdup(peer);
		if (!h->peer)
			return -ENOMEM;
		r = sd_bus_track_new(bus, &h->track, on_peer_gone, h);
		if (r < 0)
			return r;
		/* Asks the bus whether @peer is there after subscribing to its
		 * leaving: it is either gone now or heard of when it goes. */
		r = sd_bus_track_add_name(h->track, peer);
		if (r == -ENXIO)
			return -ESRCH;
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(h);
	return 0;
}

int ownership_claim(Ownership *o, ZpciFunction *f, sd_bus *bus, const char *claimer)
{
	_cleanup_(hold_freep) Hold *h = NULL;
	int r;

	if (f->vfio)
		return -EALREADY;
	r = hold_new(o, f, FUNCTION_MODE_OWN, bus, claimer, &h);
	if (r < 0)
		return r;
	r = o->device->claim(f);
	if (r < 0)
		return r;
	f->mode = FUNCTION_MODE_OWN;
	hold_start(TAKE_PTR(h));
	registry_notify(o->registry, REGISTRY_FUNCTION_CHANGED, f);
	return 0;
}

int ownership_delegate(Ownership *o, ZpciFunction *f, int fd, sd_bus *bus, const char *owner)
{
	_cleanup_(hold_freep) Hold *h = NULL;
	int r;

	if (f->vfio) {
		if (fd >= 0)
			(void)close(fd);
		return -EALREADY;
	}
	/* The owner first: one that has already left gets nothing. */
	r = hold_new(o, f, FUNCTION_MODE_DELEGATED, bus, owner, &h);
	if (r < 0) {
		if (fd >= 0)
			(void)close(fd);
		if (r == -ESRCH)
			log_notice(o->log,
				   "PCI function 0x%08x: its owner %s left the bus before the device was "
				   "adopted, not adopting it",
				   f->attrs.fid, owner);
		return r;
	}
	r = o->device->delegate(f, fd);
	if (r < 0)
		return r;
	hold_start(TAKE_PTR(h));
	registry_notify(o->registry, REGISTRY_FUNCTION_CHANGED, f);
	return 0;
}

int ownership_release(Ownership *o, ZpciFunction *f)
{
	Hold *h = hold_find(o, f);
	bool held = f->vfio != NULL;

	if (h)
		hold_end(h);
	if (!held)
		return -ENOENT;
	o->device->release(f);
	f->mode = FUNCTION_MODE_OBSERVE;
	/* the policy decides again (own mode opens the device again) */
	(void)registry_refresh(o->registry, f);
	registry_notify(o->registry, REGISTRY_FUNCTION_CHANGED, f);
	return 0;
}

/* Take @f's device into own mode; say why not when that fails. */
static void claim_device(Ownership *o, ZpciFunction *f)
{
	FunctionFields ff;
	int q;

	q = o->device->claim(f);
	if (q >= 0)
		return;

	function_fields(f, &ff);
	if (q == -EBUSY)
		log_fields(o->log, LOG_NOTICE, MESSAGE_ID_FUNCTION_CLAIM_REFUSED, ff.v, ff.n,
			   "Function 0x%08" PRIx32
			   " is held by another process; observing it instead of owning it.",
			   f->attrs.fid);
	else if (q == -ENOTTY)
		log_fields(o->log, LOG_NOTICE, MESSAGE_ID_FUNCTION_CLAIM_REFUSED, ff.v, ff.n,
			   "The kernel offers no zPCI error feature for function 0x%08" PRIx32
			   "; observing it instead of owning it.",
			   f->attrs.fid);
	else {
		errno = -q;
		log_fields(o->log, LOG_WARNING, MESSAGE_ID_FUNCTION_CLAIM_REFUSED, ff.v, ff.n,
			   "Failed to take function 0x%08" PRIx32 " into own mode, observing it: %m",
			   f->attrs.fid);
	}
}

/* The registry read @f's binding and holder again: decide the mode,
 * claiming or releasing the device to match. */
static bool on_binding_read(void *userdata, ZpciFunction *f)
{
	Ownership *o = ASSERT_PTR(userdata);
	FunctionMode old = f->mode, want;

	/* A delegated device is its owner's business until it comes back. */
	if (f->mode == FUNCTION_MODE_DELEGATED)
		return false;

	want = ownership_is_claimed(o, f) ? FUNCTION_MODE_OWN : ownership_choose_mode(o, f);
	if (f->vfio && (want != FUNCTION_MODE_OWN || !sysfs_driver_is_vfio(f->driver)))
		o->device->release(f);
	/* Re-check right before opening: the device must be free. */
	if (want == FUNCTION_MODE_OWN && !f->vfio && sysfs_driver_is_vfio(f->driver) &&
	    registry_recheck_holder(o->registry, f) == 0)
		claim_device(o, f);
	f->mode = f->vfio ? FUNCTION_MODE_OWN : FUNCTION_MODE_OBSERVE;

	if (f->mode != old) {
		FunctionFields ff;

		function_fields(f, &ff);
		log_fields(o->log, LOG_INFO, MESSAGE_ID_FUNCTION_MODE_CHANGED, ff.v, ff.n,
			   "Function 0x%08" PRIx32 " (%s): mode %s -> %s.", f->attrs.fid, f->attrs.slot,
			   function_mode_to_string(old), function_mode_to_string(f->mode));
		return true;
	}
	return false;
}

/* The registry drops @f: its hold ends, its device goes back. */
static void on_dropping(void *userdata, ZpciFunction *f, bool gone)
{
	Ownership *o = ASSERT_PTR(userdata);
	Hold *h = hold_find(o, f);

	if (h)
		hold_end(h);
	if (f->vfio)
		o->device->release(f);
}

static const RegistryHooks ownership_hooks = {
	.binding_read = on_binding_read,
	.dropping = on_dropping,
};

int ownership_new(Ownership **ret, const OwnershipOptions *options)
{
	_cleanup_(ownership_freep) Ownership *o = NULL;
	int r;

	if (!options || !options->log || !options->registry)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*o = (Ownership){
		.log = options->log,
		.choose_mode = options->choose_mode,
		.userdata = options->userdata,
		.device = options->device ?: &vfio_device,
	};
	r = registry_add_hooks(options->registry, &ownership_hooks, o);
	if (r < 0)
		return r;
	o->registry = options->registry;
	*ret = TAKE_PTR(o);
	return 0;
}

Ownership *ownership_free(Ownership *o)
{
	ZpciFunction *f;

	if (!o)
		return NULL;
	while (o->holds)
		hold_end(o->holds);
	if (o->registry) {
		/* Nothing stays open behind the registry's back. */
		REGISTRY_FOREACH (f, o->registry)
			if (f->vfio)
				o->device->release(f);
		(void)registry_remove_hooks(o->registry, &ownership_hooks, o);
	}
	free(o);
	return NULL;
}
