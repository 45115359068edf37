/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "zpcictl/device.h"

static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

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

/* "0x22": the function whose function_id is 0x22. */
static int resolve_fid(const char *sysfs_root, const char *device, char *slot, size_t size)
{
	char path[PATH_MAX];
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	unsigned long want;
	char *end;

	errno = 0;
	want = strtoul(device, &end, 16);
	if (errno || *end || end == device + 2 || want > UINT32_MAX)
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices", sysfs_root);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		uint32_t fid;

		if (!slot_is_valid(de->d_name) || device_read_fid(sysfs_root, de->d_name, &fid) < 0 ||
		    fid != want)
			continue;
		if (strlen(de->d_name) >= size)
			return -EINVAL;
		strcpy(slot, de->d_name);
		return 0;
	}
	return -ENOENT;
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
	if (strneq(device, "0x", 2) || strneq(device, "0X", 2)) {
		r = resolve_fid(sysfs_root, device, slot, size);
		if (r < 0)
			return r;
	} else if (slot_is_valid(device)) {
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

int device_is_nvme(const char *sysfs_root, const char *slot)
{
	char path[PATH_MAX], buf[64];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long v;
	char *end;

	if (!slot_is_valid(slot))
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/class", sysfs_root, slot);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno || end == buf)
		return -EBADMSG;
	return v == DEVICE_PCI_CLASS_NVME;
}

int device_nvme_node(const char *sysfs_root, const char *slot, char *node, size_t size)
{
	char path[PATH_MAX];
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	char best[NAME_MAX + 1] = "";

	if (!slot_is_valid(slot))
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/nvme", sysfs_root, slot);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	/* the first controller by name, as a sorted scan finds it */
	while ((de = readdir(d)))
		if (strneq(de->d_name, "nvme", 4) && (!best[0] || strcmp(de->d_name, best) < 0))
			(void)snprintf(best, sizeof(best), "%s", de->d_name);
	if (!best[0])
		return -ENOENT;
	return snprintf(node, size, "/dev/%s", best) < (int)size ? 0 : -ENOBUFS;
}

int device_smart_data(const char *smartctl, const char *node, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		int r = negative_errno();

		(void)close(p[0]);
		(void)close(p[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		(void)dup2(p[1], STDOUT_FILENO);
		if (null >= 0) {
			(void)dup2(null, STDIN_FILENO);
			(void)dup2(null, STDERR_FILENO);
		}
		execlp(smartctl, smartctl, "-x", node, (char *)NULL);
		_exit(127);
	}
	(void)close(p[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *b = realloc(buf, cap ? cap * 2 : 4096);

			if (!b) {
				(void)close(p[0]);
				(void)waitpid(pid, NULL, 0);
				return -ENOMEM;
			}
			buf = b;
			cap = cap ? cap * 2 : 4096;
		}
		n = read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && len == 0)
		return -ENOENT; /* not installed */
	if (len == 0)
		return -ENODATA;
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	return (int)len;
}

int device_report_error(const char *sysfs_root, const char *slot, ReportErrorAction action,
			uint64_t timestamp, uint64_t err_log_id, const void *data, size_t len)
{
	uint8_t record[REPORT_ERROR_RECORD_MAX] = {};
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;
	int r;

	if (!slot_is_valid(slot))
		return -EINVAL;
	r = report_error_encode(action, timestamp, err_log_id, data, len, record, sizeof(record));
	if (r < 0)
		return r;
	(void)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/report_error", sysfs_root, slot);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	/* the whole record, padding included, as s390-tools writes it */
	n = write(fd, record, sizeof(record));
	if (n < 0)
		return errno == EOPNOTSUPP ? -EOPNOTSUPP : negative_errno();
	return n == (ssize_t)sizeof(record) ? 0 : -EIO;
}
