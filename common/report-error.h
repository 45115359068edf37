/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * report-error: the record a PCI function's write-only sysfs attribute
 * "report_error" takes, which the kernel forwards to the platform (SCLP error
 * notification).
 *
 * Layout, big-endian (the byte order of s390), no padding:
 *
 *   offset  size  field
 *   0       1     version     always 1
 *   1       1     action      0 firmware reset, 1 deconfigure/repair, 2 informational
 *   2       2     length      bytes that follow the header: 16 + length of log_data
 *   4       8     timestamp   seconds since the epoch
 *   12      8     err_log_id  caller's identifier of the report
 *   20      n     log_data    free text, n <= 4054, no terminating NUL
 *
 * The record is written with one write() of exactly 4 + length bytes: the
 * kernel reads "length" bytes after the header from what was written. The
 * encoder composes every multi-byte field with shifts, so its output is
 * the same on any host.
 *
 * This module encodes and writes; it does not decide when to report.
 */

#include <stddef.h>
#include <stdint.h>

#define REPORT_ERROR_VERSION      1
#define REPORT_ERROR_HEADER_SIZE  4
#define REPORT_ERROR_FIXED_SIZE   16 /* timestamp + err_log_id */
#define REPORT_ERROR_LOG_DATA_MAX 4054
#define REPORT_ERROR_RECORD_MAX \
	(REPORT_ERROR_HEADER_SIZE + REPORT_ERROR_FIXED_SIZE + REPORT_ERROR_LOG_DATA_MAX)

typedef enum ReportErrorAction {
	REPORT_ERROR_ACTION_FW_RESET = 0,
	REPORT_ERROR_ACTION_DECONFIGURE = 1,
	REPORT_ERROR_ACTION_INFO = 2,
	_REPORT_ERROR_ACTION_MAX,
	_REPORT_ERROR_ACTION_INVALID = -22,
} ReportErrorAction;

/* "fw-reset", "deconfigure", "info"; "invalid" when out of range. */
const char *report_error_action_to_string(ReportErrorAction a);

/* Parse an action name. Returns the action or _REPORT_ERROR_ACTION_INVALID. */
ReportErrorAction report_error_action_from_string(const char *s);

/*
 * Encode a record into @buf (@size bytes). @log_data may be NULL when
 * @log_len is 0. Returns the number of bytes of the record (> 0), -EINVAL
 * for an invalid action or a log longer than REPORT_ERROR_LOG_DATA_MAX, or
 * -ENOBUFS when @buf is too small.
 */
int report_error_encode(ReportErrorAction action, uint64_t timestamp, uint64_t err_log_id,
			const void *log_data, size_t log_len, uint8_t *buf, size_t size);

/*
 * Encode a record and write it to <sysfs_root>/bus/pci/devices/<slot>/report_error
 * (@sysfs_root NULL means "/sys") in one write(). @slot must be a plain PCI
 * address (no '/'). Returns 0, -EINVAL, -ENOENT, -EOPNOTSUPP (no error
 * notification on this platform) or another -errno of the write; a short
 * write is -EIO.
 */
int report_error_write(const char *sysfs_root, const char *slot, ReportErrorAction action,
		       uint64_t timestamp, uint64_t err_log_id, const char *log_data);

/*
 * Write the record as s390-tools' zpcictl does: the whole structure of
 * REPORT_ERROR_RECORD_MAX bytes, log data zero-padded, in one write();
 * @len bytes of @data (a C string with its NUL, as zpcictl passes it, or
 * nothing). Returns as report_error_write().
 */
int report_error_write_padded(const char *sysfs_root, const char *slot, ReportErrorAction action,
			      uint64_t timestamp, uint64_t err_log_id, const void *data, size_t len);
