/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devworld-preload: a small LD_PRELOAD library that the device world puts in
 * front of umockdev's for the daemon it spawns. umockdev routes the ioctls
 * of a device node by the file descriptor number open() returned; a
 * duplicate (dup(), dup3(), fcntl(F_DUPFD...)) is unknown to it, so its
 * ioctls reach the real kernel instead of the emulation. In the kernel a
 * duplicate is the same open file. This library keeps that: it remembers
 * which descriptor each duplicate was made from and sends an ioctl on the
 * duplicate to the original while the original still refers to the same
 * open file (same inode; a fork()ed child keeps both).
 *
 * A fork()ed child also inherits umockdev's connection for each emulated
 * descriptor, so the daemon and its reset helper could interleave their
 * requests on one socket. Every ioctl therefore holds a lock shared by the
 * processes of the test bed (a POSIX record lock on a file in $UMOCKDEV_DIR,
 * which excludes processes, plus a mutex, which excludes threads) for its
 * whole request and answer.
 *
 * A descriptor of an emulated node inherited over exec() (the vfio device
 * zpcid hands its action helper as fd 3) is unknown to the new process's
 * umockdev, so its ioctls would reach the real kernel as well. At start
 * this library notes such descriptors; on the first ioctl of one it opens
 * the node again through umockdev and sends the ioctls there. The device
 * world takes that connection for the parent's open file (devworld.c,
 * client_lookup_locked). Nothing else changes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DUPS 64

typedef struct Dup {
	int fd, orig;
	dev_t dev;
	ino_t ino;
} Dup;

static Dup dups[MAX_DUPS];
static unsigned n_dups;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void forget_locked(int fd)
{
	for (unsigned i = 0; i < n_dups;)
		if (dups[i].fd == fd || dups[i].orig == fd)
			dups[i] = dups[--n_dups];
		else
			i++;
}

static void remember(int fd, int orig)
{
	struct stat st;
	int saved = errno;

	if (fd < 0 || fstat(orig, &st) < 0) {
		errno = saved;
		return;
	}
	pthread_mutex_lock(&lock);
	forget_locked(fd);
	/* a duplicate of a duplicate goes back to the first original */
	for (unsigned i = 0; i < n_dups; i++)
		if (dups[i].fd == orig) {
			orig = dups[i].orig;
			break;
		}
	if (n_dups < MAX_DUPS)
		dups[n_dups++] = (Dup){ .fd = fd, .orig = orig, .dev = st.st_dev, .ino = st.st_ino };
	pthread_mutex_unlock(&lock);
	errno = saved;
}

/* The original of @fd if it still refers to the same file, else @fd. */
static int original(int fd)
{
	int r = fd;

	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < n_dups; i++)
		if (dups[i].fd == fd) {
			struct stat st;
			int saved = errno;

			if (fstat(dups[i].orig, &st) == 0 && st.st_dev == dups[i].dev &&
			    st.st_ino == dups[i].ino)
				r = dups[i].orig;
			errno = saved;
			break;
		}
	pthread_mutex_unlock(&lock);
	return r;
}

int dup(int fd)
{
	int (*real)(int) = next("dup");
	int r = real(fd);

	remember(r, fd);
	return r;
}

int dup3(int fd, int fd2, int flags)
{
	int (*real)(int, int, int) = next("dup3");
	int r = real(fd, fd2, flags);

	remember(r, fd);
	return r;
}

int dup2(int fd, int fd2)
{
	int (*real)(int, int) = next("dup2");
	int r = real(fd, fd2);

	if (r >= 0 && r != fd)
		remember(r, fd);
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	int (*real)(int, int, ...) = next("fcntl");
	va_list ap;
	long arg;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	r = real(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		remember(r, fd);
	return r;
}

int close(int fd)
{
	int (*real)(int) = next("close");

	pthread_mutex_lock(&lock);
	if (n_dups > 0) {
		/* only the entries of the duplicate itself: the original's are kept
		 * for a duplicate that outlives it, and checked by inode on use */
		for (unsigned i = 0; i < n_dups;)
			if (dups[i].fd == fd)
				dups[i] = dups[--n_dups];
			else
				i++;
	}
	pthread_mutex_unlock(&lock);
	return real(fd);
}

#define MAX_INHERITED 8

typedef struct Inherited {
	int fd;
	char node[256]; /* the node's path in the emulated /dev */
	bool reopened;
} Inherited;

static Inherited inherited[MAX_INHERITED];
static unsigned n_inherited;

/* Note the descriptors of emulated nodes this process started with. */
__attribute__((constructor)) static void note_inherited(void)
{
	const char *dir = getenv("UMOCKDEV_DIR");
	size_t dir_len = dir ? strlen(dir) : 0;
	char link[64], target[4096];

	if (!dir_len)
		return;
	for (int fd = 3; fd < 64 && n_inherited < MAX_INHERITED; fd++) {
		ssize_t n;

		(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		/* the system call: umockdev's readlink() must not map the path */
		n = syscall(SYS_readlinkat, AT_FDCWD, link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, dir, dir_len) != 0 || strncmp(target + dir_len, "/dev/", 5) != 0 ||
		    (size_t)n - dir_len >= sizeof(inherited[0].node))
			continue;
		inherited[n_inherited].fd = fd;
		strcpy(inherited[n_inherited].node, target + dir_len);
		n_inherited++;
	}
}

/* First ioctl on an inherited descriptor: open its node through umockdev
 * and let the descriptor be a duplicate of that. */
static void reopen_inherited(int fd)
{
	int (*real_open)(const char *, int, ...) = next("open");

	for (unsigned i = 0; i < n_inherited; i++) {
		Inherited *in = &inherited[i];
		int nfd;

		if (in->fd != fd || in->reopened)
			continue;
		in->reopened = true;
		nfd = real_open(in->node, O_RDWR | O_CLOEXEC);
		if (nfd >= 0)
			remember(fd, nfd);
		return;
	}
}

static pthread_mutex_t ioctl_mutex = PTHREAD_MUTEX_INITIALIZER;
static int lock_fd = -2; /* -2: not opened yet, -1: no test bed */

static void bed_lock(int type)
{
	int (*real_fcntl)(int, int, ...) = next("fcntl");
	struct flock fl = { .l_type = (short)type, .l_whence = SEEK_SET };

	if (lock_fd == -2) {
		const char *dir = getenv("UMOCKDEV_DIR");
		char path[4096];

		lock_fd = -1;
		if (dir && snprintf(path, sizeof(path), "%s/devworld-ioctl.lock", dir) < (int)sizeof(path))
			lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (lock_fd >= 0)
		while (real_fcntl(lock_fd, F_SETLKW, &fl) < 0 && errno == EINTR)
			;
}

int ioctl(int fd, unsigned long request, ...)
{
	int (*real)(int, unsigned long, void *) = next("ioctl");
	int r, saved;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	pthread_mutex_lock(&ioctl_mutex);
	if (n_inherited > 0)
		reopen_inherited(fd);
	bed_lock(F_WRLCK);
	r = real(original(fd), request, arg);
	saved = errno;
	bed_lock(F_UNLCK);
	pthread_mutex_unlock(&ioctl_mutex);
	errno = saved;
	return r;
}
