/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "daemon/holder-watch.h"
#include "daemon/sysfs-zpci.h"

#define NODE_EVENTS (IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)

/* One watched node of one function. Two functions never share a node, but
 * inotify gives one descriptor per inode, so lookups go by (wd, f). */
typedef struct Watch {
	int wd;
	ZpciFunction *f; /* a reference */
} Watch;

struct HolderWatch {
	Log *log;
	char *dev_root;
	uint64_t delay_usec;
	HolderWatchCallback callback;
	void *userdata;
	Registry *registry; /* attached to, or NULL */

	int fd;
	struct event *read_event;
	struct event *timer; /* armed only while a call is pending */
	bool timer_armed;

	Watch *watches;
	size_t n_watches, allocated;
	ZpciFunction **pending; /* references, each function once */
	size_t n_pending, allocated_pending;
};

static bool wd_in_use(const HolderWatch *w, int wd)
{
	for (size_t i = 0; i < w->n_watches; i++)
		if (w->watches[i].wd == wd)
			return true;
	return false;
}

static bool is_pending(const HolderWatch *w, const ZpciFunction *f)
{
	for (size_t i = 0; i < w->n_pending; i++)
		if (w->pending[i] == f)
			return true;
	return false;
}

static void unpend(HolderWatch *w, ZpciFunction *f)
{
	for (size_t i = 0; i < w->n_pending; i++)
		if (w->pending[i] == f) {
			function_unref(w->pending[i]);
			w->pending[i] = w->pending[--w->n_pending];
			return;
		}
}

/* Drop watch @i; the inotify watch goes when no other function uses it. */
static void drop_watch(HolderWatch *w, size_t i, bool rm)
{
	Watch x = w->watches[i];

	w->watches[i] = w->watches[--w->n_watches];
	if (rm && !wd_in_use(w, x.wd))
		(void)inotify_rm_watch(w->fd, x.wd);
	function_unref(x.f);
}

void holder_watch_forget(HolderWatch *w, ZpciFunction *f)
{
	if (!w || !f)
		return;
	for (size_t i = w->n_watches; i > 0; i--)
		if (w->watches[i - 1].f == f)
			drop_watch(w, i - 1, true);
	unpend(w, f);
}

/* Watch @node of @f: its descriptor, or -errno (nothing to watch). */
static int watch_node(HolderWatch *w, ZpciFunction *f, const char *node)
{
	char path[PATH_MAX];
	int wd;

	(void)snprintf(path, sizeof(path), "%s/vfio/%s", w->dev_root, node);
	wd = inotify_add_watch(w->fd, path, NODE_EVENTS);
	if (wd >= 0)
		return wd;
	if (errno == ENOMEM || errno == ENOSPC)
		log_warning_errno(w->log, -errno,
				  "Failed to watch %s, a new holder of function 0x%08x is seen at its next "
				  "uevent only: %m",
				  path, f->attrs.fid);
	else
		log_debug_errno(w->log, -errno, "Not watching %s: %m", path);
	return -errno;
}

int holder_watch_update(HolderWatch *w, ZpciFunction *f)
{
	int wds[2], n = 0;
	bool kept[2] = {};
	char node[40];

	/* Watching a node again gives its descriptor again: the watches that
	 * stay are kept, with the events queued for them. */
	if (sysfs_driver_is_vfio(f->driver) && !f->vfio) {
		if (f->iommu_group >= 0) {
			(void)snprintf(node, sizeof(node), "%d", f->iommu_group);
			wds[n] = watch_node(w, f, node);
			n += wds[n] >= 0;
		}
		if (f->vfio_cdev[0] != '\0') {
			(void)snprintf(node, sizeof(node), "devices/%s", f->vfio_cdev);
			wds[n] = watch_node(w, f, node);
			n += wds[n] >= 0 && (n == 0 || wds[0] != wds[n]);
		}
	}
	for (size_t i = w->n_watches; i > 0; i--) {
		int j;

		if (w->watches[i - 1].f != f)
			continue;
		for (j = 0; j < n; j++)
			if (w->watches[i - 1].wd == wds[j] && !kept[j])
				break;
		if (j < n)
			kept[j] = true;
		else
			drop_watch(w, i - 1, true);
	}
	for (int j = 0; j < n; j++) {
		if (kept[j])
			continue;
		if (w->n_watches == w->allocated) {
			size_t a = w->allocated ? w->allocated * 2 : 16;
			Watch *p = reallocarray(w->watches, a, sizeof(*p));

			if (!p)
				return -ENOMEM;
			w->watches = p;
			w->allocated = a;
		}
		w->watches[w->n_watches++] = (Watch){ .wd = wds[j], .f = function_ref(f) };
	}
	return n;
}

size_t holder_watch_count(const HolderWatch *w)
{
	return w ? w->n_watches : 0;
}

static void arm(HolderWatch *w)
{
	struct timeval tv = {
		.tv_sec = (time_t)(w->delay_usec / 1000000),
		.tv_usec = (suseconds_t)(w->delay_usec % 1000000),
	};

	if (w->timer_armed)
		return;
	if (event_add(w->timer, &tv) == 0)
		w->timer_armed = true;
}

static void pend(HolderWatch *w, ZpciFunction *f)
{
	if (is_pending(w, f))
		return;
	if (w->n_pending == w->allocated_pending) {
		size_t n = w->allocated_pending ? w->allocated_pending * 2 : 8;
		ZpciFunction **p = reallocarray(w->pending, n, sizeof(*p));

		if (!p) {
			log_oom(w->log);
			return;
		}
		w->pending = p;
		w->allocated_pending = n;
	}
	w->pending[w->n_pending++] = function_ref(f);
	arm(w);
}

static void on_inotify(evutil_socket_t fd, short what, void *userdata)
{
	HolderWatch *w = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)what;
	for (;;) {
		ssize_t l = read(fd, buf, sizeof(buf));

		if (l < 0) {
			if (errno != EINTR && errno != EAGAIN)
				log_warning_errno(w->log, -errno, "Failed to read the vfio node watch: %m");
			if (errno == EINTR)
				continue;
			return;
		}
		for (char *p = buf; p < buf + l;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				/* events lost: any function may have a new holder */
				for (size_t i = 0; i < w->n_watches; i++)
					pend(w, w->watches[i].f);
				continue;
			}
			if (e->mask & IN_IGNORED) {
				/* the node is gone (its watch with it) */
				for (size_t i = w->n_watches; i > 0; i--)
					if (w->watches[i - 1].wd == e->wd)
						drop_watch(w, i - 1, false);
				continue;
			}
			if (!(e->mask & NODE_EVENTS))
				continue;
			/* a descriptor no function uses any longer: ignored */
			for (size_t i = 0; i < w->n_watches; i++)
				if (w->watches[i].wd == e->wd)
					pend(w, w->watches[i].f);
		}
	}
}

static void on_timer(evutil_socket_t fd, short what, void *userdata)
{
	HolderWatch *w = userdata;
	ZpciFunction **batch = w->pending;
	size_t n = w->n_pending;

	(void)fd;
	(void)what;
	w->timer_armed = false;
	/* The callbacks may change the watches and pend again (a later burst:
	 * a later call). */
	w->pending = NULL;
	w->n_pending = w->allocated_pending = 0;
	for (size_t i = 0; i < n; i++) {
		if (w->callback)
			w->callback(w, batch[i], w->userdata);
		else if (w->registry)
			(void)registry_refresh_holder(w->registry, batch[i]);
		function_unref(batch[i]);
	}
	free(batch);
}

int holder_watch_new(HolderWatch **ret, const HolderWatchOptions *options)
{
	_cleanup_(holder_watch_freep) HolderWatch *w = NULL;

	if (!ret || !options || !options->log || !options->event_base)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (HolderWatch){
		.log = options->log,
		.delay_usec = options->delay_usec ?: HOLDER_WATCH_DELAY_USEC,
		.callback = options->callback,
		.userdata = options->userdata,
		.fd = -EBADF,
	};
	w->dev_root = strdup(options->dev_root ?: "/dev");
	if (!w->dev_root)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->read_event = event_new(options->event_base, w->fd, EV_READ | EV_PERSIST, on_inotify, w);
	w->timer = evtimer_new(options->event_base, on_timer, w);
	if (!w->read_event || !w->timer || event_add(w->read_event, NULL) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(w);
	return 0;
}

static void on_registry_change(Registry *r, RegistryChange change, ZpciFunction *f, void *userdata)
{
	HolderWatch *w = userdata;

	(void)r;
	if (change == REGISTRY_FUNCTION_REMOVED)
		holder_watch_forget(w, f);
	else if (holder_watch_update(w, f) < 0)
		log_oom(w->log);
}

int holder_watch_attach(HolderWatch *w, Registry *r)
{
	ZpciFunction *f;
	int q;

	if (!w || !r || w->registry)
		return -EINVAL;
	q = registry_subscribe(r, on_registry_change, w);
	if (q < 0)
		return q;
	w->registry = r;
	REGISTRY_FOREACH (f, r)
		if (holder_watch_update(w, f) < 0)
			return -ENOMEM;
	return 0;
}

HolderWatch *holder_watch_free(HolderWatch *w)
{
	if (!w)
		return NULL;
	if (w->registry)
		(void)registry_unsubscribe(w->registry, on_registry_change, w);
	while (w->n_watches > 0)
		drop_watch(w, w->n_watches - 1, false);
	free(w->watches);
	for (size_t i = 0; i < w->n_pending; i++)
		function_unref(w->pending[i]);
	free(w->pending);
	if (w->read_event)
		event_free(w->read_event);
	if (w->timer)
		event_free(w->timer);
	if (w->fd >= 0)
		(void)close(w->fd);
	free(w->dev_root);
	free(w);
	return NULL;
}
