/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/sysfs-write.h"

int sysfs_slot_is_valid(const char *slot)
{
	size_t len;

	if (!slot)
		return 0;
	len = strlen(slot);
	if (len < 7 || len >= 32)
		return 0;
	for (const char *p = slot; *p; p++)
		if (!strchr("0123456789abcdefABCDEF:.", *p))
			return 0;
	return 1;
}

static int device_path(char *buf, size_t size, const char *sysfs_root, const char *slot, const char *attr)
{
	int n;

	if (!sysfs_slot_is_valid(slot))
		return -EINVAL;
	n = snprintf(buf, size, "%s/bus/pci/devices/%s%s%s", sysfs_root ? sysfs_root : "/sys", slot,
		     attr ? "/" : "", attr ? attr : "");
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* One write() of @value; sysfs takes a store in one go, a short write is an error. */
static int write_attr(const char *path, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(value);
	ssize_t n;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int sysfs_write_recover(const char *sysfs_root, const char *slot)
{
	char path[PATH_MAX];
	int r;

	r = device_path(path, sizeof(path), sysfs_root, slot, "recover");
	if (r < 0)
		return r;
	return write_attr(path, "1");
}

int sysfs_read_driver(const char *sysfs_root, const char *slot, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int r;

	r = device_path(path, sizeof(path), sysfs_root, slot, NULL);
	if (r < 0)
		return r;
	if (access(path, F_OK) < 0)
		return negative_errno();
	r = device_path(path, sizeof(path), sysfs_root, slot, "driver");
	if (r < 0)
		return r;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return negative_errno();
		if (size > 0)
			buf[0] = 0;
		return 0;
	}
	target[n] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int sysfs_unbind(const char *sysfs_root, const char *slot, const char *expected_driver, const char *override)
{
	char path[PATH_MAX], driver[256];
	int r;

	r = sysfs_read_driver(sysfs_root, slot, driver, sizeof(driver));
	if (r < 0)
		return r;
	if (expected_driver && driver[0] && !streq(driver, expected_driver))
		return -EBUSY;

	/* First make sure nothing binds it again once it is free. */
	r = device_path(path, sizeof(path), sysfs_root, slot, "driver_override");
	if (r < 0)
		return r;
	r = write_attr(path, override ? override : SYSFS_OVERRIDE_NONE);
	if (r < 0)
		return r;
	if (!driver[0])
		return 0;

	r = device_path(path, sizeof(path), sysfs_root, slot, "driver/unbind");
	if (r < 0)
		return r;
	return write_attr(path, slot);
}
