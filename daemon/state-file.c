/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io-util.h"
#include "common/macro.h"
#include "daemon/state-file.h"

static int fsync_directory_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -EBADF;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int state_file_write(const char *path, const void *data, size_t size, int world_readable)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return -ENOMEM;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, world_readable ? 0644 : 0600);
	if (fd < 0)
		return negative_errno();

	r = loop_write(fd, data, size);
	if (r >= 0 && fsync(fd) < 0)
		r = negative_errno();
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	if (close(TAKE_FD(fd)) < 0) {
		r = negative_errno();
		(void)unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = negative_errno();
		(void)unlink(tmp);
		return r;
	}
	return fsync_directory_of(path);
}

int state_file_read(const char *path, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	for (;;) {
		ssize_t n;

		if (alloc - size < 4096) {
			char *p;

			if (alloc >= STATE_FILE_MAX + 4096)
				return -EFBIG;
			alloc = alloc ? alloc * 2 : 4096;
			p = realloc(buf, alloc + 1);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		n = read(fd, buf + size, alloc - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > STATE_FILE_MAX)
			return -EFBIG;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[size] = 0;
	if (ret_size)
		*ret_size = size;
	*ret = TAKE_PTR(buf);
	return 0;
}

int state_file_read_u64(const char *path, uint64_t fallback, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	unsigned long long v;
	char *end;
	int r;

	r = state_file_read(path, &s, NULL);
	if (r == -ENOENT) {
		*ret = fallback;
		return 0;
	}
	if (r < 0)
		return r;
	if (s[0] < '0' || s[0] > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || (*end != '\n' && *end != 0) || (*end == '\n' && end[1] != 0))
		return -EBADMSG;
	*ret = v;
	return 0;
}

int state_file_write_u64(const char *path, uint64_t value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);

	return state_file_write(path, buf, (size_t)n, 0);
}
