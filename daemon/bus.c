/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/bus-private.h"
#include "daemon/registry.h"

static void on_bus_io(evutil_socket_t fd, short what, void *userdata);

static uint64_t now_monotonic_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void bus_break(Bus *b, int r)
{
	if (b->broken)
		return;
	b->broken = true;
	(void)event_del(b->io_event);
	(void)event_del(b->timer_event);
	log_error_errno(b->manager->log, r,
			"Lost the connection to the system bus, continuing without the D-Bus API: %m");
}

void bus_rearm(Bus *b)
{
	uint64_t usec;
	int events, fd;

	if (!b || b->broken)
		return;
	fd = sd_bus_get_fd(b->bus);
	events = sd_bus_get_events(b->bus);
	if (fd < 0 || events < 0) {
		bus_break(b, fd < 0 ? fd : events);
		return;
	}
	(void)event_del(b->io_event);
	(void)event_assign(b->io_event, b->manager->event_base, fd,
			   ((events & POLLIN) ? EV_READ : 0) | ((events & POLLOUT) ? EV_WRITE : 0),
			   on_bus_io, b);
	(void)event_add(b->io_event, NULL);

	if (sd_bus_get_timeout(b->bus, &usec) >= 0 && usec != UINT64_MAX) {
		uint64_t now = now_monotonic_usec(), rel = usec > now ? usec - now : 0;
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

static void on_flush(evutil_socket_t fd, short what, void *userdata)
{
	Bus *b = ASSERT_PTR(userdata);
	char path[64];
	int r;

	b->flush_pending = false;
	if (b->broken)
		return;
	if (b->manager_dirty) {
		b->manager_dirty = false;
		r = sd_bus_emit_properties_changed_strv(b->bus, BUS_PATH, BUS_MANAGER_INTERFACE, NULL);
		if (r < 0)
			log_debug_errno(b->manager->log, r,
					"Failed to emit PropertiesChanged of the manager, ignoring: %m");
	}
	for (size_t i = 0; i < b->n_dirty_fids; i++) {
		(void)bus_function_path(b->dirty_fids[i], path, sizeof(path));
		r = sd_bus_emit_properties_changed_strv(b->bus, path, BUS_FUNCTION_INTERFACE, NULL);
		if (r < 0)
			log_debug_errno(b->manager->log, r,
					"Failed to emit PropertiesChanged of %s, ignoring: %m", path);
	}
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
			log_warning(b->manager->log, "Out of memory, dropping a PropertiesChanged signal.");
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
	r = sd_bus_emit_object_added(b->bus, path);
	if (r < 0)
		log_debug_errno(b->manager->log, r, "Failed to emit InterfacesAdded for %s, ignoring: %m",
				path);
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
		log_debug_errno(b->manager->log, r, "Failed to emit InterfacesRemoved for %s, ignoring: %m",
				path);
	/* A pending PropertiesChanged for it would find nothing. */
	for (size_t i = 0; i < b->n_dirty_fids; i++)
		if (b->dirty_fids[i] == f->attrs.fid) {
			b->dirty_fids[i] = b->dirty_fids[--b->n_dirty_fids];
			break;
		}
	bus_manager_changed(b);
	bus_rearm(b);
}

int bus_emit_event(Bus *b, const ZpciFunction *f, const ZpciEvent *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	const char *member;
	int r;

	if (!b || b->broken)
		return 0;
	if (e->kind == EVENT_ACTION)
		member = streq(e->action, "alert") ? "Alert" : "ActionTaken";
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

int bus_new(Bus **ret, Manager *m)
{
	_cleanup_(bus_freep) Bus *b = NULL;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->manager = m;

	r = sd_bus_open_system_with_description(&b->bus, "zpcid");
	if (r < 0)
		return r;

	b->io_event = event_new(m->event_base, -1, 0, on_bus_io, b);
	b->timer_event = evtimer_new(m->event_base, on_bus_io, b);
	b->flush_event = event_new(m->event_base, -1, 0, on_flush, b);
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

	r = sd_bus_request_name(b->bus, BUS_NAME, 0);
	if (r < 0)
		return r;

	if (m->registry) {
		r = registry_subscribe(m->registry, on_registry_change, b);
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
		(void)registry_unsubscribe(b->manager->registry, on_registry_change, b);
	bus_inhibitors_free(b);
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
	free(b);
	return NULL;
}
