/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * io-util: the read/write loops every file writer needs, once.
 */

#include <stddef.h>

/* Write all @size bytes of @data to @fd, retrying on EINTR and short
 * writes. Returns 0, or -errno (-EIO when write() made no progress); on
 * failure an unknown prefix may have been written. */
int loop_write(int fd, const void *data, size_t size);
