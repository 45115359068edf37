/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small helpers used everywhere: scope-bound cleanup, ownership hand-over
 * and a few compile-time conveniences. libsystemd does not export its own
 * versions of these, so the project keeps this one header and nothing more
 * clever than it needs.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_         __attribute__((pure))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Take a pointer out of a _cleanup_ variable, leaving NULL behind. */
#define TAKE_PTR(p)                       \
	({                                \
		__typeof__(p) _tp_ = (p); \
		(p) = NULL;               \
		_tp_;                     \
	})

/* Take a file descriptor out of a _cleanup_ variable, leaving -EBADF behind. */
#define TAKE_FD(fd)              \
	({                       \
		int _tf_ = (fd); \
		(fd) = -EBADF;   \
		_tf_;            \
	})

/* Callback userdata is never NULL; say so loudly if it is. */
#define ASSERT_PTR(p)                     \
	({                                \
		__typeof__(p) _ap_ = (p); \
		if (!_ap_)                \
			abort();          \
		_ap_;                     \
	})

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define streq(a, b)     (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define strempty(s)     ((s) ? (s) : "")
#define isempty(s)      (!(s) || !(s)[0])

/* Define name##p(type **) calling func(*p) when *p is set. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			(void)func(*p);         \
	}

/* qsort() that accepts an empty array (whose base may be NULL, which
 * qsort() itself must not be given). */
static inline void qsort_safe(void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, compare);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

/* Free a NULL-terminated array of strings and the array. */
static inline char **strv_free(char **l)
{
	if (l) {
		for (char **i = l; *i; i++)
			free(*i);
		free(l);
	}
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

#define _cleanup_free_      _cleanup_(freep)
#define _cleanup_close_     _cleanup_(closep)
#define _cleanup_fclose_    _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* errno as a negative value, never 0 (for calls that failed without setting it). */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL
