/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/report-error.h"

static const char *const action_names[_REPORT_ERROR_ACTION_MAX] = {
	[REPORT_ERROR_ACTION_FW_RESET] = "fw-reset",
	[REPORT_ERROR_ACTION_DECONFIGURE] = "deconfigure",
	[REPORT_ERROR_ACTION_INFO] = "info",
};

const char *report_error_action_to_string(ReportErrorAction a)
{
	return a >= 0 && a < _REPORT_ERROR_ACTION_MAX ? action_names[a] : "invalid";
}

ReportErrorAction report_error_action_from_string(const char *s)
{
	if (!s)
		return _REPORT_ERROR_ACTION_INVALID;
	for (int i = 0; i < _REPORT_ERROR_ACTION_MAX; i++)
		if (streq(s, action_names[i]))
			return (ReportErrorAction)i;
	return _REPORT_ERROR_ACTION_INVALID;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int report_error_encode(ReportErrorAction action, uint64_t timestamp, uint64_t err_log_id,
			const void *log_data, size_t log_len, uint8_t *buf, size_t size)
{
	size_t total;

	if (action < 0 || action >= _REPORT_ERROR_ACTION_MAX)
		return -EINVAL;
	if (log_len > REPORT_ERROR_LOG_DATA_MAX || (log_len > 0 && !log_data))
		return -EINVAL;
	total = REPORT_ERROR_HEADER_SIZE + REPORT_ERROR_FIXED_SIZE + log_len;
	if (!buf || size < total)
		return -ENOBUFS;

	buf[0] = REPORT_ERROR_VERSION;
	buf[1] = (uint8_t)action;
	put_be16(buf + 2, (uint16_t)(REPORT_ERROR_FIXED_SIZE + log_len));
	put_be64(buf + 4, timestamp);
	put_be64(buf + 12, err_log_id);
	if (log_len > 0)
		memcpy(buf + 20, log_data, log_len);
	return (int)total;
}

/* Write the @size bytes of @buf to the function's report_error attribute in
 * one write(), as the kernel takes a record. */
static int write_record(const char *sysfs_root, const char *slot, const uint8_t *buf, size_t size)
{
	char path[4096];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/report_error",
		     sysfs_root ? sysfs_root : "/sys", slot) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = write(fd, buf, size);
	if (n < 0)
		return negative_errno();
	return n == (ssize_t)size ? 0 : -EIO;
}

static bool slot_valid(const char *slot)
{
	return !isempty(slot) && !strchr(slot, '/') && !streq(slot, ".") && !streq(slot, "..");
}

int report_error_write(const char *sysfs_root, const char *slot, ReportErrorAction action,
		       uint64_t timestamp, uint64_t err_log_id, const char *log_data)
{
	uint8_t buf[REPORT_ERROR_RECORD_MAX];
	int r;

	if (!slot_valid(slot))
		return -EINVAL;
	r = report_error_encode(action, timestamp, err_log_id, log_data, log_data ? strlen(log_data) : 0,
				buf, sizeof(buf));
	if (r < 0)
		return r;
	return write_record(sysfs_root, slot, buf, (size_t)r);
}

int report_error_write_padded(const char *sysfs_root, const char *slot, ReportErrorAction action,
			      uint64_t timestamp, uint64_t err_log_id, const void *data, size_t len)
{
	uint8_t buf[REPORT_ERROR_RECORD_MAX] = {};
	int r;

	if (!slot_valid(slot))
		return -EINVAL;
	r = report_error_encode(action, timestamp, err_log_id, data, len, buf, sizeof(buf));
	if (r < 0)
		return r;
	return write_record(sysfs_root, slot, buf, sizeof(buf));
}
