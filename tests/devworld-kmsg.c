/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld: the kernel log. /dev/kmsg of the testbed is a FIFO that a
 * process under the preload opens instead of the kernel's; records are
 * appended in the kernel's "PRIO,SEQ,TS,-;text" form.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/devworld-private.h"

static uint64_t now_usec(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int dw_kmsg_open(Devworld *w)
{
	g_autofree char *kmsg = NULL, *devdir = NULL;

	/* /dev/kmsg: a FIFO; holding it open read-write here means a reader
	 * never sees EOF and writes never wait for a reader */
	devdir = g_build_filename(w->root, "dev", NULL);
	(void)g_mkdir_with_parents(devdir, 0755);
	kmsg = g_build_filename(devdir, "kmsg", NULL);
	if (mkfifo(kmsg, 0600) < 0)
		return -errno;
	w->kmsg_fd = open(kmsg, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (w->kmsg_fd < 0)
		return -errno;
	(void)fcntl(w->kmsg_fd, F_SETPIPE_SZ, 1024 * 1024);
	return 0;
}

int dw_kmsg_write_locked(Devworld *w, int level, const char *text)
{
	g_autofree char *line = NULL;
	size_t len;
	ssize_t n;

	if (w->kmsg_fd < 0)
		return -EBADF;
	/* facility kern (0), so PRIO is the level; one record per line */
	line = g_strdup_printf("%d,%" PRIu64 ",%" PRIu64 ",-;%s\n", level & 7, w->kmsg_seq++,
			       now_usec(CLOCK_MONOTONIC), text);
	len = strlen(line);
	n = write(w->kmsg_fd, line, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

static int kmsg_vprintf(Devworld *w, int level, const char *format, va_list ap)
{
	g_autofree char *text = g_strdup_vprintf(format, ap);
	int r;

	g_mutex_lock(&w->lock);
	r = dw_kmsg_write_locked(w, level, text);
	g_mutex_unlock(&w->lock);
	return r;
}

int devworld_kmsg(Devworld *w, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = kmsg_vprintf(w, 3, format, ap);
	va_end(ap);
	return r;
}

int devworld_kmsg_level(Devworld *w, int level, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = kmsg_vprintf(w, level, format, ap);
	va_end(ap);
	return r;
}

void devworld_set_kmsg_on_error(Devworld *w, bool enable)
{
	w->kmsg_on_error = enable;
}
