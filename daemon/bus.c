/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/bus-private.h"
#include "daemon/policy.h"
#include "daemon/registry.h"

static void on_bus_io(evutil_socket_t fd, short what, void *userdata);

static void bus_break(Bus *b, int r)
{
	if (b->broken)
		return;
	b->broken = true;
	(void)event_del(b->io_event);
	(void)event_del(b->timer_event);
	if (b->deps.lost) {
		b->deps.lost(b->deps.userdata, r);
		return;
	}
	log_error_errno(b->deps.log, r,
			"Lost the connection to the system bus, continuing without the D-Bus API: %m");
}

void bus_rearm(Bus *b)
{
	uint64_t usec;
	int events, fd;
	short what;

	if (!b || b->broken)
		return;
	fd = sd_bus_get_fd(b->bus);
	events = sd_bus_get_events(b->bus);
	if (fd < 0 || events < 0) {
		bus_break(b, fd < 0 ? fd : events);
		return;
	}
	what = (short)(((events & POLLIN) ? EV_READ : 0) | ((events & POLLOUT) ? EV_WRITE : 0));
	/* persistent, so that most sends and wake-ups, which leave the events
	 * as they were, cost no epoll_ctl() */
	if (fd != b->io_fd || what != b->io_what || !event_pending(b->io_event, EV_READ | EV_WRITE, NULL)) {
		(void)event_del(b->io_event);
		(void)event_assign(b->io_event, b->deps.event_base, fd, what | EV_PERSIST, on_bus_io, b);
		(void)event_add(b->io_event, NULL);
		b->io_fd = fd;
		b->io_what = what;
	}

	if (sd_bus_get_timeout(b->bus, &usec) >= 0 && usec != UINT64_MAX) {
		uint64_t now = now_usec(CLOCK_MONOTONIC), rel = usec > now ? usec - now : 0;
		struct timeval tv = { .tv_sec = (time_t)(rel / USEC_PER_SEC),
				      .tv_usec = (suseconds_t)(rel % USEC_PER_SEC) };

		(void)evtimer_add(b->timer_event, &tv);
	} else
		(void)evtimer_del(b->timer_event);
}

static void on_bus_io(evutil_socket_t fd, short what, void *userdata)
{
	Bus *b = ASSERT_PTR(userdata);
	int r;

	do {
		r = sd_bus_process(b->bus, NULL);
		if (r < 0) {
			bus_break(b, r);
			return;
		}
	} while (r > 0);
	bus_rearm(b);
}

/* --- PropertiesChanged: only what changed ---------------------------------- */

static int compare_snapshot(const void *key, const void *elem)
{
	uint32_t fid = *(const uint32_t *)key, other = ((const BusFunctionSnapshot *)elem)->fid;

	return fid < other ? -1 : fid > other;
}

static BusFunctionSnapshot *snapshot_find(Bus *b, uint32_t fid)
{
	if (b->n_snapshots == 0)
		return NULL;
	return bsearch(&fid, b->snapshots, b->n_snapshots, sizeof(BusFunctionSnapshot), compare_snapshot);
}

static void snapshot_fill(BusFunctionSnapshot *s, const ZpciFunction *f)
{
	s->fid = f->attrs.fid;
	s->attrs = f->attrs;
	memcpy(s->driver, f->driver, sizeof(s->driver));
	s->mode = f->mode;
	s->state = f->state;
	s->owner_pid = f->owner_pid;
	memcpy(s->owner_comm, f->owner_comm, sizeof(s->owner_comm));
	s->counters = f->counters;
	s->has_last_error = f->has_last_error;
	s->last_error_seq = f->has_last_error ? f->last_error.seq : 0;
	s->last_error_time = f->has_last_error ? f->last_error.time_usec : 0;
	memcpy(s->owner_machine, f->owner_machine, sizeof(s->owner_machine));
	memcpy(s->owner_machine_class, f->owner_machine_class, sizeof(s->owner_machine_class));
	memcpy(s->owner_unit, f->owner_unit, sizeof(s->owner_unit));
}

/* Record @f's values as announced (inserting its snapshot if new). Returns
 * 0 or -ENOMEM. */
static int snapshot_take(Bus *b, const ZpciFunction *f)
{
	BusFunctionSnapshot *s = snapshot_find(b, f->attrs.fid);
	size_t i;

	if (!s) {
		if (b->n_snapshots == b->n_snapshots_allocated) {
			size_t n = b->n_snapshots_allocated ? b->n_snapshots_allocated * 2 : 16;
			BusFunctionSnapshot *p = realloc(b->snapshots, n * sizeof(*p));

			if (!p)
				return -ENOMEM;
			b->snapshots = p;
			b->n_snapshots_allocated = n;
		}
		for (i = 0; i < b->n_snapshots && b->snapshots[i].fid < f->attrs.fid; i++)
			;
		memmove(b->snapshots + i + 1, b->snapshots + i, (b->n_snapshots - i) * sizeof(*s));
		b->n_snapshots++;
		s = &b->snapshots[i];
	}
	snapshot_fill(s, f);
	return 0;
}

static void snapshot_drop(Bus *b, uint32_t fid)
{
	BusFunctionSnapshot *s = snapshot_find(b, fid);
	size_t i;

	if (!s)
		return;
	i = (size_t)(s - b->snapshots);
	memmove(s, s + 1, (b->n_snapshots - i - 1) * sizeof(*s));
	b->n_snapshots--;
}

/* The names of @f's properties whose values differ from @s, NULL-terminated
 * in @names (room for every property). LastError is among them when the
 * last error is another record; its flag in the vtable makes sd-bus send it
 * as invalidated. */
static void snapshot_diff(const BusFunctionSnapshot *s, const ZpciFunction *f, const char **names)
{
	const ZpciAttrs *a = &s->attrs, *n = &f->attrs;
	const FunctionCounters *c = &s->counters, *d = &f->counters;
	size_t k = 0;

#define DIFF(cond, name)                     \
	do {                                 \
		if (cond)                    \
			names[k++] = (name); \
	} while (0)
	DIFF(a->uid != n->uid, "UID");
	DIFF(a->uid_is_unique != n->uid_is_unique, "UIDIsUnique");
	DIFF(a->pchid != n->pchid, "PCHID");
	DIFF(a->pft != n->pft, "PFT");
	DIFF(a->pft != n->pft || (a->has & ZPCI_ATTR_HAS_PFT) != (n->has & ZPCI_ATTR_HAS_PFT), "PFTName");
	DIFF(a->vfn != n->vfn, "VFN");
	DIFF(a->port != n->port, "Port");
	DIFF(a->fh != n->fh, "FunctionHandle");
	DIFF(!streq(a->slot, n->slot), "Slot");
	/* The names follow from the ids, and are looked up only when read. */
	DIFF((a->has & ZPCI_ATTR_HAS_IDS) != (n->has & ZPCI_ATTR_HAS_IDS) || a->vendor != n->vendor,
	     "VendorName");
	DIFF((a->has & ZPCI_ATTR_HAS_IDS) != (n->has & ZPCI_ATTR_HAS_IDS) || a->vendor != n->vendor ||
		     a->device != n->device,
	     "DeviceName");
	DIFF(!streq(s->driver, f->driver), "Driver");
	DIFF(s->mode != f->mode, "Mode");
	DIFF(s->state != f->state, "State");
	DIFF(s->owner_pid != f->owner_pid, "OwnerPID");
	DIFF(!streq(s->owner_comm, f->owner_comm), "OwnerCommand");
	DIFF(c->errors != d->errors, "Errors");
	DIFF(c->dropped != d->dropped, "Dropped");
	DIFF(c->recoveries != d->recoveries, "Recoveries");
	DIFF(c->actions != d->actions, "Actions");
	DIFF(c->resets != d->resets, "Resets");
	DIFF(c->coalesced != d->coalesced, "Coalesced");
	DIFF(s->has_last_error != f->has_last_error ||
		     (f->has_last_error && (s->last_error_seq != f->last_error.seq ||
					    s->last_error_time != f->last_error.time_usec)),
	     "LastError");
	DIFF(!streq(s->owner_machine, f->owner_machine), "OwnerMachine");
	DIFF(!streq(s->owner_machine_class, f->owner_machine_class), "OwnerMachineClass");
	DIFF(!streq(s->owner_unit, f->owner_unit), "OwnerUnit");
#undef DIFF
	names[k] = NULL;
}

static void emit_function_changes(Bus *b, uint32_t fid)
{
	const char *names[32];
	BusFunctionSnapshot *s;
	ZpciFunction *f;
	char path[64];
	int r;

	f = bus_lookup_function(b, fid);
	if (!f)
		return;
	(void)bus_function_path(fid, path, sizeof(path));
	s = snapshot_find(b, fid);
	if (!s) {
		/* Never announced: every property, once. */
		r = sd_bus_emit_properties_changed_strv(b->bus, path, BUS_FUNCTION_INTERFACE, NULL);
	} else {
		snapshot_diff(s, f, names);
		r = names[0] ? sd_bus_emit_properties_changed_strv(b->bus, path, BUS_FUNCTION_INTERFACE,
								   (char **)names)
			     : 0;
	}
	if (r < 0)
		log_debug_errno(b->deps.log, r, "Failed to emit PropertiesChanged of %s, ignoring: %m",
				path);
	if (snapshot_take(b, f) < 0)
		log_warning(b->deps.log, "Out of memory, PropertiesChanged of %s may repeat values.", path);
}

static const char *manager_policy_file(Bus *b)
{
	const Config *c = bus_config(b);

	return c && c->files && c->files[0] ? c->files[0] : "";
}

static void manager_snapshot_fill(Bus *b, BusManagerSnapshot *s)
{
	s->function_count = bus_function_count(b);
	s->policy_load_time = bus_config(b) ? bus_config(b)->loaded_usec : 0;
	s->dry_run = bus_policy(b) && bus_policy(b)->dry_run;
	s->inhibitors_generation = b->inhibitors_generation;
}

static void emit_manager_changes(Bus *b)
{
	BusManagerSnapshot now = {}, *s = &b->manager_snapshot;
	const char *names[8];
	size_t k = 0;
	int r;

	manager_snapshot_fill(b, &now);
	if (now.function_count != s->function_count)
		names[k++] = "FunctionCount";
	if (!streq(manager_policy_file(b), strempty(s->policy_file)))
		names[k++] = "PolicyFile";
	if (now.policy_load_time != s->policy_load_time)
		names[k++] = "PolicyLoadTime";
	if (now.dry_run != s->dry_run)
		names[k++] = "DryRun";
	if (now.inhibitors_generation != s->inhibitors_generation)
		names[k++] = "Inhibitors";
	names[k] = NULL;
	if (k > 0) {
		r = sd_bus_emit_properties_changed_strv(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE,
							(char **)names);
		if (r < 0)
			log_debug_errno(b->deps.log, r,
					"Failed to emit PropertiesChanged of the manager, ignoring: %m");
	}
	if (!streq(manager_policy_file(b), strempty(s->policy_file))) {
		char *copy = strdup(manager_policy_file(b));

		if (copy) {
			free(s->policy_file);
			s->policy_file = copy;
		}
	}
	s->function_count = now.function_count;
	s->policy_load_time = now.policy_load_time;
	s->dry_run = now.dry_run;
	s->inhibitors_generation = now.inhibitors_generation;
}

/* Snapshot every function the registry holds. Returns 0 or -ENOMEM. */
static int foreach_function_snapshot(Bus *b)
{
	ZpciFunction *f;
	int r;

	if (!b->deps.registry)
		return 0;
	REGISTRY_FOREACH (f, b->deps.registry) {
		r = snapshot_take(b, f);
		if (r < 0)
			return r;
	}
	return 0;
}

static void on_flush(evutil_socket_t fd, short what, void *userdata)
{
	Bus *b = ASSERT_PTR(userdata);

	b->flush_pending = false;
	if (b->broken)
		return;
	if (b->manager_dirty) {
		b->manager_dirty = false;
		emit_manager_changes(b);
	}
	for (size_t i = 0; i < b->n_dirty_fids; i++)
		emit_function_changes(b, b->dirty_fids[i]);
	b->n_dirty_fids = 0;
	bus_rearm(b);
}

void bus_schedule_flush(Bus *b)
{
	if (b->flush_pending)
		return;
	b->flush_pending = true;
	event_active(b->flush_event, EV_TIMEOUT, 0);
}

void bus_manager_changed(Bus *b)
{
	if (!b)
		return;
	b->manager_dirty = true;
	bus_schedule_flush(b);
}

void bus_function_changed(Bus *b, ZpciFunction *f)
{
	if (!b || !f)
		return;
	for (size_t i = 0; i < b->n_dirty_fids; i++)
		if (b->dirty_fids[i] == f->attrs.fid)
			return;
	if (b->n_dirty_fids == b->n_dirty_allocated) {
		size_t n = b->n_dirty_allocated ? b->n_dirty_allocated * 2 : 16;
		uint32_t *p = realloc(b->dirty_fids, n * sizeof(uint32_t));

		if (!p) {
			log_warning(b->deps.log, "Out of memory, dropping a PropertiesChanged signal.");
			return;
		}
		b->dirty_fids = p;
		b->n_dirty_allocated = n;
	}
	b->dirty_fids[b->n_dirty_fids++] = f->attrs.fid;
	bus_schedule_flush(b);
}

void bus_function_added(Bus *b, ZpciFunction *f)
{
	char path[64];
	int r;

	if (!b || !f || b->broken)
		return;
	(void)bus_function_path(f->attrs.fid, path, sizeof(path));
	if (snapshot_take(b, f) < 0)
		log_warning(b->deps.log, "Out of memory, PropertiesChanged of %s may repeat values.", path);
	r = sd_bus_emit_object_added(b->bus, path);
	if (r < 0)
		log_debug_errno(b->deps.log, r, "Failed to emit InterfacesAdded for %s, ignoring: %m", path);
	bus_manager_changed(b); /* FunctionCount */
	bus_rearm(b);
}

void bus_function_removed(Bus *b, ZpciFunction *f)
{
	char path[64];
	int r;

	if (!b || !f || b->broken)
		return;
	(void)bus_function_path(f->attrs.fid, path, sizeof(path));
	b->removing = f;
	r = sd_bus_emit_object_removed(b->bus, path);
	b->removing = NULL;
	if (r < 0)
		log_debug_errno(b->deps.log, r, "Failed to emit InterfacesRemoved for %s, ignoring: %m",
				path);
	snapshot_drop(b, f->attrs.fid);
	/* A pending PropertiesChanged for it would find nothing. */
	for (size_t i = 0; i < b->n_dirty_fids; i++)
		if (b->dirty_fids[i] == f->attrs.fid) {
			b->dirty_fids[i] = b->dirty_fids[--b->n_dirty_fids];
			break;
		}
	bus_manager_changed(b);
	bus_rearm(b);
}

/* AdapterEvent(q pchid, i port, au fids, u functions, a{sv} event): port -1
 * when the adapter is the PCHID alone. */
static int bus_emit_adapter_event(Bus *b, const ZpciEvent *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	r = sd_bus_message_new_signal(b->bus, &msg, BUS_PATH, BUS_MANAGER_INTERFACE, "AdapterEvent");
	if (r >= 0)
		r = sd_bus_message_append(msg, "qi", e->pchid,
					  (e->has & EVENT_HAS_PORT) ? (int32_t)e->port : (int32_t)-1);
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'a', "u");
	for (const char *p = e->adapter_fids; r >= 0 && *p;) {
		char *end;
		unsigned long fid = strtoul(p, &end, 16);

		if (end == p)
			break;
		r = sd_bus_message_append_basic(msg, 'u', &(uint32_t){ (uint32_t)fid });
		p = *end == ',' ? end + 1 : end;
	}
	if (r >= 0)
		r = sd_bus_message_close_container(msg);
	if (r >= 0)
		r = sd_bus_message_append(msg, "u", e->adapter_functions);
	if (r >= 0)
		r = bus_append_event(msg, e);
	if (r >= 0)
		r = sd_bus_send(b->bus, msg, NULL);
	return r < 0 ? r : 0;
}

int bus_emit_event(Bus *b, const ZpciFunction *f, const ZpciEvent *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	const char *member;
	int r;

	if (!b || b->broken)
		return 0;
	if (e->kind == EVENT_ADAPTER) {
		r = bus_emit_adapter_event(b, e);
		bus_rearm(b);
		return r;
	}
	if (e->kind == EVENT_ACTION)
		member = action_type_from_string(e->action) == ACTION_ALERT ? "Alert" : "ActionTaken";
	else if (e->kind == EVENT_RECOVERY)
		member = "RecoveryReported";
	else
		member = "ErrorReported";

	r = sd_bus_message_new_signal(b->bus, &msg, BUS_PATH, BUS_MANAGER_INTERFACE, member);
	if (r >= 0)
		r = bus_append_event(msg, e);
	if (r >= 0)
		r = sd_bus_send(b->bus, msg, NULL);
	if (f)
		bus_function_changed(b, (ZpciFunction *)f);
	bus_rearm(b);
	return r < 0 ? r : 0;
}

int bus_function_path(uint32_t fid, char *buf, size_t size)
{
	return snprintf(buf, size, BUS_FUNCTION_PREFIX "/%08x", fid) < (int)size ? 0 : -ENOBUFS;
}

static void on_registry_change(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata)
{
	Bus *b = ASSERT_PTR(userdata);

	switch (change) {
	case REGISTRY_FUNCTION_ADDED:
		bus_function_added(b, f);
		break;
	case REGISTRY_FUNCTION_CHANGED:
		bus_function_changed(b, f);
		break;
	case REGISTRY_FUNCTION_REMOVED:
		bus_function_removed(b, f);
		break;
	}
}

int bus_new(Bus **ret, const BusDeps *deps)
{
	_cleanup_(bus_freep) Bus *b = NULL;
	int r;

	if (!deps || !deps->event_base || !deps->log || !deps->config)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->deps = *deps;

	r = sd_bus_open_system_with_description(&b->bus, "zpcid");
	if (r < 0)
		return r;

	b->io_event = event_new(deps->event_base, -1, 0, on_bus_io, b);
	b->io_fd = -1;
	b->timer_event = evtimer_new(deps->event_base, on_bus_io, b);
	b->flush_event = event_new(deps->event_base, -1, 0, on_flush, b);
	if (!b->io_event || !b->timer_event || !b->flush_event)
		return -ENOMEM;

	r = bus_manager_register(b);
	if (r < 0)
		return r;
	r = bus_function_register(b);
	if (r < 0)
		return r;
	r = sd_bus_add_object_manager(b->bus, &b->object_manager_slot, BUS_PATH);
	if (r < 0)
		return r;

	/* What the first PropertiesChanged is measured against. */
	r = foreach_function_snapshot(b);
	if (r < 0)
		return r;
	manager_snapshot_fill(b, &b->manager_snapshot);
	b->manager_snapshot.policy_file = strdup(manager_policy_file(b));
	if (!b->manager_snapshot.policy_file)
		return -ENOMEM;

	r = sd_bus_request_name(b->bus, BUS_NAME, 0);
	if (r < 0)
		return r;

	if (deps->registry) {
		r = registry_subscribe(deps->registry, on_registry_change, b);
		if (r < 0)
			return r;
		b->subscribed = true;
	}

	bus_rearm(b);
	*ret = TAKE_PTR(b);
	return 0;
}

Bus *bus_free(Bus *b)
{
	if (!b)
		return NULL;
	if (b->subscribed)
		(void)registry_unsubscribe(b->deps.registry, on_registry_change, b);
	bus_inhibitors_free(b);
	bus_summary_calls_detach(b);
	if (b->bus && !b->broken)
		(void)sd_bus_flush(b->bus);
	sd_bus_slot_unref(b->manager_slot);
	sd_bus_slot_unref(b->object_manager_slot);
	sd_bus_slot_unref(b->function_slot);
	sd_bus_slot_unref(b->enumerator_slot);
	sd_bus_close_unref(b->bus);
	if (b->io_event)
		event_free(b->io_event);
	if (b->timer_event)
		event_free(b->timer_event);
	if (b->flush_event)
		event_free(b->flush_event);
	free(b->dirty_fids);
	free(b->snapshots);
	free(b->manager_snapshot.policy_file);
	free(b);
	return NULL;
}

struct sd_bus *bus_connection(Bus *b)
{
	return b && !b->broken ? b->bus : NULL;
}

void bus_kick(Bus *b)
{
	bus_rearm(b);
}
