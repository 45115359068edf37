/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libudev.h>
#include <pci/pci.h>

#include "common/messages.h"
#include "daemon/function-fields.h"
#include "daemon/owner.h"
#include "daemon/registry.h"
#include "daemon/sysfs-zpci.h"

/* ---- an open-addressing index of functions by a derived key --------------- */

typedef struct FunctionIndex {
	ZpciFunction **slots;
	size_t mask; /* size - 1, size a power of two; 0 when empty */
	size_t n;
	uint64_t (*hash_of)(const ZpciFunction *f);
} FunctionIndex;

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint64_t hash_slot(const char *slot)
{
	return hash_bytes(slot, strlen(slot));
}

static uint64_t hash_uid(uint32_t uid)
{
	return hash_bytes(&uid, sizeof(uid));
}

static uint64_t function_hash_slot(const ZpciFunction *f)
{
	return hash_slot(f->attrs.slot);
}

static uint64_t function_hash_uid(const ZpciFunction *f)
{
	return hash_uid(f->attrs.uid);
}

static int index_grow(FunctionIndex *x)
{
	size_t size = x->mask ? (x->mask + 1) * 2 : 64;
	ZpciFunction **slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; x->mask && i <= x->mask; i++) {
		size_t j;

		if (!x->slots[i])
			continue;
		for (j = x->hash_of(x->slots[i]) & (size - 1); slots[j]; j = (j + 1) & (size - 1))
			;
		slots[j] = x->slots[i];
	}
	free(x->slots);
	x->slots = slots;
	x->mask = size - 1;
	return 0;
}

static int index_put(FunctionIndex *x, ZpciFunction *f)
{
	size_t i;
	int r;

	if ((x->n + 1) * 2 > (x->mask ? x->mask + 1 : 0)) {
		r = index_grow(x);
		if (r < 0)
			return r;
	}
	for (i = x->hash_of(f) & x->mask; x->slots[i]; i = (i + 1) & x->mask)
		if (x->slots[i] == f)
			return 0;
	x->slots[i] = f;
	x->n++;
	return 0;
}

static void index_remove(FunctionIndex *x, ZpciFunction *f)
{
	size_t i, k;

	if (!x->mask)
		return;
	for (i = x->hash_of(f) & x->mask; x->slots[i] != f; i = (i + 1) & x->mask)
		if (!x->slots[i])
			return;

	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (;;) {
		x->slots[i] = NULL;
		for (k = i;;) {
			size_t h;

			k = (k + 1) & x->mask;
			if (!x->slots[k]) {
				x->n--;
				return;
			}
			h = x->hash_of(x->slots[k]) & x->mask;
			if (i <= k ? (i < h && h <= k) : (i < h || h <= k))
				continue; /* already reachable from its home */
			break;
		}
		x->slots[i] = x->slots[k];
		i = k;
	}
}

static void index_done(FunctionIndex *x)
{
	free(x->slots);
	x->slots = NULL;
	x->mask = x->n = 0;
}

/* ---- the registry -------------------------------------------------------- */

/* Where enumeration reads: the syspaths it builds must equal libudev's. */
#define REGISTRY_SYSFS_ROOT "/sys"

typedef struct Subscriber {
	RegistryCallback cb;
	void *userdata;
} Subscriber;

typedef struct Hooks {
	const RegistryHooks *hooks;
	void *userdata;
} Hooks;

/* Call @member of every set of hooks that has it. */
#define CALL_HOOKS(r, member, ...)                                                                  \
	do {                                                                                        \
		for (size_t _h = 0; _h < (r)->n_hooks; _h++)                                        \
			if ((r)->hooks[_h].hooks->member)                                           \
				(r)->hooks[_h].hooks->member((r)->hooks[_h].userdata, __VA_ARGS__); \
	} while (0)

struct Registry {
	Log *log;
	struct event_base *event_base;
	const FunctionContext *context;
	char *proc_root;
	char *dev_root;

	Hooks *hooks;
	size_t n_hooks;

	struct udev *udev;
	struct udev_monitor *monitor;
	struct event *monitor_event;
	struct pci_access *pci;

	ZpciFunction **by_fid; /* sorted by FID */
	size_t n, allocated;
	FunctionIndex by_slot;
	FunctionIndex by_uid; /* only functions whose UID is unique */

	Subscriber *subscribers; /* cb NULL: ended during a notification */
	size_t n_subscribers;
	unsigned n_notifying; /* nesting of registry_notify() */
	bool subscribers_dirty;

	const OwnerTable *start_owners; /* one procfs scan for the whole enumeration */
	bool owner_scan_warned;

	/* The functions found at start-up are announced after READY=1, in
	 * slices on the loop, then the summary of the start-up scan. */
	bool enumerating;
	size_t n_appeared_pending;
	struct event *appeared_event;
	size_t start_n;
	unsigned start_n_vfio, start_n_held;
};

static bool uid_indexed(const ZpciFunction *f)
{
	return (f->attrs.has & ZPCI_ATTR_HAS_UID) && (f->attrs.has & ZPCI_ATTR_HAS_UID_IS_UNIQUE) &&
	       f->attrs.uid_is_unique;
}

/* Position of @fid in by_fid, or where it would go. */
static size_t fid_position(const Registry *r, uint32_t fid, bool *found)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->by_fid[mid]->attrs.fid < fid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < r->n && r->by_fid[lo]->attrs.fid == fid;
	return lo;
}

ZpciFunction *registry_get_by_fid(Registry *r, uint32_t fid)
{
	bool found;
	size_t i;

	if (!r)
		return NULL;
	i = fid_position(r, fid, &found);
	return found ? r->by_fid[i] : NULL;
}

ZpciFunction *registry_get_by_slot(Registry *r, const char *slot)
{
	if (!r || !r->by_slot.mask || isempty(slot))
		return NULL;
	for (size_t i = hash_slot(slot) & r->by_slot.mask; r->by_slot.slots[i];
	     i = (i + 1) & r->by_slot.mask)
		if (streq(r->by_slot.slots[i]->attrs.slot, slot))
			return r->by_slot.slots[i];
	return NULL;
}

ZpciFunction *registry_get_by_uid(Registry *r, uint32_t uid)
{
	if (!r || !r->by_uid.mask)
		return NULL;
	for (size_t i = hash_uid(uid) & r->by_uid.mask; r->by_uid.slots[i]; i = (i + 1) & r->by_uid.mask)
		if (r->by_uid.slots[i]->attrs.uid == uid)
			return r->by_uid.slots[i];
	return NULL;
}

size_t registry_count(const Registry *r)
{
	return r ? r->n : 0;
}

ZpciFunction *registry_get_nth(const Registry *r, size_t i)
{
	return r && i < r->n ? r->by_fid[i] : NULL;
}

static int insert_function(Registry *r, ZpciFunction *f)
{
	bool found;
	size_t pos;
	int q;

	pos = fid_position(r, f->attrs.fid, &found);
	if (found)
		return -EEXIST;
	if (r->n >= r->allocated) {
		size_t a = r->allocated ? r->allocated * 2 : 64;
		ZpciFunction **n = reallocarray(r->by_fid, a, sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->by_fid = n;
		r->allocated = a;
	}
	q = index_put(&r->by_slot, f);
	if (q >= 0 && uid_indexed(f))
		q = index_put(&r->by_uid, f);
	if (q < 0) {
		index_remove(&r->by_slot, f);
		return q;
	}
	memmove(r->by_fid + pos + 1, r->by_fid + pos, (r->n - pos) * sizeof(*r->by_fid));
	r->by_fid[pos] = f;
	r->n++;
	return 0;
}

static void remove_function(Registry *r, ZpciFunction *f)
{
	bool found;
	size_t pos = fid_position(r, f->attrs.fid, &found);

	index_remove(&r->by_slot, f);
	index_remove(&r->by_uid, f);
	if (found && r->by_fid[pos] == f) {
		memmove(r->by_fid + pos, r->by_fid + pos + 1, (r->n - pos - 1) * sizeof(*r->by_fid));
		r->n--;
	}
}

int registry_subscribe(Registry *r, RegistryCallback cb, void *userdata)
{
	Subscriber *s = reallocarray(r->subscribers, r->n_subscribers + 1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	r->subscribers = s;
	r->subscribers[r->n_subscribers++] = (Subscriber){ cb, userdata };
	return 0;
}

/* Drop the subscriptions marked as ended while a notification ran. */
static void sweep_subscribers(Registry *r)
{
	size_t k = 0;

	for (size_t i = 0; i < r->n_subscribers; i++)
		if (r->subscribers[i].cb)
			r->subscribers[k++] = r->subscribers[i];
	r->n_subscribers = k;
	r->subscribers_dirty = false;
}

int registry_unsubscribe(Registry *r, RegistryCallback cb, void *userdata)
{
	for (size_t i = 0; i < r->n_subscribers; i++)
		if (r->subscribers[i].cb == cb && r->subscribers[i].userdata == userdata) {
			/* While a notification walks the list only mark it: the
			 * walk's positions stay valid, the sweep follows it. */
			r->subscribers[i].cb = NULL;
			r->subscribers_dirty = true;
			if (r->n_notifying == 0)
				sweep_subscribers(r);
			return 0;
		}
	return -ENOENT;
}

void registry_notify(Registry *r, RegistryChange change, ZpciFunction *f)
{
	/* The subscribers when the change happened: those that subscribe
	 * meanwhile hear of the next one, those that unsubscribe (themselves
	 * or another) are not called any more and skip nobody. The array may
	 * move (a subscription grows it), so index it afresh each time. */
	size_t n = r->n_subscribers;

	r->n_notifying++;
	for (size_t i = 0; i < n; i++) {
		Subscriber s = r->subscribers[i];

		if (s.cb)
			s.cb(r, change, f, s.userdata);
	}
	if (--r->n_notifying == 0 && r->subscribers_dirty)
		sweep_subscribers(r);
}

int registry_add_hooks(Registry *r, const RegistryHooks *hooks, void *userdata)
{
	Hooks *h = reallocarray(r->hooks, r->n_hooks + 1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	r->hooks = h;
	r->hooks[r->n_hooks++] = (Hooks){ hooks, userdata };
	return 0;
}

int registry_remove_hooks(Registry *r, const RegistryHooks *hooks, void *userdata)
{
	for (size_t i = 0; i < r->n_hooks; i++)
		if (r->hooks[i].hooks == hooks && r->hooks[i].userdata == userdata) {
			memmove(r->hooks + i, r->hooks + i + 1, (r->n_hooks - i - 1) * sizeof(*r->hooks));
			r->n_hooks--;
			return 0;
		}
	return -ENOENT;
}

/* ---- journal records of a function -------------------------------------- */

/* "held by qemu-system-s39 (pid 123)" or "". */
static const char *owner_text(const ZpciFunction *f, char *buf, size_t size)
{
	if (f->owner_pid <= 0)
		return "";
	(void)snprintf(buf, size, ", held by %s (pid %d)", isempty(f->owner_comm) ? "?" : f->owner_comm,
		       (int)f->owner_pid);
	return buf;
}

/* ---- reading a function --------------------------------------------------- */

void registry_function_names(Registry *r, ZpciFunction *f)
{
	char buf[FUNCTION_NAME_MAX];

	if (f->names_known)
		return;
	f->names_known = true;
	f->vendor_name[0] = f->device_name[0] = '\0';
	if (!r || !r->pci || !(f->attrs.has & ZPCI_ATTR_HAS_IDS))
		return;
	if (pci_lookup_name(r->pci, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS,
			    f->attrs.vendor))
		(void)snprintf(f->vendor_name, sizeof(f->vendor_name), "%s", buf);
	if (pci_lookup_name(r->pci, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
			    f->attrs.vendor, f->attrs.device))
		(void)snprintf(f->device_name, sizeof(f->device_name), "%s", buf);
}

static uint64_t problems_signature(const SysfsZpciProblems *p)
{
	uint64_t h = 0;

	for (size_t i = 0; i < p->n; i++)
		h = h * 31 + hash_slot(p->p[i].attr) + (uint64_t)(unsigned)-p->p[i].error;
	return h;
}

/* Log the attribute problems of @slot once per distinct set. */
static void log_problems(Registry *r, const char *slot, const SysfsZpciProblems *p, uint64_t *logged)
{
	uint64_t sig;

	if (p->n == 0) {
		if (logged)
			*logged = 0;
		return;
	}
	sig = problems_signature(p);
	if (logged && *logged == sig)
		return;
	if (logged)
		*logged = sig;

	for (size_t i = 0; i < p->n; i++) {
		char f_slot[64], f_attr[64];
		const char *fields[] = { f_slot, f_attr };

		(void)snprintf(f_slot, sizeof(f_slot), "PCI_SLOT_NAME=%s", slot);
		(void)snprintf(f_attr, sizeof(f_attr), "ZPCID_ATTRIBUTE=%s", p->p[i].attr);
		log_fields(r->log, LOG_WARNING, MESSAGE_ID_FUNCTION_ATTR_INVALID, fields, 2,
			   "Ignoring sysfs attribute %s of %s (\"%s\"): %s.", p->p[i].attr, slot,
			   p->p[i].value,
			   p->p[i].error == -EBADMSG  ? "malformed"
			   : p->p[i].error == -ERANGE ? "out of range"
			   : p->p[i].error == -EFBIG  ? "too long"
						      : strerror(-p->p[i].error));
	}
}

/* Find the holder of a vfio-bound function: from the start-up scan, or by
 * scanning procfs now. */
static void find_owner(Registry *r, ZpciFunction *f)
{
	char group[16] = "";
	OwnerEntry e;
	int q;

	f->owner_pid = 0;
	f->owner_comm[0] = '\0';
	if (!sysfs_driver_is_vfio(f->driver) || f->vfio)
		return;
	if (f->iommu_group >= 0)
		(void)snprintf(group, sizeof(group), "%d", f->iommu_group);
	if (group[0] == '\0' && f->vfio_cdev[0] == '\0')
		return;

	if (r->start_owners) {
		const OwnerEntry *o = owner_table_lookup(r->start_owners, group, f->vfio_cdev);

		if (!o)
			return;
		e = *o;
	} else {
		q = owner_find(r->proc_root, r->dev_root, getpid(), group, f->vfio_cdev, &e);
		if (q < 0) {
			if (!r->owner_scan_warned) {
				r->owner_scan_warned = true;
				log_warning_errno(
					r->log, q,
					"Failed to scan %s for holders of vfio devices, ignoring: %m",
					r->proc_root);
			}
			return;
		}
		if (q == 0)
			return;
	}
	f->owner_pid = e.pid;
	(void)snprintf(f->owner_comm, sizeof(f->owner_comm), "%s", e.comm);
}

pid_t registry_recheck_holder(Registry *r, ZpciFunction *f)
{
	if (r->start_owners) {
		const OwnerTable *saved = r->start_owners;

		r->start_owners = NULL;
		find_owner(r, f);
		r->start_owners = saved;
	}
	return f->owner_pid;
}

/* The hooks bring the mode in line with the binding. Returns true when it
 * changed. */
static bool binding_read(Registry *r, ZpciFunction *f)
{
	bool changed = false;

	for (size_t i = 0; i < r->n_hooks; i++)
		if (r->hooks[i].hooks->binding_read &&
		    r->hooks[i].hooks->binding_read(r->hooks[i].userdata, f))
			changed = true;
	return changed;
}

/* Re-read binding and holder of @f from its directory @dirfd. Returns 1 when
 * anything changed, 0 when not, -ENOENT when the device has gone. */
static int update_binding(Registry *r, ZpciFunction *f, int dirfd, bool announce)
{
	char old_driver[FUNCTION_DRIVER_MAX], ot[64];
	pid_t old_pid = f->owner_pid;
	SysfsBinding b;
	bool changed;
	int q;

	/* The IOMMU group and the vfio cdev only matter for finding the holder of
	 * a vfio-bound function (find_owner()); a later bind re-reads them. */
	q = sysfs_zpci_read_vfio_binding(dirfd, &b);
	if (q < 0)
		return q == -ENODEV ? -ENOENT : q;

	memcpy(old_driver, f->driver, sizeof(old_driver));
	memcpy(f->driver, b.driver, sizeof(f->driver));
	f->iommu_group = b.iommu_group;
	memcpy(f->vfio_cdev, b.vfio_cdev, sizeof(f->vfio_cdev));
	find_owner(r, f);

	changed = !streq(old_driver, f->driver) || old_pid != f->owner_pid;
	/* unbound by the policy or by hand: quarantined until a driver is bound again */
	if ((old_driver[0] == 0) != (f->driver[0] == 0))
		(void)function_input(f, f->driver[0] == 0 ? FUNCTION_INPUT_UNBOUND : FUNCTION_INPUT_BOUND);
	if (old_driver[0] != 0 && f->driver[0] == 0)
		CALL_HOOKS(r, unbound, f);
	if (changed && announce) {
		FunctionFields ff;

		function_fields(f, &ff);
		log_fields(r->log, LOG_INFO, MESSAGE_ID_FUNCTION_BINDING_CHANGED, ff.v, ff.n,
			   "Function 0x%08" PRIx32 " (%s): driver %s -> %s%s.", f->attrs.fid, f->attrs.slot,
			   old_driver[0] == '\0' ? "(none)" : old_driver,
			   isempty(f->driver) ? "(none)" : f->driver, owner_text(f, ot, sizeof(ot)));
	}
	if (binding_read(r, f))
		changed = true;
	return changed;
}

static void flush_appeared(Registry *r, ZpciFunction *f);

static void drop_function(Registry *r, ZpciFunction *f, bool announce)
{
	flush_appeared(r, f);
	/* its claim ends, its device is released, what it held back is written */
	CALL_HOOKS(r, dropping, f, announce);
	if (announce)
		(void)function_input(f, FUNCTION_INPUT_REMOVED);
	else /* shutting down: nothing was removed */
		(void)function_apply_input(f, FUNCTION_INPUT_REMOVED, NULL);
	if (announce) {
		FunctionFields ff;

		function_fields(f, &ff);
		log_fields(r->log, LOG_INFO, MESSAGE_ID_FUNCTION_REMOVED, ff.v, ff.n,
			   "Function 0x%08" PRIx32 " (%s) removed.", f->attrs.fid, f->attrs.slot);
		registry_notify(r, REGISTRY_FUNCTION_REMOVED, f);
	}
	remove_function(r, f);
	function_unref(f);
}

static void log_appeared(Registry *r, ZpciFunction *f)
{
	FunctionFields ff;
	char ot[64], name[2 * FUNCTION_NAME_MAX + 8] = "";

	registry_function_names(r, f);
	if (!isempty(f->vendor_name) || !isempty(f->device_name))
		(void)snprintf(name, sizeof(name), " %s%s%s", f->vendor_name,
			       !isempty(f->vendor_name) && !isempty(f->device_name) ? " " : "",
			       f->device_name);
	function_fields(f, &ff);
	log_fields(r->log, LOG_INFO, MESSAGE_ID_FUNCTION_APPEARED, ff.v, ff.n,
		   "Function 0x%08" PRIx32 " at %s%s (%s), driver %s%s, mode %s.", f->attrs.fid,
		   f->attrs.slot, name,
		   (f->attrs.has & ZPCI_ATTR_HAS_PFT) ? zpci_pft_to_string(f->attrs.pft) : "type unknown",
		   isempty(f->driver) ? "(none)" : f->driver, owner_text(f, ot, sizeof(ot)),
		   function_mode_to_string(f->mode));
}

/* Re-index @f when its slot or UID changed from @old. */
static int reindex(Registry *r, ZpciFunction *f, const ZpciAttrs *old)
{
	int q = 0;

	if (!streq(old->slot, f->attrs.slot)) {
		ZpciAttrs now = f->attrs;

		f->attrs = *old;
		index_remove(&r->by_slot, f);
		f->attrs = now;
		q = index_put(&r->by_slot, f);
	}
	if (old->uid != f->attrs.uid || old->uid_is_unique != f->attrs.uid_is_unique ||
	    (old->has & ZPCI_ATTR_HAS_UID) != (f->attrs.has & ZPCI_ATTR_HAS_UID)) {
		ZpciAttrs now = f->attrs;

		f->attrs = *old;
		index_remove(&r->by_uid, f);
		f->attrs = now;
		if (uid_indexed(f) && q >= 0)
			q = index_put(&r->by_uid, f);
	}
	return q;
}

/*
 * Read the PCI device @slot at @syspath, whose directory is @dirfd (add,
 * bind, unbind, change, move, or enumeration) and bring the registry in
 * line. Returns the function (borrowed) or NULL when it is not a zPCI
 * function or has gone.
 */
static ZpciFunction *process_function(Registry *r, const char *syspath, const char *slot, int dirfd,
				      bool announce)
{
	SysfsZpciProblems problems = {};
	ZpciFunction *f, *at_slot;
	ZpciAttrs attrs;
	int q;

	q = sysfs_zpci_read_attrs(dirfd, slot, &attrs, &problems);
	if (q == -ENOENT || q == -ENODEV) {
		log_debug(r->log, "PCI device %s vanished while it was read.", slot);
		return NULL;
	}
	if (q == 1) {
		/* Not (or no longer) a zPCI function. */
		at_slot = registry_get_by_slot(r, slot);
		if (at_slot)
			drop_function(r, at_slot, true);
		return NULL;
	}
	if (q < 0) {
		log_problems(r, slot, &problems, NULL);
		if (q != -EBADMSG)
			log_warning_errno(r->log, q, "Failed to read PCI device %s, ignoring: %m", slot);
		return NULL;
	}

	/* A different function now at this address: the old one is gone. */
	at_slot = registry_get_by_slot(r, slot);
	if (at_slot && at_slot->attrs.fid != attrs.fid) {
		drop_function(r, at_slot, true);
		at_slot = NULL;
	}

	f = registry_get_by_fid(r, attrs.fid);
	if (!f) {
		_cleanup_(function_unrefp) ZpciFunction *n = NULL;

		q = function_new(&n, r->context, &attrs, syspath);
		if (q < 0)
			return log_oom(r->log), NULL;
		log_problems(r, slot, &problems, &n->attr_problems_logged);
		q = update_binding(r, n, dirfd, false);
		if (q == -ENOENT) {
			log_debug(r->log, "PCI device %s vanished while it was read.", slot);
			CALL_HOOKS(r, dropping, n, false);
			return NULL;
		}
		q = insert_function(r, n);
		if (q < 0) {
			CALL_HOOKS(r, dropping, n, false);
			log_error_errno(r->log, q, "Failed to add function 0x%08" PRIx32 ": %m", attrs.fid);
			return NULL;
		}
		f = TAKE_PTR(n);
		if (r->enumerating) {
			f->appeared_pending = true;
			r->n_appeared_pending++;
		} else
			log_appeared(r, f);
		registry_notify(r, REGISTRY_FUNCTION_ADDED, f);
		return f;
	}

	/* A known function: follow its handle, address and attributes. */
	{
		ZpciAttrs old = f->attrs;
		bool changed = false;

		/* Its start-up record first, as it was found. */
		flush_appeared(r, f);
		log_problems(r, slot, &problems, &f->attr_problems_logged);
		if (memcmp(&old, &attrs, sizeof(attrs)) != 0) {
			f->attrs = attrs;
			changed = true;
			if (reindex(r, f, &old) < 0)
				log_oom(r->log);
			if ((old.has & ZPCI_ATTR_HAS_IDS) != (attrs.has & ZPCI_ATTR_HAS_IDS) ||
			    old.vendor != attrs.vendor || old.device != attrs.device)
				f->names_known = false;
			if (syspath && (!f->syspath || !streq(f->syspath, syspath))) {
				char *p = strdup(syspath);

				if (p) {
					free(f->syspath);
					f->syspath = p;
				}
			}
		}
		if (old.fh != attrs.fh || (old.has & ZPCI_ATTR_HAS_FH) != (attrs.has & ZPCI_ATTR_HAS_FH)) {
			FunctionFields ff;

			function_fields(f, &ff);
			log_fields(r->log, LOG_INFO, MESSAGE_ID_FUNCTION_HANDLE_CHANGED, ff.v, ff.n,
				   "Function 0x%08" PRIx32 " (%s): handle 0x%08" PRIx32 " -> 0x%08" PRIx32
				   ".",
				   f->attrs.fid, f->attrs.slot, old.fh, attrs.fh);
		}
		q = update_binding(r, f, dirfd, announce);
		if (q == -ENOENT) {
			log_debug(r->log, "PCI device %s vanished while it was read.", slot);
			return f;
		}
		if (q > 0)
			changed = true;
		if (changed)
			registry_notify(r, REGISTRY_FUNCTION_CHANGED, f);
	}
	return f;
}

/* Open the uevent's device @d and process it. Returns what
 * process_function() returns. */
static ZpciFunction *process_device(Registry *r, struct udev_device *d, bool announce)
{
	const char *syspath = udev_device_get_syspath(d), *slot = udev_device_get_sysname(d);
	_cleanup_close_ int dirfd = -EBADF;
	ZpciFunction *at_slot;

	if (!syspath || !slot)
		return NULL;
	dirfd = sysfs_zpci_open_syspath(syspath);
	if (dirfd < 0) {
		if (dirfd != -ENOENT && dirfd != -ENODEV)
			log_warning_errno(r->log, dirfd, "Failed to open %s, ignoring: %m", syspath);
		else
			log_debug(r->log, "PCI device %s vanished before it could be read.", slot);
		at_slot = registry_get_by_slot(r, slot);
		if (at_slot)
			drop_function(r, at_slot, true);
		return NULL;
	}
	return process_function(r, syspath, slot, dirfd, announce);
}

int registry_refresh(Registry *r, ZpciFunction *f)
{
	_cleanup_close_ int dirfd = -EBADF;
	int q;

	dirfd = f->syspath ? sysfs_zpci_open_syspath(f->syspath) : -ENOENT;
	if (dirfd < 0)
		return dirfd == -ENODEV ? -ENOENT : dirfd;
	q = update_binding(r, f, dirfd, true);
	if (q < 0)
		return q;
	if (q > 0)
		registry_notify(r, REGISTRY_FUNCTION_CHANGED, f);
	return 0;
}

int registry_refresh_holder(Registry *r, ZpciFunction *f)
{
	pid_t old_pid = f->owner_pid;
	char old_comm[FUNCTION_COMM_MAX], ot[64];
	FunctionFields ff;

	if (registry_get_by_fid(r, f->attrs.fid) != f)
		return -ENOENT;
	memcpy(old_comm, f->owner_comm, sizeof(old_comm));
	find_owner(r, f);
	if (old_pid == f->owner_pid && streq(old_comm, f->owner_comm))
		return 0;
	function_fields(f, &ff);
	log_fields(r->log, LOG_INFO, MESSAGE_ID_FUNCTION_BINDING_CHANGED, ff.v, ff.n,
		   "Function 0x%08" PRIx32 " (%s): driver %s%s.", f->attrs.fid, f->attrs.slot,
		   isempty(f->driver) ? "(none)" : f->driver,
		   f->owner_pid > 0 ? owner_text(f, ot, sizeof(ot)) : ", no longer held");
	registry_notify(r, REGISTRY_FUNCTION_CHANGED, f);
	return 1;
}

static void process_event(Registry *r, struct udev_device *d)
{
	const char *action = udev_device_get_action(d), *slot = udev_device_get_sysname(d);
	ZpciFunction *f;

	if (!action || !slot)
		return;
	log_debug(r->log, "uevent %s %s", action, slot);

	if (streq(action, "remove")) {
		f = registry_get_by_slot(r, slot);
		if (f)
			drop_function(r, f, true);
		return;
	}

	/* add, bind, unbind, change, move, online, offline: read it again. */
	f = process_device(r, d, true);
	if (f)
		CALL_HOOKS(r, uevent, f, action, d);
}

static void on_monitor(evutil_socket_t fd, short what, void *userdata)
{
	Registry *r = ASSERT_PTR(userdata);

	for (;;) {
		struct udev_device *d;

		errno = 0;
		d = udev_monitor_receive_device(r->monitor);
		if (!d) {
			/* The socket's receive buffer overflowed: uevents are lost,
			 * and which ones is unknown. Only a full look at the bus
			 * says what changed meanwhile. */
			if (errno == ENOBUFS) {
				log_warning(r->log, "Lost uevents (the udev monitor's receive buffer "
						    "overflowed); enumerating the PCI bus again.");
				(void)registry_resync(r);
				continue;
			}
			break;
		}
		process_event(r, d);
		udev_device_unref(d);
	}
	for (size_t i = 0; i < r->n_hooks; i++)
		if (r->hooks[i].hooks->settled)
			r->hooks[i].hooks->settled(r->hooks[i].userdata);
}

typedef struct Resync {
	Registry *registry;
	char (*seen)[EVENT_SLOT_MAX];
	size_t n, alloc;
} Resync;

static int resync_one(const char *syspath, const char *slot, int dirfd, void *userdata)
{
	Resync *rs = ASSERT_PTR(userdata);
	ZpciFunction *f;

	f = process_function(rs->registry, syspath, slot, dirfd, true);
	if (!f)
		return 0;
	if (rs->n == rs->alloc) {
		size_t na = rs->alloc ? rs->alloc * 2 : 64;
		void *p = reallocarray(rs->seen, na, sizeof(*rs->seen));

		if (!p)
			return -ENOMEM;
		rs->seen = p;
		rs->alloc = na;
	}
	(void)snprintf(rs->seen[rs->n++], EVENT_SLOT_MAX, "%s", f->attrs.slot);
	return 0;
}

int registry_resync(Registry *r)
{
	Resync rs = { .registry = r };
	int q;

	/* Read every device again (what changed is announced as a uevent
	 * would have), then drop the functions that are gone. */
	q = sysfs_zpci_enumerate(REGISTRY_SYSFS_ROOT, resync_one, &rs);
	if (q < 0) {
		free(rs.seen);
		return log_warning_errno(r->log, q, "Failed to enumerate the PCI bus again: %m");
	}
	for (size_t i = r->n; i > 0; i--) {
		ZpciFunction *f = r->by_fid[i - 1];
		bool seen = false;

		for (size_t k = 0; k < rs.n && !seen; k++)
			seen = streq(rs.seen[k], f->attrs.slot);
		if (!seen)
			drop_function(r, f, true);
	}
	free(rs.seen);
	return 0;
}

static void pci_warning(char *msg, ...)
{
	/* libpci's complaints (a missing pci.ids) only cost the names. */
}

int registry_new(Registry **ret, const RegistryOptions *options)
{
	_cleanup_(registry_freep) Registry *r = NULL;

	if (!options || !options->log)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->log = options->log;
	r->event_base = options->event_base;
	r->context = options->context;
	r->by_slot.hash_of = function_hash_slot;
	r->by_uid.hash_of = function_hash_uid;
	r->proc_root = strdup(options->proc_root ?: "/proc");
	r->dev_root = strdup(options->dev_root ?: "/dev");
	if (!r->proc_root || !r->dev_root)
		return -ENOMEM;
	*ret = TAKE_PTR(r);
	return 0;
}

static void log_found(Registry *r)
{
	log_info(r->log, "Found %zu zPCI function(s): %u bound to vfio, %u held by a process.", r->start_n,
		 r->start_n_vfio, r->start_n_held);
}

/* Write @f's start-up record if it is still to be written; the summary
 * follows the last one. */
static void flush_appeared(Registry *r, ZpciFunction *f)
{
	if (!f->appeared_pending)
		return;
	f->appeared_pending = false;
	log_appeared(r, f);
	assert(r->n_appeared_pending > 0);
	if (--r->n_appeared_pending == 0)
		log_found(r);
}

#define APPEARED_SLICE 128

static void on_appeared(evutil_socket_t fd, short what, void *userdata)
{
	Registry *r = ASSERT_PTR(userdata);
	unsigned written = 0;

	for (size_t i = 0; i < r->n && written < APPEARED_SLICE && r->n_appeared_pending > 0; i++)
		if (r->by_fid[i]->appeared_pending) {
			flush_appeared(r, r->by_fid[i]);
			written++;
		}
	if (r->n_appeared_pending > 0)
		event_active(r->appeared_event, EV_TIMEOUT, 0);
}

static int enumerate_one(const char *syspath, const char *slot, int dirfd, void *userdata)
{
	Registry *r = ASSERT_PTR(userdata);

	(void)process_function(r, syspath, slot, dirfd, false);
	return 0;
}

/*
 * Enumeration lists /sys/bus/pci/devices itself rather than through
 * libudev: libudev resolves every device path component by component
 * (several system calls per component, per device), while one readdir,
 * one openat relative to the bus directory and one readlinkat per device
 * give the same devices with the same syspaths. The monitor stays libudev's.
 */
static int enumerate(Registry *r)
{
	_cleanup_(owner_table_done) OwnerTable owners = {};
	unsigned n_vfio = 0, n_held = 0;
	ZpciFunction *f;
	int q, n_pci;

	/* One procfs scan answers "who holds it" for every function found now. */
	q = owner_scan(r->proc_root, r->dev_root, getpid(), &owners);
	if (q >= 0)
		r->start_owners = &owners;
	else
		log_warning_errno(r->log, q, "Failed to scan %s for holders of vfio devices, ignoring: %m",
				  r->proc_root);

	r->enumerating = true;
	n_pci = sysfs_zpci_enumerate(REGISTRY_SYSFS_ROOT, enumerate_one, r);
	r->enumerating = false;
	r->start_owners = NULL;
	if (n_pci < 0)
		return n_pci;

	REGISTRY_FOREACH (f, r) {
		n_vfio += sysfs_driver_is_vfio(f->driver);
		n_held += f->owner_pid > 0;
	}
	r->start_n = r->n;
	r->start_n_vfio = n_vfio;
	r->start_n_held = n_held;
	if (r->n == 0)
		log_fields(r->log, LOG_NOTICE, MESSAGE_ID_NO_FUNCTIONS, NULL, 0,
			   "No zPCI functions found (%d PCI device(s) present); watching for hotplug.",
			   n_pci);
	else if (r->n_appeared_pending == 0)
		log_found(r);
	else {
		/* One record per function costs start-up a datagram each that
		 * journald must take: they follow READY=1, on the loop. */
		r->appeared_event = event_new(r->event_base, -1, 0, on_appeared, r);
		if (!r->appeared_event)
			return -ENOMEM;
		event_active(r->appeared_event, EV_TIMEOUT, 0);
	}
	return 0;
}

int registry_start(Registry *r)
{
	int q;

	r->pci = pci_alloc();
	if (r->pci) {
		/* Names only: never scan the bus through libpci. */
		r->pci->warning = pci_warning;
		r->pci->method = PCI_ACCESS_SYS_BUS_PCI;
		pci_init(r->pci);
	}

	r->udev = udev_new();
	if (!r->udev)
		return -ENOMEM;

	/* The monitor first, so nothing that changes during enumeration is missed. */
	r->monitor = udev_monitor_new_from_netlink(r->udev, "udev");
	if (!r->monitor)
		return -EIO;
	q = udev_monitor_filter_add_match_subsystem_devtype(r->monitor, "pci", NULL);
	if (q < 0)
		return q;
	/* As udevd's own: a storm of uevents should fit, not overflow. */
	(void)udev_monitor_set_receive_buffer_size(r->monitor, 128 * 1024 * 1024);
	q = udev_monitor_enable_receiving(r->monitor);
	if (q < 0)
		return q;
	if (!r->event_base)
		return -EINVAL;
	r->monitor_event = event_new(r->event_base, udev_monitor_get_fd(r->monitor), EV_READ | EV_PERSIST,
				     on_monitor, r);
	if (!r->monitor_event)
		return -ENOMEM;
	if (event_add(r->monitor_event, NULL) < 0)
		return -EIO;

	return enumerate(r);
}

Registry *registry_free(Registry *r)
{
	if (!r)
		return NULL;
	if (r->monitor_event)
		event_free(r->monitor_event);
	/* Stopped before the start-up records were all written: write them. */
	for (size_t i = 0; i < r->n && r->n_appeared_pending > 0; i++)
		flush_appeared(r, r->by_fid[i]);
	if (r->appeared_event)
		event_free(r->appeared_event);
	while (r->n > 0)
		drop_function(r, r->by_fid[r->n - 1], false);
	free(r->by_fid);
	index_done(&r->by_slot);
	index_done(&r->by_uid);
	free(r->subscribers);
	free(r->hooks);
	if (r->monitor)
		udev_monitor_unref(r->monitor);
	if (r->udev)
		udev_unref(r->udev);
	if (r->pci)
		pci_cleanup(r->pci);
	free(r->proc_root);
	free(r->dev_root);
	free(r);
	return NULL;
}
