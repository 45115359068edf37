/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "zpcictl/device.h"

static bool slot_is_valid(const char *s)
{
	unsigned d, b, dev, fn;
	char tail;

	return strlen(s) < 32 && !strchr(s, '/') &&
	       sscanf(s, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &tail) == 4;
}

int device_read_fid(const char *sysfs_root, const char *slot, uint32_t *ret)
{
	char path[PATH_MAX], buf[64];
	_cleanup_fclose_ FILE *f = NULL;
	char *end;
	unsigned long v;

	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/function_id", sysfs_root, slot);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENODEV : negative_errno();
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno || end == buf || v > UINT32_MAX)
		return -EBADMSG;
	*ret = (uint32_t)v;
	return 0;
}

int device_resolve(const char *sysfs_root, const char *device, char *slot, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *name, *base;
	struct stat st;
	uint32_t fid;
	ssize_t n;
	int r;

	if (isempty(device))
		return -EINVAL;
	if (slot_is_valid(device)) {
		if (strlen(device) >= size)
			return -EINVAL;
		strcpy(slot, device);
	} else {
		/* An NVMe controller node: /dev/nvme0 or nvme0. */
		name = strrchr(device, '/') ? strrchr(device, '/') + 1 : device;
		if (!strneq(name, "nvme", 4) || isempty(name + 4) ||
		    strspn(name + 4, "0123456789") != strlen(name + 4))
			return -EINVAL;
		(void)snprintf(path, sizeof(path), "%s/class/nvme/%s/device", sysfs_root, name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return errno == ENOENT ? -ENOENT : negative_errno();
		target[n] = 0;
		base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		if (!slot_is_valid(base) || strlen(base) >= size)
			return -ENODEV;
		strcpy(slot, base);
	}
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs_root, slot);
	if (stat(path, &st) < 0)
		return -ENOENT;
	r = device_read_fid(sysfs_root, slot, &fid);
	return r < 0 ? -ENODEV : 0;
}

int device_recover(const char *sysfs_root, const char *slot)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (!slot_is_valid(slot))
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/recover", sysfs_root, slot);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = write(fd, "1", 1);
	if (n < 0)
		return negative_errno();
	return n == 1 ? 0 : -EIO;
}
