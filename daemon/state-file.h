/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * state-file: small files of daemon state (rate buckets, escalation ladders,
 * the kernel log cursor, the report_error log id) replaced atomically.
 *
 * A write goes to a temporary file in the same directory, is fsync()ed,
 * renamed over the target and the directory is fsync()ed: after a crash or
 * power loss the file holds either the old or the new content, never a mix.
 * This is for small, rarely written state; the event history, which is
 * appended to under load, has its own format (history.h).
 */

#include <stddef.h>
#include <stdint.h>

/* Largest state file read back (bytes). */
#define STATE_FILE_MAX (1024 * 1024)

/* Replace @path with @size bytes of @data, atomically and durably, with
 * permissions 0600 (0644 when @world_readable). Returns 0 or -errno (the old
 * content is left in place on failure). */
int state_file_write(const char *path, const void *data, size_t size, int world_readable);

/* Read @path whole into a NUL-terminated buffer (*@ret_size excludes the
 * NUL; @ret_size may be NULL). Returns 0, -ENOENT when it does not exist,
 * -EFBIG when larger than STATE_FILE_MAX, or another -errno. */
int state_file_read(const char *path, char **ret, size_t *ret_size);

/* Read a decimal unsigned counter stored by state_file_write_u64(); a
 * missing file reads as @fallback. Returns 0, -EBADMSG for a malformed
 * file, or another -errno. */
int state_file_read_u64(const char *path, uint64_t fallback, uint64_t *ret);

/* Store @value as one decimal line. Returns 0 or -errno. */
int state_file_write_u64(const char *path, uint64_t value);
