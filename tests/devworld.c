/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the world's life cycle (see devworld.h). A world is a umockdev
 * testbed, the table of its functions and one lock that the test thread
 * and umockdev's worker thread (the ioctl handlers) share; worlds of other
 * tests may run beside it. What the world emulates lives beside this file:
 * devworld-sysfs.c (functions, drivers, uevents), devworld-vfio.c (the
 * kernel's VFIO side), devworld-errors.c (the platform's error reports),
 * devworld-kmsg.c, devworld-holder.c (a VMM), devworld-daemon.c (the real
 * zpcid as a child) and devworld-lpar.c (LPAR files).
 *
 * This code does not decide anything about zpcid: it only behaves like the
 * kernel and records what its clients did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "tests/devworld-private.h"

/* ------------------------------------------------------------------ */
/* Small helpers */

void dw_fn_log(DwFn *fn, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	g_string_append_vprintf(fn->oplog, format, ap);
	va_end(ap);
	g_string_append_c(fn->oplog, '\n');
}

DwFn *dw_fn_get(Devworld *w, uint32_t fid)
{
	return g_hash_table_lookup(w->fns, GUINT_TO_POINTER(fid));
}

int dw_write_file(const char *path, const char *text)
{
	GError *e = NULL;

	if (!g_file_set_contents(path, text, -1, &e)) {
		int r = e->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO;
		g_error_free(e);
		return r;
	}
	return 0;
}

char *dw_tb_path(Devworld *w, const char *path)
{
	return g_build_filename(w->root, path, NULL);
}

void dw_signal_efd(int efd)
{
	uint64_t one = 1;

	if (efd >= 0)
		(void)!write(efd, &one, sizeof(one));
}

int dw_wait_cond(Devworld *w, DwFn *fn, bool (*pred)(DwFn *, const void *), const void *arg,
		 unsigned timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	int r = 0;

	g_mutex_lock(&w->lock);
	while (!pred(fn, arg))
		if (!g_cond_wait_until(&w->cond, &w->lock, end)) {
			r = pred(fn, arg) ? 0 : -ETIMEDOUT;
			break;
		}
	g_mutex_unlock(&w->lock);
	return r;
}

/* ------------------------------------------------------------------ */
/* World */

void dw_fn_free(gpointer p)
{
	DwFn *fn = p;

	if (fn->err_efd >= 0)
		close(fn->err_efd);
	if (fn->req_efd >= 0)
		close(fn->req_efd);
	if (fn->holder_pipe >= 0)
		close(fn->holder_pipe);
	g_free(fn->driver);
	g_free(fn->syspath);
	g_free(fn->slot_dir);
	g_free(fn->group_syspath);
	g_free(fn->cdev_syspath);
	g_string_free(fn->oplog, TRUE);
	g_free(fn);
}

int devworld_new(Devworld **ret)
{
	Devworld *w;
	int r;

	w = g_new0(Devworld, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	w->kmsg_fd = w->daemon_out = w->tee_fd = -1;
	w->kmsg_on_error = true;
	/* Group and cdev numbers of their own per world: a daemon's holder scan
	 * matches "/dev/vfio/N" at the end of any path, also one in the test bed
	 * of another world (another test, or a benchmark, running at the same
	 * time). */
	w->next_group = 40 + ((unsigned)getpid() % 4096) * 64;
	w->next_cdev = ((unsigned)getpid() % 4096) * 64;
	w->fns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, dw_fn_free);
	w->clients = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	w->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	w->log = g_string_new(NULL);

	w->tb = umockdev_testbed_new();
	if (!w->tb) {
		devworld_free(w);
		return -ENOMEM;
	}
	w->root = umockdev_testbed_get_root_dir(w->tb);
	dw_vfio_init(w);
	r = dw_kmsg_open(w);
	if (r < 0) {
		devworld_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

const char *devworld_root(const Devworld *w)
{
	return w->root;
}

Devworld *devworld_free(Devworld *w)
{
	GHashTableIter it;
	gpointer k, v;

	if (!w)
		return NULL;
	if (w->daemon_pid > 0)
		(void)devworld_stop_daemon(w, 5000);
	if (w->fns) {
		g_hash_table_iter_init(&it, w->fns);
		while (g_hash_table_iter_next(&it, &k, &v))
			dw_holder_stop(v);
	}
	dw_vfio_done(w);
	if (w->kmsg_fd >= 0)
		close(w->kmsg_fd);
	if (w->tee_fd >= 0)
		close(w->tee_fd);
	g_clear_object(&w->handler);
	g_clear_object(&w->tb);
	if (w->fns)
		g_hash_table_destroy(w->fns);
	if (w->clients)
		g_hash_table_destroy(w->clients);
	if (w->nodes)
		g_hash_table_destroy(w->nodes);
	if (w->log)
		g_string_free(w->log, TRUE);
	g_free(w->root);
	g_free(w->daemon_dir);
	g_free(w->state_dir);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->cond);
	g_free(w);
	return NULL;
}
